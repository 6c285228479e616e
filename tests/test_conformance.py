"""Every public estimator and result speaks one vocabulary (docs/api.md).

In the spirit of scikit-learn's ``check_estimator``: the public classes and functions are
enumerated from each package's ``__all__`` (and the result types their functions and ``fit``
methods are annotated to return), every one is classified, and each class of objects is held
to the same contract on tiny synthetic inputs:

* parameters: ``rng`` (int | Generator | None; None means seed 0), ``permutations`` /
  ``replications`` / ``bootstrap`` for the number of draws, ``scheduler`` wherever there are
  draws; the old spellings only as deprecated aliases that warn with a FutureWarning;
* the same int ``rng`` gives identical results, a Generator is accepted, None equals 0;
* ``summary(lang=...)`` for "both", "ko" and "en" (Korean text holds Hangul, "both" holds
  the other two), ``to_frame()`` is a DataFrame, ``plot()`` draws with matplotlib, and
  ``provenance_`` is a non-empty mapping.
"""

from __future__ import annotations

import importlib
import inspect
import re
import typing
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.linear_model import LinearRegression

from dongne import weights
from dongne._vocab import resolve_rng
from dongne.allocate import (
    LSCP,
    MCLP,
    BudgetAllocation,
    LocationProblem,
    PCenter,
    PMedian,
)
from dongne.detect import (
    GetisOrd,
    GlobalMoran,
    LocalMoran,
    RankStability,
    ScanStatistic,
    VulnerabilityIndex,
)
from dongne.errors import DongneWarning, SpecificationError
from dongne.evaluate import (
    att_gt,
    bacon_decomposition,
    did_2x2,
    interrupted_time_series,
    panel_from_frame,
    synthetic_control,
    twfe,
)
from dongne.explain import check_design, gwr, mgwr, ml_lag, ols
from dongne.io import join_by_code, points_to_areas
from dongne.learn import (
    AllocationRegret,
    FairnessReweighted,
    ImportanceWeighted,
    ShiftDiagnostics,
    SpatialBlockCV,
    cv_compare,
    group_report,
    spatial_fairness_audit,
    synthetic_shift_task,
)
from dongne.points import (
    SignificantDBSCAN,
    envelope,
    kernel_density,
    nearest_neighbour_index,
    point_pattern,
    quadrat_test,
)
from dongne.regions import (
    AZP,
    MaxP,
    Skater,
    SpectralRegions,
    Typology,
    WardRegions,
    change_table,
    interpolate,
)
from dongne.share import Prediction, federate
from dongne.spacetime import (
    SpaceTimeCube,
    SpaceTimeScan,
    emerging_hot_spots,
    lisa_markov,
    rank_mobility,
    spatial_markov,
)

PACKAGES = (
    "detect", "allocate", "access", "evaluate", "explain", "learn", "share", "io", "weights",
    "spacetime", "regions", "points",
)
HANGUL = re.compile(r"[\uac00-\ud7a3]")
OLD_NAMES = {"seed", "n_permutations", "mmd_permutations", "n_draws", "language"}
DRAW_COUNTS = {"permutations", "replications", "bootstrap"}
LANGS = ("both", "ko", "en")

