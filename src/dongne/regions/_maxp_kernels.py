"""Numba kernels of the max-p heuristic: randomised region growing, enclave assignment and a
local search that keeps every region contiguous and above the floor.

The objective is that of Duque, Anselin & Rey (2012) and Wei, Rey & Knaap (2020) as PySAL
spopt computes it: the sum over regions of the L1 (cityblock) dissimilarities between every
pair of their areas. Nothing here builds the ``n × n`` dissimilarity matrix spopt builds:
dissimilarities are computed when needed from the attribute rows, and regions are kept as
linked lists, so memory is ``O(n·k + edges)``.

Random numbers come from SplitMix64 applied to a counter (Steele, Lea & Flood 2014): each
construction ``c`` and each search start draws from its own stream keyed by ``(seed, c)``, so
the result does not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_KEY = np.uint64(0xD1B54A32D192ED03)


@njit(inline="always", cache=True)
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(inline="always", cache=True)
def _draw(key, counter):
    """A uniform float in [0, 1) from stream ``key``; returns (value, next counter)."""
    x = _mix(key + _GOLDEN * np.uint64(counter)) >> np.uint64(11)
    return x * (1.0 / 9007199254740992.0), counter + 1


@njit(cache=True)
def _dist(x, i, j):
    s = 0.0
    for c in range(x.shape[1]):
        s += abs(x[i, c] - x[j, c])
    return s


@njit(cache=True)
def _sum_to(x, i, head, nxt, r, skip):
    """Σ_{j in region r, j != skip} d(i, j), walking the region's linked list."""
    s = 0.0
    j = head[r]
    while j >= 0:
        if j != skip:
            s += _dist(x, i, j)
        j = nxt[j]
    return s


@njit(cache=True)
def _link(head, nxt, prv, r, i):
    nxt[i] = head[r]
    prv[i] = -1
    if head[r] >= 0:
        prv[head[r]] = i
    head[r] = i


@njit(cache=True)
def _unlink(head, nxt, prv, r, i):
    if prv[i] >= 0:
        nxt[prv[i]] = nxt[i]
    else:
        head[r] = nxt[i]
    if nxt[i] >= 0:
        prv[nxt[i]] = prv[i]
    nxt[i] = -1
    prv[i] = -1


@njit(cache=True)
def _grow(indptr, indices, v, floor, label, r, p, queue, frontier, seen, stamp):
    """Grow region ``r`` from seed ``p`` over unassigned areas until the floor is met; returns
    (members in ``queue[:m]``, m, total).

    Among the unassigned neighbours of the region (``frontier``, in order of discovery), the
    one that meets the floor with the least excess is taken when one can; otherwise the
    earliest discovered (breadth-first). Taking no more than needed leaves more for the next
    regions, which is what max-p maximises.
    """
    label[p] = r
    queue[0] = p
    m = 1
    total = v[p]
    nf = 0
    seen[p] = stamp
    q = p
    while total < floor:
        for e in range(indptr[q], indptr[q + 1]):
            u = indices[e]
            if label[u] == -1 and seen[u] != stamp:
                seen[u] = stamp
                frontier[nf] = u
                nf += 1
        if nf == 0:
            break
        pick, best = 0, np.inf
        for a in range(nf):
            excess = total + v[frontier[a]] - floor
            if 0 <= excess < best:
                pick, best = a, excess
        q = frontier[pick]
        for a in range(pick, nf - 1):
            frontier[a] = frontier[a + 1]
        nf -= 1
        label[q] = r
        queue[m] = q
        m += 1
        total += v[q]
    return m, total


@njit(cache=True)
def _assign_enclaves(indptr, indices, x, label, head, nxt, prv, sums, v, n_regions):
    """Give each unassigned area to the neighbouring region it is least dissimilar to,
    repeating until none is left (areas next only to unassigned ones wait a pass)."""
    n = label.shape[0]
    left = 0
    for i in range(n):
        if label[i] < 0:
            left += 1
    while left > 0:
        moved = 0
        for i in range(n):
            if label[i] >= 0:
                continue
            best, best_r = np.inf, -1
            for e in range(indptr[i], indptr[i + 1]):
                r = label[indices[e]]
                if r >= 0:
                    d = _sum_to(x, i, head, nxt, r, -1)
                    if d < best or (d == best and r < best_r):
                        best, best_r = d, r
            if best_r >= 0:
                label[i] = best_r
                _link(head, nxt, prv, best_r, i)
                sums[best_r] += v[i]
                moved += 1
                left -= 1
        if moved == 0:
            return False
    return True


