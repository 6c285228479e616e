"""GWR and MGWR against mgwr 2.2.1 (Georgia 1990, the package's own data, and Seoul dongs).

Bandwidths must be identical (the same golden-section path: adaptive bandwidths are whole
neighbour counts, fixed ones are rounded to 0.01 m as mgwr reports them); coefficients,
standard errors, local condition numbers, ENP and AICc agree to 1e-6 (relative) — in
practice to about 1e-12, since both run the same closed forms.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mgwr.gwr import GWR, MGWR
from mgwr.sel_bw import Sel_BW

from dongne.demo.explain import SEOUL_EXPLAIN
from dongne.demo.learn import seoul_learning_areas
from dongne.errors import DataError
from dongne.explain import check_design
from dongne.explain.local import gwr, mgwr, select_bandwidth, spatial_variability_test
from dongne.io import to_metric

pytestmark = pytest.mark.filterwarnings("ignore")
GEORGIA = Path(__file__).parent / "data" / "georgia" / "GData_utm.csv"
X_GEORGIA = ["PctFB", "PctBlack", "PctRural"]


@pytest.fixture(scope="module")
def georgia():
    g = pd.read_csv(GEORGIA)
    return g[["X", "Y"]].to_numpy(float), g["PctBach"].to_numpy(float), g[X_GEORGIA].to_numpy()


def _close(ours, theirs, rtol=1e-6):
    np.testing.assert_allclose(
        np.asarray(ours, float), np.asarray(theirs, float), rtol=rtol, atol=1e-10
    )


@pytest.mark.parametrize(
    ("kernel", "fixed"),
    [
        ("bisquare", False),
        pytest.param("gaussian", False, marks=pytest.mark.slow),
        pytest.param("bisquare", True, marks=pytest.mark.slow),
        ("gaussian", True),
    ],
)
def test_gwr_equals_mgwr_on_georgia(georgia, kernel, fixed):
    coords, y, X = georgia
    design = check_design(y, X, X_GEORGIA)
    ours = gwr(design, coords, kernel=kernel, fixed=fixed)
    bw = Sel_BW(coords, y[:, None], X, kernel=kernel, fixed=fixed, n_jobs=1).search()
    ref = GWR(coords, y[:, None], X, bw, kernel=kernel, fixed=fixed, n_jobs=1).fit()
    assert ours.bandwidth_ == bw
    _close(ours.params_, ref.params)
    _close(ours.bse_, ref.bse)
    _close([ours.aicc_, ours.enp_, ours.sigma2_, ours.r2_], [ref.aicc, ref.ENP, ref.sigma2, ref.R2])
    _close(ours.critical_t_[0], ref.critical_tval())
    _close(ours.local_condition_, ref.local_collinearity()[2].ravel())
    # the Fotheringham–Byrne filter keeps exactly mgwr's significant t-values
    np.testing.assert_array_equal(ours.significant_, ref.filter_tvals() != 0)


def test_gwr_cv_and_interval_search_equal_mgwr(georgia):
    coords, y, X = georgia
    design = check_design(y, X, X_GEORGIA)
    cv = select_bandwidth(design, coords, criterion="CV")
    assert cv == Sel_BW(coords, y[:, None], X, n_jobs=1).search(criterion="CV")
    grid = select_bandwidth(design, coords, search="interval", bw_min=60, bw_max=150, interval=10)
    ref = Sel_BW(coords, y[:, None], X, n_jobs=1).search(
        search_method="interval", bw_min=60, bw_max=150, interval=10
    )
    assert grid == ref


def _standardise(y, X):
    return (y - y.mean()) / y.std(), (X - X.mean(axis=0)) / X.std(axis=0)


def _compare_mgwr(coords, y, X, names, iterations=200):
    ys, Xs = _standardise(y, X)
    ours = mgwr(check_design(ys, Xs, names), coords, max_iter=iterations)
    selector = Sel_BW(coords, ys[:, None], Xs, multi=True, n_jobs=1)
    bws = selector.search(max_iter_multi=iterations)
    ref = MGWR(coords, ys[:, None], Xs, selector, n_jobs=1).fit()
    np.testing.assert_array_equal(ours.bandwidths_, bws)
    np.testing.assert_array_equal(ours.bandwidth_history_, selector.bw[1])
    _close(ours.params_, ref.params)
    _close(ours.enp_j_, ref.ENP_j)
    _close(ours.bse_, ref.bse)
    _close([ours.aicc_, ours.sigma2_], [ref.aicc, ref.sigma2])
    _close(ours.critical_t_, ref.critical_tval())
    _close(ours.local_condition_, ref.local_collinearity()[0].ravel())
    np.testing.assert_array_equal(ours.significant_, ref.filter_tvals() != 0)
    return ours


def test_mgwr_equals_mgwr_on_georgia(georgia):
    coords, y, X = georgia
    ours = _compare_mgwr(coords, y, X, X_GEORGIA)
    # the scales differ between covariates (the point of MGWR)
    assert len(set(ours.bandwidths_)) > 1


@pytest.fixture(scope="module")
def seoul():
    areas = seoul_learning_areas()
    pts = to_metric(areas).geometry.representative_point()
    return areas, np.column_stack([pts.x, pts.y])


@pytest.mark.slow
def test_gwr_equals_mgwr_on_seoul(seoul):
    areas, coords = seoul
    x = list(SEOUL_EXPLAIN["x"])
    y = areas[SEOUL_EXPLAIN["y"]].to_numpy(float)
    X = areas[x].to_numpy(float)
    ours = gwr(check_design(y, X, x), coords)
    bw = Sel_BW(coords, y[:, None], X, n_jobs=1).search()
    ref = GWR(coords, y[:, None], X, bw, n_jobs=1).fit()
    assert ours.bandwidth_ == bw
    _close(ours.params_, ref.params)
    _close(ours.bse_, ref.bse)


@pytest.mark.slow
def test_mgwr_equals_mgwr_on_seoul(seoul):
    areas, coords = seoul
    x = ["log_household_density", "log_cctv_per_km2"]
    y = areas[SEOUL_EXPLAIN["y"]].to_numpy(float)
    # five back-fitting iterations on both sides keep mgwr's O(n³) inference replay short
    ours = _compare_mgwr(coords, y, areas[x].to_numpy(float), x, iterations=5)
    assert ours.iterations_ <= 5


def test_spatial_variability_test_is_seeded_and_flags_varying_surface(georgia):
    coords, y, _X = georgia
    rng = np.random.default_rng(5)
    # y = (1 + east) * x1 + noise: the slope of x1 varies west → east, x2's does not
    east = (coords[:, 0] - coords[:, 0].min()) / np.ptp(coords[:, 0])
    x1, x2 = rng.normal(size=len(y)), rng.normal(size=len(y))
    yy = (1 + 3 * east) * x1 + 0.5 * x2 + rng.normal(0, 0.3, len(y))
    fit = gwr(check_design(yy, np.column_stack([x1, x2]), ["x1", "x2"]), coords)
    p = spatial_variability_test(fit, coords, replications=9, rng=1)
    assert p["x1"] == pytest.approx(1 / 10)
    pd.testing.assert_series_equal(p, spatial_variability_test(fit, coords, replications=9, rng=1))


def test_too_few_observations_for_the_kernel(georgia):
    coords, y, X = georgia
    with pytest.raises(DataError, match="too few for an adaptive GWR"):
        gwr(check_design(y[:45], X[:45], X_GEORGIA), coords[:45])


def test_duplicate_locations_refused(georgia):
    coords, y, X = georgia
    coords = coords.copy()
    coords[1] = coords[0]
    with pytest.raises(DataError, match="share one location"), warnings.catch_warnings():
        gwr(check_design(y, X, X_GEORGIA), coords)


def test_mgwr_in_blocks_on_worker_processes_gives_identical_numbers(georgia):
    """scheduler="processes" cuts every pass into blocks of regression points that find their
    own neighbours (no n × K cache in any process): bandwidths, their history and the
    coefficients are identical, bit for bit, to the in-process fit."""
    from dongne.errors import SpecificationError

    coords, y, X = georgia
    z = (X - X.mean(axis=0)) / X.std(axis=0)
    design = check_design((y - y.mean()) / y.std(), z, X_GEORGIA)
    here = mgwr(design, coords, inference=False, max_iter=3)
    there = mgwr(design, coords, inference=False, max_iter=3, scheduler="processes", batch_size=50)
    np.testing.assert_array_equal(there.bandwidths_, here.bandwidths_)
    np.testing.assert_array_equal(there.bandwidth_history_, here.bandwidth_history_)
    np.testing.assert_array_equal(there.params_, here.params_)
    assert there.provenance_["initial_gwr_bandwidth"] == here.provenance_["initial_gwr_bandwidth"]
    assert there.provenance_["scheduler"] == "processes"
    assert here.provenance_["scheduler"] == "in-process"
    with pytest.raises(SpecificationError, match="adaptive bisquare"):
        mgwr(design, coords, kernel="gaussian", scheduler="processes")
