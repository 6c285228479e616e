"""Facility location: dongne (HiGHS in-process) against spopt (PuLP + CBC) on the same instances.

Run: ``python benchmarks/bench_allocate.py`` (``--quick``: demand 1,000 only;
``--spopt-timeout S``: give up on spopt after S seconds; ``--skip-spopt``).

Instances: demand points and candidate sites uniform in a 100 × 100 square (seed 0), demand
weights integers 1–100, service radius 10 (each demand unit has ~3 candidates within reach
per 100 candidates), p new sites. Grid: demand 1,000 and 10,000 × candidates 100 and
1,000, p = 10 and 50 — MCLP; plus one harder MCLP (10,000 × 100, p = 10, radius 15: more
overlap, a real branch and bound). p-median is timed at demand 1,000 × candidates 100 only
(spopt builds a dense n × m assignment model in Python; beyond that it does not finish in
reasonable time).

Every measurement runs in a fresh subprocess and times (after the imports, reported apart in
the JSON) everything a user waits for from coordinates to the answer: dongne builds the
sparse coverage (KD-tree), reduces and solves; spopt computes the distance matrix
(``scipy.spatial.distance.cdist``), builds the PuLP model (``from_cost_matrix``) and solves
with its default CBC (``PULP_CBC_CMD(msg=False)``, one thread). Reported: seconds,
objective, dongne's relative gap to its proven bound, the heuristic's gap to the exact
optimum, and time ratios spopt / dongne.

Peers are test/benchmark-only dependencies: ``pip install spopt pulp``.

``--generators`` runs the covering section instead (issue 23, part A): MCLP (p = 10), partial
set covering (PSCLP, 80 % of the demand weight) and LSCP on every generator of
:mod:`dongne.allocate.instances` (uniform, clustered, city-like Seoul 100 m cells, random
radii; suggested radius, seed 0) at 10,000 and 1,000,000 demand points × 1,000 candidates.
Beside dongne (Benders for MCLP/PSCLP, the set-cover MIP for LSCP and, as ``dongne-benders``,
LSCP as the partial cover of the whole weight by Benders with the own branch and bound from the
heuristic's cover; and the heuristics): HiGHS
on the plain textbook MIP (one variable per demand point, no aggregation, gap 0) and spopt +
CBC with ``gapRel=0`` so that "Optimal" means optimal; PuLP's ``sol_status`` is printed
because PuLP says "Optimal" for a CBC run stopped by its time limit. spopt needs a dense
demand × candidate matrix (8 GB at 10⁶ × 10³): it is not run there. Targets: MCLP/PSCLP
10⁴ × 10³ proven optimal < 10 s; 10⁶ × 10³ < 5 minutes and < 4 GB (peak resident memory of
the worker, ``ru_maxrss``). ``--gen-sizes 10000`` limits the sizes, ``--gen-models mclp`` the
models, ``--gen-timeout`` the seconds per run (default 600).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

WORKER = r"""
import json, sys, time
impl, model = sys.argv[1], sys.argv[6]
n, m, p, radius = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
import numpy as np
rng = np.random.default_rng(0)
demand = rng.uniform(0, 100, (n, 2))
sites = rng.uniform(0, 100, (m, 2))
w = rng.integers(1, 101, n).astype(float)
out = {}
t_import = time.perf_counter()
if impl.startswith("dongne"):
    from dongne.allocate import LocationProblem, MCLP, PMedian
else:
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP, PMedian
t0 = time.perf_counter()
out["import_s"] = t0 - t_import
if impl.startswith("dongne"):
    method = "heuristic" if impl == "dongne-heuristic" else "exact"
    problem = LocationProblem(
        demand_ids=np.arange(n).astype(str).astype(object), weights=w,
        site_ids=np.arange(m).astype(str).astype(object), existing=np.zeros(m, dtype=bool),
        demand_xy=demand, site_xy=sites,
    )
    if model == "mclp":
        est = MCLP(p=p, radius=radius, method=method)
    else:
        est = PMedian(p=p, method=method)
    est.fit(problem)
    out.update(objective=est.objective_, bound=est.bound_, gap=est.gap_, status=est.status_,
               method=est.method_, solver=est.solver_)
