"""Run supervision (issue 22): heartbeats, dead workers failed within seconds without a restart,
cancel that always ends, and a restart that resumes the queue. In-process (TestClient) with the
real job manager and real worker processes; the database-only tests on SQLite and PostgreSQL.

Under load the database refused the job threads' writes (``QueuePool limit ... reached``); the
thread died on the refused write and its run stayed ``running`` with no process for minutes.
``FlakyDatabase`` refuses the job manager's writes the same way for a while.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import sqlalchemy.exc
from fastapi.testclient import TestClient
from shapely import box
from test_service_storage import postgres_database, reset_postgres

from dongne.datasets import data_path
from dongne.errors import SpecificationError
from dongne.service import Settings, create_app, create_user
from dongne.service.models import Run, utcnow

GU = data_path("seoul_gu_2013.geojson")
GU_TABLE = data_path("seoul_gu_indicators.csv")

# A scan of a 30 x 30 grid that runs for minutes: killed or cancelled long before its end.
LONG_SCAN = {
    "analysis": "scan", "id_column": "code", "cases": "cases", "population": "population",
    "replications": 99_999,
}  # fmt: skip


def _grid(path: Path, n: int = 30) -> Path:
    """``n`` x ``n`` square areas of 500 m (EPSG:5186) with cases and population."""
    rng = np.random.default_rng(0)
    cells = [
        box(x * 500, y * 500, (x + 1) * 500, (y + 1) * 500) for y in range(n) for x in range(n)
    ]
    population = rng.integers(1_000, 5_000, n * n)
    gdf = gpd.GeoDataFrame(
        {
            "code": [f"{i:04d}" for i in range(n * n)],
            "cases": rng.binomial(population, 0.01),
            "population": population,
        },
        geometry=cells,
        crs="EPSG:5186",
    )
    gdf.to_file(path, driver="GeoJSON")
    return path


class FlakyDatabase:
    """The job manager's session factory, refusing every transaction while ``down`` is set."""

    def __init__(self, sessions) -> None:
        self.sessions, self.down, self.refused = sessions, False, 0

    def begin(self):
        if self.down:
            self.refused += 1
            raise sqlalchemy.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached")
        return self.sessions.begin()


