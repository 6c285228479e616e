"""Random location problems for benchmarks and tests: uniform, clustered, city-like.

:func:`generate` draws demand points and candidate sites in metres and returns a
:class:`~dongne.allocate.LocationProblem`; the same ``seed`` gives the same instance on every
machine. The instance also carries a suggested service radius (``problem.notes["radius"]``)
chosen so that a demand point sees on average ``reach`` candidates within it — the density
that decides how hard a covering instance is.

Kinds:

* ``"uniform"`` — demand and candidates uniform on a square of ``side`` metres (the classic
  generator of Church & ReVelle 1974 and of the spopt/OR-Library style benchmarks).
* ``"clustered"`` — demand from a mixture of ``clusters`` Gaussian blobs (standard deviation
  ``side / 25``) on the square; half the candidates follow the same mixture, half are uniform.
* ``"city"`` — Seoul: the 423 dong polygons of the bundled data cut into ``100 m`` cells, each
  cell carrying its dong's households in proportion to its area
  (:func:`~dongne.allocate.spread_demand`); demand points are drawn cell by cell in
  proportion to households, candidates in proportion to land area, each jittered uniformly
  inside its 100 m cell.
* ``"radii"`` — uniform points with a service radius drawn at random (seeded): the mean number
  of candidates in reach is uniform between 2 and 30, so instances range from sparse to
  heavily overlapping coverage.

Weights: ``"integer"`` (uniform integers 1–100, as in the classic benchmarks), ``"heavy"``
(Pareto with shape 1.2 and minimum 1: a few points carry most of the weight, like population
on a fine grid) or ``"equal"``.

References
----------
Cordeau, J.-F., Furini, F. & Ljubić, I. (2019). Benders decomposition for very large scale
partial set covering and maximal covering location problems. *European Journal of
Operational Research* 275(3):882–896 (their instances: uniform demand and facilities, radii
chosen by the expected number of facilities in reach).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from pyproj import CRS

from dongne.allocate.problem import LocationProblem
from dongne.errors import SpecificationError, UnmatchedWarning

__all__ = ["INSTANCE_KINDS", "WEIGHT_KINDS", "generate", "read_orlib_pmedian"]

#: Kinds of instances :func:`generate` draws.
INSTANCE_KINDS = ("uniform", "clustered", "city", "radii")
#: Demand weight distributions of :func:`generate`.
WEIGHT_KINDS = ("integer", "heavy", "equal")

_CELL_M = 100.0


def generate(
    kind: str,
    n_demand: int,
    n_candidates: int,
    *,
    seed: int = 0,
    weights: str = "integer",
    reach: float = 10.0,
    side: float = 10_000.0,
    clusters: int = 10,
) -> LocationProblem:
    """Draw a random location problem (demand points, candidate sites, a radius).

    Parameters
    ----------
    kind : {"uniform", "clustered", "city", "radii"}
        How points are placed (see the module docstring).
    n_demand, n_candidates : int
        Number of demand points and of candidate sites (all candidates; no existing sites).
    seed : int
        Seed of NumPy's PCG64 generator: the same seed gives the same instance.
    weights : {"integer", "heavy", "equal"}
        Demand weight distribution.
    reach : float
        Mean number of candidates within the suggested radius (ignored by ``"radii"``, which
        draws it between 2 and 30).
    side : float
        Side of the square in metres (``"uniform"``, ``"clustered"``, ``"radii"``).
    clusters : int
        Number of Gaussian blobs of ``"clustered"``.

    Returns
    -------
    LocationProblem
        Coordinates in metres (no CRS for the square kinds; EPSG:5179 for ``"city"``), ids
        ``"d0"…`` and ``"c0"…``. ``notes["radius"]`` is the suggested radius (metres) and
        ``notes["instance"]`` records kind, sizes, seed and parameters.

    Raises
    ------
    SpecificationError
        Unknown kind or weights, non-positive sizes.

    Examples
    --------
    >>> problem = generate("clustered", 1000, 100, seed=1)
    >>> problem.n_demand, problem.n_sites, round(problem.notes["radius"])
    (1000, 100, 1784)
    """
    _check(kind, n_demand, n_candidates, weights, reach, side, clusters)
    rng = np.random.default_rng(seed)
    crs = None
    if kind == "city":
        demand, sites, area = _city_points(rng, n_demand, n_candidates)
        crs = "EPSG:5179"
    elif kind == "clustered":
        centres = rng.uniform(0.1 * side, 0.9 * side, (clusters, 2))
        demand = _mixture(rng, centres, side, n_demand)
        n_mix = n_candidates // 2
        sites = np.vstack(
            [_mixture(rng, centres, side, n_mix), rng.uniform(0, side, (n_candidates - n_mix, 2))]
        )
        area = side * side
    else:
        demand = rng.uniform(0, side, (n_demand, 2))
        sites = rng.uniform(0, side, (n_candidates, 2))
        area = side * side
    if kind == "radii":
        reach = float(rng.uniform(2.0, 30.0))
    w = _weights(rng, weights, n_demand)
    radius = float(np.sqrt(reach * area / (np.pi * n_candidates)))
    return LocationProblem(
        demand_ids=np.char.add("d", np.arange(n_demand).astype(str)).astype(object),
        weights=w,
        site_ids=np.char.add("c", np.arange(n_candidates).astype(str)).astype(object),
        existing=np.zeros(n_candidates, dtype=bool),
        demand_xy=demand,
        site_xy=sites,
        unit="m",
        crs=None if crs is None else CRS.from_user_input(crs),
        notes={
            "distances": "straight line (planar, metres)",
            "radius": radius,
            "instance": {
                "kind": kind,
                "n_demand": n_demand,
                "n_candidates": n_candidates,
                "seed": seed,
                "weights": weights,
                "reach": reach,
                "side": side if kind != "city" else None,
                "clusters": clusters if kind == "clustered" else None,
            },
        },
    )


def _check(kind, n_demand, n_candidates, weights, reach, side, clusters) -> None:
    if kind not in INSTANCE_KINDS:
        raise SpecificationError(
            f"The 'kind' parameter must be one of {', '.join(INSTANCE_KINDS)}. Got {kind!r}."
        )
    if weights not in WEIGHT_KINDS:
        raise SpecificationError(
            f"The 'weights' parameter must be one of {', '.join(WEIGHT_KINDS)}. Got {weights!r}."
        )
    for name, value in (("n_demand", n_demand), ("n_candidates", n_candidates)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise SpecificationError(f"The {name!r} parameter must be an int >= 1. Got {value!r}.")
    for name, value in (("reach", reach), ("side", side), ("clusters", clusters)):
        if not (np.isfinite(value) and value > 0):
            raise SpecificationError(f"The {name!r} parameter must be positive. Got {value!r}.")


def _mixture(rng: np.random.Generator, centres: np.ndarray, side: float, n: int) -> np.ndarray:
    which = rng.integers(0, len(centres), n)
    pts = centres[which] + rng.normal(0.0, side / 25.0, (n, 2))
    return np.clip(pts, 0.0, side)


def _weights(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    if kind == "integer":
        return rng.integers(1, 101, n).astype(float)
    if kind == "heavy":
        return 1.0 + rng.pareto(1.2, n)
    return np.ones(n)


@lru_cache(maxsize=1)
def _seoul_cells() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres, households and land area (m²) of the 100 m cells of Seoul's dongs."""
    from dongne.allocate.problem import spread_demand
    from dongne.datasets import seoul_dongs

    with warnings.catch_warnings():
        # 7 dongs have no 2010 census row: their households count as 0 (fillna below).
        warnings.simplefilter("ignore", UnmatchedWarning)
        dongs = seoul_dongs(crosswalk=False)
    # weight=None: each piece carries its share of its dong's area.
    pieces = spread_demand(dongs, method="grid", spacing=_CELL_M)
    share = pieces["demand_weight"].to_numpy()
    dong = pieces["area_index"].to_numpy()
    xy = pieces.geometry.get_coordinates().to_numpy()
    # The pieces of one 100 m cell (cut by dong boundaries) share the cell's corner.
    cell = np.floor(xy / _CELL_M).astype(np.int64)
    keys, inv = np.unique(cell, axis=0, return_inverse=True)
    inv = inv.ravel()
    households = dongs["households"].fillna(0).to_numpy(dtype=float)[dong] * share
    land = dongs.to_crs(pieces.crs).area.to_numpy()[dong] * share
    households = np.bincount(inv, households, minlength=len(keys))
    land = np.bincount(inv, land, minlength=len(keys))
    return keys.astype(float) * _CELL_M, households, land


