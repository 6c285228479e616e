"""Federated training across institutions: FedAvg, FedProx, q-FedAvg and DP-FedAvg.

Each institution keeps its table; only model parameters (and, once, feature means and
variances for standardisation) leave it. Every round the coordinator sends the global
parameters, each institution runs ``local_steps`` full-batch gradient steps on its own rows
and returns its parameters (or, with differential privacy, its clipped and noised update),
and the coordinator aggregates:

* **FedAvg** (McMahan et al. 2017): ``θ ← Σ_k (n_k / n) θ_k``.
* **FedProx** (Li et al. 2020a): the same average, but each institution minimises
  ``F_k(θ) + (μ/2)‖θ − θ_global‖²``, which limits client drift on non-IID tables.
* **q-FedAvg** (Li et al. 2020b, q-FFL): with ``L = 1/learning_rate``,
  ``Δ_k = L(θ − θ_k)``, ``θ ← θ − Σ_k F_k^q Δ_k / Σ_k (q F_k^{q−1}‖Δ_k‖² + L F_k^q)``,
  where ``F_k`` is institution ``k``'s loss at the global model: institutions the model
  fits worst get more weight (``q = 0`` is FedAvg with equal weights).
* **DP-FedAvg** (McMahan et al. 2018), institution level: each institution clips its update
  ``θ_k − θ`` to L2 norm ``clip_norm`` and adds N(0, (2·clip_norm·z)²) noise itself, the
  coordinator averages the noisy updates with equal weights; ``z`` is calibrated from
  ``epsilon``, ``delta`` and ``rounds`` by :mod:`dongne.share.privacy`.

Models: linear regression (squared loss), logistic regression, and a one-hidden-layer
perceptron (tanh) for regression or binary classification — all with an L2 penalty
``alpha`` on the weights, on standardised features (and target, for regression).

The same loop drives institutions in this process (:class:`Institution`) or in other
processes on the network (:mod:`dongne.share.network`), with identical numbers for identical
seeds. This module is the entry point (:func:`federate`, which picks the engine) and dongne's
own engine; what every engine shares — model kernels, the institution's side, standardisation,
aggregation, privacy accounting, the result — is the protocol, :mod:`dongne.share.protocol`.

References
----------
McMahan, H. B., Moore, E., Ramage, D., Hampson, S. & Agüera y Arcas, B. (2017).
Communication-efficient learning of deep networks from decentralized data. *AISTATS 2017*.
Li, T., Sahu, A. K., Zaheer, M., Sanjabi, M., Talwalkar, A. & Smith, V. (2020a). Federated
optimization in heterogeneous networks. *MLSys 2020* (FedProx).
Li, T., Sanjabi, M., Beirami, A. & Smith, V. (2020b). Fair resource allocation in federated
learning. *ICLR 2020* (q-FFL / q-FedAvg).
McMahan, H. B., Ramage, D., Talwar, K. & Zhang, L. (2018). Learning differentially private
recurrent language models. *ICLR 2018*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dongne.errors import SpecificationError
from dongne.share.protocol import (
    MODELS,
    STRATEGIES,
    FederatedModel,
    FederatedResult,
    FederationError,
    Institution,
    InstitutionDropout,
    InstitutionLike,
    _aggregate,
    _check_finite,
    _dropout_error,
    _federate,
    _init_params,
    _Run,
    _standardisation,
    _trained,
)

__all__ = [
    "MODELS",
    "STRATEGIES",
    "FederatedModel",
    "FederatedResult",
    "FederationError",
    "Institution",
    "InstitutionDropout",
    "federate",
]

ENGINES = ("dongne", "flower")


def federate(
    institutions: Mapping[str, pd.DataFrame] | Sequence[InstitutionLike],
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
    """Train one model across institutions that keep their tables.

    Parameters
    ----------
    institutions : mapping of name to DataFrame, or sequence of institutions
        Tables (simulated in this process, each wrapped in :class:`Institution` with a seed
        derived from ``seed``), or institution objects — e.g. remote connections from
        :func:`dongne.share.network.serve`.
    target : str
        Target column (0/1 for classifiers).
    features : sequence of str
        Feature columns, numeric.
    model : str
        ``"linear"``, ``"logistic"``, ``"mlp_regressor"``, ``"mlp_classifier"``, or
        ``"xgb_regressor"``/``"xgb_classifier"``: the last two are gradient-boosted trees
        (XGBoost) trained with Flower's bagging aggregation — ``engine="flower"`` only, see
        :func:`dongne.share.trees.federate_trees`.
    strategy : {"fedavg", "fedprox", "qfedavg"}
    rounds : int
        Communication rounds.
    local_steps : int
        Full-batch gradient steps per institution and round (``E`` with ``B = ∞`` in
        McMahan et al. 2017).
    learning_rate : float
        Local step size (standardised scale).
    alpha : float
        L2 penalty on the weights (mean loss + ``alpha/2``·‖w‖²).
    mu : float
        FedProx proximal weight (required > 0 for ``"fedprox"``).
    q : float
        q-FedAvg fairness exponent (0 = equal-weight FedAvg; larger = more weight to the
        worst-fitted institutions).
    hidden : int
        Hidden units of the MLPs.
    epsilon : float, optional
        Per-institution privacy budget over the whole run; ``None`` trains without DP.
    delta : float
        δ of the (ε, δ) guarantee.
    clip_norm : float
        L2 bound of each institution's update (DP only).
    accountant : {"rdp", "gdp"}
        Privacy accountant (:mod:`dongne.share.privacy`).
    min_institutions : int
        Training stops with :class:`FederationError` when fewer institutions are left.
    seed : int
        Seeds the MLP initialisation and, for tables, each institution's noise.
    engine : {"dongne", "flower"}
        ``"dongne"`` runs the coordinator loop here, with institutions in this process or
        remote (:mod:`dongne.share.network`). ``"flower"`` runs the same training on
        Flower's simulation engine (:mod:`dongne.share.flower`; needs ``dongne[flower]``):
        each institution is a Flower ClientApp in its own Ray worker, the coordinator a
        Flower ServerApp using Flower's FedAvg aggregation. Same numbers as ``"dongne"``
        up to floating-point summation order (tested to 1e-9).
    secure_aggregation : bool
        Flower's SecAgg+ (Bell et al. 2020): the coordinator learns only the weighted sum
        of the institutions' parameters, never one institution's. ``engine="flower"`` only;
        parameters are quantised to 2²² levels on ``[-8, 8]`` (error ~1e-5).
    noise : {"local", "distributed"}
        With ``epsilon``: ``"local"`` — every institution adds the full noise to its own
        update (protects against anyone, the coordinator included); ``"distributed"`` —
        with ``secure_aggregation``, each adds 1/K of the noise variance so that the *sum*
        carries the full noise (sqrt(K) times less noise in the model; assumes the
        coordinator sees only the sum and institutions do not reveal their noise).

    Returns
    -------
    FederatedResult

    Raises
    ------
    FederationError
        If dropouts leave fewer than ``min_institutions`` institutions.
    SpecificationError
        For invalid parameters (``epsilon <= 0`` among them).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> def table(n):
    ...     x = rng.normal(size=n)
    ...     return pd.DataFrame({"x": x, "y": 2 * x + 1 + rng.normal(0, 0.1, n)})
    >>> res = federate({"A": table(50), "B": table(80)}, "y", ["x"], rounds=30)
    >>> slope = res.model.predict(pd.DataFrame({"x": [1.0]}))[0] - res.model.predict(
    ...     pd.DataFrame({"x": [0.0]}))[0]
    >>> round(float(slope), 1)
    2.0
    """
    if model in ("xgb_regressor", "xgb_classifier"):
        return _federate_trees(
            institutions, target, features, model=model, engine=engine, strategy=strategy,
            epsilon=epsilon, secure_aggregation=secure_aggregation, rounds=rounds,
            learning_rate=learning_rate, min_institutions=min_institutions, seed=seed,
        )  # fmt: skip
    _check_engine(engine, institutions, strategy, secure_aggregation, noise, epsilon)
    if isinstance(institutions, Mapping):
        seeds = np.random.SeedSequence(seed).spawn(len(institutions))
        members: list[InstitutionLike] = [
            Institution(str(name), table, seed=int(s.generate_state(1)[0]))
            for (name, table), s in zip(institutions.items(), seeds, strict=True)
        ]
    else:
        members = list(institutions)
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise SpecificationError(f"Institution names must be unique; got {names}.")

    def trainer(config: dict[str, Any], settings: dict[str, Any]) -> _Run:
        if engine == "flower":
            from dongne.share.flower import train_on_flower

            return train_on_flower(
                members, config, settings, secure_aggregation=secure_aggregation
            )
        return _train_here(members, config, settings)

    return _federate(
        trainer,
        len(members),
        target,
        features,
        model=model,
        strategy=strategy,
        rounds=rounds,
        local_steps=local_steps,
        learning_rate=learning_rate,
        alpha=alpha,
        mu=mu,
        q=q,
        hidden=hidden,
        epsilon=epsilon,
        delta=delta,
        clip_norm=clip_norm,
        accountant=accountant,
        min_institutions=min_institutions,
        seed=seed,
        engine=engine,
        secure_aggregation=secure_aggregation,
        noise=noise,
    )


def _federate_trees(
    institutions: Any,
    target: str,
    features: Sequence[str],
    *,
    model: str,
    engine: str,
    strategy: str,
    epsilon: float | None,
    secure_aggregation: bool,
    **options: Any,
) -> FederatedResult:
    """Boosted trees: Flower's FedXgbBagging (:mod:`dongne.share.trees`)."""
    if engine != "flower" or strategy != "fedavg" or epsilon is not None or secure_aggregation:
        raise SpecificationError(
            f"model={model!r} is trained by Flower's tree bagging: pass engine='flower' and "
            "leave strategy, epsilon and secure_aggregation at their defaults (trees are "
            "appended, not averaged, so FedProx/q-FedAvg, DP noise and SecAgg+ do not apply)."
        )
    from dongne.share.trees import federate_trees

    return federate_trees(institutions, target, features, model=model, **options)












