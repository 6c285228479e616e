"""The code history between two vintages, read from geometry alone.

Reference: the changes between the 2013 census dongs and the administrative dongs of
2021-04-01 reported by KOSTAT / the districts (오류2동 → 오류2동 + 항동; 장지동 → 장지동 +
위례동, 위례동 also taking part of 거여2동; 답십리1동 given a new code), and small layers
whose answer is known by construction. For the 2022 vintage (MOIS road-name address map,
from 2022-12-23): the 2021-07-01 split of 강일동 (강일동 + 상일제2동) with 상일동 becoming
상일제1동, and the 2022-12-23 rename of 일원2동 to 개포3동 (강동구 and 강남구 notices, as listed
in issue 21).
"""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely import box

from dongne import datasets
from dongne.errors import SpecificationError
from dongne.regions import RELATIONS, change_table


@pytest.fixture(scope="module")
def seoul_changes():
    return change_table(
        datasets.seoul_dongs(indicators=False), datasets.seoul_dongs_2021(),
        old_id="dong_code", new_id="dong_code", old_name="dong_name", new_name="dong_name",
    )  # fmt: skip


def test_seoul_splits_and_recodes_recovered(seoul_changes):
    rel = seoul_changes.relations.set_index("old_name")
    assert rel.loc["오류2동", "relation"] == "split"
    assert rel.loc["오류2동", "new_names"] == "오류2동 + 항동"
    assert rel.loc["오류2동", "new_codes"] == "1117073 + 1117074"
    assert rel.loc["장지동", "relation"] == "split"
    assert rel.loc["장지동", "new_names"] == "장지동 + 위례동"
    assert rel.loc["거여2동", "new_names"] == "거여2동 + 위례동"
    assert rel.loc["답십리1동", "relation"] == "recoded"
    assert rel.loc["답십리1동", "new_codes"] == "1106091"
    counts = seoul_changes.relations["relation"].value_counts()
    assert counts["split"] == 3 and counts["unchanged"] == 416
    assert set(counts.index) <= set(RELATIONS)
    new = seoul_changes.new_areas.set_index("new_name")
    assert new.loc["위례동", "from_names"] == "장지동 + 거여2동"
    assert new.loc["항동", "from_names"] == "오류2동"


@pytest.fixture(scope="module")
def seoul_changes_2022():
    return change_table(
        datasets.seoul_dongs(indicators=False), datasets.seoul_dongs_2022(),
        old_id="dong_code", new_id="dong_code", old_name="dong_name", new_name="dong_name",
    )  # fmt: skip


def test_seoul_2013_to_2022_splits_and_renames_recovered(seoul_changes_2022):
    rel = seoul_changes_2022.relations.set_index("old_name")
    expected = {
        "오류2동": ("split", "오류2동 + 항동"),
        "장지동": ("split", "장지동 + 위례동"),
        "거여2동": ("split", "거여2동 + 위례동"),
        "강일동": ("split", "강일동 + 상일제2동"),
        "상일동": ("renamed", "상일제1동"),
        "일원2동": ("renamed", "개포3동"),
        "답십리1동": ("recoded", "답십리1동"),
    }
    for old_name, (relation, new_names) in expected.items():
        assert (rel.loc[old_name, "relation"], rel.loc[old_name, "new_names"]) == (
            relation, new_names), old_name  # fmt: skip
    assert rel.loc["강일동", "new_codes"] == "1125075 + 1125077"
    assert rel.loc["상일동", "new_codes"] == "1125076"
    counts = seoul_changes_2022.relations["relation"].value_counts()
    assert counts["split"] == 4 and counts["renamed"] == 2 and counts["recoded"] == 1
    assert "merged" not in counts and "dissolved" not in counts
    # the rest is one to one: unchanged, or a boundary drawn differently (the Han)
    assert counts["unchanged"] + counts["boundary change"] == 423 - 7
    new = seoul_changes_2022.new_areas.set_index("new_name")
    assert new.loc["상일제2동", "from_names"] == "강일동"
    assert new.loc["위례동", "from_names"] == "장지동 + 거여2동"
    cw = seoul_changes_2022.crosswalk()
    gangil = cw[cw["old_code"] == "1125051"].set_index("new_code")["weight"]
    assert gangil.sum() == pytest.approx(1.0)
    # 상일제2동's share of the 2013 강일동, checked against a direct GEOS intersection
    old_poly = datasets.seoul_dongs(indicators=False).to_crs(5179).set_index("dong_code")
    new_poly = datasets.seoul_dongs_2022().to_crs(5179).set_index("dong_code")
    a = old_poly.geometry["1125051"]
    direct = a.intersection(new_poly.geometry["1125077"]).area / a.area
    links = seoul_changes_2022.links.set_index(["old_code", "new_code"])["share_of_old"]
    assert links[("1125051", "1125077")] == pytest.approx(direct, rel=1e-6)
    assert 0.25 < direct < 0.45
    # the crosswalk rescales the links of 강일동 (the rest are slivers) to sum to 1
    kept = links[("1125051", "1125075")]
    assert gangil["1125077"] == pytest.approx(direct / (direct + kept), rel=1e-9)


