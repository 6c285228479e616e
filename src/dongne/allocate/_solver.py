"""One in-process entry point to the HiGHS MIP/LP solver: highspy when installed, else SciPy.

Models are passed in the form HiGHS itself takes: costs ``c``, a sparse constraint matrix ``A``
with row bounds ``row_lower <= A x <= row_upper``, column bounds and an integrality mask. The
answer is a :class:`SolveResult` with the status, the objective, the best bound and the
relative gap in the model's own sense (maximise or minimise), the solution and, for LPs, the
row duals (shadow prices) and reduced costs.

Both backends run the same HiGHS algorithms; highspy adds a thread limit and a newer HiGHS
release. HiGHS is deterministic for a given model
and option set, so the same input gives the same solution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from scipy import sparse

from dongne._optional import import_optional

__all__ = ["SolveResult", "backend_name", "solve_highs"]

#: Status words used across dongne.allocate.
OPTIMAL = "optimal"
TIME_LIMIT = "time_limit"
#: A search that ended (no time limit hit) at a gap above 1e-9: a positive ``mip_gap``, or
#: HiGHS stopping at its own tolerances (10⁻⁶ absolute) a hair short of the proof.
GAP_LIMIT = "gap_limit"
INFEASIBLE = "infeasible"
UNBOUNDED = "unbounded"
ERROR = "error"


@dataclass(frozen=True, eq=False)
class SolveResult:
    """Outcome of one HiGHS solve.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"time_limit"`` (a feasible solution may exist), ``"infeasible"``,
        ``"unbounded"`` or ``"error"``.
    x : ndarray or None
        Column values (None when no feasible point is known).
    objective : float
        Objective of ``x`` in the model's sense (NaN without a solution).
    bound : float
        Best proven bound on the optimum (upper bound when maximising, lower when minimising);
        equals ``objective`` for a solved LP.
    gap : float
        ``|objective - bound| / max(|objective|, 1e-9)``; 0 at proven optimality.
    runtime : float
        Wall-clock seconds inside HiGHS.
    backend : str
        ``"highspy x.y.z"`` or ``"scipy x.y.z (HiGHS)"``.
    row_duals, col_duals : ndarray or None
        LP only: shadow prices of the rows and reduced costs of the columns, as the change of
        the objective per unit increase of the binding bound (both backends agree): for
        ``max x + y  s.t.  x + 2y <= 4, x <= 3`` the row duals are ``[0.5, 0.5]``.
    """

    status: str
    x: np.ndarray | None
    objective: float
    bound: float
    gap: float
    runtime: float
    backend: str
    row_duals: np.ndarray | None = None
    col_duals: np.ndarray | None = None


def _highspy() -> ModuleType | None:
    """highspy when it can be imported (a core dependency), else None: SciPy's HiGHS is used."""
    return import_optional("highspy", None, "backend='highspy'", errors="ignore")


def backend_name(backend: str = "auto") -> str:
    """Name and version of the backend :func:`solve_highs` will use."""
    hs = _highspy() if backend in ("auto", "highspy") else None
    if hs is not None:
        from importlib.metadata import version

        return f"highspy {version('highspy')}"
    import scipy

    return f"scipy {scipy.__version__} (HiGHS)"


def run_highs(h, hs: ModuleType):
    """``h.run()``, restarting HiGHS's thread scheduler when the run is refused.

    HiGHS keeps one global thread scheduler per process, started by the first solve, and
    answers ``kError`` (solving nothing) to a later model that asks for another thread count
    (e.g. ``threads=1`` after a solve on the default threads). The scheduler is then
    restarted with the model's count and the run repeated.
    """
    status = h.run()
    if status == hs.HighsStatus.kError:
        h.resetGlobalScheduler(True)
        status = h.run()
    return status


def _gap(objective: float, bound: float) -> float:
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return float("inf")
    return abs(objective - bound) / max(abs(objective), 1e-9)


