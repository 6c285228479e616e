"""The cached reads, answered before FastAPI's routing when the read cache has the answer.

``GET /me``, ``GET /datasets/{id}`` and ``GET /workspaces/{slug}/datasets`` are most of what
a city's dashboards and scripts ask for. Once the read cache (:mod:`dongne.service.cache`)
holds both the token's user and the answer, the answer depends on nothing else; FastAPI's
routing, dependency solving and response handling then cost about three quarters of the
server's processor time for such a request. :class:`CachedReads` answers those requests
itself, from the same cache entries under the same keys (so a revoked token, a removed
member or a deleted dataset is refused by the next request exactly as before: their entries
are gone) and serialised by the route's own response model; everything else, and every
request whose token or answer is not cached, goes on to FastAPI unchanged. It sits behind
the admission limit (:class:`~dongne.service.admission.AdmissionLimit`).

``tests/test_service_cache.py`` compares its answers byte for byte, headers included, with
FastAPI's for each route.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter

from dongne.service.admission import ASGIApp, Receive, Scope, Send
from dongne.service.auth import hash_token
from dongne.service.cache import MISSING
from dongne.service.schemas import DatasetOut, MeOut

__all__ = ["CachedReads"]

# path -> the cache key's kind and how its argument is read from the path; the keys are
# those of the routes (routes/accounts.py ``me``, routes/datasets.py ``get_dataset`` and
# ``list_datasets``)
_ROUTES = (
    (re.compile(r"/me"), "me", None),
    (re.compile(r"/datasets/([1-9][0-9]{0,9})"), "dataset", int),
    (re.compile(r"/workspaces/([^/]+)/datasets"), "datasets", str),
)
_ADAPTERS = {
    "me": TypeAdapter(MeOut),
    "dataset": TypeAdapter(DatasetOut),
    "datasets": TypeAdapter(list[DatasetOut]),
}


class CachedReads:
    """ASGI middleware: a cached read answered from the read cache, the rest passed on.

    Parameters
    ----------
    app : ASGI application
        The application behind it (FastAPI's routing).
    state : starlette.datastructures.State
        The application's state; its ``cache`` (a :class:`~dongne.service.cache.ReadCache`,
        made at start-up) is used once it exists.
    """

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            body = self.answer(scope)
            if body is not None:
                headers = [
                    (b"content-length", str(len(body)).encode("ascii")),
                    (b"content-type", b"application/json"),
                ]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def answer(self, scope: Scope) -> bytes | None:
        """The JSON body of a cached answer to this GET, or ``None`` (FastAPI answers)."""
        cache = getattr(self.state, "cache", None)
        if cache is None or scope.get("query_string") or scope.get("root_path"):
            return None
        found = next(
            ((m, kind, convert) for pattern, kind, convert in _ROUTES
             if (m := pattern.fullmatch(scope["path"]))),
            None,
        )  # fmt: skip
        if found is None:
            return None
        match, kind, convert = found
        token = _bearer(scope["headers"])
        if token is None:
            return None
        user = cache.get(("token", hash_token(token)))
        if user is MISSING or user is None:
            return None
        key = (kind, user.id) if convert is None else (kind, user.id, convert(match[1]))
        value = cache.get(key)
        if value is MISSING:
            return None
        return _ADAPTERS[kind].dump_json(value, by_alias=True)


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of the first ``Authorization: Bearer`` header (scheme in any case, the rest
    after the first space), else ``None``. Where FastAPI's ``HTTPBearer`` reads another
    token (some versions strip spaces), the token's hash is not in the cache and FastAPI
    answers."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not credentials:
                return None
            return credentials
    return None
