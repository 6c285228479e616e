"""Run dongne's Monte Carlo work in worker processes or on a Dask cluster, with identical results.

* :mod:`dongne.parallel.scheduler` — the ``scheduler=`` switch and :func:`map_batches`,
  which runs seeded batches anywhere and returns them in batch order;
* :mod:`dongne.parallel.batches` — the fixed, seeded cut of replications into batches
  (:data:`~dongne.parallel.batches.BATCH_SIZE`, :func:`~dongne.parallel.batches.run_batches`);
* :mod:`dongne.parallel.halo` — contiguity weights built partition by partition with a halo
  exchange at partition borders.

The package sits below the statistics: local permutation statistics cut into blocks of
areas × batches live with the statistics, in :mod:`dongne.detect.chunked`. See
``docs/scale.md``.
"""

from dongne.parallel.batches import BATCH_SIZE, run_batches
from dongne.parallel.halo import partitioned_contiguity, read_partition
from dongne.parallel.scheduler import (
    batch_ranges,
    describe_scheduler,
    map_batches,
    map_tasks,
    sum_batches,
)

__all__ = [
    "BATCH_SIZE",
    "batch_ranges",
    "describe_scheduler",
    "map_batches",
    "map_tasks",
    "partitioned_contiguity",
    "read_partition",
    "run_batches",
    "sum_batches",
]
