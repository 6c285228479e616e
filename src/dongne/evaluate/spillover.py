"""Spatial spillovers: untreated areas next to treated ones are not clean controls.

A policy in one neighbourhood often reaches the next (shoppers, commuters, displaced crime),
which breaks the "no interference" part of SUTVA that difference-in-differences relies on
(Butts 2021). :class:`SpilloverRule` says which untreated areas count as *exposed* — those
within ``ring`` contiguity steps of a treated area in a :class:`~dongne.weights.SpatialWeights`,
or within ``distance`` metres of one given the area polygons — and what to do with them:

* ``"exclude"`` drops them, so that controls are only areas away from any treated one;
* ``"exposure"`` drops them from the controls and estimates the effect *on them* separately,
  with the same estimator, against the remaining clean controls (their exposure starts when
  the first treated area near them is treated);
* ``"ignore"`` keeps them as controls (the usual, possibly biased, analysis) but still reports
  who they are.

References
----------
.. [1] Butts, K. (2021). Difference-in-differences estimation with spatial spillovers.
   arXiv:2105.03737.
.. [2] Clarke, D. (2017). Estimating difference-in-differences in the presence of spillovers.
   MPRA Paper 81604 (ring exclusion of close controls).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dongne.errors import DataError, SpecificationError, format_rows
from dongne.evaluate.panel import Panel
from dongne.io.crs import to_metric
from dongne.weights import SpatialWeights

__all__ = ["Exposure", "SpilloverRule", "find_exposed"]

Handling = Literal["exclude", "exposure", "ignore"]


@dataclass(frozen=True)
class SpilloverRule:
    """How to find and handle untreated areas exposed to treated neighbours.

    Parameters
    ----------
    handling : {"exclude", "exposure", "ignore"}, default "exclude"
        See the module docstring.
    weights : SpatialWeights, optional
        Neighbour structure over (at least) the panel's units, ids equal to the unit ids.
        Any stored weight > 0 is a link; the transform does not matter.
    ring : int, default 1
        Contiguity order: 1 = direct neighbours of treated areas, 2 = also their neighbours.
    areas : GeoDataFrame, optional
        Area polygons (any CRS; distances are computed in a metric CRS), instead of ``weights``.
    id_column : str, optional
        Column of ``areas`` holding the unit ids; the index by default.
    distance : float, optional
        With ``areas``: an untreated area is exposed if it lies within this many metres of a
        treated area (0 = touching).
    """

    handling: Handling = "exclude"
    weights: SpatialWeights | None = None
    ring: int = 1
    areas: gpd.GeoDataFrame | None = None
    id_column: str | None = None
    distance: float | None = None

    def describe(self) -> str:
        """The rule in words (for summaries and provenance)."""
        if self.weights is not None:
            reach = f"within {self.ring} contiguity step(s) ({self.weights.kind} weights)"
        else:
            reach = f"within {self.distance:g} m"
        return f"untreated areas {reach} of a treated area, handling '{self.handling}'"


@dataclass(frozen=True)
class Exposure:
    """Untreated units found exposed to treated neighbours.

    Attributes
    ----------
    rule : SpilloverRule
    exposed : pandas.Index
        Never-treated units within reach of an ever-treated unit.
    exposure_start : pandas.Series
        Per exposed unit, the earliest first-treated period among the treated units reaching it.
    """

    rule: SpilloverRule
    exposed: pd.Index
    exposure_start: pd.Series

    def to_params(self) -> dict[str, object]:
        """Provenance record: the rule and the exposed units."""
        return {
            "rule": self.rule.describe(),
            "handling": self.rule.handling,
            "ring": self.rule.ring if self.rule.weights is not None else None,
            "distance_m": self.rule.distance,
            "exposed_units": [str(u) for u in self.exposed],
        }


def _check_rule(rule: SpilloverRule) -> None:
    if rule.handling not in ("exclude", "exposure", "ignore"):
        raise SpecificationError(
            "SpilloverRule.handling must be 'exclude', 'exposure' or 'ignore'. "
            f"Got {rule.handling!r}."
        )
    if (rule.weights is None) == (rule.areas is None):
        raise SpecificationError(
            "SpilloverRule needs either weights=SpatialWeights (with ring=k) or areas=GeoDataFrame "
            "(with distance=metres), not both and not neither."
        )
    if rule.weights is not None and (not isinstance(rule.ring, int) or rule.ring < 1):
        raise SpecificationError(f"SpilloverRule.ring must be an int >= 1. Got {rule.ring!r}.")
    if rule.areas is not None and (rule.distance is None or rule.distance < 0):
        raise SpecificationError(
            "SpilloverRule with areas needs distance=METRES (>= 0; 0 means touching). "
            f"Got {rule.distance!r}."
        )


def _reach_by_weights(rule: SpilloverRule, units: pd.Index, g: np.ndarray) -> np.ndarray:
    w = rule.weights
    assert w is not None
    missing = units.difference(w.ids)
    if len(missing):
        raise DataError(
            f"{len(missing)} panel unit(s) are not in the spatial weights: {format_rows(missing)}. "
            "Fix: build the weights from areas with the same ids as the panel's unit column."
        )
    pos = w.ids.get_indexer(units)
    start = np.full(w.n, np.inf)
    start[pos] = g
    indptr, indices = w.indptr, w.indices
    has_nb = np.diff(indptr) > 0
    current = start.copy()
    for _ in range(rule.ring):
        nb_min = np.full(w.n, np.inf)
        if len(indices):
            mins = np.minimum.reduceat(current[indices], indptr[:-1][has_nb])
            nb_min[has_nb] = mins
        current = np.minimum(current, nb_min)
    return current[pos]


def _reach_by_distance(rule: SpilloverRule, units: pd.Index, g: np.ndarray) -> np.ndarray:
    areas = to_metric(rule.areas, "the spillover areas")  # type: ignore[arg-type]
    ids = pd.Index(areas[rule.id_column] if rule.id_column else areas.index)
    missing = units.difference(ids)
    if len(missing):
        raise DataError(
            f"{len(missing)} panel unit(s) have no polygon in the spillover areas: "
            f"{format_rows(missing)}. Fix: pass areas whose "
            f"{'column ' + repr(rule.id_column) if rule.id_column else 'index'} holds the unit ids."
        )
    geoms = areas.geometry.to_numpy()[ids.get_indexer(units)]
    treated = np.flatnonzero(np.isfinite(g))
    reach = np.full(len(units), np.inf)
    if len(treated) == 0:
        return reach
    tree = shapely.STRtree(geoms[treated])
    src, dst = tree.query(geoms, predicate="dwithin", distance=float(rule.distance))  # type: ignore[arg-type]
    np.minimum.at(reach, src, g[treated][dst])
    return reach


def find_exposed(panel: Panel, rule: SpilloverRule) -> Exposure:
    """Find the never-treated units within reach of an ever-treated unit.

    Parameters
    ----------
    panel : Panel
    rule : SpilloverRule

    Returns
    -------
    Exposure
    """
    _check_rule(rule)
    g = panel.first_treated.to_numpy(dtype=float)
    if rule.weights is not None:
        reach = _reach_by_weights(rule, panel.units, g)
    else:
        reach = _reach_by_distance(rule, panel.units, g)
    exposed = np.isinf(g) & np.isfinite(reach)
    return Exposure(
        rule=rule,
        exposed=panel.units[exposed],
        exposure_start=pd.Series(reach[exposed], index=panel.units[exposed], name="exposure_start"),
    )


def split_for_spillover(panel: Panel, exposure: Exposure) -> tuple[Panel, Panel | None]:
    """The panel for the main estimate and, for ``"exposure"``, the panel for the exposed units.

    The main panel drops the exposed units unless the handling is ``"ignore"``. The exposure
    panel holds the exposed units (first treated = their exposure start) and the clean
    never-treated units; treated units are left out of it.
    """
    handling = exposure.rule.handling
    if handling == "ignore" or len(exposure.exposed) == 0:
        return panel, None
    keep = panel.units.difference(exposure.exposed, sort=False)
    main = panel.subset(
        keep,
        note=f"Spillover rule ({exposure.rule.describe()}): {len(exposure.exposed)} exposed "
        f"control unit(s) removed from the controls: {format_rows(exposure.exposed)}.",
    )
    if handling == "exclude":
        return main, None
    clean = panel.never_treated().difference(exposure.exposed, sort=False)
    sub = panel.subset(
        exposure.exposed.append(clean),
        note="Exposure analysis: exposed units as 'treated' from their first treated neighbour's "
        "start, against clean never-treated controls.",
    )
    g = sub.first_treated.copy()
    g[exposure.exposed] = exposure.exposure_start
    return main, sub.with_first_treated(g)
