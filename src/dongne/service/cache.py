"""In-process cache of who a token belongs to and of what a user may read, kept correct by writes.

The answers most often asked of the service (``GET /me``, a dataset's metadata, a
workspace's dataset list, and the token check in front of every request) depend only on the
*access tables*: users, tokens, workspaces, memberships, datasets and their shares. A
:class:`ReadCache` keeps such answers in memory and drops all of them as soon as a
transaction that wrote to any access table commits in this process, so a revoked token, a
removed member or a deleted dataset is refused by the very next request. Writes that other
processes make to the database (a second server process, ``dongne serve --create-user``)
are not seen; they take effect after at most ``ttl`` seconds, the age at which every entry
expires (``Settings.cache_seconds``; ``0`` turns the cache off).

Correctness rests on two rules. Writes are noticed after they commit (SQLAlchemy's
``after_commit`` session event), never before, and a reader takes its :meth:`~ReadCache.token`
*before* it reads the database: an entry computed from data older than the last committed
access write carries an older generation and is never served.

References
----------
.. [1] SQLAlchemy 2.0, "ORM Events" (``after_flush``, ``do_orm_execute``, ``after_commit``):
   https://docs.sqlalchemy.org/en/20/orm/events.html
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["ACCESS_TABLES", "DATASET_TABLES", "ME_TABLES", "MISSING", "TOKEN_TABLES", "ReadCache"]

#: Tables whose content decides who a token is and what a user may read. A row deleted from
#: one of them counts as a write to all of them: the database's ``ON DELETE CASCADE`` removes
#: rows of the others that the session never saw (and stays inside these tables).
ACCESS_TABLES = frozenset(
    {"users", "api_tokens", "workspaces", "memberships", "datasets", "dataset_shares"}
)

#: What a token check reads.
TOKEN_TABLES = frozenset({"users", "api_tokens"})
#: What ``GET /me`` reads.
ME_TABLES = frozenset({"users", "memberships", "workspaces"})
#: What a dataset's metadata and a workspace's dataset list read.
DATASET_TABLES = frozenset({"datasets", "dataset_shares", "memberships", "workspaces", "users"})

#: What :meth:`ReadCache.get` returns for a key it does not hold (``None`` is a valid value).
MISSING: Any = object()


class ReadCache:
    """Answers kept for at most ``ttl`` seconds and dropped when a table they read is written.

    Each answer is stored with the tables it was read from; a committed write to one of them
    makes it stale (a dataset upload leaves every token check and ``GET /me`` cached).

    Parameters
    ----------
    ttl : float
        Seconds an entry lives; it bounds how long a write made by *another* process can go
        unseen. ``0`` disables the cache (:meth:`get` always misses).
    max_entries : int
        Entries kept; the oldest are dropped beyond this (default 10,000).

    Attributes
    ----------
    hits, misses : int
        Look-ups answered from the cache and not, since start.

    Examples
    --------
    >>> cache = ReadCache(ttl=5)
    >>> token = cache.token({"users"})
    >>> cache.put(("me", 1), {"users"}, token, "answer")
    >>> cache.get(("me", 1))
    'answer'
    >>> cache.invalidate({"datasets"}); cache.get(("me", 1))
    'answer'
    >>> cache.invalidate({"users"}); cache.get(("me", 1)) is MISSING
    True
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = float(ttl)
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        # "*" is bumped by a write to an unknown table: it is part of every entry's token
        self._generations: dict[str, int] = {"*": 0}
        self._entries: OrderedDict[Hashable, tuple[float, frozenset[str], tuple, Any]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        #: Reads under way, by key (see :func:`dongne.service.deps.cached`).
        self.pending: dict[Hashable, Any] = {}

    def token(self, tables: frozenset[str] | set[str]) -> tuple[int, ...]:
        """Generations of ``tables``; take it *before* reading what :meth:`put` will store."""
        generations = self._generations
        return (generations["*"], *(generations.get(t, 0) for t in sorted(tables)))

    def get(self, key: Hashable) -> Any:
        """The value stored under ``key`` if it is young and its tables were not written."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic() or entry[2] != self.token(entry[1]):
            self.misses += 1
            return MISSING
        self.hits += 1
        return entry[3]

    def put(self, key: Hashable, tables: frozenset[str], token: tuple, value: Any) -> None:
        """Store ``value``, read from ``tables`` after :meth:`token` returned ``token``.

        Ignored if one of ``tables`` was written meanwhile (the value may be older).
        """
        if self.ttl <= 0:
            return
        with self._lock:
            if token != self.token(tables):
                return
            self._entries[key] = (time.monotonic() + self.ttl, frozenset(tables), token, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self, tables: set[str] | None = None) -> None:
        """Make every entry read from ``tables`` (``None``: every entry) stale."""
        with self._lock:
            for table in tables or ("*",):
                self._generations[table] = self._generations.get(table, 0) + 1

    def watch(self, sessions: sessionmaker[Session]) -> None:
        """Invalidate what a session of ``sessions`` wrote, once its transaction commits.

        Writes are collected per session from its flushes (new, changed and deleted
        objects) and from ORM ``update``/``delete``/``insert`` statements; any other
        statement that is not a ``SELECT`` counts as a write to every table.
        """

        @event.listens_for(sessions, "after_flush")
        def _flushed(session: Session, _context) -> None:
            changed = {_table(o) for o in (*session.new, *session.dirty)}
            deleted = {_table(o) for o in session.deleted}
            _note(session, changed, deleted)

        @event.listens_for(sessions, "do_orm_execute")
        def _executed(state) -> None:
            if state.is_select:
                return
            name = getattr(getattr(state.statement, "table", None), "name", "*")
            _note(state.session, {name}, {name} if state.is_delete else set())

        @event.listens_for(sessions, "after_commit")
        def _committed(session: Session) -> None:
            written = session.info.pop("written", set())
            if "*" in written:
                self.invalidate()
            elif written:
                self.invalidate(written)

        @event.listens_for(sessions, "after_rollback")
        def _rolled_back(session: Session) -> None:
            session.info.pop("written", None)


def _table(instance: object) -> str:
    return getattr(type(instance), "__tablename__", "*")


def _note(session: Session, changed: set[str], deleted: set[str]) -> None:
    """Remember the tables a session wrote, for its commit (a delete may cascade)."""
    written = session.info.setdefault("written", set())
    written |= changed
    if deleted & ACCESS_TABLES:
        written |= ACCESS_TABLES
