"""The README's command-line tour runs as written, on the bundled data, line by line.

The first block of "### Command line" is run in order in a fresh folder (the demo writes the
panel that ``evaluate did`` reads, ``datasets export`` the files that ``join`` reads, ...)
and every line must succeed. The second block needs the user's own files or a cluster: each
of its lines must at least parse, so that no option the README shows is missing.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from dongne.cli import build_parser, main

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.slow  # runs the demo and every analysis: about 4 minutes


def tour_blocks() -> list[list[list[str]]]:
    """The bash blocks of the README's "### Command line" section, as argument lists."""
    section = README.read_text(encoding="utf-8").split("### Command line")[1].split("\n### ")[0]
    blocks = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        joined = re.sub(r"\\\n", " ", block)  # continuation lines
        commands = [shlex.split(line, comments=True) for line in joined.splitlines()]
        blocks.append([c for c in commands if c])
    return blocks


def test_the_tour_has_the_commands_it_promises():
    runnable, own_files = tour_blocks()
    names = {c[1] for c in runnable if len(c) > 1}
    assert {"demo", "datasets", "info", "join", "detect", "scan", "allocate", "evaluate",
            "learn", "report"} <= names  # fmt: skip
    assert all(c[0] == "dongne" for c in runnable + own_files)


def test_every_line_of_the_tour_runs_on_the_bundled_data(tmp_path, monkeypatch, capsys):
    runnable, _ = tour_blocks()
    monkeypatch.chdir(tmp_path)
    for command in runnable:
        argv = [*command[1:], *(["--quiet"] if _has_quiet(command) else [])]
        try:
            code = main(argv)
        except SystemExit as exc:  # --help
            code = exc.code
        out = capsys.readouterr()
        assert code == 0, f"{shlex.join(command)} failed:\n{out.err[-2000:]}"
    # what the tour says it shows
    joined = (tmp_path / "data" / "dongs.gpkg").is_file()
    assert joined and (tmp_path / "detect" / "report.html").is_file()
    assert (tmp_path / "plan" / "summary.txt").is_file()
    did = (tmp_path / "did" / "summary.txt").read_text(encoding="utf-8")
    assert "two periods" in did.lower() or "2 periods" in did.lower()


def test_lines_that_need_own_files_parse():
    _, own_files = tour_blocks()
    parser = build_parser()
    for command in own_files:
        parser.parse_args(command[1:])  # SystemExit(2) names an option the command lacks


def _has_quiet(command: list[str]) -> bool:
    """Whether the command has a --quiet option (the progress bars only clutter the log)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    name = next((c for c in command[1:] if c in sub.choices), None)
    if name is None or "--help" in command:
        return False
    options = {s for a in sub.choices[name]._actions for s in a.option_strings}
    return "--quiet" in options
