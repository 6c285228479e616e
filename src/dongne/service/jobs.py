"""Background analysis jobs: a thread pool inside the server, one process per running job.

Each run is queued for one of ``Settings.max_jobs`` job threads. When its turn comes, its
thread starts a fresh Python process (``python -m dongne.service.worker``, see
:func:`dongne.service.worker.main`) that reads the run's description on standard input
and reports progress and its result as JSON lines on standard output; the thread writes
progress, status and results to the database. Starting Python and importing the scientific
stack takes seconds, so (with ``Settings.warm_worker``)
one spare worker process is kept waiting, its imports done, for the next run.

Cancellation really stops the work: a queued run is marked ``cancelled`` at once and never
started; a running run's process is terminated (SIGTERM, then SIGKILL after 5 s) wherever it
is — inside a permutation loop or a MIP solve — and its partial output folder is deleted.
Outputs are written into ``runs/.incoming-<uuid>`` and renamed to ``runs/<uuid>`` only when
the run succeeded, so a result folder is always complete.

Runs are supervised. A supervisor thread looks at every run's worker process each second
and, while the process is alive, records the time in the run's ``heartbeat_at``. A run
whose process ends without a result is marked ``failed`` by its thread within a fraction of a
second, with the exit code or signal as the reason; a ``running`` run whose heartbeat is older
than ``Settings.heartbeat_timeout`` seconds (its thread died or hangs, or the database refused its
writes) is marked ``failed`` by the supervisor, its process stopped if it still exists. Final
states are written only over ``queued`` or ``running`` (a run never leaves ``done``,
``failed`` or ``cancelled``) and are retried while the database is busy. Cancelling always
ends a run: ``cancelled``, or ``failed`` if its worker had already died.

Runs are held in memory by one server process: serve with a single worker process (the
default of ``dongne serve``). At the next start (:meth:`JobManager.recover`) runs left
``running`` by a stopped server are marked ``failed`` ("server restarted") and runs left
``queued`` are queued again, in the order they were submitted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dongne.errors import DongneError
from dongne.service.models import Run, utcnow
from dongne.service.settings import Settings

__all__ = ["JobManager"]

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.2
_TERMINATE_GRACE_SECONDS = 5.0
_SUPERVISE_SECONDS = 1.0
# How long a run's final state is retried while the database refuses writes.
_FINISH_RETRY_SECONDS = 60.0
_OPEN = ("queued", "running")
_STOPPED = "The server stopped while this run was running. Fix: start the run again."


def _start_worker() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dongne.service.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def _ended(returncode: int) -> str:
    """Why a worker process that gave no result ended, for the run's message."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        how = f"was killed by {name} ({-returncode})"
        if -returncode == signal.SIGKILL:
            how += ", as the system does when memory runs out or an operator kills it"
    else:
        how = f"exited with code {returncode}"
    return (
        f"The analysis process {how} before it sent a result. Fix: start the run again; if it "
        "happens again, use fewer permutations or replications or smaller data."
    )


def _as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time (SQLite gives back naive UTC times)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass
class _Job:
    """What the server holds for one submitted run (under :attr:`JobManager._lock`)."""

    cancel: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    process: subprocess.Popen | None = None
    cancel_asked: float | None = None  # time.monotonic() of the cancel request


