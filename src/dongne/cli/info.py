"""``dongne info``: what is in a data file."""

from __future__ import annotations

import argparse

HELP = "show what is in a data file: layers, CRS, columns, rows, detected encoding"
DESCRIPTION = (
    "Describe a CSV/Excel/Parquet table or a GeoJSON/Shapefile/GeoPackage/GeoParquet file: "
    "encoding (detected: UTF-8, UTF-8 with BOM, CP949/EUC-KR), title lines above the header, "
    "layers with CRS and feature counts, columns with types, missing counts and examples."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dongne info``."""
    parser.add_argument("file", help="the file to describe")
    parser.add_argument("--layer", help="layer whose columns to list (multi-layer files)")


def run(args: argparse.Namespace) -> int:
    """Print the description of one file."""
    from dongne.io import describe_file

    print(describe_file(args.file, layer=args.layer).summary())
    return 0
