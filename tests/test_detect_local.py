"""Local Moran's I and Getis-Ord G against esda (the independent reference), and properties."""

import warnings

import esda
import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from shapely import Point, box

from dongne import weights
from dongne.datasets import seoul_dongs
from dongne.detect import GetisOrd, LocalMoran
from dongne.errors import DataError, DongneWarning, SpecificationError

RTOL = 1e-9


@pytest.fixture(scope="module")
def seoul():
    dongs = seoul_dongs()
    w = weights.queen(dongs, ids="dong_code")
    y = dongs.set_index("dong_code")["basement_household_pct"]
    return dongs, w, y


@pytest.fixture(scope="module")
def lattice():
    cells = [box(i, j, i + 1, j + 1) for j in range(12) for i in range(12)]
    gdf = gpd.GeoDataFrame({"id": range(144)}, geometry=cells, crs=5179)
    w = weights.queen(gdf, ids="id")
    y = pd.Series(np.random.default_rng(3).gamma(2.0, 2.0, 144), index=w.ids, name="y")
    return w, y


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("case", ["seoul", "lattice"])
def test_local_moran_equals_esda(case, seoul, lattice):
    w, y = (seoul[1], seoul[2]) if case == "seoul" else lattice
    ours = LocalMoran(permutations=0).fit(y, w)
    ref = esda.Moran_Local(y.to_numpy(), w.to_libpysal(), permutations=0)
    _close(ours.statistic_, ref.Is)
    _close(ours.expected_, ref.EI)
    _close(ours.variance_, ref.VI)
    _close(ours.expected_conditional_, ref.EIc)
    _close(ours.variance_conditional_, ref.VIc)
    codes = {"HH": 1, "LH": 2, "LL": 3, "HL": 4}
    assert [codes[q] for q in ours.quadrant_] == list(ref.q)


