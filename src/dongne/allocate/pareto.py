r"""Pareto sweeps of efficiency against equity: total coverage versus the worst group's coverage.

The sweep solves :class:`~dongne.allocate.MCLP` once per required minimum share of the worst
group (the ε-constraint method of Marsh & Schilling 1994); the measures of access themselves
are in :mod:`dongne.allocate.equity`, below the models.

The max–min end of the sweep (the worst group's covered share as high as possible, then the
most total coverage with it held) is ``MCLP(objective="maxmin")`` and the ε points are
``MCLP(min_share=ε)``. The ε points are solved by the Benders decomposition of the MCLP
with the floors as rows on the master's per-gu cut variables
(:func:`dongne.allocate.benders.max_cover`), the max–min point by the reduced stages of
:mod:`dongne.allocate._floors` (only groups that can bind, undominated sites, only the sites
that serve the floors where fewer sites cannot meet them; stage two by the same Benders
route). Shares and coverage are recomputed
from the chosen sites; ``"optimal"`` only with a proven relative gap of 1e-9 or less.

References
----------
Marsh, M. T. & Schilling, D. A. (1994). Equity measurement in facility location analysis: a
review and framework. European Journal of Operational Research 74:1–17.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from dongne.allocate.mclp import MCLP
from dongne.errors import SpecificationError
from dongne.io.provenance import attach

__all__ = ["pareto_sweep", "plot_pareto"]


def pareto_sweep(
    problem: Any,
    p: int,
    radius: float,
    *,
    n_points: int = 6,
    shares: Any = None,
    scheduler: Any = None,
    **mclp_options: Any,
) -> pd.DataFrame:
    """Efficiency–equity trade-off of maximal covering: total vs worst-group coverage.

    Solves the MCLP without equity constraints (most efficient), the max–min MCLP (most
    equal: the worst group's coverage as high as possible, then total coverage), and MCLPs
    in between that require every group to reach a share ε (the ε-constraint method).

    Parameters
    ----------
    problem : LocationProblem
        With groups.
    p, radius :
        As in :class:`~dongne.allocate.MCLP`.
    n_points : int
        Number of ε values between the two ends (inclusive).
    shares : sequence of float, optional
        The ε values to use instead.
    scheduler : None, "threads", "processes", str or dask.distributed.Client
        Where the models are solved (:mod:`dongne.parallel`): the two ends first, then the ε
        values, one task each; the problem is sent once per worker.
    **mclp_options :
        Passed to :class:`~dongne.allocate.MCLP` (``method``, ``time_limit``, ...).

    Returns
    -------
    DataFrame
        One row per solution: ``min_share`` (ε required), ``coverage`` (total share covered),
        ``worst_group`` and ``worst_group_coverage``, ``gini_access``, ``sites`` (chosen site
        ids), ``status``, ``gap``; ``pareto`` marks solutions no other dominates. Plot with
        :func:`plot_pareto`.
    """
    from dongne.parallel.scheduler import map_tasks

    if problem.groups is None:
        raise SpecificationError("pareto_sweep needs a problem with groups (group='gu_name').")
    shared = (problem, p, radius, mclp_options)
    efficient, fair = map_tasks(_sweep_row, shared, [("none",), ("maxmin",)], scheduler=scheduler)
    lo = efficient["worst_group_coverage"]
    hi = fair["worst_group_coverage"]
    if shares is None:
        shares = np.linspace(lo, hi, max(int(n_points), 2))[1:-1] if hi > lo + 1e-9 else []
    middle = map_tasks(_sweep_row, shared, [(float(e),) for e in shares], scheduler=scheduler)
    frame = pd.DataFrame([efficient, *middle, fair])
    cov = frame["coverage"].to_numpy()
    worst = frame["worst_group_coverage"].to_numpy()
    tol = 1e-12
    frame["pareto"] = [
        not np.any(
            (cov >= cov[i] - tol)
            & (worst >= worst[i] - tol)
            & ((cov > cov[i] + tol) | (worst > worst[i] + tol))
        )
        for i in range(len(frame))
    ]
    attach(frame, {"p": p, "radius": radius, "method": "epsilon-constraint"})
    return frame


def _sweep_row(
    problem: Any, p: int, radius: float, mclp_options: dict[str, Any], eps: float | str
) -> dict[str, Any]:
    """Solve one MCLP of the sweep (``eps``: "none", "maxmin" or ε); its row (one task)."""
    if eps == "maxmin":
        model = MCLP(p=p, radius=radius, objective="maxmin", **mclp_options)
    elif eps == "none":
        model = MCLP(p=p, radius=radius, **mclp_options)
    else:
        model = MCLP(p=p, radius=radius, min_share=float(eps) - 1e-9, **mclp_options)
    model.fit(problem)
    table = model.groups_after_
    grp = table.drop(index="all")
    grp = grp[grp["demand"] > 0]
    worst = grp["coverage"].idxmin()
    return {
        "min_share": eps if isinstance(eps, float) else np.nan,
        "objective": "max-min" if eps == "maxmin" else "coverage",
        "coverage": float(table.loc["all", "coverage"]),
        "worst_group": worst,
        "worst_group_coverage": float(grp.loc[worst, "coverage"]),
        "gini_access": float(table.loc["all", "gini_access"]),
        "sites": list(model.selected_),
        "status": model.status_,
        "gap": model.gap_,
    }


def plot_pareto(frame: pd.DataFrame, path: str | os.PathLike[str] | None = None) -> Any:
    """Scatter of total coverage vs worst-group coverage from :func:`pareto_sweep`.

    Returns the matplotlib Figure (Agg, no pyplot state); writes it when ``path`` is given.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from dongne.report.maps import _figure_style, save_png

    with _figure_style():
        fig = Figure(figsize=(6.5, 4.5), dpi=150, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        on = frame["pareto"].to_numpy(bool)
        x = 100 * frame["worst_group_coverage"].to_numpy()
        y = 100 * frame["coverage"].to_numpy()
        order = np.argsort(x[on])
        ax.plot(x[on][order], y[on][order], "-o", color="#2c7bb6", label="Pareto / 파레토")
        if (~on).any():
            ax.plot(x[~on], y[~on], "o", color="#bbbbbb", label="dominated / 열등해")
        for xi, yi, obj in zip(x, y, frame["objective"], strict=True):
            if obj == "max-min":
                ax.annotate("max-min", (xi, yi), textcoords="offset points", xytext=(4, -10))
        ax.set_xlabel("Worst group coverage (%) / 최저 그룹 커버율")
        ax.set_ylabel("Total coverage (%) / 전체 커버율")
        ax.set_title("Efficiency vs equity / 효율성과 형평성")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
        if path is not None:
            save_png(fig, path)
    return fig