def solve_highs(
    c: np.ndarray,
    a: sparse.sparray | sparse.spmatrix,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    integrality: np.ndarray | None = None,
    *,
    maximize: bool = False,
    time_limit: float | None = None,
    mip_rel_gap: float = 0.0,
    threads: int | None = None,
    backend: str = "auto",
    lp_method: str = "simplex",
    cutoff: float | None = None,
) -> SolveResult:
    """Solve ``max/min c·x  s.t. row_lower <= A x <= row_upper, lower <= x <= upper``.

    Parameters
    ----------
    c : ndarray
        Objective coefficients.
    a : sparse matrix
        Constraint matrix (any SciPy sparse format; converted to CSC).
    row_lower, row_upper, lower, upper : ndarray
        Row and column bounds (``±inf`` for none).
    integrality : ndarray of bool, optional
        True where the column is integer; None or all False solves an LP (with duals).
    maximize : bool
        Maximise instead of minimise.
    time_limit : float, optional
        Seconds; the best solution found so far is returned with status ``"time_limit"``.
    mip_rel_gap : float
        Relative gap at which HiGHS stops (0: prove optimality). HiGHS' own default is 1e-4.
    threads : int, optional
        Thread limit (highspy only).
    backend : {"auto", "highspy", "scipy"}
        ``"auto"`` uses highspy when installed, else SciPy.
    lp_method : {"simplex", "ipm"}
        Algorithm for an LP (ignored for a MIP): dual simplex, or interior point followed by
        crossover (much faster on large covering relaxations; the answer is still a vertex).
    cutoff : float, optional
        MIP only, highspy only (SciPy ignores it): prune every node whose bound reaches this
        objective value (HiGHS' ``objective_bound``). A MIP with no solution better than the
        cutoff ends "infeasible".
    """
    c = np.asarray(c, dtype=float)
    a = sparse.csc_array(a, dtype=float)
    integrality = (
        np.zeros(len(c), dtype=bool) if integrality is None else np.asarray(integrality, bool)
    )
    if backend == "highspy":
        hs = import_optional(
            "highspy", None, "backend='highspy'", alternative="or use backend='scipy'"
        )
    else:
        hs = _highspy() if backend == "auto" else None
    if hs is not None:
        return _solve_highspy(
            hs, c, a, row_lower, row_upper, lower, upper, integrality, maximize, time_limit,
            mip_rel_gap, threads, lp_method, cutoff,
        )  # fmt: skip
    return _solve_scipy(
        c, a, row_lower, row_upper, lower, upper, integrality, maximize, time_limit, mip_rel_gap,
        lp_method,
    )  # fmt: skip


def _solve_highspy(
    hs, c, a, row_lower, row_upper, lower, upper, integrality, maximize, time_limit, gap, threads,
    lp_method, cutoff=None,
) -> SolveResult:  # fmt: skip
    from importlib.metadata import version

    core = getattr(hs, "_core", None)
    # The bare core class does not print HiGHS' banner on construction (highspy.Highs does,
    # on stdout, before any option can silence it); fall back to the public class.
    h = core._Highs() if core is not None and hasattr(core, "_Highs") else hs.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", float(gap))
    if gap == 0.0:
        h.setOptionValue("mip_abs_gap", 1e-9)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    if cutoff is not None and integrality.any():
        h.setOptionValue("objective_bound", float(cutoff))
    if lp_method == "ipm" and not integrality.any():
        h.setOptionValue("solver", "ipm")
    n_col, n_row = len(c), a.shape[0]
    lp = hs.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = c
    lp.col_lower_ = np.asarray(lower, dtype=float)
    lp.col_upper_ = np.asarray(upper, dtype=float)
    lp.row_lower_ = np.asarray(row_lower, dtype=float)
    lp.row_upper_ = np.asarray(row_upper, dtype=float)
    lp.sense_ = hs.ObjSense.kMaximize if maximize else hs.ObjSense.kMinimize
    lp.a_matrix_.format_ = hs.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n_col
    lp.a_matrix_.num_row_ = n_row
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    is_mip = bool(integrality.any())
    if is_mip:
        lp.integrality_ = [
            hs.HighsVarType.kInteger if f else hs.HighsVarType.kContinuous for f in integrality
        ]
    # No MIP start is passed: with presolve on, HiGHS 1.16 returned a wrong "optimal" answer
    # from a feasible start on a set-covering instance (checked while writing this module).
    h.passModel(lp)
    t0 = time.perf_counter()
    run_highs(h, hs)
    runtime = time.perf_counter() - t0
    ms = h.getModelStatus()
    info = h.getInfo()
    st = hs.HighsModelStatus
    has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if ms == st.kOptimal:
        status = OPTIMAL
    elif ms in (st.kTimeLimit, st.kIterationLimit, st.kInterrupt, st.kSolutionLimit):
        status = TIME_LIMIT
    elif ms == st.kInfeasible:
        status = INFEASIBLE
    elif ms in (st.kUnbounded, st.kUnboundedOrInfeasible):
        status = UNBOUNDED
    else:
        status = ERROR
    name = f"highspy {version('highspy')}"
    if not has_x or status in (INFEASIBLE, UNBOUNDED):
        return SolveResult(status, None, float("nan"), float("nan"), float("inf"), runtime, name)
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=float)
    obj = float(info.objective_function_value)
    if is_mip:
        bound = float(info.mip_dual_bound)
        return SolveResult(status, x, obj, bound, _gap(obj, bound), runtime, name)
    row_duals = np.asarray(sol.row_dual, dtype=float)
    col_duals = np.asarray(sol.col_dual, dtype=float)
    return SolveResult(status, x, obj, obj, 0.0, runtime, name, row_duals, col_duals)


