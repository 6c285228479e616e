"""``dongne spacetime scan|emerging|markov`` on the Seoul case: files, maps and summaries.

The scan runs on the seeded synthetic stream and must find the planted outbreak (its centre
dong, the last 7 days); emerging hot spot analysis must put every non-"no pattern" dong in
the planted emerging area; markov runs on the real 2010/2015 gu panel.
"""

from __future__ import annotations

import pandas as pd

from dongne.cli import main
from dongne.spacetime.seoul import OUTBREAK_CENTRE, seoul_surveillance_stream


def test_scan_finds_the_planted_outbreak(tmp_path, capsys):
    out = tmp_path / "scan"
    assert main(["spacetime", "scan", "--replications", "99", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "SYNTHETIC" in text and "합성" in text and "재현 주기" in text
    clusters = pd.read_csv(out / "spacetime_clusters.csv", dtype={"centre": str})
    first = clusters.iloc[0]
    assert first["centre"] == OUTBREAK_CENTRE
    assert (first["start"], first["end"]) == ("2024-12-23", "2024-12-29")
    assert first["p_value"] <= 0.05
    for name in ("spacetime_scan_map.png", "spacetime_sparklines.png",
                 "spacetime_cases_by_step.png", "spacetime_summary.txt",
                 "spacetime_clusters.csv.provenance.json"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    _report_has(out, tmp_path, "Space-time scan", "시공간 스캔 통계")


def test_emerging_flags_only_the_planted_area(tmp_path, capsys):
    out = tmp_path / "emerging"
    assert main(["spacetime", "emerging", "--out", str(out), "--quiet"]) == 0
    assert "신흥 핫스팟" in capsys.readouterr().out
    table = pd.read_csv(out / "emerging_categories.csv", dtype={"area": str})
    flagged = set(table.loc[table["category"] != "no pattern detected", "area"])
    planted = set(seoul_surveillance_stream().truth["emerging"]["dongs"])
    assert flagged and flagged <= planted
    assert (out / "emerging_map.png").stat().st_size > 0
    assert (out / "emerging_gi_by_step.png").stat().st_size > 0
    _report_has(out, tmp_path, "Emerging hot spots", "유형별 지역 수")


def test_markov_on_the_gu_panel(tmp_path, capsys):
    out = tmp_path / "markov"
    assert main(["spacetime", "markov", "--permutations", "99", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "Kendall" in text and "켄달" in text
    tests = pd.read_csv(out / "markov_tests.csv")
    assert set(tests["test"]) >= {"homogeneity Q", "homogeneity LR", "LISA Markov independence"}
    transitions = pd.read_csv(out / "markov_transitions.csv")
    # 25 gu, one transition each: 25 in the pooled chain, 25 split over the lag classes
    assert transitions["count"].sum() == 25 * 2
    _report_has(out, tmp_path, "Neighbourhood change", "homogeneity LR")


def _report_has(run, tmp_path, *texts):
    """``dongne report`` on the run folder writes an HTML page with the section."""
    page = tmp_path / f"{run.name}.html"
    assert main(["report", str(run), "--out", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    for text in texts:
        assert text in html, text


def test_scan_command_on_satscan_files_gives_satscan_clusters(tmp_path, capsys):
    """SaTScan's NYC fever case and coordinates files, read by the command as they are."""
    from pathlib import Path

    data = Path(__file__).parent / "data" / "nyc_fever"
    out = tmp_path / "fever"
    argv = ["spacetime", "scan", "--events", str(data / "NYCfever_cas.csv"), "--area", "zip",
            "--time", "date", "--count", "cases", "--freq", "D", "--areas",
            str(data / "NYCfever_geo.csv"), "--id", "zip", "--x", "long", "--y", "lat",
            "--max-pop", "0.5", "--max-steps", "12", "--now", "none", "--replications", "19",
            "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert "194 cases in 192 areas" in capsys.readouterr().out
    clusters = pd.read_csv(out / "spacetime_clusters.csv")
    assert clusters.loc[0, "members"] == "11418;11415;11419;11435;11416;11421;11451;11375;11417"
    assert clusters["llr"].head(3).round(6).tolist() == [3.845418, 3.164201, 2.19225]
