"""Regionalisation: contiguous regions of similar areas, each above a floor.

Planning regions must be territories (contiguous), internally similar and large enough to
act on (e.g. at least 20,000 households each). Four methods, one contract — configure, then
``fit(X, w)``; results in ``labels_``, ``n_regions_``, ``objective_``:

* :class:`MaxP` — as many regions as the floor allows (max-p), then the most homogeneous
  such partition: randomised construction + simulated annealing with a tabu list;
* :class:`Skater` — prune the minimum spanning tree of the contiguity graph (SKATER);
* :class:`AZP` — a fixed number of regions by local search from random contiguous starts
  (the automatic zoning procedure);
* :class:`WardRegions` — Ward's hierarchical clustering restricted to contiguous merges;
* :class:`SpectralRegions` — spectral clustering of the contiguity graph weighted by
  attribute similarity (spopt's SPENC), fragments then joined to a neighbouring region.

Homogeneity is measured as in PySAL spopt, so that results can be compared: MaxP and AZP
minimise the sum of within-region pairwise cityblock distances, SKATER the sum of cityblock
distances to the region means, Ward the within-region sum of squares.

References
----------
.. [1] Duque, J. C., Anselin, L. & Rey, S. J. (2012). The max-p-regions problem. *Journal of
   Regional Science* 52(3), 397–419.
.. [2] Wei, R., Rey, S. & Knaap, E. (2020). Efficient regionalization for spatially explicit
   neighborhood delineation. *IJGIS* 35(1), 135–151.
.. [3] Assunção, R. M., Neves, M. C., Câmara, G. & da Costa Freitas, C. (2006). Efficient
   regionalization techniques for socio-economic geographical units using minimum spanning
   trees. *IJGIS* 20(7), 797–811.
.. [4] Openshaw, S. (1977). A geographical solution to scale and aggregation problems in
   region-building, partitioning and spatial modelling. *Transactions of the IBG* 2(4),
   459–472.
.. [5] PySAL spopt ``spopt.region`` (https://pysal.org/spopt/).
.. [6] Wolf, L. J. (2021). Spatially-encouraged spectral clustering: a technique for blending
   map typologies and regionalization. *IJGIS* 35(11), 2356–2373.
.. [7] Shi, J. & Malik, J. (2000). Normalized cuts and image segmentation. *IEEE TPAMI* 22(8),
   888–905; Yu, S. X. & Shi, J. (2003). Multiclass spectral clustering. *ICCV*.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import csgraph

from dongne import __version__
from dongne._vocab import Lang, check_lang, pick_language, resolve_rng
from dongne.errors import DataError, InfeasibleProblemError, SpecificationError, format_rows
from dongne.regions import _maxp_kernels as K
from dongne.regions.quality import pairwise_dissimilarity, within_sum_of_squares
from dongne.weights import SpatialWeights

__all__ = ["AZP", "PATIENCE", "MaxP", "Skater", "SpectralRegions", "WardRegions"]

#: Annealing steps in a row without a lower objective that end a round (spopt's simulated
#: annealing stops after ``n`` such moves; this caps it for large maps).
PATIENCE = 200


def _inputs(
    X: pd.DataFrame | np.ndarray, w: SpatialWeights, floor_values: Any = None
) -> tuple[np.ndarray, np.ndarray | None, pd.Index]:
    """Attributes and floor values in the weights' order, checked."""
    if not isinstance(w, SpatialWeights):
        raise SpecificationError(
            "w must be dongne.weights.SpatialWeights. Fix: w = dongne.weights.queen(areas, "
            "ids='dong_code')."
        )
    ids = w.ids
    if isinstance(X, pd.DataFrame | pd.Series):
        frame = X.to_frame() if isinstance(X, pd.Series) else X
        missing = ids.difference(frame.index)
        if len(missing):
            raise DataError(
                f"X has no row for {len(missing)} area(s) of the weights "
                f"({format_rows(missing.astype(str))}). Fix: index X by the weights' ids."
            )
        frame = frame.loc[ids]
        x = frame.to_numpy(dtype=float)
    else:
        x = np.asarray(X, dtype=float)
        x = x[:, None] if x.ndim == 1 else x
        frame = pd.DataFrame(x, index=ids)
    if len(x) != len(ids):
        raise SpecificationError(f"X has {len(x)} rows for {len(ids)} areas. Fix: one per area.")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} area(s) have missing attribute values "
            f"({format_rows(ids[bad].astype(str))}); a region cannot be built on unknowns. "
            "Fix: fill them, or leave those areas out of X and the weights."
        )
    v = None
    if floor_values is not None:
        series = floor_values if isinstance(floor_values, pd.Series) else None
        v = (series.loc[ids] if series is not None else np.asarray(floor_values)).astype(float)
        v = np.asarray(v, dtype=float)
        if len(v) != len(ids) or not np.isfinite(v).all() or (v < 0).any():
            raise DataError(
                "floor_values must give a non-negative number for every area. Fix: fill the "
                "missing values of the floor variable."
            )
    return x, v, ids


