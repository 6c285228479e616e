"""Input checks shared by the spatial statistics: alignment, missing values, seeds, batches."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from dongne._vocab import resolve_rng
from dongne._warnings import user_stacklevel
from dongne.errors import DataError, DongneWarning, SpecificationError, format_rows
from dongne.parallel.batches import BATCH_SIZE
from dongne.weights import SpatialWeights

MissingPolicy = Literal["raise", "drop", "label"]
MISSING_POLICIES = ("raise", "drop", "label")


def resolve_seed(rng: int | np.random.Generator | None) -> int:
    """Turn the ``rng`` argument into the 63-bit integer seed of the counter-based streams.

    The one rule of :func:`dongne._vocab.resolve_rng`: ``None`` is the fixed seed 0; the seed
    is recorded in the result.
    """
    return resolve_rng(rng)


def align(y: Any, w: SpatialWeights, name: str = "y") -> pd.Series:
    """Return ``y`` as a float Series in the row order of ``w``.

    A Series whose index holds every id of ``w`` is aligned by label (extra labels are an
    error, so nothing is silently ignored); an array-like of length n is taken in row order.
    """
    if not isinstance(w, SpatialWeights):
        raise SpecificationError(
            f"w must be a dongne.weights.SpatialWeights, got {type(w).__name__}. Build one with "
            "dongne.weights.queen(areas, ids=...) or SpatialWeights.from_sparse(...)."
        )
    if isinstance(y, pd.Series) and not isinstance(y.index, pd.RangeIndex):
        missing = w.ids.difference(y.index)
        extra = y.index.difference(w.ids)
        if len(missing) or len(extra):
            raise DataError(
                f"{name} is indexed by ids that do not match the weights: "
                f"{len(missing)} weight ids missing from {name} ({format_rows(missing)}), "
                f"{len(extra)} {name} labels not in the weights ({format_rows(extra)}). "
                f"Fix: index {name} by the same ids as the weights (e.g. "
                "frame.set_index('dong_code')[column])."
            )
        if not y.index.is_unique:
            raise DataError(f"{name} has repeated index labels; each area must appear once.")
        y = y.reindex(w.ids)
    raw = pd.Series(np.asarray(y, dtype=object).ravel())
    values = pd.to_numeric(raw, errors="coerce")
    if len(values) != w.n:
        raise DataError(
            f"{name} has {len(values)} values but the weights have {w.n} areas. Fix: pass one "
            "value per area, in the weights' order, or a Series indexed by the weights' ids."
        )
    bad = values.isna() & raw.notna()
    if bad.any():
        raise DataError(
            f"{name} has non-numeric values for areas {format_rows(w.ids[bad.to_numpy()])}."
        )
    return pd.Series(values.to_numpy(dtype=float), index=w.ids, name=getattr(y, "name", name))


def handle_missing(
    y: pd.Series, w: SpatialWeights, missing: MissingPolicy
) -> tuple[pd.Series, SpatialWeights, pd.Index]:
    """Apply the missing-data policy; return complete values, their weights, ids left out.

    ``raise`` (default): error naming the areas. ``drop`` and ``label``: the statistic is
    computed on the areas with values, with the weights restricted to them (rows
    re-standardised when they were row-standardised); the left-out areas are reported — by
    ``drop`` in the result's ``missing_ids_`` only, by ``label`` also as rows labelled
    ``"undefined"``.
    """
    if missing not in MISSING_POLICIES:
        raise SpecificationError(
            f"The 'missing' parameter must be one of {MISSING_POLICIES}. Got {missing!r}."
        )
    na = y.isna().to_numpy()
    if not na.any():
        return y, w, pd.Index([])
    ids = w.ids[na]
    if missing == "raise":
        raise DataError(
            f"{y.name!s} is missing for {na.sum()} area(s): {format_rows(ids)}. Fix: fill the "
            "values, or pass missing='drop' or missing='label' to compute without them (they "
            "are then reported as undefined, never silently dropped)."
        )
    keep = ~na
    sub = w.to_sparse()[keep][:, keep]
    params = {**w.params, "subset_of": w.n, "left_out": [str(i) for i in ids]}
    if w.transform == "row":
        from scipy import sparse

        binary = sparse.csr_array((np.ones_like(sub.data), sub.indices, sub.indptr), sub.shape)
        sw = SpatialWeights(binary, w.ids[keep], w.kind, "binary", params).row_standardised()
    else:
        sw = SpatialWeights(sub, w.ids[keep], w.kind, w.transform, params)
    return y[keep], sw, ids


def transformed(w: SpatialWeights, transform: str) -> SpatialWeights:
    """The weights a statistic uses: ``"row"``-standardised, ``"binary"`` or ``"as_is"``."""
    if transform == "row":
        return w.row_standardised()
    if transform == "binary":
        return w.binary()
    return w


def check_values(y: pd.Series, minimum_n: int = 3) -> None:
    """Refuse fewer than ``minimum_n`` areas and constant values, with the fix."""
    if len(y) < minimum_n:
        raise DataError(
            f"{y.name!s}: {len(y)} area(s) with values; spatial statistics need at least "
            f"{minimum_n}. Fix: use a finer set of areas."
        )
    if not np.isfinite(y.to_numpy()).all():
        raise DataError(
            f"{y.name!s} has infinite values (areas {format_rows(y.index[~np.isfinite(y)])})."
        )
    if np.ptp(y.to_numpy()) == 0:
        raise DataError(
            f"{y.name!s} is constant ({y.iloc[0]:g} everywhere): it has no spatial pattern to "
            "test. Fix: check that the right column was chosen."
        )


def warn_islands(w: SpatialWeights, what: str) -> np.ndarray:
    """Warn about areas without neighbours; return the boolean island mask."""
    islands = w.cardinalities == 0
    if islands.any():
        warnings.warn(
            f"{islands.sum()} area(s) have no neighbours ({format_rows(w.ids[islands])}); "
            f"their {what} is undefined (NaN, labelled 'island'). Fix: w.attach_islands(areas) "
            "or use k-nearest-neighbour weights.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
    return islands


#: Rows of the per-batch table of neighbour samples (``permutation_method="table"``): 64 times
#: the batch, so two sites share on average 1/64 of their permutations; capped at 64 MB.
TABLE_ROWS_PER_PERMUTATION = 64
TABLE_MAX_BYTES = 64 * 2**20


def table_rows(kmax: int) -> int:
    """Rows of the per-batch table of samples for neighbour sets of at most ``kmax`` areas."""
    return max(
        BATCH_SIZE,
        min(TABLE_ROWS_PER_PERMUTATION * BATCH_SIZE, TABLE_MAX_BYTES // (4 * max(kmax, 1))),
    )


def table_kernel(kmax: int, n: int) -> Callable[..., tuple[np.ndarray, ...]]:
    """Kernel for ``run_batches`` (:mod:`dongne.parallel.batches`): sample table, then counts."""
    from dongne.detect._kernels import local_permutation_counts_rows, permutation_rows

    rows = table_rows(kmax)

    def kernel(*args: Any) -> tuple[np.ndarray, ...]:
        *data, seed, first, count = args
        batch = first // BATCH_SIZE
        table = permutation_rows(seed, batch, rows, max(kmax, 1), n - 1)
        return local_permutation_counts_rows(*data, seed, batch, count, table)

    return kernel
