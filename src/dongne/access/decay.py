"""Distance-decay functions: the weight a supply site gets as a function of the travel cost.

Each maker returns a vectorised function ``f(costs) -> weights`` over a NumPy array.
:func:`step_decay`, :func:`gaussian_decay` and :func:`power_decay` give the same numbers as the
PySAL ``access`` package's ``weights.step_fn``, ``weights.gaussian`` and ``weights.gravity``;
:func:`dai_gaussian_decay` is the catchment-bounded Gaussian of the kernel-density 2SFCA (Dai
2010), which is 1 at zero cost and 0 at the catchment's edge.

References
----------
Luo, W. & Qi, Y. (2009). An enhanced two-step floating catchment area (E2SFCA) method for
measuring spatial accessibility to primary care physicians. Health & Place 15(4):1100–1107.
Dai, D. (2010). Black residential segregation, disparities in spatial access to health care
facilities, and late-stage breast cancer diagnosis in metropolitan Detroit. Health & Place
16(5):1038–1052.
Saxon, J., Koschinsky, J., Acosta, K., et al. (2022). An open software environment to make
spatial access metrics more accessible. Journal of Computational Social Science 5:265–284
(the ``access`` package).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from dongne.errors import SpecificationError

__all__ = [
    "E2SFCA_STEPS",
    "THREE_STEP_WEIGHTS",
    "dai_gaussian_decay",
    "exponential_decay",
    "gaussian_decay",
    "power_decay",
    "step_decay",
]

Decay = Callable[[np.ndarray], np.ndarray]

#: Stepwise weights of Luo & Qi (2009) for 10/20/30-minute zones (``access``'s E2SFCA default).
E2SFCA_STEPS: dict[float, float] = {10: 1.0, 20: 0.68, 30: 0.22}
#: Stepwise Gaussian weights of Wan, Zou & Sternberg (2012) (``access``'s 3SFCA default).
THREE_STEP_WEIGHTS: dict[float, float] = {10: 0.962, 20: 0.704, 30: 0.377, 60: 0.042}


def step_decay(steps: Mapping[float, float]) -> Decay:
    """Stepwise weights: ``steps[k]`` for the smallest cut-off ``k`` with cost ≤ ``k``, else 0.

    Examples
    --------
    >>> f = step_decay({20: 1, 40: 0.68, 60: 0.22})
    >>> f(np.array([0, 20, 30, 60, 70.0])).tolist()
    [1.0, 1.0, 0.68, 0.22, 0.0]
    """
    if not steps:
        raise SpecificationError("The step weights are empty. Fix: e.g. {10: 1, 20: 0.68}.")
    cuts = np.array(sorted(steps), dtype=float)
    weights = np.array([steps[k] for k in sorted(steps)], dtype=float)
    if (weights < 0).any() or not np.isfinite(weights).all():
        raise SpecificationError(f"Step weights must be non-negative. Got {dict(steps)!r}.")
    table = np.append(weights, 0.0)

    def weight(costs: np.ndarray) -> np.ndarray:
        return table[np.searchsorted(cuts, np.asarray(costs, dtype=float), side="left")]

    return weight


def gaussian_decay(sigma: float) -> Decay:
    """Unnormalised Gaussian ``exp(-c² / (2σ²))`` (1 at zero cost), as ``access``'s.

    Examples
    --------
    >>> round(float(gaussian_decay(20)(np.array([20.0]))[0]), 6)
    0.606531
    """
    _positive(sigma, "sigma")
    return lambda costs: np.exp(-costs * costs / (2 * sigma**2))


def dai_gaussian_decay(threshold: float) -> Decay:
    """Dai's (2010) Gaussian kernel, 1 at zero cost and 0 at ``threshold``.

    ``f(c) = (exp(-½ (c/d₀)²) − exp(-½)) / (1 − exp(-½))`` for ``c ≤ d₀``, else 0.

    Examples
    --------
    >>> dai_gaussian_decay(10)(np.array([0.0, 10.0, 11.0])).tolist()
    [1.0, 0.0, 0.0]
    """
    _positive(threshold, "threshold")
    edge = np.exp(-0.5)

    def weight(costs: np.ndarray) -> np.ndarray:
        c = np.asarray(costs, dtype=float)
        w = (np.exp(-0.5 * (c / threshold) ** 2) - edge) / (1 - edge)
        return np.where(c <= threshold, w, 0.0)

    return weight


def power_decay(scale: float, alpha: float, min_cost: float = 0.0) -> Decay:
    """Gravity weights ``(max(c, c_min) / s) ** α`` (α < 0 for decay), as ``access``'s gravity.

    Examples
    --------
    >>> power_decay(20, -2, 1)(np.array([0.0, 2.0, 40.0])).round(6).tolist()
    [400.0, 100.0, 0.25]
    """
    _positive(scale, "scale")
    if alpha < 0 and min_cost <= 0:
        raise SpecificationError(
            "A power decay with alpha < 0 is infinite at zero cost. Fix: give min_cost > 0 "
            "(e.g. the snapping tolerance, or 1 minute)."
        )
    return lambda costs: np.power(np.maximum(costs, min_cost) / scale, alpha)


def exponential_decay(beta: float) -> Decay:
    """Negative exponential ``exp(-β c)``.

    Examples
    --------
    >>> exponential_decay(0.1)(np.array([0.0])).tolist()
    [1.0]
    """
    _positive(beta, "beta")
    return lambda costs: np.exp(-beta * np.asarray(costs, dtype=float))


def _positive(value: float, name: str) -> None:
    if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and value > 0):
        raise SpecificationError(f"The {name!r} parameter must be positive. Got {value!r}.")
