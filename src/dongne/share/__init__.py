"""Share models, not data: a registry with model cards, prediction by reference, and
federated training across institutions with institution-level differential privacy.

* :class:`ModelRegistry` — register (immutable, hash-checked versions, aliases such as
  ``production``), list, show, load; MLflow's model registry underneath.
* :class:`ModelCard` — intended use, sources, regions, period, metrics overall and per group
  (small cells suppressed), privacy budget, caveats; HTML in English and Korean.
* :func:`predict` — a registered model applied to a table after a schema check.
* :func:`federate` — FedAvg, FedProx, q-FedAvg and DP-FedAvg for linear/logistic regression
  and a small MLP, with institutions in this process or in other processes
  (:mod:`dongne.share.network`), or on Flower — its simulation engine, SecAgg+ secure
  aggregation and gRPC deployment (:mod:`dongne.share.flower`); boosted trees (XGBoost) with
  Flower's bagging aggregation (:mod:`dongne.share.trees`).
* :mod:`dongne.share.privacy` — ε accounting (RDP and exact Gaussian DP), small-cell
  suppression.
"""

from dongne.share.card import ModelCard
from dongne.share.federated import (
    FederatedModel,
    FederatedResult,
    FederationError,
    Institution,
    InstitutionDropout,
    federate,
)
from dongne.share.predict import Prediction, predict
from dongne.share.privacy import (
    clip_update,
    epsilon_spent,
    epsilon_spent_rounds,
    noise_multiplier_for,
    suppress_small_cells,
)
from dongne.share.registry import ModelIntegrityError, ModelRegistry, ModelVersion, parse_ref
from dongne.share.schema import Column, InputSchema, infer_schema

__all__ = [
    "Column",
    "FederatedModel",
    "FederatedResult",
    "FederationError",
    "InputSchema",
    "Institution",
    "InstitutionDropout",
    "ModelCard",
    "ModelIntegrityError",
    "ModelRegistry",
    "ModelVersion",
    "Prediction",
    "clip_update",
    "epsilon_spent",
    "epsilon_spent_rounds",
    "federate",
    "infer_schema",
    "noise_multiplier_for",
    "parse_ref",
    "predict",
    "suppress_small_cells",
]
