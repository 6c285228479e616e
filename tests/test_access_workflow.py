"""run_access and the ``dongne access`` / ``dongne allocate --network`` commands end to end."""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from dongne.access import accessibility, build_network, network_costs, run_access
from dongne.cli import main
from dongne.datasets import seoul_dongs, seoul_heat_shelters
from dongne.errors import DongneWarning


@pytest.fixture(scope="module")
def jongno() -> gpd.GeoDataFrame:
    dongs = seoul_dongs()
    return dongs[dongs["gu_name"] == "종로구"].reset_index(drop=True)


@pytest.fixture(scope="module")
def shelters(jongno) -> gpd.GeoDataFrame:
    s = seoul_heat_shelters()
    s = s[s["in_use"] == "Y"]
    inside = gpd.sjoin(s, jongno[["geometry"]], predicate="within").index.unique()
    return s.loc[inside]


@pytest.fixture(scope="module")
def network_file(jongno, tmp_path_factory):
    """The test network: Jongno-gu's dong boundaries as a GeoPackage of lines."""
    path = tmp_path_factory.mktemp("net") / "jongno_lines.gpkg"
    lines = gpd.GeoDataFrame(geometry=jongno.to_crs(5179).geometry.boundary.to_numpy(), crs=5179)
    lines.to_file(path)
    jongno.to_file(path.parent / "jongno.gpkg")
    s = seoul_heat_shelters()
    s[s["in_use"] == "Y"].to_file(path.parent / "shelters.gpkg")
    return path


def test_network_run_aggregates_points_by_demand(jongno, shelters, network_file, tmp_path):
    from dongne.access import read_network

    net = read_network(network_file, cache_dir=tmp_path / "cache")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DongneWarning)
        res = run_access(
            jongno, shelters, tmp_path / "out", measure="e2sfca", threshold="15min",
            network=net, weight="households", capacity="capacity_persons",
            demand_id="dong_code", demand_spacing="250m", equity_by="gu_name", max_snap=2000,
        )  # fmt: skip
    pts = res.points
    # the points' values are the measure on the network costs, recomputed here
    again = network_costs(net, pts, shelters.to_crs(pts.crs), cutoff=15, max_snap=2000)
    expected = accessibility(again, pts["demand"], shelters["capacity_persons"].astype(float),
                             measure="e2sfca", threshold=15)  # fmt: skip
    np.testing.assert_allclose(pts["access"], expected, rtol=1e-12)
    # each area's value is the demand-weighted mean of its points
    for _, area in res.areas.iterrows():
        mine = pts[pts["area"] == area["area"]]
        w = mine["demand"].to_numpy()
        assert area["access"] == pytest.approx((w @ mine["access"].to_numpy()) / w.sum())
    # households are conserved when spread over the points
    assert pts["demand"].sum() == pytest.approx(jongno["households"].sum())
    assert "network (walk" in res.summary and "접근성" in res.summary
    for name in ("areas_gpkg", "areas_csv", "map", "summary", "points_gpkg", "groups_csv"):
        assert res.files[name].exists()
    prov = json.loads(res.files["areas_csv"].with_suffix(".csv.provenance.json").read_text())
    assert prov["parameters"]["measure"] == "e2sfca"


def test_zero_capacity_is_named(jongno, shelters, tmp_path):
    zero = shelters.assign(capacity_persons=0).iloc[:2]
    rest = shelters.iloc[2:]
    with pytest.warns(DongneWarning, match="zero capacity"):
        run_access(jongno, pd.concat([zero, rest]), tmp_path, measure="2sfca",
                   threshold="800m", weight="households", capacity="capacity_persons",
                   demand_spacing="300m")  # fmt: skip


def test_points_demand_and_nearest(jongno, shelters, tmp_path):
    pts = gpd.GeoDataFrame(
        {"pop": [100, 200]}, geometry=jongno.to_crs(5179).representative_point().head(2).to_numpy(),
        crs=5179,
    )  # fmt: skip
    res = run_access(pts, shelters, tmp_path, measure="nearest", threshold="2km",
                     weight="pop", outside="keep")  # fmt: skip
    xy = pts.geometry.get_coordinates().to_numpy()
    s = shelters.to_crs(5179).geometry.get_coordinates().to_numpy()
    nearest = np.hypot(xy[:, None, 0] - s[None, :, 0], xy[:, None, 1] - s[None, :, 1]).min(1)
    np.testing.assert_allclose(res.points["access"], nearest, rtol=1e-12)
    assert res.files["points_csv"].exists()


