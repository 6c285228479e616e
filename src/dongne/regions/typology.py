"""Neighbourhood typologies: a handful of area types from standardised indicators.

Geodemographic classification (as geosnap does for US tracts, or the UK's Output Area
Classification): indicators are standardised (z-scores), clustered by k-means, a Gaussian
mixture or Ward's method for a range of ``k``, and the number of types is chosen by the
silhouette (k-means, Ward) or the BIC (mixture). Each type gets a profile — its mean z-score
on every indicator — and a name suggested from the indicators that stand out; the stability
of the types is measured by refitting with other seeds (adjusted Rand index). Two vintages
are compared through a transition table, after moving one onto the other's areas with
:func:`dongne.regions.interpolate`.

References
----------
.. [1] Vickers, D. & Rees, P. (2007). Creating the UK National Statistics 2001 output area
   classification. *JRSS A* 170(2), 379–403.
.. [2] Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and
   validation of cluster analysis. *J. Comput. Appl. Math.* 20, 53–65.
.. [3] Schwarz, G. (1978). Estimating the dimension of a model. *Ann. Statist.* 6(2), 461–464.
.. [4] Hubert, L. & Arabie, P. (1985). Comparing partitions. *J. Classification* 2, 193–218.
.. [5] Knaap, E., Kang, W., Rey, S. et al. (2019). geosnap: the geospatial neighbourhood
   analysis package. https://github.com/oturns/geosnap
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np
import pandas as pd

from dongne import __version__
from dongne._vocab import Lang, check_lang, pick_language, resolve_rng
from dongne.errors import DataError, SpecificationError, format_rows

__all__ = ["Typology", "transitions"]

Method = Literal["kmeans", "gmm", "ward"]


def _model(method: str, k: int, seed: int, restarts: int) -> Any:
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.mixture import GaussianMixture

    if method == "kmeans":
        return KMeans(n_clusters=k, n_init=restarts, random_state=seed)
    if method == "gmm":
        return GaussianMixture(n_components=k, n_init=restarts, random_state=seed)
    return AgglomerativeClustering(n_clusters=k, linkage="ward")


class Typology:
    """Area types from indicators, with the number of types chosen from the data.

    Parameters
    ----------
    method : {"kmeans", "gmm", "ward"}
        k-means, a Gaussian mixture (full covariance) or Ward's hierarchical clustering.
    k : int, optional
        Number of types; chosen from ``k_range`` when omitted.
    k_range : (int, int), default (2, 8)
        Smallest and largest number of types tried.
    restarts : int, default 10
        Random restarts of k-means / the mixture (``n_init``).
    stability_seeds : int, default 5
        Refits with other seeds for the stability measure (0 to skip).
    rng : int, numpy.random.Generator or None
        Seed (None = 0).

    Attributes
    ----------
    labels_ : Series
        Type of each area, 1 … k, numbered by decreasing size.
    k_ : int
        Number of types.
    scores_ : DataFrame
        Per ``k`` tried: ``silhouette`` and, for the mixture, ``bic``; ``chosen`` marks k.
    profiles_ : DataFrame
        Mean z-score of each indicator (columns) per type (rows), and ``areas``.
    names_ : dict
        ``{type: (English name, Korean name)}`` suggested from the profile.
    stability_ : float
        Mean adjusted Rand index between this typology and refits with other seeds (1 = the
        same types every time; NaN when not measured or for Ward, which has no seed).
    mean_, scale_ : Series
        Means and standard deviations used to standardise (for :meth:`predict`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": np.r_[rng.normal(0, .1, 20), rng.normal(3, .1, 20)],
    ...                   "b": np.r_[rng.normal(5, .1, 20), rng.normal(1, .1, 20)]})
    >>> t = Typology(k_range=(2, 4), rng=0).fit(X)
    >>> t.k_, sorted(t.labels_.value_counts().tolist())
    (2, [20, 20])
    """

    def __init__(
        self,
        method: Method = "kmeans",
        *,
        k: int | None = None,
        k_range: tuple[int, int] = (2, 8),
        restarts: int = 10,
        stability_seeds: int = 5,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        self.method = method
        self.k = k
        self.k_range = k_range
        self.restarts = restarts
        self.stability_seeds = stability_seeds
        self.rng = rng

    def _standardise(self, X: pd.DataFrame) -> np.ndarray:
        return ((X - self.mean_) / self.scale_).to_numpy(dtype=float)

    def fit(self, X: pd.DataFrame) -> Typology:
        """Standardise the indicators (columns of ``X``, one row per area) and find the types.

        The fits run with one BLAS/OpenMP thread: on small tables many threads only wait for
        each other (a 423-row mixture took minutes on a loaded machine, a second with one)."""
        from dongne._threads import one_thread

        with one_thread():
            return self._fit(X)

    def _fit(self, X: pd.DataFrame) -> Typology:
        from sklearn.metrics import adjusted_rand_score, silhouette_score

        if self.method not in ("kmeans", "gmm", "ward"):
            raise SpecificationError(
                f"method must be 'kmeans', 'gmm' or 'ward', got {self.method!r}. Fix: "
                "method='kmeans'."
            )
        X = _check_indicators(X)
        self.mean_, self.scale_ = X.mean(), X.std(ddof=0)
        z = self._standardise(X)
        seed = resolve_rng(self.rng, bits=32)
        lo, hi = (self.k, self.k) if self.k else self.k_range
        if not 2 <= lo <= hi < len(X):
            raise SpecificationError(
                f"k must lie between 2 and {len(X) - 1} (one fewer than the areas), got "
                f"{lo}–{hi}. Fix: k_range=(2, 8)."
            )
        rows, fits = [], {}
        for k in range(lo, hi + 1):
            model = _model(self.method, k, seed, self.restarts)
            labels = model.fit_predict(z)
            fits[k] = (model, labels)
            row = {"k": k, "silhouette": float(silhouette_score(z, labels))}
            if self.method == "gmm":
                row["bic"] = float(model.bic(z))
            rows.append(row)
        scores = pd.DataFrame(rows)
        best = scores["bic"].idxmin() if self.method == "gmm" else scores["silhouette"].idxmax()
        self.k_ = int(scores.loc[best, "k"])
        scores["chosen"] = scores["k"] == self.k_
        self.scores_ = scores
        self.model_, raw = fits[self.k_]
        self._relabel = _by_size(raw)
        self.labels_ = pd.Series(self._relabel[raw], index=X.index, name="type")
        self.profiles_ = _profiles(z, self.labels_, X.columns)
        self.names_ = {t: suggest_name(self.profiles_.loc[t]) for t in self.profiles_.index}
        self.stability_ = np.nan
        if self.method != "ward" and self.stability_seeds > 0:
            again = [
                _model(self.method, self.k_, seed + s + 1, self.restarts).fit_predict(z)
                for s in range(int(self.stability_seeds))
            ]
            self.stability_ = float(np.mean([adjusted_rand_score(raw, a) for a in again]))
        self._record = {
            "method": self.method, "k": self.k_, "k_range": list(self.k_range),
            "restarts": self.restarts, "seed": seed, "indicators": list(map(str, X.columns)),
            "dongne_version": __version__,
        }  # fmt: skip
        return self

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """The type of other areas (or the same areas at another date), standardised with this
        fit's means and deviations; k-means and the mixture only."""
        if self.method == "ward":
            raise SpecificationError(
                "Ward's clustering cannot place new areas. Fix: method='kmeans' or 'gmm'."
            )
        X = _check_indicators(X[list(self.mean_.index)])
        raw = self.model_.predict(self._standardise(X))
        return pd.Series(self._relabel[raw], index=X.index, name="type")

    @property
    def provenance_(self) -> dict[str, Any]:
        """Method, k, indicators, seed and dongne version."""
        return dict(self._record)

    def to_frame(self) -> pd.DataFrame:
        """One row per area: id, type and the type's suggested names."""
        out = self.labels_.rename_axis("id").reset_index()
        out["type_name"] = out["type"].map(lambda t: self.names_[t][0])
        out["type_name_ko"] = out["type"].map(lambda t: self.names_[t][1])
        return out

    def summary(self, lang: Lang = "both") -> str:
        """The types, their sizes and names, and how the number was chosen."""
        check_lang(lang)
        sizes = self.labels_.value_counts()
        rule = "lowest BIC" if self.method == "gmm" else "highest silhouette"
        rule_ko = "BIC 최소" if self.method == "gmm" else "실루엣 최대"
        stab = (
            ""
            if np.isnan(self.stability_)
            else f" Stability across seeds (ARI): {self.stability_:.2f}."
        )
        stab_ko = (
            "" if np.isnan(self.stability_) else f" 시드 간 안정성(ARI): {self.stability_:.2f}."
        )
        en = (
            f"{self.k_} neighbourhood types ({self.method}, {rule} over k = "
            f"{self.scores_['k'].min()}–{self.scores_['k'].max()}): "
            + "; ".join(f"type {t} “{self.names_[t][0]}” ({sizes[t]} areas)" for t in sizes.index)
            + "."
            + stab
        )
        ko = (
            f"동네 유형 {self.k_}개 ({self.method}, k = {self.scores_['k'].min()}–"
            f"{self.scores_['k'].max()} 중 {rule_ko}): "
            + "; ".join(f"유형 {t} ‘{self.names_[t][1]}’ ({sizes[t]}개 동)" for t in sizes.index)
            + "."
            + stab_ko
        )
        return pick_language(lang, en, ko)

    def plot(self, *, path: str | os.PathLike[str] | None = None) -> Any:
        """Profile bar charts: the mean z-score of every indicator, one panel per type."""
        from dongne.regions._plots import profile_chart

        return profile_chart(self.profiles_, self.names_, path=path)


