"""The scheduler switch, chunked local statistics and partitioned contiguity.

Every Monte Carlo estimator must give bit-identical results in this process and in worker
processes (``scheduler="processes"``); the Dask cluster runs are in test_parallel_cluster.py.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from dongne import weights
from dongne.allocate import LocationProblem, demand_points, pareto_sweep
from dongne.datasets import seoul_dongs, seoul_gu, seoul_heat_shelters
from dongne.detect import GetisOrd, GlobalMoran, LocalMoran, RankStability, ScanStatistic
from dongne.detect import _prepare as prep
from dongne.detect._kernels import local_permutation_counts
from dongne.detect.chunked import local_permutation_sums
from dongne.errors import SpecificationError
from dongne.parallel import (
    batch_ranges,
    describe_scheduler,
    map_batches,
    map_tasks,
    partitioned_contiguity,
    run_batches,
    sum_batches,
)

INDICATORS = {
    "basement_household_pct_2015": "+",
    "livelihood_recipient_households_per_100_households": "+",
    "residential_env_satisfaction": "-",
    "pop_65plus_pct": "+",
}


@pytest.fixture(scope="module")
def seoul():
    dongs = seoul_dongs()
    w = weights.queen(dongs, ids="dong_code")
    y = dongs.set_index("dong_code")["basement_household_pct"]
    return dongs, w, y


def grid(nx: int, ny: int) -> gpd.GeoDataFrame:
    cells = [box(x, y, x + 1, y + 1) for y in range(ny) for x in range(nx)]
    return gpd.GeoDataFrame(
        {"cell": [f"c{i:04d}" for i in range(nx * ny)]}, geometry=cells, crs=5179
    )


def _assert_same(a, b, names):
    for name in names:
        left, right = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        if left.dtype == object:
            assert left.tolist() == right.tolist(), name
        else:
            assert np.array_equal(left, right, equal_nan=True), name


# ---------------------------------------------------------------- scheduler mechanics
def test_batches_cover_the_range_once_in_order():
    assert batch_ranges(2001, 1000) == [(0, 1000), (1000, 1000), (2000, 1)]
    assert batch_ranges(0, 1000) == []
    assert describe_scheduler("tcp://10.0.0.5:8786") == "dask tcp://10.0.0.5:8786"


_SUMMANDS = np.array([1e16, 1.0, -1e16, 1.0])


def _summand(scale, seed, first, count):
    # Batch b contributes _SUMMANDS[b]: floating-point sums of these depend on the order.
    return (np.full(3, scale * _SUMMANDS[first // count]),)


def test_sums_are_accumulated_in_batch_order():
    # ((1e16 + 1) - 1e16) + 1 = 1 in batch order; (1 + 1) + (1e16 - 1e16) would give 2.
    assert (1.0 + 1.0) + (1e16 - 1e16) == 2.0
    for scheduler in (None, "processes"):
        [total] = sum_batches(_summand, (1.0,), 0, 4, batch_size=1, scheduler=scheduler)
        assert total.tolist() == [1.0, 1.0, 1.0]
    parts = map_batches(_summand, (2.0,), 0, 4, batch_size=1, scheduler="processes")
    assert [p[0][0] for p in parts] == (2 * _SUMMANDS).tolist()


def _square(offset, value):
    return value * value + offset


def test_map_tasks_keeps_task_order_and_consumes_in_order():
    seen = []
    out = map_tasks(_square, (1,), [(v,) for v in range(6)], consume=lambda i, r: seen.append(i))
    assert out == [None] * 6 and seen == list(range(6))
    assert map_tasks(_square, (1,), [(v,) for v in range(4)]) == [1, 2, 5, 10]


def test_unknown_scheduler_is_refused_with_the_choices():
    with pytest.raises(SpecificationError, match="tcp://"):
        map_batches(_summand, (1.0,), 0, 5, scheduler="cluster-please")
    with pytest.raises(SpecificationError, match="dict"):
        map_batches(_summand, (1.0,), 0, 5, scheduler={})


def test_blocks_of_areas_equal_the_whole_matrix_run(seoul):
    """Row blocks × batches give the run_batches numbers bit for bit (both methods)."""
    _dongs, w, y = seoul
    wt = w.row_standardised()
    m = wt.to_sparse()
    z = (y.to_numpy() - y.mean()) / y.std(ddof=0)
    den = float(z @ z)
    scale = (len(z) - 1) * z / den
    shift = np.zeros_like(z)
    observed = scale * (m @ z)
    tol = 1e-10 * np.maximum(np.abs(observed), 1e-300) + 1e-14
    data = (z, m.indptr.astype(np.int64), m.data, scale, shift, observed, tol)
    kmax = int(np.diff(m.indptr).max())
    for method, kernel in (("exact", local_permutation_counts), ("table", None)):
        kernel = kernel or prep.table_kernel(kmax, len(z))
        whole = run_batches(kernel, data, 11, 2300)
        ticks: list[int] = []
        blocks = local_permutation_sums(
            *data,
            11,
            2300,
            method=method,
            block_rows=97,
            progress=lambda d, _t, s=ticks: s.append(d),
        )
        for a, b in zip(whole, blocks, strict=True):
            assert np.array_equal(a, b), method
        assert ticks[-1] == 2300
        # Every permuted statistic lies in at least one tail, and the tails are not empty.
        assert np.all(blocks[0] + blocks[1] >= 2300) and blocks[0].sum() > 0 < blocks[1].sum()


# ---------------------------------------------------------------- estimators, processes
def test_local_statistics_identical_in_worker_processes(seoul):
    _dongs, w, y = seoul
    names = ["p_values_", "p_adjusted_", "z_sim_", "expected_sim_", "n_ge_", "n_le_", "labels_"]
    for method in ("table", "exact"):
        opts = {"permutations": 2100, "rng": 7, "permutation_method": method}
        a = LocalMoran(**opts).fit(y, w)
        b = LocalMoran(**opts, scheduler="processes").fit(y, w)
        _assert_same(a, b, names)
        assert b.provenance_ == a.provenance_
    x = y.clip(lower=0)
    a = GetisOrd(permutations=1500, rng=2).fit(x, w)
    b = GetisOrd(permutations=1500, rng=2, scheduler="processes").fit(x, w)
    _assert_same(a, b, names)
    # A different seed gives different permutations (the comparison above can fail).
    c = GetisOrd(permutations=1500, rng=3).fit(x, w)
    assert not np.array_equal(a.n_ge_, c.n_ge_)


def test_global_scan_index_identical_in_worker_processes(seoul):
    _dongs, w, y = seoul
    a = GlobalMoran(permutations=2500, rng=5).fit(y, w)
    b = GlobalMoran(permutations=2500, rng=5, scheduler="processes").fit(y, w)
    assert np.array_equal(a.simulations_, b.simulations_)
    assert (a.p_value_, a.z_sim_) == (b.p_value_, b.z_sim_)

    xy = np.array([[x, y] for y in range(12) for x in range(12)], dtype=float)
    cases = np.random.default_rng(0).poisson(5, size=len(xy))
    cases[:3] += 12
    population = np.full(len(xy), 1000)
    opts = {"max_population_share": 0.1, "replications": 1999, "rng": 4}
    s1 = ScanStatistic(**opts).fit(cases, population, xy)
    s2 = ScanStatistic(**opts, scheduler="processes").fit(cases, population, xy)
    assert np.array_equal(s1.llr_replicates_, s2.llr_replicates_)
    pd.testing.assert_frame_equal(s1.clusters_, s2.clusters_)

    gu = seoul_gu()
    r1 = RankStability(INDICATORS, top_k=5, replications=450, rng=3).fit(gu, id_column="gu_name")
    r2 = RankStability(INDICATORS, top_k=5, replications=450, rng=3, scheduler="processes").fit(
        gu, id_column="gu_name"
    )
    assert np.array_equal(r1.ranks_, r2.ranks_) and r1.choices_ == r2.choices_


def test_pareto_sweep_identical_in_worker_processes():
    dongs = seoul_dongs()
    shelters = seoul_heat_shelters()
    shelters = shelters[(shelters["in_use"] == "Y") & (shelters["coord_check"] == "ok")]
    problem = LocationProblem.from_geodataframes(
        demand_points(dongs),
        demand_points(dongs),
        shelters,
        weight="basement_households",
        group="gu_name",
    )
    a = pareto_sweep(problem, p=4, radius=250, n_points=3)
    b = pareto_sweep(problem, p=4, radius=250, n_points=3, scheduler="processes")
    pd.testing.assert_frame_equal(a, b)
    assert a["worst_group_coverage"].iloc[-1] >= a["worst_group_coverage"].iloc[0]


# ---------------------------------------------------------------- partitioned contiguity
@pytest.mark.parametrize("rook", [False, True])
def test_partitioned_contiguity_equals_whole_set(rook):
    cells = grid(13, 11)
    whole = (weights.rook if rook else weights.queen)(cells, ids="cell")
    # Compact strips, and a scattered split whose bounding boxes all overlap.
    strips = [cells.iloc[i : i + 40] for i in range(0, len(cells), 40)]
    scattered = [cells.iloc[i::3] for i in range(3)]
    for parts in (strips, scattered):
        w = partitioned_contiguity(parts, ids="cell", rook=rook)
        order = pd.concat(parts)["cell"]
        expected = whole.to_sparse()[whole.ids.get_indexer(order)][:, whole.ids.get_indexer(order)]
        assert list(w.ids) == list(order)
        assert (w.to_sparse() != expected).nnz == 0
        assert w.kind == ("rook" if rook else "queen")
    assert whole.cardinalities.max() == (4 if rook else 8)


def test_partitioned_contiguity_from_geoparquet_row_groups(tmp_path):
    cells = grid(20, 15)
    path = tmp_path / "cells.parquet"
    cells.to_parquet(path, row_group_size=64)
    w = partitioned_contiguity(path)
    assert w.params["partitions"] == 5
    assert list(w.ids) == list(range(300))
    assert (w.to_sparse() != weights.queen(cells).to_sparse()).nnz == 0
    named = partitioned_contiguity(path, ids="cell")
    assert list(named.ids) == list(cells["cell"])


def test_partitioned_contiguity_refuses_bad_input():
    with pytest.raises(SpecificationError, match="empty"):
        partitioned_contiguity([])
    with pytest.raises(SpecificationError, match="snap"):
        partitioned_contiguity([grid(2, 2)], snap=-1.0)
    with pytest.raises(SpecificationError, match="not a column"):
        partitioned_contiguity([grid(2, 2)], ids="code")
