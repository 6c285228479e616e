"""The service as users meet it: a real uvicorn process on a loopback port, spoken to with httpx.

Main flows: upload the bundled Seoul gu boundaries and indicators, check the match report, run
LISA (SQLite) and an MCLP allocation (PostgreSQL) as background jobs, fetch the results as
GeoJSON, CSV and GeoPackage, cancel a long scan. The LISA numbers served must be exactly the
library's for the same seed.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import pytest
from test_service_storage import leftovers, postgres_database, reset_postgres

from dongne.datasets import data_path
from dongne.detect import LocalMoran
from dongne.io import join_by_code, read_areas, read_table
from dongne.service import Settings, create_user
from dongne.weights import queen

GU = data_path("seoul_gu_2013.geojson")
GU_TABLE = data_path("seoul_gu_indicators.csv")


@dataclass
class Server:
    url: str
    token: str
    settings: Settings
    process: subprocess.Popen

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory) -> Iterator[Server]:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        reset_postgres(url)
    data = tmp_path_factory.mktemp("server") / "data"
    settings = Settings(data_dir=data, database_url=url, max_upload_bytes=3 * 1024**2)
    admin = create_user(settings, "admin", workspace="city")
    args = ["--database-url", url] if url else []
    with running_service(data, args, {"DONGNE_MAX_UPLOAD_MB": "3"}) as (base, process):
        yield Server(base, admin.token, settings, process)


@contextlib.contextmanager
def running_service(
    data: Path, args: list[str] = (), env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``dongne serve`` (``python -m dongne.cli serve``) on a free loopback port with ``data``
    as its folder, once ``/health`` answers: its base URL and process (log in ``data``'s parent)."""
    port = _free_port()
    command = [sys.executable, "-m", "dongne.cli", "serve", "--host", "127.0.0.1", "--port",
               str(port), "--data-dir", str(data), *args]  # fmt: skip
    log_path = data.parent / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=log, env={**os.environ, **(env or {})}
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("server did not start:\n" + log_path.read_text())
            time.sleep(0.2)
        try:
            yield base, process
        finally:
            process.terminate()
            process.wait(30)


