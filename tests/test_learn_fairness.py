"""Spatial fairness (SPAD) audit, permutation test and fairness reweighting.

References: hand computation from the definition of Xie et al. (AAAI-22) and its released code
(loss = unweighted mean over cells of |m̄ − m_p|, SPAD = sum over the 24 grids), scikit-learn's
metrics for every per-cell value, a naive loop over the same permutations for the null, and a
pandas groupby on the bundled Seoul data.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import box
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score
from sklearn.neighbors import KNeighborsRegressor
from threadpoolctl import threadpool_limits

from dongne.datasets import seoul_dongs
from dongne.errors import DataError, GeometryError, SpecificationError
from dongne.learn import fairness
from dongne.learn.fairness import (
    GRID_SHAPES,
    FairnessReweighted,
    spatial_fairness_audit,
)

CRS = "EPSG:5179"


@pytest.fixture
def eight_points():
    """Two points in each quadrant of a 8 km square: NW, NE, SW, SE."""
    xy = (
        np.array([[1, 9], [2, 8], [8, 9], [9, 8], [1, 1], [2, 2], [8, 1], [9, 2]], dtype=float)
        * 1000
    )
    return xy


def test_grid_shapes_match_released_code():
    # evaluation.py: for r in 1..5: for c in 1..5: skip (1, 1).
    assert GRID_SHAPES == tuple((r, c) for r in range(1, 6) for c in range(1, 6))[1:]
    assert len(GRID_SHAPES) == 24


def test_spad_by_hand_accuracy(eight_points):
    y = np.ones(8, dtype=int)
    # NW both right, NE one right, SW both wrong, SE both right: 5/8 correct overall.
    pred = np.array([1, 1, 1, 0, 0, 0, 1, 1])
    audit = spatial_fairness_audit(
        y,
        pred,
        coords=eight_points,
        crs=CRS,
        partitions=[(2, 2), (1, 2)],
        metric="accuracy",
        min_cell_size=1,
        permutations=0,
    )
    assert audit.overall == 0.625
    cells = audit.cells.set_index(["partition", "cell"])["performance"]
    assert cells["grid 2x2"].to_dict() == {"r1c1": 1.0, "r1c2": 0.5, "r2c1": 0.0, "r2c2": 1.0}
    assert cells["grid 1x2"].to_dict() == {"r1c1": 0.5, "r1c2": 0.75}
    # 2x2: (0.375 + 0.125 + 0.625 + 0.375) / 4 = 0.375; 1x2: (0.125 + 0.125) / 2 = 0.125.
    losses = audit.partitions.set_index("partition")["loss"]
    assert losses["grid 2x2"] == pytest.approx(0.375, abs=1e-15)
    assert losses["grid 1x2"] == pytest.approx(0.125, abs=1e-15)
    assert audit.spad == pytest.approx(0.5, abs=1e-15)
    assert audit.spad_mean == pytest.approx(0.25, abs=1e-15)
    assert np.isnan(audit.p_value)


def test_spad_by_hand_rmse(eight_points):
    y = np.zeros(8)
    pred = np.array([0.0, 0.0, 1.0, -1.0, 2.0, 2.0, 0.0, 3.0])
    audit = spatial_fairness_audit(
        y,
        pred,
        coords=eight_points,
        crs=CRS,
        partitions=[(2, 2)],
        metric="rmse",
        min_cell_size=1,
        permutations=0,
    )
    overall = np.sqrt(19 / 8)
    per_cell = np.array([0.0, 1.0, 2.0, np.sqrt(4.5)])
    assert audit.overall == pytest.approx(overall, rel=1e-14)
    assert audit.cells["performance"].to_numpy() == pytest.approx(per_cell, rel=1e-14)
    assert audit.spad == pytest.approx(np.mean(np.abs(overall - per_cell)), rel=1e-14)
    # RMSE: higher is worse, so the shortfall of the SE cell is m_p − m̄ > 0.
    assert audit.cells["shortfall"].iloc[3] == pytest.approx(np.sqrt(4.5) - overall, rel=1e-14)


@pytest.mark.parametrize(
    ("metric", "reference"),
    [
        ("f1", lambda t, p: f1_score(t, p, average="weighted", zero_division=0)),
        ("accuracy", accuracy_score),
    ],
)
def test_cell_metrics_equal_sklearn_classification(metric, reference):
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 5000, (300, 2))
    y = rng.integers(0, 4, 300)
    pred = np.where(rng.random(300) < 0.6, y, rng.integers(0, 4, 300))
    audit = spatial_fairness_audit(
        y,
        pred,
        coords=xy,
        crs=CRS,
        partitions=[(3, 3)],
        metric=metric,
        min_cell_size=1,
        permutations=0,
    )
    assert audit.overall == pytest.approx(reference(y, pred), rel=1e-13)
    col = np.clip((xy[:, 0] - xy[:, 0].min()) / np.ptp(xy[:, 0]) * 3, 0, 2.999).astype(int)
    row = np.clip((xy[:, 1].max() - xy[:, 1]) / np.ptp(xy[:, 1]) * 3, 0, 2.999).astype(int)
    expected = [
        reference(y[(row == i) & (col == j)], pred[(row == i) & (col == j)])
        for i in range(3)
        for j in range(3)
    ]
    assert audit.cells["performance"].to_numpy() == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(
    ("metric", "reference"),
    [
        ("mae", mean_absolute_error),
        ("rmse", lambda t, p: np.sqrt(np.mean((t - p) ** 2))),
        ("r2", r2_score),
    ],
)
def test_cell_metrics_equal_sklearn_regression(metric, reference):
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 5000, (200, 2))
    y = 1000 + rng.normal(size=200)  # offset: R² must survive cancellation
    pred = y + rng.normal(0, 0.5, 200)
    audit = spatial_fairness_audit(
        y,
        pred,
        coords=xy,
        crs=CRS,
        partitions=[(1, 4)],
        metric=metric,
        min_cell_size=2,
        permutations=0,
    )
    assert audit.overall == pytest.approx(reference(y, pred), rel=1e-10)
    col = np.clip((xy[:, 0] - xy[:, 0].min()) / np.ptp(xy[:, 0]) * 4, 0, 3.999).astype(int)
    expected = [reference(y[col == j], pred[col == j]) for j in range(4)]
    assert audit.cells["performance"].to_numpy() == pytest.approx(expected, rel=1e-10)


def _naive_null_spad(y, pred, labels_per_partition, used, metric, seed, r):
    """Loop over the same permutations, cell by cell, with a scikit-learn metric."""
    n = len(y)
    perms = np.argsort(np.random.default_rng(seed).random((r, n)), axis=1, kind="stable")
    overall = metric(y, pred)
    out = []
    for perm in perms:
        yt, yp = y[perm], pred[perm]
        total = 0.0
        for labels, ok in zip(labels_per_partition, used, strict=True):
            gaps = [
                abs(overall - metric(yt[labels == c], yp[labels == c])) for c in np.flatnonzero(ok)
            ]
            total += np.mean(gaps)
        out.append(total)
    return np.array(out)


def test_permutation_null_equals_naive_loop():
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 4000, (90, 2))
    y = rng.integers(0, 3, 90)
    pred = np.where(xy[:, 0] > 2500, rng.integers(0, 3, 90), y)
    audit = spatial_fairness_audit(
        y,
        pred,
        coords=xy,
        crs=CRS,
        partitions=[(2, 2), (1, 3), (3, 2)],
        metric="f1",
        min_cell_size=8,
        permutations=12,
        rng=11,
    )
    labels, used = [], []
    for part in audit._parts:
        labels.append(part.labels)
        rows = audit.cells[audit.cells["partition"] == part.name]
        used.append((rows["status"] == "used").to_numpy())
    weighted_f1 = lambda t, p: f1_score(t, p, average="weighted", zero_division=0)  # noqa: E731
    naive = _naive_null_spad(y, pred, labels, used, weighted_f1, 11, 12)
    assert audit.null_spad == pytest.approx(naive, rel=1e-12)
    expected_p = (1 + np.sum(naive >= audit.spad - 1e-12)) / 13
    assert audit.p_value == pytest.approx(expected_p, abs=0)


def test_callable_metric_equals_named_metric():
    rng = np.random.default_rng(6)
    xy = rng.uniform(0, 3000, (60, 2))
    y = rng.integers(0, 2, 60)
    pred = np.where(xy[:, 1] > 2000, 1 - y, y)
    kwargs = dict(
        coords=xy, crs=CRS, partitions=[(2, 2), (2, 1)], min_cell_size=3, permutations=15, rng=2
    )
    named = spatial_fairness_audit(y, pred, metric="accuracy", **kwargs)
    custom = spatial_fairness_audit(y, pred, metric=accuracy_score, **kwargs)
    assert custom.metric == "accuracy_score"
    assert custom.spad == pytest.approx(named.spad, rel=1e-13)
    assert custom.null_spad == pytest.approx(named.null_spad, rel=1e-13)
    assert custom.p_value == named.p_value


def test_uniform_performance_has_zero_spad_and_p_one():
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 10_000, (500, 2))
    y = rng.normal(size=500)
    pred = y + np.where(rng.random(500) < 0.5, 1.0, -1.0)  # |error| = 1 everywhere
    audit = spatial_fairness_audit(
        y, pred, coords=xy, crs=CRS, metric="mae", permutations=199, rng=3
    )
    assert audit.spad == pytest.approx(0.0, abs=1e-12)
    assert audit.p_value == 1.0
    assert audit.n_partitions_used == 24


def test_iid_errors_are_not_flagged():
    rng = np.random.default_rng(8)
    xy = rng.uniform(0, 10_000, (600, 2))
    y = rng.integers(0, 2, 600)
    pred = np.where(rng.random(600) < 0.2, 1 - y, y)  # 20 % wrong, anywhere
    audit = spatial_fairness_audit(
        y, pred, coords=xy, crs=CRS, metric="accuracy", permutations=499, rng=4
    )
    assert audit.p_value > 0.2
    assert audit.p_value == pytest.approx(0.482, abs=1e-12)  # pinned for this seed
    # Small cells inflate SPAD even without any spatial pattern; the null shows by how much.
    assert audit.spad == pytest.approx(audit.null_spad.mean(), rel=0.1)


def test_worse_region_is_detected_and_located():
    rng = np.random.default_rng(9)
    xy = rng.uniform(0, 10_000, (600, 2))
    y = rng.integers(0, 2, 600)
    east = xy[:, 0] > 8000
    pred = np.where(rng.random(600) < np.where(east, 0.45, 0.1), 1 - y, y)
    audit = spatial_fairness_audit(
        y, pred, coords=xy, crs=CRS, metric="f1", permutations=499, rng=5
    )
    assert audit.p_value == pytest.approx(1 / 500, abs=0)
    assert audit.spad > 2 * audit.null_spad.mean()
    worst = audit.worst_cells("grid 1x5", k=1)
    assert worst["cell"].item() == "r1c5"
    assert worst["performance"].item() < audit.overall - 0.2
    per_part = audit.partitions.set_index("partition")["p_value"]
    assert per_part["grid 1x5"] == pytest.approx(1 / 500, abs=0)
    assert per_part["grid 5x1"] > 0.05  # horizontal stripes do not separate east from west


def test_deterministic_for_seed_batch_and_threads(monkeypatch):
    rng = np.random.default_rng(10)
    xy = rng.uniform(0, 10_000, (300, 2))
    y = rng.normal(size=300)
    pred = y + rng.normal(size=300) * (1 + xy[:, 1] / 10_000)
    run = lambda: spatial_fairness_audit(  # noqa: E731
        y, pred, coords=xy, crs=CRS, metric="rmse", permutations=300, rng=42
    )
    first = run()
    with threadpool_limits(limits=1):
        single = run()
    monkeypatch.setattr(fairness, "_BATCH_ELEMENTS", 300 * 7)  # 7 permutations per batch
    batched = run()
    for other in (single, batched):
        np.testing.assert_array_equal(other.null_spad, first.null_spad)
        assert other.p_value == first.p_value
        assert other.spad == first.spad
    other_seed = spatial_fairness_audit(
        y, pred, coords=xy, crs=CRS, metric="rmse", permutations=300, rng=43
    )
    assert not np.array_equal(other_seed.null_spad, first.null_spad)


def test_small_cells_flagged_and_counted():
    rng = np.random.default_rng(12)
    xy = rng.uniform(0, 1000, (60, 2))
    y = rng.integers(0, 2, 60)
    audit = spatial_fairness_audit(
        y, y, coords=xy, crs=CRS, metric="accuracy", min_cell_size=5, permutations=0
    )
    frame = audit.partitions.set_index("partition")
    sizes = audit.cells.set_index(["partition", "cell"])["n"]
    n_small = int(((sizes > 0) & (sizes < 5)).sum())
    assert n_small > 0
    assert (audit.cells["status"] == "too small").sum() == n_small
    assert frame["n_too_small"].sum() == n_small
    assert f"{n_small} cells" in audit.summary()
    # Cell sizes add up to the samples in every partitioning.
    assert audit.cells.groupby("partition")["n"].sum().eq(60).all()


def _squares(n_side=6, size=1000.0):
    cells = [
        box(i * size, j * size, (i + 1) * size, (j + 1) * size)
        for j in range(n_side)
        for i in range(n_side)
    ]
    gu = [
        f"{'서' if i < n_side // 2 else '동'}{'북' if j >= n_side // 2 else '남'}"
        for j in range(n_side)
        for i in range(n_side)
    ]
    return gpd.GeoDataFrame({"gu": gu}, geometry=cells, crs=CRS)


def test_group_partition_from_areas_and_maps(tmp_path):
    areas = _squares()
    rng = np.random.default_rng(13)
    y = rng.normal(size=36)
    pred = y + np.where(areas["gu"] == "동북", 2.0, 0.2) * rng.choice([-1, 1], 36)
    audit = spatial_fairness_audit(
        y,
        pred,
        areas=areas,
        partitions=["gu", (2, 2)],
        metric="mae",
        min_cell_size=3,
        permutations=99,
        rng=0,
    )
    by_gu = pd.Series(np.abs(pred - y)).groupby(areas["gu"].to_numpy()).mean()
    got = audit.cells[audit.cells["partition"] == "gu"].set_index("cell")["performance"]
    pd.testing.assert_series_equal(
        got.sort_index(), by_gu.sort_index(), check_names=False, rtol=1e-13
    )
    # The quadrant gu are exactly the 2x2 grid cells, so the two losses agree.
    losses = audit.partitions.set_index("partition")["loss"]
    assert losses["gu"] == pytest.approx(losses["grid 2x2"], rel=1e-13)
    assert audit.worst_cells("gu", k=1)["cell"].item() == "동북"
    gdf = audit.to_geodataframe("gu")
    assert gdf.area.sum() == pytest.approx(36e6, rel=1e-12)
    figure = audit.plot("gu", path=tmp_path / "gu.png")
    assert (tmp_path / "gu.png").stat().st_size > 1000
    assert figure.axes
    audit.plot("grid 2x2")
    audit.plot_scores(path=tmp_path / "scores.png")
    assert (tmp_path / "scores.png").exists()
    assert "동북" in audit.summary("ko")


def test_seoul_gu_losses_equal_pandas_groupby():
    dongs = seoul_dongs().to_crs(5179)
    y = dongs["basement_household_pct"].to_numpy()
    pred = np.full(len(y), np.median(y))  # one citywide guess
    audit = spatial_fairness_audit(
        y,
        pred,
        areas=dongs,
        partitions=["gu_name", (5, 5)],
        metric="mae",
        permutations=99,
        rng=0,
    )
    err = pd.Series(np.abs(y - pred))
    per_gu = err.groupby(dongs["gu_name"].to_numpy()).mean()
    overall = err.mean()
    assert audit.overall == pytest.approx(overall, rel=1e-13)
    loss_gu = audit.partitions.set_index("partition").loc["gu_name", "loss"]
    assert loss_gu == pytest.approx(np.mean(np.abs(per_gu - overall)), rel=1e-12)
    assert audit.cells.query("partition == 'gu_name'")["n"].sum() == 423
    assert audit.provenance["crs"] == "EPSG:5179"
    assert audit.p_value == pytest.approx(0.01, abs=1e-12)


def _shifted_relation(n=500, seed=0):
    """y depends on X[:, 1] only in the east (x > 7 km): one linear fit serves the east worse."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10_000, (n, 2))
    X = rng.normal(size=(n, 2))
    east = xy[:, 0] > 7000
    y = X[:, 0] + np.where(east, 1.5, 0.0) * X[:, 1] + rng.normal(0, 0.5, n)
    return xy, X, y


