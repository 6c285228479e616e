"""Choropleth maps that render Hangul offline, drawn headless with the Agg backend.

Every dongne figure uses the bundled NanumGothic font (SIL Open Font License, see
``fonts/OFL-NanumGothic.txt``) so that Korean place names and titles render on any machine,
with or without system fonts and without network access. Figures are built with the
object-oriented :class:`matplotlib.figure.Figure` and
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`, never through ``pyplot``, so no global
figure state is created and nothing needs a display.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager, patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from dongne.errors import DataError, DongneWarning, GeometryError, SpecificationError, format_rows
from dongne.io._atomic import atomic_path
from dongne.io.crs import require_crs, to_metric

__all__ = ["SCHEMES", "MapResult", "choropleth", "korean_font"]

#: Classification schemes accepted by :func:`choropleth`.
SCHEMES = ("quantiles", "equal_interval", "natural_breaks", "fixed")

_FONT_FILE = Path(__file__).parent / "fonts" / "NanumGothic.ttf"
_TEXT = "#222222"
_MISSING_FACE = "#e3e3e3"
_MISSING_EDGE = "#9a9a9a"


@functools.cache
def korean_font() -> str:
    """Register the bundled NanumGothic font with matplotlib and return its family name.

    Registration happens once per process, on the first call, through
    :meth:`matplotlib.font_manager.FontManager.addfont`; matplotlib's own font cache on disk
    and the user's ``rcParams`` are left untouched. Use the returned name as a font family,
    e.g. ``ax.set_title("서울", fontfamily=korean_font())``.

    Returns
    -------
    str
        The family name of the bundled font, ``"NanumGothic"``.

    See Also
    --------
    choropleth : Uses this font for every text in the figure.

    References
    ----------
    .. [1] NAVER Corp., "Nanum fonts", SIL Open Font License 1.1,
       https://hangeul.naver.com/font

    Examples
    --------
    >>> korean_font()
    'NanumGothic'
    """
    font_manager.fontManager.addfont(_FONT_FILE)
    return font_manager.FontProperties(fname=_FONT_FILE).get_name()


@contextlib.contextmanager
def _figure_style() -> Iterator[None]:
    """Temporarily set the dongne figure style (Korean font first, DejaVu Sans as fallback)."""
    with matplotlib.rc_context(
        {
            "font.family": [korean_font(), "DejaVu Sans"],
            "text.color": _TEXT,
            "hatch.linewidth": 0.6,
            "pdf.fonttype": 42,  # embed TrueType so Hangul survives in PDF output
            "ps.fonttype": 42,
        }
    ):
        yield


@dataclass(frozen=True, eq=False)
class MapResult:
    """A drawn choropleth map and its classification.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The map, attached to an Agg canvas (``figure.savefig`` works; no ``pyplot`` state).
    path : pathlib.Path or None
        Where the image was written, or ``None`` when no ``path`` was given.
    scheme : str
        The classification scheme used (one of :data:`SCHEMES`).
    bins : numpy.ndarray
        Class edges, length ``n_classes + 1``. Class 0 holds values in ``[bins[0], bins[1]]``,
        class ``i > 0`` values in ``(bins[i], bins[i + 1]]``. The upper bounds ``bins[1:]`` are
        strictly increasing; ``bins[0] == bins[1]`` only when ties make the lowest class a
        single value. For the data-driven schemes ``bins[0]`` and ``bins[-1]`` are the minimum
        and maximum of the data.
    counts : numpy.ndarray
        Number of areas in each class (int); sums to the number of areas with a value.
    n_missing : int
        Number of areas without a value, drawn grey and hatched.
    classes : pandas.Series
        Class of each area (``Int64``, 0 = lowest), ``<NA>`` where the value is missing;
        indexed like the input ``areas``.
    """

    figure: Figure
    path: Path | None
    scheme: str
    bins: np.ndarray
    counts: np.ndarray
    n_missing: int
    classes: pd.Series


def choropleth(
    areas: gpd.GeoDataFrame,
    column: str,
    *,
    title: str,
    legend_title: str | None = None,
    path: str | os.PathLike[str] | None = None,
    scheme: str = "quantiles",
    k: int = 5,
    bins: Sequence[float] | None = None,
    cmap: str | Colormap = "YlOrRd",
    missing_label: str = "No data / 자료 없음",
    boundaries: gpd.GeoDataFrame | None = None,
    labels: str | None = None,
    boundary_labels: str | None = None,
    note: str | None = None,
    dpi: int = 150,
    figsize: tuple[float, float] = (9.0, 8.0),
) -> MapResult:
    """Draw a classed choropleth map of ``column`` with legend, scale bar and north arrow.

    Values are grouped into classes by ``scheme``; each class gets one colour of ``cmap`` and a
    legend entry ``"lower – upper (count)"``. Areas without a value are drawn light grey and
    hatched, with their own legend entry and count, so they are never silently dropped. The
    map is drawn in a metric CRS (EPSG:5179 inside Korea, otherwise the local UTM zone) so that
    shapes are not distorted and the scale bar is true. All text uses the bundled Korean font.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        Polygons (or multipolygons) with a CRS, one row per area.
    column : str
        Numeric column of ``areas`` to map. ``NaN`` / ``<NA>`` mean "no data".
    title : str
        Map title; may span two lines, e.g. ``"반지하 가구 비율\\nBasement households"``.
    legend_title : str, optional
        Title of the legend (include the unit, e.g. ``"% of households"``); defaults to
        ``column``.
    path : str or os.PathLike, optional
        Write the figure there, atomically (a reader never sees a partial file). The format
        follows the suffix (``.png``, ``.pdf``, ``.svg``); PNG when there is none.
    scheme : {"quantiles", "equal_interval", "natural_breaks", "fixed"}
        How class edges are chosen: ``"quantiles"`` — about equal numbers of areas per class;
        ``"equal_interval"`` — equal-width classes between minimum and maximum;
        ``"natural_breaks"`` — Fisher–Jenks optimal classes, minimising the within-class sum
        of squared deviations [1]_ [2]_; ``"fixed"`` — the break points given in ``bins``.
    k : int
        Number of classes (at least 2); ignored when ``scheme="fixed"``. Fewer classes are
        drawn, with a :class:`~dongne.errors.DongneWarning`, when ties leave fewer distinct
        edges.
    bins : sequence of float, optional
        Interior break points, strictly increasing, for ``scheme="fixed"`` only:
        ``bins=[5, 10, 20]`` gives four classes ``min – 5``, ``5 – 10``, ``10 – 20``,
        ``20 – max``. Classes that no area falls in are kept with a count of 0.
    cmap : str or matplotlib.colors.Colormap
        Sequential colormap; class colours are sampled evenly from it.
    missing_label : str
        Legend text for areas without a value (the count is appended). The entry is shown
        only when at least one area has no value.
    boundaries : geopandas.GeoDataFrame, optional
        Outlines drawn on top, e.g. the gu containing the mapped dong; reprojected to the map's
        CRS.
    labels : str, optional
        Column of ``areas`` whose text is written at a representative point inside each area
        (missing values get no label).
    boundary_labels : str, optional
        Column of ``boundaries`` written at a representative point inside each boundary polygon.
    note : str, optional
        Small text under the map, for the data source and attribution.
    dpi : int
        Resolution of the written image, dots per inch.
    figsize : tuple of float
        Figure width and height in inches; the image is ``figsize * dpi`` pixels.

    Returns
    -------
    MapResult
        The figure, the written path (or ``None``) and the classification: ``bins``,
        ``counts``, ``n_missing`` and the class of each area.

    Raises
    ------
    SpecificationError
        Unknown ``scheme``, ``k < 2``, ``bins`` missing, misordered or given without
        ``scheme="fixed"``, unknown ``cmap``, non-positive ``dpi``, unsupported ``path``
        suffix.
    DataError
        ``areas`` is empty or not a GeoDataFrame; ``column`` (or a label column) is absent;
        ``column`` is not numeric, has infinite values or no value at all.
    GeometryError
        ``areas`` has no CRS, or has missing, empty or non-polygonal geometries.

    See Also
    --------
    korean_font : The font registration used for all text.

    Notes
    -----
    Class membership uses upper-inclusive intervals, as in mapclassify [3]_: a value ``v``
    belongs to the first class ``i`` with ``v <= bins[i + 1]``. Quantile edges use linear
    interpolation (:func:`numpy.quantile`). Natural breaks are computed exactly by Fisher's
    dynamic programme [1]_ in :math:`O(k n^2)` time and :math:`O(k n)` memory for :math:`n`
    areas. The north arrow shows grid north of the map projection, which differs from true
    north by well under a degree over Korea in EPSG:5179.

    The font is set with :func:`matplotlib.rc_context` for the duration of the call only; the
    user's ``rcParams`` are restored afterwards.

    References
    ----------
    .. [1] Fisher, W. D. (1958). On grouping for maximum homogeneity. *Journal of the American
       Statistical Association*, 53(284), 789–798. https://doi.org/10.2307/2281952
    .. [2] Jenks, G. F. (1977). *Optimal data classification for choropleth maps*. Occasional
       Paper 2, Department of Geography, University of Kansas.
    .. [3] PySAL developers, "mapclassify: classification schemes for choropleth maps",
       https://pysal.org/mapclassify/

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> grid = gpd.GeoDataFrame(
    ...     {"rate": [1.0, 2.0, 4.0, None], "name": ["가", "나", "다", "라"]},
    ...     geometry=[box(x, 0, x + 1000, 1000) for x in range(0, 4000, 1000)],
    ...     crs="EPSG:5179",
    ... )
    >>> result = choropleth(grid, "rate", title="예시 지도\\nExample", k=3, labels="name")
    >>> result.counts.tolist(), result.n_missing
    ([1, 1, 1], 1)
    """
    fmt = _check_parameters(scheme, k, bins, dpi, path)
    values = _numeric_values(areas, column)
    _check_geometries(areas)
    if labels is not None:
        _require_column(areas, labels, "areas")
    if boundaries is not None:
        require_crs(boundaries, "boundaries")
        if boundary_labels is not None:
            _require_column(boundaries, boundary_labels, "boundaries")
    elif boundary_labels is not None:
        raise SpecificationError(
            "The 'boundary_labels' parameter of choropleth needs 'boundaries'. "
            "Got boundaries=None instead."
        )
    colormap = _colormap(cmap)

    missing = np.isnan(values)
    edges = _class_edges(values[~missing], scheme, k, bins)
    class_index = np.searchsorted(edges[1:-1], values[~missing], side="left")
    counts = np.bincount(class_index, minlength=len(edges) - 1)
    classes = pd.Series(pd.array([pd.NA] * len(values), dtype="Int64"), index=areas.index)
    classes[~missing] = class_index
    colours = colormap.resampled(len(counts))(np.arange(len(counts)))

    geoms = to_metric(areas, "areas").geometry
    outlines = None if boundaries is None else boundaries.to_crs(geoms.crs)

    with _figure_style():
        figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        ax.set_axis_off()
        geoms[~missing].plot(ax=ax, color=colours[class_index], edgecolor="white", linewidth=0.25)
        if missing.any():
            geoms[missing].plot(
                ax=ax,
                facecolor=_MISSING_FACE,
                edgecolor=_MISSING_EDGE,
                hatch="//////",
                linewidth=0.25,
            )
        if outlines is not None:
            outlines.plot(ax=ax, facecolor="none", edgecolor="#3a3a3a", linewidth=0.8)
        ax.set_aspect("equal")
        ax.margins(0.03)
        if labels is not None:
            _draw_labels(ax, geoms, areas[labels], fontsize=5.5)
        if boundary_labels is not None:
            _draw_labels(ax, outlines.geometry, outlines[boundary_labels], fontsize=8)

        handles = [
            Patch(facecolor=colour, edgecolor="#8c8c8c", linewidth=0.4, label=label)
            for colour, label in zip(colours, _class_labels(edges, counts), strict=True)
        ]
        if missing.any():
            handles.append(
                Patch(
                    facecolor=_MISSING_FACE,
                    edgecolor=_MISSING_EDGE,
                    hatch="//////",
                    linewidth=0.4,
                    label=f"{missing_label} ({int(missing.sum())})",
                )
            )
        ax.legend(
            handles=handles,
            title=column if legend_title is None else legend_title,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            frameon=False,
            alignment="left",
            fontsize=9,
            title_fontsize=10,
            handlelength=1.8,
            handleheight=1.2,
            labelspacing=0.5,
        )
        ax.set_title(title, loc="left", fontsize=15, pad=12, linespacing=1.4)
        _add_scale_bar(ax)
        _add_north_arrow(ax)
        if note is not None:
            ax.annotate(
                note,
                xy=(0.0, 0.0),
                xycoords="axes fraction",
                xytext=(0.0, -6.0),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=7.5,
                color="#666666",
            )

        written = None
        if path is not None:
            with atomic_path(path) as tmp:
                figure.savefig(tmp, format=fmt, dpi=dpi, facecolor="white")
            written = Path(path)

    return MapResult(
        figure=figure,
        path=written,
        scheme=scheme,
        bins=edges,
        counts=counts,
        n_missing=int(missing.sum()),
        classes=classes,
    )


def _check_parameters(
    scheme: str,
    k: int,
    bins: Sequence[float] | None,
    dpi: int,
    path: str | os.PathLike[str] | None,
) -> str:
    """Validate the parameters of :func:`choropleth`; return the image format to write."""
    if scheme not in SCHEMES:
        allowed = ", ".join(repr(s) for s in SCHEMES)
        raise SpecificationError(
            f"The 'scheme' parameter of choropleth must be one of {allowed}. "
            f"Got {scheme!r} instead."
        )
    if scheme == "fixed":
        if bins is None or len(bins) == 0:
            raise SpecificationError(
                "The 'bins' parameter of choropleth must be a non-empty sequence of break "
                f"points when scheme='fixed', e.g. bins=[5, 10, 20]. Got {bins!r} instead."
            )
        breaks = np.asarray(bins, dtype=float)
        if breaks.ndim != 1 or not np.all(np.isfinite(breaks)) or np.any(np.diff(breaks) <= 0):
            raise SpecificationError(
                "The 'bins' parameter of choropleth must be finite and strictly increasing. "
                f"Got {list(bins)!r} instead."
            )
    else:
        if bins is not None:
            raise SpecificationError(
                "The 'bins' parameter of choropleth is only used with scheme='fixed'. "
                f"Got bins={list(bins)!r} with scheme={scheme!r} instead."
            )
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
            raise SpecificationError(
                f"The 'k' parameter of choropleth must be an int >= 2. Got {k!r} instead."
            )
    if not dpi > 0:
        raise SpecificationError(
            f"The 'dpi' parameter of choropleth must be positive. Got {dpi!r} instead."
        )
    fmt = Path(path).suffix.lstrip(".").lower() if path is not None else ""
    formats = FigureCanvasAgg.get_supported_filetypes()
    if fmt and fmt not in formats:
        raise SpecificationError(
            "The 'path' parameter of choropleth must end in an image suffix such as .png, .pdf "
            f"or .svg (supported: {', '.join(sorted(formats))}). Got {str(path)!r} instead."
        )
    return fmt or "png"


def _require_column(frame: pd.DataFrame, column: str, source: str) -> None:
    """Raise :class:`DataError` naming ``column`` and the available columns if it is absent."""
    if column not in frame.columns:
        available = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
        raise DataError(
            f"Column {column!r} is not in {source}. Available columns: "
            f"{format_rows(available, limit=20)}. Fix: pass one of these names, or join the "
            "indicator onto the areas first (e.g. areas.merge(table, on='dong_code'))."
        )


def _numeric_values(areas: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """Return ``areas[column]`` as float with ``NaN`` for missing, or raise :class:`DataError`."""
    if not isinstance(areas, gpd.GeoDataFrame):
        raise DataError(
            f"areas must be a geopandas.GeoDataFrame, got {type(areas).__name__}. Fix: read "
            "boundaries with geopandas.read_file or build one with geopandas.GeoDataFrame(...)."
        )
    if len(areas) == 0:
        raise DataError("areas is empty (0 rows): there is nothing to map.")
    _require_column(areas, column, "areas")
    series = areas[column]
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        raise DataError(
            f"Column {column!r} has dtype {series.dtype}, not numbers, so it cannot be classed "
            f"for a choropleth. Fix: convert it, e.g. "
            f"areas[{column!r}] = pd.to_numeric(areas[{column!r}], errors='coerce')."
        )
    values = series.to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(values).all():
        raise DataError(
            f"Column {column!r} has no value in any of the {len(values)} areas (all missing). "
            "Fix: check the join that added it (codes as strings, same code year)."
        )
    infinite = np.isinf(values)
    if infinite.any():
        raise DataError(
            f"Column {column!r} has infinite values in rows "
            f"{format_rows(areas.index[infinite])}. Fix: set them to NaN (no data) or correct "
            "the division that produced them."
        )
    return values


def _check_geometries(areas: gpd.GeoDataFrame) -> None:
    """Raise :class:`GeometryError` for missing, empty or non-polygonal geometries."""
    geometry = areas.geometry
    bad = geometry.isna() | geometry.is_empty
    if bad.any():
        raise GeometryError(
            f"areas has missing or empty geometries in rows {format_rows(areas.index[bad])}; "
            "they cannot be drawn. Fix: drop or repair them first, e.g. "
            "areas[~(areas.geometry.isna() | areas.geometry.is_empty)]."
        )
    non_polygon = ~geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if non_polygon.any():
        raise GeometryError(
            "A choropleth needs polygons, but areas has "
            f"{', '.join(sorted(set(geometry.geom_type[non_polygon])))} geometries in rows "
            f"{format_rows(areas.index[non_polygon])}. Fix: aggregate points to areas first."
        )


def _colormap(cmap: str | Colormap) -> Colormap:
    """Look up ``cmap`` or raise :class:`SpecificationError`."""
    if isinstance(cmap, Colormap):
        return cmap
    try:
        return matplotlib.colormaps[cmap]
    except KeyError:
        raise SpecificationError(
            "The 'cmap' parameter of choropleth must be a matplotlib colormap name such as "
            f"'YlOrRd', 'Blues' or 'viridis'. Got {cmap!r} instead."
        ) from None


def _class_edges(
    values: np.ndarray, scheme: str, k: int, bins: Sequence[float] | None
) -> np.ndarray:
    """Class edges (length ``n_classes + 1``, increasing) for the non-missing ``values``."""
    lo, hi = float(values.min()), float(values.max())
    if scheme == "fixed":
        breaks = np.asarray(bins, dtype=float)
        return np.concatenate([[min(lo, breaks[0])], breaks, [max(hi, breaks[-1])]])
    if scheme == "quantiles":
        edges = np.quantile(values, np.linspace(0.0, 1.0, k + 1))
    elif scheme == "equal_interval":
        edges = np.linspace(lo, hi, k + 1)
    else:
        ordered = np.sort(values)
        n_distinct = len(np.unique(ordered))
        edges = np.concatenate([[lo], _fisher_jenks(ordered, min(k, n_distinct))])
    # Ties can repeat an upper bound; the lowest class may then hold a single value.
    edges = np.concatenate([[lo], np.unique(edges[1:])])
    if len(edges) - 1 < k:
        warnings.warn(
            f"scheme={scheme!r} gives only {len(edges) - 1} distinct classes instead of "
            f"k={k} because of tied values; the map shows {len(edges) - 1} classes.",
            DongneWarning,
            stacklevel=3,
        )
    return edges


def _fisher_jenks(ordered: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of the ``k`` classes minimising the within-class sum of squares.

    Fisher's (1958) exact dynamic programme on sorted values: ``cost[c][m]`` is the least sum
    of squared deviations splitting the first ``m`` values into ``c`` classes.
    """
    n = len(ordered)
    if k == 1:
        return ordered[-1:]
    centred = ordered - ordered.mean()  # limits cancellation in the prefix-sum variances
    s1 = np.concatenate([[0.0], np.cumsum(centred)])
    s2 = np.concatenate([[0.0], np.cumsum(centred**2)])
    sizes = np.arange(n + 1, dtype=float)
    sizes[0] = 1.0
    cost = s2 - s1**2 / sizes  # one class over the first m values
    start = np.zeros((k + 1, n + 1), dtype=np.intp)
    for c in range(2, k + 1):
        new = np.full(n + 1, np.inf)
        for m in range(c, n + 1) if c < k else (n,):
            split = np.arange(c - 1, m)
            span = m - split
            total = cost[split] + (s2[m] - s2[split]) - (s1[m] - s1[split]) ** 2 / span
            best = int(np.argmin(total))
            new[m] = total[best]
            start[c, m] = split[best]
        cost = new
    uppers, m = [], n
    for c in range(k, 0, -1):
        uppers.append(ordered[m - 1])
        m = start[c, m]
    return np.array(uppers[::-1])


