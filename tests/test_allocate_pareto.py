"""The max-min end of the Pareto sweep: exact against a plain MIP and against brute force.

The sweep's max-min point (:func:`dongne.allocate.pareto._maxmin_sites`) solves two reduced
MIPs: only the groups that can bind, only undominated sites, and in stage two only the sites
that serve a group below the optimal share when no ``p - 1`` sites reach it. The references
here use none of that: :func:`scipy.optimize.milp` on the full model (one row per demand
point, every candidate), and, on tiny instances, every set of ``p`` sites.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from allocate_cases import group_shares, groups_instance
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from dongne.allocate import MCLP, LocationProblem, _floors, pareto_sweep
from dongne.allocate._solver import solve_highs
from dongne.errors import SpecificationError

TOL = 1e-9


def _milp_maxmin(cost, weights, groups, existing, p, radius):
    """Lexicographic max-min MCLP by scipy.optimize.milp on the full, unreduced model.

    Variables ``y`` (candidates), ``z`` (demand points covered), ``t``. Stage one maximises
    ``t`` with ``A_g t <= sum_{i in g} w_i z_i``; stage two maximises ``sum w_i z_i`` with
    every group at ``t* - 1e-9`` or more. Returns (worst share, total share), recomputed from
    the chosen sites.
    """
    cover = cost <= radius
    cand = np.flatnonzero(~existing)
    a = cover[:, cand].astype(float)
    base = cover[:, existing].any(axis=1).astype(float)
    n, mc = a.shape
    labels = sorted(set(groups))
    member = np.array([[g == lab for g in groups] for lab in labels], dtype=float)
    totals = member @ weights
    # z_i - sum_j a_ij y_j <= base_i ;  sum_j y_j = p
    link = LinearConstraint(np.hstack([-a, np.eye(n), np.zeros((n, 1))]), -np.inf, base)
    count = LinearConstraint(np.concatenate([np.ones(mc), np.zeros(n + 1)])[None, :], p, p)
    integrality = np.concatenate([np.ones(mc), np.zeros(n + 1)])
    bounds = Bounds(np.zeros(mc + n + 1), np.ones(mc + n + 1))
    options = {"mip_rel_gap": 0.0}
    # A_g t - sum_{i in g} w_i z_i <= 0
    floor_t = LinearConstraint(
        np.hstack([np.zeros((len(labels), mc)), -member * weights, totals[:, None]]), -np.inf, 0
    )
    c1 = np.zeros(mc + n + 1)
    c1[-1] = -1.0
    one = milp(c1, constraints=[link, count, floor_t], integrality=integrality, bounds=bounds,
               options=options)  # fmt: skip
    assert one.success
    chosen = cand[np.flatnonzero(one.x[:mc] > 0.5)]
    t_star = group_shares(cover, weights, groups, labels, np.concatenate([np.flatnonzero(existing),
                                                                     chosen]))[0].min()  # fmt: skip
    floors = LinearConstraint(
        np.hstack([np.zeros((len(labels), mc)), member * weights, np.zeros((len(labels), 1))]),
        (t_star - TOL) * totals,
        np.inf,
    )
    c2 = np.concatenate([np.zeros(mc), -weights, [0.0]])
    two = milp(c2, constraints=[link, count, floors], integrality=integrality, bounds=bounds,
               options=options)  # fmt: skip
    assert two.success
    chosen = cand[np.flatnonzero(two.x[:mc] > 0.5)]
    shares, total = group_shares(
        cover, weights, groups, labels, np.concatenate([np.flatnonzero(existing), chosen])
    )
    return shares.min(), total


def _brute_maxmin(cost, weights, groups, existing, p, radius):
    """Every set of p candidates; the best by (worst share, total share), lexicographically."""
    cover = cost <= radius
    labels = sorted(set(groups))
    best = (-1.0, -1.0)
    for chosen in itertools.combinations(np.flatnonzero(~existing), p):
        shares, total = group_shares(
            cover, weights, groups, labels, np.concatenate([np.flatnonzero(existing), chosen])
        )
        worst = shares.min()
        if worst > best[0] + TOL or (worst > best[0] - TOL and total > best[1]):
            best = (max(worst, best[0]), total)
    return best


def _maxmin_row(cost, weights, groups, existing, p, radius):
    problem = LocationProblem.from_cost_matrix(cost, weights, existing=existing, groups=groups)
    frame = pareto_sweep(problem, p=p, radius=radius, n_points=2)
    row = frame.iloc[-1]
    assert row["objective"] == "max-min"
    return row


@pytest.mark.parametrize(
    ("seed", "n", "m", "n_groups", "n_existing", "p", "radius"),
    [
        (1, 120, 30, 4, 3, 3, 18.0),
        (2, 150, 40, 5, 6, 4, 16.0),
        (3, 150, 40, 6, 0, 5, 20.0),
        (4, 200, 45, 5, 10, 2, 15.0),
        (5, 100, 25, 3, 4, 6, 22.0),
    ],
)
def test_maxmin_point_equals_the_plain_mip(seed, n, m, n_groups, n_existing, p, radius):
    cost, weights, groups, existing = groups_instance(seed, n, m, n_groups, n_existing)
    row = _maxmin_row(cost, weights, groups, existing, p, radius)
    worst, total = _milp_maxmin(cost, weights, groups, existing, p, radius)
    assert row["status"] == "optimal" and row["gap"] <= TOL
    assert row["worst_group_coverage"] == pytest.approx(worst, abs=TOL)
    assert row["coverage"] == pytest.approx(total, abs=TOL)
    assert len(row["sites"]) == p


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_maxmin_point_equals_brute_force(seed):
    cost, weights, groups, existing = groups_instance(seed, 60, 14, 3, 2)
    row = _maxmin_row(cost, weights, groups, existing, 3, 20.0)
    worst, total = _brute_maxmin(cost, weights, groups, existing, 3, 20.0)
    assert row["worst_group_coverage"] == pytest.approx(worst, abs=TOL)
    assert row["coverage"] == pytest.approx(total, abs=TOL)


def test_mclp_maxmin_is_the_sweeps_point_and_uses_the_reductions(monkeypatch):
    cost, weights, groups, existing = groups_instance(4, 200, 45, 5, 10)
    calls = []
    real = _floors._stage_two

    def spy(agg, aw, ag, constrained, need, cols, *args):
        useful = np.count_nonzero(np.diff(sparse.csc_array(agg).indptr))
        calls.append((len(cols), useful, len(constrained)))
        return real(agg, aw, ag, constrained, need, cols, *args)

    monkeypatch.setattr(_floors, "_stage_two", spy)
    problem = LocationProblem.from_cost_matrix(cost, weights, existing=existing, groups=groups)
    model = MCLP(p=2, radius=15.0, objective="maxmin").fit(problem)
    worst, total = _milp_maxmin(cost, weights, groups, existing, 2, 15.0)
    assert model.worst_group_coverage_ == pytest.approx(worst, abs=TOL)
    assert model.coverage_ == pytest.approx(total, abs=TOL)
    assert model.status_ == "optimal" and model.gap_ <= TOL
    # No single site reach the optimal share here, so stage two kept only the sites that serve
    # the groups below it: fewer than the sites that cover any demand not yet covered.
    ((kept, useful, n_constrained),) = calls
    assert 0 < n_constrained < 5 and kept < useful
    row = _maxmin_row(cost, weights, groups, existing, 2, 15.0)
    assert len(calls) == 2 and row["sites"] == list(model.selected_)
    # Deterministic: the same sites whatever the thread count asked for.
    for threads in (1, 2):
        again = pareto_sweep(problem, p=2, radius=15.0, n_points=2, threads=threads).iloc[-1]
        assert again["sites"] == row["sites"] and again["coverage"] == row["coverage"]


def test_maxmin_point_when_the_worst_group_cannot_gain():
    # Group "far": half its demand covered by the existing site 0, the other half out of
    # reach of every candidate, so t* = 0.5 and stage two is the plain MCLP.
    inf = 1e6
    cost = np.array(
        [
            [1, inf, inf, inf],  # far, covered by the existing site
            [inf, inf, inf, inf],  # far, unreachable
            [inf, 1, inf, inf],
            [inf, 1, 1, inf],
            [inf, inf, 1, 1],
            [inf, inf, inf, 1],
        ]
    )
    weights = np.array([5.0, 5.0, 2.0, 3.0, 4.0, 6.0])
    groups = np.array(["far", "far", "near", "near", "near", "near"])
    existing = np.array([True, False, False, False])
    row = _maxmin_row(cost, weights, groups, existing, 2, 2.0)
    worst, total = _brute_maxmin(cost, weights, groups, existing, 2, 2.0)
    assert row["worst_group"] == "far" and row["worst_group_coverage"] == pytest.approx(0.5)
    assert row["coverage"] == pytest.approx(total, abs=TOL) and total == pytest.approx(20 / 25)
    assert worst == pytest.approx(0.5) and row["status"] == "optimal"


def test_maxmin_point_opens_a_site_beyond_the_floors_when_fewer_sites_reach_them():
    # One site (A) brings group "low" to its best share, 0.9; the second site then belongs
    # where it adds the most demand (C, in group "high"), not in "low" (B adds nothing).
    inf = 1e6
    #                existing  A    B    C
    cost = np.array(
        [[inf, 1, 1, inf]] * 4  # low, covered by A and B
        + [[inf, 1, inf, inf]] * 5  # low, covered by A only
        + [[inf, inf, inf, inf]]  # low, unreachable
        + [[1, inf, inf, inf], [inf, inf, inf, 1]]  # high: existing site; C only
    )
    weights = np.array([1.0] * 10 + [95.0, 5.0])
    groups = np.array(["low"] * 10 + ["high"] * 2)
    existing = np.array([True, False, False, False])
    row = _maxmin_row(cost, weights, groups, existing, 2, 2.0)
    worst, total = _brute_maxmin(cost, weights, groups, existing, 2, 2.0)
    assert worst == pytest.approx(0.9) and total == pytest.approx(109 / 110)
    assert row["worst_group_coverage"] == pytest.approx(worst, abs=TOL)
    assert row["coverage"] == pytest.approx(total, abs=TOL)
    assert sorted(row["sites"]) == ["1", "3"]


def test_undominated_keeps_one_site_per_coverage_set_and_drops_subsets():
    agg = sparse.csr_array(
        np.array(
            [
                [1, 1, 0, 1, 0],
                [0, 1, 0, 1, 0],
                [0, 0, 1, 0, 1],
            ]
        )
    )
    # Site 0 ⊂ site 1 = site 3 (the first kept), site 2 = site 4 (the first kept).
    assert _floors._undominated(agg, np.arange(5)).tolist() == [1, 2]


def test_maxmin_point_refuses_capacities_like_mclp():
    cost, weights, groups, _ = groups_instance(1, 40, 10, 3, 0)
    problem = LocationProblem.from_cost_matrix(
        cost, weights, groups=groups, capacities=np.full(10, 100.0)
    )
    with pytest.raises(SpecificationError, match="uncapacitated MCLP; use min_share"):
        pareto_sweep(problem, p=2, radius=20.0, n_points=2)


def test_group_floors_after_a_solve_on_another_thread_count():
    # HiGHS keeps one thread scheduler per process: a solve on two threads first made the
    # one-thread MIPs of the max-min objective end in "error" (and the plain sites came back).
    cost, weights, groups, existing = groups_instance(4, 200, 45, 5, 10)
    problem = LocationProblem.from_cost_matrix(cost, weights, existing=existing, groups=groups)
    one_row = sparse.csc_array(np.ones((1, 2)))
    solved = solve_highs(np.array([1.0, 2.0]), one_row, [-np.inf], [1.0], np.zeros(2),
                         np.ones(2), np.ones(2, dtype=bool), maximize=True, threads=2)  # fmt: skip
    assert solved.status == "optimal" and solved.objective == 2.0
    model = MCLP(p=2, radius=15.0, objective="maxmin").fit(problem)
    worst, total = _milp_maxmin(cost, weights, groups, existing, 2, 15.0)
    assert model.status_ == "optimal" and model.gap_ <= TOL
    assert model.worst_group_coverage_ == pytest.approx(worst, abs=TOL)
    assert model.coverage_ == pytest.approx(total, abs=TOL)
