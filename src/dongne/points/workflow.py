"""Run folders of the point statistics: maps, tables and Korean/English summaries.

:func:`run_dbscan`, :func:`run_ripley` and :func:`run_kde` take a point layer (and the study
area), fit, and write into ``out`` atomically, each file with its ``.provenance.json``;
``dongne points`` calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne._vocab import pick_language
from dongne.io.atomic import atomic_write_text
from dongne.io.write import write_layer, write_provenance, write_table
from dongne.points.centrography import standard_ellipse
from dongne.points.dbscan import SignificantDBSCAN
from dongne.points.distance import envelope, nearest_neighbour_index
from dongne.points.kde import kernel_density, relative_risk
from dongne.points.pattern import PointPattern, point_pattern
from dongne.points.quadrat import quadrat_test

__all__ = ["PointsRun", "run_dbscan", "run_kde", "run_ripley"]


@dataclass(frozen=True)
class PointsRun:
    """What a run wrote: its summary (English and Korean) and the files, by label."""

    summary: str
    files: dict[str, Path]
    result: Any


def _selection_text(pattern: PointPattern) -> tuple[str, str]:
    sel = pattern.points.attrs.get("dongne", {}).get("selection", {})
    return sel.get("text", ""), sel.get("text_ko", "")


def _write_summary(out: Path, en: str, ko: str, pattern: PointPattern) -> Path:
    sel_en, sel_ko = _selection_text(pattern)
    text = pick_language(
        "both", "\n".join(filter(None, [sel_en, en])), "\n".join(filter(None, [sel_ko, ko]))
    )
    return atomic_write_text(out / "summary.txt", text + "\n")


def _pattern(
    points: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame | None,
    background: gpd.GeoDataFrame | None,
    population: str | None,
    cell_size: float | None,
    outside: str,
) -> PointPattern:
    return point_pattern(
        points,
        areas,
        background=background,
        population=population,
        cell_size=cell_size,
        outside=outside,
    )


def run_dbscan(
    points: gpd.GeoDataFrame,
    out: str | Path,
    *,
    areas: gpd.GeoDataFrame | None = None,
    id_column: str | None = None,
    name_column: str | None = None,
    background: gpd.GeoDataFrame | None = None,
    population: str | None = None,
    eps: Sequence[float] | None = None,
    min_pts: int = 10,
    alpha: float = 0.05,
    prefer: str = "largest",
    replications: int = 999,
    rng: int | None = 0,
    scheduler: Any = None,
    cell_size: float | None = None,
    outside: str = "drop",
    progress: Callable[[int, int], None] | None = None,
    label: str | None = None,
    source: str | None = None,
) -> PointsRun:
    """Significant DBSCAN+ on ``points``; writes the cluster map, clusters (GeoPackage and
    CSV), every point's cluster, the areas each cluster touches and summary.txt."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pattern = _pattern(points, areas, background, population, cell_size, outside)
    fit = SignificantDBSCAN(
        eps,
        min_pts,
        alpha=alpha,
        prefer=prefer,
        replications=replications,
        rng=rng,
        scheduler=scheduler,
    ).fit(pattern, progress=progress)
    params = dict(fit.provenance_)
    files = {
        "map": out / "clusters_map.png",
        "clusters": write_layer(fit.clusters_, out / "clusters.gpkg", **params),
        "table": write_table(fit.clusters_, out / "clusters.csv", **params),
    }
    title = "유의한 밀도 군집 · Significant density clusters"
    fit.plot(
        areas=areas, path=files["map"], title=f"{title}\n{label}" if label else title, source=source
    )
    write_provenance(files["map"], pattern.points, **params)
    labelled = pattern.points.to_crs(4326)
    labelled = pd.DataFrame(
        {
            "row": np.arange(1, pattern.n + 1),
            "x": labelled.geometry.x,
            "y": labelled.geometry.y,
            "cluster": fit.labels_,
        }
    )
    labelled.attrs = pattern.points.attrs
    files["points"] = write_table(labelled, out / "points_clusters.csv", **params)
    en, ko = fit.summary("en"), fit.summary("ko")
    if areas is not None and id_column is not None and len(fit.clusters_):
        touched = fit.in_areas(areas, id_column, name_column)
        files["areas"] = write_table(touched, out / "cluster_areas.csv", **params)
        names = touched.groupby("cluster").head(3)
        shown = name_column or id_column
        lines = names.groupby("cluster")[shown].apply(lambda s: ", ".join(map(str, s)))
        en += "\n" + "\n".join(f"  cluster {c} lies mostly in {v}" for c, v in lines.items())
        ko += "\n" + "\n".join(f"  군집 {c}의 주요 지역: {v}" for c, v in lines.items())
    files["summary"] = _write_summary(out, en, ko, pattern)
    return PointsRun(pick_language("both", en, ko), files, fit)


