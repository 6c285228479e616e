"""`dongne demo`: the main job on the bundled Seoul data, end to end.

At this stage the demo answers one question a Seoul analyst is asked every flood season:
*where do households live in basement (반지하) dwellings?* It reads the bundled boundaries and
the 2010 census table, joins them through the 2010→2013 code crosswalk with a match report,
computes the basement-household share per dong, counts the 2023 heat shelters per dong with the
distance to the nearest one, draws a choropleth and writes GeoPackage, CSV, report and map.
Then it runs the statistics on the same table: LISA/Gi* and the vulnerability index, the
Kulldorff scan, 20 new cooling shelters, and the Seoul parts of learn (:mod:`dongne.demo.learn`)
and evaluate (:mod:`dongne.demo.evaluate`).

All Seoul-specific code of the demo lives in this package; the workflows it calls
(:func:`~dongne.detect.workflow.run_detect`, :func:`~dongne.allocate.run_allocate`,
:func:`~dongne.learn.workflow.run_learn_cv`, :func:`~dongne.evaluate.workflow.run_did`, ...)
are generic.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne import weights
from dongne.allocate import run_allocate
from dongne.datasets import data_path
from dongne.demo.evaluate import run_demo_evaluation
from dongne.demo.learn import run_demo_learning
from dongne.detect.workflow import run_detect, run_scan
from dongne.io import (
    check_counts,
    join_by_code,
    points_to_areas,
    read_areas,
    read_points,
    read_table,
    write_layer,
    write_table,
)
from dongne.io.atomic import atomic_write_text
from dongne.report.maps import choropleth

__all__ = ["DemoResult", "basement_share", "run_demo"]

#: Indicators of the demo's vulnerability index: "+" higher is more vulnerable, "-" lower is.
INDICATORS = {
    "basement_share_pct": "+",
    "shelter_capacity_per_1000_households": "-",
    "shelters_nearest_from_centroid_m": "+",
}
#: Enough permutations for FDR over 423 dongs to be reachable (see significance_floor).
PERMUTATIONS = 19_999
SEED = 2026
_SOURCE = (
    "KOSTAT 2010 Population and Housing Census; KOSTAT 2013 census boundaries; Seoul heat "
    "shelters 2023"
)


@dataclass
class DemoResult:
    """Files written by :func:`run_demo` and the per-dong result table."""

    out_dir: Path
    frame: gpd.GeoDataFrame
    files: dict[str, Path] = field(default_factory=dict)
    summary: str = ""


def basement_share(frame: pd.DataFrame) -> pd.Series:
    """Basement/semi-basement households as a percentage of all households (0–100).

    ``basement_households / households × 100``; missing where either count is missing or the
    dong has no households. Counts are checked first (no negative values).
    """
    check_counts(frame, ["households", "basement_households"], allow_missing=True)
    households = frame["households"].astype(float)
    share = 100 * frame["basement_households"].astype(float) / households.where(households > 0)
    return share.rename("basement_share_pct")


def _summary(frame: gpd.GeoDataFrame, n_outside: int) -> str:
    total_h = int(frame["households"].sum())
    total_b = int(frame["basement_households"].sum())
    top = frame.nlargest(10, "basement_share_pct")
    lines = [
        "Semi-basement (반지하) households in Seoul — 2010 census on 2013 dong boundaries",
        f"Seoul overall: {total_b:,} of {total_h:,} households ({100 * total_b / total_h:.2f}%) "
        "lived in a basement or semi-basement dwelling.",
        f"Across the {len(frame)} dongs the share ranges from "
        f"{frame['basement_share_pct'].min():.2f}% to {frame['basement_share_pct'].max():.2f}% "
        f"(median {frame['basement_share_pct'].median():.2f}%).",
        "Highest ten dongs:",
    ]
    for r in top.itertuples():
        lines.append(
            f"  {r.gu_name} {r.dong_name} ({r.dong_code}): {r.basement_share_pct:.2f}% "
            f"({int(r.basement_households):,} of {int(r.households):,}); heat shelters in the "
            f"dong (2023): {int(r.shelters_count)}"
        )
    no_shelter = frame[frame["shelters_count"] == 0]
    lines.append(
        f"{len(no_shelter)} dong(s) have no heat shelter inside: "
        + ", ".join(f"{r.gu_name} {r.dong_name}" for r in no_shelter.itertuples())
        + f". {n_outside} shelter record(s) have coordinates outside Seoul's dongs (listed in "
        "the overlay report)."
    )
    lines += [
        "",
        "서울 반지하 가구 — 2010년 인구주택총조사, 2013년 행정동 경계",
        f"서울 전체 {total_h:,}가구 중 {total_b:,}가구({100 * total_b / total_h:.2f}%)가 "
        "지하·반지하에 거주했습니다.",
        f"행정동 {len(frame)}곳의 비율은 {frame['basement_share_pct'].min():.2f}%에서 "
        f"{frame['basement_share_pct'].max():.2f}%까지이며 중앙값은 "
        f"{frame['basement_share_pct'].median():.2f}%입니다.",
        "비율이 가장 높은 동: "
        + ", ".join(
            f"{r.gu_name} {r.dong_name} {r.basement_share_pct:.1f}%"
            for r in top.head(5).itertuples()
        ),
        "",
        "Caveats: 2010 figures on 2013 boundaries; 8 dongs were renumbered or merged between the "
        "two and were joined through the crosswalk (see match_report.txt). Shelters are 2023.",
    ]
    return "\n".join(lines)


def _census_on_dongs(
    out: Path, result: DemoResult, step: Callable[[str], None]
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(the 2013 dongs with the 2010 census counts, the gu): joined through the crosswalk.

    Writes the match report (``match_report.txt``/``.json``) into ``out``.
    """
    step("reading boundaries and census table")
    dongs = read_areas(data_path("seoul_dong_2013.geojson"))
    gu = read_areas(data_path("seoul_gu_2013.geojson"))
    census = read_table(data_path("seoul_dong_indicators_census2010.csv"))
    crosswalk = read_table(data_path("seoul_dong_code_crosswalk_2010_2013.csv"))

    step("joining 2010 census codes to 2013 dongs")
    census = census[["dong_code", "dong_name", "households", "basement_households"]]
    census = census.rename(columns={"dong_name": "dong_name_2010"})
    joined, report = join_by_code(
        dongs,
        census,
        key="dong_code",
        crosswalk=crosswalk,
        crosswalk_from="dong_code_2010",
        crosswalk_to="dong_code_2013",
        combine={"households": "sum", "basement_households": "sum"},
    )
    result.files["match_report"] = report.save(out / "match_report.txt")
    report.save(out / "match_report.json")
    return joined, gu


