"""``dongne evaluate``: ``did``, ``scm`` and ``its``.

Each method reads its table with :func:`dongne.io.read_table` (CSV in UTF-8 or CP949, Excel,
Parquet), runs :func:`~dongne.evaluate.workflow.run_did`, :func:`~.workflow.run_scm` or
:func:`~.workflow.run_its`, prints the plain-language summary and lists the files written.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from dongne.cli._common import print_outputs

HELP = "did the policy work? DiD (staggered), synthetic control, interrupted time series"

DESCRIPTION = """\
Did the policy work? Compare what happened where (or when) a policy started with what would
have happened without it, and say how sure we can be.

methods:
  did  difference-in-differences on an area x period table: Callaway & Sant'Anna for staggered
       adoption (default), two-way fixed effects, the classic 2x2, or the Goodman-Bacon
       decomposition of TWFE; cluster-robust and wild-cluster-bootstrap inference; untreated
       neighbours of treated areas excluded or given their own estimate (--spillover)
  scm  synthetic control for one treated area: a weighted mix of untreated areas that tracks
       it before the policy; in-space placebos and leave-one-donor-out checks
  its  interrupted time series: change in level and trend at the start of a policy, with
       seasonality, counts with a population offset and a comparison series

Every method writes CSV tables, PNG figures and summary.txt (English and Korean) into --out,
each with a .provenance.json; 'dongne report OUT' turns the folder into a report.

examples:
  dongne evaluate did --panel mpdta.csv --unit countyreal --time year --outcome lemp \\
      --first-treated first.treat --out did-run
  dongne evaluate did --panel gu.csv --unit gu_code --time year --outcome share \\
      --treated-units 11010,11020 --start 2015 --estimator 2x2 --bootstrap 9999 \\
      --spillover exposure --areas gu.geojson --id gu_code --ring 1 --out did-gu
  dongne evaluate scm --panel california_prop99.csv --wide --time Year \\
      --treated California --start 1989 --placebos --leave-one-out --out prop99
  dongne evaluate its --series monthly.csv --time month --outcome events --start 2005-01-01 \\
      --family quasipoisson --offset pop --seasonality fourier --out ban
"""

_DID_HELP = """\
Difference-in-differences on a long table: one row per area (--unit) and period (--time).
Give the treatment in one way: --first-treated COL (first treated period per area; 0 or empty =
never), --treatment COL (0/1 per area and period), or --treated-units A,B,C with --start P.

estimators (--estimator):
  cs     Callaway & Sant'Anna ATT(g,t) with never-treated or not-yet-treated comparison areas
         (--control), doubly robust / IPW / regression with --covariates (--method); simple,
         group, event-study and calendar aggregations; multiplier-bootstrap uniform bands;
         pre-trend test
  twfe   two-way fixed effects, clustered at --cluster (default the area); wild cluster
         bootstrap with --bootstrap draws (recommended below 30 clusters)
  2x2    classic before/after, treated/comparison (one common start)
  bacon  Goodman-Bacon decomposition: which 2x2 comparisons make up TWFE, and why it differs
         from Callaway & Sant'Anna

Spillovers (--spillover exclude|exposure|ignore with --areas FILE --id COL): untreated areas
within --ring K contiguity steps (--weights queen|rook|queen:SNAP_M) or --distance METRES of a
treated area are left out of the comparison areas (exclude), given their own estimate
(exposure) or kept and listed (ignore). With --areas a design map is drawn.

Writes into --out: did_effects.csv, did_att_gt.csv + did_event_study.png (cs),
did_effects.png (twfe, 2x2), did_bacon.csv + did_bacon_by_type.csv + did_bacon.png (bacon),
did_units.csv (role of every area), did_design_map.png (with --areas), summary.txt.
"""

_SCM_HELP = """\
Synthetic control (Abadie, Diamond & Hainmueller 2010) for one treated area: donor weights >= 0
summing to 1, chosen so that the weighted mix of untreated areas tracks the treated one before
--start. The table is long (--unit, --time, --outcome, and --predictors columns) or, with
--wide, one row per period (column --time, default the first column) and one column per area.