def test_reweighting_reduces_spad_at_small_cost():
    xy, X, y = _shifted_relation()
    model = FairnessReweighted(LinearRegression(), n_rounds=24, step=0.5, rng=1)
    model.fit(X, y, coords=xy, crs=CRS)
    base = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.base_estimator_.coef_, base.coef_, rtol=1e-12)
    direct = spatial_fairness_audit(
        y, base.predict(X), coords=xy, crs=CRS, metric="rmse", permutations=0
    )
    assert model.spad_before_ == pytest.approx(direct.spad, rel=1e-12)
    assert model.metric_before_ == pytest.approx(direct.overall, rel=1e-12)
    # In-sample: SPAD down by over 40 %, RMSE up by at most the 5 % tolerance.
    assert model.spad_after_ < 0.6 * model.spad_before_
    assert model.metric_after_ <= 1.05 * model.metric_before_
    assert len(model.history_) == 25 and model.history_["selected"].sum() == 1
    assert model.sample_weight_.mean() == pytest.approx(1.0, rel=1e-12)
    east = xy[:, 0] > 7000
    assert model.sample_weight_[east].mean() > model.sample_weight_[~east].mean()
    # Held out: a fresh sample from the same process, audited independently.
    xy_new, X_new, y_new = _shifted_relation(seed=99)
    before = spatial_fairness_audit(
        y_new, base.predict(X_new), coords=xy_new, crs=CRS, metric="rmse", permutations=0
    )
    after = spatial_fairness_audit(
        y_new, model.predict(X_new), coords=xy_new, crs=CRS, metric="rmse", permutations=0
    )
    assert after.spad < 0.7 * before.spad
    assert after.overall < 1.08 * before.overall
    assert "SPAD" in model.summary() and "SPAD" in model.summary("ko")
    assert model.plot().axes
    again = FairnessReweighted(LinearRegression(), n_rounds=24, step=0.5, rng=1).fit(
        X, y, coords=xy, crs=CRS
    )
    np.testing.assert_array_equal(again.sample_weight_, model.sample_weight_)