def _upload(c: httpx.Client, path: Path, kind: str, name: str) -> dict:
    r = c.post(
        "/workspaces/city/datasets",
        params={"kind": kind, "filename": name},
        content=path.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    return r.json()


def _wait(c: httpx.Client, run_id: int, timeout: float = 240) -> tuple[dict, list]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = c.get(f"/runs/{run_id}").json()
        seen.append((run["status"], run["progress"], run["message"]))
        if run["status"] not in ("queued", "running"):
            return run, seen
        time.sleep(0.3)
    pytest.fail(f"run {run_id} did not finish in {timeout} s: {seen[-1]}")


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_upload_run_lisa_and_fetch_results(server):
    with server.client() as c:
        assert c.get("/health").json()["database"] == "sqlite"
        areas, table = (
            _upload(c, GU, "areas", "gu.geojson"),
            _upload(c, GU_TABLE, "table", "gu.csv"),
        )
        m = c.post(
            "/workspaces/city/match",
            json={"areas": areas["id"], "table": table["id"], "key": "gu_code"},
        ).json()
        assert m["complete"] and m["matched_rows"] == 25
        body = {
            "analysis": "detect", "areas": areas["id"], "table": table["id"],
            "id_column": "gu_code", "variable": "basement_household_pct_2015",
            "methods": ["lisa"], "permutations": 99, "seed": 7, "name_column": "gu_name",
        }  # fmt: skip
        r = c.post("/workspaces/city/runs", json=body)
        assert r.status_code == 202 and r.json()["status"] == "queued"
        run, seen = _wait(c, r.json()["id"])
        assert run["status"] == "done", run["message"]
        assert run["progress"] == 1.0 and run["layers"] == ["areas"]
        assert any(s == "running" and "LISA" in msg for s, _, msg in seen)
        progress = [p for _, p, _ in seen]
        assert progress == sorted(progress)
        assert "Local Moran" in run["summary"]
        assert {"lisa_map.png", "match_report.json", "summary.txt"} <= set(run["files"])
        rid = run["id"]
        gj = c.get(f"/runs/{rid}/result", params={"format": "geojson"})
        assert gj.headers["content-type"] == "application/geo+json"
        served = gpd.read_file(io.BytesIO(gj.content))
        assert len(served) == 25 and served.crs.to_epsg() == 4326
        csv = pd.read_csv(
            io.BytesIO(c.get(f"/runs/{rid}/result?format=csv").content), dtype={"gu_code": str}
        )
        gpkg_bytes = c.get(f"/runs/{rid}/result", params={"format": "gpkg"}).content
        gpkg_path = server.settings.data_dir.parent / "result.gpkg"
        gpkg_path.write_bytes(gpkg_bytes)
        gpkg = gpd.read_file(gpkg_path, layer="areas")
        assert len(csv) == len(gpkg) == 25 and "geometry" not in csv
        png = c.get(f"/runs/{rid}/files/lisa_map.png")
        assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
        prov = c.get(f"/runs/{rid}/provenance").json()
        assert prov["inputs"]["areas"]["sha256"] == areas["sha256"]
        assert prov["match_report"]["matched_areas"] == 25 and prov["parameters"]["seed"] == 7

    # The served numbers are the library's own, for the same seed.
    gu = read_areas(GU)
    joined, _ = join_by_code(gu, read_table(GU_TABLE), key="gu_code")
    keyed = joined.set_index(joined["gu_code"].astype(str), drop=False)
    y = keyed["basement_household_pct_2015"]
    lisa = LocalMoran(permutations=99, rng=7).fit(y, queen(joined, ids="gu_code")).to_frame()
    for frame in (served.set_index("gu_code"), csv.set_index("gu_code"), gpkg.set_index("gu_code")):
        np.testing.assert_allclose(
            frame.loc[lisa.index, "lisa_local_i"], lisa["local_i"], rtol=1e-12
        )
        np.testing.assert_array_equal(frame.loc[lisa.index, "lisa_p_value"], lisa["p_value"])
        assert list(frame.loc[lisa.index, "lisa_label"]) == list(lisa["label"])


@pytest.mark.parametrize("server", ["postgresql"], indirect=True)
def test_allocation_run_on_postgresql(server):
    with server.client() as c:
        assert c.get("/health").json()["database"] == "postgresql"
        areas, table = (
            _upload(c, GU, "areas", "gu.geojson"),
            _upload(c, GU_TABLE, "table", "gu.csv"),
        )
        body = {
            "analysis": "allocate", "areas": areas["id"], "table": table["id"],
            "id_column": "gu_code", "model": "mclp", "candidates": "centroids", "p": 3,
            "radius": "5km", "weight": "basement_households_2015",
        }  # fmt: skip
        run, _ = _wait(c, c.post("/workspaces/city/runs", json=body).json()["id"])
        assert run["status"] == "done", run["message"]
        assert run["layers"] == ["areas", "sites", "demand"]
        sites = c.get(f"/runs/{run['id']}/result", params={"layer": "sites"}).json()
        assert len(sites["features"]) == 3
        assert all(f["geometry"]["type"] == "Point" for f in sites["features"])
        areas_out = c.get(f"/runs/{run['id']}/result").json()
        after = [f["properties"]["coverage_after"] for f in areas_out["features"]]
        before = [f["properties"]["coverage_before"] for f in areas_out["features"]]
        assert len(after) == 25 and sum(after) > sum(before)
        assert "MCLP" in run["summary"] or "mclp" in run["summary"].lower()


def test_cancel_stops_the_process(server):
    with server.client() as c:
        areas, table = (
            _upload(c, GU, "areas", "gu.geojson"),
            _upload(c, GU_TABLE, "table", "gu.csv"),
        )
        body = {
            "analysis": "scan", "areas": areas["id"], "table": table["id"], "id_column": "gu_code",
            "cases": "basement_households_2015", "population": "households_2015",
            "replications": 99_999,
        }  # fmt: skip
        rid = c.post("/workspaces/city/runs", json=body).json()["id"]
        deadline = time.monotonic() + 120
        while "Monte Carlo" not in c.get(f"/runs/{rid}").json()["message"]:
            assert time.monotonic() < deadline, c.get(f"/runs/{rid}").json()
            time.sleep(0.2)
        r = c.post(f"/runs/{rid}/cancel")
        assert r.status_code == 202 and r.json()["cancel_requested"]
        run, _ = _wait(c, rid, timeout=30)
        assert run["status"] == "cancelled" and run["progress"] < 1
        assert c.post(f"/runs/{rid}/cancel").status_code == 409
        r = c.get(f"/runs/{rid}/result")
        assert r.status_code == 409 and "cancelled" in r.json()["detail"]
        workers = subprocess.run(
            ["pgrep", "-P", str(server.process.pid), "-f", "dongne.service.worker"],
            capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        assert len(workers) <= 1  # only the idle spare is left, the scan's process is gone
        assert leftovers(server.settings) == []
        audit = c.get("/workspaces/city/audit").json()
        assert ("admin", "cancel", rid) in {(e["user"], e["action"], e["target_id"]) for e in audit}


def test_oversize_upload_to_a_real_server(server):
    with server.client() as c:
        r = c.post(
            "/workspaces/city/datasets",
            params={"kind": "areas", "filename": "dong.geojson"},
            content=data_path("seoul_dong_2013.geojson").read_bytes(),  # 2.8 MiB, under 3 MiB
        )
        assert r.status_code == 201
        big = b"x" * (4 * 1024**2)
        r = c.post(
            "/workspaces/city/datasets",
            params={"kind": "table", "filename": "big.csv"},
            content=big,
        )
        assert r.status_code == 413 and "3.0 MiB" in r.json()["detail"]
    assert leftovers(server.settings) == []
