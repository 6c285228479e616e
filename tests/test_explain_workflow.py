"""``dongne explain`` on the bundled Seoul case, and the design checks behind every model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from dongne.cli import main
from dongne.errors import DataError, SpecificationError
from dongne.explain import check_design, condition_number, ols
from dongne.explain.spatial import ml_lag

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_explain_ols_runs_on_the_seoul_case(tmp_path, capsys):
    out = tmp_path / "ols"
    assert main(["explain", "ols", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "[English]" in printed and "[한국어]" in printed
    assert "Residual Moran's I" in printed and "잔차의 Moran's I" in printed
    coef = pd.read_csv(out / "coefficients.csv")
    assert coef["variable"].tolist()[0] == "const" and len(coef) == 5
    diag = pd.read_csv(out / "diagnostics.csv").set_index("test")
    assert diag.loc["LM error", "p_value"] < 0.001  # Seoul's OLS residuals are clustered
    comparison = pd.read_csv(out / "model_comparison.csv")
    assert comparison["model"].tolist() == [
        "OLS", "lag (ML)", "error (ML)", "error (GM, kp)", "Durbin (ML)"
    ]  # fmt: skip
    # the spatial models fit better than OLS and leave less residual clustering (GM: no AIC)
    assert (comparison["aic"].iloc[1:].drop(3) < comparison["aic"].iloc[0]).all()
    assert np.isnan(comparison["aic"].iloc[3])
    assert (comparison["residual_moran_i"].iloc[1:] < comparison["residual_moran_i"].iloc[0]).all()
    meta = json.loads((out / "coefficients.csv.provenance.json").read_text())
    assert meta["parameters"]["model"] == "ols" and meta["dongne_version"]
    assert imread(out / "residual_map.png").shape[0] > 300


def test_explain_gwr_writes_coefficient_maps_with_non_significant_areas_grey(tmp_path, capsys):
    out = tmp_path / "gwr"
    assert main(["explain", "gwr", "--out", str(out), "--quiet"]) == 0
    summary = (out / "summary.txt").read_text()
    assert "Fotheringham–Byrne" in summary and "유의하지 않음" in summary
    local = pd.read_csv(out / "local_coefficients.csv")
    assert len(local) == 423
    for name in ["const", "log_household_density", "log_cctv_per_km2"]:
        significant = local[f"local_{name}_significant"]
        if significant.any():
            assert (out / f"coefficient_{name}.png").exists()
        # significance = |t| above the corrected critical value, never the plain 1.96
        t = local[f"local_{name}_t"].abs()
        assert (t[significant] > 1.96).all() and t[~significant].max() > 1.96
    assert (out / "explain.gpkg").exists()


def test_explain_lag_reports_impacts(tmp_path, capsys):
    out = tmp_path / "lag"
    argv = ["explain", "lag", "--impact-replications", "200", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    impacts = pd.read_csv(out / "impacts.csv").set_index("variable")
    np.testing.assert_allclose(impacts["direct"] + impacts["indirect"], impacts["total"])
    assert "in neighbouring areas" in capsys.readouterr().out


def test_explain_gm_error_writes_the_table_and_its_comparison_row(tmp_path, capsys):
    out = tmp_path / "gm"
    assert main(["explain", "gm_error", "--gm-variant", "hom", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "error (GM, homoskedastic)" in printed and "공간 error (GM" in printed
    coef = pd.read_csv(out / "coefficients.csv").set_index("variable")
    assert coef.index[-1] == "lambda" and coef["std_error"].notna().all()
    comparison = pd.read_csv(out / "model_comparison.csv").set_index("model")
    gm, ml = comparison.loc["error (GM, hom)"], comparison.loc["error (ML)"]
    # same model, two estimators: both remove the residual clustering of OLS (I = 0.351)
    assert abs(gm["residual_moran_i"]) < 0.05 and abs(ml["residual_moran_i"]) < 0.05
    assert abs(coef.loc["lambda", "coefficient"] - 0.627) < 1e-3
    assert "homoskedastic" in (out / "summary.txt").read_text()
    meta = json.loads((out / "coefficients.csv.provenance.json").read_text())
    assert meta["parameters"]["variant"] == "hom"


def test_gm_error_kp_summary_says_lambda_has_no_standard_error():
    from dongne.demo.explain import SEOUL_EXPLAIN
    from dongne.demo.learn import seoul_learning_areas
    from dongne.explain import gm_error
    from dongne.weights import queen

    areas = seoul_learning_areas()
    x = list(SEOUL_EXPLAIN["x"])
    design = check_design(areas[SEOUL_EXPLAIN["y"]], areas[x].to_numpy(), x)
    w = queen(areas, ids="dong_code").row_standardised()
    fit = gm_error(design, w)
    assert "no standard error" in fit.summary("en") and "표준오차를 주지 않음" in fit.summary("ko")
    assert "nan" not in fit.summary("both")
    with pytest.raises(SpecificationError, match="variant"):
        gm_error(design, w, variant="robust")
    with pytest.raises(SpecificationError, match="max_iter=1"):
        gm_error(design, w, variant="het", max_iter=0)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X @ [1.0, -0.5, 0.2] + rng.normal(size=60)
    return y, X


def test_collinear_covariates_are_named(data):
    y, X = data
    X = np.column_stack([X, X[:, 0] + 2 * X[:, 1]])
    with pytest.raises(DataError, match=r"a, b, d are exactly collinear \(d is a linear"):
        check_design(y, X, ["a", "b", "c", "d"])


def test_nearly_collinear_design_is_refused(data):
    y, X = data
    X = np.column_stack([X, X[:, 0] + 1e-9 * np.random.default_rng(1).normal(size=60)])
    with pytest.raises(DataError, match="condition number"):
        check_design(y, X, ["a", "b", "c", "d"])
    # the same design rescaled sensibly passes, and its condition number is small
    assert condition_number(check_design(y, X[:, :3], ["a", "b", "c"]).X) < 5


def test_constant_column_and_missing_rows_are_named(data):
    y, X = data
    with pytest.raises(DataError, match="covariate.*flat.*one value"):
        check_design(y, np.column_stack([X, np.full(60, 3.0)]), ["a", "b", "c", "flat"])
    X = X.copy()
    X[[4, 17], 1] = np.nan
    rows = [f"area{i}" for i in range(60)]
    with pytest.raises(DataError, match=r"column\(s\) b .* 2 row\(s\): area4, area17"):
        check_design(y, X, ["a", "b", "c"], rows=rows)


def test_too_few_observations_and_unstandardised_weights(data):
    y, X = data
    with pytest.raises(DataError, match="more observations than coefficients"):
        check_design(y[:4], X[:4], ["a", "b", "c"])
    design = check_design(y, X, ["a", "b", "c"])
    ring = np.roll(np.eye(60), 1, axis=1) + np.roll(np.eye(60), -1, axis=1)
    with pytest.raises(SpecificationError, match="row-standardised"):
        ml_lag(design, ring)
    ring[5] = 0
    ring[:, 5] = 0
    with pytest.raises(DataError, match="islands"):
        ols(design, ring)


def _lattice_weights(side: int):
    from scipy import sparse

    idx = np.arange(side * side).reshape(side, side)
    r = np.concatenate([idx[:, :-1].ravel(), idx[:, 1:].ravel(), idx[:-1].ravel(), idx[1:].ravel()])
    c = np.concatenate([idx[:, 1:].ravel(), idx[:, :-1].ravel(), idx[1:].ravel(), idx[:-1].ravel()])
    B = sparse.csr_array((np.ones(len(r)), (r, c)), shape=(side * side, side * side))
    return sparse.csr_array(B / B.sum(axis=1)[:, None])


def _knn_weights(n: int, k: int = 6):
    from scipy import sparse
    from scipy.spatial import cKDTree

    xy = np.random.default_rng(1).uniform(size=(n, 2))
    idx = cKDTree(xy).query(xy, k=k + 1)[1][:, 1:]
    rows = np.repeat(np.arange(n), k)
    return sparse.csr_array((np.full(n * k, 1.0 / k), (rows, idx.ravel())), shape=(n, n))


# method: (log-det rel. tolerance, tr(WA⁻¹) and tr((WA⁻¹)²) rel. tolerance, |Δρ̂|) on 900
# units for ρ in {−0.5, 0.3, 0.8}. Observed maxima over the lattice and 6-NN weights:
# Chebyshev 7.6e-4, 7.9e-3, 2.9e-5; series 1.2e-2, 3.3e-2, 7.4e-4. The Hutchinson part of
# both errors falls as 1/sqrt(n) (docs/explain.md gives the errors at 10,000 units).
LOGDET_TOLERANCES = {"chebyshev": (2e-3, 2e-2, 1e-4), "series": (3e-2, 6e-2, 2e-3)}


@pytest.mark.parametrize("weights", ["lattice", "knn"])
def test_approximate_log_determinants_error_is_as_documented(monkeypatch, weights):
    """The Chebyshev (Pace & LeSage 2004) and power-series (Barry & Pace 1999)
    log-determinants, and the traces of the ML variance and impacts derived from them, against
    the exact sparse-LU value and the eigenvalues; ρ̂ against the exact ML estimate; and
    ``"auto"`` switches from LU to Chebyshev above EXACT_LOGDET_LIMIT."""
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    import dongne.explain.spatial as spatial

    W = _lattice_weights(30) if weights == "lattice" else _knn_weights(900)
    n = W.shape[0]
    exact = spatial._LogDet(W)
    eig = np.linalg.eigvals(W.toarray())
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    A = sparse.csc_matrix(sparse.identity(n) - 0.5 * W)
    y = spsolve(A, X @ [1.0, -1.0] + rng.normal(size=n))
    design = check_design(y, X, ["a", "b"])
    reference = ml_lag(design, W, replications=0)
    assert reference.provenance_["log_determinant"] == "sparse LU (exact)"
    assert reference.params_[-1] == pytest.approx(0.5, abs=0.06)
    for method, (rel_logdet, rel_trace, rho_tol) in LOGDET_TOLERANCES.items():
        approx = spatial._LogDet(W, 0, method)
        assert exact.exact and not approx.exact
        for rho in (-0.5, 0.3, 0.8):
            assert approx(rho) == pytest.approx(exact(rho), rel=rel_logdet)
            b = eig / (1 - rho * eig)
            assert approx.traces.trace_wainv(rho) == pytest.approx(np.sum(b).real, rel=rel_trace)
            assert approx.traces.trace_b2(rho) == pytest.approx(np.sum(b * b).real, rel=rel_trace)
        fit = ml_lag(design, W, replications=0, log_determinant=method)
        assert fit.params_[-1] == pytest.approx(reference.params_[-1], abs=rho_tol)
    # the error model, and the variance and impact traces above EXACT_TRACE_LIMIT (Chebyshev
    # tr(B), tr(B²); Hutchinson tr(B'B)); observed: Δλ 1.1e-4, se 5.0e-4 (lag), 1.2e-3
    # (error), direct impacts 2.1e-5
    error_ref = spatial.ml_error(design, W)
    error_fit = spatial.ml_error(design, W, log_determinant="chebyshev")
    assert error_fit.params_[-1] == pytest.approx(error_ref.params_[-1], abs=5e-4)
    monkeypatch.setattr(spatial, "EXACT_TRACE_LIMIT", 100)
    fit = ml_lag(design, W, replications=0, log_determinant="chebyshev")
    assert "chebyshev traces" in fit.provenance_["traces"]
    np.testing.assert_allclose(fit.bse_, reference.bse_, rtol=5e-3)
    np.testing.assert_allclose(fit.impacts_["direct"], reference.impacts_["direct"], rtol=1e-4)
    error_fit = spatial.ml_error(design, W, log_determinant="chebyshev")
    np.testing.assert_allclose(error_fit.bse_, error_ref.bse_, rtol=1e-2)
    monkeypatch.setattr(spatial, "EXACT_LOGDET_LIMIT", 500)
    assert spatial._LogDet(W).kind == "chebyshev"
    with pytest.raises(SpecificationError, match="log_determinant"):
        ml_lag(design, W, log_determinant="eigen")


def test_missing_drop_leaves_out_and_lists_the_areas(tmp_path):
    from dongne.demo.explain import SEOUL_EXPLAIN
    from dongne.demo.learn import seoul_learning_areas
    from dongne.explain.workflow import run_explain

    areas = seoul_learning_areas()
    x = list(SEOUL_EXPLAIN["x"])
    areas.loc[[5, 300], x[1]] = np.nan
    codes = areas.loc[[5, 300], "dong_code"].tolist()
    with pytest.raises(DataError, match=f"2 area\\(s\\) have no value for {x[1]}: {codes[0]}"):
        run_explain(areas, "dong_code", SEOUL_EXPLAIN["y"], x, "ols", tmp_path / "raise")
    out = run_explain(areas, "dong_code", SEOUL_EXPLAIN["y"], x, "ols", tmp_path / "drop",
                      missing="drop")  # fmt: skip
    assert out.dropped == codes and len(out.frame) == 421
    assert all(c in out.summary for c in codes)
    meta = json.loads((tmp_path / "drop" / "coefficients.csv.provenance.json").read_text())
    assert meta["parameters"]["dropped"] == codes
