"""Spatial cross-validation: splitters against scikit-learn, buffers, degree refusal, the gap."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely import box
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, cross_val_score
from sklearn.neighbors import KNeighborsRegressor

from dongne.errors import DataError, GeometryError, SpecificationError
from dongne.learn.cv import (
    BufferedCV,
    LeaveGroupOut,
    SpatialBlockCV,
    balanced_folds,
    coordinates,
    cv_compare,
)

RNG = np.random.default_rng(7)
XY = RNG.uniform(0, 20_000, size=(120, 2))
GROUPS = np.array([f"g{k}" for k in RNG.integers(0, 9, size=120)])


def _folds(cv, X, groups=None):
    return [(tr.tolist(), te.tolist()) for tr, te in cv.split(X, None, groups)]


def test_leave_group_out_equals_sklearn():
    X = np.zeros((120, 1))
    assert _folds(LeaveGroupOut(), X, GROUPS) == _folds(LeaveOneGroupOut(), X, GROUPS)
    assert _folds(LeaveGroupOut(4), X, GROUPS) == _folds(GroupKFold(4), X, GROUPS)
    assert LeaveGroupOut().get_n_splits(X, groups=GROUPS) == 9
    scores = cross_val_score(LinearRegression(), XY, XY[:, 0], groups=GROUPS, cv=LeaveGroupOut(3))
    assert scores.shape == (3,) and np.allclose(scores, 1.0)


def test_leave_group_out_refuses_missing_groups():
    with pytest.raises(SpecificationError, match="needs groups"):
        list(LeaveGroupOut().split(np.zeros((3, 1))))
    with pytest.raises(DataError, match="missing in rows"):
        list(LeaveGroupOut().split(np.zeros((3, 1)), groups=["a", None, "b"]))


def test_balanced_folds_match_group_kfold_sizes():
    blocks = SpatialBlockCV(XY, size=5000).block_ids()
    sizes = np.bincount(blocks)
    ours = balanced_folds(sizes, 5)[blocks]
    theirs = np.empty(len(blocks), dtype=int)
    for k, (_, te) in enumerate(GroupKFold(5).split(XY, groups=blocks)):
        theirs[te] = k
    assert np.array_equal(ours, theirs)


def test_grid_blocks_are_squares_of_the_given_size():
    cv = SpatialBlockCV(XY, n_splits=4, size=5000)
    blocks = cv.block_ids()
    cells = np.floor((XY - XY.min(axis=0)) / 5000)
    for b in np.unique(blocks):
        assert len(np.unique(cells[blocks == b], axis=0)) == 1
    tests = [te for _, te in cv.split(XY)]
    assert sorted(np.concatenate(tests).tolist()) == list(range(120))
    for te in tests:  # each test fold is a union of whole blocks
        inside = np.isin(blocks, np.unique(blocks[te]))
        assert np.array_equal(np.flatnonzero(inside), np.sort(te))
    sizes = [len(te) for te in tests]
    assert max(sizes) - min(sizes) <= np.bincount(blocks).max()


def test_kmeans_blocks_are_seeded():
    a = SpatialBlockCV(XY, method="kmeans", n_blocks=12, rng=3).fold_ids()
    b = SpatialBlockCV(XY, method="kmeans", n_blocks=12, rng=3).fold_ids()
    assert np.array_equal(a, b) and len(np.unique(a)) == 5


def test_buffer_excludes_neighbours_and_counts_them():
    cv = BufferedCV(XY, buffer=3000, cv=SpatialBlockCV(XY, n_splits=4, size=5000))
    table = cv.fold_table()
    for (tr, te), row in zip(cv.split(XY), table.itertuples(), strict=True):
        d = np.hypot(*(XY[tr][:, None, :] - XY[te][None, :, :]).transpose(2, 0, 1))
        assert d.min() > 3000
        assert row.n_train + row.n_test + row.n_excluded == 120
    assert (table["n_excluded"] > 0).all()
    loo = BufferedCV(XY, buffer=0)
    assert loo.get_n_splits() == 120 and (loo.fold_table()["n_excluded"] == 0).all()


def test_buffer_that_empties_a_fold_raises():
    with pytest.raises(DataError, match="Fold 0: every training row lies within buffer"):
        list(BufferedCV(XY, buffer=50_000).split(XY))


def test_coordinates_from_areas_and_degree_refusal():
    grid = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000), box(1000, 0, 3000, 1000)], crs=5179)
    assert coordinates(grid).tolist() == [[500.0, 500.0], [2000.0, 500.0]]
    wgs = gpd.GeoDataFrame(geometry=[box(126.9, 37.5, 126.91, 37.51)], crs=4326)
    assert coordinates(wgs)[0, 0] > 900_000  # reprojected to EPSG:5179 metres
    with pytest.raises(GeometryError, match="longitude/latitude degrees"):
        coordinates([[126.97, 37.56], [127.02, 37.50]])
    with pytest.raises(GeometryError, match="no coordinate reference system"):
        coordinates(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]))


def test_cv_compare_shows_the_optimism_gap():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 10_000, size=(300, 2))
    y = np.sin(xy[:, 0] / 1500) + np.cos(xy[:, 1] / 1500) + rng.normal(scale=0.3, size=300)
    res = cv_compare(KNeighborsRegressor(5), xy, y, coords=xy, rng=0)
    assert res.random_mean == pytest.approx(0.8847, abs=1e-3)
    assert res.spatial_mean == pytest.approx(0.5801, abs=1e-3)
    assert res.optimism_gap > 0.25
    frame = res.to_frame()
    assert frame["folds"].tolist() == [5, 5]
    assert "과대평가" in res.summary("ko") and "overstates" in res.summary()
    assert res.plot() is not None
    with pytest.raises(SpecificationError, match="coords=, groups= or spatial_cv="):
        cv_compare(KNeighborsRegressor(5), xy, y)
