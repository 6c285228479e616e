"""Which boundary vintage a list of area codes belongs to.

Seoul's dongs were split, merged and renamed between 2013 and 2022, and the tables of a city
come keyed by the codes of the year they were made. When a join leaves codes unplaced, they
are often codes of *another vintage* that dongne ships boundaries for: then no code crosswalk
is right (a split dong's count must be shared out, not copied), and the fix is areal
interpolation from the table's boundaries onto the areas
(``dongne.regions.join_from_vintage``; command line ``dongne join --from-vintage``).

This module only reads the codes and names of the bundled layers (the GeoJSON properties,
without geometry); it imports nothing of dongne above :mod:`dongne.io`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = [
    "KNOWN_VINTAGES", "Vintage", "VintageMatch", "recognise_vintage", "vintage_codes",
    "vintage_path",
]  # fmt: skip


@dataclass(frozen=True)
class Vintage:
    """A bundled boundary vintage: ``name`` as the flag takes it, the file, its code and name
    columns, what it is, and the loader that returns it."""

    name: str
    file: str
    description: str
    loader: str
    code_column: str = "dong_code"
    name_column: str = "dong_name"


#: The boundary vintages dongne ships, by the name ``--from-vintage`` takes.
KNOWN_VINTAGES: dict[str, Vintage] = {
    v.name: v
    for v in (
        Vintage("2013", "seoul_dong_2013.geojson", "Seoul's 423 dongs of the 2013 census "
                "boundaries", "datasets.seoul_dongs()"),
        Vintage("2021", "seoul_dong_2021.geojson", "Seoul's 425 dongs of 2021-04-01",
                "datasets.seoul_dongs_2021()"),
        Vintage("2022", "seoul_dong_2022.geojson", "Seoul's 426 dongs from 2022-12-23",
                "datasets.seoul_dongs_2022()"),
    )
}  # fmt: skip


def _data_folder() -> Path:
    # The bundled files sit in dongne/datasets/data; read as files, not imported.
    return Path(__file__).resolve().parents[1] / "datasets" / "data"


def vintage_path(name: str) -> Path:
    """The bundled boundary file of a vintage (``"2013"``, ``"2021"``, ``"2022"``)."""
    return _data_folder() / KNOWN_VINTAGES[name].file


@cache
def vintage_codes(name: str) -> dict[str, str]:
    """Code → name of the areas of a bundled vintage (``"2013"``, ``"2021"``, ``"2022"``)."""
    vintage = KNOWN_VINTAGES[name]
    with open(vintage_path(name), encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    return {
        str(f["properties"][vintage.code_column]): str(f["properties"][vintage.name_column])
        for f in features
    }


@dataclass(frozen=True)
class VintageMatch:
    """Unplaced codes of a join recognised as codes of bundled vintages, and the vintage the
    table as a whole is on (the one holding most of its codes)."""

    vintage: str  # the table's vintage
    codes: tuple[str, ...]  # the unplaced codes that are codes of some bundled vintage
    names: tuple[str, ...]
    of_vintage: tuple[str, ...]  # the vintage of each of ``codes``
    n_unplaced: int
    n_table: int  # distinct codes of the table
    n_table_known: int  # of which codes of ``vintage``
    areas_vintage: str | None  # the vintage the areas' codes are, if one

    def to_dict(self) -> dict[str, object]:
        """JSON-ready record for the match report."""
        return {
            "vintage": self.vintage,
            "description": KNOWN_VINTAGES[self.vintage].description,
            "codes": list(self.codes),
            "names": list(self.names),
            "of_vintage": list(self.of_vintage),
            "n_unplaced": self.n_unplaced,
            "n_table": self.n_table,
            "n_table_known": self.n_table_known,
            "areas_vintage": self.areas_vintage,
        }

    def hint(self) -> str:
        """The sentence of the match report, with the fix in Python and on the command line."""
        shown = ", ".join(
            f"{c} {n} ({v})"
            for c, n, v in zip(self.codes[:4], self.names[:4], self.of_vintage[:4], strict=True)
        )
        more = f" and {len(self.codes) - 4} more" if len(self.codes) > 4 else ""
        where = (
            "the table is on the areas' own boundaries but carries codes of another vintage "
            "(renamed or recoded dongs)"
            if self.areas_vintage == self.vintage
            else "the table is on other boundaries than the areas; a code crosswalk cannot "
            "share a count out where a dong was split"
        )
        return (
            f"{len(self.codes)} of {self.n_unplaced} unplaced codes are dong codes of a "
            f"boundary vintage dongne ships: {shown}{more}. {self.n_table_known} of the "
            f"table's {self.n_table} codes are codes of {KNOWN_VINTAGES[self.vintage].description}"
            f" ({self.vintage}): {where}. Fix: dongne.regions.join_from_vintage(areas, table, "
            f"key, vintage='{self.vintage}') (command line: dongne join --from-vintage "
            f"{self.vintage}) translates renamed and recoded codes by the change table read "
            "from the boundaries and interpolates the table onto the areas by area."
        )


def recognise_vintage(
    unplaced: Iterable[object], table_codes: Iterable[object], area_codes: Iterable[object]
) -> VintageMatch | None:
    """Which bundled vintages the unplaced codes of a join are codes of, if any.

    The table's vintage is the one holding most of its codes (ties: the latest); the areas'
    vintage the one holding all of theirs, if any. Codes are compared as normalised text.
    """
    lost = list(
        dict.fromkeys(
            str(c) for c in unplaced if c is not None and str(c) not in ("", "nan", "<NA>")
        )
    )
    if not any(c.startswith("11") for c in lost):  # the bundled vintages are Seoul's
        return None
    areas = {str(c) for c in area_codes}
    table = {str(c) for c in table_codes}
    known = {name: vintage_codes(name) for name in KNOWN_VINTAGES}
    codes, names, of = [], [], []
    for c in lost:
        holders = [v for v, k in known.items() if c in k]
        if holders and c not in areas:
            codes.append(c)
            names.append(known[holders[-1]][c])
            of.append(holders[-1])
    if not codes:
        return None
    counts = {v: len(table & set(k)) for v, k in known.items()}
    vintage = max(known, key=lambda v: (counts[v], v))
    areas_vintage = next((v for v, k in known.items() if areas <= set(k)), None)
    return VintageMatch(vintage, tuple(codes), tuple(names), tuple(of), len(lost), len(table),
                        counts[vintage], areas_vintage)  # fmt: skip
