"""Seeded batches: the fixed cut of Monte Carlo replications that keeps results bit-identical.

Every random procedure in dongne draws replication ``r`` from counter-based streams keyed by
``(seed, r)`` and cuts the replications into batches of :data:`BATCH_SIZE`. Counts do not depend
on the cut; float sums (behind ``z_sim``, say) are accumulated batch by batch in batch order, so
the size is fixed to keep them identical on every machine, thread count and scheduler
(:mod:`dongne.parallel.scheduler` runs the same batches elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["BATCH_SIZE", "run_batches"]

#: Permutations per batch. Counts do not depend on it; the float sums behind ``z_sim`` are
#: accumulated batch by batch, so it is fixed to keep results bit-identical everywhere.
BATCH_SIZE = 1000


def run_batches(
    kernel: Callable[..., tuple[np.ndarray, ...]],
    args: tuple,
    seed: int,
    permutations: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[np.ndarray]:
    """Run ``kernel(*args, seed, first, count)`` over fixed batches and add the results up.

    Batches are summed in batch order, so the floating-point sums are the same whoever
    computes the batches (:func:`dongne.parallel.scheduler.sum_batches` gives the same sums
    on worker processes or a Dask cluster).

    Parameters
    ----------
    kernel : callable
        Pure function of ``(*args, seed, first, count)`` returning a tuple of arrays for
        replications ``first .. first + count - 1``.
    args : tuple
        Inputs shared by every batch.
    seed : int
        Seed of the counter-based streams.
    permutations : int
        Number of replications, cut into batches of :data:`BATCH_SIZE`.
    progress : callable, optional
        ``progress(done, permutations)`` after each batch.

    Returns
    -------
    list of ndarray
        The element-wise sums of the kernel's arrays over all batches.

    References
    ----------
    Steele, G. L., Lea, D. and Flood, C. H. (2014). Fast splittable pseudorandom number
    generators. OOPSLA '14, 453–472 (the counter-based streams of
    :mod:`dongne.detect._kernels`).
    """
    totals: list[np.ndarray] | None = None
    for first in range(0, permutations, BATCH_SIZE):
        count = min(BATCH_SIZE, permutations - first)
        part = kernel(*args, seed, first, count)
        totals = (
            list(part) if totals is None else [t + p for t, p in zip(totals, part, strict=True)]
        )
        if progress is not None:
            progress(first + count, permutations)
    assert totals is not None
    return totals
