"""Report section for regression runs (``dongne explain ols|slx|lag|gm_lag|error|durbin|gwr|mgwr``).

Registered with :func:`~dongne.report.sections.register_section` under
``model_comparison.csv``, which :func:`dongne.explain.workflow.run_explain` always writes; the
section shows the coefficient table (or, for GWR/MGWR, the range of each local coefficient
and where it is significant), the OLS diagnostics, the impacts, the model comparison and the
coefficient and residual maps. Importing this module registers it
(:mod:`dongne.report.document` does so).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dongne.report.run import AnalysisRun
from dongne.report.sections import (
    ReportSection,
    Table,
    _format,
    _num,
    register_section,
)
from dongne.report.sections_spacetime import _figures, _method

_MODELS = {
    "ols": ("OLS with spatial diagnostics", "OLS와 공간 진단"),
    "slx": ("SLX: covariates and their spatial lags", "SLX: 설명변수와 그 공간 시차"),
    "lag": ("Spatial lag model (ML)", "공간 시차 모형 (최우추정)"),
    "gm_lag": ("Spatial lag model (2SLS)", "공간 시차 모형 (2단계 최소제곱)"),
    "error": ("Spatial error model (ML)", "공간 오차 모형 (최우추정)"),
    "durbin": ("Spatial Durbin model (ML)", "공간 더빈 모형 (최우추정)"),
    "gwr": ("Geographically weighted regression (GWR)", "지리가중회귀 (GWR)"),
    "mgwr": ("Multiscale GWR (MGWR)", "다중척도 지리가중회귀 (MGWR)"),
}

_DESCRIPTIONS = {
    "global": (
        "One coefficient per covariate for the whole city; the diagnostics say whether the "
        "residuals are spatially autocorrelated (Moran's I, LM tests) and which spatial model "
        "they point to. Lag and Durbin models split each effect into a direct part (within "
        "the area) and an indirect part (through the neighbours), with simulated standard "
        "errors.",
        "설명변수마다 도시 전체에 하나의 계수를 추정하고, 잔차의 공간 자기상관(모란 I, LM "
        "검정)과 알맞은 공간 모형을 진단합니다. 시차·더빈 모형은 효과를 직접 효과(그 지역 "
        "안)와 간접 효과(이웃을 거쳐)로 나누고 모의실험 표준오차를 붙입니다.",
    ),
    "local": (
        "A coefficient per covariate and area, fitted on the neighbouring areas within a "
        "bandwidth chosen by AICc (MGWR: one bandwidth per covariate, variables standardised). "
        "Local t-tests are corrected for their number (Fotheringham–Byrne); areas where a "
        "coefficient is not significant are grey on its map.",
        "설명변수·지역마다 대역폭(AICc로 선택; MGWR은 설명변수마다, 변수 표준화) 안의 이웃 "
        "지역으로 계수를 추정합니다. 국지 t 검정은 검정 수에 맞게 보정하며"
        "(Fotheringham–Byrne), 유의하지 않은 지역은 계수 지도에서 회색입니다.",
    ),
}

_REFERENCES = {
    "global": (
        "Anselin, L. (1988). Spatial Econometrics: Methods and Models. Kluwer.",
        "LeSage, J. & Pace, R. K. (2009). Introduction to Spatial Econometrics. CRC Press.",
        "Rey, S. J. & Anselin, L. (2007). PySAL: a Python library of spatial analytical "
        "methods (spreg).",
    ),
    "local": (
        "Fotheringham, A. S., Yang, W. & Kang, W. (2017). Multiscale geographically weighted "
        "regression (MGWR). Annals of the AAG 107(6):1247–1265.",
        "Byrne, G., Charlton, M. & Fotheringham, S. (2009). Multiple dependent hypothesis "
        "tests in geographically weighted regression. GeoComputation 2009.",
        "Oshan, T. M., Li, Z., Kang, W., Wolf, L. J. & Fotheringham, A. S. (2019). mgwr: a "
        "Python implementation of multiscale geographically weighted regression. IJGI 8(6):269.",
    ),
}

_STATS = {
    "coefficient": "f4", "std_error": "f4", "t": "f2", "z": "f2", "p_value": "p",
    "statistic": "f3", "df": "int", "log_likelihood": "f2", "aic": "f2", "aicc": "f2",
    "residual_moran_i": "f4", "residual_moran_p": "p", "direct": "f4", "indirect": "f4",
    "total": "f4", "direct_p": "p", "indirect_p": "p", "total_p": "p", "direct_se": "f4",
    "indirect_se": "f4", "total_se": "f4",
}  # fmt: skip


def _local_table(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per local coefficient: its range and the share of areas where it is significant."""
    rows = []
    for name in names:
        values = _num(frame[f"local_{name}"].astype(str))
        significant = frame[f"local_{name}_significant"].astype(str).str.lower() == "true"
        shown = values[significant]
        rows.append({
            "covariate": name,
            "min": values.min(), "median": values.median(), "max": values.max(),
            "significant areas": f"{int(significant.sum()):,} / {len(values):,}",
            "significant > 0": int((shown > 0).sum()), "significant < 0": int((shown < 0).sum()),
        })  # fmt: skip
    out = pd.DataFrame(rows)
    for column in ("min", "median", "max"):
        out[column] = [f"{v:,.4f}" if np.isfinite(v) else "–" for v in out[column]]
    return out.astype(str)


