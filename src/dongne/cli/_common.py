"""What the ``dongne`` commands share: progress bars, the outputs list, areas joined to a table.

Nothing here imports the statistics at module level, so that ``dongne --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

__all__ = [
    "add_join_options",
    "add_table_format_options",
    "add_table_inputs",
    "areas_with_table",
    "join_options",
    "print_outputs",
    "progress_steps",
    "require_columns",
    "title_lines",
]


def title_lines(value: str) -> int | str:
    """``--title-lines``: a number of lines above the header, or ``auto`` (KOSIS files)."""
    return value if value == "auto" else int(value)


def progress_steps(total: int, quiet: bool):
    """A step progress bar on standard error and the function that advances it by one step."""
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


def print_outputs(summary: str, out: Path, files: dict) -> int:
    """Print a run's plain-language summary and the files it wrote; the exit status 0."""
    print(summary)
    print(f"\nOutputs in {Path(out).resolve()}:")
    for label, path in files.items():
        print(f"  {label:<15} {path}")
    return 0


def add_join_options(parser: argparse.ArgumentParser) -> None:
    """How TABLE is joined to AREAS: crosswalk, combining rows, rates, name column."""
    parser.add_argument("--crosswalk", help="table translating TABLE codes into AREAS codes")
    parser.add_argument("--crosswalk-from", help="crosswalk column with TABLE's codes")
    parser.add_argument("--crosswalk-to", help="crosswalk column with AREAS' codes")
    parser.add_argument(
        "--combine",
        help="how to combine rows landing on one area: sum, mean, min, max or first for the "
        "count columns, per column 'households=sum,basement_households=sum' (columns not "
        "named are left missing), or both: 'sum,dong_name=first'",
    )
    parser.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="COL=NUM/DEN[*SCALE]",
        help="recompute rate column COL on combined areas as sum(NUM) / sum(DEN) * SCALE, e.g. "
        "basement_household_pct=basement_households/households*100 (repeatable)",
    )
    parser.add_argument(
        "--column-kind",
        action="append",
        default=[],
        metavar="COL=KIND",
        help="declare how column COL combines: count, rate, mean, id or text (repeatable); "
        "overrides the kind inferred from its name and values",
    )
    parser.add_argument(
        "--min-match",
        type=float,
        default=0.9,
        metavar="SHARE",
        help="warn when fewer than this share of TABLE's rows are placed (default 0.9)",
    )
    parser.add_argument(
        "--name-column",
        help="TABLE's name column shown and compared in the report (default: the column whose "
        "names agree with AREAS' names on matched codes)",
    )


