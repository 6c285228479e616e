"""Atomic file writes: write to a temporary file in the target folder, then rename.

Every file dongne writes (tables, layers, figures, reports, provenance sidecars, summaries)
goes through these two helpers, so a reader — a person, a web dashboard polling a run folder,
the report builder — sees either the old file or the complete new one, never half of one.
The rename is :func:`os.replace`, atomic on POSIX and Windows when source and target are on the
same file system, which is why the temporary file is made in the target's own folder.

References
----------
IEEE Std 1003.1-2017 (POSIX), ``rename()``: "If the link named by the new argument exists, it
shall be removed and old renamed to new ... a link named new shall remain visible to other
threads throughout the renaming operation".
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_text"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    A reader never sees a half-written file: either the old file (or none) or the complete
    new one. On error the temporary file is removed and the target is left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # Writers such as GDAL refuse to overwrite or append to an existing empty file.
    tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path.

    Parameters
    ----------
    path : path-like
        The target; its folder is created when missing.
    text : str
        The whole content.
    encoding : str, default "utf-8"
        Text encoding of the file.

    Returns
    -------
    Path
        ``path``.

    See Also
    --------
    atomic_path : for writers that take a path (GDAL, pandas, matplotlib).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "sub" / "summary.txt"
    >>> atomic_write_text(target, "동네").read_text(encoding="utf-8")
    '동네'
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)
