"""Point layers (facilities, incidents) from tables with coordinate columns or from geo files."""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from dongne.errors import DataError, GeometryError, UnmatchedWarning, format_rows
from dongne.io._files import GEO_SUFFIXES, TABLE_SUFFIXES, existing_file
from dongne.io.areas import read_geo
from dongne.io.provenance import attach
from dongne.io.tables import read_table

__all__ = ["find_coordinate_columns", "infer_point_crs", "points_from_table", "read_points"]

# (x, y) name patterns, most specific first. Names are compared lower-cased without spaces.
_PAIRS: list[tuple[str, str, str]] = [
    (
        r"^(경도|lon|lng|long|longitude|x_?lon|wgs84_?x)$",
        r"^(위도|lat|latitude|y_?lat|wgs84_?y)$",
        "longitude/latitude",
    ),
    (
        r"^(x|x좌표|x_?coord|xcoord|x_?좌표|point_?x|좌표_?x|tm_?x|utmk_?x)$",
        r"^(y|y좌표|y_?coord|ycoord|y_?좌표|point_?y|좌표_?y|tm_?y|utmk_?y)$",
        "x/y",
    ),
    (r"^x_?epsg\d+$", r"^y_?epsg\d+$", "x/y with EPSG in the name"),
]

# Projected CRSs common in Korean data, with the coordinate window they produce in Korea.
_KOREAN_PROJECTED = [
    (5179, "Korea 2000 / Unified CS (UTM-K)", (700_000, 1_300_000, 1_400_000, 2_100_000)),
]
_KOREAN_CENTRAL_BELT = "EPSG:5186 (Korea 2000 / Central Belt 2010), EPSG:5181 or EPSG:5174"


def _norm(name: object) -> str:
    return re.sub(r"\s+", "", str(name)).lower()


def find_coordinate_columns(df: pd.DataFrame) -> tuple[str, str, str]:
    """Find the x and y columns of a table; return ``(x, y, kind)``.

    Recognises 경도/위도, lon/lat (and lng, longitude, latitude), x/y, X좌표/Y좌표 and
    ``x_epsg5186``-style names. When several pairs exist, longitude/latitude wins.

    Raises
    ------
    DataError
        No pair found (the message lists the columns and how to name them).
    """
    names = {_norm(c): c for c in df.columns}
    for xpat, ypat, kind in _PAIRS:
        xs = [c for n, c in names.items() if re.match(xpat, n)]
        ys = [c for n, c in names.items() if re.match(ypat, n)]
        if xs and ys:
            return xs[0], ys[0], kind
    raise DataError(
        f"{df.attrs.get('dongne', {}).get('source', 'the table')}: no coordinate columns found "
        f"among {', '.join(map(str, df.columns))}. Fix: pass x='column' and y='column' "
        "(recognised names: 경도/위도, lon/lat, longitude/latitude, x/y, X좌표/Y좌표)."
    )


