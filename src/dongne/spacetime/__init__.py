"""When and where: space-time data, space-time scan, emerging hot spots, neighbourhood change.

* :mod:`~dongne.spacetime.cube` — the areas × time steps data model and its checks;
* :mod:`~dongne.spacetime.scan` — space-time scan statistic (SaTScan's space-time
  permutation and Poisson models, retrospective and prospective);
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
from dongne.spacetime.scan import SpaceTimeScan, recurrence_text

__all__ = [
    "IncompleteAreasWarning",
    "MissingStepsWarning",
    "SpaceTimeCube",
    "SpaceTimeScan",
    "cube_from_events",
    "cube_from_long",
    "cube_from_wide",
    "read_cube",
    "recurrence_text",
]
