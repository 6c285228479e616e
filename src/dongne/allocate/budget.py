r"""Split a budget across areas by need, with floors, caps and group shares (a sequence of LPs).

The allocation is the lexicographic max–min of funding per unit of need (Ogryczak 1997;
"water-filling"): every area gets the same amount per unit of need θ unless a constraint stops
it. Floors lift an area above θ·need; caps stop an area below it; group shares move money
between groups. One LP per stage maximises the common rate θ of the areas not yet fixed,

.. math::

   \begin{array}{lll}
   \textbf{maximise} & \theta & \\
   \textbf{s.t.} & \sum_i x_i = B & \text{(budget)} \\
    & x_i - \theta\, n_i \ge 0 & i \in U \text{ (areas still rising)} \\
    & \sigma_g B \le \sum_{i \in g} x_i \le \Sigma_g B & \text{(group shares)} \\
    & f_i \le x_i \le c_i, \quad x_i = v_i \; (i \notin U) &
   \end{array}

and fixes the areas whose rate row has a positive dual (they cannot rise further: capped, or
the budget or a group share binds) at their amount; the next stage raises the others. Areas
without need get their floor. The report says for each area which constraint set its amount.

References
----------
Ogryczak, W. (1997). On the lexicographic minimax approach to location problems. European
Journal of Operational Research 100:566–585. Luss, H. (1999). On equitable resource allocation
problems: a lexicographic minimax approach. Operations Research 47(3):361–378.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from dongne import __version__
from dongne._vocab import Lang, check_lang, pick_language
from dongne.allocate._model import _pow2
from dongne.allocate._solver import SolveResult, solve_highs
from dongne.errors import DataError, DongneError, InfeasibleProblemError, SpecificationError
from dongne.io.provenance import attach
from dongne.io.write import jsonable

__all__ = ["BudgetAllocation"]

_TOL = 1e-7
#: Smallest positive need, as a share of the total need, that the LPs can represent.
MIN_NEED_SHARE = 2e-15


class BudgetAllocation:
    r"""Allocate a budget across areas in proportion to need, within floors, caps and shares.

    Parameters
    ----------
    budget : float
        Total amount to allocate (all of it is allocated).
    group_min_share, group_max_share : float or dict, optional
        Minimum / maximum share of the budget for each group (one number for every group, or
        ``{"강남구": 0.02}``); needs ``groups`` in :meth:`fit`.
    backend : {"auto", "highspy", "scipy"}
        HiGHS backend for the LPs.

    Attributes
    ----------
    amount_ : Series
        Amount per area (indexed like ``need``).
    rate_ : Series
        Amount per unit of need.
    binding_ : Series
        What set each area's amount: ``"need"`` (the common rate of its stage), ``"floor"``,
        ``"cap"``, ``"group min share"``, ``"group max share"``, ``"no need"`` (floor only).
    stage_ : Series of int
        Stage at which the area was fixed (1 = first, the lowest common rate).
    rates_ : list of float
        The common rate θ of each stage (non-decreasing).
    stages_ : list of SolveResult
        The LP of each stage (objective, duals); ``stages_[0].row_duals[0]`` is the shadow
        price of the budget: extra θ per extra unit of budget in the first stage.
    provenance_ : dict

    References
    ----------
    Ogryczak, W. (1997). EJOR 100:566–585. Luss, H. (1999). Operations Research 47(3):361–378.

    Examples
    --------
    >>> import pandas as pd
    >>> need = pd.Series([10, 30, 60], index=["a", "b", "c"])
    >>> alloc = BudgetAllocation(1000).fit(need, floor=200, cap=500)
    >>> alloc.amount_.round(6).tolist(), alloc.binding_.tolist()
    ([200.0, 300.0, 500.0], ['floor', 'need', 'cap'])
    """

    def __init__(
        self,
        budget: float,
        *,
        group_min_share: float | Mapping[str, float] | None = None,
        group_max_share: float | Mapping[str, float] | None = None,
        backend: str = "auto",
    ) -> None:
        self.budget = budget
        self.group_min_share = group_min_share
        self.group_max_share = group_max_share
        self.backend = backend

    def fit(
        self,
        need: Any,
        *,
        groups: Any = None,
        floor: Any = None,
        cap: Any = None,
    ) -> BudgetAllocation:
        """Allocate; ``need``, ``groups``, ``floor`` and ``cap`` are per area (or scalars)."""
        need_s, n_arr, budget, f, c = self._checked(need, floor, cap)
        idx = need_s.index
        g_arr, labels, lo_share, hi_share = self._groups(groups, idx, f, c, budget)
        # The LPs run on amounts and needs multiplied by powers of two (exact) that bring the
        # budget and the total need into [1e6, 2e6): HiGHS's tolerances and _TOL are
        # absolute, and a budget of 1.7e11 (won) was refused, one of 1e-6 split 27 % off the
        # water filling (fuzz4). HiGHS drops matrix entries below 1e-9, so a positive need
        # below 2e-15 of the total (1e-9 after scaling) cannot be represented: refused.
        s_b = _pow2(budget)
        total_need = float(n_arr.sum())
        s_n = _pow2(total_need)
        tiny = (n_arr > 0) & (n_arr < MIN_NEED_SHARE * total_need)
        if tiny.any():
            raise DataError(
                f"need of areas {_names(idx[tiny])} is below {MIN_NEED_SHARE:g} of the total "
                f"need ({total_need:,.6g}): too small for the LP to tell from 0. Fix: set "
                "such needs to 0 (the area gets its floor) or rescale the need column."
            )
        n_real, f_real, c_real, budget_real = n_arr, f, c, budget
        n_arr, f, c, budget = n_arr * s_n, f * s_b, c * s_b, budget * s_b
        n = len(idx)
        frozen = np.zeros(n, dtype=bool)
        value = np.zeros(n)
        binding = np.full(n, "", dtype=object)
        stage = np.zeros(n, dtype=np.int64)
        zero = n_arr <= 0
        frozen[zero], value[zero], binding[zero] = True, f[zero], "no need"
        stages: list[SolveResult] = []
        rates: list[float] = []
        k = 0
        while not frozen.all():
            k += 1
            res, rate_rows, _ = self._stage(
                n_arr, f, c, frozen, value, g_arr, labels, lo_share, hi_share, budget
            )
            if res.x is None:
                raise InfeasibleProblemError(
                    "The budget cannot be split within the floors, caps and group shares "
                    f"(HiGHS status {res.status}). Fix: relax a group share or a cap/floor."
                )
            stages.append(res)
            theta = float(res.x[n])
            rates.append(theta * s_n / s_b)
            x = res.x[:n]
            open_ = np.flatnonzero(~frozen)
            duals = np.abs(res.row_duals[rate_rows]) if len(rate_rows) else np.zeros(0)
            stop = open_[duals > _TOL * max(1.0, float(duals.max(initial=0.0)))]
            if not len(stop):
                stop = open_
            for i in stop:
                xi = float(x[i])
                if np.isfinite(c[i]) and xi >= c[i] - _TOL * max(1.0, c[i]):
                    why = "cap"
                elif (
                    xi <= f[i] + _TOL * max(1.0, f[i]) and f[i] > 0 and xi > theta * n_arr[i] + _TOL
                ):
                    why = "floor"
                else:
                    why = "need"
                binding[i] = why
            frozen[stop] = True
            value[stop] = x[stop]
            stage[stop] = k
        fl = (binding == "need") & (value <= f + _TOL * np.maximum(1.0, f)) & (f > 0)
        binding[fl] = "floor"
        # back to the caller's units (_unscaled)
        n_arr, f, c, budget, value = n_real, f_real, c_real, budget_real, value / s_b
        stages = [_unscaled(r, n, s_b, s_n) for r in stages]
        if g_arr is not None and (lo_share or hi_share):
            self._label_groups(binding, value, n_arr, f, c, g_arr, labels, lo_share, hi_share)
        self.amount_ = pd.Series(value, index=idx, name="amount")
        with np.errstate(divide="ignore", invalid="ignore"):
            self.rate_ = pd.Series(np.where(n_arr > 0, value / n_arr, np.nan), index=idx)
        self.binding_ = pd.Series(binding, index=idx, name="binding")
        self.stage_ = pd.Series(stage, index=idx, name="stage")
        self.rates_ = rates
        self.stages_ = stages
        self.need_ = need_s
        self.floor_ = pd.Series(f, index=idx)
        self.cap_ = pd.Series(c, index=idx)
        self.groups_ = None if g_arr is None else pd.Series(np.asarray(labels)[g_arr], index=idx)
        self.shadow_price_ = float(stages[0].row_duals[0]) if stages else float("nan")
        self.provenance_ = {
            "method": "lexicographic max-min of funding per unit of need (sequence of LPs)",
            "budget": budget,
            "n_areas": n,
            "stages": len(stages),
            "group_min_share": jsonable(self.group_min_share),
            "group_max_share": jsonable(self.group_max_share),
            "solver": stages[0].backend if stages else "none",
            "dongne_version": __version__,
        }
        return self

    # ------------------------------------------------------------------ internals
    def _checked(self, need: Any, floor: Any, cap: Any):
        """The need, budget, floors and caps as arrays, checked (clear errors naming the areas)."""
        need_s = _series(need, "need")
        idx = need_s.index
        n_arr = need_s.to_numpy(float)
        if (n_arr < 0).any() or not np.isfinite(n_arr).all():
            raise DataError(
                f"need must be finite and non-negative; areas {_names(idx[~(n_arr >= 0)])} are "
                "not. Fix: fill or clip the need column."
            )
        budget = float(self.budget)
        if not (np.isfinite(budget) and budget > 0):
            raise SpecificationError(f"The 'budget' must be positive. Got {self.budget!r}.")
        f = _per_area(floor, idx, 0.0, "floor")
        c = _per_area(cap, idx, np.inf, "cap")
        bad = f > c * (1 + 1e-12)  # relative: amounts come in any unit (won, 1e-6 …)
        if bad.any():
            raise DataError(
                f"floor exceeds cap for areas {_names(idx[bad])}. Fix: lower the floor or raise "
                "the cap there."
            )
        if f.sum() > budget * (1 + 1e-12):
            big = idx[np.argsort(-f)[:5]]
            raise InfeasibleProblemError(
                f"The floors add up to {f.sum():,.6g}, more than the budget {budget:,.6g} "
                f"(shortfall {f.sum() - budget:,.6g}); largest floors: {_names(big)}. Fix: "
                "lower the floors or raise the budget."
            )
        if c.sum() < budget * (1 - 1e-12):
            raise InfeasibleProblemError(
                f"The caps add up to {c.sum():,.6g}, less than the budget {budget:,.6g}: "
                f"{budget - c.sum():,.6g} could not be spent. Fix: raise the caps or lower the "
                "budget."
            )
        return need_s, n_arr, budget, f, c

    def _groups(self, groups, idx, f, c, budget):
        if groups is None:
            if self.group_min_share is not None or self.group_max_share is not None:
                raise SpecificationError("Group shares need groups=... in fit().")
            return None, None, {}, {}
        g = _series(groups, "groups").reindex(idx)
        if g.isna().any():
            raise DataError(f"groups is missing for areas {_names(idx[g.isna().to_numpy()])}.")
        labels_arr, codes = np.unique(g.astype(str).to_numpy(), return_inverse=True)
        labels = [str(x) for x in labels_arr]
        lo = _shares(self.group_min_share, labels, "group_min_share")
        hi = _shares(self.group_max_share, labels, "group_max_share")
        if sum(lo.values()) > 1 + 1e-12:
            raise InfeasibleProblemError(
                f"The group minimum shares add up to {sum(lo.values()):.3f} > 1. Fix: lower them."
            )
        for gi, label in enumerate(labels):
            members = codes == gi
            if label in lo and lo[label] * budget > c[members].sum() * (1 + 1e-12):
                raise InfeasibleProblemError(
                    f"Group {label} must receive at least {lo[label] * budget:,.6g} but its caps "
                    f"allow only {c[members].sum():,.6g}. Fix: lower its share or raise caps."
                )
            if label in hi and hi[label] * budget < f[members].sum() * (1 - 1e-12):
                raise InfeasibleProblemError(
                    f"Group {label} may receive at most {hi[label] * budget:,.6g} but its floors "
                    f"need {f[members].sum():,.6g}. Fix: raise its share or lower floors."
                )
        return codes, labels, lo, hi

    def _label_groups(self, binding, value, need, f, c, g_arr, labels, lo_share, hi_share):
        """Areas moved by a tight group share, compared with the allocation without shares."""
        ref = BudgetAllocation(self.budget, backend=self.backend).fit(need, floor=f, cap=c)
        x_ref = ref.amount_.to_numpy()
        budget = float(self.budget)
        for gi, label in enumerate(labels):
            members = (g_arr == gi) & (binding == "need")
            total = value[g_arr == gi].sum()
            tol = 1e-6 * budget  # relative (review: at a budget of 1e-6 every label was 'need')
            if label in lo_share and total <= lo_share[label] * budget + tol:
                binding[members & (value > x_ref + tol)] = "group min share"
            if label in hi_share and total >= hi_share[label] * budget - tol:
                binding[members & (value < x_ref - tol)] = "group max share"

    def _stage(self, need, f, c, frozen, value, g_arr, labels, lo_share, hi_share, budget):
        n = len(need)
        open_ = np.flatnonzero(~frozen)
        cost = np.zeros(n + 1)
        cost[n] = 1.0
        lower = np.where(frozen, value, f)
        upper = np.where(frozen, value, c)
        rows, cols, vals = [np.zeros(n, dtype=np.int64)], [np.arange(n)], [np.ones(n)]
        r_lo, r_hi = [budget], [budget]
        k = len(open_)
        rows += [1 + np.arange(k), 1 + np.arange(k)]
        cols += [open_, np.full(k, n)]
        vals += [np.ones(k), -need[open_]]
        r_lo += [0.0] * k
        r_hi += [np.inf] * k
        rate_rows = 1 + np.arange(k)
        group_rows: dict[tuple[int, str], int] = {}
        r = 1 + k
        if g_arr is not None:
            for gi, label in enumerate(labels):
                members = np.flatnonzero(g_arr == gi)
                for kind, shares, lo_b, hi_b in (
                    ("min", lo_share, True, False),
                    ("max", hi_share, False, True),
                ):
                    if label not in shares:
                        continue
                    rows.append(np.full(len(members), r))
                    cols.append(members)
                    vals.append(np.ones(len(members)))
                    r_lo.append(shares[label] * budget if lo_b else -np.inf)
                    r_hi.append(shares[label] * budget if hi_b else np.inf)
                    group_rows[(gi, kind)] = r
                    r += 1
        a = sparse.csc_array(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, n + 1)
        )
        res = solve_highs(
            cost,
            a,
            np.asarray(r_lo, float),
            np.asarray(r_hi, float),
            np.append(lower, 0.0),
            np.append(upper, np.inf),
            maximize=True,
            backend=self.backend,
        )
        return res, rate_rows, group_rows

    # ------------------------------------------------------------------ reporting
    def _check_fitted(self) -> None:
        if not hasattr(self, "amount_"):
            raise DongneError("This BudgetAllocation is not fitted yet; call fit(need, ...).")

    def to_frame(self) -> pd.DataFrame:
        """One row per area: need, floor, cap, amount, shares, rate and the binding constraint."""
        self._check_fitted()
        total_need = float(self.need_.sum())
        frame = pd.DataFrame(
            {
                "need": self.need_,
                "need_share": self.need_ / total_need if total_need else np.nan,
                "floor": self.floor_,
                "cap": self.cap_,
                "amount": self.amount_,
                "amount_share": self.amount_ / float(self.budget),
                "rate": self.rate_,
                "stage": self.stage_,
                "binding": self.binding_,
                "explanation": [self._explain(i) for i in self.amount_.index],
            }
        )
        if self.groups_ is not None:
            frame.insert(0, "group", self.groups_)
        attach(frame, self.provenance_)
        return frame

    def _explain(self, i: Any) -> str:
        b = self.binding_[i]
        amt = self.amount_[i]
        if b == "no need":
            return f"no need: gets its floor {amt:,.0f}"
        if b == "floor":
            return f"held at its floor {amt:,.0f} (need alone would give less)"
        if b == "cap":
            return f"capped at {amt:,.0f} (need would give more)"
        if b.startswith("group"):
            g = self.groups_[i] if self.groups_ is not None else ""
            return f"set by the {b} of {g}: {self.rate_[i]:,.4g} per unit of need"
        return f"need: {self.rate_[i]:,.4g} per unit of need (stage {self.stage_[i]})"

    def plot(self, ax: Any = None) -> Any:
        """Need share against amount share per area (see :func:`dongne.allocate._plots`)."""
        from dongne.allocate._plots import plot_budget

        self._check_fitted()
        return plot_budget(self, ax)

    def summary(self, lang: Lang = "both") -> str:
        """Plain-language summary in English, Korean or both (``lang``: "both", "ko", "en")."""
        check_lang(lang)
        self._check_fitted()
        counts = self.binding_.value_counts()
        b = float(self.budget)
        top = self.amount_.sort_values(ascending=False).head(5)
        en = [
            f"Budget {b:,.0f} split over {len(self.amount_)} areas by need "
            f"({len(self.stages_)} LP stage(s), solver {self.provenance_['solver']}).",
            f"  Common rate {self.rates_[0]:,.4g} per unit of need in stage 1"
            + (f", rising to {self.rates_[-1]:,.4g}." if len(self.rates_) > 1 else "."),
        ]
        ko = [
            f"예산 {b:,.0f}을 필요도에 따라 {len(self.amount_)}개 지역에 배분 "
            f"(LP {len(self.stages_)}단계).",
            f"  1단계 공통 배분율: 필요도 1단위당 {self.rates_[0]:,.4g}",
        ]
        names = {
            "need": ("areas funded at the common rate", "공통 배분율로 배분"),
            "floor": ("areas held at their floor", "하한으로 배분"),
            "cap": ("areas capped", "상한에 도달"),
            "group min share": ("areas raised by a group minimum share", "그룹 최소 비율로 상향"),
            "group max share": ("areas limited by a group maximum share", "그룹 최대 비율로 제한"),
            "no need": ("areas without need (floor only)", "필요도 0 (하한만)"),
        }
        for key, (t_en, t_ko) in names.items():
            if counts.get(key, 0):
                en.append(f"  {counts[key]} {t_en}")
                ko.append(f"  {t_ko}: {counts[key]}개 지역")
        en.append("  Largest amounts: " + ", ".join(f"{i} {v:,.0f}" for i, v in top.items()))
        ko.append("  최대 배분: " + ", ".join(f"{i} {v:,.0f}" for i, v in top.items()))
        en.append(
            f"  Shadow price of the budget (stage 1): +{self.shadow_price_:,.4g} rate per extra "
            "unit of budget."
        )
        ko.append(f"  예산의 잠재가격(1단계): 예산 1단위 증가 시 배분율 +{self.shadow_price_:,.4g}")
        return pick_language(lang, "\n".join(en), "\n".join(ko))


def _series(values: Any, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional (one value per area).")
    return pd.Series(arr, name=name)


def _per_area(values: Any, idx: pd.Index, default: float, name: str) -> np.ndarray:
    if values is None:
        return np.full(len(idx), default)
    if np.isscalar(values):
        arr = np.full(len(idx), float(values))
    else:
        s = _series(values, name)
        s = s.reindex(idx) if isinstance(values, pd.Series) else s.set_axis(idx)
        arr = pd.to_numeric(s, errors="coerce").to_numpy(float)
        if name == "cap":
            arr = np.where(np.isnan(arr), np.inf, arr)
    if np.isnan(arr).any() or (arr < 0).any():
        raise DataError(f"{name} must be non-negative numbers for every area (missing or < 0).")
    return arr


def _shares(value: Any, labels: list[str], name: str) -> dict[str, float]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        unknown = [k for k in value if str(k) not in labels]
        if unknown:
            raise SpecificationError(f"{name} names unknown groups {unknown}.")
        out = {str(k): float(v) for k, v in value.items()}
    else:
        out = {g: float(value) for g in labels}
    bad = {k: v for k, v in out.items() if not 0 <= v <= 1}
    if bad:
        raise SpecificationError(f"{name} must be shares in [0, 1]. Got {bad}.")
    return out


def _names(index: Any, limit: int = 10) -> str:
    items = [str(i) for i in index]
    shown = ", ".join(items[:limit])
    return shown + (f" (and {len(items) - limit} more)" if len(items) > limit else "")


def _unscaled(res: SolveResult, n: int, s_b: float, s_n: float) -> SolveResult:
    """A stage LP in the caller's units: amounts were multiplied by ``s_b`` and needs by
    ``s_n``; every row is in amounts, so its dual (θ per amount) scales by ``s_n``, as does
    the reduced cost of an amount (θ's own is unchanged)."""
    unit = np.append(np.full(n, 1 / s_b), s_n / s_b)
    dual_unit = np.append(np.full(n, s_n), 1.0)
    return replace(
        res, x=res.x * unit, objective=res.objective * s_n / s_b, bound=res.bound * s_n / s_b,
        row_duals=None if res.row_duals is None else res.row_duals * s_n,
        col_duals=None if res.col_duals is None else res.col_duals * dual_unit,
    )  # fmt: skip