else:
    cost = cdist(demand, sites)
    if model == "mclp":
        est = MCLP.from_cost_matrix(cost, w, service_radius=radius, p_facilities=p)
    else:
        est = PMedian.from_cost_matrix(cost, w, p_facilities=p)
    out["build_s"] = time.perf_counter() - t0
    est = est.solve(pulp.PULP_CBC_CMD(msg=False))
    out.update(objective=float(est.problem.objective.value()),
               status=pulp.LpStatus[est.problem.status])
out["seconds"] = time.perf_counter() - t0
print(json.dumps(out))
"""


GEN_WORKER = r"""
import json, resource, sys, time
impl, model, kind = sys.argv[1], sys.argv[2], sys.argv[3]
n, m, p, limit = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
import numpy as np
from dongne.allocate.instances import generate
problem = generate(kind, n, m, seed=0)
radius = problem.notes["radius"]
out = {}
t0 = time.perf_counter()
if impl in ("dongne", "dongne-heuristic"):
    from dongne.allocate import LSCP, MCLP
    method = "heuristic" if impl == "dongne-heuristic" else "exact"
    if model == "mclp":
        est = MCLP(p=p, radius=radius, method=method, time_limit=limit)
    else:
        est = LSCP(radius=radius, coverage=0.8 if model == "psclp" else 1.0, method=method,
                   time_limit=limit)
    est.fit(problem)
    out.update(objective=est.objective_, bound=est.bound_, gap=est.gap_, status=est.status_,
               solver=est.solver_)
elif impl == "dongne-benders":  # LSCP as PSCLP with the whole weight, from the heuristic's cover
    from dongne.allocate import benders
    from dongne.allocate._model import _aggregate
    from dongne.allocate.setcover import lagrangian_cover
    cover = problem.covering(radius)
    keep = np.flatnonzero(np.diff(cover.indptr) > 0)
    agg, aw, _, _ = _aggregate(cover[keep], np.ones(len(keep)), None)
    start, _ = lagrangian_cover(agg)
    res = benders.partial_cover(agg, aw, aw.sum(), starts=[start], branching="own",
                                time_limit=max(limit - (time.perf_counter() - t0), 1e-3))
    out.update(objective=res.objective, bound=res.bound, gap=res.gap, status=res.status,
               solver=res.backend)
elif impl == "highs-mip":
    from scipy import sparse
    from dongne.allocate._model import _Builder
    cover = problem.covering(radius)
    keep = np.diff(cover.indptr) > 0
    a, w = sparse.coo_array(cover[keep]), problem.weights[keep]
    k = a.shape[0]
    b = _Builder()
    b.add_cols(m, 1.0 if model != "mclp" else 0.0, 0.0, 1.0, integer=True)
    if model == "lscp":
        b.add_rows(a.row, a.col, 1.0, 1.0, np.inf, k)
    else:
        z0 = b.add_cols(k, w if model == "mclp" else 0.0, 0.0, 1.0)
        rows = np.concatenate([a.row, np.arange(k)])
        cols = np.concatenate([a.col, z0 + np.arange(k)])
        b.add_rows(rows, cols, np.concatenate([-np.ones(a.nnz), np.ones(k)]), -np.inf, 0.0, k)
        if model == "mclp":
            b.add_rows(np.zeros(m), np.arange(m), 1.0, p, p, 1)
        else:
            b.add_rows(np.zeros(k), z0 + np.arange(k), w, 0.8 * problem.weights.sum(), np.inf, 1)
    res = b.solve(maximize=model == "mclp", time_limit=limit, mip_rel_gap=0.0)
    out.update(objective=res.objective, bound=res.bound, gap=res.gap, status=res.status,
               solver=res.backend)
else:
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import LSCP, MCLP
    cost = cdist(problem.demand_xy, problem.site_xy)
    if model == "mclp":
        est = MCLP.from_cost_matrix(cost, problem.weights, service_radius=radius, p_facilities=p)
    else:
        est = LSCP.from_cost_matrix(cost, service_radius=radius)
    est = est.solve(pulp.PULP_CBC_CMD(msg=False, gapRel=0, timeLimit=limit))
    out.update(objective=float(est.problem.objective.value()),
               status=pulp.LpStatus[est.problem.status],
               sol_status=pulp.LpSolution[est.problem.sol_status], solver="spopt + CBC")
