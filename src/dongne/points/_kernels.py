"""Numba kernels of the point statistics: grid DBSCAN, cluster footprints, pair counts, CSR draws.

Random points come from the counter-based streams of :mod:`dongne.detect._kernels` (SplitMix64's
finaliser applied to ``(seed, replication, draw)``), so replication ``r`` is the same whatever
thread or batch computes it: Monte Carlo results are bit-identical under every scheduler.

Neighbour searches use a uniform grid whose cells are as wide as the search radius: the
neighbours of a point lie in its own cell and the eight around it. Cells are found by binary
search in the sorted cell keys, so memory is O(n) whatever the extent of the points.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from dongne.detect._kernels import _mix, _stream_key

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(inline="always", cache=True)
def _uniform(key, counter):
    """A float in [0, 1) from stream ``key`` (53 random bits); returns (value, next counter)."""
    x = _mix(key + _GOLDEN * np.uint64(counter)) >> _S11
    return float(x) * _INV53, counter + 1


@njit(cache=True)
def simulate_points(n, cum, cells, x0, y0, h, nx, seed, rep):
    """``n`` points of replication ``rep``: a raster cell drawn with probability ∝ its weight
    (``cum``: cumulative weights of the ``cells`` inside the study area, ending in 1), then a
    uniform position inside the cell."""
    key = _stream_key(np.uint64(seed), -1, rep)
    x = np.empty(n)
    y = np.empty(n)
    counter = 0
    for i in range(n):
        u, counter = _uniform(key, counter)
        k = np.searchsorted(cum, u, side="right")
        if k >= len(cells):
            k = len(cells) - 1
        c = cells[k]
        ux, counter = _uniform(key, counter)
        uy, counter = _uniform(key, counter)
        x[i] = x0 + (c % nx + ux) * h
        y[i] = y0 + (c // nx + uy) * h
    return x, y


@njit(cache=True)
def _grid(x, y, size):
    """Sort points into square cells at least ``size`` wide (wider when the points are sparse,
    so that there are at most 4n + 1 cells): (order, cell starts, columns, rows, nx, ny,
    xmin, ymin, cell width). The points of cell (a, b) are
    ``order[start[b * nx + a]:start[b * nx + a + 1]]`` (a counting sort: O(n + cells))."""
    n = len(x)
    xmin = x.min()
    ymin = y.min()
    w = x.max() - xmin
    hgt = y.max() - ymin
    size = max(size, np.sqrt(w * hgt / (4.0 * n + 1.0)))
    nx = int(w / size) + 1
    ny = int(hgt / size) + 1
    gx = np.empty(n, np.int64)
    gy = np.empty(n, np.int64)
    start = np.zeros(nx * ny + 1, np.int64)
    for i in range(n):
        gx[i] = min(int((x[i] - xmin) / size), nx - 1)
        gy[i] = min(int((y[i] - ymin) / size), ny - 1)
        start[gy[i] * nx + gx[i] + 1] += 1
    for c in range(nx * ny):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(n, np.int64)
    for i in range(n):
        c = gy[i] * nx + gx[i]
        order[fill[c]] = i
        fill[c] += 1
    return order, start, gx, gy, nx, ny, xmin, ymin, size


@njit(cache=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True)
def dbscan(x, y, eps, min_pts):
    """DBSCAN (Ester et al. 1996): labels (-1 noise, clusters 0, 1, … numbered by their first
    point) and the core flags. A point is core when at least ``min_pts`` points, itself
    included, lie within ``eps``; a border point joins the cluster of its nearest core point
    (ties: the lowest index). Counting stops at ``min_pts``; the second pass skips cells
    without core points (most cells of a null pattern). It is long because the grid search,
    the union of core points and the labelling are one pass each over the same cells, kept
    together so numba fuses them."""
    n = len(x)
    labels = np.full(n, -1, np.int64)
    core = np.zeros(n, np.bool_)
    if n == 0:
        return labels, core
    order, start, gx, gy, nx, ny, _, _, _ = _grid(x, y, eps)
    e2 = eps * eps
    for i in range(n):
        c = 0
        for a in range(max(gx[i] - 1, 0), min(gx[i] + 2, nx)):
            for b in range(max(gy[i] - 1, 0), min(gy[i] + 2, ny)):
                k = b * nx + a
                for t in range(start[k], start[k + 1]):
                    j = order[t]
                    ddx = x[j] - x[i]
                    ddy = y[j] - y[i]
                    if ddx * ddx + ddy * ddy <= e2:
                        c += 1
                if c >= min_pts:
                    break
            if c >= min_pts:
                break
        core[i] = c >= min_pts
    cores_in = np.zeros(nx * ny, np.int64)
    for i in range(n):
        if core[i]:
            cores_in[gy[i] * nx + gx[i]] += 1
    parent = np.arange(n)
    nearest = np.full(n, -1, np.int64)
    best = np.full(n, np.inf)
    for i in range(n):
        for a in range(max(gx[i] - 1, 0), min(gx[i] + 2, nx)):
            for b in range(max(gy[i] - 1, 0), min(gy[i] + 2, ny)):
                k = b * nx + a
                if cores_in[k] == 0:
                    continue
                for t in range(start[k], start[k + 1]):
                    j = order[t]
                    if not core[j] or j == i:
                        continue
                    ddx = x[j] - x[i]
                    ddy = y[j] - y[i]
                    d2 = ddx * ddx + ddy * ddy
                    if d2 > e2:
                        continue
                    if core[i]:
                        ri = _find(parent, i)
                        rj = _find(parent, j)
                        if ri != rj:
                            if ri < rj:
                                parent[rj] = ri
                            else:
                                parent[ri] = rj
                    elif d2 < best[i] or (d2 == best[i] and j < nearest[i]):
                        best[i] = d2
                        nearest[i] = j
    ids = np.full(n, -1, np.int64)
    next_id = 0
    for i in range(n):
        if core[i]:
            r = _find(parent, i)
            if ids[r] < 0:
                ids[r] = next_id
                next_id += 1
            labels[i] = ids[r]
    for i in range(n):
        if not core[i] and nearest[i] >= 0:
            labels[i] = labels[nearest[i]]
    return labels, core


@njit(cache=True)
def footprints(x, y, labels, core, n_clusters, eps, x0, y0, h, nx, ny, weight):
    """Per cluster: its members and the null weight of its footprint, the raster cells whose
    centres lie within ``eps`` of one of its core points (``weight``: each cell's share of the
    null intensity, 0 outside the study area; cells counted once per cluster)."""
    members = np.zeros(n_clusters, np.int64)
    for i in range(len(x)):
        if labels[i] >= 0:
            members[labels[i]] += 1
    n_core = 0
    for i in range(len(x)):
        if core[i]:
            n_core += 1
    idx = np.empty(n_core, np.int64)
    t = 0
    for i in range(len(x)):
        if core[i]:
            idx[t] = i
            t += 1
    idx = idx[np.argsort(labels[idx], kind="mergesort")]
    r = int(np.ceil(eps / h))
    e2 = eps * eps
    mass = np.zeros(n_clusters)
    start = 0
    while start < n_core:
        lab = labels[idx[start]]
        stop = start
        while stop < n_core and labels[idx[stop]] == lab:
            stop += 1
        cand = np.empty((stop - start) * (2 * r + 1) * (2 * r + 1), np.int64)
        m = 0
        for t in range(start, stop):
            i = idx[t]
            ci = int(np.floor((x[i] - x0) / h))
            cj = int(np.floor((y[i] - y0) / h))
            for a in range(ci - r, ci + r + 1):
                if a < 0 or a >= nx:
                    continue
                cx = x0 + (a + 0.5) * h - x[i]
                for b in range(cj - r, cj + r + 1):
                    if b < 0 or b >= ny:
                        continue
                    cy = y0 + (b + 0.5) * h - y[i]
                    if cx * cx + cy * cy <= e2:
                        cand[m] = b * nx + a
                        m += 1
        cells = np.unique(cand[:m])
        total = 0.0
        for c in cells:
            total += weight[c]
        mass[lab] = total
        start = stop
    return members, mass


@njit(inline="always", cache=True)
def poisson_llr(n, mu, total):
    """Kulldorff's Poisson log-likelihood ratio of ``n`` of ``total`` points where ``mu`` were
    expected (high rates only: 0 unless n > mu)."""
    if n <= mu or mu <= 0.0:
        return 0.0
    out = n * np.log(n / mu)
    if total > n:
        out += (total - n) * np.log((total - n) / (total - mu))
    return out


@njit(cache=True)
def scale_statistics(x, y, eps, min_pts, x0, y0, h, nx, ny, weight):
    """DBSCAN at one scale and, per cluster, (members, expected, LLR); also labels and cores."""
    labels, core = dbscan(x, y, eps, min_pts)
    k = labels.max() + 1 if len(labels) else 0
    members, mass = footprints(x, y, labels, core, k, eps, x0, y0, h, nx, ny, weight)
    n = len(x)
    expected = mass * n
    llr = np.zeros(k)
    for c in range(k):
        llr[c] = poisson_llr(float(members[c]), expected[c], float(n))
    return labels, core, members, expected, llr


@njit(parallel=True, cache=True)
def null_maxima(n, cum, cells, x0, y0, h, nx, ny, weight, eps, min_pts, seed, first, count):
    """Maximum LLR over the clusters of each scale (columns) in replications ``first …
    first+count-1`` (rows) of the null process (``n`` points drawn from the raster weights)."""
    out = np.zeros((count, len(eps)))
    for t in prange(count):
        x, y = simulate_points(n, cum, cells, x0, y0, h, nx, seed, first + t)
        for s in range(len(eps)):
            _, _, _, _, llr = scale_statistics(x, y, eps[s], min_pts[s], x0, y0, h, nx, ny, weight)
            if len(llr):
                out[t, s] = llr.max()
    return out


@njit(parallel=True, cache=True)
def pair_counts(x, y, qx, qy, radii, skip_self):
    """``out[i, k]`` = number of points (x, y) within ``radii[k]`` of query point i (radii
    ascending); with ``skip_self`` the query points are the points themselves and a point does
    not count itself."""
    m = len(qx)
    nk = len(radii)
    out = np.zeros((m, nk), np.int64)
    if len(x) == 0 or m == 0:
        return out
    rmax = radii[-1] if radii[-1] > 0 else 1.0
    order, start, _, _, nx, ny, xmin, ymin, size = _grid(x, y, rmax)
    r2 = radii * radii
    for i in prange(m):
        gxi = int(np.floor((qx[i] - xmin) / size))
        gyi = int(np.floor((qy[i] - ymin) / size))
        hist = np.zeros(nk, np.int64)
        for a in range(max(gxi - 1, 0), min(gxi + 2, nx)):
            for b in range(max(gyi - 1, 0), min(gyi + 2, ny)):
                k = b * nx + a
                for t in range(start[k], start[k + 1]):
                    j = order[t]
                    if skip_self and j == i:
                        continue
                    ddx = x[j] - qx[i]
                    ddy = y[j] - qy[i]
                    d2 = ddx * ddx + ddy * ddy
                    if d2 <= r2[nk - 1]:
                        hist[np.searchsorted(r2, d2)] += 1
        c = 0
        for q in range(nk):
            c += hist[q]
            out[i, q] = c
    return out


@njit(parallel=True, cache=True)
def gaussian_density(px, py, x, y, w, bandwidth):
    """Gaussian kernel density at the points (px, py): Σ w_j φ_h(p - x_j), truncated at 8 h
    (relative error below 1e-13)."""
    m = len(px)
    out = np.zeros(m)
    if len(x) == 0:
        return out
    cut = 8.0 * bandwidth
    order, start, _, _, nx, ny, xmin, ymin, size = _grid(x, y, cut)
    c2 = cut * cut
    norm = 1.0 / (2.0 * np.pi * bandwidth * bandwidth)
    inv = -0.5 / (bandwidth * bandwidth)
    for i in prange(m):
        gxi = int(np.floor((px[i] - xmin) / size))
        gyi = int(np.floor((py[i] - ymin) / size))
        s = 0.0
        for a in range(max(gxi - 1, 0), min(gxi + 2, nx)):
            for b in range(max(gyi - 1, 0), min(gyi + 2, ny)):
                k = b * nx + a
                for t in range(start[k], start[k + 1]):
                    j = order[t]
                    ddx = x[j] - px[i]
                    ddy = y[j] - py[i]
                    d2 = ddx * ddx + ddy * ddy
                    if d2 <= c2:
                        s += w[j] * np.exp(d2 * inv)
        out[i] = s * norm
    return out
