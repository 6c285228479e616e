"""Explain runs of the service (``"analysis": "explain"``, issue 20) give the numbers of
:func:`dongne.explain.workflow.run_explain` on the same uploaded inputs: local coefficients
with their corrected significance as a layer, and the coefficient, comparison and impact
tables as JSON. In-process with the real job manager and worker."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from shapely import box
from test_service_jobs import Service, _settings

from dongne.explain.workflow import run_explain
from dongne.io import join_by_code, read_areas, read_table
from dongne.service import create_app, create_user

CRS = "EPSG:5186"
X0, Y0 = 195_000, 545_000
SIDE = 10  # 100 squares of 1 km


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Service]:
    settings = _settings(tmp_path_factory.mktemp("svc"), None, max_jobs=1)
    admin = create_user(settings, "admin", workspace="city")
    with TestClient(create_app(settings)) as client:
        yield Service(client, admin.token)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return write_inputs(tmp_path_factory.mktemp("in"))


def write_inputs(folder: Path) -> dict[str, Path]:
    """A 10 × 10 grid where the effect of x1 goes from -1 (west) to 1 (east); x2 in a table."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    i, j = np.divmod(np.arange(SIDE * SIDE), SIDE)
    x1, x2 = rng.normal(size=SIDE * SIDE), rng.normal(size=SIDE * SIDE)
    y = 1.0 + (-1.0 + 2.0 * j / (SIDE - 1)) * x1 - 0.8 * x2 + 0.3 * rng.normal(size=SIDE * SIDE)
    codes = [f"A{k:03d}" for k in range(SIDE * SIDE)]
    areas = gpd.GeoDataFrame(
        {"code": codes, "y": y, "x1": x1},
        geometry=[
            box(X0 + c * 1000, Y0 + r * 1000, X0 + (c + 1) * 1000, Y0 + (r + 1) * 1000)
            for r, c in zip(i, j, strict=True)
        ],
        crs=CRS,
    )
    areas.loc[7, "y"] = np.nan  # one area without a value
    table = pd.DataFrame({"code": codes, "x2": x2})
    paths = {"areas": folder / "areas.geojson", "table": folder / "table.csv"}
    areas.to_file(paths["areas"], driver="GeoJSON")
    table.to_csv(paths["table"], index=False)
    return paths