class Service:
    def __init__(self, client: TestClient, token: str) -> None:
        self.client, self.h = client, {"Authorization": f"Bearer {token}"}
        self.jobs = client.app.state.jobs

    def upload(self, path, kind: str, name: str) -> int:
        r = self.client.post(
            "/workspaces/city/datasets",
            params={"kind": kind, "filename": name},
            content=path.read_bytes(),
            headers=self.h,
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def start(self, body: dict) -> int:
        r = self.client.post("/workspaces/city/runs", json=body, headers=self.h)
        assert r.status_code == 202, r.text
        return r.json()["id"]

    def run(self, run_id: int) -> dict:
        return self.client.get(f"/runs/{run_id}", headers=self.h).json()

    def cancel(self, run_id: int) -> dict:
        r = self.client.post(f"/runs/{run_id}/cancel", headers=self.h)
        assert r.status_code == 202, r.text
        return r.json()

    def wait(self, run_id: int, until, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while not until(run := self.run(run_id)):
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
        return run

    def scanning(self, areas: int) -> int:
        """A long scan, returned once its worker process is in the Monte Carlo loop."""
        rid = self.start({**LONG_SCAN, "areas": areas})
        self.wait(rid, lambda r: "Monte Carlo" in r["message"], timeout=180)
        return rid

    def add_run(self, status: str, **values) -> int:
        """A run row as a server that vanished left it (no thread of this server holds it)."""
        with self.client.app.state.sessions.begin() as session:
            run = Run(workspace_id=1, analysis="detect", parameters={}, status=status, **values)
            session.add(run)
            session.flush()
            return run.id


class Stopped:
    """The job manager of a server that died before it started its queued runs."""

    def submit(self, run_id: int, spec: dict) -> None:
        pass

    def shutdown(self) -> None:
        pass


# Killing worker processes does not depend on the database: these tests run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request) -> str | None:
    """The service database's URL: ``None`` for SQLite in the data folder, or PostgreSQL."""
    if request.param == "sqlite":
        return None
    url = request.getfixturevalue("pg_url")
    reset_postgres(url)
    return url


def _settings(tmp_path, database, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database, warm_worker=False, **kw)


@pytest.fixture
def service(tmp_path, database) -> Iterator[Service]:
    settings = _settings(tmp_path, database, max_jobs=1)
    admin = create_user(settings, "admin", workspace="city")
    with TestClient(create_app(settings)) as client:
        yield Service(client, admin.token)


@SQLITE_ONLY
def test_killed_worker_fails_its_run_within_seconds_while_the_database_is_busy(service, tmp_path):
    s = service
    rid = s.scanning(s.upload(_grid(tmp_path / "grid.geojson"), "areas", "grid.geojson"))
    first = s.run(rid)["heartbeat_at"]
    time.sleep(2.5)
    assert s.run(rid)["heartbeat_at"] > first  # recorded each second while the worker lives
    assert s.run(rid)["status"] == "running", s.run(rid)
    flaky = s.jobs.sessions = FlakyDatabase(s.jobs.sessions)
    flaky.down = True
    os.kill(s.jobs.process_of(rid).pid, signal.SIGKILL)
    time.sleep(1.5)  # the thread sees the death at once and cannot record it
    assert flaky.refused >= 1 and s.run(rid)["status"] == "running"
    flaky.down = False
    killed = time.monotonic()
    run = s.wait(rid, lambda r: r["status"] != "running", timeout=15)
    assert time.monotonic() - killed < 10  # seconds, not minutes (a loaded CI machine)
    assert run["status"] == "failed"
    assert "killed by SIGKILL (9)" in run["message"]
    assert "Fix: start the run again" in run["message"]
    assert run["finished_at"] is not None
    deadline = time.monotonic() + 5  # the thread lets go of the run after cleaning up
    while s.jobs.process_of(rid) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert list(s.jobs.settings.runs_dir.iterdir()) == []  # the partial outputs are gone


@SQLITE_ONLY
def test_cancel_ends_a_queued_run_at_once_and_a_run_whose_worker_died(service, tmp_path):
    s = service
    areas = s.upload(_grid(tmp_path / "grid.geojson"), "areas", "grid.geojson")
    busy = s.scanning(areas)
    queued = s.start({**LONG_SCAN, "areas": areas})  # max_jobs=1: it waits
    run = s.cancel(queued)
    assert run["status"] == "cancelled" and run["message"] == "cancelled before it started"
    # The running scan's worker dies while the database refuses the job manager's writes.
    flaky = s.jobs.sessions = FlakyDatabase(s.jobs.sessions)
    flaky.down = True
    os.kill(s.jobs.process_of(busy).pid, signal.SIGKILL)
    time.sleep(1.5)
    run = s.cancel(busy)
    assert run["status"] == "running" and run["cancel_requested"]
    flaky.down = False
    run = s.wait(busy, lambda r: r["status"] != "running", timeout=10)
    assert run["status"] == "failed" and "SIGKILL" in run["message"]
    assert s.run(queued)["status"] == "cancelled"  # never started


@SQLITE_ONLY
def test_cancel_ends_a_run_whose_thread_hangs(service, tmp_path, monkeypatch):
    s = service
    rid = s.scanning(s.upload(_grid(tmp_path / "grid.geojson"), "areas", "grid.geojson"))
    hung, hang = threading.Event(), threading.Event()

    def stuck(run_id: int, message: dict) -> None:  # a progress write that waits, as on a
        hung.set()  # pool with no free connection
        hang.wait()

    monkeypatch.setattr(s.jobs, "_progress", stuck)
    try:  # whatever fails, wake the thread: the teardown waits for it
        assert hung.wait(60)  # the run's thread is stuck now
        process = s.jobs.process_of(rid)
        asked = time.monotonic()
        assert s.cancel(rid)["status"] == "running"
        run = s.wait(rid, lambda r: r["status"] != "running", timeout=30)
        assert 7 <= time.monotonic() - asked < 25  # the supervisor steps in after 7 s
        assert run["status"] == "cancelled" and process.poll() == -signal.SIGKILL
        assert run["heartbeat_at"] is not None
    finally:
        hang.set()  # the thread wakes up, finds the run ended and lets it go
    run = s.wait(rid, lambda r: s.jobs.process_of(rid) is None, timeout=5)
    assert run["status"] == "cancelled"


@SQLITE_ONLY
def test_stopping_the_server_fails_running_runs_and_keeps_queued_ones(tmp_path, database):
    settings = _settings(tmp_path, database, max_jobs=1)
    admin = create_user(settings, "admin", workspace="city")
    with TestClient(create_app(settings)) as client:
        s = Service(client, admin.token)
        areas = s.upload(_grid(tmp_path / "grid.geojson"), "areas", "grid.geojson")
        running = s.scanning(areas)
        queued = s.start({**LONG_SCAN, "areas": areas})
    with TestClient(create_app(settings)) as client:
        s = Service(client, admin.token)
        run = s.run(running)
        assert run["status"] == "failed"
        assert (
            run["message"]
            == "The server stopped while this run was running. Fix: start the run again."
        )
        s.wait(queued, lambda r: "Monte Carlo" in r["message"], timeout=180)  # resumed
        assert s.cancel(queued)["status"] == "running"
        assert s.wait(queued, lambda r: r["status"] != "running", timeout=10)["status"] == (
            "cancelled"
        )


def test_cancel_ends_runs_no_thread_holds(service):
    s = service
    queued, running = s.add_run("queued"), s.add_run("running", started_at=utcnow())
    run = s.cancel(queued)
    assert run["status"] == "cancelled" and run["finished_at"] is not None
    run = s.cancel(running)
    assert run["status"] == "failed"
    assert run["message"].startswith("The run's worker had stopped without a result")
    assert s.client.post(f"/runs/{running}/cancel", headers=s.h).status_code == 409


def test_run_without_heartbeat_is_failed_by_the_supervisor(service):
    s = service
    s.jobs.heartbeat_timeout = 5.0
    stale = utcnow() - timedelta(seconds=60)
    orphan = s.add_run("running", started_at=stale, heartbeat_at=stale)
    fresh = s.add_run("running", started_at=utcnow(), heartbeat_at=utcnow())
    run = s.wait(orphan, lambda r: r["status"] != "running", timeout=4)
    assert run["status"] == "failed" and run["message"].startswith(
        "No heartbeat from the run's worker for 6"  # about 60 s
    )
    assert s.run(fresh)["status"] == "running"  # heard from under 5 s ago: not yet
    run = s.wait(fresh, lambda r: r["status"] != "running", timeout=8)
    assert run["status"] == "failed" and "No heartbeat" in run["message"]


def test_restart_resumes_the_queue(tmp_path, database):
    settings = _settings(tmp_path, database)
    admin = create_user(settings, "admin", workspace="city")
    with TestClient(create_app(settings)) as client:
        s = Service(client, admin.token)
        areas, table = s.upload(GU, "areas", "gu.geojson"), s.upload(GU_TABLE, "table", "gu.csv")
        s.jobs.shutdown()  # nothing runs: the next runs stay queued, as when a server dies
        client.app.state.jobs = Stopped()
        body = {
            "analysis": "detect", "areas": areas, "table": table, "id_column": "gu_code",
            "variable": "basement_households_2015", "methods": ["lisa"], "permutations": 99,
            "seed": 1,
        }  # fmt: skip
        queued = s.start(body)
        gone = s.start(body)
        left_running = s.add_run("running", started_at=utcnow())
        broken = s.add_run("queued")  # no parameters: its spec cannot be built
        with client.app.state.sessions.begin() as session:  # a queued run's input was deleted
            session.get(Run, gone).parameters = {**body, "areas": 999}
    assert s.run(queued)["status"] == "queued"
    with TestClient(create_app(settings)) as client:
        s = Service(client, admin.token)
        run = s.wait(queued, lambda r: r["status"] not in ("queued", "running"), timeout=180)
        assert run["status"] == "done", run["message"]
        assert run["layers"] == ["areas"] and "summary.txt" in run["files"]
        run = s.run(left_running)
        assert run["status"] == "failed" and run["message"].startswith("server restarted")
        run = s.run(gone)
        assert run["status"] == "failed"
        assert "Dataset 999 in workspace 'city' (own or shared) not found" in run["message"]
        run = s.run(broken)
        assert run["status"] == "failed"
        assert run["message"] == (
            "Not resumed after the server restarted: its stored parameters are broken "
            "(KeyError: 'analysis'). Fix: start the run again."
        )


@SQLITE_ONLY
def test_shutdown_is_bounded_when_a_run_thread_hangs(service, tmp_path, monkeypatch):
    s = service
    rid = s.scanning(s.upload(_grid(tmp_path / "grid.geojson"), "areas", "grid.geojson"))
    hung, hang = threading.Event(), threading.Event()

    def stuck(run_id: int, message: dict) -> None:  # a write that never returns
        hung.set()
        hang.wait()

    monkeypatch.setattr(s.jobs, "_progress", stuck)
    try:  # whatever fails, wake the thread: the teardown waits for it
        assert hung.wait(60)
        process = s.jobs.process_of(rid)
        s.jobs.shutdown_timeout = 2.0
        stopping = threading.Thread(target=s.jobs.shutdown, daemon=True)
        asked = time.monotonic()
        stopping.start()
        stopping.join(30)  # before: shutdown waited for the stuck thread for ever
        assert not stopping.is_alive()
        assert time.monotonic() - asked < 15
        assert process.poll() == -signal.SIGKILL
        run = s.run(rid)
        assert run["status"] == "failed" and run["message"].startswith("The server stopped")
    finally:
        hang.set()


def test_the_server_stops_the_job_manager_it_started_even_if_replaced(tmp_path):
    # test_service_api replaces app.state.jobs with a recorder; the manager the start made
    # was never stopped, and its supervisor went on querying a dropped test database
    settings = _settings(tmp_path, None)
    create_user(settings, "admin", workspace="city")
    with TestClient(create_app(settings)) as client:
        started = client.app.state.jobs
        client.app.state.jobs = Stopped()
        assert started._supervisor.is_alive()
    assert not started._supervisor.is_alive()
    assert not any(thread.is_alive() for thread in started._threads)


def test_heartbeat_timeout_is_a_setting(tmp_path, monkeypatch):
    settings = _settings(tmp_path, None, heartbeat_timeout=3.5)
    create_user(settings, "admin", workspace="city")
    with TestClient(create_app(settings)) as client:
        assert client.app.state.jobs.heartbeat_timeout == 3.5
    monkeypatch.setenv("DONGNE_HEARTBEAT_TIMEOUT_S", "4")
    assert Settings.from_env(data_dir=tmp_path).heartbeat_timeout == 4.0
    with pytest.raises(SpecificationError, match="DONGNE_HEARTBEAT_TIMEOUT_S=10"):
        Settings(data_dir=tmp_path, heartbeat_timeout=0)
