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
(zip-bomb guard); the unpacking itself counts bytes and stops at a member's declared size.
Members packed with a method Python cannot unpack, named twice, clashing as file and folder,
or with names the file system refuses (over 255 bytes of UTF-8 per name, 4095 per path) are
refused before unpacking; damaged members (bad CRC-32, broken streams, sizes other than
declared) while unpacking. Every refusal is an :class:`UploadRejected` (a 4xx) that names
the member and the fix.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import stat
import struct
import uuid
import warnings
import zipfile
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import pandas as pd

from dongne.errors import DataError, DongneError, rewrite_fix_arguments, unquoted
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
_NAME_MAX_BYTES = 255  # one file or folder name (ext4, XFS, Btrfs; UTF-8 bytes)
_PATH_MAX_BYTES = 4095  # a whole path (Linux PATH_MAX less the final NUL)
_ZIP_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "LZMA",
}
#: Compression methods of the zip specification (APPNOTE 4.4.5) that Python cannot unpack.
_OTHER_ZIP_METHODS = {
    1: "Shrink",
    2: "Reduce",
    3: "Reduce",
    4: "Reduce",
    5: "Reduce",
    6: "Implode",
    9: "Deflate64",
    10: "PKWARE DCL Implode",
    18: "IBM TERSE",
    19: "IBM LZ77",
    93: "Zstandard",
    94: "MP3",
    95: "XZ",
    96: "JPEG",
    97: "WavPack",
    98: "PPMd",
    99: "AES encryption",
}
#: What Python's zipfile and its decompressors raise for damaged archives and members.
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    ValueError,  # includes UnicodeDecodeError for a name flagged UTF-8 that is not
    NotImplementedError,  # a compression method zipfile knows but cannot decompress
    struct.error,
    zlib.error,
    lzma.LZMAError,
)
_REZIP = (
    "Fix: re-create the zip from the original files (e.g. 'zip -r' or the file manager's "
    "'Compress') and upload it again."
)


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
    paths and control characters or over 255 bytes of UTF-8 (the file-name limit of ext4 and
    most file systems: 85 Hangul syllables), and (415) for unsupported suffixes.

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
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > _NAME_MAX_BYTES:
        raise UploadRejected(
            f"File name {_shown(name)} is {size} bytes in UTF-8 ({len(name)} characters), more "
            f"than the {_NAME_MAX_BYTES} bytes a file name may have (a Hangul syllable takes 3 "
            "bytes). Fix: send a shorter filename= (at most 85 Hangul syllables with the "
            "extension) and put the long title in name=."
        )
    if (
        not name
        or name in (".", "..")
        or any(c in name for c in "/\\:")
        or any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in name)
    ):
        raise UploadRejected(
            f"File name {name!r} is not a plain file name (no folders, '..', drive letters, "
            "control characters or unpaired surrogates). Fix: send only the name, e.g. "
            "filename=dong.geojson."
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


def _shown(name: str) -> str:
    """``name`` quoted for a message, shortened in the middle when it is very long."""
    return repr(name if len(name) <= 80 else f"{name[:40]}…{name[-30:]}")


def _damaged(zip_name: str, member: str | None, exc: BaseException) -> UploadRejected:
    """The 400 for a zip (or one ``member`` of it) that Python's zipfile cannot read."""
    what = f"member {_shown(member)} of {zip_name}" if member else zip_name
    detail = str(exc) or type(exc).__name__
    if "CRC" in detail:
        detail = (
            "its CRC-32 check failed: the member's bytes are damaged or its declared "
            "uncompressed size is false"
        )
    return UploadRejected(f"{what} is damaged ({detail}); nothing was kept. {_REZIP}")


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
    if not parts:
        return "no file name"
    return None


def _check_member(zip_name: str, info: zipfile.ZipInfo, dest: Path) -> None:
    """Refuse (400) a member that is unsafe, encrypted, packed with a method Python cannot
    unpack, or whose name does not fit the file system."""
    member = _shown(info.filename)
    why = _unsafe_member(info)
    if why:
        raise UploadRejected(
            f"{zip_name}: member {member} has {why}; nothing was unpacked. "
            "Fix: zip the files from inside their folder."
        )
    if info.flag_bits & 0x1:
        raise UploadRejected(
            f"{zip_name}: member {member} is encrypted; nothing was unpacked. Fix: zip it "
            "without a password."
        )
    if info.compress_type not in _ZIP_METHODS:
        method = _OTHER_ZIP_METHODS.get(info.compress_type, "not in the zip specification")
        raise UploadRejected(
            f"{zip_name}: member {member} is packed with compression method "
            f"{info.compress_type} ({method}), which the service cannot unpack (it reads "
            f"{', '.join(_ZIP_METHODS.values())}); nothing was unpacked. Fix: re-create the "
            "zip with standard deflate compression (e.g. 'zip -r', or 7-Zip with "
            "-mm=Deflate) and upload it again."
        )
    for part in PurePosixPath(info.filename).parts:
        size = len(part.encode("utf-8"))
        if size > _NAME_MAX_BYTES:
            raise UploadRejected(
                f"{zip_name}: member {member} has a file or folder name of {size} bytes in "
                f"UTF-8 ({len(part)} characters), more than the {_NAME_MAX_BYTES} bytes a "
                "name may have (a Hangul syllable takes 3 bytes); nothing was unpacked. Fix: "
                f"shorten that name to at most {_NAME_MAX_BYTES} bytes (85 Hangul syllables) "
                "and zip again."
            )
    size = len(str(dest).encode("utf-8")) + 1 + len(info.filename.encode("utf-8"))
    if size > _PATH_MAX_BYTES:
        raise UploadRejected(
            f"{zip_name}: member {member} has a path of {size} bytes once unpacked, more "
            f"than the {_PATH_MAX_BYTES} bytes a path may have; nothing was unpacked. Fix: "
            "zip the files with fewer or shorter folder names."
        )


def _check_layout(zip_name: str, members: list[zipfile.ZipInfo]) -> None:
    """Refuse (400) a member named twice, or a file whose name another member needs as a
    folder (``a`` and ``a/gu.geojson``); names compare as unpacked (``./a`` is ``a``)."""
    files: dict[tuple[str, ...], str] = {}
    for info in members:
        key = PurePosixPath(info.filename).parts
        if key in files:
            also = "" if files[key] == info.filename else f" (also as {_shown(files[key])})"
            raise UploadRejected(
                f"{zip_name}: member {_shown(info.filename)} is in the zip twice{also}; "
                "nothing was unpacked. Fix: zip each file once."
            )
        files[key] = info.filename
    for key, name in files.items():
        for depth in range(1, len(key)):
            if key[:depth] in files:
                raise UploadRejected(
                    f"{zip_name}: member {_shown(files[key[:depth]])} is a file, but member "
                    f"{_shown(name)} needs a folder of that name; nothing was unpacked. Fix: "
                    "rename the file or the folder and zip again."
                )


def _unpack_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, zip_name: str) -> None:
    """Unpack one member to ``target``. Refuses (400) a damaged member and one that holds
    another number of bytes than it declares; reading stops as soon as it holds more, so the
    declared sizes (checked against the limit before) bound what reaches the disk."""
    written = 0
    try:
        src = zf.open(info)
    except _DAMAGED as exc:
        raise _damaged(zip_name, info.filename, exc) from None
    with src, target.open("wb") as out:
        while True:
            try:
                block = src.read(_CHUNK)
            except _DAMAGED as exc:
                raise _damaged(zip_name, info.filename, exc) from None
            except OSError as exc:  # bz2 says "Invalid data stream"; real I/O errors have errno
                if exc.errno is not None:
                    raise
                raise _damaged(zip_name, info.filename, exc) from None
            written += len(block)
            if not block or written > info.file_size:
                break
            out.write(block)
    if written != info.file_size:
        holds = f"more than {info.file_size}" if written > info.file_size else str(written)
        raise UploadRejected(
            f"{zip_name}: member {_shown(info.filename)} declares {info.file_size} bytes "
            f"uncompressed but holds {holds}: the zip is damaged or its sizes are false; "
            f"nothing was kept. {_REZIP}"
        )


