"""Geographically weighted regression (GWR) and multiscale GWR (MGWR), fast and exact.

GWR fits one weighted regression per observation with kernel weights that fall with
distance; MGWR lets every covariate have its own bandwidth, found by back-fitting
(Fotheringham, Yang & Kang 2017). Bandwidths are chosen by golden-section or equal-interval
search on AICc or CV with the rules of ``mgwr`` (Oshan et al. 2019): adaptive bandwidths are
whole numbers of neighbours searched between ``40 + 2k`` and ``n``, fixed ones between half the
smallest and twice the largest distance. Local t-values are judged against the
Fotheringham–Byrne (2017) corrected critical value (α·k/ENP for GWR, α/ENP_j for each MGWR
surface). Bandwidths equal ``mgwr``'s exactly and coefficients to 1e-6 on its Georgia data
and on Seoul (``tests/test_explain_mgwr.py``).

Speed: each bandwidth is evaluated by one compiled, parallel pass that accumulates every
local regression without forming an n × n matrix (:mod:`dongne.explain._gwr_kernels`), so
memory is O(n·k) and the back-fitting of MGWR costs O(n²) per bandwidth tried; see
``benchmarks/bench_explain.py`` for the ratio against ``mgwr``. MGWR's inference (ENP_j,
local standard errors) replays the back-fitting on the identity, O(n³) per step like
``mgwr``, in column blocks of :data:`INFERENCE_BLOCK`; it is refused above
:data:`MGWR_INFERENCE_LIMIT` observations (``inference=False`` still gives the coefficients).

References
----------
Fotheringham, A. S., Brunsdon, C. & Charlton, M. (2002). *Geographically Weighted Regression*.
Wiley.
Fotheringham, A. S., Yang, W. & Kang, W. (2017). Multiscale geographically weighted regression
(MGWR). *Annals of the American Association of Geographers* 107, 1247–1265.
Byrne, G., Charlton, M. & Fotheringham, S. (2009). Multiple dependent hypothesis tests in
geographically weighted regression. *Proceedings of GeoComputation 2009*.
da Silva, A. R. & Fotheringham, A. S. (2016). The multiple testing issue in geographically
weighted regression. *Geographical Analysis* 48, 233–247.
Oshan, T. M., Li, Z., Kang, W., Wolf, L. J. & Fotheringham, A. S. (2019). mgwr: a Python
implementation of multiscale geographically weighted regression. *ISPRS International
Journal of Geo-Information* 8, 269.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats
from scipy.spatial import cKDTree

from dongne import __version__
from dongne._validation import check_choice
from dongne._vocab import pick_language, resolve_rng
from dongne.errors import DataError, SpecificationError
from dongne.explain import _gwr_kernels as K
from dongne.explain._design import Design
from dongne.explain._text import local_lines
from dongne.explain._weights import refuse_scheduler
from dongne.parallel.scheduler import describe_scheduler

__all__ = [
    "INFERENCE_BLOCK",
    "MGWR_INFERENCE_LIMIT",
    "GWRResult",
    "MGWRResult",
    "gwr",
    "mgwr",
    "select_bandwidth",
    "spatial_variability_test",
]

MGWR_INFERENCE_LIMIT = 5_000
INFERENCE_BLOCK = 256
_KERNELS = {"bisquare": K.BISQUARE, "gaussian": K.GAUSSIAN}
_DELTA = 0.38197


#: Most (point, neighbour) pairs kept in the sorted-neighbour cache of adaptive bisquare
#: kernels (12 bytes each: about 120 MB); each point keeps ``min(n, KNN_CACHE // n)``.
KNN_CACHE = 10_000_000


@dataclass(frozen=True)
class _Setup:
    coords: np.ndarray
    kernel: int
    fixed: bool
    criterion: str
    search: str
    tol: float
    max_iter: int
    bw_min: float | None
    bw_max: float | None
    interval: float
    knn: tuple[np.ndarray, np.ndarray] | None = None
    scheduler: Any = None  # not None: chunked over blocks of regression points (mgwr)
    knn_k: int = 0
    batch_size: int = 0


def _setup(
    coords: Any,
    n: int,
    kernel: str,
    fixed: bool,
    criterion: str,
    search: str,
    bw_min: float | None = None,
    bw_max: float | None = None,
    interval: float = 0.0,
    neighbours: bool = True,
) -> _Setup:
    check_choice("kernel", kernel, tuple(_KERNELS))
    check_choice("criterion", criterion, ("AICc", "CV"))
    check_choice("search", search, ("golden_section", "interval"))
    xy = np.ascontiguousarray(np.asarray(coords, dtype=float))
    if xy.shape != (n, 2) or not np.isfinite(xy).all():
        raise DataError(
            f"coords must be {n} finite (x, y) pairs in a projected CRS (metres); got shape "
            f"{xy.shape}. Fix: pass the centroids of the areas in a metric CRS."
        )
    if len(cKDTree(xy).query_pairs(0.0)):
        raise DataError(
            "Some observations share one location, so a local regression cannot tell them "
            "apart. Fix: aggregate them to one row per location."
        )
    if search == "interval" and (bw_min is None or bw_max is None or interval <= 0):
        raise SpecificationError(
            "search='interval' needs bw_min=, bw_max= and interval= > 0. Fix: pass them, or "
            "search='golden_section'."
        )
    knn = None
    if kernel == "bisquare" and not fixed and neighbours:
        # sorted neighbours, reused by every bandwidth tried (rows needing more use a full pass)
        dist, idx = cKDTree(xy).query(xy, k=_knn_width(n))
        knn = (np.ascontiguousarray(dist), np.ascontiguousarray(idx, dtype=np.int32))
    return _Setup(
        xy, _KERNELS[kernel], fixed, criterion, search, 1e-6, 200, bw_min, bw_max, interval, knn
    )


def _knn_width(n: int) -> int:
    """Neighbours kept per point in the sorted-neighbour cache (the result never depends on
    it: rows reaching beyond it are computed by a full pass)."""
    return min(n, max(64, KNN_CACHE // n))


def _score(setup: _Setup, resid: np.ndarray, influ: np.ndarray) -> float:
    n = resid.size
    if setup.criterion == "CV":
        return float(np.sum((resid / (1.0 - influ)) ** 2) / n)
    tr_s = float(np.sum(influ))
    rss = float(resid @ resid)
    llf = -np.log(rss) * n / 2 - (1 + np.log(np.pi / (n / 2))) * n / 2
    return -2.0 * llf + 2.0 * n * (tr_s + 1.0) / (n - tr_s - 2.0)


def _fit_full(setup: _Setup, y: np.ndarray, X: np.ndarray, bw: float, inference: bool = False):
    if setup.scheduler is not None and not inference:
        return _chunked(_block_full, setup, y, X, bw)
    if setup.knn is not None and not inference:
        dist, idx = setup.knn
        return K.gwr_pass_knn(dist, idx, setup.coords, y, X, float(bw), setup.kernel)
    return K.gwr_pass(setup.coords, y, X, float(bw), setup.kernel, setup.fixed, inference)


def _fit_one(setup: _Setup, y: np.ndarray, x: np.ndarray, bw: float):
    if setup.scheduler is not None:
        return _chunked(_block_one, setup, y, x, bw)
    if setup.knn is not None:
        dist, idx = setup.knn
        return K.single_pass_knn(dist, idx, setup.coords, y, x, float(bw), setup.kernel, False)
    return K.single_pass(setup.coords, y, x, float(bw), setup.kernel, setup.fixed)


def _chunked(block, setup: _Setup, y: np.ndarray, x: np.ndarray, bw: float):
    """One pass in blocks of ``setup.batch_size`` regression points on ``setup.scheduler``;
    each block finds its points' sorted neighbours itself (no n × K cache anywhere) and runs
    the same compiled rows as the whole pass, so the concatenation is identical."""
    from dongne.parallel.scheduler import batch_ranges, map_tasks

    n = setup.coords.shape[0]
    shared = (setup.coords, y, x, float(bw), setup.kernel, setup.knn_k)
    tasks = batch_ranges(n, setup.batch_size)
    parts = map_tasks(block, shared, tasks, scheduler=setup.scheduler)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _block_neighbours(coords: np.ndarray, first: int, count: int, knn_k: int):
    dist, idx = cKDTree(coords).query(coords[first : first + count], k=knn_k)
    return np.ascontiguousarray(dist), np.ascontiguousarray(idx, dtype=np.int32)


def _block_one(coords, y, x, bw, kernel, knn_k, first, count):
    """A task of a chunked MGWR step: β_i, S_ii of one covariate for points first … +count."""
    dist, idx = _block_neighbours(coords, first, count, knn_k)
    return K.single_pass_knn_rows(dist, idx, first, coords, y, x, bw, kernel, False)


def _block_full(coords, y, X, bw, kernel, knn_k, first, count):
    """A task of a chunked initial GWR: local coefficients and S_ii for points first … +count."""
    dist, idx = _block_neighbours(coords, first, count, knn_k)
    return K.gwr_pass_knn_rows(dist, idx, first, coords, y, X, bw, kernel)


def _full_score(setup: _Setup, y: np.ndarray, X: np.ndarray) -> Callable[[float], float]:
    def score(bw: float) -> float:
        params, influ = _fit_full(setup, y, X, bw)[:2]
        return _score(setup, y - np.sum(params * X, axis=1), influ)

    return score


def _one_score(setup: _Setup, y: np.ndarray, x: np.ndarray) -> Callable[[float], float]:
    def score(bw: float) -> float:
        beta, influ = _fit_one(setup, y, x, bw)
        return _score(setup, y - beta * x, influ)

    return score


def _bounds(setup: _Setup, n_vars: int) -> tuple[float, float]:
    n = setup.coords.shape[0]
    if setup.fixed:
        nearest, farthest = K.extreme_distances(setup.coords)
        a, c = nearest / 2.0, farthest * 2.0
    else:
        a, c = 40 + 2 * n_vars, n
    if setup.bw_min is not None:
        a = setup.bw_min
    if setup.bw_max is not None:
        c = setup.bw_max
    return a, c


def _golden(a: float, c: float, score: Callable[[float], float], setup: _Setup) -> float:
    """Golden-section search with ``mgwr``'s rules (rounded bandwidths when adaptive)."""
    b = a + _DELTA * abs(c - a)
    d = c - _DELTA * abs(c - a)
    cache: dict[float, float] = {}
    diff, iters, opt_val = 1.0e9, 0, b
    while abs(diff) > setup.tol and iters < setup.max_iter:
        iters += 1
        if not setup.fixed:
            b, d = float(np.round(b)), float(np.round(d))
        score_b = cache[b] if b in cache else cache.setdefault(b, score(b))
        score_d = cache[d] if d in cache else cache.setdefault(d, score(d))
        if score_b <= score_d:
            opt_val, c, d = b, d, b
            b = a + _DELTA * abs(c - a)
        else:
            opt_val, a, b = d, b, d
            d = c - _DELTA * abs(c - a)
        opt_val = float(np.round(opt_val, 2))  # mgwr reports the bandwidth to 0.01
        diff = score_b - score_d
    return opt_val


