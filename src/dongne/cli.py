"""The ``dongne`` command line: ``demo``, ``info`` and ``join``.

Every command prints what it did and where it wrote; errors are printed as one plain message
with the fix (no traceback) and exit with status 2. ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
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

examples:
  dongne demo --out seoul-demo
  dongne info raw/seoul_basic.csv                 # CP949 detected, Korean headers shown
  dongne info boundaries.gpkg --layer dong
  dongne join dong.geojson census.csv --key dong_code --out joined.gpkg
  dongne join dong.geojson census2010.csv --key dong_code \\
      --crosswalk codes_2010_2013.csv --combine sum --strict

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


def _cmd_demo(args: argparse.Namespace) -> int:
    from dongne.demo import run_demo

    bar, step = _progress_steps(6, args.quiet)
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dongne`` command."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="dongne", description=_MAIN_HELP, formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"dongne {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
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
    return parser


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
