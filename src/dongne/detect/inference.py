"""Pseudo p-values from permutation counts, and multiple-testing corrections.

Conventions, the same for every statistic in dongne:

* ``greater``: p = (#{sim ≥ obs} + 1) / (R + 1); ``less``: p = (#{sim ≤ obs} + 1) / (R + 1).
* ``two-sided`` (default): p = min(1, 2 · min(p_greater, p_less)), the doubled smaller tail
  (as proposed in pysal/esda#514, which fixes esda's percentile rule returning p > 1).
* ``directed``: esda's legacy rule, for parity only — the smaller tail *without* doubling,
  p = (min(#≥, R − #≥) + 1)/(R + 1); it is a one-sided test on a tail chosen from the data and
  about half the two-sided value (pysal/esda#199).

Every p lies in [1/(R+1), 1] (two-sided: [2/(R+1), 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from dongne._validation import check_choice, check_probability

__all__ = [
    "ALTERNATIVES",
    "AUTO_PERMUTATIONS",
    "CORRECTIONS",
    "SignificanceFloor",
    "adjust_pvalues",
    "auto_permutations",
    "first_step_level",
    "permutation_pvalues",
    "significance_floor",
]

Alternative = Literal["two-sided", "greater", "less", "directed"]
Correction = Literal["fdr_bh", "fdr_by", "bonferroni", "geoda_fdr", "none"]
ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less", "directed")
CORRECTIONS: tuple[str, ...] = ("fdr_bh", "fdr_by", "bonferroni", "geoda_fdr", "none")


def permutation_pvalues(
    n_ge: np.ndarray, n_le: np.ndarray, permutations: int, alternative: Alternative
) -> np.ndarray:
    """Pseudo p-values from the counts of permuted statistics at or beyond the observed one.

    Parameters
    ----------
    n_ge, n_le : array of int
        Per test, how many of the ``permutations`` statistics were ≥ / ≤ the observed one.
    permutations : int
        R, the number of permutations.
    alternative : {"two-sided", "greater", "less", "directed"}

    Returns
    -------
    ndarray of float in [1/(R+1), 1].

    Examples
    --------
    >>> permutation_pvalues(np.array([0, 999]), np.array([999, 0]), 999, "two-sided")
    array([0.002, 0.002])
    >>> permutation_pvalues(np.array([0, 999]), np.array([999, 0]), 999, "greater")
    array([0.001, 1.   ])
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    r1 = permutations + 1.0
    p_greater = (np.asarray(n_ge, dtype=float) + 1.0) / r1
    p_less = (np.asarray(n_le, dtype=float) + 1.0) / r1
    if alternative == "greater":
        return p_greater
    if alternative == "less":
        return p_less
    if alternative == "two-sided":
        return np.minimum(1.0, 2.0 * np.minimum(p_greater, p_less))
    larger = np.asarray(n_ge, dtype=float)
    larger = np.where(permutations - larger < larger, permutations - larger, larger)
    return (larger + 1.0) / r1


