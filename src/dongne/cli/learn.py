"""``dongne learn``: ``cv``, ``shift``, ``audit`` and ``regret``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dongne.cli._common import (
    add_table_inputs,
    areas_with_table,
    print_outputs,
    progress_steps,
)

HELP = "will a need model work in a new place? spatial CV, shift, fairness audit, regret"

#: Names of :data:`dongne.learn.workflow.MODELS` and ``REGRET_METHODS`` (kept here so that
#: ``dongne --help`` does not import scikit-learn; a test checks they agree).
MODELS = ("ridge", "lightgbm", "rf")
REGRET_METHODS = ("naive", "importance_weighted", "group_reweighted", "group_dro")

_EPILOG = """\
inputs: AREAS (boundaries) and, optionally, TABLE joined to them by --id as in 'dongne detect';
or --seoul for the bundled task: Seoul's 423 dongs, semi-basement household share (2010) from
12 density, facility and location features, north (14 gu) vs south (11 gu) of the Han river.
With --seoul, --id, --target, --features, --group, the domain and --exposure default to it.

examples:
  dongne learn cv --seoul --group gu_name_en --out learn-cv
  dongne learn cv dong.gpkg census.csv --id dong_code --target basement_pct \\
      --features density,shelters_per_1k --block 3km --buffer 1km --model lightgbm --out cv
  dongne learn shift --seoul --permutations 99 --out learn-shift
  dongne learn shift dong.gpkg --id code --features a,b,c \\
      --source-query "gu_name in ['종로구', '중구']" --out shift
  dongne learn audit dong.gpkg cv/cv_areas.csv --id dong_code --target basement_pct \\
      --prediction prediction_spatial_cv --partitions grids,gu_name --out audit
  dongne learn regret --seoul --p 10 --radius 1km --methods naive,group_dro --out regret

