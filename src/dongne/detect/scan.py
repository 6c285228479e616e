"""Kulldorff's spatial scan statistic: clusters of cases (Poisson and Bernoulli models).

A circular window is centred on each area's location (or on given centres) and grows
through the nearest areas until it holds a maximum share of the population (default 50%),
reaches a maximum radius or a maximum number of areas. For each window the log-likelihood
ratio (LLR) of "the rate inside differs from the rate outside" against "one rate everywhere"
is computed; the window with the largest LLR is the *most likely cluster*. Its significance
comes from Monte Carlo replicates of the data under the null hypothesis (the maximum LLR of
each replicate), and non-overlapping windows with the next largest LLRs are reported as
*secondary clusters*, tested against the same distribution of maxima — SaTScan's defaults
(Kulldorff 1997; SaTScan User Guide).

The estimator follows dongne's contract: ``ScanStatistic(...)`` stores the options,
``fit(...)`` computes and returns ``self``, results end in ``_``. The scan itself is done by
numba kernels in :mod:`dongne.detect._scan_kernels`; replicate ``r`` draws its random numbers
from the stream keyed by ``(seed, r)``, so results are identical for any number of threads
and any batching.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Hashable
from typing import Any, Literal

import numpy as np
import pandas as pd

from dongne import __version__
from dongne._validation import check_probability
from dongne._vocab import Lang, check_lang, pick_language
from dongne._warnings import user_stacklevel
from dongne.detect import _prepare as prep
from dongne.detect import _scan_kernels as kern
from dongne.detect._scan_core import (
    EULER_GAMMA,
    build_windows,
    conditional_shares,
    first_of_duplicates,
    gumbel_pvalues,
    mc_pvalue,
    threads,
)
from dongne.detect._scan_inputs import (
    EARTH_RADIUS_M,
    CoordinateSystem,
    expected_counts,
    resolve_centres,
    resolve_inputs,
    resolve_locations,
)
from dongne.detect.inference import check_choice
from dongne.errors import (
    DataError,
    DongneError,
    DongneWarning,
    SpecificationError,
    format_rows,
)
from dongne.io.provenance import attach
from dongne.parallel.batches import BATCH_SIZE
from dongne.parallel.scheduler import map_batches

__all__ = [
    "ScanStatistic",
    "bernoulli_llr",
    "expected_counts",
    "gumbel_pvalues",
    "poisson_llr",
    "population_weighted_centroids",
    "scan_statistic",
]

Model = Literal["poisson", "bernoulli"]
ScanDirection = Literal["high", "low", "both"]

MODELS: tuple[str, ...] = ("poisson", "bernoulli")
DIRECTIONS: tuple[str, ...] = ("high", "low", "both")
_NOT_IN_CLUSTER = "not in a cluster"
_NOT_SIGNIFICANT_COLOUR = "#bdbdbd"
# Reds then oranges for high-rate clusters, blues then purples for low-rate ones (ColorBrewer).
_HIGH_COLOURS = (
    "#67000d", "#a50f15", "#cb181d", "#ef3b2c", "#fb6a4a",
    "#fc9272", "#d94801", "#f16913", "#fd8d3c", "#fdae6b",
)  # fmt: skip
_LOW_COLOURS = (
    "#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6",
    "#9ecae1", "#54278f", "#6a51a3", "#807dba", "#9e9ac8",
)  # fmt: skip


# ============================================================================ pure functions
def _xlogy_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0) / b), 0.0)


def poisson_llr(cases: Any, expected: Any, total_cases: float) -> np.ndarray:
    """Poisson log-likelihood ratio of windows (Kulldorff 1997), vectorised.

    .. math::

        \\mathrm{LLR} = c \\log\\frac{c}{e} + (C - c) \\log\\frac{C - c}{C - e}

    with ``c`` the cases and ``e`` the expected cases inside the window and ``C`` the total
    cases (the expected counts sum to ``C``); ``0 log 0 = 0``. This is the log of the ratio
    of the likelihood with one rate inside and another outside the window to the likelihood
    with one rate everywhere. The value is returned for either side; the scan keeps it only
    for windows on the scanned side (``c > e`` for high rates).

    Parameters
    ----------
    cases, expected : array-like
        Observed and expected cases of each window (0 < e < C).
    total_cases : float
        C, the total number of cases.

    Returns
    -------
    numpy.ndarray
        The LLR of each window.

    References
    ----------
    Kulldorff, M. (1997). A spatial scan statistic. *Communications in Statistics — Theory
    and Methods* 26(6):1481–1496.

    Examples
    --------
    >>> round(float(poisson_llr(85, 49.71049464248403, 552)), 6)
    11.577255
    """
    c = np.asarray(cases, dtype=float)
    e = np.asarray(expected, dtype=float)
    big = float(total_cases)
    return _xlogy_ratio(c, e) + _xlogy_ratio(big - c, big - e)


def bernoulli_llr(cases: Any, trials: Any, total_cases: float, total_trials: float) -> np.ndarray:
    """Bernoulli log-likelihood ratio of windows (Kulldorff 1997), vectorised.

    .. math::

        \\mathrm{LLR} = \\ell(c, n) + \\ell(C - c, N - n) - \\ell(C, N), \\qquad
        \\ell(a, b) = a \\log\\frac{a}{b} + (b - a) \\log\\frac{b - a}{b}

    with ``c`` cases among ``n`` individuals (cases + controls) inside the window and ``C``
    cases among ``N`` individuals in total; ``0 log 0 = 0``. High-rate windows have
    c/n > (C − c)/(N − n).

    Parameters
    ----------
    cases, trials : array-like
        Cases and individuals (cases + controls) of each window.
    total_cases, total_trials : float
        C and N.

    Returns
    -------
    numpy.ndarray
        The LLR of each window.

    Examples
    --------
    >>> round(float(bernoulli_llr(41, 38999, 552, 1057673)), 5)
    8.47836
    """
    c = np.asarray(cases, dtype=float)
    n = np.asarray(trials, dtype=float)
    big_c, big_n = float(total_cases), float(total_trials)

    def ell(a: Any, b: Any) -> np.ndarray:
        a = np.asarray(a, dtype=float)
        b = np.asarray(b, dtype=float)
        return _xlogy_ratio(a, b) + _xlogy_ratio(b - a, b)

    return ell(c, n) + ell(big_c - c, big_n - n) - ell(big_c, big_n)


def population_weighted_centroids(
    units: Any, weights: str, by: str, *, source: str = "units"
) -> Any:
    """Population-weighted centroids of areas from smaller units (blocks, grid cells, points).

    The centroid of area g is Σ_u w_u x_u / Σ_u w_u over its units u, with x_u the unit's
    point (its centroid for polygons) in a metric CRS. Windows centred there follow where
    people live rather than the geometric centre of large, partly empty areas.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Small units with a CRS, a population column and the id of the area they belong to.
    weights : str
        Column with the population (non-negative) of each unit.
    by : str
        Column with the area id of each unit.
    source : str
        Name used in error messages.

    Returns
    -------
    geopandas.GeoSeries
        One point per area (indexed by the area id) in the metric CRS of
        :func:`dongne.io.crs.to_metric`. Pass it as ``locations`` or ``centres`` to
        :meth:`ScanStatistic.fit`.
    """
    import geopandas as gpd

    from dongne.io.crs import to_metric

    if not isinstance(units, gpd.GeoDataFrame):
        raise DataError(f"{source} must be a GeoDataFrame, got {type(units).__name__}.")
    for column in (weights, by):
        if column not in units.columns:
            raise DataError(f"{source} has no column {column!r}.")
    metric = to_metric(units, source)
    pts = metric.geometry.centroid
    w = pd.to_numeric(metric[weights], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(w).all() or (w < 0).any():
        raise DataError(f"{source}[{weights!r}] has missing or negative values.")
    frame = pd.DataFrame({"g": metric[by].to_numpy(), "w": w, "wx": w * pts.x, "wy": w * pts.y})
    sums = frame.groupby("g", sort=False)[["w", "wx", "wy"]].sum()
    zero = sums["w"] <= 0
    if zero.any():
        raise DataError(
            f"areas {format_rows(sums.index[zero])} have no population in {source}; their "
            "population-weighted centroid is undefined. Fix: use their geometric centroid."
        )
    return gpd.GeoSeries(
        gpd.points_from_xy(sums["wx"] / sums["w"], sums["wy"] / sums["w"]),
        index=sums.index,
        crs=metric.crs,
    )


# ============================================================================ the estimator
class ScanStatistic:
    """Kulldorff's circular spatial scan statistic with Monte Carlo inference.

    For every window Z (a circle around a centre, through the nearest areas) with c cases and
    e expected cases (Poisson) or n individuals (Bernoulli) inside, the log-likelihood ratio

    * Poisson: LLR = c log(c/e) + (C − c) log((C − c)/(C − e)),
    * Bernoulli: LLR = ℓ(c, n) + ℓ(C − c, N − n) − ℓ(C, N), ℓ(a, b) = a log(a/b) +
      (b − a) log((b − a)/b),

    is computed on the scanned side (high rates: c/e > (C − c)/(C − e), i.e. c > e; low rates
    the reverse). The most likely cluster is the window with the largest LLR; its p-value is
    rank/(R + 1) among the maxima of R replicates under the null hypothesis (Poisson: the C
    cases allocated multinomially in proportion to the expected counts; Bernoulli: the C cases
    allocated at random among the N individuals). Secondary clusters: each centre's best
    window, in decreasing LLR, kept when it shares no area with a cluster already reported
    (SaTScan's "no geographical overlap"), tested against the same maxima (conservative).

    Parameters
    ----------
    model : {"poisson", "bernoulli"}, default "poisson"
        Poisson: cases against a population at risk or expected counts. Bernoulli: cases
        against controls (or cases among a population of individuals).
    max_population_share : float, default 0.5
        Largest share of the total population (Poisson without population: of the expected
        cases; Bernoulli: of cases + controls) inside a window; SaTScan's default is 50%.
    max_radius : float, optional
        Largest window radius, in the units of the coordinates (metres for geographic data).
    max_neighbours : int, optional
        Largest number of areas in a window (FleXScan's K); areas at equal distance enter
        together, so a tie group that would exceed K is left out.
    scan : {"high", "low", "both"}, default "high"
        Look for high rates, low rates or both.
    replications : int, default 999
        Monte Carlo replications R (0: no inference). Use R with R + 1 a multiple of 1/alpha.
    gumbel : bool, default False
        Also compute Gumbel-approximated p-values (``p_gumbel``) and SaTScan's "default
        combination" (``p_satscan``: the Gumbel p where it is below 1/(R + 1), else the
        Monte Carlo p).
    max_clusters : int, default 10
        Most clusters reported (the most likely one and secondary ones). As SaTScan,
        secondary clusters whose LLR is below every replicate maximum (p = 1) are not
        reported.
    min_cases : int, default 2
        Fewest cases in a high-rate cluster (SaTScan's default 2).
    alpha : float, default 0.05
        Level used by ``significant``, the summary and the map.
    rng : int, numpy.random.Generator or None
        Seed of the Monte Carlo streams; None means seed 0 (recorded in ``seed_``).
    scheduler : None, "threads", "processes", str or dask.distributed.Client
        Where the batches of replicates run (:mod:`dongne.parallel`);
        ``llr_replicates_`` are bit-identical for every scheduler.

    Attributes
    ----------
    clusters_ : DataFrame
        One row per reported cluster: ``cluster`` (1 = most likely), ``kind``, ``direction``,
        ``centre`` (id of the centre), ``centre_x``, ``centre_y``, ``radius``, ``n_areas``,
        ``members`` (list of ids), ``population``, ``cases``, ``expected``,
        ``observed_expected``, ``relative_risk``, ``llr``, ``p_value`` (Monte Carlo; plus
        ``p_gumbel`` and ``p_satscan`` when ``gumbel``), ``significant``.
    area_clusters_ : DataFrame
        One row per area (index ``id``): its data, ``cluster`` (number or <NA>), ``label``
        (``"most likely cluster"``, ``"secondary cluster 2"``, …, ``"not in a cluster"``),
        ``cluster_p_value``, ``in_significant_cluster``. Same as :meth:`to_frame`.
    llr_ : float
        LLR of the most likely cluster (0 when no window is on the scanned side).
    llr_replicates_ : ndarray
        Maximum LLR of each replicate, in replicate order.
    gumbel_ : tuple or None
        (location, scale) of the Gumbel fit when ``gumbel``.
    centre_llr_ : ndarray
        Largest LLR of the windows of each centre.
    n_windows_, n_centres_ : int
        Windows scanned, centres used.
    ids_ : Index
        Area ids. ``coordinates_`` (n × 2) and ``centres_`` (m × 2) are the points used.
    cases_, expected_ : ndarray
        Cases and expected cases per area (Bernoulli: n·C/N). ``population_`` (Poisson, or
        None) and ``trials_`` (Bernoulli) likewise.
    total_cases_, total_population_ : float
    seed_ : int
    provenance_ : dict
        Everything needed to repeat the run.

    Notes
    -----
    Windows are built once: per centre the areas sorted by distance, truncated at the window
    limits, stored as one compact int32 array (areas at exactly equal distance enter
    together). Each replicate then needs only running sums along these lists; a second-order
    upper bound of the LLR skips, without computing a logarithm, every run of windows that
    cannot beat the replicate's running maximum, so the maxima are exact. Replicates run in
    fixed batches of :data:`dongne.parallel.batches.BATCH_SIZE` and each one's data are a pure
    function of (seed, replicate), so results do not depend on threads or batching. Memory:
    the window lists plus one n × 8 array per thread; nothing of size windows × replicates.

    Coordinates: pass a GeoDataFrame (areas are represented by their centroids, computed in a
    metric CRS — :func:`dongne.io.crs.to_metric` — so radii are in metres) or an n × 2 array
    with ``coordinates="cartesian"`` (Euclidean, SaTScan's Cartesian option) or
    ``"latlon"`` / ``"lonlat"`` (great-circle distances in metres). SaTScan's NY leukemia
    example uses (latitude, longitude) as Cartesian units; read with swapped columns the
    published clusters change.

    References
    ----------
    Kulldorff, M. & Nagarwalla, N. (1995). Spatial disease clusters: detection and inference.
    *Statistics in Medicine* 14:799–810. Kulldorff, M. (1997). A spatial scan statistic.
    *Communications in Statistics — Theory and Methods* 26(6):1481–1496. Abrams, A. M.,
    Kleinman, K. & Kulldorff, M. (2010). Gumbel based p-value approximations for spatial scan
    statistics. *International Journal of Health Geographics* 9:61. Kulldorff, M. SaTScan
    User Guide (v9.6 and later), www.satscan.org.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[x, y] for y in range(5) for x in range(5)], dtype=float)
    >>> population = np.full(25, 1000)
    >>> cases = np.array([8, 7, 1, 1, 1] + [6, 1, 1, 1, 1] + [1] * 15)
    >>> scan = ScanStatistic(max_population_share=0.2, replications=99, rng=1)
    >>> scan = scan.fit(cases, population, xy)
    >>> scan.clusters_.loc[0, ["n_areas", "cases"]].tolist()
    [3, 21]
    >>> bool(scan.clusters_.loc[0, "p_value"] <= 0.05)
    True
    """

    def __init__(
        self,
        model: Model = "poisson",
        *,
        max_population_share: float = 0.5,
        max_radius: float | None = None,
        max_neighbours: int | None = None,
        scan: ScanDirection = "high",
        replications: int = 999,
        gumbel: bool = False,
        max_clusters: int = 10,
        min_cases: int = 2,
        alpha: float = 0.05,
        rng: int | np.random.Generator | None = None,
        scheduler: Any = None,
    ) -> None:
        self.model = model
        self.max_population_share = max_population_share
        self.max_radius = max_radius
        self.max_neighbours = max_neighbours
        self.scan = scan
        self.replications = replications
        self.gumbel = gumbel
        self.max_clusters = max_clusters
        self.min_cases = min_cases
        self.alpha = alpha
        self.rng = rng
        self.scheduler = scheduler

    # ------------------------------------------------------------------ parameters
    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, as scikit-learn's ``get_params``."""
        return {
            "model": self.model,
            "max_population_share": self.max_population_share,
            "max_radius": self.max_radius,
            "max_neighbours": self.max_neighbours,
            "scan": self.scan,
            "replications": self.replications,
            "gumbel": self.gumbel,
            "max_clusters": self.max_clusters,
            "min_cases": self.min_cases,
            "alpha": self.alpha,
            "rng": self.rng,
            "scheduler": self.scheduler,
        }

    def _validate(self) -> None:
        check_choice("model", self.model, MODELS)
        check_choice("scan", self.scan, DIRECTIONS)

        def _int(name: str, value: Any, low: int, allow_none: bool = False) -> None:
            if value is None and allow_none:
                return
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise SpecificationError(
                    f"The {name!r} parameter must be an int >= {low}"
                    f"{' or None' if allow_none else ''}. Got {value!r} instead."
                )

        _int("replications", self.replications, 0)
        _int("max_clusters", self.max_clusters, 1)
        _int("min_cases", self.min_cases, 0)
        _int("max_neighbours", self.max_neighbours, 1, allow_none=True)
        share = self.max_population_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise SpecificationError(
                "The 'max_population_share' parameter must be a number in (0, 1] (SaTScan's "
                f"default 0.5 = 50%). Got {share!r} instead."
            )
        if self.max_radius is not None and not (
            isinstance(self.max_radius, (int, float)) and self.max_radius > 0
        ):
            raise SpecificationError(
                f"The 'max_radius' parameter must be a positive number or None. Got "
                f"{self.max_radius!r} instead."
            )
        if not isinstance(self.gumbel, bool):
            raise SpecificationError(f"The 'gumbel' parameter must be a bool. Got {self.gumbel!r}.")
        check_probability("alpha", self.alpha)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        cases: Any,
        population: Any = None,
        locations: Any = None,
        *,
        ids: Any = None,
        expected: Any = None,
        controls: Any = None,
        centres: Any = None,
        coordinates: CoordinateSystem = "cartesian",
        progress: Callable[[int, int], None] | None = None,
    ) -> ScanStatistic:
        """Scan for clusters and test them; return ``self``.

        It is long because it is a linear sequence: inputs (:mod:`dongne.detect._scan_inputs`),
        windows, the observed scan, the replicates, the clusters; each step uses the arrays of
        the one before.

        Parameters
        ----------
        cases : array-like, Series, str or DataFrame
            Cases per area (non-negative integers). A str names a column of ``locations``. A
            DataFrame (areas × strata, e.g. age bands) together with a ``population``
            DataFrame of the same shape gives expected counts by indirect standardisation
            (:func:`expected_counts`); the cases per area are the row sums.
        population : array-like, Series, str or DataFrame, optional
            Poisson: population at risk per area (expected cases are C · pop / P unless
            ``expected`` is given). Bernoulli: number of individuals per area (cases +
            controls), unless ``controls`` is given.
        locations : GeoDataFrame, GeoSeries or array-like (n × 2)
            Where the areas are. Polygons are represented by their centroids in a metric CRS;
            points are used as they are. An array is read according to ``coordinates``.
        ids : array-like or str, optional
            Area ids (a str names a column of ``locations``). Default: the index of
            ``cases`` if it is a labelled Series, else the index of ``locations`` if it is a
            frame, else 0 … n − 1. Series inputs are aligned on these ids.
        expected : array-like, Series or str, optional
            Poisson only: expected cases per area (e.g. from :func:`expected_counts` or a
            regression). They are rescaled to sum to the total cases, as SaTScan does (the
            factor is in ``provenance_``). Without ``population`` the window size limit
            applies to the expected counts.
        controls : array-like, Series or str, optional
            Bernoulli only: controls per area (instead of ``population``).
        centres : array-like (m × 2), GeoSeries or GeoDataFrame, optional
            Window centres (e.g. a grid, or population-weighted centroids from
            :func:`population_weighted_centroids`); default the area locations.
        coordinates : {"cartesian", "latlon", "lonlat"}, default "cartesian"
            How to read array coordinates: Euclidean in their own units, or degrees as
            (latitude, longitude) / (longitude, latitude) with great-circle distances in
            metres. Ignored for geometries.
        progress : callable, optional
            Called as ``progress(done, total)`` after each batch of replicates.

        Returns
        -------
        ScanStatistic
            ``self``, fitted.

        Raises
        ------
        SpecificationError
            Invalid option, or an option that does not fit the model (``expected`` with
            Bernoulli, ``controls`` with Poisson).
        DataError
            Missing, negative or non-integer counts; cases above the population; no cases at
            all; no window within the limits; misaligned ids.
        GeometryError
            Missing CRS, empty or non-finite locations.
        """
        self._validate()
        data = resolve_inputs(self.model, cases, population, locations, ids, expected, controls)
        ids_index = data["ids"]
        n = len(ids_index)
        px, py, coord_info = resolve_locations(data["locations"], n, coordinates, ids_index)
        great_circle = coord_info["great_circle"]
        _warn_duplicates(px, py, ids_index)
        if centres is None:
            keep = first_of_duplicates(px, py)
            cx, cy = px[keep], py[keep]
            centre_ids = [ids_index[i] for i in np.flatnonzero(keep)]
        else:
            cx, cy = resolve_centres(centres, coord_info)
            centre_ids = [f"centre {k + 1}" for k in range(len(cx))]

        c = data["cases"]
        big_c = float(c.sum())
        if self.model == "poisson":
            size = data["expected"]
            weight = data["population"] if data["population"] is not None else size
            total_size = float(size.sum())
            base = 0.0
            model_code = kern.POISSON
        else:
            size = data["trials"]
            weight = size
            total_size = float(size.sum())
            base = _ell(big_c, total_size)
            model_code = kern.BERNOULLI
        direction = {"high": kern.HIGH, "low": kern.LOW, "both": kern.BOTH}[self.scan]

        offsets, entries = build_windows(
            px,
            py,
            cx,
            cy,
            weight,
            float(self.max_population_share) * float(weight.sum()),
            float(self.max_radius) if self.max_radius is not None else math.inf,
            int(self.max_neighbours) if self.max_neighbours is not None else n,
            great_circle,
        )
        self.n_windows_ = int((entries >= 0).sum())
        if self.n_windows_ == 0:
            raise DataError(
                "No window fits the limits: every area alone holds more than "
                f"{self.max_population_share:g} of the population"
                + (f" or lies beyond max_radius={self.max_radius}" if self.max_radius else "")
                + ". Fix: raise max_population_share or max_radius."
            )
        with threads(len(entries)):
            best, pos, best_c, best_s = kern.scan_observed(
                offsets,
                entries,
                c,
                size,
                big_c,
                total_size,
                model_code,
                direction,
                float(self.min_cases),
                base,
            )

        self.seed_ = prep.resolve_seed(self.rng)
        reps = int(self.replications)
        if reps:
            cond_prob = conditional_shares(size) if self.model == "poisson" else size
            self.llr_replicates_ = _run_replicates(
                offsets,
                entries,
                size,
                cond_prob,
                size,
                big_c,
                total_size,
                model_code,
                direction,
                float(self.min_cases),
                base,
                self.seed_,
                reps,
                progress,
                self.scheduler,
            )
        else:
            self.llr_replicates_ = np.zeros(0)

        # ---- store data and results
        self.ids_ = ids_index
        if great_circle:
            # Back to degrees, in the column order the caller used.
            order = [0, 1] if coord_info["system"] == "latlon" else [1, 0]
            self.coordinates_ = np.degrees(np.column_stack([px, py]))[:, order]
            self.centres_ = np.degrees(np.column_stack([cx, cy]))[:, order]
        else:
            self.coordinates_ = np.column_stack([px, py])
            self.centres_ = np.column_stack([cx, cy])
        self.n_centres_ = len(cx)
        self.centre_llr_ = best
        self.cases_ = c
        self.total_cases_ = big_c
        self.population_ = data["population"]
        if self.model == "poisson":
            self.expected_ = size
            self.trials_ = None
            self.total_population_ = (
                float(data["population"].sum()) if data["population"] is not None else math.nan
            )
        else:
            self.trials_ = size
            self.expected_ = size * big_c / total_size
            self.total_population_ = total_size
        self.llr_ = float(best.max()) if len(best) else 0.0
        self._centre_ids = centre_ids
        self._coord_info = coord_info
        self._clusters(offsets, entries, best, pos, best_c, best_s, cx, cy, px, py, total_size)
        self.provenance_ = self._provenance(data, coord_info, total_size)
        return self

    # ------------------------------------------------------------------ clusters
    def _clusters(
        self,
        offsets: np.ndarray,
        entries: np.ndarray,
        best: np.ndarray,
        pos: np.ndarray,
        best_c: np.ndarray,
        best_s: np.ndarray,
        cx: np.ndarray,
        cy: np.ndarray,
        px: np.ndarray,
        py: np.ndarray,
        total_size: float,
    ) -> None:
        """Most likely and secondary clusters from the best window per centre, with their p-values.

        It is long because it is SaTScan's reporting loop in one pass: windows in LLR order,
        overlap check, Monte Carlo and Gumbel p-values, one row per cluster.
        """
        n = len(self.ids_)
        reps = self.llr_replicates_
        r = len(reps)
        used = np.zeros(n, dtype=bool)
        rows: list[dict[str, Any]] = []
        member_lists: list[np.ndarray] = []
        order = np.argsort(-best, kind="stable")
        big_c = self.total_cases_
        for j in order:
            llr = float(best[j])
            if llr <= 0 or len(rows) >= self.max_clusters:
                break
            enc = entries[offsets[j] : pos[j] + 1]
            members = np.where(enc >= 0, enc, ~enc)
            if used[members].any():
                continue
            p_mc = mc_pvalue(llr, reps) if r else math.nan
            if rows and r and p_mc >= 1.0:
                break  # as SaTScan: secondary clusters below every replicate maximum
            used[members] = True
            member_lists.append(members)
            cases = float(best_c[j])
            s = float(best_s[j])
            expected = s if self.model == "poisson" else s * big_c / total_size
            outside_e = big_c - expected
            with np.errstate(divide="ignore", invalid="ignore"):
                oe = float(np.float64(cases) / expected)
                rr = float(oe / (np.float64(big_c - cases) / outside_e))
            dist = _distances_to(cx[j], cy[j], px[members], py[members], self._coord_info)
            pop = (
                float(self.population_[members].sum())
                if self.population_ is not None
                else (float(self.trials_[members].sum()) if self.trials_ is not None else math.nan)
            )
            centre_xy = self.centres_[j]
            rows.append(
                {
                    "cluster": len(rows) + 1,
                    "kind": "most likely" if not rows else "secondary",
                    "direction": "high" if cases > expected else "low",
                    "centre": self._centre_ids[j],
                    "centre_x": float(centre_xy[0]),
                    "centre_y": float(centre_xy[1]),
                    "radius": float(dist.max()) if len(dist) else 0.0,
                    "n_areas": len(members),
                    "members": [self.ids_[i] for i in members],
                    "population": pop,
                    "cases": cases,
                    "expected": expected,
                    "observed_expected": oe,
                    "relative_risk": rr,
                    "llr": llr,
                    "p_value": p_mc,
                }
            )
        columns = [
            "cluster",
            "kind",
            "direction",
            "centre",
            "centre_x",
            "centre_y",
            "radius",
            "n_areas",
            "members",
            "population",
            "cases",
            "expected",
            "observed_expected",
            "relative_risk",
            "llr",
            "p_value",
        ]
        frame = pd.DataFrame(rows, columns=columns)
        frame["cases"] = frame["cases"].astype("int64")
        self.gumbel_ = None
        p_use = frame["p_value"].to_numpy(dtype=float)
        if self.gumbel:
            if r >= 2 and np.ptp(reps) > 0:
                beta = float(reps.std(ddof=1) * math.sqrt(6.0) / math.pi)
                self.gumbel_ = (float(reps.mean() - EULER_GAMMA * beta), beta)
            pg = gumbel_pvalues(frame["llr"].to_numpy(), reps) if len(frame) else np.zeros(0)
            frame["p_gumbel"] = pg
            floor = 1.0 / (r + 1) if r else 0.0
            p_use = np.where(pg < floor, pg, p_use)
            frame["p_satscan"] = p_use
        frame["significant"] = np.nan_to_num(p_use, nan=1.0) <= self.alpha
        self.clusters_ = frame

        cluster_of = np.full(n, -1, dtype=np.int64)
        for k, members in enumerate(member_lists):
            cluster_of[members] = k
        labels = np.full(n, _NOT_IN_CLUSTER, dtype=object)
        pvals = np.full(n, np.nan)
        sig = np.zeros(n, dtype=bool)
        for k in range(len(member_lists)):
            mask = cluster_of == k
            labels[mask] = "most likely cluster" if k == 0 else f"secondary cluster {k + 1}"
            pvals[mask] = p_use[k]
            sig[mask] = bool(frame["significant"].iloc[k])
        area = pd.DataFrame(
            {
                "cases": self.cases_.astype("int64"),
                **(
                    {"population": self.population_}
                    if self.population_ is not None
                    else ({"trials": self.trials_} if self.trials_ is not None else {})
                ),
                "expected": self.expected_,
                "cluster": pd.array(np.where(cluster_of >= 0, cluster_of + 1, 0), dtype="Int64"),
                "label": labels,
                "cluster_p_value": pvals,
                "in_significant_cluster": sig,
            },
            index=pd.Index(self.ids_, name="id"),
        )
        area.loc[cluster_of < 0, "cluster"] = pd.NA
        self.area_clusters_ = area

    # ------------------------------------------------------------------ reporting
    def _check_fitted(self) -> None:
        if not hasattr(self, "clusters_"):
            raise DongneError(
                "This ScanStatistic is not fitted yet; call fit(cases, population, locations)."
            )

    def _provenance(
        self, data: dict[str, Any], coord_info: dict[str, Any], total_size: float
    ) -> dict[str, Any]:
        return {
            "method": "kulldorff_circular_scan",
            "model": self.model,
            "scan": self.scan,
            "params": {k: v for k, v in self.get_params().items() if k not in ("rng", "scheduler")},
            "n_areas": len(self.ids_),
            "n_centres": int(self.n_centres_),
            "n_windows": int(self.n_windows_),
            "total_cases": float(self.total_cases_),
            "total_population": float(self.total_population_),
            "total_size": float(total_size),
            "expected_source": data["expected_source"],
            "expected_scale": data["expected_scale"],
            "coordinates": dict(coord_info),
            "replications": int(self.replications),
            "null_model": (
                "multinomial allocation of the total cases in proportion to expected counts"
                if self.model == "poisson"
                else "random allocation of the cases among cases and controls"
            ),
            "secondary_clusters": "no geographical overlap (SaTScan default)",
            "p_value": "rank / (R + 1) among replicate maxima"
            + ("; Gumbel by moments (Abrams et al. 2010)" if self.gumbel else ""),
            "seed": int(self.seed_),
            "batch_size": BATCH_SIZE,
            "dongne_version": __version__,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per area: its data, cluster number, label and the cluster's p-value."""
        self._check_fitted()
        frame = self.area_clusters_.copy()
        attach(frame, self.provenance_)
        return frame

    def _p_text(self, row: pd.Series) -> str:
        r = int(self.replications)
        if not r:
            return "not tested"
        p = float(row.get("p_satscan", row["p_value"]))
        if "p_satscan" in row and p < 1.0 / (r + 1):
            return "p < 1e-17 (Gumbel)" if p < 1e-17 else f"p = {p:.2g} (Gumbel)"
        return f"p = {p:.3g}"

    def summary(self, names: pd.Series | None = None, lang: Lang = "both") -> str:
        """Plain-language summary of the clusters in English, Korean or both (``lang``).

        Parameters
        ----------
        names : Series, optional
            Area names indexed by id, used for the centres of the clusters.
        lang : {"both", "ko", "en"}, default "both"
        """
        check_lang(lang)
        self._check_fitted()
        prov = self.provenance_
        model = "Poisson" if self.model == "poisson" else "Bernoulli"
        side = {"high": "high rates", "low": "low rates", "both": "high or low rates"}[self.scan]
        limits = [f"{self.max_population_share:.0%} of the population"]
        if self.max_radius is not None:
            limits.append(f"radius {self.max_radius:g}")
        if self.max_neighbours is not None:
            limits.append(f"{self.max_neighbours} areas")
        unit = self._coord_info["unit"]

        def centre_name(centre: Hashable) -> str:
            if names is not None and centre in names.index:
                return f"{names[centre]} ({centre})"
            return str(centre)

        lines = [
            f"Kulldorff spatial scan ({model} model, {side}) over {prov['n_areas']} areas with "
            f"{self.total_cases_:,.0f} cases"
            + (
                f" in a population of {self.total_population_:,.0f}"
                if not math.isnan(self.total_population_)
                else ""
            )
            + f"; circular windows up to {', '.join(limits)} ({self.n_windows_:,} windows); "
            f"{self.replications} Monte Carlo replications (seed {self.seed_})."
        ]
        ko = [
            f"쿨도르프 공간 스캔 통계량 ({'포아송' if self.model == 'poisson' else '베르누이'} "
            + "모형, "
            + {"high": "높은 발생률", "low": "낮은 발생률", "both": "높거나 낮은 발생률"}[self.scan]
            + f"): {prov['n_areas']}개 지역, 사례 {self.total_cases_:,.0f}건, 원형 창 "
            f"{self.n_windows_:,}개 (인구의 최대 {self.max_population_share:.0%}), 몬테카를로 "
            f"반복 {self.replications}회 (시드 {self.seed_})."
        ]
        if self.clusters_.empty:
            lines.append("  No window has a rate on the scanned side; there is no cluster.")
            ko.append("  검사한 방향으로 발생률이 다른 창이 없어 군집이 없습니다.")
            return pick_language(lang, "\n".join(lines), "\n".join(ko))
        for _, row in self.clusters_.iterrows():
            what = "Most likely cluster" if row["cluster"] == 1 else f"Cluster {row['cluster']}"
            what_ko = "가장 유력한 군집" if row["cluster"] == 1 else f"{row['cluster']}차 군집"
            higher = row["direction"] == "high"
            verdict = (
                f"significant at {self.alpha}"
                if row["significant"]
                else f"not significant at {self.alpha}"
            )
            verdict_ko = (
                f"유의수준 {self.alpha}에서 유의함"
                if row["significant"]
                else f"유의수준 {self.alpha}에서 유의하지 않음"
            )
            lines.append(
                f"  {what}: {row['n_areas']} area(s) around {centre_name(row['centre'])} "
                f"(radius {_fmt_radius(row['radius'], unit)}) — {row['cases']:,} cases where "
                f"{row['expected']:,.1f} were expected (observed/expected "
                f"{row['observed_expected']:.2f}, "
                f"relative risk {row['relative_risk']:.2f}, {'higher' if higher else 'lower'} "
                f"than elsewhere); LLR {row['llr']:.2f}, {self._p_text(row)}: {verdict}."
            )
            ko.append(
                f"  {what_ko}: {centre_name(row['centre'])} 주변 {row['n_areas']}개 지역 "
                f"(반경 {_fmt_radius(row['radius'], unit)}) — 사례 {row['cases']:,}건, 기대 "
                f"{row['expected']:,.1f}건 (관측/기대 {row['observed_expected']:.2f}, 상대위험도 "
                f"{row['relative_risk']:.2f}, 다른 지역보다 {'높음' if higher else '낮음'}); "
                f"LLR {row['llr']:.2f}, {self._p_text(row)}: {verdict_ko}."
            )
        n_sig = int(self.area_clusters_["in_significant_cluster"].sum())
        lines.append(f"  {n_sig} area(s) lie in a cluster significant at {self.alpha}.")
        ko.append(f"  유의한 군집에 속한 지역: {n_sig}개.")
        if self.replications and self.replications + 1 < 1 / self.alpha:
            lines.append(
                f"  Note: with {self.replications} replications no p-value can fall below "
                f"{1 / (self.replications + 1):.3g}; use at least {math.ceil(1 / self.alpha) - 1}."
            )
            ko.append(
                f"  참고: 반복 {self.replications}회로는 유의수준 {self.alpha}에 "
                "도달할 수 없습니다."
            )
        lines.append(
            "  Secondary clusters share no area with more likely ones; their p-values compare "
            "their LLR with the replicates' maxima, which is conservative."
        )
        ko.append(
            "  2차 군집은 더 유력한 군집과 지역이 겹치지 않으며, p값은 보수적으로 계산됩니다."
        )
        return pick_language(lang, "\n".join(lines), "\n".join(ko))

    def categories(self) -> dict[str, tuple[str, ...]]:
        """Map palette (for :func:`dongne.report.category_map`): one entry per cluster label.

        Clusters significant at ``alpha`` are coloured — high-rate ones in reds, low-rate
        ones in blues, darkest for the most likely one. Clusters that are not significant
        (or not tested, ``replications=0``) are drawn grey with dots and their legend entry
        says "not significant"; areas in no cluster are light grey.
        """
        self._check_fitted()
        cats: dict[str, tuple[str, ...]] = {}
        n_high = n_low = 0
        for _, row in self.clusters_.iterrows():
            k = int(row["cluster"])
            label = "most likely cluster" if k == 1 else f"secondary cluster {k}"
            p = self._p_text(row)
            en, ko = (
                ("Most likely cluster", "가장 유력한 군집")
                if k == 1
                else (
                    f"Secondary cluster {k}",
                    f"{k}차 군집",
                )
            )
            side = "high" if row["direction"] == "high" else "low"
            if not row["significant"]:
                cats[label] = (
                    _NOT_SIGNIFICANT_COLOUR,
                    f"{en} ({side}), {p}: not significant / {ko}: 유의하지 않음",
                    "...",
                )
                continue
            if side == "high":
                colour = _HIGH_COLOURS[min(n_high, len(_HIGH_COLOURS) - 1)]
                n_high += 1
            else:
                colour = _LOW_COLOURS[min(n_low, len(_LOW_COLOURS) - 1)]
                n_low += 1
            cats[label] = (colour, f"{en} ({side}), {p} / {ko}")
        cats[_NOT_IN_CLUSTER] = ("#f0f0f0", "Not in a cluster / 군집 아님")
        return cats

    def plot(
        self,
        areas: Any,
        *,
        id_column: str | None = None,
        path: str | os.PathLike[str] | None = None,
        title: str | None = None,
        label: str | None = None,
        source: str | None = None,
        **map_options: Any,
    ) -> Any:
        """Map of the clusters; returns the :class:`dongne.report.CategoryMapResult`.

        ``areas`` is the GeoDataFrame of the areas, ``id_column`` the column holding the ids
        used in ``fit`` (default: its index). ``label`` is a readable name of the cases for
        the title (e.g. ``"반지하 가구 · basement households"``); ``source`` names the data
        source in the note under the map. Only clusters significant at ``alpha`` are
        coloured (see :meth:`categories`). Extra options go to
        :func:`dongne.report.category_map`.
        """
        from dongne.report import category_map

        self._check_fitted()
        keys = areas[id_column] if id_column else areas.index.to_series()
        labelled = areas.copy()
        labelled["scan_cluster"] = self.area_clusters_["label"].reindex(keys.to_numpy()).to_numpy()
        side = {"high": "높은 발생률", "low": "낮은 발생률", "both": "높거나 낮은 발생률"}[
            self.scan
        ]
        default_title = f"공간 스캔 군집 ({side}) · Spatial scan clusters" + (
            f"\n{label}" if label else ""
        )
        note = (
            f"Kulldorff scan, {self.model}, windows ≤ {self.max_population_share:.0%} of "
            f"population, {self.replications} replications; seed {self.seed_}; dongne {__version__}"
        ) + (f"\nData: {source}" if source else "")
        heading = (
            f"Clusters; coloured where {'SaTScan-style ' if self.gumbel else ''}Monte Carlo "
            f"p ≤ {self.alpha}\n"
            f"({self.replications:,} replications) / 군집 (유의수준 {self.alpha})"
        )
        windows = None
        if labelled.geometry.geom_type.eq("Point").all():
            windows = self._cluster_circles(labelled, keys)
            note += "\nDots: the sites scanned; dashed circles: the cluster windows."
        return category_map(
            labelled,
            "scan_cluster",
            title=title or default_title,
            categories=self.categories(),
            path=path,
            note=note,
            windows=windows,
            **{"legend_title": heading, **map_options},
        )

    def _cluster_circles(self, sites: Any, keys: pd.Series) -> Any:
        """The window of each reported cluster as a circle around its centre site, in the
        metric CRS of ``sites`` (radius in metres, as in ``clusters_``), labelled like its
        members; clusters centred off the sites (given ``centres``) are not drawn."""
        import geopandas as gpd

        from dongne.io.crs import to_metric

        metric = to_metric(sites, "sites")
        where = pd.Series(metric.geometry.to_numpy(), index=keys.to_numpy())
        labels = self.area_clusters_["label"]
        rows = [
            (labels.loc[row.members[0]], where[row.centre].buffer(max(row.radius, 1.0)))
            for row in self.clusters_.itertuples()
            if row.centre in where.index and len(row.members)
        ]
        return gpd.GeoDataFrame(
            {"scan_cluster": [label for label, _ in rows]},
            geometry=[circle for _, circle in rows],
            crs=metric.crs,
        )


def scan_statistic(
    cases: Any, population: Any = None, locations: Any = None, **options: Any
) -> ScanStatistic:
    """Shorthand: split ``options`` between ``ScanStatistic(...)`` and ``fit(...)`` and fit.

    Options accepted by :meth:`ScanStatistic.fit` (``ids``, ``expected``, ``controls``,
    ``centres``, ``coordinates``, ``progress``) go to ``fit``; the rest to the constructor.
    """
    fit_keys = {"ids", "expected", "controls", "centres", "coordinates", "progress"}
    fit_opts = {k: v for k, v in options.items() if k in fit_keys}
    init_opts = {k: v for k, v in options.items() if k not in fit_keys}
    return ScanStatistic(**init_opts).fit(cases, population, locations, **fit_opts)


# ============================================================================ helpers
def _ell(a: float, b: float) -> float:
    out = 0.0
    if a > 0:
        out += a * math.log(a / b)
    if b - a > 0:
        out += (b - a) * math.log((b - a) / b)
    return out


def _fmt_radius(radius: float, unit: str) -> str:
    if unit == "m":
        return f"{radius / 1000:.2f} km" if radius >= 1000 else f"{radius:.0f} m"
    return f"{radius:.3g} {unit}"


def _run_replicates(
    offsets: np.ndarray,
    entries: np.ndarray,
    size: np.ndarray,
    cond_prob: np.ndarray,
    trials: np.ndarray,
    total_cases: float,
    total_size: float,
    model: int,
    direction: int,
    min_cases: float,
    base: float,
    seed: int,
    replications: int,
    progress: Callable[[int, int], None] | None,
    scheduler: Any = None,
) -> np.ndarray:
    """Replicate maxima in fixed seeded batches (each a pure function of seed and range)."""
    shared = (offsets, entries, size, cond_prob, trials)
    shared += (total_cases, total_size, model, direction, min_cases, base)
    parts = map_batches(
        _scan_batch, shared, seed, replications, scheduler=scheduler, progress=progress
    )
    return np.concatenate(parts)


def _scan_batch(
    offsets: np.ndarray,
    entries: np.ndarray,
    size: np.ndarray,
    cond_prob: np.ndarray,
    trials: np.ndarray,
    total_cases: float,
    total_size: float,
    model: int,
    direction: int,
    min_cases: float,
    base: float,
    seed: int,
    first: int,
    count: int,
) -> np.ndarray:
    """Maximum LLR of replicates ``first .. first + count - 1`` (one task)."""
    with threads(len(entries) * count / 10):  # pruning makes a window cheap
        return kern.scan_replicates(
            offsets,
            entries,
            size,
            cond_prob,
            trials,
            total_cases,
            total_size,
            model,
            direction,
            min_cases,
            base,
            seed,
            first,
            count,
        )


def _distances_to(
    cx: float, cy: float, px: np.ndarray, py: np.ndarray, info: dict[str, Any]
) -> np.ndarray:
    if info["great_circle"]:
        s1 = np.sin(0.5 * (px - cx))
        s2 = np.sin(0.5 * (py - cy))
        h = s1 * s1 + np.cos(px) * np.cos(cx) * s2 * s2
        return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(1.0, h)))
    return np.sqrt((px - cx) ** 2 + (py - cy) ** 2)


def _warn_duplicates(px: np.ndarray, py: np.ndarray, ids: pd.Index) -> None:
    frame = pd.DataFrame({"x": px, "y": py})
    dup = frame.duplicated(keep=False).to_numpy()
    if dup.any():
        warnings.warn(
            f"{int(dup.sum())} areas share their location with another area "
            f"({format_rows(ids[dup])}). They are always at the same distance from every "
            "centre, so they enter every window together (as one location in SaTScan), and "
            "one centre is used per location. If they are different places, fix their "
            "coordinates.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
