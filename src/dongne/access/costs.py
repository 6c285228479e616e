"""Origin × destination travel costs, stored sparsely as the pairs within a cut-off.

A :class:`Costs` holds the reachable (origin, destination, cost) pairs of a cost matrix —
sorted by origin, then destination — with the ids of both sides and the unit. A pair that is
not stored is out of reach (beyond the cut-off, or no path); a stored cost may be 0 (a site on
the demand point). Every access measure in :mod:`dongne.access.measures` works on these pairs,
so memory grows with the pairs within the catchment, not with origins × destinations.

:func:`straight_line_costs` makes them from points in a metric CRS (a KD-tree, never a dense
matrix); :func:`dongne.access.network.network_costs` along a street network;
:meth:`Costs.from_frame` and :meth:`Costs.from_dense` from a user's matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from dongne.errors import DataError, SpecificationError, format_rows
from dongne.io.crs import require_projected

__all__ = ["Costs", "straight_line_costs"]


@dataclass(eq=False)
class Costs:
    """The reachable pairs of an origin × destination cost matrix.

    Attributes
    ----------
    origin_ids, dest_ids : ndarray of str
        Labels of the origins (demand points) and destinations (supply sites).
    rows, cols : ndarray of int64
        Origin and destination position of each stored pair, sorted by (row, col).
    values : ndarray of float64
        Cost of each pair (finite, non-negative), in ``unit``.
    unit : str
        ``"m"`` (metres) or ``"min"`` (minutes).
    method : str
        How the costs were made (named in every summary).
    notes : dict
        Snapping distances, islands and other facts about how the costs were made.
    """

    origin_ids: np.ndarray
    dest_ids: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    unit: str = "m"
    method: str = "user cost matrix"
    cutoff: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rows = np.asarray(self.rows, dtype=np.int64)
        self.cols = np.asarray(self.cols, dtype=np.int64)
        self.values = np.asarray(self.values, dtype=float)
        key = self.rows * max(len(self.dest_ids), 1) + self.cols
        if len(key) > 1 and not (key[1:] > key[:-1]).all():
            order = np.argsort(key, kind="stable")
            self.rows, self.cols, self.values = (
                self.rows[order], self.cols[order], self.values[order],
            )  # fmt: skip

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.origin_ids), len(self.dest_ids)

    @property
    def n_pairs(self) -> int:
        return len(self.values)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_dense(
        cls,
        matrix: Any,
        *,
        origin_ids: Sequence[Any] | None = None,
        dest_ids: Sequence[Any] | None = None,
        unit: str = "m",
        cutoff: float | None = None,
        method: str = "user cost matrix",
    ) -> Costs:
        """Pairs of a dense matrix (``inf`` = unreachable), kept where cost ≤ ``cutoff``.

        A DataFrame gives the ids (index: origins, columns: destinations).
        """
        if isinstance(matrix, pd.DataFrame):
            origin_ids = list(matrix.index) if origin_ids is None else origin_ids
            dest_ids = list(matrix.columns) if dest_ids is None else dest_ids
        c = np.array(matrix, dtype=float)
        if c.ndim != 2 or 0 in c.shape:
            raise DataError(f"The cost matrix must be 2-D and non-empty. Got shape {c.shape}.")
        _check_values(c, "the cost matrix", np.nonzero(np.isnan(c) | (c < 0))[0])
        keep = np.isfinite(c) if cutoff is None else np.isfinite(c) & (c <= cutoff)
        rows, cols = np.nonzero(keep)
        n, m = c.shape
        return cls(
            origin_ids=_labels(origin_ids, n, "origin_ids"),
            dest_ids=_labels(dest_ids, m, "dest_ids"),
            rows=rows,
            cols=cols,
            values=c[rows, cols],
            unit=unit,
            method=method,
            cutoff=cutoff,
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        origin: str = "origin",
        dest: str = "dest",
        cost: str = "cost",
        origin_ids: Sequence[Any] | None = None,
        dest_ids: Sequence[Any] | None = None,
        unit: str = "min",
        cutoff: float | None = None,
    ) -> Costs:
        """Pairs from a long table (one row per origin, destination and cost).

        ``origin_ids`` / ``dest_ids`` fix the order and the full sets (origins without any
        pair keep access 0); by default they are the ids found in the table, sorted.
        """
        for column in (origin, dest, cost):
            if column not in frame:
                raise DataError(
                    f"The cost table has no column {column!r}. Columns: "
                    f"{', '.join(map(str, frame.columns))}."
                )
        o = frame[origin].astype(str).to_numpy()
        d = frame[dest].astype(str).to_numpy()
        v = pd.to_numeric(frame[cost], errors="coerce").to_numpy(dtype=float)
        _check_values(v, f"cost table column {cost!r}", frame.index[np.isnan(v) | (v < 0)])
        o_ids = _labels(origin_ids if origin_ids is not None else sorted(set(o)), None, "")
        d_ids = _labels(dest_ids if dest_ids is not None else sorted(set(d)), None, "")
        o_pos = pd.Index(o_ids).get_indexer(o)
        d_pos = pd.Index(d_ids).get_indexer(d)
        unknown = (o_pos < 0) | (d_pos < 0)
        if unknown.any():
            raise DataError(
                f"Cost table rows {format_rows(frame.index[unknown])} name an origin or "
                "destination that is not among the given ids. Fix: give every id, or drop them."
            )
        dup = pd.Series(o_pos * len(d_ids) + d_pos).duplicated()
        if dup.any():
            raise DataError(
                f"Cost table rows {format_rows(frame.index[dup.to_numpy()])} repeat an "
                "(origin, destination) pair. Fix: keep one cost per pair."
            )
        keep = np.isfinite(v) & (True if cutoff is None else v <= cutoff)
        return cls(o_ids, d_ids, o_pos[keep], d_pos[keep], v[keep], unit, "user cost table",
                   cutoff)  # fmt: skip

    # ------------------------------------------------------------------ views
    def within(self, cutoff: float | None) -> Costs:
        """The pairs with cost ≤ ``cutoff`` (all pairs when None)."""
        if cutoff is None:
            return self
        if self.cutoff is not None and cutoff > self.cutoff:
            raise SpecificationError(
                f"These costs were computed up to {self.cutoff:g} {self.unit}; a threshold of "
                f"{cutoff:g} {self.unit} needs them up to that. Fix: compute the costs with "
                f"cutoff={cutoff:g} or more."
            )
        keep = self.values <= cutoff
        if keep.all():
            return self
        return Costs(
            self.origin_ids, self.dest_ids, self.rows[keep], self.cols[keep], self.values[keep],
            self.unit, self.method, cutoff, dict(self.notes),
        )  # fmt: skip

    def to_dense(self) -> np.ndarray:
        """The dense matrix, ``inf`` where no pair is stored."""
        out = np.full(self.shape, np.inf)
        out[self.rows, self.cols] = self.values
        return out

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``origin``, ``dest``, ``cost`` (ids as strings)."""
        return pd.DataFrame(
            {
                "origin": self.origin_ids[self.rows],
                "dest": self.dest_ids[self.cols],
                "cost": self.values,
            }
        )


