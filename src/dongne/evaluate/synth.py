"""Synthetic control: a weighted mix of untreated units that tracks a treated unit before a policy.

:func:`synthetic_control` fits the estimator of Abadie & Gardeazabal (2003) and Abadie, Diamond &
Hainmueller (2010): donor weights W ≥ 0 with ΣW = 1 minimise the distance between the treated
unit's predictors X₁ and the donors' X₀W in a diagonal metric V, and V is chosen so that the
resulting synthetic unit reproduces the treated unit's pre-policy outcome path as closely as
possible. The result, :class:`SyntheticControl`, carries the weights, V, the synthetic path and the
gaps, and runs the two robustness checks of the method: in-space placebos
(:meth:`SyntheticControl.placebo_test`, ADH 2010 §3) and leave-one-donor-out refits
(:meth:`SyntheticControl.leave_one_out`, Abadie, Diamond & Hainmueller 2015 §5).

Numerics
--------
*Inner problem* (W for a given V): the quadratic programme min ½ wᵀHw − gᵀw over the simplex,
H = X₀ᵀVX₀, g = X₀ᵀVX₁, solved exactly (to rounding) by a primal active-set method
(:func:`simplex_least_squares`): each step solves the KKT system of the equality-constrained
problem on the current support, so the answer is a vertex-exact solution, not an iterate of a
general-purpose optimiser. A ridge of 1e-10 · mean(diag H) makes H positive definite, so ties
between equally good donor mixes (possible when there are fewer predictors than donors) resolve
to the minimum-norm mix, reproducibly.

*Outer problem* (V): minimise the pre-period outcome MSPE L(V) = ‖Z₁ − Z₀W(V)‖²/T₀ over diagonal
V ≥ 0 normalised to ΣV = 1. L is non-convex and only piecewise smooth; on each piece W(V) is
smooth and the exact gradient follows from the KKT system by one adjoint solve, which drives
L-BFGS-B. Starts: equal V; the regression-based V of Synth (R) (diagonal of ββᵀ from regressing
the pre-period outcomes on the scaled predictors across units); the "outcome-matching" V, which
gives predictors that are single pre-period outcomes the weight that turns the predictor fit into
the outcome fit (this V is the global optimum when all predictors are pre-period outcomes); and
``n_starts`` seeded Dirichlet draws. The best start wins; equal losses keep the earlier start, so
the answer is a deterministic function of the data and ``seed``.

Predictors are divided by their standard deviation across the treated unit and its donors before
fitting (as Synth and pysyncon do), so V is reported on that scale.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numba import njit

from dongne import __version__
from dongne._deprecate import renamed
from dongne._fonts import korean_font
from dongne._vocab import Lang, bilingual, provenance_alias, resolve_rng
from dongne._warnings import user_stacklevel
from dongne.errors import DataError, DongneWarning, SpecificationError, format_rows
from dongne.io.provenance import attach
from dongne.io.write import jsonable

__all__ = [
    "ConvexHullWarning",
    "SyntheticControl",
    "SyntheticLeaveOneOut",
    "SyntheticPlacebos",
    "simplex_least_squares",
    "synthetic_control",
]

_AGGREGATES = ("mean", "median")
_RIDGE = 1e-10
_WEIGHT_FLOOR = 1e-6  # weights below this count as zero in the leave-one-out check


class ConvexHullWarning(DongneWarning):
    """The treated unit's pre-period outcome lies outside the donors' range in some periods."""


# --------------------------------------------------------------------------- inner problem
@njit(cache=True)
def _kkt_solve(h, idx, rhs):  # pragma: no cover - compiled
    """Solve [H_PP 1; 1ᵀ 0] x = rhs for the support ``idx`` (Gaussian elimination, pivoting)."""
    m = idx.size
    a = np.zeros((m + 1, m + 2))
    for i in range(m):
        for j in range(m):
            a[i, j] = h[idx[i], idx[j]]
        a[i, m] = 1.0
        a[m, i] = 1.0
    a[:, m + 1] = rhs
    for col in range(m + 1):
        piv = col + np.argmax(np.abs(a[col:, col]))
        if piv != col:
            tmp = a[col].copy()
            a[col] = a[piv]
            a[piv] = tmp
        d = a[col, col]
        for r in range(col + 1, m + 1):
            f = a[r, col] / d
            if f != 0.0:
                a[r, col:] -= f * a[col, col:]
    x = np.empty(m + 1)
    for r in range(m, -1, -1):
        acc = a[r, m + 1]
        for c in range(r + 1, m + 1):
            acc -= a[r, c] * x[c]
        x[r] = acc / a[r, r]
    return x


@njit(cache=True)
def _matvec(a, x):  # pragma: no cover - compiled
    out = np.zeros(a.shape[0])
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i] += a[i, j] * x[j]
    return out


@njit(cache=True)
def _normal_equations(a, b, v):  # pragma: no cover - compiled
    """H = AᵀVA + ridge·I and g = AᵀVb for diagonal V."""
    k, n = a.shape
    h = np.zeros((n, n))
    g = np.zeros(n)
    for p in range(k):
        for i in range(n):
            vi = v[p] * a[p, i]
            g[i] += vi * b[p]
            for j in range(i, n):
                h[i, j] += vi * a[p, j]
    mean_diag = 0.0
    for i in range(n):
        mean_diag += h[i, i] / n
        for j in range(i + 1, n):
            h[j, i] = h[i, j]
    ridge = _RIDGE * max(mean_diag, 1e-300)
    for i in range(n):
        h[i, i] += ridge
    return h, g


@njit(cache=True)
def _vertex_start(h, g):  # pragma: no cover - compiled
    w = np.zeros(g.size)
    w[np.argmin(0.5 * np.diag(h) - g)] = 1.0
    return w


@njit(cache=True)
def _simplex_qp(h, g, w_start):  # pragma: no cover - compiled
    """Primal active set for min ½wᵀHw − gᵀw, w ≥ 0, Σw = 1 (H positive definite)."""
    n = g.size
    w = w_start.copy()
    passive = w > 0.0
    scale = max(np.max(np.abs(g)), np.max(np.abs(np.diag(h))))
    tol = 1e-12 * max(scale, 1e-300)
    last_added = -1
    for _ in range(20 * n + 20):
        idx = np.flatnonzero(passive)
        m = idx.size
        rhs = np.empty(m + 1)
        for a in range(m):
            rhs[a] = g[idx[a]]
        rhs[m] = 1.0
        sol = _kkt_solve(h, idx, rhs)
        u = sol[:m]
        if np.all(u > 0.0):
            w[:] = 0.0
            w[idx] = u
            lam = _matvec(h, w) - g + sol[m]
            best = -1
            best_val = -tol
            for i in range(n):
                if not passive[i] and lam[i] < best_val:
                    best = i
                    best_val = lam[i]
            if best < 0:
                return w
            passive[best] = True
            last_added = best
        else:
            alpha = 1.0
            drop = -1
            for a in range(m):
                i = idx[a]
                if u[a] <= 0.0:
                    step = w[i] / (w[i] - u[a])
                    if step < alpha:
                        alpha = step
                        drop = i
            if alpha == 0.0 and drop == last_added:
                return w
            for a in range(m):
                w[idx[a]] += alpha * (u[a] - w[idx[a]])
            w[drop] = 0.0
            for a in range(m):
                if w[idx[a]] <= 0.0:
                    w[idx[a]] = 0.0
                    passive[idx[a]] = False
    return w


@njit(cache=True)
def _weights(xs0, xs1, v, w_warm):  # pragma: no cover - compiled
    """Inner problem for a given V; ``w_warm`` (feasible) or, if empty, the best vertex."""
    h, g = _normal_equations(xs0, xs1, v)
    start = _vertex_start(h, g) if w_warm.size == 0 else w_warm
    return _simplex_qp(h, g, start)


@njit(cache=True)
def _loss_grad(theta, xs0, xs1, z0, z1, w_warm):  # pragma: no cover - compiled
    """Pre-period MSPE at V ∝ θ² and its exact gradient in θ (adjoint of the KKT system)."""
    v_raw = theta * theta
    s = v_raw.sum()
    if s <= 1e-300:
        return 1e300, np.zeros(theta.size), w_warm
    u = v_raw / s
    h, g = _normal_equations(xs0, xs1, u)
    w = _simplex_qp(h, g, w_warm)
    t0 = z1.size
    r = z1 - _matvec(z0, w)
    loss = np.sum(r * r) / t0
    idx = np.flatnonzero(w > 0.0)
    m = idx.size
    rhs = np.zeros(m + 1)
    for a in range(m):
        rhs[a] = -2.0 * np.sum(z0[:, idx[a]] * r) / t0
    adj = _kkt_solve(h, idx, rhs)
    e = xs1 - _matvec(xs0, w)
    grad_u = np.zeros(theta.size)
    for p in range(theta.size):
        acc = 0.0
        for a in range(m):
            acc += xs0[p, idx[a]] * adj[a]
        grad_u[p] = e[p] * acc
    grad_v = (grad_u - np.sum(grad_u * u)) / s
    return loss, 2.0 * theta * grad_v, w


@njit(cache=True)
def _bfgs(theta, xs0, xs1, z0, z1, max_iter):  # pragma: no cover - compiled
    """BFGS with Armijo backtracking on θ (V ∝ θ²); stops when the loss stalls."""
    n = theta.size
    w = np.full(xs0.shape[1], 1.0 / xs0.shape[1])
    f, g, w = _loss_grad(theta, xs0, xs1, z0, z1, w)
    hinv = np.eye(n)
    stalled = 0
    for _ in range(max_iter):
        d = -_matvec(hinv, g)
        slope = np.sum(g * d)
        if slope >= 0.0:
            hinv = np.eye(n)
            d = -g
            slope = -np.sum(g * g)
        if slope > -1e-300:
            break
        step = 1.0
        accepted = False
        for _ls in range(60):
            trial = theta + step * d
            f_new, g_new, w_new = _loss_grad(trial, xs0, xs1, z0, z1, w)
            if f_new <= f + 1e-4 * step * slope:
                accepted = True
                break
            step *= 0.5
        if not accepted:
            break
        s = trial - theta
        y = g_new - g
        sy = np.sum(s * y)
        if sy > 1e-12 * np.sqrt(np.sum(s * s) * np.sum(y * y)):
            hy = _matvec(hinv, y)
            yhy = np.sum(y * hy)
            for i in range(n):
                for j in range(n):
                    hinv[i, j] += ((sy + yhy) * s[i] * s[j] / sy - hy[i] * s[j] - s[i] * hy[j]) / sy
        stalled = stalled + 1 if f - f_new <= 1e-13 * max(f, 1e-300) else 0
        theta, f, g, w = trial, f_new, g_new, w_new
        if stalled >= 3:
            break
    return theta


def simplex_least_squares(
    a: np.ndarray, b: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Weights w ≥ 0 with Σw = 1 minimising Σ_k v_k (b_k − (A w)_k)².

    The inner problem of the synthetic control method, solved exactly by a primal active-set
    method (see the module notes), with a 1e-10 relative ridge that makes the solution unique.

    Parameters
    ----------
    a : ndarray, shape (k, J)
        One column per donor, one row per predictor.
    b : ndarray, shape (k,)
        The treated unit's predictors.
    weights : ndarray, shape (k,), optional
        Non-negative predictor weights v (the diagonal of V); default all 1.

    Returns
    -------
    ndarray, shape (J,)
        The donor weights.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> simplex_least_squares(a, np.array([0.25, 0.5])).round(6).tolist()
    [0.25, 0.25, 0.5]
    """
    a = np.ascontiguousarray(a, dtype=float)
    b = np.ascontiguousarray(b, dtype=float)
    v = np.ones(a.shape[0]) if weights is None else np.ascontiguousarray(weights, dtype=float)
    if a.ndim != 2 or b.shape != (a.shape[0],) or v.shape != b.shape:
        raise SpecificationError(
            f"simplex_least_squares needs a (k, J) matrix and two length-k vectors; got shapes "
            f"{a.shape}, {b.shape}, {v.shape}."
        )
    return _weights(a, b, v, np.empty(0))