out["seconds"] = time.perf_counter() - t0
out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def run_generated(impl, model, kind, n, m, p, limit):
    """One covering run in a fresh subprocess; the process is stopped at limit + 120 s."""
    t = time.perf_counter()
    args = [impl, model, kind, str(n), str(m), str(p), str(limit)]
    try:
        proc = subprocess.run(
            [sys.executable, "-c", GEN_WORKER, *args],
            capture_output=True,
            text=True,
            timeout=limit + 120,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": float("inf"), "status": f"stopped after {limit + 120:.0f} s"}
    if proc.returncode != 0:
        return {"seconds": float("nan"), "status": "error: " + proc.stderr.strip()[-300:]}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - t
    return res


def _gen_cell(res):
    obj = res.get("objective", float("nan"))
    status = res.get("status", "")
    if "sol_status" in res:
        status += f"/{res['sol_status']}"
    mem = res.get("max_rss_mb", float("nan"))
    return f"{fmt_time(res['seconds'])} s {obj:14,.1f} {status:22} {mem:7,.0f} MB"


def main_generators(args):
    """MCLP / PSCLP / LSCP on every generator beside HiGHS on the plain MIP and spopt + CBC."""
    from dongne.allocate.instances import INSTANCE_KINDS

    print("versions:", versions())
    sizes = [int(x) for x in args.gen_sizes.split(",")]
    rows = []
    for n in sizes:
        for model in args.gen_models.split(","):
            for kind in INSTANCE_KINDS:
                impls = ["dongne", "dongne-heuristic", "highs-mip"]
                if model == "lscp":
                    impls.insert(1, "dongne-benders")
                if not args.skip_spopt and model != "psclp" and n * 1000 <= 50_000_000:
                    impls.append("spopt")
                row = {"model": model, "kind": kind, "n": n, "m": 1000, "p": 10}
                for impl in impls:
                    row[impl] = run_generated(impl, model, kind, n, 1000, 10, args.gen_timeout)
                    print(f"{model:5} {kind:9} {n:>9,} x 1,000 {impl:16} {_gen_cell(row[impl])}",
                          flush=True)  # fmt: skip
                _print_targets(row, args.gen_timeout)
                rows.append(row)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1, default=str)


def _print_targets(row, limit):
    ex = row["dongne"]
    proven = ex.get("status") == "optimal"
    line = f"{'':6}-> dongne exact: {ex.get('status')} in {fmt_time(ex['seconds'])} s"
    if row["model"] in ("mclp", "psclp"):
        limit, what = (10, "< 10 s") if row["n"] <= 10_000 else (300, "< 5 min and < 4 GB")
        ok = proven and ex["seconds"] < limit and ex.get("max_rss_mb", 1e9) < 4096
        line += f"; target proven optimal {what}: {'met' if ok else 'NOT met'}"
    h, best = row["dongne-heuristic"], ex.get("objective", float("nan"))
    if h.get("objective") is not None and best == best and best:
        line += f"; heuristic {100 * abs(h['objective'] - best) / abs(best):.2f} % from exact"
    for peer in ("highs-mip", "spopt"):
        if peer in row and row[peer].get("seconds"):
            secs, more = row[peer]["seconds"], ""
            if secs == float("inf"):  # stopped: it took at least the time it was given
                secs, more = limit + 120, "≥ "
            line += f"; {peer} / dongne time {more}{secs / ex['seconds']:.1f}x"
    print(line, flush=True)


def run(impl, n, m, p, radius, model, timeout):
    t = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", WORKER, impl, str(n), str(m), str(p), str(radius), model],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": float("inf"), "status": f"> {timeout:.0f} s (stopped)"}
    if proc.returncode != 0:
        return {"seconds": float("nan"), "status": "error: " + proc.stderr.strip()[-300:]}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - t
    return res


def versions():
    out = {}
    for name in ("dongne", "highspy", "scipy", "spopt", "pulp"):
        try:
            from importlib.metadata import version

            out[name] = version(name)
        except Exception:
            out[name] = "not installed"
    return out


def fmt_time(s):
    return "n/a" if s != s else ("stopped" if s == float("inf") else f"{s:8.2f}")


