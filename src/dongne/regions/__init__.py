"""Boundaries change, patterns persist: interpolation across vintages, regions and typologies.

Public API
----------
overlay_areas, AreaOverlay, check_layer, LayerCheck, raster_points — the overlay of two
boundary sets (:mod:`dongne.regions.overlay`);
interpolate, Interpolation, resolve_kinds — areal interpolation by column kind
(:mod:`dongne.regions.interpolate`); join_from_vintage, VintageJoin — a table on the codes
of another bundled vintage moved onto areas by area (:mod:`dongne.regions.across`);
change_table, VintageChanges, RELATIONS — code history between vintages from geometry
(:mod:`dongne.regions.vintages`);
MaxP, Skater, AZP, WardRegions, SpectralRegions — contiguous regionalisation
(:mod:`dongne.regions.regionalise`);
within_sum_of_squares, pairwise_dissimilarity, region_measures — region quality
(:mod:`dongne.regions.quality`);
Typology, transitions — neighbourhood types (:mod:`dongne.regions.typology`).
"""

from dongne.regions._dasymetric import raster_points
from dongne.regions.across import VintageJoin, join_from_vintage
from dongne.regions.interpolate import Interpolation, interpolate, resolve_kinds
from dongne.regions.overlay import AreaOverlay, LayerCheck, check_layer, overlay_areas
from dongne.regions.quality import pairwise_dissimilarity, region_measures, within_sum_of_squares
from dongne.regions.regionalise import AZP, MaxP, Skater, SpectralRegions, WardRegions
from dongne.regions.typology import Typology, transitions
from dongne.regions.vintages import RELATIONS, VintageChanges, change_table

__all__ = [
    "AZP",
    "RELATIONS",
    "AreaOverlay",
    "Interpolation",
    "LayerCheck",
    "MaxP",
    "Skater",
    "SpectralRegions",
    "Typology",
    "VintageChanges",
    "VintageJoin",
    "WardRegions",
    "change_table",
    "check_layer",
    "interpolate",
    "join_from_vintage",
    "overlay_areas",
    "pairwise_dissimilarity",
    "raster_points",
    "region_measures",
    "resolve_kinds",
    "transitions",
    "within_sum_of_squares",
]
