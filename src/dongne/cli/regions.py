"""``dongne regions``: ``interpolate``, ``maxp``, ``skater``, ``azp``, ``ward``, ``spectral``,
``typology``.

Without input files every method runs on the bundled Seoul cases
(:mod:`dongne.demo.regions`); with files, the areas are read (and a TABLE joined by ``--id``)
as ``dongne detect`` reads them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dongne.cli._common import add_table_inputs, join_options, print_outputs, require_columns

HELP = "boundaries change: interpolate across vintages, planning regions, neighbourhood types"

DESCRIPTION = """\
Boundaries change, patterns persist.

methods:
  interpolate  move a table from one set of boundaries to another (2013 dongs -> 2021 dongs):
               counts shared out by area (or by population with --population), rates and
               means averaged, never added, or recomputed from moved counts (--rate); the
               change table of the two vintages (split, merged, renamed, ...) read from the
               geometry
  maxp         as many contiguous regions as a floor allows (>= 20,000 households each), each
               as homogeneous as possible (max-p)
  skater       N contiguous regions by pruning a minimum spanning tree (SKATER)
  azp          N contiguous regions by local search (automatic zoning)
  ward         N contiguous regions by Ward's clustering with contiguity
  spectral     N contiguous regions by spectral clustering of the contiguity graph weighted
               by attribute similarity (normalised cuts, spopt's SPENC)
  typology     neighbourhood types: k-means / Gaussian mixture / Ward on standardised
               indicators, number of types chosen by silhouette or BIC, profiles and names

Every method writes a GeoPackage, CSV tables, PNG maps and summary.txt (English and Korean)
into --out, each with a .provenance.json. Without files the bundled Seoul data are used.

examples:
  dongne regions interpolate --out interp          # 2010 census, 2013 dongs -> 2021 dongs
  dongne regions interpolate --source old.gpkg --target new.gpkg --source-id code \\
      --target-id code --columns households,pop_pct --column-kind households=count \\
      --rate pop_pct=elderly/population*100 --out interp
  dongne regions maxp --out plan                   # Seoul: >= 20,000 households per region
  dongne regions maxp dongs.gpkg --id code --attributes a,b --floor-column households \\
      --floor 20000 --out plan
  dongne regions skater --n-regions 25 --out skater
  dongne regions typology --method gmm --out types
"""

#: Python spellings of fixes that are flags of another name here.
HINTS = {"w.attach_islands()": "--attach-islands"}


def _list(text: str | None) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()] if text else []


def _areas_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("areas", nargs="?", help="vector file of areas (default: Seoul dongs)")
    parser.add_argument("table", nargs="?", help="table joined to AREAS by --id (optional)")
    parser.add_argument("--id", help="id column of AREAS (default for Seoul: dong_code)")
    add_table_inputs(parser)
    parser.add_argument("--attach-islands", action="store_true",
                        help="join areas without neighbours to their nearest area")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", default="regions-run", help="output folder")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the methods of ``dongne regions`` to ``parser``."""
    fmt = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="regions_method", metavar="METHOD")
    interp = sub.add_parser("interpolate", formatter_class=fmt, help="move a table to other "
                            "boundaries; change table of two vintages")  # fmt: skip
    interp.add_argument("--source", help="areas with the data (default: Seoul 2013 dongs)")
    interp.add_argument("--target", help="areas to move them to (default: Seoul 2021 dongs)")
    interp.add_argument("--source-id", help="id column of --source")
    interp.add_argument("--target-id", help="id column of --target")
    interp.add_argument("--source-name", help="name column of --source (renames)")
    interp.add_argument("--target-name", help="name column of --target (renames)")
    interp.add_argument("--columns", help="columns to move, kind from --column-kind or name")
    interp.add_argument("--extensive", help="count columns (shared out), comma-separated")
    interp.add_argument("--intensive", help="rate/mean columns (averaged), comma-separated")
    interp.add_argument("--categorical", help="category columns (area shares)")
    interp.add_argument("--column-kind", action="append", default=[], metavar="COL=KIND",
                        help="kind of a --columns column: count, rate, mean or text")  # fmt: skip
    interp.add_argument("--rate", action="append", default=[], metavar="COL=NUM/DEN[*SCALE]",
                        help="recompute COL from the moved NUM and DEN counts")  # fmt: skip
    interp.add_argument("--population", help="points or polygons of population (dasymetric)")
    interp.add_argument("--population-column", help="population column of --population")
    interp.add_argument("--map-column", help="column to map (default: the first rate)")
    interp.add_argument("--seoul-case", choices=("census", "election", "election-2021"),
                        default="census",
                        help="without files: 2010 census 2013 -> 2021 dongs (census), or "
                        "the 2022 election 2022 -> 2013 dongs vs a code crosswalk (election; "
                        "election-2021: from the 2021 dongs)")  # fmt: skip
    interp.add_argument("--out", default="regions-interpolate", help="output folder")
    methods = (("maxp", "max-p regions above a floor"), ("skater", "SKATER regions"),
               ("azp", "AZP regions"), ("ward", "Ward regions with contiguity"),
               ("spectral", "spectral regions with contiguity"))  # fmt: skip
    for name, text in methods:
        p = sub.add_parser(name, formatter_class=fmt, help=text)
        _areas_options(p)
        p.add_argument("--attributes", help="attributes the regions are similar in (z-scored)")
        p.add_argument("--floor-column", help="column every region must reach --floor in")
        p.add_argument("--floor", type=float, help="the floor (e.g. 20000 households)")
        p.add_argument("--n-regions", type=int,
                       help="number of regions (skater, azp, ward, spectral)")  # fmt: skip
        p.add_argument("--iterations", type=int, default=99, help="max-p constructions")
        p.add_argument("--rounds", type=int, default=10, help="simulated-annealing rounds")
    typ = sub.add_parser("typology", formatter_class=fmt, help="neighbourhood types")
    _areas_options(typ)
    typ.add_argument("--indicators", help="indicator columns, comma-separated")
    typ.add_argument("--method", choices=("kmeans", "gmm", "ward"), default="kmeans")
    typ.add_argument("--k", type=int, help="number of types (default: chosen in --k-range)")
    typ.add_argument("--k-range", help="smallest,largest k tried (default 2,8; Seoul 3,8)")


