"""Areal interpolation: moving counts, rates and categories from one set of boundaries to another.

When a dong is split (2013 오류2동 → 2021 오류2동 + 항동), a table on the old boundaries has
no row for the new ones, and a code crosswalk can only copy or sum rows. Interpolation splits
each old area's value over the pieces it is cut into, in proportion to area (or to population
with dasymetric weights), column by column according to its *kind* — the vocabulary of
:mod:`dongne.io.combine`:

* ``count`` (extensive) — shared out: ``v_t = Σ_s v_s · w_st / Σ_t' w_st'``; the total is
  conserved when the target layer covers the source layer;
* ``rate`` and ``mean`` (intensive) — averaged with weights: ``v_t = Σ_s v_s · w_st /
  Σ_s' w_s't``; never added up. A rate with a formula (``rates=``) is better still: its
  numerator and denominator are interpolated as counts and the rate recomputed;
* ``text`` (categorical) — the share of each target covered by each category;
* ``id`` — refused: an identifier cannot be interpolated.

A column whose kind dongne can only guess from its values is refused with the question
(count or rate?), because adding a percentage across pieces gives a wrong number without any
sign of it.

References
----------
.. [1] Goodchild, M. F. & Lam, N. S.-N. (1980). Areal interpolation: a variant of the
   traditional spatial problem. *Geo-Processing* 1, 297–312.
.. [2] PySAL tobler ``area_weighted.area_interpolate`` (https://pysal.org/tobler/): the same
   estimator; dongne equals it to 1e-9 on the same table and keeps missing values missing
   (tobler turns them into zeros).
.. [3] U.S. Census Bureau. *Relationship files* (block-level crosswalks between vintages).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne import __version__
from dongne._vocab import Lang, check_lang, pick_language
from dongne.errors import SpecificationError, format_rows
from dongne.io.combine import RateSpec, column_kinds, parse_rates
from dongne.regions.overlay import AreaOverlay, overlay_areas

__all__ = ["Interpolation", "interpolate", "resolve_kinds"]

_KIND_ROLE = {"count": "extensive", "rate": "intensive", "mean": "intensive", "text": "categorical"}


def resolve_kinds(
    data: pd.DataFrame,
    *,
    columns: Sequence[str] = (),
    extensive: Sequence[str] = (),
    intensive: Sequence[str] = (),
    categorical: Sequence[str] = (),
    kinds: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Decide how each column is interpolated: ``extensive``, ``intensive`` or ``categorical``.

    Columns in ``extensive``/``intensive``/``categorical`` are taken as said. Columns in
    ``columns`` get their kind from ``kinds`` (``{"col": "count" | "rate" | "mean" | "text"}``,
    the vocabulary of :func:`dongne.io.combine.column_kinds`) or from their name
    (``_pct``, ``rate``, ``비율`` … → intensive; ``mean``, ``평균`` … → intensive); text
    columns are categorical. A numeric column whose name says nothing is refused: dongne does
    not guess whether it adds up.

    Returns
    -------
    dict
        ``{column: "extensive" | "intensive" | "categorical"}`` in the order given.

    Raises
    ------
    SpecificationError
        A column named twice, missing from the data, an id column, or of unknown kind.

    Examples
    --------
    >>> t = pd.DataFrame({"households": [10, 20], "basement_pct": [1.5, 2.0], "n": [1, 2]})
    >>> resolve_kinds(t, columns=["households", "basement_pct"], kinds={"households": "count"})
    {'households': 'extensive', 'basement_pct': 'intensive'}
    """
    said = {c: "extensive" for c in extensive}
    for role, cols in (("intensive", intensive), ("categorical", categorical)):
        for c in cols:
            if c in said:
                raise SpecificationError(
                    f"Column {c!r} is given as both {said[c]} and {role}. Fix: name it once."
                )
            said[c] = role
    missing = [c for c in [*said, *columns] if c not in data.columns]
    if missing:
        raise SpecificationError(
            f"The source data have no column(s) {', '.join(map(repr, missing))}. Columns: "
            f"{', '.join(map(str, data.columns))}. Fix: correct the column names."
        )
    rest = [c for c in columns if c not in said]
    if rest:
        found = column_kinds(data[rest], {c: k for c, k in (kinds or {}).items() if c in rest})
        unknown = []
        for c in rest:
            kind, reason = found[c]
            if kind == "id":
                raise SpecificationError(
                    f"Column {c!r} is an identifier ({reason}) and cannot be interpolated. Fix: "
                    "leave it out, or declare its kind, e.g. kinds={'col': 'count'} (command "
                    "line --column-kind col=count)."
                )
            if reason == "declared" or reason.startswith("its name") or kind == "text":
                said[c] = _KIND_ROLE[kind]
            else:
                unknown.append(f"{c!r} (looks like a {kind}: {reason})")
        if unknown:
            raise SpecificationError(
                f"The kind of {', '.join(unknown)} is not known: is it a count that adds up "
                "over areas (extensive) or a rate, share or mean (intensive)? Interpolating a "
                "rate as a count gives wrong numbers without any sign. Fix: declare it, e.g. "
                "kinds={'col': 'count'} (command line --column-kind col=count, or "
                "--column-kind col=rate for a rate)."
            )
    return said


