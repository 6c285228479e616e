"""Point layers (facilities, incidents) from tables with coordinate columns or from geo files."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from dongne._warnings import user_stacklevel
from dongne.errors import (
    DataError,
    GeometryError,
    SpecificationError,
    UnmatchedWarning,
    format_rows,
)
from dongne.io._files import GEO_SUFFIXES, TABLE_SUFFIXES, existing_file
from dongne.io.areas import read_geo
from dongne.io.provenance import attach
from dongne.io.tables import read_table

__all__ = [
    "OUTSIDE_ACTIONS",
    "check_area_of_use",
    "find_coordinate_columns",
    "infer_point_crs",
    "points_from_table",
    "read_points",
    "row_label",
    "row_numbers",
    "select_points",
]

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


#: Rescalings recognised when coordinates lie 100× or 1000× outside their CRS's area of use.
_UNIT_SCALES = ((0.01, "centimetres"), (0.001, "millimetres"))


def _arg(names: Mapping[str, str] | None, name: str, value: str) -> str:
    """How an error message tells the user to pass ``name``: ``x='lon'`` or ``--existing-x lon``."""
    flag = (names or {}).get(name, name)
    if flag.startswith("--"):
        return f"{flag} {value.strip(chr(39))}"
    return f"{flag}={value}"


def _norm(name: object) -> str:
    return re.sub(r"\s+", "", str(name)).lower()


def find_coordinate_columns(
    df: pd.DataFrame, *, argument_names: Mapping[str, str] | None = None
) -> tuple[str, str, str]:
    """Find the x and y columns of a table; return ``(x, y, kind)``.

    Recognises 경도/위도, lon/lat (and lng, longitude, latitude), x/y, X좌표/Y좌표 and
    ``x_epsg5186``-style names. When several pairs exist, longitude/latitude wins.
    ``argument_names`` says how the error message names ``x`` and ``y`` (see
    :func:`read_points`).

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
    xs, ys = _arg(argument_names, "x", "'column'"), _arg(argument_names, "y", "'column'")
    raise DataError(
        f"{df.attrs.get('dongne', {}).get('source', 'the table')}: no coordinate columns found "
        f"among {', '.join(map(str, df.columns))}. Fix: pass {xs} and {ys} "
        "(recognised names: 경도/위도, lon/lat, longitude/latitude, x/y, X좌표/Y좌표)."
    )


