"""Composite vulnerability indices and the stability of their rankings.

Three constructions, each from indicators with a declared direction (``"+"``: higher means more
vulnerable; ``"-"``: lower means more vulnerable):

* ``"percentile"`` — the CDC/ATSDR Social Vulnerability Index recipe (Flanagan et al. 2011):
  each indicator becomes its percentile rank (share of areas strictly below, as Excel's
  PERCENTRANK.INC), ranks are summed within themes and over all indicators, the sums are
  ranked again, and areas at or above the 90th percentile of an indicator are *flagged*.
* ``"zscore"`` — the mean of the directed z-scores (equal weights).
* ``"pca"`` — SoVI-style (Cutter, Boruff & Shirley 2003): principal components of the
  standardised indicators, components with eigenvalue > 1 kept (Kaiser), varimax-rotated,
  each oriented so that it rises with vulnerability, and their scores summed.

:class:`RankStability` asks how much a ranking depends on those choices: it redraws indicator
weights from a Dirichlet distribution, the normalisation and the aggregation many times
(Saisana, Saltelli & Tarantola 2005; Tate 2012) and reports, per area, the probability of being
among the k most vulnerable and an interval of plausible ranks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from dongne import __version__
from dongne._deprecate import renamed, renamed_attribute
from dongne._vocab import Lang, check_lang, pick_language
from dongne.detect._prepare import resolve_seed
from dongne.detect.inference import check_choice
from dongne.errors import DataError, DongneError, SpecificationError, format_rows
from dongne.io.provenance import attach
from dongne.parallel.scheduler import map_batches

__all__ = ["RankStability", "VulnerabilityIndex", "varimax"]

Direction = Literal["+", "-"]
_DIRECTIONS = {"+": 1.0, "-": -1.0, "higher": 1.0, "lower": -1.0}
METHODS = ("percentile", "zscore", "pca")
NORMALISATIONS = ("percentile", "zscore", "minmax")
AGGREGATIONS = ("additive", "geometric")


def _parse_indicators(indicators: Mapping[str, str] | Sequence[str]) -> dict[str, float]:
    if isinstance(indicators, Mapping):
        items = dict(indicators)
    else:
        items = {c: "+" for c in indicators}
    if len(items) < 2:
        raise SpecificationError("A composite index needs at least two indicators.")
    out = {}
    for col, d in items.items():
        if d not in _DIRECTIONS:
            raise SpecificationError(
                f"Direction of indicator {col!r} must be '+' (higher = more vulnerable) or '-' "
                f"(lower = more vulnerable). Got {d!r}."
            )
        out[col] = _DIRECTIONS[d]
    return out


def _indicator_matrix(
    data: pd.DataFrame, directions: dict[str, float], id_column: str | None, missing: str
) -> tuple[pd.DataFrame, pd.Index]:
    src = str(data.attrs.get("dongne", {}).get("source", "the data"))
    absent = [c for c in directions if c not in data.columns]
    if absent:
        raise DataError(
            f"{src}: indicator column(s) {', '.join(absent)} not found. Columns: "
            f"{', '.join(map(str, data.columns))}."
        )
    ids = pd.Index(data[id_column]) if id_column else data.index
    x = data[list(directions)].apply(pd.to_numeric, errors="coerce")
    x.index = ids
    bad = x.isna() & data[list(directions)].set_axis(ids).notna()
    if bad.to_numpy().any():
        col = bad.any().idxmax()
        raise DataError(
            f"{src}, column {col!r}: non-numeric values for areas "
            f"{format_rows(ids[bad[col].to_numpy()])}."
        )
    na = x.isna().any(axis=1)
    dropped = ids[na.to_numpy()]
    if na.any():
        if missing == "raise":
            cols = [c for c in x.columns if x[c].isna().any()]
            raise DataError(
                f"{src}: missing indicator values for areas {format_rows(dropped)} (columns "
                f"{', '.join(cols)}). Fix: fill them, or pass missing='drop' to rank only the "
                "complete areas (the others are listed in missing_ids_)."
            )
        x = x[~na]
    if len(x) < 3:
        raise DataError(f"{src}: only {len(x)} complete areas; an index needs at least 3.")
    const = [c for c in x.columns if np.ptp(x[c].to_numpy()) == 0]
    if const:
        raise DataError(
            f"{src}: indicator(s) {', '.join(const)} are constant; they cannot rank "
            "areas. Fix: remove them."
        )
    return x * pd.Series(directions), dropped


def percentile_rank(values: np.ndarray) -> np.ndarray:
    """Share of the other areas strictly below each value: (#{x_j < x_i}) / (n − 1), in [0, 1].

    Ties share the lower rank, as Excel's PERCENTRANK.INC used by the CDC/ATSDR SVI.
    """
    v = np.asarray(values, dtype=float)
    order = np.sort(v, axis=0)
    below = (
        np.searchsorted(order, v, side="left")
        if v.ndim == 1
        else np.column_stack(
            [np.searchsorted(order[:, j], v[:, j], side="left") for j in range(v.shape[1])]
        )
    )
    return below / (v.shape[0] - 1)


def varimax(loadings: np.ndarray, tol: float = 1e-10, max_iter: int = 500) -> np.ndarray:
    """Varimax rotation (Kaiser 1958) of a loadings matrix (indicators × components).

    Returns the rotated loadings; the rotation is orthogonal, so communalities are unchanged.
    """
    p, k = loadings.shape
    if k < 2:
        return loadings.copy()
    rotation = np.eye(k)
    criterion = 0.0
    for _ in range(max_iter):
        lam = loadings @ rotation
        u, s, vt = np.linalg.svd(loadings.T @ (lam**3 - lam @ np.diag((lam**2).sum(axis=0)) / p))
        rotation = u @ vt
        new = s.sum()
        if new < criterion * (1 + tol):
            break
        criterion = new
    return loadings @ rotation


class VulnerabilityIndex:
    """A composite vulnerability index from directed indicators.

    Parameters
    ----------
    indicators : mapping column → "+" or "-", or a list of columns (all "+")
        "+": higher values mean more vulnerable; "-": lower values do.
    method : {"percentile", "zscore", "pca"}, default "percentile"
    themes : mapping theme → list of columns, optional
        Groups of indicators (SVI: socioeconomic status, household composition, ...). Theme
        scores are reported for every method; by default every indicator is its own theme.
    flag_percentile : float, default 0.9
        Percentile rank at or above which an indicator is flagged (SVI flags).
    n_components : int, optional
        PCA components kept; default: eigenvalue > 1 (Kaiser criterion).
    missing : {"raise", "drop"}, default "raise"
        Areas with a missing indicator: an error, or left out of the ranking (listed in
        ``missing_ids_``).

    Attributes
    ----------
    scores_ : Series
        Index value per area (higher = more vulnerable).
    ranks_ : Series of int
        1 = most vulnerable (ties share the best rank).
    percentiles_ : Series
        Percentile rank of the score (0–1; SVI's RPL_THEMES for the percentile method).
    indicator_percentiles_ : DataFrame
        Percentile rank of each directed indicator.
    theme_scores_ : DataFrame
        Per theme: the sum of indicator percentiles (percentile method) or mean z-score.
    flags_ : DataFrame
        1 where an indicator is at or above ``flag_percentile``, plus per-theme and ``total``
        flag counts.
    loadings_, explained_variance_ratio_, eigenvalues_ : PCA outputs (``method="pca"``)
        Rotated loadings (indicators × components), the share of variance each kept
        component explains before rotation, and all eigenvalues of the correlation matrix.
    missing_ids_ : Index
    provenance_ : dict

    References
    ----------
    Flanagan, B. E., Gregory, E. W., Hallisey, E. J., Heitgerd, J. L. & Lewis, B. (2011). A social
    vulnerability index for disaster management. J. Homeland Security and Emergency Management
    8(1). CDC/ATSDR SVI documentation (2020). Cutter, S. L., Boruff, B. J. & Shirley, W. L.
    (2003). Social vulnerability to environmental hazards. Social Science Quarterly
    84(2):242–261.

    Examples
    --------
    >>> from dongne.datasets import seoul_gu
    >>> gu = seoul_gu()
    >>> vi = VulnerabilityIndex({"basement_household_pct_2015": "+",
    ...                          "livelihood_recipient_households_per_100_households": "+",
    ...                          "residential_env_satisfaction": "-"}).fit(gu, id_column="gu_name")
    >>> vi.ranks_.idxmin()
    '중랑구'
    """

    def __init__(
        self,
        indicators: Mapping[str, Direction] | Sequence[str],
        *,
        method: Literal["percentile", "zscore", "pca"] = "percentile",
        themes: Mapping[str, Sequence[str]] | None = None,
        flag_percentile: float = 0.9,
        n_components: int | None = None,
        missing: Literal["raise", "drop"] = "raise",
    ) -> None:
        self.indicators = indicators
        self.method = method
        self.themes = themes
        self.flag_percentile = flag_percentile
        self.n_components = n_components
        self.missing = missing

    def fit(self, data: pd.DataFrame, id_column: str | None = None) -> VulnerabilityIndex:
        """Compute the index for the areas (rows) of ``data``; return ``self``."""
        check_choice("method", self.method, METHODS)
        check_choice("missing", self.missing, ("raise", "drop"))
        directions = _parse_indicators(self.indicators)
        x, self.missing_ids_ = _indicator_matrix(data, directions, id_column, self.missing)
        themes = dict(self.themes) if self.themes else {c: [c] for c in directions}
        listed = [c for cols in themes.values() for c in cols]
        unknown = sorted(set(listed) - set(directions))
        problems = sorted(set(directions) ^ set(listed)) or sorted(
            {c for c in listed if listed.count(c) > 1}
        )
        if unknown or sorted(listed) != sorted(directions):
            raise SpecificationError(
                "themes must assign every indicator to exactly one theme; "
                f"unknown: {unknown}, unassigned or repeated: {problems}."
            )
        self.directions_ = directions
        pct = pd.DataFrame(percentile_rank(x.to_numpy()), index=x.index, columns=x.columns)
        z = (x - x.mean()) / x.std(ddof=1)
        self.indicator_percentiles_ = pct
        flags = (pct >= self.flag_percentile).astype(int)
        if self.method == "percentile":
            theme_scores = pd.DataFrame({t: pct[c].sum(axis=1) for t, c in themes.items()})
            score = theme_scores.sum(axis=1)
        elif self.method == "zscore":
            theme_scores = pd.DataFrame({t: z[c].mean(axis=1) for t, c in themes.items()})
            score = z.mean(axis=1)
        else:
            theme_scores = pd.DataFrame({t: z[c].mean(axis=1) for t, c in themes.items()})
            score = self._pca(z)
        for t, cols in themes.items():
            flags[f"theme_{t}"] = flags[cols].sum(axis=1)
        flags["total"] = flags[list(directions)].sum(axis=1)
        self.flags_ = flags
        self.theme_scores_ = theme_scores
        self.scores_ = score.rename("index")
        self.ranks_ = score.rank(ascending=False, method="min").astype(int).rename("rank")
        self.percentiles_ = pd.Series(
            percentile_rank(score.to_numpy()), index=x.index, name="percentile"
        )
        self.provenance_ = {
            "method": f"vulnerability_index/{self.method}",
            "indicators": {c: ("+" if d > 0 else "-") for c, d in directions.items()},
            "themes": {t: list(c) for t, c in themes.items()},
            "flag_percentile": self.flag_percentile,
            "n_areas": len(x),
            "missing_ids": [str(i) for i in self.missing_ids_],
            "dongne_version": __version__,
        }
        return self

    def _pca(self, z: pd.DataFrame) -> pd.Series:
        corr = np.corrcoef(z.to_numpy(), rowvar=False)
        eigenvalues, vectors = np.linalg.eigh(corr)
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues, vectors = eigenvalues[order], vectors[:, order]
        k = self.n_components or max(1, int((eigenvalues > 1).sum()))
        if not 1 <= k <= len(eigenvalues):
            raise SpecificationError(
                f"n_components must be between 1 and {len(eigenvalues)}; got {k}."
            )
        loadings = vectors[:, :k] * np.sqrt(eigenvalues[:k])
        rotated = varimax(loadings)
        # Orient each component so that it rises with vulnerability (directed indicators).
        signs = np.where(rotated.sum(axis=0) < 0, -1.0, 1.0)
        rotated = rotated * signs
        scores = z.to_numpy() @ rotated @ np.linalg.inv(rotated.T @ rotated)
        names = [f"component_{i + 1}" for i in range(k)]
        self.loadings_ = pd.DataFrame(rotated, index=z.columns, columns=names)
        self.eigenvalues_ = eigenvalues
        self.explained_variance_ratio_ = eigenvalues[:k] / eigenvalues.sum()
        self.component_scores_ = pd.DataFrame(scores, index=z.index, columns=names)
        return pd.Series(scores.sum(axis=1), index=z.index)

    def _check_fitted(self) -> None:
        if not hasattr(self, "scores_"):
            raise DongneError("This VulnerabilityIndex is not fitted yet; call fit(data).")

    def to_frame(self) -> pd.DataFrame:
        """One row per area: score, rank, percentile, theme scores and flags."""
        self._check_fitted()
        frame = pd.concat(
            [
                self.scores_,
                self.ranks_,
                self.percentiles_,
                self.theme_scores_.add_prefix("theme_score_"),
                self.flags_.add_prefix("flag_"),
            ],
            axis=1,
        )
        attach(frame, self.provenance_)
        return frame

    def summary(self, names: pd.Series | None = None, top: int = 10, lang: Lang = "both") -> str:
        """The most vulnerable areas and what drives them (``lang``: "both", "ko", "en")."""
        check_lang(lang)
        self._check_fitted()
        frame = self.to_frame().sort_values("rank")
        label = (lambda i: f"{names.get(i, i)}") if names is not None else str
        head = frame.head(top)
        en = [
            f"Vulnerability index ({self.method}) from {len(self.directions_)} indicators "
            f"over {len(frame)} areas; rank 1 = most vulnerable.",
        ]
        ko = [
            f"취약성 지수({self.method}), 지표 {len(self.directions_)}개, 지역 {len(frame)}곳; "
            "1위가 가장 취약합니다."
        ]
        for i, r in head.iterrows():
            worst = self.indicator_percentiles_.loc[i].sort_values(ascending=False).head(2)
            drivers = ", ".join(f"{c} (pct {v:.2f})" for c, v in worst.items())
            en.append(
                f"  {int(r['rank']):>3}. {label(i)} — score {r['index']:.3f}; "
                f"{int(r['flag_total'])} flag(s); highest: {drivers}"
            )
            ko.append(
                f"  {int(r['rank']):>3}위 {label(i)} (지수 {r['index']:.3f}, "
                f"상위 {100 * (1 - self.flag_percentile):.0f}% 지표 {int(r['flag_total'])}개)"
            )
        if self.method == "pca":
            share = self.explained_variance_ratio_.sum()
            en.append(
                f"  {self.loadings_.shape[1]} components kept, explaining "
                f"{100 * share:.1f}% of the variance."
            )
        if len(self.missing_ids_):
            en.append(f"  Left out (missing values): {', '.join(map(str, self.missing_ids_))}")
        return pick_language(lang, "\n".join(en), "\n".join(ko))

    def plot(
        self,
        areas: Any,
        *,
        id_column: str | None = None,
        path: str | os.PathLike[str] | None = None,
        title: str | None = None,
        label: str | None = None,
        source: str | None = None,
        **options: Any,
    ) -> Any:
        """Choropleth of the index (quintiles by default) on ``areas``.

        ``label`` names the index in the title (default: "Vulnerability index");
        ``source`` is the data source, written in the note under the map with the
        indicators and the method.
        """
        from dongne.report import choropleth

        self._check_fitted()
        keys = areas[id_column] if id_column else areas.index.to_series()
        mapped = areas.copy()
        mapped["index"] = self.scores_.reindex(keys.to_numpy()).to_numpy()
        what = label or "Vulnerability index"
        used = ", ".join(f"{c} ({d})" for c, d in self.directions_.items())
        note = f"Index ({self.method}) of {used}; dongne {__version__}" + (
            f"\nData: {source}" if source else ""
        )
        return choropleth(
            mapped,
            "index",
            title=title or f"취약성 지수 · {what} ({self.method})",
            legend_title="Index score (higher = more vulnerable) / 지수 (높을수록 취약)",
            path=path,
            **{"note": note, **options},
        )


class RankStability:
    """How stable is a vulnerability ranking? Monte Carlo over weights and construction choices.

    Each draw picks indicator weights from a symmetric Dirichlet distribution (concentration
    ``concentration``; large values stay near equal weights, 1 is uniform over all weightings),
    a normalisation (percentile rank, z-score or min–max) and an aggregation (weighted sum, or
    weighted geometric mean of min–max-rescaled values), then ranks the areas.

    Parameters
    ----------
    indicators : mapping column → "+" / "-", or list of columns
    top_k : int, default 10
        Report the probability of being among the ``top_k`` most vulnerable.
    replications : int, default 1000
        Monte Carlo draws of weights, normalisation and aggregation (``n_draws`` before 0.2).
    concentration : float, default 1.0
    normalisations : sequence, default ("percentile", "zscore", "minmax")
    aggregations : sequence, default ("additive", "geometric")
    interval : float, default 0.9
        Coverage of the reported rank interval.
    missing : {"raise", "drop"}
    rng : int, Generator or None
        Draws are made in batches of 100, batch *b* from ``default_rng([seed, b])``, so the
        result does not depend on how batches are scheduled.
    scheduler : None, "threads", "processes", str or dask.distributed.Client
        Where the batches run (:mod:`dongne.parallel`); ``ranks_`` are identical for every
        scheduler.

    Attributes
    ----------
    top_k_probability_ : Series
        Share of draws in which the area ranks within ``top_k``.
    rank_median_, rank_low_, rank_high_ : Series
        Median rank and the central ``interval`` of the rank distribution.
    baseline_rank_ : Series
        Rank under equal weights, percentile normalisation, additive aggregation.
    seed_, provenance_

    References
    ----------
    Saisana, M., Saltelli, A. & Tarantola, S. (2005). Uncertainty and sensitivity analysis
    techniques as tools for the quality assessment of composite indicators. JRSS A
    168(2):307–323. Tate, E. (2012). Social vulnerability indices: a comparative assessment
    using uncertainty and sensitivity analysis. Natural Hazards 63:325–347.
    """

    _BATCH = 100

    n_draws = renamed_attribute("n_draws", "replications")

    @renamed(n_draws="replications")
    def __init__(
        self,
        indicators: Mapping[str, Direction] | Sequence[str],
        *,
        top_k: int = 10,
        replications: int = 1000,
        concentration: float = 1.0,
        normalisations: Sequence[str] = NORMALISATIONS,
        aggregations: Sequence[str] = AGGREGATIONS,
        interval: float = 0.9,
        missing: Literal["raise", "drop"] = "raise",
        rng: int | np.random.Generator | None = None,
        scheduler: Any = None,
    ) -> None:
        self.indicators = indicators
        self.top_k = top_k
        self.replications = replications
        self.concentration = concentration
        self.normalisations = normalisations
        self.aggregations = aggregations
        self.interval = interval
        self.missing = missing
        self.rng = rng
        self.scheduler = scheduler

    def fit(
        self,
        data: pd.DataFrame,
        id_column: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> RankStability:
        """Run the Monte Carlo; return ``self``."""
        for n in self.normalisations:
            check_choice("normalisations", n, NORMALISATIONS)
        for a in self.aggregations:
            check_choice("aggregations", a, AGGREGATIONS)
        if self.replications < 1 or self.concentration <= 0 or not 0 < self.interval < 1:
            raise SpecificationError(
                "replications must be >= 1, concentration > 0 and interval in (0, 1); got "
                f"{self.replications}, {self.concentration}, {self.interval}."
            )
        directions = _parse_indicators(self.indicators)
        x, self.missing_ids_ = _indicator_matrix(data, directions, id_column, self.missing)
        n = x.shape[0]
        if not 1 <= self.top_k <= n:
            raise SpecificationError(f"top_k must be between 1 and {n}; got {self.top_k}.")
        if n * self.replications > 50_000_000:
            raise SpecificationError(
                f"{n} areas × {self.replications} draws would keep "
                f"{n * self.replications:,} ranks; use at most 50 million. Fix: pass fewer "
                "replications=."
            )
        v = x.to_numpy()
        normalised = {
            "percentile": percentile_rank(v),
            "zscore": (v - v.mean(axis=0)) / v.std(axis=0, ddof=1),
            "minmax": (v - v.min(axis=0)) / np.ptp(v, axis=0),
        }
        self.seed_ = resolve_seed(self.rng)
        parts = map_batches(
            _rank_batch,
            (normalised, list(self.normalisations), list(self.aggregations), self.concentration),
            self.seed_,
            self.replications,
            batch_size=self._BATCH,
            scheduler=self.scheduler,
            progress=progress,
        )
        ranks = np.concatenate([part[0] for part in parts], axis=1)
        choices = [choice for part in parts for choice in part[1]]
        lo = (1 - self.interval) / 2
        self.top_k_probability_ = pd.Series(
            (ranks <= self.top_k).mean(axis=1), index=x.index, name=f"p_top_{self.top_k}"
        )
        self.rank_median_ = pd.Series(np.median(ranks, axis=1), index=x.index, name="rank_median")
        self.rank_low_ = pd.Series(
            np.quantile(ranks, lo, axis=1, method="inverted_cdf"), index=x.index, name="rank_low"
        )
        self.rank_high_ = pd.Series(
            np.quantile(ranks, 1 - lo, axis=1, method="inverted_cdf"),
            index=x.index,
            name="rank_high",
        )
        self.baseline_rank_ = pd.Series(
            _rank_desc(normalised["percentile"].mean(axis=1)), index=x.index, name="rank_baseline"
        )
        self.ranks_ = ranks
        self.choices_ = choices
        self.provenance_ = {
            "method": "rank_stability",
            "indicators": {c: ("+" if d > 0 else "-") for c, d in directions.items()},
            "replications": self.replications,
            "concentration": self.concentration,
            "normalisations": list(self.normalisations),
            "aggregations": list(self.aggregations),
            "top_k": self.top_k,
            "interval": self.interval,
            "seed": int(self.seed_),
            "batch_size": self._BATCH,
            "dongne_version": __version__,
        }
        return self

    def to_frame(self) -> pd.DataFrame:
        """One row per area: baseline rank, P(top k), median rank and rank interval."""
        if not hasattr(self, "ranks_"):
            raise DongneError("This RankStability is not fitted yet; call fit(data).")
        frame = pd.concat(
            [
                self.baseline_rank_,
                self.top_k_probability_,
                self.rank_median_,
                self.rank_low_,
                self.rank_high_,
            ],
            axis=1,
        )
        attach(frame, self.provenance_)
        return frame.sort_values(["rank_baseline"])

    def summary(self, names: pd.Series | None = None, lang: Lang = "both") -> str:
        """Which areas are robustly among the most vulnerable (``lang``: "both", "ko", "en")."""
        check_lang(lang)
        frame = self.to_frame()
        label = (lambda i: f"{names.get(i, i)}") if names is not None else str
        sure = frame[frame[f"p_top_{self.top_k}"] >= 0.9]
        unsure = frame[(frame[f"p_top_{self.top_k}"] >= 0.1) & (frame[f"p_top_{self.top_k}"] < 0.9)]
        pct = f"{100 * self.interval:.0f}%"
        en = [
            f"Rank stability over {self.replications} draws of weights (Dirichlet "
            f"{self.concentration}), normalisation and aggregation (seed {self.seed_}).",
            f"  In the top {self.top_k} in at least 90% of draws: "
            + (
                ", ".join(
                    f"{label(i)} (ranks {int(r.rank_low)}–{int(r.rank_high)})"
                    for i, r in sure.iterrows()
                )
                or "none"
            ),
            f"  Uncertain (10–90%): {_listing(unsure, label, f'p_top_{self.top_k}')}",
            f"  Rank intervals cover the central {pct} of draws.",
        ]
        ko = [
            f"순위 안정성: 가중치·정규화·결합 방법을 {self.replications}회 바꿔 계산했습니다.",
            f"  90% 이상 상위 {self.top_k}위 안에 든 지역: "
            + (", ".join(label(i) for i in sure.index) or "없음"),
        ]
        return pick_language(lang, "\n".join(en), "\n".join(ko))

    def plot(
        self,
        areas: Any,
        *,
        id_column: str | None = None,
        path: str | os.PathLike[str] | None = None,
        title: str | None = None,
        label: str | None = None,
        source: str | None = None,
        **options: Any,
    ) -> Any:
        """Map of the probability of being among the ``top_k`` most vulnerable.

        Classes ``≤ 0.1``, ``0.1 – 0.5``, ``0.5 – 0.9`` and ``> 0.9`` (or up to the largest
        probability) of the share of draws. ``label`` names the index in the title;
        ``source`` is the data source written under the map.
        """
        from dongne.report import choropleth

        keys = areas[id_column] if id_column else areas.index.to_series()
        mapped = areas.copy()
        col = f"p_top_{self.top_k}"
        mapped[col] = self.top_k_probability_.reindex(keys.to_numpy()).to_numpy()
        what = f" ({label})" if label else ""
        note = (
            f"{self.replications} draws of weights, normalisation and aggregation; seed "
            f"{self.seed_}; dongne {__version__}" + (f"\nData: {source}" if source else "")
        )
        return choropleth(
            mapped,
            col,
            title=title
            or f"상위 {self.top_k}위 확률 · Probability of being in the top {self.top_k}{what}",
            legend_title=f"Share of draws in the top {self.top_k} / 상위 {self.top_k}위 비율",
            scheme="fixed",
            bins=[0.1, 0.5, 0.9],
            path=path,
            **{"note": note, **options},
        )


def _listing(frame: pd.DataFrame, label: Callable[[Any], str], col: str, limit: int = 12) -> str:
    ordered = frame.sort_values(col, ascending=False)
    shown = ", ".join(f"{label(i)} ({100 * p:.0f}%)" for i, p in ordered[col].head(limit).items())
    more = f" and {len(ordered) - limit} more" if len(ordered) > limit else ""
    return (shown + more) or "none"


def _rank_batch(
    normalised: dict[str, np.ndarray],
    normalisations: list[str],
    aggregations: list[str],
    concentration: float,
    seed: int,
    first: int,
    count: int,
) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Ranks (areas × ``count``) and choices of draws ``first ..``, from ``[seed, batch]``."""
    n, m = next(iter(normalised.values())).shape
    gen = np.random.default_rng([seed, first // RankStability._BATCH])
    weights = gen.dirichlet(np.full(m, float(concentration)), size=count)
    norm_pick = gen.integers(len(normalisations), size=count)
    agg_pick = gen.integers(len(aggregations), size=count)
    ranks = np.empty((n, count), dtype=np.int32)
    choices = []
    for d in range(count):
        norm = normalisations[norm_pick[d]]
        agg = aggregations[agg_pick[d]]
        values = normalised[norm]
        if agg == "additive":
            score = values @ weights[d]
        else:
            scaled = (values - values.min(axis=0)) / np.ptp(values, axis=0)
            score = np.exp(np.log(0.01 + 0.99 * scaled) @ weights[d])
        ranks[:, d] = _rank_desc(score)
        choices.append((norm, agg))
    return ranks, choices


def _rank_desc(score: np.ndarray) -> np.ndarray:
    """Ranks, 1 = highest score; ties share the best rank."""
    return pd.Series(score).rank(ascending=False, method="min").to_numpy(dtype=np.int32)