def _interval(setup: _Setup, score: Callable[[float], float]) -> float:
    a, c, step = float(setup.bw_min), float(setup.bw_max), float(setup.interval)
    b = a + step
    if not setup.fixed:
        a, c, b = float(np.round(a)), float(np.round(c)), float(np.round(b))
    best, best_score = a, score(a)
    while b < c:
        s = score(b)
        if s < best_score:
            best, best_score = b, s
        b += step
    if score(c) < best_score:
        best = c
    return best


def _search(setup: _Setup, score: Callable[[float], float], n_vars: int) -> float:
    if setup.search == "interval":
        return _interval(setup, score)
    return _golden(*_bounds(setup, n_vars), score, setup)


def select_bandwidth(
    design: Design,
    coords: Any,
    *,
    kernel: str = "bisquare",
    fixed: bool = False,
    criterion: str = "AICc",
    search: str = "golden_section",
    bw_min: float | None = None,
    bw_max: float | None = None,
    interval: float = 0.0,
) -> float:
    """The GWR bandwidth minimising ``criterion`` (as ``mgwr.sel_bw.Sel_BW(...).search()``).

    Parameters
    ----------
    design : Design
        From :func:`~dongne.explain.check_design` (intercept included).
    coords : array-like, shape (n, 2)
        Projected coordinates in metres (centroids of the areas).
    kernel : {"bisquare", "gaussian"}
        Kernel function.
    fixed : bool
        Fixed distance bandwidth (metres) instead of adaptive (number of neighbours).
    criterion : {"AICc", "CV"}
        Corrected Akaike criterion or leave-one-out cross-validation score.
    search : {"golden_section", "interval"}
        Search method; ``"interval"`` tries ``bw_min, bw_min + interval, …, bw_max``.
    bw_min, bw_max : float, optional
        Search range (default: mgwr's rule, see the module docstring).
    interval : float
        Step of the interval search.
    """
    setup = _setup(coords, design.n, kernel, fixed, criterion, search, bw_min, bw_max, interval)
    _check_kernel_size(setup, design.k)
    return _search(setup, _full_score(setup, design.y, design.X), design.k)


