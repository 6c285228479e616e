"""MCLP with group floors (``min_share``) on the exactly reduced MIP of ``allocate._floors``.

References that use none of the reductions: :func:`scipy.optimize.milp` on the full model
(one row per demand point, every candidate, exactly ``p`` sites) and, on tiny instances, every
set of ``p`` sites. Instances have several groups, existing sites and tied candidates (sites
at the same place, so identical coverage sets).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from allocate_cases import group_shares, groups_instance
from scipy.optimize import Bounds, LinearConstraint, milp

from dongne.allocate import MCLP, LocationProblem
from dongne.errors import InfeasibleProblemError

TOL = 1e-9


def _milp_floors(cost, weights, groups, existing, p, radius, floor):
    """max sum w_i z_i s.t. every group's covered share >= ``floor[g]``, exactly p sites, by
    scipy.optimize.milp on the unreduced model. Returns the total share or None (infeasible)."""
    cover = cost <= radius
    cand = np.flatnonzero(~existing)
    a = cover[:, cand].astype(float)
    base = cover[:, existing].any(axis=1).astype(float)
    n, mc = a.shape
    labels = sorted(set(groups))
    member = np.array([[g == lab for g in groups] for lab in labels], dtype=float)
    totals = member @ weights
    link = LinearConstraint(np.hstack([-a, np.eye(n)]), -np.inf, base)
    count = LinearConstraint(np.concatenate([np.ones(mc), np.zeros(n)])[None, :], p, p)
    lower = np.array([floor.get(lab, 0.0) for lab in labels]) * totals
    floors = LinearConstraint(np.hstack([np.zeros((len(labels), mc)), member * weights]),
                              lower, np.inf)  # fmt: skip
    res = milp(np.concatenate([np.zeros(mc), -weights]), constraints=[link, count, floors],
               integrality=np.concatenate([np.ones(mc), np.zeros(n)]),
               bounds=Bounds(0, 1), options={"mip_rel_gap": 0.0})  # fmt: skip
    if res.status == 2:
        return None
    assert res.success
    chosen = cand[np.flatnonzero(res.x[:mc] > 0.5)]
    return group_shares(cover, weights, groups, labels, np.concatenate([np.flatnonzero(existing),
                                                                   chosen]))[1]  # fmt: skip


def _brute_floors(cost, weights, groups, existing, p, radius, floor):
    cover = cost <= radius
    labels = sorted(set(groups))
    need = np.array([floor.get(lab, 0.0) for lab in labels])
    best = None
    for chosen in itertools.combinations(np.flatnonzero(~existing), p):
        shares, total = group_shares(
            cover, weights, groups, labels, np.concatenate([np.flatnonzero(existing), chosen])
        )
        if np.all(shares >= need) and (best is None or total > best):
            best = total
    return best


def _maxmin_share(problem, p, radius):
    return MCLP(p=p, radius=radius, objective="maxmin").fit(problem).worst_group_coverage_


def _check(model, problem, floor, total):
    assert model.status_ == "optimal" and model.gap_ <= TOL
    assert model.coverage_ == pytest.approx(total, abs=TOL)
    shares = model.groups_after_.drop(index="all")["coverage"]
    for g, s in floor.items():
        assert shares[g] >= s - TOL
    assert len(model.selected_) == model.p


CASES = [
    # seed, n, m, groups, existing, twins, p, radius, fraction of the max-min share
    (1, 120, 30, 4, 3, 5, 3, 18.0, 1.0),
    (2, 150, 40, 5, 6, 8, 4, 16.0, 0.9),
    (3, 150, 40, 6, 0, 6, 5, 20.0, 0.97),
    (4, 200, 45, 5, 10, 4, 2, 15.0, 1.0),
    (5, 100, 25, 3, 4, 3, 6, 22.0, 0.8),
    (6, 160, 35, 4, 2, 10, 4, 17.0, 0.99),
]


@pytest.mark.parametrize(("seed", "n", "m", "n_groups", "n_existing", "n_twins", "p", "radius",
                          "fraction"), CASES)  # fmt: skip
def test_min_share_equals_the_plain_mip(seed, n, m, n_groups, n_existing, n_twins, p, radius,
                                        fraction):  # fmt: skip
    cost, weights, groups, existing = groups_instance(seed, n, m, n_groups, n_existing, n_twins)
    problem = LocationProblem.from_cost_matrix(cost, weights, existing=existing, groups=groups)
    eps = fraction * _maxmin_share(problem, p, radius) - TOL
    model = MCLP(p=p, radius=radius, min_share=eps).fit(problem)
    floor = {g: eps for g in set(groups)}
    _check(model, problem, floor, _milp_floors(cost, weights, groups, existing, p, radius, floor))
    # Floors per group: one group at its best share with p sites, the others free.
    label = sorted(set(groups))[seed % n_groups]
    best = MCLP(p=p, radius=radius, min_share={label: 0.0}).fit(problem)
    one = {label: min(1.0, best.groups_after_.loc[label, "coverage"] + 0.1)}
    reference = _milp_floors(cost, weights, groups, existing, p, radius, one)
    if reference is None:
        with pytest.raises(InfeasibleProblemError):
            MCLP(p=p, radius=radius, min_share=one).fit(problem)
    else:
        _check(MCLP(p=p, radius=radius, min_share=one).fit(problem), problem, one, reference)


@pytest.mark.parametrize("seed", [21, 22, 23, 24, 25])
def test_min_share_equals_brute_force(seed):
    cost, weights, groups, existing = groups_instance(seed, 60, 15, 3, 2, 3)
    problem = LocationProblem.from_cost_matrix(cost, weights, existing=existing, groups=groups)
    eps = _maxmin_share(problem, 3, 20.0) - TOL
    floor = {g: eps for g in set(groups)}
    model = MCLP(p=3, radius=20.0, min_share=eps).fit(problem)
    _check(model, problem, floor, _brute_floors(cost, weights, groups, existing, 3, 20.0, floor))


def test_min_share_sites_do_not_depend_on_threads():
    cost, weights, groups, existing = groups_instance(2, 150, 40, 5, 6, 8)
    problem = LocationProblem.from_cost_matrix(cost, weights, existing=existing, groups=groups)
    eps = 0.95 * _maxmin_share(problem, 4, 16.0)
    fits = [MCLP(p=4, radius=16.0, min_share=eps, threads=t).fit(problem) for t in (1, 2)]
    assert fits[0].selected_.tolist() == fits[1].selected_.tolist()
    assert fits[0].objective_ == fits[1].objective_

