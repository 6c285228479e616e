"""Federated gradient-boosted trees on Flower: XGBoost with Flower's bagging aggregation.

``federate(tables, target, features, model="xgb_regressor", engine="flower")`` (or
``"xgb_classifier"``) trains one XGBoost model across institutions that keep their tables.
Every round each institution loads the global booster, grows **one tree** on its own rows
(XGBoost's gradients at the global model's predictions) and sends that tree only; the
coordinator appends the trees with Flower's ``FedXgbBagging`` aggregation (Flower's xgboost
baseline; Ma et al. 2023). With K institutions a round adds K trees fitted to the same
residuals, so each is grown with learning rate ``learning_rate / K``: their sum is one
averaged boosting step. With a single institution this is exactly XGBoost's own boosting
(tested against ``xgboost.train``).

What travels: the trees (split features, thresholds and leaf values — which reveal
something about the rows, like any model; no DP here), the row counts, and once the sum of
the target for the base score. Models are stored as XGBoost's own JSON (no pickle).

References
----------
Chen, T. & Guestrin, C. (2016). XGBoost: a scalable tree boosting system. *KDD 2016*.
Ma, Z., et al. (2023). Gradient-less federated gradient boosting trees with learnable
learning rates. *EuroMLSys 2023* (the bagging scheme of Flower's FedXgbBagging).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dongne import __version__
from dongne._optional import import_optional
from dongne.errors import DataError, SpecificationError
from dongne.share.protocol import (
    FederatedResult,
    FederationError,
    Institution,
    _dropout_error,
    _institution_table,
)

__all__ = ["TREE_MODELS", "FederatedTreeModel", "federate_trees"]

TREE_MODELS = ("xgb_regressor", "xgb_classifier")


def _xgb() -> Any:
    return import_optional("xgboost", "flower", "Federated tree models (xgb_*)")


@dataclass
class FederatedTreeModel:
    """A boosted-tree model trained by :func:`federate_trees` (XGBoost JSON inside).

    Attributes
    ----------
    kind : {"xgb_regressor", "xgb_classifier"}
    feature_names_in_ : list of str
    booster : dict
        XGBoost's JSON model (``Booster.save_raw("json")``), loaded without pickle.
    """

    kind: str
    feature_names_in_: list[str]
    booster: dict[str, Any]

    def _matrix(self, X: Any) -> Any:
        if isinstance(X, pd.DataFrame):
            missing = [c for c in self.feature_names_in_ if c not in X.columns]
            if missing:
                raise DataError(
                    f"Columns {missing} are missing from the table. Fix: provide every "
                    f"feature the model was trained on: {self.feature_names_in_}."
                )
            X = X[self.feature_names_in_]
        return _xgb().DMatrix(np.asarray(X, dtype=float), feature_names=self.feature_names_in_)

    def _raw(self, X: Any) -> np.ndarray:
        booster = _xgb().Booster()
        booster.load_model(bytearray(json.dumps(self.booster).encode("utf-8")))
        return booster.predict(self._matrix(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (regression) or class labels 0/1 (classifier)."""
        out = self._raw(X)
        return (out > 0.5).astype(int) if self.kind == "xgb_classifier" else out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, 2) (classifier only)."""
        if self.kind != "xgb_classifier":
            raise SpecificationError("predict_proba needs model='xgb_classifier'.")
        p = self._raw(X)
        return np.column_stack([1.0 - p, p])

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "dongne.share.FederatedTreeModel",
            "kind": self.kind,
            "feature_names_in_": list(self.feature_names_in_),
            "booster": self.booster,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FederatedTreeModel:
        if data.get("format") != "dongne.share.FederatedTreeModel" or (
            data.get("kind") not in TREE_MODELS
        ):
            raise DataError("The file is not a dongne federated tree model.")
        return cls(data["kind"], list(data["feature_names_in_"]), dict(data["booster"]))


def _params(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "objective": "binary:logistic" if cfg["model"] == "xgb_classifier" else "reg:squarederror",
        "eta": cfg["eta"],
        "max_depth": cfg["max_depth"],
        "min_child_weight": cfg["min_child_weight"],
        "lambda": cfg["reg_lambda"],
        "base_score": cfg["base_score"],
        "tree_method": "hist",
        "nthread": 1,
        "seed": cfg["seed"],
    }


def _client_class() -> type:
    from flwr.client import Client
    from flwr.common import Code, EvaluateRes, FitRes, GetPropertiesRes, Parameters, Status

    ok = Status(code=Code.OK, message="")

    class TreeInstitution(Client):
        """An institution growing trees on its own rows (the rows stay here)."""

        def __init__(self, institution: Institution) -> None:
            self.institution = institution

        def _data(self, cfg: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
            # the linear models' checks: columns present, finite values, 0/1 classes
            kind = "logistic" if cfg["model"] == "xgb_classifier" else "linear"
            return self.institution._arrays({**cfg, "model": kind})

        def _booster(self, raw: bytes, cfg: Mapping[str, Any]) -> Any:
            xgb = _xgb()
            booster = xgb.Booster(params=_params(cfg))
            if raw:
                booster.load_model(bytearray(raw))
                booster.set_param(_params(cfg))
            return booster

        def get_properties(self, ins: Any) -> Any:
            cfg = json.loads(str(ins.config["dongne"]))
            _, y = self._data(cfg)
            return GetPropertiesRes(
                status=ok,
                properties={"name": self.institution.name, "n": len(y), "sum_y": float(y.sum())},
            )

        def fit(self, ins: Any) -> Any:
            xgb = _xgb()
            cfg = json.loads(str(ins.config["dongne"]))
            X, y = self._data(cfg)
            data = xgb.DMatrix(X, label=y, feature_names=list(cfg["features"]))
            raw = ins.parameters.tensors[0] if ins.parameters.tensors else b""
            if raw:
                booster = self._booster(raw, cfg)
                p = booster.predict(data)
                booster.update(data, booster.num_boosted_rounds())
            else:
                p = np.full(len(y), cfg["base_score"])
                booster = xgb.train(_params(cfg), data, num_boost_round=1)
            loss = _loss(cfg["model"], y, p)
            last = booster.num_boosted_rounds()
            tree = booster[last - 1 : last].save_raw("json")
            return FitRes(
                status=ok,
                parameters=Parameters(tensors=[bytes(tree)], tensor_type=""),
                num_examples=len(y),
                metrics={"name": self.institution.name, "loss": loss},
            )

        def evaluate(self, ins: Any) -> Any:
            xgb = _xgb()
            cfg = json.loads(str(ins.config["dongne"]))
            X, y = self._data(cfg)
            booster = self._booster(ins.parameters.tensors[0], cfg)
            p = booster.predict(xgb.DMatrix(X, feature_names=list(cfg["features"])))
            metrics = _metrics(cfg["model"], y, p)
            return EvaluateRes(
                status=ok,
                loss=float(metrics.get("rmse", metrics.get("log_loss"))),
                num_examples=len(y),
                metrics={"name": self.institution.name, **metrics},
            )

    return TreeInstitution


def _loss(kind: str, y: np.ndarray, p: np.ndarray) -> float:
    if kind == "xgb_classifier":
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return float(0.5 * np.mean((p - y) ** 2))


def _metrics(kind: str, y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    if kind == "xgb_classifier":
        return {
            "n": len(y),
            "log_loss": _loss(kind, y, p),
            "accuracy": float(np.mean((p > 0.5) == (y == 1))),
        }
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    sse = float(np.sum((p - y) ** 2))
    return {
        "n": len(y),
        "rmse": math.sqrt(sse / len(y)),
        "r2": 1.0 - sse / ss_tot if ss_tot > 0 else float("nan"),
    }


def federate_trees(
    institutions: Mapping[str, pd.DataFrame],
    target: str,
    features: Sequence[str],
    *,
    model: str = "xgb_regressor",
    rounds: int = 50,
    learning_rate: float = 0.3,
    max_depth: int = 4,
    min_child_weight: float = 1.0,
    reg_lambda: float = 1.0,
    min_institutions: int = 2,
    seed: int = 0,
) -> FederatedResult:
    """Federated XGBoost on Flower's simulation engine (one tree per institution and round).

    It is long because the ``FedXgbBagging`` subclass is defined in its body: Flower and
    XGBoost are optional dependencies imported only when a federation runs.

    Parameters
    ----------
    institutions : mapping of name to DataFrame
        One table per institution (simulated, each in its own Ray worker).
    target, features
        Target column (0/1 for ``"xgb_classifier"``) and numeric feature columns.
    model : {"xgb_regressor", "xgb_classifier"}
    rounds : int
        Communication rounds; the model ends with ``rounds × K`` trees.
    learning_rate : float
        XGBoost's ``eta`` of one averaged step; each institution uses ``eta / K``.
    max_depth, min_child_weight, reg_lambda
        XGBoost's tree parameters.
    min_institutions : int
        Fewer left after dropouts stops training with :class:`FederationError`.
    seed : int
        XGBoost's seed (the trees are deterministic with these parameters).

    Returns
    -------
    FederatedResult
        ``model`` is a :class:`FederatedTreeModel`; ``privacy`` is ``None``.
    """
    _xgb()
    from dongne.share.flower import _enrol, _flwr, _reason, _run_simulation

    _flwr()
    from flwr.common import EvaluateIns, FitIns, GetPropertiesIns, Parameters
    from flwr.server.strategy import FedXgbBagging

    if model not in TREE_MODELS:
        raise SpecificationError(f"model must be one of {TREE_MODELS}; got {model!r}.")
    if not (isinstance(rounds, int) and rounds >= 1) or not learning_rate > 0 or max_depth < 1:
        raise SpecificationError(
            "Need rounds >= 1 (integer), learning_rate > 0 and max_depth >= 1; got "
            f"rounds={rounds!r}, learning_rate={learning_rate!r}, max_depth={max_depth!r}."
        )
    if not isinstance(institutions, Mapping):
        raise SpecificationError("Tree models take a mapping of institution name to table.")
    features = list(features)
    names = [str(n) for n in institutions]
    if len(names) < min_institutions:
        raise FederationError(
            f"{len(names)} institutions but min_institutions={min_institutions}. Fix: add "
            "institutions or lower min_institutions."
        )
    members = [Institution(n, t) for n, t in zip(names, institutions.values(), strict=True)]
    config: dict[str, Any] = {
        "model": model, "features": features, "target": target, "max_depth": max_depth,
        "min_child_weight": min_child_weight, "reg_lambda": reg_lambda, "seed": seed,
    }  # fmt: skip

    class BaggingStrategy(FedXgbBagging):
        """Flower's FedXgbBagging with dongne's base score, ordering and bookkeeping."""

        def __init__(self) -> None:
            super().__init__(
                fraction_fit=1.0, fraction_evaluate=1.0, min_fit_clients=min_institutions,
                min_evaluate_clients=1, min_available_clients=len(names), accept_failures=True,
            )  # fmt: skip
            self.active: dict[str, Any] = {}
            self.by_cid: dict[str, str] = {}
            self.history: list[dict[str, Any]] = []
            self.rounds = dict.fromkeys(names, 0)
            self.stats: dict[str, dict[str, Any]] = {}
            self.metric_rows: list[dict[str, Any]] = []

        def _message(self, rnd: int) -> dict[str, Any]:
            eta = learning_rate / max(1, len(self.active))
            return {"dongne": json.dumps({**config, "round": rnd, "eta": eta})}

        def initialize_parameters(self, client_manager: Any) -> Any:
            client_manager.wait_for(len(names), timeout=86_400)
            config.update(base_score=0.5, eta=learning_rate)

            def ask(proxy: Any) -> tuple[str, dict[str, Any]]:
                message = GetPropertiesIns({"dongne": json.dumps(config)})
                res = proxy.get_properties(message, timeout=None, group_id=0)
                return str(res.properties["name"]), dict(res.properties)

            replies = _enrol(client_manager, ask, min_institutions, self.history)
            for name in names:
                if name in replies:
                    cid, proxy, props = replies[name]
                    self.by_cid[cid], self.active[name] = name, proxy
                    self.stats[name] = {"n": int(props["n"]), "sum_y": float(props["sum_y"])}
            n = sum(s["n"] for s in self.stats.values())
            mean = sum(s["sum_y"] for s in self.stats.values()) / n
            if model == "xgb_classifier" and not 0 < mean < 1:
                raise DataError(f"Target {target!r} has only one class across institutions.")
            config["base_score"] = mean
            return Parameters(tensors=[b""], tensor_type="")

        def configure_fit(self, server_round: int, parameters: Any, client_manager: Any):
            ins = FitIns(parameters, self._message(server_round))
            return [(proxy, ins) for proxy in self.active.values()]

        def aggregate_fit(self, server_round: int, results: list, failures: list):
            order = {name: i for i, name in enumerate(names)}
            results = sorted(results, key=lambda r: order[self.by_cid[r[0].cid]])
            answered = {self.by_cid[proxy.cid] for proxy, _ in results}
            for name in [n for n in self.active if n not in answered]:
                self.history.append(
                    {"round": server_round, "institution": name, "status": "dropped",
                     "loss": np.nan}
                )  # fmt: skip
                self.active.pop(name)
                if len(self.active) < min_institutions:
                    why = "; ".join(_reason(f) for f in failures[:1] if isinstance(
                        f, BaseException)) or "no reply"  # fmt: skip
                    raise _dropout_error(name, server_round, len(self.active),
                                         min_institutions, why)  # fmt: skip
            for proxy, res in results:
                name = self.by_cid[proxy.cid]
                self.rounds[name] += 1
                loss = float(res.metrics["loss"])
                self.history.append({"round": server_round, "institution": name,
                                     "status": "trained", "loss": loss})  # fmt: skip
            return super().aggregate_fit(server_round, results, [])

        def configure_evaluate(self, server_round: int, parameters: Any, client_manager: Any):
            if server_round != rounds:
                return []
            ins = EvaluateIns(parameters, self._message(server_round + 1))
            return [(proxy, ins) for proxy in self.active.values()]

        def aggregate_evaluate(self, server_round: int, results: list, failures: list):
            for _, res in results:
                metrics = dict(res.metrics)
                name = str(metrics.pop("name"))
                self.metric_rows.append({"institution": name, **metrics,
                                         "rounds": self.rounds[name]})  # fmt: skip
            return None, {}

    strategy = BaggingStrategy()
    client_class = _client_class()

    def client_fn(context: Any) -> Any:
        return client_class(members[int(context.node_config["partition-id"])])

    _run_simulation(strategy, client_fn, len(members), rounds)
    if strategy.global_model is None:
        raise FederationError("Flower finished without a model. Nothing was registered.")
    frame = _institution_table(strategy.metric_rows, names, strategy.stats, strategy.rounds)
    from importlib.metadata import version

    return FederatedResult(
        model=FederatedTreeModel(model, features, json.loads(strategy.global_model)),
        history=pd.DataFrame(strategy.history, columns=["round", "institution", "status", "loss"]),
        institutions=frame,
        privacy=None,
        parameters={
            "target": target, "features": features, "model": model,
            "strategy": "fedxgb_bagging", "rounds": rounds, "learning_rate": learning_rate,
            "max_depth": max_depth, "min_child_weight": min_child_weight,
            "reg_lambda": reg_lambda, "base_score": config["base_score"],
            "min_institutions": min_institutions, "seed": seed, "engine": "flower",
            "institutions": names, "dongne_version": __version__,
            "flwr_version": version("flwr"), "xgboost_version": _xgb().__version__,
        },
    )  # fmt: skip

