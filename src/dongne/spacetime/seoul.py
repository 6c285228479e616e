"""The Seoul space-time case: a seeded synthetic surveillance stream and real gu panels.

Seoul publishes no daily per-dong case counts in the bundled pack, so surveillance is shown
on a **synthetic** stream, clearly labelled as such: daily cases per dong drawn as Poisson
counts proportional to the dong's 2010 households (the bundled census), with a weekly rhythm
(weekends 0.75×), a smooth seasonal wave, and two planted signals —

* an *outbreak*: dongs within ``outbreak_radius_m`` of ``outbreak_centre`` have
  ``outbreak_rr``× the risk in the last ``outbreak_days`` days (what a prospective
  space-time scan should flag);
* an *emerging hot spot*: dongs within 2 km of ``emerging_centre`` see their risk grow
  linearly from 1× to ``emerging_rr``× over the second half of the period (what emerging hot
  spot analysis should call new / consecutive / intensifying).

The same seed gives the same stream (NumPy's PCG64). :func:`seoul_gu_basement_cube` is real:
the share of households living in basements (반지하) per gu in the 2010 census (bundled
per-dong counts summed to gu) and the 2015 census (bundled gu indicators).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dongne.spacetime.cube import SpaceTimeCube, cube_from_events, cube_from_long

__all__ = ["SyntheticStream", "seoul_gu_basement_cube", "seoul_surveillance_stream"]

#: 상계1동 (노원구) and 화곡1동 (강서구): centres of the planted outbreak and emerging hot spot.
OUTBREAK_CENTRE = "1111065"
EMERGING_CENTRE = "1116073"


@dataclass(frozen=True)
class SyntheticStream:
    """A synthetic case stream: one row per dong and day with cases, and what was planted."""

    events: pd.DataFrame
    areas: Any
    truth: dict = field(default_factory=dict)

    def daily_cube(self) -> SpaceTimeCube:
        """Cases per dong and day."""
        return cube_from_events(
            self.events, "dong_code", "date", freq="D", weight="cases",
            start=self.truth["start"], end=self.truth["end"], areas=self.areas["dong_code"],
            now=False,
        )  # fmt: skip

    def weekly_cube(self) -> SpaceTimeCube:
        """Cases per dong and week (weeks starting on Monday)."""
        return cube_from_events(
            self.events, "dong_code", "date", freq="W-SUN", weight="cases",
            start=self.truth["start"], end=self.truth["end"], areas=self.areas["dong_code"],
            now=False,
        )  # fmt: skip


def seoul_surveillance_stream(
    *,
    days: int = 364,
    start: str = "2024-01-01",
    cases_per_day: float = 60.0,
    outbreak_centre: str = OUTBREAK_CENTRE,
    outbreak_radius_m: float = 2000.0,
    outbreak_days: int = 7,
    outbreak_rr: float = 4.0,
    emerging_centre: str = EMERGING_CENTRE,
    emerging_rr: float = 3.0,
    rng: int = 0,
) -> SyntheticStream:
    """A seeded synthetic daily case stream on Seoul's 423 dongs (see the module notes)."""
    from dongne.datasets import seoul_dongs
    from dongne.io.crs import to_metric

    dongs = seoul_dongs()[["dong_code", "dong_name", "gu_name", "households", "geometry"]]
    dongs = dongs.reset_index(drop=True)
    households = dongs["households"].fillna(dongs["households"].median()).to_numpy(float)
    centroids = to_metric(dongs, "dongs").geometry.centroid
    xy = np.column_stack([centroids.x, centroids.y])
    dates = pd.date_range(start, periods=days, freq="D")
    t = np.arange(days)
    season = 1.0 + 0.3 * np.sin(2 * np.pi * (t - 120) / 365.25)
    week = np.where(dates.day_of_week >= 5, 0.75, 1.0)
    risk = np.outer(households / households.sum(), season * week)
    risk *= cases_per_day / risk.sum(axis=0).mean()
    near_a = _within(xy, dongs, outbreak_centre, outbreak_radius_m)
    risk[np.ix_(near_a, t >= days - outbreak_days)] *= outbreak_rr
    near_b = _within(xy, dongs, emerging_centre, 2000.0)
    ramp = np.clip((t - days / 2) / (days / 2), 0.0, 1.0)
    risk[near_b] *= 1.0 + (emerging_rr - 1.0) * ramp
    counts = np.random.default_rng(rng).poisson(risk)
    rows, cols = np.nonzero(counts)
    events = pd.DataFrame(
        {"dong_code": dongs["dong_code"].to_numpy()[rows], "date": dates[cols],
         "cases": counts[rows, cols]}
    )  # fmt: skip
    truth = {
        "start": dates[0], "end": dates[-1], "seed": rng, "synthetic": True,
        "outbreak": {"centre": outbreak_centre, "dongs": list(dongs["dong_code"][near_a]),
                     "from": dates[days - outbreak_days], "relative_risk": outbreak_rr},
        "emerging": {"centre": emerging_centre, "dongs": list(dongs["dong_code"][near_b]),
                     "from": dates[days // 2], "relative_risk_at_end": emerging_rr},
    }  # fmt: skip
    return SyntheticStream(events, dongs, truth)


def _within(xy: np.ndarray, dongs: Any, centre: str, radius: float) -> np.ndarray:
    match = np.flatnonzero(dongs["dong_code"].to_numpy() == centre)
    if not len(match):
        from dongne.errors import SpecificationError

        raise SpecificationError(f"No dong with code {centre!r} (7-digit KOSTAT 2013 code).")
    return np.hypot(*(xy - xy[match[0]]).T) <= radius


def seoul_gu_basement_cube() -> tuple[SpaceTimeCube, Any]:
    """Basement-household share (%) per gu, 2010 and 2015 censuses, and the gu polygons."""
    from dongne.datasets import data_path, seoul_gu
    from dongne.io import read_table

    gu = seoul_gu(indicators=True)
    census = read_table(data_path("seoul_dong_indicators_census2010.csv"))
    by_gu = census.groupby("gu_code")[["households", "basement_households"]].sum()
    share_2010 = 100 * by_gu["basement_households"] / by_gu["households"]
    keyed = gu.set_index("gu_code")
    share_2015 = 100 * keyed["basement_households_2015"] / keyed["households_2015"]
    long = pd.concat(
        [
            pd.DataFrame({"gu_code": share_2010.index, "year": 2010, "v": share_2010.to_numpy()}),
            pd.DataFrame({"gu_code": share_2015.index, "year": 2015, "v": share_2015.to_numpy()}),
        ]
    )
    long["year"] = long["year"].map({2010: 0, 2015: 1})
    cube = cube_from_long(long, "gu_code", "year", "v", kind="values", now=False)
    cube = SpaceTimeCube(cube.values, cube.areas, pd.Index([2010, 2015]), None, "values",
                         "basement household share (%)")  # fmt: skip
    return cube, gu
