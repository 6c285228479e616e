"""Emerging hot spot analysis: Gi*, Mann–Kendall and the 17 categories, checked by hand.

* The designed cube: 2,000 background areas alternating ±1 and 34 signal areas without
  neighbours, 10 steps. Without neighbours and with ``k = 0`` an area's Gi* is its value's
  z-score within the step, so a signal value of ±8 is a significant hot/cold bin (p ≈ 1e-15,
  also after FDR over 20,340 bins) and 0 is not. Each signal row is written to fall in one
  category by the published rules; the expected category is written next to it by hand.
* Gi* with neighbours and time lags against a direct loop over the formula, and against
  esda's ``G_Local(star=True)`` for ``k = 0``; Mann–Kendall against scipy's Kendall τ.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse, stats

from dongne.spacetime.emerging import (
    CATEGORIES,
    classify_trends,
    emerging_hot_spots,
    mann_kendall,
    space_time_gi_star,
)
from dongne.weights import SpatialWeights

H, C = 8.0, -8.0
UP = [4.0 + 0.5 * t for t in range(10)]  # hot all along, rising
# (series of 10 steps, category by hand)
DESIGN = [
    ([0] * 9 + [H], "new hot spot"),
    ([0] * 7 + [H] * 3, "consecutive hot spot"),
    ([v * 2 for v in UP], "intensifying hot spot"),
    ([H, H + 1] * 5, "persistent hot spot"),
    ([v * 2 for v in UP[::-1]], "diminishing hot spot"),
    ([H, 0, 0, H, 0, H, 0, 0, 0, H], "sporadic hot spot"),
    ([C, 0, H, 0, C, 0, 0, H, 0, H], "oscillating hot spot"),
    ([H] * 9 + [0], "historical hot spot"),
    ([0] * 9 + [C], "new cold spot"),
    ([0] * 6 + [C] * 4, "consecutive cold spot"),
    ([-v * 2 for v in UP], "intensifying cold spot"),
    ([C, C - 1] * 5, "persistent cold spot"),
    ([-v * 2 for v in UP[::-1]], "diminishing cold spot"),
    ([0, C, 0, 0, C, C, 0, 0, 0, C], "sporadic cold spot"),
    ([H, 0, C, 0, 0, 0, 0, 0, H, C], "oscillating cold spot"),
    ([C] * 9 + [0], "historical cold spot"),
    ([0] * 10, "no pattern detected"),
    ([0, H, 0, 0, 0, 0, 0, 0, 0, 0], "no pattern detected"),  # hot once, not at the end
    ([H] * 8 + [0, 0], "no pattern detected"),  # 80% hot: not historical
    ([0, 0, 0, H, 0, 0, 0, 0, C, 0], "no pattern detected"),
    ([H] * 9 + [C], "oscillating cold spot"),  # the last step decides the family
]


def _islands(n: int) -> SpatialWeights:
    return SpatialWeights(sparse.csr_array((n, n)), ids=list(range(n)), kind="custom",
                          transform="binary")  # fmt: skip


def _designed_cube() -> np.ndarray:
    background = np.tile(np.array([1.0, -1.0]), 1000)[:, None] * np.ones(10)
    signal = np.array([row for row, _ in DESIGN], dtype=float)
    return np.vstack([signal, background])


def test_designed_cube_gives_every_category_by_hand():
    x = _designed_cube()
    result = emerging_hot_spots(x, _islands(len(x)), k=0, permutations=0)
    got = result.category[: len(DESIGN)].tolist()
    assert got == [cat for _, cat in DESIGN]
    assert set(got) == set(CATEGORIES)  # all 17 rules exercised
    assert (result.category[len(DESIGN) :] == "no pattern detected").all()
    # the hand reasoning: the signal bins are significant exactly where the value is ±8-ish
    signal = np.array([row for row, _ in DESIGN], dtype=float)
    np.testing.assert_array_equal(result.significant[: len(DESIGN)], signal != 0)


def test_classify_trends_rules_on_patterns():
    # Trend flags given directly: the 90% rule at exactly 9 of 10 and the trend direction.
    hot = np.array([[1] * 10, [1] * 10, [1] * 10, [0] + [1] * 9], dtype=bool)
    cold = np.zeros_like(hot)
    tau = np.array([0.5, -0.5, 0.5, 0.0])
    p = np.array([0.01, 0.01, 0.2, 0.9])
    out = classify_trends(hot, cold, tau, p, alpha=0.05).tolist()
    assert out == ["intensifying hot spot", "diminishing hot spot", "persistent hot spot",
                   "persistent hot spot"]  # fmt: skip


def test_gi_star_matches_direct_formula_with_time_lags():
    rng = np.random.default_rng(3)
    n, t, k = 9, 5, 2
    x = rng.gamma(2.0, 1.0, size=(n, t))
    adj = np.zeros((n, n))
    for i in range(n):  # a 3 × 3 rook lattice
        for j in range(n):
            if abs(i // 3 - j // 3) + abs(i % 3 - j % 3) == 1:
                adj[i, j] = 1.0
    w = SpatialWeights(sparse.csr_array(adj), ids=list(range(n)), kind="rook", transform="binary")
    z = space_time_gi_star(x, w, k=k)
    for i in range(n):
        for s in range(t):
            hood = [i, *list(np.flatnonzero(adj[i]))]
            lags = range(max(0, s - k), s + 1)
            total = sum(x[j, q] for j in hood for q in lags)
            size = len(hood) * len(lags)
            ref = x[:, list(lags)].ravel()  # every bin of the steps in the window
            big_n, mean, sd = ref.size, ref.mean(), ref.std()
            expect = (total - size * mean) / (sd * np.sqrt((big_n * size - size**2) / (big_n - 1)))
            assert z[i, s] == pytest.approx(expect, rel=1e-12)


def test_gi_star_k0_equals_esda():
    esda = pytest.importorskip("esda")
    import libpysal

    w_lat = libpysal.weights.lat2W(6, 6)
    rng = np.random.default_rng(5)
    x = rng.gamma(2.0, 1.0, size=(36, 3))
    n = 36
    rows = [i for i in range(n) for _ in w_lat.neighbors[i]]
    cols = [j for i in range(n) for j in w_lat.neighbors[i]]
    mat = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    w = SpatialWeights(mat, ids=list(range(n)), kind="rook", transform="binary")
    z = space_time_gi_star(x, w, k=0)
    for s in range(3):
        ref = esda.G_Local(x[:, s], w_lat, transform="B", star=True, permutations=0)
        np.testing.assert_allclose(z[:, s], ref.Zs, rtol=1e-9)


def test_mann_kendall_equals_scipy():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(50, 12))
    z[3] = np.round(z[3])  # ties
    _s, tau, p = mann_kendall(z)
    for i in range(50):
        ref = stats.kendalltau(np.arange(12), z[i], method="asymptotic")
        assert p[i] == pytest.approx(ref.pvalue, rel=1e-9)
        if i != 3:
            assert tau[i] == pytest.approx(ref.statistic, rel=1e-12)


def test_permutations_seeded_and_find_planted_hot_spot():
    rng = np.random.default_rng(0)
    n_side, t = 8, 12
    n = n_side * n_side
    adj = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if max(abs(i // n_side - j // n_side), abs(i % n_side - j % n_side)) == 1:
                adj[i, j] = 1.0
    w = SpatialWeights(sparse.csr_array(adj), ids=list(range(n)), kind="queen", transform="binary")
    x = rng.poisson(5.0, size=(n, t)).astype(float)
    block = [27, 28, 35, 36]
    x[block, 8:] += 12  # a new hot spot in the last 4 steps
    # 199 permutations cannot pass FDR over 768 bins (floor 1/200): test bin by bin here.
    one = emerging_hot_spots(x, w, permutations=199, rng=4, correction="none")
    two = emerging_hot_spots(x, w, permutations=199, rng=4, correction="none")
    np.testing.assert_array_equal(one.p_values, two.p_values)
    hot = one.significant & (one.gi_star > 0)
    assert hot[block, 9:].all()
    # at α = 0.05 without correction a noise bin or two may be significant earlier
    assert set(one.category[block]) <= {
        "consecutive hot spot", "new hot spot", "sporadic hot spot", "oscillating hot spot",
    }  # fmt: skip
    assert (one.category[block] == "consecutive hot spot").sum() >= 2
    assert (one.p_values >= 1 / 200).all() and (one.p_values <= 1).all()
    frame = one.to_frame()
    assert frame.loc[27, "first_hot"] in (7, 8, 9)
    assert "핫스팟" in one.summary(lang="ko")
