"""Equity of access: coverage and distance per group, the Gini of access, and Pareto sweeps.

Access is the cost (distance or time) from each demand unit to its nearest open facility;
coverage is the share of demand weight within the service radius. Per group (e.g. per gu) the
reports give the demand, the covered share, the weighted mean and the worst access, and the
Gini coefficient of access across demand units (weighted by demand). The sweep traces the
trade-off between total coverage (efficiency) and the worst group's coverage (equity) with the
ε-constraint method (Marsh & Schilling 1994).

References
----------
Marsh, M. T. & Schilling, D. A. (1994). Equity measurement in facility location analysis: a
review and framework. European Journal of Operational Research 74:1–17.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dongne.errors import SpecificationError
from dongne.io.provenance import attach

__all__ = ["access_table", "gini", "min_share_by_group", "pareto_sweep", "plot_pareto"]


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


def pareto_sweep(
    problem: Any,
    p: int,
    radius: float,
    *,
    n_points: int = 6,
    shares: Any = None,
    scheduler: Any = None,
    **mclp_options: Any,
) -> pd.DataFrame:
    """Efficiency–equity trade-off of maximal covering: total vs worst-group coverage.

    Solves the MCLP without equity constraints (most efficient), the max–min MCLP (most
    equal: the worst group's coverage as high as possible, then total coverage), and MCLPs
    in between that require every group to reach a share ε (the ε-constraint method).

    Parameters
    ----------
    problem : LocationProblem
        With groups.
    p, radius :
        As in :class:`~dongne.allocate.MCLP`.
    n_points : int
        Number of ε values between the two ends (inclusive).
    shares : sequence of float, optional
        The ε values to use instead.
    scheduler : None, "threads", "processes", str or dask.distributed.Client
        Where the models are solved (:mod:`dongne.parallel`): the two ends first, then the ε
        values, one task each; the problem is sent once per worker.
    **mclp_options :
        Passed to :class:`~dongne.allocate.MCLP` (``method``, ``time_limit``, ...).

    Returns
    -------
    DataFrame
        One row per solution: ``min_share`` (ε required), ``coverage`` (total share covered),
        ``worst_group`` and ``worst_group_coverage``, ``gini_access``, ``sites`` (chosen site
        ids), ``status``, ``gap``; ``pareto`` marks solutions no other dominates. Plot with
        :func:`plot_pareto`.
    """
    from dongne.parallel.scheduler import map_tasks

    if problem.groups is None:
        raise SpecificationError("pareto_sweep needs a problem with groups (group='gu_name').")
    shared = (problem, p, radius, mclp_options)
    efficient, fair = map_tasks(_sweep_row, shared, [("none",), ("maxmin",)], scheduler=scheduler)
    lo = efficient["worst_group_coverage"]
    hi = fair["worst_group_coverage"]
    if shares is None:
        shares = np.linspace(lo, hi, max(int(n_points), 2))[1:-1] if hi > lo + 1e-9 else []
    middle = map_tasks(_sweep_row, shared, [(float(e),) for e in shares], scheduler=scheduler)
    frame = pd.DataFrame([efficient, *middle, fair])
    cov = frame["coverage"].to_numpy()
    worst = frame["worst_group_coverage"].to_numpy()
    tol = 1e-12
    frame["pareto"] = [
        not np.any(
            (cov >= cov[i] - tol)
            & (worst >= worst[i] - tol)
            & ((cov > cov[i] + tol) | (worst > worst[i] + tol))
        )
        for i in range(len(frame))
    ]
    attach(frame, {"p": p, "radius": radius, "method": "epsilon-constraint"})
    return frame


def _sweep_row(
    problem: Any, p: int, radius: float, mclp_options: dict[str, Any], eps: float | str
) -> dict[str, Any]:
    """Solve one MCLP of the sweep (``eps``: "none", "maxmin" or ε); its row (one task)."""
    from dongne.allocate.models import MCLP

    if eps == "none":
        model = MCLP(p=p, radius=radius, **mclp_options)
    elif eps == "maxmin":
        model = MCLP(p=p, radius=radius, objective="maxmin", **mclp_options)
    else:
        model = MCLP(p=p, radius=radius, min_share=float(eps) - 1e-9, **mclp_options)
    model.fit(problem)
    table = model.groups_after_
    grp = table.drop(index="all")
    worst = grp["coverage"].idxmin()
    return {
        "min_share": eps if isinstance(eps, float) else np.nan,
        "objective": {"none": "coverage", "maxmin": "max-min"}.get(str(eps), "coverage"),
        "coverage": float(table.loc["all", "coverage"]),
        "worst_group": worst,
        "worst_group_coverage": float(grp.loc[worst, "coverage"]),
        "gini_access": float(table.loc["all", "gini_access"]),
        "sites": list(model.selected_),
        "status": model.status_,
        "gap": model.gap_,
    }


def plot_pareto(frame: pd.DataFrame, path: str | os.PathLike[str] | None = None) -> Any:
    """Scatter of total coverage vs worst-group coverage from :func:`pareto_sweep`.

    Returns the matplotlib Figure (Agg, no pyplot state); writes it when ``path`` is given.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from dongne.report.maps import _figure_style, save_png

    with _figure_style():
        fig = Figure(figsize=(6.5, 4.5), dpi=150, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        on = frame["pareto"].to_numpy(bool)
        x = 100 * frame["worst_group_coverage"].to_numpy()
        y = 100 * frame["coverage"].to_numpy()
        order = np.argsort(x[on])
        ax.plot(x[on][order], y[on][order], "-o", color="#2c7bb6", label="Pareto / 파레토")
        if (~on).any():
            ax.plot(x[~on], y[~on], "o", color="#bbbbbb", label="dominated / 열등해")
        for xi, yi, obj in zip(x, y, frame["objective"], strict=True):
            if obj == "max-min":
                ax.annotate("max-min", (xi, yi), textcoords="offset points", xytext=(4, -10))
        ax.set_xlabel("Worst group coverage (%) / 최저 그룹 커버율")
        ax.set_ylabel("Total coverage (%) / 전체 커버율")
        ax.set_title("Efficiency vs equity / 효율성과 형평성")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
        if path is not None:
            save_png(fig, path)
    return fig