Checks: --placebos refits every donor as if it were treated (p = rank of the treated area's
post/pre RMSPE ratio / (J + 1)); --leave-one-out refits without each donor with weight > 0.

Writes into --out: scm_path.csv/.png (treated, synthetic, gap), scm_weights.csv,
scm_balance.csv, scm_placebos.csv/.png and scm_placebo_gaps.csv (--placebos),
scm_leave_one_out.csv/.png (--leave-one-out), summary.txt.
"""

_ITS_HELP = """\
Interrupted time series (segmented regression): the change in level at --start and in slope
afterwards. --family poisson|quasipoisson for counts with --offset (population; rate ratios);
--seasonality fourier|month; --group COL --treated-group X for a controlled ITS against a
comparison series. Newey-West (HAC) standard errors by default (--cov model for model-based).
Periods are numbers, ISO dates (2005-01-01) or text periods (2005Q1); missing periods are
refused by name, or --gaps time fits on the true elapsed time.

Writes into --out: its_effects.csv (level and slope change, effect at the last period),
its_coefficients.csv, its_series.csv/.png (observed, fitted, counterfactual), summary.txt.
"""


def _list(text: str | None) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()] if text else []


def _number(text: str, option: str) -> float:
    from dongne.errors import SpecificationError

    try:
        return float(text)
    except ValueError as exc:
        raise SpecificationError(
            f"{option} must be a period number such as 2015; got {text!r}."
        ) from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the methods ``did``, ``scm`` and ``its`` of ``dongne evaluate`` to ``parser``."""
    fmt = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="evaluate_method", metavar="METHOD")

    did = sub.add_parser(
        "did", formatter_class=fmt, description=_DID_HELP, help="difference-in-differences"
    )
    did.add_argument("--panel", required=True, help="long table: one row per area and period")
    did.add_argument("--unit", required=True, help="area id column")
    did.add_argument("--time", required=True, help="period column (numbers, e.g. years)")
    did.add_argument("--outcome", required=True, help="outcome column")
    how = did.add_mutually_exclusive_group(required=True)
    how.add_argument("--first-treated", help="column: first treated period (0/empty = never)")
    how.add_argument("--treatment", help="column: 0/1 treatment per area and period")
    how.add_argument("--treated-units", help="comma-separated treated area ids (with --start)")
    did.add_argument("--start", help="first treated period of --treated-units")
    did.add_argument("--covariates", help="comma-separated covariate columns (cs, twfe)")
    did.add_argument("--cluster", help="column of the level the policy was assigned at")
    did.add_argument("--estimator", default="cs", choices=["cs", "twfe", "2x2", "bacon"])
    did.add_argument("--control", default="never", choices=["never", "notyet"])
    did.add_argument("--method", default="dr", choices=["dr", "ipw", "reg"])
    did.add_argument(
        "--bootstrap",
        type=int,
        default=999,
        help="bootstrap draws: multiplier (cs) or wild cluster (twfe, 2x2); 0 = none",
    )
    did.add_argument("--bootstrap-weights", default="webb", choices=["webb", "rademacher"])
    did.add_argument("--alpha", type=float, default=0.05)
    did.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    did.add_argument("--spillover", choices=["exclude", "exposure", "ignore"])
    did.add_argument("--areas", help="area polygons (spillover rule and design map)")
    did.add_argument("--id", help="area id column of --areas (same ids as --unit)")
    did.add_argument("--layer", help="layer of --areas")
    reach = did.add_mutually_exclusive_group()
    reach.add_argument("--ring", type=int, help="contiguity steps from a treated area (default 1)")
    reach.add_argument("--distance", type=float, help="metres from a treated area")
    did.add_argument("--weights", default="queen", help="contiguity for --ring: queen, rook, ...")
    did.add_argument("--name", help="column of --areas written on the design map")
    did.add_argument("--balance", default="error", choices=["error", "drop"])
    did.add_argument("--encoding", help="encoding of --panel (default: detected)")
    did.add_argument("--out", default="dongne-evaluate", help="output folder")

    scm = sub.add_parser(
        "scm", formatter_class=fmt, description=_SCM_HELP, help="synthetic control"
    )
    scm.add_argument("--panel", required=True, help="long table, or wide with --wide")
    scm.add_argument("--wide", action="store_true", help="one row per period, one column per area")
    scm.add_argument("--unit", help="area column (long table)")
    scm.add_argument("--time", help="period column (wide: default the first column)")
    scm.add_argument("--outcome", help="outcome column (long table)")
    scm.add_argument("--treated", required=True, help="the treated area")
    scm.add_argument("--start", required=True, help="first period under the policy")
    scm.add_argument("--predictors", help="comma-separated covariate columns (long table)")
    scm.add_argument("--outcome-lags", help="comma-separated pre-periods used as predictors")
    scm.add_argument("--donors", help="comma-separated donor pool (default: every other area)")
    scm.add_argument("--exclude", help="comma-separated areas left out of the donor pool")
    scm.add_argument("--placebos", action="store_true", help="in-space placebo test")
    scm.add_argument("--leave-one-out", action="store_true", help="leave-one-donor-out refits")
    scm.add_argument(
        "--max-pre-mspe-ratio",
        type=float,
        help="drop placebos whose pre-period MSPE exceeds this multiple of the treated one's",
    )
    scm.add_argument("--n-starts", type=int, default=4, help="random starts of the V search")
    scm.add_argument("--seed", type=int, default=0)
    scm.add_argument("--encoding", help="encoding of --panel (default: detected)")
    scm.add_argument("--out", default="dongne-evaluate", help="output folder")

    its = sub.add_parser(
        "its", formatter_class=fmt, description=_ITS_HELP, help="interrupted time series"
    )
    its.add_argument("--series", required=True, help="table: one row per period (and series)")
    its.add_argument(
        "--time", required=True, help="period column (numbers, ISO dates, or 2019Q1-style text)"
    )
    its.add_argument("--outcome", required=True, help="outcome column")
    its.add_argument("--start", required=True, help="first period under the policy")
    its.add_argument(
        "--family", default="gaussian", choices=["gaussian", "poisson", "quasipoisson"]
    )
    its.add_argument("--offset", help="population column of a count model")
    its.add_argument("--seasonality", choices=["fourier", "month"])
    its.add_argument("--period", type=int, default=12, help="season length (default 12)")
    its.add_argument("--harmonics", type=int, default=2, help="Fourier pairs (default 2)")
    its.add_argument("--covariates", help="comma-separated covariate columns")
    its.add_argument("--group", help="column naming the two series (controlled ITS)")
    its.add_argument("--treated-group", help="label of the treated series in --group")
    its.add_argument("--cov", default="hac", choices=["hac", "model"])
    its.add_argument("--hac-lags", type=int, help="Newey-West lag (default from the length)")
    its.add_argument("--alpha", type=float, default=0.05)
    its.add_argument(
        "--gaps",
        default="raise",
        choices=["raise", "time"],
        help="missing periods: refuse, naming them (default), or 'time': use the true elapsed "
        "time as the time index",
    )
    its.add_argument("--encoding", help="encoding of --series (default: detected)")
    its.add_argument("--out", default="dongne-evaluate", help="output folder")


