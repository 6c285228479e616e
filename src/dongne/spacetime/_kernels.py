"""Numba kernels of the space-time scan statistic: cylinders over nested circles × intervals.

The circles are the window lists of the purely spatial scan (:mod:`dongne.detect._scan_kernels`):
centre ``j`` owns ``entries[offsets[j]:offsets[j + 1]]``, area indices in order of distance, an
entry ``v < 0`` being area ``~v`` tied in distance with the next entry (it never closes a circle
by itself). A cylinder is a circle × a time interval ``[t1, t2]`` of at most ``max_len`` steps
ending at or after ``end_lo`` (``end_lo = T - 1``: a prospective analysis, only clusters still
"alive" at the last step).

For each circle the cases and expected counts per time step are accumulated area by area
(``T`` additions per area, only the last ``max_len`` steps for a prospective analysis); every
interval is then evaluated with running sums (``T · max_len`` evaluations per circle,
``max_len`` for a prospective analysis). A circle that adds no case to the one before it is
skipped: each of its cylinders has the same cases and at least the same expected count, so
a lower or equal LLR (exact, not a heuristic). The LLR bound of the purely spatial scan
skips the logarithm of every interval that cannot beat the best one so far. The
log-likelihood ratio is the Poisson one, conditional on the total count ``C`` (Kulldorff
2001; for the space-time permutation model the expected counts are ``C_z · C_t / C``,
Kulldorff et al. 2005).

Monte Carlo replicates are drawn from counter-based streams keyed by ``(seed, SITE, r)``
(:mod:`dongne.detect._kernels`), so replicate ``r`` is a pure function of ``(seed, r)``:

* space-time permutation: the time stamps of the ``C`` cases are shuffled among them
  (Fisher–Yates with Lemire's exact bounded integers), keeping every area's and every step's
  total;
* Poisson: the ``C`` cases are allocated multinomially in proportion to the expected counts,
  cell by cell as conditional binomials (the draws of the purely spatial scan).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from dongne.detect._scan_core import binomial, hit_high, stream_key, uniform_below

#: Site number of the space-time scan's random streams.
SPACETIME_SITE = -11
#: Model codes.
POISSON = 0
PERMUTATION = 1


@njit(cache=True)
def cylinder_llr(c, e, total, min_cases):
    """LLR of a cylinder with ``c`` cases and ``e`` expected (high rates only); 0 if not scanned."""
    if c < min_cases or c <= e or e <= 0.0:
        return 0.0
    out = c * math.log(c / e)
    rest = total - c
    if rest > 0.0:
        out += rest * math.log(rest / (total - e))
    return out


@njit(cache=True)
def _best_in_circle(ca, ea, total, end_lo, max_len, min_cases, best, q, dq):
    """Best interval of one circle: (llr, t1, t2, cases, expected) if it beats ``best``.

    Before walking the intervals that end at ``t2``, their largest excess ``c − μ`` is read
    from a sliding minimum of the prefix sums of ``ca − ea`` (``q``, deque ``dq``: O(T) per
    circle); with ``μ ≥ ea[t2]`` and ``C − c ≥ C − (cases in the circle)`` the second-order
    bound of the LLR, ``(c − μ)² / 2 · (1/μ + 1/(C − c))``, then rules out every end step
    whose intervals cannot beat the best so far — exactly, without a logarithm.
    """
    steps = ca.shape[0]
    out_llr = best
    out_t1 = -1
    out_t2 = -1
    out_c = 0.0
    out_e = 0.0
    lo0 = max(0, end_lo - max_len + 1)
    q[lo0] = 0.0
    inside = 0.0
    for t in range(lo0, steps):
        q[t + 1] = q[t] + ca[t] - ea[t]
        inside += ca[t]
    rest = total - inside
    head = 0
    tail = 0
    for t2 in range(lo0, steps):
        while tail > head and q[dq[tail - 1]] >= q[t2]:
            tail -= 1
        dq[tail] = t2
        tail += 1
        while dq[head] < t2 - max_len + 1:
            head += 1
        if t2 < end_lo:
            continue
        d = q[t2 + 1] - q[dq[head]]
        if d <= 0.0:
            continue  # no interval ending at t2 has more cases than expected
        e1 = ea[t2]
        if (
            e1 > 0.0
            and rest > 0.0
            and 0.5 * d * d * (1.0 / e1 + 1.0 / rest) * 1.000000001 <= out_llr
        ):
            continue
        c = 0.0
        e = 0.0
        lo = max(0, t2 - max_len + 1)
        for t1 in range(t2, lo - 1, -1):
            c += ca[t1]
            e += ea[t1]
            if c < min_cases or not hit_high(c, e, out_llr, total):
                continue  # the LLR cannot beat the best so far (bound without a logarithm)
            llr = cylinder_llr(c, e, total, min_cases)
            if llr > out_llr:
                out_llr = llr
                out_t1 = t1
                out_t2 = t2
                out_c = c
                out_e = e
    return out_llr, out_t1, out_t2, out_c, out_e


@njit(parallel=True, cache=True)
def scan_observed(offsets, entries, cases, expected, total, end_lo, max_len, min_cases):
    """Best cylinder of each centre as rows (llr, entry position, t1, t2, cases, expected).

    The position is the index in ``entries`` of the entry that closes the circle; -1 (and
    LLR 0) when no cylinder of the centre has more cases than expected.
    """
    m = offsets.shape[0] - 1
    steps = cases.shape[1]
    t_lo = max(0, end_lo - max_len + 1)  # no cylinder reaches further back
    out = np.zeros((m, 6))
    for j in prange(m):
        ca = np.zeros(steps)
        ea = np.zeros(steps)
        q = np.zeros(steps + 1)
        dq = np.zeros(steps + 1, dtype=np.int64)
        best = 0.0
        out[j, 1] = -1.0
        added = 1.0
        for k in range(offsets[j], offsets[j + 1]):
            v = entries[k]
            a = v if v >= 0 else ~v
            for t in range(t_lo, steps):
                ca[t] += cases[a, t]
                ea[t] += expected[a, t]
                added += cases[a, t]
            if v < 0 or added == 0.0:
                continue  # no new case: every cylinder kept its cases and gained expected
            added = 0.0
            llr, t1, t2, c, e = _best_in_circle(
                ca, ea, total, end_lo, max_len, min_cases, best, q, dq
            )
            if t1 >= 0:
                best = llr
                out[j, 0] = llr
                out[j, 1] = k
                out[j, 2] = t1
                out[j, 3] = t2
                out[j, 4] = c
                out[j, 5] = e
    return out


@njit(cache=True)
def _max_llr(offsets, entries, cases, expected, total, end_lo, max_len, min_cases):
    """Largest LLR over all cylinders of one data set (one thread)."""
    steps = cases.shape[1]
    t_lo = max(0, end_lo - max_len + 1)  # no cylinder reaches further back
    ca = np.zeros(steps)
    ea = np.zeros(steps)
    q = np.zeros(steps + 1)
    dq = np.zeros(steps + 1, dtype=np.int64)
    best = 0.0
    for j in range(offsets.shape[0] - 1):
        ca[t_lo:] = 0.0
        ea[t_lo:] = 0.0
        added = 1.0
        for k in range(offsets[j], offsets[j + 1]):
            v = entries[k]
            a = v if v >= 0 else ~v
            for t in range(t_lo, steps):
                ca[t] += cases[a, t]
                ea[t] += expected[a, t]
                added += cases[a, t]
            if v < 0 or added == 0.0:
                continue  # no new case: no cylinder of this circle can beat the last one
            added = 0.0
            llr, t1, _, _, _ = _best_in_circle(
                ca, ea, total, end_lo, max_len, min_cases, best, q, dq
            )
            if t1 >= 0:
                best = llr
    return best


@njit(cache=True)
def permute_times(case_area, case_time, n_areas, steps, seed, r):
    """Counts (areas × steps) of replicate ``r``: the cases' time stamps shuffled among them."""
    key = stream_key(np.uint64(seed), SPACETIME_SITE, r)
    times = case_time.copy()
    counter = 0
    for i in range(times.shape[0] - 1, 0, -1):
        j, counter = uniform_below(key, counter, i + 1)
        tmp = times[i]
        times[i] = times[j]
        times[j] = tmp
    out = np.zeros((n_areas, steps))
    for i in range(times.shape[0]):
        out[case_area[i], times[i]] += 1.0
    return out


