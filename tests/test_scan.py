"""Kulldorff's spatial scan statistic against SaTScan 9.6 and FleXScan 3.1.2, and properties.

Reference outputs (NY leukemia, Waller & Gotway 2005) are read from ../shared/reference_data;
they are never copied into the repository.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.colors import to_rgba
from scipy import stats
from shapely import box

from dongne.detect import _scan_kernels as kern
from dongne.detect.scan import (
    ScanStatistic,
    bernoulli_llr,
    expected_counts,
    gumbel_pvalues,
    poisson_llr,
    population_weighted_centroids,
    scan_statistic,
)
from dongne.errors import DataError, DongneError, DongneWarning, GeometryError, SpecificationError

NY = Path(__file__).resolve().parents[1].parent / "shared" / "reference_data" / "ny_leukemia"


# ------------------------------------------------------------------ reference data and parsers
@pytest.fixture(scope="module")
def ny():
    if not NY.is_dir():
        pytest.fail(f"reference data not found at {NY}; tests expect ../shared beside the repo")
    read = dict(sep=r"\s+", header=None)
    cases = pd.read_csv(NY / "satscan_ny_cases.txt", names=["id", "cases", "year"], **read)
    pop = pd.read_csv(NY / "satscan_ny_pop.txt", names=["id", "year", "population"], **read)
    xy = pd.read_csv(NY / "satscan_ny_coords.txt", names=["id", "lat", "lon"], **read)
    frame = cases.merge(pop, on="id").merge(xy, on="id").set_index("id")
    assert len(frame) == 281 and frame["cases"].sum() == 552
    return frame


def _parse_satscan(path: Path) -> list[dict]:
    """Clusters of a SaTScan 9.6 results file: members, centre, radius and the numbers."""
    text = path.read_text()
    block = text.split("CLUSTERS DETECTED")[1].split("_____")[0]
    clusters = []
    for chunk in re.split(r"\n(?=\d+\.Location IDs)", block.strip()):
        ids_text = chunk.split("included.:")[1].split("Coordinates")[0]
        centre, radius = re.search(r"radius\.\.: \(([^)]*)\) / ([\d.]+)", chunk).groups()

        def field(label: str, text: str = chunk) -> str:
            return re.search(re.escape(label) + r"\.*: *([\d.]+)", text).group(1)

        clusters.append(
            {
                "members": [int(v) for v in re.findall(r"\d+", ids_text)],
                "centre": tuple(float(v) for v in centre.split(",")),
                "radius": radius,
                "population": int(field("Population")),
                "cases": int(field("Number of cases")),
                "expected": field("Expected cases"),
                "oe": field("Observed / expected"),
                "rr": field("Relative risk"),
                "llr": field("Log likelihood ratio"),
                "p": float(field("P-value")),
            }
        )
    return clusters


def _parse_flexscan(path: Path) -> list[dict]:
    text = path.read_text()
    clusters = []
    for chunk in re.split(r"\n(?=\d+\.Census areas)", text)[1:]:
        ids_text = chunk.split("included .:")[1].split("Maximum")[0]
        clusters.append(
            {
                "members": sorted(int(v) for v in re.findall(r"\d+", ids_text)),
                "cases": int(re.search(r"Number of cases \.*: (\d+)", chunk).group(1)),
                "population": int(re.search(r"Population \.*: (\d+)", chunk).group(1)),
                "llr": re.search(r"Statistic value \.*: ([\d.]+)", chunk).group(1),
                "p": float(re.search(r"P-value \.*: ([\d.]+)", chunk).group(1)),
            }
        )
    return clusters


def _fmt_like(value: float, printed: str) -> str:
    """Format ``value`` with as many decimals as SaTScan printed."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return f"{value:.{decimals}f}"


def _satscan_radius(value: float) -> str:
    """SaTScan prints radii with two significant digits (0.070, 0.13)."""
    return f"{float(f'{value:.2g}'):.{max(0, 1 - math.floor(math.log10(value)))}f}"


def _fit_ny(ny, share, **options):
    options = {"rng": 20240601, **options}
    return ScanStatistic(max_population_share=share, **options).fit(
        ny["cases"], ny["population"], ny[["lat", "lon"]].to_numpy()
    )


# ------------------------------------------------------------------ SaTScan reproduction
@pytest.mark.parametrize(("share", "name"), [(0.1, "ubpop10"), (0.5, "ubpop50")])
def test_reproduces_satscan_clusters(ny, share, name):
    ref = _parse_satscan(NY / f"satscan_ny_out_{name}.txt")
    scan = _fit_ny(ny, share, replications=0, max_clusters=len(ref))
    got = scan.clusters_
    assert len(got) == len(ref)
    for (_, row), want in zip(got.iterrows(), ref, strict=True):
        assert sorted(row["members"]) == sorted(want["members"])
        # SaTScan lists members by distance from the centre, so the first is the centre.
        assert row["centre"] == want["members"][0]
        assert (round(row["centre_x"], 4), round(row["centre_y"], 4)) == pytest.approx(
            want["centre"], abs=1e-4
        )
        assert _satscan_radius(row["radius"]) == want["radius"]
        assert row["population"] == want["population"]
        assert row["cases"] == want["cases"]
        assert _fmt_like(row["expected"], want["expected"]) == want["expected"]
        assert _fmt_like(row["observed_expected"], want["oe"]) == want["oe"]
        assert _fmt_like(row["relative_risk"], want["rr"]) == want["rr"]
        assert _fmt_like(row["llr"], want["llr"]) == want["llr"]


