"""The saved run folder as a report sees it: its files, their provenance sidecars, its dates.

A *run* is the output folder of ``dongne demo``, ``detect``, ``scan``, ``allocate``,
``evaluate`` or ``learn``: maps, tables, summaries and a ``<file>.provenance.json`` beside
every table. :func:`read_run` reads it once; report sections (:mod:`dongne.report.sections`)
and the document (:mod:`dongne.report.document`) only ever look at the :class:`AnalysisRun`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dongne.errors import DataError

__all__ = ["AnalysisRun", "read_run"]


_SIDECAR = ".provenance.json"


_REPORT_NAME = re.compile(r"^report(_[a-z]+)?\.(html|pdf)$")


@dataclass(frozen=True)
class AnalysisRun:
    """The files of one saved run, as a report sees them.

    Attributes
    ----------
    root : Path
        The run folder.
    files : tuple of str
        Every file below ``root`` as a POSIX path relative to it, sorted; hidden files,
        provenance sidecars and earlier reports (``report*.html``/``.pdf``) left out.
    provenance : mapping of str to dict
        The parsed ``<file>.provenance.json`` of each file that has one, keyed by the file.
    sidecars : tuple of str
        The provenance files themselves (relative paths, sorted).
    """

    root: Path
    files: tuple[str, ...]
    provenance: Mapping[str, dict[str, Any]]
    sidecars: tuple[str, ...]

    def has(self, name: str) -> bool:
        """Whether the run contains ``name`` (a relative path)."""
        return name in self.files

    def ending_with(self, suffix: str) -> list[str]:
        """Files whose name ends with ``suffix``, sorted."""
        return [f for f in self.files if f.endswith(suffix)]

    def read_table(self, name: str) -> pd.DataFrame:
        """Read a CSV (UTF-8 with or without BOM) or the attributes of a GeoPackage, as text.

        Every column is read as strings (codes keep their leading zeros); convert numeric
        columns with :func:`pandas.to_numeric` where needed.
        """
        path = self.root / name
        if name.endswith(".gpkg"):
            import pyogrio

            frame = pyogrio.read_dataframe(path, read_geometry=False)
            return frame.astype("string").astype(object).where(frame.notna(), "")
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")

    def read_text(self, name: str) -> str:
        """Read a text file of the run (UTF-8)."""
        return (self.root / name).read_text(encoding="utf-8-sig")

    def columns(self, name: str) -> list[str]:
        """Columns recorded in the provenance of ``name`` (empty when none is recorded)."""
        return list(self.provenance.get(name, {}).get("columns", []))

    def parameters(self, name: str) -> dict[str, Any]:
        """Parameters recorded in the provenance of ``name`` (empty when none)."""
        return dict(self.provenance.get(name, {}).get("parameters", {}) or {})

    def recorded(self) -> tuple[str, str]:
        """First and last ``created_utc`` of the run's provenance files (ISO 8601, UTC)."""
        stamps = sorted(
            str(p["created_utc"]) for p in self.provenance.values() if p.get("created_utc")
        )
        return (stamps[0], stamps[-1]) if stamps else ("", "")

    def recorded_versions(self, key: str) -> list[str]:
        """Distinct values of ``key`` (e.g. ``"dongne_version"``) over the provenance files."""
        return sorted({str(p[key]) for p in self.provenance.values() if p.get(key)})


def read_run(run_dir: str | os.PathLike[str], *, exclude: Iterable[Path] = ()) -> AnalysisRun:
    """Collect the files and provenance records of a saved run.

    Parameters
    ----------
    run_dir : path-like
        Output folder of a dongne command or workflow.
    exclude : iterable of Path
        Further files to leave out (the report being written).

    Returns
    -------
    AnalysisRun

    Raises
    ------
    DataError
        When the folder does not exist, is not a folder, has no ``*.provenance.json`` (it was
        not written by dongne), or a provenance file is not valid JSON.
    """
    root = Path(run_dir)
    if not root.exists():
        raise DataError(
            f"Run folder {root} does not exist. Fix: give the --out folder of a dongne command "
            "(e.g. the folder written by 'dongne demo --out seoul-demo')."
        )
    if not root.is_dir():
        raise DataError(
            f"{root} is a file, not a run folder. Fix: give the folder a dongne command wrote "
            "with --out."
        )
    skip = {p.resolve() for p in exclude}
    files: list[str] = []
    sidecars: list[str] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in Path(rel).parts):
            continue
        if path.resolve() in skip or (path.parent == root and _REPORT_NAME.match(path.name)):
            continue
        (sidecars if rel.endswith(_SIDECAR) else files).append(rel)
    if not sidecars:
        raise DataError(
            f"{root} is not a dongne run: it has no *.provenance.json file, so its parameters "
            "and inputs are unknown. Fix: give the --out folder of a dongne command ('dongne "
            "demo', 'detect', 'scan', 'spacetime', 'points', 'allocate', 'access', 'evaluate', "
            "'regions', 'learn' or 'explain')."
        )
    provenance: dict[str, dict[str, Any]] = {}
    for rel in sidecars:
        try:
            record = json.loads((root / rel).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(
                f"{root / rel} is not valid JSON ({exc}). Restore it from the run or rerun "
                "the command that wrote the folder."
            ) from exc
        provenance[rel[: -len(_SIDECAR)]] = record
    return AnalysisRun(
        root=root,
        files=tuple(files),
        provenance=provenance,
        sidecars=tuple(sidecars),
    )
