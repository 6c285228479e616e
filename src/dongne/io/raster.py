"""Population grids as points: a GeoTIFF's cells with people become weighted demand points.

A population raster (WorldPop, GHSL, the Korean census grid exported to GeoTIFF) is read band
by band with rasterio (the ``raster`` extra); every cell with a positive, valid value becomes
a point at the cell's centre carrying that value, so that area demand can be spread where
people live (:func:`dongne.allocate.spread_demand` with ``method="points"``, ``dongne access
--demand-points pop.tif``). Cells equal to the file's nodata value, NaN and non-positive cells
are left out and counted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from dongne._optional import import_optional
from dongne.errors import DataError, GeometryError
from dongne.io.provenance import attach

__all__ = ["read_raster_points"]

RASTER_SUFFIXES = (".tif", ".tiff", ".geotiff")


def read_raster_points(
    path: str | os.PathLike[str], *, band: int = 1, column: str = "population", crs: Any = None
) -> gpd.GeoDataFrame:
    """Cell centres of a GeoTIFF with their value in ``column`` (positive cells only).

    Parameters
    ----------
    path : path-like
        A GeoTIFF (population per cell).
    band : int
        Band to read (1-based).
    column : str
        Name of the value column.
    crs : optional
        CRS of the file when it declares none (never guessed).

    Returns
    -------
    GeoDataFrame
        One point per cell with a positive value; ``attrs["dongne"]`` records the source,
        the cell size and the cells left out (nodata, NaN, zero or negative).
    """
    rasterio = import_optional("rasterio", "raster", "population grids from GeoTIFF")
    p = Path(path)
    if not p.is_file():
        raise DataError(f"Raster {p} not found. Fix: give the path of a GeoTIFF.")
    with rasterio.open(p) as src:
        if band < 1 or band > src.count:
            raise DataError(f"{p} has {src.count} band(s); band={band} does not exist.")
        values = src.read(band).astype(float)
        nodata = src.nodata
        transform = src.transform
        file_crs = src.crs
    if file_crs is None and crs is None:
        raise GeometryError(
            f"{p} declares no CRS, so its cells cannot be placed. Fix: crs='EPSG:5179' (the "
            "CRS the grid was made in)."
        )
    bad = ~np.isfinite(values) | (values == nodata if nodata is not None else False)
    keep = ~bad & (values > 0)
    r, c = np.nonzero(keep)
    x, y = rasterio.transform.xy(transform, r, c, offset="center")
    out = gpd.GeoDataFrame(
        {column: values[r, c]},
        geometry=gpd.points_from_xy(np.asarray(x, dtype=float), np.asarray(y, dtype=float)),
        crs=crs if file_crs is None else file_crs.to_wkt(),
    )
    meta = {
        "source": str(p), "format": "geotiff", "band": band,
        "cell_size": [abs(transform.a), abs(transform.e)], "cells_nodata": int(bad.sum()),
        "cells_zero": int((~bad & ~keep).sum()),
    }  # fmt: skip
    attach(out, meta)
    return out