# --------------------------------------------------------------------------- outer problem
@dataclass
class _Outer:
    """The pre-period outcome fit of a synthetic control as a function of V."""

    xs0: np.ndarray  # scaled predictors, k × J
    xs1: np.ndarray  # k
    z0: np.ndarray  # pre-period outcomes, T0 × J
    z1: np.ndarray  # T0

    def __post_init__(self) -> None:
        for name in ("xs0", "xs1", "z0", "z1"):
            setattr(self, name, np.ascontiguousarray(getattr(self, name), dtype=float))

    def weights(self, v: np.ndarray) -> np.ndarray:
        return _weights(self.xs0, self.xs1, np.ascontiguousarray(v, dtype=float), np.empty(0))

    def loss(self, w: np.ndarray) -> float:
        r = self.z1 - self.z0 @ w
        return float(r @ r) / self.z1.size


def _regression_start(xs: np.ndarray, zpre: np.ndarray) -> np.ndarray:
    """Synth's start: diag(ββᵀ) of the regression of pre-period outcomes on scaled predictors."""
    design = np.column_stack([np.ones(xs.shape[1]), xs.T])
    beta = np.linalg.lstsq(design, zpre.T, rcond=None)[0][1:]
    start = np.einsum("ij,ij->i", beta, beta)
    return start if np.isfinite(start).all() and start.sum() > 0 else np.ones(xs.shape[0])


