"""Is the place where a model will be used different from where it was trained?

Diagnostics of covariate shift between a *source* sample (training areas) and a *target*
sample (deployment areas), following the comparison of Rabanser, Günnemann & Lipton (2019):

* a **domain classifier** learns to tell target rows from source rows; its cross-validated
  AUC is 0.5 without detectable shift, and a permutation test gives its p-value;
* per-feature **Kolmogorov–Smirnov** tests with multiple-testing control, and the
  **population stability index** (PSI) of each feature;
* the **maximum mean discrepancy** (MMD, Gretton et al. 2012) two-sample test on all
  features together, with a Gaussian kernel and a permutation p-value;
* **importance weights** w(x) = p_target(x) / p_source(x) from the domain classifier's odds
  (Shimodaira 2000), their effective sample size, and the importance-weighted estimate of a
  model's error in the target region.

References
----------
Gretton, A., Borgwardt, K. M., Rasch, M. J., Schölkopf, B. & Smola, A. (2012). A kernel
two-sample test. *JMLR* 13:723–773.
Rabanser, S., Günnemann, S. & Lipton, Z. C. (2019). Failing loudly: an empirical study of
methods for detecting dataset shift. *NeurIPS* 32.
Shimodaira, H. (2000). Improving predictive inference under covariate shift by weighting the
log-likelihood function. *Journal of Statistical Planning and Inference* 90(2):227–244.
Siddiqi, N. (2006). *Credit Risk Scorecards*. Wiley (PSI thresholds 0.1 and 0.25).
Kish, L. (1965). *Survey Sampling*. Wiley (effective sample size).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist, squareform
from scipy.stats import ks_2samp, kstwo, rankdata
from sklearn.base import clone, is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dongne import __version__
from dongne._deprecate import MISSING, renamed
from dongne._vocab import Lang, bilingual, in_process_only, resolve_rng
from dongne.detect.inference import CORRECTIONS, adjust_pvalues, check_choice
from dongne.errors import DataError, DongneError, SpecificationError

__all__ = [
    "ShiftDiagnostics",
    "domain_classifier",
    "domain_probabilities",
    "effective_sample_size",
    "importance_weights",
    "ks_2sample",
    "mmd2_unbiased",
    "mmd_test",
    "population_stability_index",
    "rank_auc",
]


# ----------------------------------------------------------------------------- inputs
def _frame(data: Any, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        frame = data.drop(columns=data.geometry.name) if hasattr(data, "geometry") else data
    else:
        arr = np.asarray(data)
        if arr.dtype == object:
            arr = pd.DataFrame(arr).infer_objects().to_numpy()
        if arr.ndim == 1:
            arr = arr[:, None]
        frame = pd.DataFrame(arr, columns=columns or [f"x{j}" for j in range(arr.shape[1])])
    if columns is not None and list(frame.columns) != list(columns):
        raise DataError(
            f"{name} has columns {list(frame.columns)} but the source has {list(columns)}. "
            "Fix: give both samples the same features in the same order."
        )
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise DataError(
            f"{name} has non-numeric columns {bad}. Fix: encode them (e.g. one-hot) or drop them."
        )
    values = frame.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
        raise DataError(
            f"{name} has missing or infinite values in rows {rows[:10].tolist()}. Fix: impute "
            "or drop them before testing for shift."
        )
    if len(frame) < 2:
        raise DataError(f"{name} needs at least 2 rows; got {len(frame)}.")
    return frame


def _pair(source: Any, target: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    s = _frame(source, "source")
    t = _frame(target, "target", list(s.columns))
    return s, t


def _resolve_classifier(classifier: Any, seed: int) -> Any:
    if isinstance(classifier, str):
        if classifier == "logistic":
            return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        if classifier == "gbm":
            return HistGradientBoostingClassifier(max_iter=100, random_state=seed)
        raise SpecificationError(
            "The 'classifier' parameter must be 'logistic', 'gbm' or a scikit-learn "
            f"classifier with predict_proba. Got {classifier!r} instead."
        )
    if not (is_classifier(classifier) and hasattr(classifier, "predict_proba")):
        raise SpecificationError(
            f"classifier={classifier!r} is not a scikit-learn classifier with predict_proba. "
            "Fix: pass 'logistic', 'gbm' or e.g. lightgbm.LGBMClassifier()."
        )
    return clone(classifier)


# ----------------------------------------------------------------------------- kernels
def rank_auc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve as the Mann–Whitney probability P(score₁ > score₀) + ½ P(=).

    Parameters
    ----------
    scores : array-like of float
    labels : array-like of {0, 1}
        1 for the positive class (here: target rows).

    Examples
    --------
    >>> rank_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        raise DataError("AUC needs rows of both classes (source and target).")
    r = rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def ks_2sample(source: Any, target: Any, method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Two-sample Kolmogorov–Smirnov statistic and p-value of every column.

    D = sup_v |F_source(v) − F_target(v)| is computed for all columns from sorted samples.
    Two-sided p-values: ``"asymp"`` uses the distribution of the one-sample statistic at the
    effective size n·m/(n + m), rounded (Smirnov's asymptotic formula, ``scipy.stats.kstwo``),
    vectorised over columns; ``"exact"`` the exact null distribution of D
    (``scipy.stats.ks_2samp(method="exact")``, column by column); ``"auto"``: exact when both
    samples have at most 10,000 rows, as SciPy does. The asymptotic p is too small for small
    samples (n = m = 4, D = 0.75: 0.125 against the exact 0.229).

    Parameters
    ----------
    source, target : array-like of shape (n, k) and (m, k)
    method : {"auto", "exact", "asymp"}

    Returns
    -------
    statistic, p_value : ndarray of shape (k,)

    Examples
    --------
    >>> d, p = ks_2sample([[1.0], [2.0], [3.0], [4.0]], [[3.5], [4.5], [5.5], [6.5]])
    >>> d.tolist(), p.round(4).tolist()
    ([0.75], [0.2286])
    """
    check_choice("method", method, ("auto", "exact", "asymp"))
    a = np.asarray(source, dtype=float)
    b = np.asarray(target, dtype=float)
    a = a[:, None] if a.ndim == 1 else a
    b = b[:, None] if b.ndim == 1 else b
    n, m = len(a), len(b)
    a_sorted = np.sort(a, axis=0)
    b_sorted = np.sort(b, axis=0)
    pooled = np.concatenate([a_sorted, b_sorted], axis=0)
    d = np.empty(a.shape[1])
    for j in range(a.shape[1]):
        cdf_a = np.searchsorted(a_sorted[:, j], pooled[:, j], side="right") / n
        cdf_b = np.searchsorted(b_sorted[:, j], pooled[:, j], side="right") / m
        d[j] = np.abs(cdf_a - cdf_b).max()
    if method == "exact" or (method == "auto" and max(n, m) <= 10_000):
        p = np.array([ks_2samp(a[:, j], b[:, j], method="exact").pvalue for j in range(len(d))])
        return d, p
    big, small = max(n, m), min(n, m)
    en = np.round(big * small / (big + small))
    return d, np.clip(kstwo.sf(d, en), 0.0, 1.0)


