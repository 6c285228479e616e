"""Set covering heuristic with a Lagrangian lower bound (Beasley 1990), for LSCP.

:func:`lagrangian_cover` runs subgradient optimisation on the Lagrangian relaxation of the
unicost set covering problem (relaxing "every row covered"); its value is a lower bound on the
number of sites. Every few iterations the Lagrangian solution is completed to a cover, by
picking the sites that cover the most uncovered rows at the lowest Lagrangian cost, and
redundant sites are dropped (worst reduced cost first). A final drop-and-repair local search
closes a few sites of the best cover and repairs it the same way, keeping any cover that is no
larger (so it walks plateaus). Seeded: the same input and seed give the same cover.

References
----------
Beasley, J. E. (1990). A Lagrangian heuristic for set-covering problems. *Naval Research
Logistics* 37(1):151–164.
Caprara, A., Fischetti, M. & Toth, P. (1999). A heuristic method for the set covering
problem. *Operations Research* 47(5):730–743.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse

__all__ = ["lagrangian_cover"]


def lagrangian_cover(
    agg: sparse.csr_array,
    *,
    iterations: int = 400,
    rounds: int = 3000,
    seed: int = 0,
    time_limit: float | None = None,
) -> tuple[np.ndarray, float]:
    """A small set of columns of ``agg`` covering every row, and a lower bound on the minimum.

    Parameters
    ----------
    agg : sparse matrix, shape (rows, sites)
        0/1 coverage; every row must have at least one column.
    iterations : int
        Subgradient iterations (a cover is built every 20).
    rounds : int
        Drop-and-repair rounds of the local search.
    seed : int
        Seed of the local search's random choices.
    time_limit : float, optional
        Seconds for the whole heuristic.

    Returns
    -------
    chosen : ndarray of int
        Sorted column positions of the cover.
    bound : float
        Best Lagrangian lower bound (the minimum number of columns is at least its ceiling).
    """
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    a = sparse.csr_array(agg, dtype=float)
    at = sparse.csr_array(a.T)
    m = a.shape[1]
    size = np.asarray(at.sum(axis=1)).ravel()
    # u_k: the cheapest "cost per row" among the columns covering row k.
    per_row = np.where(size > 0, 1.0 / np.maximum(size, 1), np.inf)
    u = _row_min(a, per_row)
    best = _complete(a, at, np.zeros(m, dtype=bool), np.ones(m))
    best_lb, f, stall = 0.0, 2.0, 0
    for it in range(iterations):
        if deadline is not None and time.perf_counter() > deadline:
            break
        rc = 1.0 - at @ u
        x = rc < 0
        lb = float(u.sum() + rc[x].sum())
        if lb > best_lb + 1e-9:
            best_lb, stall = lb, 0
        else:
            stall += 1
            if stall >= 20:
                f, stall = f / 2, 0
        if it % 20 == 0:
            cover = _complete(a, at, x, rc)
            if len(cover) < len(best):
                best = cover
        if np.ceil(best_lb - 1e-9) >= len(best) or f < 1e-4:
            break
        g = 1.0 - a @ x.astype(float)
        norm = float(g @ g)
        if norm == 0:
            break
        u = np.maximum(0.0, u + f * (1.05 * len(best) - lb) / norm * g)
    rc = 1.0 - at @ u
    best = _local_search(a, at, best, rc, rounds, seed, deadline, np.ceil(best_lb - 1e-9))
    return np.sort(best), best_lb


def _row_min(a: sparse.csr_array, values: np.ndarray) -> np.ndarray:
    """Per row, the minimum of ``values`` over the row's columns."""
    out = np.full(a.shape[0], np.inf)
    rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
    np.minimum.at(out, rows, values[a.indices])
    return np.where(np.isfinite(out), out, 0.0)


def _complete(a, at, start: np.ndarray, rc: np.ndarray) -> np.ndarray:
    """Complete the columns ``start`` to a cover greedily, then drop redundant columns."""
    chosen = start.copy()
    count = a @ chosen.astype(float)
    uncovered = count < 0.5
    # Lower Lagrangian cost first: a column's score is its new rows per unit of (shifted) cost.
    cost = 1.0 + np.clip(rc, -0.99, None)
    while uncovered.any():
        gain = at @ uncovered.astype(float)
        gain[chosen] = 0.0
        j = int(np.argmax(gain / cost))
        if gain[j] <= 0:
            break  # a row no column covers (callers exclude them)
        chosen[j] = True
        lo, hi = at.indptr[j], at.indptr[j + 1]
        rows = at.indices[lo:hi]
        count[rows] += 1
        uncovered[rows] = False
    return _drop_redundant(at, np.flatnonzero(chosen), count, rc)