def infer_point_crs(
    x: np.ndarray,
    y: np.ndarray,
    source: str = "the points",
    *,
    argument_names: Mapping[str, str] | None = None,
) -> CRS:
    """Infer the CRS of coordinates from their value range.

    Longitude/latitude when every value fits |x| ≤ 180 and |y| ≤ 90; EPSG:5179 (UTM-K) when the
    values fall in its Korean window. Anything else (Korean central-belt TM systems overlap
    each other) is an error asking for ``crs=`` (named as in ``argument_names``, see
    :func:`read_points`).
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
            f"{np.abs(yv).max():.4g}). Fix: swap the columns, e.g. "
            f"{_arg(argument_names, 'x', repr('경도'))} {_arg(argument_names, 'y', repr('위도'))}."
        )
    for epsg, _name, (x0, y0, x1, y1) in _KOREAN_PROJECTED:
        if xv.min() >= x0 and xv.max() <= x1 and yv.min() >= y0 and yv.max() <= y1:
            return CRS.from_epsg(epsg)
    raise DataError(
        f"{source}: projected coordinates (x {xv.min():.0f}–{xv.max():.0f}, y "
        f"{yv.min():.0f}–{yv.max():.0f}) whose CRS cannot be told from the values. Fix: pass "
        f"{_arg(argument_names, 'crs', repr('EPSG:5186'))} (or the real CRS): "
        f"{_KOREAN_CENTRAL_BELT} for Korean 중부원점 TM coordinates."
    )


def check_area_of_use(
    x: np.ndarray,
    y: np.ndarray,
    crs: Any,
    source: str = "the points",
    *,
    argument_names: Mapping[str, str] | None = None,
) -> None:
    """Refuse coordinates that mostly lie outside their CRS's area of use.

    The area of use (:attr:`pyproj.CRS.area_of_use`, longitude/latitude) is transformed into
    the CRS (:meth:`pyproj.Transformer.transform_bounds`, densified edges) and widened by half
    its size. When more than half of the finite points fall outside it, the coordinates are in
    the wrong unit or CRS: if dividing them by 100 or 1000 brings them inside, the error names
    centimetres or millimetres and the fix ``xy_scale=0.01`` / ``0.001``; otherwise it asks for
    the right CRS. Without an area of use nothing is checked.

    Raises
    ------
    GeometryError
        Coordinates outside the area of use, with the fix.

    References
    ----------
    .. [1] PROJ contributors. *PROJ coordinate transformation software library* — area of use
       and ``proj_trans_bounds``. https://proj.org/en/stable/development/reference/functions.html

    Examples
    --------
    >>> import numpy as np
    >>> check_area_of_use(np.array([198000.0]), np.array([551000.0]), "EPSG:5186")
    >>> try:
    ...     check_area_of_use(np.array([19800000.0]), np.array([55100000.0]), "EPSG:5186")
    ... except GeometryError as error:
    ...     print(str(error).split(" Fix: ")[1])
    pass xy_scale=0.01.
    """
    target = CRS.from_user_input(crs)
    aou = target.area_of_use
    ok = np.isfinite(x) & np.isfinite(y)
    if aou is None or not ok.any():
        return
    if target.is_geographic:
        box = aou.bounds
    else:
        to_crs = Transformer.from_crs(4326, target, always_xy=True)
        box = to_crs.transform_bounds(*aou.bounds, densify_pts=21)
    if not np.all(np.isfinite(box)):
        return
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) / 2, (y1 - y0) / 2
    box = (x0 - mx, y0 - my, x1 + mx, y1 + my)

    def outside(scale: float) -> np.ndarray:
        xs, ys = x[ok] * scale, y[ok] * scale
        return (xs < box[0]) | (xs > box[2]) | (ys < box[1]) | (ys > box[3])

    out = outside(1.0)
    if out.mean() <= 0.5:
        return
    xv, yv = x[ok], y[ok]
    seen = (
        f"{source}: {int(out.sum())} of {int(ok.sum())} points lie outside the area of use of "
        f"{target.name} ({aou.name}; x {xv.min():.6g}–{xv.max():.6g}, y "
        f"{yv.min():.6g}–{yv.max():.6g})."
    )
    unit = target.axis_info[0].unit_name if target.axis_info else ""
    if unit in ("metre", "meter"):
        for scale, name in _UNIT_SCALES:
            if outside(scale).mean() <= 0.5:
                fix = _arg(argument_names, "xy_scale", repr(scale))
                raise GeometryError(
                    f"{seen} Divided by {round(1 / scale)} they fit: the coordinates look like "
                    f"{name}, not metres. Fix: pass {fix}."
                )
    raise GeometryError(
        f"{seen} Fix: pass {_arg(argument_names, 'crs', repr('EPSG:....'))} with the CRS "
        "the coordinates are in (Korean 중부원점 TM: "
        f"{_KOREAN_CENTRAL_BELT}), or check the coordinate columns "
        f"({_arg(argument_names, 'x', repr('column'))}, "
        f"{_arg(argument_names, 'y', repr('column'))})."
    )


def points_from_table(
    df: pd.DataFrame,
    *,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    xy_scale: float | None = None,
    argument_names: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Make points from a table's coordinate columns, keeping rows without coordinates.

    Rows whose coordinates are missing or not numbers keep their record with an empty (None)
    geometry and are listed in ``attrs["dongne"]["rows_without_coordinates"]`` (0-based
    positions) and, as 1-based file lines, in an :class:`UnmatchedWarning`; nothing is dropped.
    ``xy_scale`` multiplies the coordinates (``0.01`` for centimetres); the coordinates are
    then checked against the CRS's area of use (:func:`check_area_of_use`).
    ``argument_names`` says how error messages name ``x``, ``y``, ``crs`` and ``xy_scale``
    (see :func:`read_points`).
    """
    meta_in = df.attrs.get("dongne", {})
    src = str(meta_in.get("source", "the table"))
    if (x is None) != (y is None):
        raise DataError(
            f"Pass both {_arg(argument_names, 'x', repr('column'))} and "
            f"{_arg(argument_names, 'y', repr('column'))} (or neither, to detect them)."
        )
    kind = "given"
    if x is None:
        x, y, kind = find_coordinate_columns(df, argument_names=argument_names)
    for col in (x, y):
        if col not in df.columns:
            raise DataError(
                f"{src}: no column {col!r}. Columns: {', '.join(map(str, df.columns))}. Fix: "
                f"pass {_arg(argument_names, 'x' if col == x else 'y', repr('column'))} with "
                "one of them."
            )
    xv = pd.to_numeric(df[x], errors="coerce").to_numpy(dtype=float)
    yv = pd.to_numeric(df[y], errors="coerce").to_numpy(dtype=float)
    if xy_scale is not None:
        if not (isinstance(xy_scale, (int, float)) and np.isfinite(xy_scale) and xy_scale > 0):
            raise SpecificationError(
                f"xy_scale must be a positive number (0.01 for centimetres). Got {xy_scale!r}."
            )
        xv, yv = xv * xy_scale, yv * xy_scale
    bad = ~(np.isfinite(xv) & np.isfinite(yv))
    point_crs = (
        CRS.from_user_input(crs)
        if crs is not None
        else infer_point_crs(xv, yv, src, argument_names=argument_names)
    )
    check_area_of_use(xv, yv, point_crs, src, argument_names=argument_names)
    geometry = gpd.points_from_xy(np.where(bad, 0, xv), np.where(bad, 0, yv))
    geometry[bad] = None
    gdf = gpd.GeoDataFrame(df.copy(), geometry=geometry, crs=point_crs)
    meta = dict(meta_in)
    rows = [int(i) for i in np.flatnonzero(bad)]
    meta.update(
        {
            "x": x,
            "y": y,
            "coordinate_columns": kind,
            "crs": point_crs.to_string(),
            "crs_inferred": crs is None,
            "xy_scale": xy_scale,
            "rows_without_coordinates": rows,
        }
    )
    attach(gdf, meta)
    if rows:
        warnings.warn(
            f"{src}: {len(rows)} row(s) have no usable coordinates in {x!r}/{y!r} "
            f"({row_label(gdf)} {format_rows(row_numbers(gdf, rows))}); kept with an empty "
            "geometry.",
            UnmatchedWarning,
            stacklevel=user_stacklevel(),
        )
    return gdf