def _spillover_rule(args: argparse.Namespace):
    from dongne.errors import SpecificationError
    from dongne.evaluate.spillover import SpilloverRule
    from dongne.io import read_areas
    from dongne.weights import from_spec

    if not args.spillover:
        if args.ring is not None or args.distance is not None:
            raise SpecificationError(
                "--ring and --distance define a spillover rule: add --spillover exclude, "
                "exposure or ignore (with --areas and --id)."
            )
        return None, (read_areas(args.areas, layer=args.layer) if args.areas else None)
    if not (args.areas and args.id):
        raise SpecificationError(
            "--spillover needs the area polygons: add --areas FILE --id COLUMN (the id column "
            "must hold the same ids as --unit)."
        )
    areas = read_areas(args.areas, layer=args.layer)
    if args.distance is not None:
        rule = SpilloverRule(
            handling=args.spillover, areas=areas, id_column=args.id, distance=args.distance
        )
    else:
        w = from_spec(areas, args.id, args.weights)
        rule = SpilloverRule(handling=args.spillover, weights=w, ring=args.ring or 1)
    return rule, areas


def _run_did(args: argparse.Namespace):
    from dongne.errors import SpecificationError
    from dongne.evaluate.workflow import run_did
    from dongne.io import read_table

    if args.treated_units and args.start is None:
        raise SpecificationError(
            "--treated-units needs --start, the period they were first treated."
        )
    if args.start is not None and not args.treated_units:
        raise SpecificationError("--start goes with --treated-units; remove it or list the units.")
    if args.areas and not args.id:
        raise SpecificationError("--areas needs --id, the column of --areas with the area ids.")
    rule, areas = _spillover_rule(args)
    frame = read_table(args.panel, encoding=args.encoding, code_columns=[args.unit])
    return run_did(
        frame,
        args.out,
        unit=args.unit,
        time=args.time,
        outcome=args.outcome,
        first_treated=args.first_treated,
        treatment=args.treatment,
        treated_units=_list(args.treated_units) or None,
        treatment_start=_number(args.start, "--start") if args.start is not None else None,
        covariates=_list(args.covariates),
        cluster=args.cluster,
        estimator=args.estimator,
        control=args.control,
        method=args.method,
        bootstrap=args.bootstrap,
        bootstrap_weights=args.bootstrap_weights,
        alpha=args.alpha,
        rng=args.seed,
        spillover=rule,
        areas=areas,
        area_id=args.id if areas is not None else None,
        name_column=args.name,
        balance=args.balance,
        command="dongne evaluate did",
    )


