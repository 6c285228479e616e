"""Point-pattern toolkit against pointpats 2.5 (same estimators, 1e-9) and against brute force.

pointpats' K, G, F and J have no edge correction and take the points' bounding box as the
window; dongne's ``edge_correction="none"`` with the bounding-box area is the same estimator.
The border correction is checked against a direct O(n²) count written here.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pointpats
import pytest
import shapely
from pointpats import distance_statistics as ds
from scipy.spatial.distance import cdist, pdist

from dongne.errors import SpecificationError
from dongne.points import (
    cross_k_function,
    envelope,
    f_function,
    g_function,
    j_function,
    k_function,
    kernel_density,
    l_function,
    nearest_neighbour_index,
    point_pattern,
    quadrat_test,
    reference_grid,
    relative_risk,
    select_bandwidth,
    standard_ellipse,
)


@pytest.fixture(scope="module")
def xy() -> np.ndarray:
    g = np.random.default_rng(19)
    return np.vstack([g.uniform(0, 1000, (400, 2)), g.normal([300, 600], 30, (80, 2))])


def _bbox_area(xy: np.ndarray) -> float:
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    return float((x1 - x0) * (y1 - y0))


def test_k_and_l_equal_pointpats(xy):
    support = np.linspace(0, 150, 31)
    _, k_ref = ds.k(xy, support=support)
    _, l_ref = ds.l(xy, support=support)
    np.testing.assert_allclose(k_function(xy, support, _bbox_area(xy)), k_ref, rtol=1e-9, atol=0)
    np.testing.assert_allclose(l_function(xy, support, _bbox_area(xy)), l_ref, rtol=1e-9, atol=0)


def test_g_equals_pointpats_on_its_default_support(xy):
    support, g_ref = ds.g(xy)  # 20 distances up to the largest nearest-neighbour distance
    np.testing.assert_allclose(g_function(xy, support), g_ref, rtol=1e-9, atol=1e-12)


def test_f_and_j_equal_pointpats_for_the_same_reference_points(xy):
    window = shapely.box(*xy.min(axis=0), *xy.max(axis=0))
    ref = reference_grid(window, 2500)
    d_ref = cdist(ref, xy).min(axis=1)
    nn = np.sort(cdist(xy, xy), axis=1)[:, 1]
    # up to the largest distance of both kinds: pointpats' histogram leaves out distances
    # beyond its support and rescales by the rest, dongne's G and F do not
    support = np.linspace(0, max(d_ref.max(), nn.max()), 20)
    _, f_ref = ds.f(xy, support=support, distances=d_ref)
    np.testing.assert_allclose(f_function(xy, support, ref), f_ref, rtol=1e-9, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, j_ref = ds.j(xy, support=support, distances=(nn, d_ref), truncate=False)
    j = j_function(xy, support, ref)
    ok = np.isfinite(j_ref)
    np.testing.assert_allclose(j[ok], j_ref[ok], rtol=1e-9)
    assert np.array_equal(np.isnan(j), np.isnan(j_ref))


def test_quadrat_test_equals_pointpats(xy):
    from pointpats import QStatistic

    ref = QStatistic(xy, shape="rectangle", nx=4, ny=3)
    ours = quadrat_test(xy, 4, 3)
    assert ours.chi2 == pytest.approx(ref.chi2, rel=1e-9)
    assert ours.p_value == pytest.approx(ref.chi2_pvalue, rel=1e-9)
    assert ours.df == ref.df == 11
    # pointpats numbers the cells row by row from the bottom, as dongne's counts
    np.testing.assert_array_equal(ours.counts.ravel(), list(ref.mr.point_location_sta().values()))


@pytest.mark.parametrize("weighted", [False, True])
def test_standard_ellipse_equals_pointpats(xy, weighted):
    from pointpats.centrography import ellipse

    w = np.random.default_rng(3).uniform(1, 5, len(xy)) if weighted else None
    major, minor, angle = ellipse(xy, weights=w)
    ours = standard_ellipse(xy, w)
    assert (ours.major, ours.minor, ours.angle) == pytest.approx((major, minor, angle), rel=1e-9)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_nearest_neighbour_index_matches_pointpats_mean_distance_and_the_formula(xy):
    pp = pointpats.PointPattern(xy)
    area = _bbox_area(xy)
    nni = nearest_neighbour_index(xy, area)
    assert nni.mean_distance == pytest.approx(pp.mean_nnd, rel=1e-9)
    lam = len(xy) / area
    assert nni.expected == pytest.approx(0.5 / np.sqrt(lam), rel=1e-12)
    tight = np.random.default_rng(1).normal(0, 5, (200, 2))
    clumped = nearest_neighbour_index(tight, 1000.0 * 1000.0)
    assert clumped.ratio < 0.2 and clumped.p_value < 1e-10
    assert "군집" in clumped.summary("ko")


def test_border_correction_equals_a_direct_count(xy):
    window = shapely.box(-10, -10, 1010, 1010)
    support = np.linspace(0, 120, 13)
    d = cdist(xy, xy)
    np.fill_diagonal(d, np.inf)
    b = shapely.distance(window.boundary, shapely.points(xy))
    lam = len(xy) / window.area
    expected = [((d[b >= r] <= r).sum() / ((b >= r).sum() * lam)) for r in support]
    got = k_function(xy, support, window.area, edge_correction="border", window=window)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    nn = d.min(axis=1)
    g_expected = [((nn <= r) & (b >= r)).sum() / (b >= r).sum() for r in support]
    got_g = g_function(xy, support, edge_correction="border", window=window)
    np.testing.assert_allclose(got_g, g_expected, rtol=1e-12)


def test_cross_k_equals_a_direct_count(xy):
    other = np.random.default_rng(4).uniform(0, 1000, (150, 2))
    support = np.linspace(0, 200, 11)
    d = cdist(xy, other)
    expected = [1e6 * (d <= r).sum() / (len(xy) * len(other)) for r in support]
    np.testing.assert_allclose(cross_k_function(xy, other, support, 1e6), expected, rtol=1e-12)


def test_k_is_near_pi_r_squared_under_csr_with_border_correction():
    g = np.random.default_rng(7)
    xy = g.uniform(0, 1000, (3000, 2))
    window = shapely.box(0, 0, 1000, 1000)
    r = np.array([20.0, 50.0, 100.0])
    k = k_function(xy, r, window.area, edge_correction="border", window=window)
    np.testing.assert_allclose(k / (np.pi * r**2), 1, atol=0.05)
    assert len(pdist(xy[:10])) == 45  # scipy's pdist, pointpats' pair source, is present


def _pattern(xy, crs="EPSG:5179", **kw):
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*np.asarray(xy).T), crs=crs)
    area = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1000, 1000)], crs=crs)
    return point_pattern(pts, area, **kw)


def test_envelope_detects_clustering_and_not_csr():
    g = np.random.default_rng(11)
    csr = _pattern(g.uniform(0, 1000, (300, 2)))
    clumped = _pattern(
        np.vstack([g.uniform(0, 1000, (200, 2)), np.clip(g.normal(500, 20, (100, 2)), 0, 1000)])
    )
    e_csr = envelope(csr, "L", support=np.linspace(0, 100, 11), replications=39, rng=1)
    e_clu = envelope(clumped, "L", support=np.linspace(0, 100, 11), replications=39, rng=1)
    assert e_clu.p_value == pytest.approx(1 / 40)
    assert e_csr.p_value > 0.05
    again = envelope(clumped, "L", support=np.linspace(0, 100, 11), replications=39, rng=1)
    np.testing.assert_array_equal(again.upper, e_clu.upper)
    assert "above" in set(e_clu.to_frame()["outside"])
    assert "포락선" in e_clu.summary("ko")


def test_null_draws_follow_the_background_population():
    left = shapely.box(0, 0, 500, 1000)
    right = shapely.box(500, 0, 1000, 1000)
    bg = gpd.GeoDataFrame({"pop": [900.0, 100.0]}, geometry=[left, right], crs="EPSG:5179")
    pp = _pattern(
        np.random.default_rng(0).uniform(0, 1000, (2000, 2)), background=bg, population="pop"
    )
    sim = pp.simulate(seed=3, replication=0)
    share = (sim[:, 0] < 500).mean()
    assert share == pytest.approx(0.9, abs=0.03)  # binomial sd 0.0067
    np.testing.assert_array_equal(sim, pp.simulate(seed=3, replication=0))
    assert pp.null == "population:pop"


def test_kernel_density_equals_scikit_learn():
    from sklearn.neighbors import KernelDensity

    g = np.random.default_rng(2)
    xy = g.uniform(100, 900, (300, 2))
    pp = _pattern(xy)
    surface = kernel_density(pp, bandwidth=60.0, cell_size=50.0)
    ny, nx = surface.density.shape
    x0, y0 = surface.origin
    gx, gy = np.meshgrid(x0 + (np.arange(nx) + 0.5) * 50, y0 + (np.arange(ny) + 0.5) * 50)
    ref = (
        KernelDensity(bandwidth=60.0)
        .fit(xy)
        .score_samples(np.column_stack([gx.ravel(), gy.ravel()]))
    )
    np.testing.assert_allclose(
        surface.density.ravel(), len(xy) * np.exp(ref), rtol=1e-9, atol=1e-300
    )
    # Scott's rule in two dimensions (scipy's gaussian_kde factor n^(-1/6))
    sigma = np.sqrt(xy.var(axis=0, ddof=1).mean())
    assert select_bandwidth(xy) == pytest.approx(sigma * len(xy) ** (-1 / 6), rel=1e-12)
    assert select_bandwidth(xy, "silverman") == select_bandwidth(xy, "scott")
    with pytest.raises(SpecificationError, match="bandwidth"):
        select_bandwidth(xy, "plug-in")


def test_likelihood_cv_bandwidth_is_smaller_for_a_clumped_pattern():
    g = np.random.default_rng(5)
    clumps = np.vstack([g.normal(c, 10, (60, 2)) for c in ([200, 200], [700, 300], [400, 800])])
    h_cv = select_bandwidth(clumps, "cv")
    assert 3 < h_cv < select_bandwidth(clumps, "scott")


def test_relative_risk_marks_the_planted_excess(tmp_path):
    g = np.random.default_rng(8)
    controls = _pattern(g.uniform(0, 1000, (400, 2)))
    cases = _pattern(
        np.vstack([g.uniform(0, 1000, (100, 2)), np.clip(g.normal(750, 40, (60, 2)), 0, 1000)])
    )
    rr = relative_risk(cases, controls, bandwidth=80.0, replications=39, rng=2, cell_size=50)
    frame = rr.to_geodataframe()
    hot = frame[frame["significant"]]
    assert len(hot) > 0
    centre = shapely.Point(750, 750)
    assert hot.distance(centre).median() < 150
    assert rr.provenance_["replications"] == 39
    # GeoTIFF: band 1 the log relative risk, band 2 the contour, north-up (row 0 at the top)
    rasterio = pytest.importorskip("rasterio")
    path = rr.to_geotiff(tmp_path / "rr.tif")
    with rasterio.open(path) as src:
        assert src.descriptions == ("log_relative_risk", "significant")
        assert src.crs.to_epsg() == 5179 and src.transform.a == 50 and src.transform.e == -50
        centre_xy = frame.geometry.centroid
        rows, cols = rasterio.transform.rowcol(src.transform, centre_xy.x, centre_xy.y)
        values = src.read()[:, np.asarray(rows), np.asarray(cols)]
    np.testing.assert_allclose(values[0], frame["log_relative_risk"], rtol=1e-12, atol=0)
    assert (values[1] == frame["significant"].astype(float)).all()
