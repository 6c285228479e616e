"""Federated training (FedAvg, FedProx, q-FedAvg, DP-FedAvg), privacy accounting, dropouts and
small-cell suppression (dongne.share)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.linear_model import LinearRegression, LogisticRegression

from dongne.errors import SpecificationError
from dongne.share import (
    FederationError,
    Institution,
    InstitutionDropout,
    epsilon_spent,
    federate,
    noise_multiplier_for,
    suppress_small_cells,
)
from dongne.share.protocol import _loss_and_grad

FEATURES = ["a", "b", "c"]
BETA = np.array([1.0, -2.0, 0.5])


def _linear_table(rng, n, shift=0.0, scale=1.0):
    X = rng.normal(0.0, 1.0, (n, 3)) * scale + shift
    y = X @ BETA + 3.0 + rng.normal(0.0, 0.5, n)
    return pd.DataFrame(X, columns=FEATURES).assign(y=y)


@pytest.fixture(scope="module")
def iid_tables():
    rng = np.random.default_rng(0)
    return {f"inst{k}": _linear_table(rng, 100) for k in range(4)}


@pytest.fixture(scope="module")
def non_iid_tables():
    # each institution sees a different slice of feature space and a different scale
    rng = np.random.default_rng(1)
    tables = {}
    for k, n in enumerate([20, 50, 100, 300]):
        X = rng.normal(0.0, 1.0, (n, 3))
        X[:, 0] += 3.0 * (k - 1.5)
        X[:, 1] *= 0.3 + k
        y = X @ BETA + 3.0 + rng.normal(0.0, 0.5, n)
        tables[f"inst{k}"] = pd.DataFrame(X, columns=FEATURES).assign(y=y)
    return tables


def _slopes(model):
    zero = pd.DataFrame(np.zeros((1, 3)), columns=FEATURES)
    unit = pd.DataFrame(np.eye(3), columns=FEATURES)
    return model.predict(unit) - model.predict(zero)[0], model.predict(zero)[0]


# ------------------------------------------------------------------ FedAvg correctness
def test_fedavg_on_iid_data_matches_central_least_squares(iid_tables):
    result = federate(iid_tables, "y", FEATURES, rounds=100, local_steps=5, alpha=0.0)
    pooled = pd.concat(iid_tables.values())
    central = LinearRegression().fit(pooled[FEATURES], pooled["y"])
    slopes, intercept = _slopes(result.model)
    np.testing.assert_allclose(slopes, central.coef_, atol=2e-3)
    assert intercept == pytest.approx(central.intercept_, abs=2e-3)


def test_fedavg_with_one_local_step_is_central_gradient_descent(non_iid_tables):
    # with E = 1 full-batch step and n_k weights, FedAvg is exactly central GD (FedSGD)
    result = federate(
        non_iid_tables, "y", FEATURES, rounds=7, local_steps=1, learning_rate=0.05, alpha=0.01
    )
    pooled = pd.concat(non_iid_tables.values())
    X = ((pooled[FEATURES] - result.model.x_mean_) / result.model.x_scale_).to_numpy()
    y = ((pooled["y"] - result.model.y_mean_) / result.model.y_scale_).to_numpy()
    theta = np.zeros(4)
    for _ in range(7):
        theta -= 0.05 * _loss_and_grad("linear", theta, X, y, 0.01, 0)[1]
    np.testing.assert_allclose(result.model.params_, theta, rtol=0, atol=1e-12)


def test_logistic_fedavg_matches_central_penalised_logistic_regression():
    rng = np.random.default_rng(1)
    tables = {}
    for k in range(3):
        X = rng.normal(0.0, 1.0, (150, 3))
        p = 1.0 / (1.0 + np.exp(-(X @ [1.5, -1.0, 0.5] + 0.3)))
        y = (rng.uniform(size=150) < p).astype(int)
        tables[f"i{k}"] = pd.DataFrame(X, columns=FEATURES).assign(y=y)
    result = federate(
        tables, "y", FEATURES, model="logistic", rounds=100, learning_rate=0.5, alpha=0.01
    )
    pooled = pd.concat(tables.values())
    Xs = (pooled[FEATURES] - result.model.x_mean_) / result.model.x_scale_
    # mean log loss + (α/2)‖w‖²  ⇔  sklearn's C = 1 / (n α)
    ref = LogisticRegression(C=1.0 / (len(pooled) * 0.01), tol=1e-10, max_iter=2000)
    ref.fit(Xs.to_numpy(), pooled["y"])
    # 5 local steps leave FedAvg's fixed point slightly off the pooled optimum (client
    # drift, even for random splits): observed 0.005 on the coefficients
    np.testing.assert_allclose(result.model.params_[:3], ref.coef_[0], atol=1e-2)
    assert result.model.params_[3] == pytest.approx(ref.intercept_[0], abs=1e-2)
    proba = result.model.predict_proba(pooled[FEATURES])[:, 1]
    np.testing.assert_allclose(proba, ref.predict_proba(Xs.to_numpy())[:, 1], atol=5e-3)


def test_fedprox_reduces_client_drift_on_non_iid_data(non_iid_tables):
    pooled = pd.concat(non_iid_tables.values())
    central = LinearRegression().fit(pooled[FEATURES], pooled["y"])
    central_mse = np.mean((central.predict(pooled[FEATURES]) - pooled["y"]) ** 2)
    kwargs = dict(rounds=20, local_steps=50, learning_rate=0.1, alpha=0.0)
    gaps = {}
    for strategy, mu in (("fedavg", 0.0), ("fedprox", 1.0)):
        result = federate(non_iid_tables, "y", FEATURES, strategy=strategy, mu=mu, **kwargs)
        mse = np.mean((result.model.predict(pooled) - pooled["y"]) ** 2)
        gaps[strategy] = mse - central_mse
    assert gaps["fedavg"] > 0 and gaps["fedprox"] > 0
    assert gaps["fedprox"] < 0.5 * gaps["fedavg"]


def test_qfedavg_q0_is_fedavg_and_larger_q_helps_the_worst_institution():
    rng = np.random.default_rng(2)
    tables = {}
    for k in range(4):
        X = rng.normal(0.0, 1.0, (100, 2))
        beta = [1.0, 1.0] if k < 3 else [1.0, -1.0]  # one institution is unlike the others
        tables[f"i{k}"] = pd.DataFrame(X, columns=["a", "b"]).assign(
            y=X @ beta + rng.normal(0.0, 0.3, 100)
        )
    kwargs = dict(rounds=60, local_steps=5, learning_rate=0.1)
    fedavg = federate(tables, "y", ["a", "b"], **kwargs)
    q0 = federate(tables, "y", ["a", "b"], strategy="qfedavg", q=0.0, **kwargs)
    # equal table sizes: q = 0 aggregates with equal weights, i.e. exactly FedAvg
    np.testing.assert_allclose(q0.model.params_, fedavg.model.params_, rtol=0, atol=1e-12)
    q2 = federate(tables, "y", ["a", "b"], strategy="qfedavg", q=2.0, **kwargs)
    worst_q0 = q0.institutions["rmse"].max()
    worst_q2 = q2.institutions["rmse"].max()
    assert worst_q2 < worst_q0 - 0.1
    assert q2.institutions["rmse"].std() < q0.institutions["rmse"].std()


def test_mlp_learns_a_nonlinear_surface_better_than_linear():
    rng = np.random.default_rng(3)
    tables = {}
    for k in range(3):
        X = rng.uniform(-2, 2, (200, 2))
        y = np.sin(1.5 * X[:, 0]) + X[:, 1] ** 2 / 2 + rng.normal(0, 0.05, 200)
        tables[f"i{k}"] = pd.DataFrame(X, columns=["a", "b"]).assign(y=y)
    kw = dict(rounds=80, local_steps=10, learning_rate=0.2, alpha=1e-4, seed=0)
    mlp = federate(tables, "y", ["a", "b"], model="mlp_regressor", hidden=16, **kw)
    lin = federate(tables, "y", ["a", "b"], model="linear", **kw)
    assert mlp.institutions["rmse"].max() < 0.6 * lin.institutions["rmse"].min()
    again = federate(tables, "y", ["a", "b"], model="mlp_regressor", hidden=16, **kw)
    np.testing.assert_array_equal(again.model.params_, mlp.model.params_)


# -------------------------------------------------------------------- privacy accounting
def test_rdp_epsilon_is_the_tight_conversion_minimised_over_the_order():
    # Balle et al. (2020, Thm 21): ε = min_α [α c + log((α − 1)/α) − (log δ + log α)/(α − 1)],
    # c = T / (2 z²); dp_accounting gives 4.728386989 for z = 1, T = 1, δ = 1e-5 on a grid
    assert epsilon_spent(1.0, 1, 1e-5) == pytest.approx(4.728386985, abs=1e-8)
    orders = np.linspace(1.001, 200, 400_000)
    for z, rounds, delta in [(3.0, 20, 1e-5), (1.0, 1, 1e-6), (0.8, 5, 1e-3)]:
        c = rounds / (2 * z**2)
        brute = np.min(
            orders * c + np.log1p(-1 / orders) - np.log(delta * orders) / (orders - 1)
        )
        assert epsilon_spent(z, rounds, delta) == pytest.approx(brute, rel=1e-6)
        assert epsilon_spent(z, rounds, delta) <= brute  # the exact minimum, not a grid's
        # 4–19 % below Mironov's (2017) conversion c + 2 sqrt(c log(1/δ)) at the same noise
        mironov = c + 2 * math.sqrt(c * math.log(1 / delta))
        assert 0.04 < 1 - epsilon_spent(z, rounds, delta) / mironov < 0.19
    # T rounds with multiplier z compose like one round with z / sqrt(T)
    assert epsilon_spent(4.0, 16, 1e-6) == pytest.approx(epsilon_spent(1.0, 1, 1e-6))
    for eps in (1.0, 4.0, 8.0):
        z = noise_multiplier_for(eps, 1e-5, rounds=30)
        assert epsilon_spent(z, 30, 1e-5) == pytest.approx(eps, rel=1e-10)
        assert epsilon_spent(z, 30, 1e-5) <= eps  # calibrated never above the budget


@pytest.mark.parametrize(
    ("sigma", "rate", "steps", "delta"),
    [(1.0, 1.0, 1, 1e-5), (3.0, 1.0, 20, 1e-5), (0.7, 1.0, 1, 1e-6), (2.0, 1.0, 100, 1e-5),
     (5.0, 1.0, 50, 1e-8), (0.5, 1.0, 10, 1e-3), (18.09, 1.0, 20, 1e-5)],
)  # fmt: skip
def test_rdp_epsilon_equals_google_dp_accounting(sigma, rate, steps, delta):
    # every institution takes part in every round (sampling rate 1: the coordinator knows
    # who answered, so no amplification by sampling is claimed); dp_accounting minimises the
    # same bound over the orders it is given: 100,000 orders, geometric in α − 1
    dpa = pytest.importorskip("dp_accounting")
    from dp_accounting.rdp import RdpAccountant

    accountant = RdpAccountant(orders=list(1 + np.geomspace(1e-2, 1e4, 100_000)))
    event = dpa.PoissonSampledDpEvent(rate, dpa.GaussianDpEvent(sigma))
    accountant.compose(dpa.SelfComposedDpEvent(event, steps))
    reference = accountant.get_epsilon(delta)
    ours = epsilon_spent(sigma, steps, delta)
    assert ours == pytest.approx(reference, abs=1e-6)
    assert ours <= reference  # a grid's minimum can only be higher


def test_gdp_accountant_is_exact_gaussian_and_tighter_than_rdp():
    # μ-GDP with μ = 1 (z = 1, one round): δ(ε) = Φ(−ε + 1/2) − e^ε Φ(−ε − 1/2)
    eps = epsilon_spent(1.0, 1, 1e-5, accountant="gdp")
    delta = norm.cdf(-eps + 0.5) - math.exp(eps) * norm.cdf(-eps - 0.5)
    assert delta == pytest.approx(1e-5, rel=1e-6)
    assert eps < epsilon_spent(1.0, 1, 1e-5, accountant="rdp")
    # the classical calibration σ = sqrt(2 ln(1.25/δ))/ε is (ε, δ)-DP for ε < 1
    # (Dwork & Roth 2014, Thm A.1): the exact accountant must find at most ε
    for target in (0.2, 0.5, 0.9):
        sigma = math.sqrt(2 * math.log(1.25 / 1e-5)) / target
        assert epsilon_spent(sigma, 1, 1e-5, accountant="gdp") <= target
    z = noise_multiplier_for(4.0, 1e-5, rounds=10, accountant="gdp")
    assert epsilon_spent(z, 10, 1e-5, accountant="gdp") == pytest.approx(4.0, rel=1e-8)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_non_positive_epsilon_is_an_error(iid_tables, bad):
    with pytest.raises(SpecificationError, match="epsilon must be a positive number"):
        federate(iid_tables, "y", FEATURES, epsilon=bad)
    with pytest.raises(SpecificationError, match="epsilon must be a positive number"):
        noise_multiplier_for(bad, 1e-5, rounds=10)


def test_inconsistent_strategy_parameters_are_errors(iid_tables):
    with pytest.raises(SpecificationError, match="needs a proximal weight mu > 0"):
        federate(iid_tables, "y", FEATURES, strategy="fedprox")
    with pytest.raises(SpecificationError, match="mu=0.5 is the FedProx proximal weight"):
        federate(iid_tables, "y", FEATURES, mu=0.5)
    with pytest.raises(SpecificationError, match="cannot be combined"):
        federate(iid_tables, "y", FEATURES, strategy="qfedavg", epsilon=1.0)


def test_dp_noise_is_calibrated_and_recorded(iid_tables):
    rounds, clip = 10, 0.5
    result = federate(iid_tables, "y", FEATURES, rounds=rounds, epsilon=4.0, clip_norm=clip)
    z = noise_multiplier_for(4.0, 1e-5, rounds)
    assert result.privacy["noise_multiplier"] == pytest.approx(z)
    assert result.privacy["noise_std"] == pytest.approx(2 * clip * z)
    assert set(result.privacy["epsilon_spent"]) == set(iid_tables)
    for spent in result.privacy["epsilon_spent"].values():
        assert spent == pytest.approx(4.0, rel=1e-10)
    np.testing.assert_allclose(result.institutions["epsilon"], 4.0, rtol=1e-10)
    # the noise one institution adds has the stated standard deviation
    inst = Institution("x", next(iter(iid_tables.values())), seed=5)
    config = {
        "model": "mlp_regressor", "features": FEATURES, "target": "y", "alpha": 0.0,
        "hidden": 100, "learning_rate": 0.1, "mu": 0.0, "local_steps": 1, "clip_norm": clip,
        "noise_multiplier": z, "x_mean": [0.0] * 3, "x_scale": [1.0] * 3, "y_mean": 0.0,
        "y_scale": 1.0,
    }  # fmt: skip
    params = np.zeros(3 * 100 + 100 + 100 + 1)
    noisy = np.asarray(inst.fit(params, config)["update"])
    clean = np.asarray(inst.fit(params, {**config, "noise_multiplier": None})["params"])
    residual = noisy - clean * min(1.0, clip / np.linalg.norm(clean))
    assert residual.std() == pytest.approx(2 * clip * z, rel=0.08)
    assert "ε ≤ 4" in result.summary() and "ε ≤ 4" in result.summary("ko")
    ax = result.plot()
    assert ax.get_xlabel() == "round" and len(ax.get_lines()) == len(iid_tables) + 1


def test_dp_runs_are_reproducible_by_seed_and_noisier_for_smaller_epsilon(iid_tables):
    kw = dict(rounds=5, local_steps=20, clip_norm=1.0)
    a = federate(iid_tables, "y", FEATURES, epsilon=8.0, seed=1, **kw)
    b = federate(iid_tables, "y", FEATURES, epsilon=8.0, seed=1, **kw)
    c = federate(iid_tables, "y", FEATURES, epsilon=8.0, seed=2, **kw)
    np.testing.assert_array_equal(a.model.params_, b.model.params_)
    assert not np.array_equal(a.model.params_, c.model.params_)
    pooled = pd.concat(iid_tables.values())

    def pooled_rmse(result):  # what the institutions can compute with the published model
        return float(np.sqrt(np.mean((result.model.predict(pooled) - pooled["y"]) ** 2)))

    rmse = {
        eps: np.mean(
            [
                pooled_rmse(federate(iid_tables, "y", FEATURES, epsilon=eps, seed=s, **kw))
                for s in range(5)
            ]
        )
        for eps in (1.0, 8.0)
    }
    assert rmse[1.0] > rmse[8.0]


def test_dp_institutions_send_no_exact_metrics_and_the_rest_is_listed(iid_tables):
    # every number leaving a DP institution is noised (updates) or listed as outside ε
    result = federate(iid_tables, "y", FEATURES, rounds=3, epsilon=3.3337, clip_norm=0.5)
    assert list(result.institutions.columns) == ["institution", "n", "rounds", "epsilon"]
    assert result.institutions["n"].tolist() == [100] * 4
    assert result.privacy["outside_epsilon"] == [
        "row_counts", "standardisation_sums", "participation",
    ]  # fmt: skip
    inst = Institution("x", iid_tables["inst0"], seed=1)
    config = {
        "model": "linear", "features": FEATURES, "target": "y", "hidden": 0,
        "noise_multiplier": 2.0, "x_mean": [0.0] * 3, "x_scale": [1.0] * 3, "y_mean": 0.0,
        "y_scale": 1.0,
    }  # fmt: skip
    assert inst.evaluate(np.zeros(4), config) == {"n": 100}
    assert set(inst.evaluate(np.zeros(4), {**config, "noise_multiplier": None})) == {
        "n", "rmse", "r2",
    }  # fmt: skip
    text = result.summary()
    assert "Per-institution metrics were not sent" in text
    assert "Left outside ε: each institution's row count" in text
    assert "기관별 성능 지표는 전송되지 않았습니다" in result.summary("ko")
    # ε spent = 3.3337 (calibrated to the target): shown rounded up, never 3.33
    assert "ε ≤ 3.34 (δ = 0.00001" in text and "3.33 " not in text
    # a dropout adds the failing institution's message to what left outside ε
    names = list(iid_tables)
    members = [Institution(n, iid_tables[n], seed=i) for i, n in enumerate(names[:3])]
    members.append(_Flaky(names[3], iid_tables[names[3]], drop_round=2))
    dropped = federate(members, "y", FEATURES, rounds=3, epsilon=8.0)
    assert dropped.privacy["outside_epsilon"][-1] == "failure_messages"


# ----------------------------------------------------------------------------- dropouts
class _Flaky(Institution):
    def __init__(self, name, table, drop_round):
        super().__init__(name, table, seed=0)
        self.drop_round = drop_round

    def fit(self, params, config):
        if config["round"] >= self.drop_round:
            raise InstitutionDropout("connection reset")
        return super().fit(params, config)


def test_dropout_mid_training_continues_with_the_rest(iid_tables):
    names = list(iid_tables)
    members = [Institution(n, iid_tables[n], seed=i) for i, n in enumerate(names[:3])]
    members.append(_Flaky(names[3], iid_tables[names[3]], drop_round=3))
    result = federate(members, "y", FEATURES, rounds=6, epsilon=8.0)
    dropped = result.history[result.history["status"] == "dropped"]
    assert dropped[["round", "institution"]].values.tolist() == [[3, names[3]]]
    # boolean indexing, not .query("round == 6"): numexpr 2.14 reads `round` as its function
    last = result.history[result.history["round"] == 6]
    assert last["institution"].tolist() == names[:3]
    spent = result.privacy["epsilon_spent"]
    z = result.privacy["noise_multiplier"]
    assert spent[names[3]] == pytest.approx(epsilon_spent(z, 2, 1e-5))  # 2 rounds released
    assert spent[names[0]] == pytest.approx(8.0)
    assert f"Dropped out: {names[3]}" in result.summary()


def test_dropout_below_minimum_fails_clearly(iid_tables):
    names = list(iid_tables)[:2]
    members = [
        Institution(names[0], iid_tables[names[0]]),
        _Flaky(names[1], iid_tables[names[1]], drop_round=2),
    ]
    with pytest.raises(FederationError, match=r"dropped out in round 2.*Nothing was produced"):
        federate(members, "y", FEATURES, rounds=5, min_institutions=2)


# ----------------------------------------------------------------- small-cell suppression
def test_small_institutions_are_suppressed_in_published_metrics(iid_tables):
    tables = dict(iid_tables)
    tables["tiny"] = next(iter(iid_tables.values())).head(4)
    result = federate(tables, "y", FEATURES, rounds=5)
    table = result.to_frame()
    tiny = table.set_index("institution").loc["tiny"]
    assert tiny["n"] == "<5" and np.isnan(tiny["rmse"]) and np.isnan(tiny["r2"])
    assert table.set_index("institution").loc["inst0", "n"] == "100"
    assert result.institutions.set_index("institution").loc["tiny", "n"] == 4  # internal


def test_suppress_small_cells_hides_counts_below_k():
    frame = pd.DataFrame({"gu": ["A", "B", "C"], "n": [0, 4, 5], "mean": [1.0, 2.0, 3.0]})
    out = suppress_small_cells(frame, k=5)
    assert out["n"].tolist() == ["<5", "<5", "5"]
    assert out["mean"].isna().tolist() == [True, True, False]
    assert suppress_small_cells(frame, k=3)["n"].tolist() == ["<3", "4", "5"]
    with pytest.raises(SpecificationError, match="count_column 'count'"):
        suppress_small_cells(frame, count_column="count")


def test_seoul_gu_as_institutions_fedavg_near_central_and_beats_local_only():
    # the evidence of docs/share.md (benchmarks/bench_share.py), same split and settings
    import importlib.util
    from pathlib import Path

    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_share.py"
    spec = importlib.util.spec_from_file_location("bench_share", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ALPHA, rmse, split = bench.ALPHA, bench.rmse, bench.split

    from dongne.learn.tasks import seoul_basement_task

    task = seoul_basement_task()
    features = list(task.X.columns)
    data = task.X.assign(y=task.y.to_numpy(), gu=task.groups.to_numpy())
    test = split(task)
    train, hold = data[~test], data[test]
    tables = {gu: rows.drop(columns="gu") for gu, rows in train.groupby("gu", sort=True)}
    assert len(tables) == 25
    central = make_pipeline(StandardScaler(), Ridge(alpha=ALPHA * len(train)))
    central_rmse = rmse(central.fit(train[features], train["y"]).predict(hold[features]), hold.y)
    fed = federate(tables, "y", features, rounds=100, local_steps=5, alpha=ALPHA)
    fed_rmse = rmse(fed.model.predict(hold[features]), hold["y"])
    local = [
        rmse(
            make_pipeline(StandardScaler(), Ridge(alpha=1.0))
            .fit(t[features], t["y"])
            .predict(hold[features]),
            hold["y"],
        )
        for t in tables.values()
    ]
    assert central_rmse == pytest.approx(4.900, abs=5e-3)
    assert fed_rmse == pytest.approx(4.703, abs=5e-3)
    assert fed_rmse <= central_rmse + 0.25  # stated margin: within 0.25 %p of central
    assert fed_rmse < np.median(local) - 5.0  # median local-only model: 15.5 %p


def test_coordinator_defaults_are_federates():
    """The Flower server offers federate()'s options with the coordinator's defaults: equal."""
    import inspect

    from dongne.share import federate
    from dongne.share.protocol import _federate

    def keyword_defaults(func):
        return {
            name: p.default
            for name, p in inspect.signature(func).parameters.items()
            if p.kind is p.KEYWORD_ONLY
        }

    public = keyword_defaults(federate)
    assert public == keyword_defaults(_federate)
    assert public["rounds"] == 50 and public["engine"] == "dongne" and public["epsilon"] is None
