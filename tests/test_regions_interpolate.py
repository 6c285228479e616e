"""Areal interpolation against PySAL tobler, on Seoul's 2013 and 2021 dongs and small layers.

Reference: ``tobler.area_weighted.area_interpolate`` (tobler 0.13). Given the same area table
the numbers must agree to 1e-9 (relative); the tables themselves agree to float32 precision
(tobler stores them in float32, dongne in float64).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from shapely import box, points

from dongne import datasets
from dongne.errors import DataError, DongneWarning, SpecificationError
from dongne.regions import (
    check_layer,
    interpolate,
    overlay_areas,
    raster_points,
    resolve_kinds,
)

tobler = pytest.importorskip("tobler")
from tobler.area_weighted import area_interpolate  # noqa: E402
from tobler.area_weighted.area_interpolate import _area_tables_binning  # noqa: E402


@pytest.fixture(scope="module")
def vintages():
    old = datasets.seoul_dongs().to_crs(5179)
    new = datasets.seoul_dongs_2021().to_crs(5179)
    rng = np.random.default_rng(21)
    old["count"] = rng.integers(0, 5000, len(old)).astype(float)
    old["rate"] = rng.uniform(0, 40, len(old))
    old["kind"] = rng.choice(["apartment", "mixed", "low-rise"], len(old))
    return old, new


@pytest.fixture(scope="module")
def overlay(vintages):
    old, new = vintages
    return overlay_areas(old, new, source_id="dong_code", target_id="dong_code")


def test_area_table_equals_tobler_to_float32(vintages, overlay):
    old, new = vintages
    ours = overlay.table().toarray()
    ref = _area_tables_binning(old, new, "auto").toarray().astype(float)
    assert ours.shape == ref.shape == (423, 425)
    assert (ours > 0).sum() == (ref > 0).sum() == overlay.n_pieces
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("allocate_total", [True, False])
def test_numbers_equal_tobler_on_the_same_table(vintages, overlay, allocate_total):
    old, new = vintages
    ours = interpolate(
        old, new, extensive=["count"], intensive=["rate"], categorical=["kind"],
        source_id="dong_code", target_id="dong_code", overlay=overlay,
        allocate_total=allocate_total,
    ).frame  # fmt: skip
    ref = area_interpolate(
        old, new, extensive_variables=["count"], intensive_variables=["rate"],
        categorical_variables=["kind"], table=sparse.csr_matrix(overlay.table()),
        allocate_total=allocate_total,
    )  # fmt: skip
    for col in ["count", "rate", "kind_apartment", "kind_mixed", "kind_low-rise"]:
        np.testing.assert_allclose(ours[col].to_numpy(), ref[col].to_numpy(), rtol=1e-9,
                                   atol=1e-9, err_msg=col)  # fmt: skip


def test_counts_are_conserved_and_rates_recomputed(vintages, overlay):
    old, new = vintages
    r = interpolate(
        old, new, columns=["households", "basement_households", "basement_household_pct"],
        kinds={"households": "count", "basement_households": "count"},
        rates=["basement_household_pct=basement_households/households*100"],
        source_id="dong_code", target_id="dong_code", overlay=overlay,
    )  # fmt: skip
    f = r.frame.set_index("dong_code")
    assert f["households"].sum() == pytest.approx(3_504_297, rel=1e-12)
    assert r.totals["difference_pct"].abs().max() < 1e-10
    pct = 100 * f["basement_households"] / f["households"]
    np.testing.assert_allclose(f["basement_household_pct"], pct, rtol=1e-12)
    # 항동 (new in 2021) is made of the part of 2013 오류2동 it covers
    links = overlay.to_frame().query("target_id == '1117074' and share_of_source > 0.1")
    assert links["source_id"].tolist() == ["1117068"]
    assert r.kinds["basement_household_pct"].startswith("rate formula")


def test_unknown_kind_is_asked_not_guessed():
    t = pd.DataFrame({"households": [10, 20], "area_km2": [1.5, 2.25], "code": ["a", "b"]})
    with pytest.raises(SpecificationError, match=r"'area_km2'.*--column-kind"):
        resolve_kinds(t, columns=["area_km2"])
    with pytest.raises(SpecificationError, match="identifier"):
        resolve_kinds(t, columns=["code"])
    assert resolve_kinds(t, columns=["area_km2"], kinds={"area_km2": "count"}) == {
        "area_km2": "extensive"
    }
    with pytest.raises(SpecificationError, match="both extensive and intensive"):
        resolve_kinds(t, extensive=["households"], intensive=["households"])


def _two_by_one(crs="EPSG:5179"):
    old = gpd.GeoDataFrame({"code": ["A", "B"], "n": [300.0, np.nan], "pct": [10.0, 30.0]},
                           geometry=[box(0, 0, 3, 1), box(3, 0, 4, 1)], crs=crs)  # fmt: skip
    new = gpd.GeoDataFrame({"code": ["X", "Y"]}, geometry=[box(0, 0, 2, 1), box(2, 0, 4, 1)],
                           crs=crs)  # fmt: skip
    return old, new


def test_missing_values_stay_missing_where_they_reach():
    old, new = _two_by_one()
    r = interpolate(old, new, extensive=["n"], intensive=["pct"], source_id="code",
                    target_id="code")  # fmt: skip
    f = r.frame.set_index("code")
    assert f.loc["X", "n"] == pytest.approx(200.0)
    assert np.isnan(f.loc["Y", "n"])  # tobler would give 100 (the missing B counted as 0)
    assert r.missing == {"n": ["Y"]}
    assert f.loc["Y", "pct"] == pytest.approx(0.5 * 10 + 0.5 * 30)


def test_dasymetric_points_raster_and_polygons():
    old, new = _two_by_one()
    # everybody in A lives in its last metre (inside Y): A's 300 all go to Y
    people = gpd.GeoDataFrame(geometry=points([[2.5, 0.5]] * 4 + [[3.5, 0.5]]), crs=old.crs)
    r = interpolate(old, new, extensive=["n"], source_id="code", target_id="code",
                    population=people)  # fmt: skip
    f = r.frame.set_index("code")
    assert f.loc["X", "n"] == pytest.approx(0.0)
    # the same population as a raster of 1 m cells
    grid = np.zeros((1, 4))
    grid[0, 2] = 4.0
    cells = raster_points(grid, (1, 0, 0, 0, -1, 1), old.crs)
    r2 = interpolate(old, new, extensive=["n"], source_id="code", target_id="code",
                     population=cells, population_column="population")  # fmt: skip
    assert r2.frame.set_index("code").loc["X", "n"] == pytest.approx(0.0)
    # and as polygons: a block covering x in [1.5, 2.5] with 10 people: half in X, half in Y
    blocks = gpd.GeoDataFrame({"pop": [10.0]}, geometry=[box(1.5, 0, 2.5, 1)], crs=old.crs)
    r3 = interpolate(old, new, extensive=["n"], source_id="code", target_id="code",
                     population=blocks, population_column="pop")  # fmt: skip
    assert r3.frame.set_index("code").loc["X", "n"] == pytest.approx(150.0)


def test_different_crs_are_reprojected_with_a_note():
    old, new = _two_by_one()
    new = new.set_crs("EPSG:5186", allow_override=True)
    with pytest.warns(DongneWarning, match="different CRSs"):
        ov = overlay_areas(old, new, source_id="code", target_id="code")
    assert any("reprojected" in n for n in ov.notes)


def test_overlaps_and_gaps_are_reported():
    layer = gpd.GeoDataFrame({"id": ["a", "b", "c"]},
                             geometry=[box(0, 0, 20, 10), box(10, 0, 30, 10), box(50, 50, 60, 60)],
                             crs="EPSG:5179")  # fmt: skip
    check = check_layer(layer, ids="id")
    assert check.overlaps[["id_a", "id_b", "area_m2"]].values.tolist() == [["a", "b", 100.0]]
    target = gpd.GeoDataFrame({"id": ["t"]}, geometry=[box(0, 0, 30, 10)], crs="EPSG:5179")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DongneWarning)
        ov = overlay_areas(layer, target, source_id="id", target_id="id")
    assert ov.target_coverage[0] == pytest.approx(400 / 300)  # the overlap counted twice
    assert ov.checks["source_overlap_m2"] == pytest.approx(100.0)
    assert any("overlap" in n for n in ov.notes)
    gap = overlay_areas(layer.iloc[:1], target, source_id="id", target_id="id")
    assert gap.target_coverage[0] == pytest.approx(200 / 300)
    assert any("less than 99 %" in n for n in gap.notes)


def test_bad_ids_are_refused():
    old, new = _two_by_one()
    old.loc[1, "code"] = "A"
    with pytest.raises(DataError, match="repeated"):
        overlay_areas(old, new, source_id="code", target_id="code")


def test_convex_clipping_equals_geos_on_seoul_and_a_grid(vintages):
    """Dongs against 1 km grid cells go through the compiled clipping (cells are convex);
    every piece must equal GEOS's intersection area, and the sums the dongs' areas."""
    import shapely

    old, _ = vintages
    x0, y0, x1, y1 = old.total_bounds
    cells = [box(x, y, x + 1000, y + 1000) for x in np.arange(x0, x1, 1000)
             for y in np.arange(y0, y1, 1000)]  # fmt: skip
    grid = gpd.GeoDataFrame({"cell": np.arange(len(cells))}, geometry=cells, crs=old.crs)
    ov = overlay_areas(old, grid, source_id="dong_code", target_id="cell")
    src = np.asarray(old.geometry.array)[ov.source]
    tgt = np.asarray(grid.geometry.array)[ov.target]
    geos = shapely.area(shapely.intersection(src, tgt))
    np.testing.assert_allclose(ov.area, geos, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(ov.source_coverage, 1.0, rtol=1e-9)
    ref = _area_tables_binning(old, grid, "auto")
    assert ref.nnz == ov.n_pieces


def test_convexity_of_rings():
    from dongne.regions._clip_kernels import convex_rings

    rings = [
        [(0, 0), (2, 0), (2, 2), (0, 2)],  # square
        [(0, 0), (1, 0), (2, 0), (2, 2), (0, 2)],  # square with a collinear vertex
        [(0, 0), (2, 0), (1, 0.5), (2, 2), (0, 2)],  # notch: not convex
        [(0, 0), (2, 2), (2, 0), (0, 2)],  # bow tie: not convex
    ]
    xy = np.array([p for r in rings for p in r], dtype=float)
    off = np.r_[0, np.cumsum([len(r) for r in rings])].astype(np.int64)
    assert convex_rings(xy, off).tolist() == [True, True, False, False]


def test_triangle_clipping_equals_geos_on_simplified_seoul_vintages(vintages):
    """Non-convex single-ring polygons of at most 64 vertices (the 2013 and 2021 dongs
    simplified to 40 m) are clipped by the ear-clipping triangles of the other polygon; every
    piece must equal GEOS's intersection area and the pieces be tobler's."""
    import shapely

    from dongne.regions.overlay import _clip_pairs, _rings

    old, new = (v.assign(geometry=shapely.simplify(v.geometry.to_numpy(), 40))
                for v in vintages)  # fmt: skip
    src, tgt = old.geometry.to_numpy(), new.geometry.to_numpy()
    s, t = shapely.STRtree(tgt).query(src)
    s_simple, s_convex, _, s_off = _rings(src)
    t_simple, t_convex, _, t_off = _rings(tgt)
    by_triangles = (s_simple[s] & t_simple[t] & ~s_convex[s] & ~t_convex[t]
                    & (np.diff(s_off)[s] <= 64) & (np.diff(t_off)[t] <= 64))  # fmt: skip
    area, done = _clip_pairs(src, tgt, s, t)
    assert (by_triangles & done & (area > 0)).sum() > 500  # the path is exercised
    geos = shapely.area(shapely.intersection(src[s], tgt[t]))
    np.testing.assert_allclose(area[done], geos[done], rtol=1e-9, atol=1e-6)
    ov = overlay_areas(old, new, source_id="dong_code", target_id="dong_code")
    ref = _area_tables_binning(old, new, "auto")
    ref.eliminate_zeros()  # tobler stores the 7 pairs that only touch as explicit zeros
    assert ref.nnz == ov.n_pieces == int((geos > 0).sum())


def test_ear_clipping_triangles_cover_the_ring():
    from dongne.regions._clip_kernels import triangulate_rings

    rings = [
        [(0, 0), (4, 0), (4, 4), (3, 4), (3, 1), (1, 1), (1, 4), (0, 4)],  # U shape
        [(0, 0), (2, 0), (1, 0.5), (2, 2), (0, 2)],  # notch
        [(0, 0), (0, 2), (2, 2), (2, 0)],  # clockwise square
        [(0, 0), (2, 2), (2, 0), (0, 2)],  # bow tie: refused (GEOS does it)
    ]
    xy = np.array([p for r in rings for p in r], dtype=float)
    off = np.r_[0, np.cumsum([len(r) for r in rings])].astype(np.int64)
    tri, offsets, ok = triangulate_rings(xy, off, np.arange(4, dtype=np.int64))
    assert ok.tolist() == [True, True, True, False]
    for k, whole in enumerate([10.0, 3.0, 4.0]):
        parts = tri[offsets[k]:offsets[k + 1]]
        x, y = parts[:, :, 0], parts[:, :, 1]
        areas = 0.5 * np.abs((x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0])
                             - (x[:, 2] - x[:, 0]) * (y[:, 1] - y[:, 0]))  # fmt: skip
        assert areas.sum() == pytest.approx(whole, rel=1e-12)