@dataclass
class Interpolation:
    """Values moved onto the target areas: result of :func:`interpolate`.

    Attributes
    ----------
    frame : GeoDataFrame
        The target areas (all, in order) with their id in ``target_id`` and the interpolated
        columns; categorical columns become ``{column}_{category}`` shares in [0, 1].
    kinds : dict
        ``{column: "extensive" | "intensive" | "categorical" | "rate formula"}``.
    totals : DataFrame
        Per extensive column: source total, target total and their difference.
    missing : dict
        ``{column: [target ids]}``: targets left missing because a source piece of them had
        no value (never filled with zero).
    overlay : AreaOverlay
        The overlay the values went through.
    notes : list of str
        Reprojections, gaps, overlaps, fallbacks.
    parameters : dict
        How it was called.
    """

    frame: gpd.GeoDataFrame
    kinds: dict[str, str]
    totals: pd.DataFrame
    missing: dict[str, list[Any]]
    overlay: AreaOverlay
    notes: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def provenance_(self) -> dict[str, Any]:
        """Method, kinds, weights, overlay, parameters and dongne version."""
        return {
            "method": "areal interpolation",
            "weights": self.overlay.weight_name,
            "kinds": dict(self.kinds),
            "overlay": self.overlay.provenance_,
            "parameters": dict(self.parameters),
            "dongne_version": __version__,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per target area: the id and the interpolated columns (no geometry)."""
        return pd.DataFrame(self.frame.drop(columns=self.frame.geometry.name))

    def summary(self, lang: Lang = "both") -> str:
        """What was moved where, how, and whether the totals held (Korean and/or English)."""
        check_lang(lang)
        ov = self.overlay
        by = "population" if ov.weight_name != "area_m2" else "area"
        groups = {k: [c for c, v in self.kinds.items() if v == k] for k in set(self.kinds.values())}
        listing = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(groups.items()))
        worst = self.totals["difference_pct"].abs().max() if len(self.totals) else 0.0
        en = (
            f"{len(ov.source_ids)} source areas were interpolated onto {len(ov.target_ids)} "
            f"target areas by {by} ({ov.n_pieces} pieces). Columns — {listing}. Counts were "
            f"shared out, rates and means averaged with {by} weights, never added. Largest "
            f"change of a column total: {worst:.4f} %."
        )
        ko = (
            f"원본 {len(ov.source_ids)}개 구역의 값을 대상 {len(ov.target_ids)}개 구역으로 "
            f"{'인구' if by == 'population' else '면적'} 비례로 옮겼습니다 (조각 {ov.n_pieces}개). "
            f"열 — {listing}. 건수는 나누어 배분하고, 비율·평균은 더하지 않고 가중 평균했습니다. "
            f"열 합계의 최대 변화: {worst:.4f} %."
        )
        for col, ids in self.missing.items():
            en += f" {col}: {len(ids)} target(s) left missing ({format_rows(ids)})."
            ko += f" {col}: 원본 값이 없어 {len(ids)}개 대상 구역은 비워 두었습니다."
        notes = (" " + " ".join([*ov.notes, *self.notes])) if ov.notes or self.notes else ""
        return pick_language(lang, en + notes, ko + notes)

    def plot(self, column: str | None = None, *, path: str | os.PathLike[str] | None = None):
        """Choropleth of one interpolated column on the target areas (quantile classes)."""
        from dongne.report.maps import choropleth

        column = column or next(c for c in self.frame.columns if c in self.kinds)
        return choropleth(
            self.frame, column, title=f"{column}\n(보간 · interpolated)", path=path,
            note="Areal interpolation by dongne",
        )  # fmt: skip


def _piece_weights(overlay: AreaOverlay) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Piece weights and source totals; sources without population fall back to area."""
    w, ws = overlay.weight.astype(float), overlay.source_weight.astype(float)
    notes: list[str] = []
    if overlay.weight_name != "area_m2":
        empty = ws == 0
        if empty.any():
            use_area = empty[overlay.source]
            w = np.where(use_area, overlay.area, w)
            ws = np.where(empty, overlay.source_area, ws)
            notes.append(f"{int(empty.sum())} source area(s) without population used area weights.")
    return w, ws, notes


def _spread(values: np.ndarray, overlay: AreaOverlay, share: np.ndarray) -> tuple[np.ndarray, Any]:
    """Σ_s v_s · share_st per target; targets touched by a missing v_s become NaN."""
    n_t = len(overlay.target_ids)
    v = values[overlay.source]
    bad = np.isnan(v) & (share > 0)
    out = np.bincount(overlay.target, np.where(bad, 0.0, v * share), minlength=n_t)
    hit = np.bincount(overlay.target, bad.astype(float), minlength=n_t) > 0
    out[hit] = np.nan
    return out, hit


def _numeric(data: pd.DataFrame, column: str) -> np.ndarray:
    try:
        return pd.to_numeric(data[column]).to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(
            f"Column {column!r} is not numeric ({exc}); only counts and rates can be shared "
            "out. Fix: give it as categorical, or leave it out."
        ) from None


def _estimate(
    data: pd.DataFrame,
    overlay: AreaOverlay,
    roles: Mapping[str, str],
    allocate_total: bool,
) -> tuple[dict[str, np.ndarray], dict[str, list[Any]], list[str]]:
    w, ws, notes = _piece_weights(overlay)
    n_t = len(overlay.target_ids)
    out_of = np.bincount(overlay.source, w, minlength=len(overlay.source_ids))
    den_s = out_of if allocate_total else ws
    ext_share = w / np.where(den_s > 0, den_s, 1.0)[overlay.source]
    into = np.bincount(overlay.target, w, minlength=n_t)
    int_share = w / np.where(into > 0, into, 1.0)[overlay.target]
    columns: dict[str, np.ndarray] = {}
    missing: dict[str, list[Any]] = {}
    for col, role in roles.items():
        if role == "categorical":
            columns.update(_categorical(data[col], overlay, w, into, col))
            continue
        share = ext_share if role == "extensive" else int_share
        values, hit = _spread(_numeric(data, col), overlay, share)
        if role == "intensive":
            values[into == 0] = np.nan
        columns[col] = values
        if hit.any():
            missing[col] = overlay.target_ids[hit].tolist()
    if (into == 0).any() and any(r == "intensive" for r in roles.values()):
        notes.append(
            f"{int((into == 0).sum())} target area(s) meet no source area: their rates and "
            "means are missing."
        )
    return columns, missing, notes


def _categorical(
    values: pd.Series, overlay: AreaOverlay, w: np.ndarray, into: np.ndarray, col: str
) -> dict[str, np.ndarray]:
    """Share of each target covered by each category (by area, or by population)."""
    n_t = len(overlay.target_ids)
    cats = values.to_numpy()[overlay.source]
    if overlay.weight_name == "area_m2":
        den = np.where(overlay.target_area > 0, overlay.target_area, 1.0)
    else:
        den = np.where(into > 0, into, 1.0)
    out = {}
    for value in pd.unique(values.dropna()):
        mask = cats == value
        out[f"{col}_{value}"] = np.bincount(overlay.target[mask], w[mask], minlength=n_t) / den
    return out


def interpolate(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    *,
    columns: Sequence[str] = (),
    extensive: Sequence[str] = (),
    intensive: Sequence[str] = (),
    categorical: Sequence[str] = (),
    kinds: Mapping[str, str] | None = None,
    rates: Mapping[str, object] | Iterable[str] | None = None,
    source_id: str | None = None,
    target_id: str | None = None,
    overlay: AreaOverlay | None = None,
    population: gpd.GeoDataFrame | None = None,
    population_column: str | None = None,
    allocate_total: bool = True,
) -> Interpolation:
    """Move the columns of ``source`` onto the areas of ``target``, each by its kind.

    Parameters
    ----------
    source : GeoDataFrame
        Polygons with the data, and a CRS.
    target : GeoDataFrame
        Polygons to move the data to (another vintage, other zones), with a CRS.
    columns : sequence of str
        Columns whose kind comes from ``kinds`` or from their name (see
        :func:`resolve_kinds`); a numeric column of unknown kind is refused.
    extensive, intensive, categorical : sequence of str
        Columns given directly as counts, as rates/means, as categories.
    kinds : mapping, optional
        ``{"col": "count" | "rate" | "mean" | "text"}`` for ``columns``.
    rates : mapping or strings, optional
        Rate formulas, as in :func:`dongne.io.combine.parse_rates`
        (``"pct=basement_households/households*100"``): numerator and denominator are
        interpolated as counts and the rate recomputed, which beats averaging the rate.
    source_id, target_id : str, optional
        Id columns; the index by default.
    overlay : AreaOverlay, optional
        A ready overlay of these two layers (from :func:`overlay_areas`), to move several
        tables without recomputing it.
    population : GeoDataFrame, optional
        Dasymetric weights: points, grid-cell centres (:func:`raster_points`) or small polygons
        with their population; see :meth:`AreaOverlay.with_population`.
    population_column : str, optional
        The population column (each point counts 1 without it).
    allocate_total : bool, default True
        Share each count over the parts of its source that lie in some target, so that the
        total is conserved; with False a count is shared by each piece's part of the whole
        source, and the part outside every target is lost (tobler's two options).

    Returns
    -------
    Interpolation

    Raises
    ------
    SpecificationError
        Unknown or contradictory kinds, missing columns, an id column.
    GeometryError, DataError
        From :func:`overlay_areas` (CRS, empty geometries, repeated ids).

    See Also
    --------
    overlay_areas, dongne.regions.change_table

    Notes
    -----
    With ``w_st`` the area (or population) of piece ``s ∩ t``: counts
    ``v_t = Σ_s v_s w_st / Σ_t' w_st'``; rates ``v_t = Σ_s v_s w_st / Σ_s' w_s't``;
    category shares ``Σ_{s: c_s = c} a_st / |t|``. These are tobler's ``area_interpolate``
    formulas (``tests/test_regions_interpolate.py`` checks equality to 1e-9 on the same area
    table). Unlike tobler, a missing source value leaves the targets it reaches missing
    (listed in ``missing``) instead of counting as zero, and a target no source reaches has
    missing rates, not 0.

    Examples
    --------
    >>> from shapely import box
    >>> old = gpd.GeoDataFrame({"code": ["A"], "households": [300.0], "basement_pct": [10.0]},
    ...                        geometry=[box(0, 0, 3, 1)], crs="EPSG:5179")
    >>> new = gpd.GeoDataFrame({"code": ["A1", "A2"]},
    ...                        geometry=[box(0, 0, 2, 1), box(2, 0, 3, 1)], crs="EPSG:5179")
    >>> r = interpolate(old, new, columns=["households", "basement_pct"],
    ...                 kinds={"households": "count"}, source_id="code", target_id="code")
    >>> r.to_frame().round(6).to_dict("records")
    [{'code': 'A1', 'households': 200.0, 'basement_pct': 10.0}, {'code': 'A2', 'households': 100.0, 'basement_pct': 10.0}]
    """  # noqa: E501
    specs = parse_rates(rates)
    roles = resolve_kinds(
        source, columns=columns, extensive=extensive, intensive=intensive,
        categorical=categorical, kinds=kinds,
    )  # fmt: skip
    roles = _add_rate_parts(roles, specs, source)
    if overlay is None:
        overlay = overlay_areas(source, target, source_id=source_id, target_id=target_id)
    if population is not None:
        overlay = overlay.with_population(source, target, population, population_column)
    values, missing, notes = _estimate(source, overlay, roles, allocate_total)
    for spec in specs.values():
        den = values[spec.denominator]
        values[spec.column] = values[spec.numerator] / np.where(den != 0, den, np.nan) * spec.scale
    id_name = target_id or (target.index.name or "target_id")
    frame = gpd.GeoDataFrame(
        {id_name: overlay.target_ids, **values}, geometry=target.geometry.values, crs=target.crs
    )
    kinds_out = {**roles, **{s.column: f"rate formula {s}" for s in specs.values()}}
    return Interpolation(
        frame, kinds_out, _totals(source, overlay, frame, roles), missing, overlay, notes,
        {"allocate_total": allocate_total, "rates": [str(s) for s in specs.values()],
         "population_column": population_column},
    )  # fmt: skip


def _add_rate_parts(
    roles: dict[str, str], specs: Mapping[str, RateSpec], source: pd.DataFrame
) -> dict[str, str]:
    out = {c: r for c, r in roles.items() if c not in specs}
    for spec in specs.values():
        for part in (spec.numerator, spec.denominator):
            if part not in source.columns:
                raise SpecificationError(
                    f"rate {spec}: the source has no column {part!r}. Fix: correct rates= "
                    "(command line --rate)."
                )
            if out.get(part, "extensive") != "extensive":
                raise SpecificationError(
                    f"rate {spec}: {part!r} is declared {out[part]}, but a rate's parts are "
                    "counts. Fix: declare it a count."
                )
            out[part] = "extensive"
    return out


def _totals(
    source: pd.DataFrame, overlay: AreaOverlay, frame: pd.DataFrame, roles: Mapping[str, str]
) -> pd.DataFrame:
    rows = []
    for col, role in roles.items():
        if role != "extensive":
            continue
        before = float(np.nansum(_numeric(source, col)))
        after = float(np.nansum(frame[col].to_numpy(dtype=float)))
        diff = after - before
        rows.append(
            {
                "column": col,
                "source_total": before,
                "target_total": after,
                "difference": diff,
                "difference_pct": 100 * diff / before if before else 0.0,
            }
        )
    return pd.DataFrame(
        rows, columns=["column", "source_total", "target_total", "difference", "difference_pct"]
    )
