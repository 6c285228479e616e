"""Callaway & Sant'Anna ATT(g,t) vs published R `did` numbers and moderndid; Bacon identity."""

import warnings
from dataclasses import replace
from pathlib import Path

import moderndid
import numpy as np
import pandas as pd
import pytest

from dongne import __version__
from dongne.errors import DataError, DongneWarning
from dongne.evaluate.bacon import LATE_VS_EARLY, bacon_decomposition
from dongne.evaluate.did import twfe
from dongne.evaluate.panel import panel_from_frame
from dongne.evaluate.staggered import att_gt

MPDTA = Path(__file__).resolve().parents[2] / "shared" / "reference_data" / "policy" / "mpdta.csv"


@pytest.fixture(scope="module")
def mpdta_frame():
    return pd.read_csv(MPDTA)


@pytest.fixture(scope="module")
def mpdta(mpdta_frame):
    return panel_from_frame(
        mpdta_frame,
        unit="countyreal",
        time="year",
        outcome="lemp",
        first_treated="first.treat",
        covariates=["lpop"],
    )


def test_mpdta_published_numbers(mpdta):
    """R did::att_gt / aggte on mpdta, never-treated controls, no covariates (methods.md f2)."""
    r = att_gt(mpdta, covariates=(), bootstrap=0)
    cells = r.cells.set_index(["group", "time"])["att"]
    for t, value in zip(
        [2004, 2005, 2006, 2007], [-0.0105, -0.0704, -0.1373, -0.1008], strict=True
    ):
        assert abs(cells[(2004.0, float(t))] - value) < 5e-5
    assert abs(r.aggregate("simple").overall - (-0.0400)) < 5e-5
    grp = r.aggregate("group")
    assert abs(grp.overall - (-0.0310)) < 5e-5
    for g, value in zip([2004, 2006, 2007], [-0.0797, -0.0229, -0.0261], strict=True):
        assert abs(grp.effects.loc[float(g), "estimate"] - value) < 5e-5


@pytest.mark.parametrize("control", ["never", "notyet"])
@pytest.mark.parametrize("method", ["reg", "ipw", "dr"])
def test_equals_moderndid_with_covariates(mpdta, mpdta_frame, control, method):
    r = att_gt(mpdta, control=control, method=method, bootstrap=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = moderndid.att_gt(
            mpdta_frame,
            yname="lemp",
            tname="year",
            idname="countyreal",
            gname="first.treat",
            xformla="~lpop",
            est_method=method,
            boot=False,
            control_group={"never": "nevertreated", "notyet": "notyettreated"}[control],
        )
        np.testing.assert_array_equal(r.cells["group"], ref.groups)
        np.testing.assert_array_equal(r.cells["time"], ref.times)
        np.testing.assert_allclose(r.cells["att"], ref.att_gt, atol=1e-6, rtol=0)
        np.testing.assert_allclose(r.cells["se_analytic"], ref.se_gt, atol=1e-6, rtol=0)
        assert r.pretest["statistic"] == pytest.approx(ref.wald_stat, abs=1e-6)
        # moderndid rounds its Wald p-value to 5 decimals
        assert r.pretest["p_value"] == pytest.approx(ref.wald_pvalue, abs=1e-5)
        for kind in ("simple", "group", "dynamic", "calendar"):
            ours = r.aggregate(kind)
            theirs = moderndid.aggte(ref, type=kind)
            assert ours.overall == pytest.approx(theirs.overall_att, abs=1e-6)
            assert ours.overall_se_analytic == pytest.approx(theirs.overall_se, abs=1e-6)
            if kind != "simple":
                np.testing.assert_allclose(ours.effects.index, theirs.event_times)
                np.testing.assert_allclose(ours.effects["estimate"], theirs.att_by_event, atol=1e-6)
                np.testing.assert_allclose(
                    ours.effects["se_analytic"], theirs.se_by_event, atol=1e-6
                )


@pytest.mark.parametrize(("base_period", "anticipation"), [("universal", 0), ("varying", 1)])
def test_base_period_and_anticipation_equal_moderndid(
    mpdta, mpdta_frame, base_period, anticipation
):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = att_gt(mpdta, base_period=base_period, anticipation=anticipation, bootstrap=0)
        ref = moderndid.att_gt(
            mpdta_frame,
            yname="lemp",
            tname="year",
            idname="countyreal",
            gname="first.treat",
            xformla="~lpop",
            base_period=base_period,
            anticipation=anticipation,
            boot=False,
        )
        np.testing.assert_allclose(r.cells["att"], ref.att_gt, atol=1e-6, rtol=0)
        dyn, ref_dyn = r.aggregate("dynamic"), moderndid.aggte(ref, type="dynamic")
        np.testing.assert_allclose(dyn.effects["estimate"], ref_dyn.att_by_event, atol=1e-6)
    if anticipation:
        assert len(r.excluded_units) == 20  # cohort 2004 has no base period before 2003


def test_bootstrap_reproducible_and_consistent(mpdta):
    r1 = att_gt(mpdta, covariates=(), bootstrap=999, rng=11)
    r2 = att_gt(mpdta, covariates=(), bootstrap=999, rng=11)
    pd.testing.assert_frame_equal(r1.cells, r2.cells)
    # bootstrap SEs estimate the analytic ones (1/sqrt(999) Monte Carlo error, ~10%)
    np.testing.assert_allclose(r1.cells["se"], r1.cells["se_analytic"], rtol=0.15)
    assert 2.0 < r1.critical_value < 3.5  # uniform over 12 cells: wider than 1.96
    dyn = r1.aggregate("dynamic", min_e=-3, max_e=2)
    assert list(dyn.effects.index) == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0]
    assert (
        dyn.effects["band_high"] - dyn.effects["band_low"]
        > dyn.effects["ci_high"] - dyn.effects["ci_low"]
    ).all()
    rad = att_gt(mpdta, covariates=(), bootstrap=999, multiplier="rademacher", rng=11)
    np.testing.assert_allclose(rad.cells["se"], rad.cells["se_analytic"], rtol=0.15)


