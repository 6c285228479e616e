"""Honest demand: polygons spread over points, facilities filtered and kept inside the area.

Reference values are analytic (areas of discs and quarter discs inside a square) or counts
of the bundled shelter file that the demo reaches by its own filter (4,133 rows, 43 not in use,
11 outside Seoul, 4,079 used).
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point, box

from dongne.allocate import run_allocate, spread_demand
from dongne.datasets import seoul_dongs, seoul_heat_shelters
from dongne.errors import DataError, DongneWarning, SpecificationError, UnmatchedWarning
from dongne.io import read_points, select_points

CRS = "EPSG:5179"
# A 1 km square away from the origin (UTM-K metres) and a 10 m × 10 m square next to it.
SQUARE = box(950_000, 1_950_000, 951_000, 1_951_000)
TINY = box(951_000, 1_950_000, 951_010, 1_950_010)


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["A", "B"], "gu": ["g1", "g1"], "people": [1000.0, 7.0]},
        geometry=[SQUARE, TINY],
        crs=CRS,
    )


def _point(x: float, y: float, **columns: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({k: [v] for k, v in columns.items()}, geometry=[Point(x, y)], crs=CRS)


def test_grid_splits_each_area_by_surface_and_keeps_tiny_areas():
    pts = spread_demand(_areas(), weight="people", spacing="100m", area_id="code")
    per_area = pts.groupby("code")["people"].sum()
    assert per_area["A"] == pytest.approx(1000.0, abs=1e-9)
    assert per_area["B"] == pytest.approx(7.0, abs=1e-12)
    counts = pts.groupby("code").size()
    assert counts["A"] == 100 and counts["B"] == 1  # 10 × 10 cells; the tiny square: one
    assert np.allclose(pts.loc[pts["code"] == "A", "people"], 10.0)
    assert pts["demand_point_id"].is_unique and pts.crs.to_epsg() == 5179
    assert pts.attrs["dongne"]["method"] == "grid"


def test_grid_coverage_is_the_share_of_the_area_within_the_radius(tmp_path):
    """Analytic reference: a disc of 300 m in a 1 km square covers π·0.09 = 28.27 %."""
    areas = _areas().iloc[[0]]
    centre = _point(950_500, 1_950_500, fid="E1")
    corner = _point(950_001, 1_950_001, sid="C1")  # adds a quarter disc: π·0.09 / 4
    result = run_allocate(
        areas, tmp_path, model="mclp", candidates=corner, candidate_id="sid", existing=centre,
        existing_id="fid", p=1, radius="300m", weight="people", demand_id="code",
        demand_spacing="10m",
    )  # fmt: skip
    disc = math.pi * 300**2 / 1e6
    # Cells count wholly in or out by their centre: error below the 10 m ring, < 0.7 points.
    assert result.model.coverage_before_ == pytest.approx(disc, abs=0.007)
    assert result.model.coverage_ == pytest.approx(1.25 * disc, abs=0.007)
    assert result.areas["coverage_after"].iloc[0] == pytest.approx(125 * disc, abs=0.7)
    assert "10 m grid" in result.summary and "share of each area's demand" in result.summary
    assert "m 격자" in result.summary
    assert set(result.demand["area"]) == {"A"}


def test_centroid_is_all_or_nothing_and_warns(tmp_path):
    areas = _areas().iloc[[0]]
    centre = _point(950_500, 1_950_500, fid="E1")
    corner = _point(950_001, 1_950_001, sid="C1")
    with pytest.warns(DongneWarning, match="reduced to one point"):
        result = run_allocate(
            areas, tmp_path, model="mclp", candidates=corner, candidate_id="sid",
            existing=centre, existing_id="fid", p=1, radius="300m", weight="people",
            demand_id="code", demand_method="centroid",
        )  # fmt: skip
    assert result.model.coverage_before_ == 1.0  # the 28 % disc counts as the whole square
    assert "one point each (centroid)" in result.summary
    assert (tmp_path / "map_after.png").is_file()


def test_demand_points_carry_the_area_weight_with_a_grid_fallback():
    areas = _areas()
    people = gpd.GeoDataFrame(
        {"pop": [3.0, 1.0, 0.0, 5.0]},
        geometry=[
            Point(950_100, 1_950_100),
            Point(950_900, 1_950_900),
            Point(950_500, 1_950_500),  # zero weight: no demand there
            Point(900_000, 1_900_000),  # outside every area
        ],
        crs=CRS,
    )
    pts = spread_demand(
        areas, weight="people", method="points", points=people, points_weight="pop",
        spacing="5m", area_id="code",
    )  # fmt: skip
    a = pts[pts["code"] == "A"].sort_values("people")
    assert a["people"].tolist() == pytest.approx([250.0, 750.0])  # 1000 split 1 : 3
    assert pts.loc[pts["code"] == "B", "people"].sum() == pytest.approx(7.0)
    assert (pts["code"] == "B").sum() == 4  # no point inside: a 5 m grid (2 × 2 cells)
    meta = pts.attrs["dongne"]
    assert meta["grid_fallback"] == ["B"] and meta["points_outside"] == 1
    with pytest.raises(SpecificationError, match="points="):
        spread_demand(areas, method="points")
    with pytest.raises(SpecificationError, match="grid, points, centroid"):
        spread_demand(areas, method="blocks")


# ----------------------------------------------------------------- existing facilities


@pytest.fixture(scope="module")
def korean_shelter_file(tmp_path_factory):
    """The bundled shelters with the published file's Korean use column (사용여부)."""
    table = pd.DataFrame(seoul_heat_shelters().drop(columns="geometry"))
    table = table.rename(columns={"in_use": "사용여부", "lon": "경도", "lat": "위도"})
    path = tmp_path_factory.mktemp("shelters") / "shelters.csv"
    table.drop(columns=["x_epsg5186", "y_epsg5186"]).to_csv(path, index=False)
    return path


