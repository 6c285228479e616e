"""When and where: space-time data, space-time scan, emerging hot spots, neighbourhood change.

* :mod:`~dongne.spacetime.cube` — the areas × time steps data model and its checks;
* :mod:`~dongne.spacetime.scan` — space-time scan statistic (SaTScan's space-time
  permutation and Poisson models, retrospective and prospective);
* :mod:`~dongne.spacetime.emerging` — emerging hot spot analysis (Gi* per step, Mann–Kendall
  trend, the 17 ArcGIS categories);
* :mod:`~dongne.spacetime.markov` — classic, spatial and LISA Markov chains, rank mobility
  (as PySAL giddy);
* :mod:`~dongne.spacetime.seoul` — the Seoul case (synthetic surveillance stream, real gu
  panel); :mod:`~dongne.spacetime.workflow` — run folders; :mod:`~dongne.spacetime.plots`.
"""

from dongne.spacetime.cube import (
    IncompleteAreasWarning,
    MissingStepsWarning,
    SpaceTimeCube,
    cube_from_events,
    cube_from_long,
    cube_from_wide,
    read_cube,
)
from dongne.spacetime.emerging import (
    CATEGORIES,
    EmergingHotSpots,
    classify_trends,
    emerging_hot_spots,
    mann_kendall,
    space_time_gi_star,
)
from dongne.spacetime.markov import (
    HomogeneityTest,
    LisaMarkov,
    RankMobility,
    SpatialMarkov,
    chi2_test,
    homogeneity_test,
    lisa_markov,
    quantile_classes,
    rank_mobility,
    spatial_markov,
    transition_counts,
)
from dongne.spacetime.scan import SpaceTimeScan, recurrence_text

__all__ = [
    "CATEGORIES",
    "EmergingHotSpots",
    "HomogeneityTest",
    "IncompleteAreasWarning",
    "LisaMarkov",
    "MissingStepsWarning",
    "RankMobility",
    "SpaceTimeCube",
    "SpaceTimeScan",
    "SpatialMarkov",
    "chi2_test",
    "classify_trends",
    "cube_from_events",
    "cube_from_long",
    "cube_from_wide",
    "emerging_hot_spots",
    "homogeneity_test",
    "lisa_markov",
    "mann_kendall",
    "quantile_classes",
    "rank_mobility",
    "read_cube",
    "recurrence_text",
    "space_time_gi_star",
    "spatial_markov",
    "transition_counts",
]