def _drop_redundant(at, chosen: np.ndarray, count: np.ndarray, rc: np.ndarray) -> np.ndarray:
    """Drop columns whose rows are all covered twice, highest reduced cost first."""
    keep = np.ones(len(chosen), dtype=bool)
    order = np.argsort(-rc[chosen], kind="stable")
    for pos in order:
        j = chosen[pos]
        rows = at.indices[at.indptr[j] : at.indptr[j + 1]]
        if (count[rows] >= 2).all():
            count[rows] -= 1
            keep[pos] = False
    return chosen[keep]


def _local_search(a, at, best, rc, rounds, seed, deadline, lower) -> np.ndarray:
    """Drop-and-repair on neighbourhoods: close an open site and open sites that share rows
    with it, repair greedily (noisy Lagrangian costs) and drop sites made redundant; keep the
    cover when it is no larger (plateau moves), so the search walks across the map. Each move
    touches only the rows near the closed sites."""
    rng = np.random.default_rng(seed)
    m = a.shape[1]
    open_ = np.zeros(m, dtype=bool)
    open_[best] = True
    count = a @ open_.astype(float)
    size = best_size = len(best)
    for _ in range(rounds):
        if best_size <= lower or (deadline is not None and time.perf_counter() > deadline):
            break
        j = int(rng.choice(np.flatnonzero(open_)))
        drop = _neighbourhood(a, at, open_, j, rng)
        noisy = rc + rng.uniform(0.0, 0.3, m)
        noisy[drop] += 0.5  # prefer other sites than those just closed
        trial_open, trial_count = open_.copy(), count.copy()
        new_size = _move(a, at, trial_open, trial_count, drop, noisy, size)
        if new_size <= size:
            open_, count, size = trial_open, trial_count, new_size
            if size < best_size:
                best, best_size = np.flatnonzero(open_), size
    return best


def _move(a, at, open_, count, drop, cost, size) -> int:
    """Close ``drop``, repair the rows left uncovered, drop redundant sites; the new size."""
    for j in drop:
        open_[j] = False
        count[at.indices[at.indptr[j] : at.indptr[j + 1]]] -= 1
    rows = np.unique(np.concatenate([at.indices[at.indptr[j] : at.indptr[j + 1]] for j in drop]))
    todo = rows[count[rows] < 0.5]
    added = []
    weight = 1.0 + np.clip(cost, -0.99, None)
    while len(todo):
        sub = a[todo]
        gain = np.bincount(sub.indices, minlength=a.shape[1]).astype(float)
        j = int(np.argmax(gain / weight))
        open_[j] = True
        added.append(j)
        covered = at.indices[at.indptr[j] : at.indptr[j + 1]]
        count[covered] += 1
        todo = todo[count[todo] < 0.5]
    size += len(added) - len(drop)
    near = np.unique(a[np.unique(np.concatenate(
        [at.indices[at.indptr[j] : at.indptr[j + 1]] for j in added] or [rows]
    ))].indices)  # fmt: skip
    for j in near[open_[near]][np.argsort(-cost[near[open_[near]]], kind="stable")]:
        r = at.indices[at.indptr[j] : at.indptr[j + 1]]
        if (count[r] >= 2).all():
            open_[j] = False
            count[r] -= 1
            size -= 1
    return size


def _neighbourhood(a, at, open_: np.ndarray, j: int, rng) -> np.ndarray:
    """``j`` and up to 3 other open sites that cover rows also reachable from ``j``'s rows."""
    rows = at.indices[at.indptr[j] : at.indptr[j + 1]]
    near = np.unique(a[rows].indices) if len(rows) else np.zeros(0, dtype=np.int64)
    others = near[open_[near] & (near != j)]
    take = rng.choice(others, size=min(len(others), int(rng.integers(1, 4))), replace=False)
    return np.concatenate([[j], take]).astype(np.int64)
