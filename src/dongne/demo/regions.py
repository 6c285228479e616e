"""The Seoul cases of ``dongne regions``: what runs when no file is given.

* interpolate — the 2010-census household counts on the 2013 dongs moved onto the 425 dongs
  of 2021-04-01 (counts shared out by area, the basement share recomputed from the moved
  counts), with the 2013 → 2021 change table read from the geometry;
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
