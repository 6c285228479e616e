r"""What the location models share: the fitted-model base class, the HiGHS model builder,
the solution record and the checks every model runs.

Every model is configured, then fitted: ``MCLP(p=20, radius=500).fit(problem)`` where
``problem`` is a :class:`~dongne.allocate.LocationProblem` (or demand, candidates and existing
GeoDataFrames, passed on to :meth:`LocationProblem.from_geodataframes`). ``p`` counts *new*
sites; existing facilities are always open on top of them (spopt's ``p_facilities`` counts
both). A demand unit is covered when its cost to an open site is at most the radius
(``d_ij <= S``, as spopt's code does). One model per module: :mod:`~dongne.allocate.mclp`,
:mod:`~dongne.allocate.lscp`, :mod:`~dongne.allocate.pmedian`, :mod:`~dongne.allocate.pcenter`.

Notation used in the formulations: demand units :math:`i \in I` with weight :math:`a_i`;
sites :math:`j \in J = E \cup C` (existing :math:`E`, candidates :math:`C`); cost
:math:`d_{ij}`; radius :math:`S`; :math:`N_i = \{j : d_{ij} \le S\}`; :math:`y_j = 1` if
site :math:`j` is open (:math:`y_j = 1` fixed for :math:`j \in E`); capacities :math:`c_j`.

References
----------
Church, R. L. & Murray, A. T. (2009). *Business Site Selection, Location Analysis and GIS*.
Wiley (chapters 8–11: coverage, median and center models).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from dongne import __version__
from dongne._vocab import Lang, check_lang, pick_language
from dongne.allocate._solver import SolveResult, _pow2, solve_highs
from dongne.allocate.equity import access_table, gini
from dongne.allocate.problem import LocationProblem, parse_radius
from dongne.errors import (
    DongneError,
    InfeasibleProblemError,
    SpecificationError,
)
from dongne.io.provenance import attach
from dongne.io.write import jsonable

METHODS = ("auto", "exact", "heuristic")


_INF = np.inf


@dataclass
class _Solution:
    """What a model's solve step hands to the shared reporting."""

    new: np.ndarray  # positions (over all sites) of the new sites
    status: str
    objective: float
    bound: float
    gap: float
    method: str
    solver: str
    solve_time: float
    assignment: np.ndarray | None = None  # site position per demand (capacitated)
    covered: np.ndarray | None = None  # covered share per demand (capacitated)
    load: np.ndarray | None = None  # demand served per site (capacitated, fractional)
    details: dict[str, Any] = field(default_factory=dict)


def _as_problem(problem: Any, candidates: Any, existing: Any, options: dict) -> LocationProblem:
    if isinstance(problem, LocationProblem):
        if candidates is not None or existing is not None or options:
            raise SpecificationError(
                "Pass either a LocationProblem or demand/candidates/existing layers, not both."
            )
        return problem
    if isinstance(problem, gpd.GeoDataFrame):
        return LocationProblem.from_geodataframes(problem, candidates, existing, **options)
    raise SpecificationError(
        "fit() takes a LocationProblem or demand, candidates and existing GeoDataFrames. Got "
        f"{type(problem).__name__}. Fix: LocationProblem.from_cost_matrix(cost) for a matrix."
    )


def _gap(objective: float, bound: float) -> float:
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return float("inf")
    return abs(objective - bound) / max(abs(objective), 1e-9)


def _aggregate(
    pattern: sparse.csr_array, weights: np.ndarray, groups: np.ndarray | None
) -> tuple[sparse.csr_array, np.ndarray, np.ndarray | None, np.ndarray]:
    """Merge rows with the same coverage set (and group): the standard MCLP/LSCP reduction.

    Returns the distinct patterns, their summed weights, their group codes and, for every
    input row, the position of its aggregate.
    """
    pattern = sparse.csr_array(pattern)
    pattern.sort_indices()
    ind, ptr = pattern.indices, pattern.indptr
    keys: dict[tuple[int, bytes], int] = {}
    code = np.zeros(pattern.shape[0], dtype=np.int64) if groups is None else groups
    where = np.empty(pattern.shape[0], dtype=np.int64)
    for i in range(pattern.shape[0]):
        key = (int(code[i]), ind[ptr[i] : ptr[i + 1]].tobytes())
        where[i] = keys.setdefault(key, len(keys))
    first = np.zeros(len(keys), dtype=np.int64)
    first[where[::-1]] = np.arange(pattern.shape[0])[::-1]
    agg = pattern[first]
    w = np.bincount(where, weights, minlength=len(keys))
    g = None if groups is None else groups[first]
    return sparse.csr_array(agg), w, g, where


