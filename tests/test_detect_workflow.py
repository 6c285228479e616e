"""run_detect's defaults and the maps it draws (issue 15: defaults that can find, maps that
cannot mislead)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dongne import weights
from dongne.datasets import seoul_dongs
from dongne.detect import GetisOrd
from dongne.detect.workflow import run_detect

VAR = "basement_household_pct"
LABEL = "반지하 가구 비율 · Basement households (%)"


@pytest.fixture(scope="module")
def seoul():
    dongs = seoul_dongs()
    dongs = dongs[dongs[VAR].notna()].reset_index(drop=True)
    return dongs, weights.queen(dongs, ids="dong_code")


@pytest.fixture(scope="module")
def detected(seoul, tmp_path_factory):
    dongs, w = seoul
    out = tmp_path_factory.mktemp("detect")
    result = run_detect(
        dongs, "dong_code", w, VAR, out, methods=("moran", "lisa", "gistar"), rng=2026,
        label=LABEL, source="KOSTAT 2010 census", write_tables=False,
    )  # fmt: skip
    return result, out


def _legend(result) -> tuple[str, list[str]]:
    legend = result.figure.axes[0].get_legend()
    return legend.get_title().get_text(), [t.get_text() for t in legend.get_texts()]


def test_default_permutations_can_reach_significance_on_423_dongs(detected, seoul):
    result, _ = detected
    dongs, _ = seoul
    assert len(dongs) == 423
    lisa, gi = result.results["lisa"], result.results["gistar"]
    # 2/(R+1) <= 0.05/423 needs R >= 16,919: the first round count is 19,999
    assert lisa.permutations == gi.permutations == 19_999
    assert lisa.floor_.reachable and gi.floor_.reachable
    assert result.results["moran"].permutations == 999  # one test: 999 suffice
    assert int(lisa.significant_.sum()) > 0  # the flagship map is not all grey
    assert "Permutations chosen automatically: 19,999" in result.summary
    assert "2/(R + 1) = 0.0001, reaches 0.000118" in result.summary
    assert "순열 횟수 자동 선택: 국지 통계 19,999회" in result.summary


def test_the_old_default_of_999_finds_nothing_and_says_why(seoul, tmp_path):
    dongs, w = seoul
    result = run_detect(
        dongs, "dong_code", w, VAR, tmp_path, methods=("lisa",), permutations=999, rng=2026,
        write_tables=False,
    )  # fmt: skip
    assert int(result.results["lisa"].significant_.sum()) == 0
    assert "Use at least 16919 permutations" in result.summary
    assert "chosen automatically" not in result.summary


def test_lisa_map_title_uses_the_label_and_the_heading_states_the_test(detected):
    result, _ = detected
    mapped = result.results["lisa"].plot(
        result.frame, id_column="dong_code", label=LABEL, source="KOSTAT 2010 census"
    )
    ax = mapped.figure.axes[0]
    assert LABEL in ax.get_title(loc="left") and VAR not in ax.get_title(loc="left")
    heading, _ = _legend(mapped)
    assert "significant at α = 0.05 after fdr_bh" in heading and "19,999 permutations" in heading
    notes = [t.get_text() for t in ax.texts]
    assert any("Data: KOSTAT 2010 census" in t for t in notes)


def test_gistar_classes_agree_with_the_heading(detected):
    result, _ = detected
    gi = result.results["gistar"]
    mapped = gi.plot(result.frame, id_column="dong_code")
    heading, texts = _legend(mapped)
    assert heading.startswith("Class by fdr_bh-adjusted p")
    assert texts[0].startswith("Hot spot 99% (p ≤ 0.01)")
    assert texts[2].startswith("Hot spot 90% (p ≤ 0.10)")
    assert texts[3].startswith("Not significant (p > 0.10)")
    # every class holds exactly the areas whose adjusted p lies in its band
    frame = gi.to_frame()
    p = frame["p_adjusted"]
    for level, lo, hi in (("99%", 0.0, 0.01), ("95%", 0.01, 0.05), ("90%", 0.05, 0.10)):
        for side in ("hot", "cold"):
            inside = frame["label"] == f"{side} spot {level}"
            assert ((p[inside] > lo) | (lo == 0)).all() and (p[inside] <= hi).all()
    assert (p[frame["label"] == "not significant"] > 0.10).all()
    assert int((frame["label"] != "not significant").sum()) > 0
    # the summary says that the 90 % class is not significant at alpha 0.05
    assert "hot spot 90% areas (fdr_bh-adjusted p ≤ 0.10; not significant at alpha 0.05)" in (
        result.summary
    )


def test_geoda_fdr_gives_classes_only_to_its_discoveries(seoul):
    dongs, w = seoul
    y = dongs.set_index("dong_code")[VAR]
    gi = GetisOrd(permutations=999, correction="geoda_fdr", rng=1).fit(y, w)
    classed = np.asarray(gi.labels_ != "not significant") & np.asarray(gi.labels_ != "island")
    assert not (classed & ~gi.significant_).any()  # no uncorrected "90 %" class
    assert (gi.p_values_[classed] <= 0.10).all()
    heading = gi._legend_title()
    assert "geoda_fdr" in heading and "raw p" in heading


def test_detect_command_defaults_to_auto_and_takes_label_and_source(
    tmp_path, seoul_dong_path, census_path, capsys
):
    from dongne.cli import main

    out = tmp_path / "det"
    rc = main(
        [
            "detect", str(seoul_dong_path), str(census_path), "--id", "dong_code",
            "--var", VAR, "--missing", "label", "--method", "lisa", "--seed", "3",
            "--label", LABEL, "--source", "KOSTAT 2010", "--out", str(out), "--quiet",
        ]
    )  # fmt: skip
    assert rc == 0
    printed = capsys.readouterr().out
    # 416 dongs with a value: 2/(R+1) <= 0.05/416 needs R >= 16,639
    assert "Permutations chosen automatically: 19,999" in printed and "over 416 areas" in printed
    assert "No area is significant" not in printed
    prov = json.loads((out / "detect.gpkg.provenance.json").read_text(encoding="utf-8"))
    assert prov["parameters"]["permutations"] == 19_999
    assert prov["parameters"]["permutations_rule"] == "auto"


@pytest.mark.parametrize("value", ["-5", "many"])
def test_detect_command_refuses_bad_permutations(value, capsys):
    from dongne.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["detect", "a.geojson", "--id", "x", "--var", "y", "--permutations", value])
    assert stop.value.code == 2
    assert "expected 'auto' or a whole number" in capsys.readouterr().err
