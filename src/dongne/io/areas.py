"""Reading area boundaries (GeoJSON, Shapefile, GeoPackage, GeoParquet) with geometry hygiene."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from dongne._warnings import user_stacklevel
from dongne.errors import DataError, GeometryError, GeometryRepairWarning, format_rows
from dongne.io._files import GEO_SUFFIXES, check_layer, existing_file, file_kind, vector_layers
from dongne.io.crs import require_crs
from dongne.io.encoding import decode_bytes, normalise_encoding_name
from dongne.io.provenance import attach

__all__ = ["check_geometries", "read_areas", "read_geo", "shapefile_encoding"]


def shapefile_encoding(path: str | os.PathLike[str]) -> tuple[str | None, str]:
    """Return the text encoding of a shapefile's attributes and how it was decided.

    A ``.cpg`` file next to the ``.shp`` wins. Without one, the ``.dbf`` records are tested:
    strict UTF-8 first, then CP949 (EUC-KR), the encoding of most Korean shapefiles (KOSTAT,
    SGIS, the road-name address database). ``None`` means the attributes are plain ASCII.
    """
    shp = Path(path)
    cpg = shp.with_suffix(".cpg")
    if not cpg.exists():
        cpg = next((p for p in shp.parent.glob(shp.stem + ".*") if p.suffix.lower() == ".cpg"), cpg)
    if cpg.exists():
        name = normalise_encoding_name(cpg.read_text(errors="replace").strip() or "utf-8")
        return name, f"from {cpg.name}"
    dbf = next((p for p in shp.parent.glob(shp.stem + ".*") if p.suffix.lower() == ".dbf"), None)
    if dbf is None:
        return None, "no .dbf"
    data = dbf.read_bytes()
    header_len = int.from_bytes(data[8:10], "little") if len(data) >= 10 else 0
    records = data[header_len:]
    fields = data[32:header_len]  # field descriptors carry the (maybe Korean) column names
    _, detected = decode_bytes(fields + records, source=str(dbf))
    if detected.reason == "ASCII only":
        return None, "attributes are ASCII"
    return detected.encoding, f"detected in {dbf.name} ({detected.reason}); no .cpg file"


def check_geometries(
    gdf: gpd.GeoDataFrame, source: str = "the data", repair: bool = True
) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    """Reject missing/empty geometries and repair invalid ones with ``shapely.make_valid``.

    Returns the (possibly repaired) frame and one record per repaired row: its position, the
    GEOS reason it was invalid and the area change in CRS units². Raises
    :class:`GeometryError` for missing or empty geometries, naming their rows and the fix.
    """
    geoms = gdf.geometry.array
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        rows = [int(i) for i in missing.nonzero()[0]]
        raise GeometryError(
            f"{source}: {len(rows)} feature(s) have no or an empty geometry (rows "
            f"{format_rows(rows)}). Areas need a shape. Fix: remove or redraw those features "
            "and keep their records in a separate table."
        )
    invalid = ~shapely.is_valid(geoms)
    repairs: list[dict[str, Any]] = []
    if invalid.any():
        idx = invalid.nonzero()[0]
        if not repair:
            raise GeometryError(
                f"{source}: {len(idx)} invalid geometries (rows {format_rows(idx.tolist())}): "
                f"{shapely.is_valid_reason(geoms[idx[0]])}. Fix: pass repair=True."
            )
        fixed = shapely.make_valid(geoms[idx])
        # make_valid may return a collection with stray lines/points; keep the polygonal part.
        polygonal = shapely.get_type_id(geoms[idx]) >= 3
        fixed = [_polygonal(g) if keep else g for g, keep in zip(fixed, polygonal, strict=True)]
        for i, old, new in zip(idx, geoms[idx], fixed, strict=True):
            repairs.append(
                {
                    "row": int(i),
                    "reason": shapely.is_valid_reason(old),
                    "area_before": float(shapely.area(old)),
                    "area_after": float(shapely.area(new)),
                }
            )
        gdf = gdf.copy()
        values = gdf.geometry.to_numpy().copy()
        values[idx] = fixed
        gdf[gdf.geometry.name] = gpd.GeoSeries(values, index=gdf.index, crs=gdf.crs)
        warnings.warn(
            f"{source}: repaired {len(idx)} invalid geometries with make_valid (rows "
            f"{format_rows(idx.tolist())}; first: {repairs[0]['reason']}). The repairs are "
            "recorded in gdf.attrs['dongne']['repairs'].",
            GeometryRepairWarning,
            stacklevel=user_stacklevel(),
        )
    return gdf, repairs


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    if shapely.get_type_id(geom) == 7:  # GeometryCollection
        parts = [g for g in shapely.get_parts(geom) if shapely.get_type_id(g) in (3, 6)]
        return shapely.union_all(parts) if parts else geom
    return geom


def read_geo(
    path: str | os.PathLike[str],
    *,
    layer: str | int | None = None,
    encoding: str | None = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame without any geometry checks.

    Handles the layer choice of GeoPackages, the encoding of shapefiles (``.cpg`` or detected)
    and a CRS supplied by the caller. Most users want :func:`read_areas` or
    :func:`dongne.io.read_points` instead.
    """
    p = existing_file(path)
    kind = file_kind(p, GEO_SUFFIXES, "areas")
    meta: dict[str, Any] = {"source": str(p), "format": kind}
    if kind == "geoparquet":
        try:
            gdf = gpd.read_parquet(p)
        except ValueError as exc:
            raise DataError(
                f"{p} is a Parquet file without geometry metadata ({exc}). Fix: read it as a "
                "table with dongne.io.read_table, or write it with GeoDataFrame.to_parquet."
            ) from None
    else:
        layers = vector_layers(p)
        if layer is None and len(layers) > 1:
            listing = ", ".join(f"{name!r} ({gtype})" for name, gtype in layers)
            raise DataError(
                f"{p} has {len(layers)} layers: {listing}. Fix: pass layer={layers[0][0]!r} "
                "(on the command line --layer NAME)."
            )
        if layer is not None:
            check_layer(p, layers, layer)
            meta["layer"] = layer
        kwargs: dict[str, Any] = {}
        if encoding is not None:
            kwargs["encoding"] = normalise_encoding_name(encoding)
            meta["encoding"] = kwargs["encoding"]
            meta["encoding_reason"] = "given"
        elif kind == "shapefile":
            enc, why = shapefile_encoding(p)
            if enc is not None:
                kwargs["encoding"] = enc
            meta["encoding"], meta["encoding_reason"] = enc or "ascii", why
        gdf = pyogrio.read_dataframe(p, layer=layer, **kwargs)
    if crs is not None:
        given = CRS.from_user_input(crs)
        if gdf.crs is not None and not CRS.from_user_input(gdf.crs).equals(given):
            raise GeometryError(
                f"{p} declares CRS {CRS.from_user_input(gdf.crs).name} but crs={crs!r} was "
                "given. Fix: omit crs (the file's own is used) or reproject afterwards with "
                "gdf.to_crs(...)."
            )
        gdf = gdf.set_crs(given, allow_override=True)
    attach(gdf, meta)
    return gdf


