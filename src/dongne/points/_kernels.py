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
def guide_table(cum):
    """Where ``u`` lands in ``cum``, by bucket: ``guide[j]`` = ``searchsorted(cum, j/m,
    "right")`` for m = len(cum) buckets, plus ``len(cum)`` at the end (Chen & Asau's
    guide table: a draw searches one bucket or three instead of all of ``cum``)."""
    m = len(cum)
    guide = np.empty(m + 1, np.int64)
    for j in range(m):
        guide[j] = np.searchsorted(cum, j / m, side="right")
    guide[m] = m
    return guide


@njit(inline="always", cache=True)
def _draw_cell(cum, guide, u):
    """``searchsorted(cum, u, "right")`` exactly, searching only the guide table's buckets
    around ``u`` (one bucket either side covers the rounding of ``u × m``)."""
    m = len(cum)
    j = min(int(u * m), m - 1)
    lo = guide[max(j - 1, 0)]
    hi = guide[min(j + 2, m)]
    return lo + np.searchsorted(cum[lo:hi], u, side="right")


@njit(cache=True)
def simulate_points(n, cum, cells, x0, y0, h, nx, seed, rep, guide=None):
    """``n`` points of replication ``rep``: a raster cell drawn with probability ∝ its weight
    (``cum``: cumulative weights of the ``cells`` inside the study area, ending in 1), then a
    uniform position inside the cell. ``guide`` (:func:`guide_table` of ``cum``) makes the
    cell draw O(1) with the same result."""
    key = _stream_key(np.uint64(seed), -1, rep)
    x = np.empty(n)
    y = np.empty(n)
    counter = 0
    for i in range(n):
        u, counter = _uniform(key, counter)
        if guide is None:
            k = np.searchsorted(cum, u, side="right")
        else:
            k = _draw_cell(cum, guide, u)
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
    (ties: the lowest index). The points are copied in the order of the grid's cells, so
    the three neighbouring cells of a row are one contiguous run of memory; counting stops
    at ``min_pts``; the second pass skips runs without core points (most of a null pattern).
    It is long because the grid search, the union of core points and the labelling are one
    pass each over the same cells, kept together so numba fuses them."""
    n = len(x)
    labels = np.full(n, -1, np.int64)
    core = np.zeros(n, np.bool_)
    if n == 0:
        return labels, core
    order, start, _, _, nx, ny, _, _, _ = _grid(x, y, eps)
    xs = x[order]
    ys = y[order]
    e2 = eps * eps
    cs = np.zeros(n, np.bool_)  # core flags in cell order
    for b in range(ny):
        b0, b1 = max(b - 1, 0), min(b + 2, ny)
        for a in range(nx):
            a0, a1 = max(a - 1, 0), min(a + 2, nx)
            for p in range(start[b * nx + a], start[b * nx + a + 1]):
                c = 0
                for bb in range(b0, b1):
                    for t in range(start[bb * nx + a0], start[bb * nx + a1]):
                        ddx = xs[t] - xs[p]
                        ddy = ys[t] - ys[p]
                        if ddx * ddx + ddy * ddy <= e2:
                            c += 1
                    if c >= min_pts:
                        break
                cs[p] = c >= min_pts
    cores_before = np.zeros(n + 1, np.int64)
    for p in range(n):
        cores_before[p + 1] = cores_before[p] + cs[p]
    parent = np.arange(n)
    nearest = np.full(n, -1, np.int64)  # a border point's nearest core, in cell order
    best = np.full(n, np.inf)
    for b in range(ny):
        b0, b1 = max(b - 1, 0), min(b + 2, ny)
        for a in range(nx):
            a0, a1 = max(a - 1, 0), min(a + 2, nx)
            for p in range(start[b * nx + a], start[b * nx + a + 1]):
                for bb in range(b0, b1):
                    lo, hi = start[bb * nx + a0], start[bb * nx + a1]
                    if cores_before[hi] == cores_before[lo]:
                        continue
                    for t in range(lo, hi):
                        if not cs[t] or t == p:
                            continue
                        ddx = xs[t] - xs[p]
                        ddy = ys[t] - ys[p]
                        d2 = ddx * ddx + ddy * ddy
                        if d2 > e2:
                            continue
                        if cs[p]:
                            if t < p:
                                continue  # the pair was joined from t
                            rp = _find(parent, p)
                            rt = _find(parent, t)
                            if rp != rt:
                                if rp < rt:
                                    parent[rt] = rp
                                else:
                                    parent[rp] = rt
                        elif d2 < best[p] or (d2 == best[p] and order[t] < order[nearest[p]]):
                            best[p] = d2
                            nearest[p] = t
    where = np.empty(n, np.int64)
    for p in range(n):
        where[order[p]] = p
    ids = np.full(n, -1, np.int64)
    next_id = 0
    for i in range(n):
        p = where[i]
        if cs[p]:
            core[i] = True
            r = _find(parent, p)
            if ids[r] < 0:
                ids[r] = next_id
                next_id += 1
            labels[i] = ids[r]
    for p in range(n):
        if not cs[p] and nearest[p] >= 0:
            labels[order[p]] = labels[order[nearest[p]]]
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
    if n_core == 0:
        return members, mass
    # stamp[c] = the last cluster that counted cell c: each cell once per cluster, in O(1)
    stamp = np.full(nx * ny, -1, np.int64)
    for t in range(n_core):
        i = idx[t]
        lab = labels[i]
        ci = int(np.floor((x[i] - x0) / h))
        cj = int(np.floor((y[i] - y0) / h))
        for b in range(max(cj - r, 0), min(cj + r + 1, ny)):
            cy = y0 + (b + 0.5) * h - y[i]
            for a in range(max(ci - r, 0), min(ci + r + 1, nx)):
                cx = x0 + (a + 0.5) * h - x[i]
                c = b * nx + a
                if cx * cx + cy * cy <= e2 and stamp[c] != lab:
                    stamp[c] = lab
                    mass[lab] += weight[c]
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
    guide = guide_table(cum)
    for t in prange(count):
        x, y = simulate_points(n, cum, cells, x0, y0, h, nx, seed, first + t, guide)
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
