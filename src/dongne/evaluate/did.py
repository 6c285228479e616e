"""Difference-in-differences: the 2×2 comparison and two-way fixed effects (TWFE).

:func:`twfe` fits Y_it = α_i + λ_t + β·D_it + X_it'γ + ε_it on a balanced :class:`Panel` by the
within transformation (y_it − ȳ_i· − ȳ_·t + ȳ_··), with standard errors clustered at the level
the policy was assigned (``Panel.cluster``; the unit by default). :func:`did_2x2` averages each
unit's pre- and post-period outcomes first and fits the same model on the two-period panel: the
classic "change in treated minus change in controls".

Clustered covariance (CR1): V = (D̃'D̃)⁻¹ [Σ_c (Σ_{i∈c} d̃_i e_i)²] (D̃'D̃)⁻¹ · n/(n − k − d), with
n unit-periods, k regressors and d = N + T − 1 absorbed effects. This is the default of
``linearmodels.PanelOLS(entity_effects=True, time_effects=True).fit(cov_type="clustered",
cluster_entity=True)`` (``debiased=True``; linearmodels 7.1 counts both effects when a model has
two). Intervals use Student's t with G − 1 degrees of freedom (G clusters).

With few clusters (G < 30) cluster-robust tests over-reject; the **wild cluster bootstrap**
(restricted, WCR; Cameron, Gelbach & Miller 2008) is then the recommended p-value. It imposes
H0: β = β0, draws Rademacher or Webb weights per cluster, and compares the observed t to the
bootstrap t's (symmetric test). The interval inverts that test: {β0 : p(β0) > α}, found by
bisection with the same draws for every β0 (Roodman, MacKinnon, Nielsen & Webb 2019). All
replications are computed at once from cluster-level sums (no loop over replications).

References
----------
.. [1] Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based improvements for
   inference with clustered errors. *Review of Economics and Statistics* 90(3):414–427.
.. [2] Roodman, D., MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2019). Fast and wild:
   Bootstrap inference in Stata using boottest. *The Stata Journal* 19(1):4–60.
.. [3] Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors.
   *Canadian Journal of Economics* 56(3):839–858 (six-point weights).
.. [4] Angrist, J. D., & Pischke, J.-S. (2009). *Mostly Harmless Econometrics*, ch. 5.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from dongne import __version__
from dongne._deprecate import renamed
from dongne._vocab import Lang, bilingual, in_process_only, provenance_alias, resolve_rng
from dongne._warnings import user_stacklevel
from dongne.errors import DataError, DongneWarning, SpecificationError, format_rows
from dongne.evaluate.panel import Panel, _fmt_period, collinear_columns
from dongne.evaluate.spillover import Exposure, SpilloverRule, find_exposed, split_for_spillover
from dongne.io.write import jsonable

__all__ = ["DiDResult", "did_2x2", "twfe", "wild_cluster_bootstrap"]

WildWeights = Literal["rademacher", "webb"]

#: Below this many clusters, cluster-robust standard errors are unreliable (Cameron & Miller
#: 2015, section VI) and a warning recommends the wild cluster bootstrap.
FEW_CLUSTERS = 30

_BATCH = 2048


def _within(a: np.ndarray) -> np.ndarray:
    """Two-way demeaning of a (units × periods [× k]) array of a balanced panel."""
    return a - a.mean(axis=1, keepdims=True) - a.mean(axis=0, keepdims=True) + a.mean(axis=(0, 1))


def _wild_weights(kind: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    if kind == "rademacher":
        return rng.integers(0, 2, size=shape) * 2.0 - 1.0
    if kind == "webb":
        values = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
        return values[rng.integers(0, 6, size=shape)]
    raise SpecificationError(
        f"The wild bootstrap weights must be 'rademacher' or 'webb'. Got {kind!r}."
    )


@dataclass(frozen=True)
class _Fit:
    beta: float
    se: float
    gamma: np.ndarray
    gamma_se: np.ndarray
    n_obs: int
    n_clusters: int
    scale: float
    resid_dof: int


def _ols_cluster(
    y: np.ndarray, z: np.ndarray, clusters: np.ndarray, absorbed: int
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """OLS of y on z (already within-transformed) with CR1 covariance as PanelOLS."""
    n, k = z.shape
    zz = z.T @ z
    coef = np.linalg.solve(zz, z.T @ y)
    e = y - z @ coef
    scores = np.zeros((clusters.max() + 1, k))
    np.add.at(scores, clusters, z * e[:, None])
    dof = n - k - absorbed
    if dof <= 0:
        raise DataError(
            f"The model has no residual degrees of freedom ({n} unit-periods, {k} regressors, "
            f"{absorbed} fixed effects). Fix: use more periods or units, or fewer covariates."
        )
    scale = n / dof
    inv = np.linalg.inv(zz)
    cov = inv @ (scores.T @ scores) @ inv * scale
    return coef, np.sqrt(np.diag(cov)), scale, dof


def _design(
    panel: Panel, d: np.ndarray, covariates: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    y = _within(panel.outcome_matrix()).ravel()
    cols = [_within(d).ravel()]
    absorbed = []
    for c in covariates:
        raw = panel.matrix(c)
        within = _within(raw).ravel()
        if np.linalg.norm(within) <= 1e-10 * max(np.linalg.norm(raw - raw.mean()), 1e-300):
            absorbed.append(c)
        cols.append(within)
    if absorbed:
        raise DataError(
            f"Covariate(s) {', '.join(map(repr, absorbed))} do not change over time within units "
            "(or change by the same amount everywhere), so the unit and period fixed effects "
            "absorb them. Fix: drop them from the TWFE covariates; att_gt can use them as "
            "base-period covariates."
        )
    z = np.column_stack(cols)
    names = ["treatment D", *covariates]
    bad = collinear_columns(z, names)
    if bad:
        if "treatment D" in bad:
            raise DataError(
                "The treatment indicator has no variation left after unit and period fixed "
                "effects (every unit treated at the same time as all others, or never). Fix: the "
                "panel needs both treated and untreated units, with periods before treatment."
            )
        raise DataError(
            f"Covariate(s) {', '.join(map(repr, bad))} are collinear with the unit and period "
            "fixed effects or with the other regressors (a covariate that does not change over "
            "time within units, or changes by the same amount everywhere, is absorbed by the "
            "fixed effects). Fix: drop them from covariates (a time-invariant covariate can be "
            "used in att_gt instead)."
        )
    return y, z


def _fit(
    panel: Panel, d: np.ndarray, covariates: Sequence[str]
) -> tuple[_Fit, np.ndarray, np.ndarray]:
    y, z = _design(panel, d, covariates)
    clusters = np.repeat(panel.clusters(), panel.n_periods)
    absorbed = panel.n_units + panel.n_periods - 1
    coef, se, scale, dof = _ols_cluster(y, z, clusters, absorbed)
    fit = _Fit(
        beta=float(coef[0]),
        se=float(se[0]),
        gamma=coef[1:],
        gamma_se=se[1:],
        n_obs=len(y),
        n_clusters=int(clusters.max() + 1),
        scale=scale,
        resid_dof=dof,
    )
    return fit, y, z


@dataclass(frozen=True)
class WildBootstrap:
    """Wild cluster bootstrap (WCR) p-value and test-inversion interval for β."""

    p_value: float
    ci: tuple[float, float]
    replications: int
    weights: str
    seed: int


def wild_cluster_bootstrap(
    y: np.ndarray,
    z: np.ndarray,
    clusters: np.ndarray,
    *,
    scale: float = 1.0,
    null: float = 0.0,
    replications: int = 9999,
    weights: WildWeights = "webb",
    alpha: float = 0.05,
    seed: int = 0,
) -> WildBootstrap:
    """Restricted wild cluster bootstrap for the first coefficient of an OLS of y on z.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Outcome (within-transformed for fixed-effects models).
    z : ndarray, shape (n, k)
        Regressors; column 0 is the tested one.
    clusters : ndarray of int, shape (n,)
        Cluster codes 0..G−1.
    scale : float
        Small-sample factor of the clustered variance (cancels in the test; kept for the t's).
    null : float
        β0 for the p-value.
    replications : int
        Number of bootstrap draws B.
    weights : {"webb", "rademacher"}
        Per-cluster multipliers (Webb's six-point weights suit G < 12).
    alpha : float
        1 − interval level.
    seed : int

    Returns
    -------
    WildBootstrap
        Symmetric bootstrap p-value of H0: β = ``null`` and the interval {β0 : p(β0) > α}.

    Notes
    -----
    With d̃ the residual of column 0 on the other columns and u(β0) = ỹ − β0·d̃ the restricted
    residuals, the bootstrap numerator is Σ_c v_cb Σ_{i∈c} d̃_i u_i(β0) and the bootstrap
    cluster scores are linear in β0 (A0 − β0·A1, from cluster sums and one G × G matrix), so
    the p-value at any β0 costs O(B) once the G × B products are formed.
    """
    rng = np.random.default_rng(seed)
    k = z.shape[1]
    n_clusters = int(clusters.max() + 1)
    x = z[:, 1:]
    z0 = z[:, 0]
    if k > 1:
        xtx_inv = np.linalg.inv(x.T @ x)
        d_res = z0 - x @ (xtx_inv @ (x.T @ z0))
        y_res = y - x @ (xtx_inv @ (x.T @ y))
    else:
        d_res, y_res = z0, y
    dd = float(d_res @ d_res)
    beta = float(d_res @ y_res) / dd
    # restricted residuals u(β0) = y_res − β0·d_res  (projection of y − β0 z0 off x)
    zz_inv = np.linalg.inv(z.T @ z)

    def cluster_sum(v: np.ndarray) -> np.ndarray:
        out = np.zeros((n_clusters, *v.shape[1:]))
        np.add.at(out, clusters, v)
        return out

    # score of cluster c for the tested coefficient: Σ_{i∈c} d̃_i e*_i with e* = M_z (u ∘ v)
    h = cluster_sum(d_res[:, None] * z)  # G × k
    s0 = cluster_sum(d_res * y_res)
    s1 = cluster_sum(d_res * d_res)
    w0 = cluster_sum(z * y_res[:, None])  # G × k
    w1 = cluster_sum(z * d_res[:, None])
    c0 = h @ zz_inv @ w0.T  # G × G
    c1 = h @ zz_inv @ w1.T
    e_obs = y_res - beta * d_res
    s_obs = cluster_sum(d_res * e_obs)
    se_obs = np.sqrt(scale * float(s_obs @ s_obs)) / dd

    num0 = np.empty(replications)
    num1 = np.empty(replications)
    q00 = np.empty(replications)
    q01 = np.empty(replications)
    q11 = np.empty(replications)
    for first in range(0, replications, _BATCH):
        b = min(_BATCH, replications - first)
        v = _wild_weights(weights, (n_clusters, b), rng)
        num0[first : first + b] = s0 @ v
        num1[first : first + b] = s1 @ v
        a0 = s0[:, None] * v - c0 @ v
        a1 = s1[:, None] * v - c1 @ v
        q00[first : first + b] = (a0 * a0).sum(axis=0)
        q01[first : first + b] = (a0 * a1).sum(axis=0)
        q11[first : first + b] = (a1 * a1).sum(axis=0)

    def p_value(b0: float) -> float:
        t_obs = (beta - b0) / se_obs
        num = (num0 - b0 * num1) / dd
        var = scale * (q00 - 2 * b0 * q01 + b0 * b0 * q11) / dd**2
        t_star = num / np.sqrt(np.maximum(var, 1e-300))
        return float(np.mean(np.abs(t_star) >= abs(t_obs) - 1e-12 * max(1.0, abs(t_obs))))

    def bound(direction: float) -> float:
        inside, step = beta, se_obs
        outside = beta + direction * step
        grow = 0
        while p_value(outside) > alpha:
            inside, step = outside, 2 * step
            outside = beta + direction * step
            grow += 1
            if grow > 60:
                return direction * np.inf
        for _ in range(60):
            mid = 0.5 * (inside + outside)
            if p_value(mid) > alpha:
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) <= 1e-7 * se_obs:
                break
        return 0.5 * (inside + outside)

    return WildBootstrap(
        p_value=p_value(null),
        ci=(bound(-1.0), bound(1.0)),
        replications=replications,
        weights=weights,
        seed=seed,
    )


@dataclass
class DiDResult:
    """Result of :func:`twfe` or :func:`did_2x2`.

    Attributes
    ----------
    method : str
        ``"twfe"`` or ``"2x2"``.
    estimate, se : float
        β (average effect on the treated periods of treated units) and its clustered SE.
    ci : tuple of float
        Cluster-robust interval (t with G − 1 df).
    p_value : float
        Cluster-robust two-sided p-value of β = 0.
    wild : WildBootstrap or None
        Wild cluster bootstrap p-value and interval.
    covariates : pandas.DataFrame
        Coefficients and SEs of the covariates.
    n_units, n_periods, n_clusters, n_treated : int
    excluded_units : list
        Units left out (treated from the first period on; exposed controls).
    exposure : Exposure or None
        Spillover analysis: who was exposed and how they were handled.
    exposure_effect : DiDResult or None
        With ``handling="exposure"``, the same estimator for the exposed units vs clean controls.
    params : dict
        Parameters and ``dongne`` version (provenance).
    """

    provenance_ = provenance_alias("params")

    method: str
    outcome: str
    estimate: float
    se: float
    ci: tuple[float, float]
    p_value: float
    alpha: float
    wild: WildBootstrap | None
    covariates: pd.DataFrame
    n_units: int
    n_periods: int
    n_clusters: int
    n_treated: int
    excluded_units: list[Any]
    exposure: Exposure | None
    exposure_effect: DiDResult | None
    params: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per estimated effect (the main effect, then the exposure effect if any)."""
        rows = [self._row("treated")]
        if self.exposure_effect is not None:
            rows.append(self.exposure_effect._row("exposed (spillover)"))
        return pd.DataFrame(rows)

    def _row(self, label: str) -> dict[str, Any]:
        return {
            "effect_on": label,
            "method": self.method,
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci[0],
            "ci_high": self.ci[1],
            "p_value": self.p_value,
            "wild_p_value": self.wild.p_value if self.wild else np.nan,
            "wild_ci_low": self.wild.ci[0] if self.wild else np.nan,
            "wild_ci_high": self.wild.ci[1] if self.wild else np.nan,
            "n_units": self.n_units,
            "n_treated": self.n_treated,
            "n_clusters": self.n_clusters,
        }

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Plain-language summary: effect, interval, meaning, assumptions and checks."""
        level = round(100 * (1 - self.alpha))
        lo, hi = self.wild.ci if self.wild else self.ci
        p = self.wild.p_value if self.wild else self.p_value
        how = (
            f"wild cluster bootstrap ({self.wild.weights}, {self.wild.replications} draws, "
            f"seed {self.wild.seed})"
            if self.wild
            else "cluster-robust standard errors"
        )
        how_ko = (
            f"와일드 클러스터 부트스트랩({self.wild.weights}, {self.wild.replications}회, "
            f"시드 {self.wild.seed})"
            if self.wild
            else "클러스터 강건 표준오차"
        )
        sig = p <= self.alpha
        name = "two-way fixed effects" if self.method == "twfe" else "2×2 difference-in-differences"
        if lang == "ko":
            text = (
                f"{'이원 고정효과' if self.method == 'twfe' else '2×2 이중차분'} 추정: 정책 후 "
                f"처치 지역의 '{self.outcome}'이(가) 비교 지역 대비 {self.estimate:+.4g} "
                "변했습니다 "
                f"({level}% 구간 {lo:.4g} ~ {hi:.4g}, p = {p:.3g}, {how_ko}). "
                + ("통계적으로 유의합니다. " if sig else "0과 구별되지 않습니다. ")
                + f"처치 {self.n_treated}개 / 전체 {self.n_units}개 지역, {self.n_periods}개 시점, "
                f"{self.n_clusters}개 클러스터. 가정: 정책이 없었다면 두 집단의 추세가 평행했을 "
                "것(평행추세)과 처치가 이웃 지역에 번지지 않았을 것. 사전추세 점검은 att_gt의 "
                "사전기간 검정으로 하십시오. 처치 시점이 지역마다 다르면 TWFE는 편향될 수 있으니 "
                "att_gt와 bacon_decomposition으로 확인하십시오."
            )
            if self.n_clusters < FEW_CLUSTERS:
                text += f" 클러스터가 {self.n_clusters}개로 적어 부트스트랩 결과를 보십시오."
        else:
            text = (
                f"{name}: after the policy, '{self.outcome}' in treated areas changed by "
                f"{self.estimate:+.4g} relative to the comparison areas ({level}% interval "
                f"{lo:.4g} to {hi:.4g}, p = {p:.3g}, {how}). "
                + (
                    "This is statistically distinguishable from no effect. "
                    if sig
                    else "This cannot be distinguished from no effect. "
                )
                + f"{self.n_treated} treated of {self.n_units} areas, {self.n_periods} periods, "
                f"{self.n_clusters} clusters. Assumptions: without the policy both groups would "
                "have followed parallel trends, and the policy did not spill over to comparison "
                "areas. Check pre-trends with att_gt's pre-period test; with staggered timing "
                "TWFE can be biased — compare with att_gt and bacon_decomposition."
            )
            if self.n_clusters < FEW_CLUSTERS:
                text += f" Only {self.n_clusters} clusters: rely on the wild cluster bootstrap."
        if self.exposure is not None:
            ex = self.exposure
            text += (
                f" Spillovers: {ex.rule.describe()}; exposed units: {len(ex.exposed)}"
                + (f" ({format_rows(ex.exposed)})" if len(ex.exposed) else "")
                + "."
            )
            if self.exposure_effect is not None:
                e = self.exposure_effect
                text += (
                    f" Effect on exposed areas: {e.estimate:+.4g} ({level}% interval "
                    f"{e.ci[0]:.4g} to {e.ci[1]:.4g})."
                )
        return text

    def plot(self, ax: Any = None) -> Any:
        """Point estimate with cluster-robust and bootstrap intervals (returns the Axes)."""
        import matplotlib.pyplot as plt

        from dongne._fonts import korean_font

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 2.5))
        frame = self.to_frame()
        pos = np.arange(len(frame))
        ax.errorbar(
            frame["estimate"],
            pos,
            xerr=[frame["estimate"] - frame["ci_low"], frame["ci_high"] - frame["estimate"]],
            fmt="o",
            capsize=4,
            label="cluster-robust",
        )
        if self.wild is not None:
            ax.plot(frame["wild_ci_low"], pos + 0.15, "|", color="C1", markersize=12)
            ax.plot(frame["wild_ci_high"], pos + 0.15, "|", color="C1", markersize=12)
            ax.hlines(
                pos + 0.15,
                frame["wild_ci_low"],
                frame["wild_ci_high"],
                color="C1",
                label="wild bootstrap",
            )
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(pos, frame["effect_on"], fontfamily=korean_font())
        ax.set_xlabel(f"effect on {self.outcome}")
        ax.legend(loc="best", fontsize=8)
        return ax


def _prepare(
    panel: Panel, spillover: SpilloverRule | None
) -> tuple[Panel, Panel | None, Exposure | None, list[Any]]:
    always = panel.always_treated()
    excluded: list[Any] = []
    if len(always):
        warnings.warn(
            f"{len(always)} unit(s) are treated from the first period on ({format_rows(always)}); "
            "with no untreated period they carry no information on the effect and are left out "
            "(listed in excluded_units).",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
        panel = panel.subset(
            panel.units.difference(always, sort=False), note="Always-treated units left out."
        )
        excluded.extend(always)
    exposure = None
    side = None
    if spillover is not None:
        exposure = find_exposed(panel, spillover)
        panel, side = split_for_spillover(panel, exposure)
        if spillover.handling != "ignore":
            excluded.extend(exposure.exposed)
    g = panel.first_treated.to_numpy()
    if not np.isfinite(g).any():
        raise DataError("No unit is treated within the panel's periods. Fix: check the treatment.")
    return panel, side, exposure, excluded


def _result(
    method: str,
    panel: Panel,
    fit: _Fit,
    y: np.ndarray,
    z: np.ndarray,
    covariates: Sequence[str],
    *,
    alpha: float,
    bootstrap: int,
    bootstrap_weights: WildWeights,
    seed: int,
    excluded: list[Any],
    exposure: Exposure | None,
    exposure_effect: DiDResult | None,
    params: dict[str, Any],
) -> DiDResult:
    tq = stats.t.ppf(1 - alpha / 2, fit.n_clusters - 1)
    wild = None
    if bootstrap:
        clusters = np.repeat(panel.clusters(), panel.n_periods)
        wild = wild_cluster_bootstrap(
            y,
            z,
            clusters,
            scale=fit.scale,
            replications=bootstrap,
            weights=bootstrap_weights,
            alpha=alpha,
            seed=seed,
        )
    if fit.n_clusters < FEW_CLUSTERS:
        warnings.warn(
            f"Only {fit.n_clusters} clusters: cluster-robust standard errors are unreliable "
            "with fewer than 30 clusters. Use the wild cluster bootstrap (bootstrap=9999, "
            "bootstrap_weights='webb' below 12 clusters) and report its p-value and interval.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
    t = fit.beta / fit.se
    return DiDResult(
        method=method,
        outcome=panel.outcome,
        estimate=fit.beta,
        se=fit.se,
        ci=(fit.beta - tq * fit.se, fit.beta + tq * fit.se),
        p_value=float(2 * stats.t.sf(abs(t), fit.n_clusters - 1)),
        alpha=alpha,
        wild=wild,
        covariates=pd.DataFrame(
            {"coefficient": fit.gamma, "se": fit.gamma_se},
            index=pd.Index(covariates, name="covariate"),
        ),
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_clusters=fit.n_clusters,
        n_treated=int(np.isfinite(panel.first_treated.to_numpy()).sum()),
        excluded_units=excluded,
        exposure=exposure,
        exposure_effect=exposure_effect,
        params=jsonable(
            {
                **params,
                "method": method,
                "alpha": alpha,
                "bootstrap": bootstrap,
                "bootstrap_weights": bootstrap_weights if bootstrap else None,
                "seed": seed if bootstrap else None,
                "cluster": panel.cluster or panel.unit,
                "small_sample_scale": fit.scale,
                "excluded_units": excluded,
                "spillover": exposure.to_params() if exposure else None,
                "panel_notes": list(panel.notes),
                "dongne_version": __version__,
            }
        ),
    )


@renamed(seed="rng")
def twfe(
    panel: Panel,
    *,
    covariates: Sequence[str] | None = None,
    spillover: SpilloverRule | None = None,
    bootstrap: int = 0,
    bootstrap_weights: WildWeights = "webb",
    alpha: float = 0.05,
    rng: int | np.random.Generator | None = None,
    scheduler: Any = None,
) -> DiDResult:
    """Two-way fixed effects DiD: Y_it = α_i + λ_t + β·D_it (+ X_it'γ) + ε_it.

    Parameters
    ----------
    panel : Panel
        Balanced panel; D_it = 1 from each unit's first treated period on.
    covariates : sequence of str, optional
        Time-varying covariates (default: the panel's covariates). Time-invariant ones are
        absorbed by the unit effects and raise a :class:`~dongne.errors.DataError`.
    spillover : SpilloverRule, optional
        Find untreated areas near treated ones and exclude them, estimate their own effect
        (``handling="exposure"``) or keep them (``"ignore"``); recorded in the result.
    bootstrap : int, default 0
        Wild cluster bootstrap replications (0 = none; 9999 recommended with few clusters).
    bootstrap_weights : {"webb", "rademacher"}
    alpha : float, default 0.05
    rng : int, numpy.random.Generator or None, default None
        Seed of the bootstrap draws (``seed`` before 0.2); None means seed 0, a
        Generator is drawn from once (:func:`dongne._vocab.resolve_rng`).
    scheduler : None or "threads"
        The draws run in this process; other schedulers (``"processes"``, Dask) are
        refused with a :class:`~dongne.errors.SpecificationError`, never ignored.

    Returns
    -------
    DiDResult

    Raises
    ------
    DataError
        No treated unit, no variation in D, collinear covariates.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dongne.evaluate.panel import panel_from_frame
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame([(u, t) for u in range(40) for t in range(4)], columns=["u", "t"])
    >>> df["y"] = 0.1 * rng.normal(size=len(df)) + 2.0 * ((df.u < 20) & (df.t >= 2))
    >>> p = panel_from_frame(df, unit="u", time="t", outcome="y",
    ...                      treated_units=range(20), treatment_start=2)
    >>> round(twfe(p).estimate, 3)
    2.062
    """
    in_process_only(scheduler, "twfe")
    seed = resolve_rng(rng)
    covs = tuple(panel.covariates if covariates is None else covariates)
    unknown = [c for c in covs if c not in panel.covariates]
    if unknown:
        raise SpecificationError(
            f"Covariate(s) {unknown} are not covariates of the panel ({list(panel.covariates)}). "
            "Fix: list them in panel_from_frame(covariates=...)."
        )
    if not 0 < alpha < 1:
        raise SpecificationError(f"alpha must be in (0, 1). Got {alpha!r}.")
    main, side, exposure, excluded = _prepare(panel, spillover)
    options = {
        "alpha": alpha,
        "bootstrap": bootstrap,
        "bootstrap_weights": bootstrap_weights,
        "seed": seed,
    }
    exposure_effect = None
    if side is not None:
        exposure_effect = twfe(side, covariates=covs, **_rng_options(options))
    fit, y, z = _fit(main, main.treatment_matrix(), covs)
    return _result(
        "twfe",
        main,
        fit,
        y,
        z,
        covs,
        excluded=excluded,
        exposure=exposure,
        exposure_effect=exposure_effect,
        bootstrap_weights=bootstrap_weights,
        alpha=alpha,
        bootstrap=bootstrap,
        seed=seed,
        params={"covariates": list(covs)},
    )


@renamed(seed="rng")
def did_2x2(
    panel: Panel,
    *,
    spillover: SpilloverRule | None = None,
    bootstrap: int = 0,
    bootstrap_weights: WildWeights = "webb",
    alpha: float = 0.05,
    rng: int | np.random.Generator | None = None,
    scheduler: Any = None,
) -> DiDResult:
    """Classic 2×2 DiD: (post − pre mean of treated) − (post − pre mean of controls).

    Every treated unit must share one treatment start; the periods before it are "pre", the
    others "post". Outcomes are averaged per unit within pre and post, and β and its clustered
    SE come from the two-period TWFE model (equivalently, OLS of the change on the treatment).

    Parameters
    ----------
    panel : Panel
    spillover, bootstrap, bootstrap_weights, alpha, rng, scheduler
        As in :func:`twfe`.

    Returns
    -------
    DiDResult

    Raises
    ------
    SpecificationError
        Treated units start in different periods (use :func:`~dongne.evaluate.staggered.att_gt`).
    """
    in_process_only(scheduler, "did_2x2")
    seed = resolve_rng(rng)
    main, side, exposure, excluded = _prepare(panel, spillover)
    g = main.first_treated.to_numpy()
    starts = np.unique(g[np.isfinite(g)])
    if len(starts) > 1:
        raise SpecificationError(
            "did_2x2 needs one treatment start; treated units start in "
            f"{format_rows(map(_fmt_period, starts))}. "
            "Fix: use att_gt (Callaway & Sant'Anna) for staggered adoption, or select one cohort."
        )
    options = {
        "alpha": alpha,
        "bootstrap": bootstrap,
        "bootstrap_weights": bootstrap_weights,
        "seed": seed,
    }
    exposure_effect = did_2x2(side, **_rng_options(options)) if side is not None else None
    collapsed = _collapse(main, float(starts[0]))
    fit, y, z = _fit(collapsed, collapsed.treatment_matrix(), ())
    return _result(
        "2x2",
        collapsed,
        fit,
        y,
        z,
        (),
        excluded=excluded,
        exposure=exposure,
        exposure_effect=exposure_effect,
        bootstrap_weights=bootstrap_weights,
        alpha=alpha,
        bootstrap=bootstrap,
        seed=seed,
        params={"treatment_start": float(starts[0]), "periods": list(main.periods)},
    )


def _rng_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options of a recursive call, with the resolved seed passed as ``rng``."""
    return {("rng" if k == "seed" else k): v for k, v in options.items()}


def _collapse(panel: Panel, start: float) -> Panel:
    y = panel.outcome_matrix()
    post = panel.periods >= start
    means = np.column_stack([y[:, ~post].mean(axis=1), y[:, post].mean(axis=1)])
    data = pd.DataFrame(
        {
            panel.unit: np.repeat(panel.units.to_numpy(), 2),
            panel.time: np.tile([0.0, 1.0], panel.n_units),
            panel.outcome: means.ravel(),
        }
    )
    if panel.cluster is not None:
        data[panel.cluster] = panel.data[panel.cluster].to_numpy()[:: panel.n_periods].repeat(2)
    g = np.where(np.isfinite(panel.first_treated.to_numpy()), 1.0, np.inf)
    return Panel(
        data=data,
        unit=panel.unit,
        time=panel.time,
        outcome=panel.outcome,
        covariates=(),
        cluster=panel.cluster,
        units=panel.units,
        periods=np.array([0.0, 1.0]),
        first_treated=pd.Series(g, index=panel.units),
        dropped_units=panel.dropped_units,
        notes=(*panel.notes, f"Collapsed to pre/post means around period {start:g}."),
    )
