"""Predict need with models that survive a move to another district or year.

* :mod:`~dongne.learn.cv` — spatial cross-validation (group, block, buffered) and the
  random-vs-spatial optimism gap.
* :mod:`~dongne.learn.shift` — shift diagnostics: domain classifier, KS/PSI, MMD, importance
  weighted target performance.
* :mod:`~dongne.learn.robust` — importance weighting, group reweighting and group DRO around
  any scikit-learn estimator; worst-group reports.
* :mod:`~dongne.learn.fairness` — spatial-fairness audit (SPAD over 24 grids and
  administrative units, permutation test) and fairness-driven reweighting (Xie et al. 2022).
* :mod:`~dongne.learn.regret` — allocation regret: the coverage a city loses by allocating on
  predicted instead of true need.
* :mod:`~dongne.learn.tasks` — the Seoul north→south task and a synthetic shift generator.

See ``docs/learn.md`` and ``docs/learn-fairness.md``.
"""

from dongne.learn.cv import BufferedCV, LeaveGroupOut, SpatialBlockCV, cv_compare
from dongne.learn.fairness import (
    GRID_SHAPES,
    METRICS,
    FairnessAudit,
    FairnessReweighted,
    spatial_fairness_audit,
)
from dongne.learn.regret import AllocationRegret, allocation_regret
from dongne.learn.robust import GroupDRO, GroupReweighted, ImportanceWeighted, group_report
from dongne.learn.shift import ShiftDiagnostics
from dongne.learn.tasks import seoul_basement_task, synthetic_shift_task

__all__ = [
    "GRID_SHAPES",
    "METRICS",
    "AllocationRegret",
    "BufferedCV",
    "FairnessAudit",
    "FairnessReweighted",
    "GroupDRO",
    "GroupReweighted",
    "ImportanceWeighted",
    "LeaveGroupOut",
    "ShiftDiagnostics",
    "SpatialBlockCV",
    "allocation_regret",
    "cv_compare",
    "group_report",
    "seoul_basement_task",
    "spatial_fairness_audit",
    "synthetic_shift_task",
]