# --------------------------------------------------------------------------- classification
#: Estimators: configured in __init__, fitted by fit(), results on the object.
ESTIMATORS = {
    "GetisOrd", "GlobalMoran", "LocalMoran", "RankStability", "ScanStatistic",
    "VulnerabilityIndex", "LSCP", "MCLP", "PCenter", "PMedian", "_LocationModel",
    "BudgetAllocation", "AllocationRegret", "FairnessReweighted", "ShiftDiagnostics",
    "SpaceTimeScan",
    "MaxP", "Skater", "AZP", "WardRegions", "SpectralRegions", "Typology",
    "SignificantDBSCAN",
}  # fmt: skip
#: Results returned by functions (or by an estimator's methods).
RESULTS = {
    "AggregatedEffects", "BaconDecomposition", "DiDResult", "InterruptedTimeSeries",
    "StaggeredResult", "SyntheticControl", "SyntheticPlacebos", "SyntheticLeaveOneOut",
    "FairnessAudit", "CVComparison", "GroupReport", "FederatedResult", "Prediction",
    "PointsInAreas", "EmergingHotSpots", "SpatialMarkov", "LisaMarkov", "RankMobility",
    "Interpolation", "VintageChanges",
    "OLSResult", "SpatialModelResult", "GWRResult", "MGWRResult",
    "FunctionEnvelope", "NearestNeighbourIndex", "QuadratTest",
    "DensitySurface",
}  # fmt: skip
#: Public classes outside the result contract, each with the reason.
EXEMPT = {
    "SignificanceFloor": "a named tuple of numbers inside LocalMoran/GetisOrd results",
    "AllocateOutputs": "a bundle of a fitted model (held to the contract) and the files written",
    "AccessOutputs": "a bundle of tables, a bilingual summary text and the files written",
    "Costs": "input: the origin × destination pairs within a cut-off",
    "Network": "input: a street graph",
    "LocationProblem": "input: demand, sites and costs",
    "ConvexHullWarning": "a warning class",
    "Panel": "input: a validated panel (its summary describes the data, in English)",
    "SpilloverRule": "input: a rule",
    "Exposure": "an input partition of units made by find_exposed",
    "BufferedCV": "a scikit-learn splitter (no result)",
    "LeaveGroupOut": "a scikit-learn splitter (no result)",
    "SpatialBlockCV": "a scikit-learn splitter (no result); rng checked below",
    "GroupDRO": "a scikit-learn model: fit/predict, no draws",
    "GroupReweighted": "a scikit-learn model: fit/predict, no draws",
    "ImportanceWeighted": "a scikit-learn model: fit/predict; rng checked below",
    "LearningTask": "input: a prediction task",
    "Column": "input schema",
    "InputSchema": "input schema",
    "FederatedModel": "a model: predict()",
    "FederationError": "an exception",
    "Institution": "a federated participant (its seed keeps fresh OS noise when None)",
    "InstitutionDropout": "an exception",
    "ModelCard": "a document; summary(lang=) checked below",
    "ModelIntegrityError": "an exception",
    "ModelRegistry": "a store",
    "ModelVersion": "a registry entry; its summary is its card's",
    "DetectedEncoding": "a description of an input file",
    "FileInfo": "a description of an input file (English)",
    "JoinResult": "a pair (frame, report)",
    "VintageJoin": "a triple (frame, report, interpolation), each held to its own contract",
    "MatchReport": "a report on the input join; summary(lang=) checked below",
    "SpatialWeights": "input: weights (their summary describes them, in English)",
    "SpaceTimeCube": "input: the areas × steps data model",
    "HomogeneityTest": "a record of test statistics inside SpatialMarkov",
    "IncompleteAreasWarning": "a warning class",
    "MissingStepsWarning": "a warning class",
    "AreaOverlay": "the table of pieces two layers cut each other into (input of interpolate)",
    "LayerCheck": "a description of an input layer (its overlaps)",
    "Design": "input: a checked regression design",
    "Test": "a record of numbers (statistic, p, df) inside explain results",
    "PointPattern": "input: points in a study area with the raster of their null",
    "StandardEllipse": "a record of four numbers; polygon() gives the shapely geometry",
}
#: Parameters that keep an old name, with the reason (docs/api.md lists them).
KEPT_OLD_PARAMETERS = {
    ("share.federate", "seed"): "federated training: renamed with the CLI in a later step",
    ("share.Institution", "seed"): "DP noise: None must mean fresh OS entropy, not seed 0",
}


def _returned_class(func: Callable[..., Any]) -> type | None:
    try:
        hint = typing.get_type_hints(func).get("return")
    except (NameError, TypeError):
        return None
    return hint if inspect.isclass(hint) and hint.__module__.startswith("dongne") else None


def _public() -> tuple[dict[str, type], dict[str, Callable[..., Any]]]:
    classes: dict[str, type] = {}
    functions: dict[str, Callable[..., Any]] = {}
    for package in PACKAGES:
        module = importlib.import_module(f"dongne.{package}")
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                classes[name] = obj
                for method in ("fit", "aggregate", "placebo_test", "leave_one_out"):
                    found = _returned_class(getattr(obj, method, None) or (lambda: None))
                    if found is not None:
                        classes.setdefault(found.__name__, found)
            elif callable(obj):
                functions[f"{package}.{name}"] = obj
                found = _returned_class(obj)
                if found is not None:
                    classes.setdefault(found.__name__, found)
    return classes, functions


CLASSES, FUNCTIONS = _public()


def test_every_public_class_is_classified():
    unclassified = set(CLASSES) - ESTIMATORS - RESULTS - set(EXEMPT)
    assert not unclassified, f"classify these in tests/test_conformance.py: {unclassified}"
    assert not (ESTIMATORS & RESULTS) and not ((ESTIMATORS | RESULTS) & set(EXEMPT))
    # the lists name real classes (a rename would otherwise leave a silent gap)
    assert (ESTIMATORS | RESULTS) <= set(CLASSES)


