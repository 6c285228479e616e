"""Tests for dongne.report.maps: classification, legend, files and Hangul rendering."""

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

from dongne.errors import DataError, DongneWarning, GeometryError, SpecificationError
from dongne.report import SCHEMES, MapResult, choropleth, korean_font, maps

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


def _legend_texts(result: MapResult) -> list[str]:
    legend = result.figure.axes[0].get_legend()
    return [t.get_text() for t in legend.get_texts()]


def _render(text: str, prop: font_manager.FontProperties) -> np.ndarray:
    """RGB pixels of ``text`` drawn alone, large, in the middle of a small white figure."""
    figure = Figure(figsize=(1.0, 1.0), dpi=100)
    FigureCanvasAgg(figure)
    figure.text(0.5, 0.5, text, fontproperties=prop, size=48, ha="center", va="center")
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()


# --- files -------------------------------------------------------------------------------------


def test_png_written_with_expected_size_and_content(drawn):
    result, _ = drawn
    assert result.path is not None and result.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(result.path)
    assert pixels.shape[:2] == (8 * 150, 9 * 150)  # figsize (9, 8) inches at 150 dpi
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
    assert _legend_texts(result)[-2] == "100 (0)"


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
    for text in texts:
        path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
        font = FT2Font(path)
        absent = [
            c for c in text.get_text() if not c.isspace() and font.get_char_index(ord(c)) == 0
        ]
        assert not absent, f"{absent} of {text.get_text()!r} are not in {path}"


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