def _check_kernel_size(setup: _Setup, k: int) -> None:
    n = setup.coords.shape[0]
    if not setup.fixed and n < 40 + 2 * k + 1:
        raise DataError(
            f"{n} observations are too few for an adaptive GWR with {k} coefficients: the "
            f"bandwidth search starts at {40 + 2 * k} neighbours. Fix: use fewer covariates, "
            "or fixed=True (a distance bandwidth)."
        )


@dataclass
class GWRResult:
    """A fitted GWR: local coefficients, standard errors and the corrected significance."""

    design: Design
    bandwidth_: float
    kernel: str
    fixed: bool
    params_: np.ndarray
    bse_: np.ndarray
    influence_: np.ndarray
    residuals_: np.ndarray
    sigma2_: float
    enp_: float
    aicc_: float
    r2_: float
    local_condition_: np.ndarray
    alpha: float = 0.05
    provenance_: dict[str, Any] = field(default_factory=dict)

    @property
    def tvalues_(self) -> np.ndarray:
        """Local t-values."""
        return self.params_ / self.bse_

    @property
    def adjusted_alpha_(self) -> float:
        """Fotheringham–Byrne corrected level ``α·k/ENP``."""
        return self.alpha * self.design.k / self.enp_

    @property
    def critical_t_(self) -> np.ndarray:
        """Critical |t| per coefficient (t with n − 1 df at the corrected level)."""
        crit = stats.t.ppf(1 - self.adjusted_alpha_ / 2, self.design.n - 1)
        return np.full(self.design.k, crit)

    @property
    def significant_(self) -> np.ndarray:
        """Boolean (n, k): |t| above the corrected critical value."""
        return np.abs(self.tvalues_) > self.critical_t_

    def to_frame(self) -> pd.DataFrame:
        """One row per observation: coefficient, standard error, t, significance per covariate."""
        return _local_frame(self)

    def summary(self, lang: str = "both", label: str | None = None) -> str:
        """Bandwidths, ranges and corrected significance in plain English and/or Korean."""
        en, ko = local_lines(self, label or self.design.y_name)
        return pick_language(lang, "\n".join(en), "\n".join(ko))

    def plot(self) -> Figure:
        """The distribution of each local coefficient (box plots); maps via the workflow."""
        figure = Figure(figsize=(1.6 * self.design.k + 2, 4))
        ax = figure.subplots()
        ax.boxplot(self.params_, tick_labels=list(self.design.names))
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.set_ylabel("local coefficient · 국지 계수")
        return figure


