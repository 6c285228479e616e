"""Figures of the regions package: typology profiles as z-score bar charts."""

from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from dongne._fonts import korean_font
from dongne.io.atomic import atomic_path

__all__ = ["profile_chart"]


def profile_chart(
    profiles: pd.DataFrame,
    names: dict[Any, tuple[str, str]],
    *,
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """One horizontal bar chart per type: the mean z-score of each indicator (0 = the city
    average; bars right of it are above average). Returns the figure; writes a PNG to
    ``path`` atomically when given."""
    values = profiles.drop(columns=["areas"], errors="ignore")
    k = len(values)
    with matplotlib.rc_context({"font.family": [korean_font(), "DejaVu Sans"]}):
        fig, axes = plt.subplots(1, k, figsize=(3.2 * k + 1.5, 0.45 * values.shape[1] + 2.2),
                                 sharey=True, squeeze=False)  # fmt: skip
        limit = max(1.0, float(values.abs().to_numpy().max()) * 1.1)
        for ax, (t, row) in zip(axes[0], values.iterrows(), strict=True):
            colours = ["#b2182b" if v > 0 else "#2166ac" for v in row]
            ax.barh(list(map(str, row.index)), row.to_numpy(), color=colours)
            ax.axvline(0, color="#444444", lw=0.8)
            ax.set_xlim(-limit, limit)
            n = int(profiles.loc[t, "areas"]) if "areas" in profiles else None
            ax.set_title(f"유형 {t} · type {t}" + (f" ({n})" if n else "") + "\n"
                         + names[t][1] + "\n" + names[t][0], fontsize=8)  # fmt: skip
            ax.set_xlabel("z (평균 대비 · vs city mean)", fontsize=8)
            ax.tick_params(labelsize=8)
            ax.invert_yaxis()
        fig.suptitle("동네 유형 프로필 · Neighbourhood type profiles", fontsize=11)
        fig.tight_layout()
        if path is not None:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, dpi=130, format="png")
    return fig
