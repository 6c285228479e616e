"""Time dongne.regions against PySAL tobler and spopt on the same data, in the same run.

Run with ``python benchmarks/bench_regions.py`` (``--polygons`` and ``--areas`` set the sizes;
the defaults are the targets of issue 21: two layers of 100,000 polygons, and max-p on
10,000 areas). Each line prints dongne's time, the peer's time and the ratio.

* interpolation, twice: two independent Voronoi tessellations of ``--polygons`` random
  points each (seeds 1 and 2) in a 100 km square, EPSG:5179 (convex cells), then the same
  cells with every inner edge bent at its midpoint (``zigzag_layer``: non-convex, about 12
  vertices, still a coverage, like simple administrative boundaries); each line prints the
  load average; one extensive and one intensive variable;
  ``tobler.area_weighted.area_interpolate(n_jobs=1)`` against
  ``dongne.regions.interpolate`` (threads = the machine's CPUs, at most 8); the numbers must
  agree to float32 precision (tobler's area table is float32).
* max-p: a square grid of ``--areas`` cells with rook contiguity, two standard-normal
  attributes and a floor of 12 % of the mean total per region ... (``--floor-areas`` cells'
  worth of a uniform(50, 150) count); ``spopt.region.MaxPHeuristic`` and ``dongne.regions.MaxP``
  with the same budget (``--iterations`` constructions, ``--rounds`` annealing rounds); the
  number of regions and the objective (pairwise cityblock dissimilarity) of both are printed.
  spopt builds an n × n distance matrix (800 MB at 10,000 areas) and is slow there: give it
  ``--peer-timeout`` seconds (run in a child process) or a smaller ``--areas``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


def voronoi_layer(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100_000, size=(n, 2))
    square = shapely.box(0, 0, 100_000, 100_000)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=square))
    cells = shapely.intersection(cells, square)
    frame = gpd.GeoDataFrame({"id": np.arange(len(cells))}, geometry=cells, crs=5179)
    frame["count"] = rng.integers(0, 1000, len(frame)).astype(float)
    frame["rate"] = rng.uniform(0, 40, len(frame))
    return frame


def zigzag_layer(n: int, seed: int, amplitude: float = 0.15) -> gpd.GeoDataFrame:
    """Voronoi cells whose every inner edge is bent at its midpoint, by up to ``amplitude``
    of its length, the same way for both cells that share it: a non-convex coverage (like
    administrative boundaries, about 12 vertices per polygon) without gaps or overlaps."""
    base = voronoi_layer(n, seed)
    rings = shapely.get_exterior_ring(base.geometry.to_numpy())
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    p, q = xy[:-1], xy[1:]
    edge = ring[:-1] == ring[1:]
    swap = (p[:, 0] > q[:, 0]) | ((p[:, 0] == q[:, 0]) & (p[:, 1] > q[:, 1]))
    a, b = np.where(swap[:, None], q, p), np.where(swap[:, None], p, q)
    key = a[:, 0] * 12.9898 + a[:, 1] * 78.233 + b[:, 0] * 37.719 + b[:, 1] * 4.581 + seed
    bend = amplitude * (2 * np.modf(np.abs(np.sin(key * 1e-3)) * 43758.5453)[0] - 1)
    border = ((a == 0) | (a == 100_000)).any(axis=1) & ((b == 0) | (b == 100_000)).any(axis=1)
    bend[border] = 0.0
    normal = np.c_[-(b - a)[:, 1], (b - a)[:, 0]]
    mid = (p + q) / 2 + bend[:, None] * normal
    keep = np.flatnonzero(edge)
    coords = np.empty((2 * len(keep), 2))
    coords[0::2], coords[1::2] = p[keep], mid[keep]
    owner = np.repeat(ring[:-1][keep], 2)
    cells = shapely.polygons(shapely.linearrings(coords, indices=owner))
    frame = gpd.GeoDataFrame(base.drop(columns="geometry"), geometry=cells, crs=5179)
    bad = ~shapely.is_valid(cells)
    if bad.any():
        frame.loc[bad, "geometry"] = shapely.make_valid(cells[bad])
    return frame


def bench_interpolation(n: int, kind: str = "voronoi") -> None:
    """dongne vs tobler on two independent layers of ``n`` polygons: Voronoi cells (convex)
    or the same cells with bent edges (non-convex, like administrative boundaries)."""
    from tobler.area_weighted import area_interpolate

    from dongne.regions import interpolate

    make = voronoi_layer if kind == "voronoi" else zigzag_layer
    src, tgt = make(n, 1), make(n, 2)
    small = make(200, 3)
    interpolate(small, small, extensive=["count"], source_id="id", target_id="id")  # compile
    start = time.perf_counter()
    ours = interpolate(src, tgt, extensive=["count"], intensive=["rate"], source_id="id",
                       target_id="id")  # fmt: skip
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    ref = area_interpolate(src, tgt, extensive_variables=["count"],
                           intensive_variables=["rate"])  # fmt: skip
    t_ref = time.perf_counter() - start
    for col in ("count", "rate"):
        np.testing.assert_allclose(ours.frame[col].to_numpy(), ref[col].to_numpy(), rtol=1e-4,
                                   atol=1e-3)  # fmt: skip
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[0]
    print(f"interpolation, {kind}, {len(src):,} x {len(tgt):,} polygons "
          f"({ours.overlay.n_pieces:,} pieces): dongne {t_ours:.2f} s, tobler {t_ref:.2f} s, "
          f"ratio {t_ref / t_ours:.1f}x (load {load})")  # fmt: skip


def grid(n_side: int) -> gpd.GeoDataFrame:
    cells = [shapely.box(i % n_side, i // n_side, i % n_side + 1, i // n_side + 1)
             for i in range(n_side * n_side)]  # fmt: skip
    return gpd.GeoDataFrame({"id": np.arange(n_side * n_side)}, geometry=cells, crs=5179)


def _spopt_maxp(frame, sparse_w, floor, iterations, rounds, queue) -> None:
    import libpysal
    from spopt.region import MaxPHeuristic

    from dongne.regions import pairwise_dissimilarity

    warnings.simplefilter("ignore")
    np.random.seed(0)  # noqa: NPY002 - spopt draws from NumPy's global generator
    w = libpysal.weights.WSP(sparse_w).to_W(silence_warnings=True)
    start = time.perf_counter()
    model = MaxPHeuristic(
        frame, w, ["a", "b"], "pop", floor, top_n=2, max_iterations_construction=iterations,
        max_iterations_sa=rounds,
    )
    model.solve()
    elapsed = time.perf_counter() - start
    queue.put((elapsed, int(model.p),
               pairwise_dissimilarity(frame[["a", "b"]].to_numpy(), model.labels_)))  # fmt: skip


def bench_maxp(n_areas: int, iterations: int, rounds: int, timeout: float) -> None:
    from dongne import weights
    from dongne.regions import MaxP

    side = round(np.sqrt(n_areas))
    cells = grid(side)
    rng = np.random.default_rng(3)
    cells["a"], cells["b"] = rng.normal(size=len(cells)), rng.normal(size=len(cells))
    cells["pop"] = rng.uniform(50, 150, len(cells))
    floor = 1_000.0
    w = weights.rook(cells, ids="id")
    X = cells.set_index("id")[["a", "b"]]
    pop = cells.set_index("id")["pop"]
    MaxP(floor, iterations=2, rounds=1).fit(X.iloc[:100], weights.rook(cells.iloc[:100], ids="id"),
                                            floor_values=pop.iloc[:100])  # compile  # fmt: skip
    start = time.perf_counter()
    ours = MaxP(floor, iterations=iterations, rounds=rounds, rng=0).fit(X, w, floor_values=pop)
    t_ours = time.perf_counter() - start
    frame = pd.DataFrame(cells[["a", "b", "pop"]])
    queue: mp.Queue = mp.Queue()
    child = mp.Process(target=_spopt_maxp, args=(frame, w.binary().to_sparse(), floor,
                                                 iterations, rounds, queue))  # fmt: skip
    child.start()
    child.join(timeout)
    line = (f"max-p {len(cells):,} areas, {iterations} constructions, {rounds} rounds: dongne "
            f"{t_ours:.2f} s (p = {ours.n_regions_}, objective {ours.objective_:,.1f})")
    if child.is_alive():
        child.terminate()
        print(f"{line}; spopt did not finish in {timeout:.0f} s: ratio > {timeout / t_ours:.0f}x")
        return
    t_ref, p_ref, obj_ref = queue.get()
    print(f"{line}; spopt {t_ref:.2f} s (p = {p_ref}, objective {obj_ref:,.1f}); ratio "
          f"{t_ref / t_ours:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polygons", type=int, default=100_000)
    parser.add_argument("--areas", type=int, default=10_000)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--peer-timeout", type=float, default=1800.0)
    parser.add_argument("--skip", choices=("interpolation", "maxp"), action="append", default=[])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if "interpolation" not in args.skip:
        for kind in ("voronoi", "non-convex"):
            bench_interpolation(args.polygons, kind)
    if "maxp" not in args.skip:
        bench_maxp(args.areas, args.iterations, args.rounds, args.peer_timeout)


if __name__ == "__main__":
    main()
