"""Inputs of the location models: demand, sites, distances, and the helpers that make them.

A :class:`LocationProblem` holds the demand units (weights, optional groups), the sites —
existing facilities, always open, followed by the candidate sites — and the way to measure
distance between them: planar coordinates in a metric CRS (straight-line metres) or a
user-supplied cost matrix (e.g. network travel times in minutes). Coverage structures are
sparse (a KD-tree finds the pairs within a radius); a dense demand × site matrix is built only
for the median and center models and only when it fits (``max_dense`` entries).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy import sparse
from scipy.spatial import cKDTree

from dongne.errors import DataError, GeometryError, SpecificationError, format_rows
from dongne.io.crs import metric_crs, require_crs, require_projected

__all__ = [
    "DEFAULT_WALKING_SPEED_KMH",
    "DEMAND_METHODS",
    "LocationProblem",
    "candidate_grid",
    "demand_points",
    "parse_radius",
    "spread_demand",
    "walking_metres",
    "walking_minutes",
]

#: Walking speed used to turn minutes into metres (4 km/h ≈ 67 m/min, a common planning value
#: for older pedestrians; 4.8–5 km/h for adults).
DEFAULT_WALKING_SPEED_KMH = 4.0

#: Largest demand × site matrix (entries) built densely, ≈ 200 MB of float64.
MAX_DENSE = 25_000_000

_RADIUS = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(m|km|min|minutes?|s|sec|h)?\s*$", re.IGNORECASE)


def walking_minutes(distance_m: Any, speed_kmh: float = DEFAULT_WALKING_SPEED_KMH) -> Any:
    """Minutes needed to walk ``distance_m`` metres at ``speed_kmh``.

    Examples
    --------
    >>> walking_minutes(500)
    7.5
    """
    _check_speed(speed_kmh)
    return _scalar(np.asarray(distance_m, dtype=float) * 60 / (speed_kmh * 1000))


def walking_metres(minutes: Any, speed_kmh: float = DEFAULT_WALKING_SPEED_KMH) -> Any:
    """Metres walked in ``minutes`` at ``speed_kmh`` (inverse of :func:`walking_minutes`).

    Examples
    --------
    >>> round(walking_metres(10), 1)
    666.7
    """
    _check_speed(speed_kmh)
    return _scalar(np.asarray(minutes, dtype=float) * (speed_kmh * 1000) / 60)


def _scalar(values: np.ndarray) -> Any:
    return float(values) if values.ndim == 0 else values


def _check_speed(speed_kmh: float) -> None:
    if not (isinstance(speed_kmh, (int, float)) and np.isfinite(speed_kmh) and speed_kmh > 0):
        raise SpecificationError(
            f"The walking speed must be a positive number of km/h. Got {speed_kmh!r} instead."
        )


def parse_radius(
    value: float | str, *, unit: str = "m", speed_kmh: float = DEFAULT_WALKING_SPEED_KMH
) -> float:
    """Read a service radius such as ``500``, ``"500m"``, ``"1.2km"`` or ``"10min"``.

    Parameters
    ----------
    value : float or str
        A number (already in ``unit``) or a number with a unit: ``m``, ``km``, ``min``, ``s``
        or ``h``. Times are walking times: they are turned into metres at ``speed_kmh`` when
        ``unit`` is metres, and distances into minutes when ``unit`` is ``"min"``.
    unit : {"m", "min"}
        Unit of the problem's distances: metres (coordinates) or minutes (a travel-time
        matrix).
    speed_kmh : float
        Walking speed used to convert between time and distance.

    Returns
    -------
    float
        The radius in ``unit``.

    Examples
    --------
    >>> parse_radius("500m"), parse_radius("1.2km"), round(parse_radius("10min"), 1)
    (500.0, 1200.0, 666.7)
    >>> parse_radius("10min", unit="min")
    10.0
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number, given = float(value), None
    else:
        match = _RADIUS.match(str(value))
        if match is None:
            raise SpecificationError(
                "The radius must be a number or a number with a unit such as '500m', '1.2km' "
                f"or '10min'. Got {value!r} instead. Fix: pass radius='500m' (metres), "
                "'1.2km' or '10min' (walking minutes)."
            )
        number, given = float(match.group(1)), (match.group(2) or "").lower() or None
    if not (np.isfinite(number) and number > 0):
        raise SpecificationError(f"The radius must be positive. Got {value!r} instead.")
    if given is None:
        return number
    metres = {"m": 1.0, "km": 1000.0}
    minutes = {"min": 1.0, "minute": 1.0, "minutes": 1.0, "s": 1 / 60, "sec": 1 / 60, "h": 60.0}
    if unit == "m":
        if given in metres:
            return number * metres[given]
        return float(walking_metres(number * minutes[given], speed_kmh))
    if unit == "min":
        if given in minutes:
            return number * minutes[given]
        return float(walking_minutes(number * metres[given], speed_kmh))
    if given in metres or given in minutes:
        raise SpecificationError(
            f"Cannot convert {value!r} into the problem's unit {unit!r}; give a plain number."
        )
    return number


