"""Did the policy work? Difference-in-differences, synthetic control, interrupted time series.

* :mod:`~dongne.evaluate.panel` — area × period panels with treatment timing and checks.
* :mod:`~dongne.evaluate.did` — 2×2 DiD and two-way fixed effects with cluster-robust and
  wild-cluster bootstrap inference.
* :mod:`~dongne.evaluate.staggered` — Callaway & Sant'Anna (2021) ATT(g,t) and aggregations.
* :mod:`~dongne.evaluate.bacon` — Goodman-Bacon (2021) decomposition of the TWFE estimate.
* :mod:`~dongne.evaluate.spillover` — rings of untreated neighbours excluded or modelled.

See ``docs/evaluate-did.md``.
"""

from dongne.evaluate.bacon import BaconDecomposition, bacon_decomposition
from dongne.evaluate.did import DiDResult, did_2x2, twfe
from dongne.evaluate.panel import Panel, panel_from_frame, read_panel
from dongne.evaluate.spillover import SpilloverRule, find_exposed
from dongne.evaluate.staggered import AggregatedEffects, StaggeredResult, att_gt

__all__ = [
    "AggregatedEffects",
    "BaconDecomposition",
    "DiDResult",
    "Panel",
    "SpilloverRule",
    "StaggeredResult",
    "att_gt",
    "bacon_decomposition",
    "did_2x2",
    "find_exposed",
    "panel_from_frame",
    "read_panel",
    "twfe",
]
