"""Distance-based summaries of a point pattern: nearest-neighbour index, Ripley's K and L, G, F, J,
cross-K, with edge corrections and Monte Carlo envelopes.

For ``n`` points in a window of area ``A`` (intensity λ = n / A), at distances ``r``:

* ``K(r) = Σ_i #{j ≠ i : d_ij ≤ r} / (n λ)`` — πr² under complete spatial randomness (CSR);
  ``L(r) = sqrt(K(r) / π)`` — r under CSR (Ripley 1976; Besag 1977).
* ``G(r)`` — the share of points whose nearest neighbour is within r; ``F(r)`` — the share of
  reference locations (a regular grid over the window) within r of a point; both
  ``1 − exp(−λπr²)`` under CSR; ``J = (1 − G) / (1 − F)`` — 1 under CSR (van Lieshout &
  Baddeley 1996).
* Edge corrections: ``"none"`` (as pointpats) and ``"border"`` (reduced sample: only points
  at least r from the window's edge count at distance r; Ripley 1988).

Counting is done by a numba grid search whose cells are as wide as the largest ``r``: O(n k)
for k neighbours within reach, instead of all n² pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy import stats
from scipy.spatial import cKDTree

from dongne import __version__
from dongne._validation import check_choice
from dongne._vocab import Lang, bilingual, in_process_only, pick_language, resolve_rng
from dongne.errors import SpecificationError
from dongne.points._kernels import pair_counts
from dongne.points.pattern import PointPattern

__all__ = [
    "FUNCTIONS",
    "FunctionEnvelope",
    "NearestNeighbourIndex",
    "boundary_distance",
    "cross_k_function",
    "envelope",
    "f_function",
    "g_function",
    "j_function",
    "k_function",
    "l_function",
    "nearest_neighbour_index",
    "reference_grid",
]

FUNCTIONS = ("K", "L", "G", "F", "J", "cross-K")
EDGE_CORRECTIONS = ("none", "border")
#: The default K/L support stops where the null expects this many neighbours per point, so a
#: large pattern (80,000 CCTV sites) is summarised at the scales of its clusters in seconds.
NEIGHBOURS = 200


def _support(support: Sequence[float] | np.ndarray) -> np.ndarray:
    r = np.asarray(support, dtype=float)
    if r.ndim != 1 or len(r) < 1 or not np.isfinite(r).all() or (r < 0).any():
        raise SpecificationError(
            f"support must be distances ≥ 0 in metres. Got {support!r}. Fix: pass "
            "support=numpy.linspace(0, 1000, 21)."
        )
    if (np.diff(r) < 0).any():
        raise SpecificationError("support must be ascending. Fix: pass sorted distances.")
    return r


def _border(xy: np.ndarray, window: Any, edge_correction: str) -> np.ndarray | None:
    check_choice("edge_correction", edge_correction, EDGE_CORRECTIONS)
    if edge_correction == "none":
        return None
    if window is None:
        raise SpecificationError(
            "edge_correction='border' needs the window. Fix: pass window= (a polygon)."
        )
    return boundary_distance(window, xy)


def boundary_distance(window: Any, xy: np.ndarray) -> np.ndarray:
    """Distance from each point to the window's boundary (metres), through an R-tree of the
    boundary's segments (fast for city boundaries with many vertices)."""
    lines = shapely.get_parts(shapely.get_parts(window.boundary))
    coords, index = shapely.get_coordinates(lines, return_index=True)
    same = index[1:] == index[:-1]
    segments = shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], axis=1))
    tree = shapely.STRtree(segments)
    (rows, _), dist = tree.query_nearest(shapely.points(xy), return_distance=True)
    out = np.full(len(xy), np.inf)
    np.minimum.at(out, rows, dist)
    return out


def k_function(
    xy: np.ndarray,
    support: Sequence[float],
    area: float,
    *,
    edge_correction: str = "none",
    window: Any = None,
) -> np.ndarray:
    """Ripley's K at the distances ``support`` (m²), for points ``xy`` in a window of ``area``.

    With ``edge_correction="none"`` this is pointpats' ``k`` (for ``area`` = the area pointpats
    uses, by default the points' bounding box); ``"border"`` keeps, at each r, only the points
    at least r from ``window``'s boundary.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.random.default_rng(0).uniform(0, 100, (500, 2))
    >>> k = k_function(xy, [0.0, 5.0, 10.0], 100 * 100)
    >>> bool(abs(k[2] / (np.pi * 100) - 1) < 0.15)
    True
    """
    xy = np.asarray(xy, dtype=float)
    r = _support(support)
    n = len(xy)
    counts = pair_counts(xy[:, 0], xy[:, 1], xy[:, 0], xy[:, 1], r, True)
    lam = n / area
    b = _border(xy, window, edge_correction)
    if b is None:
        return counts.sum(axis=0) / (n * lam)
    keep = b[:, None] >= r[None, :]
    m = keep.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m > 0, (counts * keep).sum(axis=0) / (m * lam), np.nan)


