"""Choropleth and category maps that render Hangul offline, drawn headless with Agg.

:func:`choropleth` maps a numeric column in classes; :func:`category_map` maps a column of
labels (LISA clusters, hot and cold spots, any qualitative variable) with a fixed colour per
label. Both share one layout: title, legend with counts, hatched "no data" entry, optional
outlines and labels, scale bar, north arrow and source note.

Every dongne figure uses the bundled NanumGothic font (SIL Open Font License, see
``fonts/OFL-NanumGothic.txt``) so that Korean place names and titles render on any machine,
with or without system fonts and without network access. Figures are built with the
object-oriented :class:`matplotlib.figure.Figure` and
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`, never through ``pyplot``, so no global
figure state is created and nothing needs a display.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager, patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap, is_color_like, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from dongne._fonts import korean_font
from dongne._warnings import user_stacklevel
from dongne.errors import DataError, DongneWarning, GeometryError, SpecificationError, format_rows
from dongne.io.atomic import atomic_path
from dongne.io.crs import require_crs, to_metric

__all__ = [
    "HOTSPOT_CATEGORIES",
    "LISA_CATEGORIES",
    "SCHEMES",
    "CategoryMapResult",
    "MapResult",
    "category_map",
    "choropleth",
    "korean_font",
    "save_png",
]

#: Classification schemes accepted by :func:`choropleth`.
SCHEMES = ("quantiles", "equal_interval", "natural_breaks", "fixed")

_TEXT = "#222222"
_MISSING_FACE = "#e3e3e3"
_MISSING_EDGE = "#9a9a9a"
_MISSING_HATCH = "//////"
_LEGEND_EDGE = "#8c8c8c"

# Entries shared by the ready-made palettes: no statistic was computed for these areas.
_NO_STATISTIC = {
    "island": ("#999999", "Island (no neighbours) / 고립 지역"),
    "undefined": (_MISSING_FACE, "Undefined / 값 없음", _MISSING_HATCH),
}

#: Palette for local Moran's I (LISA) cluster maps, for :func:`category_map`: label →
#: ``(colour, display label)`` or ``(colour, display label, hatch)``, in legend order. Keys
#: are the quadrants ``"HH"``, ``"LL"``, ``"LH"``, ``"HL"`` (value, spatial lag), then
#: ``"not significant"``, ``"island"`` (no neighbours) and ``"undefined"`` (no statistic,
#: drawn like missing data). Read-only; extend it with ``{**LISA_CATEGORIES, ...}``.
LISA_CATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "HH": ("#d7191c", "High-High / 고-고"),
        "LL": ("#2c7bb6", "Low-Low / 저-저"),
        "LH": ("#abd9e9", "Low-High / 저-고"),
        "HL": ("#fdae61", "High-Low / 고-저"),
        "not significant": ("#eeeeee", "Not significant / 유의하지 않음"),
        **_NO_STATISTIC,
    }
)

#: Palette for Getis–Ord Gi* hot and cold spot maps, for :func:`category_map`, in legend
#: order from hottest to coldest (ColorBrewer RdBu): ``"hot spot 99%"``, ``"hot spot 95%"``,
#: ``"hot spot 90%"``, ``"not significant"``, ``"cold spot 90%"``, ``"cold spot 95%"``,
#: ``"cold spot 99%"``, then ``"island"`` and ``"undefined"`` as in :data:`LISA_CATEGORIES`.
HOTSPOT_CATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "hot spot 99%": ("#b2182b", "Hot spot 99% / 핫스팟 신뢰수준 99%"),
        "hot spot 95%": ("#ef8a62", "Hot spot 95% / 핫스팟 신뢰수준 95%"),
        "hot spot 90%": ("#fddbc7", "Hot spot 90% / 핫스팟 신뢰수준 90%"),
        "not significant": ("#eeeeee", "Not significant / 유의하지 않음"),
        "cold spot 90%": ("#d1e5f0", "Cold spot 90% / 콜드스팟 신뢰수준 90%"),
        "cold spot 95%": ("#67a9cf", "Cold spot 95% / 콜드스팟 신뢰수준 95%"),
        "cold spot 99%": ("#2166ac", "Cold spot 99% / 콜드스팟 신뢰수준 99%"),
        **_NO_STATISTIC,
    }
)


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


@dataclass(frozen=True, eq=False)
class CategoryMapResult:
    """A drawn category map (see :func:`category_map`) and the count of each category.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The map, attached to an Agg canvas (``figure.savefig`` works; no ``pyplot`` state).
    path : pathlib.Path or None
        Where the image was written, or ``None`` when no ``path`` was given.
    counts : pandas.Series
        Number of areas per category (int), indexed by the keys of ``categories`` in legend
        order, categories without any area included with 0; sums to the number of areas
        with a label.
    n_missing : int
        Number of areas without a label, drawn grey and hatched.
    classes : pandas.Series
        Category of each area (``category`` dtype whose categories are the keys of
        ``categories``), ``NaN`` where the label is missing; indexed like the input ``areas``.
    """

    figure: Figure
    path: Path | None
    counts: pd.Series
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
        Largest figure width and height in inches. The figure is trimmed to its content so
        that the map's fixed aspect ratio leaves no empty band: the image is at most
        ``figsize * dpi`` pixels and one side usually keeps that size.

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
    category_map : The same layout for a column of labels (LISA clusters, hot spots).

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
    _check_scheme(scheme, k, bins)
    layout = _Layout(
        title=title,
        legend_title=column if legend_title is None else legend_title,
        path=path,
        boundaries=boundaries,
        labels=labels,
        boundary_labels=boundary_labels,
        note=note,
        dpi=dpi,
        figsize=figsize,
    )
    layout.check("choropleth", areas, column)
    values = _numeric_values(areas, column)
    colormap = _colormap(cmap)

    missing = np.isnan(values)
    edges = _class_edges(values[~missing], scheme, k, bins)
    class_index = np.searchsorted(edges[1:-1], values[~missing], side="left")
    counts = np.bincount(class_index, minlength=len(edges) - 1)
    classes = pd.Series(pd.array([pd.NA] * len(values), dtype="Int64"), index=areas.index)
    classes[~missing] = class_index
    colours = colormap.resampled(len(counts))(np.arange(len(counts)))

    face = np.tile(to_rgba(_MISSING_FACE), (len(values), 1))
    face[~missing] = colours[class_index]
    handles = [
        _legend_patch(colour, label)
        for colour, label in zip(
            colours, _class_labels(edges, counts, fixed=scheme == "fixed"), strict=True
        )
    ]
    figure, written = layout.draw(
        areas,
        face,
        np.where(missing, _MISSING_HATCH, ""),
        handles + _missing_entry(missing_label, missing),
    )
    return MapResult(
        figure=figure,
        path=written,
        scheme=scheme,
        bins=edges,
        counts=counts,
        n_missing=int(missing.sum()),
        classes=classes,
    )


def category_map(
    areas: gpd.GeoDataFrame,
    column: str,
    *,
    title: str,
    categories: Mapping[Hashable, object],
    legend_title: str | None = None,
    path: str | os.PathLike[str] | None = None,
    missing_label: str = "No data / 자료 없음",
    boundaries: gpd.GeoDataFrame | None = None,
    boundary_labels: str | None = None,
    labels: str | None = None,
    note: str | None = None,
    dpi: int = 150,
    figsize: tuple[float, float] = (9.0, 8.0),
    windows: gpd.GeoDataFrame | None = None,
) -> CategoryMapResult:
    """Draw a map of the labels in ``column``, one fixed colour per label, with counts.

    The qualitative counterpart of :func:`choropleth`, for LISA cluster maps, Gi* hot and cold
    spot maps or any categorical variable. ``categories`` fixes the colour, the legend text and
    the legend order of every label. Each legend entry ends with its number of areas, and every
    category is listed even when no area has it (count 0), so that maps drawn with the same
    ``categories`` — two years, two weights — share one legend. Areas without a label are
    drawn light grey and hatched, with their own entry and count. Layout, projection, font and
    file writing are those of :func:`choropleth`.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        Polygons (or multipolygons) with a CRS, one row per area; or points (one row per
        site, drawn as dots), e.g. the coordinates a scan statistic was run on.
    column : str
        Column of ``areas`` holding each area's label, usually text (``"HH"``,
        ``"not significant"``, ...). ``NaN`` / ``None`` / ``<NA>`` mean "no data".
    title : str
        Map title; may span two lines, e.g. ``"반지하 가구 비율 LISA 군집\\nLISA clusters"``.
    categories : mapping
        Label → style, in legend order. A style is a matplotlib colour (``"#d7191c"``,
        ``"tab:red"``, an RGB tuple), a ``(colour, display label)`` tuple, or a
        ``(colour, display label, hatch)`` tuple with a matplotlib hatch pattern such as
        ``"//"``; the legend shows the display label (default: the label itself). Use
        :data:`LISA_CATEGORIES` or :data:`HOTSPOT_CATEGORIES`, or extend them, e.g.
        ``{**LISA_CATEGORIES, "HH": ("#b30000", "Hot cluster / 고-고")}``.
    legend_title : str, optional
        Title of the legend; defaults to ``column``.
    path : str or os.PathLike, optional
        Write the figure there, atomically (a reader never sees a partial file). The format
        follows the suffix (``.png``, ``.pdf``, ``.svg``); PNG when there is none.
    missing_label : str
        Legend text for areas without a label (the count is appended). The entry is shown only
        when at least one area has no label.
    boundaries : geopandas.GeoDataFrame, optional
        Outlines drawn on top, e.g. the gu containing the mapped dong; reprojected to the map's
        CRS.
    boundary_labels : str, optional
        Column of ``boundaries`` written at a representative point inside each boundary polygon.
    labels : str, optional
        Column of ``areas`` whose text is written at a representative point inside each area
        (missing values get no label).
    note : str, optional
        Small text under the map, for the data source and attribution.
    dpi : int
        Resolution of the written image, dots per inch.
    figsize : tuple of float
        Largest figure width and height in inches. The figure is trimmed to its content so
        that the map's fixed aspect ratio leaves no empty band: the image is at most
        ``figsize * dpi`` pixels and one side usually keeps that size.
    windows : geopandas.GeoDataFrame, optional
        Shapes outlined on top in the colour of their category, e.g. the circles of scan
        clusters; must have the label column ``column`` (labels that are not keys of
        ``categories`` are refused).

    Returns
    -------
    CategoryMapResult
        The figure, the written path (or ``None``), the number of areas per category (zeros
        included), ``n_missing`` and the category of each area.

    Raises
    ------
    SpecificationError
        ``categories`` empty, not a mapping, with a missing-value key or a style that is not a
        colour; non-positive ``dpi``; unsupported ``path`` suffix; ``boundary_labels`` without
        ``boundaries``.
    DataError
        ``areas`` is empty or not a GeoDataFrame; ``column`` (or a label column) is absent;
        ``column`` has no label at all, or labels that are not keys of ``categories`` (the
        message lists them with their counts).
    GeometryError
        ``areas`` has no CRS, or has missing or empty geometries, or mixes points and
        polygons (or holds lines).

    See Also
    --------
    choropleth : The same map for a numeric column, in classes.
    LISA_CATEGORIES, HOTSPOT_CATEGORIES : Ready-made palettes.

    Notes
    -----
    Labels are matched to the keys of ``categories`` by equality, so ``"HH"`` and ``"hh"``
    differ. Categories with a hatch pattern (``"undefined"`` in the ready-made palettes) are
    outlined in the grey of the "no data" style so that the hatching shows. The LISA colours
    follow the conventional cluster map of GeoDa [1]_ (red High-High, blue Low-Low, light
    blue and light red outliers), the hot spot colours the diverging ColorBrewer RdBu
    scheme [2]_.

    References
    ----------
    .. [1] Anselin, L. (1995). Local indicators of spatial association — LISA. *Geographical
       Analysis*, 27(2), 93–115. https://doi.org/10.1111/j.1538-4632.1995.tb00338.x
    .. [2] Brewer, C. A., Harrower, M. and The Pennsylvania State University, "ColorBrewer 2.0",
       https://colorbrewer2.org

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> grid = gpd.GeoDataFrame(
    ...     {"cluster": ["HH", "HH", "LL", "not significant", None]},
    ...     geometry=[box(x, 0, x + 1000, 1000) for x in range(0, 5000, 1000)],
    ...     crs="EPSG:5179",
    ... )
    >>> result = category_map(
    ...     grid, "cluster", title="LISA 군집\\nLISA clusters", categories=LISA_CATEGORIES
    ... )
    >>> result.counts.to_dict()
    {'HH': 2, 'LL': 1, 'LH': 0, 'HL': 0, 'not significant': 1, 'island': 0, 'undefined': 0}
    >>> result.n_missing
    1
    """
    styles = _category_styles(categories)
    layout = _Layout(
        title=title,
        legend_title=column if legend_title is None else legend_title,
        path=path,
        boundaries=boundaries,
        labels=labels,
        boundary_labels=boundary_labels,
        note=note,
        dpi=dpi,
        figsize=figsize,
    )
    layout.check("category_map", areas, column, points=True)
    classes = _category_values(areas, column, styles)
    if windows is not None:
        require_crs(windows, "windows")
        _require_column(windows, column, "windows")
        window_classes = _category_values(windows, column, styles).cat.codes.to_numpy()
        layout = replace(
            layout,
            windows=windows.to_crs(to_metric(areas, "areas").crs),
            window_colours=[list(styles.values())[k].face for k in window_classes],
        )

    missing = classes.isna().to_numpy()
    codes = classes.cat.codes.to_numpy()
    counts = pd.Series(
        np.bincount(codes[~missing], minlength=len(styles)),
        index=pd.Index(list(styles), name="category"),
        name="count",
    )
    style_face = np.array([style.face for style in styles.values()])
    style_hatch = np.array([style.hatch for style in styles.values()], dtype=object)
    face = np.where(missing[:, None], to_rgba(_MISSING_FACE), style_face[codes])
    hatch = np.where(missing, _MISSING_HATCH, style_hatch[codes])
    handles = [
        _legend_patch(style.face, f"{style.label} ({n})", style.hatch)
        for style, n in zip(styles.values(), counts, strict=True)
    ]
    figure, written = layout.draw(
        areas, face, hatch, handles + _missing_entry(missing_label, missing)
    )
    return CategoryMapResult(
        figure=figure,
        path=written,
        counts=counts,
        n_missing=int(missing.sum()),
        classes=classes,
    )


def _check_scheme(scheme: str, k: int, bins: Sequence[float] | None) -> None:
    """Validate the classification parameters of :func:`choropleth`."""
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


def _require_column(frame: pd.DataFrame, column: str, source: str) -> None:
    """Raise :class:`DataError` naming ``column`` and the available columns if it is absent."""
    if column not in frame.columns:
        available = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
        raise DataError(
            f"Column {column!r} is not in {source}. Available columns: "
            f"{format_rows(available, limit=20)}. Fix: pass one of these names, or join the "
            "indicator onto the areas first (e.g. areas.merge(table, on='dong_code'))."
        )


def _require_some_value(column: str, missing: np.ndarray) -> None:
    """Raise :class:`DataError` when ``column`` has no value in any area."""
    if missing.all():
        raise DataError(
            f"Column {column!r} has no value in any of the {len(missing)} areas (all missing). "
            "Fix: check the join that added it (codes as strings, same code year)."
        )


def _numeric_values(areas: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """Return ``areas[column]`` as float with ``NaN`` for missing, or raise :class:`DataError`."""
    series = areas[column]
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        raise DataError(
            f"Column {column!r} has dtype {series.dtype}, not numbers, so it cannot be classed "
            f"for a choropleth. Fix: convert it, e.g. "
            f"areas[{column!r}] = pd.to_numeric(areas[{column!r}], errors='coerce'), or draw "
            "labels with category_map."
        )
    values = series.to_numpy(dtype=float, na_value=np.nan)
    _require_some_value(column, np.isnan(values))
    infinite = np.isinf(values)
    if infinite.any():
        raise DataError(
            f"Column {column!r} has infinite values in rows "
            f"{format_rows(areas.index[infinite])}. Fix: set them to NaN (no data) or correct "
            "the division that produced them."
        )
    return values


@dataclass(frozen=True)
class _Style:
    """How one category is drawn: RGBA fill, legend text and hatch pattern (``""``: none)."""

    face: tuple[float, float, float, float]
    label: str
    hatch: str = ""


def _category_styles(categories: Mapping[Hashable, object]) -> dict[Hashable, _Style]:
    """Parse the ``categories`` of :func:`category_map`, or raise :class:`SpecificationError`."""
    if not isinstance(categories, Mapping) or len(categories) == 0:
        raise SpecificationError(
            "The 'categories' parameter of category_map must be a non-empty mapping of label "
            "to colour in legend order, e.g. {'HH': '#d7191c', 'LL': ('#2c7bb6', 'Low-Low')} "
            f"or LISA_CATEGORIES. Got {categories!r} instead."
        )
    styles = {}
    for key, value in categories.items():
        if key is None or (isinstance(key, float) and math.isnan(key)):
            raise SpecificationError(
                "The 'categories' parameter of category_map cannot have a missing-value key "
                f"({key!r}): areas without a label get their own legend entry, named by "
                "'missing_label'."
            )
        colour, label, hatch = value, str(key), ""
        if isinstance(value, tuple) and len(value) in (2, 3) and isinstance(value[1], str):
            colour, label, *rest = value
            hatch = rest[0] if rest else ""
        if not is_color_like(colour) or not isinstance(hatch, str):
            raise SpecificationError(
                "The 'categories' parameter of category_map must map each label to a "
                "matplotlib colour, a (colour, display label) tuple or a (colour, display "
                f"label, hatch) tuple. Got {key!r}: {value!r} instead."
            )
        styles[key] = _Style(to_rgba(colour), label, hatch)
    return styles


def _category_values(
    areas: gpd.GeoDataFrame, column: str, styles: Mapping[Hashable, _Style]
) -> pd.Series:
    """``areas[column]`` as a categorical with the keys of ``styles`` as categories."""
    series = areas[column].astype(object)
    missing = series.isna()
    _require_some_value(column, missing.to_numpy())
    unknown = series[~missing & ~series.isin(list(styles))]
    if len(unknown) > 0:
        found = unknown.value_counts(sort=False)
        listing = ", ".join(
            f"{label!r} ({n} {'area' if n == 1 else 'areas'})" for label, n in found.items()
        )
        example = found.index[0]
        raise DataError(
            f"Column {column!r} has labels that are not in categories: {listing}, in rows "
            f"{format_rows(unknown.index)}. The categories are "
            f"{', '.join(repr(key) for key in styles)}. Fix: add each label with its colour, "
            f"e.g. categories={{**categories, {example!r}: '#984ea3'}}, or recode the column, "
            f"e.g. areas[{column!r}].replace({{{example!r}: {next(iter(styles))!r}}})."
        )
    return pd.Series(
        pd.Categorical(series.where(~missing), categories=list(styles)),
        index=areas.index,
        name=column,
    )


def _check_geometries(areas: gpd.GeoDataFrame, points: bool = False) -> None:
    """Raise :class:`GeometryError` for missing, empty or non-polygonal geometries.

    With ``points``, a layer of points only (no mix with polygons) is accepted too.
    """
    geometry = areas.geometry
    bad = geometry.isna() | geometry.is_empty
    if bad.any():
        raise GeometryError(
            f"areas has missing or empty geometries in rows {format_rows(areas.index[bad])}; "
            "they cannot be drawn. Fix: drop or repair them first, e.g. "
            "areas[~(areas.geometry.isna() | areas.geometry.is_empty)]."
        )
    non_polygon = ~geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if points and geometry.geom_type.eq("Point").all():
        return
    if non_polygon.any():
        raise GeometryError(
            "A map needs polygons, but areas has "
            f"{', '.join(sorted(set(geometry.geom_type[non_polygon])))} geometries in rows "
            f"{format_rows(areas.index[non_polygon])}. Fix: aggregate points to areas first."
        )


def _legend_patch(face: object, label: str, hatch: str = "") -> Patch:
    """A legend swatch; hatched ones get the grey "no data" outline so the hatching shows."""
    return Patch(
        facecolor=face,
        edgecolor=_MISSING_EDGE if hatch else _LEGEND_EDGE,
        hatch=hatch or None,
        linewidth=0.4,
        label=label,
    )


def _missing_entry(label: str, missing: np.ndarray) -> list[Patch]:
    """The legend entry ``"label (n)"`` for areas without a value; none when there are none."""
    n = int(missing.sum())
    return [_legend_patch(_MISSING_FACE, f"{label} ({n})", _MISSING_HATCH)] if n else []


@dataclass(frozen=True)
class _Layout:
    """Options shared by every map: validated by :meth:`check`, drawn by :meth:`draw`."""

    title: str
    legend_title: str
    path: str | os.PathLike[str] | None
    boundaries: gpd.GeoDataFrame | None
    labels: str | None
    boundary_labels: str | None
    note: str | None
    dpi: int
    figsize: tuple[float, float]
    windows: gpd.GeoDataFrame | None = None
    window_colours: list | None = None

    @property
    def fmt(self) -> str:
        """Image format to write: the suffix of ``path``, PNG when there is none."""
        suffix = Path(self.path).suffix if self.path is not None else ""
        return suffix.lstrip(".").lower() or "png"

    def check(
        self, func: str, areas: gpd.GeoDataFrame, column: str, points: bool = False
    ) -> None:
        """Validate the options, ``areas`` and ``column`` for the map function ``func``
        (``points``: a layer of points is drawn as dots)."""
        if not self.dpi > 0:
            raise SpecificationError(
                f"The 'dpi' parameter of {func} must be positive. Got {self.dpi!r} instead."
            )
        formats = FigureCanvasAgg.get_supported_filetypes()
        if self.path is not None and self.fmt not in formats:
            raise SpecificationError(
                f"The 'path' parameter of {func} must end in an image suffix such as .png, "
                f".pdf or .svg (supported: {', '.join(sorted(formats))}). "
                f"Got {str(self.path)!r} instead."
            )
        if not isinstance(areas, gpd.GeoDataFrame):
            raise DataError(
                f"areas must be a geopandas.GeoDataFrame, got {type(areas).__name__}. Fix: "
                "read boundaries with geopandas.read_file or build one with "
                "geopandas.GeoDataFrame(...)."
            )
        if len(areas) == 0:
            raise DataError("areas is empty (0 rows): there is nothing to map.")
        _require_column(areas, column, "areas")
        _check_geometries(areas, points=points)
        if self.labels is not None:
            _require_column(areas, self.labels, "areas")
        if self.boundaries is not None:
            require_crs(self.boundaries, "boundaries")
            if self.boundary_labels is not None:
                _require_column(self.boundaries, self.boundary_labels, "boundaries")
        elif self.boundary_labels is not None:
            raise SpecificationError(
                f"The 'boundary_labels' parameter of {func} needs 'boundaries'. "
                "Got boundaries=None instead."
            )

    def draw(
        self, areas: gpd.GeoDataFrame, face: np.ndarray, hatch: np.ndarray, handles: list[Patch]
    ) -> tuple[Figure, Path | None]:
        """Draw the map, write it to ``path`` if given; return the figure and the written path.

        ``face`` holds one RGBA fill per area, ``hatch`` one hatch pattern per area (``""``
        for none); hatched areas are outlined in grey, the others in white. ``handles`` are
        the legend entries, top to bottom.
        """
        geoms = to_metric(areas, "areas").geometry
        outlines = None if self.boundaries is None else self.boundaries.to_crs(geoms.crs)

        with _figure_style():
            figure = Figure(figsize=self.figsize, dpi=self.dpi, layout="constrained")
            FigureCanvasAgg(figure)
            ax = figure.add_subplot()
            ax.set_axis_off()
            plain = hatch == ""
            dots = bool(geoms.geom_type.eq("Point").all())
            if dots:  # sites, not areas: a dot each, missing ones hollow
                geoms[plain].plot(
                    ax=ax, color=face[plain], edgecolor="#333333", linewidth=0.3, markersize=16
                )
                if (~plain).any():
                    geoms[~plain].plot(
                        ax=ax, facecolor="none", edgecolor=_MISSING_EDGE, markersize=16
                    )
            elif plain.any():
                geoms[plain].plot(ax=ax, color=face[plain], edgecolor="white", linewidth=0.25)
            for pattern in [] if dots else pd.unique(hatch[~plain]):
                group = hatch == pattern
                geoms[group].plot(
                    ax=ax,
                    facecolor=face[group],
                    edgecolor=_MISSING_EDGE,
                    hatch=pattern,
                    linewidth=0.25,
                )
            if outlines is not None:
                outlines.plot(ax=ax, facecolor="none", edgecolor="#3a3a3a", linewidth=0.8)
            if self.windows is not None and len(self.windows):
                self.windows.plot(
                    ax=ax,
                    facecolor="none",
                    edgecolor=self.window_colours,
                    linewidth=1.4,
                    linestyle="--",
                )
            ax.set_aspect("equal")
            ax.margins(0.03)
            if self.labels is not None:
                _draw_labels(ax, geoms, areas[self.labels], fontsize=5.5)
            if self.boundary_labels is not None:
                _draw_labels(ax, outlines.geometry, outlines[self.boundary_labels], fontsize=8)

            ax.legend(
                handles=handles,
                title=self.legend_title,
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
            ax.set_title(self.title, loc="left", fontsize=15, pad=12, linespacing=1.4)
            _add_scale_bar(ax)
            _add_north_arrow(ax)
            if self.note is not None:
                ax.annotate(
                    self.note,
                    xy=(0.0, 0.0),
                    xycoords="axes fraction",
                    xytext=(0.0, -6.0),
                    textcoords="offset points",
                    ha="left",
                    va="top",
                    fontsize=7.5,
                    color="#666666",
                )

            # Constrained layout converges over successive draws when the axes has a fixed
            # aspect; without these passes a wide legend can stick out of some figure sizes.
            for _ in range(2):
                figure.draw_without_rendering()
            _trim_empty_bands(figure)
            written = None
            if self.path is not None:
                with atomic_path(self.path) as tmp:
                    figure.savefig(tmp, format=self.fmt, dpi=self.dpi, facecolor="white")
                written = Path(self.path)
        return figure, written


#: White margin (inches) kept around the content when a figure is trimmed to it.
_TRIM_PAD = 0.12


def _trim_empty_bands(figure: Figure) -> None:
    """Shrink ``figure`` to its content so that no empty band is left above, below or beside.

    A map has a fixed aspect ratio, so in a figure of another shape constrained layout leaves
    white bands (a wide city in a square figure: bands above and below). The figure keeps its
    size where the content fills it and is cut to the content plus :data:`_TRIM_PAD` where it
    does not; the layout is then redone.
    """
    width, height = figure.get_size_inches()
    for _ in range(2):
        tight = figure.get_tightbbox(figure.canvas.get_renderer())
        new_w = min(width, tight.width + 2 * _TRIM_PAD)
        new_h = min(height, tight.height + 2 * _TRIM_PAD)
        if new_w > width - 0.02 and new_h > height - 0.02:
            return
        figure.set_size_inches(new_w, new_h)
        width, height = new_w, new_h
        for _ in range(2):
            figure.draw_without_rendering()


def save_png(figure: Figure, path: str | os.PathLike[str], *, dpi: int = 150, **options) -> Path:
    """Write ``figure`` as a PNG on a white background, atomically (temporary file + rename).

    ``options`` go to :meth:`matplotlib.figure.Figure.savefig` (e.g. ``bbox_inches="tight"``).
    Returns the path written.
    """
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi, facecolor="white", **options)
    return Path(path)


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
            stacklevel=user_stacklevel(),
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


def _class_labels(edges: np.ndarray, counts: np.ndarray, fixed: bool = False) -> list[str]:
    """Legend labels ``"lower – upper (count)"`` for each class.

    A class of tied values shows its one value. With ``fixed`` breaks an outer class that no
    value widens (the data stay inside the breaks) is ``"≤ first break"`` or
    ``"> last break"``: it is an open interval, not the break value itself.
    """
    d = _decimals(edges)
    text = [f"{edge:,.{d}f}" for edge in edges]
    last = len(counts) - 1
    labels = []
    for i, n in enumerate(counts):
        if text[i] != text[i + 1]:
            labels.append(f"{text[i]} – {text[i + 1]} ({n})")
        elif fixed and i == last:
            labels.append(f"> {text[i]} ({n})")
        elif fixed and i == 0:
            labels.append(f"≤ {text[i + 1]} ({n})")
        else:
            labels.append(f"{text[i]} ({n})")
    return labels


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
