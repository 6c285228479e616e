"""Time dongne.weights builders against libpysal on the same data, in the same run.

Run with ``python benchmarks/bench_weights.py`` (about half a minute on 2 cores). Data: the
423 Seoul dongs bundled with dongne (EPSG:5179), and 100,000 uniform random points in a
50 km square (seed 20240601). Each timing is the best of ``--repeat`` runs (default 3).

The libpysal references are ``libpysal.graph.Graph`` builders (``build_contiguity``,
``build_fuzzy_contiguity``, ``build_knn``, ``build_distance_band``) and the legacy
``libpysal.weights.Kernel`` (the definition dongne's kernels follow). libpysal's
``Graph.build_kernel`` is not used: without ``k`` it forms a dense n × n distance matrix.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from importlib.resources import files

import geopandas as gpd
import numpy as np
from libpysal import graph as lgraph
from libpysal import weights as lweights

from dongne import weights as W

SEED = 20240601


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000, help="number of random points")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best kept)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # islands/components warnings are not what is timed

    with files("dongne").joinpath("datasets/data/seoul_dong_2013.geojson").open("rb") as f:
        dongs = gpd.read_file(f).to_crs(5179)
    dongs_by_code = dongs.set_index("dong_code")

    rng = np.random.default_rng(SEED)
    xy = rng.uniform(0, 50_000, size=(args.points, 2))
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=5179)
    n_kernel = min(args.points, 20_000)
    pts_kernel = pts.iloc[:n_kernel]
    xy_kernel = xy[:n_kernel]
    # about 11 neighbours per point on average at this density
    threshold = float(np.sqrt(11 / (np.pi * args.points / 50_000**2)))

    cases = [
        (
            "queen, 423 Seoul dongs",
            lambda: W.queen(dongs, ids="dong_code"),
            lambda: lgraph.Graph.build_contiguity(dongs_by_code, rook=False),
        ),
        (
            "rook, 423 Seoul dongs",
            lambda: W.rook(dongs, ids="dong_code"),
            lambda: lgraph.Graph.build_contiguity(dongs_by_code, rook=True),
        ),
        (
            "queen snap=0.01 m (libpysal: fuzzy)",
            lambda: W.queen(dongs, ids="dong_code", snap=0.01),
            lambda: lgraph.Graph.build_fuzzy_contiguity(dongs_by_code, buffer=0.005),
        ),
        (
            "rook snap=0.01 m (no libpysal equivalent)",
            lambda: W.rook(dongs, ids="dong_code", snap=0.01),
            None,
        ),
        (
            f"knn k=8, {args.points:,} points",
            lambda: W.knn(pts, 8),
            lambda: lgraph.Graph.build_knn(pts, k=8),
        ),
        (
            f"distance band {threshold:.0f} m, {args.points:,} points",
            lambda: W.distance_band(pts, threshold),
            lambda: lgraph.Graph.build_distance_band(pts, threshold),
        ),
        (
            f"kernel adaptive k=8, {n_kernel:,} points",
            lambda: W.kernel(pts_kernel, k=8, fixed=False),
            lambda: lweights.Kernel(xy_kernel, k=8, fixed=False),
        ),
    ]

    print(f"{'case':<44} {'dongne s':>9} {'libpysal s':>11} {'ratio':>7}")
    print("-" * 74)
    for name, ours, theirs in cases:
        t_ours = best_of(ours, args.repeat)
        if theirs is None:
            print(f"{name:<44} {t_ours:>9.3f} {'-':>11} {'-':>7}")
            continue
        t_theirs = best_of(theirs, args.repeat)
        print(f"{name:<44} {t_ours:>9.3f} {t_theirs:>11.3f} {t_ours / t_theirs:>7.2f}")
    print("ratio = dongne time / libpysal time (below 1: dongne is faster)")


if __name__ == "__main__":
    main()
