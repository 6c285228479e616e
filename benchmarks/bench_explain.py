"""MGWR: dongne against mgwr on the same data, with identical bandwidths.

Run: ``python benchmarks/bench_explain.py`` (``--quick`` for small sizes only).

Data: n points uniform on a 100 km square (metres), 5 covariates plus the intercept, each
coefficient surface varying at its own scale, normal noise; y and X standardised as MGWR
expects. Two measurements, each in a fresh subprocess, with the machine's threads:

1. **full fit** (bandwidth search + back-fitting, no inference) at ``--full`` sizes: mgwr's
   ``Sel_BW(multi=True).search()`` against ``dongne.explain.mgwr(inference=False)``; the
   bandwidths must be identical (checked) and the ratio of the wall times is printed.
2. **identical bandwidths** at ``--fixed`` sizes: both sides get the same initial and
   per-covariate bandwidths pinned (mgwr ``init_multi`` and ``multi_bw_min = multi_bw_max``)
   and run exactly ``--iterations`` back-fitting iterations, so they do the same work. mgwr
   is run only up to ``--mgwr-max`` observations; above that its time is extrapolated as
   ``t(n₀)·(n/n₀)²`` from its largest measured size n₀ (each of its kernel evaluations is
   O(n²)), and the line says "extrapolated".

mgwr is a test/benchmark-only dependency (``pip install mgwr``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

WORKER = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
impl, n, mode, iters = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
bws = json.loads(sys.argv[5]) if len(sys.argv) > 5 else None
import numpy as np
rng = np.random.default_rng(42)
coords = rng.uniform(0, 100_000, size=(n, 2))
u, v = coords[:, 0] / 100_000, coords[:, 1] / 100_000
X = rng.normal(size=(n, 5))
beta = np.column_stack([np.ones(n), 1 + u, np.sin(3 * u) + v, 0.5 * np.ones(n), u * v, 1 - v])
y = beta[:, 0] + np.sum(beta[:, 1:] * X, axis=1) + rng.normal(0, 0.5, n)
y = (y - y.mean()) / y.std()
X = (X - X.mean(axis=0)) / X.std(axis=0)
if impl == "dongne":
    from dongne.explain import check_design
    from dongne.explain.local import mgwr
    design = check_design(y, X, [f"x{i}" for i in range(5)])
    small = check_design(y[:120], X[:120], [f"x{i}" for i in range(5)])
    mgwr(small, coords[:120], inference=False, max_iter=1)  # load the compiled kernels
    kwargs = {}
    if mode == "fixed":
        kwargs = dict(init_bandwidth=bws[0], bandwidth_bounds=[(b, b) for b in bws[1]],
                      tol=0.0, max_iter=iters)
    t = time.perf_counter()
    fit = mgwr(design, coords, inference=False, **kwargs)
    elapsed = time.perf_counter() - t
    out = {"bandwidths": fit.bandwidths_.tolist(), "init": fit.provenance_["initial_gwr_bandwidth"]}
else:
    from mgwr.sel_bw import Sel_BW
    kwargs = {}
    if mode == "fixed":
        kwargs = dict(init_multi=bws[0], multi_bw_min=bws[1], multi_bw_max=bws[1],
                      tol_multi=0.0, max_iter_multi=iters)
    Sel_BW(coords[:120], y[:120, None], X[:120], multi=True).search(max_iter_multi=1)  # warm
    t = time.perf_counter()
    sel = Sel_BW(coords, y[:, None], X, multi=True)
    sel.search(**kwargs)
    elapsed = time.perf_counter() - t
    out = {"bandwidths": sel.bw[0].tolist(), "init": float(sel.bw_init)}
out["seconds"] = elapsed
print(json.dumps(out))
"""


def _run(impl: str, n: int, mode: str, iterations: int, bws=None) -> dict:
    argv = [sys.executable, "-c", WORKER, impl, str(n), mode, str(iterations)]
    if bws is not None:
        argv.append(json.dumps(bws))
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--full", default="500,1000", help="sizes of the full-fit comparison")
    parser.add_argument("--fixed", default="2000,5000,10000", help="sizes with pinned bandwidths")
    parser.add_argument("--mgwr-max", type=int, default=2000, help="largest n run with mgwr")
    parser.add_argument("--iterations", type=int, default=3, help="back-fitting iterations")
    args = parser.parse_args()
    full = [int(s) for s in args.full.split(",")]
    fixed = [int(s) for s in args.fixed.split(",")]
    if args.quick:
        full, fixed, args.mgwr_max = [300], [600, 1200], 600
    import mgwr

    import dongne

    print(
        f"dongne {dongne.__version__}, mgwr {mgwr.__version__}; 5 covariates + intercept",
        flush=True,
    )
    for n in full:
        ours, theirs = _run("dongne", n, "full", 0), _run("mgwr", n, "full", 0)
        same = ours["bandwidths"] == theirs["bandwidths"] and ours["init"] == theirs["init"]
        print(
            f"full fit   n={n:>6}: dongne {ours['seconds']:8.2f} s, mgwr {theirs['seconds']:8.2f}"
            f" s, ratio {theirs['seconds'] / ours['seconds']:6.1f}x, bandwidths "
            f"{'identical' if same else 'DIFFER'} {ours['bandwidths']}",
            flush=True,
        )
        if not same:
            print(f"  mgwr bandwidths {theirs['bandwidths']}")
        bws = (ours["init"], ours["bandwidths"])
    base = None
    for n in fixed:
        pinned = (max(bws[0], 50.0), [max(b, 50.0) for b in bws[1]])
        ours = _run("dongne", n, "fixed", args.iterations, pinned)
        if n <= args.mgwr_max:
            theirs = _run("mgwr", n, "fixed", args.iterations, pinned)["seconds"]
            base, how = (n, theirs), "measured"
        else:
            theirs, how = base[1] * (n / base[0]) ** 2, f"extrapolated from n={base[0]}"
        print(
            f"identical bandwidths n={n:>6} ({args.iterations} iterations): dongne "
            f"{ours['seconds']:8.2f} s, mgwr {theirs:8.2f} s ({how}), ratio "
            f"{theirs / ours['seconds']:6.1f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
