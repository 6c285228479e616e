"""What the scan reads: counts per area, their ids, the areas' locations and the window centres.

:func:`resolve_inputs` turns the arguments of :meth:`dongne.detect.scan.ScanStatistic.fit`
(values, column names of ``locations``, labelled Series, cases and population by stratum) into
one float array per count aligned on one index of unique area ids, and checks them against the
model (whole numbers, cases not above the population, expected counts or controls where the
model needs them); :func:`expected_counts` is its indirect standardisation over strata.
:func:`resolve_locations` and :func:`resolve_centres` give the coordinates that distances are
computed on (metres in a projected CRS for geometries, radians for latitude/longitude pairs,
plain units for Cartesian arrays). Every refusal names the areas, by id, and the fix.

The scan estimator itself is in :mod:`dongne.detect.scan`, above this module.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from dongne.detect.inference import check_choice
from dongne.errors import DataError, GeometryError, SpecificationError, format_rows

__all__ = [
    "COORDINATE_SYSTEMS",
    "EARTH_RADIUS_M",
    "CoordinateSystem",
    "expected_counts",
    "resolve_centres",
    "resolve_inputs",
    "resolve_locations",
]

CoordinateSystem = Literal["cartesian", "latlon", "lonlat"]
COORDINATE_SYSTEMS: tuple[str, ...] = ("cartesian", "latlon", "lonlat")
#: Mean Earth radius (IUGG) in metres, for great-circle distances between (lat, lon) points.
EARTH_RADIUS_M = 6_371_008.8


def expected_counts(cases_by_stratum: Any, population_by_stratum: Any) -> pd.Series:
    """Expected cases per area by indirect standardisation over strata (e.g. age bands).

    The reference rate of stratum s is the overall rate r_s = Σ_a c_{a,s} / Σ_a p_{a,s};
    the expected count of area a is E_a = Σ_s p_{a,s} · r_s. The expected counts sum to the
    total cases, and an area whose population is older (or younger) than average gets more
    (or fewer) expected cases than its share of the population — the adjustment SaTScan
    makes with covariates in the case and population files.

    Parameters
    ----------
    cases_by_stratum, population_by_stratum : DataFrame
        One row per area (same index), one column per stratum (same columns).

    Returns
    -------
    pandas.Series
        ``expected`` indexed like the rows.

    Raises
    ------
    DataError
        Mismatched rows or columns, negative or missing values, a stratum with cases but no
        population.

    Examples
    --------
    >>> cases = pd.DataFrame({"young": [1, 1], "old": [4, 0]}, index=["a", "b"])
    >>> pop = pd.DataFrame({"young": [100, 100], "old": [100, 0]}, index=["a", "b"])
    >>> expected_counts(cases, pop).round(2).tolist()
    [5.0, 1.0]
    """
    c = pd.DataFrame(cases_by_stratum)
    p = pd.DataFrame(population_by_stratum)
    if not c.index.equals(p.index) or list(c.columns) != list(p.columns):
        raise DataError(
            "cases_by_stratum and population_by_stratum must have the same rows (areas, in the "
            "same order) and the same columns (strata). Fix: align them, e.g. "
            "population.reindex(index=cases.index, columns=cases.columns)."
        )
    cv = c.to_numpy(dtype=float)
    pv = p.to_numpy(dtype=float)
    for name, v, frame in (("cases", cv, c), ("population", pv, p)):
        bad = ~np.isfinite(v).all(axis=1) | (v < 0).any(axis=1)
        if bad.any():
            raise DataError(
                f"{name} by stratum has missing or negative values for areas "
                f"{format_rows(frame.index[bad])}."
            )
    pop_total = pv.sum(axis=0)
    case_total = cv.sum(axis=0)
    empty = (pop_total <= 0) & (case_total > 0)
    if empty.any():
        raise DataError(
            f"strata {format_rows(c.columns[empty])} have cases but no population; their rate "
            "is undefined. Fix: check the population table or merge the strata."
        )
    rates = np.divide(case_total, pop_total, out=np.zeros_like(case_total), where=pop_total > 0)
    return pd.Series(pv @ rates, index=c.index, name="expected")


def _is_geo(obj: Any) -> bool:
    import geopandas as gpd

    return isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries))


def resolve_locations(
    locations: Any, n: int, coordinates: str, ids: pd.Index
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(x, y, info): coordinates used for distances and how they were obtained."""
    if locations is None:
        raise SpecificationError(
            "fit needs the locations of the areas: a GeoDataFrame of the areas or an n × 2 "
            "array of coordinates (third argument)."
        )
    if _is_geo(locations):
        import geopandas as gpd

        from dongne.io.crs import to_metric

        gser = locations.geometry
        if len(gser) != n:
            raise DataError(
                f"locations has {len(gser)} rows but there are {n} areas. Fix: pass one "
                "geometry per area, in the order of the ids."
            )
        frame = gpd.GeoDataFrame(geometry=gser.reset_index(drop=True), crs=gser.crs)
        missing = frame.geometry.isna() | frame.geometry.is_empty
        if missing.to_numpy().any():
            raise GeometryError(
                f"locations has missing or empty geometries for areas "
                f"{format_rows(ids[missing.to_numpy()])}. Fix: repair or drop those areas."
            )
        metric = to_metric(frame, "locations")
        geom = metric.geometry
        kinds = set(geom.geom_type)
        pts = geom if kinds <= {"Point"} else geom.centroid
        x = pts.x.to_numpy(dtype=float)
        y = pts.y.to_numpy(dtype=float)
        info = {
            "system": "projected",
            "crs": str(metric.crs.to_string()),
            "representation": "points" if kinds <= {"Point"} else "polygon centroids",
            "unit": "m",
            "great_circle": False,
        }
        return x, y, info
    check_choice("coordinates", coordinates, COORDINATE_SYSTEMS)
    arr = np.asarray(locations, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] != n:
        raise DataError(
            f"locations must be an n × 2 array of coordinates (n = {n} areas); got shape "
            f"{arr.shape}."
        )
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise GeometryError(
            f"locations has missing or infinite coordinates for areas {format_rows(ids[bad])}."
        )
    if coordinates == "cartesian":
        return (
            arr[:, 0].copy(),
            arr[:, 1].copy(),
            {"system": "cartesian", "unit": "units", "great_circle": False},
        )
    lat, lon = (arr[:, 0], arr[:, 1]) if coordinates == "latlon" else (arr[:, 1], arr[:, 0])
    if (np.abs(lat) > 90).any() or (np.abs(lon) > 180).any():
        hint = ""
        if (np.abs(lon) <= 90).all() and (np.abs(lat) <= 180).all():
            other = "lonlat" if coordinates == "latlon" else "latlon"
            hint = f" The columns look swapped: try coordinates={other!r}."
        raise GeometryError(
            f"coordinates={coordinates!r} needs latitudes within ±90° and longitudes within "
            f"±180°.{hint}"
        )
    info = {
        "system": coordinates,
        "unit": "m",
        "great_circle": True,
        "earth_radius_m": EARTH_RADIUS_M,
    }
    return np.radians(lat), np.radians(lon), info


