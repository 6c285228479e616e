"""Shift-robust training on the seeded synthetic task: worst-group and held-out-region error."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dongne.errors import DataError, SpecificationError
from dongne.learn.robust import GroupDRO, GroupReweighted, ImportanceWeighted, group_report
from dongne.learn.tasks import synthetic_shift_task


@pytest.fixture(scope="module")
def fitted():
    task = synthetic_shift_task(rng=0)
    s, t = task.source, task.target
    Xs, ys, gs = task.X[s], task.y[s], task.groups[s]
    naive = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(Xs, ys)
    models = {
        "naive": naive,
        "importance": ImportanceWeighted(rng=0).fit(Xs, ys, X_target=task.X[t]),
        "reweighted": GroupReweighted().fit(Xs, ys, gs),
        "dro": GroupDRO().fit(Xs, ys, gs),
    }
    return task, models


def test_naive_model_degrades_on_the_held_out_region(fitted):
    task, models = fitted
    s, t = task.source, task.target
    inside = group_report(models["naive"], task.X[s], task.y[s], task.groups[s])
    outside = group_report(models["naive"], task.X[t], task.y[t], task.groups[t])
    assert inside.overall == pytest.approx(0.971, abs=0.005)
    assert outside.overall == pytest.approx(3.880, abs=0.005)
    assert inside.worst_group == "B" and inside.worst == pytest.approx(1.842, abs=0.005)


def test_group_methods_reduce_worst_group_error(fitted):
    task, models = fitted
    s = task.source
    worst = {
        k: group_report(m, task.X[s], task.y[s], task.groups[s]).worst for k, m in models.items()
    }
    assert worst["reweighted"] < 0.7 * worst["naive"]
    assert worst["dro"] < worst["reweighted"]
    assert worst["dro"] == pytest.approx(1.187, abs=0.005)


def test_importance_weighting_reduces_target_error(fitted):
    task, models = fitted
    t = task.target
    rmse = {
        k: group_report(m, task.X[t], task.y[t], task.groups[t]).overall for k, m in models.items()
    }
    assert rmse["importance"] < 0.35 * rmse["naive"]
    assert rmse["importance"] == pytest.approx(1.04, abs=0.01)
    iw = models["importance"]
    assert 10 < iw.ess_ < 460 and iw.weights_.mean() == pytest.approx(1.0)


def test_dro_weights_and_history(fitted):
    _, models = fitted
    dro = models["dro"]
    assert dro.group_weights_.sum() == pytest.approx(1.0)
    assert dro.group_weights_.round(2).to_dict() == {"A": 0.43, "B": 0.57}
    assert len(dro.history_) == 30 and dro.history_["q[A]"].iloc[0] == 0.5
    rw = models["reweighted"]
    assert rw.group_weights_.to_dict() == pytest.approx({"A": 460 / 800, "B": 460 / 120})


def test_group_report_surface(fitted):
    task, models = fitted
    rep = group_report(models["dro"], task.X, task.y, task.groups, metric="r2")
    frame = rep.to_frame()
    assert frame["group"].tolist()[:3] == rep.table["group"].tolist()
    assert frame["group"].iloc[-1].startswith("(worst: ")
    assert rep.worst == rep.table["r2"].min()
    assert "worst group" in rep.summary() and "최악 집단" in rep.summary("ko")
    assert rep.plot() is not None


def test_errors():
    task = synthetic_shift_task(n_a=30, n_b=10, n_c=10, rng=1)
    with pytest.raises(SpecificationError, match="does not accept sample_weight"):
        GroupReweighted(KNeighborsRegressor()).fit(task.X, task.y, task.groups)
    with pytest.raises(DataError, match="missing in rows"):
        GroupDRO().fit(task.X, task.y, [None] * len(task.y))
    with pytest.raises(SpecificationError, match="'metric'"):
        group_report(
            GroupReweighted().fit(task.X, task.y, task.groups),
            task.X,
            task.y,
            task.groups,
            metric="auc",
        )


def test_lightgbm_works_through_sample_weight():
    lightgbm = pytest.importorskip("lightgbm")
    task = synthetic_shift_task(rng=2)
    s = task.source
    model = GroupDRO(lightgbm.LGBMRegressor(n_estimators=20, verbose=-1, n_jobs=1), n_rounds=3)
    model.fit(task.X[s], task.y[s], task.groups[s])
    assert np.isfinite(model.predict(task.X[task.target])).all()
