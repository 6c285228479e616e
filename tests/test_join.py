import json
import warnings

import numpy as np
import pandas as pd
import pytest

from dongne.errors import CodeMatchError, DataError, SpecificationError, UnmatchedWarning
from dongne.io import join_by_code, read_table
from dongne.io.combine import column_kinds


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)
        return join_by_code(*args, **kwargs)


# -- the acceptance case of the foundation issue -----------------------------------------------
def test_census2010_to_2013_dongs_reports_416_matched(seoul_dongs_plain, census_path):
    with pytest.warns(UnmatchedWarning, match="7 area.*8 table row"):
        frame, report = join_by_code(seoul_dongs_plain, census_path, key="dong_code")
    assert report.matched_rows == 416 and report.matched_areas == 416
    assert len(frame) == 423 and frame["households"].notna().sum() == 416
    assert sorted(report.unmatched_rows["code"]) == [
        "1101065",
        "1101066",
        "1102061",
        "1102062",
        "1102063",
        "1102064",
        "1102066",
        "1111075",
    ]
    assert report.unmatched_rows.set_index("code").loc["1111075", "name"] == "공릉1·3동"
    assert sorted(report.unmatched_areas["code"]) == [
        "1101073",
        "1102069",
        "1102070",
        "1102071",
        "1102072",
        "1102073",
        "1111079",
    ]
    assert "다산동" in report.unmatched_areas["name"].tolist()
    assert report.name_mismatches.empty  # data README: no name differs among the 416
    text = report.summary()
    assert "1111075 공릉1·3동" in text and "1102070 다산동" in text and "line 12" in text
    assert any("crosswalk" in h for h in report.hints)
    assert any("'혜화동'" in h for h in report.hints)


def test_crosswalk_places_every_row(seoul_dongs_plain, census_path, crosswalk_path):
    frame, report = join_by_code(
        seoul_dongs_plain,
        census_path,
        key="dong_code",
        crosswalk=crosswalk_path,
        combine={"households": "sum", "basement_households": "sum"},
    )
    assert report.complete and report.matched_areas == 423 and report.matched_rows == 424
    assert report.crosswalk["from"] == "dong_code_2010"  # chosen by overlap
    assert report.crosswalk["to"] == "dong_code_2013"
    assert report.crosswalk["translated"] == 8
    hyehwa = frame.set_index("dong_code").loc["1101073"]
    assert hyehwa["households"] == 4882 + 3045  # 혜화동 + 명륜3가동, 2010
    comb = report.combined.iloc[0]
    assert comb["from_codes"] == ["1101065", "1101066"]
    # a ratio is not summed, and the two 2010 names are not glued together
    assert comb["missing_columns"] == ["dong_name", "basement_household_pct"]
    assert np.isnan(hyehwa["basement_household_pct"]) and pd.isna(hyehwa["dong_name_table"])
    assert hyehwa["gu_name_table"] == "종로구"  # the same on both rows: kept
    assert frame["households"].sum() == 3_504_297  # nothing lost or double counted


def test_crosswalk_merge_without_combine_is_an_error(
    seoul_dongs_plain, census_path, crosswalk_path
):
    with pytest.raises(
        CodeMatchError, match=r"1101073 <- lines 12, 13 \(crosswalk merge\).*combine='sum'"
    ):
        join_by_code(seoul_dongs_plain, census_path, key="dong_code", crosswalk=crosswalk_path)


def test_strict_fails_and_names_rows(seoul_dongs_plain, census_path):
    with pytest.raises(CodeMatchError, match=r"strict join failed(.|\n)*1102061 신당1동"):
        join_by_code(seoul_dongs_plain, census_path, key="dong_code", strict=True)


# -- normalisation ----------------------------------------------------------------------------
def test_int_codes_match_text_codes(seoul_dongs_plain, census_path):
    table = read_table(census_path)
    table["dong_code"] = table["dong_code"].astype(np.int64)
    _, report = _quiet(seoul_dongs_plain, table, key="dong_code")
    assert report.matched_rows == 416
    assert "numeric (int64); compared as text" in report.normalisation[0]


