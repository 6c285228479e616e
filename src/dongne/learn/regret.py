"""What a prediction error costs when the prediction decides where facilities go.

A need model fitted in one region and applied in another is judged here not by its RMSE but
by the decision it drives: sites are chosen with the maximal covering model
(:class:`dongne.allocate.MCLP`) using the *predicted* need as demand weights, and the
chosen sites are then scored on the *true* need. The regret

    regret = C_true(S*) − C_true(Ŝ)

is the true need covered by the best sites under the true need, S*, minus the true need
covered by the sites Ŝ chosen with the predicted need. It is ≥ 0 when S* is a proven
optimum, and 0 when the prediction is exact (or merely ranks the need well enough to lead
to equally good sites). This is the decision-focused view of distribution shift of Ren,
Byun & Wilder (2024): two models with the same accuracy can lead to very different
allocations.

References
----------
Ren, K., Byun, J. & Wilder, B. (2024). Decision-focused evaluation of worst-case
distribution shift. arXiv:2407.03557.
Church, R. & ReVelle, C. (1974). The maximal covering location problem. *Papers of the
Regional Science Association* 32:101–118.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne import __version__
from dongne._vocab import Lang, bilingual
from dongne.allocate import MCLP, LocationProblem
from dongne.errors import DataError, DongneError, SpecificationError

__all__ = ["AllocationRegret", "allocation_regret"]

_ORACLE = "true need (oracle)"


def _need(values: Any, n: int, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    if len(v) != n:
        raise DataError(f"{name} has {len(v)} values for {n} demand units.")
    if not np.isfinite(v).all():
        raise DataError(
            f"{name} has missing or infinite values at positions "
            f"{np.flatnonzero(~np.isfinite(v))[:10].tolist()}. Fix: predict every unit."
        )
    return v


class AllocationRegret:
    """Coverage lost by siting facilities with predicted instead of true need.

    Parameters
    ----------
    p : int
        Number of new sites.
    radius : float or str
        Service radius (problem units, or ``"1500m"``).
    method : {"exact", "heuristic", "auto"}, default "exact"
        MCLP solution method; regret is guaranteed ≥ 0 only with ``"exact"`` (proven optima).
    time_limit : float, optional
        Seconds per MCLP solve.

    Attributes
    ----------
    results_ : DataFrame
        One row per solution (the oracle first): sites, true need covered, its share, the
        regret (absolute and as a share of the oracle's coverage), the coverage the planner
        *expected* from the predicted need, sites shared with the oracle, and how many
        negative predictions were set to 0.
    sites_ : dict
        Chosen site ids per solution.
    covered_ : dict
        Boolean covered flag of every demand unit per solution.
    provenance_ : dict

    Examples
    --------
    >>> import numpy as np
    >>> from dongne.allocate import LocationProblem
    >>> xy = np.array([[0.0, 0], [1000, 0], [5000, 0], [6000, 0]])
    >>> cost = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    >>> problem = LocationProblem.from_cost_matrix(cost)
    >>> true = np.array([10.0, 10.0, 1.0, 1.0])
    >>> res = AllocationRegret(p=1, radius=1500).fit(problem, true, {"wrong": [1, 1, 10, 10]})
    >>> res.results_["true_need_covered"].tolist(), res.results_["regret"].tolist()
    ([20.0, 2.0], [0.0, 18.0])
    """

    def __init__(
        self,
        p: int,
        radius: float | str,
        *,
        method: str = "exact",
        time_limit: float | None = None,
    ) -> None:
        self.p = p
        self.radius = radius
        self.method = method
        self.time_limit = time_limit

    def _solve(self, problem: LocationProblem, weights: np.ndarray) -> MCLP:
        model = MCLP(self.p, self.radius, method=self.method, time_limit=self.time_limit)
        return model.fit(replace(problem, weights=weights, _cover_cache={}))

    def fit(
        self,
        problem: LocationProblem,
        true_need: Any,
        predictions: Mapping[str, Any],
        *,
        areas: gpd.GeoDataFrame | None = None,
    ) -> AllocationRegret:
        """Solve the MCLP under the true and every predicted need; score on the true need.

        Parameters
        ----------
        problem : LocationProblem
            Demand units (in the target region) and candidate sites; its own weights are
            ignored.
        true_need : array-like
            True need of every demand unit (≥ 0), e.g. basement households.
        predictions : mapping of name → array-like
            Predicted need per demand unit for each model; negative values are set to 0.
        areas : GeoDataFrame, optional
            Polygons of the demand units in the same order, for :meth:`plot`.
        """
        if not isinstance(problem, LocationProblem):
            raise SpecificationError(
                "problem must be a dongne.allocate.LocationProblem. Fix: build one with "
                "LocationProblem.from_geodataframes(...) or .from_cost_matrix(...)."
            )
        if not predictions:
            raise SpecificationError("Give at least one prediction: predictions={'model': ...}.")
        n = problem.n_demand
        truth = _need(true_need, n, "true_need")
        if (truth < 0).any():
            raise DataError(
                f"true_need is negative at positions {np.flatnonzero(truth < 0)[:10].tolist()}. "
                "Fix: need is a count or a share and must be >= 0."
            )
        oracle = self._solve(problem, truth)
        radius = oracle.radius_
        cover = problem.covering(radius)

        def covered(model: MCLP) -> np.ndarray:
            return np.asarray(cover[:, np.flatnonzero(model.open_)].sum(axis=1)).ravel() > 0

        best_cov = covered(oracle)
        best = float(truth @ best_cov)
        total = float(truth.sum())
        self.sites_ = {_ORACLE: oracle.selected_.tolist()}
        self.covered_ = {_ORACLE: best_cov}
        rows = [
            {
                "solution": _ORACLE,
                "sites": len(oracle.selected_),
                "true_need_covered": best,
                "true_share_covered": best / total,
                "regret": 0.0,
                "relative_regret": 0.0,
                "expected_need_covered": best,
                "sites_shared_with_oracle": len(oracle.selected_),
                "negative_predictions_clipped": 0,
            }
        ]
        for name, values in predictions.items():
            pred = _need(values, n, f"predictions[{name!r}]")
            clipped = int((pred < 0).sum())
            pred = np.clip(pred, 0.0, None)
            if not pred.sum() > 0:
                raise DataError(
                    f"predictions[{name!r}] is 0 everywhere after clipping negatives: there is "
                    "nothing to allocate on."
                )
            model = self._solve(problem, pred)
            cov = covered(model)
            got = float(truth @ cov)
            self.sites_[name] = model.selected_.tolist()
            self.covered_[name] = cov
            rows.append(
                {
                    "solution": str(name),
                    "sites": len(model.selected_),
                    "true_need_covered": got,
                    "true_share_covered": got / total,
                    "regret": best - got,
                    "relative_regret": (best - got) / best if best > 0 else 0.0,
                    "expected_need_covered": float(pred @ cov),
                    "sites_shared_with_oracle": len(
                        set(model.selected_.tolist()) & set(oracle.selected_.tolist())
                    ),
                    "negative_predictions_clipped": clipped,
                }
            )
        self.results_ = pd.DataFrame(rows)
        self.total_need_ = total
        self.radius_ = radius
        self.unit_ = problem.unit
        self.problem_ = problem
        self.areas_ = areas
        self.true_need_ = truth
        self.provenance_ = {
            "method": "allocation_regret",
            "model": "MCLP",
            "p": self.p,
            "radius": self.radius,
            "radius_used": radius,
            "solver_method": self.method,
            "n_demand": n,
            "n_candidates": len(problem.candidates),
            "predictions": list(map(str, predictions)),
            "dongne_version": __version__,
        }
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "results_"):
            raise DongneError("This AllocationRegret is not fitted yet; call fit(...).")

    def to_frame(self) -> pd.DataFrame:
        """One row per solution (see ``results_``)."""
        self._check_fitted()
        return self.results_.copy()

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Plain-language regret of every model, English (``"en"``) or Korean (``"ko"``)."""
        self._check_fitted()
        r = self.results_
        best = r.iloc[0]
        radius = f"{self.radius_:g} {self.unit_}"
        lines = []
        if lang == "ko":
            lines.append(
                f"신규 시설 {self.p}곳(반경 {radius})을 실제 수요로 최적 배치하면 실제 수요의 "
                f"{100 * best['true_share_covered']:.1f}%({best['true_need_covered']:.0f})를 "
                "포괄합니다."
            )
            for row in r.iloc[1:].itertuples():
                lines.append(
                    f"- {row.solution}: 예측 수요로 고른 입지는 실제 수요의 "
                    f"{100 * row.true_share_covered:.1f}%를 포괄 — 후회(손실) {row.regret:.0f} "
                    f"(최적의 {100 * row.relative_regret:.1f}%), 최적 입지와 겹치는 곳 "
                    f"{row.sites_shared_with_oracle}/{row.sites}. 모형이 기대한 포괄량 "
                    f"{row.expected_need_covered:.0f}."
                )
            lines.append(
                "가정: 실제 수요는 관측값이며, MCLP는 정확해(증명된 최적)로 풀었습니다. "
                "정확도가 같아도 배분 결과는 다를 수 있습니다."
            )
            return "\n".join(lines)
        lines.append(
            f"Siting {self.p} new facilities (radius {radius}) on the true need covers "
            f"{100 * best['true_share_covered']:.1f}% of it ({best['true_need_covered']:.0f})."
        )
        for row in r.iloc[1:].itertuples():
            lines.append(
                f"- {row.solution}: the sites chosen with its predicted need cover "
                f"{100 * row.true_share_covered:.1f}% of the true need — regret "
                f"{row.regret:.0f} ({100 * row.relative_regret:.1f}% of the optimum); "
                f"{row.sites_shared_with_oracle}/{row.sites} sites shared with the optimum; "
                f"the model expected to cover {row.expected_need_covered:.0f}."
            )
        lines.append(
            "Assumptions: the true need is the observed value; every MCLP is solved "
            + ("to proven optimality" if self.method == "exact" else f"with method={self.method}")
            + ". "
            "Equal accuracy does not mean equal allocations."
        )
        return "\n".join(lines)

    def plot(self) -> Any:
        """Maps of the sites chosen under the true and each predicted need (with ``areas``),
        otherwise a bar chart of the regret; returns the Figure."""
        self._check_fitted()
        from matplotlib.figure import Figure

        from dongne.report import korean_font

        names = list(self.sites_)
        font = korean_font()
        if self.areas_ is None or self.problem_.site_geometry is None:
            fig = Figure(figsize=(6, 3.5))
            ax = fig.subplots()
            r = self.results_.iloc[1:]
            ax.barh(r["solution"], r["regret"], color="tab:red")
            ax.set_xlabel("regret: true need not covered vs optimum")
            ax.set_yticks(range(len(r)), r["solution"], fontfamily=font)
            fig.tight_layout()
            return fig
        return self._map(names, font)

    def _map(self, names: list[str], font: str) -> Any:
        """One panel per solution: true need in grey classes, chosen sites as red triangles.

        Shared legend (need classes, sites), scale bar, north arrow and a note on the method.
        """
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import BoundaryNorm
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        from dongne.io.crs import to_metric
        from dongne.report.maps import _add_north_arrow, _add_scale_bar, _trim_empty_bands

        areas = to_metric(self.areas_, "areas").copy()
        areas["_need"] = self.true_need_
        sites = self.problem_.site_geometry.to_crs(areas.crs)
        ids = self.problem_.site_ids
        edges = np.unique(np.quantile(areas["_need"], np.linspace(0, 1, 6)))
        if len(edges) < 2:
            edges = np.array([edges[0], edges[0] + 1.0])
        cmap = matplotlib.colormaps["Greys"].resampled(len(edges) - 1)
        norm = BoundaryNorm(edges, cmap.N)
        r = self.results_.set_index("solution")
        with matplotlib.rc_context({"font.family": [font, "DejaVu Sans"]}):
            x0, y0, x1, y1 = areas.total_bounds
            aspect = (y1 - y0) / max(x1 - x0, 1e-9)
            fig = Figure(
                figsize=(4.5 * len(names) + 2.6, min(4.5 * aspect, 6.0) + 1.3),
                layout="constrained",
            )
            FigureCanvasAgg(fig)
            axes = np.atleast_1d(fig.subplots(1, len(names)))
            for ax, name in zip(axes, names, strict=True):
                areas.plot(
                    column="_need", cmap=cmap, norm=norm, ax=ax, linewidth=0.1, edgecolor="white"
                )
                chosen = np.isin(ids, self.sites_[name])
                sites[chosen].plot(ax=ax, color="tab:red", markersize=30, marker="^")
                ax.set_title(
                    f"{name}\ncovers {100 * r.loc[name, 'true_share_covered']:.1f}% · regret "
                    f"{r.loc[name, 'regret']:.0f}",
                    fontsize=9,
                )
                ax.set_axis_off()
                ax.set_aspect("equal")
            _add_scale_bar(axes[0])
            _add_north_arrow(axes[-1])
            decimals = 0 if np.all(np.abs(edges - np.round(edges)) < 1e-9) else 1
            handles = [
                Patch(
                    facecolor=cmap(i),
                    edgecolor="#8c8c8c",
                    linewidth=0.4,
                    label=f"{edges[i]:,.{decimals}f} – {edges[i + 1]:,.{decimals}f}",
                )
                for i in range(len(edges) - 1)
            ]
            handles.append(
                Line2D([], [], color="tab:red", marker="^", linestyle="", markersize=7,
                       label=f"chosen site ({self.p}) / 선정 지점")
            )  # fmt: skip
            fig.legend(
                handles=handles,
                title="True need per area / 실제 수요",
                loc="outside right upper",
                frameon=False,
                fontsize=8,
                title_fontsize=9,
            )
            fig.supxlabel(
                f"MCLP, p = {self.p}, radius {self.radius_:g} {self.unit_}; sites chosen with "
                f"each solution's need, scored on the true need; dongne {__version__}",
                fontsize=7,
                color="#666666",
                x=0.01,
                ha="left",
            )
            for _ in range(2):
                fig.draw_without_rendering()
            _trim_empty_bands(fig)
        return fig


def allocation_regret(
    problem: LocationProblem,
    true_need: Any,
    predictions: Mapping[str, Any],
    *,
    p: int,
    radius: float | str,
    areas: gpd.GeoDataFrame | None = None,
    **options: Any,
) -> AllocationRegret:
    """Shorthand for ``AllocationRegret(p, radius, **options).fit(problem, true_need, ...)``."""
    return AllocationRegret(p, radius, **options).fit(problem, true_need, predictions, areas=areas)