def resolve_centres(centres: Any, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of given window centres, in the system of the locations (``info``)."""
    if _is_geo(centres):
        if info["system"] != "projected":
            raise SpecificationError(
                "centres are geometries but the locations are plain coordinates. Fix: pass "
                "both as geometries, or both as arrays."
            )
        geom = centres.geometry if hasattr(centres, "geometry") else centres
        if geom.crs is None:
            raise GeometryError("centres has no CRS. Fix: set it, e.g. centres.set_crs(...).")
        geom = geom.to_crs(info["crs"])
        pts = geom if set(geom.geom_type) <= {"Point"} else geom.centroid
        return pts.x.to_numpy(dtype=float), pts.y.to_numpy(dtype=float)
    arr = np.asarray(centres, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) == 0 or not np.isfinite(arr).all():
        raise DataError("centres must be a non-empty m × 2 array of finite coordinates.")
    if info["system"] == "projected":
        raise SpecificationError(
            "centres is an array but the locations are geometries. Fix: pass centres as a "
            "GeoSeries of points with a CRS."
        )
    if info["great_circle"]:
        lat, lon = (arr[:, 0], arr[:, 1]) if info["system"] == "latlon" else (arr[:, 1], arr[:, 0])
        return np.radians(lat), np.radians(lon)
    return arr[:, 0].copy(), arr[:, 1].copy()


def _labelled(index: pd.Index) -> bool:
    """Whether an index carries ids (anything but the default 0, 1, …, n − 1)."""
    return not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1)


def _column(obj: Any, locations: Any, what: str) -> Any:
    if isinstance(obj, str):
        if not isinstance(locations, pd.DataFrame) or obj not in locations.columns:
            raise DataError(
                f"{what}={obj!r} names a column, but locations "
                + (
                    "has no such column"
                    if isinstance(locations, pd.DataFrame)
                    else "is not a DataFrame"
                )
                + ". Fix: pass the values, or the frame holding the column as locations."
            )
        return locations[obj].reset_index(drop=True)
    return obj


def _values(obj: Any, ids: pd.Index, name: str) -> np.ndarray:
    """One float per area, aligned on ``ids`` for labelled Series, else by position."""
    n = len(ids)
    if isinstance(obj, pd.Series) and _labelled(obj.index):
        missing = ids.difference(obj.index)
        if len(missing):
            raise DataError(
                f"{name} has no value for areas {format_rows(missing)}. Fix: index {name} by "
                "the same ids as the other inputs."
            )
        if not obj.index.is_unique:
            raise DataError(f"{name} has repeated index labels; each area must appear once.")
        obj = obj.reindex(ids)
    raw = np.asarray(obj, dtype=object).ravel()
    if len(raw) != n:
        raise DataError(
            f"{name} has {len(raw)} values but there are {n} areas. Fix: pass one value per "
            "area, in the order of the ids."
        )
    values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(
            f"{name} is missing or not a finite number for areas {format_rows(ids[bad])}. "
            "Fix: fill or correct those values."
        )
    if (values < 0).any():
        raise DataError(
            f"{name} is negative for areas {format_rows(ids[values < 0])}; counts cannot be "
            "negative. Fix: correct those values in the source table."
        )
    return values


def _require_integers(values: np.ndarray, ids: pd.Index, name: str, why: str) -> None:
    frac = values != np.floor(values)
    if frac.any():
        raise DataError(
            f"{name} must be whole numbers ({why}), but areas {format_rows(ids[frac])} have "
            "fractions. Fix: round or floor them (the NY leukemia reference uses "
            "floor(cases)), or use expected counts for fractional adjustments."
        )


def _by_stratum(
    model: str, cases: Any, population: Any, expected: Any
) -> tuple[Any, Any, Any, str]:
    """(cases, population, expected, source of expected): strata summed, expected standardised.

    Cases given as a DataFrame (one column per stratum) need the population in the same shape;
    the expected counts then come from :func:`expected_counts` and the cases and population
    become row sums. Other inputs pass through unchanged, with the source ``"population"``.
    """
    if not isinstance(cases, pd.DataFrame):
        return cases, population, expected, "population"
    if not isinstance(population, pd.DataFrame):
        raise DataError(
            "cases by stratum (a DataFrame) needs population by stratum (a DataFrame with "
            "the same rows and columns) for indirect standardisation."
        )
    if model != "poisson" or expected is not None:
        raise SpecificationError(
            "Cases by stratum are for the Poisson model without expected=; expected counts "
            "are then computed by indirect standardisation."
        )
    expected = expected_counts(cases, population)
    strata_index = cases.index
    cases = cases.sum(axis=1)
    population = population.sum(axis=1)
    if not _labelled(strata_index):
        cases, population, expected = (
            cases.to_numpy(),
            population.to_numpy(),
            expected.to_numpy(),
        )
    return cases, population, expected, "indirect standardisation over strata"


def _area_ids(ids: Any, cases: Any, locations: Any) -> tuple[pd.Index, Any]:
    """(ids, locations in id order): from ``ids``, the index of cases or of locations."""
    frame_like = isinstance(locations, (pd.DataFrame, pd.Series))
    if isinstance(ids, str):
        if not isinstance(locations, pd.DataFrame) or ids not in locations.columns:
            raise DataError(f"ids={ids!r} is not a column of locations.")
        ids_index = pd.Index(locations[ids].to_numpy())
    else:
        if ids is not None:
            ids_index = pd.Index(np.asarray(ids).ravel())
        elif isinstance(cases, pd.Series) and _labelled(cases.index):
            ids_index = pd.Index(cases.index)
        elif frame_like and _labelled(locations.index):
            ids_index = pd.Index(locations.index)
        else:
            ids_index = pd.RangeIndex(len(np.asarray(cases, dtype=object).ravel()))
        if frame_like and _labelled(locations.index) and ids_index.is_unique:
            if not locations.index.is_unique or set(locations.index) != set(ids_index):
                raise DataError(
                    "locations is indexed by labels that are not the area ids. Fix: pass "
                    "ids='column' naming the id column of locations, or index locations by "
                    "the ids."
                )
            locations = locations.reindex(ids_index)
        elif frame_like and ids is None and _labelled(ids_index):
            raise DataError(
                "The ids come from the index of cases, but locations has no ids (a default "
                "0, 1, 2, … index), so its rows cannot be matched to the areas. Fix: pass "
                "ids='column' naming the id column of locations (and cases as that frame's "
                "column), or index locations by the ids."
            )
    if not ids_index.is_unique:
        dup = ids_index[ids_index.duplicated()]
        raise DataError(f"ids are repeated: {format_rows(dup.unique())}. Each area needs one id.")
    if len(ids_index) < 2:
        raise DataError("The scan needs at least two areas.")
    return ids_index, locations


def _poisson_expected(
    c: np.ndarray, pop: np.ndarray | None, exp: np.ndarray | None, ids: pd.Index, out: dict
) -> None:
    """Expected counts of the Poisson model into ``out``: from the population, or rescaled."""
    big_c = c.sum()
    if exp is None:
        if pop is None:
            raise SpecificationError(
                "The Poisson model needs the population at risk or expected= counts."
            )
        if pop.sum() <= 0:
            raise DataError("The population is zero everywhere.")
        exp = pop * big_c / pop.sum()
    else:
        if exp.sum() <= 0:
            raise DataError("The expected counts are zero everywhere.")
        if out["expected_source"] == "population":
            out["expected_source"] = "given"
        scale = big_c / exp.sum()
        out["expected_scale"] = float(scale)
        exp = exp * scale
    zero = (exp <= 0) & (c > 0)
    if zero.any():
        raise DataError(
            f"areas {format_rows(ids[zero])} have cases but no population (or "
            "expected count 0). Fix: correct their population."
        )
    out["expected"] = exp


def _bernoulli_trials(
    c: np.ndarray, pop: np.ndarray | None, ctrl: np.ndarray | None, ids: pd.Index, out: dict
) -> None:
    """Trials (cases + controls) of the Bernoulli model into ``out``."""
    if ctrl is not None:
        if pop is not None:
            raise SpecificationError("Pass population (cases + controls) or controls=, not both.")
        _require_integers(ctrl, ids, "controls", "the Bernoulli model counts people")
        trials = c + ctrl
    elif pop is not None:
        _require_integers(pop, ids, "population", "the Bernoulli model counts people")
        trials = pop
    else:
        raise SpecificationError(
            "The Bernoulli model needs population (cases + controls per area) or controls=."
        )
    if trials.sum() - c.sum() <= 0:
        raise DataError(
            "There are no controls (every individual is a case); the Bernoulli model needs both."
        )
    out["trials"] = trials
    out["expected_source"] = "cases + controls"


def resolve_inputs(
    model: str,
    cases: Any,
    population: Any,
    locations: Any,
    ids: Any,
    expected: Any,
    controls: Any,
) -> dict[str, Any]:
    """The counts of :meth:`~dongne.detect.scan.ScanStatistic.fit`, checked, aligned on the ids.

    Returns a dict with ``ids`` (unique, at least two), ``cases`` and ``population`` (floats in
    id order, population None if not given), ``locations`` (reordered by the ids where it is
    labelled), ``expected`` (Poisson: rescaled to the total cases) or ``trials`` (Bernoulli),
    ``expected_scale`` and ``expected_source``. Raises :class:`~dongne.errors.DataError` or
    :class:`~dongne.errors.SpecificationError` naming the areas and the fix.
    """
    if model == "bernoulli" and expected is not None:
        raise SpecificationError(
            "expected= is for the Poisson model; the Bernoulli model compares cases with "
            "controls. Fix: pass population (cases + controls) or controls=."
        )
    if model == "poisson" and controls is not None:
        raise SpecificationError(
            "controls= is for the Bernoulli model. Fix: ScanStatistic('bernoulli'), or pass "
            "the population at risk for the Poisson model."
        )
    cases = _column(cases, locations, "cases")
    population = _column(population, locations, "population")
    expected = _column(expected, locations, "expected")
    controls = _column(controls, locations, "controls")
    cases, population, expected, expected_source = _by_stratum(model, cases, population, expected)
    ids_index, locations = _area_ids(ids, cases, locations)

    c = _values(cases, ids_index, "cases")
    _require_integers(c, ids_index, "cases", "the scan counts individual cases")
    pop = _values(population, ids_index, "population") if population is not None else None
    exp = _values(expected, ids_index, "expected") if expected is not None else None
    ctrl = _values(controls, ids_index, "controls") if controls is not None else None
    if c.sum() <= 0:
        raise DataError(
            "There are no cases at all (total 0): there is nothing to scan. Fix: check that "
            "the right column was chosen."
        )
    out: dict[str, Any] = {
        "ids": ids_index,
        "cases": c,
        "population": pop,
        "locations": locations,
        "expected_scale": 1.0,
        "expected_source": expected_source,
    }
    if pop is not None:
        over = c > pop
        if over.any():
            raise DataError(
                f"cases exceed the population for areas {format_rows(ids_index[over])}. Fix: "
                "check that the columns are not swapped and that both cover the same period "
                "and area."
            )
    if model == "poisson":
        _poisson_expected(c, pop, exp, ids_index, out)
    else:
        _bernoulli_trials(c, pop, ctrl, ids_index, out)
    return out
