"""Explain a pattern: OLS with spatial diagnostics, spatial lag/error/SLX/Durbin models with
impacts, GM (Kelejian–Prucha) spatial error models, and geographically weighted regression
(GWR, MGWR). See docs/explain.md."""

from dongne.explain._design import MAX_CONDITION, Design, check_design, condition_number
from dongne.explain.local import (
    GWRResult,
    MGWRResult,
    gwr,
    mgwr,
    select_bandwidth,
    spatial_variability_test,
)
from dongne.explain.moments import GM_VARIANTS, gm_error
from dongne.explain.ols import OLSResult, Test, ols, spatial_diagnostics
from dongne.explain.spatial import (
    SpatialModelResult,
    gm_lag,
    impacts,
    lag_covariates,
    ml_error,
    ml_lag,
    slx,
)

__all__ = [
    "GM_VARIANTS",
    "MAX_CONDITION",
    "Design",
    "GWRResult",
    "MGWRResult",
    "OLSResult",
    "SpatialModelResult",
    "Test",
    "check_design",
    "condition_number",
    "gm_error",
    "gm_lag",
    "gwr",
    "impacts",
    "lag_covariates",
    "mgwr",
    "ml_error",
    "ml_lag",
    "ols",
    "select_bandwidth",
    "slx",
    "spatial_diagnostics",
    "spatial_variability_test",
]
