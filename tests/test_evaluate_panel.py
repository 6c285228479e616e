"""Panel input checks and spatial-spillover exposure (dongne.evaluate.panel, .spillover)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dongne import weights
from dongne.errors import DataError, SpecificationError
from dongne.evaluate.panel import panel_from_frame, read_panel
from dongne.evaluate.spillover import SpilloverRule, find_exposed, split_for_spillover

MPDTA = Path(__file__).resolve().parents[2] / "shared" / "reference_data" / "policy" / "mpdta.csv"


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(MPDTA)


def _small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area": np.repeat(["a", "b", "c"], 3),
            "year": [2019, 2020, 2021] * 3,
            "y": np.arange(9, dtype=float),
            "x": [1.0, 2.0, 3.0, 1.0, 1.0, 2.0, 0.0, 5.0, 1.0],
            "g": [2020] * 3 + [0] * 3 + [2021] * 3,
        }
    )


def test_mpdta_panel(mpdta):
    p = panel_from_frame(
        mpdta,
        unit="countyreal",
        time="year",
        outcome="lemp",
        first_treated="first.treat",
        covariates=["lpop"],
        time_invariant=["lpop"],
    )
    assert (p.n_units, p.n_periods) == (500, 5)
    counts = p.first_treated.value_counts()
    assert counts[np.inf] == 309 and counts[2004.0] == 20
    assert counts[2006.0] == 40 and counts[2007.0] == 131
    assert p.outcome_matrix().shape == (500, 5)
    assert p.treatment_matrix().sum() == 20 * 4 + 40 * 2 + 131
    assert "500 units × 5 periods" in p.summary()


def test_wide_tables_equal_long():
    long = _small()
    ref = panel_from_frame(
        long, unit="area", time="year", outcome="y", treated_units=["a"], treatment_start=2020
    )
    by_unit = long.pivot(index="area", columns="year", values="y").reset_index()
    by_unit.columns = [str(c) for c in by_unit.columns]
    p1 = panel_from_frame(
        by_unit,
        unit="area",
        time="year",
        outcome="y",
        wide="unit_rows",
        treated_units=["a"],
        treatment_start=2020,
    )
    by_period = long.pivot(index="year", columns="area", values="y").reset_index()
    p2 = panel_from_frame(
        by_period,
        unit="area",
        time="year",
        outcome="y",
        wide="period_rows",
        first_treated={"a": 2020},
    )
    for p in (p1, p2):
        np.testing.assert_array_equal(p.outcome_matrix(), ref.outcome_matrix())
        pd.testing.assert_series_equal(p.first_treated, ref.first_treated)


def test_treatment_column_and_reversal():
    df = _small()
    df["d"] = ((df.g > 0) & (df.year >= df.g)).astype(int)
    p = panel_from_frame(df, unit="area", time="year", outcome="y", treatment="d")
    assert p.first_treated.to_dict() == {"a": 2020.0, "b": np.inf, "c": 2021.0}
    df.loc[(df.area == "a") & (df.year == 2021), "d"] = 0
    with pytest.raises(DataError, match=r"switches off again.*a \(back to 0 in 2021"):
        panel_from_frame(df, unit="area", time="year", outcome="y", treatment="d")


def test_duplicate_unit_period():
    df = pd.concat([_small(), _small().iloc[[4]]])
    with pytest.raises(DataError, match=r"1 unit-period\(s\) appear more than once: b in 2020"):
        panel_from_frame(df, unit="area", time="year", outcome="y", first_treated="g")


def test_unbalanced_error_and_drop():
    df = _small().drop(index=[5])
    with pytest.raises(
        DataError, match=r"unbalanced: 1 unit\(s\) miss 1 unit-period\(s\) \(b in 2021"
    ):
        panel_from_frame(df, unit="area", time="year", outcome="y", first_treated="g")
    p = panel_from_frame(
        df, unit="area", time="year", outcome="y", first_treated="g", balance="drop"
    )
    assert p.dropped_units == ("b",)
    assert list(p.units) == ["a", "c"]
    assert "Dropped 1 unit(s)" in p.notes[0]


def test_non_numeric_outcome_and_missing():
    df = _small().astype({"y": object})
    df.loc[3, "y"] = "n/a*"
    with pytest.raises(DataError, match=r"non-numeric value\(s\) \(b in 2019: 'n/a\*'\)"):
        panel_from_frame(df, unit="area", time="year", outcome="y", first_treated="g")


def test_time_invariant_and_collinear_covariates():
    df = _small()
    with pytest.raises(DataError, match=r"'x' was declared time-invariant but varies within 3"):
        panel_from_frame(
            df,
            unit="area",
            time="year",
            outcome="y",
            first_treated="g",
            covariates=["x"],
            time_invariant=["x"],
        )
    df["x2"] = 2 * df["x"] + 1
    with pytest.raises(DataError, match=r"Covariate\(s\) 'x2' are constant or exact linear"):
        panel_from_frame(
            df, unit="area", time="year", outcome="y", first_treated="g", covariates=["x", "x2"]
        )


def test_treatment_specification_errors():
    df = _small()
    with pytest.raises(SpecificationError, match="exactly one way"):
        panel_from_frame(df, unit="area", time="year", outcome="y")
    df["g"] = df["g"].astype(float)
    df.loc[df.area == "a", "g"] = 2020.5
    with pytest.raises(DataError, match=r"unit\(s\) a \(2020.5\) is not one of the panel's"):
        panel_from_frame(df, unit="area", time="year", outcome="y", first_treated="g")
    df.loc[df.area == "a", "g"] = 2030
    p = panel_from_frame(df, unit="area", time="year", outcome="y", first_treated="g")
    assert np.isinf(p.first_treated["a"]) and "after the last period" in p.notes[0]


def test_read_panel_cp949(tmp_path):
    df = _small().assign(
        area=lambda d: d.area.map({"a": "역삼1동", "b": "청운효자동", "c": "사직동"})
    )
    path = tmp_path / "panel.csv"
    df.to_csv(path, index=False, encoding="cp949")
    p = read_panel(path, unit="area", time="year", outcome="y", first_treated="g")
    assert list(p.units) == ["사직동", "역삼1동", "청운효자동"]
    assert p.first_treated["역삼1동"] == 2020.0


def _grid_panel(grid_areas):
    codes = grid_areas["code"].tolist()
    rows = [(c, t, 0.0) for c in codes for t in (1, 2, 3)]
    df = pd.DataFrame(rows, columns=["code", "t", "y"])
    return panel_from_frame(
        df, unit="code", time="t", outcome="y", first_treated={"01005": 2, "01001": 3}
    )


def test_spillover_rings_and_distance(grid_areas):
    # 3×3 grid, codes 01001..01009 row by row; 01005 is the centre, 01001 a corner
    p = _grid_panel(grid_areas)
    w = weights.rook(grid_areas, ids="code")
    ex = find_exposed(p, SpilloverRule(weights=w, ring=1))
    assert sorted(ex.exposed) == ["01002", "01004", "01006", "01008"]
    assert ex.exposure_start["01002"] == 2.0  # the centre (treated in 2) reaches it first
    ex2 = find_exposed(p, SpilloverRule(weights=w, ring=2))
    assert sorted(ex2.exposed) == ["01002", "01003", "01004", "01006", "01007", "01008", "01009"]
    exq = find_exposed(p, SpilloverRule(weights=weights.queen(grid_areas, ids="code"), ring=1))
    assert len(exq.exposed) == 7
    exd = find_exposed(p, SpilloverRule(areas=grid_areas, id_column="code", distance=10.0))
    assert sorted(exd.exposed) == sorted(exq.exposed)
    exposure = find_exposed(p, SpilloverRule(weights=w, handling="exposure"))
    main, side = split_for_spillover(p, exposure)
    assert sorted(main.units) == ["01001", "01003", "01005", "01007", "01009"]
    assert sorted(side.units) == ["01002", "01003", "01004", "01006", "01007", "01008", "01009"]
    assert side.first_treated["01004"] == 2.0 and np.isinf(side.first_treated["01009"])


def test_spillover_rule_errors(grid_areas):
    p = _grid_panel(grid_areas)
    with pytest.raises(SpecificationError, match="either weights"):
        find_exposed(p, SpilloverRule())
    w = weights.rook(grid_areas.iloc[:8], ids="code")
    with pytest.raises(DataError, match=r"1 panel unit\(s\) are not in the spatial weights: 01009"):
        find_exposed(p, SpilloverRule(weights=w))