def test_float_codes_with_gaps(seoul_dongs_plain, census_path):
    table = read_table(census_path)
    table["dong_code"] = table["dong_code"].astype(float)
    table.loc[3, "dong_code"] = np.nan
    _, report = _quiet(seoul_dongs_plain, table, key="dong_code")
    assert report.matched_rows == 415
    missing = report.unmatched_rows[report.unmatched_rows["reason"] == "missing code"]
    assert missing["row"].tolist() == [4]  # 1-based data row
    assert missing["line"].tolist() == [5]  # 1-based file line: the header is line 1
    text = report.summary()
    assert "line 5 of seoul_dong_indicators_census2010.csv: (no code) 평창동 — missing code" in text
    assert "a table row without a code is named '평창동', like area 1101056" in text
    table.attrs = {}  # a frame built in memory has no file lines
    _, report = _quiet(seoul_dongs_plain, table, key="dong_code")
    assert "data row 4 (1-based): (no code) 평창동" in report.summary()


def test_lost_leading_zeros_restored(grid_areas):
    table = pd.DataFrame(
        {"code": [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009], "value": range(9)}
    )
    frame, report = join_by_code(grid_areas, table, key="code")
    assert report.complete
    assert frame["value"].tolist() == list(range(9))
    assert "zero-padded to 5 digits" in report.normalisation[-1]