def run(args: argparse.Namespace) -> int:
    """Run one method of ``dongne regions``."""
    from dongne.errors import SpecificationError

    method = getattr(args, "regions_method", None)
    if method is None:
        raise SpecificationError(
            "dongne regions needs a method. Fix: dongne regions interpolate (or maxp, skater, "
            "azp, ward, spectral, typology); see dongne regions --help."
        )
    if method == "interpolate":
        return _interpolate(args)
    if method == "typology":
        return _typology(args)
    return _regions(args, method)


def _kinds(items: list[str]) -> dict[str, str]:
    return join_options(argparse.Namespace(column_kind=items, combine=None, crosswalk=None,
                                           crosswalk_from=None, crosswalk_to=None, rate=[],
                                           min_match=None, name_column=None))["kinds"]  # fmt: skip


def _interpolate(args: argparse.Namespace) -> int:
    from dongne import datasets
    from dongne.demo.regions import SEOUL_REGIONS as S
    from dongne.io import read_areas, read_points
    from dongne.regions.workflow import run_interpolate

    seoul = not (args.source or args.target)
    if seoul and args.seoul_case.startswith("election"):
        from dongne.demo.regions import run_election_case

        result = run_election_case(args.out, vintage=args.seoul_case[9:] or "2022")
        return print_outputs(result.summary, Path(args.out), result.files)
    if seoul:
        source, target = datasets.seoul_dongs(), datasets.seoul_dongs_2021()
        sid = tid = S["id"]
        sname = tname = S["name"]
        columns = _list(args.columns) or list(S["counts"])
        kinds = _kinds(args.column_kind) or {c: "count" for c in columns}
        rates = args.rate or list(S["rates"])
    elif not (args.source and args.target):
        from dongne.errors import SpecificationError

        raise SpecificationError(
            "Give both boundary sets or neither (the Seoul case). Fix: --source OLD.gpkg "
            "--target NEW.gpkg."
        )
    else:
        source, target = read_areas(args.source), read_areas(args.target)
        sid, tid, sname, tname = args.source_id, args.target_id, args.source_name, args.target_name
        columns, kinds, rates = _list(args.columns), _kinds(args.column_kind), args.rate
        require_columns(source, args.source, {"--source-id": sid, "--columns": columns,
                                              "--source-name": sname})  # fmt: skip
        require_columns(target, args.target, {"--target-id": tid, "--target-name": tname})
    population = None
    if args.population:
        suffix = Path(args.population).suffix.lower()
        population = (read_points(args.population) if suffix in {".csv", ".xlsx", ".txt"}
                      else read_areas(args.population))  # fmt: skip
    result = run_interpolate(
        source, target, args.out, source_id=sid, target_id=tid, columns=columns,
        extensive=_list(args.extensive), intensive=_list(args.intensive),
        categorical=_list(args.categorical), kinds=kinds, rates=rates, population=population,
        population_column=args.population_column, source_name=sname, target_name=tname,
        map_column=args.map_column, source_label=S["source_label"] if seoul else args.source,
    )  # fmt: skip
    return print_outputs(result.summary, Path(args.out), result.files)