def test_command_runs_on_the_bundled_seoul_data(tmp_path, capsys):
    out = tmp_path / "access"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["access", "--demand-spacing", "250m", "--measure", "e2sfca",
                     "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "E2SFCA" in text and "수요" in text
    assert (out / "access_map.png").stat().st_size > 50_000
    areas = pd.read_csv(out / "access_areas.csv")
    assert len(areas) == 423 and areas["access"].notna().sum() > 400
    groups = pd.read_csv(out / "access_groups.csv")
    assert len(groups) == 25


def test_command_with_the_network_file(network_file, tmp_path, capsys):
    out = tmp_path / "a"
    folder = network_file.parent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["access", str(folder / "jongno.gpkg"), str(folder / "shelters.gpkg"),
                     "--network", str(network_file), "--weight", "households",
                     "--capacity", "capacity_persons", "--threshold", "10min",
                     "--max-snap", "2000", "--cache-dir", str(tmp_path / "c"),
                     "--demand-spacing", "200m", "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    assert "Network:" in capsys.readouterr().out
    assert (out / "access_map.png").exists()


def test_allocate_with_the_network_file(network_file, tmp_path, capsys):
    out = tmp_path / "plan"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["allocate", "--demand", str(network_file.parent / "jongno.gpkg"),
                     "--weight", "households", "--p", "2", "--radius", "10min", "--network",
                     str(network_file), "--demand-spacing", "300m", "--grid-spacing", "600m",
                     "--max-snap", "3000", "--cache-dir", str(tmp_path / "c"), "--out", str(out),
                     "--quiet"])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    sites = pd.read_csv(out / "new_sites.csv")
    assert len(sites) == 2
    demand = gpd.read_file(out / "demand.gpkg")
    # coverage after is judged on the network: every covered point is within 10 minutes
    net = build_network(gpd.read_file(network_file), profile="walk")
    chosen = gpd.read_file(out / "new_sites.gpkg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        costs = network_costs(net, demand, chosen, max_snap=3000).to_dense().min(axis=1)
    # the distances reported are travel minutes along the network, and coverage follows them
    np.testing.assert_allclose(demand["distance"], costs, rtol=1e-9)
    np.testing.assert_array_equal(demand["covered"].to_numpy() > 0, costs <= 10 + 1e-9)


def test_added_sites_report_who_gains(jongno, shelters, tmp_path):
    common = dict(measure="2sfca", threshold="800m", weight="households",
                  capacity="capacity_persons", demand_spacing="300m", equity_by="gu_name",
                  name_column="dong_name")  # fmt: skip
    base = run_access(jongno, shelters, tmp_path / "a", **common)
    new = jongno.to_crs(5179).representative_point().head(3)
    added = gpd.GeoDataFrame(geometry=new.to_numpy(), crs=5179)
    res = run_access(jongno, shelters, tmp_path / "b", added=added, added_capacity=150, **common)
    np.testing.assert_allclose(res.points["access_before"], base.points["access"], rtol=1e-12)
    after = run_access(
        jongno, pd.concat([shelters.to_crs(5179), added.assign(capacity_persons=150)]),
        tmp_path / "c", outside="keep", **common,
    )  # fmt: skip
    np.testing.assert_allclose(res.points["access"], after.points["access"], rtol=1e-12)
    np.testing.assert_allclose(res.points["gain"], res.points["access"] - base.points["access"])
    assert res.areas["gain"].max() > 0 and "gains access" in res.summary
    assert res.files["gain_map"].exists()
    with pytest.raises(Exception, match="added_capacity"):
        run_access(jongno, shelters, tmp_path / "d", added=added, **common)


def test_population_grid_from_geotiff_places_the_demand(jongno, shelters, tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    from dongne.io import read_raster_points

    x0, y0, x1, y1 = jongno.to_crs(5179).total_bounds
    cell = 200.0
    nx, ny = int((x1 - x0) // cell) + 1, int((y1 - y0) // cell) + 1
    grid = np.zeros((ny, nx))
    grid[: ny // 2, : nx // 2] = 10.0  # people only in the north-west quarter
    grid[0, 0] = -9999.0
    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", height=ny, width=nx, count=1, dtype="float64",
                       crs="EPSG:5179", transform=from_origin(x0, y1, cell, cell),
                       nodata=-9999.0) as dst:  # fmt: skip
        dst.write(grid, 1)
    pts = read_raster_points(path)
    assert len(pts) == (ny // 2) * (nx // 2) - 1 and pts["population"].eq(10).all()
    assert pts.attrs["dongne"]["cells_nodata"] == 1
    res = run_access(jongno, shelters, tmp_path / "out", measure="2sfca", threshold="800m",
                     weight="households", demand_method="points", demand_points=pts,
                     demand_points_weight="population", demand_spacing="300m")  # fmt: skip
    assert res.points["demand"].sum() == pytest.approx(jongno["households"].sum())
    assert "given points" in res.summary


def test_detect_takes_access_as_an_indicator(jongno, shelters, tmp_path):
    """The per-area access feeds `dongne detect --method index --indicator access:-`."""
    run_access(jongno, shelters, tmp_path / "acc", measure="2sfca", threshold="800m",
               weight="households", capacity="capacity_persons", demand_id="dong_code",
               demand_spacing="300m")  # fmt: skip
    out = tmp_path / "index"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["detect", str(tmp_path / "acc" / "access_areas.gpkg"), "--id", "area",
                     "--var", "access", "--method", "index", "--indicator", "access:-",
                     "--indicator", "basement_household_pct:+", "--out", str(out),
                     "--quiet"])  # fmt: skip
    assert code == 0
    table = pd.read_csv(out / "detect.csv", dtype={"area": str})
    assert len(table) == len(jongno) and (out / "index_map.png").exists()
