"""``dongne points`` on the bundled Seoul CCTV sites: maps, tables and Korean/English summaries."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dongne.cli import main


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_dbscan_on_the_seoul_cctv_sites(tmp_path, capsys):
    out = tmp_path / "dbscan"
    with pytest.warns(UserWarning, match="outside the study area"):
        assert (
            main(
                ["points", "dbscan", "--csr", "--replications", "19", "--quiet", "--out", str(out)]
            )
            == 0
        )
    printed = capsys.readouterr().out
    for name in (
        "clusters_map.png",
        "clusters.gpkg",
        "clusters.csv",
        "points_clusters.csv",
        "summary.txt",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = (out / "summary.txt").read_text()
    assert "83,734 read" in summary and "59 outside the study area" in summary
    assert _has_hangul(summary) and "Significant DBSCAN+" in summary
    assert "Significant DBSCAN+" in printed
    clusters = pd.read_csv(out / "clusters.csv")
    assert (clusters["p_value"] <= 0.05).all()
    labels = pd.read_csv(out / "points_clusters.csv")
    assert len(labels) == 83_734 - 59
    prov = json.loads((out / "clusters.gpkg.provenance.json").read_text())
    assert prov["parameters"]["replications"] == 19 and prov["parameters"]["seed"] == 0
    if len(clusters):  # complete spatial randomness over Seoul: clusters, named by dong
        touched = pd.read_csv(out / "cluster_areas.csv")
        assert set(touched["cluster"]) == set(clusters["cluster"])


@pytest.mark.slow
def test_ripley_and_kde_on_the_seoul_cctv_sites(tmp_path):
    ripley, kde = tmp_path / "ripley", tmp_path / "kde"
    with pytest.warns(UserWarning):
        assert (
            main(
                [
                    "points",
                    "ripley",
                    "--functions",
                    "L",
                    "--replications",
                    "3",
                    "--quiet",
                    "--out",
                    str(ripley),
                ]
            )
            == 0
        )
        assert main(["points", "kde", "--quiet", "--out", str(kde)]) == 0
    table = pd.read_csv(ripley / "l_envelope.csv")
    assert (table["outside"] == "above").mean() > 0.9  # CCTV sites cluster at every distance
    assert (ripley / "l_envelope.png").stat().st_size > 0
    assert _has_hangul((ripley / "summary.txt").read_text())
    assert (kde / "kde_map.png").stat().st_size > 0 and (kde / "kde_grid.gpkg").exists()


def test_kde_geotiff_holds_the_grid_values_crs_and_transform(tmp_path):
    """kde.tif, read back with rasterio, has the GeoPackage grid's values cell by cell, its CRS
    and its bounds (a non-square, off-origin window, so a flipped or shifted raster fails)."""
    import geopandas as gpd
    import numpy as np
    import rasterio

    g = np.random.default_rng(3)
    xy = np.vstack([g.uniform(0, [1500, 900], (150, 2)), g.normal([1100, 250], 40, (40, 2))])
    pd.DataFrame({"x": 200_000 + xy[:, 0], "y": 550_000 + xy[:, 1]}).to_csv(
        tmp_path / "events.csv", index=False
    )
    out = tmp_path / "kde"
    args = ["points", "kde", str(tmp_path / "events.csv"), "--crs", "EPSG:5186"]
    args += ["--bandwidth", "80", "--cell-size", "40", "--geotiff", "--quiet", "--out", str(out)]
    assert main(args) == 0
    grid = gpd.read_file(out / "kde_grid.gpkg")
    with rasterio.open(out / "kde.tif") as src:
        assert src.crs.to_epsg() == 5186 and src.count == 1
        assert src.descriptions == ("density_per_km2",)
        assert src.res == (40.0, 40.0)
        band = src.read(1)
        rows, cols = rasterio.transform.rowcol(
            src.transform, grid.geometry.centroid.x, grid.geometry.centroid.y
        )
        left, top = rasterio.transform.xy(src.transform, rows, cols, offset="ul")
        cells = grid.geometry.bounds  # each cell is exactly its pixel
        np.testing.assert_allclose(left, cells["minx"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(top, cells["maxy"], rtol=0, atol=1e-6)
        x0, y0, x1, y1 = grid.total_bounds
        b = src.bounds
        assert b.left <= x0 and b.bottom <= y0 and b.right >= x1 and b.top >= y1
        assert b.right - b.left < x1 - x0 + 80 and b.top - b.bottom < y1 - y0 + 80
        assert src.tags()["bandwidth_m"] == "80.0"
    np.testing.assert_allclose(
        band[np.asarray(rows), np.asarray(cols)], grid["density_per_km2"], rtol=1e-12, atol=0
    )
    assert np.isfinite(band).sum() == len(grid)  # every other pixel is nodata (NaN)
    assert (out / "kde.tif.provenance.json").exists()