def straight_line_costs(
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    *,
    cutoff: float | None = None,
    origin_id: str | None = None,
    dest_id: str | None = None,
    speed_kmh: float | None = None,
) -> Costs:
    """Straight-line (planar) costs between two point layers in one projected CRS in metres.

    Parameters
    ----------
    origins, destinations : GeoDataFrame of points
        Demand points and supply sites, in the same projected CRS (metres).
    cutoff : float, optional
        Largest cost kept (in the output unit); None keeps every pair (dense: use only for
        small inputs).
    origin_id, dest_id : str, optional
        Id columns (default: the index).
    speed_kmh : float, optional
        Turn metres into minutes at this speed (e.g. 4 for walking); None keeps metres.

    Returns
    -------
    Costs

    Examples
    --------
    >>> import geopandas as gpd
    >>> a = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 0], [0, 100]), crs=5179)
    >>> b = gpd.GeoDataFrame(geometry=gpd.points_from_xy([30], [40]), crs=5179)
    >>> straight_line_costs(a, b, cutoff=60).values.tolist()
    [50.0]
    """
    require_projected(origins, "Straight-line costs", "origins")
    require_projected(destinations, "Straight-line costs", "destinations")
    if not origins.crs.equals(destinations.crs):
        raise DataError(
            "origins and destinations are in different CRSs. Fix: destinations.to_crs(origins.crs)."
        )
    factor = 1.0 if speed_kmh is None else 60.0 / (speed_kmh * 1000.0)
    a = origins.geometry.get_coordinates().to_numpy()
    b = destinations.geometry.get_coordinates().to_numpy()
    if cutoff is None:
        d = np.hypot(a[:, :1] - b[:, 0], a[:, 1:] - b[:, 1])
        rows, cols = np.nonzero(np.ones(d.shape, dtype=bool))
        vals = d[rows, cols] * factor
    else:
        radius = cutoff / factor
        pairs = cKDTree(a).sparse_distance_matrix(cKDTree(b), radius, output_type="ndarray")
        rows, cols = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
        vals = np.hypot(*(a[rows] - b[cols]).T) * factor
        keep = vals <= cutoff
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    unit = "m" if speed_kmh is None else "min"
    method = "straight line" + ("" if speed_kmh is None else f" at {speed_kmh:g} km/h")
    return Costs(
        origin_ids=_layer_ids(origins, origin_id),
        dest_ids=_layer_ids(destinations, dest_id),
        rows=rows,
        cols=cols,
        values=vals,
        unit=unit,
        method=method,
        cutoff=cutoff,
    )


# --------------------------------------------------------------------------- helpers
def _labels(ids: Sequence[Any] | None, n: int | None, name: str) -> np.ndarray:
    labels = np.array([str(i) for i in (range(n or 0) if ids is None else ids)], dtype=object)
    if n is not None and len(labels) != n:
        raise DataError(f"{name} has {len(labels)} labels for {n} rows or columns.")
    dup = pd.Series(labels).duplicated()
    if dup.any():
        raise DataError(f"Duplicate ids: {format_rows(labels[dup.to_numpy()])}.")
    return labels


def _layer_ids(layer: gpd.GeoDataFrame, column: str | None) -> np.ndarray:
    if column is not None and column not in layer:
        raise DataError(
            f"Column {column!r} not found. Columns: {', '.join(map(str, layer.columns))}."
        )
    values = layer.index.to_series() if column is None else layer[column]
    return _labels(values.tolist(), len(layer), column or "the index")


def _check_values(values: np.ndarray, what: str, bad_rows: Any) -> None:
    if len(bad_rows):
        raise DataError(
            f"{what} has missing or negative costs in rows {format_rows(np.unique(bad_rows))}. "
            "Fix: use inf (or leave the pair out) for unreachable pairs, and non-negative "
            "costs elsewhere."
        )
