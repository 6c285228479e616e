"""``dongne spacetime``: ``scan``, ``emerging`` and ``markov`` — when and where.

Without input files every method runs on the Seoul case: a seeded **synthetic** daily case
stream on the 423 dongs with a planted outbreak and a planted emerging hot spot (scan,
emerging), and the real 2010/2015 census share of basement households per gu (markov).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dongne.cli._common import print_outputs

USES_SCHEDULER = True
HELP = "when and where: space-time scan, emerging hot spots, neighbourhood change (Markov)"

DESCRIPTION = """\
Space-time analyses of counts or values per area and time step.

methods:
  scan      space-time scan statistic (as SaTScan): cylinders = circle of areas x interval of
            steps; space-time permutation model (cases only, default) or Poisson (--population);
            prospective surveillance (only clusters still alive at the last step, with
            SaTScan's recurrence interval) or retrospective; Monte Carlo p (seeded)
  emerging  emerging hot spot analysis (ArcGIS/sfdep): Gi* per step over space-time
            neighbours, permutation p with FDR, Mann-Kendall trend, 17 categories (new,
            consecutive, intensifying, persistent, diminishing, sporadic, oscillating,
            historical hot/cold spots, no pattern)
  markov    neighbourhood change: quantile Markov and spatial Markov chains with chi2, Q and
            LR homogeneity tests, LISA Markov, Kendall's tau and spatial tau (as PySAL giddy)

Input (all methods): --events FILE (one row per event or count: --area, --time, --count
column, binned by --freq) or --table FILE (one row per area and step: --area, --time,
--value), with --areas FILE (polygons) and --id (their code column). Without --events/--table
the Seoul case runs. Checks name rows: duplicate (area, time) rows (--duplicates sum adds them
up), negative counts, irregular steps (--freq), times after now (--now), mixed time zones.

Writes into --out: tables (CSV + .provenance.json), maps and plots (PNG) and a summary in
English and Korean.

examples:
  dongne spacetime scan --out st-scan                 # Seoul synthetic stream, last 91 days
  dongne spacetime emerging --out st-emerging         # Seoul stream, weekly
  dongne spacetime markov --out st-markov             # Seoul gu basement share 2010 -> 2015
  dongne spacetime scan --events NYCfever_cas.csv --area zip --time date --count cases \\
      --freq D --areas NYCfever_geo.csv --id zip --x long --y lat --max-pop 0.5 \\
      --max-steps 12 --now none --out fever
"""


def _fill(text: str) -> float | str:
    if text == "missing":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a number nor 'missing'"
        ) from None


def _add_inputs(parser: argparse.ArgumentParser, count: bool) -> None:
    data = parser.add_argument_group("input (default: the Seoul case)")
    data.add_argument("--events", help="table of events/counts with --area, --time (, --count)")
    data.add_argument("--table", help="long table: one row per area and step (--value)")
    data.add_argument("--area", default="dong_code", help="area code column of the table")
    data.add_argument("--time", default="date", help="time column (dates or whole numbers)")
    if count:
        data.add_argument("--count", help="count column of --events (default: one per row)")
    data.add_argument("--value", help="value column of --table")
    data.add_argument("--freq", help="step length: D, W-SUN, MS, YS ... (default: inferred)")
    data.add_argument(
        "--duplicates",
        default="raise",
        choices=["raise", "sum"],
        help="repeated (area, time) rows in --table: error (default) or add up",
    )
    data.add_argument(
        "--fill", type=_fill,
        help="cells of --table with no row: a number, or 'missing' (default: 0 for counts; "
        "an error for values)",
    )  # fmt: skip
    data.add_argument("--now", help="latest allowed time (default: the clock); 'none' skips")
    data.add_argument(
        "--areas",
        help="area polygons (GeoJSON, GeoPackage, Shapefile), or a table of points "
        "(CSV/Excel with --x/--y or recognised lon/lat columns, as SaTScan's coordinates file)",
    )
    data.add_argument("--x", help="x / longitude column of a --areas table")
    data.add_argument("--y", help="y / latitude column of a --areas table")
    data.add_argument("--id", help="code column of --areas (default: --area)")
    data.add_argument("--name", help="name column of --areas for the summary")
    data.add_argument(
        "--last", type=int, help="analyse only the last N steps (default: all; Seoul scan: 91)"
    )
    data.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo streams")
    data.add_argument("--out", default=None, help="output folder")
    data.add_argument("--quiet", action="store_true", help="no progress bar")  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The methods and options of ``dongne spacetime``."""
    sub = parser.add_subparsers(dest="spacetime_method", metavar="METHOD")
    scan = sub.add_parser("scan", help="space-time scan statistic (SaTScan)")
    _add_inputs(scan, count=True)
    scan.add_argument("--model", default="permutation", choices=["permutation", "poisson"])
    scan.add_argument("--population", help="population column of --areas (poisson model)")
    scan.add_argument("--analysis", default="prospective",
                      choices=["prospective", "retrospective"])  # fmt: skip
    scan.add_argument(
        "--max-pop",
        type=float,
        default=0.1,
        help="largest circle as a share of the cases/population (default 0.1)",
    )
    scan.add_argument("--max-steps", type=int, default=14,
                      help="longest cluster in steps (default 14)")  # fmt: skip
    scan.add_argument("--replications", type=int, default=999)
    emerging = sub.add_parser("emerging", help="emerging hot spot analysis")
    _add_inputs(emerging, count=True)
    emerging.add_argument("--k", type=int, default=1, help="earlier steps in the neighbourhood")
    emerging.add_argument(
        "--permutations", type=int, default=0,
        help="conditional permutations per bin (default 0: normal p-values of Gi*, as ArcGIS; "
        "with FDR over areas x steps bins, permutation p-values need very many draws)",
    )  # fmt: skip
    emerging.add_argument("--correction", default="fdr_bh",
                          choices=["fdr_bh", "fdr_by", "bonferroni", "none"])  # fmt: skip
    emerging.add_argument("--alpha", type=float, default=0.05)
    markov = sub.add_parser("markov", help="spatial Markov, LISA Markov, rank mobility")
    _add_inputs(markov, count=False)
    markov.add_argument("--classes", type=int, default=4, help="quantile classes (k and m)")
    markov.add_argument("--permutations", type=int, default=999)


def run(args: argparse.Namespace) -> int:
    """Run ``dongne spacetime scan|emerging|markov``."""
    from dongne.errors import SpecificationError

    method = getattr(args, "spacetime_method", None)
    if method not in ("scan", "emerging", "markov"):
        raise SpecificationError(
            "no method given. Fix: run 'dongne spacetime scan', 'dongne spacetime emerging' or "
            "'dongne spacetime markov' (see 'dongne spacetime --help')."
        )
    out = Path(args.out or f"dongne-spacetime-{method}")
    outputs = {"scan": _run_scan, "emerging": _run_emerging, "markov": _run_markov}[method](
        args, out
    )
    return print_outputs(outputs.summary, out, outputs.files)


# ------------------------------------------------------------------------------ inputs
def _now(args: argparse.Namespace):
    if args.now is None:
        return None
    return False if args.now.lower() == "none" else args.now


def _user_cube(args: argparse.Namespace, kind: str):
    """The cube from --events or --table."""
    from dongne.errors import SpecificationError
    from dongne.io import read_table
    from dongne.spacetime import cube_from_events, cube_from_long

    if args.events:
        if not args.freq:
            raise SpecificationError(
                "--events needs the step length. Fix: pass --freq D (days), W-SUN (weeks) or "
                "MS (months)."
            )
        frame = read_table(args.events)
        return cube_from_events(frame, args.area, args.time, freq=args.freq,
                                weight=getattr(args, "count", None), now=_now(args),
                                source=args.events)  # fmt: skip
    if not args.value:
        raise SpecificationError(
            "--table needs the column of values or counts. Fix: pass --value COLUMN."
        )
    frame = read_table(args.table)
    return cube_from_long(
        frame, args.area, args.time, args.value, freq=args.freq, kind=kind,
        duplicates=args.duplicates, fill=args.fill, now=_now(args), source=args.table,
    )  # fmt: skip


def _user_areas(args: argparse.Namespace, cube):
    from dongne.errors import SpecificationError
    from dongne.io import read_areas

    if not args.areas:
        raise SpecificationError(
            "--events/--table need the area polygons. Fix: pass --areas FILE (GeoJSON, "
            "GeoPackage or Shapefile) and --id COLUMN."
        )
    if Path(args.areas).suffix.lower() in {".csv", ".tsv", ".txt", ".xlsx", ".xlsm"}:
        from dongne.io import read_points

        areas = read_points(args.areas, x=args.x, y=args.y,
                            argument_names={"x": "--x", "y": "--y"})  # fmt: skip
    else:
        areas = read_areas(args.areas)
    key = args.id or args.area
    if key not in areas.columns:
        raise SpecificationError(
            f"{args.areas} has no column {key!r}. Fix: pass --id with one of "
            f"{', '.join(c for c in areas.columns if c != 'geometry')[:200]}."
        )
    areas[key] = areas[key].astype(type(cube.areas[0]))
    return areas.set_index(key, drop=False)


def _with_all_areas(cube, areas):
    """Events name only the areas that had one: the other areas of --areas count zero."""
    import numpy as np
    import pandas as pd

    from dongne.spacetime import SpaceTimeCube

    missing = pd.Index(areas.index).difference(cube.areas)
    if cube.kind != "counts" or not len(missing):
        return cube
    ids = cube.areas.append(missing)
    values = np.vstack([cube.values, np.zeros((len(missing), cube.shape[1]))])
    order = np.argsort(ids.to_numpy(), kind="stable")
    return SpaceTimeCube(values[order], ids[order], cube.steps, cube.freq, cube.kind, cube.name)


def _last(cube, n: int | None):
    from dongne.spacetime import SpaceTimeCube

    if not n or n >= cube.shape[1]:
        return cube
    return SpaceTimeCube(cube.values[:, -n:], cube.areas, cube.steps[-n:], cube.freq,
                         cube.kind, cube.name)  # fmt: skip


_SYNTHETIC_NOTE = (
    "Data: SYNTHETIC daily cases on Seoul's dongs (seed {seed}), not real health data / 합성 자료\n"
    "Poisson counts proportional to 2010 households (dongne.spacetime.seoul); planted outbreak "
    "around {ob} from {obf:%Y-%m-%d} (relative risk {rr}); planted emerging hot spot around "
    "{em}.\n자료: 서울 동별 합성(가상) 일별 사례 — 실제 보건 자료가 아닙니다."
)


def _seoul_stream(args: argparse.Namespace):
    from dongne.spacetime.seoul import seoul_surveillance_stream

    stream = seoul_surveillance_stream(rng=args.seed)
    t = stream.truth
    note = _SYNTHETIC_NOTE.format(seed=args.seed, ob=t["outbreak"]["centre"],
                                  obf=t["outbreak"]["from"], rr=t["outbreak"]["relative_risk"],
                                  em=t["emerging"]["centre"])  # fmt: skip
    areas = stream.areas.set_index("dong_code", drop=False)
    args.name = args.name or "dong_name"
    return stream, areas, note


def _bar(args: argparse.Namespace, total: int):
    from tqdm import tqdm

    return tqdm(total=total, disable=args.quiet, unit="replication", file=sys.stderr,
                desc="Monte Carlo")  # fmt: skip


# ------------------------------------------------------------------------------ methods
def _run_scan(args: argparse.Namespace, out: Path):
    from dongne.spacetime.workflow import run_spacetime_scan

    if args.events or args.table:
        cube = _user_cube(args, "counts")
        areas, note, last = _user_areas(args, cube), None, args.last
        cube = _with_all_areas(cube, areas)
    else:
        stream, areas, note = _seoul_stream(args)
        cube, last = stream.daily_cube(), args.last or 91
    cube = _last(cube, last)
    population = None
    if args.model == "poisson":
        if not args.population:
            from dongne.errors import SpecificationError

            raise SpecificationError(
                "--model poisson needs a population. Fix: pass --population COLUMN (of "
                "--areas), or use --model permutation."
            )
        population = areas[args.population].reindex(cube.areas)
    with _bar(args, args.replications) as bar:
        return run_spacetime_scan(
            cube, areas, out, name_column=args.name, note=note,
            progress=lambda done, _t: bar.update(done - bar.n),
            **_scan_options(args), **({"population": population} if population is not None else {}),
        )  # fmt: skip


def _scan_options(args: argparse.Namespace) -> dict:
    return {
        "model": args.model, "analysis": args.analysis, "max_population_share": args.max_pop,
        "max_duration": args.max_steps, "replications": args.replications, "rng": args.seed,
        "scheduler": getattr(args, "scheduler", None),
    }  # fmt: skip


def _run_emerging(args: argparse.Namespace, out: Path):
    from dongne.spacetime.workflow import run_emerging
    from dongne.weights import queen

    if args.events or args.table:
        cube = _user_cube(args, "values" if args.table else "counts")
        areas, note = _user_areas(args, cube), None
        cube = _with_all_areas(cube, areas)
    else:
        stream, areas, note = _seoul_stream(args)
        cube = _seoul_rate(stream.weekly_cube(), areas)
        note += "\nValues: weekly cases per 10,000 households (2010 census)."
    cube = _last(cube, args.last)
    areas = areas.loc[areas.index.isin(cube.areas)]
    w = queen(areas.reset_index(drop=True), ids=areas.index.name)
    return run_emerging(
        cube, areas, w, out, name_column=args.name, note=note, k=args.k,
        permutations=args.permutations, correction=args.correction, alpha=args.alpha,
        rng=args.seed, scheduler=getattr(args, "scheduler", None),
    )  # fmt: skip


def _seoul_rate(cube, areas):
    """Weekly cases per 10,000 households: counts follow population, rates do not."""
    from dongne.spacetime import SpaceTimeCube

    households = areas["households"].reindex(cube.areas)
    households = households.fillna(households.median()).to_numpy(float)
    return SpaceTimeCube(cube.values / households[:, None] * 1e4, cube.areas, cube.steps,
                         cube.freq, "values", "cases per 10,000 households")  # fmt: skip


def _run_markov(args: argparse.Namespace, out: Path):
    from dongne.spacetime.seoul import seoul_gu_basement_cube
    from dongne.spacetime.workflow import run_markov
    from dongne.weights import queen

    if args.table:
        cube = _user_cube(args, "values")
        areas, note = _user_areas(args, cube), None
    else:
        cube, gu = seoul_gu_basement_cube()
        areas = gu.set_index("gu_code", drop=False)
        args.name = args.name or "gu_name"
        note = (
            "Data: share of households in basements (반지하) per gu, 2010 census (bundled dong "
            "counts summed) and 2015 census (bundled gu indicators). Real data, two periods."
        )
    cube = _last(cube, args.last)
    areas = areas.loc[areas.index.isin(cube.areas)]
    w = queen(areas.reset_index(drop=True), ids=areas.index.name)
    return run_markov(cube, areas, w, out, k=args.classes, m=args.classes,
                      permutations=args.permutations, rng=args.seed, note=note)  # fmt: skip
