"""Provenance carried in ``DataFrame.attrs["dongne"]``, cheap to copy.

pandas copies ``attrs`` with :func:`copy.deepcopy` after nearly every operation
(``__finalize__``). Provenance can be large — a join's match report lists every unmatched
row — so a deep copy per operation made whole analyses spend a large share of their time
copying it. :class:`Provenance` is a read-only ``dict`` whose copies are the object itself:
derived frames share their inputs' record. The top level cannot be changed; the values
inside (lists of reports, ...) are shared too, so code must never change them in place —
build new values instead (``[*meta.get("overlays", []), new]``) and :func:`attach` a new
mapping (``{**frame.attrs["dongne"], "rows": n}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar

__all__ = ["Provenance", "attach"]

F = TypeVar("F")


class Provenance(dict):
    """A read-only ``dict`` (JSON-serialisable as one) that copies as itself.

    Examples
    --------
    >>> import copy
    >>> p = Provenance({"source": "gu.csv", "rows": 25})
    >>> copy.deepcopy(p) is p, p["rows"], dict(p) == {"source": "gu.csv", "rows": 25}
    (True, 25, True)
    >>> p["rows"] = 3
    Traceback (most recent call last):
    ...
    TypeError: Provenance is read-only; build a new one: attach(frame, {**meta, 'rows': 3}).
    """

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        key = repr(args[0]) if args else "'key'"
        value = repr(args[1]) if len(args) > 1 else "..."
        raise TypeError(
            f"Provenance is read-only; build a new one: attach(frame, {{**meta, {key}: {value}}})."
        )

    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]
    __ior__ = _read_only  # type: ignore[assignment]

    def __copy__(self) -> Provenance:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Provenance:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Provenance, (dict(self),))


def attach(frame: F, meta: Mapping[str, Any]) -> F:
    """Set ``frame.attrs["dongne"]`` to a read-only copy of ``meta``; returns ``frame``."""
    value = meta if isinstance(meta, Provenance) else Provenance(meta)
    frame.attrs["dongne"] = value  # type: ignore[attr-defined]
    return frame