def l_function(xy: np.ndarray, support: Sequence[float], area: float, **options: Any) -> np.ndarray:
    """Besag's L = sqrt(K / π) (metres); ``options`` as for :func:`k_function`."""
    return np.sqrt(k_function(xy, support, area, **options) / np.pi)


def g_function(
    xy: np.ndarray, support: Sequence[float], *, edge_correction: str = "none", window: Any = None
) -> np.ndarray:
    """Nearest-neighbour distance distribution G at ``support``: the share of points whose
    nearest other point is within r (border: among points at least r from the edge)."""
    xy = np.asarray(xy, dtype=float)
    r = _support(support)
    d = cKDTree(xy).query(xy, k=2)[0][:, 1]
    b = _border(xy, window, edge_correction)
    if b is None:
        return np.searchsorted(np.sort(d), r, side="right") / len(d)
    hit = (d[:, None] <= r[None, :]) & (b[:, None] >= r[None, :])
    m = (b[:, None] >= r[None, :]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m > 0, hit.sum(axis=0) / m, np.nan)


def reference_grid(window: Any, size: int = 4096) -> np.ndarray:
    """About ``size`` reference locations on a regular grid inside ``window`` (for F and J)."""
    x0, y0, x1, y1 = window.bounds
    step = np.sqrt(window.area / size)
    gx, gy = np.meshgrid(np.arange(x0 + step / 2, x1, step), np.arange(y0 + step / 2, y1, step))
    gx, gy = gx.ravel(), gy.ravel()
    inside = shapely.contains_xy(window, gx, gy)
    return np.column_stack([gx[inside], gy[inside]])


def f_function(
    xy: np.ndarray,
    support: Sequence[float],
    reference: np.ndarray,
    *,
    edge_correction: str = "none",
    window: Any = None,
) -> np.ndarray:
    """Empty-space function F at ``support``: the share of ``reference`` locations within r
    of a point (:func:`reference_grid` gives a regular grid)."""
    r = _support(support)
    d = cKDTree(np.asarray(xy, dtype=float)).query(reference, k=1)[0]
    b = _border(reference, window, edge_correction)
    if b is None:
        return np.searchsorted(np.sort(d), r, side="right") / len(d)
    hit = (d[:, None] <= r[None, :]) & (b[:, None] >= r[None, :])
    m = (b[:, None] >= r[None, :]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m > 0, hit.sum(axis=0) / m, np.nan)


def j_function(
    xy: np.ndarray, support: Sequence[float], reference: np.ndarray, **options: Any
) -> np.ndarray:
    """J = (1 − G) / (1 − F); NaN where both are 1 (``options`` as for :func:`g_function`)."""
    g = g_function(xy, support, **options)
    f = f_function(xy, support, reference, **options)
    with np.errstate(invalid="ignore", divide="ignore"):
        j = (1 - g) / (1 - f)
    j[(g == 1) & (f == 1)] = np.nan
    return j


def cross_k_function(
    xy_from: np.ndarray, xy_to: np.ndarray, support: Sequence[float], area: float
) -> np.ndarray:
    """Cross-K of type 1 (``xy_from``) to type 2 (``xy_to``): ``A / (n1 n2) Σ_i #{j : d_ij ≤ r}``
    — πr² when the two types are independent and the second is CSR."""
    a = np.asarray(xy_from, dtype=float)
    b = np.asarray(xy_to, dtype=float)
    r = _support(support)
    counts = pair_counts(b[:, 0], b[:, 1], a[:, 0], a[:, 1], r, False)
    return area * counts.sum(axis=0) / (len(a) * len(b))


