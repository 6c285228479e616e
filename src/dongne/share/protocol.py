"""The federated protocol, apart from the engines that run it: configuration checks, the model
kernels, the institution's side, standardisation, aggregation, privacy accounting, the result.

Whatever runs the rounds — dongne's own loop (:func:`dongne.share.federate`), Flower's
simulation or gRPC server (:mod:`dongne.share.flower`), boosted trees
(:mod:`dongne.share.trees`), dongne's TCP transport (:mod:`dongne.share.network`) — uses these
helpers and the coordinator :func:`_federate`, so every engine computes the same numbers and
reports them the same way. Nothing here imports an engine.

References
----------
McMahan, B., Moore, E., Ramage, D., Hampson, S. & Agüera y Arcas, B. (2017).
Communication-efficient learning of deep networks from decentralized data. AISTATS 54.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from dongne import __version__
from dongne._vocab import Lang, bilingual, provenance_alias
from dongne._warnings import user_stacklevel
from dongne.errors import DataError, DongneError, SpecificationError
from dongne.share.privacy import (
    OUTSIDE_EPSILON_LABELS,
    _check_accountant,
    _check_budget,
    clip_update,
    epsilon_spent_rounds,
    format_upper_bound,
    noise_multiplier_for,
    suppress_small_cells,
)

__all__ = [
    "CLASSIFIERS",
    "MODELS",
    "STRATEGIES",
    "FederatedModel",
    "FederatedResult",
    "FederationError",
    "Institution",
    "InstitutionDropout",
    "InstitutionLike",
]


MODELS = ("linear", "logistic", "mlp_regressor", "mlp_classifier")


STRATEGIES = ("fedavg", "fedprox", "qfedavg")


CLASSIFIERS = ("logistic", "mlp_classifier", "xgb_classifier")


class FederationError(DongneError):
    """Federated training cannot go on (too few institutions left, inconsistent tables)."""


class InstitutionDropout(DongneError):
    """An institution stopped answering during a round (raised by its connection)."""


# ------------------------------------------------------------------------ model kernels
def _is_classifier(kind: str) -> bool:
    return kind in CLASSIFIERS


def _n_params(kind: str, d: int, hidden: int) -> int:
    if kind in ("linear", "logistic"):
        return d + 1
    return d * hidden + hidden + hidden + 1


def _unpack_mlp(theta: np.ndarray, d: int, hidden: int):
    w1 = theta[: d * hidden].reshape(d, hidden)
    b1 = theta[d * hidden : d * hidden + hidden]
    w2 = theta[d * hidden + hidden : d * hidden + 2 * hidden]
    return w1, b1, w2, theta[-1]


def _raw_output(kind: str, theta: np.ndarray, X: np.ndarray, hidden: int) -> np.ndarray:
    if kind in ("linear", "logistic"):
        return X @ theta[:-1] + theta[-1]
    w1, b1, w2, b2 = _unpack_mlp(theta, X.shape[1], hidden)
    return np.tanh(X @ w1 + b1) @ w2 + b2


def _loss_and_grad(
    kind: str, theta: np.ndarray, X: np.ndarray, y: np.ndarray, alpha: float, hidden: int
) -> tuple[float, np.ndarray]:
    """Mean loss (+ ``alpha/2``·‖weights‖², biases unpenalised) and its gradient."""
    n, d = X.shape
    classify = _is_classifier(kind)
    if kind in ("linear", "logistic"):
        z = X @ theta[:-1] + theta[-1]
    else:
        w1, b1, w2, b2 = _unpack_mlp(theta, d, hidden)
        h = np.tanh(X @ w1 + b1)
        z = h @ w2 + b2
    if classify:
        # log loss with logits, stable form; dL/dz = sigmoid(z) - y
        loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
        dz = (0.5 * (1.0 + np.tanh(0.5 * z)) - y) / n
    else:
        r = z - y
        loss = float(0.5 * np.mean(r * r))
        dz = r / n
    grad = np.empty_like(theta)
    if kind in ("linear", "logistic"):
        w = theta[:-1]
        grad[:-1] = X.T @ dz + alpha * w
        grad[-1] = dz.sum()
        return loss + 0.5 * alpha * float(w @ w), grad
    dh = np.outer(dz, w2) * (1.0 - h * h)
    grad[: d * hidden] = (X.T @ dh + alpha * w1).ravel()
    grad[d * hidden : d * hidden + hidden] = dh.sum(axis=0)
    grad[d * hidden + hidden : d * hidden + 2 * hidden] = h.T @ dz + alpha * w2
    grad[-1] = dz.sum()
    penalty = 0.5 * alpha * (float(np.sum(w1 * w1)) + float(w2 @ w2))
    return loss + penalty, grad


def _init_params(kind: str, d: int, hidden: int, seed: int) -> np.ndarray:
    theta = np.zeros(_n_params(kind, d, hidden))
    if kind.startswith("mlp"):
        rng = np.random.default_rng(seed)
        theta[: d * hidden] = rng.normal(0.0, 1.0 / np.sqrt(d), d * hidden)
        theta[d * hidden + hidden : d * hidden + 2 * hidden] = rng.normal(
            0.0, 1.0 / np.sqrt(hidden), hidden
        )
    return theta


# ------------------------------------------------------------------------- the model
@dataclass
class FederatedModel:
    """A model trained by :func:`federate`: parameters plus the standardisation used.

    Predicts from a DataFrame with the training feature columns (in original units).
    Stored by the registry as JSON (no code is executed when it is loaded).

    Attributes
    ----------
    kind : str
        One of :data:`MODELS`.
    feature_names_in_ : list of str
    params_ : ndarray
        Flat parameter vector on the standardised scale.
    x_mean_, x_scale_ : ndarray
        Feature means and standard deviations pooled over institutions.
    y_mean_, y_scale_ : float
        Target mean and standard deviation (regression; 0 and 1 for classifiers).
    hidden : int
        Hidden units (MLPs).
    """

    kind: str
    feature_names_in_: list[str]
    params_: np.ndarray
    x_mean_: np.ndarray
    x_scale_: np.ndarray
    y_mean_: float = 0.0
    y_scale_: float = 1.0
    hidden: int = 0

    def _design(self, X: Any) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            missing = [c for c in self.feature_names_in_ if c not in X.columns]
            if missing:
                raise DataError(
                    f"Columns {missing} are missing from the table. Fix: provide every "
                    f"feature the model was trained on: {self.feature_names_in_}."
                )
            X = X[self.feature_names_in_].to_numpy(dtype=float)
        X = np.asarray(X, dtype=float)
        return (X - self.x_mean_) / self.x_scale_

    def decision_function(self, X: Any) -> np.ndarray:
        """Linear predictor / logit (classifiers) or prediction (regression), standardised."""
        return _raw_output(self.kind, self.params_, self._design(X), self.hidden)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions in the target's units, or class labels 0/1 for classifiers."""
        z = self.decision_function(X)
        if _is_classifier(self.kind):
            return (z > 0).astype(int)
        return z * self.y_scale_ + self.y_mean_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, 2) (classifiers only)."""
        if not _is_classifier(self.kind):
            raise SpecificationError(
                f"predict_proba needs a classifier; this model is {self.kind!r}. "
                "Fix: use predict()."
            )
        p = 0.5 * (1.0 + np.tanh(0.5 * self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (floats written with full precision by ``json``)."""
        return {
            "format": "dongne.share.FederatedModel",
            "kind": self.kind,
            "feature_names_in_": list(self.feature_names_in_),
            "params_": self.params_.tolist(),
            "x_mean_": self.x_mean_.tolist(),
            "x_scale_": self.x_scale_.tolist(),
            "y_mean_": float(self.y_mean_),
            "y_scale_": float(self.y_scale_),
            "hidden": int(self.hidden),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FederatedModel:
        """Inverse of :meth:`to_dict`."""
        if data.get("format") != "dongne.share.FederatedModel" or data.get("kind") not in MODELS:
            raise DataError(
                "The file is not a dongne federated model (format/kind fields). "
                "Fix: load it with the registry that wrote it."
            )
        return cls(
            kind=data["kind"],
            feature_names_in_=list(data["feature_names_in_"]),
            params_=np.asarray(data["params_"], dtype=float),
            x_mean_=np.asarray(data["x_mean_"], dtype=float),
            x_scale_=np.asarray(data["x_scale_"], dtype=float),
            y_mean_=float(data["y_mean_"]),
            y_scale_=float(data["y_scale_"]),
            hidden=int(data["hidden"]),
        )


# -------------------------------------------------------------------- institutions
class InstitutionLike(Protocol):
    """What the coordinator needs from an institution, local or remote."""

    name: str

    def stats(self, config: Mapping[str, Any]) -> dict[str, Any]: ...

    def fit(self, params: np.ndarray, config: Mapping[str, Any]) -> dict[str, Any]: ...

    def evaluate(self, params: np.ndarray, config: Mapping[str, Any]) -> dict[str, Any]: ...


class Institution:
    """One institution's table and its side of the protocol (runs where the data live).

    Parameters
    ----------
    name : str
        Shown in histories and model cards.
    table : DataFrame
        Rows of this institution; must contain ``features`` and ``target`` (as named in the
        coordinator's configuration).
    seed : int, optional
        Seed of this institution's own DP noise; round ``t`` draws from the stream
        ``SeedSequence(seed, spawn_key=(t,))``, so the object holds no state between rounds
        (Flower rebuilds clients for every message). Keep it secret from the coordinator in
        a real deployment (``None`` draws fresh operating-system entropy); fix it only to
        reproduce a run.
    """

    def __init__(self, name: str, table: pd.DataFrame, seed: int | None = None) -> None:
        self.name = name
        self.table = table
        self.seed = seed

    def _noise_rng(self, rnd: int) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng()
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(rnd,)))

    def _arrays(self, config: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        features, target = list(config["features"]), config["target"]
        missing = [c for c in [*features, target] if c not in self.table.columns]
        if missing:
            raise DataError(
                f"Institution {self.name!r}: columns {missing} are missing from its table. "
                "Fix: every institution must provide the same feature and target columns."
            )
        X = self.table[features].to_numpy(dtype=float)
        y = self.table[target].to_numpy(dtype=float)
        bad = ~np.isfinite(X).all(axis=1) | ~np.isfinite(y)
        if bad.any():
            raise DataError(
                f"Institution {self.name!r}: rows {np.flatnonzero(bad)[:10].tolist()} have "
                "missing or infinite values. Fix: impute or drop them before training."
            )
        if _is_classifier(config["model"]) and not np.isin(y, (0.0, 1.0)).all():
            raise DataError(
                f"Institution {self.name!r}: target {target!r} must be 0/1 for "
                f"{config['model']!r}. Fix: recode the target or use a regression model."
            )
        return X, y

    def stats(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Row count, and sums and sums of squares of the features and target."""
        X, y = self._arrays(config)
        return {
            "n": len(y),
            "sum_x": X.sum(axis=0).tolist(),
            "sum_x2": (X * X).sum(axis=0).tolist(),
            "sum_y": float(y.sum()),
            "sum_y2": float(y @ y),
        }

    def _standardised(self, config: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        X, y = self._arrays(config)
        X = (X - np.asarray(config["x_mean"])) / np.asarray(config["x_scale"])
        if not _is_classifier(config["model"]):
            y = (y - config["y_mean"]) / config["y_scale"]
        return X, y

    def fit(self, params: np.ndarray, config: Mapping[str, Any]) -> dict[str, Any]:
        """Local training from the global ``params``; returns parameters or a noisy update.

        With differential privacy (``config["noise_multiplier"]`` set) the reply holds only
        the clipped, noised update and the row count — not the loss, which would leak
        outside ε. ``config["noise_parts"]`` > 1 (distributed noise under secure
        aggregation) divides the noise variance among that many institutions.
        """
        X, y = self._standardised(config)
        kind, alpha, hidden = config["model"], config["alpha"], config["hidden"]
        lr, mu = config["learning_rate"], config["mu"]
        global_params = np.asarray(params, dtype=float)
        loss_at_global, _ = _loss_and_grad(kind, global_params, X, y, alpha, hidden)
        theta = global_params.copy()
        for _ in range(config["local_steps"]):
            _, grad = _loss_and_grad(kind, theta, X, y, alpha, hidden)
            if mu > 0:
                grad = grad + mu * (theta - global_params)
            theta -= lr * grad
        z = config.get("noise_multiplier")
        if z is None:
            return {"n": len(y), "loss": loss_at_global, "params": theta.tolist()}
        clip = config["clip_norm"]
        update = clip_update(theta - global_params, clip)
        sd = 2.0 * clip * z / np.sqrt(config.get("noise_parts", 1))
        noise = self._noise_rng(int(config.get("round", 0))).normal(0.0, sd, size=update.shape)
        return {"n": len(y), "loss": None, "update": (update + noise).tolist()}

    def evaluate(self, params: np.ndarray, config: Mapping[str, Any]) -> dict[str, Any]:
        """Metrics of the global model on this institution's rows (original units).

        With differential privacy (``config["noise_multiplier"]`` set) the reply holds only
        the row count, which already left in :meth:`stats`: exact metrics computed on the
        institution's rows would leave it outside ε. The institution can still evaluate
        the published model on its own rows; publishing that is its own decision.
        """
        X, y = self._arrays(config)
        if config.get("noise_multiplier") is not None:
            return {"n": len(y)}
        Xs = (X - np.asarray(config["x_mean"])) / np.asarray(config["x_scale"])
        z = _raw_output(config["model"], np.asarray(params, float), Xs, config["hidden"])
        if _is_classifier(config["model"]):
            return {
                "n": len(y),
                "log_loss": float(np.mean(np.logaddexp(0.0, z) - y * z)),
                "accuracy": float(np.mean((z > 0) == (y == 1))),
            }
        pred = z * config["y_scale"] + config["y_mean"]
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        return {
            "n": len(y),
            "rmse": float(np.sqrt(np.mean((pred - y) ** 2))),
            "r2": float(1.0 - np.sum((pred - y) ** 2) / ss_tot) if ss_tot > 0 else float("nan"),
        }


# ------------------------------------------------------------------------ aggregation
def _aggregate(
    strategy: str,
    global_params: np.ndarray,
    replies: Sequence[Mapping[str, Any]],
    *,
    q: float,
    learning_rate: float,
    private: bool,
) -> np.ndarray:
    if private:
        # DP-FedAvg: equal weights, so that institution sizes do not leak through weights
        return global_params + np.mean([np.asarray(r["update"]) for r in replies], axis=0)
    thetas = np.array([r["params"] for r in replies], dtype=float)
    if strategy in ("fedavg", "fedprox"):
        n = np.array([r["n"] for r in replies], dtype=float)
        return (n / n.sum()) @ thetas
    lipschitz = 1.0 / learning_rate
    losses = np.maximum(np.array([r["loss"] for r in replies], dtype=float), 1e-10)
    deltas = lipschitz * (global_params - thetas)
    weighted = (losses**q)[:, None] * deltas
    h = q * losses ** (q - 1.0) * np.sum(deltas * deltas, axis=1) + lipschitz * losses**q
    return global_params - weighted.sum(axis=0) / h.sum()


# ---------------------------------------------------------------------------- result
@dataclass
class FederatedResult:
    """Outcome of :func:`federate`.

    Attributes
    ----------
    model : FederatedModel
    history : DataFrame
        One row per round and institution: ``round``, ``institution``, ``status``
        (``"trained"`` or ``"dropped"``), ``loss`` (its loss at the round's global model).
    institutions : DataFrame
        One row per institution: ``n``, final metrics on its own rows (not in DP runs: they
        would leave the institution outside ε), rounds taken part in, and ``epsilon`` spent
        (DP runs).
    privacy : dict or None
        ``epsilon`` target, ``delta``, ``accountant``, ``noise_multiplier``,
        ``clip_norm``, per-institution ``epsilon_spent``, and ``outside_epsilon``: what
        left the institutions outside ε (keys of
        :data:`dongne.share.privacy.OUTSIDE_EPSILON_LABELS`).
    parameters : dict
        Every argument of the run and the dongne version.
    """

    provenance_ = provenance_alias("parameters")

    model: FederatedModel
    history: pd.DataFrame
    institutions: pd.DataFrame
    privacy: dict[str, Any] | None
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_frame(self, k: int = 5) -> pd.DataFrame:
        """Per-institution table with small cells (fewer than ``k`` rows) suppressed."""
        metrics = [
            c
            for c in self.institutions.columns
            if c not in ("institution", "n", "rounds", "epsilon")
        ]
        return suppress_small_cells(self.institutions, "n", k=k, columns=metrics)

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Plain-language summary in English (``"en"``) or Korean (``"ko"``)."""
        p = self.parameters
        table = self.institutions
        metric = "accuracy" if _is_classifier(p["model"]) else "rmse"
        worst_value = None
        if metric in table.columns:
            worst = table.loc[table["n"] >= 5, metric]
            worst_value = (
                (worst.min() if metric == "accuracy" else worst.max()) if len(worst) else None
            )
        dropped = sorted(set(self.history.loc[self.history["status"] == "dropped", "institution"]))
        eps = delta = None
        if self.privacy is not None:
            eps = format_upper_bound(max(self.privacy["epsilon_spent"].values(), default=0.0))
            delta = format_upper_bound(self.privacy["delta"])
        ko = lang == "ko"
        if ko:
            lines = [
                f"연합학습 ({p['strategy']}, 모형 {p['model']}): 기관 {len(table)}곳, "
                f"{p['rounds']}라운드, 원자료는 각 기관 밖으로 나가지 않았습니다."
            ]
        else:
            lines = [
                f"Federated training ({p['strategy']}, model {p['model']}): {len(table)} "
                f"institutions, {p['rounds']} rounds; no raw rows left any institution."
            ]
        if metric not in table.columns:  # a DP run: institutions kept their metrics
            lines.append(
                "기관별 성능 지표는 전송되지 않았습니다: 차등정보보호 학습에서 정확한 지표는 "
                "ε 밖으로 새어 나가기 때문입니다(각 기관은 공개된 모형을 자기 자료로 평가할 수 "
                "있습니다)."
                if ko
                else "Per-institution metrics were not sent: in a DP run exact metrics would "
                "leave the institutions outside ε (each can evaluate the published model on "
                "its own rows)."
            )
        elif worst_value is None:
            lines.append(
                "5행 이상인 기관이 없어 기관별 지표를 공개하지 않습니다."
                if ko
                else "No institution has 5 or more rows, so per-institution metrics are hidden."
            )
        else:
            lines.append(
                f"기관별 자기 자료 {metric}: 최악 {worst_value:.3g} (5행 미만 기관은 비공개)."
                if ko
                else f"Worst institution's {metric} on its own rows: {worst_value:.3g} "
                "(institutions with fewer than 5 rows are not shown)."
            )
        if eps is not None:
            outside = ", ".join(
                OUTSIDE_EPSILON_LABELS["ko" if ko else "en"][item]
                for item in self.privacy.get("outside_epsilon", ())
            )
            lines.append(
                f"차등정보보호: 기관별 ε ≤ {eps} (δ = {delta}, 회계 방식 "
                f"{self.privacy['accountant']}, 올림); 작을수록 보호가 강하고 잡음이 큽니다. "
                f"ε 밖으로 나간 것: {outside}."
                if ko
                else f"Differential privacy: each institution spent ε ≤ {eps} (δ = {delta}, "
                f"{self.privacy['accountant']} accountant, rounded up); smaller ε means "
                f"stronger protection and more noise. Left outside ε: {outside}."
            )
        if dropped:
            lines.append(
                f"중도 이탈 기관: {', '.join(dropped)} (남은 기관으로 계속 학습)."
                if ko
                else f"Dropped out: {', '.join(dropped)} (training went on without them)."
            )
        lines.append(
            "가정: 특성 평균·분산은 합계로 공유되며 ε 보호 대상이 아닙니다; 기관 간 자료 "
            "분포가 다르면 FedProx 또는 q-FedAvg를 비교하십시오."
            if ko
            else "Assumptions: feature means and variances are shared as sums and are not "
            "covered by ε; with non-IID institutions compare FedProx and q-FedAvg."
        )
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Loss of each institution at the global model, by round; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        trained = self.history[self.history["status"] == "trained"]
        for name, rows in trained.groupby("institution", sort=True):
            ax.plot(rows["round"], rows["loss"], lw=0.8, alpha=0.6, label=str(name))
        mean = trained.groupby("round")["loss"].mean()
        ax.plot(mean.index, mean.to_numpy(), color="black", lw=2, label="mean")
        ax.set_xlabel("round")
        ax.set_ylabel("loss at the global model (standardised)")
        ax.set_title(f"{self.parameters['strategy']} — {self.parameters['model']}")
        if trained["institution"].nunique() <= 10:
            ax.legend(fontsize=7)
        return ax


# ------------------------------------------------------------------------ coordinator
def _check_config(
    model: str,
    strategy: str,
    rounds: int,
    local_steps: int,
    learning_rate: float,
    mu: float,
    q: float,
    epsilon: float | None,
    delta: float,
    clip_norm: float,
    accountant: str,
    min_institutions: int,
) -> None:
    if model not in MODELS:
        raise SpecificationError(f"model must be one of {MODELS}; got {model!r}.")
    if strategy not in STRATEGIES:
        raise SpecificationError(f"strategy must be one of {STRATEGIES}; got {strategy!r}.")
    for name, value in (("rounds", rounds), ("local_steps", local_steps)):
        if not (isinstance(value, int | np.integer) and value >= 1):
            raise SpecificationError(f"{name} must be an integer >= 1; got {value!r}.")
    if not learning_rate > 0 or mu < 0 or q < 0 or not clip_norm > 0:
        raise SpecificationError(
            f"Need learning_rate > 0, mu >= 0, q >= 0 and clip_norm > 0; got "
            f"learning_rate={learning_rate!r}, mu={mu!r}, q={q!r}, clip_norm={clip_norm!r}."
        )
    if strategy != "fedprox" and mu > 0:
        raise SpecificationError(
            f"mu={mu!r} is the FedProx proximal weight but strategy={strategy!r}. "
            "Fix: use strategy='fedprox', or leave mu at 0."
        )
    if strategy == "fedprox" and mu <= 0:
        raise SpecificationError(
            "strategy='fedprox' needs a proximal weight mu > 0. Fix: pass e.g. mu=0.1."
        )
    _check_budget(epsilon, delta)
    _check_accountant(accountant)
    if epsilon is not None and strategy == "qfedavg":
        raise SpecificationError(
            "q-FedAvg sends each institution's loss unprotected, so it cannot be combined "
            "with epsilon. Fix: use strategy='fedavg' or 'fedprox' with epsilon."
        )
    if min_institutions < 1:
        raise SpecificationError(f"min_institutions must be >= 1; got {min_institutions!r}.")


def _federate(
    trainer: Any,
    count: int,
    target: str,
    features: Sequence[str],
    *,
    model: str = "linear",
    strategy: str = "fedavg",
    rounds: int = 50,
    local_steps: int = 5,
    learning_rate: float = 0.1,
    alpha: float = 1e-3,
    mu: float = 0.0,
    q: float = 1.0,
    hidden: int = 8,
    epsilon: float | None = None,
    delta: float = 1e-5,
    clip_norm: float = 1.0,
    accountant: str = "rdp",
    min_institutions: int = 2,
    seed: int = 0,
    engine: str = "dongne",
    secure_aggregation: bool = False,
    noise: str = "local",
) -> FederatedResult:
    """Validate, configure, run ``trainer(config, settings)`` on ``count`` institutions and
    turn its :class:`_Run` into a :class:`FederatedResult` (privacy accounting included).

    It is long because it takes, checks and records every option of :func:`dongne.share.federate`
    (about one line each in the signature, the run's configuration and its parameters); the
    training itself is ``trainer``'s.

    The keyword defaults are :func:`dongne.share.federate`'s (pinned equal by
    ``tests/test_share_federated.py::test_coordinator_defaults_are_federates``), so that the
    Flower server (:func:`dongne.share.flower.serve`) offers the same options and defaults."""
    features = list(features)
    _check_config(
        model,
        strategy,
        rounds,
        local_steps,
        learning_rate,
        mu,
        q,
        epsilon,
        delta,
        clip_norm,
        accountant,
        min_institutions,
    )
    if count < min_institutions:
        raise FederationError(
            f"{count} institutions joined but min_institutions={min_institutions}. "
            "Fix: wait for more institutions or lower min_institutions."
        )
    config: dict[str, Any] = {
        "model": model,
        "features": features,
        "target": target,
        "alpha": alpha,
        "hidden": hidden if model.startswith("mlp") else 0,
        "learning_rate": learning_rate,
        "mu": mu,
        "local_steps": local_steps,
        "clip_norm": clip_norm,
        "noise_multiplier": None
        if epsilon is None
        else noise_multiplier_for(epsilon, delta, rounds, accountant),
        "noise_parts": count if noise == "distributed" else 1,
    }
    settings = {
        "strategy": strategy,
        "rounds": rounds,
        "q": q,
        "learning_rate": learning_rate,
        "min_institutions": min_institutions,
        "seed": seed,
    }
    run = trainer(config, settings)
    names = list(run.multipliers)  # institution order, known only now for a Flower server
    privacy = None
    if epsilon is not None:
        spent = {
            name: epsilon_spent_rounds(run.multipliers[name], delta, accountant) for name in names
        }
        privacy = {
            "epsilon": epsilon,
            "delta": delta,
            "accountant": accountant,
            "noise_multiplier": config["noise_multiplier"],
            "clip_norm": clip_norm,
            "noise_std": 2.0 * clip_norm * config["noise_multiplier"],
            "noise_std_per_institution": 2.0
            * clip_norm
            * config["noise_multiplier"]
            / np.sqrt(config["noise_parts"]),
            "level": "institution (local: each institution noises its own update)"
            if noise == "local"
            else "institution (distributed: each institution adds 1/K of the noise "
            "variance; only the securely aggregated sum is seen)",
            "secure_aggregation": secure_aggregation,
            "epsilon_spent": spent,
            "outside_epsilon": _outside_epsilon(run.history),
        }
    if privacy is not None and max(privacy["epsilon_spent"].values(), default=0) > epsilon * (
        1 + 1e-9
    ):
        warnings.warn(
            "Institutions spent up to ε = "
            f"{format_upper_bound(max(privacy['epsilon_spent'].values()))}, more "
            f"than the target {epsilon:g}: with distributed noise, rounds in which "
            "institutions dropped out carried less noise. See result.privacy['epsilon_spent'].",
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )
    std = run.standardisation
    fitted = FederatedModel(
        kind=model,
        feature_names_in_=features,
        params_=run.params,
        x_mean_=np.asarray(std["x_mean"]),
        x_scale_=np.asarray(std["x_scale"]),
        y_mean_=std["y_mean"],
        y_scale_=std["y_scale"],
        hidden=config["hidden"],
    )
    parameters = {
        "target": target,
        "features": features,
        "model": model,
        "strategy": strategy,
        "rounds": rounds,
        "local_steps": local_steps,
        "learning_rate": learning_rate,
        "alpha": alpha,
        "mu": mu,
        "q": q,
        "hidden": config["hidden"],
        "epsilon": epsilon,
        "delta": delta,
        "clip_norm": clip_norm,
        "accountant": accountant,
        "min_institutions": min_institutions,
        "seed": seed,
        "engine": engine,
        "secure_aggregation": secure_aggregation,
        "noise": noise,
        "institutions": names,
        "dongne_version": __version__,
    }
    if engine == "flower":
        from importlib.metadata import version

        parameters["flwr_version"] = version("flwr")
    rounds_taken = {name: len(run.multipliers[name]) for name in names}
    institutions_frame = _institution_table(run.metric_rows, names, run.stats, rounds_taken)
    if privacy is not None:
        institutions_frame["epsilon"] = institutions_frame["institution"].map(spent)
    return FederatedResult(
        model=fitted,
        history=pd.DataFrame(run.history, columns=["round", "institution", "status", "loss"]),
        institutions=institutions_frame,
        privacy=privacy,
        parameters=parameters,
    )


def _outside_epsilon(history: Sequence[Mapping[str, Any]]) -> list[str]:
    """What left the institutions of a DP run outside ε (keys of
    :data:`~dongne.share.privacy.OUTSIDE_EPSILON_LABELS`), for the result and the card."""
    items = ["row_counts", "standardisation_sums", "participation"]
    if any(row["status"] == "dropped" for row in history):
        items.append("failure_messages")
    return items


@dataclass
class _Run:
    """What an engine hands back to :func:`federate` (before privacy accounting)."""

    stats: dict[str, dict[str, Any]]
    standardisation: dict[str, Any]
    params: np.ndarray
    history: list[dict[str, Any]]
    metric_rows: list[dict[str, Any]]
    multipliers: dict[str, list[float]]  # per institution: effective z of each release


def _institution_table(
    rows: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    stats: Mapping[str, Mapping[str, Any]],
    rounds: Mapping[str, int],
) -> pd.DataFrame:
    """One row per institution, in ``names`` order: final metrics where the institution
    evaluated the model, else (it dropped out) only its row count and rounds taken part in."""
    have = {r["institution"] for r in rows}
    missing = [
        {"institution": n, "n": stats.get(n, {}).get("n", 0), "rounds": rounds[n]}
        for n in names
        if n not in have
    ]
    frame = pd.DataFrame([*rows, *missing]).set_index("institution").loc[names].reset_index()
    frame["n"] = frame["n"].astype(int)
    return frame


def _standardisation(
    stats: Mapping[str, Mapping[str, Any]], features: Sequence[str], model: str
) -> dict[str, Any]:
    """Pooled feature (and target) means and standard deviations from institutions' sums."""
    n_total = sum(s["n"] for s in stats.values())
    sum_x = np.sum([s["sum_x"] for s in stats.values()], axis=0)
    sum_x2 = np.sum([s["sum_x2"] for s in stats.values()], axis=0)
    x_mean = sum_x / n_total
    x_scale = np.sqrt(np.maximum(sum_x2 / n_total - x_mean**2, 0.0))
    constant = [f for f, sd in zip(features, x_scale, strict=True) if sd == 0]
    if constant:
        raise DataError(
            f"Features {constant} are constant across all institutions. Fix: drop them."
        )
    y_mean, y_scale = 0.0, 1.0
    if not _is_classifier(model):
        y_mean = sum(s["sum_y"] for s in stats.values()) / n_total
        y_scale = float(
            np.sqrt(max(sum(s["sum_y2"] for s in stats.values()) / n_total - y_mean**2, 1e-300))
        )
    return {
        "x_mean": x_mean.tolist(),
        "x_scale": x_scale.tolist(),
        "y_mean": y_mean,
        "y_scale": y_scale,
    }


def _dropout_error(name: str, rnd: int, left: int, minimum: int, why: Any) -> FederationError:
    return FederationError(
        f"Institution {name!r} dropped out in round {rnd} ({why}); only {left} institutions "
        f"are left, fewer than min_institutions={minimum}. Nothing was produced or "
        "registered. Fix: restart when the institutions are reachable, or lower "
        "min_institutions."
    )


def _trained(rnd: int, name: str, loss: float | None) -> dict[str, Any]:
    return {
        "round": rnd,
        "institution": name,
        "status": "trained",
        "loss": np.nan if loss is None else float(loss),
    }


def _check_finite(params: np.ndarray, rnd: int, config: Mapping[str, Any]) -> None:
    if not np.all(np.isfinite(params)):
        raise FederationError(
            f"Parameters diverged in round {rnd}. Fix: lower learning_rate "
            f"(now {config['learning_rate']}) or local_steps (now {config['local_steps']})."
        )


def _mac(secret: bytes, nonce: bytes, role: bytes) -> bytes:
    return hmac.new(secret, role + nonce, hashlib.sha256).digest()


def _secret(secret: str | None) -> bytes:
    value = secret or os.environ.get("DONGNE_FEDERATION_SECRET")
    if not value:
        raise SpecificationError(
            "A shared secret is needed to authenticate institutions. Fix: pass secret=... "
            "(or --secret) or set DONGNE_FEDERATION_SECRET, the same on every side."
        )
    return value.encode("utf-8")
