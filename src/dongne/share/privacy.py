"""Privacy accounting for institution-level DP-FedAvg, and small-cell suppression.

Each institution clips its model update to L2 norm ``C`` and adds Gaussian noise of standard
deviation ``z · 2C`` to every coordinate before it leaves the institution (DP-FedAvg,
McMahan et al. 2018, applied locally by each silo). Any two clipped updates differ by at most
``2C`` in L2 norm, so each round is a Gaussian mechanism with noise multiplier ``z`` for *any*
change to the institution's table — one record or all of them — seen by anyone, the
coordinating server included. Over ``T`` rounds the privacy loss composes; two accountants
turn ``(z, T, δ)`` into ``ε``:

* ``"rdp"`` — Rényi DP: a Gaussian mechanism with multiplier ``z`` is
  ``(α, α/(2z²))``-RDP for every order ``α > 1`` (Mironov 2017); ``T`` rounds add up to
  ``α·c`` with ``c = T/(2z²)``. The conversion to ``(ε, δ)`` is the tighter one of
  Balle et al. (2020, Theorem 21) and Canonne, Kamath & Steinke (2020, Proposition 12),
  ``ε = α·c + log((α − 1)/α) − (log δ + log α)/(α − 1)``, minimised over ``α`` exactly: the
  derivative ``c − log(1/(αδ))/(α − 1)²`` has one root in ``(1, 1/δ)``. At the same
  noise it is 9–19 % below Mironov's ``c + 2·sqrt(c·log(1/δ))`` for ε from 8 down to 1
  (δ = 1e-5), i.e. 7.6–17.5 % less noise for the same ε, and it equals Google's
  ``dp_accounting.rdp.RdpAccountant`` (which minimises the same bound over a grid of
  orders) to 1e-6 on a fine grid. This is the moments accountant of Abadi et al. (2016)
  without subsampling: every institution takes part in every round, and the coordinator
  knows which did, so no amplification by sampling is claimed.
* ``"gdp"`` — exact: ``T`` Gaussian mechanisms compose to one with multiplier ``z/sqrt(T)``,
  i.e. ``μ``-Gaussian DP with ``μ = sqrt(T)/z`` (Dong, Roth & Su 2022), whose tight curve
  is ``δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2)`` (Balle & Wang 2018, Theorem 8).

References
----------
Abadi, M., et al. (2016). Deep learning with differential privacy. *CCS 2016*.
Mironov, I. (2017). Rényi differential privacy. *IEEE CSF 2017*, Proposition 3 and 7.
Balle, B., Barthe, G., Gaboardi, M., Hsu, J. & Sato, T. (2020). Hypothesis testing
interpretations and Rényi differential privacy. *AISTATS 2020*, Theorem 21.
Canonne, C. L., Kamath, G. & Steinke, T. (2020). The discrete Gaussian for differential
privacy. *NeurIPS 2020*, Proposition 12 (arXiv:2004.00010).
McMahan, H. B., Ramage, D., Talwar, K. & Zhang, L. (2018). Learning differentially private
recurrent language models. *ICLR 2018* (DP-FedAvg).
Balle, B. & Wang, Y.-X. (2018). Improving the Gaussian mechanism for differential privacy:
analytical calibration and optimal denoising. *ICML 2018*.
Dong, J., Roth, A. & Su, W. J. (2022). Gaussian differential privacy. *JRSS B* 84(1):3–37.
Dwork, C. & Roth, A. (2014). *The Algorithmic Foundations of Differential Privacy*, Thm A.1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import norm

from dongne.errors import SpecificationError

__all__ = [
    "ACCOUNTANTS",
    "OUTSIDE_EPSILON_LABELS",
    "clip_update",
    "epsilon_spent",
    "epsilon_spent_rounds",
    "format_upper_bound",
    "noise_multiplier_for",
    "suppress_small_cells",
]

ACCOUNTANTS = ("rdp", "gdp")

#: What can leave an institution of a DP run outside ε, as recorded in
#: ``FederatedResult.privacy["outside_epsilon"]`` and listed on the model card.
OUTSIDE_EPSILON_LABELS = {
    "en": {
        "row_counts": "each institution's row count",
        "standardisation_sums": "its sums and sums of squares of the features and target "
        "(once, for standardisation)",
        "participation": "which rounds it answered",
        "failure_messages": "the error message of an institution that failed",
    },
    "ko": {
        "row_counts": "기관별 행 수",
        "standardisation_sums": "특성과 목표변수의 합과 제곱합(표준화용, 한 번)",
        "participation": "응답한 라운드",
        "failure_messages": "실패한 기관의 오류 메시지",
    },
}


def _check_budget(epsilon: float | None, delta: float) -> None:
    if epsilon is not None and not (np.isfinite(epsilon) and epsilon > 0):
        raise SpecificationError(
            f"epsilon must be a positive number (the privacy budget); got {epsilon!r}. "
            "Fix: pass e.g. epsilon=1, 4 or 8 (smaller = more private, more noise), or "
            "epsilon=None to train without differential privacy."
        )
    if not (0 < delta < 1):
        raise SpecificationError(
            f"delta must be in (0, 1); got {delta!r}. Fix: use a value well below "
            "1 / (number of records), e.g. delta=1e-5."
        )


def _check_accountant(accountant: str) -> None:
    if accountant not in ACCOUNTANTS:
        raise SpecificationError(
            f"accountant must be one of {ACCOUNTANTS}; got {accountant!r}. "
            'Fix: use "rdp" (Rényi DP, standard) or "gdp" (exact for the Gaussian mechanism).'
        )


def epsilon_spent(
    noise_multiplier: float, rounds: int, delta: float, accountant: str = "rdp"
) -> float:
    """Privacy loss ε after ``rounds`` Gaussian releases with multiplier ``noise_multiplier``.

    Parameters
    ----------
    noise_multiplier : float
        ``z`` = noise standard deviation / L2 sensitivity (> 0).
    rounds : int
        Number of noisy releases by the institution (rounds it took part in).
    delta : float
        Target δ in (0, 1).
    accountant : {"rdp", "gdp"}
        See the module docstring.

    Returns
    -------
    float
        ε such that the releases are (ε, δ)-differentially private; 0 when ``rounds`` is 0.

    Examples
    --------
    >>> round(epsilon_spent(1.0, 1, 1e-5), 4)        # Mironov's conversion: 5.2985
    4.7284
    >>> epsilon_spent(1.0, 1, 1e-5, "gdp") < epsilon_spent(1.0, 1, 1e-5, "rdp")
    True
    """
    _check_budget(None, delta)
    _check_accountant(accountant)
    if not noise_multiplier > 0:
        raise SpecificationError(
            f"noise_multiplier must be > 0; got {noise_multiplier!r}. Fix: use a positive "
            "multiplier, or derive it from epsilon with noise_multiplier_for()."
        )
    return _epsilon_from_precision(max(rounds, 0) / noise_multiplier**2, delta, accountant)


def epsilon_spent_rounds(
    noise_multipliers: Sequence[float], delta: float, accountant: str = "rdp"
) -> float:
    """Privacy loss ε after Gaussian releases whose noise multipliers differ by round.

    Used where the effective multiplier of a round depends on how many institutions took
    part (distributed noise under secure aggregation: fewer institutions, less noise in the
    sum). Both accountants compose through ``s = Σ_t 1/z_t²``: RDP gives
    ``(α, α·s/2)``-RDP, converted as in the module docstring; GDP gives ``μ = sqrt(s)``.

    Examples
    --------
    >>> epsilon_spent_rounds([2.0, 2.0, 2.0], 1e-5) == epsilon_spent(2.0, 3, 1e-5)
    True
    """
    _check_budget(None, delta)
    _check_accountant(accountant)
    z = np.asarray(noise_multipliers, dtype=float)
    if z.size and not np.all(z > 0):
        raise SpecificationError(f"noise multipliers must be > 0; got {z.tolist()}.")
    return _epsilon_from_precision(float(np.sum(1.0 / z**2)), delta, accountant)


def _epsilon_from_precision(s: float, delta: float, accountant: str) -> float:
    # s = Σ_t 1/z_t² (T/z² for a constant multiplier)
    if s <= 0:
        return 0.0
    if accountant == "rdp":
        return _rdp_epsilon(s / 2.0, delta)
    mu = math.sqrt(s)

    def excess(eps: float) -> float:
        return _gdp_delta(eps, mu) - delta

    if excess(0.0) <= 0:
        return 0.0
    hi = 1.0
    while excess(hi) > 0:
        hi *= 2.0
    return float(brentq(excess, 0.0, hi, xtol=1e-12))


def _rdp_epsilon(c: float, delta: float) -> float:
    """ε of a mechanism that is ``(α, α·c)``-RDP for all ``α > 1``, at ``δ``.

    Balle et al. (2020, Thm 21) / Canonne et al. (2020, Prop. 12):
    ``ε(α) = α·c + log1p(−1/α) − log(δ·α)/(α − 1)``; its derivative
    ``c − log(1/(αδ))/(α − 1)²`` is increasing in ``α`` and changes sign once in
    ``(1, 1/δ)``, at the minimiser. When ``δ² > 1 − e^{−c}`` the KL bound (order 1) already
    gives ε = 0, as in ``dp_accounting``.
    """
    log_inv_delta = -math.log(delta)
    if -math.expm1(-c) < delta * delta:
        return 0.0

    def slope(alpha: float) -> float:  # (α − 1)² · dε/dα
        return c * (alpha - 1.0) ** 2 - log_inv_delta + math.log(alpha)

    # slope(1⁺) = −log(1/δ) < 0 < c·(1/δ − 1)² = slope(1/δ)
    alpha = float(brentq(slope, 1.0 + 1e-12, 1.0 / delta, xtol=1e-14, rtol=1e-15, maxiter=500))
    eps = alpha * c + math.log1p(-1.0 / alpha) - math.log(delta * alpha) / (alpha - 1.0)
    return float(max(eps, 0.0))


def _gdp_delta(eps: float, mu: float) -> float:
    # δ(ε) of μ-GDP; the second term via logs to avoid overflow of e^ε for large ε
    first = norm.cdf(-eps / mu + mu / 2.0)
    second = math.exp(eps + norm.logcdf(-eps / mu - mu / 2.0))
    return float(first - second)


def noise_multiplier_for(
    epsilon: float, delta: float, rounds: int, accountant: str = "rdp"
) -> float:
    """Smallest noise multiplier ``z`` whose ``rounds`` releases spend at most ``epsilon``.

    A root search on the accountant's curve, bracketed above by Mironov's closed form
    ``z = sqrt(T / (2c))``, ``c = (sqrt(log(1/δ) + ε) − sqrt(log(1/δ)))²`` (both accountants
    are tighter than it, so they need less noise); the root is then nudged up until
    :func:`epsilon_spent` is at most ``epsilon``, never above it.

    Raises
    ------
    SpecificationError
        If ``epsilon <= 0``, ``delta`` is outside (0, 1) or ``rounds < 1``.

    Examples
    --------
    >>> z = noise_multiplier_for(4.0, 1e-5, rounds=20)
    >>> round(epsilon_spent(z, 20, 1e-5), 10)
    4.0
    >>> epsilon_spent(z, 20, 1e-5) <= 4.0
    True
    """
    _check_budget(epsilon, delta)
    _check_accountant(accountant)
    if rounds < 1:
        raise SpecificationError(f"rounds must be >= 1; got {rounds!r}.")
    log_inv_delta = math.log(1.0 / delta)
    c = (math.sqrt(log_inv_delta + epsilon) - math.sqrt(log_inv_delta)) ** 2
    z_mironov = math.sqrt(rounds / (2.0 * c))

    def excess(z: float) -> float:
        return epsilon_spent(z, rounds, delta, accountant) - epsilon

    z = float(brentq(excess, z_mironov * 1e-3, z_mironov, xtol=1e-14, rtol=1e-15))
    while excess(z) > 0:  # the root may sit a few ulps on the unsafe side
        z *= 1.0 + 1e-14
    return z


def format_upper_bound(value: float, digits: int = 3) -> str:
    """``value`` rounded *up* to ``digits`` significant digits, as text.

    An upper bound (ε, δ) must never be printed below its value: ``3.3337`` is shown as
    ``3.34``, not ``3.33``. The float's shortest decimal representation is rounded
    towards +∞, so a value that is exactly ``4.0`` stays ``4``.

    Examples
    --------
    >>> format_upper_bound(3.3337), format_upper_bound(4.0), format_upper_bound(1e-5)
    ('3.34', '4', '0.00001')
    >>> format_upper_bound(12.3401), format_upper_bound(1234.5)
    ('12.4', '1240')
    """
    if not math.isfinite(value) or value == 0:
        return f"{value:g}"
    exact = Decimal(repr(float(value)))
    step = Decimal(1).scaleb(exact.adjusted() - digits + 1)
    rounded = exact.quantize(step, rounding=ROUND_CEILING).normalize()
    return format(rounded, "f") if rounded.adjusted() >= -6 else format(rounded, "g")


def clip_update(update: np.ndarray, clip_norm: float) -> np.ndarray:
    """Scale ``update`` down to L2 norm ``clip_norm`` if it is longer (unchanged otherwise).

    Examples
    --------
    >>> np.round(clip_update(np.array([3.0, 4.0]), 1.0), 12).tolist()
    [0.6, 0.8]
    """
    norm_ = float(np.linalg.norm(update))
    if norm_ <= clip_norm:
        return update
    return update * (clip_norm / norm_)


def suppress_small_cells(
    frame: pd.DataFrame, count_column: str = "n", k: int = 5, columns: list[str] | None = None
) -> pd.DataFrame:
    """Hide every statistic computed from fewer than ``k`` records (statistical disclosure).

    In rows whose ``count_column`` is below ``k`` the count becomes the label ``"<k"`` and
    the ``columns`` (default: every other column except string labels) become missing, as
    statistical agencies do for published tables, maps and model-card metrics.

    Parameters
    ----------
    frame : DataFrame
    count_column : str
        Column with the number of records behind each row.
    k : int
        Threshold (default 5): counts 1–4 are hidden; 0 is hidden too.
    columns : list of str, optional
        Statistics to blank in suppressed rows.

    Examples
    --------
    >>> t = pd.DataFrame({"gu": ["A", "B"], "n": [3, 40], "rmse": [1.2, 0.8]})
    >>> suppress_small_cells(t).to_dict("list")
    {'gu': ['A', 'B'], 'n': ['<5', '40'], 'rmse': [nan, 0.8]}
    """
    if count_column not in frame.columns:
        raise SpecificationError(
            f"count_column {count_column!r} is not a column of the table "
            f"(columns: {list(frame.columns)}). Fix: name the column holding record counts."
        )
    if k < 1:
        raise SpecificationError(f"k must be >= 1; got {k!r}.")
    out = frame.copy()
    counts = pd.to_numeric(out[count_column], errors="raise")
    small = (counts < k).to_numpy()
    if columns is None:
        columns = [
            c
            for c in out.columns
            if c != count_column and pd.api.types.is_numeric_dtype(out[c].dtype)
        ]
    for c in columns:
        out[c] = out[c].astype(float)
        out.loc[small, c] = np.nan
    out[count_column] = [f"<{k}" if s else str(int(v)) for s, v in zip(small, counts, strict=True)]
    return out