def test_mois_10_digit_to_8_digit():
    import geopandas as gpd
    from shapely import box

    areas = gpd.GeoDataFrame(
        {"adm_cd": ["11110515", "11110530"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=5179
    )
    table = pd.DataFrame({"행정기관코드": ["1111051500", "1111053000"], "n": [1, 2]})
    frame, report = join_by_code(areas, table, key="adm_cd", table_key="행정기관코드")
    assert report.complete and frame["n"].tolist() == [1, 2]
    assert "10-digit MOIS codes cut to 8 digits" in report.normalisation[0]


def test_different_code_systems_explained(seoul_dongs_plain):
    # A join that places nothing fails (it used to return an all-missing frame and exit 0).
    table = pd.DataFrame({"adm_code_mois": ["1111051500", "1111053000"], "n": [1, 2]})
    with pytest.raises(
        CodeMatchError,
        match=r"no table row was placed on an area \(0 of 2\)\. The areas use 7-digit KOSTAT"
        r".*the table uses 10-digit MOIS.*Fix: .*table_key= \(command line --table-key\).*"
        r"crosswalk= \(--crosswalk\)",
    ):
        join_by_code(seoul_dongs_plain, table, key="dong_code", table_key="adm_code_mois")


def test_kostat_vs_mois_gu_codes_hint():
    from dongne.datasets import seoul_gu

    gu = seoul_gu(indicators=False)
    table = pd.DataFrame({"code": gu["gu_code_mois"], "gu_name": gu["gu_name"], "n": range(25)})
    _, report = _quiet(gu, table, key="gu_code", table_key="code")
    # Five MOIS codes are KOSTAT codes of *other* gu: the names give it away.
    assert report.matched_rows == 5
    assert len(report.name_mismatches) == 5
    mis = report.name_mismatches.set_index("code")
    assert mis.loc["11140", "table_name"] == "중구"  # MOIS 11140 = 중구
    assert any("KOSTAT" in h and "MOIS" in h for h in report.hints)
    assert any("may be wrong" in h for h in report.hints)
    _, report = join_by_code(gu, table, key="gu_code_mois", table_key="code")
    assert report.complete


def test_coarser_table_hint(seoul_dongs_plain):
    table = pd.DataFrame({"gu_code": ["11010", "11020"], "n": [1, 2]})
    with pytest.raises(CodeMatchError, match="0 of 2.*coarser level"):
        join_by_code(seoul_dongs_plain, table, key="dong_code", table_key="gu_code")
    # with one dong row placed, the other (a gu code) gets the hint in the report
    table = pd.DataFrame({"code": ["1101053", "11020"], "n": [1, 2]})
    _, report = _quiet(seoul_dongs_plain, table, key="dong_code", table_key="code")
    assert any("coarser level" in h for h in report.hints)


# -- duplicates, names, key errors ------------------------------------------------------------
def test_duplicated_table_codes_error_then_combine(grid_areas):
    table = pd.DataFrame(
        {"code": ["01001", "01001", "01002"], "n": [1, 2, 5], "label": ["a", "b", "c"]}
    )
    with pytest.raises(
        CodeMatchError, match=r"01001 <- data rows 1, 2 \(1-based\) \(duplicated code\)"
    ):
        join_by_code(grid_areas, table, key="code")
    frame, report = _quiet(grid_areas, table, key="code", combine="sum")
    assert frame.set_index("code").loc["01001", "n"] == 3
    assert pd.isna(frame.set_index("code").loc["01001", "label"])  # "a" vs "b": never "a + b"
    assert report.combined["missing_columns"].tolist() == [["label"]]
    assert report.duplicates["how"].tolist() == ["duplicated code, combined"]
    assert report.duplicates["rows"].tolist() == [[1, 2]]
    frame, _ = _quiet(grid_areas, table, key="code", combine={"n": "sum", "label": "first"})
    assert frame.set_index("code").loc["01001", "label"] == "a"  # declared
    frame, _ = _quiet(grid_areas, table, key="code", combine={"*": "sum", "label": "first"})
    assert frame.set_index("code").loc["01001", ["n", "label"]].tolist() == [3, "a"]


def test_duplicated_area_codes(grid_areas):
    grid_areas.loc[4, "code"] = "01001"
    with pytest.raises(
        CodeMatchError, match=r"codes 01001 occur on several areas \(features 1, 5 \(1-based\)\)"
    ):
        join_by_code(grid_areas, pd.DataFrame({"code": ["01001"]}), key="code")


def test_wrong_key_suggests_the_right_column(seoul_dongs_plain, census_path):
    with pytest.raises(CodeMatchError, match=r"no column 'code'.*did you mean 'dong_code'"):
        join_by_code(seoul_dongs_plain, census_path, key="dong_code", table_key="code")


def test_name_mismatches_reported(grid_areas):
    table = pd.DataFrame({"code": grid_areas["code"], "name": grid_areas["name"]})
    table.loc[2, "name"] = "삼동"
    _, report = join_by_code(grid_areas, table, key="code")
    assert report.name_mismatches.to_dict("records") == [
        {"code": "01003", "area_name": "3동", "table_name": "삼동"}
    ]


def test_column_collision_suffix(grid_areas):
    table = pd.DataFrame({"code": grid_areas["code"], "name": grid_areas["name"]})
    frame, _ = join_by_code(grid_areas, table, key="code")
    assert "name_table" in frame.columns and frame.crs == grid_areas.crs


def test_report_saved_as_json_and_text(tmp_path, seoul_dongs_plain, census_path):
    frame, report = _quiet(seoul_dongs_plain, census_path, key="dong_code")
    js = json.loads(report.save(tmp_path / "r.json").read_text(encoding="utf-8"))
    assert js["matched_rows"] == 416 and len(js["unmatched_rows"]) == 8
    assert js["unmatched_rows"][0] == {
        "row": 11,
        "line": 12,
        "code": "1101065",
        "name": "혜화동",
        "reason": "code not among the areas",
    }
    assert "매칭 보고서" in report.save(tmp_path / "r.txt").read_text(encoding="utf-8")
    assert frame.attrs["dongne"]["match_reports"][0]["matched_rows"] == 416


def test_order_and_index_of_areas_preserved(grid_areas):
    areas = grid_areas.set_index(pd.Index(list("abcdefghi"))).iloc[::-1]
    table = pd.DataFrame({"code": grid_areas["code"][::2], "v": [1, 2, 3, 4, 5]})
    frame, report = _quiet(areas, table, key="code")
    assert frame.index.tolist() == list("ihgfedcba")
    assert frame["v"].isna().sum() == 4 and len(report.unmatched_areas) == 4


def test_unknown_combine_rule(grid_areas):
    table = pd.DataFrame({"code": ["01001", "01001"], "n": [1, 2]})
    with pytest.raises(SpecificationError, match="combine rule 'total'"):
        join_by_code(grid_areas, table, key="code", combine="total")


# -- combining is column-aware (issue 15, item 1) ---------------------------------------------
def test_combine_sum_refuses_to_add_percentages(seoul_dongs_plain, census_path, crosswalk_path):
    # The README's example: --combine sum used to give 혜화동 7.19 + 10.02 = 17.21 %.
    with pytest.raises(
        CodeMatchError,
        match=r"'basement_household_pct' \(rate: its name says percentage.*"
        r"1101073, 'basement_household_pct': 7\.19 \+ 10\.02\).*Nothing was joined.*"
        r"rates=.*--rate col=numerator/denominator\*100.*--column-kind col=count",
    ):
        join_by_code(
            seoul_dongs_plain, census_path, key="dong_code", crosswalk=crosswalk_path,
            combine="sum",
        )  # fmt: skip


@pytest.mark.parametrize(
    "rates",
    [
        {"basement_household_pct": ("basement_households", "households", 100)},
        {"basement_household_pct": "basement_households / households * 100"},
        ["basement_household_pct=basement_households/households*100"],  # as --rate gives it
    ],
)
def test_combine_sum_recomputes_declared_rate(
    seoul_dongs_plain, census_path, crosswalk_path, rates
):
    frame, report = join_by_code(
        seoul_dongs_plain, census_path, key="dong_code", crosswalk=crosswalk_path,
        combine="sum", rates=rates, strict=True,
    )  # fmt: skip
    d = frame.set_index("dong_code")
    # 혜화동 2013 = 혜화동 2010 (351 of 4,882) + 명륜3가동 2010 (305 of 3,045): 656 / 7,927
    assert d.loc["1101073", "basement_households"] == 656
    assert d.loc["1101073", "households"] == 7927
    assert d.loc["1101073", "basement_household_pct"] == pytest.approx(100 * 656 / 7927, abs=1e-12)
    assert round(d.loc["1101073", "basement_household_pct"], 2) == 8.28
    # counts still add up to the published 2010 totals (data README: Seoul 3,504,297 households,
    # 308,660 basement households); the other areas keep their published share
    assert frame["households"].sum() == 3_504_297
    assert frame["basement_households"].sum() == 308_660
    assert d.loc["1101053", "basement_household_pct"] == 2.47
    assert d.loc["1102069", "basement_household_pct"] == 9.16  # renamed 신당1동: one row, kept
    comb = report.combined.iloc[0]
    assert comb["recomputed"] == ["basement_household_pct=basement_households/households*100"]
    assert comb["missing_columns"] == ["dong_name"]  # 혜화동 vs 명륜3가동: left missing
    assert d.loc["1101073", "gu_name_table"] == "종로구"
    assert "recomputed: basement_household_pct=basement_households/households*100" in str(report)


def test_rate_formula_is_checked_against_the_table(seoul_dongs_plain, census_path, crosswalk_path):
    with pytest.raises(
        SpecificationError,
        match=r"rate basement_household_pct=basement_households/households does not reproduce "
        r"the table's own 'basement_household_pct' on 399 of 424 rows \(e\.g\. line 2 of "
        r"\S+: table 2\.47, formula 0\.0246949\)\. Fix: .*--rate",
    ):
        join_by_code(
            seoul_dongs_plain, census_path, key="dong_code", crosswalk=crosswalk_path,
            combine="sum", rates={"basement_household_pct": ("basement_households", "households")},
        )  # fmt: skip
    with pytest.raises(SpecificationError, match="the denominator column 'hh' is not in the table"):
        join_by_code(
            seoul_dongs_plain, census_path, key="dong_code", crosswalk=crosswalk_path,
            combine="sum", rates=["basement_household_pct=basement_households/hh*100"],
        )  # fmt: skip
    with pytest.raises(SpecificationError, match="cannot read 'basement_households' as a formula"):
        join_by_code(
            seoul_dongs_plain, census_path, key="dong_code",
            rates={"basement_household_pct": "basement_households"},
        )  # fmt: skip


def test_column_kinds_from_names_and_values():
    t = pd.DataFrame(
        {
            "code": ["1", "2"],
            "year": [2010, 2010],
            "households": [4882, 3045],
            "pop_65plus_pct": [10.5, 12.0],
            "고령화율": [10.5, 12.0],
            "노인비율": [1, 2],
            "mean_age": [38, 41],
            "중위연령": [38.5, 41.0],
            "crimes_per_1000": [3, 4],
            "인구밀도": [15000, 16000],
            "share_small": [0.25, 0.5],
            "area_km2": [1.5, 2.25],
            "count_big": [150.5, 20.25],
            "name": ["a", "b"],
            "flag": [True, False],
        }
    )
    kinds = {c: k for c, (k, _) in column_kinds(t).items()}
    assert kinds == {
        "code": "id",
        "year": "id",
        "households": "count",
        "pop_65plus_pct": "rate",
        "고령화율": "rate",
        "노인비율": "rate",
        "mean_age": "mean",
        "중위연령": "mean",
        "crimes_per_1000": "rate",
        "인구밀도": "rate",
        "share_small": "rate",
        "area_km2": "rate",  # decimals within [0, 100]: rate-like by value, refused unless declared
        "count_big": "count",  # a value above 100
        "name": "text",
        "flag": "text",
    }
    declared = column_kinds(t, kinds={"area_km2": "count"})
    assert declared["area_km2"] == ("count", "declared")
    with pytest.raises(SpecificationError, match=r"area_km2='area'.*--column-kind"):
        column_kinds(t, kinds={"area_km2": "area"})
    with pytest.raises(SpecificationError, match=r"'areakm2' that the table does not have"):
        column_kinds(t, kinds={"areakm2": "count"})


def test_declared_kinds_decide_what_is_summed(grid_areas):
    table = pd.DataFrame(
        {
            "code": ["01001", "01001", "01002"],
            "year": [2020, 2020, 2020],
            "area_km2": [0.5, 0.25, 1.0],
            "n": [1, 2, 5],
        }
    )
    with pytest.raises(CodeMatchError, match=r"'area_km2' \(rate: its values all lie between 0"):
        join_by_code(grid_areas, table, key="code", combine="sum")
    frame, report = _quiet(
        grid_areas, table, key="code", combine="sum", kinds={"area_km2": "count"}
    )
    row = frame.set_index("code").loc["01001"]
    assert row["area_km2"] == 0.75 and row["n"] == 3
    assert row["year"] == 2020  # an id-like number is never summed (not 4040)
    table.loc[1, "year"] = 2021
    frame, report = _quiet(
        grid_areas, table, key="code", combine="sum", kinds={"area_km2": "count"}
    )
    assert pd.isna(frame.set_index("code").loc["01001", "year"])  # differs: left missing
    assert report.combined["missing_columns"].tolist() == [["year"]]


def test_sum_with_a_missing_part_is_missing(grid_areas):
    table = pd.DataFrame({"code": ["01001", "01001"], "n": [1.0, np.nan]})
    frame, report = _quiet(grid_areas, table, key="code", combine="sum")
    assert pd.isna(frame.set_index("code").loc["01001", "n"])  # not 1: a partial sum undercounts
    assert report.combined["missing_columns"].tolist() == [["n"]]


def test_per_column_sum_of_a_rate_is_refused(grid_areas):
    table = pd.DataFrame({"code": ["01001", "01001"], "n": [1, 2], "n_pct": [10.5, 20.5]})
    with pytest.raises(CodeMatchError, match=r"'n_pct' \(rate"):
        join_by_code(grid_areas, table, key="code", combine={"n": "sum", "n_pct": "sum"})
    frame, _ = _quiet(grid_areas, table, key="code", combine={"n": "sum", "n_pct": "max"})
    assert frame.set_index("code").loc["01001", "n_pct"] == 20.5  # declared max: allowed


# -- name columns by agreement, not header order (issue 15, item 2) ---------------------------
def test_gu_name_before_dong_name_census(seoul_dongs_plain, census_path):
    table = read_table(census_path)
    table = table[["dong_code", "gu_name", "gu_code", "dong_name", "households"]]
    with pytest.warns(UnmatchedWarning, match="7 area.*8 table row"):
        _, report = join_by_code(seoul_dongs_plain, table, key="dong_code")
    assert report.name_columns["table"] == "dong_name"
    assert report.name_columns["areas"] == "dong_name"
    assert report.name_mismatches.empty
    assert not any("may be wrong" in h for h in report.hints)
    names = report.unmatched_rows.set_index("code")["name"]
    assert names["1101065"] == "혜화동" and names["1111075"] == "공릉1·3동"
    assert any("'혜화동'" in h for h in report.hints)


def _dongs_2022_like(areas: pd.DataFrame) -> pd.DataFrame:
    """A table on later codes, gu_name before dong_name: 5 of the 423 areas' codes vanish,
    8 new codes appear (the 2022 code list is not bundled, so the vintage is built here)."""
    table = pd.DataFrame(
        {
            "gu_name": areas["gu_name"],
            "dong_code": areas["dong_code"],
            "dong_name": areas["dong_name"],
            "households": np.arange(len(areas)) + 100,
        }
    )
    vanished = ["1101073", "1102069", "1111079", "1124055", "1125051"]
    table = table[~table["dong_code"].isin(vanished)]
    new = pd.DataFrame(
        {
            "gu_name": ["종로구"] * 2 + ["중구"] * 2 + ["노원구"] * 2 + ["강동구"] * 2,
            "dong_code": [f"99{k:05d}" for k in range(8)],
            "dong_name": [
                "새1동",
                "새2동",
                "새3동",
                "새4동",
                "새5동",
                "새6동",
                "상일1동",
                "상일2동",
            ],
            "households": range(8),
        }
    )
    return pd.concat([table, new], ignore_index=True)


def test_gu_name_before_dong_name_on_later_codes(seoul_dongs_plain):
    table = _dongs_2022_like(seoul_dongs_plain)
    _, report = _quiet(seoul_dongs_plain, table, key="dong_code")
    assert report.matched_rows == 418 and report.n_table_rows == 426
    assert report.name_columns["table"] == "dong_name"
    assert (
        report.name_columns["how"] == "names agree on 418 of 418 rows placed under their own code"
    )
    assert report.name_mismatches.empty
    assert not any("different names" in h for h in report.hints)
    assert report.unmatched_rows["name"].tolist() == [
        "새1동", "새2동", "새3동", "새4동", "새5동", "새6동", "상일1동", "상일2동",
    ]  # fmt: skip
    assert report.unmatched_rows["line"].isna().all()  # an in-memory table: 1-based data rows
    assert report.unmatched_rows["row"].tolist() == list(range(419, 427))
    assert sorted(report.unmatched_areas["code"]) == [
        "1101073", "1102069", "1111079", "1124055", "1125051",
    ]  # fmt: skip
    text = report.summary("en")
    assert "data row 419 (1-based): 9900000 새1동" in text and "1125051 강일동" in text


def test_name_column_given(seoul_dongs_plain):
    table = _dongs_2022_like(seoul_dongs_plain)
    _, report = _quiet(seoul_dongs_plain, table, key="dong_code", name_column="gu_name")
    assert report.name_columns == {
        "areas": "gu_name",
        "table": "gu_name",
        "how": "names agree on 418 of 418 rows placed under their own code",
    }
    assert report.unmatched_rows["name"].iloc[0] == "종로구"
    with pytest.warns(FutureWarning, match="now name_column"):
        _, old = _quiet(seoul_dongs_plain, table, key="dong_code", table_name="gu_name")
    assert old.name_columns == report.name_columns
    with pytest.raises(
        DataError, match=r"no name column 'dongname'.*name_column= \(--name-column\)"
    ):
        join_by_code(seoul_dongs_plain, table, key="dong_code", name_column="dongname")


# -- a join that places nothing fails; a poor one warns (issue 15, item 3) ---------------------
def test_header_only_table_fails(tmp_path, seoul_dongs_plain):
    p = tmp_path / "empty.csv"
    p.write_text("dong_code,households\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"empty\.csv has a header \(line 1\) but no data rows"):
        join_by_code(seoul_dongs_plain, p, key="dong_code")


def test_min_match_warns_in_the_summary(seoul_dongs_plain, census_path):
    table = read_table(census_path).iloc[:100].copy()
    table.loc[:49, "dong_code"] = "9" + table.loc[:49, "dong_code"].str[1:]  # 50 of 100 wrong
    with pytest.warns(UnmatchedWarning, match=r"only 50 of 100 table rows \(50\.0 %\).*90 %"):
        _, report = join_by_code(seoul_dongs_plain, table, key="dong_code")
    assert report.match_rate == 0.5 and report.below_min_match
    assert report.summary("en").splitlines()[1].startswith("  WARNING: only 50 of 100 table rows")
    assert report.summary("ko").startswith("경고: 표의 100개 행 중 50개(50.0%)만")
    assert report.to_dict()["min_match"] == 0.9
    _, report = _quiet(seoul_dongs_plain, table, key="dong_code", min_match=0.5)
    assert "WARNING" not in report.summary("en")
    with pytest.raises(SpecificationError, match=r"min_match must lie in \[0, 1\].*--min-match"):
        join_by_code(seoul_dongs_plain, table, key="dong_code", min_match=90)


# -- row references are 1-based file lines (issue 15, item 4) ----------------------------------
def test_file_lines_survive_blank_lines(tmp_path, grid_areas):
    p = tmp_path / "gaps.csv"
    p.write_text("code,n\n01001,1\n\n01002,2\n99999,3\n\n\n01001,4\n", encoding="utf-8")
    table = read_table(p)
    assert table.attrs["dongne"]["data_lines"] == [2, 4, 5, 8]
    with pytest.raises(
        CodeMatchError, match=r"gaps\.csv, column 'code'.*01001 <- lines 2, 8 \(duplicated"
    ):
        join_by_code(grid_areas, table, key="code")
    _, report = _quiet(grid_areas, table, key="code", combine="sum")
    assert report.unmatched_rows[["row", "line"]].to_dict("records") == [{"row": 3, "line": 5}]
    assert report.duplicates[["rows", "lines"]].to_dict("records") == [
        {"rows": [1, 4], "lines": [2, 8]}
    ]
    assert "line 5 of gaps.csv: 99999" in report.summary("en")