def _solve_scipy(
    c, a, row_lower, row_upper, lower, upper, integrality, maximize, time_limit, gap, lp_method
) -> SolveResult:
    import scipy
    from scipy.optimize import Bounds, LinearConstraint, milp

    name = f"scipy {scipy.__version__} (HiGHS)"
    sign = -1.0 if maximize else 1.0
    options: dict[str, object] = {"mip_rel_gap": float(gap)}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    t0 = time.perf_counter()
    is_mip = bool(integrality.any())
    if is_mip:
        res = milp(
            sign * c,
            constraints=LinearConstraint(a, row_lower, row_upper) if a.shape[0] else None,
            integrality=integrality.astype(int),
            bounds=Bounds(lower, upper),
            options=options,
        )
        runtime = time.perf_counter() - t0
        status = {0: OPTIMAL, 1: TIME_LIMIT, 2: INFEASIBLE, 3: UNBOUNDED}.get(res.status, ERROR)
        if res.x is None:
            return SolveResult(
                status, None, float("nan"), float("nan"), float("inf"), runtime, name
            )
        obj = sign * float(res.fun)
        bound = sign * float(getattr(res, "mip_dual_bound", res.fun))
        return SolveResult(status, np.asarray(res.x), obj, bound, _gap(obj, bound), runtime, name)
    from scipy.optimize import linprog

    # linprog takes A_ub x <= b_ub and A_eq x = b_eq: split the ranged rows.
    a = sparse.csr_array(a)
    rl, ru = np.asarray(row_lower, float), np.asarray(row_upper, float)
    eq = np.isfinite(rl) & np.isfinite(ru) & (rl == ru)
    up = np.isfinite(ru) & ~eq
    lo = np.isfinite(rl) & ~eq
    a_ub = sparse.vstack([a[up], -a[lo]]).tocsr() if (up.any() or lo.any()) else None
    b_ub = np.concatenate([ru[up], -rl[lo]]) if a_ub is not None else None
    res = linprog(
        sign * c,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=a[eq] if eq.any() else None,
        b_eq=rl[eq] if eq.any() else None,
        bounds=np.column_stack([lower, upper]),
        method="highs-ipm" if lp_method == "ipm" else "highs",
        options={"time_limit": float(time_limit)} if time_limit is not None else None,
    )
    runtime = time.perf_counter() - t0
    status = {0: OPTIMAL, 1: TIME_LIMIT, 2: INFEASIBLE, 3: UNBOUNDED}.get(res.status, ERROR)
    if res.x is None or status != OPTIMAL:
        return SolveResult(status, None, float("nan"), float("nan"), float("inf"), runtime, name)
    obj = sign * float(res.fun)
    # Row duals in the original row order and in the model's sense (see SolveResult).
    duals = np.zeros(a.shape[0])
    n_up = int(up.sum())
    if a_ub is not None:
        m_ub = np.asarray(res.ineqlin.marginals)
        duals[up] += m_ub[:n_up]
        duals[lo] -= m_ub[n_up:]
    if eq.any():
        duals[eq] = np.asarray(res.eqlin.marginals)
    col = np.asarray(res.lower.marginals) + np.asarray(res.upper.marginals)
    return SolveResult(
        status, np.asarray(res.x), obj, obj, 0.0, runtime, name, sign * duals, sign * col
    )


#: Target of the exact power-of-two scalings (see ``_model``): totals into [1e6, 2e6).
WEIGHT_SCALE_TO = 1e6


def _pow2(value: float, target: float = WEIGHT_SCALE_TO) -> float:
    """Power of two that brings a positive ``value`` into [target, 2 target) (1 otherwise).

    Multiplying by it is exact in floating point: the models and the Benders master scale
    weights, capacities and costs with it against HiGHS's absolute tolerances.
    """
    if not 0 < value < np.inf:
        return 1.0
    # the exponent clamped to what a double holds (2.0 ** 1024 overflows)
    return float(np.ldexp(1.0, int(np.clip(np.ceil(np.log2(target / value)), -1021, 1023))))