def _callables() -> list[tuple[str, Callable[..., Any]]]:
    out = list(FUNCTIONS.items())
    for name, cls in CLASSES.items():
        if issubclass(cls, BaseException):
            continue
        pkg = cls.__module__.split(".")[1]
        if "__init__" in vars(cls) or any("__init__" in vars(b) for b in cls.__mro__[1:-1]):
            out.append((f"{pkg}.{name}", cls))
    return out


@pytest.mark.parametrize(("name", "func"), _callables(), ids=[n for n, _ in _callables()])
def test_parameters_follow_the_vocabulary(name, func):
    params = inspect.signature(func).parameters
    # results are records: ``seed`` there is the seed a procedure used (rng in, seed out)
    recorded = {"seed"} if name.split(".")[-1] in RESULTS else set()
    old = {p for p in params if p in OLD_NAMES - recorded and (name, p) not in KEPT_OLD_PARAMETERS}
    assert not old, f"{name} still takes {old}; see docs/api.md for the new names"
    counts = {p for p in params if re.search(r"(permutation|replication|bootstrap|draw)s?$", p)}
    assert counts <= DRAW_COUNTS, f"{name}: draw counts must be named {DRAW_COUNTS}: {counts}"
    if "rng" in params:
        assert params["rng"].default is None, f"{name}: rng defaults to None (= seed 0)"
    draws = counts & DRAW_COUNTS
    helpers = {"detect.permutation_pvalues", "detect.significance_floor"}  # count, no draws
    if draws and name not in helpers and "options" not in params and not recorded:
        assert "scheduler" in params, f"{name} makes {draws} draws but takes no scheduler="
        assert "rng" in params, f"{name} makes {draws} draws but takes no rng="


# --------------------------------------------------------------------------- tiny inputs
X0, Y0 = 950_000.0, 1_950_000.0


@pytest.fixture(scope="module")
def lattice() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    cells = [(i, j) for i in range(6) for j in range(6)]
    grid = gpd.GeoDataFrame(
        {
            "id": [f"a{i}{j}" for i, j in cells],
            "row": [i for i, _ in cells],
            "col": [j for _, j in cells],
        },
        geometry=[box(X0 + 100 * j, Y0 + 100 * i, X0 + 100 * j + 100, Y0 + 100 * i + 100)
                  for i, j in cells],
        crs="EPSG:5179",
    )  # fmt: skip
    grid["y"] = 3.0 + grid["col"] + rng.uniform(0, 2, len(grid))
    grid["x1"] = rng.uniform(0, 1, len(grid)) + 0.1 * grid["col"]
    grid["x2"] = rng.uniform(0, 1, len(grid))
    grid["pop"] = rng.integers(200, 800, len(grid))
    grid["cases"] = rng.binomial(grid["pop"], np.where(grid["col"] >= 4, 0.12, 0.05))
    return grid


@pytest.fixture(scope="module")
def w(lattice):
    return weights.queen(lattice, ids="id")


def _y(lattice):
    return lattice.set_index("id")["y"]


def _cube(lattice) -> SpaceTimeCube:
    """Counts of the lattice's areas over 6 steps, rising in the east late on."""
    steps = np.arange(6)
    base = lattice["cases"].to_numpy()[:, None] // 10 + steps[None, :] % 2
    late = np.where(lattice["col"].to_numpy()[:, None] >= 4, steps[None, :] >= 4, 0) * 3
    ids = pd.Index(lattice["id"])
    return SpaceTimeCube((base + late).astype(float), ids, pd.Index(steps), None, "counts")


def _xy(lattice) -> np.ndarray:
    return np.column_stack([lattice.centroid.x, lattice.centroid.y])


