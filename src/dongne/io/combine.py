"""Combining table rows that land on one area, column by column, so that no rate is summed.

When a crosswalk merges two old areas into one (2010 혜화동 + 명륜3가동 → 2013 혜화동), or a table
repeats a code, several rows must become one. Counts add up; a percentage does not
(7.19 % + 10.02 % is not the share of the merged area, 656 / 7,927 = 8.28 % is). Each column is
therefore given a *kind* — declared by the user or inferred by :func:`column_kinds` — and
combined by its kind:

* ``count`` — by the ``combine`` rule (``"sum"`` for counts);
* ``rate`` and ``mean`` — recomputed from a numerator and a denominator that are summed
  (``rates=``), never summed or averaged; without a formula the join is refused;
* ``id`` and ``text`` — kept when every merged row carries the same value; otherwise left
  missing and listed, or the first row's value where ``"first"`` is declared for the column.
  Text is never concatenated.

References
----------
.. [1] Office for National Statistics (2023). *Statistical geographies: best-fit lookups and
   aggregation*. Rates for aggregated areas are recomputed from summed numerators and
   denominators, not averaged.
.. [2] Statistics Korea (KOSTAT). *한국행정구역분류 (Korean Administrative District
   Classification)*: code changes from merged and renamed dongs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from dongne.errors import CodeMatchError, SpecificationError

__all__ = ["KINDS", "RateSpec", "check_rates", "column_kinds", "combine_rows", "parse_rates"]

ColumnKind = Literal["count", "rate", "mean", "id", "text"]
CombineRule = Literal["sum", "mean", "min", "max", "first"]

#: The kinds a column can be declared as (``kinds={"column": kind}``).
KINDS: tuple[str, ...] = ("count", "rate", "mean", "id", "text")

_RATE_TOKENS = {
    "pct", "percent", "percentage", "rate", "rates", "ratio", "share", "prop", "proportion",
    "per", "density", "permille",
}  # fmt: skip
_RATE_SUBSTRINGS = ("%", "비율", "율", "률", "비중", "밀도", "천명당", "만명당", "인당")
_MEAN_TOKENS = {"mean", "avg", "average", "median", "score"}
_MEAN_SUBSTRINGS = ("평균", "중위", "중앙값", "지수", "점수")
_ID_TOKENS = {"id", "code", "cd", "key", "no", "year", "yr"}
_ID_SUBSTRINGS = ("코드", "번호", "연도", "년도")


def _tokens(name: str) -> set[str]:
    low = name.lower()
    words = set(re.split(r"[^0-9a-z]+", low)) - {""}
    # "per1000", "per_100k": a per-something rate.
    return words | {"per" for w in words if re.fullmatch(r"per\d+k?", w)}


def _kind_from_name(name: str) -> tuple[ColumnKind, str] | None:
    words, low = _tokens(name), name.lower()
    if words & _ID_TOKENS or any(s in low for s in _ID_SUBSTRINGS):
        return "id", "its name says code, id or year"
    if words & _MEAN_TOKENS or any(s in low for s in _MEAN_SUBSTRINGS):
        return "mean", "its name says mean, median, index or score"
    if words & _RATE_TOKENS or any(s in low for s in _RATE_SUBSTRINGS):
        return "rate", "its name says percentage, rate, ratio, share, per or density"
    return None


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _infer_kind(name: str, values: pd.Series) -> tuple[ColumnKind, str]:
    if not _is_numeric(values):
        by_name = _kind_from_name(str(name))
        if by_name and by_name[0] == "id":
            return by_name
        return "text", "its values are text"
    by_name = _kind_from_name(str(name))
    if by_name:
        return by_name
    v = values.dropna().to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if len(v) and v.min() >= 0 and v.max() <= 100 and not np.all(v == np.round(v)):
        return "rate", "its values all lie between 0 and 100 and have decimals, like percentages"
    return "count", "integer values or values above 100"


def column_kinds(
    table: pd.DataFrame, kinds: Mapping[str, str] | None = None
) -> dict[str, tuple[str, str]]:
    """The kind of every column of ``table`` for combining rows, and why.

    The kind decides how rows that land on one area are combined (see :mod:`dongne.io.combine`).
    A declared kind always wins. Otherwise, in this order:

    1. **id** — the name contains a token ``id``, ``code``, ``cd``, ``key``, ``no``, ``year`` or
       ``yr`` (split at ``_``, spaces and punctuation), or ``코드``, ``번호``, ``연도``, ``년도``.
    2. **text** — the values are not numbers (booleans count as text).
    3. **mean** — the name contains ``mean``, ``avg``, ``average``, ``median``, ``score`` or
       ``평균``, ``중위``, ``중앙값``, ``지수``, ``점수``.
    4. **rate** — the name contains ``pct``, ``percent``, ``rate``, ``ratio``, ``share``,
       ``prop``, ``proportion``, ``per`` (``per_1000``, ``per100k``), ``density``, ``%`` or
       ``비율``, ``율``, ``률``, ``비중``, ``밀도``, ``천명당``, ``만명당``, ``인당``.
    5. **rate** by value — every non-missing value lies in [0, 100] *and* at least one value has
       a fractional part (the shape of a percentage or a proportion). Integer columns are never
       rate-like by value, so small counts stay counts. The rule errs towards *rate*: a column
       of areas in km² between 0.5 and 24 is called a rate, which makes a combining join
       refuse (with the fix) rather than sum something that cannot be summed; declare it
       ``"count"`` when it really adds up.
    6. **count** — everything else.

    Parameters
    ----------
    table : DataFrame
        The table.
    kinds : mapping, optional
        Declared kinds, ``{"column": "count" | "rate" | "mean" | "id" | "text"}``.

    Returns
    -------
    dict
        ``{column: (kind, reason)}`` for every column, in table order.

    Raises
    ------
    SpecificationError
        A declared kind is unknown or names a column the table does not have.

    Examples
    --------
    >>> t = pd.DataFrame({"dong_code": ["1", "2"], "households": [4882, 3045],
    ...                   "basement_pct": [7.19, 10.02], "area_km2": [1.5, 2.25]})
    >>> {c: k for c, (k, _) in column_kinds(t, kinds={"area_km2": "count"}).items()}
    {'dong_code': 'id', 'households': 'count', 'basement_pct': 'rate', 'area_km2': 'count'}
    """
    declared = dict(kinds or {})
    bad = {c: k for c, k in declared.items() if k not in KINDS}
    if bad:
        raise SpecificationError(
            f"kinds: {', '.join(f'{c}={k!r}' for c, k in bad.items())} — a kind is one of "
            f"{', '.join(KINDS)}. Fix: kinds={{'column': 'count'}} (command line "
            "--column-kind column=count)."
        )
    unknown = [c for c in declared if c not in table.columns]
    if unknown:
        raise SpecificationError(
            f"kinds names column(s) {', '.join(map(repr, unknown))} that the table does not "
            f"have. Columns: {', '.join(map(str, table.columns))}. Fix: correct the names in "
            "kinds= (command line --column-kind)."
        )
    return {
        c: (declared[c], "declared") if c in declared else _infer_kind(str(c), table[c])
        for c in table.columns
    }


@dataclass(frozen=True)
class RateSpec:
    """A rate recomputed as ``numerator / denominator × scale`` over the rows it combines.

    Attributes
    ----------
    column, numerator, denominator : str
        The rate column and the two count columns it is made of.
    scale : float
        100 for a percentage, 1,000 for a rate per thousand, 1 for a proportion.
    """

    column: str
    numerator: str
    denominator: str
    scale: float = 1.0

    def __str__(self) -> str:
        tail = "" if self.scale == 1 else f"*{self.scale:g}"
        return f"{self.column}={self.numerator}/{self.denominator}{tail}"


_SPEC = re.compile(r"^\s*(?P<num>[^/]+?)\s*/\s*(?P<den>[^*]+?)\s*(?:\*\s*(?P<scale>[^*\s]+))?\s*$")


def _parse_one(column: str, spec: object) -> RateSpec:
    fix = (
        "Fix: give rates={'pct': ('numerator', 'denominator', 100)} or 'numerator/denominator*100' "
        "(command line --rate pct=numerator/denominator*100)."
    )
    if isinstance(spec, str):
        m = _SPEC.match(spec)
        scale: object = m and (m.group("scale") or 1)
        parts = (m.group("num"), m.group("den"), scale) if m else None
    elif isinstance(spec, (tuple, list)) and len(spec) in (2, 3):
        parts = (spec[0], spec[1], spec[2] if len(spec) == 3 else 1)
    else:
        parts = None
    try:
        value = float(parts[2]) if parts else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if parts is None or not math.isfinite(value) or value <= 0:
        raise SpecificationError(f"rate {column!r}: cannot read {spec!r} as a formula. {fix}")
    return RateSpec(str(column).strip(), str(parts[0]).strip(), str(parts[1]).strip(), value)


def parse_rates(rates: Mapping[str, object] | Iterable[str] | None) -> dict[str, RateSpec]:
    """Read rate formulas: a mapping ``{column: (num, den[, scale]) | "num/den*scale"}`` or
    strings ``"column=num/den*scale"`` (as the command line's repeatable ``--rate``).

    Examples
    --------
    >>> parse_rates(["pct=basement_households/households*100"])["pct"].scale
    100.0
    >>> str(parse_rates({"pct": ("basement_households", "households", 100)})["pct"])
    'pct=basement_households/households*100'
    """
    if rates is None:
        return {}
    if isinstance(rates, str):
        rates = [rates]
    if isinstance(rates, Mapping):
        items = list(rates.items())
    else:
        items = []
        for text in rates:
            column, sep, spec = str(text).partition("=")
            if not sep:
                raise SpecificationError(
                    f"rate {text!r}: expected column=numerator/denominator*scale. Fix: e.g. "
                    "--rate basement_household_pct=basement_households/households*100."
                )
            items.append((column.strip(), spec))
    return {str(c).strip(): _parse_one(str(c), s) for c, s in items}


def _decimals(values: np.ndarray) -> int:
    for d in range(7):
        if np.allclose(values, np.round(values, d), rtol=0, atol=1e-9):
            return d
    return 6


def check_rates(
    data: pd.DataFrame, specs: Mapping[str, RateSpec], describe: Callable[[pd.Index], str]
) -> list[str]:
    """Check that each formula names numeric columns and reproduces the table's own values.

    A formula that disagrees (by more than one unit in the last published decimal) with most
    rows where all three values are known is wrong — a swapped numerator, a scale of 1 instead
    of 100 — and is refused. When only a few rows disagree, they are returned as notes for the
    match report (published tables carry occasional errors).

    Raises
    ------
    SpecificationError
        A column is missing or not numeric, or the formula disagrees with most rows.
    """
    notes = []
    for spec in specs.values():
        for role, col in (
            ("rate", spec.column),
            ("numerator", spec.numerator),
            ("denominator", spec.denominator),
        ):
            if col not in data.columns:
                raise SpecificationError(
                    f"rate {spec}: the {role} column {col!r} is not in the table. Columns: "
                    f"{', '.join(map(str, data.columns))}. Fix: correct rates= (command line "
                    "--rate)."
                )
            if not _is_numeric(data[col]):
                raise SpecificationError(
                    f"rate {spec}: the {role} column {col!r} is not numeric. Fix: name number "
                    "columns in rates= (command line --rate)."
                )
        pub = data[spec.column].astype(float)
        den = data[spec.denominator].astype(float)
        calc = data[spec.numerator].astype(float) / den.where(den != 0) * spec.scale
        known = pub.notna() & calc.notna()
        if not known.any():
            continue
        tol = 10.0 ** -_decimals(pub[known].to_numpy()) + 1e-9
        off = known & ((pub - calc).abs() > tol)
        if not off.any():
            continue
        first = off[off].index[0]
        example = f"{describe(pd.Index([first]))}: table {pub[first]:g}, formula {calc[first]:.6g}"
        if off.sum() > known.sum() / 2:
            raise SpecificationError(
                f"rate {spec} does not reproduce the table's own {spec.column!r} on "
                f"{int(off.sum())} of {int(known.sum())} rows (e.g. {example}). Fix: check the "
                "numerator, denominator and scale in rates= (command line --rate)."
            )
        notes.append(
            f"rate {spec}: {int(off.sum())} of {int(known.sum())} rows' published values "
            f"differ from the formula by more than the rounding (e.g. {example})."
        )
    return notes


def _sum_all(values: pd.Series) -> Any:
    """Sum, or missing when any part is missing (a partial sum would undercount)."""
    return values.sum() if values.notna().all() else math.nan


_RULES: dict[str, Callable[[pd.Series], Any]] = {
    "sum": _sum_all,
    "mean": lambda s: s.mean(),
    "min": lambda s: s.min(),
    "max": lambda s: s.max(),
    "first": lambda s: s.iloc[0],
}


def combine_rows(
    data: pd.DataFrame,
    multi: Mapping[str, pd.Index],
    raw_codes: pd.Series,
    combine: CombineRule | Mapping[str, CombineRule],
    specs: Mapping[str, RateSpec],
    kinds: Mapping[str, str] | None,
    source: str,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Combine the rows of each code in ``multi`` into one row, column by column.

    Parameters
    ----------
    data : DataFrame
        Table rows with their (translated) area code in ``__code``.
    multi : mapping
        Area code → index labels of the rows that land on it (two or more).
    raw_codes : Series
        The table's own codes, for the report.
    combine : rule or mapping
        One rule for every count column, or a rule per column; the key ``"*"`` gives the rule
        for the columns not named (without it they are left missing).
    specs : mapping
        Rate formulas (:func:`parse_rates`).
    kinds : mapping, optional
        Declared column kinds (:func:`column_kinds`).
    source : str
        The table's name, for messages.

    Returns
    -------
    (DataFrame, list of dict)
        The rows, one per code, and per combined code: ``code``, ``from_codes``,
        ``recomputed`` (rate formulas applied) and ``missing_columns`` (left missing: no rule,
        differing text, or a missing part of a sum).

    Raises
    ------
    CodeMatchError
        Rate, share or mean columns without a formula, or a per-column ``"sum"``/``"mean"`` on
        one of them; the message lists them with the reason and the fix.
    SpecificationError
        An unknown rule, or a rule for a column the table does not have.
    """
    rules = dict(combine) if isinstance(combine, Mapping) else None
    default = rules.pop("*", None) if rules is not None else combine
    for rule in [*(rules or {}).values(), *([default] if default is not None else [])]:
        if rule not in _RULES:
            raise SpecificationError(
                f"combine rule {rule!r} is not one of {', '.join(_RULES)}. Fix: e.g. "
                "combine='sum' (command line --combine sum)."
            )
    columns = [c for c in data.columns if c != "__code"]
    if rules is not None:
        unknown = [c for c in rules if c not in columns]
        if unknown:
            raise SpecificationError(
                f"combine names columns not in the table: {', '.join(unknown)}. Fix: use the "
                f"table's columns ({', '.join(map(str, columns))})."
            )
    kind = column_kinds(data[columns], kinds)
    refused = []
    for col in columns:
        k = kind[col][0]
        if k not in ("rate", "mean") or col in specs:
            continue
        named = rules.get(col) if rules is not None else None
        if named in ("sum", "mean") or (named is None and default is not None):
            refused.append(col)
    if refused:
        code, rows = next(iter(multi.items()))
        parts = " + ".join(f"{v:g}" for v in data.loc[rows, refused[0]] if pd.notna(v))
        listed = "; ".join(f"{c!r} ({kind[c][0]}: {kind[c][1]})" for c in refused)
        raise CodeMatchError(
            f"{source}: several rows land on one area ({len(multi)} area(s), e.g. {code}) and "
            f"these columns look like rates, shares or means: {listed}. Adding or averaging "
            f"them gives a wrong number (area {code}, {refused[0]!r}: {parts}). Nothing was "
            "joined. Fix: recompute each from summed counts, e.g. rates={'col': ('numerator', "
            "'denominator', 100)} (command line --rate col=numerator/denominator*100), declare "
            "a column that really adds up with kinds={'col': 'count'} (--column-kind "
            "col=count), or drop the column."
        )
    singles = data[~data["__code"].isin(list(multi))]
    merged_rows, records = [], []
    for code, rows in multi.items():
        part = data.loc[rows]
        row: dict[str, Any] = {"__code": code}
        missing, recomputed = [], []
        for col in columns:
            k = kind[col][0]
            rule = (rules or {}).get(col, default)
            values = part[col]
            if col in specs:
                s = specs[col]
                den = _sum_all(part[s.denominator])
                value = _sum_all(part[s.numerator]) / den * s.scale if den else math.nan
                recomputed.append(str(s))
            elif k in ("id", "text"):
                same = values.nunique(dropna=False) == 1
                value = values.iloc[0] if same or rule == "first" else None
            elif rule is None:
                value = None
            else:
                value = _RULES[rule](values)
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                value = math.nan if _is_numeric(values) else None
                missing.append(col)
            row[col] = value
        merged_rows.append(row)
        records.append(
            {
                "code": code,
                "from_codes": list(dict.fromkeys(raw_codes.loc[rows].astype(str))),
                "recomputed": recomputed,
                "missing_columns": missing,
            }
        )
    combined = pd.concat([singles, pd.DataFrame(merged_rows)], ignore_index=True)
    for col in columns:
        if _is_numeric(data[col]) and not _is_numeric(combined[col]):
            combined[col] = pd.to_numeric(combined[col])
    return combined, records
