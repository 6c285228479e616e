"""Access measures against the PySAL ``access`` package and against the published formulas.

Every measure that ``access`` implements is compared on the same inputs (demand, supply, cost
table) to rtol 1e-9: 2SFCA, E2SFCA (stepwise weights), 2SFCA with a Gaussian weight, 3SFCA,
the weighted catchment (gravity and cumulative opportunities), the FCA ratio and RAAM. The
kernel-density 2SFCA (Dai 2010), which ``access`` lacks, and nearest-k are checked against a
direct dense computation of their formulas.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dongne.access import (
    E2SFCA_STEPS,
    THREE_STEP_WEIGHTS,
    Costs,
    accessibility,
    cumulative_opportunities,
    dai_gaussian_decay,
    fca_ratio,
    gaussian_decay,
    gravity_access,
    nearest_cost,
    power_decay,
    raam,
    step_decay,
    straight_line_costs,
    three_step_fca,
    two_step_fca,
)
from dongne.errors import DataError, DongneWarning, SpecificationError

access = pytest.importorskip("access")

RTOL = 1e-9


@pytest.fixture(scope="module", params=[1, 7])
def case(request):
    """Random demand tracts and supply sites with straight-line costs (minutes-like scale)."""
    rng = np.random.default_rng(request.param)
    n, m = 70, 14
    dxy = rng.uniform(0, 100, (n, 2))
    sxy = rng.uniform(0, 100, (m, 2))
    cost = np.hypot(dxy[:, None, 0] - sxy[None, :, 0], dxy[:, None, 1] - sxy[None, :, 1])
    demand = rng.integers(50, 900, n).astype(float)
    supply = rng.integers(1, 25, m).astype(float)
    did = [f"d{i}" for i in range(n)]
    sid = [f"s{j}" for j in range(m)]
    table = pd.DataFrame({"origin": np.repeat(did, m), "dest": np.tile(sid, n),
                          "cost": cost.ravel()})  # fmt: skip
    ndxy = np.hypot(dxy[:, None, 0] - dxy[None, :, 0], dxy[:, None, 1] - dxy[None, :, 1])
    neighbours = pd.DataFrame({"origin": np.repeat(did, n), "dest": np.tile(did, n),
                               "cost": ndxy.ravel()})  # fmt: skip
    model = access.Access(
        demand_df=pd.DataFrame({"geoid": did, "pop": demand}), demand_index="geoid",
        demand_value="pop", supply_df=pd.DataFrame({"geoid": sid, "doc": supply}),
        supply_index="geoid", supply_value=["doc"], cost_df=table, cost_origin="origin",
        cost_dest="dest", cost_name="cost", neighbor_cost_df=neighbours,
        neighbor_cost_origin="origin", neighbor_cost_dest="dest", neighbor_cost_name="cost",
    )  # fmt: skip
    return {
        "model": model, "costs": Costs.from_dense(cost, origin_ids=did, dest_ids=sid),
        "neighbours": Costs.from_dense(ndxy, origin_ids=did, dest_ids=did), "dense": cost,
        "demand": demand, "supply": supply, "ids": did,
    }  # fmt: skip


def _same(reference: pd.Series, ours: np.ndarray, ids: list[str], empty: float = 0.0) -> None:
    """Equal where ``access`` gives a number; ``empty`` where it leaves the origin out (NaN)."""
    ref = reference.reindex(ids).to_numpy(dtype=float)
    known = np.isfinite(ref)
    assert known.sum() >= len(ids) // 2  # the comparison covers most origins
    np.testing.assert_allclose(ours[known], ref[known], rtol=RTOL, atol=1e-15)
    np.testing.assert_array_equal(ours[~known], empty)


def _quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


def test_2sfca_equals_access(case):
    ref = _quiet(lambda: case["model"].two_stage_fca(name="a", max_cost=30))["a_doc"]
    ours = two_step_fca(case["costs"], case["demand"], case["supply"], threshold=30)
    _same(ref, ours, case["ids"])


def test_e2sfca_equals_access(case):
    fn = access.weights.step_fn({10: 1, 20: 0.68, 30: 0.22})
    ref = _quiet(lambda: case["model"].enhanced_two_stage_fca(name="e", max_cost=30,
                                                              weight_fn=fn))["e_doc"]  # fmt: skip
    ours = two_step_fca(case["costs"], case["demand"], case["supply"], threshold=30,
                        decay=step_decay(E2SFCA_STEPS))  # fmt: skip
    _same(ref, ours, case["ids"])
    by_name = accessibility(case["costs"], case["demand"], case["supply"], measure="e2sfca",
                            threshold=30)  # fmt: skip
    np.testing.assert_allclose(by_name, ours, rtol=RTOL)


def test_gaussian_2sfca_equals_access(case):
    ref = _quiet(lambda: case["model"].two_stage_fca(
        name="g", max_cost=40, weight_fn=access.weights.gaussian(15)))["g_doc"]  # fmt: skip
    ours = two_step_fca(case["costs"], case["demand"], case["supply"], threshold=40,
                        decay=gaussian_decay(15))  # fmt: skip
    _same(ref, ours, case["ids"])


def test_3sfca_equals_access(case):
    ref = _quiet(lambda: case["model"].three_stage_fca(name="t", max_cost=60))["t_doc"]
    ours = three_step_fca(case["costs"], case["demand"], case["supply"], threshold=60,
                          decay=step_decay(THREE_STEP_WEIGHTS))  # fmt: skip
    _same(ref, ours, case["ids"])


@pytest.mark.parametrize("max_cost", [25.0, 50.0])
def test_gravity_and_cumulative_equal_access_weighted_catchment(case, max_cost):
    fn = access.weights.gravity(scale=20, alpha=-2, min_dist=1)
    ref = _quiet(lambda: case["model"].weighted_catchment(name="w", weight_fn=fn,
                                                          max_cost=max_cost))["w_doc"]  # fmt: skip
    ours = gravity_access(case["costs"], case["supply"], power_decay(20, -2, 1), max_cost)
    _same(ref, ours, case["ids"])
    ref = _quiet(lambda: case["model"].weighted_catchment(name="c", max_cost=max_cost))["c_doc"]
    _same(ref, cumulative_opportunities(case["costs"], case["supply"], max_cost), case["ids"])


def test_fca_ratio_equals_access(case):
    ref = _quiet(lambda: case["model"].fca_ratio(name="f", max_cost=25))["f_doc"]
    ours = fca_ratio(case["costs"], case["neighbours"], case["demand"], case["supply"],
                     threshold=25)  # fmt: skip
    _same(ref, ours, case["ids"])


@pytest.mark.parametrize("tau", [30.0, 60.0])
def test_raam_equals_access(case, tau):
    ref = _quiet(lambda: case["model"].raam(name="r", tau=tau))["r_doc"]
    ours = raam(case["costs"], case["demand"], case["supply"], tau=tau)
    _same(ref, ours, case["ids"])


def test_sparse_pairs_give_the_dense_numbers(case):
    """Costs stored only within the threshold (a cut-off) change nothing."""
    sparse = Costs.from_dense(case["dense"], cutoff=30)
    assert sparse.n_pairs < case["costs"].n_pairs
    for measure in ("2sfca", "e2sfca", "kd2sfca", "3sfca", "gravity", "cumulative"):
        a = accessibility(sparse, case["demand"], case["supply"], measure=measure, threshold=30)
        b = accessibility(case["costs"], case["demand"], case["supply"], measure=measure,
                          threshold=30)  # fmt: skip
        np.testing.assert_allclose(a, b, rtol=RTOL, err_msg=measure)


def test_kernel_2sfca_follows_dai_2010(case):
    """Dense loops over Dai's formula: R_j = S_j / Σ D_i G(d_ij), A_i = Σ R_j G(d_ij)."""
    d0 = 35.0
    cost, dem, sup = case["dense"], case["demand"], case["supply"]
    g = np.where(cost <= d0, (np.exp(-0.5 * (cost / d0) ** 2) - np.exp(-0.5))
                 / (1 - np.exp(-0.5)), 0.0)  # fmt: skip
    ratio = np.array([sup[j] / (dem @ g[:, j]) if dem @ g[:, j] > 0 else 0.0
                      for j in range(len(sup))])  # fmt: skip
    expected = g @ ratio
    ours = two_step_fca(case["costs"], dem, sup, threshold=d0, decay=dai_gaussian_decay(d0))
    np.testing.assert_allclose(ours, expected, rtol=RTOL)
    np.testing.assert_allclose(
        accessibility(case["costs"], dem, sup, measure="kd2sfca", threshold=d0), expected,
        rtol=RTOL,
    )  # fmt: skip


