"""Find vulnerable areas: vulnerability indices, spatial autocorrelation, scan statistics."""

from dongne.detect.index import RankStability, VulnerabilityIndex
from dongne.detect.inference import adjust_pvalues, permutation_pvalues, significance_floor
from dongne.detect.local import GetisOrd, LocalMoran, getis_ord, local_moran
from dongne.detect.moran import GlobalMoran, moran
from dongne.detect.scan import ScanStatistic, expected_counts, scan_statistic

__all__ = [
    "GetisOrd",
    "GlobalMoran",
    "LocalMoran",
    "RankStability",
    "ScanStatistic",
    "VulnerabilityIndex",
    "adjust_pvalues",
    "expected_counts",
    "getis_ord",
    "local_moran",
    "moran",
    "permutation_pvalues",
    "scan_statistic",
    "significance_floor",
]