@pytest.mark.parametrize(
    ("star", "transform", "esda_transform"),
    [(True, "binary", "B"), (False, "binary", "B"), (True, "row", "R"), (False, "row", "R")],
)
def test_getis_ord_equals_esda(star, transform, esda_transform, seoul, lattice):
    for w, y in ((seoul[1], seoul[2]), lattice):
        ours = GetisOrd(star=star, transform=transform, permutations=0).fit(y, w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = esda.G_Local(
                y.to_numpy(), w.to_libpysal(), transform=esda_transform, star=star, permutations=0
            )
        _close(ours.statistic_, ref.Gs)
        _close(ours.expected_, ref.EGs)
        _close(ours.variance_, ref.VGs)
        _close(ours.z_, ref.Zs)


def test_getis_ord_published_docstring_numbers():
    # esda G_Local docstring: DistanceBand(threshold=15) over six points.
    pts = gpd.GeoDataFrame(
        geometry=[
            Point(10, 10),
            Point(20, 10),
            Point(40, 10),
            Point(15, 20),
            Point(30, 20),
            Point(30, 30),
        ],
        crs=5179,
    )
    w = weights.distance_band(pts, 15)
    y = np.array([2, 3, 3.2, 5, 8, 7])
    g = GetisOrd(star=False, transform="binary", permutations=0).fit(y, w)
    np.testing.assert_allclose(
        g.z_, [-1.0136729, -0.04361589, 1.31558703, -0.31412676, 1.15373986, 1.77833941], atol=5e-8
    )
    gs = GetisOrd(star=True, transform="binary", permutations=0).fit(y, w)
    np.testing.assert_allclose(
        gs.z_,
        [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331],
        atol=5e-8,
    )
    gr = GetisOrd(star=True, transform="row", permutations=0).fit(y, w)
    np.testing.assert_allclose(
        gr.z_,
        [-0.62488094, -0.09144599, 0.41150696, -0.09144599, 0.24690418, 1.28024388],
        atol=5e-8,
    )


def test_permutation_pvalues_agree_with_esda_in_distribution(seoul):
    _, w, y = seoul
    ours = LocalMoran(permutations=999, alternative="directed", rng=7).fit(y, w)
    ref = esda.Moran_Local(y.to_numpy(), w.to_libpysal(), permutations=999, seed=7)
    # Same null, different random streams: p-values agree up to Monte Carlo error.
    assert np.corrcoef(ours.p_values_, ref.p_sim)[0, 1] > 0.98
    se = np.sqrt(ref.p_sim * (1 - ref.p_sim) / 999)
    assert np.mean(np.abs(ours.p_values_ - ref.p_sim) <= 4 * se + 2e-3) > 0.97
    # The permutation distribution has the analytical conditional moments (Sokal et al. 1998):
    # mean and variance of the simulated I_i match esda's EIc and VIc (rescaled to esda's I).
    n = w.n
    scale = (n - 1) / n
    se_mean = np.sqrt(ref.VIc) * scale / np.sqrt(999)
    assert np.mean(np.abs(ours.expected_sim_ - ref.EIc * scale) <= 4 * se_mean) > 0.99
    sd_sim = (ours.statistic_ - ours.expected_sim_) / ours.z_sim_
    np.testing.assert_allclose(sd_sim, np.sqrt(ref.VIc) * scale, rtol=0.15)


def test_pvalues_under_the_null_are_uniform(lattice):
    # y independent of space: two-sided pseudo p-values must be (discretely) uniform.
    w, _ = lattice
    rng = np.random.default_rng(11)
    ps = np.concatenate(
        [
            LocalMoran(permutations=199, rng=s, correction="none")
            .fit(pd.Series(rng.normal(size=144), index=w.ids), w)
            .p_values_
            for s in range(12)
        ]
    )
    assert stats.kstest(ps, "uniform").pvalue > 0.001
    assert 0.04 < np.mean(ps <= 0.05) < 0.07


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less", "directed"])
def test_p_bounds(alternative, seoul):
    _, w, y = seoul
    r = 99
    lm = LocalMoran(permutations=r, alternative=alternative, rng=2).fit(y, w)
    lo = 2 / (r + 1) if alternative == "two-sided" else 1 / (r + 1)
    assert np.nanmin(lm.p_values_) >= lo - 1e-15 and np.nanmax(lm.p_values_) <= 1
    assert lm.provenance_["alternative"] == alternative


def test_two_sided_at_least_directed(seoul):
    _, w, y = seoul
    two = LocalMoran(permutations=199, rng=5).fit(y, w).p_values_
    directed = LocalMoran(permutations=199, rng=5, alternative="directed").fit(y, w).p_values_
    assert (two >= directed - 1e-12).all()


def test_same_seed_same_result_for_any_thread_count(seoul):
    _, w, y = seoul
    results = []
    default = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            lm = LocalMoran(permutations=2500, rng=123).fit(y, w)
            results.append((lm.p_values_, lm.z_sim_))
    finally:
        numba.set_num_threads(default)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    other = LocalMoran(permutations=2500, rng=124).fit(y, w).p_values_
    assert not np.array_equal(other, results[0][0])


def test_batches_do_not_change_counts(seoul):
    from dongne.detect._kernels import local_permutation_counts
    from dongne.detect.local import _off_diagonal

    _, w, y = seoul
    wt = w.row_standardised()
    off = _off_diagonal(wt)
    z = ((y - y.mean()) / y.std(ddof=0)).to_numpy()
    args = (
        z,
        off.indptr.astype(np.int64),
        off.data,
        z,
        np.zeros(w.n),
        np.zeros(w.n),
        np.full(w.n, 1e-12),
        99,
    )
    whole = local_permutation_counts(*args, 0, 300)
    parts = [local_permutation_counts(*args, f, 100) for f in (0, 100, 200)]
    np.testing.assert_array_equal(whole[0], sum(p[0] for p in parts))
    np.testing.assert_array_equal(whole[1], sum(p[1] for p in parts))


def test_draws_are_uniform_without_replacement():
    from dongne.detect._kernels import local_permutation_counts

    # One site with 3 neighbours among n = 7: count how often each other site is drawn by
    # making the statistic an indicator of one site in the draw.
    n = 7
    for target in range(1, n):
        z = np.zeros(n)
        z[target] = 1.0
        indptr = np.array([0, 3, 3, 3, 3, 3, 3, 3], dtype=np.int64)
        ge, _, total, _ = local_permutation_counts(
            z,
            indptr,
            np.ones(3),
            np.ones(n),
            np.zeros(n),
            np.full(n, 0.5),
            np.full(n, 1e-9),
            5,
            0,
            30000,
        )
        # P(target among 3 distinct draws from 6 others) = 1/2; sum of lag counts it once.
        assert abs(ge[0] / 30000 - 0.5) < 0.015
        assert total[0] / 30000 == pytest.approx(0.5, abs=0.015)


def test_labels_are_text_and_consistent(seoul):
    _, w, y = seoul
    lm = LocalMoran(permutations=19999, rng=1).fit(y, w)
    frame = lm.to_frame()
    assert set(frame["label"]) <= {"HH", "LH", "LL", "HL", "not significant", "island"}
    sig = frame[frame["significant"]]
    assert (sig["label"] == sig["quadrant"]).all()
    assert frame.attrs["dongne"]["seed"] == 1 and frame.attrs["dongne"]["permutations"] == 19999
    assert (frame["label"] == "HH").sum() >= 3
    assert "중랑구" in lm.summary(groups=seoul[0].set_index("dong_code")["gu_name"])
    short = LocalMoran(permutations=999, rng=1).fit(y, w)
    assert "16919 permutations" in short.summary()  # the permutation floor, explained


def test_islands_get_nan_with_warning():
    cells = [
        box(0, 0, 1, 1),
        box(1, 0, 2, 1),
        box(2, 0, 3, 1),
        box(0, 1, 1, 2),
        box(50, 50, 51, 51),
    ]
    gdf = gpd.GeoDataFrame({"id": list("abcde")}, geometry=cells, crs=5179)
    with pytest.warns(DongneWarning):
        w = weights.queen(gdf, ids="id")
    y = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0], index=w.ids)
    with pytest.warns(DongneWarning, match=r"1 area\(s\) have no neighbours \(e\)"):
        lm = LocalMoran(permutations=99, rng=0).fit(y, w)
    assert np.isnan(lm.statistic_[4]) and np.isnan(lm.p_values_[4])
    assert lm.labels_[4] == "island"
    assert np.isfinite(lm.p_values_[:4]).all()


