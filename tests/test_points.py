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


# ------------------------------------------------- coordinates in centimetres / millimetres


def _shelters_scaled(tmp_path, factor: float):
    """Seoul's cold-shelter layout: EPSG:5186 coordinates × factor (centimetres: 100).

    Returns the path of the CSV written and the table.
    """
    from dongne.datasets import seoul_heat_shelters

    table = pd.DataFrame(seoul_heat_shelters().drop(columns="geometry"))
    table["X좌표"] = table["x_epsg5186"] * factor
    table["Y좌표"] = table["y_epsg5186"] * factor
    path = tmp_path / f"cold_shelters_x{factor:g}.csv"
    table.drop(columns=["lon", "lat", "x_epsg5186", "y_epsg5186"]).to_csv(path, index=False)
    return path, table


@pytest.mark.parametrize(
    ("factor", "unit", "scale"), [(100, "centimetres", "0.01"), (1000, "millimetres", "0.001")]
)
def test_coordinates_in_centimetres_are_refused_with_the_fix(tmp_path, factor, unit, scale):
    path, _ = _shelters_scaled(tmp_path, factor)
    with pytest.raises(
        GeometryError,
        match=rf"4133 of 4133 points lie outside.*{unit}.*"
        rf"Fix: pass xy_scale={scale}\.",
    ):
        read_points(path, crs="EPSG:5186")
    with pytest.raises(GeometryError, match=rf"Fix: pass --xy-scale {scale}\."):
        read_points(path, crs="EPSG:5186", argument_names={"xy_scale": "--xy-scale"})


def test_xy_scale_reads_centimetres_exactly(tmp_path):
    from dongne.datasets import seoul_dongs, seoul_heat_shelters
    from dongne.io import points_to_areas

    path, _ = _shelters_scaled(tmp_path, 100)
    pts = read_points(path, crs="EPSG:5186", xy_scale=0.01)
    assert pts.attrs["dongne"]["xy_scale"] == 0.01
    lonlat = pts.to_crs(4326).geometry
    ref = seoul_heat_shelters()
    # The bundled lon/lat and EPSG:5186 columns agree to 7.1e-7 degrees (about 8 cm).
    assert np.abs(lonlat.x.to_numpy() - ref["lon"].to_numpy()).max() < 1e-6
    assert np.abs(lonlat.y.to_numpy() - ref["lat"].to_numpy()).max() < 1e-6
    in_use = pts[pts["in_use"] == "Y"]
    with pytest.warns(UnmatchedWarning):
        overlay = points_to_areas(seoul_dongs(), in_use, prefix="shelters")
    assert overlay.frame["shelters_count"].sum() == 4079  # the demo's count, as in lon/lat


def test_points_far_outside_their_crs_without_a_unit_fix():
    from dongne.io.points import check_area_of_use

    x, y = np.array([5.0e9, 5.1e9]), np.array([-3.0e9, -3.1e9])
    with pytest.raises(GeometryError, match=r"outside the area of use.*Fix: pass crs="):
        check_area_of_use(x, y, "EPSG:5186")
    check_area_of_use(np.array([198_000.0]), np.array([551_000.0]), "EPSG:5186")  # inside


def test_read_points_hints_use_the_callers_names(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("name,addr\na,b\n")
    flags = {"x": "--existing-x", "y": "--existing-y", "crs": "--existing-crs"}
    with pytest.raises(DataError, match="Fix: pass --existing-x column and --existing-y column"):
        read_points(p, argument_names=flags)
    q = tmp_path / "q.csv"
    q.write_text("name,x,y\na,198000,551000\n")
    with pytest.raises(DataError, match="Fix: pass --existing-crs EPSG:5186"):
        read_points(q, argument_names=flags)
    assert read_points(q, crs="EPSG:5186").crs.to_epsg() == 5186