def _shelters_per_dong(
    joined: gpd.GeoDataFrame, out: Path, result: DemoResult
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """(dongs with shelter counts and distances, shelters in use, shelters outside every dong).

    Writes ``shelters_overlay.txt`` (the overlay summary and the shelters outside) into ``out``.
    """
    shelters = read_points(data_path("seoul_heat_shelters_2023.csv"), x="lon", y="lat", crs=4326)
    shelters = shelters[shelters["in_use"] == "Y"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the outside points are reported in the file below
        overlay = points_to_areas(
            joined, shelters, prefix="shelters", sum_columns=["capacity_persons"]
        )
    frame = overlay.frame
    frame["shelters_nearest_m"] = frame["shelters_nearest_m"].round(1)
    frame["shelters_nearest_from_centroid_m"] = frame["shelters_nearest_from_centroid_m"].round(1)
    outside = overlay.outside[["facility_id", "name", "road_address", "lon", "lat", "coord_check"]]
    overlay_text = overlay.summary() + "\nPoints outside every dong:\n" + outside.to_string()
    result.files["overlay_report"] = atomic_write_text(
        out / "shelters_overlay.txt", overlay_text + "\n"
    )
    return frame, shelters, outside


def run_demo(
    out_dir: str | os.PathLike[str] = "dongne-demo",
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the Seoul demo and write its outputs into ``out_dir``.

    Files: ``seoul_basement_households.gpkg`` (layer ``dongs``), the same table as ``.csv``
    (UTF-8 with BOM), ``basement_share_map.png``, ``lisa_map.png``, ``gistar_map.png``,
    ``index_map.png``, ``rank_stability_map.png``, ``global_moran.csv``, ``scan_map.png``,
    ``scan_clusters.csv``, ``allocate_*`` (20 new cooling shelters: sites, before/after maps,
    Pareto sweep),
    ``match_report.txt``/``.json``, ``shelters_overlay.txt``, ``summary.txt`` and a
    ``.provenance.json`` beside each data file.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created if needed).
    progress : callable, optional
        Called with a short description before each step (the CLI draws a progress bar).
    """
    step = progress or (lambda _msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out_dir=out, frame=gpd.GeoDataFrame())

    joined, gu = _census_on_dongs(out, result, step)

    step("computing basement-household shares")
    joined["basement_share_pct"] = basement_share(joined).round(4)

    step("counting heat shelters per dong")
    frame, shelters, outside = _shelters_per_dong(joined, out, result)

    step("drawing the map")
    mapped = choropleth(
        frame,
        "basement_share_pct",
        title=(
            "서울 행정동별 반지하 가구 비율 (2010)\n"
            "Share of households in basement dwellings, Seoul"
        ),
        legend_title="% of households / 가구 비율",
        path=out / "basement_share_map.png",
        scheme="quantiles",
        k=5,
        boundaries=gu,
        boundary_labels="gu_name",
        note="Data: KOSTAT 2010 Population and Housing Census; KOSTAT 2013 census boundaries. "
        "Made with dongne.",
    )
    result.files["map"] = mapped.path

    frame["shelter_capacity_per_1000_households"] = (
        1000 * frame["shelters_capacity_persons_sum"] / frame["households"]
    ).round(2)

    step("finding clusters, hot spots and the most vulnerable dongs")
    detected = run_detect(
        frame,
        "dong_code",
        weights.queen(frame, ids="dong_code"),
        "basement_share_pct",
        out,
        methods=("moran", "lisa", "gistar", "index"),
        indicators=INDICATORS,
        permutations=PERMUTATIONS,
        rng=SEED,
        group_column="gu_name",
        name_column="dong_name",
        top_k=20,
        boundaries=gu,
        write_tables=False,
        label="반지하 가구 비율 · Share of households in basement dwellings (%)",
        source=_SOURCE,
    )
    result.files.update(detected.files)
    frame = detected.frame

    step("scanning for clusters of basement households (Kulldorff)")
    scanned = run_scan(
        frame,
        "dong_code",
        "basement_households",
        out,
        population="households",
        replications=999,
        rng=SEED,
        name_column="dong_name",
        boundaries=gu,
        write_tables=False,
        label="반지하 가구 (가구 수 대비) · Basement households vs households",
        source=_SOURCE,
    )
    result.files.update(scanned.files)
    frame = scanned.frame

    step("placing 20 new cooling shelters (MCLP with equity across gu)")
    usable = shelters[shelters["coord_check"] == "ok"]
    allocated = run_allocate(
        frame,
        out,
        model="mclp",
        candidates="grid",
        grid_spacing="250m",
        existing=usable,
        existing_id="facility_id",
        p=20,
        radius="300m",
        weight="basement_households",
        demand_id="dong_code",
        equity_by="gu_name",
        pareto=4,
        boundaries=gu,
        source=_SOURCE,
        prefix="allocate_",
        # Each dong's basement households spread over the 100 m cells cut by the dong, by
        # area: the bundled data have no population grid or residential land use to say
        # where in a dong people live (give demand_points= where one exists).
        demand_spacing="100m",
    )
    result.files.update({f"allocate_{k}": v for k, v in allocated.files.items()})

    learned = run_demo_learning(out / "learn", progress=step)
    result.files.update({f"learn_{k}": v for k, v in learned.files.items()})
    evaluated = run_demo_evaluation(out / "evaluate", progress=step)
    result.files.update({f"evaluate_{k}": v for k, v in evaluated.files.items()})

    step("writing GeoPackage, CSV and summary")
    params = {"job": "dongne demo", "share": "basement_households / households * 100"}
    result.files["geopackage"] = write_layer(
        frame, out / "seoul_basement_households.gpkg", layer="dongs", **params
    )
    result.files["csv"] = write_table(frame, out / "seoul_basement_households.csv", **params)
    result.summary = "\n\n".join(
        [
            _summary(frame, len(outside)),
            detected.summary,
            scanned.summary,
            allocated.summary,
            learned.summary,
            evaluated.summary,
        ]
    )
    if not np.isfinite(frame["basement_share_pct"]).all():
        missing = frame.loc[~np.isfinite(frame["basement_share_pct"]), "dong_code"].tolist()
        result.summary += f"\nNo share for dongs {', '.join(missing)} (no households)."
    result.files["summary"] = atomic_write_text(out / "summary.txt", result.summary + "\n")
    result.frame = frame
    return result
