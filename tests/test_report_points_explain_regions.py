"""Report sections of ``dongne points``, ``dongne explain`` and ``dongne regions`` run folders
(issues 19, 20, 21): each folder gets its section with its maps, its key tables (the numbers
of the run's own files) and its method in English and Korean, and no file of the run is left
to the appendix. Small synthetic runs, built once per module."""

from __future__ import annotations

import html
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point, box

from dongne.explain.workflow import run_explain
from dongne.points.workflow import run_dbscan, run_kde, run_ripley
from dongne.regions.workflow import run_interpolate, run_regions, run_typology
from dongne.report.document import render_html

CRS = "EPSG:5186"
X0, Y0 = 195_000, 545_000


def _grid(n: int, size: float) -> list:
    return [
        box(X0 + c * size, Y0 + r * size, X0 + (c + 1) * size, Y0 + (r + 1) * size)
        for r in range(n)
        for c in range(n)
    ]


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    """10 × 10 squares of 1 km: y depends on x1 (more so in the east) and on x2."""
    rng = np.random.default_rng(8)
    r, c = np.divmod(np.arange(100), 10)
    x1, x2 = rng.normal(size=100), rng.normal(size=100)
    return gpd.GeoDataFrame(
        {
            "code": [f"A{k:03d}" for k in range(100)],
            "households": rng.integers(800, 1500, 100),
            "x1": x1,
            "x2": x2,
            "y": 1 + (-1 + 2 * c / 9) * x1 - 0.8 * x2 + 0.3 * rng.normal(size=100),
            "old_pct": 10 + 2 * r + rng.normal(0, 0.5, 100),
        },
        geometry=_grid(10, 1000),
        crs=CRS,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory, areas) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    out = {name: root / name for name in ("lag", "gwr", "maxp", "types", "interp", "dbscan",
                                          "ripley", "kde")}  # fmt: skip
    run_explain(areas, "code", "y", ["x1", "x2"], "lag", out["lag"], replications=50, rng=1)
    run_explain(areas, "code", "y", ["x1", "x2"], "gwr", out["gwr"])
    run_regions(areas, "code", ["old_pct", "x1"], out["maxp"], method="maxp",
                floor_column="households", floor=6000, iterations=5, rounds=1, rng=2)  # fmt: skip
    run_typology(areas, "code", ["old_pct", "x1", "x2"], out["types"], k=3, rng=2)
    target = gpd.GeoDataFrame(
        {"tcode": [f"T{k:02d}" for k in range(25)]}, geometry=_grid(5, 2000), crs=CRS
    )
    run_interpolate(areas, target, out["interp"], source_id="code", target_id="tcode",
                    extensive=["households"], intensive=["old_pct"])  # fmt: skip
    rng = np.random.default_rng(4)
    background = rng.uniform(0, 10_000, (300, 2))
    planted = rng.normal(2_500, 150, (120, 2))  # a dense cluster in the south-west
    xy = np.vstack([background, planted]) + np.array([X0, Y0])
    points = gpd.GeoDataFrame(geometry=[Point(p) for p in xy], crs=CRS)
    common = {"areas": areas, "rng": 3}
    run_dbscan(points, out["dbscan"], **common, id_column="code", eps=[300.0], min_pts=15,
               replications=19)  # fmt: skip
    run_ripley(points, out["ripley"], **common, functions=["L"], replications=19)
    run_kde(points, out["kde"], **common)
    return out


def _text(document: str) -> str:
    body = document.split("<body>", 1)[1]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def _appendix(document: str) -> str:
    """The appendix of files no section claimed ("" when every file is claimed)."""
    at = document.find('id="appendix"')
    return document[at:] if at >= 0 else ""


def _cells(document: str, title: str) -> list[list[str]]:
    """The cells of the first table after the heading ``title`` (header row first)."""
    start = document.index(html.escape(title))
    table = document[document.index("<table", start) : document.index("</table>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    cell = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", flags=re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cell.findall(row)]
            for row in rows]  # fmt: skip


def test_explain_lag_section_shows_the_run_coefficients_and_impacts(runs):
    document = render_html(runs["lag"])
    text = _text(document)
    assert "Explaining y: Spatial lag model (ML)" in text
    assert "y 설명: 공간 시차 모형 (최우추정)" in text
    coefficients = pd.read_csv(runs["lag"] / "coefficients.csv", encoding="utf-8-sig")
    cells = _cells(document, "Coefficients")
    shown = {row[0]: row[1] for row in cells[1:]}
    for name, value in zip(coefficients.iloc[:, 0], coefficients["coefficient"], strict=True):
        assert shown[name] == f"{value:,.4f}", name
    impacts = pd.read_csv(runs["lag"] / "impacts.csv", encoding="utf-8-sig")
    cells = _cells(document, "Direct, indirect and total impacts")
    assert [r[3] for r in cells[1:]] == [f"{v:,.4f}" for v in impacts["total"]]
    assert "Model comparison" in text and "LeSage, J. & Pace" in text
    assert "(residual_map.png)" in text
    appendix = _appendix(document)
    for name in ("coefficients.csv", "impacts.csv", "model_comparison.csv", "explain.gpkg"):
        assert name not in appendix, name


