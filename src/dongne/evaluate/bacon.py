"""Goodman-Bacon decomposition: which 2×2 comparisons make up the TWFE estimate.

With staggered adoption, the two-way fixed effects coefficient β̂ (:func:`dongne.evaluate.did.twfe`
without covariates) is exactly a weighted average of all 2×2 DiD comparisons between timing
groups (Goodman-Bacon 2021, Theorem 1):

* **treated vs never treated** (k vs U), weight
  s_kU = (n_k + n_U)² n_kU(1 − n_kU) D̄_k(1 − D̄_k) / V̂ᴰ;
* **earlier vs later treated**, the later group as control before it is treated (k vs ℓ),
  s = ((n_k + n_ℓ)(1 − D̄_ℓ))² n_kℓ(1 − n_kℓ) (D̄_k − D̄_ℓ)/(1 − D̄_ℓ) · (1 − D̄_k)/(1 − D̄_ℓ) / V̂ᴰ;
* **later vs earlier treated**, the *already treated* earlier group as control (ℓ vs k) — the
  "forbidden" comparison: s = ((n_k + n_ℓ)D̄_k)² n_kℓ(1 − n_kℓ) (D̄_ℓ/D̄_k)(D̄_k − D̄_ℓ)/D̄_k / V̂ᴰ;

where n are group shares of units, D̄ the share of periods a group is treated, n_kℓ = n_k/(n_k +
n_ℓ) and V̂ᴰ the variance of the two-way demeaned treatment. The weights sum to 1 and
Σ s·β̂₂ₓ₂ = β̂ exactly in a balanced panel. When effects grow over time the forbidden
comparisons subtract part of the earlier group's effect, which is why β̂ can differ from the
Callaway & Sant'Anna average (:func:`dongne.evaluate.staggered.att_gt`).

References
----------
.. [1] Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
   *Journal of Econometrics* 225(2):254–277.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dongne import __version__
from dongne._vocab import Lang, bilingual, provenance_alias
from dongne._warnings import user_stacklevel
from dongne.errors import DataError, DongneWarning, format_rows
from dongne.evaluate.panel import Panel
from dongne.io.write import jsonable

__all__ = ["BaconDecomposition", "bacon_decomposition"]

TREATED_VS_NEVER = "treated vs never treated"
EARLY_VS_LATE = "earlier vs later treated"
LATE_VS_EARLY = "later vs earlier treated (forbidden)"


@dataclass
class BaconDecomposition:
    """The 2×2 comparisons behind a TWFE estimate.

    Attributes
    ----------
    comparisons : pandas.DataFrame
        One row per comparison: ``type``, ``treated`` and ``control`` groups (first treated
        period; ``inf`` = never), ``estimate`` (2×2 DiD) and ``weight``.
    twfe : float
        The TWFE coefficient, = Σ weight · estimate.
    excluded_units : list
        Units treated from the first period on (left out, as in :func:`~dongne.evaluate.did.twfe`).
    params : dict
    """

    provenance_ = provenance_alias("params")

    outcome: str
    comparisons: pd.DataFrame
    twfe: float
    excluded_units: list[Any]
    params: dict[str, Any] = field(default_factory=dict)

    def by_type(self) -> pd.DataFrame:
        """Total weight and weighted-average estimate per comparison type."""
        c = self.comparisons
        out = c.groupby("type", sort=False).apply(
            lambda d: pd.Series(
                {
                    "weight": d["weight"].sum(),
                    "estimate": np.average(d["estimate"], weights=d["weight"])
                    if d["weight"].sum() > 0
                    else np.nan,
                    "comparisons": len(d),
                }
            ),
            include_groups=False,
        )
        return out

    def to_frame(self) -> pd.DataFrame:
        """The comparisons (a copy)."""
        return self.comparisons.copy()

    @bilingual
    def summary(self, lang: Lang = "en", cs_att: float | None = None) -> str:
        """Plain-language explanation of where the TWFE estimate comes from.

        Parameters
        ----------
        lang : {"en", "ko"}
        cs_att : float, optional
            The Callaway & Sant'Anna simple ATT, to explain the gap between the two.
        """
        t = self.by_type()
        forbidden = t.loc[LATE_VS_EARLY] if LATE_VS_EARLY in t.index else None
        clean = self.comparisons[self.comparisons["type"] != LATE_VS_EARLY]
        clean_avg = (
            float(np.average(clean["estimate"], weights=clean["weight"]))
            if len(clean) and clean["weight"].sum() > 0
            else np.nan
        )
        parts = "; ".join(
            f"{k}: weight {r['weight']:.3f}, average {r['estimate']:+.4g}" for k, r in t.iterrows()
        )
        if lang == "ko":
            text = (
                f"TWFE 추정치 {self.twfe:+.4g}는 {len(self.comparisons)}개의 2×2 비교의 "
                "가중평균입니다 "
                f"({parts}). "
            )
            if forbidden is not None and forbidden["weight"] > 0:
                text += (
                    f"가중치의 {100 * forbidden['weight']:.1f}%는 이미 처치된 지역을 "
                    "비교집단으로 쓰는 '금지된' 비교에서 옵니다. 효과가 시간에 따라 커지면 "
                    "이 비교는 앞선 집단의 효과를 "
                    "빼게 되어 TWFE가 편향됩니다. 깨끗한 비교만의 평균은 "
                    f"{clean_avg:+.4g}입니다."
                )
            if cs_att is not None:
                text += f" Callaway–Sant'Anna 평균효과는 {cs_att:+.4g}입니다."
            return text
        text = (
            f"The TWFE estimate {self.twfe:+.4g} is a weighted average of "
            f"{len(self.comparisons)} simple 2×2 comparisons ({parts}). "
        )
        if forbidden is not None and forbidden["weight"] > 0:
            text += (
                f"{100 * forbidden['weight']:.1f}% of the weight comes from 'forbidden' "
                "comparisons "
                "that use already-treated areas as controls. If the effect changes over time, "
                "those comparisons subtract part of the earlier areas' effect and bias TWFE "
                f"(they average {forbidden['estimate']:+.4g}); the clean comparisons alone "
                f"average {clean_avg:+.4g}. "
            )
        else:
            text += "No comparison uses already-treated areas as controls, so TWFE is not "
            text += "contaminated by changing effects through this channel. "
        if cs_att is not None:
            gap = self.twfe - cs_att
            text += (
                f"The Callaway & Sant'Anna average effect is {cs_att:+.4g} (difference "
                f"{gap:+.4g}): it uses only clean comparisons and weights cohorts by size, "
                "whereas TWFE weights comparisons by group size and treatment-timing variance."
            )
        return text

    def plot(self, ax: Any = None) -> Any:
        """Scatter of weight vs 2×2 estimate by comparison type, with the TWFE line."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        markers = {TREATED_VS_NEVER: "o", EARLY_VS_LATE: "^", LATE_VS_EARLY: "x"}
        for kind, d in self.comparisons.groupby("type", sort=False):
            ax.scatter(d["weight"], d["estimate"], marker=markers[str(kind)], label=str(kind))
        ax.axhline(self.twfe, color="grey", ls="--", lw=0.8, label=f"TWFE = {self.twfe:.4g}")
        ax.set_xlabel("weight")
        ax.set_ylabel(f"2×2 DiD estimate ({self.outcome})")
        ax.legend(fontsize=8)
        return ax