def read_areas(
    path: str | os.PathLike[str],
    *,
    layer: str | int | None = None,
    encoding: str | None = None,
    crs: Any = None,
    repair: bool = True,
) -> gpd.GeoDataFrame:
    """Read area boundaries and check them: CRS present, no empty shapes, invalid ones repaired.

    Parameters
    ----------
    path : path-like
        GeoJSON, Shapefile (``.shp``, with ``.cpg`` and ``.prj`` honoured), GeoPackage or
        GeoParquet.
    layer : str or int, optional
        Layer of a multi-layer file (required when there are several).
    encoding : str, optional
        Attribute encoding; by default the ``.cpg`` file, else detected (UTF-8 or CP949).
    crs : optional
        CRS to use when the file has none (e.g. a shapefile without ``.prj``). A CRS that
        contradicts the file's own is an error, never a silent override.
    repair : bool
        Repair invalid geometries with ``shapely.make_valid`` (reported as a
        :class:`GeometryRepairWarning` and in ``attrs["dongne"]["repairs"]``); if False,
        invalid geometries raise.

    Returns
    -------
    GeoDataFrame
        All features in file order. ``attrs["dongne"]`` records source, format, layer,
        encoding (and how it was found) and repairs.

    Raises
    ------
    DataError
        Missing file, unsupported format, ambiguous layer.
    GeometryError
        No CRS and none given; empty or missing geometries; invalid ones with ``repair=False``.

    Examples
    --------
    >>> from dongne.datasets import data_path
    >>> gu = read_areas(data_path("seoul_gu_2013.geojson"))
    >>> len(gu), gu.crs.to_epsg()
    (25, 4326)
    """
    gdf = read_geo(path, layer=layer, encoding=encoding, crs=crs)
    meta = dict(gdf.attrs["dongne"])
    src = str(path) + (f" (layer {layer})" if layer is not None else "")
    if gdf.crs is None:
        require_crs(gdf, src)
    if len(gdf) == 0:
        raise GeometryError(f"{src} has no features. Fix: check the file or the layer name.")
    gdf, repairs = check_geometries(gdf, src, repair=repair)
    meta["repairs"] = repairs
    meta["rows"] = len(gdf)
    attach(gdf, meta)
    return gdf


def as_frame(obj: gpd.GeoDataFrame | pd.DataFrame) -> pd.DataFrame:
    """Drop the geometry column (for CSV outputs)."""
    if isinstance(obj, gpd.GeoDataFrame):
        return pd.DataFrame(obj.drop(columns=obj.geometry.name))
    return obj
