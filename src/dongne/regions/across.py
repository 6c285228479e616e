"""A table keyed by the codes of another boundary vintage, moved onto the areas by area.

When a join by code leaves codes unplaced because the table was made on another vintage of
the boundaries (the match report says so: ``report.vintage``), copying rows through a code
crosswalk is wrong wherever a dong was split. :func:`join_from_vintage` joins the table to
the bundled boundaries of its own vintage and interpolates it onto the areas
(:func:`dongne.regions.interpolate`): counts shared out, rates averaged by area or recomputed
from moved counts.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import geopandas as gpd
import pandas as pd

from dongne._warnings import user_stacklevel
from dongne.errors import SpecificationError, UnmatchedWarning
from dongne.io.areas import read_areas
from dongne.io.combine import column_kinds
from dongne.io.join import MatchReport, join_by_code
from dongne.io.provenance import attach
from dongne.io.tables import read_table
from dongne.io.vintages import KNOWN_VINTAGES, vintage_path
from dongne.regions.interpolate import Interpolation, interpolate
from dongne.regions.vintages import code_history, vintage_changes

__all__ = ["VintageJoin", "join_from_vintage"]


class VintageJoin(NamedTuple):
    """Result of :func:`join_from_vintage`; unpacks as ``frame, report, interpolation``."""

    frame: gpd.GeoDataFrame
    """The areas, in order, with the interpolated columns."""
    report: MatchReport
    """The match report of the table on the boundaries of its own vintage."""
    interpolation: Interpolation
    """The move from those boundaries onto the areas (totals, notes, overlay)."""


def join_from_vintage(
    areas: gpd.GeoDataFrame,
    table: pd.DataFrame | str | os.PathLike[str],
    key: str,
    vintage: str,
    *,
    table_key: str | None = None,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    rates: Mapping[str, object] | Iterable[str] | None = None,
    combine: Any = None,
    min_match: float = 0.9,
    suffix: str = "_table",
) -> VintageJoin:
    """Attach a table keyed by the codes of a bundled boundary vintage to ``areas``, by area.

    Parameters
    ----------
    areas : GeoDataFrame
        The target areas (any boundaries with a CRS); ``key`` is their id column.
    table : DataFrame or path
        The data, keyed by the codes of ``vintage`` in ``table_key``.
    key : str
        Id column of ``areas`` (also the table's code column unless ``table_key``).
    vintage : {"2013", "2021", "2022"}
        The bundled Seoul dongs the table's codes belong to (the match report of a plain join
        names it: ``report.vintage``).
    table_key : str, optional
        Code column of ``table`` (default: ``key``).
    columns : list of str, optional
        Columns to move (default: every count, rate and mean column of the table; text and
        id columns are left out).
    kinds : mapping, optional
        ``{"column": "count" | "rate" | "mean"}``, overriding what dongne infers from the names
        (command line ``--column-kind``). A numeric column whose name says nothing is refused
        with the question.
    rates : mapping or list of str, optional
        Rates recomputed from the moved counts, ``"pct=num/den*100"`` (``--rate``).
    combine : optional
        As :func:`dongne.io.join_by_code`, for table rows sharing a code.
    min_match : float
        As :func:`dongne.io.join_by_code`, for the join onto the vintage's boundaries.
    suffix : str
        Added to moved columns whose name ``areas`` already uses.

    Returns
    -------
    VintageJoin
        ``frame`` (the areas with the moved columns), ``report`` (the match report on the
        vintage's own boundaries) and ``interpolation`` (totals, overlay, notes).

    Raises
    ------
    SpecificationError
        An unknown vintage, a column of unknown kind, nothing to move.
    CodeMatchError
        No table row is a code of ``vintage``.

    Examples
    --------
    >>> import warnings
    >>> from dongne import datasets
    >>> votes = datasets.data_path("seoul_vote_2022_president_dong.csv")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     frame, report, moved = join_from_vintage(
    ...         datasets.seoul_dongs(indicators=False), votes, "dong_code", "2022",
    ...         columns=["valid_votes", "votes_yoon_sukyeol"],
    ...         kinds={"valid_votes": "count", "votes_yoon_sukyeol": "count"})
    >>> len(frame), round(float(frame["valid_votes"].sum()))
    (423, 5573471)
    """
    if vintage not in KNOWN_VINTAGES:
        raise SpecificationError(
            f"Unknown boundary vintage {vintage!r}. Known: {', '.join(KNOWN_VINTAGES)}. Fix: "
            f"vintage='2022' (command line --from-vintage 2022), or move the table with its own "
            "boundaries: dongne regions interpolate --source OLD --target NEW."
        )
    if not isinstance(table, pd.DataFrame):
        table = read_table(table)
    layer = read_areas(vintage_path(vintage))
    code = KNOWN_VINTAGES[vintage].code_column
    layer = layer[[code, layer.geometry.name]]
    options = {"key": code, "table_key": table_key or key, "combine": combine, "rates": rates,
               "kinds": kinds, "min_match": min_match}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)  # the second join reports
        joined, report = join_by_code(layer, table, **options)
    history, notes = _code_history(report, vintage)
    if len(history):
        joined, report = join_by_code(
            layer, table, crosswalk=history, crosswalk_from="old_code", crosswalk_to="new_code",
            **options,
        )  # fmt: skip
    else:
        _warn_if_incomplete(report)
    report.hints.extend(notes)
    moved_from = [c for c in table.columns if c != (table_key or key)]
    if columns is None:
        found = column_kinds(table[moved_from], {c: k for c, k in (kinds or {}).items()
                                                 if c in moved_from})  # fmt: skip
        columns = [c for c in moved_from if found[c][0] in ("count", "rate", "mean")]
    if not columns:
        raise SpecificationError(
            "The table has no count, rate or mean column to move. Fix: name them with "
            "columns=['col'] (command line --columns col) and their kinds with "
            "kinds={'col': 'count'} (command line --column-kind col=count)."
        )
    result = interpolate(
        joined, areas, columns=list(columns), kinds=kinds, rates=rates,
        source_id=code, target_id=key,
    )  # fmt: skip
    moved = result.frame.drop(columns=[result.frame.geometry.name, key])
    moved = moved.rename(columns={c: f"{c}{suffix}" for c in moved.columns if c in areas})
    frame = areas.copy()
    for c in moved.columns:
        frame[c] = moved[c].to_numpy()
    attach(frame, {**areas.attrs.get("dongne", {}),
                   "match_reports": [report.to_dict()],
                   "interpolation": {"from_vintage": vintage, **result.provenance_}})  # fmt: skip
    return VintageJoin(frame, report, result)


def _code_history(report: MatchReport, vintage: str) -> tuple[pd.DataFrame, list[str]]:
    """A crosswalk for the unplaced codes that are codes of another bundled vintage carried
    over one to one (renamed, recoded) into ``vintage``, and what became of each of them."""
    found = report.vintage or {}
    rows, notes = [], []
    by_vintage: dict[str, list[str]] = {}
    for c, v in zip(found.get("codes", []), found.get("of_vintage", []), strict=True):
        if v != vintage:
            by_vintage.setdefault(v, []).append(c)
    for other, codes in by_vintage.items():
        history = code_history(other, vintage)
        kept = history[history["old_code"].isin(codes)]
        rows.append(kept)
        said = vintage_changes(other, vintage).hint(codes)
        left = sorted(set(codes) - set(kept["old_code"]))
        notes.append(
            f"codes of the {other} dongs, by the change table {other} → {vintage} read from the "
            f"boundaries: {said}. Translated: {len(kept)} (renamed or recoded)"
            + (
                f"; not translated: {', '.join(left)} (split or merged: a code cannot carry "
                "their counts; their rows stay unplaced, listed above)."
                if left
                else "."
            )
        )
    if not rows:
        return pd.DataFrame(columns=["old_code", "new_code"]), notes
    return pd.concat(rows, ignore_index=True)[["old_code", "new_code"]], notes


def _warn_if_incomplete(report: MatchReport) -> None:
    if not report.complete:
        warnings.warn(
            f"{report.n_table_rows - report.matched_rows} table row(s) were not placed on the "
            "boundaries of their vintage and are not interpolated; see result.report.summary() "
            "for the list.",
            UnmatchedWarning,
            stacklevel=user_stacklevel(),
        )