@dataclass
class MGWRResult(GWRResult):
    """A fitted MGWR: one bandwidth and one effective number of parameters per covariate."""

    bandwidths_: np.ndarray = field(default_factory=lambda: np.empty(0))
    enp_j_: np.ndarray = field(default_factory=lambda: np.empty(0))
    bandwidth_history_: np.ndarray = field(default_factory=lambda: np.empty(0))
    iterations_: int = 0

    @property
    def adjusted_alpha_(self) -> np.ndarray:  # type: ignore[override]
        """Corrected level per covariate ``α/ENP_j``."""
        return self.alpha / self.enp_j_

    @property
    def critical_t_(self) -> np.ndarray:
        """Critical |t| per covariate."""
        return stats.t.ppf(1 - self.adjusted_alpha_ / 2, self.design.n - 1)


def _local_frame(result: GWRResult) -> pd.DataFrame:
    columns = {}
    for j, name in enumerate(result.design.names):
        columns[f"{name}"] = result.params_[:, j]
        columns[f"{name}_se"] = result.bse_[:, j]
        columns[f"{name}_t"] = result.tvalues_[:, j]
        columns[f"{name}_significant"] = result.significant_[:, j]
    columns["local_condition"] = result.local_condition_
    columns["residual"] = result.residuals_
    return pd.DataFrame(columns, index=pd.Index(result.design.rows, name="row"))


