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


def _steps(report: Report, total: int) -> Callable[[str], None]:
    """A progress callback for ``total`` library steps between reading and writing."""
    done: list[str] = []

    def step(message: str) -> None:
        report(_READ_SHARE + (1 - _READ_SHARE - _WRITE_SHARE) * len(done) / total, message)
        done.append(message)

    return step


def _detect(spec: dict[str, Any], areas: Any, out: Path, report: Report) -> dict[str, Any]:
    from dongne.detect.workflow import run_detect
    from dongne.weights import from_spec

    p = spec["parameters"]
    methods = p["methods"]
    step = _steps(report, len(methods))
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
    step = _steps(report, 4 if p.get("pareto") else 3)
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


# ------------------------------------------------------------------------------ spacetime
#: Most area x step cells of the dashboard's series.json (larger cubes: series.csv only).
SERIES_CELLS = 1_000_000


def _json_matrix(values: Any) -> list:
    """Rows of ``values`` rounded to 4 decimals, with null where there is no number."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values), np.round(values, 4), None).tolist()


def _spacetime_cube(spec: dict[str, Any], kind: str) -> Any:
    """The cube of ``events`` or ``long_table``, as ``dongne spacetime`` builds it."""
    from dongne.spacetime import cube_from_events, cube_from_long

    p = spec["parameters"]
    area = p.get("area") or p["id_column"]
    now = p.get("now")
    now = False if isinstance(now, str) and now.lower() == "none" else now
    if p.get("events") is not None:
        d = spec["inputs"]["events"]
        return cube_from_events(_load(spec, "events"), area, p["time"], freq=p["freq"],
                                weight=p.get("count"), now=now, source=d["name"])  # fmt: skip
    d = spec["inputs"]["long_table"]
    return cube_from_long(
        _load(spec, "long_table"), area, p["time"], p["value"], freq=p.get("freq"), kind=kind,
        duplicates=p["duplicates"], fill=p.get("fill"), now=now, source=d["name"],
    )  # fmt: skip


def _spacetime_areas(spec: dict[str, Any], areas: Any, cube: Any) -> Any:
    """The areas indexed by their code, of the cube's type; every area in the cube.

    As ``dongne spacetime``: areas without any event count zero, and ``last`` keeps the last
    steps only."""
    import numpy as np

    from dongne.errors import DataError
    from dongne.spacetime import SpaceTimeCube

    key = spec["parameters"]["id_column"]
    if key not in areas.columns:
        raise DataError(
            f"{spec['inputs']['areas']['name']} has no column {key!r}. Fix: pass id_column "
            f"with one of {', '.join(c for c in areas.columns if c != 'geometry')[:200]}."
        )
    areas = areas.copy()
    areas[key] = areas[key].astype(type(cube.areas[0]))
    areas = areas.set_index(key, drop=False)
    unknown = cube.areas.difference(areas.index)
    if len(unknown):
        shown = ", ".join(map(str, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
        raise DataError(
            f"{len(unknown)} area code(s) of the counts are not in the areas' {key!r}: "
            f"{shown}. Fix: pass area with the code column of the counts that matches "
            "id_column, or upload areas that cover them."
        )
    missing = areas.index.difference(cube.areas)
    if cube.kind == "counts" and len(missing):
        ids = cube.areas.append(missing)
        values = np.vstack([cube.values, np.zeros((len(missing), cube.shape[1]))])
        order = np.argsort(ids.to_numpy(), kind="stable")
        cube = SpaceTimeCube(values[order], ids[order], cube.steps, cube.freq, cube.kind, cube.name)
    last = spec["parameters"].get("last")
    if last and last < cube.shape[1]:
        cube = SpaceTimeCube(cube.values[:, -last:], cube.areas, cube.steps[-last:], cube.freq,
                             cube.kind, cube.name)  # fmt: skip
    return areas, cube


def _spacetime_scan(
    p: dict[str, Any], cube: Any, areas: Any, frame: Any, steps: list, report: Report, share: float
) -> tuple[Any, list[dict[str, Any]]]:
    """Fit the scan; mark each area's cluster in ``frame``; the clusters for series.json."""
    import numpy as np
    import pandas as pd

    from dongne.errors import DataError
    from dongne.spacetime.scan import SpaceTimeScan

    if p["model"] == "poisson" and p["population"] not in areas.columns:
        raise DataError(
            f"The areas have no column {p['population']!r}. Fix: pass population with one "
            f"of {', '.join(c for c in areas.columns if c != 'geometry')[:200]}."
        )
    population = areas[p["population"]] if p["model"] == "poisson" else None
    scan = SpaceTimeScan(
        p["model"], analysis=p["scan_analysis"], max_population_share=p["max_pop"],
        max_duration=p["max_steps"], replications=p["replications"], rng=p["seed"],
    ).fit(
        cube, areas, **({"population": population} if population is not None else {}),
        progress=lambda k, n: report(_READ_SHARE + share * k / max(n, 1),
                                     f"Monte Carlo replication {k} of {n}"),
    )  # fmt: skip
    frame["cluster"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    for col in ("cluster_start", "cluster_end"):
        frame[col] = pd.Series([None] * len(frame), dtype=object)
    frame["cluster_p"] = np.nan
    frame["cluster_significant"] = False
    index = pd.Index(frame[p["id_column"]])
    position = {label: i for i, label in enumerate(steps)}
    clusters = []
    for row in scan.clusters_.itertuples():
        rows = index.get_indexer(row.members)
        frame.loc[rows, "cluster"] = row.cluster
        frame.loc[rows, "cluster_start"] = row.start
        frame.loc[rows, "cluster_end"] = row.end
        frame.loc[rows, "cluster_p"] = row.p_value
        frame.loc[rows, "cluster_significant"] = bool(row.significant)
        clusters.append(
            {"cluster": int(row.cluster), "members": [str(m) for m in row.members],
             "start": position[row.start], "end": position[row.end],
             "p_value": float(row.p_value), "significant": bool(row.significant)}
        )  # fmt: skip
    return scan, clusters


def _spacetime_markov(
    spec: dict[str, Any], areas: Any, cube: Any, frame: Any, out: Path
) -> tuple[dict[str, Any], str, Any]:
    """Neighbourhood change as ``dongne spacetime markov``: its tables as CSV and JSON, and
    each area's class in the first and last step (moved up, stayed, moved down) in ``frame``.
    Returns the provenance, the summary and the quantile classes (1 = lowest) as a frame of
    areas x steps."""
    import pandas as pd

    from dongne.spacetime.workflow import fit_markov, markov_moves, markov_tables
    from dongne.weights import queen

    p = spec["parameters"]
    key = p["id_column"]
    shown = areas.loc[areas.index.isin(cube.areas)]
    w = queen(shown.reset_index(drop=True), ids=key)
    sm, lm, rm = fit_markov(
        cube, w, k=p["classes"], m=p["classes"], permutations=p["markov_permutations"],
        rng=p["seed"],
    )  # fmt: skip
    for name, table in markov_tables(sm, lm, rm).items():
        stem = "lisa_markov" if name == "lisa" else f"markov_{name}"
        write_table(table, out / f"{stem}.csv", **sm.provenance_)
        _json_table(table, out / f"{stem}.json")
    moves = markov_moves(sm, lm).reindex(frame[key].to_numpy())
    for col in moves.columns:
        frame[col] = moves[col].to_numpy()
    frame["markov_move"] = frame["markov_move"].astype(object)
    provenance = {
        "spatial_markov": sm.provenance_, "lisa_markov": lm.provenance_,
        "rank_mobility": rm.provenance_,
    }  # fmt: skip
    classes = pd.DataFrame(sm.classes + 1.0, index=sm.ids)
    return provenance, "\n\n".join([sm.summary(), lm.summary(), rm.summary()]), classes


def _spacetime(spec: dict[str, Any], areas: Any, out: Path, report: Report) -> dict[str, Any]:
    """Space-time scan, emerging hot spots and/or neighbourhood change (markov); the clusters,
    the categories and the class moves as layers, the markov tables as CSV and JSON, the area
    x step series as ``series.csv`` and (bounded) ``series.json`` for the slider."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from dongne.errors import DataError
    from dongne.spacetime.emerging import emerging_hot_spots
    from dongne.weights import queen

    p = spec["parameters"]
    key, methods = p["id_column"], p["methods"]
    span = 1 - _READ_SHARE - _WRITE_SHARE
    # the scan needs counts; emerging alone reads a long table as values (rates, shares)
    counts = "scan" in methods or p.get("events") is not None
    cube = _spacetime_cube(spec, "counts" if counts else "values")
    areas, cube = _spacetime_areas(spec, areas, cube)
    areas = areas.loc[areas.index.isin(cube.areas)]
    names = areas[p["name_column"]] if p.get("name_column") in areas.columns else None
    steps = cube.step_labels()
    frame = areas.reset_index(drop=True)
    if counts:
        frame["total"] = cube.values.sum(axis=1)
    series = pd.DataFrame(
        {"area": np.repeat(cube.areas.to_numpy(), len(steps)),
         "step": np.tile(np.asarray(steps, dtype=object), len(cube.areas)),
         "value": cube.values.ravel()}
    )  # fmt: skip
    layers: dict[str, Any] = {}
    summaries, provenance = [], {}
    measures: dict[str, Any] = {"value": cube.values}
    clusters: list[dict[str, Any]] = []
    if "scan" in methods:
        share = span * (0.8 if "emerging" in methods else 1.0)
        scan, clusters = _spacetime_scan(p, cube, areas, frame, steps, report, share)
        provenance["scan"] = scan.provenance_
        summaries.append(scan.summary(names))
        if len(scan.clusters_):
            table = scan.to_frame()
            shapes = [areas.loc[m].geometry.union_all() for m in table["members"]]
            table["members"] = [";".join(map(str, m)) for m in table["members"]]
            layers["clusters"] = gpd.GeoDataFrame(table, geometry=shapes, crs=areas.crs)
    ecube = cube
    if {"emerging", "markov"} & set(methods):
        if not areas.geom_type.isin(["Polygon", "MultiPolygon"]).all():
            raise DataError(
                f"{spec['inputs']['areas']['name']} holds points: emerging hot spots and "
                "markov need area polygons (their neighbours share a boundary). Fix: pass "
                'methods ["scan"], or areas with polygons.'
            )
        if counts and p.get("events") is None:  # the long table's values, as the command
            ecube = _spacetime_areas(spec, areas, _spacetime_cube(spec, "values"))[1]
    if "emerging" in methods:
        report(_READ_SHARE + span * (0.8 if "scan" in methods else 0.0), "emerging hot spots")
        # values name only the areas that have rows (counts were filled with zeros)
        shown = areas.loc[areas.index.isin(ecube.areas)]
        w = queen(shown.reset_index(drop=True), ids=key)
        ehsa = emerging_hot_spots(
            ecube, w, k=p["k"], permutations=p["permutations"], correction=p["correction"],
            alpha=p["alpha"], rng=p["seed"],
        )  # fmt: skip
        provenance["emerging"] = ehsa.provenance_
        summaries.append(ehsa.summary(names))
        cats = ehsa.to_frame().reindex(frame[key].to_numpy())
        cats = cats.rename(columns={"category": "emerging_category",
                                    "category_ko": "emerging_category_ko"})  # fmt: skip
        for col in cats.columns:
            frame[col] = cats[col].to_numpy()

        def by_area(values: Any) -> Any:
            return pd.DataFrame(values, index=ehsa.areas).reindex(cube.areas).to_numpy()

        gi = by_area(ehsa.gi_star)
        # +1 hot, -1 cold, 0 neither; NaN for an area without values (null in series.json)
        state = by_area(np.where(ehsa.significant, np.sign(ehsa.gi_star), 0).astype(float))
        series["gi_star"] = gi.ravel()
        series["p_value"] = by_area(ehsa.p_values).ravel()
        flat = state.ravel()
        series["state"] = np.select([flat == 1, flat == -1, flat == 0], ["hot", "cold", "-"], "")
        measures["gi_star"], measures["state"] = gi, state
    if "markov" in methods:
        report(1 - _WRITE_SHARE - 0.05, "neighbourhood change (Markov)")
        markov_provenance, markov_summary, classes = _spacetime_markov(
            spec, areas, ecube, frame, out
        )
        provenance["markov"] = markov_provenance
        summaries.append(markov_summary)
        # the class of every step, for the slider (NaN for an area without values)
        measures["markov_class"] = classes.reindex(cube.areas).to_numpy()
        series["markov_class"] = measures["markov_class"].ravel()
    layers = {"areas": frame, **layers}
    series.attrs = frame.attrs
    write_table(series, out / "series.csv", analysis="spacetime", result_layer="series")
    if cube.values.size <= SERIES_CELLS:
        payload = {
            "id_column": key, "steps": steps, "freq": cube.freq,
            "areas": [str(a) for a in cube.areas], "value_name": cube.name,
            "measures": {k: _json_matrix(v) for k, v in measures.items()},
            "clusters": clusters,
        }  # fmt: skip
        atomic_write_text(out / "series.json", json.dumps(jsonable(payload)) + "\n")
    else:
        summaries.append(
            f"The area x step series ({cube.values.size:,} cells) is in series.csv only: "
            f"larger than the dashboard's time slider takes ({SERIES_CELLS:,}); analyse "
            "fewer steps with last.\n시점별 값({cube.values.size:,}칸)은 series.csv에만 "
            f"있습니다(대시보드 시간 슬라이더 한도 {SERIES_CELLS:,}칸 초과)."
        )
    return {"layers": layers, "summary": "\n\n".join(summaries), "provenance": provenance}


# ------------------------------------------------------------------------------ points
def _kde_cell(pattern: Any, bandwidth: Any, cells: int) -> float:
    """The library's default KDE cell, grown so that the study area holds at most ``cells``."""
    import math

    from dongne.points.kde import select_bandwidth

    h = select_bandwidth(pattern.xy, bandwidth)
    return max(pattern.cell_size, h / 3, math.sqrt(pattern.area / cells))


def _points(spec: dict[str, Any], areas: Any, out: Path, report: Report) -> dict[str, Any]:
    """Significant DBSCAN+ clusters, the kernel density grid and Ripley's summaries.

    Points left out (outside the study area, no coordinates, not passing ``filter``) are
    counted at the top of the summary rather than only warned about on the server's log.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)  # the summary says it
        outcome, pattern = _points_fit(spec, areas, out, report)
    chosen = pattern.points.attrs.get("dongne", {}).get("selection", {})
    selection = [t for t in (chosen.get("text"), chosen.get("text_ko")) if t]
    outcome["summary"] = "\n\n".join([*selection, outcome["summary"]])
    return outcome


def _points_fit(spec: dict[str, Any], areas: Any, out: Path, report: Report) -> tuple:
    import numpy as np

    from dongne.io import select_points
    from dongne.points import point_pattern
    from dongne.points.dbscan import SignificantDBSCAN
    from dongne.points.kde import kernel_density, relative_risk
    from dongne.points.workflow import run_ripley

    p = spec["parameters"]
    methods, seed = p["methods"], p["seed"]
    points = _load(spec, "points")
    if p.get("filter"):
        points = select_points(points, query=p["filter"], argument_names={"query": "filter"})
    span = 1 - _READ_SHARE - _WRITE_SHARE
    share = span / len(methods)
    layers: dict[str, Any] = {}
    summaries, provenance = [], {}

    def tick(i: int, what: str) -> Any:
        return lambda k, n: report(_READ_SHARE + share * (i + k / max(n, 1)),
                                   f"{what}: Monte Carlo replication {k} of {n}")  # fmt: skip

    common = {"cell_size": p.get("cell_size"), "outside": p["outside"]}
    pattern = point_pattern(points, areas, **common)
    if "kde" in methods:
        cell = _kde_cell(pattern, p["bandwidth"], p["kde_cells"])
        if p.get("controls") is None:
            surface = kernel_density(pattern, bandwidth=p["bandwidth"], weights=p.get("weights"),
                                     cell_size=cell)  # fmt: skip
        else:
            controls = point_pattern(_load(spec, "controls"), areas, **common)
            surface = relative_risk(
                pattern, controls, bandwidth=p["bandwidth"], alpha=p["alpha"],
                replications=p["kde_replications"], rng=seed, cell_size=cell,
            )  # fmt: skip
        grid = surface.to_geodataframe()
        grid.insert(0, "cell", grid["row"] * surface.density.shape[1] + grid["column"])
        grid.attrs = pattern.points.attrs
        layers["density"] = grid
        provenance["kde"] = {**surface.provenance_, "cell_size_m": surface.cell_size}
        summaries.append(surface.summary("both"))
    if "dbscan" in methods:
        i = methods.index("dbscan")
        background = _load(spec, "background")
        null = pattern
        if background is not None:
            null = point_pattern(points, areas, background=background,
                                 population=p.get("population"), **common)  # fmt: skip
        fit = SignificantDBSCAN(
            p.get("eps"), p["min_pts"], alpha=p["alpha"], prefer=p["prefer"],
            replications=p["replications"], rng=seed,
        ).fit(null, progress=tick(i, "Significant DBSCAN+"))  # fmt: skip
        clusters = fit.clusters_.copy()
        clusters["significant"] = clusters["p_value"] <= p["alpha"]
        layers["clusters"] = clusters
        labelled = null.points[["geometry"]].copy()
        labelled.insert(0, "feature", np.asarray(null.points.index) + 1)  # 1-based, as read
        labelled.insert(1, "cluster", fit.labels_)
        layers["points"] = labelled
        provenance["dbscan"] = fit.provenance_
        summaries.append(fit.summary("both"))
        if areas is not None and p.get("id_column") and len(clusters):
            touched = fit.in_areas(areas, p["id_column"], p.get("name_column"))
            write_table(touched, out / "cluster_areas.csv", **fit.provenance_)
    if "ripley" in methods:
        i = methods.index("ripley")
        other = _load(spec, "other")
        result = run_ripley(
            points, out, areas=areas, functions=p["functions"], other=other,
            edge_correction=p["edge_correction"], replications=p["ripley_replications"],
            rng=seed, quadrats=p["quadrats"], progress=tick(i, "Ripley envelopes"), **common,
        )  # fmt: skip
        import geopandas as gpd

        layers["ellipse"] = gpd.read_file(result.files["ellipse"])
        provenance["ripley"] = {"functions": p["functions"], "replications":
                                p["ripley_replications"], "rng": seed}  # fmt: skip
        summaries.append(result.summary)
    outcome = {"layers": layers, "summary": "\n\n".join(summaries), "provenance": provenance}
    return outcome, pattern


# ------------------------------------------------------------------ explain and regions


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
        gm_variant=p["gm_variant"],
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
#: Library arguments of ``dongne.regions`` whose request field has another name.
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
    run = {"interpolate": _interpolate, "typology": _typology}.get(method, _regionalise)
    return run(spec, areas, out, report)


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


_ANALYSES = {
    "detect": _detect,
    "scan": _scan,
    "allocate": _allocate,
    "spacetime": _spacetime,
    "points": _points,
    "explain": _explain,
    "regions": _regions,
}


def _field_names(parameters: dict[str, Any]) -> dict[str, str]:
    """Library argument → request field, where a run's request names it differently."""
    if parameters.get("analysis") != "regions":
        return {}
    if parameters.get("method") == "typology":
        return {**_REGIONS_FIELDS, "method": "typology_method"}
    return _REGIONS_FIELDS


def request_fixes(message: str, parameters: dict[str, Any]) -> str:
    """A library error's fixes as fields of the run request: ``outside='keep'`` becomes
    ``"outside": "keep"`` where the request has that field (``source_id='code'`` becomes
    ``"id_column": "code"`` where the request names it differently); others stay as they are."""
    renamed = _field_names(parameters)

    def as_field(name: str, value: str) -> str | None:
        name = renamed.get(name, name)
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
    prov.update({"methods": outcome["provenance"]} if "provenance" in outcome else {})
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
    import dongne.detect.workflow
    import dongne.explain.workflow
    import dongne.points.workflow
    import dongne.regions.workflow
    import dongne.spacetime.workflow  # noqa: F401

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
