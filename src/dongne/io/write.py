"""Writing results atomically, each with a provenance file that carries its match reports."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne import __version__
from dongne.errors import DataError
from dongne.io.atomic import atomic_path, atomic_write_text

__all__ = ["provenance", "write_layer", "write_provenance", "write_table"]


def jsonable(obj: Any) -> Any:
    """Turn provenance values into JSON-ready ones: NumPy scalars and arrays, paths, ``pd.NA``
    and mappings are converted; any other object becomes its ``str``."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is pd.NA:
        return None
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    return str(obj)


def provenance(frame: pd.DataFrame, **parameters: Any) -> dict[str, Any]:
    """Provenance record of a result: inputs (with their match reports), parameters, versions."""
    return jsonable(
        {
            "dongne_version": __version__,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "rows": len(frame),
            "columns": [str(c) for c in frame.columns],
            "inputs": frame.attrs.get("dongne", {}),
            "parameters": parameters,
        }
    )


def write_provenance(
    path: str | os.PathLike[str], frame: pd.DataFrame, /, **parameters: Any
) -> Path:
    """Write ``<path>.provenance.json`` for an output made from ``frame`` (atomically).

    The record is :func:`provenance`: dongne version, the frame's inputs and ``parameters``.
    Use it for outputs written by other means (figures, text); :func:`write_layer` and
    :func:`write_table` call it themselves. Returns the sidecar's path.
    """
    path = Path(path)
    meta = provenance(frame, **parameters)
    return atomic_write_text(
        path.with_name(path.name + ".provenance.json"),
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n",
    )


def write_layer(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    **parameters: Any,
) -> Path:
    """Write a GeoDataFrame atomically as GeoPackage, GeoJSON or GeoParquet, with provenance.

    Next to ``path`` a ``<name>.provenance.json`` is written with the dongne version, the
    inputs (sources, encodings, match reports, repairs) and ``parameters``.

    Parameters
    ----------
    gdf : GeoDataFrame
    path : path-like
        ``.gpkg``, ``.geojson`` or ``.parquet``.
    layer : str, optional
        GeoPackage layer name (default: the file stem).
    **parameters
        Recorded in the provenance file.

    Returns
    -------
    Path of the written file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    drivers = {".gpkg": "GPKG", ".geojson": "GeoJSON"}
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            gdf.to_parquet(tmp)
        elif suffix in drivers:
            out = gdf.to_crs(4326) if suffix == ".geojson" and gdf.crs is not None else gdf
            out.to_file(tmp, driver=drivers[suffix], layer=layer or path.stem, engine="pyogrio")
        else:
            raise DataError(
                f"{path}: cannot write {suffix!r}. Use .gpkg, .geojson or .parquet for layers, "
                "or write_table for .csv."
            )
    write_provenance(path, gdf, **parameters)
    return path


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str], **parameters: Any) -> Path:
    """Write a table atomically as CSV (UTF-8 with BOM, so Excel shows Hangul) or Parquet.

    Geometry columns are dropped from CSV output (the layer file keeps them). A
    ``<name>.provenance.json`` is written next to it, as for :func:`write_layer`.
    """
    path = Path(path)
    if isinstance(frame, gpd.GeoDataFrame):
        data = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        data.attrs = frame.attrs
    else:
        data = frame
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".csv":
            data.to_csv(tmp, index=False, encoding="utf-8-sig")
        elif path.suffix.lower() == ".parquet":
            data.to_parquet(tmp, index=False)
        else:
            raise DataError(f"{path}: cannot write {path.suffix!r}; use .csv or .parquet.")
    write_provenance(path, data, **parameters)
    return path
