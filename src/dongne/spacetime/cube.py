"""The space-time data model: one value per area and regular time step (a "cube").

:class:`SpaceTimeCube` holds an ``areas × steps`` NumPy array with the area ids and the time
steps; :func:`cube_from_long` builds it from a long table (one row per area and time),
:func:`cube_from_wide` from a wide one (one row per area, one column per step) and
:func:`cube_from_events` from events with time stamps (one row per event, already assigned to
an area — :func:`dongne.io.points_to_areas` does that for points). Steps are either whole
numbers (years, weeks numbered by the user; one apart) or calendar periods of a pandas
frequency (``"D"``, ``"W-MON"``, ``"MS"``, ``"YS"``), inferred when not given.

Every check names the rows and the fix: duplicate (area, time) rows, negative counts, missing
values, time stamps that cannot be read, time zones mixed within the column, time stamps after
``now``, steps that are not regular (a frequency cannot be inferred) — errors; steps with no
row at all (gaps) and areas missing from some steps — warnings (:class:`MissingStepsWarning`,
:class:`IncompleteAreasWarning`), the cells filled with ``fill`` (0 for counts) and listed in
``gaps_`` / ``incomplete_areas_``. Time zones: an aware column is converted to ``tz`` (default:
its own zone) and the steps are the local calendar periods there.

The cube is stored as a long Parquet table (:meth:`SpaceTimeCube.to_parquet`,
:func:`read_cube`) with the step labels and the kind in the file metadata; in memory a
10⁴ × 10³ float cube takes 80 MB.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from dongne._warnings import user_stacklevel
from dongne.errors import DataError, DongneWarning, SpecificationError, format_rows
from dongne.io.atomic import atomic_path

__all__ = [
    "IncompleteAreasWarning",
    "MissingStepsWarning",
    "SpaceTimeCube",
    "cube_from_events",
    "cube_from_long",
    "cube_from_wide",
    "read_cube",
]

Kind = Literal["counts", "values"]
KINDS: tuple[str, ...] = ("counts", "values")


class MissingStepsWarning(DongneWarning):
    """Some time steps of the regular range have no row at all (filled with ``fill``)."""


class IncompleteAreasWarning(DongneWarning):
    """Some areas have no row in some steps (the cells are filled with ``fill``)."""


@dataclass(frozen=True)
class SpaceTimeCube:
    """Values per area (rows) and regular time step (columns).

    Build it with :func:`cube_from_long`, :func:`cube_from_wide` or :func:`cube_from_events`.

    Attributes
    ----------
    values : numpy.ndarray
        ``(n_areas, n_steps)`` float array.
    areas : pandas.Index
        Area ids, in row order (sorted).
    steps : pandas.Index
        Step labels in time order: a ``DatetimeIndex`` of period starts, or whole numbers.
    freq : str or None
        The pandas frequency of the steps; ``None`` for whole-number steps.
    kind : {"counts", "values"}
        Counts (whole numbers ≥ 0, gaps filled with 0) or measured values.
    name : str
        What the values are.
    gaps_ : tuple
        Steps with no row at all in the input.
    incomplete_areas_ : tuple
        Areas missing from some steps of the input.
    """

    values: np.ndarray
    areas: pd.Index
    steps: pd.Index
    freq: str | None = None
    kind: str = "counts"
    name: str = "value"
    gaps_: tuple = field(default=())
    incomplete_areas_: tuple = field(default=())

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_areas, n_steps)``."""
        return self.values.shape  # type: ignore[return-value]

    def step_labels(self) -> list[str]:
        """Steps as short text: ``2024-03-01`` for dates, ``2015`` for whole numbers."""
        if isinstance(self.steps, pd.DatetimeIndex):
            return [s.strftime("%Y-%m-%d") for s in self.steps]
        return [str(s) for s in self.steps]

    def to_long(self) -> pd.DataFrame:
        """One row per area and step: columns ``area``, ``step``, ``name``."""
        n, t = self.shape
        return pd.DataFrame(
            {
                "area": np.repeat(self.areas.to_numpy(), t),
                "step": np.tile(self.steps.to_numpy(), n),
                self.name: self.values.ravel(),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """Wide table: one row per area, one column per step."""
        return pd.DataFrame(self.values, index=self.areas, columns=self.steps)

    def to_parquet(self, path: str | Path) -> Path:
        """Write the cube as a long Parquet table (atomic); :func:`read_cube` reads it back."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(self.to_long(), preserve_index=False)
        meta = {"freq": self.freq, "kind": self.kind, "name": self.name}
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"dongne.cube": json.dumps(meta).encode()}
        )
        with atomic_path(Path(path)) as tmp:
            pq.write_table(table, tmp)
        return Path(path)


def read_cube(path: str | Path) -> SpaceTimeCube:
    """Read a cube written by :meth:`SpaceTimeCube.to_parquet`."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(b"dongne.cube")
    if raw is None:
        raise DataError(
            f"{path} is not a cube written by dongne (no 'dongne.cube' metadata). Fix: build "
            "the cube with cube_from_long on the table instead."
        )
    meta = json.loads(raw)
    frame = table.to_pandas()
    return cube_from_long(
        frame, "area", "step", meta["name"], freq=meta["freq"], kind=meta["kind"], now=False
    )


# ------------------------------------------------------------------------------ builders
def cube_from_long(
    frame: pd.DataFrame,
    area: str,
    time: str,
    value: str,
    *,
    freq: str | None = None,
    kind: Kind = "counts",
    fill: float | str | None = None,
    duplicates: Literal["raise", "sum"] = "raise",
    tz: str | None = None,
    now: Any = None,
    areas: Any = None,
    source: str = "table",
) -> SpaceTimeCube:
    """Cube from a long table: one row per area and time.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    area, time, value : str
        Columns of the area id, the time (dates, date-times or whole numbers) and the value.
    freq : str, optional
        Pandas frequency of the steps (``"D"``, ``"W-MON"``, ``"MS"``, ``"YS"``); inferred
        from the distinct times when not given. Times are put into the period that holds them.
    kind : {"counts", "values"}
        Counts must be whole numbers ≥ 0 and their gaps are 0; values may be any number.
    fill : float or "missing", optional
        Value of cells with no row (default 0 for counts; for values a gap is an error unless
        ``fill`` is given: a number, or ``"missing"`` to keep those cells missing (NaN)).
    duplicates : {"raise", "sum"}
        Two rows for one (area, step): an error (default) or added up.
    tz : str, optional
        Time zone that aware times are converted to before binning (default: their own).
    now : timestamp, False or None
        Times after ``now`` are an error (default: the current time); ``False`` skips the
        check.
    areas : sequence, optional
        All area ids (areas with no row at all are kept with ``fill``).
    source : str
        Name of the table in messages.

    Returns
    -------
    SpaceTimeCube

    Raises
    ------
    DataError
        Missing columns, unreadable or missing times, mixed time zones, future times,
        irregular steps, duplicate (area, step) rows, negative or fractional counts, missing
        values — each naming the rows (1-based, as in a spreadsheet under its header).
    """
    _check_choice("kind", kind, KINDS)
    _check_choice("duplicates", duplicates, ("raise", "sum"))
    df = _select(frame, (area, time, value), source)
    values = _numeric(df[value], value, source, kind)
    stamps = _parse_times(df[time], time, source, tz)
    _check_future(stamps, time, source, now)
    step_of, freq = _bin(stamps, freq, time, source)
    df = pd.DataFrame({"area": df[area].to_numpy(), "step": step_of, "v": values})
    df = _merge_duplicates(df, duplicates, source, area, time)
    return _assemble(df, freq, kind, value, fill, areas, source)


def cube_from_wide(
    frame: pd.DataFrame,
    area: str,
    *,
    name: str = "value",
    kind: Kind = "counts",
    freq: str | None = None,
    fill: float | str | None = None,
    now: Any = None,
    source: str = "table",
) -> SpaceTimeCube:
    """Cube from a wide table: one row per area (column ``area``), one column per step.

    The other columns' names are the times (dates or whole numbers); see
    :func:`cube_from_long` for the checks and the parameters.
    """
    df = _select(frame, (area,), source)
    long = df.melt(id_vars=[area], var_name="__time", value_name=name)
    return cube_from_long(
        long, area, "__time", name, freq=freq, kind=kind, fill=fill, now=now, source=source
    )


def cube_from_events(
    frame: pd.DataFrame,
    area: str,
    time: str,
    *,
    freq: str,
    weight: str | None = None,
    start: Any = None,
    end: Any = None,
    tz: str | None = None,
    now: Any = None,
    areas: Any = None,
    source: str = "events",
) -> SpaceTimeCube:
    """Counts per area and step from events (one row per event, with its area and time).

    ``freq`` is required (events are not regular); the steps run from ``start`` (default: the
    first event) to ``end`` (default: the last), and a step with no event counts zero — it is
    not a gap. ``weight`` counts each event that many times (whole numbers ≥ 0). Times are
    checked as in :func:`cube_from_long`.
    """
    df = _select(frame, (area, time) + ((weight,) if weight else ()), source)
    counts = np.ones(len(df)) if weight is None else _numeric(df[weight], weight, source, "counts")
    stamps = _parse_times(df[time], time, source, tz)
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        raise DataError(f"{source}: column '{time}' must hold dates or date-times for events.")
    _check_future(stamps, time, source, now)
    lo = stamps.min() if start is None else pd.Timestamp(start)
    hi = stamps.max() if end is None else pd.Timestamp(end)
    outside = ((stamps < lo) | (stamps > hi)).to_numpy()
    if outside.any():
        raise DataError(
            f"{source}: rows {_rows(outside)} fall outside {lo:%Y-%m-%d} to {hi:%Y-%m-%d}. "
            "Fix: widen start/end, or remove those events."
        )
    steps = pd.period_range(lo, hi, freq=freq).start_time
    step_of = stamps.dt.to_period(freq).dt.start_time
    area_index = pd.Index(sorted(df[area].unique()))
    if areas is not None:
        area_index = area_index.union(pd.Index(areas))
    values = np.zeros((len(area_index), len(steps)))
    np.add.at(values, (area_index.get_indexer(df[area]), steps.get_indexer(step_of)), counts)
    return SpaceTimeCube(values, area_index, steps, freq, "counts", "events")


# ------------------------------------------------------------------------------ checks
def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SpecificationError(f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}.")


def _rows(mask: Any) -> str:
    """1-based spreadsheet rows (header is row 1) of a boolean mask."""
    return format_rows(np.flatnonzero(np.asarray(mask)) + 2)


def _select(frame: pd.DataFrame, cols: tuple[str, ...], source: str) -> pd.DataFrame:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: column(s) {', '.join(map(repr, missing))} not found; it has "
            f"{format_rows(map(str, frame.columns), 20)}. Fix: pass the right column names."
        )
    return frame.reset_index(drop=True)


def _numeric(col: pd.Series, name: str, source: str, kind: str) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(
            f"{source}: column '{name}' is missing or not a number in rows {_rows(bad)}. "
            "Fix: fill or remove those rows."
        )
    if kind == "counts":
        negative = values < 0
        if negative.any():
            raise DataError(
                f"{source}: column '{name}' holds negative counts in rows {_rows(negative)}. "
                "Fix: correct those rows (counts are ≥ 0); if the column holds measurements, not "
                "counts, analyse it as values."
            )
        frac = values != np.round(values)
        if frac.any():
            raise DataError(
                f"{source}: column '{name}' holds fractional counts in rows {_rows(frac)}. "
                "Fix: correct those rows (counts are whole numbers); if the column holds "
                "measurements, analyse it as values."
            )
    return values


def _parse_times(col: pd.Series, name: str, source: str, tz: str | None) -> pd.Series:
    """Times as a Series of Timestamps (naive, local to ``tz``) or of whole numbers."""
    if (
        col.dtype == object
        and len(col)
        and col.map(lambda v: isinstance(v, (int, np.integer))).all()
    ):
        col = col.astype(np.int64)  # whole-number labels, e.g. the columns of a wide table
    if pd.api.types.is_integer_dtype(col) or (
        pd.api.types.is_float_dtype(col) and np.all(np.mod(col.dropna(), 1) == 0)
    ):
        if col.isna().any():
            raise DataError(f"{source}: column '{name}' is empty in rows {_rows(col.isna())}.")
        return col.astype(np.int64)
    _check_zones(col, name, source)
    try:
        stamps = pd.to_datetime(col, errors="coerce", format="mixed")
    except (ValueError, TypeError) as exc:  # aware and naive mixed, say
        raise DataError(
            f"{source}: column '{name}' mixes time zones ({exc}). Fix: write every time in "
            "one zone (e.g. all +09:00), or all without a zone."
        ) from exc
    bad = stamps.isna()
    if bad.any():
        raise DataError(
            f"{source}: column '{name}' has missing or unreadable times in rows {_rows(bad)}. "
            "Fix: write them as dates such as 2024-03-01 or 2024-03-01 14:30."
        )
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(tz) if tz else stamps
        stamps = stamps.dt.tz_localize(None)
    return stamps


_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def _zone_of(value: Any) -> str:
    if isinstance(value, str):
        match = _ZONE.search(value.strip()) if re.search(r"\d[T ]\d", value) else None
        return "naive" if match is None else match.group(1).replace("Z", "+00:00")
    tzinfo = getattr(value, "tzinfo", None)
    return "naive" if tzinfo is None else str(value.utcoffset())


def _check_zones(col: pd.Series, name: str, source: str) -> None:
    if not (col.dtype == object or pd.api.types.is_string_dtype(col)):
        return
    zones = col.map(_zone_of)
    counts = zones.value_counts()
    if len(counts) > 1:
        main = counts.index[0]
        odd = (zones != main).to_numpy()
        raise DataError(
            f"{source}: column '{name}' mixes time zones: most rows are {main}, rows "
            f"{_rows(odd)} are not. Fix: write every time in one zone (or all without a zone)."
        )


def _check_future(stamps: pd.Series, name: str, source: str, now: Any) -> None:
    if now is False or not pd.api.types.is_datetime64_any_dtype(stamps):
        return
    limit = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    if limit.tzinfo is not None:
        limit = limit.tz_localize(None)
    future = (stamps > limit).to_numpy()
    if future.any():
        shown = format_rows(stamps[future].dt.strftime("%Y-%m-%d %H:%M").unique(), 3)
        raise DataError(
            f"{source}: column '{name}' has times after now ({limit:%Y-%m-%d %H:%M}): "
            f"{shown} in rows {_rows(future)}. Fix: correct those rows; if the clock of this "
            "computer is wrong, pass now=... (--now)."
        )


def _bin(stamps: pd.Series, freq: str | None, name: str, source: str) -> tuple[Any, str | None]:
    """Step of each row (period start or whole number) and the frequency."""
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        if freq is not None:
            raise SpecificationError(
                f"{source}: column '{name}' holds whole numbers, so freq={freq!r} does not "
                "apply. Fix: leave freq out (steps one apart), or give real dates."
            )
        return stamps.to_numpy(), None
    if freq is None:
        freq = _infer_freq(stamps, name, source)
    periods = stamps.dt.to_period(freq)
    return periods.dt.start_time.to_numpy(), freq


def _infer_freq(stamps: pd.Series, name: str, source: str) -> str:
    distinct = pd.DatetimeIndex(stamps.drop_duplicates().sort_values())
    if len(distinct) < 3:
        raise DataError(
            f"{source}: column '{name}' has fewer than 3 distinct times; the step cannot be "
            "inferred. Fix: pass freq (--freq), e.g. 'D', 'W-MON', 'MS' or 'YS'."
        )
    with warnings.catch_warnings():  # pandas 3 announces an offset return type
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(distinct)
    if freq is not None:
        return getattr(freq, "freqstr", freq)
    gaps = np.diff(distinct.asi8)
    step = np.min(gaps)
    odd = distinct[1:][gaps % step != 0] if step > 0 else distinct[1:]
    guess = pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr
    where = f" (irregular at {format_rows(odd.strftime('%Y-%m-%d %H:%M'))})" if len(odd) else ""
    raise DataError(
        f"{source}: the times in '{name}' are not regular steps{where}. Fix: pass freq "
        f"(--freq), e.g. {guess!r}, 'D', 'W-MON' or 'MS', to put them into periods."
    )


def _merge_duplicates(
    df: pd.DataFrame, duplicates: str, source: str, area: str, time: str
) -> pd.DataFrame:
    dup = df.duplicated(["area", "step"], keep=False).to_numpy()
    if not dup.any():
        return df
    if duplicates == "raise":
        raise DataError(
            f"{source}: {int(dup.sum())} rows repeat an ({area}, {time}) pair (rows "
            f"{_rows(dup)}). Fix: remove the duplicates, or add them up with "
            "duplicates='sum' (--duplicates sum)."
        )
    return df.groupby(["area", "step"], as_index=False, sort=False)["v"].sum()


def _assemble(
    df: pd.DataFrame, freq: str | None, kind: str, name: str, fill: float | str | None,
    areas: Any, source: str,
) -> SpaceTimeCube:  # fmt: skip
    if isinstance(fill, str):
        if fill != "missing":
            raise SpecificationError(
                f"fill must be a number or 'missing', got {fill!r}. Fix: pass fill='missing' "
                "to keep cells without a row missing."
            )
        fill = np.nan
    steps = _step_range(df["step"], freq)
    area_index = pd.Index(sorted(df["area"].unique()))
    if areas is not None:
        area_index = area_index.union(pd.Index(areas))
    gaps = steps.difference(pd.Index(df["step"].unique()))
    if fill is None:
        fill = 0.0 if kind == "counts" else None
    n_cells = len(area_index) * len(steps)
    if len(df) < n_cells and fill is None:
        raise DataError(
            f"{source}: {n_cells - len(df)} (area, step) cells have no row. Fix: fill them in "
            "the table, or pass fill='missing' (or a number) to accept them."
        )
    values = np.full((len(area_index), len(steps)), np.nan if fill is None else float(fill))
    rows = area_index.get_indexer(df["area"])
    cols = steps.get_indexer(df["step"])
    values[rows, cols] = df["v"].to_numpy()
    present = np.zeros(values.shape, dtype=bool)
    present[rows, cols] = True
    incomplete = _warn_gaps(present, area_index, steps, gaps, source)
    return SpaceTimeCube(
        values, area_index, steps, freq, kind, name, tuple(gaps), tuple(incomplete)
    )


def _step_range(steps: pd.Series, freq: str | None) -> pd.Index:
    if freq is None:
        lo, hi = int(steps.min()), int(steps.max())
        return pd.Index(np.arange(lo, hi + 1), dtype=np.int64)
    stamps = pd.DatetimeIndex(steps)
    return pd.period_range(stamps.min(), stamps.max(), freq=freq).start_time


def _warn_gaps(
    present: np.ndarray, areas: pd.Index, steps: pd.Index, gaps: pd.Index, source: str
) -> list:
    label = (lambda s: f"{s:%Y-%m-%d}") if isinstance(steps, pd.DatetimeIndex) else str
    if len(gaps):
        warnings.warn(
            f"{source}: {len(gaps)} of {len(steps)} time steps have no row at all "
            f"({format_rows(label(g) for g in gaps)}); their cells are filled. If data were "
            "not collected then, shorten the study period or fill them from the source.",
            MissingStepsWarning,
            stacklevel=user_stacklevel(),
        )
    observed = present[:, ~steps.isin(gaps)]
    partial = observed.any(axis=1) & ~observed.all(axis=1)
    incomplete = list(areas[partial])
    if incomplete:
        warnings.warn(
            f"{source}: {len(incomplete)} areas appear in only some time steps "
            f"({format_rows(incomplete)}); their other cells are filled. Fix: check that "
            "area codes did not change over the period (use a crosswalk), or fill the rows.",
            IncompleteAreasWarning,
            stacklevel=user_stacklevel(),
        )
    return incomplete
