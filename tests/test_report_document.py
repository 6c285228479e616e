"""Reports of a saved run: self-contained, reproducible HTML and a PDF with Korean text.

One small run (36 dongs of 관악구 and 동작구: detect, scan and allocate written into one
folder, with few permutations) is built once per session; every test reads it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from dongne import weights
from dongne.allocate import run_allocate
from dongne.datasets import data_path
from dongne.detect.workflow import run_detect, run_scan
from dongne.errors import DataError, SpecificationError
from dongne.io import join_by_code, read_areas, read_table
from dongne.report.document import (
    ReportSection,
    Table,
    _font_subset,
    build_report,
    read_run,
    register_section,
    render_html,
    split_languages,
)

SEED = 7


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "gwanak-dongjak"
    out.mkdir()
    dongs = read_areas(data_path("seoul_dong_2013.geojson"))
    dongs = dongs[dongs["gu_name"].isin(["관악구", "동작구"])].reset_index(drop=True)
    census = read_table(data_path("seoul_dong_indicators_census2010.csv"))
    census = census.loc[
        census["dong_code"].astype(str).str[:4].isin(["1120", "1121"]),
        ["dong_code", "households", "basement_households"],
    ]
    crosswalk = read_table(data_path("seoul_dong_code_crosswalk_2010_2013.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        joined, report = join_by_code(
            dongs,
            census,
            key="dong_code",
            crosswalk=crosswalk,
            crosswalk_from="dong_code_2010",
            crosswalk_to="dong_code_2013",
            combine={"households": "sum", "basement_households": "sum"},
        )
    report.save(out / "match_report.txt")
    report.save(out / "match_report.json")
    joined["basement_share_pct"] = 100 * joined["basement_households"] / joined["households"]
    joined["km2_per_10k_households"] = 1e4 * joined["area_km2"] / joined["households"]
    run_detect(
        joined,
        "dong_code",
        weights.queen(joined, ids="dong_code"),
        "basement_share_pct",
        out,
        methods=("moran", "lisa", "index"),
        indicators={"basement_share_pct": "+", "km2_per_10k_households": "-"},
        permutations=99,
        rng=SEED,
        group_column="gu_name",
        name_column="dong_name",
        top_k=5,
    )
    run_scan(
        joined,
        "dong_code",
        "basement_households",
        out,
        population="households",
        replications=99,
        rng=SEED,
        name_column="dong_name",
    )
    run_allocate(
        joined,
        out,
        model="mclp",
        candidates="centroids",
        p=3,
        radius="800m",
        weight="basement_households",
        demand_id="dong_code",
        equity_by="gu_name",
        prefix="allocate_",
    )
    # Files no section knows: a table and a chart (e.g. from a newer dongne).
    (out / "evaluate_effects.csv").write_text("unit,effect\n1,0.5\n", encoding="utf-8")
    shutil.copy(out / "scan_map.png", out / "evaluate_chart.png")
    return out


@pytest.fixture(scope="session")
def report_html(run_dir, tmp_path_factory) -> str:
    path = build_report(run_dir, out=tmp_path_factory.mktemp("html") / "report.html")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def report_pdf(run_dir, tmp_path_factory) -> Path:
    pytest.importorskip("weasyprint")
    return build_report(run_dir, format="pdf", out=tmp_path_factory.mktemp("pdf") / "r.pdf")


def _text(document: str) -> str:
    """Visible text: tags removed, entity escapes resolved."""
    body = document.split("<body>", 1)[1]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


# ---------------------------------------------------------------------------- reproducibility


def test_same_run_gives_byte_identical_html(run_dir, report_html):
    # The default output sits in the run folder; rebuilding does not read it as part of it.
    inside = build_report(run_dir)
    assert inside == run_dir / "report.html"
    first = inside.read_bytes()
    assert first == report_html.encode("utf-8")
    _font_subset.cache_clear()  # subset the font afresh too
    assert build_report(run_dir).read_bytes() == first
    inside.unlink()


def test_copied_run_gives_the_same_html(run_dir, report_html, tmp_path):
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy)
    assert render_html(copy) == report_html


def test_dates_are_the_runs_own(run_dir, report_html):
    run = read_run(run_dir)
    stamps = sorted(p["created_utc"] for p in run.provenance.values())
    first, last = (s.replace("+00:00", "").replace("T", " ") for s in (stamps[0], stamps[-1]))
    assert f"{first} – {last[11:]} UTC" in report_html or f"{first} – {last} UTC" in report_html
    dates = set(re.findall(r"\b20\d\d-\d\d-\d\d\b", _text(report_html)))
    assert dates == {stamps[0][:10], stamps[-1][:10]}


# ------------------------------------------------------------------------------- offline


def test_html_loads_nothing_from_outside(report_html):
    references = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", report_html)
    references += re.findall(r"""url\(\s*["']?([^"')]+)""", report_html)
    assert references, "expected embedded images and fonts"
    assert all(r.startswith(("data:", "#")) for r in references), [
        r[:40] for r in references if not r.startswith(("data:", "#"))
    ]
    assert "<script" not in report_html and "<link" not in report_html
    assert "@import" not in report_html
    # http(s) may appear only as plain text (a citation), never inside a tag.
    for match in re.finditer(r"https?://", report_html):
        before = report_html[: match.start()]
        assert before.rfind("<") < before.rfind(">"), report_html[match.start() - 80 :][:160]


def test_font_is_embedded_and_covers_every_character(report_html):
    from fontTools.ttLib import TTFont

    uri = re.search(r'url\("data:font/ttf;base64,([A-Za-z0-9+/=]+)"\)', report_html)
    font = TTFont(io.BytesIO(base64.b64decode(uri.group(1))))
    cmap = font.getBestCmap()
    used = {ch for ch in _text(report_html) if not ch.isspace()}
    missing = sorted(ch for ch in used if ord(ch) not in cmap)
    assert not missing
    assert {"군", "집", "관", "악"} <= used
    assert font["name"].getDebugName(1) == "NanumGothic"
    assert len(base64.b64decode(uri.group(1))) < 400_000  # a subset, not the 4.7 MB file


def test_every_image_of_the_run_is_embedded(run_dir, report_html):
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report_html)
    pngs = sorted(p for p in run_dir.glob("*.png"))
    assert len(embedded) == len(pngs)
    assert {base64.b64decode(e) for e in embedded} == {p.read_bytes() for p in pngs}


# ------------------------------------------------------------------------------- sections


def test_sections_come_from_the_run_files(run_dir, report_html):
    text = _text(report_html)
    moran = pd.read_csv(run_dir / "global_moran.csv", encoding="utf-8-sig")
    assert f"{moran['moran_i'].iloc[0]:.4f}" in text
    clusters = pd.read_csv(run_dir / "scan_clusters.csv", encoding="utf-8-sig")
    for row in clusters.itertuples():
        assert f"{row.llr:,.2f}" in text
        assert f"{row.relative_risk:,.2f}" in text
    groups = pd.read_csv(run_dir / "allocate_groups.csv", encoding="utf-8-sig")
    overall = groups["covered"].sum() / groups["demand"].sum()
    before = groups["covered_before"].sum() / groups["demand"].sum()
    assert re.search(
        rf"All / 전체</td>.*?{100 * before:.1f}%</td>.*?{100 * overall:.1f}%</td>",
        report_html,
    )
    for group, coverage in zip(groups["group"], groups["coverage"], strict=True):
        assert re.search(rf"{group}</td>.*?{100 * coverage:.1f}%</td>", report_html)
    per_area = pd.read_csv(run_dir / "detect.csv", encoding="utf-8-sig", dtype={"dong_code": str})
    counts = per_area["lisa_label"].value_counts()
    for label, n in counts.items():
        row = rf"Local Moran's I \(LISA\)</td><td>{label}</td><td class=num>{n}</td>"
        assert re.search(row, html.unescape(report_html))
    top = per_area.sort_values(["index_rank", "dong_code"]).iloc[0]
    first_row = re.search(r"Most vulnerable areas.*?<tbody><tr><td[^>]*>(\d+)<", report_html, re.S)
    assert first_row.group(1) == top["dong_code"]


def test_methods_record_parameters_and_references(report_html):
    text = _text(report_html)
    page = html.unescape(report_html)
    params = re.search(
        r"Local Moran's I \(LISA\).*?</table>",
        page[page.index('id="methods"') :],
        re.S,
    ).group(0)
    for key, value in (("permutations", "99"), ("correction", "fdr_bh"), ("alpha", "0.05")):
        assert re.search(rf"<td>{key}</td><td>{re.escape(value)}</td>", params)
    assert f"<td>seed</td><td>{SEED}</td>" in params
    for reference in (
        "Anselin, L. (1995)",
        "Benjamini, Y. & Hochberg, Y. (1995)",
        "Moran, P. A. P. (1950)",
        "Kulldorff, M. (1997)",
        "Church, R. & ReVelle, C. (1974)",
    ):
        assert reference in text
    assert re.search(r"<td>status</td><td>optimal</td>", report_html)
    assert re.search(r"<td>replications</td><td>99</td>", report_html)


def test_data_sources_and_match_report(run_dir, report_html):
    report = json.loads((run_dir / "match_report.json").read_text(encoding="utf-8"))
    text = _text(report_html)
    assert "seoul_dong_indicators_census2010.csv" in text
    assert f"{report['matched_areas']} / {report['n_areas']}" in text
    assert "매칭 보고서: 지역 36개 중 36개에 자료가 붙었고" in text


def test_reproducibility_block_hashes_every_file(run_dir, report_html):
    import hashlib

    for path in sorted(run_dir.iterdir()):
        if path.name.startswith("report"):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"{path.name}</td><td class=num>{path.stat().st_size:,}</td>" in report_html
        assert digest in report_html
    assert "dongne report gwanak-dongjak --format html|pdf" in report_html
    assert str(run_dir.parent) not in report_html  # no absolute path of the run itself


def test_unknown_files_are_listed_in_the_appendix(report_html):
    appendix = report_html[report_html.index('id="appendix"') :]
    assert "evaluate_effects.csv" in appendix and "evaluate_chart.png" in appendix
    assert "scan_clusters.csv" not in appendix  # known files are not
    maps = report_html[report_html.index('id="maps"') : report_html.index('id="tables"')]
    assert "Other figures" in maps and "(evaluate_chart.png)" in maps


def test_registered_section_claims_its_files(run_dir, tmp_path):
    @register_section("evaluate_test", anchors=["evaluate_effects.csv"])
    def _effects(run, prefix):
        name = f"{prefix}evaluate_effects.csv"
        frame = run.read_table(name)
        return ReportSection(
            title=("Programme effects", "정책 효과"),
            tables=[Table(("Effects", "효과"), frame, name)],
            files={name},
        )

    try:
        document = render_html(run_dir)
    finally:
        from dongne.report import sections as module

        module._REGISTRY[:] = [e for e in module._REGISTRY if e[0] != "evaluate_test"]
    appendix = document[document.index('id="appendix"') :]
    assert "evaluate_effects.csv" not in appendix and "evaluate_chart.png" in appendix
    assert "Programme effects" in document and "<td class=num>0.5</td>" in document


# ------------------------------------------------------------------------------- languages


def test_language_choice(run_dir):
    english, korean = (html.unescape(render_html(run_dir, lang=lang)) for lang in ("en", "ko"))
    assert '<html lang="en">' in english and '<html lang="ko">' in korean
    assert "Local Moran's I of basement_share_pct" in english
    assert "국지적 모란 I (LISA): 36개 지역" not in english
    assert "국지적 모란 I (LISA): 36개 지역" in korean
    assert "Local Moran's I of basement_share_pct" not in korean
    assert ">Findings<" in english and ">주요 결과<" in korean and ">Findings<" not in korean


def test_split_languages_separates_added_translation_lines():
    text = (
        "Kulldorff spatial scan over 5 areas.\n"
        "  Most likely cluster: 2 area(s) around 신림동.\n"
        "Left out for missing counts (1): 1121065.\n"
        "값이 없어 제외한 지역 1곳: 1121065.\n\n"
        "쿨도르프 공간 스캔 통계량: 5개 지역, 몬테카를로 반복 99회.\n"
        "  가장 유력한 군집: 신림동 주변 2개 지역."
    )
    assert [lang for lang, _ in split_languages(text)] == ["en", "ko", "ko"]
    assert split_languages(text)[1][1] == "값이 없어 제외한 지역 1곳: 1121065."


# ------------------------------------------------------------------------------- errors


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        build_report(tmp_path / "nope")


def test_folder_without_provenance_is_not_a_run(tmp_path):
    (tmp_path / "table.csv").write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"not a dongne run: it has no \*\.provenance\.json"):
        build_report(tmp_path)
    assert not list(tmp_path.glob("report*"))