def _optimise_v(outer: _Outer, starts: list[np.ndarray]) -> tuple[np.ndarray, float, list[float]]:
    best_v, best_loss, losses = starts[0], np.inf, []
    for start in starts:
        start = np.asarray(start, dtype=float)
        theta = _bfgs(np.sqrt(start / start.max()), outer.xs0, outer.xs1, outer.z0, outer.z1, 1000)
        v = theta**2 / float(np.sum(theta**2))
        loss = outer.loss(outer.weights(v))
        losses.append(loss)
        if loss < best_loss * (1 - 1e-12):
            best_v, best_loss = v, loss
    return best_v, best_loss, losses


@dataclass(frozen=True)
class _Fit:
    weights: np.ndarray
    v: np.ndarray
    loss_v: float
    loss_w: float
    start_losses: tuple[float, ...]


def _fit(
    xraw: np.ndarray,
    zpre: np.ndarray,
    outcome_rows: np.ndarray,
    v_spec: Any,
    seed: int,
    n_starts: int,
) -> _Fit:
    """Fit one synthetic control; column 0 of ``xraw``/``zpre`` is the treated unit."""
    sd = xraw.std(axis=1, ddof=1)
    xs = np.divide(xraw, sd[:, None], out=np.zeros_like(xraw), where=sd[:, None] > 0)
    outer = _Outer(xs[:, 1:], xs[:, 0], zpre[:, 1:], zpre[:, 0])
    k = xs.shape[0]
    if isinstance(v_spec, str):
        if v_spec == "equal" or k == 1:
            v, losses = np.full(k, 1.0 / k), ()
        else:
            starts = [np.ones(k), _regression_start(xs, zpre)]
            if outcome_rows.any():
                starts.append(np.where(outcome_rows, sd**2, 1e-6 * float((sd**2).max())))
            rng = np.random.default_rng(seed)
            starts.extend(rng.dirichlet(np.ones(k), size=n_starts))
            v, _, losses = _optimise_v(outer, starts)
    else:
        v, losses = v_spec / v_spec.sum(), ()
    w = outer.weights(v)
    e = outer.xs1 - outer.xs0 @ w
    return _Fit(w, v, outer.loss(w), float(e @ (v * e)), tuple(losses))


# --------------------------------------------------------------------------- data preparation
@dataclass(frozen=True)
class _Design:
    outcome: pd.DataFrame  # periods × units
    predictors: pd.DataFrame  # predictor label × units
    outcome_rows: np.ndarray  # bool per predictor: a single pre-period outcome in the loss window
    pre: np.ndarray  # bool per period: in the loss window
    post: np.ndarray  # bool per period: at or after treatment_start
    start: Any

    def arrays(self, units: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y = self.outcome[list(units)].to_numpy(dtype=float)
        return self.predictors[list(units)].to_numpy(dtype=float), y[self.pre], y


def _wide_outcome(
    data: pd.DataFrame, unit: Any, time: Any, outcome: Any, wide: bool
) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"'data' must be a pandas DataFrame; got {type(data).__name__}.")
    if wide:
        frame = data.copy()
        frame.columns = list(frame.columns)
    else:
        for role, col in (("unit", unit), ("time", time), ("outcome", outcome)):
            if col is None:
                raise SpecificationError(
                    f"The '{role}' column name is required for long data; pass {role}=... or "
                    "wide=True for a frame with one column per unit."
                )
            if col not in data.columns:
                raise DataError(
                    f"Column {col!r} ({role}) is not in the data; columns are "
                    f"{format_rows(data.columns)}. Pass the right column name."
                )
        dup = data.duplicated([unit, time])
        if dup.any():
            pairs = data.loc[dup, [unit, time]].astype(str).agg(" ".join, axis=1)
            raise DataError(
                f"Several rows share the same ({unit}, {time}): {format_rows(pairs)}. "
                "Keep one row per unit and period."
            )
        frame = data.pivot(index=time, columns=unit, values=outcome)
    frame = frame.sort_index()
    try:
        return frame.apply(pd.to_numeric)
    except (TypeError, ValueError) as err:
        raise DataError(
            f"The outcome {outcome or ''} is not numeric ({err}). Convert it to numbers."
        ) from err


def _match_start(periods: pd.Index, start: Any, time: Any) -> Any:
    """``start`` in the type of ``periods``, or a :class:`DataError` saying how to make it so.

    Numbers given as text (``"2006"``) become numbers for numeric periods and text becomes a
    timestamp for datetime periods; a number is never compared with text periods (``"10"``
    sorts before ``"9"``), so that case is refused with the fix.
    """
    name = "the period labels" if time is None else f"the periods in {time!r}"
    if pd.api.types.is_datetime64_any_dtype(periods):
        try:
            return pd.Timestamp(start)
        except (TypeError, ValueError) as err:
            raise DataError(
                f"treatment_start {start!r} is not a date, but {name} are dates "
                f"({periods.min()} to {periods.max()}). Fix: pass treatment_start as a date, "
                f"e.g. treatment_start='{periods[len(periods) // 2].date()}'."
            ) from err
    if pd.api.types.is_numeric_dtype(periods):
        if isinstance(start, str):
            try:
                number = float(start)
            except ValueError as err:
                raise DataError(
                    f"treatment_start {start!r} is not a number, but {name} are numbers "
                    f"({periods.min()} to {periods.max()}). Fix: pass treatment_start as a "
                    f"number, e.g. treatment_start={periods[len(periods) // 2]}."
                ) from err
            return int(number) if number.is_integer() else number
        return start
    if not isinstance(start, str):
        example = str(start) if str(start) in set(map(str, periods)) else str(periods[0])
        raise DataError(
            f"treatment_start {start!r} is of type {type(start).__name__}, but {name} are text "
            f"({format_rows(periods[:3])}, ...), and text does not order like numbers. Fix: "
            "convert the period column to numbers (pandas.to_numeric) or to dates "
            f"(pandas.to_datetime) first, or pass treatment_start as text, e.g. "
            f"treatment_start={example!r}."
        )
    return start