def _decimals(edges: np.ndarray) -> int:
    """Fewest decimals (0–4) that show the edges exactly or at least keep them distinct."""
    for d in range(5):
        rounded = np.round(edges, d)
        if np.allclose(rounded, edges, rtol=0.0, atol=1e-9 * max(1.0, np.abs(edges).max())):
            return d
        if d >= 1 and np.all(np.diff(rounded) > 0):
            return d
    return 4


def _class_labels(edges: np.ndarray, counts: np.ndarray) -> list[str]:
    """Legend labels ``"lower – upper (count)"`` for each class."""
    d = _decimals(edges)
    text = [f"{edge:,.{d}f}" for edge in edges]
    return [
        f"{text[i]} ({n})" if text[i] == text[i + 1] else f"{text[i]} – {text[i + 1]} ({n})"
        for i, n in enumerate(counts)
    ]


def _draw_labels(ax: Axes, geoms: gpd.GeoSeries, text: pd.Series, fontsize: float) -> None:
    """Write ``text`` at a representative point inside each geometry, with a white halo."""
    points = geoms.representative_point()
    halo = [patheffects.withStroke(linewidth=2.0, foreground="white")]
    for point, label in zip(points, text, strict=True):
        if pd.isna(label):
            continue
        ax.text(
            point.x,
            point.y,
            str(label),
            fontsize=fontsize,
            ha="center",
            va="center",
            path_effects=halo,
            clip_on=True,
        )


