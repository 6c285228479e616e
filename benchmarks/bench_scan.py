"""Spatial scan statistic: dongne against pyscan-stats and a vectorised NumPy scan.

Run: ``python benchmarks/bench_scan.py`` (``--quick`` skips N = 10,000 for the peers).

Every measurement runs in a fresh subprocess so that peak memory (``ru_maxrss``) is clean.
Data: the NY leukemia tracts (N = 281, SaTScan's example, read from ../shared), Seoul's 423
dongs (basement households among households, real data) and 10,000 synthetic areas
(uniform points, log-normal populations, Poisson cases at a constant rate). Every run is a
Poisson scan for high rates with circular windows up to 50% of the population and 999
Monte Carlo replications (1 observed scan + 999 replicates).

Implementations:

* ``dongne`` — :class:`dongne.detect.scan.ScanStatistic` (numba), 1 and 2 threads; "warm" is
  the second fit in the process (compiled code in memory), "cold" the wall time of a fresh
  process that imports dongne and fits once (numba's cache on disk warm).
* ``numpy`` — the same algorithm written as a straightforward vectorised NumPy program:
  window lists from ``argsort``, per replicate a multinomial draw, segmented cumulative sums
  along all lists and the LLR of every window with ``np.log``; the maximum is kept.
* ``pyscan`` — pyscan-stats (PyPI, C++), ``pyscan.satscan_grid`` with the Kulldorff function:
  SaTScan-style circles around a grid of about N centres, growing through all points (no
  population cap), called once for the data and once per replicate (multinomial redraw of
  the cases with NumPy). Single-threaded.

Where a peer would run for hours (N = 10,000) it is timed on a few replicates and the total
for 999 is extrapolated linearly; such rows are marked "extrapolated". Peers are
benchmark-only dependencies: ``pip install pyscan-stats``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "reference_data" / "ny_leukemia"

WORKER = r"""
import json, os, resource, sys, time
impl, dataset, threads, reps_run, shared = sys.argv[1:6]
threads, reps_run = int(threads), int(reps_run)
t_start = time.perf_counter()
import numpy as np

def load(dataset):
    if dataset == "ny":
        cases = np.loadtxt(os.path.join(shared, "satscan_ny_cases.txt"))[:, 1]
        pop = np.loadtxt(os.path.join(shared, "satscan_ny_pop.txt"))[:, 2]
        xy = np.loadtxt(os.path.join(shared, "satscan_ny_coords.txt"))[:, 1:]
        return cases, pop, xy
    if dataset == "seoul":
        from dongne.datasets import seoul_dongs
        d = seoul_dongs().to_crs(5179)
        xy = np.column_stack([d.centroid.x, d.centroid.y])
        return (d["basement_households"].to_numpy(float), d["households"].to_numpy(float), xy)
    n = int(dataset)
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (n, 2))
    pop = np.round(rng.lognormal(7.5, 0.5, n))
    return rng.poisson(pop * 5e-4).astype(float), pop, xy

cases, pop, xy = load(dataset)
n = len(cases)
R = 999
C = cases.sum()

if impl == "dongne":
    import numba
    numba.set_num_threads(threads)
    from dongne.detect.scan import ScanStatistic
    def run(reps):
        s = ScanStatistic(replications=reps, rng=1).fit(cases, pop, xy)
        return s.llr_
