"""Dasymetric weights: how many people live in each piece of an overlay.

Area weighting assumes people are spread evenly over each source area; they are not (parks,
rivers, the Han's surface inside riverside dongs). A finer population layer — points, grid
cells or small polygons — says where they are, and each piece's share of a source's count
follows its share of the source's population instead of its area [1]_.

References
----------
.. [1] Mennis, J. (2003). Generating surface models of population using dasymetric mapping.
   *The Professional Geographer* 55(1), 31–42.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from dongne.errors import DataError, SpecificationError
from dongne.io.crs import require_crs

if TYPE_CHECKING:
    from dongne.regions.overlay import AreaOverlay

__all__ = ["piece_population", "raster_points"]


def raster_points(
    values: np.ndarray,
    transform: Sequence[float],
    crs: Any,
    *,
    nodata: float | None = None,
    column: str = "population",
) -> gpd.GeoDataFrame:
    """The cells of a population raster as points at their centres, for dasymetric weights.

    Parameters
    ----------
    values : 2-D array
        Population per cell (rows from the top, as rasters are stored).
    transform : sequence of 6 floats
        The affine transform ``(a, b, c, d, e, f)`` of the raster (rasterio's order):
        ``x = a·col + b·row + c``, ``y = d·col + e·row + f`` for the cell's corner.
    crs : any
        The raster's CRS.
    nodata : float, optional
        The raster's no-data value; such cells, NaN cells and zero cells are left out.
    column : str
        Name of the population column.

    Returns
    -------
    GeoDataFrame
        One point per populated cell with its population in ``column``.

    Examples
    --------
    >>> pts = raster_points(np.array([[1.0, 0.0], [2.0, 3.0]]), (100, 0, 0, 0, -100, 200),
    ...                     "EPSG:5179")
    >>> pts.get_coordinates().values.tolist(), pts["population"].tolist()
    ([[50.0, 150.0], [50.0, 50.0], [150.0, 50.0]], [1.0, 2.0, 3.0])
    """
    grid = np.asarray(values, dtype=float)
    if grid.ndim != 2 or len(transform) != 6:
        raise SpecificationError(
            "values must be a 2-D array and transform six numbers (a, b, c, d, e, f). Fix: "
            "pass the band and the transform as read by rasterio (src.read(1), src.transform)."
        )
    keep = np.isfinite(grid) & (grid != 0)
    if nodata is not None:
        keep &= grid != nodata
    if (grid[keep] < 0).any():
        raise DataError("The population raster has negative cells. Fix: give nodata=.")
    rows, cols = np.nonzero(keep)
    a, b, c, d, e, f = (float(v) for v in transform)
    x = a * (cols + 0.5) + b * (rows + 0.5) + c
    y = d * (cols + 0.5) + e * (rows + 0.5) + f
    return gpd.GeoDataFrame({column: grid[keep]}, geometry=shapely.points(x, y), crs=crs)


def _first_hit(tree: shapely.STRtree, geoms: np.ndarray, n: int) -> np.ndarray:
    """Position of the first polygon containing each point, -1 for none."""
    i, j = tree.query(geoms, predicate="intersects")
    out = np.full(n, -1, dtype=np.int64)
    first = np.unique(i, return_index=True)[1]
    out[i[first]] = j[first]
    return out


def _spread(fine: np.ndarray, counts: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """Sum over fine polygons of count × (area of fine ∩ coarse / area of fine), per coarse."""
    i, j = shapely.STRtree(coarse).query(fine, predicate="intersects")
    share = shapely.area(shapely.intersection(fine[i], coarse[j])) / shapely.area(fine[i])
    return np.bincount(j, counts[i] * share, minlength=len(coarse))


def piece_population(
    overlay: AreaOverlay,
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    population: gpd.GeoDataFrame,
    column: str | None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Population per piece and per source area, and notes on what fell outside."""
    require_crs(population, "the population layer")
    if len(source) != len(overlay.source_ids) or len(target) != len(overlay.target_ids):
        raise SpecificationError(
            "with_population needs the two layers the overlay was built from. Fix: pass the "
            "same source and target frames."
        )
    pop = population.to_crs(overlay.crs)
    src = np.asarray(source.to_crs(overlay.crs).geometry.array)
    tgt = np.asarray(target.to_crs(overlay.crs).geometry.array)
    if column is not None and column not in pop.columns:
        raise SpecificationError(
            f"The population layer has no column {column!r}. Columns: "
            f"{', '.join(map(str, pop.columns))}. Fix: name its count column."
        )
    geoms = np.asarray(pop.geometry.array)
    points = shapely.get_type_id(geoms) == 0
    if not points.all() and column is None:
        raise SpecificationError(
            "A polygon population layer needs the column with its counts. Fix: column='pop'."
        )
    counts = np.ones(len(pop)) if column is None else pop[column].to_numpy(dtype=float)
    bad = ~np.isfinite(counts) | (counts < 0)
    if bad.any():
        raise DataError(
            f"The population column {column!r} has {int(bad.sum())} missing or negative values "
            "(first rows: " + ", ".join(map(str, np.flatnonzero(bad)[:5])) + "). Fix: fill or "
            "remove them."
        )
    notes: list[str] = []
    if points.all():
        weight, source_weight = _points_weights(overlay, src, tgt, geoms, counts, notes)
    else:
        pieces = shapely.intersection(src[overlay.source], tgt[overlay.target])
        weight = _spread(geoms, counts, pieces)
        source_weight = _spread(geoms, counts, src)
    empty = np.flatnonzero(source_weight == 0)
    if len(empty):
        notes.append(
            f"{len(empty)} source area(s) have no population in the population layer; their "
            "counts fall back to area weights."
        )
    return weight, source_weight, notes


def _points_weights(
    overlay: AreaOverlay,
    src: np.ndarray,
    tgt: np.ndarray,
    geoms: np.ndarray,
    counts: np.ndarray,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    n = len(geoms)
    s = _first_hit(shapely.STRtree(src), geoms, n)
    t = _first_hit(shapely.STRtree(tgt), geoms, n)
    outside = s < 0
    if outside.any():
        notes.append(
            f"{int(outside.sum())} population point(s) ({counts[outside].sum():,.0f} people) lie "
            "outside every source area and were not used."
        )
    n_t = len(overlay.target_ids)
    keys = overlay.source * n_t + overlay.target
    both = (s >= 0) & (t >= 0)
    pos = np.searchsorted(keys, s[both] * n_t + t[both])
    found = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == s[both] * n_t + t[both])
    weight = np.bincount(pos[found], counts[both][found], minlength=len(keys))
    source_weight = np.bincount(s[~outside], counts[~outside], minlength=len(overlay.source_ids))
    return weight, source_weight
