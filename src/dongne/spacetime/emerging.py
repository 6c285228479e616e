"""Emerging hot spot analysis: Gi* per time step, Mann–Kendall trend, 17 categories.

For every area and time step the Getis–Ord Gi* z-score is computed over a space-time
neighbourhood: the area itself and its spatial neighbours (binary weights) at the step and
the ``k`` steps before it. The reference set of step ``t`` is every bin of the steps
``t − k … t`` (``N = n (k + 1)`` bins, fewer at the start):

    G*_it = (L_it − W_it x̄) / (s · sqrt((N W_it − W_it²) / (N − 1))),

with ``L_it`` the sum of the neighbourhood's values, ``W_it`` its number of bins and
``x̄``, ``s`` the mean and population standard deviation of the reference set — Getis &
Ord's Gi* with the space-time neighbourhood as the window; with ``k = 0`` it is the Gi* of
each step on its own (``spdep::localG``, esda's ``G_Local(star=True)``). R ``sfdep`` takes
the mean and variance of step ``t`` alone while summing the lagged bins, which drifts with
a trend and fails when a neighbourhood has more bins than there are areas.

Significance: conditional permutation (the area's own values stay, its spatial neighbours
are replaced by as many random other areas, the same random areas at every lag and step of
one permutation — seeded, counter-based streams, so results do not depend on threads or
batches) with folded one-sided pseudo p-values ``(min(#≥, #≤) + 1) / (R + 1)`` as sfdep,
or normal p-values of the z (``permutations=0``, ArcGIS); then Benjamini–Hochberg FDR over
all ``n × T`` bins (``correction``). The Mann–Kendall statistic of each area's Gi* series gives
the trend (τ and its two-sided normal p-value, with the tie correction of the variance and
no continuity correction — scipy's ``kendalltau`` of the series against time).

Categories (ArcGIS Pro "How Emerging Hot Spot Analysis works"; *hot* = significant with
positive z, *cold* with negative z; "≥ 90%" counts the steps of the series). The family is
decided by the last step: hot → a hot category, cold → a cold category, neither →
historical or no pattern:

==============  ===========================================================================
new             last step hot; no earlier significant step (hot or cold)
consecutive     a run of ≥ 2 hot steps at the end; nothing significant before it; < 90% hot
intensifying    ≥ 90% hot, last step hot, significant increasing trend of the z (τ > 0)
persistent      ≥ 90% hot, last step hot, no significant trend
diminishing     ≥ 90% hot, last step hot, significant decreasing trend (τ < 0)
sporadic        last step hot, < 90% hot, never cold, and hot before (not new/consecutive)
oscillating     last step hot, < 90% hot, cold at some earlier step
historical      last step not significant, ≥ 90% of the steps hot
==============  ===========================================================================

and the same for cold spots with the signs exchanged; everything else is *no pattern
detected*. Where sfdep's rules differ (see ``docs/spacetime.md``): sfdep counts any
significant step (hot or cold) towards the 90% of an intensifying hot spot, lets persistent
win over historical when the last step is not hot, calls a location "sporadic" without a hot
last step, and treats a final run that mixes cold and hot steps as consecutive.

References
----------
Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of distance
statistics. *Geographical Analysis* 24(3):189–206. Ord, J. K. & Getis, A. (1995). Local
spatial autocorrelation statistics: distributional issues and an application. *Geographical
Analysis* 27(4):286–306. Mann, H. B. (1945). Nonparametric tests against trend.
*Econometrica* 13:245–259. Kendall, M. G. (1975). *Rank Correlation Methods*. Esri, ArcGIS
Pro "How Emerging Hot Spot Analysis works". Parry, J. sfdep (R package),
``emerging_hotspot_analysis``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numba import njit, prange
from scipy import stats

from dongne import __version__
from dongne._vocab import Lang, check_lang, pick_language, resolve_rng
from dongne._warnings import user_stacklevel
from dongne.detect._scan_core import stream_key, uniform_below
from dongne.detect.inference import adjust_pvalues
from dongne.errors import DataError, DongneWarning, SpecificationError
from dongne.parallel.scheduler import map_batches
from dongne.spacetime.cube import SpaceTimeCube
from dongne.weights import SpatialWeights

__all__ = [
    "CATEGORIES",
    "EmergingHotSpots",
    "classify_trends",
    "emerging_hot_spots",
    "mann_kendall",
    "space_time_gi_star",
]

#: The 17 categories, hot first, in legend order (English, Korean).
CATEGORIES: dict[str, str] = {
    "new hot spot": "새로운 핫스팟",
    "consecutive hot spot": "연속 핫스팟",
    "intensifying hot spot": "강화 핫스팟",
    "persistent hot spot": "지속 핫스팟",
    "diminishing hot spot": "약화 핫스팟",
    "sporadic hot spot": "산발 핫스팟",
    "oscillating hot spot": "진동 핫스팟",
    "historical hot spot": "과거 핫스팟",
    "new cold spot": "새로운 콜드스팟",
    "consecutive cold spot": "연속 콜드스팟",
    "intensifying cold spot": "강화 콜드스팟",
    "persistent cold spot": "지속 콜드스팟",
    "diminishing cold spot": "약화 콜드스팟",
    "sporadic cold spot": "산발 콜드스팟",
    "oscillating cold spot": "진동 콜드스팟",
    "historical cold spot": "과거 콜드스팟",
    "no pattern detected": "패턴 없음",
}
_SITE = -13


# ------------------------------------------------------------------------------ Gi*
def _neighbour_lists(w: SpatialWeights) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr, indices) of the binary spatial neighbours, without self."""
    mat = w.binary().to_sparse().tocsr()
    mat.setdiag(0)
    mat.eliminate_zeros()
    mat.sort_indices()
    return mat.indptr.astype(np.int64), mat.indices.astype(np.int64)


