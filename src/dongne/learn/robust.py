"""Shift-robust training by reweighting, and the worst-group report that must go with it.

Three wrappers around any scikit-learn estimator that accepts ``sample_weight`` (LightGBM's
``LGBMRegressor``/``LGBMClassifier`` included):

* :class:`ImportanceWeighted` — weights source rows by the density ratio
  p_target(x) / p_source(x), estimated from a domain classifier's odds (Shimodaira 2000);
* :class:`GroupDRO` — group distributionally robust optimisation (Sagawa et al. 2020) in its
  reweighting form: group weights q_g ← q_g · exp(η · loss_g), refitting with them;
* :class:`GroupReweighted` — every group gets the same total weight (the baseline GroupDRO
  must beat).

:func:`group_report` gives the metric in every group, the average and the worst group, so
that an average score never hides a place the model fails.

References
----------
Shimodaira, H. (2000). *Journal of Statistical Planning and Inference* 90(2):227–244.
Sagawa, S., Koh, P. W., Hashimoto, T. B. & Liang, P. (2020). Distributionally robust neural
networks for group shifts: on the importance of regularization for worst-case
generalization. *ICLR 2020*.
Koh, P. W., Sagawa, S., et al. (2021). WILDS: a benchmark of in-the-wild distribution shifts.
*ICML 2021* (worst-group metrics).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from dongne import __version__
from dongne._deprecate import renamed
from dongne._vocab import Lang, bilingual, provenance_alias, resolve_rng
from dongne.errors import DataError, SpecificationError
from dongne.learn.shift import domain_probabilities, effective_sample_size, importance_weights

__all__ = [
    "METRICS",
    "GroupDRO",
    "GroupReport",
    "GroupReweighted",
    "ImportanceWeighted",
    "group_report",
]


# ------------------------------------------------------------------------------ helpers
def _resolve_estimator(estimator: Any) -> Any:
    if isinstance(estimator, str):
        if estimator == "linear":
            return make_pipeline(StandardScaler(), Ridge(alpha=1.0))
        if estimator == "logistic":
            return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        raise SpecificationError(
            "The 'estimator' parameter must be 'linear', 'logistic' or a scikit-learn "
            f"estimator. Got {estimator!r} instead."
        )
    return clone(estimator)


def _fit_weighted(est: Any, X: Any, y: Any, w: np.ndarray) -> Any:
    """Fit with per-row weights, routing them to the last step of a Pipeline."""
    last = est.steps[-1][1] if isinstance(est, Pipeline) else est
    if not has_fit_parameter(last, "sample_weight"):
        raise SpecificationError(
            f"{type(last).__name__}.fit does not accept sample_weight, which reweighting needs. "
            "Fix: use an estimator that does (Ridge, LogisticRegression, gradient boosting, "
            "random forests, lightgbm.LGBMRegressor, ...)."
        )
    if isinstance(est, Pipeline):
        return est.fit(X, y, **{f"{est.steps[-1][0]}__sample_weight": w})
    return est.fit(X, y, sample_weight=w)


def _codes(groups: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    if groups is None:
        raise SpecificationError("This method needs groups (e.g. the gu of every row).")
    g = pd.Series(np.asarray(groups, dtype=object).ravel())
    if len(g) != n:
        raise DataError(f"groups has {len(g)} values for {n} rows of X.")
    if g.isna().any():
        raise DataError(
            f"groups is missing in rows {np.flatnonzero(g.isna().to_numpy())[:10].tolist()}. "
            "Fix: give every row a group."
        )
    labels, codes = np.unique(g.astype(str).to_numpy(), return_inverse=True)
    return labels, codes.ravel()


def _row_losses(model: Any, X: Any, y: np.ndarray) -> np.ndarray:
    """Squared error (regression) or log loss (classifiers with predict_proba) per row."""
    if is_classifier(model):
        if hasattr(model, "predict_proba"):
            proba = model.predict_proba(X)
            col = np.searchsorted(model.classes_, y)
            return -np.log(np.clip(proba[np.arange(len(y)), col], 1e-12, 1.0))
        return (model.predict(X) != y).astype(float)
    return (np.asarray(model.predict(X), dtype=float) - y) ** 2


class _Wrapper(MetaEstimatorMixin, BaseEstimator):
    """Prediction delegated to the fitted ``estimator_``."""

    def predict(self, X: Any) -> np.ndarray:
        """Predictions of the reweighted model."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the reweighted classifier."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def score(self, X: Any, y: Any) -> float:
        """The wrapped estimator's ``score`` (R² or accuracy)."""
        check_is_fitted(self, "estimator_")
        return float(self.estimator_.score(X, y))

    @property
    def _estimator_type(self) -> str | None:
        est = self.estimator
        if isinstance(est, str):
            return "classifier" if est == "logistic" else "regressor"
        return getattr(est, "_estimator_type", None)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        est = _resolve_estimator(self.estimator)
        inner = est.__sklearn_tags__()
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        return tags


