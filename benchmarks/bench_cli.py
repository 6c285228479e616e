"""Time how fast the ``dongne`` command answers ``--version`` and ``--help``.

Run with ``python benchmarks/bench_cli.py`` (about 20 s). Each figure is the median of
``--repeat`` fresh processes (default 7), so interpreter start-up is included, as a user
feels it. Targets (issue 15): ``--version`` under 0.3 s, ``--help`` under 1 s on the 2-core
development machine. The peer measured in the same run is what every command paid before the
command line imported the statistics lazily: a process that imports all of dongne's analysis
packages (``import dongne.detect, dongne.allocate, ...``); the ratio says how much of that
``--help`` avoids.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGETS = {"--version": 0.3, "--help": 1.0}
EVERYTHING = (
    "import dongne.io, dongne.weights, dongne.detect, dongne.allocate, dongne.evaluate, "
    "dongne.learn, dongne.report, dongne.datasets"
)


def median_seconds(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    cli = [sys.executable, "-m", "dongne.cli"]
    peer = median_seconds([sys.executable, "-c", EVERYTHING], repeat)
    print(f"peer: importing every analysis package  {peer:6.3f} s (median of {repeat})")
    failed = False
    for flag, target in TARGETS.items():
        took = median_seconds([*cli, flag], repeat)
        verdict = "ok" if took < target else "SLOWER THAN TARGET"
        failed |= took >= target
        print(f"dongne {flag:<9} {took:6.3f} s  target < {target} s  {verdict}  "
              f"({peer / took:4.1f}x faster than the peer)")  # fmt: skip
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
