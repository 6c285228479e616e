"""Allocation runs of the service take what ``dongne allocate`` takes (issue 15): where demand
lies inside the areas (demand points, grid, centroid), a rule for the existing sites and what to
do with sites outside the study area. In-process with the real job manager and worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely import Point, box
from test_service_jobs import Service, _settings

from dongne.service import create_app, create_user

CRS = "EPSG:5186"
X0, Y0 = 195_000, 545_000  # southern Seoul in EPSG:5186


@pytest.fixture
def service(tmp_path) -> Iterator[Service]:
    settings = _settings(tmp_path, None, max_jobs=1)
    admin = create_user(settings, "admin", workspace="city")
    with TestClient(create_app(settings)) as client:
        yield Service(client, admin.token)


def _layers(folder: Path) -> dict[str, Path]:
    """Four 1 km squares in a row (demand 100 each); three existing sites; demand points."""
    folder.mkdir()
    areas = gpd.GeoDataFrame(
        {"code": ["a", "b", "c", "d"], "households": [100, 100, 100, 100]},
        geometry=[box(X0 + i * 1000, Y0, X0 + (i + 1) * 1000, Y0 + 1000) for i in range(4)],
        crs=CRS,
    )
    existing = gpd.GeoDataFrame(
        {
            "name": ["open west", "closed east", "open far away"],
            "status": ["open", "closed", "open"],
        },
        geometry=[Point(X0 + 100, Y0 + 500), Point(X0 + 3900, Y0 + 500), Point(X0 + 50_000, Y0)],
        crs=CRS,
    )
    # All of each area's demand sits near its western edge
    points = gpd.GeoDataFrame(
        {"people": [10, 10, 10, 10]},
        geometry=[Point(X0 + i * 1000 + 50, Y0 + 500) for i in range(4)],
        crs=CRS,
    )
    paths = {}
    for name, gdf in (("areas", areas), ("existing", existing), ("points", points)):
        paths[name] = folder / f"{name}.geojson"
        gdf.to_file(paths[name], driver="GeoJSON")
    return paths


def test_allocation_run_takes_demand_points_existing_rule_and_outside(service, tmp_path):
    s = service
    paths = _layers(tmp_path / "in")
    areas = s.upload(paths["areas"], "areas", "areas.geojson")
    existing = s.upload(paths["existing"], "points", "existing.geojson")
    points = s.upload(paths["points"], "points", "points.geojson")
    body = {
        "analysis": "allocate", "areas": areas, "id_column": "code", "model": "mclp",
        "candidates": "centroids", "p": 1, "radius": "600m", "weight": "households",
        "existing": existing, "existing_filter": "status == 'open'", "outside": "drop",
        "demand_points": points, "demand_points_weight": "people",
    }  # fmt: skip
    run = s.wait(s.start(body), lambda r: r["status"] not in ("queued", "running"), timeout=120)
    assert run["status"] == "done", run["message"]
    # Only "open west" stays: the closed one fails the rule, the far one lies outside.
    summary = run["summary"]
    assert "3 read; 1 left out by the rule \"status == 'open'\"; 1 outside" in summary, summary
    assert "1 used" in summary and "규칙" in summary
    # demand at the points (x = 50, 1050, 2050, 3050 m into the row): the open west site covers
    # a; the new site at b's centroid (1500) covers b and c; d is 1550 m away.
    assert "25.0% before → 75.0% after" in summary
    demand = s.client.get(f"/runs/{run['id']}/result", params={"layer": "demand"}, headers=s.h)
    xs = sorted(f["geometry"]["coordinates"][0] for f in demand.json()["features"])
    assert len(xs) == 4  # the demand points, not a grid and not centroids
    prov = s.client.get(f"/runs/{run['id']}/provenance", headers=s.h).json()
    assert prov["parameters"]["existing_filter"] == "status == 'open'"
    assert prov["parameters"]["demand_points_weight"] == "people"
    assert set(prov["inputs"]) == {"areas", "existing", "demand_points"}


def test_fixes_are_spelled_as_the_service_takes_them(service, tmp_path):
    """A reader's ``crs='EPSG:....'`` is the upload's ``?crs=``; a run's ``outside='drop'`` is
    the request's ``"outside": "drop"`` — never a Python argument the service has no field for."""
    s = service
    wrong = tmp_path / "wrong.geojson"
    gpd.GeoDataFrame(geometry=[Point(100, 500)], crs=CRS).to_file(wrong, driver="GeoJSON")
    r = s.client.post(
        "/workspaces/city/datasets",
        params={"kind": "points", "filename": "wrong.geojson"},
        content=wrong.read_bytes(),
        headers=s.h,
    )
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "Fix: pass ?crs=EPSG:...." in detail and "crs='" not in detail, detail
    paths = _layers(tmp_path / "in")
    body = {
        "analysis": "allocate", "areas": s.upload(paths["areas"], "areas", "areas.geojson"),
        "id_column": "code", "model": "mclp", "candidates": "centroids", "p": 1,
        "radius": "600m", "existing": s.upload(paths["existing"], "points", "existing.geojson"),
        "outside": "raise", "demand_method": "centroid",
    }  # fmt: skip
    run = s.wait(s.start(body), lambda r: r["status"] not in ("queued", "running"), timeout=120)
    assert run["status"] == "failed"
    message = run["message"]
    assert 'Fix: pass "outside": "drop" to leave them out' in message, message
