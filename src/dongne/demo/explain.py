"""The bundled Seoul case of ``dongne explain``: the semi-basement household share per dong.

:data:`SEOUL_EXPLAIN` names the columns of :func:`dongne.demo.learn.seoul_learning_areas` that
``dongne explain`` uses when no AREAS file is given: the 2010 census semi-basement (반지하)
household share of the 423 dongs, explained by household density (log households per km²),
heat shelters per 10,000 households (2023), CCTV cameras per km² (log, 2023) and the gu's
livelihood-support recipient households per 100 households.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SEOUL_EXPLAIN"]

#: Column choices of the bundled Seoul case (``dongne explain MODEL`` without AREAS).
SEOUL_EXPLAIN: dict[str, Any] = {
    "id": "dong_code",
    "y": "basement_household_pct",
    "x": (
        "log_household_density",
        "shelters_per_10k_households",
        "log_cctv_per_km2",
        "gu_livelihood_per_100_households",
    ),
    "label": "반지하 가구 비율 (%) · basement household share",
    "source": "KOSTAT census 2010 (households), Seoul open data 2023 (shelters, CCTV); "
    "dongne bundled data",
}
