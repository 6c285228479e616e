"""The evaluate part of ``dongne demo``: an illustrative DiD across Seoul's 25 gu.

:func:`run_demo_evaluation` builds a two-period gu panel of the semi-basement household share
(2010 vs 2015 census) from the bundled data, with a made-up treatment (the quarter of gu with
the most heat-shelter capacity per 1,000 households) and a spillover rule over gu contiguity,
and runs the generic :func:`dongne.evaluate.workflow.run_did` on it. It demonstrates the
method; it is not evidence of any effect, and its summary says so in its first line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne.evaluate.spillover import SpilloverRule
from dongne.evaluate.workflow import EvaluationOutputs, run_did
from dongne.io.write import write_table

__all__ = ["DEMO_SEED", "run_demo_evaluation"]

#: Seed of the demo's wild cluster bootstrap.
DEMO_SEED = 2026

_ILLUSTRATIVE_EN = (
    "ILLUSTRATIVE EXAMPLE — a demonstration of the method, not evidence of any policy effect.\n"
    "The 'treatment' is made up for the demo: the {k} gu with the most heat-shelter capacity "
    "per 1,000 households (2023 shelters over 2015 households; the top quarter of the 25 gu: "
    "{treated}) are called treated from 2015. No policy assigned them, and the capacity was "
    "measured in 2023, after the outcome period, so this comparison cannot show what shelters "
    "did; with two periods, parallel pre-trends cannot be checked either. (The top half would "
    "leave no untreated gu without a treated neighbour under queen contiguity, so no clean "
    "comparison units; hence the top quarter.)\n"
    "Outcome: the share of general households living in basement or semi-basement (지하·반지하) "
    "dwellings, % — 2010 from the census full count (dong figures summed to gu: "
    "Σ basement households / Σ households), 2015 from the census sample survey (gu figures). "
    "The definition (basement and semi-basement dwellings over all general households) and the "
    "25 gu boundaries are the same in both years; the 2015 shares are sample estimates and "
    "carry sampling error. Seoul overall: {seoul_2010:.2f}% (2010), {seoul_2015:.2f}% (2015)."
)
_ILLUSTRATIVE_KO = (
    "예시 분석 — 방법을 보여 주기 위한 것이며 어떤 정책 효과의 근거도 아닙니다.\n"
    "'처치'는 예시용으로 만든 것입니다: 1,000가구당 무더위쉼터 수용인원"
    "(2023년 쉼터, 2015년 가구)이 가장 많은 {k}개 구(25개 구의 상위 4분의 1: {treated})를 "
    "2015년부터 처치된 것으로 봅니다. 어떤 정책도 이 구들을 지정하지 않았고, 수용인원은 결과 "
    "기간 이후인 2023년에 측정되었으므로 이 비교는 쉼터의 효과를 보여 줄 수 없습니다. 시점이 "
    "두 개뿐이라 사전추세도 점검할 수 없습니다. (상위 절반을 쓰면 퀸 인접 기준으로 처치 구와 "
    "이웃하지 않은 비처치 구가 남지 않아 상위 4분의 1을 썼습니다.)\n"
    "결과변수: 지하·반지하 거주 일반가구 비율(%) — 2010년은 인구주택총조사 전수(동 자료를 "
    "구로 합산), 2015년은 표본조사(구 자료). 두 해의 정의와 25개 구 경계는 같고, 2015년 값은 "
    "표본 추정치로 표본오차가 있습니다. 서울 전체 {seoul_2010:.2f}%(2010), "
    "{seoul_2015:.2f}%(2015)."
)


def _seoul_gu_basement_panel() -> tuple[pd.DataFrame, gpd.GeoDataFrame, list[str]]:
    """The demo's 2-period gu panel, the gu polygons and the illustrative treated gu codes."""
    from dongne.datasets import data_path
    from dongne.io import read_areas, read_table

    gu = read_areas(data_path("seoul_gu_2013.geojson"))
    indicators = read_table(data_path("seoul_gu_indicators.csv"))
    census = read_table(data_path("seoul_dong_indicators_census2010.csv"))
    facilities = read_table(data_path("seoul_dong_facility_counts_2023.csv"))
    by_gu_2010 = census.groupby("gu_code")[["households", "basement_households"]].sum()
    capacity = facilities.groupby(facilities["dong_code"].str[:5])[
        "heat_shelter_capacity_2023"
    ].sum()
    keyed = indicators.set_index("gu_code").reindex(gu["gu_code"])
    per_1000 = (1000 * capacity / keyed["households_2015"]).reindex(keyed.index)
    k = round(len(keyed) / 4)
    treated = per_1000.sort_values(ascending=False, kind="stable").index[:k].tolist()
    rows = []
    for year, households, basement in (
        (2010, by_gu_2010["households"], by_gu_2010["basement_households"]),
        (2015, keyed["households_2015"], keyed["basement_households_2015"]),
    ):
        part = pd.DataFrame(
            {
                "gu_code": keyed.index,
                "gu_name": keyed["gu_name"].to_numpy(),
                "year": year,
                "households": households.reindex(keyed.index).to_numpy(),
                "basement_households": basement.reindex(keyed.index).to_numpy(),
            }
        )
        rows.append(part)
    panel = pd.concat(rows, ignore_index=True)
    panel["basement_share_pct"] = 100 * panel["basement_households"] / panel["households"]
    panel["heat_shelter_capacity_per_1000_households_2023"] = (
        panel["gu_code"].map(per_1000).round(2)
    )
    panel["first_treated"] = np.where(panel["gu_code"].isin(treated), 2015, 0)
    panel.attrs = {
        "dongne": {
            "sources": [
                census.attrs.get("dongne", {}),
                facilities.attrs.get("dongne", {}),
                indicators.attrs.get("dongne", {}),
            ]
        }
    }
    return panel, gu, treated


