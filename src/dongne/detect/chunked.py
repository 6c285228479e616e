"""Local permutation statistics in blocks of areas × batches of permutations.

The conditional-permutation kernels of :mod:`dongne.detect._kernels` keep, per area, four
running numbers (two counts, a sum and a sum of squares) instead of the R permuted statistics,
so memory is O(n) whatever R is. Here the work is also cut along the areas: a task computes
rows ``start .. stop - 1`` for permutations ``first .. first + count - 1``. Area *i*'s random
numbers come from the streams keyed by ``(seed, i, r)`` (or from the batch's table of
samples, itself a pure function of ``(seed, batch)``), so a block gives exactly the numbers
those rows get in a whole-matrix run; the per-area sums are then added batch by batch in
batch order, as in the single-process run. Nothing of size n × R is ever formed: a task holds
the shared inputs (values and the weights in CSR form, O(n + nnz)), four length-n outputs and,
for ``permutation_method="table"``, one table of samples (at most 64 MB).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dongne.detect._kernels import (
    local_permutation_counts,
    local_permutation_counts_rows,
    permutation_rows,
)
from dongne.detect._prepare import table_rows
from dongne.parallel.batches import BATCH_SIZE
from dongne.parallel.scheduler import Scheduler, batch_ranges, map_tasks

__all__ = ["BLOCK_ROWS", "local_permutation_sums"]

#: Areas per task. With 1,000 permutations per batch and 8 neighbours a block of 65,536 areas
#: is about 5 × 10⁸ neighbour look-ups: a second or so of work, large enough that scheduling
#: costs little, small enough that a million areas make 16 tasks per batch.
BLOCK_ROWS = 65_536


def block_ranges(n: int, block_rows: int) -> list[tuple[int, int]]:
    """``(start, stop)`` row ranges of at most ``block_rows`` areas.

    >>> block_ranges(10, 4)
    [(0, 4), (4, 8), (8, 10)]
    """
    return [(start, min(start + block_rows, n)) for start in range(0, n, block_rows)]


def local_permutation_sums(
    centred: np.ndarray,
    indptr: np.ndarray,
    weights: np.ndarray,
    scale: np.ndarray,
    shift: np.ndarray,
    observed: np.ndarray,
    tol: np.ndarray,
    seed: int,
    permutations: int,
    *,
    method: str = "table",
    scheduler: Scheduler = None,
    block_rows: int = BLOCK_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-area permutation counts and sums, computed in blocks × batches on ``scheduler``.

    Parameters
    ----------
    centred, scale, shift, observed, tol : ndarray, length n
        As for :func:`dongne.detect._kernels.local_permutation_counts`: the values whose
        lags are permuted and, per area, the affine map from the lag to the statistic, the
        observed statistic and the tie tolerance.
    indptr, weights : ndarray
        CSR row pointers (length n + 1) and weights of the off-diagonal weights; the kernel
        gives the row's weights, in order, to randomly drawn areas, so column indices are not
        needed.
    seed : int
        Seed of the counter-based streams.
    permutations : int
        R; cut into batches of :data:`dongne.parallel.batches.BATCH_SIZE`.
    method : {"table", "exact"}
        ``permutation_method`` of :class:`dongne.detect.LocalMoran`.
    scheduler : None, "threads", "processes", str or distributed.Client
        Where the tasks run (:mod:`dongne.parallel.scheduler`).
    block_rows : int
        Areas per task.
    progress : callable, optional
        ``progress(done, permutations)`` with the permutations finished for every area.

    Returns
    -------
    n_ge, n_le, total, total_sq : ndarray, length n
        Bit-identical to :func:`dongne.parallel.batches.run_batches` over the whole matrix.
    """
    n = len(centred)
    kmax = int(np.diff(indptr).max(initial=0))
    batches = batch_ranges(int(permutations), BATCH_SIZE)
    blocks = block_ranges(n, int(block_rows))
    tasks = [
        (int(seed), first, count, start, stop) for first, count in batches for start, stop in blocks
    ]
    out = (
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.float64),
        np.zeros(n, dtype=np.float64),
    )

    def add(i: int, part: tuple[np.ndarray, ...]) -> None:
        start, stop = tasks[i][3], tasks[i][4]
        first = tasks[i][1]
        for total, piece in zip(out, part, strict=True):
            # Batch 0 sets the running sum, later batches add to it in batch order: the
            # floating-point operations of run_batches, area by area.
            total[start:stop] = piece if first == 0 else total[start:stop] + piece

    area_perms = [0]

    def tick(i: int) -> None:
        area_perms[0] += tasks[i][2] * (tasks[i][4] - tasks[i][3])
        if progress is not None:
            progress(area_perms[0] // max(n, 1), int(permutations))

    shared = (
        np.ascontiguousarray(centred, dtype=np.float64),
        np.ascontiguousarray(indptr, dtype=np.int64),
        np.ascontiguousarray(weights, dtype=np.float64),
        np.ascontiguousarray(scale, dtype=np.float64),
        np.ascontiguousarray(shift, dtype=np.float64),
        np.ascontiguousarray(observed, dtype=np.float64),
        np.ascontiguousarray(tol, dtype=np.float64),
        str(method),
        kmax,
    )
    map_tasks(local_block, shared, tasks, scheduler=scheduler, progress=tick, consume=add)
    return out


def local_block(
    centred: np.ndarray,
    indptr: np.ndarray,
    weights: np.ndarray,
    scale: np.ndarray,
    shift: np.ndarray,
    observed: np.ndarray,
    tol: np.ndarray,
    method: str,
    kmax: int,
    seed: int,
    first: int,
    count: int,
    start: int,
    stop: int,
) -> tuple[np.ndarray, ...]:
    """One task: counts and sums of areas ``start .. stop - 1``, permutations ``first ..``.

    The kernels loop over all n areas and skip those without neighbours, so the block is
    selected by giving every other row zero length; the areas keep their global index, which
    keys their random streams and the exclusion of the area itself from its draws.
    """
    n = len(centred)
    lo, hi = int(indptr[start]), int(indptr[stop])
    rows = np.empty(n + 1, dtype=np.int64)
    rows[: start + 1] = 0
    rows[start + 1 : stop + 1] = indptr[start + 1 : stop + 1] - lo
    rows[stop + 1 :] = hi - lo
    args: tuple[Any, ...] = (centred, rows, weights[lo:hi], scale, shift, observed, tol, seed)
    if method == "exact":
        result = local_permutation_counts(*args, first, count)
    else:
        batch = first // BATCH_SIZE
        table = permutation_rows(seed, batch, table_rows(kmax), max(kmax, 1), n - 1)
        result = local_permutation_counts_rows(*args, batch, count, table)
    return tuple(np.ascontiguousarray(r[start:stop]) for r in result)