#: name -> (make(rng, context) -> fitted object, plot(obj, context) -> drawn object)
RANDOM_ESTIMATORS: dict[str, Callable[..., Any]] = {
    "GlobalMoran": lambda rng, c: GlobalMoran(permutations=99, rng=rng).fit(_y(c["g"]), c["w"]),
    "LocalMoran": lambda rng, c: LocalMoran(permutations=99, rng=rng).fit(_y(c["g"]), c["w"]),
    "GetisOrd": lambda rng, c: GetisOrd(permutations=99, rng=rng).fit(_y(c["g"]), c["w"]),
    "RankStability": lambda rng, c: RankStability(
        ["x1", "x2"], top_k=5, replications=60, rng=rng
    ).fit(c["g"], id_column="id"),
    "ScanStatistic": lambda rng, c: ScanStatistic(replications=99, rng=rng).fit(
        c["g"]["cases"].to_numpy(), c["g"]["pop"].to_numpy(), _xy(c["g"]), ids=c["g"]["id"]
    ),
    "SignificantDBSCAN": lambda rng, c: SignificantDBSCAN(
        eps=[60.0], min_pts=5, replications=19, rng=rng
    ).fit(c["points"]),
    "FunctionEnvelope": lambda rng, c: envelope(c["points"], "L", replications=9, rng=rng),
    "ShiftDiagnostics": lambda rng, c: ShiftDiagnostics(permutations=(9, 19), rng=rng).fit(
        c["shift"][0], c["shift"][1]
    ),
    "FairnessReweighted": lambda rng, c: FairnessReweighted(
        LinearRegression(), n_rounds=3, rng=rng
    ).fit(c["task"][0], c["task"][1], coords=c["task"][2], crs="EPSG:5179"),
    "FairnessAudit": lambda rng, c: spatial_fairness_audit(
        c["task"][1],
        c["task"][3],
        coords=c["task"][2],
        crs="EPSG:5179",
        metric="rmse",
        permutations=19,
        rng=rng,
    ),
    "CVComparison": lambda rng, c: cv_compare(
        LinearRegression(), c["task"][0], c["task"][1], coords=c["task"][2], rng=rng
    ),
    "StaggeredResult": lambda rng, c: att_gt(c["staggered"], bootstrap=99, rng=rng),
    "AggregatedEffects": lambda rng, c: att_gt(c["staggered"], bootstrap=99, rng=rng).aggregate(
        "dynamic"
    ),
    "DiDResult": lambda rng, c: did_2x2(c["two_by_two"], bootstrap=99, rng=rng),
    "SpatialModelResult": lambda rng, c: ml_lag(
        _lattice_design(c["g"]), c["w"].row_standardised(), replications=49, rng=rng
    ),
    "SyntheticControl": lambda rng, c: synthetic_control(
        c["wide"], wide=True, treated="T", treatment_start=2008, n_starts=2, rng=rng
    ),
    "SpaceTimeScan": lambda rng, c: SpaceTimeScan(max_duration=2, replications=19, rng=rng).fit(
        _cube(c["g"]), c["g"].set_index("id")
    ),
    "EmergingHotSpots": lambda rng, c: emerging_hot_spots(
        _cube(c["g"]), c["w"], permutations=19, rng=rng, correction="none"
    ),
    "RankMobility": lambda rng, c: rank_mobility(
        _cube(c["g"]).values[:, 0], _cube(c["g"]).values[:, -1], c["w"], permutations=19, rng=rng
    ),
    "MaxP": lambda rng, c: MaxP(3, iterations=5, rounds=1, rng=rng).fit(
        c["g"].set_index("id")[["x1", "x2"]], c["w"], floor_values=np.ones(36)
    ),
    "Typology": lambda rng, c: Typology(k_range=(2, 3), restarts=2, stability_seeds=1,
                                        rng=rng).fit(c["g"].set_index("id")[["x1", "x2", "y"]]),
    "AZP": lambda rng, c: AZP(3, starts=2, rounds=1, rng=rng).fit(
        c["g"].set_index("id")[["x1", "x2"]], c["w"]
    ),
    "SpectralRegions": lambda rng, c: SpectralRegions(3, rng=rng).fit(
        c["g"].set_index("id")[["x1", "x2"]], c["w"]
    ),
}


def _lattice_design(lattice):
    return check_design(lattice["y"], lattice[["x1", "x2"]].to_numpy(), ["x1", "x2"])


def _plot_map(obj, c):
    return obj.plot(c["g"], id_column="id")


PLOTS: dict[str, Callable[[Any, dict], Any]] = {
    "LocalMoran": _plot_map,
    "GetisOrd": _plot_map,
    "RankStability": _plot_map,
    "ScanStatistic": _plot_map,
    "VulnerabilityIndex": _plot_map,
    "SpaceTimeScan": lambda obj, c: obj.plot(c["g"].set_index("id")),
    "EmergingHotSpots": lambda obj, c: obj.plot(c["g"].set_index("id")),
    "MaxP": _plot_map,
    "AZP": _plot_map,
    "Skater": _plot_map,
    "WardRegions": _plot_map,
    "SpectralRegions": _plot_map,
    "VintageChanges": _plot_map,
}


