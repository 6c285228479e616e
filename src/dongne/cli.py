"""The ``dongne`` command line: ``demo``, ``info`` and ``join``.

Every command prints what it did and where it wrote; errors are printed as one plain message
with the fix (no traceback) and exit with status 2. ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from dongne import __version__
from dongne.errors import DongneError

_MAIN_HELP = """\
dongne (동네) turns a city's area boundaries and tables into statistics and maps a public body
can defend. Every input goes in whole, or you are told exactly what did not fit.

commands:
  demo   run the main job on the bundled Seoul data and write map, tables and reports
  info   show what is in a data file: layers, CRS, columns, rows, detected encoding
  join   attach a table to areas by a code column and write a GeoPackage + match report
  detect find clusters, hot spots and the most vulnerable areas (Moran, LISA, Gi*, index)
  scan   Kulldorff spatial scan: where are cases concentrated, and is it more than chance?
  allocate  where should p new facilities go (MCLP, LSCP, p-median, p-center, equity)?
  evaluate  did the policy work? DiD (staggered), synthetic control, interrupted time series
  learn  will a need model work in a new place? spatial CV, shift, fairness audit, regret
  share  share models, not data: registry, model cards, predict, federated training
  report HTML or PDF report of a saved run for a council (offline, reproducible)
  serve  run the multi-institution web service (datasets, jobs, roles, audit log)

Add --scheduler processes (all cores) or --scheduler tcp://host:8786 (a Dask cluster) before
the command to spread the Monte Carlo work; the numbers are identical.

examples:
  dongne demo --out seoul-demo
  dongne info raw/seoul_basic.csv                 # CP949 detected, Korean headers shown
  dongne info boundaries.gpkg --layer dong
  dongne join dong.geojson census.csv --key dong_code --out joined.gpkg
  dongne join dong.geojson census2010.csv --key dong_code \\
      --crosswalk codes_2010_2013.csv --combine sum --strict
  dongne detect dong.geojson census.csv --id dong_code --var basement_pct --out detect
  dongne detect dong.gpkg --id code --var share --method index \
      --indicator share:+ --indicator shelters_per_1000:- --out index

