"""What the ``dongne`` commands share: progress bars, the outputs list, areas joined to a table.

Nothing here imports the statistics at module level, so that ``dongne --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

__all__ = [
    "add_table_inputs",
    "areas_with_table",
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


def add_table_inputs(parser: argparse.ArgumentParser) -> None:
    """The options that read an optional TABLE joined to AREAS by ``--id``."""
    parser.add_argument("--table-key", help="code column of TABLE (default: --id)")
    parser.add_argument("--layer", help="layer of AREAS")
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
