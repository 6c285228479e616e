r"""Facility location models: MCLP, LSCP, p-median and p-center, with existing sites,
capacities and group equity, solved in-process by HiGHS or by fast heuristics.

Every model is configured, then fitted: ``MCLP(p=20, radius=500).fit(problem)`` where
``problem`` is a :class:`~dongne.allocate.LocationProblem` (or demand, candidates and existing
GeoDataFrames, passed on to :meth:`LocationProblem.from_geodataframes`). ``p`` counts *new*
sites; existing facilities are always open on top of them (spopt's ``p_facilities`` counts
both). A demand unit is covered when its cost to an open site is at most the radius
(``d_ij <= S``, as spopt's code does).

Notation used in the formulations: demand units :math:`i \in I` with weight :math:`a_i`;
sites :math:`j \in J = E \cup C` (existing :math:`E`, candidates :math:`C`); cost
:math:`d_{ij}`; radius :math:`S`; :math:`N_i = \{j : d_{ij} \le S\}`; :math:`y_j = 1` if
site :math:`j` is open (:math:`y_j = 1` fixed for :math:`j \in E`); capacities :math:`c_j`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from dongne import __version__
from dongne._vocab import Lang, check_lang, pick_language
from dongne.allocate import heuristics as heur
from dongne.allocate._solver import OPTIMAL, TIME_LIMIT, SolveResult, backend_name, solve_highs
from dongne.allocate.equity import access_table, gini, min_share_by_group
from dongne.allocate.problem import LocationProblem, parse_radius
from dongne.errors import (
    DongneError,
    InfeasibleProblemError,
    SpecificationError,
    format_rows,
)
from dongne.io.provenance import attach
from dongne.io.write import jsonable

__all__ = ["LSCP", "MCLP", "PCenter", "PMedian"]

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
        weight = pr.notes.get("weight") or (
            "equal weights" if np.all(pr.weights == 1) else "the given weights"
        )
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
            f"{n_ex}곳 유지; 수요 {pr.n_demand}개 단위(가중치: {weight})"
            + (f", 서비스 반경 {r:g}{unit}" if r is not None else "")
            + ".",
        ]
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
        mean_b = self.groups_before_.loc["all", "mean_access"]
        mean_a = self.groups_after_.loc["all", "mean_access"]
        worst_b = self.groups_before_.loc["all", "worst_access"]
        worst_a = self.groups_after_.loc["all", "worst_access"]
        en.append(
            f"  Mean access {_fmt(mean_b)} → {_fmt(mean_a)} {unit}; worst {_fmt(worst_b)} → "
            f"{_fmt(worst_a)} {unit}; Gini of access {_fmt(self.gini_before_, 3)} → "
            f"{_fmt(self.gini_, 3)}."
        )
        ko.append(
            f"  평균 접근거리 {_fmt(mean_b)} → {_fmt(mean_a)}{unit}, 최대 {_fmt(worst_b)} → "
            f"{_fmt(worst_a)}{unit}, 접근성 지니계수 {_fmt(self.gini_before_, 3)} → "
            f"{_fmt(self.gini_, 3)}."
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
        status_ko = {"optimal": "최적해", "time_limit": "시간 제한 도달"}.get(
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


def _capacity_precheck(problem: LocationProblem, p: int | None, what: str) -> None:
    caps = problem.capacities
    need = float(problem.weights.sum())
    have_ex = float(caps[problem.existing].sum())
    cand = np.sort(caps[~problem.existing])[::-1]
    have = have_ex + float(cand[:p].sum() if p is not None else cand.sum())
    if have + 1e-9 < need:
        extra = f" the {p} largest candidate capacities" if p is not None else " all candidates"
        raise InfeasibleProblemError(
            f"{what}: total demand {need:,.6g} exceeds the capacity of the existing facilities "
            f"({have_ex:,.6g}) plus{extra} ({have - have_ex:,.6g}); shortfall "
            f"{need - have:,.6g}. Fix: raise capacities, allow more sites (p), or reduce demand."
        )


# =============================================================================== MCLP
class MCLP(_LocationModel):
    r"""Maximal covering location problem (MCLP): cover the most demand with p new sites.

    Uncapacitated (Church & ReVelle 1974), with existing sites fixed open:

    .. math::

       \begin{array}{lll}
       \textbf{maximise} & \sum_{i \in I} a_i z_i & \\
       \textbf{s.t.} & z_i \le \sum_{j \in N_i} y_j & \forall i \in I \\
        & \sum_{j \in C} y_j = p, \quad y_j = 1 \; (j \in E) & \\
        & z_i \in [0, 1], \; y_j \in \{0, 1\} &
       \end{array}

    :math:`z_i` may be continuous: at integer :math:`y` the optimum sets it to 0 or 1. Demand
    already covered by an existing site is counted and removed, and demand units with the
    same coverage set (and group) are merged before the MIP is built — an exact reduction.

    Capacitated (Current & Storbeck 1988; Pirkul & Schilling 1991), when the problem has
    capacities: demand may be split between sites (fractional assignment)

    .. math::

       \max \sum_i a_i \sum_{j \in N_i} x_{ij} \;\; \text{s.t.} \;\; \sum_{j \in N_i} x_{ij}
       \le 1, \; \sum_i a_i x_{ij} \le c_j y_j, \; x_{ij} \le y_j, \; \sum_{j \in C} y_j = p.

    Equity across groups :math:`g` (demand :math:`A_g`): ``min_share`` adds
    :math:`\sum_{i \in g} a_i z_i \ge s_g A_g`; ``objective="maxmin"`` maximises
    :math:`t` subject to :math:`t \le \sum_{i \in g} a_i z_i / A_g` for every group, then
    maximises total coverage with that worst-group share held (lexicographic).

    Parameters
    ----------
    p : int
        Number of new sites.
    radius : float or str
        Service radius in the problem's unit, or with a unit: ``"500m"``, ``"10min"``
        (walking time; see :func:`~dongne.allocate.parse_radius`).
    min_share : float or dict, optional
        Minimum covered share of every group (one number) or per group (``{"강남구": 0.6}``).
    objective : {"coverage", "maxmin"}
        Total coverage, or the lexicographic max–min group coverage.
    method : {"auto", "exact", "heuristic"}
        ``exact``: HiGHS MIP (proven optimum unless ``time_limit`` stops it). ``heuristic``:
        greedy, Lagrangian and GRASP starts + 1-swap local search, with a Lagrangian or LP
        bound (uncapacitated, ``objective="coverage"``, no ``min_share``). ``auto``: exact
        unless the reduced coverage matrix has more than ``max_exact_nnz`` non-zeros.
    time_limit : float, optional
        Seconds for HiGHS; the best solution found is kept and the gap reported.
    mip_gap : float
        Relative gap at which HiGHS may stop (default 0: proven optimum).
    threads : int, optional
        HiGHS threads (highspy backend).
    backend : {"auto", "highspy", "scipy"}
        HiGHS through highspy (default when installed) or through SciPy.
    max_exact_nnz : int
        Size limit for ``method="auto"``.
    bound : {"lagrangian", "lp"}
        Bound reported by the heuristic: Lagrangian relaxation (milliseconds; it tends to the
        LP relaxation bound, so its gap is the same or slightly larger) or the LP relaxation
        itself (interior point; seconds on 10,000 × 1,000).
    restarts : int
        GRASP restarts of the heuristic (randomised greedy among the 3 best sites + 1-swaps,
        fixed seed: reproducible); 0 for greedy, Lagrangian and LP starts only.
    ils_rounds : int
        Exact method: rounds of iterated local search (kick 3 sites, 1-swap descent; fixed
        seed) run before the branch and bound when no start reaches the LP bound yet; a
        solution that reaches the bound is optimal without branching. 0 to go straight to
        the MIP.

    Attributes
    ----------
    selected_ : ndarray of str
        Ids of the new sites. ``new_sites_`` their positions; ``open_`` mask of open sites.
    assignment_, distance_ : ndarray
        Nearest (or assigned) open site of every demand unit and its cost.
    covered_, covered_before_ : ndarray of float
        Covered share of each unit after and before (existing sites only).
    coverage_, coverage_before_ : float
        Share of the total demand weight covered.
    groups_after_, groups_before_ : DataFrame
        Coverage, mean and worst access and Gini per group (see :func:`access_table`).
    worst_group_, worst_group_coverage_ :
        The group with the lowest coverage after, and that coverage.
    gini_, gini_before_ : float
        Gini coefficient of access (cost to the nearest open site), weighted by demand.
    objective_, bound_, gap_, status_, method_, solver_, runtime_ :
        Covered weight, the proven upper bound, the relative gap, ``"optimal"`` or
        ``"time_limit"``, ``"exact"``/``"heuristic"``, the backend and wall time.
    provenance_ : dict
        Everything needed to repeat the run.

    See Also
    --------
    LSCP, PMedian, PCenter, dongne.allocate.pareto_sweep

    References
    ----------
    Church, R. & ReVelle, C. (1974). The maximal covering location problem. Papers of the
    Regional Science Association 32:101–118. Current, J. R. & Storbeck, J. E. (1988).
    Capacitated covering models. Environment and Planning B 15:153–163. Pirkul, H. &
    Schilling, D. A. (1991). The maximal covering location problem with capacities on total
    workload. Management Science 37(2):233–248. Church, R. L. & Murray, A. (2018). Location
    Covering Models. Springer. Daskin, M. S. (2013). Network and Discrete Location, 2nd ed.
    Wiley.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[1, 5, 9], [4, 1, 9], [9, 9, 1], [9, 2, 9]])
    >>> problem = LocationProblem.from_cost_matrix(cost, weights=[10, 20, 5, 1])
    >>> model = MCLP(p=1, radius=2).fit(problem)
    >>> model.selected_.tolist(), model.objective_, model.status_
    (['1'], 21.0, 'optimal')
    """

    _name = "Maximal covering (MCLP)"
    _name_ko = "최대 커버링 입지(MCLP)"

    def __init__(
        self,
        p: int,
        radius: float | str,
        *,
        min_share: float | Mapping[str, float] | None = None,
        objective: str = "coverage",
        method: str = "auto",
        time_limit: float | None = None,
        mip_gap: float = 0.0,
        threads: int | None = None,
        backend: str = "auto",
        max_exact_nnz: int = 5_000_000,
        bound: str = "lagrangian",
        restarts: int = 10,
        ils_rounds: int = 300,
    ) -> None:
        self.p = p
        self.radius = radius
        self.min_share = min_share
        self.objective = objective
        self.method = method
        self.time_limit = time_limit
        self.mip_gap = mip_gap
        self.threads = threads
        self.backend = backend
        self.max_exact_nnz = max_exact_nnz
        self.bound = bound
        self.restarts = restarts
        self.ils_rounds = ils_rounds

    def _solve(self, problem: LocationProblem) -> _Solution:
        p = self._check_p(problem)
        if self.objective not in ("coverage", "maxmin"):
            raise SpecificationError(
                "The 'objective' parameter must be 'coverage' or 'maxmin'. "
                f"Got {self.objective!r} instead."
            )
        if self.radius is None:
            raise SpecificationError("MCLP needs a radius, e.g. radius='500m'.")
        if self.bound not in ("lagrangian", "lp"):
            raise SpecificationError(
                f"The 'bound' parameter must be 'lagrangian' or 'lp'. Got {self.bound!r} instead."
            )
        radius = self._radius(problem)
        shares = min_share_by_group(self.min_share, problem.groups)
        if self.objective == "maxmin" and problem.groups is None:
            raise SpecificationError(
                "objective='maxmin' needs groups: build the problem with group='gu_name'."
            )
        if problem.capacities is not None:
            return self._solve_capacitated(problem, p, radius, shares)
        return self._solve_uncapacitated(problem, p, radius, shares)

    # ------------------------------------------------------------------ uncapacitated
    def _solve_uncapacitated(self, problem, p, radius, shares) -> _Solution:
        cover = problem.covering(radius)
        w = problem.weights
        ex = problem.existing
        cand = problem.candidates
        by_existing = (
            np.asarray(cover[:, np.flatnonzero(ex)].sum(axis=1)).ravel() > 0
            if ex.any()
            else np.zeros(problem.n_demand, dtype=bool)
        )
        c_sub = sparse.csr_array(cover[:, cand])
        reachable = np.diff(c_sub.indptr) > 0
        free = ~by_existing & (w > 0) & reachable
        base = float(w[by_existing].sum())
        g_codes, g_labels = _group_codes(problem.groups)
        rows = np.flatnonzero(free)
        agg, aw, ag, _ = _aggregate(
            c_sub[rows], w[rows], None if g_codes is None else g_codes[rows]
        )
        details: dict[str, Any] = {
            "demand_rows_in_model": int(agg.shape[0]),
            "demand_units_reduced": len(rows),
            "covered_by_existing": base,
        }
        total_g = base_g = None
        if g_codes is not None:
            total_g = np.bincount(g_codes, w, minlength=len(g_labels))
            base_g = np.bincount(g_codes[by_existing], w[by_existing], minlength=len(g_labels))
            reach_g = base_g + np.bincount(g_codes[free], w[free], minlength=len(g_labels))
            _check_shares_reachable(shares, g_labels, total_g, reach_g, radius, problem.unit)
        method = self.method
        if method == "auto":
            method = "exact" if agg.nnz <= self.max_exact_nnz else "heuristic"
        if method == "heuristic" and (shares or self.objective == "maxmin"):
            if self.method == "heuristic":
                raise SpecificationError(
                    "method='heuristic' supports the coverage objective without min_share; use "
                    "method='exact' for group constraints and max-min."
                )
            method = "exact"
        if self.objective == "coverage" and not shares:
            # Heuristics and a Lagrangian bound first (milliseconds); then, unless they already
            # meet, the LP relaxation by interior point + crossover (seconds where dual simplex
            # takes minutes) with LP rounding as one more start. Whenever the best solution
            # reaches a bound it is optimal and no branching is needed.
            chosen, cov, bound, how = self._heuristic(agg, aw, p, method)
            details["heuristic_objective"] = base + cov
            details["bound_method"] = how
            proven = cov >= bound - 1e-9 * max(1.0, abs(bound))
            if method == "heuristic" or proven:
                obj, ub = base + cov, base + max(bound, cov)
                return _Solution(
                    cand[chosen], OPTIMAL if proven else "heuristic", obj, ub,
                    0.0 if proven else _gap(obj, ub), "exact" if proven else "heuristic",
                    backend_name(self.backend) + f" ({how} bound)", 0.0, details=details,
                )  # fmt: skip
        else:
            chosen, cov = np.zeros(0, dtype=np.int64), -_INF
        builder = self._model(agg, aw, p, shares, ag, g_labels, total_g, base_g)
        if self.objective == "maxmin":
            res1 = builder.solve(maximize=True, **self._solver_options())
            _raise_if_infeasible(res1, self, shares)
            t_star = res1.objective
            details["maxmin_share"] = t_star
            builder = self._model(
                agg, aw, p, shares, ag, g_labels, total_g, base_g, t_floor=t_star - 1e-9
            )
        res = builder.solve(maximize=True, **self._solver_options())
        _raise_if_infeasible(res, self, shares)
        mip_chosen = np.flatnonzero(res.x[: agg.shape[1]] > 0.5)
        obj = base + _covered(agg, aw, mip_chosen)
        if base + cov > obj:
            # A time-limited MIP can end below the heuristic: keep the better solution.
            mip_chosen, obj = chosen, base + cov
        bound = base + res.bound
        return _Solution(
            cand[mip_chosen], res.status, obj, bound, _gap(obj, bound), "exact", res.backend,
            res.runtime, details=details,
        )  # fmt: skip

    def _heuristic(self, agg, aw, p, method) -> tuple[np.ndarray, float, float, str]:
        """Best of greedy, Lagrangian and LP-rounding starts, each improved by 1-swaps.

        Returns the sites, their covered weight, an upper bound and how it was obtained:
        ``"Lagrangian"``, or ``"LP"`` when the LP relaxation was needed (exact method, or
        ``bound="lp"``).
        """
        if p == 0 or agg.shape[1] == 0:
            return np.zeros(0, dtype=np.int64), 0.0, 0.0, "trivial"
        best, best_cov = None, -_INF

        def improve(start):
            nonlocal best, best_cov
            chosen = heur.coverage_swap(agg, aw, start, time_limit=self.time_limit)
            cov = _covered(agg, aw, chosen)
            if cov > best_cov + 1e-12 * max(1.0, abs(cov)):
                best, best_cov = np.sort(chosen), cov

        improve(heur.coverage_greedy(agg, aw, p))
        bound, pick = heur.coverage_lagrangian_bound(
            agg, aw, p, best_cov, time_limit=self.time_limit
        )
        improve(pick)
        if best_cov < bound - 1e-9 * max(1.0, abs(bound)) and self.restarts:
            chosen, cov = heur.coverage_grasp(
                agg, aw, p, restarts=self.restarts, seed=0, stop_at=bound,
                time_limit=self.time_limit,
            )  # fmt: skip
            if cov > best_cov + 1e-12 * max(1.0, abs(cov)):
                best, best_cov = chosen, cov
        how = "Lagrangian"
        tol = 1e-9 * max(1.0, abs(bound))
        if best_cov < bound - tol and (method == "exact" or self.bound == "lp"):
            lp = self._model(agg, aw, p, {}, None, None, None, None).solve(
                maximize=True, mip=False, lp_method="ipm", **self._solver_options()
            )
            if lp.x is not None:
                bound, how = min(bound, lp.objective), "LP"
                improve(np.argsort(-lp.x[: agg.shape[1]], kind="stable")[:p])
        if best_cov < bound - tol and method == "exact" and self.ils_rounds:
            # Before branching: iterated local search towards the bound. Reaching it proves
            # optimality and saves the branch and bound (often minutes on 10,000 × 1,000).
            chosen, cov = heur.coverage_ils(
                agg, aw, best, rounds=self.ils_rounds, seed=0, stop_at=bound,
                time_limit=self.time_limit,
            )  # fmt: skip
            if cov > best_cov + 1e-12 * max(1.0, abs(cov)):
                best, best_cov = chosen, cov
        return best, best_cov, max(bound, best_cov), how

    def _model(self, agg, aw, p, shares, ag, g_labels, total_g, base_g, t_floor=None) -> _Builder:
        k, mc = agg.shape
        b = _Builder()
        maxmin = self.objective == "maxmin" and t_floor is None
        y0 = b.add_cols(mc, 0.0, 0.0, 1.0, integer=True)
        z0 = b.add_cols(k, 0.0 if maxmin else aw, 0.0, 1.0)
        coo = sparse.coo_array(agg)
        # z_k - sum_j a_kj y_j <= 0
        b.add_rows(
            np.concatenate([coo.row, np.arange(k)]),
            np.concatenate([y0 + coo.col, z0 + np.arange(k)]),
            np.concatenate([-np.ones(coo.nnz), np.ones(k)]),
            -_INF,
            0.0,
            k,
        )
        b.add_rows(np.zeros(mc), y0 + np.arange(mc), 1.0, p, p, 1)
        if g_labels is not None and (shares or self.objective == "maxmin"):
            for gi, label in enumerate(g_labels):
                members = np.flatnonzero(ag == gi)
                need = shares.get(label, 0.0) * total_g[gi] - base_g[gi]
                if shares.get(label) is not None and need > 1e-12:
                    b.add_rows(np.zeros(len(members)), z0 + members, aw[members], need, _INF, 1)
            if self.objective == "maxmin":
                t = b.add_cols(1, 1.0 if maxmin else 0.0, 0.0 if t_floor is None else t_floor, 1.0)
                for gi in range(len(g_labels)):
                    if total_g[gi] <= 0:
                        continue
                    members = np.flatnonzero(ag == gi)
                    # A_g t - sum a_k z_k <= base_g
                    b.add_rows(
                        np.zeros(len(members) + 1),
                        np.concatenate([z0 + members, [t]]),
                        np.concatenate([-aw[members], [total_g[gi]]]),
                        -_INF,
                        base_g[gi],
                        1,
                    )
        return b

    # ------------------------------------------------------------------ capacitated
    def _solve_capacitated(self, problem, p, radius, shares) -> _Solution:
        if self.method == "heuristic":
            raise SpecificationError(
                "The capacitated MCLP is solved exactly only; use method='exact' or 'auto'."
            )
        cover = problem.covering(radius)
        w = problem.weights
        g_codes, g_labels = _group_codes(problem.groups)
        rows = np.flatnonzero((w > 0) & (np.diff(cover.indptr) > 0))
        agg, aw, ag, where = _aggregate(
            cover[rows], w[rows], None if g_codes is None else g_codes[rows]
        )
        total_g = None
        if g_codes is not None:
            total_g = np.bincount(g_codes, w, minlength=len(g_labels))
            reach_g = np.bincount(g_codes[rows], w[rows], minlength=len(g_labels))
            _check_shares_reachable(shares, g_labels, total_g, reach_g, radius, problem.unit)
        if self.objective == "maxmin":
            raise SpecificationError(
                "objective='maxmin' is available for the uncapacitated MCLP; use min_share "
                "with capacities."
            )
        before = _capacitated_cover(problem, agg, aw, where, rows, problem.existing, self)
        res, x_share, assign, load = _capacitated_model(
            problem, agg, aw, ag, g_labels, total_g, shares, p, self, objective="cover"
        )
        _raise_if_infeasible(res, self, shares)
        chosen = np.flatnonzero(res.x[: len(problem.candidates)] > 0.5)
        covered = np.zeros(problem.n_demand)
        covered[rows] = x_share[where]
        assignment = np.full(problem.n_demand, -1)
        assignment[rows] = assign[where]
        # Units left uncovered are reported against their nearest open site.
        open_ = problem.existing.copy()
        open_[problem.candidates[chosen]] = True
        _, nearest = problem.nearest(open_)
        assignment = np.where(assignment >= 0, assignment, nearest)
        return _Solution(
            problem.candidates[chosen], res.status, res.objective, res.bound, res.gap, "exact",
            res.backend, res.runtime, assignment=assignment, covered=covered, load=load,
            details={"covered_before": before, "assignment": "fractional (system optimal)"},
        )  # fmt: skip


def _covered(agg: sparse.csr_array, aw: np.ndarray, chosen: np.ndarray) -> float:
    y = np.zeros(agg.shape[1])
    y[np.asarray(chosen, dtype=np.int64)] = 1.0
    return float(aw @ np.minimum(agg @ y, 1.0))


def _group_codes(groups: np.ndarray | None) -> tuple[np.ndarray | None, list[str] | None]:
    if groups is None:
        return None, None
    labels, codes = np.unique(groups.astype(str), return_inverse=True)
    return codes.astype(np.int64), [str(x) for x in labels]


def _check_shares_reachable(shares, labels, total_g, reach_g, radius, unit) -> None:
    if not shares:
        return
    short = []
    for gi, label in enumerate(labels):
        s = shares.get(label)
        if s is None or total_g[gi] <= 0:
            continue
        best = reach_g[gi] / total_g[gi]
        if best + 1e-12 < s:
            short.append(f"{label} (at most {100 * best:.1f}% < {100 * s:.1f}%)")
    if short:
        raise InfeasibleProblemError(
            f"The minimum group shares cannot be met even with every candidate open within "
            f"{radius:g} {unit}: {', '.join(short)}. Fix: lower min_share for these groups, "
            "raise the radius or add candidate sites there."
        )


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
    raise InfeasibleProblemError(
        f"{model._name}: HiGHS found no solution (status {res.status}). Fix: raise time_limit."
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
    caps = problem.capacities
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
            if s is None or s * total_g[gi] <= 1e-12:
                continue
            sel = np.flatnonzero(ag[coo.row] == gi)
            b.add_rows(np.zeros(len(sel)), x0 + sel, aw[coo.row[sel]], s * total_g[gi], _INF, 1)
    res = b.solve(maximize=objective == "cover", **model._solver_options())
    if res.x is None:
        return res, None, None, None
    x = res.x[x0 : x0 + nnz]
    share = np.bincount(coo.row, x, minlength=k)
    load = np.bincount(coo.col, aw[coo.row] * x, minlength=problem.n_sites)
    # primary site of each aggregate: the largest fraction (ties: lowest site position)
    order = np.lexsort((coo.col, -x, coo.row))
    first = np.ones(len(order), dtype=bool)
    first[1:] = coo.row[order][1:] != coo.row[order][:-1]
    assign = np.full(k, -1)
    sel = order[first]
    assign[coo.row[sel]] = np.where(x[sel] > 1e-9, coo.col[sel], -1)
    return res, np.clip(share, 0.0, 1.0), assign, load


def _capacitated_cover(problem, agg, aw, where, rows, open_mask, model) -> np.ndarray:
    """Covered share per demand unit with only ``open_mask`` sites (an LP)."""
    out = np.zeros(problem.n_demand)
    pos = np.flatnonzero(open_mask)
    if not len(pos):
        return out
    sub = sparse.csr_array(agg[:, pos])
    coo = sparse.coo_array(sub)
    k = sub.shape[0]
    b = _Builder()
    x0 = b.add_cols(coo.nnz, aw[coo.row], 0.0, 1.0)
    b.add_rows(coo.row, x0 + np.arange(coo.nnz), 1.0, -_INF, 1.0, k)
    b.add_rows(
        coo.col, x0 + np.arange(coo.nnz), aw[coo.row], -_INF, problem.capacities[pos], len(pos)
    )
    res = b.solve(maximize=True, mip=False, backend=model.backend)
    if res.x is None:
        return out
    share = np.clip(np.bincount(coo.row, res.x, minlength=k), 0, 1)
    out[rows] = share[where]
    return out


# =============================================================================== LSCP
class LSCP(_LocationModel):
    r"""Location set covering problem (LSCP): the fewest new sites that cover all demand.

    Toregas, Swain, ReVelle & Bergman (1971), with existing sites fixed open:

    .. math::

       \min \sum_{j \in C} y_j \quad \text{s.t.} \quad \sum_{j \in N_i} y_j \ge 1 \;\;
       \forall i : a_i > 0, \qquad y_j = 1 \; (j \in E), \; y_j \in \{0, 1\}.

    Units already covered by an existing site and duplicate coverage sets are removed first.
    Units with weight 0 need no coverage. With capacities, the capacitated LSCP (CLSCP-SO,
    Current & Storbeck 1988) assigns demand fractionally:
    :math:`\sum_{j \in N_i} x_{ij} = 1`, :math:`\sum_i a_i x_{ij} \le c_j y_j`,
    :math:`x_{ij} \le y_j`.

    Parameters
    ----------
    radius : float or str
        Service radius (``"500m"``, ``"10min"``).
    method : {"auto", "exact", "heuristic"}
        ``heuristic``: greedy set cover with redundant sites dropped, LP bound (uncapacitated).
    time_limit, mip_gap, threads, backend :
        As in :class:`MCLP`.

    Attributes
    ----------
    selected_, objective_ (number of new sites), bound_, gap_, status_, ... :
        As in :class:`MCLP`.

    Raises
    ------
    InfeasibleProblemError
        Demand units with no site within the radius (named, with the distance to their
        nearest site), or total capacity below total demand (with the shortfall).

    References
    ----------
    Toregas, C., Swain, R., ReVelle, C. & Bergman, L. (1971). The location of emergency
    service facilities. Operations Research 19(6):1363–1373. Current, J. R. & Storbeck, J. E.
    (1988). Capacitated covering models. Environment and Planning B 15:153–163.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[1, 5, 9], [4, 1, 9], [9, 9, 1], [9, 2, 9]])
    >>> LSCP(radius=2).fit(LocationProblem.from_cost_matrix(cost)).selected_.tolist()
    ['0', '1', '2']
    """

    _name = "Set covering (LSCP)"
    _name_ko = "집합 커버링 입지(LSCP)"

    def __init__(
        self,
        radius: float | str,
        *,
        method: str = "auto",
        time_limit: float | None = None,
        mip_gap: float = 0.0,
        threads: int | None = None,
        backend: str = "auto",
    ) -> None:
        self.radius = radius
        self.method = method
        self.time_limit = time_limit
        self.mip_gap = mip_gap
        self.threads = threads
        self.backend = backend

    def _objective_text(self) -> tuple[str, str]:
        return (
            f"{self.objective_:,.0f} new site(s) needed",
            f"필요한 신규 시설 {self.objective_:,.0f}곳",
        )

    def _solve(self, problem: LocationProblem) -> _Solution:
        if self.radius is None:
            raise SpecificationError("LSCP needs a radius, e.g. radius='500m'.")
        radius = self._radius(problem)
        return _set_cover(problem, radius, self, p=None)


def _set_cover(problem: LocationProblem, radius: float, model: _LocationModel, p: int | None):
    """Minimum cover (p None) or feasibility with at most p new sites (p-center step)."""
    cover = problem.covering(radius)
    w = problem.weights
    need = w > 0
    reachable = np.diff(cover.indptr) > 0
    bad = np.flatnonzero(need & ~reachable)
    if len(bad):
        if p is not None:
            return None
        raise _uncoverable_error(problem, bad, radius, model._name)
    cand = problem.candidates
    if problem.capacities is not None:
        if p is None:
            _capacity_precheck(problem, None, model._name)
        rows = np.flatnonzero(need)
        agg, aw, _, where = _aggregate(cover[rows], w[rows], None)
        res, _share, assign, load = _capacitated_model(
            problem, agg, aw, None, None, None, {}, p or 0, model,
            objective="count" if p is None else "feasible",
        )  # fmt: skip
        if res.x is None:
            if p is not None:
                return None if res.status == "infeasible" else res
            raise InfeasibleProblemError(
                f"{model._name}: the capacities within {radius:g} {problem.unit} cannot serve "
                "all demand even with every candidate open (some demand has too little "
                "capacity nearby). Fix: raise capacities, the radius, or add candidates."
            )
        chosen = np.flatnonzero(res.x[: len(cand)] > 0.5)
        assignment = np.full(problem.n_demand, -1)
        assignment[rows] = assign[where]
        open_ = problem.existing.copy()
        open_[cand[chosen]] = True
        _, nearest = problem.nearest(open_)
        assignment = np.where(assignment >= 0, assignment, nearest)
        bound = _count_bound(res)
        return _Solution(
            cand[chosen], res.status, float(len(chosen)), bound, _gap(len(chosen), bound),
            "exact", res.backend, res.runtime, assignment=assignment,
            covered=np.where(need, 1.0, 0.0), load=load,
        )  # fmt: skip
    by_existing = (
        np.asarray(cover[:, np.flatnonzero(problem.existing)].sum(axis=1)).ravel() > 0
        if problem.existing.any()
        else np.zeros(problem.n_demand, dtype=bool)
    )
    rows = np.flatnonzero(need & ~by_existing)
    c_sub = sparse.csr_array(cover[:, cand])
    if not len(rows):
        res_status = OPTIMAL
        return _Solution(
            np.zeros(0, dtype=np.int64), res_status, 0.0, 0.0, 0.0, "exact", "none", 0.0
        )
    agg, _aw, _, _ = _aggregate(c_sub[rows], np.ones(len(rows)), None)
    mc = agg.shape[1]
    if p is not None and p == 0:
        return None
    method = model.method
    if method == "heuristic" and p is None:
        chosen = _greedy_set_cover(agg)
        lp = _cover_builder(agg, None).solve(maximize=False, mip=False, backend=model.backend)
        bound = float(np.ceil(lp.objective - 1e-9))
        return _Solution(
            cand[chosen], OPTIMAL if len(chosen) <= bound else "heuristic", float(len(chosen)),
            bound, _gap(len(chosen), bound), "heuristic", lp.backend + " (LP bound)", lp.runtime,
        )  # fmt: skip
    builder = _cover_builder(agg, p)
    res = builder.solve(maximize=False, **model._solver_options())
    if res.x is None:
        if p is not None:
            return None if res.status == "infeasible" else res
        _raise_if_infeasible(res, model, {})
    chosen = np.flatnonzero(res.x[:mc] > 0.5)
    if p is not None:
        return _Solution(cand[chosen], res.status, 0.0, 0.0, 0.0, "exact", res.backend, res.runtime)
    bound = _count_bound(res)
    return _Solution(
        cand[chosen], res.status, float(len(chosen)), bound, _gap(len(chosen), bound), "exact",
        res.backend, res.runtime,
    )  # fmt: skip


def _count_bound(res: SolveResult) -> float:
    return float(np.ceil(res.bound - 1e-6)) if np.isfinite(res.bound) else res.bound


def _cover_builder(agg: sparse.csr_array, p: int | None) -> _Builder:
    k, mc = agg.shape
    b = _Builder()
    y0 = b.add_cols(mc, 1.0 if p is None else 0.0, 0.0, 1.0, integer=True)
    coo = sparse.coo_array(agg)
    b.add_rows(coo.row, y0 + coo.col, 1.0, 1.0, _INF, k)
    if p is not None:
        b.add_rows(np.zeros(mc), y0 + np.arange(mc), 1.0, -_INF, p, 1)
    return b


def _greedy_set_cover(agg: sparse.csr_array) -> np.ndarray:
    """Greedy set cover (most uncovered rows first), then drop redundant sites."""
    agg = sparse.csr_array(agg, dtype=float)
    at = sparse.csc_array(agg)
    uncovered = np.ones(agg.shape[0], dtype=bool)
    gains = np.asarray(agg.sum(axis=0)).ravel()
    chosen: list[int] = []
    while uncovered.any():
        j = int(np.argmax(gains))
        if gains[j] <= 0:
            break
        chosen.append(j)
        rows = at.indices[at.indptr[j] : at.indptr[j + 1]]
        rows = rows[uncovered[rows]]
        uncovered[rows] = False
        gains = gains - agg[rows].T @ np.ones(len(rows))
    chosen_arr = np.asarray(chosen, dtype=np.int64)
    # Drop sites whose rows are all covered by others (last added first).
    for j in chosen[::-1]:
        y = np.zeros(agg.shape[1])
        y[chosen_arr] = 1.0
        y[j] = 0.0
        if (agg @ y >= 1).all():
            chosen_arr = chosen_arr[chosen_arr != j]
    return np.sort(chosen_arr)


# =============================================================================== p-median
class PMedian(_LocationModel):
    r"""p-median: place p new sites to minimise the total weighted distance to the nearest site.

    Hakimi (1964); strong (disaggregated) formulation of ReVelle & Swain (1970), with the
    existing sites fixed open:

    .. math::

       \begin{array}{lll}
       \textbf{minimise} & \sum_{i} \sum_{j} a_i d_{ij} x_{ij} & \\
       \textbf{s.t.} & \sum_j x_{ij} = 1 & \forall i \\
        & x_{ij} \le y_j & \forall i, j \\
        & \sum_{j \in C} y_j = p, \; y_j = 1 \; (j \in E) & \\
        & x_{ij} \ge 0, \; y_j \in \{0, 1\} &
       \end{array}

    With existing sites, demand i is never served by a candidate farther than its nearest
    existing site, so those :math:`x_{ij}` are dropped. With capacities,
    :math:`\sum_i a_i x_{ij} \le c_j y_j` is added and demand may be split (fractional
    assignment). ``min_share`` (with ``radius``) adds group coverage constraints as in
    :class:`MCLP`.

    For large instances ``method="heuristic"`` runs greedy addition and vertex substitution
    (Teitz & Bart 1968) with fast-interchange bookkeeping, and reports the gap to a
    Lagrangian lower bound (Beasley 1993).

    Parameters
    ----------
    p : int
        Number of new sites.
    radius : float or str, optional
        Only for reporting coverage (and for ``min_share``).
    min_share : float or dict, optional
        Minimum covered share (within ``radius``) per group.
    method : {"auto", "exact", "heuristic"}
        ``auto``: exact while the model has at most ``max_exact_columns`` assignment
        variables, else heuristic.
    time_limit, mip_gap, threads, backend :
        As in :class:`MCLP`.
    max_exact_columns : int
        Size limit of ``method="auto"``.

    Attributes
    ----------
    objective_ : float
        Total weighted distance Σ a_i d_i. Other attributes as in :class:`MCLP`.

    References
    ----------
    Hakimi, S. L. (1964). Optimum locations of switching centers and the absolute centers and
    medians of a graph. Operations Research 12(3):450–459. ReVelle, C. S. & Swain, R. W.
    (1970). Central facilities location. Geographical Analysis 2(1):30–42. Teitz, M. B. &
    Bart, P. (1968). Heuristic methods for estimating the generalized vertex median of a
    weighted graph. Operations Research 16(5):955–961. Beasley, J. E. (1993). Lagrangean
    heuristics for location problems. EJOR 65:383–399. Daskin, M. S. (2013). Network and
    Discrete Location, 2nd ed. Wiley.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[0, 4, 8], [4, 0, 4], [8, 4, 0]])
    >>> m = PMedian(p=1).fit(LocationProblem.from_cost_matrix(cost, weights=[1, 1, 5]))
    >>> m.selected_.tolist(), m.objective_
    (['2'], 12.0)
    """

    _name = "p-median"
    _name_ko = "p-메디안 입지"

    def __init__(
        self,
        p: int,
        *,
        radius: float | str | None = None,
        min_share: float | Mapping[str, float] | None = None,
        method: str = "auto",
        time_limit: float | None = None,
        mip_gap: float = 0.0,
        threads: int | None = None,
        backend: str = "auto",
        max_exact_columns: int = 2_000_000,
    ) -> None:
        self.p = p
        self.radius = radius
        self.min_share = min_share
        self.method = method
        self.time_limit = time_limit
        self.mip_gap = mip_gap
        self.threads = threads
        self.backend = backend
        self.max_exact_columns = max_exact_columns

    def _objective_text(self) -> tuple[str, str]:
        w = float(self.problem_.weights.sum())
        return (
            f"total weighted distance {self.objective_:,.6g} (mean {self.objective_ / w:,.1f} "
            f"{self.problem_.unit})",
            f"가중 총거리 {self.objective_:,.6g} "
            f"(평균 {self.objective_ / w:,.1f}{self.problem_.unit})",
        )

    def _solve(self, problem: LocationProblem) -> _Solution:
        p = self._check_p(problem)
        shares = min_share_by_group(self.min_share, problem.groups)
        radius = self._radius(problem)
        if shares and radius is None:
            raise SpecificationError("min_share needs a radius (coverage is within the radius).")
        cand = problem.candidates
        ex = np.flatnonzero(problem.existing)
        w = problem.weights
        rows = np.flatnonzero(w > 0)
        d_cand = problem.distances(rows, cand)
        base = problem.distances(rows, ex).min(axis=1) if len(ex) else np.full(len(rows), np.inf)
        unreachable = ~np.isfinite(base) & ~np.isfinite(d_cand).any(axis=1)
        if unreachable.any():
            raise InfeasibleProblemError(
                f"p-median: demand units {format_rows(problem.demand_ids[rows[unreachable]])} "
                "cannot reach any site (infinite cost). Fix: give them a finite cost to some "
                "site or weight 0."
            )
        if problem.capacities is not None:
            return self._solve_capacitated(problem, p, rows, d_cand, shares, radius)
        allowed = np.isfinite(d_cand) & (d_cand < base[:, None])
        n_cols = int(allowed.sum())
        method = self.method
        if method == "auto":
            method = "exact" if n_cols <= self.max_exact_columns else "heuristic"
        if method == "heuristic" and shares:
            raise SpecificationError("method='heuristic' does not take min_share; use 'exact'.")
        ww = w[rows]
        if method == "heuristic" or p == 0:
            return self._heuristic(problem, p, rows, d_cand, base, ww)
        g_codes, g_labels = _group_codes(problem.groups)
        total_g = None if g_codes is None else np.bincount(g_codes, w, minlength=len(g_labels))
        b = _Builder()
        mc = len(cand)
        y0 = b.add_cols(mc, 0.0, 0.0, 1.0, integer=True)
        ri, cj = np.nonzero(allowed)
        x0 = b.add_cols(len(ri), ww[ri] * d_cand[ri, cj], 0.0, 1.0)
        has_base = np.isfinite(base)
        e_rows = np.flatnonzero(has_base)
        e0 = b.add_cols(len(e_rows), ww[e_rows] * base[e_rows], 0.0, 1.0)
        n = len(rows)
        b.add_rows(
            np.concatenate([ri, e_rows]),
            np.concatenate([x0 + np.arange(len(ri)), e0 + np.arange(len(e_rows))]),
            1.0,
            1.0,
            1.0,
            n,
        )
        b.add_rows(
            np.concatenate([np.arange(len(ri)), np.arange(len(ri))]),
            np.concatenate([x0 + np.arange(len(ri)), y0 + cj]),
            np.concatenate([np.ones(len(ri)), -np.ones(len(ri))]),
            -_INF,
            0.0,
            len(ri),
        )
        b.add_rows(np.zeros(mc), y0 + np.arange(mc), 1.0, p, p, 1)
        if shares:
            gr = g_codes[rows]
            for gi, label in enumerate(g_labels):
                s = shares.get(label)
                if s is None or s * total_g[gi] <= 1e-12:
                    continue
                sx = np.flatnonzero((gr[ri] == gi) & (d_cand[ri, cj] <= radius))
                se = np.flatnonzero((gr[e_rows] == gi) & (base[e_rows] <= radius))
                b.add_rows(
                    np.zeros(len(sx) + len(se)),
                    np.concatenate([x0 + sx, e0 + se]),
                    np.concatenate([ww[ri[sx]], ww[e_rows[se]]]),
                    s * total_g[gi],
                    _INF,
                    1,
                )
        res = b.solve(maximize=False, **self._solver_options())
        _raise_if_infeasible(res, self, shares)
        chosen = np.flatnonzero(res.x[:mc] > 0.5)
        obj = heur.median_objective(d_cand, ww, chosen, base)
        bound = res.bound
        return _Solution(
            cand[chosen], res.status, obj, bound, _gap(obj, bound), "exact", res.backend,
            res.runtime, details={"assignment_columns": len(ri)},
        )  # fmt: skip

    def _heuristic(self, problem, p, rows, d_cand, base, ww) -> _Solution:
        cand = problem.candidates
        if not np.isfinite(d_cand).all():
            raise SpecificationError(
                "The p-median heuristic needs finite costs; use method='exact' with "
                "unreachable pairs."
            )
        t0 = time.perf_counter()
        chosen = heur.median_greedy(d_cand, ww, p, base)
        chosen = heur.median_interchange(d_cand, ww, chosen, base, time_limit=self.time_limit)
        obj = heur.median_objective(d_cand, ww, chosen, base)
        best = base if not len(chosen) else np.minimum(base, d_cand[:, chosen].min(axis=1))
        bound = heur.median_lagrangian_bound(
            d_cand, ww, p, base, obj, start=ww * best, time_limit=self.time_limit
        )
        bound = min(bound, obj)
        gap = _gap(obj, bound)
        return _Solution(
            cand[chosen], OPTIMAL if gap <= 1e-9 else "heuristic", obj, bound, gap, "heuristic",
            "greedy + fast interchange, Lagrangian bound", time.perf_counter() - t0,
        )  # fmt: skip

    def _solve_capacitated(self, problem, p, rows, d_cand, shares, radius) -> _Solution:
        if self.method == "heuristic":
            raise SpecificationError("The capacitated p-median is solved exactly only.")
        _capacity_precheck(problem, p, self._name)
        cand = problem.candidates
        mc = len(cand)
        d_all = problem.distances(rows)
        ww = problem.weights[rows]
        ri, sj = np.nonzero(np.isfinite(d_all))
        caps = problem.capacities
        col_of_site = np.full(problem.n_sites, -1)
        col_of_site[cand] = np.arange(mc)
        b = _Builder()
        y0 = b.add_cols(mc, 0.0, 0.0, 1.0, integer=True)
        x0 = b.add_cols(len(ri), ww[ri] * d_all[ri, sj], 0.0, 1.0)
        b.add_rows(ri, x0 + np.arange(len(ri)), 1.0, 1.0, 1.0, len(rows))
        b.add_rows(
            np.concatenate([sj, cand]),
            np.concatenate([x0 + np.arange(len(ri)), y0 + np.arange(mc)]),
            np.concatenate([ww[ri], -caps[cand]]),
            -_INF,
            np.where(problem.existing, caps, 0.0),
            problem.n_sites,
        )
        idx = np.flatnonzero(col_of_site[sj] >= 0)
        b.add_rows(
            np.concatenate([np.arange(len(idx)), np.arange(len(idx))]),
            np.concatenate([x0 + idx, y0 + col_of_site[sj[idx]]]),
            np.concatenate([np.ones(len(idx)), -np.ones(len(idx))]),
            -_INF,
            0.0,
            len(idx),
        )
        b.add_rows(np.zeros(mc), y0 + np.arange(mc), 1.0, p, p, 1)
        if shares:
            g_codes, g_labels = _group_codes(problem.groups)
            total_g = np.bincount(g_codes, problem.weights, minlength=len(g_labels))
            gr = g_codes[rows]
            for gi, label in enumerate(g_labels):
                s = shares.get(label)
                if s is None or s * total_g[gi] <= 1e-12:
                    continue
                sel = np.flatnonzero((gr[ri] == gi) & (d_all[ri, sj] <= radius))
                b.add_rows(np.zeros(len(sel)), x0 + sel, ww[ri[sel]], s * total_g[gi], _INF, 1)
        res = b.solve(maximize=False, **self._solver_options())
        if res.x is None and res.status == "infeasible":
            raise InfeasibleProblemError(
                "p-median: the capacities cannot serve all demand with p new sites (or the "
                "group shares cannot be met). Fix: raise p or the capacities."
            )
        _raise_if_infeasible(res, self, shares)
        chosen = np.flatnonzero(res.x[:mc] > 0.5)
        x = res.x[x0 : x0 + len(ri)]
        load = np.bincount(sj, ww[ri] * x, minlength=problem.n_sites)
        order = np.lexsort((sj, -x, ri))
        first = np.ones(len(order), dtype=bool)
        first[1:] = ri[order][1:] != ri[order][:-1]
        assignment = np.full(problem.n_demand, -1)
        assignment[rows[ri[order[first]]]] = sj[order[first]]
        covered = None
        if radius is not None:
            covered = np.zeros(problem.n_demand)
            within = d_all[ri, sj] <= radius
            covered[rows] = np.clip(np.bincount(ri, x * within, minlength=len(rows)), 0, 1)
        open_ = problem.existing.copy()
        open_[cand[chosen]] = True
        _, nearest = problem.nearest(open_)
        assignment = np.where(assignment >= 0, assignment, nearest)
        return _Solution(
            cand[chosen], res.status, res.objective, res.bound, res.gap, "exact", res.backend,
            res.runtime, assignment=assignment, covered=covered, load=load,
            details={"assignment": "fractional (system optimal)"},
        )  # fmt: skip


# =============================================================================== p-center
class PCenter(_LocationModel):
    r"""p-center: place p new sites to minimise the largest distance to the nearest site.

    .. math::

       \min W \quad \text{s.t.} \quad W \ge \sum_j d_{ij} x_{ij}, \; \sum_j x_{ij} = 1,
       \; x_{ij} \le y_j, \; \sum_{j \in C} y_j = p, \; y_j = 1 \; (j \in E).

    Unweighted by convention (every unit with positive weight counts; spopt PR #186). Solved
    exactly by the classic reduction to set covering (Minieka 1970; Daskin 2013, ch. 5): the
    optimum is the smallest distance value :math:`D` for which the sites within :math:`D` of
    every unit can be covered by p new sites (with the existing ones). A binary search over
    the sorted distinct distances solves one covering feasibility MIP per step (with
    capacities: a capacitated covering MIP, demand split between sites).

    Parameters
    ----------
    p : int
        Number of new sites.
    radius : float or str, optional
        Only for reporting coverage.
    time_limit, mip_gap, threads, backend :
        As in :class:`MCLP` (``time_limit`` applies to each covering MIP).

    Attributes
    ----------
    objective_ : float
        The largest distance from a demand unit to its nearest (or assigned) open site.
        ``details_["steps"]``: covering MIPs solved. Other attributes as in :class:`MCLP`.

    References
    ----------
    Hakimi, S. L. (1964). Operations Research 12(3):450–459. Minieka, E. (1970). The m-center
    problem. SIAM Review 12(1):138–139. Daskin, M. S. (2013). Network and Discrete Location,
    2nd ed. Wiley.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[0, 4, 8], [4, 0, 4], [8, 4, 0]])
    >>> m = PCenter(p=1).fit(LocationProblem.from_cost_matrix(cost))
    >>> m.selected_.tolist(), m.objective_
    (['1'], 4.0)
    """

    _name = "p-center"
    _name_ko = "p-센터 입지"

    def __init__(
        self,
        p: int,
        *,
        radius: float | str | None = None,
        method: str = "exact",
        time_limit: float | None = None,
        mip_gap: float = 0.0,
        threads: int | None = None,
        backend: str = "auto",
    ) -> None:
        self.p = p
        self.radius = radius
        self.method = method
        self.time_limit = time_limit
        self.mip_gap = mip_gap
        self.threads = threads
        self.backend = backend

    def _objective_text(self) -> tuple[str, str]:
        u = self.problem_.unit
        return (
            f"worst distance {self.objective_:,.6g} {u}",
            f"최대 거리 {self.objective_:,.6g}{u}",
        )

    def _solve(self, problem: LocationProblem) -> _Solution:
        p = self._check_p(problem)
        if self.method == "heuristic":
            raise SpecificationError(
                "PCenter is solved exactly (binary search over set-covering MIPs); use "
                "method='exact' or 'auto'."
            )
        w = problem.weights
        rows = np.flatnonzero(w > 0)
        d = problem.distances(rows)
        if not np.isfinite(d).any(axis=1).all():
            bad = rows[~np.isfinite(d).any(axis=1)]
            raise InfeasibleProblemError(
                f"p-center: demand units {format_rows(problem.demand_ids[bad])} cannot reach "
                "any site. Fix: give them a finite cost or weight 0."
            )
        if problem.capacities is not None:
            _capacity_precheck(problem, p, self._name)
        cand = problem.candidates
        ex = np.flatnonzero(problem.existing)
        base = d[:, ex].min(axis=1) if len(ex) else np.full(len(rows), np.inf)
        lower = float(d.min(axis=1).max())
        # Upper bound: farthest-first greedy (uncapacitated) or all candidates open.
        cur = base.copy()
        chosen_ub: list[int] = []
        dc = d[:, cand]
        for _ in range(p):
            i = int(np.argmax(cur))
            j = int(np.argmin(np.where(np.isin(np.arange(len(cand)), chosen_ub), np.inf, dc[i])))
            chosen_ub.append(j)
            cur = np.minimum(cur, dc[:, j])
        values = np.unique(d[np.isfinite(d)])
        values = values[values >= lower - 1e-12]
        sub = problem.restrict(w > 0) if len(rows) < problem.n_demand else problem
        steps = 0
        status = OPTIMAL
        solve_time = 0.0
        if problem.capacities is None:
            # The greedy solution is feasible at its own worst distance, a value of d.
            values = values[values <= float(cur.max()) + 1e-12]
            best = _Solution(
                cand[np.asarray(chosen_ub, dtype=np.int64)], OPTIMAL, 0, 0, 0, "", "", 0
            )
        else:
            steps += 1
            best = _set_cover(sub, float(values[-1]), self, p=p)
            if not isinstance(best, _Solution):
                raise InfeasibleProblemError(
                    "p-center: the capacities cannot serve all demand with p new sites. Fix: "
                    "raise p or the capacities."
                )
            solve_time += best.solve_time
        # Invariant: values[hi] is feasible (best), every value below values[lo] is not.
        lo, hi = 0, len(values) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            steps += 1
            res = _set_cover(sub, float(values[mid]), self, p=p)
            if isinstance(res, _Solution):
                solve_time += res.solve_time
                best, hi = res, mid
            else:
                if isinstance(res, SolveResult):
                    status = TIME_LIMIT  # unknown: treated as infeasible, the gap says so
                lo = mid + 1
        new = np.asarray(best.new, dtype=np.int64)
        if len(new) < p:
            # Spare sites cannot raise the worst distance: add them where they cut the total.
            free = np.setdiff1d(cand, new)
            open_ = problem.existing.copy()
            open_[new] = True
            base_now, _ = problem.nearest(open_)
            extra = heur.median_greedy(
                problem.distances(rows, free), w[rows], p - len(new), base_now[rows]
            )
            new = np.sort(np.concatenate([new, free[extra]]))
        open_ = problem.existing.copy()
        open_[new] = True
        assignment = None
        if problem.capacities is None:
            dist, _ = problem.nearest(open_)
            obj = float(dist[rows].max())
        else:
            obj = float(values[hi])
            assignment = np.full(problem.n_demand, -1)
            assignment[rows] = best.assignment
            _, nearest = problem.nearest(open_)
            assignment = np.where(assignment >= 0, assignment, nearest)
        bound = obj if status == OPTIMAL else float(values[max(lo - 1, 0)])
        return _Solution(
            new, status, obj, bound, _gap(obj, bound), "exact",
            backend_name(self.backend) + " (binary search over set covering)", solve_time,
            assignment=assignment, load=None if problem.capacities is None else best.load,
            details={"steps": steps},
        )  # fmt: skip
