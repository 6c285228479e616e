import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point

from dongne.datasets import data_path
from dongne.errors import DataError, GeometryError, UnmatchedWarning
from dongne.io import read_points
from dongne.io.points import find_coordinate_columns, infer_point_crs


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ("경도", "위도"),
        ("lon", "lat"),
        ("Longitude", "Latitude"),
        ("lng", "lat"),
        ("X", "Y"),
        ("X좌표", "Y좌표"),
        ("x_coord", "y_coord"),
    ],
)
def test_coordinate_names_recognised(x, y):
    df = pd.DataFrame({"name": ["a"], x: [126.97], y: [37.56]})
    assert find_coordinate_columns(df)[:2] == (x, y)


def test_lon_lat_preferred_over_projected_pair():
    df = pd.DataFrame({"X좌표": [192836.6], "Y좌표": [539968.2], "경도": [126.9], "위도": [37.4]})
    assert find_coordinate_columns(df)[:2] == ("경도", "위도")


def test_published_korean_shelter_file_in_cp949(tmp_path):
    # The as-published heat-shelter file (UTF-8 with BOM) re-encoded as CP949, as many
    # Korean downloads are: columns 경도/위도 must be found and read without a hint.
    raw = data_path("seoul_heat_shelters_2023.csv").read_text(encoding="utf-8")
    df = pd.read_csv(data_path("seoul_heat_shelters_2023.csv"), dtype=str).head(50)
    df = df.rename(columns={"lon": "경도", "lat": "위도", "name": "쉼터명칭"})
    p = tmp_path / "shelters_cp949.csv"
    p.write_bytes(df.to_csv(index=False).encode("cp949"))
    pts = read_points(p)
    assert pts.attrs["dongne"]["encoding"] == "cp949"
    assert pts.attrs["dongne"]["x"] == "경도" and pts.crs.to_epsg() == 4326
    assert pts["쉼터명칭"].iloc[0] == df["쉼터명칭"].iloc[0]
    assert "서울" in raw


def test_projected_utmk_inferred():
    x = np.array([955_000.0, 960_000.0])
    y = np.array([1_950_000.0, 1_952_000.0])
    assert infer_point_crs(x, y).to_epsg() == 5179


def test_central_belt_needs_crs(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("X좌표,Y좌표\n192836.6,539968.2\n")
    with pytest.raises(DataError, match=r"cannot be told from the values.*EPSG:5186"):
        read_points(p)
    pts = read_points(p, crs=5186)
    lon, lat = pts.to_crs(4326).geometry.iloc[0].coords[0]
    # Published lon/lat of the same shelter: 126.919034, 37.459103 (median error 0.03 m).
    assert lon == pytest.approx(126.919034, abs=1e-5) and lat == pytest.approx(37.459103, abs=1e-5)


def test_swapped_lat_lon_explained():
    with pytest.raises(DataError, match="swap the columns"):
        infer_point_crs(np.array([37.5, 37.6]), np.array([126.9, 127.0]))


def test_rows_without_coordinates_kept(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("name,lat,lon\na,37.5,126.9\nb,,\nc,37.6,127.0\n")
    with pytest.warns(UnmatchedWarning, match=r"1 row\(s\) have no usable .*file lines 3"):
        pts = read_points(p)
    assert len(pts) == 3 and pts.geometry.iloc[1] is None
    assert pts.attrs["dongne"]["rows_without_coordinates"] == [1]


def test_no_coordinate_columns(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("name,addr\na,b\n")
    with pytest.raises(DataError, match=r"no coordinate columns.*x='column'"):
        read_points(p)


def test_points_from_geo_file(tmp_path):
    g = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(126.9, 37.5)], crs=4326)
    g.to_file(tmp_path / "p.geojson")
    assert len(read_points(tmp_path / "p.geojson")) == 1
    poly = g.to_crs(5179).buffer(100).to_crs(4326)
    gpd.GeoDataFrame({"n": [1]}, geometry=poly, crs=4326).to_file(tmp_path / "a.geojson")
    with pytest.raises(GeometryError, match="expected points, found Polygon"):
        read_points(tmp_path / "a.geojson")


def test_bundled_shelters():
    pts = read_points(data_path("seoul_heat_shelters_2023.csv"))
    assert len(pts) == 4133 and pts.attrs["dongne"]["crs_inferred"]
    assert pts.crs.to_epsg() == 4326
