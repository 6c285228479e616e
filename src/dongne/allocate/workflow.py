"""The allocate workflow behind ``dongne allocate`` and the demo: solve, write, map, summarise."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne._warnings import user_stacklevel
from dongne.allocate.lscp import LSCP
from dongne.allocate.mclp import MCLP
from dongne.allocate.pareto import pareto_sweep, plot_pareto
from dongne.allocate.pcenter import PCenter
from dongne.allocate.pmedian import PMedian
from dongne.allocate.problem import (
    DEFAULT_WALKING_SPEED_KMH,
    LocationProblem,
    candidate_grid,
    parse_radius,
    spread_demand,
)
from dongne.allocate.problem import demand_points as area_centroids
from dongne.errors import DongneWarning, SpecificationError
from dongne.io.atomic import atomic_write_text
from dongne.io.points import select_points
from dongne.io.write import write_layer, write_table

__all__ = ["MODELS", "AllocateOutputs", "run_allocate"]

#: Model names accepted by :func:`run_allocate` (and ``dongne allocate --model``).
MODELS = ("mclp", "lscp", "pmedian", "pcenter")

_COVERAGE_BINS = [20, 40, 60, 80]

#: Map categories of the all-or-nothing coverage of ``demand_method="centroid"``.
_CENTROID_CATEGORIES = {
    "covered": ("#41b6c4", "Centroid within / 반경 내"),
    "not covered": ("#ffffcc", "Centroid outside / 반경 밖"),
}

#: How run_allocate's messages name its own arguments (a command line passes its flags).
_ARGUMENTS = {
    "coverage": "coverage",
    "model": "model",
    "existing_filter": "existing_filter",
    "outside": "outside",
    "demand_method": "demand_method",
    "demand_points": "demand_points",
}


def _arg(names: Mapping[str, str], name: str, value: str) -> str:
    """``demand_method='grid'`` for Python, ``--demand-method grid`` for a command line."""
    flag = names.get(name, name)
    return f"{flag} {value}" if flag.startswith("--") else f"{flag}={value!r}"


@dataclass
class AllocateOutputs:
    """What :func:`run_allocate` computed and wrote.

    Attributes
    ----------
    model : MCLP, LSCP, PMedian or PCenter
        The fitted model (``model.summary()``, ``model.to_frame()``, ...).
    problem : LocationProblem
    new_sites : GeoDataFrame
        The chosen new sites (metric CRS) with the demand they serve.
    demand : GeoDataFrame
        One row per demand point (for polygon demand: per grid piece or given point, with the
        ``area`` it belongs to): weight, group, site and distance before and after, coverage.
    groups : DataFrame
        Coverage and access per group before and after.
    areas : GeoDataFrame or None
        The mapped areas with ``coverage_before``/``coverage_after`` (percent of each area's
        demand within the radius) and
        ``distance_before``/``distance_after`` columns.
    pareto : DataFrame or None
        The efficiency–equity sweep (MCLP with ``equity_by`` and ``pareto``).
    files : dict of str to Path
    summary : str
        English and Korean summary (also in ``summary.txt``).
    demand_method : str
        How polygon demand became points (``"grid"``, ``"points"``, ``"centroid"``), or
        ``"points"`` when the demand was given as points.
    """

    model: Any
    problem: LocationProblem
    new_sites: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    groups: pd.DataFrame
    areas: gpd.GeoDataFrame | None = None
    pareto: pd.DataFrame | None = None
    files: dict[str, Path] = field(default_factory=dict)
    summary: str = ""
    demand_method: str = "points"


def run_allocate(
    demand: gpd.GeoDataFrame,
    out_dir: str | Path,
    *,
    model: str = "mclp",
    candidates: gpd.GeoDataFrame | str | None = None,
    existing: gpd.GeoDataFrame | None = None,
    p: int | None = None,
    radius: float | str | None = None,
    weight: str | None = None,
    demand_id: str | None = None,
    candidate_id: str | None = None,
    existing_id: str | None = None,
    capacity: str | float | None = None,
    existing_capacity: str | float | None = None,
    equity_by: str | None = None,
    min_share: float | Mapping[str, float] | None = None,
    objective: str = "coverage",
    coverage: float | None = None,
    method: str = "auto",
    time_limit: float | None = None,
    grid_spacing: float | str = "500m",
    demand_method: str | None = None,
    demand_spacing: float | str = "100m",
    demand_points: gpd.GeoDataFrame | None = None,
    demand_points_weight: str | None = None,
    existing_filter: str | None = None,
    outside: str = "drop",
    areas: gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    pareto: bool | int = False,
    speed_kmh: float = DEFAULT_WALKING_SPEED_KMH,
    cost: Callable[[gpd.GeoSeries, gpd.GeoSeries], Any] | None = None,
    cost_unit: str = "min",
    title: str | None = None,
    source: str | None = None,
    prefix: str = "",
    progress: Callable[[str], None] | None = None,
    scheduler: Any = None,
    argument_names: Mapping[str, str] | None = None,
) -> AllocateOutputs:
    """Place new facilities and write the chosen sites, maps and a bilingual summary.

    Parameters
    ----------
    demand : GeoDataFrame
        Demand areas (polygons: their demand is spread over points inside them, see
        ``demand_method``, and the areas are mapped) or demand points.
    out_dir : path-like
        Folder for the outputs (created).
    model : {"mclp", "lscp", "pmedian", "pcenter"}
    candidates : GeoDataFrame of points, "centroids" or "grid", optional
        Candidate sites: given points, the centroids of the demand areas (default for polygon
        demand), or a grid of ``grid_spacing`` over the areas.
    existing : GeoDataFrame of points, optional
        Existing facilities, always open (after ``existing_filter`` and ``outside``).
    p : int
        New sites (mclp, pmedian, pcenter).
    radius : float or str
        Service radius (``"500m"``, ``"10min"`` walking at ``speed_kmh``); required for
        mclp and lscp, optional (coverage reports) for the others.
    weight : str, optional
        Demand weight column (e.g. ``"basement_households"``).
    demand_id, candidate_id, existing_id : str, optional
        Id columns (default: the index).
    capacity, existing_capacity : str or float, optional
        Site capacities (column or one number), for the capacitated variants.
    equity_by : str, optional
        Group column of ``demand`` (e.g. ``"gu_name"``): per-group reports, ``min_share``,
        max–min objective and Pareto sweep.
    min_share : float or dict, optional
        Minimum covered share per group (mclp, pmedian).
    objective : {"coverage", "maxmin"}
        MCLP objective.
    coverage : float, optional
        lscp only: the share of the total demand weight to cover, in (0, 1] (default 1: all of
        it). Below 1 the model is partial set covering (PSCLP): the fewest new sites that bring
        that share within the radius (:class:`~dongne.allocate.LSCP`, ``coverage=``).
    method : {"auto", "exact", "heuristic"}
    time_limit : float, optional
        Seconds per MIP.
    grid_spacing : float or str
        Spacing of ``candidates="grid"``.
    demand_method : {"grid", "points", "centroid"}, optional
        How polygon demand becomes demand points (:func:`~dongne.allocate.spread_demand`):
        ``"grid"`` (default) spreads each area's demand over a ``demand_spacing`` grid inside
        it, by area; ``"points"`` (default when ``demand_points`` is given) over the user's
        points, by ``demand_points_weight``; ``"centroid"`` reduces each area to one point
        (coverage all-or-nothing per area; the old behaviour) with a
        :class:`~dongne.errors.DongneWarning`. The method is named in the summary and on the
        maps.
    demand_spacing : float or str
        Grid spacing of ``demand_method="grid"`` (and of areas without demand points).
    demand_points : GeoDataFrame of points, optional
        Where the demand lies inside the areas: a population grid, building or block points.
    demand_points_weight : str, optional
        Column of ``demand_points`` with their weights (population, households).
    existing_filter : str, optional
        Rule the existing facilities must satisfy, a pandas query such as
        ``"사용여부 == 'Y'"``; the rows left out are counted in the summary.
    outside : {"drop", "keep", "raise"}
        What to do with existing facilities and candidate points outside the study area (the
        demand polygons or ``areas``): left out (default, counted and listed by file line in
        the summary), kept, or an error.
    areas : GeoDataFrame of polygons, optional
        Areas to map when ``demand`` are points (demand points are summed per area).
    boundaries : GeoDataFrame, optional
        Outlines drawn on the maps (e.g. the gu).
    pareto : bool or int
        With ``equity_by`` and mclp, also run the efficiency–equity sweep (``int``: points).
    speed_kmh : float
        Walking speed for radii given in minutes (straight-line distances).
    cost : callable, optional
        Costs replacing straight lines: ``cost(demand_points, site_points)`` returns the
        dense demand × site matrix in ``cost_unit`` (e.g. network travel minutes, see
        :meth:`LocationProblem.from_geodataframes`); radii are then read in ``cost_unit``.
    cost_unit : str
        Unit of ``cost`` (``"min"`` or ``"m"``).
    title : str, optional
        Map title prefix (default: the model name).
    source : str, optional
        The data source, written under every map ("Data: ...").
    prefix : str
        Prefix of every file name.
    progress : callable, optional
        Called with a short message before each step.
    scheduler : optional
        Dask scheduler for the Pareto sweep.
    argument_names : mapping, optional
        How error messages name ``existing_filter``, ``outside``, ``coverage`` and ``model``
        (the command line passes ``{"existing_filter": "--existing-filter", ...}``).

    Returns
    -------
    AllocateOutputs

    Notes
    -----
    Coverage per area is the share of the area's demand within the radius: continuous with
    ``"grid"`` and ``"points"``, 0 or 100 % with ``"centroid"`` (mapped as two categories).

    Files written: ``new_sites.gpkg`` (the chosen sites), ``demand.gpkg`` (demand points with
    their area, site, distance and coverage before and after), ``new_sites.csv`` (with
    longitude/latitude), ``assignment.csv`` (per demand unit),
    ``groups.csv`` (per group before/after), ``map_before.png`` and ``map_after.png``
    (coverage per area within the radius, or mean distance without a radius, with existing
    and new sites), ``pareto.csv`` and ``pareto.png`` when requested, and ``summary.txt``;
    each table and layer has a ``.provenance.json`` beside it.
    """
    step = progress or (lambda _m: None)
    if model not in MODELS:
        raise SpecificationError(
            f"The 'model' parameter must be one of {', '.join(MODELS)}. Got {model!r} instead."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    step("preparing demand and candidate sites")
    names = {**_ARGUMENTS, **(argument_names or {})}
    _check_coverage(coverage, model, names)
    point_names = {"query": names["existing_filter"], "outside": names["outside"]}
    polygons = bool(demand.geom_type.isin(["Polygon", "MultiPolygon"]).all())
    map_areas = demand if polygons and areas is None else areas
    spread = demand_method or ("points" if demand_points is not None else "grid")
    demand_pts, area_index, (problem_id, problem_weight), demand_note = _demand(
        demand, polygons, spread, names, weight=weight, demand_id=demand_id,
        demand_method=demand_method, demand_spacing=demand_spacing, demand_points=demand_points,
        demand_points_weight=demand_points_weight,
    )  # fmt: skip
    if existing_filter is not None and existing is None:
        raise SpecificationError(
            f"{names['existing_filter']} filters the existing facilities, but none are given. "
            f"Fix: give the existing facilities or leave out {names['existing_filter']}."
        )
    selections = []
    if existing is not None:
        existing = select_points(
            existing,
            query=existing_filter,
            areas=map_areas,
            outside=outside,
            what="existing facilities",
            what_ko="기존 시설",
            argument_names=point_names,
        )
        selections.append(existing.attrs["dongne"]["selection"])
    cand = candidates
    if isinstance(cand, gpd.GeoDataFrame) and map_areas is not None:
        cand = select_points(
            cand, areas=map_areas, outside=outside, what="candidate sites", what_ko="후보지",
            argument_names=point_names,
        )  # fmt: skip
        selections.append(cand.attrs["dongne"]["selection"])
    if cand is None or isinstance(cand, str):
        cand, candidate_id = _named_candidates(
            cand, polygons, demand, map_areas, demand_id, candidate_id, grid_spacing
        )
    problem = LocationProblem.from_geodataframes(
        demand_pts, cand, existing, weight=problem_weight, group=equity_by,
        demand_id=problem_id, candidate_id=candidate_id, existing_id=existing_id,
        capacity=capacity, existing_capacity=existing_capacity, cost=cost, cost_unit=cost_unit,
    )  # fmt: skip
    if demand_note is not None:
        problem.notes["demand"] = demand_note[0]
        problem.notes["demand_spacing_m"] = parse_radius(demand_spacing)
    r = None if radius is None else parse_radius(radius, unit=problem.unit, speed_kmh=speed_kmh)
    estimator = _estimator(model, p, r, min_share, objective, method, time_limit, coverage)
    if model == "lscp":
        estimator.coverage_name = names["coverage"]  # how an unreachable coverage is named
    step(f"solving {estimator._name}")
    estimator.fit(problem)
    result = _outputs(estimator, problem, map_areas, demand, area_index)
    if polygons and area_index is not None:
        labels = demand_pts[demand_id] if demand_id else demand_pts["area_index"]
        result.demand.insert(1, "area", labels.astype(str).to_numpy())
    result.summary = _with_inputs(result.summary, demand_note, selections)
    result.demand_method = spread if polygons else "points"
    if pareto and model == "mclp" and equity_by:
        step("efficiency-equity sweep")
        n_points = 6 if pareto is True else int(pareto)
        result.pareto = pareto_sweep(
            problem, p, r, n_points=n_points, method=method, time_limit=time_limit,
            scheduler=scheduler,
        )  # fmt: skip
    step("writing sites, maps and summary")
    _write(result, out, prefix, boundaries, title, source)
    return result


def _demand(
    demand: gpd.GeoDataFrame,
    polygons: bool,
    spread: str,
    names: Mapping[str, str],
    *,
    weight: str | None,
    demand_id: str | None,
    demand_method: str | None,
    demand_spacing: float | str,
    demand_points: gpd.GeoDataFrame | None,
    demand_points_weight: str | None,
) -> tuple[gpd.GeoDataFrame, np.ndarray | None, tuple[str | None, str | None], Any]:
    """Demand points of :func:`run_allocate`: polygons spread (or reduced to centroids) or points.

    Returns the demand points, the area of each point (polygon demand spread inside the
    areas, else None), the (id, weight) columns of the location problem and the note on how
    demand was represented ((English, Korean), or None for point demand).
    """
    if polygons and spread == "centroid":
        warnings.warn(
            f"Each of the {len(demand)} demand areas is reduced to one point (its centroid): "
            "coverage becomes all-or-nothing per area. Use "
            f"{_arg(names, 'demand_method', 'grid')} (the default) or "
            f"{_arg(names, 'demand_points', 'POINTS')} to spread the demand inside the areas.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
        note = (
            f"Demand: {len(demand)} areas, one point each (centroid); an area counts as covered "
            "only when its centroid is within the radius.",
            f"수요: {len(demand)}개 지역을 각 중심점 하나로 대표; 중심점이 반경 안에 있어야 "
            "커버로 계산됩니다.",
        )
        return area_centroids(demand), None, (demand_id, weight), note
    if polygons:
        demand_pts = spread_demand(
            demand,
            weight=weight,
            method=spread,
            spacing=demand_spacing,
            points=demand_points,
            points_weight=demand_points_weight,
            area_id=demand_id,
        )
        return (
            demand_pts,
            demand_pts["area_index"].to_numpy(),
            ("demand_point_id", weight or "demand_weight"),
            _demand_note(demand_pts, len(demand)),
        )
    if demand_method is not None or demand_points is not None:
        raise SpecificationError(
            f"{names['demand_method']} and {names['demand_points']} apply to polygon demand; "
            "the demand given is already points. Fix: leave them out."
        )
    return demand, None, (demand_id, weight), None


def _named_candidates(
    how: str | None,
    polygons: bool,
    demand: gpd.GeoDataFrame,
    map_areas: gpd.GeoDataFrame | None,
    demand_id: str | None,
    candidate_id: str | None,
    grid_spacing: float | str,
) -> tuple[gpd.GeoDataFrame | None, str | None]:
    """Candidate sites given by name ('centroids', 'grid'; None: centroids of polygon demand)."""
    how = how or ("centroids" if polygons else None)
    cand = None
    if how == "centroids":
        if not polygons:
            raise SpecificationError(
                "candidates='centroids' needs polygon demand (or pass candidates points)."
            )
        centres = area_centroids(demand)
        cand = centres[[c for c in [demand_id] if c] + [centres.geometry.name]]
        if demand_id is not None:
            cand = cand.rename(columns={demand_id: "site_id"})
            candidate_id = "site_id"
    elif how == "grid":
        if map_areas is None:
            raise SpecificationError("candidates='grid' needs polygon demand or areas=.")
        cand = candidate_grid(map_areas, grid_spacing)
        candidate_id = "site_id"
    elif how is not None:
        raise SpecificationError(
            "candidates must be points, 'centroids' or 'grid'. Got " + repr(how) + "."
        )
    return cand, candidate_id


def _check_coverage(coverage: float | None, model: str, names: Mapping[str, str]) -> None:
    """``coverage`` is a share in (0, 1] and only for the lscp model."""
    if coverage is None:
        return
    flag = names["coverage"]
    if model != "lscp":
        raise SpecificationError(
            f"{flag} is the share of the demand to cover with the fewest sites, which is the "
            f"lscp model; got model {model!r}. Fix: pass {_arg(names, 'model', 'lscp')} or "
            f"leave out {flag}."
        )
    ok = isinstance(coverage, (int, float)) and not isinstance(coverage, bool)
    if not (ok and np.isfinite(coverage) and 0 < coverage <= 1):
        raise SpecificationError(
            f"{flag} must be a share of the total demand weight in (0, 1]; got {coverage!r}. "
            f"Fix: pass {_arg(names, 'coverage', '0.9')} to cover 90 % of the demand (1: all "
            f"of it)."
        )


def _estimator(model, p, r, min_share, objective, method, time_limit, coverage=None):
    opts = {"method": method, "time_limit": time_limit}
    if model in ("mclp", "pmedian", "pcenter") and p is None:
        raise SpecificationError(f"model '{model}' needs p (the number of new sites).")
    if model in ("mclp", "lscp") and r is None:
        raise SpecificationError(f"model '{model}' needs a radius, e.g. radius='500m'.")
    if model == "mclp":
        return MCLP(p, r, min_share=min_share, objective=objective, **opts)
    if min_share is not None and model in ("lscp", "pcenter"):
        raise SpecificationError(
            f"min_share applies to mclp and pmedian; {model} already covers every unit / "
            "minimises the worst access."
        )
    if model == "lscp":
        return LSCP(r, coverage=1.0 if coverage is None else float(coverage), **opts)
    if model == "pmedian":
        return PMedian(p, radius=r, min_share=min_share, **opts)
    return PCenter(p, radius=r, method="exact", time_limit=time_limit)


def _demand_note(points: gpd.GeoDataFrame, n_areas: int) -> tuple[str, str]:
    """English and Korean sentence naming how polygon demand was spread."""
    meta = points.attrs["dongne"]
    step = meta["spacing_m"]
    if meta["method"] == "grid":
        return (
            f"Demand: {n_areas} areas spread over {len(points):,} points of a {step:g} m grid, "
            "each area's demand split by area; coverage is the share of each area's demand "
            "within the radius.",
            f"수요: {n_areas}개 지역의 수요를 {step:g} m 격자 {len(points):,}개 지점에 면적 비율로 "
            "배분; 커버율은 지역 수요 중 반경 안에 있는 비율입니다.",
        )
    fallback = len(meta["grid_fallback"])
    extra_en = f"; {fallback} areas without points use the {step:g} m grid" if fallback else ""
    extra_ko = f"; 지점이 없는 {fallback}개 지역은 {step:g} m 격자 사용" if fallback else ""
    return (
        f"Demand: {n_areas} areas spread over {len(points):,} given demand points, each area's "
        f"demand split by the points' weights{extra_en}; coverage is the share of each area's "
        "demand within the radius.",
        f"수요: {n_areas}개 지역의 수요를 주어진 수요 지점 {len(points):,}개에 가중치 비율로 "
        f"배분{extra_ko}; 커버율은 지역 수요 중 반경 안에 있는 비율입니다.",
    )


def _with_inputs(
    summary: str, demand_note: tuple[str, str] | None, selections: list[Mapping[str, Any]]
) -> str:
    """Add the demand method and the facility selection to the model's bilingual summary."""
    en, sep, ko = summary.partition("\n\n")
    add_en = [f"  {demand_note[0]}"] if demand_note else []
    add_ko = [f"  {demand_note[1]}"] if demand_note else []
    add_en += [f"  {sel['text']}" for sel in selections]
    add_ko += [f"  {sel['text_ko']}" for sel in selections]
    first_en, _, rest_en = en.partition("\n")
    first_ko, _, rest_ko = ko.partition("\n")
    en = "\n".join([first_en, *add_en, *([rest_en] if rest_en else [])])
    ko = "\n".join([first_ko, *add_ko, *([rest_ko] if rest_ko else [])])
    return en + sep + ko if sep else en


