import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dongne.datasets import seoul_gu
from dongne.detect.index import RankStability, VulnerabilityIndex, percentile_rank, varimax
from dongne.errors import DataError, SpecificationError

IND = {
    "basement_household_pct_2015": "+",
    "livelihood_recipient_households_per_100_households": "+",
    "residential_env_satisfaction": "-",
    "single_parent_households_per_100_households": "+",
    "pop_65plus_pct": "+",
}
THEMES = {
    "housing": ["basement_household_pct_2015", "residential_env_satisfaction"],
    "welfare": [
        "livelihood_recipient_households_per_100_households",
        "single_parent_households_per_100_households",
    ],
    "age": ["pop_65plus_pct"],
}


@pytest.fixture(scope="module")
def gu():
    return seoul_gu()


def test_percentile_rank_matches_excel_percentrank_inc():
    v = np.array([10, 20, 20, 30, 50.0])
    # PERCENTRANK.INC: count strictly below / (n - 1); ties share the lower value.
    np.testing.assert_allclose(percentile_rank(v), [0, 0.25, 0.25, 0.75, 1.0])
    x = np.random.default_rng(0).normal(size=200)
    ref = (stats.rankdata(x, method="min") - 1) / 199
    np.testing.assert_allclose(percentile_rank(x), ref)


def test_svi_recipe_by_hand(gu):
    vi = VulnerabilityIndex(IND, themes=THEMES).fit(gu, id_column="gu_name")
    x = gu.set_index("gu_name")[list(IND)].astype(float)
    x["residential_env_satisfaction"] *= -1
    pct = x.apply(lambda c: (stats.rankdata(c, method="min") - 1) / (len(c) - 1))
    theme_sum = pd.DataFrame({t: pct[c].sum(axis=1) for t, c in THEMES.items()})
    np.testing.assert_allclose(vi.theme_scores_[list(THEMES)], theme_sum)
    np.testing.assert_allclose(vi.scores_, pct.sum(axis=1))
    assert vi.ranks_.idxmin() == vi.scores_.idxmax()
    assert (vi.flags_["total"] == (pct >= 0.9).sum(axis=1)).all()
    assert vi.flags_["theme_housing"].max() <= 2
    np.testing.assert_allclose(vi.percentiles_, percentile_rank(vi.scores_.to_numpy()))
    frame = vi.to_frame()
    assert {"index", "rank", "percentile", "theme_score_welfare", "flag_total"} <= set(frame)
    assert "강북구" in vi.summary()


def test_zscore_method(gu):
    vi = VulnerabilityIndex(IND, method="zscore").fit(gu, id_column="gu_name")
    x = gu.set_index("gu_name")[list(IND)].astype(float)
    x["residential_env_satisfaction"] *= -1
    z = (x - x.mean()) / x.std(ddof=1)
    np.testing.assert_allclose(vi.scores_, z.mean(axis=1))


def test_pca_method(gu):
    vi = VulnerabilityIndex(IND, method="pca").fit(gu, id_column="gu_name")
    x = gu.set_index("gu_name")[list(IND)].astype(float)
    x["residential_env_satisfaction"] *= -1
    ev = np.sort(np.linalg.eigvalsh(np.corrcoef(x.to_numpy(), rowvar=False)))[::-1]
    np.testing.assert_allclose(vi.eigenvalues_, ev)
    k = int((ev > 1).sum())
    assert vi.loadings_.shape == (5, k)
    np.testing.assert_allclose(vi.explained_variance_ratio_, ev[:k] / 5)
    # Rotation keeps communalities (row sums of squared loadings) of the unrotated solution.
    vals, vecs = np.linalg.eigh(np.corrcoef(x.to_numpy(), rowvar=False))
    order = np.argsort(vals)[::-1][:k]
    unrotated = vecs[:, order] * np.sqrt(vals[order])
    np.testing.assert_allclose((vi.loadings_**2).sum(axis=1), (unrotated**2).sum(axis=1))
    assert (vi.loadings_.sum(axis=0) > 0).all()  # components oriented towards vulnerability


def test_varimax_is_orthogonal_and_increases_simplicity():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(8, 3))
    r = varimax(a)
    t = np.linalg.lstsq(a, r, rcond=None)[0]
    np.testing.assert_allclose(t.T @ t, np.eye(3), atol=1e-8)

    def simplicity(m):
        return ((m**2) ** 2).sum() - ((m**2).sum(axis=0) ** 2).sum() / m.shape[0]

    assert simplicity(r) >= simplicity(a)


def test_errors(gu):
    with pytest.raises(DataError, match="not found"):
        VulnerabilityIndex({"nope": "+", "pop_65plus_pct": "+"}).fit(gu)
    with pytest.raises(SpecificationError, match="Direction of indicator"):
        VulnerabilityIndex({"pop_65plus_pct": "up", "pop_total": "+"}).fit(gu)
    g2 = gu.copy()
    g2.loc[3, "pop_65plus_pct"] = np.nan
    with pytest.raises(DataError, match=r"missing indicator values for areas 성동구"):
        VulnerabilityIndex(IND).fit(g2, id_column="gu_name")
    vi = VulnerabilityIndex(IND, missing="drop").fit(g2, id_column="gu_name")
    assert list(vi.missing_ids_) == ["성동구"] and len(vi.scores_) == 24
    with pytest.raises(SpecificationError, match="themes must assign every indicator"):
        VulnerabilityIndex(IND, themes={"a": ["pop_65plus_pct"]}).fit(gu)


def test_rank_stability(gu):
    rs = RankStability(IND, top_k=5, replications=600, rng=3).fit(gu, id_column="gu_name")
    frame = rs.to_frame()
    assert frame["p_top_5"].sum() == pytest.approx(5, abs=0.2)  # ≈ k areas per draw (ties)
    assert (
        (frame["rank_low"] <= frame["rank_median"]) & (frame["rank_median"] <= frame["rank_high"])
    ).all()
    again = RankStability(IND, top_k=5, replications=600, rng=3).fit(gu, id_column="gu_name")
    np.testing.assert_array_equal(rs.ranks_, again.ranks_)
    # Batches are seeded by (seed, batch): the first 300 draws of a longer run are identical.
    short = RankStability(IND, top_k=5, replications=300, rng=3).fit(gu, id_column="gu_name")
    np.testing.assert_array_equal(rs.ranks_[:, :300], short.ranks_)
    # With weights concentrated on equal weights and one construction, ranks are the baseline.
    fixed = RankStability(
        IND,
        top_k=5,
        replications=50,
        concentration=1e9,
        normalisations=("percentile",),
        aggregations=("additive",),
        rng=1,
    ).fit(gu, id_column="gu_name")
    assert (fixed.rank_low_ == fixed.baseline_rank_).all()
    assert "in at least 90% of draws" in rs.summary()