# ------------------------------------------------------------------------------ wrappers
class ImportanceWeighted(_Wrapper):
    """Fit on the source region with importance weights towards the target region.

    A domain classifier separates source rows from (unlabelled) target rows; its
    out-of-fold probabilities give w(x) = (n_s / n_t) · P(target|x) / P(source|x), clipped at
    the ``clip_quantile`` quantile and normalised to mean 1
    (:func:`dongne.learn.shift.importance_weights`); the estimator is fitted with
    ``sample_weight=w``. This corrects covariate shift — the same relation y|x, different x —
    for a misspecified model (Shimodaira 2000); it cannot correct concept shift. Few rows with
    large weights (small ``ess_``) make the fit noisy.

    Parameters
    ----------
    estimator : scikit-learn estimator, "linear" or "logistic"
        "linear": standardised ridge regression (α = 1); "logistic": standardised logistic
        regression (C = 1).
    classifier : {"logistic", "gbm"} or classifier, default "logistic"
    clip_quantile : float or None, default 0.99
    n_splits : int, default 5
        Folds of the out-of-fold domain probabilities.
    rng : int, numpy.random.Generator or None, default None
        Seed of the folds and the classifier (``seed`` before 0.2).
        None means seed 0; a Generator is drawn from once (:func:`dongne._vocab.resolve_rng`).

    Attributes
    ----------
    estimator_ : fitted estimator
    weights_ : ndarray
        Weight of every source row (mean 1).
    ess_ : float
        Effective sample size of the weights (out of ``n_source_``).
    """

    @renamed(seed="rng")
    def __init__(
        self,
        estimator: Any = "linear",
        *,
        classifier: Any = "logistic",
        clip_quantile: float | None = 0.99,
        n_splits: int = 5,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        self.estimator = estimator
        self.classifier = classifier
        self.clip_quantile = clip_quantile
        self.n_splits = n_splits
        self.rng = rng

    def fit(self, X: Any, y: Any, *, X_target: Any) -> ImportanceWeighted:
        """Estimate the weights from ``X`` (source) and ``X_target``, then fit; return self."""
        n, m = len(X), len(X_target)
        probs = domain_probabilities(
            X,
            X_target,
            classifier=self.classifier,
            n_splits=self.n_splits,
            seed=resolve_rng(self.rng, bits=32),
        )
        self.weights_ = importance_weights(probs[:n], n, m, self.clip_quantile)
        self.ess_ = effective_sample_size(self.weights_)
        self.n_source_ = n
        self.estimator_ = _fit_weighted(
            _resolve_estimator(self.estimator), X, np.asarray(y), self.weights_
        )
        return self


class GroupReweighted(_Wrapper):
    """Fit with every group given the same total weight: w_i = n / (G · n_g).

    The simplest answer to a group that is small in the training data; :class:`GroupDRO`
    should be compared with it, not only with the unweighted fit.

    Attributes
    ----------
    estimator_, group_weights_ : fitted estimator and a Series of per-row weight by group.
    """

    def __init__(self, estimator: Any = "linear") -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any, groups: Any) -> GroupReweighted:
        """Fit with equal total weight per group; return self."""
        labels, codes = _codes(groups, len(X))
        n_g = np.bincount(codes)
        w = len(codes) / (len(labels) * n_g[codes])
        self.group_weights_ = pd.Series(len(codes) / (len(labels) * n_g), index=labels)
        self.estimator_ = _fit_weighted(_resolve_estimator(self.estimator), X, np.asarray(y), w)
        return self


