"""Recommend where scarce resources go: facility location with equity, and budget allocation.

* :class:`MCLP`, :class:`LSCP`, :class:`PMedian`, :class:`PCenter` — coverage, median and
  center location models with existing sites, capacities and group equity, solved in-process
  by HiGHS (exact) or by greedy + interchange heuristics with a proven bound.
* :class:`LocationProblem` — demand, sites and distances (metric CRS or a cost matrix);
  :func:`spread_demand` (polygon demand over a grid or population points),
  :func:`demand_points`, :func:`candidate_grid`, :func:`parse_radius`, walking helpers.
* :func:`access_table`, :func:`gini`, :func:`pareto_sweep` — equity of access.
* :class:`BudgetAllocation` — split a budget across areas by need (LP).
* :func:`run_allocate` — the workflow behind ``dongne allocate``: files, maps, summary.
"""

from dongne.allocate.budget import BudgetAllocation
from dongne.allocate.equity import access_table, gini
from dongne.allocate.lscp import LSCP
from dongne.allocate.mclp import MCLP
from dongne.allocate.pareto import pareto_sweep, plot_pareto
from dongne.allocate.pcenter import PCenter
from dongne.allocate.pmedian import PMedian
from dongne.allocate.problem import (
    DEFAULT_WALKING_SPEED_KMH,
    DEMAND_METHODS,
    LocationProblem,
    candidate_grid,
    demand_points,
    parse_radius,
    spread_demand,
    walking_metres,
    walking_minutes,
)
from dongne.allocate.workflow import MODELS, AllocateOutputs, run_allocate

__all__ = [
    "DEFAULT_WALKING_SPEED_KMH",
    "DEMAND_METHODS",
    "LSCP",
    "MCLP",
    "MODELS",
    "AllocateOutputs",
    "BudgetAllocation",
    "LocationProblem",
    "PCenter",
    "PMedian",
    "access_table",
    "candidate_grid",
    "demand_points",
    "gini",
    "pareto_sweep",
    "parse_radius",
    "plot_pareto",
    "run_allocate",
    "spread_demand",
    "walking_metres",
    "walking_minutes",
]