class _Builder:
    """Collects columns and rows of a linear model in COO form."""

    def __init__(self) -> None:
        self.n_col = 0
        self.cost: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.row_lower: list[np.ndarray] = []
        self.row_upper: list[np.ndarray] = []
        self.n_row = 0

    def add_cols(self, n: int, cost: Any = 0.0, lower: Any = 0.0, upper: Any = 1.0, integer=False):
        start = self.n_col
        self.cost.append(np.broadcast_to(np.asarray(cost, float), (n,)).copy())
        self.lower.append(np.broadcast_to(np.asarray(lower, float), (n,)).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, float), (n,)).copy())
        self.integer.append(np.full(n, bool(integer)))
        self.n_col += n
        return start

    def add_rows(self, rows, cols, vals, lower, upper, n: int) -> int:
        start = self.n_row
        self.rows.append(np.asarray(rows, dtype=np.int64) + start)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.broadcast_to(np.asarray(vals, float), (len(np.asarray(rows)),)).copy())
        self.row_lower.append(np.broadcast_to(np.asarray(lower, float), (n,)).copy())
        self.row_upper.append(np.broadcast_to(np.asarray(upper, float), (n,)).copy())
        self.n_row += n
        return start

    def solve(self, *, maximize: bool, mip: bool = True, **options) -> SolveResult:
        cat = np.concatenate
        a = sparse.csc_array(
            (cat(self.vals), (cat(self.rows), cat(self.cols))), shape=(self.n_row, self.n_col)
        )
        return solve_highs(
            cat(self.cost),
            a,
            cat(self.row_lower),
            cat(self.row_upper),
            cat(self.lower),
            cat(self.upper),
            cat(self.integer) if mip else None,
            maximize=maximize,
            **options,
        )


def _cover_rows(
    b: _Builder, agg: sparse.csr_array, y0: int, z0: int, p: int, *, exactly: bool
) -> None:
    """Coverage rows z_k <= sum_{j in N_k} y_j of every row k of ``agg`` (sites from column
    ``y0``, rows from ``z0``) and the site count: sum_j y_j = p (``exactly``) or <= p."""
    k, mc = agg.shape
    coo = sparse.coo_array(agg)
    b.add_rows(
        np.concatenate([coo.row, np.arange(k)]),
        np.concatenate([y0 + coo.col, z0 + np.arange(k)]),
        np.concatenate([-np.ones(coo.nnz), np.ones(k)]),
        -_INF,
        0.0,
        k,
    )
    b.add_rows(np.zeros(mc), y0 + np.arange(mc), 1.0, p if exactly else -_INF, p, 1)