@dataclass(frozen=True, eq=False)
class NearestNeighbourIndex:
    """Clark & Evans' (1954) nearest-neighbour index of a pattern.

    ``ratio`` = mean nearest-neighbour distance / its CSR expectation ``0.5 / sqrt(λ)``:
    below 1 clustered, above 1 dispersed; ``z`` uses the CSR standard error
    ``0.26136 / sqrt(n λ)``; ``p_value`` is two-sided (normal). No edge correction.
    """

    mean_distance: float
    expected: float
    ratio: float
    z: float
    p_value: float
    n: int
    area: float
    provenance_: dict = field(default_factory=dict)

    def plot(self, path: Any = None):
        """Bar chart of the observed and the CSR-expected mean nearest-neighbour distance."""
        from dongne.points.plots import bar_figure

        return bar_figure(
            ["Observed / 관측", "CSR / 무작위"],
            [self.mean_distance, self.expected],
            "Mean nearest-neighbour distance / 평균 최근린 거리 (m)",
            f"R = {self.ratio:.3f}, p = {self.p_value:.3g}",
            path,
        )

    def to_frame(self) -> pd.DataFrame:
        """One row with the index and its test."""
        keys = ["n", "area", "mean_distance", "expected", "ratio", "z", "p_value"]
        return pd.DataFrame([{k: getattr(self, k) for k in keys}])

    @bilingual
    def summary(self, lang: Lang = "both") -> str:
        """The index in plain English or Korean."""
        kind_en = "clustered" if self.ratio < 1 else "dispersed"
        kind_ko = "군집" if self.ratio < 1 else "분산"
        en = (
            f"Nearest-neighbour index (Clark–Evans): mean distance {self.mean_distance:.1f} m "
            f"vs {self.expected:.1f} m expected under randomness, R = {self.ratio:.3f} "
            f"({kind_en}), z = {self.z:.2f}, p = {self.p_value:.3g}."
        )
        ko = (
            f"최근린 지수(Clark–Evans): 평균 최근린 거리 {self.mean_distance:.1f} m, 무작위일 때 "
            f"기대값 {self.expected:.1f} m, R = {self.ratio:.3f} ({kind_ko}), "
            f"z = {self.z:.2f}, p = {self.p_value:.3g}."
        )
        return pick_language(lang, en, ko)


def nearest_neighbour_index(xy: np.ndarray, area: float) -> NearestNeighbourIndex:
    """Clark & Evans' nearest-neighbour index of points ``xy`` in a window of ``area`` (m²).

    References
    ----------
    Clark, P. J. and Evans, F. C. (1954). Distance to nearest neighbor as a measure of spatial
    relationships in populations. Ecology 35(4), 445–453.
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    d = cKDTree(xy).query(xy, k=2)[0][:, 1]
    lam = n / area
    expected = 0.5 / np.sqrt(lam)
    se = 0.26136 / np.sqrt(n * lam)
    z = (d.mean() - expected) / se
    return NearestNeighbourIndex(
        float(d.mean()),
        float(expected),
        float(d.mean() / expected),
        float(z),
        float(2 * stats.norm.sf(abs(z))),
        n,
        float(area),
        {"method": "Clark-Evans (1954)", "dongne_version": __version__},
    )


@dataclass(frozen=True, eq=False)
class FunctionEnvelope:
    """A summary function with its pointwise Monte Carlo envelope and a global test.

    ``lower``/``upper`` are the pointwise minimum and maximum of ``replications`` null
    patterns; ``p_value`` is the global maximum-absolute-deviation test (Diggle 2003;
    Baddeley et al. 2014): ``T = max_r |H(r) − mean_sim(r)|``, p = (1 + #{T_sim ≥ T}) / (R+1).
    """

    function: str
    support: np.ndarray
    observed: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    expected: np.ndarray
    p_value: float
    replications: int
    provenance_: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per distance: r, observed, lower, upper, null mean, outside the envelope."""
        above = self.observed > self.upper
        below = self.observed < self.lower
        return pd.DataFrame(
            {
                "r": self.support,
                "observed": self.observed,
                "lower": self.lower,
                "upper": self.upper,
                "null_mean": self.expected,
                "outside": np.where(above, "above", np.where(below, "below", "inside")),
            }
        )

    @bilingual
    def summary(self, lang: Lang = "both") -> str:
        """Where the observed function leaves its envelope, in English or Korean."""
        frame = self.to_frame()
        above = frame.loc[frame["outside"] == "above", "r"]
        below = frame.loc[frame["outside"] == "below", "r"]
        null = self.provenance_.get("null", "homogeneous")

        def span(r: pd.Series) -> str:
            return f"{r.min():.0f}–{r.max():.0f} m" if len(r) else "-"

        en = (
            f"{self.function} function against {self.replications} simulations of the null "
            f"({null}): above the envelope (clustering) at {span(above)}, below it "
            f"(regularity) at {span(below)}; global deviation test p = {self.p_value:.3g}."
        )
        ko = (
            f"{self.function} 함수, 귀무가설({null}) 모의실험 {self.replications}회: 포락선 위"
            f"(군집) {span(above)}, 포락선 아래(규칙적 분포) {span(below)}; 전역 편차 검정 "
            f"p = {self.p_value:.3g}."
        )
        return pick_language(lang, en, ko)

    def plot(self, path: Any = None, **options: Any):
        """Draw it (:func:`dongne.points.plots.envelope_plot`)."""
        from dongne.points.plots import envelope_plot

        return envelope_plot(self, path=path, **options)


def _statistic(
    function: str,
    pattern: PointPattern,
    support: np.ndarray,
    edge_correction: str,
    other: np.ndarray | None,
) -> Callable[[np.ndarray], np.ndarray]:
    window, area = pattern.window, pattern.area
    ref = reference_grid(window) if function in ("F", "J") else None
    edge = {"edge_correction": edge_correction, "window": window}
    table: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "K": lambda xy: k_function(xy, support, area, **edge),
        "L": lambda xy: l_function(xy, support, area, **edge),
        "G": lambda xy: g_function(xy, support, **edge),
        "F": lambda xy: f_function(xy, support, ref, **edge),
        "J": lambda xy: j_function(xy, support, ref, **edge),
        "cross-K": lambda xy: cross_k_function(other, xy, support, area),
    }
    return table[function]


