"""Points, not polygons: significant density clusters, point-pattern tests, density surfaces.

* :func:`point_pattern` — points in a study area with the null they are tested against
  (complete spatial randomness, or a population / control-point background).
* :class:`SignificantDBSCAN` — Significant DBSCAN+ (Xie & Shekhar 2019; Xie et al. 2022):
  multi-scale density clusters of any shape with Monte Carlo p-values.
* :func:`k_function`, :func:`l_function`, :func:`g_function`, :func:`f_function`,
  :func:`j_function`, :func:`cross_k_function`, :func:`envelope` — Ripley's functions with
  edge corrections and Monte Carlo envelopes; :func:`nearest_neighbour_index`,
  :func:`quadrat_test`, :func:`standard_ellipse`.
* :func:`kernel_density`, :func:`relative_risk` — density and relative-risk surfaces.
"""

from dongne.points.centrography import StandardEllipse, standard_ellipse
from dongne.points.dbscan import SignificantDBSCAN, default_scales
from dongne.points.distance import (
    FunctionEnvelope,
    NearestNeighbourIndex,
    boundary_distance,
    cross_k_function,
    envelope,
    f_function,
    g_function,
    j_function,
    k_function,
    l_function,
    nearest_neighbour_index,
    reference_grid,
)
from dongne.points.kde import DensitySurface, kernel_density, relative_risk, select_bandwidth
from dongne.points.pattern import PointPattern, point_pattern
from dongne.points.quadrat import QuadratTest, quadrat_test

__all__ = [
    "DensitySurface",
    "FunctionEnvelope",
    "NearestNeighbourIndex",
    "PointPattern",
    "QuadratTest",
    "SignificantDBSCAN",
    "StandardEllipse",
    "boundary_distance",
    "cross_k_function",
    "default_scales",
    "envelope",
    "f_function",
    "g_function",
    "j_function",
    "k_function",
    "kernel_density",
    "l_function",
    "nearest_neighbour_index",
    "point_pattern",
    "quadrat_test",
    "reference_grid",
    "relative_risk",
    "select_bandwidth",
    "standard_ellipse",
]