def test_seoul_2021_to_2022_only_the_2021_07_and_2022_12_changes():
    ch = change_table(
        datasets.seoul_dongs_2021(), datasets.seoul_dongs_2022(),
        old_id="dong_code", new_id="dong_code", old_name="dong_name", new_name="dong_name",
    )  # fmt: skip
    changed = ch.relations.set_index("old_name")
    changed = changed[changed["relation"].isin(["split", "renamed", "recoded", "merged"])]
    assert changed[["relation", "new_names"]].to_dict("index") == {
        "강일동": {"relation": "split", "new_names": "강일동 + 상일제2동"},
        "상일동": {"relation": "renamed", "new_names": "상일제1동"},
        "일원2동": {"relation": "renamed", "new_names": "개포3동"},
    }


def test_crosswalk_conserves_and_hint_names_new_codes(seoul_changes):
    cw = seoul_changes.crosswalk()
    sums = cw.groupby("old_code")["weight"].sum()
    assert sums.min() == pytest.approx(1.0) and sums.max() == pytest.approx(1.0)
    oryu = cw[cw["old_code"] == "1117068"].set_index("new_code")["weight"]
    assert oryu["1117074"] == pytest.approx(0.283, abs=0.01)  # 항동 took 28 % of 오류2동
    hint = seoul_changes.hint(["1117074", "1124082", "9999999", "1117068"])
    assert hint == (
        "3 of 4 codes are in the change table: 1117074 항동: new code, from 1117068 오류2동; "
        "1124082 위례동: new code, from 1124070 + 1124054 장지동 + 거여2동; "
        "1117068 오류2동: split → 1117073 오류2동 + 1117074 항동"
    )
    assert seoul_changes.hint(["9999999"]) == ""
    assert "분동" in seoul_changes.summary("ko") and "split" in seoul_changes.summary("en")


def _layer(rows):
    return gpd.GeoDataFrame(
        {"code": [r[0] for r in rows], "name": [r[1] for r in rows]},
        geometry=[box(*r[2]) for r in rows], crs="EPSG:5179",
    )  # fmt: skip


def test_every_relation_on_a_constructed_map():
    old = _layer([
        ("1", "가", (0, 0, 100, 100)), ("2", "나", (100, 0, 200, 100)),
        ("3", "다", (200, 0, 300, 100)), ("4", "라", (300, 0, 400, 100)),
        ("5", "마", (400, 0, 500, 100)), ("6", "바", (500, 0, 600, 100)),
        ("7", "사", (600, 0, 700, 100)),
    ])  # fmt: skip
    new = _layer([
        ("1", "가", (0, 0, 100, 100)),       # unchanged
        ("20", "나", (100, 0, 200, 100)),    # recoded
        ("3", "다다", (200, 0, 300, 100)),   # renamed
        ("40", "라마", (300, 0, 500, 100)),  # 라 + 마 merged
        ("6", "바", (500, 0, 550, 100)),     # 바 split into 바 + 아
        ("8", "아", (550, 0, 600, 100)),
        ("7", "사", (600, 0, 670, 100)),     # 사 lost 30 % to nothing: boundary change
    ])  # fmt: skip
    rel = change_table(old, new, old_id="code", new_id="code", old_name="name",
                       new_name="name").relations.set_index("old_name")["relation"]  # fmt: skip
    assert rel.to_dict() == {
        "가": "unchanged", "나": "recoded", "다": "renamed", "라": "merged", "마": "merged",
        "바": "split", "사": "boundary change",
    }  # fmt: skip


def test_shares_must_be_shares():
    old = _layer([("1", "가", (0, 0, 1, 1))])
    with pytest.raises(SpecificationError, match="min_share"):
        change_table(old, old, old_id="code", new_id="code", min_share=1.5)


# --- a join on another vintage's codes: the match report offers the change table and
# interpolation (issue 21: "8 codes are 2022 codes: interpolate with --from-vintage").

_VOTES = datasets.data_path("seoul_vote_2022_president_dong.csv")
_NEW_2022 = ["1106091", "1117073", "1117074", "1124081", "1124082", "1125075", "1125076",
             "1125077"]  # fmt: skip


