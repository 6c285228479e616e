"""Space-time runs of the service (issue 18): the numbers equal ``dongne.spacetime``'s on the
same inputs, the series for the dashboard's time slider, and request errors that name the
JSON field. In-process with the real job manager and worker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from shapely import box
from test_service_jobs import Service, _settings

from dongne.service import create_app, create_user
from dongne.spacetime import cube_from_long, emerging_hot_spots
from dongne.spacetime.scan import SpaceTimeScan
from dongne.weights import queen

CRS = "EPSG:5186"
X0, Y0 = 195_000, 545_000


@pytest.fixture
def service(tmp_path) -> Iterator[Service]:
    settings = _settings(tmp_path, None, max_jobs=1)
    admin = create_user(settings, "admin", workspace="city")
    with TestClient(create_app(settings)) as client:
        yield Service(client, admin.token)


def _inputs(folder):
    """A 4 x 4 lattice of 1 km squares, 12 days of counts, an outbreak in the north-east
    corner (areas 10, 11, 14, 15) on the last 3 days."""
    folder.mkdir()
    codes = [f"A{i:02d}" for i in range(16)]
    areas = gpd.GeoDataFrame(
        {"code": codes, "name": [f"dong {i}" for i in range(16)],
         "people": np.arange(16) * 10 + 1000},
        geometry=[box(X0 + (i % 4) * 1000, Y0 + (i // 4) * 1000,
                      X0 + (i % 4 + 1) * 1000, Y0 + (i // 4 + 1) * 1000) for i in range(16)],
        crs=CRS,
    )  # fmt: skip
    g = np.random.default_rng(7)
    days = pd.date_range("2024-03-01", periods=12, freq="D")
    rows = []
    for i, code in enumerate(codes):
        for t, day in enumerate(days):
            lam = 3.0 * (4 if i in (10, 11, 14, 15) and t >= 9 else 1)
            rows.append((code, day.strftime("%Y-%m-%d"), int(g.poisson(lam))))
    table = pd.DataFrame(rows, columns=["dong", "date", "cases"])
    areas.to_file(folder / "areas.geojson", driver="GeoJSON")
    table.to_csv(folder / "cases.csv", index=False)
    return folder / "areas.geojson", folder / "cases.csv", areas, table


def _done(s: Service, body: dict) -> dict:
    run = s.wait(s.start(body), lambda r: r["status"] not in ("queued", "running"), timeout=180)
    assert run["status"] == "done", run["message"]
    return run


def test_spacetime_run_equals_the_library_and_writes_the_slider_series(service, tmp_path):
    s = service
    areas_path, table_path, areas, table = _inputs(tmp_path / "in")
    body = {
        "analysis": "spacetime", "areas": s.upload(areas_path, "areas", "areas.geojson"),
        "long_table": s.upload(table_path, "table", "cases.csv"), "id_column": "code",
        "area": "dong", "time": "date", "value": "cases", "freq": "D", "now": "none",
        "max_pop": 0.5, "max_steps": 5, "replications": 99, "seed": 3, "name_column": "name",
    }  # fmt: skip
    run = _done(s, body)
    assert run["layers"] == ["areas", "clusters"]
    assert {"series.json", "series.csv", "provenance.json"} <= set(run["files"])

    # the library on the same inputs
    cube = cube_from_long(table, "dong", "date", "cases", freq="D", now=False)
    located = areas.set_index("code", drop=False)
    scan = SpaceTimeScan(
        analysis="prospective", max_population_share=0.5, max_duration=5, replications=99,
        rng=3,
    ).fit(cube, located)  # fmt: skip
    lib = scan.clusters_
    got = s.client.get(
        f"/runs/{run['id']}/result", params={"layer": "clusters"}, headers=s.h
    ).json()["features"]
    assert len(got) == len(lib) >= 1
    for f, (_, row) in zip(got, lib.iterrows(), strict=True):
        props = f["properties"]
        assert props["members"] == ";".join(row["members"])
        assert (props["start"], props["end"]) == (row["start"], row["end"])
        assert props["cases"] == row["cases"]
        assert props["expected"] == pytest.approx(row["expected"], rel=1e-12)
        assert props["llr"] == pytest.approx(row["llr"], rel=1e-12)
        assert props["p_value"] == row["p_value"]
        assert props["recurrence_steps"] == pytest.approx(row["recurrence_steps"], rel=1e-12)
    # the planted outbreak: the corner, the last 3 days
    assert set(lib.loc[0, "members"]) == {"A10", "A11", "A14", "A15"}
    assert (lib.loc[0, "start"], lib.loc[0, "end"]) == ("2024-03-10", "2024-03-12")

    ehsa = emerging_hot_spots(
        cube_from_long(table, "dong", "date", "cases", freq="D", now=False, kind="values"),
        queen(areas, ids="code"), k=1, permutations=0, rng=3,
    )  # fmt: skip
    feats = s.client.get(f"/runs/{run['id']}/result", headers=s.h).json()["features"]
    by_code = {f["properties"]["code"]: f["properties"] for f in feats}
    cats = ehsa.to_frame()
    for code, row in cats.iterrows():
        assert by_code[code]["emerging_category"] == row["category"]
        assert by_code[code]["trend_tau"] == pytest.approx(row["trend_tau"], rel=1e-12)
        assert by_code[code]["total"] == table.loc[table["dong"] == code, "cases"].sum()
    assert by_code["A15"]["cluster"] == 1 and by_code["A00"]["cluster"] != 1

    series = s.client.get(f"/runs/{run['id']}/files/series.json", headers=s.h).json()
    assert series["steps"][0] == "2024-03-01" and len(series["steps"]) == 12
    assert series["areas"] == list(cube.areas)
    np.testing.assert_array_equal(series["measures"]["value"], cube.values)
    gi = pd.DataFrame(ehsa.gi_star, index=ehsa.areas).reindex(cube.areas).to_numpy()
    np.testing.assert_allclose(series["measures"]["gi_star"], gi, atol=5e-5)
    state = np.where(ehsa.significant, np.sign(ehsa.gi_star), 0)
    np.testing.assert_array_equal(
        series["measures"]["state"], pd.DataFrame(state, index=ehsa.areas).reindex(cube.areas)
    )
    first = series["clusters"][0]
    assert (first["start"], first["end"]) == (9, 11) and first["cluster"] == 1
    # the scan alone also takes a points dataset (a coordinates table, as SaTScan's): the
    # areas' centroids give the same circles, so the same clusters
    centres = areas.assign(geometry=areas.geometry.centroid)
    centres.to_file(tmp_path / "centres.geojson", driver="GeoJSON")
    on_points = _done(
        s,
        {
            **body,
            "methods": ["scan"],
            "areas": s.upload(tmp_path / "centres.geojson", "points", "c.geojson"),
        },
    )
    again = s.client.get(
        f"/runs/{on_points['id']}/result", params={"layer": "clusters"}, headers=s.h
    ).json()["features"]
    assert [f["properties"]["llr"] for f in again] == [f["properties"]["llr"] for f in got]
    prov = s.client.get(f"/runs/{run['id']}/provenance", headers=s.h).json()
    assert prov["methods"]["scan"]["seed"] == 3
    assert prov["parameters"]["seed"] == 3
    assert set(prov["inputs"]) == {"areas", "long_table"}
    assert "Space-time scan" in run["summary"] and "시공간" in run["summary"]


def test_spacetime_events_and_field_errors(service, tmp_path):
    s = service
    areas_path, table_path, _, table = _inputs(tmp_path / "in")
    areas = s.upload(areas_path, "areas", "areas.geojson")
    cases = s.upload(table_path, "table", "cases.csv")
    base = {"analysis": "spacetime", "areas": areas, "id_column": "code", "area": "dong"}
    for extra, field in (
        ({"events": cases}, "'freq'"),
        ({"long_table": cases}, "'value'"),
        ({}, "'events'"),
        ({"events": cases, "freq": "D", "model": "poisson"}, "'population'"),
    ):
        r = s.client.post("/workspaces/city/runs", json={**base, **extra}, headers=s.h)
        assert r.status_code == 422, r.text
        assert field in json.dumps(r.json()), r.text
    # duplicate (area, day) rows: the library's error, its fix as the request's field
    doubled = tmp_path / "doubled.csv"
    pd.concat([table, table.head(1)]).to_csv(doubled, index=False)
    body = {**base, "long_table": s.upload(doubled, "table", "doubled.csv"), "value": "cases",
            "now": "none", "methods": ["emerging"]}  # fmt: skip
    run = s.wait(s.start(body), lambda r: r["status"] not in ("queued", "running"), timeout=180)
    assert run["status"] == "failed"
    assert "doubled.csv" in run["message"] and '"duplicates": "sum"' in run["message"], run
    # events: one row per event (weighted by count), emerging only
    body = {**base, "events": cases, "count": "cases", "freq": "D", "now": "none",
            "methods": ["emerging"]}  # fmt: skip
    run = _done(s, body)
    assert run["layers"] == ["areas"]
    # emerging alone reads a long table as values: rates per 1,000 people, not counts
    rates = table.assign(rate=table["cases"] / 7.0)
    rates_path = tmp_path / "rates.csv"
    rates.to_csv(rates_path, index=False)
    body = {**base, "long_table": s.upload(rates_path, "table", "rates.csv"), "value": "rate",
            "now": "none", "methods": ["emerging"], "k": 0}  # fmt: skip
    run = _done(s, body)
    ehsa = emerging_hot_spots(
        cube_from_long(rates, "dong", "date", "rate", now=False, kind="values"),
        queen(gpd.read_file(areas_path), ids="code"), k=0, permutations=0,
    )  # fmt: skip
    feats = s.client.get(f"/runs/{run['id']}/result", headers=s.h).json()["features"]
    got = {f["properties"]["code"]: f["properties"]["last_z"] for f in feats}
    want = ehsa.to_frame()
    assert got == pytest.approx(want["last_z"].to_dict(), rel=1e-12)
    cats = {f["properties"]["code"]: f["properties"]["emerging_category"] for f in feats}
    assert cats == want["category"].to_dict()
    assert "total" not in feats[0]["properties"]  # a sum of rates means nothing


def test_markov_run_equals_the_library(service, tmp_path):
    """Neighbourhood change: the served tables (JSON and CSV) equal ``dongne.spacetime.markov``
    on the same long table to 1e-12; each area's first and last class and its move are in the
    areas layer; markov's request fields are named in errors."""
    from dongne.spacetime.markov import QUADRANTS
    from dongne.spacetime.workflow import fit_markov

    s = service
    areas_path, table_path, areas, table = _inputs(tmp_path / "in")
    ids = {"areas": s.upload(areas_path, "areas", "areas.geojson"),
           "long_table": s.upload(table_path, "table", "cases.csv")}  # fmt: skip
    body = {"analysis": "spacetime", **ids, "id_column": "code", "area": "dong", "time": "date",
            "value": "cases", "now": "none", "methods": ["markov"], "classes": 3,
            "markov_permutations": 99, "seed": 5}  # fmt: skip
    run = _done(s, body)
    assert run["layers"] == ["areas"]
    files = set(run["files"])
    for stem in ("markov_transitions", "markov_steady_state", "markov_chi2_by_lag_class",
                 "lisa_markov", "markov_tests"):  # fmt: skip
        assert {f"{stem}.json", f"{stem}.csv"} <= files, stem

    cube = cube_from_long(table, "dong", "date", "cases", now=False, kind="values")
    sm, lm, rm = fit_markov(cube, queen(areas, ids="code"), k=3, m=3, permutations=99, rng=5)

    def get(name):
        return s.client.get(f"/runs/{run['id']}/files/{name}", headers=s.h).json()

    trans = pd.DataFrame(get("markov_transitions.json"))
    pooled = trans[trans["lag_class"] == "all"]
    np.testing.assert_array_equal(pooled["count"].to_numpy().reshape(3, 3), sm.transitions)
    np.testing.assert_allclose(pooled["probability"].to_numpy().reshape(3, 3), sm.p, rtol=1e-12)
    lagged = trans[trans["lag_class"] != "all"]
    np.testing.assert_array_equal(lagged["count"].to_numpy().reshape(sm.T.shape), sm.T)
    np.testing.assert_allclose(lagged["probability"].to_numpy().reshape(sm.P.shape), sm.P,
                               rtol=1e-12)  # fmt: skip
    steady = pd.DataFrame(get("markov_steady_state.json"))
    np.testing.assert_allclose(steady["share"], sm.steady_state, rtol=1e-12)
    assert steady["share"].sum() == pytest.approx(1.0, rel=1e-12)
    chi2 = pd.DataFrame(get("markov_chi2_by_lag_class.json"))
    np.testing.assert_allclose(chi2["statistic"], [c[0] for c in sm.chi2], rtol=1e-12)
    np.testing.assert_allclose(chi2["p_value"], [c[1] for c in sm.chi2], rtol=1e-12)
    assert chi2["dof"].tolist() == [c[2] for c in sm.chi2]
    tests = pd.DataFrame(get("markov_tests.json")).set_index("test")
    h = sm.homogeneity
    want = {
        "homogeneity Q": (h.Q, h.Q_p_value), "homogeneity LR": (h.LR, h.LR_p_value),
        "chi2 conditional vs pooled": (sm.x2, sm.x2_pvalue),
        "LISA Markov independence": (lm.chi2[0], lm.chi2[1]),
        "Kendall tau (first vs last)": (rm.tau, rm.tau_p),
        "spatial tau (neighbour pairs)": (rm.tau_spatial, rm.p_sim),
    }  # fmt: skip
    assert set(tests.index) == set(want)
    for test, (stat, pv) in want.items():
        assert tests.loc[test, "statistic"] == pytest.approx(stat, rel=1e-12), test
        assert tests.loc[test, "p_value"] == pytest.approx(pv, rel=1e-12), test
    assert tests.loc["homogeneity LR", "dof"] == h.dof
    lisa = pd.DataFrame(get("lisa_markov.json"))
    np.testing.assert_allclose(lisa["probability"].to_numpy().reshape(4, 4), lm.p, rtol=1e-12)
    np.testing.assert_allclose(lisa["expected"].to_numpy().reshape(4, 4), lm.expected,
                               rtol=1e-12)  # fmt: skip
    csv = s.client.get(f"/runs/{run['id']}/files/markov_tests.csv", headers=s.h).text
    assert "homogeneity LR" in csv

    feats = s.client.get(f"/runs/{run['id']}/result", headers=s.h).json()["features"]
    by_code = {f["properties"]["code"]: f["properties"] for f in feats}
    for i, code in enumerate(sm.ids):
        props = by_code[code]
        first, last = sm.classes[i, 0] + 1, sm.classes[i, -1] + 1
        assert (props["markov_class_first"], props["markov_class_last"]) == (first, last)
        move = "up" if last > first else "down" if last < first else "same"
        assert props["markov_move"] == move
        assert props["markov_quadrant_last"] == QUADRANTS[lm.quadrants[i, -1] - 1]
    assert {p["markov_move"] for p in by_code.values()} >= {"up", "down"}
    series = get("series.json")
    assert series["areas"] == list(sm.ids)
    np.testing.assert_array_equal(series["measures"]["markov_class"], sm.classes + 1)
    prov = s.client.get(f"/runs/{run['id']}/provenance", headers=s.h).json()
    assert prov["methods"]["markov"]["rank_mobility"]["seed"] == 5
    assert "Markov" in run["summary"] and "마르코프" in run["summary"]

    # request fields named in errors
    for extra, field in (({"classes": 1}, "classes"), ({"markov_permutations": -1},
                         "markov_permutations"), ({"last": 1}, "'last'")):  # fmt: skip
        r = s.client.post("/workspaces/city/runs", json={**body, **extra}, headers=s.h)
        assert r.status_code == 422, r.text
        assert field in json.dumps(r.json()), r.text
    centres = areas.assign(geometry=areas.geometry.centroid)
    centres.to_file(tmp_path / "centres.geojson", driver="GeoJSON")
    points = s.upload(tmp_path / "centres.geojson", "points", "c.geojson")
    run = s.wait(s.start({**body, "areas": points}),
                 lambda r: r["status"] not in ("queued", "running"), timeout=180)  # fmt: skip
    assert run["status"] == "failed" and "markov need area polygons" in run["message"], run
    assert '"methods": ["scan"]' in run["message"] or 'methods ["scan"]' in run["message"]