@pytest.fixture(scope="module")
def context(lattice, w) -> dict[str, Any]:
    rng = np.random.default_rng(11)
    # learning: 400 points on a 2 km square, y depends on x and on the east half
    xy = rng.uniform(0, 2_000, size=(400, 2)) + np.array([X0, Y0])
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    y = X["a"] + 0.5 * (xy[:, 0] > X0 + 1_000) + rng.normal(0, 0.3, 400)
    pred = LinearRegression().fit(X, y).predict(X)
    src = rng.normal(size=(80, 2))
    tgt = rng.normal(size=(80, 2)) + np.array([1.0, 0.0])
    # staggered panel: 30 units × 6 periods, cohorts 3 and 5, 10 never treated
    units = np.repeat(np.arange(30), 6)
    periods = np.tile(np.arange(1, 7), 30)
    g = np.select([units < 10, units < 20], [3, 5], 0)
    effect = np.where((g > 0) & (periods >= g), 1.0, 0.0)
    frame = pd.DataFrame({"u": units, "t": periods, "g": g})
    frame["y"] = 0.2 * periods + 0.1 * units + effect + rng.normal(0, 0.3, len(frame))
    staggered = panel_from_frame(frame, unit="u", time="t", outcome="y", first_treated="g")
    two = frame.assign(g=np.where(frame["g"] > 0, 4, 0))
    two["y"] = 0.2 * two["t"] + np.where((two["g"] > 0) & (two["t"] >= 4), 1.0, 0.0)
    two["y"] += rng.normal(0, 0.3, len(two))
    two_by_two = panel_from_frame(two, unit="u", time="t", outcome="y", first_treated="g")
    # synthetic control: 6 donors over 2000–2011, T = 0.5 A + 0.5 B, effect −3 from 2008
    years = np.arange(2000, 2012)
    donors = {u: 10 + k + 0.3 * k * (years - 2000) + rng.normal(0, 0.2, len(years))
              for k, u in enumerate("ABCDEF")}  # fmt: skip
    wide = pd.DataFrame(donors, index=years)
    wide["T"] = 0.5 * wide["A"] + 0.5 * wide["B"] - 3.0 * (years >= 2008)
    return {
        "g": lattice,
        "w": w,
        "task": (X, y, xy, pred),
        "shift": (src, tgt),
        "staggered": staggered,
        "two_by_two": two_by_two,
        "wide": wide,
        "points": _points_pattern(rng),
    }


def _points_pattern(rng: np.random.Generator):
    """60 random points and a clump of 30 in a 1 km square (metric CRS)."""
    xy = np.vstack([rng.uniform(0, 1_000, (60, 2)), rng.normal(500, 20, (30, 2))])
    xy = np.clip(xy, 1, 999) + np.array([X0, Y0])
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*xy.T), crs="EPSG:5179")
    area = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 1_000, Y0 + 1_000)], crs="EPSG:5179")
    return point_pattern(pts, area, cell_size=10.0)


def _equal(a: Any, b: Any) -> None:
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.to_frame()).drop(columns="geometry", errors="ignore"),
        pd.DataFrame(b.to_frame()).drop(columns="geometry", errors="ignore"),
    )


@pytest.mark.parametrize("name", sorted(RANDOM_ESTIMATORS))
def test_rng_int_generator_and_none(name, context):
    make = RANDOM_ESTIMATORS[name]
    first, again = make(7, context), make(7, context)
    _equal(first, again)
    # None is the documented default seed 0
    _equal(make(None, context), make(0, context))
    # a Generator is drawn from once: the same state gives the same numbers
    _equal(make(np.random.default_rng(5), context), make(np.random.default_rng(5), context))
    with pytest.raises(SpecificationError, match="'rng'"):
        make(-1, context)
    assert first.provenance_["seed"] == 7


