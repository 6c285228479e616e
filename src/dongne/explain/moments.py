"""Spatial error model by generalized moments (GM): Kelejian–Prucha, heteroskedastic, homoskedastic.

``y = Xβ + u``, ``u = λWu + ε``. Instead of the likelihood (:func:`~dongne.explain.ml_error`),
λ solves quadratic moment conditions on the residuals, and β is then estimated by OLS on the
spatially filtered variables ``y − λWy`` and ``X − λWX`` (feasible GLS, "spatially weighted
least squares"). No log-determinant is needed, so the cost is a few sparse products whatever
the size, and the heteroskedastic variant stays consistent when the error variance differs
between areas (which ML does not).

Three variants (``variant=``), each equal to its spreg 1.9 class on the same weights:

* ``"kp"`` — Kelejian & Prucha (1998, 1999): three moments in ``(λ, λ², σ²)``, unweighted
  nonlinear least squares; the variance of β is ``σ²(X_s'X_s)⁻¹`` with ``σ² = ε̂'ε̂/n``. The
  estimator gives **no standard error for λ** (its variance is not derived in the 1999
  paper): the λ row of the coefficient table carries NaN, not a number (spreg ``GM_Error``).
* ``"het"`` — Arraiz, Drukker, Kelejian & Prucha (2010): two moments with ``A₁ = W'W −
  diag(W'W)``, robust to heteroskedasticity of unknown form; weighted by the inverse of their
  estimated covariance ``Ψ``; the joint covariance of ``(β, λ)`` is the sandwich of their
  Theorem 2 (spreg ``GM_Error_Het``).
* ``"hom"`` — Drukker, Egger & Prucha (2013) under homoskedasticity, ``A₁`` scaled as in
  their paper (``A₁ = [W'W − n⁻¹tr(W'W) I] / (1 + [n⁻¹tr(W'W)]²)``), ``A₂ = (W + W')/2``,
  with Anselin's (2011) covariance (spreg ``GM_Error_Hom``, ``A1="hom_sc"``).

λ is searched on ``[−0.99, 0.99]`` as in spreg: a grid of 1,981 points, then bounded Brent
search to ``1e-12`` around the best grid point (the moment criterion is a polynomial of
degree four in λ and may have two minima; the grid finds the global one). spreg minimises
the same criterion with L-BFGS-B from λ = 0 and a numerical gradient, which stops about
1e-7 from the optimum, so the two agree to 1e-6, not to the last digit. A minimum on the
bound is refused.

References
----------
Kelejian, H. H. & Prucha, I. R. (1998). A generalized spatial two-stage least squares
procedure for estimating a spatial autoregressive model with autoregressive disturbances.
*Journal of Real Estate Finance and Economics* 17, 99–121.
Kelejian, H. H. & Prucha, I. R. (1999). A generalized moments estimator for the
autoregressive parameter in a spatial model. *International Economic Review* 40, 509–533.
Arraiz, I., Drukker, D. M., Kelejian, H. H. & Prucha, I. R. (2010). A spatial Cliff-Ord-type
model with heteroskedastic innovations: small and large sample results. *Journal of Regional
Science* 50, 592–614.
Drukker, D. M., Egger, P. & Prucha, I. R. (2013). On two-step estimation of a spatial
autoregressive model with autoregressive disturbances and endogenous regressors.
*Econometric Reviews* 32, 686–733.
Anselin, L. (2011). GMM estimation of spatial error autocorrelation with and without
heteroskedasticity. GeoDa Center, Arizona State University.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar

from dongne import __version__
from dongne._validation import check_choice
from dongne.errors import DataError, SpecificationError
from dongne.explain._design import Design
from dongne.explain._weights import weights_matrix
from dongne.explain.spatial import SpatialModelResult, _moran_of, _pseudo_r2

__all__ = ["GM_VARIANTS", "gm_error"]

#: The GM spatial error estimators: Kelejian–Prucha, heteroskedastic (Arraiz et al. 2010),
#: homoskedastic (Drukker et al. 2013).
GM_VARIANTS = ("kp", "het", "hom")
_BOUND = 0.99
_GRID = np.linspace(-_BOUND, _BOUND, 1981)
_NAMES = {
    "kp": "error (GM, Kelejian-Prucha)",
    "het": "error (GM, heteroskedastic)",
    "hom": "error (GM, homoskedastic)",
}


def gm_error(
    design: Design,
    w: Any,
    *,
    variant: str = "kp",
    max_iter: int = 1,
    tol: float = 1e-5,
    step1c: bool = False,
) -> SpatialModelResult:
    """Spatial error model ``y = Xβ + u, u = λWu + ε`` by generalized moments.

    Parameters
    ----------
    design : Design
        From :func:`~dongne.explain.check_design`.
    w : SpatialWeights or scipy sparse matrix
        Weights without islands (usually row-standardised; λ is searched on [−0.99, 0.99]).
    variant : {"kp", "het", "hom"}
        Kelejian–Prucha (1998, 1999; spreg ``GM_Error``), heteroskedasticity-robust Arraiz et
        al. (2010; ``GM_Error_Het``) or homoskedastic Drukker et al. (2013;
        ``GM_Error_Hom``).
    max_iter, tol : int, float
        ``het`` and ``hom``: at most ``max_iter`` rounds of (filtered OLS, weighted GM),
        stopping early when λ moves less than ``tol`` (spreg's ``max_iter``, ``epsilon``).
    step1c : bool
        ``het`` only: re-estimate the first λ with the weighted moments (Arraiz et al.'s step
        1c; spreg's ``step1c``).

    Returns
    -------
    SpatialModelResult
        ``params_`` = (β, λ); ``residuals_`` = ``y − Xβ``; the residual Moran's I is that of
        the filtered residuals ``u − λWu``. For ``"kp"`` the λ standard error is NaN (the
        estimator has none); ``log_likelihood_`` is None (no likelihood).

    Raises
    ------
    SpecificationError
        An unknown variant or ``max_iter < 1``.
    DataError
        λ's moment criterion has its minimum on the bound ±0.99.
    """
    check_choice("variant", variant, GM_VARIANTS)
    if int(max_iter) < 1:
        raise SpecificationError(
            f"max_iter must be at least 1, got {max_iter}. Fix: pass max_iter=1 (spreg's default)."
        )
    W = weights_matrix(w, design.n, design.rows)
    y, X = design.y, design.X
    n, k = X.shape
    wy, wx = W @ y, W @ X
    u = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    info: dict[str, Any] = {}
    if variant == "kp":
        lam = _minimise(_kp_criterion(W, u))
        beta, xsxsi, e = _filtered_ols(y, X, wy, wx, lam)
        u = y - X @ beta
        sig2 = float(e @ e) / n
        cov = np.full((k + 1, k + 1), np.nan)
        cov[:k, :k] = sig2 * xsxsi
    elif variant == "het":
        beta, lam, u, cov, iterations = _het(W, y, X, wy, wx, u, max_iter, tol, step1c)
        e = u - lam * (W @ u)
        sig2 = float(e @ e) / n
        info = {"iterations": iterations, "step1c": step1c}
    else:
        beta, lam, u, cov, sig2, iterations = _hom(W, y, X, wy, wx, u, max_iter, tol)
        e = u - lam * (W @ u)
        info = {"iterations": iterations, "A1": "hom_sc"}
    return SpatialModelResult(
        model=_NAMES[variant],
        design=design,
        names=(*design.names, "lambda"),
        params_=np.append(beta, lam),
        cov_=cov,
        residuals_=u,
        sig2_=sig2,
        log_likelihood_=None,
        pseudo_r2_=_pseudo_r2(y, X @ beta),
        spatial_parameter="lambda",
        residual_moran_=_moran_of(design, e, W),
        provenance_={
            "dongne_version": __version__,
            "method": f"GM error ({variant})",
            "n": n,
            "variant": variant,
            "max_iter": int(max_iter),
            "tol": tol,
            **info,
            "lambda_search": "grid of 1981 points on [-0.99, 0.99], bounded Brent to 1e-12",
        },
    )


def _filtered_ols(y, X, wy, wx, lam):
    """OLS of ``y − λWy`` on ``X − λWX``: β, ``(X_s'X_s)⁻¹`` and the filtered residuals."""
    ys, xs = y - lam * wy, X - lam * wx
    xsxsi = np.linalg.inv(xs.T @ xs)
    beta = xsxsi @ (xs.T @ ys)
    return beta, xsxsi, ys - xs @ beta


def _minimise(criterion: Callable[[float], float]) -> float:
    """Global minimum of a smooth criterion on [−0.99, 0.99]: grid, then bounded Brent."""
    values = np.array([criterion(lam) for lam in _GRID])
    i = int(np.argmin(values))
    lo, hi = _GRID[max(i - 1, 0)], _GRID[min(i + 1, _GRID.size - 1)]
    res = minimize_scalar(criterion, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
    lam = float(res.x) if res.fun <= values[i] else float(_GRID[i])
    if abs(lam) > _BOUND - 1e-6:
        raise DataError(
            f"The moment criterion of the spatial error parameter has its minimum on the bound "
            f"({lam:+.2f}); the model does not fit these data. Fix: check the weights and the "
            "covariates, or fit OLS with the spatial diagnostics (model ols)."
        )
    return lam


def _kp_criterion(W: sparse.csr_array, u: np.ndarray) -> Callable[[float], float]:
    """Kelejian–Prucha (1999) moments ``g − G(λ, λ², σ²)``; σ² ≥ 0 concentrated out."""
    n = u.size
    wu = W @ u
    wwu = W @ wu
    tr_wtw = float(W.multiply(W).sum())
    G = (
        np.array(
            [
                [2 * u @ wu, -wu @ wu, n],
                [2 * wu @ wwu, -wwu @ wwu, tr_wtw],
                [u @ wwu + wu @ wu, -wu @ wwu, 0.0],
            ]
        )
        / n
    )
    g = np.array([u @ u, wu @ wu, u @ wu]) / n
    c = G[:, 2]

    def criterion(lam: float) -> float:
        r = g - G[:, :2] @ np.array([lam, lam * lam])
        r = r - c * max(0.0, float(c @ r) / float(c @ c))
        return float(r @ r)

    return criterion


def _two_moments(A1, W, u) -> tuple[np.ndarray, np.ndarray]:
    """``g`` and ``G`` of two quadratic moments ``E[ε'A₁ε]/n`` and ``E[ε'Wε]/n`` (Arraiz et al.)."""
    n = u.size
    wu = W @ u
    g = np.array([u @ (A1 @ u), u @ wu]) / n
    G = (
        np.array(
            [
                [u @ (A1 @ wu) + wu @ (A1 @ u), -wu @ (A1 @ wu)],
                [u @ (W @ wu) + wu @ wu, -wu @ (W @ wu)],
            ]
        )
        / n
    )
    return G, g


def _weighted_criterion(G, g, psi=None) -> Callable[[float], float]:
    weight = np.eye(2) if psi is None else np.linalg.inv(psi)

    def criterion(lam: float) -> float:
        r = g - G @ np.array([lam, lam * lam])
        return float(r @ weight @ r)

    return criterion


def _trace_product(A, B, s: np.ndarray) -> float:
    """``tr(A S B S)`` with ``S = diag(s)``, from the non-zeros only."""
    M = sparse.csr_array(A).multiply(sparse.csr_array(B).T)
    return float(s @ (M @ s))


def _psi_het(W, A1, WW, e2: np.ndarray) -> np.ndarray:
    """Covariance of the two heteroskedastic moments (Arraiz et al. 2010, eq. 28)."""
    n = e2.size
    p11 = 4 * _trace_product(A1, A1, e2)
    p12 = 2 * _trace_product(A1, WW, e2)
    p22 = _trace_product(WW, WW, e2)
    return np.array([[p11, p12], [p12, p22]]) / (2.0 * n)


def _het(W, y, X, wy, wx, u, max_iter, tol, step1c):
    n = u.size
    WtW = sparse.csr_array(W.T @ W)
    A1 = sparse.csr_array(WtW - sparse.diags_array(WtW.diagonal()))
    WW = sparse.csr_array(W + W.T)
    G, g = _two_moments(A1, W, u)
    lam = _minimise(_weighted_criterion(G, g))
    if step1c:
        e2 = (u - lam * (W @ u)) ** 2
        lam = _minimise(_weighted_criterion(G, g, _psi_het(W, A1, WW, e2)))
    iterations, eps = 0, np.inf
    while iterations < max_iter and eps > tol:
        beta = _filtered_ols(y, X, wy, wx, lam)[0]
        u = y - X @ beta
        psi = _psi_het(W, A1, WW, (u - lam * (W @ u)) ** 2)
        G, g = _two_moments(A1, W, u)
        new = _minimise(_weighted_criterion(G, g, psi))
        eps, lam = abs(new - lam), new
        iterations += 1
    e = u - lam * (W @ u)
    psi = _psi_het(W, A1, WW, e**2)
    xs = X - lam * wx
    xsxsi = np.linalg.inv(xs.T @ xs)
    meat = (xs * (e**2)[:, None]).T @ xs
    j = G @ np.array([1.0, 2 * lam])
    k = X.shape[1]
    cov = np.zeros((k + 1, k + 1))
    cov[:k, :k] = xsxsi @ meat @ xsxsi
    cov[k, k] = 1.0 / float(j @ np.linalg.solve(psi, j)) / n
    return beta, lam, u, cov, iterations


def _hom(W, y, X, wy, wx, u, max_iter, tol):
    n = u.size
    WtW = sparse.csr_array(W.T @ W)
    t = float(WtW.diagonal().sum()) / n
    A1 = sparse.csr_array((WtW - t * sparse.eye_array(n, format="csr")) / (1.0 + t * t))
    A2 = sparse.csr_array((W + W.T) / 2.0)
    traces = (
        float(A1.multiply(A1.T).sum()),
        2 * float(A1.multiply(A2.T).sum()),
        2 * float(A2.multiply(A2.T).sum()),
    )
    d1 = A1.diagonal()
    G, g = _moments_hom(W, A1, A2, u)
    lam = _minimise(_weighted_criterion(G, g))
    iterations, eps = 0, np.inf
    while iterations < max_iter and eps > tol:
        beta = _filtered_ols(y, X, wy, wx, lam)[0]
        u = y - X @ beta
        G, g = _moments_hom(W, A1, A2, u)
        psi = _psi_hom(W, u, lam, traces, d1)[0]
        new = _minimise(_weighted_criterion(G, g, psi))
        eps, lam = abs(new - lam), new
        iterations += 1
    psi, sig2, mu3 = _psi_hom(W, u, lam, traces, d1)
    xs = X - lam * wx
    xsxsi = np.linalg.inv(xs.T @ xs)
    j = G @ np.array([1.0, 2 * lam])
    psi_inv = np.linalg.inv(psi)
    o_ll = 1.0 / float(j @ psi_inv @ j) / n
    psi_dl = mu3 * (X.T @ d1) / n  # only the first moment's column is non-zero
    o_dl = (n * xsxsi).T @ psi_dl * float((psi_inv @ j)[0]) * o_ll
    k = X.shape[1]
    cov = np.zeros((k + 1, k + 1))
    cov[:k, :k] = sig2 * xsxsi
    cov[:k, k] = cov[k, :k] = o_dl
    cov[k, k] = o_ll
    return beta, lam, u, cov, sig2, iterations


def _moments_hom(W, A1, A2, u) -> tuple[np.ndarray, np.ndarray]:
    """Moments of Drukker et al. (2013) with the matrices ``A₁``, ``A₂`` (Anselin 2011)."""
    n = u.size
    wu = W @ u
    g = np.array([u @ (A1 @ u), u @ (A2 @ u)]) / n
    G = np.array([[2 * wu @ (A1 @ u), -wu @ (A1 @ wu)], [2 * wu @ (A2 @ u), -wu @ (A2 @ wu)]]) / n
    return G, g


def _psi_hom(W, u, lam, traces, d1) -> tuple[np.ndarray, float, float]:
    """Covariance of the homoskedastic moments (Anselin 2011, p. 20), σ² and μ₃."""
    n = u.size
    us = u - lam * (W @ u)
    sig2 = float(us @ us) / n
    mu3 = float(np.sum(us**3)) / n
    mu4 = float(np.sum(us**4)) / n
    tr11, tr12, tr22 = traces
    p11 = 2 * sig2**2 * tr11 + (mu4 - 3 * sig2**2) * float(d1 @ d1)
    p12 = sig2**2 * tr12
    p22 = sig2**2 * tr22
    return np.array([[p11, p12], [p12, p22]]) / n, sig2, mu3
