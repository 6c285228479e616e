"""Points to areas: counts, sums and distance to the nearest point, in a metric CRS."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dongne._vocab import Lang, check_lang, pick_language
from dongne._warnings import user_stacklevel
from dongne.errors import DataError, UnmatchedWarning, format_rows
from dongne.io.crs import metric_crs, require_crs
from dongne.io.provenance import attach
from dongne.io.tables import check_counts

__all__ = ["PointsInAreas", "points_to_areas"]


@dataclass
class PointsInAreas:
    """Result of :func:`points_to_areas`.

    Attributes
    ----------
    frame : GeoDataFrame
        The areas (all of them, in order) with the new columns: ``{prefix}_count``,
        ``{prefix}_{column}_sum`` per summed column, ``{prefix}_nearest_m`` (distance in metres
        from the area's boundary to the nearest point; 0 when a point lies inside) and
        ``{prefix}_nearest_from_centroid_m`` (from the area's centroid).
    assignment : Series
        For every input point (same index as the points), the position of the area it was
        counted in, or -1.
    outside : GeoDataFrame
        Points inside no area (with their original rows and columns).
    no_coordinates : DataFrame
        Points with an empty geometry (not placed, not counted).
    on_boundary : int
        Points on the shared boundary of several areas; each is counted once, in the first of
        them in area order.
    metric_crs : str
        The CRS the distances were computed in.
    """

    frame: gpd.GeoDataFrame
    assignment: pd.Series
    outside: gpd.GeoDataFrame
    no_coordinates: pd.DataFrame
    on_boundary: int
    metric_crs: str

    @property
    def provenance_(self) -> dict[str, Any]:
        """Inputs and parameters: the areas' provenance with this overlay last in ``overlays``."""
        return dict(self.frame.attrs.get("dongne", {}))

    @property
    def prefix(self) -> str:
        """The prefix of the new columns (``{prefix}_count``, ...)."""
        overlays = self.provenance_.get("overlays") or [{}]
        return str(overlays[-1].get("prefix", "points"))

    def to_frame(self) -> pd.DataFrame:
        """One row per area (all areas, in order) with the count, sum and distance columns."""
        return self.frame.copy()

    def plot(
        self,
        *,
        path: str | os.PathLike[str] | None = None,
        title: str | None = None,
        cmap: str = "YlOrRd",
    ) -> Any:
        """Quick-look map of the number of points counted in each area.

        Areas without a point are drawn in the lightest colour, areas the overlay could not
        use (no geometry) in hatched grey; the legend is a colour bar of counts, and the note
        under the map gives the points outside every area. For a council-ready map (classes,
        scale bar, north arrow, source line) draw ``to_frame()`` with
        :func:`dongne.report.choropleth`; this method stays in ``io`` without importing the
        report layer (data flows one way: io → … → report).

        Parameters
        ----------
        path : path, optional
            Also write the map there (PNG unless the suffix says otherwise), atomically.
        title : str, optional
            Defaults to "{prefix} · 지역별 개수 / per area".
        cmap : str
            A matplotlib colour map name.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from dongne._fonts import korean_font
        from dongne.io.atomic import atomic_path

        column = f"{self.prefix}_count"
        with matplotlib.rc_context({"font.family": [korean_font(), "DejaVu Sans"]}):
            figure = Figure(figsize=(8.0, 7.0), dpi=150, layout="constrained")
            FigureCanvasAgg(figure)
            ax = figure.add_subplot()
            ax.set_axis_off()
            self.frame.plot(
                column=column,
                ax=ax,
                cmap=cmap,
                edgecolor="white",
                linewidth=0.25,
                legend=True,
                legend_kwds={"label": f"points per area / 지역별 {self.prefix} 수", "shrink": 0.6},
                missing_kwds={"color": "#e3e3e3", "hatch": "///", "edgecolor": "#9a9a9a"},
            )
            ax.set_title(title or f"{self.prefix} · 지역별 개수 / per area", loc="left")
            ax.annotate(
                f"{int((self.assignment >= 0).sum())} of {len(self.assignment)} points counted; "
                f"{len(self.outside)} outside every area, {len(self.no_coordinates)} without "
                "coordinates (listed in summary())",
                xy=(0.0, 0.0), xycoords="axes fraction", xytext=(0.0, -6.0),
                textcoords="offset points", ha="left", va="top", fontsize=7.5, color="#666666",
            )  # fmt: skip
            if path is not None:
                with atomic_path(path) as tmp:
                    suffix = os.path.splitext(str(path))[1].lstrip(".").lower() or "png"
                    figure.savefig(tmp, format=suffix, facecolor="white")
        return figure

    def summary(self, lang: Lang = "both") -> str:
        """Plain-language summary in English, Korean or both (``lang``: "both", "ko", "en")."""
        n = len(self.assignment)
        placed = int((self.assignment >= 0).sum())
        en = (
            f"{n} points: {placed} counted in an area, {len(self.outside)} outside every area, "
            f"{len(self.no_coordinates)} without coordinates; {self.on_boundary} on a shared "
            f"boundary (counted once). Distances in {self.metric_crs}."
        )
        ko = (
            f"점 {n}개 중 {placed}개를 지역에 집계, {len(self.outside)}개는 어느 지역에도 속하지 "
            f"않음, {len(self.no_coordinates)}개는 좌표 없음."
        )
        return f"{en}\n{ko}" if check_lang(lang) == "both" else pick_language(lang, en, ko)


def points_to_areas(
    areas: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    prefix: str = "points",
    sum_columns: Sequence[str] = (),
    nearest: bool = True,
) -> PointsInAreas:
    """Count points per area, sum their columns and measure the distance to the nearest point.

    Both layers are projected to one metric CRS (:func:`dongne.io.metric_crs`: EPSG:5179 in
    Korea, otherwise a UTM zone) before any distance is measured; geographic coordinates are
    never used as planar distances.

    Parameters
    ----------
    areas : GeoDataFrame
        Polygons with a CRS.
    points : GeoDataFrame
        Points with a CRS (any; reprojected). Empty geometries are reported, not counted.
    prefix : str
        Prefix of the new columns (e.g. ``"shelters"``).
    sum_columns : sequence of str
        Point columns to sum per area (non-negative counts such as capacity).
    nearest : bool
        Add the nearest-point distance columns.

    Returns
    -------
    PointsInAreas

    Warns
    -----
    UnmatchedWarning
        When points lie outside every area or have no coordinates (they are listed in the
        result).

    Examples
    --------
    >>> from dongne.datasets import seoul_gu, seoul_heat_shelters
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = points_to_areas(seoul_gu(), seoul_heat_shelters(), prefix="shelters")
    >>> len(res.outside)
    11
    """
    src_p = points.attrs.get("dongne", {}).get("source", "the points")
    require_crs(areas, "the areas")
    require_crs(points, str(src_p))
    missing_cols = [c for c in sum_columns if c not in points.columns]
    if missing_cols:
        raise DataError(
            f"{src_p}: no column(s) {', '.join(missing_cols)} to sum. Columns: "
            f"{', '.join(map(str, points.columns))}."
        )
    check_counts(points, list(sum_columns), source=str(src_p))
    crs = metric_crs(areas)
    a = areas.to_crs(crs)
    p = points.to_crs(crs)
    pgeom = p.geometry.array
    empty = shapely.is_missing(pgeom) | shapely.is_empty(pgeom)
    tree = shapely.STRtree(a.geometry.array)
    pidx, aidx = tree.query(pgeom, predicate="intersects")
    assign = np.full(len(p), -1, dtype=np.int64)
    # Several hits for one point = on a shared boundary: keep the first area (lowest position).
    order = np.lexsort((aidx, pidx))
    pidx, aidx = pidx[order], aidx[order]
    first = np.r_[True, pidx[1:] != pidx[:-1]] if len(pidx) else np.zeros(0, dtype=bool)
    assign[pidx[first]] = aidx[first]
    on_boundary = len(np.unique(pidx[~first])) if len(pidx) else 0

    frame = areas.copy()
    counted = assign >= 0
    frame[f"{prefix}_count"] = np.bincount(assign[counted], minlength=len(a)).astype(np.int64)
    for col in sum_columns:
        values = pd.to_numeric(p[col]).to_numpy(dtype=float)
        frame[f"{prefix}_{col}_sum"] = np.bincount(
            assign[counted], weights=values[counted], minlength=len(a)
        )
    valid = ~empty
    if nearest and valid.any():
        ptree = shapely.STRtree(pgeom[valid])
        _, d = ptree.query_nearest(a.geometry.array, return_distance=True, all_matches=False)
        frame[f"{prefix}_nearest_m"] = d
        cent = shapely.centroid(a.geometry.array)
        _, dc = ptree.query_nearest(cent, return_distance=True, all_matches=False)
        frame[f"{prefix}_nearest_from_centroid_m"] = dc
    elif nearest:
        frame[f"{prefix}_nearest_m"] = np.nan
        frame[f"{prefix}_nearest_from_centroid_m"] = np.nan

    outside = points[(~counted) & valid]
    no_coords = pd.DataFrame(points[empty])
    result = PointsInAreas(
        frame=frame,
        assignment=pd.Series(assign, index=points.index, name="area_position"),
        outside=outside,
        no_coordinates=no_coords,
        on_boundary=on_boundary,
        metric_crs=crs.to_string(),
    )
    meta = dict(areas.attrs.get("dongne", {}))
    overlay = {
        "points": str(src_p),
        "prefix": prefix,
        "counted": int(counted.sum()),
        "outside_rows": [int(i) for i in np.flatnonzero((~counted) & valid)],
        "no_coordinate_rows": [int(i) for i in np.flatnonzero(empty)],
        "on_boundary": on_boundary,
        "metric_crs": crs.to_string(),
    }
    meta["overlays"] = [*meta.get("overlays", []), overlay]  # a new list: records are shared
    attach(frame, meta)
    if len(outside) or len(no_coords):
        rows = np.flatnonzero((~counted) & valid).tolist()
        warnings.warn(
            f"{src_p}: {len(outside)} point(s) lie outside every area (rows {format_rows(rows)})"
            f" and {len(no_coords)} have no coordinates; they are not counted and are listed in "
            "result.outside / result.no_coordinates.",
            UnmatchedWarning,
            stacklevel=user_stacklevel(),
        )
    return result
