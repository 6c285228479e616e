r"""Benders decomposition for maximal covering and partial set covering (Cordeau et al. 2019).

Both problems are stated over aggregated demand rows :math:`k` (demand units with the same
coverage set merged, weight :math:`a_k`) and candidate columns :math:`j`. The master keeps only
the site variables :math:`y` and one variable :math:`\theta` for the covered weight:

.. math::

   \theta \le \sum_k a_k \min\Bigl(1, \sum_{j \in N_k} y_j\Bigr).

The right-hand side is concave, so it is the minimum of the linear cuts obtained at any point
:math:`\bar y`: with :math:`U(\bar y) = \{k : \sum_{j \in N_k} \bar y_j < 1\}`,

.. math::

   \theta \le \sum_{k \notin U(\bar y)} a_k + \sum_j \Bigl(\sum_{k \in U(\bar y),\, j \in N_k}
   a_k\Bigr) y_j ,

the closed-form Benders optimality cut of Cordeau, Furini & Ljubić (their Proposition 1):
separating it is one sparse matrix–vector product. The MCLP master maximises
:math:`\theta` with :math:`\sum_j y_j = p`; the partial set covering master (PSCLP) minimises
:math:`\sum_j y_j` with :math:`\theta \ge D`.

Solution steps (:func:`max_cover`, :func:`partial_cover`):

1. **Root cut loop** on the LP master with in-out stabilisation (Ben-Ameur & Neto 2007):
   cuts are separated at a point between the LP optimum and a core point, which converges in
   far fewer rounds than Kelley's cutting planes. The LP value is a proven bound throughout.
2. **Reduced-cost fixing**: with the LP bound :math:`z`, the incumbent value :math:`L` and the
   reduced cost :math:`d_j` of a site at 0, :math:`z + d_j < L` proves the site closed in every
   better solution (and symmetrically open for sites at 1).
3. **Branch and bound on the master**, two ways (``branching``):

   * ``"highs"``: HiGHS's own tree. HiGHS (highspy 1.16) offers no lazy-constraint callback,
     so the master is solved with its current cuts while a solution callback checks every
     integer solution HiGHS finds against the true coverage; one that over-states it yields
     a new cut and interrupts the solve, which restarts with the cut. A run that ends without
     such a solution is optimal for the true problem. The incumbent enters as a cutoff row,
     so only better solutions are searched.
   * ``"own"``: a depth-first branch and bound in Python over the LP master (Cordeau et al.'s
     branch-and-cut without a MIP solver): every node solves the LP master with the whole
     cut pool under its site bounds and separates cuts at the LP point, fractional or
     integer (the cut at a point is tight there, so separation is exact), fixes sites by
     reduced costs for its subtree, rounds its LP point into an incumbent and branches on the
     most fractional site, open first. Slack cuts are deleted when the master holds more
     than ``PURGE_AT`` per group; a deleted cut comes back when violated.

4. **Descent** (partial cover, ``"own"``, when ``DESCENT_AFTER`` nodes did not close the
   gap): with an incumbent of :math:`c` sites, a maximal covering master with
   :math:`p = c - 1` whose cutoff row asks for :math:`\theta \ge D` is searched by HiGHS's
   tree (as in ``"highs"``) to its first solution reaching :math:`D` — the new incumbent,
   and the step repeats with one site fewer — or to the end, which proves that no
   :math:`c - 1` sites (so no fewer) reach :math:`D`. Both trees prune on the same LP, but
   HiGHS's branching needs far fewer nodes to prove that a count cannot reach the target
   (docs/allocate.md).

**Floors** (``max_cover(..., floors=...)``, the MCLP's ``min_share``): the cut groups are
split to lie each in one floor group :math:`f`, whose floor is then the master row
:math:`\sum_{c \subseteq f} \theta_c \ge d_f - \max(\tau_f, 10^{-5})` (:math:`\tau_f`:
1e-9 of the floor group's weight, within which a floor counts as met; in the scaled
weights). The master stays a relaxation of what is accepted; an integer point is accepted
only when its recomputed coverage meets every floor, one whose :math:`\theta` over-states a
group gets the group's cut, and one that misses a floor (or over-states its coverage by
more than half the cutoff step) with no cut left to add is cut off alone by a no-good row.
HiGHS runs without presolve on such a master with rows lighter than ``PRESOLVE_FROM``.
Sites that cover a row heavier than the root bound are closed (no solution meeting the
floors opens them) and the problem is solved again without them. Without a start, the tree
stops at HiGHS's first accepted solution, which floor-keeping 1-swaps improve into the
incumbent of reduced-cost fixing; the tree then runs to the end.

Every result is certified: the objective is recomputed from the chosen sites, the bound is
the master's (a relaxation of the original problem), and ``"optimal"`` is reported only when
they meet within ``1e-9`` relative; a time limit returns the incumbent and its proven gap.
A max cover whose search ended without the clock but with a proof short of ``1e-9`` (the
master's tolerances are absolute in the scaled weights, and floors can hold the optimum far
below the total) is ``"gap_limit"`` with that gap.

References
----------
Cordeau, J.-F., Furini, F. & Ljubić, I. (2019). Benders decomposition for very large scale
partial set covering and maximal covering location problems. *European Journal of
Operational Research* 275(3):882–896. https://doi.org/10.1016/j.ejor.2018.12.021
Ben-Ameur, W. & Neto, J. (2007). Acceleration of cutting-plane and column generation
algorithms: applications to network design. *Networks* 49(1):3–17.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from importlib.metadata import version

import numpy as np
from scipy import sparse

from dongne._optional import import_optional
from dongne.allocate._solver import (
    ERROR,
    GAP_LIMIT,
    INFEASIBLE,
    OPTIMAL,
    TIME_LIMIT,
    _pow2,
    run_highs,
)
from dongne.errors import SpecificationError

__all__ = ["CoverResult", "max_cover", "partial_cover", "spatial_groups"]

#: HiGHS's default ``simplex_iteration_limit`` (no limit).
_NO_LIMIT = 2**31 - 1

#: A warm solve of the master that needs more than this many simplex iterations per row and
#: column has stalled: the master is reloaded and solved again from the basis reached.
STALL_AT = 1.0

#: Relative tolerance of "optimal": bound and objective meet within it.
REL_TOL = 1e-9

#: Inside the master the weights are multiplied by a power of two (exact) that brings their
#: total into [SCALE_TO, 2 SCALE_TO). Below, HiGHS accepts rows violated by up to its absolute
#: feasibility tolerance (1e-6), which must stay far below the cuts' relative tolerance
#: ``REL_TOL`` of the total weight (below a total of 1,000, HiGHS offered the same
#: over-stated point again and again). Above, the duals of the cut rows (about one over a
#: site's covered weight) sink towards HiGHS's dual tolerance (1e-7): with a total of 1e14
#: the LP master reported 2 sites where 2.3e-5 sufficed (a wrong "optimal"), and with 5e7
#: (city 10⁶) a node LP cost ~25 s instead of ~4 s.
SCALE_TO = 1e6

#: The floor rows of the master ask for this much less than the floor (at least; in the
#: scaled weights, total in [1e6, 2e6)): ten times HiGHS's feasibility tolerance, so that a
#: floor met exactly stays feasible in HiGHS's tree.
FLOOR_SLACK = 1e-5

#: With floors, HiGHS runs without presolve on a master with a row lighter than this (in
#: the scaled weights; HiGHS's feasibility tolerance).
PRESOLVE_FROM = 1e-6

#: With floors: rounds of (HiGHS's next better solution, 1-swaps, reduced-cost fixing)
#: before the tree runs to the end.
CYCLES = 2

#: The own branch and bound deletes slack cuts when the master has more than this many cuts
#: per group.
PURGE_AT = 8

#: Nodes of the own tree of a partial cover; past them the proof goes on by descent
#: (:func:`_descend`: can one site fewer than the incumbent reach the target?).
DESCENT_AFTER = 32


@dataclass(frozen=True)
class CoverResult:
    """Outcome of a Benders solve.

    Attributes
    ----------
    chosen : ndarray of int
        Columns (sites) of the solution, sorted.
    objective : float
        Covered weight (:func:`max_cover`) or number of sites (:func:`partial_cover`),
        recomputed from ``chosen``.
    covered : float
        Covered weight of ``chosen`` (recomputed from the coverage matrix).
    bound : float
        Proven upper (max cover) or lower (partial cover) bound on the optimum.
    gap : float
        ``|objective - bound| / max(|objective|, 1e-9)``.
    status : str
        ``"optimal"`` (gap at most 1e-9 relative), ``"time_limit"``, ``"infeasible"``
        (floors that no ``p`` sites meet), ``"gap_limit"`` (max cover: the search ended
        without hitting the time limit, its proven gap above 1e-9) or ``"error"`` (max
        cover: no solution and no proof of infeasibility without hitting the time limit).
    root_bound : float
        Bound of the LP master after the root cut loop.
    cuts, restarts, fixed, nodes : int
        Benders cuts added, interrupted HiGHS runs, sites fixed by reduced costs at the root,
        nodes of the own branch and bound (``branching="own"``).
    descents : int
        Site counts the descent of a partial cover searched (:func:`partial_cover`).
    runtime : float
        Seconds.
    backend : str
        Solver name and version.
    """

    chosen: np.ndarray
    objective: float
    covered: float
    bound: float
    gap: float
    status: str
    root_bound: float
    cuts: int
    restarts: int
    fixed: int
    nodes: int
    runtime: float
    backend: str
    descents: int = 0


def covered_weight(agg: sparse.csr_array, aw: np.ndarray, chosen: np.ndarray) -> float:
    """Weight of the rows of ``agg`` that some column in ``chosen`` covers."""
    y = np.zeros(agg.shape[1])
    y[np.asarray(chosen, dtype=np.int64)] = 1.0
    return float(aw @ np.minimum(agg @ y, 1.0))


def _gap(objective: float, bound: float) -> float:
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return float("inf")
    return abs(objective - bound) / max(abs(objective), 1e-9)


class _Master:
    """The Benders master in a highspy model: columns ``y`` (m sites), then one ``theta`` per
    group of demand rows (the covered weight of the group)."""

    def __init__(
        self, agg, aw, groups, *, mode, p=None, target=None, threads=None, floors=None,
        perturb=True,
    ) -> None:
        hs = import_optional("highspy", None, "the Benders method (method='exact')")
        self.hs = hs
        self.agg = sparse.csr_array(agg, dtype=float)
        self.at = sparse.csr_array(self.agg.T)
        self.aw = np.asarray(aw, dtype=float)
        self.mode = mode
        self.p = p
        k, m = self.agg.shape
        self.m = m
        self.n_groups = g = int(groups.max()) + 1 if k else 1
        self.row_group = np.asarray(groups, dtype=np.int64)
        self.gk = sparse.csr_array((np.ones(k), (groups, np.arange(k))), shape=(g, k))
        self.group_total = self.gk @ self.aw
        self.total = float(self.aw.sum())
        self.tol = 1e-9 * max(1.0, self.total)
        core = getattr(hs, "_core", None)
        h = core._Highs() if core is not None and hasattr(core, "_Highs") else hs.Highs()
        h.setOptionValue("output_flag", False)
        if not perturb:
            # The own tree re-solves the master warm hundreds of times after added cuts or
            # changed bounds. With HiGHS's dual cost perturbation such re-solves of this
            # dual-degenerate LP (the thetas cost nothing) took up to 35,000 iterations
            # without moving the objective (docs/allocate.md). Not for HiGHS's tree: with it
            # off in the root loop, that tree restarted endlessly on a small MCLP.
            h.setOptionValue("dual_simplex_cost_perturbation_multiplier", 0.0)
        if threads is not None:
            h.setOptionValue("threads", int(threads))
        self.inf = hs.kHighsInf
        lower = np.zeros(m + g)
        upper = np.concatenate([np.ones(m), self.group_total])
        cost = np.concatenate([np.zeros(m), np.ones(g)])
        if mode == "max":
            h.changeObjectiveSense(hs.ObjSense.kMaximize)
        else:
            cost = 1.0 - cost
        h.addVars(m + g, lower, upper)
        h.changeColsCost(m + g, np.arange(m + g, dtype=np.int32), cost)
        if mode == "max":
            h.addRow(float(p), float(p), m, np.arange(m, dtype=np.int32), np.ones(m))
        else:
            thetas = np.arange(m, m + g, dtype=np.int32)
            h.addRow(min(float(target), self.total), self.inf, g, thetas, np.ones(g))
        self.floor_of = self.need = None
        self.presolve = "choose"
        if floors is not None:
            self._add_floors(h, *floors)
            positive = self.aw[self.aw > 0]
            if len(positive) and positive.min() < PRESOLVE_FROM:
                # HiGHS 1.16's presolve called feasible floor masters infeasible (LP: p = 1
                # and every floor met by the one site) and ended their trees "optimal" at
                # node 0 up to 97 % below the optimum (fuzz check, weights 1e-8 to 1e13: 5
                # of 6,000 runs); without presolve both were right. Not for ordinary
                # weights: without presolve the demo's ε = 55.4 % point took 25.9 CPU s
                # instead of 6.1.
                self.presolve = "off"
                h.setOptionValue("presolve", "off")
        self.h = h
        self.first_cut = h.getNumRow()
        self.n_cuts = 0
        self.n_nogoods = 0  # floor-missing points cut off alone (:func:`_mip_loop`)
        self.fixed = np.zeros(m, dtype=bool)
        self.cutoff_row: int | None = None
        self.reloads = 0  # stalled or undecided warm solves reloaded (:meth:`run_lp`)
        self.ipm_runs = 0  # LPs then solved by the interior point method (:meth:`run_lp`)
        self.tree_status = None  # HiGHS's model status after the last tree (:func:`_mip_loop`)

    def _add_floors(
        self, h, row_floor: np.ndarray, need: np.ndarray, floor_total: np.ndarray | None = None
    ) -> None:
        """Rows sum of theta over the groups of floor group f >= ``need[f]``.

        ``row_floor`` is the floor group of every demand row; the cut groups must nest in
        them (every cut group's rows in one floor group), so theta of a cut group counts
        towards one floor only. ``floor_total``: each floor group's weight for the floor
        tolerance (default: of the rows here; :func:`_solve` passes it with the rows that
        no site covers, which it drops).
        """
        row_floor = np.asarray(row_floor, dtype=np.int64)
        need = np.asarray(need, dtype=float)
        g = self.n_groups
        floor_of = np.full(g, -1, dtype=np.int64)
        floor_of[self.row_group] = row_floor
        if np.any(floor_of[self.row_group] != row_floor):
            raise ValueError("the Benders cut groups must nest in the floor groups")
        self.floor_of, self.need = floor_of, need
        fk = sparse.csr_array(
            (np.ones(len(row_floor)), (row_floor, np.arange(len(row_floor)))),
            shape=(len(need), len(row_floor)),
        )
        self.floor_total = fk @ self.aw if floor_total is None else np.asarray(floor_total)
        # Floors met within 1e-9 of the floor group's demand count as met. The rows ask for
        # less (need - max(tolerance, FLOOR_SLACK)): the master must be a relaxation of what
        # :meth:`meets_floors` accepts, also under HiGHS's tolerances. With the full need, a
        # 2-site solution that met a floor within 3e-12 of its group's weight was cut off
        # ("optimal" 1.4e-4 below the optimum), and a floor met exactly by the optimum was
        # called infeasible at node 0 of HiGHS's tree, also without presolve (fuzz check).
        # A point the relaxed rows let through is rejected by :meth:`meets_floors` and cut
        # off (:func:`_mip_loop`) or branched on (the own tree). The tolerance is relative
        # to the group alone: with a floor of 1 scaled unit at least (as before), floor groups
        # lighter than that accepted any coverage (review: a floor of 1.3e-7 in a total of
        # 4.5e12 left at 1.9e-8, "optimal").
        self.floor_tol = 1e-9 * self.floor_total
        for f in np.flatnonzero(need > self.floor_tol):
            thetas = (self.m + np.flatnonzero(floor_of == f)).astype(np.int32)
            lower = float(need[f] - max(self.floor_tol[f], FLOOR_SLACK))
            h.addRow(lower, self.inf, len(thetas), thetas, np.ones(len(thetas)))

    def meets_floors(self, y: np.ndarray) -> bool:
        """Whether the true coverage at the 0/1 sites ``y`` meets every floor."""
        if self.need is None:
            return True
        covered = self.aw * (self.agg @ y > 0.5)
        per_floor = np.bincount(self.floor_of, self.gk @ covered, minlength=len(self.need))
        return bool(np.all(per_floor >= self.need - self.floor_tol))

    # ------------------------------------------------------------------ cuts
    def cuts_at(self, y: np.ndarray) -> tuple[sparse.csr_array, np.ndarray]:
        """Coefficients (groups × sites) and constants of the cuts separated at ``y``."""
        under = (self.agg @ y) < 1.0 - 1e-9
        wu = np.where(under, self.aw, 0.0)
        coef = sparse.csr_array(self.gk @ sparse.csr_array(self.agg.multiply(wu[:, None])))
        return coef, self.group_total - self.gk @ wu

    def violated(self, x: np.ndarray, coef, const) -> np.ndarray:
        """Groups whose theta in ``x`` exceeds the cut (coef, const) at ``x``'s sites."""
        theta = x[self.m : self.m + self.n_groups]
        return np.flatnonzero(theta > const + coef @ x[: self.m] + self.tol)

    def add_cuts(self, coef: sparse.csr_array, const: np.ndarray, which: np.ndarray) -> None:
        """theta_g - coef_g·y <= const_g for the groups ``which``."""
        if not len(which):
            return
        sub = sparse.csr_array(coef[which])
        sub.sort_indices()
        counts = np.diff(sub.indptr) + 1
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        idx = np.empty(int(counts.sum()), dtype=np.int32)
        val = np.empty(len(idx))
        for r, g in enumerate(which):
            lo, hi = sub.indptr[r], sub.indptr[r + 1]
            st = starts[r]
            idx[st : st + hi - lo] = sub.indices[lo:hi]
            val[st : st + hi - lo] = -sub.data[lo:hi]
            idx[st + hi - lo] = self.m + g
            val[st + hi - lo] = 1.0
        n = len(which)
        self.h.addRows(
            n, np.full(n, -self.inf), const[which].astype(float), len(idx),
            starts.astype(np.int32), idx, val,
        )  # fmt: skip
        self.n_cuts += n

    def add_nogood(self, ones: np.ndarray) -> None:
        """Cut off the one 0/1 point whose open sites are ``ones`` (max cover: sum y = p):
        sum of y over ``ones`` <= len(ones) - 1."""
        n = len(ones)
        self.h.addRow(-self.inf, float(n - 1), n, ones.astype(np.int32), np.ones(n))
        self.n_nogoods += 1

    def value(self, y: np.ndarray) -> float:
        """True covered weight at ``y`` (any point of [0, 1]^m)."""
        return float(self.aw @ np.minimum(self.agg @ y, 1.0))

    # ------------------------------------------------------------------ solves
    def run_lp(self, time_left: float | None):
        """Solve the LP master within ``time_left`` seconds; return HiGHS's model status.

        The master is re-solved warm (from the last basis) hundreds of times. Two ways this
        goes wrong were seen, and each escalates one step:

        1. **Stall.** A warm solve that needs more simplex iterations than ``STALL_AT``
           times the rows and columns is stopped (seen: HiGHS cleaning up its cost shifts
           with a primal simplex that made 36,356 degenerate iterations where the same LP
           and basis loaded afresh took 71). The model is passed to HiGHS again with the
           basis reached (which drops the solver's internal state) and solved with four
           times that limit.
        2. **Still stalled, or no verdict** (``kUnknown``: on the 10⁶-point city PSCLP a node
           LP kept dual infeasibilities of 3e-4 after 12,687 iterations, also from scratch;
           another reloaded node LP ran 277,542 iterations into the time limit). The LP is
           solved from scratch by the interior point method with crossover (0.7 s on the
           first of those LPs); an LP still without a verdict gives no bound and no point.
        """
        st = self.hs.HighsModelStatus
        done = (st.kOptimal, st.kInfeasible, st.kTimeLimit)
        h = self.h
        self.set_time_limit(time_left)
        limit = max(1, int(STALL_AT * (h.getNumRow() + h.getNumCol())))
        h.setOptionValue("simplex_iteration_limit", limit)
        try:
            run_highs(h, self.hs)
            if h.getModelStatus() in done:
                return h.getModelStatus()
            self.reloads += 1
            basis = h.getBasis()
            h.passModel(h.getLp())
            if basis.valid:
                h.setBasis(basis)
            h.setOptionValue("simplex_iteration_limit", 4 * limit)
            run_highs(h, self.hs)
            if h.getModelStatus() in done:
                return h.getModelStatus()
            self.ipm_runs += 1
            h.clearSolver()
            h.setOptionValue("simplex_iteration_limit", _NO_LIMIT)
            h.setOptionValue("solver", "ipm")
            run_highs(h, self.hs)
            return h.getModelStatus()
        finally:
            h.setOptionValue("simplex_iteration_limit", _NO_LIMIT)
            h.setOptionValue("solver", "choose")

    def solve_lp(self, time_left: float | None) -> tuple[np.ndarray, float, np.ndarray] | None:
        if self.run_lp(time_left) != self.hs.HighsModelStatus.kOptimal:
            return None
        sol = self.h.getSolution()
        x = np.asarray(sol.col_value, dtype=float)
        obj = float(self.h.getInfo().objective_function_value)
        return x, obj, np.asarray(sol.col_dual, dtype=float)

    def purge(self) -> None:
        """Delete the cut rows that are slack at the last LP solution (own branch and bound).

        Separation is exact (the cut at a point is tight there), so a deleted cut comes back
        whenever a later LP point violates it; fewer rows make each node's LP cheaper.
        """
        h = self.h
        first = self.first_cut
        n_rows = h.getNumRow()
        if n_rows - first <= PURGE_AT * self.n_groups:
            return
        act = np.asarray(h.getSolution().row_value, dtype=float)[first:]
        upper = np.asarray(h.getLp().row_upper_, dtype=float)[first:]
        slack = np.flatnonzero(upper - act > 1e-6 * max(1.0, self.total)) + first
        if self.cutoff_row is not None:  # kept, and its index follows the deleted rows
            slack = slack[slack != self.cutoff_row]
            self.cutoff_row -= int(np.sum(slack < self.cutoff_row))
        if len(slack):
            h.deleteRows(len(slack), slack.astype(np.int32))

    def set_time_limit(self, seconds: float | None) -> None:
        """Stop the next run after ``seconds`` (HiGHS's clock counts every run of the model)."""
        limit = np.inf if seconds is None else self.h.getRunTime() + max(seconds, 1e-3)
        self.h.setOptionValue("time_limit", float(min(limit, self.inf)))

    def fix(self, cols: np.ndarray, value: float) -> int:
        """Fix the sites ``cols`` not fixed yet at ``value``; return how many were new."""
        cols = cols[~self.fixed[cols]]
        self.fixed[cols] = True
        if len(cols):
            v = np.full(len(cols), float(value))
            self.h.changeColsBounds(len(cols), cols.astype(np.int32), v, v)
        return len(cols)

    def backend(self) -> str:
        return f"highspy {version('highspy')} (Benders, {self.n_groups} cut groups)"


def _root_loop(master: _Master, core: np.ndarray, deadline: float | None):
    """In-out stabilised cut loop on the LP master; returns (x, bound, duals) of the last LP.

    Stops when no cut cuts off the LP optimum (the LP master equals the LP relaxation of the
    full model), when the bound moved less than 1e-7 relative in 20 rounds, or at the
    deadline. Any LP value on the way is a valid bound.
    """
    m = master.m
    core = core.astype(float).copy()
    coef, const = master.cuts_at(core)
    master.add_cuts(coef, const, np.arange(master.n_groups))
    last = None
    history: list[float] = []
    while True:
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            break
        lp = master.solve_lp(left)
        if lp is None:
            break
        last = lp
        x, obj, _ = lp
        history.append(obj)
        if len(history) > 20 and abs(history[-21] - obj) <= 1e-7 * max(1.0, abs(obj)):
            break
        added = False
        for lam in (0.3, 1.0):
            coef, const = master.cuts_at(lam * x[:m] + (1 - lam) * core)
            which = master.violated(x, coef, const)
            if len(which):
                master.add_cuts(coef, const, which)
                added = True
                break
        if not added:
            break
        core = 0.5 * core + 0.5 * x[:m]
    return last


class _Incumbent:
    """Best solution of the true problem seen so far (covered weight checked, not trusted)."""

    def __init__(self, master: _Master, target: float | None) -> None:
        self.master = master
        self.target = target
        self.chosen: np.ndarray | None = None
        self.value = -np.inf  # max mode: covered weight; partial mode: minus the site count

    @property
    def threshold(self) -> float:
        """Covered weight a partial cover must reach to be accepted (target, 1e-9 relative)."""
        return self.target - 1e-9 * max(1.0, self.target)

    def offer(self, y: np.ndarray) -> float:
        """Record ``y`` (0/1) if it beats the incumbent; return its true covered weight."""
        y = (y > 0.5).astype(float)
        chosen = np.flatnonzero(y)
        covered = self.master.value(y)
        if not self.master.meets_floors(y):
            return covered  # the master's theta over-stated a floor group's coverage
        if self.target is None:
            score = covered
        elif covered >= self.threshold:
            score = -float(len(chosen))
        else:
            return covered
        if score > self.value:
            self.chosen, self.value = chosen, score
        return covered


def _mip_loop(
    master: _Master, best: _Incumbent, deadline: float | None, *, first: bool = False
) -> tuple[float, int, bool]:
    """Branch and bound on the master with cuts added at over-stated integer solutions.

    Returns the proven bound (in the sense of ``best.value``; HiGHS's dual bound of a run
    that adopted no solution over-stated beyond HiGHS's feasibility tolerance, which can only
    raise that bound), the number of restarts and whether the tree was
    searched to the end. ``first``: stop at the first solution the incumbent accepts (bound
    ``np.inf`` then) and make the sites continuous again (the LP master of the root loop).
    """
    hs, h, m = master.hs, master.h, master.m
    entry = best.value
    h.changeColsIntegrality(
        m, np.arange(m, dtype=np.int32), np.array([hs.HighsVarType.kInteger] * m)
    )
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    kinds = hs.cb.HighsCallbackType
    sol_kinds = {int(kinds.kCallbackMipSolution), int(kinds.kCallbackMipImprovingSolution)}
    state: dict = {"cuts": [], "violated": False}
    # Cut groups already cut at each integer point: HiGHS accepts rows violated by up to its
    # feasibility tolerance (1e-6), above ``master.tol`` when the total weight is below 1,000,
    # and then offers the same point again and again; a cut already in the master is not
    # added again (the over-statement only loosens HiGHS's bound, and the incumbent is kept
    # at its true value).
    added: dict[bytes, set[int]] = {}

    def callback(kind, _message, out, inp, _user):
        if int(kind) in sol_kinds:
            x = np.asarray(out.mip_solution, dtype=float)
            y = (x[:m] > 0.5).astype(float)
            best.offer(y)
            coef, const = master.cuts_at(y)
            over = x[m : m + master.n_groups] - const - coef @ y  # theta above the truth
            which = np.flatnonzero(over > master.tol)
            # With floors the optimum can lie far below the total weight, and with it the
            # step by which a solution must beat the incumbent: a point that over-states
            # its coverage by more than half that step gets its cuts however small they
            # are, else HiGHS ends "optimal" at its over-stated value and the bound stays
            # above the incumbent (fuzz check: "time_limit", gap 2.4e-9, no limit set).
            stated = master.need is not None and over.clip(0).sum() > 0.5 * _step(master, best)
            if stated:
                which = np.flatnonzero(over > 0)
            done = added.setdefault(y.tobytes(), set())
            which = np.array([g for g in which if g not in done], dtype=np.int64)
            if len(which):
                done.update(int(g) for g in which)
                state["cuts"].append((coef, const, which))
                state["violated"] = True
            elif (stated or not master.meets_floors(y)) and -1 not in done:
                # A point that misses a floor, or over-states as above, with no cut left to
                # add (HiGHS takes rows violated by up to its feasibility tolerance, 1e-6 of
                # a total of 1e6): HiGHS would keep it as its incumbent and prune every
                # true solution below its master value. It is cut off alone (a no-good row;
                # its true value is already offered). Seen (fuzz check): a floor of 4e-7 of
                # the scaled total: no solution, "time_limit" with no limit set.
                done.add(-1)
                state["nogoods"].append(np.flatnonzero(y))
                state["violated"] = True
        # Set every time: HiGHS keeps the input record between runs.
        inp.user_interrupt = bool(state["violated"] or (first and best.value > entry))

    h.setCallback(callback, None)
    for kind in (
        kinds.kCallbackMipSolution, kinds.kCallbackMipImprovingSolution,
        kinds.kCallbackMipInterrupt,
    ):  # fmt: skip
        h.startCallback(kind)
    if master.cutoff_row is None:
        master.cutoff_row = _cutoff_row(master, best)
    restarts = 0
    try:
        while True:
            _set_cutoff(master, best, master.cutoff_row)
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                return np.inf, restarts, False  # no bound beyond the root's
            master.set_time_limit(left)
            state["cuts"], state["nogoods"], state["violated"] = [], [], False
            run_highs(h, hs)
            status = master.tree_status = h.getModelStatus()
            st = hs.HighsModelStatus
            if (
                status == st.kInfeasible and not state["violated"]
                and h.getInfo().mip_node_count == 0
            ):  # fmt: skip
                # A verdict before any node (presolve's) is checked once without presolve:
                # HiGHS 1.16's presolve called a feasible 9-column master infeasible (max
                # cover, weights 1e-8 to 1e13 scaled to a total of 1.8e6; fuzz check): a
                # wrong "optimal" 7e-4 below the optimum. Without presolve it is solved.
                h.setOptionValue("presolve", "off")
                try:
                    run_highs(h, hs)
                finally:
                    h.setOptionValue("presolve", master.presolve)
                status = master.tree_status = h.getModelStatus()
            if state["violated"]:
                for coef, const, which in state["cuts"]:
                    master.add_cuts(coef, const, which)
                for ones in state["nogoods"]:
                    master.add_nogood(ones)
                restarts += 1
                if first and best.value > entry:
                    return np.inf, restarts, False
                continue
            if first and best.value > entry and status == hs.HighsModelStatus.kInterrupt:
                return np.inf, restarts, False
            if status == st.kInfeasible:  # nothing beats the incumbent (the cutoff row)
                if not np.isfinite(best.value):  # no cutoff yet: no solution at all (floors)
                    return -np.inf, restarts, True
                # max: nothing covers more than L + step; partial: nothing uses fewer sites.
                step = _step(master, best) if master.mode == "max" else 0.0
                return best.value + step, restarts, True
            if h.getInfo().primal_solution_status == 2:
                x = np.asarray(h.getSolution().col_value, dtype=float)
                best.offer((x[:m] > 0.5).astype(float))
            bound = _sense(master, float(h.getInfo().mip_dual_bound))
            return bound, restarts, status == st.kOptimal
    finally:
        if first:
            h.changeColsIntegrality(
                m, np.arange(m, dtype=np.int32), np.array([hs.HighsVarType.kContinuous] * m)
            )


def _floor_swaps(
    master: _Master, best: _Incumbent, deadline: float | None, max_rounds: int = 200
) -> None:
    """Best-improvement 1-swaps from the incumbent that keep every floor met (true coverage).

    Each round evaluates every (open site, closed site) pair at once per open site: the
    weight each floor group keeps without the open site plus what the closed site adds
    (one sparse product). The best swap that raises the covered weight by more than
    1e-9 relative is made (at most ``max_rounds``, until the deadline); the result is offered
    as an incumbent.
    """
    agg, at, aw = master.agg, master.at, master.aw
    k, m = agg.shape
    n_f = len(master.need)
    onehot = sparse.csr_array(
        (np.ones(k), (np.arange(k), master.floor_of[master.row_group])), shape=(k, n_f)
    )
    lower = master.need - master.floor_tol
    y = np.zeros(m)
    y[best.chosen] = 1.0
    count = agg @ y
    tol = 1e-9 * max(1.0, master.total)
    for _ in range(max_rounds):
        if deadline is not None and time.perf_counter() > deadline:
            break
        total = float(aw @ (count > 0.5))
        best_gain, move = tol, None
        for i in np.flatnonzero(y > 0.5):
            rows = at.indices[at.indptr[i] : at.indptr[i + 1]]
            left = count.copy()
            left[rows] -= 1.0
            kept = onehot.T @ (aw * (left > 0.5))
            free = aw * (left < 0.5)
            add = (at @ onehot.multiply(free[:, None])).toarray()  # sites × floor groups
            ok = np.all(kept + add >= lower, axis=1) & (y < 0.5)
            gain = np.where(ok, add.sum(axis=1) + kept.sum() - total, -np.inf)
            j = int(np.argmax(gain))
            if gain[j] > best_gain:
                best_gain, move = gain[j], (i, j)
        if move is None:
            break
        i, j = move
        y[i], y[j] = 0.0, 1.0
        count += at[[j]].toarray().ravel() - at[[i]].toarray().ravel()
    best.offer(y)


def _tree_search(
    master: _Master,
    best: _Incumbent,
    deadline: float | None,
    max_rounds: int = 20,
    max_nodes: int | None = None,
) -> tuple[float, int]:
    """Own depth-first branch and bound over the LP master (cuts at every node).

    Every node solves the LP master (the whole cut pool) under its bounds on the sites and
    separates Benders cuts at the LP point, fractional or integer, until none is violated
    (at most ``max_rounds`` rounds; any LP value on the way is a valid node bound). A node is
    pruned when its bound cannot beat the incumbent by the cutoff step; an integer LP point
    without violated cuts is a solution of the true problem. Otherwise sites are fixed by
    their reduced costs for the subtree, a rounding of the LP point is offered as an
    incumbent, and the most fractional site is branched on (open first).

    Stops (open nodes left) at ``deadline`` or after ``max_nodes`` nodes. Returns the proven
    bound in the sense of ``best.value`` and the number of nodes.
    """
    h, m = master.h, master.m
    free = np.flatnonzero(~master.fixed).astype(np.int32)
    root_lo = np.zeros(m)
    root_hi = np.ones(m)
    fixed_cols = np.flatnonzero(master.fixed)
    if len(fixed_cols):
        lo_hi = np.asarray(h.getLp().col_lower_)[fixed_cols]
        root_lo[fixed_cols] = lo_hi
        root_hi[fixed_cols] = lo_hi
    # A node: (its parent's bound, depth, sites at 0, sites at 1).
    empty = np.zeros(0, dtype=np.int64)
    stack: list[tuple[float, int, np.ndarray, np.ndarray]] = [(np.inf, 0, empty, empty)]
    nodes = 0
    while stack:
        parent_bound, depth, zeros, ones = stack.pop()
        if parent_bound < best.value + _step(master, best):
            continue
        left = None if deadline is None else deadline - time.perf_counter()
        if (left is not None and left <= 0) or (max_nodes is not None and nodes >= max_nodes):
            stack.append((parent_bound, depth, zeros, ones))
            break
        nodes += 1
        lo, hi = root_lo.copy(), root_hi.copy()
        hi[zeros] = 0.0
        lo[ones] = 1.0
        h.changeColsBounds(len(free), free, lo[free], hi[free])
        node = _node_lp(master, best, deadline, max_rounds)
        if node is None:  # out of time: the node stays open
            stack.append((parent_bound, depth, zeros, ones))
            break
        if node is False:  # infeasible or pruned by its bound
            continue
        x, obj, duals, integral = node
        master.purge()
        y = x[:m]
        if integral:
            best.offer((y > 0.5).astype(float))
            continue
        bound = _sense(master, obj)
        _round(master, best, y, hi)
        if bound < best.value + _step(master, best):
            continue
        closed, opened = _reduced_cost_fixing(master, (x, obj, duals), best)
        zeros = np.union1d(zeros, closed[hi[closed] > 0.5])
        ones = np.union1d(ones, opened[lo[opened] < 0.5])
        frac = np.abs(y - 0.5)
        frac[(y < 1e-6) | (y > 1 - 1e-6)] = np.inf
        frac[zeros] = np.inf
        frac[ones] = np.inf
        j = int(np.argmin(frac))
        if not np.isfinite(frac[j]) and np.all((y < 1e-6) | (y > 1 - 1e-6)):
            # Near-integral, but its rounding does not solve the node (:func:`_rounding_solves`):
            # branch on the open site with the largest value; with none left, the node holds
            # no other point.
            cand = np.where((lo < 0.5) & (hi > 0.5), y, -np.inf)
            cand[zeros] = -np.inf
            cand[ones] = -np.inf
            j = int(np.argmax(cand))
            if not np.isfinite(cand[j]):
                best.offer((y > 0.5).astype(float))
                continue
        elif not np.isfinite(frac[j]):  # every fractional site got fixed: solve the node again
            stack.append((bound, depth, zeros, ones))
            continue
        stack.append((bound, depth + 1, np.union1d(zeros, [j]), ones))
        stack.append((bound, depth + 1, zeros, np.union1d(ones, [j])))
    h.changeColsBounds(len(free), free, root_lo[free], root_hi[free])
    if not stack:  # the tree is exhausted: nothing beats the incumbent by the step
        if not np.isfinite(best.value):
            return -np.inf, nodes
        return best.value + (_step(master, best) if master.mode == "max" else 0.0), nodes
    return max(best.value, max(b for b, *_ in stack)), nodes


def _descend(master: _Master, best: _Incumbent, deadline: float | None) -> tuple[float, int]:
    """Finish a partial cover's proof by descent on the site count (step 4 of the module).

    While the incumbent has ``c`` sites: :func:`_reach` with ``c - 1``; a solution found
    becomes the incumbent, a proof that none exists proves the incumbent optimal. Returns the
    proven bound in the sense of ``best.value`` (``-c`` after a proof, else ``np.inf``: no
    bound beyond the tree's) and the number of counts searched.
    """
    threshold = best.threshold
    if best.chosen is None:  # no start and no tree node (so no fixing yet): a greedy cover
        chosen, _ = _greedy_partial(master.at, master.aw, threshold)
        y = np.zeros(master.m)
        y[chosen] = 1.0
        best.offer(y)
    steps = 0
    while best.chosen is not None:
        count = len(best.chosen)
        if count == 0:
            return best.value, steps
        steps += 1
        found, proven = _reach(master, count - 1, threshold, deadline)
        if proven:
            return best.value, steps
        if found is None:
            return np.inf, steps
        y = np.zeros(master.m)
        y[found] = 1.0
        best.offer(y)
        if len(best.chosen) != count - 1:  # not accepted (cannot happen: _reach checks it)
            return np.inf, steps
    return np.inf, steps


def _reach(
    master: _Master, k: int, threshold: float, deadline: float | None
) -> tuple[np.ndarray | None, bool]:
    """Can ``k`` sites cover ``threshold``? (sites, False) when found, (None, True) when
    proven impossible, (None, False) when the deadline came first.

    A maximal covering master with ``p = k`` on the partial master's rows and groups, its
    global fixings (valid for every solution with fewer sites than the incumbent) and a
    cutoff ``theta >= threshold``: root cut loop, reduced-cost fixing against the threshold,
    then HiGHS's tree to its first solution whose recomputed coverage reaches it, or to the
    end. One thread, so the sites found do not depend on the thread count.
    """
    mx = _Master(master.agg, master.aw, master.row_group, mode="max", p=k, threads=1)
    fixed = np.flatnonzero(master.fixed)
    if len(fixed):
        at = np.asarray(master.h.getLp().col_lower_)[fixed]
        mx.fix(fixed[at > 0.5], 1.0)
        mx.fix(fixed[at < 0.5], 0.0)
        if int(np.sum(at > 0.5)) > k:
            return None, True  # more sites forced open than k
    goal = _Incumbent(mx, None)
    # The cutoff row asks theta >= value + step = threshold (to rounding).
    goal.value = threshold / (1.0 + 0.5 * REL_TOL)
    lp = _root_loop(mx, np.full(mx.m, k / max(mx.m, 1)), deadline)
    if lp is None:
        infeasible = mx.h.getModelStatus() == mx.hs.HighsModelStatus.kInfeasible
        return None, infeasible
    if lp[1] < threshold * (1.0 - 1e-12):
        return None, True  # the LP master (a relaxation) cannot reach it
    while _fix_by_reduced_cost(mx, lp, goal):
        again = _root_loop(mx, lp[0][: mx.m], deadline)
        if again is None:
            return None, False
        lp = again
    _, _, done = _mip_loop(mx, goal, deadline, first=True)
    if goal.chosen is not None:
        if covered_weight(mx.agg, mx.aw, goal.chosen) >= threshold:
            return goal.chosen, False
        return None, False
    # Infeasible under the cutoff row: no k sites reach the threshold.
    return None, bool(done and mx.tree_status == mx.hs.HighsModelStatus.kInfeasible)


def _node_lp(master: _Master, best: _Incumbent, deadline: float | None, max_rounds: int):
    """Cut loop of one node. None: out of time; False: infeasible or pruned; else the last
    LP (x, objective, column duals) and whether its sites are integer with no violated cut."""
    hs, h, m = master.hs, master.h, master.m
    st = hs.HighsModelStatus
    for _ in range(max_rounds):
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            return None
        status = master.run_lp(left)
        if status == st.kInfeasible:
            return False
        if status != st.kOptimal:
            return None
        sol = h.getSolution()
        x = np.asarray(sol.col_value, dtype=float)
        obj = float(h.getInfo().objective_function_value)
        if _sense(master, obj) < best.value + _step(master, best):
            return False
        coef, const = master.cuts_at(x[:m])
        which = master.violated(x, coef, const)
        if not len(which):
            y = x[:m]
            integral = bool(np.all((y < 1e-6) | (y > 1 - 1e-6))) and _rounding_solves(
                master, best, x, obj
            )
            return x, obj, np.asarray(sol.col_dual, dtype=float), integral
        master.add_cuts(coef, const, which)
    return x, obj, np.asarray(sol.col_dual, dtype=float), False


def _rounding_solves(master: _Master, best: _Incumbent, x: np.ndarray, obj: float) -> bool:
    """Whether the rounding of a near-integral LP point ``x`` solves its node: its true
    coverage reaches the target (partial cover) or the LP value (max cover, within the cut
    tolerance per group) and meets every floor.

    Sites within 1e-6 of 0 are rounded down, which can lose coverage: with a target far
    below the weights (0.019 of integer weights) the LP opens one site at 8.7e-7, and
    closing that node as "integral" cut off every solution (docs/allocate.md).
    """
    y = (x[: master.m] > 0.5).astype(float)
    covered = master.value(y)
    if master.mode == "max":
        need = obj - (master.n_groups + 1) * master.tol
    else:
        need = best.threshold
    return covered >= need and master.meets_floors(y)


def _round(master: _Master, best: _Incumbent, y: np.ndarray, hi: np.ndarray) -> None:
    """Offer a rounding of the LP point ``y`` (sites allowed by ``hi``) as an incumbent.

    Max cover: the ``p`` largest values. Partial cover: the sites at 1, completed and pruned
    by :func:`_greedy_partial` (gains scaled by 1 + the LP value).
    """
    if master.mode == "max":
        order = np.lexsort((np.arange(master.m), -y))
        order = order[hi[order] > 0.5]
        p = master.p
        if len(order) >= p:
            pick = np.zeros(master.m)
            pick[order[:p]] = 1.0
            best.offer(pick)
        return
    count = master.agg @ (y > 1 - 1e-6).astype(float)
    chosen = list(np.flatnonzero(y > 1 - 1e-6))
    target = best.threshold
    n_best = -best.value if np.isfinite(best.value) else np.inf
    chosen, got = _greedy_partial(
        master.at, master.aw, target, count=count, chosen=chosen, scale=1.0 + y,
        allowed=hi > 0.5, limit=n_best,
    )  # fmt: skip
    if got < target:
        return
    pick = np.zeros(master.m)
    pick[chosen] = 1.0
    best.offer(pick)


def _greedy_partial(
    at: sparse.csr_array,
    aw: np.ndarray,
    target: float,
    *,
    count: np.ndarray | None = None,
    chosen: list[int] | None = None,
    scale: np.ndarray | float = 1.0,
    allowed: np.ndarray | None = None,
    limit: float = np.inf,
) -> tuple[list[int], float]:
    """Greedy partial cover: (sites, covered weight).

    From ``chosen`` (rows covered ``count`` times), add the site with the most uncovered
    weight (times ``scale``; only ``allowed`` sites) until ``target`` is covered, no site adds
    weight or ``limit`` sites are open; then, when the target is met, drop (last added first)
    the sites whose removal keeps it. ``at`` is the site × row coverage matrix.
    """
    count = np.zeros(at.shape[1]) if count is None else count
    chosen = [] if chosen is None else chosen
    got = float(aw @ (count > 0.5))
    while got < target and len(chosen) < limit:
        gain = (at @ np.where(count < 0.5, aw, 0.0)) * scale
        if allowed is not None:
            gain[~allowed] = -1.0
        gain[chosen] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        rows = at.indices[at.indptr[j] : at.indptr[j + 1]]
        got += float(aw[rows][count[rows] < 0.5].sum())
        count[rows] += 1
    if got < target:
        return chosen, got
    for j in chosen[::-1]:
        rows = at.indices[at.indptr[j] : at.indptr[j + 1]]
        loss = float(aw[rows][count[rows] < 1.5].sum())
        if got - loss >= target:
            count[rows] -= 1
            got -= loss
            chosen.remove(j)
    return chosen, got


def _sense(master: _Master, bound: float) -> float:
    """A master bound in the incumbent's sense (covered weight, or minus the site count)."""
    return bound if master.mode == "max" else -np.ceil(bound - 1e-6)


def _step(master: _Master, best: _Incumbent) -> float:
    """How much better than the incumbent a solution must be to count (the cutoff)."""
    return 0.5 * REL_TOL * max(1.0, abs(best.value)) if master.mode == "max" else 1.0


def _cutoff_row(master: _Master, best: _Incumbent) -> int:
    m, g = master.m, master.n_groups
    if master.mode == "max":
        thetas = np.arange(m, m + g, dtype=np.int32)
        master.h.addRow(-master.inf, master.inf, g, thetas, np.ones(g))
    else:
        master.h.addRow(-master.inf, master.inf, m, np.arange(m, dtype=np.int32), np.ones(m))
    return master.h.getNumRow() - 1


def _set_cutoff(master: _Master, best: _Incumbent, row: int) -> None:
    """Only solutions better than the incumbent: theta >= L + step, or sum y <= count - 1."""
    if not np.isfinite(best.value):
        return
    if master.mode == "max":
        lo, hi = best.value + _step(master, best), master.inf
    else:
        lo, hi = -master.inf, -best.value - 1.0
    master.h.changeRowBounds(row, lo, hi)


def _fix_by_reduced_cost(master: _Master, lp: tuple, best: _Incumbent) -> int:
    """Fix sites whose reduced cost proves them closed (or open) in every better solution."""
    closed, opened = _reduced_cost_fixing(master, lp, best)
    return master.fix(closed, 0.0) + master.fix(opened, 1.0)


def _reduced_cost_fixing(master: _Master, lp: tuple, best: _Incumbent):
    """Sites at 0 (at 1) whose reduced cost proves them closed (open) in every solution
    better than the incumbent, given the LP ``lp`` = (x, objective, column duals)."""
    x, obj, duals = lp
    m = master.m
    d = duals[:m]
    y = x[:m]
    if master.mode == "max":
        limit = best.value  # solutions must reach at least the incumbent's coverage
        closed = np.flatnonzero((y < 1e-9) & (obj + d < limit - 1e-7 * max(1.0, abs(limit))))
        opened = np.flatnonzero((y > 1 - 1e-9) & (obj - d < limit - 1e-7 * max(1.0, abs(limit))))
    else:
        limit = -best.value - 1.0 + 1e-6  # at most count - 1 sites
        closed = np.flatnonzero((y < 1e-9) & (obj + d > limit))
        opened = np.flatnonzero((y > 1 - 1e-9) & (obj - d > limit))
    return closed, opened


def max_cover(
    agg: sparse.csr_array,
    aw: np.ndarray,
    p: int,
    *,
    starts: list[np.ndarray] = (),
    time_limit: float | None = None,
    threads: int | None = None,
    groups: np.ndarray | None = None,
    n_groups: int = 256,
    branching: str = "highs",
    floors: tuple[np.ndarray, np.ndarray] | None = None,
) -> CoverResult:
    r"""Maximal covering: the ``p`` columns of ``agg`` that cover the most row weight ``aw``.

    Parameters
    ----------
    agg : sparse matrix, shape (rows, sites)
        0/1 coverage of the (aggregated) demand rows by the candidate sites.
    aw : ndarray
        Weight of each row (non-negative).
    p : int
        Number of sites to open (at most the number of columns).
    starts : list of ndarray
        Known solutions (column positions, at most ``p`` each: a larger start raises
        :class:`~dongne.errors.SpecificationError`), e.g. from a heuristic: the best is the
        first incumbent and every one gives a cut.
    time_limit : float, optional
        Seconds; the incumbent and its proven gap are returned when it runs out.
    threads : int, optional
        HiGHS threads.
    groups : ndarray of int, optional
        Group of each row: one ``theta`` and one cut per group (multi-cut). Compact groups
        (:func:`spatial_groups`) keep the cuts sparse. Default: rows grouped by their first
        covering site into ``n_groups`` groups.
    n_groups : int
        Number of default groups (1: the single aggregated cut).
    branching : {"highs", "own"}
        Branch and bound on the master after the root: ``"highs"``, HiGHS's tree on the
        master with its cuts, restarted with new cuts whenever it adopts an integer solution
        that over-states the coverage; ``"own"``, a depth-first tree in Python over the LP
        master that separates cuts at every node (fractional and integer points), fixes sites
        by reduced costs per node and rounds node LPs into incumbents. Both are exact.
    floors : (ndarray of int, ndarray of float), optional
        ``(row_floor, need)``: the floor group of every row and the weight each floor group
        must have covered (``min_share``: :math:`\varepsilon A_g - B_g`). The cut groups
        are split so that each lies in one floor group, and the master gets the rows
        :math:`\sum_{c \subseteq f} \theta_c \ge` ``need[f]``. The master stays a
        relaxation (every ``theta`` is at most its group's true coverage at every feasible
        point), so its bound holds; a solution is accepted only when its true coverage meets
        every floor (within 1e-9 of the floor group's weight, counting rows that no site
        covers). An integer master point whose ``theta`` over-states a floor group's
        coverage is rejected and cut off.

    Returns
    -------
    CoverResult
        ``objective`` and ``covered`` are the covered weight; ``bound`` a proven upper bound.
        With ``floors`` that no ``p`` columns meet, ``status`` is ``"infeasible"`` and
        ``chosen`` empty. ``"gap_limit"``: the search ended without hitting ``time_limit``
        but proved the solution only to ``gap`` (above 1e-9), e.g. an optimum under floors
        below what the master resolves (seen: 2 of a total of 8.4e12, own tree).
    """
    return _solve(
        agg, aw, "max", p, None, list(starts), time_limit, threads, groups, n_groups,
        branching=branching, floors=floors,
    )  # fmt: skip


def partial_cover(
    agg: sparse.csr_array,
    aw: np.ndarray,
    target: float,
    *,
    starts: list[np.ndarray] = (),
    time_limit: float | None = None,
    threads: int | None = None,
    groups: np.ndarray | None = None,
    n_groups: int = 256,
    root_only: bool = False,
    branching: str = "highs",
) -> CoverResult:
    """Partial set covering: the fewest columns of ``agg`` that cover at least ``target``.

    ``target`` must be reachable (at most the weight of the rows with some column); with
    ``target = aw.sum()`` this is the set covering problem (LSCP). ``starts`` are feasible
    solutions (column positions), e.g. a greedy cover. Parameters and result as in
    :func:`max_cover`; ``objective`` is the number of sites and ``bound`` a proven lower bound.
    ``root_only`` stops after the root cut loop (the best start and the LP bound). A target
    below 1e-8 of the total weight is refused with ``branching="highs"`` (below what its
    tolerances tell from zero); the own tree takes it.
    """
    return _solve(
        agg, aw, "partial", None, float(target), list(starts), time_limit, threads, groups,
        n_groups, root_only, branching=branching,
    )  # fmt: skip


def _default_groups(agg: sparse.csr_array, n_groups: int) -> np.ndarray:
    """Rows grouped by their first covering site: rows of a group lie near each other."""
    m = agg.shape[1]
    if agg.nnz == 0:  # no row covered: one group (indexing agg.indices would fail)
        return np.zeros(agg.shape[0], dtype=np.int64)
    first = np.where(
        np.diff(agg.indptr) > 0, agg.indices[np.minimum(agg.indptr[:-1], agg.nnz - 1)], 0
    )
    return (first * min(n_groups, max(m, 1)) // max(m, 1)).astype(np.int64)


def spatial_groups(xy: np.ndarray, n_groups: int) -> np.ndarray:
    """Group points into about ``n_groups`` compact blocks (x slabs cut into y blocks).

    Compact groups make each group's Benders cut sparse (only the sites near the group) and
    the master with one ``theta`` per group tighter on integer points than a single cut.
    """
    n = len(xy)
    q = max(1, round(float(np.sqrt(n_groups))))
    out = np.empty(n, dtype=np.int64)
    order = np.argsort(xy[:, 0], kind="stable")
    for i, slab in enumerate(np.array_split(order, q)):
        inner = slab[np.argsort(xy[slab, 1], kind="stable")]
        for j, block in enumerate(np.array_split(inner, q)):
            out[block] = i * q + j
    _, out = np.unique(out, return_inverse=True)
    return out.ravel()


def _solve(
    agg, aw, mode, p, target, starts, time_limit, threads, groups, n_groups, root_only=False,
    branching="highs", floors=None,
) -> CoverResult:  # fmt: skip
    if branching not in ("highs", "own"):
        raise SpecificationError(
            f"The 'branching' parameter must be 'highs' or 'own'. Got {branching!r} instead."
        )
    if mode == "partial" and branching == "highs" and target < 1e-8 * float(np.sum(aw)):
        # HiGHS's tree takes rows within 1e-6 absolute and cuts count 1e-9 of the total as
        # met: such a target is below what that tree can tell from zero (seen: no solution,
        # status "time_limit", with no time limit set).
        raise SpecificationError(
            f"The target {target!r} is below 1e-8 of the total weight {float(np.sum(aw))!r}, "
            "too small for branching='highs'. Fix: use branching='own'."
        )
    if mode == "max":
        # A start with more than p sites is no solution (seen: all 4 sites of p=1 returned
        # as "optimal"; fuzz check).
        sizes = [len(np.unique(np.asarray(c, dtype=np.int64))) for c in starts]
        if sizes and max(sizes) > p:
            raise SpecificationError(
                f"The 'starts' parameter must hold at most p={p} sites per start. "
                f"Got a start with {max(sizes)} sites instead."
            )
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + float(time_limit)
    agg = sparse.csr_array(agg)
    given = (agg, aw, groups, floors)  # for a solve without sites closed by the root bound
    reached = np.diff(agg.indptr) > 0
    floor_total = None
    if floors is not None:  # tolerances of the floors from the floor groups' whole weight
        row_floor = np.asarray(floors[0], dtype=np.int64)
        need = np.asarray(floors[1], dtype=float)
        floor_total = (
            np.asarray(floors[2], dtype=float) if len(floors) > 2  # given by _without_sites
            else np.bincount(row_floor, np.asarray(aw, dtype=float), minlength=len(need))
        )  # fmt: skip
        given = (agg, aw, groups, (row_floor, need, floor_total))
    if mode == "max" and reached.any() and not reached.all():
        # Rows no site covers add 0 to every solution (and to every floor group); left in,
        # they set the scale and the tolerances (relative to the total) alone. Seen (fuzz
        # check): 9 rows, total 1.3e10, 6.7e-4 of it coverable: "optimal" 0 with bound 0
        # (the optimum is 6.7e-4); with floors, "optimal" 1.4e-4 below the optimum.
        agg, aw = agg[np.flatnonzero(reached)], np.asarray(aw, dtype=float)[reached]
        groups = None if groups is None else np.asarray(groups)[reached]
        if floors is not None:
            floors = (row_floor[reached], need)
    scale = _scale(aw)
    aw = np.asarray(aw, dtype=float) * scale
    target = None if target is None else target * scale
    groups = _default_groups(agg, n_groups) if groups is None else np.asarray(groups)
    if floors is not None:  # cut groups nested in the floor groups
        row_floor = np.asarray(floors[0], dtype=np.int64)
        pairs = row_floor * (int(groups.max(initial=0)) + 1) + groups
        groups = np.unique(pairs, return_inverse=True)[1].ravel()
        floors = (row_floor, np.asarray(floors[1], dtype=float) * scale, floor_total * scale)
    master = _Master(
        agg, aw, groups, mode=mode, p=p, target=target, threads=threads, floors=floors,
        perturb=branching != "own",
    )  # fmt: skip
    best = _Incumbent(master, target)
    m = master.m
    for chosen in starts:
        y = np.zeros(m)
        y[np.asarray(chosen, dtype=np.int64)] = 1.0
        best.offer(y)
        coef, const = master.cuts_at(y)
        master.add_cuts(coef, const, np.arange(master.n_groups))
    if mode == "max":
        core = np.full(m, p / m) if m else np.zeros(0)
    else:
        core = np.ones(m)
    lp = _root_loop(master, core, deadline)
    root = _sense(master, lp[1]) if lp is not None else np.inf  # np.inf: no bound yet
    if master.need is not None and lp is not None and not root_only:
        # Floors can hold the optimum far below the total weight, and with it below what
        # the master resolves (HiGHS's tolerances are absolute, 1e-6 of a total of 1e6).
        # No solution meeting the floors covers more than the root bound, so every site
        # that covers a row heavier than that bound (with a wide margin for the LP's
        # tolerances) is closed in all of them: solved again without those sites, whose
        # rows then drop out of the scale. Seen (fuzz check): p = 1, a floor only sites
        # covering weight 1 or 2 meet, a total of 2.4e12: "optimal" 1 where 2 is optimal.
        heavy = np.flatnonzero(aw > root + 1e-3 * master.total)
        closed = np.unique(sparse.csr_array(agg[heavy]).indices)
        if len(closed):
            return _without_sites(
                closed, given, p, starts, deadline, threads, n_groups, branching, t0,
                master.n_cuts, root / scale,
            )  # fmt: skip
    tree_bound, restarts, done, fixed, descents = np.inf, 0, False, 0, 0
    for cycle in range(CYCLES if master.need is not None and lp is not None else 1):
        if cycle:
            # Floors: HiGHS's next better solution, improved by 1-swaps, is the incumbent
            # of more reduced-cost fixing and the cutoff of the tree.
            tree_bound, more, done = _mip_loop(master, best, deadline, first=True)
            restarts += more
            if done or best.chosen is None:
                break
            _floor_swaps(master, best, deadline)
        while lp is not None and np.isfinite(best.value) and not _meets(best.value, root):
            # Fixing changes the LP; its optimum gives new cuts, a tighter bound, more fixing.
            newly = _fix_by_reduced_cost(master, lp, best)
            if not newly:
                break
            fixed += newly
            again = _root_loop(master, lp[0][:m], deadline)
            if again is None:
                break
            lp = again
            root = min(root, _sense(master, lp[1]))
        if _meets(best.value, root):
            break
    bound, nodes = min(root, tree_bound), 0
    if not root_only and not done and not _meets(best.value, bound):
        if branching == "own":
            limit = DESCENT_AFTER if mode == "partial" else None
            bound, nodes = _tree_search(master, best, deadline, max_nodes=limit)
            if (
                mode == "max"
                and bound > -np.inf
                and not _meets(best.value, bound)
                and (deadline is None or time.perf_counter() < deadline)
            ):
                # Stopped before the clock: a node LP without a verdict (with floors, weights
                # 1e-8 to 1e13: kUnknown by every simplex and IPM run of :meth:`run_lp`; it
                # was reported as "time_limit" with no limit set, fuzz check). HiGHS's tree
                # finishes the proof.
                more_bound, more, _ = _mip_loop(master, best, deadline)
                restarts += more
                bound = min(bound, more_bound)
            if mode == "partial" and not _meets(best.value, bound):
                proven, descents = _descend(master, best, deadline)
                bound = min(bound, proven)
        else:
            bound, more, _ = _mip_loop(master, best, deadline)
            restarts += more
        bound = min(bound, root, tree_bound)
    # Max cover: a run that the clock did not stop and whose proof falls short of 1e-9 is
    # "gap_limit" (the master's tolerances are absolute, 1e-6 of a total of 1e6: with floors
    # the optimum can lie far below the total), never "time_limit" with no limit set.
    cut_short = mode != "max" or (deadline is not None and time.perf_counter() >= deadline)
    return _result(
        master, best, bound, root, fixed, restarts, nodes, time.perf_counter() - t0, scale,
        descents, cut_short,
    )  # fmt: skip


def _without_sites(
    closed, given, p, starts, deadline, threads, n_groups, branching, t0, cuts, root
) -> CoverResult:
    """Max cover with floors solved again without the sites ``closed`` (closed in every
    solution that meets the floors); the result in the given columns. ``given``: the
    caller's (agg, aw, groups, (row_floor, need, floor group weights))."""
    agg, aw, groups, floors = given
    keep = np.setdiff1d(np.arange(agg.shape[1]), closed)
    if len(keep) < p:  # every p sites include a closed one: nothing meets the floors
        none = np.zeros(0, dtype=np.int64)
        return CoverResult(
            none, 0.0, 0.0, -np.inf, np.inf, INFEASIBLE, root, cuts, 0, len(closed), 0,
            time.perf_counter() - t0, f"highspy {version('highspy')} (Benders)",
        )  # fmt: skip
    starts = [
        np.searchsorted(keep, s) for s in map(np.asarray, starts) if not np.isin(s, closed).any()
    ]
    left = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
    sub = _solve(
        agg[:, keep], aw, "max", p, None, starts, left, threads, groups, n_groups,
        branching=branching, floors=floors,
    )  # fmt: skip
    bound, gap, status = sub.bound, sub.gap, sub.status
    if len(sub.chosen):  # the outer root bound holds here too (the same solutions)
        bound = min(bound, root)
        gap = _gap(sub.objective, bound)
        status = OPTIMAL if gap <= REL_TOL else status
    return replace(
        sub, chosen=keep[sub.chosen], bound=bound, gap=gap, status=status,
        root_bound=min(root, sub.root_bound), cuts=cuts + sub.cuts,
        fixed=len(closed) + sub.fixed, runtime=time.perf_counter() - t0,
    )  # fmt: skip


def _scale(aw: np.ndarray) -> float:
    """Power of two (exact in floating point) that brings the total weight into
    [``SCALE_TO``, 2 ``SCALE_TO``) inside the master."""
    return _pow2(float(np.sum(aw)), SCALE_TO)


def _meets(value: float, bound: float) -> bool:
    return np.isfinite(value) and value >= bound - REL_TOL * max(1.0, abs(bound))


def _result(
    master, best, bound, root, fixed, restarts, nodes, runtime, scale, descents=0,
    cut_short=True,
) -> CoverResult:  # fmt: skip
    """The result in the caller's weights (the master's are multiplied by ``scale``).

    ``cut_short``: whether the time limit stopped the search; if not, a proof short of
    ``REL_TOL`` is ``"gap_limit"`` and no solution without a proof of infeasibility
    ``"error"`` (not ``"time_limit"``).
    """
    chosen = np.sort(best.chosen) if best.chosen is not None else np.zeros(0, dtype=np.int64)
    covered = covered_weight(master.agg, master.aw, chosen) / scale
    if master.mode == "max":
        objective, ub, root_bound = covered, max(bound / scale, covered), root / scale
    else:
        objective = float(len(chosen)) if best.chosen is not None else np.inf
        ub, root_bound = min(-bound, objective), -root
    status = OPTIMAL if _gap(objective, ub) <= REL_TOL else TIME_LIMIT
    if status == TIME_LIMIT and not cut_short:
        status = GAP_LIMIT
    if best.chosen is None:  # no solution: infeasible when the master is, else out of time
        status = INFEASIBLE if bound == -np.inf else TIME_LIMIT if cut_short else ERROR
        ub = -np.inf if bound == -np.inf else ub
    return CoverResult(
        chosen, objective, covered, ub, _gap(objective, ub), status, root_bound,
        master.n_cuts, restarts, fixed, nodes, runtime, master.backend(), descents,
    )  # fmt: skip
