"""Report sections for policy-evaluation runs (``dongne evaluate``, the demo's example).

Registered with :func:`~dongne.report.sections.register_section` under the files that
:mod:`dongne.evaluate.workflow` writes: ``did_effects.csv`` / ``did_bacon.csv``
(difference-in-differences), ``scm_path.csv`` (synthetic control) and ``its_effects.csv``
(interrupted time series). Each section shows the figures, the effect tables with their
intervals, and the method with its recorded parameters and references; the plain-language
summary (``summary.txt``) appears under Findings. Importing this module registers the sections
(:mod:`dongne.report.document` does so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

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

_MAX_ROWS = 40

_CS = (
    "Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time "
    "periods. Journal of Econometrics 225(2):200–230."
)
_SZ = (
    "Sant'Anna, P. H. C. & Zhao, J. (2020). Doubly robust difference-in-differences "
    "estimators. Journal of Econometrics 219(1):101–122."
)
_MAMMEN = (
    "Mammen, E. (1993). Bootstrap and wild bootstrap for high dimensional linear models. "
    "Annals of Statistics 21(1):255–285."
)
_AP = "Angrist, J. D. & Pischke, J.-S. (2009). Mostly Harmless Econometrics, ch. 5. Princeton."
_CGM = (
    "Cameron, A. C., Gelbach, J. B. & Miller, D. L. (2008). Bootstrap-based improvements for "
    "inference with clustered errors. Review of Economics and Statistics 90(3):414–427."
)
_RMNW = (
    "Roodman, D., MacKinnon, J. G., Nielsen, M. Ø. & Webb, M. D. (2019). Fast and wild: "
    "bootstrap inference in Stata using boottest. The Stata Journal 19(1):4–60."
)
_WEBB = (
    "Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors. "
    "Canadian Journal of Economics 56(3):839–858."
)
_BACON = (
    "Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing. "
    "Journal of Econometrics 225(2):254–277."
)
_SPILLOVER = (
    "Butts, K. (2021). Difference-in-differences estimation with spatial spillovers. "
    "arXiv:2105.03737.",
    "Clarke, D. (2017). Estimating difference-in-differences in the presence of spillovers. "
    "MPRA Paper 81604.",
)
_SCM = (
    "Abadie, A. & Gardeazabal, J. (2003). The economic costs of conflict: a case study of the "
    "Basque Country. American Economic Review 93(1):113–132.",
    "Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control methods for "
    "comparative case studies. JASA 105(490):493–505.",
    "Abadie, A., Diamond, A. & Hainmueller, J. (2015). Comparative politics and the synthetic "
    "control method. American Journal of Political Science 59(2):495–510.",
)
_ITS = (
    "Lopez Bernal, J., Cummins, S. & Gasparrini, A. (2017). Interrupted time series regression "
    "for the evaluation of public health interventions: a tutorial. International Journal of "
    "Epidemiology 46(1):348–355.",
    "Wagner, A. K., Soumerai, S. B., Zhang, F. & Ross-Degnan, D. (2002). Segmented regression "
    "analysis of interrupted time series studies in medication use research. Journal of "
    "Clinical Pharmacy and Therapeutics 27(4):299–309.",
)
_NEWEY_WEST = (
    "Newey, W. K. & West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity "
    "and autocorrelation consistent covariance matrix. Econometrica 55(3):703–708.",
    "Newey, W. K. & West, K. D. (1994). Automatic lag selection in covariance matrix "
    "estimation. Review of Economic Studies 61(4):631–653.",
)

_ESTIMATE_SPECS = {
    "estimate": "f4",
    "se": "f4",
    "std_error": "f4",
    "ci_low": "f4",
    "ci_high": "f4",
    "band_low": "f4",
    "band_high": "f4",
    "p_value": "p",
    "wild_p_value": "p",
    "wild_ci_low": "f4",
    "wild_ci_high": "f4",
    "n_units": "int",
    "n_treated": "int",
    "n_clusters": "int",
}


def _columns(frame: pd.DataFrame, wanted: Iterable[str]) -> list[str]:
    return [c for c in wanted if c in frame.columns]


def _head(frame: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, str] | None]:
    if len(frame) <= _MAX_ROWS:
        return frame, None
    return frame.head(_MAX_ROWS), (
        f"First {_MAX_ROWS} of {len(frame)} rows; all rows are in the file.",
        f"{len(frame)}행 중 처음 {_MAX_ROWS}행; 전체는 파일에 있습니다.",
    )


def _g(value: Any) -> str:
    return "–" if value is None else f"{float(value):.4g}"


def _recorded(params: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: params[k] for k in keys if params.get(k) not in (None, [], {}, "")}


def _add_figures(
    run: AnalysisRun, prefix: str, section: ReportSection, figures: Iterable[tuple[str, Any]]
) -> None:
    for name, caption in figures:
        if run.has(prefix + name):
            section.figures.append(Figure(prefix + name, caption))
            section.files.add(prefix + name)


def _add_table(
    run: AnalysisRun,
    section: ReportSection,
    name: str,
    title: tuple[str, str],
    columns: Iterable[str],
    specs: Mapping[str, str],
    note: tuple[str, str] | None = None,
    rows: Any = None,
) -> None:
    if not run.has(name):
        return
    section.files.add(name)
    frame = run.read_table(name)
    if rows is not None:
        frame = rows(frame)
    shown, cut = _head(frame[_columns(frame, columns)])
    if cut is not None:
        note = (f"{note[0]} {cut[0]}", f"{note[1]} {cut[1]}") if note else cut
    section.tables.append(Table(title, _format(shown, specs), name, note))


# ----------------------------------------------------------------------------------- DiD
_DID_TITLES = {
    "cs": ("Callaway & Sant'Anna ATT(g,t)", "Callaway–Sant'Anna ATT(g,t)"),
    "twfe": ("Two-way fixed effects DiD", "이원 고정효과 이중차분"),
    "2x2": ("2×2 difference-in-differences", "2×2 이중차분"),
    "bacon": ("Goodman-Bacon decomposition of TWFE", "TWFE의 Goodman-Bacon 분해"),
}
_DID_DESCRIPTIONS = {
    "cs": (
        "One clean comparison per adoption cohort and period: the change in the cohort's outcome "
        "since its last untreated period minus the change in never- (or not-yet-) treated "
        "areas; cells are averaged by cohort size into overall, cohort, event-time and "
        "calendar effects. Pre-treatment cells test parallel trends.",
        "처치 시점 집단과 시점마다 하나씩 깨끗한 비교를 합니다: 집단의 마지막 비처치 시점 "
        "이후 결과 변화에서 비처치(또는 아직 처치되지 않은) 지역의 변화를 뺍니다. 이를 집단 "
        "크기로 가중평균해 전체·집단별·경과시간별·달력시점별 효과를 냅니다. 처치 이전 값으로 "
        "평행추세를 검정합니다.",
    ),
    "twfe": (
        "Regression of the outcome on area and period fixed effects and the treatment "
        "indicator, with standard errors clustered at the level the policy was assigned; with "
        "few clusters the wild cluster bootstrap gives the p-value and interval.",
        "지역·시점 고정효과와 처치 변수에 대한 회귀입니다. 표준오차는 정책이 배정된 수준에서 "
        "군집화하며, 군집이 적으면 와일드 클러스터 부트스트랩으로 p값과 구간을 구합니다.",
    ),
    "2x2": (
        "The change in treated areas from before to after the start minus the change in "
        "comparison areas, with standard errors clustered at the level the policy was assigned "
        "and, with few clusters, a wild cluster bootstrap p-value and interval.",
        "처치 지역의 시행 전후 변화에서 비교 지역의 변화를 뺍니다. 표준오차는 정책 배정 수준에서 "
        "군집화하고, 군집이 적으면 와일드 클러스터 부트스트랩 p값과 구간을 씁니다.",
    ),
    "bacon": (
        "The TWFE estimate is an exact weighted average of all 2×2 comparisons between timing "
        "groups; comparisons that use already-treated areas as controls can bias it when "
        "effects change over time.",
        "TWFE 추정치는 처치 시점 집단 사이의 모든 2×2 비교의 가중평균과 정확히 같습니다. 이미 "
        "처치된 지역을 비교집단으로 쓰는 비교는 효과가 시간에 따라 변하면 TWFE를 편향시킵니다.",
    ),
}
_DID_KEYS = (
    "estimator",
    "outcome",
    "unit",
    "time",
    "treatment",
    "covariates",
    "control",
    "method",
    "cluster",
    "bootstrap",
    "bootstrap_weights",
    "multiplier",
    "seed",
    "alpha",
    "spillover",
    "excluded_units",
    "pretest",
    "twfe",
    "cs_simple_att",
    "command",
)


def _did_references(estimator: str, params: Mapping[str, Any]) -> tuple[str, ...]:
    if estimator == "cs":
        refs: tuple[str, ...] = (_CS,)
        refs += (_SZ,) if params.get("method") == "dr" and params.get("covariates") else ()
        refs += (_MAMMEN,) if params.get("bootstrap") else ()
    elif estimator == "bacon":
        refs = (_BACON, _CS)
    else:
        refs = (_AP,)
        if params.get("bootstrap"):
            refs += (_CGM, _RMNW) + ((_WEBB,) if params.get("bootstrap_weights") == "webb" else ())
    if params.get("spillover"):
        refs += _SPILLOVER
    return refs


@register_section("evaluate_did", anchors=("did_effects.csv", "did_bacon.csv"))
def _did_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    """The report section of a difference-in-differences run folder (``did_*`` files), if any.

    It is long because it lays out the page in reading order (figures, effects, design,
    notes), one block per element; splitting it would scatter one page over several functions.
    """
    main = next(
        (prefix + n for n in ("did_effects.csv", "did_bacon.csv") if run.has(prefix + n)), None
    )
    if main is None:
        return None
    params = run.parameters(main)
    estimator = str(params.get("estimator", ""))
    section = ReportSection(
        title=("Did the policy work? Difference-in-differences", "정책 효과: 이중차분")
    )
    _add_figures(
        run,
        prefix,
        section,
        (
            (
                "did_design_map.png",
                (
                    "Evaluation design: treated, exposed and comparison areas",
                    "평가 설계: 처치·노출·비교 지역",
                ),
            ),
            (
                "did_event_study.png",
                (
                    "Event study: effect by periods since treatment (pre-treatment in red), "
                    "pointwise intervals and uniform band",
                    "사건연구: 처치 후 경과 시점별 효과(처치 이전은 빨간색), "
                    "개별 구간과 동시 신뢰띠",
                ),
            ),
            (
                "did_effects.png",
                (
                    "Effect with cluster-robust and wild-bootstrap intervals",
                    "클러스터 강건 구간과 와일드 부트스트랩 구간",
                ),
            ),
            (
                "did_bacon.png",
                ("Weight and estimate of each 2×2 comparison", "2×2 비교별 가중치와 추정치"),
            ),
        ),
    )
    level = round(100 * (1 - float(params.get("alpha", 0.05))))
    _add_table(
        run,
        section,
        prefix + "did_effects.csv",
        ("Estimated effects", "추정 효과"),
        (
            "effect_on",
            "aggregation",
            "level",
            "method",
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "band_low",
            "band_high",
            "p_value",
            "wild_p_value",
            "wild_ci_low",
            "wild_ci_high",
            "n_treated",
            "n_units",
            "n_clusters",
        ),
        _ESTIMATE_SPECS,
        (
            f"ci: {level}% pointwise interval; band: {level}% uniform band over the rows of one "
            "aggregation; wild: wild cluster bootstrap (restricted) p-value and interval; "
            "'exposed (spillover)': untreated neighbours of treated areas against clean "
            "comparison areas.",
            f"ci: {level}% 개별 구간; band: 한 집계 안의 모든 행에 대한 {level}% 동시 "
            "신뢰띠; wild: 와일드 클러스터 부트스트랩 p값과 구간; 'exposed (spillover)': 처치 "
            "지역의 비처치 이웃을 깨끗한 비교 지역과 비교한 효과.",
        ),
    )
    _add_table(
        run,
        section,
        prefix + "did_att_gt.csv",
        ("Group-time effects ATT(g,t)", "집단-시점 효과 ATT(g,t)"),
        ("group", "time", "att", "se", "ci_low", "ci_high", "n_treated", "n_control"),
        {
            "group": "int",
            "time": "int",
            "att": "f4",
            "se": "f4",
            "ci_low": "f4",
            "ci_high": "f4",
            "n_treated": "int",
            "n_control": "int",
        },
        (
            "group: first treated period of the cohort; rows with time < group are "
            "pre-treatment (placebo) cells.",
            "group: 집단의 처치 시작 시점; time < group인 행은 처치 이전(위약) 값입니다.",
        ),
    )
    _add_table(
        run,
        section,
        prefix + "did_bacon_by_type.csv",
        ("TWFE as a weighted average of 2×2 comparisons", "2×2 비교의 가중평균으로 본 TWFE"),
        ("type", "weight", "estimate", "comparisons"),
        {"weight": "f4", "estimate": "f4", "comparisons": "int"},
    )
    _add_table(
        run,
        section,
        prefix + "did_covariates.csv",
        ("Covariates", "공변량"),
        ("covariate", "coefficient", "se"),
        {"coefficient": "f4", "se": "f4"},
    )
    if run.has(prefix + "did_bacon.csv"):
        section.files.add(prefix + "did_bacon.csv")
    units = prefix + "did_units.csv"
    if run.has(units):
        section.files.add(units)
        roles = run.read_table(units)
        counts = (
            roles.groupby(["role", "note"], sort=False)
            .size()
            .rename("areas")
            .reset_index()[["role", "areas", "note"]]
        )
        section.tables.append(
            Table(
                ("Areas by role", "역할별 지역 수"),
                counts.astype(str),
                units,
                (
                    "The role of every area is listed in the file.",
                    "지역별 역할은 파일에 있습니다.",
                ),
            )
        )
    if run.has(prefix + "did_panel.csv"):
        section.files.add(prefix + "did_panel.csv")
    refs = _did_references(estimator, params)
    section.methods.append(
        Method(
            _DID_TITLES.get(estimator, ("Difference-in-differences", "이중차분")),
            _DID_DESCRIPTIONS.get(estimator, _DID_DESCRIPTIONS["2x2"]),
            _recorded(params, _DID_KEYS),
            main,
            refs,
        )
    )
    return section


# ----------------------------------------------------------------------------------- SCM
@register_section("evaluate_scm", anchors=("scm_path.csv",))
def _scm_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    """The report section of a synthetic-control run folder (``scm_*`` files).

    It is long because it lays out the page in reading order (figures, weights, fit, placebos,
    leave-one-out), one block per element; splitting it would scatter one page over several
    functions.
    """
    path_file = prefix + "scm_path.csv"
    params = run.parameters(path_file)
    treated = str(params.get("treated", ""))
    section = ReportSection(
        title=(f"Synthetic control: {treated}", f"합성 대조군: {treated}"), files={path_file}
    )
    _add_figures(
        run,
        prefix,
        section,
        (
            (
                "scm_path.png",
                (f"{treated} and its synthetic control", f"{treated}와(과) 합성 대조군"),
            ),
            (
                "scm_placebos.png",
                (
                    "In-space placebos: gap of the treated unit (black) and of every donor "
                    "treated as if it had the policy (grey)",
                    "공간 위약 검정: 처치 단위(검정)와 정책을 받은 것처럼 다룬 "
                    "후보 단위(회색)의 격차",
                ),
            ),
            (
                "scm_leave_one_out.png",
                ("Leave-one-donor-out refits", "후보 하나씩 제외한 재적합"),
            ),
        ),
    )
    facts = [
        ("treated", treated),
        ("treatment start", str(params.get("treatment_start", ""))),
        ("donors", str(len(params.get("donors", []) or []))),
        ("pre-period RMSPE", _g(params.get("pre_rmspe"))),
        ("post-period RMSPE", _g(params.get("post_rmspe"))),
        ("average post-period gap", _g(params.get("average_post_gap"))),
    ]
    if params.get("placebo_p_value") is not None:
        facts += [
            ("placebo p-value", _g(params["placebo_p_value"])),
            (
                "placebo rank / units kept",
                f"{int(params['placebo_rank'])} / {params['placebos_kept']}",
            ),
        ]
    frame = pd.DataFrame(facts, columns=["quantity", "value"])
    section.tables.append(
        Table(
            ("Fit and effect", "적합도와 효과"),
            frame,
            path_file,
            (
                "gap = actual − synthetic; p-value = rank of the treated unit's post/pre RMSPE "
                "ratio among the units kept / their number.",
                "격차 = 실제 − 합성; p값 = 사후/사전 RMSPE 비율의 처치 단위 순위 / 남은 단위 수.",
            ),
        )
    )
    _add_table(
        run,
        section,
        prefix + "scm_weights.csv",
        ("Donor weights", "후보 단위 가중치"),
        ("donor", "weight"),
        {"weight": "f4"},
        ("Donors with weight ≥ 0.001.", "가중치 0.001 이상인 후보."),
        rows=lambda f: f[_num(f["weight"]) >= 0.001],
    )
    _add_table(
        run,
        section,
        path_file,
        ("Treated and synthetic outcome after the start", "시행 이후 실제값과 합성값"),
        (str(c) for c in [*run.columns(path_file)[:1], "treated", "synthetic", "gap"]),
        {"treated": "f2", "synthetic": "f2", "gap": "f2"},
        rows=lambda f: f[f["post"].str.lower() == "true"],
    )
    _add_table(
        run,
        section,
        prefix + "scm_placebos.csv",
        (
            "Placebo ranking (largest post/pre RMSPE ratio first)",
            "위약 검정 순위 (사후/사전 RMSPE 비율 순)",
        ),
        ("rank", "unit", "pre_rmspe", "post_rmspe", "ratio", "kept"),
        {"rank": "int", "pre_rmspe": "f2", "post_rmspe": "f2", "ratio": "f2"},
        rows=lambda f: f.assign(_rank=_num(f["rank"])).sort_values("_rank").head(10),
    )
    if run.has(prefix + "scm_placebo_gaps.csv"):
        section.files.add(prefix + "scm_placebo_gaps.csv")
    loo = prefix + "scm_leave_one_out.csv"
    _add_table(
        run,
        section,
        loo,
        ("Leave-one-donor-out range of the gap", "후보 제외 시 격차 범위"),
        (str(c) for c in [*run.columns(loo)[:1], "gap", "loo_min", "loo_max"]),
        {"gap": "f2", "loo_min": "f2", "loo_max": "f2"},
    )
    _add_table(
        run,
        section,
        prefix + "scm_balance.csv",
        ("Predictor balance", "예측변수 균형"),
        ("predictor", "treated", "synthetic", "donor_mean", "v"),
        {"treated": "f2", "synthetic": "f2", "donor_mean": "f2", "v": "f4"},
    )
    pre = params.get("pre_period") or []
    recorded = _recorded(
        params, ("treated", "treatment_start", "excluded", "v_method", "n_starts", "seed")
    ) | {
        "donors": len(params.get("donors", []) or []),
        "predictors": len(params.get("predictors", []) or []),
    }
    if pre:
        recorded["pre_period"] = f"{pre[0]}–{pre[-1]} ({len(pre)} periods)"
    recorded |= _recorded(params, ("placebo_p_value", "max_pre_mspe_ratio", "command"))
    section.methods.append(
        Method(
            ("Synthetic control (Abadie, Diamond & Hainmueller)", "합성 대조군 (Abadie 외)"),
            (
                "Donor weights (non-negative, summing to one) make a weighted mix of untreated "
                "units whose predictors match the treated unit's, with predictor importances "
                "chosen to fit its pre-policy outcome path; the gap after the start estimates "
                "the effect. In-space placebos and leave-one-donor-out refits check it.",
                "음이 아니고 합이 1인 가중치로 비처치 단위를 섞어 처치 단위의 예측변수와 맞추고, "
                "예측변수 중요도는 정책 이전 결과 경로에 가장 잘 맞도록 고릅니다. 시행 이후의 "
                "격차가 효과의 추정치이며, 공간 위약 검정과 후보 제외 재적합으로 확인합니다.",
            ),
            recorded,
            path_file,
            _SCM,
        )
    )
    return section


# ----------------------------------------------------------------------------------- ITS
@register_section("evaluate_its", anchors=("its_effects.csv",))
def _its_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    effects = prefix + "its_effects.csv"
    params = run.parameters(effects)
    section = ReportSection(title=("Interrupted time series", "단절 시계열"), files={effects})
    _add_figures(
        run,
        prefix,
        section,
        (
            (
                "its_series.png",
                (
                    "Observed series, fitted model and the counterfactual without the policy",
                    "관측값, 적합 모형, 정책이 없었을 때의 반사실",
                ),
            ),
        ),
    )
    _add_table(
        run,
        section,
        effects,
        ("Policy effects", "정책 효과"),
        ("effect", "estimate", "std_error", "ci_low", "ci_high", "p_value"),
        _ESTIMATE_SPECS,
        (
            "Level: change at the start; slope: change per period afterwards; for count models "
            "also as rate ratios; relative effect as a fraction (−0.07 = −7%).",
            "수준: 시행 시점의 변화; 기울기: 이후 시점당 변화; 계수 모형은 발생률비로도 표시; "
            "상대 효과는 비율(−0.07 = −7%).",
        ),
    )
    _add_table(
        run,
        section,
        prefix + "its_coefficients.csv",
        ("Model coefficients", "모형 계수"),
        ("term", "estimate", "std_error", "ci_low", "ci_high", "p_value"),
        _ESTIMATE_SPECS,
    )
    if run.has(prefix + "its_series.csv"):
        section.files.add(prefix + "its_series.csv")
    refs = _ITS + (_NEWEY_WEST if params.get("cov") == "hac" else ())
    section.methods.append(
        Method(
            ("Segmented regression", "분절 회귀"),
            (
                "The outcome is modelled as a trend before the policy and a change in level and "
                "in slope from its start (log-linear with a population offset for counts); the "
                "counterfactual continues the pre-policy trend.",
                "결과를 정책 이전 추세와 시행 시점부터의 수준·기울기 변화로 모형화합니다(계수 "
                "자료는 인구 오프셋이 있는 로그선형 모형). 반사실은 정책 이전 추세의 연장입니다.",
            ),
            _recorded(
                params,
                (
                    "outcome",
                    "time",
                    "start",
                    "family",
                    "offset",
                    "seasonality",
                    "period",
                    "harmonics",
                    "covariates",
                    "group",
                    "treated_group",
                    "cov",
                    "hac_lags",
                    "alpha",
                    "n_periods",
                    "command",
                ),
            ),
            effects,
            refs,
        )
    )
    return section
