"""Quick-look plots of allocation results (``plot()`` of the models and of BudgetAllocation).

The maps for reports are drawn by :func:`dongne.allocate.run_allocate`; these plots answer
"what did the model do?" from the fitted object alone, in the problem's own coordinates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


@contextmanager
def _korean_text() -> Iterator[None]:
    """Text made inside uses the bundled Korean font (titles and labels are bilingual)."""
    import matplotlib

    from dongne.report import korean_font

    with matplotlib.rc_context({"font.family": [korean_font(), "DejaVu Sans"]}):
        yield


def plot_location(model: Any, ax: Any = None) -> Any:
    """Demand units and open sites after a fitted location model.

    Demand units are dots sized by weight (grey when not covered, blue when covered; with
    coverage before → after, the newly covered ones dark blue); existing sites are black
    squares and new sites red triangles. Without coordinates, the distribution of the
    distance to the assigned site before and after is drawn instead.

    Parameters
    ----------
    model : fitted LSCP, MCLP, PMedian or PCenter
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    with _korean_text():
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 6.0))
        pr = model.problem_
        name = type(model).__name__
        if pr.demand_xy is None or pr.site_xy is None:
            d0 = model.distance_before_[np.isfinite(model.distance_before_)]
            d1 = model.distance_[np.isfinite(model.distance_)]
            both = np.concatenate([d0, d1]) if d0.size + d1.size else np.zeros(1)
            bins = np.histogram_bin_edges(both, 30)
            ax.hist(d0, bins=bins, color="0.7", label="before")
            ax.hist(d1, bins=bins, histtype="step", color="#c0392b", lw=2, label="after")
            ax.set_xlabel(f"distance to assigned site ({pr.unit})")
            ax.set_ylabel("demand units")
        else:
            w = np.asarray(pr.weights, float)
            size = 4 + 40 * w / w.max() if w.size and w.max() > 0 else 8
            xy = pr.demand_xy
            if model.covered_ is None:
                ax.scatter(xy[:, 0], xy[:, 1], s=size, color="0.6", label="demand")
            else:
                cov = np.asarray(model.covered_) > 0
                new = cov & ~(np.asarray(model.covered_before_) > 0)
                for mask, colour, label in (
                    (~cov, "0.75", "not covered"),
                    (cov & ~new, "#6baed6", "covered before"),
                    (new, "#08519c", "newly covered"),
                ):
                    if mask.any():
                        sz = size[mask] if np.ndim(size) else size
                        ax.scatter(xy[mask, 0], xy[mask, 1], s=sz, color=colour, label=label)
            opened = np.asarray(model.open_, bool)
            existing = np.asarray(pr.existing, bool)
            for mask, marker, colour, label in (
                (opened & existing, "s", "black", "existing site"),
                (opened & ~existing, "^", "#c0392b", "new site"),
            ):
                if mask.any():
                    ax.scatter(*pr.site_xy[mask].T, marker=marker, s=45, color=colour, label=label)
            ax.set_aspect("equal")
            ax.ticklabel_format(useOffset=False, style="plain")
            ax.set_xlabel(f"x ({pr.unit})")
            ax.set_ylabel(f"y ({pr.unit})")
        ax.set_title(f"{name}: {len(model.selected_)} new site(s) · 신규 {len(model.selected_)}곳")
        ax.legend(fontsize=8)
        return ax


def plot_budget(allocation: Any, ax: Any = None) -> Any:
    """Each area's share of need against its share of the budget, coloured by what binds.

    Points on the diagonal are funded in proportion to need; above it, floors or group
    minimums raised the amount; below it, caps or group maximums held it down.

    Parameters
    ----------
    allocation : fitted BudgetAllocation
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    with _korean_text():
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.0, 5.5))
        frame = allocation.to_frame()
        top = float(max(frame["need_share"].max(), frame["amount_share"].max(), 0.0)) * 1.05 or 1.0
        ax.plot([0, top], [0, top], color="0.5", lw=1, ls="--", label="in proportion to need")
        for binding, part in frame.groupby("binding", sort=True):
            ax.scatter(part["need_share"], part["amount_share"], s=22, label=str(binding))
        ax.set_xlabel("share of need · 필요도 비중")
        ax.set_ylabel("share of budget · 예산 비중")
        ax.set_title(f"Budget {float(allocation.budget):,.0f} · 예산 배분")
        ax.legend(fontsize=8, title="binding")
        return ax
