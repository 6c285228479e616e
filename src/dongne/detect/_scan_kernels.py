"""Numba kernels of the circular spatial scan statistic (Kulldorff 1997).

Three steps share one compact representation of the scanning windows:

* :func:`distances` and :func:`truncate_windows` sort the areas by distance from each centre
  (NumPy's argsort between the two) and keep the prefix that fits under the window limits
  (share of the population, radius, number of areas). Centre ``j`` owns
  ``entries[offsets[j]:offsets[j + 1]]``: area indices in order of distance. An entry
  ``v >= 0`` is area ``v`` and closes a window (the circle through that area); ``v < 0`` is
  area ``~v`` at exactly the same distance as the next entry, so it never closes a window by
  itself — areas at equal distance enter a window together, as in SaTScan.
* :func:`scan_observed` walks every list once with running sums and keeps, per centre, the
  window with the largest log-likelihood ratio (LLR).
* :func:`scan_replicates` does the same for Monte Carlo replicates of the data under the null
  hypothesis and keeps only the maximum LLR of each replicate. Replicates run in blocks of
  :data:`LANES`, which share one pass over the lists (one read of the entries for eight data
  sets), and a second-order upper bound of the LLR (:func:`_may_exceed`, no logarithm) skips
  every run of windows that cannot beat the replicate's running maximum. The maximum is
  exact.

Random numbers are counter-based, as in :mod:`dongne.detect._kernels`: replicate ``r`` uses the
stream keyed by ``(seed, SCAN_SITE, r)``, so its data — and its maximum LLR — are a pure
function of ``(seed, r)`` whatever the number of threads, the blocks or the batches.
Replicate data are drawn area by area as conditional binomials (Poisson model: multinomial
allocation of the total cases in proportion to the expected counts) or conditional
hypergeometrics (Bernoulli model: random allocation of the cases among cases and controls).
Binomials use inversion for small means and Hörmann's BTRS transformed rejection otherwise
(Hörmann 1993, "The generation of binomial random variates", J. Stat. Comput. Simul.
46:101–110); hypergeometrics use the urn method for small samples and Stadlober's
ratio-of-uniforms HRUA otherwise (Stadlober 1989, "Sampling from Poisson, binomial and
hypergeometric distributions: ratio of uniforms as a simple and fast alternative", Bericht
303, Math. Stat. Sektion, Forschungsgesellschaft Joanneum, Graz) — the methods NumPy uses.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from dongne.detect._kernels import _GOLDEN, _mix, _stream_key

#: Replicates that share one pass over the window lists.
LANES = 8
#: Longest run of entries walked between two pruning tests in :func:`scan_replicates`.
STEP = 8
#: A run also ends once its expected count grew by SLACK · sqrt(e).
SLACK = 1.0
#: Site number of the scan statistic's random streams (see ``_kernels._stream_key``).
SCAN_SITE = -7
#: Model codes.
POISSON = 0
BERNOULLI = 1
#: Scan directions.
HIGH = 1
LOW = -1
BOTH = 0

_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0
_LOG_SQRT_2PI = 0.9189385332046727
# Stirling-series tails log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log sqrt(2 pi)], k = 0..9.
_STIRLING_TAIL = np.array(
    [
        0.0810614667953272,
        0.0413406959554092,
        0.0276779256849983,
        0.02079067210376509,
        0.0166446911898211,
        0.0138761288230707,
        0.0118967099458917,
        0.0104112652619720,
        0.00925546218271273,
        0.00833056343336287,
    ]
)
_HRUA_D1 = 1.7155277699214135  # 2 sqrt(2 / e)
_HRUA_D2 = 0.8989161620588988  # 3 - 2 sqrt(3 / e)


# ------------------------------------------------------------------------------ random numbers
@njit(cache=True)
def _uniform(key, counter):
    """Uniform double in [0, 1) with 53 random bits; returns (value, next counter)."""
    x = _mix(key + _GOLDEN * np.uint64(counter)) >> _S11
    return np.float64(x) * _INV53, counter + 1


@njit(cache=True)
def _stirling_tail(k):
    if k <= 9:
        return _STIRLING_TAIL[np.int64(k)]
    kp1 = k + 1.0
    kp1sq = kp1 * kp1
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / kp1


@njit(cache=True)
def _binomial(key, counter, n, p):
    """Binomial(n, p) variate from the stream ``key``; returns (value, next counter)."""
    if n <= 0 or p <= 0.0:
        return np.int64(0), counter
    if p >= 1.0:
        return np.int64(n), counter
    flip = p > 0.5
    if flip:
        p = 1.0 - p
    q = 1.0 - p
    nf = np.float64(n)
    if nf * p < 10.0:
        # Inversion by sequential search from 0 (expected n p + 1 steps).
        s = p / q
        a = (nf + 1.0) * s
        r0 = math.exp(nf * math.log1p(-p))
        while True:
            u, counter = _uniform(key, counter)
            r = r0
            k = np.int64(0)
            ok = True
            while u > r:
                u -= r
                k += 1
                if k > n:
                    ok = False  # round-off ran past n: draw again
                    break
                r *= a / k - s
            if ok:
                break
    else:
        # BTRS (Hörmann 1993), transformed rejection with squeeze.
        spq = math.sqrt(nf * p * q)
        b = 1.15 + 2.53 * spq
        a = -0.0873 + 0.0248 * b + 0.01 * p
        c = nf * p + 0.5
        v_r = 0.92 - 4.2 / b
        r = p / q
        alpha = (2.83 + 5.1 / b) * spq
        m = math.floor((nf + 1.0) * p)
        while True:
            u, counter = _uniform(key, counter)
            v, counter = _uniform(key, counter)
            u -= 0.5
            us = 0.5 - abs(u)
            if us <= 0.0:
                continue
            kf = math.floor((2.0 * a / us + b) * u + c)
            if kf < 0.0 or kf > nf:
                continue
            if us >= 0.07 and v <= v_r:
                break
            if v <= 0.0:
                break
            v = math.log(v * alpha / (a / (us * us) + b))
            bound = (
                (m + 0.5) * math.log((m + 1.0) / (r * (nf - m + 1.0)))
                + (nf + 1.0) * math.log((nf - m + 1.0) / (nf - kf + 1.0))
                + (kf + 0.5) * math.log(r * (nf - kf + 1.0) / (kf + 1.0))
                + _stirling_tail(m)
                + _stirling_tail(nf - m)
                - _stirling_tail(kf)
                - _stirling_tail(nf - kf)
            )
            if v <= bound:
                break
        k = np.int64(kf)
    if flip:
        k = n - k
    return k, counter


@njit(cache=True)
def _logfact(k):
    return math.lgamma(k + 1.0)


@njit(cache=True)
def _hypergeometric(key, counter, good, bad, sample):
    """Hypergeometric variate: "good" items among ``sample`` drawn from good + bad."""
    total = good + bad
    if sample <= 0 or good <= 0:
        return np.int64(0), counter
    if bad <= 0:
        return np.int64(sample), counter
    if sample >= total:
        return np.int64(good), counter
    if sample >= 10 and sample <= total - 10:
        # HRUA (Stadlober 1989), as numpy's ``hypergeometric_hrua``.
        computed = min(sample, total - sample)
        mingb = min(good, bad)
        maxgb = max(good, bad)
        p = mingb / total
        q = maxgb / total
        mu = computed * p
        a = mu + 0.5
        var = (total - computed) * computed * p * q / (total - 1.0)
        c = math.sqrt(var + 0.5)
        h = _HRUA_D1 * c + _HRUA_D2
        m = math.floor((computed + 1.0) * (mingb + 1.0) / (total + 2.0))
        g = _logfact(m) + _logfact(mingb - m) + _logfact(computed - m)
        g += _logfact(maxgb - computed + m)
        b = min(min(computed, mingb) + 1.0, math.floor(a + 16.0 * c))
        while True:
            u, counter = _uniform(key, counter)
            v, counter = _uniform(key, counter)
            if u <= 0.0:
                continue
            x = a + h * (v - 0.5) / u
            if x < 0.0 or x >= b:
                continue
            kf = math.floor(x)
            gp = _logfact(kf) + _logfact(mingb - kf) + _logfact(computed - kf)
            gp += _logfact(maxgb - computed + kf)
            t = g - gp
            if u * (4.0 - u) - 3.0 <= t:
                break
            if u * (u - t) >= 1.0:
                continue
            if 2.0 * math.log(u) <= t:
                break
        k = np.int64(kf)
        if good > bad:
            k = computed - k
        if computed < sample:
            k = good - k
        return k, counter
    # Urn method for small samples (numpy's ``hypergeometric_sample``).
    half = sample > total // 2
    computed = total - sample if half else sample
    rem_total = total
    rem_good = good
    while computed > 0 and rem_good > 0 and rem_total > rem_good:
        rem_total -= 1
        u, counter = _uniform(key, counter)
        if np.int64(u * (rem_total + 1)) < rem_good:
            rem_good -= 1
        computed -= 1
    if rem_total == rem_good:
        rem_good -= computed
    if half:
        return np.int64(rem_good), counter
    return np.int64(good - rem_good), counter


@njit(cache=True)
def _fill_replicate(out, lane, model, cond_prob, trials, total_cases, total_trials, key):
    """Write one null data set into ``out[:, lane]``.

    Poisson: area ``a`` gets Binomial(remaining cases, cond_prob[a]), with ``cond_prob[a]`` its
    share of the expected counts of areas a, a + 1, ... — a multinomial allocation of the total.
    Bernoulli: area ``a`` gets Hypergeometric(trials[a] of the remaining trials, remaining
    cases) — a random allocation of the cases among all individuals.
    """
    n = out.shape[0]
    counter = 0
    remaining = np.int64(total_cases)
    rem_trials = np.int64(total_trials)
    for a in range(n):
        if remaining <= 0:
            out[a, lane] = 0.0
            continue
        if model == POISSON:
            x, counter = _binomial(key, counter, remaining, cond_prob[a])
        else:
            t = np.int64(trials[a])
            x, counter = _hypergeometric(key, counter, t, rem_trials - t, remaining)
            rem_trials -= t
        out[a, lane] = np.float64(x)
        remaining -= x


@njit(parallel=True, cache=True)
def simulate(model, cond_prob, trials, total_cases, total_trials, seed, first, count):
    """Null data sets ``first .. first + count - 1`` as an (n, count) array (for tests)."""
    n = cond_prob.shape[0]
    out = np.zeros((n, count), dtype=np.float64)
    useed = np.uint64(seed)
    for b in prange(count):
        key = _stream_key(useed, SCAN_SITE, first + b)
        _fill_replicate(out, b, model, cond_prob, trials, total_cases, total_trials, key)
    return out


# ------------------------------------------------------------------------------ windows
@njit(cache=True)
def _distance(px, py, cx, cy, great_circle, radius):
    if great_circle:
        # Haversine; px, cx are latitudes and py, cy longitudes, in radians.
        s1 = math.sin(0.5 * (px - cx))
        s2 = math.sin(0.5 * (py - cy))
        h = s1 * s1 + math.cos(px) * math.cos(cx) * s2 * s2
        return 2.0 * radius * math.asin(math.sqrt(min(1.0, h)))
    dx = px - cx
    dy = py - cy
    return math.sqrt(dx * dx + dy * dy)


@njit(parallel=True, cache=True)
def distances(px, py, cx, cy, great_circle, radius, first, count):
    """Distances from centres ``first .. first + count - 1`` to every area, (count, n)."""
    n = px.shape[0]
    out = np.empty((count, n), dtype=np.float64)
    for t in prange(count):
        j = first + t
        for i in range(n):
            out[t, i] = _distance(px[i], py[i], cx[j], cy[j], great_circle, radius)
    return out


@njit(parallel=True, cache=True)
def truncate_windows(dist, order, weight, cap, max_dist, max_k, buf):
    """Encode the window list of each row of ``dist`` (sorted by ``order``) into ``buf``.

    Whole groups of areas at exactly equal distance are kept while the window's total
    ``weight`` stays ``<= cap``, the distance ``<= max_dist`` and the number of areas
    ``<= max_k``. Within a group the areas are put in index order, so the lists do not depend
    on how the sort broke ties. Returns the list length of each row.
    """
    count, n = dist.shape
    lengths = np.zeros(count, dtype=np.int64)
    for t in prange(count):
        d = dist[t]
        o = order[t]
        total = 0.0
        k = 0
        while k < n:
            dk = d[o[k]]
            if dk > max_dist:
                break
            g = k + 1
            while g < n and d[o[g]] == dk:
                g += 1
            if g > max_k:
                break
            members = np.sort(o[k:g]) if g - k > 1 else o[k:g]
            group = 0.0
            for q in range(g - k):
                group += weight[members[q]]
            if total + group > cap:
                break
            total += group
            for q in range(g - k - 1):
                buf[t, k + q] = ~np.int32(members[q])
            buf[t, g - 1] = np.int32(members[g - k - 1])
            k = g
        lengths[t] = k
    return lengths


# ------------------------------------------------------------------------------ statistic
@njit(cache=True)
def _xlogx_over(a, b):
    """a log(a / b), with 0 log 0 = 0."""
    if a <= 0.0:
        return 0.0
    return a * math.log(a / b)


@njit(cache=True)
def window_llr(c, s, total_cases, total_size, model, direction, min_cases, base):
    """Log-likelihood ratio of a window with ``c`` cases and size ``s``; 0 if not scanned.

    Poisson: ``s`` is the expected count (expected counts sum to the total cases);
    LLR = c log(c/e) + (C − c) log((C − c)/(C − e)). Bernoulli: ``s`` is the number of trials
    n; LLR = ℓ(c, n) + ℓ(C − c, N − n) − ℓ(C, N) with ℓ(a, b) = a log(a/b) + (b − a)
    log((b − a)/b); ``base`` is ℓ(C, N). High-rate windows need ``c >= min_cases``.
    """
    if s <= 0.0 or s >= total_size:
        return 0.0
    cc = total_cases
    if model == POISSON:
        e = s
    else:
        e = s * cc / total_size
    if c > e:
        if direction == LOW or c < min_cases:
            return 0.0
    elif c < e:
        if direction == HIGH:
            return 0.0
    else:
        return 0.0
    if model == POISSON:
        return _xlogx_over(c, e) + _xlogx_over(cc - c, cc - e)
    rest = total_size - s
    out = _xlogx_over(c, s) + _xlogx_over(s - c, s)
    out += _xlogx_over(cc - c, rest) + _xlogx_over(rest - (cc - c), rest)
    return out - base


@njit(parallel=True, cache=True)
def scan_observed(
    offsets, entries, cases, size, total_cases, total_size, model, direction, min_cases, base
):
    """Best window of each centre: (llr, end position, cases, size); position -1 if none."""
    m = offsets.shape[0] - 1
    best = np.zeros(m, dtype=np.float64)
    pos = np.full(m, -1, dtype=np.int64)
    best_c = np.zeros(m, dtype=np.float64)
    best_s = np.zeros(m, dtype=np.float64)
    for j in prange(m):
        c = 0.0
        s = 0.0
        for t in range(offsets[j], offsets[j + 1]):
            v = entries[t]
            a = v if v >= 0 else ~v
            c += cases[a]
            s += size[a]
            if v < 0:
                continue
            llr = window_llr(c, s, total_cases, total_size, model, direction, min_cases, base)
            if llr > best[j]:
                best[j] = llr
                pos[j] = t
                best_c[j] = c
                best_s[j] = s
    return best, pos, best_c, best_s


@njit(cache=True)
def _may_exceed(c, s, best, total_cases, total_size, pi, model, high, low):
    """False only when a window with ``c`` cases and size ``s`` cannot have LLR > ``best``.

    From h(x) = x log x − x + 1 <= (x − 1)² / (2 min(x, 1)) (Taylor with the largest second
    derivative on the interval), the LLR is at most (c − e)² / 2 times
    1 / min(c, e) + 1 / min(C − c, C − e) for Poisson, plus 1 / min(n − c, n − e) +
    1 / min(N − n − C + c, N − n − C + e) for Bernoulli. The bound agrees with the LLR to
    second order in c − e, so it rarely lets a window through that cannot win. The Poisson test
    is written without divisions; a relative margin of 1e-9 absorbs rounding.
    """
    e = s * pi
    d = c - e
    if not ((high and d > 0.0) or (low and d < 0.0)):
        return False
    lo = min(c, e)
    rest = total_cases - max(c, e)
    if lo <= 0.0 or rest <= 0.0:
        return True
    if model == POISSON:
        return d * d * (rest + lo) * 1.000000001 > 2.0 * best * lo * rest
    tr = min(s - c, s - e)
    tc = total_size - s - total_cases + min(c, e)
    if tr <= 0.0 or tc <= 0.0:
        return True
    return d * d * (1.0 / lo + 1.0 / rest + 1.0 / tr + 1.0 / tc) * 1.000000001 > 2.0 * best


@njit(cache=True)
def _hit_high(c, e, best, total_cases):
    """Branch-free Poisson form of :func:`_may_exceed` for high rates (needs e > 0)."""
    d = c - e
    rest = total_cases - c
    return (d > 0.0) & (d * d * (rest + e) * 1.000000001 > 2.0 * best * e * rest)


@njit(cache=True)
def _hit_low(c, e, best, total_cases):
    """Branch-free Poisson form of :func:`_may_exceed` for low rates (needs e < C)."""
    d = c - e
    rest = total_cases - e
    return (d < 0.0) & (d * d * (rest + c) * 1.000000001 > 2.0 * best * c * rest)


@njit(parallel=True, cache=True)
def scan_replicates(
    offsets,
    entries,
    size,
    cond_prob,
    trials,
    total_cases,
    total_size,
    model,
    direction,
    min_cases,
    base,
    seed,
    first,
    count,
):
    """Maximum LLR over all windows for replicates ``first .. first + count - 1``.

    It is long because it is one numba kernel: the replicate loop, the pruning bound and the
    window walk share registers, and splitting them into calls would cost the pruning its speed.

    Pruning is exact: a window's logarithms are computed only when the upper bound of
    :func:`_may_exceed` says it might beat the running maximum M of its replicate. Each list
    is walked in runs of at most :data:`STEP` entries, ending early once the expected count
    grew by :data:`SLACK` · sqrt(e) (about one standard deviation of the cases, so that dense
    data keep tight bounds). Since the high-rate LLR grows with the cases c and falls with the
    size s (the low-rate LLR the reverse), no window of a run can beat M when the bound fails
    at (c after the run, s after its first entry) for high rates and at (c after the first
    entry, s after the run) for low rates — a run of one entry is bounded exactly.
    Only runs that pass this test are walked again window by window. The eight replicates of
    a block are held in scalar variables (``c0`` … ``c7``) so that the compiler keeps them in
    registers.
    """
    n = size.shape[0]
    m = offsets.shape[0] - 1
    out = np.zeros(count, dtype=np.float64)
    nblocks = (count + LANES - 1) // LANES
    useed = np.uint64(seed)
    cc = total_cases
    ts = total_size
    # Poisson sizes are expected counts (summing to C, so e = s); Bernoulli sizes are trials.
    pi = 1.0 if model == POISSON else total_cases / total_size
    high = direction != LOW
    low = direction != HIGH
    for blk in prange(nblocks):
        data = np.zeros((n, LANES), dtype=np.float64)
        lanes = min(LANES, count - blk * LANES)
        for b in range(lanes):
            key = _stream_key(useed, SCAN_SITE, first + blk * LANES + b)
            _fill_replicate(data, b, model, cond_prob, trials, total_cases, total_size, key)
        best = np.zeros(LANES, dtype=np.float64)
        cs = np.zeros(LANES, dtype=np.float64)
        starts = np.zeros(LANES, dtype=np.float64)
        m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = 0.0
        for j in range(m):
            c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = 0.0
            s = 0.0
            end = offsets[j + 1]
            t = offsets[j]
            while t < end:
                limit = min(t + STEP, end)
                b0, b1, b2, b3, b4, b5, b6, b7 = c0, c1, c2, c3, c4, c5, c6, c7
                s_in = s
                # The first entry of the run: its window has the smallest size of the run
                # (high rates) and its sums the fewest cases (low rates).
                v = entries[t]
                a = v if v >= 0 else ~v
                s += size[a]
                c0 += data[a, 0]
                c1 += data[a, 1]
                c2 += data[a, 2]
                c3 += data[a, 3]
                c4 += data[a, 4]
                c5 += data[a, 5]
                c6 += data[a, 6]
                c7 += data[a, 7]
                s_first = s
                f0, f1, f2, f3, f4, f5, f6, f7 = c0, c1, c2, c3, c4, c5, c6, c7
                # The run stops once its expected count grew by about one standard deviation
                # of the cases, sqrt(e): longer runs would loosen the bound too much.
                s_stop = s_first + SLACK * math.sqrt(s_first * pi) / pi
                u = t + 1
                while u < limit and s <= s_stop:
                    v = entries[u]
                    u += 1
                    a = v if v >= 0 else ~v
                    s += size[a]
                    c0 += data[a, 0]
                    c1 += data[a, 1]
                    c2 += data[a, 2]
                    c3 += data[a, 3]
                    c4 += data[a, 4]
                    c5 += data[a, 5]
                    c6 += data[a, 6]
                    c7 += data[a, 7]
                stop = u
                hit = False
                if model == POISSON:
                    if high:
                        if s_first <= 0.0:
                            hit = True
                        else:
                            hit = (
                                _hit_high(c0, s_first, m0, cc)
                                | _hit_high(c1, s_first, m1, cc)
                                | _hit_high(c2, s_first, m2, cc)
                                | _hit_high(c3, s_first, m3, cc)
                                | _hit_high(c4, s_first, m4, cc)
                                | _hit_high(c5, s_first, m5, cc)
                                | _hit_high(c6, s_first, m6, cc)
                                | _hit_high(c7, s_first, m7, cc)
                            )
                    if low and not hit:
                        if s >= ts:
                            hit = True
                        else:
                            hit = (
                                _hit_low(f0, s, m0, cc)
                                | _hit_low(f1, s, m1, cc)
                                | _hit_low(f2, s, m2, cc)
                                | _hit_low(f3, s, m3, cc)
                                | _hit_low(f4, s, m4, cc)
                                | _hit_low(f5, s, m5, cc)
                                | _hit_low(f6, s, m6, cc)
                                | _hit_low(f7, s, m7, cc)
                            )
                else:
                    # Bernoulli: the general bound, lane by lane.
                    cs[0], cs[1], cs[2], cs[3] = c0, c1, c2, c3
                    cs[4], cs[5], cs[6], cs[7] = c4, c5, c6, c7
                    starts[0], starts[1], starts[2], starts[3] = f0, f1, f2, f3
                    starts[4], starts[5], starts[6], starts[7] = f4, f5, f6, f7
                    best[0], best[1], best[2], best[3] = m0, m1, m2, m3
                    best[4], best[5], best[6], best[7] = m4, m5, m6, m7
                    for b in range(lanes):
                        if high and _may_exceed(
                            cs[b], s_first, best[b], cc, ts, pi, model, True, False
                        ):
                            hit = True
                            break
                        if low and _may_exceed(
                            starts[b], s, best[b], cc, ts, pi, model, False, True
                        ):
                            hit = True
                            break
                if hit:
                    # Walk the step again, window by window, from the saved sums.
                    cs[0], cs[1], cs[2], cs[3] = b0, b1, b2, b3
                    cs[4], cs[5], cs[6], cs[7] = b4, b5, b6, b7
                    best[0], best[1], best[2], best[3] = m0, m1, m2, m3
                    best[4], best[5], best[6], best[7] = m4, m5, m6, m7
                    ss = s_in
                    for u in range(t, stop):
                        v = entries[u]
                        a = v if v >= 0 else ~v
                        ss += size[a]
                        for b in range(LANES):
                            cs[b] += data[a, b]
                        if v < 0 or ss <= 0.0 or ss >= ts:
                            continue
                        for b in range(lanes):
                            if not _may_exceed(cs[b], ss, best[b], cc, ts, pi, model, high, low):
                                continue
                            llr = window_llr(cs[b], ss, cc, ts, model, direction, min_cases, base)
                            if llr > best[b]:
                                best[b] = llr
                    m0, m1, m2, m3 = best[0], best[1], best[2], best[3]
                    m4, m5, m6, m7 = best[4], best[5], best[6], best[7]
                t = stop
        maxima = (m0, m1, m2, m3, m4, m5, m6, m7)
        for b in range(lanes):
            out[blk * LANES + b] = maxima[b]
    return out


@njit(cache=True)
def draw_binomial(n, p, seed, count):
    """``count`` Binomial(n, p) variates from the streams (seed, r) — for tests."""
    out = np.empty(count, dtype=np.int64)
    useed = np.uint64(seed)
    for r in range(count):
        out[r], _ = _binomial(_stream_key(useed, SCAN_SITE, r), 0, n, p)
    return out


@njit(cache=True)
def draw_hypergeometric(good, bad, sample, seed, count):
    """``count`` hypergeometric variates from the streams (seed, r) — for tests."""
    out = np.empty(count, dtype=np.int64)
    useed = np.uint64(seed)
    for r in range(count):
        out[r], _ = _hypergeometric(_stream_key(useed, SCAN_SITE, r), 0, good, bad, sample)
    return out