def population_stability_index(
    source: Any, target: Any, bins: int = 10, floor: float = 1e-4
) -> np.ndarray:
    """Population stability index of every column, on quantile bins of the source.

    PSI = Σ_b (t_b − s_b) · ln(t_b / s_b), where s_b and t_b are the shares of source and
    target rows in bin b. Bins are the ``bins`` source quantile classes (edges at the
    1/bins … (bins−1)/bins quantiles, duplicates merged, lowest bin open to −∞ and highest to
    +∞, upper edges inclusive); shares below ``floor`` are raised to ``floor`` so that empty
    bins do not give infinite values. Rule of thumb (Siddiqi 2006): < 0.1 stable, 0.1–0.25
    moderate shift, > 0.25 major shift.

    Examples
    --------
    >>> round(float(population_stability_index([1, 2, 3, 4], [3, 4, 5, 6], bins=2)[0]), 4)
    4.6043
    """
    a = np.asarray(source, dtype=float)
    b = np.asarray(target, dtype=float)
    a = a[:, None] if a.ndim == 1 else a
    b = b[:, None] if b.ndim == 1 else b
    if not (isinstance(bins, (int, np.integer)) and bins >= 2):
        raise SpecificationError(f"The 'bins' parameter must be an int >= 2. Got {bins!r}.")
    out = np.empty(a.shape[1])
    qs = np.arange(1, bins) / bins
    for j in range(a.shape[1]):
        edges = np.unique(np.quantile(a[:, j], qs))
        k = len(edges) + 1
        s = np.bincount(np.searchsorted(edges, a[:, j], side="left"), minlength=k) / len(a)
        t = np.bincount(np.searchsorted(edges, b[:, j], side="left"), minlength=k) / len(b)
        s, t = np.maximum(s, floor), np.maximum(t, floor)
        out[j] = float(((t - s) * np.log(t / s)).sum())
    return out


