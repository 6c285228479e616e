"""Maximal covering location (MCLP): p new sites that cover the most demand weight.

Uncapacitated and capacitated, with minimum covered shares per group. Formulation in the
class docstring; notation in :mod:`dongne.allocate._model`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import sparse

from dongne.allocate import _floors, benders
from dongne.allocate import heuristics as heur
from dongne.allocate._model import (
    _INF,
    _aggregate,
    _Builder,
    _capacitated_model,
    _cover_rows,
    _gap,
    _group_codes,
    _LocationModel,
    _raise_if_infeasible,
    _Solution,
)
from dongne.allocate._solver import GAP_LIMIT, INFEASIBLE, OPTIMAL, backend_name
from dongne.allocate.equity import min_share_by_group
from dongne.allocate.problem import LocationProblem
from dongne.errors import (
    DongneError,
    InfeasibleProblemError,
    SpecificationError,
)

__all__ = ["MCLP"]

#: Groups of demand rows with their own Benders cut (multi-cut master).
BENDERS_GROUPS = 256

#: Spatial cut groups of the Benders master with floors (``min_share``, max–min stage two),
#: before they are split by group.
FLOOR_GROUPS = 64


# =============================================================================== MCLP
class MCLP(_LocationModel):
    r"""Maximal covering location problem (MCLP): cover the most demand with p new sites.

    Uncapacitated (Church & ReVelle 1974), with existing sites fixed open:

    .. math::

       \begin{array}{lll}
       \textbf{maximise} & \sum_{i \in I} a_i z_i & \\
       \textbf{s.t.} & z_i \le \sum_{j \in N_i} y_j & \forall i \in I \\
        & \sum_{j \in C} y_j = p, \quad y_j = 1 \; (j \in E) & \\
        & z_i \in [0, 1], \; y_j \in \{0, 1\} &
       \end{array}

    :math:`z_i` may be continuous: at integer :math:`y` the optimum sets it to 0 or 1. Demand
    already covered by an existing site is counted and removed, and demand units with the
    same coverage set (and group) are merged before the MIP is built — an exact reduction.

    Capacitated (Current & Storbeck 1988; Pirkul & Schilling 1991), when the problem has
    capacities: demand may be split between sites (fractional assignment)

    .. math::

       \max \sum_i a_i \sum_{j \in N_i} x_{ij} \;\; \text{s.t.} \;\; \sum_{j \in N_i} x_{ij}
       \le 1, \; \sum_i a_i x_{ij} \le c_j y_j, \; x_{ij} \le y_j, \; \sum_{j \in C} y_j = p.

    Equity across groups :math:`g` (demand :math:`A_g`): ``min_share`` adds
    :math:`\sum_{i \in g} a_i z_i \ge s_g A_g`; ``objective="maxmin"`` maximises
    :math:`t` subject to :math:`t \le \sum_{i \in g} a_i z_i / A_g` for every group, then
    maximises total coverage with that worst-group share held (lexicographic).

    Parameters
    ----------
    p : int
        Number of new sites.
    radius : float or str
        Service radius in the problem's unit, or with a unit: ``"500m"``, ``"10min"``
        (walking time; see :func:`~dongne.allocate.parse_radius`).
    min_share : float or dict, optional
        Minimum covered share of every group (one number) or per group (``{"강남구": 0.6}``).
    objective : {"coverage", "maxmin"}
        Total coverage, or the lexicographic max–min group coverage.
    method : {"auto", "exact", "heuristic"}
        ``exact``: proven optimum unless ``time_limit`` stops it (Benders decomposition or
        the full HiGHS MIP, see ``exact_solver``). ``heuristic``:
        greedy, Lagrangian and GRASP starts + 1-swap local search, with a Lagrangian or LP
        bound (uncapacitated, ``objective="coverage"``, no ``min_share``). ``auto``: exact
        unless the reduced coverage matrix has more than ``max_exact_nnz`` non-zeros.
    time_limit : float, optional
        Seconds for HiGHS; the best solution found is kept and the gap reported.
    mip_gap : float
        Relative gap at which HiGHS may stop (default 0: proven optimum). It applies to the
        HiGHS MIPs (``exact_solver="mip"``, capacities, the max–min stages); the Benders
        routes always run to a proven optimum or the time limit.
    threads : int, optional
        HiGHS threads (highspy backend).
    backend : {"auto", "highspy", "scipy"}
        HiGHS through highspy (default when installed) or through SciPy.
    max_exact_nnz : int
        Size limit for ``method="auto"``.
    bound : {"lagrangian", "lp"}
        Bound reported by the heuristic: Lagrangian relaxation (milliseconds; it tends to the
        LP relaxation bound, so its gap is the same or slightly larger) or the LP relaxation
        itself (interior point; seconds on 10,000 × 1,000).
    restarts : int
        GRASP restarts of the heuristic (randomised greedy among the 3 best sites + 1-swaps,
        fixed seed: reproducible); 0 for greedy, Lagrangian and LP starts only.
    ils_rounds : int
        Exact method: rounds of iterated local search (kick 3 sites, 1-swap descent; fixed
        seed) run before the branch and bound when no start reaches the LP bound yet; a
        solution that reaches the bound is optimal without branching. 0 to go straight to
        the MIP.
    exact_solver : {"benders", "mip"}
        Exact method of the uncapacitated model: Benders decomposition over the site
        variables (:mod:`dongne.allocate.benders`; ``min_share`` as floor rows on per-group
        cut variables), or the full HiGHS MIP over sites and aggregated demand rows (with
        ``min_share`` as rows over the rows' coverage variables; ``mip_gap`` and ``threads``
        apply). Both are exact and certified; Benders is much faster at city scale.

    Attributes
    ----------
    selected_ : ndarray of str
        Ids of the new sites. ``new_sites_`` their positions; ``open_`` mask of open sites.
    assignment_, distance_ : ndarray
        Nearest (or assigned) open site of every demand unit and its cost.
    covered_, covered_before_ : ndarray of float
        Covered share of each unit after and before (existing sites only).
    coverage_, coverage_before_ : float
        Share of the total demand weight covered.
    groups_after_, groups_before_ : DataFrame
        Coverage, mean and worst access and Gini per group (see :func:`access_table`).
    worst_group_, worst_group_coverage_ :
        The group with the lowest coverage after, and that coverage.
    gini_, gini_before_ : float
        Gini coefficient of access (cost to the nearest open site), weighted by demand.
    objective_, bound_, gap_, status_, method_, solver_, runtime_ :
        Covered weight, the proven upper bound, the relative gap, ``"optimal"`` or
        ``"time_limit"``, ``"exact"``/``"heuristic"``, the backend and wall time.
    provenance_ : dict
        Everything needed to repeat the run.

    See Also
    --------
    LSCP, PMedian, PCenter, dongne.allocate.pareto_sweep

    References
    ----------
    Church, R. & ReVelle, C. (1974). The maximal covering location problem. Papers of the
    Regional Science Association 32:101–118. Current, J. R. & Storbeck, J. E. (1988).
    Capacitated covering models. Environment and Planning B 15:153–163. Pirkul, H. &
    Schilling, D. A. (1991). The maximal covering location problem with capacities on total
    workload. Management Science 37(2):233–248. Church, R. L. & Murray, A. (2018). Location
    Covering Models. Springer. Daskin, M. S. (2013). Network and Discrete Location, 2nd ed.
    Wiley.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[1, 5, 9], [4, 1, 9], [9, 9, 1], [9, 2, 9]])
    >>> problem = LocationProblem.from_cost_matrix(cost, weights=[10, 20, 5, 1])
    >>> model = MCLP(p=1, radius=2).fit(problem)
    >>> model.selected_.tolist(), model.objective_, model.status_
    (['1'], 21.0, 'optimal')
    """

    _name = "Maximal covering (MCLP)"
    _name_ko = "최대 커버링 입지(MCLP)"

    def __init__(
        self,
        p: int,
        radius: float | str,
        *,
        min_share: float | Mapping[str, float] | None = None,
        objective: str = "coverage",
        method: str = "auto",
        time_limit: float | None = None,
        mip_gap: float = 0.0,
        threads: int | None = None,
        backend: str = "auto",
        max_exact_nnz: int = 5_000_000,
        bound: str = "lagrangian",
        restarts: int = 10,
        ils_rounds: int = 300,
        exact_solver: str = "benders",
    ) -> None:
        self.p = p
        self.radius = radius
        self.min_share = min_share
        self.objective = objective
        self.method = method
        self.time_limit = time_limit
        self.mip_gap = mip_gap
        self.threads = threads
        self.backend = backend
        self.max_exact_nnz = max_exact_nnz
        self.bound = bound
        self.restarts = restarts
        self.ils_rounds = ils_rounds
        self.exact_solver = exact_solver

    def _solve(self, problem: LocationProblem) -> _Solution:
        self._t0 = time.perf_counter()
        p = self._check_p(problem)
        if self.objective not in ("coverage", "maxmin"):
            raise SpecificationError(
                "The 'objective' parameter must be 'coverage' or 'maxmin'. "
                f"Got {self.objective!r} instead."
            )
        if self.radius is None:
            raise SpecificationError("MCLP needs a radius, e.g. radius='500m'.")
        if self.exact_solver not in ("benders", "mip"):
            raise SpecificationError(
                "The 'exact_solver' parameter must be 'benders' or 'mip'. "
                f"Got {self.exact_solver!r} instead."
            )
        if self.bound not in ("lagrangian", "lp"):
            raise SpecificationError(
                f"The 'bound' parameter must be 'lagrangian' or 'lp'. Got {self.bound!r} instead."
            )
        radius = self._radius(problem)
        shares = min_share_by_group(self.min_share, problem.groups)
        if self.objective == "maxmin" and problem.groups is None:
            raise SpecificationError(
                "objective='maxmin' needs groups: build the problem with group='gu_name'."
            )
        if problem.capacities is not None:
            return self._solve_capacitated(problem, p, radius, shares)
        sol = self._solve_uncapacitated(problem, p, radius, shares)
        _certify(problem, sol, radius)
        return sol

    # ------------------------------------------------------------------ uncapacitated
    def _solve_uncapacitated(self, problem, p, radius, shares) -> _Solution:
        cover = problem.covering(radius)
        w = problem.weights
        ex = problem.existing
        cand = problem.candidates
        by_existing = (
            np.asarray(cover[:, np.flatnonzero(ex)].sum(axis=1)).ravel() > 0
            if ex.any()
            else np.zeros(problem.n_demand, dtype=bool)
        )
        c_sub = sparse.csr_array(cover[:, cand])
        reachable = np.diff(c_sub.indptr) > 0
        free = ~by_existing & (w > 0) & reachable
        base = float(w[by_existing].sum())
        g_codes, g_labels = _group_codes(problem.groups)
        rows = np.flatnonzero(free)
        agg, aw, ag, where = _aggregate(
            c_sub[rows], w[rows], None if g_codes is None else g_codes[rows]
        )
        self._cut_groups = None
        if problem.demand_xy is not None and len(rows):
            first = np.zeros(agg.shape[0], dtype=np.int64)
            first[where[::-1]] = rows[::-1]
            n_cut = FLOOR_GROUPS if shares or self.objective == "maxmin" else BENDERS_GROUPS
            self._cut_groups = benders.spatial_groups(problem.demand_xy[first], n_cut)
        details: dict[str, Any] = {
            "demand_rows_in_model": int(agg.shape[0]),
            "demand_units_reduced": len(rows),
            "covered_by_existing": base,
        }
        total_g = base_g = None
        if g_codes is not None:
            total_g = np.bincount(g_codes, w, minlength=len(g_labels))
            base_g = np.bincount(g_codes[by_existing], w[by_existing], minlength=len(g_labels))
            reach_g = base_g + np.bincount(g_codes[free], w[free], minlength=len(g_labels))
            _check_shares_reachable(shares, g_labels, total_g, reach_g, radius, problem.unit)
        method = self.method
        if method == "auto":
            method = "exact" if agg.nnz <= self.max_exact_nnz else "heuristic"
        if method == "heuristic" and (shares or self.objective == "maxmin"):
            if self.method == "heuristic":
                raise SpecificationError(
                    "method='heuristic' supports the coverage objective without min_share; use "
                    "method='exact' for group constraints and max-min."
                )
            method = "exact"
        if self.objective == "coverage" and not shares:
            # Heuristics and a Lagrangian bound first (milliseconds); then, unless they already
            # meet, the LP relaxation by interior point + crossover (seconds where dual simplex
            # takes minutes) with LP rounding as one more start. Whenever the best solution
            # reaches a bound it is optimal and no branching is needed.
            benders_exact = method == "exact" and self.exact_solver == "benders"
            lp = not benders_exact and (method == "exact" or self.bound == "lp")
            chosen, cov, bound, how = self._heuristic(agg, aw, p, method, lp=lp)
            details["heuristic_objective"] = base + cov
            details["bound_method"] = how
            proven = cov >= bound - 1e-9 * max(1.0, abs(bound))
            if method == "heuristic" or proven:
                obj, ub = base + cov, base + max(bound, cov)
                return _Solution(
                    cand[chosen], OPTIMAL if proven else "heuristic", obj, ub,
                    0.0 if proven else _gap(obj, ub), "exact" if proven else "heuristic",
                    backend_name(self.backend) + f" ({how} bound)", 0.0, details=details,
                )  # fmt: skip
            if benders_exact:
                return self._benders(agg, aw, p, chosen, base, cand, details)
        elif self.exact_solver == "benders" and not (shares and self.objective == "maxmin"):
            return self._solve_groups(problem, p, agg, aw, ag, total_g, base_g, shares, g_labels,
                                      base, cand, details)  # fmt: skip
        else:
            chosen, cov = np.zeros(0, dtype=np.int64), -_INF
        builder = self._model(agg, aw, p, shares, ag, g_labels, total_g, base_g)
        if self.objective == "maxmin":
            res1 = builder.solve(maximize=True, **self._solver_options())
            _raise_if_infeasible(res1, self, shares)
            # HiGHS's t may exceed the worst share of its sites by its feasibility tolerance:
            # a floor above what the sites reach could cut off the max-min optimum.
            t_star = min(res1.objective, _worst_share(agg, aw, ag, total_g, base_g, res1.x))
            details["maxmin_share"] = t_star
            builder = self._model(
                agg, aw, p, shares, ag, g_labels, total_g, base_g, t_floor=t_star - 1e-9
            )
        res = builder.solve(maximize=True, **self._solver_options())
        _raise_if_infeasible(res, self, shares)
        mip_chosen = np.flatnonzero(res.x[: agg.shape[1]] > 0.5)
        obj = base + benders.covered_weight(agg, aw, mip_chosen)
        if base + cov > obj:
            # A time-limited MIP can end below the heuristic: keep the better solution.
            mip_chosen, obj = chosen, base + cov
        # HiGHS stops at its own tolerances (10^-6 absolute): its bound can end below the
        # recomputed objective, or above it by more than 1e-9 relative with status optimal.
        bound = max(base + res.bound, obj)
        status = res.status
        if status == OPTIMAL and _gap(obj, bound) > _floors._REL_TOL:
            status = GAP_LIMIT
        return _Solution(
            cand[mip_chosen], status, obj, bound, _gap(obj, bound), "exact", res.backend,
            res.runtime, details=details,
        )  # fmt: skip

    def _solve_groups(
        self, problem, p, agg, aw, ag, total_g, base_g, shares, g_labels, base, cand, details
    ) -> _Solution:
        """``min_share`` by :meth:`_benders_floors`, ``objective="maxmin"`` by the reduced
        stages of :mod:`dongne.allocate._floors` (one HiGHS thread)."""
        options = _floors._highs_options(self.time_limit, self.backend, self.mip_gap)
        t0 = time.perf_counter()
        if self.objective == "maxmin":

            def plain():
                params = {**self.get_params(), "objective": "coverage"}
                model = MCLP(**params).fit(problem)
                where = {site: i for i, site in enumerate(cand)}
                chosen = np.sort([where[s] for s in model.new_sites_]).astype(np.int64)
                return chosen, model.status_, model.bound_ - base

            chosen, t_star, status, gap, bound = _floors._maxmin_sites(
                agg, aw, ag, total_g, base_g, p, options, plain, self._cut_groups
            )
            details["maxmin_share"] = t_star
        else:
            need = np.array(
                [shares.get(g, 0.0) * total_g[gi] - base_g[gi] for gi, g in enumerate(g_labels)]
            )
            chosen, bound, status = self._benders_floors(agg, aw, ag, need, p, details)
            _raise_if_infeasible(SimpleNamespace(x=chosen, status=status), self, shares)
        obj = base + benders.covered_weight(agg, aw, chosen)
        ub = base + bound
        gap = max(gap, _gap(obj, ub)) if self.objective == "maxmin" else _gap(obj, ub)
        if self.objective != "maxmin" and (status != OPTIMAL or gap > _floors._REL_TOL):
            status = GAP_LIMIT if status == OPTIMAL else status
        return _Solution(
            cand[chosen], status, obj, ub, gap, "exact", backend_name(self.backend),
            time.perf_counter() - t0, details=details,
        )  # fmt: skip

    def _heuristic(self, agg, aw, p, method, lp) -> tuple[np.ndarray, float, float, str]:
        """Best of greedy, Lagrangian and (``lp``) LP-rounding starts, improved by 1-swaps.

        Returns the sites, their covered weight, an upper bound and how it was obtained:
        ``"Lagrangian"``, or ``"LP"`` when the LP relaxation was solved (``lp``: the full
        MIP's exact method, or ``bound="lp"``). The exact method adds iterated local search.
        """
        if p == 0 or agg.shape[1] == 0:
            return np.zeros(0, dtype=np.int64), 0.0, 0.0, "trivial"
        best, best_cov = None, -_INF

        def improve(start):
            nonlocal best, best_cov
            chosen = heur.coverage_swap(agg, aw, start, time_limit=self.time_limit)
            cov = benders.covered_weight(agg, aw, chosen)
            if cov > best_cov + 1e-12 * max(1.0, abs(cov)):
                best, best_cov = np.sort(chosen), cov

        improve(heur.coverage_greedy(agg, aw, p))
        bound, pick = heur.coverage_lagrangian_bound(
            agg, aw, p, best_cov, time_limit=self.time_limit
        )
        improve(pick)
        if best_cov < bound - 1e-9 * max(1.0, abs(bound)) and self.restarts:
            chosen, cov = heur.coverage_grasp(
                agg, aw, p, restarts=self.restarts, seed=0, stop_at=bound,
                time_limit=self.time_limit,
            )  # fmt: skip
            if cov > best_cov + 1e-12 * max(1.0, abs(cov)):
                best, best_cov = chosen, cov
        how = "Lagrangian"
        tol = 1e-9 * max(1.0, abs(bound))
        if best_cov < bound - tol and lp:
            lp = self._model(agg, aw, p, {}, None, None, None, None).solve(
                maximize=True, mip=False, lp_method="ipm", **self._solver_options()
            )
            if lp.x is not None:
                bound, how = min(bound, lp.objective), "LP"
                improve(np.argsort(-lp.x[: agg.shape[1]], kind="stable")[:p])
        if best_cov < bound - tol and lp and method == "exact" and self.ils_rounds:
            # Before branching: iterated local search towards the bound. Reaching it proves
            # optimality and saves the branch and bound (often minutes on 10,000 × 1,000).
            chosen, cov = heur.coverage_ils(
                agg, aw, best, rounds=self.ils_rounds, seed=0, stop_at=bound,
                time_limit=self.time_limit,
            )  # fmt: skip
            if cov > best_cov + 1e-12 * max(1.0, abs(cov)):
                best, best_cov = chosen, cov
        return best, best_cov, max(bound, best_cov), how

    def _benders(self, agg, aw, p, start, base, cand, details) -> _Solution:
        """Benders decomposition from the heuristic's sites (:func:`benders.max_cover`)."""
        left = None
        if self.time_limit is not None:  # the heuristics took part of it
            left = max(self.time_limit - (time.perf_counter() - self._t0), 1e-3)
        res = benders.max_cover(
            agg, aw, p, starts=[start], time_limit=left, threads=self.threads,
            groups=self._cut_groups, n_groups=BENDERS_GROUPS,
        )  # fmt: skip
        details.update(
            benders_cuts=res.cuts, benders_restarts=res.restarts, benders_nodes=res.nodes,
            fixed_by_reduced_cost=res.fixed,
            root_bound=base + res.root_bound, bound_method="Benders",
            benders_seconds=res.runtime,
        )  # fmt: skip
        obj, ub = base + res.covered, base + res.bound
        return _Solution(
            cand[res.chosen], res.status, obj, ub, _gap(obj, ub), "exact", res.backend,
            res.runtime, details=details,
        )  # fmt: skip

    def _benders_floors(self, agg, aw, ag, need, p, details):
        """``min_share`` by :func:`benders.max_cover` with the floor rows on per-group cut
        variables (one HiGHS thread: the sites must not depend on the thread count).

        Returns (columns or None, upper bound on the covered weight of the rows, status).
        """
        if agg.shape[0] == 0:  # the existing sites cover all they can: any p sites
            return _floors._pad(np.zeros(0, dtype=np.int64), p, agg.shape[1]), 0.0, OPTIMAL
        left = None
        if self.time_limit is not None:
            left = max(self.time_limit - (time.perf_counter() - self._t0), 1e-3)
        res = benders.max_cover(
            agg, aw, p, time_limit=left, threads=1, groups=self._cut_groups,
            n_groups=FLOOR_GROUPS, floors=(ag, need),
        )  # fmt: skip
        details.update(
            benders_cuts=res.cuts, benders_restarts=res.restarts, benders_nodes=res.nodes,
            fixed_by_reduced_cost=res.fixed, benders_seconds=res.runtime,
        )  # fmt: skip
        if res.status == INFEASIBLE or not len(res.chosen):
            return None, res.bound, res.status
        return res.chosen, res.bound, res.status

    def _model(self, agg, aw, p, shares, ag, g_labels, total_g, base_g, t_floor=None) -> _Builder:
        k, mc = agg.shape
        b = _Builder()
        maxmin = self.objective == "maxmin" and t_floor is None
        y0 = b.add_cols(mc, 0.0, 0.0, 1.0, integer=True)
        z0 = b.add_cols(k, 0.0 if maxmin else aw, 0.0, 1.0)
        _cover_rows(b, agg, y0, z0, p, exactly=True)
        if g_labels is not None and (shares or self.objective == "maxmin"):
            for gi, label in enumerate(g_labels):
                members = np.flatnonzero(ag == gi)
                need = shares.get(label, 0.0) * total_g[gi] - base_g[gi]
                if shares.get(label) is not None and need > 1e-12:
                    b.add_rows(np.zeros(len(members)), z0 + members, aw[members], need, _INF, 1)
            if self.objective == "maxmin":
                t = b.add_cols(1, 1.0 if maxmin else 0.0, 0.0 if t_floor is None else t_floor, 1.0)
                for gi in range(len(g_labels)):
                    if total_g[gi] <= 0:
                        continue
                    members = np.flatnonzero(ag == gi)
                    # A_g t - sum a_k z_k <= base_g
                    b.add_rows(
                        np.zeros(len(members) + 1),
                        np.concatenate([z0 + members, [t]]),
                        np.concatenate([-aw[members], [total_g[gi]]]),
                        -_INF,
                        base_g[gi],
                        1,
                    )
        return b

    # ------------------------------------------------------------------ capacitated
    def _solve_capacitated(self, problem, p, radius, shares) -> _Solution:
        if self.method == "heuristic":
            raise SpecificationError(
                "The capacitated MCLP is solved exactly only; use method='exact' or 'auto'."
            )
        cover = problem.covering(radius)
        w = problem.weights
        g_codes, g_labels = _group_codes(problem.groups)
        rows = np.flatnonzero((w > 0) & (np.diff(cover.indptr) > 0))
        agg, aw, ag, where = _aggregate(
            cover[rows], w[rows], None if g_codes is None else g_codes[rows]
        )
        total_g = None
        if g_codes is not None:
            total_g = np.bincount(g_codes, w, minlength=len(g_labels))
            reach_g = np.bincount(g_codes[rows], w[rows], minlength=len(g_labels))
            _check_shares_reachable(shares, g_labels, total_g, reach_g, radius, problem.unit)
        if self.objective == "maxmin":
            raise SpecificationError(
                "objective='maxmin' is available for the uncapacitated MCLP; use min_share "
                "with capacities."
            )
        before = _capacitated_cover(problem, agg, aw, where, rows, problem.existing, self)
        res, x_share, assign, load = _capacitated_model(
            problem, agg, aw, ag, g_labels, total_g, shares, p, self, objective="cover"
        )
        _raise_if_infeasible(res, self, shares)
        chosen = np.flatnonzero(res.x[: len(problem.candidates)] > 0.5)
        covered = np.zeros(problem.n_demand)
        covered[rows] = x_share[where]
        assignment = np.full(problem.n_demand, -1)
        assignment[rows] = assign[where]
        # Units left uncovered are reported against their nearest open site.
        open_ = problem.existing.copy()
        open_[problem.candidates[chosen]] = True
        _, nearest = problem.nearest(open_)
        assignment = np.where(assignment >= 0, assignment, nearest)
        return _Solution(
            problem.candidates[chosen], res.status, res.objective, res.bound, res.gap, "exact",
            res.backend, res.runtime, assignment=assignment, covered=covered, load=load,
            details={"covered_before": before, "assignment": "fractional (system optimal)"},
        )  # fmt: skip


def _certify(problem: LocationProblem, sol: _Solution, radius: float) -> None:
    """Recompute the covered weight from the chosen sites alone (nearest open site within the
    radius, no coverage matrix or aggregation) and refuse a result that disagrees."""
    open_ = problem.existing.copy()
    open_[sol.new] = True
    d, _ = problem.nearest(open_)
    again = float(problem.weights[d <= radius].sum())
    sol.details["objective_recomputed"] = again
    if abs(again - sol.objective) > 1e-9 * max(1.0, abs(again)):
        raise DongneError(
            f"Internal check failed: the solver reports a covered weight of {sol.objective!r} "
            f"but the chosen sites cover {again!r}. Please report this with the input; "
            "Fix: meanwhile use exact_solver='mip' or method='heuristic'."
        )


def _worst_share(agg, aw, ag, total_g, base_g, x) -> float:
    """Lowest covered share over the groups with demand at the sites ``x[:m] > 0.5``."""
    y = (np.asarray(x[: agg.shape[1]]) > 0.5).astype(float)
    covered = np.bincount(ag, aw * ((agg @ y) > 0.5), minlength=len(total_g))
    has = total_g > 0
    return float(np.min((base_g[has] + covered[has]) / total_g[has]))


def _check_shares_reachable(shares, labels, total_g, reach_g, radius, unit) -> None:
    if not shares:
        return
    short = []
    for gi, label in enumerate(labels):
        s = shares.get(label)
        if s is None or total_g[gi] <= 0:
            continue
        best = reach_g[gi] / total_g[gi]
        if best + 1e-12 < s:
            short.append(f"{label} (at most {100 * best:.1f}% < {100 * s:.1f}%)")
    if short:
        raise InfeasibleProblemError(
            f"The minimum group shares cannot be met even with every candidate open within "
            f"{radius:g} {unit}: {', '.join(short)}. Fix: lower min_share for these groups, "
            "raise the radius or add candidate sites there."
        )


def _capacitated_cover(problem, agg, aw, where, rows, open_mask, model) -> np.ndarray:
    """Covered share per demand unit with only ``open_mask`` sites (an LP)."""
    out = np.zeros(problem.n_demand)
    pos = np.flatnonzero(open_mask)
    if not len(pos):
        return out
    sub = sparse.csr_array(agg[:, pos])
    coo = sparse.coo_array(sub)
    k = sub.shape[0]
    b = _Builder()
    x0 = b.add_cols(coo.nnz, aw[coo.row], 0.0, 1.0)
    b.add_rows(coo.row, x0 + np.arange(coo.nnz), 1.0, -_INF, 1.0, k)
    b.add_rows(
        coo.col, x0 + np.arange(coo.nnz), aw[coo.row], -_INF, problem.capacities[pos], len(pos)
    )
    res = b.solve(maximize=True, mip=False, backend=model.backend)
    if res.x is None:
        return out
    share = np.clip(np.bincount(coo.row, res.x, minlength=k), 0, 1)
    out[rows] = share[where]
    return out