def run_ripley(
    points: gpd.GeoDataFrame,
    out: str | Path,
    *,
    areas: gpd.GeoDataFrame | None = None,
    functions: Sequence[str] = ("L", "G"),
    other: gpd.GeoDataFrame | None = None,
    background: gpd.GeoDataFrame | None = None,
    population: str | None = None,
    edge_correction: str = "border",
    replications: int = 99,
    rng: int | None = 0,
    quadrats: int = 5,
    cell_size: float | None = None,
    outside: str = "drop",
    progress: Callable[[int, int], None] | None = None,
    source: str | None = None,
) -> PointsRun:
    """Nearest-neighbour index, quadrat test, standard ellipse and the Monte Carlo envelopes
    of ``functions`` (K, L, G, F, J, cross-K with ``other``); plots, CSV and summary.txt."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pattern = _pattern(points, areas, background, population, cell_size, outside)
    xy = pattern.xy
    nni = nearest_neighbour_index(xy, pattern.area)
    quad = quadrat_test(xy, quadrats, quadrats)
    ellipse = standard_ellipse(xy)
    ell = gpd.GeoDataFrame(
        {"major_m": [ellipse.major], "minor_m": [ellipse.minor], "angle_rad": [ellipse.angle]},
        geometry=[ellipse.polygon()],
        crs=pattern.crs,
    )
    ell.attrs = pattern.points.attrs
    files = {"ellipse": write_layer(ell, out / "ellipse.gpkg", method="CrimeStat SDE")}
    en, ko = [nni.summary("en"), quad.summary("en")], [nni.summary("ko"), quad.summary("ko")]
    second = None
    if other is not None:
        second = _pattern(other, areas, None, None, cell_size, outside)
    for name in functions:
        subject, fixed = (second, pattern) if name == "cross-K" else (pattern, None)
        env = envelope(
            subject,
            name,
            other=fixed,
            edge_correction=edge_correction,
            replications=replications,
            rng=rng,
            progress=progress,
        )
        stem = name.replace("-", "_").lower()
        files[f"{stem} plot"] = out / f"{stem}_envelope.png"
        env.plot(path=files[f"{stem} plot"], source=source)
        write_provenance(files[f"{stem} plot"], pattern.points, **env.provenance_)
        table = env.to_frame()
        table.attrs = pattern.points.attrs
        files[f"{stem} table"] = write_table(table, out / f"{stem}_envelope.csv", **env.provenance_)
        en.append(env.summary("en"))
        ko.append(env.summary("ko"))
    files["summary"] = _write_summary(out, "\n".join(en), "\n".join(ko), pattern)
    return PointsRun(pick_language("both", "\n".join(en), "\n".join(ko)), files, nni)


def run_kde(
    points: gpd.GeoDataFrame,
    out: str | Path,
    *,
    areas: gpd.GeoDataFrame | None = None,
    bandwidth: str | float = "scott",
    weights: str | None = None,
    controls: gpd.GeoDataFrame | None = None,
    alpha: float = 0.05,
    replications: int = 99,
    rng: int | None = 0,
    cell_size: float | None = None,
    outside: str = "drop",
    source: str | None = None,
    geotiff: bool = False,
) -> PointsRun:
    """Kernel density of ``points`` (or, with ``controls``, the log relative risk with its
    tolerance contour): a map, the grid as GeoPackage (and with ``geotiff`` as GeoTIFF,
    ``kde.tif``, :meth:`DensitySurface.to_geotiff`) and summary.txt."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pattern = _pattern(points, areas, None, None, cell_size, outside)
    if controls is None:
        surface = kernel_density(pattern, bandwidth=bandwidth, weights=weights)
        title = "커널 밀도 · Kernel density"
    else:
        ctrl = _pattern(controls, areas, None, None, cell_size, outside)
        surface = relative_risk(
            pattern, ctrl, bandwidth=bandwidth, alpha=alpha, replications=replications, rng=rng
        )
        title = "상대위험 · Log relative risk"
    grid = surface.to_geodataframe()
    grid.attrs = pattern.points.attrs
    files = {
        "map": out / "kde_map.png",
        "grid": write_layer(grid, out / "kde_grid.gpkg", **surface.provenance_),
    }
    if geotiff:
        files["geotiff"] = surface.to_geotiff(out / "kde.tif")
        write_provenance(files["geotiff"], pattern.points, **surface.provenance_)
    surface.plot(areas=areas, path=files["map"], title=title, source=source)
    write_provenance(files["map"], pattern.points, **surface.provenance_)
    files["summary"] = _write_summary(out, surface.summary("en"), surface.summary("ko"), pattern)
    return PointsRun(surface.summary("both"), files, surface)