def test_constant_and_tiny_inputs(seoul):
    _, w, _y = seoul
    with pytest.raises(DataError, match="constant"):
        LocalMoran().fit(pd.Series(1.0, index=w.ids), w)
    sub = weights.SpatialWeights.from_sparse(w.to_sparse()[:2][:, :2], w.ids[:2])
    with pytest.raises(DataError, match="at least 3"):
        LocalMoran().fit(np.array([1.0, 2.0]), sub)


def test_missing_values_policy(seoul):
    _, w, y = seoul
    y2 = y.copy()
    y2.iloc[[3, 10]] = np.nan
    with pytest.raises(DataError, match=r"missing for 2 area\(s\): 1101056, 1101067.*missing="):
        LocalMoran().fit(y2, w)
    lab = LocalMoran(permutations=99, missing="label", rng=0).fit(y2, w)
    frame = lab.to_frame()
    assert len(frame) == 423 and (frame.loc[["1101056", "1101067"], "label"] == "undefined").all()
    drop = LocalMoran(permutations=99, missing="drop", rng=0).fit(y2, w).to_frame()
    assert len(drop) == 421
    assert list(lab.missing_ids_) == ["1101056", "1101067"]


def test_parameter_errors(seoul):
    _, w, y = seoul
    with pytest.raises(SpecificationError, match=r"'alternative' parameter must be one of"):
        LocalMoran(alternative="one-sided").fit(y, w)
    with pytest.raises(SpecificationError, match="'correction'"):
        LocalMoran(correction="holm").fit(y, w)
    with pytest.raises(DataError, match="negative values"):
        GetisOrd().fit(y - 50, w)
    with pytest.raises(DataError, match="do not match the weights"):
        LocalMoran().fit(y.iloc[:-1], w)


