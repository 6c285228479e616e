"""The dashboard in a real browser: Debian's Chromium driven by Playwright against a real
server process on a loopback port.

The main flow signs in, uploads the bundled Seoul dong boundaries and 2010 census table
through the page, runs LISA, and checks that the map's HH/LL/HL/LH paths, their colours
(``dongne.report.LISA_CATEGORIES``) and the results table agree with ``GET
/runs/{id}/result``; then filters, switches to Korean, opens an area's panel with the
keyboard, cancels a long run, and saves ``docs/img/dashboard.png``. Every request the page
makes must stay on 127.0.0.1, and the page must log no error (a Content-Security-Policy
violation would). The JavaScript class breaks must equal those of ``dongne.report.choropleth``
(which tests/test_maps.py checks against mapclassify).

Needs Chromium (``apt-get install -y chromium``; never ``playwright install``): skipped
locally without it, failed in CI.
"""

from __future__ import annotations

import io
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import httpx
import numpy as np
import pytest
from PIL import Image
from shapely import box
from test_service_server import running_service

from dongne.datasets import data_path
from dongne.io import read_areas, read_table
from dongne.report.maps import LISA_CATEGORIES, choropleth
from dongne.service import Settings, create_user

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "src" / "dongne" / "service" / "static"
SCREENSHOT = REPO / "docs" / "img" / "dashboard.png"
DONGS = data_path("seoul_dong_2013.geojson")
CENSUS = data_path("seoul_dong_indicators_census2010.csv")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
INSTALL = "apt-get update && apt-get install -y chromium, and pip install playwright"


def _require_browser() -> None:
    """Fail in CI, skip elsewhere, when Chromium or Playwright is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package"
    else:
        missing = None if Path(CHROMIUM).is_file() else f"Chromium at {CHROMIUM}"
    if missing:
        message = f"{missing} is missing; install with: {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, str, Path]]:
    """A real ``dongne serve`` process: its URL, an owner's token (workspace city), data dir."""
    data = tmp_path_factory.mktemp("dashboard") / "data"
    token = create_user(Settings(data_dir=data), "analyst", workspace="city").token
    with running_service(data) as (url, _):
        yield url, token, data


