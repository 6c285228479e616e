"""The demo's efficiency–equity sweep: the four MCLPs of ``dongne demo``'s shelter case, timed.

Run: ``python benchmarks/bench_demo_sweep.py`` (``--cache PATH``: keep the demo's location
problem in a pickle and reuse it; ``--points none maxmin 1 2``: which sweep points).

The problem is the one ``run_demo`` builds (Seoul, 100 m demand grid: 75,413 demand points,
9,692 candidate sites, p = 20, 300 m, 25 gu): the demo runs up to its allocation step and
the sweep is intercepted there. Then each point of ``pareto_sweep(..., n_points=4)`` is
solved once, in order: the plain MCLP, the max–min MCLP, and the two ε points between them
(``MCLP(min_share=ε)``). Printed per point: wall and CPU seconds of the process
(``time.process_time``), the 1-minute load average after it, total and worst-gu coverage
(``repr``, to compare runs digit by digit), status and gap.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


class _Captured(Exception):
    pass


def demo_problem(cache: Path | None):
    """(problem, p, radius) of the demo's sweep, from ``cache`` when it exists."""
    if cache is not None and cache.exists():
        with cache.open("rb") as fh:
            return pickle.load(fh)
    import dongne.allocate.workflow as workflow
    from dongne.demo import run_demo

    got = {}

    def intercept(problem, p, radius, **_kwargs):
        got["value"] = (problem, p, radius)
        raise _Captured

    real = workflow.pareto_sweep
    workflow.pareto_sweep = intercept
    try:
        with tempfile.TemporaryDirectory() as out:
            run_demo(out)
    except _Captured:
        pass
    finally:
        workflow.pareto_sweep = real
    if cache is not None:
        with cache.open("wb") as fh:
            pickle.dump(got["value"], fh)
    return got["value"]


def main(argv: list[str] | None = None) -> None:
    from dongne.allocate.pareto import _sweep_row

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--points", nargs="+", default=["none", "maxmin", "1", "2"])
    args = ap.parse_args(argv)
    problem, p, radius = demo_problem(args.cache)
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    rows = {}
    for point in ("none", "maxmin"):  # the ends set the ε values
        t, c = time.perf_counter(), time.process_time()
        rows[point] = _sweep_row(problem, p, radius, {}, point)
        rows[point]["times"] = (
            time.perf_counter() - t, time.process_time() - c, os.getloadavg()[0]
        )  # fmt: skip
    lo = rows["none"]["worst_group_coverage"]
    hi = rows["maxmin"]["worst_group_coverage"]
    eps = np.linspace(lo, hi, 4)[1:-1]
    for point in args.points:
        if point in rows:
            row = rows[point]
            wall, cpu, load = row["times"]
        else:
            t, c = time.perf_counter(), time.process_time()
            row = _sweep_row(problem, p, radius, {}, float(eps[int(point) - 1]))
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            load = os.getloadavg()[0]
        name = point if point in rows else f"eps {eps[int(point) - 1]:.4f}"
        print(
            f"{name:>11}: wall {wall:6.1f} s  cpu {cpu:6.1f} s  load {load:.2f}  "
            f"coverage {row['coverage']!r}  worst {row['worst_group_coverage']!r}  "
            f"{row['status']}  gap {row['gap']:.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