# ------------------------------------------------------------------------------ p-median
# ``--pmedian``: OR-Library pmed1–40 (time to proven optimum per instance), and random
# p-median instances 10³ × 10² and 10⁴ × 10³ (allocate.instances, uniform, integer weights)
# beside the peers, each run by its own interpreter (benchmarks/peers/, see README.md).
PMED_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "orlib_pmed"
PEER_SCRIPT = Path(__file__).resolve().parent / "peers" / "run_peer.py"

PMED_WORKER = r"""
import json, sys, time
import numpy as np
from dongne.allocate import LocationProblem, PMedian
from dongne.allocate.instances import read_orlib_pmedian

limit = None if sys.argv[2] == "none" else float(sys.argv[2])  # seconds: proven gap at it
for item in sys.argv[3:]:
    if item.endswith(".txt"):
        cost, p = read_orlib_pmedian(item)
        w = np.ones(len(cost))
    else:
        data = np.load(item)
        cost, w, p = data["cost"], data["weights"], int(data["p"])
    problem = LocationProblem.from_cost_matrix(cost, w)
    t0, c0 = time.perf_counter(), time.process_time()
    est = PMedian(p=p, method=sys.argv[1], time_limit=limit).fit(problem)
    out = dict(seconds=time.perf_counter() - t0, cpu_s=time.process_time() - c0,
               objective=est.objective_, bound=est.bound_, gap=est.gap_, status=est.status_,
               details={k: v for k, v in est.details_.items() if k.endswith(("_s", "rounds"))})
    print(json.dumps(out), flush=True)
"""


def _dongne_pmedian(method, items, timeout, show=None, limit=None):
    """Run dongne's PMedian on the instance files, one JSON row per instance.

    ``show(row)`` is called as each instance finishes (rows stream from the worker);
    ``limit`` is PMedian's ``time_limit`` (the row then has the proven gap at that time).
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", PMED_WORKER, method, str(limit).lower(), *map(str, items)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    rows, t0 = [], time.perf_counter()
    for line in proc.stdout:
        rows.append(json.loads(line))
        if show is not None:
            show(len(rows) - 1, rows[-1])
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            rows.append({"status": f"> {timeout:.0f} s (stopped)"})
            break
    proc.wait()
    if proc.returncode not in (0, -9) and len(rows) < len(items):
        rows.append({"status": "error: " + proc.stderr.read().strip()[-300:]})
    return rows


def _peer(python, peer, path, timeout):
    """One peer run in its own interpreter; the peer's own proof status is reported."""
    t = time.perf_counter()
    try:
        proc = subprocess.run(
            [python, str(PEER_SCRIPT), peer, str(path), str(timeout)],
            capture_output=True, text=True, timeout=timeout + 60,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"seconds": float("inf"), "status": f"> {timeout:.0f} s (killed)", "proven": False}
    if proc.returncode != 0:
        return {"seconds": float("nan"), "status": "error: " + proc.stderr.strip()[-300:]}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - t
    return res


def _optima():
    rows = (PMED_DIR / "pmedopt.txt").read_text().split("\n")[1:]
    return {int(r.split()[0][4:]): int(r.split()[1]) for r in rows if len(r.split()) == 2}


def pmedian_orlib(args):
    """OR-Library pmed1–40: seconds to a proven optimum, checked against the published value."""
    opt = _optima()
    ks = range(1, 41) if not args.quick else range(1, 16)
    print(f"{'inst':7} {'status':>10} {'objective':>9} {'published':>9} {'wall s':>8} {'cpu s':>8}")
    nan = float("nan")

    def show(i, r):
        k = ks[i]
        mark = "" if r.get("objective") == opt[k] else "  MISMATCH"
        sec, cs, obj = r.get("seconds", nan), r.get("cpu_s", nan), r.get("objective", nan)
        print(
            f"pmed{k:<3} {r.get('status'):>10} {obj:9.0f} {opt[k]:9d} {sec:8.2f} {cs:8.2f}{mark}",
            flush=True,
        )

    rows = _dongne_pmedian(
        "exact", [PMED_DIR / f"pmed{k}.txt" for k in ks], args.pmed_timeout, show
    )
    total = sum(r.get("seconds", nan) for r in rows)
    cpu = sum(r.get("cpu_s", nan) for r in rows)
    proven = sum(r.get("status") == "optimal" for r in rows)
    print(f"pmed{ks[0]}–{ks[-1]}: {proven}/{len(ks)} proven optimal, total {total:.1f} s wall, "
          f"{cpu:.1f} s CPU (target: all 40 in < 60 s)")  # fmt: skip
    return rows


