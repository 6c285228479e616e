"""Plain-language sentences about fitted explain models, in English and Korean.

The lowest module of :mod:`dongne.explain`'s reporting: functions over the attributes of the
results (no import of the result classes), used by their ``summary(lang=)`` methods and by the
workflow's ``summary.txt``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["local_lines", "ols_lines", "p_text", "residual_figure", "spatial_lines"]


def p_text(p: float) -> str:
    """``p < 0.001`` or ``p = 0.012``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def ols_lines(result: Any, label: str) -> tuple[list[str], list[str]]:
    d = result.design
    en = [
        f"{label} explained by {', '.join(d.names[1:])} ({result.provenance_['method']}, "
        f"N = {d.n}, R² = {result.r2_:.3f})."
    ]
    ko = [
        f"{label}을(를) {', '.join(d.names[1:])}(으)로 설명한 회귀 "
        f"(N = {d.n}, R² = {result.r2_:.3f})."
    ]
    for name, b, p in zip(d.names[1:], result.params_[1:], result.pvalues_[1:], strict=True):
        en.append(f"- a 1-unit higher {name} goes with {b:+.3g} in {label} ({p_text(p)}).")
        ko.append(f"- {name}이(가) 1 높으면 {label}이(가) {b:+.3g} 달라집니다 ({p_text(p)}).")
    if result.spatial_:
        s = result.spatial_
        mi = s["Moran's I (residuals)"]
        rl, re = s["robust LM lag"], s["robust LM error"]
        hint = "lag" if rl.p_value < re.p_value else "error"
        en.append(
            f"Residual Moran's I = {mi.statistic:.3f} ({p_text(mi.p_value)}): "
            + (
                "the errors are spatially clustered, so OLS standard errors are too "
                f"optimistic; the robust LM tests point to the spatial {hint} model "
                f"(robust LM lag {p_text(rl.p_value)}, robust LM error {p_text(re.p_value)})."
                if mi.p_value < 0.05
                else "no spatial clustering of the errors is detected."
            )
        )
        ko.append(
            f"잔차의 Moran's I = {mi.statistic:.3f} ({p_text(mi.p_value)}): "
            + (
                f"오차가 공간적으로 군집하여 OLS 표준오차가 과소평가됩니다. 강건 LM 검정은 "
                f"공간{'시차' if hint == 'lag' else '오차'} 모형을 가리킵니다."
                if mi.p_value < 0.05
                else "오차의 공간 군집은 발견되지 않았습니다."
            )
        )
    return en, ko


def spatial_lines(result: Any, label: str) -> tuple[list[str], list[str]]:
    d = result.design
    rho = result.params_[-1]
    p = result.pvalues_[-1]
    if np.isnan(p):  # the Kelejian–Prucha GM estimator gives λ no standard error
        p_en = "no standard error in this estimator; variant='het' or 'hom' gives one"
        p_ko = "이 추정법은 표준오차를 주지 않음; variant='het' 또는 'hom' 사용"
    else:
        p_en = p_ko = p_text(p)
    en = [
        f"{label}: spatial {result.model} model, N = {d.n}, {result.spatial_parameter} = "
        f"{rho:.3f} ({p_en})."
    ]
    ko = [
        f"{label}: 공간 {result.model} 모형, N = {d.n}, "
        f"{result.spatial_parameter} = {rho:.3f} ({p_ko})."
    ]
    if result.impacts_ is not None:
        for name, row in result.impacts_.iterrows():
            tp = f", total {p_text(row['total_p'])}" if "total_p" in row else ""
            en.append(
                f"- a 1-unit higher {name} goes with {row['direct']:+.3g} in {label} "
                f"within the area and {row['indirect']:+.3g} in neighbouring areas "
                f"(total {row['total']:+.3g}{tp})."
            )
            ko.append(
                f"- {name}이(가) 1 높으면 {label}이(가) 해당 지역에서 {row['direct']:+.3g}, "
                f"이웃 지역에서 {row['indirect']:+.3g} (합계 {row['total']:+.3g}) 달라집니다."
            )
    else:
        for name, b, pv in zip(
            result.names[1:-1], result.params_[1:-1], result.pvalues_[1:-1], strict=True
        ):
            en.append(f"- a 1-unit higher {name} goes with {b:+.3g} in {label} ({p_text(pv)}).")
            ko.append(f"- {name}이(가) 1 높으면 {label}이(가) {b:+.3g} 달라집니다 ({p_text(pv)}).")
    return en, ko


def local_lines(result: Any, label: str) -> tuple[list[str], list[str]]:
    d = result.design
    multi = getattr(result, "bandwidths_", np.empty(0)).size > 0
    bws = result.bandwidths_ if multi else np.full(d.k, result.bandwidth_)
    unit = "m" if result.fixed else "neighbours"
    en = [
        f"{label}: {'MGWR (standardised variables)' if multi else 'GWR'}, N = {d.n}, "
        f"{result.kernel} kernel; local tests at α = {result.alpha} with the "
        f"Fotheringham–Byrne correction (non-significant areas are grey on the maps)."
    ]
    ko = [
        f"{label}: {'MGWR (표준화 변수)' if multi else 'GWR'}, N = {d.n}; 국지 검정은 "
        f"Fotheringham–Byrne 보정 (지도의 회색 지역은 유의하지 않음)."
    ]
    for j, name in enumerate(d.names):
        sig = result.significant_[:, j]
        b = result.params_[:, j]
        en.append(
            f"- {name}: bandwidth {bws[j]:g} {unit}; coefficient from {b.min():+.3g} to "
            f"{b.max():+.3g}, significant in {sig.sum()} of {d.n} areas."
        )
        ko.append(
            f"- {name}: 대역폭 {bws[j]:g}; 계수 {b.min():+.3g} ~ {b.max():+.3g}, "
            f"{d.n}개 지역 중 {sig.sum()}곳에서 유의."
        )
    high = int((result.local_condition_ > 30).sum())
    if high:
        en.append(
            f"Local collinearity: the local condition number exceeds 30 in {high} areas; "
            "their local coefficients are unreliable (centring or standardising the "
            "covariates, as MGWR does, or dropping a covariate that is constant within "
            "districts usually lowers it)."
        )
        ko.append(
            f"국지 다중공선성: {high}개 지역에서 국지 조건수가 30을 넘어 "
            "국지 계수를 신뢰하기 어렵습니다 (공변량을 표준화하거나 구 단위로 일정한 "
            "공변량을 빼면 대개 낮아집니다)."
        )
    return en, ko


def residual_figure(fitted: np.ndarray, residuals: np.ndarray, title: str) -> Figure:
    """Residuals against fitted values (no pyplot state): the first look at any regression."""
    figure = Figure(figsize=(6, 4))
    ax = figure.subplots()
    ax.scatter(fitted, residuals, s=8, alpha=0.7)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("fitted · 적합값")
    ax.set_ylabel("residual · 잔차")
    ax.set_title(title)
    return figure
