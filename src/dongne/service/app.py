"""The FastAPI application of ``dongne serve``: datasets, runs, sharing, members, audit log.

Create it with :func:`create_app`; the OpenAPI description is at ``/openapi.json`` and the
interactive documentation at ``/docs``. Every endpoint but ``/health`` needs an API token
(``Authorization: Bearer dn_...``). Errors are ``{"detail": "<message with the fix>"}``.
Access rules are described in :mod:`dongne.service.auth`. This module only assembles the
application: the routes are in :mod:`dongne.service.routes` (one router per resource), what
they depend on in :mod:`dongne.service.deps`.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import types
from collections.abc import AsyncIterator

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dongne import __version__
from dongne.errors import DongneError
from dongne.service.admission import AdmissionLimit, Lane, busy_detail
from dongne.service.cache import ReadCache
from dongne.service.db import make_engine, make_sessions, migrate
from dongne.service.hotpath import CachedReads
from dongne.service.jobs import JobManager
from dongne.service.readers import ReaderPool
from dongne.service.routes import accounts, dashboard, datasets, models, runs
from dongne.service.settings import Settings
from dongne.service.storage import UploadRejected

__all__ = ["create_app"]


def _clean_leftovers(settings: Settings) -> None:
    """Remove uploads and run folders left half-written by a server that was killed."""
    for path in settings.tmp_dir.glob("upload-*.part"):
        path.unlink(missing_ok=True)
    for folder in (settings.datasets_dir, settings.runs_dir):
        for path in folder.glob(".incoming-*"):
            shutil.rmtree(path, ignore_errors=True)


def _unavailable(exc: OperationalError) -> bool:
    """Whether ``exc`` says the database is busy or unreachable (not that the SQL is wrong).

    SQLite reports a lock held too long as "database is locked" or "busy"; psycopg raises
    ``OperationalError`` only for connection failures (SQL errors are other classes).
    """
    message = str(exc.orig if exc.orig is not None else exc).lower()
    return "psycopg" in type(exc.orig).__module__ or "locked" in message or "busy" in message


def transfers_lane(settings: Settings) -> Lane:
    """Downloads and uploads: admitted beside the other requests (``settings.max_transfers``).

    A download used to wait for one of the ``max_requests`` places behind every read queued
    before it: at 500 clients, 0.7-2 s of its 2-3 s (docs/service.md, section 8).
    """
    return Lane(
        what="downloads and uploads",
        places=settings.max_transfers,
        routes=(
            ("GET", r"/datasets/[^/]+/download"),
            ("POST", r"/workspaces/[^/]+/datasets"),
        ),
        setting="DONGNE_MAX_TRANSFERS",
    )


# --------------------------------------------------------------------------- the app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web service for ``settings`` (default: :meth:`Settings.from_env`).

    On start-up the database is created or upgraded (Alembic), the data folders are made,
    files left half-written by a killed server are removed, runs it left running are marked
    failed and runs it left queued are queued again. On shutdown running jobs are stopped
    (failed) and queued ones stay queued for the next start.

    At most ``settings.max_requests`` requests are served at once (:class:`AdmissionLimit`);
    blocking work runs on ``settings.threads`` threads, each of which finds a free database
    connection (:func:`~dongne.service.db.make_engine`). A database that stays locked or
    unreachable is answered 503 with ``Retry-After``, like overload, never 500.
    """
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        engine = make_engine(settings)
        migrate(engine)
        for folder in (settings.datasets_dir, settings.runs_dir, settings.tmp_dir):
            folder.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(settings)
        app.state.sessions = make_sessions(engine)
        app.state.cache = ReadCache(settings.cache_seconds)
        app.state.cache.watch(app.state.sessions)
        app.state.readers = ReaderPool(settings.reader_processes)
        app.state.readers.start()
        app.state.uploads = types.SimpleNamespace(active=0)  # uploads being received or read
        # the manager this start made is the one stopped, even if app.state.jobs is replaced
        jobs = app.state.jobs = JobManager(settings, app.state.sessions)
        jobs.recover(functools.partial(runs.spec_of, settings))
        jobs.warm_up()
        try:
            yield
        finally:
            jobs.shutdown()
            app.state.readers.shutdown()
            engine.dispose()

    app = FastAPI(
        title="dongne",
        version=__version__,
        summary="Share city datasets between institutions and run dongne's analyses on them.",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.exception_handler(DongneError)
    async def _dongne_error(_request: Request, exc: DongneError) -> JSONResponse:
        status = exc.status_code if isinstance(exc, UploadRejected) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(OperationalError)
    async def _database_busy(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, OperationalError) and not _unavailable(exc):
            raise exc  # an SQL error is a bug: 500, not "retry later"
        reason = (
            "no database connection was free"
            if isinstance(exc, PoolTimeout)
            else f"the database did not answer: {str(exc).splitlines()[0][:200]}"
        )
        detail, seconds = busy_detail(reason, retry_after=2)
        return JSONResponse(
            {"detail": detail}, status_code=503, headers={"Retry-After": str(seconds)}
        )

    app.add_middleware(CachedReads, state=app.state)  # inside the admission limit
    app.add_middleware(
        AdmissionLimit,
        max_requests=settings.max_requests,
        max_queued=settings.max_queued,
        queue_timeout=settings.queue_timeout,
        lanes=(transfers_lane(settings),),
    )
    app.include_router(accounts.router)
    app.include_router(datasets.router)
    app.include_router(runs.router)
    app.include_router(models.router)
    app.include_router(dashboard.router)
    app.mount("/dashboard", dashboard.dashboard_files(), name="dashboard")
    return app
