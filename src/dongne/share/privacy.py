"""Privacy accounting for institution-level DP-FedAvg, and small-cell suppression.

Each institution clips its model update to L2 norm ``C`` and adds Gaussian noise of standard
deviation ``z · 2C`` to every coordinate before it leaves the institution (DP-FedAvg,
McMahan et al. 2018, applied locally by each silo). Any two clipped updates differ by at most
``2C`` in L2 norm, so each round is a Gaussian mechanism with noise multiplier ``z`` for *any*
change to the institution's table — one record or all of them — seen by anyone, the
coordinating server included. Over ``T`` rounds the privacy loss composes; two accountants
turn ``(z, T, δ)`` into ``ε``:

* ``"rdp"`` — Rényi DP (Mironov 2017): a Gaussian mechanism with multiplier ``z`` is
  ``(α, α/(2z²))``-RDP for every order ``α > 1``; ``T`` rounds add up to ``α·T/(2z²)``;
  conversion ``ε = RDP(α) + log(1/δ)/(α − 1)`` minimised over ``α`` in closed form:
  ``ε = c + 2·sqrt(c·log(1/δ))`` with ``c = T/(2z²)``. This is the moments accountant of
  Abadi et al. (2016) without subsampling (every institution takes part in every round).
* ``"gdp"`` — exact: ``T`` Gaussian mechanisms compose to one with multiplier ``z/sqrt(T)``,
  i.e. ``μ``-Gaussian DP with ``μ = sqrt(T)/z`` (Dong, Roth & Su 2022), whose tight curve
  is ``δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2)`` (Balle & Wang 2018, Theorem 8).

References
----------
Abadi, M., et al. (2016). Deep learning with differential privacy. *CCS 2016*.
Mironov, I. (2017). Rényi differential privacy. *IEEE CSF 2017*, Proposition 3 and 7.
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

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import norm

from dongne.errors import SpecificationError

__all__ = [
    "ACCOUNTANTS",
    "clip_update",
    "epsilon_spent",
    "epsilon_spent_rounds",
    "noise_multiplier_for",
    "suppress_small_cells",
]

ACCOUNTANTS = ("rdp", "gdp")


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
    >>> round(epsilon_spent(1.0, 1, 1e-5), 4)        # 0.5 + 2·sqrt(0.5·ln 1e5)
    5.2985
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
    ``c = s/2`` in ``ε = c + 2·sqrt(c·log(1/δ))``, GDP gives ``μ = sqrt(s)``.

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
        c = s / 2.0
        return float(c + 2.0 * math.sqrt(c * math.log(1.0 / delta)))
    mu = math.sqrt(s)

    def excess(eps: float) -> float:
        return _gdp_delta(eps, mu) - delta

    if excess(0.0) <= 0:
        return 0.0
    hi = 1.0
    while excess(hi) > 0:
        hi *= 2.0
    return float(brentq(excess, 0.0, hi, xtol=1e-12))


def _gdp_delta(eps: float, mu: float) -> float:
    # δ(ε) of μ-GDP; the second term via logs to avoid overflow of e^ε for large ε
    first = norm.cdf(-eps / mu + mu / 2.0)
    second = math.exp(eps + norm.logcdf(-eps / mu - mu / 2.0))
    return float(first - second)


def noise_multiplier_for(
    epsilon: float, delta: float, rounds: int, accountant: str = "rdp"
) -> float:
    """Smallest noise multiplier ``z`` whose ``rounds`` releases spend at most ``epsilon``.

    For ``"rdp"`` the closed form inverse of :func:`epsilon_spent`:
    ``c = (sqrt(log(1/δ) + ε) − sqrt(log(1/δ)))²``, ``z = sqrt(T / (2c))``; for ``"gdp"`` a
    root search on the exact curve.

    Raises
    ------
    SpecificationError
        If ``epsilon <= 0``, ``delta`` is outside (0, 1) or ``rounds < 1``.

    Examples
    --------
    >>> z = noise_multiplier_for(4.0, 1e-5, rounds=20)
    >>> round(epsilon_spent(z, 20, 1e-5), 10)
    4.0
    """
    _check_budget(epsilon, delta)
    _check_accountant(accountant)
    if rounds < 1:
        raise SpecificationError(f"rounds must be >= 1; got {rounds!r}.")
    log_inv_delta = math.log(1.0 / delta)
    c = (math.sqrt(log_inv_delta + epsilon) - math.sqrt(log_inv_delta)) ** 2
    z_rdp = math.sqrt(rounds / (2.0 * c))
    if accountant == "rdp":
        return z_rdp
    # GDP is tighter than RDP, so the answer lies below z_rdp
    return float(
        brentq(
            lambda z: epsilon_spent(z, rounds, delta, "gdp") - epsilon,
            z_rdp * 1e-3,
            z_rdp,
            xtol=1e-12,
        )
    )


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
