"""Figures of the regions package: typology profiles as z-score bar charts."""

from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from dongne._fonts import korean_font
from dongne.io.atomic import atomic_path

__all__ = ["palette", "profile_chart", "regions_map"]


def profile_chart(
    profiles: pd.DataFrame,
    names: dict[Any, tuple[str, str]],
    *,
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """One horizontal bar chart per type: the mean z-score of each indicator (0 = the city
    average; bars right of it are above average). Returns the figure; writes a PNG to
    ``path`` atomically when given."""
    values = profiles.drop(columns=["areas"], errors="ignore")
    k = len(values)
    with matplotlib.rc_context({"font.family": [korean_font(), "DejaVu Sans"]}):
        fig, axes = plt.subplots(1, k, figsize=(4.2 * k + 1.5, 0.45 * values.shape[1] + 3.4),
                                 sharey=True, squeeze=False)  # fmt: skip
        limit = max(1.0, float(values.abs().to_numpy().max()) * 1.1)
        for ax, (t, row) in zip(axes[0], values.iterrows(), strict=True):
            colours = ["#b2182b" if v > 0 else "#2166ac" for v in row]
            ax.barh(list(map(str, row.index)), row.to_numpy(), color=colours)
            ax.axvline(0, color="#444444", lw=0.8)
            ax.set_xlim(-limit, limit)
            n = int(profiles.loc[t, "areas"]) if "areas" in profiles else None
            lines = [*names[t][1].split(", "), *names[t][0].split(", ")]
            ax.set_title(f"유형 {t} · type {t}" + (f" ({n})" if n else "") + "\n"
                         + "\n".join(lines), fontsize=7)  # fmt: skip
            ax.set_xlabel("z (평균 대비 · vs city mean)", fontsize=8)
            ax.tick_params(labelsize=8)
            ax.invert_yaxis()
        fig.suptitle("동네 유형 프로필 · Neighbourhood type profiles", fontsize=11)
        fig.tight_layout()
        if path is not None:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, dpi=130, format="png")
    return fig


def regions_map(
    areas: Any,
    labels: Any,
    *,
    title: str,
    note: str = "",
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """Map of contiguous regions: each region one colour (20 colours, cycled so that the
    numbers tell neighbours apart), its number at a point inside it, area boundaries thin and
    region boundaries dark. Drawn in a metric CRS; for any number of regions (no legend)."""
    import geopandas as gpd
    import shapely

    from dongne.io.crs import to_metric

    frame = to_metric(gpd.GeoDataFrame({"region": list(labels)}, geometry=areas.geometry.values,
                                       crs=areas.crs))  # fmt: skip
    regions = frame.dissolve("region").reset_index()
    with matplotlib.rc_context({"font.family": [korean_font(), "DejaVu Sans"]}):
        fig, ax = plt.subplots(figsize=(9, 8))
        frame.plot(ax=ax, color=region_colours(frame["region"]),
                   edgecolor="white", linewidth=0.2)  # fmt: skip
        regions.boundary.plot(ax=ax, color="#333333", linewidth=0.6)
        small = len(regions) > 60
        for r, geom in zip(regions["region"], regions.geometry, strict=True):
            pt = shapely.point_on_surface(geom)
            ax.annotate(str(r), (pt.x, pt.y), ha="center", va="center",
                        fontsize=5 if small else 7, color="#111111")  # fmt: skip
        ax.set_axis_off()
        ax.set_title(title, loc="left", fontsize=12)
        if note:
            fig.text(0.01, 0.01, note, fontsize=7, color="#555555")
        if path is not None:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, dpi=150, format="png", facecolor="white")
    return fig


def region_colours(regions: Any) -> list[Any]:
    """The colour of each region label as the regions map draws it (tab20, cycled)."""
    colours = matplotlib.colormaps["tab20"].colors
    return [colours[int(r) % 20] for r in regions]


def hex_colours(colours: Any) -> list[str]:
    """Matplotlib colours as ``#rrggbb`` (for tables and the dashboard)."""
    from matplotlib.colors import to_hex

    return [to_hex(c) for c in colours]


def palette(n: int) -> list[Any]:
    """``n`` qualitative colours (tab20, tab20b, Set3, then cycled)."""
    base = [
        *matplotlib.colormaps["tab20"].colors,
        *matplotlib.colormaps["tab20b"].colors,
        *matplotlib.colormaps["Set3"].colors,
    ]
    return [base[i % len(base)] for i in range(n)]
