"""One BLAS/OpenMP thread for small dense fits, applied to every runtime that will be used.

``threadpoolctl.threadpool_limits`` limits only the thread pools already loaded into the
process. scikit-learn loads its OpenMP runtime lazily, with the first compiled estimator
module imported, so a limit entered before that import never reaches OpenMP: on a busy
2-core machine a 423-row k-means or Gaussian mixture then took minutes instead of a second
(many threads waiting for each other). :func:`one_thread` loads the OpenMP runtime first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["one_thread"]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one thread in every BLAS and OpenMP pool, scikit-learn's included.

    One thread also keeps the numbers of the small fits independent of the machine's core count.
    """
    # A compiled scikit-learn module linked with OpenMP: importing it loads the runtime, so the
    # limit below applies to it.
    import sklearn.utils._openmp_helpers  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