class GroupDRO(_Wrapper):
    r"""Group distributionally robust fit (Sagawa et al. 2020), by iterative reweighting.

    Group DRO minimises the worst expected loss over groups, :math:`\min_\theta \max_g
    E_g[\ell(\theta)]`, as a game between the model and a distribution q over groups. Sagawa
    et al. alternate a gradient step on θ with the exponentiated-gradient step
    :math:`q_g \leftarrow q_g \exp(\eta\, \ell_g)`, normalised. This class plays the same
    game with models fitted in closed form or by their own solver: round t fits the estimator
    with ``sample_weight`` :math:`w_i = n\, q_{g(i)} / n_{g(i)}` (group g gets total weight
    :math:`n q_g`), measures each group's mean training loss :math:`\ell_g` (squared error
    or log loss), divided by the mean loss of the first round so that η has no unit, adds
    the optional size adjustment :math:`C / \sqrt{n_g}`, and updates q. The returned model is
    refitted with the average of q over the rounds — the averaged iterate, which is what
    converges to the minimax solution for convex losses (Nemirovski et al. 2009).

    Sagawa et al. stress that worst-group gains need strong regularisation (or early
    stopping): a model that fits every training row has zero loss in every group and DRO
    changes nothing. The default "linear" model is ridge regression on standardised
    features.

    Parameters
    ----------
    estimator : scikit-learn estimator, "linear" or "logistic", default "linear"
    eta : float, default 1.0
        Step size of the group weights (per unit of relative loss).
    n_rounds : int, default 30
    adjustment : float, default 0.0
        C of the group adjustment C / √n_g (Sagawa et al. §3.3), in units of relative loss.

    Attributes
    ----------
    estimator_ : fitted estimator (refitted with ``group_weights_``)
    group_weights_ : Series
        Averaged q per group (sums to 1).
    history_ : DataFrame
        One row per round: q and the relative training loss of every group.

    Examples
    --------
    >>> from dongne.learn.tasks import synthetic_shift_task
    >>> task = synthetic_shift_task(rng=0)
    >>> src = task.domain == "source"
    >>> dro = GroupDRO().fit(task.X[src], task.y[src], task.groups[src])
    >>> dro.group_weights_.round(2).to_dict()
    {'A': 0.43, 'B': 0.57}
    """

    def __init__(
        self,
        estimator: Any = "linear",
        *,
        eta: float = 1.0,
        n_rounds: int = 30,
        adjustment: float = 0.0,
    ) -> None:
        self.estimator = estimator
        self.eta = eta
        self.n_rounds = n_rounds
        self.adjustment = adjustment

    def fit(self, X: Any, y: Any, groups: Any) -> GroupDRO:
        """Play the group game for ``n_rounds`` and refit with the averaged weights."""
        if not (isinstance(self.n_rounds, (int, np.integer)) and self.n_rounds >= 1):
            raise SpecificationError(
                f"The 'n_rounds' parameter must be an int >= 1. Got {self.n_rounds!r}."
            )
        if not self.eta > 0:
            raise SpecificationError(f"The 'eta' parameter must be positive. Got {self.eta!r}.")
        yv = np.asarray(y)
        labels, codes = _codes(groups, len(X))
        n, g = len(codes), len(labels)
        n_g = np.bincount(codes, minlength=g).astype(float)
        base = _resolve_estimator(self.estimator)
        log_q = np.zeros(g)
        q = np.full(g, 1.0 / g)
        q_sum = np.zeros(g)
        scale = None
        rows = []
        for t in range(int(self.n_rounds)):
            model = _fit_weighted(clone(base), X, yv, n * q[codes] / n_g[codes])
            loss = _row_losses(model, X, yv)
            if scale is None:
                scale = float(loss.mean()) or 1.0
            loss_g = np.bincount(codes, weights=loss, minlength=g) / n_g / scale
            rows.append(
                {
                    "round": t,
                    **{f"q[{lab}]": v for lab, v in zip(labels, q, strict=True)},
                    **{f"loss[{lab}]": v for lab, v in zip(labels, loss_g, strict=True)},
                }
            )
            q_sum += q
            # the multiplicative update in log space: exp(η·loss) may overflow for large losses
            log_q += self.eta * (loss_g + self.adjustment / np.sqrt(n_g))
            q = np.exp(log_q - log_q.max())
            q /= q.sum()
        q_bar = q_sum / self.n_rounds
        self.group_weights_ = pd.Series(q_bar, index=labels)
        self.history_ = pd.DataFrame(rows)
        self.estimator_ = _fit_weighted(clone(base), X, yv, n * q_bar[codes] / n_g[codes])
        return self


# ------------------------------------------------------------------------------ reporting
METRICS: dict[str, tuple[str, bool]] = {
    "rmse": ("RMSE", False),
    "mae": ("MAE", False),
    "r2": ("R²", True),
    "accuracy": ("accuracy", True),
}


def _metric(name: str, y: np.ndarray, pred: np.ndarray) -> float:
    if name == "rmse":
        return float(np.sqrt(np.mean((pred - y) ** 2)))
    if name == "mae":
        return float(np.mean(np.abs(pred - y)))
    if name == "r2":
        ss = float(((y - y.mean()) ** 2).sum())
        return float(1 - ((y - pred) ** 2).sum() / ss) if ss > 0 else float("nan")
    return float(np.mean(pred == y))


