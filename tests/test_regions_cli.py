"""``dongne regions`` on the bundled Seoul cases: files, maps and summaries are written."""

from __future__ import annotations

import pandas as pd

from dongne.cli import main


def test_interpolate_seoul_case(tmp_path, capsys):
    out = tmp_path / "interp"
    assert main(["regions", "interpolate", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "오류2동 → 오류2동 + 항동 (분동)" in text and "split" in text
    for name in ("interpolated.gpkg", "interpolated.csv", "changes.csv", "links.csv",
                 "interpolated_map.png", "changes_map.png", "summary.txt",
                 "interpolated.csv.provenance.json"):  # fmt: skip
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "interpolated.csv", dtype={"dong_code": str})
    assert len(table) == 425
    assert abs(table["households"].sum() - 3_504_297) < 1e-6
    hang = table.set_index("dong_code").loc["1117074"]
    assert hang["dong_name"] == "항동" and hang["households"] > 0
    changes = pd.read_csv(out / "changes.csv", dtype=str)
    assert (changes["relation"] == "split").sum() == 3


def test_maxp_and_typology_seoul_cases(tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["regions", "maxp", "--iterations", "5", "--rounds", "1", "--out",
                 str(out)]) == 0  # fmt: skip
    regions = pd.read_csv(out / "regions_table.csv")
    assert regions["floor_total"].min() >= 20_000
    assert (out / "regions_map.png").is_file() and (out / "summary.txt").is_file()
    assert "권역" in (out / "summary.txt").read_text(encoding="utf-8")
    types = tmp_path / "types"
    assert main(["regions", "typology", "--out", str(types)]) == 0
    for name in ("types.gpkg", "profiles.csv", "model_selection.csv", "types_map.png",
                 "profiles.png", "summary.txt"):  # fmt: skip
        assert (types / name).is_file(), name
    assert "유형" in capsys.readouterr().out


def test_spectral_seoul_case(tmp_path, capsys):
    out = tmp_path / "spectral"
    assert main(["regions", "spectral", "--n-regions", "12", "--out", str(out)]) == 0
    regions = pd.read_csv(out / "regions_table.csv")
    # the discretisation of 12 eigenvectors leaves one cluster empty on seed 0 (as spopt's)
    assert len(regions) == 11 and regions["areas"].sum() == 423
    text = (out / "summary.txt").read_text(encoding="utf-8")
    assert "spectral (contiguous): 11 contiguous regions of 423 areas" in text
    assert (out / "regions_map.png").is_file()


def test_election_case_compares_interpolation_with_the_code_crosswalk(tmp_path, capsys):
    out = tmp_path / "election"
    assert main(["regions", "interpolate", "--seoul-case", "election", "--out", str(out)]) == 0
    comparison = pd.read_csv(out / "comparison.csv", dtype={"dong_code": str})
    assert len(comparison) == 423
    # both ways keep Seoul's 5,573,471 valid votes (counted by dong)
    assert comparison["valid_votes_crosswalk"].sum() == 5_573_471
    assert abs(comparison["valid_votes_interpolated"].sum() - 5_573_471) < 1e-6
    assert comparison["difference_pct_points"].abs().max() < 10
    text = capsys.readouterr().out
    assert "코드 대응표" in text
    # from the votes' own 2022 dongs: 일원2동's 2022-03 code joins 개포3동 by the change table
    assert "1123074 일원2동 → 1168067500 개포3동" in text
    assert "426 source areas were interpolated onto 423 target areas" in text


def test_join_offers_and_does_the_interpolation_from_another_vintage(tmp_path, capsys):
    """``dongne join`` of the 2022 election (2022 codes) onto the 2013 dongs: the report names
    the vintage and the flag; ``--from-vintage 2022`` moves the votes by area, conserving them."""
    import json

    from dongne.datasets import data_path

    areas, votes = str(data_path("seoul_dong_2013.geojson")), str(
        data_path("seoul_vote_2022_president_dong.csv"))  # fmt: skip
    plain = tmp_path / "plain.gpkg"
    assert main(["join", areas, votes, "--key", "dong_code", "--out", str(plain)]) == 0
    text = capsys.readouterr().out
    assert "8 of 8 unplaced codes are dong codes of a boundary vintage" in text
    assert "(command line: dongne join --from-vintage 2022)" in text
    moved = tmp_path / "moved.gpkg"
    kinds = [a for c in ("valid_votes", "votes_yoon_sukyeol")
             for a in ("--column-kind", f"{c}=count")]  # fmt: skip
    assert main(["join", areas, votes, "--key", "dong_code", "--from-vintage", "2022",
                 "--columns", "valid_votes,votes_yoon_sukyeol", "--out", str(moved),
                 *kinds]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "1123074 일원2동: renamed → 1168067500 개포3동" in text
    assert "426 source areas were interpolated onto 423 target areas" in text
    report = json.loads((tmp_path / "moved.gpkg.match.json").read_text(encoding="utf-8"))
    assert report["complete"] and report["crosswalk"]["translated"] == 1
    import geopandas as gpd

    frame = gpd.read_file(moved)
    assert len(frame) == 423 and abs(frame["valid_votes"].sum() - 5_573_471) < 1e-6
