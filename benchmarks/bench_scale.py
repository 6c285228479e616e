"""LISA at scale: 10³ to 10⁶ queen grid cells, in process and on a Dask LocalCluster.

Run: ``python benchmarks/bench_scale.py`` (``--quick``: 10³–10⁵ cells and 999 permutations;
``--permutations-1e6 R`` sets R for the million-cell point, default 999 because 9,999 takes
most of an hour on a 2-core machine — the per-(N·R) cost is linear, see the printed check).

Every measurement runs in a fresh subprocess so that peak memory (``ru_maxrss``) is clean:

* ``in-process``: ``LocalMoran(permutations=R, rng=1).fit(y, w)`` with numba on all cores;
* ``dask-1`` / ``dask-2``: the same with ``scheduler=Client(LocalCluster(n_workers=k,
  threads_per_worker=1))``; peak RSS of every worker process is read with
  ``client.run(resource.getrusage)`` after the fit, and the results are checked to be
  bit-identical to the in-process run (the script fails otherwise);
* ``weights``: for the largest N, the grid written to GeoParquet (row groups of 62,500 cells)
  and its queen weights built with :func:`dongne.parallel.partitioned_contiguity` (per row
  group with a halo), compared with the lattice.

The projection for all-Korea 100 m cells (10⁷ cells, 9,999 permutations, 32 workers of one
thread) divides the measured single-worker cost per area-permutation by 32.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

WORKER = r"""
import json, resource, sys, time
mode, side, perms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
import numpy as np
from scipy import sparse
from dongne.weights import SpatialWeights
from dongne.detect import LocalMoran

def lattice(side):
    idx = np.arange(side * side).reshape(side, side)
    rows, cols = [], []
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                a = idx[max(0, -di):side - max(0, di), max(0, -dj):side - max(0, dj)]
                b = idx[max(0, di):max(0, di) + a.shape[0], max(0, dj):max(0, dj) + a.shape[1]]
                rows.append(a.ravel()); cols.append(b.ravel())
    r, c = np.concatenate(rows), np.concatenate(cols)
    m = sparse.csr_array((np.ones(len(r)), (r, c)), shape=(side * side,) * 2)
    return SpatialWeights.from_sparse(m, np.arange(side * side), kind="queen", transform="binary")

