"""Spatial fairness of a model's predictions: SPAD audit, permutation test and reweighting.

A model can be accurate on average and still serve some places much worse than others.
Xie et al. (2022) measure this over a *distribution of partitionings* of space rather than
one arbitrary zoning (the modifiable areal unit problem): for each partitioning, each cell's
performance m_p is compared with the overall performance m̄, and the mean absolute gap
mean_p |m̄ − m_p| is summed over all partitionings (the SPAD score; lower is fairer).

:func:`spatial_fairness_audit` computes it over the 24 regular grids of the released code
(r × c, r, c ∈ 1..5, except 1 × 1), over administrative units (gu, dong) or both, with a
permutation test of "performance does not depend on place". :class:`FairnessReweighted`
wraps any scikit-learn estimator that accepts ``sample_weight`` and raises the weight of
worse-off cells, round by round, the reweighting analogue of the paper's fairness-driven
fine-tuning.

References
----------
Xie, Y., He, E., Jia, X., Chen, W., Skakun, S., Bao, H., Jiang, Z., Ghosh, R. &
Ravirathinam, P. (2022). Fairness by "Where": A Statistically-Robust and Model-Agnostic
Bi-level Learning Framework. *Proceedings of the AAAI Conference on Artificial
Intelligence* 36(11):12208–12216. https://doi.org/10.1609/aaai.v36i11.21481.
Released code: https://github.com/ai-spatial/fair-ai-in-space (``evaluation.py``,
``model_train.py``).

Xie, Y., He, E., Jia, X., Chen, W., Skakun, S., Bao, H., Jiang, Z., Ghosh, R. &
Ravirathinam, P. (2024). Learning With Location-Based Fairness: A Statistically-Robust
Framework and Acceleration. *IEEE Transactions on Knowledge and Data Engineering*
36(9):4750–4765. https://doi.org/10.1109/TKDE.2024.3371460.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pyproj import CRS
from shapely import box
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.model_selection import KFold
from sklearn.utils import _safe_indexing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from dongne import __version__
from dongne._deprecate import renamed, renamed_attribute
from dongne._vocab import Lang, bilingual, in_process_only, provenance_alias, resolve_rng
from dongne.errors import DataError, DongneError, SpecificationError, format_rows
from dongne.io.crs import require_projected
from dongne.io.write import jsonable
from dongne.report.maps import choropleth, korean_font

__all__ = [
    "GRID_SHAPES",
    "METRICS",
    "FairnessAudit",
    "FairnessReweighted",
    "spatial_fairness_audit",
]

#: Performance metrics known by name, with whether a higher value is better.
METRICS: dict[str, bool] = {"f1": True, "accuracy": True, "rmse": False, "mae": False, "r2": True}

#: The 24 grids of the released SPAD code: (rows, columns), r, c ∈ 1..5, except 1 × 1.
GRID_SHAPES: tuple[tuple[int, int], ...] = tuple(
    (r, c) for r in range(1, 6) for c in range(1, 6) if (r, c) != (1, 1)
)

# Permuted samples gathered per batch (permutations × samples); the results do not depend on
# it because the permutation keys are drawn as one continuous stream.
_BATCH_ELEMENTS = 2_000_000


# --------------------------------------------------------------------------------------------
# Metrics as sums per cell: every named metric is a function of a few per-cell sums, so the
# observed value and all permutations are computed with numpy.bincount.


@dataclass(frozen=True)
class _Metric:
    """A named metric prepared for one (y_true, y_pred): its per-sample summands.

    ``parts`` holds one ``(slot, weight)`` pair per sum: sample i adds ``weight[i]`` to slot
    ``slot[i]`` of its cell (slots are classes for F1, a single slot otherwise). ``finish``
    turns the sums, each shaped ``(..., cells, slots)``, and the cell sizes into the metric.
    """

    name: str
    greater_is_better: bool
    n_slots: int
    parts: tuple[tuple[np.ndarray, np.ndarray], ...]
    finish: Callable[[list[np.ndarray], np.ndarray], np.ndarray]


def _finish_mean(sums: list[np.ndarray], n: np.ndarray) -> np.ndarray:
    return sums[0][..., 0] / n


def _finish_rmse(sums: list[np.ndarray], n: np.ndarray) -> np.ndarray:
    return np.sqrt(sums[0][..., 0] / n)


def _finish_r2(sums: list[np.ndarray], n: np.ndarray) -> np.ndarray:
    sy, syy, see = (s[..., 0] for s in sums)
    sst = syy - sy**2 / n
    defined = sst > 1e-12 * np.maximum(syy, 1e-300)
    return np.where(defined, 1.0 - see / np.where(defined, sst, 1.0), np.nan)


def _finish_f1(sums: list[np.ndarray], n: np.ndarray) -> np.ndarray:
    tp, support, predicted = sums
    denominator = support + predicted
    f1 = np.divide(2.0 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return (support * f1).sum(axis=-1) / n


def _prepare_metric(name: str, y_true: np.ndarray, y_pred: np.ndarray) -> _Metric:
    """The summands of metric ``name`` for these predictions."""
    n = len(y_true)
    zero = np.zeros(n, dtype=np.intp)
    if name in ("accuracy", "f1"):
        classes, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
        true_code, pred_code = codes[:n], codes[n:]
        correct = (true_code == pred_code).astype(float)
        if name == "accuracy":
            return _Metric(name, True, 1, ((zero, correct),), _finish_mean)
        ones = np.ones(n)
        parts = ((true_code, correct), (true_code, ones), (pred_code, ones))
        return _Metric(name, True, len(classes), parts, _finish_f1)
    error = y_pred - y_true
    if name == "mae":
        return _Metric(name, False, 1, ((zero, np.abs(error)),), _finish_mean)
    if name == "rmse":
        return _Metric(name, False, 1, ((zero, error**2),), _finish_rmse)
    centred = y_true - y_true.mean()  # SST is shift-invariant; centring limits cancellation
    parts = ((zero, centred), (zero, centred**2), (zero, error**2))
    return _Metric(name, True, 1, parts, _finish_r2)


def _cell_metric(
    metric: _Metric,
    labels: np.ndarray,
    n_cells: int,
    sizes: np.ndarray,
    gathered: list[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """Metric per cell for a batch of permutations, shape ``(B, n_cells)``.

    ``gathered`` holds each part's slots and weights already permuted, shaped ``(B, n)``:
    row b gives, for the sample at location i, the pair moved there by permutation b.
    """
    n_batch = gathered[0][1].shape[0]
    base = (np.arange(n_batch)[:, None] * n_cells + labels[None, :]) * metric.n_slots
    length = n_batch * n_cells * metric.n_slots
    sums = [
        np.bincount((base + slot).ravel(), weights=weight.ravel(), minlength=length).reshape(
            n_batch, n_cells, metric.n_slots
        )
        for slot, weight in gathered
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        return metric.finish(sums, sizes[None, :].astype(float))


def _gaps_to_loss(performance: np.ndarray, overall: float, used: np.ndarray) -> np.ndarray:
    """mean over used cells of |m̄ − m_p|, per row; cells whose metric is undefined are skipped."""
    gaps = np.abs(overall - performance[:, used])
    finite = np.isfinite(gaps)
    count = finite.sum(axis=1)
    total = np.where(finite, gaps, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


# --------------------------------------------------------------------------------------------
# Partitionings


@dataclass(frozen=True, eq=False)
class _Partitioning:
    """One partitioning of the samples into cells (a grid or groups)."""

    name: str
    kind: str  # "grid" or "groups"
    labels: np.ndarray  # cell of each sample, 0..n_cells-1
    cell_names: list[str]
    shape: tuple[int, int] | None = None
    cells: gpd.GeoSeries | None = None  # grid cell polygons
    group_labels: pd.Series | None = None  # group of each area, to dissolve for maps

    @property
    def n_cells(self) -> int:
        return len(self.cell_names)


@dataclass(frozen=True, eq=False)
class _Locations:
    """Where the samples are: planar coordinates, extent, CRS, attribute frame, areas."""

    xy: np.ndarray
    bounds: tuple[float, float, float, float]
    crs: CRS
    frame: pd.DataFrame | None
    areas: gpd.GeoDataFrame | None
    source: str


def _locations(n: int | None, coords: Any, areas: Any, crs: Any) -> _Locations:
    """Validate the location arguments; return planar coordinates in metres."""
    if (coords is None) == (areas is None):
        raise SpecificationError(
            "Give the sample locations either as coords= (points or an (n, 2) array of "
            "projected coordinates with crs=) or as areas= (a GeoDataFrame, one row per "
            "sample), not both and not neither."
        )
    if areas is not None:
        if not isinstance(areas, gpd.GeoDataFrame):
            raise DataError(
                f"areas must be a geopandas.GeoDataFrame, got {type(areas).__name__}. Fix: read "
                "it with dongne.io.read_areas or pass point coordinates as coords=."
            )
        found = require_projected(areas, "Spatial fairness grids", "areas")
        bad = areas.geometry.isna() | areas.geometry.is_empty
        if bad.any():
            raise DataError(
                f"areas has missing or empty geometries in rows {format_rows(areas.index[bad])}"
                "; such samples have no location. Fix: drop or repair them first."
            )
        # Each area is placed at a point guaranteed inside it (not the centroid, which can
        # fall outside a concave area); the grid spans the areas' full extent.
        where = areas.geometry.representative_point()
        xy = np.column_stack([where.x.to_numpy(), where.y.to_numpy()])
        bounds = tuple(float(v) for v in areas.total_bounds)
        frame, source = areas, "representative points of areas"
    elif isinstance(coords, gpd.GeoSeries | gpd.GeoDataFrame):
        found = require_projected(
            gpd.GeoDataFrame(geometry=coords.geometry), "Spatial fairness grids", "coords"
        )
        geometry = coords.geometry
        if not (geometry.geom_type == "Point").all() or geometry.is_empty.any():
            raise DataError(
                "coords must hold one non-empty point per sample. Fix: pass areas= for "
                "polygons (each area is then placed at its representative point)."
            )
        xy = np.column_stack([geometry.x.to_numpy(), geometry.y.to_numpy()])
        bounds = tuple(float(v) for v in xy.min(axis=0)) + tuple(float(v) for v in xy.max(axis=0))
        frame = coords if isinstance(coords, gpd.GeoDataFrame) else None
        source = "points"
    else:
        xy = np.asarray(coords, dtype=float)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise DataError(
                f"coords must have shape (n, 2) (x, y in metres); got shape {xy.shape}."
            )
        if crs is None:
            raise SpecificationError(
                "coords given as an array need crs= so that degrees are never taken for "
                "metres. Fix: pass e.g. crs='EPSG:5179' (UTM-K) for projected Korean data, or "
                "reproject longitude/latitude first."
            )
        probe = gpd.GeoDataFrame(geometry=[], crs=crs)
        found = require_projected(probe, "Spatial fairness grids", "coords")
        if not np.isfinite(xy).all():
            rows = np.flatnonzero(~np.isfinite(xy).all(axis=1))
            raise DataError(f"coords has missing or infinite values in rows {format_rows(rows)}.")
        bounds = tuple(float(v) for v in xy.min(axis=0)) + tuple(float(v) for v in xy.max(axis=0))
        frame, source = None, "points"
    if n is not None and len(xy) != n:
        raise DataError(
            f"y_true and y_pred have {n} values but the locations have {len(xy)} rows. Fix: "
            "pass one location per sample, in the same order."
        )
    return _Locations(xy, bounds, found, frame, areas, source)


def _grid(shape: tuple[int, int], where: _Locations) -> _Partitioning:
    """An r × c grid over the extent; rows counted from the north, columns from the west."""
    rows, cols = shape
    x0, y0, x1, y1 = where.bounds
    if (cols > 1 and x1 <= x0) or (rows > 1 and y1 <= y0):
        raise DataError(
            f"All locations share one {'x' if x1 <= x0 else 'y'} coordinate, so a {rows}x{cols} "
            "grid cannot be drawn over them. Fix: use administrative partitions instead."
        )
    fx = (where.xy[:, 0] - x0) / (x1 - x0) if x1 > x0 else np.zeros(len(where.xy))
    fy = (y1 - where.xy[:, 1]) / (y1 - y0) if y1 > y0 else np.zeros(len(where.xy))
    col = np.clip(np.floor(fx * cols).astype(np.intp), 0, cols - 1)
    row = np.clip(np.floor(fy * rows).astype(np.intp), 0, rows - 1)
    width, height = (x1 - x0) / cols, (y1 - y0) / rows
    polygons = [
        box(x0 + j * width, y1 - (i + 1) * height, x0 + (j + 1) * width, y1 - i * height)
        for i in range(rows)
        for j in range(cols)
    ]
    names = [f"r{i + 1}c{j + 1}" for i in range(rows) for j in range(cols)]
    return _Partitioning(
        name=f"grid {rows}x{cols}",
        kind="grid",
        labels=row * cols + col,
        cell_names=names,
        shape=shape,
        cells=gpd.GeoSeries(polygons, index=names, crs=where.crs),
    )


def _groups(name: str, values: pd.Series, where: _Locations) -> _Partitioning:
    """A partitioning by a label per sample (gu, dong, any zoning)."""
    if len(values) != len(where.xy):
        raise DataError(
            f"Partition {name!r} has {len(values)} labels but there are {len(where.xy)} "
            "samples. Fix: pass one label per sample, in the same order."
        )
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"Partition {name!r} has no label in rows {format_rows(np.flatnonzero(missing))}. "
            "Fix: fill them (e.g. with 'unknown') or drop those samples."
        )
    codes, uniques = pd.factorize(values, sort=True)
    return _Partitioning(
        name=name,
        kind="groups",
        labels=codes.astype(np.intp),
        cell_names=[str(u) for u in uniques],
        group_labels=pd.Series(codes, index=where.areas.index) if where.areas is not None else None,
    )


def _is_shape(item: tuple) -> bool:
    """Whether ``item`` looks like a grid shape: a pair of ints."""
    return len(item) == 2 and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in item
    )


def _partitionings(partitions: Any, where: _Locations) -> list[_Partitioning]:
    """Expand the ``partitions`` argument into partitionings, checking each item."""
    single = isinstance(partitions, str | pd.Series) or (
        isinstance(partitions, tuple) and _is_shape(partitions)
    )
    items = [partitions] if single else partitions
    if not isinstance(items, Sequence) or len(items) == 0:
        raise SpecificationError(
            "The 'partitions' parameter must be 'grids', an (rows, cols) tuple, a column name, "
            f"a Series of labels, or a non-empty list of these. Got {partitions!r} instead."
        )
    built: list[_Partitioning] = []
    for k, item in enumerate(items):
        if isinstance(item, str) and item == "grids":
            built.extend(_grid(shape, where) for shape in GRID_SHAPES)
        elif isinstance(item, tuple) and _is_shape(item):
            shape = (int(item[0]), int(item[1]))
            if min(shape) < 1 or shape == (1, 1):
                raise SpecificationError(
                    f"A grid partition must be (rows, cols) with both >= 1 and not (1, 1) (one "
                    f"cell cannot show a disparity). Got {item!r} instead."
                )
            built.append(_grid(shape, where))
        elif isinstance(item, str):
            if where.frame is None or item not in where.frame.columns:
                available = [] if where.frame is None else [str(c) for c in where.frame.columns]
                raise DataError(
                    f"Partition column {item!r} is not in the location data (columns: "
                    f"{', '.join(available) or 'none'}). Fix: pass areas= with that column, or "
                    "pass the labels themselves as a Series."
                )
            built.append(_groups(item, where.frame[item].reset_index(drop=True), where))
        elif isinstance(item, pd.Series | np.ndarray | list):
            series = pd.Series(np.asarray(item, dtype=object))
            name = str(item.name) if isinstance(item, pd.Series) and item.name else f"groups {k}"
            built.append(_groups(name, series, where))
        else:
            raise SpecificationError(
                "Each item of 'partitions' must be 'grids', an (rows, cols) tuple of ints, a "
                f"column name or a Series/array of labels. Got {item!r} instead."
            )
    names = [p.name for p in built]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SpecificationError(
            f"Partitions are repeated: {', '.join(repeated)}. Fix: list each partitioning once."
        )
    return built


# --------------------------------------------------------------------------------------------
# Input checks


def _check_metric(metric: Any, greater_is_better: bool | None) -> tuple[str | Callable, bool]:
    """Return the metric (name or callable) and its direction."""
    if callable(metric):
        return metric, True if greater_is_better is None else bool(greater_is_better)
    if not isinstance(metric, str) or metric not in METRICS:
        raise SpecificationError(
            f"The 'metric' parameter must be one of {', '.join(map(repr, METRICS))} or a "
            f"callable metric(y_true, y_pred) -> float. Got {metric!r} instead."
        )
    if greater_is_better is not None and bool(greater_is_better) != METRICS[metric]:
        raise SpecificationError(
            f"metric={metric!r} is {'higher' if METRICS[metric] else 'lower'}-is-better; "
            f"greater_is_better={greater_is_better!r} contradicts it. Fix: leave it as None."
        )
    return metric, METRICS[metric]


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= minimum:
        return int(value)
    raise SpecificationError(
        f"The {name!r} parameter must be an int >= {minimum}. Got {value!r} instead."
    )


def _outcomes(y_true: Any, y_pred: Any, metric: str | Callable) -> tuple[np.ndarray, np.ndarray]:
    """y_true and y_pred as 1-D arrays: numeric for error metrics, any labels for F1/accuracy."""
    arrays = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        array = np.asarray(values)
        if array.ndim != 1:
            raise DataError(f"{name} must be one-dimensional; got shape {array.shape}.")
        if metric in ("rmse", "mae", "r2"):
            numeric = pd.to_numeric(pd.Series(array), errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(numeric)
            if bad.any():
                raise DataError(
                    f"{name} has missing, infinite or non-numeric values in rows "
                    f"{format_rows(np.flatnonzero(bad))}; metric={metric!r} needs numbers. "
                    "Fix: drop those samples from y_true, y_pred and the locations together."
                )
            array = numeric
        elif pd.isna(pd.Series(array)).any():
            rows = np.flatnonzero(pd.isna(pd.Series(array)).to_numpy())
            raise DataError(
                f"{name} has missing values in rows {format_rows(rows)}. Fix: drop those "
                "samples from y_true, y_pred and the locations together."
            )
        arrays.append(array)
    if len(arrays[0]) != len(arrays[1]):
        raise DataError(
            f"y_true has {len(arrays[0])} values but y_pred has {len(arrays[1])}. Fix: pass "
            "one prediction per sample."
        )
    if len(arrays[0]) == 0:
        raise DataError("y_true is empty: there is nothing to audit.")
    return arrays[0], arrays[1]


# --------------------------------------------------------------------------------------------
# The core computation, shared by the audit and the reweighting


@dataclass(frozen=True, eq=False)
class _Assessment:
    """Observed per-cell performance and losses (and optionally the permutation null)."""

    overall: float
    sizes: list[np.ndarray]
    performance: list[np.ndarray]
    used: list[np.ndarray]
    losses: np.ndarray  # one per partitioning, NaN when it has no usable cell
    null_losses: np.ndarray  # (R, P)


def _assess(
    metric: str | Callable,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    parts: list[_Partitioning],
    min_cell_size: int,
    n_permutations: int = 0,
    seed: int = 0,
) -> _Assessment:
    n = len(y_true)
    sizes = [np.bincount(p.labels, minlength=p.n_cells) for p in parts]
    if isinstance(metric, str):
        prepared = _prepare_metric(metric, y_true, y_pred)
        identity = [(slot[None, :], weight[None, :]) for slot, weight in prepared.parts]
        overall = float(
            _cell_metric(prepared, np.zeros(n, dtype=np.intp), 1, np.array([n]), identity)[0, 0]
        )
        performance = [
            _cell_metric(prepared, p.labels, p.n_cells, s, identity)[0]
            for p, s in zip(parts, sizes, strict=True)
        ]
    else:
        overall = float(metric(y_true, y_pred))
        performance = [
            _callable_cells(metric, y_true, y_pred, p, s) for p, s in zip(parts, sizes, strict=True)
        ]
    used = [(s >= min_cell_size) & np.isfinite(m) for s, m in zip(sizes, performance, strict=True)]
    losses = np.array(
        [_gaps_to_loss(m[None, :], overall, u)[0] for m, u in zip(performance, used, strict=True)]
    )
    null = np.empty((n_permutations, len(parts)))
    if n_permutations:
        rng = np.random.default_rng(seed)
        batch = max(1, min(n_permutations, _BATCH_ELEMENTS // n))
        for first in range(0, n_permutations, batch):
            count = min(batch, n_permutations - first)
            # Random keys drawn as one stream and sorted per row: permutation b does not
            # depend on the batch size, the thread count or the platform's sort.
            perm = np.argsort(rng.random((count, n)), axis=1, kind="stable")
            if isinstance(metric, str):
                gathered = [(slot[perm], weight[perm]) for slot, weight in prepared.parts]
                for k, (p, s, u) in enumerate(zip(parts, sizes, used, strict=True)):
                    cell = _cell_metric(prepared, p.labels, p.n_cells, s, gathered)
                    null[first : first + count, k] = _gaps_to_loss(cell, overall, u)
            else:
                for b in range(count):
                    yt, yp = y_true[perm[b]], y_pred[perm[b]]
                    for k, (p, s, u) in enumerate(zip(parts, sizes, used, strict=True)):
                        cell = _callable_cells(metric, yt, yp, p, s)
                        null[first + b, k] = _gaps_to_loss(cell[None, :], overall, u)[0]
    return _Assessment(overall, sizes, performance, used, losses, null)


def _callable_cells(
    metric: Callable, y_true: np.ndarray, y_pred: np.ndarray, part: _Partitioning, sizes: np.ndarray
) -> np.ndarray:
    """A user metric evaluated cell by cell (Python calls; named metrics avoid this)."""
    order = np.argsort(part.labels, kind="stable")
    splits = np.split(order, np.cumsum(sizes)[:-1])
    return np.array(
        [float(metric(y_true[i], y_pred[i])) if len(i) else np.nan for i in splits], dtype=float
    )


def _spad(losses: np.ndarray) -> float:
    return float(np.nansum(losses))


# --------------------------------------------------------------------------------------------
# The audit


@dataclass(frozen=True, eq=False)
class FairnessAudit:
    """Result of :func:`spatial_fairness_audit`: per-cell performance, losses, SPAD and p.

    Attributes
    ----------
    metric : str
        Name of the metric (a callable's ``__name__``).
    greater_is_better : bool
        Whether a higher metric means better performance (F1, accuracy, R²) or worse (RMSE,
        MAE, in the units of the target).
    overall : float
        m̄, the metric over all samples.
    n_samples : int
    min_cell_size : int
        Cells with fewer samples were excluded from the losses (status ``"too small"``).
    cells : pandas.DataFrame
        One row per cell of every partitioning: ``partition``, ``kind`` (``"grid"`` or
        ``"groups"``), ``cell`` (``"r2c3"`` = 2nd row from the north, 3rd column from the
        west; or the group label), ``n``, ``performance`` (m_p), ``gap`` (m_p − m̄),
        ``shortfall`` (how much worse than overall: m̄ − m_p for higher-is-better metrics,
        m_p − m̄ otherwise; positive = worse off) and ``status`` (``"used"``, ``"too
        small"``, ``"empty"`` or ``"undefined"`` when the metric has no value there, e.g. R²
        of a cell with a constant target).
    partitions : pandas.DataFrame
        One row per partitioning: ``partition``, ``kind``, ``n_cells``, ``n_used``,
        ``n_too_small``, ``n_empty``, ``loss`` (mean over used cells of |m̄ − m_p|; NaN when
        no cell is usable), ``null_mean`` and ``null_q95`` (the loss under the permutation
        null), ``excess`` (``loss − null_mean``) and ``p_value`` (per partitioning).
    spad : float
        Sum of the losses over partitionings with a usable cell (the SPAD score of the
        released code when the partitions are the 24 grids).
    spad_mean : float
        Mean loss per partitioning: comparable across numbers of partitionings.
    n_partitions_used : int
    null_spad : numpy.ndarray
        SPAD of each permutation (length ``permutations``).
    p_value : float
        (1 + #{null SPAD ≥ observed SPAD}) / (1 + R); NaN when ``permutations == 0``.
    permutations : int
    seed : int
    crs : pyproj.CRS
        The projected CRS of the grids.
    provenance : dict
        Parameters, seed and ``dongne_version``, ready for JSON.
    """

    provenance_ = provenance_alias("provenance")
    n_permutations = renamed_attribute("n_permutations", "permutations")

    metric: str
    greater_is_better: bool
    overall: float
    n_samples: int
    min_cell_size: int
    cells: pd.DataFrame
    partitions: pd.DataFrame
    spad: float
    spad_mean: float
    n_partitions_used: int
    null_spad: np.ndarray
    p_value: float
    permutations: int
    seed: int
    crs: CRS
    provenance: dict[str, Any]
    _parts: list[_Partitioning] = field(repr=False)
    _areas: gpd.GeoDataFrame | None = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per cell of every partitioning (a copy of :attr:`cells`)."""
        return self.cells.copy()

    def worst_cells(self, partition: str | None = None, k: int = 5) -> pd.DataFrame:
        """The ``k`` used cells with the largest shortfall, in one partitioning or all."""
        rows = self.cells[self.cells["status"] == "used"]
        if partition is not None:
            rows = rows[rows["partition"] == self._part(partition).name]
        return rows.sort_values("shortfall", ascending=False, kind="stable").head(k)

    def headline_partition(self) -> str:
        """The partitioning whose loss most exceeds chance (largest loss without a null)."""
        frame = self.partitions.dropna(subset=["loss"])
        key = "excess" if self.permutations else "loss"
        return str(frame.loc[frame[key].idxmax(), "partition"])

    def to_geodataframe(self, partition: str | None = None) -> gpd.GeoDataFrame:
        """Cells of one partitioning with their polygons (grid cells, or areas dissolved by
        group), in the audit's projected CRS; default :meth:`headline_partition`."""
        part = self._part(partition)
        if part.cells is not None:
            geometry = part.cells.to_numpy()
        elif self._areas is not None:
            dissolved = (
                gpd.GeoSeries(self._areas.geometry.to_numpy(), crs=self.crs)
                .groupby(part.group_labels.to_numpy())
                .agg(lambda g: g.union_all())
            )
            geometry = dissolved.reindex(range(part.n_cells)).to_numpy()
        else:
            raise SpecificationError(
                f"Partition {part.name!r} is a set of groups of points, which have no polygons "
                "to map. Fix: run the audit with areas= (one polygon per sample), or map a grid "
                "partition."
            )
        rows = self.cells[self.cells["partition"] == part.name].reset_index(drop=True)
        return gpd.GeoDataFrame(rows, geometry=list(geometry), crs=self.crs)

    def plot(
        self,
        partition: str | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        title: str | None = None,
    ) -> Figure:
        """Map the performance of each cell of one partitioning (default: the headline one).

        Cells are coloured by m_p in up to five quantile classes (red = worse off); cells
        with fewer than ``min_cell_size`` samples are hatched as "too few samples"; empty
        grid cells are not drawn. When the audit was given ``areas``, grid cells are clipped
        to the union of the areas (nothing is painted outside the study area) and outlined
        with it. Drawn with :func:`dongne.report.choropleth`; written
        to ``path`` when given. Returns the figure.
        """
        frame = self.to_geodataframe(partition)
        name = frame["partition"].iloc[0]
        frame = frame[frame["n"] > 0].copy()
        frame["value"] = frame["performance"].where(frame["status"] == "used")
        frame["label"] = frame["cell"] if frame["kind"].iloc[0] == "groups" else frame["n"]
        distinct = frame["value"].dropna().nunique()
        if distinct == 0:
            raise DataError(
                f"No cell of {name!r} has at least min_cell_size={self.min_cell_size} "
                "samples, so there is nothing to colour. Fix: map a coarser partition."
            )
        loss = float(self.partitions.set_index("partition").loc[name, "loss"])
        p = float(self.partitions.set_index("partition").loc[name, "p_value"])
        outline = None
        if self._areas is not None and frame["kind"].iloc[0] == "grid":
            study_area = self._areas.union_all()
            outline = gpd.GeoDataFrame(geometry=[study_area], crs=self.crs)
            # Grid cells are squares; paint only their part inside the study area.
            frame = frame.set_geometry(frame.geometry.intersection(study_area))
            frame = frame[~frame.geometry.is_empty & frame.geometry.notna()]
        note = (
            f"Overall {self.metric} = {self.overall:.4g}; labels: "
            f"{'group' if frame['kind'].iloc[0] == 'groups' else 'samples per cell'}; "
            f"mean |gap| = {loss:.3g}" + (f", permutation p = {p:.3g}" if np.isfinite(p) else "")
        )
        result = choropleth(
            frame,
            "value",
            title=title or f"{self.metric} by cell — {name}\n셀별 {self.metric} — {name}",
            legend_title=f"{self.metric} ({'higher' if self.greater_is_better else 'lower'} "
            "= better)",
            path=path,
            scheme="natural_breaks",
            k=max(2, min(5, distinct)),
            cmap="RdYlBu" if self.greater_is_better else "RdYlBu_r",
            missing_label=f"< {self.min_cell_size} samples / 표본 부족",
            boundaries=outline,
            labels="label" if len(frame) <= 40 else None,
            note=note,
            dpi=100,
            figsize=(8.0, 6.5),
        )
        return result.figure

    def plot_scores(self, *, path: str | os.PathLike[str] | None = None) -> Figure:
        """Bar chart of the loss of each partitioning, with the permutation null's mean and
        95th percentile as markers; written to ``path`` when given. Returns the figure."""
        frame = self.partitions
        with matplotlib.rc_context({"font.family": [korean_font(), "DejaVu Sans"]}):
            figure = Figure(figsize=(max(6.0, 0.32 * len(frame) + 2), 4.0), layout="constrained")
            FigureCanvasAgg(figure)
            ax = figure.add_subplot()
            x = np.arange(len(frame))
            ax.bar(x, frame["loss"], color="#4575b4", label="observed mean |m̄ − m_p|")
            if self.permutations:
                ax.scatter(
                    x,
                    frame["null_mean"],
                    marker="_",
                    s=120,
                    color="#222222",
                    label="chance (permutation mean)",
                    zorder=3,
                )
                ax.scatter(
                    x,
                    frame["null_q95"],
                    marker="v",
                    s=18,
                    color="#d73027",
                    label="95th percentile by chance",
                    zorder=3,
                )
            ax.set_xticks(
                x,
                [str(v).replace("grid ", "") for v in frame["partition"]],
                rotation=90,
                fontsize=8,
            )
            ax.set_ylabel(f"loss: mean |gap| in {self.metric}")
            p_text = f", p = {self.p_value:.3g}" if self.permutations else ""
            ax.set_title(
                f"Spatial disparity per partitioning — SPAD = {self.spad:.3g}{p_text}\n"
                "분할별 공간 격차",
                loc="left",
                fontsize=11,
            )
            ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
            if path is not None:
                figure.savefig(path, dpi=100, facecolor="white")
        return figure

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Plain-language result: how unequal, beyond chance or not, where, and what it means."""
        if lang not in ("en", "ko"):
            raise SpecificationError(f"The 'lang' parameter must be 'en' or 'ko'. Got {lang!r}.")
        worse_word = "lower" if self.greater_is_better else "higher"
        n_small = int((self.cells["status"] == "too small").sum())
        n_small_parts = int((self.partitions["n_too_small"] > 0).sum())
        lines = []
        places = self._worse_off_text(lang)
        chance = self.null_spad.mean() / self.n_partitions_used if self.permutations else 0.0
        if lang == "en":
            lines.append(
                f"Spatial fairness audit of {self.metric} over {self.n_samples} samples: overall "
                f"{self.metric} = {self.overall:.4g}. Over {self.n_partitions_used} "
                f"partitionings the mean absolute gap between a cell's {self.metric} and the "
                f"overall value is {self.spad_mean:.4g} (SPAD, the sum over partitionings, = "
                f"{self.spad:.4g}; lower is fairer)."
            )
            if self.permutations:
                beyond = self.p_value <= 0.05
                lines.append(
                    f"If location did not matter, shuffling the (observed, predicted) pairs "
                    f"across places gives a mean gap of {chance:.4g} "
                    f"on average; permutation p = {self.p_value:.3g} ({self.permutations} "
                    f"permutations, seed {self.seed}): "
                    + (
                        "performance differs between places more than chance would produce."
                        if beyond
                        else "the differences are within what chance alone produces."
                    )
                )
            lines.append(f"Worse-off places ({self.metric} {worse_word} than overall): {places}.")
            lines.append(
                f"{n_small} cells in {n_small_parts} partitionings had fewer than "
                f"{self.min_cell_size} samples and were left out of the losses (they are in "
                "to_frame() with status 'too small')."
            )
            lines.append(
                "What it means: a model used to allocate resources would serve the listed "
                "places worse than average; check their data and consider FairnessReweighted "
                "or a place-aware model. Assumption: the test treats every sample's pair as "
                "exchangeable between places, so it asks whether performance depends on place "
                "at all, not why; small cells are noisy, which the permutation null accounts for."
            )
        else:
            lines.append(
                f"{self.n_samples}개 표본에 대한 {self.metric} 공간 공정성 진단: 전체 "
                f"{self.metric} = {self.overall:.4g}. {self.n_partitions_used}개 공간 분할에서 "
                f"셀별 {self.metric}와 전체 값의 평균 절대 격차는 {self.spad_mean:.4g}입니다 "
                f"(분할별 합계 SPAD = {self.spad:.4g}, 낮을수록 공정)."
            )
            if self.permutations:
                beyond = self.p_value <= 0.05
                lines.append(
                    f"위치가 무관하다면(관측·예측 쌍을 장소 간에 무작위로 섞으면) 평균 격차는 "
                    f"{chance:.4g} 정도입니다. "
                    f"순열 p = {self.p_value:.3g} ({self.permutations}회 순열, 시드 "
                    f"{self.seed}): "
                    + (
                        "장소 간 성능 차이가 우연으로 설명되는 수준보다 큽니다."
                        if beyond
                        else "장소 간 차이는 우연으로 설명되는 범위 안에 있습니다."
                    )
                )
            lines.append(f"성능이 나쁜 곳: {places}.")
            lines.append(
                f"{n_small_parts}개 분할의 {n_small}개 셀은 표본이 {self.min_cell_size}개 "
                "미만이라 격차 계산에서 제외했습니다(to_frame()에서 상태 'too small')."
            )
            lines.append(
                "의미: 이 모형으로 자원을 배분하면 위 지역은 평균보다 불리한 대우를 받습니다. "
                "해당 지역의 자료를 점검하고 FairnessReweighted 또는 위치를 반영한 모형을 "
                "검토하십시오. 가정: 순열 검정은 표본의 (관측, 예측) 쌍이 장소 사이에서 교환 "
                "가능하다고 보고, 성능이 장소에 따라 다른지 여부만 묻습니다(원인은 말하지 "
                "않음). 작은 셀의 잡음은 순열 분포에 반영됩니다."
            )
        return "\n".join(lines)

    def _worse_off_text(self, lang: str) -> str:
        """The three worst cells of each group partitioning and of the headline grid."""
        chosen = [p.name for p in self._parts if p.kind == "groups"][:2]
        headline = self.headline_partition()
        if headline not in chosen:
            chosen.append(headline)
        texts = []
        for name in chosen:
            worst = self.worst_cells(name, k=3)
            worst = worst[worst["shortfall"] > 0]
            cells = ", ".join(
                f"{row.cell} ({self.metric} {row.performance:.3g}, n = {row.n})"
                for row in worst.itertuples()
            )
            none = "none" if lang == "en" else "없음"
            texts.append(f"{name}: {cells or none}")
        return "; ".join(texts)

    def _part(self, partition: str | None) -> _Partitioning:
        name = self.headline_partition() if partition is None else partition
        for part in self._parts:
            if part.name == name:
                return part
        raise SpecificationError(
            f"Unknown partition {partition!r}. The audit has: "
            f"{', '.join(p.name for p in self._parts)}."
        )


@renamed(n_permutations="permutations", seed="rng")
def spatial_fairness_audit(
    y_true: Any,
    y_pred: Any,
    *,
    coords: Any = None,
    areas: gpd.GeoDataFrame | None = None,
    crs: Any = None,
    partitions: Any = "grids",
    metric: str | Callable[[np.ndarray, np.ndarray], float] = "f1",
    greater_is_better: bool | None = None,
    min_cell_size: int = 10,
    permutations: int = 999,
    rng: int | np.random.Generator | None = None,
    scheduler: Any = None,
) -> FairnessAudit:
    """Audit how evenly a model performs across space (SPAD), with a permutation test.

    For each partitioning of space (regular grids, administrative units), the metric is
    computed in every cell, m_p, and overall, m̄; the partitioning's loss is the mean over
    cells of |m̄ − m_p| and the SPAD score is the sum of the losses over partitionings [1]_.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,)
        Observed and predicted values (class labels for ``"f1"`` and ``"accuracy"``).
    coords : GeoSeries or GeoDataFrame of points, or array of shape (n, 2), optional
        Location of each sample, in a projected CRS in metres (arrays need ``crs``).
    areas : GeoDataFrame, optional
        One polygon per sample (e.g. the dong a prediction is for), in a projected CRS in
        metres. Each area is placed at its representative point (a point inside it) for the
        grids, which span the areas' full extent; its columns can name group partitions.
        Give exactly one of ``coords`` and ``areas``.
    crs : CRS-like, optional
        CRS of an array ``coords`` (e.g. ``"EPSG:5179"``); geographic CRSs are refused.
    partitions : "grids", (rows, cols), str, Series or list of these
        ``"grids"``: the 24 regular grids of the released code, (r, c) for r, c ∈ 1..5 except
        (1, 1), over the bounding box of the locations, rows counted from the north; a tuple:
        one grid; a string: a column of ``areas`` (or of a points GeoDataFrame) holding a
        group label such as ``"gu_name"``; a Series or array: one group label per sample.
    metric : {"f1", "accuracy", "rmse", "mae", "r2"} or callable
        ``"f1"`` is the support-weighted mean of the per-class F1 scores (F1 of class k =
        2·TP_k / (n_true_k + n_pred_k); as the released code and scikit-learn's
        ``f1_score(average="weighted")``); RMSE and MAE are in the units of the target. A
        callable ``metric(y_true, y_pred) -> float`` is evaluated cell by cell in Python,
        once per cell and permutation, which is slow; prefer a named metric.
    greater_is_better : bool, optional
        Direction of a callable metric (default True); named metrics know theirs.
    min_cell_size : int, default 10
        Cells with fewer samples are flagged ``"too small"`` and left out of the loss (their
        metric is mostly noise); how many is reported, never silent.
    permutations : int, default 999
        R, permutations of the location assignment of the (y_true, y_pred) pairs; 0 skips
        the test (``n_permutations`` before 0.2).
    rng : int, numpy.random.Generator or None, default None
        Seed of the permutations (``seed`` before 0.2); None means seed 0, a Generator is
        drawn from once (:func:`dongne._vocab.resolve_rng`); recorded in the result.
    scheduler : None or "threads"
        The permutations run in this process; other schedulers are refused with a
        :class:`~dongne.errors.SpecificationError`, never ignored.

    Returns
    -------
    FairnessAudit

    Raises
    ------
    SpecificationError
        Unknown metric, bad ``partitions``, ``min_cell_size``, ``permutations`` or ``rng``,
        both or neither of ``coords`` and ``areas``, an array ``coords`` without ``crs``.
    DataError
        Lengths differ, missing values, unknown partition column, or no cell of any
        partitioning has ``min_cell_size`` samples.
    GeometryError
        Locations in a geographic CRS (degrees) or without a CRS.

    See Also
    --------
    FairnessReweighted : Reduce the disparity found here by reweighting worse-off places.

    Notes
    -----
    Cell weighting: every usable cell counts equally in a partitioning's loss, whatever its
    size, as in ``get_fairness_loss_all`` of the released code (``np.mean`` over the cells);
    m̄ is the metric over all samples, not the mean of the cells. SPAD is the plain sum over
    partitionings (the released code's ``np.sum`` over the 24 grids); ``spad_mean`` divides
    by the number of partitionings with a usable cell. Only used cells enter a loss.

    Permutation test: the locations stay fixed and the (y_true, y_pred) pairs are shuffled
    among them, R times. Cell sizes and m̄ are the same in every permutation, so the null
    distribution shows how large SPAD gets from sampling noise alone — small cells give a
    large SPAD even when location does not matter. p = (1 + #{SPAD_perm ≥ SPAD_obs}) /
    (1 + R), one-sided, in [1/(R+1), 1]. Each permutation is the stable argsort of its own
    row of uniform keys drawn from ``numpy.random.default_rng(seed)``, and all per-cell sums
    are ``numpy.bincount`` calls, so the result is identical for the same seed whatever the
    thread count or batch size.

    References
    ----------
    .. [1] Xie, Y. et al. (2022). Fairness by "Where": A Statistically-Robust and
       Model-Agnostic Bi-level Learning Framework. AAAI 36(11):12208–12216.
       https://doi.org/10.1609/aaai.v36i11.21481
    .. [2] Xie, Y. et al. (2024). Learning With Location-Based Fairness: A
       Statistically-Robust Framework and Acceleration. IEEE TKDE 36(9):4750–4765.
       https://doi.org/10.1109/TKDE.2024.3371460

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 10_000, size=(400, 2))
    >>> y = rng.integers(0, 2, 400)
    >>> wrong_east = (xy[:, 0] > 7_000) & (rng.random(400) < 0.5)
    >>> pred = np.where(wrong_east, 1 - y, y)
    >>> audit = spatial_fairness_audit(
    ...     y, pred, coords=xy, crs="EPSG:5179", metric="accuracy", permutations=199, rng=1
    ... )
    >>> round(audit.overall, 3), audit.p_value
    (0.802, 0.005)
    """
    metric, direction = _check_metric(metric, greater_is_better)
    min_cell_size = _check_int("min_cell_size", min_cell_size, 1)
    in_process_only(scheduler, "spatial_fairness_audit")
    n_permutations = _check_int("permutations", permutations, 0)
    seed = resolve_rng(rng)
    y_true, y_pred = _outcomes(y_true, y_pred, metric)
    where = _locations(len(y_true), coords, areas, crs)
    parts = _partitionings(partitions, where)
    result = _assess(metric, y_true, y_pred, parts, min_cell_size, n_permutations, seed)
    return _audit(result, metric, direction, parts, where, min_cell_size, n_permutations, seed)


def _audit(
    result: _Assessment,
    metric: str | Callable,
    direction: bool,
    parts: list[_Partitioning],
    where: _Locations,
    min_cell_size: int,
    n_permutations: int,
    seed: int,
) -> FairnessAudit:
    """Assemble the result object from an assessment."""
    included = np.isfinite(result.losses)
    if not included.any():
        raise DataError(
            f"No cell of any partitioning has at least min_cell_size={min_cell_size} samples "
            f"with a defined metric ({len(where.xy)} samples in all). Fix: lower "
            "min_cell_size or use coarser partitions (fewer grid cells, gu instead of dong)."
        )
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
    sign = 1.0 if direction else -1.0
    rows = []
    for part, sizes, perf, used in zip(
        parts, result.sizes, result.performance, result.used, strict=True
    ):
        status = np.where(
            used,
            "used",
            np.where(
                sizes == 0, "empty", np.where(sizes < min_cell_size, "too small", "undefined")
            ),
        )
        rows.append(
            pd.DataFrame(
                {
                    "partition": part.name,
                    "kind": part.kind,
                    "cell": part.cell_names,
                    "n": sizes.astype(np.int64),
                    "performance": np.where(sizes > 0, perf, np.nan),
                    "gap": np.where(sizes > 0, perf - result.overall, np.nan),
                    "shortfall": np.where(sizes > 0, sign * (result.overall - perf), np.nan),
                    "status": status,
                }
            )
        )
    cells = pd.concat(rows, ignore_index=True)
    # A NaN loss in a permutation (every used cell undefined) counts as at least as extreme.
    null = np.where(np.isnan(result.null_losses), np.inf, result.null_losses)[:, included]
    spad = _spad(result.losses)
    null_spad = null.sum(axis=1)
    tolerance = 1e-10 * abs(spad) + 1e-14
    if n_permutations:
        null_mean = np.nanmean(result.null_losses, axis=0)
        null_q95 = np.nanquantile(result.null_losses, 0.95, axis=0)
        extreme = np.isnan(result.null_losses) | (
            result.null_losses >= result.losses - 1e-10 * np.abs(result.losses) - 1e-14
        )
        part_p = np.where(included, (1.0 + extreme.sum(axis=0)) / (1.0 + n_permutations), np.nan)
    else:
        null_mean = null_q95 = part_p = np.full(len(parts), np.nan)
    partitions = pd.DataFrame(
        {
            "partition": [p.name for p in parts],
            "kind": [p.kind for p in parts],
            "n_cells": [p.n_cells for p in parts],
            "n_used": [int(u.sum()) for u in result.used],
            "n_too_small": [int(((s > 0) & (s < min_cell_size)).sum()) for s in result.sizes],
            "n_empty": [int((s == 0).sum()) for s in result.sizes],
            "loss": result.losses,
            "null_mean": null_mean,
            "null_q95": null_q95,
            "excess": result.losses - null_mean,
            "p_value": part_p,
        }
    )
    p_value = (
        float((1 + (null_spad >= spad - tolerance).sum()) / (1 + n_permutations))
        if n_permutations
        else float("nan")
    )
    provenance = jsonable(
        {
            "method": "spatial_fairness_audit (SPAD, Xie et al. 2022)",
            "metric": name,
            "greater_is_better": direction,
            "n_samples": len(where.xy),
            "partitions": [p.name for p in parts],
            "min_cell_size": min_cell_size,
            "permutations": n_permutations,
            "seed": seed,
            "locations": where.source,
            "crs": where.crs.to_string(),
            "bounds": list(where.bounds),
            "dongne_version": __version__,
        }
    )
    return FairnessAudit(
        metric=name,
        greater_is_better=direction,
        overall=result.overall,
        n_samples=len(where.xy),
        min_cell_size=min_cell_size,
        cells=cells,
        partitions=partitions,
        spad=spad,
        spad_mean=spad / int(included.sum()),
        n_partitions_used=int(included.sum()),
        null_spad=null_spad,
        p_value=p_value,
        permutations=n_permutations,
        seed=seed,
        crs=where.crs,
        provenance=provenance,
        _parts=parts,
        _areas=where.areas,
    )


# --------------------------------------------------------------------------------------------
# Fairness-driven reweighting


class FairnessReweighted(MetaEstimatorMixin, BaseEstimator):
    """Refit an estimator with more weight on the places where it performs worse.

    The reweighting analogue of the bi-level fairness-driven training of Xie et al. (2022):
    start from the base fit; then, round by round, take one partitioning (the list is
    shuffled with ``seed`` and walked through, reshuffled after each pass, as the paper's
    outer loop), compute every cell's performance m_p and the overall m̄ with the current
    model, set the priority of each cell λ_p ∝ ReLU(m̄ − m_p) (ReLU(m_p − m̄) for error
    metrics), scaled so that the worst cell gets ``step``, multiply the sample weights of
    the cell's samples by (1 + λ_p), renormalise the weights to their original total, and
    refit. Finally keep the round with the lowest SPAD among those whose overall metric is
    within ``tolerance`` of the base fit (``select="best"``; the base fit itself is always
    eligible), or the last round (``select="last"``, as the paper).

    Correspondence with the paper, honestly: the paper fine-tunes a neural network on each
    cell's samples with a learning rate proportional to λ_p (largest 5e-4), so worse-off
    cells move the parameters further. For a loss that sums over samples, a larger step on a
    cell's samples acts like a larger weight on them in the gradient; here the weight change
    is made explicit and the estimator is refitted to convergence instead of taking a few
    gradient steps, and the weights accumulate across rounds the way fine-tuning updates
    accumulate in the parameters. It therefore works for any estimator whose ``fit``
    accepts ``sample_weight`` (linear models, trees, boosting). It is not the paper's
    optimiser. (In the released ``model_train.py`` the per-cell rate is assigned to a
    module variable after the Adam optimiser was built with a fixed rate, so as far as we
    can read it the rates do not reach the optimiser; we follow the paper's description.)
    Because weights only grow on worse-off cells, long runs can overshoot (a favoured
    place becomes the best served and another falls behind); ``select="best"`` guards
    against that, and ``history_`` shows the path.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Must accept ``sample_weight`` in ``fit``; it is cloned, never changed.
    partitions : as in :func:`spatial_fairness_audit`, default "grids"
        Column names refer to the ``areas`` passed to :meth:`fit`.
    metric : {"f1", "accuracy", "rmse", "mae", "r2"}, optional
        Default ``"f1"`` for classifiers, ``"rmse"`` otherwise.
    n_rounds : int, default 24
        Number of reweighting rounds (one partitioning each; 24 = one pass over the grids).
    step : float, default 0.5
        Largest relative weight increase per round (the worst cell's weights × (1 + step)).
    min_cell_size : int, default 10
        Cells with fewer training samples get no priority and are left out of SPAD.
    select : {"best", "last"}, default "best"
        Which round's model to keep (see above).
    tolerance : float, default 0.05
        For ``select="best"``: largest relative loss of the overall metric accepted (0.05 =
        RMSE at most 5 % higher, or F1 at most 5 % lower, than the base fit).
    cv : int, optional
        Where m_p is measured. ``None`` (default, as the released code): predictions on the
        training data themselves, cheap and fine for stiff models (linear, shallow trees);
        for flexible models that fit the training data almost exactly use ``cv=5``:
        out-of-fold predictions from a seeded ``KFold`` (``cv`` extra fits per round).
    rng : int, numpy.random.Generator or None, default None
        Seeds the order of partitionings and the folds (not the estimator's own
        ``random_state``; ``seed`` before 0.2); None means seed 0 (recorded in ``seed_``).

    Attributes
    ----------
    estimator_ : estimator
        The estimator of the selected round (used by ``predict``).
    base_estimator_ : estimator
        The fit with the starting weights.
    sample_weight_ : ndarray
        Sample weights of the selected round.
    selected_round_ : int
        The kept round (0 = base fit).
    history_ : pandas.DataFrame
        One row per round (round 0 = base fit): ``partition``, ``max_shortfall`` (of the
        worst cell, before scaling), ``spad``, ``spad_mean`` and ``metric`` (overall),
        measured as ``cv`` says, and ``selected``.
    audit_before_, audit_after_ : FairnessAudit
        Audits of the base and selected model on the evaluation predictions (no
        permutations). Selection used these predictions, so the "after" values are
        optimistic: confirm on held-out data.
    spad_before_, spad_after_, metric_before_, metric_after_ : float
    seed_ : int

    References
    ----------
    Xie, Y. et al. (2022). Fairness by "Where". AAAI 36(11):12208–12216.
    https://doi.org/10.1609/aaai.v36i11.21481

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 10_000, size=(300, 2))
    >>> X = rng.normal(size=(300, 2))
    >>> east = xy[:, 0] > 6_000
    >>> y = X[:, 0] + np.where(east, 2.0, 0.0) * X[:, 1] + rng.normal(0, 0.3, 300)
    >>> model = FairnessReweighted(LinearRegression(), n_rounds=24, rng=0)
    >>> model = model.fit(X, y, coords=xy, crs="EPSG:5179")
    >>> bool(model.spad_after_ < model.spad_before_)
    True
    """

    @renamed(seed="rng")
    def __init__(
        self,
        estimator: Any,
        *,
        partitions: Any = "grids",
        metric: str | None = None,
        n_rounds: int = 24,
        step: float = 0.5,
        select: str = "best",
        tolerance: float = 0.05,
        min_cell_size: int = 10,
        cv: int | None = None,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        self.estimator = estimator
        self.partitions = partitions
        self.metric = metric
        self.n_rounds = n_rounds
        self.step = step
        self.select = select
        self.tolerance = tolerance
        self.min_cell_size = min_cell_size
        self.cv = cv
        self.rng = rng

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        coords: Any = None,
        areas: gpd.GeoDataFrame | None = None,
        crs: Any = None,
        sample_weight: Any = None,
    ) -> FairnessReweighted:
        """Fit the base model, then reweight and refit ``n_rounds`` times; return ``self``.

        It is long because the reweighting rounds, the tolerance on the overall metric and the
        choice of the round (``select``) are one loop over shared state.

        ``coords``/``areas``/``crs`` give the training samples' locations as in
        :func:`spatial_fairness_audit`.
        """
        if not has_fit_parameter(self.estimator, "sample_weight"):
            raise SpecificationError(
                f"{type(self.estimator).__name__}.fit does not accept sample_weight, which "
                "FairnessReweighted needs. Fix: use an estimator that does (LinearRegression, "
                "Ridge, LogisticRegression, RandomForest*, HistGradientBoosting*, LGBM*)."
            )
        default = "f1" if is_classifier(self.estimator) else "rmse"
        metric, direction = _check_metric(default if self.metric is None else self.metric, None)
        if callable(metric):
            raise SpecificationError(
                "FairnessReweighted needs a named metric ('f1', 'accuracy', 'rmse', 'mae', 'r2')."
            )
        n_rounds = _check_int("n_rounds", self.n_rounds, 0)
        min_cell_size = _check_int("min_cell_size", self.min_cell_size, 1)
        if not (isinstance(self.step, int | float) and np.isfinite(self.step) and self.step > 0):
            raise SpecificationError(
                f"The 'step' parameter must be a positive number. Got {self.step!r} instead."
            )
        if self.select not in ("best", "last"):
            raise SpecificationError(
                f"The 'select' parameter must be 'best' or 'last'. Got {self.select!r} instead."
            )
        if not (isinstance(self.tolerance, int | float) and self.tolerance >= 0):
            raise SpecificationError(
                f"The 'tolerance' parameter must be a number >= 0. Got {self.tolerance!r}."
            )
        if self.cv is not None:
            _check_int("cv", self.cv, 2)
        self.seed_ = resolve_rng(self.rng)
        y_arr = np.asarray(y)
        where = _locations(len(y_arr), coords, areas, crs)
        parts = _partitionings(self.partitions, where)
        if sample_weight is None:
            weights = np.ones(len(y_arr))
        else:
            weights = np.asarray(sample_weight, dtype=float)
            if (
                weights.shape != y_arr.shape
                or not np.isfinite(weights).all()
                or (weights < 0).any()
            ):
                raise DataError(
                    "sample_weight must hold one finite, non-negative weight per sample."
                )
        total = weights.sum()
        rng = np.random.default_rng(self.seed_)
        order: list[int] = []
        while len(order) < n_rounds:
            order.extend(rng.permutation(len(parts)).tolist())
        folds = (
            list(KFold(self.cv, shuffle=True, random_state=self.seed_ % 2**32).split(y_arr))
            if self.cv is not None
            else None
        )

        model = clone(self.estimator).fit(X, y_arr, sample_weight=weights)
        self.base_estimator_ = model
        y_true, pred = _outcomes(y_arr, self._evaluation(X, y_arr, weights, model, folds), metric)
        state = _assess(metric, y_true, pred, parts, min_cell_size)
        self.audit_before_ = _audit(
            state, metric, direction, parts, where, min_cell_size, 0, self.seed_
        )
        sign = 1.0 if direction else -1.0
        # Worst acceptable overall metric for select="best", relative to the base fit.
        limit = state.overall * (1.0 - sign * self.tolerance)
        history = [self._record(0, "base fit", 0.0, state)]
        kept = (0, model, weights, state)
        for t in range(1, n_rounds + 1):
            k = order[t - 1]
            part = parts[k]
            shortfall = np.where(state.used[k], sign * (state.overall - state.performance[k]), 0.0)
            priority = np.maximum(np.nan_to_num(shortfall), 0.0)
            top = priority.max()
            if top > 0:
                priority *= self.step / top
                weights = weights * (1.0 + priority[part.labels])
                weights *= total / weights.sum()
                model = clone(self.estimator).fit(X, y_arr, sample_weight=weights)
                pred = self._evaluation(X, y_arr, weights, model, folds)
                state = _assess(
                    metric, y_true, _outcomes(y_arr, pred, metric)[1], parts, min_cell_size
                )
            history.append(self._record(t, part.name, float(top), state))
            acceptable = sign * (state.overall - limit) >= 0
            if self.select == "last" or (
                acceptable and _spad(state.losses) < history[kept[0]]["spad"]
            ):
                kept = (t, model, weights, state)
        self.selected_round_, model, weights, state = kept
        self.estimator_ = model
        self.sample_weight_ = weights
        self.audit_after_ = _audit(
            state, metric, direction, parts, where, min_cell_size, 0, self.seed_
        )
        self.history_ = pd.DataFrame(history)
        self.history_["selected"] = self.history_["round"] == self.selected_round_
        self.metric_ = metric
        self.spad_before_ = float(self.history_["spad"].iloc[0])
        self.spad_after_ = float(self.history_["spad"].iloc[self.selected_round_])
        self.metric_before_ = float(self.history_["metric"].iloc[0])
        self.metric_after_ = float(self.history_["metric"].iloc[self.selected_round_])
        if hasattr(model, "classes_"):
            self.classes_ = model.classes_
        self.provenance_ = jsonable(
            {
                "method": "FairnessReweighted (reweighting analogue of Xie et al. 2022)",
                "estimator": repr(self.estimator),
                "metric": metric,
                "partitions": [p.name for p in parts],
                "n_rounds": n_rounds,
                "step": self.step,
                "select": self.select,
                "tolerance": self.tolerance,
                "selected_round": self.selected_round_,
                "min_cell_size": min_cell_size,
                "cv": self.cv,
                "seed": self.seed_,
                "crs": where.crs.to_string(),
                "dongne_version": __version__,
            }
        )
        return self

    def _evaluation(
        self, X: Any, y: np.ndarray, weights: np.ndarray, model: Any, folds: list | None
    ) -> np.ndarray:
        """Predictions on which m_p is measured: in-sample, or out-of-fold with ``cv``."""
        if folds is None:
            return np.asarray(model.predict(X))
        out = np.empty(len(y), dtype=np.asarray(y).dtype if is_classifier(model) else float)
        for train, test in folds:
            fitted = clone(self.estimator).fit(
                _safe_indexing(X, train), y[train], sample_weight=weights[train]
            )
            out[test] = fitted.predict(_safe_indexing(X, test))
        return out

    @staticmethod
    def _record(t: int, name: str, top: float, state: _Assessment) -> dict[str, Any]:
        used = np.isfinite(state.losses)
        return {
            "round": t,
            "partition": name,
            "max_shortfall": top,
            "spad": _spad(state.losses),
            "spad_mean": _spad(state.losses) / max(int(used.sum()), 1),
            "metric": state.overall,
        }

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the final reweighted estimator."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def _has_proba(self) -> bool:
        return hasattr(self.estimator, "predict_proba")

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the final reweighted estimator."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def to_frame(self) -> pd.DataFrame:
        """One row per round: partition, largest priority, SPAD, mean loss, overall metric."""
        self._check_fitted()
        return self.history_.copy()

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Plain-language before/after comparison of SPAD and the overall metric."""
        self._check_fitted()
        if lang not in ("en", "ko"):
            raise SpecificationError(f"The 'lang' parameter must be 'en' or 'ko'. Got {lang!r}.")
        change = self.spad_after_ / self.spad_before_ - 1 if self.spad_before_ > 0 else 0.0
        where = "training data" if self.cv is None else f"{self.cv}-fold out-of-fold predictions"
        rule = (
            f"kept round {self.selected_round_}, the fairest within {self.tolerance:.0%} of the "
            "base metric"
            if self.select == "best"
            else "kept the last round"
        )
        rule_ko = (
            f"기본 모형 대비 성능 손실 {self.tolerance:.0%} 이내에서 가장 공정한 "
            f"{self.selected_round_}회차 선택"
            if self.select == "best"
            else "마지막 회차 선택"
        )
        if lang == "en":
            return (
                f"Fairness reweighting of {type(self.estimator).__name__} over "
                f"{len(self.history_) - 1} rounds (step {self.step}, seed {self.seed_}; "
                f"{rule}), measured on {where}: SPAD {self.spad_before_:.4g} → "
                f"{self.spad_after_:.4g} ({change:+.1%}); overall {self.metric_} "
                f"{self.metric_before_:.4g} → {self.metric_after_:.4g}. Worse-off places now "
                "weigh more in the fit. The round was chosen on these same predictions, so "
                "the gain is optimistic: confirm it on held-out data with "
                "spatial_fairness_audit before use."
            )
        where_ko = "학습 자료" if self.cv is None else f"{self.cv}겹 교차 예측"
        return (
            f"{type(self.estimator).__name__}의 공정성 재가중 {len(self.history_) - 1}회 "
            f"(step {self.step}, 시드 {self.seed_}; {rule_ko}, {where_ko} 기준): SPAD "
            f"{self.spad_before_:.4g} → {self.spad_after_:.4g} ({change:+.1%}); 전체 "
            f"{self.metric_} {self.metric_before_:.4g} → {self.metric_after_:.4g}. 성능이 "
            "나쁜 지역의 가중치를 높였습니다. 같은 예측으로 회차를 골랐으므로 개선 폭은 "
            "낙관적입니다. 사용 전 별도 검증 자료에서 spatial_fairness_audit로 확인하십시오."
        )

    def plot(self, *, path: str | os.PathLike[str] | None = None) -> Figure:
        """SPAD and the overall metric by round (two panels); returns the figure."""
        self._check_fitted()
        with matplotlib.rc_context({"font.family": [korean_font(), "DejaVu Sans"]}):
            figure = Figure(figsize=(8.0, 3.6), layout="constrained")
            FigureCanvasAgg(figure)
            left, right = figure.subplots(1, 2)
            left.plot(self.history_["round"], self.history_["spad"], marker="o", ms=3)
            left.set_xlabel("round / 회차")
            left.set_ylabel("SPAD (lower = fairer)")
            right.plot(
                self.history_["round"], self.history_["metric"], marker="o", ms=3, color="#d73027"
            )
            right.set_xlabel("round / 회차")
            right.set_ylabel(f"overall {self.metric_}")
            figure.suptitle("Fairness reweighting / 공정성 재가중", x=0.02, ha="left")
            if path is not None:
                figure.savefig(path, dpi=100, facecolor="white")
        return figure

    def _check_fitted(self) -> None:
        if not hasattr(self, "history_"):
            raise DongneError("This FairnessReweighted is not fitted yet; call fit(X, y, ...).")
