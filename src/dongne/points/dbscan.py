"""Significant DBSCAN+: density clusters of any shape that are more than chance.

DBSCAN (Ester et al. 1996) joins points that have at least ``min_pts`` neighbours within
``eps`` into clusters of any shape, but any random pattern has such clumps. Significant
DBSCAN (Xie & Shekhar 2019) asks of each cluster whether a cluster that dense would appear
under the null hypothesis — points placed by a Poisson process over the study area — and
keeps only those that would not; Significant DBSCAN+ (Xie et al. 2022) runs several scales
``(eps, min_pts)`` so that clusters of different densities are found, with the significance
corrected for having looked at every scale.

How dongne does it (see ``docs/points.md`` for the checks):

* **Statistic.** A cluster's footprint is the part of the study area within ``eps`` of one of
  its core points; the null expects ``mu = n × (null share of the footprint)`` points there
  (:class:`~dongne.points.PointPattern` holds the shares: even for complete spatial
  randomness, by population or by controls for an inhomogeneous null). The cluster's
  statistic is Kulldorff's Poisson log-likelihood ratio of its ``members`` against ``mu``.
* **Monte Carlo.** Each replication draws ``n`` points from the null, runs DBSCAN at every
  scale and records the largest statistic of any cluster at each scale. A cluster's p-value
  at its scale is ``(1 + #{replications whose maximum at that scale ≥ its statistic}) /
  (R + 1)``; scales are combined by Westfall & Young's (1993) min-p adjustment: the adjusted
  p-value is the share of replications whose smallest per-scale p-value is as small. The
  maximum over clusters and the min-p over scales control the family-wise error of the whole
  map, so on null data the chance of reporting any cluster is at most ``alpha``, and no scale
  dominates because its statistics run larger.
* **Varying densities.** Significant clusters of all scales are ranked (by size, or by their
  statistic with ``prefer="strongest"``); a cluster is reported when it shares no point with a
  better-ranked reported one (as Kulldorff's secondary clusters).

Complexity: DBSCAN on a grid of cells ``eps`` wide is O(n k) for k points per neighbourhood;
the Monte Carlo is R × scales DBSCAN runs, spread over threads (numba) or over a Dask cluster
(``scheduler``), each replication independent and seeded by ``(rng, replication)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dongne import __version__
from dongne._validation import check_choice, check_probability
from dongne._vocab import Lang, bilingual, pick_language, resolve_rng
from dongne.errors import SpecificationError
from dongne.parallel.scheduler import describe_scheduler, map_batches
from dongne.points import _kernels
from dongne.points.pattern import PointPattern

__all__ = ["SignificantDBSCAN", "default_scales"]

#: Density ratios (neighbourhood count expected under the null vs ``min_pts``) of the default
#: scales: a core point needs 8×, 4× or 2× the points the null expects within ``eps``.
DEFAULT_RATIOS = (8.0, 4.0, 2.0)


def default_scales(pattern: PointPattern, min_pts: int = 10) -> np.ndarray:
    """The default radii: where ``min_pts`` is 8, 4 and 2 times the null's expected count.

    ``eps = sqrt(min_pts / (ratio × π × λ))`` for the mean intensity λ = n / area (metres).
    """
    lam = pattern.intensity
    return np.array([np.sqrt(min_pts / (r * np.pi * lam)) for r in DEFAULT_RATIOS])


def _null_batch(n, cum, cells, x0, y0, h, nx, ny, weight, eps, min_pts, seed, first, count):
    """Maxima of replications ``first … first+count-1`` (module level for worker processes)."""
    return _kernels.null_maxima(
        n, cum, cells, x0, y0, h, nx, ny, weight, eps, min_pts, np.uint64(seed), first, count
    )


class SignificantDBSCAN:
    """Significant DBSCAN+ (Xie & Shekhar 2019; Xie et al. 2022): multi-scale DBSCAN clusters
    with Monte Carlo p-values under a (homogeneous or inhomogeneous) Poisson null.

    Parameters
    ----------
    eps : float or sequence of float, optional
        Neighbourhood radii in metres, one per scale. Default: :func:`default_scales`.
    min_pts : int or sequence of int, default 10
        Points (itself included) a core point needs within ``eps``; one for all scales or one
        per scale.
    alpha : float, default 0.05
        Family-wise significance level over all clusters and scales.
    prefer : {"largest", "strongest"}, default "largest"
        Which of overlapping significant clusters (of different scales) is reported: the one
        with most points (a whole irregular cluster rather than its densest pieces), or the
        one with the largest statistic (Kulldorff's order). Either way every reported
        cluster is significant on its own; the choice only decides how they are drawn.
    replications : int, default 999
        Monte Carlo replications of the null.
    rng : int, numpy.random.Generator or None
        Seed of the replications (None means 0).
    scheduler : None, "threads", "processes" or a Dask address
        Where the replications run; results are identical.

    Attributes
    ----------
    clusters_ : geopandas.GeoDataFrame
        The reported clusters, most significant first: ``cluster`` (1, 2, …), ``eps``,
        ``min_pts``, ``points``, ``core_points``, ``expected``, ``ratio`` (points/expected),
        ``llr``, ``p_value`` and the concave hull of the members (metric CRS).
    labels_ : numpy.ndarray
        Cluster number of every point of the pattern (0: in no reported cluster).
    candidates_ : pandas.DataFrame
        Every DBSCAN cluster of every scale with its statistic and p-value, before selection.
    null_maxima_ : numpy.ndarray
        The largest statistic of each replication (rows) at each scale (columns).
    provenance_ : dict
        Method, null, scales, replications, seed, alpha, dongne version.

    References
    ----------
    .. [1] Ester, M., Kriegel, H.-P., Sander, J. and Xu, X. (1996). A density-based algorithm
       for discovering clusters in large spatial databases with noise. KDD-96, 226–231.
    .. [2] Xie, Y. and Shekhar, S. (2019). Significant DBSCAN towards statistically robust
       clustering. SSTD '19, 31–40. doi:10.1145/3340964.3340968
    .. [3] Xie, Y., Jia, X., Shekhar, S., Bao, H. and Zhou, X. (2022). Significant DBSCAN+:
       Statistically robust density-based clustering. ACM TIST 12(5). doi:10.1145/3474842
    .. [4] Kulldorff, M. (1997). A spatial scan statistic. Communications in Statistics —
       Theory and Methods 26(6), 1481–1496.
    .. [5] Westfall, P. H. and Young, S. S. (1993). Resampling-Based Multiple Testing. Wiley.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np
    >>> from dongne.points import point_pattern
    >>> g = np.random.default_rng(0)
    >>> xy = np.vstack([g.uniform(0, 1000, (300, 2)), g.normal(500, 15, (40, 2))])
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*xy.T), crs="EPSG:5179")
    >>> fit = SignificantDBSCAN(eps=[40.0], replications=99, rng=1).fit(point_pattern(pts))
    >>> len(fit.clusters_), int(fit.clusters_["points"].iloc[0]) >= 40
    (1, True)
    """

    def __init__(
        self,
        eps: float | Sequence[float] | None = None,
        min_pts: int | Sequence[int] = 10,
        *,
        alpha: float = 0.05,
        prefer: str = "largest",
        replications: int = 999,
        rng: int | np.random.Generator | None = None,
        scheduler: Any = None,
    ) -> None:
        self.eps = eps
        self.min_pts = min_pts
        self.alpha = alpha
        self.prefer = prefer
        self.replications = replications
        self.rng = rng
        self.scheduler = scheduler

    def _scales(self, pattern: PointPattern) -> tuple[np.ndarray, np.ndarray]:
        mp = np.atleast_1d(np.asarray(self.min_pts))
        if not (np.issubdtype(mp.dtype, np.integer) and (mp >= 2).all()):
            raise SpecificationError(
                f"min_pts must be integers of at least 2. Got {self.min_pts!r}. Fix: pass "
                "min_pts=10."
            )
        if self.eps is None:
            eps = np.concatenate([default_scales(pattern, int(m)) for m in mp[:1]])
        else:
            eps = np.atleast_1d(np.asarray(self.eps, dtype=float))
        if not (np.isfinite(eps).all() and (eps > 0).all()) or eps.ndim != 1:
            raise SpecificationError(
                f"eps must be positive distances in metres. Got {self.eps!r}. Fix: pass "
                "eps=100 or eps=[50, 100, 200]."
            )
        if len(mp) == 1:
            mp = np.repeat(mp, len(eps))
        if len(mp) != len(eps):
            raise SpecificationError(
                f"{len(mp)} min_pts values for {len(eps)} eps values. Fix: pass one min_pts, "
                "or one per eps."
            )
        return eps, mp.astype(np.int64)

    def fit(
        self, pattern: PointPattern, progress: Callable[[int, int], None] | None = None
    ) -> SignificantDBSCAN:
        """Find the clusters of ``pattern`` and test them; returns ``self``.

        ``progress(done, replications)`` is called as replications finish.
        """
        check_probability("alpha", self.alpha)
        check_choice("prefer", self.prefer, ("largest", "strongest"))
        if not (isinstance(self.replications, int | np.integer) and self.replications >= 1):
            raise SpecificationError(
                f"replications must be a positive int. Got {self.replications!r}. Fix: pass "
                "replications=999."
            )
        seed = resolve_rng(self.rng)
        eps, min_pts = self._scales(pattern)
        xy = pattern.xy
        cum, cells, x0, y0, h, nx, ny, weight = pattern.raster_args()
        observed = []
        for s in range(len(eps)):
            labels, core, members, expected, llr = _kernels.scale_statistics(
                xy[:, 0], xy[:, 1], eps[s], min_pts[s], x0, y0, h, nx, ny, weight
            )
            observed.append((labels, core, members, expected, llr))
        shared = (pattern.n, cum, cells, x0, y0, h, nx, ny, weight, eps, min_pts)
        parts = map_batches(
            _null_batch,
            shared,
            seed,
            int(self.replications),
            batch_size=50,
            scheduler=self.scheduler,
            progress=progress,
        )
        self.null_maxima_ = np.concatenate(parts)
        top = np.array([llr.max() if len(llr) else 0.0 for *_, llr in observed])
        self._null_min_p = _min_p(self.null_maxima_, top)
        self.candidates_ = self._candidates(observed, eps, min_pts)
        self._select(pattern, observed, eps)
        self.provenance_ = {
            "method": "Significant DBSCAN+ (Xie & Shekhar 2019; Xie et al. 2022)",
            "statistic": "Poisson log-likelihood ratio of the cluster footprint (Kulldorff 1997)",
            "null": pattern.null,
            "eps_m": [float(e) for e in eps],
            "min_pts": [int(m) for m in min_pts],
            "alpha": float(self.alpha),
            "replications": int(self.replications),
            "seed": seed,
            "correction": "maximum over clusters per scale, min-p over scales (family-wise)",
            "prefer": self.prefer,
            "cell_size_m": pattern.cell_size,
            "points": pattern.n,
            "area_km2": pattern.area / 1e6,
            "scheduler": describe_scheduler(self.scheduler),
            "dongne_version": __version__,
        }
        return self

    def _p_values(self, llr: np.ndarray, scale: int) -> np.ndarray:
        """Family-wise p-values (Westfall–Young min-p over scales) of statistics at ``scale``."""
        null = np.sort(self.null_maxima_[:, scale])
        r = len(null)
        p_scale = (1.0 + r - np.searchsorted(null, llr, side="left")) / (r + 1.0)
        min_p = np.sort(self._null_min_p)
        p = (1.0 + np.searchsorted(min_p, p_scale, side="right")) / (r + 1.0)
        return np.where(llr > 0, p, 1.0)

    def _candidates(self, observed: list, eps: np.ndarray, min_pts: np.ndarray) -> pd.DataFrame:
        rows = []
        for s, (labels, core, members, expected, llr) in enumerate(observed):
            p = self._p_values(llr, s)
            cores = np.bincount(labels[core], minlength=len(llr)) if len(llr) else []
            for c in range(len(llr)):
                rows.append(
                    (
                        s,
                        c,
                        eps[s],
                        int(min_pts[s]),
                        int(members[c]),
                        int(cores[c]),
                        expected[c],
                        llr[c],
                        p[c],
                    )
                )
        columns = [
            "scale",
            "dbscan_label",
            "eps",
            "min_pts",
            "points",
            "core_points",
            "expected",
            "llr",
            "p_value",
        ]
        frame = pd.DataFrame(rows, columns=columns)
        frame["ratio"] = frame["points"] / frame["expected"]
        return frame.sort_values(["llr", "scale", "dbscan_label"], ascending=[False, True, True])

    def _select(self, pattern: PointPattern, observed: list, eps: np.ndarray) -> None:
        labels_out = np.zeros(pattern.n, np.int64)
        keep = []
        significant = self.candidates_[self.candidates_["p_value"] <= self.alpha]
        if self.prefer == "largest":
            significant = significant.sort_values(
                ["points", "llr", "scale", "dbscan_label"], ascending=[False, False, True, True]
            )
        for row in significant.itertuples():
            mask = observed[row.scale][0] == row.dbscan_label
            if (labels_out[mask] > 0).any():
                continue
            keep.append(row)
            labels_out[mask] = len(keep)
        xy = pattern.xy
        hulls = [_hull(xy[labels_out == k + 1], eps[row.scale]) for k, row in enumerate(keep)]
        table = pd.DataFrame(
            {
                "cluster": np.arange(1, len(keep) + 1),
                "eps": [r.eps for r in keep],
                "min_pts": [r.min_pts for r in keep],
                "points": [r.points for r in keep],
                "core_points": [r.core_points for r in keep],
                "expected": [r.expected for r in keep],
                "ratio": [r.ratio for r in keep],
                "llr": [r.llr for r in keep],
                "p_value": [r.p_value for r in keep],
            }
        )
        self.clusters_ = gpd.GeoDataFrame(table, geometry=hulls, crs=pattern.crs)
        self.labels_ = labels_out
        self._pattern = pattern

    def to_frame(self) -> gpd.GeoDataFrame:
        """The reported clusters (:attr:`clusters_`), one row per cluster."""
        return self.clusters_.copy()

    def in_areas(
        self, areas: gpd.GeoDataFrame, id_column: str, name_column: str | None = None
    ) -> pd.DataFrame:
        """The areas (dongs) each reported cluster touches, with the cluster's points in each.

        Returns one row per (cluster, area) pair: ``cluster``, the area's ``id_column`` (and
        ``name_column``), ``points`` (cluster members inside the area) and ``overlap_share``
        (share of the cluster's hull area inside the area).
        """
        a = areas.to_crs(self.clusters_.crs)
        pairs = gpd.sjoin(self.clusters_[["cluster", "geometry"]], a, predicate="intersects")
        pts = self._pattern.points.geometry.to_numpy()
        rows = []
        for cl, idx in zip(pairs["cluster"], pairs["index_right"], strict=True):
            poly = a.geometry.loc[idx]
            hull = self.clusters_.geometry.iloc[cl - 1]
            members = pts[self.labels_ == cl]
            row = {"cluster": int(cl), id_column: a.loc[idx, id_column]}
            if name_column:
                row[name_column] = a.loc[idx, name_column]
            row["points"] = int(shapely.contains(poly, members).sum())
            row["overlap_share"] = float(hull.intersection(poly).area / hull.area)
            rows.append(row)
        return pd.DataFrame(rows).sort_values(["cluster", "points"], ascending=[True, False])

    @bilingual
    def summary(self, lang: Lang = "both") -> str:
        """The reported clusters in plain English or Korean (``lang``: "both", "ko", "en")."""
        prov = self.provenance_
        k, a = len(self.clusters_), prov["alpha"]
        scales = ", ".join(
            f"{e:.0f} m/{m}" for e, m in zip(prov["eps_m"], prov["min_pts"], strict=True)
        )
        null_en = {"homogeneous": "points placed at random over the study area"}.get(
            prov["null"], f"points placed at random in proportion to {prov['null']}"
        )
        null_ko = {"homogeneous": "분석 지역 전체에 무작위로 놓인 점"}.get(
            prov["null"], f"{prov['null']}에 비례해 무작위로 놓인 점"
        )
        lines_en = [
            f"Significant DBSCAN+ on {prov['points']:,} points over {prov['area_km2']:.1f} km², "
            f"scales (eps/min_pts) {scales}; null: {null_en}; {prov['replications']} "
            f"replications, seed {prov['seed']}.",
            f"{k} cluster(s) significant at family-wise alpha = {a:g} "
            f"(of {len(self.candidates_)} DBSCAN clusters over all scales).",
        ]
        lines_ko = [
            f"유의한 DBSCAN+: 점 {prov['points']:,}개, 면적 {prov['area_km2']:.1f} km², "
            f"규모(eps/min_pts) {scales}; 귀무가설: {null_ko}; 반복 {prov['replications']}회, "
            f"시드 {prov['seed']}.",
            f"모든 규모의 DBSCAN 군집 {len(self.candidates_)}개 중 {k}개가 전체 유의수준 "
            f"{a:g}에서 유의합니다.",
        ]
        for r in self.clusters_.head(10).itertuples():
            lines_en.append(
                f"  cluster {r.cluster}: {r.points} points where {r.expected:.1f} were expected "
                f"({r.ratio:.1f}×), eps {r.eps:.0f} m, p = {r.p_value:.3g}"
            )
            lines_ko.append(
                f"  군집 {r.cluster}: 기대 {r.expected:.1f}개 대비 {r.points}개 "
                f"({r.ratio:.1f}배), eps {r.eps:.0f} m, p = {r.p_value:.3g}"
            )
        if k > 10:
            lines_en.append(f"  … and {k - 10} more (see the clusters table).")
            lines_ko.append(f"  … 외 {k - 10}개 (군집 표 참조).")
        return pick_language(lang, "\n".join(lines_en), "\n".join(lines_ko))

    def plot(self, areas: gpd.GeoDataFrame | None = None, path: Any = None, **options: Any):
        """Map the points coloured by reported cluster (grey: in none); see
        :func:`dongne.points.plots.cluster_map`."""
        from dongne.points.plots import cluster_map

        return cluster_map(self, areas=areas, path=path, **options)


def _min_p(maxima: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Each replication's smallest per-scale p-value (the min-p null of Westfall & Young):
    its rank at each scale among all R + 1 patterns — the replications and the observed one,
    whose per-scale maxima are ``observed`` — divided by R + 1, as an observed statistic's
    p-value ``(1 + #{replications ≥ it}) / (R + 1)`` is its rank among the same R + 1."""
    r = len(maxima)
    ranks = np.empty(maxima.shape)
    for s in range(maxima.shape[1]):
        ordered = np.sort(maxima[:, s])
        ranks[:, s] = r - np.searchsorted(ordered, maxima[:, s], side="left")
    ranks += observed[None, :] >= maxima
    return (ranks / (r + 1.0)).min(axis=1)


def _hull(xy: np.ndarray, eps: float):
    """Concave hull of a cluster's members (ratio 0.3), widened by eps/4 so that it has area."""
    hull = shapely.concave_hull(shapely.multipoints(xy), ratio=0.3)
    return hull.buffer(eps / 4)