def test_nearest_k_is_the_kth_smallest_cost(case):
    dense = case["dense"]
    for k in (1, 3):
        expected = np.sort(dense, axis=1)[:, k - 1]
        np.testing.assert_array_equal(nearest_cost(case["costs"], k), expected)
    cut = Costs.from_dense(dense, cutoff=12)
    got = nearest_cost(cut, 2)
    two = np.sort(dense, axis=1)[:, 1]
    np.testing.assert_array_equal(got, np.where(two <= 12, two, np.inf))


def test_2sfca_conserves_supply(case):
    """Σ_i D_i A_i = Σ supply of the sites that reach some demand (a property of 2SFCA)."""
    a = two_step_fca(case["costs"], case["demand"], case["supply"], threshold=30)
    reached = np.zeros(case["costs"].shape[1], dtype=bool)
    reached[case["costs"].within(30).cols] = True
    assert case["demand"] @ a == pytest.approx(case["supply"][reached].sum(), rel=1e-12)


def test_decays_equal_access_weights():
    x = np.linspace(0, 70, 141)
    fn = access.weights.step_fn({20: 1, 40: 0.68, 60: 0.22})
    np.testing.assert_array_equal(step_decay({20: 1, 40: 0.68, 60: 0.22})(x), [fn(v) for v in x])
    np.testing.assert_array_equal(gaussian_decay(20)(x), [access.weights.gaussian(20)(v)
                                                          for v in x])  # fmt: skip
    np.testing.assert_array_equal(power_decay(20, -2, 1)(x),
                                  [access.weights.gravity(20, -2, 1)(v) for v in x])  # fmt: skip


