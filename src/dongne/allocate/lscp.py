"""Location set covering (LSCP): the fewest new sites that cover every demand unit.

The set-cover solve here is shared with :class:`~dongne.allocate.PCenter`, which bisects on
the radius. Formulation in the class docstring; notation in :mod:`dongne.allocate._model`.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

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
from dongne.errors import (
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

    Parameters
    ----------
    radius : float or str
        Service radius (``"500m"``, ``"10min"``).
    method : {"auto", "exact", "heuristic"}
        ``heuristic``: greedy set cover with redundant sites dropped, LP bound (uncapacitated).
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
        method: str = "auto",
        time_limit: float | None = None,
        mip_gap: float = 0.0,
        threads: int | None = None,
        backend: str = "auto",
    ) -> None:
        self.radius = radius
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
        chosen = _greedy_set_cover(agg)
        lp = _cover_builder(agg, None).solve(maximize=False, mip=False, backend=model.backend)
        bound = float(np.ceil(lp.objective - 1e-9))
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


def _greedy_set_cover(agg: sparse.csr_array) -> np.ndarray:
    """Greedy set cover (most uncovered rows first), then drop redundant sites."""
    agg = sparse.csr_array(agg, dtype=float)
    at = sparse.csc_array(agg)
    uncovered = np.ones(agg.shape[0], dtype=bool)
    gains = np.asarray(agg.sum(axis=0)).ravel()
    chosen: list[int] = []
    while uncovered.any():
        j = int(np.argmax(gains))
        if gains[j] <= 0:
            break
        chosen.append(j)
        rows = at.indices[at.indptr[j] : at.indptr[j + 1]]
        rows = rows[uncovered[rows]]
        uncovered[rows] = False
        gains = gains - agg[rows].T @ np.ones(len(rows))
    chosen_arr = np.asarray(chosen, dtype=np.int64)
    # Drop sites whose rows are all covered by others (last added first).
    for j in chosen[::-1]:
        y = np.zeros(agg.shape[1])
        y[chosen_arr] = 1.0
        y[j] = 0.0
        if (agg @ y >= 1).all():
            chosen_arr = chosen_arr[chosen_arr != j]
    return np.sort(chosen_arr)
