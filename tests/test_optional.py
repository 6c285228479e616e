"""The slim core install: optional packages are imported lazily, through one helper.

Three checks: (1) :func:`dongne._optional.import_optional` names the extra that installs a
missing package, at every place dongne needs one; (2) with every optional package blocked (a
``sys.meta_path`` finder in a fresh interpreter, as on ``pip install dongne``), the core
packages import, a detect run writes its PNG maps and an HTML report, and each optional
feature fails with one :class:`~dongne.errors.MissingDependencyError` naming its extra
(``dongne serve``: one line on stderr, exit status 2);
(3) ``pyproject.toml``'s core dependencies hold none of the extras' packages, the helper's
table of extras is the file's, and no core module imports an optional package at module level.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import dongne
from dongne._optional import EXTRAS, import_optional
from dongne.errors import DongneError, MissingDependencyError, SpecificationError

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(dongne.__file__).resolve().parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: Importable modules of every extra (dask's scheduler is the ``distributed`` module).
OPTIONAL = sorted({m for modules in EXTRAS.values() for m in modules} | {"lightgbm"})


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


# ----------------------------------------------------------------------------- (1) helper
def test_helper_error_names_feature_package_and_extra():
    with pytest.raises(MissingDependencyError) as info:
        import_optional("mlflow_not_installed.tracking", "registry", "The model registry")
    message = str(info.value)
    assert message.startswith("The model registry needs the optional package mlflow_not_installed")
    assert message.endswith("Fix: pip install 'dongne[registry]'.")
    assert "\n" not in message
    assert isinstance(info.value, ImportError) and isinstance(info.value, DongneError)


def test_helper_names_the_pip_package_and_an_alternative():
    with pytest.raises(MissingDependencyError) as info:
        import_optional("lightgbm_not_installed", None, "model='lightgbm'", alternative="or x")
    assert str(info.value).endswith("Fix: pip install lightgbm_not_installed, or x.")


def test_helper_ignore_returns_none_and_imports_what_is_there():
    assert import_optional("no_such_module_here", "pdf", "PDF", errors="ignore") is None
    assert import_optional("json", None, "JSON") is json


def test_helper_refuses_an_unknown_extra():
    with pytest.raises(SpecificationError, match="Unknown extra 'pfd'"):
        import_optional("json", "pfd", "JSON")


def _registry(tmp: Path) -> object:
    from dongne.share import ModelRegistry

    return ModelRegistry(tmp).list()


def _dask_scheduler(tmp: Path) -> object:
    from dongne.parallel import map_tasks

    return map_tasks(print, (), [(1,)], scheduler="tcp://127.0.0.1:1")


def _postgresql(tmp: Path) -> object:
    from dongne.service import Settings

    return Settings.from_env(data_dir=tmp, database_url="postgresql://u@127.0.0.1/db").url


@pytest.mark.parametrize(
    ("blocked", "call", "extra"),
    [
        (["mlflow", "mlflow.tracking"], _registry, "registry"),
        (["distributed"], _dask_scheduler, "dask"),
        (["psycopg"], _postgresql, "service"),
    ],
    ids=["registry", "dask-scheduler", "postgresql"],
)
def test_each_optional_feature_names_its_extra(monkeypatch, tmp_path, blocked, call, extra):
    pytest.importorskip("fastapi")  # the PostgreSQL case imports the rest of the service
    for module in blocked:
        monkeypatch.setitem(sys.modules, module, None)  # "import module" now fails
    with pytest.raises(MissingDependencyError, match=re.escape(f"'dongne[{extra}]'")):
        call(tmp_path)


# ------------------------------------------------------------------- (2) without the extras
_CORE_SCRIPT = r"""
import importlib.abc, json, sys, warnings

BLOCKED = set(json.loads(sys.argv[1]))


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Blocker())
from pathlib import Path

import dongne.allocate, dongne.detect, dongne.evaluate, dongne.io, dongne.learn  # noqa
import dongne.parallel, dongne.report, dongne.share, dongne.weights  # noqa
from dongne import datasets, weights
from dongne.detect.workflow import run_detect
from dongne.errors import MissingDependencyError
from dongne.report.document import build_report

