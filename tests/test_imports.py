"""The house has one direction: no import cycle, and nothing below the command line imports it.

The imports of every module under ``src/dongne`` are read with :mod:`ast` (imports inside
functions included, relative imports resolved, ``importlib.import_module("dongne...")`` with a
literal name included; imports under ``if TYPE_CHECKING:`` are left out because they never run).
Three rules are checked, each naming the offending files so that a failure says what to change:

1. no cycle between top-level parts of the package (``dongne.io``, ``dongne.weights``,
   ``dongne.detect``, ... — a subpackage or a single module each);
2. no cycle between the modules of one package (``from dongne.detect import X`` counts as an
   import of ``dongne/detect/__init__.py``, ``from dongne.detect import local`` as one of
   ``dongne/detect/local.py``);
3. no module outside ``dongne/cli/`` imports ``dongne.cli``.

See ``docs/architecture.md`` for the picture and the rule "data flows one way".
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "dongne"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted((SRC / PACKAGE).rglob("*.py"))
        if "migrations" not in path.relative_to(SRC).parts
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every import statement and ``import_module("...")`` call, skipping TYPE_CHECKING blocks."""
    found: list[ast.AST] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "import_module")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` starts with (``None`` for other libraries)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph() -> dict[str, set[str]]:
    """``{module: {imported dongne modules}}`` for every module of the package."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                # ``from pkg import sub`` imports the submodule when there is one.
                names = [
                    f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem
                    for alias in node.names
                ]
            else:
                names = [node.args[0].value]  # import_module("...")
            for name in names:
                target = _resolve(name, modules)
                if target is not None and target != module:
                    targets.add(target)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    edges = [
        f"{source} -> {target}"
        for source in component
        for target in sorted(graph[source] & members)
    ]
    return "; ".join(edges)


def _top_level(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_graph_reads_known_imports():
    """The walker sees a top-level import, one inside a function, and a relative one."""
    graph = import_graph()
    # top of file
    assert "dongne.weights" in graph["dongne.detect.local"]
    # the package's face hands its submodules on
    assert "dongne.detect.local" in graph["dongne.detect"]
    assert "dongne.errors" in graph["dongne.weights"]
    # TYPE_CHECKING imports are left out, a function-level import is kept
    assert "dongne.parallel.scheduler" in graph["dongne.allocate.pareto"]


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_cycle_between_top_level_packages():
    graph = import_graph()
    packages: dict[str, set[str]] = defaultdict(set)
    why: dict[tuple[str, str], str] = {}
    for source, targets in graph.items():
        if source == PACKAGE:
            continue
        for target in targets:
            a, b = _top_level(source), _top_level(target)
            if a != b and target != PACKAGE:
                packages[a].add(b)
                why.setdefault((a, b), f"{source} -> {target}")
    for package in {_top_level(m) for m in graph if m != PACKAGE}:
        packages.setdefault(package, set())
    cycles = _cycles(packages)
    described = [
        "; ".join(
            why[(a, b)] for a in component for b in sorted(packages[a] & set(component))
        )
        for component in cycles
    ]
    assert not cycles, f"import cycles between packages: {described}"


@pytest.mark.parametrize(
    "package",
    sorted(
        {_module_name(p.parent) for p in (SRC / PACKAGE).rglob("__init__.py")}
        - {PACKAGE, f"{PACKAGE}.service.migrations", f"{PACKAGE}.service.migrations.versions"}
    ),
)
def test_no_cycle_between_modules_of_a_package(package):
    graph = import_graph()
    inside = {
        module: {t for t in targets if t == package or t.startswith(package + ".")}
        for module, targets in graph.items()
        if module == package or module.startswith(package + ".")
    }
    cycles = _cycles(inside)
    assert not cycles, f"import cycles inside {package}: " + " | ".join(
        _describe(c, inside) for c in cycles
    )


def test_nothing_below_the_command_line_imports_it():
    graph = import_graph()
    cli = f"{PACKAGE}.cli"
    offenders = sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        if not (source == cli or source.startswith(cli + "."))
        for target in targets
        if target == cli or target.startswith(cli + ".")
    )
    assert not offenders, f"modules outside dongne/cli/ import the command line: {offenders}"
