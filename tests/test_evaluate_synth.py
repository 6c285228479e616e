"""Synthetic control: Prop 99 against pysyncon, HiGHS and ADH (2010); simulations; bad input.

Specification for the Prop 99 checks (outcome only, no covariates in the shared data): every
pre-period outcome 1970–1988 is its own predictor, V chosen to minimise the 1970–1988 MSPE. For
this specification the nested problem has a known global optimum — the V that weights each
(standardised) outcome year by its variance turns the predictor fit into the outcome fit, so W is
the simplex-constrained least-squares fit of the pre-period path — which HiGHS solves directly.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from pysyncon import Dataprep, Synth
from pysyncon.utils import PlaceboTest

from dongne.errors import DataError, SpecificationError
from dongne.evaluate.synth import ConvexHullWarning, simplex_least_squares, synthetic_control

POLICY = Path(__file__).resolve().parents[1].parent / "shared" / "reference_data" / "policy"
PRE = list(range(1970, 1989))


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    return pd.read_csv(POLICY / "california_prop99.csv", index_col="Year")


@pytest.fixture(scope="module")
def fit(prop99):
    return synthetic_control(prop99, wide=True, treated="California", treatment_start=1989)


@pytest.fixture(scope="module")
def placebos(fit):
    return fit.placebo_test()


def highs_simplex_ls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """min ‖b − A w‖² over the simplex with the HiGHS QP solver (independent of dongne)."""
    j = a.shape[1]
    q = np.tril(2.0 * a.T @ a)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for _ in range(j):
        h.addVar(0.0, 1.0)
    cols = np.arange(j, dtype=np.int32)
    h.changeColsCost(j, cols, -2.0 * a.T @ b)
    h.addRow(1.0, 1.0, j, cols, np.ones(j))
    start = np.cumsum([0, *range(j, 1, -1)]).astype(np.int32)
    index = np.concatenate([np.arange(c, j) for c in range(j)]).astype(np.int32)
    value = np.concatenate([q[c:, c] for c in range(j)])
    h.passHessian(j, len(index), highspy.HessianFormat.kTriangular, start, index, value)
    h.run()
    return np.array(h.getSolution().col_value)


# --------------------------------------------------------------------------- Prop 99
def test_prop99_weights_and_gap_match_pysyncon_on_the_same_specification(prop99, fit):
    long = prop99.reset_index().melt(id_vars="Year", var_name="state", value_name="cigsale")
    donors = [s for s in prop99.columns if s != "California"]
    dp = Dataprep(
        foo=long,
        predictors=[],
        predictors_op="mean",
        dependent="cigsale",
        unit_variable="state",
        time_variable="Year",
        treatment_identifier="California",
        controls_identifier=donors,
        time_predictors_prior=PRE,
        time_optimize_ssr=PRE,
        special_predictors=[("cigsale", [y], "mean") for y in PRE],
    )
    x0, x1 = dp.make_covariate_mats()
    x = pd.concat([x0, x1], axis=1)
    xs = x.divide(x.std(axis=1), axis=0)
    # pysyncon's own inner solver (SLSQP, tightened: its default ftol stops ~0.05 short on
    # Colorado) with our V on pysyncon's own scaled predictors.
    w_ref, _ = Synth.w_optimize(
        np.diag(fit.v.to_numpy()),
        xs.drop(columns="California").to_numpy(),
        xs["California"].to_numpy(),
        qp_options={"maxiter": 10000, "ftol": 1e-14},
    )
    ours = fit.weights.reindex(x0.columns).to_numpy()
    assert np.abs(ours - w_ref).max() < 0.025
    assert np.abs(ours - w_ref).max() < 1e-3
    z0, z1 = dp.make_outcome_mats(time_period=range(1970, 2001))
    gap_ref = z1.to_numpy() - z0.to_numpy() @ w_ref
    assert np.abs(fit.path["gap"].to_numpy() - gap_ref).max() < 0.05  # packs per capita
    assert fit.loss_v <= Synth.calc_loss_V(w_ref, z0.loc[PRE].to_numpy(), z1.loc[PRE].to_numpy())


def test_prop99_nested_optimum_is_the_global_one(prop99, fit):
    # Lower bound of the nested problem for this specification: the simplex least-squares fit
    # of the 1970-1988 path (HiGHS QP). The V search must reach it.
    pre = prop99.loc[PRE]
    w_star = highs_simplex_ls(pre[fit.donors].to_numpy(), pre["California"].to_numpy())
    assert np.abs(fit.weights.reindex(fit.donors).to_numpy() - w_star).max() < 1e-4
    mspe_star = float(np.mean((pre["California"] - pre[fit.donors] @ w_star) ** 2))
    assert fit.loss_v == pytest.approx(mspe_star, rel=1e-7)
    assert fit.pre_rmspe == pytest.approx(np.sqrt(mspe_star), rel=1e-7)
    assert fit.pre_rmspe == pytest.approx(1.6564, abs=1e-4)


def test_prop99_against_published_adh_2010(fit):
    # ADH 2010 Table 2 (with covariates): Utah .334, Nevada .234, Montana .199, Colorado .164,
    # Connecticut .069. Outcome only, the same four main donors carry most weight, Colorado
    # keeps a small positive weight and New Hampshire enters (reported, not hidden).
    w = fit.weights
    assert set(w.index[:4]) == {"Utah", "Montana", "Nevada", "Connecticut"}
    assert w[["Utah", "Nevada", "Montana", "Colorado", "Connecticut"]].sum() > 0.9
    assert 0 < w["Colorado"] < 0.05
    expected = {
        "Utah": 0.3939,
        "Montana": 0.2318,
        "Nevada": 0.2049,
        "Connecticut": 0.1091,
        "New Hampshire": 0.0454,
        "Colorado": 0.0148,
    }
    assert w[list(expected)].round(4).to_dict() == expected
    assert w.drop(list(expected)).max() < 1e-6
    # "per-capita cigarette sales ... about 26 packs lower by 2000" (ADH 2010 abstract)
    assert fit.path.loc[2000, "gap"] == pytest.approx(-26, abs=1.0)
    assert fit.average_post_gap == pytest.approx(-19.51, abs=0.01)
    assert (fit.path.loc[1989:, "gap"] < 0).all()


def test_prop99_placebo_p_value_matches_pysyncon_definition(prop99, fit, placebos):
    # Independent placebo fits: each donor's simplex least-squares fit (HiGHS) among the other
    # donors (California excluded, as ADH), gaps fed to pysyncon's PlaceboTest.pvalue. pysyncon
    # counts placebos with a ratio >= the treated one over J + 1 (the treated unit itself not
    # counted), so dongne's rank/(J + 1) = pysyncon + 1/(J + 1). 1988.5 splits pre/post at 1989
    # (pysyncon's label slices would otherwise put 1989 in both).
    donors = fit.donors
    pre = prop99.loc[PRE]
    gaps = {}
    for d in donors:
        pool = [u for u in donors if u != d]
        w = highs_simplex_ls(pre[pool].to_numpy(), pre[d].to_numpy())
        gaps[d] = prop99[d] - prop99[pool] @ w
    ref = PlaceboTest()
    ref.gaps = pd.DataFrame(gaps)
    ref.treated_gap = fit.path["gap"].rename("California")
    p_ref = ref.pvalue(treatment_time=1988.5)
    assert placebos.p_value == pytest.approx(p_ref + 1 / 39, abs=1e-12)
    assert np.abs(placebos.gaps[donors].to_numpy() - ref.gaps[donors].to_numpy()).max() < 0.01
    # dongne's own value: California ranks 3rd of 39 (Missouri, Virginia above it).
    assert placebos.p_value == pytest.approx(3 / 39)
    top = placebos.table.sort_values("ratio", ascending=False).index[:3].tolist()
    assert top == ["Missouri", "Virginia", "California"]
    assert placebos.table.loc["California", "ratio"] == pytest.approx(12.44, abs=0.01)


def test_placebo_filter_drops_poorly_fitted_placebos(fit, placebos):
    five = fit.placebo_test(max_pre_mspe_ratio=5)
    multiple = placebos.table["pre_mspe_multiple"]
    assert int(five.table["kept"].sum()) == 1 + int((multiple.drop("California") <= 5).sum())
    kept = five.table[five.table["kept"]]
    assert five.p_value == pytest.approx(
        (kept["ratio"] >= kept.loc["California", "ratio"]).sum() / len(kept)
    )
    assert five.p_value == pytest.approx(3 / 32)
    assert isinstance(fit.plot_placebos(max_pre_mspe_ratio=5), Axes)
    with pytest.raises(SpecificationError, match="max_pre_mspe_ratio"):
        fit.placebo_test(max_pre_mspe_ratio=0)


def test_leave_one_out_refits_every_positive_donor(fit):
    loo = fit.leave_one_out()
    positive = fit.weights[fit.weights > 1e-6]
    assert sorted(loo.gaps.columns) == sorted(positive.index)
    assert (loo.weights.to_numpy() >= 0).all()
    np.testing.assert_allclose(loo.weights.sum(axis=1), 1.0, atol=1e-12)
    for d in positive.index:
        assert loo.weights.loc[d, d] == 0.0
    r = loo.range
    assert (r["loo_min"] <= r["loo_max"]).all()
    assert r.loc[2000, "loo_min"] == pytest.approx(-28.41, abs=0.01)
    assert r.loc[2000, "loo_max"] == pytest.approx(-24.92, abs=0.01)
    assert isinstance(fit.plot_loo(), Axes)


def test_reporting_surface(fit, placebos):
    frame = fit.to_frame()
    assert list(frame.columns) == ["treated", "synthetic", "gap", "post"]
    assert frame.attrs["dongne"]["dongne_version"]
    assert frame["post"].sum() == 12
    np.testing.assert_allclose(frame["gap"], frame["treated"] - frame["synthetic"])
    assert fit.post_rmspe == pytest.approx(np.sqrt((frame.loc[1989:, "gap"] ** 2).mean()))
    assert fit.balance.loc["outcome [1988]", "treated"] == pytest.approx(90.1)
    en, ko = fit.summary(), fit.summary("ko")
    assert "Utah 0.394" in en and "p = 0.077" in en and "-26.6" in en
    assert "합성" in ko and "p = 0.077" in ko
    assert isinstance(fit.plot(), Axes)
    with pytest.raises(SpecificationError):
        fit.summary("fr")


def test_long_input_equals_wide_input(prop99, fit):
    long = prop99.reset_index().melt(id_vars="Year", var_name="state", value_name="cigsale")
    again = synthetic_control(
        long,
        unit="state",
        time="Year",
        outcome="cigsale",
        treated="California",
        treatment_start=1989,
    )
    np.testing.assert_allclose(again.weights.reindex(fit.weights.index), fit.weights, atol=1e-12)


def test_covariate_predictors_from_long_data(prop99):
    long = prop99.reset_index().melt(id_vars="Year", var_name="state", value_name="cigsale")
    rng = np.random.default_rng(3)
    long["price"] = (
        long["state"].map(dict(zip(prop99.columns, rng.uniform(1, 2, 39), strict=True)))
        + (long["Year"] - 1970) * 0.05
    )
    res = synthetic_control(
        long,
        unit="state",
        time="Year",
        outcome="cigsale",
        treated="California",
        treatment_start=1989,
        predictors=["price"],
        predictor_window=range(1980, 1989),
        special_predictors=[(1975, "mean"), (1988, "mean"), ("price", [1984, 1985], "median")],
    )
    assert list(res.balance.index) == [
        "price mean [1980–1988]",
        "cigsale [1975]",
        "cigsale [1988]",
        "price median [1984–1985]",
    ]
    expected_price = long[(long.state == "California") & long.Year.between(1980, 1988)]
    assert res.balance.iloc[0]["treated"] == pytest.approx(expected_price["price"].mean())
    synth_price = res.balance.iloc[0]["synthetic"]
    means = long[long.Year.between(1980, 1988)].groupby("state")["price"].mean()
    assert synth_price == pytest.approx(float(means[res.weights.index] @ res.weights))
    with pytest.raises(SpecificationError, match="long data"):
        synthetic_control(
            prop99, wide=True, treated="California", treatment_start=1989, predictors=["price"]
        )


# --------------------------------------------------------------------------- properties
def test_weights_on_simplex_and_deterministic_for_a_seed(prop99):
    spec = dict(
        wide=True,
        treated="California",
        treatment_start=1989,
        special_predictors=[(1975, "mean"), (1980, "mean"), (1988, "mean"), (PRE, "mean")],
        n_starts=3,
    )
    a = synthetic_control(prop99, rng=7, **spec)
    b = synthetic_control(prop99, rng=7, **spec)
    assert (a.weights >= 0).all() and a.weights.sum() == pytest.approx(1, abs=1e-12)
    assert a.v.sum() == pytest.approx(1) and (a.v >= 0).all()
    np.testing.assert_array_equal(a.weights.to_numpy(), b.weights.to_numpy())
    np.testing.assert_array_equal(a.v.to_numpy(), b.v.to_numpy())
    assert a.provenance["start_losses"] == b.provenance["start_losses"]
    assert a.loss_v == pytest.approx(min(a.provenance["start_losses"]))


def test_given_v_and_equal_v(prop99):
    k = len(PRE)
    eq = synthetic_control(prop99, wide=True, treated="California", treatment_start=1989, v="equal")
    given = synthetic_control(
        prop99, wide=True, treated="California", treatment_start=1989, v=np.full(k, 3.0)
    )
    np.testing.assert_allclose(eq.weights, given.weights.reindex(eq.weights.index), atol=1e-12)
    np.testing.assert_allclose(eq.v, 1 / k)
    with pytest.raises(SpecificationError, match="non-negative"):
        synthetic_control(
            prop99, wide=True, treated="California", treatment_start=1989, v=np.ones(3)
        )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_simplex_least_squares_is_exact(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(12, 30)), rng.normal(size=12)
    v = rng.uniform(0, 1, 12)
    w = simplex_least_squares(a, b, v)
    sv = np.sqrt(v)
    ref = highs_simplex_ls(a * sv[:, None], b * sv)
    assert w.min() >= 0 and w.sum() == pytest.approx(1, abs=1e-12)
    np.testing.assert_allclose(w, ref, atol=1e-6)
    # KKT: every unused donor would raise the loss
    grad = -2 * a.T @ (v * (b - a @ w))
    mu = -grad[w > 0].mean()
    assert np.all(grad[w == 0] + mu >= -1e-9)
    np.testing.assert_allclose(grad[w > 0] + mu, 0, atol=1e-9)


def test_factor_model_recovers_the_convex_combination():
    rng = np.random.default_rng(2024)
    n_t, n_donors, start = 40, 20, 30
    factors = np.column_stack([np.ones(n_t), np.cumsum(rng.normal(size=(n_t, 2)), axis=0)])
    loadings = rng.uniform(0.5, 2.0, size=(n_donors, 3))
    donors = factors @ loadings.T + rng.normal(scale=0.05, size=(n_t, n_donors))
    truth = np.zeros(n_donors)
    truth[[3, 8, 15]] = [0.5, 0.3, 0.2]
    treated = donors @ truth
    treated[start:] -= 2.0  # the policy effect
    panel = pd.DataFrame(donors, columns=[f"d{i}" for i in range(n_donors)])
    panel["T"] = treated
    res = synthetic_control(panel, wide=True, treated="T", treatment_start=start)
    np.testing.assert_allclose(res.weights.reindex(panel.columns[:-1]), truth, atol=0.02)
    assert res.average_post_gap == pytest.approx(-2.0, abs=0.1)
    assert res.pre_rmspe < 0.05


# --------------------------------------------------------------------------- bad input
def test_treated_with_no_pre_period(prop99):
    with pytest.raises(SpecificationError, match="No pre-treatment period"):
        synthetic_control(prop99, wide=True, treated="California", treatment_start=1970)


def test_treated_not_in_data(prop99):
    with pytest.raises(DataError, match="Californa"):
        synthetic_control(prop99, wide=True, treated="Californa", treatment_start=1989)


def test_too_few_donors(prop99):
    with pytest.raises(SpecificationError, match="at least 2 donors"):
        synthetic_control(
            prop99,
            wide=True,
            treated="California",
            treatment_start=1989,
            donors=["Utah", "California"],
        )


def test_missing_values_are_named(prop99):
    holes = prop99.copy()
    holes.loc[1980, "Utah"] = np.nan
    with pytest.raises(DataError, match="Utah at 1980"):
        synthetic_control(holes, wide=True, treated="California", treatment_start=1989)
    # excluding the unit is the documented fix
    res = synthetic_control(
        holes, wide=True, treated="California", treatment_start=1989, exclude_donors=["Utah"]
    )
    assert "Utah" not in res.weights.index


def test_convex_hull_warning_lists_the_periods(prop99):
    high = prop99.copy()
    high.loc[1975:1977, "California"] = high.loc[1975:1977].max(axis=1) + 10
    with pytest.warns(ConvexHullWarning, match=r"3 period\(s\): 1975 \(above\), 1976"):
        res = synthetic_control(high, wide=True, treated="California", treatment_start=1989)
    assert list(res.hull_violations.index) == [1975, 1976, 1977]
    assert "outside all donors" in res.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvexHullWarning)
        synthetic_control(prop99, wide=True, treated="California", treatment_start=1989)


def test_long_data_errors():
    long = pd.DataFrame({"u": ["a", "a", "b"], "t": [1, 1, 1], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="Several rows"):
        synthetic_control(long, unit="u", time="t", outcome="y", treated="a", treatment_start=2)
    with pytest.raises(SpecificationError, match="'unit' column"):
        synthetic_control(long, time="t", outcome="y", treated="a", treatment_start=2)


def test_text_years_with_a_numeric_start_are_refused_with_the_fix(prop99, fit):
    text_years = prop99.set_axis(prop99.index.astype(str), axis=0)
    with pytest.raises(DataError) as err:
        synthetic_control(text_years, wide=True, treated="California", treatment_start=1989)
    message = str(err.value)
    assert "treatment_start 1989 is of type int" in message and "are text" in message
    assert "Fix: convert the period column to numbers" in message
    assert message.endswith("or pass treatment_start as text, e.g. treatment_start='1989'.")
    # numeric years with the start given as text (as the command line passes it) are coerced
    coerced = synthetic_control(prop99, wide=True, treated="California", treatment_start="1989")
    np.testing.assert_allclose(coerced.weights, fit.weights, atol=1e-9)
    with pytest.raises(DataError, match="is not a number, but the period labels are numbers"):
        synthetic_control(prop99, wide=True, treated="California", treatment_start="late 80s")