def library_fit(paths: dict[str, Path], model: str, out: Path, **kw):
    """The library on the same files, joined as the service joins them."""
    areas, table = read_areas(paths["areas"]), read_table(paths["table"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        joined, _ = join_by_code(areas, table, key="code")
    return run_explain(joined, "code", "y", ["x1", "x2"], model, out, **kw)


def _run(s: Service, body: dict) -> dict:
    return s.wait(s.start(body), lambda r: r["status"] not in ("queued", "running"), timeout=180)


def _file(s: Service, run: dict, name: str):
    r = s.client.get(f"/runs/{run['id']}/files/{name}", headers=s.h)
    assert r.status_code == 200, r.text
    return r


def test_gwr_run_gives_the_library_local_coefficients_and_greys_the_rest(service, inputs, tmp_path):
    s = service
    areas = s.upload(inputs["areas"], "areas", "areas.geojson")
    table = s.upload(inputs["table"], "table", "table.csv")
    body = {
        "analysis": "explain", "areas": areas, "table": table, "id_column": "code",
        "model": "gwr", "y": "y", "x": ["x1", "x2"], "seed": 4,
    }  # fmt: skip
    failed = _run(s, body)
    # the area without y is named, and the fix is the request's own field
    assert failed["status"] == "failed"
    assert "A007" in failed["message"], failed["message"]
    assert 'Fix: pass "missing": "drop"' in failed["message"], failed["message"]

    run = _run(s, {**body, "missing": "drop"})
    assert run["status"] == "done", run["message"]
    expected = library_fit(inputs, "gwr", tmp_path, missing="drop", rng=4)
    gj = s.client.get(f"/runs/{run['id']}/result", params={"layer": "areas"}, headers=s.h).json()
    got = pd.DataFrame([f["properties"] for f in gj["features"]]).set_index("code")
    want = expected.frame.set_index("code")
    assert len(got) == len(want) == SIDE * SIDE - 1
    for name in ("const", "x1", "x2"):
        np.testing.assert_allclose(
            got.loc[want.index, f"local_{name}"], want[f"local_{name}"], rtol=1e-9, atol=1e-12
        )
        assert (
            got.loc[want.index, f"local_{name}_significant"].astype(bool)
            == want[f"local_{name}_significant"].astype(bool)
        ).all()
    np.testing.assert_allclose(got.loc[want.index, "residual"], want["residual"], atol=1e-12)
    # the varying effect of x1 is found: significant in the west and east, not in the middle
    sig = got["local_x1_significant"].astype(bool)
    assert 0 < sig.sum() < len(got)
    comparison = json.loads(_file(s, run, "model_comparison.json").text)
    table_want = expected.comparison
    assert [r["model"] for r in comparison] == table_want["model"].tolist()
    assert comparison[-1]["aicc"] == pytest.approx(expected.result.aicc_, rel=1e-12)
    # every row's log-likelihood (null where the model has none: GM error, GWR)
    served = [np.nan if r["log_likelihood"] is None else r["log_likelihood"] for r in comparison]
    np.testing.assert_allclose(served, table_want["log_likelihood"], rtol=1e-12)
    assert {"local_coefficients.csv", "coefficient_x1.png", "residual_map.png"} <= set(run["files"])
    prov = s.client.get(f"/runs/{run['id']}/provenance", headers=s.h).json()
    assert prov["parameters"]["model"] == "gwr" and prov["parameters"]["seed"] == 4


def test_lag_run_gives_the_library_coefficients_and_impacts(service, inputs, tmp_path):
    s = service
    areas = s.upload(inputs["areas"], "areas", "areas.geojson")
    table = s.upload(inputs["table"], "table", "table.csv")
    body = {
        "analysis": "explain", "areas": areas, "table": table, "id_column": "code",
        "model": "lag", "y": "y", "x": ["x1", "x2"], "missing": "drop", "seed": 11,
        "impact_replications": 200, "weights": "rook",
    }  # fmt: skip
    run = _run(s, body)
    assert run["status"] == "done", run["message"]
    expected = library_fit(
        inputs, "lag", tmp_path, missing="drop", rng=11, replications=200, weights="rook"
    )
    coefficients = pd.DataFrame(json.loads(_file(s, run, "coefficients.json").text))
    want = expected.result.to_frame().reset_index()
    assert coefficients.iloc[:, 0].tolist() == want.iloc[:, 0].tolist()
    for column in want.columns[1:]:
        np.testing.assert_allclose(coefficients[column], want[column], rtol=1e-10)
    impacts = pd.DataFrame(json.loads(_file(s, run, "impacts.json").text))
    want_impacts = expected.result.impacts_.reset_index()
    for column in ("direct", "indirect", "total", "total_se"):  # same seed, same draws
        np.testing.assert_allclose(impacts[column], want_impacts[column], rtol=1e-10)
    csv = pd.read_csv(io.StringIO(_file(s, run, "impacts.csv").text.lstrip("\ufeff")))
    np.testing.assert_allclose(csv["total"], want_impacts["total"], rtol=1e-12)


def test_gm_error_run_gives_the_library_coefficients(service, inputs, tmp_path):
    s = service
    areas = s.upload(inputs["areas"], "areas", "areas.geojson")
    table = s.upload(inputs["table"], "table", "table.csv")
    body = {
        "analysis": "explain", "areas": areas, "table": table, "id_column": "code",
        "model": "gm_error", "gm_variant": "het", "y": "y", "x": ["x1", "x2"],
        "missing": "drop", "weights": "rook",
    }  # fmt: skip
    run = _run(s, body)
    assert run["status"] == "done", run["message"]
    expected = library_fit(inputs, "gm_error", tmp_path, missing="drop", weights="rook",
                           gm_variant="het")  # fmt: skip
    coefficients = pd.DataFrame(json.loads(_file(s, run, "coefficients.json").text))
    want = expected.result.to_frame().reset_index()
    assert coefficients.iloc[:, 0].tolist() == want.iloc[:, 0].tolist()
    for column in want.columns[1:]:
        np.testing.assert_allclose(coefficients[column], want[column], rtol=1e-10)
    prov = s.client.get(f"/runs/{run['id']}/provenance", headers=s.h).json()
    assert prov["parameters"]["gm_variant"] == "het"


def test_request_is_checked_before_it_runs(service):
    s = service
    body = {"analysis": "explain", "areas": 1, "id_column": "code", "y": "y", "x": ["y", "x1"]}
    r = s.client.post("/workspaces/city/runs", json=body, headers=s.h)
    assert r.status_code == 422 and "x must not contain y" in r.text, r.text
    r = s.client.post(
        "/workspaces/city/runs", json={**body, "x": ["x1"], "model": "probit"}, headers=s.h
    )
    assert r.status_code == 422 and "model" in r.text, r.text
