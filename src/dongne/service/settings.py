"""Settings of the dongne web service: where it keeps files, which database, which limits."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from dongne._optional import import_optional
from dongne.errors import SpecificationError

__all__ = ["DEFAULT_MAX_UNPACKED_BYTES", "DEFAULT_MAX_UPLOAD_BYTES", "Settings", "parse_bool"]

#: Largest upload accepted by default: 200 MiB.
DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024**2
#: Largest total size of the files inside an uploaded zip by default: 1 GiB.
DEFAULT_MAX_UNPACKED_BYTES = 1024**3


def parse_bool(value: str, name: str) -> bool:
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``) as a bool.

    Raises
    ------
    SpecificationError
        Any other text, naming the setting ``name``.

    Examples
    --------
    >>> parse_bool("False", "--open-workspaces")
    False
    """
    text = value.strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise SpecificationError(f"{name} must be true or false. Got {value!r}. Fix: {name} false.")


@dataclass(frozen=True)
class Settings:
    """Configuration of one service instance.

    Parameters
    ----------
    data_dir : path-like
        The service's folder: uploaded datasets (``datasets/``), run outputs (``runs/``),
        temporary uploads (``tmp/``) and, by default, the SQLite database ``dongne.sqlite3``.
    database_url : str, optional
        SQLAlchemy URL of the database. ``None`` (default) uses SQLite in ``data_dir``.
        ``postgresql://user@host/db`` is served by psycopg 3 (``postgresql+psycopg``).
    models_database_url : str, optional
        Database of the model registry (:mod:`dongne.share`). ``None`` (default): with a
        PostgreSQL service database, the database ``<name>_models`` on the same server
        (created on first use; MLflow keeps its own migration history there, apart from the
        service's); with SQLite, ``registry.sqlite3`` in ``data_dir/models``.
    max_upload_bytes : int
        Largest upload in bytes; larger ones are refused with status 413 while they stream.
    max_unpacked_bytes : int
        Largest total uncompressed size of the members of an uploaded zip (zip-bomb guard).
    max_jobs : int
        Analyses run at the same time; further runs wait in the queue (status ``queued``).
    warm_worker : bool
        Keep one worker process started, with the analysis libraries imported, so that a run
        starts in well under a second instead of the seconds Python needs to import them.
    open_workspaces : bool, optional
        Whether any signed-in user may create workspaces (``POST /workspaces``); when
        ``False`` only administrators do. ``None`` (default): ``False`` in production
        (:attr:`production`), ``True`` otherwise. With open workspaces the slugs are a
        shared name space: creating a slug that is taken is refused (409), which tells the
        caller that it is taken.
    max_requests : int
        Requests served at the same time (admission limit); further requests wait for a
        free place, up to ``queue_timeout`` seconds, then get 503 with ``Retry-After``.
        ``/health`` is never limited.
    max_queued : int
        Requests that may wait for a place; beyond that a request gets 503 at once.
    queue_timeout : float
        Seconds a request waits for a place before it is answered 503.
    threads : int
        Threads for blocking work (database, file reading); every request that waits for
        the database holds one.
    pool_size : int, optional
        Database connections kept open. ``None`` (default):
        ``max(threads, max_requests) + max_jobs + 2``: an admitted request holds at most one
        connection at a time, so every request, thread and job finds one and none waits.
    pool_timeout : float
        Seconds a thread waits for a database connection before the request is answered 503
        (only reached when the pool is smaller than the threads that need it).
    sqlite_busy_timeout : float
        SQLite only: seconds a writer waits for the one write lock before giving up (503).
    cache_seconds : float
        Longest time an answer of the in-process read cache (token check, ``GET /me``,
        dataset metadata and lists; :mod:`dongne.service.cache`) is reused. Changes made
        through this server process (a revoked token, a removed member) take effect at
        once; changes another process writes to the database take effect within this many
        seconds. ``0`` turns the cache off.
    reader_processes : int
        Processes that read uploads (:mod:`dongne.service.readers`), so that reading never
        slows the server's other requests; ``0`` reads them on the server's threads.
    max_uploads : int
        Uploads received and read at the same time. An upload does not hold one of the
        ``max_requests`` places while its body arrives and it waits for a reader process
        (seconds for a large file: 40 uploads used to hold every place and make reads
        wait); beyond this number an upload is answered 503 with ``Retry-After`` at once.
    max_transfers : int
        Downloads (``GET /datasets/{id}/download``) and uploads admitted at the same time by
        a limit of their own, beside the ``max_requests`` places (same ``max_queued`` and
        ``queue_timeout``): they do not wait behind a flood of reads, and reads do not wait
        behind them. A download holds its place until its last byte is sent; an upload only
        until its access is checked (then ``max_uploads`` counts it). Their database work
        runs on the ``threads``, so the pool needs no more connections.
    heartbeat_timeout : float
        Seconds after which a ``running`` run whose worker process was not seen alive is
        marked ``failed`` (:mod:`dongne.service.jobs`).

    Examples
    --------
    >>> s = Settings(data_dir="/srv/dongne")
    >>> s.url.render_as_string(), s.max_upload_bytes // 1024**2
    ('sqlite:////srv/dongne/dongne.sqlite3', 200)
    >>> Settings(data_dir=".", database_url="postgresql://postgres@db/dongne").url.drivername
    'postgresql+psycopg'
    """

    data_dir: Path
    database_url: str | None = None
    models_database_url: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES
    max_jobs: int = 2
    warm_worker: bool = True
    max_requests: int = 40
    max_queued: int = 2000
    queue_timeout: float = 10.0
    threads: int = 40
    pool_size: int | None = None
    pool_timeout: float = 10.0
    sqlite_busy_timeout: float = 10.0
    cache_seconds: float = 5.0
    heartbeat_timeout: float = 10.0
    reader_processes: int = 2
    max_uploads: int = 64
    max_transfers: int = 32

    open_workspaces: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().absolute())
        if self.open_workspaces is None:
            object.__setattr__(self, "open_workspaces", not self.production)
        for name in (
            "max_upload_bytes", "max_unpacked_bytes", "max_jobs", "max_requests", "threads",
            "max_uploads", "max_transfers",
        ):  # fmt: skip
            if int(getattr(self, name)) < 1:
                raise SpecificationError(
                    f"Setting {name!r} must be a positive integer. Got {getattr(self, name)!r}."
                )
        for name in (
            "max_queued", "queue_timeout", "pool_timeout", "sqlite_busy_timeout",
            "cache_seconds",
        ):  # fmt: skip
            if not float(getattr(self, name)) >= 0:
                raise SpecificationError(
                    f"Setting {name!r} must be zero or positive. Got {getattr(self, name)!r}."
                )
        if int(self.reader_processes) < 0:
            raise SpecificationError(
                "Setting 'reader_processes' must be 0 (read on threads) or more. Got "
                f"{self.reader_processes!r}. Fix: DONGNE_READER_PROCESSES=2."
            )
        if not float(self.heartbeat_timeout) > 0:
            raise SpecificationError(
                "Setting 'heartbeat_timeout' must be a positive number of seconds. Got "
                f"{self.heartbeat_timeout!r}. Fix: DONGNE_HEARTBEAT_TIMEOUT_S=10."
            )
        if self.pool_size is not None and int(self.pool_size) < 1:
            raise SpecificationError(
                "Setting 'pool_size' must be a positive integer or None (sized to the threads)."
                f" Got {self.pool_size!r}."
            )

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from environment variables, then ``overrides`` (``None`` values ignored).

        ``DONGNE_DATA_DIR`` (default ``./dongne-data``), ``DONGNE_DATABASE_URL``,
        ``DONGNE_MODELS_DATABASE_URL``, ``DONGNE_MAX_UPLOAD_MB``, ``DONGNE_MAX_UNPACKED_MB``,
        ``DONGNE_MAX_JOBS``, ``DONGNE_MAX_REQUESTS``, ``DONGNE_MAX_QUEUED``,
        ``DONGNE_QUEUE_TIMEOUT_S``, ``DONGNE_THREADS``, ``DONGNE_POOL_SIZE``,
        ``DONGNE_POOL_TIMEOUT_S``, ``DONGNE_SQLITE_BUSY_TIMEOUT_S``, ``DONGNE_CACHE_S``,
        ``DONGNE_HEARTBEAT_TIMEOUT_S``, ``DONGNE_READER_PROCESSES``, ``DONGNE_MAX_UPLOADS``,
        ``DONGNE_MAX_TRANSFERS`` and ``DONGNE_OPEN_WORKSPACES`` (``true``/``false``).
        """
        env = os.environ
        values: dict[str, object] = {
            "data_dir": env.get("DONGNE_DATA_DIR", "dongne-data"),
            "database_url": env.get("DONGNE_DATABASE_URL") or None,
            "models_database_url": env.get("DONGNE_MODELS_DATABASE_URL") or None,
        }
        for key, name in (
            ("max_upload_bytes", "DONGNE_MAX_UPLOAD_MB"),
            ("max_unpacked_bytes", "DONGNE_MAX_UNPACKED_MB"),
        ):
            if env.get(name):
                values[key] = int(float(env[name]) * 1024**2)
        for key, name, kind in (
            ("max_jobs", "DONGNE_MAX_JOBS", int),
            ("max_requests", "DONGNE_MAX_REQUESTS", int),
            ("max_queued", "DONGNE_MAX_QUEUED", int),
            ("queue_timeout", "DONGNE_QUEUE_TIMEOUT_S", float),
            ("threads", "DONGNE_THREADS", int),
            ("pool_size", "DONGNE_POOL_SIZE", int),
            ("pool_timeout", "DONGNE_POOL_TIMEOUT_S", float),
            ("sqlite_busy_timeout", "DONGNE_SQLITE_BUSY_TIMEOUT_S", float),
            ("cache_seconds", "DONGNE_CACHE_S", float),
            ("heartbeat_timeout", "DONGNE_HEARTBEAT_TIMEOUT_S", float),
            ("reader_processes", "DONGNE_READER_PROCESSES", int),
            ("max_uploads", "DONGNE_MAX_UPLOADS", int),
            ("max_transfers", "DONGNE_MAX_TRANSFERS", int),
        ):
            if env.get(name):
                try:
                    values[key] = kind(env[name])
                except ValueError:
                    raise SpecificationError(
                        f"Environment variable {name}={env[name]!r} is not a number. Fix: set "
                        f"{name} to a {'whole ' if kind is int else ''}number, or unset it."
                    ) from None
        if env.get("DONGNE_OPEN_WORKSPACES"):
            values["open_workspaces"] = parse_bool(
                env["DONGNE_OPEN_WORKSPACES"], "DONGNE_OPEN_WORKSPACES"
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def production(self) -> bool:
        """A production service: its database is not SQLite (PostgreSQL serves many users;
        SQLite in the data folder is the single-machine, trial set-up).

        Examples
        --------
        >>> Settings(data_dir=".").production
        False
        >>> s = Settings(data_dir=".", database_url="postgresql://postgres@db/dongne")
        >>> s.production, s.open_workspaces
        (True, False)
        """
        return self.url.get_backend_name() != "sqlite"

    @functools.cached_property
    def url(self) -> URL:
        """The database URL, with psycopg 3 as the PostgreSQL driver."""
        if self.database_url is None:
            return URL.create("sqlite", database=str(self.data_dir / "dongne.sqlite3"))
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            url = make_url(self.database_url)
            if url.drivername in ("postgresql", "postgres"):
                import_optional("psycopg", "service", "A PostgreSQL database")
                url = url.set(drivername="postgresql+psycopg")
            url.get_dialect()
        except (ArgumentError, NoSuchModuleError) as exc:
            raise SpecificationError(
                f"The database URL {self.database_url!r} is not one SQLAlchemy can use ({exc}). "
                "Fix: pass database_url='postgresql://USER@HOST/DATABASE', or leave it out for "
                "SQLite in the data folder."
            ) from None
        return url

    @property
    def models_url(self) -> str | None:
        """URL of the model registry's database; ``None`` means SQLite in ``models_dir``.

        Examples
        --------
        >>> Settings(data_dir=".", database_url="postgresql://postgres@db/dongne").models_url
        'postgresql+psycopg://postgres@db/dongne_models'
        >>> Settings(data_dir=".").models_url is None
        True
        """
        if self.models_database_url:
            return self.models_database_url
        if self.url.get_backend_name() == "postgresql":
            models = self.url.set(database=f"{self.url.database}_models")
            return models.render_as_string(hide_password=False)
        return None

    @property
    def connections(self) -> int:
        """Connections the pool keeps: ``pool_size``, else ``max(threads, max_requests)``
        ``+ max_jobs + 2``.

        Examples
        --------
        >>> Settings(data_dir=".").connections, Settings(data_dir=".", pool_size=5).connections
        (44, 5)
        """
        if self.pool_size is not None:
            return int(self.pool_size)
        return max(self.threads, self.max_requests) + self.max_jobs + 2

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"