def _nice_length(target: float) -> float:
    """Largest 1, 2 or 5 times a power of ten not above ``target`` (same unit)."""
    power = 10.0 ** math.floor(math.log10(target))
    return max(step * power for step in (1.0, 2.0, 5.0) if step * power <= target)


def _add_scale_bar(ax: Axes) -> None:
    """Add a scale bar about a fifth of the map width, labelled in km (or m), lower left."""
    x0, x1 = ax.get_xlim()
    length = _nice_length((x1 - x0) / 5.0)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    bar = AnchoredSizeBar(
        ax.transData,
        length,
        label,
        loc="lower left",
        pad=0.2,
        borderpad=0.4,
        sep=3,
        frameon=False,
        size_vertical=(x1 - x0) / 300.0,
        color=_TEXT,
        fontproperties=font_manager.FontProperties(size=8),
    )
    ax.add_artist(bar)


def _add_north_arrow(ax: Axes) -> None:
    """Add a small north arrow with an ``N`` in the upper right corner of the map."""
    ax.annotate(
        "",
        xy=(0.97, 0.94),
        xytext=(0.97, 0.84),
        xycoords="axes fraction",
        arrowprops={"arrowstyle": "-|>,head_width=0.3,head_length=0.6", "color": _TEXT, "lw": 1.4},
    )
    ax.text(0.97, 0.95, "N", transform=ax.transAxes, ha="center", va="bottom", fontsize=10)