def test_satscan_headline_numbers(ny):
    """The numbers in the issue, written out."""
    ten = _fit_ny(ny, 0.1, replications=0).clusters_
    assert ten.loc[0, ["n_areas", "cases", "population"]].tolist() == [26, 85, 95249]
    assert round(ten.loc[0, "llr"], 6) == 11.577255
    assert round(ten.loc[0, "radius"], 3) == 0.070
    assert round(ten.loc[1, "llr"], 6) == 9.019716
    fifty = _fit_ny(ny, 0.5, replications=0).clusters_
    assert fifty.loc[0, ["n_areas", "cases", "population"]].tolist() == [28, 100, 111674]
    assert round(fifty.loc[0, "llr"], 6) == 14.083511
    assert round(fifty.loc[0, "radius"], 3) == 0.087


@pytest.mark.parametrize(("share", "name"), [(0.1, "ubpop10"), (0.5, "ubpop50")])
def test_pvalues_agree_with_satscan_within_monte_carlo_error(ny, share, name):
    ref = _parse_satscan(NY / f"satscan_ny_out_{name}.txt")
    scan = _fit_ny(ny, share, replications=9999, gumbel=True)
    got = scan.clusters_
    for k, want in enumerate(ref):
        p_ref = want["p"]
        if k == 0 and share == 0.5:
            # SaTScan printed a Gumbel p-value (0.00015, below 1/1000).
            assert p_ref / 3 < got.loc[0, "p_gumbel"] < p_ref * 3
            assert got.loc[0, "p_value"] <= 3e-4
            continue
        se = math.sqrt(max(p_ref * (1 - p_ref), 1e-3) / 999) * 3.5 + 0.004
        assert abs(got.loc[k, "p_value"] - p_ref) < se, (k, got.loc[k, "p_value"], p_ref)


def test_satscan_default_combination_at_999_replications(ny):
    """SaTScan reports the MC p at 10% (0.0010) and a Gumbel p at 50% (0.00015)."""
    ten = _fit_ny(ny, 0.1, replications=999, gumbel=True).clusters_.loc[0]
    assert ten["p_value"] <= 0.003
    assert ten["p_gumbel"] > 0.001  # Gumbel not below 1/(R + 1): the MC p is reported
    assert ten["p_satscan"] == ten["p_value"]
    fifty = _fit_ny(ny, 0.5, replications=999, gumbel=True).clusters_.loc[0]
    assert fifty["p_value"] == pytest.approx(0.001)
    assert fifty["p_satscan"] == fifty["p_gumbel"] < 0.001


def test_reproduces_flexscan_bernoulli_k10(ny):
    """FleXScan 3.1.2, binomial, circular, K = 10, latitude/longitude (great circle)."""
    ref = _parse_flexscan(NY / "flexscan_ny_binomial_circular_k10.out")
    assert len(ref) == 10
    scan = ScanStatistic("bernoulli", max_neighbours=10, replications=0, max_clusters=10).fit(
        ny["cases"], ny["population"], ny[["lat", "lon"]].to_numpy(), coordinates="latlon"
    )
    got = scan.clusters_
    assert len(got) == 10
    for (_, row), want in zip(got.iterrows(), ref, strict=True):
        assert sorted(row["members"]) == want["members"]
        assert row["cases"] == want["cases"]
        assert row["population"] == want["population"]
        assert _fmt_like(row["llr"], want["llr"]) == want["llr"]
    mlc = got.loc[0]
    assert sorted(mlc["members"]) == [1, 2, 3, 12, 13, 14, 15, 35, 47, 49]
    assert (mlc["cases"], round(mlc["llr"], 5)) == (41, 8.47836)
    # Centres are reported in degrees, in the caller's column order; radii in metres.
    centre = ny.loc[mlc["centre"], ["lat", "lon"]].to_numpy(dtype=float)
    np.testing.assert_allclose([mlc["centre_x"], mlc["centre_y"]], centre, rtol=1e-12)
    np.testing.assert_allclose(scan.coordinates_, ny[["lat", "lon"]].to_numpy(), rtol=1e-12)
    assert 1_000 < mlc["radius"] < 10_000
    # Monte Carlo p against FleXScan's 0.014 (999 replications).
    tested = ScanStatistic("bernoulli", max_neighbours=10, replications=4999, rng=3).fit(
        ny["cases"], ny["population"], ny[["lat", "lon"]].to_numpy(), coordinates="latlon"
    )
    assert abs(tested.clusters_.loc[0, "p_value"] - 0.014) < 0.015


def test_coordinate_order(ny):
    """Cartesian distances do not depend on the column order; great-circle ones do."""
    lat_lon = ny[["lat", "lon"]].to_numpy()
    a = _fit_ny(ny, 0.1, replications=0).clusters_
    b = ScanStatistic(max_population_share=0.1, replications=0).fit(
        ny["cases"], ny["population"], lat_lon[:, ::-1]
    )
    assert b.clusters_.loc[0, "llr"] == a.loc[0, "llr"]
    right = ScanStatistic("bernoulli", max_neighbours=10, replications=0).fit(
        ny["cases"], ny["population"], lat_lon, coordinates="latlon"
    )
    swapped = ScanStatistic("bernoulli", max_neighbours=10, replications=0).fit(
        ny["cases"], ny["population"], lat_lon, coordinates="lonlat"
    )
    assert round(right.llr_, 5) == 8.47836
    assert round(swapped.llr_, 5) != 8.47836
    # Seoul-like coordinates given in the wrong order are caught with a hint.
    seoul_lonlat = np.array([[126.9, 37.5], [127.0, 37.6]])
    with pytest.raises(GeometryError, match="coordinates='lonlat'"):
        ScanStatistic(replications=0).fit([1, 2], [10, 10], seoul_lonlat, coordinates="latlon")