def envelope(
    pattern: PointPattern,
    function: str = "L",
    *,
    support: Sequence[float] | None = None,
    other: PointPattern | None = None,
    edge_correction: str = "border",
    replications: int = 99,
    rng: int | np.random.Generator | None = None,
    scheduler: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> FunctionEnvelope:
    """Monte Carlo envelope of K, L, G, F, J or cross-K under the pattern's null.

    Null patterns are drawn from ``pattern``'s raster (:meth:`PointPattern.simulate`):
    complete spatial randomness, or the inhomogeneous null of its background. For
    ``"cross-K"``, ``other`` (type 1, e.g. CCTV) stays fixed and ``pattern`` (type 2, e.g.
    incidents) is redrawn. ``support`` defaults to 50 distances up to a quarter of the
    window's shorter side or the distance at which the null expects 200 neighbours, whichever
    is shorter (K, L, cross-K), or to the largest nearest-neighbour distance (G, F, J).

    References
    ----------
    Baddeley, A., Diggle, P. J., Hardegen, A., Lawrence, T., Milne, R. K. and Nair, G. (2014).
    On tests of spatial pattern based on simulation envelopes. Ecological Monographs 84(3),
    477–489.
    """
    check_choice("function", function, FUNCTIONS)
    in_process_only(scheduler, "points.envelope")
    if function == "cross-K" and other is None:
        raise SpecificationError("function='cross-K' needs other=. Fix: pass other=pattern1.")
    if not (isinstance(replications, int | np.integer) and replications >= 1):
        raise SpecificationError(f"replications must be a positive int. Got {replications!r}.")
    seed = resolve_rng(rng)
    r = _default_support(pattern, function) if support is None else _support(support)
    stat = _statistic(function, pattern, r, edge_correction, None if other is None else other.xy)
    observed = stat(pattern.xy)
    sims = np.empty((replications, len(r)))
    for t in range(replications):
        sims[t] = stat(pattern.simulate(seed, t))
        if progress is not None:
            progress(t + 1, replications)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(sims, axis=0)
        dev_obs = np.nanmax(np.abs(observed - mean))
        dev_sim = np.nanmax(np.abs(sims - mean), axis=1)
    p = (1 + (dev_sim >= dev_obs).sum()) / (replications + 1)
    prov = {
        "function": function,
        "edge_correction": edge_correction,
        "null": pattern.null,
        "replications": replications,
        "seed": seed,
        "points": pattern.n,
        "dongne_version": __version__,
    }
    return FunctionEnvelope(
        function,
        r,
        observed,
        np.nanmin(sims, axis=0),
        np.nanmax(sims, axis=0),
        mean,
        float(p),
        replications,
        prov,
    )


def _default_support(pattern: PointPattern, function: str) -> np.ndarray:
    if function in ("K", "L", "cross-K"):
        x0, y0, x1, y1 = pattern.window.bounds
        reach = np.sqrt(NEIGHBOURS / (np.pi * pattern.intensity))
        return np.linspace(0, min(0.25 * min(x1 - x0, y1 - y0), reach), 50)
    d = cKDTree(pattern.xy).query(pattern.xy, k=2)[0][:, 1]
    return np.linspace(0, d.max(), 50)