def _check_missing(frame: pd.DataFrame, what: str) -> None:
    bad = frame.isna()
    if bad.to_numpy().any():
        cells = [f"{u} at {t}" for u in frame.columns for t in frame.index[bad[u].to_numpy()]]
        raise DataError(
            f"The {what} has missing values for: {format_rows(cells)}. The synthetic control "
            "needs a complete panel: fill or drop these units or periods (or exclude the units "
            "with exclude_donors=...)."
        )


def _as_list(periods: Any) -> list[Any]:
    if isinstance(periods, str) or not isinstance(periods, Iterable):
        return [periods]
    return list(periods)


def _aggregate(values: pd.DataFrame, op: str, label: str) -> pd.Series:
    if op not in _AGGREGATES:
        raise SpecificationError(
            f"Predictor {label}: the operation must be one of {', '.join(_AGGREGATES)}; got {op!r}."
        )
    empty = values.notna().sum() == 0
    if empty.any():
        raise DataError(
            f"Predictor {label} has no value for unit(s) {format_rows(values.columns[empty])} "
            "in its window. Choose a window where they are observed or drop these units."
        )
    return values.mean() if op == "mean" else values.median()


def _design(
    data: pd.DataFrame,
    outcome_wide: pd.DataFrame,
    units: list[Hashable],
    *,
    unit: Any,
    time: Any,
    outcome: Any,
    treatment_start: Any,
    predictors: Sequence[Any] | None,
    predictor_window: Any,
    special_predictors: Sequence[tuple[Any, ...]] | None,
    pre_period: Any,
    wide: bool,
) -> _Design:
    periods = outcome_wide.index
    before = np.asarray(periods < treatment_start)
    if pre_period is None:
        pre = before
    else:
        pre = np.asarray(periods.isin(_as_list(pre_period)))
        late = periods[pre & ~before]
        if len(late):
            raise SpecificationError(
                f"pre_period includes periods at or after treatment_start {treatment_start!r}: "
                f"{format_rows(late)}. Keep pre_period before the policy."
            )
    if not pre.any():
        raise SpecificationError(
            f"No pre-treatment period: every period is at or after treatment_start "
            f"{treatment_start!r} (periods run {periods.min()}–{periods.max()}). Use data that "
            "start before the policy, or a later treatment_start."
        )
    rows: dict[str, pd.Series] = {}
    outcome_rows: list[bool] = []
    name = "outcome" if outcome is None else str(outcome)
    window = periods[pre] if predictor_window is None else _as_list(predictor_window)
    if predictors:
        if wide:
            raise SpecificationError(
                "Covariate predictors need long data (unit, time and covariate columns); a wide "
                "frame carries the outcome only. Pass long data or drop predictors=..."
            )
        for col in predictors:
            if col not in data.columns:
                raise DataError(
                    f"Predictor column {col!r} is not in the data. Pass existing column names."
                )
            sub = data[data[time].isin(window)].pivot(index=time, columns=unit, values=col)
            label = f"{col} mean [{min(window)}–{max(window)}]"
            rows[label] = _aggregate(sub.reindex(columns=units).apply(pd.to_numeric), "mean", label)
            outcome_rows.append(False)
    for spec in special_predictors or ():
        if len(spec) == 2:
            col, when, op = None, spec[0], spec[1]
        elif len(spec) == 3:
            col, when, op = spec
        else:
            raise SpecificationError(
                f"A special predictor is (periods, op) for the outcome or (column, periods, op) "
                f"for a covariate; got {spec!r}."
            )
        when = _as_list(when)
        missing = [p for p in when if p not in periods]
        if missing:
            raise DataError(
                f"Special predictor {spec!r}: periods {format_rows(missing)} are not in the "
                "data. Use observed periods."
            )
        if col is None or col == outcome:
            sub = outcome_wide.loc[when, units]
            label = (
                f"{name} {op} [{min(when)}–{max(when)}]"
                if len(when) > 1
                else (f"{name} [{when[0]}]")
            )
            single = len(when) == 1 and bool(pre[periods.get_loc(when[0])])
        else:
            if wide or col not in data.columns:
                raise DataError(
                    f"Special predictor column {col!r} is not in the (long) data. Pass an "
                    "existing covariate column."
                )
            sub = data[data[time].isin(when)].pivot(index=time, columns=unit, values=col)
            sub = sub.reindex(columns=units).apply(pd.to_numeric)
            label = f"{col} {op} [{min(when)}–{max(when)}]"
            single = False
        rows[label] = _aggregate(sub, op, label)
        outcome_rows.append(single)
    if rows:
        table = pd.DataFrame(rows).T
        table.columns = units
    else:
        table = outcome_wide.loc[pre, units].copy()
        table.index = [f"{name} [{p}]" for p in periods[pre]]
        outcome_rows = [True] * len(table)
    return _Design(
        outcome_wide[units],
        table.astype(float),
        np.array(outcome_rows),
        pre,
        ~before,
        treatment_start,
    )


def _hull_periods(design: _Design, treated: Hashable, donors: list[Hashable]) -> pd.DataFrame:
    y = design.outcome.loc[design.pre]
    t, d = y[treated], y[donors]
    hi, lo = d.max(axis=1), d.min(axis=1)
    above, below = (t > hi).to_numpy(), (t < lo).to_numpy()
    frame = pd.DataFrame(
        {
            "side": np.where(above, "above", "below"),
            "treated": t,
            "nearest_donor": np.where(above, hi, lo),
        },
        index=y.index,
    )
    return frame[above | below]


# --------------------------------------------------------------------------- results
def _figure_axes(ax: Axes | None, size: tuple[float, float] = (8, 4.5)) -> Axes:
    if ax is not None:
        return ax
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def _style() -> Any:
    return matplotlib.rc_context({"font.family": [korean_font(), "DejaVu Sans"]})