# ------------------------------------------------------------------ formulas
def test_llr_formulas_by_hand():
    # Poisson: C = 20 cases, a window with 8 observed where 4 were expected:
    # 8 log(8/4) + 12 log(12/16) = 5.545177 − 3.452185 = 2.092992.
    assert float(poisson_llr(8, 4, 20)) == pytest.approx(
        8 * math.log(2) + 12 * math.log(0.75), rel=1e-15
    )
    assert float(poisson_llr(8, 4, 20)) == pytest.approx(2.0929926, abs=1e-7)
    assert float(poisson_llr(0, 4, 20)) == pytest.approx(20 * math.log(20 / 16))
    # Bernoulli: 6 cases among 10 inside, 4 among 30 outside, 10 among 40 in all.
    by_hand = (
        6 * math.log(0.6)
        + 4 * math.log(0.4)
        + 4 * math.log(4 / 30)
        + 26 * math.log(26 / 30)
        - 10 * math.log(0.25)
        - 30 * math.log(0.75)
    )
    assert float(bernoulli_llr(6, 10, 10, 40)) == pytest.approx(by_hand, rel=1e-14)
    assert float(bernoulli_llr(10, 10, 10, 40)) == pytest.approx(
        -10 * math.log(0.25) - 30 * math.log(0.75)
    )
    # The published MLCs.
    assert round(float(poisson_llr(85, 552 * 95249 / 1057673, 552)), 6) == 11.577255
    assert round(float(bernoulli_llr(41, 38999, 552, 1057673)), 5) == 8.47836


def test_gumbel_matches_scipy_moments():
    reps = np.random.default_rng(0).gumbel(5.0, 1.2, 2000)
    beta = reps.std(ddof=1) * math.sqrt(6) / math.pi
    mu = reps.mean() - np.euler_gamma * beta
    x = np.array([4.0, 9.0, 14.0])
    np.testing.assert_allclose(gumbel_pvalues(x, reps), stats.gumbel_r.sf(x, mu, beta), rtol=1e-10)
    assert np.isnan(gumbel_pvalues(3.0, [1.0])).all()


def test_expected_counts_indirect_standardisation():
    cases = pd.DataFrame({"0-39": [2, 1, 1], "40+": [6, 2, 0]}, index=["a", "b", "c"])
    pop = pd.DataFrame({"0-39": [100, 200, 100], "40+": [100, 50, 50]}, index=["a", "b", "c"])
    # Rates: 4/400 = 0.01 and 8/200 = 0.04.
    e = expected_counts(cases, pop)
    np.testing.assert_allclose(e.to_numpy(), [1 + 4, 2 + 2, 1 + 2])
    assert e.sum() == pytest.approx(cases.to_numpy().sum())
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]])
    by_strata = ScanStatistic(replications=19, rng=2).fit(cases, pop, xy)
    direct = ScanStatistic(replications=19, rng=2).fit(
        cases.sum(axis=1), pop.sum(axis=1), xy, expected=e
    )
    np.testing.assert_allclose(by_strata.expected_, direct.expected_)
    np.testing.assert_array_equal(by_strata.llr_replicates_, direct.llr_replicates_)
    assert by_strata.provenance_["expected_source"] == "indirect standardisation over strata"
    with pytest.raises(DataError, match="same rows"):
        expected_counts(cases, pop.iloc[:2])


def test_expected_counts_are_rescaled_to_the_total():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    scan = ScanStatistic(replications=0).fit([5, 1, 1, 1], None, xy, expected=[1, 1, 1, 1])
    assert scan.expected_.sum() == pytest.approx(8)
    assert scan.provenance_["expected_scale"] == pytest.approx(2.0)