class _LocationModel:
    """Shared fitting, results and reporting of the location models."""

    _name = ""
    _name_ko = ""
    _supports_heuristic = True

    # ---------------------------------------------------------------- fitting
    def fit(
        self,
        problem: LocationProblem | gpd.GeoDataFrame,
        candidates: gpd.GeoDataFrame | None = None,
        existing: gpd.GeoDataFrame | None = None,
        **problem_options: Any,
    ) -> _LocationModel:
        """Solve the model; return ``self`` with the results in attributes ending in ``_``.

        ``problem`` is a :class:`LocationProblem`, or the demand GeoDataFrame with
        ``candidates``, ``existing`` and the options of
        :meth:`LocationProblem.from_geodataframes` (``weight=``, ``group=``, ...).
        """
        problem = _as_problem(problem, candidates, existing, problem_options)
        self._validate_common(problem)
        t0 = time.perf_counter()
        sol = self._solve(problem)
        self._finish(problem, sol, time.perf_counter() - t0)
        return self

    def _solver_options(self) -> dict[str, Any]:
        return {
            "time_limit": self.time_limit,
            "mip_rel_gap": self.mip_gap,
            "threads": self.threads,
            "backend": self.backend,
        }

    def _validate_common(self, problem: LocationProblem) -> None:
        if self.method not in METHODS:
            raise SpecificationError(
                f"The 'method' parameter must be one of {', '.join(METHODS)}. "
                f"Got {self.method!r} instead."
            )
        if self.backend not in ("auto", "highspy", "scipy"):
            raise SpecificationError(
                "The 'backend' parameter must be 'auto', 'highspy' or 'scipy'. "
                f"Got {self.backend!r} instead."
            )
        if not (isinstance(self.mip_gap, (int, float)) and 0 <= self.mip_gap < 1):
            raise SpecificationError(
                f"The 'mip_gap' parameter must be in [0, 1). Got {self.mip_gap!r}."
            )
        if self.time_limit is not None and not self.time_limit > 0:
            raise SpecificationError(
                f"The 'time_limit' parameter must be positive seconds. Got {self.time_limit!r}."
            )
        if not problem.weights.sum() > 0:
            raise SpecificationError(
                "All demand weights are 0: there is nothing to allocate. Check the weight column."
            )

    def _check_p(self, problem: LocationProblem) -> int:
        p = self.p
        if not isinstance(p, (int, np.integer)) or isinstance(p, bool) or p < 0:
            raise SpecificationError(f"The 'p' parameter must be an int >= 0. Got {p!r} instead.")
        n_cand = len(problem.candidates)
        if p > n_cand:
            raise InfeasibleProblemError(
                f"p={p} new sites were asked for, but there are only {n_cand} candidate sites "
                f"(plus {int(problem.existing.sum())} existing facilities). Fix: lower p to at "
                f"most {n_cand} or add candidates (e.g. a finer candidate_grid)."
            )
        return int(p)

    def _radius(self, problem: LocationProblem, value: Any = None) -> float | None:
        value = self.radius if value is None else value
        if value is None:
            return None
        return parse_radius(value, unit=problem.unit if problem.unit in ("m", "min") else "")

    def _report_radius(self, problem: LocationProblem) -> float | None:
        return self._radius(problem)

    # ---------------------------------------------------------------- results
    def _finish(self, problem: LocationProblem, sol: _Solution, runtime: float) -> None:
        existing = problem.existing
        open_ = existing.copy()
        open_[sol.new] = True
        d_before, s_before = problem.nearest(existing)
        if sol.assignment is None:
            d_after, s_after = problem.nearest(open_)
        else:
            s_after = sol.assignment
            d_after = _pair_cost(problem, s_after)
        radius = self._report_radius(problem)
        covered_before = None
        if sol.details.get("covered_before") is not None:
            covered_before = sol.details["covered_before"]
        self.problem_ = problem
        self.open_ = open_
        self.new_sites_ = np.sort(np.asarray(sol.new, dtype=np.int64))
        self.selected_ = problem.site_ids[self.new_sites_]
        self.assignment_ = s_after
        self.distance_ = d_after
        self.distance_before_ = d_before
        self.assignment_before_ = s_before
        self.radius_ = radius
        self.covered_ = (
            sol.covered
            if sol.covered is not None
            else ((d_after <= radius).astype(float) if radius is not None else None)
        )
        if covered_before is None and radius is not None:
            covered_before = (d_before <= radius).astype(float)
        self.covered_before_ = covered_before
        self.groups_before_ = access_table(
            d_before, problem.weights, problem.groups, radius, covered_before
        )
        self.groups_after_ = access_table(
            d_after, problem.weights, problem.groups, radius, self.covered_
        )
        w = problem.weights
        self.coverage_ = float(self.groups_after_.loc["all", "coverage"])
        self.coverage_before_ = float(self.groups_before_.loc["all", "coverage"])
        self.gini_ = gini(d_after, w)
        self.gini_before_ = gini(d_before, w)
        grp = self.groups_after_.drop(index="all")
        if problem.groups is not None and radius is not None and len(grp):
            self.worst_group_ = str(grp["coverage"].idxmin())
            self.worst_group_coverage_ = float(grp["coverage"].min())
        else:
            self.worst_group_ = None
            self.worst_group_coverage_ = float("nan")
        self.status_ = sol.status
        self.objective_ = sol.objective
        self.bound_ = sol.bound
        self.gap_ = sol.gap
        self.method_ = sol.method
        self.solver_ = sol.solver
        self.runtime_ = runtime
        self.solve_time_ = sol.solve_time
        self.details_ = sol.details
        self.load_ = sol.load
        self.provenance_ = {
            "model": self._name,
            **{k: jsonable(v) for k, v in self.get_params().items()},
            "radius_used": radius,
            "unit": problem.unit,
            "n_demand": problem.n_demand,
            "n_candidates": len(problem.candidates),
            "n_existing": int(existing.sum()),
            "capacitated": problem.capacities is not None,
            "distances": problem.notes.get("distances"),
            "crs": problem.notes.get("crs"),
            "weight": problem.notes.get("weight"),
            "group": problem.notes.get("group"),
            "status": sol.status,
            "objective": sol.objective,
            "bound": sol.bound,
            "gap": sol.gap,
            "method": sol.method,
            "solver": sol.solver,
            "runtime_s": round(runtime, 3),
            **{k: jsonable(v) for k, v in sol.details.items() if k != "covered_before"},
            "dongne_version": __version__,
        }

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (scikit-learn style)."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p not in ("self",)]
        return {n: getattr(self, n) for n in names}

    def _check_fitted(self) -> None:
        if not hasattr(self, "status_"):
            raise DongneError(f"This {type(self).__name__} is not fitted yet; call fit(problem).")

    def to_frame(self) -> pd.DataFrame:
        """One row per demand unit: its site and cost before and after, and coverage."""
        self._check_fitted()
        pr = self.problem_
        ids = pr.site_ids

        def label(pos: np.ndarray) -> np.ndarray:
            return np.where(pos >= 0, ids[np.maximum(pos, 0)], None)

        frame = pd.DataFrame(
            {
                "demand_id": pr.demand_ids,
                "group": pr.groups if pr.groups is not None else None,
                "weight": pr.weights,
                "site_before": label(self.assignment_before_),
                "distance_before": self.distance_before_,
                "site": label(self.assignment_),
                "site_kind": np.where(
                    self.assignment_ >= 0, pr.site_kind[np.maximum(self.assignment_, 0)], None
                ),
                "distance": self.distance_,
            }
        )
        if self.covered_ is not None:
            frame["covered_before"] = self.covered_before_
            frame["covered"] = self.covered_
            frame["newly_covered"] = np.clip(self.covered_ - self.covered_before_, 0, 1)
        if pr.groups is None:
            frame = frame.drop(columns="group")
        frame = frame.set_index("demand_id")
        attach(frame, self.provenance_)
        return frame

    def sites_frame(self) -> pd.DataFrame:
        """One row per open site (existing and new): demand assigned, load and capacity."""
        self._check_fitted()
        pr = self.problem_
        pos = np.flatnonzero(self.open_)
        assigned = self.assignment_
        ok = assigned >= 0
        cov = np.ones(pr.n_demand) if self.covered_ is None else self.covered_
        load = np.bincount(assigned[ok], pr.weights[ok] * cov[ok], minlength=pr.n_sites)
        if self.load_ is not None:  # capacitated: demand split between sites
            load = self.load_
        count = np.bincount(assigned[ok], minlength=pr.n_sites)
        frame = pd.DataFrame(
            {
                "site_id": pr.site_ids[pos],
                "kind": pr.site_kind[pos],
                "new": ~pr.existing[pos],
                "demand_units": count[pos],
                "demand_served": load[pos],
            }
        )
        if pr.capacities is not None:
            frame["capacity"] = pr.capacities[pos]
            with np.errstate(divide="ignore", invalid="ignore"):
                frame["utilisation"] = frame["demand_served"] / frame["capacity"]
        attach(frame, self.provenance_)
        return frame

    def new_sites(self) -> gpd.GeoDataFrame | pd.DataFrame:
        """The chosen new sites (with geometry when the problem has it), in site order."""
        self._check_fitted()
        frame = self.sites_frame()
        frame = frame[frame["new"].to_numpy()].reset_index(drop=True)
        pr = self.problem_
        if pr.site_geometry is not None:
            geom = pr.site_geometry.iloc[self.new_sites_].to_numpy()
            return gpd.GeoDataFrame(frame, geometry=geom, crs=pr.site_geometry.crs)
        return frame

    def group_table(self) -> pd.DataFrame:
        """Coverage and access per group before and after (columns suffixed ``_before``)."""
        self._check_fitted()
        after = self.groups_after_
        before = self.groups_before_.add_suffix("_before")
        table = pd.concat([after, before[[c + "_before" for c in after.columns[2:]]]], axis=1)
        attach(table, self.provenance_)
        return table

    # ---------------------------------------------------------------- summary
    def _objective_text(self) -> tuple[str, str]:
        return (f"objective {self.objective_:,.6g}", f"목적함수 {self.objective_:,.6g}")

    def plot(self, ax: Any = None) -> Any:
        """Demand and sites before and after (see :func:`dongne.allocate._plots.plot_location`)."""
        from dongne.allocate._plots import plot_location

        self._check_fitted()
        return plot_location(self, ax)

    def summary(self, lang: Lang = "both") -> str:
        """Plain-language summary in English, Korean or both (``lang``: "both", "ko", "en")."""
        check_lang(lang)
        self._check_fitted()
        pr = self.problem_
        unit = pr.unit
        r = self.radius_
        n_new = len(self.selected_)
        n_ex = int(pr.existing.sum())
        equal = bool(np.all(pr.weights == 1))
        weight = pr.notes.get("weight") or ("equal weights" if equal else "the given weights")
        weight_ko = pr.notes.get("weight") or ("동일 가중치" if equal else "주어진 가중치")
        shown = ", ".join(map(str, self.selected_[:10])) + (" ..." if n_new > 10 else "")
        en = [
            f"{self._name}: {n_new} new site(s) chosen from {len(pr.candidates)} candidates, "
            f"with {n_ex} existing facilities kept open; {pr.n_demand} demand units weighted by "
            f"{weight}" + (f", service radius {r:g} {unit}" if r is not None else "") + ".",
        ]
        if n_new:
            en.append(f"  New sites: {shown}")
        ko = [
            f"{self._name_ko}: 후보지 {len(pr.candidates)}곳 중 신규 {n_new}곳 선정, 기존 시설 "
            f"{n_ex}곳 유지; 수요 {pr.n_demand}개 단위(가중치: {weight_ko})"
            + (f", 서비스 반경 {r:g}{unit}" if r is not None else "")
            + ".",
        ]
        if n_new:
            ko.append(f"  신규 입지: {shown}")
        if r is not None:
            up = 100 * (self.coverage_ - self.coverage_before_)
            tot = float(self.groups_after_.loc["all", "demand"])
            gain = (self.coverage_ - self.coverage_before_) * tot
            en.append(
                f"  Coverage within {r:g} {unit}: {100 * self.coverage_before_:.1f}% before → "
                f"{100 * self.coverage_:.1f}% after (+{up:.1f} points, {gain:,.0f} more of "
                f"{tot:,.0f})."
            )
            ko.append(
                f"  반경 {r:g}{unit} 내 커버율: {100 * self.coverage_before_:.1f}% → "
                f"{100 * self.coverage_:.1f}% (+{up:.1f}%p, {gain:,.0f} 증가 / 전체 {tot:,.0f})."
            )
        access_en, access_ko = _access_sentences(
            self.groups_before_.loc["all"], self.groups_after_.loc["all"], unit
        )
        en.append(
            f"  {access_en}; Gini of access {_fmt(self.gini_before_, 3)} → {_fmt(self.gini_, 3)}."
        )
        ko.append(
            f"  {access_ko}, 접근성 지니계수 {_fmt(self.gini_before_, 3)} → {_fmt(self.gini_, 3)}."
        )
        if self.worst_group_ is not None:
            g = self.groups_after_.drop(index="all")
            gb = self.groups_before_.drop(index="all")
            worst = self.worst_group_
            en.append(
                f"  Lowest group coverage: {worst} {100 * gb.loc[worst, 'coverage']:.1f}% → "
                f"{100 * g.loc[worst, 'coverage']:.1f}% (groups range "
                f"{100 * g['coverage'].min():.1f}–{100 * g['coverage'].max():.1f}%)."
            )
            ko.append(
                f"  커버율이 가장 낮은 그룹: {worst} {100 * gb.loc[worst, 'coverage']:.1f}% → "
                f"{100 * g.loc[worst, 'coverage']:.1f}% (그룹별 {100 * g['coverage'].min():.1f}"
                f"–{100 * g['coverage'].max():.1f}%)."
            )
        obj_en, obj_ko = self._objective_text()
        status_ko = {
            "optimal": "최적해", "time_limit": "시간 제한 도달", "gap_limit": "간격 한계에서 멈춤",
        }.get(
            self.status_, self.status_
        )
        gap = "0%" if self.gap_ == 0 else f"{100 * self.gap_:.3g}%"
        en.append(
            f"  Solved by {self.method_} ({self.solver_}): status {self.status_}, {obj_en}, "
            f"bound {self.bound_:,.6g}, gap {gap}, {self.runtime_:.2f} s."
        )
        ko.append(
            f"  풀이: {self.method_} ({self.solver_}), 상태 {status_ko}, {obj_ko}, 한계값 "
            f"{self.bound_:,.6g}, 격차 {gap}, {self.runtime_:.2f}초."
        )
        if self.method_ != "exact":
            en.append(
                "  The heuristic's gap is measured against a proven bound: the optimum lies "
                "between the objective and the bound."
            )
            ko.append("  휴리스틱 해의 격차는 증명된 한계값 기준이며, 최적값은 그 사이에 있습니다.")
        return pick_language(lang, "\n".join(en), "\n".join(ko))