Run 'dongne COMMAND --help' for the options of each command.
"""

_JOIN_HELP = """\
Attach TABLE to AREAS by code. Codes are compared as text after normalisation (1101053,
'1101053', 1101053.0 and '1101053 all match; zeros lost by spreadsheets are restored). Every
area is kept; table rows that match no area are listed in the match report with their line
number, code, name and likely reason. The report is printed and saved next to the output as
<out>.match.txt and <out>.match.json; a <out>.provenance.json records inputs and options.

exit status: 0 when written (even with unmatched rows, which are reported), 2 on an error or,
with --strict, when anything did not match (nothing is written then).
"""


def _progress_steps(total: int, quiet: bool):
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        disable=quiet,
        unit="step",
        file=sys.stderr,
        leave=True,
        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}]",
    )

    started = []

    def step(message: str) -> None:
        if started:
            bar.update(1)
        started.append(message)
        bar.set_description_str(message)

    return bar, step


def _print_outputs(summary: str, out: Path, files: dict) -> int:
    print(summary)
    print(f"\nOutputs in {out.resolve()}:")
    for label, path in files.items():
        print(f"  {label:<15} {path}")
    return 0


def _areas_with_table(args: argparse.Namespace, out: Path):
    """Read AREAS and, when TABLE is given, join it by --id with a printed, saved report."""
    from dongne.errors import UnmatchedWarning
    from dongne.io import join_by_code, read_areas, read_table

    areas = read_areas(args.areas, layer=args.layer)
    if not args.table:
        return areas
    table = read_table(args.table, encoding=args.encoding, title_lines=args.title_lines)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)
        areas, report = join_by_code(areas, table, key=args.id, table_key=args.table_key)
    print(report.summary())
    out.mkdir(parents=True, exist_ok=True)
    report.save(out / "match_report.txt")
    report.save(out / "match_report.json")
    return areas


def _cmd_demo(args: argparse.Namespace) -> int:
    from dongne.demo import run_demo

    bar, step = _progress_steps(19, args.quiet)
    with bar:
        result = run_demo(args.out, progress=step)
        bar.update(bar.total - bar.n)
    print(result.summary)
    print()
    print(f"Outputs in {result.out_dir.resolve()}:")
    for label, path in result.files.items():
        print(f"  {label:<15} {path}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from dongne.io import describe_file

    print(describe_file(args.file, layer=args.layer).summary())
    return 0


def _cmd_join(args: argparse.Namespace) -> int:
    from dongne.errors import UnmatchedWarning
    from dongne.io import join_by_code, read_areas, read_table, write_layer

    areas = read_areas(args.areas, layer=args.layer, encoding=args.areas_encoding)
    table = read_table(
        args.table, encoding=args.encoding, title_lines=args.title_lines, sheet=args.sheet
    )
    combine = None
    if args.combine:
        combine = (
            dict(part.split("=", 1) for part in args.combine.split(","))
            if "=" in args.combine
            else args.combine
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)  # the report below says it all
        result = join_by_code(
            areas,
            table,
            key=args.key,
            table_key=args.table_key,
            crosswalk=args.crosswalk,
            crosswalk_from=args.crosswalk_from,
            crosswalk_to=args.crosswalk_to,
            combine=combine,
            strict=args.strict,
        )
    out = (
        Path(args.out)
        if args.out
        else Path(args.areas).with_suffix("").with_name(f"{Path(args.areas).stem}_joined.gpkg")
    )
    print(result.report.summary())
    write_layer(
        result.frame,
        out,
        command="dongne join",
        key=args.key,
        table_key=args.table_key or args.key,
        crosswalk=args.crosswalk,
        combine=args.combine,
        strict=args.strict,
    )
    txt = result.report.save(out.with_name(out.name + ".match.txt"))
    js = result.report.save(out.with_name(out.name + ".match.json"))
    print(f"\nwrote {out}\n      {txt}\n      {js}")
    return 0


_DETECT_HELP = """\
Find spatial clusters and hot spots of VAR, and rank the most vulnerable areas.

methods (--method, comma-separated; default moran,lisa,gistar):
  moran   global Moran's I: is VAR clustered at all? (analytical and permutation p)
  lisa    Local Moran's I: High-High / Low-Low clusters and High-Low / Low-High outliers
  gi      Getis-Ord Gi (without the area itself)
  gistar  Getis-Ord Gi*: hot and cold spots at 90/95/99% confidence
  index   vulnerability index from several --indicator COL:+ or COL:- (+ = higher is more
          vulnerable) with rank stability (probability of being in the top --top-k)

Inference: conditional permutations (default 999) with the alternative printed next to every
p-value, multiple-testing correction (default FDR, Benjamini-Hochberg), and a plain warning when
the number of permutations cannot reach significance after correction. The same --seed gives
the same numbers on any machine and any number of threads.

Writes into --out: detect.gpkg, detect.csv, one PNG map per method, summary.txt (English and
Korean), global_moran.csv, provenance files; with TABLE, also match_report.txt/.json.
"""


def _cmd_detect(args: argparse.Namespace) -> int:
    from dongne.detect.workflow import run_detect
    from dongne.weights import from_spec

    out = Path(args.out)
    areas = _areas_with_table(args, out)
    w = from_spec(areas, args.id, args.weights)
    indicators = dict(i.rsplit(":", 1) for i in args.indicator) if args.indicator else None
    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    bar, step = _progress_steps(len(methods) + 1, args.quiet)
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
        )
        bar.update(bar.total - bar.n)
    return _print_outputs(result.summary, out, result.files)


_SCAN_HELP = """\
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


def _cmd_scan(args: argparse.Namespace) -> int:
    from dongne.detect.workflow import run_scan
    from dongne.errors import SpecificationError

    if args.model == "poisson" and not (args.population or args.expected):
        raise SpecificationError("--model poisson needs --population COL or --expected COL.")
    if args.model == "bernoulli" and not (args.population or args.controls):
        raise SpecificationError("--model bernoulli needs --controls COL or --population COL.")
    out = Path(args.out)
    areas = _areas_with_table(args, out)
    from tqdm import tqdm

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
        )
    return _print_outputs(result.summary, out, result.files)