# ------------------------------------------------------------------ brute force, properties
def _brute_force_llr(cases, size, weight, xy, share, model, scan, min_cases, max_k=None):
    """Independent, slow scan: every centre, every radius, ties entering together.

    Returns the largest LLR and the number of windows within the limits.
    """
    c_tot, s_tot = cases.sum(), size.sum()
    best, windows = 0.0, 0
    for j in range(len(xy)):
        d = np.sqrt(((xy - xy[j]) ** 2).sum(axis=1))
        for radius in np.unique(d):
            inside = d <= radius
            if weight[inside].sum() > share * weight.sum() * (1 + 1e-12):
                break
            if max_k is not None and inside.sum() > max_k:
                break
            windows += 1
            c, s = cases[inside].sum(), size[inside].sum()
            if s <= 0 or s >= s_tot:
                continue
            e = s if model == "poisson" else s * c_tot / s_tot
            high, low = c > e, c < e
            if (high and (scan == "low" or c < min_cases)) or (low and scan == "high"):
                continue
            if not (high or low):
                continue
            if model == "poisson":
                llr = float(poisson_llr(c, e, c_tot))
            else:
                llr = float(bernoulli_llr(c, s, c_tot, s_tot))
            best = max(best, llr)
    return best, windows


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 14),
    seed=st.integers(0, 10_000),
    share=st.sampled_from([0.2, 0.5, 1.0]),
    model=st.sampled_from(["poisson", "bernoulli"]),
    scan=st.sampled_from(["high", "low", "both"]),
    max_k=st.sampled_from([None, 3]),
)
def test_scan_equals_brute_force(n, seed, share, model, scan, max_k):
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 4, size=(n, 2)).astype(float)  # integer grid: many exact ties
    pop = rng.integers(1, 60, size=n)
    cases = rng.binomial(pop, 0.2)
    if cases.sum() == 0 or cases.sum() == pop.sum():
        cases[0] = 1
        pop[0] = max(pop[0], 2)
    estimator = ScanStatistic(
        model, max_population_share=share, scan=scan, max_neighbours=max_k, replications=9
    )
    size = cases.sum() * pop / pop.sum() if model == "poisson" else pop.astype(float)
    want, windows = _brute_force_llr(
        cases, size, pop.astype(float), xy, share, model, scan, 2, max_k
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DongneWarning)  # duplicate locations are expected here
        if not windows:
            with pytest.raises(DataError, match="No window fits"):
                estimator.fit(cases, pop, xy)
            return
        fitted = estimator.fit(cases, pop, xy, ids=[f"a{i}" for i in range(n)])
    assert fitted.llr_ == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert fitted.n_windows_ <= windows  # duplicate locations give duplicate windows there
    p = fitted.clusters_["p_value"].to_numpy()
    assert ((p >= 1 / 10) & (p <= 1)).all()
    assert (np.diff(p) >= 0).all()  # less likely clusters never get smaller p-values


@pytest.mark.parametrize("model", ["poisson", "bernoulli"])
@pytest.mark.parametrize("direction", ["high", "low", "both"])
def test_replicate_maxima_are_exact(ny, model, direction):
    """The pruned replicate kernel returns the exact maximum of every replicate."""
    reps = 24
    scan = _fit_ny(ny, 0.5, model=model, scan=direction, replications=reps)
    offsets, entries = _windows_of(ny, 0.5)
    code = {"high": kern.HIGH, "low": kern.LOW, "both": kern.BOTH}[direction]
    if model == "poisson":
        size = scan.expected_
        shares = np.clip(size / np.cumsum(size[::-1])[::-1], 0, 1)
        shares[-1] = 1.0
        mcode, base = kern.POISSON, 0.0
    else:
        size = ny["population"].to_numpy(dtype=float)
        shares = size
        mcode = kern.BERNOULLI
        big_n = size.sum()
        base = 552 * math.log(552 / big_n) + (big_n - 552) * math.log((big_n - 552) / big_n)
    total = float(size.sum())
    sims = kern.simulate(mcode, shares, size, 552.0, total, scan.seed_, 0, reps)
    assert (sims.sum(axis=0) == 552).all()
    for r in range(reps):
        best = kern.scan_observed(
            offsets, entries, np.ascontiguousarray(sims[:, r]), size, 552.0, total,
            mcode, code, 2.0, base,
        )[0]  # fmt: skip
        assert scan.llr_replicates_[r] == best.max()


@pytest.mark.parametrize("model", ["poisson", "bernoulli"])
def test_replicate_maxima_are_exact_on_dense_counts(seoul_scan, model):
    """Seoul: about 730 cases per area, where the pruning bounds are loosest."""
    from dongne.detect._scan_core import build_windows, conditional_shares

    dongs, _ = seoul_scan
    metric = dongs.to_crs(5179)
    xy = np.column_stack([metric.centroid.x, metric.centroid.y])
    cases = dongs["basement_households"].to_numpy(dtype=float)
    pop = dongs["households"].to_numpy(dtype=float)
    big_c, big_n = cases.sum(), pop.sum()
    scan = ScanStatistic(model, scan="both", replications=16, rng=3).fit(cases, pop, xy)
    offsets, entries = build_windows(
        xy[:, 0], xy[:, 1], xy[:, 0], xy[:, 1], pop, 0.5 * big_n, math.inf, len(xy), False
    )
    if model == "poisson":
        size, shares, code, base = scan.expected_, conditional_shares(scan.expected_), 0, 0.0
    else:
        size, shares, code = pop, pop, 1
        base = big_c * math.log(big_c / big_n) + (big_n - big_c) * math.log(1 - big_c / big_n)
    sims = kern.simulate(code, shares, size, big_c, size.sum(), scan.seed_, 0, 16)
    for r in range(16):
        best = kern.scan_observed(
            offsets, entries, np.ascontiguousarray(sims[:, r]), size, big_c, size.sum(),
            code, kern.BOTH, 2.0, base,
        )[0]  # fmt: skip
        assert scan.llr_replicates_[r] == best.max()


def _windows_of(ny, share):
    from dongne.detect._scan_core import build_windows

    xy = ny[["lat", "lon"]].to_numpy()
    pop = ny["population"].to_numpy(dtype=float)
    return build_windows(
        xy[:, 0], xy[:, 1], xy[:, 0], xy[:, 1], pop, share * pop.sum(), math.inf, len(xy), False
    )


def test_identical_for_any_thread_count_and_batching(ny):
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _fit_ny(ny, 0.5, replications=1200, rng=99).llr_replicates_
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = _fit_ny(ny, 0.5, replications=1200, rng=99).llr_replicates_
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    # Replicate r depends only on (seed, r): a shorter run is a prefix of a longer one,
    # across the batch boundary at 1000.
    shorter = _fit_ny(ny, 0.5, replications=999, rng=99).llr_replicates_
    np.testing.assert_array_equal(shorter, one[:999])
    other_seed = _fit_ny(ny, 0.5, replications=50, rng=100).llr_replicates_
    assert not np.array_equal(other_seed, one[:50])


