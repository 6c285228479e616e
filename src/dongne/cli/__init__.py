"""The ``dongne`` command line, at the top of the house: one module per command.

Each command module (``dongne.cli.<command>``) defines ``HELP`` (its line in ``dongne --help``),
``DESCRIPTION``, ``add_arguments(parser)`` and ``run(args) -> int``; ``USES_SCHEDULER = True``
marks the commands that spread Monte Carlo work over ``--scheduler``. Command modules import
only the standard library at module level, so that ``dongne --help`` answers at once; the
statistics are imported inside ``run``. Nothing outside this package imports it.

Every error a user can cause is printed as one line, ``dongne COMMAND: error: ... Fix: ...``,
with exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

#: The commands in the order ``dongne --help`` lists them (module name = command name).
COMMANDS = (
    "demo",
    "info",
    "join",
    "detect",
    "scan",
    "allocate",
    "evaluate",
    "learn",
    "share",
    "report",
    "serve",
    "datasets",
)

_MAIN_HELP = """\
dongne (동네) turns a city's area boundaries and tables into statistics and maps a public body
can defend. Every input goes in whole, or you are told exactly what did not fit.

commands:
{commands}

Add --scheduler processes (all cores) or --scheduler tcp://host:8786 (a Dask cluster) before
detect, scan or allocate to spread the Monte Carlo work; the numbers are identical.

examples:
  dongne demo --out seoul-demo
  dongne info raw/seoul_basic.csv                 # CP949 detected, Korean headers shown
  dongne info boundaries.gpkg --layer dong
  dongne join dong.geojson census.csv --key dong_code --out joined.gpkg
  dongne join dong.geojson census2010.csv --key dong_code \\
      --crosswalk codes_2010_2013.csv --combine sum --strict
  dongne detect dong.geojson census.csv --id dong_code --var basement_pct --out detect
  dongne detect dong.gpkg --id code --var share --method index \\
      --indicator share:+ --indicator shelters_per_1000:- --out index

Run 'dongne COMMAND --help' for the options of each command.
"""


def _module(name: str):
    return importlib.import_module(f"dongne.cli.{name}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dongne`` command."""
    from dongne import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    modules = {name: _module(name) for name in COMMANDS}
    listing = "\n".join(f"  {name:<9} {modules[name].HELP}" for name in COMMANDS)
    parser = argparse.ArgumentParser(
        prog="dongne", description=_MAIN_HELP.format(commands=listing), formatter_class=fmt
    )
    parser.add_argument("--version", action="version", version=f"dongne {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--scheduler",
        help="where detect, scan and allocate run their permutations, replications and "
        "sweeps: threads (default), processes, or a Dask scheduler address tcp://host:port "
        "(identical results)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = modules[name]
        cmd = sub.add_parser(
            name,
            formatter_class=fmt,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", None) or module.run.__doc__,
        )
        module.add_arguments(cmd)
        cmd.set_defaults(func=module.run, uses_scheduler=getattr(module, "USES_SCHEDULER", False))
    return parser


def _read_errors() -> tuple[type[BaseException], ...]:
    """Errors of the file readers underneath (GDAL via pyogrio, pandas, the OS) that reach a
    command only when a reader did not translate them: still one line, never a traceback."""
    from pandas.errors import EmptyDataError, ParserError
    from pyogrio.errors import DataLayerError, DataSourceError, FieldError

    return (DataSourceError, DataLayerError, FieldError, EmptyDataError, ParserError, OSError,
            UnicodeDecodeError)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dongne`` console script.

    Returns the exit status: 0 on success, 2 on an error the user can fix (printed as one line
    ``dongne COMMAND: error: ... Fix: ...``; ``--debug`` raises it with its traceback).
    """
    from dongne.errors import DongneError, SpecificationError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        if args.scheduler and not args.uses_scheduler:
            raise SpecificationError(
                f"dongne {args.command} does not spread work over a scheduler. "
                "Fix: remove --scheduler (it is used by detect, scan and allocate)."
            )
        return int(args.func(args))
    except DongneError as exc:
        if args.debug:
            raise
        message = str(exc)
    except _read_errors() as exc:
        if args.debug:
            raise
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        message = (
            f"could not read an input{where}: {exc}. Fix: check that the file is complete and "
            "in the format its extension says; 'dongne info FILE' shows what it holds."
        )
    print(f"dongne {args.command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2