def _run_scm(args: argparse.Namespace):
    from dongne.errors import SpecificationError
    from dongne.evaluate.workflow import run_scm
    from dongne.io import read_table

    if not args.wide and not (args.unit and args.time and args.outcome):
        raise SpecificationError(
            "A long table needs --unit, --time and --outcome; for one row per period and one "
            "column per area, add --wide."
        )
    codes = [args.unit] if args.unit else []
    frame = read_table(args.panel, encoding=args.encoding, code_columns=codes)
    time = args.time or (str(frame.columns[0]) if args.wide else None)
    return run_scm(
        frame,
        args.out,
        treated=args.treated,
        treatment_start=args.start,
        unit=args.unit,
        time=time,
        outcome=args.outcome,
        wide=args.wide,
        predictors=_list(args.predictors) or None,
        outcome_lags=_list(args.outcome_lags) or None,
        donors=_list(args.donors) or None,
        exclude_donors=_list(args.exclude),
        placebos=args.placebos,
        leave_one_out=args.leave_one_out,
        max_pre_mspe_ratio=args.max_pre_mspe_ratio,
        n_starts=args.n_starts,
        rng=args.seed,
        command="dongne evaluate scm",
    )


def _run_its(args: argparse.Namespace):
    from dongne.evaluate.workflow import run_its
    from dongne.io import read_table

    codes = [args.group] if args.group else []
    frame = read_table(args.series, encoding=args.encoding, code_columns=codes)
    return run_its(
        frame,
        args.out,
        time=args.time,
        outcome=args.outcome,
        start=args.start,
        family=args.family,
        offset=args.offset,
        seasonality=args.seasonality,
        period=args.period,
        harmonics=args.harmonics,
        covariates=_list(args.covariates),
        group=args.group,
        treated_group=args.treated_group,
        cov=args.cov,
        hac_lags=args.hac_lags,
        alpha=args.alpha,
        gaps=args.gaps,
        command="dongne evaluate its",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``dongne evaluate did|scm|its``: print the summary and the files written."""
    from dongne.errors import DongneWarning, SpecificationError

    runners = {"did": _run_did, "scm": _run_scm, "its": _run_its}
    method = getattr(args, "evaluate_method", None)
    if method not in runners:
        raise SpecificationError(
            "Choose a method: 'dongne evaluate did', 'dongne evaluate scm' or 'dongne evaluate "
            "its' (see 'dongne evaluate --help')."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DongneWarning)  # repeated under Notes in the summary
        outputs = runners[method](args)
    return print_outputs(outputs.summary, Path(args.out), outputs.files)
