"""Space-time scan against SaTScan's published output on its NYC fever sample data.

Reference outputs and data sources: ``tests/data/nyc_fever/README.md``. Tolerances: areas,
time spans and counts exactly; expected counts and O/E to SaTScan's printed digits; the test
statistic (LLR) to the 6 printed decimals (|Δ| < 5e-7); radii to the printed 2 decimals once
rescaled to SaTScan's Earth radius of 6367 km (dongne uses the IUGG mean 6371.0088 km).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dongne.errors import DataError, SpecificationError
from dongne.spacetime import SpaceTimeScan, cube_from_events, cube_from_long, recurrence_text

DATA = Path(__file__).parent / "data" / "nyc_fever"
SATSCAN_EARTH = 6367.0 / 6371.0088

# (members, radius km, start, end, cases, expected, O/E, LLR) as printed by SaTScan.
PROSPECTIVE = [
    (
        [11418, 11415, 11419, 11435, 11416, 11421, 11451, 11375, 11417],
        2.90, "2001-11-22", "2001-11-24", 4, "0.67", "5.97", "3.845418",
    ),
    ([11372], 0.0, "2001-11-24", "2001-11-24", 2, "0.16", "12.13", "3.164201"),
    (
        [10464, 10475, 10465, 10469, 10461, 10466, 10462, 10467, 11024, 10472],
        6.98, "2001-11-23", "2001-11-24", 5, "1.66", "3.00", "2.192250",
    ),
]  # fmt: skip
RETROSPECTIVE = [
    (
        [10454, 10455, 10451, 10035, 10037, 10030, 10029, 10456],
        2.70, "2001-11-08", "2001-11-08", 5, "0.40", "12.60", "8.119521",
    ),
    ([11379, 11374, 11373], 2.07, "2001-11-10", "2001-11-11", 4, "0.46", "8.62", "5.113791"),
    (
        [11418, 11415, 11419, 11435, 11416, 11421, 11451, 11375, 11417],
        2.90, "2001-11-22", "2001-11-23", 4, "0.46", "8.62", "5.113791",
    ),
    ([11434], 0.0, "2001-11-16", "2001-11-16", 2, "0.072", "27.71", "4.725675"),
    ([10304, 10301], 1.84, "2001-11-15", "2001-11-15", 2, "0.072", "27.71", "4.725675"),
    ([10460, 10457, 10462], 1.83, "2001-11-09", "2001-11-09", 3, "0.25", "11.88", "4.696100"),
    (
        [11050, 11024, 11030, 11023, 11021, 11020, 11363, 11359, 11042, 10464, 11005, 11362,
         11360, 11004, 11361, 11040, 10465, 11426, 11364, 11357, 11358, 10475],
        11.97, "2001-11-04", "2001-11-05", 3, "0.28", "10.78", "4.430018",
    ),
    (
        [11226, 11218, 11225, 11203, 11210, 11230, 11215, 11213],
        3.46, "2001-11-05", "2001-11-05", 4, "0.70", "5.75", "3.719788",
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def fever():
    cases = pd.read_csv(DATA / "NYCfever_cas.csv")
    geo = pd.read_csv(DATA / "NYCfever_geo.csv").set_index("zip")
    cube = cube_from_events(
        cases, "zip", "date", freq="D", weight="cases", start="2001-11-01",
        end="2001-11-24", areas=geo.index, now=False,
    )  # fmt: skip
    return cube, geo[["lat", "long"]]


def _printed(x: float, text: str) -> bool:
    """Whether ``x`` prints as ``text`` with SaTScan's rounding (half away from zero: it
    prints O/E 12.125 as 12.13)."""
    step = Decimal(text).as_tuple().exponent
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(step), ROUND_HALF_UP) == Decimal(text)


def _check(clusters: pd.DataFrame, expected: list) -> None:
    assert len(clusters) >= len(expected)
    for (_, row), ref in zip(clusters.iterrows(), expected, strict=False):
        members, radius, start, end, cases, exp, oe, llr = ref
        assert row["members"] == members
        assert (row["start"], row["end"]) == (start, end)
        assert row["cases"] == cases
        assert _printed(row["expected"], exp), (row["expected"], exp)
        assert _printed(row["observed_expected"], oe), (row["observed_expected"], oe)
        assert abs(row["llr"] - float(llr)) < 5e-7, (row["llr"], llr)
        # SaTScan's radius (Earth radius 6367 km) rounds to the printed 2 decimals.
        assert row["radius"] / 1000 * SATSCAN_EARTH == pytest.approx(radius, abs=5e-3)


def test_prospective_reproduces_satscan_nyc_fever(fever):
    cube, geo = fever
    scan = SpaceTimeScan(analysis="prospective", replications=199, rng=3)
    scan.fit(cube, geo, coordinates="latlon")
    _check(scan.clusters_, PROSPECTIVE)
    # The most likely cluster is not significant (SaTScan: p = 0.355 after 141 sequential
    # replications); its recurrence interval is about 3 days as SaTScan printed.
    first = scan.clusters_.iloc[0]
    assert 0.2 < first["p_value"] < 0.5
    assert recurrence_text(first["recurrence_steps"], cube.freq) in {
        "recurrence interval once in 3 days", "recurrence interval once in 4 days",
        "recurrence interval once in 2 days",
    }  # fmt: skip


def test_retrospective_reproduces_satscan_nyc_fever(fever):
    cube, geo = fever
    scan = SpaceTimeScan(replications=99, rng=5).fit(cube, geo, coordinates="latlon")
    _check(scan.clusters_, RETROSPECTIVE)
    # SaTScan: p = 0.020 with 999 replications; with 99 the MC p of LLR 8.12 stays small.
    assert scan.clusters_.loc[0, "p_value"] <= 0.05


def test_replicates_do_not_depend_on_batching_or_threads(fever):
    import numba

    cube, geo = fever
    one = SpaceTimeScan(analysis="prospective", replications=40, rng=9)
    one.fit(cube, geo, coordinates="latlon")
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        from dongne.spacetime.scan import _replicate_batch  # noqa: F401

        two = SpaceTimeScan(analysis="prospective", replications=40, rng=9)
        two.fit(cube, geo, coordinates="latlon")
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.llr_replicates_, two.llr_replicates_)
    other = SpaceTimeScan(analysis="prospective", replications=40, rng=10)
    other.fit(cube, geo, coordinates="latlon")
    assert not np.array_equal(one.llr_replicates_, other.llr_replicates_)


def test_permutation_replicates_keep_margins():
    from dongne.spacetime import _kernels as kern

    area = np.array([0, 0, 1, 2, 2, 2])
    time = np.array([0, 1, 1, 0, 2, 2])
    for r in range(5):
        out = kern.permute_times(area, time, 3, 3, 7, r)
        np.testing.assert_array_equal(out.sum(axis=1), [2, 1, 3])
        np.testing.assert_array_equal(out.sum(axis=0), [2, 2, 2])


def test_poisson_space_time_matches_brute_force():
    rng = np.random.default_rng(0)
    n, t = 7, 6
    xy = rng.uniform(size=(n, 2))
    pop = rng.integers(100, 1000, n).astype(float)
    counts = rng.poisson(0.01 * pop[:, None] * np.ones(t))
    counts[2, 4:] += 6
    rows = [(a, s, counts[a, s]) for a in range(n) for s in range(t)]
    cube = cube_from_long(pd.DataFrame(rows, columns=["a", "t", "n"]), "a", "t", "n")
    scan = SpaceTimeScan("poisson", max_duration=3, replications=0).fit(cube, xy, population=pop)
    total = counts.sum()
    mu = pop[:, None] * np.ones(t) * total / (pop.sum() * t)
    best = 0.0
    for j in range(n):
        order = np.argsort(np.hypot(*(xy - xy[j]).T), kind="stable")
        for k in range(1, n + 1):
            inside = order[:k]
            if pop[inside].sum() > 0.5 * pop.sum():
                break
            for t1 in range(t):
                for t2 in range(t1, min(t, t1 + 3)):
                    c = counts[inside, t1 : t2 + 1].sum()
                    e = mu[inside, t1 : t2 + 1].sum()
                    if c >= 2 and c > e:
                        llr = c * np.log(c / e) + (total - c) * np.log((total - c) / (total - e))
                        best = max(best, llr)
    assert scan.clusters_.loc[0, "llr"] == pytest.approx(best, rel=1e-12)


def test_bad_parameters_are_refused(fever):
    cube, geo = fever
    with pytest.raises(SpecificationError, match="max_duration"):
        SpaceTimeScan(max_duration=0).fit(cube, geo, coordinates="latlon")
    with pytest.raises(SpecificationError, match="population"):
        SpaceTimeScan("poisson").fit(cube, geo, coordinates="latlon")
    with pytest.raises(DataError, match="no row for areas"):
        SpaceTimeScan().fit(cube, geo.iloc[:-1], coordinates="latlon")


def test_batches_and_processes_give_identical_maxima(fever):
    from dongne.spacetime.scan import _replicate_batch

    cube, geo = fever
    ref = SpaceTimeScan(analysis="prospective", replications=30, rng=2)
    ref.fit(cube, geo, coordinates="latlon")
    # replicate r depends only on (seed, r): cut 0..29 into two batches
    shared = _shared_args(ref, cube, geo)
    parts = [
        _replicate_batch(*shared, ref.seed_, 0, 10),
        _replicate_batch(*shared, ref.seed_, 10, 20),
    ]
    np.testing.assert_array_equal(np.concatenate(parts), ref.llr_replicates_)
    other = SpaceTimeScan(analysis="prospective", replications=30, rng=2, scheduler="processes")
    other.fit(cube, geo, coordinates="latlon")
    np.testing.assert_array_equal(other.llr_replicates_, ref.llr_replicates_)


def _shared_args(scan, cube, geo):
    """The arguments every batch of ``scan`` shares, rebuilt as ``fit`` builds them."""
    from dongne.detect._scan_core import build_windows, conditional_shares, first_of_duplicates
    from dongne.detect._scan_inputs import resolve_locations
    from dongne.spacetime import _kernels as kern

    counts = cube.values
    px, py, _info = resolve_locations(geo.reindex(cube.areas).to_numpy(), len(cube.areas),
                                     "latlon", cube.areas)  # fmt: skip
    weight = counts.sum(axis=1)
    keep = first_of_duplicates(px, py)
    offsets, entries = build_windows(px, py, px[keep], py[keep], weight, 0.5 * weight.sum(),
                                      np.inf, len(px), True)  # fmt: skip
    whole = counts.astype(np.int64)
    case_area = np.repeat(np.arange(len(px)), whole.sum(axis=1))
    case_time = np.concatenate([np.repeat(np.arange(counts.shape[1]), r) for r in whole])
    steps = counts.shape[1]
    return (offsets, entries, kern.PERMUTATION, case_area, case_time.astype(np.int64),
            conditional_shares(scan.expected_.ravel()), scan.expected_, float(counts.sum()),
            steps - 1, scan.max_steps_, 2.0)  # fmt: skip


@pytest.mark.parametrize("rate", [0.4, 4.0])
def test_replicate_maxima_equal_brute_force(rate):
    """The kernels skip circles that add no case, end steps whose intervals cannot win
    (sliding excess bound) and intervals that cannot win; the maxima of permuted data sets
    must still equal a scan of every cylinder, on sparse and on dense counts."""
    from dongne.detect._scan_core import build_windows
    from dongne.spacetime import _kernels as kern

    rng = np.random.default_rng(8)
    n, t, max_len = 12, 9, 4
    xy = rng.uniform(size=(n, 2))
    counts = rng.poisson(rate, size=(n, t)).astype(float)
    counts[[2, 7]] = 0.0  # areas without any case
    total = counts.sum()
    mu = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / total
    weight = counts.sum(axis=1)
    offsets, entries = build_windows(xy[:, 0], xy[:, 1], xy[:, 0], xy[:, 1], weight,
                                      0.5 * total, np.inf, n, False)  # fmt: skip
    whole = counts.astype(np.int64)
    area = np.repeat(np.arange(n), whole.sum(axis=1))
    time = np.concatenate([np.repeat(np.arange(t), r) for r in whole])
    for end_lo in (0, t - 1):
        for r in range(12):
            perm = kern.permute_times(area, time, n, t, 3, r)
            fast = kern._max_llr(offsets, entries, perm, mu, total, end_lo, max_len, 2.0)
            best = 0.0
            for j in range(n):
                block = entries[offsets[j] : offsets[j + 1]]
                for k in np.flatnonzero(block >= 0):
                    inside = np.where(block[: k + 1] >= 0, block[: k + 1], ~block[: k + 1])
                    for t2 in range(end_lo, t):
                        for t1 in range(max(0, t2 - max_len + 1), t2 + 1):
                            c = perm[inside, t1 : t2 + 1].sum()
                            e = mu[inside, t1 : t2 + 1].sum()
                            best = max(best, kern.cylinder_llr(c, e, total, 2.0))
            assert fast == pytest.approx(best, rel=1e-12, abs=1e-12)


def _retro_plan(counts, xy, max_len, kappa, great_circle=False):
    """Windows and block plan of a retrospective permutation scan, as ``fit`` builds them."""
    from dongne.detect._scan_core import build_windows
    from dongne.spacetime import _kernels as kern

    weight = counts.sum(axis=1)
    wcum = np.concatenate([[0.0], np.cumsum(counts.sum(axis=0))])
    total = float(counts.sum())
    offsets, entries = build_windows(xy[:, 0], xy[:, 1], xy[:, 0], xy[:, 1], weight,
                                      0.5 * total, np.inf, len(xy), great_circle)  # fmt: skip
    rcum, bend = kern.plan_blocks(offsets, entries, weight, wcum, total, max_len, kappa)
    return offsets, entries, rcum, bend, wcum, total


@pytest.mark.parametrize("rate", [0.3, 3.0])
def test_retrospective_pruning_is_exact(rate):
    """Blocks of circles, their halving and the per-interval bound never change a result:
    the pruned scan equals the scan of every cylinder to the last bit (replicate maxima and
    each centre's best cylinder), on sparse and dense counts with ties in distance, areas
    without cases and a planted cluster; the unpruned scan equals cell-by-cell sums."""
    from dongne.spacetime import _kernels as kern

    rng = np.random.default_rng(11)
    n, t, max_len = 14, 16, 5
    xy = rng.integers(0, 5, size=(n, 2)).astype(float)  # many equal distances
    counts = rng.poisson(rate, size=(n, t)).astype(float)
    counts[[1, 9]] = 0.0
    counts[4, 10:13] += 4.0
    whole = counts.astype(np.int64)
    area = np.repeat(np.arange(n), whole.sum(axis=1))
    time = np.concatenate([np.repeat(np.arange(t), r) for r in whole])
    mu = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / counts.sum()
    for kappa in (0.3, 2.0, 50.0):
        offsets, entries, rcum, bend, wcum, total = _retro_plan(counts, xy, max_len, kappa)
        plan = (offsets, entries, rcum, bend)
        for r in range(8):
            data = counts if r == 0 else kern.permute_times(area, time, n, t, 4, r)
            args = (data, wcum, total, total, max_len, 2.0)
            fast = kern.max_llr_retro(*plan, *args, True)
            full = kern.max_llr_retro(*plan, *args, False)
            assert fast == full
            rows = kern.scan_observed_retro(*plan, *args, True)
            np.testing.assert_array_equal(rows, kern.scan_observed_retro(*plan, *args, False))
            assert rows[:, 0].max() == fast
            if kappa == 2.0 and r < 3:  # the arithmetic of the cylinders, cell by cell
                best = 0.0
                for j in range(n):
                    block = entries[offsets[j] : offsets[j + 1]]
                    for k in np.flatnonzero(block >= 0):
                        inside = np.where(block[: k + 1] >= 0, block[: k + 1], ~block[: k + 1])
                        for t2 in range(t):
                            for t1 in range(max(0, t2 - max_len + 1), t2 + 1):
                                c = data[inside, t1 : t2 + 1].sum()
                                e = mu[inside, t1 : t2 + 1].sum()
                                best = max(best, kern.cylinder_llr(c, e, total, 2.0))
                assert fast == pytest.approx(best, rel=1e-12)


def test_retrospective_pruning_is_exact_on_nyc_fever(fever):
    """SaTScan's retrospective reference: each centre's best cylinder and replicate maxima
    of the pruned scan equal those of the scan of every cylinder, bit for bit."""
    from dongne.detect._scan_core import first_of_duplicates
    from dongne.detect._scan_inputs import resolve_locations
    from dongne.spacetime import _kernels as kern

    cube, geo = fever
    counts = cube.values
    px, py, _ = resolve_locations(geo.reindex(cube.areas).to_numpy(), len(cube.areas),
                                  "latlon", cube.areas)  # fmt: skip
    assert first_of_duplicates(px, py).all()
    plan = _retro_plan(counts, np.column_stack([px, py]), 12, kern.KAPPA, great_circle=True)
    wcum, total = plan[4:]
    whole = counts.astype(np.int64)
    area = np.repeat(np.arange(len(px)), whole.sum(axis=1))
    time = np.concatenate([np.repeat(np.arange(counts.shape[1]), r) for r in whole])
    for r in range(6):
        data = counts if r == 0 else kern.permute_times(area, time, *counts.shape, 5, r)
        args = (data, wcum, total, total, 12, 2.0)
        rows = kern.scan_observed_retro(*plan[:4], *args, True)
        np.testing.assert_array_equal(rows, kern.scan_observed_retro(*plan[:4], *args, False))
        assert kern.max_llr_retro(*plan[:4], *args, True) == rows[:, 0].max()
    first = kern.scan_observed_retro(*plan[:4], counts, wcum, total, total, 12, 2.0, True)
    assert abs(first[:, 0].max() - 8.119521) < 5e-7  # SaTScan's most likely cluster


def test_retrospective_results_do_not_depend_on_threads(fever):
    import numba

    cube, geo = fever
    one = SpaceTimeScan(replications=24, rng=9).fit(cube, geo, coordinates="latlon")
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        two = SpaceTimeScan(replications=24, rng=9).fit(cube, geo, coordinates="latlon")
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.llr_replicates_, two.llr_replicates_)
    pd.testing.assert_frame_equal(one.clusters_, two.clusters_)


@pytest.mark.parametrize("rate", [0.3, 3.0])
def test_prospective_blocks_equal_cell_sums(rate):
    """Prospective replicates with separable expected counts (blocks of circles over the last
    steps, expected counts from the per-circle table) equal the cell-sum kernel bit for bit,
    for the permutation and Poisson draws, with ties in distance, areas without cases, a
    planted cluster at the end and block widths κ = 0.3, 2, 50."""
    from dongne.spacetime import _kernels as kern

    rng = np.random.default_rng(12)
    n, t, max_len = 14, 16, 5
    xy = rng.integers(0, 5, size=(n, 2)).astype(float)
    counts = rng.poisson(rate, size=(n, t)).astype(float)
    counts[[1, 9]] = 0.0
    counts[4, 12:] += 4.0
    whole = counts.astype(np.int64)
    area = np.repeat(np.arange(n), whole.sum(axis=1))
    time = np.concatenate([np.repeat(np.arange(t), r) for r in whole]).astype(np.int64)
    mu = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / counts.sum()
    from dongne.detect._scan_core import conditional_shares

    cond = conditional_shares(mu.ravel())
    for kappa in (0.3, 2.0, 50.0):
        offsets, entries, _, _, wcum, total = _retro_plan(counts, xy, max_len, kappa)
        tail = wcum[t - max_len :] - wcum[t - max_len]
        rcum, bend = kern.plan_blocks(offsets, entries, counts.sum(axis=1), tail, total,
                                      max_len, kappa)  # fmt: skip
        wsuf = tail[-1] - tail[-2::-1]
        for model in (kern.PERMUTATION, kern.POISSON):
            draws = (model, area, time, cond, mu, total)
            fast = kern.scan_replicates_pros(offsets, entries, rcum, bend, wsuf, total, *draws,
                                             max_len, 2.0, 6, 0, 10)  # fmt: skip
            ref = kern.scan_replicates(offsets, entries, *draws, t - 1, max_len, 2.0, 6, 0, 10)
            np.testing.assert_array_equal(fast, ref)
            assert fast.min() > 0.0
