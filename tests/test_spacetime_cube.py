"""The space-time data model: checks that name rows, gaps, time zones, Parquet round trip."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dongne.errors import DataError, SpecificationError
from dongne.spacetime import (
    IncompleteAreasWarning,
    MissingStepsWarning,
    cube_from_events,
    cube_from_long,
    cube_from_wide,
    read_cube,
)


def _table(days=5, areas=("a", "b", "c")) -> pd.DataFrame:
    dates = pd.date_range("2024-03-01", periods=days, freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame(
        [(a, d, i + j) for i, a in enumerate(areas) for j, d in enumerate(dates)],
        columns=["area", "date", "n"],
    )


def test_long_table_to_cube_and_back(tmp_path):
    cube = cube_from_long(_table(), "area", "date", "n", now=False)
    assert cube.shape == (3, 5) and cube.freq == "D"
    assert cube.values[1, 2] == 3.0  # area b (i = 1), third day (j = 2)
    path = cube.to_parquet(tmp_path / "cube.parquet")
    again = read_cube(path)
    np.testing.assert_array_equal(again.values, cube.values)
    assert list(again.areas) == ["a", "b", "c"] and again.freq == "D"


def test_duplicates_are_named_or_summed():
    table = pd.concat([_table(), _table().iloc[[4]]], ignore_index=True)
    with pytest.raises(DataError, match=r"rows 6, 17.*duplicates='sum'"):
        cube_from_long(table, "area", "date", "n", now=False)
    cube = cube_from_long(table, "area", "date", "n", duplicates="sum", now=False)
    assert cube.values[0, 4] == 8.0


def test_negative_and_fractional_counts_name_rows():
    table = _table().astype({"n": float})
    table.loc[3, "n"] = -1
    with pytest.raises(DataError, match="negative counts in rows 5"):
        cube_from_long(table, "area", "date", "n", now=False)
    table.loc[3, "n"] = 1.5
    with pytest.raises(DataError, match="fractional counts in rows 5"):
        cube_from_long(table, "area", "date", "n", now=False)
    assert cube_from_long(table, "area", "date", "n", kind="values", now=False).values[0, 3] == 1.5


def test_gaps_and_incomplete_areas_warn_and_fill():
    table = _table(days=6)
    table = table[table["date"] != "2024-03-03"]  # a day with no row at all
    table = table[~((table["area"] == "c") & (table["date"] == "2024-03-05"))]
    with pytest.raises(DataError, match="not regular"):
        cube_from_long(table, "area", "date", "n", now=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cube = cube_from_long(table, "area", "date", "n", freq="D", now=False)
    kinds = {type(w.message) for w in caught}
    assert {MissingStepsWarning, IncompleteAreasWarning} <= kinds
    assert cube.shape == (3, 6) and cube.values[:, 2].sum() == 0
    assert cube.gaps_ == (pd.Timestamp("2024-03-03"),) and cube.incomplete_areas_ == ("c",)


def test_future_times_and_mixed_zones_are_refused():
    table = _table()
    table.loc[2, "date"] = "2099-01-01"
    with pytest.raises(DataError, match="2099-01-01 00:00 in rows 4"):
        cube_from_long(table, "area", "date", "n", now="2024-12-31")
    zoned = _table().assign(date=lambda f: f["date"] + "T10:00:00+09:00")
    zoned.loc[[1, 7], "date"] = zoned.loc[[1, 7], "date"].str.replace("+09:00", "Z")
    with pytest.raises(DataError, match=r"mixes time zones: most rows are \+09:00, rows 3, 9"):
        cube_from_long(zoned, "area", "date", "n", now=False)
    # one zone throughout: converted to local time before binning
    same = _table().assign(date=lambda f: f["date"] + "T23:30:00+00:00")
    cube = cube_from_long(same, "area", "date", "n", tz="Asia/Seoul", now=False)
    assert cube.steps[0] == pd.Timestamp("2024-03-02")


def test_events_and_wide_tables():
    events = pd.DataFrame(
        {"dong": ["x", "x", "y", "x"], "t": ["2024-01-01 08:00", "2024-01-01 22:00",
                                              "2024-01-09", "2024-01-15"]}
    )  # fmt: skip
    weekly = cube_from_events(events, "dong", "t", freq="W-SUN", start="2024-01-01",
                              end="2024-01-28", now=False)  # fmt: skip
    assert weekly.shape == (2, 4)
    np.testing.assert_array_equal(weekly.values, [[2, 0, 1, 0], [0, 1, 0, 0]])
    wide = pd.DataFrame({"gu": ["a", "b"], 2015: [1.0, 2.0], 2016: [3.0, 4.0], 2017: [5, 6]})
    cube = cube_from_wide(wide, "gu", kind="values", now=False)
    assert list(cube.steps) == [2015, 2016, 2017] and cube.values[1, 2] == 6.0


def test_values_with_cells_without_a_row_need_fill_and_missing_keeps_them_missing():
    table = _table().iloc[1:]  # the first (area, step) has no row
    with pytest.raises(DataError, match=r"have no row.*fill='missing' \(or a number\)"):
        cube_from_long(table, "area", "date", "n", kind="values", now=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = cube_from_long(table, "area", "date", "n", kind="values", fill="missing", now=False)
        assert np.isnan(cube.values).sum() == 1
        zero = cube_from_long(table, "area", "date", "n", kind="values", fill=0, now=False)
        assert not np.isnan(zero.values).any()
        assert np.nansum(zero.values) == np.nansum(cube.values)
    with pytest.raises(SpecificationError, match="fill must be a number or 'missing'"):
        cube_from_long(table, "area", "date", "n", kind="values", fill="none", now=False)
