"""File-kind resolution shared by the readers."""

from __future__ import annotations

import os
from pathlib import Path

from dongne.errors import DataError

TABLE_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
}
GEO_SUFFIXES = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".shp": "shapefile",
    ".gpkg": "geopackage",
    ".parquet": "geoparquet",
    ".geoparquet": "geoparquet",
    ".zip": "zipped shapefile",
}


def existing_file(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path, or raise :class:`DataError` saying what is near it."""
    p = Path(path).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        raise DataError(f"{p} is a folder, not a file. Fix: pass the path of a file inside it.")
    parent = p.parent if str(p.parent) else Path(".")
    hint = ""
    if parent.is_dir():
        similar = sorted(q.name for q in parent.iterdir() if q.suffix.lower() == p.suffix.lower())[
            :8
        ]
        if similar:
            hint = f" Files with the same extension in {parent}: {', '.join(similar)}."
    else:
        hint = f" The folder {parent} does not exist either."
    raise DataError(f"File not found: {p}.{hint} Fix: check the path and its spelling.")


def vector_layers(path: Path) -> list[tuple[str, str]]:
    """The layers of a vector file as ``(name, geometry type)``, or a :class:`DataError`.

    GDAL's own error for an empty, truncated or mislabelled file (``Unterminated object``,
    ``not recognized as being in a supported file format``) is kept in the message, after the
    file name and before the fix.
    """
    import pyogrio
    from pyogrio.errors import DataSourceError

    try:
        return [(str(name), str(gtype)) for name, gtype in pyogrio.list_layers(path)]
    except DataSourceError as exc:
        detail = str(exc).split("; It might help")[0].rstrip(". ")
        empty = " (the file is empty)" if path.stat().st_size == 0 else ""
        raise DataError(
            f"{path} cannot be read as a vector file{empty}: {detail}. Fix: check that the "
            "file is complete and in the format its extension says (re-export or download it "
            "again)."
        ) from None


def check_layer(path: Path, layers: list[tuple[str, str]], layer: str | int | None) -> None:
    """Refuse a ``layer`` that ``path`` does not have, naming the layers it does have."""
    names = [name for name, _ in layers]
    if isinstance(layer, str) and layer not in names:
        raise DataError(
            f"{path} has no layer {layer!r}; its layers: {', '.join(names)}. Fix: "
            f"--layer {names[0]} (or leave --layer out for a one-layer file)."
        )
    if isinstance(layer, int) and not 0 <= layer < len(names):
        raise DataError(
            f"{path} has {len(names)} layer(s), so layer {layer} does not exist. Fix: --layer "
            f"{names[0]}."
        )


def file_kind(path: Path, kinds: dict[str, str], what: str) -> str:
    """Return the kind of ``path`` from its suffix, or raise naming the supported formats."""
    kind = kinds.get(path.suffix.lower())
    if kind is None:
        supported = ", ".join(sorted(kinds))
        raise DataError(
            f"{path}: unsupported format '{path.suffix or '(no extension)'}' for {what}. "
            f"Supported: {supported}. Fix: convert the file (e.g. save Excel .xls as .xlsx, "
            "export HWP tables to CSV) or rename it if the extension is wrong."
        )
    return kind