def test_existing_filter_and_points_outside(korean_shelter_file):
    shelters = read_points(korean_shelter_file)
    assert len(shelters) == 4133
    with pytest.warns(
        UnmatchedWarning, match=r"11 existing facilities lie outside.*file lines 863"
    ):
        kept = select_points(
            shelters, query="사용여부 == 'Y'", areas=seoul_dongs(), what="existing facilities"
        )
    sel = kept.attrs["dongne"]["selection"]
    assert (sel["read"], sel["filtered_out"], sel["outside"], sel["kept"]) == (4133, 43, 11, 4079)
    # 1-based file lines: data row i is on line i + 2 (the header is line 1).
    outside_rows = np.flatnonzero(shelters["coord_check"].eq("outside_seoul").to_numpy())
    assert sel["outside_rows"] == (outside_rows + 2).tolist()
    assert "43 left out by the rule" in sel["text"] and "4,079 used" in sel["text"]
    # A frame filtered beforehand keeps its index, so the lines are still the file's.
    in_use = shelters[shelters["사용여부"] == "Y"]
    with pytest.warns(UnmatchedWarning):
        again = select_points(in_use, areas=seoul_dongs())
    outside_in_use = shelters["coord_check"].eq("outside_seoul") & shelters["사용여부"].eq("Y")
    expected = (np.flatnonzero(outside_in_use.to_numpy()) + 2).tolist()
    assert again.attrs["dongne"]["selection"]["outside_rows"] == expected
    shuffled = in_use.reset_index(drop=True).set_axis([f"r{i}" for i in range(len(in_use))])
    with pytest.warns(UnmatchedWarning, match="rows \\(1-based, in the order given\\)"):
        select_points(shuffled, areas=seoul_dongs())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        both = select_points(shelters, areas=seoul_dongs(), outside="keep")
    assert len(both) == 4133
    with pytest.raises(DataError, match=r"11 points lie outside.*Fix: pass --outside drop"):
        select_points(
            shelters, areas=seoul_dongs(), outside="raise", argument_names={"outside": "--outside"}
        )


def test_existing_filter_errors_name_the_column_and_the_flag(korean_shelter_file):
    shelters = read_points(korean_shelter_file)
    with pytest.raises(DataError, match=r"names 'in_use'.*사용여부.*Fix: pass --existing-filter"):
        select_points(
            shelters, query="in_use == 'Y'", argument_names={"query": "--existing-filter"}
        )
    with pytest.raises(SpecificationError, match="not a valid expression"):
        select_points(shelters, query="사용여부 ==")
    with pytest.raises(DataError, match="True/False"):
        select_points(shelters, query="year + 1")