def _train_here(
    members: Sequence[InstitutionLike], config: dict[str, Any], settings: Mapping[str, Any]
) -> _Run:
    """The coordinator loop of dongne's own engine (institutions local or remote)."""
    min_institutions = settings["min_institutions"]
    active = list(members)
    history: list[dict[str, Any]] = []

    def call(member: InstitutionLike, method: str, rnd: int, *args: Any) -> dict | None:
        try:
            return getattr(member, method)(*args, config)
        except InstitutionDropout as err:
            history.append(
                {"round": rnd, "institution": member.name, "status": "dropped", "loss": np.nan}
            )
            active.remove(member)
            if len(active) < min_institutions:
                raise _dropout_error(member.name, rnd, len(active), min_institutions, err) from err
            return None

    # round 0: pooled means and standard deviations for standardisation
    stats = {m.name: s for m in list(active) if (s := call(m, "stats", 0)) is not None}
    config.update(_standardisation(stats, config["features"], config["model"]))

    params = _init_params(
        config["model"], len(config["features"]), config["hidden"], settings["seed"]
    )
    multipliers: dict[str, list[float]] = {m.name: [] for m in members}
    rounds = settings["rounds"]
    for rnd in range(1, rounds + 1):
        config["round"] = rnd
        replies = []
        for member in list(active):
            reply = call(member, "fit", rnd, params.tolist())
            if reply is None:
                continue
            replies.append(reply)
            if config["noise_multiplier"] is not None:
                multipliers[member.name].append(config["noise_multiplier"])
            else:
                multipliers[member.name].append(np.inf)
            history.append(_trained(rnd, member.name, reply.get("loss")))
        params = _aggregate(
            settings["strategy"],
            params,
            replies,
            q=settings["q"],
            learning_rate=settings["learning_rate"],
            private=config["noise_multiplier"] is not None,
        )
        _check_finite(params, rnd, config)

    rows = []
    for member in list(active):
        metrics = call(member, "evaluate", rounds + 1, params.tolist())
        if metrics is not None:
            rows.append(
                {"institution": member.name, **metrics, "rounds": len(multipliers[member.name])}
            )
    return _Run(stats, config, params, history, rows, multipliers)






