"""Area codes: normalising their spelling and recognising Korean code systems.

The same code arrives as ``1101053`` (an integer column), ``"1101053"``, ``"1101053.0"`` (an
integer column with a gap, read as float), ``"'1101053"`` (KOSIS/Excel text marker) or
``" 1101053 "``; identifiers that start with zero lose it when a spreadsheet reads them as
numbers (``"01001"`` → ``1001``). :func:`normalise_codes` turns all of these into one canonical
text form. :func:`describe_code_system` recognises the Korean systems by length so that a
mismatch between, say, 7-digit KOSTAT dong codes and 10-digit MOIS codes is explained instead
of reported as "0 matched".
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

__all__ = ["describe_code_system", "normalise_codes"]

_FLOAT_INT = re.compile(r"^([+-]?\d+)\.0+$")

#: Korean administrative code systems recognised by length (digits).
KOREAN_CODE_SYSTEMS = {
    2: "2-digit province/metropolitan-city code (시도)",
    5: "5-digit gu/si/gun code (시군구; KOSTAT and MOIS 5-digit codes differ, e.g. 종로구 = "
    "11010 in KOSTAT, 11110 in MOIS)",
    7: "7-digit KOSTAT administrative-dong code (행정동, census up to 2015)",
    8: "8-digit administrative-dong code (KOSTAT from 2016, or MOIS without the 2-digit ri part)",
    10: "10-digit MOIS code (행정기관코드 / 법정동코드)",
}


def _canonical(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return pd.NA
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value).strip().removeprefix("'").strip()
    if not text or text in ("nan", "NaN", "None", "NULL", "-"):
        return pd.NA
    m = _FLOAT_INT.match(text)
    return m.group(1) if m else text


def normalise_codes(values: pd.Series | list | np.ndarray) -> pd.Series:
    """Return codes as canonical text: stripped, no apostrophe, no ``.0``, missing as ``<NA>``.

    Parameters
    ----------
    values : array-like
        Codes as integers, floats, or text.

    Returns
    -------
    pandas.Series of object
        Canonical text codes (same index as ``values`` when it is a Series).

    Examples
    --------
    >>> normalise_codes([1101053, "1101053.0", "'1101053", " 1101053 ", None]).tolist()
    ['1101053', '1101053', '1101053', '1101053', <NA>]
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values))
    return pd.Series([_canonical(v) for v in s.to_numpy(dtype=object)], index=s.index, dtype=object)


def code_lengths(codes: pd.Series) -> Counter:
    """Count codes by length (digits-only codes) — used to explain code systems."""
    present = codes.dropna().astype(str)
    return Counter(len(c) for c in present if c.isdigit())


def describe_code_system(codes: pd.Series) -> str:
    """Describe the code system a column of canonical codes seems to use, in plain words.

    Examples
    --------
    >>> describe_code_system(pd.Series(["1101053", "1101054"]))
    '7-digit KOSTAT administrative-dong code (행정동, census up to 2015), e.g. 1101053'
    """
    present = codes.dropna().astype(str)
    if present.empty:
        return "no codes"
    example = present.iloc[0]
    if not present.str.isdigit().all():
        return f"text identifiers, e.g. {example}"
    lengths = code_lengths(present)
    if len(lengths) > 1:
        spread = ", ".join(f"{n}×{k} digits" for k, n in sorted(lengths.items()))
        return f"digit codes of mixed length ({spread}), e.g. {example}"
    width = next(iter(lengths))
    label = KOREAN_CODE_SYSTEMS.get(width, f"{width}-digit codes")
    return f"{label}, e.g. {example}"


def pad_to_width(codes: pd.Series, width: int) -> pd.Series:
    """Left-pad all-digit codes with zeros to ``width`` (restores zeros lost by spreadsheets)."""

    def pad(c: object) -> object:
        if isinstance(c, str) and c.isdigit() and len(c) < width:
            return c.zfill(width)
        return c

    return pd.Series(
        [pad(c) for c in codes.to_numpy(dtype=object)], index=codes.index, dtype=object
    )


def mois_to_8_digits(codes: pd.Series) -> pd.Series:
    """Drop the trailing ``00`` (no ri) of 10-digit MOIS codes to give 8-digit dong codes."""

    def cut(c: object) -> object:
        if isinstance(c, str) and len(c) == 10 and c.isdigit() and c.endswith("00"):
            return c[:8]
        return c

    return pd.Series(
        [cut(c) for c in codes.to_numpy(dtype=object)], index=codes.index, dtype=object
    )
