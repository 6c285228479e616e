"""Code history from geometry: what became of each area between two boundary vintages.

Statistical offices publish code change lists, but not for every city, not for every year,
and never for boundaries a data provider drew itself. The geometry knows: overlay the two
vintages, keep the pieces that matter to both sides, and read the relation off the links —
one old area to several new ones is a **split**, several old to one new a **merge**, one to
one a **rename** (other name), a **recode** (same name, other code), a **boundary change**
(a large part moved, or land handed between areas that exist on both sides) or
**unchanged**. The result is also a crosswalk with overlap shares, usable where a code-only
crosswalk can merely copy or sum rows.

References
----------
.. [1] Statistics Korea (KOSTAT). *한국행정구역분류 (Korean Administrative District
   Classification)*, change tables by year.
.. [2] U.S. Census Bureau. *Relationship files* between census vintages (area shares of each
   old and new unit).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne import __version__
from dongne._vocab import Lang, check_lang, pick_language
from dongne.errors import SpecificationError
from dongne.io.areas import read_areas
from dongne.io.vintages import KNOWN_VINTAGES, vintage_path
from dongne.regions.overlay import AreaOverlay, overlay_areas

__all__ = ["RELATIONS", "VintageChanges", "change_table", "code_history"]

#: What can become of an old area, in the order summaries list them.
RELATIONS = ("split", "merged", "renamed", "recoded", "boundary change", "dissolved", "unchanged")

_KO = {
    "split": "분동", "merged": "통합", "renamed": "명칭 변경", "recoded": "코드 변경",
    "boundary change": "경계 조정", "dissolved": "소멸", "unchanged": "변동 없음",
}  # fmt: skip


_COLOURS = {
    "split": "#d7301f", "merged": "#7a0177", "renamed": "#fd8d3c", "recoded": "#fdd49e",
    "boundary change": "#3182bd", "dissolved": "#252525", "unchanged": "#f0f0f0",
}  # fmt: skip


@dataclass
class VintageChanges:
    """What became of each area between two vintages: result of :func:`change_table`.

    Attributes
    ----------
    relations : DataFrame
        One row per old area: ``old_code``, ``old_name``, ``relation`` (one of
        :data:`RELATIONS`), ``new_codes`` and ``new_names`` (``" + "``-joined) and
        ``share_kept`` (the largest share of the old area in one new area).
    links : DataFrame
        One row per piece that counts (at least ``min_share`` of both its old and its new area):
        ``old_code``, ``new_code``, names, ``area_m2``, ``share_of_old``, ``share_of_new``.
    new_areas : DataFrame
        New areas whose code did not exist before, with the old areas they were made from.
    overlay : AreaOverlay
        The full overlay (all pieces, slivers included).
    parameters : dict
        ``min_share``, ``unchanged_share`` and the column names.
    """

    relations: pd.DataFrame
    links: pd.DataFrame
    new_areas: pd.DataFrame
    overlay: AreaOverlay
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def provenance_(self) -> dict[str, Any]:
        """Method, thresholds, the overlay's record and dongne version."""
        return {
            "method": "vintage change table from geometry",
            "parameters": dict(self.parameters),
            "overlay": self.overlay.provenance_,
            "dongne_version": __version__,
        }

    def to_frame(self) -> pd.DataFrame:
        """The relations, one row per old area."""
        return self.relations.copy()

    def changed(self) -> pd.DataFrame:
        """The old areas whose relation is not ``unchanged``, splits and merges first."""
        out = self.relations[self.relations["relation"] != "unchanged"].copy()
        order = {r: i for i, r in enumerate(RELATIONS)}
        out["_order"] = out["relation"].map(order)
        return out.sort_values(["_order", "old_code"]).drop(columns="_order")

    def crosswalk(self) -> pd.DataFrame:
        """Old code → new code with the share of the old area going to each new one.

        Only the pieces that count (``links``) are kept and each old area's shares are scaled
        to sum to 1, so that a count moved with them is conserved. Use it to share counts
        out by code when the table has no geometry; :func:`interpolate` with the boundaries
        is better when it has.
        """
        cw = self.links[["old_code", "new_code", "share_of_old"]].copy()
        cw["weight"] = cw["share_of_old"] / cw.groupby("old_code")["share_of_old"].transform("sum")
        return cw.drop(columns="share_of_old").reset_index(drop=True)

    def plot(
        self,
        areas: gpd.GeoDataFrame,
        *,
        id_column: str | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> Any:
        """Map of the old areas coloured by what became of them (split, merged, …)."""
        from dongne.report.maps import category_map

        frame = areas[[areas.geometry.name]].copy()
        key = areas[id_column] if id_column else areas.index.to_series()
        frame["relation"] = (
            key.astype(str).map(self.relations.set_index("old_code")["relation"]).to_numpy()
        )
        return category_map(
            frame, "relation", title="경계 변화 · Boundary changes (from geometry)",
            categories=dict(_COLOURS), path=path,
            note="Relation of each old area to the new vintage, read from the overlay (dongne)",
        )  # fmt: skip

    def hint(self, codes: pd.Series | list[Any]) -> str:
        """What ``codes`` (unmatched codes of a join) are in this change table, in a sentence.

        An old code is told by what became of it (``"1123074 일원2동: renamed → 1168067500
        개포3동"``), a code new in the new vintage by what it was made from (``"1117074 항동:
        new code, from 1117068 오류2동"``); other codes are left out, and ``""`` is returned
        when none is either. :func:`dongne.regions.join_from_vintage` adds it to the match
        report for the codes it translated or could not translate.
        """
        rel = self.relations.set_index("old_code")
        made = self.new_areas.set_index("new_code")
        given = list(dict.fromkeys(str(c) for c in codes))
        parts = []
        for c in given:
            if c in rel.index:
                r = rel.loc[c]
                into = " + ".join(
                    f"{a} {b}".strip()
                    for a, b in zip(
                        r["new_codes"].split(" + "), r["new_names"].split(" + "), strict=False
                    )
                )
                parts.append(f"{c} {r['old_name']}".strip() + f": {r['relation']} → {into or '—'}")
            elif c in made.index:
                r = made.loc[c]
                parts.append(
                    f"{c} {r['new_name']}".strip()
                    + f": new code, from {r['from_codes']} {r['from_names']}".rstrip()
                )
        if not parts:
            return ""
        return f"{len(parts)} of {len(given)} codes are in the change table: " + "; ".join(parts)

    def summary(self, lang: Lang = "both") -> str:
        """The changes in a few sentences, the splits and merges named."""
        check_lang(lang)
        counts = self.relations["relation"].value_counts()
        n_old, n_new = len(self.overlay.source_ids), len(self.overlay.target_ids)
        en_counts = ", ".join(f"{counts.get(r, 0)} {r}" for r in RELATIONS if counts.get(r, 0))
        ko_counts = ", ".join(f"{_KO[r]} {counts.get(r, 0)}" for r in RELATIONS if counts.get(r, 0))
        changed = self.changed()

        def lines(words: dict[str, str]) -> str:
            shown = [
                f"{row.old_name or row.old_code} → {row.new_names or row.new_codes} "
                f"({words.get(row.relation, row.relation)})"
                for row in changed.head(12).itertuples()
            ]
            return "; ".join(shown) + (f" (+{len(changed) - 12})" if len(changed) > 12 else "")

        en = (
            f"From {n_old} old to {n_new} new areas, read from the geometry alone: {en_counts}. "
            f"{lines({})}."
        )
        ko = (
            f"경계만으로 판정한 변화 (이전 {n_old}개 → 이후 {n_new}개 구역): {ko_counts}. "
            f"{lines(_KO)}."
        )
        return pick_language(lang, en, ko)


def _names(frame: gpd.GeoDataFrame, column: str | None, ids: pd.Index) -> np.ndarray:
    if column is None:
        return np.array([""] * len(ids), dtype=object)
    if column not in frame.columns:
        raise SpecificationError(
            f"The layer has no name column {column!r}. Columns: "
            f"{', '.join(map(str, frame.columns))}. Fix: old_name=/new_name= (command line "
            "--name)."
        )
    return frame[column].astype(str).to_numpy()


def _relation(
    old: str,
    old_name: str,
    targets: pd.DataFrame,
    sources: dict[str, list[str]],
    survivors: set[str],
    unchanged_share: float,
) -> str:
    """A split needs a new code among the targets, a merge a new code or a vanished partner;
    land handed to areas that exist on both sides is a boundary change."""
    if len(targets) == 0:
        return "dissolved"
    codes = list(targets["new_code"])
    if len(targets) > 1:
        return "split" if any(c not in survivors for c in codes) else "boundary change"
    link = targets.iloc[0]
    partners = sources[link["new_code"]]
    if len(partners) > 1:
        if link["new_code"] != old or any(p not in survivors for p in partners):
            return "merged"
        return "boundary change"
    if link["new_name"] != old_name:
        return "renamed"
    if link["new_code"] != old:
        return "recoded"
    if min(link["share_of_old"], link["share_of_new"]) >= unchanged_share:
        return "unchanged"
    return "boundary change"


def change_table(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    *,
    old_id: str | None = None,
    new_id: str | None = None,
    old_name: str | None = None,
    new_name: str | None = None,
    min_share: float = 0.1,
    unchanged_share: float = 0.8,
    overlay: AreaOverlay | None = None,
) -> VintageChanges:
    """Derive the code history between two boundary vintages from their geometry.

    Parameters
    ----------
    old, new : GeoDataFrame
        The two vintages (polygons with a CRS).
    old_id, new_id : str, optional
        Code columns (the index by default). Codes are compared as text.
    old_name, new_name : str, optional
        Name columns; without them renames cannot be told from recodes.
    min_share : float, default 0.1
        A piece links an old and a new area when it is at least this share of *both*. Slivers
        from boundaries digitised differently (census vs administrative files, a river bank)
        stay below it; on Seoul 2013 → 2021 the largest sliver is 7 % of one side, the
        smallest real split piece 28 % of the old and 86 % of the new dong.
    unchanged_share : float, default 0.8
        A one-to-one link with the same code and name is ``unchanged`` when the piece is at
        least this share of both areas, otherwise a ``boundary change``.
    overlay : AreaOverlay, optional
        A ready overlay of ``old`` onto ``new``.

    Returns
    -------
    VintageChanges

    Raises
    ------
    SpecificationError
        Shares outside (0, 1], a missing name column.

    Examples
    --------
    >>> from shapely import box
    >>> old = gpd.GeoDataFrame({"code": ["1", "2"], "name": ["가동", "나동"]},
    ...                        geometry=[box(0, 0, 2, 1), box(2, 0, 3, 1)], crs="EPSG:5179")
    >>> new = gpd.GeoDataFrame({"code": ["1", "3", "4"], "name": ["가동", "다동", "라동"]},
    ...                        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
    ...                        crs="EPSG:5179")
    >>> ch = change_table(old, new, old_id="code", new_id="code", old_name="name",
    ...                   new_name="name")
    >>> ch.relations[["old_name", "relation", "new_names"]].values.tolist()
    [['가동', 'split', '가동 + 다동'], ['나동', 'renamed', '라동']]
    """
    for name, value in (("min_share", min_share), ("unchanged_share", unchanged_share)):
        if not 0 < value <= 1:
            raise SpecificationError(f"{name} must lie in (0, 1], got {value}. Fix: e.g. 0.1.")
    if overlay is None:
        overlay = overlay_areas(old, new, source_id=old_id, target_id=new_id)
    pieces = overlay.to_frame().rename(
        columns={"source_id": "old_code", "target_id": "new_code",
                 "share_of_source": "share_of_old", "share_of_target": "share_of_new"}
    )  # fmt: skip
    pieces["old_code"] = pieces["old_code"].astype(str)
    pieces["new_code"] = pieces["new_code"].astype(str)
    old_names = dict(
        zip(overlay.source_ids.astype(str), _names(old, old_name, overlay.source_ids), strict=True)
    )
    new_names = dict(
        zip(overlay.target_ids.astype(str), _names(new, new_name, overlay.target_ids), strict=True)
    )
    pieces["old_name"] = pieces["old_code"].map(old_names)
    pieces["new_name"] = pieces["new_code"].map(new_names)
    keep = (pieces["share_of_old"] >= min_share) & (pieces["share_of_new"] >= min_share)
    links = pieces[keep][["old_code", "old_name", "new_code", "new_name", "area_m2", "share_of_old",
                   "share_of_new"]].reset_index(drop=True)  # fmt: skip
    relations = _relations(links, old_names, unchanged_share, pieces)
    new_areas = _new_areas(links, set(old_names), new_names)
    return VintageChanges(
        relations, links, new_areas, overlay,
        {"min_share": min_share, "unchanged_share": unchanged_share, "old_id": old_id,
         "new_id": new_id, "old_name": old_name, "new_name": new_name},
    )  # fmt: skip


def _relations(
    links: pd.DataFrame, old_names: dict[str, str], unchanged_share: float, pieces: pd.DataFrame
) -> pd.DataFrame:
    sources = links.groupby("new_code")["old_code"].apply(list).to_dict()
    survivors = set(old_names) & set(links["new_code"])
    by_old = {code: part for code, part in links.groupby("old_code")}
    kept = pieces.groupby("old_code")["share_of_old"].max()
    empty = links.iloc[0:0]
    rows = []
    for code, name in old_names.items():
        targets = by_old.get(code, empty).sort_values("share_of_old", ascending=False)
        rows.append(
            {
                "old_code": code,
                "old_name": name,
                "relation": _relation(code, name, targets, sources, survivors, unchanged_share),
                "new_codes": " + ".join(sorted(targets["new_code"])),
                "new_names": " + ".join(targets.sort_values("new_code")["new_name"]),
                "share_kept": float(kept.get(code, 0.0)),
            }
        )
    return pd.DataFrame(rows)


def _new_areas(links: pd.DataFrame, old_codes: set[str], new_names: dict[str, str]) -> pd.DataFrame:
    rows = []
    for code, name in new_names.items():
        if code in old_codes:
            continue
        part = links[links["new_code"] == code].sort_values("share_of_new", ascending=False)
        rows.append(
            {
                "new_code": code,
                "new_name": name,
                "from_codes": " + ".join(part["old_code"]),
                "from_names": " + ".join(part["old_name"]),
                "share_of_new": " + ".join(f"{v:.2f}" for v in part["share_of_new"]),
            }
        )
    return pd.DataFrame(rows, columns=["new_code", "new_name", "from_codes", "from_names",
                                       "share_of_new"])  # fmt: skip


#: Relations that carry a code over one to one (a crosswalk is exact for them).
ONE_TO_ONE = ("renamed", "recoded")


@cache
def vintage_changes(old: str, new: str) -> VintageChanges:
    """The change table between two bundled vintages (``"2013"``, ``"2021"``, ``"2022"``),
    read from their boundaries with the default thresholds; computed once per process."""
    for name in (old, new):
        if name not in KNOWN_VINTAGES:
            raise SpecificationError(
                f"Unknown boundary vintage {name!r}. Known: {', '.join(KNOWN_VINTAGES)}. Fix: "
                "e.g. vintage='2022' (command line --from-vintage 2022)."
            )
    a, b = KNOWN_VINTAGES[old], KNOWN_VINTAGES[new]
    return change_table(
        read_areas(vintage_path(old)), read_areas(vintage_path(new)), old_id=a.code_column,
        new_id=b.code_column, old_name=a.name_column, new_name=b.name_column,
    )  # fmt: skip


def code_history(old: str, new: str) -> pd.DataFrame:
    """Old code → new code for the dongs carried over one to one between two bundled vintages.

    A code that exists in both vintages maps to itself (whatever happened to its boundary);
    a code that does not is translated when :func:`vintage_changes` reads its dong as renamed
    or recoded, one to one (splits and merges cannot be a code crosswalk: their counts must be
    shared out by area, :func:`dongne.regions.interpolate`). Columns ``old_code``,
    ``new_code``, ``old_name``, ``new_name``, ``relation``; usable as
    ``join_by_code(crosswalk=...)``.

    Examples
    --------
    >>> h = code_history("2021", "2022")
    >>> h[h["old_code"] != h["new_code"]][["old_name", "new_code", "new_name"]].values.tolist()
    [['일원2동', '1168067500', '개포3동'], ['상일동', '1125076', '상일제1동']]
    """
    changes = vintage_changes(old, new)
    rel = changes.relations
    kept = rel["old_code"].isin(set(changes.overlay.target_ids.astype(str)))
    names = dict(zip(changes.links["new_code"], changes.links["new_name"], strict=True))
    same = rel[kept].assign(new_code=rel["old_code"])
    same["new_name"] = [names.get(c, n) for c, n in zip(same["old_code"], same["old_name"],
                                                         strict=True)]  # fmt: skip
    one = rel[~kept & rel["relation"].isin(ONE_TO_ONE)]
    one = one.rename(columns={"new_codes": "new_code", "new_names": "new_name"})
    out = pd.concat([same, one]).sort_index()
    return out[["old_code", "new_code", "old_name", "new_name", "relation"]].reset_index(drop=True)
