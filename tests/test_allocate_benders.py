"""Benders decomposition (MCLP, partial set covering) against HiGHS on the full MIP."""

from __future__ import annotations

import numpy as np
import pytest
from allocate_cases import groups_instance
from scipy import sparse

from dongne.allocate import LSCP, MCLP, LocationProblem, benders
from dongne.allocate._model import _aggregate, _Builder
from dongne.allocate.instances import INSTANCE_KINDS, generate
from dongne.errors import InfeasibleProblemError, SpecificationError


def _agg(problem, reach_radius=None):
    cover = problem.covering(reach_radius or problem.notes["radius"])
    rows = np.flatnonzero(np.diff(cover.indptr) > 0)
    agg, aw, _, _ = _aggregate(cover[rows], problem.weights[rows], None)
    return agg, aw


def _plain_mip(agg, aw, p=None, target=None):
    """The textbook model with one z per row, solved by HiGHS to a zero gap."""
    k, m = agg.shape
    b = _Builder()
    y0 = b.add_cols(m, 0.0 if p is not None else 1.0, 0.0, 1.0, integer=True)
    z0 = b.add_cols(k, aw if p is not None else 0.0, 0.0, 1.0)
    coo = sparse.coo_array(agg)
    b.add_rows(
        np.concatenate([coo.row, np.arange(k)]),
        np.concatenate([y0 + coo.col, z0 + np.arange(k)]),
        np.concatenate([-np.ones(coo.nnz), np.ones(k)]),
        -np.inf, 0.0, k,
    )  # fmt: skip
    if p is not None:
        b.add_rows(np.zeros(m), y0 + np.arange(m), 1.0, p, p, 1)
    else:
        b.add_rows(np.zeros(k), z0 + np.arange(k), aw, target, np.inf, 1)
    res = b.solve(maximize=p is not None, mip_rel_gap=0.0)
    assert res.status == "optimal"
    return res.objective


CASES = [(kind, w, seed) for kind in INSTANCE_KINDS for w, seed in (("integer", 0), ("heavy", 1))]


@pytest.mark.parametrize("branching", ["highs", "own"])
@pytest.mark.parametrize(("kind", "weights", "seed"), CASES)
def test_max_cover_equals_plain_mip(kind, weights, seed, branching):
    _max_cover_case(kind, weights, seed, 16, branching)


@pytest.mark.parametrize("n_groups", [1, 4, 64])
def test_max_cover_any_grouping_equals_plain_mip(n_groups):
    # One cut for all rows (Cordeau et al.'s single theta) up to one per small group.
    _max_cover_case("uniform", "integer", 4, n_groups)


def _max_cover_case(kind, weights, seed, n_groups, branching="highs"):
    problem = generate(kind, 400, 40, seed=seed, weights=weights, reach=10)
    agg, aw = _agg(problem)
    for p in (3, 8):
        res = benders.max_cover(agg, aw, p, n_groups=n_groups, branching=branching)
        expected = _plain_mip(agg, aw, p=p)
        assert res.status == "optimal" and len(res.chosen) == p
        assert res.objective == pytest.approx(expected, rel=1e-9)
        assert res.bound >= res.objective and res.gap <= 1e-9
        # objective recomputed from the chosen sites alone
        assert res.objective == pytest.approx(benders.covered_weight(agg, aw, res.chosen))


@pytest.mark.parametrize("branching", ["highs", "own"])
@pytest.mark.parametrize("kind", INSTANCE_KINDS)
@pytest.mark.parametrize("share", [0.6, 0.9, 1.0])
def test_partial_cover_equals_plain_mip(kind, share, branching):
    problem = generate(kind, 500, 50, seed=3, reach=8)
    agg, aw = _agg(problem)
    target = share * aw.sum()
    res = benders.partial_cover(agg, aw, target, n_groups=16, branching=branching)
    expected = _plain_mip(agg, aw, target=target)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected)
    assert res.covered >= target * (1 - 1e-9)
    assert res.bound == pytest.approx(res.objective)


def test_starts_are_used_and_a_bad_start_does_not_mislead():
    problem = generate("clustered", 800, 80, seed=5, reach=15)
    agg, aw = _agg(problem)
    worst = np.argsort(np.asarray(agg.sum(axis=0)).ravel())[:5]
    res = benders.max_cover(agg, aw, 5, starts=[worst])
    assert res.objective == pytest.approx(_plain_mip(agg, aw, p=5))