def test_clustered_analytic_se(mpdta_frame):
    df = mpdta_frame.assign(state=mpdta_frame.countyreal // 1000)
    p = panel_from_frame(
        df,
        unit="countyreal",
        time="year",
        outcome="lemp",
        first_treated="first.treat",
        cluster="state",
    )
    r = att_gt(p, bootstrap=0)
    inf = r.influence
    codes = pd.factorize(df.groupby("countyreal")["state"].first().to_numpy(), sort=True)[0]
    sums = np.zeros((codes.max() + 1, inf.shape[1]))
    np.add.at(sums, codes, inf)
    np.testing.assert_allclose(r.cells["se_analytic"], np.sqrt((sums**2).sum(0)) / 500, rtol=1e-12)
    assert r.params["cluster"] == "state"


def _heterogeneous(rng, n_per=40, n_periods=6):
    """Cohorts treated in periods 3 and 5 and never (periods 1..6); effect grows by 1 per period
    of exposure."""
    groups = np.repeat([3.0, 5.0, 0.0], n_per)
    n = len(groups)
    t = np.arange(1, n_periods + 1)
    alpha = rng.normal(size=n)[:, None]
    exposure = np.where(
        (groups[:, None] > 0) & (t[None, :] >= groups[:, None]), t[None, :] - groups[:, None] + 1, 0
    )
    y = alpha + 0.3 * t[None, :] + exposure + rng.normal(size=(n, n_periods))
    frame = pd.DataFrame(
        {
            "u": np.repeat(np.arange(n), n_periods),
            "t": np.tile(t, n),
            "y": y.ravel(),
            "g": np.repeat(groups, n_periods),
        }
    )
    # true simple ATT: post cells weighted by cohort size (equal here) → mean exposure
    post = exposure[groups > 0]
    true = post[post > 0].mean()
    return frame, true


def test_cs_coverage_and_twfe_bias_under_heterogeneity():
    rng = np.random.default_rng(99)
    reps = 200
    cs, tw, covered = [], [], 0
    frame, true = _heterogeneous(rng)
    template = panel_from_frame(frame, unit="u", time="t", outcome="y", first_treated="g")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DongneWarning)
        for _ in range(reps):
            frame, _ = _heterogeneous(rng)
            p = replace(template, data=template.data.assign(y=frame["y"].to_numpy()))
            agg = att_gt(p, method="reg", bootstrap=0).aggregate("simple")
            cs.append(agg.overall)
            covered += agg.overall_ci[0] <= true <= agg.overall_ci[1]
            tw.append(twfe(p).estimate)
    cs, tw = np.array(cs), np.array(tw)
    assert abs(cs.mean() - true) < 3 * cs.std() / np.sqrt(reps)
    assert 0.90 <= covered / reps <= 0.99  # binomial(200, .95): 99.9% band [0.905, 0.985]
    # TWFE is biased downward here (forbidden comparisons subtract growing effects)
    assert true - tw.mean() > 10 * tw.std() / np.sqrt(reps)