def gwr(
    design: Design,
    coords: Any,
    *,
    bandwidth: float | None = None,
    kernel: str = "bisquare",
    fixed: bool = False,
    criterion: str = "AICc",
    search: str = "golden_section",
    alpha: float = 0.05,
) -> GWRResult:
    """Fit a GWR (``mgwr.gwr.GWR(...).fit()``), choosing the bandwidth unless given.

    Parameters
    ----------
    design : Design
        From :func:`~dongne.explain.check_design` (intercept included).
    coords : array-like, shape (n, 2)
        Projected coordinates in metres.
    bandwidth : float, optional
        Neighbours (adaptive) or metres (fixed); default :func:`select_bandwidth`.
    kernel, fixed, criterion, search
        As :func:`select_bandwidth`.
    alpha : float
        Level of the local tests before the Fotheringham–Byrne correction.

    Returns
    -------
    GWRResult
        ``local_condition_`` is the local condition number of the weighted design
        (Wheeler 2007; above 30 the local coefficients are unreliable).
    """
    setup = _setup(coords, design.n, kernel, fixed, criterion, search)
    _check_kernel_size(setup, design.k)
    bw = (
        bandwidth
        if bandwidth is not None
        else _search(setup, _full_score(setup, design.y, design.X), design.k)
    )
    params, influ, cct, _sts, local_cn = _fit_full(setup, design.y, design.X, bw, inference=True)
    resid = design.y - np.sum(params * design.X, axis=1)
    n = design.n
    tr_s = float(influ.sum())
    rss = float(resid @ resid)
    sigma2 = rss / (n - tr_s)
    tss = float(((design.y - design.y.mean()) ** 2).sum())
    return GWRResult(
        design=design,
        bandwidth_=float(bw),
        kernel=kernel,
        fixed=fixed,
        params_=params,
        bse_=np.sqrt(cct * sigma2),
        influence_=influ,
        residuals_=resid,
        sigma2_=sigma2,
        enp_=tr_s,
        aicc_=_aicc(rss, tr_s, n),
        r2_=1 - rss / tss,
        local_condition_=local_cn,
        alpha=alpha,
        provenance_={
            "method": "GWR",
            "dongne_version": __version__,
            "kernel": kernel,
            "fixed": fixed,
            "criterion": criterion,
            "search": search,
            "bandwidth": float(bw),
            "n": n,
        },
    )


