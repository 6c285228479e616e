"""Space-time scan statistic: cylinders (circle × time interval), as SaTScan.

A cylinder is a circle of the purely spatial scan (:mod:`dongne.detect.scan`: centred on an
area, growing through the nearest areas up to a share of the cases or population, areas at
equal distance together) times an interval of consecutive time steps of at most
``max_duration`` steps. For each cylinder with ``c`` cases and ``μ`` expected cases the
log-likelihood ratio ``c log(c/μ) + (C − c) log((C − c)/(C − μ))`` (high rates, ``c > μ``)
is computed; the cylinder with the largest LLR is the most likely cluster, tested against the
maxima of Monte Carlo replicates, and each centre's best cylinder that shares no area with a
more likely one is a secondary cluster (SaTScan's "no geographical overlap").

Two models:

* ``"permutation"`` — the space-time permutation model (Kulldorff et al. 2005): cases only,
  ``μ = C_z · C_t / C`` (area total × step total / grand total); replicates shuffle the cases'
  time stamps, keeping every area's and every step's total. It adjusts for purely spatial
  and purely temporal variation, so it finds *space-time interaction*: places where cases
  rise now more than elsewhere.
* ``"poisson"`` — the space-time Poisson model (Kulldorff 2001): cases against a population
  (per area, or per area and step) or expected counts; replicates allocate the cases
  multinomially in proportion to the expected counts.

Analyses: ``"retrospective"`` scans every interval; ``"prospective"`` only the intervals that
end at the last step (clusters still "alive": surveillance), and reports SaTScan's recurrence
interval, ``1 / p`` analyses — with one analysis per step, "once in N days".

Monte Carlo replicates follow the purely spatial scan's contract: replicate ``r`` is a pure
function of ``(seed, r)``, run in fixed seeded batches (:mod:`dongne.parallel`), so the
maxima are bit-identical for any thread count, batching or Dask cluster.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from dongne import __version__
from dongne._vocab import Lang, check_lang, pick_language
from dongne._warnings import user_stacklevel
from dongne.detect import _prepare as prep
from dongne.detect._scan_core import (
    build_windows,
    conditional_shares,
    first_of_duplicates,
    gumbel_pvalues,
    mc_pvalue,
    threads,
)
from dongne.detect._scan_inputs import resolve_locations
from dongne.detect.inference import check_choice
from dongne.errors import DataError, DongneWarning, SpecificationError, format_rows
from dongne.parallel.scheduler import map_batches
from dongne.spacetime import _kernels as kern
from dongne.spacetime.cube import SpaceTimeCube

__all__ = ["SpaceTimeScan", "recurrence_text"]

MODELS: tuple[str, ...] = ("permutation", "poisson")
ANALYSES: tuple[str, ...] = ("retrospective", "prospective")


class SpaceTimeScan:
    """Space-time scan statistic (SaTScan's space-time permutation and Poisson models).

    Parameters
    ----------
    model : {"permutation", "poisson"}, default "permutation"
        Space-time permutation (cases only) or space-time Poisson (cases vs population or
        expected counts).
    analysis : {"retrospective", "prospective"}, default "retrospective"
        Every interval, or only intervals ending at the last step (surveillance).
    max_population_share : float, default 0.5
        Largest share of the cases (permutation model; SaTScan's "percent of population at
        risk", whose population is the cases) or of the population (Poisson) in a circle.
    max_radius : float, optional
        Largest circle radius, in metres for geographic coordinates.
    max_duration : float or int, default 0.5
        Longest interval: a float in (0, 1) is a share of the study period (SaTScan's default
        50%: ``floor(0.5 · T)`` steps); an int ≥ 1 is a number of steps.
    min_cases : int, default 2
        Fewest cases in a cluster (SaTScan's default 2).
    replications : int, default 999
        Monte Carlo replications R (0: no inference).
    gumbel : bool, default False
        Also report Gumbel-approximated p-values.
    max_clusters : int, default 10
        Most clusters reported.
    alpha : float, default 0.05
        Level used by ``significant`` and the summary.
    rng : int, numpy.random.Generator or None
        Seed of the Monte Carlo streams; None means 0.
    scheduler : None, "threads", "processes", address or dask Client
        Where batches of replicates run; results are identical everywhere.

    Attributes
    ----------
    clusters_ : pandas.DataFrame
        One row per cluster: ``cluster`` (1 = most likely), ``centre``, ``members`` (list of
        area ids, nearest first), ``n_areas``, ``radius``, ``start``, ``end`` (step labels),
        ``duration`` (steps), ``cases``, ``expected``, ``observed_expected``, ``llr``,
        ``p_value``, ``recurrence_steps`` (prospective), ``significant``.
    llr_replicates_ : numpy.ndarray
        Maximum LLR of each replicate.
    expected_ : numpy.ndarray
        Expected cases per area and step.
    cube_ : SpaceTimeCube
        The cases.
    seed_ : int
    provenance_ : dict

    References
    ----------
    Kulldorff, M. (2001). Prospective time periodic geographical disease surveillance using a
    scan statistic. *Journal of the Royal Statistical Society A* 164(1):61–72.
    Kulldorff, M., Heffernan, R., Hartman, J., Assunção, R. & Mostashari, F. (2005). A
    space-time permutation scan statistic for disease outbreak detection. *PLoS Medicine*
    2(3):e59. SaTScan User Guide v10, www.satscan.org.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dongne.spacetime import cube_from_long
    >>> rows = [(a, t, 1) for a in range(9) for t in range(10)]
    >>> rows += [(4, 9, 8)]  # 8 more cases in the middle area at the last step
    >>> table = pd.DataFrame(rows, columns=["area", "t", "n"])
    >>> cube = cube_from_long(table, "area", "t", "n", duplicates="sum")
    >>> xy = np.array([[x, y] for y in range(3) for x in range(3)], dtype=float)
    >>> scan = SpaceTimeScan(max_duration=3, replications=99, rng=1).fit(cube, xy)
    >>> scan.clusters_.loc[0, ["members", "start", "end"]].tolist()
    [[4], '9', '9']
    """

    def __init__(
        self,
        model: Literal["permutation", "poisson"] = "permutation",
        *,
        analysis: Literal["retrospective", "prospective"] = "retrospective",
        max_population_share: float = 0.5,
        max_radius: float | None = None,
        max_duration: float | int = 0.5,
        min_cases: int = 2,
        replications: int = 999,
        gumbel: bool = False,
        max_clusters: int = 10,
        alpha: float = 0.05,
        rng: int | np.random.Generator | None = None,
        scheduler: Any = None,
    ) -> None:
        self.model = model
        self.analysis = analysis
        self.max_population_share = max_population_share
        self.max_radius = max_radius
        self.max_duration = max_duration
        self.min_cases = min_cases
        self.replications = replications
        self.gumbel = gumbel
        self.max_clusters = max_clusters
        self.alpha = alpha
        self.rng = rng
        self.scheduler = scheduler

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments."""
        names = (
            "model analysis max_population_share max_radius max_duration min_cases "
            "replications gumbel max_clusters alpha rng scheduler"
        ).split()
        return {name: getattr(self, name) for name in names}

    # ------------------------------------------------------------------ validation
    def _validate(self, steps: int) -> int:
        """Check the parameters; return the longest interval in steps."""
        check_choice("model", self.model, MODELS)
        check_choice("analysis", self.analysis, ANALYSES)
        for name, low in (("replications", 0), ("max_clusters", 1), ("min_cases", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise SpecificationError(
                    f"The {name!r} parameter must be an int >= {low}. Got {value!r} instead."
                )
        share = self.max_population_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise SpecificationError(
                f"The 'max_population_share' parameter must be in (0, 1]. Got {share!r}."
            )
        d = self.max_duration
        if isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1:
            return int(min(d, steps))
        if isinstance(d, float) and 0 < d < 1:
            return max(1, math.floor(d * steps + 1e-9))
        raise SpecificationError(
            "The 'max_duration' parameter must be a share of the study period in (0, 1) or a "
            f"whole number of steps >= 1. Got {d!r} instead."
        )

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        cases: SpaceTimeCube,
        locations: Any,
        *,
        population: Any = None,
        expected: Any = None,
        coordinates: str = "cartesian",
        progress: Callable[[int, int], None] | None = None,
    ) -> SpaceTimeScan:
        """Scan the cube of cases.

        Parameters
        ----------
        cases : SpaceTimeCube
            Case counts per area and step.
        locations : GeoDataFrame, DataFrame or array
            Where the areas are: a GeoDataFrame indexed by area id (centroids in a metric
            CRS), or an ``n × 2`` array / DataFrame indexed by area id of coordinates read
            as ``coordinates``.
        population : SpaceTimeCube, Series or array, optional
            Poisson model: population per area (constant over time) or per area and step.
        expected : SpaceTimeCube, optional
            Poisson model: expected cases per area and step instead of a population.
        coordinates : {"cartesian", "latlon", "lonlat"}
            How array coordinates are read (great-circle distances for lat/lon).
        progress : callable, optional
            ``progress(done, total)`` after each batch of replicates.

        Returns
        -------
        SpaceTimeScan
            ``self``, fitted.
        """
        if not isinstance(cases, SpaceTimeCube) or cases.kind != "counts":
            raise SpecificationError(
                "cases must be a SpaceTimeCube of counts (build it with cube_from_long(..., "
                "kind='counts') or cube_from_events)."
            )
        counts = cases.values
        n, steps = counts.shape
        max_len = self._validate(steps)
        total = float(counts.sum())
        if total <= 0:
            raise DataError("The cube holds no cases. Fix: check the case column and period.")
        mu = self._expected(cases, population, expected)
        split = self._separable(cases, population, expected)
        px, py, info = _locations(locations, cases.areas, coordinates)
        weight = counts.sum(axis=1) if self.model == "permutation" else mu.sum(axis=1)
        keep = first_of_duplicates(px, py)
        offsets, entries = build_windows(
            px, py, px[keep], py[keep], weight, self.max_population_share * weight.sum(),
            math.inf if self.max_radius is None else float(self.max_radius), n,
            info["great_circle"],
        )  # fmt: skip
        end_lo = steps - 1 if self.analysis == "prospective" else 0
        args = (total, end_lo, max_len, float(self.min_cases))
        pros = None
        if split is not None and self.analysis == "prospective":
            if len(entries) * max_len <= kern.PROSPECTIVE_TABLE:
                # replicates: blocks of circles over the last max_len steps (observed: cells)
                tail = split[1][steps - max_len :] - split[1][steps - max_len]
                rcum, bend = kern.plan_blocks(
                    offsets, entries, split[0], tail, split[2], max_len, kern.KAPPA
                )
                pros = (rcum, bend, tail[-1] - tail[-2::-1], split[2])
            split = None
        if split is not None:  # retrospective, separable expected counts: blocks of circles
            rcum, bend = kern.plan_blocks(offsets, entries, *split, max_len, kern.KAPPA)
            retro = (rcum, bend, split[1], split[2])
            with threads(len(entries) * steps):
                best = kern.scan_observed_retro(
                    offsets, entries, *retro[:2], counts, *retro[2:], total, max_len,
                    float(self.min_cases), True,
                )  # fmt: skip
        else:
            retro = None
            with threads(len(entries) * steps * max_len):
                best = kern.scan_observed(offsets, entries, counts, mu, *args)
        self.seed_ = prep.resolve_seed(self.rng)
        self.llr_replicates_ = self._replicates(
            offsets, entries, counts, mu, args, progress, retro, pros
        )
        self.cube_, self.expected_, self.max_steps_ = cases, mu, max_len
        self.n_windows_ = int(np.count_nonzero(entries >= 0))
        self._info = info
        self.clusters_ = self._clusters(best, offsets, entries, px, py, np.flatnonzero(keep))
        self.provenance_ = self._provenance(info)
        return self

    def _expected(self, cube: SpaceTimeCube, population: Any, expected: Any) -> np.ndarray:
        counts = cube.values
        total = counts.sum()
        if self.model == "permutation":
            if population is not None or expected is not None:
                raise SpecificationError(
                    "The space-time permutation model uses cases only. Fix: leave out "
                    "population/expected, or use model='poisson'."
                )
            return np.outer(counts.sum(axis=1), counts.sum(axis=0)) / total
        if expected is not None:
            mu = _aligned(expected, cube, "expected")
            return mu * total / mu.sum()
        if population is None:
            raise SpecificationError(
                "model='poisson' needs population (per area, or a cube per area and step) or "
                "expected. Fix: pass population=... (--population), or use model='permutation'."
            )
        pop = _aligned(population, cube, "population")
        return pop * total / pop.sum()

    def _separable(self, cube: SpaceTimeCube, population: Any, expected: Any):
        """``(weight, wcum, denom)`` with expected counts ``weight[a] · w[t] / denom``
        (``wcum`` = cumulative ``w``), or None.

        Permutation model: ``C_a · C_t / C`` (whole numbers until the last division). Poisson
        with one population per area: ``pop_a · C · 1 / Σ pop`` per step. A cylinder's expected
        count is then ``Σ weight · (wcum[t2 + 1] − wcum[t1]) / denom``, O(1) per cylinder.
        Expected counts that vary by area and step keep the cell sums. A prospective scan
        uses the split for its replicates' bounds only: its cylinders' expected counts are
        the cell sums (:func:`kern.prospective_expected`).
        """
        counts = cube.values
        total = float(counts.sum())
        if self.model == "permutation":
            wcum = np.concatenate([[0.0], np.cumsum(counts.sum(axis=0))])
            return counts.sum(axis=1), wcum, total
        if expected is not None or isinstance(population, SpaceTimeCube):
            return None
        pop = _aligned(population, cube, "population")[:, 0]
        steps = counts.shape[1]
        return pop * total, np.arange(steps + 1, dtype=float), float(pop.sum() * steps)

    def _replicates(self, offsets, entries, counts, mu, args, progress, retro, pros) -> np.ndarray:
        reps = int(self.replications)
        if reps == 0:
            return np.zeros(0)
        whole = np.round(counts).astype(np.int64)
        case_area = np.repeat(np.arange(counts.shape[0]), whole.sum(axis=1))
        case_time = np.concatenate([np.repeat(np.arange(counts.shape[1]), row) for row in whole])
        cond = conditional_shares(mu.ravel())
        code = kern.PERMUTATION if self.model == "permutation" else kern.POISSON
        draws = (code, case_area, case_time.astype(np.int64), cond, mu)
        if pros is not None:
            total, _, max_len, min_cases = args
            batch = _pros_batch
            shared = (offsets, entries, *pros, *draws, total, max_len, min_cases)
        elif retro is None:
            batch, shared = _replicate_batch, (offsets, entries, *draws, *args)
        else:
            total, _, max_len, min_cases = args
            batch = _retro_batch
            shared = (offsets, entries, *retro, *draws, total, max_len, min_cases)
        parts = map_batches(
            batch, shared, self.seed_, reps, scheduler=self.scheduler, progress=progress,
        )  # fmt: skip
        return np.concatenate(parts)

    # ------------------------------------------------------------------ clusters
    def _clusters(self, best, offsets, entries, px, py, centres) -> pd.DataFrame:
        """Each centre's best cylinder in decreasing LLR, kept when it shares no area with a
        more likely cluster; Monte Carlo (and Gumbel) p-values against the replicate maxima."""
        areas = self.cube_.areas
        labels = self.cube_.step_labels()
        used = np.zeros(len(areas), dtype=bool)
        rows: list[dict[str, Any]] = []
        for j in _report_order(best, offsets):
            llr, pos = best[j, 0], int(best[j, 1])
            if llr <= 0 or pos < 0 or len(rows) >= self.max_clusters:
                break
            block = entries[offsets[j] : pos + 1]
            members = np.where(block >= 0, block, ~block)
            if used[members].any():
                continue
            used[members] = True
            t1, t2 = int(best[j, 2]), int(best[j, 3])
            c, e = best[j, 4], best[j, 5]
            centre = centres[j]
            rows.append(
                {
                    "cluster": len(rows) + 1,
                    "centre": areas[centre],
                    "members": list(areas[members]),
                    "n_areas": len(members),
                    "radius": self._radius(px, py, centre, members),
                    "start": labels[t1],
                    "end": labels[t2],
                    "duration": t2 - t1 + 1,
                    "cases": c,
                    "expected": e,
                    "observed_expected": c / e,
                    "llr": llr,
                }
            )
        frame = pd.DataFrame(rows, columns=_CLUSTER_COLUMNS[:12])
        return self._pvalues(frame)

    def _radius(self, px, py, centre, members) -> float:
        dx, dy = px[members], py[members]
        cx, cy = px[centre], py[centre]
        if self._info["great_circle"]:
            h = (
                np.sin(0.5 * (dx - cx)) ** 2
                + np.cos(dx) * np.cos(cx) * np.sin(0.5 * (dy - cy)) ** 2
            )
            return float(2 * self._info["earth_radius_m"] * np.arcsin(np.sqrt(h.max())))
        return float(np.sqrt((dx - cx) ** 2 + (dy - cy) ** 2).max())

    def _pvalues(self, frame: pd.DataFrame) -> pd.DataFrame:
        reps = self.llr_replicates_
        if len(reps):
            frame["p_value"] = [mc_pvalue(x, reps) for x in frame["llr"]]
        else:
            frame["p_value"] = np.nan
        if self.gumbel:
            frame["p_gumbel"] = gumbel_pvalues(frame["llr"].to_numpy(), reps)
        if self.analysis == "prospective":
            frame["recurrence_steps"] = 1.0 / frame["p_value"]
        frame["significant"] = frame["p_value"] <= self.alpha
        return frame

    # ------------------------------------------------------------------ reporting
    def _check_fitted(self) -> None:
        if not hasattr(self, "clusters_"):
            raise SpecificationError("This SpaceTimeScan is not fitted yet. Fix: call fit(...).")

    def _provenance(self, info: dict[str, Any]) -> dict[str, Any]:
        cube = self.cube_
        return {
            "method": f"space-time scan ({self.model}, {self.analysis})",
            "parameters": {k: v for k, v in self.get_params().items() if k != "scheduler"},
            "max_steps": self.max_steps_,
            "areas": len(cube.areas),
            "steps": len(cube.steps),
            "period": f"{cube.step_labels()[0]} to {cube.step_labels()[-1]}",
            "freq": cube.freq,
            "total_cases": float(cube.values.sum()),
            "coordinates": {k: v for k, v in info.items() if k != "great_circle"},
            "windows": self.n_windows_,
            "seed": int(self.seed_),
            "dongne_version": __version__,
        }

    def to_frame(self) -> pd.DataFrame:
        """The clusters, one row each (a copy of ``clusters_``)."""
        self._check_fitted()
        return self.clusters_.copy()

    def summary(self, names: pd.Series | None = None, lang: Lang = "both") -> str:
        """Plain-language summary of the clusters in English and/or Korean.

        ``names`` maps area ids to readable names (e.g. dong names).
        """
        self._check_fitted()
        check_lang(lang)
        return pick_language(lang, self._summary_en(names), self._summary_ko(names))

    def _where(self, row: pd.Series, names: pd.Series | None) -> str:
        ids = row["members"]
        shown = [str(names.get(i, i)) if names is not None else str(i) for i in ids[:5]]
        more = f" +{len(ids) - 5}" if len(ids) > 5 else ""
        return ", ".join(shown) + more

    def _summary_en(self, names: pd.Series | None) -> str:
        cube = self.cube_
        head = (
            f"Space-time scan ({self.model} model, {self.analysis}) of {int(cube.values.sum())} "
            f"cases in {cube.shape[0]} areas over {cube.shape[1]} steps "
            f"({cube.step_labels()[0]} to {cube.step_labels()[-1]}); {self.replications} "
            f"replications, seed {self.seed_}."
        )
        lines = [head]
        for _, row in self.clusters_.iterrows():
            lines.append(
                f"Cluster {row['cluster']}: {self._where(row, names)} from {row['start']} to "
                f"{row['end']}: {row['cases']:.0f} cases vs {row['expected']:.2f} expected "
                f"(O/E {row['observed_expected']:.2f}), LLR {row['llr']:.6f}, "
                f"p = {row['p_value']:.3g}" + self._recurrence(row, "en") + "."
            )
        if self.clusters_.empty:
            lines.append("No cylinder has more cases than expected.")
        return "\n".join(lines)

    def _summary_ko(self, names: pd.Series | None) -> str:
        cube = self.cube_
        model = "시공간 순열" if self.model == "permutation" else "시공간 포아송"
        lines = [
            f"시공간 스캔 통계({model} 모형, "
            f"{'전향적' if self.analysis == 'prospective' else '후향적'} 분석): "
            f"{cube.shape[0]}개 지역, {cube.shape[1]}개 시점, 사례 {int(cube.values.sum())}건; "
            f"몬테카를로 반복 {self.replications}회 (시드 {self.seed_})."
        ]
        for _, row in self.clusters_.iterrows():
            lines.append(
                f"군집 {row['cluster']}: {self._where(row, names)}, {row['start']}~{row['end']}: "
                f"관측 {row['cases']:.0f}건 / 기대 {row['expected']:.2f}건 "
                f"(O/E {row['observed_expected']:.2f}), LLR {row['llr']:.6f}, "
                f"p = {row['p_value']:.3g}" + self._recurrence(row, "ko") + "."
            )
        if self.clusters_.empty:
            lines.append("기대보다 사례가 많은 시공간 원통이 없습니다.")
        return "\n".join(lines)

    def _recurrence(self, row: pd.Series, lang: str) -> str:
        if self.analysis != "prospective" or not np.isfinite(row.get("recurrence_steps", np.nan)):
            return ""
        return ", " + recurrence_text(row["recurrence_steps"], self.cube_.freq, lang)

    def plot(self, areas: Any, *, path: Any = None, source: str | None = None) -> Any:
        """Map of the clusters (areas of significant clusters coloured and labelled with
        their time span, the rest grey); ``areas`` is a GeoDataFrame indexed by area id.
        ``source`` names the data under the map. Returns the
        :class:`dongne.report.CategoryMapResult` (``.figure``, ``.path``)."""
        self._check_fitted()
        from dongne.spacetime.plots import scan_figure

        return scan_figure(self, areas, path=path, source=source)


_CLUSTER_COLUMNS = [
    "cluster", "centre", "members", "n_areas", "radius", "start", "end", "duration", "cases",
    "expected", "observed_expected", "llr", "p_value", "recurrence_steps", "significant",
]  # fmt: skip

_UNITS = {"D": ("day", "일"), "W": ("week", "주"), "M": ("month", "개월"), "Y": ("year", "년")}


def recurrence_text(steps: float, freq: str | None, lang: str = "en") -> str:
    """SaTScan's recurrence interval in words: ``1/p`` analyses, one analysis per step.

    >>> recurrence_text(1 / 0.355, "D")
    'recurrence interval once in 3 days'
    >>> recurrence_text(1 / 0.709, "D")
    'recurrence interval once in 1 day'
    """
    n = round(steps)
    key = (freq or "").lstrip("0123456789")[:1].upper()
    en, ko = _UNITS.get(key, ("step", "시점"))
    if key == "D" and n >= 365:
        en, ko, n = "year", "년", round(steps / 365.25)
    if lang == "ko":
        return f"재현 주기 {n}{ko}에 1번"
    return f"recurrence interval once in {n} {en}{'s' if n != 1 else ''}"


def _report_order(best: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Centres in decreasing LLR of their best cylinder; LLRs equal to 10 significant digits
    go by fewer areas, then by centre order (SaTScan reports the smaller of two tied
    clusters: a circle that adds only areas without cases to another does not displace it)."""
    n_entries = np.where(best[:, 1] >= 0, best[:, 1] - offsets[:-1] + 1, 0)
    llr = best[:, 0]
    scale = np.where(llr > 0, 10.0 ** (9 - np.floor(np.log10(np.where(llr > 0, llr, 1.0)))), 1.0)
    return np.lexsort((np.arange(len(llr)), n_entries, -np.round(llr * scale) / scale))


def _replicate_batch(
    offsets, entries, code, case_area, case_time, cond, mu, total, end_lo, max_len, min_cases,
    seed, first, count,
):  # fmt: skip
    """Replicate maxima ``first .. first + count - 1`` (one seeded task)."""
    return kern.scan_replicates(
        offsets, entries, code, case_area, case_time, cond, mu, total, end_lo, max_len,
        min_cases, seed, first, count,
    )  # fmt: skip


def _retro_batch(
    offsets, entries, rcum, bend, wcum, denom, code, case_area, case_time, cond, mu, total,
    max_len, min_cases, seed, first, count,
):  # fmt: skip
    """Replicate maxima of a retrospective scan with separable expected counts."""
    return kern.scan_replicates_retro(
        offsets, entries, rcum, bend, wcum, denom, code, case_area, case_time, cond, mu,
        total, max_len, min_cases, seed, first, count,
    )  # fmt: skip


def _pros_batch(
    offsets, entries, rcum, bend, wsuf, denom, code, case_area, case_time, cond, mu, total,
    max_len, min_cases, seed, first, count,
):  # fmt: skip
    """Replicate maxima of a prospective scan with separable expected counts (equal to
    :func:`_replicate_batch`'s)."""
    return kern.scan_replicates_pros(
        offsets, entries, rcum, bend, wsuf, denom, code, case_area, case_time, cond, mu,
        total, max_len, min_cases, seed, first, count,
    )  # fmt: skip


def _aligned(obj: Any, cube: SpaceTimeCube, name: str) -> np.ndarray:
    """A population/expected input as an areas × steps array aligned to ``cube``."""
    if isinstance(obj, SpaceTimeCube):
        if not obj.areas.equals(cube.areas) or not obj.steps.equals(cube.steps):
            raise DataError(
                f"{name} covers other areas or steps than the cases. Fix: build both cubes "
                "from the same areas and period."
            )
        out = obj.values.astype(float)
    else:
        if isinstance(obj, pd.Series):
            missing = cube.areas.difference(obj.index)
            if len(missing):
                raise DataError(
                    f"{name} has no value for areas {format_rows(missing)}. Fix: give every area."
                )
            obj = obj.reindex(cube.areas).to_numpy()
        vec = np.asarray(obj, dtype=float)
        if vec.shape != (cube.shape[0],):
            raise DataError(f"{name} must have one value per area ({cube.shape[0]}).")
        out = np.repeat(vec[:, None], cube.shape[1], axis=1)
    bad = ~np.isfinite(out) | (out < 0)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise DataError(
            f"{name} is missing or negative for areas {format_rows(cube.areas[rows])}. "
            "Fix: correct those values."
        )
    if out.sum() <= 0:
        raise DataError(f"{name} sums to zero. Fix: check the column.")
    return out


def _locations(locations: Any, areas: pd.Index, coordinates: str):
    """(x, y, info) of the areas, aligned by id when ``locations`` is labelled."""
    if hasattr(locations, "index") and hasattr(locations, "reindex"):
        missing = areas.difference(locations.index)
        if len(missing):
            raise DataError(
                f"locations has no row for areas {format_rows(missing)}. Fix: index the "
                "locations by the same area ids as the cube."
            )
        extra = pd.Index(locations.index).difference(areas)
        if len(extra):
            warnings.warn(
                f"locations has {len(extra)} areas that are not in the cube "
                f"({format_rows(extra)}); they are left out of the scan. If they had no case, "
                "build the cube with areas=... (cube_from_events) so that they count zero.",
                DongneWarning,
                stacklevel=user_stacklevel(),
            )
        locations = locations.reindex(areas)
        if not hasattr(locations, "geometry"):
            locations = locations.to_numpy(dtype=float)
    return resolve_locations(locations, len(areas), coordinates, areas)