def _results(context) -> dict[str, Any]:
    c = context
    made = {name: make(1, c) for name, make in RANDOM_ESTIMATORS.items()}
    scm = made["SyntheticControl"]
    made["SyntheticPlacebos"] = scm.placebo_test()
    made["SyntheticLeaveOneOut"] = scm.leave_one_out()
    made["VulnerabilityIndex"] = VulnerabilityIndex(["x1", "x2"]).fit(c["g"], id_column="id")
    cost = np.abs(np.subtract.outer(np.arange(12.0), np.arange(0, 12.0, 2.0))) * 100
    problem = LocationProblem.from_cost_matrix(cost, np.arange(1.0, 13.0))
    made["LSCP"] = LSCP(radius=150).fit(problem)
    made["MCLP"] = MCLP(p=2, radius=150).fit(problem)
    made["PMedian"] = PMedian(p=2).fit(problem)
    made["PCenter"] = PCenter(p=2).fit(problem)
    made["BudgetAllocation"] = BudgetAllocation(1_000).fit(
        pd.Series([5.0, 1.0, 0.0, 3.0], index=list("abcd")), floor=50
    )
    need = pd.Series(np.arange(1.0, 13.0))
    made["AllocationRegret"] = AllocationRegret(p=2, radius=150).fit(
        problem, need, {"flat": np.ones(12), "reversed": need[::-1].to_numpy()}
    )
    made["DiDResult"] = twfe(c["two_by_two"], bootstrap=99, rng=1)
    made["BaconDecomposition"] = bacon_decomposition(c["staggered"])
    t = np.arange(48)
    series = pd.DataFrame({"t": t, "y": 5 + 0.1 * t + 2.0 * (t >= 30)})
    series["y"] += np.random.default_rng(2).normal(0, 0.5, 48)
    made["InterruptedTimeSeries"] = interrupted_time_series(series, time="t", outcome="y", start=30)
    X, y, xy, _ = c["task"]
    groups = pd.Series(np.where(xy[:, 0] > X0 + 1_000, "east", "west"))
    made["GroupReport"] = group_report(LinearRegression().fit(X, y), X, y, groups)
    tables = {k: pd.DataFrame({"x": X["a"][s], "y": y[s]}) for k, s in
              (("A", slice(0, 200)), ("B", slice(200, 400)))}  # fmt: skip
    made["FederatedResult"] = federate(tables, "y", ["x"], rounds=3)
    made["Prediction"] = Prediction(
        values=pd.Series([1.0, 2.0], name="prediction"),
        probabilities=None,
        model="demo@1",
        parameters={"model": "demo@1", "rows": 2},
    )
    shelters = gpd.GeoDataFrame(
        {"capacity": [10, 20, 30]},
        geometry=gpd.points_from_xy([X0 + 50, X0 + 150, X0 + 550], [Y0 + 50, Y0 + 50, Y0 + 550]),
        crs="EPSG:5179",
    )
    made["PointsInAreas"] = points_to_areas(c["g"], shelters, prefix="shelters")
    made["SpatialMarkov"] = spatial_markov(_cube(c["g"]), c["w"], k=3, m=3)
    made["LisaMarkov"] = lisa_markov(_cube(c["g"]), c["w"])
    attrs = c["g"].set_index("id")[["x1", "x2"]]
    made["Skater"] = Skater(3).fit(attrs, c["w"])
    made["WardRegions"] = WardRegions(3).fit(attrs, c["w"])
    coarse = c["g"].assign(half=(c["g"].centroid.x > c["g"].centroid.x.median()).astype(int))
    halves = coarse.dissolve("half").reset_index()
    made["Interpolation"] = interpolate(
        c["g"], halves, extensive=["cases"], intensive=["x1"], source_id="id", target_id="half"
    )
    made["VintageChanges"] = change_table(c["g"], c["g"], old_id="id", new_id="id")
    made["OLSResult"] = ols(_lattice_design(c["g"]), c["w"].row_standardised())
    design = check_design(y[:120], X.iloc[:120].to_numpy(), ["a", "b"])
    made["GWRResult"] = gwr(design, xy[:120])
    made["MGWRResult"] = mgwr(design, xy[:120])
    made["NearestNeighbourIndex"] = nearest_neighbour_index(c["points"].xy, c["points"].area)
    made["QuadratTest"] = quadrat_test(c["points"].xy, 3, 3)
    made["DensitySurface"] = kernel_density(c["points"], bandwidth=80.0)
    return made


@pytest.fixture(scope="module")
def results(context) -> dict[str, Any]:
    return _results(context)


def test_every_estimator_and_result_is_exercised(results):
    names = (ESTIMATORS | RESULTS) - {"_LocationModel"}
    assert names <= set(results), f"no tiny input for {names - set(results)}"


@pytest.mark.parametrize("name", sorted((ESTIMATORS | RESULTS) - {"_LocationModel"}))
def test_summary_in_three_languages(name, results):
    obj = results[name]
    texts = {lang: obj.summary(lang=lang) for lang in LANGS}
    assert all(isinstance(t, str) and t.strip() for t in texts.values())
    assert HANGUL.search(texts["ko"]), f"{name}.summary(lang='ko') has no Korean"
    assert texts["en"] != texts["ko"]
    assert texts["en"] in texts["both"] and texts["ko"] in texts["both"]
    with pytest.raises(SpecificationError, match="'lang'"):
        obj.summary(lang="fr")


@pytest.mark.parametrize("name", sorted((ESTIMATORS | RESULTS) - {"_LocationModel"}))
def test_to_frame_plot_and_provenance(name, results, context):
    obj = results[name]
    frame = obj.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0
    drawn = PLOTS.get(name, lambda o, c: o.plot())(obj, context)
    figure = drawn if isinstance(drawn, Figure) else getattr(drawn, "figure", None)
    assert isinstance(drawn, (Figure, Axes)) or isinstance(figure, Figure), type(drawn)
    axes = figure.axes if isinstance(figure, Figure) else [drawn]
    assert any(ax.has_data() for ax in axes), f"{name}.plot() drew nothing"
    plt.close("all")
    assert isinstance(obj.provenance_, Mapping) and len(obj.provenance_) > 0