def test_reweighting_select_last_and_tolerance():
    xy, X, y = _shifted_relation(300, seed=3)
    last = FairnessReweighted(LinearRegression(), n_rounds=10, step=1.0, select="last", rng=0).fit(
        X, y, coords=xy, crs=CRS
    )
    assert last.selected_round_ == 10
    assert last.spad_after_ == last.history_["spad"].iloc[-1]
    strict = FairnessReweighted(
        LinearRegression(), n_rounds=10, step=1.0, tolerance=0.0, rng=0
    ).fit(X, y, coords=xy, crs=CRS)
    # No loss of overall RMSE allowed: least squares is optimal unweighted, so keep the base.
    assert strict.selected_round_ == 0
    np.testing.assert_array_equal(strict.sample_weight_, np.ones(300))


def test_reweighting_classifier_out_of_fold():
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 10_000, (400, 2))
    X = rng.normal(size=(400, 2))
    east = xy[:, 0] > 7000
    y = (X[:, 0] + np.where(east, 1.0, 0.0) > 0).astype(int)  # east has a shifted threshold
    model = FairnessReweighted(LogisticRegression(), n_rounds=6, cv=3, rng=0)
    model.fit(X, y, coords=xy, crs=CRS)
    assert model.metric_ == "f1"
    assert model.predict_proba(X).shape == (400, 2)
    assert list(model.classes_) == [0, 1]
    assert model.audit_before_.overall == pytest.approx(model.metric_before_, rel=1e-12)
    assert model.spad_after_ == pytest.approx(model.audit_after_.spad, rel=1e-12)
    assert model.metric_after_ >= 0.95 * model.metric_before_


