"""Dask clusters give the single-machine numbers: a LocalCluster, and a real cluster started
with the ``dask`` command line on loopback that loses a worker in the middle of a run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from dongne import weights
from dongne.datasets import seoul_dongs, seoul_gu
from dongne.detect import GetisOrd, GlobalMoran, LocalMoran, RankStability, ScanStatistic
from dongne.weights import SpatialWeights

pytestmark = pytest.mark.slow  # pytest -m "not slow" skips Flower, Dask clusters and the demo

distributed = pytest.importorskip("distributed")

DASK = str(Path(sys.executable).with_name("dask"))
SCHEDULER = [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0"]
WORKER = [DASK, "worker", "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1"]
INDICATORS = {
    "basement_household_pct_2015": "+",
    "residential_env_satisfaction": "-",
    "pop_65plus_pct": "+",
}


def lattice(side: int) -> SpatialWeights:
    """Queen contiguity of a side × side grid of cells (as weights.queen on square cells)."""
    idx = np.arange(side * side).reshape(side, side)
    rows, cols = [], []
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                a = idx[max(0, -di) : side - max(0, di), max(0, -dj) : side - max(0, dj)]
                b = idx[max(0, di) : max(0, di) + a.shape[0], max(0, dj) : max(0, dj) + a.shape[1]]
                rows.append(a.ravel())
                cols.append(b.ravel())
    r, c = np.concatenate(rows), np.concatenate(cols)
    m = sparse.csr_array((np.ones(len(r)), (r, c)), shape=(side * side,) * 2)
    return SpatialWeights.from_sparse(m, np.arange(side * side), kind="queen", transform="binary")


def scan_data():
    xy = np.array([[x, y] for y in range(12) for x in range(12)], dtype=float)
    cases = np.random.default_rng(1).poisson(5, size=len(xy))
    cases[:3] += 12
    return cases, np.full(len(xy), 1000), xy


@pytest.fixture(scope="module")
def seoul():
    dongs = seoul_dongs()
    w = weights.queen(dongs, ids="dong_code")
    return w, dongs.set_index("dong_code")["basement_household_pct"]


@pytest.fixture(scope="module")
def local_client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_local_cluster_gives_the_single_machine_numbers(seoul, local_client):
    w, y = seoul
    for cls, values in ((LocalMoran, y), (GetisOrd, y.clip(lower=0))):
        a = cls(permutations=2500, rng=9).fit(values, w)
        b = cls(permutations=2500, rng=9, scheduler=local_client).fit(values, w)
        for name in ("p_values_", "z_sim_", "expected_sim_", "n_ge_", "n_le_", "significant_"):
            assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
        assert a.labels_.tolist() == b.labels_.tolist()
    g1 = GlobalMoran(permutations=2500, rng=1).fit(y, w)
    g2 = GlobalMoran(permutations=2500, rng=1, scheduler=local_client).fit(y, w)
    assert np.array_equal(g1.simulations_, g2.simulations_) and g1.p_value_ == g2.p_value_
    cases, population, xy = scan_data()
    opts = {"max_population_share": 0.1, "replications": 2999, "rng": 2}
    s1 = ScanStatistic(**opts).fit(cases, population, xy)
    s2 = ScanStatistic(**opts, scheduler=local_client).fit(cases, population, xy)
    assert np.array_equal(s1.llr_replicates_, s2.llr_replicates_)
    pd.testing.assert_frame_equal(s1.clusters_, s2.clusters_)
    gu = seoul_gu()
    r1 = RankStability(INDICATORS, top_k=5, replications=300, rng=4).fit(gu, id_column="gu_name")
    r2 = RankStability(INDICATORS, top_k=5, replications=300, rng=4, scheduler=local_client)
    assert np.array_equal(r1.ranks_, r2.fit(gu, id_column="gu_name").ranks_)


# ---------------------------------------------------------------- a real cluster
def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def cli_cluster(tmp_path):
    """``dask scheduler`` and two ``dask worker --nthreads 1 --no-nanny`` on loopback."""
    file = tmp_path / "scheduler.json"
    common = ["--no-dashboard"]
    procs = [
        subprocess.Popen(
            [*SCHEDULER, "--scheduler-file", str(file), *common],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        _wait(file.exists, 60, "the scheduler file")
        for name in ("w1", "w2"):
            procs.append(
                subprocess.Popen(
                    [*WORKER, "--scheduler-file", str(file), "--name", name, *common],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        client = distributed.Client(scheduler_file=str(file), timeout=60)
        client.wait_for_workers(2, timeout=60)
        yield client, procs
        client.close()
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_real_cluster_survives_losing_a_worker(cli_cluster):
    client, procs = cli_cluster
    address = client.scheduler.address
    w = lattice(80)
    y = np.random.default_rng(3).normal(size=w.n)
    y[:400] += 1.5  # a cluster of high values
    opts = {"permutations": 23_999, "rng": 12}
    reference = LocalMoran(**opts).fit(y, w)
    client.run(__import__, "dongne.detect.chunked")  # both workers ready to start at once
    names = {info["name"]: addr for addr, info in client.scheduler_info()["workers"].items()}
    victim = procs[2]  # worker "w2"
    state = {"killed_at": None, "calls": [], "held": ()}

    def progress(done: int, total: int) -> None:
        state["calls"].append(done)
        # Kill w2 once a few batches are in and most are still to come, at a moment when it
        # holds tasks (so they must be rescheduled; which worker finishes the first batches
        # depends on timing).
        held = client.processing().get(names["w2"], ())
        if state["killed_at"] is None and done >= 4000 and held:
            state["held"] = tuple(held)
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            state["killed_at"] = done

    with distributed.get_task_stream(client) as stream:
        run = LocalMoran(**opts, scheduler=address).fit(y, w, progress=progress)
    assert state["killed_at"] is not None and state["killed_at"] < 12_000
    assert state["calls"][-1] == 23_999 and len(state["calls"]) == 24  # each batch counted once
    ran_on = {t["worker"] for t in stream.data if "local_block" in str(t["key"])}
    assert names["w1"] in ran_on and state["held"]  # w2 held tasks when it was killed
    assert victim.poll() is not None
    _wait(lambda: len(client.scheduler_info()["workers"]) == 1, 30, "the scheduler to drop w2")
    for name in ("p_values_", "p_adjusted_", "z_sim_", "expected_sim_", "n_ge_", "n_le_"):
        assert np.array_equal(getattr(reference, name), getattr(run, name), equal_nan=True), name
    assert (reference.labels_ == run.labels_).all() and (run.labels_ == "HH").sum() > 50

    # The remaining worker still answers, through the Client, with the same numbers.
    cases, population, xy = scan_data()
    opts = {"max_population_share": 0.1, "replications": 2999, "rng": 5}
    s1 = ScanStatistic(**opts).fit(cases, population, xy)
    s2 = ScanStatistic(**opts, scheduler=client).fit(cases, population, xy)
    assert np.array_equal(s1.llr_replicates_, s2.llr_replicates_)
    assert s1.clusters_.loc[0, "p_value"] == s2.clusters_.loc[0, "p_value"] <= 0.05


def test_space_time_scan_on_a_local_cluster_gives_the_single_machine_numbers(local_client):
    import pandas as pd

    from dongne.spacetime import SpaceTimeCube, SpaceTimeScan

    rng = np.random.default_rng(4)
    counts = rng.poisson(1.0, size=(40, 20))
    counts[:4, -3:] += 4  # a small outbreak
    cube = SpaceTimeCube(counts, pd.Index(range(40)), pd.Index(range(20)), None, "counts")
    xy = rng.uniform(0, 10_000, size=(40, 2))
    for analysis in ("prospective", "retrospective"):
        a = SpaceTimeScan(analysis=analysis, replications=99, max_duration=5, rng=3).fit(cube, xy)
        b = SpaceTimeScan(analysis=analysis, replications=99, max_duration=5, rng=3,
                          scheduler=local_client).fit(cube, xy)  # fmt: skip
        np.testing.assert_array_equal(a.llr_replicates_, b.llr_replicates_)
        assert a.to_frame().equals(b.to_frame())