_ALLOCATE_HELP = """\
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


def _cmd_allocate(args: argparse.Namespace) -> int:
    from dongne.allocate import run_allocate
    from dongne.io import read_areas, read_points

    demand = read_areas(args.demand, layer=args.layer)
    candidates: object = args.candidates
    if args.candidates not in ("centroids", "grid"):
        candidates = read_points(args.candidates)
    existing = read_points(args.existing) if args.existing else None
    bar, step = _progress_steps(6, args.quiet)
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
    return _print_outputs(result.summary, Path(args.out), result.files)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dongne`` command."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="dongne", description=_MAIN_HELP, formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"dongne {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--scheduler",
        help="where permutations, scan replications and sweeps run: threads (default), "
        "processes, or a Dask scheduler address tcp://host:port (identical results)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        formatter_class=fmt,
        help="run the main job on the bundled Seoul data",
        description="Run the Seoul demo: basement-household share per dong (2010 census on 2013 "
        "boundaries, joined through the code crosswalk), heat shelters per dong (2023), a "
        "choropleth map, GeoPackage, CSV, match report and a plain-language summary in Korean "
        "and English. Works offline: all data are bundled.",
    )
    demo.add_argument("--out", default="dongne-demo", help="output folder (default: %(default)s)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=_cmd_demo)

    info = sub.add_parser(
        "info",
        formatter_class=fmt,
        help="describe a data file",
        description="Describe a CSV/Excel/Parquet table or a GeoJSON/Shapefile/GeoPackage/"
        "GeoParquet file: encoding (detected: UTF-8, UTF-8 with BOM, CP949/EUC-KR), title lines "
        "above the header, layers with CRS and feature counts, columns with types, missing "
        "counts and examples.",
    )
    info.add_argument("file", help="the file to describe")
    info.add_argument("--layer", help="layer whose columns to list (multi-layer files)")
    info.set_defaults(func=_cmd_info)

    join = sub.add_parser(
        "join", formatter_class=fmt, help="join a table to areas by code", description=_JOIN_HELP
    )
    join.add_argument("areas", help="area boundaries (GeoJSON, Shapefile, GeoPackage, GeoParquet)")
    join.add_argument("table", help="table (CSV in UTF-8 or CP949, Excel, Parquet)")
    join.add_argument("--key", required=True, help="code column of AREAS")
    join.add_argument("--table-key", help="code column of TABLE (default: same as --key)")
    join.add_argument("--out", help="output GeoPackage (default: <areas>_joined.gpkg)")
    join.add_argument(
        "--strict",
        action="store_true",
        help="fail (write nothing) if any area or row does not match",
    )
    join.add_argument("--crosswalk", help="table translating TABLE codes into AREAS codes")
    join.add_argument("--crosswalk-from", help="crosswalk column with TABLE's codes")
    join.add_argument("--crosswalk-to", help="crosswalk column with AREAS' codes")
    join.add_argument(
        "--combine",
        help="how to combine rows landing on one area: sum, mean, "
        "min, max, first, or per column 'households=sum,rate=mean'",
    )
    join.add_argument("--layer", help="layer of AREAS (multi-layer files)")
    join.add_argument("--areas-encoding", help="attribute encoding of AREAS (default: detected)")
    join.add_argument("--encoding", help="encoding of TABLE (default: detected)")
    join.add_argument(
        "--title-lines",
        type=_title_lines,
        default=None,
        help="lines above TABLE's header to skip: a number or 'auto' (KOSIS)",
    )
    join.add_argument("--sheet", help="Excel sheet of TABLE")
    join.set_defaults(func=_cmd_join)

    det = sub.add_parser(
        "detect",
        formatter_class=fmt,
        description=_DETECT_HELP,
        help="clusters, hot spots and vulnerability index",
    )
    det.add_argument("areas", help="area boundaries")
    det.add_argument("table", nargs="?", help="optional table joined to AREAS by --id")
    det.add_argument("--id", required=True, help="code column of AREAS (and of TABLE)")
    det.add_argument("--table-key", help="code column of TABLE (default: --id)")
    det.add_argument("--var", required=True, help="the variable to analyse")
    det.add_argument(
        "--method",
        default="moran,lisa,gistar",
        help="moran, lisa, gi, gistar, index (comma-separated)",
    )
    det.add_argument(
        "--indicator",
        action="append",
        default=[],
        metavar="COL:+|-",
        help="index indicator and its direction; repeat for each",
    )
    det.add_argument(
        "--weights",
        default="queen",
        help="queen (default), rook, queen:SNAP_M, knn:K or band:METRES",
    )
    det.add_argument("--permutations", type=int, default=999)
    det.add_argument(
        "--alternative", default="two-sided", choices=["two-sided", "greater", "less", "directed"]
    )
    det.add_argument(
        "--correction",
        default="fdr_bh",
        choices=["fdr_bh", "fdr_by", "bonferroni", "geoda_fdr", "none"],
    )
    det.add_argument("--alpha", type=float, default=0.05)
    det.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    det.add_argument(
        "--missing",
        default="raise",
        choices=["raise", "drop", "label"],
        help="areas without a value: error (default), leave out, or label",
    )
    det.add_argument("--group", help="column of larger units (e.g. gu) for the summary")
    det.add_argument("--name", help="column of area names for the summary")
    det.add_argument("--top-k", type=int, default=20, help="top-k for rank stability")
    det.add_argument("--layer", help="layer of AREAS")
    det.add_argument("--encoding", help="encoding of TABLE (default: detected)")
    det.add_argument("--title-lines", type=_title_lines, default=None)
    det.add_argument("--out", default="dongne-detect", help="output folder")
    det.add_argument("--quiet", action="store_true", help="no progress bar")
    det.set_defaults(func=_cmd_detect)

    sc = sub.add_parser(
        "scan",
        formatter_class=fmt,
        description=_SCAN_HELP,
        help="Kulldorff spatial scan for clusters of cases",
    )
    sc.add_argument("areas", help="area boundaries")
    sc.add_argument("table", nargs="?", help="optional table joined to AREAS by --id")
    sc.add_argument("--id", required=True, help="code column of AREAS (and of TABLE)")
    sc.add_argument("--table-key", help="code column of TABLE (default: --id)")
    sc.add_argument("--cases", required=True, help="column of case counts")
    sc.add_argument("--population", help="population at risk (poisson) or individuals (bernoulli)")
    sc.add_argument("--controls", help="column of controls (bernoulli)")
    sc.add_argument("--expected", help="column of expected cases (poisson)")
    sc.add_argument("--model", default="poisson", choices=["poisson", "bernoulli"])
    sc.add_argument(
        "--max-pop",
        type=float,
        default=0.5,
        help="largest window as a share of the population (default 0.5)",
    )
    sc.add_argument("--max-radius", type=float, help="largest window radius in metres")
    sc.add_argument(
        "--scan",
        default="high",
        choices=["high", "low", "both"],
        help="scan for high rates (default), low rates, or both",
    )
    sc.add_argument("--replications", type=int, default=999)
    sc.add_argument("--gumbel", action="store_true", help="also report Gumbel p-values")
    sc.add_argument("--seed", type=int, default=0)
    sc.add_argument(
        "--missing",
        default="raise",
        choices=["raise", "drop"],
        help="areas with missing counts: error (default) or leave out (reported)",
    )
    sc.add_argument("--name", help="column of area names for the summary")
    sc.add_argument("--layer", help="layer of AREAS")
    sc.add_argument("--encoding", help="encoding of TABLE (default: detected)")
    sc.add_argument("--title-lines", type=_title_lines, default=None)
    sc.add_argument("--out", default="dongne-scan", help="output folder")
    sc.add_argument("--quiet", action="store_true", help="no progress bar")
    sc.set_defaults(func=_cmd_scan)

    al = sub.add_parser(
        "allocate",
        formatter_class=fmt,
        description=_ALLOCATE_HELP,
        help="place new facilities (coverage, median, center, equity)",
    )
    al.add_argument("--demand", required=True, help="demand areas or points (a geo file)")
    al.add_argument(
        "--candidates",
        default="grid",
        help="candidate sites: a point file, 'centroids' or 'grid' (default)",
    )
    al.add_argument("--existing", help="existing facilities (points), kept open")
    al.add_argument("--model", default="mclp", choices=["mclp", "lscp", "pmedian", "pcenter"])
    al.add_argument("--p", type=int, help="number of new sites")
    al.add_argument("--radius", help="service distance, e.g. 500m, 1.2km, 10min")
    al.add_argument("--weight", help="demand weight column (e.g. households)")
    al.add_argument("--id", help="id column of the demand")
    al.add_argument("--candidate-id", help="id column of the candidates")
    al.add_argument("--existing-id", help="id column of the existing facilities")
    al.add_argument("--equity-by", help="group column for equity (e.g. gu)")
    al.add_argument("--min-share", type=float, help="minimum covered share in every group")
    al.add_argument("--objective", default="coverage", choices=["coverage", "maxmin"])
    al.add_argument("--method", default="auto", choices=["auto", "exact", "heuristic"])
    al.add_argument("--time-limit", type=float, help="solver time limit in seconds")
    al.add_argument("--grid-spacing", default="500m", help="spacing of generated candidates")
    al.add_argument("--pareto", type=int, default=0, help="points of an efficiency-equity sweep")
    al.add_argument("--speed", type=float, default=4.0, help="walking speed in km/h for minutes")
    al.add_argument("--layer", help="layer of --demand")
    al.add_argument("--out", default="dongne-allocate", help="output folder")
    al.add_argument("--quiet", action="store_true", help="no progress bar")
    al.set_defaults(func=_cmd_allocate)

    rep = sub.add_parser(
        "report",
        formatter_class=fmt,
        description=_REPORT_HELP,
        help="HTML or PDF report of a saved run, for a council (offline, reproducible)",
    )
    rep.add_argument("run", help="output folder of demo, detect, scan, allocate, learn or evaluate")
    rep.add_argument("--format", default="html", choices=["html", "pdf"])
    rep.add_argument("--lang", default="both", choices=["en", "ko", "both"])
    rep.add_argument("--out", help="output file (default: RUN/report.FORMAT)")
    rep.set_defaults(func=_cmd_report)

    # Commands whose options live in their own package: module.add_arguments / module.run.
    for name, module_name, summary in _PACKAGE_COMMANDS:
        module = importlib.import_module(module_name)
        cmd = sub.add_parser(
            name,
            formatter_class=fmt,
            description=getattr(module, "DESCRIPTION", module.run.__doc__),
            help=summary,
        )
        module.add_arguments(cmd)
        cmd.set_defaults(func=module.run)
    return parser


_PACKAGE_COMMANDS = (
    (
        "evaluate",
        "dongne.evaluate.command",
        "did the policy work? DiD, synthetic control, interrupted time series",
    ),
    (
        "learn",
        "dongne.learn.command",
        "spatial CV, shift diagnostics, fairness audit, allocation regret",
    ),
    (
        "share",
        "dongne.share.command",
        "share models, not data: registry, model cards, predict, federated training",
    ),
    ("serve", "dongne.service.command", "run the web service and dashboard (API docs at /docs)"),
)

_REPORT_HELP = """\
Render a saved run folder (the --out of demo, detect, scan, allocate, learn, evaluate) as one
self-contained HTML file or a PDF: findings in plain Korean and English, maps, key tables,
methods with their parameters and references, data sources and match reports, and a
reproducibility block. Nothing is fetched from the network; the same folder always gives the
same bytes.
"""


def _cmd_report(args: argparse.Namespace) -> int:
    from dongne.report.document import build_report

    path = build_report(args.run, format=args.format, lang=args.lang, out=args.out)
    print(f"wrote {path}")
    return 0


def _title_lines(value: str) -> int | str:
    return value if value == "auto" else int(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dongne`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except DongneError as exc:
        if args.debug:
            raise
        print(f"dongne {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