def test_progress_is_reported_per_batch(ny):
    calls = []
    ScanStatistic(max_population_share=0.1, replications=1500, rng=1).fit(
        ny["cases"],
        ny["population"],
        ny[["lat", "lon"]].to_numpy(),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1000, 1500), (1500, 1500)]


def test_samplers_match_their_distributions():
    for n, p in [(20, 0.1), (1000, 0.3), (1000, 0.8), (10**6, 2e-6)]:
        x = kern.draw_binomial(n, p, 5, 40_000)
        k = np.arange(n + 1)
        expect = stats.binom.pmf(k, n, p) * len(x)
        keep = expect > 5
        obs = np.bincount(x, minlength=n + 1)[keep]
        assert stats.chisquare(obs, expect[keep] * obs.sum() / expect[keep].sum()).pvalue > 1e-4
    for good, bad, sample in [(5, 20, 4), (300, 700, 100), (8000, 3_496_297, 308_660)]:
        x = kern.draw_hypergeometric(good, bad, sample, 5, 40_000)
        d = stats.hypergeom(good + bad, good, sample)
        assert x.mean() == pytest.approx(d.mean(), rel=0.01)
        assert x.var() == pytest.approx(d.var(), rel=0.05)


def test_null_data_sets_keep_the_totals():
    trials = np.array([10.0, 0.0, 25.0, 7.0, 40.0])
    sims = kern.simulate(kern.BERNOULLI, trials, trials, 20.0, trials.sum(), 11, 0, 500)
    assert (sims.sum(axis=0) == 20).all()
    assert (sims <= trials[:, None]).all()
    np.testing.assert_allclose(sims.mean(axis=1), trials * 20 / trials.sum(), atol=0.5)


# ------------------------------------------------------------------ power and type-I error
def _lattice(side=10):
    xy = np.array([[i, j] for j in range(side) for i in range(side)], dtype=float)
    return xy, np.full(side * side, 1000)


def test_type_one_error_is_calibrated():
    """200 data sets without any cluster: about 5% are significant at 0.05."""
    xy, pop = _lattice(8)
    rng = np.random.default_rng(2024)
    pvalues = []
    for k in range(200):
        cases = rng.multinomial(150, pop / pop.sum())
        scan = ScanStatistic(max_population_share=0.25, replications=99, rng=k).fit(cases, pop, xy)
        pvalues.append(scan.clusters_.loc[0, "p_value"])
    pvalues = np.array(pvalues)
    rejections = int((pvalues <= 0.05).sum())
    assert 3 <= rejections <= 19, rejections  # Binomial(200, 0.05): 99.8% range
    assert 0.42 < pvalues.mean() < 0.58


def test_planted_cluster_is_found_with_high_power():
    xy, pop = _lattice(10)
    planted = np.flatnonzero((np.abs(xy[:, 0] - 3) + np.abs(xy[:, 1] - 6)) <= 1)  # 5 areas
    risk = np.ones(len(pop))
    risk[planted] = 2.0
    rng = np.random.default_rng(7)
    found = 0
    overlap = []
    for k in range(40):
        cases = rng.poisson(pop * 0.006 * risk)
        scan = ScanStatistic(max_population_share=0.2, replications=99, rng=k).fit(cases, pop, xy)
        mlc = scan.clusters_.loc[0]
        found += mlc["p_value"] <= 0.05
        members = set(mlc["members"])
        overlap.append(len(members & set(planted)) / len(members | set(planted)))
    assert found >= 36  # power >= 0.9
    assert np.median(overlap) >= 0.5


def test_low_rate_scan_finds_a_cold_spot():
    xy, pop = _lattice(10)
    cold = np.flatnonzero((xy[:, 0] >= 6) & (xy[:, 1] >= 6))
    risk = np.ones(len(pop))
    risk[cold] = 0.1
    cases = np.random.default_rng(1).poisson(pop * 0.01 * risk)
    scan = ScanStatistic(scan="low", max_population_share=0.3, replications=99, rng=1).fit(
        cases, pop, xy
    )
    mlc = scan.clusters_.loc[0]
    assert mlc["direction"] == "low" and mlc["relative_risk"] < 0.5
    assert mlc["p_value"] == pytest.approx(0.01)
    both = ScanStatistic(scan="both", max_population_share=0.3, replications=99, rng=1).fit(
        cases, pop, xy
    )
    assert both.llr_ >= scan.llr_


# ------------------------------------------------------------------ reporting and Seoul
@pytest.fixture(scope="module")
def seoul_scan():
    from dongne.datasets import seoul_dongs

    dongs = seoul_dongs()
    scan = ScanStatistic(replications=99, rng=5, gumbel=True).fit(
        "basement_households", "households", dongs, ids="dong_code"
    )
    return dongs, scan


def test_seoul_geodataframe_is_scanned_in_metres(seoul_scan):
    dongs, scan = seoul_scan
    assert len(scan.ids_) == 423 and scan.ids_[0] == dongs["dong_code"].iloc[0]
    assert scan.provenance_["coordinates"]["crs"] == "EPSG:5179"
    assert scan.provenance_["coordinates"]["representation"] == "polygon centroids"
    mlc = scan.clusters_.loc[0]
    assert 100 < mlc["radius"] < 30_000  # metres
    assert (
        mlc["cases"]
        == dongs.set_index("dong_code").loc[mlc["members"], "basement_households"].sum()
    )
    assert mlc["p_value"] == pytest.approx(0.01)
    frame = scan.to_frame()
    assert len(frame) == 423 and frame.index.name == "id"
    assert (frame["label"] == "most likely cluster").sum() == mlc["n_areas"]
    assert frame.attrs["dongne"]["method"] == "kulldorff_circular_scan"


