"""Uploaded files: streamed to disk under a size limit, checked, unpacked safely, read by dongne.

An upload is written chunk by chunk to ``<data_dir>/tmp`` (never held in memory), counted
against :attr:`Settings.max_upload_bytes` as it arrives, then moved into a fresh folder, read
with dongne's own readers (:func:`dongne.io.read_areas`, :func:`~dongne.io.read_table`,
:func:`~dongne.io.read_points`) and only then renamed into ``<data_dir>/datasets/<uuid>``. A
failure at any step removes what was written: the dataset folder holds complete, readable
datasets and nothing else.

Zip files (zipped shapefiles) are checked before anything is unpacked: every member name must
be a plain relative path (no ``..``, no absolute or drive paths, no backslashes, no links) and
the members' total uncompressed size must stay under :attr:`Settings.max_unpacked_bytes`
(zip-bomb guard); the unpacking itself counts bytes too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import uuid
import warnings
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import pandas as pd

from dongne.errors import DataError, DongneError
from dongne.io._files import GEO_SUFFIXES, TABLE_SUFFIXES
from dongne.io.provenance import attach
from dongne.io.write import jsonable

__all__ = [
    "KINDS",
    "StoredDataset",
    "UploadRejected",
    "check_filename",
    "read_dataset",
    "receive_upload",
    "store_upload",
    "summarise",
]

#: Dataset kinds and the file suffixes accepted for each.
KINDS: dict[str, tuple[str, ...]] = {
    "areas": tuple(sorted(GEO_SUFFIXES.keys() - {".shp"})),
    "table": tuple(sorted(TABLE_SUFFIXES)),
    "points": tuple(sorted((GEO_SUFFIXES.keys() | TABLE_SUFFIXES.keys()) - {".shp"})),
}
_READABLE_IN_ZIP = (".shp", ".gpkg", ".geojson", ".json", ".parquet", ".geoparquet")
_CHUNK = 1024**2
_MAX_ZIP_MEMBERS = 1000


class UploadRejected(DataError):
    """An upload refused before it was read: too large (413), unsupported (415), unsafe (400)."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass
class StoredDataset:
    """A dataset folder moved into place: paths relative to the data folder, and the summary."""

    stored_path: str
    read_path: str
    size_bytes: int
    sha256: str
    summary: dict[str, Any] = field(default_factory=dict)


def _mib(n: int) -> str:
    return f"{n / 1024**2:.1f} MiB"


def check_filename(name: str, kind: str) -> str:
    """Return ``name`` if it is a plain file name with a suffix accepted for ``kind``.

    Raises :class:`UploadRejected` (400) for names with folders, ``..``, absolute or drive
    paths and control characters, and (415) for unsupported suffixes.

    Examples
    --------
    >>> check_filename("dong.geojson", "areas")
    'dong.geojson'
    >>> check_filename("../../etc/passwd", "table")
    Traceback (most recent call last):
    ...
    dongne.service.storage.UploadRejected: File name '../../etc/passwd' is not a plain file name...
    """
    if kind not in KINDS:
        raise UploadRejected(f"Unknown dataset kind {kind!r}. Use one of {', '.join(KINDS)}.")
    if (
        not name
        or len(name) > 255
        or name in (".", "..")
        or any(c in name for c in "/\\:")
        or any(ord(c) < 32 for c in name)
    ):
        raise UploadRejected(
            f"File name {name!r} is not a plain file name (no folders, '..', drive letters or "
            "control characters). Fix: send only the name, e.g. filename=dong.geojson."
        )
    suffix = Path(name).suffix.lower()
    if suffix not in KINDS[kind]:
        raise UploadRejected(
            f"{name}: unsupported format {suffix or '(no extension)'!r} for {kind}. Supported: "
            f"{', '.join(KINDS[kind])}. Fix: convert the file (Excel .xls to .xlsx, a shapefile "
            "to one .zip holding its .shp, .shx, .dbf, .prj and .cpg).",
            status_code=415,
        )
    return name