@njit(parallel=True, cache=True)
def _gi_parts(x, indptr, indices, k):
    """(own sum, neighbours' sum, neighbourhood size) of every bin (areas × steps)."""
    n, steps = x.shape
    own = np.zeros((n, steps))
    nbr = np.zeros((n, steps))
    size = np.zeros((n, steps))
    for i in prange(n):
        deg = indptr[i + 1] - indptr[i]
        for t in range(steps):
            lo = max(0, t - k)
            for s in range(lo, t + 1):
                own[i, t] += x[i, s]
                for q in range(indptr[i], indptr[i + 1]):
                    nbr[i, t] += x[indices[q], s]
            size[i, t] = (t - lo + 1) * (deg + 1)
    return own, nbr, size


def space_time_gi_star(cube: Any, w: SpatialWeights, *, k: int = 1) -> np.ndarray:
    """Gi* z-scores (areas × steps) over space-time neighbourhoods (see the module notes).

    Parameters
    ----------
    cube : SpaceTimeCube or array (areas × steps)
        Values, rows in the order of ``w``'s ids (a cube is aligned by id).
    w : SpatialWeights
        Spatial neighbours (used as binary, the area itself added).
    k : int
        Earlier steps in the neighbourhood (0: purely spatial Gi* per step).
    """
    x = _aligned(cube, w)
    indptr, indices = _neighbour_lists(w)
    own, nbr, size = _gi_parts(x, indptr, indices, int(k))
    scale, shift = _affine(x, own, size, int(k))
    return scale * nbr + shift


