"""The service's read cache (issue 22): cached reads send no query, and every change of access
made through the service takes effect on the very next request; changes written by another
process take effect within ``Settings.cache_seconds``. Also: the dataset list costs a fixed
number of queries, however many datasets it shows (it cost one or more per dataset)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import delete, event

from dongne.service import Settings, create_app, create_user
from dongne.service.cache import ME_TABLES, MISSING, ReadCache
from dongne.service.db import make_engine
from dongne.service.deps import cached
from dongne.service.models import Membership

TABLE = b"gu_code,value\n11010,1.5\n11020,2.5\n"


class Service:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def h(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: str, path: str):
        return self.client.get(path, headers=self.h(user))

    def upload(self, user: str, ws: str = "city") -> int:
        r = self.client.post(
            f"/workspaces/{ws}/datasets",
            params={"kind": "table", "filename": "gu.csv"},
            content=TABLE,
            headers=self.h(user),
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def join(self, user: str, ws: str = "city", role: str = "viewer") -> None:
        r = self.client.put(
            f"/workspaces/{ws}/members/{user}", json={"role": role}, headers=self.h("admin")
        )
        assert r.status_code == 202, r.text
        assert self.client.post(f"/me/invitations/{ws}/accept", headers=self.h(user)).is_success

    @contextmanager
    def statements(self) -> Iterator[list[str]]:
        """The SQL statements the service sends while the block runs."""
        sent: list[str] = []
        engine = self.client.app.state.sessions.kw["bind"]

        def record(_conn, _cursor, statement, *_args) -> None:
            sent.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield sent
        finally:
            event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def service(tmp_path, request) -> Iterator[Service]:
    cache_seconds = getattr(request, "param", 5.0)
    settings = Settings(
        data_dir=tmp_path / "data", warm_worker=False, max_jobs=1, cache_seconds=cache_seconds
    )
    admin = create_user(settings, "admin", workspace="city")
    with TestClient(create_app(settings)) as client:
        s = Service(client, {"admin": admin.token})
        r = client.post("/users", json={"name": "vi"}, headers=s.h("admin"))
        s.tokens["vi"] = r.json()["token"]
        yield s


def test_cached_reads_send_no_query(service):
    s = service
    ds = s.upload("admin")
    for path in ("/me", f"/datasets/{ds}", "/workspaces/city/datasets"):
        first = s.get("admin", path).json()
        with s.statements() as sent:
            again = s.get("admin", path)
        assert again.status_code == 200 and again.json() == first
        assert sent == [], path  # the token check and the answer both came from the cache
    cache = s.client.app.state.cache
    assert cache.hits >= 6


def test_revoked_token_is_refused_by_the_next_request(service):
    s = service
    r = s.client.post("/me/tokens", json={"label": "laptop"}, headers=s.h("vi"))
    s.tokens["laptop"] = r.json()["token"]
    assert s.get("laptop", "/me").status_code == 200
    assert s.get("laptop", "/me").status_code == 200  # now cached
    assert s.client.delete(f"/me/tokens/{r.json()['id']}", headers=s.h("vi")).status_code == 204
    assert s.get("laptop", "/me").status_code == 401
    assert s.get("vi", "/me").status_code == 200  # the user's other token still works


def test_removed_member_loses_access_at_once(service):
    s = service
    ds = s.upload("admin")
    s.join("vi")
    for _ in range(2):  # the second round is answered from the cache
        assert s.get("vi", f"/datasets/{ds}").status_code == 200
        assert [w["slug"] for w in s.get("vi", "/me").json()["workspaces"]] == ["city"]
        assert len(s.get("vi", "/workspaces/city/datasets").json()) == 1
    r = s.client.delete("/workspaces/city/members/vi", headers=s.h("admin"))
    assert r.status_code == 204
    assert s.get("vi", f"/datasets/{ds}").status_code == 404
    assert s.get("vi", "/me").json()["workspaces"] == []
    assert s.get("vi", "/workspaces/city/datasets").status_code == 404
    # and a deleted dataset is gone from its owners' answers at once
    assert s.get("admin", f"/datasets/{ds}").status_code == 200
    assert s.client.delete(f"/datasets/{ds}", headers=s.h("admin")).status_code == 204
    assert s.get("admin", f"/datasets/{ds}").status_code == 404
    assert s.get("admin", "/workspaces/city/datasets").json() == []


@pytest.mark.parametrize("service", [0.5], indirect=True)
def test_writes_of_another_process_are_seen_within_cache_seconds(service):
    s = service
    ds = s.upload("admin")
    s.join("vi")
    assert s.get("vi", f"/datasets/{ds}").status_code == 200
    engine = make_engine(s.client.app.state.settings)  # another process's connection
    try:
        with engine.begin() as conn:
            conn.execute(delete(Membership).where(Membership.workspace_id == 1,
                                                  Membership.user_id == 2))  # fmt: skip
    finally:
        engine.dispose()
    time.sleep(0.6)
    assert s.get("vi", f"/datasets/{ds}").status_code == 404
    # a token made by another process works at once: an unknown token is never cached
    new = create_user(s.client.app.state.settings, "late")
    assert s.client.get("/me", headers={"Authorization": f"Bearer {new.token}"}).is_success


@pytest.mark.parametrize("service", [0], indirect=True)
def test_dataset_list_costs_the_same_queries_for_1_or_6_datasets(service):
    s = service
    s.client.post("/workspaces", json={"slug": "partner", "name": "P"}, headers=s.h("vi"))
    s.upload("admin")
    with s.statements() as one:
        assert len(s.get("admin", "/workspaces/city/datasets").json()) == 1
    for _ in range(4):
        s.upload("admin")
    shared = s.upload("vi", "partner")  # offered by partner, accepted by city: shared in
    s.client.post(f"/datasets/{shared}/shares", json={"workspace": "city"}, headers=s.h("vi"))
    r = s.client.post(f"/workspaces/city/offers/{shared}/accept", headers=s.h("admin"))
    assert r.status_code == 201
    own = s.get("admin", "/workspaces/city/datasets").json()[0]["id"]
    s.client.post(f"/datasets/{own}/shares", json={"workspace": "partner"}, headers=s.h("admin"))
    s.client.post(f"/workspaces/partner/offers/{own}/accept", headers=s.h("vi"))
    with s.statements() as six:
        listed = s.get("admin", "/workspaces/city/datasets").json()
    assert len(listed) == 6
    assert [d["shared"] for d in listed] == [False] * 5 + [True]
    assert listed[0]["shared_with"] == ["partner"] and listed[5]["workspace"] == "partner"
    # one more: the workspaces of the shares, loaded once for all of them
    assert len(one) <= len(six) <= len(one) + 1 <= 9, six


def test_read_cache_keeps_no_answer_read_before_a_write():
    cache = ReadCache(ttl=60, max_entries=2)
    tables = frozenset({"users", "memberships"})
    token = cache.token(tables)
    cache.invalidate({"memberships"})  # committed while the answer was being read
    cache.put("me", tables, token, "old")
    assert cache.get("me") is MISSING
    cache.put("me", tables, cache.token(tables), "new")
    cache.invalidate({"datasets", "runs"})  # tables it did not read
    assert cache.get("me") == "new"
    cache.invalidate()  # a write to an unknown table: everything is stale
    assert cache.get("me") is MISSING
    for key in ("me", "a", "b"):
        cache.put(key, tables, cache.token(tables), key)
    assert cache.get("me") is MISSING and cache.get("b") == "b"  # oldest dropped beyond 2
    short = ReadCache(ttl=0.05)
    short.put("me", tables, short.token(tables), "x")
    time.sleep(0.06)
    assert short.get("me") is MISSING
    off = ReadCache(ttl=0)
    off.put("me", tables, off.token(tables), "x")
    assert off.get("me") is MISSING


def test_concurrent_misses_of_one_key_read_once():
    cache = ReadCache(ttl=60)
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(cache=cache)))
    reads = []

    def read(answer):
        reads.append(answer)
        time.sleep(0.2)
        if answer == "missing":
            raise HTTPException(404, "not found")
        return answer

    async def burst(answer):
        calls = (cached(request, ("k", answer), ME_TABLES, read, answer) for _ in range(20))
        return await asyncio.gather(*calls, return_exceptions=True)

    assert asyncio.run(burst("x")) == ["x"] * 20
    assert reads == ["x"] and cache.pending == {}
    refused = asyncio.run(burst("missing"))
    assert reads == ["x", "missing"]  # one read for 20 requests, its 404 given to all
    assert all(isinstance(r, HTTPException) and r.status_code == 404 for r in refused)
    asyncio.run(burst("missing"))
    assert reads == ["x", "missing", "missing"]  # a refusal is not cached


def test_cached_reads_answered_before_routing_are_fastapis_answers_byte_for_byte(service):
    """The hot path (``dongne.service.hotpath``) answers a cached read without FastAPI's
    routing; its answer must be the one FastAPI gives (sent again with a query string, which
    the hot path leaves to FastAPI): same status, headers and bytes, Hangul included."""
    s = service
    r = s.client.post(
        "/workspaces/city/datasets", params={"kind": "table", "filename": "구.csv",
        "name": "서울 인구"}, content=TABLE, headers=s.h("admin"),
    )  # fmt: skip
    assert r.status_code == 201
    ds = r.json()["id"]
    hot = s.client.app.middleware_stack  # built by the first request
    finder = hot
    while not hasattr(finder, "answer"):
        finder = finder.app
    bearer = f"Bearer {s.tokens['admin']}".encode()
    for path in ("/me", f"/datasets/{ds}", "/workspaces/city/datasets"):
        s.get("admin", path)  # cached now
        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
                 "headers": [(b"authorization", bearer)]}  # fmt: skip
        assert finder.answer(scope) is not None, path  # answered before routing
        fast = s.get("admin", path)
        slow = s.client.get(path, params={"via": "fastapi"}, headers=s.h("admin"))
        assert fast.status_code == slow.status_code == 200
        assert fast.content == slow.content, path
        assert path == "/me" or "서울 인구" in fast.json().__repr__()
        assert fast.headers.items() == slow.headers.items(), path
    # never for another token, path, method or a token not (yet) cached
    scope["headers"] = [(b"authorization", b"Bearer dn_unknown")]
    assert finder.answer(scope) is None
    scope["headers"] = [(b"authorization", f"Basic {s.tokens['admin']}".encode())]
    assert finder.answer(scope) is None
    for path in ("/me/", "/datasets/0", f"/datasets/{ds}/download", "/me/tokens"):
        scope = {**scope, "path": path, "headers": [(b"authorization", bearer)]}
        assert finder.answer(scope) is None, path
    assert s.get("vi", f"/datasets/{ds}").status_code == 404  # not a member: FastAPI says so
