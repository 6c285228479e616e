"""Neighbourhood change against PySAL giddy 2.3.8 on the same inputs (tolerance 1e-9).

Inputs: giddy's own reference data (US state per-capita incomes 1929–2009 relative to the
yearly mean, ``states48.gal`` contiguity; bundled with libpysal, no download) and a seeded
synthetic panel on a 7 × 7 lattice with ties.
"""

from __future__ import annotations

import dataclasses
import warnings

import libpysal
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from dongne.spacetime import markov as mk
from dongne.weights import SpatialWeights

giddy_markov = pytest.importorskip("giddy.markov")
giddy_rank = pytest.importorskip("giddy.rank")

TOL = dict(rtol=1e-9, atol=1e-9)


def _from_w(w) -> SpatialWeights:
    ids = w.id_order
    pos = {i: k for k, i in enumerate(ids)}
    rows = [pos[i] for i in ids for _ in w.neighbors[i]]
    cols = [pos[j] for i in ids for j in w.neighbors[i]]
    mat = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(len(ids), len(ids)))
    return SpatialWeights(mat, ids=list(range(len(ids))), kind="custom", transform="binary")


@pytest.fixture(scope="module")
def usjoin():
    f = libpysal.io.open(libpysal.examples.get_path("usjoin.csv"))
    pci = np.array([f.by_col[str(y)] for y in range(1929, 2010)]).T
    w = libpysal.io.open(libpysal.examples.get_path("states48.gal")).read()
    w.transform = "r"
    return pci / pci.mean(axis=0), w


@pytest.fixture(scope="module")
def lattice():
    rng = np.random.default_rng(42)
    w = libpysal.weights.lat2W(7, 7, rook=False)
    y = np.round(rng.gamma(2.0, 1.0, size=(49, 6)) + np.linspace(0, 1, 6), 1)  # ties
    return y, w


@pytest.mark.parametrize("fixed", [True, False])
def test_spatial_markov_equals_giddy(usjoin, fixed):
    y, w = usjoin
    ref = giddy_markov.Spatial_Markov(y, w, fixed=fixed, k=5, m=5)
    ours = mk.spatial_markov(y, _from_w(w), k=5, m=5, fixed=fixed)
    np.testing.assert_array_equal(ours.classes, ref.class_ids)
    np.testing.assert_array_equal(ours.lag_classes, ref.lclass_ids)
    np.testing.assert_allclose(ours.transitions, ref.transitions, **TOL)
    np.testing.assert_allclose(ours.p, ref.p, **TOL)
    np.testing.assert_allclose(ours.T, ref.T, **TOL)
    np.testing.assert_allclose(ours.P, ref.P, **TOL)
    np.testing.assert_allclose(ours.steady_state, ref.s, **TOL)
    for a, b in zip(ours.chi2, ref.chi2, strict=True):
        np.testing.assert_allclose(a, b, **TOL)
    np.testing.assert_allclose([ours.x2, ours.x2_dof, ours.x2_pvalue],
                               [ref.x2, ref.x2_dof, ref.x2_pvalue], **TOL)  # fmt: skip
    h = ours.homogeneity
    np.testing.assert_allclose([h.Q, h.Q_p_value, h.LR, h.LR_p_value, h.dof],
                               [ref.Q, ref.Q_p_value, ref.LR, ref.LR_p_value, ref.dof_hom],
                               **TOL)  # fmt: skip


def test_spatial_markov_published_numbers(usjoin):
    # giddy's docstring (and Rey 2001): T[0] and chi2(T[0], transitions) for k = m = 4.
    y, w = usjoin
    sm = mk.spatial_markov(y, _from_w(w))
    np.testing.assert_array_equal(sm.T[0], [[562, 22, 1, 0], [12, 201, 22, 0],
                                            [0, 17, 97, 4], [0, 0, 3, 19]])  # fmt: skip
    x2, p, dof = mk.chi2_test(sm.T[0], sm.transitions)
    assert (round(x2, 8), round(p, 10), dof) == (23.39728441, 0.0053631167, 9)


def test_spatial_markov_with_ties_equals_giddy(lattice):
    y, w = lattice
    w.transform = "r"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = giddy_markov.Spatial_Markov(y, w, k=4, m=4)
    ours = mk.spatial_markov(y, _from_w(w))
    np.testing.assert_array_equal(ours.classes, ref.class_ids)
    np.testing.assert_allclose(ours.T, ref.T, **TOL)
    np.testing.assert_allclose([ours.homogeneity.Q, ours.homogeneity.LR, ours.x2],
                               [ref.Q, ref.LR, ref.x2], **TOL)  # fmt: skip


@pytest.mark.parametrize("data", ["usjoin", "lattice"])
def test_lisa_markov_equals_giddy(data, request):
    y, w = request.getfixturevalue(data)
    w.transform = "r"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = giddy_markov.LISA_Markov(y, w)
    ours = mk.lisa_markov(y, _from_w(w), null="giddy")
    np.testing.assert_array_equal(ours.quadrants, ref.q)
    np.testing.assert_allclose(ours.transitions, ref.transitions, **TOL)
    np.testing.assert_allclose(ours.p, ref.p, **TOL)
    np.testing.assert_array_equal(ours.move_types, ref.move_types)
    np.testing.assert_allclose(ours.expected, ref.expected_t, **TOL)
    np.testing.assert_allclose(ours.chi2, ref.chi_2, **TOL)


