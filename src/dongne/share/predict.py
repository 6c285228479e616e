"""Use a shared model by reference, without seeing the data it was trained on."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dongne import __version__
from dongne._vocab import Lang, bilingual, provenance_alias
from dongne.share.federated import CLASSIFIERS, FederatedModel
from dongne.share.registry import ModelRegistry
from dongne.share.trees import FederatedTreeModel

__all__ = ["Prediction", "predict"]


@dataclass
class Prediction:
    """Predictions of a registered model for a table.

    Attributes
    ----------
    values : Series
        One prediction per input row (same index).
    probabilities : Series or None
        P(class 1) for classifiers that provide ``predict_proba``.
    model : str
        ``"name/version"`` actually used (an alias is resolved).
    parameters : dict
        Reference asked for, model SHA-256, dongne version.
    """

    provenance_ = provenance_alias("parameters")

    values: pd.Series
    probabilities: pd.Series | None
    model: str
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Index of the input, ``prediction`` (and ``probability``)."""
        frame = self.values.rename("prediction").to_frame()
        if self.probabilities is not None:
            frame["probability"] = self.probabilities
        return frame

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Count and spread of the predictions, and which model made them."""
        v = self.values.to_numpy(dtype=float)
        lo, med, hi = np.percentile(v, [10, 50, 90])
        if lang == "ko":
            return (
                f"모형 {self.model}로 {len(v)}행을 예측했습니다: 중앙값 {med:.4g} "
                f"(10–90% 범위 {lo:.4g}–{hi:.4g}). 입력은 모형의 스키마로 검사했고, 학습 "
                "자료는 사용자에게 공개되지 않습니다. 학습 지역·기간 밖의 자료에는 모형 "
                "카드의 유의사항을 확인하십시오."
            )
        return (
            f"Model {self.model} predicted {len(v)} rows: median {med:.4g} (10–90% range "
            f"{lo:.4g}–{hi:.4g}). The input was checked against the model's schema; the "
            "training data were not exposed. For areas or years outside the model card's "
            "training regions and period, read its caveats first."
        )

    def plot(self, ax: Any = None) -> Any:
        """Histogram of the predictions; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        ax.hist(self.values.to_numpy(dtype=float), bins="auto", color="#2b6cb0")
        ax.set_xlabel("prediction")
        ax.set_ylabel("rows")
        ax.set_title(self.model)
        return ax


def predict(
    model_ref: str,
    table: pd.DataFrame,
    *,
    registry: ModelRegistry | str | os.PathLike[str] | None = None,
    extra: str = "error",
    trusted: tuple[str, ...] = (),
) -> Prediction:
    """Predict with a registered model after checking ``table`` against its input schema.

    Parameters
    ----------
    model_ref : str
        ``"name"`` (latest version), ``"name@production"`` or ``"name/3"``.
    table : DataFrame
        The caller's rows, with the schema's columns.
    registry : ModelRegistry or path, optional
        Default: ``$DONGNE_REGISTRY`` or ``./dongne-registry``.
    extra : {"error", "drop"}
        Columns that the model does not use: refuse (default) or ignore.
    trusted : tuple of str
        Extra skops types to trust (see :meth:`ModelRegistry.load`).

    Returns
    -------
    Prediction

    Raises
    ------
    dongne.errors.DataError
        Unknown model/alias/version, missing/extra/mistyped column, missing values, or a
        model file whose SHA-256 differs from the registered one
        (:class:`~dongne.share.registry.ModelIntegrityError`).
    """
    reg = registry if isinstance(registry, ModelRegistry) else ModelRegistry(registry)
    version = reg.get(model_ref)
    X = version.schema.check(table, extra=extra)
    model = reg.load(version.ref, trusted=trusted)
    values = pd.Series(np.asarray(model.predict(X)), index=table.index, name="prediction")
    probabilities = None
    federated = isinstance(model, FederatedModel | FederatedTreeModel)
    classifier = model.kind in CLASSIFIERS if federated else True
    if classifier and hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X))
        if proba.ndim == 2 and proba.shape[1] == 2:
            probabilities = pd.Series(proba[:, 1], index=table.index, name="probability")
    return Prediction(
        values=values,
        probabilities=probabilities,
        model=version.ref,
        parameters={
            "model_ref": model_ref,
            "sha256": version.sha256["model"],
            "rows": len(table),
            "dongne_version": __version__,
        },
    )
