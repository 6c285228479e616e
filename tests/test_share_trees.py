"""Federated gradient-boosted trees (XGBoost) with Flower's bagging aggregation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dongne.errors import SpecificationError
from dongne.share import ModelCard, ModelRegistry, federate, predict

pytestmark = pytest.mark.slow  # pytest -m "not slow" skips Flower, Dask clusters and the demo

pytest.importorskip("flwr", reason="the flower extra (pip install 'dongne[flower]')")
xgb = pytest.importorskip("xgboost", reason="the flower extra (pip install 'dongne[flower]')")

FEATURES = ["a", "b", "c"]


def _table(rng, n):
    X = rng.normal(size=(n, 3))
    y = 2 * np.sin(X[:, 0]) + X[:, 1] ** 2 + rng.normal(0, 0.1, n)  # not linear
    return pd.DataFrame(X, columns=FEATURES).assign(y=y, label=(y > 1.0).astype(int))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    tables = {f"inst{k}": _table(rng, 150) for k in range(4)}
    return tables, _table(rng, 400)


def test_one_institution_is_xgboost_itself(data):
    tables, test = data
    table = tables["inst0"]
    fed = federate({"only": table}, "y", FEATURES, model="xgb_regressor", engine="flower",
                   rounds=6, learning_rate=0.3, min_institutions=1)  # fmt: skip
    params = {"objective": "reg:squarederror", "eta": 0.3, "max_depth": 4, "lambda": 1.0,
              "min_child_weight": 1.0, "base_score": float(table["y"].mean()),
              "tree_method": "hist", "nthread": 1, "seed": 0}  # fmt: skip
    ref = xgb.train(params, xgb.DMatrix(table[FEATURES], label=table["y"]), num_boost_round=6)
    np.testing.assert_allclose(
        fed.model.predict(test), ref.predict(xgb.DMatrix(test[FEATURES])), rtol=0, atol=1e-6
    )
    assert fed.parameters["strategy"] == "fedxgb_bagging" and fed.privacy is None


def test_trees_across_institutions_approach_central_xgboost(data, tmp_path):
    tables, test = data
    fed = federate(tables, "y", FEATURES, model="xgb_regressor", engine="flower", rounds=40,
                   learning_rate=0.3)  # fmt: skip
    pooled = pd.concat(tables.values())
    # the same capacity pooled: 4 institutions x 40 rounds = 160 trees at eta 0.3 / 4
    params = {"objective": "reg:squarederror", "eta": 0.075, "max_depth": 4, "nthread": 1}
    central = xgb.train(params, xgb.DMatrix(pooled[FEATURES], label=pooled["y"]), 160)
    rmse = lambda p: float(np.sqrt(np.mean((p - test["y"]) ** 2)))  # noqa: E731
    fed_rmse = rmse(fed.model.predict(test))
    central_rmse = rmse(central.predict(xgb.DMatrix(test[FEATURES])))
    assert fed_rmse < 1.15 * central_rmse  # observed ratio printed by -s
    assert fed_rmse < 0.5 * rmse(np.full(len(test), pooled["y"].mean()))
    print(f"federated trees RMSE {fed_rmse:.3f}, central {central_rmse:.3f}")
    assert len(fed.history) == 160 and (fed.history["status"] == "trained").all()
    # registered as XGBoost JSON (no pickle), loaded and used by reference
    registry = ModelRegistry(tmp_path / "reg")
    card = ModelCard("test", ["synthetic"], list(tables), "2026", {"rmse": fed_rmse})
    registry.register("trees", fed.model, card, X=test[FEATURES])
    out = predict("trees", test[FEATURES], registry=registry)
    np.testing.assert_allclose(out.values, fed.model.predict(test), rtol=1e-6)


def test_tree_classifier_gives_probabilities(data):
    tables, test = data
    fed = federate(tables, "label", FEATURES, model="xgb_classifier", engine="flower",
                   rounds=20, learning_rate=0.3)  # fmt: skip
    proba = fed.model.predict_proba(test)
    assert proba.shape == (len(test), 2) and np.allclose(proba.sum(axis=1), 1)
    assert np.mean(fed.model.predict(test) == test["label"]) > 0.85
    assert set(fed.institutions.columns) >= {"log_loss", "accuracy"}


@pytest.mark.parametrize(
    "kw",
    [{"engine": "dongne"}, {"engine": "flower", "epsilon": 1.0},
     {"engine": "flower", "secure_aggregation": True}, {"engine": "flower", "strategy": "fedprox",
                                                        "mu": 0.1}],
)  # fmt: skip
def test_trees_refuse_settings_that_do_not_apply(data, kw):
    with pytest.raises(SpecificationError, match="Flower's tree bagging"):
        federate(data[0], "y", FEATURES, model="xgb_regressor", **kw)
