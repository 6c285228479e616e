"""How good is a regionalisation: homogeneity of each region and the shape of its territory.

* **within-region sum of squares** — ``Σ_r Σ_{i∈r} ‖x_i − x̄_r‖²`` (Ward's criterion);
* **pairwise dissimilarity** — ``Σ_r Σ_{i<j∈r} ‖x_i − x_j‖₁``, the max-p objective of
  Duque, Anselin & Rey (2012) as PySAL spopt computes it;
* **isoperimetric quotient** — ``4πA / P²`` of the region's dissolved polygon: 1 for a disc,
  near 0 for a sprawling shape (Polsby & Popper 1991);
* **convex hull ratio** — region area over the area of its convex hull (1 = convex).

References
----------
.. [1] Duque, J. C., Anselin, L. & Rey, S. J. (2012). The max-p-regions problem. *Journal of
   Regional Science* 52(3), 397–419.
.. [2] Polsby, D. D. & Popper, R. D. (1991). The third criterion: compactness as a procedural
   safeguard against partisan gerrymandering. *Yale Law & Policy Review* 9(2), 301–353.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dongne.errors import SpecificationError
from dongne.io.crs import to_metric

__all__ = ["pairwise_dissimilarity", "region_measures", "within_sum_of_squares"]


def _check(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    labels = np.asarray(labels)
    if len(labels) != len(x):
        raise SpecificationError(
            f"{len(labels)} labels for {len(x)} rows of attributes. Fix: one label per area."
        )
    return x, labels


def within_sum_of_squares(x: np.ndarray, labels: np.ndarray) -> float:
    """Σ over regions of the squared Euclidean distances of their areas to the region mean.

    Examples
    --------
    >>> within_sum_of_squares(np.array([0.0, 2.0, 10.0]), np.array([0, 0, 1]))
    2.0
    """
    x, labels = _check(x, labels)
    inv = np.unique(labels, return_inverse=True)[1]
    counts = np.bincount(inv).astype(float)
    total = 0.0
    for c in range(x.shape[1]):
        means = np.bincount(inv, x[:, c]) / counts
        total += float(((x[:, c] - means[inv]) ** 2).sum())
    return total


def pairwise_dissimilarity(x: np.ndarray, labels: np.ndarray) -> float:
    """Σ over regions of the cityblock distances between every pair of their areas.

    Computed per attribute from sorted values, ``Σ_k (2k − m + 1)·x_(k)``, in
    ``O(n log n)`` without a distance matrix.

    Examples
    --------
    >>> pairwise_dissimilarity(np.array([0.0, 2.0, 3.0, 10.0]), np.array([0, 0, 0, 1]))
    6.0
    """
    x, labels = _check(x, labels)
    order = np.lexsort((labels,))
    lab = labels[order]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    total = 0.0
    for c in range(x.shape[1]):
        col = x[order, c]
        for a, b in zip(starts, [*starts[1:], len(lab)], strict=True):
            v = np.sort(col[a:b])
            m = b - a
            total += float(((2 * np.arange(m) - m + 1) * v).sum())
    return total


def region_measures(
    areas: gpd.GeoDataFrame,
    labels: pd.Series | np.ndarray,
    x: np.ndarray | None = None,
    *,
    floor_values: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per region: areas, floor total, homogeneity and shape.

    Parameters
    ----------
    areas : GeoDataFrame
        The areas (any CRS; shapes are measured in a metric CRS).
    labels : array or Series
        Region of each area, in the order of ``areas``.
    x : array, optional
        Attributes (n × k) for the within-region sum of squares of each region.
    floor_values : array, optional
        The variable under the floor (households), summed per region.

    Returns
    -------
    DataFrame
        ``region``, ``areas``, ``floor_total``, ``within_ss``, ``area_km2``,
        ``isoperimetric_quotient``, ``convex_hull_ratio``, ``parts`` (1 when contiguous).
    """
    labels = np.asarray(labels)
    if len(labels) != len(areas):
        raise SpecificationError(f"{len(labels)} labels for {len(areas)} areas.")
    metric = to_metric(areas)
    geoms = np.asarray(metric.geometry.array)
    rows = []
    for r in pd.unique(labels):
        mask = labels == r
        shape = shapely.union_all(geoms[mask])
        area, perimeter = shapely.area(shape), shapely.length(shape)
        row = {
            "region": r,
            "areas": int(mask.sum()),
            "area_km2": area / 1e6,
            "isoperimetric_quotient": 4 * np.pi * area / perimeter**2 if perimeter else np.nan,
            "convex_hull_ratio": area / shapely.area(shapely.convex_hull(shape)),
            "parts": int(shapely.get_num_geometries(shape)),
        }
        if floor_values is not None:
            row["floor_total"] = float(np.asarray(floor_values, dtype=float)[mask].sum())
        if x is not None:
            row["within_ss"] = within_sum_of_squares(np.asarray(x)[mask], np.zeros(mask.sum()))
        rows.append(row)
    return pd.DataFrame(rows).sort_values("region", ignore_index=True)