@register_section("explain", anchors=("model_comparison.csv",))
def _explain_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    source = f"{prefix}model_comparison.csv"
    params = run.parameters(source)
    model = str(params.get("model", ""))
    if model not in _MODELS:
        return None  # another command's comparison table
    y = params.get("y", "")
    section = ReportSection(
        (f"Explaining {y}: {_MODELS[model][0]}", f"{y} 설명: {_MODELS[model][1]}"),
        files={source},
    )
    local = model in ("gwr", "mgwr")
    if run.has(f"{prefix}explain.gpkg"):
        section.files.add(f"{prefix}explain.gpkg")
    names = [str(c) for c in ("const", *params.get("x", []))]
    _figures(run, section, prefix, [
        (f"coefficient_{name}.png", (f"Local coefficient of {name} (grey: not significant)",
                                     f"{name}의 국지 계수 (회색: 유의하지 않음)"))
        for name in names
    ] + [("residual_map.png", ("Residuals", "잔차"))])  # fmt: skip
    if local and run.has(f"{prefix}local_coefficients.csv"):
        name = f"{prefix}local_coefficients.csv"
        section.files.add(name)
        frame = run.read_table(name)
        present = [n for n in names if f"local_{n}" in frame and f"local_{n}_significant" in frame]
        section.tables.append(Table(
            ("Local coefficients", "국지 계수"), _local_table(frame, present), name,
            ("significant: |t| above the Fotheringham–Byrne corrected critical value."
             + (" MGWR coefficients are in standard deviations." if model == "mgwr" else ""),
             "유의: |t|가 Fotheringham–Byrne 보정 임계값보다 큼."
             + (" MGWR 계수는 표준편차 단위입니다." if model == "mgwr" else "")),
        ))  # fmt: skip
    for stem, title in (
        ("coefficients.csv", ("Coefficients", "계수")),
        ("diagnostics.csv", ("Diagnostics of the OLS fit", "OLS 진단")),
        ("impacts.csv", ("Direct, indirect and total impacts", "직접·간접·총 효과")),
    ):
        name = f"{prefix}{stem}"
        if run.has(name):
            section.files.add(name)
            section.tables.append(Table(title, _format(run.read_table(name), _STATS), name))
    section.tables.append(Table(
        ("Model comparison", "모형 비교"), _format(run.read_table(source), _STATS), source,
        ("lower AIC is better; a residual Moran's I near 0 means the model took up the spatial "
         "pattern.",
         "AIC가 낮을수록 좋습니다; 잔차 모란 I가 0에 가까우면 모형이 공간 패턴을 설명한 것입니다."),
    ))  # fmt: skip
    kind = "local" if local else "global"
    section.methods.append(
        _method(run, source, _MODELS[model], _DESCRIPTIONS[kind], _REFERENCES[kind])
    )
    return section
