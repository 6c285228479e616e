"""Run one peer solver on one p-median instance, in the peer's own environment.

Usage (with the peer's interpreter, see ``benchmarks/README.md``)::

    <peer-venv>/bin/python benchmarks/peers/run_peer.py PEER INSTANCE.npz TIME_LIMIT

``PEER`` is ``spopt`` (spopt's ``PMedian.from_cost_matrix`` solved by CBC through PuLP with
``gapRel=0``) or ``highs`` (the classical strong p-median MIP of ReVelle & Swain 1970 solved by
highspy with ``mip_rel_gap=0``). ``INSTANCE.npz`` holds ``cost`` (demand × candidates),
``weights`` and ``p``. Prints one JSON line: seconds (model build and solve, after imports),
CPU seconds (with the CBC child process), objective, the peer's own proof status and whether
it proves optimality, and the versions.

Proof status, honestly: PuLP's ``LpStatus`` says "Optimal" also for a CBC run stopped by its
time limit with a feasible solution; only ``sol_status == LpSolutionOptimal`` means proven.
For HiGHS, ``kOptimal`` at ``mip_rel_gap=0`` is proven.

This file imports nothing from dongne: it runs where dongne is not installed.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version

import numpy as np


def run_spopt(cost: np.ndarray, w: np.ndarray, p: int, limit: float) -> dict:
    import pulp
    from spopt.locate import PMedian

    t0 = time.perf_counter()
    model = PMedian.from_cost_matrix(cost, w, p_facilities=p)
    solver = pulp.PULP_CBC_CMD(msg=False, gapRel=0, timeLimit=limit)
    model = model.solve(solver)
    prob = model.problem
    proven = prob.sol_status == pulp.LpSolutionOptimal
    return {
        "seconds": time.perf_counter() - t0,
        "objective": float(prob.objective.value()),
        "status": f"{pulp.LpStatus[prob.status]} / sol_status {pulp.LpSolution[prob.sol_status]}",
        "proven": bool(proven),
        "versions": {k: version(k) for k in ("spopt", "pulp")},
    }


def run_highs(cost: np.ndarray, w: np.ndarray, p: int, limit: float) -> dict:
    import highspy
    from scipy import sparse

    t0 = time.perf_counter()
    n, m = cost.shape
    k = n * m
    rows = np.arange(n).repeat(m)
    cols = m + np.arange(k)
    link_rows = np.r_[np.arange(k), np.arange(k)]
    link_cols = np.r_[cols, np.tile(np.arange(m), n)]
    # x_ij (column m + i*m + j): Σ_j x_ij = 1; x_ij - y_j <= 0; Σ_j y_j = p.
    a = sparse.vstack(
        [
            sparse.csr_array((np.ones(k), (rows, cols)), shape=(n, m + k)),
            sparse.csr_array((np.r_[np.ones(k), -np.ones(k)], (link_rows, link_cols)), (k, m + k)),
            sparse.csr_array((np.ones(m), (np.zeros(m, int), np.arange(m))), shape=(1, m + k)),
        ]
    ).tocsc()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("time_limit", float(limit))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m + k, a.shape[0]
    lp.col_cost_ = np.r_[np.zeros(m), (w[:, None] * cost).ravel()]
    lp.col_lower_ = np.zeros(m + k)
    lp.col_upper_ = np.ones(m + k)
    lp.row_lower_ = np.r_[np.ones(n), np.full(k, -np.inf), [p]]
    lp.row_upper_ = np.r_[np.ones(n), np.zeros(k), [p]]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * k
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    return {
        "seconds": time.perf_counter() - t0,
        "objective": float(info.objective_function_value),
        "bound": float(info.mip_dual_bound),
        "status": h.modelStatusToString(status),
        "proven": status == highspy.HighsModelStatus.kOptimal,
        "versions": {"highspy": version("highspy")},
    }


def main() -> None:
    peer, path, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
    data = np.load(path)
    run = {"spopt": run_spopt, "highs": run_highs}[peer]
    c0 = _cpu()
    out = run(data["cost"], data["weights"], int(data["p"]), limit)
    out["cpu_s"] = _cpu() - c0  # this process and its finished children (CBC runs apart)
    print(json.dumps(out))


def _cpu() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
