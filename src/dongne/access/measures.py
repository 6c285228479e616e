"""Spatial accessibility measures on the sparse pairs of a :class:`~dongne.access.Costs`.

Pure, vectorised functions: each takes the reachable pairs, the demand at every origin and
the supply (capacity) at every destination, and returns one value per origin. An origin that
reaches no supply gets 0 (cost-based measures: ``inf``), never a silently dropped row.

=====================  ================================================================
measure                formula (``i`` demand point, ``j`` supply site, ``f`` decay)
=====================  ================================================================
nearest (k)            cost to the k-th nearest site
cumulative             Σ_j S_j [c_ij ≤ d₀] (opportunities within the threshold)
gravity                Σ_j S_j f(c_ij) (Hansen 1959)
2SFCA                  R_j = S_j / Σ_i D_i f(c_ij);  A_i = Σ_j R_j f(c_ij), within d₀
                       (Luo & Wang 2003; f = 1; E2SFCA: stepwise f, Luo & Qi 2009;
                       kernel-density 2SFCA: Gaussian f, Dai 2010)
3SFCA                  G_ij = f(c_ij) / Σ_k f(c_ik);  R_j = S_j / Σ_i D_i G_ij f(c_ij);
                       A_i = Σ_j R_j G_ij f(c_ij) (Wan, Zou & Sternberg 2012)
FCA ratio              Σ_j S_j [c_ij ≤ d₀] / Σ_k D_k [n_ik ≤ d₀] (demand-to-demand n)
RAAM                   :func:`dongne.access.raam.raam` (Saxon & Snow 2020)
=====================  ================================================================

Each equals the PySAL ``access`` package's implementation on the same inputs (tests to 1e-9),
with two stated differences: a demand point with no site in reach gets 0 where ``access``
leaves NaN, and the 3SFCA's selection weights G are normalised over the pairs within the
threshold (Wan et al.'s catchment) where ``access`` uses every pair of its cost table — equal
whenever the decay is 0 beyond the threshold.

References
----------
Hansen, W. G. (1959). How accessibility shapes land use. Journal of the American Institute of
Planners 25(2):73–76.
Luo, W. & Wang, F. (2003). Measures of spatial accessibility to health care in a GIS
environment: synthesis and a case study in the Chicago region. Environment and Planning B
30(6):865–884.
Luo, W. & Qi, Y. (2009). An enhanced two-step floating catchment area (E2SFCA) method.
Health & Place 15(4):1100–1107.
Dai, D. (2010). Health & Place 16(5):1038–1052 (kernel-density 2SFCA).
Wan, N., Zou, B. & Sternberg, T. (2012). A three-step floating catchment area method for
analyzing spatial access to health services. IJGIS 26(6):1073–1089.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from dongne._warnings import user_stacklevel
from dongne.access.costs import Costs
from dongne.access.decay import Decay
from dongne.errors import DataError, DongneWarning, SpecificationError, format_rows

__all__ = [
    "cumulative_opportunities",
    "fca_ratio",
    "gravity_access",
    "nearest_cost",
    "three_step_fca",
    "two_step_fca",
]


def nearest_cost(costs: Costs, k: int = 1) -> np.ndarray:
    """Cost from every origin to its ``k``-th nearest destination (``inf`` if fewer reachable).

    Examples
    --------
    >>> c = Costs.from_dense([[3.0, 1.0], [np.inf, 2.0]])
    >>> nearest_cost(c).tolist(), nearest_cost(c, k=2).tolist()
    ([1.0, 2.0], [3.0, inf])
    """
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise SpecificationError(f"The 'k' parameter must be a positive integer. Got {k!r}.")
    n = costs.shape[0]
    order = np.lexsort((costs.values, costs.rows))
    rows, vals = costs.rows[order], costs.values[order]
    start = np.searchsorted(rows, np.arange(n), side="left")
    count = np.bincount(rows, minlength=n)
    out = np.full(n, np.inf)
    has = count >= k
    out[has] = vals[start[has] + k - 1]
    return out


def cumulative_opportunities(costs: Costs, supply: Any, threshold: float) -> np.ndarray:
    """Supply within ``threshold`` of every origin: Σ_j S_j [c_ij ≤ d₀].

    Examples
    --------
    >>> c = Costs.from_dense([[3.0, 1.0], [np.inf, 2.0]])
    >>> cumulative_opportunities(c, [10, 5], 2).tolist()
    [5.0, 5.0]
    """
    return gravity_access(costs, supply, decay=None, threshold=threshold)


def gravity_access(
    costs: Costs, supply: Any, decay: Decay | None = None, threshold: float | None = None
) -> np.ndarray:
    """Gravity (Hansen) access Σ_j S_j f(c_ij), over the pairs with cost ≤ ``threshold``.

    Equals ``access.Access.weighted_catchment(weight_fn=f, max_cost=threshold)``.
    """
    s = _amounts(supply, costs.shape[1], "supply")
    c = costs.within(threshold)
    w = _weights(c, decay)
    return np.bincount(c.rows, w * s[c.cols], minlength=c.shape[0])


def two_step_fca(
    costs: Costs,
    demand: Any,
    supply: Any,
    *,
    threshold: float | None = None,
    decay: Decay | None = None,
    return_ratios: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Two-step floating catchment area access (2SFCA; E2SFCA or kernel 2SFCA with ``decay``).

    Parameters
    ----------
    costs : Costs
        Reachable origin × site pairs.
    demand : array-like
        Demand at each origin (people), non-negative.
    supply : array-like
        Capacity of each site (places, doctors), non-negative.
    threshold : float, optional
        Catchment size d₀ in the costs' unit (None: every stored pair).
    decay : callable, optional
        Weight of a pair as a function of its cost (:mod:`dongne.access.decay`); None gives
        the original 2SFCA (weight 1 within the catchment).
    return_ratios : bool
        Also return the supply-to-demand ratio R_j of every site.

    Returns
    -------
    ndarray
        Supply per unit of demand reachable from every origin.

    Warns
    -----
    DongneWarning
        Sites whose catchment holds no (weighted) demand: their ratio is undefined, set to 0
        (the sites are named).

    Examples
    --------
    >>> c = Costs.from_dense([[1.0, 5.0], [2.0, np.inf]])
    >>> two_step_fca(c, [10, 30], [4, 3], threshold=5).tolist()
    [0.4, 0.1]
    """
    d = _amounts(demand, costs.shape[0], "demand")
    s = _amounts(supply, costs.shape[1], "supply")
    c = costs.within(threshold)
    w = _weights(c, decay)
    ratio = _ratios(c, s, np.bincount(c.cols, w * d[c.rows], minlength=c.shape[1]))
    access = np.bincount(c.rows, w * ratio[c.cols], minlength=c.shape[0])
    return (access, ratio) if return_ratios else access