def test_summary_is_bilingual(seoul_scan):
    dongs, scan = seoul_scan
    names = dongs.set_index("dong_code")["dong_name"]
    text = scan.summary(names=names)
    assert "Most likely cluster" in text and "가장 유력한 군집" in text
    centre = scan.clusters_.loc[0, "centre"]
    assert names[centre] in text
    assert " km)" in text or " m)" in text


def test_plot_writes_a_cluster_map(seoul_scan, tmp_path):
    dongs, scan = seoul_scan
    result = scan.plot(dongs, id_column="dong_code", path=tmp_path / "scan.png")
    assert (tmp_path / "scan.png").stat().st_size > 10_000
    counts = result.counts
    assert counts["most likely cluster"] == scan.clusters_.loc[0, "n_areas"]
    assert counts.sum() == 423
    labels = scan.categories()
    assert labels["most likely cluster"][1].startswith("Most likely cluster")


def test_provenance_and_params(ny):
    scan = _fit_ny(ny, 0.1, replications=19, rng=3)
    prov = scan.provenance_
    assert prov["seed"] == 3 and prov["replications"] == 19
    assert prov["params"]["max_population_share"] == 0.1
    assert prov["n_windows"] == scan.n_windows_ > 281
    assert ScanStatistic(rng=3).get_params()["rng"] == 3
    assert scan_statistic(
        ny["cases"], ny["population"], ny[["lat", "lon"]].to_numpy(),
        max_population_share=0.1, replications=19, rng=3,
    ).llr_ == scan.llr_  # fmt: skip
    with pytest.raises(DongneError, match="not fitted"):
        ScanStatistic().summary()


def test_grid_of_centres_and_population_weighted_centroids():
    cells = [
        box(i * 1000, j * 1000, (i + 1) * 1000, (j + 1) * 1000) for j in range(4) for i in range(4)
    ]
    areas = gpd.GeoDataFrame({"id": range(16)}, geometry=cells, crs=5179)
    pop = np.full(16, 500)
    cases = np.array([9, 8, 1, 1, 7, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    grid = gpd.GeoSeries.from_xy([500.0, 2500.0], [500.0, 2500.0], crs=5179)
    scan = ScanStatistic(max_population_share=0.25, replications=0).fit(
        cases, pop, areas, centres=grid
    )
    assert scan.n_centres_ == 2 and scan.clusters_.loc[0, "centre"] == "centre 1"
    assert set(scan.clusters_.loc[0, "members"]) == {0, 1, 4}
    # Population-weighted centroid from two points per area.
    units = gpd.GeoDataFrame(
        {"area": ["a", "a", "b"], "pop": [3, 1, 5]},
        geometry=gpd.points_from_xy([0.0, 400.0, 1000.0], [0.0, 0.0, 0.0]),
        crs=5179,
    )
    centroids = population_weighted_centroids(units, "pop", "area")
    assert centroids.loc["a"].x == pytest.approx(100.0)
    assert centroids.loc["b"].x == pytest.approx(1000.0)


# ------------------------------------------------------------------ bad input
XY3 = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"cases": [5, 1, 1], "population": [4, 10, 10]}, DataError, "exceed the population"),
        ({"cases": [-1, 1, 1], "population": [10, 10, 10]}, DataError, "negative"),
        ({"cases": [1.5, 1, 1], "population": [10, 10, 10]}, DataError, "whole numbers"),
        ({"cases": [0, 0, 0], "population": [10, 10, 10]}, DataError, "no cases"),
        ({"cases": [1, None, 1], "population": [10, 10, 10]}, DataError, "missing"),
        ({"cases": [1, 2], "population": [10, 10]}, DataError, "n × 2"),
        ({"cases": [1, 2, 1], "population": [10, 10]}, DataError, "2 values but there are 3"),
        ({"cases": [1, 1, 1], "population": [0, 0, 0]}, DataError, "exceed the population"),
        ({"cases": [1, 1, 1], "population": None}, SpecificationError, "population at risk"),
    ],
)
def test_bad_counts_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        ScanStatistic(replications=0).fit(kwargs["cases"], kwargs["population"], XY3)


def test_bernoulli_bad_input():
    with pytest.raises(DataError, match="whole numbers"):
        ScanStatistic("bernoulli").fit([1, 1, 1], [10.5, 10, 10], XY3)
    with pytest.raises(DataError, match="no controls"):
        ScanStatistic("bernoulli").fit([1, 1, 1], [1, 1, 1], XY3)
    with pytest.raises(SpecificationError, match="Bernoulli"):
        ScanStatistic("bernoulli").fit([1, 1, 1], [9, 9, 9], XY3, expected=[1, 1, 1])
    with pytest.raises(SpecificationError, match="controls="):
        ScanStatistic().fit([1, 1, 1], [9, 9, 9], XY3, controls=[1, 1, 1])
    # controls= is the same as population = cases + controls.
    a = ScanStatistic("bernoulli", replications=9, rng=1).fit(
        [3, 1, 0], None, XY3, controls=[2, 9, 9]
    )
    b = ScanStatistic("bernoulli", replications=9, rng=1).fit([3, 1, 0], [5, 10, 9], XY3)
    np.testing.assert_array_equal(a.llr_replicates_, b.llr_replicates_)