class JobManager:
    """Queue, run, supervise and cancel analysis runs.

    Parameters
    ----------
    settings : Settings
    sessions : sessionmaker
        Session factory of the service database.
    heartbeat_timeout : float, optional
        Seconds after which a ``running`` run whose worker process was not seen alive is
        marked ``failed``. ``None`` (default): ``settings.heartbeat_timeout``.
    shutdown_timeout : float
        Seconds :meth:`shutdown` waits for the job threads to stop their runs (a stopped
        process takes up to 5 s to end); runs whose thread is stuck are then ended by
        :meth:`shutdown` itself.

    Notes
    -----
    The supervisor thread starts with the manager and stops at :meth:`shutdown`.
    """

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        heartbeat_timeout: float | None = None,
        shutdown_timeout: float = 15.0,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.heartbeat_timeout = (
            settings.heartbeat_timeout if heartbeat_timeout is None else heartbeat_timeout
        )
        self.shutdown_timeout = shutdown_timeout
        # daemon threads, not a ThreadPoolExecutor: a thread stuck in its own code must not
        # keep the server process from exiting after a bounded shutdown
        self._queue: queue.SimpleQueue[tuple[int, dict[str, Any]] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve_queue, name=f"dongne-run-{i}", daemon=True)
            for i in range(settings.max_jobs)
        ]
        self._jobs: dict[int, _Job] = {}
        self._lock = threading.Lock()
        self._spare: subprocess.Popen | None = None
        self._closed = False
        self._stop = threading.Event()
        self._supervisor = threading.Thread(
            target=self._supervise, name="dongne-run-supervisor", daemon=True
        )
        self._supervisor.start()
        for thread in self._threads:
            thread.start()

    def warm_up(self) -> None:
        """Start the spare worker process now (if ``Settings.warm_worker``)."""
        with self._lock:
            if self.settings.warm_worker and self._spare is None and not self._closed:
                self._spare = _start_worker()

    def recover(self, spec_of: Callable[[Session, Run], dict[str, Any]]) -> tuple[int, int]:
        """Take over the runs a previous server process left unfinished.

        Runs left ``running`` are marked ``failed`` ("server restarted"); runs left
        ``queued`` are queued again in submission order, with the spec ``spec_of(session,
        run)`` builds from the run's stored parameters. A queued run whose inputs can no
        longer be used (``spec_of`` raises :class:`~dongne.errors.DongneError`) or whose
        stored parameters are broken (any other exception) is failed with that reason.

        Returns
        -------
        (failed, resumed) : tuple of int
            How many runs were failed and how many were queued again.
        """
        resumed: list[tuple[int, dict[str, Any]]] = []
        failed = 0
        with self.sessions.begin() as session:
            runs = session.scalars(select(Run).where(Run.status.in_(_OPEN)).order_by(Run.id))
            for run in runs:
                if run.status == "running":
                    reason = (
                        "server restarted: the server stopped while this run was running. "
                        "Fix: start the run again."
                    )
                else:
                    try:
                        resumed.append((run.id, spec_of(session, run)))
                        continue
                    except DongneError as exc:
                        reason = f"Not resumed after the server restarted: {exc}"
                    except Exception as exc:  # a broken row must not stop the server starting
                        logger.exception("run %s could not be queued again", run.id)
                        reason = (
                            "Not resumed after the server restarted: its stored parameters are "
                            f"broken ({type(exc).__name__}: {exc}). Fix: start the run again."
                        )
                run.status, run.finished_at, run.message = "failed", utcnow(), reason
                failed += 1
        for run_id, spec in resumed:
            self.submit(run_id, spec)
        return failed, len(resumed)

    def submit(self, run_id: int, spec: dict[str, Any]) -> None:
        """Queue run ``run_id``; ``spec`` is what :func:`dongne.service.worker.execute` takes."""
        with self._lock:
            self._jobs[run_id] = _Job()
        self._queue.put((run_id, spec))

    def cancel(self, run_id: int) -> None:
        """End run ``run_id``: ``cancelled``, or ``failed`` if its worker had already died.

        A queued run is marked ``cancelled`` here and never starts. A running run's thread
        stops its process (SIGTERM, then SIGKILL) and marks it ``cancelled``; if that thread
        does not end it within the grace period, the supervisor does. A run that no thread of
        this server holds (its thread died) is ended here: ``cancelled`` if still queued,
        ``failed`` if left running.
        """
        with self._lock:
            job = self._jobs.get(run_id)
            if job is not None:
                job.cancel.set()
                job.cancel_asked = time.monotonic()
                if job.started:
                    return  # its thread ends it (or the supervisor, if the thread hangs)
                del self._jobs[run_id]  # never started: ended here, its thread skips it
        quick = {"retry_seconds": 5.0}  # a request waits for this
        self._finish(run_id, "cancelled", "cancelled before it started", ("queued",), **quick)
        self._finish(
            run_id,
            "failed",
            "The run's worker had stopped without a result when it was cancelled. "
            "Fix: start the run again.",
            ("running",),
            **quick,
        )

    def process_of(self, run_id: int) -> subprocess.Popen | None:
        """The process executing run ``run_id`` right now, if any."""
        job = self._jobs.get(run_id)
        return job.process if job is not None else None

    def shutdown(self) -> None:
        """Stop: running runs are stopped and failed, queued runs stay queued for the next start.

        Waits at most ``shutdown_timeout`` seconds for the job threads. A run whose thread
        is stuck in its own code (a write that never returns) is ended here: its process is
        killed and the run failed. The supervisor and the spare worker are stopped.
        """
        with self._lock:
            self._closed = True
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + self.shutdown_timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._stop.set()
        self._supervisor.join(max(1.0, deadline - time.monotonic()))
        with self._lock:
            stuck = [(run_id, job) for run_id, job in self._jobs.items() if job.started]
        for run_id, job in stuck:
            logger.warning("run %s: its thread did not stop; ending the run here", run_id)
            if job.process is not None:
                self._kill(job.process)
            self._finish(run_id, "failed", _STOPPED, ("running",), retry_seconds=1.0)
        with self._lock:
            if self._spare is not None:
                self._spare.kill()
                self._spare.wait()
                self._spare.stdin.close()
                self._spare.stdout.close()
                self._spare = None

    def _serve_queue(self) -> None:
        """A job thread: execute queued runs in order until :meth:`shutdown`."""
        while (item := self._queue.get()) is not None:
            run_id, spec = item
            with self._lock:
                job = self._jobs.get(run_id)
                if job is None or job.started:
                    continue  # cancelled before its turn
                job.started = True
            self._execute(run_id, spec, job)

    def _take_process(self) -> subprocess.Popen:
        """A worker process for the next run: the warm spare if alive, and a new spare."""
        with self._lock:
            process = self._spare
            if process is None or process.poll() is not None:
                process = _start_worker()
            warm = self.settings.warm_worker and not self._closed
            self._spare = _start_worker() if warm else None
        return process

    def _write(self, run_id: int, only: tuple[str, ...], **values: Any) -> bool:
        """Set ``values`` on run ``run_id`` if its status is one of ``only``; True if it was."""
        with self.sessions.begin() as session:
            changed = session.execute(
                update(Run).where(Run.id == run_id, Run.status.in_(only)).values(**values)
            )
            return changed.rowcount > 0

    def _finish(
        self,
        run_id: int,
        status: str,
        message: str,
        only: tuple[str, ...] = _OPEN,
        retry_seconds: float = _FINISH_RETRY_SECONDS,
        **values: Any,
    ) -> bool:
        """Give run ``run_id`` its final ``status`` unless it already has one.

        Retried for ``retry_seconds`` while the database refuses the write (a busy pool or a
        locked SQLite file); False if the run had already ended or the database kept
        refusing (the supervisor then fails the run when its heartbeat ages).
        """
        values = {"status": status, "message": message, "finished_at": utcnow(), **values}
        deadline, pause = time.monotonic() + retry_seconds, 0.2
        while True:
            try:
                return self._write(run_id, only, **values)
            except SQLAlchemyError as exc:
                if time.monotonic() + pause > deadline:
                    logger.error("run %s: could not record %s: %s", run_id, status, exc)
                    return False
                logger.warning("run %s: recording %s failed, retrying: %s", run_id, status, exc)
                time.sleep(pause)
                pause = min(2 * pause, 5.0)

    def _execute(self, run_id: int, spec: dict[str, Any], job: _Job) -> None:
        out = Path(spec["out_dir"])
        try:
            if self._closed:
                return  # the server is stopping: the run stays queued for the next start
            if job.cancel.is_set():
                self._finish(run_id, "cancelled", "cancelled before it started")
                return
            now = utcnow()
            values = {"status": "running", "started_at": now, "heartbeat_at": now}
            if not self._write(run_id, ("queued",), message="starting", **values):
                return  # ended while it waited (cancelled)
            status, detail = self._watch(run_id, spec, job)
            if status != "done":
                self._finish(run_id, status, detail)
                return
            final = out.with_name(out.name.removeprefix(".incoming-"))
            out.rename(final)
            if not self._finish(
                run_id,
                "done",
                "done",
                progress=1.0,
                summary=detail["summary"],
                layers=detail["layers"],
                provenance={**detail["provenance"], "files": detail["files"]},
                output_dir=str(final.relative_to(self.settings.data_dir)),
            ):
                shutil.rmtree(final, ignore_errors=True)
        except Exception as exc:  # the database or the disk failed: record it on the run
            logger.exception("run %s failed in its supervising thread", run_id)
            self._finish(run_id, "failed", f"{type(exc).__name__}: {exc}")
        finally:
            shutil.rmtree(out, ignore_errors=True)
            with self._lock:
                self._jobs.pop(run_id, None)

    def _progress(self, run_id: int, message: dict[str, Any]) -> None:
        """Record a progress report; a busy database only loses this report, not the run."""
        try:
            self._write(
                run_id, ("running",), progress=message["progress"], message=message["message"]
            )
        except SQLAlchemyError as exc:
            logger.warning("run %s: progress not recorded: %s", run_id, exc)

    def _watch(self, run_id: int, spec: dict[str, Any], job: _Job) -> tuple[str, Any]:
        process = self._take_process()
        with self._lock:
            job.process = process
        lines: queue.Queue[str | None] = queue.Queue()

        def read_lines() -> None:
            try:
                for line in process.stdout:
                    lines.put(line)
            except (OSError, ValueError):  # the pipe was closed under the reader
                pass
            lines.put(None)

        reader = threading.Thread(target=read_lines, name=f"dongne-run-{run_id}-out", daemon=True)
        reader.start()
        try:
            with contextlib.suppress(OSError):  # the process died before it read its spec
                process.stdin.write(json.dumps(spec))
            with contextlib.suppress(OSError):
                process.stdin.close()
            exited: float | None = None
            while True:
                if job.cancel.is_set():
                    self._stop_process(process)
                    if self._closed:
                        return ("failed", _STOPPED)
                    return ("cancelled", "cancelled while running; the process was stopped")
                try:
                    line = lines.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    # A dead process whose pipe stays open (a child holds it) ends the wait too.
                    if exited is None and process.poll() is not None:
                        exited = time.monotonic()
                    if exited is not None and time.monotonic() - exited > 1.0:
                        break
                    continue
                if line is None:
                    break
                message = json.loads(line)
                if "progress" in message:
                    self._progress(run_id, message)
                elif "done" in message:
                    return ("done", message["done"])
                else:
                    return ("failed", message["failed"])
            return ("failed", _ended(process.wait()))
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stdout.close()
            reader.join(timeout=1.0)

    @staticmethod
    def _stop_process(process: subprocess.Popen) -> None:
        process.terminate()
        try:
            process.wait(_TERMINATE_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()

    @staticmethod
    def _kill(process: subprocess.Popen) -> None:
        """SIGKILL ``process`` and reap it, so a run is never reported stopped before it is."""
        process.kill()
        try:
            process.wait(_TERMINATE_GRACE_SECONDS)
        except subprocess.TimeoutExpired:  # unkillable (stuck in the kernel): logged, not hidden
            logger.warning("worker process %s did not end after SIGKILL", process.pid)

    def _supervise(self) -> None:
        while not self._stop.wait(_SUPERVISE_SECONDS):
            try:
                self._sweep()
            except SQLAlchemyError as exc:  # the database is busy: try again next second
                logger.warning("run supervisor: %s", exc)
            except Exception:
                logger.exception("run supervisor")

    def _sweep(self) -> None:
        """One look at every run: heartbeats of live workers, dead and overdue runs ended."""
        now = time.monotonic()
        alive: set[int] = set()
        overdue: list[tuple[int, _Job]] = []
        with self._lock:
            jobs = [(run_id, job) for run_id, job in self._jobs.items() if job.started]
        for run_id, job in jobs:
            late = _TERMINATE_GRACE_SECONDS + 2 * _SUPERVISE_SECONDS
            if job.cancel_asked is not None and now - job.cancel_asked > late:
                overdue.append((run_id, job))
            elif job.process is None or job.process.poll() is None:
                alive.add(run_id)  # starting, or its process is alive
        for run_id, job in overdue:  # its thread did not end the cancelled run: end it here
            process = job.process
            if process is not None and process.poll() is not None:
                self._finish(run_id, "failed", _ended(process.returncode), retry_seconds=0)
            else:
                if process is not None:
                    self._kill(process)
                message = "cancelled while running; the process was stopped"
                self._finish(run_id, "cancelled", message, retry_seconds=0)
        stamp = utcnow()
        with self.sessions.begin() as session:
            if alive:
                session.execute(
                    update(Run)
                    .where(Run.id.in_(alive), Run.status == "running")
                    .values(heartbeat_at=stamp)
                )
            running = session.scalars(
                select(Run).where(Run.status == "running", Run.id.not_in(alive))
            ).all()
        for run in running:
            seen = run.heartbeat_at or run.started_at or run.created_at
            age = (stamp - _as_utc(seen)).total_seconds()
            if age <= self.heartbeat_timeout:
                continue
            job = self._jobs.get(run.id)
            process = job.process if job is not None else None
            if process is not None and process.poll() is not None:
                reason = _ended(process.returncode)
            else:
                if process is not None:
                    self._kill(process)
                reason = (
                    f"No heartbeat from the run's worker for {age:.0f} s (last seen "
                    f"{_as_utc(seen):%Y-%m-%d %H:%M:%S} UTC): its process is gone. "
                    "Fix: start the run again."
                )
            self._finish(run.id, "failed", reason, ("running",), retry_seconds=0)
