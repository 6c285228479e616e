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

__all__ = ["ACCESS_TABLES", "MISSING", "ReadCache"]

#: Tables whose content decides who a token is and what a user may read: a committed write to
#: any of them empties the cache (database-level cascades from these tables stay inside them).
ACCESS_TABLES = frozenset(
    {"users", "api_tokens", "workspaces", "memberships", "datasets", "dataset_shares"}
)

#: What :meth:`ReadCache.get` returns for a key it does not hold (``None`` is a valid value).
MISSING: Any = object()


class ReadCache:
    """Answers kept for at most ``ttl`` seconds and dropped when an access table is written.

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
    >>> token = cache.token()
    >>> cache.put(("me", 1), token, "answer")
    >>> cache.get(("me", 1))
    'answer'
    >>> cache.invalidate()
    >>> cache.get(("me", 1)) is MISSING
    True
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = float(ttl)
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._generation = 0
        self._entries: OrderedDict[Hashable, tuple[float, int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def token(self) -> int:
        """The current generation; take it *before* reading what :meth:`put` will store."""
        return self._generation

    def get(self, key: Hashable) -> Any:
        """The value stored under ``key`` if it is young and no access write came since."""
        entry = self._entries.get(key)
        if entry is None or entry[1] != self._generation or entry[0] < time.monotonic():
            self.misses += 1
            return MISSING
        self.hits += 1
        return entry[2]

    def put(self, key: Hashable, token: int, value: Any) -> None:
        """Store ``value`` read after :meth:`token` returned ``token``; ignored if stale."""
        if self.ttl <= 0:
            return
        with self._lock:
            if token != self._generation:
                return  # an access write committed while it was read
            self._entries[key] = (time.monotonic() + self.ttl, token, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self) -> None:
        """Drop every entry (an access table was written)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def watch(self, sessions: sessionmaker[Session]) -> None:
        """Invalidate when a session of ``sessions`` commits a write to an access table.

        Writes are collected per session from its flushes (new, changed and deleted
        objects) and from ORM ``update``/``delete``/``insert`` statements; any other
        statement that is not a ``SELECT`` counts as a write to every table.
        """

        @event.listens_for(sessions, "after_flush")
        def _flushed(session: Session, _context) -> None:
            objects = (*session.new, *session.dirty, *session.deleted)
            tables = {getattr(type(o), "__tablename__", "*") for o in objects}
            session.info.setdefault("written", set()).update(tables)

        @event.listens_for(sessions, "do_orm_execute")
        def _executed(state) -> None:
            if state.is_select:
                return
            table = getattr(state.statement, "table", None)
            name = getattr(table, "name", "*")
            state.session.info.setdefault("written", set()).add(name)

        @event.listens_for(sessions, "after_commit")
        def _committed(session: Session) -> None:
            written = session.info.pop("written", set())
            if "*" in written or written & ACCESS_TABLES:
                self.invalidate()

        @event.listens_for(sessions, "after_rollback")
        def _rolled_back(session: Session) -> None:
            session.info.pop("written", None)
