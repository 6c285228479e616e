"""``dongne allocate``: where should p new facilities go?"""

from __future__ import annotations

import argparse
from pathlib import Path

from dongne.cli._common import print_outputs, progress_steps

HELP = "where should p new facilities go (MCLP, LSCP, p-median, p-center, equity)?"
USES_SCHEDULER = True
DESCRIPTION = """\
Choose sites for new facilities, keeping existing ones open, solved exactly with HiGHS (or a
fast heuristic that reports its gap to a lower bound).

models: mclp (cover the most demand within --radius with --p new sites), lscp (fewest sites
covering all demand), pmedian (least total weighted distance), pcenter (least worst distance).
--radius accepts metres or minutes of walking: 500m, 1.2km, 10min.
Equity: --equity-by COL (e.g. gu) with --min-share 0.6 (each group at least 60% covered) or
--objective maxmin (raise the worst group's coverage); --pareto N sweeps efficiency vs equity.

Writes into --out: new_sites.gpkg/.csv, demand.gpkg, assignment.csv, groups.csv, map_before.png,
map_after.png, pareto.csv/.png (with --pareto), summary.txt (English and Korean).
"""


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
    parser.add_argument("--method", default="auto", choices=["auto", "exact", "heuristic"])
    parser.add_argument("--time-limit", type=float, help="solver time limit in seconds")
    parser.add_argument("--grid-spacing", default="500m", help="spacing of generated candidates")
    parser.add_argument(
        "--pareto", type=int, default=0, help="points of an efficiency-equity sweep"
    )
    parser.add_argument(
        "--speed", type=float, default=4.0, help="walking speed in km/h for minutes"
    )
    parser.add_argument("--layer", help="layer of --demand")
    parser.add_argument("--out", default="dongne-allocate", help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Solve the siting problem and print the summary and the files written."""
    from dongne.allocate import run_allocate
    from dongne.io import read_areas, read_points

    demand = read_areas(args.demand, layer=args.layer)
    candidates: object = args.candidates
    if args.candidates not in ("centroids", "grid"):
        candidates = read_points(args.candidates)
    existing = read_points(args.existing) if args.existing else None
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
            method=args.method,
            time_limit=args.time_limit,
            grid_spacing=args.grid_spacing,
            pareto=args.pareto,
            speed_kmh=args.speed,
            progress=step,
            scheduler=args.scheduler,
        )
        bar.update(bar.total - bar.n)
    return print_outputs(result.summary, Path(args.out), result.files)