@settings(max_examples=25, deadline=None)
@given(a=st.floats(0.1, 100), b=st.floats(-1000, 1000))
def test_local_moran_invariant_to_affine_transforms(a, b):
    cells = [box(i, j, i + 1, j + 1) for j in range(5) for i in range(5)]
    gdf = gpd.GeoDataFrame({"id": range(25)}, geometry=cells, crs=5179)
    w = _W_CACHE.setdefault("w", weights.queen(gdf, ids="id"))
    y = np.random.default_rng(0).normal(size=25)
    base = LocalMoran(permutations=49, rng=3).fit(y, w)
    moved = LocalMoran(permutations=49, rng=3).fit(a * y + b, w)
    np.testing.assert_allclose(moved.statistic_, base.statistic_, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(moved.p_values_, base.p_values_)


_W_CACHE: dict = {}


def test_table_method_agrees_with_exact_method(seoul):
    _, w, y = seoul
    table = LocalMoran(permutations=4999, rng=5, permutation_method="table").fit(y, w)
    exact = LocalMoran(permutations=4999, rng=5, permutation_method="exact").fit(y, w)
    # Same null distribution: p-values differ only by Monte Carlo error.
    se = np.sqrt(exact.p_values_ * (1 - exact.p_values_) / 4999) * 2
    assert np.mean(np.abs(table.p_values_ - exact.p_values_) <= 4 * se + 1e-3) > 0.98
    assert table.provenance_["inference"] == "conditional permutation (table)"
    with pytest.raises(SpecificationError, match="'permutation_method'"):
        LocalMoran(permutation_method="lookup").fit(y, w)


def test_permutation_rows_are_uniform_samples_without_replacement():
    from dongne.detect._kernels import permutation_rows

    rows = permutation_rows(11, 0, 20000, 4, 9)
    assert rows.shape == (20000, 4) and rows.min() == 0 and rows.max() == 8
    assert all(len(set(r)) == 4 for r in rows[:2000])
    counts = np.bincount(rows.ravel(), minlength=9)
    assert stats.chisquare(counts).pvalue > 0.001
    first = np.bincount(rows[:, 0], minlength=9)  # every position is uniform too
    assert stats.chisquare(first).pvalue > 0.001
    np.testing.assert_array_equal(rows, permutation_rows(11, 0, 20000, 4, 9))
    assert not np.array_equal(rows, permutation_rows(11, 1, 20000, 4, 9))


@pytest.mark.parametrize("statistic", [LocalMoran, GetisOrd])
def test_default_permutations_can_reach_significance(statistic, seoul):
    """The classes default to "auto": 416 Seoul dongs under FDR need 19,999 (999 cannot pass)."""
    _, w, y = seoul
    fitted = statistic(rng=5).fit(y, w)
    assert fitted.permutations == "auto" and fitted.permutations_ == 19_999
    assert fitted.floor_.reachable and fitted.significant_.any()
    assert fitted.provenance_["permutations"] == 19_999
    assert "19,999 conditional permutations (chosen automatically" in fitted.summary()
    given = statistic(permutations=19_999, rng=5).fit(y, w)
    np.testing.assert_array_equal(fitted.p_values_, given.p_values_)
    few = statistic(permutations=999, rng=5).fit(y, w)
    assert not few.floor_.reachable and not few.significant_.any()


def test_auto_chooses_by_the_number_of_tests(lattice):
    w, y = lattice  # 144 areas, two-sided FDR: needs 2/(R + 1) <= 0.05/144
    assert LocalMoran(rng=1).fit(y, w).permutations_ == 9_999
    assert LocalMoran(rng=1, correction="none").fit(y, w).permutations_ == 999
    cells = [box(i, j, i + 1, j + 1) for j in range(4) for i in range(5)]
    small = weights.queen(gpd.GeoDataFrame({"id": range(20)}, geometry=cells), ids="id")
    few = LocalMoran(rng=1).fit(pd.Series(np.arange(20.0), index=small.ids, name="y"), small)
    assert few.permutations_ == 999  # 2/1000 <= 0.05/20
