"""Spatial regression models: lag (ML, GM/IV), error (ML), SLX and spatial Durbin, with impacts.

* **Spatial lag** ``y = ρWy + Xβ + ε`` by maximum likelihood (Ord 1975; concentrated
  likelihood in ρ; ``log|I − ρW|`` from a sparse LU factorisation, exact, up to
  :data:`EXACT_LOGDET_LIMIT` units, a Chebyshev approximation above, Pace & LeSage 2004,
  or on request the Monte Carlo power series of Barry & Pace 1999)
  or by spatial two-stage least squares with instruments ``[X, WX]`` (Kelejian & Prucha
  1998, ``GM_Lag`` in spreg).
* **Spatial error** ``y = Xβ + u, u = λWu + ε`` by maximum likelihood.
* **SLX** ``y = Xβ + WXθ + ε`` (OLS on the lagged covariates) and the **spatial Durbin**
  model ``y = ρWy + Xβ + WXθ + ε`` (ML lag on ``[X, WX]``).
* **Impacts** (LeSage & Pace 2009, ch. 2.7) for the lag and Durbin models: direct
  ``mean diag S_r(W)``, total ``mean row sum S_r(W)``, indirect = total − direct, with
  ``S_r(W) = (I − ρW)⁻¹(β_r I + θ_r W)``; their inference by simulating the coefficients from
  their estimated normal distribution (``replications`` draws, seeded).

The coefficients, standard errors and log-likelihoods equal spreg's ``ML_Lag``, ``ML_Error``
and ``GM_Lag`` to 1e-6 on the same weights (``tests/test_explain_spreg.py``). Variances of
the ML estimators use the traces ``tr(WA⁻¹)``, ``tr((WA⁻¹)²)``, ``tr((WA⁻¹)'WA⁻¹)``,
``A = I − ρW``: exact (dense) up to :data:`EXACT_TRACE_LIMIT` observations; beyond that the
first two from the same trace series as the log-determinant (``tr(WA⁻¹) = −d/dρ log|A|``,
``tr((WA⁻¹)²) = −d²/dρ² log|A|``) and the third a Hutchinson estimate with ``trace_probes``
seeded Rademacher probes (relative error of order ``1/sqrt(trace_probes)``; the traces enter
only the standard errors).

References
----------
Anselin, L. (1988). *Spatial Econometrics: Methods and Models*. Kluwer, ch. 6.
Kelejian, H. H. & Prucha, I. R. (1998). A generalized spatial two-stage least squares
procedure. *Journal of Real Estate Finance and Economics* 17, 99–121.
LeSage, J. & Pace, R. K. (2009). *Introduction to Spatial Econometrics*. CRC Press.
Barry, R. P. & Pace, R. K. (1999). Monte Carlo estimates of the log determinant of large
sparse matrices. *Linear Algebra and its Applications* 289, 41–54.
Pace, R. K. & LeSage, J. P. (2004). Chebyshev approximation of log-determinants of spatial
weight matrices. *Computational Statistics & Data Analysis* 45, 179–196.
Hutchinson, M. F. (1990). A stochastic estimator of the trace of the influence matrix.
*Communications in Statistics – Simulation and Computation* 19, 433–450.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import sparse, stats
from scipy.optimize import minimize_scalar
from scipy.sparse.linalg import splu

from dongne import __version__
from dongne._validation import check_choice
from dongne._vocab import pick_language, resolve_rng
from dongne.errors import DataError, SpecificationError
from dongne.explain._design import Design, check_design
from dongne.explain._text import residual_figure, spatial_lines
from dongne.explain._weights import refuse_scheduler, weights_matrix
from dongne.explain.ols import OLSResult, Test, ols

__all__ = [
    "CHEBYSHEV_ORDER",
    "EXACT_LOGDET_LIMIT",
    "EXACT_TRACE_LIMIT",
    "LOG_DETERMINANTS",
    "SpatialModelResult",
    "gm_lag",
    "impacts",
    "lag_covariates",
    "ml_error",
    "ml_lag",
    "slx",
]

#: Above this many observations the ML variance traces are estimated (Hutchinson), not exact.
EXACT_TRACE_LIMIT = 4_000
_XATOL = 1e-10


@dataclass
class SpatialModelResult:
    """A fitted spatial lag, error or Durbin model (spatial parameter last)."""

    model: str
    design: Design
    names: tuple[str, ...]
    params_: np.ndarray
    cov_: np.ndarray
    residuals_: np.ndarray
    sig2_: float
    log_likelihood_: float | None
    pseudo_r2_: float
    spatial_parameter: str
    impacts_: pd.DataFrame | None = None
    residual_moran_: Test | None = None
    provenance_: dict[str, Any] = field(default_factory=dict)

    @property
    def bse_(self) -> np.ndarray:
        """Standard errors."""
        return np.sqrt(np.diag(self.cov_))

    @property
    def zvalues_(self) -> np.ndarray:
        """z statistics (asymptotic normal inference, as spreg)."""
        return self.params_ / self.bse_

    @property
    def pvalues_(self) -> np.ndarray:
        """Two-sided p-values from the standard normal."""
        return 2 * stats.norm.sf(np.abs(self.zvalues_))

    @property
    def aic_(self) -> float | None:
        """Akaike information criterion, ``2k − 2 logL`` (k counts ρ or λ)."""
        if self.log_likelihood_ is None:
            return None
        return 2 * len(self.params_) - 2 * self.log_likelihood_

    @property
    def schwarz_(self) -> float | None:
        """Schwarz criterion, ``k log n − 2 logL``."""
        if self.log_likelihood_ is None:
            return None
        return len(self.params_) * np.log(self.design.n) - 2 * self.log_likelihood_

    def summary(self, lang: str = "both", label: str | None = None) -> str:
        """The spatial parameter and the impacts in plain English and/or Korean."""
        en, ko = spatial_lines(self, label or self.design.y_name)
        return pick_language(lang, "\n".join(en), "\n".join(ko))

    def plot(self) -> Figure:
        """Residuals against fitted values."""
        return residual_figure(self.design.y - self.residuals_, self.residuals_, self.model)

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: estimate, standard error, z, p."""
        return pd.DataFrame(
            {
                "coefficient": self.params_,
                "std_error": self.bse_,
                "z": self.zvalues_,
                "p_value": self.pvalues_,
            },
            index=pd.Index(self.names, name="variable"),
        )


