"""Tests for dongne.report.maps: classification, categories, legend, files and Hangul."""

from __future__ import annotations

import unicodedata
import warnings
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.image import imread
from matplotlib.text import Text
from shapely import Point, box

from dongne.datasets import data_path
from dongne.errors import DataError, DongneWarning, GeometryError, SpecificationError
from dongne.io.crs import to_metric
from dongne.report import (
    HOTSPOT_CATEGORIES,
    LISA_CATEGORIES,
    SCHEMES,
    CategoryMapResult,
    MapResult,
    category_map,
    choropleth,
    korean_font,
    maps,
)

# The Seoul data pack shipped as package data (identical to /work/shared/data/seoul).
DATA = Path(maps.__file__).parents[1] / "datasets" / "data"
TITLE = "서울시 행정동별 반지하 가구 비율 (2010)\nBasement households by dong, Seoul 2010"
LEGEND_TITLE = "반지하 가구 비율 (%)"
NOTE = "자료: 통계청 2010 인구주택총조사 · Source: KOSTAT census 2010"
COLUMN = "basement_household_pct"


def _is_hangul(char: str) -> bool:
    return "HANGUL" in unicodedata.name(char, "")


def _glyph_warnings(records: list[warnings.WarningMessage]) -> list[str]:
    return [str(r.message) for r in records if "missing from font" in str(r.message)]


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    """423 Seoul dongs (EPSG:4326) joined to the 2010 census indicator; 7 have no value."""
    dongs = gpd.read_file(DATA / "seoul_dong_2013.geojson")
    table = pd.read_csv(
        DATA / "seoul_dong_indicators_census2010.csv", dtype={"dong_code": str, "gu_code": str}
    )
    return dongs.merge(table[["dong_code", COLUMN]], on="dong_code", how="left")


@pytest.fixture(scope="module")
def gu() -> gpd.GeoDataFrame:
    return gpd.read_file(DATA / "seoul_gu_2013.geojson")


@pytest.fixture(scope="module")
def drawn(areas, gu, tmp_path_factory) -> tuple[MapResult, list[str]]:
    """One full map written to a PNG, with the warnings recorded while drawing it."""
    path = tmp_path_factory.mktemp("maps") / "basement.png"
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        result = choropleth(
            areas,
            COLUMN,
            title=TITLE,
            legend_title=LEGEND_TITLE,
            path=path,
            boundaries=gu,
            boundary_labels="gu_name",
            note=NOTE,
        )
    return result, _glyph_warnings(records)


def _texts(figure: Figure) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _legend_texts(result: MapResult | CategoryMapResult) -> list[str]:
    legend = result.figure.axes[0].get_legend()
    return [t.get_text() for t in legend.get_texts()]


def _absent_glyphs(figure: Figure) -> list[str]:
    """Characters of the figure's texts that the font matplotlib resolves for them lacks."""
    absent = []
    for text in _texts(figure):
        path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
        font = FT2Font(path)
        absent += [
            f"{c!r} of {text.get_text()!r} is not in {path}"
            for c in text.get_text()
            if not c.isspace() and font.get_char_index(ord(c)) == 0
        ]
    return absent


def _render(text: str, prop: font_manager.FontProperties) -> np.ndarray:
    """RGB pixels of ``text`` drawn alone, large, in the middle of a small white figure."""
    figure = Figure(figsize=(1.0, 1.0), dpi=100)
    FigureCanvasAgg(figure)
    figure.text(0.5, 0.5, text, fontproperties=prop, size=48, ha="center", va="center")
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()


def _assert_no_empty_band(pixels: np.ndarray, pad_inches: float = 0.3, dpi: int = 150) -> None:
    """No white band wider than ``pad_inches`` along any edge of the image (issue 15)."""
    ink = (pixels[..., :3] < 0.95).any(axis=-1)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    limit = pad_inches * dpi
    assert rows[0] < limit and ink.shape[0] - 1 - rows[-1] < limit, (rows[0], rows[-1])
    assert cols[0] < limit and ink.shape[1] - 1 - cols[-1] < limit, (cols[0], cols[-1])


# --- files -------------------------------------------------------------------------------------


