"""Coordinate reference systems: choosing a metric CRS and refusing degrees as metres."""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from dongne.errors import GeometryError

__all__ = ["KOREA_METRIC_CRS", "metric_crs", "require_crs", "require_projected", "to_metric"]

#: Korea 2000 / Unified CS (UTM-K), the national metric CRS used by KOSTAT and SGIS.
KOREA_METRIC_CRS = CRS.from_epsg(5179)

# Longitude/latitude envelope of South Korea's territory, with a margin (degrees).
_KOREA_BOUNDS = (124.0, 32.5, 132.5, 39.0)


def require_crs(gdf: gpd.GeoDataFrame, source: str = "the data") -> CRS:
    """Return the CRS of ``gdf`` or raise :class:`GeometryError` explaining how to set one."""
    if gdf.crs is None:
        raise GeometryError(
            f"{source} has no coordinate reference system (CRS). dongne never guesses the CRS "
            "of areas. Fix: pass crs='EPSG:4326' (longitude/latitude) or the projection the file "
            "was made in (e.g. 'EPSG:5179' for UTM-K, 'EPSG:5186' for Korea central belt), or add "
            "a .prj file next to the shapefile."
        )
    return CRS.from_user_input(gdf.crs)


def require_projected(gdf: gpd.GeoDataFrame, what: str, source: str = "the data") -> CRS:
    """Raise unless ``gdf`` is in a projected CRS whose unit is the metre.

    Parameters
    ----------
    gdf : GeoDataFrame
        Geometries about to be used for planar distances or areas.
    what : str
        What the distances are for, used in the message (``"distance-band weights"``).
    source : str
        Name of the data in the message.
    """
    crs = require_crs(gdf, source)
    if crs.is_geographic:
        raise GeometryError(
            f"{what} need planar distances in metres, but {source} is in a geographic CRS "
            f"({crs.name}, degrees). Fix: reproject first, e.g. "
            f"gdf.to_crs(dongne.io.metric_crs(gdf)) — EPSG:5179 for Korea, otherwise a UTM zone."
        )
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if unit not in ("metre", "meter"):
        raise GeometryError(
            f"{what} are computed in metres, but the CRS of {source} ({crs.name}) uses "
            f"'{unit}'. Fix: reproject with gdf.to_crs(dongne.io.metric_crs(gdf))."
        )
    return crs


def metric_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """Choose a metric CRS for ``gdf``: EPSG:5179 inside Korea, otherwise the local UTM zone.

    Parameters
    ----------
    gdf : GeoDataFrame
        Data with a CRS (any).

    Returns
    -------
    pyproj.CRS
        EPSG:5179 (Korea 2000 / Unified CS) when the data's extent lies within South Korea,
        otherwise the WGS 84 UTM zone that contains the centre of the data
        (``GeoDataFrame.estimate_utm_crs``).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> seoul = gpd.GeoDataFrame(geometry=[Point(126.98, 37.57)], crs="EPSG:4326")
    >>> metric_crs(seoul).to_epsg()
    5179
    >>> paris = gpd.GeoDataFrame(geometry=[Point(2.35, 48.86)], crs="EPSG:4326")
    >>> metric_crs(paris).to_epsg()
    32631
    """
    require_crs(gdf)
    geo = gdf.to_crs(4326) if not CRS.from_user_input(gdf.crs).equals(CRS.from_epsg(4326)) else gdf
    minx, miny, maxx, maxy = geo.total_bounds
    kx0, ky0, kx1, ky1 = _KOREA_BOUNDS
    if minx >= kx0 and miny >= ky0 and maxx <= kx1 and maxy <= ky1:
        return KOREA_METRIC_CRS
    return CRS.from_user_input(geo.estimate_utm_crs())


def to_metric(gdf: gpd.GeoDataFrame, source: str = "the data") -> gpd.GeoDataFrame:
    """Return ``gdf`` in a metric CRS: unchanged if projected in metres, else reprojected."""
    crs = require_crs(gdf, source)
    if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
        return gdf
    return gdf.to_crs(metric_crs(gdf))