def _aicc(rss: float, tr_s: float, n: int) -> float:
    llf = -np.log(rss) * n / 2 - (1 + np.log(np.pi / (n / 2))) * n / 2
    return float(-2.0 * llf + 2.0 * n * (tr_s + 1.0) / (n - tr_s - 2.0))


def mgwr(
    design: Design,
    coords: Any,
    *,
    kernel: str = "bisquare",
    fixed: bool = False,
    criterion: str = "AICc",
    tol: float = 1e-5,
    max_iter: int = 200,
    bws_same_times: int = 5,
    inference: bool = True,
    alpha: float = 0.05,
    init_bandwidth: float | None = None,
    bandwidth_bounds: Sequence[tuple[float | None, float | None]] | None = None,
    scheduler: Any = None,
    batch_size: int = 65_536,
) -> MGWRResult:
    """Fit a multiscale GWR by back-fitting (``mgwr.gwr.MGWR(...).fit()``).

    The covariates should be standardised (mean 0, variance 1) so that the bandwidths are
    comparable, as Fotheringham et al. (2017) and ``mgwr`` recommend; the intercept stays 1.

    Parameters
    ----------
    design : Design
        From :func:`~dongne.explain.check_design` (intercept included).
    coords : array-like, shape (n, 2)
        Projected coordinates in metres.
    kernel, fixed, criterion
        As :func:`select_bandwidth`.
    tol : float
        Convergence of the score of change (SOC) between back-fitting iterations.
    max_iter : int
        Largest number of back-fitting iterations.
    bws_same_times : int
        Stop searching bandwidths once they have not changed for this many iterations.
    inference : bool
        Compute ENP_j, local standard errors and local condition numbers (O(n³), refused
        above :data:`MGWR_INFERENCE_LIMIT` observations).
    alpha : float
        Level of the local tests before the correction (α/ENP_j per covariate).
    init_bandwidth : float, optional
        Bandwidth of the initial GWR (``mgwr``'s ``init_multi``); default: searched.
    bandwidth_bounds : sequence of (min, max), optional
        Search range per coefficient (``mgwr``'s ``multi_bw_min``/``multi_bw_max``);
        ``(b, b)`` pins a bandwidth to ``b``.
    scheduler : None, "threads", "processes", str or distributed.Client
        Where the back-fitting runs (docs/scale.md). ``None``/``"threads"``: this process,
        with the sorted-neighbour cache of all points in memory. Otherwise every pass (each
        bandwidth tried, each back-fitting step) is cut into blocks of ``batch_size``
        regression points; a block finds its points' neighbours itself, so no process holds
        more than ``batch_size × K`` neighbours, and the blocks run on the worker processes or
        the Dask cluster. The numbers are identical (same compiled arithmetic per point,
        concatenated in order). Adaptive bisquare kernels only; inference, when asked, runs in
        this process.
    batch_size : int
        Regression points per block with a scheduler.
    """
    chunked = scheduler not in (None, "threads")
    setup = _setup(
        coords, design.n, kernel, fixed, criterion, "golden_section", neighbours=not chunked
    )
    if chunked:
        if kernel != "bisquare" or fixed:
            raise SpecificationError(
                f"scheduler={scheduler!r} runs adaptive bisquare MGWR only. Fix: "
                "kernel='bisquare' with fixed=False, or scheduler=None."
            )
        if int(batch_size) < 1:
            raise SpecificationError(
                f"batch_size must be at least 1, got {batch_size}. Fix: pass batch_size=65536."
            )
        setup = replace(
            setup, scheduler=scheduler, knn_k=_knn_width(design.n), batch_size=int(batch_size)
        )
    if bandwidth_bounds is not None and len(bandwidth_bounds) != design.k:
        raise SpecificationError(
            f"bandwidth_bounds has {len(bandwidth_bounds)} pairs for {design.k} coefficients. "
            "Fix: give one (min, max) pair per coefficient, intercept first."
        )
    _check_kernel_size(setup, design.k)
    if inference and design.n > MGWR_INFERENCE_LIMIT:
        raise SpecificationError(
            f"MGWR inference on {design.n} observations would replay the back-fitting on "
            f"{design.n} × {design.n} projections (hours). Fix: pass inference=False for the "
            "coefficients and bandwidths only."
        )
    bounds = list(bandwidth_bounds or [(None, None)] * design.k)
    fit = _backfit(setup, design, tol, max_iter, bws_same_times, init_bandwidth, bounds)
    return _mgwr_result(setup, design, fit, inference, alpha, kernel, criterion)


