"""Run folders for the space-time analyses: tables, maps and bilingual summaries.

:func:`run_spacetime_scan`, :func:`run_emerging` and :func:`run_markov` fit one analysis,
write its tables (CSV with a ``.provenance.json`` beside each), its figures (PNG: category
maps with counts, sparklines, small multiples over time) and ``*_summary.txt`` (English and
Korean), and return what they wrote. ``dongne spacetime scan|emerging|markov`` calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dongne.io.atomic import atomic_write_text
from dongne.io.write import write_table
from dongne.spacetime import plots
from dongne.spacetime.cube import SpaceTimeCube
from dongne.spacetime.emerging import emerging_hot_spots
from dongne.spacetime.markov import (
    QUADRANTS,
    LisaMarkov,
    RankMobility,
    SpatialMarkov,
    lisa_markov,
    rank_mobility,
    spatial_markov,
)
from dongne.spacetime.scan import SpaceTimeScan
from dongne.weights import SpatialWeights

__all__ = [
    "SpaceTimeOutputs",
    "fit_markov",
    "markov_moves",
    "markov_tables",
    "run_emerging",
    "run_markov",
    "run_spacetime_scan",
]


@dataclass
class SpaceTimeOutputs:
    """What a space-time run computed and wrote."""

    results: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    summary: str = ""


def _names(areas: Any, name_column: str | None) -> pd.Series | None:
    if name_column and name_column in areas.columns:
        return areas[name_column]
    return None


def _source(note: str | None) -> str | None:
    """The data line of a run's note, for the line under its maps."""
    if not note:
        return None
    first = note.splitlines()[0]
    return first.removeprefix("Data: ")[:110]