def test_documents_summaries_in_three_languages(results, context):
    """Reports on inputs that are bilingual take lang= too (MatchReport, ModelCard)."""
    areas = context["g"][["id", "geometry"]]
    table = pd.DataFrame({"id": ["a00", "a01", "zz"], "v": [1, 2, 3]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = join_by_code(areas, table, key="id").report
    assert HANGUL.search(report.summary(lang="ko")) and not HANGUL.search(report.summary("en"))
    assert report.summary(lang="both").startswith(report.summary(lang="en"))
    card = results["FederatedResult"]
    assert HANGUL.search(card.summary(lang="ko"))


# --------------------------------------------------------------------------- old spellings
def _same_frames(old: Any, new: Any) -> None:
    _equal(old, new)


def test_old_spellings_warn_and_give_the_same_numbers(context):
    c = context
    with pytest.warns(FutureWarning, match="'n_draws' is renamed 'replications'"):
        old = RankStability(["x1", "x2"], top_k=5, n_draws=60, rng=2).fit(c["g"], id_column="id")
    new = RankStability(["x1", "x2"], top_k=5, replications=60, rng=2).fit(c["g"], id_column="id")
    _same_frames(old, new)
    with pytest.warns(FutureWarning, match="'n_draws' is renamed"):
        assert new.n_draws == 60
    _, y, xy, pred = c["task"]
    with pytest.warns(FutureWarning, match="'n_permutations' is renamed 'permutations'"):
        old = spatial_fairness_audit(
            y, pred, coords=xy, crs="EPSG:5179", metric="rmse", n_permutations=19, rng=4
        )
    new = spatial_fairness_audit(
        y, pred, coords=xy, crs="EPSG:5179", metric="rmse", permutations=19, rng=4
    )
    assert old.p_value == new.p_value and old.spad == new.spad
    with pytest.warns(FutureWarning, match="'mmd_permutations' is renamed 'permutations'"):
        old = ShiftDiagnostics(permutations=9, mmd_permutations=19, rng=3)
    assert old.permutations == (9, 19)
    src, tgt = c["shift"]
    new = ShiftDiagnostics(permutations=(9, 19), rng=3).fit(src, tgt)
    old.fit(src, tgt)
    assert (old.auc_p_, old.mmd_p_) == (new.auc_p_, new.mmd_p_)
    # one int keeps its meaning from before 0.2: the classifier test; MMD stays at 999
    single = ShiftDiagnostics(permutations=9, rng=3).fit(src, tgt)
    assert (single.provenance_["permutations"], single.provenance_["mmd_permutations"]) == (9, 999)
    assert single.auc_p_ == new.auc_p_
    with pytest.warns(FutureWarning, match="'seed' is renamed 'rng'"):
        old = att_gt(c["staggered"], bootstrap=99, seed=6)
    _same_frames(old, att_gt(c["staggered"], bootstrap=99, rng=6))
    with pytest.warns(FutureWarning, match="'seed' is renamed 'rng'"):
        blocks = SpatialBlockCV(xy, method="kmeans", seed=1).block_ids()
    np.testing.assert_array_equal(blocks, SpatialBlockCV(xy, method="kmeans", rng=1).block_ids())
    with pytest.raises(SpecificationError, match="got both 'seed'"):
        did_2x2(c["two_by_two"], seed=1, rng=1)


# --------------------------------------------------------------------------- workflows
def _workflows() -> dict[str, Callable[..., Any]]:
    from dongne.access import run_access
    from dongne.allocate import run_allocate
    from dongne.detect.workflow import run_detect, run_scan
    from dongne.evaluate.workflow import run_did, run_its, run_scm
    from dongne.learn.workflow import (
        run_learn_audit,
        run_learn_cv,
        run_learn_regret,
        run_learn_shift,
    )

    found = (run_detect, run_scan, run_allocate, run_access, run_did, run_scm, run_its,
             run_learn_cv, run_learn_shift, run_learn_audit, run_learn_regret)  # fmt: skip
    return {f.__name__: f for f in found}


#: Workflows whose results depend on random draws (the others take no rng).
RANDOM_WORKFLOWS = {
    "run_detect", "run_scan", "run_did", "run_scm", "run_learn_cv", "run_learn_shift",
    "run_learn_audit", "run_learn_regret",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_workflows()))
def test_workflows_speak_the_vocabulary(name):
    """The run_* functions behind the command line take rng= and name draws as estimators do."""
    params = inspect.signature(_workflows()[name]).parameters
    assert not set(params) & OLD_NAMES, f"{name} still takes {set(params) & OLD_NAMES}"
    counts = {p for p in params if re.search(r"(permutation|replication|bootstrap|draw)s?$", p)}
    assert counts <= DRAW_COUNTS, f"{name}: draw counts must be named {DRAW_COUNTS}: {counts}"
    assert ("rng" in params) == (name in RANDOM_WORKFLOWS), name
    if "rng" in params:
        # None and 0 are the same seed (docs/api.md); run_detect/run_scan spell it 0
        assert params["rng"].default in (None, 0), f"{name}: rng defaults to seed 0"


def test_workflows_old_seed_spelling_warns_and_gives_the_same_files(context, tmp_path):
    from dongne.evaluate.workflow import run_did
    from dongne.learn.workflow import run_learn_shift

    rng = np.random.default_rng(5)
    units = np.repeat(np.arange(16), 2)
    frame = pd.DataFrame({"u": units, "t": np.tile([1, 2], 16), "g": np.where(units < 6, 2, 0)})
    frame["y"] = frame["t"] + 1.5 * ((frame["g"] > 0) & (frame["t"] == 2)) + rng.normal(0, 1, 32)
    did = {"unit": "u", "time": "t", "outcome": "y", "first_treated": "g", "estimator": "2x2",
           "bootstrap": 99}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DongneWarning)  # few clusters
        with pytest.warns(FutureWarning, match="run_did: 'seed' is renamed 'rng'"):
            old = run_did(frame, tmp_path / "old", seed=7, **did)
        new = run_did(frame, tmp_path / "new", rng=7, **did)
        other = run_did(frame, tmp_path / "other", rng=8, **did)
    assert old.result.wild.p_value == new.result.wild.p_value
    assert other.result.wild.p_value != new.result.wild.p_value  # the seed reaches the draws
    g = context["g"]
    east = (g["col"] >= 3).to_numpy()
    shift = {"source_rows": ~east, "target_rows": east}
    with pytest.warns(FutureWarning) as caught:
        old = run_learn_shift(
            g, "id", ["x1", "x2"], tmp_path / "s_old", permutations=9, mmd_permutations=19,
            seed=3, **shift,
        )  # fmt: skip
    messages = " ".join(str(w.message) for w in caught)
    assert "run_learn_shift: 'seed' is renamed 'rng'" in messages
    assert "'mmd_permutations' is renamed 'permutations'" in messages
    new = run_learn_shift(
        g, "id", ["x1", "x2"], tmp_path / "s_new", permutations=(9, 19), rng=3, **shift
    )
    a, b = old.results["shift"], new.results["shift"]
    assert (a.auc_p_, a.mmd_p_) == (b.auc_p_, b.mmd_p_)
    assert b.provenance_["mmd_permutations"] == 19 and b.provenance_["seed"] == 3


