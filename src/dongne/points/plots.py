"""Figures of the point statistics: cluster maps, function envelopes, density surfaces.

Maps are drawn in the points' metric CRS with the bundled Korean font, a legend, a source
line and (optionally) area outlines; points in no significant cluster are grey.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from dongne._fonts import korean_font
from dongne.report.maps import save_png

if TYPE_CHECKING:
    from dongne.points.dbscan import SignificantDBSCAN
    from dongne.points.distance import FunctionEnvelope
    from dongne.points.kde import DensitySurface

__all__ = ["bar_figure", "cluster_map", "count_grid", "density_map", "envelope_plot"]

_GREY = "#bdbdbd"


def _style():
    return matplotlib.rc_context({"font.family": [korean_font(), "DejaVu Sans"]})


def _finish(fig: Figure, ax: Any, title: str, source: str | None, path: Any) -> Figure:
    ax.set_title(title)
    if source:
        fig.text(0.01, 0.01, f"Source / 자료: {source}", fontsize=7, color="#555555")
    if path is not None:
        save_png(fig, path)
    return fig


def _outlines(ax: Any, areas: gpd.GeoDataFrame | None, crs: Any) -> None:
    if areas is not None:
        areas.to_crs(crs).boundary.plot(ax=ax, color="#777777", linewidth=0.3)
    ax.set_axis_off()
    ax.set_aspect("equal")


def cluster_map(
    fit: SignificantDBSCAN,
    *,
    areas: gpd.GeoDataFrame | None = None,
    path: Any = None,
    title: str = "유의한 밀도 군집 · Significant density clusters",
    source: str | None = None,
    max_legend: int = 12,
) -> Figure:
    """Map the points of a fitted :class:`~dongne.points.SignificantDBSCAN`: each reported
    cluster in its colour with its hull, the other points grey; written to ``path`` (PNG)."""
    pts = fit._pattern.xy
    labels = fit.labels_
    with _style():
        fig = Figure(figsize=(9, 8))
        ax = fig.add_subplot()
        _outlines(ax, areas, fit.clusters_.crs)
        ax.scatter(*pts[labels == 0].T, s=1, color=_GREY, linewidths=0)
        cmap = matplotlib.colormaps["tab20"]
        handles = [
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                color=_GREY,
                label=f"Not significant / 유의하지 않음 ({(labels == 0).sum():,})",
            )
        ]
        for k, row in enumerate(fit.clusters_.itertuples()):
            colour = cmap(k % 20)
            ax.scatter(*pts[labels == row.cluster].T, s=2, color=colour, linewidths=0)
            gpd.GeoSeries([row.geometry]).boundary.plot(ax=ax, color=colour, linewidth=0.8)
            if k < max_legend:
                handles.append(
                    Patch(
                        color=colour, label=f"{row.cluster}: {row.points} pts, p={row.p_value:.3g}"
                    )
                )
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            fontsize=7,
            title="Cluster / 군집",
            title_fontsize=8,
        )
        return _finish(fig, ax, title, source, path)


def envelope_plot(
    env: FunctionEnvelope, *, path: Any = None, title: str | None = None, source: str | None = None
) -> Figure:
    """Plot an observed summary function with its Monte Carlo envelope and the null's mean."""
    with _style():
        fig = Figure(figsize=(7, 5))
        ax = fig.add_subplot()
        r = env.support
        ax.fill_between(
            r,
            env.lower,
            env.upper,
            color="#cccccc",
            label=f"Envelope / 포락선 ({env.replications} sims)",
        )
        ax.plot(r, env.expected, "--", color="#555555", label="Null mean / 귀무 평균")
        ax.plot(r, env.observed, color="#d7301f", label="Observed / 관측")
        ax.set_xlabel("Distance / 거리 r (m)")
        ax.set_ylabel(f"{env.function}(r)")
        ax.legend(fontsize=8)
        ax.set_title(
            title or f"{env.function} function · {env.function} 함수 (p = {env.p_value:.3g})"
        )
        if source:
            fig.text(0.01, 0.01, f"Source / 자료: {source}", fontsize=7, color="#555555")
        if path is not None:
            save_png(fig, path)
        return fig


def density_map(
    surface: DensitySurface,
    *,
    areas: gpd.GeoDataFrame | None = None,
    path: Any = None,
    title: str = "커널 밀도 · Kernel density",
    source: str | None = None,
) -> Figure:
    """Draw a :class:`~dongne.points.DensitySurface`: density in points per km², or the log
    relative risk (red above 0) with the tolerance contour of the significant cells."""
    with _style():
        fig = Figure(figsize=(9, 8))
        ax = fig.add_subplot()
        risk = surface.significant is not None
        scale = 1.0 if risk else 1e6
        grid = np.where(surface.inside, surface.density * scale, np.nan)
        x0, y0 = surface.origin
        ny, nx = grid.shape
        h = surface.cell_size
        extent = (x0, x0 + nx * h, y0, y0 + ny * h)
        bound = np.nanmax(np.abs(grid)) if risk else None
        image = ax.imshow(
            grid,
            origin="lower",
            extent=extent,
            cmap="RdBu_r" if risk else "YlOrRd",
            vmin=-bound if risk else None,
            vmax=bound,
        )
        if risk and surface.significant.any():
            ax.contour(
                surface.significant.astype(float),
                levels=[0.5],
                colors="black",
                linewidths=0.8,
                origin="lower",
                extent=extent,
            )
        _outlines(ax, areas, surface.crs)
        label = (
            "log relative risk / 로그 상대위험 (contour: significant / 등고선: 유의)"
            if risk
            else "points per km² / km²당 점 수"
        )
        fig.colorbar(image, ax=ax, shrink=0.6, label=label)
        ax.text(
            0.99,
            0.01,
            f"bandwidth / 띠폭 {surface.bandwidth:.0f} m ({surface.method})",
            transform=ax.transAxes,
            ha="right",
            fontsize=8,
        )
        return _finish(fig, ax, title, source, path)


def bar_figure(
    labels: list[str], values: list[float], ylabel: str, title: str, path: Any
) -> Figure:
    """A small bar chart (e.g. observed against expected), written to ``path`` if given."""
    with _style():
        fig = Figure(figsize=(5, 4))
        ax = fig.add_subplot()
        ax.bar(labels, values, color=["#d7301f", "#bdbdbd"])
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if path is not None:
            save_png(fig, path)
        return fig


def count_grid(counts: np.ndarray, title: str, path: Any) -> Figure:
    """Counts per quadrat as a grid with the numbers written in, row 0 at the bottom."""
    with _style():
        fig = Figure(figsize=(5, 5))
        ax = fig.add_subplot()
        ax.imshow(counts, origin="lower", cmap="YlOrRd")
        for (row, col), value in np.ndenumerate(counts):
            ax.text(col, row, str(value), ha="center", va="center", fontsize=8)
        ax.set_title(f"Quadrat counts / 방형구 개수\n{title}")
        ax.set_axis_off()
        if path is not None:
            save_png(fig, path)
        return fig