def test_time_limit_returns_incumbent_and_proven_gap():
    # A hard instance (wide overlap, clustered demand) stopped almost at once: the result is
    # a feasible solution with a valid bound and the gap between them, never "optimal".
    problem = generate("clustered", 10000, 1000, seed=0, reach=60)
    agg, aw = _agg(problem)
    start = np.arange(10)
    res = benders.max_cover(agg, aw, 10, starts=[start], time_limit=0.5)
    assert res.status == "time_limit"
    assert len(res.chosen) == 10
    assert res.objective == pytest.approx(benders.covered_weight(agg, aw, res.chosen))
    # The optimum of this instance (proven by the untimed run, see docs) lies in between.
    assert res.objective <= 503235.0 <= res.bound
    assert res.gap == pytest.approx((res.bound - res.objective) / res.objective)
    assert res.gap > 1e-9


@pytest.mark.parametrize("kind", INSTANCE_KINDS)
def test_mclp_benders_equals_mclp_mip(kind):
    problem = generate(kind, 1000, 100, seed=2, reach=15)
    r = problem.notes["radius"]
    kw = dict(p=5, radius=r, method="exact", restarts=0, ils_rounds=20)
    a = MCLP(**kw, exact_solver="benders").fit(problem)
    b = MCLP(**kw, exact_solver="mip").fit(problem)
    assert a.status_ == b.status_ == "optimal"
    assert a.objective_ == pytest.approx(b.objective_, rel=1e-9)
    # the objective recomputed from the chosen sites (nearest open site within the radius)
    assert a.details_["objective_recomputed"] == pytest.approx(a.objective_)
    assert a.objective_ == pytest.approx(float(problem.weights @ a.covered_))


def test_mclp_time_limit_reports_gap():
    problem = generate("clustered", 10000, 1000, seed=0, reach=60)
    m = MCLP(p=10, radius=problem.notes["radius"], method="exact", restarts=0, time_limit=2)
    m.fit(problem)
    assert m.status_ in ("time_limit", "optimal")
    assert m.objective_ <= 503235.0 <= m.bound_ + 1e-6
    if m.status_ == "time_limit":
        assert m.gap_ > 1e-9


# ----------------------------------------------------------------------- LSCP / PSCLP
@pytest.mark.parametrize("kind", ["uniform", "city"])
def test_lscp_partial_coverage_equals_plain_mip(kind):
    problem = generate(kind, 800, 80, seed=4, reach=8)
    r = problem.notes["radius"]
    model = LSCP(radius=r, coverage=0.8).fit(problem)
    cover = problem.covering(r)
    rows = np.flatnonzero(np.diff(cover.indptr) > 0)
    agg, aw, _, _ = _aggregate(cover[rows], problem.weights[rows], None)
    expected = _plain_mip(agg, aw, target=0.8 * problem.weights.sum())
    assert model.status_ == "optimal" and model.objective_ == pytest.approx(expected)
    assert len(model.selected_) == round(expected)
    assert model.coverage_ >= 0.8 - 1e-12
    assert model.details_["covered_recomputed"] >= 0.8 * problem.weights.sum() * (1 - 1e-9)


def test_lscp_partial_coverage_counts_existing_sites():
    problem = generate("uniform", 600, 60, seed=6, reach=8)
    problem.existing[:5] = True
    r = problem.notes["radius"]
    with_existing = LSCP(radius=r, coverage=0.7).fit(problem)
    assert with_existing.coverage_ >= 0.7 - 1e-12
    # Fewer new sites than with nothing open (the existing five already cover some demand).
    problem.existing[:5] = False
    problem._cover_cache.clear()
    without = LSCP(radius=r, coverage=0.7).fit(problem)
    assert with_existing.objective_ <= without.objective_


def test_lscp_partial_coverage_refusals():
    problem = generate("uniform", 300, 30, seed=1, reach=1)
    r = problem.notes["radius"]
    with pytest.raises(SpecificationError, match="coverage"):
        LSCP(radius=r, coverage=1.5).fit(problem)
    with pytest.raises(InfeasibleProblemError, match="Fix: lower coverage"):
        LSCP(radius=r / 10, coverage=0.99).fit(problem)