def test_reweighting_rejects_estimator_without_sample_weight():
    xy, X, y = _shifted_relation(100)
    with pytest.raises(SpecificationError, match="sample_weight"):
        FairnessReweighted(KNeighborsRegressor()).fit(X, y, coords=xy, crs=CRS)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"coords": "geo"}, GeometryError, "geographic"),
        ({"coords": "array", "crs": "EPSG:4326"}, GeometryError, "degrees"),
        ({"coords": "array"}, SpecificationError, "crs="),
        ({"coords": "array", "crs": CRS, "metric": "auc"}, SpecificationError, "'metric'"),
        ({"coords": "short", "crs": CRS}, DataError, "locations have 9 rows"),
        ({"coords": "array", "crs": CRS, "min_cell_size": 1000}, DataError, "min_cell_size=1000"),
        ({"coords": "array", "crs": CRS, "partitions": [(1, 1)]}, SpecificationError, r"\(1, 1\)"),
        ({"coords": "array", "crs": CRS, "partitions": ["gu"]}, DataError, "'gu'"),
        (
            {"coords": "array", "crs": CRS, "partitions": [(2, 2), (2, 2)]},
            SpecificationError,
            "repeated",
        ),
        ({"coords": "array", "crs": CRS, "rng": -1}, SpecificationError, "'rng' parameter"),
        (
            {"coords": "array", "crs": CRS, "metric": "rmse", "greater_is_better": True},
            SpecificationError,
            "contradicts",
        ),
        ({}, SpecificationError, "not both and not neither"),
    ],
)
def test_errors(kwargs, error, match):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1000, (10, 2))
    arrays = {
        "array": xy,
        "short": xy[:9],
        "geo": gpd.GeoSeries(
            gpd.points_from_xy(126.9 + xy[:, 0] / 1e5, 37.5 + xy[:, 1] / 1e5), crs="EPSG:4326"
        ),
    }
    if "coords" in kwargs:
        kwargs = {**kwargs, "coords": arrays[kwargs["coords"]]}
    y = rng.normal(size=10)
    with pytest.raises(error, match=match):
        spatial_fairness_audit(y, y + 1, **{"metric": "mae", **kwargs})