def _affine(
    x: np.ndarray, own: np.ndarray, size: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gi* = scale · (neighbours' sum) + shift, per bin; the reference set of step t is
    every bin of the steps ``t − k … t``."""
    n, steps = x.shape
    csum = np.concatenate([np.zeros(1), np.cumsum(x.sum(axis=0))])
    csq = np.concatenate([np.zeros(1), np.cumsum((x**2).sum(axis=0))])
    hi = np.arange(steps) + 1
    lo = np.maximum(0, hi - 1 - k)
    big_n = n * (hi - lo)
    mean = (csum[hi] - csum[lo]) / big_n
    var_x = (csq[hi] - csq[lo]) / big_n - mean**2
    sd = np.sqrt(np.maximum(var_x, 0.0))
    if (sd <= 1e-12 * np.maximum(1.0, np.abs(mean))).any():
        bad = np.flatnonzero(sd <= 1e-12 * np.maximum(1.0, np.abs(mean)))
        raise DataError(
            f"All areas have the same value at step(s) {bad.tolist()[:10]}; Gi* is undefined "
            "there. Fix: leave those steps out of the cube."
        )
    var = (big_n[None, :] * size - size**2) / (big_n[None, :] - 1)
    scale = 1.0 / (sd[None, :] * np.sqrt(np.where(var > 0, var, np.nan)))
    return scale, scale * (own - size * mean[None, :])


@njit(parallel=True, cache=True)
def _permutation_counts(x, indptr, k, scale, shift, observed, seed, first, count):
    """Per bin: permutation Gi* at or above / at or below the observed one.

    Permutation ``r`` of area ``i`` replaces its ``deg`` spatial neighbours by ``deg``
    distinct random other areas (from the stream (seed, i, r)) — the same random set at every
    step, so one draw serves the area's whole series; each bin's test is an exact
    conditional permutation test.
    """
    n, steps = x.shape
    ge = np.zeros((n, steps), dtype=np.int64)
    le = np.zeros((n, steps), dtype=np.int64)
    useed = np.uint64(seed)
    for i in prange(n):
        deg = indptr[i + 1] - indptr[i]
        if deg == 0:
            continue
        chosen = np.empty(deg, dtype=np.int64)
        per_step = np.empty(steps)
        for r in range(first, first + count):
            key = stream_key(useed, _SITE - i, r)
            counter = 0
            j = 0
            while j < deg:
                cand, counter = uniform_below(key, counter, n - 1)
                cand += cand >= i
                dup = False
                for q in range(j):
                    if chosen[q] == cand:
                        dup = True
                        break
                if not dup:
                    chosen[j] = cand
                    j += 1
            per_step[:] = 0.0
            for j in range(deg):
                row = chosen[j]
                for s in range(steps):
                    per_step[s] += x[row, s]
            lag = 0.0
            for t in range(steps):
                lag += per_step[t]
                if t - k - 1 >= 0:
                    lag -= per_step[t - k - 1]
                stat = scale[i, t] * lag + shift[i, t]
                obs = observed[i, t]
                tol = 1e-9 * max(1.0, abs(obs))
                ge[i, t] += stat >= obs - tol
                le[i, t] += stat <= obs + tol
    return ge, le


def _perm_batch(x, indptr, k, scale, shift, observed, seed, first, count):
    """One seeded batch of permutations (a pure task)."""
    return np.stack(_permutation_counts(x, indptr, k, scale, shift, observed, seed, first, count))


# ------------------------------------------------------------------------------ trend
def mann_kendall(z: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mann–Kendall trend of each row of ``z`` (areas × steps): (S, τ, two-sided p).

    ``S = Σ_{s<t} sign(z_t − z_s)``, ``τ = S / (T (T − 1) / 2)``, variance
    ``[T(T−1)(2T+5) − Σ_g g(g−1)(2g+5)] / 18`` over groups ``g`` of tied values, normal p
    without continuity correction (equal to ``scipy.stats.kendalltau(range(T), z)`` when
    there are no ties). Rows that are constant get τ = 0, p = 1.
    """
    arr = np.atleast_2d(np.asarray(z, dtype=float))
    n, t = arr.shape
    s = np.zeros(n)
    for lo in range(t - 1):
        s += np.sign(arr[:, lo + 1 :] - arr[:, lo : lo + 1]).sum(axis=1)
    var = np.full(n, t * (t - 1) * (2 * t + 5) / 18.0)
    srt = np.sort(arr, axis=1)
    for row in np.flatnonzero((np.diff(srt, axis=1) == 0).any(axis=1)):
        _, g = np.unique(srt[row], return_counts=True)
        var[row] -= (g * (g - 1) * (2 * g + 5)).sum() / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = np.where(var > 0, s / np.sqrt(var), 0.0)
    return s, s / (t * (t - 1) / 2.0), 2.0 * stats.norm.sf(np.abs(zs))


# ------------------------------------------------------------------------------ categories
def classify_trends(
    hot: Any, cold: Any, tau: Any, trend_p: Any, *, alpha: float = 0.05
) -> np.ndarray:
    """The 17 emerging hot spot categories from significance patterns and trends.

    Parameters
    ----------
    hot, cold : bool arrays (areas × steps)
        Significant hot / cold bins (never both).
    tau, trend_p : arrays (areas,)
        Mann–Kendall τ and p-value of each area's Gi* series.
    alpha : float
        Level of the trend test.

    Returns
    -------
    numpy.ndarray of str
        One category of :data:`CATEGORIES` per area (rules in the module notes).

    Examples
    --------
    >>> hot = np.array([[0, 0, 0, 1], [0, 0, 1, 1]], dtype=bool)
    >>> classify_trends(hot, ~hot & False, [0.0, 0.0], [1.0, 1.0]).tolist()
    ['new hot spot', 'consecutive hot spot']
    """
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    tau = np.asarray(tau, dtype=float)
    trend_p = np.asarray(trend_p, dtype=float)
    out = np.full(hot.shape[0], "no pattern detected", dtype=object)
    for sign, same, other in (("hot", hot, cold), ("cold", cold, hot)):
        rising = tau > 0 if sign == "hot" else tau < 0
        labels = _family(same, other, rising, trend_p <= alpha)
        pick = same[:, -1]
        out[pick] = [f"{lab} {sign} spot" for lab in labels[pick]]
        historical = ~hot[:, -1] & ~cold[:, -1] & (same.sum(axis=1) >= 0.9 * same.shape[1] - 1e-9)
        out[historical] = f"historical {sign} spot"
    return out


def _family(same: np.ndarray, other: np.ndarray, stronger: np.ndarray, trend: np.ndarray):
    """Category (without "hot/cold spot") of areas whose last step is in the family."""
    t = same.shape[1]
    share = same.sum(axis=1) >= 0.9 * t - 1e-9
    sig = same | other
    earlier = sig[:, :-1].sum(axis=1)
    run = _final_run(same)
    before_run = np.array([sig[i, : t - run[i]].any() for i in range(len(run))])
    labels = np.full(same.shape[0], "sporadic", dtype=object)
    labels[other[:, :-1].any(axis=1)] = "oscillating"
    labels[(run >= 2) & ~before_run] = "consecutive"
    labels[earlier == 0] = "new"
    labels[share & trend & stronger] = "intensifying"
    labels[share & ~trend] = "persistent"
    labels[share & trend & ~stronger] = "diminishing"
    return labels


def _final_run(flags: np.ndarray) -> np.ndarray:
    """Length of the run of True at the end of each row."""
    rev = flags[:, ::-1]
    first_false = np.where(rev.all(axis=1), flags.shape[1], np.argmin(rev, axis=1))
    return first_false


# ------------------------------------------------------------------------------ result
@dataclass(frozen=True)
class EmergingHotSpots:
    """Result of :func:`emerging_hot_spots`.

    Attributes
    ----------
    gi_star, p_values, significant : ndarray (areas × steps)
        Gi* z, raw p-values, significance after ``correction``.
    tau, trend_p : ndarray (areas,)
        Mann–Kendall τ and p of each area's Gi* series.
    category : ndarray of str (areas,)
        One of :data:`CATEGORIES`.
    areas, steps : Index
    provenance_ : dict
    """

    gi_star: np.ndarray
    p_values: np.ndarray
    significant: np.ndarray
    tau: np.ndarray
    trend_p: np.ndarray
    category: np.ndarray
    areas: pd.Index
    steps: list
    alpha: float
    provenance_: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per area: category (English and Korean), τ, trend p, hot/cold counts."""
        hot = self.significant & (self.gi_star > 0)
        cold = self.significant & (self.gi_star < 0)
        return pd.DataFrame(
            {
                "category": self.category,
                "category_ko": [CATEGORIES[c] for c in self.category],
                "trend_tau": self.tau,
                "trend_p": self.trend_p,
                "hot_steps": hot.sum(axis=1),
                "cold_steps": cold.sum(axis=1),
                "first_hot": [_first(h, self.steps) for h in hot],
                "last_z": self.gi_star[:, -1],
            },
            index=self.areas.rename("area"),
        )

    def bins_frame(self) -> pd.DataFrame:
        """One row per area and step: Gi* z, p-value, significance (hot/cold/not)."""
        n, t = self.gi_star.shape
        state = np.where(self.significant, np.where(self.gi_star > 0, "hot", "cold"), "-")
        return pd.DataFrame(
            {
                "area": np.repeat(self.areas.to_numpy(), t),
                "step": np.tile(np.asarray(self.steps, dtype=object), n),
                "gi_star": self.gi_star.ravel(),
                "p_value": self.p_values.ravel(),
                "state": state.ravel(),
            }
        )

    def summary(self, names: pd.Series | None = None, lang: Lang = "both") -> str:
        """Counts per category and the new and intensifying hot spots by name."""
        check_lang(lang)
        frame = self.to_frame()
        counts = frame["category"].value_counts()
        listed = [c for c in CATEGORIES if counts.get(c, 0)]
        en = [
            f"Emerging hot spot analysis of {len(self.areas)} areas over {len(self.steps)} "
            f"steps ({self.steps[0]} to {self.steps[-1]}), α = {self.alpha}:"
        ] + [f"  {c}: {counts[c]}" for c in listed]
        ko = [
            f"신흥 핫스팟 분석: {len(self.areas)}개 지역, {len(self.steps)}개 시점 "
            f"({self.steps[0]}~{self.steps[-1]}), 유의수준 {self.alpha}:"
        ] + [f"  {CATEGORIES[c]}: {counts[c]}" for c in listed]
        for cat in ("new hot spot", "consecutive hot spot", "intensifying hot spot"):
            rows = frame[frame["category"] == cat]
            if len(rows):
                where = _names(rows.index, names)
                since = rows["first_hot"].min()
                en.append(f"A {cat.replace(' hot spot', '')} hot spot since {since} in {where}.")
                ko.append(f"{since}부터 {CATEGORIES[cat]}: {where}.")
        return pick_language(lang, "\n".join(en), "\n".join(ko))

    def plot(
        self, areas: Any, path: Any = None, *, title: str | None = None, source: str | None = None
    ) -> Any:
        """Category map (17 colours, counts in the legend); returns the CategoryMapResult."""
        from dongne.spacetime.plots import category_figure

        return category_figure(self, areas, CATEGORIES, path=path, title=title, source=source)


def _first(flags: np.ndarray, steps: list) -> Any:
    idx = np.flatnonzero(flags)
    return steps[idx[0]] if len(idx) else None


def _names(ids: pd.Index, names: pd.Series | None) -> str:
    shown = [str(names.get(i, i)) if names is not None else str(i) for i in ids[:6]]
    return ", ".join(shown) + (f" +{len(ids) - 6}" if len(ids) > 6 else "")


# ------------------------------------------------------------------------------ workflow
def emerging_hot_spots(
    cube: Any,
    w: SpatialWeights,
    *,
    k: int = 1,
    permutations: int = 999,
    correction: str = "fdr_bh",
    alpha: float = 0.05,
    rng: int | np.random.Generator | None = None,
    scheduler: Any = None,
) -> EmergingHotSpots:
    """Emerging hot spot analysis of a cube of values (module notes for the rules).

    Parameters
    ----------
    cube : SpaceTimeCube or array (areas × steps)
        Values per area and step (at least 3 steps; 10 or more for a meaningful trend).
    w : SpatialWeights
        Spatial neighbours (binary; the area itself is added).
    k : int, default 1
        Earlier steps in each neighbourhood (sfdep's and ArcGIS's time step interval).
    permutations : int, default 999
        Conditional permutations per bin; 0 uses normal p-values of the z.
    correction : {"fdr_bh", "fdr_by", "bonferroni", "none"}, default "fdr_bh"
        Multiple-testing correction over all bins.
    alpha : float, default 0.05
        Level of the bins' significance and of the trend test.
    rng : int, Generator or None
        Seed of the permutation streams (None: 0).
    scheduler : None, "threads", "processes", address or Client
        Where permutation batches run; counts are identical everywhere.

    Returns
    -------
    EmergingHotSpots
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise SpecificationError(f"The 'k' parameter must be an int >= 0. Got {k!r} instead.")
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)):
        raise SpecificationError(
            f"The 'permutations' parameter must be an int. Got {permutations!r}."
        )
    x = _aligned(cube, w)
    if x.shape[1] < 3:
        raise DataError("Emerging hot spot analysis needs at least 3 time steps.")
    indptr, indices = _neighbour_lists(w)
    own, nbr, size = _gi_parts(x, indptr, indices, int(k))
    scale, shift = _affine(x, own, size, int(k))
    z = scale * nbr + shift
    seed = resolve_rng(rng)
    p = _pvalues(x, indptr, int(k), scale, shift, z, int(permutations), seed, scheduler)
    _warn_floor(int(permutations), correction, alpha, p.size)
    _, sig = adjust_pvalues(p.ravel(), correction, alpha)
    sig = sig.reshape(p.shape) & np.isfinite(z)
    _, tau, trend_p = mann_kendall(np.nan_to_num(z))
    category = classify_trends(sig & (z > 0), sig & (z < 0), tau, trend_p, alpha=alpha)
    steps = cube.step_labels() if isinstance(cube, SpaceTimeCube) else list(range(x.shape[1]))
    prov = {
        "method": "emerging hot spot analysis (Gi* + Mann-Kendall, ArcGIS categories)",
        "k": int(k), "permutations": int(permutations), "correction": correction,
        "alpha": alpha, "seed": seed, "weights": w.kind, "dongne_version": __version__,
    }  # fmt: skip
    return EmergingHotSpots(z, p, sig, tau, trend_p, category, w.ids, steps, alpha, prov)