def test_lisa_markov_time_null_by_hand():
    # 3 areas in a row (0-1-2), 3 periods. Own below/above the period mean and the lag's,
    # counted over time; expected = row totals × Kronecker product of the two chains.
    y = np.array([[1.0, 1.0, 3.0], [2.0, 3.0, 2.0], [3.0, 2.0, 1.0]])
    mat = sparse.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    w = SpatialWeights(mat, ids=[0, 1, 2], kind="custom", transform="binary")
    ours = mk.lisa_markov(y, w)
    lag = np.array([[2.0, 3.0, 2.0], [2.0, 1.5, 2.0], [2.0, 3.0, 2.0]])
    low, lag_low = (y < 2.0).astype(int), (lag < 2.0).astype(int)
    own = mk.transition_counts(low, 2)
    nbr = mk.transition_counts(lag_low, 2)
    own, nbr = own / own.sum(1, keepdims=True), nbr / nbr.sum(1, keepdims=True)
    # quadrant (HH, LH, LL, HL) -> (own low, lag low)
    code = {0: (0, 0), 1: (1, 0), 2: (1, 1), 3: (0, 1)}
    rows = ours.transitions.sum(axis=1)
    for i in range(4):
        for j in range(4):
            (a, b), (c, d) = code[i], code[j]
            assert ours.expected[i, j] == pytest.approx(rows[i] * own[a, c] * nbr[b, d])


def test_homogeneity_equals_giddy(usjoin):
    y, w = usjoin
    sm = giddy_markov.Spatial_Markov(y, w)
    ref = giddy_markov.Homogeneity_Results(sm.T)
    ours = mk.homogeneity_test(sm.T)
    np.testing.assert_allclose(
        [ours.Q, ours.Q_p_value, ours.LR, ours.LR_p_value, ours.dof],
        [ref.Q, ref.Q_p_value, ref.LR, ref.LR_p_value, ref.dof],
        **TOL,
    )


@pytest.mark.parametrize("data", ["usjoin", "lattice"])
def test_rank_mobility_equals_giddy(data, request):
    y, w = request.getfixturevalue(data)
    x0, x1 = y[:, 0], y[:, -1]
    pos = {i: k for k, i in enumerate(w.id_order)}  # giddy indexes x by the W's ids
    w_int = libpysal.weights.W({pos[i]: [pos[j] for j in w.neighbors[i]] for i in w.id_order})
    ref = giddy_rank.SpatialTau(x0, x1, w_int, permutations=0)
    ours = mk.rank_mobility(x0, x1, _from_w(w), permutations=99, rng=1)
    assert ours.tau == pytest.approx(ref.tau, rel=1e-12)
    # giddy computes p = erfc(|z| / 1.4142136), with sqrt(2) cut to 8 digits; dongne uses
    # the exact normal tail, so the p-values differ in the 7th significant digit.
    assert ours.tau_p == pytest.approx(ref.tau_p, rel=1e-6)
    from math import erfc

    z = ours.tau / np.sqrt((4.0 * len(x0) + 10) / (9.0 * len(x0) * (len(x0) - 1)))
    assert erfc(abs(z) / 1.4142136) == pytest.approx(ref.tau_p, rel=1e-12)
    assert (ours.concordant, ours.discordant, ours.extra_x, ours.extra_y) == (
        ref.concordant, ref.discordant, ref.extraX, ref.extraY,
    )  # fmt: skip
    assert ours.tau_spatial == pytest.approx(ref.tau_spatial, rel=1e-12)
    assert ours.pairs_spatial == ref.pairs_spatial
    assert (ours.concordant_spatial, ours.discordant_spatial) == (
        ref.concordant_spatial, ref.discordant_spatial,
    )  # fmt: skip
    assert 1 / 100 <= ours.p_sim <= 0.5 + 1e-12
    again = mk.rank_mobility(x0, x1, _from_w(w), permutations=99, rng=1)
    assert again.p_sim == ours.p_sim


def test_summaries_and_frames(usjoin):
    y, w = usjoin
    sm = mk.spatial_markov(pd.DataFrame(y), _from_w(w))
    assert "neighbours" in sm.summary(lang="en") and "이웃" in sm.summary(lang="ko")
    frame = sm.to_frame()
    assert len(frame) == 16 + 4 * 16
    assert frame.groupby(["lag_class", "from"])["probability"].sum().between(0, 1 + 1e-12).all()


def test_rank_mobility_summary_claims_a_difference_only_when_the_test_rejects(lattice):
    y, w = lattice
    fit = mk.rank_mobility(y[:, 0], y[:, -1], _from_w(w), permutations=99, rng=1)
    higher = max(fit.tau_spatial, fit.tau + 0.05)
    weak = dataclasses.replace(fit, tau_spatial=higher, p_sim=0.3)
    assert "do not exchange ranks differently" in weak.summary("en")
    assert "less often" not in weak.summary("en") and "다르지 않습니다" in weak.summary("ko")
    strong = dataclasses.replace(fit, tau_spatial=higher, p_sim=0.01)
    assert "exchange ranks less often than random pairs" in strong.summary("en")
    assert "덜 바꿉니다" in strong.summary("ko")
    more = dataclasses.replace(fit, tau_spatial=fit.tau - 0.05, p_sim=0.01)
    assert "more often than random pairs" in more.summary("en")
    untested = dataclasses.replace(fit, p_sim=float("nan"))
    assert "not tested" in untested.summary("en")
