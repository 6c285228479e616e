"""Shift diagnostics against SciPy and scikit-learn references and hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp, rankdata
from sklearn.linear_model import LinearRegression
from sklearn.metrics import roc_auc_score

from dongne.errors import DataError, SpecificationError
from dongne.learn.shift import (
    ShiftDiagnostics,
    domain_classifier,
    effective_sample_size,
    importance_weights,
    ks_2sample,
    mmd2_unbiased,
    mmd_test,
    population_stability_index,
    rank_auc,
)

RNG = np.random.default_rng(11)
SRC = RNG.normal(size=(70, 3))
TGT = RNG.normal(size=(50, 3)) + np.array([0.8, 0.0, 0.0])


def test_ks_matches_scipy():
    d, p_exact = ks_2sample(SRC, TGT)
    _, p_asymp = ks_2sample(SRC, TGT, method="asymp")
    for j in range(3):
        ref = ks_2samp(SRC[:, j], TGT[:, j], method="exact")
        assert d[j] == pytest.approx(ref.statistic, abs=1e-15)
        assert p_exact[j] == pytest.approx(ref.pvalue, rel=1e-12)
        ref_a = ks_2samp(SRC[:, j], TGT[:, j], method="asymp")
        assert p_asymp[j] == pytest.approx(ref_a.pvalue, rel=1e-10)
    ties = np.array([[1.0], [1.0], [2.0], [3.0]])
    assert ks_2sample(ties, ties + 1)[0][0] == pytest.approx(
        ks_2samp([1, 1, 2, 3], [2, 2, 3, 4]).statistic
    )


def test_auc_matches_sklearn_with_ties():
    scores = RNG.integers(0, 5, size=40).astype(float)
    labels = RNG.integers(0, 2, size=40)
    assert rank_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-14)


def test_mmd2_matches_a_direct_loop():
    x = RNG.normal(size=(6, 2))
    y = RNG.normal(size=(5, 2)) + 0.5
    sigma = 1.3

    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2))

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    assert mmd2_unbiased(x, y, sigma) == pytest.approx(xx + yy - 2 * xy, abs=1e-14)


def test_mmd_test_is_seeded_and_calibrated():
    same = mmd_test(SRC[:35], SRC[35:], permutations=199, seed=1)
    assert same == mmd_test(SRC[:35], SRC[35:], permutations=199, seed=1)
    assert same["p_value"] > 0.05
    shifted = mmd_test(SRC, TGT, permutations=199, seed=1)
    assert shifted["p_value"] == pytest.approx(1 / 200)
    assert 1 / 200 <= same["p_value"] <= 1


def test_psi_by_hand():
    # source deciles of 0..99 put 10 rows in each bin; target has all 50 rows in the top bin
    src = np.arange(100.0)
    tgt = np.full(50, 99.0)
    s = np.full(10, 0.1)
    t = np.r_[np.full(9, 1e-4), 1.0]
    expected = float(((t - s) * np.log(t / s)).sum())
    assert population_stability_index(src, tgt)[0] == pytest.approx(expected, rel=1e-12)
    assert population_stability_index(src, src)[0] == 0.0
    with pytest.raises(SpecificationError, match="'bins'"):
        population_stability_index(src, tgt, bins=1)


def test_ess_and_weights():
    assert effective_sample_size([2.0, 2.0, 2.0]) == pytest.approx(3.0)
    w = np.array([1.0, 3.0])
    assert effective_sample_size(w) == pytest.approx(16 / 10)
    iw = importance_weights([0.2, 0.5, 0.9, 0.99], 4, 2, clip_quantile=0.75)
    raw = 2 * np.array([0.25, 1.0, 9.0, 99.0])
    raw = np.minimum(raw, np.quantile(raw, 0.75))
    assert iw == pytest.approx(raw / raw.mean())
    with pytest.raises(DataError):
        effective_sample_size([-1.0, 2.0])


def test_domain_classifier_detects_shift_and_not_noise():
    shifted = domain_classifier(SRC, TGT, permutations=9, seed=0)
    null = domain_classifier(SRC[:35], SRC[35:], permutations=9, seed=0)
    assert shifted["auc"] > 0.65 and shifted["p_value"] == pytest.approx(0.1)
    assert null["auc"] < 0.6 and null["p_value"] > 0.1
    n = len(SRC) + len(TGT)
    labels = np.r_[np.zeros(len(SRC)), np.ones(len(TGT))]
    assert shifted["auc"] == pytest.approx(roc_auc_score(labels, shifted["probabilities"]))
    assert shifted["probabilities"].shape == (n,)


def test_shift_diagnostics_report():
    y = SRC @ [1.0, 0.5, 0.0] + RNG.normal(scale=0.1, size=70)
    diag = ShiftDiagnostics(permutations=(9, 99), correction="bonferroni").fit(
        SRC, TGT, estimator=LinearRegression(), y_source=y
    )
    f = diag.features_
    assert f["shifted"].tolist() == [True, False, False]
    assert f["ks_p_adjusted"].tolist() == pytest.approx(np.minimum(3 * f["ks_p"], 1).tolist())
    assert 1 <= diag.ess_ <= 70 and diag.weights_.mean() == pytest.approx(1.0)
    assert diag.source_error_ == pytest.approx(0.1, abs=0.03)
    frame = diag.to_frame()
    assert frame["test"].tolist() == ["domain_classifier_auc", "mmd2", "ks", "ks", "ks"]
    assert "x0" in diag.summary() and "대상 지역" in diag.summary("ko")
    assert diag.plot() is not None
    with pytest.raises(DataError, match="non-numeric"):
        ShiftDiagnostics().fit(SRC, np.array([["a"] * 3] * 5, dtype=object))


def test_shift_verdict_keeps_false_alarms_at_alpha_under_no_shift(monkeypatch):
    # The verdict combines two tests (domain classifier, MMD); taking min(p) ≤ α raised
    # 7–8.5 % false alarms at α = 0.05. Under no shift, over 400 seeds, the corrected verdict
    # must alarm at most α + 2.33 binomial s.d. (one-sided 99 %) of the time. To run in
    # seconds, the domain-classifier test is replaced by a cheap valid permutation test
    # (AUC of the first feature, 39 permutations); MMD is the real test.
    import dongne.learn.shift as shift

    def cheap_domain_test(source, target, *, permutations, seed, **_):
        s, t = np.asarray(source), np.asarray(target)
        score = np.r_[s[:, 0], t[:, 0]]
        labels = np.r_[np.zeros(len(s)), np.ones(len(t))]
        perms = np.random.default_rng(seed + 10_000).permuted(
            np.tile(labels, (permutations, 1)), axis=1
        )
        ranks, m = rankdata(score), len(t)
        # Mann–Whitney AUC of every permuted labelling at once
        sims = (perms @ ranks - m * (m + 1) / 2) / (m * len(s))
        observed = rank_auc(score, labels)
        p = (1 + int((sims >= observed - 1e-12).sum())) / (permutations + 1)
        return {"auc": observed, "p_value": p, "probabilities": np.full(len(score), 0.5)}

    monkeypatch.setattr(shift, "domain_classifier", cheap_domain_test)
    alpha, seeds = 0.05, 400
    corrected = uncorrected = 0
    for seed in range(seeds):
        x = np.random.default_rng(seed).normal(size=(30, 2))
        diag = ShiftDiagnostics(permutations=(39, 39), n_splits=2, alpha=alpha, rng=seed).fit(
            x[:15], x[15:]
        )
        assert diag.shift_p_ == pytest.approx(min(1.0, 2 * min(diag.auc_p_, diag.mmd_p_)))
        corrected += diag.shift_detected_
        uncorrected += min(diag.auc_p_, diag.mmd_p_) <= alpha
        if seed == 0:
            assert ("target differs" in diag.summary()) == diag.shift_detected_
    margin = 2.33 * np.sqrt(alpha * (1 - alpha) / seeds)
    assert corrected / seeds <= alpha + margin
    assert corrected < uncorrected  # what the missing correction cost
