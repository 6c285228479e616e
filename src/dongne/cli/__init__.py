"""The ``dongne`` command line, at the top of the house: one module per command.

Each command module (``dongne.cli.<command>``) defines ``HELP`` (its line in ``dongne --help``),
``DESCRIPTION``, ``add_arguments(parser)`` and ``run(args) -> int``; ``USES_SCHEDULER = True``
marks the commands that spread Monte Carlo work over ``--scheduler``, ``OUT_IS_FOLDER =
False`` the commands whose ``--out`` is one file, and ``HINTS`` maps a
library's Python spelling of a fix to the command's flag where the names differ. Command
modules import only the standard library at module level, so that ``dongne --help`` answers at
once; the statistics are imported inside ``run``. Nothing outside this package imports it.

Every error a user can cause is printed as one line, ``dongne COMMAND: error: ... Fix: ...``,
with the fix said as the command's own flags, and exit status 2; an output folder the failed
run created is removed; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]

#: The commands in the order ``dongne --help`` lists them (module name = command name).
COMMANDS = (
    "demo",
    "info",
    "join",
    "detect",
    "scan",
    "spacetime",
    "points",
    "allocate",
    "access",
    "evaluate",
    "regions",
    "learn",
    "explain",
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
detect, scan, points or allocate to spread the Monte Carlo work; the numbers are identical.

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
        help="where detect, scan, points and allocate run their permutations, replications and "
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
        cmd.set_defaults(
            func=module.run,
            uses_scheduler=getattr(module, "USES_SCHEDULER", False),
            out_is_folder=getattr(module, "OUT_IS_FOLDER", True),
            options=frozenset(option_strings(cmd)),
            hints=getattr(module, "HINTS", {}),
        )
    return parser


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every ``--option`` of ``parser`` and of its sub-commands, at any depth."""
    options: set[str] = set()
    for action in parser._actions:
        options.update(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                options |= option_strings(child)
    return options


_PYTHON_VALUE = r"(?:'[^']*'|\"[^\"]*\"|\{[^}]*\}|\[[^\]]*\]|[\w.:\-]*)"
_SAID_BOTH_WAYS = re.compile(
    r"\b[a-z][a-z_]*=" + _PYTHON_VALUE + r"(?:\s*\((?:command line:?\s*)?|,\s*command line\s+)"
    r"(?P<flag>--[a-z][\w-]*(?:\s[^)]*)?)\)?"
)


def command_line_hints(message: str, options: frozenset[str], hints: dict[str, str]) -> str:
    """Say the fixes of a library error as this command's flags.

    The statistics speak Python (``Fix: pass crs='EPSG:4326'``); a command-line user needs
    ``--crs EPSG:4326``. ``name=value`` after ``Fix:`` becomes ``--name value`` when the
    command has that option (``True`` becomes the bare flag); ``hints`` maps a Python
    spelling to a flag of another name (``"extra='drop'": "--drop-extra"``). What the
    command cannot do stays as it was, and ``tests/test_cli_catalogue.py`` fails on it.
    """
    from dongne.errors import rewrite_fix_arguments, unquoted

    head, sep, fix = message.partition("Fix:")
    if not sep:
        return message
    for python, flag in hints.items():
        fix = fix.replace(python, flag)
    # "rates={...} (command line --rate ...)", "sheet=, command line --sheet": keep the flag
    fix = _SAID_BOTH_WAYS.sub(lambda m: m.group("flag"), fix)

    def flag_for(name: str, value: str) -> str | None:
        flag = "--" + name.replace("_", "-")
        if flag not in options:
            return None
        if value == "True":
            return flag
        return f"{flag} {unquoted(value)}"

    return rewrite_fix_arguments(head + sep + fix, flag_for)


_PASS = re.compile(r"\b([Pp]ass )([a-z][a-z_]*=\S+)")


def warning_hints(message: str, options: frozenset[str], hints: dict[str, str]) -> str:
    """Say what a warning asks the user to pass ("Pass outside='keep' to keep them") as this
    command's flags ("Pass --outside keep"), and its ``Fix:`` as :func:`command_line_hints`."""

    def flag(match: re.Match) -> str:
        return match.group(1) + command_line_hints("Fix:" + match.group(2), options, hints)[4:]

    return command_line_hints(_PASS.sub(flag, message), options, hints)


@contextlib.contextmanager
def _warnings_in_flags(
    command: str, options: frozenset[str], hints: dict[str, str]
) -> Iterator[None]:
    """During a command, warnings speak its flags (:func:`warning_hints`) and print as one line,
    ``dongne COMMAND: warning: ...``, like its errors (not Python's file:line and source line)."""
    import warnings

    formatted = warnings.formatwarning
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            text = warning_hints(str(message), options, hints)
            try:
                message = category(text)
            except TypeError:  # a warning class with its own arguments: show the text
                message = text
            shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        warnings.formatwarning = lambda message, *_args, **_kw: (
            f"dongne {command}: warning: {' '.join(str(message).split())}\n"
        )
        try:
            yield
        finally:
            warnings.formatwarning = formatted


def _output_of(args: argparse.Namespace) -> Path | None:
    """The ``--out`` of this run when it does not exist yet (removed again on an error)."""
    out = getattr(args, "out", None)
    return None if out is None or Path(out).exists() else Path(out)


def _read_errors() -> tuple[type[BaseException], ...]:
    """Errors of the file readers underneath (GDAL via pyogrio, pandas, the OS) that reach a
    command only when a reader did not translate them: still one line, never a traceback."""
    from pandas.errors import EmptyDataError, ParserError
    from pyogrio.errors import DataLayerError, DataSourceError, FieldError

    return (DataSourceError, DataLayerError, FieldError, EmptyDataError, ParserError,
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
    fresh_output = _output_of(args)
    try:
        out = getattr(args, "out", None)
        if out is not None and args.out_is_folder and Path(out).is_file():
            raise SpecificationError(
                f"--out {out} is a file, and dongne {args.command} writes a folder of maps and "
                "tables. Fix: --out NEW_FOLDER (a folder name that is not a file)."
            )
        if args.scheduler and not args.uses_scheduler:
            raise SpecificationError(
                f"dongne {args.command} does not spread work over a scheduler. "
                "Fix: remove --scheduler (it is used by detect, scan, points and allocate)."
            )
        with _warnings_in_flags(args.command, args.options, args.hints):
            return int(args.func(args))
    except DongneError as exc:
        if args.debug:
            raise
        message = command_line_hints(str(exc), args.options, args.hints)
    except BrokenPipeError:  # 'dongne ... | head' closed the pipe: not an error of the input
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except _read_errors() as exc:
        if args.debug:
            raise
        message = (
            f"could not read an input: {exc}. Fix: check that the file is complete and in the "
            "format its extension says; 'dongne info FILE' shows what it holds."
        )
    except OSError as exc:  # a path the system refuses: missing folder, a file where a
        if args.debug:  # folder should be, no permission, a full disk
            raise
        where = f" {exc.filename}" if exc.filename else ""
        message = (
            f"the system refused{where}: {exc.strerror or exc}. Fix: check that path (an --out "
            "is a folder or file you can write; inputs must exist and be readable)."
        )
    if fresh_output is not None and fresh_output.exists():  # a failed run leaves nothing
        if fresh_output.is_dir():
            shutil.rmtree(fresh_output, ignore_errors=True)
        else:
            fresh_output.unlink(missing_ok=True)
    print(f"dongne {args.command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2
