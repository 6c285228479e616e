"""``dongne datasets``: the bundled data, where they lie, and a copy to work with."""

from __future__ import annotations

import argparse

HELP = "list the bundled Seoul data with paths and licences, or export one"
DESCRIPTION = """\
List the bundled Seoul files (boundaries, census tables, facility points) with their path in
this installation, source and licence; 'dongne datasets export NAME DIR' copies one into DIR
(with the data pack's README on sources, processing and caveats), ready for the other
commands, e.g.

  dongne datasets export seoul-dong-2013 data
  dongne detect data/seoul_dong_2013.geojson --id dong_code --var area_km2 --out area
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions of ``dongne datasets``."""
    sub = parser.add_subparsers(dest="datasets_action", metavar="ACTION")
    sub.add_parser("list", help="list the bundled files (the default)")
    export = sub.add_parser("export", help="copy one bundled file into a folder")
    export.add_argument("name", help="dataset name as listed, e.g. seoul-dong-2013")
    export.add_argument("dir", help="folder to copy it into (created if missing)")


def run(args: argparse.Namespace) -> int:
    """List the bundled data, or export one file."""
    from dongne import datasets

    if args.datasets_action == "export":
        path = datasets.export(args.name, args.dir)
        print(f"wrote {path}\n      {path.parent / 'README_dongne_data.md'} (sources, licences)")
        return 0
    for d in datasets.CATALOGUE:
        print(f"{d.name}\n  {d.what}\n  path:    {d.path}\n  source:  {d.source}\n"
              f"  licence: {d.licence} (data README section {d.readme_section})")  # fmt: skip
    print("\nCopy one out with: dongne datasets export NAME DIR")
    return 0
