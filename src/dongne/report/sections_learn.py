"""Report sections for the outputs of ``dongne learn`` (and the learn step of the demo).

Registered with :func:`dongne.report.document.register_section` under the file each workflow
of :mod:`dongne.learn.workflow` always writes: ``cv_comparison.csv`` (spatial cross-
validation), ``shift_tests.csv`` (shift diagnostics), ``audit_partitions.csv`` (spatial-
fairness audit) and ``regret_results.csv`` (allocation regret). Each section shows the maps
and charts, the key tables with the numbers as written, and the method with the parameters
recorded in the provenance files and the references.
"""

from __future__ import annotations

from dongne.report.run import AnalysisRun
from dongne.report.sections import (
    Figure,
    Method,
    ReportSection,
    Table,
    _format,
    _num,
    register_section,
)

__all__: list[str] = []

_CV_REFERENCES = (
    "Roberts, D. R., Bahn, V., Ciuti, S., et al. (2017). Cross-validation strategies for data "
    "with temporal, spatial, hierarchical, or phylogenetic structure. Ecography 40(8):913–929.",
    "Valavi, R., Elith, J., Lahoz-Monfort, J. J. & Guillera-Arroita, G. (2019). blockCV: an R "
    "package for generating spatially or environmentally separated folds for k-fold "
    "cross-validation of species distribution models. Methods in Ecology and Evolution "
    "10(2):225–232.",
)
_SHIFT_REFERENCES = (
    "Rabanser, S., Günnemann, S. & Lipton, Z. C. (2019). Failing loudly: an empirical study of "
    "methods for detecting dataset shift. NeurIPS 32.",
    "Gretton, A., Borgwardt, K. M., Rasch, M. J., Schölkopf, B. & Smola, A. (2012). A kernel "
    "two-sample test. JMLR 13:723–773.",
    "Shimodaira, H. (2000). Improving predictive inference under covariate shift by weighting "
    "the log-likelihood function. J. Statistical Planning and Inference 90(2):227–244.",
    "Siddiqi, N. (2006). Credit Risk Scorecards. Wiley (population stability index).",
    "Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B "
    "57(1):289–300.",
)
_AUDIT_REFERENCES = (
    'Xie, Y., He, E., Jia, X., et al. (2022). Fairness by "Where": a statistically-robust and '
    "model-agnostic bi-level learning framework. AAAI 36(11):12208–12216.",
    "Xie, Y., He, E., Jia, X., et al. (2024). Learning with location-based fairness: a "
    "statistically-robust framework and acceleration. IEEE TKDE 36(9):4750–4765.",
)
_REGRET_REFERENCES = (
    "Ren, K., Byun, J. & Wilder, B. (2024). Decision-focused evaluation of worst-case "
    "distribution shift. arXiv:2407.03557.",
    "Church, R. & ReVelle, C. (1974). The maximal covering location problem. Papers of the "
    "Regional Science Association 32:101–118.",
    "Sagawa, S., Koh, P. W., Hashimoto, T. B. & Liang, P. (2020). Distributionally robust "
    "neural networks for group shifts. ICLR 2020.",
    "Shimodaira, H. (2000). J. Statistical Planning and Inference 90(2):227–244.",
)


def _figures(run: AnalysisRun, section: ReportSection, items: tuple) -> None:
    for name, caption in items:
        if run.has(name):
            section.figures.append(Figure(name, caption))
            section.files.add(name)


def _recorded(run: AnalysisRun, name: str, keys: tuple[str, ...]) -> dict:
    params = run.parameters(name)
    return {k: params[k] for k in keys if params.get(k) is not None}


