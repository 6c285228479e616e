"""``dongne join``: attach a table to areas by code, with a match report."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from dongne.cli._common import add_join_options, add_table_format_options, join_options

OUT_IS_FOLDER = False  # --out is one file
HELP = "attach a table to areas by a code column and write a GeoPackage + match report"
DESCRIPTION = """\
Attach TABLE to AREAS by code. Codes are compared as text after normalisation (1101053,
'1101053', 1101053.0 and '1101053 all match; zeros lost by spreadsheets are restored). Every
area is kept; table rows that match no area are listed in the match report with their line in
the file (1-based), code, name and likely reason. The report is printed and saved next to the
output as <out>.match.txt and <out>.match.json; a <out>.provenance.json records inputs and
options.

Rows that land on one area (a crosswalk merge, or a repeated code) are combined column by
column with --combine: counts by the rule; rates, shares and means are recomputed from summed
counts with --rate (never summed; without --rate the join is refused and lists them); text is
kept when the rows agree, otherwise left missing, never glued together. --column-kind
overrides what dongne infers from a column's name and values.

When TABLE is keyed by the codes of another boundary vintage that dongne ships (Seoul's dongs
of 2013, 2021-04 or 2022-12), the report says so; --from-vintage YEAR then joins TABLE to
those boundaries, translates codes renamed or recoded between vintages (change table read
from the boundaries) and moves the table onto AREAS by areal interpolation: counts shared
out by area, rates averaged or recomputed with --rate (kinds from --column-kind or names).

exit status: 0 when written (even with unmatched rows, which are reported; below --min-match
the report starts with a WARNING line), 2 on an error, when no row at all was placed, or, with
--strict, when anything did not match (nothing is written then).

example (2010 census on 2013 boundaries; 혜화동 = 656 / 7,927 = 8.28 %):
  dongne join seoul_dong_2013.geojson seoul_dong_indicators_census2010.csv --key dong_code \\
      --crosswalk seoul_dong_code_crosswalk_2010_2013.csv --combine sum \\
      --rate basement_household_pct=basement_households/households*100

example (2022 election, 2022 codes, onto the 2013 dongs by area):
  dongne join seoul_dong_2013.geojson seoul_vote_2022_president_dong.csv --key dong_code \\
      --from-vintage 2022 --columns valid_votes,votes_yoon_sukyeol \\
      --column-kind valid_votes=count --column-kind votes_yoon_sukyeol=count
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
    add_join_options(parser)
    parser.add_argument("--layer", help="layer of AREAS (multi-layer files)")
    parser.add_argument(
        "--crs", help="CRS of AREAS when the file declares none, e.g. EPSG:5179 (never guessed)"
    )
    parser.add_argument("--areas-encoding", help="attribute encoding of AREAS (default: detected)")
    add_table_format_options(parser)
    parser.add_argument("--sheet", help="Excel sheet of TABLE")
    parser.add_argument(
        "--from-vintage",
        choices=("2013", "2021", "2022"),
        help="TABLE is keyed by the codes of these bundled Seoul dongs: join it to them and "
        "interpolate it onto AREAS by area (the match report names the vintage)",
    )
    parser.add_argument(
        "--columns",
        help="with --from-vintage: TABLE's columns to move, comma-separated (default: every "
        "count, rate and mean column)",
    )


def run(args: argparse.Namespace) -> int:
    """Join, print the match report and write the GeoPackage with its report files."""
    from dongne.errors import UnmatchedWarning
    from dongne.io import join_by_code, read_areas, read_table, write_layer

    areas = read_areas(args.areas, layer=args.layer, encoding=args.areas_encoding, crs=args.crs)
    table = read_table(
        args.table, encoding=args.encoding, title_lines=args.title_lines, sheet=args.sheet
    )
    options = join_options(args)
    if args.columns and not args.from_vintage:
        from dongne.errors import SpecificationError

        raise SpecificationError(
            "--columns chooses the columns moved by --from-vintage; a join by code keeps every "
            "column. Fix: add --from-vintage YEAR, or leave out --columns."
        )
    if args.from_vintage:
        return _from_vintage(args, areas, table, options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)  # the report below says it all
        result = join_by_code(
            areas,
            table,
            key=args.key,
            table_key=args.table_key,
            strict=args.strict,
            **options,
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
        rates=args.rate,
        column_kinds=options["kinds"],
        min_match=args.min_match,
        name_column=args.name_column,
        strict=args.strict,
    )
    txt = result.report.save(out.with_name(out.name + ".match.txt"))
    js = result.report.save(out.with_name(out.name + ".match.json"))
    print(f"\nwrote {out}\n      {txt}\n      {js}")
    return 0


def _from_vintage(args: argparse.Namespace, areas, table, options: dict) -> int:
    """``--from-vintage``: the table on its own vintage's boundaries, moved onto AREAS."""
    from dongne.errors import SpecificationError, UnmatchedWarning
    from dongne.io import write_layer
    from dongne.regions import join_from_vintage

    unused = [f for f, v in (("--crosswalk", args.crosswalk), ("--strict", args.strict),
                             ("--name-column", args.name_column)) if v]  # fmt: skip
    if unused:
        raise SpecificationError(
            f"{', '.join(unused)} cannot be used with --from-vintage (the codes are translated "
            "by the change table of the vintages). Fix: leave out --from-vintage to join by "
            "code only."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)  # the report below says it all
        result = join_from_vintage(
            areas, table, args.key, args.from_vintage, table_key=args.table_key,
            columns=[c.strip() for c in args.columns.split(",") if c.strip()] or None
            if args.columns else None,
            kinds=options["kinds"], rates=options["rates"], combine=options["combine"],
            min_match=options["min_match"],
        )  # fmt: skip
    out = (
        Path(args.out)
        if args.out
        else Path(args.areas).with_suffix("").with_name(f"{Path(args.areas).stem}_joined.gpkg")
    )
    print(result.report.summary())
    print("\n" + result.interpolation.summary())
    write_layer(
        result.frame, out, command="dongne join", key=args.key,
        table_key=args.table_key or args.key, from_vintage=args.from_vintage,
        rates=args.rate, column_kinds=options["kinds"], min_match=args.min_match,
    )  # fmt: skip
    txt = result.report.save(out.with_name(out.name + ".match.txt"))
    js = result.report.save(out.with_name(out.name + ".match.json"))
    print(f"\nwrote {out}\n      {txt}\n      {js}")
    return 0