# --------------------------------------------------------------------------- demand helpers
def demand_points(
    areas: gpd.GeoDataFrame,
    *,
    population: gpd.GeoDataFrame | None = None,
    population_weight: str | None = None,
) -> gpd.GeoDataFrame:
    """One demand point per area: its centroid, or its population-weighted centre.

    Parameters
    ----------
    areas : GeoDataFrame
        Polygons with a CRS; every column is kept.
    population : GeoDataFrame of points, optional
        Where people live (building points, grid-cell centres of a population raster). Each
        area's point becomes the weighted mean of the population points inside it; areas
        without any population point keep their centroid (listed in
        ``attrs["dongne"]["centroid_fallback"]``).
    population_weight : str, optional
        Column of ``population`` with the weights (default: each point counts 1).

    Returns
    -------
    GeoDataFrame
        The rows of ``areas`` with point geometries in a metric CRS (:func:`metric_crs`).
        ``attrs["dongne"]["demand_points"]`` says how the points were made.

    Examples
    --------
    >>> from dongne.datasets import seoul_dongs
    >>> pts = demand_points(seoul_dongs())
    >>> pts.geom_type.unique().tolist(), pts.crs.to_epsg()
    (['Point'], 5179)
    """
    require_crs(areas, "areas")
    _check_nonempty(areas, "areas")
    metric = areas.to_crs(metric_crs(areas))
    points = metric.geometry.centroid
    how = "centroids"
    fallback: list[Any] = []
    if population is not None:
        require_crs(population, "population")
        pop = population.to_crs(metric.crs)
        w = (
            np.ones(len(pop))
            if population_weight is None
            else _numeric(pop[population_weight], f"population['{population_weight}']")
        )
        joined = gpd.sjoin(
            gpd.GeoDataFrame({"_w": w}, geometry=pop.geometry.to_numpy(), crs=metric.crs),
            gpd.GeoDataFrame(geometry=metric.geometry.to_numpy(), crs=metric.crs),
            predicate="within",
        )
        joined = joined[joined["_w"] > 0]
        xy = joined.geometry.get_coordinates()
        frame = (
            pd.DataFrame(
                {
                    "area": joined["index_right"].to_numpy(),
                    "w": joined["_w"].to_numpy(),
                    "wx": joined["_w"].to_numpy() * xy["x"].to_numpy(),
                    "wy": joined["_w"].to_numpy() * xy["y"].to_numpy(),
                }
            )
            .groupby("area")[["w", "wx", "wy"]]
            .sum()
        )
        x = points.x.to_numpy().copy()
        y = points.y.to_numpy().copy()
        pos = frame.index.to_numpy()
        x[pos] = frame["wx"].to_numpy() / frame["w"].to_numpy()
        y[pos] = frame["wy"].to_numpy() / frame["w"].to_numpy()
        missing = np.setdiff1d(np.arange(len(metric)), pos)
        fallback = metric.index[missing].tolist()
        points = gpd.GeoSeries(gpd.points_from_xy(x, y), index=metric.index, crs=metric.crs)
        how = "population-weighted centres" + (
            f" ({len(fallback)} areas without population points: centroids)" if fallback else ""
        )
    out = metric.set_geometry(points.to_numpy())
    out = gpd.GeoDataFrame(out.drop(columns=metric.geometry.name), geometry=points.to_numpy())
    out = out.set_crs(metric.crs, allow_override=True)
    out.attrs = {"dongne": {"demand_points": how, "centroid_fallback": fallback}}
    return out


#: Ways of turning demand polygons into demand points (:func:`spread_demand`).
DEMAND_METHODS = ("grid", "points", "centroid")