def test_broken_provenance_is_named(tmp_path):
    (tmp_path / "t.csv.provenance.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match=r"t\.csv\.provenance\.json is not valid JSON"):
        build_report(tmp_path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "docx"}, r"'format' parameter must be one of 'html', 'pdf'\. Got 'docx'"),
        ({"lang": "fr"}, r"'lang' parameter must be one of 'en', 'ko', 'both'\. Got 'fr'"),
    ],
)
def test_bad_options(run_dir, options, message):
    with pytest.raises(SpecificationError, match=message):
        build_report(run_dir, **options)


def test_write_is_atomic(run_dir, tmp_path):
    target = tmp_path / "keep.html"
    target.write_text("previous", encoding="utf-8")
    with pytest.raises(SpecificationError):
        build_report(run_dir, out=target, lang="xx")
    assert target.read_text(encoding="utf-8") == "previous"
    build_report(run_dir, out=target)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.html"]  # no temporary left


# ------------------------------------------------------------------------------- PDF


def test_pdf_has_pages_korean_text_and_only_the_bundled_font(report_pdf):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(report_pdf)
    assert len(reader.pages) > 5
    text = "\n".join(page.extract_text() for page in reader.pages)
    compact = re.sub(r"\s+", "", text)
    for phrase in ("주요결과", "국지적모란I", "매칭보고서", "관악구", "Findings"):
        assert phrase in compact
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert fonts and all("NanumGothic" in f for f in fonts), fonts
    assert reader.metadata.title.startswith("Analysis report")


def test_pdf_is_reproducible(run_dir, tmp_path):
    pytest.importorskip("weasyprint")
    small = tmp_path / "small-run"
    small.mkdir()
    for name in ("summary.txt", "global_moran.csv", "global_moran.csv.provenance.json"):
        shutil.copy(run_dir / name, small / name)
    first = build_report(small, format="pdf", lang="ko", out=tmp_path / "a.pdf").read_bytes()
    second = build_report(small, format="pdf", lang="ko", out=tmp_path / "b.pdf").read_bytes()
    assert first[:5] == b"%PDF-" and first == second