def _access_sentences(before: pd.Series, after: pd.Series, unit: str) -> tuple[str, str]:
    """Mean and worst access before → after, in English and Korean. Where some demand can
    reach no site (beyond the network or its cut-off), the means are over the demand that
    can, and the demand that cannot is counted — never a bare "n/a"."""
    if before["unreachable"] == 0 and after["unreachable"] == 0:
        mean_b, mean_a = _fmt(before["mean_access"]), _fmt(after["mean_access"])
        en = f"Mean access {mean_b} → {mean_a} {unit}"
        ko = f"평균 접근거리 {mean_b} → {mean_a}{unit}"
    else:
        total = after["demand"]
        gone_b, gone_a = before["unreachable"], after["unreachable"]
        mean_b = _fmt(before["mean_access_reachable"])
        mean_a = _fmt(after["mean_access_reachable"])
        en = (
            f"Demand that can reach no site: {gone_b:,.0f} → {gone_a:,.0f} of {total:,.0f} "
            f"({100 * gone_b / total:.1f}% → {100 * gone_a / total:.1f}%); mean access of the "
            f"demand that can {mean_b} → {mean_a} {unit}"
        )
        ko = (
            f"어느 시설에도 닿지 못하는 수요 {gone_b:,.0f} → {gone_a:,.0f} / 전체 {total:,.0f} "
            f"({100 * gone_b / total:.1f}% → {100 * gone_a / total:.1f}%), 닿을 수 있는 수요의 "
            f"평균 접근거리 {mean_b} → {mean_a}{unit}"
        )
    worst_b, worst_a = _fmt(before["worst_access"]), _fmt(after["worst_access"])
    if np.isfinite(before["worst_access"]) and np.isfinite(after["worst_access"]):
        return (
            f"{en}; worst {worst_b} → {worst_a} {unit}",
            f"{ko}, 최대 {worst_b} → {worst_a}{unit}",
        )
    return en, ko


