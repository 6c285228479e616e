"""Did the policy work? Difference-in-differences, synthetic control, interrupted time series.

* :mod:`~dongne.evaluate.panel` — area × period panels with treatment timing and checks.
* :mod:`~dongne.evaluate.did` — 2×2 DiD and two-way fixed effects with cluster-robust and
  wild-cluster bootstrap inference.
* :mod:`~dongne.evaluate.staggered` — Callaway & Sant'Anna (2021) ATT(g,t) and aggregations.
* :mod:`~dongne.evaluate.bacon` — Goodman-Bacon (2021) decomposition of the TWFE estimate.
* :mod:`~dongne.evaluate.spillover` — rings of untreated neighbours excluded or modelled.
* :mod:`~dongne.evaluate.synth` — synthetic control (Abadie, Diamond & Hainmueller 2010) with
  in-space placebos and leave-one-donor-out checks.
* :mod:`~dongne.evaluate.its` — interrupted time series (segmented regression, Poisson with
  an offset, Newey–West errors, controlled ITS).

See ``docs/evaluate-did.md`` and ``docs/evaluate-synth-its.md``.
"""

from dongne.evaluate.bacon import BaconDecomposition, bacon_decomposition
from dongne.evaluate.did import DiDResult, did_2x2, twfe
from dongne.evaluate.its import InterruptedTimeSeries, interrupted_time_series
from dongne.evaluate.panel import Panel, panel_from_frame, read_panel
from dongne.evaluate.spillover import SpilloverRule, find_exposed
from dongne.evaluate.staggered import AggregatedEffects, StaggeredResult, att_gt
from dongne.evaluate.synth import ConvexHullWarning, SyntheticControl, synthetic_control

__all__ = [
    "AggregatedEffects",
    "BaconDecomposition",
    "ConvexHullWarning",
    "DiDResult",
    "InterruptedTimeSeries",
    "Panel",
    "SpilloverRule",
    "StaggeredResult",
    "SyntheticControl",
    "att_gt",
    "bacon_decomposition",
    "did_2x2",
    "find_exposed",
    "interrupted_time_series",
    "panel_from_frame",
    "read_panel",
    "synthetic_control",
    "twfe",
]
