"""The explain workflow behind ``dongne explain``: fit, compare, map and summarise a regression.

:func:`run_explain` fits one model (``ols``, ``slx``, ``lag``, ``gm_lag``, ``error``,
``gm_error``, ``durbin``, ``gwr`` or ``mgwr``) of one variable on covariates over areas, and
writes into ``out_dir``: the coefficient table, OLS diagnostics, impacts (lag and Durbin), a
model-comparison table (OLS, lag, error, GM error, Durbin: log-likelihood, AIC, residual
Moran's I; and the GWR/MGWR AICc), one coefficient map per covariate for GWR/MGWR with the
non-significant areas grey (Fotheringham–Byrne corrected), a residual map, the per-area
results as GeoPackage and CSV, a Korean and English summary, and provenance for each file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne._validation import check_choice, check_probability
from dongne.errors import DataError, format_rows
from dongne.explain._design import Design, check_design
from dongne.explain.local import GWRResult, MGWRResult, gwr, mgwr
from dongne.explain.moments import GM_VARIANTS, gm_error
from dongne.explain.ols import OLSResult, ols
from dongne.explain.spatial import SpatialModelResult, gm_lag, lag_covariates, ml_error, ml_lag
from dongne.explain.summary import explain_summary
from dongne.io.atomic import atomic_write_text
from dongne.io.crs import to_metric
from dongne.io.write import write_layer, write_table
from dongne.report.maps import choropleth
from dongne.weights import from_spec

__all__ = ["EXPLAIN_MODELS", "ExplainOutputs", "run_explain"]

EXPLAIN_MODELS = ("ols", "slx", "lag", "gm_lag", "error", "gm_error", "durbin", "gwr", "mgwr")
_GLOBAL = ("ols", "lag", "error", "durbin")


@dataclass
class ExplainOutputs:
    """What :func:`run_explain` fitted and wrote."""

    frame: gpd.GeoDataFrame
    result: Any
    comparison: pd.DataFrame
    dropped: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    summary: str = ""


def run_explain(
    areas: gpd.GeoDataFrame,
    id_column: str,
    y: str,
    x: Sequence[str],
    model: str,
    out_dir: str | Path,
    *,
    weights: str = "queen",
    missing: str = "raise",
    robust: str = "none",
    kernel: str = "bisquare",
    fixed: bool = False,
    criterion: str = "AICc",
    alpha: float = 0.05,
    replications: int = 1000,
    rng: int | None = None,
    gm_variant: str = "kp",
    label: str | None = None,
    source: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ExplainOutputs:
    """Fit ``model`` of ``y`` on ``x`` over ``areas`` and write tables, maps and a summary.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        One row per area with ``id_column``, ``y`` and the ``x`` columns, and a CRS.
    id_column : str
        Area code column.
    y, x : str, sequence of str
        Dependent variable and covariates (the intercept is added).
    model : {"ols", "slx", "lag", "gm_lag", "error", "gm_error", "durbin", "gwr", "mgwr"}
        The model. MGWR standardises ``y`` and ``x`` (mean 0, sd 1) as Fotheringham et al.
        (2017) recommend; its coefficients are then in standard deviations.
    out_dir : path-like
        Output folder (created).
    weights : str
        Weights spec for the spatial models and diagnostics (:func:`dongne.weights.from_spec`),
        row-standardised.
    missing : {"raise", "drop"}
        Areas with a missing value: error naming them, or leave them out (listed in the
        summary and the provenance).
    robust : {"none", "white"}
        OLS standard errors.
    kernel, fixed, criterion
        GWR/MGWR kernel, fixed (metres) or adaptive (neighbours) bandwidth, AICc or CV.
    alpha : float
        Significance level (corrected for the local tests of GWR/MGWR).
    replications : int
        Draws for the simulated inference on the impacts (lag, Durbin).
    rng : int, optional
        Seed of the impact draws (None means 0).
    gm_variant : {"kp", "het", "hom"}
        The GM spatial error estimator (:func:`~dongne.explain.gm_error`) fitted by
        ``gm_error`` and listed in the model comparison.
    label, source : str, optional
        Readable name of ``y`` for titles, and the data source under the maps.
    progress : callable, optional
        Called with a short description before each step.
    """
    check_choice("model", model, EXPLAIN_MODELS)
    check_choice("missing", missing, ("raise", "drop"))
    check_probability("alpha", alpha)
    check_choice("gm_variant", gm_variant, GM_VARIANTS)
    step = progress or (lambda _m: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    step("checking the design")
    kept, dropped = _complete_rows(areas, id_column, [y, *x], missing)
    design = check_design(
        kept[y],
        kept[list(x)].to_numpy(float),
        list(x),
        y_name=y,
        rows=kept[id_column].astype(str).tolist(),
        source="the areas",
    )
    w = from_spec(kept, id_column, weights).row_standardised()
    step(f"fitting {model}")
    result = _fit(
        model,
        design,
        w,
        kept,
        robust,
        kernel,
        fixed,
        criterion,
        alpha,
        replications,
        rng,
        gm_variant,
    )
    comparison = _comparison(design, w, result, gm_variant)
    frame = _area_frame(kept, design, result)
    outputs = ExplainOutputs(frame, result, comparison, dropped)
    step("writing maps, tables and summary")
    _write(outputs, out, model, design, label or y, source, weights, alpha)
    return outputs


def _complete_rows(
    areas: gpd.GeoDataFrame, id_column: str, columns: list[str], missing: str
) -> tuple[gpd.GeoDataFrame, list[str]]:
    absent = [c for c in [id_column, *columns] if c not in areas.columns]
    if absent:
        raise DataError(
            f"The areas have no column {', '.join(absent)}. Columns: "
            f"{', '.join(map(str, areas.columns))}. Fix: name existing columns."
        )
    values = areas[columns].apply(pd.to_numeric, errors="coerce")
    bad = ~np.isfinite(values.to_numpy(float)).all(axis=1)
    if not bad.any():
        return areas.reset_index(drop=True), []
    codes = areas.loc[bad, id_column].astype(str).tolist()
    if missing == "raise":
        empty = [c for c in columns if values[c].isna().any()]
        raise DataError(
            f"{len(codes)} area(s) have no value for {', '.join(empty)}: {format_rows(codes)}. "
            "Fix: pass missing='drop' to leave them out (listed in the summary), or fill them."
        )
    return areas.loc[~bad].reset_index(drop=True), codes


def _coords(areas: gpd.GeoDataFrame) -> np.ndarray:
    metric = to_metric(areas)
    points = metric.geometry.representative_point()
    return np.column_stack([points.x, points.y])


def _fit(model, design, w, areas, robust, kernel, fixed, criterion, alpha, draws, rng, variant):
    if model == "ols":
        return ols(design, w, robust=robust)
    if model == "slx":
        return ols(lag_covariates(design, w), w, robust=robust)
    if model == "lag":
        return ml_lag(design, w, replications=draws, rng=rng)
    if model == "gm_lag":
        return gm_lag(design, w)
    if model == "error":
        return ml_error(design, w)
    if model == "gm_error":
        return gm_error(design, w, variant=variant)
    if model == "durbin":
        return ml_lag(lag_covariates(design, w), w, replications=draws, rng=rng)
    coords = _coords(areas)
    if model == "gwr":
        return gwr(design, coords, kernel=kernel, fixed=fixed, criterion=criterion, alpha=alpha)
    return mgwr(
        _standardised(design), coords, kernel=kernel, fixed=fixed, criterion=criterion, alpha=alpha
    )


def _standardised(design: Design) -> Design:
    X = design.X[:, 1:]
    z = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (design.y - design.y.mean()) / design.y.std()
    return check_design(y, z, design.names[1:], y_name=design.y_name, rows=design.rows)


def _comparison(design: Design, w: Any, result: Any, gm_variant: str = "kp") -> pd.DataFrame:
    """Log-likelihood, AIC and residual Moran's I of OLS, lag, error, GM error (no likelihood:
    its Moran's I only) and Durbin (and GWR)."""
    rows = []
    base = ols(design, w)
    moran = base.spatial_["Moran's I (residuals)"]
    rows.append(("OLS", base.log_likelihood_, base.aic_, moran.statistic, moran.p_value))
    for name, fit in (
        ("lag (ML)", lambda: ml_lag(design, w, replications=0)),
        ("error (ML)", lambda: ml_error(design, w)),
        (f"error (GM, {gm_variant})", lambda: gm_error(design, w, variant=gm_variant)),
        ("Durbin (ML)", lambda: ml_lag(lag_covariates(design, w), w, replications=0)),
    ):
        try:
            m = fit()
        except DataError as exc:  # a model that does not fit is listed, not hidden
            rows.append((f"{name}: {exc}", np.nan, np.nan, np.nan, np.nan))
            continue
        rows.append(
            (
                name,
                np.nan if m.log_likelihood_ is None else m.log_likelihood_,
                np.nan if m.aic_ is None else m.aic_,
                m.residual_moran_.statistic,
                m.residual_moran_.p_value,
            )
        )
    frame = pd.DataFrame(
        rows, columns=["model", "log_likelihood", "aic", "residual_moran_i", "residual_moran_p"]
    )
    if isinstance(result, GWRResult):
        name = "MGWR (standardised)" if isinstance(result, MGWRResult) else "GWR"
        frame["aicc"] = np.nan
        frame.loc[len(frame)] = [name, np.nan, np.nan, np.nan, np.nan, result.aicc_]
    return frame