def _outputs(
    est, problem: LocationProblem, map_areas, demand_in, area_index: np.ndarray | None
) -> AllocateOutputs:
    frame = est.to_frame().reset_index()
    demand_gdf = gpd.GeoDataFrame(
        frame, geometry=problem.demand_geometry.to_numpy(), crs=problem.crs
    )
    sites = est.new_sites()
    if not isinstance(sites, gpd.GeoDataFrame):
        sites = gpd.GeoDataFrame(sites, geometry=[], crs=problem.crs)
    mapped = None
    if map_areas is not None:
        mapped = _per_area(est, problem, map_areas, demand_in, demand_gdf, area_index)
    return AllocateOutputs(
        model=est,
        problem=problem,
        new_sites=sites,
        demand=demand_gdf,
        groups=est.group_table(),
        areas=mapped,
        summary=est.summary(),
    )


def _per_area(est, problem, map_areas, demand_in, demand_gdf, area_index) -> gpd.GeoDataFrame:
    """Covered share of demand (percent) and mean distance per mapped area, before and after."""
    areas = map_areas.reset_index(drop=True).copy()
    w = problem.weights
    cov_b = est.covered_before_ if est.covered_ is not None else None
    cov_a = est.covered_
    if map_areas is demand_in and area_index is not None:
        area_of = np.asarray(area_index, dtype=np.int64)
    elif map_areas is demand_in and len(areas) == problem.n_demand:
        area_of = np.arange(problem.n_demand)
    else:
        pts = demand_gdf[[demand_gdf.geometry.name]].to_crs(areas.crs)
        joined = gpd.sjoin(pts, areas[[areas.geometry.name]], predicate="within", how="left")
        joined = joined[~joined.index.duplicated(keep="first")]
        area_of = joined["index_right"].fillna(-1).to_numpy(dtype=np.int64)
    ok = area_of >= 0
    tot = np.bincount(area_of[ok], w[ok], minlength=len(areas))
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, values in (("coverage_before", cov_b), ("coverage_after", cov_a)):
            if values is not None:
                s = np.bincount(area_of[ok], (w * values)[ok], minlength=len(areas))
                areas[name] = np.where(tot > 0, 100 * s / tot, np.nan)
        for name, d in (
            ("distance_before", est.distance_before_),
            ("distance_after", est.distance_),
        ):
            fin = ok & np.isfinite(d)
            s = np.bincount(area_of[fin], (w * d)[fin], minlength=len(areas))
            t = np.bincount(area_of[fin], w[fin], minlength=len(areas))
            areas[name] = np.where(t > 0, s / t, np.nan)
    areas["demand"] = tot
    return areas


