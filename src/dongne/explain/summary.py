"""Plain-language summaries of the explain models, in English and Korean."""

from __future__ import annotations

import pandas as pd

from dongne.explain._text import local_lines, ols_lines, spatial_lines
from dongne.explain.local import GWRResult
from dongne.explain.spatial import SpatialModelResult

__all__ = ["explain_summary"]


def explain_summary(
    result: object, comparison: pd.DataFrame, label: str, dropped: list[str]
) -> str:
    """English then Korean paragraphs on what the model says, for officials and citizens."""
    ko_label, _, en_label = label.partition(" · ")
    en_label = en_label or ko_label
    make = (
        local_lines
        if isinstance(result, GWRResult)
        else (spatial_lines if isinstance(result, SpatialModelResult) else ols_lines)
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