def infer_point_crs(x: np.ndarray, y: np.ndarray, source: str = "the points") -> CRS:
    """Infer the CRS of coordinates from their value range.

    Longitude/latitude when every value fits |x| ≤ 180 and |y| ≤ 90; EPSG:5179 (UTM-K) when the
    values fall in its Korean window. Anything else (Korean central-belt TM systems overlap
    each other) is an error asking for ``crs=``.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise DataError(f"{source}: no valid coordinates to infer the CRS from.")
    xv, yv = x[ok], y[ok]
    if np.all(np.abs(xv) <= 180) and np.all(np.abs(yv) <= 90):
        return CRS.from_epsg(4326)
    if np.all(np.abs(xv) <= 90) and np.all(np.abs(yv) <= 180) and np.any(np.abs(yv) > 90):
        raise DataError(
            f"{source}: x values look like latitudes and y values like longitudes (y up to "
            f"{np.abs(yv).max():.4g}). Fix: swap the columns, e.g. x='경도', y='위도'."
        )
    for epsg, _name, (x0, y0, x1, y1) in _KOREAN_PROJECTED:
        if xv.min() >= x0 and xv.max() <= x1 and yv.min() >= y0 and yv.max() <= y1:
            return CRS.from_epsg(epsg)
    raise DataError(
        f"{source}: projected coordinates (x {xv.min():.0f}–{xv.max():.0f}, y "
        f"{yv.min():.0f}–{yv.max():.0f}) whose CRS cannot be told from the values. Fix: pass "
        f"crs=..., e.g. {_KOREAN_CENTRAL_BELT} for Korean 중부원점 TM coordinates."
    )


def points_from_table(
    df: pd.DataFrame,
    *,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Make points from a table's coordinate columns, keeping rows without coordinates.

    Rows whose coordinates are missing or not numbers keep their record with an empty (None)
    geometry and are listed in ``attrs["dongne"]["rows_without_coordinates"]`` and in an
    :class:`UnmatchedWarning`; nothing is dropped.
    """
    src = str(df.attrs.get("dongne", {}).get("source", "the table"))
    if (x is None) != (y is None):
        raise DataError("Pass both x= and y= (or neither, to detect them).")
    kind = "given"
    if x is None:
        x, y, kind = find_coordinate_columns(df)
    for col in (x, y):
        if col not in df.columns:
            raise DataError(
                f"{src}: no column {col!r}. Columns: {', '.join(map(str, df.columns))}."
            )
    xv = pd.to_numeric(df[x], errors="coerce").to_numpy(dtype=float)
    yv = pd.to_numeric(df[y], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(xv) & np.isfinite(yv))
    point_crs = CRS.from_user_input(crs) if crs is not None else infer_point_crs(xv, yv, src)
    geometry = gpd.points_from_xy(np.where(bad, 0, xv), np.where(bad, 0, yv))
    geometry[bad] = None
    gdf = gpd.GeoDataFrame(df.copy(), geometry=geometry, crs=point_crs)
    meta = dict(df.attrs.get("dongne", {}))
    rows = [int(i) for i in np.flatnonzero(bad)]
    meta.update(
        {
            "x": x,
            "y": y,
            "coordinate_columns": kind,
            "crs": point_crs.to_string(),
            "crs_inferred": crs is None,
            "rows_without_coordinates": rows,
        }
    )
    attach(gdf, meta)
    if rows:
        warnings.warn(
            f"{src}: {len(rows)} row(s) have no usable coordinates in {x!r}/{y!r} (rows "
            f"{format_rows(rows)}); kept with an empty geometry.",
            UnmatchedWarning,
            stacklevel=2,
        )
    return gdf


def read_points(
    path: str | os.PathLike[str],
    *,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    layer: str | int | None = None,
    encoding: str | None = None,
    **table_options: Any,
) -> gpd.GeoDataFrame:
    """Read a point layer from a table with coordinate columns or from a geo file.

    Parameters
    ----------
    path : path-like
        CSV/Excel/Parquet with coordinate columns, or GeoJSON/GeoPackage/Shapefile/GeoParquet.
    x, y : str, optional
        Coordinate columns; detected from their names when omitted (경도/위도, lon/lat, x/y,
        X좌표/Y좌표, ...).
    crs : optional
        CRS of the coordinates; inferred from the value range when omitted: longitude/latitude
        (EPSG:4326) or UTM-K (EPSG:5179). Korean central-belt TM coordinates need it given.
    layer, encoding : optional
        As in :func:`read_areas` / :func:`read_table`.
    **table_options
        Passed to :func:`read_table` (``title_lines``, ``sheet``, ...).

    Returns
    -------
    GeoDataFrame of points (rows without coordinates kept with an empty geometry).

    Examples
    --------
    >>> from dongne.datasets import data_path
    >>> pts = read_points(data_path("seoul_heat_shelters_2023.csv"))
    >>> len(pts), pts.crs.to_epsg(), pts.attrs["dongne"]["x"]
    (4133, 4326, 'lon')
    """
    p = existing_file(path)
    suffix = p.suffix.lower()
    if suffix in TABLE_SUFFIXES and not (suffix == ".parquet" and _is_geoparquet(p)):
        table = read_table(p, encoding=encoding, **table_options)
        return points_from_table(table, x=x, y=y, crs=crs)
    if suffix in GEO_SUFFIXES:
        gdf = read_geo(p, layer=layer, encoding=encoding, crs=crs)
        if gdf.crs is None:
            raise GeometryError(f"{p} has no CRS. Fix: pass crs='EPSG:4326' (or the real one).")
        types = set(gdf.geom_type.dropna())
        if not types <= {"Point", "MultiPoint"}:
            raise GeometryError(
                f"{p}: expected points, found {', '.join(sorted(types))}. Fix: use read_areas "
                "for polygons, or take representative points explicitly "
                "(gdf.representative_point())."
            )
        return gdf
    existing = ", ".join(sorted(set(TABLE_SUFFIXES) | set(GEO_SUFFIXES)))
    raise DataError(f"{p}: unsupported format {p.suffix!r} for points. Supported: {existing}.")


def _is_geoparquet(p: os.PathLike[str]) -> bool:
    import pyarrow.parquet as pq

    return b"geo" in (pq.read_schema(p).metadata or {})