def lag_covariates(design: Design, w: Any) -> Design:
    """The design ``[X, WX]`` of SLX and Durbin models (``W_name`` columns; no lagged intercept)."""
    W = weights_matrix(w, design.n, design.rows)
    slopes = design.X[:, 1:]
    names = design.names[1:]
    return check_design(
        design.y,
        np.column_stack([slopes, W @ slopes]),
        (*names, *(f"W_{n}" for n in names)),
        y_name=design.y_name,
        rows=design.rows,
        source="the covariates and their spatial lags",
    )


def slx(design: Design, w: Any) -> OLSResult:
    """SLX model ``y = Xβ + WXθ + ε`` by OLS, with the spatial diagnostics of its residuals."""
    return ols(lag_covariates(design, w), w)


def _row_standardised(W: sparse.csr_array) -> None:
    sums = np.asarray(W.sum(axis=1)).ravel()
    if not np.allclose(sums, 1.0, atol=1e-10):
        raise SpecificationError(
            "Maximum likelihood spatial models need row-standardised weights (rows summing to "
            "1), so that the spatial parameter lies in (-1, 1). Fix: pass "
            "w.row_standardised() (the command line does this)."
        )


#: Above this many observations ``log_determinant="auto"`` approximates ``log|I − ρW|``
#: (Chebyshev) instead of factorising ``I − ρW`` (sparse LU) at every evaluation.
EXACT_LOGDET_LIMIT = 10_000

#: The log-determinant methods: ``"auto"`` (``"lu"`` up to :data:`EXACT_LOGDET_LIMIT`
#: units, ``"chebyshev"`` above), ``"lu"`` (exact), ``"chebyshev"`` (Pace & LeSage 2004),
#: ``"series"`` (power series with Monte Carlo traces, Barry & Pace 1999).
LOG_DETERMINANTS = ("auto", "lu", "chebyshev", "series")


