"""Instance generators: reproducible, the asked sizes, the promised densities and weights."""

from __future__ import annotations

import numpy as np
import pytest

from dongne.allocate.instances import INSTANCE_KINDS, _seoul_cells, generate
from dongne.errors import SpecificationError


@pytest.mark.parametrize("kind", INSTANCE_KINDS)
def test_same_seed_same_instance_other_seed_other(kind):
    a = generate(kind, 500, 60, seed=7)
    b = generate(kind, 500, 60, seed=7)
    c = generate(kind, 500, 60, seed=8)
    assert (a.n_demand, a.n_sites) == (500, 60)
    np.testing.assert_array_equal(a.demand_xy, b.demand_xy)
    np.testing.assert_array_equal(a.site_xy, b.site_xy)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(a.demand_xy, c.demand_xy)
    assert a.notes["instance"]["kind"] == kind and a.notes["radius"] > 0


@pytest.mark.parametrize("kind", ["uniform", "city"])
def test_suggested_radius_gives_the_asked_mean_reach(kind):
    # Uniform density: reach candidates within the radius on average (edge effects lower it a
    # little on the square; Seoul's irregular outline does the same).
    problem = generate(kind, 4000, 400, seed=1, reach=10.0)
    cover = problem.covering(problem.notes["radius"])
    mean = cover.nnz / problem.n_demand
    assert 7.5 < mean < 11.0


def test_city_demand_follows_households():
    problem = generate("city", 20000, 50, seed=0)
    # Seoul in EPSG:5179 metres; demand lies within the city's bounding box.
    x, y = problem.demand_xy.T
    assert problem.crs.to_epsg() == 5179
    assert 935_000 < x.min() and x.max() < 972_100 and 1_936_600 < y.min() and y.max() < 1_967_000
    # Per 1 km block, the number of demand points follows the households (Poisson noise
    # aside), while candidates follow land area.
    corners, households, land = _seoul_cells()
    block = np.floor(corners / 1000).astype(np.int64)
    keys, inv = np.unique(block, axis=0, return_inverse=True)
    hh = np.bincount(inv.ravel(), households)
    area = np.bincount(inv.ravel(), land)
    pos = {tuple(k): i for i, k in enumerate(keys)}
    counts = np.zeros(len(keys))
    for b in map(tuple, np.floor(problem.demand_xy / 1000).astype(np.int64)):
        counts[pos[b]] += 1
    assert np.corrcoef(counts, hh)[0, 1] > 0.9
    assert np.corrcoef(counts, hh)[0, 1] > np.corrcoef(counts, area)[0, 1] + 0.05


def test_weight_kinds():
    heavy = generate("uniform", 20000, 10, seed=0, weights="heavy").weights
    integer = generate("uniform", 20000, 10, seed=0, weights="integer").weights
    equal = generate("uniform", 20000, 10, seed=0, weights="equal").weights
    assert heavy.min() >= 1 and np.quantile(heavy, 0.99) > 20 * np.median(heavy) / 2
    assert set(np.unique(integer)) <= set(range(1, 101)) and (equal == 1).all()


def test_clustered_is_clustered_and_radii_vary():
    uni = generate("uniform", 5000, 100, seed=2)
    clu = generate("clustered", 5000, 100, seed=2)
    r = uni.notes["radius"]
    assert clu.covering(r).nnz > 1.5 * uni.covering(r).nnz
    radii = {round(generate("radii", 10, 100, seed=s).notes["radius"]) for s in range(5)}
    assert len(radii) == 5


@pytest.mark.parametrize("args", [("moon", 10, 10), ("uniform", 0, 10), ("uniform", 10, 2.5)])
def test_bad_arguments_are_refused(args):
    with pytest.raises(SpecificationError):
        generate(*args)