def test_rng_of_models_and_tasks(context):
    X, y, _, _ = context["task"]
    a = ImportanceWeighted(rng=3).fit(X[:200], y[:200], X_target=X[200:])
    b = ImportanceWeighted(rng=3).fit(X[:200], y[:200], X_target=X[200:])
    np.testing.assert_array_equal(a.weights_, b.weights_)
    t0, t1 = synthetic_shift_task(rng=None), synthetic_shift_task(rng=0)
    pd.testing.assert_frame_equal(t0.X, t1.X)
    assert resolve_rng(None) == 0


def test_non_default_schedulers_are_refused_not_ignored(context):
    _, y, xy, pred = context["task"]
    with pytest.raises(SpecificationError, match="scheduler='processes'"):
        att_gt(context["staggered"], bootstrap=9, scheduler="processes")
    with pytest.raises(SpecificationError, match="scheduler='processes'"):
        twfe(context["two_by_two"], scheduler="processes")
    with pytest.raises(SpecificationError, match="scheduler='processes'"):
        ShiftDiagnostics(scheduler="processes").fit(*context["shift"])
    with pytest.raises(SpecificationError, match="scheduler='processes'"):
        spatial_fairness_audit(
            y, pred, coords=xy, crs="EPSG:5179", metric="rmse", scheduler="processes"
        )
    # "threads" is this process: accepted, same numbers as the default
    a = did_2x2(context["two_by_two"], bootstrap=99, rng=2, scheduler="threads")
    b = did_2x2(context["two_by_two"], bootstrap=99, rng=2)
    assert a.p_value == b.p_value
