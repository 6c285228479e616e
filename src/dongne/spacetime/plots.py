"""Figures of the space-time results: cluster maps with time spans, sparklines, category
maps and small multiples over time (Korean font, sources and parameters under each figure).

Maps go through :func:`dongne.report.category_map` (legend with counts, grey for areas that
are in no significant cluster or show no pattern); the sparklines and small multiples are
plain matplotlib figures on an Agg canvas (no ``pyplot`` state).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from dongne import __version__
from dongne._fonts import korean_font

__all__ = ["category_figure", "scan_figure", "scan_sparklines", "small_multiples"]

_NOT_SIGNIFICANT = "#d9d9d9"
_CLUSTER_COLOURS = ("#a50f15", "#de2d26", "#fb6a4a", "#d94801", "#fd8d3c", "#fdae6b")
_CATEGORY_COLOURS = {
    "new hot spot": "#67000d", "consecutive hot spot": "#a50f15",
    "intensifying hot spot": "#cb181d", "persistent hot spot": "#ef3b2c",
    "diminishing hot spot": "#fb6a4a", "sporadic hot spot": "#fc9272",
    "oscillating hot spot": "#fcbba1", "historical hot spot": "#fee0d2",
    "new cold spot": "#08306b", "consecutive cold spot": "#08519c",
    "intensifying cold spot": "#2171b5", "persistent cold spot": "#4292c6",
    "diminishing cold spot": "#6baed6", "sporadic cold spot": "#9ecae1",
    "oscillating cold spot": "#c6dbef", "historical cold spot": "#deebf7",
    "no pattern detected": _NOT_SIGNIFICANT,
}  # fmt: skip


def _areas_by_id(areas: Any, ids: pd.Index) -> Any:
    """``areas`` with an index of ids (the index, or the first column holding every id)."""
    if ids.isin(areas.index).all():
        return areas
    for col in areas.columns:
        if col != "geometry" and pd.Index(areas[col]).isin(ids).sum() == len(ids):
            return areas.set_index(col, drop=False)
    return areas


def scan_figure(scan: Any, areas: Any, *, path: Any = None, source: str | None = None):
    """Map of a :class:`~dongne.spacetime.SpaceTimeScan`'s clusters, each labelled with its
    time span; clusters not significant at ``alpha`` are grey. Returns the CategoryMapResult."""
    from dongne.report import category_map

    frame = _areas_by_id(areas, scan.cube_.areas).copy()
    labels = pd.Series("not in a significant cluster", index=frame.index, dtype=object)
    styles: dict[str, Any] = {}
    for _, row in scan.clusters_.iterrows():
        text = f"cluster {row['cluster']}: {row['start']} – {row['end']}"
        if not row["significant"]:
            continue
        colour = _CLUSTER_COLOURS[(row["cluster"] - 1) % len(_CLUSTER_COLOURS)]
        styles[text] = (colour, f"{text} (p = {row['p_value']:.3g})")
        labels[labels.index.isin(row["members"])] = text
    styles["not in a significant cluster"] = (_NOT_SIGNIFICANT, "not significant / 유의하지 않음")
    frame["st_cluster"] = labels.to_numpy()
    note = (
        f"Space-time scan ({scan.model}, {scan.analysis}), ≤ {scan.max_population_share:.0%} "
        f"of cases per circle, ≤ {scan.max_steps_} steps, {scan.replications} replications, "
        f"seed {scan.seed_}; dongne {__version__}"
    ) + (f"\nData: {source}" if source else "")
    return category_map(
        frame, "st_cluster", categories=styles, path=path, note=note,
        title="시공간 스캔 군집 · Space-time scan clusters",
        legend_title=f"Clusters (p ≤ {scan.alpha}) / 군집",
    )  # fmt: skip


def scan_sparklines(scan: Any, path: str | os.PathLike[str] | None = None, *, top: int = 5):
    """Observed and expected cases per step inside each of the ``top`` clusters' areas, the
    cluster's time span shaded; returns the figure (written to ``path`` when given)."""
    from matplotlib.figure import Figure

    from dongne.report.maps import save_png

    rows = scan.clusters_.head(top)
    font = korean_font()
    fig = Figure(figsize=(8.0, 1.4 * max(1, len(rows)) + 0.6))
    axes = fig.subplots(max(1, len(rows)), 1, squeeze=False, sharex=True)[:, 0]
    labels = scan.cube_.step_labels()
    x = np.arange(len(labels))
    for ax, (_, row) in zip(axes, rows.iterrows(), strict=False):
        inside = scan.cube_.areas.isin(row["members"])
        ax.plot(x, scan.cube_.values[inside].sum(axis=0), color="#a50f15", lw=1.2)
        ax.plot(x, scan.expected_[inside].sum(axis=0), color="#636363", lw=1.0, ls="--")
        ax.axvspan(labels.index(row["start"]) - 0.5, labels.index(row["end"]) + 0.5,
                   color="#fcbba1", alpha=0.6)  # fmt: skip
        ax.set_title(f"cluster {row['cluster']} · p = {row['p_value']:.3g}", fontsize=8,
                     loc="left", fontfamily=font)  # fmt: skip
        ax.tick_params(labelsize=7)
    axes[-1].set_xticks(x[:: max(1, len(x) // 8)], [labels[i] for i in x[:: max(1, len(x) // 8)]])
    fig.suptitle("군집 안 사례 (실선) 와 기대값 (점선) · cases vs expected", fontfamily=font,
                 fontsize=9)  # fmt: skip
    fig.tight_layout()
    if path is not None:
        save_png(fig, path)
    return fig


def category_figure(
    result: Any, areas: Any, categories: dict[str, str], *, path: Any = None,
    title: str | None = None, source: str | None = None,
):  # fmt: skip
    """Category map of an :class:`~dongne.spacetime.EmergingHotSpots`; ``categories`` maps
    each of the 17 categories to its Korean name, in legend order."""
    from dongne.report import category_map

    frame = _areas_by_id(areas, result.areas).copy()
    frame["ehsa"] = pd.Series(result.category, index=result.areas).reindex(frame.index).to_numpy()
    styles = {c: (_CATEGORY_COLOURS[c], f"{c} / {ko}") for c, ko in categories.items()}
    p = result.provenance_
    note = (
        f"Gi* with k = {p['k']} earlier steps, {p['permutations']} permutations, "
        f"{p['correction']}, α = {p['alpha']}; Mann–Kendall trend; seed {p['seed']}; "
        f"dongne {__version__}"
    ) + (f"\nData: {source}" if source else "")
    return category_map(
        frame, "ehsa", categories=styles, path=path, note=note,
        title=title or "신흥 핫스팟 · Emerging hot spots", legend_title="Category / 유형",
    )  # fmt: skip


def small_multiples(
    cube: Any, areas: Any, path: str | os.PathLike[str] | None = None, *, max_panels: int = 12,
    title: str | None = None, cmap: str = "YlOrRd",
):  # fmt: skip
    """One small map per step (at most ``max_panels``, evenly spaced), one shared colour
    scale; returns the figure."""
    from matplotlib.figure import Figure

    from dongne.report.maps import save_png

    frame = _areas_by_id(areas, cube.areas)
    frame = frame.loc[frame.index.isin(cube.areas)]
    pick = np.unique(np.linspace(0, cube.shape[1] - 1, min(max_panels, cube.shape[1])).astype(int))
    cols = min(4, len(pick))
    rows = int(np.ceil(len(pick) / cols))
    fig = Figure(figsize=(3.0 * cols, 3.0 * rows + 0.8))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    table = cube.to_frame()
    lo, hi = float(np.nanmin(cube.values)), float(np.nanmax(cube.values))
    labels = cube.step_labels()
    font = korean_font()
    for ax, j in zip(axes, pick, strict=False):
        values = table.iloc[:, j].reindex(frame.index)
        frame.assign(__v=values.to_numpy()).plot(
            column="__v", ax=ax, cmap=cmap, vmin=lo, vmax=hi, edgecolor="white", linewidth=0.1
        )
        ax.set_title(labels[j], fontsize=8, fontfamily=font)
        ax.set_axis_off()
    for ax in axes[len(pick) :]:
        ax.set_axis_off()
    fig.suptitle(title or f"{cube.name} · {labels[0]} – {labels[-1]}", fontfamily=font)
    if path is not None:
        save_png(fig, path)
    return fig
