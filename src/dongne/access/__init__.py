"""Who can reach what: spatial accessibility on street networks or in straight lines.

* :func:`build_network`, :func:`read_network`, :class:`Network` — a routable network from a
  road line layer the user brings (walk / bike / drive; one-way and speed columns; cached on
  disk); :func:`network_costs` — cut-off Dijkstra costs between two point layers, snapping
  distances and islands reported.
* :class:`Costs`, :func:`straight_line_costs` — the sparse origin × destination pairs within a
  cut-off, from a network, straight lines or a user's matrix.
* Measures (:mod:`dongne.access.measures`): :func:`nearest_cost`,
  :func:`cumulative_opportunities`, :func:`gravity_access`, :func:`two_step_fca` (2SFCA,
  E2SFCA, kernel-density 2SFCA by the decay), :func:`three_step_fca`, :func:`fca_ratio`,
  :func:`raam`; decay functions in :mod:`dongne.access.decay`. Equal to the PySAL ``access``
  package on the same inputs.
* :func:`accessibility` (one measure by name) and :func:`run_access` — the workflow behind
  ``dongne access``: fine demand, costs, measure, per-area results, map and summary.
"""

from dongne.access.costs import Costs, straight_line_costs
from dongne.access.decay import (
    E2SFCA_STEPS,
    THREE_STEP_WEIGHTS,
    dai_gaussian_decay,
    exponential_decay,
    gaussian_decay,
    power_decay,
    step_decay,
)
from dongne.access.measures import (
    cumulative_opportunities,
    fca_ratio,
    gravity_access,
    nearest_cost,
    three_step_fca,
    two_step_fca,
)
from dongne.access.network import PROFILES, Network, build_network, network_costs, read_network
from dongne.access.raam import raam
from dongne.access.workflow import MEASURES, AccessOutputs, accessibility, run_access

__all__ = [
    "E2SFCA_STEPS",
    "MEASURES",
    "PROFILES",
    "THREE_STEP_WEIGHTS",
    "AccessOutputs",
    "Costs",
    "Network",
    "accessibility",
    "build_network",
    "cumulative_opportunities",
    "dai_gaussian_decay",
    "exponential_decay",
    "fca_ratio",
    "gaussian_decay",
    "gravity_access",
    "nearest_cost",
    "network_costs",
    "power_decay",
    "raam",
    "read_network",
    "run_access",
    "step_decay",
    "straight_line_costs",
    "three_step_fca",
    "two_step_fca",
]