class _LogDet:
    """``log|I − ρW|`` by sparse LU (exact), a Chebyshev approximation or a power series."""

    def __init__(self, W: sparse.csr_array, seed: int = 0, method: str = "auto") -> None:
        check_choice("log_determinant", method, LOG_DETERMINANTS)
        if method == "auto":
            method = "lu" if W.shape[0] <= EXACT_LOGDET_LIMIT else "chebyshev"
        self.kind = method
        self.W = sparse.csc_matrix(W)
        self.eye = sparse.identity(W.shape[0], format="csc")
        self.traces = None if method == "lu" else _TraceSeries(W, seed, method)

    @property
    def exact(self) -> bool:
        return self.kind == "lu"

    @property
    def method(self) -> str:
        if self.exact:
            return "sparse LU (exact)"
        return self.traces.description

    def __call__(self, rho: float) -> float:
        if not self.exact:
            return self.traces.logdet(rho)
        lu = splu(self.eye - rho * self.W, permc_spec="MMD_AT_PLUS_A")
        return float(np.sum(np.log(np.abs(lu.U.diagonal()))))


def ml_lag(
    design: Design,
    w: Any,
    *,
    replications: int = 1000,
    rng: int | np.random.Generator | None = None,
    scheduler: Any = None,
    trace_probes: int = 100,
    log_determinant: str = "auto",
) -> SpatialModelResult:
    """Spatial lag model ``y = ρWy + Xβ + ε`` by maximum likelihood (spreg ``ML_Lag``).

    Parameters
    ----------
    design : Design
        From :func:`~dongne.explain.check_design`; pass :func:`lag_covariates` for the
        spatial Durbin model.
    w : SpatialWeights or scipy sparse matrix
        Row-standardised weights without islands.
    replications : int
        Draws for the simulated inference on the impacts (0: none).
    rng : int, Generator or None
        Seed of the impact draws and the trace probes (None means 0).
    scheduler : None
        Only ``None`` (this process); any other value is refused.
    trace_probes : int
        Rademacher probes for the variance trace ``tr((WA⁻¹)'WA⁻¹)`` above
        :data:`EXACT_TRACE_LIMIT` units.
    log_determinant : {"auto", "lu", "chebyshev", "series"}
        ``log|I − ρW|``: exact sparse LU, the Chebyshev approximation of Pace & LeSage (2004)
        (order :data:`CHEBYSHEV_ORDER`, traces of ``T_0 … T_4`` exact, the others from 50
        seeded Rademacher probes) or the power series of Barry & Pace (1999); ``"auto"``:
        LU up to :data:`EXACT_LOGDET_LIMIT` units, Chebyshev above. Measured error in
        docs/explain.md. The provenance names the method used.
    """
    refuse_scheduler(scheduler)
    W = weights_matrix(w, design.n, design.rows)
    _row_standardised(W)
    y, X = design.y, design.X
    n, k = X.shape
    xtxi = np.linalg.inv(X.T @ X)
    wy = W @ y
    e0 = y - X @ (xtxi @ (X.T @ y))
    e1 = wy - X @ (xtxi @ (X.T @ wy))
    seed = resolve_rng(rng)
    logdet = _LogDet(W, seed, log_determinant)
    series = _series_for_traces(W, seed, logdet)

    def objective(rho: float) -> float:
        er = e0 - rho * e1
        return n / 2 * np.log(er @ er / n) - logdet(rho)

    rho = _maximise(objective)
    beta = xtxi @ (X.T @ (y - rho * wy))
    u = y - rho * wy - X @ beta
    sig2 = float(u @ u) / n
    logll = -objective(rho) - n / 2 * np.log(2 * np.pi) - n / 2
    tr1, tr2, tr3, predy_e = _lag_traces(W, rho, X @ beta, seed, trace_probes, series)
    wpy = W @ predy_e
    info = np.zeros((k + 2, k + 2))
    info[:k, :k] = X.T @ X / sig2
    info[:k, k] = info[k, :k] = X.T @ wpy / sig2
    info[k, k] = tr2 + tr3 + wpy @ wpy / sig2
    info[k, k + 1] = info[k + 1, k] = tr1 / sig2
    info[k + 1, k + 1] = n / (2 * sig2**2)
    cov = np.linalg.inv(info)[:-1, :-1]
    params = np.append(beta, rho)
    result = SpatialModelResult(
        model="lag (ML)",
        design=design,
        names=(*design.names, "rho"),
        params_=params,
        cov_=cov,
        residuals_=u,
        sig2_=sig2,
        log_likelihood_=float(logll),
        pseudo_r2_=_pseudo_r2(y, y - u),
        spatial_parameter="rho",
        residual_moran_=_moran_of(design, u, W),
        provenance_={
            "dongne_version": __version__,
            "method": "ML lag",
            "n": n,
            "log_determinant": logdet.method,
            "traces": "exact"
            if n <= EXACT_TRACE_LIMIT
            else f"tr(B), tr(B²) from the log-determinant's {series.kind} traces; tr(B'B) "
            f"Hutchinson, {trace_probes} probes",
            "seed": seed,
        },
    )
    result.impacts_ = _impacts(result, W, replications, seed, series, point_trace=tr1)
    return result


