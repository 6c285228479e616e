"""Neighbourhood typologies: known groups recovered, k chosen by silhouette / BIC as
scikit-learn computes them, profiles, names, stability, transitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from dongne.errors import DataError, SpecificationError
from dongne.regions.typology import Typology, suggest_name, transitions


@pytest.fixture(scope="module")
def three_groups():
    rng = np.random.default_rng(4)
    centres = np.array([[0, 0, 0], [4, 0, 1], [0, 4, -1]], dtype=float)
    truth = np.repeat([0, 1, 2], 40)
    X = pd.DataFrame(centres[truth] + rng.normal(0, 0.4, (120, 3)),
                     columns=["basement_pct", "density", "shelters"],
                     index=[f"d{i}" for i in range(120)])  # fmt: skip
    return X, truth


@pytest.mark.parametrize("method", ["kmeans", "gmm", "ward"])
def test_known_groups_are_recovered(three_groups, method):
    X, truth = three_groups
    t = Typology(method, k_range=(2, 6), rng=0).fit(X)
    assert t.k_ == 3
    assert adjusted_rand_score(truth, t.labels_.to_numpy()) == 1.0
    assert t.scores_.loc[t.scores_["chosen"], "k"].item() == 3
    assert sorted(t.labels_.unique()) == [1, 2, 3]


def test_selection_uses_sklearn_silhouette(three_groups):
    X, _ = three_groups
    t = Typology("kmeans", k_range=(2, 5), rng=0).fit(X)
    z = ((X - X.mean()) / X.std(ddof=0)).to_numpy()
    for row in t.scores_.itertuples():
        labels = KMeans(n_clusters=row.k, n_init=10, random_state=0).fit_predict(z)
        assert row.silhouette == pytest.approx(silhouette_score(z, labels), abs=1e-12)
    assert t.stability_ == pytest.approx(1.0)


def test_profiles_names_predict_and_transitions(three_groups):
    X, _ = three_groups
    t = Typology("kmeans", k=3, rng=0).fit(X)
    prof = t.profiles_
    z = (X - X.mean()) / X.std(ddof=0)
    for ty in prof.index:
        members = t.labels_ == ty
        np.testing.assert_allclose(prof.loc[ty, X.columns], z[members].mean(), atol=1e-12)
    dense = prof["density"].idxmax()
    assert "high density" in t.names_[dense][0] and "density 높음" in t.names_[dense][1]
    assert suggest_name(pd.Series({"a": 0.1, "b": -0.2})) == (
        "average on every indicator", "모든 지표 평균 수준")
    later = t.predict(X + 0.01)
    assert later.equals(t.labels_)
    table = transitions(t.labels_, later)
    assert np.diag(table.drop(columns="total").to_numpy()).sum() == 120
    assert "유형" in t.summary("ko") and "types" in t.summary("en")


def test_bad_indicators_are_refused(three_groups):
    X, _ = three_groups
    with pytest.raises(DataError, match="missing indicators"):
        Typology().fit(X.assign(density=X["density"].where(X.index != "d3")))
    with pytest.raises(DataError, match="do not vary"):
        Typology().fit(X.assign(flat=1.0))
    with pytest.raises(SpecificationError, match="method"):
        Typology("dbscan").fit(X)
    with pytest.raises(DataError, match="different areas"):
        transitions(pd.Series([1], index=["a"]), pd.Series([1], index=["b"]))
