"""Input schema of a shared model: feature names, types and units, and the check of a table.

A model shared with another institution is used on *their* table; the schema recorded at
registration makes a wrong table fail loudly (missing, extra or mistyped column named)
instead of producing quiet nonsense.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dongne.errors import DataError, SpecificationError, format_rows

__all__ = ["TYPES", "Column", "InputSchema", "infer_schema"]

TYPES = ("float", "int", "bool", "str")


@dataclass(frozen=True)
class Column:
    """One input column: ``name``, ``type`` (one of :data:`TYPES`) and ``unit`` (text)."""

    name: str
    type: str
    unit: str = ""


def _type_of(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "str"


# which observed types a declared type accepts (ints are exact floats)
_ACCEPTS = {"float": {"float", "int"}, "int": {"int"}, "bool": {"bool"}, "str": {"str"}}


@dataclass(frozen=True)
class InputSchema:
    """Ordered input columns of a model.

    Examples
    --------
    >>> s = InputSchema([Column("density", "float", "households/km²")])
    >>> s.check(pd.DataFrame({"density": [1.5]})).columns.tolist()
    ['density']
    """

    columns: list[Column] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Column names in model order."""
        return [c.name for c in self.columns]

    def to_dict(self) -> list[dict[str, str]]:
        """JSON-ready list of ``{"name", "type", "unit"}``."""
        return [{"name": c.name, "type": c.type, "unit": c.unit} for c in self.columns]

    @classmethod
    def from_dict(cls, data: Sequence[Mapping[str, Any]]) -> InputSchema:
        """Inverse of :meth:`to_dict`."""
        columns = [Column(str(d["name"]), str(d["type"]), str(d.get("unit", ""))) for d in data]
        bad = [c.name for c in columns if c.type not in TYPES]
        if bad:
            raise SpecificationError(
                f"Columns {bad} have a type outside {TYPES}. Fix: use one of those types."
            )
        return cls(columns)

    def check(self, table: pd.DataFrame, *, extra: str = "error") -> pd.DataFrame:
        """Validate ``table`` and return its schema columns in model order.

        Parameters
        ----------
        table : DataFrame
        extra : {"error", "drop"}
            What to do with columns the model does not use (an id column, say).

        Raises
        ------
        DataError
            Naming every missing, extra (with ``extra="error"``) or mistyped column, and the
            rows with missing values.
        """
        if extra not in ("error", "drop"):
            raise SpecificationError(f'extra must be "error" or "drop"; got {extra!r}.')
        if not isinstance(table, pd.DataFrame):
            raise DataError(
                f"Expected a table (pandas DataFrame); got {type(table).__name__}. "
                "Fix: pass a DataFrame with columns " + ", ".join(self.names) + "."
            )
        problems = []
        missing = [n for n in self.names if n not in table.columns]
        if missing:
            problems.append(f"missing columns {missing}")
        surplus = [str(c) for c in table.columns if c not in self.names]
        if surplus and extra == "error":
            problems.append(f"extra columns {surplus} (pass extra='drop' to ignore them)")
        mistyped = []
        for col in self.columns:
            if col.name in table.columns:
                observed = _type_of(table[col.name])
                if observed not in _ACCEPTS[col.type]:
                    mistyped.append(f"{col.name!r} is {observed}, expected {col.type}")
        if mistyped:
            problems.append("mistyped columns: " + "; ".join(mistyped))
        if problems:
            raise DataError(
                "The table does not match the model's input schema: "
                + "; ".join(problems)
                + ". Fix: provide exactly these columns: "
                + ", ".join(
                    f"{c.name} ({c.type}{', ' + c.unit if c.unit else ''})" for c in self.columns
                )
                + "."
            )
        out = table[self.names]
        nulls = out.isna().any(axis=1).to_numpy()
        if nulls.any():
            cols = [str(c) for c in out.columns[out.isna().any(axis=0).to_numpy()]]
            raise DataError(
                f"Columns {cols} have missing values in rows "
                f"{format_rows(out.index[nulls])}. Fix: impute or drop those rows first."
            )
        return out


def infer_schema(table: pd.DataFrame, units: Mapping[str, str] | None = None) -> InputSchema:
    """Schema of ``table``'s columns from their dtypes, with optional ``units`` per column.

    Examples
    --------
    >>> infer_schema(pd.DataFrame({"a": [1.0], "b": [2]}), units={"a": "km"}).to_dict()
    [{'name': 'a', 'type': 'float', 'unit': 'km'}, {'name': 'b', 'type': 'int', 'unit': ''}]
    """
    units = dict(units or {})
    unknown = sorted(set(units) - {str(c) for c in table.columns})
    if unknown:
        raise SpecificationError(
            f"units name columns {unknown} that the table does not have. Fix: check spelling."
        )
    return InputSchema(
        [Column(str(c), _type_of(table[c]), units.get(str(c), "")) for c in table.columns]
    )


def _as_frame(X: Any, names: Sequence[str] | None) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    if names is None:
        names = [f"x{i}" for i in range(arr.shape[1])]
    return pd.DataFrame(arr, columns=list(names))
