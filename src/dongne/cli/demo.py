"""``dongne demo``: the main job on the bundled Seoul data."""

from __future__ import annotations

import argparse

from dongne.cli._common import progress_steps

HELP = "run the main job on the bundled Seoul data"
DESCRIPTION = (
    "Run the Seoul demo: basement-household share per dong (2010 census on 2013 boundaries, "
    "joined through the code crosswalk), heat shelters per dong (2023), a choropleth map, "
    "GeoPackage, CSV, match report and a plain-language summary in Korean and English. Works "
    "offline: all data are bundled."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dongne demo``."""
    parser.add_argument("--out", default="dongne-demo", help="output folder (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the demo and print its summary and the files it wrote."""
    from dongne.demo import run_demo

    bar, step = progress_steps(19, args.quiet)
    with bar:
        result = run_demo(args.out, progress=step)
        bar.update(bar.total - bar.n)
    print(result.summary)
    print()
    print(f"Outputs in {result.out_dir.resolve()}:")
    for label, path in result.files.items():
        print(f"  {label:<15} {path}")
    return 0
