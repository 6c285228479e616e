"""The registry of report sections, below the document and the sections of each analysis.

A section of the report belongs to one analysis and lives with the others of its kind
(:mod:`~dongne.report.sections_detect`, :mod:`~dongne.report.sections_scan`,
:mod:`~dongne.report.sections_allocate`, :mod:`~dongne.report.sections_evaluate`,
:mod:`~dongne.report.sections_learn`); each registers a builder with :func:`register_section`
under the file names that identify its analysis, and :mod:`dongne.report.document` looks them
up with :func:`registered_sections`. This module holds what both sides share: the contents of
a section (:class:`Figure`, :class:`Table`, :class:`Method`, :class:`ReportSection`), the
registry and the number formatting of tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dongne.report.run import AnalysisRun

__all__ = [
    "Figure",
    "Method",
    "ReportSection",
    "SectionBuilder",
    "Table",
    "Text",
    "register_section",
    "registered_sections",
]


#: A bilingual label: (English, Korean).
Text = tuple[str, str]


@dataclass(frozen=True)
class Figure:
    """A map or chart of the run: ``file`` (relative path) with an English/Korean caption."""

    file: str
    caption: Text


@dataclass(frozen=True)
class Table:
    """A key table: display strings (already formatted) and the file it was read from."""

    title: Text
    frame: pd.DataFrame
    source: str
    note: Text | None = None


@dataclass(frozen=True)
class Method:
    """A method as run: what it does, its recorded parameters and the references to cite."""

    title: Text
    description: Text
    parameters: Mapping[str, Any]
    source: str
    references: tuple[str, ...] = ()


@dataclass
class ReportSection:
    """What one analysis contributes to the report; ``files`` are the run files it used."""

    title: Text
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    methods: list[Method] = field(default_factory=list)
    files: set[str] = field(default_factory=set)


#: ``builder(run, prefix)`` returns the section of the analysis whose files start with ``prefix``.
SectionBuilder = Callable[[AnalysisRun, str], ReportSection | None]
_REGISTRY: list[tuple[str, tuple[str, ...], SectionBuilder]] = []


def register_section(
    name: str, anchors: Sequence[str]
) -> Callable[[SectionBuilder], SectionBuilder]:
    """Register a section builder for an analysis identified by the files it writes.

    For every prefix ``P`` such that the run has a file ``P + anchor`` for one of ``anchors``
    (e.g. ``allocate_`` + ``new_sites.csv``), ``builder(run, P)`` is called; it returns a
    :class:`ReportSection` (or ``None`` to skip) listing the files it used in ``files``.
    Sections appear in registration order; a name registered again replaces the builder.

    Examples
    --------
    >>> @register_section("notes_example", anchors=["notes_example.csv"])
    ... def _notes(run, prefix):
    ...     name = prefix + "notes_example.csv"
    ...     return ReportSection(title=("Notes", "메모"), files={name})
    >>> [n for n, _, _ in _REGISTRY][-1]
    'notes_example'
    >>> _REGISTRY.pop()[0]
    'notes_example'
    """

    def decorate(builder: SectionBuilder) -> SectionBuilder:
        entry = (name, tuple(anchors), builder)
        for i, (existing, _, _) in enumerate(_REGISTRY):
            if existing == name:
                _REGISTRY[i] = entry
                break
        else:
            _REGISTRY.append(entry)
        return builder

    return decorate


def registered_sections() -> list[tuple[str, tuple[str, ...], SectionBuilder]]:
    """The registered sections as ``(name, anchors, builder)``, in registration order.

    Examples
    --------
    >>> import dongne.report.document  # registers the built-in sections
    >>> [name for name, _, _ in registered_sections()][:3]
    ['detect', 'scan', 'allocate']
    """
    return list(_REGISTRY)


def _prefixes(run: AnalysisRun, anchors: Sequence[str]) -> list[str]:
    found = {
        f[: -len(anchor)]
        for anchor in anchors
        for f in run.files
        if f.endswith(anchor) and (len(f) == len(anchor) or f[-len(anchor) - 1] in "_/-.")
    }
    return sorted(found)


def _num(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.replace("", np.nan), errors="coerce")


def _fmt(value: Any, spec: str) -> str:
    """Format one value: ``int``, ``f1``..``f4``, ``pct`` (fraction → %), ``pct_pts``, ``p``."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if spec == "int":
        return f"{round(float(value)):,}"
    if spec.startswith("f"):
        return f"{float(value):,.{int(spec[1:])}f}"
    if spec == "pct":
        return f"{100 * float(value):.1f}%"
    if spec == "p":
        return "<0.0001" if float(value) < 1e-4 else f"{float(value):.4f}"
    return str(value)


def _format(frame: pd.DataFrame, specs: Mapping[str, str]) -> pd.DataFrame:
    out = frame.copy()
    for col, spec in specs.items():
        if col in out:
            out[col] = [_fmt(v, spec) for v in _num(out[col].astype(str))]
    return out.astype(str)


def _name_columns(columns: Sequence[str]) -> list[str]:
    """Area-name columns to show (Korean names first), e.g. ``gu_name``, ``dong_name``."""
    names = [c for c in columns if c.endswith("name") and not c.endswith("_en")]
    names = [c for c in names if not re.search(r"_\d{4}$", c)]
    return sorted(names[:2], key=lambda c: (not c.startswith("gu"), c))
