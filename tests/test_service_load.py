"""The service under concurrent load: no request holds a connection while it waits, overload is
503 with Retry-After, never 500 and never a 30-second hang (issue 22).

The short version of ``benchmarks/load_service.py`` runs against a real ``dongne serve``
process: 200 concurrent clients reading, 20 uploads (each downloaded back and compared byte for
byte) and 10 LISA runs at the same time, on SQLite and on PostgreSQL. Before the fix, 200
simultaneous ``GET /me`` waited 30 s and most were answered 500 (``QueuePool limit of size 5
overflow 10 reached``). The admission limit itself is tested in-process on a slow ASGI app.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sqlite3
import sys
import threading
import time
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from test_service_storage import postgres_database

from dongne.service import create_user
from dongne.service.admission import AdmissionLimit, Lane, busy_detail
from dongne.service.app import _unavailable, create_app
from dongne.service.db import make_engine
from dongne.service.models import Dataset
from dongne.service.routes import datasets as dataset_routes
from dongne.service.routes import models as model_routes
from dongne.service.settings import Settings

_spec = importlib.util.spec_from_file_location(
    "load_service", Path(__file__).resolve().parents[1] / "benchmarks" / "load_service.py"
)
load_service = importlib.util.module_from_spec(_spec)
sys.modules["load_service"] = load_service  # dataclasses look their module up there
_spec.loader.exec_module(load_service)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    if request.param == "sqlite":
        yield None
    else:
        with postgres_database() as url:
            yield url


@pytest.mark.slow
def test_200_concurrent_reads_20_uploads_10_runs_no_5xx(database_url, tmp_path):
    with load_service.service(tmp_path / "data", database_url) as (base, tokens, _):
        tally, seconds = asyncio.run(
            load_service.drive(
                base, tokens, clients=200, reads=3, uploads=20, runs=10, upload_mb=0.2,
                run_timeout=300,  # 10 runs on 2 job threads; one took 40 s on a loaded machine
            )
        )
        health = httpx.get(f"{base}/health", timeout=10)
    print(tally.report(seconds))
    # every read answered, none with a server error nor a 503 at this load
    assert sum(len(tally.latencies[k]) for k in ("me", "metadata", "list")) == 600
    assert {s for s in tally.statuses if s >= 500} == set(), tally.statuses
    assert not tally.transport_errors
    # a GET on a kept-alive connection that the busy server closed is sent again once (as
    # browsers do); that happened 0 or 1 times in a run here, never more than a handful
    assert tally.retried <= 5
    # no request waited for the 30 s of the old pool timeout (uploads did, then failed)
    assert max(max(v) for v in tally.latencies.values()) < 25
    assert tally.uploads == {"stored": 20}
    assert tally.runs == {"done": 10}
    assert health.status_code == 200


async def _slow_app(scope, receive, send):
    """An ASGI app that answers 200 after 0.3 s (``/health`` at once)."""
    if scope["path"] != "/health":
        await anyio.sleep(0.3)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _burst(app, n: int, path: str = "/me") -> list[tuple[int, float, httpx.Headers]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def one():
            start = time.perf_counter()
            r = await client.get(path)
            return r.status_code, time.perf_counter() - start, r.headers, r

        return await asyncio.gather(*(one() for _ in range(n)))


def test_admission_limit_answers_503_with_retry_after_at_once_when_the_queue_is_full():
    app = AdmissionLimit(_slow_app, max_requests=4, max_queued=6, queue_timeout=5)
    answers = asyncio.run(_burst(app, 20))
    ok = [a for a in answers if a[0] == 200]
    busy = [a for a in answers if a[0] == 503]
    # 4 served at once and 6 waiting (served in two more rounds of 0.3 s); 10 refused
    assert (len(ok), len(busy)) == (10, 10)
    for _, seconds, headers, response in busy:
        assert seconds < 0.1  # refused at once, not after a wait
        assert headers["retry-after"] == "5"
        assert "Fix: retry after 5 s" in response.json()["detail"]
    assert max(s for _, s, _, _ in ok) == pytest.approx(0.9, abs=0.25)
    assert (app.in_flight, app.waiting, app.refused) == (0, 0, 10)


def test_admission_limit_refuses_after_the_queue_timeout_and_exempts_health():
    app = AdmissionLimit(_slow_app, max_requests=1, max_queued=100, queue_timeout=0.1)
    answers = asyncio.run(_burst(app, 3))
    assert sorted(a[0] for a in answers) == [200, 503, 503]
    for status, seconds, headers, _ in answers:
        if status == 503:
            assert 0.1 <= seconds < 0.25 and headers["retry-after"] == "1"
    health = asyncio.run(_burst(AdmissionLimit(_slow_app, 1, 0, 0.1), 5, "/health"))
    assert [a[0] for a in health] == [200] * 5


def test_admission_limit_refuses_at_once_what_it_could_not_serve_in_time():
    """Before: a request beyond capacity waited the whole queue_timeout for its 503 (the
    client saw 1.1 s at 500 clients); now it is refused at arrival."""
    app = AdmissionLimit(_slow_app, max_requests=4, max_queued=1000, queue_timeout=1.0)

    async def warm_then_burst():
        # 12 at once: 8 of them finish while others wait (4 per 0.3 s): the capacity
        await _burst(app, 12)
        return await _burst(app, 60)

    answers = asyncio.run(warm_then_burst())
    ok = [a for a in answers if a[0] == 200]
    busy = [a for a in answers if a[0] == 503]
    # 4 served at once, about as many as finish within 1 s queued, the rest refused at once
    assert 8 <= len(ok) <= 24 and len(ok) + len(busy) == 60
    at_once = [seconds for _, seconds, _, _ in busy if seconds < 0.1]
    assert len(at_once) >= 15  # before: none; every one of them waited the 1 s
    assert max(seconds for _, seconds, _, _ in ok) < 1.0 + 0.3 + 0.25
    # the quick refusals say why (a slow one may be a queued request that timed out instead)
    quick = [a for a in busy if a[1] < 0.1]
    assert all("at the current rate" in a[3].json()["detail"] for a in quick)
    assert all(a[2]["retry-after"] == "1" for a in quick)


def test_busy_detail_rounds_retry_after_up_to_whole_seconds():
    assert busy_detail("x", 0)[1] == 1
    assert busy_detail("x", 2.01)[1] == 3


def test_engine_pool_is_sized_to_the_threads_and_sqlite_has_wal_busy_timeout(tmp_path):
    settings = Settings(
        data_dir=tmp_path, threads=7, max_requests=5, max_jobs=3, sqlite_busy_timeout=4
    )
    engine = make_engine(settings)
    try:
        assert engine.pool.size() == 12  # max(7 threads, 5 requests) + 3 job threads + 2
        with engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA busy_timeout").scalar() == 4000
            assert pragma("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
    assert Settings(data_dir=tmp_path, pool_size=5).connections == 5
    assert Settings(data_dir=tmp_path, threads=8, max_requests=30).connections == 34


def test_no_free_connection_is_503_with_retry_after_not_500(tmp_path):
    settings = Settings(
        data_dir=tmp_path, pool_size=1, pool_timeout=0.05, warm_worker=False, max_jobs=1
    )
    token = create_user(settings, "admin", workspace="city").token
    with TestClient(create_app(settings)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/me", headers=headers).status_code == 200
        with client.app.state.sessions() as holder:
            holder.connection()  # the pool's only connection, held
            start = time.perf_counter()
            # /me itself now comes from the read cache, with no connection: ask for the tokens
            r = client.get("/me/tokens", headers=headers)
            assert time.perf_counter() - start < 2
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert r.json()["detail"].startswith("The service is busy (no database connection")
        assert client.get("/me", headers=headers).status_code == 200


def test_only_a_busy_or_locked_database_is_answered_503_not_an_sql_error():
    locked = OperationalError("UPDATE runs", None, sqlite3.OperationalError("database is locked"))
    wrong = OperationalError("SELECT x", None, sqlite3.OperationalError("no such column: x"))
    assert _unavailable(locked) and not _unavailable(wrong)


def test_sqlite_lets_one_writer_in_at_a_time_and_readers_go_on(tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path, sqlite_busy_timeout=0.2))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        first = engine.connect()
        first.exec_driver_sql("INSERT INTO t VALUES (1)")  # holds the writer lock, uncommitted
        with engine.connect() as reader:  # WAL: a reader is not blocked, sees the last commit
            assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
        with engine.connect() as second:
            start = time.perf_counter()
            with pytest.raises(OperationalError, match="locked"):
                second.exec_driver_sql("INSERT INTO t VALUES (2)")
            assert 0.2 <= time.perf_counter() - start < 1.5
        first.commit()  # releases the writer lock
        with engine.begin() as second:
            second.exec_driver_sql("INSERT INTO t VALUES (2)")
        first.close()
        with engine.connect() as reader:
            assert reader.exec_driver_sql("SELECT sum(x) FROM t").scalar() == 3
    finally:
        engine.dispose()


def test_model_routes_leave_the_event_loop_free(tmp_path, monkeypatch):
    """The model routes were ``async`` and queried the database on the event loop: while one
    waited for the database, no other request (not even /health) was served."""
    settings = Settings(data_dir=tmp_path, warm_worker=False, max_jobs=1)
    token = create_user(settings, "admin", workspace="city").token

    def slow_database(session, user, slug, needed="viewer"):
        time.sleep(1.0)  # a database that takes a second to answer
        raise HTTPException(404, "Workspace not found (or you have no access to it).")

    monkeypatch.setattr(model_routes, "workspace_for", slow_database)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        answers = []
        slow = threading.Thread(
            target=lambda: answers.append(
                client.get("/models", params={"workspace": "city"}, headers=headers)
            )
        )
        slow.start()
        time.sleep(0.2)
        start = time.perf_counter()
        health = client.get("/health")
        seconds = time.perf_counter() - start
        slow.join()
    assert health.status_code == 200 and seconds < 0.5
    assert answers[0].status_code == 404


def test_an_upload_waiting_for_its_reader_holds_no_admission_place(tmp_path, monkeypatch):
    """An upload used to hold its admission place while its body arrived and it waited for a
    reader process: 40 large uploads held every place and reads waited behind them (at 50
    uploads of 10 MiB, 8 were refused 'no place free in 10 s'). Now it gives the place back
    and is limited by ``max_uploads``, answered 503 with Retry-After beyond it."""
    from dongne.service import readers

    settings = Settings(
        data_dir=tmp_path, warm_worker=False, max_jobs=1, max_requests=1, max_queued=0,
        queue_timeout=0.1, reader_processes=0, max_uploads=1,
    )  # fmt: skip
    token = create_user(settings, "admin", workspace="city").token
    real = readers.store_upload

    def slow_reader(*args):
        time.sleep(1.5)  # a large file being read
        return real(*args)

    monkeypatch.setattr(readers, "store_upload", slow_reader)
    headers = {"Authorization": f"Bearer {token}"}
    body = b"gu_code,value\n11010,1.5\n11020,2\n"
    params = {"kind": "table", "filename": "t.csv"}
    with TestClient(create_app(settings)) as client:
        answers = []
        upload = threading.Thread(
            target=lambda: answers.append(
                client.post(
                    "/workspaces/city/datasets", params=params, content=body, headers=headers
                )
            )
        )
        upload.start()
        time.sleep(0.6)
        me = client.get("/me", headers=headers)  # the one place is free (before: 503)
        second = client.post(
            "/workspaces/city/datasets", params=params, content=body, headers=headers
        )
        upload.join()
        assert client.app.state.uploads.active == 0
        listed = client.get("/workspaces/city/datasets", headers=headers).json()
    assert me.status_code == 200
    assert second.status_code == 503 and second.headers["retry-after"] == "5"
    assert "1 uploads are being received or read" in second.json()["detail"]
    assert "DONGNE_MAX_UPLOADS" in second.json()["detail"]
    assert answers[0].status_code == 201
    assert answers[0].json()["summary"]["rows"] == 2 and len(listed) == 1


def test_one_quick_round_after_a_pause_is_no_measure_of_the_rate():
    """At 500 clients on a loaded machine 5-30 requests were refused 'about N s at the current
    rate' while the requests admitted waited 1-2 s: after the server process was stopped for
    a moment, the first 8 completions came within milliseconds and, against the 0.5 s floor
    of the span, made the rate look like 16 requests/s. Two rounds of places are needed."""
    limit = AdmissionLimit(_slow_app, max_requests=40, max_queued=2000, queue_timeout=10)
    limit.waiting = 460
    now = time.monotonic()
    limit._finished.extend(now - 0.005 + i * 0.0005 for i in range(8))  # one quick round
    assert limit.expected_wait() is None  # before: 460 * 0.5 / 8 = 28.8 s, refused
    limit._finished.clear()
    limit._finished.extend(now - 1.6 + i * 0.02 for i in range(80))  # 50 a second, 1.6 s
    assert limit.expected_wait() == pytest.approx(461 * 1.6 / 80, rel=0.01)  # 9.2 s: queued
    limit.waiting = 600
    assert limit.expected_wait() > 10  # beyond what it serves in time: refused at arrival


def test_a_lane_admits_its_requests_beside_a_flood_of_others():
    """At 500 clients a download waited 0.7-2 s of its 2-3 s for a place behind the reads
    queued before it. A lane (downloads and uploads) has places of its own, with the same
    rules: queued, then 503 with Retry-After naming its own setting."""
    lane = Lane("downloads", 1, (("GET", r"/datasets/[0-9]+/download"),), "MAX_DOWNLOADS")
    app = AdmissionLimit(_slow_app, max_requests=2, max_queued=100, queue_timeout=5,
                         lanes=(lane,))  # fmt: skip

    async def flood_and_download():
        reads = asyncio.ensure_future(_burst(app, 20))  # 10 rounds of 0.3 s
        await asyncio.sleep(0.05)
        downloads = await _burst(app, 3, "/datasets/7/download")
        return await reads, downloads

    reads, downloads = asyncio.run(flood_and_download())
    assert [a[0] for a in reads] == [200] * 20
    assert max(a[1] for a in reads) == pytest.approx(3.0, abs=0.6)
    # the lane's one place: three downloads in turn, 0.3 s each, none behind the reads
    assert sorted(a[0] for a in downloads) == [200, 200, 200]
    assert sorted(a[1] for a in downloads)[-1] == pytest.approx(0.9, abs=0.3)  # before: > 3 s
    assert app.lanes[0].refused == 0 and app.refused == 0
    # its own queue: full, it answers 503 naming its own setting
    tight = AdmissionLimit(_slow_app, 2, 0, 5, lanes=(lane,))
    answers = asyncio.run(_burst(tight, 3, "/datasets/7/download"))
    busy = [a for a in answers if a[0] == 503]
    assert len(busy) == 2 and all(a[2]["retry-after"] == "5" for a in busy)
    detail = busy[0][3].json()["detail"]
    assert detail.startswith("The service is busy (0 downloads wait for a place)")
    assert detail.endswith("an administrator can raise MAX_DOWNLOADS.")
    assert (tight.in_flight, tight.refused, tight.lanes[0].refused) == (0, 0, 2)


def _audited_downloads(client, headers) -> int:
    log = client.get("/workspaces/city/audit?limit=1000", headers=headers).json()
    return sum(e["action"] == "download" for e in log)


def test_downloads_and_reads_do_not_wait_for_each_other(tmp_path, monkeypatch):
    """With one place for requests and none to wait in, a download used to be refused (503)
    while a slow request held the place, and a slow download made every read wait. Now
    downloads have places of their own (``max_transfers``); each is still audited."""
    settings = Settings(
        data_dir=tmp_path, warm_worker=False, max_jobs=1, max_requests=1, max_queued=0,
        queue_timeout=0.1, reader_processes=0, max_transfers=1,
    )  # fmt: skip
    token = create_user(settings, "admin", workspace="city").token
    headers = {"Authorization": f"Bearer {token}"}
    body = b"gu_code,value\n11010,1.5\n11020,2\n"
    real_readable = dataset_routes.readable_dataset

    def slow_database(session, user, slug, needed="viewer"):
        time.sleep(1.5)  # a database that takes 1.5 s to answer
        raise HTTPException(404, "Workspace not found (or you have no access to it).")

    def slow_download(session, user, dataset_id):
        time.sleep(1.5)
        return real_readable(session, user, dataset_id)

    def in_background(call):
        answers = []
        thread = threading.Thread(target=lambda: answers.append(call()))
        thread.start()
        time.sleep(0.5)
        return thread, answers

    monkeypatch.setattr(model_routes, "workspace_for", slow_database)
    with TestClient(create_app(settings)) as client:
        r = client.post("/workspaces/city/datasets", params={"kind": "table",
                        "filename": "t.csv"}, content=body, headers=headers)  # fmt: skip
        assert r.status_code == 201
        url = f"/datasets/{r.json()['id']}/download"
        # a slow request holds the one place: the download is served (before: 503)
        slow, slow_answers = in_background(
            lambda: client.get("/models", params={"workspace": "city"}, headers=headers)
        )
        download = client.get(url, headers=headers)
        slow.join()
        assert slow_answers[0].status_code == 404
        assert download.status_code == 200 and download.content == body
        # a slow download holds the lane's one place: reads are served (before: 503), the
        # next download is refused at once, naming the lane's setting
        monkeypatch.setattr(dataset_routes, "readable_dataset", slow_download)
        slow, slow_answers = in_background(lambda: client.get(url, headers=headers))
        me = client.get("/me", headers=headers)
        tokens = client.get("/me/tokens", headers=headers)  # not cached: a thread, a query
        second = client.get(url, headers=headers)
        slow.join()
        monkeypatch.setattr(dataset_routes, "readable_dataset", real_readable)
        assert (me.status_code, tokens.status_code) == (200, 200)
        assert second.status_code == 503 and "DONGNE_MAX_TRANSFERS" in second.json()["detail"]
        assert slow_answers[0].status_code == 200 and slow_answers[0].content == body
        # every download served is in the audit log, the refused one is not
        assert _audited_downloads(client, headers) == 2


@pytest.mark.parametrize("preload", [True, False])
def test_a_download_is_starlettes_file_response_byte_for_byte(tmp_path, monkeypatch, preload):
    """A stored file up to ``PRELOAD_BYTES`` is read with the access check and sent in one
    piece, a larger one in chunks of 1 MiB; both answer what Starlette's ``FileResponse``
    (64 KiB chunks) answers for the file, headers included, and ``Range`` still works."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Route

    if not preload:
        monkeypatch.setattr(dataset_routes, "PRELOAD_BYTES", 1000)
    settings = Settings(data_dir=tmp_path, warm_worker=False, max_jobs=1, reader_processes=0)
    token = create_user(settings, "admin", workspace="city").token
    headers = {"Authorization": f"Bearer {token}"}
    rows = "".join(f"{11000 + i},{i * 0.37:.6f}\n" for i in range(130_000))  # 2.1 MiB
    body = ("gu_code,value\n" + rows).encode()
    filename = "구별 지표 2024.csv"
    with TestClient(create_app(settings)) as client:
        r = client.post("/workspaces/city/datasets", params={"kind": "table",
                        "filename": filename}, content=body, headers=headers)  # fmt: skip
        assert r.status_code == 201
        url = f"/datasets/{r.json()['id']}/download"
        ours = client.get(url, headers=headers)
        ranged = client.get(url, headers={**headers, "Range": "bytes=100-199"})
        with client.app.state.sessions() as session:
            stored = session.get(Dataset, r.json()["id"]).stored_path
    path = settings.data_dir / stored

    def reference(request):
        return FileResponse(path, filename=filename, media_type="application/octet-stream")

    with TestClient(Starlette(routes=[Route("/f", reference)])) as peer:
        theirs = peer.get("/f")
        theirs_ranged = peer.get("/f", headers={"Range": "bytes=100-199"})
    assert ours.status_code == theirs.status_code == 200
    assert ours.content == theirs.content == body
    assert ours.headers.raw == theirs.headers.raw
    assert "filename*=utf-8''" in ours.headers["content-disposition"]
    assert ranged.status_code == theirs_ranged.status_code == 206
    assert ranged.content == theirs_ranged.content == body[100:200]
    assert ranged.headers.raw == theirs_ranged.headers.raw
