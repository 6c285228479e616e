"""ML spatial lag: log-determinant error and speed (issue 20: 100,000 observations < 60 s).

Run: ``python benchmarks/bench_explain_lag.py`` (``--quick`` for small sizes only).

Data: a square rook lattice (row-standardised) and 6-nearest-neighbour weights on uniform
random points; 3 normal covariates; ``y = (I − 0.5W)⁻¹(Xβ + ε)``. Each measurement runs in a
fresh subprocess and prints wall and CPU seconds with the load average.

1. **log-determinant error** at ``--logdet-n`` units (10,000 by default): the relative error
   of the Chebyshev approximation (Pace & LeSage 2004, dongne's ``"auto"`` above 10,000
   units) and of the Monte Carlo power series (Barry & Pace 1999) against the exact sparse-LU
   value, for ρ from −0.5 to 0.95, on both weights; and ρ̂, β and their standard errors of
   ``ml_lag`` with each approximation against the exact fit.
2. **peer**: spreg ``ML_Lag(method="LU")`` against ``dongne.explain.ml_lag`` (exact LU too) at
   ``--peer-n`` units, same data, same ρ̂ checked (1e-6), ratio of wall times. spreg's
   variance inverts ``I − ρW`` into a dense matrix (``spinv``), O(n²) memory, so it is not
   run at 100,000 units (80 GB); no extrapolation is printed.
3. **large**: ``ml_lag`` on ``--large`` units (a 316 × 316 lattice, 99,856) with the default
   ``log_determinant="auto"`` (Chebyshev) and 200 impact draws, against the target of 60 s;
   and the same fit with the exact LU log-determinant for the ρ̂ difference.

spreg is a test/benchmark-only dependency.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

WORKER = r"""
import json, sys, time, warnings, resource
warnings.filterwarnings("ignore")
task, n, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

def lattice(side):
    idx = np.arange(side * side).reshape(side, side)
    r = np.concatenate([idx[:, :-1].ravel(), idx[:, 1:].ravel(), idx[:-1].ravel(), idx[1:].ravel()])
    c = np.concatenate([idx[:, 1:].ravel(), idx[:, :-1].ravel(), idx[1:].ravel(), idx[:-1].ravel()])
    B = sparse.csr_array((np.ones(len(r)), (r, c)), shape=(side * side, side * side))
    return sparse.csr_array(B / B.sum(axis=1)[:, None])

def knn(n, k=6):
    from scipy.spatial import cKDTree
    xy = np.random.default_rng(1).uniform(size=(n, 2))
    idx = cKDTree(xy).query(xy, k=k + 1)[1][:, 1:]
    r = np.repeat(np.arange(n), k)
    return sparse.csr_array((np.full(n * k, 1.0 / k), (r, idx.ravel())), shape=(n, n))

W = lattice(int(round(n ** 0.5))) if kind == "lattice" else knn(n)
n = W.shape[0]
rng = np.random.default_rng(0)
X = rng.normal(size=(n, 3))
lu = splu(sparse.csc_matrix(sparse.identity(n) - 0.5 * W))
y = lu.solve(X @ [1.0, -1.0, 0.5] + rng.normal(size=n))
from dongne.explain import check_design
from dongne.explain import spatial
design = check_design(y, X, ["a", "b", "c"])
out = {"n": n}

def timed(f):
    t, c = time.perf_counter(), time.process_time()
    r = f()
    return r, time.perf_counter() - t, time.process_time() - c

if task == "logdet":
    exact = spatial._LogDet(W, 0, "lu")
    approx = {m: spatial._LogDet(W, 0, m) for m in ("chebyshev", "series")}
    out["errors"] = {
        m: {str(r): abs(a(r) - exact(r)) / abs(exact(r)) for r in (-0.5, 0.2, 0.5, 0.8, 0.9, 0.95)}
        for m, a in approx.items()
    }
    ref = spatial.ml_lag(design, W, replications=0, log_determinant="lu")
    for m in ("chebyshev", "series"):
        fit = spatial.ml_lag(design, W, replications=0, log_determinant=m)
        out[m] = {
            "rho": abs(fit.params_[-1] - ref.params_[-1]),
            "beta": float(np.max(np.abs(fit.params_[:-1] / ref.params_[:-1] - 1))),
            "se": float(np.max(np.abs(fit.bse_ / ref.bse_ - 1))),
        }