def test_match_report_names_the_vintage_of_unplaced_codes():
    import warnings

    from dongne.io import join_by_code, read_table

    votes = read_table(_VOTES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r13 = join_by_code(datasets.seoul_dongs(indicators=False), votes, key="dong_code").report
        r22 = join_by_code(datasets.seoul_dongs_2022(), votes, key="dong_code").report
        census = join_by_code(datasets.seoul_dongs(indicators=False),
                              datasets.data_path("seoul_dong_indicators_census2010.csv"),
                              key="dong_code").report  # fmt: skip
    # onto the 2013 dongs: the 8 unplaced codes are 2022 codes, and so are 425 of 426
    assert r13.vintage["vintage"] == "2022" and r13.vintage["areas_vintage"] == "2013"
    assert r13.vintage["codes"] == _NEW_2022 and set(r13.vintage["of_vintage"]) == {"2022"}
    assert (r13.vintage["n_table_known"], r13.vintage["n_table"]) == (425, 426)
    hint = next(h for h in r13.hints if "boundary vintage" in h)
    assert hint.startswith("8 of 8 unplaced codes are dong codes of a boundary vintage")
    assert "dongne join --from-vintage 2022" in hint and "vintage='2022'" in hint
    assert "--from-vintage 2022" in r13.summary("ko")
    assert r13.to_dict()["vintage"]["codes"] == _NEW_2022
    # onto the 2022 dongs: 일원2동's 2021 code (renamed 개포3동 on 2022-12-23)
    assert r22.vintage["codes"] == ["1123074"] and r22.vintage["of_vintage"] == ["2021"]
    assert r22.vintage["vintage"] == r22.vintage["areas_vintage"] == "2022"
    assert any("renamed or recoded dongs" in h for h in r22.hints)
    # 2010 census codes are of no bundled vintage: no such hint
    assert census.vintage is None and not any("boundary vintage" in h for h in census.hints)


def test_code_history_translates_the_renames_of_2022():
    import warnings

    from dongne.io import join_by_code, read_table
    from dongne.regions.vintages import code_history

    h = code_history("2021", "2022")
    changed = h[h["old_code"] != h["new_code"]]
    assert changed[["old_code", "new_code", "new_name"]].values.tolist() == [
        ["1123074", "1168067500", "개포3동"], ["1125052", "1125076", "상일제1동"]]  # fmt: skip
    # every 2021 dong but the split 강일동, each to one 2022 dong
    assert set(h["old_code"]) == set(datasets.seoul_dongs_2021()["dong_code"]) - {"1125051"}
    assert not h["new_code"].str.contains("+", regex=False).any()
    votes = read_table(_VOTES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # complete: nothing left unplaced
        joined, report = join_by_code(datasets.seoul_dongs_2022(), votes, key="dong_code",
                                      crosswalk=h, crosswalk_from="old_code",
                                      crosswalk_to="new_code")  # fmt: skip
    assert report.complete and report.crosswalk["translated"] == 1
    gaepo3 = joined.set_index("dong_code").loc["1168067500"]
    ilwon2 = votes.set_index("dong_code").loc["1123074"]
    assert gaepo3["valid_votes"] == ilwon2["valid_votes"]
    assert joined["valid_votes"].sum() == 5_573_471


def test_join_from_vintage_conserves_and_shares_out_the_splits():
    import warnings

    from dongne.io import read_table
    from dongne.regions import join_from_vintage

    counts = ["valid_votes", "votes_yoon_sukyeol"]
    votes = read_table(_VOTES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame, report, moved = join_from_vintage(
            datasets.seoul_dongs(indicators=False), votes, "dong_code", "2022",
            columns=counts, kinds=dict.fromkeys(counts, "count"),
        )  # fmt: skip
    # 일원2동's 2021 code translated by the change table read from the boundaries
    assert report.complete and report.crosswalk["translated"] == 1
    assert any("1123074 일원2동: renamed → 1168067500 개포3동" in h for h in report.hints)
    assert frame["valid_votes"].sum() == pytest.approx(5_573_471, rel=1e-12)
    assert moved.totals["difference_pct"].abs().max() < 1e-9
    assert len(frame) == 423 and list(frame["dong_code"]) == list(
        datasets.seoul_dongs(indicators=False)["dong_code"])  # fmt: skip
    # 오류2동 (2013) was split into 오류2동 + 항동: it gets (about) both, by area
    v = votes.set_index("dong_code")["valid_votes"]
    oryu = frame.set_index("dong_code").loc["1117068", "valid_votes"]
    assert oryu == pytest.approx(v["1117073"] + v["1117074"], rel=0.05)
    with pytest.raises(SpecificationError, match="is not known"):
        join_from_vintage(datasets.seoul_dongs(indicators=False), votes, "dong_code", "2022")
    with pytest.raises(SpecificationError, match="Unknown boundary vintage '2019'"):
        join_from_vintage(datasets.seoul_dongs(indicators=False), votes, "dong_code", "2019")
