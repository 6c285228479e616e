r"""The max–min MCLP in two reduced stages (``objective="maxmin"``).

:class:`~dongne.allocate.MCLP` solves it here on the demand rows it has already reduced
(rows covered by existing sites removed, rows with the same group and coverage set merged).
Stage one is a MIP; stage two, like ``min_share``, is :func:`dongne.allocate.benders.max_cover`
with floor rows on the master's per-group cut variables. Every further reduction is exact:

* **Site dominance.** A candidate whose covered rows are a subset of another's is dropped
  (of identical ones the first is kept): total coverage, every group's coverage and so every
  floor only grow when a site is replaced by one covering a superset of its rows (Toregas &
  ReVelle 1973). At most :math:`p` sites are opened; a solution with fewer is padded with
  unused candidates, which cannot lower any coverage.
* **Floors already met.** A group whose floor the existing sites meet gets no floor row
  (in :func:`~dongne.allocate.benders.max_cover`).
* **Max–min, stage one: only groups that can bind.** With :math:`U_g` the sum of the
  :math:`p` largest single-site covered weights in group :math:`g`, :math:`t^* \le \bar t =
  \min_g (B_g + U_g)/A_g` (:math:`B_g` covered by existing sites, :math:`A_g` the group's
  demand). A group with :math:`B_g / A_g \ge \bar t` meets every :math:`t \le \bar t`
  whatever the new sites, so the max-:math:`t` MIP keeps only the other groups' rows.
* **Max–min, stage two: only sites that serve the floors.** When no :math:`p - 1` sites reach
  :math:`t^*` (one more small MIP, cut off at :math:`t^*`), every site of a feasible solution
  raises the covered weight of a group below :math:`t^*`: stage two keeps only the sites that
  cover such groups' rows. Stage one's sites are its first incumbent.

The MIPs and masters run on one HiGHS thread: HiGHS picks among tied optima by thread count
otherwise.
Callers recompute every objective from the chosen sites.

References
----------
Marsh, M. T. & Schilling, D. A. (1994). Equity measurement in facility location analysis: a
review and framework. European Journal of Operational Research 74:1–17.
Cordeau, J.-F., Furini, F. & Ljubić, I. (2019). Benders decomposition for very large scale
partial set covering and maximal covering location problems. European Journal of Operational
Research 275(3):882–896.
Toregas, C. & ReVelle, C. (1973). Binary logic solutions to a class of location problem.
Geographical Analysis 5(2):145–155 (column dominance in covering models).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse

from dongne.allocate._model import _INF, _Builder, _cover_rows, _gap
from dongne.allocate._solver import GAP_LIMIT, INFEASIBLE, OPTIMAL, TIME_LIMIT
from dongne.allocate.benders import covered_weight, max_cover

#: Relative gap at or below which a stage counts as optimal; slack of the floors on shares.
_REL_TOL = 1e-9


def _highs_options(time_limit: float | None, backend: str, mip_gap: float) -> dict[str, Any]:
    """HiGHS options of the reduced MIPs: one thread (the sites must not depend on it)."""
    return {
        "time_limit": time_limit,
        "threads": 1,
        "backend": backend,
        "mip_rel_gap": float(mip_gap),
    }


def _maxmin_sites(
    agg, aw, ag, total_g, base_g, p, options,
    plain: Callable[[], tuple[np.ndarray, str, float]], cut_groups: np.ndarray | None = None,
) -> tuple[np.ndarray, float, str, float, float]:  # fmt: skip
    """Lexicographic max–min MCLP on the reduced rows.

    Stage one maximises the worst group's covered share :math:`t`, stage two the covered
    weight with every group at :math:`t^*` or more (module docstring). ``plain()`` solves the
    plain MCLP, called when no group below :math:`t^*` can gain (then stage two is that);
    it returns (columns, status, upper bound on the covered weight).

    Returns (``p`` columns, :math:`t^*`, status, relative gap, upper bound on the covered
    weight of the reduced rows). The status is ``"optimal"`` when both stages are proven
    within ``_REL_TOL`` (the gap is the larger of stage one's, on :math:`t`, and stage
    two's), else ``"time_limit"``.
    """
    n_g = len(total_g)
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
        chosen, status, bound = plain()
        value = covered_weight(agg, aw, chosen)
        proven = proven1 and status == OPTIMAL
        gap = max(gap1, _gap(value, max(bound, value)))
        stopped = (one is not None and one[2] != OPTIMAL) or status != OPTIMAL
        return chosen, t_star, _status(proven, stopped), gap, max(bound, value)
    if p > 1:
        fewer = _stage_one(
            agg, aw, ag, binding, total_g, base_g, p - 1, t_max, options,
            cutoff=floor - _REL_TOL,
        )  # fmt: skip
        if fewer[2] == INFEASIBLE or fewer[1] < floor:  # (groups below t* all bind)
            # No p - 1 sites meet the floors: every site of a solution serves a floor.
            serve = np.isin(ag, constrained)
            cols = np.flatnonzero(np.diff(sparse.csc_array(agg[serve]).indptr) > 0)
    value = covered_weight(agg, aw, chosen1)
    x2 = _stage_two(agg, aw, ag, constrained, need, cols, p, chosen1, options, cut_groups)
    chosen, bound2, status2 = chosen1, x2[1], x2[2]
    if x2[0] is not None:
        value2 = covered_weight(agg, aw, x2[0])
        if value2 > value and np.all(shares(x2[0]) >= floor):
            chosen, value = x2[0], value2
    base = float(base_g.sum())
    bound2 = max(bound2, value)
    gap2 = _gap(base + value, base + bound2)
    chosen = _pad(chosen, p, m)
    proven = proven1 and status2 == OPTIMAL and gap2 <= _REL_TOL
    stopped = (one is not None and one[2] != OPTIMAL) or status2 != OPTIMAL
    return chosen, t_star, _status(proven, stopped), max(gap1, gap2), bound2


def _status(proven: bool, stopped: bool) -> str:
    """Optimal (gap <= 1e-9); else time_limit when a stage stopped short, gap_limit when
    every stage ended but HiGHS's tolerances left a gap above 1e-9."""
    if proven:
        return OPTIMAL
    return TIME_LIMIT if stopped else GAP_LIMIT


def _indicator(chosen: np.ndarray, m: int) -> np.ndarray:
    y = np.zeros(m)
    y[np.asarray(chosen, dtype=np.int64)] = 1.0
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
    _cover_rows(b, sub, y0, z0, p, exactly=False)
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


def _stage_two(agg, aw, ag, constrained, need, cols, p, start, options, cut_groups=None):
    """max covered weight s.t. covered_g >= ``need[g]`` (g in ``constrained``), at most ``p`` of
    the sites ``cols``, by :func:`benders.max_cover` with floors; ``start``: known feasible
    columns (stage one's sites), used as the first incumbent when they are among ``cols``;
    ``cut_groups``: the Benders cut group of every row (None: 64 groups by first covering
    site), split by group there.

    Returns (chosen columns or None, proven bound, status).
    """
    cols = _undominated(agg, cols)
    sub = sparse.csr_array(agg[:, cols])
    rows = np.flatnonzero(np.diff(sub.indptr) > 0)
    sub = sparse.csr_array(sub[rows])
    floors = np.full(len(need), -np.inf)
    floors[constrained] = need[constrained]
    where = {int(c): i for i, c in enumerate(cols)}
    starts = [np.array([where[int(c)] for c in start])] if all(c in where for c in start) else []
    res = max_cover(
        sub, aw[rows], min(p, len(cols)), starts=starts, time_limit=options["time_limit"],
        threads=1, floors=(ag[rows], floors), n_groups=64,
        groups=None if cut_groups is None else cut_groups[rows],
    )  # fmt: skip
    chosen = cols[res.chosen] if len(res.chosen) else None
    return chosen, res.bound, res.status
