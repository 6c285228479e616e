"""Staggered adoption: Callaway & Sant'Anna (2021) group-time effects and their aggregations.

When areas adopt a policy at different times and its effect changes over time, the TWFE
coefficient mixes in "forbidden" comparisons of newly treated with already treated areas and
can even take the wrong sign (Goodman-Bacon 2021; see :mod:`dongne.evaluate.bacon`).
Callaway & Sant'Anna instead estimate one clean 2×2 effect per cohort g (areas first treated
in period g) and period t::

    ATT(g, t) = E[Y_t − Y_b | G = g] − E[Y_t − Y_b | comparison units]

with b the base period: the last period before g − anticipation for t ≥ g, and t − 1 for
pre-periods (``base_period="varying"``, R's default) or always g − 1 − anticipation
(``"universal"``). Comparison units are the never treated (``control="never"``) or those not
yet treated by max(t, b) + anticipation (``"notyet"``). With covariates each cell is estimated
by outcome regression (``"reg"``, Heckman, Ichimura & Todd 1997), normalised (Hajek) inverse
probability weighting (``"ipw"``, Abadie 2005) or the doubly robust estimator of Sant'Anna &
Zhao (2020, ``"dr"``; the locally efficient ``drdid_panel`` that R ``did::att_gt`` calls).
Covariates enter with their values in the earlier of the two periods compared (as R does), so
time-varying covariates are taken at the base period. Propensity scores are clipped to
[1e-6, 1 − 1e-6] and comparison units with a score ≥ 0.995 get weight 0 (R ``DRDID``).

Inference uses each cell's influence function per unit. Analytic SEs are
√(Σ_i ψ_i²)/n (clustered: √(Σ_c (Σ_{i∈c} ψ_i)²)/n); the multiplier bootstrap draws
(1/n) Σ_c v_c Σ_{i∈c} ψ_i with Mammen or Rademacher weights v_c, gives robust SEs
(interquartile range / 1.349) and the critical value of a uniform (simultaneous) band:
the 1 − α quantile of max_k |draw_k / se_k|. Aggregations follow R ``did::aggte``: ``simple``
(post-treatment cells weighted by cohort size), ``group`` (cohort averages of their post cells,
then weighted by cohort size), ``dynamic`` (event time e = t − g, cells weighted by cohort
size, overall = mean over e ≥ 0) and ``calendar`` (by period t, overall = mean over t);
influence functions include the estimation of the cohort-size weights.

Guards (each stated in the summary): no pre-trend Wald p-value from a singular pre-period
covariance (``moderndid``'s rank rule) or when a one-unit cohort has pre-period cells (its
variance leaves out that unit), with the pre-period event-time effects and bands instead; a
warning for one-unit cohorts; ``ipw``/``dr`` cells whose propensity score reaches 0.999 (or whose
logit separates) are dropped with a warning, as ``moderndid``; a two-period panel with fewer than
30 clusters is tested with the wild cluster bootstrap of the equal 2×2 DiD [5]_, [6]_.

References
----------
.. [1] Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
   periods. *Journal of Econometrics* 225(2):200–230.
.. [2] Sant'Anna, P. H. C., & Zhao, J. (2020). Doubly robust difference-in-differences
   estimators. *Journal of Econometrics* 219(1):101–122.
.. [3] Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
   *Journal of Econometrics* 225(2):254–277.
.. [4] Mammen, E. (1993). Bootstrap and wild bootstrap for high dimensional linear models.
   *Annals of Statistics* 21(1):255–285.
.. [5] Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based improvements for
   inference with clustered errors. *Review of Economics and Statistics* 90(3):414–427.
.. [6] MacKinnon, J. G., & Webb, M. D. (2017). Wild bootstrap inference for wildly different
   cluster sizes. *Journal of Applied Econometrics* 32(2):233–254.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from dongne import __version__
from dongne._deprecate import renamed
from dongne._vocab import Lang, bilingual, in_process_only, provenance_alias, resolve_rng
from dongne._warnings import user_stacklevel
from dongne.errors import DataError, DongneWarning, SpecificationError, format_rows
from dongne.evaluate.did import FEW_CLUSTERS, WildBootstrap, _rng_options, did_2x2
from dongne.evaluate.panel import Panel, _fmt_period, collinear_columns
from dongne.evaluate.spillover import Exposure, SpilloverRule, find_exposed, split_for_spillover
from dongne.io.write import jsonable

__all__ = ["AggregatedEffects", "StaggeredResult", "att_gt"]

Control = Literal["never", "notyet"]
Method = Literal["reg", "ipw", "dr"]
BasePeriod = Literal["varying", "universal"]
Aggregation = Literal["simple", "group", "dynamic", "calendar"]
Multiplier = Literal["mammen", "rademacher"]

#: Propensity scores are clipped to [_PS_CLIP, 1 − _PS_CLIP]; comparison units with a score at
#: or above _PS_TRIM get weight 0 (values of R ``DRDID``).
_PS_CLIP = 1e-6
_PS_TRIM = 0.995
#: A (g,t) cell whose largest fitted propensity score reaches this value violates overlap and is
#: dropped with a warning (``moderndid`` 0.2 ``att_gt``: "Overlap condition violated").
_PS_OVERLAP = 0.999
#: Analytic SEs at or below this are treated as zero (the universal base cell), as ``moderndid``.
_SE_ZERO = np.sqrt(np.finfo(float).eps) * 10
_BATCH = 1024
#: Draws of the wild cluster bootstrap used for a two-period panel with few clusters (at least).
_WILD_DRAWS = 9999
_IQR_TO_SD = stats.norm.ppf(0.75) - stats.norm.ppf(0.25)


# ----------------------------------------------------------------------------------- 2×2 cells
class _OverlapViolation(Exception):
    """A cell's propensity score reaches 1 (or the logit separates perfectly): no overlap."""


