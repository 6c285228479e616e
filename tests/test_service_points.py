"""Point runs of the service (issue 19): Significant DBSCAN+ clusters, the kernel density
grid and Ripley's summaries equal ``dongne.points``' on the same inputs; request errors name
the JSON field. In-process with the real job manager and worker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pytest
from fastapi.testclient import TestClient
from shapely import box
from test_service_jobs import Service, _settings, database, pg_url  # noqa: F401 (fixtures)

from dongne.points import SignificantDBSCAN, kernel_density, point_pattern
from dongne.points.distance import nearest_neighbour_index
from dongne.service import create_app, create_user
from dongne.service.worker import _kde_cell

CRS = "EPSG:5186"
X0, Y0 = 195_000, 545_000


@pytest.fixture
def service(tmp_path) -> Iterator[Service]:
    settings = _settings(tmp_path, None, max_jobs=1)
    admin = create_user(settings, "admin", workspace="city")
    with TestClient(create_app(settings)) as client:
        yield Service(client, admin.token)


def _inputs(folder):
    """300 points at random over a 2 km square, 40 more in a 60 m blob, 5 outside it."""
    folder.mkdir()
    g = np.random.default_rng(11)
    xy = np.vstack(
        [g.uniform(0, 2000, (300, 2)), g.normal(1400, 30, (40, 2)), g.uniform(2100, 2200, (5, 2))]
    )
    points = gpd.GeoDataFrame(
        {"kind": ["a"] * 300 + ["b"] * 40 + ["a"] * 5},
        geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]),
        crs=CRS,
    )
    areas = gpd.GeoDataFrame(
        {"code": ["W", "E"], "name": ["west", "east"]},
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 2000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 2000)],
        crs=CRS,
    )
    points.to_file(folder / "points.geojson", driver="GeoJSON")
    areas.to_file(folder / "areas.geojson", driver="GeoJSON")
    return folder / "points.geojson", folder / "areas.geojson", points, areas


def _done(s: Service, body: dict) -> dict:
    run = s.wait(s.start(body), lambda r: r["status"] not in ("queued", "running"), timeout=180)
    assert run["status"] == "done", run["message"]
    return run


def _layer(s: Service, run: dict, layer: str) -> list[dict]:
    r = s.client.get(f"/runs/{run['id']}/result", params={"layer": layer}, headers=s.h)
    assert r.status_code == 200, r.text
    return r.json()["features"]


def test_points_run_equals_the_library(service, tmp_path):
    s = service
    points_path, areas_path, points, areas = _inputs(tmp_path / "in")
    body = {
        "analysis": "points", "points": s.upload(points_path, "points", "points.geojson"),
        "areas": s.upload(areas_path, "areas", "areas.geojson"), "id_column": "code",
        "name_column": "name", "eps": [60.0, 90.0], "min_pts": 10, "replications": 99,
        "ripley_replications": 9, "functions": ["L"], "kde_cells": 400, "seed": 5,
    }  # fmt: skip
    run = _done(s, body)
    assert run["layers"] == ["density", "clusters", "points", "ellipse"]
    assert {"cluster_areas.csv", "l_envelope.csv", "l_envelope.png"} <= set(run["files"])

    with pytest.warns(UserWarning):  # the 5 points outside the study area
        pattern = point_pattern(points, areas)
    assert pattern.n == 340
    fit = SignificantDBSCAN([60.0, 90.0], 10, replications=99, rng=5).fit(pattern)
    got = _layer(s, run, "clusters")
    assert len(got) == len(fit.clusters_) >= 1
    for f, (_, row) in zip(got, fit.clusters_.iterrows(), strict=True):
        p = f["properties"]
        assert (p["cluster"], p["points"], p["eps"]) == (row["cluster"], row["points"], row["eps"])
        assert p["expected"] == pytest.approx(row["expected"], rel=1e-12)
        assert p["llr"] == pytest.approx(row["llr"], rel=1e-12)
        assert p["p_value"] == row["p_value"] and p["significant"] is True
    labelled = [f["properties"] for f in _layer(s, run, "points")]
    np.testing.assert_array_equal([p["cluster"] for p in labelled], fit.labels_)
    assert [p["feature"] for p in labelled] == list(range(1, 341))  # 341-345 are outside

    cell = _kde_cell(pattern, "scott", 400)
    surface = kernel_density(pattern, bandwidth="scott", cell_size=cell)
    grid = surface.to_geodataframe()
    cells = _layer(s, run, "density")
    assert len(cells) == len(grid) <= 400
    np.testing.assert_allclose(
        [c["properties"]["density_per_km2"] for c in cells], grid["density_per_km2"], rtol=1e-12
    )

    nni = nearest_neighbour_index(pattern.xy, pattern.area)
    assert f"{nni.ratio:.2f}" in run["summary"] or f"{nni.ratio:.3f}" in run["summary"]
    prov = s.client.get(f"/runs/{run['id']}/provenance", headers=s.h).json()
    assert prov["methods"]["dbscan"]["seed"] == 5 and prov["parameters"]["seed"] == 5
    assert prov["methods"]["kde"]["cell_size_m"] == pytest.approx(cell)
    assert "341, 342, 343, 344, 345" in run["summary"], run["summary"]


def test_points_request_errors_name_the_field(service, tmp_path):
    s = service
    points_path, areas_path, _, _ = _inputs(tmp_path / "in")
    pts = s.upload(points_path, "points", "points.geojson")
    base = {"analysis": "points", "points": pts}
    for extra, field in (
        ({"population": "people"}, "'background'"),
        ({"functions": ["cross-K"], "methods": ["ripley"]}, "'other'"),
        ({"eps": [0]}, "eps"),
    ):
        r = s.client.post("/workspaces/city/runs", json={**base, **extra}, headers=s.h)
        assert r.status_code == 422, r.text
        assert field in json.dumps(r.json()), r.text
    # a table is not a point layer
    areas = s.upload(areas_path, "areas", "areas.geojson")
    r = s.client.post("/workspaces/city/runs", json={**base, "points": areas}, headers=s.h)
    assert r.status_code == 400, r.text
    # points outside the study area with "outside": "raise": the fix names the field
    body = {**base, "areas": areas, "outside": "raise", "methods": ["kde"]}
    run = s.wait(s.start(body), lambda r: r["status"] not in ("queued", "running"), timeout=180)
    assert run["status"] == "failed"
    assert '"outside": "drop"' in run["message"], run["message"]


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_points_run_on_postgresql(tmp_path, database):  # noqa: F811 (the fixture)
    """The request's lists, unions and nested options survive PostgreSQL's JSON column."""
    settings = _settings(tmp_path, database, max_jobs=1)
    admin = create_user(settings, "admin", workspace="city")
    points_path, areas_path, points, areas = _inputs(tmp_path / "in")
    with TestClient(create_app(settings)) as client:
        s = Service(client, admin.token)
        body = {
            "analysis": "points", "points": s.upload(points_path, "points", "points.geojson"),
            "areas": s.upload(areas_path, "areas", "areas.geojson"), "methods": ["kde"],
            "bandwidth": 150.0, "kde_cells": 300, "eps": [60.0, 90.0], "seed": 2,
        }  # fmt: skip
        run = _done(s, body)
        assert run["parameters"]["bandwidth"] == 150.0 and run["parameters"]["eps"] == [60, 90]
        cells = _layer(s, run, "density")
    with pytest.warns(UserWarning):
        pattern = point_pattern(points, areas)
    surface = kernel_density(pattern, bandwidth=150.0, cell_size=_kde_cell(pattern, 150.0, 300))
    np.testing.assert_allclose(
        [c["properties"]["density_per_km2"] for c in cells],
        surface.to_geodataframe()["density_per_km2"],
        rtol=1e-12,
    )
