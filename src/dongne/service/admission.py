"""Admission limit of the web service: overload is answered 503 with ``Retry-After`` at once.

Without a limit, a burst of requests larger than the service's threads and database
connections queues inside the server where nobody sees it: every request waits, holds memory
and finally fails with a server error after a timeout. :class:`AdmissionLimit` admits at
most ``max_requests`` requests at a time; the next ``max_queued`` wait, in order of arrival,
for at most ``queue_timeout`` seconds; every further request, and every one that waited too
long, is answered ``503 Service Unavailable`` with a ``Retry-After`` header without touching
the database. A request that goes on to wait for something other than a thread or the
database (an upload: its body, then a reader process) gives its place back early
(``scope[LEAVE]()``) and is limited by its own count instead. A request is also refused
at once, instead of after ``queue_timeout``, when the requests already waiting could not be
served within ``queue_timeout`` at the rate requests finished over the last
:data:`RATE_WINDOW_SECONDS` while others waited (the service's capacity; its wait would end
in a 503 anyway), so that overload is answered in milliseconds.
Requests of a :class:`Lane` (the service's downloads and uploads) are admitted by a limit of
their own with the same rules, beside the ``max_requests`` places: a download waited behind
every read queued before it (at 500 clients, 0.7-2 s of its 2-3 s), and a few slow transfers
no longer take the places of thousands of quick reads.
Completions while nobody waits say nothing about capacity and are not counted, so a burst
after a quiet spell is queued, not refused. ``/health`` is never limited, so that a load
balancer sees a busy service as alive.

References
----------
.. [1] RFC 9110, sections 15.6.4 (503 Service Unavailable) and 10.2.3 (Retry-After).
.. [2] ASGI specification, HTTP connection scope: https://asgi.readthedocs.io/en/latest/specs/www.html
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import anyio

__all__ = ["LEAVE", "RATE_WINDOW_SECONDS", "AdmissionLimit", "Lane", "busy_detail"]

#: Seconds over which the rate of finished requests is measured.
RATE_WINDOW_SECONDS = 2.0

#: Key of the request's ASGI scope that holds a function giving its place back early (a
#: request that goes on to wait for something else, such as an upload that waits for its
#: body and a reader process, calls it; calling it again does nothing).
LEAVE = "dongne.admission.leave"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


#: What the 503 answer of the main limit tells an administrator to raise.
MAIN_SETTINGS = "DONGNE_MAX_REQUESTS or DONGNE_THREADS"


def busy_detail(reason: str, retry_after: float, setting: str = MAIN_SETTINGS) -> tuple[str, int]:
    """Message and ``Retry-After`` seconds (a whole number, at least 1) of a 503 answer;
    ``setting`` names what an administrator can raise.

    Examples
    --------
    >>> busy_detail("64 requests are being served", 1.5)
    ('The service is busy (64 requests are being served). Fix: retry after 2 s (the \
Retry-After header); an administrator can raise DONGNE_MAX_REQUESTS or DONGNE_THREADS.', 2)
    """
    seconds = max(1, math.ceil(retry_after))
    detail = (
        f"The service is busy ({reason}). Fix: retry after {seconds} s (the Retry-After "
        f"header); an administrator can raise {setting}."
    )
    return detail, seconds


@dataclass(frozen=True)
class Lane:
    """Requests admitted by a limit of their own, beside the ``max_requests`` places.

    Parameters
    ----------
    what : str
        What its requests are, for the 503 answer ("downloads and uploads").
    places : int
        Its requests admitted at the same time.
    routes : tuple of (str, str)
        Its requests: HTTP method and a regular expression the whole path matches.
    setting : str
        The setting an administrator raises for more places (named in the 503 answer).

    Examples
    --------
    >>> lane = Lane("downloads", 8, (("GET", r"/files/[0-9]+"),), "MAX_DOWNLOADS")
    >>> lane.matches({"method": "GET", "path": "/files/12"}), lane.matches(
    ...     {"method": "GET", "path": "/files/12/x"})
    (True, False)
    """

    what: str
    places: int
    routes: tuple[tuple[str, str], ...]
    setting: str

    def matches(self, scope: Scope) -> bool:
        """Whether the request of ``scope`` is one of this lane's."""
        return any(
            scope["method"] == method and re.fullmatch(pattern, scope["path"])
            for method, pattern in self.routes
        )