def test_explain_gwr_section_counts_the_significant_areas_of_each_coefficient(runs):
    document = render_html(runs["gwr"], lang="en")
    local = pd.read_csv(runs["gwr"] / "local_coefficients.csv", encoding="utf-8-sig")
    rows = {r[0]: r for r in _cells(document, "Local coefficients")[1:]}
    for name in ("x1", "x2"):
        n = int(local[f"local_{name}_significant"].sum())
        assert rows[name][4] == f"{n:,} / 100", name
        assert rows[name][1] == f"{local[f'local_{name}'].min():,.4f}"
    # x1's effect changes sign from west to east: significant both ways, grey in between
    assert int(rows["x1"][5]) > 0 and int(rows["x1"][6]) > 0
    assert int(local["local_x1_significant"].sum()) < 100
    text = _text(document)
    assert "(coefficient_x1.png)" in text and "grey: not significant" in text
    assert "Fotheringham–Byrne" in text and "국지 계수" not in text  # English only
    assert "local_coefficients.csv" not in _appendix(document)


def test_regions_sections_show_the_region_table_and_type_profiles(runs):
    document = render_html(runs["maxp"])
    table = pd.read_csv(runs["maxp"] / "regions_table.csv", encoding="utf-8-sig")
    cells = _cells(document, "Regions: size, floor and homogeneity")
    assert cells[0][6] == "floor_total (households)"
    assert [r[6] for r in cells[1:]] == [f"{round(v):,}" for v in table["floor_total"]]
    assert min(table["floor_total"]) >= 6000
    text = _text(document)
    assert "Max-p regions / Max-p 권역" in text and "Duque, J. C." in text
    assert "(regions_map.png)" in text
    assert "regions.csv" not in _appendix(document)

    document = render_html(runs["types"])
    profiles = pd.read_csv(runs["types"] / "profiles.csv", encoding="utf-8-sig")
    types = pd.read_csv(runs["types"] / "types.csv", encoding="utf-8-sig")
    cells = _cells(document, "Type profiles (mean z-score)")
    assert cells[0][:3] == ["type", "name", "이름"]
    assert len(cells) - 1 == len(profiles) == 3
    names = types.drop_duplicates("type").set_index("type")["type_name_ko"]
    assert [r[2] for r in cells[1:]] == [names[t] for t in profiles["type"]]
    assert [r[3] for r in cells[1:]] == [f"{v:,.2f}" for v in profiles["old_pct"]]
    assert "(profiles.png)" in _text(document)


def test_interpolate_section_lists_the_moved_columns_and_the_changes(runs, areas):
    document = render_html(runs["interp"])
    moved = pd.read_csv(runs["interp"] / "interpolated.csv", encoding="utf-8-sig")
    rows = {r[0]: r for r in _cells(document, "Columns moved")[1:]}
    assert rows["households"][1] == "extensive"
    assert rows["households"][3] == f"{moved['households'].sum():,.1f}"
    # the total is kept: 25 squares of 2 km cover the 100 of 1 km exactly
    assert moved["households"].sum() == pytest.approx(areas["households"].sum(), rel=1e-12)
    changes = pd.read_csv(runs["interp"] / "changes.csv", encoding="utf-8-sig")
    counted = {r[0]: int(r[1]) for r in _cells(document, "Change table of the two vintages")[1:]}
    assert counted == changes["relation"].value_counts().to_dict()
    assert "links.csv" not in _appendix(document)


def test_points_sections_show_clusters_envelopes_and_density(runs):
    document = render_html(runs["dbscan"])
    clusters = pd.read_csv(runs["dbscan"] / "clusters.csv", encoding="utf-8-sig")
    assert len(clusters) >= 1  # the planted cluster
    cells = _cells(document, "Clusters")
    assert [int(r[3].replace(",", "")) for r in cells[1:]] == clusters["points"].tolist()
    text = _text(document)
    assert "Significant DBSCAN+ / 유의한 DBSCAN+" in text and "Xie, Y. & Shekhar" in text
    assert "(clusters_map.png)" in text
    appendix = _appendix(document)
    assert "points_clusters.csv" not in appendix and "cluster_areas.csv" not in appendix

    document = render_html(runs["ripley"])
    envelope = pd.read_csv(runs["ripley"] / "l_envelope.csv", encoding="utf-8-sig")
    row = _cells(document, "Where the observed function leaves the envelope")[1]
    assert row[0] == "Besag's L" and row[3] == "19"
    above = envelope.loc[envelope["outside"] == "above", "r"]
    assert row[4] == f"{above.min():,.0f}–{above.max():,.0f} m"  # clustered at short range
    assert "(l_envelope.png)" in _text(document)

    document = render_html(runs["kde"], lang="ko")
    assert "점의 커널 밀도" in _text(document) and "(kde_map.png)" in _text(document)
    assert "kde_grid.gpkg" not in _appendix(document)