@njit(cache=True)
def objective(x, label, n_regions):
    """Σ over regions of Σ_{i<j in region} d_L1(i, j)."""
    n = label.shape[0]
    order = np.argsort(label, kind="mergesort")
    total = 0.0
    start = 0
    while start < n:
        stop = start
        while stop < n and label[order[stop]] == label[order[start]]:
            stop += 1
        for a in range(start, stop):
            for b in range(a + 1, stop):
                total += _dist(x, order[a], order[b])
        start = stop
    return total


@njit(cache=True)
def _construct_one(indptr, indices, x, v, floor, key):
    n = v.shape[0]
    perm = np.arange(n)
    counter = 0
    for i in range(n - 1, 0, -1):
        u, counter = _draw(key, counter)
        j = int(u * (i + 1))
        perm[i], perm[j] = perm[j], perm[i]
    label = np.full(n, -1, dtype=np.int64)
    enclave = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n, dtype=np.int64)
    frontier = np.empty(n, dtype=np.int64)
    seen = np.zeros(n, dtype=np.int64)
    r = 0
    grown = 0
    for p in perm:
        if label[p] != -1 or enclave[p]:
            continue
        grown += 1
        m, total = _grow(indptr, indices, v, floor, label, r, p, queue, frontier, seen, grown)
        if total >= floor:
            r += 1
        else:
            for a in range(m):
                label[queue[a]] = -2  # an enclave: never a seed nor grown into
    for i in range(n):
        if label[i] == -2:
            label[i] = -1
    head = np.full(max(r, 1), -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    prv = np.full(n, -1, dtype=np.int64)
    sums = np.zeros(max(r, 1))
    for i in range(n):
        if label[i] >= 0:
            _link(head, nxt, prv, label[i], i)
            sums[label[i]] += v[i]
    if r == 0 or not _assign_enclaves(indptr, indices, x, label, head, nxt, prv, sums, v, r):
        return label, 0
    return label, r


@njit(parallel=True, cache=True)
def construct(indptr, indices, x, v, floor, seed, iterations):
    """Run ``iterations`` randomised constructions; returns labels (iterations × n), the
    number of regions of each (0 where the construction failed) and each objective."""
    n = v.shape[0]
    labels = np.empty((iterations, n), dtype=np.int64)
    p = np.zeros(iterations, dtype=np.int64)
    obj = np.full(iterations, np.inf)
    for it in prange(iterations):
        key = _mix(np.uint64(seed) + _KEY * np.uint64(it + 1))
        lab, r = _construct_one(indptr, indices, x, v, floor, key)
        labels[it] = lab
        p[it] = r
        if r > 0:
            obj[it] = objective(x, lab, r)
    return labels, p, obj


@njit(cache=True)
def _stays_connected(indptr, indices, label, head, nxt, i, r, stamp, mark, queue):
    """Whether region ``r`` stays contiguous without area ``i`` (breadth-first search)."""
    size = 0
    start = -1
    j = head[r]
    while j >= 0:
        if j != i:
            size += 1
            if start < 0:
                start = j
        j = nxt[j]
    if size == 0:
        return False
    mark[start] = stamp
    queue[0] = start
    m = 1
    front = 0
    while front < m:
        q = queue[front]
        front += 1
        for e in range(indptr[q], indptr[q + 1]):
            u = indices[e]
            if u != i and label[u] == r and mark[u] != stamp:
                mark[u] = stamp
                queue[m] = u
                m += 1
    return m == size


@njit(cache=True)
def _best_move(indptr, indices, x, v, floor, label, head, nxt, sums, i, tabu_r, tabu_until, it):
    """Best recipient region for area ``i`` and the change of the objective; -1 when the
    donor would fall below the floor. A move back to the region ``i`` was just pushed out of
    is tabu until ``tabu_until[i]``; the donor's contiguity is checked by the caller."""
    a = label[i]
    if sums[a] - v[i] < floor:
        return -1, np.inf
    best, best_r = np.inf, -1
    leave = -1.0
    for e in range(indptr[i], indptr[i + 1]):
        b = label[indices[e]]
        if b == a or b == best_r or (b == tabu_r[i] and tabu_until[i] > it):
            continue
        if leave < 0:
            leave = _sum_to(x, i, head, nxt, a, i)
        d = _sum_to(x, i, head, nxt, b, -1) - leave
        if d < best:
            best, best_r = d, b
    return best_r, best


@njit(cache=True)
def _move(head, nxt, prv, sums, label, v, i, b):
    a = label[i]
    _unlink(head, nxt, prv, a, i)
    _link(head, nxt, prv, b, i)
    sums[a] -= v[i]
    sums[b] += v[i]
    label[i] = b


@njit(cache=True)
def _descend(indptr, indices, x, v, floor, st, work, n_work, in_work, log, n_log):
    """Steepest single-area moves over a work list of areas: an area whose best feasible move
    lowers the objective is moved and its neighbours are queued again. ``st`` bundles the
    state (label, head, nxt, prv, sums, tabu_r, tabu_until, mark, queue, counters); moves are
    appended to ``log`` (area, from) so that they can be undone. Returns (change of the
    objective, n_log)."""
    label, head, nxt, prv, sums, tabu_r, tabu_until, mark, queue, ctr = st
    change = 0.0
    front = 0
    while front < n_work:
        i = work[front % work.shape[0]]
        front += 1
        in_work[i] = False
        ctr[0] += 1
        r, d = _best_move(indptr, indices, x, v, floor, label, head, nxt, sums, i, tabu_r,
                          tabu_until, ctr[0])  # fmt: skip
        if r < 0 or d >= -1e-12:
            continue
        ctr[1] += 1
        if not _stays_connected(indptr, indices, label, head, nxt, i, label[i], ctr[1], mark,
                                queue):  # fmt: skip
            continue
        if n_log < log.shape[0]:
            log[n_log, 0] = i
            log[n_log, 1] = label[i]
        n_log += 1
        _move(head, nxt, prv, sums, label, v, i, r)
        change += d
        for e in range(indptr[i], indptr[i + 1]):
            u = indices[e]
            if not in_work[u] and n_work - front < work.shape[0]:
                in_work[u] = True
                work[n_work % work.shape[0]] = u
                n_work += 1
    return change, n_log


@njit(cache=True)
def _relink(label, head, nxt, prv, sums, v):
    head[:] = -1
    sums[:] = 0.0
    for k in range(label.shape[0]):
        _link(head, nxt, prv, label[k], k)
        sums[label[k]] += v[k]


@njit(cache=True)
def local_search(indptr, indices, x, v, floor, label_in, n_regions, seed, start, rounds, patience):
    """Steepest descent by single-area moves, then ``rounds`` rounds of simulated annealing
    from the best solution so far, each polished by descent; returns the best labels and
    objective.

    A step picks a random area, finds the neighbouring region it fits best (the move back to
    a region it just left is tabu for ``n`` steps), and checks that the donor keeps the floor
    and stays contiguous; the move is made when it lowers the objective, or with probability
    ``exp(−Δ/T)`` otherwise. T starts at the mean cityblock distance between neighbouring
    areas and cools by 0.2 % a step (spopt's ``alpha = 0.998``); a round ends after
    ``patience`` steps in a row without a lower objective (spopt: ``n``).
    """
    n = v.shape[0]
    label = label_in.copy()
    head = np.full(n_regions, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    prv = np.full(n, -1, dtype=np.int64)
    sums = np.zeros(n_regions)
    _relink(label, head, nxt, prv, sums, v)
    tabu_r = np.full(n, -1, dtype=np.int64)
    tabu_until = np.zeros(n, dtype=np.int64)
    ctr = np.zeros(2, dtype=np.int64)
    mark = np.zeros(n, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    st = (label, head, nxt, prv, sums, tabu_r, tabu_until, mark, queue, ctr)
    work = np.arange(n)
    in_work = np.ones(n, dtype=np.bool_)
    log = np.empty((1, 2), dtype=np.int64)
    key = _mix(np.uint64(seed) + _KEY * np.uint64(start + 1) + _GOLDEN)
    counter = 0
    _descend(indptr, indices, x, v, floor, st, work, n, in_work, log, 0)
    best = label.copy()
    best_obj = objective(x, label, n_regions)
    temp0 = 0.0
    edges = 0
    for q in range(n):
        for e in range(indptr[q], indptr[q + 1]):
            temp0 += _dist(x, q, indices[e])
            edges += 1
    temp0 = temp0 / max(edges, 1)
    for _rnd in range(rounds):
        label[:] = best
        _relink(label, head, nxt, prv, sums, v)
        current = best_obj
        temp = temp0
        quiet = 0
        idle = 0
        while quiet < patience and idle < 20 * n:
            ctr[0] += 1
            u, counter = _draw(key, counter)
            i = int(u * n)
            r, d = _best_move(indptr, indices, x, v, floor, label, head, nxt, sums, i, tabu_r,
                              tabu_until, ctr[0])  # fmt: skip
            if r < 0:
                idle += 1
                continue
            ctr[1] += 1
            if not _stays_connected(indptr, indices, label, head, nxt, i, label[i], ctr[1],
                                    mark, queue):  # fmt: skip
                idle += 1
                continue
            idle = 0
            if d < -1e-12:
                quiet = 0
            else:
                quiet += 1
                u, counter = _draw(key, counter)
                if temp <= 0 or u >= np.exp(-d / temp):
                    temp *= 0.998
                    continue
            a = label[i]
            _move(head, nxt, prv, sums, label, v, i, r)
            tabu_r[i] = a
            tabu_until[i] = ctr[0] + n
            current += d
            temp *= 0.998
            if current < best_obj - 1e-9:
                best_obj = current
                best[:] = label
        label[:] = best
        _relink(label, head, nxt, prv, sums, v)
        tabu_until[:] = 0
        work[:] = np.arange(n)
        in_work[:] = True
        _descend(indptr, indices, x, v, floor, st, work, n, in_work, log, 0)
        best[:] = label
        best_obj = objective(x, label, n_regions)
    return best, best_obj


@njit(parallel=True, cache=True)
def search_many(indptr, indices, x, v, floor, starts, n_regions, seed, rounds, patience):
    """:func:`local_search` from each row of ``starts`` in parallel; best labels and objective
    of each."""
    m, n = starts.shape
    out = np.empty((m, n), dtype=np.int64)
    obj = np.empty(m)
    for s in prange(m):
        lab, o = local_search(
            indptr, indices, x, v, floor, starts[s], n_regions, seed, s, rounds, patience
        )
        out[s] = lab
        obj[s] = o
    return out, obj


@njit(cache=True)
def grow_regions(indptr, indices, k, seed, start):
    """A random contiguous partition into ``k`` regions: ``k`` random seeds grown breadth-first
    in turn (AZP's start); -1 is left where a component holds no seed."""
    n = indptr.shape[0] - 1
    key = _mix(np.uint64(seed) + _KEY * np.uint64(start + 1))
    counter = 0
    perm = np.arange(n)
    for i in range(n - 1, 0, -1):
        u, counter = _draw(key, counter)
        j = int(u * (i + 1))
        perm[i], perm[j] = perm[j], perm[i]
    label = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    owner = np.empty(n, dtype=np.int64)
    for r in range(k):
        label[perm[r]] = r
        queue[r] = perm[r]
        owner[r] = r
    front, m = 0, k
    while front < m:
        q = queue[front]
        front += 1
        for e in range(indptr[q], indptr[q + 1]):
            u = indices[e]
            if label[u] == -1:
                label[u] = label[q]
                queue[m] = u
                m += 1
    return label


@njit(cache=True)
def skater_cuts(x, eu, ev, n_regions, quorum, v, floor):
    """Greedy SKATER pruning of a spanning forest (edges ``eu``–``ev`` in spopt's order):
    cut, ``n_regions − components`` times, the edge whose removal gives the lowest total of
    Σ_i ‖x_i − x̄_region‖₁ with every region at least ``quorum`` areas and ``floor`` in ``v``.
    Returns the labels and the number of cuts made."""
    n = x.shape[0]
    m = eu.shape[0]
    active = np.ones(m, dtype=np.bool_)
    deg = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        deg[eu[e] + 1] += 1
        deg[ev[e] + 1] += 1
    ptr = np.cumsum(deg)
    adj_node = np.empty(2 * m, dtype=np.int64)
    adj_edge = np.empty(2 * m, dtype=np.int64)
    fill = ptr[:-1].copy()
    for e in range(m):
        adj_node[fill[eu[e]]] = ev[e]
        adj_edge[fill[eu[e]]] = e
        fill[eu[e]] += 1
        adj_node[fill[ev[e]]] = eu[e]
        adj_edge[fill[ev[e]]] = e
        fill[ev[e]] += 1
    label = _tree_labels(n, ptr, adj_node, adj_edge, active, -1)
    n_comp = label.max() + 1
    cuts = 0
    queue = np.empty(n, dtype=np.int64)
    while n_comp < n_regions:
        base = np.zeros(n_comp)
        for c in range(n_comp):
            base[c] = _l1_to_mean(x, label == c)
        total0 = base.sum()
        best, best_e = np.inf, -1
        for e in range(m):
            if not active[e]:
                continue
            c = label[eu[e]]
            side = _side(ev[e], e, ptr, adj_node, adj_edge, active, queue)
            rest = (label == c) & ~side
            if side.sum() < quorum or rest.sum() < quorum:
                continue
            if _sum(v, side) < floor or _sum(v, rest) < floor:
                continue
            score = total0 - base[c] + _l1_to_mean(x, side) + _l1_to_mean(x, rest)
            if score < best:
                best, best_e = score, e
        if best_e < 0:
            break
        active[best_e] = False
        label = _tree_labels(n, ptr, adj_node, adj_edge, active, -1)
        n_comp = label.max() + 1
        cuts += 1
    return label, cuts


@njit(cache=True)
def _sum(v, mask):
    s = 0.0
    for i in range(mask.shape[0]):
        if mask[i]:
            s += v[i]
    return s


@njit(cache=True)
def _l1_to_mean(x, mask):
    n, k = x.shape
    cnt = 0
    mean = np.zeros(k)
    for i in range(n):
        if mask[i]:
            cnt += 1
            for c in range(k):
                mean[c] += x[i, c]
    if cnt == 0:
        return 0.0
    mean /= cnt
    s = 0.0
    for i in range(n):
        if mask[i]:
            for c in range(k):
                s += abs(x[i, c] - mean[c])
    return s


@njit(cache=True)
def _side(start, cut, ptr, adj_node, adj_edge, active, queue):
    """Nodes reachable from ``start`` over active edges other than ``cut``."""
    side = np.zeros(queue.shape[0], dtype=np.bool_)
    side[start] = True
    queue[0] = start
    m, front = 1, 0
    while front < m:
        q = queue[front]
        front += 1
        for a in range(ptr[q], ptr[q + 1]):
            e = adj_edge[a]
            u = adj_node[a]
            if active[e] and e != cut and not side[u]:
                side[u] = True
                queue[m] = u
                m += 1
    return side


@njit(cache=True)
def _tree_labels(n, ptr, adj_node, adj_edge, active, cut):
    """Component labels of the forest, numbered in order of their smallest node (as
    scipy.sparse.csgraph.connected_components numbers them)."""
    label = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    c = 0
    for s in range(n):
        if label[s] >= 0:
            continue
        label[s] = c
        queue[0] = s
        m, front = 1, 0
        while front < m:
            q = queue[front]
            front += 1
            for a in range(ptr[q], ptr[q + 1]):
                e = adj_edge[a]
                u = adj_node[a]
                if active[e] and e != cut and label[u] < 0:
                    label[u] = c
                    queue[m] = u
                    m += 1
        c += 1
    return label
