"""``dongne access``: who can reach what (2SFCA family, gravity, RAAM), by network or line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dongne.cli._common import add_network_options, network_option, print_outputs, progress_steps

HELP = "spatial accessibility: 2SFCA, E2SFCA, 3SFCA, gravity, RAAM along a street network"
DESCRIPTION = """\
Measure how well the people of each area can reach a resource: supply per person within a
catchment (2SFCA family), gravity access, opportunities within a threshold, the cost to the
nearest site, or RAAM (travel + congestion). Area demand is spread over fine points (a
--demand-spacing grid, or --demand-points weighted by --demand-points-weight) and the points'
access is averaged per area, weighted by demand.

Costs: along a street network (--network roads.gpkg, a road-centreline line layer you bring,
e.g. a 도로중심선 Shapefile, or an OpenStreetMap .osm.pbf extract; --profile walk|bike|drive;
--oneway COL and --speed-column COL for driving), otherwise straight lines (walking at --speed
km/h when the threshold is in minutes). Nothing is downloaded; a built network is cached on
disk. --demand-points also takes a GeoTIFF population grid.

measures: 2sfca (Luo & Wang 2003), e2sfca (stepwise weights, Luo & Qi 2009), kd2sfca (Gaussian
kernel, Dai 2010), 3sfca (competition weights, Wan et al. 2012), gravity, cumulative,
nearest (--k), raam (Saxon & Snow 2020, --tau). --decay replaces a measure's default weights.

Without DEMAND and SUPPLY it runs on the bundled Seoul data: 423 dongs (households, 2010
census) and the 2023 heat shelters in use (capacity = 수용인원), per gu.