Every command writes CSV tables (each with a .provenance.json), PNG maps and charts and a
summary in English and Korean into --out; 'dongne report OUT' renders them for a council.
"""


def _inputs(p: argparse.ArgumentParser, name: str, *, features: bool, target: bool) -> None:
    p.add_argument("areas", nargs="?", help="area boundaries (omit with --seoul)")
    p.add_argument("table", nargs="?", help="optional table joined to AREAS by --id")
    p.add_argument("--seoul", action="store_true", help="use the bundled Seoul north→south task")
    p.add_argument("--id", help="code column of AREAS (and of TABLE)")
    if target:
        p.add_argument("--target", help="the outcome column (what the model predicts)")
    if features:
        p.add_argument("--features", help="feature columns, comma-separated")
    add_table_inputs(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=f"dongne-learn-{name}", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="ridge", choices=MODELS, help="default: ridge")


def _scheme(p: argparse.ArgumentParser) -> None:
    folds = p.add_argument_group("spatial folds (one of --group, --block, --kmeans)")
    folds.add_argument("--group", help="hold out whole groups of this column (e.g. gu_name)")
    folds.add_argument("--block", help="square grid blocks of this side, e.g. 3km")
    folds.add_argument("--kmeans", type=int, help="this many k-means blocks of the centroids")
    folds.add_argument("--buffer", help="drop training areas within this distance, e.g. 1km")
    folds.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")


def _domain(p: argparse.ArgumentParser) -> None:
    dom = p.add_argument_group("source and target regions")
    dom.add_argument("--source-query", help="pandas query selecting the source areas")
    dom.add_argument("--domain", help="column whose values name the regions")
    dom.add_argument("--source", help="source value(s) of --domain, comma-separated")
    dom.add_argument(
        "--target-domain", help="target value(s) of --domain (default: all other values)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sub-commands of ``dongne learn`` and their options to ``parser``."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser.formatter_class = fmt
    parser.epilog = _EPILOG
    sub = parser.add_subparsers(dest="learn_command", metavar="SUBCOMMAND")

    cv = sub.add_parser(
        "cv",
        formatter_class=fmt,
        help="random K-fold vs spatial cross-validation (the optimism gap)",
        description="Score one model by random K-fold and by spatial cross-validation (whole "
        "groups, grid blocks or k-means blocks, optionally buffered), side by side, and map "
        "each area's out-of-fold error. Writes cv_scores.csv, cv_comparison.csv, "
        "cv_areas.csv, cv_buffer.csv (with --buffer), cv_scores.png, cv_folds_map.png, "
        "cv_error_map.png and cv_summary.txt.",
    )
    _inputs(cv, "cv", features=True, target=True)
    _model(cv)
    _scheme(cv)

    shift = sub.add_parser(
        "shift",
        formatter_class=fmt,
        help="is the target region different from the training region?",
        description="Shift diagnostics between a source and a target region: domain-"
        "classifier AUC with a permutation p, per-feature KS (FDR) and PSI, MMD, importance "
        "weights and their effective sample size; with --target, the importance-weighted "
        "estimate of the target error next to the error actually reached. Writes "
        "shift_tests.csv, shift_features.csv, shift_areas.csv, shift_error.csv, "
        "shift_diagnostics.png, shift_weights_map.png and shift_summary.txt.",
    )
    _inputs(shift, "shift", features=True, target=True)
    _model(shift)
    _domain(shift)
    shift.add_argument("--permutations", type=int, default=99, help="domain-classifier test")
    shift.add_argument("--mmd-permutations", type=int, default=999)
    shift.add_argument(
        "--correction", default="fdr_bh", choices=["fdr_bh", "fdr_by", "bonferroni", "none"]
    )
    shift.add_argument("--alpha", type=float, default=0.05)

    audit = sub.add_parser(
        "audit",
        formatter_class=fmt,
        help="spatial-fairness audit of predictions (SPAD, Xie et al. 2022)",
        description="How unevenly does a model perform across space? The metric in every "
        "cell of every partitioning (the 24 grids up to 5x5, RxC grids, group columns such "
        "as gu) against the overall metric, summed into the SPAD score and tested by "
        "permutation. Audits --prediction, or out-of-fold predictions from --features under "
        "the spatial folds. Writes audit_cells.csv, audit_partitions.csv, "
        "audit_predictions.csv, audit_scores.png, audit_map_*.png and audit_summary.txt.",
    )
    _inputs(audit, "audit", features=True, target=True)
    audit.add_argument("--prediction", help="column of predictions to audit")
    _model(audit)
    _scheme(audit)
    audit.add_argument("--metric", default="rmse", choices=["rmse", "mae", "r2"])
    audit.add_argument(
        "--partitions", help="grids, RxC and group columns (default grids; --seoul: grids,gu_name)"
    )
    audit.add_argument("--permutations", type=int, default=999)
    audit.add_argument("--min-cell-size", type=int, default=10)

    regret = sub.add_parser(
        "regret",
        formatter_class=fmt,
        help="coverage lost by siting facilities on predicted need",
        description="Fit the need model on the source region with each --methods, predict "
        "the target region, site --p facilities (MCLP, exact) on the true and on each "
        "predicted need, and report the true need each choice covers, the regret and each "
        "model's RMSE and worst group. Writes regret_results.csv, regret_models.csv, "
        "regret_sites.csv, regret_areas.csv, regret_map.png and regret_summary.txt.",
    )
    _inputs(regret, "regret", features=True, target=True)
    _model(regret)
    _domain(regret)
    regret.add_argument("--p", type=int, required=True, help="number of new sites")
    regret.add_argument("--radius", required=True, help="service radius, e.g. 1km")
    regret.add_argument("--exposure", help="column turning the target into a need count")
    regret.add_argument("--group", help="group column (gu) for group DRO and worst groups")
    regret.add_argument(
        "--methods",
        default="naive,group_dro",
        help=f"comma-separated: {', '.join(REGRET_METHODS)} (default naive,group_dro)",
    )
    regret.add_argument("--time-limit", type=float, help="seconds per MCLP solve")


def _require(args: argparse.Namespace, *names: str) -> None:
    from dongne.errors import SpecificationError

    missing = [n for n in names if not getattr(args, n, None)]
    if missing:
        flags = ", ".join("--" + n.replace("_", "-") for n in missing)
        raise SpecificationError(
            f"dongne learn {args.learn_command} needs {flags} (or --seoul for the bundled task)."
        )


def _load(args: argparse.Namespace, out: Path) -> Any:
    """The areas: the bundled Seoul task with its defaults, or AREAS [TABLE] joined by --id."""
    from dongne.errors import SpecificationError

    if args.seoul:
        from dongne.demo.learn import SEOUL_DEFAULTS, seoul_learning_areas

        if args.areas:
            raise SpecificationError("Give either AREAS [TABLE] or --seoul, not both.")
        d = SEOUL_DEFAULTS
        defaults = {
            "id": d["id"],
            "target": d["target"],
            "features": ",".join(d["features"]),
            "exposure": d["exposure"],
        }
        for key, value in defaults.items():
            if hasattr(args, key) and getattr(args, key) is None:
                setattr(args, key, value)
        if hasattr(args, "source_query") and not (args.source_query or args.domain):
            args.domain, args.source = d["domain"], d["source"]
            args.target_domain = args.target_domain or d["target_domain"]
        if hasattr(args, "kmeans") and not (args.group or args.block or args.kmeans):
            args.group = d["group"]
        if getattr(args, "learn_command", "") == "regret" and args.group is None:
            args.group = d["group"]
        if getattr(args, "learn_command", "") == "audit" and args.partitions is None:
            args.partitions = "grids,gu_name"
        return seoul_learning_areas()
    if not args.areas:
        raise SpecificationError(
            f"dongne learn {args.learn_command} needs AREAS (a boundary file), or --seoul for "
            "the bundled Seoul task."
        )
    _require(args, "id")
    return areas_with_table(args, out)


def _scheme_of(args: argparse.Namespace) -> Any:
    from dongne.learn.workflow import SpatialScheme

    return SpatialScheme(
        group=args.group,
        block=args.block,
        kmeans=args.kmeans,
        buffer=args.buffer,
        n_splits=args.folds,
    )


def _domains(args: argparse.Namespace, areas: Any) -> Any:
    from dongne.learn.workflow import domain_masks

    return domain_masks(
        areas,
        query=args.source_query,
        column=args.domain,
        source=args.source,
        target=args.target_domain,
    )


def run(args: argparse.Namespace) -> int:
    """Learn need models that survive a move: spatial CV, shift, fairness audit, regret.

    cv      random K-fold vs spatial cross-validation of one model (the optimism gap)
    shift   shift diagnostics between a source and a target region
    audit   spatial-fairness audit of predictions over grids and districts (SPAD)
    regret  coverage lost by siting facilities on predicted instead of true need
    """
    from dongne._threads import one_thread
    from dongne.errors import SpecificationError
    from dongne.learn import workflow

    if not getattr(args, "learn_command", None):
        raise SpecificationError(
            "Choose a sub-command: dongne learn cv|shift|audit|regret (see dongne learn --help)."
        )
    out = Path(args.out)
    areas = _load(args, out)
    command = args.learn_command
    steps = {"cv": 2, "shift": 2, "audit": 2 if args.__dict__.get("prediction") else 3}
    bar, step = progress_steps(steps.get(command, 3), args.quiet)
    # Small dense problems: BLAS threads only add contention (several times slower on a busy
    # machine), and one thread keeps the numbers independent of the machine.
    with bar, one_thread():
        if command == "cv":
            _require(args, "target", "features")
            result = workflow.run_learn_cv(
                areas, args.id, args.target, args.features, out,
                scheme=_scheme_of(args), model=args.model, rng=args.seed, progress=step,
            )  # fmt: skip
        elif command == "shift":
            _require(args, "features")
            source, target = _domains(args, areas)
            result = workflow.run_learn_shift(
                areas, args.id, args.features, out, source_rows=source, target_rows=target,
                target=args.target, model=args.model,
                permutations=(args.permutations, args.mmd_permutations),
                correction=args.correction, alpha=args.alpha, rng=args.seed, progress=step,
            )  # fmt: skip
        elif command == "audit":
            _require(args, "target")
            result = workflow.run_learn_audit(
                areas, args.id, args.target, out, prediction=args.prediction,
                features=None if args.prediction else args.features, scheme=_scheme_of(args),
                model=args.model, metric=args.metric, partitions=args.partitions or "grids",
                permutations=args.permutations, min_cell_size=args.min_cell_size,
                rng=args.seed, progress=step,
            )  # fmt: skip
        else:
            _require(args, "target", "features")
            source, target = _domains(args, areas)
            result = workflow.run_learn_regret(
                areas, args.id, args.target, args.features, out, source_rows=source,
                target_rows=target, p=args.p, radius=args.radius, exposure=args.exposure,
                group=args.group, methods=[m.strip() for m in args.methods.split(",")],
                model=args.model, rng=args.seed, time_limit=args.time_limit, progress=step,
            )  # fmt: skip
        bar.update(bar.total - bar.n)
    return print_outputs(result.summary, out, result.files)
