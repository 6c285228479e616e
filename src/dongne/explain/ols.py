"""Ordinary least squares with the diagnostics a spatial analysis needs before any model.

Coefficients with classical, White (heteroskedasticity-robust) or Kelejian–Prucha HAC
(heteroskedasticity- and spatial-autocorrelation-consistent) standard errors; fit measures
(R², log-likelihood, AIC, Schwarz); the condition number; Jarque–Bera normality,
Breusch–Pagan and Koenker–Bassett heteroskedasticity tests; and, given weights, Moran's I of
the residuals (with the Cliff–Ord moments of regression residuals), LM-error, LM-lag, their
robust forms and SARMA (Anselin, Bera, Florax & Yoon 1996). The numbers equal
``spreg.OLS(..., spat_diag=True, moran=True)`` to 1e-8 (``tests/test_explain_spreg.py``).

References
----------
Anselin, L., Bera, A. K., Florax, R. & Yoon, M. J. (1996). Simple diagnostic tests for spatial
dependence. *Regional Science and Urban Economics* 26, 77–104.
Cliff, A. D. & Ord, J. K. (1981). *Spatial Processes*. Pion, pp. 201–203.
Kelejian, H. H. & Prucha, I. R. (2007). HAC estimation in a spatial framework. *Journal of
Econometrics* 140, 131–154.
White, H. (1980). A heteroskedasticity-consistent covariance matrix estimator. *Econometrica*
48, 817–838.
Koenker, R. (1981). A note on studentizing a test for heteroskedasticity. *Journal of
Econometrics* 17, 107–112.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import sparse, stats

from dongne import __version__
from dongne._vocab import pick_language
from dongne.explain._design import Design, condition_number
from dongne.explain._text import ols_lines, residual_figure
from dongne.explain._weights import weights_matrix

__all__ = ["OLSResult", "Test", "ols", "spatial_diagnostics"]


@dataclass(frozen=True)
class Test:
    """A test statistic with its p-value and degrees of freedom (``df=0``: normal z)."""

    statistic: float
    p_value: float
    df: int = 1


@dataclass
class OLSResult:
    """An OLS fit and its diagnostics (attributes end in ``_`` as fitted results)."""

    design: Design
    params_: np.ndarray
    cov_: np.ndarray
    robust: str
    residuals_: np.ndarray
    sig2_: float
    r2_: float
    adj_r2_: float
    f_test_: Test
    log_likelihood_: float
    aic_: float
    schwarz_: float
    condition_number_: float
    jarque_bera_: Test
    breusch_pagan_: Test
    koenker_bassett_: Test
    spatial_: dict[str, Test] = field(default_factory=dict)
    provenance_: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """Coefficient names (``"const"`` first)."""
        return self.design.names

    @property
    def bse_(self) -> np.ndarray:
        """Standard errors of the coefficients."""
        return np.sqrt(np.diag(self.cov_))

    @property
    def tvalues_(self) -> np.ndarray:
        """t statistics."""
        return self.params_ / self.bse_

    @property
    def pvalues_(self) -> np.ndarray:
        """Two-sided p-values from Student's t with n − k degrees of freedom."""
        return 2 * stats.t.sf(np.abs(self.tvalues_), self.design.n - self.design.k)

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: estimate, standard error, t, p."""
        return pd.DataFrame(
            {
                "coefficient": self.params_,
                "std_error": self.bse_,
                "t": self.tvalues_,
                "p_value": self.pvalues_,
            },
            index=pd.Index(self.names, name="variable"),
        )

    def summary(self, lang: str = "both", label: str | None = None) -> str:
        """Coefficients and spatial diagnostics in plain English and/or Korean."""
        en, ko = ols_lines(self, label or self.design.y_name)
        return pick_language(lang, "\n".join(en), "\n".join(ko))

    def plot(self) -> Figure:
        """Residuals against fitted values."""
        return residual_figure(self.design.y - self.residuals_, self.residuals_, "OLS")

    def diagnostics_frame(self) -> pd.DataFrame:
        """Every diagnostic test: statistic, degrees of freedom, p-value."""
        tests = {
            "F (all slopes zero)": self.f_test_,
            "Jarque-Bera": self.jarque_bera_,
            "Breusch-Pagan": self.breusch_pagan_,
            "Koenker-Bassett": self.koenker_bassett_,
            **self.spatial_,
        }
        return pd.DataFrame(
            [(k, t.statistic, t.df, t.p_value) for k, t in tests.items()],
            columns=["test", "statistic", "df", "p_value"],
        ).set_index("test")


def ols(
    design: Design,
    w: Any = None,
    *,
    robust: str = "none",
    hac_kernel: Any = None,
) -> OLSResult:
    """Fit OLS on a checked design (:func:`~dongne.explain.check_design`) with diagnostics.

    Parameters
    ----------
    design : Design
        From :func:`~dongne.explain.check_design` (intercept included).
    w : SpatialWeights or scipy sparse matrix, optional
        Spatial weights (usually row-standardised) for the spatial diagnostics.
    robust : {"none", "white", "hac"}
        Standard errors: classical (``σ²(X'X)⁻¹`` with ``σ² = e'e/(n−k)``), White with the
        n/(n−k) correction, or HAC with ``hac_kernel``.
    hac_kernel : SpatialWeights or scipy sparse matrix, optional
        Kernel weights *with* their diagonal (e.g. triangular kernel over the k nearest
        neighbours), required for ``robust="hac"``.

    Returns
    -------
    OLSResult
    """
    y, X = design.y, design.X
    n, k = X.shape
    xtxi = np.linalg.inv(X.T @ X)
    beta = xtxi @ (X.T @ y)
    u = y - X @ beta
    utu = float(u @ u)
    sig2 = utu / (n - k)
    cov = _covariance(X, u, xtxi, sig2, robust, hac_kernel)
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - utu / tss
    logll = -0.5 * n * (np.log(2 * np.pi) + np.log(utu / n) + 1)
    f_stat = ((tss - utu) / (k - 1)) / (utu / (n - k))
    result = OLSResult(
        design=design,
        params_=beta,
        cov_=cov,
        robust=robust,
        residuals_=u,
        sig2_=sig2,
        r2_=r2,
        adj_r2_=1 - (1 - r2) * (n - 1) / (n - k),
        f_test_=Test(f_stat, float(stats.f.sf(f_stat, k - 1, n - k)), k - 1),
        log_likelihood_=logll,
        aic_=2 * k - 2 * logll,
        schwarz_=k * np.log(n) - 2 * logll,
        condition_number_=condition_number(X),
        jarque_bera_=_jarque_bera(u),
        breusch_pagan_=_breusch_pagan(u, X, studentized=False),
        koenker_bassett_=_breusch_pagan(u, X, studentized=True),
        provenance_={
            "method": "OLS",
            "dongne_version": __version__,
            "robust": robust,
            "n": n,
            "k": k,
        },
    )
    if w is not None:
        result.spatial_ = spatial_diagnostics(design, beta, u, xtxi, w)
    return result


def _covariance(
    X: np.ndarray, u: np.ndarray, xtxi: np.ndarray, sig2: float, robust: str, hac_kernel: Any
) -> np.ndarray:
    n, k = X.shape
    if robust == "none":
        return sig2 * xtxi
    xu = X * u[:, None]
    if robust == "white":
        psi0 = (xu.T @ xu) * n / (n - k)
    elif robust == "hac":
        if hac_kernel is None:
            from dongne.errors import SpecificationError

            raise SpecificationError(
                "robust='hac' needs kernel weights. Fix: pass hac_kernel= (kernel weights "
                "with their diagonal), or robust='white'."
            )
        kmat = _kernel_matrix(hac_kernel, n)
        psi0 = xu.T @ (kmat @ xu)
    else:
        from dongne._validation import check_choice

        check_choice("robust", robust, ("none", "white", "hac"))
    return xtxi @ psi0 @ xtxi


def _kernel_matrix(kernel: Any, n: int) -> sparse.csr_array:
    from dongne.weights import SpatialWeights

    matrix = kernel.to_sparse() if isinstance(kernel, SpatialWeights) else kernel
    matrix = sparse.csr_array(matrix, dtype=float)
    if matrix.shape != (n, n):
        from dongne.errors import SpecificationError

        raise SpecificationError(
            f"hac_kernel is {matrix.shape[0]} × {matrix.shape[1]} for {n} observations. Fix: "
            "build the kernel on the same areas, in the same order."
        )
    return matrix


def _jarque_bera(u: np.ndarray) -> Test:
    n = u.size
    m2, m3, m4 = (np.mean(u**p) for p in (2, 3, 4))
    skew, kurt = m3 / m2**1.5, m4 / m2**2
    jb = n * (skew**2 / 6 + (kurt - 3) ** 2 / 24)
    return Test(float(jb), float(stats.chi2.sf(jb, 2)), 2)


def _breusch_pagan(u: np.ndarray, X: np.ndarray, *, studentized: bool) -> Test:
    """Breusch–Pagan (1979) on the squared covariates, or Koenker's studentized form."""
    Z = _unique_columns(X**2)
    e2 = u**2
    s2 = e2.mean()
    g = e2 - s2 if studentized else e2 / s2 - 1.0
    ztg = Z.T @ g
    quad = float(ztg @ np.linalg.solve(Z.T @ Z, ztg))
    stat = quad / np.mean((e2 - s2) ** 2) if studentized else 0.5 * quad
    df = Z.shape[1] - 1
    return Test(stat, float(stats.chi2.sf(stat, df)), df)


def _unique_columns(Z: np.ndarray) -> np.ndarray:
    keep = [
        j for j in range(Z.shape[1]) if not any(np.array_equal(Z[:, i], Z[:, j]) for i in range(j))
    ]
    return Z[:, keep]


def spatial_diagnostics(
    design: Design, beta: np.ndarray, u: np.ndarray, xtxi: np.ndarray, w: Any
) -> dict[str, Test]:
    """Moran's I of the residuals and the LM tests of Anselin et al. (1996).

    Returns a mapping ``name -> Test``: ``"Moran's I (residuals)"`` (statistic = I, with the
    z-value's p), ``"LM error"``, ``"LM lag"``, ``"robust LM error"``, ``"robust LM lag"``,
    ``"LM SARMA"``. The Moran's I z-value is under ``"Moran's I z"``.
    """
    y, X = design.y, design.X
    n, _k = X.shape
    W = weights_matrix(w, n, design.rows)
    utu = float(u @ u)
    sig2n = utu / n
    wu = W @ u
    trace_t = float((W.T @ W + W @ W).diagonal().sum())
    wxb = W @ (X @ beta)
    xwxb = X.T @ wxb
    j = (float(wxb @ wxb) - float(xwxb @ xtxi @ xwxb) + trace_t * sig2n) / (n * sig2n)
    nj = n * j
    e_we = float(u @ wu) / sig2n
    e_wy = float(u @ (W @ y)) / sig2n
    chi = stats.chi2.sf
    lm_err = e_we**2 / trace_t
    lm_lag = e_wy**2 / nj
    rlm_err = (e_we - trace_t * e_wy / nj) ** 2 / (trace_t * (1 - trace_t / nj))
    rlm_lag = (e_wy - e_we) ** 2 / (nj - trace_t)
    sarma = rlm_lag + lm_err
    moran_i, moran_z = _residual_moran(W, X, u, xtxi)
    return {
        "Moran's I (residuals)": Test(moran_i, float(2 * stats.norm.sf(abs(moran_z))), 0),
        "Moran's I z": Test(moran_z, float(2 * stats.norm.sf(abs(moran_z))), 0),
        "LM error": Test(lm_err, float(chi(lm_err, 1)), 1),
        "LM lag": Test(lm_lag, float(chi(lm_lag, 1)), 1),
        "robust LM error": Test(rlm_err, float(chi(rlm_err, 1)), 1),
        "robust LM lag": Test(rlm_lag, float(chi(rlm_lag, 1)), 1),
        "LM SARMA": Test(sarma, float(chi(sarma, 2)), 2),
    }


def _residual_moran(
    W: sparse.csr_array, X: np.ndarray, u: np.ndarray, xtxi: np.ndarray
) -> tuple[float, float]:
    """Moran's I of OLS residuals, standardised with Cliff & Ord's (1981) exact moments."""
    n, k = X.shape
    s0 = float(W.sum())
    sym = W + W.T
    s1 = 0.5 * float(sym.multiply(sym).sum())
    moran_i = n * float(u @ (W @ u)) / (s0 * float(u @ u))
    tr_a = float(np.trace(xtxi @ (X.T @ (W @ X))))
    e_i = -n * tr_a / (s0 * (n - k))
    z = (sym / 2.0) @ X
    a_mat = xtxi @ (X.T @ z)
    b_mat = xtxi @ (z.T @ z)
    var = (n**2 / (s0**2 * (n - k) * (n - k + 2.0))) * (
        s1 + 2.0 * np.trace(a_mat @ a_mat) - 4.0 * np.trace(b_mat) - 2.0 * tr_a**2 / (n - k)
    )
    return moran_i, (moran_i - e_i) / np.sqrt(var)