@register_section("learn_cv", anchors=("cv_comparison.csv",))
def _cv_section(run: AnalysisRun, prefix: str) -> ReportSection:
    comparison = f"{prefix}cv_comparison.csv"
    section = ReportSection(
        title=("Spatial cross-validation", "공간 교차검증"),
        files={comparison} | {f"{prefix}{n}" for n in ("cv_scores.csv", "cv_areas.csv")},
    )
    section.files &= set(run.files)
    _figures(
        run,
        section,
        (
            (
                f"{prefix}cv_scores.png",
                ("Fold scores: random vs spatial", "폴드별 점수: 무작위 대 공간"),
            ),
            (f"{prefix}cv_folds_map.png", ("Spatial test folds", "공간 검증 폴드")),
            (
                f"{prefix}cv_error_map.png",
                ("Out-of-fold error under spatial CV", "공간 교차검증 예측 오차"),
            ),
        ),
    )
    table = run.read_table(comparison)
    section.tables.append(
        Table(
            ("Random vs spatial cross-validation", "무작위 대 공간 교차검증"),
            _format(
                table,
                {
                    "folds": "int",
                    "r2_mean": "f3",
                    "r2_sd": "f3",
                    "rmse_mean": "f3",
                    "rmse_sd": "f3",
                    "optimism_gap_r2": "f3",
                    "optimism_gap_rmse": "f3",
                },
            ),
            comparison,
            (
                "optimism_gap_r2 = random − spatial mean R²: how much random K-fold flatters "
                "the model for places it has not seen.",
                "optimism_gap_r2 = 무작위 − 공간 평균 R²: 무작위 교차검증이 처음 보는 지역에 "
                "대한 성능을 얼마나 부풀리는지 보여 줍니다.",
            ),
        )
    )
    buffer = f"{prefix}cv_buffer.csv"
    if run.has(buffer):
        section.files.add(buffer)
        section.tables.append(
            Table(
                ("Training areas removed by the buffer", "버퍼로 제외된 학습 지역"),
                run.read_table(buffer),
                buffer,
            )
        )
    section.methods.append(
        Method(
            ("Random K-fold vs spatial cross-validation", "무작위 대 공간 교차검증"),
            (
                "The same model is scored on folds drawn at random and on spatial folds (whole "
                "groups, grid or k-means blocks, optionally with a buffer), so that the score "
                "of places the model has not seen is compared with the random-CV score.",
                "같은 모형을 무작위 폴드와 공간 폴드(집단 전체, 격자·k-평균 블록, 선택적으로 "
                "버퍼)로 평가하여, 처음 보는 지역에서의 성능을 무작위 교차검증 성능과 "
                "비교합니다.",
            ),
            _recorded(
                run,
                comparison,
                ("target", "features", "model", "spatial_scheme", "n_splits", "seed", "n_areas"),
            ),
            comparison,
            _CV_REFERENCES,
        )
    )
    return section


@register_section("learn_shift", anchors=("shift_tests.csv",))
def _shift_section(run: AnalysisRun, prefix: str) -> ReportSection:
    tests = f"{prefix}shift_tests.csv"
    section = ReportSection(
        title=("Shift between source and target", "원천·대상 지역 간 분포 이동"),
        files={tests, f"{prefix}shift_features.csv", f"{prefix}shift_areas.csv"},
    )
    section.files &= set(run.files)
    _figures(
        run,
        section,
        (
            (
                f"{prefix}shift_diagnostics.png",
                ("Per-feature shift and importance weights", "변수별 이동과 중요도 가중치"),
            ),
            (
                f"{prefix}shift_weights_map.png",
                ("Importance weights of the source areas", "원천 지역의 중요도 가중치"),
            ),
        ),
    )
    frame = run.read_table(tests)
    cols = [
        c
        for c in (
            "test",
            "feature",
            "statistic",
            "p_value",
            "p_adjusted",
            "shifted",
            "psi",
            "std_mean_diff",
        )
        if c in frame
    ]
    section.tables.append(
        Table(
            ("Shift tests", "분포 이동 검정"),
            _format(
                frame[cols],
                {
                    "statistic": "f3",
                    "p_value": "p",
                    "p_adjusted": "p",
                    "psi": "f3",
                    "std_mean_diff": "f3",
                },
            ),
            tests,
            (
                "Domain-classifier AUC (0.5 = indistinguishable) and MMD² over all features; KS "
                "per feature with adjusted p; PSI > 0.25 is a major shift.",
                "영역 분류기 AUC(0.5면 구별 불가)와 MMD²는 전체 변수, KS는 변수별(보정 p). "
                "PSI > 0.25는 큰 이동입니다.",
            ),
        )
    )
    error = f"{prefix}shift_error.csv"
    if run.has(error):
        section.files.add(error)
        section.tables.append(
            Table(
                ("Error in the target: estimated and observed", "대상 지역 오차: 추정과 관측"),
                _format(run.read_table(error), {"value": "f3"}),
                error,
            )
        )
    section.methods.append(
        Method(
            ("Shift diagnostics", "분포 이동 진단"),
            (
                "A classifier tries to tell target from source areas (cross-validated AUC, "
                "permutation p); each feature is compared by a KS test with false-discovery-"
                "rate control and by PSI; MMD tests all features jointly; the classifier's "
                "odds give importance weights and their effective sample size.",
                "분류기가 대상과 원천 지역을 구별하는지(교차검증 AUC, 순열 p) 보고, 변수별 KS "
                "검정(FDR 보정)과 PSI, 전체 변수에 대한 MMD 검정을 합니다. 분류기의 오즈로 "
                "중요도 가중치와 유효 표본 크기를 구합니다.",
            ),
            _recorded(
                run,
                tests,
                (
                    "features",
                    "n_source",
                    "n_target",
                    "permutations",
                    "mmd_permutations",
                    "correction",
                    "alpha",
                    "clip_quantile",
                    "seed",
                    "target",
                    "model",
                ),
            ),
            tests,
            _SHIFT_REFERENCES,
        )
    )
    return section