def run_demo_evaluation(
    out_dir: str | os.PathLike[str], progress: Callable[[str], None] | None = None
) -> EvaluationOutputs:
    """The demo's illustrative policy evaluation on the bundled Seoul data.

    A 2×2 difference-in-differences of the semi-basement household share (%) across Seoul's 25
    gu, 2010 (census full count, dong figures summed to gu) vs 2015 (census sample, gu
    figures), with gu-clustered standard errors and a wild cluster bootstrap (999 Webb draws,
    seed :data:`DEMO_SEED`), and the spillover rule ``exposure`` over queen contiguity of gu:
    untreated gu bordering a treated gu are taken out of the comparison group and get their
    own estimate against the remaining gu. The treatment — the quarter of gu with the most
    heat-shelter capacity per 1,000 households, measured in 2023 — is **illustrative**: no
    policy is claimed, and ``summary.txt`` says so in its first line.

    Writes :func:`run_did`'s files into ``out_dir`` plus ``did_panel.csv`` (the panel, with
    its sources in the provenance).

    Parameters
    ----------
    out_dir : path-like
        Output folder, e.g. ``<demo out>/evaluate``.
    progress : callable, optional
        Called once with a short description (the demo's progress bar).
    """
    from dongne import weights

    step = progress or (lambda _msg: None)
    step("illustrative policy evaluation: 2×2 DiD across gu with a spillover rule")
    out = Path(out_dir)
    panel, gu, treated = _seoul_gu_basement_panel()
    names = dict(zip(gu["gu_code"], gu["gu_name"], strict=True))
    totals = panel.groupby("year")[["basement_households", "households"]].sum()
    shares = 100 * totals["basement_households"] / totals["households"]
    fill = {
        "k": len(treated),
        "treated": ", ".join(names[c] for c in treated),
        "seoul_2010": shares[2010],
        "seoul_2015": shares[2015],
    }
    rule = SpilloverRule(handling="exposure", weights=weights.queen(gu, ids="gu_code"), ring=1)
    outputs = run_did(
        panel,
        out,
        unit="gu_code",
        time="year",
        outcome="basement_share_pct",
        first_treated="first_treated",
        estimator="2x2",
        bootstrap=999,
        bootstrap_weights="webb",
        rng=DEMO_SEED,
        spillover=rule,
        areas=gu,
        area_id="gu_code",
        name_column="gu_name",
        caveat=(_ILLUSTRATIVE_EN.format(**fill), _ILLUSTRATIVE_KO.format(**fill)),
        command="dongne demo (illustrative evaluation)",
    )
    outputs.files["panel"] = write_table(
        panel,
        out / "did_panel.csv",
        command="dongne demo (illustrative evaluation)",
        outcome="basement_households / households * 100",
        treatment="illustrative: top quarter of gu by 2023 heat-shelter capacity per 1,000 "
        "households (2015), first treated 2015",
    )
    return outputs