def _standardise(z: np.ndarray) -> np.ndarray:
    sd = z.std(axis=0)
    return (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _kernel(z: np.ndarray, bandwidth: float | None) -> tuple[np.ndarray, float]:
    d = pdist(z)
    if bandwidth is None:
        positive = d[d > 0]
        bandwidth = float(np.median(positive)) if len(positive) else 1.0
    if not bandwidth > 0:
        raise SpecificationError(f"The 'bandwidth' must be positive. Got {bandwidth!r}.")
    k = squareform(np.exp(-(d**2) / (2 * bandwidth**2)))
    np.fill_diagonal(k, 1.0)
    return k, float(bandwidth)


def _mmd2_batch(k: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Unbiased MMD² for each row of ``member`` (R × N, 1 = first sample) on kernel ``k``."""
    a = member.astype(float)
    b = 1.0 - a
    m = a.sum(axis=1)
    n = b.sum(axis=1)
    ak = a @ k
    bk = k.sum(axis=0)[None, :] - ak
    diag = np.diag(k)
    s_xx = (ak * a).sum(axis=1) - a @ diag
    s_yy = (bk * b).sum(axis=1) - b @ diag
    s_xy = (ak * b).sum(axis=1)
    return s_xx / (m * (m - 1)) + s_yy / (n * (n - 1)) - 2 * s_xy / (m * n)


def mmd2_unbiased(source: Any, target: Any, bandwidth: float) -> float:
    """Unbiased estimate of MMD² with the Gaussian kernel k(x, y) = exp(−‖x − y‖² / 2σ²).

    MMD²_u = Σ_{i≠j} k(x_i, x_j) / m(m−1) + Σ_{i≠j} k(y_i, y_j) / n(n−1) − 2 Σ_{i,j} k(x_i, y_j)
    / mn (Gretton et al. 2012, Lemma 6). Inputs are used as given (no scaling).

    Examples
    --------
    >>> round(mmd2_unbiased([[0.0], [1.0]], [[0.0], [2.0]], bandwidth=1.0), 6)
    -0.432332
    """
    x = np.asarray(source, dtype=float)
    y = np.asarray(target, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    y = y[:, None] if y.ndim == 1 else y
    k, _ = _kernel(np.concatenate([x, y]), bandwidth)
    member = np.r_[np.ones(len(x)), np.zeros(len(y))][None, :]
    return float(_mmd2_batch(k, member)[0])


def mmd_test(
    source: Any,
    target: Any,
    *,
    permutations: int = 999,
    bandwidth: float | None = None,
    standardise: bool = True,
    seed: int = 0,
) -> dict[str, float]:
    """Kernel two-sample test: unbiased MMD² and its permutation p-value.

    Features are standardised with the pooled mean and standard deviation (``standardise``);
    the bandwidth σ defaults to the median pairwise distance of the pooled sample (median
    heuristic, Gretton et al. 2012 §8). The p-value is (1 + #{MMD²_perm ≥ MMD²}) / (R + 1) over
    ``permutations`` random relabellings of the pooled rows (one seeded generator, all
    permutations evaluated as matrix products).

    Returns
    -------
    dict
        ``mmd2``, ``p_value``, ``bandwidth``, ``permutations``, ``seed``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> res = mmd_test(rng.normal(size=(60, 2)), rng.normal(1.0, size=(60, 2)), seed=0)
    >>> res["p_value"] <= 0.01
    True
    """
    x = np.asarray(source, dtype=float)
    y = np.asarray(target, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    y = y[:, None] if y.ndim == 1 else y
    if len(x) < 2 or len(y) < 2:
        raise DataError("The MMD test needs at least 2 rows in each sample.")
    if not (isinstance(permutations, (int, np.integer)) and permutations >= 1):
        raise SpecificationError(
            f"The 'permutations' parameter must be an int >= 1. Got {permutations!r}."
        )
    z = np.concatenate([x, y])
    if standardise:
        z = _standardise(z)
    k, sigma = _kernel(z, bandwidth)
    labels = np.r_[np.ones(len(x)), np.zeros(len(y))]
    observed = float(_mmd2_batch(k, labels[None, :])[0])
    rng = np.random.default_rng(seed)
    sims = []
    for first in range(0, permutations, 256):
        r = min(256, permutations - first)
        sims.append(_mmd2_batch(k, rng.permuted(np.tile(labels, (r, 1)), axis=1)))
    sim = np.concatenate(sims)
    tol = 1e-12 * max(1.0, abs(observed))
    p = (1 + int((sim >= observed - tol).sum())) / (permutations + 1)
    return {
        "mmd2": observed,
        "p_value": p,
        "bandwidth": sigma,
        "permutations": int(permutations),
        "seed": int(seed),
    }


def effective_sample_size(weights: Any) -> float:
    """Kish's effective sample size (Σw)² / Σw² of non-negative weights.

    Examples
    --------
    >>> effective_sample_size([1, 1, 1, 1]), effective_sample_size([4, 0, 0, 0])
    (4.0, 1.0)
    """
    w = np.asarray(weights, dtype=float)
    if (w < 0).any() or not w.sum() > 0:
        raise DataError("Weights must be non-negative with a positive sum.")
    return float(w.sum() ** 2 / (w**2).sum())


def domain_probabilities(
    source: Any,
    target: Any,
    *,
    classifier: Any = "logistic",
    n_splits: int = 5,
    seed: int = 0,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold P(target | x) of every pooled row (source rows first) from a classifier.

    Each row's probability comes from a classifier that did not see it (stratified K-fold,
    shuffled with ``seed``), so that the probabilities — and the AUC and importance weights
    built on them — are not overfitted.
    """
    s, t = _pair(source, target)
    z = np.concatenate([s.to_numpy(float), t.to_numpy(float)])
    d = np.r_[np.zeros(len(s)), np.ones(len(t))] if labels is None else labels
    if min(len(s), len(t)) < n_splits:
        raise DataError(
            f"{n_splits}-fold domain classification needs at least {n_splits} rows in each "
            f"sample (source {len(s)}, target {len(t)}). Fix: lower n_splits."
        )
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    est = _resolve_classifier(classifier, seed)
    return cross_val_predict(est, z, d, cv=cv, method="predict_proba")[:, 1]


def domain_classifier(
    source: Any,
    target: Any,
    *,
    classifier: Any = "logistic",
    n_splits: int = 5,
    permutations: int = 99,
    seed: int = 0,
) -> dict[str, Any]:
    """Domain-classifier test: cross-validated AUC of source-vs-target and its permutation p.

    The AUC is computed on out-of-fold probabilities (:func:`domain_probabilities`); the
    p-value is (1 + #{AUC_perm ≥ AUC}) / (R + 1), where each AUC_perm repeats the whole
    cross-validated fit with the source/target labels randomly permuted (R = ``permutations``
    fits × ``n_splits`` folds; seeded).

    Returns
    -------
    dict
        ``auc``, ``p_value``, ``permutations``, ``probabilities`` (out-of-fold P(target|x),
        source rows first), ``seed``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> res = domain_classifier(rng.normal(size=(80, 2)), rng.normal(size=(80, 2)) + [1.5, 0],
    ...                         permutations=19)
    >>> round(res["auc"], 2), res["p_value"]
    (0.82, 0.05)
    """
    s, t = _pair(source, target)
    d = np.r_[np.zeros(len(s)), np.ones(len(t))]
    probs = domain_probabilities(s, t, classifier=classifier, n_splits=n_splits, seed=seed)
    observed = rank_auc(probs, d)
    rng = np.random.default_rng(seed)
    sims = np.empty(permutations)
    for r in range(permutations):
        perm = rng.permutation(d)
        pr = domain_probabilities(
            s, t, classifier=classifier, n_splits=n_splits, seed=seed, labels=perm
        )
        sims[r] = rank_auc(pr, perm)
    p = (1 + int((sims >= observed - 1e-12).sum())) / (permutations + 1)
    return {
        "auc": observed,
        "p_value": p,
        "permutations": int(permutations),
        "probabilities": probs,
        "seed": int(seed),
    }


def importance_weights(
    probabilities: Any, n_source: int, n_target: int, clip_quantile: float | None = 0.99
) -> np.ndarray:
    """Density-ratio weights of source rows from domain-classifier probabilities.

    w_i = (n_source / n_target) · P(target | x_i) / P(source | x_i) estimates
    p_target(x_i) / p_source(x_i) (Shimodaira 2000; Sugiyama et al. 2012, ch. 4). Weights
    above their ``clip_quantile`` quantile are set to it (``None``: no clipping), then all are
    divided by their mean (mean 1).

    Parameters
    ----------
    probabilities : array-like
        P(target | x) of the source rows (e.g. the first ``n_source`` values of
        :func:`domain_probabilities`).
    n_source, n_target : int
        Sizes of the two samples the classifier was trained on.
    clip_quantile : float or None

    Examples
    --------
    >>> importance_weights([0.5, 0.5, 0.8, 0.2], 4, 4, clip_quantile=None).round(3).tolist()
    [0.64, 0.64, 2.56, 0.16]
    """
    p = np.clip(np.asarray(probabilities, dtype=float), 1e-6, 1 - 1e-6)
    w = (n_source / n_target) * p / (1 - p)
    if clip_quantile is not None:
        if not 0 < clip_quantile <= 1:
            raise SpecificationError(
                f"The 'clip_quantile' parameter must be in (0, 1]. Got {clip_quantile!r}."
            )
        w = np.minimum(w, np.quantile(w, clip_quantile))
    return w / w.mean()


def _losses(estimator: Any, X: np.ndarray, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    if is_classifier(estimator):
        return (pred != y).astype(float)
    return (pred - y) ** 2


# ----------------------------------------------------------------------------- the report
def _split_permutations(permutations: int | tuple[int, int]) -> tuple[int, int]:
    """(domain-classifier test, MMD test) permutations from one int (MMD: 999) or a pair."""
    pair = (permutations, 999) if np.ndim(permutations) == 0 else tuple(permutations)
    if len(pair) != 2 or not all(isinstance(p, int | np.integer) and p >= 0 for p in pair):
        raise SpecificationError(
            "permutations must be an int >= 0 or a pair of them (domain-classifier test, MMD "
            f"test). Got {permutations!r}. Fix: pass e.g. permutations=(99, 999)."
        )
    return int(pair[0]), int(pair[1])


def _fold_mmd_permutations(old: int, permutations: Any) -> tuple[Any, int]:
    """The deprecated ``mmd_permutations`` becomes the second number of ``permutations``."""
    first = 99 if permutations is MISSING else _split_permutations(permutations)[0]
    return (first, old)


class ShiftDiagnostics:
    """All shift diagnostics between a source and a target sample, in one report.

    Parameters
    ----------
    classifier : {"logistic", "gbm"} or scikit-learn classifier, default "logistic"
        Domain classifier (standardised L2 logistic regression, C = 1; or histogram gradient
        boosting, 100 trees).
    n_splits : int, default 5
        Folds of the out-of-fold domain probabilities and of the error estimate.
    permutations : int or (int, int), default (99, 999)
        Permutations of the two permutation tests: the domain-classifier test (each refits
        the classifier n_splits times) and the MMD test. One int sets the domain-classifier
        test and leaves the MMD test at 999, as before 0.2 (when ``mmd_permutations`` gave
        the second number).
    correction : {"fdr_bh", "fdr_by", "bonferroni", "none"}, default "fdr_bh"
        Multiple-testing control of the per-feature KS tests
        (:func:`dongne.detect.inference.adjust_pvalues`).
    alpha : float, default 0.05
    bins : int, default 10
        PSI bins (source deciles).
    clip_quantile : float or None, default 0.99
        Clipping of the importance weights.
    rng : int, numpy.random.Generator or None, default None
        Seed of the folds, the classifier and the permutations (``seed`` before 0.2); None
        means seed 0, a Generator is drawn from once (:func:`dongne._vocab.resolve_rng`).
    scheduler : None or "threads"
        The permutations run in this process; other schedulers are refused with a
        :class:`~dongne.errors.SpecificationError`, never ignored.

    Attributes
    ----------
    features_ : DataFrame
        Per feature: KS statistic, p, adjusted p, shifted flag, PSI, means and the
        standardised mean difference (target − source, in source standard deviations).
    auc_, auc_p_ : float
        Domain-classifier AUC and permutation p.
    mmd2_, mmd_p_, bandwidth_ : float
        MMD² (standardised features), permutation p, kernel bandwidth σ.
    shift_p_ : float
        p-value of "no shift" from the two tests on all features together, corrected for
        testing twice: ``min(1, 2·min(auc_p_, mmd_p_))`` (Bonferroni; for the verdict "at
        least one test rejects" Holm's step-down gives the same decision).
    shift_detected_ : bool
        ``shift_p_ <= alpha``: the verdict of :meth:`summary`. Without the correction,
        ``min(auc_p_, mmd_p_) <= alpha`` raises 7–8.5 % false alarms at α = 0.05.
    weights_ : ndarray
        Importance weights of the source rows (mean 1).
    ess_ : float
        Their effective sample size (out of ``n_source_``).
    source_error_, target_error_iw_ : float
        With ``estimator`` and ``y_source``: cross-validated source RMSE (regression) or error
        rate (classification), and its importance-weighted estimate for the target.
    provenance_ : dict

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> src = rng.normal(size=(100, 3))
    >>> tgt = rng.normal(size=(100, 3)) + [1.0, 0.0, 0.0]
    >>> diag = ShiftDiagnostics(permutations=(19, 199)).fit(src, tgt)
    >>> diag.features_["shifted"].tolist(), round(diag.auc_, 2), diag.mmd_p_
    ([True, False, False], 0.76, 0.005)
    """

    @renamed(seed="rng", mmd_permutations=("permutations", _fold_mmd_permutations))
    def __init__(
        self,
        *,
        classifier: Any = "logistic",
        n_splits: int = 5,
        permutations: int | tuple[int, int] = (99, 999),
        correction: str = "fdr_bh",
        alpha: float = 0.05,
        bins: int = 10,
        clip_quantile: float | None = 0.99,
        rng: int | np.random.Generator | None = None,
        scheduler: Any = None,
    ) -> None:
        self.classifier = classifier
        self.n_splits = n_splits
        self.permutations = permutations
        self.correction = correction
        self.alpha = alpha
        self.bins = bins
        self.clip_quantile = clip_quantile
        self.rng = rng
        self.scheduler = scheduler

    def fit(
        self, source: Any, target: Any, *, estimator: Any = None, y_source: Any = None
    ) -> ShiftDiagnostics:
        """Run every diagnostic; with ``estimator`` and ``y_source`` also estimate target error."""
        in_process_only(self.scheduler, "ShiftDiagnostics")
        auc_permutations, mmd_permutations = _split_permutations(self.permutations)
        self.seed_ = seed = resolve_rng(self.rng, bits=32)
        check_choice(
            "correction", self.correction, tuple(c for c in CORRECTIONS if c != "geoda_fdr")
        )
        s, t = _pair(source, target)
        xs, xt = s.to_numpy(float), t.to_numpy(float)
        d, p = ks_2sample(xs, xt)
        p_adj, sig = adjust_pvalues(p, self.correction, self.alpha)
        sd = xs.std(axis=0, ddof=1)
        self.features_ = pd.DataFrame(
            {
                "feature": [str(c) for c in s.columns],
                "ks_statistic": d,
                "ks_p": p,
                "ks_p_adjusted": p_adj,
                "shifted": sig,
                "psi": population_stability_index(xs, xt, self.bins),
                "source_mean": xs.mean(axis=0),
                "target_mean": xt.mean(axis=0),
                "std_mean_diff": (xt.mean(axis=0) - xs.mean(axis=0)) / np.where(sd > 0, sd, np.nan),
            }
        )
        dom = domain_classifier(
            s,
            t,
            classifier=self.classifier,
            n_splits=self.n_splits,
            permutations=auc_permutations,
            seed=seed,
        )
        self.auc_, self.auc_p_ = dom["auc"], dom["p_value"]
        mmd = mmd_test(xs, xt, permutations=mmd_permutations, seed=seed)
        self.mmd2_, self.mmd_p_, self.bandwidth_ = mmd["mmd2"], mmd["p_value"], mmd["bandwidth"]
        both, rejected = adjust_pvalues(
            np.array([self.auc_p_, self.mmd_p_]), "bonferroni", self.alpha
        )
        self.shift_p_, self.shift_detected_ = float(both.min()), bool(rejected.any())
        self.n_source_, self.n_target_ = len(s), len(t)
        self.weights_ = importance_weights(
            dom["probabilities"][: len(s)], len(s), len(t), self.clip_quantile
        )
        self.ess_ = effective_sample_size(self.weights_)
        self.source_error_ = self.target_error_iw_ = float("nan")
        self.error_name_ = None
        if estimator is not None:
            if y_source is None:
                raise SpecificationError("Estimating the target error needs y_source as well.")
            y = np.asarray(y_source)
            if len(y) != len(s):
                raise DataError(f"y_source has {len(y)} values for {len(s)} source rows.")
            cv = KFold(n_splits=self.n_splits, shuffle=True, random_state=seed)
            pred = cross_val_predict(clone(estimator), xs, y, cv=cv)
            loss = _losses(estimator, xs, y, pred)
            w = self.weights_
            if is_classifier(estimator):
                self.error_name_ = "error rate"
                self.source_error_ = float(loss.mean())
                self.target_error_iw_ = float((w * loss).sum() / w.sum())
            else:
                self.error_name_ = "RMSE"
                self.source_error_ = float(np.sqrt(loss.mean()))
                self.target_error_iw_ = float(np.sqrt((w * loss).sum() / w.sum()))
        self.provenance_ = {
            "method": "shift_diagnostics",
            "classifier": repr(self.classifier),
            "n_splits": self.n_splits,
            "permutations": auc_permutations,
            "mmd_permutations": mmd_permutations,
            "correction": self.correction,
            "alpha": self.alpha,
            "bins": self.bins,
            "clip_quantile": self.clip_quantile,
            "seed": seed,
            "n_source": len(s),
            "n_target": len(t),
            "dongne_version": __version__,
        }
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "features_"):
            raise DongneError("This ShiftDiagnostics is not fitted yet; call fit(source, target).")

    def to_frame(self) -> pd.DataFrame:
        """One row per test: domain classifier and MMD (all features), then KS per feature."""
        self._check_fitted()
        f = self.features_
        head = pd.DataFrame(
            [
                {
                    "test": "domain_classifier_auc",
                    "feature": "(all)",
                    "statistic": self.auc_,
                    "p_value": self.auc_p_,
                },
                {
                    "test": "mmd2",
                    "feature": "(all)",
                    "statistic": self.mmd2_,
                    "p_value": self.mmd_p_,
                },
            ]
        )
        ks = pd.DataFrame(
            {
                "test": "ks",
                "feature": f["feature"],
                "statistic": f["ks_statistic"],
                "p_value": f["ks_p"],
                "p_adjusted": f["ks_p_adjusted"],
                "shifted": f["shifted"],
                "psi": f["psi"],
                "std_mean_diff": f["std_mean_diff"],
            }
        )
        return pd.concat([head, ks], ignore_index=True)

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Plain-language verdict in English (``"en"``) or Korean (``"ko"``)."""
        self._check_fitted()
        f = self.features_.sort_values("ks_statistic", ascending=False)
        shifted = f.loc[f["shifted"], "feature"].tolist()
        major = f.loc[f["psi"] > 0.25, "feature"].tolist()
        top = ", ".join(
            f"{r.feature} (D={r.ks_statistic:.2f}, PSI={r.psi:.2f})" for r in f.head(3).itertuples()
        )
        detected = self.shift_detected_
        k = len(f)
        if lang == "ko":
            text = (
                f"분포 이동 진단 (원천 {self.n_source_}행, 대상 {self.n_target_}행): 영역 분류기 "
                f"AUC {self.auc_:.3f} (0.5면 구별 불가, 순열 p = {self.auc_p_:.3g}), MMD² "
                f"{self.mmd2_:.4f} (순열 p = {self.mmd_p_:.3g}); 두 검정을 함께 본 p = "
                f"{self.shift_p_:.3g} (본페로니 보정, α = {self.alpha:g}). 변수별 KS 검정"
                f"({self.correction} 보정) "
                f"{k}개 중 {len(shifted)}개가 유의하게 이동: {', '.join(shifted) or '없음'}. "
                f"PSI > 0.25(큰 이동): {', '.join(major) or '없음'}. 가장 크게 이동한 변수: {top}. "
                f"중요도 가중치의 유효 표본 크기 {self.ess_:.1f} / {self.n_source_}. "
            )
            text += (
                "대상 지역은 학습 지역과 다릅니다 — 무작위 교차검증 성능을 그대로 믿지 마십시오."
                if detected
                else "검출 가능한 공변량 이동이 없습니다(이동이 없다는 증거는 아님)."
            )
            if self.error_name_:
                text += (
                    f" 원천 교차검증 {self.error_name_} {self.source_error_:.3g}, 중요도 가중 "
                    f"대상 추정 {self.target_error_iw_:.3g}"
                    "(공변량 이동만 있고 개념 이동이 없다는 가정)."
                )
            return text
        text = (
            f"Shift diagnostics (source {self.n_source_} rows, target {self.n_target_} rows): "
            f"domain-classifier AUC {self.auc_:.3f} (0.5 = indistinguishable; permutation p = "
            f"{self.auc_p_:.3g}), MMD² {self.mmd2_:.4f} (permutation p = {self.mmd_p_:.3g}); "
            f"both tests together p = {self.shift_p_:.3g} (Bonferroni for two tests, "
            f"α = {self.alpha:g}). "
            f"Per-feature KS tests ({self.correction}): {len(shifted)} of {k} shifted: "
            f"{', '.join(shifted) or 'none'}. PSI > 0.25 (major): {', '.join(major) or 'none'}. "
            f"Most shifted: {top}. Importance weights keep an effective sample size of "
            f"{self.ess_:.1f} of {self.n_source_}. "
        )
        text += (
            "The target differs from the training region: do not trust random-CV scores there."
            if detected
            else "No detectable covariate shift (which is not proof that there is none)."
        )
        if self.error_name_:
            text += (
                f" Cross-validated source {self.error_name_} {self.source_error_:.3g}; "
                f"importance-weighted target estimate {self.target_error_iw_:.3g} (valid under "
                "covariate shift only: same relation between features and outcome)."
            )
        return text

    def plot(self) -> Any:
        """Figure: KS statistic and PSI per feature, and the importance weights; returns it."""
        self._check_fitted()
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 4))
        ax1, ax2 = fig.subplots(1, 2)
        f = self.features_.sort_values("ks_statistic")
        pos = np.arange(len(f))
        ax1.barh(
            pos - 0.2,
            f["ks_statistic"],
            height=0.4,
            label="KS D",
            color=np.where(f["shifted"], "tab:red", "tab:grey"),
        )
        ax1.barh(pos + 0.2, f["psi"], height=0.4, label="PSI", color="tab:blue", alpha=0.6)
        ax1.axvline(0.25, color="tab:blue", linestyle=":", linewidth=1)
        ax1.set_yticks(pos, f["feature"])
        ax1.set_title(f"Per feature (red: shifted, {self.correction})")
        ax1.legend()
        ax2.hist(self.weights_, bins=30, color="tab:grey")
        ax2.set_xlabel("importance weight (mean 1)")
        ax2.set_title(f"AUC {self.auc_:.2f}, ESS {self.ess_:.0f}/{self.n_source_}")
        fig.tight_layout()
        return fig