@pytest.mark.parametrize("kind", INSTANCE_KINDS)
def test_lscp_heuristic_is_a_cover_near_the_optimum(kind):
    problem = generate(kind, 1000, 100, seed=0, reach=6)
    r = problem.notes["radius"]
    cover = problem.covering(r)
    keep = np.diff(cover.indptr) > 0
    problem = problem.restrict(keep)
    exact = LSCP(radius=r, method="exact").fit(problem)
    heur = LSCP(radius=r, method="heuristic").fit(problem)
    assert exact.status_ == "optimal"
    assert heur.coverage_ == 1.0  # every demand unit within the radius of an open site
    assert heur.bound_ <= exact.objective_ <= heur.objective_
    assert heur.objective_ <= 1.05 * exact.objective_


def test_lscp_partial_coverage_time_limit_reports_gap():
    # The shrunk greedy cover (42 sites) is above the LP bound (40): the descent needs more
    # than the 0.5 s it is given, and the result says so with its proven gap.
    problem = generate("uniform", 5000, 500, seed=0)
    model = LSCP(radius=problem.notes["radius"], coverage=0.8, time_limit=0.5).fit(problem)
    assert model.status_ == "time_limit"
    assert model.bound_ < model.objective_ == len(model.selected_)
    assert model.gap_ == pytest.approx((model.objective_ - model.bound_) / model.objective_)
    assert model.coverage_ >= 0.8 - 1e-12


@pytest.mark.parametrize(
    ("kind", "n", "m", "reach", "p"),
    [("uniform", 1000, 100, 6, 15), ("city", 1500, 120, 12, 15), ("radii", 1000, 100, 6, 6)],
)
def test_own_branch_and_bound_branches_and_equals_plain_mip(kind, n, m, reach, p):
    # Root LP bound above the optimum: the own tree must branch and end at the plain MIP's
    # optimum (the first solutions come from rounding node LPs: no start is given).
    problem = generate(kind, n, m, seed=7, reach=reach)
    agg, aw = _agg(problem)
    res = benders.max_cover(agg, aw, p, n_groups=64, branching="own")
    assert res.root_bound > res.objective * (1 + 1e-9) and res.nodes > 1
    assert res.status == "optimal" and len(res.chosen) == p and res.gap <= 1e-9
    assert res.objective == pytest.approx(_plain_mip(agg, aw, p=p), rel=1e-9)
    assert res.objective == pytest.approx(benders.covered_weight(agg, aw, res.chosen))


def test_own_branch_and_bound_partial_cover_branches_and_equals_plain_mip():
    problem = generate("uniform", 1500, 120, seed=7, reach=12)
    agg, aw = _agg(problem)
    target = 0.9 * aw.sum()
    res = benders.partial_cover(agg, aw, target, n_groups=64, branching="own")
    assert res.nodes > 1 and res.status == "optimal"
    assert res.objective == len(res.chosen) == res.bound
    assert res.objective == pytest.approx(_plain_mip(agg, aw, target=target))
    assert res.covered >= target * (1 - 1e-9)


@pytest.mark.parametrize(
    ("kind", "seed", "share", "steps"),
    [("uniform", 1, 0.8, 2), ("uniform", 2, 0.9, 1), ("radii", 1, 0.8, 1), ("radii", 1, 0.9, 2),
     ("clustered", 1, 0.9, 0), ("city", 2, 0.9, 0)],
)  # fmt: skip
def test_partial_cover_descent_equals_plain_mip(monkeypatch, kind, seed, share, steps):
    # Only the root node of the own tree, then the descent (max cover with one site fewer
    # than the incumbent; HiGHS's tree to the first solution reaching the target or to the
    # end) proves the optimum: in two steps where the root node's incumbent is one site
    # above it, in one where it is the optimum, in none where the root closes the gap.
    monkeypatch.setattr(benders, "DESCENT_AFTER", 1)
    problem = generate(kind, 1000, 80, seed=seed, reach=8)
    agg, aw = _agg(problem)
    target = share * aw.sum()
    res = benders.partial_cover(agg, aw, target, n_groups=32, branching="own")
    expected = _plain_mip(agg, aw, target=target)
    assert res.status == "optimal" and res.nodes == 1 and res.descents == steps
    assert res.objective == len(res.chosen) == res.bound == pytest.approx(expected)
    assert res.covered >= target * (1 - 1e-9)
    assert res.covered == pytest.approx(benders.covered_weight(agg, aw, res.chosen))