def _graph(w: SpatialWeights) -> tuple[np.ndarray, np.ndarray]:
    if len(w.islands):
        raise SpecificationError(
            f"{len(w.islands)} area(s) have no neighbours ({format_rows(w.islands.astype(str))}) "
            "and cannot join a contiguous region. Fix: w.attach_islands() (joins each to its "
            "nearest area), or leave them out."
        )
    b = w.binary().to_sparse()
    b = ((b + b.T) > 0).astype(np.float64).tocsr()
    b.sort_indices()
    return b.indptr.astype(np.int64), b.indices.astype(np.int64)


class _Regions:
    """What every regionalisation result shares: summary, table, map, provenance."""

    method = "regions"
    labels_: pd.Series
    n_regions_: int
    objective_: float

    def _finish(self, labels: np.ndarray, ids: pd.Index, x: np.ndarray, **record: Any) -> None:
        # number regions 1..p in order of first appearance, so that maps stay stable
        _, first = np.unique(labels, return_index=True)
        order = np.argsort(np.argsort(first))
        codes = np.unique(labels, return_inverse=True)[1]
        self.labels_ = pd.Series(order[codes] + 1, index=ids, name="region")
        self.n_regions_ = len(first)
        self.within_ss_ = within_sum_of_squares(x, self.labels_.to_numpy())
        self.pairwise_l1_ = pairwise_dissimilarity(x, self.labels_.to_numpy())
        self._record = {"method": self.method, "dongne_version": __version__, **record}

    @property
    def provenance_(self) -> dict[str, Any]:
        """Method, parameters, seed, objective and dongne version."""
        return dict(self._record)

    def to_frame(self) -> pd.DataFrame:
        """One row per area: its id and region (1, 2, …)."""
        return self.labels_.rename_axis("id").reset_index()

    def summary(self, lang: Lang = "both") -> str:
        """The regions in two sentences (Korean and/or English)."""
        check_lang(lang)
        sizes = self.labels_.value_counts()
        en = (
            f"{self.method}: {self.n_regions_} contiguous regions of {len(self.labels_)} areas "
            f"({sizes.min()}–{sizes.max()} areas each). Within-region sum of squares "
            f"{self.within_ss_:,.2f}; pairwise dissimilarity {self.pairwise_l1_:,.2f}."
        )
        ko = (
            f"{self.method}: {len(self.labels_)}개 구역을 서로 맞닿은 {self.n_regions_}개 권역으로 "
            f"묶었습니다 (권역당 {sizes.min()}–{sizes.max()}개 구역). 권역 내 제곱합 "
            f"{self.within_ss_:,.2f}, 쌍별 비유사도 {self.pairwise_l1_:,.2f}."
        )
        return pick_language(lang, en, ko)

    def plot(self, areas: Any, *, id_column: str | None = None,
             path: str | os.PathLike[str] | None = None) -> Any:  # fmt: skip
        """Map of the regions on ``areas``: one colour and a number per region, region
        boundaries dark, area boundaries thin; ``areas`` in the order of the fitted ids (or
        with their id in ``id_column``)."""
        from dongne.regions._plots import regions_map

        key = areas[id_column] if id_column else areas.index.to_series()
        return regions_map(
            areas, key.map(self.labels_).to_numpy(), path=path,
            title=f"{self.method}: {self.n_regions_} 권역 · regions",
            note=f"dongne {__version__}; {self._record.get('method', '')}",
        )  # fmt: skip


