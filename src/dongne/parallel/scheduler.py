"""One switch for where Monte Carlo batches run: this process, worker processes, or Dask.

Every random procedure in dongne cuts its replications into fixed, seeded batches whose
random numbers are a pure function of ``(seed, batch range)`` (counter-based streams, see
:mod:`dongne.detect._kernels`). A batch is therefore a pure task: ``func(*shared, *task)``
gives the same arrays wherever and however often it runs. This module runs such tasks

* ``scheduler=None`` or ``"threads"``: in this process, one task after another, each using
  numba's threads across areas (dongne's behaviour before schedulers existed);
* ``"processes"``: in a pool of fresh worker processes on this machine (one per core, each
  with one numba thread);
* a :class:`distributed.Client`, or the address of a Dask scheduler (``"tcp://host:8786"``):
  on a Dask cluster.

and hands the results back **in task order**, so that reductions (sums of floats) are done in
the same order as in a single-process run: results are bit-identical for every scheduler,
number of workers, task placement and retry. The large inputs shared by all tasks (values,
weights) are sent once per worker — scattered with ``broadcast=True`` on Dask, written once to
a file that each worker process loads once — never once per task.

Any pure function can be run this way; :func:`map_batches` is the entry point for new
permutation procedures (e.g. a permutation test of a fairness audit)::

    def my_batch(x, groups, seed, first, count):  # module-level, so workers can import it
        ...  # permutations first .. first + count - 1 from streams keyed by (seed, r)
        return stats  # array of length count

    parts = map_batches(my_batch, (x, groups), seed, 9999, scheduler="processes")
    stats = np.concatenate(parts)  # identical for every scheduler

References
----------
Rocklin, M. (2015). Dask: parallel computation with blocked algorithms and task scheduling.
Proceedings of the 14th Python in Science Conference, 130–136.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from dongne._optional import import_optional
from dongne.errors import SpecificationError

__all__ = [
    "batch_ranges",
    "describe_scheduler",
    "map_batches",
    "map_tasks",
    "sum_batches",
]

#: ``None`` / ``"threads"`` / ``"processes"`` / ``"tcp://host:port"`` / ``distributed.Client``.
Scheduler = Any

_IN_PROCESS = (None, "threads")


def batch_ranges(total: int, batch_size: int) -> list[tuple[int, int]]:
    """The fixed ``(first, count)`` ranges that cut ``total`` replications into batches.

    >>> batch_ranges(2500, 1000)
    [(0, 1000), (1000, 1000), (2000, 500)]
    """
    return [(first, min(batch_size, total - first)) for first in range(0, total, batch_size)]


def describe_scheduler(scheduler: Scheduler) -> str:
    """Where tasks run, in words, for provenance (results do not depend on it).

    >>> describe_scheduler(None), describe_scheduler("processes")
    ('in-process', 'processes')
    """
    if scheduler in _IN_PROCESS:
        return "in-process"
    if scheduler == "processes":
        return "processes"
    if isinstance(scheduler, str):
        return f"dask {scheduler}"
    return f"dask {getattr(scheduler.scheduler, 'address', 'client')}"


def map_tasks(
    func: Callable[..., Any],
    shared: tuple,
    tasks: Sequence[tuple],
    *,
    scheduler: Scheduler = None,
    progress: Callable[[int], None] | None = None,
    consume: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """Run ``func(*shared, *task)`` for every task; return the results in task order.

    Parameters
    ----------
    func : callable
        A pure, module-level function (worker processes import it by name).
    shared : tuple
        Inputs common to all tasks, sent once per worker.
    tasks : sequence of tuple
        The per-task arguments (small: batch ranges, row ranges, labels).
    scheduler : None, "threads", "processes", str or distributed.Client
        Where to run; see the module docstring.
    progress : callable, optional
        Called as ``progress(i)`` when task ``i`` has finished (in completion order).
    consume : callable, optional
        Called as ``consume(i, result)`` in task order as soon as results 0 … i are in;
        results are then not kept (``None`` is returned in their place), so a reduction holds
        only the results that arrived ahead of their turn.

    Returns
    -------
    list
        ``func``'s results in task order (``None`` entries when ``consume`` is given).
    """
    with _runner(scheduler) as run:
        return run(func, shared, list(tasks), progress, consume)


def map_batches(
    func: Callable[..., Any],
    shared: tuple,
    seed: int,
    total: int,
    *,
    batch_size: int | None = None,
    scheduler: Scheduler = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Any]:
    """Run ``func(*shared, seed, first, count)`` over the fixed batches of ``total`` replications.

    The batches are :func:`batch_ranges` of ``batch_size`` (default
    :data:`dongne.detect._prepare.BATCH_SIZE`, 1,000); ``func`` must draw replication ``r``
    from streams keyed by ``(seed, r)`` only. Results come back in batch order.
    ``progress(done, total)`` is called with the number of replications finished.

    Examples
    --------
    >>> import numpy as np
    >>> def draws(scale, seed, first, count):
    ...     return scale * np.array([hash((seed, r)) % 7 for r in range(first, first + count)])
    >>> parts = map_batches(draws, (2,), seed=5, total=5, batch_size=2)
    >>> [len(p) for p in parts]
    [2, 2, 1]
    """
    from dongne.detect._prepare import BATCH_SIZE

    ranges = batch_ranges(int(total), int(batch_size or BATCH_SIZE))
    done = [0]

    def tick(i: int) -> None:
        done[0] += ranges[i][1]
        if progress is not None:
            progress(done[0], int(total))

    tasks = [(int(seed), first, count) for first, count in ranges]
    return map_tasks(func, shared, tasks, scheduler=scheduler, progress=tick)


def sum_batches(
    func: Callable[..., tuple[np.ndarray, ...]],
    shared: tuple,
    seed: int,
    total: int,
    *,
    batch_size: int | None = None,
    scheduler: Scheduler = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[np.ndarray]:
    """As :func:`map_batches` for a ``func`` returning a tuple of arrays: their sums.

    The sums are accumulated in batch order (``((b0 + b1) + b2) + …``), the order of a
    single-process run, so the floating-point totals are bit-identical for every scheduler.
    """
    from dongne.detect._prepare import BATCH_SIZE

    ranges = batch_ranges(int(total), int(batch_size or BATCH_SIZE))
    totals: list[np.ndarray] = []
    done = [0]

    def add(_i: int, part: tuple[np.ndarray, ...]) -> None:
        if not totals:
            totals.extend(part)
        else:
            totals[:] = [t + p for t, p in zip(totals, part, strict=True)]

    def tick(i: int) -> None:
        done[0] += ranges[i][1]
        if progress is not None:
            progress(done[0], int(total))

    tasks = [(int(seed), first, count) for first, count in ranges]
    map_tasks(func, shared, tasks, scheduler=scheduler, progress=tick, consume=add)
    return totals


# ============================================================================ runners
class _InOrder:
    """Hand results to ``consume`` in task order, buffering those that arrive early."""

    def __init__(self, n: int, consume: Callable[[int, Any], None] | None) -> None:
        self.results: list[Any] = [None] * n
        self.consume = consume
        self.ready: dict[int, Any] = {}
        self.next = 0

    def put(self, i: int, result: Any) -> None:
        if self.consume is None:
            self.results[i] = result
            return
        self.ready[i] = result
        while self.next in self.ready:
            self.consume(self.next, self.ready.pop(self.next))
            self.next += 1


def _run_in_process(
    func: Callable[..., Any],
    shared: tuple,
    tasks: list[tuple],
    progress: Callable[[int], None] | None,
    consume: Callable[[int, Any], None] | None,
) -> list[Any]:
    order = _InOrder(len(tasks), consume)
    for i, task in enumerate(tasks):
        order.put(i, func(*shared, *task))
        if progress is not None:
            progress(i)
    return order.results


@contextlib.contextmanager
def _runner(scheduler: Scheduler) -> Iterator[Callable[..., list[Any]]]:
    if scheduler in _IN_PROCESS:
        yield _run_in_process
    elif scheduler == "processes":
        yield from _process_runner()
    elif isinstance(scheduler, str):
        if "://" not in scheduler:
            raise SpecificationError(
                "The 'scheduler' parameter must be None, 'threads', 'processes', a "
                "dask.distributed.Client or a scheduler address such as 'tcp://10.0.0.5:8786'. "
                f"Got {scheduler!r}."
            )
        distributed = _distributed()
        with distributed.Client(scheduler, set_as_default=False) as client:
            yield from _dask_runner(client)
    elif hasattr(scheduler, "scatter") and hasattr(scheduler, "submit"):
        yield from _dask_runner(scheduler)
    else:
        raise SpecificationError(
            "The 'scheduler' parameter must be None, 'threads', 'processes', a "
            "dask.distributed.Client or a scheduler address such as 'tcp://10.0.0.5:8786'. "
            f"Got an object of type {type(scheduler).__name__}."
        )


def _distributed() -> Any:
    return import_optional(
        "distributed",
        "dask",
        "Running on a Dask cluster",
        alternative="or use scheduler=None or 'processes'",
    )


# ---------------------------------------------------------------------------- processes
def available_cores() -> int:
    """Cores this process may use (its CPU affinity where the system reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


_POOL: dict[str, Any] = {}


def _process_pool() -> Any:
    """The worker processes of ``scheduler="processes"``: started on first use, then reused.

    One process per core, each with an equal share of numba threads. Starting a process
    imports numpy, numba and dongne (seconds), so the pool lives until the interpreter exits,
    as joblib's reusable executor does.
    """
    import atexit
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = _POOL.get("pool")
    if pool is None or getattr(pool, "_broken", False):
        workers = available_cores()
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_process,
            initargs=(max(1, available_cores() // workers),),
        )
        if not _POOL:
            atexit.register(_shutdown_pool)
        _POOL["pool"] = pool
    return pool


def _shutdown_pool() -> None:
    pool = _POOL.pop("pool", None)
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _process_runner() -> Iterator[Callable[..., list[Any]]]:
    from concurrent.futures import FIRST_COMPLETED, wait

    pool = _process_pool()
    with tempfile.TemporaryDirectory(prefix="dongne-shared-") as folder:

        def run(
            func: Callable[..., Any],
            shared: tuple,
            tasks: list[tuple],
            progress: Callable[[int], None] | None,
            consume: Callable[[int, Any], None] | None,
        ) -> list[Any]:
            # Written once; each worker process loads it once (not once per task).
            path = os.path.join(folder, f"{uuid.uuid4().hex}.pickle")
            with open(path, "wb") as handle:
                pickle.dump(shared, handle, protocol=5)
            order = _InOrder(len(tasks), consume)
            pending = {
                pool.submit(_process_task, func, path, task): i for i, task in enumerate(tasks)
            }
            try:
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in sorted(finished, key=pending.__getitem__):
                        i = pending.pop(future)
                        order.put(i, future.result())
                        if progress is not None:
                            progress(i)
            finally:
                for future in pending:
                    future.cancel()
            return order.results

        yield run


_LOADED: dict[str, tuple] = {}
_THREADS = [1]


def _init_process(threads: int) -> None:
    _THREADS[0] = threads


def _process_task(func: Callable[..., Any], path: str, task: tuple) -> Any:
    if path not in _LOADED:
        _LOADED.clear()  # one shared input at a time: the previous call's is done
        with open(path, "rb") as handle:
            _LOADED[path] = pickle.load(handle)
    if "numba" in sys.modules:  # imported with func's module; cores are split between workers
        sys.modules["numba"].set_num_threads(_THREADS[0])
    return func(*_LOADED[path], *task)


# ---------------------------------------------------------------------------- dask
def _dask_runner(client: Any) -> Iterator[Callable[..., list[Any]]]:
    distributed = _distributed()

    def run(
        func: Callable[..., Any],
        shared: tuple,
        tasks: list[tuple],
        progress: Callable[[int], None] | None,
        consume: Callable[[int, Any], None] | None,
    ) -> list[Any]:
        token = uuid.uuid4().hex[:12]
        name = getattr(func, "__name__", "task").strip("_")
        # Scattered once, copied to every worker; tasks get a reference, not the data.
        [handle] = client.scatter([shared], broadcast=True, hash=False)
        futures = [
            client.submit(_dask_task, func, handle, task, key=f"dongne-{name}-{token}-{i}")
            for i, task in enumerate(tasks)
        ]
        index = {future.key: i for i, future in enumerate(futures)}
        order = _InOrder(len(tasks), consume)
        try:
            for future, result in distributed.as_completed(
                futures, loop=client.loop, with_results=True
            ):
                i = index[future.key]
                order.put(i, result)
                futures[i] = None  # release the result on the cluster
                if progress is not None:
                    progress(i)
        finally:
            client.cancel([f for f in futures if f is not None])
            client.cancel([handle])
        return order.results

    yield run


def _dask_task(func: Callable[..., Any], shared: tuple, task: tuple) -> Any:
    """Run one task on a Dask worker with as many numba threads as the worker has threads."""
    threads = None
    with contextlib.suppress(ImportError, ValueError):
        from distributed import get_worker

        threads = get_worker().state.nthreads
    if threads is None:
        return func(*shared, *task)
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        return func(*shared, *task)
    finally:
        numba.set_num_threads(before)
