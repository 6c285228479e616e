"""Background analysis jobs: a thread pool inside the server, one process per running job.

Each run is queued on a :class:`~concurrent.futures.ThreadPoolExecutor` of
``Settings.max_jobs`` threads. When its turn comes, its thread starts a fresh Python process
(``python -m dongne.service.worker``, see :func:`dongne.service.worker.main`) that reads the
run's description on standard input and reports progress and its result as JSON lines on
standard output; the thread writes progress, status and results to the database. Starting
Python and importing the scientific stack takes seconds, so (with ``Settings.warm_worker``)
one spare worker process is kept waiting, its imports done, for the next run.

Cancellation really stops the work: a queued run is marked ``cancelled`` and never started; a
running run's process is terminated (SIGTERM, then SIGKILL after 5 s) wherever it is — inside
a permutation loop or a MIP solve — and its partial output folder is deleted. Outputs are
written into ``runs/.incoming-<uuid>`` and renamed to ``runs/<uuid>`` only when the run
succeeded, so a result folder is always complete.

Runs are held in memory by one server process: serve with a single worker process (the
default of ``dongne serve``). Runs left ``queued`` or ``running`` by a stopped server are
marked ``failed`` at the next start (:meth:`JobManager.recover`).
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dongne.service.models import Run, utcnow
from dongne.service.settings import Settings

__all__ = ["JobManager"]

_POLL_SECONDS = 0.2
_TERMINATE_GRACE_SECONDS = 5.0


def _start_worker() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dongne.service.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


class JobManager:
    """Queue, run, watch and cancel analysis runs.

    Parameters
    ----------
    settings : Settings
    sessions : sessionmaker
        Session factory of the service database.
    """

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self._pool = ThreadPoolExecutor(settings.max_jobs, thread_name_prefix="dongne-run")
        self._cancel: dict[int, threading.Event] = {}
        self._processes: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._spare: subprocess.Popen | None = None
        self._closed = False

    def warm_up(self) -> None:
        """Start the spare worker process now (if ``Settings.warm_worker``)."""
        with self._lock:
            if self.settings.warm_worker and self._spare is None and not self._closed:
                self._spare = _start_worker()

    def recover(self) -> int:
        """Mark runs left unfinished by a previous server process as failed; return how many."""
        with self.sessions.begin() as session:
            stale = session.scalars(select(Run).where(Run.status.in_(("queued", "running"))))
            count = 0
            for run in stale:
                run.status, run.finished_at = "failed", utcnow()
                run.message = "The server stopped before this run finished. Fix: start it again."
                count += 1
        return count

    def submit(self, run_id: int, spec: dict[str, Any]) -> None:
        """Queue run ``run_id``; ``spec`` is what :func:`dongne.service.worker.execute` takes."""
        self._cancel[run_id] = threading.Event()
        self._pool.submit(self._execute, run_id, spec)

    def cancel(self, run_id: int) -> bool:
        """Ask run ``run_id`` to stop; False if this server is not running or queuing it."""
        event = self._cancel.get(run_id)
        if event is None:
            return False
        event.set()
        return True

    def process_of(self, run_id: int) -> subprocess.Popen | None:
        """The process executing run ``run_id`` right now, if any."""
        return self._processes.get(run_id)

    def shutdown(self) -> None:
        """Cancel every queued and running job, wait for their threads, stop the spare."""
        with self._lock:
            self._closed = True
        for event in list(self._cancel.values()):
            event.set()
        self._pool.shutdown(wait=True, cancel_futures=False)
        with self._lock:
            if self._spare is not None:
                self._spare.kill()
                self._spare.wait()
                self._spare.stdin.close()
                self._spare.stdout.close()
                self._spare = None

    def _take_process(self) -> subprocess.Popen:
        """A worker process for the next run: the warm spare if alive, and a new spare."""
        with self._lock:
            process = self._spare
            if process is None or process.poll() is not None:
                process = _start_worker()
            warm = self.settings.warm_worker and not self._closed
            self._spare = _start_worker() if warm else None
        return process

    def _update(self, run_id: int, **values: Any) -> None:
        with self.sessions.begin() as session:
            run = session.get(Run, run_id)
            if run is not None:
                for key, value in values.items():
                    setattr(run, key, value)

    def _execute(self, run_id: int, spec: dict[str, Any]) -> None:
        event = self._cancel[run_id]
        out = Path(spec["out_dir"])
        try:
            if event.is_set():
                self._update(
                    run_id,
                    status="cancelled",
                    message="cancelled before it started",
                    finished_at=utcnow(),
                )
                return
            self._update(run_id, status="running", started_at=utcnow(), message="starting")
            outcome = self._watch(run_id, spec, event)
            if outcome[0] == "done":
                result = outcome[1]
                final = out.with_name(out.name.removeprefix(".incoming-"))
                out.rename(final)
                self._update(
                    run_id,
                    status="done",
                    progress=1.0,
                    message="done",
                    summary=result["summary"],
                    layers=result["layers"],
                    provenance={**result["provenance"], "files": result["files"]},
                    output_dir=str(final.relative_to(self.settings.data_dir)),
                    finished_at=utcnow(),
                )
            else:
                self._update(run_id, status=outcome[0], message=outcome[1], finished_at=utcnow())
        except Exception as exc:  # the database or the disk failed: record it on the run
            self._update(run_id, status="failed", message=f"{type(exc).__name__}: {exc}")
        finally:
            shutil.rmtree(out, ignore_errors=True)
            self._cancel.pop(run_id, None)

    def _watch(self, run_id: int, spec: dict[str, Any], event: threading.Event) -> tuple:
        process = self._take_process()
        self._processes[run_id] = process
        lines: queue.Queue[str | None] = queue.Queue()

        def read_lines() -> None:
            for line in process.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=read_lines, name=f"dongne-run-{run_id}-out", daemon=True)
        reader.start()
        try:
            process.stdin.write(json.dumps(spec))
            process.stdin.close()
            while True:
                if event.is_set():
                    process.terminate()
                    try:
                        process.wait(_TERMINATE_GRACE_SECONDS)
                    except subprocess.TimeoutExpired:
                        process.kill()
                    return ("cancelled", "cancelled while running; the process was stopped")
                try:
                    line = lines.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    continue
                if line is None:
                    break
                message = json.loads(line)
                if "progress" in message:
                    self._update(run_id, progress=message["progress"], message=message["message"])
                elif "done" in message:
                    return ("done", message["done"])
                else:
                    return ("failed", message["failed"])
            process.wait()
            return (
                "failed",
                f"The analysis process ended unexpectedly (exit code {process.returncode}); it "
                "may have run out of memory. Fix: try fewer permutations or smaller data.",
            )
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            reader.join()
            process.stdout.close()
            self._processes.pop(run_id, None)