@register_section("learn_audit", anchors=("audit_partitions.csv",))
def _audit_section(run: AnalysisRun, prefix: str) -> ReportSection:
    """The report section of a spatial-fairness audit (``audit_*`` files).

    It is long because it lays out the page in reading order (scores, maps, partitions, cells),
    one block per element; splitting it would scatter one page over several functions.
    """
    partitions = f"{prefix}audit_partitions.csv"
    cells = f"{prefix}audit_cells.csv"
    section = ReportSection(
        title=("Spatial fairness audit", "공간 공정성 진단"),
        files={partitions, cells, f"{prefix}audit_predictions.csv"},
    )
    section.files &= set(run.files)
    maps = [
        f
        for f in run.files
        if f.startswith(f"{prefix}audit_map_")
        and f.endswith(".png")
        and "/" not in f[len(prefix) :]
    ]
    _figures(
        run,
        section,
        (
            (
                f"{prefix}audit_scores.png",
                ("Disparity per partitioning against chance", "분할별 격차와 우연 수준"),
            ),
            *(
                (
                    name,
                    (
                        f"Performance per cell: {name[len(prefix) + 10 : -4]}",
                        f"셀별 성능: {name[len(prefix) + 10 : -4]}",
                    ),
                )
                for name in maps
            ),
        ),
    )
    frame = run.read_table(partitions)
    cols = [
        c
        for c in (
            "partition",
            "n_cells",
            "n_used",
            "loss",
            "null_mean",
            "null_q95",
            "excess",
            "p_value",
        )
        if c in frame
    ]
    section.tables.append(
        Table(
            ("Disparity per partitioning", "분할별 격차"),
            _format(
                frame[cols],
                {
                    "n_cells": "int",
                    "n_used": "int",
                    "loss": "f3",
                    "null_mean": "f3",
                    "null_q95": "f3",
                    "excess": "f3",
                    "p_value": "p",
                },
            ),
            partitions,
            (
                "loss: mean |overall − cell| of the metric over the cells used; null: the same "
                "under random permutations of the places; the SPAD score is the sum of the "
                "losses.",
                "loss: 사용된 셀의 |전체 − 셀| 지표 평균; null: 장소를 무작위로 섞었을 때의 값; "
                "SPAD 점수는 loss의 합입니다.",
            ),
        )
    )
    if run.has(cells):
        table = run.read_table(cells)
        used = table[table["status"] == "used"].assign(_s=lambda t: _num(t["shortfall"]))
        worst = used.sort_values(["_s", "partition"], ascending=[False, True]).head(10)
        section.tables.append(
            Table(
                ("Worst-served cells", "성능이 가장 나쁜 셀"),
                _format(
                    worst[["partition", "cell", "n", "performance", "shortfall"]],
                    {"n": "int", "performance": "f3", "shortfall": "f3"},
                ),
                cells,
                (
                    "shortfall: how much worse than overall (positive = worse off).",
                    "shortfall: 전체보다 얼마나 나쁜지(양수 = 불리).",
                ),
            )
        )
    section.methods.append(
        Method(
            ("Spatial fairness (SPAD) audit", "공간 공정성(SPAD) 진단"),
            (
                "The metric is computed in every cell of many partitionings of space (regular "
                "grids up to 5 × 5 and administrative units) and compared with the overall "
                "value; a permutation test asks whether the disparity exceeds what chance "
                "gives.",
                "여러 공간 분할(5 × 5까지의 격자와 행정구역)의 셀마다 지표를 계산해 전체 값과 "
                "비교하고, 순열 검정으로 격차가 우연 이상인지 봅니다.",
            ),
            _recorded(
                run,
                partitions,
                (
                    "target",
                    "prediction",
                    "features",
                    "model",
                    "spatial_scheme",
                    "metric",
                    "partitions",
                    "permutations",
                    "min_cell_size",
                    "seed",
                    "spad",
                    "p_value",
                ),
            ),
            partitions,
            _AUDIT_REFERENCES,
        )
    )
    return section


