"""Figures and reports: maps whose Korean text renders offline with the bundled font.

See :mod:`dongne.report.maps`.
"""

from dongne.report.maps import SCHEMES, MapResult, choropleth, korean_font

__all__ = ["SCHEMES", "MapResult", "choropleth", "korean_font"]
