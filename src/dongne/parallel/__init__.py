"""Run dongne's Monte Carlo work in worker processes or on a Dask cluster, with identical results.

* :mod:`dongne.parallel.scheduler` — the ``scheduler=`` switch and :func:`map_batches`,
  which runs seeded batches anywhere and returns them in batch order;
* :mod:`dongne.parallel.chunked` — local permutation statistics in blocks of areas × batches
  of permutations, never an n × R array;
* :mod:`dongne.parallel.halo` — contiguity weights built partition by partition with a halo
  exchange at partition borders.

See ``docs/scale.md``.
"""

from dongne.parallel.halo import partitioned_contiguity, read_partition
from dongne.parallel.scheduler import (
    batch_ranges,
    describe_scheduler,
    map_batches,
    map_tasks,
    sum_batches,
)

__all__ = [
    "batch_ranges",
    "describe_scheduler",
    "map_batches",
    "map_tasks",
    "partitioned_contiguity",
    "read_partition",
    "sum_batches",
]
