"""Every warning dongne raises names the user's line (dongne._warnings.user_stacklevel): a fixed
``stacklevel=N`` breaks as soon as a function is wrapped or called through another."""

import ast
from pathlib import Path

import dongne

SRC = Path(dongne.__file__).parent


def test_no_fixed_stacklevel_in_the_package():
    fixed = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "stacklevel":
                if isinstance(node.value, ast.Constant):
                    fixed.append(f"{path.relative_to(SRC)}:{node.value.lineno}")
    assert fixed == [], "use stacklevel=user_stacklevel() (dongne._warnings) at " + ", ".join(fixed)
