"""Regionalisation against PySAL spopt 0.7: equal where the method is deterministic (SKATER,
contiguous Ward), at least as good where it is heuristic (max-p, AZP) on the same budget; and
the guarantees every result must keep (contiguity, floor, seeds, threads)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csgraph
from shapely import box
from sklearn.metrics import adjusted_rand_score

from dongne import datasets, weights
from dongne.errors import InfeasibleProblemError, SpecificationError
from dongne.regions import (
    AZP,
    MaxP,
    Skater,
    SpectralRegions,
    WardRegions,
    pairwise_dissimilarity,
    region_measures,
    within_sum_of_squares,
)

libpysal = pytest.importorskip("libpysal")
spopt_region = pytest.importorskip("spopt.region")


def _grid(n):
    return gpd.GeoDataFrame(
        {"id": [f"c{i:03d}" for i in range(n * n)]},
        geometry=[box(i % n, i // n, i % n + 1, i // n + 1) for i in range(n * n)],
        crs="EPSG:5179",
    )


def _pysal_w(w):
    return libpysal.weights.WSP(w.binary().to_sparse()).to_W(silence_warnings=True)


@pytest.fixture(scope="module")
def seoul():
    g = datasets.seoul_dongs()
    w = weights.queen(g, ids="dong_code")
    rng = np.random.default_rng(7)
    X = pd.DataFrame({"a": rng.normal(size=len(g)), "b": rng.normal(size=len(g))},
                     index=g["dong_code"])  # fmt: skip
    return g, w, X


def _contiguous(w, labels):
    m = w.binary().to_sparse()
    for r in np.unique(labels):
        idx = np.flatnonzero(labels == r)
        if csgraph.connected_components(m[idx][:, idx], directed=False)[0] != 1:
            return False
    return True


def test_skater_equals_spopt(seoul):
    _, w, X = seoul
    ours = Skater(8).fit(X, w)
    ref = spopt_region.Skater(pd.DataFrame(X.to_numpy(), columns=["a", "b"]), _pysal_w(w),
                              ["a", "b"], n_clusters=8)  # fmt: skip
    ref.solve()
    assert adjusted_rand_score(ref.labels_, ours.labels_.to_numpy()) == 1.0
    # and spopt's own score of the partition
    forest = spopt_region.skater.SpanningForest()
    assert ours.objective_ == pytest.approx(forest.score(X.to_numpy(), ref.labels_), rel=1e-12)


def test_skater_with_a_size_floor_equals_spopt():
    grid = _grid(7)
    w = weights.rook(grid, ids="id")
    X = pd.DataFrame({"v": np.random.default_rng(3).normal(size=49)}, index=grid["id"])
    ours = Skater(5, min_areas=6).fit(X, w)
    ref = spopt_region.Skater(pd.DataFrame({"v": X["v"].to_numpy()}), _pysal_w(w), ["v"],
                              n_clusters=5, floor=6)  # fmt: skip
    ref.solve()
    assert adjusted_rand_score(ref.labels_, ours.labels_.to_numpy()) == 1.0
    assert ours.labels_.value_counts().min() >= 6


def test_ward_equals_spopt(seoul):
    _, w, X = seoul
    ours = WardRegions(10).fit(X, w)
    ref = spopt_region.WardSpatial(pd.DataFrame(X.to_numpy(), columns=["a", "b"]),
                                   _pysal_w(w), ["a", "b"], 10)  # fmt: skip
    ref.solve()
    assert adjusted_rand_score(ref.labels_, ours.labels_.to_numpy()) == 1.0
    assert _contiguous(w, ours.labels_.to_numpy())


def _spenc(X, w, k, seed):
    """spopt 0.7's SPENC (what ``spopt.region.Spenc.solve`` fits), for its affinity and
    embedding as well as its labels."""
    from spopt.region.spenclib import SPENC

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SPENC(n_clusters=k, random_state=seed).fit(np.asarray(X, dtype=float),
                                                          _pysal_w(w).sparse)  # fmt: skip


@pytest.mark.parametrize("k, seed", [(8, 0), (25, 1)])
def test_spectral_equals_spopt_spenc(seoul, k, seed):
    """Deterministic parts equal: the affinity (similarity on contiguity edges), the spectral
    embedding and the discretised assignment on the same seed; on Seoul spopt's clusters are
    contiguous, so the regions are spopt's."""
    _, w, X = seoul
    ours = SpectralRegions(k, rng=seed).fit(X, w)
    ref = _spenc(X, w, k, seed)
    from dongne.regions.regionalise import _edge_affinity, _graph

    affinity = _edge_affinity(X.loc[w.ids].to_numpy(), *_graph(w), 1.0)
    diff = abs(affinity - ref.affinity_matrix_.tocsr())
    assert diff.max() < 1e-12
    assert np.abs(ours.embedding_ - ref.embedding_).max() < 1e-6
    assert adjusted_rand_score(ref.labels_, ours.spectral_labels_.to_numpy()) == 1.0
    assert adjusted_rand_score(ref.labels_, ours.labels_.to_numpy()) == 1.0
    assert ours.fragments_ == 0 and _contiguous(w, ours.labels_.to_numpy())
    assert ours.objective_ == pytest.approx(
        within_sum_of_squares(X.loc[w.ids].to_numpy(), ref.labels_), rel=1e-12)  # fmt: skip
    assert ours.n_regions_ == len(np.unique(ref.labels_))


