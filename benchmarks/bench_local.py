"""Local Moran's I: dongne against esda and pygeoda on the same data and weights.

"dongne" is the default ``permutation_method="table"``; "dongne-exact" draws every neighbour
from its own stream.

Run: ``python benchmarks/bench_local.py`` (add ``--quick`` to skip N = 100,000).

Every measurement runs in a fresh subprocess so that peak memory (``ru_maxrss``) and cold
starts are clean. "warm" times the second fit in the process (compiled code in memory);
"cold" is the wall time of a whole fresh process that imports the library and fits once
(dongne's numba cache on disk warm; esda compiles on its first call). Peer versions are
printed. Data: Seoul's 423 dongs with queen weights (real), and queen lattices of
100 × 100 and 316 × 316 cells with normal values; 999 permutations. esda is run with
``keep_simulations=False`` (its fastest setting) and with its default; pygeoda with
``permutation_method="complete"`` (its default, a fresh draw per site, like dongne) and
``"lookup-table"``.

Peers are test/benchmark-only dependencies: ``pip install esda pygeoda``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

WORKER = r"""
import json, os, resource, sys, time
impl, size, threads, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
t_start = time.perf_counter()
import numpy as np
from scipy import sparse

def lattice(side):
    idx = np.arange(side * side).reshape(side, side)
    rows, cols = [], []
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di == 0 and dj == 0:
                continue
            a = idx[max(0, -di):side - max(0, di), max(0, -dj):side - max(0, dj)]
            b = idx[max(0, di):max(0, di) + a.shape[0], max(0, dj):max(0, dj) + a.shape[1]]
            rows.append(a.ravel()); cols.append(b.ravel())
    r, c = np.concatenate(rows), np.concatenate(cols)
    n = side * side
    return sparse.csr_array((np.ones(len(r)), (r, c)), shape=(n, n))

if size == 0:
    from dongne import weights
    from dongne.datasets import seoul_dongs
    dongs = seoul_dongs()
    m = weights.queen(dongs, ids="dong_code").to_sparse()
    y = dongs["basement_household_pct"].to_numpy(float)
else:
    m = lattice(size)
    y = np.random.default_rng(0).normal(size=m.shape[0])
n = m.shape[0]
R = 999

if impl.startswith("dongne"):
    import numba
    numba.set_num_threads(threads)
    from dongne.detect import LocalMoran
    from dongne.weights import SpatialWeights
    w = SpatialWeights.from_sparse(m, np.arange(n), transform="binary")
    method = "exact" if impl == "dongne-exact" else "table"
    def fit():
        return LocalMoran(permutations=R, rng=1, permutation_method=method).fit(y, w).p_values_
elif impl.startswith("esda"):
    os.environ["NUMBA_NUM_THREADS"] = str(threads)
    import warnings
    warnings.simplefilter("ignore")
    import esda
    import libpysal
    wl = libpysal.weights.WSP(sparse.csr_matrix(m)).to_W(silence_warnings=True)
    keep = impl == "esda-keep"
    def fit():
        return esda.Moran_Local(y, wl, permutations=R, seed=1, n_jobs=threads,
                                keep_simulations=keep).p_sim
else:
    import pygeoda, tempfile
    gal = os.path.join(tempfile.mkdtemp(), "w.gal")
    with open(gal, "w") as f:  # GeoDa's GAL header: 0 n layer id-variable
        f.write(f"0 {n} bench id\n")
        for i in range(n):
            nb = m.indices[m.indptr[i]:m.indptr[i + 1]]
            f.write(f"{i} {len(nb)}\n" + " ".join(map(str, nb)) + "\n")
    gw = pygeoda.read_gal(gal, [str(i) for i in range(n)])
    method = "lookup-table" if impl == "pygeoda-lookup" else "complete"
    def fit():
        return pygeoda.local_moran(gw, list(y), permutations=R, permutation_method=method,
                                   cpu_threads=threads, seed=1).lisa_pvalues()

rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter(); fit(); first = time.perf_counter() - t0
if mode == "warm":
    t0 = time.perf_counter(); fit(); second = time.perf_counter() - t0
else:
    second = float("nan")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"first": first, "warm": second, "peak_mb": peak / 1024,
                  "before_mb": rss_before / 1024, "process": time.perf_counter() - t_start}))
"""


def run(impl: str, size: int, threads: int, mode: str) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(max(threads, 1)))
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", WORKER, impl, str(size), str(threads), mode],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - t0
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall"] = wall
    return res


def versions() -> str:
    import importlib.metadata as md

    parts = []
    for name in ("dongne", "esda", "libpysal", "pygeoda", "numba", "numpy"):
        try:
            parts.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip N = 100,000")
    args = parser.parse_args()
    sizes = [(0, "Seoul 423 dongs"), (100, "lattice 10,000"), (316, "lattice 99,856")]
    if args.quick:
        sizes = sizes[:2]
    impls = ["dongne", "dongne-exact", "esda", "esda-keep", "pygeoda", "pygeoda-lookup"]
    print(versions())
    print(
        f"{'data':<16} {'impl':<15} {'thr':>3} {'warm s':>8} {'cold s':>8} "
        f"{'peak MB':>8} {'Δ MB':>7} {'ratio':>7}"
    )
    for size, label in sizes:
        for threads in (1, 2):
            rows = {}
            for impl in impls:
                if impl == "esda-keep" and size == 316 and threads == 2:
                    continue
                warm = run(impl, size, threads, "warm")
                cold = run(impl, size, threads, "cold")
                rows[impl] = (warm, cold)
            base = rows["dongne"][0].get("warm")
            for impl, (warm, cold) in rows.items():
                if "error" in warm:
                    print(f"{label:<16} {impl:<15} {threads:>3} error: {warm['error']}")
                    continue
                ratio = warm["warm"] / base if base else float("nan")
                print(
                    f"{label:<16} {impl:<15} {threads:>3} {warm['warm']:>8.3f} "
                    f"{cold['wall']:>8.2f} {warm['peak_mb']:>8.0f} "
                    f"{warm['peak_mb'] - warm['before_mb']:>7.0f} {ratio:>6.1f}x"
                )
    print(
        "ratio = peer warm time / dongne warm time at the same data and threads "
        "(> 1: dongne faster). cold = fresh process wall time incl. imports."
    )


if __name__ == "__main__":
    main()
