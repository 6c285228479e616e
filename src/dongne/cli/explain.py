"""``dongne explain``: spatial regression with diagnostics, spatial models, GWR and MGWR."""

from __future__ import annotations

import argparse
from pathlib import Path

from dongne.cli._common import (
    add_table_inputs,
    areas_with_table,
    print_outputs,
    progress_steps,
    require_columns,
)

HELP = "explain a variable: OLS with spatial diagnostics, lag/error/Durbin models, GWR, MGWR"
MODELS = ("ols", "slx", "lag", "gm_lag", "error", "gm_error", "durbin", "gwr", "mgwr")
DESCRIPTION = """\
Explain Y by covariates X over areas, and say whether and where the relation is spatial.

models (first argument):
  ols      OLS with Moran's I of the residuals, LM lag/error tests and their robust forms,
           SARMA, Jarque-Bera, Breusch-Pagan, Koenker-Bassett and the condition number
  slx      OLS on X and its spatial lag WX
  lag      spatial lag model by maximum likelihood, with direct/indirect/total impacts
  gm_lag   spatial lag model by spatial two-stage least squares
  error    spatial error model by maximum likelihood
  gm_error spatial error model by generalized moments: Kelejian-Prucha (--gm-variant kp,
           no standard error for lambda), heteroskedasticity-robust (het, Arraiz et al.
           2010) or homoskedastic (hom, Drukker et al. 2013); no log-determinant needed
  durbin   spatial Durbin model (lag model on X and WX), with impacts
  gwr      geographically weighted regression: one bandwidth, local coefficients
  mgwr     multiscale GWR: one bandwidth per covariate (variables standardised)

Without AREAS the bundled Seoul case runs: the semi-basement household share of the 423 dongs
(2010) by household density, heat shelters per 10,000 households, CCTV density and the gu's
livelihood-support share.

Writes into --out: coefficients.csv (or local_coefficients.csv and one coefficient_*.png map
per covariate for gwr/mgwr, non-significant areas grey after the Fotheringham-Byrne
correction), diagnostics.csv (ols, slx), impacts.csv (lag, durbin), model_comparison.csv
(log-likelihood, AIC, residual Moran's I of OLS, lag, error, GM error and Durbin), residual_map.png,
explain.gpkg, summary.txt (English and Korean) and provenance files.

examples:
  dongne explain ols --out explain-ols
  dongne explain mgwr --out explain-mgwr
  dongne explain gm_error --gm-variant het --out explain-gm
  dongne explain lag dongs.gpkg --id dong_code --y basement_pct --x density,shelters --out lag
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dongne explain``."""
    parser.add_argument("model", choices=MODELS, help="the model")
    parser.add_argument("areas", nargs="?", help="area boundaries (default: the Seoul case)")
    parser.add_argument("table", nargs="?", help="optional table joined to AREAS by --id")
    parser.add_argument("--id", help="code column of AREAS (and of TABLE)")
    parser.add_argument("--y", help="the variable to explain")
    parser.add_argument("--x", help="covariates, comma-separated")
    parser.add_argument(
        "--weights", default="queen", help="queen (default), rook, queen:SNAP_M, knn:K, band:M"
    )
    parser.add_argument(
        "--missing",
        default="raise",
        choices=["raise", "drop"],
        help="areas with a missing value: error (default) or leave out",
    )
    parser.add_argument(
        "--robust", default="none", choices=["none", "white"], help="OLS standard errors"
    )
    parser.add_argument("--kernel", default="bisquare", choices=["bisquare", "gaussian"])
    parser.add_argument(
        "--fixed",
        action="store_true",
        help="fixed bandwidth in metres (default: adaptive, in neighbours)",
    )
    parser.add_argument("--criterion", default="AICc", choices=["AICc", "CV"])
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument(
        "--impact-replications",
        type=int,
        default=1000,
        help="draws for the impacts' simulated inference (lag, durbin)",
    )
    parser.add_argument(
        "--gm-variant",
        default="kp",
        choices=["kp", "het", "hom"],
        help="GM spatial error estimator (gm_error and the model comparison): Kelejian-Prucha "
        "(default), heteroskedastic or homoskedastic",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--label", help="readable name of --y for titles")
    parser.add_argument("--source", help="data source written under every map")
    add_table_inputs(parser)
    parser.add_argument("--out", default="dongne-explain", help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _inputs(args: argparse.Namespace, out: Path):
    from dongne.errors import SpecificationError

    if args.areas is None:
        from dongne.demo.explain import SEOUL_EXPLAIN
        from dongne.demo.learn import seoul_learning_areas

        case = SEOUL_EXPLAIN
        areas = seoul_learning_areas()
        x = [c.strip() for c in args.x.split(",")] if args.x else list(case["x"])
        chosen = (args.id or case["id"], args.y or case["y"], x)
        require_columns(
            areas, "the Seoul case", dict(zip(("--id", "--y", "--x"), chosen, strict=True))
        )
        return (
            areas,
            *chosen,
            args.label or (None if args.y else case["label"]),
            args.source or case["source"],
        )
    if not (args.id and args.y and args.x):
        raise SpecificationError(
            "With AREAS, name the columns. Fix: --id CODE --y COLUMN --x COL1,COL2 (or omit "
            "AREAS for the bundled Seoul case)."
        )
    areas = areas_with_table(args, out)
    x = [c.strip() for c in args.x.split(",") if c.strip()]
    require_columns(
        areas,
        " + ".join(filter(None, [args.areas, args.table])),
        {"--id": args.id, "--y": args.y, "--x": x},
    )
    return areas, args.id, args.y, x, args.label, args.source


def run(args: argparse.Namespace) -> int:
    """Fit the model and print the summary and the files written."""
    from dongne.explain.workflow import run_explain

    out = Path(args.out)
    areas, id_column, y, x, label, source = _inputs(args, out)
    bar, step = progress_steps(3, args.quiet)
    with bar:
        result = run_explain(
            areas,
            id_column,
            y,
            x,
            args.model,
            out,
            weights=args.weights,
            missing=args.missing,
            robust=args.robust,
            kernel=args.kernel,
            fixed=args.fixed,
            criterion=args.criterion,
            alpha=args.alpha,
            replications=args.impact_replications,
            rng=args.seed,
            gm_variant=args.gm_variant,
            label=label,
            source=source,
            progress=step,
        )
        bar.update(bar.total - bar.n)
    return print_outputs(result.summary, out, result.files)