def unpack_zip(path: Path, dest: Path, max_unpacked: int) -> list[Path]:
    """Unpack the zip at ``path`` into ``dest`` after checking every member; return the files.

    ``dest`` must not exist: it is created, and removed again with everything in it when
    unpacking fails. Every failure is an :class:`UploadRejected` whose message names the
    member and the fix: 400 for a file that is not a zip, a damaged archive or member (bad
    CRC-32, an uncompressed size other than declared), unsafe member names, encryption, a
    compression method Python cannot unpack (APPNOTE 4.4.5: e.g. 9 Deflate64, 97 WavPack),
    a name twice, a file where another member needs a folder, names over 255 bytes of UTF-8
    or paths over 4095 bytes; 413 for more than ``max_unpacked`` uncompressed bytes.

    References
    ----------
    PKWARE, *APPNOTE.TXT - .ZIP File Format Specification*, version 6.3.10 (2022), sections
    4.4.5 (compression methods) and 4.4.7 (CRC-32).
    """
    if not zipfile.is_zipfile(path):
        raise UploadRejected(f"{path.name} is not a zip file. Fix: upload the .zip itself.")
    try:
        zf = zipfile.ZipFile(path)
    except _DAMAGED as exc:
        raise _damaged(path.name, None, exc) from None
    with zf:
        members = [
            i for i in zf.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")
        ]
        if len(members) > _MAX_ZIP_MEMBERS:
            raise UploadRejected(
                f"{path.name} holds {len(members)} files (limit {_MAX_ZIP_MEMBERS}). Fix: zip "
                "only the shapefile's parts."
            )
        for info in members:
            _check_member(path.name, info, dest)
        _check_layout(path.name, members)
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
        dest.mkdir(parents=True)
        try:
            for info in members:
                target = dest.joinpath(*PurePosixPath(info.filename).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                _unpack_member(zf, info, target, path.name)
                written.append(target)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
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
        message = rewrite_fix_arguments(str(exc).replace(str(path), display_name), _as_query)
        raise type(exc)(message) from None
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


#: The reading options an upload takes as query parameters (``POST .../datasets?crs=...``).
UPLOAD_OPTIONS = ("layer", "encoding", "title_lines", "sheet", "x", "y", "crs", "xy_scale")


def _as_query(name: str, value: str) -> str | None:
    """``crs='EPSG:5186'`` in a reader's fix as the upload's query parameter ``?crs=EPSG:5186``."""
    if name not in UPLOAD_OPTIONS:
        return None
    return f"?{name}={unquoted(value)}"


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
