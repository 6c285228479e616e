"""Shared fixtures: paths to the bundled and shared data, small constructed layers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely import box

from dongne.datasets import data_path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEOUL_SHARED = SHARED / "data" / "seoul"


@pytest.fixture(scope="session")
def seoul_dong_path() -> Path:
    return data_path("seoul_dong_2013.geojson")


@pytest.fixture(scope="session")
def census_path() -> Path:
    return data_path("seoul_dong_indicators_census2010.csv")


@pytest.fixture(scope="session")
def crosswalk_path() -> Path:
    return data_path("seoul_dong_code_crosswalk_2010_2013.csv")


@pytest.fixture(scope="session")
def seoul_dongs_plain(seoul_dong_path) -> gpd.GeoDataFrame:
    from dongne.io import read_areas

    return read_areas(seoul_dong_path)


@pytest.fixture
def grid_areas() -> gpd.GeoDataFrame:
    """A 3×3 grid of 1 km squares in EPSG:5179 with codes 01001..01009 (leading zeros)."""
    x0, y0 = 950_000, 1_950_000
    cells = [
        box(x0 + i * 1000, y0 + j * 1000, x0 + (i + 1) * 1000, y0 + (j + 1) * 1000)
        for j in range(3)
        for i in range(3)
    ]
    codes = [f"0100{k}" for k in range(1, 10)]
    names = [f"{k}동" for k in range(1, 10)]
    return gpd.GeoDataFrame({"code": codes, "name": names}, geometry=cells, crs=5179)


@pytest.fixture(scope="session")
def seoul_shared() -> Path:
    """The shared Seoul data pack (../shared/data/seoul), for files not bundled (GeoPackage)."""
    if not SEOUL_SHARED.is_dir():
        pytest.fail(
            f"shared data not found at {SEOUL_SHARED}; tests expect ../shared beside the repo"
        )
    return SEOUL_SHARED