@njit(cache=True)
def multinomial_cells(cond_prob, total, n_areas, steps, seed, r):
    """Counts of replicate ``r``: ``total`` cases allocated in proportion to the expected
    counts (``cond_prob`` = each cell's share of itself and the cells after it, row-major)."""
    key = stream_key(np.uint64(seed), SPACETIME_SITE, r)
    out = np.zeros((n_areas, steps))
    left = np.int64(total)
    counter = 0
    for i in range(n_areas * steps):
        if left <= 0:
            break
        k, counter = binomial(key, counter, left, cond_prob[i])
        out[i // steps, i % steps] = k
        left -= k
    return out


@njit(parallel=True, cache=True)
def scan_replicates(
    offsets, entries, model, case_area, case_time, cond_prob, expected, total,
    end_lo, max_len, min_cases, seed, first, count,
):  # fmt: skip
    """Maximum LLR of replicates ``first .. first + count - 1`` (one replicate per thread)."""
    n_areas, steps = expected.shape
    out = np.zeros(count)
    for i in prange(count):
        r = first + i
        if model == PERMUTATION:
            cases = permute_times(case_area, case_time, n_areas, steps, seed, r)
        else:
            cases = multinomial_cells(cond_prob, total, n_areas, steps, seed, r)
        out[i] = _max_llr(offsets, entries, cases, expected, total, end_lo, max_len, min_cases)
    return out


# ------------------------------------------------------------------ retrospective, separable
#: Relative margin of the second-order LLR bound (absorbs rounding; never changes a maximum).
MARGIN = 1.000000001
#: Width of a block of nested circles checked at once: the last circle's cases against the
#: first circle's expected counts, for circles whose expected grows by at most
#: KAPPA / sqrt(expected of a longest interval) (a few standard deviations of the counts).
KAPPA = 2.0


@njit(cache=True)
def area_events(cases):
    """The non-zero cells of each area as CSR ``(ptr, steps, counts)``."""
    n, steps = cases.shape
    ptr = np.zeros(n + 1, dtype=np.int64)
    for a in range(n):
        k = 0
        for t in range(steps):
            if cases[a, t] != 0.0:
                k += 1
        ptr[a + 1] = ptr[a] + k
    days = np.empty(ptr[n], dtype=np.int64)
    cnt = np.empty(ptr[n])
    for a in range(n):
        k = ptr[a]
        for t in range(steps):
            if cases[a, t] != 0.0:
                days[k] = t
                cnt[k] = cases[a, t]
                k += 1
    return ptr, days, cnt


@njit(cache=True)
def plan_blocks(offsets, entries, weight, wcum, denom, max_len, kappa):
    """Running weight of each circle (``rcum``, per entry) and the last circle of each block.

    The expected count of a cylinder is ``rcum · (wcum[t2 + 1] − wcum[t1]) / denom``. A block
    of a centre's nested circles ends once the weight passes ``(1 + ε)`` times that of its
    first circle, ``ε = kappa / sqrt(expected of the longest interval of the first circle)``.
    The plan depends on the expected counts only, so it serves every replicate.
    """
    steps = wcum.shape[0] - 1
    wl = 0.0
    for t2 in range(steps):
        wl = max(wl, wcum[t2 + 1] - wcum[max(0, t2 - max_len + 1)])
    rcum = np.zeros(entries.shape[0])
    bend = np.zeros(entries.shape[0], dtype=np.bool_)
    for j in range(offsets.shape[0] - 1):
        r = 0.0
        lim = -1.0
        last = -1
        for k in range(offsets[j], offsets[j + 1]):
            v = entries[k]
            r += weight[v if v >= 0 else ~v]
            rcum[k] = r
            if v < 0:
                continue
            if r > lim:
                if last >= 0:
                    bend[last] = True
                lim = r * (1.0 + kappa / math.sqrt(max(r * wl / denom, 1.0)))
            last = k
        if last >= 0:
            bend[last] = True
    return rcum, bend


@njit(cache=True)
def lag_minima(wcum, max_len):
    """Smallest step weight of an interval of each length ``lag + 1``."""
    steps = wcum.shape[0] - 1
    out = np.zeros(min(max_len, steps))
    for lag in range(out.shape[0]):
        m = math.inf
        for i in range(steps - lag):
            m = min(m, wcum[i + lag + 1] - wcum[i])
        out[lag] = m
    return out


@njit(cache=True, fastmath=True)
def _may_win(P, r_lo, wcum, wmin, Q, inv, rest, max_len, min_cases, best):
    """False only if no interval of the circle with prefix sums ``P`` (cases) and weight at
    least ``r_lo`` can have LLR > ``best``.

    With ``μ = r_lo · ΔW / denom`` (a lower bound of every circle of the block) and the cases
    of the block's largest circle, the LLR ``μ φ(c/μ) + (C − μ) φ((C − c)/(C − μ))`` with
    ``φ(x) = x log x − x + 1`` is at most ``(c − μ)² / 2 · (1/μ + 1/(C − c))`` (``φ(x) ≤
    (x − 1)² / 2`` for ``x ≥ 1`` and ``φ(y) ≤ (1 − y)² / (2y)`` for ``y ≤ 1``), and
    ``C − c ≥ rest``. Lag-major loops vectorise; the relative margin absorbs rounding (and
    fast-math reassociation of this test only: no LLR is computed here).

    Each lag is first screened with fewer operations per interval: ``v > 0`` needs
    ``d > sqrt(2 b μ / ((1 + ρ μ) · margin))``, which grows with ``μ``, so it needs ``d`` above
    that threshold at the lag's smallest expected count ``r_lo · wmin[lag] / denom``
    (:func:`lag_minima`); with ``Q = P − r_lo · wcum / denom``, ``d = Q[t2 + 1] − Q[t1]``. The
    threshold is lowered by a relative and absolute 10⁻⁶ (rounding of ``Q``); only a lag with
    an interval above it is checked interval by interval.
    """
    steps = P.shape[0] - 1
    if rest <= 0.0:
        return True
    rho = 1.0 / rest
    two_b = 2.0 * best
    s = r_lo * inv
    for t in range(steps + 1):
        Q[t] = P[t] - s * wcum[t]
    for lag in range(min(max_len, steps)):
        mu = s * wmin[lag]
        theta = math.sqrt(two_b * mu / ((1.0 + rho * mu) * MARGIN)) * (1.0 - 1e-6) - 1e-6
        hits = 0
        for i in range(steps - lag):
            hits += Q[i + lag + 1] - Q[i] > theta
        if hits == 0:
            continue
        hits = 0
        for i in range(steps - lag):  # interval [i, i + lag]; counted, not branched: SIMD
            c = P[i + lag + 1] - P[i]
            mu = s * (wcum[i + lag + 1] - wcum[i])
            d = c - mu
            v = d * d * (1.0 + rho * mu) * MARGIN - two_b * mu
            hits += (c >= min_cases) & (d > 0.0) & (v > 0.0)
        if hits > 0:
            return True
    return False


@njit(cache=True, fastmath=True)
def _candidates(P, r, wcum, inv, rest, max_len, min_cases, best, keys):
    """Keys ``t2 · max_len + lag`` of the intervals that :func:`_may_win`'s bound lets
    through (scan order when sorted); returns how many were written to ``keys``."""
    steps = P.shape[0] - 1
    rho = 1.0 / rest
    two_b = 2.0 * best
    s = r * inv
    n = 0
    for lag in range(min(max_len, steps)):
        hits = 0
        for i in range(steps - lag):
            c = P[i + lag + 1] - P[i]
            mu = s * (wcum[i + lag + 1] - wcum[i])
            d = c - mu
            v = d * d * (1.0 + rho * mu) * MARGIN - two_b * mu
            hits += (c >= min_cases) & (d > 0.0) & (v > 0.0)
        if hits == 0:
            continue
        for i in range(steps - lag):
            c = P[i + lag + 1] - P[i]
            mu = s * (wcum[i + lag + 1] - wcum[i])
            d = c - mu
            v = d * d * (1.0 + rho * mu) * MARGIN - two_b * mu
            if (c >= min_cases) & (d > 0.0) & (v > 0.0):
                keys[n] = (i + lag) * max_len + lag
                n += 1
    return n


@njit(cache=True)
def _eval_circle(P, r, wcum, denom, total, max_len, min_cases, best, row, pos, prune, keys):
    """Every interval of one circle in scan order (end step ascending, start descending); a
    cylinder with LLR > ``best`` is written to ``row`` (llr, pos, t1, t2, cases, expected).
    Returns the new best. With ``prune``, only the intervals that the bound lets through
    against ``best`` on entry are evaluated (a superset of those that can win)."""
    steps = P.shape[0] - 1
    rest = total - P[steps]
    if prune and rest > 0.0:
        n = _candidates(P, r, wcum, 1.0 / denom, rest, max_len, min_cases, best, keys)
        order = np.sort(keys[:n])
    else:
        n = 0
        for t2 in range(steps):
            for lag in range(min(max_len, t2 + 1)):
                keys[n] = t2 * max_len + lag
                n += 1
        order = keys[:n]
    for key in order:
        t2 = key // max_len
        t1 = t2 - key % max_len
        c = P[t2 + 1] - P[t1]
        mu = r * (wcum[t2 + 1] - wcum[t1]) / denom
        llr = cylinder_llr(c, mu, total, min_cases)
        if llr > best:
            best = llr
            row[0] = llr
            row[1] = pos
            row[2] = t1
            row[3] = t2
            row[4] = c
            row[5] = mu
    return best


@njit(cache=True)
def _move(ca, entries, state, target, ptr, days, cnt):
    """Add (or remove) the areas of ``entries[state:target]`` to the per-step cases ``ca``."""
    while state < target:
        v = entries[state]
        a = v if v >= 0 else ~v
        for i in range(ptr[a], ptr[a + 1]):
            ca[days[i]] += cnt[i]
        state += 1
    while state > target:
        state -= 1
        v = entries[state]
        a = v if v >= 0 else ~v
        for i in range(ptr[a], ptr[a + 1]):
            ca[days[i]] -= cnt[i]
    return state


@njit(cache=True)
def _workspace(steps, max_len):
    """Per-thread arrays: cases per step, their prefix sums, the halving stack, keys."""
    return (
        np.zeros(steps),
        np.zeros(steps + 1),
        np.zeros((128, 2), dtype=np.int64),
        np.zeros(steps * max_len + max_len, dtype=np.int64),
        np.zeros(steps + 1),
    )


@njit(cache=True)
def _prefix(ca, P):
    s = 0.0
    for t in range(ca.shape[0]):
        s += ca[t]
        P[t + 1] = s


@njit(cache=True)
def _centre_retro(j, offsets, entries, rcum, bend, events, wcum, wmin, denom, total, max_len,
                  min_cases, best, prune, work, row):  # fmt: skip
    """Best cylinder of centre ``j`` that beats ``best`` (in ``row``); returns the new best.

    The centre's circles are cut into blocks (:func:`plan_blocks`). A block whose largest
    circle, against the expected counts of its smallest circle, has no interval that may beat
    ``best`` (:func:`_may_win`) is skipped whole: a smaller circle has no more cases in any
    interval and at least that expected count, and the LLR grows with the cases and falls
    with the expected count. Otherwise the block is halved (the smaller half first, so ties
    keep the first cylinder in scan order) down to single circles, which are scanned
    interval by interval. ``prune=False`` scans every cylinder (the reference for tests).
    """
    ptr, days, cnt = events
    ca, P, stack, keys, Q = work
    steps = ca.shape[0]
    inv = 1.0 / denom
    ca[:] = 0.0
    P[0] = 0.0
    state = offsets[j]
    b = offsets[j]
    end = offsets[j + 1]
    while b < end:
        b0 = b
        while entries[b0] < 0:
            b0 += 1
        b1 = b0
        while not bend[b1]:
            b1 += 1
        stack[0, 0] = b0
        stack[0, 1] = b1
        top = 1
        while top > 0:
            top -= 1
            lo = stack[top, 0]
            hi = stack[top, 1]
            state = _move(ca, entries, state, hi + 1, ptr, days, cnt)
            _prefix(ca, P)
            if prune and not _may_win(
                P, rcum[lo], wcum, wmin, Q, inv, total - P[steps], max_len, min_cases, best
            ):
                continue
            if lo == hi:
                best = _eval_circle(
                    P, rcum[hi], wcum, denom, total, max_len, min_cases, best, row, hi, prune,
                    keys,
                )  # fmt: skip
                continue
            mid = (lo + hi) // 2
            while entries[mid] < 0:
                mid -= 1
            nxt = mid + 1
            while entries[nxt] < 0:
                nxt += 1
            stack[top, 0] = nxt
            stack[top, 1] = hi
            stack[top + 1, 0] = lo
            stack[top + 1, 1] = mid
            top += 2
        b = b1 + 1
    return best


@njit(parallel=True, cache=True)
def scan_observed_retro(offsets, entries, rcum, bend, cases, wcum, denom, total, max_len,
                        min_cases, prune):  # fmt: skip
    """Retrospective scan with separable expected counts: each centre's best cylinder as rows
    (llr, closing entry, t1, t2, cases, expected), as :func:`scan_observed`."""
    m = offsets.shape[0] - 1
    steps = cases.shape[1]
    events = area_events(cases)
    wmin = lag_minima(wcum, max_len)
    out = np.zeros((m, 6))
    for j in prange(m):
        work = _workspace(steps, max_len)
        row = np.zeros(6)
        row[1] = -1.0
        _centre_retro(j, offsets, entries, rcum, bend, events, wcum, wmin, denom, total,
                      max_len, min_cases, 0.0, prune, work, row)  # fmt: skip
        out[j] = row
    return out


@njit(cache=True)
def max_llr_retro(offsets, entries, rcum, bend, cases, wcum, denom, total, max_len,
                  min_cases, prune):  # fmt: skip
    """Largest LLR over all cylinders of one data set (one thread, running maximum)."""
    steps = cases.shape[1]
    events = area_events(cases)
    wmin = lag_minima(wcum, max_len)
    work = _workspace(steps, max_len)
    row = np.zeros(6)
    best = 0.0
    for j in range(offsets.shape[0] - 1):
        best = _centre_retro(j, offsets, entries, rcum, bend, events, wcum, wmin, denom,
                             total, max_len, min_cases, best, prune, work, row)  # fmt: skip
    return best


@njit(parallel=True, cache=True)
def scan_replicates_retro(
    offsets, entries, rcum, bend, wcum, denom, model, case_area, case_time, cond_prob,
    expected, total, max_len, min_cases, seed, first, count,
):  # fmt: skip
    """Maximum LLR of replicates ``first .. first + count - 1`` of a retrospective scan with
    separable expected counts (one replicate per thread; the same draws as
    :func:`scan_replicates`)."""
    n_areas, steps = expected.shape
    out = np.zeros(count)
    for i in prange(count):
        r = first + i
        if model == PERMUTATION:
            cases = permute_times(case_area, case_time, n_areas, steps, seed, r)
        else:
            cases = multinomial_cells(cond_prob, total, n_areas, steps, seed, r)
        out[i] = max_llr_retro(offsets, entries, rcum, bend, cases, wcum, denom, total,
                               max_len, min_cases, True)  # fmt: skip
    return out


# ------------------------------------------------------------------ prospective, separable
#: Most doubles of the table of exact expected counts per circle and interval that a
#: prospective scan keeps (entries × max_len); beyond it the cell sums are used.
PROSPECTIVE_TABLE = 64_000_000


@njit(parallel=True, cache=True)
def prospective_expected(offsets, entries, expected, max_len):
    """Expected count of every circle (row: closing entry) and interval ending at the last
    step (column ``lag``: ``[T − 1 − lag, T − 1]``), with the arithmetic of
    :func:`scan_observed`: per step, the areas added in entry order; over steps, from the
    last step back. The table depends on the expected counts only, so it serves every
    replicate; a replicate reads only the rows of the circles its bound lets through."""
    steps = expected.shape[1]
    t0 = steps - max_len
    table = np.zeros((entries.shape[0], max_len))
    for j in prange(offsets.shape[0] - 1):
        ea = np.zeros(max_len)
        for k in range(offsets[j], offsets[j + 1]):
            v = entries[k]
            a = v if v >= 0 else ~v
            for t in range(max_len):
                ea[t] += expected[a, t0 + t]
            if v < 0:
                continue
            e = 0.0
            for lag in range(max_len):
                e += ea[max_len - 1 - lag]
                table[k, lag] = e
    return table


@njit(cache=True)
def _may_win_pros(P, r_lo, wsuf, inv, rest, max_len, min_cases, best):
    """:func:`_may_win` for the intervals ending at the last step (``wsuf[lag]``: step
    weight of the last ``lag + 1`` steps; ``P``: prefix sums of the cases of those steps)."""
    if rest <= 0.0:
        return True
    rho = 1.0 / rest
    two_b = 2.0 * best
    s = r_lo * inv
    top = P[max_len]
    for lag in range(max_len):
        c = top - P[max_len - 1 - lag]
        mu = s * wsuf[lag]
        d = c - mu
        if c >= min_cases and d > 0.0 and d * d * (1.0 + rho * mu) * MARGIN - two_b * mu > 0.0:
            return True
    return False


@njit(cache=True)
def _eval_pros(ca, table, k, total, max_len, min_cases, best):
    """Best LLR of circle ``k``'s intervals ending at the last step, as
    :func:`_best_in_circle` computes them (cases summed from the last step back, expected
    counts from ``table``); ``best`` if none beats it."""
    c = 0.0
    for lag in range(max_len):
        c += ca[max_len - 1 - lag]
        if c < min_cases:
            continue
        e = table[k, lag]
        if not hit_high(c, e, best, total):
            continue
        llr = cylinder_llr(c, e, total, min_cases)
        if llr > best:
            best = llr
    return best


@njit(cache=True)
def _adds_cases(entries, first, k, ptr):
    """Whether :func:`scan_observed` evaluates circle ``k`` (a closing entry): it is the
    centre's first circle, or an area added since the previous circle has a case."""
    i = k
    while True:
        v = entries[i]
        a = v if v >= 0 else ~v
        if ptr[a + 1] > ptr[a]:
            return True
        if i == first:
            return True
        i -= 1
        if entries[i] >= 0:
            return False


@njit(cache=True)
def _centre_pros(j, offsets, entries, rcum, bend, events, wsuf, denom, table, total, max_len,
                 min_cases, best, work):  # fmt: skip
    """Largest of ``best`` and the LLRs of centre ``j``'s cylinders ending at the last step:
    the blocks of circles and their halving of :func:`_centre_retro`, the bound of
    :func:`_may_win_pros`, and at single circles the exact cylinders of
    :func:`scan_observed` (a circle without a new case skipped as there)."""
    ptr, days, cnt = events
    ca, P, stack = work
    inv = 1.0 / denom
    ca[:] = 0.0
    P[0] = 0.0
    state = offsets[j]
    b = offsets[j]
    end = offsets[j + 1]
    while b < end:
        b0 = b
        while entries[b0] < 0:
            b0 += 1
        b1 = b0
        while not bend[b1]:
            b1 += 1
        stack[0, 0] = b0
        stack[0, 1] = b1
        top = 1
        while top > 0:
            top -= 1
            lo = stack[top, 0]
            hi = stack[top, 1]
            state = _move(ca, entries, state, hi + 1, ptr, days, cnt)
            _prefix(ca, P)
            if not _may_win_pros(
                P, rcum[lo], wsuf, inv, total - P[max_len], max_len, min_cases, best
            ):
                continue
            if lo == hi:
                if _adds_cases(entries, offsets[j], hi, ptr):
                    best = _eval_pros(ca, table, hi, total, max_len, min_cases, best)
                continue
            mid = (lo + hi) // 2
            while entries[mid] < 0:
                mid -= 1
            nxt = mid + 1
            while entries[nxt] < 0:
                nxt += 1
            stack[top, 0] = nxt
            stack[top, 1] = hi
            stack[top + 1, 0] = lo
            stack[top + 1, 1] = mid
            top += 2
        b = b1 + 1
    return best


@njit(cache=True)
def max_llr_pros(offsets, entries, rcum, bend, cases, wsuf, denom, table, total, max_len,
                 min_cases):  # fmt: skip
    """Largest LLR over the cylinders ending at the last step of one data set (one thread):
    equal, bit for bit, to :func:`_max_llr` with ``end_lo = T − 1``."""
    steps = cases.shape[1]
    events = area_events(cases[:, steps - max_len :])
    work = (np.zeros(max_len), np.zeros(max_len + 1), np.zeros((128, 2), dtype=np.int64))
    best = 0.0
    for j in range(offsets.shape[0] - 1):
        best = _centre_pros(j, offsets, entries, rcum, bend, events, wsuf, denom, table,
                            total, max_len, min_cases, best, work)  # fmt: skip
    return best


@njit(parallel=True, cache=True)
def scan_replicates_pros(
    offsets, entries, rcum, bend, wsuf, denom, model, case_area, case_time, cond_prob,
    expected, total, max_len, min_cases, seed, first, count,
):  # fmt: skip
    """Maximum LLR of replicates ``first .. first + count - 1`` of a prospective scan with
    separable expected counts: the same draws and maxima as :func:`scan_replicates`."""
    n_areas, steps = expected.shape
    table = prospective_expected(offsets, entries, expected, max_len)
    out = np.zeros(count)
    for i in prange(count):
        r = first + i
        if model == PERMUTATION:
            cases = permute_times(case_area, case_time, n_areas, steps, seed, r)
        else:
            cases = multinomial_cells(cond_prob, total, n_areas, steps, seed, r)
        out[i] = max_llr_pros(offsets, entries, rcum, bend, cases, wsuf, denom, table, total,
                              max_len, min_cases)  # fmt: skip
    return out
