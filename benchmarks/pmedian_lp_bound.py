"""The exact LP relaxation of a random p-median, bracketed by two certificates.

Run: ``python benchmarks/pmedian_lp_bound.py 10000 1000 50`` (``--full``: the whole n × m LP
in one solve, for checking on small instances; ``--rounds R``: at most R LPs).

Model: the strong (Cornuéjols, Nemhauser & Wolsey 1980) formulation
``min Σ c_ij x_ij, Σ_j x_ij = 1, x_ij ≤ y_j, Σ_j y_j = p, 0 ≤ x, y ≤ 1`` with c_ij = w_i d_ij
(the instance of ``bench_allocate.py --pmedian``: ``generate("uniform", n, m, seed=0,
weights="integer")``). Each unit i keeps only its K_i nearest pairs plus one *overflow*
column at the cost of its (K_i + 1)-th nearest site with no x ≤ y row — a relaxation, so the
restricted LP value is at most the LP value; K_i starts at the number of pairs cheaper than
the root Lagrangian multiplier of ``PMedian(method="exact")`` plus one, and doubles for the
units whose overflow is positive, until none is. HiGHS dual simplex, one thread.

Every printed bracket is certified outside HiGHS: the **lower** value is the Lagrangian bound
L(u) = Σ_i u_i + (sum of the p smallest ρ_j), ρ_j = Σ_i min(0, c_ij − u_i), over *all* pairs,
at the LP's row duals u (any u gives a lower bound on the LP and on the p-median; Beasley
1993); the **upper** value is the cost of the best assignment for the LP's fractional y (each
unit fills its nearest sites up to y_j until it has 1), a feasible point of the full LP.
When they meet, that is the LP value.

References: Cornuéjols, G., Nemhauser, G. L. & Wolsey, L. A. (1980). SIAM J. Algebraic
Discrete Methods 1(3):261–272. Beasley, J. E. (1993). EJOR 65:383–399.
"""

from __future__ import annotations

import argparse
import resource
import time

import highspy
import numpy as np
from scipy import sparse

from dongne.allocate._radius import _Search
from dongne.allocate.instances import generate


def lagrangian_value(c: np.ndarray, u: np.ndarray, p: int) -> float:
    """L(u) over every (unit, site) pair: a lower bound on the LP and on the p-median."""
    rho = np.minimum(c - u[:, None], 0.0).sum(axis=0)
    return float(u.sum() + np.sort(rho)[:p].sum())


def fill_value(c: np.ndarray, order: np.ndarray, y: np.ndarray) -> float:
    """Cost of the best assignment for fractional ``y`` (Σ y = p, 0 ≤ y ≤ 1): an LP upper
    bound. Each unit takes x_ij = y_j from its nearest sites on until it has 1."""
    ys = y[order]
    before = np.cumsum(ys, axis=1) - ys
    x = np.clip(np.minimum(ys, 1.0 - before), 0.0, None)
    if np.abs(x.sum(axis=1) - 1.0).max() > 1e-6:
        return float("inf")
    return float((np.take_along_axis(c, order, axis=1) * x).sum())


def restricted_lp(c, order, keep, p, time_limit):
    """LP over each unit's ``keep[i]`` nearest pairs plus its overflow column.

    Returns (status, value, y, row duals u of the assignment rows, overflow per unit, s)."""
    n, m = c.shape
    ii = np.repeat(np.arange(n), keep)
    jj = order[ii, np.arange(len(ii)) - np.repeat(np.cumsum(keep) - keep, keep)]
    k = len(ii)
    nxt = c[np.arange(n), order[np.arange(n), np.minimum(keep, m - 1)]]
    over = np.where(keep < m, nxt, 1e30)  # keep = m: every pair is in, no overflow
    # columns: y (m), x (k), overflow (n); rows: assignment (n), x ≤ y (k), Σ y = p
    rows = np.concatenate([ii, n + np.arange(k), n + np.arange(k), np.full(m, n + k),
                           np.arange(n)])  # fmt: skip
    cols = np.concatenate([m + np.arange(k), m + np.arange(k), jj, np.arange(m),
                           m + k + np.arange(n)])  # fmt: skip
    vals = np.concatenate([np.ones(k), -np.ones(k), np.ones(k), np.ones(m), np.ones(n)])
    a = sparse.csc_matrix((vals, (rows, cols)), shape=(n + k + 1, m + k + n))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m + k + n, n + k + 1
    lp.col_cost_ = np.concatenate([np.zeros(m), c[ii, jj], over])
    lp.col_lower_, lp.col_upper_ = np.zeros(m + k + n), np.ones(m + k + n)
    lp.row_lower_ = np.concatenate([np.ones(n), np.zeros(k), [p]])
    lp.row_upper_ = np.concatenate([np.ones(n), np.full(k, np.inf), [p]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("simplex_strategy", 1)  # dual
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(time_limit))
    h.passModel(lp)
    t = time.perf_counter()
    h.run()
    sol = h.getSolution()
    x = np.asarray(sol.col_value)
    return (str(h.getModelStatus()), h.getInfo().objective_function_value,
            np.clip(x[:m], 0.0, 1.0), np.asarray(sol.row_dual[:n]), x[m + k:],
            time.perf_counter() - t)  # fmt: skip


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("m", type=int)
    ap.add_argument("p", type=int)
    ap.add_argument("--full", action="store_true", help="all n × m pairs in one LP")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--time-limit", type=float, default=3600.0, help="seconds per LP")
    args = ap.parse_args()
    problem = generate("uniform", args.n, args.m, seed=0, weights="integer")
    d, w = problem.distances(), np.asarray(problem.weights, float)
    c = w[:, None] * d
    order = np.argsort(c, axis=1, kind="stable")
    t = time.perf_counter()
    root = _Search(d, w, args.p, np.full(args.n, np.inf), None,
                   {"mip_rel_gap": 0.0, "threads": None, "backend": "auto"})  # fmt: skip
    print(f"root ({time.perf_counter() - t:.1f} s): incumbent {root.ub:,.1f}, subgradient "
          f"bound {root.lag:,.1f} (L recomputed over all pairs "
          f"{lagrangian_value(c, root.lam, args.p):,.1f})", flush=True)  # fmt: skip
    keep = (np.full(args.n, args.m) if args.full
            else np.maximum((c <= root.lam[:, None]).sum(axis=1) + 1, 2))  # fmt: skip
    for r in range(args.rounds):
        status, value, y, u, over, s = restricted_lp(c, order, keep, args.p, args.time_limit)
        low, up = lagrangian_value(c, u, args.p), fill_value(c, order, y)
        grow = over > 1e-9
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"LP {r}: {keep.sum():,} pairs, {status}, {s:.1f} s, restricted value "
              f"{value:,.2f}; certified LP in [{low:,.2f}, {up:,.2f}] (width {up - low:,.2f}); "
              f"fractional sites {int(((y > 1e-6) & (y < 1 - 1e-6)).sum())}; units overflowing "
              f"{int(grow.sum())}; peak memory {rss:,.0f} MB", flush=True)  # fmt: skip
        if not grow.any():
            break
        keep[grow] = np.minimum(2 * keep[grow], args.m)


if __name__ == "__main__":
    main()