def _fmt(x: float, digits: int = 0) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:,.{digits}f}"


def _pair_cost(problem: LocationProblem, site: np.ndarray) -> np.ndarray:
    out = np.full(problem.n_demand, np.inf)
    ok = site >= 0
    rows = np.flatnonzero(ok)
    if problem.cost is not None:
        out[ok] = problem.cost[rows, site[ok]]
    else:
        out[ok] = np.hypot(*(problem.demand_xy[rows] - problem.site_xy[site[ok]]).T)
    return out


def _uncoverable_error(problem: LocationProblem, rows: np.ndarray, radius: float, what: str):
    d, _ = problem.nearest(np.ones(problem.n_sites, dtype=bool))
    ids = problem.demand_ids[rows]
    detail = ", ".join(
        f"{i} (nearest site {d[r]:,.0f} {problem.unit})"
        for i, r in zip(ids[:10], rows[:10], strict=False)
    )
    more = f" (and {len(rows) - 10} more)" if len(rows) > 10 else ""
    return InfeasibleProblemError(
        f"{what}: {len(rows)} demand unit(s) have no site within the radius {radius:g} "
        f"{problem.unit}: {detail}{more}. Fix: raise the radius to at least "
        f"{float(d[rows].max()):,.0f} {problem.unit}, add candidate sites near them, or give "
        "them weight 0."
    )


