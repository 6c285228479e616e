"""The overlay of two boundary sets, computed once: which pieces they cut each other into.

Every areal interpolation between two vintages of boundaries (2013 dongs → 2021 dongs, census
blocks → school districts) rests on one table: for each source area ``s`` and target area ``t``
the area ``a_st`` of ``s ∩ t`` (or, for dasymetric interpolation, the population living in
it). :func:`overlay_areas` builds it in a metric CRS with an STR-tree and vectorised GEOS
calls — no dense ``n × m`` array — and checks each layer on the way: overlaps between polygons
of one vintage and gaps between the two vintages are reported with their areas and rows, never
silently absorbed.

References
----------
.. [1] Goodchild, M. F. & Lam, N. S.-N. (1980). Areal interpolation: a variant of the
   traditional spatial problem. *Geo-Processing* 1, 297–312.
.. [2] PySAL tobler, ``tobler.area_weighted._area_tables_binning``
   (https://pysal.org/tobler/): the same table, stored there in float32.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse

from dongne._vocab import Lang, check_lang, pick_language
from dongne._warnings import user_stacklevel
from dongne.errors import DataError, DongneWarning, GeometryError, SpecificationError, format_rows
from dongne.io.areas import check_geometries
from dongne.io.crs import metric_crs, require_crs

__all__ = ["AreaOverlay", "LayerCheck", "check_layer", "overlay_areas"]

#: Pairs per vectorised GEOS call: bounds the memory of intermediate geometries.
_CHUNK = 50_000


@dataclass(frozen=True)
class LayerCheck:
    """Overlaps between the polygons of one boundary layer.

    Attributes
    ----------
    name : str
        The layer, as named in messages.
    overlaps : DataFrame
        One row per pair of areas that overlap by more than ``tolerance`` m²: ``id_a``,
        ``id_b``, ``area_m2``.
    total_area_m2 : float
        Area of the layer (sum of its polygons), m².
    """

    name: str
    overlaps: pd.DataFrame
    total_area_m2: float

    @property
    def overlap_area_m2(self) -> float:
        """Total overlapping area, m² (counted twice in the layer's sum of areas)."""
        return float(self.overlaps["area_m2"].sum())

    def message(self) -> str:
        """One line for a summary or an error; empty when nothing overlaps."""
        if self.overlaps.empty:
            return ""
        first = self.overlaps.iloc[0]
        return (
            f"{self.name}: {len(self.overlaps)} pair(s) of areas overlap, "
            f"{self.overlap_area_m2:,.0f} m² in all "
            f"({self.overlap_area_m2 / self.total_area_m2:.3%} of the layer; largest "
            f"{first['id_a']} × {first['id_b']}, {first['area_m2']:,.0f} m²)"
        )


def _ids(frame: gpd.GeoDataFrame, column: str | None, name: str) -> pd.Index:
    if column is None:
        ids = frame.index
    elif column not in frame.columns:
        raise SpecificationError(
            f"{name} has no column {column!r}. Columns: {', '.join(map(str, frame.columns))}. "
            "Fix: name its id column (source_id=, target_id=)."
        )
    else:
        ids = pd.Index(frame[column])
    dup = ids[ids.duplicated()]
    if len(dup) or ids.hasnans:
        bad = list(dict.fromkeys(dup.astype(str))) or ["a missing id"]
        raise DataError(
            f"{name}: ids must be unique and present; repeated or missing: {format_rows(bad)}. "
            "Fix: choose a column with one value per area (source_id=, target_id=)."
        )
    return pd.Index(ids)


def _pairs_areas(a: np.ndarray, b: np.ndarray, threads: int) -> np.ndarray:
    """Area of ``a[k] ∩ b[k]`` for every k, in chunks, on ``threads`` threads (GEOS releases
    the GIL in shapely's vectorised functions)."""
    n = len(a)
    if n == 0:
        return np.zeros(0)
    size = min(_CHUNK, max(1_000, -(-n // (4 * threads))))
    starts = range(0, n, size)

    def work(start: int) -> np.ndarray:
        sl = slice(start, start + size)
        return shapely.area(shapely.intersection(a[sl], b[sl]))

    if threads <= 1 or n <= size:
        return np.concatenate([work(s) for s in starts])
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return np.concatenate(list(pool.map(work, starts)))  # map keeps the order


def _threads(threads: int | None) -> int:
    if threads is None:
        return max(1, min(8, os.cpu_count() or 1))
    if threads < 1:
        raise SpecificationError(f"threads must be at least 1, got {threads}. Fix: threads=1.")
    return int(threads)


def _rings(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exterior rings of the one-part polygons without holes: (simple, convex, coordinates
    without the closing vertex, offsets per geometry; no coordinates for the others). Read
    with one vectorised ``get_coordinates`` (a simple polygon's coordinates are its ring's)."""
    n = len(geoms)
    types = shapely.get_type_id(geoms)
    holes = np.zeros(n, dtype=np.int64)
    poly = types == 3
    holes[poly] = shapely.get_num_interior_rings(geoms[poly])
    single = (types == 6) & (shapely.get_num_geometries(geoms) == 1)
    if single.any():
        holes[single] = shapely.get_num_interior_rings(shapely.get_geometry(geoms[single], 0))
    simple = (poly | single) & (holes == 0)
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    sizes = np.bincount(owner, minlength=n)
    simple &= sizes >= 4
    keep = simple[owner]
    keep[(np.cumsum(sizes) - 1)[simple]] = False  # the closing vertex
    counts = np.where(simple, sizes - 1, 0)
    from dongne.regions._clip_kernels import convex_rings

    offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
    xy = np.ascontiguousarray(xy[keep])
    return simple, simple & convex_rings(xy, offsets), xy, offsets


def _clip_pairs(
    src: np.ndarray, tgt: np.ndarray, s: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Areas of the pairs that compiled clipping can do, and the mask of those pairs; the
    rest need GEOS. A pair where one polygon is convex and the other has one ring is clipped
    directly (grid cells, hexagons, Voronoi cells); a pair of two single-ring polygons of at
    most ``_TRIANGLE_VERTICES`` vertices each (simple admin boundaries) is clipped by each ear
    of the other's ear-clipping triangulation (the cost grows with the product of the two
    vertex counts, GEOS's with their sum: detailed boundaries stay with GEOS). A clipped area
    of exactly 0 is a pair whose interiors do not meet (bounding boxes only); one above 0 but
    below ``_TINY`` of the smaller polygon (a pair along a shared boundary, a sliver at the
    rounding level) is left to GEOS, so that such pieces are kept or dropped as GEOS decides."""
    from dongne.regions._clip_kernels import clip_areas, clip_areas_triangles

    s_simple, s_convex, s_xy, s_off = _rings(src)
    t_simple, t_convex, t_xy, t_off = _rings(tgt)
    area = np.full(len(s), -1.0)
    by_t = t_convex[t] & s_simple[s]
    by_s = ~by_t & s_convex[s] & t_simple[t]
    if by_t.any():
        area[by_t] = clip_areas(s_xy, s_off, t_xy, t_off, s[by_t], t[by_t])
    if by_s.any():
        area[by_s] = clip_areas(t_xy, t_off, s_xy, s_off, t[by_s], s[by_s])
    small = np.diff(t_off)[t] <= _TRIANGLE_VERTICES
    small &= np.diff(s_off)[s] <= _TRIANGLE_VERTICES
    tri = ~(by_t | by_s) & s_simple[s] & t_simple[t] & small
    if tri.any():
        tri_xy, tri_off, index = _triangles(t_xy, t_off, np.unique(t[tri]))
        tri &= index[t] >= 0
        area[tri] = clip_areas_triangles(s_xy, s_off, tri_xy, tri_off, s[tri], index[t[tri]])
    smaller = np.minimum(shapely.area(src)[s], shapely.area(tgt)[t])
    done = (area == 0) | (area >= _TINY * smaller)
    return area, done


#: Clipped areas below this share of the smaller polygon are left to GEOS (touching pairs).
_TINY = 1e-9
#: Pairs of single-ring polygons up to this many vertices each are clipped by triangles.
_TRIANGLE_VERTICES = 64


def _triangles(
    xy: np.ndarray, off: np.ndarray, which: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ear-clipping triangles of the rings ``which``, offsets per triangulated ring, and the
    position of each ring in the offsets (-1 where ear clipping failed: GEOS does those)."""
    from dongne.regions._clip_kernels import triangulate_rings

    tri, offsets, ok = triangulate_rings(xy, off, which.astype(np.int64))
    index = np.full(len(off) - 1, -1, dtype=np.int64)
    index[which[ok]] = np.flatnonzero(ok)
    return tri, offsets, index


def _intersection_table(
    src: np.ndarray, tgt: np.ndarray, threads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source positions, target positions and areas of every non-empty intersection.

    Candidates come from the STR-tree's bounding-box query. With the sources prepared, a pair
    whose target lies properly inside its source takes the target's area (the common case
    when one layer is finer); a pair where one polygon has a single ring is clipped in
    compiled code (:mod:`dongne.regions._clip_kernels`) by the other, convex, polygon or by
    the triangles of its triangulation (:func:`_clip_pairs`); the rest (both polygons with
    holes or several parts, touching pairs, rounding-level slivers) are tested with the
    prepared predicate and intersected by GEOS.
    """
    tree = shapely.STRtree(tgt)
    s, t = tree.query(src)
    if len(s) == 0:
        return s, t, np.zeros(0)
    shapely.prepare(src)
    covered = shapely.contains_properly(src[s], tgt[t])
    area = np.zeros(len(s))
    area[covered] = shapely.area(tgt[t[covered]])
    rest = np.flatnonzero(~covered)
    clipped, done = _clip_pairs(src, tgt, s[rest], t[rest])
    area[rest[done]] = clipped[done]
    rest = rest[~done]
    rest = rest[shapely.intersects(src[s[rest]], tgt[t[rest]])]
    area[rest] = _pairs_areas(src[s[rest]], tgt[t[rest]], threads)
    keep = area > 0
    return s[keep].astype(np.int64), t[keep].astype(np.int64), area[keep]


def check_layer(
    areas: gpd.GeoDataFrame,
    *,
    ids: str | None = None,
    name: str = "the layer",
    tolerance_m2: float = 1.0,
) -> LayerCheck:
    """Find the areas of one boundary layer that overlap each other.

    Administrative boundaries should tile the city: each point in exactly one area. Overlaps
    double-count whatever is interpolated from or onto them, so they are measured (in a metric
    CRS) and listed with their areas; slivers below ``tolerance_m2`` (digitising noise) are
    ignored.

    Parameters
    ----------
    areas : GeoDataFrame
        Polygons with a CRS.
    ids : str, optional
        Id column; the index by default.
    name : str
        The layer's name in messages.
    tolerance_m2 : float, default 1.0
        Overlaps smaller than this (m²) are not reported.

    Returns
    -------
    LayerCheck

    Examples
    --------
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"id": ["a", "b"]},
    ...                      geometry=[box(0, 0, 20, 10), box(10, 0, 30, 10)], crs="EPSG:5179")
    >>> check_layer(g, ids="id").overlaps.to_dict("records")
    [{'id_a': 'a', 'id_b': 'b', 'area_m2': 100.0}]
    """
    key = _ids(areas, ids, name)
    frame = areas.to_crs(metric_crs(areas)) if require_crs(areas, name).is_geographic else areas
    geoms = np.asarray(frame.geometry.array)
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="overlaps")
    upper = i < j
    i, j = i[upper], j[upper]
    area = _pairs_areas(geoms[i], geoms[j], 1)
    big = area > tolerance_m2
    overlaps = pd.DataFrame(
        {"id_a": key[i[big]], "id_b": key[j[big]], "area_m2": area[big]}
    ).sort_values("area_m2", ascending=False, ignore_index=True)
    return LayerCheck(name, overlaps, float(shapely.area(geoms).sum()))


@dataclass
class AreaOverlay:
    """The pieces two boundary layers cut each other into: result of :func:`overlay_areas`.

    Attributes
    ----------
    source_ids, target_ids : Index
        The areas of each layer, in layer order.
    source, target : ndarray of int
        For each piece, the position of its source and of its target area.
    area : ndarray of float
        Area of each piece, m² (in ``crs``).
    source_area, target_area : ndarray of float
        Area of each source and target polygon, m².
    weight : ndarray of float
        What each piece carries: its area, or the population living in it after
        :meth:`with_population` (dasymetric weights).
    source_weight : ndarray of float
        The same measure for each whole source area (a source's area, or the population living
        in it, inside a target or not): the denominator when a count is not allocated in total.
    weight_name : str
        ``"area_m2"`` or the name of the population weight.
    crs : str
        The metric CRS the areas were computed in.
    notes : list of str
        What was done on the way (reprojections, repairs, overlaps, gaps).
    """

    source_ids: pd.Index
    target_ids: pd.Index
    source: np.ndarray
    target: np.ndarray
    area: np.ndarray
    source_area: np.ndarray
    target_area: np.ndarray
    crs: str
    weight: np.ndarray = field(default=None)  # type: ignore[assignment]
    source_weight: np.ndarray = field(default=None)  # type: ignore[assignment]
    weight_name: str = "area_m2"
    notes: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.weight is None:
            self.weight = self.area
        if self.source_weight is None:
            self.source_weight = self.source_area

    @property
    def n_pieces(self) -> int:
        """Number of pieces (non-empty intersections)."""
        return len(self.area)

    def table(self, weights: bool = False) -> sparse.csr_array:
        """The ``n_source × n_target`` table of piece areas (or weights), float64 CSR."""
        values = self.weight if weights else self.area
        shape = (len(self.source_ids), len(self.target_ids))
        return sparse.csr_array((values, (self.source, self.target)), shape=shape)

    @property
    def target_coverage(self) -> np.ndarray:
        """Share of each target's area covered by the source layer (1 = fully covered)."""
        covered = np.bincount(self.target, self.area, minlength=len(self.target_ids))
        return covered / np.where(self.target_area > 0, self.target_area, 1.0)

    @property
    def source_coverage(self) -> np.ndarray:
        """Share of each source's area covered by the target layer."""
        covered = np.bincount(self.source, self.area, minlength=len(self.source_ids))
        return covered / np.where(self.source_area > 0, self.source_area, 1.0)

    def to_frame(self) -> pd.DataFrame:
        """One row per piece: source id, target id, area (m²), weight and both shares."""
        out = pd.DataFrame(
            {
                "source_id": self.source_ids[self.source],
                "target_id": self.target_ids[self.target],
                "area_m2": self.area,
                "share_of_source": self.area / self.source_area[self.source],
                "share_of_target": self.area / self.target_area[self.target],
            }
        )
        if self.weight_name != "area_m2":
            out[self.weight_name] = self.weight
        return out

    @property
    def provenance_(self) -> dict[str, Any]:
        """How the overlay was made: CRS, sizes, weight, notes and layer checks."""
        return {
            "method": "overlay",
            "crs": self.crs,
            "sources": len(self.source_ids),
            "targets": len(self.target_ids),
            "pieces": self.n_pieces,
            "weight": self.weight_name,
            "notes": list(self.notes),
        }

    def summary(self, lang: Lang = "both") -> str:
        """The overlay in a few sentences (Korean and/or English)."""
        check_lang(lang)
        cov = self.target_coverage
        short = int((cov < 0.99).sum())
        en = (
            f"Overlay of {len(self.source_ids)} source and {len(self.target_ids)} target areas "
            f"in {self.crs}: {self.n_pieces} pieces; {short} target area(s) are less than 99 % "
            f"covered by the source layer. Weights: {self.weight_name}."
        )
        ko = (
            f"원본 {len(self.source_ids)}개 구역과 대상 {len(self.target_ids)}개 구역을 "
            f"{self.crs}에서 겹쳐 {self.n_pieces}개 조각을 만들었습니다. 원본 경계가 99 % 미만으로 "
            f"덮는 대상 구역은 {short}개입니다. 가중치: {self.weight_name}."
        )
        notes = (" " + " ".join(self.notes)) if self.notes else ""
        return pick_language(lang, en + notes, ko + notes)

    def with_population(
        self,
        source: gpd.GeoDataFrame,
        target: gpd.GeoDataFrame,
        population: gpd.GeoDataFrame,
        column: str | None = None,
    ) -> AreaOverlay:
        """Dasymetric weights: the population living in each piece, from a finer layer.

        Parameters
        ----------
        source, target : GeoDataFrame
            The two layers this overlay was built from (same rows, same order).
        population : GeoDataFrame
            Points (each a person or a count in ``column``: a geocoded register, the cell
            centres of a population grid from :func:`raster_points`) or polygons with a count in
            ``column`` (blocks, a finer census layer; a polygon's count is spread over its area).
        column : str, optional
            The count; each point counts 1 when omitted. Required for polygons.

        Returns
        -------
        AreaOverlay
            The same pieces with ``weight`` = population per piece and ``source_weight`` =
            population per source area; population outside every source is reported in
            ``notes``.
        """
        from dongne.regions._dasymetric import piece_population

        weight, source_weight, notes = piece_population(self, source, target, population, column)
        return AreaOverlay(
            self.source_ids, self.target_ids, self.source, self.target, self.area,
            self.source_area, self.target_area, self.crs, weight, source_weight,
            column or "population", [*self.notes, *notes], dict(self.checks),
        )  # fmt: skip


def _metric_pair(
    source: gpd.GeoDataFrame, target: gpd.GeoDataFrame, crs: Any
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, CRS, list[str]]:
    """Both layers in one metric CRS; a note for each reprojection."""
    a = require_crs(source, "the source layer")
    b = require_crs(target, "the target layer")
    notes: list[str] = []
    if crs is not None:
        work = CRS.from_user_input(crs)
        if work.is_geographic:
            raise GeometryError(
                f"crs={crs!r} is geographic (degrees); areas need a metric CRS. Fix: "
                "crs='EPSG:5179' (Korea) or a UTM zone."
            )
    elif a.is_projected and a.equals(b) and a.axis_info[0].unit_name in ("metre", "meter"):
        work = a
    else:
        work = metric_crs(source)
    for name, own in (("source", a), ("target", b)):
        if not own.equals(work):
            notes.append(f"The {name} layer was reprojected from {own.name} to {work.name}.")
    if not a.equals(b):
        warnings.warn(
            f"The source ({a.name}) and target ({b.name}) layers have different CRSs; both "
            f"were reprojected to {work.name} for the overlay.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
    return (
        source if a.equals(work) else source.to_crs(work),
        target if b.equals(work) else target.to_crs(work),
        work,
        notes,
    )


def overlay_areas(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    *,
    source_id: str | None = None,
    target_id: str | None = None,
    crs: Any = None,
    threads: int | None = None,
    overlap_tolerance_m2: float = 1.0,
) -> AreaOverlay:
    """Cut two boundary layers into pieces and measure each piece: the basis of interpolation.

    Parameters
    ----------
    source, target : GeoDataFrame
        Polygons with a CRS: the layer the data are on, and the layer they should go to.
    source_id, target_id : str, optional
        Id columns (unique); the index by default.
    crs : optional
        The metric CRS to measure areas in. By default the layers' own CRS when both share one
        projected in metres, else EPSG:5179 inside Korea or the local UTM zone; a reprojection
        is noted (and warned of when the two CRSs differ).
    threads : int, optional
        Threads for the intersections (default: the CPUs, at most 8). Results do not depend
        on it.
    overlap_tolerance_m2 : float, default 1.0
        Overlaps between polygons of one layer above this area (m²), where the other layer
        covers them, are reported in ``notes``; :func:`check_layer` checks a layer on its own.

    Returns
    -------
    AreaOverlay

    Raises
    ------
    GeometryError
        A layer without CRS, a missing or empty geometry, or a geographic ``crs``.
    DataError
        Repeated or missing ids.

    Notes
    -----
    The piece areas are ``a_st = |s ∩ t|`` in float64. Candidate pairs come from an STR-tree
    query on bounding boxes; a target properly inside its source takes its own area, others
    are intersected in chunks of 50,000 pairs on ``threads`` threads. tobler's
    ``_area_tables_binning`` builds the same table (in float32, so the two agree to about
    1e-7 relative); ``tests/test_regions_interpolate.py`` checks both.

    Examples
    --------
    >>> from shapely import box
    >>> old = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(0, 0, 2, 1)], crs="EPSG:5179")
    >>> new = gpd.GeoDataFrame({"code": ["A1", "A2"]},
    ...                        geometry=[box(0, 0, 1.5, 1), box(1.5, 0, 2, 1)], crs="EPSG:5179")
    >>> ov = overlay_areas(old, new, source_id="code", target_id="code")
    >>> ov.to_frame()[["source_id", "target_id", "area_m2"]].to_dict("records")
    [{'source_id': 'A', 'target_id': 'A1', 'area_m2': 1.5}, {'source_id': 'A', 'target_id': 'A2', 'area_m2': 0.5}]
    """  # noqa: E501
    src_ids = _ids(source, source_id, "the source layer")
    tgt_ids = _ids(target, target_id, "the target layer")
    source, target, work, notes = _metric_pair(source, target, crs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source, _ = check_geometries(source, "the source layer")
        target, _ = check_geometries(target, "the target layer")
    notes += [str(w.message) for w in caught]
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=user_stacklevel())
    src = np.asarray(source.geometry.array)
    tgt = np.asarray(target.geometry.array)
    s, t, area = _intersection_table(src, tgt, _threads(threads))
    order = np.lexsort((t, s))
    overlay = AreaOverlay(
        src_ids, tgt_ids, s[order], t[order], area[order], shapely.area(src),
        shapely.area(tgt), work.to_string(), notes=notes,
    )  # fmt: skip
    _note_gaps(overlay)
    _note_overlaps(overlay, overlap_tolerance_m2)
    return overlay


def _note_gaps(overlay: AreaOverlay) -> None:
    cov = overlay.target_coverage
    short = np.flatnonzero(cov < 0.99)
    if len(short):
        gap = float(((1 - cov[short]) * overlay.target_area[short]).sum())
        overlay.notes.append(
            f"{len(short)} target area(s) are less than 99 % covered by the source layer "
            f"({gap / 1e6:,.3f} km² uncovered; e.g. "
            f"{format_rows(overlay.target_ids[short].astype(str))})."
            " Interpolated counts there are lower than the area suggests."
        )
        overlay.checks["uncovered_targets"] = overlay.target_ids[short].astype(str).tolist()


def _note_overlaps(overlay: AreaOverlay, tolerance: float) -> None:
    """Overlaps inside one layer, read off the table: where the pieces of a target add up to
    more than the target, source polygons overlap there (and the other way round). Free, and
    exact wherever the two layers overlap each other; :func:`check_layer` checks a whole
    layer on its own."""
    for name, own, own_area, ids in (
        ("source", overlay.target, overlay.target_area, overlay.target_ids),
        ("target", overlay.source, overlay.source_area, overlay.source_ids),
    ):
        excess = np.bincount(own, overlay.area, minlength=len(own_area)) - own_area
        where = np.flatnonzero(excess > tolerance)
        overlay.checks[f"{name}_overlap_m2"] = float(excess[where].sum())
        if len(where):
            other_name = "target" if name == "source" else "source"
            overlay.notes.append(
                f"Polygons of the {name} layer overlap each other: inside {len(where)} "
                f"{other_name} area(s) ({format_rows(ids[where].astype(str))}) their pieces add "
                f"up to {excess[where].sum():,.0f} m² more than the area. Counts moved there "
                "are counted twice; check_layer lists the overlapping pairs."
            )
