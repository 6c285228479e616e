"""``dongne points`` on the bundled Seoul CCTV sites: maps, tables and Korean/English summaries."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dongne.cli import main


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_dbscan_on_the_seoul_cctv_sites(tmp_path, capsys):
    out = tmp_path / "dbscan"
    with pytest.warns(UserWarning, match="outside the study area"):
        assert (
            main(
                ["points", "dbscan", "--csr", "--replications", "19", "--quiet", "--out", str(out)]
            )
            == 0
        )
    printed = capsys.readouterr().out
    for name in (
        "clusters_map.png",
        "clusters.gpkg",
        "clusters.csv",
        "points_clusters.csv",
        "summary.txt",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = (out / "summary.txt").read_text()
    assert "83,734 read" in summary and "59 outside the study area" in summary
    assert _has_hangul(summary) and "Significant DBSCAN+" in summary
    assert "Significant DBSCAN+" in printed
    clusters = pd.read_csv(out / "clusters.csv")
    assert (clusters["p_value"] <= 0.05).all()
    labels = pd.read_csv(out / "points_clusters.csv")
    assert len(labels) == 83_734 - 59
    prov = json.loads((out / "clusters.gpkg.provenance.json").read_text())
    assert prov["parameters"]["replications"] == 19 and prov["parameters"]["seed"] == 0
    if len(clusters):  # complete spatial randomness over Seoul: clusters, named by dong
        touched = pd.read_csv(out / "cluster_areas.csv")
        assert set(touched["cluster"]) == set(clusters["cluster"])


@pytest.mark.slow
def test_ripley_and_kde_on_the_seoul_cctv_sites(tmp_path):
    ripley, kde = tmp_path / "ripley", tmp_path / "kde"
    with pytest.warns(UserWarning):
        assert (
            main(
                [
                    "points",
                    "ripley",
                    "--functions",
                    "L",
                    "--replications",
                    "3",
                    "--quiet",
                    "--out",
                    str(ripley),
                ]
            )
            == 0
        )
        assert main(["points", "kde", "--quiet", "--out", str(kde)]) == 0
    table = pd.read_csv(ripley / "l_envelope.csv")
    assert (table["outside"] == "above").mean() > 0.9  # CCTV sites cluster at every distance
    assert (ripley / "l_envelope.png").stat().st_size > 0
    assert _has_hangul((ripley / "summary.txt").read_text())
    assert (kde / "kde_map.png").stat().st_size > 0 and (kde / "kde_grid.gpkg").exists()
