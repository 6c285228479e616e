"""Point patterns: events or sites in a study area, with the null intensity they are tested against.

A :class:`PointPattern` holds the points (projected to metres), the study area (a polygon layer
such as the city's dongs, or the convex hull of the points) and a raster of the study area
that carries the null hypothesis: every cell inside the area gets a share of the expected
points — equal shares per unit area for complete spatial randomness (a homogeneous Poisson
process), or shares proportional to a background population (areas with a population column)
or to the smoothed density of control points (an inhomogeneous Poisson process). Monte Carlo
procedures draw their null patterns from this raster, and the significant-cluster test reads
the expected count of a cluster's footprint from it, so the two always agree.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from dongne._warnings import user_stacklevel
from dongne.errors import DataError, GeometryError, SpecificationError, UnmatchedWarning
from dongne.io.crs import require_crs, to_metric
from dongne.io.points import select_points

__all__ = ["PointPattern", "point_pattern"]

#: Largest number of raster cells chosen by default (the cell size grows to stay below it).
MAX_CELLS = 500_000


@dataclass(frozen=True, eq=False)
class PointPattern:
    """Points in a study area with the raster of their null intensity.

    Attributes
    ----------
    points : geopandas.GeoDataFrame
        The points inside the study area, in a metric CRS (the input rows, in order, with
        their columns; ``attrs["dongne"]["selection"]`` says what was left out).
    window : shapely geometry
        The study area (metres).
    cell_size : float
        Width of the raster cells (metres).
    origin : tuple of float
        Lower-left corner (x0, y0) of the raster.
    shape : tuple of int
        (ny, nx): rows and columns of the raster.
    weight : numpy.ndarray
        Null share of every cell (flat, row-major from the lower-left corner); 0 outside the
        study area; sums to 1.
    null : str
        ``"homogeneous"``, ``"population:<column>"`` or ``"controls"``.
    """

    points: gpd.GeoDataFrame
    window: Any
    cell_size: float
    origin: tuple[float, float]
    shape: tuple[int, int]
    weight: np.ndarray
    null: str
    _cells: np.ndarray = field(repr=False)
    _cum: np.ndarray = field(repr=False)

    @property
    def xy(self) -> np.ndarray:
        """Coordinates of the points, shape (n, 2), metres."""
        return shapely.get_coordinates(self.points.geometry.to_numpy())

    @property
    def n(self) -> int:
        """Number of points."""
        return len(self.points)

    @property
    def area(self) -> float:
        """Area of the study area (m²)."""
        return float(self.window.area)

    @property
    def intensity(self) -> float:
        """Mean intensity n / area (points per m²)."""
        return self.n / self.area

    @property
    def crs(self):
        """The metric CRS of the points."""
        return self.points.crs

    def raster_args(self) -> tuple:
        """(cum, cells, x0, y0, h, nx, ny, weight) as the kernels take them."""
        ny, nx = self.shape
        x0, y0 = self.origin
        return self._cum, self._cells, x0, y0, self.cell_size, nx, ny, self.weight

    def simulate(self, seed: int, replication: int, n: int | None = None) -> np.ndarray:
        """Replication ``replication`` of the null process with ``n`` points (default: as many
        as observed), as the Monte Carlo procedures draw it; shape (n, 2)."""
        from dongne.points._kernels import simulate_points

        cum, cells, x0, y0, h, nx, _ny, _w = self.raster_args()
        x, y = simulate_points(
            int(self.n if n is None else n), cum, cells, x0, y0, h, nx, seed, replication
        )
        return np.column_stack([x, y])


def point_pattern(
    points: gpd.GeoDataFrame,
    area: gpd.GeoDataFrame | None = None,
    *,
    background: gpd.GeoDataFrame | None = None,
    population: str | None = None,
    cell_size: float | None = None,
    outside: str = "drop",
) -> PointPattern:
    """Build a :class:`PointPattern` from points, a study area and an optional background.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points with a CRS (e.g. from :func:`dongne.io.read_points`); reprojected to metres
        (EPSG:5179 in Korea, otherwise the local UTM zone).
    area : geopandas.GeoDataFrame, optional
        The study area as polygons (their union), e.g. the city's dongs. Default: the convex
        hull of the points. Points outside it are reported and, with ``outside="drop"``, left
        out (:func:`dongne.io.select_points`).
    background : geopandas.GeoDataFrame, optional
        The inhomogeneous null: polygons with a ``population`` column (expected points
        proportional to population, spread evenly within each polygon) or points (controls:
        expected points proportional to their Gaussian-smoothed density, Scott's bandwidth).
        Default: complete spatial randomness (a homogeneous Poisson process).
    population : str, optional
        Column of ``background`` polygons holding the population at risk.
    cell_size : float, optional
        Raster cell width in metres. Default: the smallest width that keeps the raster at
        or under 500,000 cells.
    outside : {"drop", "keep", "raise"}
        What to do with points outside the study area.

    Returns
    -------
    PointPattern

    Raises
    ------
    GeometryError
        No CRS, or non-point geometries.
    DataError
        Fewer than 3 points, a population column that is missing, negative or all zero.
    SpecificationError
        A non-positive ``cell_size``.

    Examples
    --------
    >>> from dongne.datasets import seoul_dongs, seoul_heat_shelters
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     pp = point_pattern(seoul_heat_shelters(), seoul_dongs())
    >>> pp.n, pp.null, round(pp.area / 1e6)
    (4122, 'homogeneous', 607)
    """
    require_crs(points, "the points")
    if len(points) and not (points.geometry.geom_type.dropna() == "Point").all():
        raise GeometryError("The points layer holds non-point geometries. Fix: pass points.")
    metric = to_metric(points, "the points")
    if area is not None:
        area_m = area.to_crs(metric.crs)
        kept = select_points(
            metric,
            areas=area_m,
            outside=outside,
            what="points",
            what_ko="점",
            argument_names={"outside": "outside"},
        )
        window = shapely.make_valid(area_m.geometry.union_all())
    else:
        kept = select_points(metric, what="points", what_ko="점")
        located = kept[kept.geometry.notna() & ~kept.geometry.is_empty]
        if len(located) < len(kept):
            raise DataError(
                f"{len(kept) - len(located)} points have no coordinates and no study area was "
                "given. Fix: pass area= (a polygon layer) to report and leave them out."
            )
        window = shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(kept.geometry)))
    if len(kept) < 3:
        raise DataError(f"{len(kept)} points in the study area: at least 3 are needed.")
    if window.area <= 0:
        raise GeometryError("The study area has no area (the points lie on a line).")
    h = _cell_size(window, cell_size)
    x0, y0, x1, y1 = window.bounds
    nx, ny = int(np.ceil((x1 - x0) / h)), int(np.ceil((y1 - y0) / h))
    cx = x0 + (np.arange(nx) + 0.5) * h
    cy = y0 + (np.arange(ny) + 0.5) * h
    gx, gy = np.meshgrid(cx, cy)
    shapely.prepare(window)
    inside = shapely.contains_xy(window, gx.ravel(), gy.ravel())
    weight, null = _null_weights(
        inside, gx.ravel(), gy.ravel(), h, (ny, nx), background, population, metric.crs
    )
    cells = np.flatnonzero(weight > 0)
    cum = np.cumsum(weight[cells])
    cum /= cum[-1]
    return PointPattern(kept, window, h, (x0, y0), (ny, nx), weight, null, cells, cum)


def _cell_size(window: Any, cell_size: float | None) -> float:
    if cell_size is None:
        x0, y0, x1, y1 = window.bounds
        return float(np.sqrt((x1 - x0) * (y1 - y0) / MAX_CELLS))
    if not (isinstance(cell_size, int | float) and np.isfinite(cell_size) and cell_size > 0):
        raise SpecificationError(
            f"cell_size must be a positive number of metres. Got {cell_size!r}. "
            "Fix: pass cell_size=50."
        )
    return float(cell_size)


def _null_weights(
    inside: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    h: float,
    shape: tuple[int, int],
    background: gpd.GeoDataFrame | None,
    population: str | None,
    crs: Any,
) -> tuple[np.ndarray, str]:
    """Null share of every cell: even, by population density, or by smoothed control density."""
    if background is None:
        weight = inside.astype(float)
        return weight / weight.sum(), "homogeneous"
    require_crs(background, "the background")
    bg = background.to_crs(crs)
    kinds = set(bg.geometry.geom_type.dropna())
    if kinds <= {"Point"}:
        xy = shapely.get_coordinates(bg.geometry.to_numpy())
        sd = np.sqrt(xy.var(axis=0).mean())
        bandwidth = sd * len(xy) ** (-1 / 6)
        ny, nx = shape
        col = np.clip(((xy[:, 0] - cx[0]) / h + 0.5).astype(int), 0, nx - 1)
        row = np.clip(((xy[:, 1] - cy[0]) / h + 0.5).astype(int), 0, ny - 1)
        counts = np.zeros(shape)
        np.add.at(counts, (row, col), 1.0)
        weight = ndimage.gaussian_filter(counts, bandwidth / h, mode="constant").ravel()
        weight = np.where(inside, weight, 0.0)
        return weight / weight.sum(), "controls"
    return _population_weights(inside, cx, cy, bg, population), f"population:{population}"


def _population_weights(
    inside: np.ndarray, cx: np.ndarray, cy: np.ndarray, bg: gpd.GeoDataFrame, population: str | None
) -> np.ndarray:
    if population is None or population not in bg.columns:
        raise DataError(
            f"The background polygons have no population column {population!r}. Columns: "
            f"{', '.join(map(str, bg.columns))}. Fix: pass population='column'."
        )
    pop = pd.to_numeric(bg[population], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(pop) | (pop < 0)
    if bad.any() or pop.sum() <= 0:
        rows = np.flatnonzero(bad)[:10] + 1
        raise DataError(
            f"Background column {population!r}: missing or negative values (features "
            f"{', '.join(map(str, rows))}) or no population at all. Fix: pass population= "
            "with a complete, non-negative column."
        )
    density = pop / bg.geometry.area.to_numpy()
    idx = np.flatnonzero(inside)
    tree = shapely.STRtree(bg.geometry.to_numpy())
    pts = shapely.points(cx[idx], cy[idx])
    cell_i, poly_i = tree.query(pts, predicate="within")
    weight = np.zeros(len(inside))
    weight[idx[cell_i]] = density[poly_i]
    uncovered = len(idx) - len(np.unique(cell_i))
    if uncovered:
        warnings.warn(
            f"{uncovered} of {len(idx)} raster cells of the study area lie in no background "
            "polygon and get no expected points.",
            UnmatchedWarning,
            stacklevel=user_stacklevel(),
        )
    return weight / weight.sum()