Writes into --out: access_areas.gpkg/.csv (per area), access_points.gpkg (per demand point),
access_groups.csv (with --equity-by), access_map.png, access_summary.txt (English and Korean),
each with a .provenance.json. With --added-sites (e.g. the new_sites.gpkg of dongne allocate)
access is measured before and after the sites are added: access_before, gain per point, area
and group, and access_gain_map.png (who gains).
"""

_SEOUL = {"weight": "households", "id": "dong_code", "equity_by": "gu_name",
          "name": "dong_name", "capacity": "capacity_persons",
          "supply_filter": "in_use == 'Y'"}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dongne access``."""
    parser.add_argument("demand", nargs="?", help="demand areas or points (default: Seoul dongs)")
    parser.add_argument(
        "supply", nargs="?", help="supply points, a geo file or a table (default: heat shelters)"
    )
    parser.add_argument("--measure", default="2sfca",
                        choices=["2sfca", "e2sfca", "kd2sfca", "3sfca", "gravity", "cumulative",
                                 "nearest", "raam"])  # fmt: skip
    parser.add_argument("--threshold", default="10min", help="catchment: 10min, 800m, 1.2km")
    parser.add_argument("--decay", default="default",
                        choices=["default", "none", "step", "gaussian", "dai", "exponential"],
                        help="distance decay replacing the measure's default")  # fmt: skip
    parser.add_argument("--steps", help="step weights for --decay step, e.g. '3:1,7:0.68,10:0.22'")
    parser.add_argument("--sigma", type=float, help="--decay gaussian width (default threshold/2)")
    parser.add_argument("--beta", type=float, help="--decay exponential rate per cost unit")
    parser.add_argument("--k", type=int, default=1, help="--measure nearest: k-th nearest site")
    parser.add_argument("--tau", type=float, help="--measure raam: travel cost of mean congestion")
    parser.add_argument("--weight", help="demand column (people, households)")
    parser.add_argument("--capacity", help="supply column (places, 수용인원); default 1 per site")
    parser.add_argument("--id", help="id column of the demand")
    parser.add_argument("--supply-id", help="id column of the supply")
    parser.add_argument("--name", help="name column of the demand areas, for the summary")
    parser.add_argument("--equity-by", help="report access per group (e.g. gu_name)")
    parser.add_argument("--supply-filter", help="keep supply rows satisfying a pandas query")
    parser.add_argument("--outside", default="drop", choices=["drop", "keep", "raise"],
                        help="supply points outside the demand areas")  # fmt: skip
    parser.add_argument(
        "--added-sites",
        help="sites to add (e.g. dongne allocate's new_sites.gpkg): access before and after",
    )
    parser.add_argument("--added-capacity", help="capacity column or number of --added-sites")
    parser.add_argument("--speed", type=float, default=4.0, help="walking speed in km/h")
    parser.add_argument("--layer", help="layer of DEMAND")
    parser.add_argument("--crs", help="CRS of DEMAND when the file declares none")
    for flag, what in (("x", "x / longitude"), ("y", "y / latitude"), ("crs", "CRS")):
        parser.add_argument(f"--supply-{flag}", help=f"{what} of a SUPPLY table's coordinates")
    add_network_options(parser, "street network")
    demand = parser.add_argument_group("demand from areas")
    demand.add_argument("--demand-method", default=None, choices=["grid", "points", "centroid"])
    demand.add_argument("--demand-spacing", default="100m", help="grid spacing (default 100m)")
    demand.add_argument(
        "--demand-points",
        help="where demand lies: points (buildings, blocks) or a GeoTIFF population grid",
    )
    demand.add_argument("--demand-points-weight", help="weight column of --demand-points")
    parser.add_argument("--source", help="data source written under the map")
    parser.add_argument("--out", default="dongne-access", help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Measure access and print the summary and the files written."""
    from dongne.access import run_access
    from dongne.errors import SpecificationError

    if (args.demand is None) != (args.supply is None):
        raise SpecificationError(
            "Give both DEMAND and SUPPLY, or neither (the bundled Seoul dongs and heat "
            "shelters). Fix: dongne access DEMAND.gpkg SUPPLY.csv --out DIR."
        )
    demand, supply, opts = _inputs(args)
    bar, step = progress_steps(6, args.quiet)
    with bar, _routing_bar(args.quiet) as routing:
        step("building the network (or loading it from the cache)")
        network = _network(args)
        result = run_access(
            demand, supply, args.out, measure=args.measure, threshold=args.threshold,
            network=network, demand_method=args.demand_method or (
                "points" if args.demand_points else "grid"),
            demand_spacing=args.demand_spacing, demand_points=_demand_points(args),
            demand_points_weight=args.demand_points_weight, outside=args.outside,
            decay=_decay(args, network), decay_name=None if args.decay == "default" else
            args.decay, k=args.k, tau=args.tau, speed_kmh=args.speed, max_snap=args.max_snap,
            source=args.source, progress=step, routing_progress=routing,
            added=_added(args), added_capacity=args.added_capacity,
            argument_names={"supply_filter": "--supply-filter", "outside": "--outside"},
            **opts,
        )  # fmt: skip
        bar.update(bar.total - bar.n)
    if network is not None:
        result.summary = network.summary() + "\n\n" + result.summary
    return print_outputs(result.summary, Path(args.out), result.files)


def _inputs(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """DEMAND, SUPPLY and the column options (the Seoul defaults when no file is given)."""
    from dongne.io import read_points
    from dongne.io.areas import read_geo

    given = {"weight": args.weight, "demand_id": args.id, "equity_by": args.equity_by,
             "capacity": args.capacity, "supply_filter": args.supply_filter,
             "supply_id": args.supply_id, "name_column": args.name}  # fmt: skip
    if args.demand is None:
        from dongne.datasets import seoul_dongs, seoul_heat_shelters

        seoul = {
            "weight": _SEOUL["weight"], "demand_id": _SEOUL["id"],
            "equity_by": _SEOUL["equity_by"], "capacity": _SEOUL["capacity"],
            "supply_filter": _SEOUL["supply_filter"], "name_column": _SEOUL["name"],
        }  # fmt: skip
        opts = {k: given[k] if given[k] is not None else seoul.get(k) for k in given}
        return seoul_dongs(), seoul_heat_shelters(), opts
    demand = read_geo(args.demand, layer=args.layer, crs=args.crs)
    supply = read_points(
        args.supply, x=args.supply_x, y=args.supply_y, crs=args.supply_crs,
        argument_names={"x": "--supply-x", "y": "--supply-y", "crs": "--supply-crs"},
    )  # fmt: skip
    return demand, supply, given


def _added(args: argparse.Namespace) -> Any:
    if not args.added_sites:
        return None
    from dongne.io import read_points

    return read_points(args.added_sites)


def _demand_points(args: argparse.Namespace) -> Any:
    """``--demand-points``: a point file, or a GeoTIFF population grid (cells → points)."""
    if not args.demand_points:
        return None
    from dongne.io import read_points, read_raster_points
    from dongne.io.raster import RASTER_SUFFIXES

    if args.demand_points.lower().endswith(RASTER_SUFFIXES):
        if args.demand_points_weight is None:
            args.demand_points_weight = "population"
        return read_raster_points(args.demand_points, column=args.demand_points_weight)
    return read_points(args.demand_points)


def _network(args: argparse.Namespace) -> Any:
    return network_option(args, _unit(args.threshold))


def _unit(threshold: str) -> str:
    """Minutes for a time threshold (``10min``, ``0.5h``, ``600s``), metres otherwise."""
    text = threshold.strip().lower()
    return "min" if text.endswith(("min", "minute", "minutes", "h", "s", "sec")) else "m"


def _decay(args: argparse.Namespace, network: Any) -> Any:
    """The decay function of ``--decay`` (None: the measure's default)."""
    from dongne.access import decay as d
    from dongne.allocate import parse_radius
    from dongne.errors import SpecificationError

    if args.decay == "default":
        return None
    d0 = parse_radius(args.threshold, unit=_unit(args.threshold), speed_kmh=args.speed)
    if args.decay == "none":
        return d.step_decay({d0: 1.0})
    if args.decay == "step":
        if not args.steps:
            raise SpecificationError(
                "--decay step needs the steps. Fix: --steps '3:1,7:0.68,10:0.22' (cost:weight)."
            )
        try:
            steps = {float(k): float(v) for k, v in
                     (part.split(":") for part in args.steps.split(","))}  # fmt: skip
        except ValueError:
            raise SpecificationError(
                f"--steps {args.steps!r} is not a list of cost:weight pairs. Fix: --steps "
                "'3:1,7:0.68,10:0.22'."
            ) from None
        return d.step_decay(steps)
    if args.decay == "gaussian":
        return d.gaussian_decay(args.sigma or d0 / 2)
    if args.decay == "dai":
        return d.dai_gaussian_decay(d0)
    if args.beta is None:
        raise SpecificationError("--decay exponential needs a rate. Fix: --beta 0.2.")
    return d.exponential_decay(args.beta)


class _routing_bar:
    """A tqdm bar for routing (Dijkstra sources), used as ``progress(done, total)``."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = None

    def __enter__(self):
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, disable=self.quiet, unit="source", file=sys.stderr,
                            desc="routing")  # fmt: skip
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
