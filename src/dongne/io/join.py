"""Joining tables to areas by code, with a match report that loses nothing.

A join in dongne never drops a row silently: every area keeps its row (with missing values
where no data matched), and every table row that could not be placed is listed in the
:class:`MatchReport` with its file line, code, name and the likely reason.
"""

from __future__ import annotations

import difflib
import json
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne import __version__
from dongne._deprecate import renamed
from dongne._vocab import Lang, check_lang
from dongne._warnings import user_stacklevel
from dongne.errors import (
    CodeMatchError,
    DataError,
    SpecificationError,
    UnmatchedWarning,
    format_rows,
)
from dongne.io.atomic import atomic_write_text
from dongne.io.codes import (
    code_lengths,
    describe_code_system,
    mois_to_8_digits,
    normalise_codes,
    pad_to_width,
)
from dongne.io.combine import CombineRule, check_rates, column_kinds, combine_rows, parse_rates
from dongne.io.provenance import attach
from dongne.io.tables import file_lines, read_table, row_references, source_of
from dongne.io.vintages import recognise_vintage

__all__ = ["JoinResult", "MatchReport", "join_by_code"]


@dataclass
class MatchReport:
    """What matched, and what did not, in a join of a table to areas by code.

    Attributes
    ----------
    areas_source, table_source : str
        Where the areas and the table came from (file paths when read by dongne).
    areas_key, table_key : str
        The code columns joined.
    n_areas, n_table_rows : int
        Rows on each side.
    matched_areas : int
        Areas that received data.
    matched_rows : int
        Table rows placed on an area.
    unmatched_areas : DataFrame
        Areas without data: ``code``, ``name``.
    unmatched_rows : DataFrame
        Table rows not placed: ``row`` (1-based data row), ``line`` (1-based line of the CSV
        file or row of the Excel sheet; missing for tables not read from such a file),
        ``code``, ``name``, ``reason``.
    duplicates : DataFrame
        Codes that occur on several table rows: ``code``, ``rows`` (1-based data rows),
        ``lines`` (1-based file lines, or missing), ``how`` (``"duplicated code"`` or
        ``"crosswalk merge"``, with ``", combined"`` when combined).
    name_mismatches : DataFrame
        Matched codes whose names differ on the two sides: ``code``, ``area_name``,
        ``table_name``.
    name_columns : dict
        The name columns compared and shown (``areas``, ``table``) and how they were chosen.
    normalisation : list of str
        How codes were normalised before matching (e.g. zero padding).
    code_systems : dict
        Plain-language description of the codes on each side.
    crosswalk : dict or None
        Source, columns and number of codes translated.
    combined : DataFrame
        Areas whose value combines several table rows: ``code``, ``from_codes``,
        ``recomputed`` (rate formulas applied) and ``missing_columns`` (left missing: no rule
        given, text that differs between the rows, or a missing part of a sum).
    hints : list of str
        Likely causes of mismatches and their fixes.
    min_match : float
        Share of table rows that must be placed; below it the summary starts with a warning.
    vintage : dict or None
        When unplaced codes are codes of a boundary vintage dongne ships (Seoul's 2013, 2021 or
        2022 dongs): ``vintage`` (the one holding most of the table's codes), ``description``,
        the unplaced ``codes`` that are bundled codes with their ``names`` and ``of_vintage``,
        ``n_unplaced``, ``n_table``, ``n_table_known`` and ``areas_vintage`` (or None).
        A hint then offers the code history and areal interpolation
        (``dongne.regions.join_from_vintage``, command line ``dongne join --from-vintage``).
    """

    areas_source: str
    table_source: str
    areas_key: str
    table_key: str
    n_areas: int
    n_table_rows: int
    matched_areas: int
    matched_rows: int
    unmatched_areas: pd.DataFrame
    unmatched_rows: pd.DataFrame
    duplicates: pd.DataFrame
    name_mismatches: pd.DataFrame
    normalisation: list[str] = field(default_factory=list)
    code_systems: dict[str, str] = field(default_factory=dict)
    crosswalk: dict[str, Any] | None = None
    combined: pd.DataFrame = field(default_factory=pd.DataFrame)
    hints: list[str] = field(default_factory=list)
    name_columns: dict[str, Any] = field(default_factory=dict)
    min_match: float = 0.9
    vintage: dict[str, Any] | None = None

    @property
    def complete(self) -> bool:
        """True when every area got data and every table row was placed."""
        return self.unmatched_areas.empty and self.unmatched_rows.empty

    @property
    def match_rate(self) -> float:
        """Share of table rows placed on an area (NaN for a table without rows)."""
        return self.matched_rows / self.n_table_rows if self.n_table_rows else float("nan")

    @property
    def below_min_match(self) -> bool:
        """True when fewer than ``min_match`` of the table rows were placed."""
        return bool(self.match_rate < self.min_match)

    def low_match_warning(self) -> str:
        """The sentence that the summary and the :class:`UnmatchedWarning` give when the share
        of placed rows is below ``min_match``."""
        return (
            f"WARNING: only {self.matched_rows} of {self.n_table_rows} table rows "
            f"({100 * self.match_rate:.1f} %) were placed on an area, below min_match = "
            f"{100 * self.min_match:g} %: check the key columns and the code vintage before "
            "using the result."
        )

    @renamed(language="lang")
    def summary(self, lang: Lang = "both", limit: int = 20) -> str:
        """Plain-language report, in English, Korean or both (``lang``; ``language`` before 0.2)."""
        lines: list[str] = []
        if check_lang(lang) in ("en", "both"):
            lines += self._summary_en(limit)
        if lang in ("ko", "both"):
            if lines:
                lines.append("")
            lines += self._summary_ko()
        return "\n".join(lines)

    def _summary_en(self, limit: int) -> list[str]:
        out = [
            f"Match report: {self.table_source} [{self.table_key}] -> "
            f"{self.areas_source} [{self.areas_key}]",
            *([f"  {self.low_match_warning()}"] if self.below_min_match else []),
            f"  areas: {self.n_areas}, with data: {self.matched_areas}, "
            f"without data: {len(self.unmatched_areas)}",
            f"  table rows: {self.n_table_rows}, placed on an area: {self.matched_rows}, "
            f"not placed: {len(self.unmatched_rows)}",
            f"  area codes: {self.code_systems.get('areas', '?')}",
            f"  table codes: {self.code_systems.get('table', '?')}",
        ]
        out += [f"  normalised: {n}" for n in self.normalisation]
        if self.crosswalk:
            cw = self.crosswalk
            out.append(
                f"  crosswalk {cw['source']} [{cw['from']} -> {cw['to']}]: "
                f"{cw['translated']} table codes translated"
            )
        if not self.unmatched_rows.empty:
            where = Path(self.table_source).name
            out.append("  table rows not placed (where, code, name, reason):")
            for r in self.unmatched_rows.head(limit).itertuples(index=False):
                line = (
                    f"line {int(r.line)} of {where}"
                    if pd.notna(r.line)
                    else f"data row {r.row} (1-based)"
                )
                code = r.code if pd.notna(r.code) else "(no code)"
                out.append(f"    {line}: {code} {r.name or ''} — {r.reason}")
            if len(self.unmatched_rows) > limit:
                out.append(f"    ... and {len(self.unmatched_rows) - limit} more (see the JSON)")
        if not self.unmatched_areas.empty:
            out.append("  areas without data (code, name):")
            for r in self.unmatched_areas.head(limit).itertuples(index=False):
                out.append(f"    {r.code} {r.name or ''}")
            if len(self.unmatched_areas) > limit:
                out.append(f"    ... and {len(self.unmatched_areas) - limit} more (see the JSON)")
        for r in self.duplicates.itertuples(index=False):
            where = (
                f"lines {format_rows(r.lines)} of {Path(self.table_source).name}"
                if all(x is not None for x in r.lines)
                else f"data rows {format_rows(r.rows)} (1-based)"
            )
            out.append(f"  code {r.code} on {where}: {r.how}")
        for r in self.combined.itertuples(index=False):
            redo = f"; recomputed: {', '.join(r.recomputed)}" if r.recomputed else ""
            miss = f"; left missing: {', '.join(r.missing_columns)}" if r.missing_columns else ""
            out.append(
                f"  area {r.code} combines table codes {', '.join(r.from_codes)}{redo}{miss}"
            )
        if not self.name_mismatches.empty:
            out.append(f"  {len(self.name_mismatches)} matched codes have different names:")
            for r in self.name_mismatches.head(limit).itertuples(index=False):
                out.append(f"    {r.code}: area '{r.area_name}' vs table '{r.table_name}'")
        out += [f"  hint: {h}" for h in self.hints]
        return out

    def _summary_ko(self) -> list[str]:
        out = [
            *(
                [
                    f"경고: 표의 {self.n_table_rows}개 행 중 {self.matched_rows}개"
                    f"({100 * self.match_rate:.1f}%)만 지역에 연결되어 기준 "
                    f"{100 * self.min_match:g}%에 못 미칩니다. 코드 열과 코드 연도를 확인하세요."
                ]
                if self.below_min_match
                else []
            ),
            f"매칭 보고서: 지역 {self.n_areas}개 중 {self.matched_areas}개에 자료가 붙었고 "
            f"{len(self.unmatched_areas)}개는 자료가 없습니다.",
            f"표의 {self.n_table_rows}개 행 중 {self.matched_rows}개가 지역에 연결되었고 "
            f"{len(self.unmatched_rows)}개는 연결되지 않았습니다(삭제하지 않고 위 목록에 기록).",
        ]
        if not self.duplicates.empty:
            out.append(f"코드가 중복된 행: {len(self.duplicates)}개 코드.")
        if self.crosswalk:
            out.append(f"코드 변환표로 {self.crosswalk['translated']}개 코드를 변환했습니다.")
        if self.vintage:
            v = self.vintage
            out.append(
                f"연결되지 않은 코드 {v['n_unplaced']}개 중 {len(v['codes'])}개는 dongne에 내장된 "
                f"다른 시점 경계의 동 코드입니다(예: {v['codes'][0]} {v['names'][0]}, "
                f"{v['of_vintage'][0]}). 표는 {v['vintage']}년 경계의 코드입니다. 코드 "
                "변환표로는 분동된 동의 값을 나눌 수 없으니 코드 이력과 면적 보간으로 옮기세요: "
                f"dongne join --from-vintage {v['vintage']}."
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of the whole report."""

        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return json.loads(df.to_json(orient="records", force_ascii=False))

        return {
            "dongne_version": __version__,
            "areas_source": self.areas_source,
            "table_source": self.table_source,
            "areas_key": self.areas_key,
            "table_key": self.table_key,
            "n_areas": self.n_areas,
            "n_table_rows": self.n_table_rows,
            "matched_areas": self.matched_areas,
            "matched_rows": self.matched_rows,
            "match_rate": self.match_rate,
            "min_match": self.min_match,
            "complete": self.complete,
            "normalisation": self.normalisation,
            "code_systems": self.code_systems,
            "crosswalk": self.crosswalk,
            "unmatched_areas": records(self.unmatched_areas),
            "unmatched_rows": records(self.unmatched_rows),
            "duplicates": records(self.duplicates),
            "combined": records(self.combined),
            "name_mismatches": records(self.name_mismatches),
            "name_columns": self.name_columns,
            "hints": self.hints,
            "vintage": self.vintage,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as JSON (``.json``) or text (any other suffix), atomically."""
        path = Path(path)
        if path.suffix.lower() == ".json":
            text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
        else:
            text = self.summary(limit=10**9)
        return atomic_write_text(path, text + "\n")

    def __str__(self) -> str:
        return self.summary()


@dataclass
class JoinResult:
    """The joined areas and the :class:`MatchReport`; unpacks as ``frame, report``."""

    frame: gpd.GeoDataFrame
    report: MatchReport

    def __iter__(self) -> Iterator[Any]:
        return iter((self.frame, self.report))


def _clean_names(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().str.replace(r"\s+", " ", regex=True)


def _text_columns(df: pd.DataFrame, exclude: set[str]) -> list[str]:
    return [
        c
        for c in df.columns
        if c not in exclude
        and c != getattr(df, "_geometry_column_name", None)
        and (pd.api.types.is_object_dtype(df[c]) or pd.api.types.is_string_dtype(df[c]))
    ]


def _name_like(df: pd.DataFrame, columns: list[str]) -> str | None:
    """Fallback without any agreeing pair: the name-like header with most distinct values."""
    named = [
        c
        for c in columns
        if ("name" in str(c).lower() or str(c).endswith(("명", "이름")))
        and not str(c).lower().endswith("_en")
    ]
    if not named:
        return None
    return max(named, key=lambda c: (df[c].nunique(), -named.index(c)))


def _check_name_column(df: pd.DataFrame, given: str, role: str, argument: str) -> str:
    if given not in df.columns:
        raise DataError(
            f"{source_of(df, f'the {role}')}: no name column {given!r}; columns: "
            f"{', '.join(map(str, df.columns))}. Fix: pass an existing column as {argument}."
        )
    return given


def _choose_names(
    areas: pd.DataFrame,
    table: pd.DataFrame,
    a_codes: pd.Series,
    t_codes: pd.Series,
    same_code: pd.Series,
    area_name: str | None,
    name_column: str | None,
    keys: tuple[str, str],
) -> tuple[str | None, str | None, dict[str, Any]]:
    """Choose the name columns by agreement of their values on matched codes.

    Every pair of text columns (areas × table) is scored by the number of rows, among those
    placed on an area under their own code, whose names are equal (after trimming spaces); the
    best-agreeing pair wins, ties going to the table column with more distinct values. Header
    order plays no part: a table with ``gu_name`` before ``dong_name`` is labelled with
    ``dong_name`` because dong names agree with the areas' names and gu names do not. When no
    pair agrees on any row (different languages, or a wrong code system), the name-like column
    (``name``, ``명``, ``이름``) with most distinct values is used on each side.
    """
    a_cols = (
        [_check_name_column(areas, area_name, "areas", "area_name=")]
        if area_name
        else _text_columns(areas, {keys[0]})
    )
    t_cols = (
        [_check_name_column(table, name_column, "table", "name_column= (--name-column)")]
        if name_column
        else _text_columns(table, {keys[1]})
    )
    placed = np.flatnonzero(same_code.to_numpy())
    position = pd.Series(np.arange(len(areas)), index=a_codes.to_numpy())
    best: tuple[int, int, str, str] | None = None
    if len(placed) and a_cols and t_cols:
        at = position.reindex(t_codes.iloc[placed].to_numpy()).to_numpy()
        for a in a_cols:
            a_vals = _clean_names(areas[a].iloc[at]).to_numpy()
            for t in t_cols:
                agree = int((a_vals == _clean_names(table[t].iloc[placed]).to_numpy()).sum())
                score = (agree, int(table[t].nunique()), a, t)
                if agree and (best is None or score[:2] > best[:2]):
                    best = score
    if best is not None:
        how = f"names agree on {best[0]} of {len(placed)} rows placed under their own code"
        return best[2], best[3], {"areas": best[2], "table": best[3], "how": how}
    a_name = a_cols[0] if area_name else _name_like(areas, a_cols)
    t_name = t_cols[0] if name_column else _name_like(table, t_cols)
    how = "as given" if area_name or name_column else "no column agrees; name-like headers"
    return a_name, t_name, {"areas": a_name, "table": t_name, "how": how}


def _missing_column(df: pd.DataFrame, col: str, role: str, other_codes: pd.Series) -> DataError:
    src = source_of(df, f"the {role}")
    overlaps = []
    targets = set(other_codes.dropna())
    for c in df.columns:
        if c == "geometry":
            continue
        try:
            n = normalise_codes(df[c]).isin(targets).sum()
        except (TypeError, ValueError):
            continue
        if n:
            overlaps.append((int(n), c))
    overlaps.sort(key=lambda t: (-t[0], str(t[1])))
    parameter = "key" if role == "areas" else "table_key"
    close = difflib.get_close_matches(str(col), [str(c) for c in df.columns], n=1)
    hint = f" Fix: pass {parameter}={close[0] if close else 'COLUMN'!r}, the column of codes."
    if overlaps:
        n, best = overlaps[0]
        hint = (
            f" Column {best!r} shares {n} codes with the other side: did you mean {best!r}? "
            f"Fix: pass {parameter}={best!r}."
        )
    return CodeMatchError(
        f"{src} has no column {col!r} to use as the {role} key. "
        f"Columns: {', '.join(map(str, df.columns))}.{hint}"
    )


def _choose_normalisation(a: pd.Series, t: pd.Series) -> tuple[pd.Series, pd.Series, list[str]]:
    """Try canonical, zero-padded and MOIS 10→8 forms; keep the one that matches most."""
    candidates: list[tuple[str, pd.Series, pd.Series]] = [("", a, t)]
    la, lt = code_lengths(a), code_lengths(t)
    if la and lt:
        width = max(max(la), max(lt))
        if len(la) > 1 or len(lt) > 1 or max(la) != max(lt):
            candidates.append(
                (
                    f"digit codes zero-padded to {width} digits (leading zeros lost when a "
                    f"spreadsheet read them as numbers, e.g. 1001 -> {'1001'.zfill(width)})",
                    pad_to_width(a, width),
                    pad_to_width(t, width),
                )
            )
    if 10 in lt and 8 in la:
        candidates.append(
            (
                "table's 10-digit MOIS codes cut to 8 digits (trailing ri part 00)",
                a,
                mois_to_8_digits(t),
            )
        )
    if 10 in la and 8 in lt:
        candidates.append(
            (
                "areas' 10-digit MOIS codes cut to 8 digits (trailing ri part 00)",
                mois_to_8_digits(a),
                t,
            )
        )
    best = max(candidates, key=lambda c: c[2].isin(set(c[1].dropna())).sum())
    notes = [best[0]] if best[0] else []
    return best[1], best[2], notes


def _load_crosswalk(
    crosswalk: pd.DataFrame | str | os.PathLike[str],
    from_col: str | None,
    to_col: str | None,
    t_codes: pd.Series,
    a_codes: pd.Series,
) -> tuple[dict[str, str], dict[str, Any]]:
    cw = crosswalk if isinstance(crosswalk, pd.DataFrame) else read_table(crosswalk)
    src = source_of(cw, "the crosswalk")
    norm = {c: normalise_codes(cw[c]) for c in cw.columns}

    def pick(given: str | None, target: pd.Series, role: str) -> str:
        if given is not None:
            if given not in cw.columns:
                raise DataError(f"{src}: no column {given!r}; columns: {', '.join(cw.columns)}.")
            return given
        targets = set(target.dropna())
        scores = {c: int(v.isin(targets).sum()) for c, v in norm.items()}
        best = max(scores, key=lambda c: scores[c])
        if scores[best] == 0:
            raise DataError(
                f"{src}: no column shares codes with the {role}. Fix: pass "
                f"crosswalk_{'from' if role == 'table' else 'to'}='column name'."
            )
        return best

    # The "from" column matches table codes best; among ties prefer one not matching areas.
    f = from_col or max(
        cw.columns,
        key=lambda c: (
            int(norm[c].isin(set(t_codes.dropna())).sum()),
            -int(norm[c].isin(set(a_codes.dropna())).sum()),
        ),
    )
    f = pick(f, t_codes, "table")
    t = (
        pick(to_col, a_codes, "areas")
        if to_col
        else max(
            (c for c in cw.columns if c != f),
            key=lambda c: int(norm[c].isin(set(a_codes.dropna())).sum()),
        )
    )
    pairs = pd.DataFrame({"from": norm[f], "to": norm[t]}).dropna().drop_duplicates()
    split = pairs.groupby("from")["to"].nunique()
    split = split[split > 1]
    if len(split):
        raise CodeMatchError(
            f"{src}: code(s) {format_rows(split.index)} in {f!r} map to several codes in {t!r}. "
            "Splitting one row's values over several areas needs weights that a crosswalk does "
            "not carry. Fix: split the table yourself (e.g. by population shares) first."
        )
    mapping = dict(zip(pairs["from"], pairs["to"], strict=True))
    return mapping, {"source": src, "from": f, "to": t}


def join_by_code(
    areas: gpd.GeoDataFrame,
    table: pd.DataFrame | str | os.PathLike[str],
    key: str,
    table_key: str | None = None,
    *,
    crosswalk: pd.DataFrame | str | os.PathLike[str] | None = None,
    crosswalk_from: str | None = None,
    crosswalk_to: str | None = None,
    combine: CombineRule | Mapping[str, CombineRule] | None = None,
    rates: Mapping[str, object] | Iterable[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    strict: bool = False,
    min_match: float = 0.9,
    area_name: str | None = None,
    name_column: str | None = None,
    suffix: str = "_table",
    table_name: str | None = None,
) -> JoinResult:
    """Attach a table to areas by a code column, reporting everything that did not match.

    Parameters
    ----------
    areas : GeoDataFrame
        One row per area; ``key`` must be unique and present.
    table : DataFrame or path
        The data, or a file read with :func:`dongne.io.read_table`.
    key : str
        Code column of ``areas``.
    table_key : str, optional
        Code column of ``table`` (default: same as ``key``).
    crosswalk : DataFrame or path, optional
        Table translating the table's codes into the areas' codes (e.g. 2010 → 2013 dong codes).
        Codes absent from it are kept as they are.
    crosswalk_from, crosswalk_to : str, optional
        Its columns; by default the column sharing most codes with the table, and the one
        sharing most with the areas.
    combine : {"sum", "mean", "min", "max", "first"} or mapping, optional
        How to combine several table rows that land on one area (duplicated codes, or codes
        merged by the crosswalk). Combining is column-aware (:mod:`dongne.io.combine`): a single
        rule applies to the *count* columns; *rate*, share and *mean* columns are never summed
        or averaged — they are recomputed from ``rates=``, and without a formula the join is
        refused with a list of them; *id* and *text* columns keep their value when the rows
        agree and are otherwise left missing (``"first"`` only where declared), never
        concatenated. A mapping gives a rule per column, and ``"*"`` the rule for the columns
        it does not name (``{"*": "sum", "dong_name": "first"}``; command line
        ``--combine sum,dong_name=first``); without ``"*"`` those are left missing for the
        combined areas. Everything left missing is listed in ``report.combined``.
        Without ``combine`` such rows are an error.
    rates : mapping or list of str, optional
        Rate columns recomputed on combined areas as the sum of a numerator over the sum of a
        denominator, times a scale: ``{"basement_household_pct": ("basement_households",
        "households", 100)}``, ``{"pct": "basement_households/households*100"}`` or
        ``["pct=basement_households/households*100"]`` (command line: ``--rate``). Each formula
        is checked against the table's own values and refused if most rows disagree.
    kinds : mapping, optional
        Declared column kinds, ``{"column": "count" | "rate" | "mean" | "id" | "text"}``
        (command line: ``--column-kind column=count``), overriding the inference from names and
        values described in :func:`dongne.io.combine.column_kinds`.
    strict : bool
        Raise :class:`CodeMatchError` if any area lacks data or any table row is not placed.
    min_match : float
        Share of table rows that must be placed (default 0.9). Below it the report's summary
        starts with a warning line and an :class:`UnmatchedWarning` says so (command line:
        ``--min-match``).
    area_name, name_column : str, optional
        Name columns of the areas and of the table, shown in the report and compared on matched
        codes (command line: ``--name-column`` for the table). By default the pair of text
        columns whose values agree on most rows placed under their own code; never chosen by
        header order.
    suffix : str
        Added to table columns whose name is already used by ``areas``.
    table_name : str, optional
        Former name of ``name_column``; still accepted, with a :class:`FutureWarning`, until
        the next release.

    Returns
    -------
    JoinResult
        ``frame``: every area in its original order, with the table's columns (missing where
        nothing matched); ``report``: the :class:`MatchReport`. The report is also stored in
        ``frame.attrs["dongne"]["match_reports"]`` so that writers save it with the data.

    Raises
    ------
    DataError
        The table has no data rows (only a header).
    CodeMatchError
        Key column missing (with the column that would match), duplicated area codes,
        duplicated table codes without ``combine``, rate-like columns to combine without a
        formula, a splitting crosswalk, **no table row placed at all** (with the code systems
        of both sides), or any mismatch under ``strict=True``.
    SpecificationError
        Unknown combine rule, kind or formula column; a formula that does not reproduce the
        table's values; ``min_match`` outside [0, 1].

    Warns
    -----
    UnmatchedWarning
        When some areas have no data or some rows were not placed (not under ``strict``), and
        when fewer than ``min_match`` of the rows were placed.

    Notes
    -----
    Row references are 1-based: ``line`` is the line of a CSV file (or the row of an Excel
    sheet) as an editor shows it, ``row`` the position among the data rows.

    References
    ----------
    .. [1] Statistics Korea (KOSTAT). *한국행정구역분류 (Korean Administrative District
       Classification)*. Code changes of merged and renamed dongs.
    .. [2] Office for National Statistics (2023). *Statistical geographies: best-fit lookups
       and aggregation*: rates for combined areas come from summed numerators and denominators.

    Examples
    --------
    >>> from dongne.datasets import seoul_dongs, data_path
    >>> areas = seoul_dongs(indicators=False)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     joined, report = join_by_code(
    ...         areas, data_path("seoul_dong_indicators_census2010.csv"), key="dong_code")
    >>> report.matched_rows, len(report.unmatched_rows), len(report.unmatched_areas)
    (416, 8, 7)
    >>> joined, report = join_by_code(
    ...     areas, data_path("seoul_dong_indicators_census2010.csv"), key="dong_code",
    ...     crosswalk=data_path("seoul_dong_code_crosswalk_2010_2013.csv"), combine="sum",
    ...     rates={"basement_household_pct": "basement_households/households*100"})
    >>> round(float(joined.set_index("dong_code").loc["1101073", "basement_household_pct"]), 2)
    8.28
    """
    if table_name is not None:
        warnings.warn(
            "join_by_code(table_name=...) is now name_column=...; table_name will be removed "
            "in the next release.",
            FutureWarning,
            stacklevel=user_stacklevel(),
        )
        name_column = name_column or table_name
    if not isinstance(table, pd.DataFrame):
        table = read_table(table)
    if not 0 <= min_match <= 1:
        raise SpecificationError(
            f"min_match must lie in [0, 1] (a share of the table's rows); got {min_match!r}. "
            "Fix: e.g. min_match=0.9 (command line --min-match 0.9)."
        )
    table_key = table_key or key
    a_codes = normalise_codes(areas[key]) if key in areas.columns else None
    t_codes = normalise_codes(table[table_key]) if table_key in table.columns else None
    if a_codes is None:
        raise _missing_column(areas, key, "areas", t_codes if t_codes is not None else pd.Series())
    if t_codes is None:
        raise _missing_column(table, table_key, "table", a_codes)
    a_src, t_src = source_of(areas, "the areas"), source_of(table)
    _refuse_empty(table, t_src)
    specs = parse_rates(rates)
    column_kinds(table, kinds)  # validates the declared kinds against the table's columns
    if specs:
        notes_rates = check_rates(table, specs, lambda rows: row_references(table, rows))
    else:
        notes_rates = []

    _check_area_codes(areas, a_codes, key, a_src)
    a_codes, raw_codes, notes = _choose_normalisation(a_codes, t_codes)
    if not pd.api.types.is_object_dtype(table[table_key]) and not pd.api.types.is_string_dtype(
        table[table_key]
    ):
        notes.insert(
            0, f"table key {table_key!r} was numeric ({table[table_key].dtype}); compared as text"
        )
    systems = {"areas": describe_code_system(a_codes), "table": describe_code_system(raw_codes)}
    t_codes, cw_info = _translated(raw_codes, a_codes, crosswalk, crosswalk_from, crosswalk_to)

    area_set = set(a_codes)
    not_placed = t_codes.isna() | ~t_codes.isin(area_set)
    if not_placed.all():
        _raise_nothing_placed(t_src, table_key, a_src, key, systems, t_codes, a_codes)

    multi, dup_records = _landing_groups(table, t_codes, raw_codes, combine, t_src, table_key)
    combined_records: list[dict[str, Any]] = []

    data = table.drop(columns=[table_key]).copy()
    data["__code"] = t_codes
    data = data[data["__code"].notna()]
    if multi:
        declared = {c: k for c, k in (kinds or {}).items() if c != table_key}
        data, combined_records = combine_rows(
            data, multi, raw_codes, combine, specs, declared, t_src
        )
        for d in dup_records:
            d["how"] += ", combined"

    merged = _merge(areas, a_codes, data, suffix)

    # Compare names only where the code was not translated (renamed areas differ by design).
    same = ~not_placed & (raw_codes == t_codes)
    a_name, t_name, name_info = _choose_names(
        areas, table, a_codes, t_codes, same, area_name, name_column, (key, table_key)
    )
    no_data = ~a_codes.isin(set(t_codes.dropna()))
    unmatched_areas, unmatched_rows, mismatches = _unmatched(
        areas, table, a_codes, t_codes, raw_codes, (no_data, not_placed, same), (a_name, t_name)
    )

    report = MatchReport(
        areas_source=a_src,
        table_source=t_src,
        areas_key=key,
        table_key=table_key,
        n_areas=len(areas),
        n_table_rows=len(table),
        matched_areas=int((~no_data).sum()),
        matched_rows=int((~not_placed).sum()),
        unmatched_areas=unmatched_areas,
        unmatched_rows=unmatched_rows,
        duplicates=pd.DataFrame(dup_records, columns=["code", "rows", "lines", "how"]),
        name_mismatches=mismatches,
        normalisation=notes,
        code_systems=systems,
        crosswalk=cw_info,
        combined=pd.DataFrame(
            combined_records, columns=["code", "from_codes", "recomputed", "missing_columns"]
        ),
        name_columns=name_info,
        min_match=float(min_match),
    )
    report.hints = _hints(report, areas, raw_codes.dropna()) + notes_rates
    meta = dict(areas.attrs.get("dongne", {}))
    meta["match_reports"] = [*meta.get("match_reports", []), report.to_dict()]
    attach(merged, meta)

    if strict and not report.complete:
        raise CodeMatchError(
            "strict join failed: not every area and table row matched.\n" + report.summary("en")
        )
    _warn_incomplete(report, t_src, a_src)
    return JoinResult(merged, report)


def _refuse_empty(table: pd.DataFrame, t_src: str) -> None:
    """Refuse a table with a header but no data rows (e.g. the wrong sheet of a workbook)."""
    if table.empty:
        header = table.attrs.get("dongne", {}).get("header_line")
        raise DataError(
            f"{t_src} has a header{f' (line {header})' if header else ''} but no data rows. "
            "Nothing was joined. Fix: pass the file that holds the data (for a workbook, the "
            "right sheet=, command line --sheet)."
        )


def _translated(
    t_codes: pd.Series,
    a_codes: pd.Series,
    crosswalk: pd.DataFrame | str | os.PathLike[str] | None,
    crosswalk_from: str | None,
    crosswalk_to: str | None,
) -> tuple[pd.Series, dict[str, Any] | None]:
    """The table's codes translated by the crosswalk (codes absent from it kept), and its info."""
    if crosswalk is None:
        return t_codes.copy(), None
    mapping, cw_info = _load_crosswalk(crosswalk, crosswalk_from, crosswalk_to, t_codes, a_codes)
    translated = t_codes.map(lambda c: mapping.get(c, c) if isinstance(c, str) else c)
    cw_info["translated"] = int(((translated != t_codes) & t_codes.notna()).sum())
    return translated.astype(object), cw_info


def _warn_incomplete(report: MatchReport, t_src: str, a_src: str) -> None:
    """The UnmatchedWarning of a join below ``min_match`` or with anything left unmatched."""
    if report.below_min_match:
        warnings.warn(
            f"join of {t_src} to {a_src}: {report.low_match_warning()}",
            UnmatchedWarning,
            stacklevel=user_stacklevel(),
        )
    elif not report.complete:
        warnings.warn(
            f"join of {t_src} to {a_src}: {len(report.unmatched_areas)} area(s) without data "
            f"and {len(report.unmatched_rows)} table row(s) not placed; nothing was dropped — "
            "see result.report.summary() for the list and likely fixes.",
            UnmatchedWarning,
            stacklevel=user_stacklevel(),
        )


def _check_area_codes(areas: pd.DataFrame, a_codes: pd.Series, key: str, a_src: str) -> None:
    """Refuse areas without a code or sharing one (each area needs its own code)."""
    missing_area = areas.index[a_codes.isna()]
    if len(missing_area):
        raise CodeMatchError(
            f"{a_src}, column {key!r}: areas without a code on "
            f"{row_references(areas, missing_area, with_source=False)}. Fix: fill in the codes; "
            "every area needs one."
        )
    dup_area = a_codes[a_codes.duplicated(keep=False)]
    if len(dup_area):
        raise CodeMatchError(
            f"{a_src}, column {key!r}: codes {format_rows(sorted(set(dup_area)))} occur on "
            f"several areas ({row_references(areas, dup_area.index, with_source=False)}). Fix: "
            "dissolve the areas "
            "by code (areas.dissolve(by=key)) or use a unique code column."
        )


def _landing_groups(
    table: pd.DataFrame,
    t_codes: pd.Series,
    raw_codes: pd.Series,
    combine: object,
    t_src: str,
    table_key: str,
) -> tuple[dict[Any, pd.Index], list[dict[str, Any]]]:
    """Rows landing on one area code (duplicates in the table, or merges by the crosswalk).

    Returns the groups by code and one record per group for the report; without ``combine``
    such rows are refused.
    """
    present = t_codes.dropna()
    groups = present.groupby(present).groups
    multi = {c: rows for c, rows in groups.items() if len(rows) > 1}
    dup_records = []
    for code, rows in multi.items():
        raw = raw_codes.loc[rows]
        how = "crosswalk merge" if raw.nunique() > 1 else "duplicated code"
        dup_records.append(
            {
                "code": code,
                "rows": [int(p) + 1 for p in table.index.get_indexer(rows)],
                "lines": file_lines(table, rows),
                "how": how,
            }
        )
    if multi and combine is None:
        shown = "; ".join(
            f"{d['code']} <- {row_references(table, multi[d['code']], with_source=False)} "
            f"({d['how']})"
            for d in dup_records[:10]
        )
        raise CodeMatchError(
            f"{t_src}, column {table_key!r}: several rows land on the same area code: {shown}. "
            "Nothing was joined. Fix: aggregate the table first, or pass combine='sum' "
            "(command line --combine sum) for counts, with rates={'pct': "
            "'numerator/denominator*100'} (--rate pct=numerator/denominator*100) for the "
            "rates, which are recomputed from summed counts, never summed."
        )
    return multi, dup_records


def _merge(
    areas: pd.DataFrame, a_codes: pd.Series, data: pd.DataFrame, suffix: str
) -> pd.DataFrame:
    """Every area, in its order, with the table's columns (``data`` keyed by ``__code``)."""
    collisions = [c for c in data.columns if c in areas.columns and c != "__code"]
    data = data.rename(columns={c: f"{c}{suffix}" for c in collisions})
    data = data.rename(columns={"__code": "__dongne_code"})
    frame = areas.copy()
    frame["__dongne_code"] = a_codes.to_numpy()
    merged = frame.merge(data, on="__dongne_code", how="left", validate="one_to_one")
    merged.index = areas.index
    merged = merged.drop(columns="__dongne_code")
    if isinstance(areas, gpd.GeoDataFrame):
        merged = gpd.GeoDataFrame(merged, geometry=areas.geometry.name, crs=areas.crs)
    return merged


def _unmatched(
    areas: pd.DataFrame,
    table: pd.DataFrame,
    a_codes: pd.Series,
    t_codes: pd.Series,
    raw_codes: pd.Series,
    masks: tuple[pd.Series, pd.Series, pd.Series],
    names: tuple[str | None, str | None],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The report's tables: areas without data, rows not placed, names that differ.

    ``masks`` are (areas without data, table rows not placed, table rows placed under their
    own code); ``names`` the name columns of the areas and of the table.
    """
    no_data, not_placed, same = masks
    a_name, t_name = names
    unmatched_areas = pd.DataFrame(
        {
            "code": a_codes[no_data].to_numpy(),
            "name": (
                areas.loc[no_data, a_name].to_numpy() if a_name else [None] * int(no_data.sum())
            ),
        }
    )
    rows = table.index[not_placed]
    reasons = [
        "missing code" if pd.isna(c) else "code not among the areas" for c in t_codes[not_placed]
    ]
    unmatched_rows = pd.DataFrame(
        {
            "row": [int(p) + 1 for p in table.index.get_indexer(rows)],
            "line": file_lines(table, rows),
            "code": raw_codes[not_placed].to_numpy(),
            "name": table.loc[not_placed, t_name].to_numpy() if t_name else [None] * len(rows),
            "reason": reasons,
        }
    )
    mismatches = pd.DataFrame(columns=["code", "area_name", "table_name"])
    if a_name and t_name:
        an = dict(zip(a_codes, _clean_names(areas[a_name]), strict=True))
        rec = [
            {"code": c, "area_name": an[c], "table_name": n}
            for c, n in zip(t_codes[same], _clean_names(table.loc[same, t_name]), strict=True)
            if an[c] != n
        ]
        mismatches = pd.DataFrame(rec, columns=["code", "area_name", "table_name"])
    return unmatched_areas, unmatched_rows, mismatches


def _raise_nothing_placed(
    t_src: str,
    table_key: str,
    a_src: str,
    key: str,
    systems: dict[str, str],
    t_codes: pd.Series,
    a_codes: pd.Series,
) -> None:
    """Refuse a join that places no row, saying which code systems the two sides use."""
    coarser = ""
    present = set(t_codes.dropna().astype(str))
    if present and all(a_codes.str.startswith(c).any() for c in present):
        coarser = (
            " Every table code is a prefix of area codes: the table is at a coarser level "
            "(e.g. gu) than the areas (e.g. dong); join it to coarser boundaries."
        )
    gu_pair = ""
    if systems["areas"].startswith("5-digit") and systems["table"].startswith("5-digit"):
        gu_pair = (
            " Both sides have 5-digit gu codes: one probably uses KOSTAT codes (종로구 11010), "
            "the other MOIS codes (종로구 11110)."
        )
    raise CodeMatchError(
        f"{t_src} [{table_key}] -> {a_src} [{key}]: no table row was placed on an area "
        f"(0 of {len(t_codes)}). The areas use {systems['areas']}; the table uses "
        f"{systems['table']}.{coarser}{gu_pair} Nothing was joined. Fix: pass the table's "
        "column that holds the areas' codes as table_key= (command line --table-key), or a "
        "crosswalk= (--crosswalk) that maps the table's codes to the areas' codes."
    )


def _hints(report: MatchReport, areas: pd.DataFrame, table_codes: pd.Series) -> list[str]:
    hints: list[str] = []
    ua, ur = report.unmatched_areas, report.unmatched_rows
    sys_a, sys_t = report.code_systems["areas"], report.code_systems["table"]
    poor = report.matched_rows < 0.5 * report.n_table_rows or len(report.name_mismatches) > 0
    if sys_a.startswith("5-digit") and sys_t.startswith("5-digit") and poor:
        hints.append(
            "both sides have 5-digit gu codes but few match or names differ: one side probably "
            "uses KOSTAT codes (종로구 11010) and the other MOIS codes (종로구 11110) — some "
            "codes exist in both systems for different gu. The bundled "
            "dongne.datasets.seoul_gu() carries both (gu_code, gu_code_mois)."
        )
    n_mis = len(report.name_mismatches)
    if n_mis and n_mis >= max(3, 0.2 * report.matched_rows):
        hints.append(
            f"{n_mis} of {report.matched_rows} matched codes carry different names on the two "
            "sides: the codes may come from different code systems or years, so these matches "
            "may be wrong. Check report.name_mismatches before using the result."
        )
    if not ur.empty and not ua.empty:
        same = ur.merge(ua, on="name", suffixes=("_table", "_area")).dropna(subset=["name"])
        for r in same.itertuples(index=False):
            if pd.isna(r.code_table):
                hints.append(
                    f"a table row without a code is named '{r.name}', like area {r.code_area}: "
                    "fill in its code."
                )
                continue
            hints.append(
                f"table code {r.code_table} and area code {r.code_area} share the name "
                f"'{r.name}': probably renumbered between code vintages; a crosswalk fixes it."
            )
    if not ur.empty:
        t_codes = set(ur["code"].dropna().astype(str))
        a_codes = normalise_codes(areas[report.areas_key])
        prefixes = {c for c in t_codes if a_codes.str.startswith(c).any()}
        if prefixes and len(prefixes) == len(t_codes):
            hints.append(
                "every unplaced table code is a prefix of area codes: the table is at a coarser "
                "level (e.g. gu) than the areas (e.g. dong); join it to coarser boundaries or "
                "dissolve the areas first."
            )
        vintage = recognise_vintage(
            ur["code"].dropna(), table_codes, normalise_codes(areas[report.areas_key])
        )
        if report.matched_rows and len(ur) <= max(50, 0.1 * report.n_table_rows):
            hints.append(
                "a few codes did not match while most did: typical of codes from another year "
                "(dongs split, merged or renumbered). Pass crosswalk=... to translate them."
            )
        if vintage is not None:
            report.vintage = vintage.to_dict()
            hints.append(vintage.hint())
    return hints