out = Path(sys.argv[2])
dongs = datasets.seoul_dongs()
dongs = dongs[dongs["gu_name"].isin(["관악구", "동작구"])].reset_index(drop=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    result = run_detect(
        dongs, "dong_code", weights.queen(dongs, ids="dong_code"), "basement_household_pct",
        out, methods=("moran", "lisa"), permutations=99, rng=1, alpha=0.05,
    )
html = build_report(out, format="html")
errors = {}
for name, call in {
    "pdf": lambda: build_report(out, format="pdf"),
    "service": lambda: __import__("dongne.service"),
    "registry": lambda: dongne.share.ModelRegistry(out / "registry").list(),
    "dask": lambda: dongne.parallel.map_tasks(print, (), [(1,)], scheduler="tcp://127.0.0.1:1"),
}.items():
    try:
        call()
    except MissingDependencyError as err:
        errors[name] = str(err)
import contextlib, io
from dongne.cli import main

stderr = io.StringIO()
with contextlib.redirect_stderr(stderr):
    serve_status = main(["serve", "--data-dir", str(out / "service")])
print(json.dumps({
    "serve": [serve_status, stderr.getvalue()],
    "pngs": sorted(p.name for p in out.glob("*.png")),
    "png_bytes": min(p.stat().st_size for p in out.glob("*.png")),
    "html": html.name,
    "errors": errors,
    "loaded": sorted({m.partition(".")[0] for m in sys.modules} & BLOCKED),
}))
"""


def test_core_works_without_any_optional_package(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", _CORE_SCRIPT, json.dumps(OPTIONAL), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"lisa_map.png"} <= set(found["pngs"]) and found["png_bytes"] > 10_000
    assert found["html"] == "report.html"
    assert found["loaded"] == []
    assert sorted(found["errors"]) == ["dask", "pdf", "registry", "service"]
    for extra, message in found["errors"].items():
        assert message.endswith(
            f"Fix: pip install 'dongne[{extra}]'"
            + (
                ", or write HTML (format='html') and print it to PDF from a browser."
                if extra == "pdf"
                else ", or use scheduler=None or 'processes'."
                if extra == "dask"
                else "."
            )
        ), message
        assert "\n" not in message
    # dongne serve: exit status 2 and one line naming the extra, no traceback
    status, stderr = found["serve"]
    assert status == 2
    assert stderr.startswith(
        "dongne serve: error: The web service (dongne serve) needs the optional package fastapi"
    )
    assert stderr.endswith("Fix: pip install 'dongne[service]'.\n") and stderr.count("\n") == 1
    assert not (out / "service").exists()


# ------------------------------------------------------------------- (3) the package's metadata
def test_core_dependencies_hold_no_extra_package():
    project = PYPROJECT["project"]
    core = {_name(r) for r in project["dependencies"]}
    extras = project["optional-dependencies"]
    optional = {_name(r) for key in EXTRAS for r in extras[key]}
    assert optional, "no extras found"
    assert core & optional == set()
    assert {"fastapi", "sqlalchemy", "mlflow-skinny", "weasyprint", "dask"} <= optional


def test_helper_table_is_the_pyproject_extras():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert set(extras) == set(EXTRAS) | {"all", "test"}
    for key, modules in EXTRAS.items():
        assert {_name(r) for r in modules.values()} == {_name(r) for r in extras[key]}, key
    assert extras["all"] == [f"dongne[{','.join(EXTRAS)}]"]
    assert "dongne[all]" in extras["test"]


def _module_level_imports(tree: ast.Module) -> set[str]:
    """Top-level packages imported when the module is (not inside functions or classes)."""
    found: set[str] = set()
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            found |= {a.name.partition(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            stack += [n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt)]
    return found


def test_no_core_module_imports_an_optional_package_at_module_level():
    # The service package is the [service] feature itself; share/routes.py is its model routes.
    feature = {SRC / "share" / "routes.py"}
    offenders = {}
    for path in sorted(SRC.rglob("*.py")):
        if SRC / "service" in path.parents or path in feature:
            continue
        found = _module_level_imports(ast.parse(path.read_text(encoding="utf-8")))
        if found & set(OPTIONAL):
            offenders[str(path.relative_to(SRC))] = sorted(found & set(OPTIONAL))
    assert offenders == {}
    # The walk does see module-level imports: the service's own modules are caught.
    app = ast.parse((SRC / "service" / "app.py").read_text(encoding="utf-8"))
    assert {"fastapi", "sqlalchemy"} <= _module_level_imports(app)
