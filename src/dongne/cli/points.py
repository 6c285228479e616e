"""``dongne points``: ``dbscan``, ``ripley`` and ``kde`` on a point layer (events or sites)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dongne.cli._common import print_outputs

HELP = "point clusters: significant DBSCAN+, Ripley's K/L/G/F/J, kernel density"
USES_SCHEDULER = True

DESCRIPTION = """\
Points, not polygons: events and sites (CCTV, shelters, accidents) analysed where they are.

methods:
  dbscan  Significant DBSCAN+ (Xie & Shekhar 2019; Xie et al. 2022): DBSCAN clusters of any
          shape at several scales (--eps, --min-pts), each tested by Monte Carlo against points
          placed at random over the study area (or in proportion to --population of
          --background polygons); family-wise alpha over all clusters and scales
  ripley  nearest-neighbour index, quadrat test, standard deviational ellipse and Monte Carlo
          envelopes of Ripley's K, L, G, F, J or cross-K (--other) with border correction
  kde     Gaussian kernel density (--bandwidth scott|silverman|cv|METRES), or with --controls
          the log relative-risk surface and its Monte Carlo tolerance contour

Without POINTS the bundled Seoul CCTV sites (2023, 83,734) are used, in the 423 dongs, and
dbscan tests them against the dongs' households (--population households).

examples:
  dongne points dbscan --out cctv-clusters
  dongne points ripley --functions L,G --replications 99 --out cctv-ripley
  dongne points kde --bandwidth cv --out cctv-kde
  dongne points dbscan incidents.csv --areas dong.gpkg --id dong_code --eps 100,200 \\
      --min-pts 15 --out incident-clusters
"""

_WRITES = {
    "dbscan": "Writes into --out: clusters_map.png, clusters.gpkg/.csv (one row per cluster: "
    "points, expected, ratio, LLR, p), points_clusters.csv (every point's cluster), "
    "cluster_areas.csv (the areas each cluster touches, with --id), summary.txt.",
    "ripley": "Writes into --out: <function>_envelope.png/.csv, ellipse.gpkg, summary.txt.",
    "kde": "Writes into --out: kde_map.png, kde_grid.gpkg (one square per cell), kde.tif "
    "(with --geotiff), summary.txt.",
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "points",
        nargs="?",
        help="point layer: CSV/Excel with coordinates or a "
        "geo file (default: the bundled Seoul CCTV sites)",
    )
    p.add_argument(
        "--areas",
        help="study area polygons, e.g. dongs (default: the bundled "
        "Seoul dongs without POINTS, else the convex hull of the points)",
    )
    p.add_argument("--id", help="code column of --areas (clusters are reported by area)")
    p.add_argument("--name", help="name column of --areas for the summary")
    p.add_argument("--filter", help="keep only points satisfying this rule, e.g. \"kind == 'A'\"")
    p.add_argument(
        "--outside",
        default="drop",
        choices=["drop", "keep", "raise"],
        help="points outside --areas: leave out (default, reported), keep, or stop",
    )
    p.add_argument("--x", help="x / longitude column (default: recognised by name)")
    p.add_argument("--y", help="y / latitude column (default: recognised by name)")
    p.add_argument("--crs", help="CRS of the coordinates (default: inferred)")
    p.add_argument("--xy-scale", type=float, help="multiply the coordinates, e.g. 0.01 for cm")
    p.add_argument("--encoding", help="text encoding of POINTS (default: detected)")
    p.add_argument("--cell-size", type=float, help="raster cell of the study area, metres")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", help="data source written under the maps")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The methods of ``dongne points`` and their options."""
    sub = parser.add_subparsers(dest="method", metavar="METHOD", required=True)
    fmt = argparse.RawDescriptionHelpFormatter
    d = sub.add_parser(
        "dbscan",
        help="significant density clusters",
        formatter_class=fmt,
        description=_WRITES["dbscan"],
    )
    _common(d)
    d.add_argument(
        "--eps",
        help="radii in metres, comma-separated, one per scale "
        "(default: where min-pts is 8, 4 and 2 times the null's count)",
    )
    d.add_argument("--min-pts", type=int, default=10, help="points a core point needs (10)")
    d.add_argument("--alpha", type=float, default=0.05, help="family-wise level (0.05)")
    d.add_argument("--replications", type=int, default=999)
    d.add_argument(
        "--prefer",
        default="largest",
        choices=["largest", "strongest"],
        help="which of overlapping significant clusters is reported",
    )
    d.add_argument(
        "--background",
        help="polygons with a population column: the null places "
        "points in proportion to it (default: at random over the area)",
    )
    d.add_argument("--population", help="population column of --background")
    d.add_argument(
        "--csr",
        action="store_true",
        help="test against complete spatial "
        "randomness (the default without POINTS is the dongs' households)",
    )
    d.add_argument("--out", default="dongne-points-dbscan", help="output folder")
    r = sub.add_parser(
        "ripley",
        help="K/L/G/F/J envelopes and CSR tests",
        formatter_class=fmt,
        description=_WRITES["ripley"],
    )
    _common(r)
    r.add_argument("--functions", default="L,G", help="comma-separated: K,L,G,F,J,cross-K")
    r.add_argument("--other", help="the second type for cross-K (a point layer)")
    r.add_argument("--edge-correction", default="border", choices=["border", "none"])
    r.add_argument("--replications", type=int, default=99)
    r.add_argument("--quadrats", type=int, default=5, help="quadrats per side (5)")
    r.add_argument("--out", default="dongne-points-ripley", help="output folder")
    k = sub.add_parser(
        "kde",
        help="kernel density / relative risk",
        formatter_class=fmt,
        description=_WRITES["kde"],
    )
    _common(k)
    k.add_argument("--bandwidth", default="scott", help="scott, silverman, cv or metres")
    k.add_argument("--weights", help="column of the points to weight by")
    k.add_argument("--controls", help="control points: draw the log relative risk")
    k.add_argument("--alpha", type=float, default=0.05)
    k.add_argument("--replications", type=int, default=99)
    k.add_argument(
        "--geotiff",
        action="store_true",
        help="also write the surface as kde.tif (GeoTIFF; needs dongne[raster])",
    )
    k.add_argument("--out", default="dongne-points-kde", help="output folder")