def _city_points(
    rng: np.random.Generator, n_demand: int, n_candidates: int
) -> tuple[np.ndarray, np.ndarray, float]:
    corners, households, land = _seoul_cells()
    d_cells = rng.choice(len(corners), n_demand, p=households / households.sum())
    s_cells = rng.choice(len(corners), n_candidates, p=land / land.sum())
    demand = corners[d_cells] + rng.uniform(0.0, _CELL_M, (n_demand, 2))
    sites = corners[s_cells] + rng.uniform(0.0, _CELL_M, (n_candidates, 2))
    return demand, sites, float(land.sum())


def read_orlib_pmedian(path: str | Path) -> tuple[np.ndarray, int]:
    """An OR-Library p-median instance (``pmed1.txt`` … ``pmed40.txt``, Beasley 1990).

    The file gives ``n m p`` and then ``m`` undirected edges ``i j cost`` (1-based; where an
    edge is listed twice the last one counts, as in Beasley's own reading). The cost between
    two vertices is their shortest-path distance (Floyd–Warshall, as the published optima use).

    Returns
    -------
    cost : ndarray, shape (n, n)
        Shortest-path distances (every vertex is both demand and candidate site).
    p : int
        Number of medians.

    References
    ----------
    Beasley, J. E. (1990). OR-Library: distributing test problems by electronic mail.
    *Journal of the Operational Research Society* 41(11), 1069–1072.
    """
    from scipy.sparse.csgraph import shortest_path

    lines = Path(path).read_text().split("\n")
    n, m, p = map(int, lines[0].split())
    graph = np.full((n, n), np.inf)
    for line in lines[1 : 1 + m]:
        i, j, c = map(int, line.split())
        graph[i - 1, j - 1] = graph[j - 1, i - 1] = c
    np.fill_diagonal(graph, 0)
    return shortest_path(graph, method="FW", directed=False), p