elif impl == "numpy":
    E = pop * C / pop.sum()
    cap = 0.5 * pop.sum()
    lists, lengths = [], []
    def build():
        for j in range(n):
            d = np.sqrt(((xy - xy[j]) ** 2).sum(axis=1))
            order = np.argsort(d, kind="stable")
            cum = np.cumsum(pop[order])
            ds = d[order]
            k = np.searchsorted(cum, cap, side="right")
            # windows close only where the next area is farther (ties enter together)
            lists.append(order[:k]); lengths.append(k)
        ent = np.concatenate(lists)
        starts = np.repeat(np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        closes = np.ones(len(ent), bool)
        dsorted = np.concatenate([np.sqrt(((xy[l] - xy[j]) ** 2).sum(axis=1))
                                  for j, l in enumerate(lists)])
        nxt = np.r_[dsorted[1:], np.inf]
        last = np.r_[np.cumsum(lengths) - 1]
        closes = nxt != dsorted
        closes[last] = True
        return ent, starts, closes
    def max_llr(c_area, ent, starts, closes, e_cum):
        cum = np.cumsum(c_area[ent])
        base = np.r_[0.0, cum][starts]
        c = cum - base
        e = e_cum
        ok = closes & (c > e) & (c >= 2)
        c, e = c[ok], e[ok]
        llr = c * np.log(c / e) + np.where(C - c > 0, (C - c) * np.log((C - c) / (C - e)), 0.0)
        return llr.max() if len(llr) else 0.0
    def run(reps):
        global setup
        t_build = time.perf_counter()
        lists.clear(); lengths.clear()
        ent, starts, closes = build()
        setup = time.perf_counter() - t_build
        cumE = np.cumsum(E[ent]); e_cum = cumE - np.r_[0.0, cumE][starts]
        rng = np.random.default_rng(1)
        obs = max_llr(cases, ent, starts, closes, e_cum)
        for _ in range(reps):
            max_llr(rng.multinomial(int(C), E / E.sum()).astype(float), ent, starts, closes, e_cum)
        return obs
else:
    import pyscan
    (x0, y0), (x1, y1) = xy.min(0), xy.max(0)
    res = float(np.sqrt((x1 - x0) * (y1 - y0) / n))
    blue = [pyscan.WPoint(float(p), float(x), float(y), 1.0) for p, (x, y) in zip(pop, xy)]
    def red_of(c):
        return [pyscan.WPoint(float(v), float(x), float(y), 1.0) for v, (x, y) in zip(c, xy)]
    def run(reps):
        rng = np.random.default_rng(1)
        _, obs = pyscan.satscan_grid(red_of(cases), blue, res, 0.0, pyscan.KULLDORF)
        for _ in range(reps):
            sim = rng.multinomial(int(C), pop / pop.sum())
            pyscan.satscan_grid(red_of(sim), blue, res, 0.0, pyscan.KULLDORF)
        return obs

setup = 0.0  # one-off work (window lists) inside the timed run, not scaled up
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if impl == "dongne":
    run(9)  # compile / load the cached kernels
t0 = time.perf_counter(); run(reps_run); elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "setup": setup, "peak_mb": peak / 1024,
                  "before_mb": rss_before / 1024, "process": time.perf_counter() - t_start}))
"""


def run(impl: str, dataset: str, threads: int, reps: int) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(max(threads, 1)), OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", WORKER, impl, dataset, str(threads), str(reps), str(SHARED)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - t0
    if out.returncode:
        lines = out.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else "failed"}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall"] = wall
    return res


def versions() -> str:
    import importlib.metadata as md

    parts = []
    for name in ("dongne", "pyscan-stats", "numba", "numpy"):
        try:
            parts.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the peers at N = 10,000")
    args = parser.parse_args()
    print(versions())
    print(f"CPUs visible: {os.cpu_count()}; 999 replications, 50% population cap, Poisson, high")
    print(
        f"{'data':<18} {'impl':<8} {'thr':>3} {'reps run':>8} {'seconds':>9} {'for 999':>9} "
        f"{'peak MB':>8} {'Δ MB':>6} {'/dongne1':>9} {'/dongne2':>9}"
    )
    datasets = [
        ("ny", "NY tracts 281"),
        ("seoul", "Seoul dongs 423"),
        ("10000", "synthetic 10,000"),
    ]
    for dataset, label in datasets:
        big = dataset == "10000"
        rows = []
        for threads in (1, 2):
            rows.append(("dongne", threads, 999, run("dongne", dataset, threads, 999)))
        if not (big and args.quick):
            rows.append(("numpy", 1, 3 if big else 999, None))
            rows.append(("pyscan", 1, 2 if big else 999, None))
        base = {
            t: r["seconds"] for impl, t, _, r in rows if impl == "dongne" and r and "seconds" in r
        }
        for impl, threads, reps, res in rows:
            if res is None:
                res = run(impl, dataset, threads, reps)
            if "error" in res:
                print(f"{label:<18} {impl:<8} {threads:>3} error: {res['error']}")
                continue
            # Setup + observed scan + reps replicates were timed; scale the scans to 1 + 999.
            scans = res["seconds"] - res["setup"]
            total = res["setup"] + scans * (1000 / (reps + 1)) if reps < 999 else res["seconds"]
            note = " (extrapolated)" if reps < 999 else ""
            r1, r2 = total / base[1], total / base[2]
            print(
                f"{label:<18} {impl:<8} {threads:>3} {reps:>8} {res['seconds']:>9.2f} "
                f"{total:>9.2f} {res['peak_mb']:>8.0f} {res['peak_mb'] - res['before_mb']:>6.0f} "
                f"{r1:>8.1f}x {r2:>8.1f}x{note}"
            )
    print(
        "/dongne1, /dongne2 = time for 999 replications divided by dongne's with 1 or 2 threads "
        "(> 1: dongne faster). 'seconds' is what was timed (observed scan + 'reps run' "
        "replicates), excluding imports and data loading; 'peak MB' the process's peak RSS, "
        "'Δ MB' its growth during the run. Extrapolated rows scale the scans (not the one-off "
        "window lists) from the replicates run to 999."
    )


if __name__ == "__main__":
    main()
