"""Quadrat counts and Pearson's chi-square test of complete spatial randomness.

The points' bounding box is cut into ``nx × ny`` equal rectangles (as pointpats' ``QStatistic``
with ``shape="rectangle"``: a point on the top or right edge goes to the last cell); under CSR
the counts are equal in expectation, and ``X² = Σ (O − Ō)² / Ō`` follows χ² with
``nx·ny − 1`` degrees of freedom (Greig-Smith 1964; Cressie 1993, §8.2.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dongne import __version__
from dongne._vocab import Lang, bilingual, pick_language
from dongne.errors import SpecificationError

__all__ = ["QuadratTest", "quadrat_test"]


@dataclass(frozen=True, eq=False)
class QuadratTest:
    """Counts per quadrat (``counts``, shape (ny, nx), row 0 at the bottom) and the test."""

    counts: np.ndarray
    chi2: float
    df: int
    p_value: float
    provenance_: dict = field(default_factory=dict)

    def plot(self, path: Any = None):
        """The counts per quadrat as a grid (row 0 at the bottom)."""
        from dongne.points.plots import count_grid

        return count_grid(self.counts, f"X² = {self.chi2:.1f}, p = {self.p_value:.3g}", path)

    def to_frame(self) -> pd.DataFrame:
        """One row per quadrat: row, column, count, contribution to X²."""
        ny, nx = self.counts.shape
        mean = self.counts.mean()
        rows, cols = np.divmod(np.arange(nx * ny), nx)
        flat = self.counts.ravel()
        return pd.DataFrame(
            {
                "row": rows,
                "column": cols,
                "count": flat,
                "chi2_contribution": (flat - mean) ** 2 / mean,
            }
        )

    @bilingual
    def summary(self, lang: Lang = "both") -> str:
        """The test in plain English or Korean."""
        ny, nx = self.counts.shape
        verb = "differ more than" if self.p_value < 0.05 else "do not differ more than"
        en = (
            f"Quadrat test ({nx}×{ny} cells): X² = {self.chi2:.2f} on {self.df} df, "
            f"p = {self.p_value:.3g} — counts {verb} chance allows under complete spatial "
            "randomness."
        )
        ko = (
            f"방형구 검정({nx}×{ny}칸): X² = {self.chi2:.2f}, 자유도 {self.df}, "
            f"p = {self.p_value:.3g} — 완전공간무작위일 때보다 칸별 개수 차이가 "
            f"{'큽니다' if self.p_value < 0.05 else '크지 않습니다'}."
        )
        return pick_language(lang, en, ko)


def quadrat_test(xy: np.ndarray, nx: int = 3, ny: int = 3) -> QuadratTest:
    """Count points in ``nx × ny`` rectangles over their bounding box and test CSR.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.random.default_rng(1).uniform(0, 1, (900, 2))
    >>> test = quadrat_test(xy, 3, 3)
    >>> int(test.counts.sum()), test.df
    (900, 8)
    """
    if not all(isinstance(v, int | np.integer) and v >= 1 for v in (nx, ny)) or nx * ny < 2:
        raise SpecificationError(
            f"nx and ny must be positive ints with at least 2 cells. Got {nx!r}, {ny!r}. "
            "Fix: pass nx=3, ny=3."
        )
    xy = np.asarray(xy, dtype=float)
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    w, h = (x1 - x0) / nx, (y1 - y0) / ny
    col = np.minimum(((xy[:, 0] - x0) // w).astype(int), nx - 1)
    row = np.minimum(((xy[:, 1] - y0) // h).astype(int), ny - 1)
    counts = np.zeros((ny, nx), dtype=np.int64)
    np.add.at(counts, (row, col), 1)
    chi2, p = stats.chisquare(counts.ravel().astype(float))
    return QuadratTest(
        counts,
        float(chi2),
        nx * ny - 1,
        float(p),
        {
            "method": "Pearson chi-square quadrat test",
            "nx": nx,
            "ny": ny,
            "dongne_version": __version__,
        },
    )
