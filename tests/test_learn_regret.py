"""Allocation regret under shift (synthetic) and the Seoul north → south task builder."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dongne.allocate import LocationProblem
from dongne.errors import DataError
from dongne.learn.cv import LeaveGroupOut, cv_compare
from dongne.learn.regret import AllocationRegret, allocation_regret
from dongne.learn.robust import GroupDRO, GroupReweighted, ImportanceWeighted, group_report
from dongne.learn.tasks import (
    GANGBUK_GU,
    GANGNAM_GU,
    SEOUL_FEATURES,
    seoul_basement_task,
    synthetic_shift_task,
)


def _linear():
    return make_pipeline(StandardScaler(), Ridge(alpha=1.0))


@pytest.fixture(scope="module")
def synthetic():
    task = synthetic_shift_task(rng=0)
    s, t = task.source, task.target
    Xs, ys, gs = task.X[s], task.y[s], task.groups[s]
    models = {
        "naive": _linear().fit(Xs, ys),
        "importance": ImportanceWeighted(rng=0).fit(Xs, ys, X_target=task.X[t]),
        "reweighted": GroupReweighted().fit(Xs, ys, gs),
        "dro": GroupDRO().fit(Xs, ys, gs),
    }
    grid = np.array(
        [[x, y] for x in np.arange(14_500, 24_000, 1000) for y in range(500, 10_000, 1000)]
    )
    problem = LocationProblem.from_cost_matrix(cdist(task.coords[t], grid))
    preds = {k: task.need(m.predict(task.X[t]), rows=t) for k, m in models.items()}
    res = AllocationRegret(p=5, radius=1500).fit(problem, task.need(rows=t), preds)
    return task, problem, res


def test_regret_numbers_on_the_synthetic_shift(synthetic):
    _, _, res = synthetic
    r = res.to_frame().set_index("solution")
    assert (r["regret"] >= -1e-9).all()
    assert r.loc["naive", "regret"] == pytest.approx(25.11, abs=0.05)
    assert r.loc["importance", "regret"] < 0.05 * r.loc["naive", "regret"]
    assert r.loc["true need (oracle)", "true_share_covered"] == pytest.approx(
        r.loc["true need (oracle)", "true_need_covered"] / res.total_need_
    )
    # the naive model expects to cover far less need than there is: it underestimates need
    assert r.loc["naive", "expected_need_covered"] < 0.8 * r.loc["naive", "true_need_covered"]


def test_exact_predictions_have_zero_regret(synthetic):
    task, problem, _ = synthetic
    truth = task.need(rows=task.target)
    res = allocation_regret(problem, truth, {"exact": truth, "scaled": 3 * truth}, p=4, radius=1200)
    assert res.results_["regret"].tolist() == [0.0, 0.0, 0.0]
    assert res.results_["sites_shared_with_oracle"].tolist() == [4, 4, 4]


def test_regret_is_never_negative_for_random_predictions(synthetic):
    task, problem, _ = synthetic
    truth = task.need(rows=task.target)
    rng = np.random.default_rng(5)
    preds = {f"noise{k}": truth * rng.lognormal(0, 1, len(truth)) for k in range(4)}
    res = AllocationRegret(p=3, radius=1500).fit(problem, truth, preds)
    assert (res.results_["regret"] >= -1e-9).all()
    assert res.results_["regret"].iloc[1:].max() > 0
    assert "regret" in res.summary() and "후회" in res.summary("ko")
    assert res.plot() is not None


def test_regret_errors(synthetic):
    task, problem, _ = synthetic
    truth = task.need(rows=task.target)
    with pytest.raises(DataError, match="0 everywhere"):
        AllocationRegret(p=2, radius=1500).fit(problem, truth, {"zero": -truth})
    with pytest.raises(DataError, match="values for"):
        AllocationRegret(p=2, radius=1500).fit(problem, truth[:5], {"x": truth})


@pytest.fixture(scope="module")
def seoul():
    return seoul_basement_task()


def test_seoul_task_keeps_every_dong(seoul):
    assert len(GANGBUK_GU) == 14 and len(GANGNAM_GU) == 11
    assert seoul.X.shape == (423, len(SEOUL_FEATURES))
    assert list(seoul.X.columns) == list(SEOUL_FEATURES)
    assert np.isfinite(seoul.X.to_numpy()).all() and seoul.y.notna().all()
    assert int(seoul.source.sum()) == 222 and int(seoul.target.sum()) == 201
    assert seoul.groups[seoul.source].nunique() == 14 and seoul.groups[seoul.target].nunique() == 11
    # need = share × households / 100 reproduces the census basement-household counts
    census = seoul.areas["basement_households"].to_numpy(float)
    assert np.abs(seoul.need() - census).max() < 0.01 * census.max()
    assert seoul.X["northing_km"][seoul.source].min() > seoul.X["northing_km"][seoul.target].min()
    south = seoul_basement_task(source="south")
    assert int(south.source.sum()) == 201


def test_seoul_fast_comparison(seoul):
    res = cv_compare(_linear(), seoul.X, seoul.y, groups=seoul.groups, rng=0)
    assert res.random_mean == pytest.approx(0.180, abs=0.005)
    assert res.spatial_mean < res.random_mean  # grouped-by-gu CV is less optimistic
    s, t = seoul.source, seoul.target
    m = _linear().fit(seoul.X[s], seoul.y[s])
    rep = group_report(m, seoul.X[t], seoul.y[t], seoul.groups[t])
    assert rep.overall > group_report(m, seoul.X[s], seoul.y[s], seoul.groups[s]).overall
    assert len(list(LeaveGroupOut().split(seoul.X, groups=seoul.groups))) == 25


def test_regret_map_has_a_legend_scale_bar_and_note():
    """Issue 15: the regret map had no legend."""
    import geopandas as gpd
    from matplotlib.text import Text
    from shapely import box

    grid = gpd.GeoDataFrame(
        {"id": [f"a{i}" for i in range(16)]},
        geometry=[box(x, y, x + 1000, y + 1000) for x in range(0, 4000, 1000)
                  for y in range(0, 4000, 1000)],
        crs="EPSG:5179",
    )  # fmt: skip
    points = grid.set_geometry(grid.centroid)
    problem = LocationProblem.from_geodataframes(points, points, demand_id="id", candidate_id="id")
    truth = np.arange(16, dtype=float)
    res = AllocationRegret(p=2, radius=1100).fit(
        problem, truth, {"flipped": truth[::-1].copy()}, areas=grid
    )
    figure = res.plot()
    legend = figure.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    assert legend.get_title().get_text().startswith("True need per area")
    assert texts[0] == "0 – 3" and texts[-2] == "12 – 15"
    assert texts[-1].startswith("chosen site (2)")
    labels = [t.get_text() for t in figure.findobj(Text)]
    assert "500 m" in labels  # the scale bar: a fifth of the 4 km map, rounded down
    assert any(t.startswith("MCLP, p = 2, radius 1100 m") for t in labels)