def test_spectral_makes_spopts_fragmented_clusters_contiguous():
    """On a 12×12 grid of random attributes spopt's SPENC (seed 0, 12 clusters) returns a
    cluster in two pieces; the smaller piece joins a neighbouring region, every region is
    contiguous and the normalised cut — the objective spectral clustering relaxes — is lower
    than spopt's (0.708 against 0.741)."""
    grid = _grid(12)
    w = weights.rook(grid, ids="id")
    X = pd.DataFrame(np.random.default_rng(2).normal(size=(144, 2)), index=grid["id"])
    ours = SpectralRegions(12, rng=0).fit(X, w)
    ref = _spenc(X, w, 12, 0)
    assert adjusted_rand_score(ref.labels_, ours.spectral_labels_.to_numpy()) == 1.0
    assert not _contiguous(w, ref.labels_)
    assert ours.fragments_ == 1 and _contiguous(w, ours.labels_.to_numpy())
    assert ours.n_regions_ == 12
    from dongne.regions.regionalise import _edge_affinity, _graph, _ncut

    spopt_ncut = _ncut(_edge_affinity(X.to_numpy(), *_graph(w), 1.0), ref.labels_)
    assert ours.spectral_ncut_ == pytest.approx(spopt_ncut, rel=1e-12)
    assert ours.ncut_ < spopt_ncut
    assert ours.ncut_ == pytest.approx(0.708, abs=1e-3) and spopt_ncut == pytest.approx(
        0.741, abs=1e-3)  # fmt: skip
    # a brute-force normalised cut of our regions
    a = _edge_affinity(X.to_numpy(), *_graph(w), 1.0).toarray()
    lab = ours.labels_.to_numpy()
    brute = sum(a[lab == r][:, lab != r].sum() / a[lab == r].sum() for r in np.unique(lab))
    assert ours.ncut_ == pytest.approx(brute, rel=1e-12)
    with pytest.raises(SpecificationError, match="n_regions must lie between 2"):
        SpectralRegions(1).fit(X, w)
    with pytest.raises(SpecificationError, match="gamma must be a positive number"):
        SpectralRegions(3, gamma=-1).fit(X, w)


