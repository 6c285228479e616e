"""The code that runs one analysis, in its own process (started by :mod:`dongne.service.jobs`).

A run's process reads its input datasets, joins the table to the areas (saving the match
report), calls the library's workflow (:func:`dongne.detect.workflow.run_detect`,
:func:`~dongne.detect.workflow.run_scan` or :func:`dongne.allocate.run_allocate`) and writes
every result layer as GeoPackage, GeoJSON (EPSG:4326) and CSV, a ``summary.txt`` and a
``provenance.json``. It talks to the server only through its standard input and output
(see :func:`main`).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dongne import __version__
from dongne.errors import DongneError, UnmatchedWarning, rewrite_fix_arguments, unquoted
from dongne.io.atomic import atomic_write_text
from dongne.io.write import jsonable, write_layer, write_table
from dongne.service.storage import read_dataset

__all__ = ["execute", "main"]

Report = Callable[[float, str], None]

# Share of the progress bar before the analysis proper starts and after it ends.
_READ_SHARE, _WRITE_SHARE = 0.1, 0.1


def _load(spec: dict[str, Any], role: str) -> Any:
    d = spec["inputs"].get(role)
    if d is None:
        return None
    return read_dataset(Path(d["path"]), d["kind"], d["options"], d["name"])


def _areas_joined(spec: dict[str, Any], out: Path, prov: dict[str, Any]) -> Any:
    from dongne.io import join_by_code

    areas = _load(spec, "areas")
    table = _load(spec, "table")
    if table is None:
        return areas
    p = spec["parameters"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)  # the report says it all
        areas, report = join_by_code(areas, table, key=p["id_column"], table_key=p.get("table_key"))
    report.save(out / "match_report.json")
    report.save(out / "match_report.txt")
    prov["match_report"] = report.to_dict()
    return areas


def _detect(spec: dict[str, Any], areas: Any, out: Path, report: Report) -> dict[str, Any]:
    from dongne.detect.workflow import run_detect
    from dongne.weights import from_spec

    p = spec["parameters"]
    methods = p["methods"]
    done = []

    def step(message: str) -> None:
        report(_READ_SHARE + (1 - _READ_SHARE - _WRITE_SHARE) * len(done) / len(methods), message)
        done.append(message)

    w = from_spec(areas, p["id_column"], p["weights"])
    result = run_detect(
        areas,
        p["id_column"],
        w,
        p["variable"],
        out,
        methods=methods,
        indicators=p.get("indicators"),
        permutations=p["permutations"],
        alternative=p["alternative"],
        correction=p["correction"],
        alpha=p["alpha"],
        rng=p["seed"],
        missing=p["missing"],
        group_column=p.get("group_column"),
        name_column=p.get("name_column"),
        top_k=p["top_k"],
        write_tables=False,
        progress=step,
    )
    return {"layers": {"areas": result.frame}, "summary": result.summary}


def _scan(spec: dict[str, Any], areas: Any, out: Path, report: Report) -> dict[str, Any]:
    from dongne.detect.workflow import run_scan

    p = spec["parameters"]
    span = 1 - _READ_SHARE - _WRITE_SHARE
    result = run_scan(
        areas,
        p["id_column"],
        p["cases"],
        out,
        population=p.get("population"),
        controls=p.get("controls"),
        expected=p.get("expected"),
        model=p["model"],
        max_population_share=p["max_population_share"],
        max_radius=p.get("max_radius"),
        scan=p["scan"],
        replications=p["replications"],
        rng=p["seed"],
        missing=p["missing"],
        name_column=p.get("name_column"),
        write_tables=False,
        progress=lambda k, n: report(
            _READ_SHARE + span * k / max(n, 1), f"Monte Carlo replication {k} of {n}"
        ),
    )
    return {"layers": {"areas": result.frame}, "summary": result.summary}


def _allocate(spec: dict[str, Any], demand: Any, out: Path, report: Report) -> dict[str, Any]:
    from dongne.allocate import run_allocate

    p = spec["parameters"]
    candidates = _load(spec, "candidates")
    steps = 4 if p.get("pareto") else 3
    done = []

    def step(message: str) -> None:
        report(_READ_SHARE + (1 - _READ_SHARE - _WRITE_SHARE) * len(done) / steps, message)
        done.append(message)

    result = run_allocate(
        demand,
        out,
        model=p["model"],
        candidates=candidates if candidates is not None else p["candidates"],
        existing=_load(spec, "existing"),
        p=p.get("p"),
        radius=p.get("radius"),
        weight=p.get("weight"),
        demand_id=p.get("id_column"),
        candidate_id=p.get("candidate_id"),
        existing_id=p.get("existing_id"),
        equity_by=p.get("equity_by"),
        min_share=p.get("min_share"),
        objective=p["objective"],
        method=p["method"],
        time_limit=p.get("time_limit"),
        grid_spacing=p["grid_spacing"],
        pareto=p.get("pareto") or False,
        speed_kmh=p["speed_kmh"],
        demand_method=p.get("demand_method"),
        demand_spacing=p.get("demand_spacing", "100m"),
        demand_points=_load(spec, "demand_points"),
        demand_points_weight=p.get("demand_points_weight"),
        existing_filter=p.get("existing_filter"),
        outside=p.get("outside", "drop"),
        progress=step,
    )
    layers = {"sites": result.new_sites, "demand": result.demand}
    if result.areas is not None:
        layers = {"areas": result.areas, **layers}
    return {"layers": layers, "summary": result.summary}


_ANALYSES = {"detect": _detect, "scan": _scan, "allocate": _allocate}


# ------------------------------------------------------------------ explain and regions


def _steps(report: Report, total: int) -> Callable[[str], None]:
    """A progress callback for ``total`` library steps between reading and writing."""
    done: list[str] = []

    def step(message: str) -> None:
        report(_READ_SHARE + (1 - _READ_SHARE - _WRITE_SHARE) * len(done) / total, message)
        done.append(message)

    return step


def _json_table(frame: Any, path: Path) -> None:
    """A result table as a JSON list of records (NaN as null), written atomically."""
    import numpy as np

    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    clean = [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
        for r in jsonable(records)
    ]
    atomic_write_text(path, json.dumps(clean, ensure_ascii=False, indent=1) + "\n")


def _explain(spec: dict[str, Any], areas: Any, out: Path, report: Report) -> dict[str, Any]:
    """``dongne explain``: the per-area layer (residuals; local coefficients with their
    corrected significance for GWR/MGWR) and the tables as CSV (written by the workflow) and
    JSON."""
    from dongne.explain.local import GWRResult
    from dongne.explain.ols import OLSResult
    from dongne.explain.spatial import SpatialModelResult
    from dongne.explain.workflow import run_explain

    p = spec["parameters"]
    outputs = run_explain(
        areas,
        p["id_column"],
        p["y"],
        p["x"],
        p["model"],
        out,
        weights=p["weights"],
        missing=p["missing"],
        robust=p["robust"],
        kernel=p["kernel"],
        fixed=p["fixed"],
        criterion=p["criterion"],
        alpha=p["alpha"],
        replications=p["impact_replications"],
        rng=p["seed"],
        label=p.get("label"),
        source=spec["inputs"]["areas"]["name"],
        progress=_steps(report, 3),
    )
    result = outputs.result
    tables = {"model_comparison": outputs.comparison}
    if not isinstance(result, GWRResult):
        tables["coefficients"] = result.to_frame().reset_index()
    if isinstance(result, OLSResult):
        tables["diagnostics"] = result.diagnostics_frame().reset_index()
    if isinstance(result, SpatialModelResult) and result.impacts_ is not None:
        tables["impacts"] = result.impacts_.reset_index()
    for name, frame in tables.items():
        _json_table(frame, out / f"{name}.json")
    return {"layers": {"areas": outputs.frame}, "summary": outputs.summary}


#: Library argument names in the regions workflows' fixes -> the request's fields.
_REGIONS_FIELDS = {
    "source_id": "id_column",
    "old_name": "source_name",
    "new_name": "target_name",
    "rates": "rate",
    "kinds": "column_kind",
}


def _regions(spec: dict[str, Any], areas: Any, out: Path, report: Report) -> dict[str, Any]:
    """``dongne regions``: regions or types of the areas (a categorical layer with the colours
    of the run's map), or the areas' columns moved onto the target areas."""
    method = spec["parameters"]["method"]
    names = dict(_REGIONS_FIELDS)
    if method == "typology":
        names["method"] = "typology_method"
    run = {"interpolate": _interpolate, "typology": _typology}.get(method, _regionalise)
    try:
        return run(spec, areas, out, report)
    except DongneError as exc:
        message = rewrite_fix_arguments(
            str(exc), lambda name, value: f"{names[name]}={value}" if name in names else None
        )
        if message == str(exc):
            raise
        raise type(exc)(message) from None


def _regionalise(spec: dict[str, Any], areas: Any, out: Path, report: Report) -> dict[str, Any]:
    import pandas as pd

    from dongne.regions.workflow import run_regions

    p = spec["parameters"]
    report(_READ_SHARE, f"building {p['method']} regions")
    outputs = run_regions(
        areas, p["id_column"], p["attributes"], out, method=p["method"],
        floor_column=p.get("floor_column"), floor=p.get("floor"), n_regions=p.get("n_regions"),
        iterations=p["iterations"], rounds=p["rounds"], rng=p["seed"],
        attach_islands=p["attach_islands"], label=spec["inputs"]["areas"]["name"],
    )  # fmt: skip
    frame = outputs.frame  # with each region's colour as the map draws it (region_colour)
    table = pd.read_csv(outputs.files["table"], encoding="utf-8-sig")
    _json_table(table, out / "regions_table.json")
    return {"layers": {"areas": frame}, "summary": outputs.summary}


def _typology(spec: dict[str, Any], areas: Any, out: Path, report: Report) -> dict[str, Any]:
    from dongne.regions.workflow import run_typology

    p = spec["parameters"]
    report(_READ_SHARE, "classifying the areas")
    outputs = run_typology(
        areas, p["id_column"], p["indicators"], out, method=p["typology_method"], k=p.get("k"),
        k_range=tuple(p["k_range"]), rng=p["seed"], label=spec["inputs"]["areas"]["name"],
    )  # fmt: skip
    model = outputs.result
    frame = outputs.frame  # with each type's colour as the map draws it (type_colour)
    _json_table(model.profiles_.reset_index(), out / "profiles.json")
    _json_table(model.scores_, out / "model_selection.json")
    return {"layers": {"areas": frame}, "summary": outputs.summary}


def _interpolate(spec: dict[str, Any], areas: Any, out: Path, report: Report) -> dict[str, Any]:
    from dongne.regions.workflow import run_interpolate

    p = spec["parameters"]
    report(_READ_SHARE, "overlaying the source and target areas")
    outputs = run_interpolate(
        areas, _load(spec, "target"), out, source_id=p["id_column"], target_id=p["target_id"],
        columns=p["columns"], extensive=p["extensive"], intensive=p["intensive"],
        categorical=p["categorical"], kinds=p["column_kind"], rates=p["rate"],
        source_name=p.get("source_name"), target_name=p.get("target_name"),
        map_column=p.get("map_column"), source_label=spec["inputs"]["areas"]["name"],
    )  # fmt: skip
    _json_table(outputs.result_changes.relations, out / "changes.json")
    return {"layers": {"areas": outputs.frame}, "summary": outputs.summary}


_ANALYSES.update(explain=_explain, regions=_regions)


def request_fixes(message: str, parameters: dict[str, Any]) -> str:
    """A library error's fixes as fields of the run request: ``outside='keep'`` becomes
    ``"outside": "keep"`` where the request has that field; others stay as they are."""

    def as_field(name: str, value: str) -> str | None:
        if name not in parameters:
            return None
        if unquoted(value) != value:  # a Python string: a JSON string
            value = f'"{unquoted(value)}"'
        return f'"{name}": {value}'

    return rewrite_fix_arguments(message, as_field)


def execute(spec: dict[str, Any], report: Report) -> dict[str, Any]:
    """Run the analysis described by ``spec`` and write its outputs into ``spec["out_dir"]``.

    Returns the run's ``summary`` text, its result ``layers`` (names), its output ``files``
    (names relative to the output folder) and its ``provenance`` record.
    """
    out = Path(spec["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    prov: dict[str, Any] = {
        "dongne_version": __version__,
        "analysis": spec["analysis"],
        "parameters": spec["parameters"],
        "inputs": {
            role: {k: d[k] for k in ("dataset_id", "name", "kind", "sha256", "options")}
            for role, d in spec["inputs"].items()
            if d is not None
        },
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    report(0.0, "reading the input datasets")
    areas = _areas_joined(spec, out, prov)
    outcome = _ANALYSES[spec["analysis"]](spec, areas, out, report)
    report(1 - _WRITE_SHARE, "writing GeoPackage, GeoJSON and CSV results")
    for name, layer in outcome["layers"].items():
        params = {"analysis": spec["analysis"], "result_layer": name, **spec["parameters"]}
        write_layer(layer, out / f"{name}.gpkg", layer=name, **params)
        write_layer(layer, out / f"{name}.geojson", layer=name, **params)
        write_table(layer, out / f"{name}.csv", **params)
    atomic_write_text(out / "summary.txt", outcome["summary"] + "\n")
    prov["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    prov["layers"] = list(outcome["layers"])
    atomic_write_text(
        out / "provenance.json",
        json.dumps(jsonable(prov), ensure_ascii=False, indent=2) + "\n",
    )
    files = sorted(p.name for p in out.iterdir() if p.is_file())
    return {
        "summary": outcome["summary"],
        "layers": list(outcome["layers"]),
        "files": files,
        "provenance": jsonable(prov),
    }


def main() -> int:
    """Entry point of a run's process (``python -m dongne.service.worker``).

    Reads the run's ``spec`` as JSON from standard input and writes one JSON object per line
    to standard output: ``{"progress": f, "message": m}`` (at most every 0.2 s, the last
    one always), then ``{"done": result}`` or ``{"failed": message}``. Anything else the
    libraries print goes to standard error (the server's log).
    """
    import matplotlib

    matplotlib.use("Agg")
    # Import the analyses before the spec arrives: a spare process waits with them loaded.
    import dongne.allocate.workflow
    import dongne.detect.workflow  # noqa: F401

    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    last = [0.0]

    def send(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message, ensure_ascii=False) + "\n")
        protocol.flush()

    def report(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2 or fraction >= 1:
            last[0] = now
            send({"progress": min(max(fraction, 0.0), 1.0), "message": message})

    spec = json.load(sys.stdin)
    try:
        send({"done": execute(spec, report)})
    except DongneError as exc:
        send({"failed": request_fixes(str(exc), spec.get("parameters", {}))})
    except Exception as exc:  # reported to the user; the traceback goes to the server log
        traceback.print_exc()
        send({"failed": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
