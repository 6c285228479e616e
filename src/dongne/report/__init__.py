"""Figures and reports: maps whose Korean text renders offline with the bundled font.

See :mod:`dongne.report.maps`: :func:`choropleth` for numeric columns, :func:`category_map`
(with the palettes :data:`LISA_CATEGORIES` and :data:`HOTSPOT_CATEGORIES`) for labels; and
:mod:`dongne.report.document`: :func:`build_report` turns a saved run folder into one
self-contained HTML file or PDF for a council.
"""

from dongne.report.document import FORMATS, LANGUAGES, build_report, render_html
from dongne.report.maps import (
    HOTSPOT_CATEGORIES,
    LISA_CATEGORIES,
    SCHEMES,
    CategoryMapResult,
    MapResult,
    category_map,
    choropleth,
    korean_font,
    save_png,
)
from dongne.report.run import AnalysisRun, read_run
from dongne.report.sections import ReportSection, register_section

__all__ = [
    "FORMATS",
    "HOTSPOT_CATEGORIES",
    "LANGUAGES",
    "LISA_CATEGORIES",
    "SCHEMES",
    "AnalysisRun",
    "CategoryMapResult",
    "MapResult",
    "ReportSection",
    "build_report",
    "category_map",
    "choropleth",
    "korean_font",
    "read_run",
    "register_section",
    "render_html",
    "save_png",
]
