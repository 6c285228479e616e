import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from dongne.detect.inference import (
    AUTO_PERMUTATIONS,
    adjust_pvalues,
    auto_permutations,
    first_step_level,
    geoda_fdr_threshold,
    permutation_pvalues,
    significance_floor,
)
from dongne.errors import SpecificationError


@pytest.mark.parametrize(
    ("ours", "theirs"), [("fdr_bh", "fdr_bh"), ("fdr_by", "fdr_by"), ("bonferroni", "bonferroni")]
)
def test_adjustments_equal_statsmodels(ours, theirs):
    p = np.random.default_rng(1).uniform(size=300) ** 3
    adj, sig = adjust_pvalues(p, ours, alpha=0.05)
    ref_sig, ref_adj, _, _ = multipletests(p, alpha=0.05, method=theirs)
    np.testing.assert_allclose(adj, ref_adj, rtol=1e-12)
    np.testing.assert_array_equal(sig, ref_sig)


def test_nan_entries_ignored():
    adj, sig = adjust_pvalues(np.array([0.001, np.nan, 0.04]), "bonferroni")
    assert adj[0] == pytest.approx(0.002) and np.isnan(adj[1]) and not sig[1]


def test_geoda_fdr_stops_at_first_failure():
    p = np.array([0.001, 0.02, 0.012, 0.5])  # sorted: .001 ≤ .0125, .012 ≤ .025, .02 ≤ .0375
    assert geoda_fdr_threshold(p, 0.05) == pytest.approx(0.0375)
    # BH would also accept p_(2) when only p_(3) passes; GeoDa stops at p_(2) failing.
    q = np.array([0.001, 0.03, 0.035, 0.9])  # .03 > .025 → stop; BH: .035 ≤ .0375 passes
    assert geoda_fdr_threshold(q, 0.05) == pytest.approx(0.0125)
    _, bh = adjust_pvalues(q, "fdr_bh")
    _, gd = adjust_pvalues(q, "geoda_fdr")
    assert bh.tolist() == [True, True, True, False] and gd.tolist() == [True, False, False, False]


def test_pvalue_conventions():
    ge, le = np.array([0, 10, 500, 999]), np.array([999, 990, 500, 0])
    np.testing.assert_allclose(permutation_pvalues(ge, le, 999, "greater"), (ge + 1) / 1000)
    np.testing.assert_allclose(permutation_pvalues(ge, le, 999, "less"), (le + 1) / 1000)
    two = permutation_pvalues(ge, le, 999, "two-sided")
    np.testing.assert_allclose(two, [0.002, 0.022, 1.0, 0.002])
    directed = permutation_pvalues(ge, le, 999, "directed")
    np.testing.assert_allclose(directed, [0.001, 0.011, 0.5, 0.001])
    with pytest.raises(SpecificationError, match="'alternative'"):
        permutation_pvalues(ge, le, 999, "both")


@settings(max_examples=60, deadline=None)
@given(r=st.integers(1, 5000), data=st.data())
def test_pvalues_within_bounds(r, data):
    ge = np.array(data.draw(st.lists(st.integers(0, r), min_size=1, max_size=30)))
    le = (
        r
        - ge
        + np.array(data.draw(st.lists(st.integers(0, 1), min_size=len(ge), max_size=len(ge))))
    )
    le = np.minimum(le, r)
    for alt in ("two-sided", "greater", "less", "directed"):
        p = permutation_pvalues(ge, le, r, alt)
        assert (p >= 1 / (r + 1) - 1e-15).all() and (p <= 1).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=50), st.floats(0.001, 0.2))
def test_fdr_monotone(p, alpha):
    p = np.array(p)
    adj, sig = adjust_pvalues(p, "fdr_bh", alpha)
    order = np.argsort(p, kind="stable")
    assert (np.diff(adj[order]) >= -1e-12).all()  # adjusted p keep the order of raw p
    assert (adj >= p - 1e-15).all()
    if sig.any():  # everything below a significant p is significant
        assert sig[p <= p[sig].max()].all()


def test_floor_message_for_seoul():
    f = significance_floor(423, 999, "two-sided", "fdr_bh")
    assert not f.reachable and f.permutations_needed == 16919
    assert "at least 17 areas" in f.message_en and "16919" in f.message_ko
    assert significance_floor(423, 16919, "two-sided", "fdr_bh").reachable
    assert significance_floor(423, 999, "two-sided", "none").reachable
    b = significance_floor(423, 999, "greater", "bonferroni")
    assert "nothing can be significant" in b.message_en and b.permutations_needed == 8459


# --- permutations="auto" (issue 15, item 9) ----------------------------------------------------


@pytest.mark.parametrize(
    ("n", "alternative", "correction", "expected"),
    [
        (416, "two-sided", "fdr_bh", 19_999),  # 2/(R+1) <= 0.05/416 needs R >= 16,639
        (423, "two-sided", "bonferroni", 19_999),
        (25, "two-sided", "fdr_bh", 999),  # 2/1000 <= 0.05/25 = 0.002
        (26, "two-sided", "fdr_bh", 9_999),
        (416, "greater", "fdr_bh", 9_999),  # 1/(R+1) <= 0.05/416 needs R >= 8,319
        (416, "two-sided", "none", 999),
        (416, "two-sided", "fdr_by", 99_999),  # 0.05/(416 * 6.607) needs R >= 109,946
        (3000, "two-sided", "fdr_bh", 99_999),  # nothing in the series reaches it
    ],
)
def test_auto_permutations_is_the_smallest_round_count_that_can_reach_significance(
    n, alternative, correction, expected
):
    chosen = auto_permutations(n, alternative, correction, 0.05)
    assert chosen == expected and chosen in AUTO_PERMUTATIONS
    c = 2 if alternative == "two-sided" else 1
    level = first_step_level(n, correction, 0.05)
    smaller = [r for r in AUTO_PERMUTATIONS if r < chosen]
    assert all(c / (r + 1) > level for r in smaller)  # no smaller count would do
    if chosen < AUTO_PERMUTATIONS[-1]:
        assert c / (chosen + 1) <= level
        # the floor check of the fitted statistics agrees that R is enough (BH, Bonferroni)
        if correction in ("fdr_bh", "bonferroni"):
            assert significance_floor(n, chosen, alternative, correction).reachable
            if smaller:
                assert not significance_floor(n, smaller[-1], alternative, correction).reachable


def test_first_step_level_of_benjamini_yekutieli_uses_the_harmonic_sum():
    harmonic = sum(1 / i for i in range(1, 417))
    assert first_step_level(416, "fdr_by", 0.05) == pytest.approx(0.05 / (416 * harmonic))
    assert first_step_level(416, "geoda_fdr", 0.05) == pytest.approx(0.05 / 416)
    with pytest.raises(SpecificationError, match="'correction' parameter"):
        auto_permutations(10, correction="holm")