@pytest.mark.parametrize("kind", ["uniform", "clustered"])
def test_partial_cover_descent_walks_down_from_a_poor_start(monkeypatch, kind):
    # No tree node at all: from every site open, each step must find a cover with one site
    # fewer, until the step that proves none exists.
    monkeypatch.setattr(benders, "DESCENT_AFTER", 0)
    problem = generate(kind, 300, 24, seed=11, reach=6)
    agg, aw = _agg(problem)
    target = 0.7 * aw.sum()
    m = agg.shape[1]
    res = benders.partial_cover(agg, aw, target, starts=[np.arange(m)], n_groups=8,
                                branching="own")  # fmt: skip
    expected = _plain_mip(agg, aw, target=target)
    assert res.status == "optimal" and res.nodes == 0
    assert res.objective == len(res.chosen) == res.bound == pytest.approx(expected)
    assert res.covered >= target * (1 - 1e-9)
    assert res.descents == m - expected + 1
    # No start either: the descent begins from a greedy cover.
    again = benders.partial_cover(agg, aw, target, n_groups=8, branching="own")
    assert again.status == "optimal" and again.objective == pytest.approx(expected)


@pytest.mark.parametrize("start", [False, True])
def test_partial_cover_target_far_below_the_weights(start):
    # A target far below every weight: the LP master opens one site at about 1e-7. A node
    # whose sites all lay within 1e-6 of 0 or 1 was closed as integral although its rounding
    # (no site) covers nothing: "infeasible" without a start, every site "optimal" with one.
    agg = sparse.csr_array(np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]]))
    aw = np.array([100.0, 40.0, 7.0])
    starts = [np.arange(3)] if start else []
    res = benders.partial_cover(agg, aw, 1e-5, starts=starts, branching="own")
    assert res.status == "optimal"
    assert res.objective == res.bound == len(res.chosen) == 1
    assert res.covered == benders.covered_weight(agg, aw, res.chosen) >= 1e-5


def test_partial_cover_descent_stops_at_the_time_limit(monkeypatch):
    # A descent cut short reports the tree's bound and the incumbent, never "optimal".
    monkeypatch.setattr(benders, "DESCENT_AFTER", 0)
    problem = generate("uniform", 5000, 500, seed=0)
    agg, aw = _agg(problem)
    target = 0.8 * problem.weights.sum()
    res = benders.partial_cover(agg, aw, target, starts=[np.arange(agg.shape[1])],
                                branching="own", time_limit=2.0)  # fmt: skip
    assert res.status == "time_limit" and res.descents >= 1
    assert res.bound < res.objective == len(res.chosen)
    assert res.covered >= target * (1 - 1e-9)


@pytest.mark.parametrize("branching", ["highs", "own"])
@pytest.mark.parametrize("seconds", [0.01, 1.0])
def test_partial_cover_time_limit_reports_gap(branching, seconds):
    # Stopped in the root loop (0.01 s) or in the tree (1 s): never "optimal" with a start
    # (every site open) far above the optimum (about 40 sites).
    problem = generate("uniform", 5000, 500, seed=0)
    agg, aw = _agg(problem)
    target = 0.8 * problem.weights.sum()
    res = benders.partial_cover(
        agg, aw, target, starts=[np.arange(agg.shape[1])], branching=branching,
        time_limit=seconds,
    )  # fmt: skip
    assert res.status == "time_limit"
    assert res.bound < res.objective == len(res.chosen)
    assert res.gap == pytest.approx((res.objective - res.bound) / res.objective)
    assert res.covered >= target * (1 - 1e-9)


