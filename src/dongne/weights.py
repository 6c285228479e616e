"""Spatial weights: who is a neighbour of whom, stored as a compact sparse matrix.

Builders (pure functions returning :class:`SpatialWeights`):

* :func:`queen` and :func:`rook` — contiguity of polygons, with an optional snapping
  tolerance that closes sliver gaps;
* :func:`knn` — the ``k`` nearest neighbours of each point or polygon centroid;
* :func:`distance_band` — every unit within a distance threshold, binary or inverse distance;
* :func:`kernel` — kernel weights with a fixed or adaptive bandwidth.

Weights are held as a ``scipy.sparse.csr_array`` (rows = focal units, columns = neighbours,
float64, sorted column indices). A dense ``n × n`` matrix is never built. Statistic kernels
take the three CSR arrays :attr:`SpatialWeights.indptr`, :attr:`SpatialWeights.indices` and
:attr:`SpatialWeights.weights`: the neighbours of row ``i`` are
``indices[indptr[i]:indptr[i + 1]]`` with weights ``weights[indptr[i]:indptr[i + 1]]``.

Islands (units with no neighbour) and disconnected components are reported at build time with a
:class:`~dongne.errors.DongneWarning` and in :meth:`SpatialWeights.summary`; they are never
dropped or silently linked. :meth:`SpatialWeights.attach_islands` links each island to its
nearest area on request.

References
----------
.. [1] Anselin, L. (1988). *Spatial Econometrics: Methods and Models*. Kluwer, ch. 3.
.. [2] Anselin, L., & Rey, S. J. (2014). *Modern Spatial Econometrics in Practice*. GeoDa Press,
   ch. 3 (contiguity, distance and kernel weights; kernel functions p. 78).
.. [3] Rey, S. J., & Anselin, L. (2007). PySAL: A Python library of spatial analytical methods.
   *The Review of Regional Studies*, 37(1), 5-27. (``libpysal``, used for contiguity.)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import KDTree

from dongne._warnings import user_stacklevel
from dongne.errors import (
    DongneWarning,
    GeometryError,
    SpecificationError,
    format_rows,
    rewrite_fix_arguments,
)
from dongne.io.crs import require_crs, require_projected, to_metric

if TYPE_CHECKING:
    from libpysal.graph import Graph

__all__ = [
    "SpatialWeights",
    "distance_band",
    "from_spec",
    "kernel",
    "knn",
    "queen",
    "rook",
]

Transform = Literal["binary", "row", "none"]
KernelFunction = Literal["triangular", "uniform", "quadratic", "quartic", "gaussian"]

_TRANSFORMS = ("binary", "row", "none")

#: With a snapping tolerance, rook neighbours must have boundaries that run within ``snap`` of
#: each other over more than this many times ``snap`` (see the Notes of :func:`rook`).
_ROOK_MIN_SHARED = 4.0

#: A k-nearest-neighbour distance is widened by this factor when it becomes a kernel bandwidth,
#: so that the k-th neighbour lies inside the support with a small positive weight. This is the
#: ``eps`` of ``libpysal.weights.Kernel``; keeping it makes the weights identical to libpysal's.
_KNN_BANDWIDTH_EPS = 1.0000001

#: Mean number of neighbours above which a distance band is reported as too wide.
_MAX_MEAN_CARDINALITY = 200

#: Number of nonzero weights above which a distance band is refused before it is built
#: (about 1.2 GB of CSR arrays, more while building).
_MAX_NNZ = 100_000_000


def _triangular(z: np.ndarray) -> np.ndarray:
    return 1.0 - z


def _uniform(z: np.ndarray) -> np.ndarray:
    return np.full_like(z, 0.5)


def _quadratic(z: np.ndarray) -> np.ndarray:
    return 0.75 * (1.0 - z**2)


def _quartic(z: np.ndarray) -> np.ndarray:
    return (15.0 / 16.0) * (1.0 - z**2) ** 2


def _gaussian(z: np.ndarray) -> np.ndarray:
    return np.exp(-(z**2) / 2.0) / np.sqrt(2.0 * np.pi)


_KERNELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "triangular": _triangular,
    "uniform": _uniform,
    "quadratic": _quadratic,
    "quartic": _quartic,
    "gaussian": _gaussian,
}


class SpatialWeights:
    """Spatial weights of ``n`` units as a sparse row-compressed (CSR) matrix.

    Build with :func:`queen`, :func:`rook`, :func:`knn`, :func:`distance_band`, :func:`kernel`
    or :meth:`from_sparse`. The object is immutable: transforms return new objects.

    Parameters
    ----------
    matrix : scipy.sparse array or matrix, shape (n, n)
        Weight of neighbour ``j`` (column) for focal unit ``i`` (row). Explicit zeros are
        dropped, duplicate entries summed, indices sorted and values cast to float64.
        Weights must be finite and non-negative. Diagonal entries are self-weights (kernel
        weights keep them); they are weights, not neighbours.
    ids : sequence of hashable, length n
        Unique identifiers of the units, in row order.
    kind : str
        How the weights were built (``"queen"``, ``"rook"``, ``"knn"``, ``"distance_band"``,
        ``"kernel"``, ``"custom"``).
    transform : {"binary", "row", "none"}
        ``"binary"``: every stored weight is 1; ``"row"``: each row sums to 1 (rows of islands
        are all zero); ``"none"``: raw values (kernel or inverse-distance weights).
    params : mapping, optional
        Builder arguments, kept for provenance.

    Attributes
    ----------
    ids : pandas.Index
        Unit identifiers in row order.
    kind : str
        See Parameters.
    transform : str
        See Parameters.
    params : dict
        See Parameters (a copy).

    Raises
    ------
    SpecificationError
        If the matrix is not sparse or not square, ``ids`` do not match it or repeat, a weight is
        negative or not finite, or the values contradict ``transform``.

    See Also
    --------
    queen, rook, knn, distance_band, kernel

    Notes
    -----
    The CSR layout is the input of statistic kernels: for row ``i`` the neighbours are
    ``indices[indptr[i]:indptr[i + 1]]`` (sorted) and their weights
    ``weights[indptr[i]:indptr[i + 1]]``; the spatial lag is ``(W @ y)[i]``. Memory is
    ``O(n + nnz)``; no method builds a dense ``n × n`` array.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> m = sparse.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]))
    >>> w = SpatialWeights.from_sparse(m, ["a", "b", "c"], transform="binary")
    >>> w.cardinalities
    array([1, 2, 1])
    >>> list(w.neighbours("b"))
    ['a', 'c']
    >>> w.row_standardised().weights
    array([1. , 0.5, 0.5, 1. ])
    """

    def __init__(
        self,
        matrix: sparse.sparray | sparse.spmatrix,
        ids: Sequence[Hashable] | pd.Index,
        kind: str,
        transform: Transform,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        if not sparse.issparse(matrix):
            raise SpecificationError(
                f"matrix must be a scipy.sparse array, got {type(matrix).__name__}. dongne never "
                "stores dense n × n weights. Fix: pass scipy.sparse.csr_array(matrix)."
            )
        m = sparse.csr_array(matrix, dtype=np.float64, copy=True)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise SpecificationError(f"matrix must be square (n × n), got shape {m.shape}.")
        m.sum_duplicates()
        m.eliminate_zeros()
        m.sort_indices()
        index_dtype = np.int32 if max(m.nnz, m.shape[0]) < np.iinfo(np.int32).max else np.int64
        m.indices = m.indices.astype(index_dtype, copy=False)
        m.indptr = m.indptr.astype(index_dtype, copy=False)
        if not np.isfinite(m.data).all():
            raise SpecificationError("matrix has infinite or NaN weights; weights must be finite.")
        if (m.data < 0).any():
            raise SpecificationError("matrix has negative weights; weights must be non-negative.")
        index = pd.Index(ids)
        if len(index) != m.shape[0]:
            raise SpecificationError(
                f"ids has {len(index)} entries but the matrix has {m.shape[0]} rows; "
                "give one id per row, in row order."
            )
        _check_unique(index)
        if transform not in _TRANSFORMS:
            raise SpecificationError(
                f"The 'transform' parameter must be one of {_TRANSFORMS}. Got {transform!r}."
            )
        if transform == "binary" and not (m.data == 1.0).all():
            raise SpecificationError(
                "transform='binary' but some weights differ from 1. Fix: pass "
                "transform='none', then call .binary() if 0/1 weights are wanted."
            )
        if transform == "row":
            sums = m.sum(axis=1)
            if not np.allclose(sums[m.indptr[1:] > m.indptr[:-1]], 1.0, rtol=0, atol=1e-9):
                raise SpecificationError(
                    "transform='row' but some rows do not sum to 1. Fix: pass transform='none', "
                    "then call .row_standardised()."
                )
        self._matrix = m
        self._ids = index
        self._kind = str(kind)
        self._transform: Transform = transform
        self._params: dict[str, Any] = dict(params or {})

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_sparse(
        cls,
        matrix: sparse.sparray | sparse.spmatrix,
        ids: Sequence[Hashable] | pd.Index,
        *,
        kind: str = "custom",
        transform: Transform = "none",
        params: Mapping[str, Any] | None = None,
    ) -> SpatialWeights:
        """Wrap a sparse weights matrix built elsewhere.

        Parameters
        ----------
        matrix : scipy.sparse array or matrix, shape (n, n)
            Any sparse format; converted to CSR float64 (a copy).
        ids : sequence of hashable, length n
            Unique unit identifiers in row order.
        kind : str, default "custom"
            Label recorded in :attr:`kind`.
        transform : {"binary", "row", "none"}, default "none"
            What the values are; checked against the data.
        params : mapping, optional
            Provenance.

        Returns
        -------
        SpatialWeights

        Raises
        ------
        SpecificationError
            See :class:`SpatialWeights`.

        Examples
        --------
        >>> from scipy import sparse
        >>> m = sparse.coo_array(([1.0, 1.0], ([0, 1], [1, 0])), shape=(3, 3))
        >>> w = SpatialWeights.from_sparse(m, [10, 20, 30], transform="binary")
        >>> list(w.islands)
        [30]
        """
        return cls(matrix, ids, kind=kind, transform=transform, params=params)

    # ------------------------------------------------------------------ basic attributes
    @property
    def ids(self) -> pd.Index:
        """Unit identifiers in row order (:class:`pandas.Index`)."""
        return self._ids

    @property
    def kind(self) -> str:
        """How the weights were built (``"queen"``, ``"knn"``, ...)."""
        return self._kind

    @property
    def transform(self) -> Transform:
        """``"binary"``, ``"row"`` (row-standardised) or ``"none"`` (raw values)."""
        return self._transform

    @property
    def params(self) -> dict[str, Any]:
        """Builder arguments and provenance (a shallow copy)."""
        return dict(self._params)

    @property
    def n(self) -> int:
        """Number of units."""
        return self._matrix.shape[0]

    @property
    def indptr(self) -> np.ndarray:
        """CSR row pointers, shape (n + 1,), read-only (int32, or int64 beyond 2**31 entries)."""
        return _read_only(self._matrix.indptr)

    @property
    def indices(self) -> np.ndarray:
        """CSR column (neighbour) positions, shape (nnz,), sorted within rows, read-only.

        Same integer dtype as :attr:`indptr`.
        """
        return _read_only(self._matrix.indices)

    @property
    def weights(self) -> np.ndarray:
        """CSR weight values, float64, shape (nnz,), aligned with :attr:`indices`, read-only."""
        return _read_only(self._matrix.data)

    @cached_property
    def _row_of_entry(self) -> np.ndarray:
        return np.repeat(np.arange(self.n), np.diff(self._matrix.indptr))

    @cached_property
    def _self_entry(self) -> np.ndarray:
        return self._matrix.indices == self._row_of_entry

    @property
    def cardinalities(self) -> np.ndarray:
        """Number of neighbours of each unit, in row order (self-weights not counted)."""
        counts = np.diff(self._matrix.indptr)
        selfs = np.bincount(self._row_of_entry[self._self_entry], minlength=self.n)
        return (counts - selfs).astype(np.int64)

    @property
    def islands(self) -> pd.Index:
        """Ids of units without any neighbour, in row order."""
        return self._ids[self.cardinalities == 0]

    @cached_property
    def _components(self) -> tuple[int, np.ndarray]:
        n_comp, labels = csgraph.connected_components(
            self._matrix, directed=True, connection="weak"
        )
        return int(n_comp), labels

    @property
    def n_components(self) -> int:
        """Number of connected components of the symmetrised graph (islands count as one each)."""
        return self._components[0]

    @property
    def component_labels(self) -> np.ndarray:
        """Component number (0, 1, ...) of each unit, in row order."""
        return self._components[1].copy()

    def neighbours(self, unit_id: Hashable) -> pd.Index:
        """Return the ids of the neighbours of unit ``unit_id`` (the unit itself excluded).

        Parameters
        ----------
        unit_id : hashable
            A value of :attr:`ids`.

        Returns
        -------
        pandas.Index
            Neighbour ids in row order; empty for an island.

        Raises
        ------
        SpecificationError
            If ``unit_id`` is not one of the unit ids.
        """
        try:
            pos = self._ids.get_loc(unit_id)
        except KeyError:
            raise SpecificationError(f"{unit_id!r} is not one of the {self.n} unit ids.") from None
        cols = self._matrix.indices[self._matrix.indptr[pos] : self._matrix.indptr[pos + 1]]
        return self._ids[cols[cols != pos]]

    def __repr__(self) -> str:
        return (
            f"SpatialWeights(kind={self._kind!r}, n={self.n}, transform={self._transform!r}, "
            f"nnz={self._matrix.nnz})"
        )

    # ------------------------------------------------------------------ transforms
    def _replace(self, data: np.ndarray, transform: Transform) -> SpatialWeights:
        m = sparse.csr_array(
            (data, self._matrix.indices.copy(), self._matrix.indptr.copy()),
            shape=self._matrix.shape,
        )
        return SpatialWeights(m, self._ids, self._kind, transform, self._params)

    def row_standardised(self) -> SpatialWeights:
        """Return the row-standardised weights: each row divided by its sum.

        Returns
        -------
        SpatialWeights
            ``transform="row"``; rows of islands stay all zero (their spatial lag is 0).

        Notes
        -----
        :math:`w^{(r)}_{ij} = w_{ij} / \\sum_k w_{ik}`. Self-weights, if present, are part of
        the row sum.
        """
        sums = self._matrix.sum(axis=1)
        scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums != 0)
        return self._replace(self._matrix.data * scale[self._row_of_entry], "row")

    def binary(self) -> SpatialWeights:
        """Return the binary weights: every stored (nonzero) weight set to 1.

        Returns
        -------
        SpatialWeights
            ``transform="binary"``. Self-weights, if present, also become 1.
        """
        return self._replace(np.ones(self._matrix.nnz), "binary")

    def attach_islands(
        self, areas: gpd.GeoDataFrame | gpd.GeoSeries, *, ids: str | None = None
    ) -> SpatialWeights:
        """Link every island to its nearest area, in both directions.

        Parameters
        ----------
        areas : GeoDataFrame or GeoSeries
            The geometries the weights were built from, with a CRS. Distances are measured
            between geometries (not centroids) in a metric CRS: the data's own if projected in
            metres, otherwise EPSG:5179 inside Korea or the local UTM zone
            (:func:`dongne.io.crs.to_metric`).
        ids : str, optional
            Column holding the unit ids. By default the column used to build the weights
            (``params["ids"]``), or the index.

        Returns
        -------
        SpatialWeights
            Binary weights where each former island ``i`` and its nearest area ``j`` are
            neighbours of each other (all equally near areas when there are exact ties).
            ``params["attached_islands"]`` maps each island id to ``(neighbour ids, distance
            in metres)``. Disconnected groups of several areas stay disconnected; a
            :class:`~dongne.errors.DongneWarning` reports them.

        Raises
        ------
        SpecificationError
            If the weights are not binary (attach before transforming:
            ``w.attach_islands(areas).row_standardised()``), or ``areas`` does not hold
            exactly the units of the weights.
        GeometryError
            If ``areas`` has no CRS or missing/empty geometries.

        Notes
        -----
        All islands are attached from the original graph at once, so two islands that are each
        other's nearest area become a pair. The nearest area is found with
        ``shapely.STRtree.query_nearest`` (excluding the island itself).

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import box
        >>> areas = gpd.GeoDataFrame(
        ...     {"code": ["a", "b", "far"]},
        ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(10, 0, 11, 1)],
        ...     crs="EPSG:5179",
        ... )
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     w = queen(areas, ids="code")
        >>> list(w.islands)
        ['far']
        >>> w2 = w.attach_islands(areas)
        >>> list(w2.neighbours("far")), w2.params["attached_islands"]
        (['b'], {'far': (('b',), 8.0)})
        """
        if self._transform != "binary":
            raise SpecificationError(
                f"attach_islands needs binary weights, these are transform={self._transform!r}. "
                "Fix: attach first, then transform: w.attach_islands(areas).row_standardised()."
            )
        column = ids if ids is not None else self._params.get("ids")
        frame = _as_frame(areas)
        require_crs(frame, "areas")
        frame_ids = _frame_ids(frame, column)
        missing = self._ids.difference(frame_ids)
        extra = frame_ids.difference(self._ids)
        if len(missing) or len(extra):
            raise SpecificationError(
                "areas must hold exactly the units of the weights. "
                + (f"Missing from areas: {format_rows(missing)}. " if len(missing) else "")
                + (f"Not in the weights: {format_rows(extra)}. " if len(extra) else "")
                + "Fix: pass the GeoDataFrame the weights were built from (and ids=<column>)."
            )
        order = frame_ids.get_indexer(self._ids)
        geoms = _geometries(to_metric(frame, "areas"), self._ids, order)
        island_pos = np.flatnonzero(self.cardinalities == 0)
        if len(island_pos) and self.n < 2:
            raise SpecificationError("There is only one area: it has nothing to attach to.")
        tree = shapely.STRtree(geoms)
        (src, dst), dist = tree.query_nearest(
            geoms[island_pos], all_matches=True, exclusive=True, return_distance=True
        )
        src = island_pos[src]
        keep = src != dst
        src, dst, dist = src[keep], dst[keep], dist[keep]
        attached: dict[Hashable, tuple[tuple[Hashable, ...], float]] = {}
        for pos in island_pos:
            here = src == pos
            attached[self._ids[pos]] = (
                tuple(self._ids[np.sort(dst[here])]),
                float(dist[here].min()) if here.any() else float("nan"),
            )
        coo = self._matrix.tocoo()
        rows = np.concatenate([coo.row, src, dst])
        cols = np.concatenate([coo.col, dst, src])
        m = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=self._matrix.shape)
        m.data[:] = 1.0  # links found from both ends are summed by the constructor
        w = SpatialWeights(m, self._ids, self._kind, "binary", self._params)
        w._params["attached_islands"] = attached
        _warn_structure(w)
        return w

    # ------------------------------------------------------------------ export
    def to_sparse(self) -> sparse.csr_array:
        """Return a copy of the weights as a ``scipy.sparse.csr_array`` (float64, n × n)."""
        return self._matrix.copy()

    def to_frame(self) -> pd.DataFrame:
        """Return the weights as a tidy adjacency list.

        Returns
        -------
        pandas.DataFrame
            Columns ``focal``, ``neighbour`` (unit ids) and ``weight``, one row per nonzero
            weight, ordered by focal unit (row order) then neighbour. Islands have no row
            (see :attr:`islands`); self-weights appear with ``focal == neighbour``.
        """
        return pd.DataFrame(
            {
                "focal": self._ids[self._row_of_entry],
                "neighbour": self._ids[self._matrix.indices],
                "weight": self._matrix.data.copy(),
            }
        )

    def to_libpysal(self) -> Graph:
        """Return the weights as a ``libpysal.graph.Graph``.

        The modern ``Graph`` class of libpysal (not the legacy ``W``; call ``.to_W()`` on the
        result if a ``W`` is needed). Islands are encoded the libpysal way, as a self-loop of
        weight 0. The transformation is ``"B"``, ``"R"`` or ``"O"`` for binary, row and none.

        Returns
        -------
        libpysal.graph.Graph
        """
        from libpysal.graph import Graph

        graph = Graph.from_sparse(self._matrix, ids=self._ids.to_numpy())
        code = {"binary": "B", "row": "R", "none": "O"}[self._transform]
        return Graph(graph.adjacency, transformation=code, is_sorted=True)

    def summary(self) -> str:
        """Describe the weights in plain English.

        Returns
        -------
        str
            Several lines: kind and size, transform, neighbours per unit (mean, min, max),
            islands by id, connected components and their sizes, share of nonzero weights, and
            provenance such as centroid use and attached islands.
        """
        card = self.cardinalities
        n = self.n
        lines = [f"Spatial weights: {_KIND_TEXT.get(self._kind, self._kind)}, {n:,} units."]
        id_col = self._params.get("ids")
        if id_col is not None:
            lines.append(f"Unit ids: column '{id_col}'.")
        shown = {k: v for k, v in self._params.items() if k not in _NOT_SHOWN}
        if shown:
            lines.append("Parameters: " + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ".")
        lines.append(f"Transform: {_TRANSFORM_TEXT[self._transform]}.")
        if n:
            lines.append(
                f"Neighbours per unit: mean {card.mean():.2f}, min {card.min()}, max {card.max()}."
            )
        if self._self_entry.any():
            lines.append(f"Self-weights on the diagonal: {int(self._self_entry.sum()):,} units.")
        islands = self.islands
        lines.append(
            f"Islands (no neighbour): {len(islands)}"
            + (f": {format_rows(islands)}." if len(islands) else ".")
        )
        sizes = np.sort(np.bincount(self._components[1]))[::-1] if n else np.array([])
        lines.append(
            f"Connected components: {self.n_components}"
            + (f" (sizes {format_rows(sizes)})." if self.n_components > 1 else ".")
        )
        pct = 100.0 * self._matrix.nnz / (n * n) if n else 0.0
        lines.append(f"Nonzero weights: {self._matrix.nnz:,} of {n * n:,} ({pct:.3g} %).")
        if self._params.get("points") == "centroid":
            lines.append(
                "Distances: between polygon centroids (computed in the projected CRS "
                f"{self._params.get('crs')})."
            )
        elif self._params.get("points") == "point":
            lines.append(f"Distances: between points, in metres ({self._params.get('crs')}).")
        attached = self._params.get("attached_islands")
        if attached:
            links = [
                f"{k} -> {', '.join(map(str, nb))} ({d:,.0f} m)" for k, (nb, d) in attached.items()
            ]
            lines.append(f"Islands attached to their nearest area: {format_rows(links)}.")
        return "\n".join(lines)


_NOT_SHOWN = {"ids", "points", "crs", "bandwidths", "attached_islands"}
_KIND_TEXT = {
    "queen": "queen contiguity (shared boundary point)",
    "rook": "rook contiguity (shared boundary edge)",
    "knn": "k nearest neighbours",
    "distance_band": "distance band",
    "kernel": "kernel",
}
_TRANSFORM_TEXT = {
    "binary": "binary (each neighbour has weight 1)",
    "row": "row-standardised (each unit's weights sum to 1; islands 0)",
    "none": "none (raw kernel or distance values)",
}


# ---------------------------------------------------------------------- builders
def queen(
    areas: gpd.GeoDataFrame | gpd.GeoSeries, *, ids: str | None = None, snap: float = 0.0
) -> SpatialWeights:
    """Queen contiguity: areas sharing at least one boundary point are neighbours.

    Parameters
    ----------
    areas : GeoDataFrame or GeoSeries
        Polygons or MultiPolygons, in any CRS (a projected CRS in metres when ``snap > 0``).
    ids : str, optional
        Column holding unique area ids; by default the index.
    snap : float, default 0.0
        Snapping tolerance in metres. With ``snap > 0`` two areas are neighbours when they lie
        within ``snap`` of each other, which closes sliver gaps and overlaps left by digitising.

    Returns
    -------
    SpatialWeights
        Binary, symmetric, ``kind="queen"``.

    Raises
    ------
    SpecificationError
        If ids repeat or are missing, or ``snap`` is negative.
    GeometryError
        If a geometry is missing, empty or not polygonal; if ``snap > 0`` and the CRS is not
        projected in metres or a polygon is invalid.

    Warns
    -----
    DongneWarning
        If some areas are islands or the graph has several components.

    See Also
    --------
    rook, SpatialWeights.attach_islands

    Notes
    -----
    With ``snap=0`` this is libpysal's vertex rule
    (``libpysal.graph.Graph.build_contiguity(..., rook=False, strict=False)``): neighbours share
    a vertex. It expects a clean coverage (shared boundaries digitised with the same vertices),
    as official boundary files are. With ``snap > 0`` the test is geometric,
    ``shapely.dwithin(a, b, snap)`` through an STRtree, and does not depend on vertices.

    References
    ----------
    .. [1] Anselin, L. (1988). *Spatial Econometrics: Methods and Models*. Kluwer, ch. 3.
    .. [2] libpysal ``Graph.build_contiguity``, https://pysal.org/libpysal/.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> grid = gpd.GeoDataFrame(
    ...     geometry=[box(x, y, x + 1, y + 1) for y in range(3) for x in range(3)]
    ... )
    >>> queen(grid).cardinalities
    array([3, 5, 3, 5, 8, 5, 3, 5, 3])
    """
    return _contiguity(areas, ids=ids, snap=snap, rook=False)


def rook(
    areas: gpd.GeoDataFrame | gpd.GeoSeries, *, ids: str | None = None, snap: float = 0.0
) -> SpatialWeights:
    """Rook contiguity: areas sharing a boundary segment of positive length are neighbours.

    Parameters
    ----------
    areas : GeoDataFrame or GeoSeries
        Polygons or MultiPolygons, in any CRS (a projected CRS in metres when ``snap > 0``).
    ids : str, optional
        Column holding unique area ids; by default the index.
    snap : float, default 0.0
        Snapping tolerance in metres (see Notes).

    Returns
    -------
    SpatialWeights
        Binary, symmetric, ``kind="rook"``.

    Raises
    ------
    SpecificationError
        If ids repeat or are missing, or ``snap`` is negative.
    GeometryError
        If a geometry is missing, empty or not polygonal; if ``snap > 0`` and the CRS is not
        projected in metres or a polygon is invalid.

    Warns
    -----
    DongneWarning
        If some areas are islands or the graph has several components.

    See Also
    --------
    queen, SpatialWeights.attach_islands

    Notes
    -----
    With ``snap=0`` this is libpysal's vertex rule (``strict=False``): neighbours share an edge,
    i.e. two consecutive vertices.

    With ``snap > 0``, let :math:`L_{ij}` be the length of the boundary of :math:`i` lying within
    ``snap`` of :math:`j`. Areas are rook neighbours when
    :math:`\\min(L_{ij}, L_{ji}) > 4\\,\\mathrm{snap}`. The factor comes from corners: two areas
    that meet (or nearly meet) at a single point have :math:`L = \\mathrm{snap}\\,(1/\\sin\\alpha
    + 1/\\sin\\beta)`, where :math:`\\alpha, \\beta` are the angles between the edges that meet
    there; this is :math:`2\\,\\mathrm{snap}` for a square grid and stays below
    :math:`4\\,\\mathrm{snap}` while both angles exceed 30° (the largest value on the Seoul dong
    map is :math:`3.4\\,\\mathrm{snap}`). A shared edge of length :math:`\\ell` gives about
    :math:`\\ell + 2\\,\\mathrm{snap}`. Hence edges shorter than about ``2 * snap`` are read as
    corners: choose ``snap`` well below the shortest shared edge that matters (for 1 cm slivers,
    ``snap=0.05`` is plenty).

    References
    ----------
    .. [1] Anselin, L. (1988). *Spatial Econometrics: Methods and Models*. Kluwer, ch. 3.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> grid = gpd.GeoDataFrame(
    ...     geometry=[box(x, y, x + 1, y + 1) for y in range(3) for x in range(3)]
    ... )
    >>> rook(grid).cardinalities
    array([2, 3, 2, 3, 4, 3, 2, 3, 2])
    """
    return _contiguity(areas, ids=ids, snap=snap, rook=True)


def knn(
    data: gpd.GeoDataFrame | gpd.GeoSeries, k: int, *, ids: str | None = None
) -> SpatialWeights:
    """K nearest neighbours: each unit's ``k`` closest units are its neighbours.

    Parameters
    ----------
    data : GeoDataFrame or GeoSeries
        Points, or polygons (their centroids are used), in a projected CRS in metres.
    k : int
        Number of neighbours, ``1 <= k < n``.
    ids : str, optional
        Column holding unique ids; by default the index.

    Returns
    -------
    SpatialWeights
        Binary, ``kind="knn"``, exactly ``k`` neighbours per unit; in general **not**
        symmetric. ``params["points"]`` is ``"point"`` or ``"centroid"``.

    Raises
    ------
    SpecificationError
        If ``k`` is not an integer in ``[1, n)``, or ids repeat or are missing.
    GeometryError
        If the CRS is missing, geographic or not in metres, or a geometry is missing, empty,
        or neither a point nor a polygon.

    Warns
    -----
    DongneWarning
        If the (symmetrised) graph has several components.

    See Also
    --------
    distance_band, kernel

    Notes
    -----
    Uses ``scipy.spatial.KDTree.query`` with ``k + 1`` (the unit itself is dropped). Ties at the
    ``k``-th distance, including coincident points, are broken by the tree's order, which is
    deterministic for given data. For polygons the distance is between centroids computed in
    the data's projected CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> pts = gpd.GeoDataFrame(
    ...     geometry=gpd.points_from_xy([0, 1, 3, 7], [0, 0, 0, 0]), crs="EPSG:5179"
    ... )
    >>> w = knn(pts, k=1)
    >>> [list(w.neighbours(i)) for i in w.ids]
    [[1], [0], [1], [2]]
    """
    coords, index, points, crs = _points(data, ids, "k-nearest-neighbour weights")
    n = len(coords)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k < n:
        raise SpecificationError(
            f"The 'k' parameter of knn must be an integer with 1 <= k < n = {n}. Got {k!r}."
        )
    k = int(k)
    _, idx = KDTree(coords).query(coords, k=k + 1, workers=-1)
    is_self = idx == np.arange(n)[:, None]
    keep = ~is_self
    keep[~is_self.any(axis=1), -1] = False  # self hidden among > k coincident points
    cols = idx[keep]
    rows = np.repeat(np.arange(n), k)
    w = SpatialWeights(
        _csr(rows, cols, np.ones(len(rows)), n),
        index,
        "knn",
        "binary",
        {"ids": ids, "k": k, "points": points, "crs": crs},
    )
    _warn_structure(w)
    return w


def distance_band(
    data: gpd.GeoDataFrame | gpd.GeoSeries,
    threshold: float,
    *,
    ids: str | None = None,
    binary: bool = True,
    alpha: float = -1.0,
) -> SpatialWeights:
    """Distance band: units within ``threshold`` metres of each other are neighbours.

    Parameters
    ----------
    data : GeoDataFrame or GeoSeries
        Points, or polygons (their centroids are used), in a projected CRS in metres.
    threshold : float
        Distance in metres (inclusive: ``d <= threshold``); must be positive.
    ids : str, optional
        Column holding unique ids; by default the index.
    binary : bool, default True
        ``True``: weight 1 for every neighbour. ``False``: inverse-distance weights
        :math:`d_{ij}^{\\alpha}` (``transform="none"``).
    alpha : float, default -1.0
        Negative distance-decay exponent, used when ``binary=False`` (-1 inverse distance,
        -2 gravity).

    Returns
    -------
    SpatialWeights
        Symmetric, ``kind="distance_band"``. ``params["points"]`` is ``"point"`` or
        ``"centroid"``.

    Raises
    ------
    SpecificationError
        If ``threshold <= 0``, ``alpha >= 0``, ids repeat or are missing; if no unit has a
        neighbour within ``threshold``; if the band would hold more than 100 million weights;
        if ``binary=False`` and two units coincide (distance 0).
    GeometryError
        If the CRS is missing, geographic or not in metres, or a geometry is missing, empty,
        or neither a point nor a polygon.

    Warns
    -----
    DongneWarning
        If some units are islands (the message gives the threshold that avoids them), the
        graph has several components, or the mean number of neighbours exceeds 200.

    See Also
    --------
    knn : a fixed number of neighbours, never islands, robust to uneven density.

    Notes
    -----
    Pairs come from ``scipy.spatial.KDTree.query_pairs``; the number of pairs is counted first
    (``KDTree.count_neighbors``), so a band that is far too wide is refused before any memory
    is used. A threshold chosen as the largest nearest-neighbour distance gives every unit a
    neighbour but can give dense areas hundreds of neighbours (GeoDa issue #513); with uneven
    density prefer :func:`knn`.

    Examples
    --------
    >>> import geopandas as gpd
    >>> pts = gpd.GeoDataFrame(
    ...     geometry=gpd.points_from_xy([0, 100, 250], [0, 0, 0]), crs="EPSG:5179"
    ... )
    >>> distance_band(pts, 150).cardinalities
    array([1, 2, 1])
    >>> distance_band(pts, 150, binary=False).weights
    array([0.01      , 0.01      , 0.00666667, 0.00666667])
    """
    if not np.isfinite(threshold) or threshold <= 0:
        raise SpecificationError(
            f"The 'threshold' parameter of distance_band must be a positive distance in "
            f"metres. Got {threshold!r}."
        )
    if not binary and not (np.isfinite(alpha) and alpha < 0):
        raise SpecificationError(
            f"The 'alpha' parameter of distance_band must be negative (-1 inverse distance, "
            f"-2 gravity). Got {alpha!r}."
        )
    coords, index, points, crs = _points(data, ids, "distance-band weights")
    n = len(coords)
    tree = KDTree(coords)
    n_links = int(tree.count_neighbors(tree, threshold)) - n
    if n_links == 0:
        nn = _nearest_distances(tree, coords)
        raise SpecificationError(
            f"No unit has a neighbour within {threshold:g} m: every unit would be an island. "
            f"Nearest-neighbour distances range from {nn.min():,.1f} to {nn.max():,.1f} m "
            "(metres, not km or degrees). Fix: pass "
            f"threshold={math.ceil(nn.max())} so that every unit has a neighbour, or use "
            "knn(data, k) for a fixed number of neighbours."
        )
    if n_links > _MAX_NNZ:
        raise SpecificationError(
            f"threshold={threshold:g} m would link {n_links:,} pairs "
            f"({n_links / n:,.0f} neighbours per unit on average), too many to store. Fix: use "
            "knn(data, k) or a smaller threshold."
        )
    if n_links / n > _MAX_MEAN_CARDINALITY:
        warnings.warn(
            f"threshold={threshold:g} m gives {n_links / n:,.0f} neighbours per unit on "
            "average; statistics on such weights are slow and smooth away local structure. "
            "Consider knn(data, k) or a smaller threshold.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
    pairs = tree.query_pairs(threshold, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    if binary:
        values = np.ones(len(i))
    else:
        d = np.hypot(*(coords[i] - coords[j]).T)
        if (d == 0).any():
            same = [f"{index[a]}={index[b]}" for a, b in zip(i[d == 0], j[d == 0], strict=True)]
            raise SpecificationError(
                f"Inverse-distance weights are infinite for coincident units: "
                f"{format_rows(same)}. Fix: use binary=True, or merge or jitter those points."
            )
        values = d**alpha
    w = SpatialWeights(
        _csr(np.concatenate([i, j]), np.concatenate([j, i]), np.tile(values, 2), n),
        index,
        "distance_band",
        "binary" if binary else "none",
        {
            "ids": ids,
            "threshold": float(threshold),
            "binary": bool(binary),
            "alpha": float(alpha),
            "points": points,
            "crs": crs,
        },
    )
    hint = None
    if (w.cardinalities == 0).any():
        nn = _nearest_distances(tree, coords)
        hint = f"threshold >= {nn.max():,.1f} m would leave no island."
    _warn_structure(w, hint=hint)
    return w


def kernel(
    data: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    bandwidth: float | None = None,
    k: int | None = None,
    ids: str | None = None,
    function: KernelFunction = "triangular",
    fixed: bool = True,
    include_self: bool = True,
) -> SpatialWeights:
    """Kernel weights :math:`w_{ij} = K(d_{ij} / h_i)` for :math:`d_{ij} \\le h_i`.

    Parameters
    ----------
    data : GeoDataFrame or GeoSeries
        Points, or polygons (their centroids are used), in a projected CRS in metres.
    bandwidth : float, optional
        Fixed bandwidth :math:`h` in metres. Give either ``bandwidth`` or ``k`` when
        ``fixed=True``.
    k : int, optional
        Number of nearest neighbours that sets the bandwidth: with ``fixed=True``,
        :math:`h` is the largest k-th-neighbour distance over all units (so every unit has at
        least ``k`` neighbours); with ``fixed=False`` (adaptive), :math:`h_i` is unit
        :math:`i`'s own k-th-neighbour distance. Both are widened by a factor
        :math:`1 + 10^{-7}` so the k-th neighbour keeps a small positive weight, as in
        libpysal.
    ids : str, optional
        Column holding unique ids; by default the index.
    function : {"triangular", "uniform", "quadratic", "quartic", "gaussian"}
        Kernel :math:`K(z)`, see Notes.
    fixed : bool, default True
        Fixed bandwidth (``True``) or adaptive k-nearest-neighbour bandwidth (``False``,
        needs ``k``).
    include_self : bool, default True
        Store the self-weight :math:`K(0)` on the diagonal (the usual form for kernel smoothing,
        GWR and :math:`G_i^*`). ``False`` leaves the diagonal empty.

    Returns
    -------
    SpatialWeights
        ``kind="kernel"``, ``transform="none"`` (raw kernel values). Symmetric for a fixed
        bandwidth, not for an adaptive one. ``params["bandwidth"]`` is the fixed bandwidth, or
        ``params["bandwidths"]`` the adaptive ones (metres, row order).

    Raises
    ------
    SpecificationError
        If ``function`` is unknown, the bandwidth/k combination is invalid, ``k`` is not in
        ``[1, n)``, a bandwidth is not positive (more than ``k`` coincident points give an
        adaptive bandwidth of 0), or ids repeat or are missing.
    GeometryError
        If the CRS is missing, geographic or not in metres, or a geometry is missing, empty,
        or neither a point nor a polygon.

    Warns
    -----
    DongneWarning
        If some units have no neighbour within the bandwidth or the graph has several
        components.

    See Also
    --------
    distance_band, knn

    Notes
    -----
    With :math:`z = d_{ij}/h_i \\in [0, 1]` (the kernels are truncated at the bandwidth):

    * triangular :math:`K(z) = 1 - z`
    * uniform :math:`K(z) = 1/2`
    * quadratic (Epanechnikov) :math:`K(z) = \\tfrac{3}{4}(1 - z^2)`
    * quartic (biweight) :math:`K(z) = \\tfrac{15}{16}(1 - z^2)^2`
    * gaussian :math:`K(z) = (2\\pi)^{-1/2} \\exp(-z^2/2)`

    These are the definitions of Anselin & Rey (2014) and ``libpysal.weights.Kernel``;
    zero weights (a neighbour exactly at the bandwidth) are not stored. Neighbours are all
    units with :math:`d_{ij} \\le h_i`, found with ``scipy.spatial.KDTree``.

    References
    ----------
    .. [1] Anselin, L., & Rey, S. J. (2014). *Modern Spatial Econometrics in Practice*.
       GeoDa Press, p. 78.
    .. [2] Fotheringham, A. S., Brunsdon, C., & Charlton, M. (2002). *Geographically Weighted
       Regression*. Wiley, ch. 2 (fixed and adaptive kernels).

    Examples
    --------
    >>> import geopandas as gpd
    >>> pts = gpd.GeoDataFrame(
    ...     geometry=gpd.points_from_xy([0, 10, 30], [0, 0, 0]), crs="EPSG:5179"
    ... )
    >>> w = kernel(pts, bandwidth=25.0)
    >>> w.to_frame()
       focal  neighbour  weight
    0      0          0     1.0
    1      0          1     0.6
    2      1          0     0.6
    3      1          1     1.0
    4      1          2     0.2
    5      2          1     0.2
    6      2          2     1.0
    """
    if function not in _KERNELS:
        raise SpecificationError(
            f"The 'function' parameter of kernel must be one of {tuple(_KERNELS)}. "
            f"Got {function!r}."
        )
    if fixed and (bandwidth is None) == (k is None):
        raise SpecificationError(
            "kernel with fixed=True needs exactly one of 'bandwidth' (metres) or 'k' (the "
            f"bandwidth is then the largest k-th-neighbour distance). Got bandwidth={bandwidth!r}"
            f", k={k!r}."
        )
    if not fixed and (k is None or bandwidth is not None):
        raise SpecificationError(
            "kernel with fixed=False (adaptive bandwidth) needs 'k' and no 'bandwidth'. "
            f"Got bandwidth={bandwidth!r}, k={k!r}."
        )
    if bandwidth is not None and not (np.isfinite(bandwidth) and bandwidth > 0):
        raise SpecificationError(
            f"The 'bandwidth' parameter of kernel must be a positive distance in metres. "
            f"Got {bandwidth!r}."
        )
    coords, index, points, crs = _points(data, ids, "kernel weights")
    n = len(coords)
    if k is not None and (
        isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k < n
    ):
        raise SpecificationError(
            f"The 'k' parameter of kernel must be an integer with 1 <= k < n = {n}. Got {k!r}."
        )
    tree = KDTree(coords)
    params: dict[str, Any] = {
        "ids": ids,
        "function": function,
        "fixed": bool(fixed),
        "k": None if k is None else int(k),
        "include_self": bool(include_self),
        "points": points,
        "crs": crs,
    }
    if bandwidth is not None:
        h = float(bandwidth)
    else:
        dist, nearest = tree.query(coords, k=int(k) + 1, workers=-1)
        radius = dist[:, -1] * _KNN_BANDWIDTH_EPS
        h = float(radius.max())
    if h <= 0:
        raise SpecificationError(
            "All points coincide, so the k-nearest-neighbour bandwidth is 0. Fix: give a "
            "bandwidth in metres."
        )
    if fixed:
        params["bandwidth"] = h
        pairs = tree.query_pairs(h, output_type="ndarray")
        rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
        cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
        h_row = np.full(len(rows), h)
    else:
        if (radius <= 0).any():
            raise SpecificationError(
                f"More than k={k} points coincide at units {format_rows(index[radius <= 0])}, "
                "so their adaptive bandwidth is 0. Fix: increase k or merge coincident points."
            )
        params["bandwidths"] = _read_only(radius)
        rows, cols = _within_own_radius(tree, coords, nearest, radius)
        h_row = radius[rows]
    off = rows != cols
    rows, cols, h_row = rows[off], cols[off], h_row[off]
    z = np.minimum(np.hypot(*(coords[rows] - coords[cols]).T) / h_row, 1.0)
    values = _KERNELS[function](z)
    if include_self:
        rows = np.concatenate([rows, np.arange(n)])
        cols = np.concatenate([cols, np.arange(n)])
        values = np.concatenate([values, np.full(n, _KERNELS[function](np.zeros(1))[0])])
    w = SpatialWeights(_csr(rows, cols, values, n), index, "kernel", "none", params)
    _warn_structure(w)
    return w


# ---------------------------------------------------------------------- helpers
def from_spec(areas: gpd.GeoDataFrame, ids: str | None, spec: str) -> SpatialWeights:
    """Weights from a short text spec, as the CLI and the service take them.

    ``queen``, ``rook``, ``queen:SNAP_M`` (contiguity with a snapping tolerance in metres),
    ``knn:K`` (K nearest centroids) or ``band:METRES`` (centroids within a distance). Distances
    are computed in a metric CRS (:func:`dongne.io.to_metric`).

    >>> from dongne.datasets import seoul_gu
    >>> from_spec(seoul_gu(), "gu_code", "knn:4").n
    25
    """
    kind, _, arg = spec.partition(":")
    if kind in ("queen", "rook"):
        snap = float(arg) if arg else 0.0
        metric = to_metric(areas) if snap else areas
        return (queen if kind == "queen" else rook)(metric, ids=ids, snap=snap)
    if kind == "knn":
        return knn(to_metric(areas), int(arg or 8), ids=ids)
    if kind == "band":
        try:
            return distance_band(to_metric(areas), float(arg), ids=ids)
        except SpecificationError as exc:  # its fixes as specs: weights='band:5000'
            message = str(exc).replace("knn(data, k)", "weights='knn:8'")
            raise SpecificationError(
                rewrite_fix_arguments(
                    message, lambda name, v: f"weights='band:{v}'" if name == "threshold" else None
                )
            ) from None
    raise SpecificationError(
        f"Weights spec {spec!r} is not understood. Use queen, rook, queen:SNAP_M, knn:K or "
        "band:METRES."
    )


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def _csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n: int) -> sparse.csr_array:
    """Sparse n × n matrix from coordinate triplets (duplicates summed, indices sorted)."""
    m = sparse.csr_array((values, (rows, cols)), shape=(n, n))
    m.sort_indices()
    return m


def _check_unique(index: pd.Index) -> None:
    if index.hasnans:
        raise SpecificationError(
            f"ids must not be missing; {int(index.isna().sum())} are. Fix: fill or drop those "
            "rows, or pass ids=<a column without gaps>."
        )
    if not index.is_unique:
        dup = index[index.duplicated()].unique()
        raise SpecificationError(
            f"ids must be unique; these repeat: {format_rows(dup)}. Fix: dissolve or drop the "
            "duplicated areas (e.g. areas.dissolve(by=<id column>)), or pass ids=<a unique "
            "column>."
        )


def _as_frame(data: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoDataFrame:
    if isinstance(data, gpd.GeoDataFrame):
        return data
    if isinstance(data, gpd.GeoSeries):
        return data.to_frame(name=data.name if data.name is not None else "geometry")
    raise SpecificationError(
        f"Expected a GeoDataFrame or GeoSeries of areas or points, got {type(data).__name__}. "
        "Fix: read the data with dongne.io or geopandas.read_file."
    )


def _frame_ids(frame: gpd.GeoDataFrame, ids: str | None) -> pd.Index:
    if ids is None:
        index = frame.index.copy()
    elif ids in frame.columns:
        index = pd.Index(frame[ids], name=ids)
    else:
        raise SpecificationError(
            f"ids={ids!r} is not a column of the data; columns are "
            f"{format_rows(frame.columns)}. Pass ids=None to use the index."
        )
    if not len(index):
        raise SpecificationError("The data has no rows; spatial weights need at least one unit.")
    _check_unique(index)
    return index


def _geometries(frame: gpd.GeoDataFrame, index: pd.Index, order: np.ndarray) -> np.ndarray:
    """Geometries of ``frame`` taken in ``order``, checked for missing or empty values."""
    geoms = np.asarray(frame.geometry.array, dtype=object)[order]
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        raise GeometryError(
            f"{int(bad.sum())} units have a missing or empty geometry: "
            f"{format_rows(index[bad])}. dongne does not guess their neighbours. Fix: repair "
            "them, or drop them (data[~(data.geometry.isna() | data.geometry.is_empty)])."
        )
    return geoms


def _polygons(
    areas: gpd.GeoDataFrame | gpd.GeoSeries, ids: str | None
) -> tuple[gpd.GeoDataFrame, np.ndarray, pd.Index]:
    frame = _as_frame(areas)
    index = _frame_ids(frame, ids)
    geoms = _geometries(frame, index, np.arange(len(frame)))
    types = shapely.get_type_id(geoms)
    bad = ~np.isin(types, (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON))
    if bad.any():
        kinds = sorted(set(shapely.get_type_id(geoms[bad]).tolist()))
        names = ", ".join(shapely.GeometryType(t).name for t in kinds)
        raise GeometryError(
            f"Contiguity needs polygons; {int(bad.sum())} units are {names}: "
            f"{format_rows(index[bad])}. Fix: for points use knn or distance_band."
        )
    return frame, geoms, index


def _contiguity(
    areas: gpd.GeoDataFrame | gpd.GeoSeries, *, ids: str | None, snap: float, rook: bool
) -> SpatialWeights:
    kind = "rook" if rook else "queen"
    if not np.isfinite(snap) or snap < 0:
        raise SpecificationError(
            f"The 'snap' parameter of {kind} must be a distance >= 0 in metres. Got {snap!r}."
        )
    frame, geoms, index = _polygons(areas, ids)
    n = len(geoms)
    if snap == 0:
        from libpysal.graph import Graph

        graph = Graph.build_contiguity(gpd.GeoSeries(geoms), rook=rook, strict=False)
        adj = graph.adjacency
        rows = adj.index.get_level_values(0).to_numpy(dtype=np.int64)
        cols = adj.index.get_level_values(1).to_numpy(dtype=np.int64)
        keep = (adj.to_numpy() != 0) & (rows != cols)  # libpysal encodes islands as 0 self-loops
        rows, cols = rows[keep], cols[keep]
    else:
        require_projected(frame, f"{kind} contiguity with snap > 0", "the areas")
        invalid = ~shapely.is_valid(geoms)
        if invalid.any():
            raise GeometryError(
                f"{int(invalid.sum())} polygons are invalid: {format_rows(index[invalid])}. "
                "Snapping needs valid polygons. Fix: areas.geometry = areas.geometry.make_valid()."
            )
        i, j = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=snap)
        keep = i < j
        i, j = i[keep], j[keep]
        if rook:
            boundary = shapely.boundary(geoms)
            grown = shapely.buffer(geoms, snap)
            shared = np.minimum(
                shapely.length(shapely.intersection(boundary[i], grown[j])),
                shapely.length(shapely.intersection(boundary[j], grown[i])),
            )
            keep = shared > _ROOK_MIN_SHARED * snap
            i, j = i[keep], j[keep]
        rows, cols = np.concatenate([i, j]), np.concatenate([j, i])
    w = SpatialWeights(
        _csr(rows, cols, np.ones(len(rows)), n),
        index,
        kind,
        "binary",
        {"ids": ids, "snap": float(snap)},
    )
    _warn_structure(w)
    return w


def _points(
    data: gpd.GeoDataFrame | gpd.GeoSeries, ids: str | None, what: str
) -> tuple[np.ndarray, pd.Index, str, str]:
    """Coordinates (n, 2) of points or polygon centroids, ids, ``"point"``/``"centroid"``, CRS."""
    frame = _as_frame(data)
    crs = require_projected(frame, what, "the data")
    index = _frame_ids(frame, ids)
    geoms = _geometries(frame, index, np.arange(len(frame)))
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON))
    if (types == shapely.GeometryType.POINT).all():
        points = "point"
    elif polygonal.all():
        points = "centroid"
        geoms = shapely.centroid(geoms)
    else:
        names = sorted({shapely.GeometryType(t).name for t in types.tolist()})
        raise GeometryError(
            f"{what} need a layer of points only or polygons only; this one has "
            f"{', '.join(names)}. Fix: keep one geometry type (e.g. data.geometry.centroid)."
        )
    coords = shapely.get_coordinates(geoms)
    if len(coords) != len(geoms) or not np.isfinite(coords).all():
        raise GeometryError(f"Some coordinates are not finite in the data used for {what}.")
    return coords, index, points, crs.to_string()


def _nearest_distances(tree: KDTree, coords: np.ndarray) -> np.ndarray:
    """Distance from each point to its nearest other point."""
    return tree.query(coords, k=2, workers=-1)[0][:, 1]


def _within_own_radius(
    tree: KDTree, coords: np.ndarray, nearest: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Directed pairs ``(i, j)`` with ``d(i, j) <= radius[i]``, self pairs included.

    ``nearest`` holds the positions of each point's ``m`` nearest points, with ``radius`` at
    least the ``m``-th distance, so a ball usually holds exactly those; the few balls holding
    more (ties at the radius) are listed with ``KDTree.query_ball_point``.
    """
    n, m = nearest.shape
    counts = tree.query_ball_point(coords, r=radius, return_length=True, workers=-1)
    wide = np.flatnonzero(counts != m)
    plain = np.ones(n, dtype=bool)
    plain[wide] = False
    rows = [np.repeat(np.flatnonzero(plain), m)]
    cols = [nearest[plain].ravel()]
    for i, found in zip(wide, tree.query_ball_point(coords[wide], r=radius[wide]), strict=True):
        rows.append(np.full(len(found), i))
        cols.append(np.asarray(found, dtype=np.int64))
    return np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64)


def _warn_structure(w: SpatialWeights, *, hint: str | None = None) -> None:
    """Warn about islands and disconnected groups of units, naming ids and the fix."""
    islands = w.islands
    sizes = np.bincount(w.component_labels)
    groups = np.sort(sizes[sizes > 1])[::-1]
    if not len(islands) and len(groups) <= 1:
        return
    parts = [f"{w.kind} weights:"]
    if len(islands):
        parts.append(
            f"{len(islands)} of {w.n} units have no neighbour (islands): {format_rows(islands)}."
        )
    if len(groups) > 1:
        parts.append(
            f"The {'other ' if len(islands) else ''}units form {len(groups)} disconnected "
            f"groups (sizes {format_rows(groups)}); statistics then mix separate regions."
        )
    if len(islands) and w.transform == "binary":
        parts.append("Fix: w.attach_islands(areas) links each island to its nearest area;")
    else:
        parts.append("Fix: check for missing areas;")
    parts.append("or use knn(data, k), which gives every unit k neighbours.")
    if hint:
        parts.append(f"For this band, {hint}")
    warnings.warn(" ".join(parts), DongneWarning, stacklevel=user_stacklevel())