def _area_frame(areas: gpd.GeoDataFrame, design: Design, result: Any) -> gpd.GeoDataFrame:
    frame = areas.copy()
    frame["residual"] = result.residuals_
    if isinstance(result, GWRResult):
        local = result.to_frame().reset_index(drop=True)
        for column in local.columns:
            if column != "residual":
                frame[f"local_{column}"] = local[column].to_numpy()
    return frame


def _write(outputs, out, model, design, label, source, weights, alpha) -> None:
    result = outputs.result
    params = {
        "model": model,
        "y": design.y_name,
        "x": list(design.names[1:]),
        "weights": weights,
        "alpha": alpha,
        "dropped": outputs.dropped,
        **getattr(result, "provenance_", {}),
    }
    files = outputs.files
    frame = outputs.frame
    if isinstance(result, GWRResult):
        files["local_csv"] = write_table(frame, out / "local_coefficients.csv", **params)
        files.update(_coefficient_maps(frame, result, out, label, source))
    else:
        files["coefficients"] = write_table(
            result.to_frame().reset_index(), out / "coefficients.csv", **params
        )
    if isinstance(result, OLSResult):
        files["diagnostics"] = write_table(
            result.diagnostics_frame().reset_index(), out / "diagnostics.csv", **params
        )
    if isinstance(result, SpatialModelResult) and result.impacts_ is not None:
        files["impacts"] = write_table(result.impacts_.reset_index(), out / "impacts.csv", **params)
    files["comparison"] = write_table(outputs.comparison, out / "model_comparison.csv", **params)
    files["residual_map"] = choropleth(
        frame,
        "residual",
        title=f"잔차 · residuals ({model})\n{label}",
        legend_title="residual",
        path=out / "residual_map.png",
        cmap="RdBu_r",
        note=source,
    ).path
    files["geopackage"] = write_layer(frame, out / "explain.gpkg", layer="areas", **params)
    outputs.summary = explain_summary(result, outputs.comparison, label, outputs.dropped)
    files["summary"] = atomic_write_text(out / "summary.txt", outputs.summary + "\n")


def _coefficient_maps(frame, result: GWRResult, out: Path, label: str, source) -> dict[str, Path]:
    files = {}
    crit = result.critical_t_
    for j, name in enumerate(result.design.names):
        if not result.significant_[:, j].any():
            continue  # nothing to colour: the summary says "significant in 0 of n areas"
        column = f"map_{name}"
        values = result.params_[:, j].copy()
        values[~result.significant_[:, j]] = np.nan
        frame[column] = values
        note = f"|t| > {crit[j]:.2f} (Fotheringham–Byrne corrected, α = {result.alpha}); " + (
            source or ""
        )
        shown = values[np.isfinite(values)]
        cmap = "Reds" if shown.min() > 0 else ("Blues_r" if shown.max() < 0 else "RdBu_r")
        files[f"map_{name}"] = choropleth(
            frame,
            column,
            title=f"{name}: 국지 계수 · local coefficient\n{label}",
            legend_title=name,
            path=out / f"coefficient_{name}.png",
            cmap=cmap,
            missing_label="유의하지 않음 · not significant",
            note=note,
        ).path
        del frame[column]
    return files