def test_zero_population_areas_are_kept():
    """Areas without population (parks, water) can sit inside a cluster; they add nothing."""
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [9.0, 0.0], [10.0, 0.0]])
    pop = np.array([100, 0, 100, 100, 100, 100])
    cases = np.array([9, 0, 8, 1, 1, 1])
    scan = ScanStatistic(max_population_share=0.5, replications=49, rng=1).fit(cases, pop, xy)
    assert set(scan.clusters_.loc[0, "members"]) == {0, 1, 2}
    assert scan.expected_[1] == 0
    with pytest.raises(DataError, match="exceed the population"):
        ScanStatistic().fit([9, 1, 8, 1, 1, 1], pop, xy)


def test_duplicate_locations_warn_and_enter_together():
    xy = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [6.0, 0.0]])
    pop = np.full(5, 100)
    cases = np.array([9, 1, 1, 1, 1])
    with pytest.warns(DongneWarning, match="share their location"):
        scan = ScanStatistic(max_population_share=0.5, replications=0).fit(
            cases, pop, xy, ids=list("abcde")
        )
    assert set(scan.clusters_.loc[0, "members"]) == {"a", "b"}  # never "a" alone
    assert scan.n_centres_ == 4


def test_ids_alignment_and_messages():
    cases = pd.Series([3, 1, 1], index=["x", "y", "z"])
    pop = pd.Series([10, 10, 10], index=["z", "y", "x"])  # aligned by label
    scan = ScanStatistic(replications=0).fit(cases, pop, XY3)
    assert list(scan.ids_) == ["x", "y", "z"]
    with pytest.raises(DataError, match="population has no value for areas z"):
        ScanStatistic().fit(cases, pd.Series([9, 9, 9], index=["x", "y", "w"]), XY3)
    with pytest.raises(DataError, match="repeated"):
        ScanStatistic().fit([1, 1, 1], [5, 5, 5], XY3, ids=["a", "a", "b"])
    with pytest.raises(DataError, match="names a column"):
        ScanStatistic().fit("cases", [5, 5, 5], XY3)
    with pytest.raises(GeometryError, match="missing or infinite"):
        ScanStatistic().fit([1, 1, 1], [5, 5, 5], np.array([[0, 0], [np.nan, 1], [2, 2]]))
    areas = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)] * 3)
    with pytest.raises(GeometryError, match="no coordinate reference system"):
        ScanStatistic().fit([1, 1, 1], [5, 5, 5], areas)
    # Ids from the cases' index cannot be matched to rows of an unlabelled frame.
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 1, 2], [0, 0, 0]), crs=5179)
    with pytest.raises(DataError, match="cannot be matched"):
        ScanStatistic().fit(cases, pop, points)
    # A frame indexed by the ids is put in id order, whatever its row order.
    shuffled = points.set_axis(["z", "x", "y"]).iloc[[1, 2, 0]]
    shuffled.geometry = gpd.points_from_xy([0.0, 1000.0, 2000.0], [0, 0, 0], crs=5179)
    fitted = ScanStatistic(replications=0).fit(cases, pop, shuffled)
    np.testing.assert_allclose(fitted.coordinates_[:, 0], [0.0, 1000.0, 2000.0])
    with pytest.raises(DataError, match="not the area ids"):
        ScanStatistic().fit(cases, pop, points.set_axis(["p", "q", "r"]))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"model": "negbin"}, "'model'"),
        ({"scan": "up"}, "'scan'"),
        ({"replications": -1}, "'replications'"),
        ({"replications": 9.5}, "'replications'"),
        ({"max_population_share": 0}, "'max_population_share'"),
        ({"max_population_share": 1.5}, "'max_population_share'"),
        ({"max_radius": -1.0}, "'max_radius'"),
        ({"max_neighbours": 0}, "'max_neighbours'"),
        ({"alpha": 1.0}, "'alpha'"),
        ({"rng": -3}, "'rng'"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(SpecificationError, match=match):
        ScanStatistic(**params).fit([3, 1, 1], [10, 10, 10], XY3)


def test_no_window_within_the_limits():
    with pytest.raises(DataError, match="No window fits"):
        ScanStatistic(max_population_share=0.1, replications=0).fit([3, 1, 1], [10, 10, 10], XY3)


def test_no_cluster_on_the_scanned_side():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    scan = ScanStatistic(replications=9, rng=1, min_cases=5).fit([1, 1, 1, 1], [10] * 4, xy)
    assert scan.clusters_.empty and scan.llr_ == 0
    assert (scan.to_frame()["label"] == "not in a cluster").all()
    assert "no cluster" in scan.summary()


def test_non_significant_clusters_are_grey_and_listed_as_such(tmp_path):
    """Issue 15: clusters with p = 0.41 or 0.995 must not be coloured like significant ones."""
    from dongne.datasets import seoul_dongs
    from dongne.detect.scan import _NOT_SIGNIFICANT_COLOUR

    dongs = seoul_dongs()
    rng = np.random.default_rng(3)
    dongs["cases"] = rng.poisson(dongs["households"].to_numpy() * 0.01)  # no cluster at all
    scan = ScanStatistic(replications=99, rng=1, scan="both").fit(
        "cases", "households", dongs, ids="dong_code"
    )
    clusters = scan.clusters_
    assert not clusters["significant"].any() and (clusters["p_value"] > 0.05).all()
    result = scan.plot(
        dongs, id_column="dong_code", path=tmp_path / "scan.png", label="모의 사례", source="sim"
    )
    legend = result.figure.axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    faces = [h.get_facecolor() for h in legend.legend_handles]
    grey = to_rgba(_NOT_SIGNIFICANT_COLOUR)
    for k, row in clusters.iterrows():
        assert "not significant" in texts[k] and f"p = {row['p_value']:.3g}" in texts[k]
        assert faces[k] == pytest.approx(grey)
    assert "Monte Carlo p ≤ 0.05" in legend.get_title().get_text()
    assert "모의 사례" in result.figure.axes[0].get_title(loc="left")
    assert result.counts.sum() == 423


def test_significant_clusters_keep_their_colours(seoul_scan):
    _, scan = seoul_scan
    cats = scan.categories()
    significant = scan.clusters_["significant"].to_numpy()
    assert significant.all()  # Seoul's basement households: every cluster has p = 0.01
    colours = [style[0] for key, style in cats.items() if key != "not in a cluster"]
    assert "#bdbdbd" not in colours and len(set(colours)) == len(colours)


def test_scan_on_point_sites_draws_dots_and_cluster_circles(tmp_path):
    """SaTScan's own input is coordinates: a point layer is scanned and mapped as points."""
    from shapely import Point

    from dongne.cli import main

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 10_000, size=(120, 2)) + np.array([950_000, 1_950_000])
    pop = rng.integers(500, 2000, 120)
    hot = np.hypot(xy[:, 0] - 952_000, xy[:, 1] - 1_952_000) < 1500
    cases = rng.binomial(pop, np.where(hot, 0.04, 0.01))
    sites = gpd.GeoDataFrame(
        {"site": [f"s{i:03d}" for i in range(120)], "cases": cases, "pop": pop},
        geometry=[Point(x, y) for x, y in xy],
        crs=5179,
    )
    sites.to_file(tmp_path / "sites.gpkg")
    out = tmp_path / "scan"
    assert main(["scan", str(tmp_path / "sites.gpkg"), "--id", "site", "--cases", "cases",
                 "--population", "pop", "--replications", "99", "--out", str(out),
                 "--quiet"]) == 0  # fmt: skip
    clusters = pd.read_csv(out / "scan_clusters.csv")
    top = clusters.iloc[0]
    members = set(top["members"].strip("[]").replace("'", "").split(", "))
    assert top["p_value"] <= 0.05
    assert len(members & set(sites.loc[hot, "site"])) >= 0.7 * len(members)
    # the map is drawn as dots with one dashed circle per cluster, coloured like its members
    from dongne.detect.scan import ScanStatistic

    scan = ScanStatistic(replications=99, rng=0).fit(sites["cases"], sites["pop"], sites)
    circles = scan._cluster_circles(sites, sites.index.to_series())
    assert len(circles) == len(scan.clusters_)
    assert circles.area.iloc[0] == pytest.approx(np.pi * scan.clusters_["radius"].iloc[0] ** 2,
                                                  rel=0.01)  # fmt: skip
    result = scan.plot(sites, path=tmp_path / "map.png")
    assert result.path.is_file() and result.counts.sum() == 120


