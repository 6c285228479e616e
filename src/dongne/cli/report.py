"""``dongne report``: a saved run as one HTML or PDF file for a council."""

from __future__ import annotations

import argparse

OUT_IS_FOLDER = False  # --out is one file
HELP = "HTML or PDF report of a saved run, for a council (offline, reproducible)"
DESCRIPTION = """\
Render a saved run folder (the --out of demo, detect, scan, allocate, learn, evaluate) as one
self-contained HTML file or a PDF: findings in plain Korean and English, maps, key tables,
methods with their parameters and references, data sources and match reports, and a
reproducibility block. Nothing is fetched from the network; the same folder always gives the
same bytes.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dongne report``."""
    parser.add_argument(
        "run", help="output folder of demo, detect, scan, allocate, learn or evaluate"
    )
    parser.add_argument("--format", default="html", choices=["html", "pdf"])
    parser.add_argument("--lang", default="both", choices=["en", "ko", "both"])
    parser.add_argument("--out", help="output file (default: RUN/report.FORMAT)")


def run(args: argparse.Namespace) -> int:
    """Build the report and print where it was written."""
    from dongne.report.document import build_report

    path = build_report(args.run, format=args.format, lang=args.lang, out=args.out)
    print(f"wrote {path}")
    return 0
