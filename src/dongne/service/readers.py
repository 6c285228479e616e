"""Reading uploads in processes of their own, so that they never slow the server's requests.

Reading an upload (unpacking a zip, parsing a CSV or GeoPackage, summarising it) is Python
and pandas work that holds the interpreter lock for seconds. Run on the server's threads,
twenty 1 MiB uploads at once left the event loop waiting for the lock, and the cheapest
requests (``GET /me``) waited with it: 23 reads/s at 50 clients instead of hundreds.
:class:`ReaderPool` runs :func:`~dongne.service.storage.store_upload` in
``Settings.reader_processes`` worker processes instead, started by a fork server that has the
readers imported already. A reader process that dies (a file that crashes a library, memory
exhausted) fails only its upload, with a 400 that says so; the pool is started again.
With ``reader_processes=0`` uploads are read on the server's threads.

References
----------
.. [1] Python documentation, ``concurrent.futures.ProcessPoolExecutor`` and
   ``multiprocessing`` contexts ("forkserver"):
   https://docs.python.org/3/library/concurrent.futures.html
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import anyio
from fastapi.concurrency import run_in_threadpool

from dongne.service.storage import StoredDataset, UploadRejected, store_upload

__all__ = ["ReaderPool"]

logger = logging.getLogger(__name__)

# imported once by the fork server, so every reader process starts with them loaded
_PRELOAD = ["dongne.service.storage", "dongne.io"]


class ReaderPool:
    """Worker processes that read uploads (:func:`~dongne.service.storage.store_upload`).

    Parameters
    ----------
    processes : int
        Reader processes; ``0`` reads on the server's threads instead.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the reader processes now (the first upload then waits for no import)."""
        if self.processes:
            self._executor().submit(int)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(_PRELOAD)
                self._pool = ProcessPoolExecutor(self.processes, mp_context=context)
            return self._pool

    async def store(self, upload: Path, *args: Any) -> StoredDataset:
        """``store_upload(upload, *args)`` in a reader process; its errors are raised here.

        The request waits for the reader even if its client goes away, as it would for a
        thread, so that a stored dataset is always recorded or removed by the caller.
        """
        if not self.processes:
            return await run_in_threadpool(store_upload, upload, *args)
        future = self._executor().submit(store_upload, upload, *args)
        try:
            with anyio.CancelScope(shield=True):
                return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            self._restart()
            upload.unlink(missing_ok=True)  # its half-built folder goes at the next start
            raise UploadRejected(
                f"Reading {args[2]!r} stopped the reader process (a file that crashes the "
                "reading library, or too little memory). Fix: check the file, or send it as "
                "CSV or GeoJSON."
            ) from None

    def _restart(self) -> None:
        with self._lock:
            broken, self._pool = self._pool, None
        if broken is not None:
            logger.warning("an upload reader process died; the readers are started again")
            broken.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        """Stop the reader processes (uploads being read are finished first)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