def test_scan_reads_a_table_of_coordinates_like_satscan(tmp_path, capsys):
    """A CSV of sites with lon/lat columns gives the same clusters as the same point layer;
    coordinates in centimetres are refused with the --xy-scale fix."""
    from shapely import Point

    from dongne.cli import main

    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(126.9, 127.1, 80), rng.uniform(37.45, 37.65, 80)
    pop = rng.integers(500, 2000, 80)
    cases = rng.binomial(pop, np.where((lon < 126.95) & (lat < 37.5), 0.05, 0.01))
    table = pd.DataFrame({"site": [f"s{i}" for i in range(80)], "경도": lon, "위도": lat,
                          "cases": cases, "pop": pop})  # fmt: skip
    table.to_csv(tmp_path / "sites.csv", index=False)
    gpd.GeoDataFrame(
        table.drop(columns=["경도", "위도"]),
        geometry=[Point(x, y) for x, y in zip(lon, lat, strict=True)],
        crs=4326,
    ).to_file(tmp_path / "sites.geojson")
    common = ["--id", "site", "--cases", "cases", "--population", "pop", "--replications",
              "99", "--quiet"]  # fmt: skip
    assert main(["scan", str(tmp_path / "sites.csv"), *common, "--out", str(tmp_path / "a")]) == 0
    assert main(["scan", str(tmp_path / "sites.geojson"), *common, "--out",
                 str(tmp_path / "b")]) == 0  # fmt: skip
    a = pd.read_csv(tmp_path / "a" / "scan_clusters.csv")
    b = pd.read_csv(tmp_path / "b" / "scan_clusters.csv")
    pd.testing.assert_frame_equal(a[["members", "cases", "llr", "p_value"]],
                                  b[["members", "cases", "llr", "p_value"]])  # fmt: skip
    capsys.readouterr()
    table.assign(x=lon * 0 + 200_000_00, y=lat * 0 + 550_000_00).drop(
        columns=["경도", "위도"]
    ).to_csv(tmp_path / "cm.csv", index=False)
    code = main(["scan", str(tmp_path / "cm.csv"), *common, "--crs", "EPSG:5186",
                 "--out", str(tmp_path / "c")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--xy-scale 0.01" in err and not (tmp_path / "c").exists()