@pytest.fixture(scope="module")
def server(served) -> tuple[str, str]:
    return served[0], served[1]


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, server):
    """A fresh page on the dashboard; records every request and every error it logs."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = context.new_page()
    pg.requests, pg.errors = [], []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(server[0] + "/")
    pg.wait_for_selector("body[data-ready=true]")
    yield pg
    context.close()


def _upload(page, kind: str, path: Path) -> None:
    """Upload ``path`` through the form and wait until the dataset list shows it (an id above
    every id listed before).

    Waiting for the list to grow was not enough: right after sign-in the workspace's earlier
    datasets may still be loading, so the list "grew" before the upload ended, and the run
    form then took an earlier test's table as the newest (CI, under load: the space-time form
    found no ``dong`` column for 30 s). :func:`_sign_in` now waits for that first load.
    """
    ids = (
        "() => [...document.querySelectorAll('#dataset-list li .meta')]"
        ".map((e) => Number(e.textContent.match(/^#(\\d+) /)?.[1] ?? 0))"
    )
    before = max(page.evaluate(ids), default=0)
    page.select_option("#upload-kind", kind)
    page.set_input_files("#upload-file", str(path))
    with page.expect_response(
        lambda r: r.request.method == "POST" and urlsplit(r.url).path.endswith("/datasets")
    ) as posted:
        page.click("#upload-form button[type=submit]")
    assert posted.value.ok, posted.value.status
    page.wait_for_function(f"() => ({ids})().some((id) => id > {before})")


def _keys_and(page, selector: str, attribute: str) -> dict[str, str | None]:
    return page.eval_on_selector_all(
        selector, f"els => Object.fromEntries(els.map(e => [e.dataset.key, e.{attribute}]))"
    )


# WCAG 2.1 contrast of every visible text against the first opaque background behind it.
_LOW_CONTRAST = """() => {
    const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
    const lum = (c) => {
        const [r, g, b] = rgb(c).map((v) => v / 255)
            .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const behind = (el) => {
        for (let e = el; e; e = e.parentElement) {
            const c = getComputedStyle(e).backgroundColor;
            if ((rgb(c)[3] ?? 1) > 0.5) return c;
        }
        return "rgb(255, 255, 255)";
    };
    const low = [];
    for (const el of document.querySelectorAll("body *")) {
        const text = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        if (!text || !el.checkVisibility() || el.closest("svg, :disabled, option")) continue;
        const s = getComputedStyle(el);
        const [a, b] = [lum(s.color), lum(behind(el))];
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        const size = parseFloat(s.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
        if (ratio < (large ? 3 : 4.5)) low.push(`${el.tagName} ${ratio.toFixed(2)}`);
    }
    return low;
}"""


def _screenshot(page, lang: str) -> None:
    """Save the top of the page in the temporary folder; with DONGNE_UPDATE_SCREENSHOTS=1 the
    English one also, reduced to 256 colours, as the documentation's ``docs/img/dashboard.png``
    (a test run does not rewrite tracked files otherwise)."""
    page.evaluate("() => window.scrollTo(0, 0)")
    png = page.screenshot()
    (Path(tempfile.gettempdir()) / f"dongne-dashboard-{lang}.png").write_bytes(png)
    if lang == "en" and os.environ.get("DONGNE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        image = Image.open(io.BytesIO(png)).convert("RGB").quantize(256)
        image.save(SCREENSHOT, optimize=True)


def _open_spacetime_form(page, token: str, folder: Path) -> None:
    """Sign in, upload the space-time test areas and daily counts, and fill the run form's
    space-time fields (the datasets just uploaded, dong × date × cases)."""
    from test_service_spacetime import _inputs

    areas_path, table_path, _, _ = _inputs(folder)
    _sign_in(page, token)
    _upload(page, "areas", areas_path)
    _upload(page, "table", table_path)
    page.select_option("#run-analysis", "spacetime")
    last = (
        "s => { s.value = s.options[s.options.length - 1].value;"
        " s.dispatchEvent(new Event('change')); }"
    )
    page.eval_on_selector("#run-areas", last)  # the datasets just uploaded (newest last)
    page.eval_on_selector("#run-st-counts", last)
    page.select_option("#run-id-column", "code")
    page.select_option("#run-table", "")
    page.select_option("#run-st-area", "dong")
    page.select_option("#run-st-time", "date")
    page.select_option("#run-st-value", "cases")


def _sign_in(page, token: str) -> None:
    """Sign in on the dashboard page with ``token`` and wait for the app to show."""
    page.fill("#token", token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")
    # the app shows before the workspace's datasets are loaded: wait for the list (its items
    # or "no datasets"), so that no later step races that first load
    page.wait_for_selector("#dataset-list li")


def test_dashboard_runs_lisa_and_the_map_and_table_agree_with_the_api(page, server):
    url, token = server
    assert urlsplit(page.url).path == "/dashboard/"
    _sign_in(page, token)
    assert "analyst" in page.inner_text("#who")
    assert page.evaluate("() => sessionStorage.getItem('dongne.token')") == token

    _upload(page, "areas", DONGS)
    _upload(page, "table", CENSUS)
    page.select_option("#run-id-column", "dong_code")
    page.select_option("#run-name-column", "dong_name")
    page.click("#match-button")
    page.wait_for_selector("#match-report:not([hidden])")
    assert "with data: 416" in page.inner_text("#match-report")
    page.select_option("#run-variable", "basement_household_pct")
    page.uncheck("#fs-detect input[value=gistar]")
    page.fill("#run-permutations", "1999")  # "1,999 permutations" in the test column
    page.select_option("#run-correction", "none")
    page.fill("#run-seed", "1")
    page.click("#run-button")
    page.wait_for_selector("#findings:not([hidden])", timeout=120_000)
    assert page.get_attribute("#progress", "value") == "1"
    assert "Local Moran" in page.inner_text("#findings-text")

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        run = c.get("/workspaces/city/runs").json()[0]
        assert run["status"] == "done" and run["parameters"]["permutations"] == 1999
        served = c.get(f"/runs/{run['id']}/result", params={"format": "geojson"}).json()
    labels = {
        f["properties"]["dong_code"]: f["properties"]["lisa_label"] for f in served["features"]
    }
    significant = {k for k, v in labels.items() if v in ("HH", "LL", "HL", "LH")}
    assert len(labels) == 423 and len(significant) > 20

    # The map: one path per area; significant clusters coloured as in dongne.report.
    assert page.locator("path.area").count() == 423
    for category in ("HH", "LL", "HL", "LH"):
        paths = _keys_and(page, f"path.area.cat-{category}", "getAttribute('fill')")
        assert set(paths) == {k for k, v in labels.items() if v == category}
        assert set(paths.values()) <= {LISA_CATEGORIES[category][0]}
    legend = page.inner_text("#legend-items")
    assert f"High-High ({sum(v == 'HH' for v in labels.values())})" in legend

    # The table: every area, with the served label; "significant only" filters map and table.
    rows = _keys_and(page, "#table tbody tr", "dataset.category ?? null")
    assert rows == {k: (v if v else None) for k, v in labels.items()}
    page.check("#significant-only")
    assert set(_keys_and(page, "#table tbody tr", "dataset.category")) == significant
    assert set(_keys_and(page, "path.area:not(.muted)", "id")) == significant
    assert page.locator("path.area.muted[data-category]").count() == 0
    page.uncheck("#significant-only")
    page.fill("#filter", "High-High")
    hh = {k for k, v in labels.items() if v == "HH"}
    assert set(_keys_and(page, "#table tbody tr", "id")) == hh
    assert set(_keys_and(page, "path.area:not(.muted)", "id")) == hh
    first_hh = sorted(hh)[0]
    page.click(f"#table tbody tr[data-key='{first_hh}'] button")
    assert first_hh in page.inner_text("#details-body")
    assert "High-High (HH)" in page.inner_text("#details-body")  # quadrant and class, not "HH"
    assert page.locator("#highlight path.selected-ring").count() == 1
    page.fill("#filter", "")
    assert page.evaluate(_LOW_CONTRAST) == []
    _screenshot(page, "en")
    assert (Path(tempfile.gettempdir()) / "dongne-dashboard-en.png").stat().st_size > 10_000
    assert SCREENSHOT.stat().st_size < 300_000  # the committed documentation picture

    # Korean: every label switches, categories use the report's Korean names.
    page.click("#lang")
    assert page.get_attribute("html", "lang") == "ko"
    assert page.inner_text("#results-h") == "결과 표"
    assert "고-고" in page.inner_text("#legend-items")
    assert page.inner_text(f"#table tbody tr[data-key='{first_hh}'] td:nth-child(4)") == "고-고"
    # Areas without a value are hatched, not a second light grey beside "not significant".
    undefined = _keys_and(page, "path.area.cat-undefined", "getAttribute('fill')")
    assert len(undefined) == 7 and set(undefined.values()) == {"url(#no-data-hatch)"}
    grey = _keys_and(page, "path.area.cat-not-significant", "getAttribute('fill')")
    assert set(grey.values()) == {LISA_CATEGORIES["not significant"][0]}
    # Result columns have readable Korean names, not "lisa_local_i".
    options = page.locator("#column option").all_inner_texts()
    assert "LISA · 국지적 모란 I" in options and "lisa_local_i" not in options
    page.click(f"#table tbody tr[data-key='{first_hh}'] button")
    details = page.inner_text("#details-body")
    assert "LISA · 국지적 모란 I" in details and "lisa_local_i" not in details
    assert "양측 검정, 순열 1,999회, 보정 없음, 유의수준 0.05" in details  # not "two-sided … none"
    assert "고-고 (HH)" in details and "\tHH\n" not in details
    # The join report speaks Korean too.
    page.click("#match-button")
    page.wait_for_function(
        "() => document.querySelector('#match-report').innerText.includes('매칭 보고서')"
    )
    assert "Match report" not in page.inner_text("#match-report")
    assert page.evaluate(_LOW_CONTRAST) == []
    _screenshot(page, "ko")

    # Keyboard: filter to one area, Tab from the map onto it, Enter opens its panel; arrow
    # keys pan and + zooms.
    name_ko = next(f["properties"]["dong_name"] for f in served["features"]
                   if f["properties"]["dong_code"] == first_hh)  # fmt: skip
    page.fill("#filter", first_hh)
    page.focus("#map")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.key") == first_hh
    page.keyboard.press("Enter")
    assert name_ko in page.inner_text("#details-body .area-name")
    before = page.get_attribute("#viewport", "transform")
    page.keyboard.press("+")
    page.keyboard.press("ArrowLeft")
    after = page.get_attribute("#viewport", "transform")
    assert "scale(1.5)" in after and after != before
    # Zoomed in, the gu are still outlined and named, at the same size on screen.
    names = page.locator("#groups text.group-label").all_text_contents()
    assert len(names) == 25 and "성동구" in names
    assert page.get_attribute("#groups text.group-label >> nth=0", "font-size") == "8.667"
    assert len(page.get_attribute("#groups path.group-outline", "d")) > 1000

    # A long run can be cancelled from the page.
    page.fill("#run-permutations", "99999")
    page.check("#fs-detect input[value=gistar]")
    page.click("#run-button")
    page.wait_for_selector("#cancel-button:not([disabled])")
    page.click("#cancel-button")
    page.wait_for_function(
        "() => document.querySelector('#progress-message').textContent.includes('취소됨')",
        timeout=30_000,
    )

    hosts = {urlsplit(u).hostname for u in page.requests if not u.startswith("data:")}
    assert hosts == {"127.0.0.1"}, hosts
    assert page.errors == []


def test_class_breaks_are_those_of_the_report_maps(page):
    # The 2010 census values on the 2013 dongs (7 missing), drawn as small squares: the
    # classification, not the drawing, is under test.
    values = (
        read_areas(DONGS)[["dong_code"]]
        .merge(read_table(CENSUS), on="dong_code", how="left")["basement_household_pct"]
        .to_numpy(dtype=float)
    )
    squares = gpd.GeoDataFrame(
        {"v": values}, geometry=[box(i, 0, i + 1, 1) for i in range(len(values))], crs=5179
    )
    js = page.evaluate(
        """async (values) => {
            const m = await import('./js/classify.js');
            const v = values.map((x) => (x === null ? NaN : x));
            return Object.fromEntries(['quantiles', 'equal_interval', 'natural_breaks']
                .map((s) => [s, m.classBreaks(v, s, 5)]));
        }""",
        [None if np.isnan(v) else v for v in values],
    )
    for scheme, edges in js.items():
        drawn = choropleth(squares, "v", title="t", scheme=scheme, dpi=10, figsize=(2, 2))
        np.testing.assert_allclose(edges, drawn.bins, rtol=1e-12)
    assert page.errors == []


def test_dashboard_files_are_served_offline(server):
    url, _ = server
    files = sorted(p for p in STATIC.rglob("*") if p.is_file())
    assert {p.name for p in files} >= {"index.html", "main.js", "DongneGothic.ttf", "OFL.txt"}
    external = re.compile(r"""(?:https?:)?//(?!www\.w3\.org/2000/svg)[\w.-]+\.\w+""")
    for path in files:
        r = httpx.get(f"{url}/dashboard/{path.relative_to(STATIC).as_posix()}")
        assert r.status_code == 200 and r.content == path.read_bytes()
        assert r.headers["content-security-policy"].startswith("default-src 'self'")
        if path.suffix in (".html", ".js", ".css"):
            assert external.findall(path.read_text(encoding="utf-8")) == [], path.name
    assert httpx.get(f"{url}/").headers["location"] == "dashboard/"

    # The font: renamed as the OFL requires, and covering every Hangul syllable of the
    # Korean labels and of the bundled Seoul names.
    from fontTools.ttLib import TTFont

    font = TTFont(STATIC / "fonts" / "DongneGothic.ttf")
    assert font["name"].getDebugName(1) == "Dongne Gothic"
    cmap = font.getBestCmap()
    texts = (STATIC / "js" / "i18n.js").read_text(encoding="utf-8") + DONGS.read_text("utf-8")
    hangul = set(re.findall("[\uac00-\ud7a3]", texts))
    assert len(hangul) > 300 and not [c for c in hangul if ord(c) not in cmap]


def test_shared_models_list_opens_the_model_card_page(page, served):
    """A model registered into the service's registry and owned by the workspace is listed;
    its card opens in a new tab through a signed link, in the dashboard's language."""
    import pandas as pd
    from sklearn.linear_model import Ridge

    from dongne.share import ModelCard, ModelRegistry

    _, token, data = served
    settings = Settings(data_dir=data)
    X = pd.DataFrame({"density": [1.0, 2.0, 3.0, 4.0], "age65": [10.0, 12.0, 9.0, 15.0]})
    registry = ModelRegistry(settings.models_dir, settings.models_url)
    card = ModelCard("Screen dongs before field visits", ["census 2010"], ["Jongno-gu"],
                     "2010", {"rmse": 1.5})  # fmt: skip
    if "heat-risk" not in registry.list()["name"].tolist():
        registry.register("heat-risk", Ridge().fit(X, [1.0, 2.0, 2.5, 4.0]), card, X=X)
        registry.set_alias("heat-risk", "production", 1)
        registry.set_access("heat-risk", owner="city")
    page.fill("#token", token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#model-list li strong")
    assert page.inner_text("#model-list li strong") == "heat-risk"
    assert "version 1 (production) · from city" in page.inner_text("#model-list li .meta")
    page.click("#lang")
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="heat-risk 모형 카드 열기").click()
    card_page = opened.value  # opened blank within the click, then sent to the card
    card_page.wait_for_url("**/card/view?**")
    card_page.wait_for_load_state()
    assert urlsplit(card_page.url).path == "/models/heat-risk/card/view"
    assert card_page.inner_text("h1").startswith("모형 카드")
    assert "Screen dongs before field visits" in card_page.inner_text("body")
    # the link is signed: changed, it is refused
    tampered = httpx.get(card_page.url.replace("lang=ko", "lang=en"))
    assert tampered.status_code == 403
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in page.requests), page.requests
    assert not page.errors, page.errors


def test_local_coefficients_and_regions_are_drawn_as_the_run_maps_them(page, tmp_path):
    """An explain (GWR) layer: one view per covariate, red above 0 and blue below, grey
    exactly where the corrected test is not significant; a regions layer: each region in its
    ``region_colour``, one legend entry per region (issues 20, 21)."""
    from test_service_explain import library_fit, write_inputs

    fit = library_fit(write_inputs(tmp_path), "gwr", tmp_path / "gwr", missing="drop")
    frame = fit.frame.to_crs(4326)
    frame["region"] = 1 + (frame["local_x1"] > 0).astype(int)
    frame["region_colour"] = frame["region"].map({1: "#1f77b4", 2: "#aec7e8"})
    features = [{"type": "Feature", "properties": p} for p in frame.drop(columns="geometry")
                .astype(object).where(frame.drop(columns="geometry").notna(), None)
                .to_dict(orient="records")]  # fmt: skip
    js = page.evaluate(
        """async (features) => {
            const m = await import('./js/layers.js');
            const palettes = await (await fetch('palettes.json')).json();
            const draw = (view) => {
                const { styles, legend } = m.styleLayer(features, (f) => f.properties.code,
                    { view, column: m.viewColumn(view), scheme: 'quantiles', k: 5 }, palettes);
                return { fills: Object.fromEntries([...styles].map(([k, s]) => [k, s.fill])),
                         legend };
            };
            return { views: m.availableViews(features), label: m.viewLabel('local:x1'),
                     local: draw('local:x1'), region: draw('region') };
        }""",
        features,
    )
    assert js["views"][:4] == ["local:x1", "local:x2", "local:const", "region"]
    assert js["label"] == "Local coefficient: x1"
    props = {p["code"]: p for p in (f["properties"] for f in features)}
    for code, fill in js["local"]["fills"].items():
        p = props[code]
        if not p["local_x1_significant"]:
            assert fill == "#bdbdbd", code
        elif p["local_x1"] > 0:
            assert fill in ("#fddbc7", "#d6604d", "#67001f"), code  # RdBu_r, red half
        else:
            assert fill in ("#053061", "#4393c3", "#d1e5f0"), code
    grey = [e for e in js["local"]["legend"] if e["colour"] == "#bdbdbd"]
    n_grey = sum(not p["local_x1_significant"] for p in props.values())
    assert grey[0]["count"] == n_grey > 0
    assert js["region"]["fills"] == {c: p["region_colour"] for c, p in props.items()}
    assert [(e["text"], e["count"]) for e in js["region"]["legend"]] == [
        ("Region 1", int((frame["region"] == 1).sum())),
        ("Region 2", int((frame["region"] == 2).sum())),
    ]
    assert page.errors == []


def test_time_slider_recolours_the_map_by_step_and_rings_clusters_in_their_span(
    page, server, tmp_path
):
    """A space-time run started from the form: the slider (keyboard) recolours every area by
    the chosen step's count in the classes of the series, and rings the outbreak's areas
    only in the steps of its time span; Gi* colours hot spots of the step."""
    url, token = server
    _open_spacetime_form(page, token, tmp_path / "st")
    page.fill("#run-st-max-steps", "5")
    page.fill("#run-st-max-pop", "0.5")
    page.fill("#run-st-replications", "99")
    page.fill("#run-seed", "3")
    page.click("#run-button")
    page.wait_for_selector("#time-control:not([hidden])", timeout=120_000)

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        run = c.get("/workspaces/city/runs").json()[0]
        assert run["analysis"] == "spacetime" and run["status"] == "done", run
        assert run["parameters"]["long_table"] and run["parameters"].get("table") is None
        series = c.get(f"/runs/{run['id']}/files/series.json").json()
        palettes = c.get("/dashboard/palettes.json").json()
    values = np.asarray(series["measures"]["value"])
    outbreak = set(series["clusters"][0]["members"])
    assert outbreak == {"A10", "A11", "A14", "A15"}

    def check(step: int) -> dict[str, str]:
        fills = _keys_and(page, "path.area", "getAttribute('fill')")
        ringed = set(_keys_and(page, "path.area.in-cluster", "id"))
        assert ringed == (outbreak if 9 <= step <= 11 else set()), (step, ringed)
        # same classes as the series: a larger count never gets a lighter colour
        colours = palettes["sequential"]["5"]
        rank = {k: colours.index(v) for k, v in fills.items()}
        by_value = sorted(series["areas"], key=lambda a: values[series["areas"].index(a), step])
        assert [rank[a] for a in by_value] == sorted(rank[a] for a in by_value)
        assert series["steps"][step] in page.inner_text("#time-step-text")
        return fills

    slider = page.locator("#time-step")
    assert page.get_attribute("#time-step", "aria-valuetext").startswith("2024-03-12")
    assert page.inner_text("label[for=time-step]") == "Time step"
    last = check(11)
    slider.focus()
    page.keyboard.press("Home")
    first = check(0)
    assert first != last  # the map recoloured
    assert all(first[a] != last[a] for a in outbreak if values[series["areas"].index(a), 11]
               > values[series["areas"].index(a), 0] + 8)  # fmt: skip
    for _ in range(9):
        page.keyboard.press("ArrowRight")
    check(9)
    assert "Space-time cluster 1" in page.inner_text("#legend-items")
    # Gi*: the step's significant hot spots in the hot colour
    page.select_option("#time-measure", "gi_star")
    hot = {a for a, s in zip(series["areas"], series["measures"]["state"], strict=True)
           if s[9] == 1}  # fmt: skip
    fills = _keys_and(page, "path.area", "getAttribute('fill')")
    assert {k for k, v in fills.items() if v == "#d7301f"} == hot
    page.click("#lang")
    assert page.inner_text("label[for=time-step]") == "시점"
    assert "시공간 군집 1" in page.inner_text("#legend-items")
    assert page.errors == []


def test_markov_run_maps_who_moved_up_stayed_or_moved_down(page, server, tmp_path):
    """A neighbourhood-change (markov) run started from the form: the map opens on the
    moves, each area coloured by its ``markov_move`` from the API (up, stayed, down), the
    legend counts them, in English and Korean (issue 18)."""
    url, token = server
    _open_spacetime_form(page, token, tmp_path / "mk")
    page.uncheck("#fs-spacetime input[value=scan]")
    page.uncheck("#fs-spacetime input[value=emerging]")
    page.check("#fs-spacetime input[value=markov]")
    page.fill("#run-st-classes", "3")
    page.fill("#run-st-markov-permutations", "99")
    page.click("#run-button")
    page.wait_for_function(
        "() => document.querySelector('#view')?.value === 'markov'", timeout=120_000
    )
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        run = c.get("/workspaces/city/runs").json()[0]
        assert run["status"] == "done" and run["parameters"]["methods"] == ["markov"], run
        assert (run["parameters"]["classes"], run["parameters"]["markov_permutations"]) == (3, 99)
        feats = c.get(f"/runs/{run['id']}/result").json()["features"]
    moves = {f["properties"]["code"]: f["properties"]["markov_move"] for f in feats}
    colours = {"up": "#d6604d", "same": "#f0f0f0", "down": "#4393c3"}
    fills = _keys_and(page, "path.area", "getAttribute('fill')")
    assert fills == {k: colours[m] for k, m in moves.items()}
    legend = page.inner_text("#legend-items")
    counts = {m: sum(v == m for v in moves.values()) for m in colours}
    assert f"Moved up (higher class in the last step than in the first) ({counts['up']})" in legend
    assert f"Moved down (lower class in the last step than in the first) ({counts['down']})" in (
        legend
    )
    # the time slider's quantile classes: the class of the chosen step, one colour per class
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        series = c.get(f"/runs/{run['id']}/files/series.json").json()
        palette = c.get("/dashboard/palettes.json").json()["sequential"]["3"]
    page.select_option("#view", "timestep")
    page.select_option("#time-measure", "markov_class")
    classes = {a: int(row[-1]) for a, row in zip(series["areas"], series["measures"]
               ["markov_class"], strict=True)}  # fmt: skip
    fills = _keys_and(page, "path.area", "getAttribute('fill')")
    assert fills == {a: palette[c - 1] for a, c in classes.items()}
    assert f"Class 1 ({sum(c == 1 for c in classes.values())})" in page.inner_text("#legend-items")
    page.click("#lang")
    assert "1분위" in page.inner_text("#legend-items")
    page.select_option("#view", "markov")
    assert f"상승 (마지막 시점의 분위가 첫 시점보다 높음) ({counts['up']})" in page.inner_text(
        "#legend-items"
    )
    assert page.errors == []


def test_points_run_draws_the_density_grid_with_the_significant_clusters_outlined(
    page, server, tmp_path
):
    """A points run started from the form (no study area: the points' convex hull) shows
    its density grid as the areas and the significant clusters outlined over it."""
    from test_service_points import _inputs

    url, token = server
    points_path, _, _, _ = _inputs(tmp_path / "pts")
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        r = c.post("/workspaces/city/datasets", params={"kind": "points", "filename": "p.geojson"},
                   content=points_path.read_bytes())  # fmt: skip
        assert r.status_code == 201, r.text
    _sign_in(page, token)
    page.select_option("#run-analysis", "points")
    page.select_option("#run-pt-points", str(r.json()["id"]))
    page.select_option("#run-areas", "")
    page.uncheck("#fs-points input[value=ripley]")
    page.fill("#run-pt-eps", "60")
    page.fill("#run-pt-replications", "19")
    page.click("#run-button")
    page.wait_for_selector("#overlay path.point-cluster", timeout=120_000)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        run = c.get("/workspaces/city/runs").json()[0]
        assert run["status"] == "done", run
        p = run["parameters"]
        assert (p["eps"], p["replications"], p["methods"]) == ([60.0], 19, ["dbscan", "kde"])
        assert p["areas"] is None and p.get("table") is None
        density = c.get(f"/runs/{run['id']}/result", params={"layer": "density"}).json()
        clusters = c.get(f"/runs/{run['id']}/result", params={"layer": "clusters"}).json()
    assert len(clusters["features"]) >= 1
    assert page.locator("path.area").count() == len(density["features"])
    assert page.locator("#overlay path.point-cluster").count() == len(clusters["features"])
    assert f"Significant point cluster ({len(clusters['features'])})" in page.inner_text(
        "#legend-items"
    )
    assert page.locator("#time-control").is_hidden()
    assert page.errors == []
