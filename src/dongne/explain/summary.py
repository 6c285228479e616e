"""Plain-language summaries of the explain models, in English and Korean."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dongne.explain.gwr import GWRResult, MGWRResult
from dongne.explain.ols import OLSResult
from dongne.explain.spatial import SpatialModelResult

__all__ = ["explain_summary"]


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def explain_summary(
    result: object, comparison: pd.DataFrame, label: str, dropped: list[str]
) -> str:
    """English then Korean paragraphs on what the model says, for officials and citizens."""
    ko_label, _, en_label = label.partition(" · ")
    en_label = en_label or ko_label
    make = (
        _local
        if isinstance(result, GWRResult)
        else (_spatial if isinstance(result, SpatialModelResult) else _ols)
    )
    en = make(result, en_label)[0]
    ko = make(result, ko_label)[1]
    best = comparison.dropna(subset=["aic"]).sort_values("aic").head(1)
    if len(best):
        row = best.iloc[0]
        en.append(
            f"Lowest AIC among OLS, lag, error and Durbin: {row['model']} "
            f"(AIC {row['aic']:.1f}; see model_comparison.csv)."
        )
        ko.append(
            f"OLS·공간시차·공간오차·더빈 모형 중 AIC가 가장 낮은 모형: {row['model']} "
            f"(AIC {row['aic']:.1f}, model_comparison.csv 참고)."
        )
    if dropped:
        en.append(f"Left out for missing values ({len(dropped)}): {', '.join(dropped[:10])}.")
        ko.append(f"결측값으로 제외된 지역 ({len(dropped)}): {', '.join(dropped[:10])}.")
    return "\n".join(["[English]", *en, "", "[한국어]", *ko])


def _ols(result: OLSResult, label: str) -> tuple[list[str], list[str]]:
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
        en.append(f"- a 1-unit higher {name} goes with {b:+.3g} in {label} ({_p(p)}).")
        ko.append(f"- {name}이(가) 1 높으면 {label}이(가) {b:+.3g} 달라집니다 ({_p(p)}).")
    if result.spatial_:
        s = result.spatial_
        mi = s["Moran's I (residuals)"]
        rl, re = s["robust LM lag"], s["robust LM error"]
        hint = "lag" if rl.p_value < re.p_value else "error"
        en.append(
            f"Residual Moran's I = {mi.statistic:.3f} ({_p(mi.p_value)}): "
            + (
                "the errors are spatially clustered, so OLS standard errors are too "
                f"optimistic; the robust LM tests point to the spatial {hint} model "
                f"(robust LM lag {_p(rl.p_value)}, robust LM error {_p(re.p_value)})."
                if mi.p_value < 0.05
                else "no spatial clustering of the errors is detected."
            )
        )
        ko.append(
            f"잔차의 Moran's I = {mi.statistic:.3f} ({_p(mi.p_value)}): "
            + (
                f"오차가 공간적으로 군집하여 OLS 표준오차가 과소평가됩니다. 강건 LM 검정은 "
                f"공간{'시차' if hint == 'lag' else '오차'} 모형을 가리킵니다."
                if mi.p_value < 0.05
                else "오차의 공간 군집은 발견되지 않았습니다."
            )
        )
    return en, ko


def _spatial(result: SpatialModelResult, label: str) -> tuple[list[str], list[str]]:
    d = result.design
    rho = result.params_[-1]
    p = result.pvalues_[-1]
    en = [
        f"{label}: spatial {result.model} model, N = {d.n}, {result.spatial_parameter} = "
        f"{rho:.3f} ({_p(p)})."
    ]
    ko = [
        f"{label}: 공간 {result.model} 모형, N = {d.n}, "
        f"{result.spatial_parameter} = {rho:.3f} ({_p(p)})."
    ]
    if result.impacts_ is not None:
        for name, row in result.impacts_.iterrows():
            tp = f", total {_p(row['total_p'])}" if "total_p" in row else ""
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
            en.append(f"- a 1-unit higher {name} goes with {b:+.3g} in {label} ({_p(pv)}).")
            ko.append(f"- {name}이(가) 1 높으면 {label}이(가) {b:+.3g} 달라집니다 ({_p(pv)}).")
    return en, ko


def _local(result: GWRResult, label: str) -> tuple[list[str], list[str]]:
    d = result.design
    multi = isinstance(result, MGWRResult)
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
            "their local coefficients are unreliable."
        )
        ko.append(
            f"국지 다중공선성: {high}개 지역에서 국지 조건수가 30을 넘어 "
            "국지 계수를 신뢰하기 어렵습니다."
        )
    return en, ko