@dataclass
class GroupReport:
    """A metric in every group, overall, and in the worst group.

    Attributes
    ----------
    table : DataFrame
        One row per group (``group``, ``n``, metric), sorted from worst to best.
    metric : str
    overall : float
        The metric over all rows pooled.
    worst_group : str
    worst : float
    provenance : dict
    """

    provenance_ = provenance_alias("provenance")

    table: pd.DataFrame
    metric: str
    overall: float
    worst_group: str
    worst: float
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Per-group rows, then ``(overall)`` and ``(worst group)`` rows."""
        extra = pd.DataFrame(
            [
                {"group": "(overall)", "n": int(self.table["n"].sum()), self.metric: self.overall},
                {
                    "group": f"(worst: {self.worst_group})",
                    "n": int(self.table.loc[self.table["group"] == self.worst_group, "n"].iloc[0]),
                    self.metric: self.worst,
                },
            ]
        )
        return pd.concat([self.table, extra], ignore_index=True)

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Average next to worst group, in English (``"en"``) or Korean (``"ko"``)."""
        label = METRICS[self.metric][0]
        best = self.table.iloc[-1]
        if lang == "ko":
            return (
                f"{label}: 전체 {self.overall:.3g}, 최악 집단 {self.worst_group} {self.worst:.3g}, "
                f"최선 집단 {best['group']} {best[self.metric]:.3g} ({len(self.table)}개 집단). "
                "평균만 보고하면 가장 나쁜 지역의 성능이 가려집니다."
            )
        return (
            f"{label}: overall {self.overall:.3g}; worst group {self.worst_group} "
            f"{self.worst:.3g}; best group {best['group']} {best[self.metric]:.3g} "
            f"({len(self.table)} groups). An average alone would hide the worst-served group."
        )

    def plot(self, ax: Any = None) -> Any:
        """Bar chart of the metric per group with the overall value as a line; returns Axes."""
        import matplotlib.pyplot as plt

        from dongne.report import korean_font

        if ax is None:
            _, ax = plt.subplots(figsize=(6, max(2.5, 0.3 * len(self.table))))
        font = korean_font()
        ax.barh(self.table["group"].astype(str), self.table[self.metric], color="tab:grey")
        ax.axvline(self.overall, color="black", linestyle="--", label="overall")
        ax.set_yticks(range(len(self.table)), self.table["group"].astype(str), fontfamily=font)
        ax.set_xlabel(METRICS[self.metric][0])
        ax.legend()
        return ax


def group_report(model: Any, X: Any, y: Any, groups: Any, *, metric: str = "rmse") -> GroupReport:
    """Evaluate a fitted model in every group and report the worst group next to the average.

    Parameters
    ----------
    model : fitted estimator with ``predict``
    X, y : array-like
    groups : array-like
        Group of each row (gu, region, urban/rural).
    metric : {"rmse", "mae", "r2", "accuracy"}, default "rmse"
        Worst means highest for RMSE and MAE, lowest for R² and accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyRegressor
    >>> y = np.array([0.0, 0.0, 0.0, 4.0])
    >>> m = DummyRegressor().fit(np.zeros((4, 1)), y)
    >>> rep = group_report(m, np.zeros((4, 1)), y, ["a", "a", "a", "b"])
    >>> rep.overall, rep.worst_group, rep.worst
    (1.7320508075688772, 'b', 3.0)
    """
    if metric not in METRICS:
        raise SpecificationError(
            f"The 'metric' parameter must be one of {', '.join(METRICS)}. Got {metric!r}."
        )
    yv = np.asarray(y)
    labels, codes = _codes(groups, len(yv))
    pred = np.asarray(model.predict(X))
    higher_better = METRICS[metric][1]
    rows = [
        {
            "group": lab,
            "n": int((codes == k).sum()),
            metric: _metric(metric, yv[codes == k], pred[codes == k]),
        }
        for k, lab in enumerate(labels)
    ]
    table = (
        pd.DataFrame(rows)
        .sort_values(metric, ascending=higher_better, kind="stable")
        .reset_index(drop=True)
    )
    worst = table.iloc[0]
    return GroupReport(
        table=table,
        metric=metric,
        overall=_metric(metric, yv, pred),
        worst_group=str(worst["group"]),
        worst=float(worst[metric]),
        provenance={"method": "group_report", "metric": metric, "dongne_version": __version__},
    )
