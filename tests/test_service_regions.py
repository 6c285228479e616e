"""Regions runs of the service (``"analysis": "regions"``, issue 21) give the numbers of
:mod:`dongne.regions.workflow` on the same uploaded inputs: max-p regions and neighbourhood
types as categorical layers (with the colours of the run's maps), the region and profile
tables as JSON, and interpolation onto an uploaded target layer. In-process with the real job
manager and worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from shapely import box
from test_service_jobs import Service, _settings

from dongne.io import read_areas
from dongne.regions.interpolate import interpolate
from dongne.regions.workflow import run_regions, run_typology
from dongne.service import create_app, create_user

CRS = "EPSG:5186"
X0, Y0 = 195_000, 545_000


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Service]:
    settings = _settings(tmp_path_factory.mktemp("svc"), None, max_jobs=1)
    admin = create_user(settings, "admin", workspace="city")
    with TestClient(create_app(settings)) as client:
        yield Service(client, admin.token)


def _grid(n: int, size: float) -> list:
    return [
        box(X0 + c * size, Y0 + r * size, X0 + (c + 1) * size, Y0 + (r + 1) * size)
        for r in range(n)
        for c in range(n)
    ]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """6 × 6 squares of 1 km with households and two smooth attributes; a 4 × 4 target grid
    of 1.5 km squares over the same extent."""
    folder = tmp_path_factory.mktemp("in")
    rng = np.random.default_rng(5)
    r, c = np.divmod(np.arange(36), 6)
    source = gpd.GeoDataFrame(
        {
            "code": [f"S{k:02d}" for k in range(36)],
            "households": rng.integers(800, 1500, 36),
            "old_pct": 10 + 2 * r + rng.normal(0, 0.5, 36),
            "rent_pct": 30 - 3 * c + rng.normal(0, 0.5, 36),
        },
        geometry=_grid(6, 1000),
        crs=CRS,
    )
    target = gpd.GeoDataFrame(
        {"tcode": [f"T{k:02d}" for k in range(16)]}, geometry=_grid(4, 1500), crs=CRS
    )
    paths = {"source": folder / "source.geojson", "target": folder / "target.geojson"}
    source.to_file(paths["source"], driver="GeoJSON")
    target.to_file(paths["target"], driver="GeoJSON")
    return paths


def _run(s: Service, body: dict) -> dict:
    run = s.wait(s.start(body), lambda r: r["status"] not in ("queued", "running"), timeout=180)
    assert run["status"] == "done", run["message"]
    return run


def _layer(s: Service, run: dict, key: str) -> pd.DataFrame:
    gj = s.client.get(f"/runs/{run['id']}/result", params={"layer": "areas"}, headers=s.h).json()
    return pd.DataFrame([f["properties"] for f in gj["features"]]).set_index(key)


def _json(s: Service, run: dict, name: str) -> pd.DataFrame:
    r = s.client.get(f"/runs/{run['id']}/files/{name}", headers=s.h)
    assert r.status_code == 200, r.text
    return pd.DataFrame(json.loads(r.text))


def test_spectral_run_gives_the_library_regions(service, inputs, tmp_path):
    s = service
    areas = s.upload(inputs["source"], "areas", "source.geojson")
    attributes = ["old_pct", "rent_pct"]
    body = {
        "analysis": "regions", "method": "spectral", "areas": areas, "id_column": "code",
        "attributes": attributes, "n_regions": 4, "seed": 1,
    }  # fmt: skip
    run = _run(s, body)
    expected = run_regions(read_areas(inputs["source"]), "code", attributes, tmp_path / "sp",
                           method="spectral", n_regions=4, rng=1)  # fmt: skip
    got = _layer(s, run, "code")
    want = expected.frame.set_index("code")
    assert (got.loc[want.index, "region"] == want["region"]).all()
    assert (got.loc[want.index, "region_colour"] == want["region_colour"]).all()
    assert got["region"].nunique() >= 2


def test_maxp_and_typology_runs_give_the_library_regions_and_types(service, inputs, tmp_path):
    s = service
    areas = s.upload(inputs["source"], "areas", "source.geojson")
    attributes = ["old_pct", "rent_pct"]
    body = {
        "analysis": "regions", "method": "maxp", "areas": areas, "id_column": "code",
        "attributes": attributes, "floor_column": "households", "floor": 5000,
        "iterations": 9, "rounds": 2, "seed": 3,
    }  # fmt: skip
    run = _run(s, body)
    source = read_areas(inputs["source"])
    expected = run_regions(
        source, "code", attributes, tmp_path / "maxp", method="maxp",
        floor_column="households", floor=5000, iterations=9, rounds=2, rng=3,
    )  # fmt: skip
    got = _layer(s, run, "code")
    want = expected.frame.set_index("code")
    assert (got.loc[want.index, "region"] == want["region"]).all()
    assert got["region"].nunique() >= 2
    assert got["region_colour"].str.fullmatch(r"#[0-9a-f]{6}").all()
    # one colour per region, as on the run's map
    assert (got.groupby("region")["region_colour"].nunique() == 1).all()
    table = _json(s, run, "regions_table.json")
    want_table = pd.read_csv(tmp_path / "maxp" / "regions_table.csv", encoding="utf-8-sig")
    assert table["floor_total"].min() >= 5000
    np.testing.assert_allclose(table["floor_total"], want_table["floor_total"], rtol=1e-12)
    np.testing.assert_allclose(table["within_ss"], want_table["within_ss"], rtol=1e-12)
    prov = s.client.get(f"/runs/{run['id']}/provenance", headers=s.h).json()
    assert prov["parameters"]["seed"] == 3 and prov["parameters"]["floor"] == 5000

    body = {
        "analysis": "regions", "method": "typology", "areas": areas, "id_column": "code",
        "indicators": attributes, "typology_method": "kmeans", "k": 3, "seed": 2,
    }  # fmt: skip
    run = _run(s, body)
    expected = run_typology(source, "code", attributes, tmp_path / "types", k=3, rng=2)
    got = _layer(s, run, "code")
    want = expected.frame.set_index("code")
    assert (got.loc[want.index, "type"] == want["type"]).all()
    assert (got.loc[want.index, "type_name_ko"] == want["type_name_ko"]).all()
    assert got.groupby("type")["type_colour"].nunique().eq(1).all()
    profiles = _json(s, run, "profiles.json")
    want_profiles = expected.result.profiles_.reset_index()
    for column in attributes:
        np.testing.assert_allclose(profiles[column], want_profiles[column], rtol=1e-12)


def test_interpolate_run_moves_the_columns_onto_the_target(service, inputs):
    s = service
    source_id = s.upload(inputs["source"], "areas", "source.geojson")
    target_id = s.upload(inputs["target"], "areas", "target.geojson")
    body = {
        "analysis": "regions", "method": "interpolate", "areas": source_id, "id_column": "code",
        "target": target_id, "target_id": "tcode", "extensive": ["households"],
        "intensive": ["old_pct"],
    }  # fmt: skip
    run = _run(s, body)
    source, target = read_areas(inputs["source"]), read_areas(inputs["target"])
    want = interpolate(
        source, target, extensive=["households"], intensive=["old_pct"], source_id="code",
        target_id="tcode",
    ).frame.set_index("tcode")  # fmt: skip
    got = _layer(s, run, "tcode")
    assert len(got) == 16
    np.testing.assert_allclose(got.loc[want.index, "households"], want["households"], rtol=1e-12)
    np.testing.assert_allclose(got.loc[want.index, "old_pct"], want["old_pct"], rtol=1e-12)
    # counts are conserved: the target squares cover the source squares exactly
    assert got["households"].sum() == pytest.approx(source["households"].sum(), rel=1e-12)
    # a corner target square (1.5 km) holds one whole source square and parts of three
    corner = source.set_index("code")["households"]
    expected_t00 = corner["S00"] + 0.5 * (corner["S01"] + corner["S06"]) + 0.25 * corner["S07"]
    assert got.loc["T00", "households"] == pytest.approx(expected_t00, rel=1e-12)
    changes = _json(s, run, "changes.json")
    assert len(changes) == 36


def test_each_method_names_the_fields_it_needs(service):
    s = service
    base = {"analysis": "regions", "areas": 1, "id_column": "code", "attributes": ["a"]}
    for extra, field in (
        ({"method": "maxp", "floor_column": "households"}, '"floor"'),
        ({"method": "skater"}, '"n_regions"'),
        ({"method": "typology", "attributes": None}, '"indicators"'),
        ({"method": "interpolate", "target": 2}, '"target_id"'),
    ):
        r = s.client.post("/workspaces/city/runs", json={**base, **extra}, headers=s.h)
        assert r.status_code == 422, r.text
        message = " ".join(e["msg"] for e in r.json()["detail"])
        assert f"give {field}" in message, (extra, message)


def test_a_floor_that_cannot_be_met_is_refused_with_the_request_field(service, inputs):
    s = service
    areas = s.upload(inputs["source"], "areas", "source.geojson")
    body = {
        "analysis": "regions", "method": "maxp", "areas": areas, "id_column": "code",
        "attributes": ["old_pct"], "floor_column": "households", "floor": 10**9,
    }  # fmt: skip
    run = s.wait(s.start(body), lambda r: r["status"] not in ("queued", "running"), timeout=180)
    assert run["status"] == "failed"
    total = int(read_areas(inputs["source"])["households"].sum())
    assert "cannot be met" in run["message"], run["message"]
    assert f'"floor": {total}' in run["message"], run["message"]  # not floor=...


def test_library_fixes_are_spelled_as_the_request_fields():
    from dongne.service.worker import request_fixes

    params = {"analysis": "regions", "method": "interpolate", "id_column": "code", "rate": []}
    message = "No column 'cd'. Fix: pass source_id='code' and rates=['a=b/c']."
    assert request_fixes(message, params) == (
        "No column 'cd'. Fix: pass \"id_column\": \"code\" and \"rate\": ['a=b/c']."
    )
    typology = {"analysis": "regions", "method": "typology", "typology_method": "kmeans"}
    fixed = request_fixes("Fix: pass method='gmm'.", typology)
    assert fixed == 'Fix: pass "typology_method": "gmm".'
    # other analyses keep their own names
    assert request_fixes("Fix: pass source_id='x'.", {"analysis": "detect"}) == (
        "Fix: pass source_id='x'."
    )