def _series_for_traces(W: sparse.csr_array, seed: int, logdet: _LogDet):
    """The trace series of the variance and the impacts above :data:`EXACT_TRACE_LIMIT`
    units: the log-determinant's own (Chebyshev or power), else a power series (computed
    once and shared)."""
    if W.shape[0] <= EXACT_TRACE_LIMIT:
        return None
    return logdet.traces if logdet.traces is not None else _TraceSeries(W, seed, "series")


def _maximise(objective) -> float:
    res = minimize_scalar(
        objective, bounds=(-1.0, 1.0), method="bounded", options={"xatol": _XATOL}
    )
    if not res.success or abs(res.x) > 1 - 1e-6:
        raise DataError(
            f"The spatial parameter's likelihood has its maximum at the boundary ({res.x:.6f}); "
            "the model does not fit these data. Fix: check the weights and the covariates, or "
            "fit the ols model and read its spatial diagnostics."
        )
    return float(res.x)


def _lag_traces(
    W: sparse.csr_array, rho: float, xb: np.ndarray, seed: int, probes: int, series=None
) -> tuple[float, float, float, np.ndarray]:
    """``tr(B)``, ``tr(B²)``, ``tr(B'B)`` with ``B = W(I − ρW)⁻¹``, and ``(I − ρW)⁻¹Xβ``:
    exact up to :data:`EXACT_TRACE_LIMIT` units; above, ``tr(B)`` and ``tr(B²)`` from the
    trace ``series`` and ``tr(B'B)`` from ``probes`` Hutchinson probes (one sparse solve)."""
    n = W.shape[0]
    eye = sparse.identity(n, format="csc")
    lu = splu(sparse.csc_matrix(eye - rho * sparse.csc_matrix(W)), permc_spec="MMD_AT_PLUS_A")
    predy_e = lu.solve(xb)
    if n <= EXACT_TRACE_LIMIT:
        B = W @ lu.solve(np.eye(n))
        return float(np.trace(B)), float(np.sum(B * B.T)), float(np.sum(B * B)), predy_e
    z = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n, probes))
    bz = W @ lu.solve(z)
    tr3 = float((bz * bz).sum(axis=0).mean())
    return series.trace_wainv(rho), series.trace_b2(rho), tr3, predy_e


def _pseudo_r2(y: np.ndarray, fitted: np.ndarray) -> float:
    return float(np.corrcoef(y, fitted)[0, 1] ** 2)


def _moran_of(design: Design, u: np.ndarray, W: sparse.csr_array) -> Test:
    """Moran's I of model residuals with its normal-approximation p (randomisation-free)."""
    n = u.size
    s0 = float(W.sum())
    moran_i = n * float(u @ (W @ u)) / (s0 * float(u @ u))
    sym = W + W.T
    s1 = 0.5 * float(sym.multiply(sym).sum())
    s2 = float(((np.asarray(W.sum(axis=1)).ravel() + np.asarray(W.sum(axis=0)).ravel()) ** 2).sum())
    e_i = -1.0 / (n - 1)
    var = (n**2 * s1 - n * s2 + 3 * s0**2) / ((n**2 - 1) * s0**2) - e_i**2
    z = (moran_i - e_i) / np.sqrt(var)
    return Test(moran_i, float(2 * stats.norm.sf(abs(z))), 0)


