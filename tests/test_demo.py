import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # pytest -m "not slow" skips Flower, Dask clusters and the demo


def test_demo_console_script_writes_everything(tmp_path):
    # One run of the installed console script (the demo takes minutes): its exit status, progress
    # bar, printed summary and every file it writes.
    out = tmp_path / "demo"
    exe = Path(sys.executable).with_name("dongne")
    res = subprocess.run(
        [str(exe), "demo", "--out", str(out)], capture_output=True, text=True, check=True
    )
    assert "19/19" in res.stderr  # the progress bar reached its end
    printed = res.stdout
    assert "basement_share_map.png" in printed
    assert "Seoul overall: 308,660 of 3,504,297 households (8.81%)" in printed
    assert "서울 전체 3,504,297가구 중 308,660가구(8.81%)" in printed
    assert str(out.resolve()) in printed
    names = {p.name for p in out.iterdir()}
    assert {
        "basement_share_map.png",
        "seoul_basement_households.gpkg",
        "seoul_basement_households.csv",
        "match_report.txt",
        "match_report.json",
        "shelters_overlay.txt",
        "summary.txt",
        "seoul_basement_households.gpkg.provenance.json",
        "seoul_basement_households.csv.provenance.json",
        "lisa_map.png",
        "gistar_map.png",
        "index_map.png",
        "scan_map.png",
        "scan_clusters.csv",
        "allocate_new_sites.gpkg",
        "allocate_map_before.png",
        "allocate_map_after.png",
        "rank_stability_map.png",
        "global_moran.csv",
    } <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary files left behind

    gdf = gpd.read_file(out / "seoul_basement_households.gpkg", layer="dongs")
    assert len(gdf) == 423 and gdf["basement_share_pct"].notna().all()
    share = 100 * gdf["basement_households"] / gdf["households"]
    assert np.allclose(gdf["basement_share_pct"], share, atol=1e-4)
    segok = gdf.set_index("dong_code").loc["1123076"]
    assert abs(segok["basement_share_pct"] - 100 * 593 / 1399) < 1e-4  # 세곡동, the highest

    csv = pd.read_csv(
        out / "seoul_basement_households.csv", encoding="utf-8-sig", dtype={"dong_code": str}
    )
    assert len(csv) == 423 and csv["dong_name"].iloc[0] == "사직동"

    report = json.loads((out / "match_report.json").read_text(encoding="utf-8"))
    assert report["complete"] and report["crosswalk"]["translated"] == 8
    prov = json.loads((out / "seoul_basement_households.gpkg.provenance.json").read_text("utf-8"))
    assert prov["inputs"]["match_reports"][0]["matched_areas"] == 423
    assert prov["inputs"]["overlays"][0]["counted"] == 4079

    img = Image.open(out / "basement_share_map.png")
    # 9 in wide at 150 dpi; the height is trimmed to the map (no empty band, issue 15)
    assert img.size[0] == 1350 and 900 < img.size[1] < 1200
    assert len(np.unique(np.asarray(img.convert("RGB")).reshape(-1, 3), axis=0)) > 50
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "반포본동" in summary
    assert "Global Moran's I of basement_share_pct over 423 areas" in summary
    assert "High-High areas" in summary and "hot spot" in summary
    assert "19,999 conditional permutations" in summary and "seed 2026" in summary
    assert {"lisa_label", "gistar_label", "index_rank", "index_p_top_20"} <= set(gdf.columns)
    assert set(gdf["lisa_label"]) <= {"HH", "LL", "LH", "HL", "not significant"}
    assert (gdf["lisa_label"] == "HH").sum() >= 3
    assert "Most likely cluster" in summary or "most likely cluster" in summary
    clusters = pd.read_csv(out / "scan_clusters.csv")
    assert len(clusters) >= 1 and clusters["llr"].iloc[0] > 0
    sites = gpd.read_file(out / "allocate_new_sites.gpkg")
    assert len(sites) == 20
    assert "300" in summary and ("커버율" in summary or "coverage" in summary)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set-up: two commands")[1].split("\n## ")[0]
    blocks = [b.split("```")[0].strip() for b in setup.split("```bash")[1:]]
    assert len(blocks) == 2 and all("\n" not in b for b in blocks)
    assert blocks[0].endswith("dongne demo")
    assert blocks[1] in (root / ".ci" / "run").read_text()
