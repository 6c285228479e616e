"""Federated training on Flower (dongne.share.flower): the simulation engine gives dongne's
numbers, SecAgg+ secure aggregation, distributed DP noise, dropouts and bad settings.

Every run here is a real Flower simulation: a ServerApp in this process and one ClientApp per
institution in Ray worker processes, talking through Flower messages.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from dongne.errors import SpecificationError
from dongne.share import FederationError, Institution, federate, noise_multiplier_for

pytestmark = pytest.mark.slow  # pytest -m "not slow" skips Flower, Dask clusters and the demo

pytest.importorskip("flwr", reason="the flower extra (pip install 'dongne[flower]')")

FEATURES = ["a", "b", "c"]


def _table(rng, n, shift):
    X = rng.normal(shift, 1.0, (n, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0 + rng.normal(0.0, 0.5, n)
    return pd.DataFrame(X, columns=FEATURES).assign(y=y, label=(y > 3.0).astype(int))


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(7)
    return {f"inst{k}": _table(rng, 30 + 15 * k, 0.4 * k) for k in range(4)}


@pytest.mark.parametrize(
    ("target", "kw"),
    [
        ("y", {"strategy": "fedavg", "model": "linear"}),
        ("y", {"strategy": "fedprox", "mu": 0.1, "model": "mlp_regressor", "hidden": 4}),
        ("label", {"strategy": "qfedavg", "q": 2.0, "model": "logistic"}),
        ("y", {"strategy": "fedavg", "epsilon": 4.0, "clip_norm": 0.5}),
    ],
    ids=["fedavg-linear", "fedprox-mlp", "qfedavg-logistic", "dp-fedavg"],
)
def test_flower_engine_gives_the_numbers_of_dongnes_own_loop(tables, target, kw):
    ours = federate(tables, target, FEATURES, rounds=4, seed=3, **kw)
    flower = federate(tables, target, FEATURES, rounds=4, seed=3, engine="flower", **kw)
    # the same local steps, noise streams and aggregation rule; only the order of
    # floating-point sums may differ
    np.testing.assert_allclose(flower.model.params_, ours.model.params_, rtol=0, atol=1e-9)
    pd.testing.assert_frame_equal(flower.institutions, ours.institutions, rtol=1e-9)
    assert (flower.history["status"] == "trained").all() and len(flower.history) == 16
    np.testing.assert_allclose(flower.history["loss"], ours.history["loss"], rtol=1e-9)
    assert flower.parameters["engine"] == "flower" and flower.parameters["flwr_version"]
    if "epsilon" in kw:
        assert flower.history["loss"].isna().all()  # no loss leaves a DP institution
        np.testing.assert_allclose(flower.institutions["epsilon"], 4.0, rtol=1e-10)
        assert flower.privacy["noise_multiplier"] == pytest.approx(
            noise_multiplier_for(4.0, 1e-5, 4)
        )


def test_secure_aggregation_gives_the_plain_average_up_to_quantisation(tables):
    plain = federate(tables, "y", FEATURES, rounds=5, engine="flower")
    secure = federate(tables, "y", FEATURES, rounds=5, engine="flower", secure_aggregation=True)
    diff = np.abs(secure.model.params_ - plain.model.params_).max()
    # SecAgg+ quantises every parameter to 2**22 levels on [-8, 8] (step 3.8e-6): the
    # result must differ (it really went through the protocol) but only by that much
    assert 0 < diff < 5e-5
    assert secure.parameters["secure_aggregation"] is True
    assert (secure.history["status"] == "trained").sum() == 20
    # SecAgg+ rounds stochastically; seeded institutions make that reproducible too
    again = federate(tables, "y", FEATURES, rounds=5, engine="flower", secure_aggregation=True)
    np.testing.assert_array_equal(again.model.params_, secure.model.params_)


def test_distributed_noise_under_secure_aggregation_spends_the_stated_budget(tables):
    result = federate(
        tables, "y", FEATURES, rounds=3, engine="flower", secure_aggregation=True,
        epsilon=2.0, noise="distributed", clip_norm=0.5, seed=11,
    )  # fmt: skip
    # all four institutions took part in every round: the sum carried the full noise
    np.testing.assert_allclose(result.institutions["epsilon"], 2.0, rtol=1e-10)
    assert result.privacy["secure_aggregation"] is True
    assert "distributed" in result.privacy["level"]
    assert np.all(np.isfinite(result.model.params_))


def test_distributed_noise_divides_the_variance_among_institutions(tables):
    inst = Institution("x", tables["inst0"], seed=5)
    config = {
        "model": "mlp_regressor", "features": FEATURES, "target": "y", "alpha": 0.0,
        "hidden": 500, "learning_rate": 0.1, "mu": 0.0, "local_steps": 1, "clip_norm": 0.1,
        "noise_multiplier": 2.0, "x_mean": [0.0] * 3, "x_scale": [1.0] * 3, "y_mean": 0.0,
        "y_scale": 1.0, "round": 1,
    }  # fmt: skip
    params = np.zeros(3 * 500 + 500 + 500 + 1)  # 2501 noise draws: s.d. known to ~1.4 %
    clean = np.asarray(inst.fit(params, {**config, "noise_multiplier": None})["params"])
    clipped = clean * min(1.0, 0.1 / np.linalg.norm(clean))
    for parts in (1, 16):
        noisy = np.asarray(inst.fit(params, {**config, "noise_parts": parts})["update"])
        assert (noisy - clipped).std() == pytest.approx(2 * 0.1 * 2.0 / np.sqrt(parts), rel=0.05)
    # stateless: the same round gives the same noise, another round other noise
    again = np.asarray(inst.fit(params, config)["update"])
    later = np.asarray(inst.fit(params, {**config, "round": 2})["update"])
    np.testing.assert_array_equal(again, inst.fit(params, config)["update"])
    assert not np.array_equal(again, later)


def test_an_institution_that_fails_drops_out_and_training_goes_on(tables):
    broken = {**tables, "broken": tables["inst0"].drop(columns="c")}
    result = federate(broken, "y", FEATURES, rounds=3, engine="flower", min_institutions=3)
    dropped = result.history[result.history["status"] == "dropped"]
    assert len(dropped) == 1 and dropped["round"].iloc[0] == 0
    assert (result.history["status"] == "trained").sum() == 12
    expected = federate(tables, "y", FEATURES, rounds=3)  # the other four, as if alone
    np.testing.assert_allclose(result.model.params_, expected.model.params_, atol=1e-9)
    assert result.institutions.set_index("institution").loc["broken", "rounds"] == 0


def test_too_many_dropouts_fail_with_nothing_produced(tables):
    broken = {"a": tables["inst0"], "b": tables["inst1"].drop(columns="c")}
    why = r"dropped out in round 0 \(Institution .b.: columns \[.c.\] are missing"
    with pytest.raises(FederationError, match=why + ".*Nothing was produced"):
        federate(broken, "y", FEATURES, rounds=2, engine="flower", min_institutions=2)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"engine": "spark"}, "engine must be one of"),
        ({"secure_aggregation": True}, "engine='flower'"),
        ({"engine": "flower", "secure_aggregation": True, "strategy": "qfedavg"}, "q-FedAvg"),
        ({"engine": "flower", "epsilon": 1.0, "noise": "distributed"}, "secure_aggregation"),
        ({"noise": "central"}, 'noise must be "local" or "distributed"'),
    ],
)
def test_bad_engine_settings_are_clear_errors(tables, kw, message):
    with pytest.raises(SpecificationError, match=message):
        federate(tables, "y", FEATURES, rounds=2, **kw)


def test_flower_engine_needs_tables_not_remote_institutions(tables):
    members = [Institution(name, table) for name, table in tables.items()]
    with pytest.raises(SpecificationError, match="mapping of institution name to table"):
        federate(members, "y", FEATURES, engine="flower")


def test_cli_trains_on_flower_with_secure_aggregation_and_registers(tables, tmp_path, capsys):
    from dongne.cli import main as dongne_main
    from dongne.share import ModelRegistry

    def main(argv):
        return dongne_main(["share", *argv])


    paths = []
    for name, table in tables.items():
        table.to_csv(tmp_path / f"{name}.csv", index=False)
        paths.append(f"{name}={tmp_path / f'{name}.csv'}")
    card = {"intended_use": "test", "data_sources": ["synthetic"], "training_regions": ["x"],
            "training_period": "2026", "metrics": {}}  # fmt: skip
    (tmp_path / "card.json").write_text(json.dumps(card), "utf-8")
    argv = ["--registry", str(tmp_path / "reg"), "federate", "--tables", *paths,
            "--target", "y", "--features", "a,b,c", "--rounds", "3", "--engine", "flower",
            "--secure-aggregation", "--epsilon", "4", "--noise", "distributed",
            "--register", "secure-model", "--card", str(tmp_path / "card.json")]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Registered secure-model/1" in out and "ε ≤ 4" in out
    version = ModelRegistry(tmp_path / "reg").get("secure-model")
    privacy = version.card.privacy
    assert privacy["secure_aggregation"] is True and "distributed" in privacy["level"]
    assert "SecAgg+" in version.card.summary() and "분산형" in version.card.summary("ko")
    code = main(["--registry", str(tmp_path / "reg"), "federate", "--serve", "--institutions",
                 "2", "--target", "y", "--features", "a", "--engine", "flower",
                 "--secure-aggregation"])  # fmt: skip
    assert code == 2 and "a --serve coordinator averages in the clear" in capsys.readouterr().err


def test_secure_aggregation_needs_three_institutions(tables):
    two = {k: tables[k] for k in ("inst0", "inst1")}
    with pytest.raises(SpecificationError, match="at least 3 institutions"):
        federate(two, "y", FEATURES, engine="flower", secure_aggregation=True)


class _FailsInRound2(Institution):
    """An institution that stops answering in round 2 (runs inside a Ray worker)."""

    def fit(self, params, config):
        if config.get("round") == 2:
            raise ConnectionError("lost in round 2")
        return super().fit(params, config)


def test_a_secure_round_that_cannot_be_unmasked_fails_the_run(tables):
    import ray.cloudpickle

    from dongne.share.federated import _federate
    from dongne.share.flower import train_on_flower

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the class above
    members = [
        (_FailsInRound2 if k >= 2 else Institution)(name, table, seed=k)
        for k, (name, table) in enumerate(tables.items())
    ]
    with pytest.raises(FederationError, match="Round 2 was not aggregated: secure aggregation"):
        _federate(
            lambda config, settings: train_on_flower(
                members, config, settings, secure_aggregation=True
            ),
            len(members), "y", FEATURES, model="linear", strategy="fedavg", rounds=3,
            local_steps=5, learning_rate=0.1, alpha=1e-3, mu=0.0, q=1.0, hidden=0,
            epsilon=None, delta=1e-5, clip_norm=1.0, accountant="rdp", min_institutions=2,
            seed=0, engine="flower", secure_aggregation=True, noise="local",
        )  # fmt: skip