def _write(
    res: AllocateOutputs, out: Path, prefix: str, boundaries, title, source: str | None
) -> None:
    est = res.model
    params = {k: v for k, v in est.provenance_.items()}
    params["demand_method"] = res.demand_method
    if res.problem.notes.get("demand"):
        params["demand"] = res.problem.notes["demand"]
    files = res.files
    sites = res.new_sites.copy()
    if len(sites):
        ll = sites.to_crs(4326).geometry
        sites["lon"], sites["lat"] = ll.x.round(7), ll.y.round(7)
    # One layer per file: write_layer replaces its file atomically.
    files["new_sites_gpkg"] = write_layer(
        sites, out / f"{prefix}new_sites.gpkg", layer="new_sites", **params
    )
    files["demand_gpkg"] = write_layer(
        res.demand, out / f"{prefix}demand.gpkg", layer="demand", **params
    )
    files["new_sites_csv"] = write_table(sites, out / f"{prefix}new_sites.csv", **params)
    files["assignment_csv"] = write_table(
        pd.DataFrame(res.demand.drop(columns=res.demand.geometry.name)),
        out / f"{prefix}assignment.csv",
        **params,
    )
    files["groups_csv"] = write_table(
        res.groups.reset_index(), out / f"{prefix}groups.csv", **params
    )
    if res.areas is not None:
        files.update(_maps(res, out, prefix, boundaries, title, source))
    if res.pareto is not None:
        table = res.pareto.assign(sites=res.pareto["sites"].map(lambda s: " ".join(map(str, s))))
        files["pareto_csv"] = write_table(table, out / f"{prefix}pareto.csv", **params)
        fig = plot_pareto(res.pareto, out / f"{prefix}pareto.png")
        del fig
        files["pareto_png"] = out / f"{prefix}pareto.png"
        res.summary += "\n\n" + _pareto_text(res.pareto)
    files["summary"] = atomic_write_text(out / f"{prefix}summary.txt", res.summary + "\n")


