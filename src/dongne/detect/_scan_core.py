"""What the purely spatial scan and the space-time scan share: windows and Monte Carlo.

:mod:`dongne.detect.scan` (circles) and :mod:`dongne.spacetime.scan` (circles × time
intervals) build the same scanning windows, draw replicates from the same counter-based
random streams and turn replicate maxima into p-values the same way; this module is that
seam, below both. The window lists are described in :mod:`dongne.detect._scan_kernels`:
centre ``j`` owns ``entries[offsets[j]:offsets[j + 1]]``, areas in order of distance, an
entry ``v < 0`` being area ``~v`` tied in distance with the next entry.

Numba helpers shared by the kernels keep their definitions next to the kernels that use them
and are named here: ``stream_key``/``uniform_below`` (counter-based streams,
:mod:`dongne.detect._kernels`), ``binomial`` (exact binomial draws) and ``hit_high``
(second-order LLR bound, :mod:`dongne.detect._scan_kernels`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from dongne.detect import _scan_kernels as kern
from dongne.detect._kernels import _stream_key as stream_key
from dongne.detect._kernels import _uniform_below as uniform_below
from dongne.detect._scan_inputs import EARTH_RADIUS_M
from dongne.detect._scan_kernels import _binomial as binomial
from dongne.detect._scan_kernels import _hit_high as hit_high

__all__ = [
    "EULER_GAMMA",
    "PARALLEL_WORK",
    "binomial",
    "build_windows",
    "conditional_shares",
    "first_of_duplicates",
    "gumbel_pvalues",
    "hit_high",
    "mc_pvalue",
    "stream_key",
    "threads",
    "uniform_below",
]

#: The Euler–Mascheroni constant γ (the Gumbel location of the replicate maxima).
EULER_GAMMA = 0.5772156649015329


#: Below this many window evaluations a kernel runs on one thread: starting and joining
#: threads costs more than it saves, and a busy core would make every call wait for it.
PARALLEL_WORK = 2_000_000


@contextlib.contextmanager
def threads(work: float) -> Iterator[None]:
    """Run small kernels on one thread (results do not depend on the thread count)."""
    if work >= PARALLEL_WORK:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def mc_pvalue(llr: float, reps: np.ndarray) -> float:
    """Monte Carlo p-value ``(1 + #{replicate maxima >= llr}) / (R + 1)``."""
    # Replicate maxima equal to the observed one (up to rounding) count against it.
    tol = 1e-10 * max(1.0, abs(llr))
    return (1.0 + float(np.count_nonzero(reps >= llr - tol))) / (len(reps) + 1.0)


def gumbel_pvalues(observed: Any, replicates: Any) -> np.ndarray:
    """p-values from a Gumbel distribution fitted to the replicate maxima by moments.

    With mean m and standard deviation s of the R replicate maxima, the Gumbel scale is
    β = s·√6/π and the location μ = m − γβ (γ the Euler–Mascheroni constant); the p-value of
    an observed LLR x is 1 − exp(−exp(−(x − μ)/β)). Unlike the Monte Carlo p-value it is not
    bounded below by 1/(R + 1) (Abrams, Kleinman & Kulldorff 2010).

    Parameters
    ----------
    observed : float or array-like
        Observed LLRs.
    replicates : array-like
        Maximum LLR of each Monte Carlo replicate (at least 2, not all equal).

    Returns
    -------
    numpy.ndarray
        One p-value per observed LLR.

    References
    ----------
    Abrams, A. M., Kleinman, K. & Kulldorff, M. (2010). Gumbel based p-value approximations
    for spatial scan statistics. *International Journal of Health Geographics* 9:61.

    Examples
    --------
    >>> reps = [4.0, 5.0, 6.0, 5.5, 4.5]
    >>> float(gumbel_pvalues(5.0, reps)[0]) > float(gumbel_pvalues(7.0, reps)[0])
    True
    """
    reps = np.asarray(replicates, dtype=float)
    x = np.atleast_1d(np.asarray(observed, dtype=float))
    if reps.size < 2 or np.ptp(reps) == 0:
        return np.full(x.shape, np.nan)
    beta = reps.std(ddof=1) * math.sqrt(6.0) / math.pi
    mu = reps.mean() - EULER_GAMMA * beta
    return -np.expm1(-np.exp(-(x - mu) / beta))


def conditional_shares(expected: np.ndarray) -> np.ndarray:
    """Share of area a in the expected counts of areas a, a + 1, …: binomial probabilities
    that allocate the total multinomially, area by area."""
    suffix = np.cumsum(expected[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(suffix > 0, expected / np.where(suffix > 0, suffix, 1.0), 0.0)
    share = np.clip(share, 0.0, 1.0)
    positive = np.flatnonzero(expected > 0)
    if len(positive):
        share[positive[-1]] = 1.0
    return share


def build_windows(
    px: np.ndarray,
    py: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    weight: np.ndarray,
    cap: float,
    max_dist: float,
    max_k: int,
    great_circle: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Window lists of all centres as (offsets, entries); see :mod:`._scan_kernels`."""
    n = len(px)
    m = len(cx)
    chunk = max(1, (1 << 22) // max(n, 1))
    radius = EARTH_RADIUS_M if great_circle else 1.0
    cap = cap * (1 + 1e-12)  # a window at exactly the cap is allowed, whatever the rounding
    parts: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    for first in range(0, m, chunk):
        count = min(chunk, m - first)
        with threads(count * n):
            dist = kern.distances(px, py, cx, cy, great_circle, radius, first, count)
            order = np.argsort(dist, axis=1)
            buf = np.empty((count, n), dtype=np.int32)
            lens = kern.truncate_windows(dist, order, weight, cap, max_dist, max_k, buf)
        parts.append(buf[np.arange(n)[None, :] < lens[:, None]])
        lengths.append(lens)
        del dist, order, buf
    offsets = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.concatenate(lengths), out=offsets[1:])
    return offsets, np.concatenate(parts)


def first_of_duplicates(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """True for the first of the locations at identical coordinates (the window centres)."""
    frame = pd.DataFrame({"x": px, "y": py})
    return ~frame.duplicated().to_numpy()
