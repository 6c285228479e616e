"""Reading tables (CSV in UTF-8 or CP949, Excel, Parquet) as Korean open data publishes them."""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from dongne.errors import DataError, format_rows
from dongne.io._files import TABLE_SUFFIXES, existing_file, file_kind
from dongne.io.encoding import read_text
from dongne.io.provenance import attach

__all__ = ["NA_STRINGS", "check_counts", "file_lines", "read_table", "row_references", "source_of"]

#: Cell values read as missing. KOSIS writes "-" for "no data / not applicable".
NA_STRINGS = ("", "-", "—", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None")

# Column names that hold identifiers: kept as text so that leading zeros survive.
_CODE_NAME = re.compile(r"(code|코드|^cd_|_cd$|^id$|_id$|^id_|번호|key$)", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
# The same grammar for Arrow's RE2, whose \d is ASCII only (Python's is every Unicode digit).
_NUMBER_ASCII = r"^[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)?(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
#: The characters Python's ``str.strip()`` removes (``str.isspace``), for Arrow's utf8_trim.
_SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_SNIFF_CANDIDATES = ",\t;|"
_HEADER_SCAN_LINES = 60


def source_of(df: pd.DataFrame, default: str = "the table") -> str:
    """Return the file a frame was read from (recorded by dongne's readers), else ``default``."""
    return str(df.attrs.get("dongne", {}).get("source", default))


def file_lines(df: pd.DataFrame, labels: pd.Index | list) -> list[int | None]:
    """The 1-based file line (CSV) or sheet row (Excel) of each row label, or None.

    Rows of a table read by :func:`read_table` carry their position in the file as their label
    (a ``RangeIndex``), which survives filtering; ``attrs["dongne"]`` holds the header line and,
    when blank lines interrupt the data, the line of every data row. For any other frame (or a
    label outside the file) the line is unknown.
    """
    meta = df.attrs.get("dongne", {})
    n = meta.get("rows")
    if meta.get("format") not in ("csv", "excel") or n is None:
        return [None] * len(labels)
    first = int(meta.get("header_line", 1)) + 1
    lines = meta.get("data_lines")
    out: list[int | None] = []
    for label in labels:
        ok = isinstance(label, (int, np.integer)) and 0 <= int(label) < int(n)
        out.append(None if not ok else int(lines[label]) if lines else first + int(label))
    return out


def row_references(df: pd.DataFrame, labels: pd.Index | list, *, with_source: bool = True) -> str:
    """Name rows for a message: ``"lines 12, 13 of census.csv"`` (1-based file lines) when the
    table was read from a CSV or Excel file, else ``"data rows 11, 12 (1-based)"`` (or
    ``"features ..."`` for a layer). ``with_source=False`` leaves out the file name, for
    messages that start with it.

    Examples
    --------
    >>> row_references(pd.DataFrame({"a": [1, 2, 3]}), [0, 2])
    'data rows 1, 3 (1-based)'
    """
    labels = list(labels)
    lines = file_lines(df, labels)
    if labels and all(x is not None for x in lines):
        src = source_of(df)
        word = "row" if df.attrs["dongne"].get("format") == "excel" else "line"
        plural = "s" if len(lines) > 1 else ""
        return f"{word}{plural} {format_rows(lines)}" + (f" of {src}" if with_source else "")
    import geopandas as gpd

    pos = [int(p) + 1 for p in df.index.get_indexer(labels)]
    word = "feature" if isinstance(df, gpd.GeoDataFrame) else "data row"
    return f"{word}{'s' if len(pos) > 1 else ''} {format_rows(pos)} (1-based)"


def _first_lines(text: str, n: int) -> list[str]:
    """``text.splitlines()[:n]`` without splitting the whole text."""
    size = 4096
    while True:
        lines = text[:size].splitlines()
        if len(lines) > n or size >= len(text):
            return lines[:n]
        size *= 4


def _sniff_separator(lines: list[str]) -> str:
    sample = [ln for ln in lines if ln.strip()][:20]
    best, best_score = ",", -1
    for sep in _SNIFF_CANDIDATES:
        counts = [len(next(csv.reader([ln], delimiter=sep))) for ln in sample]
        if not counts:
            continue
        modal, freq = Counter(counts).most_common(1)[0]
        score = freq * (modal > 1) * 1000 + modal
        if score > best_score:
            best, best_score = sep, score
    return best


def _header_line(rows: list[list[str]]) -> tuple[int, int]:
    """Index of the header among the first rows and the modal field count of the data."""
    counts = [sum(1 for c in r) if any(c.strip() for c in r) else 0 for r in rows]
    modal = Counter(c for c in counts if c > 1).most_common(1)
    if not modal:
        return 0, counts[0] if counts else 0
    width = modal[0][0]
    for i, c in enumerate(counts):
        if c == width:
            return i, width
    return 0, width


def _strip_cells(s: pd.Series) -> pd.Series:
    return s.str.strip() if s.dtype == object or pd.api.types.is_string_dtype(s) else s


def _convert_column(name: str, s: pd.Series, code_columns: set[str]) -> tuple[pd.Series, str]:
    """Convert one all-text column; return it and its role (code, number, text)."""
    s = _strip_cells(s).mask(lambda v: v.isin(NA_STRINGS))
    present = s.dropna()
    if len(present) and present.str.startswith("'").all():
        # KOSIS and Excel exports prefix codes with an apostrophe to keep them as text.
        s = s.str.removeprefix("'")
        present = s.dropna()
    if name in code_columns or _CODE_NAME.search(str(name)):
        return s.astype("string").astype(object), "code"
    if len(present) == 0:
        return s.astype(float), "empty"
    if not present.str.fullmatch(_NUMBER).all():
        return s.astype(object), "text"
    digits = present.str.replace(",", "", regex=False)
    if (digits.str.len() > 1).any() and digits.str.match(r"^0\d").any():
        return s.astype(object), "code"  # zero-padded identifiers, not quantities
    try:
        values = pd.to_numeric(s.str.replace(",", "", regex=False), errors="raise")
    except ValueError:  # the grammar's corners that are no number: "+", "e5", "١٢"
        return s.astype(object), "text"
    if (
        values.notna().all()
        and (values == np.floor(values)).all()
        and not digits.str.contains(r"[.eE]").any()
    ):
        if _beyond_int64(values):
            return s.astype(object), "code"
        return values.astype(np.int64), "number"
    return values.astype(float), "number"


def _beyond_int64(values: pd.Series) -> bool:
    """Whether integers parsed by :func:`pandas.to_numeric` do not fit int64 (it returns
    uint64 or Python ints for them): such a column is kept as written, as identifiers
    (before, 9223372036854775808 became -9223372036854775808 and 20 digits raised
    ``OverflowError``)."""
    kind = values.dtype.kind
    return kind not in "iu" or (kind == "u" and bool((values > np.iinfo(np.int64).max).any()))


def _convert_column_vectorised(
    name: str, s: pd.Series, code_columns: set[str]
) -> tuple[pd.Series, str] | None:
    """:func:`_convert_column` as whole-column Arrow operations, or ``None`` for a column
    it cannot convert identically (missing cells already, cells that are not text, numbers
    in non-ASCII digits): those take the cell-by-cell path.

    The decisions and the numbers are the same: a cell is stripped of exactly the
    characters ``str.strip()`` removes (:data:`_SPACES`), the number grammar is
    :data:`_NUMBER` with ASCII digits (a cell that fails it in Arrow fails it in Python too
    unless it holds non-ASCII characters: those are checked by Python), and numbers are
    parsed by Arrow as Python's ``float()`` and ``int()`` parse them (correctly rounded;
    what Arrow does not parse goes to :func:`pandas.to_numeric`, as before).
    ``tests/test_tables.py`` compares both paths on random columns of the cells Korean
    tables hold.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    values = s.array
    try:
        if hasattr(values, "__arrow_array__"):
            arr = values.__arrow_array__()
        else:
            arr = pa.array(np.asarray(values, dtype=object), type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None  # cells that are not text
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    if arr.null_count:
        return None
    arr = pc.utf8_trim(arr, characters=_SPACES)
    missing = pc.is_in(arr, value_set=pa.array(NA_STRINGS, type=arr.type))
    missing_np = missing.to_numpy(zero_copy_only=False)
    present = arr.filter(pc.invert(missing))
    if len(present) and pc.all(pc.starts_with(present, "'")).as_py():
        # KOSIS and Excel exports prefix codes with an apostrophe to keep them as text.
        arr = pc.utf8_slice_codeunits(arr, 1)
        present = arr.filter(pc.invert(missing))

    def cells(fill: object) -> pd.Series:
        out = arr.to_numpy(zero_copy_only=False).astype(object)
        out[missing_np] = fill
        return pd.Series(out, index=s.index, name=s.name, dtype=object)

    if name in code_columns or _CODE_NAME.search(str(name)):
        return cells(pd.NA), "code"
    if len(present) == 0:
        return pd.Series(np.nan, index=s.index, name=s.name, dtype=float), "empty"
    numeric = pc.match_substring_regex(present, _NUMBER_ASCII)
    if not pc.all(numeric).as_py():
        failed = present.filter(pc.invert(numeric))
        if not pc.any(pc.string_is_ascii(failed)).as_py():
            # only cells with non-ASCII characters failed: Python's \d takes other digits
            if all(_NUMBER.fullmatch(cell) for cell in failed.to_pylist()):
                return None
        return cells(np.nan), "text"
    digits = pc.replace_substring(present, ",", "")
    if pc.any(pc.match_substring_regex(digits, "^0[0-9]")).as_py():
        return cells(np.nan), "code"  # zero-padded identifiers, not quantities
    plain = pc.if_else(missing, pa.scalar(None, arr.type), pc.replace_substring(arr, ",", ""))
    whole = not missing_np.any() and not pc.any(pc.match_substring_regex(digits, "[.eE]")).as_py()
    try:  # Arrow parses as Python's float() does (correctly rounded); int64 exactly
        number = pc.cast(plain, pa.int64() if whole else pa.float64())
    except pa.ArrowInvalid:  # "+5" for int64, a sign alone, integers beyond int64
        plain_np = plain.to_numpy(zero_copy_only=False).astype(object)
        plain_np[missing_np] = np.nan
        try:
            values = pd.to_numeric(pd.Series(plain_np, index=s.index, name=s.name))
        except ValueError:  # the grammar's corners that are no number: "+", "e5"
            return cells(np.nan), "text"
        if values.notna().all() and (values == np.floor(values)).all() and whole:
            if _beyond_int64(values):
                return cells(np.nan), "code"
            return values.astype(np.int64), "number"
        return values.astype(float), "number"
    dtype = np.int64 if whole else float
    return pd.Series(number.to_numpy(zero_copy_only=False), index=s.index, name=s.name,
                     dtype=dtype), "number"  # fmt: skip


def _finish(
    raw: pd.DataFrame, path: Path, fmt: str, code_columns: set[str], extra: dict
) -> pd.DataFrame:
    columns = [str(c).strip() for c in raw.columns]
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise DataError(
            f"{path}: the header repeats column name(s) {', '.join(dupes)}. "
            "Fix: rename the columns so each is unique."
        )
    raw.columns = columns
    converted, roles = {}, {}
    for col in columns:
        done = _convert_column_vectorised(col, raw[col], code_columns)
        if done is None:
            done = _convert_column(col, raw[col].astype(object), code_columns)
        converted[col], roles[col] = done
    df = pd.DataFrame(converted, index=pd.RangeIndex(len(raw)))
    return attach(
        df,
        {
            "source": str(path),
            "format": fmt,
            "rows": len(df),
            "code_columns": [c for c, r in roles.items() if r == "code"],
            "numeric_columns": [c for c, r in roles.items() if r == "number"],
            **extra,
        },
    )


def read_table(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    title_lines: int | Literal["auto"] | None = None,
    sep: str | None = None,
    sheet: str | int | None = None,
    code_columns: list[str] | tuple[str, ...] = (),
) -> pd.DataFrame:
    """Read a CSV, Excel or Parquet table, keeping Korean text, codes and numbers right.

    Parameters
    ----------
    path : path-like
        ``.csv``/``.tsv``/``.txt``, ``.xlsx`` or ``.parquet``.
    encoding : str, optional
        Text encoding of a CSV. By default it is detected: a byte-order mark, else UTF-8 if the
        whole file decodes strictly, else CP949 (which includes EUC-KR). ``"euc-kr"`` and
        ``"ms949"`` are read as CP949.
    title_lines : int, "auto" or None
        Lines above the header to skip (KOSIS downloads start with a title line and a blank
        line). ``"auto"`` skips every line before the first line that has as many fields as
        the data rows. ``None`` (default) skips nothing but raises a clear error when the file
        visibly starts with a title.
    sep : str, optional
        Field separator of a CSV; sniffed among ``, \\t ; |`` by default.
    sheet : str or int, optional
        Excel sheet name or position; required when the workbook has several sheets.
    code_columns : sequence of str
        Columns to keep as text even if they look numeric. Columns whose name contains
        ``code``, ``코드``, ``번호``, ``id`` or ``key`` are always kept as text.

    Returns
    -------
    pandas.DataFrame
        One row per data row of the file, in file order, none dropped. Cell text is stripped
        of surrounding spaces; a leading apostrophe on every value of a column (``'11010``)
        is removed; numbers written with thousands separators (``"1,234"``) become numbers;
        cells in :data:`NA_STRINGS` become missing. ``df.attrs["dongne"]`` records the
        source, format, detected encoding, skipped title lines and the role of each column.

    Raises
    ------
    DataError
        Missing file, unsupported format, a title above the header without ``title_lines``,
        rows with more or fewer fields than the header, repeated column names.
    EncodingError
        The file decodes neither as UTF-8 nor as CP949, or not with the given ``encoding``.

    Examples
    --------
    >>> from dongne.datasets import data_path
    >>> df = read_table(data_path("raw/seoul_basic.csv"))  # CP949, no hint needed
    >>> df.attrs["dongne"]["encoding"]
    'cp949'
    >>> df.loc[0, "geo"], df.loc[0, "code"], int(df.loc[0, "real_price"])  # "2,299" in the file
    ('종로구', '11010', 2299)
    """
    p = existing_file(path)
    fmt = file_kind(p, TABLE_SUFFIXES, "tables")
    codes = set(code_columns)
    if fmt == "parquet":
        df = pd.read_parquet(p)
        attach(df, {"source": str(p), "format": "parquet", "rows": len(df)})
        return df
    if fmt == "excel":
        return _read_excel(p, sheet, title_lines, codes)
    text, detected = read_text(p, encoding)
    lines = _first_lines(text, _HEADER_SCAN_LINES)
    separator = sep or _sniff_separator(lines)
    rows = list(csv.reader(lines, delimiter=separator))
    header_at, width = _header_line(rows)
    skip = _resolve_title_lines(p, title_lines, header_at, rows, width)
    plain = _plain(text)
    raw = _read_plain_csv(text, separator, plain) if skip == 0 else None
    try:
        if raw is None:
            raw = pd.read_csv(
                io.StringIO(text),
                sep=separator,
                skiprows=skip,
                dtype=object,  # text as Python str (pandas 3's str dtype costs twice the time)
                keep_default_na=False,
                skip_blank_lines=True,
                engine="c",
            )
    except pd.errors.ParserError:
        raise DataError(_ragged_message(p, text, separator, skip)) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{p} is empty. Fix: check the export or download.") from None
    extra = {
        "encoding": detected.encoding,
        "encoding_reason": detected.reason,
        "separator": separator,
        "title_lines_skipped": skip,
        "header_line": skip + 1,
    }
    lines = _data_lines(text, separator, skip, plain)
    if len(lines) == len(raw) and lines != list(range(skip + 2, skip + 2 + len(raw))):
        extra["data_lines"] = lines  # blank lines or quoted line breaks inside the data
    return _finish(raw, p, "csv", codes, extra)


def _plain(text: str) -> bool:
    """Whether every line of ``text`` is one row: no quotes, no NUL, no blank line, and
    ``\r`` only in ``\r\n`` line ends."""
    return (
        bool(text)
        and '"' not in text
        and "\0" not in text
        and "\n\n" not in text
        and "\n\r\n" not in text
        and not text.startswith(("\n", "\r\n"))
        and text.count("\r") == text.count("\r\n")
    )


def _read_plain_csv(text: str, separator: str, plain: bool | None = None) -> pd.DataFrame | None:
    """The cells of a CSV in which every line is a row (:func:`_plain`), read by Arrow's
    multi-threaded parser as Arrow strings, or ``None`` where pandas must read it.

    Such a file leaves a parser nothing to decide but where lines and fields end, so the
    cells are those of ``pandas.read_csv(dtype=object, keep_default_na=False)``; anything
    else (a row with another number of fields, a header with an empty or repeated name, a
    one-column file, a separator longer than one character) goes to pandas, whose messages
    name the lines. ``tests/test_tables.py`` compares both readers on random files.
    """
    if len(separator) != 1 or not (_plain(text) if plain is None else plain):
        return None
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    header = text[: text.find("\n") if "\n" in text else len(text)].removesuffix("\r")
    names = header.split(separator)
    if len(names) < 2 or "" in names or len(set(names)) != len(names):
        return None
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(text.encode("utf-8")),
            parse_options=pa_csv.ParseOptions(
                delimiter=separator, quote_char=False, double_quote=False, escape_char=False,
                newlines_in_values=False, ignore_empty_lines=True,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), null_values=[],
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )  # fmt: skip
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.column_names != names:
        return None
    return pd.DataFrame(
        {name: pd.arrays.ArrowStringArray(table.column(name)) for name in names}, copy=False
    )


def _data_lines(text: str, separator: str, skip: int, plain: bool | None = None) -> list[int]:
    """The 1-based line on which each data row starts (blank lines are not rows);
    ``plain`` is :func:`_plain` of ``text`` where the caller knows it."""
    if _plain(text) if plain is None else plain:  # every line is one row
        return list(range(skip + 2, text.count("\n") + (not text.endswith("\n")) + 1))
    if text and '"' not in text and "\0" not in text and text.count("\r") == text.count("\r\n"):
        # no quotes: every line is one row, and a blank line ("" or "\r") none
        count = text.count("\n") + (not text.endswith("\n"))
        lines = text.split("\n")[:count]
        rows = [i + 1 for i in range(skip, count) if lines[i] and lines[i] != "\r"]
        return rows[1:]
    return _data_lines_csv(text, separator, skip)


def _data_lines_csv(text: str, separator: str, skip: int) -> list[int]:
    """:func:`_data_lines` by Python's csv reader (quoted line breaks)."""
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    starts, end, header_seen = [], 0, False
    for row in reader:
        start, end = end + 1, reader.line_num
        if start <= skip or not row:
            continue
        if header_seen:
            starts.append(start)
        header_seen = True
    return starts


def _ragged_message(p: Path, text: str, separator: str, skip: int) -> str:
    """Name the file lines whose field count differs from the header's."""
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    width, bad = None, []
    for row in reader:
        if reader.line_num <= skip or not any(c.strip() for c in row):
            continue
        if width is None:
            width = len(row)
        elif len(row) != width:
            bad.append(f"{reader.line_num} ({len(row)} fields)")
    return (
        f"{p}: the header has {width} fields but line(s) {format_rows(bad)} do not. "
        "Fix: quote values that contain the separator, remove stray separators, or pass "
        f"sep=... if the separator is not {separator!r}."
    )


def _resolve_title_lines(
    p: Path, title_lines: int | str | None, header_at: int, rows: list[list[str]], width: int
) -> int:
    if title_lines == "auto":
        return header_at
    if isinstance(title_lines, int) and not isinstance(title_lines, bool) and title_lines >= 0:
        return title_lines
    if title_lines is not None:
        raise DataError(
            f"title_lines must be a non-negative int, 'auto' or None; got {title_lines!r}."
        )
    if header_at > 0:
        title = " / ".join(
            ",".join(r).strip() for r in rows[:header_at] if any(c.strip() for c in r)
        )
        raise DataError(
            f"{p}: the first {header_at} line(s) ({title!r}) sit above the header on line "
            f"{header_at + 1}, which has {width} columns (a KOSIS-style title). "
            f"Fix: read_table(path, title_lines='auto') or title_lines={header_at}; on the "
            f"command line --title-lines {header_at}."
        )
    return 0


def _read_excel(
    p: Path, sheet: str | int | None, title_lines: int | str | None, codes: set[str]
) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(p, engine="openpyxl")
    except Exception as exc:  # openpyxl raises several unrelated types for broken files
        raise DataError(f"{p} cannot be opened as an Excel workbook: {exc}") from None
    names = book.sheet_names
    if sheet is None:
        if len(names) > 1:
            raise DataError(
                f"{p} has {len(names)} sheets: {', '.join(map(repr, names))}. "
                f"Fix: pass sheet={names[0]!r} (or the sheet's position, sheet=0)."
            )
        sheet = names[0]
    if isinstance(sheet, str) and sheet not in names:
        raise DataError(f"{p} has no sheet {sheet!r}; sheets: {', '.join(map(repr, names))}.")
    grid = pd.read_excel(book, sheet_name=sheet, header=None, dtype=str, keep_default_na=False)
    rows = [[c for c in r] for r in grid.head(_HEADER_SCAN_LINES).itertuples(index=False)]
    # Trailing empty cells do not count as fields in a spreadsheet row.
    trimmed = [
        r[: max((i + 1 for i, c in enumerate(r) if str(c).strip()), default=0)] for r in rows
    ]
    header_at, width = _header_line(trimmed)
    skip = _resolve_title_lines(p, title_lines, header_at, trimmed, width)
    header = [str(c).strip() for c in grid.iloc[skip]]
    body = grid.iloc[skip + 1 :].reset_index(drop=True)
    keep = [
        i for i, h in enumerate(header) if h or body.iloc[:, i].astype(str).str.strip().ne("").any()
    ]
    body = body.iloc[:, keep]
    body.columns = [header[i] or f"unnamed_{i}" for i in keep]
    body = body[body.astype(str).apply(lambda r: r.str.strip().ne("").any(), axis=1)]
    extra: dict = {"sheet": sheet, "title_lines_skipped": skip, "header_line": skip + 1}
    rows_in_sheet = [int(i) + 1 for i in body.index]  # grid row i is sheet row i + 1
    if rows_in_sheet != list(range(skip + 2, skip + 2 + len(body))):
        extra["data_lines"] = rows_in_sheet  # blank rows inside the data
    return _finish(body.reset_index(drop=True), p, "excel", codes, extra)


def check_counts(
    df: pd.DataFrame,
    columns: list[str] | tuple[str, ...],
    *,
    allow_missing: bool = False,
    source: str | None = None,
) -> None:
    """Check that ``columns`` hold non-negative counts; raise naming the bad rows otherwise.

    Parameters
    ----------
    df : DataFrame
        Table whose columns are counts (households, cases, population).
    columns : sequence of str
        Columns to check.
    allow_missing : bool
        Accept missing values (they are then left missing, not replaced by zero).
    source : str, optional
        Name of the data in messages; defaults to the file the table was read from.

    Raises
    ------
    DataError
        A column is absent or not numeric, or has missing or negative values. The message names
        the file, the column, up to ten row labels with their values and the fix.
    """
    src = source or source_of(df)

    def where(rows: pd.Index) -> str:
        return row_references(df, rows, with_source=False)

    for col in columns:
        if col not in df.columns:
            raise DataError(
                f"{src}: no column {col!r}. Columns: {', '.join(map(str, df.columns))}."
            )
        values = pd.to_numeric(df[col], errors="coerce")
        bad_text = df.index[values.isna() & df[col].notna()]
        if len(bad_text):
            raise DataError(
                f"{src}, column {col!r}: non-numeric values on {where(bad_text)} "
                f"(e.g. {df.loc[bad_text[0], col]!r}). Fix: correct those cells or read the file "
                "with dongne.io.read_table, which parses '1,234'."
            )
        missing = df.index[values.isna()]
        if len(missing) and not allow_missing:
            raise DataError(
                f"{src}, column {col!r}: missing values on {where(missing)}. "
                "Fix: fill them with the real counts, or pass allow_missing=True to keep them "
                "missing (they are never replaced by zero)."
            )
        negative = df.index[values < 0]
        if len(negative):
            shown = ", ".join(f"{values[r]:g}" for r in list(negative)[:10])
            raise DataError(
                f"{src}, column {col!r}: counts cannot be negative on "
                f"{where(negative)} (values {shown}). "
                "Fix: correct those cells "
                "(a negative count is usually a sign error or a -1 'unknown' code)."
            )