def row_numbers(points: pd.DataFrame, positions: Any) -> list[int]:
    """1-based file lines (tables) or feature numbers (geo layers) of 0-based row positions.

    The readers number rows 0, 1, ... in the index, and a filtered frame keeps those labels, so
    the index (when it is a unique integer index) says where a row came from. A table read by
    :func:`read_table` knows its header line (``attrs["dongne"]["header_line"]``): data row
    ``i`` is on line ``header_line + 1 + i``. Otherwise rows are numbered from 1 (feature
    numbers), and without an integer index by their position (see :func:`row_label`).
    """
    header = points.attrs.get("dongne", {}).get("header_line")
    first = int(header) + 1 if header is not None else 1
    pos = np.asarray(positions, dtype=np.int64)
    if _by_index(points):
        return [first + int(i) for i in points.index.to_numpy()[pos]]
    return [1 + int(i) for i in pos]


def row_label(points: pd.DataFrame, lang: str = "en") -> str:
    """How :func:`row_numbers` numbers rows: ``"file lines"``, ``"features (1-based)"`` or
    ``"rows (1-based, in the order given)"``; ``lang="ko"`` gives the Korean words.
    """
    header = points.attrs.get("dongne", {}).get("header_line")
    if not _by_index(points):
        return (
            "행 번호(주어진 순서, 1부터)" if lang == "ko" else "rows (1-based, in the order given)"
        )
    if lang == "ko":
        return "파일 줄" if header is not None else "피처 번호(1부터)"
    return "file lines" if header is not None else "features (1-based)"


def _by_index(points: pd.DataFrame) -> bool:
    index = points.index
    return bool(
        pd.api.types.is_integer_dtype(index.dtype)
        and index.is_unique
        and (len(index) == 0 or index.min() >= 0)
    )


