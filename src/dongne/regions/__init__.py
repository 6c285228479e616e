"""Boundaries change, patterns persist: interpolation across vintages, regions and typologies.

Public API
----------
overlay_areas, AreaOverlay, check_layer, LayerCheck, raster_points — the overlay of two
boundary sets (:mod:`dongne.regions.overlay`);
interpolate, Interpolation, resolve_kinds — areal interpolation by column kind
(:mod:`dongne.regions.interpolate`).
"""

from dongne.regions._dasymetric import raster_points
from dongne.regions.interpolate import Interpolation, interpolate, resolve_kinds
from dongne.regions.overlay import AreaOverlay, LayerCheck, check_layer, overlay_areas

__all__ = [
    "AreaOverlay",
    "Interpolation",
    "LayerCheck",
    "check_layer",
    "interpolate",
    "overlay_areas",
    "raster_points",
    "resolve_kinds",
]
