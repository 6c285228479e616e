"""p-median: p new sites that minimise the demand-weighted cost to the nearest open site.

Formulation in the class docstring; notation in :mod:`dongne.allocate._model`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from dongne.allocate import heuristics as heur
from dongne.allocate._model import (
    _INF,
    MAX_COST,
    _Builder,
    _capacity_precheck,
    _gap,
    _group_codes,
    _LocationModel,
    _pow2,
    _raise_if_infeasible,
    _Solution,
)
from dongne.allocate._radius import solve_median_radius
from dongne.allocate._solver import OPTIMAL, backend_name
from dongne.allocate.equity import min_share_by_group
from dongne.allocate.problem import LocationProblem
from dongne.errors import (
    InfeasibleProblemError,
    SpecificationError,
    format_rows,
)
from dongne.io.write import jsonable

__all__ = ["PMedian"]


# =============================================================================== p-median
class PMedian(_LocationModel):
    r"""p-median: place p new sites to minimise the total weighted distance to the nearest site.

    Hakimi (1964); strong (disaggregated) formulation of ReVelle & Swain (1970), with the
    existing sites fixed open:

    .. math::

       \begin{array}{lll}
       \textbf{minimise} & \sum_{i} \sum_{j} a_i d_{ij} x_{ij} & \\
       \textbf{s.t.} & \sum_j x_{ij} = 1 & \forall i \\
        & x_{ij} \le y_j & \forall i, j \\
        & \sum_{j \in C} y_j = p, \; y_j = 1 \; (j \in E) & \\
        & x_{ij} \ge 0, \; y_j \in \{0, 1\} &
       \end{array}

    With existing sites, demand i is never served by a candidate farther than its nearest
    existing site, so those :math:`x_{ij}` are dropped. With capacities,
    :math:`\sum_i a_i x_{ij} \le c_j y_j` is added and demand may be split (fractional
    assignment). ``min_share`` (with ``radius``) adds group coverage constraints as in
    :class:`MCLP`.

    ``method="exact"`` without capacities or ``min_share`` solves the radius formulation
    (García, Labbé & Marín 2011) with the sorted-distance reduction, Lagrangian and LP
    reduced-cost fixing and distance levels added on demand (:mod:`dongne.allocate._radius`);
    the MIP above is solved with capacities or ``min_share``. The objective is recomputed from
    the chosen sites; ``status_`` is ``"optimal"`` only at a proven relative gap ≤ 1e-9,
    else ``"time_limit"`` or ``"gap_limit"`` (a positive ``mip_gap``).

    For large instances ``method="heuristic"`` runs greedy addition and vertex substitution
    (Teitz & Bart 1968) with fast-interchange bookkeeping, and reports the gap to a
    Lagrangian lower bound (Beasley 1993).

    Parameters
    ----------
    p : int
        Number of new sites.
    radius : float or str, optional
        Only for reporting coverage (and for ``min_share``).
    min_share : float or dict, optional
        Minimum covered share (within ``radius``) per group.
    method : {"auto", "exact", "heuristic"}
        ``auto``: exact while the model has at most ``max_exact_columns`` assignment
        variables, else heuristic.
    time_limit, mip_gap, threads, backend :
        As in :class:`MCLP`.
    max_exact_columns : int
        Size limit of ``method="auto"``.

    Attributes
    ----------
    objective_ : float
        Total weighted distance Σ a_i d_i. Other attributes as in :class:`MCLP`.

    References
    ----------
    Hakimi, S. L. (1964). Optimum locations of switching centers and the absolute centers and
    medians of a graph. Operations Research 12(3):450–459. ReVelle, C. S. & Swain, R. W.
    (1970). Central facilities location. Geographical Analysis 2(1):30–42. Teitz, M. B. &
    Bart, P. (1968). Heuristic methods for estimating the generalized vertex median of a
    weighted graph. Operations Research 16(5):955–961. García, S., Labbé, M. & Marín, A.
    (2011). Solving large p-median problems with a radius formulation. INFORMS Journal on
    Computing 23(4):546–556. Beasley, J. E. (1993). Lagrangean
    heuristics for location problems. EJOR 65:383–399. Daskin, M. S. (2013). Network and
    Discrete Location, 2nd ed. Wiley.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[0, 4, 8], [4, 0, 4], [8, 4, 0]])
    >>> m = PMedian(p=1).fit(LocationProblem.from_cost_matrix(cost, weights=[1, 1, 5]))
    >>> m.selected_.tolist(), m.objective_
    (['2'], 12.0)
    """

    _name = "p-median"
    _name_ko = "p-메디안 입지"

    def __init__(
        self,
        p: int,
        *,
        radius: float | str | None = None,
        min_share: float | Mapping[str, float] | None = None,
        method: str = "auto",
        time_limit: float | None = None,
        mip_gap: float = 0.0,
        threads: int | None = None,
        backend: str = "auto",
        max_exact_columns: int = 2_000_000,
    ) -> None:
        self.p = p
        self.radius = radius
        self.min_share = min_share
        self.method = method
        self.time_limit = time_limit
        self.mip_gap = mip_gap
        self.threads = threads
        self.backend = backend
        self.max_exact_columns = max_exact_columns

    def _objective_text(self) -> tuple[str, str]:
        w = float(self.problem_.weights.sum())
        return (
            f"total weighted distance {self.objective_:,.6g} (mean {self.objective_ / w:,.1f} "
            f"{self.problem_.unit})",
            f"가중 총거리 {self.objective_:,.6g} "
            f"(평균 {self.objective_ / w:,.1f}{self.problem_.unit})",
        )

    def _solve(self, problem: LocationProblem) -> _Solution:
        p = self._check_p(problem)
        shares = min_share_by_group(self.min_share, problem.groups)
        radius = self._radius(problem)
        if shares and radius is None:
            raise SpecificationError("min_share needs a radius (coverage is within the radius).")
        cand = problem.candidates
        ex = np.flatnonzero(problem.existing)
        w = problem.weights
        rows = np.flatnonzero(w > 0)
        d_cand = problem.distances(rows, cand)
        base = problem.distances(rows, ex).min(axis=1) if len(ex) else np.full(len(rows), np.inf)
        unreachable = ~np.isfinite(base) & ~np.isfinite(d_cand).any(axis=1)
        if unreachable.any():
            raise InfeasibleProblemError(
                f"p-median: demand units {format_rows(problem.demand_ids[rows[unreachable]])} "
                "cannot reach any site (infinite cost). Fix: give them a finite cost to some "
                "site or weight 0."
            )
        if problem.capacities is not None:
            return self._solve_capacitated(problem, p, rows, d_cand, shares, radius)
        allowed = np.isfinite(d_cand) & (d_cand < base[:, None])
        n_cols = int(allowed.sum())
        method = self.method
        if method == "auto":
            method = "exact" if n_cols <= self.max_exact_columns else "heuristic"
        if method == "heuristic" and shares:
            raise SpecificationError("method='heuristic' does not take min_share; use 'exact'.")
        ww = w[rows]
        if method == "heuristic" or p == 0:
            return self._heuristic(problem, p, rows, d_cand, base, ww)
        if not shares:
            return self._radius_exact(problem, p, d_cand, base, ww)
        g_codes, g_labels = _group_codes(problem.groups)
        total_g = None if g_codes is None else np.bincount(g_codes, w, minlength=len(g_labels))
        b = _Builder()
        mc = len(cand)
        y0 = b.add_cols(mc, 0.0, 0.0, 1.0, integer=True)
        ri, cj = np.nonzero(allowed)
        has_base = np.isfinite(base)
        e_rows = np.flatnonzero(has_base)
        # Scaled by powers of two as the capacitated MIP (_solve_capacitated): HiGHS's
        # absolute tolerances otherwise decide small weights and cost differences.
        w_scale = _pow2(float(ww.sum()))
        wws = ww * w_scale
        cx, ce = wws[ri] * d_cand[ri, cj], wws[e_rows] * base[e_rows]
        c_scale = _pow2(float(max(cx.max(initial=0.0), ce.max(initial=0.0))), MAX_COST) / 2
        x0 = b.add_cols(len(ri), cx * c_scale, 0.0, 1.0)
        e0 = b.add_cols(len(e_rows), ce * c_scale, 0.0, 1.0)
        n = len(rows)
        b.add_rows(
            np.concatenate([ri, e_rows]),
            np.concatenate([x0 + np.arange(len(ri)), e0 + np.arange(len(e_rows))]),
            1.0,
            1.0,
            1.0,
            n,
        )
        b.add_rows(
            np.concatenate([np.arange(len(ri)), np.arange(len(ri))]),
            np.concatenate([x0 + np.arange(len(ri)), y0 + cj]),
            np.concatenate([np.ones(len(ri)), -np.ones(len(ri))]),
            -_INF,
            0.0,
            len(ri),
        )
        b.add_rows(np.zeros(mc), y0 + np.arange(mc), 1.0, p, p, 1)
        if shares:
            gr = g_codes[rows]
            for gi, label in enumerate(g_labels):
                s = shares.get(label)
                if s is None or s * total_g[gi] <= 0:
                    continue
                sx = np.flatnonzero((gr[ri] == gi) & (d_cand[ri, cj] <= radius))
                se = np.flatnonzero((gr[e_rows] == gi) & (base[e_rows] <= radius))
                r = _pow2(s * total_g[gi] * w_scale)  # the share row in [1e6, 2e6) (_model)
                b.add_rows(
                    np.zeros(len(sx) + len(se)),
                    np.concatenate([x0 + sx, e0 + se]),
                    np.concatenate([wws[ri[sx]], wws[e_rows[se]]]) * r,
                    s * total_g[gi] * w_scale * r,
                    _INF,
                    1,
                )
        res = b.solve(maximize=False, **self._solver_options())
        _raise_if_infeasible(res, self, shares)
        chosen = np.flatnonzero(res.x[:mc] > 0.5)
        obj = heur.median_objective(d_cand, ww, chosen, base)
        bound = min(res.bound / (w_scale * c_scale), obj)
        return _Solution(
            cand[chosen], res.status, obj, bound, _gap(obj, bound), "exact", res.backend,
            res.runtime, details={"assignment_columns": len(ri)},
        )  # fmt: skip

    def _radius_exact(self, problem, p, d_cand, base, ww) -> _Solution:
        res = solve_median_radius(
            d_cand, ww, p, base, time_limit=self.time_limit, mip_gap=self.mip_gap,
            threads=self.threads, backend=self.backend,
        )  # fmt: skip
        if not np.isfinite(res.objective):
            raise InfeasibleProblemError(
                f"p-median: {'no' if res.status == 'infeasible' else 'within the time limit no'}"
                f" set of p={p} new sites gives every demand unit a finite cost. Fix: raise p, "
                "give the units finite costs to more sites, or raise time_limit."
            )
        return _Solution(
            problem.candidates[res.chosen], res.status, res.objective, res.bound, res.gap,
            "exact", backend_name(self.backend) + " (radius formulation)", res.runtime,
            details={k: jsonable(v) for k, v in res.details.items()},
        )  # fmt: skip

    def _heuristic(self, problem, p, rows, d_cand, base, ww) -> _Solution:
        cand = problem.candidates
        if not np.isfinite(d_cand).all():
            raise SpecificationError(
                "The p-median heuristic needs finite costs; use method='exact' with "
                "unreachable pairs."
            )
        t0 = time.perf_counter()
        chosen = heur.median_greedy(d_cand, ww, p, base)
        chosen = heur.median_interchange(d_cand, ww, chosen, base, time_limit=self.time_limit)
        obj = heur.median_objective(d_cand, ww, chosen, base)
        best = base if not len(chosen) else np.minimum(base, d_cand[:, chosen].min(axis=1))
        bound = heur.median_lagrangian_bound(
            d_cand, ww, p, base, obj, start=ww * best, time_limit=self.time_limit
        )
        bound = min(bound, obj)
        gap = _gap(obj, bound)
        return _Solution(
            cand[chosen], OPTIMAL if gap <= 1e-9 else "heuristic", obj, bound, gap, "heuristic",
            "greedy + fast interchange, Lagrangian bound", time.perf_counter() - t0,
        )  # fmt: skip

    def _solve_capacitated(self, problem, p, rows, d_cand, shares, radius) -> _Solution:
        if self.method == "heuristic":
            raise SpecificationError("The capacitated p-median is solved exactly only.")
        _capacity_precheck(problem, p, self._name)
        cand = problem.candidates
        mc = len(cand)
        d_all = problem.distances(rows)
        ww_raw = problem.weights[rows]
        ri, sj = np.nonzero(np.isfinite(d_all))
        # Exact scaling by powers of two (see _solver.WEIGHT_SCALE_TO): weights and capacities
        # to a total in [1e6, 2e6), costs so that the largest coefficient is in
        # [MAX_COST / 2, MAX_COST) — the widest range of costs above HiGHS's tolerances.
        w_scale = _pow2(float(ww_raw.sum()))
        ww = ww_raw * w_scale
        caps = problem.capacities * w_scale
        coef = ww[ri] * d_all[ri, sj]
        c_scale = _pow2(float(coef.max(initial=0.0)), MAX_COST) / 2
        col_of_site = np.full(problem.n_sites, -1)
        col_of_site[cand] = np.arange(mc)
        b = _Builder()
        y0 = b.add_cols(mc, 0.0, 0.0, 1.0, integer=True)
        x0 = b.add_cols(len(ri), coef * c_scale, 0.0, 1.0)
        b.add_rows(ri, x0 + np.arange(len(ri)), 1.0, 1.0, 1.0, len(rows))
        b.add_rows(
            np.concatenate([sj, cand]),
            np.concatenate([x0 + np.arange(len(ri)), y0 + np.arange(mc)]),
            np.concatenate([ww[ri], -caps[cand]]),
            -_INF,
            np.where(problem.existing, caps, 0.0),
            problem.n_sites,
        )
        idx = np.flatnonzero(col_of_site[sj] >= 0)
        b.add_rows(
            np.concatenate([np.arange(len(idx)), np.arange(len(idx))]),
            np.concatenate([x0 + idx, y0 + col_of_site[sj[idx]]]),
            np.concatenate([np.ones(len(idx)), -np.ones(len(idx))]),
            -_INF,
            0.0,
            len(idx),
        )
        b.add_rows(np.zeros(mc), y0 + np.arange(mc), 1.0, p, p, 1)
        if shares:
            g_codes, g_labels = _group_codes(problem.groups)
            total_g = np.bincount(g_codes, problem.weights, minlength=len(g_labels))
            gr = g_codes[rows]
            for gi, label in enumerate(g_labels):
                s = shares.get(label)
                if s is None or s * total_g[gi] <= 0:
                    continue
                sel = np.flatnonzero((gr[ri] == gi) & (d_all[ri, sj] <= radius))
                rhs = s * total_g[gi] * w_scale
                r = _pow2(rhs)  # the share row in [1e6, 2e6) (_model)
                b.add_rows(np.zeros(len(sel)), x0 + sel, ww[ri[sel]] * r, rhs * r, _INF, 1)
        res = b.solve(maximize=False, **self._solver_options())
        unscale = w_scale * c_scale
        res = replace(res, objective=res.objective / unscale, bound=res.bound / unscale)
        if res.x is None and res.status == "infeasible":
            raise InfeasibleProblemError(
                "p-median: the capacities cannot serve all demand with p new sites (or the "
                "group shares cannot be met). Fix: raise p or the capacities."
            )
        _raise_if_infeasible(res, self, shares)
        chosen = np.flatnonzero(res.x[:mc] > 0.5)
        x = res.x[x0 : x0 + len(ri)]
        load = np.bincount(sj, ww_raw[ri] * x, minlength=problem.n_sites)
        order = np.lexsort((sj, -x, ri))
        first = np.ones(len(order), dtype=bool)
        first[1:] = ri[order][1:] != ri[order][:-1]
        assignment = np.full(problem.n_demand, -1)
        assignment[rows[ri[order[first]]]] = sj[order[first]]
        covered = None
        if radius is not None:
            covered = np.zeros(problem.n_demand)
            within = d_all[ri, sj] <= radius
            covered[rows] = np.clip(np.bincount(ri, x * within, minlength=len(rows)), 0, 1)
        open_ = problem.existing.copy()
        open_[cand[chosen]] = True
        _, nearest = problem.nearest(open_)
        assignment = np.where(assignment >= 0, assignment, nearest)
        return _Solution(
            cand[chosen], res.status, res.objective, res.bound, res.gap, "exact", res.backend,
            res.runtime, assignment=assignment, covered=covered, load=load,
            details={"assignment": "fractional (system optimal)"},
        )  # fmt: skip