def _logit(d: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Maximum-likelihood logit by Newton's method; fitted probabilities.

    Raises :class:`_OverlapViolation` when the fit separates the groups (singular information
    matrix) or a fitted score reaches ``_PS_OVERLAP``, the rule of ``moderndid``'s ``att_gt``.
    """
    beta = np.zeros(x.shape[1])
    p_bar = d.mean()
    beta[0] = np.log(p_bar / (1 - p_bar))
    converged = False
    with np.errstate(over="ignore"):
        for _ in range(100):
            eta = x @ beta
            p = 1 / (1 + np.exp(-eta))
            w = p * (1 - p)
            grad = x.T @ (d - p)
            hess = x.T @ (x * w[:, None])
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError as exc:
                raise _OverlapViolation from exc
            beta += step
            if not np.isfinite(beta).all():
                raise _OverlapViolation
            if np.max(np.abs(step)) < 1e-12 * (1 + np.max(np.abs(beta))):
                converged = True
                break
        fitted = 1 / (1 + np.exp(-(x @ beta)))
    if fitted.max() >= _PS_OVERLAP:
        raise _OverlapViolation
    if not converged:
        warnings.warn(
            "The propensity-score logit did not converge in 100 iterations.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
    return fitted


def _ols_on_controls(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fitted Δy from OLS on comparison units, and its asymptotic linear representation."""
    n = len(d)
    c = 1 - d
    xtx = x.T @ (x * c[:, None]) / n
    beta = np.linalg.solve(xtx, x.T @ (c * dy) / n)
    fitted = x @ beta
    alr = (c * (dy - fitted))[:, None] * x @ np.linalg.inv(xtx)
    return fitted, alr


def _ps_alr(d: np.ndarray, x: np.ndarray, ps: np.ndarray) -> np.ndarray:
    """Asymptotic linear representation of the logit coefficients."""
    n = len(d)
    hess_inv = np.linalg.inv(x.T @ (x * (ps * (1 - ps))[:, None])) * n
    return ((d - ps)[:, None] * x) @ hess_inv


def _cell_reg(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    fitted, alr = _ols_on_controls(dy, d, x)
    md = d.mean()
    att_treat = (d * dy).mean() / md
    att_cont = (d * fitted).mean() / md
    inf_treat = d * (dy - att_treat) / md
    inf_cont = (d * (fitted - att_cont) + alr @ (d[:, None] * x).mean(axis=0)) / md
    return att_treat - att_cont, inf_treat - inf_cont


def _weights(d: np.ndarray, ps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = (d == 1) | (ps < _PS_TRIM)
    return keep * d, keep * ps * (1 - d) / (1 - ps)


def _cell_ipw(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    ps = np.clip(_logit(d, x), _PS_CLIP, 1 - _PS_CLIP)
    w_t, w_c = _weights(d, ps)
    mt, mc = w_t.mean(), w_c.mean()
    att_t = (w_t * dy).mean() / mt
    att_c = (w_c * dy).mean() / mc
    inf_t = w_t * (dy - att_t) / mt
    inf_c = w_c * (dy - att_c) / mc
    moment = ((w_c * (dy - att_c))[:, None] * x).mean(axis=0) / mc
    return att_t - att_c, inf_t - (inf_c + _ps_alr(d, x, ps) @ moment)


def _cell_dr(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    ps = np.clip(_logit(d, x), _PS_CLIP, 1 - _PS_CLIP)
    fitted, alr_or = _ols_on_controls(dy, d, x)
    alr_ps = _ps_alr(d, x, ps)
    w_t, w_c = _weights(d, ps)
    mt, mc = w_t.mean(), w_c.mean()
    r = dy - fitted
    eta_t = (w_t * r).mean() / mt
    eta_c = (w_c * r).mean() / mc
    lead_t = w_t * (r - eta_t)
    lead_c = w_c * (r - eta_c)
    inf_t = (lead_t - alr_or @ (w_t[:, None] * x).mean(axis=0)) / mt
    inf_c = (
        lead_c
        + alr_ps @ (lead_c[:, None] * x).mean(axis=0)
        - alr_or @ (w_c[:, None] * x).mean(axis=0)
    ) / mc
    return eta_t - eta_c, inf_t - inf_c


_CELL = {"reg": _cell_reg, "ipw": _cell_ipw, "dr": _cell_dr}


# ------------------------------------------------------------------------------- bootstrap
def _multiplier(kind: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    if kind == "rademacher":
        return rng.integers(0, 2, size=shape) * 2.0 - 1.0
    if kind == "mammen":
        s5 = np.sqrt(5.0)
        low, high = (1 - s5) / 2, (1 + s5) / 2
        return np.where(rng.random(shape) < (s5 + 1) / (2 * s5), low, high)
    raise SpecificationError(f"multiplier must be 'mammen' or 'rademacher'. Got {kind!r}.")


def _cluster_sums(inf: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    out = np.zeros((clusters.max() + 1, inf.shape[1]))
    np.add.at(out, clusters, inf)
    return out


def _bootstrap_draws(
    inf: np.ndarray, clusters: np.ndarray, kind: str, replications: int, seed: int
) -> np.ndarray:
    """(B × K) draws of (1/n) Σ_c v_c Σ_{i∈c} ψ_i; identical for the same seed."""
    sums = _cluster_sums(inf, clusters)
    n = inf.shape[0]
    rng = np.random.default_rng(seed)
    out = np.empty((replications, inf.shape[1]))
    for first in range(0, replications, _BATCH):
        b = min(_BATCH, replications - first)
        v = _multiplier(kind, (b, sums.shape[0]), rng)
        out[first : first + b] = v @ sums / n
    return out


@dataclass(frozen=True)
class _Inference:
    se_analytic: np.ndarray
    se: np.ndarray
    critical_value: float


def _inference(
    inf: np.ndarray, clusters: np.ndarray, bootstrap: int, kind: str, seed: int, alpha: float
) -> _Inference:
    n = inf.shape[0]
    sums = _cluster_sums(inf, clusters)
    se_an = np.sqrt((sums**2).sum(axis=0)) / n
    if not bootstrap:
        return _Inference(se_an, se_an, float(stats.norm.ppf(1 - alpha / 2)))
    draws = _bootstrap_draws(inf, clusters, kind, bootstrap, seed)
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
    se = (q75 - q25) / _IQR_TO_SD
    ok = se > np.sqrt(np.finfo(float).eps) * 10 / np.sqrt(n)
    se = np.where(ok, se, np.nan)
    if ok.any():
        t_max = np.max(np.abs(draws[:, ok] / se[ok]), axis=1)
        crit = float(np.quantile(t_max, 1 - alpha, method="inverted_cdf"))
    else:
        crit = float(stats.norm.ppf(1 - alpha / 2))
    return _Inference(se_an, se, crit)


# ------------------------------------------------------------------------------ aggregation
def _weight_influence(
    keepers: np.ndarray, pg: np.ndarray, group_of_cell: np.ndarray, unit_group: np.ndarray
) -> np.ndarray:
    """Influence function of the cohort-share weights pg_k / Σ pg (n × len(keepers))."""
    ind = (unit_group[:, None] == group_of_cell[keepers][None, :]).astype(float) - pg[keepers]
    total = pg[keepers].sum()
    return ind / total - ind.sum(axis=1, keepdims=True) * (pg[keepers] / total**2)[None, :]


def _combine(
    att: np.ndarray,
    inf: np.ndarray,
    keepers: np.ndarray,
    pg: np.ndarray,
    group_of_cell: np.ndarray,
    unit_group: np.ndarray,
) -> tuple[float, np.ndarray]:
    w = pg[keepers] / pg[keepers].sum()
    est = float(att[keepers] @ w)
    wif = _weight_influence(keepers, pg, group_of_cell, unit_group)
    return est, inf[:, keepers] @ w + wif @ att[keepers]


@dataclass
class AggregatedEffects:
    """An aggregation of ATT(g,t): overall effect and effects by group, event time or period.

    Attributes
    ----------
    kind : {"simple", "group", "dynamic", "calendar"}
    overall, overall_se, overall_se_analytic : float
    overall_ci : tuple of float
        Pointwise interval of the overall effect.
    effects : pandas.DataFrame
        One row per group / event time / period (empty for ``simple``): ``estimate``, ``se``,
        ``se_analytic``, pointwise ``ci_low``/``ci_high`` and uniform ``band_low``/``band_high``.
    critical_value : float
        Critical value of the uniform band (from the multiplier bootstrap; the normal quantile
        without bootstrap, i.e. pointwise).
    influence : ndarray
        Influence functions per unit (n × rows of ``effects``, then the overall column).
    """

    provenance_ = provenance_alias("params")

    kind: str
    outcome: str
    overall: float
    overall_se: float
    overall_se_analytic: float
    overall_ci: tuple[float, float]
    effects: pd.DataFrame
    critical_value: float
    alpha: float
    influence: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """The overall effect with its interval, and how many rows the band excludes zero."""
        lo, hi = self.overall_ci
        level = f"{100 * (1 - self.alpha):.0f}%"
        off = 0
        if not self.effects.empty:
            off = int(((self.effects["band_low"] > 0) | (self.effects["band_high"] < 0)).sum())
        kind_ko = {
            "simple": "단순",
            "group": "집단별",
            "dynamic": "사건시점별",
            "calendar": "기간별",
        }
        if lang == "ko":
            text = (
                f"{kind_ko.get(self.kind, self.kind)} 집계 ATT({self.outcome}) = "
                f"{self.overall:+.4g} (SE {self.overall_se:.3g}, {level} 구간 "
                f"{lo:+.4g} ~ {hi:+.4g})."
            )
            if not self.effects.empty:
                text += f" 균일 신뢰대가 0을 제외하는 항목: {off}/{len(self.effects)}."
            return text
        text = (
            f"{self.kind.capitalize()} aggregation of ATT({self.outcome}): {self.overall:+.4g} "
            f"(SE {self.overall_se:.3g}, {level} CI {lo:+.4g} to {hi:+.4g})."
        )
        if not self.effects.empty:
            text += f" Uniform band excludes zero for {off} of {len(self.effects)} rows."
        return text

    def to_frame(self) -> pd.DataFrame:
        """The rows of ``effects`` followed by an ``overall`` row."""
        label = {"group": "group", "dynamic": "event_time", "calendar": "period"}.get(self.kind)
        rows = self.effects.assign(level=self.effects.index.astype(str)) if label else None
        overall = pd.DataFrame(
            [
                {
                    "level": "overall",
                    "estimate": self.overall,
                    "se": self.overall_se,
                    "se_analytic": self.overall_se_analytic,
                    "ci_low": self.overall_ci[0],
                    "ci_high": self.overall_ci[1],
                }
            ]
        )
        frame = pd.concat([rows, overall], ignore_index=True) if rows is not None else overall
        frame.insert(0, "aggregation", self.kind)
        return frame[["aggregation", "level", *[c for c in frame.columns[1:] if c != "level"]]]

    def plot(self, ax: Any = None) -> Any:
        """Effects with pointwise intervals and the uniform band (event-study style)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        e = self.effects
        if e.empty:
            ax.errorbar(
                [0],
                [self.overall],
                yerr=[[self.overall - self.overall_ci[0]], [self.overall_ci[1] - self.overall]],
                fmt="o",
                capsize=4,
            )
            ax.set_xticks([0], ["overall"])
        else:
            x = e.index.to_numpy(dtype=float)
            pre = x < 0 if self.kind == "dynamic" else np.zeros(len(x), bool)
            ax.fill_between(
                x,
                e["band_low"],
                e["band_high"],
                color="C0",
                alpha=0.15,
                label=f"{round(100 * (1 - self.alpha))}% uniform band",
                step=None,
            )
            for mask, colour, label in (
                (pre, "C3", "pre-treatment"),
                (~pre, "C0", "post-treatment"),
            ):
                if mask.any():
                    ax.errorbar(
                        x[mask],
                        e["estimate"][mask],
                        yerr=[
                            e["estimate"][mask] - e["ci_low"][mask],
                            e["ci_high"][mask] - e["estimate"][mask],
                        ],
                        fmt="o",
                        color=colour,
                        capsize=3,
                        label=label,
                    )
            if self.kind == "dynamic":
                ax.axvline(-0.5, color="grey", ls="--", lw=0.8)
                ax.set_xlabel("periods since treatment (e = t − g)")
            else:
                ax.set_xlabel(
                    {"group": "cohort (first treated period)", "calendar": "period"}[self.kind]
                )
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_ylabel(f"ATT on {self.outcome}")
        ax.legend(fontsize=8)
        return ax


@dataclass
class StaggeredResult:
    """Result of :func:`att_gt`: ATT(g,t) cells, influence functions, aggregations.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per (group, time): ``att``, ``se`` (bootstrap, or analytic without bootstrap),
        ``se_analytic``, ``ci_low``/``ci_high`` (pointwise), ``band_low``/``band_high`` (uniform),
        ``base_period``, ``post``, ``n_treated``, ``n_control``.
    influence : ndarray
        Influence function of each cell per unit (n_units × cells).
    units : pandas.Index
        Units in the rows of ``influence``.
    pretest : dict
        Wald test that all pre-treatment ATT(g,t) are 0: ``statistic``, ``df``, ``p_value``
        (analytic covariance; ``nan`` without pre-periods).
    critical_value : float
        Uniform-band critical value of the cells.
    excluded_units : list
        Units left out (always treated; exposed controls under a spillover rule).
    exposure : Exposure or None
    exposure_effect : StaggeredResult or None
    params : dict
        Parameters and ``dongne`` version.
    """

    provenance_ = provenance_alias("params")

    outcome: str
    cells: pd.DataFrame
    influence: np.ndarray
    units: pd.Index
    unit_group: np.ndarray
    clusters: np.ndarray
    pretest: dict[str, float]
    critical_value: float
    alpha: float
    bootstrap: int
    multiplier: str
    seed: int
    excluded_units: list[Any]
    exposure: Exposure | None
    exposure_effect: StaggeredResult | None
    params: dict[str, Any] = field(default_factory=dict)
    dropped_cells: list[tuple[float, float]] = field(default_factory=list)
    single_unit_cohorts: list[float] = field(default_factory=list)
    wild: WildBootstrap | None = None

    def aggregate(
        self,
        kind: Aggregation = "simple",
        *,
        min_e: float = -np.inf,
        max_e: float = np.inf,
        balance_e: int | None = None,
    ) -> AggregatedEffects:
        """Aggregate ATT(g,t) as R ``did::aggte``.

        It is long because it follows R ``did::aggte`` case by case (simple, group, dynamic,
        calendar), each aggregation a weighted combination of the same influence functions.

        Parameters
        ----------
        kind : {"simple", "group", "dynamic", "calendar"}
        min_e, max_e : float
            Event times kept (``dynamic``); ``max_e`` also caps post cells in ``simple`` and
            ``group``.
        balance_e : int, optional
            ``dynamic`` only: keep only cohorts observed for at least ``balance_e`` periods
            after treatment, so that the event-time composition does not change.
        """
        if kind not in ("simple", "group", "dynamic", "calendar"):
            raise SpecificationError(
                f"kind must be 'simple', 'group', 'dynamic' or 'calendar'. Got {kind!r}."
            )
        c = self.cells
        g = c["group"].to_numpy(dtype=float)
        t = c["time"].to_numpy(dtype=float)
        att = c["att"].to_numpy(dtype=float)
        n = len(self.units)
        groups = np.unique(g)
        pg_group = np.array([(self.unit_group == x).sum() / n for x in groups])
        pg = pg_group[np.searchsorted(groups, g)]
        inf = self.influence
        post = (g <= t) & (t <= g + max_e)
        labels: list[float] = []
        columns: list[np.ndarray] = []
        estimates: list[float] = []
        if kind == "simple":
            keep = np.flatnonzero(post)
            overall, overall_inf = _combine(att, inf, keep, pg, g, self.unit_group)
        elif kind == "group":
            g_att, g_inf = [], []
            for x in groups:
                which = np.flatnonzero((g == x) & post)
                if len(which) == 0:
                    continue
                labels.append(x)
                g_att.append(att[which].mean())
                g_inf.append(inf[:, which].mean(axis=1))
            estimates = g_att
            columns = g_inf
            ga = np.array(g_att)
            gi = np.column_stack(g_inf)
            keep = np.arange(len(labels))
            overall, overall_inf = _combine(
                ga,
                gi,
                keep,
                pg_group[np.searchsorted(groups, labels)],
                np.array(labels),
                self.unit_group,
            )
        elif kind == "dynamic":
            e_all = t - g
            include = np.ones(len(g), bool)
            if balance_e is not None:
                include = (t.max() - g) >= balance_e
            e_seq = np.unique(e_all[include])
            if balance_e is not None:
                e_seq = e_seq[(e_seq <= balance_e) & (e_seq >= balance_e - t.max() + t.min())]
            e_seq = e_seq[(e_seq >= min_e) & (e_seq <= max_e)]
            for e in e_seq:
                which = np.flatnonzero((e_all == e) & include)
                est, col = _combine(att, inf, which, pg, g, self.unit_group)
                labels.append(e)
                estimates.append(est)
                columns.append(col)
            post_e = np.array(labels) >= 0
            if not post_e.any():
                raise DataError("No event time e >= 0 is left; widen min_e/max_e or balance_e.")
            overall = float(np.mean(np.array(estimates)[post_e]))
            overall_inf = np.column_stack(columns)[:, post_e].mean(axis=1)
        else:
            for period in np.unique(t[t >= g.min()]):
                which = np.flatnonzero((t == period) & (g <= period))
                if len(which) == 0:
                    continue
                est, col = _combine(att, inf, which, pg, g, self.unit_group)
                labels.append(period)
                estimates.append(est)
                columns.append(col)
            overall = float(np.mean(estimates))
            overall_inf = np.column_stack(columns).mean(axis=1)
        matrix = np.column_stack([*columns, overall_inf])
        res = _inference(
            matrix, self.clusters, self.bootstrap, self.multiplier, self.seed, self.alpha
        )
        z = stats.norm.ppf(1 - self.alpha / 2)
        k = len(labels)
        band = (
            _inference(
                matrix[:, :k], self.clusters, self.bootstrap, self.multiplier, self.seed, self.alpha
            )
            if k
            else res
        )
        est = np.array(estimates, dtype=float)
        se = res.se[:k]
        effects = pd.DataFrame(
            {
                "estimate": est,
                "se": se,
                "se_analytic": res.se_analytic[:k],
                "ci_low": est - z * se,
                "ci_high": est + z * se,
                "band_low": est - band.critical_value * se,
                "band_high": est + band.critical_value * se,
            },
            index=pd.Index(
                labels,
                name={"group": "group", "dynamic": "event_time", "calendar": "period"}.get(
                    kind, "level"
                ),
            ),
        )
        o_se = float(res.se[-1])
        return AggregatedEffects(
            kind=kind,
            outcome=self.outcome,
            overall=float(overall),
            overall_se=o_se,
            overall_se_analytic=float(res.se_analytic[-1]),
            overall_ci=(overall - z * o_se, overall + z * o_se),
            effects=effects,
            critical_value=band.critical_value,
            alpha=self.alpha,
            influence=matrix,
            params=jsonable(
                {
                    **self.params,
                    "aggregation": kind,
                    "min_e": min_e,
                    "max_e": max_e,
                    "balance_e": balance_e,
                }
            ),
        )

    def to_frame(self) -> pd.DataFrame:
        """The ATT(g,t) cells (a copy)."""
        return self.cells.copy()

    def _pre_bands(self, lang: str) -> str:
        """Pre-treatment event-time effects with their bands, for the summary."""
        dyn = self.aggregate("dynamic").effects
        pre = dyn[dyn.index < 0]
        level = round(100 * (1 - self.alpha))
        kind = ("uniform", "동시") if self.bootstrap else ("pointwise (no bootstrap)", "점별")
        parts = [
            f"e = {e:g}: {r.estimate:+.3g} ({r.band_low:.3g} to {r.band_high:.3g})"
            for e, r in pre.iterrows()
        ]
        outside = int(((pre["band_low"] > 0) | (pre["band_high"] < 0)).sum())
        if lang == "ko":
            return (
                f"{level}% {kind[1]} 구간으로 "
                + "; ".join(parts).replace(" to ", " ~ ")
                + f". {len(pre)}개 중 {outside}개 구간이 0을 포함하지 않습니다."
            )
        return f"{'; '.join(parts)} ({level}% {kind[0]} bands; {outside} of {len(pre)} exclude 0)."

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Plain-language summary: overall effect, interval, meaning, pre-trend check.

        It is long because it writes one paragraph in two languages, sentence by sentence, each
        sentence depending on the case (wild bootstrap, pre-trend test, significance).

        With a two-period panel and fewer than :data:`~dongne.evaluate.did.FEW_CLUSTERS`
        clusters the interval, p-value and wording follow the wild cluster bootstrap
        (``wild``). Where no pre-trend Wald p-value is valid (singular covariance, one-unit
        cohorts) the reason is given and the pre-treatment effects by event time are listed
        with their bands instead.
        """
        agg = self.aggregate("simple")
        level = round(100 * (1 - self.alpha))
        lo, hi = agg.overall_ci
        sig = lo > 0 or hi < 0
        wild = self.wild
        n_clusters = int(self.clusters.max() + 1)
        if wild is not None:
            lo, hi = wild.ci
            sig = wild.p_value <= self.alpha
        pt = self.pretest
        has_pre = np.isfinite(pt["p_value"])
        p = self.params
        n_groups = self.cells["group"].nunique()
        two_periods = p.get("n_periods") == 2
        if lang == "ko":
            text = (
                f"Callaway–Sant'Anna 추정({p['method']}, 비교집단 "
                f"{'비처치' if p['control'] == 'never' else '아직 처치되지 않은'} 지역): 처치 후 "
                f"'{self.outcome}'의 평균 효과는 {agg.overall:+.4g}입니다 ({level}% 구간 "
                f"{lo:.4g} ~ {hi:.4g}"
                + (
                    f", p = {wild.p_value:.3g}, 와일드 클러스터 부트스트랩({wild.weights}, "
                    f"{wild.replications}회, 클러스터 {n_clusters}개)"
                    if wild is not None
                    else ""
                )
                + "). "
                + ("0과 통계적으로 구별됩니다. " if sig else "0과 구별되지 않습니다. ")
                + f"{n_groups}개 처치 시점 집단, {len(self.units)}개 지역. 가정: 정책이 없었다면 "
                "처치 집단과 비교 집단의 추세가 평행했을 것. "
            )
            if two_periods:
                text += "시점이 둘뿐이라 사전추세를 점검할 수 없습니다. "
                if wild is None and n_clusters < FEW_CLUSTERS:
                    text += (
                        f"클러스터가 {n_clusters}개로 적어 이 구간은 너무 좁을 수 있습니다 "
                        "(2x2 추정량의 와일드 부트스트랩과 비교하십시오). "
                    )
            if has_pre:
                text += (
                    f"사전기간 ATT가 모두 0이라는 왈드 검정: χ² = {pt['statistic']:.3g} "
                    f"(자유도 {int(pt['df'])}), p = {pt['p_value']:.3g} — "
                    + (
                        "사전추세 위배 증거가 있습니다."
                        if pt["p_value"] <= self.alpha
                        else "사전추세 위배 증거가 없습니다(평행추세를 증명하지는 않습니다)."
                    )
                )
            elif pt.get("n_cells", 0):
                text += (
                    f"사전추세 왈드 검정은 보고하지 않습니다(사전기간 ATT {pt['n_cells']}개의 "
                    f"공분산 계수 {pt['rank']}"
                    + (", 단일 지역 집단 포함" if self.single_unit_cohorts else "")
                    + "). 대신 사전기간 사건시간별 효과와 구간: "
                    + self._pre_bands("ko")
                )
            lonely = format_rows(f"{g:g}" for g in self.single_unit_cohorts)
            if self.single_unit_cohorts:
                text += (
                    f" 지역이 하나뿐인 처치 집단({lonely})의 구간은 그 지역 자체의 변동을 "
                    "반영하지 않아 너무 좁습니다."
                )
            if self.dropped_cells:
                text += (
                    " 공변량 중첩(overlap) 위배로 제외된 (g,t) 셀: "
                    f"{_cell_list(self.dropped_cells)}."
                )
        else:
            control = "never-treated" if p["control"] == "never" else "not-yet-treated"
            text = (
                f"Callaway & Sant'Anna ({p['method']}, {control} comparison areas): the average "
                f"effect of the policy on '{self.outcome}' after treatment is {agg.overall:+.4g} "
                f"({level}% interval {lo:.4g} to {hi:.4g}"
                + (
                    f", p = {wild.p_value:.3g}, wild cluster bootstrap ({wild.weights} weights, "
                    f"{wild.replications} draws) because there are only {n_clusters} clusters "
                    f"(fewer than {FEW_CLUSTERS}; Cameron, Gelbach & Miller 2008)"
                    if wild is not None
                    else ""
                )
                + "). "
                + (
                    "It is statistically distinguishable from no effect. "
                    if sig
                    else "It cannot be distinguished from no effect. "
                )
                + f"{n_groups} adoption cohorts, {len(self.units)} areas. Assumption: without the "
                "policy, treated and comparison areas would have followed parallel trends"
                + (" given the covariates" if p["covariates"] else "")
                + ". "
            )
            if two_periods:
                text += "Two periods only: parallel pre-trends cannot be checked. "
                if wild is None and n_clusters < FEW_CLUSTERS:
                    text += (
                        f"With only {n_clusters} clusters this interval may be too narrow; "
                        "compare with the 2x2 estimator and its wild cluster bootstrap. "
                    )
            if has_pre:
                text += (
                    f"Pre-trend check (Wald test that all pre-treatment ATT(g,t) are 0): "
                    f"chi2 = {pt['statistic']:.3g} on {int(pt['df'])} df, p = "
                    f"{pt['p_value']:.3g} — "
                    + (
                        "evidence against parallel pre-trends."
                        if pt["p_value"] <= self.alpha
                        else "no evidence against parallel pre-trends (this does not prove them)."
                    )
                )
            elif pt.get("n_cells", 0):
                text += (
                    f"No pre-trend Wald test is reported: {pt['reason']}. Pre-treatment effects "
                    "by event time instead: " + self._pre_bands("en")
                )
            if self.single_unit_cohorts:
                text += (
                    f" Cohort(s) {format_rows(f'{g:g}' for g in self.single_unit_cohorts)} have "
                    "one area each: their intervals leave out that area's own variation and are "
                    "too narrow."
                )
            if self.dropped_cells:
                text += (
                    f" Cells left out because overlap fails (propensity score >= {_PS_OVERLAP}): "
                    f"{_cell_list(self.dropped_cells)}."
                )
        if self.excluded_units:
            text += f" Units left out: {format_rows(self.excluded_units)}."
        if self.exposure is not None:
            ex = self.exposure
            text += f" Spillovers: {ex.rule.describe()}; exposed units: {len(ex.exposed)}."
            if self.exposure_effect is not None:
                e = self.exposure_effect.aggregate("simple")
                text += (
                    f" Effect on exposed areas: {e.overall:+.4g} ({level}% interval "
                    f"{e.overall_ci[0]:.4g} to {e.overall_ci[1]:.4g})."
                )
        return text.rstrip()

    def plot(self, ax: Any = None, **aggregate_options: Any) -> Any:
        """Event-study plot: dynamic effects with pre-trends, pointwise CIs and uniform band."""
        ax = self.aggregate("dynamic", **aggregate_options).plot(ax=ax)
        ax.set_title("Event study (Callaway & Sant'Anna)")
        return ax


def _cells_for(
    panel: Panel, control: Control, base_period: BasePeriod, anticipation: int
) -> list[tuple[float, float, float, np.ndarray, np.ndarray | None]]:
    """(g, t, base, treated mask, control mask) for every estimable cell.

    With a universal base period the base cell itself is listed with control mask ``None``:
    its ATT is 0 by construction (as in R ``did``), which anchors event-study plots.
    """
    periods = panel.periods
    g_unit = panel.first_treated.to_numpy(dtype=float)
    groups = np.unique(g_unit[np.isfinite(g_unit)])
    cells = []
    for g in groups:
        pre = periods[periods + anticipation < g]
        if len(pre) == 0:
            continue
        last_pre = pre[-1]
        treated = g_unit == g
        times = periods[1:] if base_period == "varying" else periods
        for i, t in enumerate(times):
            if base_period == "universal":
                base = last_pre
                if t == base:
                    cells.append((g, t, base, treated, None))
                    continue
            else:
                base = last_pre if g <= t else periods[i]
            horizon = max(t, base) + anticipation
            if control == "never":
                ctrl = np.isinf(g_unit)
            else:
                ctrl = (g_unit > horizon) & (g_unit != g)
            if not ctrl.any():
                continue
            cells.append((g, t, base, treated, ctrl))
    return cells


def _cell_list(cells: Sequence[tuple[float, float]]) -> str:
    return format_rows([f"(g={g:g}, t={t:g})" for g, t in cells])


def _warn_overlap(
    dropped: Sequence[tuple[float, float]], covs: Sequence[str], method: str, *, estimated: bool
) -> None:
    """Warn (or, when no cell is left, refuse) about cells dropped for lack of overlap."""
    text = (
        f"Overlap fails in {len(dropped)} (g,t) cell(s) {_cell_list(dropped)}: given the "
        f"covariates {list(covs)}, the propensity score of being in the cohort reaches "
        f"{_PS_OVERLAP} (the covariates separate the cohort from its comparison units), so "
        f"method={method!r} cannot weight them."
    )
    fix = (
        " Fix: use method='reg' (outcome regression needs no overlap), fewer covariates, or "
        "control='notyet' for more comparison units."
    )
    if not estimated:
        raise DataError(text + " No cell is left." + fix)
    warnings.warn(
        text + " They are left out of the cells and every aggregation, as moderndid does." + fix,
        DongneWarning,
        stacklevel=user_stacklevel(),
    )


def _single_unit_cohorts(g_unit: np.ndarray, cohorts: np.ndarray) -> list[float]:
    """Cohorts (among ``cohorts``) with exactly one unit."""
    return [float(g) for g in np.unique(cohorts) if (g_unit == g).sum() == 1]


def _pretest(
    att: np.ndarray,
    pre: np.ndarray,
    influence: np.ndarray,
    clusters: np.ndarray,
    cell_group: np.ndarray,
    single: Sequence[float],
) -> dict[str, Any]:
    """Wald test that all pre-treatment ATT(g,t) are 0, or the reason it is not reported.

    The statistic θ' V⁻¹ θ with V the (clustered) analytic covariance of the pre-treatment cells
    (those with a non-zero SE) is χ² with k degrees of freedom only if V has full rank k. As
    ``moderndid`` (0.2, ``att_gt``) and R ``did``, no test is reported from a singular V (rank
    by ``numpy.linalg.matrix_rank``: singular values below σ_max·k·ε count as zero). It is also
    withheld when a one-unit cohort has pre-treatment cells: their analytic variance leaves out
    that unit's own variation (its influence function is zero), so the test would over-reject.
    """
    k = int(pre.sum())
    out: dict[str, Any] = {
        "statistic": np.nan,
        "df": 0.0,
        "p_value": np.nan,
        "n_cells": k,
        "rank": 0,
        "reason": "",
    }
    if k == 0:
        out["reason"] = "there are no pre-treatment ATT(g,t) cells"
        return out
    sums = _cluster_sums(influence[:, pre], clusters)
    n = influence.shape[0]
    cov = sums.T @ sums / n**2
    rank = int(np.linalg.matrix_rank(cov))
    out["rank"] = rank
    reasons = []
    if rank < k:
        reasons.append(
            f"the covariance of the {k} pre-treatment ATT(g,t) is singular (rank {rank}), so "
            "a chi-square statistic on it has no valid reference distribution"
        )
    lonely = sorted(set(single) & set(cell_group[pre].tolist()))
    if lonely:
        reasons.append(
            f"cohort(s) {format_rows(f'{g:g}' for g in lonely)} have one unit each, and the "
            "variance of their pre-treatment ATT(g,t) leaves out that unit's own variation"
        )
    if reasons:
        out["reason"] = "; ".join(reasons)
        return out
    theta = att[pre]
    stat = float(theta @ np.linalg.solve(cov, theta))
    out.update(statistic=stat, df=float(k), p_value=float(stats.chi2.sf(stat, k)))
    return out


def _wild_two_periods(
    panel: Panel, att: float, bootstrap: int, alpha: float, seed: int
) -> WildBootstrap | None:
    """Wild cluster bootstrap of the 2×2 DiD that a two-period ATT(g,t) equals, or None.

    Used when clusters are fewer than :data:`~dongne.evaluate.did.FEW_CLUSTERS` (Cameron,
    Gelbach & Miller 2008; MacKinnon & Webb 2017), with Webb's six-point weights and at least
    9,999 draws. None when the 2×2 estimate differs from ``att`` (e.g. covariates).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DongneWarning)
        two = did_2x2(
            panel,
            bootstrap=max(bootstrap, _WILD_DRAWS),
            bootstrap_weights="webb",
            alpha=alpha,
            rng=seed,
        )
    if abs(two.estimate - att) > 1e-9 * max(1.0, abs(att)):
        return None
    return two.wild


def _checked_options(
    panel: Panel,
    control: str,
    method: str,
    base_period: str,
    anticipation: Any,
    alpha: float,
    covariates: Sequence[str] | None,
) -> tuple[str, ...]:
    """Refuse invalid options of :func:`att_gt`; return the covariates used."""
    if control not in ("never", "notyet"):
        raise SpecificationError(f"control must be 'never' or 'notyet'. Got {control!r}.")
    if method not in _CELL:
        raise SpecificationError(f"method must be 'dr', 'ipw' or 'reg'. Got {method!r}.")
    if base_period not in ("varying", "universal"):
        raise SpecificationError(
            f"base_period must be 'varying' or 'universal'. Got {base_period!r}."
        )
    if not isinstance(anticipation, (int, np.integer)) or anticipation < 0:
        raise SpecificationError(f"anticipation must be an int >= 0. Got {anticipation!r}.")
    if not 0 < alpha < 1:
        raise SpecificationError(f"alpha must be in (0, 1). Got {alpha!r}.")
    covs = tuple(panel.covariates if covariates is None else covariates)
    unknown = [c for c in covs if c not in panel.covariates]
    if unknown:
        raise SpecificationError(
            f"Covariate(s) {unknown} are not covariates of the panel ({list(panel.covariates)}). "
            "Fix: list them in panel_from_frame(covariates=...)."
        )
    return covs


def _without_first_period_units(
    panel: Panel, g_unit: np.ndarray, anticipation: int, excluded: list[Any]
) -> Panel:
    """The panel without units treated in the first period (no untreated base), with a warning.

    The units left out are appended to ``excluded``.
    """
    no_pre = panel.units[np.isfinite(g_unit) & (g_unit - anticipation <= panel.periods[0])]
    if len(no_pre):
        warnings.warn(
            f"{len(no_pre)} unit(s) are treated in the first period (or within the anticipation "
            f"window of it): {format_rows(no_pre)}. With no untreated base period their effect "
            "cannot be estimated; they are left out (listed in excluded_units), as R did does.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
        panel = panel.subset(
            panel.units.difference(no_pre, sort=False),
            note="Units treated in the first period left out.",
        )
        excluded.extend(no_pre)
    return panel


def _warn_thin_design(panel: Panel, g_unit: np.ndarray) -> tuple[list[float], bool]:
    """(one-unit cohorts, whether the panel has two periods), each with its warning."""
    treated_cohorts = g_unit[np.isfinite(g_unit)]
    single = _single_unit_cohorts(g_unit, treated_cohorts)
    if single:
        warnings.warn(
            f"Cohort(s) {format_rows(f'{g:g}' for g in single)} have one unit each. The "
            "analytic variance of their ATT(g,t) comes from the comparison units only (the one "
            "unit's influence function is zero), so their intervals are too narrow and no "
            "pre-trend Wald test is reported for them. Read their effects with caution, or pool "
            "them with a neighbouring cohort.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
    two_periods = panel.n_periods == 2
    if two_periods:
        warnings.warn(
            f"The panel has two periods ({format_rows(map(_fmt_period, panel.periods))}): no "
            "pre-treatment period is left to check parallel trends, and ATT(g,t) is the 2×2 "
            "difference-in-differences. Fix: add earlier periods to test pre-trends.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
    return single, two_periods


def _estimate_cells(
    panel: Panel, cells: list[tuple], covs: tuple[str, ...], method: str
) -> tuple[list[tuple], list[np.ndarray], list[tuple[float, float]]]:
    """ATT(g,t) of every cell with its influence function (scaled to all units).

    Returns one row (g, t, base, post, att, n treated, n comparison) and one influence column
    per estimated cell (cells without comparison units get a zero row and column), and the
    (g, t) of the cells dropped for lack of overlap.
    """
    y = panel.outcome_matrix()
    period_pos = {p: i for i, p in enumerate(panel.periods)}
    x_all = {c: panel.matrix(c) for c in covs}
    n = panel.n_units
    estimate = _CELL[method]
    rows = []
    columns = []
    dropped: list[tuple[float, float]] = []
    for g, t, base, treated, ctrl in cells:
        if ctrl is None:
            rows.append((g, t, base, False, 0.0, int(treated.sum()), 0))
            columns.append(np.zeros(n))
            continue
        valid = treated | ctrl
        it, ib = period_pos[t], period_pos[base]
        dy = (y[:, it] - y[:, ib])[valid]
        d = treated[valid].astype(float)
        early = min(it, ib)
        x = np.column_stack([np.ones(valid.sum())] + [x_all[c][valid, early] for c in covs])
        if covs:
            bad = collinear_columns(x[d == 0], ["(intercept)", *covs])
            if bad:
                raise DataError(
                    f"For cohort {g:g} in period {t:g}, covariate(s) {bad} are constant or "
                    f"collinear among the {int((d == 0).sum())} comparison units, so the outcome "
                    "regression cannot be fitted. Fix: drop them, or use control='notyet' for "
                    "more comparison units."
                )
        try:
            att, inf = estimate(dy, d, x)
        except _OverlapViolation:
            dropped.append((float(g), float(t)))
            continue
        column = np.zeros(n)
        column[valid] = inf * n / valid.sum()
        columns.append(column)
        rows.append((g, t, base, bool(g <= t), att, int(treated.sum()), int(ctrl.sum())))
    return rows, columns, dropped


def _cells_frame(table: np.ndarray, post_v: np.ndarray, res: Any, alpha: float) -> pd.DataFrame:
    """The ``cells`` table: ATT(g,t), standard errors, pointwise intervals and uniform band."""
    att_v = table[:, 3]
    z = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame(
        {
            "group": table[:, 0],
            "time": table[:, 1],
            "base_period": table[:, 2],
            "post": post_v,
            "att": att_v,
            "n_treated": table[:, 4].astype(int),
            "n_control": table[:, 5].astype(int),
            "se": res.se,
            "se_analytic": res.se_analytic,
            "ci_low": att_v - z * res.se,
            "ci_high": att_v + z * res.se,
            "band_low": att_v - res.critical_value * res.se,
            "band_high": att_v + res.critical_value * res.se,
        }
    )


@renamed(seed="rng")
def att_gt(
    panel: Panel,
    *,
    control: Control = "never",
    method: Method = "dr",
    covariates: Sequence[str] | None = None,
    base_period: BasePeriod = "varying",
    anticipation: int = 0,
    spillover: SpilloverRule | None = None,
    bootstrap: int = 999,
    multiplier: Multiplier = "mammen",
    alpha: float = 0.05,
    rng: int | np.random.Generator | None = None,
    scheduler: Any = None,
) -> StaggeredResult:
    """Callaway & Sant'Anna (2021) group-time average treatment effects ATT(g,t).

    Parameters
    ----------
    panel : Panel
        Balanced panel with the first treated period per unit.
    control : {"never", "notyet"}, default "never"
        Comparison units: never treated, or not yet treated by max(t, base) + anticipation.
    method : {"dr", "ipw", "reg"}, default "dr"
        Doubly robust (Sant'Anna & Zhao 2020), normalised IPW, or outcome regression.
    covariates : sequence of str, optional
        Default: the panel's covariates. Values in the earlier period of each comparison.
    base_period : {"varying", "universal"}, default "varying"
    anticipation : int, default 0
        Number of periods before g in which units may already react.
    spillover : SpilloverRule, optional
        Exclude exposed controls, estimate their own effect, or ignore (recorded).
    bootstrap : int, default 999
        Multiplier-bootstrap replications (0: analytic SEs and pointwise bands only).
    multiplier : {"mammen", "rademacher"}
    alpha : float, default 0.05
    rng : int, numpy.random.Generator or None, default None
        Seed of the bootstrap draws (``seed`` before 0.2); None means seed 0, a
        Generator is drawn from once (:func:`dongne._vocab.resolve_rng`).
    scheduler : None or "threads"
        The draws run in this process; other schedulers (``"processes"``, Dask) are
        refused with a :class:`~dongne.errors.SpecificationError`, never ignored.

    Returns
    -------
    StaggeredResult

    Raises
    ------
    DataError
        No usable comparison units, no cohort with a pre-period, collinear covariates.

    Examples
    --------
    >>> import pandas as pd
    >>> from dongne.evaluate.panel import panel_from_frame
    >>> df = pd.DataFrame({"u": [1, 1, 1, 2, 2, 2, 3, 3, 3], "t": [1, 2, 3] * 3,
    ...                    "y": [1.0, 2.0, 4.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0],
    ...                    "g": [3, 3, 3, 0, 0, 0, 0, 0, 0]})
    >>> r = att_gt(panel_from_frame(df, unit="u", time="t", outcome="y", first_treated="g"),
    ...            bootstrap=0)
    >>> r.cells[["group", "time", "att"]].to_dict("list")
    {'group': [3.0, 3.0], 'time': [2.0, 3.0], 'att': [0.5, 1.5]}
    """
    in_process_only(scheduler, "att_gt")
    seed = resolve_rng(rng)
    covs = _checked_options(panel, control, method, base_period, anticipation, alpha, covariates)
    options = dict(
        control=control,
        method=method,
        covariates=covs,
        base_period=base_period,
        anticipation=anticipation,
        bootstrap=bootstrap,
        multiplier=multiplier,
        alpha=alpha,
        seed=seed,
    )

    excluded: list[Any] = []
    g_unit = panel.first_treated.to_numpy(dtype=float)
    panel = _without_first_period_units(panel, g_unit, anticipation, excluded)
    exposure: Exposure | None = None
    exposure_effect = None
    if spillover is not None:
        exposure = find_exposed(panel, spillover)
        panel, side = split_for_spillover(panel, exposure)
        if spillover.handling != "ignore":
            excluded.extend(exposure.exposed)
        if side is not None:
            exposure_effect = att_gt(side, **_rng_options(options))  # type: ignore[arg-type]

    g_unit = panel.first_treated.to_numpy(dtype=float)
    if not np.isfinite(g_unit).any():
        raise DataError("No unit is treated within the panel's periods. Fix: check the treatment.")
    if control == "never" and not np.isinf(g_unit).any():
        raise DataError(
            "control='never' but no unit is never treated. Fix: use control='notyet' to compare "
            "with units not yet treated (the last cohort then only serves as a comparison)."
        )
    single, two_periods = _warn_thin_design(panel, g_unit)
    cells = _cells_for(panel, control, base_period, anticipation)
    if not any(cell[4] is not None for cell in cells):
        raise DataError(
            "No ATT(g,t) can be estimated: there are no comparison units (neither never-treated "
            "nor not-yet-treated ones) for any cohort and period. Fix: add untreated areas, or "
            "areas treated later than the periods studied."
        )
    rows, columns, dropped = _estimate_cells(panel, cells, covs, method)
    if dropped:
        _warn_overlap(dropped, covs, method, estimated=any(r[6] for r in rows))
    influence = np.column_stack(columns)
    table = np.array([r[:3] + r[4:] for r in rows], dtype=float)
    post_v = np.array([r[3] for r in rows], dtype=bool)
    att_v = table[:, 3]
    clusters = panel.clusters()
    res = _inference(influence, clusters, bootstrap, multiplier, seed, alpha)
    cells_df = _cells_frame(table, post_v, res, alpha)

    pretest = _pretest(
        att_v, ~post_v & (res.se_analytic > _SE_ZERO), influence, clusters, table[:, 0], single
    )
    n_clusters = int(clusters.max() + 1)
    wild = None
    if two_periods and n_clusters < FEW_CLUSTERS and len(att_v) == 1:
        wild = _wild_two_periods(panel, float(att_v[0]), bootstrap, alpha, seed)

    return StaggeredResult(
        outcome=panel.outcome,
        cells=cells_df,
        influence=influence,
        units=panel.units,
        unit_group=g_unit,
        clusters=clusters,
        pretest=pretest,
        critical_value=res.critical_value,
        alpha=alpha,
        bootstrap=bootstrap,
        multiplier=multiplier,
        seed=seed,
        excluded_units=excluded,
        exposure=exposure,
        exposure_effect=exposure_effect,
        dropped_cells=dropped,
        single_unit_cohorts=single,
        wild=wild,
        params=jsonable(
            {
                **options,
                "covariates": list(covs),
                "dropped_cells": [list(c) for c in dropped],
                "single_unit_cohorts": single,
                "n_periods": panel.n_periods,
                "wild_bootstrap": asdict(wild) if wild is not None else None,
                "cluster": panel.cluster or panel.unit,
                "excluded_units": excluded,
                "spillover": exposure.to_params() if exposure else None,
                "panel_notes": list(panel.notes),
                "estimator": "Callaway & Sant'Anna (2021) att_gt",
                "dongne_version": __version__,
            }
        ),
    )