w = lattice(side)
rng = np.random.default_rng(0)
y = rng.normal(size=w.n)
out = {"mode": mode, "n": w.n, "permutations": perms}
if mode == "weights":
    import os, tempfile
    import geopandas as gpd, shapely
    from dongne.parallel import partitioned_contiguity
    i = np.arange(w.n)
    boxes = shapely.box(i % side, i // side, i % side + 1, i // side + 1)
    cells = gpd.GeoDataFrame(geometry=boxes, crs=5179)
    path = os.path.join(tempfile.mkdtemp(), "cells.parquet")
    cells.to_parquet(path, row_group_size=62_500)
    del cells
    t = time.perf_counter()
    built = partitioned_contiguity(path, scheduler="processes")
    out["seconds"] = time.perf_counter() - t
    out["equal"] = bool((built.to_sparse() != w.to_sparse()).nnz == 0)
    out["partitions"] = built.params["partitions"]
    from dongne.parallel.scheduler import _shutdown_pool
    _shutdown_pool()  # the worker processes end; their largest peak is then RUSAGE_CHILDREN's
    out["worker_peak_mb"] = [resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]
elif mode == "in-process":
    LocalMoran(permutations=min(perms, 99), rng=1).fit(y, w)  # compile / load the cache
    t = time.perf_counter()
    lisa = LocalMoran(permutations=perms, rng=1).fit(y, w)
    out["seconds"] = time.perf_counter() - t
    np.save(sys.argv[4], lisa.n_ge_)
else:
    from distributed import Client, LocalCluster
    k = int(mode.split("-")[1])
    cluster = LocalCluster(n_workers=k, threads_per_worker=1, dashboard_address=None)
    with cluster, Client(cluster) as client:
        client.run(__import__, "dongne.detect.chunked")
        LocalMoran(permutations=min(perms, 99), rng=1, scheduler=client).fit(y, w)
        t = time.perf_counter()
        lisa = LocalMoran(permutations=perms, rng=1, scheduler=client).fit(y, w)
        out["seconds"] = time.perf_counter() - t
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        out["worker_peak_mb"] = sorted(peaks.values())
    out["identical"] = bool(np.array_equal(np.load(sys.argv[4]), lisa.n_ge_))
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def measure(mode: str, side: int, perms: int, ref: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, mode, str(side), str(perms), ref],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"{mode} N={side * side} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10³–10⁵ cells, 999 permutations")
    parser.add_argument("--permutations", type=int, default=9999)
    parser.add_argument("--permutations-1e6", type=int, default=999)
    parser.add_argument("--json", help="also write the measurements to this file")
    args = parser.parse_args()
    import os
    import tempfile

    perms = 999 if args.quick else args.permutations
    sides = [32, 100, 316] if args.quick else [32, 100, 316, 1000]
    ref = os.path.join(tempfile.mkdtemp(), "n_ge.npy")
    rows = []
    print(f"dongne LISA scale benchmark — {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(
        f"{'N':>9} {'R':>6} {'mode':>10} {'seconds':>9} {'ns/(N·R)':>9} {'peak MB':>8} "
        f"{'worker MB':>14} {'same':>5}"
    )
    for side in sides:
        r = args.permutations_1e6 if side == 1000 else perms
        for mode in ("in-process", "dask-1", "dask-2"):
            res = measure(mode, side, r, ref)
            res["ns_per_nr"] = res["seconds"] / (res["n"] * r) * 1e9
            rows.append(res)
            print(
                f"{res['n']:>9,} {r:>6} {mode:>10} {res['seconds']:>9.2f} "
                f"{res['ns_per_nr']:>9.2f} {res['peak_mb']:>8.0f} "
                f"{[round(m) for m in res.get('worker_peak_mb', [])]!s:>14} "
                f"{res.get('identical', '')!s:>5}"
            )
            if res.get("identical") is False:
                raise SystemExit("distributed result differs from the in-process run")
    print("\nratios to the in-process run, and speed-up from 1 to 2 workers:")
    for side in sides:
        by = {x["mode"]: x for x in rows if x["n"] == side * side}
        base = by["in-process"]["seconds"]
        print(
            f"  N={side * side:>9,}: dask-1 {by['dask-1']['seconds'] / base:5.2f}×, dask-2 "
            f"{by['dask-2']['seconds'] / base:5.2f}×, speed-up 1→2 workers "
            f"{by['dask-1']['seconds'] / by['dask-2']['seconds']:4.2f}"
        )
    one = [x for x in rows if x["mode"] == "dask-1"]
    print("\nper-(N·R) cost on one worker thread (near-linear when flat):")
    for x in one:
        print(f"  N={x['n']:>9,} R={x['permutations']:>5}: {x['ns_per_nr']:.2f} ns")
    cost = one[-1]["ns_per_nr"] * 1e-9
    korea = 1e7 * 9999 * cost / 32
    print(
        f"\nprojection: all-Korea 100 m cells (1e7) × 9,999 permutations on 32 one-thread "
        f"workers ≈ {korea / 60:.0f} min ({cost * 1e9:.2f} ns per area-permutation, measured "
        f"at N={one[-1]['n']:,}; scheduling overhead not included)"
    )
    if not args.quick:
        t = time.perf_counter()
        res = measure("weights", 1000, 0, ref)
        rows.append(res)
        print(
            f"\nqueen weights of 10⁶ cells from GeoParquet, {res['partitions']} row groups with "
            f"halo, 2 processes: {res['seconds']:.0f} s (total {time.perf_counter() - t:.0f} s), "
            f"equal to the lattice: {res['equal']}, client peak {res['peak_mb']:.0f} MB"
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
