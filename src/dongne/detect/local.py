"""Local indicators of spatial association: Local Moran's I (LISA) and Getis–Ord Gi / Gi*.

Estimators follow the scikit-learn contract: ``__init__`` stores the options, ``fit(y, w)``
computes and returns ``self``; results end in ``_``. Inference is by conditional permutation
(Anselin 1995): the value at area *i* is held fixed and its neighbours' values are drawn at
random, without replacement, from the other n − 1 areas. The kernel counts how many permuted
statistics reach the observed one instead of storing an n × R array, and draws every random
number from a stream keyed by (seed, area, permutation), so results are identical for any
number of threads, batches or workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import ndtr

from dongne import __version__
from dongne._validation import check_probability
from dongne._vocab import Lang, check_lang, pick_language
from dongne.detect import _prepare as prep
from dongne.detect._kernels import local_permutation_counts
from dongne.detect.chunked import local_permutation_sums
from dongne.detect.inference import (
    ALTERNATIVES,
    ALTERNATIVES_KO,
    CORRECTIONS,
    Alternative,
    Correction,
    adjust_pvalues,
    auto_permutations,
    check_choice,
    permutation_pvalues,
    significance_floor,
)
from dongne.errors import DataError, SpecificationError
from dongne.io.provenance import attach
from dongne.io.write import jsonable
from dongne.parallel.batches import BATCH_SIZE, run_batches
from dongne.weights import SpatialWeights

__all__ = ["GetisOrd", "LocalMoran", "getis_ord", "local_moran"]

WeightsTransform = Literal["row", "binary", "as_is"]


#: Korean names of the alternatives and corrections, for the Korean summaries.
_CORRECTIONS_KO = {
    "fdr_bh": "FDR(벤자미니–호흐베르크)",
    "fdr_by": "FDR(벤자미니–예쿠티엘리)",
    "bonferroni": "본페로니",
    "geoda_fdr": "GeoDa FDR",
    "none": "없음",
}


def _analytic_p(z: np.ndarray, alternative: str) -> np.ndarray:
    if alternative == "greater":
        return ndtr(-z)
    if alternative == "less":
        return ndtr(z)
    return np.minimum(1.0, 2 * ndtr(-np.abs(z)))


class _LocalStatistic:
    """Shared options, inference and reporting of local statistics."""

    _statistic_name = ""
    _what = ""

    def __init__(
        self,
        *,
        permutations: int | Literal["auto"] = "auto",
        alternative: Alternative = "two-sided",
        correction: Correction = "fdr_bh",
        alpha: float = 0.05,
        transform: WeightsTransform = "row",
        missing: prep.MissingPolicy = "raise",
        permutation_method: Literal["table", "exact"] = "table",
        rng: int | np.random.Generator | None = None,
        scheduler: Any = None,
    ) -> None:
        self.permutation_method = permutation_method
        self.permutations = permutations
        self.alternative = alternative
        self.correction = correction
        self.alpha = alpha
        self.transform = transform
        self.missing = missing
        self.rng = rng
        self.scheduler = scheduler

    # ---------------------------------------------------------------- helpers for fit
    def _validate(self) -> None:
        check_choice("alternative", self.alternative, ALTERNATIVES)
        check_choice("correction", self.correction, CORRECTIONS)
        check_choice("transform", self.transform, ("row", "binary", "as_is"))
        check_choice("permutation_method", self.permutation_method, ("table", "exact"))
        if self.permutations != "auto" and (
            not isinstance(self.permutations, (int, np.integer)) or self.permutations < 0
        ):
            raise SpecificationError(
                "The 'permutations' parameter must be an int >= 0 or 'auto'. "
                f"Got {self.permutations!r} instead."
            )
        check_probability("alpha", self.alpha)

    def _weights(self, w: SpatialWeights) -> SpatialWeights:
        return prep.transformed(w, self.transform)

    def _prepare(self, y: Any, w: SpatialWeights) -> tuple[pd.Series, SpatialWeights]:
        self._validate()
        values = prep.align(y, w, name=str(getattr(y, "name", None) or "y"))
        values, w_used, missing_ids = prep.handle_missing(values, w, self.missing)
        prep.check_values(values)
        self.all_ids_ = w.ids
        self.missing_ids_ = missing_ids
        self.variable_ = str(values.name)
        return values, w_used

    def _infer(
        self,
        centred: np.ndarray,
        w: SpatialWeights,
        scale: np.ndarray,
        shift: np.ndarray,
        observed: np.ndarray,
        islands: np.ndarray,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        """Permutation counts → p-values, adjusted p-values, significance; sets attributes."""
        n = w.n
        self.seed_ = prep.resolve_seed(self.rng)
        self.permutations_ = (
            auto_permutations(int((~islands).sum()), self.alternative, self.correction, self.alpha)
            if self.permutations == "auto"
            else int(self.permutations)
        )
        self.n_ge_ = np.zeros(n, dtype=np.int64)
        self.n_le_ = np.zeros(n, dtype=np.int64)
        mean_sim = np.full(n, np.nan)
        sd_sim = np.full(n, np.nan)
        p = np.full(n, np.nan)
        if self.permutations_:
            off = _off_diagonal(w)
            tol = 1e-10 * np.maximum(np.abs(observed), 1e-300) + 1e-14
            data = (centred, off.indptr.astype(np.int64), off.data, scale, shift, observed, tol)
            if self.scheduler in (None, "threads"):
                kernel = (
                    local_permutation_counts
                    if self.permutation_method == "exact"
                    else prep.table_kernel(int(np.diff(off.indptr).max(initial=0)), n)
                )
                n_ge, n_le, total, total_sq = run_batches(
                    kernel, data, self.seed_, self.permutations_, progress
                )
            else:  # blocks of areas × batches, bit-identical (dongne.detect.chunked)
                n_ge, n_le, total, total_sq = local_permutation_sums(
                    *data,
                    self.seed_,
                    self.permutations_,
                    method=self.permutation_method,
                    scheduler=self.scheduler,
                    progress=progress,
                )
            r = float(self.permutations_)
            self.n_ge_, self.n_le_ = n_ge, n_le
            mean_sim = total / r
            sd_sim = np.sqrt(np.maximum(total_sq / r - mean_sim**2, 0.0))
            p = permutation_pvalues(n_ge, n_le, self.permutations_, self.alternative)
            p[islands] = np.nan
            mean_sim[islands] = np.nan
            sd_sim[islands] = np.nan
        self.expected_sim_ = mean_sim
        with np.errstate(divide="ignore", invalid="ignore"):
            self.z_sim_ = (self.statistic_ - mean_sim) / sd_sim
        self.p_values_ = p
        if self.permutations_:
            self.p_adjusted_, self.significant_ = adjust_pvalues(p, self.correction, self.alpha)
            self.floor_ = significance_floor(
                int((~islands).sum()),
                self.permutations_,
                self.alternative,
                self.correction,
                self.alpha,
            )
        else:
            self.p_adjusted_ = np.full(n, np.nan)
            self.significant_ = np.zeros(n, dtype=bool)
            self.floor_ = None

    def _provenance(self, w: SpatialWeights, method: str) -> dict[str, Any]:
        return {
            "method": method,
            "variable": self.variable_,
            "n_areas": len(self.all_ids_),
            "n_computed": int(w.n),
            "missing_policy": self.missing,
            "missing_ids": [str(i) for i in self.missing_ids_],
            "weights": {"kind": w.kind, "transform": w.transform, "params": jsonable(w.params)},
            "permutations": self.permutations_,
            "inference": f"conditional permutation ({self.permutation_method})",
            "alternative": self.alternative,
            "correction": self.correction,
            "alpha": self.alpha,
            "seed": int(self.seed_),
            "batch_size": BATCH_SIZE,
            "dongne_version": __version__,
        }

    # ---------------------------------------------------------------- reporting
    def _check_fitted(self) -> None:
        if not hasattr(self, "statistic_"):
            from dongne.errors import DongneError

            raise DongneError(f"This {type(self).__name__} is not fitted yet; call fit(y, w).")

    def to_frame(self) -> pd.DataFrame:
        """One row per area (all areas, computed or not): statistic, z, p-values, label."""
        self._check_fitted()
        cols = self._frame_columns()
        frame = pd.DataFrame(cols, index=self.ids_)
        # Every p-value travels with its test: alternative, permutations and correction.
        frame["test"] = (
            f"{self.alternative}, {self.permutations_:,} permutations, {self.correction} "
            f"at {self.alpha}"
        )
        frame.index.name = "id"
        if self.missing == "label" and len(self.missing_ids_):
            frame = frame.reindex(self.all_ids_)
            frame.loc[self.missing_ids_, "label"] = "undefined"
            frame.loc[self.missing_ids_, "significant"] = False
        attach(frame, self.provenance_)
        return frame

    def summary(
        self, names: pd.Series | None = None, groups: pd.Series | None = None, lang: Lang = "both"
    ) -> str:
        """Plain-language summary in English, Korean or both (``lang``).

        Parameters
        ----------
        names : Series, optional
            Area names indexed by id, used to list the significant areas.
        groups : Series, optional
            Larger units (e.g. gu) indexed by id; the summary says where clusters concentrate.
        lang : {"both", "ko", "en"}, default "both"
        """
        check_lang(lang)
        self._check_fitted()
        frame = self.to_frame()
        prov = self.provenance_
        auto = self.permutations == "auto"
        auto_en = " (chosen automatically: the fewest that let one area pass)" if auto else ""
        auto_ko = "(보정 후 유의할 수 있는 최소 횟수로 자동 선택)" if auto else ""
        head = (
            f"{self._statistic_name} of {self.variable_} over {prov['n_computed']} areas "
            f"({prov['weights']['kind']} weights, {prov['weights']['transform']}), "
            f"{self.permutations_:,} conditional permutations{auto_en}, {self.alternative} "
            f"pseudo p-values, correction {self.correction} at alpha {self.alpha} "
            f"(seed {self.seed_})."
        )
        lines = [head]
        counts = frame["label"].value_counts()
        for label, text_en, _text_ko in self._label_texts():
            n = int(counts.get(label, 0))
            if not n:
                continue
            where = ""
            ids = frame.index[frame["label"] == label]
            if groups is not None:
                top = groups.reindex(ids).value_counts().head(3)
                where = " — mostly in " + ", ".join(f"{g} ({c})" for g, c in top.items())
            elif names is not None:
                shown = names.reindex(ids).dropna().astype(str).tolist()[:8]
                where = " — " + ", ".join(shown) + (" ..." if len(ids) > 8 else "")
            lines.append(f"  {n} {text_en}{where}")
        n_sig = int(frame["significant"].sum())
        if n_sig == 0:
            lines.append(f"  No area is significant at alpha {self.alpha} after the correction.")
        if self.floor_ is not None and not self.floor_.reachable:
            lines.append("  Note: " + self.floor_.message_en)
        if len(self.missing_ids_):
            lines.append(
                f"  {len(self.missing_ids_)} area(s) without a value were left out: "
                + ", ".join(map(str, self.missing_ids_[:10]))
            )
        ko = [
            f"{self._statistic_name_ko}: {prov['n_computed']}개 지역, 조건부 순열 "
            f"{self.permutations_:,}회{auto_ko}, {ALTERNATIVES_KO[self.alternative]}, "
            "다중검정 보정 "
            f"{_CORRECTIONS_KO[self.correction]}, "
            f"유의수준 {self.alpha}."
        ]
        for label, _text_en, text_ko in self._label_texts():
            n = int(counts.get(label, 0))
            if n:
                ko.append(f"  {text_ko}: {n}개 지역")
        if n_sig == 0:
            ko.append(f"  보정 후 유의수준 {self.alpha}에서 유의한 지역이 없습니다.")
        if self.floor_ is not None and not self.floor_.reachable:
            ko.append("  참고: " + self.floor_.message_ko)
        return pick_language(lang, "\n".join(lines), "\n".join(ko))

    def plot(
        self,
        areas: Any,
        *,
        id_column: str | None = None,
        path: str | os.PathLike[str] | None = None,
        title: str | None = None,
        label: str | None = None,
        source: str | None = None,
        **map_options: Any,
    ) -> Any:
        """Significance map (cluster labels) of the areas; returns the map result.

        ``areas`` is the GeoDataFrame of the areas; ``id_column`` holds the ids of the weights
        (default: its index). ``label`` is a readable name of the variable for the title
        (default: the column name, e.g. ``"반지하 가구 비율 (%)"`` instead of
        ``"basement_pct"``); ``source`` names the data source in the note under the map. The
        legend heading states the test that defines every class. Extra options go to
        :func:`dongne.report.category_map`.
        """
        from dongne.report import category_map

        self._check_fitted()
        frame = self.to_frame()
        keys = areas[id_column] if id_column else areas.index.to_series()
        labelled = areas.copy()
        labelled["label"] = frame["label"].reindex(keys.to_numpy()).to_numpy()
        labelled["label"] = labelled["label"].fillna("undefined")
        note = self._map_note() + (f"\nData: {source}" if source else "")
        return category_map(
            labelled,
            "label",
            title=title or self._default_title(label or self.variable_),
            categories=self._categories(),
            path=path,
            note=note,
            **{"legend_title": self._legend_title(), **map_options},
        )

    def _test_text(self) -> str:
        """The test behind the classes, e.g. ``"two-sided, 19,999 permutations"``."""
        return f"{self.alternative}, {self.permutations_:,} permutations"

    def _legend_title(self) -> str:
        if self.correction == "none":
            rule = f"p ≤ {self.alpha} (no correction)"
        else:
            rule = f"significant at α = {self.alpha} after {self.correction}"
        return f"Quadrant where {rule}\n({self._test_text()}) / 유의한 지역의 사분면"

    def _map_note(self) -> str:
        return (
            f"{self.permutations_:,} permutations, {self.alternative}, {self.correction} at "
            f"{self.alpha}; seed {self.seed_}; dongne {__version__}"
        )


class LocalMoran(_LocalStatistic):
    """Local Moran's I (LISA) with conditional permutation inference.

    I_i = (n − 1) · z_i · Σ_j w_ij z_j / Σ_k z_k², with z the values standardised by their
    mean and population standard deviation — esda's scaling; GeoDa omits the constant
    (n − 1)/Σz², which changes no p-value or label.

    Parameters
    ----------
    permutations : int or "auto", default "auto"
        Conditional permutations (0: analytical inference only). ``"auto"`` takes the
        smallest of 999, 9,999, 19,999, 49,999 and 99,999 with which one area can pass the
        correction (:func:`~dongne.detect.inference.auto_permutations`): with 999
        permutations, 416 areas under FDR can never be significant. The number used is
        ``permutations_``.
    alternative : {"two-sided", "greater", "less", "directed"}, default "two-sided"
        See :mod:`dongne.detect.inference`; ``directed`` reproduces esda's legacy p_sim.
    correction : {"fdr_bh", "fdr_by", "bonferroni", "geoda_fdr", "none"}, default "fdr_bh"
        Multiple-testing correction behind ``significant_`` and the cluster labels.
    alpha : float, default 0.05
    transform : {"row", "binary", "as_is"}, default "row"
        Weights used: row-standardised (esda and GeoDa default), binary, or as given.
    missing : {"raise", "drop", "label"}, default "raise"
        Missing values: error, or compute without those areas (see
        :func:`dongne.detect._prepare.handle_missing`).
    permutation_method : {"table", "exact"}, default "table"
        How neighbour sets are drawn. ``"exact"``: every neighbour of every permutation from
        its own counter-based stream. ``"table"``: per batch of 1,000 permutations a table of
        64,000 exact samples is drawn and each area reads 1,000 consecutive rows from a random
        start — each area's test stays an exact Monte Carlo test, areas share on average 1/64
        of their permutations (esda and GeoDa's lookup share all), and it is about three times
        faster. Both are seeded and identical for any thread count.
    rng : int, numpy.random.Generator or None
        Seed of the permutation streams; None means seed 0 (recorded in ``seed_``).
    scheduler : None, "threads", "processes", str or dask.distributed.Client
        Where the permutations run: this process (default), worker processes, or a Dask
        cluster (a ``Client`` or a scheduler address ``"tcp://host:8786"``), in blocks of
        areas × batches of permutations. Results are bit-identical for every scheduler (see
        :mod:`dongne.parallel` and ``docs/scale.md``).

    Attributes
    ----------
    statistic_ : ndarray
        I_i per area (NaN for islands).
    quadrant_ : ndarray of str
        ``"HH"``, ``"LH"``, ``"LL"``, ``"HL"`` from the signs of z_i and its lag.
    labels_ : ndarray of str
        Quadrant where significant, else ``"not significant"``; ``"island"`` without neighbours.
    expected_, variance_, z_ : ndarray
        Analytical moments and z-score under total randomisation (Anselin 1995, as esda
        ``EI``, ``VI``); ``expected_conditional_``, ``variance_conditional_``,
        ``z_conditional_`` under conditional randomisation (Sokal, Oden & Thomson 1998; esda
        ``EIc``, ``VIc``) — on the scale z_i·lag_i/m2 (Anselin's I, = I_i · n/(n − 1)).
    p_values_, p_adjusted_, significant_ : ndarray
        Pseudo p-values, corrected values, significance after correction.
    expected_sim_, z_sim_ : ndarray
        Mean of the permutation distribution and the observed value's z in it.
    n_ge_, n_le_ : ndarray of int
        Permuted statistics ≥ / ≤ the observed one.
    floor_ : SignificanceFloor
        Whether R allows significance under the correction, in plain words.
    permutations_ : int
        The number of permutations used (``"auto"`` resolved).
    seed_ : int
        The seed used. ``provenance_`` : dict — everything needed to repeat the run.

    References
    ----------
    Anselin, L. (1995). Local indicators of spatial association — LISA. Geographical Analysis
    27(2):93–115. Sokal, R. R., Oden, N. L. & Thomson, B. A. (1998). Local spatial
    autocorrelation in a biological model. Geographical Analysis 30(4):331–354.

    Examples
    --------
    >>> from dongne.datasets import seoul_dongs
    >>> from dongne import weights
    >>> dongs = seoul_dongs()
    >>> w = weights.queen(dongs, ids="dong_code")
    >>> y = dongs.set_index("dong_code")["basement_household_pct"]
    >>> lisa = LocalMoran(permutations=99, rng=1).fit(y, w)
    >>> sorted(set(lisa.quadrant_))
    ['HH', 'HL', 'LH', 'LL']
    """

    _statistic_name = "Local Moran's I"
    _statistic_name_ko = "국지적 모란 I (LISA)"

    def fit(
        self, y: Any, w: SpatialWeights, progress: Callable[[int, int], None] | None = None
    ) -> LocalMoran:
        """Compute I_i, analytical moments and permutation inference; return ``self``."""
        values, w_in = self._prepare(y, w)
        wt = self._weights(w_in)
        self.ids_ = wt.ids
        self.weights_ = wt
        islands = prep.warn_islands(_off_weights(wt), "local Moran's I")
        yv = values.to_numpy()
        self.values_ = yv
        n = len(yv)
        z = (yv - yv.mean()) / yv.std()
        m = wt.to_sparse()
        lag = m @ z
        den = float(z @ z)
        stat = (n - 1) * z * lag / den
        stat[islands] = np.nan
        self.statistic_ = stat
        self.lag_ = lag
        self.z_values_ = z
        self.quadrant_ = _quadrants(z, lag)
        self._moments(z, m)
        scale = (n - 1) * z / den
        shift = scale * m.diagonal() * z  # self-weights (kernel weights) are never permuted
        self._infer(z, wt, scale, shift, np.nan_to_num(stat), islands, progress)
        labels = np.where(self.significant_, self.quadrant_, "not significant").astype(object)
        labels[islands] = "island"
        self.labels_ = labels
        self.provenance_ = self._provenance(wt, "local_moran")
        return self

    def _moments(self, z: np.ndarray, m: sparse.csr_array) -> None:
        n = len(z)
        m2 = float(z @ z) / n
        m4 = float((z**4).sum()) / n
        b2 = m4 / m2**2
        wi = np.asarray(m.sum(axis=1)).ravel()
        wi2 = np.asarray(m.multiply(m).sum(axis=1)).ravel()
        n1 = n - 1
        self.expected_ = -wi / n1
        var = wi2 * (n - b2) / n1 + (wi**2 - wi2) * (2 * b2 - n) / (n1 * (n - 2)) - (wi / n1) ** 2
        self.variance_ = var
        self.expected_conditional_ = -(z**2 * wi) / (n1 * m2)
        self.variance_conditional_ = (
            (z / m2) ** 2 * (n / (n - 2)) * (wi2 - wi**2 / n1) * (m2 - z**2 / n1)
        )
        anselin = self.statistic_ * n / n1
        with np.errstate(divide="ignore", invalid="ignore"):
            self.z_ = (anselin - self.expected_) / np.sqrt(var)
            self.z_conditional_ = (anselin - self.expected_conditional_) / np.sqrt(
                self.variance_conditional_
            )

    def _frame_columns(self) -> dict[str, np.ndarray]:
        return {
            "value": self.values_,
            "local_i": self.statistic_,
            "quadrant": self.quadrant_,
            "z_analytic": self.z_conditional_,
            "p_analytic": _analytic_p(self.z_conditional_, self.alternative),
            "z_sim": self.z_sim_,
            "p_value": self.p_values_,
            "p_adjusted": self.p_adjusted_,
            "significant": self.significant_,
            "label": self.labels_,
            "n_neighbours": self.weights_.cardinalities,
        }

    def _label_texts(self) -> list[tuple[str, str, str]]:
        return [
            (
                "HH",
                "High-High areas (hot spots: high values among high neighbours)",
                "고-고 (핫스팟)",
            ),
            ("LL", "Low-Low areas (cold spots)", "저-저 (콜드스팟)"),
            ("HL", "High-Low outliers (high value among low neighbours)", "고-저 이상치"),
            ("LH", "Low-High outliers (low value among high neighbours)", "저-고 이상치"),
            ("island", "areas without neighbours (not tested)", "이웃 없는 지역(검정 불가)"),
        ]

    def _categories(self) -> Any:
        from dongne.report import LISA_CATEGORIES

        return LISA_CATEGORIES

    def _default_title(self, label: str) -> str:
        return f"국지적 모란 I 군집 지도 · LISA cluster map\n{label}"


class GetisOrd(_LocalStatistic):
    """Getis–Ord local G_i and G*_i with analytical z-scores and permutation inference.

    G_i = Σ_{j≠i} w_ij x_j / Σ_{j≠i} x_j; G*_i includes j = i with self-weight 1 (before any
    row-standardisation) and divides by Σ_j x_j. Values must be non-negative. The analytical
    z-score is the normal approximation of Getis & Ord (1992) / Ord & Getis (1995) as in esda.

    Parameters
    ----------
    star : bool, default True
        G*_i (hot-spot analysis as in ArcGIS and GeoDa) or G_i.
    transform : {"binary", "row"}, default "binary"
        Binary weights (the usual Gi* convention) or row-standardised (esda's default ``"R"``).
    permutations, alternative, correction, alpha, missing, permutation_method, rng, scheduler
        As :class:`LocalMoran`.

    Attributes
    ----------
    statistic_, expected_, variance_, z_ : ndarray
        G_i, E[G_i], Var[G_i], z (esda ``Gs``, ``EGs``, ``VGs``, ``Zs``).
    labels_ : ndarray of str
        ``"hot spot 99%"`` … ``"cold spot 99%"`` from the corrected p-value (≤ 0.01, 0.05,
        0.10) and the side of the permutation mean; ``"not significant"``; ``"island"``.
    p_values_, p_adjusted_, significant_, z_sim_, n_ge_, n_le_, floor_, permutations_, seed_,
    provenance_
        As :class:`LocalMoran`.

    References
    ----------
    Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of distance
    statistics. Geographical Analysis 24(3):189–206. Ord, J. K. & Getis, A. (1995). Local
    spatial autocorrelation statistics. Geographical Analysis 27(4):286–306.
    """

    _statistic_name = "Getis-Ord Gi*"
    _statistic_name_ko = "게티스-오드 Gi* 핫스팟 분석"

    def __init__(
        self,
        *,
        star: bool = True,
        permutations: int | Literal["auto"] = "auto",
        alternative: Alternative = "two-sided",
        correction: Correction = "fdr_bh",
        alpha: float = 0.05,
        transform: Literal["binary", "row"] = "binary",
        missing: prep.MissingPolicy = "raise",
        permutation_method: Literal["table", "exact"] = "table",
        rng: int | np.random.Generator | None = None,
        scheduler: Any = None,
    ) -> None:
        super().__init__(
            permutations=permutations,
            alternative=alternative,
            correction=correction,
            alpha=alpha,
            transform=transform,
            missing=missing,
            permutation_method=permutation_method,
            rng=rng,
            scheduler=scheduler,
        )
        self.star = star

    def fit(
        self, y: Any, w: SpatialWeights, progress: Callable[[int, int], None] | None = None
    ) -> GetisOrd:
        """Compute G_i (or G*_i), analytical z and permutation inference; return ``self``."""
        check_choice("transform", self.transform, ("binary", "row"))
        self._statistic_name = "Getis-Ord Gi*" if self.star else "Getis-Ord Gi"
        values, w_in = self._prepare(y, w)
        x = values.to_numpy()
        if (x < 0).any():
            raise DataError(
                f"{self.variable_} has negative values (areas "
                f"{', '.join(map(str, values.index[x < 0][:10]))}); Getis-Ord G needs "
                "non-negative values (shares of a total). Fix: use Local Moran's I instead."
            )
        base = _off_diagonal(w_in.binary())
        n = len(x)
        if self.star:
            base = (base + sparse.eye_array(n, format="csr")).tocsr()
        if self.transform == "row":
            sums = np.asarray(base.sum(axis=1)).ravel()
            base = sparse.diags_array(np.where(sums > 0, 1 / np.where(sums > 0, sums, 1), 0)) @ base
        base = sparse.csr_array(base)
        wt = SpatialWeights(
            base,
            w_in.ids,
            w_in.kind,
            "row" if self.transform == "row" else "none",
            {**w_in.params, "star": self.star},
        )
        self.ids_ = wt.ids
        self.weights_ = wt
        islands = prep.warn_islands(_off_weights(wt), "Getis-Ord G")
        remove_self = 0 if self.star else 1
        total = x.sum()
        denom = total - x * remove_self
        stat = (base @ x) / denom
        nn = n - remove_self
        mean = (total - x * remove_self) / nn
        mean_sq = ((x**2).sum() - x**2 * remove_self) / nn
        variance_x = mean_sq - mean**2
        card = np.asarray(base.sum(axis=1)).ravel()
        expected = card / nn
        var = card * (nn - card) / (nn - 1) / nn**2 * variance_x / mean**2
        stat[islands] = np.nan
        self.statistic_ = stat
        self.expected_ = expected
        self.variance_ = var
        with np.errstate(divide="ignore", invalid="ignore"):
            self.z_ = (stat - expected) / np.sqrt(var)
        self.values_ = x
        diag = base.diagonal()
        self._infer(x, wt, 1 / denom, diag * x / denom, np.nan_to_num(stat), islands, progress)
        self.labels_ = self._hotspot_labels(islands)
        self.provenance_ = self._provenance(wt, "getis_ord_star" if self.star else "getis_ord")
        self.provenance_["star"] = bool(self.star)
        return self

    def _hotspot_labels(self, islands: np.ndarray) -> np.ndarray:
        p = self.p_adjusted_ if self.correction != "geoda_fdr" else self.p_values_
        hot = self.statistic_ > np.where(
            np.isnan(self.expected_sim_), self.expected_, self.expected_sim_
        )
        labels = np.full(len(p), "not significant", dtype=object)
        for level, cut in (("90%", 0.10), ("95%", 0.05), ("99%", 0.01)):
            sig = np.nan_to_num(p, nan=1.0) <= cut
            if self.correction == "geoda_fdr":
                # GeoDa's FDR gives no adjusted p: only its discoveries get a class (by raw p).
                sig &= self.significant_
            labels[sig & hot] = f"hot spot {level}"
            labels[sig & ~hot] = f"cold spot {level}"
        labels[islands] = "island"
        return labels

    def _legend_title(self) -> str:
        if self.correction == "geoda_fdr":
            rule = f"Significant under geoda_fdr at α = {self.alpha},\nclassed by raw p"
            ko = "GeoDa FDR 유의 지역, 원 p값 기준"
        elif self.correction == "none":
            rule = "Class by p (no correction)"
            ko = "보정 없는 p값 기준"
        else:
            rule = f"Class by {self.correction}-adjusted p"
            ko = f"{self.correction} 보정 p값 기준"
        return f"{rule}\n({self._test_text()})\n{ko}"

    def _frame_columns(self) -> dict[str, np.ndarray]:
        return {
            "value": self.values_,
            "g": self.statistic_,
            "z_analytic": self.z_,
            "p_analytic": _analytic_p(self.z_, self.alternative),
            "z_sim": self.z_sim_,
            "p_value": self.p_values_,
            "p_adjusted": self.p_adjusted_,
            "significant": self.significant_,
            "label": self.labels_,
            "n_neighbours": _off_weights(self.weights_).cardinalities,
        }

    def _label_texts(self) -> list[tuple[str, str, str]]:
        texts = []
        p_name = {"none": "p", "geoda_fdr": "raw p, significant under geoda_fdr"}.get(
            self.correction, f"{self.correction}-adjusted p"
        )
        for side, ko in (("hot", "핫스팟"), ("cold", "콜드스팟")):
            for level, cut in (("99%", 0.01), ("95%", 0.05), ("90%", 0.10)):
                label = f"{side} spot {level}"
                beyond = cut > self.alpha
                en = f"{label} areas ({p_name} ≤ {cut:.2f}" + (
                    f"; not significant at alpha {self.alpha})" if beyond else ")"
                )
                ko_text = f"{ko} (신뢰수준 {level}" + (
                    f"; 유의수준 {self.alpha}에서는 유의하지 않음)" if beyond else ")"
                )
                texts.append((label, en, ko_text))
        texts.append(("island", "areas without neighbours (not tested)", "이웃 없는 지역"))
        return texts

    def _categories(self) -> Any:
        """The hot-spot palette with each class labelled by the p cut-off that defines it."""
        from dongne.report import HOTSPOT_CATEGORIES

        cuts = {"99%": 0.01, "95%": 0.05, "90%": 0.10}
        styles = dict(HOTSPOT_CATEGORIES)
        for key, (colour, text, *hatch) in HOTSPOT_CATEGORIES.items():
            level = key.rsplit(" ", 1)[-1]
            if level in cuts:
                side_en, side_ko = text.split(" / ")
                side_ko = side_ko.replace(" 신뢰수준", "")
                styles[key] = (colour, f"{side_en} (p ≤ {cuts[level]:.2f}) / {side_ko}", *hatch)
        grey = styles["not significant"][0]
        if self.correction == "geoda_fdr":
            styles["not significant"] = (grey, "Not significant / 유의하지 않음")
        else:
            styles["not significant"] = (grey, "Not significant (p > 0.10) / 유의하지 않음")
        return styles

    def _default_title(self, label: str) -> str:
        star = "Gi*" if self.star else "Gi"
        return f"핫스팟 분석 (Getis-Ord {star}) · Hot spots\n{label}"


def _quadrants(z: np.ndarray, lag: np.ndarray) -> np.ndarray:
    zp, lp = z > 0, lag > 0
    out = np.empty(len(z), dtype=object)
    out[zp & lp] = "HH"
    out[~zp & lp] = "LH"
    out[~zp & ~lp] = "LL"
    out[zp & ~lp] = "HL"
    return out


def _off_diagonal(w: SpatialWeights | sparse.csr_array) -> sparse.csr_array:
    m = w.to_sparse() if isinstance(w, SpatialWeights) else w
    m = sparse.csr_array(m - sparse.diags_array(m.diagonal()))
    m.eliminate_zeros()
    m.sort_indices()
    return m


def _off_weights(w: SpatialWeights) -> SpatialWeights:
    return SpatialWeights(_off_diagonal(w), w.ids, w.kind, "none")


def local_moran(y: Any, w: SpatialWeights, **options: Any) -> LocalMoran:
    """Shorthand for ``LocalMoran(**options).fit(y, w)``."""
    return LocalMoran(**options).fit(y, w)


def getis_ord(y: Any, w: SpatialWeights, **options: Any) -> GetisOrd:
    """Shorthand for ``GetisOrd(**options).fit(y, w)``."""
    return GetisOrd(**options).fit(y, w)