@dataclass
class _Backfit:
    bw_init: float
    bandwidths: np.ndarray
    history: np.ndarray
    params: np.ndarray
    iterations: int


def _backfit(
    setup: _Setup,
    design: Design,
    tol: float,
    max_iter: int,
    same_times: int,
    init: float | None,
    bounds: list[tuple[float | None, float | None]],
) -> _Backfit:
    y, X = design.y, design.X
    n, k = X.shape
    bw_init = init if init is not None else _search(setup, _full_score(setup, y, X), k)
    per = [replace(setup, bw_min=lo, bw_max=hi) for lo, hi in bounds]
    params = _fit_full(setup, y, X, bw_init)[0]
    err = y - np.sum(params * X, axis=1)
    XB = params * X
    bws = np.empty(k)
    history: list[np.ndarray] = []
    stable = 0
    for _ in range(max_iter):
        new_XB = np.zeros_like(X)
        for j in range(k):
            temp_y = XB[:, j] + err
            if stable < same_times:
                bws[j] = _search(per[j], _one_score(setup, temp_y, X[:, j]), 1)
            beta, _ = _fit_one(setup, temp_y, X[:, j], bws[j])
            new_XB[:, j] = beta * X[:, j]
            params[:, j] = beta
            err = temp_y - new_XB[:, j]
        stable = stable + 1 if history and np.array_equal(history[-1], bws) else 0
        score = np.sqrt(np.sum((new_XB - XB) ** 2) / n / np.sum(np.sum(new_XB, axis=1) ** 2))
        XB = new_XB
        history.append(bws.copy())
        if score < tol:
            break
    return _Backfit(bw_init, bws.copy(), np.array(history), params, len(history))


def _mgwr_result(
    setup: _Setup,
    design: Design,
    fit: _Backfit,
    inference: bool,
    alpha: float,
    kernel: str,
    criterion: str,
) -> MGWRResult:
    n, k = design.X.shape
    resid = design.y - np.sum(fit.params * design.X, axis=1)
    rss = float(resid @ resid)
    if inference:
        enp_j, cct = _mgwr_inference(setup, design.X, fit)
    else:
        enp_j, cct = np.full(k, np.nan), np.full((n, k), np.nan)
    tr_s = float(np.sum(enp_j))
    sigma2 = rss / (n - tr_s) if inference else np.nan
    tss = float(((design.y - design.y.mean()) ** 2).sum())
    local_cn = (
        _mgwr_local_condition(setup, design.X, fit.bandwidths) if inference else np.full(n, np.nan)
    )
    return MGWRResult(
        design=design,
        bandwidth_=float("nan"),
        kernel=kernel,
        fixed=setup.fixed,
        params_=fit.params,
        bse_=np.sqrt(cct * sigma2),
        influence_=np.full(n, np.nan),
        residuals_=resid,
        sigma2_=sigma2,
        enp_=tr_s,
        aicc_=_aicc(rss, tr_s, n) if inference else float("nan"),
        r2_=1 - rss / tss,
        local_condition_=local_cn,
        alpha=alpha,
        bandwidths_=fit.bandwidths,
        enp_j_=enp_j,
        bandwidth_history_=fit.history,
        iterations_=fit.iterations,
        provenance_={
            "method": "MGWR",
            "scheduler": describe_scheduler(setup.scheduler),
            "dongne_version": __version__,
            "kernel": kernel,
            "fixed": setup.fixed,
            "criterion": criterion,
            "bandwidths": fit.bandwidths.tolist(),
            "initial_gwr_bandwidth": fit.bw_init,
            "iterations": fit.iterations,
            "inference": inference,
            "n": n,
        },
    )