class MaxP(_Regions):
    """Max-p regions: the most regions that each reach ``floor``, then the most homogeneous.

    Parameters
    ----------
    floor : float
        Minimum of the floor variable (``floor_values`` in :meth:`fit`) in every region, e.g.
        20,000 households.
    iterations : int, default 99
        Randomised constructions (spopt's ``max_iterations_construction``).
    rounds : int, default 10
        Simulated-annealing rounds from each of the ``starts`` best
        constructions (spopt's ``max_iterations_sa`` is the comparable budget).
    starts : int, optional
        How many of the best constructions with the most regions the search starts from
        (default: all of them, as spopt).
    rng : int, numpy.random.Generator or None
        Seed (None = 0). The result does not depend on the number of threads.

    Attributes
    ----------
    labels_ : Series
        Region (1 … p) of each area, indexed by the weights' ids.
    n_regions_ : int
        p, the number of regions.
    objective_ : float
        Σ over regions of the pairwise cityblock distances of their areas' attributes.
    within_ss_, pairwise_l1_ : float
        Within-region sum of squares and the pairwise dissimilarity (= ``objective_``).
    floor_totals_ : Series
        The floor variable summed per region (all ≥ ``floor``).

    Notes
    -----
    Construction: areas are visited in random order; each unassigned one seeds a region grown
    over unassigned neighbours until the floor is met, or else its areas become
    enclaves; enclaves then join the neighbouring region they are least dissimilar to. The
    constructions with the most regions are kept and each improved by single-area moves that
    keep the donor contiguous and above the floor: steepest descent, then ``rounds`` rounds of
    simulated annealing with a tabu list, each polished by descent. spopt's ``MaxPHeuristic``
    grows regions breadth-first and anneals each construction ``max_iterations_sa`` times;
    dongne grows each region with the neighbour that meets the floor with the least excess
    (which leaves more for the next regions) and needs no ``n × n`` distance matrix.
    ``tests/test_regions_regionalise.py`` checks that p is at least
    spopt's and the objective no worse on the same budget.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> from dongne.weights import rook
    >>> grid = gpd.GeoDataFrame(geometry=[box(i % 4, i // 4, i % 4 + 1, i // 4 + 1)
    ...                                   for i in range(16)])
    >>> x = pd.DataFrame({"v": [0.0] * 8 + [5.0] * 8})
    >>> m = MaxP(floor=4, rng=0).fit(x, rook(grid), floor_values=np.ones(16))
    >>> m.n_regions_, bool(m.floor_totals_.min() >= 4)
    (4, True)
    """

    method = "max-p"

    def __init__(
        self,
        floor: float,
        *,
        iterations: int = 99,
        rounds: int = 10,
        starts: int | None = None,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        self.floor = floor
        self.iterations = iterations
        self.rounds = rounds
        self.starts = starts
        self.rng = rng

    def fit(self, X: pd.DataFrame | np.ndarray, w: SpatialWeights, *, floor_values: Any) -> MaxP:
        """Find the regions; ``X`` holds the attributes (rows = areas, in any order when a
        DataFrame indexed by the weights' ids), ``floor_values`` the floor variable."""
        for name in ("iterations", "rounds", "starts"):
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise SpecificationError(f"{name} must be at least 1. Fix: {name}=10.")
        x, v, ids = _inputs(X, w, floor_values)
        indptr, indices = _graph(w)
        _check_floor(v, self.floor, indptr, indices, ids)
        seed = resolve_rng(self.rng)
        labels, p, obj = K.construct(indptr, indices, x, v, float(self.floor), seed,
                                     int(self.iterations))  # fmt: skip
        best_p = int(p.max())
        good = np.flatnonzero(p == best_p)
        good = good[np.argsort(obj[good], kind="stable")][: self.starts or len(good)]
        found, found_obj = K.search_many(
            indptr, indices, x, v, float(self.floor), labels[good], best_p, seed,
            int(self.rounds), min(len(ids), PATIENCE),
        )  # fmt: skip
        best = found[int(np.argmin(found_obj))]
        self._finish(best, ids, x, floor=self.floor, iterations=self.iterations,
                     rounds=self.rounds, starts=self.starts, seed=seed)  # fmt: skip
        self.objective_ = self.pairwise_l1_
        self.floor_totals_ = pd.Series(v, index=ids).groupby(self.labels_).sum()
        return self


def _check_floor(
    v: np.ndarray, floor: float, indptr: np.ndarray, indices: np.ndarray, ids: pd.Index
) -> None:
    if not np.isfinite(floor) or floor <= 0:
        raise SpecificationError(f"floor must be a positive number, got {floor}. Fix: floor=20000.")
    n = len(v)
    graph = _csr(indptr, indices, n)
    n_comp, comp = csgraph.connected_components(graph, directed=False)
    totals = np.bincount(comp, v, minlength=n_comp)
    short = np.flatnonzero(totals < floor)
    if len(short):
        worst = short[np.argmin(totals[short])]
        members = ids[comp == worst].astype(str)
        where = "the whole map" if n_comp == 1 else "a group of connected areas"
        raise InfeasibleProblemError(
            f"The floor {floor:,.0f} cannot be met: {where} totals only {totals[worst]:,.0f} "
            f"({len(members)} area(s): {format_rows(members)}). Fix: lower the floor, e.g. "
            f"floor={np.floor(totals.min()):.0f}, or connect the group to its neighbours "
            "(w.attach_islands())."
        )


def _csr(indptr: np.ndarray, indices: np.ndarray, n: int) -> Any:
    from scipy import sparse

    return sparse.csr_array((np.ones(len(indices)), indices, indptr), shape=(n, n))


class Skater(_Regions):
    """SKATER: cut the minimum spanning tree of the contiguity graph into ``n_regions``.

    Parameters
    ----------
    n_regions : int
        Number of regions (components of the contiguity graph count among them).
    min_areas : int, default 1
        Minimum number of areas per region (spopt's ``floor``).
    floor : float, default 0
        Minimum of ``floor_values`` per region (an extensive floor, e.g. households).

    Attributes
    ----------
    labels_, n_regions_ : see :class:`MaxP`.
    objective_ : float
        Σ over regions of the cityblock distances of their areas to the region mean (spopt's
        SKATER score).

    Notes
    -----
    Edges of the contiguity graph are weighted by the cityblock distance of their two areas'
    attributes; the minimum spanning tree (SciPy) is cut greedily, each time at the edge whose
    removal lowers the score most while both parts keep ``min_areas`` areas and ``floor``. The
    method is deterministic; with ``floor=0`` it equals spopt's ``Skater`` on a connected graph
    (``tests/test_regions_regionalise.py``). dongne keeps edges between areas with identical
    attributes (spopt drops their zero weights, which can disconnect the tree).
    """

    method = "SKATER"

    def __init__(self, n_regions: int, *, min_areas: int = 1, floor: float = 0.0) -> None:
        self.n_regions = n_regions
        self.min_areas = min_areas
        self.floor = floor

    def fit(self, X: pd.DataFrame | np.ndarray, w: SpatialWeights, *,
            floor_values: Any = None) -> Skater:  # fmt: skip
        """Cut the tree; ``floor_values`` is needed only with a ``floor``."""
        x, v, ids = _inputs(X, w, floor_values)
        if v is None:
            if self.floor > 0:
                raise SpecificationError("floor needs floor_values. Fix: pass floor_values=.")
            v = np.zeros(len(ids))
        indptr, indices = _graph(w)
        eu, ev = _spanning_tree(x, indptr, indices)
        labels, _ = K.skater_cuts(x, eu, ev, int(self.n_regions), float(self.min_areas), v,
                                  float(self.floor))  # fmt: skip
        if labels.max() + 1 < self.n_regions:
            raise InfeasibleProblemError(
                f"Only {labels.max() + 1} of {self.n_regions} regions could be cut with at "
                f"least {self.min_areas} areas and floor {self.floor:g} each. Fix: lower "
                "n_regions=, min_areas= or floor=."
            )
        self._finish(labels, ids, x, n_regions=self.n_regions, min_areas=self.min_areas,
                     floor=self.floor)  # fmt: skip
        self.objective_ = _l1_to_means(x, self.labels_.to_numpy())
        return self


def _spanning_tree(x: np.ndarray, indptr: np.ndarray, indices: np.ndarray):
    """Minimum spanning forest of the graph weighted by cityblock distance, edges in the
    row-major order of SciPy's result (the order spopt scans them in)."""
    from scipy import sparse

    n = len(indptr) - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    d = np.abs(x[rows] - x[indices]).sum(axis=1)
    d = np.where(d > 0, d, np.finfo(float).tiny)  # a zero weight would drop the edge
    graph = sparse.csr_matrix((d, indices, indptr), shape=(n, n))
    tree = csgraph.minimum_spanning_tree(graph)
    eu, ev = tree.nonzero()
    return eu.astype(np.int64), ev.astype(np.int64)


def _l1_to_means(x: np.ndarray, labels: np.ndarray) -> float:
    total = 0.0
    for r in np.unique(labels):
        part = x[labels == r]
        total += float(np.abs(part - part.mean(axis=0)).sum())
    return total


class AZP(_Regions):
    """Automatic zoning: ``n_regions`` contiguous regions by local search (Openshaw 1977).

    Parameters
    ----------
    n_regions : int
        Number of regions.
    starts : int, default 8
        Random contiguous starting partitions; the best result is kept.
    rounds : int, default 10
        Simulated-annealing rounds from each start (tabu on reversals).
    rng : int, numpy.random.Generator or None
        Seed (None = 0).

    Attributes
    ----------
    labels_, n_regions_ : see :class:`MaxP`.
    objective_ : float
        Σ over regions of pairwise cityblock distances (spopt's ``ObjectiveFunctionPairwise``
        with the manhattan metric).
    """

    method = "AZP"

    def __init__(
        self,
        n_regions: int,
        *,
        starts: int = 8,
        rounds: int = 10,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        self.n_regions = n_regions
        self.starts = starts
        self.rounds = rounds
        self.rng = rng

    def fit(self, X: pd.DataFrame | np.ndarray, w: SpatialWeights) -> AZP:
        """Find ``n_regions`` regions minimising the pairwise dissimilarity."""
        x, _, ids = _inputs(X, w)
        indptr, indices = _graph(w)
        k = int(self.n_regions)
        n_comp = csgraph.connected_components(_csr(indptr, indices, len(ids)), directed=False)[0]
        if not n_comp <= k <= len(ids):
            raise SpecificationError(
                f"n_regions must lie between the number of connected groups of areas ({n_comp})"
                f" and the number of areas ({len(ids)}), got {k}. Fix: n_regions={max(n_comp, 2)}."
            )
        seed = resolve_rng(self.rng)
        starts = np.stack([K.grow_regions(indptr, indices, k, seed, s)
                           for s in range(int(self.starts))])  # fmt: skip
        if (starts < 0).any():
            raise SpecificationError(
                "A random start left a group of connected areas without a region. Fix: "
                "n_regions= at least the number of groups, or more starts=."
            )
        found, obj = K.search_many(indptr, indices, x, np.zeros(len(ids)), -1.0, starts, k,
                                   seed, int(self.rounds), min(len(ids), PATIENCE))  # fmt: skip
        self._finish(found[int(np.argmin(obj))], ids, x, n_regions=k, starts=self.starts,
                     rounds=self.rounds, seed=seed)  # fmt: skip
        self.objective_ = self.pairwise_l1_
        return self


class WardRegions(_Regions):
    """Ward's clustering with contiguity: merge only neighbouring clusters.

    Parameters
    ----------
    n_regions : int
        Number of regions.

    Attributes
    ----------
    labels_, n_regions_ : see :class:`MaxP`.
    objective_ : float
        Within-region sum of squares.

    Notes
    -----
    scikit-learn's ``AgglomerativeClustering(linkage="ward", connectivity=W)``, as spopt's
    ``WardSpatial``; deterministic. Regions are contiguous on a connected graph.
    """

    method = "Ward (contiguous)"

    def __init__(self, n_regions: int) -> None:
        self.n_regions = n_regions

    def fit(self, X: pd.DataFrame | np.ndarray, w: SpatialWeights) -> WardRegions:
        """Cluster the areas."""
        from sklearn.cluster import AgglomerativeClustering

        x, _, ids = _inputs(X, w)
        indptr, indices = _graph(w)
        model = AgglomerativeClustering(
            n_clusters=int(self.n_regions),
            connectivity=_csr(indptr, indices, len(ids)),
            linkage="ward",
        ).fit(x)
        self._finish(model.labels_, ids, x, n_regions=self.n_regions)
        self.objective_ = self.within_ss_
        return self


class SpectralRegions(_Regions):
    """Spectral clustering with contiguity: normalised cuts of the contiguity graph, each
    edge weighted by how similar its two areas are (spatially encouraged spectral clustering).

    Parameters
    ----------
    n_regions : int
        Number of regions.
    gamma : float, default 1.0
        Width of the similarity kernel: an edge between areas ``i`` and ``j`` weighs
        ``exp(-gamma · ‖x_i − x_j‖²)`` (on z-scored attributes).
    rng : int, numpy.random.Generator or None
        Seed of the eigen-solver's start vector and of the discretisation (None = 0).

    Attributes
    ----------
    labels_, n_regions_ : see :class:`MaxP`. Every region is contiguous. ``n_regions_`` can
        be smaller than ``n_regions`` when the discretisation leaves a cluster empty (spopt's
        does the same; the Seoul case with 12 gives 11 on seed 0).
    spectral_labels_ : Series
        The spectral assignment before contiguity is imposed (spopt ``Spenc``'s ``labels_``:
        the embedding can put distant areas with similar attributes in one cluster).
    fragments_ : int
        Pieces of ``spectral_labels_`` clusters that were not their cluster's largest
        connected part and were joined to a neighbouring region.
    embedding_ : ndarray
        The ``n × (n_regions + 1)`` spectral embedding (spopt's ``embedding_``).
    objective_ : float
        Within-region sum of squares.
    ncut_ : float
        Normalised cut of ``labels_`` on the weighted graph, ``Σ_r cut(r) / vol(r)``, the
        quantity spectral clustering relaxes; ``spectral_ncut_`` that of
        ``spectral_labels_``.

    Notes
    -----
    Affinity, Laplacian embedding and discretisation are those of spopt 0.7's ``Spenc``
    (``affinity="rbf"``, ``assign_labels="discretize"``): the similarity kernel times the
    binary contiguity matrix, the normalised Laplacian's leading eigenvectors by shift-invert
    ARPACK (start vector and discretisation drawn from ``RandomState(seed)``), divided by the
    square root of the degrees, signs fixed, then Yu & Shi's discretisation (scikit-learn's).
    The similarity is computed on the edges only (spopt computes the dense ``n × n`` kernel
    and multiplies it by the weights), so memory is ``O(edges)``. Spectral clusters are not
    always connected; each cluster keeps its largest connected part and the other parts
    (smallest first) join the neighbouring region whose mean is nearest (least increase of the
    within-region sum of squares), so that the result is a regionalisation.

    Examples
    --------
    >>> import numpy as np
    >>> from shapely import box
    >>> import geopandas as gpd
    >>> from dongne.weights import rook
    >>> cells = gpd.GeoDataFrame({"id": range(16)}, crs="EPSG:5179", geometry=[
    ...     box(i % 4, i // 4, i % 4 + 1, i // 4 + 1) for i in range(16)])
    >>> x = np.where(np.arange(16) % 4 < 2, 0.0, 3.0)   # west half vs east half
    >>> m = SpectralRegions(2, rng=0).fit(x, rook(cells, ids="id"))
    >>> m.labels_.to_numpy().reshape(4, 4).tolist()
    [[1, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 2]]
    """

    method = "spectral (contiguous)"

    def __init__(
        self,
        n_regions: int,
        *,
        gamma: float = 1.0,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        self.n_regions = n_regions
        self.gamma = gamma
        self.rng = rng

    def fit(self, X: pd.DataFrame | np.ndarray, w: SpatialWeights) -> SpectralRegions:
        """Cluster the areas, then make every region contiguous."""
        x, _, ids = _inputs(X, w)
        indptr, indices = _graph(w)
        k, n = int(self.n_regions), len(ids)
        if not 2 <= k < n:
            raise SpecificationError(
                f"n_regions must lie between 2 and the number of areas less one ({n - 1}), got "
                f"{k}. Fix: e.g. n_regions={min(max(2, n // 10), n - 1)}."
            )
        if not (isinstance(self.gamma, int | float) and np.isfinite(self.gamma) and self.gamma > 0):
            raise SpecificationError(f"gamma must be a positive number, got {self.gamma!r}. "
                                     "Fix: gamma=1.0.")  # fmt: skip
        seed = resolve_rng(self.rng, bits=32)
        affinity = _edge_affinity(x, indptr, indices, float(self.gamma))
        embedding = _embedding(affinity, k, seed)
        from sklearn.cluster._spectral import discretize

        raw = discretize(embedding.T, random_state=np.random.RandomState(seed))
        labels, fragments = _contiguous(raw, x, indptr, indices)
        self._finish(labels, ids, x, n_regions=k, gamma=float(self.gamma), seed=seed,
                     fragments=fragments)  # fmt: skip
        self.spectral_labels_ = pd.Series(raw + 1, index=ids, name="spectral_cluster")
        self.fragments_ = fragments
        self.embedding_ = embedding.T
        self.objective_ = self.within_ss_
        self.ncut_ = _ncut(affinity, self.labels_.to_numpy())
        self.spectral_ncut_ = _ncut(affinity, raw)
        return self


def _edge_affinity(x: np.ndarray, indptr: np.ndarray, indices: np.ndarray, gamma: float) -> Any:
    """``exp(-gamma ‖x_i − x_j‖²)`` on the contiguity edges only (sparse, symmetric)."""
    from scipy import sparse

    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    d2 = ((x[rows] - x[indices]) ** 2).sum(axis=1)
    return sparse.csr_array((np.exp(-gamma * d2), indices, indptr), shape=(len(x), len(x)))


def _embedding(affinity: Any, k: int, seed: int) -> np.ndarray:
    """spopt SPENC's ``_embed``: ``k + 1`` leading eigenvectors of the normalised affinity
    (shift-invert ARPACK), reversed, divided by √degree, signs made deterministic."""
    from scipy.sparse import linalg
    from sklearn.utils.extmath import _deterministic_vector_sign_flip

    laplacian, root_degree = csgraph.laplacian(affinity, normed=True, return_diag=True)
    laplacian = -laplacian
    v0 = np.random.RandomState(seed).uniform(-1, 1, laplacian.shape[0])
    _, vectors = linalg.eigsh(laplacian, which="LM", sigma=1, k=k, v0=v0, tol=1e-9)
    embedding = vectors.T[k::-1] / root_degree
    return _deterministic_vector_sign_flip(embedding)


def _contiguous(
    labels: np.ndarray, x: np.ndarray, indptr: np.ndarray, indices: np.ndarray
) -> tuple[np.ndarray, int]:
    """Each cluster keeps its largest connected part; the other parts, smallest first, join
    the neighbouring region whose mean is nearest to theirs."""
    n = len(labels)
    rows = np.repeat(np.arange(n), np.diff(indptr))
    same = labels[rows] == labels[indices]
    from scipy import sparse

    inner = sparse.csr_array((np.ones(int(same.sum())), (rows[same], indices[same])),
                             shape=(n, n))  # fmt: skip
    _, part = csgraph.connected_components(inner, directed=False)
    sizes = np.bincount(part)
    keep: dict[int, int] = {}
    for p in np.argsort(-sizes, kind="stable"):
        keep.setdefault(int(labels[np.flatnonzero(part == p)[0]]), int(p))
    region = labels.copy()
    kept = set(keep.values())
    loose = [int(p) for p in np.argsort(sizes, kind="stable") if int(p) not in kept]
    for p in loose:
        members = np.flatnonzero(part == p)
        around = {int(j) for i in members for j in indices[indptr[i]:indptr[i + 1]]
                  if part[j] != p}  # fmt: skip
        anchored = [j for j in around if int(part[j]) in kept]
        if not anchored:  # only other loose parts around: travel with the largest of them
            part[members] = max((int(part[j]) for j in around), key=lambda q: (sizes[q], -q))
            continue
        mean = x[members].mean(axis=0)
        best = min(
            {int(region[j]) for j in anchored},
            key=lambda r: (float(((x[region == r].mean(axis=0) - mean) ** 2).sum()), r),
        )
        region[members] = best
        part[members] = keep[best]
    return region, len(loose)


def _ncut(affinity: Any, labels: np.ndarray) -> float:
    """``Σ_r cut(r, rest) / vol(r)`` on a symmetric affinity matrix."""
    a = affinity.tocoo()
    degree = np.asarray(affinity.sum(axis=1)).ravel()
    total = 0.0
    for r in np.unique(labels):
        inside = labels == r
        cut = float(a.data[inside[a.row] & ~inside[a.col]].sum())
        total += cut / float(degree[inside].sum())
    return total
