"""Centrography: the standard deviational ellipse of a point pattern.

Yuill's (1971) ellipse with CrimeStat's corrections (Levine 2015, ch. 4), as pointpats'
``ellipse(method="crimestat")``: with centred coordinates (x̃, ỹ) and weights w, the rotation
θ solves ``tan θ = −(A ± sqrt(A² + 4B²)) / (2B)`` for ``A = Σ w x̃² − Σ w ỹ²``, ``B = Σ w x̃ỹ``;
the standard deviations along the two axes are multiplied by ``sqrt(2) sqrt(n / (n − 2))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely import affinity

from dongne.errors import DataError

__all__ = ["StandardEllipse", "standard_ellipse"]


@dataclass(frozen=True)
class StandardEllipse:
    """Centre, semi-axes (metres) and rotation (radians) of a standard deviational ellipse."""

    centre: tuple[float, float]
    major: float
    minor: float
    angle: float

    def polygon(self) -> shapely.Polygon:
        """The ellipse as a polygon (as pointpats draws it)."""
        circle = shapely.Point(self.centre).buffer(1)
        scaled = affinity.scale(circle, self.major, self.minor)
        return affinity.rotate(scaled, self.angle, use_radians=True)


def standard_ellipse(xy: np.ndarray, weights: np.ndarray | None = None) -> StandardEllipse:
    """The CrimeStat standard deviational ellipse of points ``xy`` (optionally weighted).

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.random.default_rng(0).normal(0, [300, 100], (2000, 2))
    >>> e = standard_ellipse(xy)
    >>> bool(e.major > 2 * e.minor)
    True
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    if n < 3:
        raise DataError(f"A standard ellipse needs at least 3 points; got {n}.")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if len(w) != n or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise DataError("weights must be one finite, non-negative number per point.")
    cx, cy = np.average(xy[:, 0], weights=w), np.average(xy[:, 1], weights=w)
    xm, ym = xy[:, 0] - cx, xy[:, 1] - cy
    xyw, x2w, y2w = (xm * ym * w).sum(), (xm**2 * w).sum(), (ym**2 * w).sum()
    left, right = x2w - y2w, np.sqrt((x2w - y2w) ** 2 + 4 * xyw**2)
    if xyw == 0:
        t1, t2 = 0.0, np.pi / 2
    else:
        t1, t2 = np.arctan(-(left + right) / (2 * xyw)), np.arctan(-(left - right) / (2 * xyw))
    s1 = np.sqrt((w * (ym * np.cos(t1) - xm * np.sin(t1)) ** 2).sum() / w.sum())
    s2 = np.sqrt((w * (ym * np.cos(t2) - xm * np.sin(t2)) ** 2).sum() / w.sum())
    corr = np.sqrt(2) * np.sqrt(n) / np.sqrt(n - 2)
    s1, s2 = s1 * corr, s2 * corr
    if s2 > s1:
        return StandardEllipse((float(cx), float(cy)), float(s2), float(s1), float(t1))
    return StandardEllipse((float(cx), float(cy)), float(s1), float(s2), float(t2))
