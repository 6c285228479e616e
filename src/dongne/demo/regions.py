"""The Seoul cases of ``dongne regions``: what runs when no file is given.

* interpolate — the 2010-census household counts on the 2013 dongs moved onto the 425 dongs
  of 2021-04-01 (counts shared out by area, the basement share recomputed from the moved
  counts), with the 2013 → 2021 change table read from the geometry; or (``--seoul-case
  election``) the 2022 presidential election by dong moved onto the 2013 dongs and compared
  with a code crosswalk;
* maxp / skater / azp / ward — planning regions of the 423 dongs from the census and facility
  indicators (max-p: at least 20,000 households each);
* typology — neighbourhood types of the 423 dongs from the same indicators.

The indicators are derived here from the bundled columns (:func:`seoul_indicator_areas`); the
workflows in :mod:`dongne.regions.workflow` stay generic.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

from dongne import datasets

__all__ = ["SEOUL_REGIONS", "seoul_indicator_areas"]

#: Column choices of the bundled Seoul cases.
SEOUL_REGIONS: dict[str, Any] = {
    "id": "dong_code",
    "name": "dong_name",
    "counts": ("households", "basement_households", "heat_shelters_2023", "cctv_cameras_2023"),
    "rates": ("basement_household_pct=basement_households/households*100",),
    "indicators": (
        "basement_household_pct",
        "log_households_per_km2",
        "log_shelter_places_per_100_households",
        "log_cctv_per_1000_households",
    ),
    "k_range": (3, 8),
    "floor_column": "households",
    "floor": 20_000.0,
    "n_regions": 25,
    "source_label": "KOSTAT 2010 census on 2013 dongs; SGIS 2021-04-01 dongs (vuski/admdongkor)",
}


def seoul_indicator_areas() -> gpd.GeoDataFrame:
    """The 423 dongs of 2013 with the bundled columns and four derived indicators.

    ``log_households_per_km2`` (natural log of households per km² of the census polygon),
    ``log_shelter_places_per_100_households`` (log(1 + heat-shelter capacity of 2023 per 100
    households of 2010)) and ``log_cctv_per_1000_households`` (log(1 + safety CCTV cameras of
    2023 per 1,000 households of 2010)); the logs keep the few business-district dongs with
    almost no residents (437 cameras per 1,000 households) from defining the types alone. The
    years differ (see the data README).
    """
    areas = datasets.seoul_dongs()
    hh = areas["households"].astype(float)
    areas["log_households_per_km2"] = np.log(hh / areas["area_km2"])
    areas["log_shelter_places_per_100_households"] = np.log1p(
        100 * areas["heat_shelter_capacity_2023"] / hh
    )
    areas["log_cctv_per_1000_households"] = np.log1p(1000 * areas["cctv_cameras_2023"] / hh)
    return areas


#: 2022-03 dong codes → 2021-04-01 dong codes where the 2021-07-01 changes of 강동구 differ:
#: 강일동 was split into 강일동 + 상일제2동 and 상일동 renamed 상일제1동 (all with new codes).
CODES_2022_TO_2021 = {"1125075": "1125051", "1125077": "1125051", "1125076": "1125052"}

_VOTES = ("electors", "voters", "votes_lee_jaemyung", "votes_yoon_sukyeol",
          "votes_sim_sangjung", "votes_other", "valid_votes")  # fmt: skip


def seoul_election_2022_on_2021() -> gpd.GeoDataFrame:
    """The 2022 presidential election by dong (2022-03 codes) on the 2021-04-01 dongs: the
    three 강동구 codes of the 2021-07 change are summed back into the two dongs they came from
    (:data:`CODES_2022_TO_2021`); every other code is the same in both vintages."""
    from dongne.io import read_table

    votes = read_table(datasets.data_path("seoul_vote_2022_president_dong.csv"))
    votes["dong_code"] = votes["dong_code"].astype(str).replace(CODES_2022_TO_2021)
    summed = votes.groupby("dong_code")[list(_VOTES)].sum()
    areas = datasets.seoul_dongs_2021()
    missing = set(summed.index) ^ set(areas["dong_code"])
    if missing:
        from dongne.errors import DataError

        raise DataError(f"Election codes and 2021 dongs differ: {sorted(missing)}.")
    return areas.join(summed, on="dong_code")


def seoul_election_2022_on_2022() -> gpd.GeoDataFrame:
    """The 2022 presidential election by dong (2022-03 codes) on the 426 dongs of 2022-12-23,
    its own boundaries: every code is a 2022 code except 일원2동's 1123074, which the change
    table 2021 → 2022 read from the boundaries finds renamed 개포3동 (1168067500) on
    2022-12-23; :func:`dongne.regions.vintages.code_history` translates it. Nothing is summed
    or dropped (426 rows on 426 dongs; a join that misses a row is an error here)."""
    from dongne.io import join_by_code, read_table
    from dongne.regions.vintages import code_history

    votes = read_table(datasets.data_path("seoul_vote_2022_president_dong.csv"))
    joined, report = join_by_code(
        datasets.seoul_dongs_2022(), votes[["dong_code", *_VOTES]], key="dong_code",
        crosswalk=code_history("2021", "2022"), crosswalk_from="old_code",
        crosswalk_to="new_code", strict=True,
    )  # fmt: skip
    joined.attrs["translated"] = report.crosswalk["translated"]
    return joined


def election_comparison(
    interpolated: gpd.GeoDataFrame, changes: Any, votes: gpd.GeoDataFrame | None = None
) -> Any:
    """Votes on the 2013 dongs two ways: areal interpolation (``interpolated``) and a code
    crosswalk that gives each source dong (``votes``, by default on the 2022 dongs) wholly to
    the 2013 dong it overlaps most; one row per 2013 dong with both Yoon shares (% of valid
    votes) and their difference."""
    import pandas as pd

    votes = (seoul_election_2022_on_2022() if votes is None else votes).set_index(
        "dong_code")[list(_VOTES)]  # fmt: skip
    links = changes.overlay.to_frame()
    best = links.sort_values("share_of_source").groupby("source_id").tail(1)
    owner = best.set_index("source_id")["target_id"].astype(str)
    by_code = votes.groupby(owner.reindex(votes.index).to_numpy()).sum()
    interp = pd.DataFrame(interpolated.drop(columns=interpolated.geometry.name)).set_index(
        interpolated.columns[0]
    )
    out = pd.DataFrame(index=interp.index)
    out["dong_name"] = interpolated.set_index(interpolated.columns[0]).get("dong_name")
    for name, frame in (("interpolated", interp), ("crosswalk", by_code.reindex(out.index))):
        out[f"valid_votes_{name}"] = frame["valid_votes"]
        out[f"yoon_pct_{name}"] = 100 * frame["votes_yoon_sukyeol"] / frame["valid_votes"]
    out["difference_pct_points"] = out["yoon_pct_interpolated"] - out["yoon_pct_crosswalk"]
    return out.reset_index().rename(columns={"index": "dong_code"})


def run_election_case(out_dir: Any, *, vintage: str = "2022") -> Any:
    """The 2022 presidential election (2022-03 codes) moved onto the 423 dongs of 2013 by
    area, compared with the code crosswalk; writes the interpolation run plus
    ``comparison.csv`` and a paragraph in ``summary.txt``. ``vintage="2022"`` starts from
    the votes' own 2022 boundaries (:func:`seoul_election_2022_on_2022`), ``"2021"`` from
    the 2021-04-01 dongs with the 강동구 codes of 2021-07 summed back
    (:func:`seoul_election_2022_on_2021`)."""
    from pathlib import Path

    from dongne.io.atomic import atomic_write_text
    from dongne.io.write import write_table
    from dongne.regions.workflow import run_interpolate

    out = Path(out_dir)
    votes = seoul_election_2022_on_2022() if vintage == "2022" else seoul_election_2022_on_2021()
    result = run_interpolate(
        votes, datasets.seoul_dongs(indicators=False), out,
        source_id="dong_code", target_id="dong_code", source_name="dong_name",
        target_name="dong_name", extensive=list(_VOTES),
        rates=["yoon_pct=votes_yoon_sukyeol/valid_votes*100",
               "lee_pct=votes_lee_jaemyung/valid_votes*100", "turnout_pct=voters/electors*100"],
        map_column="yoon_pct",
        source_label="NEC 2022 presidential election by dong (vuski/admdongkor ver20220309)",
    )  # fmt: skip
    comparison = election_comparison(result.frame, result.result_changes, votes)
    result.files["comparison"] = write_table(comparison, out / "comparison.csv",
                                             method="interpolation vs code crosswalk")  # fmt: skip
    worst = comparison.reindex(comparison["difference_pct_points"].abs().sort_values().index)
    top = worst.dropna().tail(3).iloc[::-1]
    lines = "; ".join(
        f"{r.dong_name} {r.yoon_pct_interpolated:.1f} % vs {r.yoon_pct_crosswalk:.1f} %"
        for r in top.itertuples()
    )
    extra = (
        f"Votes from the {vintage} dongs{_translated_note(votes)}. Interpolation vs code "
        "crosswalk (Yoon's share of valid votes on the 2013 dongs): "
        f"largest differences {lines}; {int((comparison['difference_pct_points'].abs() > 1).sum())}"
        " dong(s) differ by more than 1 point.\n\n면적 보간과 코드 대응표의 차이(윤석열 득표율, "
        f"2013년 동 기준): {lines}."
    )
    result.summary += "\n\n" + extra
    result.files["summary"] = atomic_write_text(out / "summary.txt", result.summary + "\n")
    return result


def _translated_note(votes: gpd.GeoDataFrame) -> str:
    n = votes.attrs.get("translated")
    if not n:
        return ""
    return (
        f" ({n} code translated by the change table 2021 → 2022 read from the boundaries: "
        "1123074 일원2동 → 1168067500 개포3동)"
    )
