"""``dongne scan``: Kulldorff's spatial scan statistic (as SaTScan)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dongne.cli._common import add_table_inputs, areas_with_table, print_outputs, require_columns

HELP = "Kulldorff spatial scan: where are cases concentrated, and is it more than chance?"
USES_SCHEDULER = True
DESCRIPTION = """\
Kulldorff's circular spatial scan statistic (as SaTScan): circles around every area grow
through the nearest areas up to --max-pop of the population; the window with the largest
log-likelihood ratio is the most likely cluster, tested by Monte Carlo (--replications, default
999, seeded); secondary clusters share no area with a more likely one.

models: poisson (cases vs --population or --expected), bernoulli (cases vs --controls, or
cases among --population individuals).

Writes into --out: scan_map.png, scan_clusters.csv (one row per cluster: members, centre,
radius, cases, expected, O/E, relative risk, LLR, p), scan.gpkg / scan.csv (one row per area),
scan_summary.txt (English and Korean); with TABLE, match_report.txt/.json.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dongne scan``."""
    parser.add_argument(
        "areas",
        help="area boundaries, a point layer, or a table of coordinates (CSV/Excel/Parquet "
        "with --x/--y or recognised lon/lat, x/y, 경도/위도 columns)",
    )
    parser.add_argument("table", nargs="?", help="optional table joined to AREAS by --id")
    parser.add_argument("--id", required=True, help="code column of AREAS (and of TABLE)")
    parser.add_argument("--cases", required=True, help="column of case counts")
    parser.add_argument(
        "--population", help="population at risk (poisson) or individuals (bernoulli)"
    )
    parser.add_argument("--controls", help="column of controls (bernoulli)")
    parser.add_argument("--expected", help="column of expected cases (poisson)")
    parser.add_argument("--model", default="poisson", choices=["poisson", "bernoulli"])
    parser.add_argument(
        "--max-pop",
        type=float,
        default=0.5,
        help="largest window as a share of the population (default 0.5)",
    )
    parser.add_argument("--max-radius", type=float, help="largest window radius in metres")
    parser.add_argument(
        "--scan",
        default="high",
        choices=["high", "low", "both"],
        help="scan for high rates (default), low rates, or both",
    )
    parser.add_argument("--replications", type=int, default=999)
    parser.add_argument("--gumbel", action="store_true", help="also report Gumbel p-values")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--missing",
        default="raise",
        choices=["raise", "drop"],
        help="areas with missing counts: error (default) or leave out (reported)",
    )
    parser.add_argument("--name", help="column of area names for the summary")
    parser.add_argument(
        "--label",
        help="readable name of --cases for the map title, e.g. '반지하 가구' "
        "(default: no subtitle)",
    )
    parser.add_argument("--source", help="data source written under the map")
    sites = parser.add_argument_group("AREAS as a table of coordinates (as SaTScan's input)")
    sites.add_argument("--x", help="x / longitude column (default: recognised by name)")
    sites.add_argument("--y", help="y / latitude column (default: recognised by name)")
    sites.add_argument(
        "--xy-scale",
        type=float,
        help="multiply the coordinates first, e.g. 0.01 for centimetres (checked against the "
        "CRS's area of use)",
    )
    add_table_inputs(parser)
    parser.add_argument("--out", default="dongne-scan", help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the scan with a Monte Carlo progress bar; print the summary and the files."""
    from tqdm import tqdm

    from dongne.detect.workflow import run_scan
    from dongne.errors import SpecificationError

    if args.model == "poisson" and not (args.population or args.expected):
        raise SpecificationError("--model poisson needs --population COL or --expected COL.")
    if args.model == "bernoulli" and not (args.population or args.controls):
        raise SpecificationError("--model bernoulli needs --controls COL or --population COL.")
    out = Path(args.out)
    areas = _sites(args) if _is_table(args.areas) else areas_with_table(args, out)
    require_columns(
        areas,
        " + ".join(filter(None, [args.areas, args.table])),
        {
            "--id": args.id,
            "--cases": args.cases,
            "--population": args.population,
            "--controls": args.controls,
            "--expected": args.expected,
            "--name": args.name,
        },
    )
    with tqdm(
        total=args.replications,
        disable=args.quiet,
        unit="replication",
        file=sys.stderr,
        desc="Monte Carlo",
    ) as bar:
        result = run_scan(
            areas,
            args.id,
            args.cases,
            out,
            population=args.population,
            controls=args.controls,
            expected=args.expected,
            model=args.model,
            max_population_share=args.max_pop,
            max_radius=args.max_radius,
            scan=args.scan,
            replications=args.replications,
            gumbel=args.gumbel,
            rng=args.seed,
            missing=args.missing,
            name_column=args.name,
            progress=lambda done, _total: bar.update(done - bar.n),
            scheduler=args.scheduler,
            label=args.label,
            source=args.source,
        )
    return print_outputs(result.summary, out, result.files)


def _is_table(path: str) -> bool:
    """Whether AREAS is a table (coordinates in columns) rather than a vector file."""
    return Path(path).suffix.lower() in {".csv", ".tsv", ".txt", ".xlsx", ".xlsm"}


def _sites(args: argparse.Namespace):
    """AREAS given as a table of coordinates: one point per row, as SaTScan reads them."""
    from dongne.errors import SpecificationError
    from dongne.io import read_points

    if args.table:
        raise SpecificationError(
            f"{args.areas} is a table of coordinates: put the counts in it. Fix: drop TABLE "
            f"({args.table}), or give the areas as a vector file."
        )
    return read_points(
        args.areas,
        x=args.x,
        y=args.y,
        crs=args.crs,
        xy_scale=args.xy_scale,
        encoding=args.encoding,
        argument_names={"x": "--x", "y": "--y", "crs": "--crs", "xy_scale": "--xy-scale"},
    )