#: The capacitated MIPs multiply weights and capacities by a power of two (exact) that brings
#: the total weight into [WEIGHT_SCALE_TO, 2 WEIGHT_SCALE_TO), and the p-median's costs by one
#: that brings a lower bound of its objective there. HiGHS's tolerances are absolute (primal
#: feasibility 1e-7, dual 1e-7, MIP feasibility 1e-6): with a total weight of 1e-5 a capacity
#: row could be overrun by 1 % and cost coefficients below 1e-7 all looked "optimal" (fuzz4).
#: (``_solver.WEIGHT_SCALE_TO``, the default target of ``_pow2``.)
#: Largest cost coefficient of the scaled p-median MIP: HiGHS's dual tolerance (1e-7) is
#: absolute, and rounding in reduced costs grows with the largest cost (HiGHS's infinite
#: cost is 1e20).
MAX_COST = 1e8


def _capacity_precheck(problem: LocationProblem, p: int | None, what: str) -> None:
    caps = problem.capacities
    need = float(problem.weights.sum())
    have_ex = float(caps[problem.existing].sum())
    cand = np.sort(caps[~problem.existing])[::-1]
    have = have_ex + float(cand[:p].sum() if p is not None else cand.sum())
    if have < need * (1 - 1e-12):  # relative: rounding in sums of 1e10 exceeds 1e-9
        extra = f" the {p} largest candidate capacities" if p is not None else " all candidates"
        raise InfeasibleProblemError(
            f"{what}: total demand {need:,.6g} exceeds the capacity of the existing facilities "
            f"({have_ex:,.6g}) plus{extra} ({have - have_ex:,.6g}); shortfall "
            f"{need - have:,.6g}. Fix: raise capacities, allow more sites (p), or reduce demand."
        )


