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
from dongne.spacetime.markov import lisa_markov, rank_mobility, spatial_markov
from dongne.spacetime.scan import SpaceTimeScan
from dongne.weights import SpatialWeights

__all__ = ["SpaceTimeOutputs", "run_emerging", "run_markov", "run_spacetime_scan"]


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
    sm = spatial_markov(cube, w, k=k, m=m)
    lm = lisa_markov(cube, w)
    x = cube.to_frame().reindex(w.ids)
    rm = rank_mobility(x.iloc[:, 0], x.iloc[:, -1], w, permutations=permutations, rng=rng)
    result = SpaceTimeOutputs({"spatial_markov": sm, "lisa_markov": lm, "rank_mobility": rm})
    files = result.files
    files["transitions"] = write_table(sm.to_frame(), out / "markov_transitions.csv",
                                       **sm.provenance_)  # fmt: skip
    files["lisa"] = write_table(lm.to_frame(), out / "lisa_markov.csv", **lm.provenance_)
    tests = pd.DataFrame(
        [
            {"test": "homogeneity Q", "statistic": sm.homogeneity.Q, "dof": sm.homogeneity.dof,
             "p_value": sm.homogeneity.Q_p_value},
            {"test": "homogeneity LR", "statistic": sm.homogeneity.LR, "dof": sm.homogeneity.dof,
             "p_value": sm.homogeneity.LR_p_value},
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