# --------------------------------------------------------------------------- edge cases
def test_site_without_demand_is_named_and_counts_zero():
    costs = Costs.from_dense([[1.0, np.inf], [1.0, 2.0]], dest_ids=["busy", "lonely"])
    with pytest.warns(DongneWarning, match="lonely"):
        a = two_step_fca(costs, [10, 0], [5, 3], threshold=5)
    np.testing.assert_allclose(a, [0.5, 0.5])


def test_bad_amounts_and_measures_are_refused():
    costs = Costs.from_dense([[1.0]])
    with pytest.raises(DataError, match="non-negative"):
        two_step_fca(costs, [-1], [1])
    with pytest.raises(DataError, match="1 origins"):
        two_step_fca(costs, [1, 2], [1])
    with pytest.raises(SpecificationError, match="measure"):
        accessibility(costs, [1], [1], measure="4sfca")
    with pytest.raises(SpecificationError, match="threshold"):
        accessibility(costs, [1], [1], measure="e2sfca")
    with pytest.raises(SpecificationError, match="computed up to"):
        Costs.from_dense([[1.0]], cutoff=5).within(10)


def test_cost_tables_are_checked_row_by_row():
    frame = pd.DataFrame({"origin": ["a", "a", "b"], "dest": ["x", "y", "x"],
                          "cost": [1.0, -2.0, 3.0]})  # fmt: skip
    with pytest.raises(DataError, match="rows 1"):
        Costs.from_frame(frame)
    dup = frame.assign(cost=1.0, dest=["x", "x", "x"])
    with pytest.raises(DataError, match="repeat"):
        Costs.from_frame(dup)
    ok = Costs.from_frame(frame.assign(cost=[1.0, 2.0, 3.0]), origin_ids=["a", "b", "c"])
    assert ok.shape == (3, 2) and ok.to_dense()[2].tolist() == [np.inf, np.inf]


def test_straight_line_costs_equal_the_dense_distances():
    import geopandas as gpd

    rng = np.random.default_rng(3)
    a, b = rng.uniform(0, 1000, (40, 2)), rng.uniform(0, 1000, (9, 2))
    ga = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*a.T), crs=5179)
    gb = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*b.T), crs=5179)
    dense = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    got = straight_line_costs(ga, gb, cutoff=300).to_dense()
    np.testing.assert_allclose(got, np.where(dense <= 300, dense, np.inf), rtol=1e-12)
    minutes = straight_line_costs(ga, gb, cutoff=5, speed_kmh=4).to_dense()
    walk = dense * 60 / 4000
    np.testing.assert_allclose(minutes, np.where(walk <= 5, walk, np.inf), rtol=1e-12)
    with pytest.raises(Exception, match="projected|metres|geographic"):
        straight_line_costs(ga.to_crs(4326), gb.to_crs(4326))
