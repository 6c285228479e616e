"""Find vulnerable areas: vulnerability indices, spatial autocorrelation, multiple testing."""

from dongne.detect.inference import adjust_pvalues, permutation_pvalues, significance_floor
from dongne.detect.local import GetisOrd, LocalMoran, getis_ord, local_moran

__all__ = [
    "GetisOrd",
    "LocalMoran",
    "adjust_pvalues",
    "getis_ord",
    "local_moran",
    "permutation_pvalues",
    "significance_floor",
]
