"""``dongne learn cv|shift|audit|regret`` end to end, the demo's learn step and its report.

Reference numbers: docs/learn.md (benchmarks/bench_learn.py), computed there with
``cv_compare`` (scikit-learn ``cross_validate``), ``ShiftDiagnostics``, ``AllocationRegret``
directly — the workflows must reproduce them through their own fold loop and file outputs.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from dongne.cli.learn import add_arguments, run
from dongne.demo.learn import SEOUL_DEFAULTS, run_demo_learning, seoul_learning_areas
from dongne.errors import DataError, SpecificationError
from dongne.learn.workflow import SpatialScheme


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="dongne learn")
    add_arguments(parser)
    args = parser.parse_args([*argv, "--quiet"])
    return run(args)


def _csv(path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "learn"
    steps: list[str] = []
    result = run_demo_learning(out, progress=steps.append)
    return out, result, steps


def test_demo_learning_reproduces_the_documented_seoul_numbers(demo):
    out, _, steps = demo
    assert len(steps) == 4
    cv = _csv(out / "cv_comparison.csv").set_index("scheme")
    # docs/learn.md, ridge, gu grouped 5-fold: random R² 0.180, spatial -0.350, RMSE 5.552/6.738
    assert cv.loc["random", "r2_mean"] == pytest.approx(0.180, abs=5e-4)
    assert cv.loc["spatial", "r2_mean"] == pytest.approx(-0.350, abs=5e-4)
    assert cv.loc["random", "optimism_gap_r2"] == pytest.approx(0.530, abs=5e-4)
    assert cv.loc["random", "rmse_mean"] == pytest.approx(5.552, abs=5e-4)
    assert cv.loc["spatial", "rmse_mean"] == pytest.approx(6.738, abs=5e-4)
    shift = _csv(out / "shift_tests.csv").set_index("test")
    assert shift.loc["domain_classifier_auc", "statistic"] == pytest.approx(0.999, abs=5e-4)
    assert shift.loc["mmd2", "statistic"] == pytest.approx(0.2207, abs=5e-5)
    assert shift.loc["mmd2", "p_value"] == pytest.approx(0.001)
    weights = _csv(out / "shift_areas.csv")["importance_weight"].dropna().to_numpy()
    assert weights.sum() ** 2 / (weights**2).sum() == pytest.approx(16.4, abs=0.05)
    # docs/learn.md, 201 southern dongs, 10 sites, 1 km: oracle 59,033.623, ridge naive regret
    # 983.171; transfer RMSE naive 10.627, group DRO 10.285 (worst gu Gangnam-gu 15.776/15.461)
    regret = _csv(out / "regret_results.csv").set_index("solution")
    assert regret.loc["true need (oracle)", "true_need_covered"] == pytest.approx(
        59033.623, abs=1e-3
    )
    assert regret.loc["naive", "regret"] == pytest.approx(983.171, abs=1e-3)
    models = _csv(out / "regret_models.csv").set_index("method")
    assert models.loc["naive", "target_rmse"] == pytest.approx(10.627, abs=5e-4)
    assert models.loc["group DRO", "target_rmse"] == pytest.approx(10.285, abs=5e-4)
    assert models.loc["naive", "worst_group_rmse"] == pytest.approx(15.776, abs=5e-4)
    assert models.loc["group DRO", "worst_group_rmse"] == pytest.approx(15.461, abs=5e-4)
    audit = _csv(out / "audit_partitions.csv")
    assert len(audit) == 25 and audit["partition"].iloc[-1] == "gu_name"
    assert audit.loc[audit["partition"] == "gu_name", "p_value"].iloc[0] == pytest.approx(0.001)
    # every table carries its provenance; every summary is bilingual
    for table in out.glob("*.csv"):
        meta = json.loads((out / f"{table.name}.provenance.json").read_text(encoding="utf-8"))
        assert meta["dongne_version"] and meta["parameters"]["seed"] == 0
    for name in ("cv", "shift", "regret", "audit"):
        text = (out / f"{name}_summary.txt").read_text(encoding="utf-8")
        assert any("\uac00" <= c <= "\ud7a3" for c in text) and "the" in text
    assert (out / "audit_map_gu_name.png").stat().st_size > 10_000


def test_workflow_folds_match_cv_compare_and_cover_every_area(demo):
    from dongne.learn.cv import LeaveGroupOut, cv_compare
    from dongne.learn.tasks import seoul_basement_task
    from dongne.learn.workflow import make_model

    out, _, _ = demo
    task = seoul_basement_task()
    ref = cv_compare(
        make_model("ridge"), task.X, task.y, groups=task.groups, spatial_cv=LeaveGroupOut(5)
    )
    scores = _csv(out / "cv_scores.csv")
    for scheme in ("random", "spatial"):
        mine = scores.loc[scores["scheme"] == scheme, "r2"].to_numpy()
        theirs = ref.scores.loc[ref.scores["scheme"] == scheme, "score"].to_numpy()
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-12)
    areas = _csv(out / "cv_areas.csv")
    assert len(areas) == 423 and sorted(areas["spatial_fold"].unique()) == [0, 1, 2, 3, 4]
    # each gu is held out whole: one test fold per gu
    assert (areas.groupby("gu_name_en")["spatial_fold"].nunique() == 1).all()
    resid = areas["prediction_spatial_cv"] - areas["basement_household_pct"]
    np.testing.assert_allclose(areas["error_spatial_cv"], resid, atol=1e-12)


def test_report_of_a_learn_run_shows_its_numbers(demo):
    import dongne.report.sections_learn  # noqa: F401  (registers the learn sections)
    from dongne.report.document import render_html

    out, _, _ = demo
    html = render_html(out.parent, lang="both")
    for text in (
        "Spatial cross-validation",
        "공간 교차검증",
        "Allocation regret under shift",
        "Spatial fairness audit",
        "0.530",  # optimism gap
        "983",  # naive regret
        "10.285",  # group DRO RMSE in the south
        "Roberts, D. R.",
        "Xie, Y.",
    ):
        assert text in html, text
    assert 'id="appendix"' not in html  # every learn file is claimed by a section


def test_cli_audit_of_cv_predictions_joined_from_a_table(demo, tmp_path):
    out, result, _ = demo
    areas = seoul_learning_areas()[["dong_code", "gu_name", "geometry"]]
    areas.to_file(tmp_path / "dongs.gpkg", driver="GPKG")
    rc = _cli(
        "audit",
        str(tmp_path / "dongs.gpkg"),
        str(out / "cv_areas.csv"),
        "--id", "dong_code",
        "--target", "basement_household_pct",
        "--prediction", "prediction_spatial_cv",
        "--partitions", "grids,gu_name",
        "--out", str(tmp_path / "audit"),
    )  # fmt: skip
    assert rc == 0
    mine = _csv(tmp_path / "audit" / "audit_partitions.csv")
    demo_audit = result.results["audit"]
    assert mine["loss"].sum() == pytest.approx(demo_audit.spad, rel=1e-12)
    np.testing.assert_allclose(mine["p_value"], demo_audit.partitions["p_value"])
    assert (tmp_path / "audit" / "match_report.txt").exists()


def test_cli_cv_shift_regret_on_the_bundled_task(tmp_path):
    assert _cli("cv", "--seoul", "--kmeans", "10", "--buffer", "1km", "--folds", "3",
                "--out", str(tmp_path / "cv")) == 0  # fmt: skip
    buffer = _csv(tmp_path / "cv" / "cv_buffer.csv")
    assert len(buffer) == 3 and buffer["n_excluded"].sum() > 0
    assert (buffer["n_train"] + buffer["n_test"] + buffer["n_excluded"] == 423).all()
    assert _cli("shift", "--seoul", "--domain", "han_river_side", "--source", "south",
                "--target-domain", "north", "--permutations", "4", "--mmd-permutations", "99",
                "--out", str(tmp_path / "shift")) == 0  # fmt: skip
    tests = _csv(tmp_path / "shift" / "shift_tests.csv").set_index("test")
    assert tests.loc["domain_classifier_auc", "p_value"] == pytest.approx(0.2)  # 1/(4+1)
    assert tests.loc["mmd2", "p_value"] == pytest.approx(0.01)  # 1/(99+1)
    assert _cli("regret", "--seoul", "--p", "3", "--radius", "1km", "--methods",
                "naive,importance_weighted", "--out", str(tmp_path / "regret")) == 0  # fmt: skip
    res = _csv(tmp_path / "regret" / "regret_results.csv").set_index("solution")
    best = res.loc["true need (oracle)", "true_need_covered"]
    assert (res["regret"] >= -1e-9).all()
    np.testing.assert_allclose(res["regret"], best - res["true_need_covered"], atol=1e-9)
    sites = _csv(tmp_path / "regret" / "regret_sites.csv")
    assert sites.groupby("solution").size().tolist() == [3, 3, 3]


def test_inputs_are_checked_with_fixes(tmp_path):
    areas = seoul_learning_areas()
    with pytest.raises(SpecificationError, match="Choose one spatial scheme"):
        SpatialScheme(group="gu_name", block="3km").splitter(areas)
    with pytest.raises(SpecificationError, match="AREAS"):
        _cli("cv", "--target", "y", "--features", "a", "--out", str(tmp_path))
    from dongne.learn.workflow import run_learn_cv

    with pytest.raises(DataError, match="'no_such_column'"):
        run_learn_cv(areas, "dong_code", "no_such_column", ["log_area_km2"], tmp_path)
    holes = areas.copy()
    holes.loc[[3, 7], "log_area_km2"] = np.nan
    with pytest.raises(DataError, match=rf"{areas['dong_code'][3]}, {areas['dong_code'][7]}"):
        run_learn_cv(holes, "dong_code", SEOUL_DEFAULTS["target"], ["log_area_km2"], tmp_path)
