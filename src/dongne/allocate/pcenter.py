"""p-center: p new sites that minimise the largest cost from a demand unit to its site.

Solved as a sequence of set-cover problems (:mod:`dongne.allocate.lscp`) over the sorted
distinct costs. Formulation in the class docstring; notation in :mod:`dongne.allocate._model`.
"""

from __future__ import annotations

import numpy as np

from dongne.allocate import heuristics as heur
from dongne.allocate._model import (
    _capacity_precheck,
    _gap,
    _LocationModel,
    _Solution,
)
from dongne.allocate._solver import OPTIMAL, TIME_LIMIT, SolveResult, backend_name
from dongne.allocate.lscp import _set_cover
from dongne.allocate.problem import LocationProblem
from dongne.errors import (
    InfeasibleProblemError,
    SpecificationError,
    format_rows,
)

__all__ = ["PCenter"]


# =============================================================================== p-center
class PCenter(_LocationModel):
    r"""p-center: place p new sites to minimise the largest distance to the nearest site.

    .. math::

       \min W \quad \text{s.t.} \quad W \ge \sum_j d_{ij} x_{ij}, \; \sum_j x_{ij} = 1,
       \; x_{ij} \le y_j, \; \sum_{j \in C} y_j = p, \; y_j = 1 \; (j \in E).

    Unweighted by convention (every unit with positive weight counts; spopt PR #186). Solved
    exactly by the classic reduction to set covering (Minieka 1970; Daskin 2013, ch. 5): the
    optimum is the smallest distance value :math:`D` for which the sites within :math:`D` of
    every unit can be covered by p new sites (with the existing ones). A binary search over
    the sorted distinct distances solves one covering feasibility MIP per step (with
    capacities: a capacitated covering MIP, demand split between sites).

    Parameters
    ----------
    p : int
        Number of new sites.
    radius : float or str, optional
        Only for reporting coverage.
    time_limit, mip_gap, threads, backend :
        As in :class:`MCLP` (``time_limit`` applies to each covering MIP).

    Attributes
    ----------
    objective_ : float
        The largest distance from a demand unit to its nearest (or assigned) open site.
        ``details_["steps"]``: covering MIPs solved. Other attributes as in :class:`MCLP`.

    References
    ----------
    Hakimi, S. L. (1964). Operations Research 12(3):450–459. Minieka, E. (1970). The m-center
    problem. SIAM Review 12(1):138–139. Daskin, M. S. (2013). Network and Discrete Location,
    2nd ed. Wiley.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[0, 4, 8], [4, 0, 4], [8, 4, 0]])
    >>> m = PCenter(p=1).fit(LocationProblem.from_cost_matrix(cost))
    >>> m.selected_.tolist(), m.objective_
    (['1'], 4.0)
    """

    _name = "p-center"
    _name_ko = "p-센터 입지"

    def __init__(
        self,
        p: int,
        *,
        radius: float | str | None = None,
        method: str = "exact",
        time_limit: float | None = None,
        mip_gap: float = 0.0,
        threads: int | None = None,
        backend: str = "auto",
    ) -> None:
        self.p = p
        self.radius = radius
        self.method = method
        self.time_limit = time_limit
        self.mip_gap = mip_gap
        self.threads = threads
        self.backend = backend

    def _objective_text(self) -> tuple[str, str]:
        u = self.problem_.unit
        return (
            f"worst distance {self.objective_:,.6g} {u}",
            f"최대 거리 {self.objective_:,.6g}{u}",
        )

    def _solve(self, problem: LocationProblem) -> _Solution:
        p = self._check_p(problem)
        if self.method == "heuristic":
            raise SpecificationError(
                "PCenter is solved exactly (binary search over set-covering MIPs); use "
                "method='exact' or 'auto'."
            )
        w = problem.weights
        rows = np.flatnonzero(w > 0)
        d = problem.distances(rows)
        if not np.isfinite(d).any(axis=1).all():
            bad = rows[~np.isfinite(d).any(axis=1)]
            raise InfeasibleProblemError(
                f"p-center: demand units {format_rows(problem.demand_ids[bad])} cannot reach "
                "any site. Fix: give them a finite cost or weight 0."
            )
        if problem.capacities is not None:
            _capacity_precheck(problem, p, self._name)
        cand = problem.candidates
        ex = np.flatnonzero(problem.existing)
        base = d[:, ex].min(axis=1) if len(ex) else np.full(len(rows), np.inf)
        lower = float(d.min(axis=1).max())
        # Upper bound: farthest-first greedy (uncapacitated) or all candidates open.
        cur = base.copy()
        chosen_ub: list[int] = []
        dc = d[:, cand]
        for _ in range(p):
            i = int(np.argmax(cur))
            j = int(np.argmin(np.where(np.isin(np.arange(len(cand)), chosen_ub), np.inf, dc[i])))
            chosen_ub.append(j)
            cur = np.minimum(cur, dc[:, j])
        values = np.unique(d[np.isfinite(d)])
        values = values[values >= lower - 1e-12]
        sub = problem.restrict(w > 0) if len(rows) < problem.n_demand else problem
        steps = 0
        status = OPTIMAL
        solve_time = 0.0
        if problem.capacities is None and np.isfinite(cur.max()):
            # The greedy solution is feasible at its own worst distance, a value of d.
            values = values[values <= float(cur.max()) + 1e-12]
            best = _Solution(
                cand[np.asarray(chosen_ub, dtype=np.int64)], OPTIMAL, 0, 0, 0, "", "", 0
            )
        else:
            # Capacities, or a greedy that left a unit at infinite cost (it is no upper
            # bound then): is the largest finite cost feasible at all?
            steps += 1
            best = _set_cover(sub, float(values[-1]), self, p=p)
            if not isinstance(best, _Solution):
                why = (
                    "the capacities cannot serve all demand"
                    if problem.capacities is not None
                    else "no set of new sites gives every demand unit a finite cost"
                )
                if isinstance(best, SolveResult):
                    why = "no feasible set of sites was found within the time limit"
                raise InfeasibleProblemError(
                    f"p-center: {why} with p={p} new sites. Fix: raise p, "
                    + ("the capacities" if problem.capacities is not None else "give the units "
                       "finite costs to more sites") + " or time_limit."
                )  # fmt: skip
            solve_time += best.solve_time
        # Invariant: values[hi] is feasible (best), every value below values[lo] is not or is
        # unknown (a step stopped by its time limit); every value below values[proven] is
        # proven infeasible, so values[proven] is a valid lower bound.
        lo, hi, proven = 0, len(values) - 1, 0
        while lo < hi:
            mid = (lo + hi) // 2
            steps += 1
            res = _set_cover(sub, float(values[mid]), self, p=p)
            if isinstance(res, _Solution):
                solve_time += res.solve_time
                best, hi = res, mid
            else:
                if isinstance(res, SolveResult):
                    status = TIME_LIMIT  # unknown: treated as infeasible, the gap says so
                else:
                    proven = max(proven, mid + 1)
                lo = mid + 1
        new = np.asarray(best.new, dtype=np.int64)
        if len(new) < p:
            # Spare sites cannot raise the worst distance: add them where they cut the total.
            free = np.setdiff1d(cand, new)
            open_ = problem.existing.copy()
            open_[new] = True
            base_now, _ = problem.nearest(open_)
            extra = heur.median_greedy(
                problem.distances(rows, free), w[rows], p - len(new), base_now[rows]
            )
            new = np.sort(np.concatenate([new, free[extra]]))
        open_ = problem.existing.copy()
        open_[new] = True
        assignment = None
        if problem.capacities is None:
            dist, _ = problem.nearest(open_)
            obj = float(dist[rows].max())
        else:
            obj = float(values[hi])
            assignment = np.full(problem.n_demand, -1)
            assignment[rows] = best.assignment
            _, nearest = problem.nearest(open_)
            assignment = np.where(assignment >= 0, assignment, nearest)
        bound = obj if status == OPTIMAL else min(float(values[proven]), obj)
        return _Solution(
            new, status, obj, bound, _gap(obj, bound), "exact",
            backend_name(self.backend) + " (binary search over set covering)", solve_time,
            assignment=assignment, load=None if problem.capacities is None else best.load,
            details={"steps": steps},
        )  # fmt: skip
