"""The workflow behind ``dongne access``: demand, supply, costs, a measure, files and maps.

:func:`accessibility` computes one measure on given costs (the dispatcher over
:mod:`dongne.access.measures` and :mod:`dongne.access.raam`); :func:`run_access` does the
whole job — spreads area demand over fine points, selects the supply, computes the costs
along a network or in a straight line, aggregates the access of the points to their areas
(weighted by demand) and writes the layers, tables, map and a summary in Korean and English.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne import __version__
from dongne._warnings import user_stacklevel
from dongne.access.costs import Costs, straight_line_costs
from dongne.access.decay import (
    E2SFCA_STEPS,
    THREE_STEP_WEIGHTS,
    Decay,
    dai_gaussian_decay,
    gaussian_decay,
    step_decay,
)
from dongne.access.measures import (
    cumulative_opportunities,
    gravity_access,
    nearest_cost,
    three_step_fca,
    two_step_fca,
)
from dongne.access.network import Network, network_costs
from dongne.access.raam import raam
from dongne.allocate.equity import gini
from dongne.allocate.problem import DEFAULT_WALKING_SPEED_KMH, parse_radius, spread_demand
from dongne.errors import DataError, DongneWarning, SpecificationError, format_rows
from dongne.io.atomic import atomic_write_text
from dongne.io.crs import metric_crs, require_crs
from dongne.io.points import select_points
from dongne.io.write import write_layer, write_table

__all__ = ["MEASURES", "AccessOutputs", "accessibility", "run_access"]

#: The measures, their names in summaries and whether a higher value is better access.
MEASURES: dict[str, tuple[str, str, bool]] = {
    "nearest": ("cost to the nearest site", "가장 가까운 시설까지 비용", False),
    "cumulative": ("supply within the threshold", "임계값 안의 공급량", True),
    "gravity": ("gravity access (Hansen 1959)", "중력 접근성", True),
    "2sfca": ("2SFCA supply per person (Luo & Wang 2003)", "2SFCA 인구당 공급", True),
    "e2sfca": ("E2SFCA supply per person (Luo & Qi 2009)", "E2SFCA 인구당 공급", True),
    "kd2sfca": ("kernel-density 2SFCA (Dai 2010)", "커널 2SFCA 인구당 공급", True),
    "3sfca": ("3SFCA supply per person (Wan et al. 2012)", "3SFCA 인구당 공급", True),
    "raam": ("RAAM cost (Saxon & Snow 2020)", "RAAM 비용", False),
}
_TIME = re.compile(r"(min|minutes?|s|sec|h)\s*$", re.IGNORECASE)


@dataclass(eq=False)
class AccessOutputs:
    """What :func:`run_access` computed and wrote.

    Attributes
    ----------
    points : GeoDataFrame
        Demand points with their ``demand``, ``area`` and ``access`` value.
    areas : GeoDataFrame or None
        Demand areas with the demand-weighted ``access`` and ``no_access_share``.
    groups : DataFrame or None
        Per group (``equity_by``): demand, weighted mean access, share without access.
    costs : Costs
    summary : str
        Plain-language findings, English then Korean.
    files : dict
        Label → path of every file written.
    parameters : dict
        Everything recorded in the provenance files.
    """

    points: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame | None
    groups: pd.DataFrame | None
    costs: Costs
    summary: str = ""
    files: dict[str, Path] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)


def accessibility(
    costs: Costs,
    demand: Any,
    supply: Any,
    *,
    measure: str = "2sfca",
    threshold: float | None = None,
    decay: Decay | None = None,
    k: int = 1,
    tau: float | None = None,
) -> np.ndarray:
    """One access value per origin by ``measure`` (see :data:`MEASURES`).

    Defaults follow the published methods, scaled to the threshold d₀: ``e2sfca`` uses Luo &
    Qi's weights 1 / 0.68 / 0.22 on the thirds of d₀; ``kd2sfca`` Dai's Gaussian, 0 at d₀;
    ``3sfca`` Wan et al.'s stepwise Gaussian 0.962 / 0.704 / 0.377 / 0.042 at d₀/6, d₀/3,
    d₀/2 and d₀; ``gravity`` a Gaussian of σ = d₀/2; ``raam`` τ = d₀. A ``decay`` given
    replaces the default.

    Examples
    --------
    >>> c = Costs.from_dense([[1.0, 5.0], [2.0, np.inf]])
    >>> accessibility(c, [10, 30], [4, 3], measure="2sfca", threshold=5).tolist()
    [0.4, 0.1]
    """
    if measure not in MEASURES:
        raise SpecificationError(
            f"The 'measure' parameter must be one of {', '.join(MEASURES)}. Got {measure!r}."
        )
    if measure == "nearest":
        return nearest_cost(costs.within(threshold), k)
    scaled = measure in ("e2sfca", "kd2sfca", "3sfca", "gravity") and decay is None
    if threshold is None and (measure == "cumulative" or scaled):
        raise SpecificationError(
            f"measure={measure!r} needs a threshold (catchment size). Fix: e.g. threshold=10 "
            "(minutes), on the command line --threshold 10min."
        )
    f = decay if decay is not None else default_decay(measure, threshold)
    if measure == "cumulative":
        return cumulative_opportunities(costs, supply, threshold)
    if measure == "gravity":
        return gravity_access(costs, supply, f, threshold)
    if measure in ("2sfca", "e2sfca", "kd2sfca"):
        return two_step_fca(costs, demand, supply, threshold=threshold, decay=f)
    if measure == "3sfca":
        return three_step_fca(costs, demand, supply, threshold=threshold, decay=f)
    return raam(costs.within(threshold), demand, supply, tau=tau or threshold or 60.0)


def default_decay(measure: str, threshold: float | None) -> Decay | None:
    """The decay a measure uses when none is given (see :func:`accessibility`)."""
    if measure == "e2sfca":
        return step_decay({threshold * k / 30: w for k, w in E2SFCA_STEPS.items()})
    if measure == "kd2sfca":
        return dai_gaussian_decay(threshold)
    if measure == "3sfca":
        return step_decay({threshold * k / 60: w for k, w in THREE_STEP_WEIGHTS.items()})
    if measure == "gravity":
        return gaussian_decay(threshold / 2)
    return None


def run_access(
    demand: gpd.GeoDataFrame,
    supply: gpd.GeoDataFrame,
    out_dir: str | Path,
    *,
    measure: str = "2sfca",
    threshold: float | str = "10min",
    network: Network | None = None,
    weight: str | None = None,
    capacity: str | None = None,
    demand_id: str | None = None,
    supply_id: str | None = None,
    demand_method: str = "grid",
    demand_spacing: float | str = "100m",
    demand_points: gpd.GeoDataFrame | None = None,
    demand_points_weight: str | None = None,
    supply_filter: str | None = None,
    outside: str = "drop",
    equity_by: str | None = None,
    added: gpd.GeoDataFrame | None = None,
    added_capacity: str | float | None = None,
    name_column: str | None = None,
    decay: Decay | None = None,
    decay_name: str | None = None,
    k: int = 1,
    tau: float | None = None,
    speed_kmh: float = DEFAULT_WALKING_SPEED_KMH,
    max_snap: float = 500.0,
    source: str | None = None,
    prefix: str = "",
    progress: Callable[[str], None] | None = None,
    routing_progress: Callable[[int, int], None] | None = None,
    argument_names: Mapping[str, str] | None = None,
) -> AccessOutputs:
    """Measure access from demand (areas or points) to supply and write maps and tables.

    Parameters
    ----------
    demand : GeoDataFrame
        Demand areas (their ``weight`` is spread over fine points inside them, see
        ``demand_method``) or demand points.
    supply : GeoDataFrame of points
        Facilities; ``capacity`` column is their supply (default 1 each).
    out_dir : path-like
        Folder for the outputs (created).
    measure : str
        One of :data:`MEASURES`.
    threshold : float or str
        Catchment size: ``"10min"`` (travel minutes: along ``network``, or walking at
        ``speed_kmh`` in a straight line) or ``"800m"`` (metres).
    network : Network, optional
        Street network (:func:`dongne.access.read_network`); straight lines without it.
    weight, capacity : str, optional
        Demand column of ``demand`` (people) and supply column of ``supply``.
    demand_id, supply_id : str, optional
        Id columns (default: the index).
    demand_method, demand_spacing, demand_points, demand_points_weight
        How area demand becomes points (:func:`dongne.allocate.spread_demand`): a grid of
        ``demand_spacing`` by area (default), the user's points (population grid, buildings)
        by their weight, or one centroid per area. The method is named in the summary.
    supply_filter : str, optional
        A pandas query the supply rows must satisfy, e.g. ``"in_use == 'Y'"``.
    outside : {"drop", "keep", "raise"}
        Supply points outside the demand areas: left out (listed), kept, or an error.
    equity_by : str, optional
        Column of ``demand`` to report access per group (e.g. ``"gu_name"``).
    added : GeoDataFrame of points, optional
        Sites added to the supply (e.g. the ``new_sites.gpkg`` of ``dongne allocate``): access
        is computed before and after, and the change is reported per point, area and group
        (who gains). ``access`` is then the value after, ``access_before`` the value before.
    added_capacity : str or float, optional
        Capacity column of ``added``, or one number for every added site (required when
        ``capacity`` is given).
    name_column : str, optional
        Column of the demand areas named in the summary (default: the id).
    decay : callable, optional
        Distance decay (:mod:`dongne.access.decay`) replacing the measure's default;
        ``decay_name`` is how summaries name it.
    k : int
        ``nearest``: the k-th nearest site.
    tau : float, optional
        ``raam``: travel cost equivalent to mean congestion (default: the threshold).
    speed_kmh : float
        Walking speed of straight-line minutes.
    max_snap : float
        Points farther than this from the network (metres) are unreachable (warned).
    source : str, optional
        Data source written under the map.
    prefix : str
        Prefix of every file name.
    progress : callable, optional
        Called with a message before each step; ``routing_progress(done, total)`` during
        routing.
    argument_names : mapping, optional
        How messages name ``supply_filter`` and ``outside`` (the command line's flags).

    Returns
    -------
    AccessOutputs
    """
    step = progress or (lambda _m: None)
    names = {"supply_filter": "supply_filter", "outside": "outside", **(argument_names or {})}
    if measure not in MEASURES:
        raise SpecificationError(
            f"The 'measure' parameter must be one of {', '.join(MEASURES)}. Got {measure!r}."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    step("spreading demand")
    unit, d0 = _threshold(threshold, network, speed_kmh)
    points, areas, how = _demand(demand, weight, demand_id, demand_method, demand_spacing,
                                 demand_points, demand_points_weight, equity_by)  # fmt: skip
    sites, selection = _supply(supply, capacity, supply_id, supply_filter, outside,
                               areas, names)  # fmt: skip
    step("routing" if network is not None else "measuring straight lines")
    route = {"network": network, "max_snap": max_snap, "progress": routing_progress,
             "speed_kmh": speed_kmh if unit == "min" else None, "cutoff": d0}  # fmt: skip
    costs = _costs(points, sites, route)
    step(f"computing {measure}")
    options = {"measure": measure, "threshold": d0, "decay": decay, "k": k, "tau": tau}
    demand_values = points["demand"].to_numpy()
    points["access"] = accessibility(costs, demand_values, sites["supply"].to_numpy(), **options)
    n_added = 0
    if added is not None:
        extra = _added_sites(added, added_capacity, capacity is not None)
        n_added = len(extra)
        both = pd.concat([sites, extra.to_crs(sites.crs)], ignore_index=True)
        costs = _costs(points, both, route)
        after = accessibility(costs, demand_values, both["supply"].to_numpy(), **options)
        points["access_before"] = points["access"]
        points["access"] = after
        points["gain"] = _gain(points["access_before"].to_numpy(), after, measure)
    parameters = {
        "measure": measure, "threshold": d0, "unit": unit, "costs": costs.method,
        "decay": decay_name or _decay_text(measure, decay), "demand_method": how,
        "demand_points": len(points), "supply_sites": len(sites), "pairs": costs.n_pairs,
        "supply_selection": selection, "k": k, "tau": tau, "cost_notes": costs.notes,
        "added_sites": n_added, "name_column": name_column,
    }  # fmt: skip
    result = AccessOutputs(points=points, areas=None, groups=None, costs=costs,
                           parameters=parameters)  # fmt: skip
    if areas is not None:
        result.areas = _per_area(areas, points, measure)
    if equity_by is not None:
        result.groups = _per_group(points, equity_by, measure)
    result.summary = _summary(result, measure, unit, d0)
    step("writing layers, map and summary")
    _write(result, out, prefix, source)
    return result


# --------------------------------------------------------------------------- inputs
def _threshold(value: float | str, network: Network | None, speed_kmh: float):
    """(unit, threshold) — minutes for times, metres for distances; must match the network."""
    unit = "min" if isinstance(value, str) and _TIME.search(value.strip()) else "m"
    if network is not None and isinstance(value, (int, float)):
        unit = network.unit
    try:
        d0 = parse_radius(value, unit=unit, speed_kmh=speed_kmh)
    except SpecificationError:
        raise SpecificationError(
            f"The threshold must be a number or a number with a unit. Got {value!r} instead. "
            "Fix: threshold='10min' (travel minutes), or '800m' / '1.2km' (metres)."
        ) from None
    if network is not None and network.unit != unit:
        raise SpecificationError(
            f"The threshold {value!r} is in {unit} but the network's costs are in "
            f"{network.unit}. Fix: give the threshold in {network.unit} (e.g. '10min'), or "
            f"build the network with unit={unit!r}."
        )
    return unit, d0


def _costs(points: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, route: dict[str, Any]) -> Costs:
    """Costs from the demand points to ``sites``, along the network or in straight lines."""
    sites_m = sites.to_crs(points.crs)
    if route["network"] is not None:
        return network_costs(route["network"], points, sites_m, cutoff=route["cutoff"],
                             max_snap=route["max_snap"], progress=route["progress"])  # fmt: skip
    return straight_line_costs(points, sites_m, cutoff=route["cutoff"],
                               speed_kmh=route["speed_kmh"])  # fmt: skip


def _added_sites(added: gpd.GeoDataFrame, capacity: str | float | None, needed: bool):
    """The added sites as (site_id, supply) points; their capacity is required with one."""
    require_crs(added, "added sites")
    bad = added.index[added.geom_type != "Point"]
    if len(bad):
        raise DataError(f"The added sites must be points; rows {format_rows(bad)} are not.")
    if capacity is None and needed:
        raise SpecificationError(
            "The supply has capacities, so the added sites need one too. Fix: "
            "added_capacity=COLUMN or added_capacity=NUMBER."
        )
    if isinstance(capacity, str) and capacity in added:
        s = _column(added, capacity, "added sites", "added_capacity")
    elif capacity is None:
        s = np.ones(len(added))
    else:
        try:
            s = np.full(len(added), float(capacity))
        except ValueError:
            _column(added, str(capacity), "added sites", "added_capacity")
    ids = [f"added-{i}" for i in range(len(added))]
    return gpd.GeoDataFrame({"site_id": ids, "supply": s}, geometry=added.geometry.to_numpy(),
                            crs=added.crs)  # fmt: skip


def _gain(before: np.ndarray, after: np.ndarray, measure: str) -> np.ndarray:
    """Improvement in access: after − before (before − after for cost measures; inf → NaN)."""
    with np.errstate(invalid="ignore"):
        diff = after - before if MEASURES[measure][2] else before - after
    return np.where(np.isfinite(diff), diff, np.nan)


def _demand(demand, weight, demand_id, method, spacing, points, points_weight, group):
    """Demand points (column ``demand``, ``area``), the areas (or None) and the method named."""
    require_crs(demand, "demand")
    if weight is not None:
        _column(demand, weight, "demand", "weight")
    polygons = bool(demand.geom_type.isin(["Polygon", "MultiPolygon"]).all())
    if polygons:
        spread = spread_demand(demand, weight=weight, method=method, spacing=spacing,
                               points=points, points_weight=points_weight,
                               area_id=demand_id)  # fmt: skip
        col = weight or "demand_weight"
        keep = ["demand_point_id", "area_index", col, *([group] if group in spread else [])]
        pts = spread[[*keep, spread.geometry.name]].rename(
            columns={col: "demand", "demand_point_id": "point_id"}
        )
        labels = (demand[demand_id] if demand_id else demand.index.to_series()).astype(str)
        pts["area"] = labels.to_numpy()[pts["area_index"].to_numpy()]
        areas = demand.to_crs(pts.crs).reset_index(drop=True)
        areas["area"] = labels.to_numpy()
        return pts, areas, spread.attrs["dongne"]["demand_method"]
    if not demand.geom_type.eq("Point").all():
        raise DataError(
            "demand must be polygons (areas) or points; rows "
            f"{format_rows(demand.index[~demand.geom_type.isin(['Point'])])} are neither."
        )
    metric = demand.to_crs(metric_crs(demand))
    values = np.ones(len(metric)) if weight is None else _column(metric, weight, "demand", "weight")
    ids = metric[demand_id] if demand_id else metric.index.to_series()
    pts = gpd.GeoDataFrame({"point_id": ids.astype(str).to_numpy(), "demand": values,
                            "area": ids.astype(str).to_numpy()},
                           geometry=metric.geometry.to_numpy(), crs=metric.crs)  # fmt: skip
    if group in metric:
        pts[group] = metric[group].to_numpy()
    return pts, None, "the given demand points"


def _supply(supply, capacity, supply_id, query, outside, areas, names):
    """Selected supply points (column ``supply``) and the selection record."""
    chosen = select_points(supply, query=query, areas=areas, outside=outside,
                           what="supply sites", what_ko="공급 시설",
                           argument_names={"query": names["supply_filter"],
                                           "outside": names["outside"]})  # fmt: skip
    if not len(chosen):
        raise DataError(
            f"No supply site is left after {names['supply_filter']} and {names['outside']}. "
            "Fix: check the filter and that the sites lie in the demand areas."
        )
    s = (
        np.ones(len(chosen))
        if capacity is None
        else _column(chosen, capacity, "supply", "capacity")
    )
    zero = np.flatnonzero(s == 0)
    if len(zero):
        warnings.warn(
            f"{len(zero)} supply sites have zero capacity (rows "
            f"{format_rows(chosen.index[zero])}): they add nothing to access.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
    ids = chosen[supply_id] if supply_id else chosen.index.to_series()
    sites = gpd.GeoDataFrame({"site_id": ids.astype(str).to_numpy(), "supply": s},
                             geometry=chosen.geometry.to_numpy(), crs=chosen.crs)  # fmt: skip
    return sites, chosen.attrs.get("dongne", {}).get("selection", {})


def _column(frame: pd.DataFrame, column: str, what: str, param: str) -> np.ndarray:
    if column not in frame:
        import difflib

        names = [c for c in map(str, frame.columns) if c != "geometry"]
        close = difflib.get_close_matches(column, names, n=1, cutoff=0.5)
        raise DataError(
            f"{what} has no column {column!r}. Columns: {', '.join(names)}. Fix: "
            + (f"{param}='{close[0]}'." if close else f"name one of them with {param}=.")
        )
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | (values < 0) | ~np.isfinite(values.fillna(0))
    if bad.any():
        raise DataError(
            f"{what} column {column!r} is missing, negative or not a number in rows "
            f"{format_rows(frame.index[bad.to_numpy()])}. Fix: clean those rows (0 if none)."
        )
    return values.to_numpy(dtype=float)


# --------------------------------------------------------------------------- results
def _weighted(frame: pd.DataFrame, key: str, measure: str, column: str = "access") -> pd.DataFrame:
    """Demand-weighted mean of ``column`` per ``key`` (cost measures: over points in reach)."""
    higher = MEASURES[measure][2]
    reach = np.isfinite(frame[column]) & ((frame[column] > 0) if higher else True)
    d = frame["demand"].to_numpy()
    v = np.where(np.isfinite(frame[column]), frame[column], 0.0)
    tmp = pd.DataFrame({key: frame[key].to_numpy(), "d": d, "dv": d * v,
                        "d_reach": d * reach, "dv_reach": d * v * reach})  # fmt: skip
    g = tmp.groupby(key, sort=False).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (g["dv"] / g["d"]) if higher else (g["dv_reach"] / g["d_reach"])
        share = 1 - g["d_reach"] / g["d"]
    return pd.DataFrame({"demand": g["d"], "access": mean, "no_access_share": share})


def _per_area(areas: gpd.GeoDataFrame, points: gpd.GeoDataFrame, measure: str):
    out = areas.copy()
    for stats in _before_after(points, "area", measure):
        joined = stats.reindex(out["area"].to_numpy())
        for column in stats.columns:
            out[column] = joined[column].to_numpy()
    return out


def _before_after(points: pd.DataFrame, key: str, measure: str) -> list[pd.DataFrame]:
    """Weighted access per ``key``; with added sites also before, and the gain."""
    stats = [_weighted(points, key, measure)]
    if "access_before" in points:
        before = _weighted(points, key, measure, "access_before")[["access", "no_access_share"]]
        before.columns = ["access_before", "no_access_share_before"]
        higher = MEASURES[measure][2]
        gain = stats[0]["access"] - before["access_before"]
        stats.append(before.assign(gain=gain if higher else -gain))
    return stats


def _per_group(points: gpd.GeoDataFrame, column: str, measure: str) -> pd.DataFrame:
    if column not in points:
        raise DataError(
            f"equity_by={column!r} is not a column of the demand. Fix: name a column of the "
            "demand areas (e.g. gu_name)."
        )
    stats = pd.concat(_before_after(points, column, measure), axis=1)
    higher = MEASURES[measure][2]
    ok = np.isfinite(points["access"].to_numpy())
    stats.attrs["gini"] = gini(points["access"].to_numpy()[ok], points["demand"].to_numpy()[ok])
    return stats.sort_values("access", ascending=higher)


def _decay_text(measure: str, decay: Decay | None) -> str:
    if decay is not None:
        return "user decay"
    return {
        "e2sfca": "steps 1 / 0.68 / 0.22 at d0/3, 2d0/3, d0 (Luo & Qi 2009)",
        "kd2sfca": "Dai (2010) Gaussian, 0 at d0",
        "3sfca": "steps 0.962 / 0.704 / 0.377 / 0.042 at d0/6, d0/3, d0/2, d0 (Wan 2012)",
        "gravity": "Gaussian, sigma = d0/2",
    }.get(measure, "none (1 within the threshold)")


def _summary(res: AccessOutputs, measure: str, unit: str, d0: float) -> str:
    en_name, ko_name, higher = MEASURES[measure]
    p = res.points
    d = p["demand"].to_numpy()
    v = p["access"].to_numpy()
    none = (~np.isfinite(v)) | ((v <= 0) if higher else False)
    share = float(d[none].sum() / d.sum()) if d.sum() > 0 else float("nan")
    prm = res.parameters
    en = [
        f"Access measure: {en_name}; threshold {d0:g} {unit}; decay: {prm['decay']}.",
        f"Costs: {prm['costs']} ({prm['pairs']:,} pairs within the threshold).",
        f"Demand: {len(p):,} points — {prm['demand_method']}; supply: {prm['supply_sites']:,} "
        "sites.",
        f"{share:.1%} of the demand reaches no supply within {d0:g} {unit}.",
    ]
    ko = [
        f"접근성 지표: {ko_name}; 임계값 {d0:g} {unit}; 거리 감쇠: {prm['decay']}.",
        f"비용: {prm['costs']} (임계값 안 쌍 {prm['pairs']:,}개).",
        f"수요: 점 {len(p):,}개 ({_demand_ko(prm['demand_method'])}); 공급 시설 "
        f"{prm['supply_sites']:,}곳.",
        f"수요의 {share:.1%}는 {d0:g} {unit} 안에 도달할 수 있는 시설이 없습니다.",
    ]
    if res.areas is not None:
        a = res.areas.dropna(subset=["access"]).sort_values("access", ascending=higher)
        worst = ", ".join(a[_label(res)].astype(str).head(5))
        en.append(f"Areas with the least access: {worst}.")
        ko.append(f"접근성이 가장 낮은 지역: {worst}.")
    if res.groups is not None:
        g = res.groups
        en.append(f"Worst group: {g.index[0]} (access {g['access'].iloc[0]:.4g}); Gini of "
                  f"access across demand points {g.attrs['gini']:.3f}.")  # fmt: skip
        ko.append(f"가장 낮은 그룹: {g.index[0]} (접근성 {g['access'].iloc[0]:.4g}); 수요점 간 "
                  f"접근성 지니계수 {g.attrs['gini']:.3f}.")  # fmt: skip
    if "access_before" in p:
        e, k = _gain_text(res, higher, d0, unit)
        en.extend(e)
        ko.extend(k)
    snap = res.costs.notes.get("origin_snap_m")
    if snap:
        med, top = snap["median"], snap["max"]
        en.append(f"Demand points snapped to the network: median {med:.0f} m, farthest "
                  f"{top:.0f} m (added as straight legs at the profile's speed).")  # fmt: skip
        ko.append(f"수요점을 도로망에 연결한 거리: 중앙값 {med:.0f} m, 최대 {top:.0f} m "
                  "(직선 구간으로 더함).")  # fmt: skip
    for note in ("origins_too_far", "origins_on_islands"):
        rows = res.costs.notes.get(note)
        if rows:
            en.append(f"Demand points {note.split('_', 1)[1].replace('_', ' ')}: {len(rows)}.")
            ko.append(f"도로망 밖/고립 수요점 ({note}): {len(rows)}개.")
    return "\n".join([*en, "", *ko])


def _demand_ko(how: str) -> str:
    """The demand method in Korean (the English sentence of spread_demand, translated)."""
    grid = re.match(r"spread over a (\S+) m grid", how)
    if grid:
        return f"지역 수요를 {grid.group(1)} m 격자에 면적 비율로 배분"
    if how.startswith("spread over"):
        return "지역 수요를 주어진 점(인구 격자·건물 등)에 가중치 비율로 배분"
    if how.startswith("one point per area"):
        return "지역마다 중심점 하나"
    return "주어진 수요 점"


def _label(res: AccessOutputs) -> str:
    name = res.parameters.get("name_column")
    return name if name and res.areas is not None and name in res.areas else "area"


def _gain_text(res: AccessOutputs, higher: bool, d0: float, unit: str):
    """Sentences on who gains from the added sites (English, Korean)."""
    p = res.points
    d = p["demand"].to_numpy()
    before = p["access_before"].to_numpy()
    none_before = (~np.isfinite(before)) | ((before <= 0) if higher else False)
    share = float(d[none_before].sum() / d.sum()) if d.sum() > 0 else float("nan")
    gained = float(d[np.nan_to_num(p["gain"].to_numpy()) > 0].sum())
    n = res.parameters["added_sites"]
    en = [f"With the {n} added sites: demand without supply within {d0:g} {unit} was "
          f"{share:.1%} before; {gained:,.0f} of the demand gains access."]  # fmt: skip
    ko = [f"추가 시설 {n}곳: {d0:g} {unit} 안에 시설이 없는 수요는 추가 전 {share:.1%}; "
          f"수요 {gained:,.0f}의 접근성이 좋아집니다."]  # fmt: skip
    if res.areas is not None:
        top = res.areas.dropna(subset=["gain"]).sort_values("gain", ascending=False).head(5)
        names = ", ".join(top[_label(res)].astype(str))
        en.append(f"Areas gaining most: {names}.")
        ko.append(f"가장 많이 좋아지는 지역: {names}.")
    if res.groups is not None:
        g = res.groups.sort_values("gain", ascending=False)
        en.append(f"Group gaining most: {g.index[0]} (+{g['gain'].iloc[0]:.4g}).")
        ko.append(f"가장 많이 좋아지는 그룹: {g.index[0]} (+{g['gain'].iloc[0]:.4g}).")
    return en, ko


def _write(res: AccessOutputs, out: Path, prefix: str, source: str | None) -> None:
    params = {"dongne_version": __version__, **res.parameters}
    files = res.files
    files["points_gpkg"] = write_layer(res.points, out / f"{prefix}access_points.gpkg",
                                       layer="access_points", **params)  # fmt: skip
    if res.areas is not None:
        files["areas_gpkg"] = write_layer(res.areas, out / f"{prefix}access_areas.gpkg",
                                          layer="access_areas", **params)  # fmt: skip
        files["areas_csv"] = write_table(res.areas, out / f"{prefix}access_areas.csv", **params)
        files["map"] = _map(res, out / f"{prefix}access_map.png", source)
        if "gain" in res.areas:
            files["gain_map"] = _map(res, out / f"{prefix}access_gain_map.png", source, "gain")
    else:
        files["points_csv"] = write_table(res.points, out / f"{prefix}access_points.csv",
                                          **params)  # fmt: skip
    if res.groups is not None:
        files["groups_csv"] = write_table(res.groups.reset_index(),
                                          out / f"{prefix}access_groups.csv", **params)  # fmt: skip
    files["summary"] = atomic_write_text(out / f"{prefix}access_summary.txt", res.summary + "\n")


def _map(res: AccessOutputs, path: Path, source: str | None, column: str = "access") -> Path:
    from dongne.report import choropleth

    measure = res.parameters["measure"]
    en_name, ko_name, higher = MEASURES[measure]
    note = (
        f"dongne {__version__}; {res.parameters['costs']}; threshold "
        f"{res.parameters['threshold']:g} {res.parameters['unit']}; demand: "
        f"{res.parameters['demand_method']}"
    ) + (f"\nData: {source}" if source else "")
    areas = res.areas
    finite = areas[column].where(np.isfinite(areas[column]))
    title = f"{en_name}\n{ko_name}"
    if column == "gain":
        title = f"Gain with the added sites: {en_name}\n추가 시설로 인한 개선: {ko_name}"
        higher = True
    choropleth(
        areas.assign(_access=finite), "_access", title=title,
        legend_title=("higher = better / 높을수록 좋음" if higher else
                      "lower = better / 낮을수록 좋음"),
        scheme="quantiles", k=5, cmap="YlGnBu" if higher else "YlOrRd",
        missing_label="No demand or no site in reach / 수요·도달 시설 없음", note=note,
        path=path,
    )  # fmt: skip
    return path
