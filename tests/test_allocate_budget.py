"""Budget allocation by need: water-filling, explanations, duals and complementary slackness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dongne.allocate import BudgetAllocation
from dongne.errors import DataError, InfeasibleProblemError, SpecificationError


def _water_fill(need, floor, cap, budget):
    """Closed form without group shares: x_i = clip(λ n_i, f_i, c_i), Σ x = B (bisection)."""
    lo, hi = 0.0, 1.0
    while np.clip(hi * need, floor, cap).sum() < budget:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if np.clip(mid * need, floor, cap).sum() < budget:
            lo = mid
        else:
            hi = mid
    return np.clip(hi * need, floor, cap)


def test_proportional_without_constraints():
    need = pd.Series([1.0, 2.0, 7.0], index=["a", "b", "c"])
    alloc = BudgetAllocation(100).fit(need)
    assert alloc.amount_.tolist() == pytest.approx([10, 20, 70])
    assert (alloc.binding_ == "need").all()
    assert alloc.rates_ == pytest.approx([10.0])
    assert alloc.shadow_price_ == pytest.approx(0.1)  # θ = B / Σ n


@settings(max_examples=25, deadline=None)
@given(
    need=st.lists(st.floats(0.5, 100), min_size=3, max_size=12),
    data=st.data(),
)
def test_matches_closed_form_water_filling(need, data):
    n = np.asarray(need)
    k = len(n)
    floor = np.asarray(data.draw(st.lists(st.floats(0, 5), min_size=k, max_size=k)))
    cap = floor + np.asarray(data.draw(st.lists(st.floats(1, 60), min_size=k, max_size=k)))
    budget = data.draw(st.floats(float(floor.sum()) + 1e-3, float(cap.sum()) - 1e-3))
    alloc = BudgetAllocation(budget).fit(n, floor=floor, cap=cap)
    expected = _water_fill(n, floor, cap, budget)
    assert alloc.amount_.to_numpy() == pytest.approx(expected, rel=1e-6, abs=1e-6)
    assert alloc.amount_.sum() == pytest.approx(budget)
    rates = np.asarray(alloc.rates_)
    assert (np.diff(rates) >= -1e-9).all()


def test_explanations_name_the_binding_constraint():
    need = pd.Series([1, 10, 30, 59], index=["w", "x", "y", "z"], dtype=float)
    alloc = BudgetAllocation(1000).fit(need, floor=50, cap=pd.Series({"z": 400.0}))
    frame = alloc.to_frame()
    assert frame.loc["w", "binding"] == "floor" and frame.loc["w", "amount"] == pytest.approx(50)
    assert frame.loc["z", "binding"] == "cap" and frame.loc["z", "amount"] == pytest.approx(400)
    assert set(frame.loc[["x", "y"], "binding"]) == {"need"}
    assert frame.loc["x", "rate"] == pytest.approx(frame.loc["y", "rate"])
    assert "capped at 400" in frame.loc["z", "explanation"]
    assert "floor" in frame.loc["w", "explanation"]
    text = alloc.summary()
    assert "areas capped" in text and "상한" in text


def test_group_min_share_moves_money_and_is_reported():
    need = pd.Series([10.0, 10.0, 10.0, 70.0], index=list("abcd"))
    groups = pd.Series(["north", "north", "south", "south"], index=list("abcd"))
    plain = BudgetAllocation(100).fit(need, groups=groups)
    assert plain.amount_[["a", "b"]].sum() == pytest.approx(20)
    alloc = BudgetAllocation(100, group_min_share={"north": 0.4}).fit(need, groups=groups)
    assert alloc.amount_[["a", "b"]].sum() == pytest.approx(40)
    assert set(alloc.binding_[["a", "b"]]) == {"group min share"}
    assert alloc.to_frame().loc["a", "group"] == "north"
    capped = BudgetAllocation(100, group_max_share={"south": 0.5}).fit(need, groups=groups)
    assert capped.amount_[["c", "d"]].sum() == pytest.approx(50)



@pytest.mark.parametrize("unit", [1e-8, 1.0, 1e11])
def test_budget_results_do_not_depend_on_the_unit(unit):
    """The same split in any unit of money: amounts proportional, labels, rates and shadow
    prices in the caller's unit. Review of fuzz4's scaling: at a budget of 1e-6 the labels
    came out "need" (an absolute 1e-6 tolerance) where 1 and 1e11 said "group min share",
    and a floor above a cap by 1e-8 of it went unnoticed at small amounts."""
    need = pd.Series([10.0, 10.0, 10.0, 70.0], index=list("abcd"))
    groups = pd.Series(["north", "north", "south", "south"], index=list("abcd"))
    alloc = BudgetAllocation(100 * unit, group_min_share={"north": 0.4}).fit(
        need, groups=groups, floor=pd.Series([0.0, 0.0, 5.0, 0.0], index=list("abcd")) * unit
    )
    # north gets its 40 % (20 each); south shares 60 by need: 0.75 × (10, 70)
    assert (alloc.amount_ / unit).tolist() == pytest.approx([20, 20, 7.5, 52.5], rel=1e-9)
    assert set(alloc.binding_[["a", "b"]]) == {"group min share"}
    with pytest.raises(DataError, match="floor exceeds cap"):
        BudgetAllocation(100 * unit).fit(need, floor=10 * unit * (1 + 1e-8), cap=10 * unit)


def test_zero_need_gets_floor():
    alloc = BudgetAllocation(100).fit(pd.Series([0.0, 1.0, 1.0]), floor=10)
    assert alloc.amount_.tolist() == pytest.approx([10, 45, 45])
    assert alloc.binding_.iloc[0] == "no need"


@pytest.mark.parametrize("backend", ["highspy", "scipy"])
def test_duals_and_complementary_slackness(backend):
    rng = np.random.default_rng(3)
    need = rng.uniform(1, 20, 15)
    floor = rng.uniform(0, 5, 15)
    cap = floor + rng.uniform(5, 40, 15)
    groups = np.where(np.arange(15) < 5, "g1", "g2")
    budget = 0.6 * cap.sum()
    alloc = BudgetAllocation(budget, group_min_share={"g1": 0.4}, backend=backend).fit(
        need, floor=floor, cap=cap, groups=groups
    )
    assert alloc.amount_.sum() == pytest.approx(budget)
    for res in alloc.stages_:
        x = res.x
        n = len(need)
        # Rebuild the stage LP's rows from the allocation: budget row first.
        assert x[:n].sum() == pytest.approx(budget)
        # Dual feasibility for max θ: the θ column's reduced cost is 0 (θ is basic, > 0).
        assert res.col_duals[n] == pytest.approx(0.0, abs=1e-7)
        # Strong duality: objective = Σ duals × binding bounds (LP optimum = θ).
        assert res.objective == pytest.approx(x[n])
    first = alloc.stages_[0]
    theta = first.x[len(need)]
    # Rate rows x_i - θ n_i >= 0: a positive dual only where the row is tight.
    rate_duals = first.row_duals[1 : 1 + len(need)]
    slack = first.x[: len(need)] - theta * need
    assert np.all(np.abs(rate_duals * slack) <= 1e-6 * (1 + np.abs(slack)))
    # Column bounds: a non-zero reduced cost only at a bound (floor or cap).
    xi, rc = first.x[: len(need)], first.col_duals[: len(need)]
    at_bound = np.isclose(xi, floor, atol=1e-7) | np.isclose(xi, cap, atol=1e-7)
    assert np.all(at_bound | (np.abs(rc) <= 1e-7))
    # θ's column: Σ_i dual_i · n_i = −1 (duals are ∂θ/∂bound: raising a row's lower bound
    # x_i − θ n_i ≥ 0 can only lower θ), i.e. the objective coefficient 1 of θ is priced out.
    assert float(rate_duals @ need) == pytest.approx(-1.0, rel=1e-6)
    assert (rate_duals <= 1e-9).all()
    # The shadow price of the budget: raising B by a little raises θ by that much (without
    # group shares, whose amounts also move with B).
    plain = BudgetAllocation(budget, backend=backend).fit(need, floor=floor, cap=cap)
    bump = BudgetAllocation(budget + 1e-3, backend=backend).fit(need, floor=floor, cap=cap)
    assert (bump.rates_[0] - plain.rates_[0]) / 1e-3 == pytest.approx(
        plain.shadow_price_, rel=1e-3, abs=1e-9
    )


def test_infeasible_budgets_name_the_shortfall():
    need = pd.Series([1.0, 2.0, 3.0], index=["a", "b", "c"])
    with pytest.raises(InfeasibleProblemError, match="shortfall 50"):
        BudgetAllocation(100).fit(need, floor=50)
    with pytest.raises(InfeasibleProblemError, match="70 could not be spent"):
        BudgetAllocation(100).fit(need, cap=10)
    with pytest.raises(DataError, match="floor exceeds cap for areas b"):
        BudgetAllocation(100).fit(need, floor=pd.Series({"a": 0, "b": 9, "c": 0}), cap=8)
    groups = pd.Series(["x", "x", "y"], index=need.index)
    with pytest.raises(InfeasibleProblemError, match="Group x must receive at least 90"):
        BudgetAllocation(100, group_min_share={"x": 0.9}).fit(need, groups=groups, cap=40)
    with pytest.raises(SpecificationError, match="need groups"):
        BudgetAllocation(100, group_min_share=0.2).fit(need)
    with pytest.raises(DataError, match="non-negative"):
        BudgetAllocation(100).fit(pd.Series([1.0, -1.0]))


@pytest.mark.parametrize("budget_scale", [1e-6, 1e-3, 1e9, 1e11])
def test_budget_in_any_unit_matches_water_filling(budget_scale):
    """fuzz4: the LPs ran on the caller's units against absolute tolerances (HiGHS 1e-7,
    _TOL): a budget of 1.7e11 (won) was refused ("cannot be split ... status optimal") and
    one of 1e-6 was split up to 27 % of the budget off the water filling."""
    rng = np.random.default_rng(239)
    need = rng.uniform(0.5, 100, 25)
    floor = rng.uniform(0, 1, 25) * budget_scale / 25 * 0.5
    cap = floor + rng.uniform(0.1, 3, 25) * budget_scale / 25
    budget = float(floor.sum() + 0.6 * (cap.sum() - floor.sum()))
    alloc = BudgetAllocation(budget).fit(need, floor=floor, cap=cap)
    expected = _water_fill(need, floor, cap, budget)
    assert np.abs(alloc.amount_.to_numpy() - expected).max() <= 1e-9 * budget
    assert alloc.amount_.sum() == pytest.approx(budget, rel=1e-12)
    # the first stage's rate (the lowest funding per unit of need) in the caller's units
    assert alloc.rates_[0] == pytest.approx((expected / need).min(), rel=1e-6)


def test_needs_too_small_for_the_lp_are_refused():
    with pytest.raises(DataError, match="need of areas 0 is below"):
        BudgetAllocation(100).fit(np.array([1e-9, 1e7, 1e7]))


def test_documented_seoul_example_in_won():
    """The example of docs/allocate.md (10 billion won, floors 5 million, caps 200 million,
    every gu ≥ 2 %) was refused before fuzz4 ("cannot be split ... status infeasible")."""
    from dongne.datasets import seoul_dongs

    dongs = seoul_dongs().set_index("dong_code")
    need, gu = dongs["basement_households"], dongs["gu_name"]
    budget = 10_000_000_000
    alloc = BudgetAllocation(budget, group_min_share=0.02).fit(
        need, groups=gu, floor=5_000_000, cap=200_000_000
    )
    x = alloc.amount_
    assert x.sum() == pytest.approx(budget, rel=1e-12)
    assert (x >= 5_000_000 * (1 - 1e-9)).all() and (x <= 200_000_000 * (1 + 1e-9)).all()
    assert (x.groupby(gu).sum() >= 0.02 * budget * (1 - 1e-9)).all()
    plain = BudgetAllocation(budget).fit(need, floor=5_000_000, cap=200_000_000)
    n = need.to_numpy(float)
    expected = _water_fill(n, np.full(len(n), 5e6), np.full(len(n), 2e8), float(budget))
    # areas without need get their floor (the closed form gives them the floor too)
    assert np.abs(plain.amount_.to_numpy() - expected).max() <= 1e-9 * budget