def _check_indicators(X: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame) or X.shape[1] == 0:
        raise SpecificationError("X must be a DataFrame of indicators. Fix: pass areas[cols].")
    try:
        X = X.astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"Indicators must be numbers ({exc}). Fix: drop text columns.") from None
    bad = ~np.isfinite(X.to_numpy()).all(axis=1)
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} area(s) have missing indicators ({format_rows(X.index[bad])}). "
            "Fix: fill them or leave those areas out; a type is not guessed."
        )
    flat = [c for c in X.columns if X[c].std(ddof=0) == 0]
    if flat:
        raise DataError(f"Indicator(s) {flat} do not vary. Fix: drop them.")
    return X


def _by_size(raw: np.ndarray) -> np.ndarray:
    """Map raw cluster codes to types 1 … k by decreasing size (ties by code)."""
    codes, counts = np.unique(raw, return_counts=True)
    order = codes[np.lexsort((codes, -counts))]
    relabel = np.empty(codes.max() + 1, dtype=np.int64)
    relabel[order] = np.arange(1, len(order) + 1)
    return relabel


def _profiles(z: np.ndarray, labels: pd.Series, columns: pd.Index) -> pd.DataFrame:
    frame = pd.DataFrame(z, columns=columns, index=labels.index)
    prof = frame.groupby(labels.to_numpy()).mean()
    prof.index.name = "type"
    prof["areas"] = labels.value_counts().reindex(prof.index).to_numpy()
    return prof


