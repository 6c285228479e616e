"""Rational agent access model (RAAM; Saxon & Snow 2020).

Every person chooses the site that minimises travel cost (scaled by τ) plus congestion (the
site's demand-to-supply ratio, relative to the region's mean ratio ρ); the model moves people,
a few at a time, from their worst to their best site until no move pays. The access value of
a demand point is the mean total cost of its people (lower is better; 1 ≈ an average place).

The iteration follows the published reference implementation (the PySAL ``access`` package,
``access/raam.py``) step for step — the same step-size schedule, whole persons moved, the
same tie rules — so that the numbers are equal to ``access``'s; it is vectorised over demand
points and needs the dense demand × site matrix (refused beyond ``max_dense`` entries).

References
----------
Saxon, J. & Snow, D. (2020). A rational agent model for the spatial accessibility of primary
health care. Annals of the American Association of Geographers 110(1):205–222.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from dongne._warnings import user_stacklevel
from dongne.access.costs import Costs
from dongne.errors import DataError, DongneWarning, SpecificationError, format_rows

__all__ = ["MAX_DENSE", "raam"]

#: Largest demand × site matrix RAAM builds (entries; ≈ 400 MB of float64 over its arrays).
MAX_DENSE = 10_000_000


def raam(
    costs: Costs,
    demand: Any,
    supply: Any,
    *,
    tau: float = 60.0,
    rho: float | None = None,
    max_cycles: int = 150,
    initial_step: float | int = 0.2,
    min_step: float | int = 0.005,
    half_life: float = 50,
    limit_initial: int = 20,
    max_dense: int = MAX_DENSE,
) -> np.ndarray:
    """RAAM cost of every origin (NaN for origins with no demand; ``inf`` if nothing reachable).

    Parameters
    ----------
    costs : Costs
        Reachable pairs; pairs not stored are unreachable.
    demand, supply : array-like
        People at each origin (whole persons move) and capacity of each site.
    tau : float
        Travel cost, in the costs' unit, equivalent to congestion at the mean ratio ρ.
    rho : float, optional
        Mean demand-to-supply ratio (default Σ demand / Σ supply).
    max_cycles, initial_step, min_step, half_life, limit_initial
        The iteration's schedule, as in ``access.raam`` (a float ``initial_step`` is a share
        of each origin's demand, an int a number of persons).
    max_dense : int
        Largest dense demand × site matrix built.

    Returns
    -------
    ndarray
        Total (travel / τ + congestion) cost per origin.

    Examples
    --------
    >>> c = Costs.from_dense([[10.0, 40.0], [30.0, 10.0]])
    >>> raam(c, [100, 100], [1, 1], tau=60).round(3).tolist()
    [1.167, 1.167]
    """
    if not (np.isfinite(tau) and tau > 0):
        raise SpecificationError(f"The 'tau' parameter must be positive. Got {tau!r}.")
    d = np.asarray(demand, dtype=float).reshape(-1)
    s = np.asarray(supply, dtype=float).reshape(-1)
    n, m = costs.shape
    if len(d) != n or len(s) != m:
        raise DataError(f"demand/supply have {len(d)}/{len(s)} values for {n} × {m} costs.")
    rows, cols = np.flatnonzero(d > 0), np.flatnonzero(s > 0)
    small = np.flatnonzero((d > 0) & (d < 1))
    if len(small):
        warnings.warn(
            f"RAAM moves whole persons, and {len(small):,} demand points hold less than one "
            f"(positions {format_rows(small)}): they never move from their nearest site. Fix: "
            "aggregate the demand (a coarser demand spacing, or counts per point).",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
    if len(rows) * len(cols) > max_dense:
        raise SpecificationError(
            f"RAAM needs a dense {len(rows):,} × {len(cols):,} matrix (> max_dense="
            f"{max_dense:,}). Fix: aggregate the demand, e.g. demand_spacing='1km' (fewer "
            "demand points), or raise max_dense if memory allows."
        )
    travel = costs.to_dense()[np.ix_(rows, cols)] / tau
    stranded = ~np.isfinite(travel).any(axis=1)
    out = np.full(n, np.nan)
    out[rows[stranded]] = np.inf
    keep = ~stranded
    if not keep.any():
        return out
    if rho is None:
        rho = d.sum() / s.sum()
    out[rows[keep]] = _iterate(
        d[rows[keep]], s[cols] * rho, travel[keep], max_cycles, initial_step, min_step,
        half_life, limit_initial,
    )  # fmt: skip
    return out


def _iterate(
    demand: np.ndarray,
    supply: np.ndarray,
    travel: np.ndarray,
    max_cycles: int,
    initial_step: float | int,
    min_step: float | int,
    half_life: float,
    limit_initial: int,
) -> np.ndarray:
    """The RAAM iteration of ``access.raam.iterate_raam``, with ``inf`` for unreachable pairs.

    It is long because it is the published iteration kept in its order, so that each step can
    be checked against the reference line by line.
    """
    norig, _ = travel.shape
    idx = np.arange(norig)
    assignment = np.zeros(travel.shape)
    assignment[idx, travel.argmin(axis=1)] = demand
    total_cost = travel
    for i in range(max_cycles):
        demand_at_supply = assignment.sum(axis=0)
        total_cost = demand_at_supply / supply + travel
        max_loc = np.where(assignment == 0, -np.inf, total_cost).argmax(axis=1)
        min_loc = total_cost.argmin(axis=1)
        sl_min, sl_max = supply[min_loc], supply[max_loc]
        tr_min, tr_max = travel[idx, min_loc], travel[idx, max_loc]
        dr_min, dr_max = assignment[idx, min_loc], assignment[idx, max_loc]
        other_min = demand_at_supply[min_loc] - dr_min
        other_max = demand_at_supply[max_loc] - dr_max
        new_min = ((sl_min * sl_max) / (sl_min + sl_max)) * (
            (tr_max - tr_min) + (dr_min + dr_max + other_max) / sl_max - other_min / sl_min
        )
        delta = np.minimum(new_min - dr_min, dr_max)
        delta = np.where(max_loc == min_loc, 0, delta)
        if isinstance(initial_step, float):
            step = max(initial_step * 0.5 ** (i / half_life), min_step)
            delta = np.minimum(delta, step * demand).astype(int)
        else:
            step = max(int(np.round(initial_step * 0.5 ** (i / half_life))), min_step)
            delta = np.minimum(delta, step).astype(int)
        if i < limit_initial:
            # Attractive sites must not be mobbed in the first cycles: scale the moves down.
            moves = np.zeros(travel.shape)
            moves[idx, min_loc] += delta
            scale = np.maximum(moves.sum(axis=0) / supply, 1)
            delta = (moves / scale).round().astype(int).sum(axis=1)
        assignment[idx, min_loc] += delta
        assignment[idx, max_loc] -= delta
    with np.errstate(invalid="ignore"):  # inf × 0 for unreachable pairs, masked out
        weighted = np.where(assignment != 0, total_cost * assignment, 0.0)
    return weighted.sum(axis=1) / assignment.sum(axis=1)