def _check_engine(
    engine: str,
    institutions: Any,
    strategy: str,
    secure_aggregation: bool,
    noise: str,
    epsilon: float | None,
) -> None:
    if engine not in ENGINES:
        raise SpecificationError(f"engine must be one of {ENGINES}; got {engine!r}.")
    if noise not in ("local", "distributed"):
        raise SpecificationError(f'noise must be "local" or "distributed"; got {noise!r}.')
    if engine == "flower" and not isinstance(institutions, Mapping):
        raise SpecificationError(
            "engine='flower' simulates the institutions itself: pass a mapping of "
            "institution name to table. (Institutions on other machines: use "
            "dongne.share.network, or Flower's own deployment.)"
        )
    if secure_aggregation and engine != "flower":
        raise SpecificationError(
            "secure_aggregation uses Flower's SecAgg+ protocol. Fix: pass engine='flower'."
        )
    if secure_aggregation and strategy == "qfedavg":
        raise SpecificationError(
            "q-FedAvg needs each institution's own update, which secure aggregation hides. "
            "Fix: use strategy='fedavg' or 'fedprox' with secure_aggregation."
        )
    if secure_aggregation and isinstance(institutions, Mapping) and len(institutions) < 3:
        raise SpecificationError(
            f"SecAgg+ needs at least 3 institutions (got {len(institutions)}): with two, "
            "each could compute the other's update from the sum."
        )
    if noise == "distributed" and not (secure_aggregation and epsilon is not None):
        raise SpecificationError(
            "noise='distributed' splits the DP noise among institutions, which protects them "
            "only when the coordinator sees nothing but the sum. Fix: pass "
            "secure_aggregation=True and an epsilon, or use noise='local'."
        )