def test_stalled_warm_solves_are_reloaded_and_stay_exact(monkeypatch):
    # With STALL_AT tiny almost every warm solve of the master counts as stalled: it is
    # reloaded with the basis reached and solved again; the result must not change.
    problem = generate("uniform", 1500, 120, seed=7, reach=12)
    agg, aw = _agg(problem)
    target = 0.9 * aw.sum()
    masters = []
    init = benders._Master.__init__

    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        masters.append(self)

    monkeypatch.setattr(benders._Master, "__init__", spy)
    monkeypatch.setattr(benders, "STALL_AT", 1e-3)
    res = benders.partial_cover(agg, aw, target, n_groups=64, branching="own")
    assert masters[0].reloads > 0 and res.nodes > 1
    assert res.status == "optimal" and res.objective == len(res.chosen) == res.bound
    assert res.objective == pytest.approx(_plain_mip(agg, aw, target=target))
    assert res.covered >= target * (1 - 1e-9)


def test_lp_master_without_a_simplex_verdict_is_solved_again(monkeypatch):
    # A simplex that ends without a verdict (here: the stall limit forced to one iteration,
    # four after the reload; on the 10⁶-point city PSCLP: kUnknown with dual infeasibilities,
    # and a reloaded node LP that ran 277,542 iterations into the time limit) must not end
    # the search: after the reload the master solves the LP from scratch by the interior
    # point method with crossover, and gets the same LP optimum.
    problem = generate("uniform", 2000, 100, seed=1)
    agg, aw = _agg(problem)
    values = []
    for stuck in (False, True):
        master = benders._Master(
            agg, aw, benders._default_groups(agg, 16), mode="partial", target=0.8 * aw.sum()
        )
        for y in (np.ones(agg.shape[1]), np.full(agg.shape[1], 0.1)):
            coef, const = master.cuts_at(y)
            master.add_cuts(coef, const, np.arange(master.n_groups))
        if stuck:
            monkeypatch.setattr(benders, "STALL_AT", 0.0)
        lp = master.solve_lp(None)
        assert lp is not None
        values.append(lp[1])
    assert master.reloads == master.ipm_runs == 1
    assert master.h.getInfo().ipm_iteration_count > 0
    assert values[1] == pytest.approx(values[0], rel=1e-9)
    assert values[0] == pytest.approx(5.322348526475514, rel=1e-9)


def test_benders_runs_after_a_solve_on_other_threads():
    # HiGHS keeps one thread scheduler per process and refuses ("error") a model asking for
    # another thread count: the min_share route (one thread) after a full MIP on the
    # default threads found "no solution" until the master restarted the scheduler.
    cost, weights, groups, existing = groups_instance(1, 400, 80, 4, 0, 0)
    problem = LocationProblem.from_cost_matrix(cost, weights, existing=existing, groups=groups)
    mip = MCLP(p=6, radius=15.0, min_share=0.2, exact_solver="mip", threads=2).fit(problem)
    floors = MCLP(p=6, radius=15.0, min_share=0.2).fit(problem)
    assert floors.status_ == mip.status_ == "optimal"
    assert floors.objective_ == mip.objective_ == 2031.0


@pytest.mark.parametrize("branching", ["highs", "own"])
@pytest.mark.parametrize("n_groups", [4, 256])
@pytest.mark.parametrize("unit", [1.0, 1e-6])
def test_partial_cover_with_huge_weights_is_exact(branching, n_groups, unit):
    # Found by the fuzz check: weights near 1e12 (total 1e14) and a target of 4e-6 of the
    # total. Unscaled, the cut rows' duals fell below HiGHS's dual tolerance and the LP
    # master reported 2 sites where 2.3e-5 of one suffices: "optimal" 2 (own tree) or a root
    # bound of 2; at 1e-6 of those weights the root LP was "infeasible". One site is optimal.
    rows = ["10011", "00001", "11011", "10001", "00100", "10100", "00001", "10110", "01001",
            "00011", "00110", "00110", "00000", "10111", "10001", "11001", "01111", "00101",
            "00011", "10110", "00000", "00100", "11011"]  # fmt: skip
    agg = sparse.csr_array(np.array([[int(c) for c in r] for r in rows], dtype=float))
    aw = unit * 1e12 * np.array([
        6.72, 7.61, 9.78, 0.415, 6.10, 6.96, 3.58, 0.866, 4.13, 1.38, 1.67, 1.45, 6.94, 3.76,
        1.77, 2.28, 8.82, 1.73, 7.32, 0.728, 2.43, 7.01, 8.12,
    ])  # fmt: skip
    target = unit * 4.15e8
    res = benders.partial_cover(agg, aw, target, n_groups=n_groups, branching=branching)
    assert res.status == "optimal"
    assert res.objective == len(res.chosen) == res.bound == res.root_bound == 1
    assert res.covered >= target


