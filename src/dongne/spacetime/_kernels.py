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

from dongne.detect._kernels import _stream_key, _uniform_below
from dongne.detect._scan_kernels import _binomial, _hit_high

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
            if c < min_cases or not _hit_high(c, e, out_llr, total):
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
    key = _stream_key(np.uint64(seed), SPACETIME_SITE, r)
    times = case_time.copy()
    counter = 0
    for i in range(times.shape[0] - 1, 0, -1):
        j, counter = _uniform_below(key, counter, i + 1)
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
    key = _stream_key(np.uint64(seed), SPACETIME_SITE, r)
    out = np.zeros((n_areas, steps))
    left = np.int64(total)
    counter = 0
    for i in range(n_areas * steps):
        if left <= 0:
            break
        k, counter = _binomial(key, counter, left, cond_prob[i])
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
