"""``dongne detect``: global Moran, LISA, Getis-Ord and a vulnerability index."""

from __future__ import annotations

import argparse
from pathlib import Path

from dongne.cli._common import (
    add_table_inputs,
    areas_with_table,
    print_outputs,
    progress_steps,
    require_columns,
)

HELP = "find clusters, hot spots and the most vulnerable areas (Moran, LISA, Gi*, index)"
USES_SCHEDULER = True
DESCRIPTION = """\
Find spatial clusters and hot spots of VAR, and rank the most vulnerable areas.

methods (--method, comma-separated; default moran,lisa,gistar):
  moran   global Moran's I: is VAR clustered at all? (analytical and permutation p)
  lisa    Local Moran's I: High-High / Low-Low clusters and High-Low / Low-High outliers
  gi      Getis-Ord Gi (without the area itself)
  gistar  Getis-Ord Gi*: hot and cold spots at 90/95/99% confidence
  index   vulnerability index from several --indicator COL:+ or COL:- (+ = higher is more
          vulnerable) with rank stability (probability of being in the top --top-k)

Inference: conditional permutations with the alternative printed next to every p-value and
multiple-testing correction (default FDR, Benjamini-Hochberg). --permutations auto (default)
takes the smallest of 999, 9999, 19999, 49999, 99999 whose smallest attainable p-value can
survive the correction over the areas at --alpha (19999 for Seoul's 423 dongs, two-sided FDR at
0.05), and the summary says so; --permutations R fixes R, with a plain warning when R cannot
reach significance after correction. The same --seed gives the same numbers on any machine and
any number of threads.

Writes into --out: detect.gpkg, detect.csv, one PNG map per method, summary.txt (English and
Korean), global_moran.csv, provenance files; with TABLE, also match_report.txt/.json.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dongne detect``."""
    parser.add_argument("areas", help="area boundaries")
    parser.add_argument("table", nargs="?", help="optional table joined to AREAS by --id")
    parser.add_argument("--id", required=True, help="code column of AREAS (and of TABLE)")
    parser.add_argument("--var", required=True, help="the variable to analyse")
    parser.add_argument(
        "--method",
        default="moran,lisa,gistar",
        help="moran, lisa, gi, gistar, index (comma-separated)",
    )
    parser.add_argument(
        "--indicator",
        action="append",
        default=[],
        metavar="COL:+|-",
        help="index indicator and its direction; repeat for each",
    )
    parser.add_argument(
        "--weights",
        default="queen",
        help="queen (default), rook, queen:SNAP_M, knn:K or band:METRES",
    )
    parser.add_argument(
        "--permutations",
        type=permutation_count,
        default="auto",
        metavar="auto|R",
        help="conditional permutations: auto (default; enough to survive the correction) or R",
    )
    parser.add_argument(
        "--alternative", default="two-sided", choices=["two-sided", "greater", "less", "directed"]
    )
    parser.add_argument(
        "--correction",
        default="fdr_bh",
        choices=["fdr_bh", "fdr_by", "bonferroni", "geoda_fdr", "none"],
    )
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--missing",
        default="raise",
        choices=["raise", "drop", "label"],
        help="areas without a value: error (default), leave out, or label",
    )
    parser.add_argument("--group", help="column of larger units (e.g. gu) for the summary")
    parser.add_argument("--name", help="column of area names for the summary")
    parser.add_argument("--top-k", type=int, default=20, help="top-k for rank stability")
    parser.add_argument(
        "--label",
        help="readable name of --var for the map titles, e.g. '반지하 가구 비율 (%%)' "
        "(default: the column name)",
    )
    parser.add_argument("--source", help="data source written under every map")
    add_table_inputs(parser)
    parser.add_argument("--out", default="dongne-detect", help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def permutation_count(text: str) -> int | str:
    """``--permutations``: ``auto`` or a whole number >= 0."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected 'auto' or a whole number >= 0, got {text!r} (e.g. --permutations 9999)"
        )
    return value


def run(args: argparse.Namespace) -> int:
    """Run the chosen methods and print the summary and the files written."""
    from dongne.detect.workflow import run_detect
    from dongne.weights import from_spec

    out = Path(args.out)
    areas = areas_with_table(args, out)
    indicators = dict(i.rsplit(":", 1) for i in args.indicator) if args.indicator else None
    require_columns(
        areas,
        " + ".join(filter(None, [args.areas, args.table])),
        {
            "--id": args.id,
            "--var": args.var,
            "--indicator": list(indicators or ()),
            "--group": args.group,
            "--name": args.name,
        },
    )
    w = from_spec(areas, args.id, args.weights)
    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    bar, step = progress_steps(len(methods) + 1, args.quiet)
    with bar:
        result = run_detect(
            areas,
            args.id,
            w,
            args.var,
            out,
            methods=methods,
            indicators=indicators,
            permutations=args.permutations,
            alternative=args.alternative,
            correction=args.correction,
            alpha=args.alpha,
            rng=args.seed,
            missing=args.missing,
            group_column=args.group,
            name_column=args.name,
            top_k=args.top_k,
            progress=step,
            scheduler=args.scheduler,
            label=args.label,
            source=args.source,
        )
        bar.update(bar.total - bar.n)
    return print_outputs(result.summary, out, result.files)
