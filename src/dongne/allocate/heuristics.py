"""Fast heuristics and bounds for large location problems: pure functions over arrays.

* Maximal covering: greedy (each step adds the site with the largest marginal coverage; the
  coverage function is monotone submodular, so greedy reaches at least 1 − 1/e of the optimum,
  Nemhauser, Wolsey & Fisher 1978), then 1-swap local search with exact swap profits, and an
  iterated local search (Lourenço, Martin & Stützle 2003) that kicks a 1-swap optimum by
  replacing a few sites with sites that reach uncovered demand.
* p-median: greedy addition, then vertex substitution (Teitz & Bart 1968) evaluated all at
  once with Whitaker's fast-interchange bookkeeping (nearest and second-nearest open site;
  Whitaker 1983; Resende & Werneck 2004); a Lagrangian lower bound (relaxing the assignment
  constraints, Beasley 1993) gives the optimality gap without an LP of n × m columns.

Every tie goes to the lowest site position, so results are reproducible.

References
----------
Nemhauser, G. L., Wolsey, L. A. & Fisher, M. L. (1978). An analysis of approximations for
maximizing submodular set functions. Mathematical Programming 14:265–294.
Teitz, M. B. & Bart, P. (1968). Heuristic methods for estimating the generalized vertex median
of a weighted graph. Operations Research 16(5):955–961.
Whitaker, R. (1983). A fast algorithm for the greedy interchange for large-scale clustering and
median location problems. INFOR 21(2):95–108.
Resende, M. G. C. & Werneck, R. F. (2004). A hybrid heuristic for the p-median problem.
Journal of Heuristics 10:59–88.
Lourenço, H. R., Martin, O. C. & Stützle, T. (2003). Iterated local search. In Glover, F. &
Kochenberger, G. (eds.), Handbook of Metaheuristics, 321–353. Kluwer.
Beasley, J. E. (1993). Lagrangean heuristics for location problems. European Journal of
Operational Research 65:383–399.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit
from scipy import sparse

__all__ = [
    "coverage_grasp",
    "coverage_greedy",
    "coverage_ils",
    "coverage_lagrangian_bound",
    "coverage_swap",
    "median_greedy",
    "median_interchange",
    "median_lagrangian_bound",
    "median_objective",
    "median_sorted_rows",
]


# --------------------------------------------------------------------------- coverage
def coverage_greedy(
    a: sparse.csr_array,
    w: np.ndarray,
    p: int,
    *,
    rng: np.random.Generator | None = None,
    alpha: int = 1,
) -> np.ndarray:
    """Greedy maximal covering: ``p`` column positions of the 0/1 matrix ``a`` (rows × sites).

    ``w`` are the row weights. With ``rng`` and ``alpha > 1`` each step picks at random among
    the ``alpha`` best sites (the randomised greedy of GRASP, Resende 1998). Returns the
    chosen positions in the order they were added.
    """
    a = sparse.csr_array(a, dtype=float)
    at = sparse.csc_array(a)
    m = a.shape[1]
    uncovered = np.ones(a.shape[0], dtype=bool)
    gains = a.T @ w
    chosen: list[int] = []
    available = np.ones(m, dtype=bool)
    for _ in range(min(p, m)):
        masked = np.where(available, gains, -np.inf)
        if rng is not None and alpha > 1 and available.sum() > alpha:
            top = np.sort(np.argpartition(-masked, alpha - 1)[:alpha])
            j = int(top[rng.integers(alpha)])
        else:
            j = int(np.argmax(masked))
        chosen.append(j)
        available[j] = False
        rows = at.indices[at.indptr[j] : at.indptr[j + 1]]
        rows = rows[uncovered[rows]]
        if len(rows):
            uncovered[rows] = False
            gains = gains - a[rows].T @ w[rows]
    return np.asarray(chosen, dtype=np.int64)


def coverage_swap(
    a: sparse.csr_array,
    w: np.ndarray,
    chosen: np.ndarray,
    *,
    max_iter: int = 10_000,
    time_limit: float | None = None,
) -> np.ndarray:
    """Best-improvement 1-swap local search for maximal covering, from ``chosen``.

    For every open site r and closed site j the exact change of covered weight is
    ``gain(j) − loss(r) + extra(r, j)``: weight that j would newly cover, weight covered only
    by r, and weight covered only by r that j also covers. The best swap is made while it
    improves by more than 1e-12 of the total weight.
    """
    a = sparse.csr_array(a, dtype=float)
    m = a.shape[1]
    indptr, indices = a.indptr.astype(np.int64), a.indices.astype(np.int64)
    w = np.asarray(w, dtype=float)
    open_ = np.zeros(m, dtype=bool)
    open_[chosen] = True
    tol = 1e-12 * max(float(w.sum()), 1.0)
    start = time.perf_counter()
    for _ in range(max_iter):
        counts = a @ open_.astype(float)
        single = w * (counts == 1)
        gain = a.T @ (w * (counts == 0))
        loss = a.T @ single
        s = np.flatnonzero(open_)
        position = np.full(m, -1, dtype=np.int64)
        position[s] = np.arange(len(s))
        extra = _swap_extra(indptr, indices, single, position, len(s), m)
        profit = gain[None, :] - loss[s][:, None] + extra
        profit[:, open_] = -np.inf
        k = int(np.argmax(profit))
        r, j = divmod(k, m)
        if not profit[r, j] > tol:
            break
        open_[s[r]] = False
        open_[j] = True
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
    return np.flatnonzero(open_)


@njit(cache=True)
def _swap_extra(indptr, indices, single, position, n_open, m):  # pragma: no cover - numba
    """extra[r, j] = Σ_i single_i · a_ir · a_ij over rows covered by exactly one open site r.

    One pass over the non-zeros of those rows: each adds its weight to every site that also
    reaches it, in the row of its only open site.
    """
    extra = np.zeros((n_open, m))
    for i in range(len(indptr) - 1):
        if single[i] == 0.0:
            continue
        r = -1
        for k in range(indptr[i], indptr[i + 1]):
            if position[indices[k]] >= 0:
                r = position[indices[k]]
                break
        for k in range(indptr[i], indptr[i + 1]):
            extra[r, indices[k]] += single[i]
    return extra


def coverage_grasp(
    a: sparse.csr_array,
    w: np.ndarray,
    p: int,
    *,
    restarts: int = 10,
    alpha: int = 3,
    seed: int = 0,
    stop_at: float = np.inf,
    time_limit: float | None = None,
) -> tuple[np.ndarray, float]:
    """GRASP: randomised greedy starts, each improved by :func:`coverage_swap`; the best wins.

    Reproducible for a given ``seed``; stops early once a solution reaches ``stop_at`` (a
    proven bound) or after ``time_limit`` seconds. Returns the sites and their covered weight.
    """
    rng = np.random.default_rng(seed)
    best, best_cov = np.zeros(0, dtype=np.int64), -np.inf
    t0 = time.perf_counter()
    for _ in range(restarts):
        chosen = coverage_swap(a, w, coverage_greedy(a, w, p, rng=rng, alpha=alpha))
        y = np.zeros(a.shape[1])
        y[chosen] = 1.0
        cov = float(w @ np.minimum(a @ y, 1.0))
        if cov > best_cov:
            best, best_cov = np.sort(chosen), cov
        if best_cov >= stop_at - 1e-9 * max(1.0, abs(stop_at)):
            break
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
    return best, best_cov


def coverage_ils(
    a: sparse.csr_array,
    w: np.ndarray,
    start: np.ndarray,
    *,
    rounds: int = 200,
    kick: int = 3,
    seed: int = 0,
    stop_at: float = np.inf,
    time_limit: float | None = None,
) -> tuple[np.ndarray, float]:
    """Iterated local search for maximal covering from the sites ``start``.

    Each round closes ``kick`` open sites at random and opens as many closed sites that reach
    demand left uncovered (at random among them), then descends with :func:`coverage_swap`.
    The new solution is accepted when it covers at least as much as the current one (so the
    search walks across plateaus); the best is kept. Stops after ``rounds`` rounds, once the
    best reaches ``stop_at`` (a proven bound) or after ``time_limit`` seconds. Reproducible
    for a given ``seed`` (without ``time_limit``). Returns the sites and their covered weight.
    """
    a = sparse.csr_array(a, dtype=float)
    m = a.shape[1]
    rng = np.random.default_rng(seed)

    def covered(chosen):
        y = np.zeros(m)
        y[chosen] = 1.0
        counts = a @ y
        return float(w @ np.minimum(counts, 1.0)), counts

    cur = np.sort(coverage_swap(a, w, start))
    cur_cov, _ = covered(cur)
    best, best_cov = cur, cur_cov
    tol = 1e-9 * max(1.0, abs(stop_at)) if np.isfinite(stop_at) else 0.0
    kick = min(kick, len(cur), m - len(cur))
    t0 = time.perf_counter()
    for _ in range(rounds if kick > 0 else 0):
        if best_cov >= stop_at - tol:
            break
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
        keep = np.setdiff1d(cur, rng.choice(cur, kick, replace=False))
        _, counts = covered(keep)
        reach = np.unique(a[np.flatnonzero((counts == 0) & (w > 0))].indices)
        pool = np.setdiff1d(reach, cur)
        if len(pool) < kick:
            pool = np.setdiff1d(np.arange(m), keep)
        nxt = np.sort(coverage_swap(a, w, np.union1d(keep, rng.choice(pool, kick, replace=False))))
        nxt_cov, _ = covered(nxt)
        if nxt_cov >= cur_cov:
            cur, cur_cov = nxt, nxt_cov
            if cur_cov > best_cov:
                best, best_cov = cur, cur_cov
    return best, best_cov


def coverage_lagrangian_bound(
    a: sparse.csr_array,
    w: np.ndarray,
    p: int,
    lower: float,
    *,
    max_iter: int = 400,
    time_limit: float | None = None,
) -> tuple[float, np.ndarray]:
    """Upper bound on the maximal covering optimum by Lagrangian relaxation.

    Relaxing z_i <= Σ_j a_ij y_j with multipliers λ_i >= 0 gives
    L(λ) = Σ_i max(0, w_i − λ_i) + (sum of the p largest (Aᵀλ)_j), an upper bound for every
    λ (Galvão & ReVelle 1996); subgradient steps (Polyak, towards ``lower``, a known
    solution's value) minimise it. The relaxation has the integrality property, so its best
    value is the LP relaxation bound in the limit. Returns the best bound found and the sites
    picked at that λ (a good start for local search: the Lagrangian heuristic).
    """
    a = sparse.csr_array(a, dtype=float)
    at = sparse.csr_array(a.T)
    m = a.shape[1]
    if p <= 0 or m == 0:
        return (float(w.sum()) if p > 0 else 0.0), np.zeros(0, dtype=np.int64)
    lam = 0.5 * w
    best = np.inf
    best_pick = np.zeros(0, dtype=np.int64)
    theta, stall = 1.0, 0
    t0 = time.perf_counter()
    for _ in range(max_iter):
        c = at @ lam
        pick = np.argpartition(-c, p - 1)[:p] if p < m else np.arange(m)
        z = w > lam
        value = float((w - lam)[z].sum() + c[pick].sum())
        if value < best - 1e-12 * max(abs(best), 1.0) if np.isfinite(best) else True:
            best, best_pick, stall = value, pick, 0
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2, 0
        if best - lower <= 1e-9 * max(abs(lower), 1.0) or theta < 1e-5:
            break
        y = np.zeros(m)
        y[pick] = 1.0
        g = a @ y - z
        norm = float(g @ g)
        if norm == 0:
            break
        lam = np.maximum(lam - theta * (value - lower) / norm * g, 0.0)
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
    return best, np.sort(best_pick)


# --------------------------------------------------------------------------- p-median
def median_objective(d: np.ndarray, w: np.ndarray, chosen: np.ndarray, base: np.ndarray) -> float:
    """Σ_i w_i · min(base_i, min_{j ∈ chosen} d_ij)."""
    best = base if not len(chosen) else np.minimum(base, d[:, chosen].min(axis=1))
    return float(w @ best)


def median_greedy(d: np.ndarray, w: np.ndarray, p: int, base: np.ndarray) -> np.ndarray:
    """Greedy addition for the p-median: each step adds the site that lowers Σ w·d the most.

    ``base`` holds each row's distance to the nearest fixed-open site (``inf`` for none).
    """
    cur = base.astype(float).copy()
    m = d.shape[1]
    available = np.ones(m, dtype=bool)
    chosen: list[int] = []
    for _ in range(min(p, m)):
        finite = np.isfinite(cur)
        if finite.all():
            score = -(w @ np.maximum(cur[:, None] - d, 0.0))
        else:
            score = w[~finite] @ d[~finite] - w[finite] @ np.maximum(
                cur[finite, None] - d[finite], 0.0
            )
        score = np.where(available, score, np.inf)
        j = int(np.argmin(score))
        chosen.append(j)
        available[j] = False
        cur = np.minimum(cur, d[:, j])
    return np.asarray(chosen, dtype=np.int64)


def median_interchange(
    d: np.ndarray,
    w: np.ndarray,
    chosen: np.ndarray,
    base: np.ndarray,
    *,
    max_iter: int = 10_000,
    time_limit: float | None = None,
    sorted_rows: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Vertex substitution (Teitz & Bart) with fast-interchange profits, best improvement.

    ``base`` is the distance to fixed-open sites, which are never removed. Returns the
    improved positions (sorted). The profits of every (removed, added) pair are rebuilt at
    each step from each unit's costs in increasing order, visiting only the sites closer
    than its second-nearest open site (Whitaker 1983; Resende & Werneck 2004): a step costs
    about n · 2m/p + p · m instead of n · m. ``sorted_rows`` may pass the
    :func:`median_sorted_rows` of ``(d, w, base)`` when it is reused.
    """
    m = d.shape[1]
    sval, sidx, wb = sorted_rows if sorted_rows is not None else median_sorted_rows(d, w, base)
    open_ = np.zeros(m, dtype=np.bool_)
    open_[np.asarray(chosen, dtype=np.int64)] = True
    if not open_.any():
        return np.flatnonzero(open_)
    tol = 1e-12 * max(float(np.sum(np.minimum(wb, sval[:, 0] if m else wb))), 1.0)
    start = time.perf_counter()
    done = 0
    while done < max_iter:
        chunk = min(50, max_iter - done)
        swaps = _interchange(sval, sidx, wb, open_, chunk, tol)
        done += chunk
        if swaps < chunk:  # a local optimum
            break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
    return np.flatnonzero(open_)


def median_sorted_rows(
    d: np.ndarray, w: np.ndarray, base: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each unit's weighted costs w_i·d_ij in increasing order, their columns, and w_i·b_i.

    Unreachable pairs and units without a fixed-open site get twice the largest cost plus
    one (weighted), so that every unit has a finite nearest site.
    """
    big = 2.0 * float(np.max(d[np.isfinite(d)], initial=1.0)) + 1.0
    wd = w[:, None] * np.where(np.isfinite(d), d, big)
    idx = np.argsort(wd, axis=1, kind="stable").astype(np.int32)
    sval = np.ascontiguousarray(np.take_along_axis(wd, idx, axis=1))
    return sval, idx, w * np.where(np.isfinite(base), base, big)


@njit(cache=True)
def _interchange(sval, sidx, wb, open_, max_swaps, tol):  # pragma: no cover - numba
    """Best-improvement swaps on ``open_`` (changed in place); the number of swaps made."""
    n, m = sval.shape
    pos = np.full(m, -1, np.int64)
    gain = np.zeros(m)
    for swap in range(max_swaps):
        sites = np.flatnonzero(open_)
        k = len(sites)
        for a in range(k):
            pos[sites[a]] = a
        loss = np.zeros(k)
        extra = np.zeros((k, m))
        gain[:] = 0.0
        for i in range(n):
            # nearest and second-nearest open site (the fixed-open base is one more, fixed)
            r1, d1, d2 = -1, wb[i], wb[i]
            for t in range(m):
                v = sval[i, t]
                if v >= d2:
                    break
                if open_[sidx[i, t]]:
                    if r1 < 0:
                        r1, d1 = sidx[i, t], v
                    else:
                        d2 = v
                        break
            # adding j gains what the unit saves against its nearest
            for t in range(m):
                v = sval[i, t]
                if v >= d1:
                    break
                gain[sidx[i, t]] += d1 - v
            if r1 < 0:
                continue  # served by the base: removing no site changes it
            a = pos[r1]
            loss[a] += d2 - d1
            for t in range(m):
                v = sval[i, t]
                if v >= d2:
                    break
                extra[a, sidx[i, t]] += d2 - (v if v > d1 else d1)
        best, br, bj = tol, -1, -1
        for a in range(k):
            for j in range(m):
                if not open_[j]:
                    profit = gain[j] - loss[a] + extra[a, j]
                    if profit > best:
                        best, br, bj = profit, a, j
        for a in range(k):
            pos[sites[a]] = -1
        if br < 0:
            return swap
        open_[sites[br]] = False
        open_[bj] = True
    return max_swaps


def median_lagrangian_bound(
    d: np.ndarray,
    w: np.ndarray,
    p: int,
    base: np.ndarray,
    upper: float,
    *,
    start: np.ndarray | None = None,
    max_iter: int = 300,
    time_limit: float | None = None,
) -> float:
    """Lower bound on the p-median optimum by Lagrangian relaxation and subgradient steps.

    Relaxing Σ_j x_ij + e_i = 1 (e_i: assignment to a fixed-open site at cost ``base_i``)
    with multipliers λ_i gives L(λ) = Σ_i λ_i + Σ_i min(0, w_i base_i − λ_i) + the sum of
    the p smallest ρ_j = Σ_i min(0, w_i d_ij − λ_i). Every L(λ) is a valid lower bound; the
    best one found is returned. ``upper`` (a heuristic objective) drives the Polyak step.
    """
    m = d.shape[1]
    wb = np.where(np.isfinite(base), w * base, np.inf)
    lam = (
        np.asarray(start, dtype=float).copy()
        if start is not None
        else np.min(w[:, None] * d, axis=1)
    )
    best = -np.inf
    theta = 2.0
    stall = 0
    t0 = time.perf_counter()
    for _ in range(max_iter):
        r = np.minimum(w[:, None] * d - lam[:, None], 0.0)
        rho = r.sum(axis=0)
        pick = np.argpartition(rho, p - 1)[:p] if 0 < p < m else np.arange(min(p, m))
        value = float(lam.sum() + np.minimum(wb - lam, 0.0).sum() + rho[pick].sum())
        if not np.isfinite(best) or value > best + 1e-12 * max(abs(best), 1.0):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 15:
                theta, stall = theta / 2, 0
        g = 1.0 - (r[:, pick] < 0).sum(axis=1) - (wb - lam < 0)
        norm = float(g @ g)
        if norm == 0 or theta < 1e-4 or upper - best <= 1e-9 * max(abs(upper), 1.0):
            break
        lam = lam + theta * (upper - value) / norm * g
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
    return best