def _read(args: argparse.Namespace, defaults: dict):
    """The areas of a regions or typology run: the file(s) given, or the Seoul case."""
    from dongne.cli._common import areas_with_table
    from dongne.demo.regions import seoul_indicator_areas

    if args.areas is None:
        return seoul_indicator_areas(), args.id or defaults["id"], True
    if not args.id:
        from dongne.errors import SpecificationError

        raise SpecificationError(
            f"{args.areas}: which column identifies the areas? Fix: --id CODE."
        )
    return areas_with_table(args, Path(args.out)), args.id, False


def _regions(args: argparse.Namespace, method: str) -> int:
    from dongne.demo.regions import SEOUL_REGIONS as S
    from dongne.regions.workflow import run_regions

    areas, id_column, seoul = _read(args, S)
    attributes = _list(args.attributes) or (list(S["indicators"]) if seoul else [])
    floor_column = args.floor_column or (S["floor_column"] if seoul and method == "maxp" else None)
    floor = (
        args.floor if args.floor is not None else (S["floor"] if seoul and floor_column else None)
    )
    n_regions = args.n_regions or (S["n_regions"] if seoul and method != "maxp" else None)
    if not attributes:
        from dongne.errors import SpecificationError

        raise SpecificationError(
            "Which attributes should regions be similar in? Fix: --attributes a,b."
        )
    flags = {"--id": id_column, "--attributes": attributes, "--floor-column": floor_column}
    require_columns(areas, args.areas or "Seoul dongs", flags)
    result = run_regions(
        areas, id_column, attributes, args.out, method=method, floor_column=floor_column,
        floor=floor, n_regions=n_regions, iterations=args.iterations, rounds=args.rounds,
        rng=args.seed, attach_islands=args.attach_islands,
        label=f"{'Seoul dongs' if seoul else args.areas}",
    )  # fmt: skip
    return print_outputs(result.summary, Path(args.out), result.files)


def _typology(args: argparse.Namespace) -> int:
    from dongne.demo.regions import SEOUL_REGIONS as S
    from dongne.errors import SpecificationError
    from dongne.regions.workflow import run_typology

    areas, id_column, seoul = _read(args, S)
    indicators = _list(args.indicators) or (list(S["indicators"]) if seoul else [])
    if not indicators:
        raise SpecificationError("Which indicators define the types? Fix: --indicators a,b,c.")
    require_columns(areas, args.areas or "Seoul dongs", {"--id": id_column,
                                                        "--indicators": indicators})  # fmt: skip
    text = args.k_range or (",".join(map(str, S["k_range"])) if seoul else "2,8")
    try:
        lo, hi = (int(v) for v in text.split(","))
    except ValueError:
        raise SpecificationError(
            f"--k-range {text!r}: expected two numbers. Fix: --k-range 2,8."
        ) from None
    result = run_typology(
        areas, id_column, indicators, args.out, method=args.method, k=args.k, k_range=(lo, hi),
        rng=args.seed, label=f"{'Seoul dongs' if seoul else args.areas}",
    )  # fmt: skip
    return print_outputs(result.summary, Path(args.out), result.files)