def spread_demand(
    areas: gpd.GeoDataFrame,
    *,
    weight: str | None = None,
    method: str = "grid",
    spacing: float | str = "100m",
    points: gpd.GeoDataFrame | None = None,
    points_weight: str | None = None,
    area_id: str | None = None,
) -> gpd.GeoDataFrame:
    """Spread the demand of each polygon over points inside it, weighted by where people are.

    Parameters
    ----------
    areas : GeoDataFrame
        Demand polygons with a CRS; every column is kept on each of their points.
    weight : str, optional
        Column of ``areas`` with each area's demand (households, people). Default: 1 per area.
    method : {"grid", "points", "centroid"}
        ``"grid"`` — the cells of a square grid of ``spacing`` metres cut by each polygon; each
        piece becomes a point (its centroid) carrying the area's demand times the piece's share
        of the polygon's area, so a polygon smaller than a cell still gets one point.
        ``"points"`` — the user's ``points`` (population grid, buildings, blocks) inside each
        polygon, carrying the area's demand split in proportion to ``points_weight``; areas
        without any point (or with zero total weight) fall back to the grid.
        ``"centroid"`` — one point per area (its centroid): coverage then becomes
        all-or-nothing per area. Prefer the other methods.
    spacing : float or str
        Grid spacing for ``"grid"`` and for the fallback of ``"points"`` (``"100m"``).
    points : GeoDataFrame of points, optional
        Where the demand lies, for ``method="points"``.
    points_weight : str, optional
        Column of ``points`` with their weights (default: each point counts 1).
    area_id : str, optional
        Column of ``areas`` used to name the points (default: the index).

    Returns
    -------
    GeoDataFrame
        Points in a metric CRS (:func:`dongne.io.metric_crs`) with the columns of ``areas``,
        ``weight`` (or ``demand_weight`` when ``weight`` is None) replaced by each point's share
        of its area's demand, ``area_index`` (0-based position of the area),
        ``demand_point_id`` (``"<area id>#<k>"``, unique). The shares of an area's points sum
        to its demand exactly (up to floating point). ``attrs["dongne"]`` has ``demand_method``
        (a sentence naming the method), ``method``, ``spacing_m``, ``grid_fallback`` (areas
        of ``"points"`` that used the grid) and ``points_outside`` (points in no area).

    Raises
    ------
    SpecificationError
        Unknown ``method``; ``method="points"`` without ``points``.
    DataError
        Missing or negative weights (area or point weights).
    GeometryError
        Missing CRS, missing or empty geometries.

    Notes
    -----
    Coverage of an area is then the share of its demand within the radius, which a map can
    show continuously. With the grid, that share is the share of the area's *surface* within
    the radius, discretised at ``spacing`` (cells cut by the radius count wholly in or out by
    their centroid); a population layer puts the demand where people live instead. Replacing
    areas by single points ("centroid") is the classic aggregation error of location models
    [1]_ [2]_.

    References
    ----------
    .. [1] Current, J. R., & Schilling, D. A. (1990). Analysis of errors due to demand data
       aggregation in the set covering and maximal covering location problems. *Geographical
       Analysis*, 22(2), 116–126. https://doi.org/10.1111/j.1538-4632.1990.tb00199.x
    .. [2] Murray, A. T. (2005). Geography in coverage modeling: exploiting spatial structure
       to address complementary partial service of areas. *Annals of the Association of
       American Geographers*, 95(4), 761–772.
       https://doi.org/10.1111/j.1467-8306.2005.00485.x

    Examples
    --------
    >>> from dongne.datasets import seoul_gu
    >>> gu = seoul_gu(indicators=False)
    >>> pts = spread_demand(gu, weight="area_km2", spacing="1km", area_id="gu_code")
    >>> f"{pts['area_km2'].sum():.4f} = {gu['area_km2'].sum():.4f}"
    '606.5255 = 606.5255'
    >>> int(pts.groupby("area_index").size().min()) >= 1
    True
    """
    if method not in DEMAND_METHODS:
        raise SpecificationError(
            f"The demand method must be one of {', '.join(DEMAND_METHODS)}. Got {method!r} "
            "instead."
        )
    require_crs(areas, "areas")
    _check_nonempty(areas, "areas")
    metric = areas.to_crs(metric_crs(areas)).reset_index(drop=True)
    wcol = weight or "demand_weight"
    area_w = (
        np.ones(len(metric))
        if weight is None
        else _weights(metric[weight] if weight in metric else _no_column(metric, weight))
    )
    labels = _ids(metric, area_id, "area") if area_id else areas.index.astype(str).to_numpy()
    step = parse_radius(spacing)
    meta: dict[str, Any] = {"method": method, "spacing_m": step, "grid_fallback": []}
    if method == "centroid":
        pos = np.arange(len(metric))
        share = np.ones(len(metric))
        geom = metric.geometry.centroid.to_numpy()
        how = "one point per area (its centroid): coverage is all-or-nothing per area"
    elif method == "grid":
        pos, share, geom = _grid_pieces(metric, step, np.arange(len(metric)))
        how = f"spread over a {step:g} m grid inside each area, weighted by area"
    else:
        if points is None:
            raise SpecificationError(
                "method='points' needs the demand points. Fix: pass points= (a point layer, e.g. "
                "a population grid or building points) with points_weight=."
            )
        pos, share, geom, fallback, outside = _point_pieces(metric, points, points_weight, step)
        meta.update(
            grid_fallback=[str(labels[i]) for i in fallback], points_outside=int(outside)
        )
        how = (
            f"spread over {len(points):,} given points"
            + (f" weighted by {points_weight}" if points_weight else "")
            + (
                f" ({len(fallback)} areas without points: {step:g} m grid)"
                if len(fallback)
                else ""
            )
        )
    frame = pd.DataFrame(metric.drop(columns=metric.geometry.name)).iloc[pos]
    frame = frame.reset_index(drop=True)
    frame[wcol] = area_w[pos] * share
    frame["area_index"] = pos
    k = pd.Series(pos).groupby(pos).cumcount().to_numpy()
    frame["demand_point_id"] = [f"{labels[i]}#{j}" for i, j in zip(pos, k, strict=True)]
    out = gpd.GeoDataFrame(frame, geometry=geom, crs=metric.crs)
    meta["demand_method"] = how
    out.attrs = {"dongne": meta}
    return out


