"""Explain: spatial regression with diagnostics, spatial models, GWR and MGWR."""

from dongne.explain._design import Design, check_design, condition_number
from dongne.explain.ols import OLSResult, Test, ols

__all__ = ["Design", "OLSResult", "Test", "check_design", "condition_number", "ols"]
