"""Global Moran's I with analytical (normality, randomisation) and permutation inference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from dongne import __version__
from dongne._vocab import Lang, check_lang, pick_language
from dongne.detect import _prepare as prep
from dongne.detect._kernels import global_moran_permutations
from dongne.detect.inference import (
    ALTERNATIVES,
    ALTERNATIVES_KO,
    Alternative,
    check_choice,
    permutation_pvalues,
)
from dongne.errors import DongneError, SpecificationError
from dongne.io.write import jsonable
from dongne.parallel.scheduler import map_batches
from dongne.weights import SpatialWeights

__all__ = ["GlobalMoran", "moran"]


def _normal_p(z: float, alternative: str) -> float:
    if alternative == "greater":
        return float(ndtr(-z))
    if alternative == "less":
        return float(ndtr(z))
    if alternative == "directed":
        return float(ndtr(-abs(z)))
    return float(min(1.0, 2 * ndtr(-abs(z))))


class GlobalMoran:
    """Global Moran's I: is the variable spatially clustered overall?

    I = (n / S0) · Σ_i Σ_j w_ij z_i z_j / Σ_i z_i², with z = y − ȳ and S0 = Σ w_ij.
    E[I] = −1/(n − 1). Variances under normality and under randomisation follow Cliff & Ord
    (1981, ch. 2); the permutation test shuffles all values (R random permutations, each a
    Fisher–Yates shuffle on its own counter-based stream).

    Parameters
    ----------
    permutations : int, default 999
    alternative : {"two-sided", "greater", "less", "directed"}, default "two-sided"
        Applied to the analytical and the permutation p-values (``directed``: the tail the
        observed value lies in, as esda's ``p_sim``; analytically, esda's one-tailed p).
    transform : {"row", "binary", "as_is"}, default "row"
    missing : {"raise", "drop", "label"}, default "raise"
    rng : int, numpy.random.Generator or None
    scheduler : None, "threads", "processes", str or dask.distributed.Client
        Where the batches of permutations run (:mod:`dongne.parallel`); ``simulations_`` are
        bit-identical for every scheduler.

    Attributes
    ----------
    statistic_ : float
        I.
    expected_ : float
        −1/(n − 1).
    variance_normal_, variance_randomisation_ : float
    z_normal_, z_randomisation_ : float
    p_normal_, p_randomisation_ : float
        Analytical p-values for ``alternative``.
    simulations_ : ndarray
        The R permuted values of I (R floats; kept because R is small).
    p_value_ : float
        Pseudo p-value (in [1/(R+1), 1]).
    z_sim_ : float
    seed_ : int
    provenance_ : dict

    References
    ----------
    Moran, P. A. P. (1950). Biometrika 37:17–23. Cliff, A. D. & Ord, J. K. (1981). Spatial
    Processes: Models and Applications. Pion.

    Examples
    --------
    >>> import libpysal
    >>> from scipy import sparse
    >>> from dongne.weights import SpatialWeights
    >>> import pandas as pd
    >>> w0 = libpysal.io.open(libpysal.examples.get_path("stl.gal")).read()
    >>> y = pd.read_csv(libpysal.examples.get_path("stl_hom.csv"))["HR8893"]
    >>> w = SpatialWeights.from_sparse(w0.sparse, w0.id_order, transform="binary")
    >>> m = GlobalMoran(alternative="greater", rng=0).fit(y.to_numpy(), w)
    >>> round(m.statistic_, 10), round(m.p_normal_, 12)
    (0.2436558262, 0.000135739314)
    """

    def __init__(
        self,
        *,
        permutations: int = 999,
        alternative: Alternative = "two-sided",
        transform: str = "row",
        missing: prep.MissingPolicy = "raise",
        rng: int | np.random.Generator | None = None,
        scheduler: Any = None,
    ) -> None:
        self.permutations = permutations
        self.alternative = alternative
        self.transform = transform
        self.missing = missing
        self.rng = rng
        self.scheduler = scheduler

    def fit(self, y: Any, w: SpatialWeights) -> GlobalMoran:
        """Compute I, its analytical inference and the permutation test; return ``self``."""
        check_choice("alternative", self.alternative, ALTERNATIVES)
        check_choice("transform", self.transform, ("row", "binary", "as_is"))
        if not isinstance(self.permutations, (int, np.integer)) or self.permutations < 0:
            raise SpecificationError(
                f"The 'permutations' parameter must be an int >= 0. Got {self.permutations!r}."
            )
        values = prep.align(y, w, name=str(getattr(y, "name", None) or "y"))
        values, w_in, missing_ids = prep.handle_missing(values, w, self.missing)
        prep.check_values(values)
        wt = prep.transformed(w_in, self.transform)
        prep.warn_islands(wt, "contribution to Moran's I")
        yv = values.to_numpy()
        n = len(yv)
        z = yv - yv.mean()
        m = wt.to_sparse()
        s0 = float(m.sum())
        zz = float(z @ z)
        stat = n / s0 * float(z @ (m @ z)) / zz
        mt = m + m.T
        s1 = 0.5 * float((mt.multiply(mt)).sum())
        row = np.asarray(m.sum(axis=1)).ravel() + np.asarray(m.sum(axis=0)).ravel()
        s2 = float((row**2).sum())
        ei = -1.0 / (n - 1)
        v_norm = (n**2 * s1 - n * s2 + 3 * s0**2) / ((n**2 - 1) * s0**2) - ei**2
        b2 = n * float((z**4).sum()) / zz**2
        v_rand = (
            n * ((n**2 - 3 * n + 3) * s1 - n * s2 + 3 * s0**2)
            - b2 * ((n**2 - n) * s1 - 2 * n * s2 + 6 * s0**2)
        ) / ((n - 1) * (n - 2) * (n - 3) * s0**2) - ei**2
        self.statistic_ = stat
        self.expected_ = ei
        self.variance_normal_ = v_norm
        self.variance_randomisation_ = v_rand
        self.z_normal_ = (stat - ei) / np.sqrt(v_norm)
        self.z_randomisation_ = (stat - ei) / np.sqrt(v_rand)
        self.p_normal_ = _normal_p(self.z_normal_, self.alternative)
        self.p_randomisation_ = _normal_p(self.z_randomisation_, self.alternative)
        self.seed_ = prep.resolve_seed(self.rng)
        self.n_ = n
        self.variable_ = str(values.name)
        self.missing_ids_ = missing_ids
        if self.permutations:
            sims = np.concatenate(
                map_batches(
                    _moran_batch,
                    (z, m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data),
                    self.seed_,
                    int(self.permutations),
                    scheduler=self.scheduler,
                )
            ) * (n / s0 / zz)
            self.simulations_ = sims
            tol = 1e-10 * abs(stat) + 1e-14
            n_ge = np.array([(sims >= stat - tol).sum()])
            n_le = np.array([(sims <= stat + tol).sum()])
            self.p_value_ = float(
                permutation_pvalues(n_ge, n_le, self.permutations, self.alternative)[0]
            )
            self.z_sim_ = float((stat - sims.mean()) / sims.std())
        else:
            self.simulations_ = np.empty(0)
            self.p_value_ = np.nan
            self.z_sim_ = np.nan
        self.provenance_ = {
            "method": "global_moran",
            "variable": self.variable_,
            "n_areas": int(w.n),
            "n_computed": n,
            "missing_ids": [str(i) for i in missing_ids],
            "weights": {"kind": wt.kind, "transform": wt.transform, "params": jsonable(wt.params)},
            "permutations": int(self.permutations),
            "alternative": self.alternative,
            "seed": int(self.seed_),
            "dongne_version": __version__,
        }
        return self

    def to_frame(self) -> pd.DataFrame:
        """One row: I, E[I], variances, z-scores and p-values (analytical and permutation)."""
        if not hasattr(self, "statistic_"):
            raise DongneError("This GlobalMoran is not fitted yet; call fit(y, w).")
        return pd.DataFrame(
            [
                {
                    "variable": self.variable_,
                    "n": self.n_,
                    "moran_i": self.statistic_,
                    "expected": self.expected_,
                    "z_normal": self.z_normal_,
                    "p_normal": self.p_normal_,
                    "z_randomisation": self.z_randomisation_,
                    "p_randomisation": self.p_randomisation_,
                    "permutations": self.permutations,
                    "z_sim": self.z_sim_,
                    "p_value": self.p_value_,
                    "alternative": self.alternative,
                    "seed": self.seed_,
                }
            ]
        )

    def summary(self, lang: Lang = "both") -> str:
        """Plain-language result in English, Korean or both (``lang``: "both", "ko", "en")."""
        check_lang(lang)
        if not hasattr(self, "statistic_"):
            raise DongneError("This GlobalMoran is not fitted yet; call fit(y, w).")
        clustered = self.statistic_ > self.expected_
        sig = (self.p_value_ if self.permutations else self.p_randomisation_) <= 0.05
        verdict_en = (
            ("similar values cluster in space" if clustered else "neighbours tend to differ")
            if sig
            else "no clear spatial pattern"
        )
        verdict_ko = (
            (
                "비슷한 값이 공간적으로 모여 있습니다"
                if clustered
                else "이웃끼리 값이 다른 경향이 있습니다"
            )
            if sig
            else "뚜렷한 공간 패턴이 없습니다"
        )
        p_text = (
            f"pseudo p = {self.p_value_:.4g} ({self.alternative}, {self.permutations} "
            f"permutations, seed {self.seed_})"
            if self.permutations
            else f"p = {self.p_randomisation_:.4g} ({self.alternative})"
        )
        en = (
            f"Global Moran's I of {self.variable_} over {self.n_} areas: I = "
            f"{self.statistic_:.4f} (expected {self.expected_:.4f} without pattern), z = "
            f"{self.z_randomisation_:.2f} under randomisation, {p_text}: {verdict_en}."
        )
        alternative_ko = ALTERNATIVES_KO[self.alternative]
        p_ko = (
            f"유사 p값 = {self.p_value_:.4g} ({alternative_ko}, 순열 {self.permutations:,}회, "
            f"시드 {self.seed_})"
            if self.permutations
            else f"p = {self.p_randomisation_:.4g} ({alternative_ko})"
        )
        ko = (
            f"전역 모란 I = {self.statistic_:.4f} (패턴이 없을 때 기대값 {self.expected_:.4f}), "
            f"{p_ko}: {verdict_ko}."
        )
        return f"{en}\n{ko}" if lang == "both" else pick_language(lang, en, ko)

    def plot(self, ax: Any = None) -> Any:
        """The observed I against its reference distribution under spatial randomness.

        A histogram of the permuted I (when ``permutations`` > 0), the normal approximation
        under randomisation (Cliff & Ord 1981) and the observed and expected I as vertical
        lines, as in GeoDa's permutation plot.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure otherwise.

        Returns
        -------
        matplotlib.axes.Axes

        References
        ----------
        Cliff, A. D. & Ord, J. K. (1981). *Spatial Processes: Models and Applications*. Pion.
        Anselin, L. (1995). Local indicators of spatial association — LISA. Geographical
        Analysis 27(2):93–115.
        """
        if not hasattr(self, "statistic_"):
            raise DongneError("This GlobalMoran is not fitted yet; call fit(y, w).")
        import matplotlib
        import matplotlib.pyplot as plt
        from scipy import stats

        from dongne._fonts import korean_font

        with matplotlib.rc_context({"font.family": [korean_font(), "DejaVu Sans"]}):
            if ax is None:
                _, ax = plt.subplots(figsize=(6.0, 4.0))
            sd = float(np.sqrt(self.variance_randomisation_))
            lo = min(self.expected_ - 4 * sd, self.statistic_ - sd)
            hi = max(self.expected_ + 4 * sd, self.statistic_ + sd)
            if self.simulations_.size:
                ax.hist(self.simulations_, bins=40, density=True, color="0.8", label="permutations")
                lo, hi = min(lo, self.simulations_.min()), max(hi, self.simulations_.max())
            grid = np.linspace(lo, hi, 200)
            ax.plot(
                grid,
                stats.norm.pdf(grid, self.expected_, sd),
                color="0.3",
                lw=1,
                label="normal (randomisation)",
            )
            expected = f"E[I] = {self.expected_:.3f}"
            ax.axvline(self.expected_, color="0.3", ls="--", lw=1, label=expected)
            ax.axvline(self.statistic_, color="#c0392b", lw=2, label=f"I = {self.statistic_:.3f}")
            ax.set_xlabel("Moran's I")
            ax.set_ylabel("density")
            name = "" if self.variable_ in ("None", "") else f" ({self.variable_})"
            ax.set_title(f"Global Moran's I · 전역 모란 I{name}")
            ax.legend(fontsize=8)
        return ax


def _moran_batch(
    z: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    seed: int,
    first: int,
    count: int,
) -> np.ndarray:
    """Numerators of Moran's I for permutations ``first .. first + count - 1`` (one task)."""
    return global_moran_permutations(z, indptr, indices, weights, seed, first, count)


def moran(y: Any, w: SpatialWeights, **options: Any) -> GlobalMoran:
    """Shorthand for ``GlobalMoran(**options).fit(y, w)``."""
    return GlobalMoran(**options).fit(y, w)