def test_partial_cover_tiny_target_refused_by_highs_tree_solved_by_own():
    # A target of 1e-12 of the total: HiGHS's tree cannot tell it from zero (it ended with
    # no solution and "time_limit", no time limit set); the own tree proves one site.
    agg = sparse.csr_array(np.eye(4) + np.eye(4, k=1))
    aw = np.array([1e8, 2e8, 3e8, 4e8])
    with pytest.raises(SpecificationError, match="branching='own'"):
        benders.partial_cover(agg, aw, 1e-12 * aw.sum(), branching="highs")
    res = benders.partial_cover(agg, aw, 1e-12 * aw.sum(), branching="own")
    assert res.status == "optimal" and res.objective == res.bound == 1


@pytest.mark.parametrize("threads", [1, 2])
def test_max_cover_presolve_infeasible_verdict_is_checked(threads):
    # Found by the fuzz check (shrunk from 41 rows x 8 sites, weights 1e-8 to 9e12). Scaled
    # into [1e6, 2e6), the master with the cutoff row was called infeasible by HiGHS 1.16's
    # presolve (feasible: sites 0, 1, 2, 3 cover every row); the tree took that as the proof
    # and returned "optimal" 1.14e10 below the optimum. All rows can be covered.
    agg = sparse.csr_array(np.array([[0, 1, 0, 1, 1, 0], [1, 0, 1, 0, 0, 0], [0, 1, 0, 0, 0, 0]]))
    aw = np.array([8.94e12, 1.14e10, 369.229589])
    res = benders.max_cover(agg, aw, 4, branching="highs", n_groups=1, threads=threads)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(aw.sum(), rel=1e-12)
    assert res.bound >= res.objective


@pytest.mark.parametrize("branching", ["highs", "own"])
def test_max_cover_refuses_a_start_with_more_than_p_sites(branching):
    # Found by the fuzz check: all 4 sites of p=1 were taken as the incumbent, "optimal" 10.
    agg = sparse.csr_array(np.eye(4))
    aw = np.array([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(SpecificationError, match="at most p=1"):
        benders.max_cover(agg, aw, 1, starts=[np.arange(4)], branching=branching)
    res = benders.max_cover(agg, aw, 1, starts=[np.array([0])], branching=branching)
    assert res.status == "optimal" and res.objective == res.bound == 4.0
    assert list(res.chosen) == [3]


@pytest.mark.parametrize("branching", ["highs", "own"])
def test_max_cover_ignores_rows_no_site_covers(branching):
    # Found by the fuzz check: one row of 6.7e-4 covered by one site, eight rows (total 1.3e10)
    # by none. The scale and the tolerances followed the uncovered rows and the coverable
    # weight vanished below HiGHS's tolerances: "optimal" 0 with bound 0.
    agg = sparse.csr_array(np.array([[0, 1, 0, 0]] + [[0, 0, 0, 0]] * 8))
    aw = np.array([6.6979e-04, 4.2238e-05, 4.9385e-05, 4.5795e05, 1.3783e07, 8.1881e04,
                   6.8502e09, 1.4407e-05, 6.3618e09])  # fmt: skip
    res = benders.max_cover(agg, aw, 1, branching=branching, n_groups=4)
    assert res.status == "optimal"
    assert list(res.chosen) == [1]
    assert res.objective == res.covered == pytest.approx(6.6979e-4, rel=1e-12)
    assert res.bound >= res.objective


@pytest.mark.parametrize("branching", ["highs", "own"])
def test_max_cover_of_a_matrix_without_coverage(branching):
    # Found by the fuzz check: the default groups indexed an empty coverage matrix
    # (IndexError). Nothing can be covered: 0 is optimal.
    aw = np.array([1.0, 2.0, 3.0])
    res = benders.max_cover(sparse.csr_array((3, 4)), aw, 2, branching=branching)
    assert res.status == "optimal"
    assert res.objective == res.covered == res.bound == 0.0 and len(res.chosen) == 2
