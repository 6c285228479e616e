"""Database engine, sessions and schema migrations (Alembic, run in code at start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from dongne.service.settings import Settings

__all__ = ["alembic_config", "make_engine", "make_sessions", "migrate"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(settings: Settings) -> Engine:
    """The engine for ``settings.url``.

    SQLite connections are shared between the request threads and the job threads, wait up to
    30 s for a lock instead of failing, use write-ahead logging (readers do not block the
    writer) and enforce foreign keys.
    """
    url = settings.url
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


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