@dataclass(frozen=True, eq=False)
class SyntheticPlacebos:
    """In-space placebo test (ADH 2010 §3): every donor in turn treated as if it had the policy.

    Attributes
    ----------
    table : DataFrame
        One row per unit (the treated unit first): ``pre_rmspe``, ``post_rmspe``, ``ratio``
        (post/pre RMSPE), ``pre_mspe_multiple`` (pre-period MSPE relative to the treated
        unit's), ``kept`` (within ``max_pre_mspe_ratio``), ``rank`` of the ratio among kept
        units (1 = largest) and ``treated``.
    gaps : DataFrame
        Periods × units: actual minus synthetic outcome for every fit.
    p_value : float
        (1 + number of kept placebos whose ratio ≥ the treated unit's) / (1 + kept placebos) —
        the rank of the treated unit divided by J + 1, ties counted against the policy.
    max_pre_mspe_ratio : float or None
        Placebos with a pre-period MSPE above this multiple of the treated unit's were dropped
        (ADH 2010 fig. 5–7 use 20, 5 and 2).
    include_treated : bool
        Whether the real treated unit was in the placebos' donor pools (ADH: no).
    """

    table: pd.DataFrame
    gaps: pd.DataFrame
    p_value: float
    treated: Hashable
    start: Any
    max_pre_mspe_ratio: float | None
    include_treated: bool

    def to_frame(self) -> pd.DataFrame:
        """The per-unit table (a copy)."""
        return self.table.copy()

    @property
    def provenance_(self) -> dict[str, Any]:
        """The settings of the placebo test."""
        return jsonable(
            {
                "method": "in-space placebo test (Abadie, Diamond & Hainmueller 2010)",
                "treated": self.treated,
                "start": self.start,
                "max_pre_mspe_ratio": self.max_pre_mspe_ratio,
                "include_treated": self.include_treated,
                "dongne_version": __version__,
            }
        )

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Rank of the treated unit's post/pre RMSPE ratio among the kept placebos, and p."""
        kept = int((self.table["kept"] & ~self.table["treated"]).sum())
        rank = int(self.table.loc[self.treated, "rank"])
        dropped = int((~self.table["kept"]).sum())
        if lang == "ko":
            return (
                f"공간 위약(placebo) 검정: {self.treated}의 사후/사전 RMSPE 비율은 {kept + 1}개 "
                f"단위 중 {rank}위, p = {self.p_value:.3f}"
                + (f" (사전 적합이 나쁜 위약 {dropped}개 제외)." if dropped else ".")
            )
        return (
            f"In-space placebo test: the post/pre RMSPE ratio of {self.treated} ranks {rank} "
            f"of {kept + 1} units, p = {self.p_value:.3f}"
            + (f" ({dropped} placebo(s) with a poor pre-period fit left out)." if dropped else ".")
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Gap lines: kept placebos in grey, the treated unit in black, the policy start dashed."""
        with _style():
            ax = _figure_axes(ax)
            kept = self.table.index[self.table["kept"] & ~self.table["treated"]]
            for u in kept:
                ax.plot(self.gaps.index, self.gaps[u], color="0.75", lw=0.8)
            ax.plot(
                self.gaps.index,
                self.gaps[self.treated],
                color="black",
                lw=2,
                label=str(self.treated),
            )
            ax.axhline(0, color="0.4", lw=0.6)
            ax.axvline(self.start, color="0.3", ls="--", lw=1)
            ax.set_ylabel("gap (actual − synthetic) / 격차")
            ax.set_title(f"In-space placebos: p = {self.p_value:.3f} (J = {len(kept)})")
            ax.legend(loc="best")
        return ax


@dataclass(frozen=True, eq=False)
class SyntheticLeaveOneOut:
    """Refits that drop, one at a time, each donor with positive weight (ADH 2015 §5).

    Attributes
    ----------
    gaps : DataFrame
        Periods × dropped donor: the gap path of each refit.
    weights : DataFrame
        Dropped donor × donors: the weights of each refit.
    range : DataFrame
        Per post-treatment period: the full-fit gap and the minimum and maximum refit gaps.
    """

    gaps: pd.DataFrame
    weights: pd.DataFrame
    range: pd.DataFrame
    full_gap: pd.Series
    start: Any

    def to_frame(self) -> pd.DataFrame:
        """The per-period range table (a copy)."""
        return self.range.copy()

    @property
    def provenance_(self) -> dict[str, Any]:
        """The refits made: the dropped donors and the policy start."""
        return jsonable(
            {
                "method": "leave-one-donor-out (Abadie, Diamond & Hainmueller 2015)",
                "dropped_donors": list(self.gaps.columns),
                "start": self.start,
                "dongne_version": __version__,
            }
        )

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """How far the post-period gap moves when each donor with weight is left out."""
        post = self.full_gap[self.full_gap.index >= self.start]
        lo, hi = (
            float(self.gaps.loc[post.index].min().min()),
            float(self.gaps.loc[post.index].max().max()),
        )
        if lang == "ko":
            return (
                f"기여 단위 하나씩 제외한 재적합 {self.gaps.shape[1]}회: 정책 이후 격차는 "
                f"{lo:.3g}–{hi:.3g} 범위 (전체 적합 평균 {post.mean():.3g})."
            )
        return (
            f"Leave-one-donor-out: {self.gaps.shape[1]} refits; post-period gaps range "
            f"{lo:.3g} to {hi:.3g} (full fit mean {post.mean():.3g})."
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Gap of the full fit (black) and of each leave-one-out refit (grey)."""
        with _style():
            ax = _figure_axes(ax)
            for u in self.gaps.columns:
                ax.plot(self.gaps.index, self.gaps[u], color="0.6", lw=0.9)
            ax.plot(self.full_gap.index, self.full_gap, color="black", lw=2, label="all donors")
            ax.axhline(0, color="0.4", lw=0.6)
            ax.axvline(self.start, color="0.3", ls="--", lw=1)
            ax.set_ylabel("gap (actual − synthetic) / 격차")
            ax.set_title(f"Leave-one-donor-out ({self.gaps.shape[1]} refits)")
            ax.legend(loc="best")
        return ax


class SyntheticControl:
    """A fitted synthetic control; made by :func:`synthetic_control`.

    Attributes
    ----------
    treated : label
    donors : list
    weights : Series
        Donor weights (≥ 0, sum 1), largest first.
    v : Series
        Predictor importances (diagonal of V, sum 1, on the scale of predictors divided by
        their standard deviation across units).
    balance : DataFrame
        Per predictor: the treated value, the synthetic value, the donor average and v.
    path : DataFrame
        Per period: ``treated``, ``synthetic``, ``gap`` (= treated − synthetic), ``post``.
    pre_rmspe, post_rmspe : float
        Root mean squared gap before (over the pre-period loss window) and from
        ``treatment_start``.
    average_post_gap : float
        Mean gap over the post-treatment periods (the average effect on the treated unit).
    hull_violations : DataFrame
        Pre-period periods where the treated outcome is above all or below all donors.
    provenance : dict
    """

    provenance_ = provenance_alias("provenance")

    def __init__(
        self,
        design: _Design,
        treated: Hashable,
        donors: list[Hashable],
        fit: _Fit,
        *,
        v_spec: Any,
        seed: int,
        n_starts: int,
        hull: pd.DataFrame,
        parameters: dict[str, Any],
    ) -> None:
        self._design = design
        self._v_spec = v_spec
        self._seed = seed
        self._n_starts = n_starts
        self._placebos: dict[tuple[Any, ...], SyntheticPlacebos] = {}
        self._loo: SyntheticLeaveOneOut | None = None
        self.treated = treated
        self.donors = donors
        self.weights = pd.Series(fit.weights, index=donors, name="weight").sort_values(
            ascending=False, kind="stable"
        )
        self.v = pd.Series(fit.v, index=design.predictors.index, name="v")
        self.loss_v = fit.loss_v
        self.loss_w = fit.loss_w
        x = design.predictors
        self.balance = pd.DataFrame(
            {
                "treated": x[treated],
                "synthetic": x[donors].to_numpy() @ fit.weights,
                "donor_mean": x[donors].mean(axis=1),
                "v": fit.v,
            }
        )
        y = design.outcome
        synth = y[donors].to_numpy() @ fit.weights
        self.path = pd.DataFrame(
            {
                "treated": y[treated],
                "synthetic": synth,
                "gap": y[treated] - synth,
                "post": design.post,
            },
            index=y.index,
        )
        gap = self.path["gap"].to_numpy()
        self.pre_rmspe = float(np.sqrt(np.mean(gap[design.pre] ** 2)))
        self.post_rmspe = float(np.sqrt(np.mean(gap[design.post] ** 2)))
        self.average_post_gap = float(np.mean(gap[design.post]))
        self.hull_violations = hull
        self.provenance = jsonable(
            {
                "method": "synthetic_control",
                **parameters,
                "predictors": list(x.index),
                "start_losses": list(fit.start_losses),
                "seed": seed,
                "dongne_version": __version__,
            }
        )

    # ------------------------------------------------------------------ robustness
    def _refit(self, treated: Hashable, donors: list[Hashable]) -> np.ndarray:
        xraw, zpre, _ = self._design.arrays([treated, *donors])
        fit = _fit(xraw, zpre, self._design.outcome_rows, self._v_spec, self._seed, self._n_starts)
        y = self._design.outcome
        return y[treated].to_numpy() - y[donors].to_numpy() @ fit.weights, fit.weights

    def placebo_test(
        self, *, include_treated: bool = False, max_pre_mspe_ratio: float | None = None
    ) -> SyntheticPlacebos:
        """In-space placebos: refit with each donor as the treated unit (same specification).

        Parameters
        ----------
        include_treated : bool, default False
            Keep the real treated unit in each placebo's donor pool. ADH (2010) leave it out,
            because its post-period outcome is affected by the policy.
        max_pre_mspe_ratio : float, optional
            Drop placebos whose pre-period MSPE exceeds this multiple of the treated unit's
            (their synthetic control did not fit, so their large post gaps are uninformative;
            ADH 2010 use 20, 5 and 2). Default: keep all.

        Returns
        -------
        SyntheticPlacebos
            Exact permutation-style p-value = rank of the treated unit's post/pre RMSPE ratio
            among the kept units, divided by their number.
        """
        if max_pre_mspe_ratio is not None and not max_pre_mspe_ratio > 0:
            raise SpecificationError(
                f"max_pre_mspe_ratio must be a positive number or None; got {max_pre_mspe_ratio!r}."
            )
        key = (include_treated, max_pre_mspe_ratio)
        if key in self._placebos:
            return self._placebos[key]
        full = next((p for (inc, _), p in self._placebos.items() if inc == include_treated), None)
        if full is not None:
            gaps = full.gaps
        else:
            gaps = {self.treated: self.path["gap"]}
            for d in self.donors:
                pool = [u for u in self.donors if u != d]
                if include_treated:
                    pool.append(self.treated)
                gaps[d] = pd.Series(self._refit(d, pool)[0], index=self.path.index)
            gaps = pd.DataFrame(gaps)
        g = gaps.to_numpy()
        pre = np.sqrt(np.mean(g[self._design.pre] ** 2, axis=0))
        post = np.sqrt(np.mean(g[self._design.post] ** 2, axis=0))
        ratio = post / pre
        multiple = pre**2 / pre[0] ** 2
        kept = (
            np.ones(len(ratio), bool)
            if max_pre_mspe_ratio is None
            else (multiple <= max_pre_mspe_ratio)
        )
        kept[0] = True
        rank = np.full(len(ratio), np.nan)
        rank[kept] = (-ratio[kept]).argsort(kind="stable").argsort() + 1
        p = (1 + int(np.sum(ratio[1:][kept[1:]] >= ratio[0]))) / int(kept.sum())
        table = pd.DataFrame(
            {
                "pre_rmspe": pre,
                "post_rmspe": post,
                "ratio": ratio,
                "pre_mspe_multiple": multiple,
                "kept": kept,
                "rank": rank,
                "treated": np.arange(len(ratio)) == 0,
            },
            index=gaps.columns,
        )
        result = SyntheticPlacebos(
            table, gaps, p, self.treated, self._design.start, max_pre_mspe_ratio, include_treated
        )
        self._placebos[key] = result
        return result

    def leave_one_out(self) -> SyntheticLeaveOneOut:
        """Refit without each donor whose weight exceeds 1e-6, one at a time."""
        if self._loo is None:
            dropped = [d for d in self.weights.index if self.weights[d] > _WEIGHT_FLOOR]
            gaps, weights = {}, {}
            for d in dropped:
                pool = [u for u in self.donors if u != d]
                if len(pool) < 2:
                    continue
                gap, w = self._refit(self.treated, pool)
                gaps[d] = pd.Series(gap, index=self.path.index)
                weights[d] = pd.Series(w, index=pool)
            gap_frame = pd.DataFrame(gaps)
            post = self.path.loc[self._design.post, "gap"]
            rng = pd.DataFrame(
                {
                    "gap": post,
                    "loo_min": gap_frame.loc[self._design.post].min(axis=1),
                    "loo_max": gap_frame.loc[self._design.post].max(axis=1),
                }
            )
            self._loo = SyntheticLeaveOneOut(
                gap_frame,
                pd.DataFrame(weights).T.fillna(0.0),
                rng,
                self.path["gap"],
                self._design.start,
            )
        return self._loo

    # ------------------------------------------------------------------ reporting
    def to_frame(self) -> pd.DataFrame:
        """Per period: treated and synthetic outcome, gap and post flag; provenance in attrs."""
        frame = self.path.copy()
        attach(frame, self.provenance)
        return frame

    def plot(self, ax: Axes | None = None) -> Axes:
        """Treated and synthetic outcome paths with the policy start as a dashed line."""
        with _style():
            ax = _figure_axes(ax)
            ax.plot(
                self.path.index, self.path["treated"], color="black", lw=2, label=str(self.treated)
            )
            ax.plot(
                self.path.index,
                self.path["synthetic"],
                color="#d95f02",
                lw=2,
                ls="--",
                label=f"synthetic {self.treated} / 합성 대조군",
            )
            ax.axvline(self._design.start, color="0.3", ls=":", lw=1)
            ax.set_title(f"Synthetic control: {self.treated}")
            ax.legend(loc="best")
        return ax

    def plot_placebos(self, ax: Axes | None = None, **options: Any) -> Axes:
        """:meth:`placebo_test` (with ``options``) and its gap plot."""
        return self.placebo_test(**options).plot(ax)

    def plot_loo(self, ax: Axes | None = None) -> Axes:
        """:meth:`leave_one_out` and its gap plot."""
        return self.leave_one_out().plot(ax)

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Plain-language summary: weights, fit, effect, and the checks run so far."""
        if lang not in ("en", "ko"):
            raise SpecificationError(f"lang must be 'en' or 'ko'; got {lang!r}.")
        top = self.weights[self.weights > 0.001].head(6)
        mix = ", ".join(f"{u} {w:.3f}" for u, w in top.items())
        post = self.path.index[self._design.post]
        last_gap = float(self.path["gap"].iloc[-1])
        placebo = next(iter(self._placebos.values()), None)
        loo = self._loo
        if lang == "en":
            lines = [
                f"Synthetic {self.treated} = {mix} (of {len(self.donors)} donors).",
                f"Before the policy the synthetic unit tracks {self.treated} with RMSPE "
                f"{self.pre_rmspe:.3g}; from {post[0]} to {post[-1]} the average gap (actual − "
                f"synthetic) is {self.average_post_gap:.3g} (RMSPE {self.post_rmspe:.3g}), "
                f"{last_gap:.3g} in {post[-1]}.",
            ]
            if placebo is not None:
                lines.append(
                    f"In-space placebos: the post/pre RMSPE ratio of {self.treated} ranks "
                    f"{int(placebo.table['rank'].iloc[0])} of {int(placebo.table['kept'].sum())}, "
                    f"p = {placebo.p_value:.3f}."
                )
            if loo is not None:
                lines.append(
                    f"Dropping one donor at a time moves the {post[-1]} gap between "
                    f"{loo.range['loo_min'].iloc[-1]:.3g} and {loo.range['loo_max'].iloc[-1]:.3g}."
                )
            if len(self.hull_violations):
                lines.append(
                    f"Warning: in {len(self.hull_violations)} pre-period(s) the treated unit lies "
                    "outside all donors, so no weighted average can match it there."
                )
            lines.append(
                "Assumptions: no other shock hits the treated unit alone after the start, donors "
                "are unaffected by the policy, and a good pre-period fit means the mix would "
                "have kept tracking it; check the pre-period fit, placebos and leave-one-out."
            )
        else:
            lines = [
                f"합성 {self.treated} = {mix} (후보 {len(self.donors)}개 중).",
                f"정책 이전 적합 오차(RMSPE) {self.pre_rmspe:.3g}; {post[0]}–{post[-1]} 평균 격차"
                f"(실제 − 합성) {self.average_post_gap:.3g} (RMSPE {self.post_rmspe:.3g}), "
                f"{post[-1]}년 격차 {last_gap:.3g}.",
            ]
            if placebo is not None:
                lines.append(
                    f"공간 위약(placebo) 검정: 사후/사전 RMSPE 비율 순위 "
                    f"{int(placebo.table['rank'].iloc[0])}/{int(placebo.table['kept'].sum())}, "
                    f"p = {placebo.p_value:.3f}."
                )
            if loo is not None:
                lines.append(
                    f"후보 하나씩 제외 시 {post[-1]} 격차 범위: "
                    f"{loo.range['loo_min'].iloc[-1]:.3g} ~ {loo.range['loo_max'].iloc[-1]:.3g}."
                )
            if len(self.hull_violations):
                lines.append(
                    f"경고: 정책 이전 {len(self.hull_violations)}개 시점에서 처치 단위가 모든 "
                    "후보의 범위 밖에 있어 가중평균으로 맞출 수 없습니다."
                )
            lines.append(
                "가정: 시행 이후 처치 단위에만 다른 충격이 없고, 후보 단위는 정책의 영향을 받지 "
                "않으며, 사전 적합이 좋으면 이후에도 같은 조합이 추세를 따른다는 것. 사전 적합, "
                "위약 검정, 제외 검정으로 확인하십시오."
            )
        return "\n".join(lines)


@renamed(seed="rng")
def synthetic_control(
    data: pd.DataFrame,
    *,
    treated: Hashable,
    treatment_start: Any,
    unit: Any = None,
    time: Any = None,
    outcome: Any = None,
    wide: bool = False,
    predictors: Sequence[Any] | None = None,
    predictor_window: Any = None,
    special_predictors: Sequence[tuple[Any, ...]] | None = None,
    pre_period: Any = None,
    donors: Sequence[Hashable] | None = None,
    exclude_donors: Iterable[Hashable] = (),
    v: Literal["optimize", "equal"] | Sequence[float] | np.ndarray = "optimize",
    n_starts: int = 4,
    rng: int | np.random.Generator | None = None,
) -> SyntheticControl:
    """Fit a synthetic control for one treated unit (Abadie, Diamond & Hainmueller 2010).

    Parameters
    ----------
    data : DataFrame
        Long panel (one row per unit and period, with ``unit``, ``time``, ``outcome`` and any
        covariate columns) or, with ``wide=True``, one column per unit indexed by period
        (outcome only).
    treated : label
        The unit that received the policy.
    treatment_start : period
        First period under the policy; periods before it are the pre-period.
    unit, time, outcome : column names
        Required for long data.
    wide : bool, default False
    predictors : list of column names, optional
        Covariates averaged (mean, missing values skipped) over ``predictor_window``.
    predictor_window : period or list of periods, optional
        Default: the pre-period.
    special_predictors : list of tuples, optional
        ``(periods, op)`` for the outcome, or ``(column, periods, op)`` for a covariate, with
        ``op`` "mean" or "median"; a single period gives a lagged outcome, e.g.
        ``[(1975, "mean"), (1980, "mean"), (1988, "mean")]`` (ADH 2010).
        Without ``predictors`` and ``special_predictors`` every pre-period outcome is its own
        predictor.
    pre_period : list of periods, optional
        Periods whose outcome MSPE V is chosen to minimise (and over which pre-RMSPE is
        reported); default all periods before ``treatment_start``.
    donors : list of labels, optional
        Donor pool; default every other unit.
    exclude_donors : labels
        Units removed from the donor pool (e.g. units with similar policies).
    v : "optimize", "equal" or array, default "optimize"
        How V is chosen: nested optimisation, equal weights, or given (non-negative, one per
        predictor; normalised).
    n_starts : int, default 4
        Seeded random starts of the V search, besides the equal, regression-based and
        outcome-matching starts.
    rng : int, numpy.random.Generator or None, default None
        Seed of the random starts (``seed`` before 0.2); None means seed 0, a Generator is
        drawn from once (:func:`dongne._vocab.resolve_rng`).

    Returns
    -------
    SyntheticControl

    Raises
    ------
    DataError
        Missing columns, units, periods or values; duplicate rows.
    SpecificationError
        No pre-treatment period, fewer than two donors, a bad ``v`` or predictor.

    Warns
    -----
    ConvexHullWarning
        When the treated unit's pre-period outcome is above (or below) every donor's in some
        periods; those periods are listed and kept in ``hull_violations``.

    References
    ----------
    Abadie, A. & Gardeazabal, J. (2003). The economic costs of conflict: a case study of the
    Basque Country. *American Economic Review* 93(1):113–132.
    Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control methods for comparative
    case studies. *JASA* 105(490):493–505.
    Abadie, A., Diamond, A. & Hainmueller, J. (2015). Comparative politics and the synthetic
    control method. *American Journal of Political Science* 59(2):495–510.

    Examples
    --------
    >>> import pandas as pd
    >>> panel = pd.DataFrame(
    ...     {"A": [1.0, 2, 3, 4, 5], "B": [3.0, 4, 5, 6, 7], "T": [2.0, 3, 4, 2, 2]},
    ...     index=[2000, 2001, 2002, 2003, 2004],
    ... )
    >>> fit = synthetic_control(panel, wide=True, treated="T", treatment_start=2003)
    >>> fit.weights.round(3).sort_index().to_dict()
    {'A': 0.5, 'B': 0.5}
    >>> fit.path.loc[2004, "gap"]
    np.float64(-4.0)
    """
    seed = resolve_rng(rng)
    if not isinstance(n_starts, (int, np.integer)) or n_starts < 0:
        raise SpecificationError(f"n_starts must be an int >= 0; got {n_starts!r}.")
    outcome_wide = _wide_outcome(data, unit, time, outcome, wide)
    units = list(outcome_wide.columns)
    if treated not in units:
        raise DataError(
            f"The treated unit {treated!r} is not in the data; units are {format_rows(units)}. "
            "Check the spelling of treated=..."
        )
    excluded = set(_as_list(exclude_donors)) if exclude_donors is not None else set()
    pool = [u for u in units if u != treated] if donors is None else list(donors)
    unknown = [d for d in pool if d not in units]
    if unknown:
        raise DataError(
            f"Donor(s) {format_rows(unknown)} are not in the data. Pass existing unit labels."
        )
    pool = [d for d in pool if d != treated and d not in excluded]
    if len(pool) < 2:
        raise SpecificationError(
            f"A synthetic control needs at least 2 donors; the pool has {len(pool)} "
            f"({format_rows(pool) or 'none'}). Add donors or exclude fewer units."
        )
    used = [treated, *pool]
    _check_missing(outcome_wide[used], f"outcome{'' if outcome is None else f' {outcome!r}'}")
    treatment_start = _match_start(outcome_wide.index, treatment_start, time)
    design = _design(
        data,
        outcome_wide,
        used,
        unit=unit,
        time=time,
        outcome=outcome,
        treatment_start=treatment_start,
        predictors=predictors,
        predictor_window=predictor_window,
        special_predictors=special_predictors,
        pre_period=pre_period,
        wide=wide,
    )
    if not design.post.any():
        raise SpecificationError(
            f"No period at or after treatment_start {treatment_start!r}: the data end at "
            f"{outcome_wide.index.max()}. Use data that cover the policy period."
        )
    k = design.predictors.shape[0]
    if isinstance(v, str):
        if v not in ("optimize", "equal"):
            raise SpecificationError(f"v must be 'optimize', 'equal' or an array; got {v!r}.")
        v_spec: Any = v
    else:
        v_spec = np.asarray(v, dtype=float)
        if v_spec.shape != (k,) or (v_spec < 0).any() or not v_spec.sum() > 0:
            raise SpecificationError(
                f"v must hold {k} non-negative numbers (one per predictor: "
                f"{format_rows(design.predictors.index)}), not all zero; got {v!r}."
            )
    hull = _hull_periods(design, treated, pool)
    if len(hull):
        warnings.warn(
            f"The pre-period outcome of {treated!r} lies outside the range of every donor in "
            f"{len(hull)} period(s): {format_rows(f'{p} ({s})' for p, s in hull['side'].items())}. "
            "No weighted average of donors can match it there, so the pre-period fit will be "
            "poor; consider a different donor pool, outcome scale (e.g. growth rates) or method.",
            ConvexHullWarning,
            stacklevel=user_stacklevel(),
        )
    xraw, zpre, _ = design.arrays(used)
    fit = _fit(xraw, zpre, design.outcome_rows, v_spec, int(seed), int(n_starts))
    parameters = {
        "treated": treated,
        "treatment_start": treatment_start,
        "donors": pool,
        "excluded": sorted(map(str, excluded)),
        "pre_period": list(design.outcome.index[design.pre]),
        "v_method": v if isinstance(v, str) else "given",
        "n_starts": int(n_starts),
    }
    return SyntheticControl(
        design,
        treated,
        pool,
        fit,
        v_spec=v_spec,
        seed=int(seed),
        n_starts=int(n_starts),
        hull=hull,
        parameters=parameters,
    )
