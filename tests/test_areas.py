import warnings

import geopandas as gpd
import pyogrio
import pytest
from shapely import Polygon, box

from dongne.datasets import data_path
from dongne.errors import DataError, GeometryError, GeometryRepairWarning
from dongne.io import read_areas
from dongne.io.areas import shapefile_encoding


def _korean_layer():
    return gpd.GeoDataFrame(
        {"코드": ["11010", "11020"], "이름": ["종로구", "중구"]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
        crs=5179,
    )


def test_geojson_seoul():
    gdf = read_areas(data_path("seoul_dong_2013.geojson"))
    assert len(gdf) == 423 and gdf.crs.to_epsg() == 4326
    assert gdf.attrs["dongne"]["repairs"] == []
    assert gdf["dong_name"].iloc[0] == "사직동"


def test_geopackage_layer_choice(seoul_shared):
    p = seoul_shared / "seoul_boundaries_2013_epsg5174.gpkg"
    with pytest.raises(
        DataError, match=r"2 layers: 'dong' \(Polygon\), 'gu' \(Polygon\).*layer='dong'"
    ):
        read_areas(p)
    gu = read_areas(p, layer="gu")
    assert len(gu) == 25 and gu.crs.to_epsg() == 5174
    with pytest.raises(DataError, match="no layer 'si'"):
        read_areas(p, layer="si")


def test_shapefile_with_cpg(tmp_path):
    p = tmp_path / "a.shp"
    pyogrio.write_dataframe(_korean_layer(), p, encoding="cp949")
    assert (tmp_path / "a.cpg").read_text().strip() == "CP949"
    gdf = read_areas(p)
    assert gdf["이름"].tolist() == ["종로구", "중구"]
    assert gdf.attrs["dongne"]["encoding_reason"] == "from a.cpg"
    assert gdf.crs.to_epsg() == 5179  # from the .prj


def test_shapefile_cp949_without_cpg_is_detected(tmp_path):
    p = tmp_path / "a.shp"
    pyogrio.write_dataframe(_korean_layer(), p, encoding="cp949")
    (tmp_path / "a.cpg").unlink()
    # GDAL alone reads the names as mojibake; dongne detects CP949.
    assert pyogrio.read_dataframe(p).iloc[:, 1].tolist() != ["종로구", "중구"]
    assert shapefile_encoding(p)[0] == "cp949"
    gdf = read_areas(p)
    assert gdf.columns.tolist()[:2] == ["코드", "이름"]
    assert gdf["이름"].tolist() == ["종로구", "중구"]


def test_shapefile_utf8_without_cpg(tmp_path):
    p = tmp_path / "a.shp"
    pyogrio.write_dataframe(_korean_layer(), p, encoding="utf-8")
    (tmp_path / "a.cpg").unlink(missing_ok=True)
    assert read_areas(p)["이름"].tolist() == ["종로구", "중구"]


def test_shapefile_without_prj_needs_crs(tmp_path):
    p = tmp_path / "a.shp"
    pyogrio.write_dataframe(_korean_layer(), p)
    (tmp_path / "a.prj").unlink()
    with pytest.raises(GeometryError, match=r"no coordinate reference system.*crs='EPSG:4326'"):
        read_areas(p)
    assert read_areas(p, crs=5179).crs.to_epsg() == 5179


def test_contradicting_crs_is_an_error(tmp_path):
    p = tmp_path / "a.gpkg"
    _korean_layer().to_file(p)
    with pytest.raises(GeometryError, match="declares CRS"):
        read_areas(p, crs=4326)


def test_geoparquet(tmp_path):
    p = tmp_path / "a.parquet"
    _korean_layer().to_parquet(p)
    gdf = read_areas(p)
    assert gdf.attrs["dongne"]["format"] == "geoparquet" and len(gdf) == 2


def test_invalid_geometry_repaired_and_reported(tmp_path):
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    gdf = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[box(20, 0, 30, 10), bowtie], crs=5179)
    p = tmp_path / "bad.geojson"
    gdf.to_file(p)
    with pytest.warns(
        GeometryRepairWarning, match=r"repaired 1 invalid.*rows 1.*Self-intersection"
    ):
        out = read_areas(p)
    rep = out.attrs["dongne"]["repairs"]
    assert rep[0]["row"] == 1 and rep[0]["area_after"] == pytest.approx(50.0)
    assert out.geometry.is_valid.all()
    assert out.geom_type.iloc[1] == "MultiPolygon"
    with pytest.raises(GeometryError, match="invalid geometries"):
        read_areas(p, repair=False)


def test_empty_geometry_rejected(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"code": ["a", "b", "c"]},
        geometry=[box(0, 0, 1, 1), Polygon(), None],
        crs=5179,
    )
    p = tmp_path / "empty.gpkg"
    gdf.to_file(p)
    with pytest.raises(
        GeometryError, match=r"2 feature\(s\) have no or an empty geometry \(rows 1, 2\)"
    ):
        read_areas(p)


def test_no_warning_on_clean_data():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_areas(data_path("seoul_gu_2013.geojson"))
