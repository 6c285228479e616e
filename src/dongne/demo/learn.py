"""The learn part of ``dongne demo``: the bundled Seoul north → south task.

:func:`seoul_learning_areas` builds the task as one GeoDataFrame of the 423 dongs and
:data:`SEOUL_DEFAULTS` names its columns (``dongne learn --seoul`` uses both);
:func:`run_demo_learning` runs the four generic learn workflows of
:mod:`dongne.learn.workflow` on it with :data:`DEMO_SETTINGS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from dongne.learn.workflow import (
    LearnOutputs,
    SpatialScheme,
    domain_masks,
    run_learn_audit,
    run_learn_cv,
    run_learn_regret,
    run_learn_shift,
)

__all__ = ["DEMO_SETTINGS", "SEOUL_DEFAULTS", "run_demo_learning", "seoul_learning_areas"]

#: Column choices of the bundled Seoul task (``--seoul``; :func:`seoul_learning_areas`).
SEOUL_DEFAULTS: dict[str, Any] = {
    "id": "dong_code",
    "target": "basement_household_pct",
    "features": (
        "log_household_density",
        "log_area_km2",
        "shelters_per_10k_households",
        "shelter_capacity_per_household",
        "senior_center_shelter_share",
        "log_cctv_per_km2",
        "cctv_per_1k_households",
        "easting_km",
        "northing_km",
        "dist_city_hall_km",
        "gu_pop_65plus_pct",
        "gu_livelihood_per_100_households",
    ),
    "group": "gu_name_en",
    "domain": "han_river_side",
    "source": "north",
    "target_domain": "south",
    "exposure": "households_per_100",
}


def seoul_learning_areas() -> gpd.GeoDataFrame:
    """The bundled Seoul north → south task as one GeoDataFrame of the 423 dongs.

    The dongs of :func:`dongne.datasets.seoul_dongs` with the twelve features of
    :func:`dongne.learn.tasks.seoul_basement_task`, ``han_river_side`` (``"north"`` for the
    14 gu north of the Han river, ``"south"`` for the 11 south of it) and
    ``households_per_100`` (2010 households / 100: need = share in % × this = basement
    households). :data:`SEOUL_DEFAULTS` names the columns ``dongne learn --seoul`` uses.

    Examples
    --------
    >>> areas = seoul_learning_areas()
    >>> len(areas), areas["han_river_side"].value_counts().to_dict()
    (423, {'north': 222, 'south': 201})
    """
    from dongne.learn.tasks import seoul_basement_task

    task = seoul_basement_task()
    areas = task.areas.reset_index(drop=True).copy()
    for column in task.X.columns:
        areas[column] = task.X[column].to_numpy()
    areas["han_river_side"] = np.where(task.source, "north", "south")
    areas["households_per_100"] = task.exposure.to_numpy()
    areas.attrs = task.areas.attrs
    return areas


#: Settings of :func:`run_demo_learning` (kept small so the demo stays fast).
DEMO_SETTINGS: dict[str, Any] = {
    "model": "ridge",
    "scheme": SpatialScheme(group="gu_name_en"),
    "shift_permutations": (9, 999),
    "p": 10,
    "radius": "1km",
    "methods": ("naive", "group_dro"),
    "partitions": ("grids", "gu_name"),
    "audit_permutations": 999,
    "rng": 0,
}


def run_demo_learning(
    out_dir: str | os.PathLike[str], progress: Callable[[str], None] | None = None
) -> LearnOutputs:
    """The learn part of ``dongne demo``: Seoul's semi-basement share, north → south.

    On :func:`seoul_learning_areas` with :data:`DEMO_SETTINGS`: (1) ridge regression under
    random 5-fold vs grouped 5-fold-by-gu cross-validation; (2) shift diagnostics between the
    222 northern and 201 southern dongs (9 domain-classifier permutations, so its p-value is
    at least 0.1 — rerun ``dongne learn shift --seoul --permutations 99`` for a finer one;
    999 MMD permutations); (3) allocation regret of 10 sites (radius 1 km) among the southern
    dongs, naive vs group DRO by gu; (4) spatial-fairness audit of the grouped-CV
    predictions of all 423 dongs over the 24 grids and the 25 gu (999 permutations). Writes
    the ``cv_*``, ``shift_*``, ``regret_*`` and ``audit_*`` files into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
    progress : callable, optional
        Called with a short description before each of its 4 steps.
    """
    from dongne._threads import one_thread

    # Small dense problems: BLAS threads only add contention (several times slower on a busy
    # machine), and one thread keeps the numbers independent of the machine.
    with one_thread():
        return _demo_learning(Path(out_dir), progress or (lambda _m: None))


def _demo_learning(out: Path, step: Callable[[str], None]) -> LearnOutputs:
    from dongne.datasets import seoul_gu

    s = DEMO_SETTINGS
    d = SEOUL_DEFAULTS
    step("learn: Seoul north→south task, random vs spatial cross-validation")
    areas = seoul_learning_areas()
    gu = seoul_gu(indicators=False)
    cv = run_learn_cv(
        areas, d["id"], d["target"], d["features"], out,
        scheme=s["scheme"], model=s["model"], rng=s["rng"], boundaries=gu,
    )  # fmt: skip
    step("learn: shift diagnostics, north vs south of the Han river")
    src, tgt = domain_masks(
        areas, column=d["domain"], source=d["source"], target=d["target_domain"]
    )
    shift = run_learn_shift(
        areas, d["id"], d["features"], out, source_rows=src, target_rows=tgt, target=d["target"],
        model=s["model"], permutations=s["shift_permutations"], rng=s["rng"], boundaries=gu,
    )  # fmt: skip
    step("learn: allocation regret in the south, naive vs group DRO")
    regret = run_learn_regret(
        areas, d["id"], d["target"], d["features"], out, source_rows=src, target_rows=tgt,
        p=s["p"], radius=s["radius"], exposure=d["exposure"], group=d["group"],
        methods=s["methods"], model=s["model"], rng=s["rng"],
    )  # fmt: skip
    step("learn: spatial fairness audit over 24 grids and 25 gu")
    audited = areas.assign(prediction_spatial_cv=cv.frame["prediction_spatial_cv"].to_numpy())
    audit = run_learn_audit(
        audited, d["id"], d["target"], out, prediction="prediction_spatial_cv",
        partitions=s["partitions"], permutations=s["audit_permutations"], rng=s["rng"],
    )  # fmt: skip
    parts = (cv, shift, regret, audit)
    result = LearnOutputs(
        results={k: v for part in parts for k, v in part.results.items()},
        files={k: v for part in parts for k, v in part.files.items()},
        frame=cv.frame,
    )
    english, korean = [], []
    for part in parts:
        for lang, paragraph in _split(part.summary):
            (korean if lang == "ko" else english).append(paragraph)
    result.summary = "\n\n".join(
        [
            "Predicting need in a new place (Seoul, north → south of the Han river)",
            *english,
            "새로운 지역의 수요 예측 (서울, 한강 이북 → 이남)",
            *korean,
        ]
    )
    return result


def _split(text: str) -> list[tuple[str, str]]:
    from dongne.report.document import split_languages

    return split_languages(text)
