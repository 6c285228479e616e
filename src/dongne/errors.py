"""Exceptions and warnings raised by dongne.

Every error a user can trigger with bad input is a :class:`DongneError`. Messages name the
file, the column and the rows concerned and end with the fix, so that an analyst can act on
them without reading a traceback. Warnings subclass :class:`DongneWarning` so they can be
filtered as a family (``warnings.simplefilter("error", dongne.errors.DongneWarning)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "CodeMatchError",
    "DataError",
    "DongneError",
    "DongneWarning",
    "EncodingError",
    "GeometryError",
    "GeometryRepairWarning",
    "InfeasibleProblemError",
    "MissingDependencyError",
    "SpecificationError",
    "UnmatchedWarning",
    "format_rows",
    "rewrite_fix_arguments",
    "unquoted",
]


class DongneError(Exception):
    """Base class of every error raised by dongne."""


class SpecificationError(DongneError, ValueError):
    """A parameter or a combination of parameters is invalid."""


class DataError(DongneError, ValueError):
    """Input data are unusable as given (missing file, bad values, wrong column, ...)."""


class EncodingError(DataError):
    """A text file cannot be decoded with the given or any detected encoding."""


class CodeMatchError(DataError):
    """A join by code failed under ``strict=True`` or could not be made at all."""


class GeometryError(DongneError, ValueError):
    """Geometries or their coordinate reference system are unusable."""


class InfeasibleProblemError(DongneError):
    """An optimisation problem has no feasible solution."""


class MissingDependencyError(DongneError, ImportError):
    """An optional dependency needed by a feature is not installed."""


class DongneWarning(UserWarning):
    """Base class of every warning issued by dongne."""


class GeometryRepairWarning(DongneWarning):
    """Invalid geometries were repaired with ``shapely.make_valid``."""


class UnmatchedWarning(DongneWarning):
    """Some records did not match in a join or an overlay (they are reported, not dropped)."""


def format_rows(rows: Iterable[object], limit: int = 10) -> str:
    """Format row labels for a message: ``"3, 17, 42 (and 5 more)"``.

    Parameters
    ----------
    rows : iterable
        Row numbers or labels, in the order they should be shown.
    limit : int
        How many to show before summarising the rest as a count.
    """
    items: Sequence[object] = list(rows)
    shown = ", ".join(str(r) for r in items[:limit])
    if len(items) > limit:
        shown += f" (and {len(items) - limit} more)"
    return shown


#: ``name=value`` as a message's fix spells a Python argument (``crs='EPSG:5186'``,
#: ``rates={...}``, ``outside=keep``).
FIX_ARGUMENT = re.compile(r"\b([a-z][a-z_]*)=('[^']*'|\"[^\"]*\"|\[[^\]]*\]|\{[^}]*\}|[\w.:\-]+)")


def unquoted(value: str) -> str:
    """A fix argument's value without its quotes: ``'EPSG:5186'`` → ``EPSG:5186``.

    >>> unquoted("'keep'"), unquoted('"a b"'), unquoted("[1, 2]")
    ('keep', 'a b', '[1, 2]')
    """
    if len(value) >= 2 and value[0] in "'\"" and value[-1] == value[0]:
        return value[1:-1]
    return value


def rewrite_fix_arguments(message: str, spell: Callable[[str, str], str | None]) -> str:
    """Say the Python arguments after ``Fix:`` the way the caller's user gives them.

    The library's messages speak Python (``Fix: pass crs='EPSG:4326'``); the command line
    needs ``--crs EPSG:4326`` and the web service ``?crs=EPSG:4326``. ``spell(name, value)``
    returns the new spelling of ``name=value`` (``value`` with its quotes), or None to keep it.
    Text before ``Fix:`` is never changed.

    Examples
    --------
    >>> rewrite_fix_arguments("Bad CRS. Fix: pass crs='EPSG:5186'.",
    ...                       lambda name, value: f"--{name} {unquoted(value)}")
    'Bad CRS. Fix: pass --crs EPSG:5186.'
    """
    head, sep, fix = message.partition("Fix:")
    if not sep:
        return message

    def replace(match: re.Match) -> str:
        spelled = spell(match.group(1), match.group(2))
        return match.group(0) if spelled is None else spelled

    return head + sep + FIX_ARGUMENT.sub(replace, fix)
