"""Database engine, sessions and schema migrations (Alembic, run in code at start-up)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dongne.service.settings import Settings

__all__ = ["alembic_config", "make_engine", "make_sessions", "migrate"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(settings: Settings) -> Engine:
    """The engine for ``settings.url``, its pool sized by ``settings.connections``.

    The pool keeps ``settings.connections`` connections (by default one per admitted request
    or request thread, one per job thread, and two spare), so no request waits for a
    connection that another request holds while it waits for a thread; a thread that still
    finds none (a smaller ``pool_size``) waits
    ``settings.pool_timeout`` seconds and the request is answered 503 (see
    :mod:`dongne.service.admission`). SQLite connections (see :func:`_sqlite_listeners`) are
    shared between the request threads and the job threads, use write-ahead logging (readers
    do not block the writer), wait ``settings.sqlite_busy_timeout`` seconds for a lock and
    let one writer at a time into the database.

    References
    ----------
    .. [1] SQLAlchemy 2.0, "Connection Pooling" and "Serializable isolation / Savepoints /
       Transactional DDL" (pysqlite): https://docs.sqlalchemy.org/en/20/dialects/sqlite.html
    .. [2] SQLite, "Write-Ahead Logging": https://www.sqlite.org/wal.html
    """
    url = settings.url
    pool = {
        "pool_size": settings.connections,
        "max_overflow": 0,
        "pool_timeout": settings.pool_timeout,
    }
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **pool)
    if url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": settings.sqlite_busy_timeout},
        **pool,
    )
    _sqlite_listeners(engine, settings.sqlite_busy_timeout)
    return engine


def _sqlite_listeners(engine: Engine, busy_timeout: float) -> None:
    """Event listeners that make one SQLite file safe under many threads.

    On each new connection: ``journal_mode=WAL`` (readers go on while one writes),
    ``synchronous=NORMAL`` (durable at each checkpoint, the WAL recommendation),
    ``busy_timeout`` (wait for a lock held by another process instead of failing at once) and
    ``foreign_keys=ON``. Before the first writing statement of a transaction, the connection
    takes the engine's writer lock and keeps it until the transaction ends: writers of this
    process queue in order on a Python lock instead of polling SQLite's busy handler, and a
    writer that waits longer than ``busy_timeout`` raises ``OperationalError`` (answered 503).
    pysqlite opens the transaction itself just before that statement, so a transaction never
    reads a snapshot and then has to upgrade it to a write (which fails at once in WAL mode).
    """
    writer = threading.Lock()

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "before_cursor_execute")
    def _one_writer(conn, _cursor, statement, _parameters, _context, _many) -> None:
        info = conn.connection.info
        if info.get("writer") or not _WRITES.match(statement):
            return
        if not writer.acquire(timeout=busy_timeout):
            raise OperationalError(
                statement, None, TimeoutError(f"database is locked for {busy_timeout:g} s")
            )
        info["writer"] = True

    def _release(connection) -> None:
        # ``connection``: a pooled connection or its pool record; both share ``info``
        if connection.info.pop("writer", False):
            writer.release()

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _transaction_end(conn) -> None:
        _release(conn.connection)

    # a connection returned to the pool without commit or rollback (closed session, error)
    @event.listens_for(engine.pool, "reset")
    def _reset(_dbapi_connection, record, _reset_state) -> None:
        _release(record)

    @event.listens_for(engine.pool, "checkin")
    def _checkin(_dbapi_connection, record) -> None:
        if record is not None:
            _release(record)


_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|ALTER|DROP)\b", re.IGNORECASE)


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection) -> Config:
    """Alembic configuration for the migrations shipped in the package, on ``connection``.

    No ``alembic.ini`` is needed: the configuration is built here and the connection is
    handed to ``migrations/env.py``.
    """
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database schema to ``revision`` (default: the newest).

    Running it on an up-to-date database does nothing.
    """
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
