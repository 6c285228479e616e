"""Global Moran's I against published numbers (esda tests) and esda itself."""

import re
import warnings

import esda
import libpysal
import numpy as np
import pandas as pd
import pytest

from dongne import weights
from dongne.datasets import seoul_dongs
from dongne.detect.moran import GlobalMoran
from dongne.weights import SpatialWeights


def _gal(name):
    w0 = libpysal.io.open(libpysal.examples.get_path(name)).read()
    return w0, SpatialWeights.from_sparse(w0.sparse, w0.id_order, transform="binary")


def test_stl_homicides_published():
    _w0, w = _gal("stl.gal")
    y = pd.read_csv(libpysal.examples.get_path("stl_hom.csv"))["HR8893"].to_numpy()
    m = GlobalMoran(alternative="greater", rng=0).fit(y, w)
    assert m.statistic_ == pytest.approx(0.24365582621771659, rel=1e-12)
    assert m.expected_ == pytest.approx(-1 / 77, rel=1e-12)
    assert m.p_normal_ == pytest.approx(0.00013573931385468807, rel=1e-9)


def test_sids_published():
    _w0, w = _gal("sids2.gal")
    db = libpysal.io.open(libpysal.examples.get_path("sids2.dbf"))
    y = np.array(db.by_col("SIDR74"))
    m = GlobalMoran(alternative="greater", permutations=0).fit(y, w)
    assert m.statistic_ == pytest.approx(0.24772519320480135, rel=1e-12)
    assert m.p_normal_ == pytest.approx(5.7916539074498452e-05, rel=1e-9)


def test_seoul_equals_esda():
    dongs = seoul_dongs()
    w = weights.queen(dongs, ids="dong_code")
    y = dongs["basement_household_pct"].to_numpy()
    m = GlobalMoran(permutations=999, rng=1).fit(y, w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.random.seed(1)  # noqa: NPY002 -- esda.Moran draws from the global state
        ref = esda.Moran(y, w.to_libpysal(), transformation="r", permutations=999)
    for ours, theirs in [
        (m.statistic_, ref.I),
        (m.variance_normal_, ref.VI_norm),
        (m.variance_randomisation_, ref.VI_rand),
        (m.z_normal_, ref.z_norm),
        (m.z_randomisation_, ref.z_rand),
        (m.p_normal_, ref.p_norm),
    ]:
        assert ours == pytest.approx(theirs, rel=1e-9)
    # Permutation distribution: same mean and spread as esda's up to Monte Carlo error.
    assert m.simulations_.mean() == pytest.approx(ref.EI_sim, abs=4 * ref.seI_sim / np.sqrt(999))
    assert m.simulations_.std() == pytest.approx(ref.seI_sim, rel=0.1)
    assert m.p_value_ == pytest.approx(2 / 1000)  # two-sided floor: I far above any permutation
    assert "similar values cluster" in m.summary()
    ko = m.summary(lang="ko")  # Korean without English words ("two-sided", "seed")
    assert "양측 검정, 순열 999회, 시드" in ko and "비슷한 값이 공간적으로 모여" in ko
    assert not re.search(r"[a-z]{4,}", ko.replace("pseudo", "")), ko


def test_permutations_reproducible_and_batch_invariant():
    _, w = _gal("stl.gal")
    y = pd.read_csv(libpysal.examples.get_path("stl_hom.csv"))["HR8893"].to_numpy()
    a = GlobalMoran(permutations=1500, rng=9).fit(y, w).simulations_
    b = GlobalMoran(permutations=1500, rng=9).fit(y, w).simulations_
    np.testing.assert_array_equal(a, b)
    short = GlobalMoran(permutations=700, rng=9).fit(y, w).simulations_
    np.testing.assert_array_equal(a[:700], short)  # permutation r is the same in any run


def test_affine_invariance():
    _, w = _gal("stl.gal")
    y = pd.read_csv(libpysal.examples.get_path("stl_hom.csv"))["HR8893"].to_numpy()
    a = GlobalMoran(permutations=99, rng=1).fit(y, w)
    b = GlobalMoran(permutations=99, rng=1).fit(3 * y - 7, w)
    assert a.statistic_ == pytest.approx(b.statistic_, rel=1e-10)
    assert a.p_value_ == b.p_value_