def _grid_pieces(
    metric: gpd.GeoDataFrame, step: float, which: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area positions, area shares and centroids of the grid cells cut by each polygon."""
    import shapely

    pos_all, share_all, geom_all = [], [], []
    geoms = metric.geometry.to_numpy()
    for i in which:
        poly = geoms[i]
        x0, y0, x1, y1 = poly.bounds
        xs = np.arange(np.floor(x0 / step) * step, x1, step)
        ys = np.arange(np.floor(y0 / step) * step, y1, step)
        gx, gy = np.meshgrid(xs, ys)
        cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + step, gy.ravel() + step)
        pieces = shapely.intersection(cells, poly)
        area = shapely.area(pieces)
        keep = area > 0
        total = area[keep].sum()
        if total <= 0:  # degenerate polygon: one point carries everything
            pos_all.append(np.array([i]))
            share_all.append(np.ones(1))
            geom_all.append(np.array([shapely.point_on_surface(poly)]))
            continue
        pos_all.append(np.full(int(keep.sum()), i))
        share_all.append(area[keep] / total)
        geom_all.append(shapely.centroid(pieces[keep]))
    return np.concatenate(pos_all), np.concatenate(share_all), np.concatenate(geom_all)


def _point_pieces(
    metric: gpd.GeoDataFrame, points: gpd.GeoDataFrame, points_weight: str | None, step: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Area positions, shares and geometries from the user's demand points (grid fallback)."""
    require_crs(points, "demand points")
    _check_nonempty(points, "demand points")
    pts = points.to_crs(metric.crs).reset_index(drop=True)
    if points_weight is None:
        w = np.ones(len(pts))
    else:
        if points_weight not in pts:
            _no_column(pts, points_weight)
        w = _weights(pts[points_weight], what="demand point weights")
    joined = gpd.sjoin(
        gpd.GeoDataFrame({"_w": w}, geometry=pts.geometry.to_numpy(), crs=metric.crs),
        gpd.GeoDataFrame(geometry=metric.geometry.to_numpy(), crs=metric.crs),
        predicate="intersects",
    )
    joined = joined[~joined.index.duplicated(keep="first")]  # a point on a border: one area
    outside = len(pts) - len(joined)
    area = joined["index_right"].to_numpy(dtype=np.int64)
    wj = joined["_w"].to_numpy(dtype=float)
    total = np.bincount(area, wj, minlength=len(metric))
    use = wj > 0
    order = np.argsort(area[use], kind="stable")
    pos = area[use][order]
    share = (wj[use] / total[area[use]])[order]
    geom = joined.geometry.to_numpy()[use][order]
    fallback = np.flatnonzero(total <= 0)
    if len(fallback):
        gp, gs, gg = _grid_pieces(metric, step, fallback)
        pos, share, geom = (
            np.concatenate([pos, gp]),
            np.concatenate([share, gs]),
            np.concatenate([geom, gg]),
        )
        order = np.argsort(pos, kind="stable")
        pos, share, geom = pos[order], share[order], geom[order]
    return pos, share, geom, fallback, outside


def candidate_grid(
    areas: gpd.GeoDataFrame, spacing: float | str, *, prefix: str = "grid"
) -> gpd.GeoDataFrame:
    """Candidate sites on a square grid of ``spacing`` metres, kept where they fall in ``areas``.

    Parameters
    ----------
    areas : GeoDataFrame
        Polygons with a CRS (the study region).
    spacing : float or str
        Grid spacing in metres, or a string such as ``"500m"`` (see :func:`parse_radius`).
    prefix : str
        Candidate ids are ``f"{prefix}-{k}"``, numbered row by row from the south-west.

    Returns
    -------
    GeoDataFrame
        Points in a metric CRS with a ``site_id`` column.

    Examples
    --------
    >>> from dongne.datasets import seoul_gu
    >>> len(candidate_grid(seoul_gu(indicators=False), "2km")) > 100
    True
    """
    require_crs(areas, "areas")
    step = parse_radius(spacing)
    metric = areas.to_crs(metric_crs(areas))
    minx, miny, maxx, maxy = metric.total_bounds
    xs = np.arange(minx + step / 2, maxx, step)
    ys = np.arange(miny + step / 2, maxy, step)
    gx, gy = np.meshgrid(xs, ys)
    pts = gpd.GeoSeries(gpd.points_from_xy(gx.ravel(), gy.ravel()), crs=metric.crs)
    inside = pts.within(metric.union_all())
    pts = pts[inside.to_numpy()].reset_index(drop=True)
    if len(pts) == 0:
        raise SpecificationError(
            f"A grid with spacing {step:g} m has no point inside the areas. Fix: use a smaller "
            "spacing."
        )
    return gpd.GeoDataFrame(
        {"site_id": [f"{prefix}-{k}" for k in range(len(pts))]}, geometry=pts, crs=metric.crs
    )


# --------------------------------------------------------------------------- the problem
@dataclass(eq=False)
class LocationProblem:
    """Demand, sites and distances for the location models.

    Build it with :meth:`from_geodataframes` (points in a metric CRS, straight-line distances)
    or :meth:`from_cost_matrix` (any costs: network distances, travel times). Sites are the
    existing facilities first (always open), then the candidate sites.

    Attributes
    ----------
    demand_ids, site_ids : ndarray of str
        Labels of the demand units and of the sites.
    weights : ndarray of float
        Demand weight of each unit (households, people); non-negative.
    groups : ndarray of str or None
        Group of each demand unit (e.g. its gu), for equity constraints and reports.
    existing : ndarray of bool
        True for the existing (fixed open) sites.
    capacities : ndarray of float or None
        Capacity of each site, in the units of ``weights`` (None: uncapacitated).
    unit : str
        Unit of distances and radii: ``"m"`` or the unit given with the cost matrix.
    """

    demand_ids: np.ndarray
    weights: np.ndarray
    site_ids: np.ndarray
    existing: np.ndarray
    groups: np.ndarray | None = None
    capacities: np.ndarray | None = None
    demand_xy: np.ndarray | None = None
    site_xy: np.ndarray | None = None
    cost: np.ndarray | None = None
    unit: str = "m"
    crs: Any = None
    demand_geometry: gpd.GeoSeries | None = None
    site_geometry: gpd.GeoSeries | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    max_dense: int = MAX_DENSE
    _cover_cache: dict[float, sparse.csr_array] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_geodataframes(
        cls,
        demand: gpd.GeoDataFrame,
        candidates: gpd.GeoDataFrame | None = None,
        existing: gpd.GeoDataFrame | None = None,
        *,
        weight: str | None = None,
        group: str | None = None,
        demand_id: str | None = None,
        candidate_id: str | None = None,
        existing_id: str | None = None,
        capacity: str | float | None = None,
        existing_capacity: str | float | None = None,
        cost: pd.DataFrame | None = None,
        cost_unit: str = "min",
        crs: Any = "auto",
    ) -> LocationProblem:
        """Demand and sites from point layers.

        It is long because it is a linear validation sequence (layers, CRS, ids, capacities,
        costs), each check naming the layer and row it refuses.

        Parameters
        ----------
        demand : GeoDataFrame of points
            Demand units (use :func:`demand_points` for polygons: dongne never silently
            replaces polygons by centroids).
        candidates, existing : GeoDataFrame of points, optional
            Candidate sites and existing facilities (at least one of them).
        weight : str, optional
            Column of ``demand`` with the demand weights (default 1 per unit).
        group : str, optional
            Column of ``demand`` with the group of each unit (e.g. ``"gu_name"``).
        demand_id, candidate_id, existing_id : str, optional
            Id columns (default: the index).
        capacity, existing_capacity : str or float, optional
            Capacity column (or one number for all) of the candidates / existing sites, in
            the units of ``weight``. Give both or neither.
        cost : DataFrame, optional
            A cost matrix (e.g. network travel times) indexed by demand id, with one column
            per site id; replaces straight-line distances (the points are kept for maps).
        cost_unit : str
            Unit of ``cost`` (radii are read in it, see :func:`parse_radius`).
        crs : "auto", CRS or None
            ``"auto"`` reprojects every layer to :func:`dongne.io.metric_crs` of the demand
            (EPSG:5179 in Korea); a CRS reprojects to that CRS; ``None`` requires the layers to
            be in one projected CRS in metres already. Geographic coordinates are never used
            as distances.

        Raises
        ------
        GeometryError
            Missing CRS, non-point or empty geometries, a CRS not in metres (with
            ``crs=None``) or different CRSs.
        DataError
            Negative, missing or non-numeric weights or capacities; duplicate ids.
        """
        if candidates is None and existing is None:
            raise SpecificationError(
                "Give candidate sites, existing facilities or both. Fix: pass candidates= "
                "(points, or dongne.allocate.candidate_grid(areas, '500m'))."
            )
        layers = {"demand": demand, "candidates": candidates, "existing": existing}
        for name, layer in layers.items():
            if layer is None:
                continue
            if not isinstance(layer, gpd.GeoDataFrame):
                raise DataError(
                    f"{name} must be a GeoDataFrame, got {type(layer).__name__}. Fix: read it "
                    "with dongne.io.read_points or geopandas.read_file."
                )
            require_crs(layer, name)
            _check_points(layer, name)
        if crs == "auto":
            target = CRS.from_user_input(demand.crs)
            if not (target.is_projected and _unit(target) in ("metre", "meter")):
                target = metric_crs(demand)
        elif crs is None:
            target = require_projected(demand, "Facility location distances", "demand")
            for name, layer in layers.items():
                if layer is not None and not CRS.from_user_input(layer.crs).equals(target):
                    raise GeometryError(
                        f"{name} is in {CRS.from_user_input(layer.crs).name} but demand is in "
                        f"{target.name}. Fix: reproject with {name}.to_crs(demand.crs), or "
                        "pass crs='auto'."
                    )
        else:
            target = CRS.from_user_input(crs)
            if target.is_geographic:
                raise GeometryError(
                    f"crs={crs!r} is geographic (degrees): distances need a projected CRS in "
                    "metres. Fix: crs='auto' or crs='EPSG:5179'."
                )
        demand = demand.to_crs(target)
        parts = (
            [(existing, "existing", existing_id, existing_capacity)] if existing is not None else []
        )
        if candidates is not None:
            parts.append((candidates, "candidate", candidate_id, capacity))
        if (
            (capacity is None) != (existing_capacity is None)
            and existing is not None
            and (candidates is not None)
        ):
            raise SpecificationError(
                "Capacities must be given for all sites or none: pass both capacity= (candidates) "
                "and existing_capacity= (existing facilities)."
            )
        ids, kinds, geoms, caps = [], [], [], []
        for layer, kind, id_col, cap in parts:
            layer = layer.to_crs(target)
            ids.append(_ids(layer, id_col, kind))
            kinds.append(np.full(len(layer), kind, dtype=object))
            geoms.append(layer.geometry)
            if cap is not None:
                caps.append(_capacity(layer, cap, kind))
        site_ids = np.concatenate(ids) if ids else np.array([], dtype=object)
        site_kind = np.concatenate(kinds)
        site_geom = gpd.GeoSeries(pd.concat(geoms, ignore_index=True), crs=target)
        demand_ids = _ids(demand, demand_id, "demand")
        _check_unique(demand_ids, "demand ids", demand_id)
        weights = (
            np.ones(len(demand))
            if weight is None
            else _weights(demand[weight] if weight in demand else _no_column(demand, weight))
        )
        groups = None
        if group is not None:
            if group not in demand:
                _no_column(demand, group)
            g = demand[group]
            if g.isna().any():
                raise DataError(
                    f"demand['{group}'] is missing in rows {format_rows(demand.index[g.isna()])}."
                    " Fix: fill the group of every demand unit (e.g. its gu)."
                )
            groups = g.astype(str).to_numpy(dtype=object)
        dxy = demand.geometry.get_coordinates().to_numpy()
        sxy = site_geom.get_coordinates().to_numpy()
        cost_matrix = None
        unit = "m"
        if cost is not None:
            cost_matrix = _align_cost(cost, demand_ids, site_ids)
            unit = cost_unit
        problem = cls(
            demand_ids=demand_ids,
            weights=weights,
            site_ids=site_ids,
            existing=site_kind == "existing",
            groups=groups,
            capacities=np.concatenate(caps) if caps else None,
            demand_xy=dxy if cost_matrix is None else None,
            site_xy=sxy if cost_matrix is None else None,
            cost=cost_matrix,
            unit=unit,
            crs=target,
            demand_geometry=gpd.GeoSeries(demand.geometry.to_numpy(), crs=target),
            site_geometry=site_geom,
            notes={
                "distances": "straight line (planar, metres)"
                if cost_matrix is None
                else f"user cost matrix ({unit})",
                "crs": target.to_string(),
                "weight": weight,
                "group": group,
            },
        )
        if problem.demand_xy is not None and not len(problem.site_ids):
            raise DataError("There are no sites: candidates and existing are both empty.")
        return problem

    @classmethod
    def from_cost_matrix(
        cls,
        cost: Any,
        weights: Any = None,
        *,
        existing: Any = None,
        groups: Any = None,
        capacities: Any = None,
        demand_ids: Sequence[Any] | None = None,
        site_ids: Sequence[Any] | None = None,
        unit: str = "m",
    ) -> LocationProblem:
        """Demand and sites from a demand × site cost matrix (distances or travel times).

        Parameters
        ----------
        cost : array-like or DataFrame, shape (n_demand, n_sites)
            Costs; ``inf`` marks an unreachable pair, NaN and negative values are refused. A
            DataFrame gives the ids (index: demand, columns: sites).
        weights : array-like, optional
            Demand weights (default 1).
        existing : array-like of bool or of column positions, optional
            Sites that are existing facilities (always open; spopt's
            ``predefined_facilities_arr``).
        groups, capacities : array-like, optional
            Group of each demand unit; capacity of each site.
        demand_ids, site_ids : sequence, optional
            Labels (default: positions, or the DataFrame's index and columns).
        unit : str
            Unit of the costs, used in reports and by :func:`parse_radius`.
        """
        if isinstance(cost, pd.DataFrame):
            demand_ids = list(cost.index) if demand_ids is None else demand_ids
            site_ids = list(cost.columns) if site_ids is None else site_ids
        c = np.array(cost, dtype=float)
        if c.ndim != 2 or 0 in c.shape:
            raise DataError(f"cost must be a non-empty 2-D matrix. Got shape {c.shape}.")
        bad = np.isnan(c) | (c < 0)
        if bad.any():
            rows = np.unique(np.nonzero(bad)[0])
            raise DataError(
                f"cost has NaN or negative entries in rows {format_rows(rows)}. Fix: use inf "
                "for unreachable pairs and non-negative costs elsewhere."
            )
        n, m = c.shape
        d_ids = np.array(
            [str(i) for i in (range(n) if demand_ids is None else demand_ids)], dtype=object
        )
        s_ids = np.array(
            [str(j) for j in (range(m) if site_ids is None else site_ids)], dtype=object
        )
        if len(d_ids) != n or len(s_ids) != m:
            raise DataError("demand_ids and site_ids must match the shape of cost.")
        _check_unique(d_ids, "demand ids", None)
        w = np.ones(n) if weights is None else _weights(pd.Series(np.asarray(weights)))
        if len(w) != n:
            raise DataError(f"weights has {len(w)} values for {n} demand rows.")
        ex = np.zeros(m, dtype=bool)
        if existing is not None:
            arr = np.asarray(existing)
            if arr.dtype == bool or (arr.size == m and set(np.unique(arr)) <= {0, 1}):
                ex = arr.astype(bool).reshape(-1)
            else:
                ex[arr.astype(int)] = True
            if len(ex) != m:
                raise DataError(f"existing has {len(ex)} flags for {m} sites.")
        caps = None
        if capacities is not None:
            caps = _weights(pd.Series(np.asarray(capacities, dtype=float)), what="capacities")
            if len(caps) != m:
                raise DataError(f"capacities has {len(caps)} values for {m} sites.")
        grp = None
        if groups is not None:
            grp = np.asarray([str(g) for g in groups], dtype=object)
            if len(grp) != n:
                raise DataError(f"groups has {len(grp)} values for {n} demand rows.")
        return cls(
            demand_ids=d_ids,
            weights=w,
            site_ids=s_ids,
            existing=ex,
            groups=grp,
            capacities=caps,
            cost=c,
            unit=unit,
            notes={"distances": f"user cost matrix ({unit})"},
        )

    # ------------------------------------------------------------------ sizes and labels
    @property
    def n_demand(self) -> int:
        return len(self.demand_ids)

    @property
    def n_sites(self) -> int:
        return len(self.site_ids)

    @property
    def candidates(self) -> np.ndarray:
        """Positions of the candidate (not existing) sites."""
        return np.flatnonzero(~self.existing)

    @property
    def site_kind(self) -> np.ndarray:
        return np.where(self.existing, "existing", "candidate").astype(object)

    # ------------------------------------------------------------------ distances
    def covering(self, radius: float) -> sparse.csr_array:
        """Sparse 0/1 matrix (demand × sites): 1 where the cost is at most ``radius``.

        Built from a KD-tree for coordinates (never dense), from the matrix otherwise.
        """
        key = float(radius)
        if key in self._cover_cache:
            return self._cover_cache[key]
        n, m = self.n_demand, self.n_sites
        if self.cost is not None:
            rows, cols = np.nonzero(self.cost <= key)
        else:
            tree = cKDTree(self.site_xy)
            lists = tree.query_ball_point(self.demand_xy, key * (1 + 1e-9) + 1e-9)
            lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=n)
            rows = np.repeat(np.arange(n), lengths)
            cols = (
                np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])
                if lengths.sum()
                else np.zeros(0, dtype=np.int64)
            )
            d = np.hypot(*(self.demand_xy[rows] - self.site_xy[cols]).T)
            keep = d <= key
            rows, cols = rows[keep], cols[keep]
        cover = sparse.csr_array((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, m))
        cover.sort_indices()
        self._cover_cache = {key: cover}
        return cover

    def distances(
        self, rows: np.ndarray | None = None, cols: np.ndarray | None = None
    ) -> np.ndarray:
        """Dense cost matrix (demand rows × site columns), refused beyond ``max_dense`` entries."""
        r = np.arange(self.n_demand) if rows is None else np.asarray(rows)
        c = np.arange(self.n_sites) if cols is None else np.asarray(cols)
        if len(r) * len(c) > self.max_dense:
            raise SpecificationError(
                f"This model needs a dense {len(r):,} × {len(c):,} distance matrix "
                f"({len(r) * len(c):,} entries > max_dense={self.max_dense:,}). Fix: use fewer "
                "candidates (a coarser grid), aggregate demand, or raise problem.max_dense if "
                "memory allows (8 bytes per entry)."
            )
        if self.cost is not None:
            return self.cost[np.ix_(r, c)]
        a, b = self.demand_xy[r], self.site_xy[c]
        return np.hypot(a[:, :1] - b[:, 0], a[:, 1:] - b[:, 1])

    def nearest(self, open_sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cost to, and position of, the nearest open site for every demand unit.

        ``open_sites`` is a boolean mask or positions; with no open site the cost is ``inf``
        and the position -1. Ties go to the lowest site position.
        """
        arr = np.asarray(open_sites)
        if arr.dtype == bool:
            mask = arr.copy()
        else:
            mask = np.zeros(self.n_sites, dtype=bool)
            mask[arr.astype(np.int64)] = True
        pos = np.flatnonzero(mask)
        n = self.n_demand
        if not len(pos):
            return np.full(n, np.inf), np.full(n, -1)
        if self.cost is not None:
            sub = self.cost[:, pos]
            k = np.argmin(sub, axis=1)
            d = sub[np.arange(n), k]
            idx = np.where(np.isfinite(d), pos[k], -1)
            return d, idx
        tree = cKDTree(self.site_xy[pos])
        d, k = tree.query(self.demand_xy, k=1)
        return np.asarray(d, dtype=float), pos[np.asarray(k)]

    def restrict(self, demand_mask: np.ndarray) -> LocationProblem:
        """The same problem with a subset of demand rows (used by tests and sweeps)."""
        keep = np.asarray(demand_mask, dtype=bool)
        return LocationProblem(
            demand_ids=self.demand_ids[keep],
            weights=self.weights[keep],
            site_ids=self.site_ids,
            existing=self.existing,
            groups=None if self.groups is None else self.groups[keep],
            capacities=self.capacities,
            demand_xy=None if self.demand_xy is None else self.demand_xy[keep],
            site_xy=self.site_xy,
            cost=None if self.cost is None else self.cost[keep],
            unit=self.unit,
            crs=self.crs,
            demand_geometry=None
            if self.demand_geometry is None
            else self.demand_geometry[keep].reset_index(drop=True),
            site_geometry=self.site_geometry,
            notes=dict(self.notes),
            max_dense=self.max_dense,
        )


# --------------------------------------------------------------------------- validation
def _unit(crs: CRS) -> str:
    return crs.axis_info[0].unit_name if crs.axis_info else ""


def _check_nonempty(layer: gpd.GeoDataFrame, name: str) -> None:
    geom = layer.geometry
    bad = geom.isna() | geom.is_empty
    if bad.any():
        raise GeometryError(
            f"{name} has missing or empty geometries in rows {format_rows(layer.index[bad])}. "
            f"Fix: drop them, e.g. {name}[~{name}.geometry.is_empty]."
        )


def _check_points(layer: gpd.GeoDataFrame, name: str) -> None:
    _check_nonempty(layer, name)
    kinds = layer.geom_type
    bad = kinds != "Point"
    if bad.any():
        fix = (
            "dongne.allocate.demand_points(areas) gives centroids (or population-weighted centres)"
            if name == "demand"
            else f"use {name}.representative_point() or the area centroids explicitly"
        )
        raise GeometryError(
            f"{name} must be points, but rows {format_rows(layer.index[bad])} are "
            f"{', '.join(sorted(set(kinds[bad])))}. dongne does not silently replace polygons "
            f"by centroids. Fix: {fix}."
        )


def _no_column(frame: pd.DataFrame, column: str) -> Any:
    raise DataError(
        f"Column {column!r} not found. Available columns: {', '.join(map(str, frame.columns))}."
    )


def _ids(layer: gpd.GeoDataFrame, column: str | None, kind: str) -> np.ndarray:
    if column is None:
        values = layer.index.to_series()
    elif column in layer:
        values = layer[column]
    else:
        _no_column(layer, column)
    return values.astype(str).to_numpy(dtype=object)


def _check_unique(ids: np.ndarray, what: str, column: str | None) -> None:
    s = pd.Series(ids)
    dup = s[s.duplicated(keep=False)]
    if len(dup):
        where = f"column {column!r}" if column else "the index"
        raise DataError(
            f"Duplicate {what} in {where}: {format_rows(pd.unique(dup))}. Fix: give a unique "
            "id per row."
        )


def _numeric(values: pd.Series, name: str) -> np.ndarray:
    num = pd.to_numeric(values, errors="coerce")
    bad = num.isna() & values.notna()
    if bad.any():
        raise DataError(
            f"{name} is not numeric in rows {format_rows(values.index[bad])}. Fix: clean the "
            "column (numbers only)."
        )
    return num.to_numpy(dtype=float)


def _weights(values: pd.Series, what: str = "weights") -> np.ndarray:
    name = f"demand['{values.name}']" if values.name is not None else what
    arr = _numeric(values, name)
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise DataError(
            f"{name} ({what}) must be finite and non-negative; rows "
            f"{format_rows(values.index[bad])} are not. Fix: fill missing values (0 if there "
            "is no demand) and check the column."
        )
    return arr


def _capacity(layer: gpd.GeoDataFrame, cap: str | float, kind: str) -> np.ndarray:
    if isinstance(cap, str):
        if cap not in layer:
            _no_column(layer, cap)
        arr = _weights(layer[cap], what=f"{kind} capacities")
    else:
        arr = np.full(len(layer), float(cap))
        if not (np.isfinite(cap) and cap >= 0):
            raise DataError(f"The {kind} capacity must be a non-negative number, got {cap!r}.")
    return arr


def _align_cost(cost: pd.DataFrame, demand_ids: np.ndarray, site_ids: np.ndarray) -> np.ndarray:
    if not isinstance(cost, pd.DataFrame):
        raise DataError(
            "cost must be a DataFrame indexed by demand id with one column per site id."
        )
    frame = cost.copy()
    frame.index = frame.index.astype(str)
    frame.columns = frame.columns.astype(str)
    missing_rows = [i for i in demand_ids if i not in frame.index]
    missing_cols = [j for j in site_ids if j not in frame.columns]
    if missing_rows or missing_cols:
        raise DataError(
            "The cost matrix lacks "
            + (f"demand rows {format_rows(missing_rows)}" if missing_rows else "")
            + (" and " if missing_rows and missing_cols else "")
            + (f"site columns {format_rows(missing_cols)}" if missing_cols else "")
            + ". Fix: give a cost for every demand unit and site (inf if unreachable)."
        )
    mat = frame.loc[list(demand_ids), list(site_ids)].to_numpy(dtype=float)
    if np.isnan(mat).any() or (mat < 0).any():
        raise DataError("The cost matrix has NaN or negative entries; use inf for unreachable.")
    return mat