def ml_error(design: Design, w: Any, *, log_determinant: str = "auto") -> SpatialModelResult:
    """Spatial error model ``y = Xβ + u, u = λWu + ε`` by ML (spreg ``ML_Error``).

    ``log_determinant`` as in :func:`ml_lag` (``"auto"``, ``"lu"``, ``"chebyshev"``,
    ``"series"``); the traces of λ's variance come from the same series above
    :data:`EXACT_TRACE_LIMIT` units (seed 0).
    """
    W = weights_matrix(w, design.n, design.rows)
    _row_standardised(W)
    y, X = design.y, design.X
    n, k = X.shape
    wy, wx = W @ y, W @ X
    logdet = _LogDet(W, 0, log_determinant)

    def fgls(lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ys, xs = y - lam * wy, X - lam * wx
        xsxsi = np.linalg.inv(xs.T @ xs)
        beta = xsxsi @ (xs.T @ ys)
        return beta, ys - xs @ beta, xsxsi

    def objective(lam: float) -> float:
        e = fgls(lam)[1]
        return n / 2 * np.log(e @ e / n) - logdet(lam)

    lam = _maximise(objective)
    beta, e_filtered, xsxsi = fgls(lam)
    sig2 = float(e_filtered @ e_filtered) / n
    u = y - X @ beta
    tr1, tr2, tr3, _ = _lag_traces(W, lam, np.zeros(n), 0, 100, _series_for_traces(W, 0, logdet))
    info = np.array([[tr2 + tr3, tr1 / sig2], [tr1 / sig2, n / (2 * sig2**2)]])
    cov = np.zeros((k + 1, k + 1))
    cov[:k, :k] = sig2 * xsxsi
    cov[k, k] = np.linalg.inv(info)[0, 0]
    return SpatialModelResult(
        model="error (ML)",
        design=design,
        names=(*design.names, "lambda"),
        params_=np.append(beta, lam),
        cov_=cov,
        residuals_=u,
        sig2_=sig2,
        log_likelihood_=float(-objective(lam) - n / 2 * np.log(2 * np.pi) - n / 2),
        pseudo_r2_=_pseudo_r2(y, X @ beta),
        spatial_parameter="lambda",
        residual_moran_=_moran_of(design, e_filtered, W),
        provenance_={
            "dongne_version": __version__,
            "method": "ML error",
            "n": n,
            "log_determinant": logdet.method,
        },
    )


def gm_lag(design: Design, w: Any, *, instrument_lags: int = 1) -> SpatialModelResult:
    """Spatial lag model by spatial two-stage least squares (spreg ``GM_Lag``).

    Instruments ``H = [X, WX, …, W^q X]`` with ``q = instrument_lags``; variance
    ``σ²(Ẑ'Ẑ)⁻¹`` with ``σ² = e'e/n`` (spreg's default).
    """
    W = weights_matrix(w, design.n, design.rows)
    y, X = design.y, design.X
    n = X.shape[0]
    lagged, slopes = [], X[:, 1:]
    for _ in range(instrument_lags):
        slopes = W @ slopes
        lagged.append(slopes)
    H = np.column_stack([X, *lagged])
    Z = np.column_stack([X, W @ y])
    hz = H.T @ Z
    pz = hz.T @ np.linalg.solve(H.T @ H, hz)
    zhat_inv = np.linalg.inv(pz)
    delta = zhat_inv @ (hz.T @ np.linalg.solve(H.T @ H, H.T @ y))
    u = y - Z @ delta
    sig2 = float(u @ u) / n
    result = SpatialModelResult(
        model="lag (GM/IV)",
        design=design,
        names=(*design.names, "rho"),
        params_=delta,
        cov_=sig2 * zhat_inv,
        residuals_=u,
        sig2_=sig2,
        log_likelihood_=None,
        pseudo_r2_=_pseudo_r2(y, Z @ delta),
        spatial_parameter="rho",
        residual_moran_=_moran_of(design, u, W),
        provenance_={
            "dongne_version": __version__,
            "method": "GM lag (S2SLS)",
            "n": n,
            "instrument_lags": instrument_lags,
        },
    )
    result.impacts_ = impacts(result, W, replications=0)
    return result


def impacts(
    result: SpatialModelResult,
    w: Any,
    *,
    replications: int = 1000,
    rng: int | np.random.Generator | None = None,
    scheduler: Any = None,
) -> pd.DataFrame:
    """Direct, indirect and total impacts of a lag or Durbin model (LeSage & Pace 2009).

    For row-standardised ``W``, with ``t(ρ) = tr(W(I − ρW)⁻¹)/n``: direct
    ``β_r(1 + ρ t) + θ_r t``, total ``(β_r + θ_r)/(1 − ρ)``, indirect = total − direct
    (``θ_r = 0`` in the lag model). ``t`` is exact (eigenvalues) up to
    :data:`EXACT_TRACE_LIMIT` units and a power series in ρ with Hutchinson estimates of
    ``tr(W^j)`` (LeSage & Pace 2009, ch. 4) above (in :func:`ml_lag`, the series of its
    log-determinant: Chebyshev above :data:`EXACT_LOGDET_LIMIT` units). With
    ``replications > 0`` the coefficients are drawn from ``N(estimate, covariance)`` and each
    impact's simulated standard error and two-sided p-value ``2(1 + m)/(1 + R)`` are added,
    ``m`` the draws on the far side of zero out of the ``R`` kept (draws with ``|ρ| ≥ 1`` are
    discarded), so p is never below ``2/(R + 1)``.

    Returns
    -------
    pandas.DataFrame
        One row per covariate (the ``W_`` columns of a Durbin model folded into theirs).
    """
    refuse_scheduler(scheduler)
    W = weights_matrix(w, result.design.n, result.design.rows)
    return _impacts(result, W, replications, resolve_rng(rng), None)


def _impacts(
    result, W, replications: int, seed: int, series, point_trace: float | None = None
) -> pd.DataFrame:
    """:func:`impacts` on a checked matrix, with the trace series of the fit when it has one
    and ``point_trace = tr(W(I − ρ̂W)⁻¹)`` when the fit computed it (then the eigenvalues, a
    dense O(n³) step, are needed only for the simulated draws)."""
    eig = None
    if replications or point_trace is None:
        eig = _eigenvalues(W)
        if eig is None and series is None:
            series = _TraceSeries(W, seed, "series")
    names, slopes, thetas = _impact_terms(result.design.names)

    def effects(params: np.ndarray, trace: float | None = None) -> np.ndarray:
        rho = params[-1]
        t = (_trace_wainv(eig, rho, series) if trace is None else trace) / W.shape[0]
        b = params[slopes]
        th = params[thetas] if thetas is not None else 0.0
        direct = b * (1 + rho * t) + th * t
        total = (b + th) / (1 - rho)
        return np.stack([direct, total - direct, total])

    point = effects(result.params_, point_trace)
    frame = pd.DataFrame(
        point.T, index=pd.Index(names, name="variable"), columns=["direct", "indirect", "total"]
    )
    if replications:
        gen = np.random.default_rng(seed)
        draws = gen.multivariate_normal(result.params_, result.cov_, size=replications)
        draws = draws[np.abs(draws[:, -1]) < 1]
        sims = np.stack([effects(d) for d in draws])
        for j, name in enumerate(["direct", "indirect", "total"]):
            frame[f"{name}_se"] = sims[:, j, :].std(axis=0, ddof=1)
            below = (sims[:, j, :] <= 0).sum(axis=0)
            tail = np.minimum(below, len(sims) - below)
            frame[f"{name}_p"] = np.minimum(1.0, 2 * (1 + tail) / (1 + len(sims)))
    return frame


def _impact_terms(names: tuple[str, ...]) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    plain = [i for i, n in enumerate(names) if n != "const" and not n.startswith("W_")]
    lagged = {n[2:]: i for i, n in enumerate(names) if n.startswith("W_")}
    labels = [names[i] for i in plain]
    if not lagged:
        return labels, np.array(plain), None
    return labels, np.array(plain), np.array([lagged[n] for n in labels])


def _eigenvalues(W: sparse.csr_array) -> np.ndarray | None:
    """Eigenvalues of W (dense) for the impact traces at any ρ, up to the exact-trace limit."""
    if W.shape[0] > EXACT_TRACE_LIMIT:
        return None
    return np.linalg.eigvals(W.toarray())


#: Terms of the power series ``tr(W(I − ρW)⁻¹) = Σ_j ρ^j tr(W^{j+1})`` above the exact limit;
#: the truncation error is below ``|ρ|^SERIES_ORDER`` relative (3e-5 at ρ = 0.9).
SERIES_ORDER = 100


def _power_traces(W: sparse.csr_array, seed: int, probes: int = 50) -> np.ndarray:
    """``tr(W^j)`` for j = 1 … SERIES_ORDER + 1: exact for j ≤ 2, Hutchinson estimates above
    (LeSage & Pace 2009, ch. 4), from ``probes`` seeded Rademacher vectors."""
    z = np.random.default_rng(seed).choice([-1.0, 1.0], size=(W.shape[0], probes))
    traces = np.empty(SERIES_ORDER + 1)
    traces[0] = float(W.diagonal().sum())
    traces[1] = float(W.multiply(W.T).sum())
    v = W @ z
    for j in range(1, SERIES_ORDER + 1):
        v = W @ v
        if j >= 2:
            traces[j] = float((z * v).sum(axis=0).mean())
    return traces


def _trace_wainv(eig: np.ndarray | None, rho: float, series=None) -> float:
    if eig is not None:
        return float(np.real(np.sum(eig / (1 - rho * eig))))
    return series.trace_wainv(rho)


#: Order of the Chebyshev approximation of ``log(1 − ρx)`` on [−1, 1] (Pace & LeSage 2004).
CHEBYSHEV_ORDER = 30
_CHEBYSHEV_EXACT = 4  # traces of T_0 … T_4 computed exactly from W and W²


def _chebyshev_traces(W: sparse.csr_array, seed: int, probes: int = 50) -> np.ndarray:
    """``tr(T_j(W))`` for j = 0 … CHEBYSHEV_ORDER, ``T_j`` the Chebyshev polynomials of the
    first kind: exact for j ≤ 4 (from ``W`` and ``W²``; they carry most of the
    log-determinant), Hutchinson estimates above from ``probes`` seeded Rademacher vectors and
    the recurrence ``T_{j+1}(W)z = 2W T_j(W)z − T_{j−1}(W)z`` (Pace & LeSage 2004)."""
    n = W.shape[0]
    W2 = sparse.csr_array(W @ W)
    p1, p2 = float(W.diagonal().sum()), float(W2.diagonal().sum())
    p3, p4 = float(W2.multiply(W.T).sum()), float(W2.multiply(W2.T).sum())
    traces = np.empty(CHEBYSHEV_ORDER + 1)
    traces[:5] = [n, p1, 2 * p2 - n, 4 * p3 - 3 * p1, 8 * p4 - 8 * p2 + n]
    z = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n, probes))
    previous, current = z, W @ z
    for j in range(2, CHEBYSHEV_ORDER + 1):
        previous, current = current, 2 * (W @ current) - previous
        if j > _CHEBYSHEV_EXACT:
            traces[j] = float((z * current).sum(axis=0).mean())
    return traces