def run_spacetime_scan(
    cube: SpaceTimeCube,
    areas: Any,
    out_dir: str | Path,
    *,
    name_column: str | None = None,
    note: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> SpaceTimeOutputs:
    """Fit a :class:`SpaceTimeScan` (``options`` are its parameters) on ``cube`` with the
    areas' polygons (indexed by id) and write the run folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scan = SpaceTimeScan(**options).fit(cube, areas, progress=progress)
    names = _names(areas, name_column)
    table = scan.to_frame()
    table["members"] = [";".join(map(str, m)) for m in table["members"]]
    if names is not None:
        table["member_names"] = [
            ";".join(str(names.get(i, i)) for i in m) for m in scan.clusters_["members"]
        ]
    result = SpaceTimeOutputs({"scan": scan})
    files = result.files
    files["clusters"] = write_table(table, out / "spacetime_clusters.csv", **scan.provenance_)
    files["map"] = scan.plot(areas, path=out / "spacetime_scan_map.png", source=_source(note)).path
    files["sparklines"] = out / "spacetime_sparklines.png"
    plots.scan_sparklines(scan, files["sparklines"])
    files["small_multiples"] = out / "spacetime_cases_by_step.png"
    plots.small_multiples(cube, areas, files["small_multiples"],
                          title=f"{cube.name} · 시점별 사례 · cases by step")  # fmt: skip
    result.summary = scan.summary(names) + (f"\n\n{note}" if note else "")
    files["summary"] = atomic_write_text(out / "spacetime_summary.txt", result.summary + "\n")
    return result


def run_emerging(
    cube: SpaceTimeCube,
    areas: Any,
    w: SpatialWeights,
    out_dir: str | Path,
    *,
    name_column: str | None = None,
    note: str | None = None,
    **options: Any,
) -> SpaceTimeOutputs:
    """Emerging hot spot analysis of ``cube`` (``options`` go to
    :func:`emerging_hot_spots`); writes categories, bins, the category map and summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ehsa = emerging_hot_spots(cube, w, **options)
    result = SpaceTimeOutputs({"emerging": ehsa})
    frame = ehsa.to_frame().reset_index()
    names = _names(areas, name_column)
    if names is not None:
        frame.insert(1, "name", frame["area"].map(names))
    files = result.files
    files["categories"] = write_table(frame, out / "emerging_categories.csv", **ehsa.provenance_)
    files["bins"] = write_table(ehsa.bins_frame(), out / "emerging_bins.csv", **ehsa.provenance_)
    files["map"] = ehsa.plot(areas, out / "emerging_map.png", source=_source(note)).path
    gi = SpaceTimeCube(ehsa.gi_star, ehsa.areas, cube.steps, cube.freq, "values", "Gi* z")
    files["small_multiples"] = out / "emerging_gi_by_step.png"
    plots.small_multiples(gi, areas, files["small_multiples"], cmap="RdBu_r",
                          title="Gi* z · 시점별 · by step")  # fmt: skip
    result.summary = ehsa.summary(names) + (f"\n\n{note}" if note else "")
    files["summary"] = atomic_write_text(out / "emerging_summary.txt", result.summary + "\n")
    return result


def fit_markov(
    cube: SpaceTimeCube,
    w: SpatialWeights,
    *,
    k: int = 4,
    m: int = 4,
    permutations: int = 999,
    rng: int | None = 0,
) -> tuple[SpatialMarkov, LisaMarkov, RankMobility]:
    """Spatial Markov (``k`` classes, ``m`` lag classes), LISA Markov and rank mobility
    between the first and the last step of ``cube``: what ``dongne spacetime markov`` and
    the web service's markov runs compute."""
    sm = spatial_markov(cube, w, k=k, m=m)
    lm = lisa_markov(cube, w)
    x = cube.to_frame().reindex(w.ids)
    rm = rank_mobility(x.iloc[:, 0], x.iloc[:, -1], w, permutations=permutations, rng=rng)
    return sm, lm, rm


def markov_tables(sm: SpatialMarkov, lm: LisaMarkov, rm: RankMobility) -> dict[str, pd.DataFrame]:
    """The tables of a neighbourhood-change run: transitions (pooled and per lag class),
    steady state, χ² of each lag class against the pooled chain, LISA Markov moves and the
    tests (Q, LR, χ², LISA independence, τ, spatial τ). ``dongne spacetime markov`` writes
    ``transitions``, ``lisa`` and ``tests``; the web service all of them."""
    k = sm.p.shape[0]
    h = sm.homogeneity
    tests = pd.DataFrame(
        [
            {"test": "homogeneity Q", "statistic": h.Q, "dof": h.dof, "p_value": h.Q_p_value},
            {"test": "homogeneity LR", "statistic": h.LR, "dof": h.dof, "p_value": h.LR_p_value},
            {"test": "chi2 conditional vs pooled", "statistic": sm.x2, "dof": sm.x2_dof,
             "p_value": sm.x2_pvalue},
            {"test": "LISA Markov independence", "statistic": lm.chi2[0], "dof": lm.chi2[2],
             "p_value": lm.chi2[1]},
            {"test": "Kendall tau (first vs last)", "statistic": rm.tau, "dof": np.nan,
             "p_value": rm.tau_p},
            {"test": "spatial tau (neighbour pairs)", "statistic": rm.tau_spatial,
             "dof": np.nan, "p_value": rm.p_sim},
        ]
    )  # fmt: skip
    bounds = np.full(k, np.nan)
    bounds[: min(k, len(sm.cutoffs))] = sm.cutoffs[:k]
    steady = pd.DataFrame(
        {"class": [f"Q{i + 1}" for i in range(k)], "upper_bound": bounds,
         "share": sm.steady_state}
    )  # fmt: skip
    chi2 = pd.DataFrame(
        [{"lag_class": f"lag Q{g + 1}", "statistic": x2, "dof": dof, "p_value": pv}
         for g, (x2, pv, dof) in enumerate(sm.chi2)]
    )  # fmt: skip
    return {"transitions": sm.to_frame(), "steady_state": steady, "chi2_by_lag_class": chi2,
            "lisa": lm.to_frame(), "tests": tests}  # fmt: skip


def markov_moves(sm: SpatialMarkov, lm: LisaMarkov) -> pd.DataFrame:
    """One row per area (indexed by id): quantile class (1 = lowest) and Moran quadrant in the
    first and the last period, the class steps between them, ``markov_move`` ("up", "same",
    "down": the last class against the first) and the number of periods that changed class."""
    first, last = sm.classes[:, 0] + 1, sm.classes[:, -1] + 1
    change = last - first
    return pd.DataFrame(
        {
            "markov_class_first": first,
            "markov_class_last": last,
            "markov_class_change": change,
            "markov_move": np.select([change > 0, change < 0], ["up", "down"], "same"),
            "markov_moves": (np.diff(sm.classes, axis=1) != 0).sum(axis=1),
            "markov_quadrant_first": [QUADRANTS[q - 1] for q in lm.quadrants[:, 0]],
            "markov_quadrant_last": [QUADRANTS[q - 1] for q in lm.quadrants[:, -1]],
        },
        index=sm.ids,
    )


def run_markov(
    cube: SpaceTimeCube,
    areas: Any,
    w: SpatialWeights,
    out_dir: str | Path,
    *,
    k: int = 4,
    m: int = 4,
    permutations: int = 999,
    rng: int | None = 0,
    note: str | None = None,
) -> SpaceTimeOutputs:
    """Spatial Markov, LISA Markov and rank mobility (first vs last step) of ``cube``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sm, lm, rm = fit_markov(cube, w, k=k, m=m, permutations=permutations, rng=rng)
    result = SpaceTimeOutputs({"spatial_markov": sm, "lisa_markov": lm, "rank_mobility": rm})
    files = result.files
    tables = markov_tables(sm, lm, rm)
    files["transitions"] = write_table(tables["transitions"], out / "markov_transitions.csv",
                                       **sm.provenance_)  # fmt: skip
    files["lisa"] = write_table(tables["lisa"], out / "lisa_markov.csv", **lm.provenance_)
    tests = tables["tests"]
    files["tests"] = write_table(tests, out / "markov_tests.csv", **sm.provenance_)
    classes = pd.DataFrame(sm.classes + 1, index=sm.ids, columns=cube.steps)
    change = SpaceTimeCube(classes.to_numpy(float), sm.ids, cube.steps, cube.freq, "values",
                           "quantile class")  # fmt: skip
    files["small_multiples"] = out / "markov_classes_by_step.png"
    plots.small_multiples(change, areas, files["small_multiples"],
                          title=f"{cube.name}: 분위 · quantile class (1 = lowest)")  # fmt: skip
    result.summary = "\n\n".join(
        [sm.summary(), lm.summary(), rm.summary()] + ([note] if note else [])
    )
    files["summary"] = atomic_write_text(out / "markov_summary.txt", result.summary + "\n")
    return result