def join_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of :func:`dongne.io.join_by_code` from :func:`add_join_options`."""
    from dongne.errors import SpecificationError

    kinds = {}
    for item in args.column_kind:
        column, sep, kind = item.partition("=")
        if not sep:
            raise SpecificationError(
                f"--column-kind {item!r}: expected COL=KIND. Fix: e.g. --column-kind "
                "area_km2=count (kinds: count, rate, mean, id, text)."
            )
        kinds[column.strip()] = kind.strip()
    combine = None
    if args.combine:
        # "sum,dong_name=first": a bare rule applies to every column not named ("*").
        parts = [p.strip() for p in args.combine.split(",") if p.strip()]
        combine = (
            {c.strip() or "*": r.strip() for c, _, r in (p.rpartition("=") for p in parts)}
            if any("=" in p for p in parts)
            else args.combine.strip()
        )
    return {
        "crosswalk": args.crosswalk,
        "crosswalk_from": args.crosswalk_from,
        "crosswalk_to": args.crosswalk_to,
        "combine": combine,
        "rates": args.rate,
        "kinds": kinds,
        "min_match": args.min_match,
        "name_column": args.name_column,
    }


def add_table_inputs(parser: argparse.ArgumentParser) -> None:
    """The options that read an optional TABLE joined to AREAS by ``--id``."""
    parser.add_argument("--table-key", help="code column of TABLE (default: --id)")
    parser.add_argument("--layer", help="layer of AREAS")
    parser.add_argument(
        "--crs", help="CRS of AREAS when the file declares none, e.g. EPSG:5179 (never guessed)"
    )
    add_table_format_options(parser)
    add_join_options(parser)


def add_table_format_options(parser: argparse.ArgumentParser) -> None:
    """How TABLE is read: its encoding and the title lines above its header."""
    parser.add_argument("--encoding", help="encoding of TABLE (default: detected)")
    parser.add_argument(
        "--title-lines",
        type=title_lines,
        default=None,
        help="lines above TABLE's header to skip: a number or 'auto' (KOSIS)",
    )


def areas_with_table(args: argparse.Namespace, out: Path):
    """Read AREAS and, when TABLE is given, join it by ``--id`` with a printed, saved report."""
    from dongne.errors import UnmatchedWarning
    from dongne.io import join_by_code, read_areas, read_table

    areas = read_areas(args.areas, layer=args.layer, crs=args.crs)
    if not args.table:
        return areas
    table = read_table(args.table, encoding=args.encoding, title_lines=args.title_lines)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)
        areas, report = join_by_code(
            areas, table, key=args.id, table_key=args.table_key, **join_options(args)
        )
    print(report.summary())
    out.mkdir(parents=True, exist_ok=True)
    report.save(out / "match_report.txt")
    report.save(out / "match_report.json")
    return areas


def require_columns(frame, source: str, flags: dict[str, str | list[str] | None]) -> None:
    """Refuse column names given on the command line that ``frame`` does not have.

    ``flags`` maps each option (``"--var"``) to the column(s) it names (None: not given).
    The error names the option, the missing column, the closest existing names and the
    columns there are, so a typo costs one line instead of a traceback.
    """
    import difflib

    from dongne.errors import DataError

    columns = [str(c) for c in frame.columns if c != "geometry"]
    for flag, given in flags.items():
        for name in [given] if isinstance(given, str) else list(given or []):
            if name in frame.columns:
                continue
            close = difflib.get_close_matches(name, columns, n=3, cutoff=0.6)
            suggestion = f"{flag} {close[0]}" if close else f"{flag} COLUMN with one of them"
            raise DataError(
                f"{source} has no column {name!r} (given as {flag}). Columns: "
                f"{', '.join(columns)}. Fix: {suggestion}."
            )


def add_network_options(parser: argparse.ArgumentParser, title: str) -> None:
    """The ``--network`` flags of the commands that measure costs along roads."""
    network = parser.add_argument_group(title)
    network.add_argument(
        "--network", help="road lines (GeoPackage, Shapefile, GeoParquet) or OSM .osm/.osm.pbf"
    )
    network.add_argument("--profile", default="walk", choices=["walk", "bike", "drive"])
    network.add_argument("--network-layer", help="layer of --network")
    network.add_argument("--network-crs", help="CRS of --network when the file declares none")
    network.add_argument("--oneway", help="one-way column of --network (bike, drive)")
    network.add_argument("--speed-column", help="speed column (km/h) of --network (drive)")
    network.add_argument(
        "--max-snap", type=float, default=500.0,
        help="points farther from the network (metres) are unreachable",
    )  # fmt: skip
    network.add_argument("--cache-dir", help="where built networks are cached")
    network.add_argument(
        "--densify", type=float,
        help="add network vertices every this many metres (points snap to vertices)",
    )  # fmt: skip


def network_option(args: argparse.Namespace, unit: str):
    """The network of ``--network`` with costs in ``unit`` ("m" or "min"); None without it."""
    if not args.network:
        return None
    from dongne.access import read_network

    return read_network(
        args.network, layer=args.network_layer, profile=args.profile, unit=unit,
        oneway=args.oneway, speed=args.speed_column, crs=args.network_crs,
        cache_dir=args.cache_dir, densify=args.densify,
    )  # fmt: skip