def read_points(
    path: str | os.PathLike[str],
    *,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    xy_scale: float | None = None,
    layer: str | int | None = None,
    encoding: str | None = None,
    argument_names: Mapping[str, str] | None = None,
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
        For a geo file, the CRS to assume when the file has none.
    xy_scale : float, optional
        Multiply the coordinates by this before use: ``0.01`` for coordinates in centimetres
        (Seoul's published cold-shelter file gives EPSG:5186 × 100), ``0.001`` for
        millimetres.
    layer, encoding : optional
        As in :func:`read_areas` / :func:`read_table`.
    argument_names : mapping, optional
        How error messages name ``x``, ``y``, ``crs`` and ``xy_scale``: a command line passes
        its flags (``{"x": "--existing-x", "crs": "--existing-crs", ...}``) so that every fix
        it prints exists on it. Default: the Python arguments.
    **table_options
        Passed to :func:`read_table` (``title_lines``, ``sheet``, ...).

    Returns
    -------
    GeoDataFrame of points (rows without coordinates kept with an empty geometry).

    Raises
    ------
    DataError
        No coordinate columns, a CRS that cannot be inferred, an unsupported format.
    GeometryError
        Coordinates outside the CRS's area of use (in centimetres or millimetres: the error
        names ``xy_scale``); a geo file without CRS or with non-point geometries.

    Notes
    -----
    Coordinates are checked against the area of use of their CRS
    (:func:`check_area_of_use`): coordinates 100× or 1000× too large would otherwise reproject
    to ``inf`` or to the wrong continent.

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
        return points_from_table(
            table, x=x, y=y, crs=crs, xy_scale=xy_scale, argument_names=argument_names
        )
    if suffix in GEO_SUFFIXES:
        gdf = read_geo(p, layer=layer, encoding=encoding, crs=crs)
        if gdf.crs is None:
            raise GeometryError(
                f"{p} has no CRS. Fix: pass {_arg(argument_names, 'crs', repr('EPSG:4326'))} "
                "(or the real one)."
            )
        types = set(gdf.geom_type.dropna())
        if not types <= {"Point", "MultiPoint"}:
            raise GeometryError(
                f"{p}: expected points, found {', '.join(sorted(types))}. Fix: give a point "
                "layer (for polygons, take representative points explicitly, e.g. "
                "gdf.representative_point(), and save them)."
            )
        if xy_scale is not None:
            gdf = gdf.set_geometry(gdf.geometry.scale(xy_scale, xy_scale, origin=(0, 0)))
        xy = gdf.geometry.get_coordinates()
        check_area_of_use(
            xy["x"].to_numpy(), xy["y"].to_numpy(), gdf.crs, str(p), argument_names=argument_names
        )
        return gdf
    existing = ", ".join(sorted(set(TABLE_SUFFIXES) | set(GEO_SUFFIXES)))
    raise DataError(f"{p}: unsupported format {p.suffix!r} for points. Supported: {existing}.")


def _is_geoparquet(p: os.PathLike[str]) -> bool:
    import pyarrow.parquet as pq

    return b"geo" in (pq.read_schema(p).metadata or {})


#: What :func:`select_points` does with points outside the study area.
OUTSIDE_ACTIONS = ("drop", "keep", "raise")


def select_points(
    points: gpd.GeoDataFrame,
    *,
    query: str | None = None,
    areas: gpd.GeoDataFrame | None = None,
    outside: str = "drop",
    what: str = "points",
    what_ko: str | None = None,
    argument_names: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Keep the points that pass an explicit rule and lie in the study area, and say which not.

    Parameters
    ----------
    points : GeoDataFrame of points
        E.g. existing facilities read by :func:`read_points`.
    query : str, optional
        A :meth:`pandas.DataFrame.query` expression the kept rows satisfy, e.g.
        ``"사용여부 == 'Y'"`` (facilities in use); column names with spaces in backticks.
    areas : GeoDataFrame of polygons, optional
        The study area; points in none of its polygons (or without coordinates) are
        "outside".
    outside : {"drop", "keep", "raise"}
        Leave the outside points out (default), keep them, or raise.
    what, what_ko : str
        What the points are, for messages and the English / Korean sentences
        (``"existing facilities"``, ``"기존 시설"``; ``what_ko`` defaults to ``what``).
    argument_names : mapping, optional
        How messages name ``query`` and ``outside`` (a command line passes its flags, e.g.
        ``{"query": "--existing-filter", "outside": "--outside"}``).

    Returns
    -------
    GeoDataFrame
        The kept rows. ``attrs["dongne"]["selection"]`` holds ``read``, ``query``,
        ``filtered_out``, ``outside``, ``outside_action``, ``kept`` and the 1-based
        ``filtered_rows`` / ``outside_rows`` (file lines of a table, feature numbers of a
        layer; see :func:`row_numbers`) and ``text`` / ``text_ko``, sentences for summaries.
        Outside points left out are also announced by an :class:`UnmatchedWarning`.

    Raises
    ------
    DataError
        ``query`` names a column that ``points`` lacks (the message lists the columns), or
        does not give one True/False per row; ``outside="raise"`` with points outside.
    SpecificationError
        ``query`` is not a valid expression, or ``outside`` is not one of the actions.

    Examples
    --------
    >>> from dongne.datasets import seoul_dongs, seoul_heat_shelters
    >>> kept = select_points(seoul_heat_shelters(), query="in_use == 'Y'", areas=seoul_dongs())
    >>> sel = kept.attrs["dongne"]["selection"]
    >>> sel["read"], sel["filtered_out"], sel["outside"], sel["kept"]
    (4133, 43, 11, 4079)
    """
    names = dict(argument_names or {})
    if outside not in OUTSIDE_ACTIONS:
        raise SpecificationError(
            f"The outside action must be one of {', '.join(OUTSIDE_ACTIONS)}. Got {outside!r} "
            "instead."
        )
    meta = dict(points.attrs.get("dongne", {}))
    src = str(meta.get("source", what))
    pos = np.arange(len(points))
    mask = np.ones(len(points), dtype=bool)
    filtered: list[int] = []
    if query is not None:
        keep = _query_mask(points, query, src, what, names)
        filtered = row_numbers(points, pos[~keep])
        mask &= keep
    outside_rows: list[int] = []
    if areas is not None:
        region = areas.geometry.to_crs(points.crs).union_all() if points.crs else None
        geom = points.geometry
        located = geom.notna().to_numpy() & ~geom.is_empty.to_numpy()
        inside = np.zeros(len(points), dtype=bool)
        if region is not None and located.any():
            inside[located] = geom[located].intersects(region).to_numpy()
        out = mask & ~inside
        outside_rows = row_numbers(points, pos[out])
        if out.any() and outside == "raise":
            raise DataError(
                f"{src}: {int(out.sum())} {what} lie outside the study area or have no "
                f"coordinates ({row_label(points)} {format_rows(outside_rows)}). Fix: pass "
                f"{_arg(names, 'outside', repr('drop'))} to leave them out, or correct their "
                "coordinates."
            )
        if outside == "drop":
            mask &= ~out
    kept = points[mask].copy()
    label = row_label(points)
    parts = [f"{what}: {len(points):,} read"]
    if query is not None:
        parts.append(f"{len(filtered):,} left out by the rule {query!r}")
    if outside_rows:
        verb = "left out" if outside == "drop" else "kept"
        parts.append(
            f"{len(outside_rows):,} outside the study area {verb} ({label} "
            f"{format_rows(outside_rows, limit=5)})"
        )
    parts.append(f"{len(kept):,} used")
    parts_ko = [f"{what_ko or what}: {len(points):,}건 읽음"]
    if query is not None:
        parts_ko.append(f"규칙 {query!r}로 {len(filtered):,}건 제외")
    if outside_rows:
        verb_ko = "제외" if outside == "drop" else "유지"
        parts_ko.append(
            f"분석 지역 밖 {len(outside_rows):,}건 {verb_ko} ({row_label(points, 'ko')} "
            f"{format_rows(outside_rows, limit=5)})"
        )
    parts_ko.append(f"{len(kept):,}건 사용")
    selection = {
        "read": len(points),
        "query": query,
        "filtered_out": len(filtered),
        "filtered_rows": filtered,
        "outside": len(outside_rows),
        "outside_rows": outside_rows,
        "outside_action": outside,
        "kept": len(kept),
        "text": "; ".join(parts) + ".",
        "text_ko": "; ".join(parts_ko) + ".",
    }
    attach(kept, {**meta, "selection": selection})
    if outside_rows and outside == "drop":
        warnings.warn(
            f"{src}: {len(outside_rows)} {what} lie outside the study area or have no "
            f"coordinates and are left out ({label} {format_rows(outside_rows)}). Pass "
            f"{_arg(names, 'outside', repr('keep'))} to keep them.",
            UnmatchedWarning,
            stacklevel=user_stacklevel(),
        )
    return kept


def _query_mask(
    points: pd.DataFrame, query: str, src: str, what: str, names: Mapping[str, str]
) -> np.ndarray:
    """Evaluate a filter expression to one bool per row, with errors that name the column."""
    fix = _arg(names, "query", "\"column == 'value'\"")
    columns = ", ".join(map(str, points.columns))
    frame = pd.DataFrame(points.drop(columns=points.geometry.name))
    try:
        result = frame.eval(query, engine="python")
    except pd.errors.UndefinedVariableError as error:
        missing = re.search(r"name '([^']+)' is not defined", str(error))
        column = missing.group(1) if missing else str(error)
        raise DataError(
            f"{src}: the filter {query!r} names {column!r}, which is not a column of the "
            f"{what}. Columns: {columns}. Fix: pass {fix} with one of these columns "
            "(names with spaces in backticks)."
        ) from None
    except (SyntaxError, ValueError, TypeError) as error:
        raise SpecificationError(
            f"{src}: the filter {query!r} is not a valid expression ({error}). Fix: pass "
            f"{fix}, a pandas query such as \"사용여부 == 'Y'\"."
        ) from None
    values = np.asarray(result)
    if values.shape != (len(frame),) or values.dtype != bool:
        raise DataError(
            f"{src}: the filter {query!r} does not give True/False for each row of the {what}. "
            f"Fix: pass {fix} with a comparison."
        )
    return values