def suggest_name(profile: pd.Series, threshold: float = 0.5) -> tuple[str, str]:
    """A name from the indicators whose mean z-score stands out (|z| ≥ ``threshold``), the
    two strongest first: ``("high basement_household_pct, low cctv_per_1000", "…")``."""
    values = profile.drop(labels=["areas"], errors="ignore").astype(float)
    strong = values[values.abs() >= threshold]
    strong = strong.reindex(strong.abs().sort_values(ascending=False).index)[:2]
    if strong.empty:
        return "average on every indicator", "모든 지표 평균 수준"
    en = ", ".join(f"{'high' if v > 0 else 'low'} {k}" for k, v in strong.items())
    ko = ", ".join(f"{k} {'높음' if v > 0 else '낮음'}" for k, v in strong.items())
    return en, ko


def transitions(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Transition table between two typologies of the same areas: counts of areas of each
    type before (rows) and after (columns), with row totals.

    Examples
    --------
    >>> t = transitions(pd.Series([1, 1, 2], index=list("abc")),
    ...                 pd.Series([1, 2, 2], index=list("abc")))
    >>> t.to_dict("index")
    {1: {1: 1, 2: 1, 'total': 2}, 2: {1: 0, 2: 1, 'total': 1}}
    """
    common = before.index.intersection(after.index)
    if len(common) < len(before.index.union(after.index)):
        missing = before.index.symmetric_difference(after.index)
        raise DataError(
            f"The two typologies cover different areas ({format_rows(missing.astype(str))}). "
            "Fix: move one onto the other's areas first (dongne.regions.interpolate)."
        )
    table = pd.crosstab(before.loc[common].rename("before"), after.loc[common].rename("after"))
    table["total"] = table.sum(axis=1)
    return table
