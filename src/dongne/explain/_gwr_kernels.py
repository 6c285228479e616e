"""Compiled kernels of GWR and MGWR: one pass over the observations per bandwidth.

Each local regression is accumulated in one loop over the other observations (distance,
kernel weight, weighted cross-products), in parallel over the regression points, so memory
stays O(n·k) whatever n: no n × n matrix is ever formed. Distances are Euclidean on projected
coordinates, the adaptive bandwidth is the distance to the ``bw``-th nearest observation
(the point itself included) times 1.0000001, and the bisquare kernel is cut at the bandwidth,
exactly as in ``mgwr`` (Oshan et al. 2019), so that the same bandwidth gives the same numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "BISQUARE",
    "GAUSSIAN",
    "extreme_distances",
    "gwr_hat_rows",
    "gwr_pass",
    "gwr_pass_knn",
    "gwr_pass_knn_rows",
    "mgwr_condition",
    "single_pass",
    "single_pass_knn",
    "single_pass_knn_rows",
    "smoother_apply",
]

BISQUARE = 0
GAUSSIAN = 1


@njit(cache=True)
def _row_weights(coords, i, bw, kernel, fixed):
    n = coords.shape[0]
    d = np.empty(n)
    for j in range(n):
        dx = coords[i, 0] - coords[j, 0]
        dy = coords[i, 1] - coords[j, 1]
        d[j] = np.sqrt(dx * dx + dy * dy)
    if fixed:
        h = bw
    else:
        m = int(bw) - 1
        h = np.partition(d, m)[m] * 1.0000001
    w = np.empty(n)
    for j in range(n):
        z = d[j] / h
        if kernel == BISQUARE:
            w[j] = (1.0 - z**2) ** 2 if d[j] < h else 0.0
        else:
            w[j] = np.exp(-0.5 * z**2)
    return w


@njit(parallel=True, cache=True)
def gwr_pass(coords, y, X, bw, kernel, fixed, inference):
    """Local coefficients, influence ``S_ii`` and, with ``inference``, ``diag(CC')`` rows,
    ``(SS')_ii`` and the local condition number, for one bandwidth.

    It is long because it is one fused numba loop: weights, cross-products, solve and the
    inference quantities of a row are computed together so that nothing n × n is stored.
    """
    n, k = X.shape
    params = np.empty((n, k))
    influ = np.empty(n)
    cct = np.zeros((n, k))
    sts = np.zeros(n)
    local_cn = np.zeros(n)
    for i in prange(n):
        w = _row_weights(coords, i, bw, kernel, fixed)
        xtwx = np.zeros((k, k))
        xtwy = np.zeros(k)
        xtw2x = np.zeros((k, k))
        for j in range(n):
            wj = w[j]
            if wj == 0.0:
                continue
            for a in range(k):
                xa = X[j, a] * wj
                xtwy[a] += xa * y[j]
                for b in range(k):
                    xtwx[a, b] += xa * X[j, b]
                    if inference:
                        xtw2x[a, b] += xa * wj * X[j, b]
        inv = np.linalg.inv(xtwx)
        params[i] = inv @ xtwy
        xi = X[i]
        influ[i] = w[i] * (xi @ inv @ xi)
        if inference:
            m = inv @ xtw2x @ inv
            for a in range(k):
                cct[i, a] = m[a, a]
            sts[i] = xi @ m @ xi
            scale = 1.0 / np.sqrt(np.diag(xtw2x))
            g = xtw2x * np.outer(scale, scale)
            ev = np.linalg.eigvalsh(g)
            local_cn[i] = np.sqrt(ev[-1] / ev[0])
    return params, influ, cct, sts, local_cn


@njit(parallel=True, cache=True)
def single_pass(coords, y, x, bw, kernel, fixed):
    """One-covariate GWR without intercept (an MGWR back-fitting step): β_i, S_ii."""
    n = x.shape[0]
    beta = np.empty(n)
    influ = np.empty(n)
    for i in prange(n):
        w = _row_weights(coords, i, bw, kernel, fixed)
        s = 0.0
        t = 0.0
        for j in range(n):
            wx = w[j] * x[j]
            s += wx * x[j]
            t += wx * y[j]
        beta[i] = t / s
        influ[i] = w[i] * x[i] * x[i] / s
    return beta, influ


@njit(parallel=True, cache=True)
def smoother_apply(coords, x, bw, kernel, fixed, M):
    """``A M`` for the one-covariate smoother ``A[i, l] = x_i w_il x_l / Σ_l w_il x_l²``."""
    n = x.shape[0]
    out = np.zeros((n, M.shape[1]))
    for i in prange(n):
        w = _row_weights(coords, i, bw, kernel, fixed)
        s = 0.0
        for j in range(n):
            s += w[j] * x[j] * x[j]
        f = x[i] / s
        for j in range(n):
            c = w[j] * x[j] * f
            if c != 0.0:
                for q in range(M.shape[1]):
                    out[i, q] += c * M[j, q]
    return out


@njit(parallel=True, cache=True)
def gwr_hat_rows(coords, X, bw, kernel, fixed, M):
    """``Σ_l P[i, :, l] M[l]`` for the GWR projection ``P_i = x_i-weighted (X'W_iX)⁻¹X'W_i``,
    returned per covariate: ``out[i, c, a] = X[i, a] ((X'W_iX)⁻¹ X'W_i M[:, c])_a``."""
    n, k = X.shape
    c = M.shape[1]
    out = np.zeros((n, c, k))
    for i in prange(n):
        w = _row_weights(coords, i, bw, kernel, fixed)
        xtwx = np.zeros((k, k))
        xtwm = np.zeros((k, c))
        for j in range(n):
            if w[j] == 0.0:
                continue
            for a in range(k):
                xa = X[j, a] * w[j]
                for b in range(k):
                    xtwx[a, b] += xa * X[j, b]
                for q in range(c):
                    xtwm[a, q] += xa * M[j, q]
        sol = np.linalg.solve(xtwx, xtwm)
        for q in range(c):
            for a in range(k):
                out[i, q, a] = sol[a, q] * X[i, a]
    return out


@njit(parallel=True, cache=True)
def mgwr_condition(coords, X, bws, kernel, fixed):
    """Local condition number of the design with column ``a`` weighted by its own kernel."""
    n, k = X.shape
    out = np.empty(n)
    for i in prange(n):
        ws = np.empty((k, n))
        for a in range(k):
            ws[a] = _row_weights(coords, i, bws[a], kernel, fixed)
        g = np.zeros((k, k))
        for j in range(n):
            for a in range(k):
                xa = X[j, a] * ws[a, j]
                for b in range(k):
                    g[a, b] += xa * X[j, b] * ws[b, j]
        scale = 1.0 / np.sqrt(np.diag(g))
        ev = np.linalg.eigvalsh(g * np.outer(scale, scale))
        out[i] = np.sqrt(ev[-1] / ev[0])
    return out


@njit(parallel=True, cache=True)
def extreme_distances(coords):
    """Smallest distance to another point and largest distance, over all points."""
    n = coords.shape[0]
    lo = np.empty(n)
    hi = np.empty(n)
    for i in prange(n):
        a = np.inf
        b = 0.0
        for j in range(n):
            dx = coords[i, 0] - coords[j, 0]
            dy = coords[i, 1] - coords[j, 1]
            d = np.sqrt(dx * dx + dy * dy)
            if j != i and d < a:
                a = d
            if d > b:
                b = d
        lo[i] = a
        hi[i] = b
    return lo.min(), hi.max()


def single_pass_knn(dist, idx, coords, y, x, bw, kernel, fixed):
    """:func:`single_pass` for an adaptive bisquare kernel from cached sorted neighbours.

    ``dist``/``idx`` (n × K) hold each point's K nearest observations in increasing distance
    (itself first). A row whose bandwidth reaches beyond its K-th neighbour is computed by
    the full pass, so the result is the same for any K; the cached rows cost O(bw), not O(n).
    """
    return single_pass_knn_rows(dist, idx, 0, coords, y, x, bw, kernel, fixed)


@njit(parallel=True, cache=True)
def single_pass_knn_rows(dist, idx, start, coords, y, x, bw, kernel, fixed):
    """:func:`single_pass_knn` for the regression points ``start … start + len(dist) − 1``
    (``dist``/``idx`` hold their rows only): one block of a chunked MGWR step, with the same
    arithmetic per point as the whole pass, so the blocks concatenate to identical numbers."""
    n = x.shape[0]
    rows = dist.shape[0]
    cached = dist.shape[1]
    m = int(bw) - 1
    beta = np.empty(rows)
    influ = np.empty(rows)
    for r in prange(rows):
        i = start + r
        h = dist[r, m] * 1.0000001 if m < cached else np.inf
        if m >= cached or dist[r, cached - 1] < h:
            w = _row_weights(coords, i, bw, kernel, fixed)
            s = 0.0
            t = 0.0
            for j in range(n):
                wx = w[j] * x[j]
                s += wx * x[j]
                t += wx * y[j]
            beta[r] = t / s
            influ[r] = w[i] * x[i] * x[i] / s
            continue
        s = 0.0
        t = 0.0
        for p in range(cached):
            d = dist[r, p]
            if d >= h:
                break
            z = d / h
            j = idx[r, p]
            wx = (1.0 - z**2) ** 2 * x[j]
            s += wx * x[j]
            t += wx * y[j]
        beta[r] = t / s
        influ[r] = x[i] * x[i] / s
    return beta, influ


def gwr_pass_knn(dist, idx, coords, y, X, bw, kernel):
    """Coefficients and influence ``S_ii`` of an adaptive bisquare GWR from cached neighbours
    (the lite pass of a bandwidth search; rows reaching beyond the cache use a full pass)."""
    return gwr_pass_knn_rows(dist, idx, 0, coords, y, X, bw, kernel)


@njit(parallel=True, cache=True)
def gwr_pass_knn_rows(dist, idx, start, coords, y, X, bw, kernel):
    """:func:`gwr_pass_knn` for the regression points ``start … start + len(dist) − 1``."""
    n, k = X.shape
    rows = dist.shape[0]
    cached = dist.shape[1]
    m = int(bw) - 1
    params = np.empty((rows, k))
    influ = np.empty(rows)
    for r in prange(rows):
        i = start + r
        h = dist[r, m] * 1.0000001 if m < cached else np.inf
        full = m >= cached or dist[r, cached - 1] < h
        w = _row_weights(coords, i, bw, kernel, False) if full else np.empty(0)
        xtwx = np.zeros((k, k))
        xtwy = np.zeros(k)
        count = n if full else cached
        for p in range(count):
            if full:
                j = p
                wj = w[j]
                if wj == 0.0:
                    continue
            else:
                if dist[r, p] >= h:
                    break
                j = idx[r, p]
                z = dist[r, p] / h
                wj = (1.0 - z**2) ** 2
            for a in range(k):
                xa = X[j, a] * wj
                xtwy[a] += xa * y[j]
                for b in range(k):
                    xtwx[a, b] += xa * X[j, b]
        inv = np.linalg.inv(xtwx)
        params[r] = inv @ xtwy
        influ[r] = X[i] @ inv @ X[i]
    return params, influ
