"""`dongne info`: what is in a file — layers, CRS, columns, rows, encoding."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyogrio
from pyproj import CRS

from dongne.io._files import (
    GEO_SUFFIXES,
    TABLE_SUFFIXES,
    check_layer,
    existing_file,
    vector_layers,
)
from dongne.io.areas import shapefile_encoding
from dongne.io.points import _is_geoparquet
from dongne.io.tables import read_table

__all__ = ["FileInfo", "describe_file"]


@dataclass
class FileInfo:
    """Description of a data file, as printed by ``dongne info``."""

    path: str
    format: str
    rows: int | None = None
    encoding: str | None = None
    encoding_reason: str | None = None
    title_lines: int | None = None
    crs: str | None = None
    layers: list[dict[str, Any]] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)
    layer: str | None = None

    def summary(self) -> str:
        """Human-readable multi-line description."""
        out = [f"file: {self.path}", f"format: {self.format}"]
        if self.encoding:
            out.append(f"encoding: {self.encoding} ({self.encoding_reason})")
        if self.title_lines:
            out.append(
                f"title lines above the header: {self.title_lines} "
                f"(read with title_lines={self.title_lines} or 'auto')"
            )
        for lyr in self.layers:
            out.append(
                f"layer {lyr['name']!r}: {lyr['features']} features, {lyr['geometry_type']}, "
                f"CRS {lyr['crs']}"
            )
        if self.rows is not None:
            out.append(f"rows: {self.rows}")
        if self.columns:
            layer = (
                f" of layer {self.layer!r}"
                if self.layer is not None and len(self.layers) > 1
                else ""
            )
            out.append(f"columns{layer} ({len(self.columns)}):")
            width = max(_display_width(str(c["name"])) for c in self.columns)
            for c in self.columns:
                name = str(c["name"])
                pad = " " * (width - _display_width(name))
                out.append(
                    f"  {name}{pad}  {c['dtype']:<8} missing {c['missing']:>5}  e.g. {c['example']}"
                )
        return "\n".join(out)


def _display_width(text: str) -> int:
    # Hangul and other East Asian wide characters take two terminal cells.
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _columns(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = []
    for c in df.columns:
        s = df[c]
        first = s.dropna()
        example = first.iloc[0] if len(first) else ""
        if hasattr(example, "geom_type"):
            example = example.geom_type
        cols.append(
            {
                "name": str(c),
                "dtype": str(s.dtype),
                "missing": int(s.isna().sum()),
                "example": str(example)[:40],
            }
        )
    return cols


def describe_file(path: str | os.PathLike[str], layer: str | None = None) -> FileInfo:
    """Describe a table or vector file without changing it.

    Tables report the detected encoding, any title lines above the header, rows and columns
    (type, missing count, an example). Vector files report every layer with its feature count,
    geometry type and CRS, and the columns of the chosen (or only) layer.

    Examples
    --------
    >>> from dongne.datasets import data_path
    >>> info = describe_file(data_path("raw/seoul_basic.csv"))
    >>> info.encoding, info.rows, info.columns[0]["name"]
    ('cp949', 25, 'geo')
    """
    p = existing_file(path)
    suffix = p.suffix.lower()
    if suffix in TABLE_SUFFIXES and not (suffix == ".parquet" and _is_geoparquet(p)):
        kwargs: dict[str, Any] = {"title_lines": "auto"} if suffix != ".parquet" else {}
        df = read_table(p, **kwargs)
        meta = df.attrs["dongne"]
        return FileInfo(
            path=str(p),
            format=meta["format"],
            rows=len(df),
            encoding=meta.get("encoding"),
            encoding_reason=meta.get("encoding_reason"),
            title_lines=meta.get("title_lines_skipped"),
            columns=_columns(df),
        )
    if suffix not in GEO_SUFFIXES:
        from dongne.io._files import file_kind

        file_kind(p, {**TABLE_SUFFIXES, **GEO_SUFFIXES}, "dongne info")
    info = FileInfo(path=str(p), format=GEO_SUFFIXES[suffix])
    if suffix == ".shp":
        info.encoding, info.encoding_reason = shapefile_encoding(p)
    if info.format == "geoparquet":
        import geopandas as gpd

        gdf = gpd.read_parquet(p)
        info.layers = [
            {
                "name": p.stem,
                "features": len(gdf),
                "geometry_type": ", ".join(sorted(set(gdf.geom_type.dropna()))),
                "crs": gdf.crs.to_string() if gdf.crs else "none",
            }
        ]
        info.rows, info.columns = len(gdf), _columns(gdf)
        info.crs = info.layers[0]["crs"]
        return info
    layers = vector_layers(p)
    check_layer(p, layers, layer)
    for name, gtype in layers:
        meta = pyogrio.read_info(p, layer=name, encoding=info.encoding)
        crs = meta.get("crs")
        info.layers.append(
            {
                "name": str(name),
                "features": int(meta["features"]),
                "geometry_type": str(gtype),
                "crs": CRS.from_user_input(crs).to_string() if crs else "none",
            }
        )
    chosen = layer if layer is not None else info.layers[0]["name"]
    gdf = pyogrio.read_dataframe(p, layer=chosen, encoding=info.encoding, max_features=1000)
    info.columns = _columns(gdf)
    sel = next(lyr for lyr in info.layers if lyr["name"] == str(chosen))
    info.rows, info.crs, info.layer = sel["features"], sel["crs"], str(chosen)
    return info
