"""Location set covering (LSCP): the fewest new sites that cover every demand unit.

The set-cover solve here is shared with :class:`~dongne.allocate.PCenter`, which bisects on
the radius. Formulation in the class docstring; notation in :mod:`dongne.allocate._model`.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse

from dongne.allocate import benders
from dongne.allocate import heuristics as heur
from dongne.allocate._model import (
    _INF,
    _aggregate,
    _Builder,
    _capacitated_model,
    _capacity_precheck,
    _gap,
    _LocationModel,
    _raise_if_infeasible,
    _Solution,
    _uncoverable_error,
)
from dongne.allocate._solver import OPTIMAL, SolveResult
from dongne.allocate.problem import LocationProblem
from dongne.allocate.setcover import lagrangian_cover
from dongne.errors import (
    DongneError,
    InfeasibleProblemError,
    SpecificationError,
)

__all__ = ["LSCP"]


# =============================================================================== LSCP
class LSCP(_LocationModel):
    r"""Location set covering problem (LSCP): the fewest new sites that cover all demand.

    Toregas, Swain, ReVelle & Bergman (1971), with existing sites fixed open:

    .. math::

       \min \sum_{j \in C} y_j \quad \text{s.t.} \quad \sum_{j \in N_i} y_j \ge 1 \;\;
       \forall i : a_i > 0, \qquad y_j = 1 \; (j \in E), \; y_j \in \{0, 1\}.

    Units already covered by an existing site and duplicate coverage sets are removed first.
    Units with weight 0 need no coverage. With capacities, the capacitated LSCP (CLSCP-SO,
    Current & Storbeck 1988) assigns demand fractionally:
    :math:`\sum_{j \in N_i} x_{ij} = 1`, :math:`\sum_i a_i x_{ij} \le c_j y_j`,
    :math:`x_{ij} \le y_j`.

    Partial set covering (PSCLP), ``coverage < 1``: the fewest new sites such that at least the
    share ``coverage`` of the total demand weight lies within the radius of an open site,

    .. math::

       \min \sum_{j \in C} y_j \quad \text{s.t.} \quad \sum_i a_i z_i \ge s \sum_i a_i, \;\;
       z_i \le \sum_{j \in N_i} y_j, \; z_i \in [0, 1],

    solved exactly with Benders decomposition (:mod:`dongne.allocate.benders`, Cordeau,
    Furini & Ljubić 2019): a greedy cover shrunk by 1-swaps is the first incumbent, the root
    cut loop of the partial-covering master gives the lower bound, and an own branch and
    bound over that master (cuts at every node, reduced-cost fixing, LP rounding) closes the
    gap; past 32 nodes the proof goes on by descent (can one site fewer than the incumbent
    reach the share? HiGHS's tree on a maximal covering master with a cutoff). Units no site
    can reach are left uncovered.

    Parameters
    ----------
    radius : float or str
        Service radius (``"500m"``, ``"10min"``).
    coverage : float
        Share of the total demand weight to cover, in (0, 1]; 1 (default) is the LSCP.
    method : {"auto", "exact", "heuristic"}
        ``heuristic``: Lagrangian set-cover heuristic (subgradient bound, Lagrangian-cost
        greedy, redundancy removal and drop-and-repair local search;
        :func:`~dongne.allocate.setcover.lagrangian_cover`) with the LP bound; for
        ``coverage < 1`` greedy partial cover with the LP bound of the Benders master
        (uncapacitated).
    time_limit, mip_gap, threads, backend :
        As in :class:`MCLP`.

    Attributes
    ----------
    selected_, objective_ (number of new sites), bound_, gap_, status_, ... :
        As in :class:`MCLP`.

    Raises
    ------
    InfeasibleProblemError
        Demand units with no site within the radius (named, with the distance to their
        nearest site), or total capacity below total demand (with the shortfall).

    References
    ----------
    Toregas, C., Swain, R., ReVelle, C. & Bergman, L. (1971). The location of emergency
    service facilities. Operations Research 19(6):1363–1373. Current, J. R. & Storbeck, J. E.
    (1988). Capacitated covering models. Environment and Planning B 15:153–163.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[1, 5, 9], [4, 1, 9], [9, 9, 1], [9, 2, 9]])
    >>> LSCP(radius=2).fit(LocationProblem.from_cost_matrix(cost)).selected_.tolist()
    ['0', '1', '2']
    """

    _name = "Set covering (LSCP)"
    _name_ko = "집합 커버링 입지(LSCP)"

    def __init__(
        self,
        radius: float | str,
        *,
        coverage: float = 1.0,
        method: str = "auto",
        time_limit: float | None = None,
        mip_gap: float = 0.0,
        threads: int | None = None,
        backend: str = "auto",
    ) -> None:
        self.radius = radius
        self.coverage = coverage
        self.method = method
        self.time_limit = time_limit
        self.mip_gap = mip_gap
        self.threads = threads
        self.backend = backend

    def _objective_text(self) -> tuple[str, str]:
        return (
            f"{self.objective_:,.0f} new site(s) needed",
            f"필요한 신규 시설 {self.objective_:,.0f}곳",
        )

    def _solve(self, problem: LocationProblem) -> _Solution:
        if self.radius is None:
            raise SpecificationError("LSCP needs a radius, e.g. radius='500m'.")
        radius = self._radius(problem)
        c = self.coverage
        if not (isinstance(c, (int, float)) and not isinstance(c, bool) and 0 < c <= 1):
            raise SpecificationError(
                f"The 'coverage' parameter must be a share in (0, 1]. Got {c!r} instead."
            )
        if c < 1:
            if problem.capacities is not None:
                raise SpecificationError(
                    "Partial covering (coverage < 1) is uncapacitated. Fix: pass coverage=1 "
                    "for the capacitated LSCP, or drop the capacities."
                )
            return _partial_cover(problem, radius, self)
        return _set_cover(problem, radius, self, p=None)


def _set_cover(problem: LocationProblem, radius: float, model: _LocationModel, p: int | None):
    """Minimum cover (p None) or feasibility with at most p new sites (p-center step)."""
    cover = problem.covering(radius)
    w = problem.weights
    need = w > 0
    reachable = np.diff(cover.indptr) > 0
    bad = np.flatnonzero(need & ~reachable)
    if len(bad):
        if p is not None:
            return None
        raise _uncoverable_error(problem, bad, radius, model._name)
    cand = problem.candidates
    if problem.capacities is not None:
        if p is None:
            _capacity_precheck(problem, None, model._name)
        rows = np.flatnonzero(need)
        agg, aw, _, where = _aggregate(cover[rows], w[rows], None)
        res, _share, assign, load = _capacitated_model(
            problem, agg, aw, None, None, None, {}, p or 0, model,
            objective="count" if p is None else "feasible",
        )  # fmt: skip
        if res.x is None:
            if p is not None:
                return None if res.status == "infeasible" else res
            raise InfeasibleProblemError(
                f"{model._name}: the capacities within {radius:g} {problem.unit} cannot serve "
                "all demand even with every candidate open (some demand has too little "
                "capacity nearby). Fix: raise capacities, the radius, or add candidates."
            )
        chosen = np.flatnonzero(res.x[: len(cand)] > 0.5)
        assignment = np.full(problem.n_demand, -1)
        assignment[rows] = assign[where]
        open_ = problem.existing.copy()
        open_[cand[chosen]] = True
        _, nearest = problem.nearest(open_)
        assignment = np.where(assignment >= 0, assignment, nearest)
        bound = _count_bound(res)
        return _Solution(
            cand[chosen], res.status, float(len(chosen)), bound, _gap(len(chosen), bound),
            "exact", res.backend, res.runtime, assignment=assignment,
            covered=np.where(need, 1.0, 0.0), load=load,
        )  # fmt: skip
    by_existing = (
        np.asarray(cover[:, np.flatnonzero(problem.existing)].sum(axis=1)).ravel() > 0
        if problem.existing.any()
        else np.zeros(problem.n_demand, dtype=bool)
    )
    rows = np.flatnonzero(need & ~by_existing)
    c_sub = sparse.csr_array(cover[:, cand])
    if not len(rows):
        res_status = OPTIMAL
        return _Solution(
            np.zeros(0, dtype=np.int64), res_status, 0.0, 0.0, 0.0, "exact", "none", 0.0
        )
    agg, _aw, _, _ = _aggregate(c_sub[rows], np.ones(len(rows)), None)
    mc = agg.shape[1]
    if p is not None and p == 0:
        return None
    method = model.method
    if method == "heuristic" and p is None:
        chosen, lag = lagrangian_cover(agg, time_limit=model.time_limit)
        lp = _cover_builder(agg, None).solve(maximize=False, mip=False, backend=model.backend)
        bound = float(np.ceil(max(lp.objective, lag) - 1e-6))
        return _Solution(
            cand[chosen], OPTIMAL if len(chosen) <= bound else "heuristic", float(len(chosen)),
            bound, _gap(len(chosen), bound), "heuristic", lp.backend + " (LP bound)", lp.runtime,
        )  # fmt: skip
    builder = _cover_builder(agg, p)
    res = builder.solve(maximize=False, **model._solver_options())
    if res.x is None:
        if p is not None:
            return None if res.status == "infeasible" else res
        _raise_if_infeasible(res, model, {})
    chosen = np.flatnonzero(res.x[:mc] > 0.5)
    if p is not None:
        return _Solution(cand[chosen], res.status, 0.0, 0.0, 0.0, "exact", res.backend, res.runtime)
    bound = _count_bound(res)
    return _Solution(
        cand[chosen], res.status, float(len(chosen)), bound, _gap(len(chosen), bound), "exact",
        res.backend, res.runtime,
    )  # fmt: skip


def _partial_cover(problem: LocationProblem, radius: float, model: LSCP) -> _Solution:
    """PSCLP: fewest new sites covering the share ``model.coverage`` of the demand weight."""
    t_start = time.perf_counter()
    cover = problem.covering(radius)
    w = problem.weights
    ex = problem.existing
    by_existing = (
        np.asarray(cover[:, np.flatnonzero(ex)].sum(axis=1)).ravel() > 0
        if ex.any()
        else np.zeros(problem.n_demand, dtype=bool)
    )
    cand = problem.candidates
    c_sub = sparse.csr_array(cover[:, cand])
    rows = np.flatnonzero(~by_existing & (w > 0) & (np.diff(c_sub.indptr) > 0))
    total, base = float(w.sum()), float(w[by_existing].sum())
    need = model.coverage * total - base
    reach = base + float(w[rows].sum())
    if model.coverage * total > reach * (1 + 1e-12):
        # the command line names its flag (``--coverage 0.9``), Python the parameter
        flag = getattr(model, "coverage_name", "coverage")
        sep = " " if flag.startswith("--") else "="
        raise InfeasibleProblemError(
            f"{model._name}: even with every candidate open only {100 * reach / total:.2f}% "
            f"of the demand weight is within {radius:g} {problem.unit}, less than "
            f"{flag}{sep}{model.coverage:g}. Fix: lower {flag} to at most "
            f"{reach / total:.4f}, raise the radius or add candidates."
        )
    details = {"coverage_target": model.coverage, "covered_by_existing": base}
    if need <= 1e-12 * max(1.0, total):
        return _Solution(np.zeros(0, dtype=np.int64), OPTIMAL, 0.0, 0.0, 0.0, "exact", "none",
                         0.0, details=details)  # fmt: skip
    agg, aw, _, where = _aggregate(c_sub[rows], w[rows], None)
    groups = None
    if problem.demand_xy is not None:
        first = np.zeros(agg.shape[0], dtype=np.int64)
        first[where[::-1]] = rows[::-1]
        groups = benders.spatial_groups(problem.demand_xy[first], 256)
    start = _shrink(agg, aw, need, _greedy_partial(agg, aw, need))
    left = None
    if model.time_limit is not None:  # time_limit counts from the start of the fit
        left = max(model.time_limit - (time.perf_counter() - t_start), 1e-3)
    res = benders.partial_cover(
        agg, aw, need, starts=[start], time_limit=left, threads=model.threads,
        groups=groups, root_only=model.method == "heuristic", branching="own",
    )  # fmt: skip
    details.update(
        root_bound=res.root_bound, benders_cuts=res.cuts, benders_nodes=res.nodes,
        benders_descents=res.descents,
    )
    chosen, bound, seconds = res.chosen, res.bound, res.runtime
    details["covered_weight"] = base + benders.covered_weight(agg, aw, chosen)
    _certify_partial(problem, cand[chosen], radius, model.coverage * total, details)
    n = float(len(chosen))
    status = OPTIMAL if n <= bound else ("time_limit" if model.method != "heuristic" else
                                         "heuristic")  # fmt: skip
    return _Solution(
        cand[chosen], status, n, bound, _gap(n, bound),
        "exact" if status != "heuristic" else "heuristic", res.backend, seconds, details=details,
    )  # fmt: skip


def _drop_weakest(agg, aw, chosen: np.ndarray) -> np.ndarray:
    """``chosen`` without the site whose removal loses the least covered weight."""
    a = sparse.csr_array(agg[:, chosen], dtype=float)
    count = a @ np.ones(len(chosen))
    alone = a.T @ np.where(count == 1, aw, 0.0)
    return np.delete(chosen, int(np.argmin(alone)))


def _shrink(agg, aw, need: float, chosen: np.ndarray) -> np.ndarray:
    """Drop the weakest site and repair by 1-swaps while the cover still reaches ``need``."""
    while len(chosen) > 1:
        trial = np.sort(heur.coverage_swap(agg, aw, _drop_weakest(agg, aw, chosen)))
        if benders.covered_weight(agg, aw, trial) < need * (1 - 1e-12):
            break
        chosen = trial
    return chosen


def _greedy_partial(agg: sparse.csr_array, aw: np.ndarray, need: float) -> np.ndarray:
    """Sites by most uncovered weight until ``need`` is covered, then redundant ones dropped."""
    at = sparse.csr_array(sparse.csr_array(agg, dtype=float).T)
    chosen, _ = benders._greedy_partial(at, aw, need * (1 - 1e-12))
    return np.sort(np.asarray(chosen, dtype=np.int64))


def _certify_partial(problem, new, radius, target, details) -> None:
    """Recompute the covered weight from the chosen sites alone; refuse a shortfall."""
    open_ = problem.existing.copy()
    open_[new] = True
    d, _ = problem.nearest(open_)
    again = float(problem.weights[d <= radius].sum())
    details["covered_recomputed"] = again
    if again < target * (1 - 1e-9):
        raise DongneError(
            f"Internal check failed: the chosen sites cover {again!r}, below the target "
            f"{target!r}. Please report this with the input; Fix: meanwhile use "
            "method='heuristic'."
        )


def _count_bound(res: SolveResult) -> float:
    return float(np.ceil(res.bound - 1e-6)) if np.isfinite(res.bound) else res.bound


def _cover_builder(agg: sparse.csr_array, p: int | None) -> _Builder:
    k, mc = agg.shape
    b = _Builder()
    y0 = b.add_cols(mc, 1.0 if p is None else 0.0, 0.0, 1.0, integer=True)
    coo = sparse.coo_array(agg)
    b.add_rows(coo.row, y0 + coo.col, 1.0, 1.0, _INF, k)
    if p is not None:
        b.add_rows(np.zeros(mc), y0 + np.arange(mc), 1.0, -_INF, p, 1)
    return b
