"""Panel input for policy evaluation: areas observed over periods, and when each was treated.

:func:`panel_from_frame` turns a long table (one row per area and period) or a wide one (one
row per area, one column per period; or one row per period, one column per area) into a
checked :class:`Panel`; :func:`read_panel` does the same from a file read with
:func:`dongne.io.read_table` (CSV in UTF-8 or CP949, Excel, Parquet).

Treatment is described per area by the period it was first treated (``first_treated``: a
column, or a mapping area → period; 0, NaN or a period after the last one mean "never treated
in the window"), by a list of treated areas and one start period (``treated_units`` +
``treatment_start``), or by a 0/1 treatment column (``treatment``) from which the first treated
period is read; a unit whose treatment switches off again is an error (designs with reversals
are outside staggered adoption).

Checks raise :class:`~dongne.errors.DataError` or :class:`~dongne.errors.SpecificationError`
naming the areas, periods or columns concerned and the fix: duplicate area-periods, unbalanced
panels (``balance="drop"`` drops incomplete areas and records them in
:attr:`Panel.dropped_units`, it never drops silently), missing or non-numeric outcomes,
treatment reversals, covariates declared time-invariant that vary within an area, and
collinear covariates.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from dongne.errors import DataError, SpecificationError, format_rows

__all__ = ["Panel", "collinear_columns", "panel_from_frame", "read_panel"]

Balance = Literal["error", "drop"]
Wide = Literal["unit_rows", "period_rows"]


@dataclass(frozen=True)
class Panel:
    """A balanced panel of areas (units) over periods with a first-treated period per area.

    Build it with :func:`panel_from_frame` or :func:`read_panel`, not directly.

    Attributes
    ----------
    data : pandas.DataFrame
        Long table sorted by unit then period, with the columns named by ``unit``, ``time``,
        ``outcome``, the ``covariates`` and, when given, ``cluster``.
    unit, time, outcome : str
        Column names.
    covariates : tuple of str
        Covariate columns (numeric).
    cluster : str or None
        Column of the policy-assignment level used to cluster standard errors (constant within
        each unit); ``None`` clusters by unit.
    units : pandas.Index
        Unit ids, sorted.
    periods : numpy.ndarray
        Periods, sorted ascending (numbers: years, months as integers, ...).
    first_treated : pandas.Series
        First treated period per unit (index ``units``); ``inf`` for never treated in the
        window.
    dropped_units : tuple
        Units removed by ``balance="drop"`` because periods were missing.
    notes : tuple of str
        Plain-language notes on what was done to the input (drops, recodings).
    """

    data: pd.DataFrame
    unit: str
    time: str
    outcome: str
    covariates: tuple[str, ...]
    cluster: str | None
    units: pd.Index
    periods: np.ndarray
    first_treated: pd.Series
    dropped_units: tuple[Hashable, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.units)

    @property
    def n_periods(self) -> int:
        """Number of periods."""
        return len(self.periods)

    def matrix(self, column: str) -> np.ndarray:
        """Values of ``column`` as a (units × periods) float array, rows in :attr:`units` order."""
        return self.data[column].to_numpy(dtype=float).reshape(self.n_units, self.n_periods)

    def outcome_matrix(self) -> np.ndarray:
        """The outcome as a (units × periods) float array."""
        return self.matrix(self.outcome)

    def treatment_matrix(self) -> np.ndarray:
        """D_it = 1 from the first treated period on, else 0 (units × periods, float)."""
        g = self.first_treated.to_numpy(dtype=float)
        return (self.periods[None, :] >= g[:, None]).astype(float)

    def clusters(self) -> np.ndarray:
        """Cluster label of each unit (integer codes), from ``cluster`` or the unit itself."""
        if self.cluster is None:
            return np.arange(self.n_units)
        labels = self.data[self.cluster].to_numpy().reshape(self.n_units, self.n_periods)[:, 0]
        return pd.factorize(labels, sort=True)[0]

    def always_treated(self) -> pd.Index:
        """Units treated in the first period already (no untreated period is observed)."""
        return self.units[self.first_treated.to_numpy() <= self.periods[0]]

    def never_treated(self) -> pd.Index:
        """Units not treated within the window."""
        return self.units[np.isinf(self.first_treated.to_numpy(dtype=float))]

    def subset(self, units: Iterable[Hashable], note: str | None = None) -> Panel:
        """The panel restricted to ``units`` (kept in the panel's order)."""
        keep = self.units.isin(list(units))
        kept = self.units[keep]
        data = self.data[self.data[self.unit].isin(kept)].reset_index(drop=True)
        notes = self.notes + ((note,) if note else ())
        return replace(
            self, data=data, units=kept, first_treated=self.first_treated[keep], notes=notes
        )

    def with_first_treated(self, first_treated: pd.Series) -> Panel:
        """The same panel with another first-treated period per unit (index ``units``)."""
        return replace(self, first_treated=first_treated.reindex(self.units).astype(float))

    def summary(self) -> str:
        """A short description: units, periods, treatment cohorts and notes."""
        g = self.first_treated
        cohorts = g[np.isfinite(g)].value_counts().sort_index()
        text = (
            f"Panel of {self.n_units} units × {self.n_periods} periods "
            f"({_fmt_period(self.periods[0])}–{_fmt_period(self.periods[-1])}), "
            f"outcome '{self.outcome}'. "
            f"Never treated: {int(np.isinf(g).sum())}; cohorts (first treated period: units): "
            + ", ".join(f"{_fmt_period(k)}: {v}" for k, v in cohorts.items())
            + "."
        )
        if self.notes:
            text += " " + " ".join(self.notes)
        return text


def _fmt_period(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def collinear_columns(matrix: np.ndarray, names: Sequence[str], tol: float = 1e-9) -> list[str]:
    """Names of the columns that are linear combinations of the columns before them.

    Columns are added one at a time; a column whose addition does not raise the rank (relative
    tolerance ``tol`` on the singular values of the column-scaled matrix) is reported.
    """
    kept: list[np.ndarray] = []
    bad: list[str] = []
    for j, name in enumerate(names):
        col = matrix[:, j]
        scale = np.abs(col).max()
        if scale == 0:
            bad.append(name)
            continue
        trial = np.column_stack([*kept, col / scale])
        s = np.linalg.svd(trial, compute_uv=False)
        if s[-1] <= tol * s[0] * np.sqrt(trial.shape[0]):
            bad.append(name)
        else:
            kept.append(col / scale)
    return bad


def _check_columns(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"Column(s) {', '.join(map(repr, missing))} not found. Available columns: "
            f"{format_rows(map(str, frame.columns), 30)}. Fix: pass the right column names."
        )


def _numeric(frame: pd.DataFrame, column: str, role: str, unit: str, time: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        rows = frame.loc[bad, [unit, time, column]].head(10)
        shown = "; ".join(
            f"{r[unit]} in {_fmt_period(r[time])}: {r[column]!r}" for _, r in rows.iterrows()
        )
        raise DataError(
            f"The {role} column '{column}' has {int(bad.sum())} non-numeric value(s) ({shown}). "
            "Fix: clean these cells (numbers only, '.' as decimal point) before building the "
            "panel."
        )
    missing = values.isna()
    if missing.any():
        rows = frame.loc[missing, [unit, time]].head(10)
        shown = "; ".join(f"{r[unit]} in {_fmt_period(r[time])}" for _, r in rows.iterrows())
        raise DataError(
            f"The {role} column '{column}' is missing for {int(missing.sum())} unit-period(s) "
            f"({shown}). Fix: fill them from the source, or drop those units from the table "
            "(then balance='drop' is not needed)."
        )
    return values.astype(float)


def _melt_wide(frame: pd.DataFrame, wide: Wide, unit: str, time: str, outcome: str) -> pd.DataFrame:
    if wide == "unit_rows":
        _check_columns(frame, [unit])
        long = frame.melt(id_vars=[unit], var_name=time, value_name=outcome)
    elif wide == "period_rows":
        _check_columns(frame, [time])
        long = frame.melt(id_vars=[time], var_name=unit, value_name=outcome)
    else:
        raise SpecificationError(
            f"The 'wide' parameter must be None, 'unit_rows' or 'period_rows'. Got {wide!r}."
        )
    periods = pd.to_numeric(long[time], errors="coerce")
    if periods.isna().any():
        bad = sorted(set(long.loc[periods.isna(), time].astype(str)))
        raise DataError(
            f"Wide table: period label(s) {format_rows(bad)} are not numbers. Fix: name the "
            "period columns (or rows) by numbers such as 2019 or 201903, or drop extra columns."
        )
    long[time] = periods
    return long


def _first_from_treatment(frame: pd.DataFrame, unit: str, time: str, column: str) -> pd.Series:
    d = pd.to_numeric(frame[column], errors="coerce")
    if d.isna().any() or not d.isin([0, 1]).all():
        bad = frame.loc[~d.isin([0, 1]), unit].unique()
        raise DataError(
            f"The treatment column '{column}' must hold 0 or 1 for every row; units "
            f"{format_rows(bad)} have other values. Fix: code treated periods as 1 and untreated "
            "as 0."
        )
    ordered = frame.assign(_d=d.to_numpy()).sort_values([unit, time])
    prev = ordered.groupby(unit, sort=False)["_d"].shift(1)
    reversal = (prev == 1) & (ordered["_d"] == 0)
    if reversal.any():
        rows = ordered.loc[reversal, [unit, time]]
        shown = "; ".join(
            f"{r[unit]} (back to 0 in {_fmt_period(r[time])})" for _, r in rows.head(10).iterrows()
        )
        raise DataError(
            f"Treatment switches off again for {rows[unit].nunique()} unit(s): {shown}. "
            "Staggered difference-in-differences assumes that once treated a unit stays "
            "treated. Fix: code the treatment as 'ever treated from the first treated period' "
            "if the policy's effect persists, or analyse the episodes separately."
        )
    treated = ordered[ordered["_d"] == 1]
    return treated.groupby(unit)[time].min()


def _balanced(
    df: pd.DataFrame,
    unit: Hashable,
    time: Hashable,
    periods: np.ndarray,
    balance: str,
    notes: list[str],
) -> tuple[pd.DataFrame, tuple[Hashable, ...]]:
    """(the rows of complete units, the units dropped): refused or dropped per ``balance``.

    Under ``balance='drop'`` a note naming the dropped units is appended to ``notes``.
    """
    counts = df.groupby(unit)[time].size()
    incomplete = counts.index[counts < len(periods)]
    dropped: tuple[Hashable, ...] = ()
    if len(incomplete):
        have = set(zip(df[unit], df[time], strict=True))
        missing = [(u, t) for u in incomplete for t in periods if (u, t) not in have]
        shown = "; ".join(f"{u} in {_fmt_period(t)}" for u, t in missing[:10])
        if balance == "error":
            raise DataError(
                f"The panel is unbalanced: {len(incomplete)} unit(s) miss {len(missing)} "
                f"unit-period(s) ({shown}"
                + (f"; and {len(missing) - 10} more" if len(missing) > 10 else "")
                + "). Fix: fill the gaps from the source, or pass balance='drop' to drop the "
                "incomplete units (they are reported)."
            )
        dropped = tuple(incomplete)
        df = df[~df[unit].isin(incomplete)]
        notes.append(
            f"Dropped {len(dropped)} unit(s) with missing periods (balance='drop'): "
            f"{format_rows(dropped)}."
        )
        if df.empty:
            raise DataError("Every unit misses some period; nothing is left after balance='drop'.")
    return df, dropped


def _check_unit_columns(
    df: pd.DataFrame,
    unit: Hashable,
    time_invariant: Sequence[Hashable],
    cluster: Hashable | None,
    covariates: tuple[Hashable, ...],
) -> None:
    """Refuse time-invariant covariates that vary, clusters that change, collinear covariates."""
    for c in time_invariant:
        spread = df.groupby(unit, sort=False)[c].agg(lambda s: s.max() - s.min())
        varying = spread.index[spread > 1e-12 * max(1.0, float(df[c].abs().max()))]
        if len(varying):
            raise DataError(
                f"Covariate '{c}' was declared time-invariant but varies within "
                f"{len(varying)} unit(s): {format_rows(varying)}. Fix: use its value in one "
                "base period for every period (e.g. the pre-policy year), or remove it from "
                "time_invariant."
            )
    if cluster is not None:
        n_labels = df.groupby(unit, sort=False)[cluster].nunique(dropna=False)
        bad = n_labels.index[n_labels > 1]
        if len(bad):
            raise DataError(
                f"The cluster column '{cluster}' changes over time within {len(bad)} unit(s): "
                f"{format_rows(bad)}. Fix: give each unit one assignment level (e.g. the "
                "district that decided its policy)."
            )
        if df[cluster].isna().any():
            raise DataError(f"The cluster column '{cluster}' has missing values. Fix: fill them.")
    if covariates:
        x = np.column_stack([np.ones(len(df)), df[list(covariates)].to_numpy(dtype=float)])
        bad_cols = collinear_columns(x, ["(intercept)", *covariates])
        if bad_cols:
            raise DataError(
                f"Covariate(s) {', '.join(map(repr, bad_cols))} are constant or exact linear "
                f"combinations of the covariates listed before them ({list(covariates)}), so "
                "their effects cannot be separated. Fix: drop them from covariates."
            )


def panel_from_frame(
    frame: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    first_treated: str | Mapping[Hashable, float] | pd.Series | None = None,
    treated_units: Iterable[Hashable] | None = None,
    treatment_start: float | None = None,
    treatment: str | None = None,
    covariates: Sequence[str] = (),
    time_invariant: Sequence[str] = (),
    cluster: str | None = None,
    wide: Wide | None = None,
    balance: Balance = "error",
) -> Panel:
    """Check a table of areas × periods and build a :class:`Panel`.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long (one row per unit and period) unless ``wide`` is given.
    unit, time, outcome : str
        Columns of the unit id, the period (numbers: years, or integers such as 201903) and the
        outcome. With ``wide``, the id or period column present in the table, and the names
        to give the other dimension and the values.
    first_treated : str, mapping or Series, optional
        Column (or unit → period mapping) with the first treated period of each unit; 0, NaN
        or a missing unit mean never treated. A period after the last observed one is recoded
        to never treated in the window (noted in :attr:`Panel.notes`).
    treated_units, treatment_start : optional
        Alternative: the treated units and the common period they were first treated.
    treatment : str, optional
        Alternative: a 0/1 column of treatment status by unit and period; a unit whose status
        goes from 1 back to 0 is an error.
    covariates : sequence of str
        Numeric covariate columns (long tables only).
    time_invariant : sequence of str
        Covariates that must be constant within a unit (e.g. an area's size); a unit where one
        varies is an error. Callaway & Sant'Anna estimates use each covariate's value in the
        base period of every comparison, so time-varying covariates are allowed there.
    cluster : str, optional
        Column of the level at which the policy was assigned (e.g. the district of each
        neighbourhood); constant within unit. Standard errors are clustered on it; by default
        on the unit.
    wide : {"unit_rows", "period_rows"}, optional
        ``"unit_rows"``: one row per unit (id column ``unit``), one column per period, values
        are the outcome. ``"period_rows"``: one row per period (column ``time``), one column per
        unit.
    balance : {"error", "drop"}, default "error"
        What to do when some units miss some periods: raise, listing the missing unit-periods,
        or drop the incomplete units and record them in :attr:`Panel.dropped_units`.

    Returns
    -------
    Panel

    Raises
    ------
    DataError
        Missing columns, duplicate unit-periods, unbalanced panel, missing or non-numeric
        outcome or covariate, treatment reversal, a time-invariant covariate that varies, a
        first treated period that is not one of the periods, collinear covariates.
    SpecificationError
        No treatment given, or several ways at once.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"area": ["a", "a", "b", "b"], "year": [2020, 2021] * 2,
    ...                    "y": [1.0, 2.0, 1.5, 2.1]})
    >>> p = panel_from_frame(df, unit="area", time="year", outcome="y",
    ...                      treated_units=["a"], treatment_start=2021)
    >>> p.first_treated.to_dict()
    {'a': 2021.0, 'b': inf}
    """
    ways = sum(x is not None for x in (first_treated, treated_units, treatment))
    if ways != 1:
        raise SpecificationError(
            "Give the treatment in exactly one way: first_treated=COLUMN (or a unit → period "
            "mapping), treated_units=[...] with treatment_start=PERIOD, or treatment=COLUMN "
            f"(0/1). Got {ways} of them."
        )
    if treated_units is not None and treatment_start is None:
        raise SpecificationError(
            "treated_units needs treatment_start, the period the treated units were first "
            "treated. Fix: pass treatment_start=2019 (for example)."
        )
    if balance not in ("error", "drop"):
        raise SpecificationError(
            f"The 'balance' parameter must be 'error' or 'drop'. Got {balance!r}."
        )
    covariates = tuple(covariates)
    undeclared = [c for c in time_invariant if c not in covariates]
    if undeclared:
        raise SpecificationError(
            f"time_invariant names {undeclared}, which are not in covariates {list(covariates)}. "
            "Fix: list them in covariates too."
        )
    if wide is not None:
        if covariates or cluster or treatment or isinstance(first_treated, str):
            raise SpecificationError(
                "A wide table holds the outcome only: give the treatment as treated_units + "
                "treatment_start or a first_treated mapping, and no covariates, cluster or "
                "treatment columns. Fix: use a long table for those."
            )
        frame = _melt_wide(frame, wide, unit, time, outcome)
    needed = [unit, time, outcome, *covariates]
    for extra in (cluster, treatment, first_treated if isinstance(first_treated, str) else None):
        if extra is not None:
            needed.append(extra)
    _check_columns(frame, needed)
    df = frame[list(dict.fromkeys(needed))].copy()
    if df[unit].isna().any() or df[time].isna().any():
        raise DataError(
            f"{int(df[unit].isna().sum() + df[time].isna().sum())} row(s) have no '{unit}' or "
            f"'{time}'. Fix: fill or drop them."
        )
    times = pd.to_numeric(df[time], errors="coerce")
    if times.isna().any():
        bad = df.loc[times.isna(), time].unique()
        raise DataError(
            f"The period column '{time}' must be numeric; found {format_rows(map(repr, bad))}. "
            "Fix: code periods as numbers (2019, 201903, or 1, 2, 3, ...)."
        )
    df[time] = times.astype(float)

    dup = df.duplicated([unit, time], keep=False)
    if dup.any():
        pairs = df.loc[dup, [unit, time]].drop_duplicates()
        shown = "; ".join(
            f"{r[unit]} in {_fmt_period(r[time])}" for _, r in pairs.head(10).iterrows()
        )
        raise DataError(
            f"{len(pairs)} unit-period(s) appear more than once: {shown}. A panel needs one row "
            "per unit and period. Fix: aggregate the duplicates (sum or mean) or remove them."
        )

    periods = np.sort(df[time].unique())
    notes: list[str] = []
    df, dropped = _balanced(df, unit, time, periods, balance, notes)

    df = df.sort_values([unit, time]).reset_index(drop=True)
    df[outcome] = _numeric(df, outcome, "outcome", unit, time).to_numpy()
    for c in covariates:
        df[c] = _numeric(df, c, "covariate", unit, time).to_numpy()
    units = pd.Index(df[unit].unique())

    _check_unit_columns(df, unit, time_invariant, cluster, covariates)

    g = _first_treated(
        df, units, unit, time, first_treated, treated_units, treatment_start, treatment
    )
    out_of_window = np.isfinite(g) & (g > periods[-1])
    if out_of_window.any():
        notes.append(
            f"{int(out_of_window.sum())} unit(s) first treated after the last period "
            f"({format_rows(units[out_of_window])}) count as never treated in this window."
        )
        g[out_of_window] = np.inf
    inside = np.isfinite(g) & (g >= periods[0])
    not_a_period = inside & ~np.isin(g, periods)
    if not_a_period.any():
        raise DataError(
            f"The first treated period of unit(s) {format_rows(units[not_a_period])} "
            f"({format_rows(sorted(set(g[not_a_period])))}) is not one of the panel's periods. "
            "Fix: code it as the first observed period in which the unit was treated."
        )
    return Panel(
        data=df,
        unit=unit,
        time=time,
        outcome=outcome,
        covariates=covariates,
        cluster=cluster,
        units=units,
        periods=periods,
        first_treated=pd.Series(g, index=units, name="first_treated"),
        dropped_units=dropped,
        notes=tuple(notes),
    )


def _first_treated(
    df: pd.DataFrame,
    units: pd.Index,
    unit: str,
    time: str,
    first_treated: str | Mapping[Hashable, float] | pd.Series | None,
    treated_units: Iterable[Hashable] | None,
    treatment_start: float | None,
    treatment: str | None,
) -> np.ndarray:
    if treatment is not None:
        firsts = _first_from_treatment(df, unit, time, treatment)
        return firsts.reindex(units).fillna(np.inf).to_numpy(dtype=float)
    if treated_units is not None:
        treated = pd.Index(list(treated_units))
        unknown = treated.difference(units)
        if len(unknown):
            raise DataError(
                f"treated_units {format_rows(unknown)} are not units of the panel. Fix: use the "
                f"ids of the '{unit}' column."
            )
        return np.where(units.isin(treated), float(treatment_start), np.inf)  # type: ignore[arg-type]
    if isinstance(first_treated, str):
        per_unit = df.groupby(unit, sort=False)[first_treated].agg(["min", "max"])
        values = pd.to_numeric(per_unit["min"], errors="coerce")
        changing = per_unit.index[(per_unit["min"] != per_unit["max"]) & per_unit["min"].notna()]
        if len(changing):
            raise DataError(
                f"The first-treated column '{first_treated}' changes over time within "
                f"{len(changing)} unit(s): {format_rows(changing)}. Fix: it must hold the same "
                "first treated period in every row of a unit."
            )
        series = values.reindex(units)
    else:
        series = pd.Series(first_treated, dtype=float).reindex(units)
    g = series.to_numpy(dtype=float)
    return np.where(np.isnan(g) | (g == 0), np.inf, g)


def read_panel(
    path: str | os.PathLike[str], *, encoding: str | None = None, **options: Any
) -> Panel:
    """Read a table with :func:`dongne.io.read_table` and build a :class:`Panel`.

    Parameters
    ----------
    path : path-like
        CSV (UTF-8 or CP949, detected), Excel or Parquet file.
    encoding : str, optional
        Text encoding of a CSV; detected by default.
    **options
        Passed to :func:`panel_from_frame` (``unit``, ``time``, ``outcome``, ...).
    """
    from dongne.io import read_table

    code_columns = [options["unit"]] if "unit" in options else []
    frame = read_table(path, encoding=encoding, code_columns=code_columns)
    return panel_from_frame(frame, **options)