def pmedian_random(args, tmp):
    """p-median 10³ × 10² (p = 10) and 10⁴ × 10³ (p = 50) beside the peers."""
    from dongne.allocate.instances import generate

    peers = dict(x.split("=", 1) for x in args.peer_python.split(",")) if args.peer_python else {}
    sizes = [(1000, 100, 10)] + ([] if args.quick else [(10000, 1000, 50)])
    wanted = {int(x) for x in args.pmed_sizes.split(",")} if args.pmed_sizes else None
    sizes = [s for s in sizes if wanted is None or s[0] in wanted]
    rows = []
    for n, m, p in sizes:
        problem = generate("uniform", n, m, seed=0, weights="integer")
        path = Path(tmp) / f"pmedian_{n}x{m}.npz"
        np.savez(path, cost=problem.distances(), weights=problem.weights, p=p)
        exact = _dongne_pmedian("exact", [path], args.pmed_timeout, limit=args.pmed_timeout)[0]
        heur = _dongne_pmedian("heuristic", [path], args.pmed_timeout)[0]
        nan = float("nan")
        if n <= 1000:
            target = "< 2 s, >= 100x spopt + CBC"
        else:
            met = exact.get("status") == "optimal" and exact.get("seconds", nan) < 300
            target = "proven optimal < 5 min: " + ("met" if met else "missed")
        print(
            f"p-median {n} x {m}, p = {p}: dongne exact {exact.get('seconds', nan):.2f} s "
            f"({exact.get('status')}, objective {exact.get('objective', nan):,.1f}, bound "
            f"{exact.get('bound', nan):,.1f}, gap {exact.get('gap', nan):.2e}, CPU "
            f"{exact.get('cpu_s', nan):.2f} s); heuristic {heur.get('seconds', nan):.2f} s at "
            f"{heur.get('objective', nan):,.1f} (target: {target})",
            flush=True,
        )
        row = {"n": n, "m": m, "p": p, "exact": exact, "heuristic": heur}
        for name, python in peers.items():
            if n * m > args.peer_max_columns:
                print(f"   {name}: not run ({n * m:,} assignment columns > --peer-max-columns)")
                continue
            res = _peer(python, name, path, args.peer_timeout)
            row[name] = res
            ratio = res.get("seconds", float("nan")) / exact.get("seconds", float("nan"))
            print(f"   {name}: {res.get('seconds', float('nan')):.2f} s, objective "
                  f"{res.get('objective', float('nan')):,.1f}, status {res.get('status')}, proven "
                  f"{res.get('proven')} {res.get('versions', '')}; {name} / dongne = {ratio:.1f}x",
                  flush=True)  # fmt: skip
        rows.append(row)
    return rows