def _mgwr_inference(setup: _Setup, X: np.ndarray, fit: _Backfit) -> tuple[np.ndarray, np.ndarray]:
    """ENP_j and ``diag(R_j R_j')/x_j²`` by replaying the back-fitting on identity columns."""
    n, k = X.shape
    enp_j = np.zeros(k)
    cct = np.zeros((n, k))
    for start in range(0, n, INFERENCE_BLOCK):
        cols = np.arange(start, min(n, start + INFERENCE_BLOCK))
        eye = np.zeros((n, cols.size))
        eye[cols, np.arange(cols.size)] = 1.0
        pR = K.gwr_hat_rows(setup.coords, X, float(fit.bw_init), setup.kernel, setup.fixed, eye)
        err = eye - pR.sum(axis=2)
        for step in fit.history:
            for j in range(k):
                old = pR[:, :, j] + err
                pR[:, :, j] = K.smoother_apply(
                    setup.coords, X[:, j], float(step[j]), setup.kernel, setup.fixed, old
                )
                err = old - pR[:, :, j]
        cct += ((pR / X[:, None, :]) ** 2).sum(axis=1)
        enp_j += pR[cols, np.arange(cols.size), :].sum(axis=0)
    return enp_j, cct


def _mgwr_local_condition(setup: _Setup, X: np.ndarray, bws: np.ndarray) -> np.ndarray:
    """Local condition number with each column weighted by its own kernel (as ``mgwr``)."""
    return K.mgwr_condition(setup.coords, X, bws.astype(float), setup.kernel, setup.fixed)


def spatial_variability_test(
    result: GWRResult,
    coords: Any,
    *,
    replications: int = 99,
    rng: int | np.random.Generator | None = None,
    scheduler: Any = None,
) -> pd.Series:
    """Monte Carlo test that each GWR surface varies more than by chance (Fotheringham et al. 2002).

    The locations are permuted ``replications`` times; each time the bandwidth is searched
    again and the standard deviation of every local coefficient recomputed. The p-value of a
    covariate is ``(1 + #{sd_perm ≥ sd_obs}) / (1 + replications)``. The replications run
    in this process (``scheduler`` other than None is refused).
    """
    refuse_scheduler(scheduler)
    if not isinstance(result, GWRResult) or isinstance(result, MGWRResult):
        raise SpecificationError(
            "spatial_variability_test takes a GWR result. Fix: pass the result of gwr()."
        )
    gen = np.random.default_rng(resolve_rng(rng))
    xy = np.asarray(coords, dtype=float)
    observed = result.params_.std(axis=0)
    exceed = np.zeros(result.design.k)
    for _ in range(replications):
        perm = xy[gen.permutation(len(xy))]
        refit = gwr(
            result.design,
            perm,
            kernel=result.kernel,
            fixed=result.fixed,
            criterion=result.provenance_["criterion"],
        )
        exceed += refit.params_.std(axis=0) >= observed
    return pd.Series(
        (1 + exceed) / (1 + replications), index=list(result.design.names), name="p_value"
    )
