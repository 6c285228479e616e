"""TWFE and 2×2 DiD against linearmodels PanelOLS, wild cluster bootstrap, coverage, spillovers."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from linearmodels import PanelOLS

from dongne import __version__, weights
from dongne.errors import DataError, DongneWarning, SpecificationError
from dongne.evaluate.did import _design, did_2x2, twfe, wild_cluster_bootstrap
from dongne.evaluate.panel import panel_from_frame
from dongne.evaluate.spillover import SpilloverRule

MPDTA = Path(__file__).resolve().parents[2] / "shared" / "reference_data" / "policy" / "mpdta.csv"


@pytest.fixture(scope="module")
def mpdta():
    df = pd.read_csv(MPDTA)
    df["D"] = ((df["first.treat"] > 0) & (df.year >= df["first.treat"])).astype(float)
    return df


def _simulated(seed=3, n_units=60, n_periods=6, effect=1.5):
    rng = np.random.default_rng(seed)
    rows = [(u, t) for u in range(n_units) for t in range(n_periods)]
    df = pd.DataFrame(rows, columns=["u", "t"])
    g = np.where(np.arange(n_units) < n_units // 2, 3, 0)
    df["g"] = g[df.u]
    df["district"] = df.u // 4
    df["x1"] = rng.normal(size=len(df)) + 0.1 * df.t
    df["x2"] = rng.normal(size=len(df))
    alpha = rng.normal(size=n_units)[df.u]
    d = ((df.g > 0) & (df.t >= df.g)).astype(float)
    df["D"] = d
    df["y"] = alpha + 0.3 * df.t + effect * d + 0.5 * df.x1 - 0.2 * df.x2 + rng.normal(size=len(df))
    return df


def test_twfe_mpdta_equals_panelols(mpdta):
    p = panel_from_frame(
        mpdta, unit="countyreal", time="year", outcome="lemp", first_treated="first.treat"
    )
    res = twfe(p)
    ref = PanelOLS(
        mpdta.set_index(["countyreal", "year"])["lemp"],
        mpdta.set_index(["countyreal", "year"])[["D"]],
        entity_effects=True,
        time_effects=True,
    ).fit(cov_type="clustered", cluster_entity=True)
    assert res.estimate == pytest.approx(ref.params["D"], abs=1e-8)
    assert res.se == pytest.approx(ref.std_errors["D"], abs=1e-8)
    assert res.estimate == pytest.approx(-0.0365489, abs=5e-7)
    assert res.n_clusters == 500 and res.n_treated == 191


def test_twfe_covariates_and_cluster_equal_panelols():
    df = _simulated()
    p = panel_from_frame(
        df,
        unit="u",
        time="t",
        outcome="y",
        first_treated="g",
        covariates=["x1", "x2"],
        cluster="district",
    )
    with pytest.warns(DongneWarning, match="Only 15 clusters") as caught:
        res = twfe(p)
    # twfe is wrapped (dongne._deprecate.renamed): the warning still names this line
    assert caught[0].filename == __file__
    data = df.set_index(["u", "t"])
    ref = PanelOLS(data["y"], data[["D", "x1", "x2"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", clusters=data[["district"]]
    )
    assert res.estimate == pytest.approx(ref.params["D"], abs=1e-8)
    assert res.se == pytest.approx(ref.std_errors["D"], abs=1e-8)
    np.testing.assert_allclose(res.covariates["coefficient"], ref.params[["x1", "x2"]], atol=1e-8)
    np.testing.assert_allclose(res.covariates["se"], ref.std_errors[["x1", "x2"]], atol=1e-8)
    by_unit = twfe(
        panel_from_frame(
            df, unit="u", time="t", outcome="y", first_treated="g", covariates=["x1", "x2"]
        )
    )
    ref_u = PanelOLS(
        data["y"], data[["D", "x1", "x2"]], entity_effects=True, time_effects=True
    ).fit(cov_type="clustered", cluster_entity=True)
    assert by_unit.se == pytest.approx(ref_u.std_errors["D"], abs=1e-8)


def test_did_2x2_is_difference_of_mean_changes():
    df = _simulated(n_periods=5)
    p = panel_from_frame(df, unit="u", time="t", outcome="y", first_treated="g")
    res = did_2x2(p)
    y = p.outcome_matrix()
    change = y[:, 3:].mean(axis=1) - y[:, :3].mean(axis=1)
    treated = np.isfinite(p.first_treated.to_numpy())
    assert res.estimate == pytest.approx(
        change[treated].mean() - change[~treated].mean(), abs=1e-12
    )
    # the clustered SE of the two-period model is the HC1-type SE of OLS of the change on D
    x = np.column_stack([np.ones(len(change)), treated])
    coef = np.linalg.lstsq(x, change, rcond=None)[0]
    e = change - x @ coef
    bread = np.linalg.inv(x.T @ x)
    n = len(change)
    meat = (x * e[:, None]).T @ (x * e[:, None])
    scale = 2 * n / (2 * n - 1 - (n + 2 - 1))
    se = np.sqrt((bread @ meat @ bread)[1, 1] * scale)
    assert res.se == pytest.approx(se, rel=1e-10)
    df.loc[df.u == 0, "g"] = 4
    with pytest.raises(SpecificationError, match="treated units start in 3, 4"):
        did_2x2(panel_from_frame(df, unit="u", time="t", outcome="y", first_treated="g"))


def test_wild_bootstrap_equals_brute_force():
    df = _simulated(n_units=40, effect=0.4)
    p = panel_from_frame(
        df,
        unit="u",
        time="t",
        outcome="y",
        first_treated="g",
        covariates=["x1"],
        cluster="district",
    )
    y, z = _design(p, p.treatment_matrix(), ["x1"])
    clusters = np.repeat(p.clusters(), p.n_periods)
    boot = wild_cluster_bootstrap(y, z, clusters, replications=499, weights="rademacher", seed=7)
    # brute force: the same draws, explicit restricted residuals and regressions
    v = np.random.default_rng(7).integers(0, 2, size=(clusters.max() + 1, 499)) * 2.0 - 1.0
    x = z[:, 1:]

    def t_stats(b0):
        gam = np.linalg.lstsq(x, y - b0 * z[:, 0], rcond=None)[0]
        fitted = b0 * z[:, 0] + x @ gam
        u = y - fitted
        out = []
        for b in range(v.shape[1]):
            ys = fitted + u * v[clusters, b]
            coef = np.linalg.lstsq(z, ys, rcond=None)[0]
            e = ys - z @ coef
            s = np.zeros((clusters.max() + 1, z.shape[1]))
            np.add.at(s, clusters, z * e[:, None])
            inv = np.linalg.inv(z.T @ z)
            out.append((coef[0] - b0) / np.sqrt((inv @ s.T @ s @ inv)[0, 0]))
        coef = np.linalg.lstsq(z, y, rcond=None)[0]
        e = y - z @ coef
        s = np.zeros((clusters.max() + 1, z.shape[1]))
        np.add.at(s, clusters, z * e[:, None])
        inv = np.linalg.inv(z.T @ z)
        t_obs = (coef[0] - b0) / np.sqrt((inv @ s.T @ s @ inv)[0, 0])
        return np.array(out), t_obs

    t_star, t_obs = t_stats(0.0)
    assert boot.p_value == pytest.approx(np.mean(np.abs(t_star) >= abs(t_obs)), abs=1e-12)
    lo, hi = boot.ci
    for edge, inside in ((lo, lo + 1e-4), (hi, hi - 1e-4)):
        t_star, t_obs = t_stats(inside)
        assert np.mean(np.abs(t_star) >= abs(t_obs)) > 0.05
        t_star, t_obs = t_stats(2 * edge - inside)
        assert np.mean(np.abs(t_star) >= abs(t_obs)) <= 0.05
    again = wild_cluster_bootstrap(y, z, clusters, replications=499, weights="rademacher", seed=7)
    assert again == boot


def test_twfe_coverage_homogeneous_effect():
    """200 seeded panels (30 units × 4 periods, effect 1): bias ≈ 0, 95% CI covers ≈ 95%."""
    rng = np.random.default_rng(2024)
    n_units, n_periods, reps = 30, 4, 200
    base = pd.DataFrame(
        [(u, t) for u in range(n_units) for t in range(n_periods)], columns=["u", "t"]
    )
    treated = base.u < 12
    d = (treated & (base.t >= 2)).to_numpy(float)
    estimates, covered = [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DongneWarning)
        for _ in range(reps):
            unit_fx = rng.normal(size=n_units)[base.u]
            y = unit_fx + 0.5 * base.t + 1.0 * d + rng.normal(size=len(base))
            p = panel_from_frame(
                base.assign(y=y),
                unit="u",
                time="t",
                outcome="y",
                treated_units=range(12),
                treatment_start=2,
            )
            r = twfe(p)
            estimates.append(r.estimate)
            covered += r.ci[0] <= 1.0 <= r.ci[1]
    se_mean = np.std(estimates) / np.sqrt(reps)
    assert abs(np.mean(estimates) - 1.0) < 3 * se_mean
    # binomial(200, 0.95): 99.9% of draws within [0.905, 0.985]; CR1 with 30 clusters is
    # close to nominal
    assert 0.90 <= covered / reps <= 0.99


def test_time_invariant_covariate_is_absorbed(mpdta):
    p = panel_from_frame(
        mpdta,
        unit="countyreal",
        time="year",
        outcome="lemp",
        first_treated="first.treat",
        covariates=["lpop"],
    )
    with pytest.raises(DataError, match=r"'lpop' do not change over time within units"):
        twfe(p)


def test_result_surface(mpdta):
    p = panel_from_frame(
        mpdta, unit="countyreal", time="year", outcome="lemp", first_treated="first.treat"
    )
    res = twfe(p, bootstrap=199, rng=1)
    frame = res.to_frame()
    assert (
        frame.loc[0, "estimate"] == res.estimate
        and frame.loc[0, "wild_p_value"] == res.wild.p_value
    )
    assert res.params["dongne_version"] == __version__ and res.params["seed"] == 1
    assert f"{res.estimate:+.4g}" in res.summary() and "평행추세" in res.summary("ko")
    ax = res.plot()
    assert ax.get_xlabel() == "effect on lemp"


def test_spillover_exclude_and_exposure():
    """Treated centre of a 5×5 grid raises its rook neighbours by 2: exclusion removes the bias."""
    import geopandas as gpd
    from shapely import box

    cells = [
        box(i * 1000, j * 1000, (i + 1) * 1000, (j + 1) * 1000) for j in range(5) for i in range(5)
    ]
    areas = gpd.GeoDataFrame({"code": [f"c{k:02d}" for k in range(25)]}, geometry=cells, crs=5179)
    w = weights.rook(areas, ids="code")
    treated = ["c06", "c08", "c16", "c18"]
    rng = np.random.default_rng(5)
    rows = []
    neighbours = set()
    for c in treated:
        neighbours |= set(w.neighbours(c))
    for code in areas.code:
        fx = rng.normal()
        for t in range(4):
            eff = 3.0 if (code in treated and t >= 2) else 0.0
            spill = 2.0 if (code in neighbours and code not in treated and t >= 2) else 0.0
            rows.append((code, t, fx + 0.2 * t + eff + spill + 0.05 * rng.normal()))
    df = pd.DataFrame(rows, columns=["code", "t", "y"])
    p = panel_from_frame(
        df, unit="code", time="t", outcome="y", treated_units=treated, treatment_start=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DongneWarning)
        naive = twfe(p)
        clean = twfe(p, spillover=SpilloverRule(weights=w, ring=1))
        exp = twfe(p, spillover=SpilloverRule(weights=w, ring=1, handling="exposure"))
        ignored = twfe(p, spillover=SpilloverRule(weights=w, handling="ignore"))
    assert naive.estimate < 2.5  # contaminated controls pull the estimate down
    assert clean.estimate == pytest.approx(3.0, abs=0.1)
    assert sorted(clean.excluded_units) == sorted(neighbours - set(treated))
    assert exp.exposure_effect.estimate == pytest.approx(2.0, abs=0.1)
    assert ignored.estimate == naive.estimate and len(ignored.exposure.exposed) == 12
    assert "exposed units: 12" in clean.summary()
    assert "Effect on exposed areas: +2" in exp.summary()
    assert exp.params["spillover"]["handling"] == "exposure"
    assert len(exp.to_frame()) == 2