def three_step_fca(
    costs: Costs,
    demand: Any,
    supply: Any,
    *,
    decay: Decay,
    threshold: float | None = None,
) -> np.ndarray:
    """Three-step FCA (Wan, Zou & Sternberg 2012): 2SFCA with selection weights G.

    ``G_ij = f(c_ij) / Σ_k f(c_ik)`` is the share of origin i's demand that goes to site j,
    so a site shared with many close competitors draws less demand. With
    :data:`~dongne.access.decay.THREE_STEP_WEIGHTS` as ``decay`` this is ``access``'s 3SFCA.
    """
    d = _amounts(demand, costs.shape[0], "demand")
    s = _amounts(supply, costs.shape[1], "supply")
    c = costs.within(threshold)
    w = _weights(c, decay)
    total = np.bincount(c.rows, w, minlength=c.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(total[c.rows] > 0, w / total[c.rows], 0.0)
    wg = w * g
    ratio = _ratios(c, s, np.bincount(c.cols, wg * d[c.rows], minlength=c.shape[1]))
    return np.bincount(c.rows, wg * ratio[c.cols], minlength=c.shape[0])


def fca_ratio(
    costs: Costs, neighbour_costs: Costs, demand: Any, supply: Any, *, threshold: float
) -> np.ndarray:
    """Floating catchment ratio: supply within d₀ over demand within d₀ of each origin.

    ``neighbour_costs`` are the origin × origin costs (the demand points around each one);
    equals ``access.Access.fca_ratio``.
    """
    if neighbour_costs.shape != (costs.shape[0], costs.shape[0]):
        raise DataError(
            "neighbour_costs must be origins × origins "
            f"({costs.shape[0]} × {costs.shape[0]}); got {neighbour_costs.shape}."
        )
    d = _amounts(demand, costs.shape[0], "demand")
    s = _amounts(supply, costs.shape[1], "supply")
    near = cumulative_opportunities(neighbour_costs, d, threshold)
    have = cumulative_opportunities(costs, s, threshold)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(near > 0, have / np.where(near > 0, near, 1), 0.0)


# --------------------------------------------------------------------------- helpers
def _weights(costs: Costs, decay: Decay | None) -> np.ndarray:
    if decay is None:
        return np.ones(costs.n_pairs)
    w = np.asarray(decay(costs.values), dtype=float)
    if w.shape != costs.values.shape or not np.isfinite(w).all() or (w < 0).any():
        raise SpecificationError(
            "The decay function must return one finite, non-negative weight per cost. Fix: "
            "use a function of dongne.access.decay (a power decay needs min_cost > 0)."
        )
    return w


def _ratios(costs: Costs, supply: np.ndarray, weighted_demand: np.ndarray) -> np.ndarray:
    """R_j = S_j / weighted demand; 0 (with a warning naming the sites) where it is 0."""
    empty = weighted_demand <= 0
    reached = np.zeros(costs.shape[1], dtype=bool)
    reached[costs.cols] = True
    lonely = empty & reached & (supply > 0)
    if lonely.any():
        warnings.warn(
            f"Sites {format_rows(costs.dest_ids[lonely])} reach demand points but no demand "
            "(zero weight in their catchment): their supply-to-demand ratio is undefined and "
            "counted as 0.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(empty, 0.0, supply / np.where(empty, 1.0, weighted_demand))


def _amounts(values: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).reshape(-1)
    if len(arr) != n:
        raise DataError(f"{what} has {len(arr)} values for {n} {_side(what)}.")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise DataError(
            f"{what} must be finite and non-negative; positions {format_rows(np.flatnonzero(bad))}"
            " are not. Fix: fill missing values with 0 and check the column."
        )
    return arr


def _side(what: str) -> str:
    return "origins" if what == "demand" else "destinations"