def bacon_decomposition(panel: Panel) -> BaconDecomposition:
    """Decompose the TWFE estimate (no covariates) into its 2×2 comparisons.

    Parameters
    ----------
    panel : Panel
        Balanced panel with staggered binary treatment; covariates are ignored.

    Returns
    -------
    BaconDecomposition

    Raises
    ------
    DataError
        Fewer than two timing groups (nothing to compare).
    """
    excluded = list(panel.always_treated())
    if excluded:
        warnings.warn(
            f"{len(excluded)} unit(s) treated from the first period on are left out, as in twfe: "
            f"{format_rows(excluded)}.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
        panel = panel.subset(panel.units.difference(excluded, sort=False))
    y = panel.outcome_matrix()
    g = panel.first_treated.to_numpy(dtype=float)
    periods = panel.periods
    n_units, n_periods = y.shape
    cohorts = np.unique(g[np.isfinite(g)])
    has_never = bool(np.isinf(g).any())
    if len(cohorts) + has_never < 2 or len(cohorts) == 0:
        raise DataError(
            "The decomposition needs treated units and at least one other timing group "
            "(never-treated units or another cohort). Fix: check the treatment column."
        )
    d = panel.treatment_matrix()
    dd = d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()
    var_d = float((dd**2).mean())
    share = {c: float((g == c).mean()) for c in cohorts}
    dbar = {c: float((periods >= c).mean()) for c in cohorts}
    mean_y = {c: y[g == c].mean(axis=0) for c in cohorts}

    def diff(a: np.ndarray, b: np.ndarray, post: np.ndarray, pre: np.ndarray) -> float:
        return float((a[post].mean() - a[pre].mean()) - (b[post].mean() - b[pre].mean()))

    rows = []
    if has_never:
        nu = float(np.isinf(g).mean())
        yu = y[np.isinf(g)].mean(axis=0)
        for k in cohorts:
            s = nu + share[k]
            nk = share[k] / s
            w = s**2 * nk * (1 - nk) * dbar[k] * (1 - dbar[k]) / var_d
            post = periods >= k
            rows.append((TREATED_VS_NEVER, k, np.inf, diff(mean_y[k], yu, post, ~post), w))
    for i, k in enumerate(cohorts):
        for ell in cohorts[i + 1 :]:
            s = share[k] + share[ell]
            nk = share[k] / s
            dk, dl = dbar[k], dbar[ell]
            w_early = (
                (s * (1 - dl)) ** 2 * nk * (1 - nk) * (dk - dl) / (1 - dl) * (1 - dk) / (1 - dl)
            )
            w_late = (s * dk) ** 2 * nk * (1 - nk) * (dl / dk) * (dk - dl) / dk
            window = periods < ell
            est_early = diff(
                mean_y[k][window], mean_y[ell][window], periods[window] >= k, periods[window] < k
            )
            window = periods >= k
            est_late = diff(
                mean_y[ell][window],
                mean_y[k][window],
                periods[window] >= ell,
                periods[window] < ell,
            )
            rows.append((EARLY_VS_LATE, k, ell, est_early, w_early / var_d))
            rows.append((LATE_VS_EARLY, ell, k, est_late, w_late / var_d))
    comparisons = pd.DataFrame(rows, columns=["type", "treated", "control", "estimate", "weight"])
    yy = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    beta = float((dd * yy).sum() / (dd**2).sum())
    return BaconDecomposition(
        outcome=panel.outcome,
        comparisons=comparisons,
        twfe=beta,
        excluded_units=excluded,
        params=jsonable(
            {
                "method": "goodman_bacon_2021",
                "n_units": n_units,
                "n_periods": n_periods,
                "excluded_units": excluded,
                "dongne_version": __version__,
            }
        ),
    )
