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


def test_election_case_compares_interpolation_with_the_code_crosswalk(tmp_path, capsys):
    out = tmp_path / "election"
    assert main(["regions", "interpolate", "--seoul-case", "election", "--out", str(out)]) == 0
    comparison = pd.read_csv(out / "comparison.csv", dtype={"dong_code": str})
    assert len(comparison) == 423
    # both ways keep Seoul's 5,573,471 valid votes (counted by dong)
    assert comparison["valid_votes_crosswalk"].sum() == 5_573_471
    assert abs(comparison["valid_votes_interpolated"].sum() - 5_573_471) < 1e-6
    assert comparison["difference_pct_points"].abs().max() < 10
    assert "코드 대응표" in capsys.readouterr().out
