import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import Point, box

from dongne.datasets import data_path, seoul_cctv, seoul_heat_shelters
from dongne.errors import DataError, UnmatchedWarning
from dongne.io import points_to_areas, read_table


def _overlay(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)
        return points_to_areas(*args, **kwargs)


def test_shelter_counts_reproduce_published_counts(seoul_dongs_plain):
    # The data pack's derived file counts in-use shelters per 2013 dong (outside_seoul excluded).
    shelters = seoul_heat_shelters()
    shelters = shelters[shelters["in_use"] == "Y"]
    with pytest.warns(UnmatchedWarning, match="outside every area"):
        res = points_to_areas(
            seoul_dongs_plain, shelters, prefix="s", sum_columns=["capacity_persons"]
        )
    ref = read_table(data_path("seoul_dong_facility_counts_2023.csv")).set_index("dong_code")
    got = res.frame.set_index("dong_code")
    assert (got["s_count"] == ref.loc[got.index, "heat_shelters_2023"]).all()
    assert got["s_capacity_persons_sum"].sum() == ref["heat_shelter_capacity_2023"].sum() == 161_985
    assert int(got["s_count"].sum()) == 4079
    # Every point outside the dongs is one the data pack flags as outside Seoul.
    assert set(res.outside["coord_check"]) == {"outside_seoul"}
    assert res.metric_crs == "EPSG:5179"


def test_cctv_counts_reproduce_published_counts(seoul_dongs_plain):
    res = _overlay(
        seoul_dongs_plain, seoul_cctv(), prefix="c", sum_columns=["n_cameras"], nearest=False
    )
    ref = read_table(data_path("seoul_dong_facility_counts_2023.csv")).set_index("dong_code")
    got = res.frame.set_index("dong_code")
    assert (got["c_count"] == ref.loc[got.index, "cctv_sites_2023"]).all()
    assert got["c_n_cameras_sum"].sum() == 83_954
    assert len(res.outside) == 59


def test_nearest_distance_against_brute_force(seoul_dongs_plain):
    shelters = seoul_heat_shelters()
    res = _overlay(seoul_dongs_plain, shelters, prefix="s")
    a = seoul_dongs_plain.to_crs(5179).geometry.to_numpy()
    p = shelters.to_crs(5179).geometry.to_numpy()
    rng = np.random.default_rng(7)
    for i in rng.choice(len(a), 25, replace=False):
        assert res.frame["s_nearest_m"].iloc[i] == pytest.approx(shapely.distance(a[i], p).min())
        c = shapely.centroid(a[i])
        assert res.frame["s_nearest_from_centroid_m"].iloc[i] == pytest.approx(
            shapely.distance(c, p).min()
        )
    assert (res.frame.loc[res.frame["s_count"] > 0, "s_nearest_m"] == 0).all()
    # 반포본동 has no shelter: its nearest one is outside, at a positive distance.
    banpo = res.frame.set_index("dong_code").loc["1122056"]
    assert banpo["s_count"] == 0 and 0 < banpo["s_nearest_m"] < 1000


def test_boundary_points_counted_once(grid_areas):
    x0, y0 = 950_000, 1_950_000
    pts = gpd.GeoDataFrame(
        {"v": [1, 2, 3]},
        geometry=[Point(x0 + 1000, y0 + 500), Point(x0 + 1000, y0 + 1000), Point(x0 + 10, y0 + 10)],
        crs=5179,
    )
    res = points_to_areas(grid_areas, pts, sum_columns=["v"])
    assert res.frame["points_count"].sum() == 3
    assert res.on_boundary == 2
    assert res.assignment.tolist() == [0, 0, 0]  # first area in order wins


def test_points_outside_all_areas_reported(grid_areas):
    pts = gpd.GeoDataFrame(
        {"id": ["in", "far"]}, geometry=[Point(950_500, 1_950_500), Point(0, 0)], crs=5179
    )
    with pytest.warns(UnmatchedWarning, match=r"1 point\(s\) lie outside every area \(rows 1\)"):
        res = points_to_areas(grid_areas, pts)
    assert res.outside["id"].tolist() == ["far"]
    assert res.assignment.tolist() == [0, -1]
    assert res.frame.attrs["dongne"]["overlays"][0]["outside_rows"] == [1]
    assert "1 outside every area" in res.summary()


def test_geographic_inputs_measured_in_metres():
    # Two 0.01° squares near Seoul; a point 0.01° east of the second. Distances must be metres.
    areas = gpd.GeoDataFrame(
        {"c": ["a", "b"]},
        geometry=[box(126.98, 37.56, 126.99, 37.57), box(126.99, 37.56, 127.00, 37.57)],
        crs=4326,
    )
    pts = gpd.GeoDataFrame(geometry=[Point(127.01, 37.565)], crs=4326)
    res = _overlay(areas, pts)
    assert res.metric_crs == "EPSG:5179"
    assert res.frame["points_nearest_m"].iloc[1] == pytest.approx(883, abs=5)  # 0.01° lon ≈ 883 m


def test_outside_korea_uses_utm():
    areas = gpd.GeoDataFrame(geometry=[box(2.34, 48.85, 2.36, 48.87)], crs=4326)
    pts = gpd.GeoDataFrame(geometry=[Point(2.35, 48.86)], crs=4326)
    res = points_to_areas(areas, pts)
    assert res.metric_crs == "EPSG:32631"


def test_sum_column_must_be_counts(grid_areas):
    pts = gpd.GeoDataFrame(
        {"cap": [5, -1]}, geometry=[Point(950_500, 1_950_500), Point(951_500, 1_950_500)], crs=5179
    )
    with pytest.raises(
        DataError, match=r"column 'cap': counts cannot be negative on feature 2 \(1-based\)"
    ):
        points_to_areas(grid_areas, pts, sum_columns=["cap"])
    with pytest.raises(DataError, match="no column"):
        points_to_areas(grid_areas, pts, sum_columns=["capacity"])


def test_points_without_coordinates_not_counted(grid_areas):
    pts = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[Point(950_500, 1_950_500), None], crs=5179)
    res = _overlay(grid_areas, pts)
    assert len(res.no_coordinates) == 1 and res.frame["points_count"].sum() == 1
    assert isinstance(res.no_coordinates, pd.DataFrame)