def test_png_written_with_expected_size_and_content(drawn):
    result, _ = drawn
    assert result.path is not None and result.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(result.path)
    # figsize (9, 8) inches at 150 dpi is the largest size; the wide city fills the width and
    # the height is trimmed to the content (issue 15: no empty band)
    assert pixels.shape[1] == 9 * 150 and 0.6 * 8 * 150 < pixels.shape[0] < 8 * 150
    _assert_no_empty_band(pixels)
    rgb = pixels[..., :3]
    ink = (rgb < 0.95).any(axis=-1)
    assert 0.2 < ink.mean() < 0.9  # a map, not a blank or flooded canvas
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50
    # only the PNG is left in the folder: the temporary file was renamed, not copied
    assert [p.name for p in result.path.parent.iterdir()] == ["basement.png"]


def test_without_path_nothing_is_written(areas, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = choropleth(areas, COLUMN, title="x", k=3)
    assert result.path is None
    assert list(tmp_path.iterdir()) == []


# --- classification and legend -----------------------------------------------------------------


def test_missing_areas_have_their_own_legend_entry(drawn):
    result, _ = drawn
    assert result.n_missing == 7
    assert int(result.classes.isna().sum()) == 7
    assert _legend_texts(result)[-1] == "No data / 자료 없음 (7)"


def test_counts_bins_and_classes_agree(drawn, areas):
    result, _ = drawn
    n_valued = int(areas[COLUMN].notna().sum())
    assert n_valued == 416
    assert result.counts.sum() == n_valued
    assert np.all(np.diff(result.bins) > 0)
    assert len(result.bins) == len(result.counts) + 1 == 6
    assert result.bins[0] == areas[COLUMN].min() and result.bins[-1] == areas[COLUMN].max()
    observed = result.classes.value_counts().sort_index().to_numpy()
    np.testing.assert_array_equal(observed, result.counts)
    assert result.classes.index.equals(areas.index)
    # one legend row per class, "lower – upper (count)", then the missing row
    legend = _legend_texts(result)
    assert len(legend) == len(result.counts) + 1
    for label, count in zip(legend, result.counts, strict=False):
        assert " – " in label and label.endswith(f"({count})")


@pytest.mark.parametrize("scheme", ["quantiles", "equal_interval", "natural_breaks"])
def test_schemes_give_monotone_bins_and_full_counts(areas, scheme):
    result = choropleth(areas, COLUMN, title="t", scheme=scheme, k=4, dpi=30)
    assert result.scheme == scheme
    assert np.all(np.diff(result.bins) > 0)
    assert result.counts.sum() == 416 and len(result.counts) == 4


def test_quantile_classes_hold_about_equal_numbers(drawn):
    counts = drawn[0].counts
    assert counts.max() - counts.min() <= 2


def test_equal_interval_edges_are_evenly_spaced(areas):
    result = choropleth(areas, COLUMN, title="t", scheme="equal_interval", k=4, dpi=30)
    np.testing.assert_allclose(np.diff(result.bins), np.diff(result.bins)[0])


def test_natural_breaks_match_mapclassify_fisher_jenks(areas):
    mapclassify = pytest.importorskip("mapclassify")
    values = areas[COLUMN].dropna().to_numpy()
    for k in (3, 5, 7):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Numba not installed" from mapclassify
            expected = mapclassify.FisherJenks(values, k=k).bins
        result = choropleth(areas, COLUMN, title="t", scheme="natural_breaks", k=k, dpi=30)
        np.testing.assert_allclose(result.bins[1:], expected)


def test_fixed_bins_keep_user_breaks_and_empty_classes(areas):
    result = choropleth(areas, COLUMN, title="t", scheme="fixed", bins=[5, 10, 20, 100], dpi=30)
    values = areas[COLUMN].dropna()
    np.testing.assert_allclose(result.bins, [values.min(), 5, 10, 20, 100, 100])
    expected = [
        (values <= 5).sum(),
        ((values > 5) & (values <= 10)).sum(),
        ((values > 10) & (values <= 20)).sum(),
        ((values > 20) & (values <= 100)).sum(),
        0,
    ]
    np.testing.assert_array_equal(result.counts, expected)
    # the empty top class is "above the last break", not the break value (issue 15: "0.9 (0)")
    assert _legend_texts(result)[-2] == "> 100 (0)"


def test_ties_give_fewer_classes_with_a_warning():
    grid = gpd.GeoDataFrame(
        {"v": [1.0, 1.0, 1.0, 1.0, 2.0, np.nan]},
        geometry=[box(i, 0, i + 1, 1) for i in range(6)],
        crs="EPSG:5179",
    )
    with pytest.warns(DongneWarning, match="only 2 distinct classes"):
        result = choropleth(grid, "v", title="t", k=4, dpi=30)
    np.testing.assert_array_equal(result.bins, [1.0, 1.0, 2.0])
    np.testing.assert_array_equal(result.counts, [4, 1])
    assert result.n_missing == 1
    assert _legend_texts(result) == ["1 (4)", "1 – 2 (1)", "No data / 자료 없음 (1)"]
    with pytest.warns(DongneWarning, match="only 1 distinct classes"):
        constant = choropleth(grid.assign(v=3.0), "v", title="t", dpi=30)
    np.testing.assert_array_equal(constant.bins, [3.0, 3.0])
    assert _legend_texts(constant) == ["3 (6)"]


def test_geographic_input_is_drawn_in_metres(drawn):
    x0, x1 = drawn[0].figure.axes[0].get_xlim()
    assert 30_000 < x1 - x0 < 60_000  # Seoul is about 37 km wide in EPSG:5179


def test_user_rcparams_are_restored(areas):
    before = dict(matplotlib.rcParams)
    choropleth(areas, COLUMN, title="t", k=3, dpi=30)
    assert dict(matplotlib.rcParams) == before


# --- Hangul ------------------------------------------------------------------------------------


def test_korean_font_is_the_bundled_nanum_gothic():
    family = korean_font()
    assert family == "NanumGothic"
    resolved = font_manager.findfont(font_manager.FontProperties(family=family))
    assert Path(resolved).name == "NanumGothic.ttf"


def test_every_character_is_in_the_font_matplotlib_resolves(drawn):
    result, _ = drawn
    texts = _texts(result.figure)
    hangul_in = {t.get_text() for t in texts if any(_is_hangul(c) for c in t.get_text())}
    # the title, legend title, missing label, gu labels and note all carry Hangul
    assert TITLE in hangul_in and LEGEND_TITLE in hangul_in and NOTE in hangul_in
    assert "No data / 자료 없음 (7)" in hangul_in and "강남구" in hangul_in
    assert _absent_glyphs(result.figure) == []


def test_no_missing_glyph_warning_when_drawing(drawn):
    result, glyph_warnings = drawn
    assert glyph_warnings == []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        result.figure.canvas.draw()
    assert _glyph_warnings(records) == []


def test_hangul_title_draws_real_glyphs_not_boxes(drawn):
    result, _ = drawn
    title = next(t for t in _texts(result.figure) if t.get_text() == TITLE)
    # In the written PNG the title region has ink.
    pixels = imread(result.path)[..., :3]
    box_ = title.get_window_extent(result.figure.canvas.get_renderer())
    height = pixels.shape[0]
    region = pixels[int(height - box_.y1) : int(height - box_.y0), int(box_.x0) : int(box_.x1)]
    assert region.size and (region < 0.5).any(axis=-1).mean() > 0.02
    # Distinct syllables give distinct ink with the title's font ...
    ga, na = (_render(c, title.get_fontproperties()) for c in "가나")
    assert (ga < 128).any() and (na < 128).any()
    assert not np.array_equal(ga, na)
    # ... whereas a font without Hangul draws the same missing-glyph box for both, and warns:
    # this is what the test would see if the Korean font were not used.
    dejavu = font_manager.FontProperties(family="DejaVu Sans")
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        tofu_ga, tofu_na = (_render(c, dejavu) for c in "가나")
    assert np.array_equal(tofu_ga, tofu_na)
    assert _glyph_warnings(records)


def test_area_labels_are_drawn_in_korean(areas):
    result = choropleth(areas, COLUMN, title="t", labels="dong_name", k=3, dpi=30)
    drawn_names = {t.get_text() for t in result.figure.axes[0].texts}
    assert set(areas["dong_name"]) <= drawn_names


# --- errors ------------------------------------------------------------------------------------


def test_missing_column_names_it_and_lists_available(areas):
    with pytest.raises(DataError, match=r"'rate'.*Available columns: dong_code, dong_name"):
        choropleth(areas, "rate", title="t")


def test_missing_label_column(areas, gu):
    with pytest.raises(DataError, match="'name' is not in areas"):
        choropleth(areas, COLUMN, title="t", labels="name")
    with pytest.raises(DataError, match="'name' is not in boundaries"):
        choropleth(areas, COLUMN, title="t", boundaries=gu, boundary_labels="name")
    with pytest.raises(SpecificationError, match="needs 'boundaries'"):
        choropleth(areas, COLUMN, title="t", boundary_labels="gu_name")


def test_non_numeric_column(areas):
    with pytest.raises(DataError, match=r"'dong_name' has dtype .*not numbers"):
        choropleth(areas, "dong_name", title="t")


def test_all_missing_column(areas):
    with pytest.raises(DataError, match="no value in any of the 423 areas"):
        choropleth(areas.assign(empty=np.nan), "empty", title="t")


def test_infinite_values(areas):
    values = areas[COLUMN].copy()
    values.iloc[3] = np.inf
    with pytest.raises(DataError, match="infinite values in rows 3"):
        choropleth(areas.assign(**{COLUMN: values}), COLUMN, title="t")


def test_empty_frame(areas):
    with pytest.raises(DataError, match="empty"):
        choropleth(areas.iloc[:0], COLUMN, title="t")


def test_not_a_geodataframe(areas):
    with pytest.raises(DataError, match="GeoDataFrame"):
        choropleth(pd.DataFrame(areas.drop(columns="geometry")), COLUMN, title="t")


def test_unknown_scheme_lists_allowed_values(areas):
    with pytest.raises(SpecificationError, match=r"'scheme'.*'quantiles'.*'fixed'.*'jenks'"):
        choropleth(areas, COLUMN, title="t", scheme="jenks")
    assert SCHEMES == ("quantiles", "equal_interval", "natural_breaks", "fixed")


@pytest.mark.parametrize("k", [1, 0, -3, 2.5, True])
def test_k_below_two_or_not_int(areas, k):
    with pytest.raises(SpecificationError, match=r"'k' parameter .* int >= 2"):
        choropleth(areas, COLUMN, title="t", k=k)


@pytest.mark.parametrize(
    ("scheme", "bins", "match"),
    [
        ("fixed", None, "non-empty sequence"),
        ("fixed", [5, 5, 10], "strictly increasing"),
        ("fixed", [5, np.nan], "strictly increasing"),
        ("quantiles", [5, 10], "only used with scheme='fixed'"),
    ],
)
def test_bad_bins(areas, scheme, bins, match):
    with pytest.raises(SpecificationError, match=match):
        choropleth(areas, COLUMN, title="t", scheme=scheme, bins=bins)


def test_unsupported_suffix(areas, tmp_path):
    with pytest.raises(SpecificationError, match=r"'path'.*\.png.*map\.docx'"):
        choropleth(areas, COLUMN, title="t", path=tmp_path / "map.docx")
    assert list(tmp_path.iterdir()) == []


def test_pdf_embeds_the_korean_font(areas, tmp_path):
    result = choropleth(areas, COLUMN, title="서울", k=3, path=tmp_path / "map.pdf")
    data = result.path.read_bytes()
    assert data.startswith(b"%PDF") and b"NanumGothic" in data


def test_unknown_cmap(areas):
    with pytest.raises(SpecificationError, match=r"'cmap'.*'NoSuchMap'"):
        choropleth(areas, COLUMN, title="t", cmap="NoSuchMap")


def test_geometry_errors(areas):
    with pytest.raises(GeometryError, match="no coordinate reference system"):
        choropleth(areas.set_crs(None, allow_override=True), COLUMN, title="t")
    points = gpd.GeoDataFrame({"v": [1.0, 2.0]}, geometry=[Point(0, 0), Point(1, 1)], crs=5179)
    with pytest.raises(GeometryError, match=r"needs polygons.*Point"):
        choropleth(points, "v", title="t")
    holed = areas.copy()
    holed.loc[5, "geometry"] = None
    with pytest.raises(GeometryError, match="missing or empty geometries in rows 5"):
        choropleth(holed, COLUMN, title="t")


# --- category maps -----------------------------------------------------------------------------

LISA_TITLE = "서울시 반지하 가구 비율의 LISA 군집\nLISA clusters of basement households"
# Labels assigned by gu, so that every count below can be checked against the gu sizes.
BY_GU = {
    "강남구": "HH",  # 22 dongs
    "서초구": "HH",  # 18
    "노원구": "LL",  # 19
    "도봉구": "LL",  # 14
    "종로구": "HL",  # 17
    "용산구": "undefined",  # 16
    "금천구": None,  # 10, no label at all
}
EXPECTED_COUNTS = {
    "HH": 40,
    "LL": 33,
    "LH": 0,
    "HL": 17,
    "not significant": 423 - 40 - 33 - 17 - 16 - 10,
    "island": 0,
    "undefined": 16,
}


@pytest.fixture(scope="module")
def dongs() -> gpd.GeoDataFrame:
    """The 423 Seoul dongs (EPSG:4326) with a deterministic LISA-style label per gu."""
    frame = gpd.read_file(data_path("seoul_dong_2013.geojson"))
    cluster = frame["gu_name"].map(BY_GU).astype(object)
    cluster[~frame["gu_name"].isin(list(BY_GU))] = "not significant"
    return frame.assign(cluster=cluster)


@pytest.fixture(scope="module")
def gu_outlines() -> gpd.GeoDataFrame:
    return gpd.read_file(data_path("seoul_gu_2013.geojson"))


@pytest.fixture(scope="module")
def lisa_drawn(dongs, gu_outlines, tmp_path_factory) -> tuple[CategoryMapResult, list[str]]:
    """One full LISA-style map written to a PNG, with the warnings recorded while drawing."""
    path = tmp_path_factory.mktemp("category") / "lisa.png"
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        result = category_map(
            dongs,
            "cluster",
            title=LISA_TITLE,
            categories=LISA_CATEGORIES,
            legend_title="LISA 군집\nLISA cluster",
            path=path,
            boundaries=gu_outlines,
            boundary_labels="gu_name",
            note=NOTE,
        )
    return result, _glyph_warnings(records)


def _handles(result: CategoryMapResult) -> list:
    return result.figure.axes[0].get_legend().legend_handles


def test_category_png_written_with_expected_size(lisa_drawn):
    result, _ = lisa_drawn
    assert result.path is not None and result.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(result.path)
    assert pixels.shape[1] == 9 * 150 and pixels.shape[0] < 8 * 150  # trimmed, see above
    _assert_no_empty_band(pixels)
    assert [p.name for p in result.path.parent.iterdir()] == ["lisa.png"]


def test_category_areas_are_filled_with_their_colour(lisa_drawn, dongs):
    result, _ = lisa_drawn
    rgb = np.round(imread(result.path)[..., :3] * 255).astype(int)
    height = rgb.shape[0]
    points = to_metric(dongs, "dongs").geometry.representative_point()
    pixels = result.figure.axes[0].transData.transform(np.column_stack([points.x, points.y]))
    at_point = rgb[(height - pixels[:, 1]).astype(int), pixels[:, 0].astype(int)]
    for label in ("HH", "LL", "HL", "not significant"):
        colour = np.round(np.array(matplotlib.colors.to_rgb(LISA_CATEGORIES[label][0])) * 255)
        inside = (dongs["cluster"] == label).to_numpy()
        matches = (at_point[inside] == colour).all(axis=1)
        # a gu name written over a dong's inner point may hide its fill; nothing else may
        assert matches.mean() > 0.85, (label, matches.mean())
    # Low-High has no area: its colour appears in the legend swatch only
    low_high = np.round(np.array(matplotlib.colors.to_rgb(LISA_CATEGORIES["LH"][0])) * 255)
    high_high = np.round(np.array(matplotlib.colors.to_rgb(LISA_CATEGORIES["HH"][0])) * 255)
    assert (rgb == low_high).all(axis=-1).sum() < 2_000 < 20_000 < (rgb == high_high).all(-1).sum()


def test_category_legend_lists_every_category_in_order_with_counts(lisa_drawn, dongs):
    result, _ = lisa_drawn
    counts = dongs["gu_name"].value_counts()
    assert counts["금천구"] == 10 and counts["용산구"] == 16  # the fixture's arithmetic
    assert result.counts.to_dict() == EXPECTED_COUNTS
    assert list(result.counts.index) == list(LISA_CATEGORIES)
    assert result.n_missing == 10
    assert _legend_texts(result) == [
        "High-High / 고-고 (40)",
        "Low-Low / 저-저 (33)",
        "Low-High / 저-고 (0)",
        "High-Low / 고-저 (17)",
        "Not significant / 유의하지 않음 (307)",
        "Island (no neighbours) / 고립 지역 (0)",
        "Undefined / 값 없음 (16)",
        "No data / 자료 없음 (10)",
    ]


def test_category_classes_are_labels_indexed_like_the_areas(lisa_drawn, dongs):
    classes = lisa_drawn[0].classes
    assert isinstance(classes.dtype, pd.CategoricalDtype)
    assert list(classes.cat.categories) == list(LISA_CATEGORIES)
    assert classes.index.equals(dongs.index)
    assert classes.isna().sum() == 10
    assert classes.dropna().tolist() == dongs["cluster"].dropna().tolist()
    np.testing.assert_array_equal(classes.value_counts(sort=False), lisa_drawn[0].counts)


def test_undefined_and_missing_are_drawn_hatched(lisa_drawn):
    result, _ = lisa_drawn
    handles = dict(zip(_legend_texts(result), _handles(result), strict=True))
    undefined = handles["Undefined / 값 없음 (16)"]
    missing = handles["No data / 자료 없음 (10)"]
    assert undefined.get_hatch() == missing.get_hatch() == "//////"
    assert handles["High-High / 고-고 (40)"].get_hatch() is None
    # both land in one hatched layer of 16 + 10 areas
    hatched = [c for c in result.figure.axes[0].collections if c.get_hatch()]
    assert len(hatched) == 1 and len(hatched[0].get_paths()) == 26


def test_same_categories_give_the_same_legend(dongs):
    """Maps of different data with the same palette differ only in the counts."""
    subset = dongs[dongs["gu_name"].isin(["강남구", "서초구"])]
    small = category_map(subset, "cluster", title="t", categories=LISA_CATEGORIES, dpi=30)
    full = category_map(
        dongs.assign(cluster=dongs["cluster"].fillna("not significant")),
        "cluster",
        title="t",
        categories=LISA_CATEGORIES,
        dpi=30,
    )
    assert small.counts.to_dict() == dict.fromkeys(LISA_CATEGORIES, 0) | {"HH": 40}
    assert small.n_missing == full.n_missing == 0
    strip = [t.rsplit(" (", 1)[0] for t in _legend_texts(small)]
    assert strip == [t.rsplit(" (", 1)[0] for t in _legend_texts(full)]
    assert len(strip) == len(LISA_CATEGORIES)  # no "No data" entry without missing values


def test_every_category_character_is_in_the_font(lisa_drawn):
    result, glyph_warnings = lisa_drawn
    assert glyph_warnings == []
    hangul_in = {t.get_text() for t in _texts(result.figure) if any(map(_is_hangul, t.get_text()))}
    assert {LISA_TITLE, NOTE, "강남구", "Island (no neighbours) / 고립 지역 (0)"} <= hangul_in
    assert _absent_glyphs(result.figure) == []


def test_hotspot_palette_map(dongs):
    # Rank dongs by area: the 10 largest are 99% hot spots, the 10 smallest 99% cold spots.
    rank = dongs["area_km2"].rank(method="first").astype(int)
    hot = pd.Series("not significant", index=dongs.index)
    hot[rank > 413] = "hot spot 99%"
    hot[rank.between(404, 413)] = "hot spot 95%"
    hot[rank <= 10] = "cold spot 99%"
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        result = category_map(
            dongs.assign(hot=hot), "hot", title="Gi* 핫스팟", categories=HOTSPOT_CATEGORIES, dpi=40
        )
    assert _glyph_warnings(records) == [] and _absent_glyphs(result.figure) == []
    assert result.counts.to_dict() == dict.fromkeys(HOTSPOT_CATEGORIES, 0) | {
        "hot spot 99%": 10,
        "hot spot 95%": 10,
        "not significant": 393,
        "cold spot 99%": 10,
    }
    legend = _legend_texts(result)
    assert legend[0] == "Hot spot 99% / 핫스팟 신뢰수준 99% (10)"
    assert legend[6] == "Cold spot 99% / 콜드스팟 신뢰수준 99% (10)"
    assert legend[2] == "Hot spot 90% / 핫스팟 신뢰수준 90% (0)"


def test_palette_keys_and_colours():
    assert list(LISA_CATEGORIES) == [
        "HH",
        "LL",
        "LH",
        "HL",
        "not significant",
        "island",
        "undefined",
    ]
    assert list(HOTSPOT_CATEGORIES) == [
        "hot spot 99%",
        "hot spot 95%",
        "hot spot 90%",
        "not significant",
        "cold spot 90%",
        "cold spot 95%",
        "cold spot 99%",
        "island",
        "undefined",
    ]
    lisa = {key: style[0] for key, style in LISA_CATEGORIES.items()}
    assert lisa["HH"] == "#d7191c" and lisa["LL"] == "#2c7bb6"
    assert lisa["LH"] == "#abd9e9" and lisa["HL"] == "#fdae61"
    assert lisa["not significant"] == "#eeeeee" and lisa["undefined"] == maps._MISSING_FACE
    hot = [style[0] for style in HOTSPOT_CATEGORIES.values()][:7]
    assert hot == ["#b2182b", "#ef8a62", "#fddbc7", "#eeeeee", "#d1e5f0", "#67a9cf", "#2166ac"]
    for palette in (LISA_CATEGORIES, HOTSPOT_CATEGORIES):
        assert palette["undefined"][2] == "//////"
        assert all(any(map(_is_hangul, style[1])) for style in palette.values())
        with pytest.raises(TypeError):
            palette["HH"] = "red"  # read-only: extend with {**palette, ...}


def test_category_styles_colour_tuple_and_hatch():
    grid = gpd.GeoDataFrame(
        {"kind": ["a", "b", "b", "c", None]},
        geometry=[box(x, 0, x + 1000, 1000) for x in range(0, 5000, 1000)],
        crs="EPSG:5179",
    )
    result = category_map(
        grid,
        "kind",
        title="t",
        categories={
            "c": ((0.1, 0.2, 0.3), "See / 씨", "xx"),
            "a": "tab:red",
            "b": ("#00ff00", "Bee"),
            "d": ("#0000ff", 0.5),  # matplotlib's (colour, alpha)
        },
        missing_label="자료 없음",
        dpi=30,
    )
    assert _legend_texts(result) == ["See / 씨 (1)", "a (1)", "Bee (2)", "d (0)", "자료 없음 (1)"]
    faces = [tuple(h.get_facecolor()) for h in _handles(result)]
    assert faces[:4] == [(0.1, 0.2, 0.3, 1.0), matplotlib.colors.to_rgba("tab:red"),
                         (0.0, 1.0, 0.0, 1.0), (0.0, 0.0, 1.0, 0.5)]  # fmt: skip
    assert [h.get_hatch() for h in _handles(result)] == ["xx", None, None, None, "//////"]
    hatches = sorted(c.get_hatch() for c in result.figure.axes[0].collections if c.get_hatch())
    assert hatches == ["//////", "xx"]


@pytest.mark.parametrize("dtype", [object, "string", "category"])
def test_category_column_dtypes(dongs, dtype):
    column = dongs["cluster"].astype(dtype)
    result = category_map(
        dongs.assign(cluster=column), "cluster", title="t", categories=LISA_CATEGORIES, dpi=30
    )
    assert result.counts.to_dict() == EXPECTED_COUNTS and result.n_missing == 10


def test_non_text_labels():
    grid = gpd.GeoDataFrame(
        {"code": [1, 2, 2, np.nan]},
        geometry=[box(x, 0, x + 1, 1) for x in range(4)],
        crs="EPSG:5179",
    )
    result = category_map(grid, "code", title="t", categories={1: "red", 2: "blue"}, dpi=30)
    assert result.counts.to_dict() == {1: 1, 2: 2} and result.n_missing == 1


def test_unknown_labels_name_them_and_the_fix(dongs):
    cluster = dongs["cluster"].copy()
    cluster.iloc[[3, 4]] = "hh"
    cluster.iloc[7] = "High-High"
    with pytest.raises(DataError) as info:
        category_map(
            dongs.assign(cluster=cluster), "cluster", title="t", categories=LISA_CATEGORIES
        )
    message = str(info.value)
    assert (
        "'cluster' has labels that are not in categories: 'hh' (2 areas), 'High-High' (1 area)"
        in message
    )
    assert "in rows 3, 4, 7" in message and "'HH', 'LL', 'LH'" in message
    assert "Fix: add each label" in message and "categories={**categories, 'hh'" in message


@pytest.mark.parametrize(
    ("categories", "match"),
    [
        ({}, "non-empty mapping"),
        (["HH", "LL"], "non-empty mapping"),
        ({"HH": "not-a-colour"}, r"Got 'HH': 'not-a-colour'"),
        ({"HH": ("red", 3)}, r"\(colour, display label\)"),
        ({"HH": ("red", "High", 5)}, "hatch"),
        ({None: "red"}, "missing-value key"),
        ({np.nan: "red"}, "missing-value key"),
    ],
)
def test_bad_categories(dongs, categories, match):
    with pytest.raises(SpecificationError, match=match):
        category_map(dongs, "cluster", title="t", categories=categories)


def test_category_map_shares_the_input_checks(dongs, tmp_path):
    def draw(frame=dongs, column="cluster", **kwargs):
        return category_map(frame, column, title="t", categories=LISA_CATEGORIES, **kwargs)

    with pytest.raises(DataError, match=r"'lisa' is not in areas.*Available columns: dong_code"):
        draw(column="lisa")
    with pytest.raises(DataError, match="no value in any of the 423 areas"):
        draw(dongs.assign(cluster=None))
    with pytest.raises(DataError, match="GeoDataFrame"):
        draw(pd.DataFrame(dongs.drop(columns="geometry")))
    with pytest.raises(DataError, match="empty"):
        draw(dongs.iloc[:0])
    with pytest.raises(SpecificationError, match=r"'path' parameter of category_map.*map\.docx"):
        draw(path=tmp_path / "map.docx")
    with pytest.raises(SpecificationError, match="'boundary_labels' parameter of category_map"):
        draw(boundary_labels="gu_name")
    with pytest.raises(SpecificationError, match="'dpi' parameter of category_map"):
        draw(dpi=0)
    with pytest.raises(GeometryError, match="no coordinate reference system"):
        draw(dongs.set_crs(None, allow_override=True))
    assert list(tmp_path.iterdir()) == []


def test_category_map_restores_rcparams_and_writes_pdf(dongs, tmp_path):
    before = dict(matplotlib.rcParams)
    result = category_map(
        dongs, "cluster", title="군집", categories=LISA_CATEGORIES, path=tmp_path / "lisa.pdf"
    )
    assert dict(matplotlib.rcParams) == before
    assert (
        result.path.read_bytes().startswith(b"%PDF") and b"NanumGothic" in result.path.read_bytes()
    )


@pytest.mark.parametrize("figsize", [(9.0, 8.0), (10.0, 7.0), (7.0, 9.0)])
def test_wide_legend_stays_inside_the_figure(dongs, figsize):
    """Fixed-aspect maps need several constrained-layout passes; (10, 7) once overflowed."""
    result = category_map(
        dongs, "cluster", title="t", categories=HOTSPOT_CATEGORIES | LISA_CATEGORIES,
        figsize=figsize, dpi=50,
    )  # fmt: skip
    figure = result.figure
    legend = figure.axes[0].get_legend().get_window_extent(figure.canvas.get_renderer())
    assert 0 <= legend.x0 and legend.x1 <= figure.bbox.width


def test_fixed_outer_classes_are_open_intervals_not_a_break_value(areas):
    """Issue 15: the rank-stability legend ended in "0.9 (0)"; an empty top class is "> 0.9"."""
    share = areas.assign(p=np.linspace(0.2, 0.85, len(areas)))
    result = choropleth(share, "p", title="t", scheme="fixed", bins=[0.1, 0.5, 0.9], dpi=30)
    texts = _legend_texts(result)
    assert texts[0] == "≤ 0.1 (0)" and texts[-1] == "> 0.9 (0)"
    assert texts[1:3] == ["0.1 – 0.5 (195)", "0.5 – 0.9 (228)"]
    assert result.counts.tolist() == [0, 195, 228, 0]


def test_rank_stability_map_has_a_legend_scale_bar_and_source(tmp_path):
    from dongne.datasets import seoul_dongs
    from dongne.detect import RankStability

    dongs = seoul_dongs()
    indicators = {"basement_household_pct": "+", "heat_shelters_2023": "-"}
    rs = RankStability(indicators, top_k=20, replications=200, rng=0).fit(
        dongs, id_column="dong_code"
    )
    result = rs.plot(dongs, id_column="dong_code", path=tmp_path / "rs.png", source="KOSTAT")
    texts = _legend_texts(result)
    assert texts[0].startswith(("0.0 – 0.1", "≤ 0.1")) and texts[-1].startswith(("> 0.9", "0.9 –"))
    assert all(not t.startswith("0.9 (") for t in texts)
    ax = result.figure.axes[0]
    assert any(t.get_text().endswith(" km") for t in ax.findobj(Text))  # the scale bar
    assert any("Data: KOSTAT" in t.get_text() for t in ax.texts)
    _assert_no_empty_band(imread(result.path))


def test_category_map_draws_points_and_refuses_a_mix(tmp_path):
    points = gpd.GeoDataFrame(
        {"c": ["HH", "LL", None]}, geometry=[Point(0, 0), Point(500, 0), Point(0, 500)], crs=5179
    )
    result = category_map(points, "c", title="t", categories=LISA_CATEGORIES,
                          path=tmp_path / "p.png")  # fmt: skip
    assert result.counts["HH"] == 1 and result.n_missing == 1 and result.path.is_file()
    mixed = pd.concat([points, gpd.GeoDataFrame({"c": ["HH"]}, geometry=[box(0, 0, 1, 1)],
                                                crs=5179)])  # fmt: skip
    with pytest.raises(GeometryError, match="needs polygons"):
        category_map(mixed, "c", title="t", categories=LISA_CATEGORIES)