def _pareto_text(frame: pd.DataFrame) -> str:
    en = ["Efficiency vs equity (coverage / worst group coverage):"]
    ko = ["효율성과 형평성 (전체 커버율 / 최저 그룹 커버율):"]
    for _, row in frame.iterrows():
        tag = (
            row["objective"] if np.isnan(row["min_share"]) else f"min share {row['min_share']:.1%}"
        )
        line = (
            f"  {tag}: {100 * row['coverage']:.1f}% / {row['worst_group']} "
            f"{100 * row['worst_group_coverage']:.1f}%"
        )
        en.append(line + (" (Pareto)" if row["pareto"] else ""))
        ko.append(line + (" (파레토)" if row["pareto"] else ""))
    return "\n".join([*en, "", *ko])


def _maps(
    res: AllocateOutputs, out: Path, prefix: str, boundaries, title, source: str | None
) -> dict[str, Path]:
    from dongne.report import choropleth
    from dongne.report.maps import _figure_style, category_map, save_png

    est = res.model
    pr = res.problem
    areas = res.areas
    name = title or est._name
    unit = pr.unit
    extra = {"boundaries": boundaries} if boundaries is not None else {}
    written: dict[str, Path] = {}
    coverage = "coverage_after" in areas
    demand_text = {
        "grid": f"demand spread over a {pr.notes.get('demand_spacing_m', 0):g} m grid by area",
        "points": "demand spread over the given demand points",
        "centroid": "demand at one centroid per area (all-or-nothing)",
    }[res.demand_method]
    note = (
        f"dongne {est.provenance_['dongne_version']}; {est.method_}, {est.status_}; "
        f"{demand_text}"
    ) + (f"\nData: {source}" if source else "")
    centroid = res.demand_method == "centroid"
    for when, label_en, label_ko in (("before", "before", "현재"), ("after", "after", "배치 후")):
        column = f"coverage_{when}" if coverage else f"distance_{when}"
        if areas[column].notna().sum() == 0:
            continue
        common = {
            "title": f"{name} — {label_en} / {label_ko}",
            "note": note,
            "missing_label": "No demand / 수요 없음",
            **extra,
        }
        if coverage and centroid:
            labels = areas[column].map({100.0: "covered", 0.0: "not covered"})
            result = category_map(
                areas.assign(_covered=labels), "_covered",
                categories=_CENTROID_CATEGORIES,
                legend_title=f"Area centroid within {est.radius_:g} {unit}\n중심점 커버",
                **common,
            )  # fmt: skip
        elif coverage:
            result = choropleth(
                areas, column, scheme="fixed", bins=_COVERAGE_BINS, cmap="YlGnBu",
                legend_title=f"Demand within {est.radius_:g} {unit} (%)\n반경 내 수요 비율",
                **common,
            )  # fmt: skip
        else:
            result = choropleth(
                areas, column, scheme="quantiles", k=5, cmap="YlOrRd",
                legend_title=f"Mean distance ({unit}) / 평균 거리",
                **common,
            )  # fmt: skip
        fig = result.figure
        ax = fig.axes[0]
        crs = _map_crs(areas)
        handles = []
        if pr.existing.any():
            ex = pr.site_geometry[pr.existing].to_crs(crs)
            h = ax.scatter(ex.x, ex.y, s=2, c="#555555", alpha=0.5, linewidths=0, zorder=5)
            handles.append((h, f"Existing / 기존 ({int(pr.existing.sum())})"))
        if when == "after" and len(est.new_sites_):
            new = pr.site_geometry.iloc[est.new_sites_].to_crs(crs)
            h = ax.scatter(
                new.x, new.y, s=60, marker="*", c="#d7191c", edgecolors="white",
                linewidths=0.5, zorder=6,
            )  # fmt: skip
            handles.append((h, f"New / 신규 ({len(est.new_sites_)})"))
        if handles:
            from matplotlib.legend import Legend

            with _figure_style():
                # A second legend as an extra artist keeps the class legend of the map.
                sites_legend = Legend(
                    ax, [h for h, _ in handles], [t for _, t in handles], loc="lower right",
                    frameon=False, fontsize=8,
                )  # fmt: skip
            ax.add_artist(sites_legend)
        path = out / f"{prefix}map_{when}.png"
        save_png(fig, path)
        written[f"map_{when}"] = path
    return written


def _map_crs(areas: gpd.GeoDataFrame) -> Any:
    from dongne.io.crs import to_metric

    return to_metric(areas, "areas").crs