def pmedian_main(args):
    import tempfile

    print("versions:", versions())
    with tempfile.TemporaryDirectory() as tmp:
        out = {"orlib": pmedian_orlib(args), "random": pmedian_random(args, tmp)}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1, default=str)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="demand 1,000 only")
    ap.add_argument("--spopt-timeout", type=float, default=1200.0)
    ap.add_argument("--skip-spopt", action="store_true")
    ap.add_argument("--radius", type=float, default=10.0)
    ap.add_argument("--json", help="also write the rows to this JSON file")
    ap.add_argument(
        "--only",
        help="run only these MCLP instances, e.g. 10000x1000x50,10000x100x10 (demand x cand x p)",
    )
    ap.add_argument(
        "--generators", action="store_true", help="MCLP/PSCLP/LSCP on every instance generator"
    )
    ap.add_argument("--gen-sizes", default="10000,1000000", help="demand sizes (--generators)")
    ap.add_argument("--gen-timeout", type=float, default=600.0, help="seconds per run")
    ap.add_argument("--gen-models", default="mclp,psclp,lscp", help="models (--generators)")
    ap.add_argument("--pmedian", action="store_true", help="the p-median suite instead")
    ap.add_argument(
        "--pmed-timeout",
        type=float,
        default=1800.0,
        help="seconds per p-median run; the random instances' exact runs get it as time_limit",
    )
    ap.add_argument(
        "--pmed-sizes", help="random p-median demand sizes to run, e.g. 1000 (default: all)"
    )
    ap.add_argument(
        "--peer-python",
        help="peer interpreters, e.g. spopt=/tmp/spopt/bin/python,highs=/tmp/highs/bin/python",
    )
    ap.add_argument("--peer-timeout", type=float, default=600.0)
    ap.add_argument("--peer-max-columns", type=float, default=2e6)
    args = ap.parse_args()
    if args.pmedian:
        return pmedian_main(args)
    if args.generators:
        main_generators(args)
        return
    print("versions:", versions())
    rows = []
    grid = [
        (n, m, p, "mclp", args.radius)
        for n in ((1000,) if args.quick else (1000, 10000))
        for m in (100, 1000)
        for p in (10, 50)
    ] + [(1000, 100, 10, "pmedian", args.radius)]
    if args.only:
        grid = [
            (*(int(v) for v in item.split("x")), "mclp", args.radius)
            for item in args.only.split(",")
        ]
    elif not args.quick:
        # A harder covering instance (wider radius: more overlap, a real branch and bound).
        grid.append((10000, 100, 10, "mclp", 15.0))
    header = (
        f"{'model':8} {'demand':>7} {'cand':>5} {'p':>3} | {'exact s':>8} {'objective':>12} "
        f"{'gap':>7} | {'heur s':>8} {'heur obj':>12} {'vs opt':>7} | {'spopt s':>8} "
        f"{'spopt obj':>12} | {'x exact':>8} {'x heur':>8}"
    )
    print(header)
    print("-" * len(header))
    for n, m, p, model, radius in grid:
        exact = run("dongne", n, m, p, radius, model, 3600)
        heur = run("dongne-heuristic", n, m, p, radius, model, 3600)
        peer = (
            {"seconds": float("nan"), "status": "skipped"}
            if args.skip_spopt
            else run("spopt", n, m, p, radius, model, args.spopt_timeout)
        )
        opt = exact.get("objective", float("nan"))
        h_obj = heur.get("objective", float("nan"))
        vs = abs(opt - h_obj) / abs(opt) if opt == opt and opt else float("nan")
        ratio_e = peer["seconds"] / exact["seconds"] if exact.get("seconds") else float("nan")
        ratio_h = peer["seconds"] / heur["seconds"] if heur.get("seconds") else float("nan")
        more = "≥" if peer["seconds"] == float("inf") else ""
        if more:
            ratio_e = args.spopt_timeout / exact["seconds"]
            ratio_h = args.spopt_timeout / heur["seconds"]
        name = model if radius == args.radius else f"{model} r{radius:g}"
        print(
            f"{name:8} {n:7d} {m:5d} {p:3d} | {fmt_time(exact['seconds'])} {opt:12.1f} "
            f"{exact.get('gap', float('nan')):7.1e} | {fmt_time(heur['seconds'])} {h_obj:12.1f} "
            f"{100 * vs:6.2f}% | {fmt_time(peer['seconds'])} "
            f"{peer.get('objective', float('nan')):12.1f} | "
            f"{more}{ratio_e:7.1f} {more}{ratio_h:7.1f}",
            flush=True,
        )
        same = (
            "same optimum"
            if peer.get("objective") is not None
            and abs(peer["objective"] - opt) <= 1e-6 * max(1.0, abs(opt))
            else f"spopt: {peer.get('status')}"
        )
        print(
            f"{'':8} exact: {exact.get('status')} ({exact.get('method')}, {exact.get('solver')}); "
            f"heuristic: {heur.get('status')}, gap to bound {heur.get('gap', float('nan')):.2e}; "
            f"{same}"
            + (f"; spopt model build {peer['build_s']:.1f} s" if "build_s" in peer else ""),
            flush=True,
        )
        rows.append(
            {
                "model": model,
                "n": n,
                "m": m,
                "p": p,
                "radius": radius,
                "exact": exact,
                "heuristic": heur,
                "spopt": peer,
            }
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