class _TraceSeries:
    """``log|I − ρW|``, ``tr(W(I − ρW)⁻¹)`` and ``tr((W(I − ρW)⁻¹)²)`` from traces of
    polynomials in W computed once: the power series ``Σ ρ^k tr(W^k)`` (Barry & Pace 1999)
    or the Chebyshev expansion on [−1, 1] (Pace & LeSage 2004), whose coefficients at each ρ
    come from the ``q + 1`` Chebyshev nodes of the three functions ``log(1 − ρx)``,
    ``x/(1 − ρx)`` and ``x²/(1 − ρx)²`` (the second and third are minus the first's
    derivatives in ρ)."""

    def __init__(self, W: sparse.csr_array, seed: int, kind: str) -> None:
        self.kind, self.n = kind, W.shape[0]
        if kind == "series":
            self.t = _power_traces(W, seed)
            self.description = (
                f"power series, {SERIES_ORDER} terms, Hutchinson traces (Barry & Pace 1999)"
            )
            return
        self.t = _chebyshev_traces(W, seed)
        q = CHEBYSHEV_ORDER
        theta = np.pi * (np.arange(1, q + 2) - 0.5) / (q + 1)
        self.x = np.cos(theta)
        self.basis = 2.0 / (q + 1) * np.cos(np.outer(np.arange(q + 1), theta))
        self.description = (
            f"Chebyshev, order {q}, traces of T_0..T_4 exact and of T_5..T_{q} from 50 "
            "Hutchinson probes (Pace & LeSage 2004)"
        )

    def _chebyshev(self, values: np.ndarray) -> float:
        c = self.basis @ values
        return float(c @ self.t - c[0] * self.n / 2)

    def logdet(self, rho: float) -> float:
        if self.kind == "series":
            k = np.arange(1, SERIES_ORDER + 2)
            return float(-np.sum(rho**k * self.t / k))
        return self._chebyshev(np.log(1 - rho * self.x))

    def trace_wainv(self, rho: float) -> float:
        if self.kind == "series":
            return float(np.sum(rho ** np.arange(SERIES_ORDER + 1) * self.t))
        return self._chebyshev(self.x / (1 - rho * self.x))

    def trace_b2(self, rho: float) -> float:
        if self.kind == "series":
            j = np.arange(SERIES_ORDER)
            return float(np.sum((j + 1) * rho**j * self.t[1:]))
        return self._chebyshev((self.x / (1 - rho * self.x)) ** 2)
