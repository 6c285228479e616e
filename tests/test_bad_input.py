"""One test per bad input named in the foundation issue; each error names file, column/rows, fix."""

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point, Polygon, box

from dongne.errors import (
    CodeMatchError,
    DataError,
    EncodingError,
    GeometryError,
    GeometryRepairWarning,
    UnmatchedWarning,
)
from dongne.io import (
    check_counts,
    join_by_code,
    points_to_areas,
    read_areas,
    read_table,
)


def test_missing_file_names_path_and_neighbours(tmp_path):
    (tmp_path / "census_2010.csv").write_text("a\n1\n")
    with pytest.raises(
        DataError,
        match=r"File not found: .*census_2011\.csv\. Files with the same "
        r"extension in .*: census_2010\.csv\. Fix: check the path",
    ):
        read_table(tmp_path / "census_2011.csv")


def test_unsupported_format_lists_supported(tmp_path):
    p = tmp_path / "table.hwp"
    p.write_bytes(b"x")
    with pytest.raises(
        DataError,
        match=r"table\.hwp: unsupported format '\.hwp' for tables\. "
        r"Supported: .*\.csv.*\.xlsx.*Fix: convert",
    ):
        read_table(p)
    with pytest.raises(DataError, match=r"unsupported format '\.kml' for areas"):
        p2 = tmp_path / "a.kml"
        p2.write_text("<kml/>")
        read_areas(p2)


def test_cp949_file_with_no_hint_reads_correctly(seoul_shared):
    df = read_table(seoul_shared / "raw" / "seoul_basic.csv")
    assert df.attrs["dongne"]["encoding"] == "cp949"
    assert df["geo"].iloc[-1] == "강동구" and "한부모가구비율" in df.columns


def test_cp949_file_with_wrong_hint_explains(seoul_shared):
    p = seoul_shared / "raw" / "seoul_basic.csv"
    with pytest.raises(
        EncodingError,
        match=r"seoul_basic\.csv cannot be read as 'utf-8': byte "
        r"0x.. at offset \d+ \(line 1\).*decodes as cp949",
    ):
        read_table(p, encoding="utf-8")


def test_wrong_key_column(seoul_dongs_plain, census_path):
    with pytest.raises(
        CodeMatchError,
        match=r"seoul_dong_2013\.geojson has no column 'code' to use "
        r"as the areas key.*did you mean 'dong_code'",
    ):
        join_by_code(seoul_dongs_plain, census_path, key="code", table_key="dong_code")


def test_duplicated_codes(census_path, seoul_dongs_plain):
    table = read_table(census_path)
    table = pd.concat([table, table.iloc[[5]]], ignore_index=True)
    with pytest.raises(
        CodeMatchError,
        match=r"census2010\.csv, column 'dong_code': several rows "
        r"land on the same area code: 1101058 <- data rows 6, 425 \(1-based\) "
        r"\(duplicated code\)"
        r".*Fix: aggregate the table first",
    ):
        join_by_code(seoul_dongs_plain, table, key="dong_code")


def test_int_vs_text_codes(census_path, seoul_dongs_plain):
    table = read_table(census_path)
    table["dong_code"] = pd.to_numeric(table["dong_code"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)
        _, report = join_by_code(seoul_dongs_plain, table, key="dong_code")
    assert report.matched_rows == 416  # int 1101053 matches text '1101053'


def test_nan_and_negative_counts(tmp_path):
    p = tmp_path / "counts.csv"
    p.write_text("dong_code,households\n1101053,10\n1101054,\n1101055,-3\n")
    df = read_table(p)
    with pytest.raises(
        DataError,
        match=r"counts\.csv, column 'households': missing values on "
        r"line 3\. Fix: fill them",  # 1-based file line (the header is line 1)
    ):
        check_counts(df, ["households"])
    with pytest.raises(
        DataError,
        match=r"counts\.csv, column 'households': counts cannot be "
        r"negative on line 4 \(values -3\)",
    ):
        check_counts(df, ["households"], allow_missing=True)


def test_invalid_geometry_repaired_and_empty_rejected(tmp_path):
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    p = tmp_path / "bad.gpkg"
    gpd.GeoDataFrame({"c": [1, 2]}, geometry=[box(20, 0, 30, 10), bowtie], crs=5179).to_file(p)
    with pytest.warns(GeometryRepairWarning, match=r"bad\.gpkg: repaired 1 invalid geometries"):
        assert read_areas(p).is_valid.all()
    q = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"c": [1, 2]}, geometry=[box(0, 0, 1, 1), Polygon()], crs=5179).to_file(q)
    with pytest.raises(
        GeometryError,
        match=r"empty\.gpkg: 1 feature\(s\) have no or an empty "
        r"geometry \(rows 1\).*Fix",
    ):
        read_areas(q)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_no_crs(tmp_path):
    gdf = gpd.GeoDataFrame({"c": [1]}, geometry=[box(0, 0, 1, 1)])  # no CRS
    shp = tmp_path / "nocrs.shp"
    gdf.to_file(shp)
    with pytest.raises(
        GeometryError,
        match=r"nocrs\.shp has no coordinate reference system.*Fix: "
        r"pass crs=",
    ):
        read_areas(shp)


def test_geographic_crs_never_used_for_planar_distances():
    from dongne.io.crs import require_projected

    gdf = gpd.GeoDataFrame(geometry=[Point(126.9, 37.5)], crs=4326)
    with pytest.raises(
        GeometryError,
        match=r"need planar distances in metres.*geographic CRS.*"
        r"EPSG:5179",
    ):
        require_projected(gdf, "distance-band weights")


def test_points_outside_all_areas(seoul_dongs_plain):
    pts = gpd.GeoDataFrame(
        {"name": ["서울시청", "부산시청"]},
        geometry=[Point(126.9780, 37.5665), Point(129.0756, 35.1796)],
        crs=4326,
    )
    with pytest.warns(UnmatchedWarning, match=r"1 point\(s\) lie outside every area \(rows 1\)"):
        res = points_to_areas(seoul_dongs_plain, pts)
    assert res.outside["name"].tolist() == ["부산시청"]
    assert res.frame["points_count"].sum() == 1


def test_codes_from_another_year_fixed_by_crosswalk(seoul_dongs_plain, census_path, crosswalk_path):
    with pytest.warns(UnmatchedWarning):
        _, report = join_by_code(seoul_dongs_plain, census_path, key="dong_code")
    assert any("codes from another year" in h for h in report.hints)
    frame, report = join_by_code(
        seoul_dongs_plain,
        census_path,
        key="dong_code",
        crosswalk=crosswalk_path,
        combine="sum",
        rates=["basement_household_pct=basement_households/households*100"],
    )
    assert report.complete
    assert frame["households"].notna().all()
    assert not np.isnan(frame["basement_households"]).any()