class AdmissionLimit:
    """ASGI middleware: at most ``max_requests`` requests in the application at once.

    Parameters
    ----------
    app : ASGI application
        The application behind the limit.
    max_requests : int
        Requests admitted at the same time.
    max_queued : int
        Requests that may wait for a place; the next one is answered 503 at once.
    queue_timeout : float
        Seconds a request waits for a place before it is answered 503.
    exempt : tuple of str
        Paths never limited (default ``("/health",)``).
    lanes : tuple of Lane
        Requests admitted by limits of their own (same ``max_queued`` and
        ``queue_timeout``), neither waiting for the ``max_requests`` places nor taking them.
    what, setting : str
        What the requests are and what an administrator raises, for the 503 answer.

    Attributes
    ----------
    in_flight : int
        Requests in the application now.
    waiting : int
        Requests waiting for a place now.
    refused : int
        Requests answered 503 since start.
    lanes : list of AdmissionLimit
        The limits of the ``lanes``, in their order.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_requests: int,
        max_queued: int,
        queue_timeout: float,
        exempt: tuple[str, ...] = ("/health",),
        lanes: tuple[Lane, ...] = (),
        what: str = "requests",
        setting: str = MAIN_SETTINGS,
    ) -> None:
        self.app = app
        self.max_requests = max_requests
        self.max_queued = max_queued
        self.queue_timeout = queue_timeout
        self.exempt = exempt
        self.what = what
        self.setting = setting
        self._lanes = [
            (lane, AdmissionLimit(app, lane.places, max_queued, queue_timeout, (), (),
                                  lane.what, lane.setting))
            for lane in lanes
        ]  # fmt: skip
        self.lanes = [limit for _, limit in self._lanes]
        self.in_flight = 0
        self.waiting = 0
        self.refused = 0
        self._places: anyio.Semaphore | None = None
        # monotonic times of recent completions while other requests waited
        self._finished: deque[float] = deque()

    def expected_wait(self) -> float | None:
        """Seconds the next request would wait for a place at the rate requests finished
        while others waited; ``None`` with fewer such completions in the window than two
        rounds of places (``2 * max_requests``, at least 8).

        Admitted requests finish in rounds of up to ``max_requests``: the first round after
        a pause (a loaded machine that stopped the server for a moment) finishes within
        milliseconds, and measured alone, against the 0.5 s floor of the span, it made the
        service look 10–50 times slower than it was (5–30 requests refused at 500 clients
        whose wait would have been about 1 s)."""
        now = time.monotonic()
        while self._finished and self._finished[0] < now - RATE_WINDOW_SECONDS:
            self._finished.popleft()
        if len(self._finished) < max(8, 2 * self.max_requests):
            return None
        span = min(max(now - self._finished[0], 0.5), RATE_WINDOW_SECONDS)
        return (self.waiting + 1) * span / len(self._finished)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        for lane, limit in self._lanes:
            if lane.matches(scope):
                await limit(scope, receive, send)
                return
        if self._places is None:  # made in the server's event loop, on the first request
            self._places = anyio.Semaphore(self.max_requests, fast_acquire=True)
        if self._places.value == 0:
            if self.waiting >= self.max_queued:
                await self._refuse(send, f"{self.waiting} {self.what} wait for a place")
                return
            wait = self.expected_wait()
            if wait is not None and wait > self.queue_timeout:
                await self._refuse(
                    send,
                    f"{self.waiting} {self.what} wait for a place, about {wait:.1f} s at the "
                    "current rate",
                )
                return
            self.waiting += 1
            admitted = False
            try:
                with anyio.move_on_after(self.queue_timeout):
                    await self._places.acquire()
                    admitted = True
            finally:
                self.waiting -= 1
            if not admitted:
                await self._refuse(
                    send,
                    f"no place free in {self.queue_timeout:g} s; "
                    f"{self.max_requests} {self.what} are being served",
                )
                return
        else:
            await self._places.acquire()
        self.in_flight += 1
        places, left = self._places, False

        def leave() -> None:
            nonlocal left
            if not left:
                left = True
                self.in_flight -= 1
                if self.waiting:
                    self._finished.append(time.monotonic())
                places.release()

        scope[LEAVE] = leave
        try:
            await self.app(scope, receive, send)
        finally:
            leave()

    async def _refuse(self, send: Send, reason: str) -> None:
        self.refused += 1
        detail, seconds = busy_detail(
            reason, retry_after=min(self.queue_timeout, 5), setting=self.setting
        )
        body = json.dumps({"detail": detail}).encode("utf-8")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"retry-after", str(seconds).encode("ascii")),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})