async def receive_upload(
    chunks: AsyncIterator[bytes], tmp_dir: Path, limit: int
) -> tuple[Path, int, str]:
    """Stream ``chunks`` into a new file in ``tmp_dir``; return its path, size and SHA-256.

    Raises :class:`UploadRejected` (413) as soon as more than ``limit`` bytes arrived; the
    partial file is removed on that and on any other failure (e.g. the client went away).
    """
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / f"upload-{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as fh:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadRejected(
                        f"Upload larger than the limit of {_mib(limit)}. Fix: split the data, "
                        "drop unused columns, or ask the administrator to raise "
                        "DONGNE_MAX_UPLOAD_MB.",
                        status_code=413,
                    )
                digest.update(chunk)
                fh.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink()
        raise UploadRejected("The upload is empty. Fix: send the file's bytes as the body.")
    return path, size, digest.hexdigest()


def _unsafe_member(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = PurePosixPath(name).parts
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute or Windows path"
    if ".." in parts:
        return "'..' (a path outside the folder)"
    if any(ord(c) < 32 for c in name):
        return "control characters"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    return None


def unpack_zip(path: Path, dest: Path, max_unpacked: int) -> list[Path]:
    """Unpack the zip at ``path`` into ``dest`` after checking every member; return the files.

    Raises :class:`UploadRejected` for a file that is not a zip, encrypted or unsafe member
    names (400), and for more than ``max_unpacked`` uncompressed bytes (413).
    """
    if not zipfile.is_zipfile(path):
        raise UploadRejected(f"{path.name} is not a zip file. Fix: upload the .zip itself.")
    with zipfile.ZipFile(path) as zf:
        members = [
            i for i in zf.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")
        ]
        if len(members) > _MAX_ZIP_MEMBERS:
            raise UploadRejected(
                f"{path.name} holds {len(members)} files (limit {_MAX_ZIP_MEMBERS}). Fix: zip "
                "only the shapefile's parts."
            )
        for info in members:
            why = _unsafe_member(info)
            if why:
                raise UploadRejected(
                    f"{path.name}: member {info.filename!r} has {why}; nothing was unpacked. "
                    "Fix: zip the files from inside their folder."
                )
            if info.flag_bits & 0x1:
                raise UploadRejected(
                    f"{path.name}: member {info.filename!r} is encrypted. Fix: zip it without "
                    "a password."
                )
        total = sum(i.file_size for i in members)
        if total > max_unpacked:
            raise UploadRejected(
                f"{path.name} would unpack to {_mib(total)}, more than the limit of "
                f"{_mib(max_unpacked)} (a zip bomb, or data too large). Nothing was unpacked. "
                "Fix: upload a smaller file or ask the administrator to raise "
                "DONGNE_MAX_UNPACKED_MB.",
                status_code=413,
            )
        written: list[Path] = []
        unpacked = 0
        for info in members:
            target = dest.joinpath(*PurePosixPath(info.filename).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as out:
                while block := src.read(_CHUNK):
                    unpacked += len(block)
                    if unpacked > max_unpacked:
                        raise UploadRejected(
                            f"{path.name} unpacks to more than {_mib(max_unpacked)}.",
                            status_code=413,
                        )
                    out.write(block)
            written.append(target)
    return written


def _file_in_zip(files: list[Path], zip_name: str) -> Path:
    shapefiles = [f for f in files if f.suffix.lower() == ".shp"]
    others = [f for f in files if f.suffix.lower() in _READABLE_IN_ZIP and f not in shapefiles]
    candidates = shapefiles or others
    if len(candidates) != 1:
        found = ", ".join(sorted(f.name for f in candidates)) or "none"
        raise UploadRejected(
            f"{zip_name} must hold exactly one shapefile (.shp with its .shx, .dbf, .prj) or one "
            f"GeoPackage/GeoJSON/GeoParquet; found: {found}. Fix: zip one layer per upload."
        )
    return candidates[0]


def read_dataset(
    path: Path, kind: str, options: dict[str, Any], display_name: str
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a stored dataset with dongne's reader for ``kind``, naming it ``display_name``.

    ``options`` are the reader options given at upload (``layer``, ``encoding``,
    ``title_lines``, ``sheet``, ``x``, ``y``, ``crs``). Errors name ``display_name`` rather
    than the server's path. A failure of the underlying library (a corrupt file) becomes a
    :class:`DataError` that says which format was expected.
    """
    from dongne.io import read_areas, read_points, read_table

    opts = {k: v for k, v in options.items() if v is not None}
    try:
        if kind == "areas":
            frame = read_areas(path, **_pick(opts, "layer", "encoding", "crs"))
        elif kind == "table":
            frame = read_table(path, **_pick(opts, "encoding", "title_lines", "sheet"))
        else:
            frame = read_points(
                path,
                **_pick(
                    opts, "x", "y", "crs", "xy_scale", "layer", "encoding", "title_lines", "sheet"
                ),
            )
    except DongneError as exc:
        raise type(exc)(str(exc).replace(str(path), display_name)) from None
    except Exception as exc:  # a corrupt or mislabelled file: say so, with the library's words
        raise DataError(
            f"{display_name} could not be read as {kind} ({path.suffix} file): "
            f"{type(exc).__name__}: {str(exc).replace(str(path), display_name)}. Fix: check that "
            "the file is complete and that its extension matches its content."
        ) from None
    meta = dict(frame.attrs.get("dongne", {}))
    meta["source"] = display_name
    attach(frame, meta)
    return frame


def _pick(options: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: options[k] for k in names if k in options}


def summarise(frame: pd.DataFrame) -> dict[str, Any]:
    """JSON-ready description of a read dataset: rows, columns, CRS, bounds, reader notes.

    Examples
    --------
    >>> summarise(pd.DataFrame({"code": ["01", "02"], "n": [3, None]}))["columns"][1]
    {'name': 'n', 'dtype': 'float64', 'missing': 1}
    """
    geo = isinstance(frame, gpd.GeoDataFrame)
    data = frame.drop(columns=frame.geometry.name) if geo else frame
    out: dict[str, Any] = {
        "rows": len(frame),
        "columns": [
            {"name": str(c), "dtype": str(data[c].dtype), "missing": int(data[c].isna().sum())}
            for c in data.columns
        ],
        "read": jsonable(frame.attrs.get("dongne", {})),
    }
    if geo:
        out["crs"] = frame.crs.to_string() if frame.crs is not None else None
        types = frame.geom_type.dropna().value_counts()
        out["geometry_types"] = {str(k): int(v) for k, v in types.items()}
        valid = frame[frame.geometry.notna()]
        if len(valid) and frame.crs is not None:
            out["bounds_wgs84"] = [round(float(v), 6) for v in valid.to_crs(4326).total_bounds]
    return out


def store_upload(
    upload: Path,
    size: int,
    sha256: str,
    filename: str,
    kind: str,
    options: dict[str, Any],
    datasets_dir: Path,
    data_dir: Path,
    max_unpacked: int,
) -> StoredDataset:
    """Move a received upload (of ``size`` bytes and digest ``sha256``, as returned by
    :func:`receive_upload`) into a new dataset folder, read it, and return the stored record.

    The folder is built as ``datasets/.incoming-<uuid>`` and renamed to ``datasets/<uuid>``
    only after the data were read successfully; on any error it is removed along with the
    upload, and the error is raised.
    """
    name = uuid.uuid4().hex
    incoming = datasets_dir / f".incoming-{name}"
    final = datasets_dir / name
    try:
        incoming.mkdir(parents=True)
        stored = incoming / filename
        os.replace(upload, stored)
        read_from = stored
        if stored.suffix.lower() == ".zip":
            files = unpack_zip(stored, incoming / "unpacked", max_unpacked)
            read_from = _file_in_zip(files, filename)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = read_dataset(read_from, kind, options, filename)
        summary = summarise(frame)
        summary["warnings"] = [str(w.message).replace(str(read_from), filename) for w in caught]
        os.replace(incoming, final)
    except BaseException:
        upload.unlink(missing_ok=True)
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return StoredDataset(
        stored_path=str((final / filename).relative_to(data_dir)),
        read_path=str((final / read_from.relative_to(incoming)).relative_to(data_dir)),
        size_bytes=size,
        sha256=sha256,
        summary=summary,
    )
