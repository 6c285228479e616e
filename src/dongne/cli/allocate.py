"""``dongne allocate``: where should p new facilities go?"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dongne.cli._common import add_network_options, network_option, print_outputs, progress_steps

HELP = "where should p new facilities go (MCLP, LSCP, p-median, p-center, equity)?"
USES_SCHEDULER = True
DESCRIPTION = """\
Choose sites for new facilities, keeping existing ones open, solved exactly with HiGHS (or a
fast heuristic that reports its gap to a lower bound).

models: mclp (cover the most demand within --radius with --p new sites), lscp (fewest sites
covering all demand; --coverage 0.9: the fewest covering 90% of the demand weight), pmedian
(least total weighted distance), pcenter (least worst distance).
--radius accepts metres or minutes of walking: 500m, 1.2km, 10min.
Equity: --equity-by COL (e.g. gu) with --min-share 0.6 (each group at least 60% covered) or
--objective maxmin (raise the worst group's coverage); --pareto N sweeps efficiency vs equity.

Demand areas are spread over a --demand-spacing grid inside each area (default 100m), or over
--demand-points (population grid, buildings) weighted by --demand-points-weight; coverage is
then the share of each area's demand within the radius. --demand-method centroid reduces each
area to one point (all-or-nothing coverage; warned).
Existing facilities: --existing-filter "사용여부 == 'Y'" keeps the rows that satisfy the rule;
points outside the demand areas are listed and left out (--outside keep|raise to change).
Point files: --existing-x/-y/-crs, --candidates-x/-y/-crs; coordinates in centimetres need
--existing-xy-scale 0.01 (or --candidates-xy-scale, --demand-points-xy-scale).

Street network: --network roads.gpkg (a road-centreline line layer you bring) with --profile
walk|bike|drive measures distances along the streets in travel minutes (or metres when
--radius is in metres); --radius 10min is then 10 minutes along the network.

Writes into --out: new_sites.gpkg/.csv, demand.gpkg, assignment.csv, groups.csv, map_before.png,
map_after.png, pareto.csv/.png (with --pareto), summary.txt (English and Korean).
"""

#: The point files of the command: flag prefix and what they are.
_POINT_FILES = {
    "existing": "existing facilities",
    "candidates": "candidate sites",
    "demand-points": "demand points",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dongne allocate``."""
    parser.add_argument("--demand", required=True, help="demand areas or points (a geo file)")
    parser.add_argument(
        "--candidates",
        default="grid",
        help="candidate sites: a point file, 'centroids' or 'grid' (default)",
    )
    parser.add_argument("--existing", help="existing facilities (points), kept open")
    parser.add_argument("--model", default="mclp", choices=["mclp", "lscp", "pmedian", "pcenter"])
    parser.add_argument("--p", type=int, help="number of new sites")
    parser.add_argument("--radius", help="service distance, e.g. 500m, 1.2km, 10min")
    parser.add_argument("--weight", help="demand weight column (e.g. households)")
    parser.add_argument("--id", help="id column of the demand")
    parser.add_argument("--candidate-id", help="id column of the candidates")
    parser.add_argument("--existing-id", help="id column of the existing facilities")
    parser.add_argument("--equity-by", help="group column for equity (e.g. gu)")
    parser.add_argument("--min-share", type=float, help="minimum covered share in every group")
    parser.add_argument("--objective", default="coverage", choices=["coverage", "maxmin"])
    parser.add_argument(
        "--coverage",
        type=float,
        help="lscp: share of the demand weight to cover, in (0, 1] (default 1; below 1: "
        "partial set covering, the fewest sites covering that share)",
    )
    parser.add_argument("--method", default="auto", choices=["auto", "exact", "heuristic"])
    parser.add_argument("--time-limit", type=float, help="solver time limit in seconds")
    parser.add_argument("--grid-spacing", default="500m", help="spacing of generated candidates")
    parser.add_argument(
        "--pareto", type=int, default=0, help="points of an efficiency-equity sweep"
    )
    parser.add_argument(
        "--speed", type=float, default=4.0, help="walking speed in km/h for minutes"
    )
    parser.add_argument("--source", help="data source written under the maps")
    parser.add_argument("--layer", help="layer of --demand")
    parser.add_argument("--crs", help="CRS of --demand when the file declares none, e.g. EPSG:5179")
    demand = parser.add_argument_group("demand from areas")
    demand.add_argument(
        "--demand-method",
        choices=["grid", "points", "centroid"],
        help="how area demand becomes points: grid (default), points (default with "
        "--demand-points), centroid (one point per area, all-or-nothing)",
    )
    demand.add_argument(
        "--demand-spacing", default="100m", help="grid spacing of --demand-method grid"
    )
    demand.add_argument(
        "--demand-points", help="where demand lies: a point file (population grid, buildings)"
    )
    demand.add_argument("--demand-points-weight", help="weight column of --demand-points")
    selection = parser.add_argument_group("existing facilities and points outside")
    selection.add_argument(
        "--existing-filter",
        help="keep the existing facilities that satisfy this pandas query, e.g. "
        "\"사용여부 == 'Y'\"",
    )
    selection.add_argument(
        "--outside",
        default="drop",
        choices=["drop", "keep", "raise"],
        help="existing and candidate points outside the demand areas: left out and listed "
        "(drop, default), kept, or an error",
    )
    for flag, what in _POINT_FILES.items():
        group = parser.add_argument_group(f"--{flag} file")
        group.add_argument(f"--{flag}-x", help=f"x / longitude column of the {what}")
        group.add_argument(f"--{flag}-y", help=f"y / latitude column of the {what}")
        group.add_argument(f"--{flag}-crs", help=f"CRS of the {what}' coordinates, e.g. EPSG:5186")
        group.add_argument(
            f"--{flag}-xy-scale",
            type=float,
            help=f"multiply the {what}' coordinates, e.g. 0.01 for centimetres",
        )
    add_network_options(parser, "street network (costs along the roads)")
    parser.add_argument("--out", default="dongne-allocate", help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Solve the siting problem and print the summary and the files written."""
    from dongne.allocate import run_allocate
    from dongne.io import read_areas, read_points

    demand = read_areas(args.demand, layer=args.layer, crs=args.crs)
    candidates: object = args.candidates
    if args.candidates not in ("centroids", "grid"):
        candidates = _points(read_points, args, "candidates")
    existing = _points(read_points, args, "existing") if args.existing else None
    demand_points = _points(read_points, args, "demand-points") if args.demand_points else None
    cost, unit = _network_cost(args)
    bar, step = progress_steps(6, args.quiet)
    with bar:
        result = run_allocate(
            demand,
            args.out,
            model=args.model,
            candidates=candidates,
            existing=existing,
            p=args.p,
            radius=args.radius,
            weight=args.weight,
            demand_id=args.id,
            candidate_id=args.candidate_id,
            existing_id=args.existing_id,
            equity_by=args.equity_by,
            min_share=args.min_share,
            objective=args.objective,
            coverage=args.coverage,
            method=args.method,
            time_limit=args.time_limit,
            grid_spacing=args.grid_spacing,
            pareto=args.pareto,
            speed_kmh=args.speed,
            cost=cost,
            cost_unit=unit,
            demand_method=args.demand_method,
            demand_spacing=args.demand_spacing,
            demand_points=demand_points,
            demand_points_weight=args.demand_points_weight,
            existing_filter=args.existing_filter,
            outside=args.outside,
            source=args.source,
            progress=step,
            scheduler=args.scheduler,
            argument_names={
                "coverage": "--coverage",
                "model": "--model",
                "existing_filter": "--existing-filter",
                "outside": "--outside",
                "demand_method": "--demand-method",
                "demand_points": "--demand-points",
            },
        )
        bar.update(bar.total - bar.n)
    return print_outputs(result.summary, Path(args.out), result.files)


def _points(read_points: Any, args: argparse.Namespace, flag: str) -> Any:
    """Read the point file of ``--FLAG`` with its x/y/CRS/scale flags; hints name those flags."""
    dest = flag.replace("-", "_")
    options = {name: getattr(args, f"{dest}_{name}") for name in ("x", "y", "crs", "xy_scale")}
    flags = {name: f"--{flag}-{name.replace('_', '-')}" for name in options}
    return read_points(getattr(args, dest), **options, argument_names=flags)


def _network_cost(args: argparse.Namespace) -> tuple[Any, str]:
    """The cost callable of ``--network`` (None without it) and its unit."""
    if not args.network:
        return None, "min"
    from dongne.access import network_costs

    metres = bool(args.radius) and args.radius.strip().lower().endswith(("m", "km")) and not (
        args.radius.strip().lower().endswith("min")
    )
    unit = "m" if metres else "min"
    net = network_option(args, unit)

    def cost(demand: Any, sites: Any) -> Any:
        import geopandas as gpd

        frames = [gpd.GeoDataFrame(geometry=g.reset_index(drop=True)) for g in (demand, sites)]
        return network_costs(net, *frames, max_snap=args.max_snap).to_dense()

    cost.description = (  # type: ignore[attr-defined]
        f"network {args.network} ({net.profile}, {net.speed_kmh:g} km/h, {unit})"
    )
    return cost, unit
