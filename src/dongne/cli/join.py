"""``dongne join``: attach a table to areas by code, with a match report."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from dongne.cli._common import title_lines

HELP = "attach a table to areas by a code column and write a GeoPackage + match report"
DESCRIPTION = """\
Attach TABLE to AREAS by code. Codes are compared as text after normalisation (1101053,
'1101053', 1101053.0 and '1101053 all match; zeros lost by spreadsheets are restored). Every
area is kept; table rows that match no area are listed in the match report with their line
number, code, name and likely reason. The report is printed and saved next to the output as
<out>.match.txt and <out>.match.json; a <out>.provenance.json records inputs and options.

exit status: 0 when written (even with unmatched rows, which are reported), 2 on an error or,
with --strict, when anything did not match (nothing is written then).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dongne join``."""
    parser.add_argument(
        "areas", help="area boundaries (GeoJSON, Shapefile, GeoPackage, GeoParquet)"
    )
    parser.add_argument("table", help="table (CSV in UTF-8 or CP949, Excel, Parquet)")
    parser.add_argument("--key", required=True, help="code column of AREAS")
    parser.add_argument("--table-key", help="code column of TABLE (default: same as --key)")
    parser.add_argument("--out", help="output GeoPackage (default: <areas>_joined.gpkg)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail (write nothing) if any area or row does not match",
    )
    parser.add_argument("--crosswalk", help="table translating TABLE codes into AREAS codes")
    parser.add_argument("--crosswalk-from", help="crosswalk column with TABLE's codes")
    parser.add_argument("--crosswalk-to", help="crosswalk column with AREAS' codes")
    parser.add_argument(
        "--combine",
        help="how to combine rows landing on one area: sum, mean, "
        "min, max, first, or per column 'households=sum,rate=mean'",
    )
    parser.add_argument("--layer", help="layer of AREAS (multi-layer files)")
    parser.add_argument("--areas-encoding", help="attribute encoding of AREAS (default: detected)")
    parser.add_argument("--encoding", help="encoding of TABLE (default: detected)")
    parser.add_argument(
        "--title-lines",
        type=title_lines,
        default=None,
        help="lines above TABLE's header to skip: a number or 'auto' (KOSIS)",
    )
    parser.add_argument("--sheet", help="Excel sheet of TABLE")


def run(args: argparse.Namespace) -> int:
    """Join, print the match report and write the GeoPackage with its report files."""
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
