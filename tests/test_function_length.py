"""No function of ``src/dongne`` runs over 120 lines of code without saying why (issue 16).

Lines of code are counted with :mod:`ast` and the source text: from ``def`` to the end of the
body, less the docstring, comment lines and blank lines. A longer function must say in its
docstring why splitting it would hurt, in a sentence that starts "It is long because" (a numba
kernel, a linear validation sequence, a report page laid out in reading order, ...). See
``docs/architecture.md``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "dongne"
LIMIT = 120
REASON = "It is long because"


def code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> int:
    """Lines of ``node`` that hold code: its span less docstring, comments and blank lines."""
    span = set(range(node.lineno, node.end_lineno + 1))
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        span -= set(range(first.lineno, first.end_lineno + 1))
    return sum(1 for i in span if lines[i - 1].strip() and not lines[i - 1].strip().startswith("#"))


def long_functions(root: Path = SRC, limit: int = LIMIT) -> list[tuple[str, str, int, bool]]:
    """(file:line, name, lines of code, whether the docstring says why) over ``limit``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = code_lines(node, lines)
                if n > limit:
                    reason = REASON in " ".join((ast.get_docstring(node) or "").split())
                    where = f"{path.relative_to(root.parent)}:{node.lineno}"
                    found.append((where, node.name, n, reason))
    return found


def test_counting_leaves_out_docstring_comments_and_blank_lines():
    source = '''def f(x):
    """Doc.

    More doc.
    """
    # a comment

    y = x + 1
    return y
'''
    node = ast.parse(source).body[0]
    assert code_lines(node, source.split("\n")) == 3  # def, y = ..., return


def test_long_functions_say_why(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(
        f'def silent():\n    """Short."""\n{body}\n\n'
        f'def explained():\n    """Short.\n\n    {REASON} it is a table.\n    """\n{body}\n'
    )
    found = long_functions(tmp_path / "pkg")
    assert [(name, n, reason) for _, name, n, reason in found] == [
        ("silent", LIMIT + 1, False),
        ("explained", LIMIT + 1, True),
    ]


def test_no_function_is_long_without_a_reason():
    silent = [
        f"{where} {name} ({n} lines)" for where, name, n, reason in long_functions() if not reason
    ]
    assert not silent, (
        f"over {LIMIT} lines of code without '{REASON} ...' in the docstring — split along the "
        "seams or say why: " + "; ".join(silent)
    )
