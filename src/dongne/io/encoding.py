"""Text-encoding detection for the files Korean public bodies publish.

Korean open-data CSVs come in three encodings: UTF-8, UTF-8 with a byte-order mark (Excel's
"CSV UTF-8") and CP949 (Microsoft's superset of EUC-KR, the default of Korean Windows and of
KOSIS downloads). A file that is valid UTF-8 is almost never CP949 text by accident (Hangul in
CP949 uses lead bytes 0x81–0xFE followed by trail bytes that break UTF-8 sequences), so trying
strict decoders in a fixed order is deterministic and reliable; statistical guessers are not
needed and are wrong on short files.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path

from dongne.errors import EncodingError

__all__ = ["DetectedEncoding", "decode_bytes", "detect_encoding"]

# Order matters: BOMs first, then strict UTF-8, then CP949 (which also decodes all of EUC-KR).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_FALLBACKS = ("utf-8", "cp949")

_ALIASES = {
    "euc-kr": "cp949",
    "euckr": "cp949",
    "euc_kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ksc5601": "cp949",
    "ms949": "cp949",
    "uhc": "cp949",
    "utf8": "utf-8",
    "utf-8-bom": "utf-8-sig",
}


@dataclass(frozen=True)
class DetectedEncoding:
    """The encoding of a text file and how it was found.

    Attributes
    ----------
    encoding : str
        Python codec name (``"utf-8"``, ``"utf-8-sig"``, ``"cp949"``, ``"utf-16"``).
    reason : str
        ``"byte-order mark"``, ``"decodes as UTF-8"``, ``"decodes as CP949 (EUC-KR)"``,
        ``"given"`` or ``"ASCII only"``.
    """

    encoding: str
    reason: str

    def __str__(self) -> str:
        return f"{self.encoding} ({self.reason})"


def normalise_encoding_name(name: str) -> str:
    """Map common Korean aliases (EUC-KR, MS949, KS C 5601) onto Python's ``cp949``."""
    key = name.strip().lower()
    return _ALIASES.get(key, key)


def decode_bytes(data: bytes, source: str = "the file") -> tuple[str, DetectedEncoding]:
    """Decode ``data`` with the first encoding that accepts it strictly.

    Returns the text and the :class:`DetectedEncoding`. Raises :class:`EncodingError` naming
    ``source``, the byte offset of the first undecodable byte and the fix.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name), DetectedEncoding(name, "byte-order mark")
    if data.isascii():
        return data.decode("ascii"), DetectedEncoding("utf-8", "ASCII only")
    errors: list[str] = []
    for name in _FALLBACKS:
        try:
            text = data.decode(name)
        except UnicodeDecodeError as exc:
            errors.append(f"{name}: byte 0x{data[exc.start]:02X} at offset {exc.start}")
            continue
        label = "decodes as UTF-8" if name == "utf-8" else "decodes as CP949 (EUC-KR)"
        return text, DetectedEncoding(name, label)
    raise EncodingError(
        f"{source} is neither UTF-8 nor CP949/EUC-KR ({'; '.join(errors)}). "
        "Fix: pass encoding='...' with the file's real encoding (for example 'utf-16' or "
        "'latin-1'), or re-save the file as UTF-8."
    )


def detect_encoding(path: str | os.PathLike[str]) -> DetectedEncoding:
    """Detect the text encoding of the file at ``path``.

    The whole file is tested (a CP949 byte may first appear in row 10,000), so this reads the
    file once; files of a few hundred MB take a second or two.

    Parameters
    ----------
    path : path-like
        A text file (CSV, TXT, .cpg, DBF records).

    Returns
    -------
    DetectedEncoding

    Raises
    ------
    EncodingError
        If no supported encoding decodes the file, with the offset of the first bad byte.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_bytes("구,인구\\n종로구,1\\n".encode("cp949"))
    >>> detect_encoding(p).encoding
    'cp949'
    """
    path = Path(path)
    return decode_bytes(path.read_bytes(), source=str(path))[1]


def read_text(
    path: str | os.PathLike[str], encoding: str | None = None
) -> tuple[str, DetectedEncoding]:
    """Read a text file, detecting the encoding unless one is given.

    A given encoding that fails is reported together with the encoding that would work.
    """
    path = Path(path)
    data = path.read_bytes()
    if encoding is None:
        return decode_bytes(data, source=str(path))
    name = normalise_encoding_name(encoding)
    try:
        return data.decode(name), DetectedEncoding(name, "given")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        try:
            _, detected = decode_bytes(data, source=str(path))
            hint = (
                f"It decodes as {detected.encoding}: pass encoding='{detected.encoding}' "
                "or omit encoding to detect it."
            )
        except EncodingError:
            hint = "Pass the file's real encoding."
        raise EncodingError(
            f"{path} cannot be read as {encoding!r}: byte 0x{data[exc.start]:02X} at offset "
            f"{exc.start} (line {line}) is invalid. {hint}"
        ) from None
    except LookupError:
        raise EncodingError(
            f"Unknown encoding {encoding!r} for {path}. Fix: use a Python codec name such as "
            "'utf-8', 'utf-8-sig' or 'cp949' (EUC-KR), or omit encoding to detect it."
        ) from None
