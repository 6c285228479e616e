"""The weights matrix of a spatial regression, checked: size, islands, finite values."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from dongne.errors import DataError, SpecificationError, format_rows
from dongne.weights import SpatialWeights

__all__ = ["refuse_scheduler", "weights_matrix"]


def weights_matrix(
    w: SpatialWeights | sparse.sparray | sparse.spmatrix, n: int, rows: tuple | None = None
) -> sparse.csr_array:
    """``w`` as a CSR array of shape (n, n) with no island and a zero diagonal.

    Raises
    ------
    SpecificationError
        ``w`` is not n × n.
    DataError
        Some units have no neighbour (islands): their spatial lag is 0, which silently biases
        every spatial test and model. The islands are named with the fix.
    """
    labels = None
    if isinstance(w, SpatialWeights):
        labels = list(w.ids)
        matrix = sparse.csr_array(w.to_sparse(), dtype=float)
    else:
        matrix = sparse.csr_array(w, dtype=float)
    if matrix.shape != (n, n):
        raise SpecificationError(
            f"The weights are {matrix.shape[0]} × {matrix.shape[1]} but the regression has {n} "
            "observations. Fix: build the weights on the same areas, in the same order."
        )
    if not np.isfinite(matrix.data).all():
        raise DataError("The weights hold missing or infinite values. Fix: rebuild the weights.")
    if matrix.diagonal().any():
        raise DataError(
            "The weights link some units to themselves (non-zero diagonal). Fix: build "
            "contiguity or k-nearest-neighbour weights, which leave the diagonal at zero."
        )
    empty = np.flatnonzero(np.diff(matrix.indptr) == 0)
    if empty.size:
        names = labels or list(rows or range(n))
        raise DataError(
            f"{empty.size} unit(s) have no neighbour in the weights (islands): "
            f"{format_rows([names[i] for i in empty])}. Their spatial lag would be 0 and bias "
            "the spatial tests and models. Fix: use weights='queen:SNAP_M' with a snapping "
            "distance, weights='knn:K', or remove the islands."
        )
    return matrix


def refuse_scheduler(scheduler: object) -> None:
    """The draws of :mod:`dongne.explain` run in this process: refuse any other scheduler."""
    if scheduler not in (None, "threads"):
        raise SpecificationError(
            f"The explain draws run in this process; scheduler={scheduler!r} is not supported "
            "yet. Fix: leave scheduler=None."
        )