def test_bacon_sums_to_twfe(mpdta):
    b = bacon_decomposition(mpdta)
    c = b.comparisons
    assert c["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    assert (c["weight"] * c["estimate"]).sum() == pytest.approx(b.twfe, abs=1e-10)
    assert b.twfe == pytest.approx(twfe(mpdta, covariates=()).estimate, abs=1e-10)
    row = c[(c["type"] == "treated vs never treated") & (c["treated"] == 2004)]
    assert row["estimate"].iloc[0] == pytest.approx(-0.0797, abs=5e-5)
    assert len(c) == 9 and LATE_VS_EARLY in set(c["type"])
    text = b.summary(cs_att=-0.0400)
    assert "forbidden" in text and "-0.04" in text
    assert b.plot().get_ylabel().startswith("2×2 DiD estimate")


def test_bacon_without_never_treated():
    frame, _ = _heterogeneous(np.random.default_rng(1))
    frame = frame[frame.g > 0]
    p = panel_from_frame(frame, unit="u", time="t", outcome="y", first_treated="g")
    b = bacon_decomposition(p)
    assert (b.comparisons["weight"] * b.comparisons["estimate"]).sum() == pytest.approx(
        twfe(p).estimate, abs=1e-10
    )
    assert set(b.comparisons["type"]) == {"earlier vs later treated", LATE_VS_EARLY}


def test_bad_inputs(mpdta_frame):
    frame, _ = _heterogeneous(np.random.default_rng(2))
    only_one = frame[frame.g == 3]
    p = panel_from_frame(only_one, unit="u", time="t", outcome="y", first_treated="g")
    with pytest.raises(DataError, match="no comparison units"):
        att_gt(p, control="notyet")
    with pytest.raises(DataError, match="no unit is never treated. Fix: use control='notyet'"):
        att_gt(p, control="never")
    early = frame.assign(g=np.where(frame.u < 5, 1.0, frame.g))
    p = panel_from_frame(early, unit="u", time="t", outcome="y", first_treated="g")
    with pytest.warns(DongneWarning, match=r"5 unit\(s\) are treated in the first period"):
        r = att_gt(p, bootstrap=0)
    assert sorted(r.excluded_units) == [0, 1, 2, 3, 4]
    assert "Units left out: 0, 1, 2, 3, 4" in r.summary()


def test_result_surface_and_spillover(mpdta):
    r = att_gt(mpdta, covariates=(), bootstrap=199, rng=3)
    assert r.params["dongne_version"] == __version__ and r.params["seed"] == 3
    en, ko = r.summary(), r.summary("ko")
    assert "-0.03995" in en and "Pre-trend check" in en and "사전" in ko
    ax = r.plot()
    assert ax.get_title().startswith("Event study")
    frame = r.aggregate("group").to_frame()
    assert list(frame["level"]) == ["2004.0", "2006.0", "2007.0", "overall"]


def test_spillover_exposure_in_att_gt():
    import geopandas as gpd
    from shapely import box

    from dongne import weights
    from dongne.evaluate.spillover import SpilloverRule

    cells = [
        box(i * 1000, j * 1000, (i + 1) * 1000, (j + 1) * 1000) for j in range(6) for i in range(6)
    ]
    areas = gpd.GeoDataFrame({"code": [f"c{k:02d}" for k in range(36)]}, geometry=cells, crs=5179)
    w = weights.rook(areas, ids="code")
    first = {"c07": 3, "c10": 3, "c25": 4, "c28": 4}
    near = {
        n: min(g for c, g in first.items() if n in set(w.neighbours(c)))
        for c in first
        for n in w.neighbours(c)
        if n not in first
    }
    rng = np.random.default_rng(8)
    rows = []
    for code in areas.code:
        fx = rng.normal()
        for t in range(1, 6):
            eff = 3.0 * (code in first and t >= first[code])
            spill = 1.0 * (code in near and t >= near[code])
            rows.append(
                (code, t, fx + 0.2 * t + eff + spill + 0.05 * rng.normal(), first.get(code, 0))
            )
    p = panel_from_frame(
        pd.DataFrame(rows, columns=["code", "t", "y", "g"]),
        unit="code",
        time="t",
        outcome="y",
        first_treated="g",
    )
    rule = SpilloverRule(weights=w, ring=1, handling="exposure")
    r = att_gt(p, method="reg", bootstrap=0, spillover=rule)
    assert sorted(r.exposure.exposed) == sorted(near)
    assert r.aggregate("simple").overall == pytest.approx(3.0, abs=0.1)
    assert r.exposure_effect.aggregate("simple").overall == pytest.approx(1.0, abs=0.1)
    naive = att_gt(p, method="reg", bootstrap=0).aggregate("simple").overall
    assert naive < 2.9
    assert "Effect on exposed areas: +1" in r.summary()
    assert r.params["spillover"]["exposed_units"] == sorted(near, key=list(areas.code).index)


def _castle_like(seed=0):
    """Castle-doctrine-like panel: 50 states, 2000–2010, cohorts 2005 (1 state), 2006 (13),
    2007 (4), 2008 (2), 2009 (1), 29 never treated; no effect (a null). The 2005 state has the
    largest covariate value x, so x separates it perfectly from the comparison states."""
    rng = np.random.default_rng(seed)
    sizes = {2005: 1, 2006: 13, 2007: 4, 2008: 2, 2009: 1}
    g = np.concatenate([np.full(k, y) for y, k in sizes.items()] + [np.zeros(29)])
    years = np.arange(2000, 2011)
    y = (
        rng.normal(0, 0.5, (50, 1))
        + rng.normal(0, 0.1, (1, len(years)))
        + rng.normal(0, 0.1, (50, len(years)))
    )
    x = rng.normal(size=50)
    x[0] = 3.5
    return pd.DataFrame(
        {
            "state": np.repeat(np.arange(50), len(years)),
            "year": np.tile(years, 50),
            "y": y.ravel(),
            "g": np.repeat(g, len(years)),
            "x": np.repeat(x, len(years)),
        }
    )


def test_castle_like_no_pretest_from_singular_covariance_and_small_cohort_warning():
    frame = _castle_like()
    p = panel_from_frame(
        frame, unit="state", time="year", outcome="y", first_treated="g", covariates=["x"]
    )
    with pytest.warns(DongneWarning, match=r"Cohort\(s\) 2005, 2009 have one unit each"):
        r = att_gt(p, covariates=(), bootstrap=199, rng=1)
    pt = r.pretest
    # 30 pre-treatment cells (2005: 4, 2006: 5, 2007: 6, 2008: 7, 2009: 8); the one-unit
    # cohorts 2005 and 2009 share their comparison units, so their cells are linearly dependent
    assert pt["n_cells"] == 30 and pt["rank"] == 17
    assert np.isnan(pt["p_value"]) and np.isnan(pt["statistic"])
    assert "singular (rank 17)" in pt["reason"] and "2005, 2009 have one unit" in pt["reason"]
    assert r.single_unit_cohorts == [2005.0, 2009.0]
    text = r.summary()
    assert "chi2" not in text and "No pre-trend Wald test is reported" in text
    # the pre-period event-time effects with their uniform bands replace the test
    dyn = r.aggregate("dynamic").effects
    e1 = dyn.loc[-1.0]
    assert f"e = -1: {e1.estimate:+.3g} ({e1.band_low:.3g} to {e1.band_high:.3g})" in text
    assert "95% uniform bands" in text and "have one area each" in text
    assert "χ²" not in r.summary("ko") and "사전추세 왈드 검정은 보고하지 않습니다" in r.summary(
        "ko"
    )


def test_castle_like_dr_with_covariates_drops_cells_without_overlap_as_moderndid():
    frame = _castle_like()
    p = panel_from_frame(
        frame, unit="state", time="year", outcome="y", first_treated="g", covariates=["x"]
    )
    with pytest.warns(DongneWarning) as caught:
        r = att_gt(p, method="dr", bootstrap=0)
    overlap = [str(w.message) for w in caught if "Overlap fails" in str(w.message)]
    assert len(overlap) == 1
    assert "10 (g,t) cell(s) (g=2005, t=2001), (g=2005, t=2002)" in overlap[0]
    assert "Fix: use method='reg'" in overlap[0]
    assert r.dropped_cells == [(2005.0, float(t)) for t in range(2001, 2011)]
    assert 2005.0 not in set(r.cells["group"])
    assert "Cells left out because overlap fails" in r.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = moderndid.att_gt(
            frame,
            yname="y",
            tname="year",
            idname="state",
            gname="g",
            xformla="~x",
            est_method="dr",
            boot=False,
        )
    # moderndid drops the same cells (fitted propensity score >= 0.999) and keeps the rest
    np.testing.assert_array_equal(r.cells["group"], ref.groups)
    np.testing.assert_array_equal(r.cells["time"], ref.times)
    np.testing.assert_allclose(r.cells["att"], ref.att_gt, atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.cells["se_analytic"], ref.se_gt, atol=1e-8, rtol=0)
    # moderndid still reports its Wald test here (the 2009 cohort has one unit): p = 0.0
    assert ref.wald_pvalue < 1e-5 and np.isnan(r.pretest["p_value"])
    with pytest.warns(DongneWarning) as caught:
        ipw = att_gt(p, method="ipw", bootstrap=0)
    assert any("Overlap fails in 10 (g,t) cell(s)" in str(w.message) for w in caught)
    assert ipw.dropped_cells == r.dropped_cells


def test_no_cell_left_after_overlap_failures_is_an_error():
    frame = _castle_like()
    only = frame[frame.g.isin([0, 2005])]
    p = panel_from_frame(
        only, unit="state", time="year", outcome="y", first_treated="g", covariates=["x"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DongneWarning)
        with pytest.raises(DataError, match=r"No cell is left\. Fix: use method='reg'"):
            att_gt(p, method="dr", bootstrap=0)


def test_pretest_refused_when_clusters_make_the_covariance_singular():
    rng = np.random.default_rng(5)
    frame, _ = _heterogeneous(rng)
    frame["region"] = frame["u"] % 3  # 3 clusters for 1 + 3 = 4 pre-treatment cells
    p = panel_from_frame(
        frame, unit="u", time="t", outcome="y", first_treated="g", cluster="region"
    )
    r = att_gt(p, bootstrap=0)
    assert r.pretest["n_cells"] == 4 and r.pretest["rank"] < 4
    assert np.isnan(r.pretest["p_value"]) and "singular" in r.pretest["reason"]
    assert r.single_unit_cohorts == []
    # with units as clusters the same cells give a full-rank test, as before
    full = att_gt(
        panel_from_frame(frame, unit="u", time="t", outcome="y", first_treated="g"), bootstrap=0
    )
    assert full.pretest["rank"] == 4 and 0 < full.pretest["p_value"] < 1
    assert "chi2 = " in full.summary()


def _two_periods(seed, n=12, treated=3):
    rng = np.random.default_rng(seed)
    dy = rng.normal(0, 1, n)
    dy[:treated] += 1.0
    frame = pd.DataFrame({"u": np.repeat(np.arange(n), 2), "t": np.tile([2019, 2020], n)})
    frame["y"] = np.where(frame.t == 2020, np.repeat(dy, 2), 0.0)
    frame["g"] = np.where(frame.u < treated, 2020, 0)
    return panel_from_frame(frame, unit="u", time="t", outcome="y", first_treated="g")


def test_two_periods_few_clusters_use_the_wild_cluster_bootstrap():
    from dongne.evaluate.did import did_2x2

    p = _two_periods(24)
    with pytest.warns(DongneWarning, match=r"two periods \(2019, 2020\)"):
        r = att_gt(p, bootstrap=999)
    cell = r.cells.iloc[0]
    # the multiplier-bootstrap interval excludes 0 ...
    assert cell["ci_low"] > 0
    # ... but with 12 clusters the wild cluster bootstrap (Webb, 9,999 draws) does not reject
    with pytest.warns(DongneWarning, match="Only 12 clusters"):
        ref = did_2x2(p, bootstrap=9999, bootstrap_weights="webb", rng=0)
    assert ref.estimate == pytest.approx(cell["att"], abs=1e-12)
    assert r.wild == ref.wild
    assert r.wild.p_value == pytest.approx(0.183, abs=1e-3) and r.wild.replications == 9999
    text = r.summary()
    assert f"p = {ref.wild.p_value:.3g}, wild cluster bootstrap (webb weights" in text
    assert "only 12 clusters (fewer than 30" in text
    assert "cannot be distinguished from no effect" in text
    assert "Two periods only: parallel pre-trends cannot be checked" in text
    assert r.params["wild_bootstrap"]["p_value"] == ref.wild.p_value
    # 30 clusters or more: no wild bootstrap, the multiplier-bootstrap interval stays
    with pytest.warns(DongneWarning, match="two periods"):
        many = att_gt(_two_periods(24, n=40, treated=10), bootstrap=99)
    assert many.wild is None and "wild" not in many.summary()


def test_seoul_demo_panel_two_periods_gets_the_wild_bootstrap_p():
    from dongne.demo.evaluate import _seoul_gu_basement_panel

    frame, _, _ = _seoul_gu_basement_panel()
    p = panel_from_frame(
        frame,
        unit="gu_code",
        time="year",
        outcome="basement_share_pct",
        first_treated="first_treated",
    )
    with pytest.warns(DongneWarning, match="two periods"):
        r = att_gt(p, bootstrap=999)
    assert r.cells["att"].iloc[0] == pytest.approx(0.731974, abs=1e-6)  # the issue's +0.73
    assert r.wild is not None and r.wild.p_value == pytest.approx(0.0144, abs=1e-4)
    assert "wild cluster bootstrap" in r.summary() and "25 clusters" in r.summary()
