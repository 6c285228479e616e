r"""Pareto sweeps of efficiency against equity: total coverage versus the worst group's coverage.

The sweep solves :class:`~dongne.allocate.MCLP` once per required minimum share of the worst
group (the ε-constraint method of Marsh & Schilling 1994); the measures of access themselves
are in :mod:`dongne.allocate.equity`, below the models.

The max–min end of the sweep (the worst group's covered share as high as possible, then the
most total coverage with it held) is solved here by two reduced MIPs instead of one MIP over
every demand row (:func:`_maxmin_sites`); both reductions are exact:

1. **Only groups that can bind.** With :math:`U_g` the sum of the :math:`p` largest single-site
   covered weights in group :math:`g` (an upper bound on what :math:`p` sites add there),
   :math:`t^* \le \bar t = \min_g (B_g + U_g)/A_g` (:math:`B_g` covered by existing sites,
   :math:`A_g` the group's demand). A group with :math:`B_g / A_g \ge \bar t` meets every
   :math:`t \le \bar t` whatever the new sites, so the max-:math:`t` MIP keeps only the other
   groups' rows, the sites that cover them, and :math:`t \le \bar t`.
2. **Only sites that serve the floors.** The second stage maximises total coverage with every
   group at :math:`t^*` or more. When no :math:`p - 1` sites reach :math:`t^*` (one more small
   MIP, cut off at :math:`t^*`), every site of a feasible solution raises the covered weight of
   a group below :math:`t^*`: the stage keeps only the sites that cover such groups' rows.

In both stages a site whose covered rows are a subset of another's is dropped (an exact
dominance reduction: all objectives and floors grow with coverage), at most :math:`p` sites
are opened, and the stage-one solution is the cutoff of stage two. The result is certified
as elsewhere: shares and coverage are recomputed from the chosen sites by nearest open site,
``"optimal"`` only with a proven relative gap of 1e-9 or less.

References
----------
Marsh, M. T. & Schilling, D. A. (1994). Equity measurement in facility location analysis: a
review and framework. European Journal of Operational Research 74:1–17.
Toregas, C. & ReVelle, C. (1973). Binary logic solutions to a class of location problem.
Geographical Analysis 5(2):145–155 (column dominance in covering models).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from dongne.allocate._model import _INF, _aggregate, _Builder, _gap, _group_codes
from dongne.allocate._solver import INFEASIBLE, OPTIMAL, TIME_LIMIT
from dongne.allocate.equity import access_table
from dongne.allocate.mclp import MCLP
from dongne.errors import InfeasibleProblemError, SpecificationError
from dongne.io.provenance import attach

__all__ = ["pareto_sweep", "plot_pareto"]


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
    if eps == "maxmin":
        return _maxmin_row(problem, p, radius, mclp_options)
    if eps == "none":
        model = MCLP(p=p, radius=radius, **mclp_options)
    else:
        model = MCLP(p=p, radius=radius, min_share=float(eps) - 1e-9, **mclp_options)
    model.fit(problem)
    table = model.groups_after_
    grp = table.drop(index="all")
    worst = grp["coverage"].idxmin()
    return {
        "min_share": eps if isinstance(eps, float) else np.nan,
        "objective": "coverage",
        "coverage": float(table.loc["all", "coverage"]),
        "worst_group": worst,
        "worst_group_coverage": float(grp.loc[worst, "coverage"]),
        "gini_access": float(table.loc["all", "gini_access"]),
        "sites": list(model.selected_),
        "status": model.status_,
        "gap": model.gap_,
    }


def _maxmin_row(
    problem: Any, p: int, radius: float, mclp_options: dict[str, Any]
) -> dict[str, Any]:
    """The max–min row of the sweep: :func:`_maxmin_sites`, its measures recomputed from the
    chosen sites (nearest open site within the radius) by :func:`access_table`."""
    # The refusals of MCLP(objective="maxmin"), in its words.
    if problem.capacities is not None:
        raise SpecificationError(
            "objective='maxmin' is available for the uncapacitated MCLP; use min_share "
            "with capacities."
        )
    if mclp_options.get("method") == "heuristic":
        raise SpecificationError(
            "method='heuristic' supports the coverage objective without min_share; use "
            "method='exact' for group constraints and max-min."
        )
    n_cand = len(problem.candidates)
    if p > n_cand:
        raise InfeasibleProblemError(
            f"p={p} new sites were asked for, but there are only {n_cand} candidate sites "
            f"(plus {int(problem.existing.sum())} existing facilities). Fix: lower p to at "
            f"most {n_cand} or add candidates (e.g. a finer candidate_grid)."
        )
    chosen, status, gap = _maxmin_sites(problem, p, radius, mclp_options)
    open_ = problem.existing.copy()
    open_[problem.candidates[chosen]] = True
    distance, _ = problem.nearest(open_)
    table = access_table(distance, problem.weights, problem.groups, radius)
    grp = table.drop(index="all")
    grp = grp[grp["demand"] > 0]
    worst = grp["coverage"].idxmin()
    return {
        "min_share": np.nan,
        "objective": "max-min",
        "coverage": float(table.loc["all", "coverage"]),
        "worst_group": worst,
        "worst_group_coverage": float(grp.loc[worst, "coverage"]),
        "gini_access": float(table.loc["all", "gini_access"]),
        "sites": list(problem.site_ids[problem.candidates[chosen]]),
        "status": status,
        "gap": gap,
    }


#: Relative gap at or below which a stage counts as optimal; slack of the floors on shares.
_REL_TOL = 1e-9


def _maxmin_sites(
    problem: Any, p: int, radius: float, mclp_options: dict[str, Any]
) -> tuple[np.ndarray, str, float]:
    """Lexicographic max–min MCLP: (positions among the candidates, status, relative gap).

    Stage one maximises the worst group's covered share :math:`t`, stage two the total
    covered weight with every group at :math:`t^*` or more; the reductions are described in
    the module docstring. Of ``mclp_options`` the HiGHS ones apply (``time_limit`` per MIP,
    ``backend``, ``mip_gap``; the MIPs run on one thread, so that the sites do not depend on
    the thread count); all of them when no group below :math:`t^*` can gain and stage two is
    the plain :class:`~dongne.allocate.MCLP`. The status is
    ``"optimal"`` when both stages are proven within ``_REL_TOL`` (the gap is the larger of
    stage one's, on :math:`t`, and stage two's), else ``"time_limit"``.
    """
    options = {
        "time_limit": mclp_options.get("time_limit"),
        "threads": 1,  # HiGHS picks among tied optima by thread count otherwise
        "backend": mclp_options.get("backend", "auto"),
        "mip_rel_gap": float(mclp_options.get("mip_gap", 0.0)),
    }
    cover = problem.covering(radius)
    w = problem.weights
    cand = problem.candidates
    ex = problem.existing
    by_existing = (
        np.asarray(cover[:, np.flatnonzero(ex)].sum(axis=1)).ravel() > 0
        if ex.any()
        else np.zeros(problem.n_demand, dtype=bool)
    )
    c_sub = sparse.csr_array(cover[:, cand])
    free = ~by_existing & (w > 0) & (np.diff(c_sub.indptr) > 0)
    codes, labels = _group_codes(problem.groups)
    n_g = len(labels)
    total_g = np.bincount(codes, w, minlength=n_g)
    base_g = np.bincount(codes[by_existing], w[by_existing], minlength=n_g)
    rows = np.flatnonzero(free)
    agg, aw, ag, _ = _aggregate(c_sub[rows], w[rows], codes[rows])
    m = agg.shape[1]
    has = total_g > 0
    safe_total = np.where(has, total_g, 1.0)

    def shares(chosen: np.ndarray) -> np.ndarray:
        covered = np.bincount(ag, aw * ((agg @ _indicator(chosen, m)) > 0.5), minlength=n_g)
        return np.where(has, (base_g + covered) / safe_total, np.inf)

    # Stage one: max t over the groups that can bind.
    single = np.zeros(n_g)
    for gi in range(n_g):
        in_g = ag == gi
        if in_g.any():
            col = np.sort(np.asarray(agg[in_g].T @ aw[in_g]).ravel())[::-1]
            single[gi] = min(col[:p].sum(), aw[in_g].sum())
    t_max = float(np.min(np.where(has, (base_g + single) / safe_total, np.inf)))
    binding = np.flatnonzero(has & (base_g < t_max * total_g))
    one = _stage_one(agg, aw, ag, binding, total_g, base_g, p, t_max, options)
    chosen1 = one[0] if one is not None else np.zeros(0, dtype=np.int64)
    t_star = float(np.min(shares(chosen1)))
    bound1 = t_max if one is None else min(t_max, one[1])
    proven1 = one is None or (one[2] == OPTIMAL and _gap(t_star, bound1) <= _REL_TOL)
    gap1 = 0.0 if one is None else _gap(t_star, bound1)

    # Stage two: max total coverage with every group at t* or more.
    floor = t_star - _REL_TOL
    need = floor * total_g - base_g
    constrained = np.flatnonzero(has & (need > 0))
    cols = np.flatnonzero(np.diff(sparse.csc_array(agg).indptr) > 0)
    if not len(constrained):  # no group below t* needs new sites: the plain MCLP
        model = MCLP(p=p, radius=radius, **mclp_options).fit(problem)
        where = {site: i for i, site in enumerate(cand)}
        chosen = np.sort([where[site] for site in model.new_sites_]).astype(np.int64)
        proven = proven1 and model.status_ == OPTIMAL
        return chosen, OPTIMAL if proven else TIME_LIMIT, max(gap1, model.gap_)
    if p > 1:
        fewer = _stage_one(
            agg, aw, ag, binding, total_g, base_g, p - 1, t_max, options,
            cutoff=floor - _REL_TOL,
        )  # fmt: skip
        if fewer[2] == INFEASIBLE or fewer[1] < floor:  # (groups below t* all bind)
            # No p - 1 sites meet the floors: every site of a solution serves a floor.
            serve = np.isin(ag, constrained)
            cols = np.flatnonzero(np.diff(sparse.csc_array(agg[serve]).indptr) > 0)
    start = float(aw @ ((agg @ _indicator(chosen1, m)) > 0.5))
    x2 = _stage_two(agg, aw, ag, constrained, need, cols, p, start, options)
    chosen, value, bound2, status2 = chosen1, start, x2[1], x2[2]
    if x2[0] is not None:
        value2 = float(aw @ ((agg @ _indicator(x2[0], m)) > 0.5))
        if value2 > value and np.all(shares(x2[0]) >= floor):
            chosen, value = x2[0], value2
    if status2 == INFEASIBLE:  # nothing beats the cutoff: stage one's sites are optimal
        bound2, status2 = x2[3], OPTIMAL
    base = float(base_g.sum())
    gap2 = _gap(base + value, base + max(bound2, value))
    chosen = _pad(chosen, p, m)
    proven = proven1 and status2 == OPTIMAL and gap2 <= _REL_TOL
    return chosen, OPTIMAL if proven else TIME_LIMIT, max(gap1, gap2)


def _indicator(chosen: np.ndarray, m: int) -> np.ndarray:
    y = np.zeros(m)
    y[chosen] = 1.0
    return y


def _pad(chosen: np.ndarray, p: int, m: int) -> np.ndarray:
    """``chosen`` with the first unused candidates added up to ``p`` sites (fewer than ``p``
    are chosen only when no further site adds coverage)."""
    chosen = np.sort(np.asarray(chosen, dtype=np.int64))
    if len(chosen) < p:
        rest = np.setdiff1d(np.arange(m), chosen)[: p - len(chosen)]
        chosen = np.sort(np.concatenate([chosen, rest]))
    return chosen


def _undominated(agg: sparse.csr_array, cols: np.ndarray) -> np.ndarray:
    """The columns of ``cols`` whose covered rows are in no other column's (ties: the first).

    Exact for every model here: coverage, the shares and the floors only grow when a site is
    replaced by one covering a superset of its rows (Toregas & ReVelle 1973).
    """
    if len(cols) < 2:
        return cols
    a = sparse.csc_array(agg[:, cols]).astype(np.int64)
    size = np.diff(a.indptr)
    overlap = sparse.csr_array(a.T @ a)
    keep = np.ones(len(cols), dtype=bool)
    for j in range(len(cols)):
        lo, hi = overlap.indptr[j], overlap.indptr[j + 1]
        other, shared = overlap.indices[lo:hi], overlap.data[lo:hi]
        over = other[(shared == size[j]) & (other != j)]
        keep[j] = not np.any((size[over] > size[j]) | (over < j))
    return cols[keep]


def _stage_one(agg, aw, ag, binding, total_g, base_g, p, t_max, options, cutoff=None):
    """max t s.t. A_g t <= B_g + covered_g (g in ``binding``), at most ``p`` sites, t <= t_max.

    Returns (chosen columns, proven bound on t, status), or None without binding groups.
    """
    if not len(binding):
        return None
    rows = np.flatnonzero(np.isin(ag, binding))
    sub = sparse.csr_array(agg[rows])
    cols = _undominated(sub, np.flatnonzero(np.diff(sparse.csc_array(sub).indptr) > 0))
    sub = sparse.csr_array(sub[:, cols])
    k, mc = sub.shape
    b = _Builder()
    y0 = b.add_cols(mc, 0.0, 0.0, 1.0, integer=True)
    z0 = b.add_cols(k, 0.0, 0.0, 1.0)
    t = b.add_cols(1, 1.0, 0.0, t_max)
    _cover_rows(b, sub, y0, z0, p)
    sub_g = ag[rows]
    for gi in binding:
        members = np.flatnonzero(sub_g == gi)
        # A_g t - sum_k a_k z_k <= B_g
        b.add_rows(
            np.zeros(len(members) + 1),
            np.concatenate([z0 + members, [t]]),
            np.concatenate([-aw[rows][members], [total_g[gi]]]),
            -_INF,
            base_g[gi],
            1,
        )
    res = b.solve(maximize=True, cutoff=cutoff, **options)
    if res.x is None:  # infeasible: nothing beats the cutoff; else the time ran out
        bound = -np.inf if res.status == INFEASIBLE else t_max
        return np.zeros(0, dtype=np.int64), bound, res.status
    return cols[np.flatnonzero(res.x[:mc] > 0.5)], float(res.bound), res.status


def _stage_two(agg, aw, ag, constrained, need, cols, p, start, options):
    """max covered weight s.t. covered_g >= ``need[g]`` (g in ``constrained``), at most ``p`` of
    the sites ``cols``; cut off at ``start`` (stage one's covered weight).

    Returns (chosen columns or None, proven bound, status, cutoff).
    """
    cols = _undominated(agg, cols)
    sub = sparse.csr_array(agg[:, cols])
    rows = np.flatnonzero(np.diff(sub.indptr) > 0)
    sub = sparse.csr_array(sub[rows])
    k, mc = sub.shape
    b = _Builder()
    y0 = b.add_cols(mc, 0.0, 0.0, 1.0, integer=True)
    z0 = b.add_cols(k, aw[rows], 0.0, 1.0)
    _cover_rows(b, sub, y0, z0, p)
    sub_g = ag[rows]
    for gi in constrained:
        members = np.flatnonzero(sub_g == gi)
        b.add_rows(np.zeros(len(members)), z0 + members, aw[rows][members], need[gi], _INF, 1)
    cutoff = start - 0.5 * _REL_TOL * max(1.0, abs(start))
    res = b.solve(maximize=True, cutoff=cutoff, **options)
    chosen = None if res.x is None else cols[np.flatnonzero(res.x[:mc] > 0.5)]
    bound = float(res.bound) if res.x is not None else np.inf
    return chosen, bound, res.status, cutoff


def _cover_rows(b: _Builder, sub: sparse.csr_array, y0: int, z0: int, p: int) -> None:
    """z_k <= sum_{j in N_k} y_j for every row k, and sum_j y_j <= p."""
    k, mc = sub.shape
    coo = sparse.coo_array(sub)
    b.add_rows(
        np.concatenate([coo.row, np.arange(k)]),
        np.concatenate([y0 + coo.col, z0 + np.arange(k)]),
        np.concatenate([-np.ones(coo.nnz), np.ones(k)]),
        -_INF,
        0.0,
        k,
    )
    b.add_rows(np.zeros(mc), y0 + np.arange(mc), 1.0, -_INF, p, 1)


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