def adjust_pvalues(
    p: np.ndarray, correction: Correction, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Adjust p-values for multiple testing; return ``(adjusted, significant)``.

    Parameters
    ----------
    p : array of float
        Raw p-values; NaN entries (islands, undefined areas) are ignored and stay NaN.
    correction : {"fdr_bh", "fdr_by", "bonferroni", "geoda_fdr", "none"}
        ``fdr_bh``: Benjamini & Hochberg (1995) step-up adjusted p-values (q-values);
        ``fdr_by``: Benjamini & Yekutieli (2001), valid under any dependence (de Castro &
        Singer 2006 recommend it for LISA); ``bonferroni``: min(1, m·p); ``geoda_fdr``:
        GeoDa's rule (``LISA::GetFDR``) — scan the sorted p upwards while p_(i) ≤ i·α/m and use
        the last passing i·α/m as the threshold (stops at the first failure, so it can be more
        conservative than BH); it gives no adjusted p-values, so ``adjusted`` holds the raw
        ones; ``none``: raw p-values.
    alpha : float
        Significance level for ``significant``.

    Returns
    -------
    adjusted : ndarray
    significant : ndarray of bool (False where p is NaN)

    References
    ----------
    Benjamini, Y. & Hochberg, Y. (1995). JRSS B 57(1):289–300.
    Benjamini, Y. & Yekutieli, D. (2001). Annals of Statistics 29(4):1165–1188.

    Examples
    --------
    >>> adj, sig = adjust_pvalues(np.array([0.01, 0.04, 0.03, 0.2]), "fdr_bh")
    >>> adj.round(4).tolist(), sig.tolist()
    ([0.04, 0.0533, 0.0533, 0.2], [True, False, False, False])
    """
    check_choice("correction", correction, CORRECTIONS)
    check_probability("alpha", alpha)
    p = np.asarray(p, dtype=float)
    ok = ~np.isnan(p)
    pv = p[ok]
    m = pv.size
    adjusted = np.full(p.shape, np.nan)
    if m == 0:
        return adjusted, np.zeros(p.shape, dtype=bool)
    if correction in ("fdr_bh", "fdr_by"):
        order = np.argsort(pv, kind="stable")
        ranked = pv[order] * m / np.arange(1, m + 1)
        if correction == "fdr_by":
            ranked *= np.sum(1.0 / np.arange(1, m + 1))
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        adj = np.empty(m)
        adj[order] = np.minimum(ranked, 1.0)
    elif correction == "bonferroni":
        adj = np.minimum(pv * m, 1.0)
    else:
        adj = pv.copy()
    adjusted[ok] = adj
    significant = np.zeros(p.shape, dtype=bool)
    if correction == "geoda_fdr":
        significant[ok] = pv <= geoda_fdr_threshold(pv, alpha)
    else:
        significant[ok] = adj <= alpha
    return adjusted, significant


def geoda_fdr_threshold(p: np.ndarray, alpha: float) -> float:
    """GeoDa's FDR cut-off: the last i·α/m reached by the ascending scan (α/m if none)."""
    pv = np.sort(np.asarray(p, dtype=float)[~np.isnan(p)])
    m = pv.size
    threshold = alpha / m
    for i, value in enumerate(pv, start=1):
        if value <= i * alpha / m:
            threshold = i * alpha / m
        else:
            break
    return threshold


@dataclass(frozen=True)
class SignificanceFloor:
    """Whether the permutation count allows significance under a correction.

    Attributes
    ----------
    min_p : float
        Smallest attainable pseudo p-value: 1/(R+1), or 2/(R+1) for two-sided tests.
    bonferroni_cutoff : float
        α/m, what the smallest p must reach under Bonferroni (and under FDR for a single
        discovery).
    reachable : bool
        ``min_p <= α/m``.
    permutations_needed : int
        Smallest R with ``min_p <= α/m``.
    message_en, message_ko : str
        Plain-language explanation (empty when ``reachable``).
    """

    min_p: float
    bonferroni_cutoff: float
    reachable: bool
    permutations_needed: int
    message_en: str
    message_ko: str


def significance_floor(
    n_tests: int,
    permutations: int,
    alternative: Alternative,
    correction: Correction,
    alpha: float = 0.05,
) -> SignificanceFloor:
    """Check whether R permutations can reach significance for ``n_tests`` corrected tests.

    With R permutations no pseudo p-value is below 1/(R+1) (2/(R+1) two-sided). Under
    Bonferroni every test needs p ≤ α/m; under FDR the first discovery needs the same, and
    later ones only k·α/m when k tests share the floor. When the floor is above α/m,
    Bonferroni can find nothing and FDR only finds clusters of many tests at the floor; the
    message says so and gives the R that lifts the limit: R ≥ c·m/α − 1 (c = 2 two-sided).

    Examples
    --------
    >>> f = significance_floor(423, 999, "two-sided", "fdr_bh")
    >>> f.reachable, f.permutations_needed
    (False, 16919)
    """
    c = 2 if alternative == "two-sided" else 1
    min_p = c / (permutations + 1)
    cutoff = alpha / max(n_tests, 1)
    needed = max(math.ceil(c * max(n_tests, 1) / alpha) - 1, 1)
    reachable = correction == "none" or min_p <= cutoff * (1 + 1e-12)
    en = ko = ""
    if not reachable:
        k = math.ceil(min_p / cutoff)
        name = {
            "bonferroni": "Bonferroni",
            "fdr_bh": "FDR (Benjamini–Hochberg)",
            "fdr_by": "FDR (Benjamini–Yekutieli)",
            "geoda_fdr": "GeoDa's FDR",
        }[correction]
        detail = (
            "nothing can be significant"
            if correction == "bonferroni"
            else f"an area can only be significant if at least {k} areas reach that smallest p"
        )
        en = (
            f"With {permutations} permutations the smallest possible {alternative} p-value is "
            f"{min_p:.4g}, but {name} over {n_tests} areas at alpha {alpha} asks for "
            f"{cutoff:.3g} or less: {detail}. Use at least {needed} permutations."
        )
        ko = (
            f"순열 {permutations}회로 얻을 수 있는 가장 작은 p값은 {min_p:.4g}인데, "
            f"{n_tests}개 지역에 다중검정 보정({name}, 유의수준 {alpha})을 하면 "
            f"{cutoff:.3g} 이하가 필요합니다. "
            f"순열을 {needed}회 이상으로 늘리세요."
        )
    return SignificanceFloor(min_p, cutoff, reachable, needed, en, ko)


#: The alternatives in Korean, for the summaries.
ALTERNATIVES_KO = {
    "two-sided": "양측 검정",
    "greater": "단측 검정(큰 쪽)",
    "less": "단측 검정(작은 쪽)",
    "directed": "방향 선택 단측 검정(esda 방식)",
}


#: The round permutation counts that ``permutations="auto"`` chooses from, smallest first.
AUTO_PERMUTATIONS: tuple[int, ...] = (999, 9_999, 19_999, 49_999, 99_999)


def auto_permutations(
    n_tests: int,
    alternative: Alternative = "two-sided",
    correction: Correction = "fdr_bh",
    alpha: float = 0.05,
) -> int:
    """The number of permutations that lets one area be significant after the correction.

    Rule: the smallest R of :data:`AUTO_PERMUTATIONS` (999, 9,999, 19,999, 49,999, 99,999)
    whose smallest attainable pseudo p-value, c/(R + 1) (c = 2 two-sided, else 1), is at most
    the level the most significant of ``n_tests`` tests must reach after the correction:
    α/m for Bonferroni, Benjamini–Hochberg and GeoDa's FDR (the first step of the step-up
    procedure), α/(m·Σ_{i≤m} 1/i) for Benjamini–Yekutieli, and α without correction. When
    even 99,999 permutations cannot reach it, 99,999 is returned (the fitted statistic's
    ``floor_`` then says what would be needed).

    Parameters
    ----------
    n_tests : int
        m, the number of areas tested (areas with a value and at least one neighbour).
    alternative : {"two-sided", "greater", "less", "directed"}
    correction : {"fdr_bh", "fdr_by", "bonferroni", "geoda_fdr", "none"}
    alpha : float

    Returns
    -------
    int
        One of :data:`AUTO_PERMUTATIONS`.

    Notes
    -----
    A Monte Carlo p-value (#{T_sim ≥ T_obs} + 1)/(R + 1) is never below 1/(R + 1) [1]_ [3]_,
    so with too few permutations a correction for m tests can find nothing however strong
    the pattern [3]_. Step-up procedures reject the smallest p first, and its threshold is
    the Bonferroni one α/m [2]_ (α/(m·c(m)) for Benjamini–Yekutieli [4]_). 999 permutations
    are kept wherever they suffice, so small maps stay fast.

    References
    ----------
    .. [1] Davison, A. C. & Hinkley, D. V. (1997). *Bootstrap Methods and their Application*,
       §4.2.5. Cambridge University Press.
    .. [2] Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B
       57(1):289–300.
    .. [3] Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be zero.
       Statistical Applications in Genetics and Molecular Biology 9(1):39.
    .. [4] Benjamini, Y. & Yekutieli, D. (2001). Annals of Statistics 29(4):1165–1188.

    Examples
    --------
    >>> auto_permutations(416)          # two-sided, FDR (BH) at 0.05: needs 2/(R+1) <= 0.05/416
    19999
    >>> auto_permutations(25)
    999
    >>> auto_permutations(416, correction="none")
    999
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    check_choice("correction", correction, CORRECTIONS)
    check_probability("alpha", alpha)
    c = 2 if alternative == "two-sided" else 1
    needed = first_step_level(n_tests, correction, alpha)
    for r in AUTO_PERMUTATIONS:
        if c / (r + 1) <= needed * (1 + 1e-12):
            return r
    return AUTO_PERMUTATIONS[-1]


def first_step_level(n_tests: int, correction: Correction, alpha: float) -> float:
    """The level the smallest of ``n_tests`` p-values must reach to be significant.

    α without correction; α/m for Bonferroni, Benjamini–Hochberg and GeoDa's FDR;
    α/(m·Σ_{i≤m} 1/i) for Benjamini–Yekutieli (see :func:`auto_permutations`).

    Examples
    --------
    >>> first_step_level(4, "fdr_bh", 0.05)
    0.0125
    """
    m = max(int(n_tests), 1)
    if correction == "none":
        return alpha
    if correction == "fdr_by":
        return alpha / (m * float(np.sum(1.0 / np.arange(1, m + 1))))
    return alpha / m