def _warn_floor(permutations: int, correction: str, alpha: float, bins: int) -> None:
    """Warn when no permutation p-value can pass the first step of the correction."""
    if permutations == 0 or correction == "none":
        return
    floor = 1.0 / (permutations + 1)
    if floor > alpha / bins:
        warnings.warn(
            f"With {permutations} permutations no p-value is below {floor:.2g}, while "
            f"{correction} over {bins} bins starts at {alpha / bins:.2g}: a bin is significant "
            "only when many bins are as extreme. Fix: more permutations, normal p-values "
            "(permutations=0, --permutations 0) or correction='none' (--correction none).",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )


def _pvalues(x, indptr, k, scale, shift, z, permutations, seed, scheduler) -> np.ndarray:
    if permutations == 0:
        return 2.0 * stats.norm.sf(np.abs(z))
    parts = map_batches(
        _perm_batch, (x, indptr, k, scale, shift, z), seed, permutations, scheduler=scheduler
    )
    counts = np.sum(parts, axis=0)
    p = (np.minimum(counts[0], counts[1]) + 1.0) / (permutations + 1.0)
    isolated = (indptr[1:] - indptr[:-1]) == 0
    p[isolated] = 2.0 * stats.norm.sf(np.abs(z[isolated]))  # no neighbour to permute
    return p


def _aligned(cube: Any, w: SpatialWeights) -> np.ndarray:
    if isinstance(cube, SpaceTimeCube):
        missing = w.ids.difference(cube.areas)
        extra = cube.areas.difference(w.ids)
        if len(missing) or len(extra):
            raise DataError(
                f"The cube and the weights cover different areas ({len(missing)} only in the "
                f"weights, {len(extra)} only in the cube). Fix: build both on the same areas."
            )
        x = cube.to_frame().reindex(w.ids).to_numpy(dtype=float)
    else:
        x = np.asarray(cube, dtype=float)
        if x.ndim != 2 or x.shape[0] != w.n:
            raise DataError(f"values must be an array of {w.n} areas × steps.")
    if not np.isfinite(x).all():
        raise DataError("The cube has missing values. Fix: fill them (fill=...) or drop areas.")
    return x
