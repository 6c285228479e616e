"""Figures and reports: maps whose Korean text renders offline with the bundled font.

See :mod:`dongne.report.maps`: :func:`choropleth` for numeric columns, :func:`category_map`
(with the palettes :data:`LISA_CATEGORIES` and :data:`HOTSPOT_CATEGORIES`) for labels.
"""

from dongne.report.maps import (
    HOTSPOT_CATEGORIES,
    LISA_CATEGORIES,
    SCHEMES,
    CategoryMapResult,
    MapResult,
    category_map,
    choropleth,
    korean_font,
)

__all__ = [
    "HOTSPOT_CATEGORIES",
    "LISA_CATEGORIES",
    "SCHEMES",
    "CategoryMapResult",
    "MapResult",
    "category_map",
    "choropleth",
    "korean_font",
]