def test_run_allocate_reports_the_selection(korean_shelter_file, tmp_path):
    dongs = seoul_dongs()
    jongno = dongs[dongs["gu_name"] == "종로구"]
    shelters = read_points(korean_shelter_file)
    with pytest.warns(UnmatchedWarning, match="outside the study area"):
        result = run_allocate(
            jongno, tmp_path, model="mclp", candidates="centroids", existing=shelters,
            existing_id="facility_id", existing_filter="사용여부 == 'Y'", p=2, radius="300m",
            weight="households", demand_id="dong_code", demand_spacing="200m",
        )  # fmt: skip
    in_jongno = shelters.to_crs(jongno.crs).within(jongno.union_all()) & shelters["사용여부"].eq(
        "Y"
    )
    assert int(result.problem.existing.sum()) == int(in_jongno.sum())
    assert "left out by the rule \"사용여부 == 'Y'\"" in result.summary
    assert "규칙" in result.summary
    with pytest.raises(SpecificationError, match="none are given"):
        run_allocate(jongno, tmp_path, p=1, radius=300, existing_filter="사용여부 == 'Y'")


# ----------------------------------------------------------------- the command line


def _cli_inputs(tmp_path, korean_shelter_file):
    """종로구's dongs as the demand file and the shelters, in centimetres, as a CSV."""
    dongs = seoul_dongs()
    demand = tmp_path / "jongno.geojson"
    dongs[dongs["gu_name"] == "종로구"].to_file(demand)
    table = pd.read_csv(korean_shelter_file, dtype={"facility_id": str})
    xy = gpd.GeoSeries(gpd.points_from_xy(table["경도"], table["위도"]), crs=4326).to_crs(5186)
    table = table.drop(columns=["경도", "위도"]).assign(X좌표=xy.x * 100, Y좌표=xy.y * 100)
    cm = tmp_path / "shelters_cm.csv"
    table.to_csv(cm, index=False)
    return demand, cm


def test_cli_flags_answer_every_hint(tmp_path, korean_shelter_file, capsys):
    from dongne.cli import main

    demand, cm = _cli_inputs(tmp_path, korean_shelter_file)
    base = ["allocate", "--demand", str(demand), "--id", "dong_code", "--weight", "households",
            "--candidates", "centroids", "--p", "2", "--radius", "300m", "--quiet",
            "--demand-spacing", "200m"]  # fmt: skip
    rc = main([*base, "--existing", str(cm), "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert rc == 2 and "Fix: pass --existing-crs EPSG:5186" in err
    rc = main([*base, "--existing", str(cm), "--existing-crs", "EPSG:5186",
               "--out", str(tmp_path / "b")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "centimetres" in err and "Fix: pass --existing-xy-scale 0.01." in err
    assert not (tmp_path / "b" / "summary.txt").exists()
    rc = main([*base, "--existing", str(cm), "--existing-crs", "EPSG:5186",
               "--existing-xy-scale", "0.01", "--existing-filter", "in_use == 'Y'",
               "--out", str(tmp_path / "c")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "Fix: pass --existing-filter" in err and "사용여부" in err
    rc = main([*base, "--existing", str(cm), "--existing-crs", "EPSG:5186",
               "--existing-xy-scale", "0.01", "--existing-filter", "사용여부 == 'Y'",
               "--existing-id", "facility_id", "--out", str(tmp_path / "d")])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert "left out by the rule \"사용여부 == 'Y'\"" in out and "200 m grid" in out
    summary = (tmp_path / "d" / "summary.txt").read_text(encoding="utf-8")
    assert "outside the study area left out (file lines" in summary
    rc = main([*base, "--existing", str(cm), "--existing-crs", "EPSG:5186",
               "--existing-xy-scale", "0.01", "--outside", "raise",
               "--out", str(tmp_path / "e")])  # fmt: skip
    assert rc == 2 and "Fix: pass --outside drop" in capsys.readouterr().err