def test_maxp_at_least_as_good_as_spopt_on_the_same_budget():
    grid = _grid(9)
    w = weights.rook(grid, ids="id")
    rng = np.random.default_rng(11)
    X = pd.DataFrame({"a": rng.normal(size=81), "b": rng.normal(size=81)}, index=grid["id"])
    pop = pd.Series(rng.integers(50, 150, 81).astype(float), index=grid["id"])
    ours = MaxP(600, iterations=30, rounds=3, rng=0).fit(X, w, floor_values=pop)
    frame = pd.DataFrame({"a": X["a"].to_numpy(), "b": X["b"].to_numpy(), "pop": pop.to_numpy()})
    np.random.seed(0)  # noqa: NPY002 - spopt draws from NumPy's global generator
    ref = spopt_region.MaxPHeuristic(
        frame, _pysal_w(w), ["a", "b"], "pop", 600, top_n=2, max_iterations_construction=30,
        max_iterations_sa=3,
    )
    ref.solve()
    ref_obj = pairwise_dissimilarity(X.to_numpy(), ref.labels_)
    assert ours.n_regions_ >= ref.p
    if ours.n_regions_ == ref.p:
        assert ours.objective_ <= ref_obj + 1e-9
    assert ours.floor_totals_.min() >= 600
    assert _contiguous(w, ours.labels_.to_numpy())
    own = pairwise_dissimilarity(X.to_numpy(), ours.labels_.to_numpy())
    assert ours.objective_ == pytest.approx(own)


def test_azp_at_least_as_good_as_spopt():
    from spopt.region.objective_function import ObjectiveFunctionPairwise

    grid = _grid(6)
    w = weights.rook(grid, ids="id")
    X = pd.DataFrame({"v": np.random.default_rng(5).normal(size=36)}, index=grid["id"])
    ours = AZP(4, rng=0).fit(X, w)
    ref = spopt_region.AZP(pd.DataFrame({"v": X["v"].to_numpy()}), _pysal_w(w), ["v"], 4,
                           random_state=0,
                           objective_func=ObjectiveFunctionPairwise("manhattan"))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.solve()
    assert ours.objective_ <= pairwise_dissimilarity(X.to_numpy(), ref.labels_) + 1e-9
    assert ours.n_regions_ == 4 and _contiguous(w, ours.labels_.to_numpy())


def test_maxp_seeds_and_threads(seoul):
    g, w, X = seoul
    hh = g.set_index("dong_code")["households"]
    runs = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        runs.append(MaxP(60_000, iterations=20, rounds=2, rng=3).fit(X, w, floor_values=hh))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert runs[0].labels_.equals(runs[1].labels_)
    assert runs[0].floor_totals_.min() >= 60_000
    assert _contiguous(w, runs[0].labels_.to_numpy())
    again = MaxP(60_000, iterations=20, rounds=2, rng=3).fit(X, w, floor_values=hh)
    assert again.labels_.equals(runs[0].labels_)
    assert "권역" in again.summary("ko") and again.provenance_["seed"] == 3


def test_infeasible_floor_and_islands_are_refused():
    grid = _grid(3)
    w = weights.rook(grid, ids="id")
    X = pd.DataFrame({"v": np.arange(9.0)}, index=grid["id"])
    with pytest.raises(InfeasibleProblemError, match=r"floor=9"):
        MaxP(100).fit(X, w, floor_values=np.ones(9))
    lonely = pd.concat([grid, gpd.GeoDataFrame({"id": ["far"]}, geometry=[box(9, 9, 10, 10)],
                                               crs="EPSG:5179")])  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w2 = weights.rook(lonely, ids="id")
    X2 = pd.DataFrame({"v": np.arange(10.0)}, index=lonely["id"])
    with pytest.raises(SpecificationError, match="attach_islands"):
        MaxP(2).fit(X2, w2, floor_values=np.ones(10))


def test_quality_measures_against_brute_force():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 2))
    labels = rng.integers(0, 4, 30)
    brute_l1 = sum(np.abs(x[i] - x[j]).sum() for i in range(30) for j in range(i + 1, 30)
                   if labels[i] == labels[j])  # fmt: skip
    assert pairwise_dissimilarity(x, labels) == pytest.approx(brute_l1, rel=1e-12)
    brute_ss = sum(((x[labels == r] - x[labels == r].mean(0)) ** 2).sum() for r in range(4))
    assert within_sum_of_squares(x, labels) == pytest.approx(brute_ss, rel=1e-12)
    grid = _grid(2)
    m = region_measures(grid, np.zeros(4, dtype=int), floor_values=np.ones(4))
    assert m.loc[0, "isoperimetric_quotient"] == pytest.approx(np.pi / 4)
    assert m.loc[0, "convex_hull_ratio"] == pytest.approx(1.0)
    assert m.loc[0, "floor_total"] == 4.0 and m.loc[0, "parts"] == 1