elif task == "peer":
    import spreg
    from libpysal.weights import WSP
    lw = WSP(sparse.csr_matrix(W)).to_W(silence_warnings=True)
    ours, out["dongne"], out["dongne_cpu"] = timed(
        lambda: spatial.ml_lag(design, W, replications=0, log_determinant="lu"))
    ref, out["spreg"], out["spreg_cpu"] = timed(
        lambda: spreg.ML_Lag(y[:, None], X, w=lw, method="LU"))
    out["rho_diff"] = abs(float(ref.rho) - ours.params_[-1])
    out["se_rel"] = float(np.max(np.abs(ours.bse_ / np.asarray(ref.std_err).ravel() - 1)))
else:
    method = sys.argv[4]
    fit, out["wall"], out["cpu"] = timed(
        lambda: spatial.ml_lag(design, W, replications=200, rng=0, log_determinant=method))
    out["rho"] = fit.params_[-1]
    out["method"] = fit.provenance_["log_determinant"]
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def _run(*argv: object) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, *map(str, argv)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--logdet-n", type=int, default=10_000)
    parser.add_argument("--peer-n", type=int, default=900)
    parser.add_argument("--large", type=int, default=99_856)
    parser.add_argument("--skip-exact", action="store_true", help="no exact-LU fit at --large")
    args = parser.parse_args()
    if args.quick:
        args.logdet_n, args.peer_n, args.large = 2_500, 400, 10_000
    import spreg

    import dongne

    print(f"dongne {dongne.__version__}, spreg {spreg.__version__}; load {_load()}", flush=True)
    for kind in ("lattice", "knn"):
        r = _run("logdet", args.logdet_n, kind)
        for m in ("chebyshev", "series"):
            errs = ", ".join(f"ρ={k}: {v:.1e}" for k, v in r["errors"][m].items())
            print(f"log-det {kind:7} n={r['n']}: {m:9} relative error {errs}", flush=True)
            f = r[m]
            print(
                f"  ml_lag with {m}: |Δρ̂| {f['rho']:.1e}, β rel {f['beta']:.1e}, "
                f"se rel {f['se']:.1e} (against exact LU)",
                flush=True,
            )
    r = _run("peer", args.peer_n, "lattice")
    print(
        f"peer n={r['n']}: dongne {r['dongne']:.2f} s (cpu {r['dongne_cpu']:.2f}), spreg "
        f"ML_Lag(method='LU') {r['spreg']:.2f} s (cpu {r['spreg_cpu']:.2f}), ratio "
        f"{r['spreg'] / r['dongne']:.1f}x; |Δρ̂| {r['rho_diff']:.1e}, se rel {r['se_rel']:.1e}; "
        f"load {_load()}",
        flush=True,
    )
    big = _run("large", args.large, "lattice", "auto")
    print(
        f"large n={big['n']}: ml_lag (auto: {big['method']}) {big['wall']:.1f} s wall, "
        f"{big['cpu']:.1f} s CPU, max RSS {big['max_rss_mb']:.0f} MB, target < 60 s: "
        f"{'met' if big['wall'] < 60 else 'NOT met'}; load {_load()}",
        flush=True,
    )
    if not args.skip_exact:
        exact = _run("large", args.large, "lattice", "lu")
        print(
            f"large n={exact['n']}: ml_lag (exact LU) {exact['wall']:.1f} s wall, "
            f"{exact['cpu']:.1f} s CPU; |Δρ̂| Chebyshev vs exact "
            f"{abs(big['rho'] - exact['rho']):.1e}; load {_load()}",
            flush=True,
        )


if __name__ == "__main__":
    main()
