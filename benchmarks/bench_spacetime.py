"""Space-time scan and emerging hot spots: dongne against straightforward peers, same run.

Run: ``python benchmarks/bench_spacetime.py`` (``--quick``: fewer replications, extrapolated).

* Space-time permutation scan, **prospective**, 1,000 areas × 365 days (uniform points,
  log-normal sizes, ~36,000 cases), cylinders up to 50% of the cases and 30 days, 999
  replications: dongne (:class:`dongne.spacetime.SpaceTimeScan`, numba, all cores) against a
  vectorised NumPy version of the same scan (per centre: cumulative sums over the nested
  circles of the last 30 days, every LLR with ``np.log``), timed on a few replicates and
  extrapolated to 999.
* The same scan, **retrospective** (every interval of at most 30 days in the year), 999
  replications, measured directly. With ``--retrospective`` its peers are timed on one
  replicate and extrapolated: NumPy (every cylinder of 50 centres, scaled to 1,000) and
  dongne's general kernel (cell sums per circle, used for prospective scans and expected
  counts that are not separable: the retrospective scan before the blocks of circles).
* Emerging hot spots, 10,000 areas (100 × 100 queen lattice) × 100 steps, 999 permutations:
  dongne (:func:`dongne.spacetime.emerging_hot_spots`, k = 1) against esda's
  ``G_Local(star=True)`` with 999 permutations on single steps (k = 0, the closest peer),
  extrapolated to 100 steps.

SaTScan (closed-source freeware) and R are not installed on this machine and cannot be
downloaded at run time, so rsatscan/SaTScan are not measured. Wall-clock and CPU seconds are
printed with the machine's load average (a shared machine inflates wall time).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import pandas as pd


def _stp_data(n: int = 1000, steps: int = 365, seed: int = 0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10_000, size=(n, 2))
    size = rng.lognormal(8, 0.7, n)
    counts = rng.poisson(np.outer(size / size.sum() * 100, np.ones(steps))).astype(float)
    return xy, counts


def _timed(func):
    wall, cpu = time.perf_counter(), time.process_time()
    out = func()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _numpy_prospective(offsets, entries, counts, mu, total, max_len, rng) -> float:
    """One replicate of the prospective scan in plain NumPy (the peer)."""
    n, steps = counts.shape
    whole = counts.astype(np.int64)
    area = np.repeat(np.arange(n), whole.sum(axis=1))
    times = np.concatenate([np.repeat(np.arange(steps), r) for r in whole])
    perm = np.zeros_like(counts)
    np.add.at(perm, (area, rng.permutation(times)), 1.0)
    tail_c = perm[:, steps - max_len :][:, ::-1]
    tail_e = mu[:, steps - max_len :][:, ::-1]
    best = 0.0
    for j in range(len(offsets) - 1):
        members = entries[offsets[j] : offsets[j + 1]]
        members = np.where(members >= 0, members, ~members)
        c = np.cumsum(np.cumsum(tail_c[members], axis=0), axis=1)
        e = np.cumsum(np.cumsum(tail_e[members], axis=0), axis=1)
        ok = (c > e) & (c >= 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            llr = np.where(
                ok, c * np.log(c / e) + (total - c) * np.log((total - c) / (total - e)), 0
            )
        best = max(best, float(llr.max()))
    return best


def _numpy_retrospective(offsets, entries, counts, mu, total, max_len, centres) -> float:
    """Largest LLR over the circles of ``centres`` × every interval of at most ``max_len``
    steps, in plain NumPy (the peer of the retrospective scan)."""
    best = 0.0
    for j in centres:
        members = entries[offsets[j] : offsets[j + 1]]
        closes = members >= 0
        members = np.where(closes, members, ~members)
        pc = np.cumsum(counts[members], axis=0)[closes]
        pe = np.cumsum(mu[members], axis=0)[closes]
        pc = np.concatenate([np.zeros((len(pc), 1)), np.cumsum(pc, axis=1)], axis=1)
        pe = np.concatenate([np.zeros((len(pe), 1)), np.cumsum(pe, axis=1)], axis=1)
        for lag in range(max_len):
            c = pc[:, lag + 1 :] - pc[:, : -lag - 1]
            e = pe[:, lag + 1 :] - pe[:, : -lag - 1]
            ok = (c > e) & (c >= 2)
            with np.errstate(divide="ignore", invalid="ignore"):
                llr = np.where(
                    ok, c * np.log(c / e) + (total - c) * np.log((total - c) / (total - e)), 0
                )
            best = max(best, float(llr.max()))
    return best


def _fit(analysis: str, replications: int, cube, xy):
    from dongne.spacetime import SpaceTimeScan

    scan = SpaceTimeScan(
        analysis=analysis, replications=replications, rng=1, max_duration=30,
        max_population_share=0.5,
    )  # fmt: skip
    return _timed(lambda: scan.fit(cube, xy))


def bench_scan(replications: int, peer_reps: int, retrospective: bool) -> None:
    from dongne.detect._scan_core import build_windows
    from dongne.spacetime import SpaceTimeCube
    from dongne.spacetime import _kernels as kern

    xy, counts = _stp_data()
    n, steps = counts.shape
    cube = SpaceTimeCube(counts, pd.Index(range(n)), pd.Index(range(steps)), None, "counts")
    scale = 999 / replications
    for analysis in ("prospective", "retrospective"):
        _fit(analysis, 1, cube, xy)  # compile
        fitted, wall, cpu = _fit(analysis, replications, cube, xy)
        print(f"dongne STP {analysis} 1000x365, L=30, {replications} reps: wall {wall:.1f} s, "
              f"cpu {cpu:.1f} s -> 999 reps: wall {wall * scale:.1f} s, cpu {cpu * scale:.1f} s "
              f"(idle 2 cores ~{cpu * scale / 2:.0f} s), windows {fitted.n_windows_}, "
              f"load {os.getloadavg()[0]:.1f}, peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
              flush=True)  # fmt: skip
    w = counts.sum(axis=1)
    offsets, entries = build_windows(xy[:, 0], xy[:, 1], xy[:, 0], xy[:, 1], w, 0.5 * w.sum(),
                                     np.inf, n, False)  # fmt: skip
    rng = np.random.default_rng(0)
    mu = fitted.expected_
    _, pwall, pcpu = _timed(lambda: [
        _numpy_prospective(offsets, entries, counts, mu, counts.sum(), 30, rng)
        for _ in range(peer_reps)
    ])  # fmt: skip
    print(
        f"numpy peer prospective: {pwall / peer_reps:.2f} s wall, {pcpu / peer_reps:.2f} s "
        f"cpu per replicate -> 1000 scans {pcpu / peer_reps * 1000:.0f} s cpu (extrapolated)"
    )
    if not retrospective:
        return
    whole = counts.astype(np.int64)
    area = np.repeat(np.arange(n), whole.sum(axis=1))
    times = np.concatenate([np.repeat(np.arange(steps), r) for r in whole]).astype(np.int64)
    perm = kern.permute_times(area, times, n, steps, 1, 0)
    args = (offsets, entries, perm, mu, counts.sum(), 0, 30, 2.0)
    kern._max_llr(*args)  # compile
    _, _, gcpu = _timed(lambda: kern._max_llr(*args))
    print(
        f"dongne general kernel (cell sums, no circle blocks; before issue 18's work) on one "
        f"retrospective replicate: {gcpu:.2f} s cpu -> 1000 scans {gcpu * 1000:.0f} s cpu"
    )
    some = np.arange(0, n, n // 20)
    _, _, rcpu = _timed(
        lambda: _numpy_retrospective(offsets, entries, perm, mu, counts.sum(), 30, some)
    )
    per_scan = rcpu * n / len(some)
    print(
        f"numpy peer retrospective: {per_scan:.1f} s cpu per replicate ({len(some)} of {n} "
        f"centres timed) -> 1000 scans {per_scan * 1000:.0f} s cpu (extrapolated)"
    )


def bench_emerging(permutations: int, peer_steps: int) -> None:
    import esda
    import libpysal

    from dongne.spacetime import emerging_hot_spots
    from dongne.weights import SpatialWeights

    side, steps = 100, 100
    lat = libpysal.weights.lat2W(side, side, rook=False)
    n = side * side
    rows = [i for i in range(n) for _ in lat.neighbors[i]]
    cols = [j for i in range(n) for j in lat.neighbors[i]]
    from scipy import sparse

    mat = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    w = SpatialWeights(mat, ids=list(range(n)), kind="queen", transform="binary")
    x = np.random.default_rng(0).gamma(2.0, 1.0, size=(n, steps))
    emerging_hot_spots(x[:, :5], w, permutations=9, correction="none")  # compile
    _, wall, cpu = _timed(
        lambda: emerging_hot_spots(x, w, permutations=permutations, rng=1, correction="none")
    )
    scale = 999 / permutations
    print(
        f"dongne emerging 10000x100, k=1, {permutations} perms: wall {wall:.1f} s, cpu "
        f"{cpu:.1f} s -> 999 perms: wall ~{wall * scale:.1f} s"
    )
    _, pwall, pcpu = _timed(lambda: [
        esda.G_Local(x[:, t], lat, transform="B", star=True, permutations=999, seed=1)
        for t in range(peer_steps)
    ])  # fmt: skip
    peer, peer_cpu = pwall / peer_steps * steps, pcpu / peer_steps * steps
    print(
        f"esda G_Local star, 999 perms: {pwall / peer_steps:.1f} s per step -> 100 steps "
        f"{peer:.0f} s wall, {peer_cpu:.0f} s cpu (extrapolated); ratio esda/dongne: wall "
        f"{peer / (wall * scale):.1f}, cpu {peer_cpu / (cpu * scale):.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer replications, extrapolated")
    parser.add_argument(
        "--retrospective", action="store_true",
        help="also time the retrospective scan's peers (NumPy, the general kernel; extrapolated)",
    )  # fmt: skip
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}, cores {os.cpu_count()}")
    bench_scan(99 if args.quick else 999, 1 if args.quick else 3, args.retrospective)
    bench_emerging(99 if args.quick else 999, 1 if args.quick else 3)


if __name__ == "__main__":
    main()
