import json
import warnings

import numpy as np
import pandas as pd
import pytest

from dongne.errors import CodeMatchError, DataError, UnmatchedWarning
from dongne.io import join_by_code, read_table


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
    assert comb["missing_columns"] == ["basement_household_pct"]  # a ratio: not summed
    assert np.isnan(hyehwa["basement_household_pct"])
    assert frame["households"].sum() == 3_504_297  # nothing lost or double counted


def test_crosswalk_merge_without_combine_is_an_error(
    seoul_dongs_plain, census_path, crosswalk_path
):
    with pytest.raises(
        CodeMatchError, match=r"1101073 <- rows 10, 11 \(crosswalk merge\).*combine='sum'"
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
    assert missing["row"].tolist() == [3]


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
    table = pd.DataFrame({"adm_code_mois": ["1111051500", "1111053000"], "n": [1, 2]})
    _, report = _quiet(seoul_dongs_plain, table, key="dong_code", table_key="adm_code_mois")
    assert report.matched_rows == 0
    assert report.code_systems["table"].startswith("10-digit MOIS")
    assert report.code_systems["areas"].startswith("7-digit KOSTAT")
    assert "crosswalk" in report.hints[0]


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
    _, report = _quiet(seoul_dongs_plain, table, key="dong_code", table_key="gu_code")
    assert any("coarser level" in h for h in report.hints)


# -- duplicates, names, key errors ------------------------------------------------------------
def test_duplicated_table_codes_error_then_combine(grid_areas):
    table = pd.DataFrame(
        {"code": ["01001", "01001", "01002"], "n": [1, 2, 5], "label": ["a", "b", "c"]}
    )
    with pytest.raises(CodeMatchError, match=r"01001 <- rows 0, 1 \(duplicated code\)"):
        join_by_code(grid_areas, table, key="code")
    frame, report = _quiet(grid_areas, table, key="code", combine="sum")
    assert frame.set_index("code").loc["01001", "n"] == 3
    assert frame.set_index("code").loc["01001", "label"] == "a + b"
    assert report.duplicates["how"].tolist() == ["duplicated code, combined"]


def test_duplicated_area_codes(grid_areas):
    grid_areas.loc[4, "code"] = "01001"
    with pytest.raises(CodeMatchError, match=r"codes 01001 occur on several areas \(rows 0, 4\)"):
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
        "row": 10,
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
    with pytest.raises(DataError, match="combine rule 'total'"):
        join_by_code(grid_areas, table, key="code", combine="total")