def test_areas_in_degrees_are_refused():
    dongs = seoul_dongs(indicators=False)
    with pytest.raises(GeometryError, match="metric_crs"):
        spatial_fairness_audit(np.zeros(423), np.zeros(423), areas=dongs, metric="mae")


def test_missing_values_are_named():
    xy = np.arange(20, dtype=float).reshape(10, 2) * 100
    y = np.arange(10.0)
    pred = y.copy()
    pred[[3, 7]] = np.nan
    with pytest.raises(DataError, match="rows 3, 7"):
        spatial_fairness_audit(y, pred, coords=xy, crs=CRS, metric="rmse")


def test_audit_grid_map_is_clipped_to_the_study_area():
    """Issue 15: grid cells were painted as whole squares, far outside the city."""
    dongs = seoul_dongs().to_crs(5179)
    y = dongs["basement_household_pct"].to_numpy()
    audit = spatial_fairness_audit(
        y, np.full(len(y), np.median(y)), areas=dongs, partitions=[(5, 2)], metric="mae",
        permutations=19, rng=0,
    )  # fmt: skip
    figure = audit.plot("grid 5x2")
    ax = figure.axes[0]
    city = dongs.union_all()
    cells = audit.to_geodataframe("grid 5x2")
    used = cells[cells["n"] > 0]
    assert used.area.sum() > 1.5 * city.area  # the squares reach well outside Seoul
    # what is painted: the rings of the first (filled) collection, in the map's metric CRS
    painted = sum(
        shapely.Polygon(ring).area
        for path in ax.collections[0].get_paths()
        for ring in path.to_polygons()
    )
    assert painted <= city.area * (1 + 1e-6)
    assert painted == pytest.approx(used.intersection(city).area.sum(), rel=0.02)
