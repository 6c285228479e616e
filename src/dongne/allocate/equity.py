"""Equity of access: coverage and distance per group, and the Gini of access.

Access is the cost (distance or time) from each demand unit to its nearest open facility;
coverage is the share of demand weight within the service radius. Per group (e.g. per gu) the
reports give the demand, the covered share, the weighted mean and the worst access, and the
Gini coefficient of access across demand units (weighted by demand). The sweep traces the
trade-off between total coverage (efficiency) and the worst group's coverage (equity) with the
ε-constraint method (Marsh & Schilling 1994); it solves models, so it sits above them, in
:mod:`dongne.allocate.pareto`.

References
----------
Marsh, M. T. & Schilling, D. A. (1994). Equity measurement in facility location analysis: a
review and framework. European Journal of Operational Research 74:1–17.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dongne.errors import SpecificationError

__all__ = ["access_table", "gini", "min_share_by_group"]


def gini(values: Any, weights: Any = None) -> float:
    """Weighted Gini coefficient of non-negative ``values`` (0: all equal; → 1: concentrated).

    Uses G = Σ_i Σ_k w_i w_k |x_i − x_k| / (2 W² μ), W = Σ w, μ the weighted mean, computed in
    O(n log n) from the sorted values. Infinite values (no facility reachable) and units with
    zero weight are left out; NaN when fewer than two units remain or μ = 0.

    Examples
    --------
    >>> gini([1, 1, 1, 1])
    0.0
    >>> round(gini([0, 0, 0, 1]), 3)
    0.75
    >>> gini([1, 3], weights=[3, 1]) == gini([1, 1, 1, 3])
    True
    """
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    keep = np.isfinite(x) & (w > 0)
    x, w = x[keep], w[keep]
    if len(x) < 2:
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    total = w.sum()
    mean = float(w @ x) / total
    if mean <= 0:
        return 0.0
    cw = np.cumsum(w)
    cwx = np.cumsum(w * x)
    # Σ_i w_i Σ_{k<i} w_k (x_i − x_k), twice, over W² · 2μ.
    pairs = float(np.sum(w * (x * (cw - w) - (cwx - w * x))))
    return float(pairs / (total**2 * mean))


def access_table(
    distance: np.ndarray,
    weights: np.ndarray,
    groups: np.ndarray | None = None,
    radius: float | None = None,
    covered: np.ndarray | None = None,
) -> pd.DataFrame:
    """Coverage and access per group and overall (row ``"all"``).

    Parameters
    ----------
    distance : ndarray
        Cost from each demand unit to its (nearest or assigned) open facility.
    weights : ndarray
        Demand weight of each unit.
    groups : ndarray, optional
        Group label of each unit.
    radius : float, optional
        Service radius; coverage is ``distance <= radius`` unless ``covered`` is given.
    covered : ndarray, optional
        Covered share of each unit in [0, 1] (capacitated models cover fractions).

    Returns
    -------
    DataFrame
        Index: group labels then ``"all"``. Columns ``demand`` (weight), ``units``,
        ``covered`` (weight), ``coverage`` (share), ``mean_access`` (weighted mean cost),
        ``worst_access`` (largest cost among units with positive weight) and
        ``gini_access`` (weighted Gini of the cost).
    """
    d = np.asarray(distance, dtype=float)
    w = np.asarray(weights, dtype=float)
    if covered is None:
        covered = (d <= radius).astype(float) if radius is not None else np.full(len(d), np.nan)
    labels = np.full(len(d), "all", dtype=object) if groups is None else np.asarray(groups)
    rows = []
    keys = [*sorted(pd.unique(labels))] if groups is not None else []
    for key in [*keys, "all"]:
        sel = np.ones(len(d), dtype=bool) if key == "all" else labels == key
        ws, ds, cs = w[sel], d[sel], covered[sel]
        total = float(ws.sum())
        pos = ws > 0
        finite = np.isfinite(ds)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = float(ws[finite] @ ds[finite] / ws[finite].sum()) if ws[finite].sum() else np.nan
        rows.append(
            {
                "group": key,
                "units": int(sel.sum()),
                "demand": total,
                "covered": float(ws @ cs) if radius is not None or covered is not None else np.nan,
                "coverage": float(ws @ cs) / total if total else np.nan,
                "mean_access": mean if np.isfinite(ds[pos]).all() else np.inf,
                "worst_access": float(ds[pos].max()) if pos.any() else np.nan,
                "gini_access": gini(ds, ws),
            }
        )
    frame = pd.DataFrame(rows).set_index("group")
    if radius is None and covered is None:
        frame[["covered", "coverage"]] = np.nan
    return frame


def min_share_by_group(
    min_share: float | Mapping[str, float] | None, groups: np.ndarray | None
) -> dict[str, float]:
    """Normalise ``min_share`` (one share for all groups, or per group) to a dict."""
    if min_share is None:
        return {}
    if groups is None:
        raise SpecificationError(
            "min_share needs groups: build the problem with group='gu_name' (or groups=...)."
        )
    labels = [str(g) for g in pd.unique(groups)]
    if isinstance(min_share, Mapping):
        unknown = [g for g in min_share if str(g) not in labels]
        if unknown:
            raise SpecificationError(
                f"min_share names unknown groups {unknown}. Groups: {', '.join(sorted(labels))}."
            )
        shares = {str(g): float(s) for g, s in min_share.items()}
    else:
        shares = {g: float(min_share) for g in labels}
    bad = {g: s for g, s in shares.items() if not 0 <= s <= 1}
    if bad:
        raise SpecificationError(f"min_share must be a share in [0, 1]. Got {bad}.")
    return shares