def _read(path: str, args: argparse.Namespace):
    from dongne.io import read_points

    return read_points(
        path,
        x=args.x,
        y=args.y,
        crs=args.crs,
        xy_scale=args.xy_scale,
        encoding=args.encoding,
        argument_names={"x": "--x", "y": "--y", "crs": "--crs", "xy_scale": "--xy-scale"},
    )


def _inputs(args: argparse.Namespace):
    """The points (filtered) and the study area; the bundled Seoul data without POINTS."""
    from dongne import datasets
    from dongne.io import read_areas, select_points

    if args.points is None:
        points = datasets.seoul_cctv()
        areas = datasets.seoul_dongs() if args.areas is None else read_areas(args.areas)
        if args.id is None and args.areas is None:
            args.id, args.name = "dong_code", args.name or "dong_name"
        args.source = args.source or "서울 열린데이터광장 안심이 CCTV 2023; KOSTAT 2013 boundaries"
    else:
        points = _read(args.points, args)
        areas = read_areas(args.areas) if args.areas else None
    if args.id is not None and areas is not None and args.id not in areas.columns:
        from dongne.errors import DataError

        raise DataError(
            f"{args.areas}: no column {args.id!r}. Columns: "
            f"{', '.join(map(str, areas.columns))}. Fix: --id COLUMN."
        )
    if args.filter:
        points = select_points(points, query=args.filter, argument_names={"query": "--filter"})
    return points, areas


def _floats(text: str | None, flag: str) -> list[float] | None:
    from dongne.errors import SpecificationError

    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SpecificationError(
            f"{flag} {text!r} is not a list of numbers. Fix: {flag} 100,200."
        ) from None


def run(args: argparse.Namespace) -> int:
    """Run the chosen method with a progress bar; print the summary and the files."""
    from tqdm import tqdm

    from dongne.points import workflow

    if args.method != "dbscan" and args.scheduler not in (None, "threads"):
        from dongne.errors import SpecificationError

        raise SpecificationError(
            f"dongne points {args.method} runs its simulations in this process only. "
            "Fix: remove --scheduler (points dbscan uses it)."
        )
    points, areas = _inputs(args)
    out = Path(args.out)
    total = getattr(args, "replications", 0)
    with tqdm(
        total=total, disable=args.quiet, unit="replication", file=sys.stderr, desc="Monte Carlo"
    ) as bar:

        def tick(done: int, _total: int) -> None:
            bar.update(done - bar.n)

        common = {
            "areas": areas,
            "rng": args.seed,
            "cell_size": args.cell_size,
            "outside": args.outside,
        }
        if args.method == "dbscan":
            result = workflow.run_dbscan(
                points, out, **common, **_dbscan_options(args), progress=tick, source=args.source
            )
        elif args.method == "ripley":
            other = _read(args.other, args) if args.other else None
            functions = [f.strip() for f in args.functions.split(",") if f.strip()]
            result = workflow.run_ripley(
                points,
                out,
                **common,
                functions=functions,
                other=other,
                edge_correction=args.edge_correction,
                replications=args.replications,
                quadrats=args.quadrats,
                progress=tick,
                source=args.source,
            )
        else:
            result = _kde(args, points, out, common)
    return print_outputs(result.summary, out, result.files)


def _dbscan_options(args: argparse.Namespace) -> dict:
    from dongne import datasets
    from dongne.io import read_areas

    background, population = None, args.population
    if args.background:
        background = read_areas(args.background)
    elif args.points is None and not args.csr:
        background, population = datasets.seoul_dongs(), population or "households"
    return {
        "id_column": args.id,
        "name_column": args.name,
        "background": background,
        "population": population,
        "eps": _floats(args.eps, "--eps"),
        "min_pts": args.min_pts,
        "alpha": args.alpha,
        "replications": args.replications,
        "scheduler": args.scheduler,
        "prefer": args.prefer,
    }


def _kde(args: argparse.Namespace, points, out: Path, common: dict):
    from dongne.points import workflow

    if args.geotiff:  # before the work: a missing rasterio is known now
        from dongne._optional import import_optional

        import_optional(
            "rasterio",
            "raster",
            "dongne points kde --geotiff",
            alternative="or leave out --geotiff",
        )
    bandwidth = args.bandwidth
    if bandwidth not in ("scott", "silverman", "cv"):
        bandwidth = _floats(bandwidth, "--bandwidth")[0]
    controls = _read(args.controls, args) if args.controls else None
    return workflow.run_kde(
        points,
        out,
        **common,
        bandwidth=bandwidth,
        weights=args.weights,
        controls=controls,
        alpha=args.alpha,
        replications=args.replications,
        source=args.source,
        geotiff=args.geotiff,
    )