@register_section("learn_regret", anchors=("regret_results.csv",))
def _regret_section(run: AnalysisRun, prefix: str) -> ReportSection:
    results = f"{prefix}regret_results.csv"
    models = f"{prefix}regret_models.csv"
    section = ReportSection(
        title=("Allocation regret under shift", "분포 이동에 따른 배분 손실"),
        files={results, f"{prefix}regret_sites.csv", f"{prefix}regret_areas.csv"},
    )
    section.files &= set(run.files)
    _figures(
        run,
        section,
        (
            (
                f"{prefix}regret_map.png",
                ("Sites chosen on true and predicted need", "실제·예측 수요로 고른 입지"),
            ),
        ),
    )
    frame = run.read_table(results)
    section.tables.append(
        Table(
            ("True need covered and regret", "실제 수요 포괄량과 손실"),
            _format(
                frame,
                {
                    "sites": "int",
                    "true_need_covered": "int",
                    "true_share_covered": "pct",
                    "regret": "int",
                    "relative_regret": "pct",
                    "expected_need_covered": "int",
                    "sites_shared_with_oracle": "int",
                    "negative_predictions_clipped": "int",
                },
            ),
            results,
            (
                "regret = true need covered by the best sites − true need covered by the sites "
                "chosen with the predicted need.",
                "손실 = 최적 입지가 포괄하는 실제 수요 − 예측 수요로 고른 입지가 포괄하는 "
                "실제 수요.",
            ),
        )
    )
    if run.has(models):
        section.files.add(models)
        section.tables.append(
            Table(
                ("Models in the target region", "대상 지역에서의 모형 성능"),
                _format(
                    run.read_table(models),
                    {
                        "target_rmse": "f3",
                        "target_r2": "f3",
                        "source_rmse": "f3",
                        "worst_group_rmse": "f3",
                        "regret": "int",
                        "relative_regret": "pct",
                        "effective_sample_size": "f1",
                    },
                ),
                models,
            )
        )
    section.methods.append(
        Method(
            ("Allocation regret under shift", "분포 이동에 따른 배분 손실"),
            (
                "Need models are fitted in the source region (naive and shift-robust), need is "
                "predicted in the target region, and facilities are sited with the maximal "
                "covering model on the true and on each predicted need; every choice is scored "
                "on the true need.",
                "원천 지역에서 수요 모형(일반·이동 강건)을 적합해 대상 지역의 수요를 예측하고, "
                "최대 포괄 입지 모형으로 실제 수요와 각 예측 수요에 따라 입지를 고른 뒤 모든 "
                "선택을 실제 수요로 평가합니다.",
            ),
            _recorded(
                run,
                results,
                (
                    "target",
                    "features",
                    "exposure",
                    "group",
                    "methods",
                    "model",
                    "p",
                    "radius",
                    "solver_method",
                    "n_source",
                    "n_target",
                    "seed",
                ),
            ),
            results,
            _REGRET_REFERENCES,
        )
    )
    return section