def _group_codes(groups: np.ndarray | None) -> tuple[np.ndarray | None, list[str] | None]:
    if groups is None:
        return None, None
    labels, codes = np.unique(groups.astype(str), return_inverse=True)
    return codes.astype(np.int64), [str(x) for x in labels]


def _raise_if_infeasible(res: SolveResult, model: _LocationModel, shares: dict) -> None:
    if res.x is not None:
        return
    if res.status == "infeasible":
        why = (
            "p is too small to meet every group's minimum share at once"
            if shares
            else "the constraints exclude every solution"
        )
        raise InfeasibleProblemError(
            f"{model._name} has no feasible solution: {why}. Fix: raise p, lower min_share or "
            "the capacities' load."
        )
    if res.status == "time_limit":
        raise InfeasibleProblemError(
            f"{model._name}: HiGHS found no solution within the time limit. Fix: raise "
            "time_limit."
        )
    # Not the clock (status "error": no solution and no proof that none exists, with time
    # left): more time is no fix, so none is offered.
    raise InfeasibleProblemError(
        f"{model._name}: HiGHS ended with no solution and no proof that none exists (status "
        f"{res.status}) before any time limit: a numerical failure of the solver on these "
        "inputs, not a setting. Please report it with the input data."
    )


def _capacitated_model(problem, agg, aw, ag, g_labels, total_g, shares, p, model, objective):
    """MIP with fractional assignment x_kj on the coverage pattern over all sites.

    objective ``"cover"``: max Σ a_k x_kj with Σ_j x_kj <= 1 (capacitated MCLP);
    ``"count"``: min Σ y with Σ_j x_kj = 1 (capacitated LSCP); ``"feasible"``: as count with
    Σ y <= p and zero objective (p-center sub-problem).
    """
    cand = problem.candidates
    mc = len(cand)
    col_of_site = np.full(problem.n_sites, -1)
    col_of_site[cand] = np.arange(mc)
    scale = _pow2(float(np.sum(aw)))  # exact; results are divided back
    aw_raw, aw = aw, aw * scale
    caps = problem.capacities * scale
    coo = sparse.coo_array(agg)
    k = agg.shape[0]
    nnz = coo.nnz
    b = _Builder()
    y0 = b.add_cols(mc, 1.0 if objective == "count" else 0.0, 0.0, 1.0, integer=True)
    x0 = b.add_cols(nnz, aw[coo.row] if objective == "cover" else 0.0, 0.0, 1.0)
    # assignment rows
    if objective == "cover":
        b.add_rows(coo.row, x0 + np.arange(nnz), 1.0, -_INF, 1.0, k)
    else:
        b.add_rows(coo.row, x0 + np.arange(nnz), 1.0, 1.0, 1.0, k)
    # capacity rows: sum_k a_k x_kj - c_j y_j <= 0 (candidates) / <= c_j (existing)
    is_cand = col_of_site[coo.col] >= 0
    cap_rows = np.arange(problem.n_sites)
    ub = np.where(problem.existing, caps, 0.0)
    b.add_rows(
        np.concatenate([coo.col, cap_rows[cand]]),
        np.concatenate([x0 + np.arange(nnz), y0 + np.arange(mc)]),
        np.concatenate([aw[coo.row], -caps[cand]]),
        -_INF,
        ub,
        problem.n_sites,
    )
    # x_kj <= y_j for candidate sites (strengthens the LP bound)
    idx = np.flatnonzero(is_cand)
    b.add_rows(
        np.concatenate([np.arange(len(idx)), np.arange(len(idx))]),
        np.concatenate([x0 + idx, y0 + col_of_site[coo.col[idx]]]),
        np.concatenate([np.ones(len(idx)), -np.ones(len(idx))]),
        -_INF,
        0.0,
        len(idx),
    )
    if objective == "cover":
        b.add_rows(np.zeros(mc), y0 + np.arange(mc), 1.0, p, p, 1)
    elif objective == "feasible":
        b.add_rows(np.zeros(mc), y0 + np.arange(mc), 1.0, -_INF, p, 1)
    if shares and g_labels is not None:
        for gi, label in enumerate(g_labels):
            s = shares.get(label)
            if s is None or s * total_g[gi] <= 0:
                continue
            sel = np.flatnonzero(ag[coo.row] == gi)
            rhs = s * total_g[gi] * scale
            # Each share row gets its own power of two, rhs into [1e6, 2e6): scaled only with
            # the whole model, the row of a group of 1e-13 beside a total of 10 asked for
            # 1.3e-8, below HiGHS's feasibility tolerance, and a share of 1 was met by covering
            # nothing ("optimal"; review of the fuzz4 scaling).
            r = _pow2(rhs)
            b.add_rows(np.zeros(len(sel)), x0 + sel, aw[coo.row[sel]] * r, rhs * r, _INF, 1)
    res = b.solve(maximize=objective == "cover", **model._solver_options())
    if objective == "cover":
        res = replace(res, objective=res.objective / scale, bound=res.bound / scale)
    if res.x is None:
        return res, None, None, None
    x = res.x[x0 : x0 + nnz]
    share = np.bincount(coo.row, x, minlength=k)
    load = np.bincount(coo.col, aw_raw[coo.row] * x, minlength=problem.n_sites)
    # primary site of each aggregate: the largest fraction (ties: lowest site position)
    order = np.lexsort((coo.col, -x, coo.row))
    first = np.ones(len(order), dtype=bool)
    first[1:] = coo.row[order][1:] != coo.row[order][:-1]
    assign = np.full(k, -1)
    sel = order[first]
    assign[coo.row[sel]] = np.where(x[sel] > 1e-9, coo.col[sel], -1)
    return res, np.clip(share, 0.0, 1.0), assign, load
