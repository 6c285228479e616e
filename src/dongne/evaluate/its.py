"""Interrupted time series: did a series change level or trend when a policy started?

:func:`interrupted_time_series` fits the segmented regression of Lopez Bernal, Cummins &
Gasparrini (2017)

    g(E[Y_t]) = β0 + β1·t + β2·D_t + β3·(t − T0)·D_t + seasonality + covariates (+ log offset),

with t = 0, 1, … the position of the period, T0 the first period under the policy and D_t = 1 from
T0 on: β2 is the change in level at T0 and β3 the change in slope. ``family="gaussian"`` fits it by
least squares (identity link, statsmodels ``OLS``); ``"poisson"`` and ``"quasipoisson"`` fit a
log-linear model for counts (statsmodels ``GLM`` with the Poisson family, by iteratively
reweighted least squares), with ``offset`` a population column whose log
enters with coefficient 1, so exp(β2) and exp(β3) are rate ratios. Seasonality is either Fourier
terms sin(2πkt/s), cos(2πkt/s), k = 1…K, or period dummies (calendar month for datetime times).

With ``group``/``treated_group`` (controlled ITS) the data hold a treated and a comparison series
over the same periods; every segment term is interacted with the treated indicator G and the
policy effects are the differences in level and slope change, G·D_t and G·(t − T0)·D_t.

Standard errors are Newey–West (1987) heteroskedasticity- and autocorrelation-consistent by default:
the sandwich B S B with B the inverse information (XᵀX, or XᵀWX for counts) and S = Γ0 +
Σ_{j=1}^{L} (1 − j/(L+1)) (Γj + Γjᵀ), Γj = Σ_t s_t s_{t−j}ᵀ over the per-period scores s_t (summed
over the two series in a controlled ITS, the Driscoll–Kraay arrangement), without small-sample
correction (statsmodels' ``cov_type="hac-groupsum"``). The default lag is
L = ⌊4 (n/100)^{2/9}⌋ (Newey & West 1994), n the number of periods.
``cov="model"`` gives model-based errors instead (σ²(XᵀX)⁻¹; for counts the inverse information,
scaled by the Pearson dispersion χ²/(n − p) for quasi-Poisson). HAC errors do not depend on the
dispersion, so Poisson and quasi-Poisson differ only under ``cov="model"``. Intervals and p-values
use the normal distribution, except Student t(n − p) for Gaussian model-based errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from dongne import __version__
from dongne._fonts import korean_font
from dongne._vocab import Lang, bilingual, provenance_alias
from dongne.errors import DataError, SpecificationError, format_rows
from dongne.io.provenance import attach
from dongne.io.write import jsonable

__all__ = ["Effect", "InterruptedTimeSeries", "interrupted_time_series", "newey_west_lags"]

Family = Literal["gaussian", "poisson", "quasipoisson"]
_FAMILIES = ("gaussian", "poisson", "quasipoisson")


def newey_west_lags(n_periods: int) -> int:
    """Default HAC lag ⌊4 (n/100)^{2/9}⌋ (Newey & West 1994, *Rev. Econ. Stud.* 61:631–653).

    Examples
    --------
    >>> newey_west_lags(60), newey_west_lags(100), newey_west_lags(240)
    (3, 4, 4)
    """
    return int(np.floor(4.0 * (n_periods / 100.0) ** (2.0 / 9.0)))


@dataclass(frozen=True)
class Effect:
    """One policy effect on the link scale (identity or log) with its interval.

    For count models ``ratio`` and ``ratio_ci`` are exp(estimate) and exp(interval): the rate
    ratio.
    """

    name: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    log_link: bool

    @property
    def ratio(self) -> float:
        return float(np.exp(self.estimate)) if self.log_link else np.nan

    @property
    def ratio_ci(self) -> tuple[float, float]:
        if not self.log_link:
            return (np.nan, np.nan)
        return (float(np.exp(self.ci_low)), float(np.exp(self.ci_high)))


def _show(period: Any) -> str:
    """A period for text: dates without a midnight time part."""
    if isinstance(period, pd.Timestamp) and period == period.normalize():
        return str(period.date())
    return str(period)


# --------------------------------------------------------------------------- numerics
def _fit(
    x: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    family: str,
    cov: str,
    period: np.ndarray,
    lags: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Estimates, covariance, fitted means and dispersion from statsmodels.

    Gaussian: OLS; counts: GLM Poisson (log link, IRLS to a relative deviance change of
    1e-15). ``cov="hac"`` uses statsmodels' ``hac-groupsum`` (scores summed within each
    period, then the Bartlett kernel over periods) without small-sample correction: the
    Newey–West errors for one series and the Driscoll–Kraay arrangement for a controlled ITS.
    ``period`` is each row's position in elapsed time, so a missing period (``gaps="time"``)
    is an empty sum that the lags count (statsmodels sums groups with ``np.bincount``; it
    renumbers them densely only beyond 2 × rows, which the caller refuses).
    """
    import statsmodels.api as sm

    if cov == "hac":
        fit_kw: dict[str, Any] = {
            "cov_type": "hac-groupsum",
            "cov_kwds": {"time": period, "maxlags": lags, "use_correction": False},
        }
    else:
        fit_kw = {"scale": "X2"} if family == "quasipoisson" else {}
    if family == "gaussian":
        res = sm.OLS(y, x).fit(**fit_kw)
        dispersion = float(res.ssr) / float(res.df_resid)
    else:
        model = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset)
        res = model.fit(maxiter=100, tol=1e-15, rtol=1e-15, **fit_kw)
        dispersion = float(res.pearson_chi2) / float(res.df_resid)
    return (
        np.asarray(res.params, float),
        np.asarray(res.cov_params(), float),
        np.asarray(res.fittedvalues, float),
        dispersion,
    )


# --------------------------------------------------------------------------- result
class InterruptedTimeSeries:
    """A fitted segmented regression; made by :func:`interrupted_time_series`.

    Attributes
    ----------
    coefficients : DataFrame
        Per term: ``estimate``, ``std_error``, ``statistic``, ``p_value``, ``ci_low``,
        ``ci_high`` (link scale).
    covariance : DataFrame
        Covariance of the estimates (HAC or model-based).
    level_change, slope_change : Effect
        The change in level at the start and in slope per period afterwards (for a controlled
        ITS: relative to the comparison series).
    rate_ratios : DataFrame
        Count models: exp of the level and slope changes with intervals (empty for Gaussian).
    fitted, counterfactual : Series
        Treated series on the outcome scale, by period: the model with and without the policy
        terms.
    dispersion : float
        Pearson χ²/(n − p) (residual variance for Gaussian).
    hac_lags : int or None
    provenance : dict
    """

    provenance_ = provenance_alias("provenance")

    def __init__(self, **parts: Any) -> None:
        self.__dict__.update(parts)

    def _row(self, period_index: int) -> tuple[np.ndarray, np.ndarray, float]:
        rows = np.flatnonzero((self._period == period_index) & self._is_treated)
        i = int(rows[0])
        x = self._x[i]
        x_cf = x.copy()
        x_cf[self._policy_cols] = 0.0
        return x, x_cf, float(self._offset[i])

    def effect_at(self, horizon: int | None = None) -> pd.Series:
        """The policy effect ``horizon`` periods after the start (0 = first policy period).

        Returns the fitted and counterfactual values, the absolute effect (fitted −
        counterfactual, delta-method interval) and the relative effect (absolute /
        counterfactual; for count models exp(β2 + β3·h) − 1 with its exact interval). Default:
        the last period.
        """
        last = self._n_periods - 1 - self._t0
        h = last if horizon is None else horizon
        if not isinstance(h, (int, np.integer)) or not 0 <= h <= last:
            raise SpecificationError(
                f"horizon must be an int from 0 to {last} (periods after the start); got "
                f"{horizon!r}."
            )
        x, x_cf, off = self._row(self._t0 + int(h))
        beta, cov = self.coefficients["estimate"].to_numpy(), self.covariance.to_numpy()
        z = stats.norm.ppf(1 - self.alpha / 2)
        if self.family == "gaussian":
            fit, cf = float(x @ beta), float(x_cf @ beta)
            grad_abs = x - x_cf
            grad_rel = grad_abs / cf - (fit - cf) * x_cf / cf**2
            rel = (fit - cf) / cf
            se_rel = float(np.sqrt(grad_rel @ cov @ grad_rel))
            rel_ci = (rel - z * se_rel, rel + z * se_rel)
        else:
            fit, cf = float(np.exp(x @ beta + off)), float(np.exp(x_cf @ beta + off))
            grad_abs = fit * x - cf * x_cf
            d = x - x_cf
            deta, se_eta = float(d @ beta), float(np.sqrt(d @ cov @ d))
            rel = float(np.expm1(deta))
            rel_ci = (float(np.expm1(deta - z * se_eta)), float(np.expm1(deta + z * se_eta)))
        se_abs = float(np.sqrt(grad_abs @ cov @ grad_abs))
        return pd.Series(
            {
                "horizon": int(h),
                "period": self.fitted.index[self._t0 + int(h)],
                "fitted": fit,
                "counterfactual": cf,
                "absolute": fit - cf,
                "absolute_ci_low": fit - cf - z * se_abs,
                "absolute_ci_high": fit - cf + z * se_abs,
                "relative": rel,
                "relative_ci_low": rel_ci[0],
                "relative_ci_high": rel_ci[1],
            },
            dtype=object,
        )

    def to_frame(self) -> pd.DataFrame:
        """Per period of the treated series: observed, fitted, counterfactual, post flag."""
        frame = pd.DataFrame(
            {
                "observed": self.observed,
                "fitted": self.fitted,
                "counterfactual": self.counterfactual,
                "post": np.arange(len(self.fitted)) >= self._t0,
            }
        )
        attach(frame, self.provenance)
        return frame

    def plot(self, ax: Axes | None = None) -> Axes:
        """Observed points, fitted line and the counterfactual (dashed) after the start."""
        with matplotlib.rc_context({"font.family": [korean_font(), "DejaVu Sans"]}):
            if ax is None:
                fig = Figure(figsize=(8, 4.5), layout="constrained")
                FigureCanvasAgg(fig)
                ax = fig.add_subplot()
            idx = self.fitted.index
            if self.comparison is not None:
                ax.plot(idx, self.comparison, "o", color="0.7", ms=3, label="comparison / 비교군")
            ax.plot(idx, self.observed, "o", color="0.25", ms=3, label="observed / 관측")
            ax.plot(idx, self.fitted, color="#1b9e77", lw=2, label="fitted / 적합")
            post = idx[self._t0 :]
            ax.plot(
                post,
                self.counterfactual.iloc[self._t0 :],
                color="#d95f02",
                lw=2,
                ls="--",
                label="counterfactual / 반사실",
            )
            ax.axvline(idx[self._t0], color="0.3", ls=":", lw=1)
            ax.set_title("Interrupted time series / 단절 시계열")
            ax.legend(loc="best")
        return ax

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Plain-language summary of the level and slope change and the effect at the end."""
        if lang not in ("en", "ko"):
            raise SpecificationError(f"lang must be 'en' or 'ko'; got {lang!r}.")
        lv, sl = self.level_change, self.slope_change
        eff = self.effect_at()
        pct = 100 * (1 - self.alpha)
        se_text = (
            f"Newey–West HAC standard errors with {self.hac_lags} lag(s)"
            if self.hac_lags is not None
            else "model-based standard errors"
        )
        if self.family == "gaussian":
            en_effects = (
                f"level change {lv.estimate:.4g} ({pct:.0f}% CI {lv.ci_low:.4g} to "
                f"{lv.ci_high:.4g}, p = {lv.p_value:.3g}); slope change {sl.estimate:.4g} per "
                f"period ({sl.ci_low:.4g} to {sl.ci_high:.4g}, p = {sl.p_value:.3g})"
            )
            ko_effects = (
                f"수준 변화 {lv.estimate:.4g} ({pct:.0f}% 신뢰구간 "
                f"{lv.ci_low:.4g}~{lv.ci_high:.4g}, p = {lv.p_value:.3g}); "
                f"기울기 변화 시점당 {sl.estimate:.4g} "
                f"({sl.ci_low:.4g}~{sl.ci_high:.4g}, p = {sl.p_value:.3g})"
            )
        else:
            (l_lo, l_hi), (s_lo, s_hi) = lv.ratio_ci, sl.ratio_ci
            en_effects = (
                f"rate ratio at the start {lv.ratio:.3f} ({pct:.0f}% CI {l_lo:.3f}–{l_hi:.3f}, "
                f"p = {lv.p_value:.3g}); change in trend, rate ratio per period {sl.ratio:.4f} "
                f"({s_lo:.4f}–{s_hi:.4f}, p = {sl.p_value:.3g})"
            )
            ko_effects = (
                f"시행 시점 발생률비 {lv.ratio:.3f} ({pct:.0f}% 신뢰구간 {l_lo:.3f}–{l_hi:.3f}, "
                f"p = {lv.p_value:.3g}); 추세 변화(시점당 발생률비) {sl.ratio:.4f} "
                f"({s_lo:.4f}–{s_hi:.4f}, p = {sl.p_value:.3g})"
            )
        kind = "controlled ITS (vs the comparison series)" if self.comparison is not None else "ITS"
        missing = self.provenance.get("missing_periods") or []
        gap_en = (
            f" {len(missing)} period(s) have no row ({format_rows(missing)}); time counts them "
            "(gaps='time')."
            if missing
            else ""
        )
        gap_ko = (
            f" 자료가 없는 시점 {len(missing)}개({format_rows(missing)})는 경과 시간에 "
            "포함했습니다(gaps='time')."
            if missing
            else ""
        )
        if lang == "en":
            return "\n".join(
                [
                    f"{kind}, {self.family} model over {self._n_periods} periods "
                    f"({self._t0} before the start at {_show(self.fitted.index[self._t0])}): "
                    f"{en_effects}." + gap_en,
                    f"At {_show(eff['period'])} the model gives {eff['fitted']:.4g} against "
                    f"{eff['counterfactual']:.4g} without the policy: relative effect "
                    f"{100 * eff['relative']:+.1f}% ({100 * eff['relative_ci_low']:+.1f}% to "
                    f"{100 * eff['relative_ci_high']:+.1f}%).",
                    f"Inference: {se_text}. Assumptions: the pre-policy trend (and seasonality) "
                    "would have continued, nothing else changed at the start, and the model form "
                    "fits; check the plot and residual autocorrelation"
                    + (
                        ", and that the comparison series was not affected."
                        if self.comparison is not None
                        else "."
                    ),
                ]
            )
        se_ko = (
            f"Newey–West HAC 표준오차 (시차 {self.hac_lags})"
            if self.hac_lags is not None
            else "모형 기반 표준오차"
        )
        return "\n".join(
            [
                f"{'통제 단절 시계열' if self.comparison is not None else '단절 시계열'}, "
                f"{self.family} 모형, {self._n_periods}개 시점 (시행 전 {self._t0}개): "
                f"{ko_effects}." + gap_ko,
                f"{_show(eff['period'])} 시점 적합값 {eff['fitted']:.4g}, 정책이 없었을 때 "
                f"{eff['counterfactual']:.4g}: 상대 효과 {100 * eff['relative']:+.1f}% "
                f"({100 * eff['relative_ci_low']:+.1f}% ~ {100 * eff['relative_ci_high']:+.1f}%).",
                f"추론: {se_ko}. 가정: 시행 전 추세(와 계절성)가 계속되었을 것, 시행 시점에 다른 "
                "변화가 없었을 것, 모형 형태가 맞을 것 — 그림과 잔차 자기상관으로 확인하십시오.",
            ]
        )


# --------------------------------------------------------------------------- fitting
_FREQ_NAMES = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
#: pandas period frequencies of text periods ("2019", "2019-01", "2019Q1", "2019-01-15").
_TEXT_FREQS = ("Y-DEC", "M", "Q-DEC", "D")


def _clock(times: pd.Series, name: Any) -> tuple[np.ndarray, str]:
    """Elapsed periods (0, 1, …, with holes where periods are missing) and the frequency.

    Numbers: steps in units of the smallest step (every step must be a multiple of it). Dates:
    the frequency is inferred from the smallest step (1 day, 7 days, 28–31, 89–92 or 365–366
    days) and each date is mapped to its calendar period. Text: parsed as pandas periods, which
    must share one frequency.
    """
    if pd.api.types.is_numeric_dtype(times):
        values = times.to_numpy(dtype=float)
        sorted_values = np.sort(values)
        diffs = np.diff(sorted_values)
        step = diffs.min() if len(diffs) else 1.0
        ratio = (values - sorted_values[0]) / step
        if not np.allclose(ratio, np.round(ratio), rtol=0, atol=1e-9):
            raise DataError(
                f"The periods in {name!r} are not equally spaced (steps "
                f"{format_rows(np.unique(diffs))}, not multiples of {step:g}). Fix: aggregate "
                "to a regular interval."
            )
        return np.round(ratio).astype(np.int64), f"step {step:g}"
    if pd.api.types.is_datetime64_any_dtype(times):
        days = np.diff(np.sort(times.to_numpy())).astype("timedelta64[D]").astype(int)
        step = int(days.min()) if len(days) else 1
        freq = next(
            (f for f, (lo, hi) in _DATE_STEPS.items() if lo <= step <= hi),
            None,
        )
        if freq is None:
            raise DataError(
                f"The dates in {name!r} are not daily, weekly, monthly, quarterly or yearly "
                f"(smallest step {step} days). Fix: aggregate them to one of these frequencies."
            )
        if freq == "W":
            freq = f"W-{times.min().day_name()[:3].upper()}"
        periods = pd.PeriodIndex(times, freq=freq)
        if periods.has_duplicates:
            raise DataError(
                f"The dates in {name!r} are not equally spaced: several fall in the same "
                f"{_FREQ_NAMES[freq[0]]}. Fix: aggregate them to one row per "
                f"{_FREQ_NAMES[freq[0]]}."
            )
        ordinal = periods.asi8
        return ordinal - ordinal.min(), freq
    try:
        periods = [pd.Period(str(v)) for v in times]
    except (TypeError, ValueError) as err:
        raise DataError(
            f"The periods in {name!r} are text that is not a calendar period (e.g. "
            f"{str(times.iloc[0])!r}). Fix: use numbers, dates, or text like '2019', '2019-01', "
            "'2019Q1' or '2019-01-15'."
        ) from err
    freqs = {p.freqstr for p in periods}
    if len(freqs) > 1 or not freqs <= set(_TEXT_FREQS):
        raise DataError(
            f"The periods in {name!r} mix calendar frequencies ({format_rows(sorted(freqs))}). "
            "Fix: write every period in one form, e.g. all '2019-01' or all '2019Q1'."
        )
    ordinal = np.array([p.ordinal for p in periods], dtype=np.int64)
    return ordinal - ordinal.min(), freqs.pop()


#: Smallest step (days) of dates → pandas period frequency.
_DATE_STEPS = {"D": (1, 1), "W": (7, 7), "M": (28, 31), "Q": (89, 92), "Y": (365, 366)}


def _label(k: int, first: Any, clock: np.ndarray, freq: str) -> str:
    """The label of the period ``k`` steps after ``first`` (for messages)."""
    if freq.startswith("step "):
        return f"{float(first) + k * float(freq[5:]):g}"
    if isinstance(first, pd.Timestamp):
        return str(pd.Period(first, freq=freq) + int(k))
    return str(pd.Period(str(first), freq=freq) + int(k))


def _seasonal_terms(
    t: np.ndarray, times: pd.Series, kind: str | None, period: int, harmonics: int
) -> dict[str, np.ndarray]:
    if kind is None:
        return {}
    if kind == "fourier":
        cols = {}
        for k in range(1, harmonics + 1):
            cols[f"sin{k}"] = np.sin(2 * np.pi * k * t / period)
            cols[f"cos{k}"] = np.cos(2 * np.pi * k * t / period)
        return cols
    if pd.api.types.is_datetime64_any_dtype(times):
        season = times.dt.month.to_numpy()
        labels = range(2, 13)
    else:
        season = t % period
        labels = range(1, period)
    return {f"season{s}": (season == s).astype(float) for s in labels if (season == s).any()}


def _time_axis(frame: pd.DataFrame, time: Any, start: Any, gaps: str) -> tuple[Any, dict]:
    """(start, the time axis): the periods sorted on their clock, and where the start falls.

    The axis holds ``times`` (the distinct periods, sorted), ``clock`` (their elapsed
    periods), ``freq``, ``period_index`` (the period of each row), ``t`` (elapsed periods of
    each row: its position unless ``gaps='time'`` found holes), ``t0`` (the first period from
    the start) and ``missing_labels`` (the labels of the periods without a row). Unequal
    spacing is refused under ``gaps='raise'``, and a start that leaves fewer than 2 periods
    before or none after.
    """
    if pd.api.types.is_datetime64_any_dtype(frame[time]):
        start = pd.Timestamp(start)
    unique = pd.Series(frame[time].unique())
    clock, freq = _clock(unique, time)
    order = np.argsort(clock, kind="stable")
    times, clock = unique.iloc[order].reset_index(drop=True), clock[order]
    missing = np.setdiff1d(np.arange(clock[-1] + 1), clock)
    if len(missing) and gaps == "raise":
        labels = [_label(k, unique.iloc[order[0]], clock, freq) for k in missing]
        raise DataError(
            f"The periods in {time!r} are not equally spaced: {len(missing)} "
            f"{_FREQ_NAMES.get(freq[:1], 'period')}(s) between {_show(times.iloc[0])} and "
            f"{_show(times.iloc[-1])} have no row: {format_rows(labels)}. The model would "
            "treat the rows as consecutive. Fix: insert the missing periods (e.g. with "
            "interpolated values, stated in your report), or pass gaps='time' to use the true "
            "elapsed time as the time index."
        )
    n_t = len(times)
    period_index = pd.Index(times).get_indexer(frame[time])
    # t counts elapsed periods: equal to the row position unless gaps='time' found holes
    t = clock[period_index].astype(float)
    if freq in _TEXT_FREQS and not pd.api.types.is_datetime64_any_dtype(times):
        try:
            start_clock = pd.Period(str(start), freq=freq).ordinal
        except (TypeError, ValueError) as err:
            raise SpecificationError(
                f"start {start!r} is not a period like those in {time!r} (e.g. "
                f"{_show(times.iloc[0])!r}). Fix: give the start in the same form."
            ) from err
        first = pd.Period(str(times.iloc[0]), freq=freq).ordinal
        t0 = int(np.searchsorted(clock, start_clock - first))
    else:
        t0 = int(np.searchsorted(times.to_numpy(), start, side="left"))
    if t0 < 2 or t0 >= n_t:
        raise SpecificationError(
            f"start {start!r} leaves {t0} period(s) before and {n_t - t0} from the start "
            f"(periods run {times.iloc[0]} to {times.iloc[-1]}); a trend needs at least 2 "
            "periods before and 1 after. Choose a start inside the series."
        )
    axis = {
        "times": times,
        "clock": clock,
        "freq": freq,
        "period_index": period_index,
        "t": t,
        "t0": t0,
        "missing_labels": [_label(k, times.iloc[0], clock, freq) for k in missing],
    }
    return start, axis


def _design_matrix(
    frame: pd.DataFrame,
    t: np.ndarray,
    t_start: float,
    time: Any,
    group: Any,
    treated_group: Any,
    seasonal: tuple[str | None, int, int],
    covariates: tuple[Any, ...] | list[Any],
) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """(term names, design matrix, treated rows, the two policy terms) of the segmented model.

    Intercept, trend, level and slope change; with ``group`` the comparison series' terms
    and the treated-group interactions (then the policy terms); seasonal terms
    (``seasonal`` = (kind, period, harmonics)) and covariates.
    """
    d = (t >= t_start).astype(float)
    cols: dict[str, np.ndarray] = {
        "intercept": np.ones(len(frame)),
        "time": t,
        "level": d,
        "slope": (t - t_start) * d,
    }
    is_treated = np.ones(len(frame), bool)
    policy = ["level", "slope"]
    if group is not None:
        is_treated = (frame[group] == treated_group).to_numpy()
        g = is_treated.astype(float)
        cols.update(
            {
                "group": g,
                "group:time": g * t,
                "group:level": g * d,
                "group:slope": g * (t - t_start) * d,
            }
        )
        policy = ["group:level", "group:slope"]
    cols.update(_seasonal_terms(t, frame[time], *seasonal))
    for c in covariates:
        cols[str(c)] = frame[c].to_numpy(dtype=float)
    names = list(cols)
    return names, np.column_stack([cols[n] for n in names]), is_treated, policy


def _coefficient_tables(
    beta: np.ndarray,
    covariance: np.ndarray,
    names: list[str],
    policy: list[str],
    family: str,
    cov: str,
    df: int,
    alpha: float,
) -> tuple[pd.DataFrame, list[Effect], pd.DataFrame]:
    """(coefficients, the level and slope effects, their rate ratios for log links).

    Intervals and p-values use Student's t on ``df`` degrees of freedom for a Gaussian model
    with model-based errors, the normal distribution otherwise (HAC or a GLM).
    """
    se = np.sqrt(np.diag(covariance))
    stat = beta / se
    use_t = family == "gaussian" and cov == "model"
    dist = stats.t(df) if use_t else stats.norm
    crit = float(dist.ppf(1 - alpha / 2))
    p_values = 2 * dist.sf(np.abs(stat))
    coefficients = pd.DataFrame(
        {
            "estimate": beta,
            "std_error": se,
            "statistic": stat,
            "p_value": p_values,
            "ci_low": beta - crit * se,
            "ci_high": beta + crit * se,
        },
        index=pd.Index(names, name="term"),
    )
    log_link = family != "gaussian"
    effects = [
        Effect(
            name,
            float(beta[i]),
            float(se[i]),
            float(beta[i] - crit * se[i]),
            float(beta[i] + crit * se[i]),
            float(p_values[i]),
            log_link,
        )
        for i, name in ((names.index(c), c) for c in policy)
    ]
    rate_ratios = (
        pd.DataFrame(
            {
                "rate_ratio": [e.ratio for e in effects],
                "ci_low": [e.ratio_ci[0] for e in effects],
                "ci_high": [e.ratio_ci[1] for e in effects],
            },
            index=pd.Index(["level", "slope"], name="change"),
        )
        if log_link
        else pd.DataFrame(columns=["rate_ratio", "ci_low", "ci_high"])
    )
    return coefficients, effects, rate_ratios


def _seasonal_params(seasonality: str | None, period: int, harmonics: int) -> dict[str, Any]:
    """The seasonal settings recorded in the provenance (None where they do not apply)."""
    return {
        "seasonality": seasonality,
        "period": period if seasonality else None,
        "harmonics": harmonics if seasonality == "fourier" else None,
    }


def _series_by_period(
    values: dict[str, np.ndarray],
    y: np.ndarray,
    times: pd.Series,
    time: Any,
    period_index: np.ndarray,
    is_treated: np.ndarray,
    *,
    controlled: bool,
) -> dict[str, pd.Series | None]:
    """The treated series' ``values`` indexed by period, and the comparison's outcome.

    ``comparison`` is None for a single series (``controlled=False``).
    """
    order = np.argsort(period_index[is_treated], kind="stable")
    tr_times = pd.Index(times.to_numpy()[period_index[is_treated][order]], name=str(time))
    out: dict[str, pd.Series | None] = {
        label: pd.Series(v[is_treated][order], index=tr_times, name=label)
        for label, v in values.items()
    }
    out["comparison"] = None
    if controlled:
        comp = ~is_treated
        out["comparison"] = pd.Series(
            y[comp][np.argsort(period_index[comp], kind="stable")],
            index=tr_times,
            name="comparison",
        )
    return out


def interrupted_time_series(
    data: pd.DataFrame,
    *,
    time: Any,
    outcome: Any,
    start: Any,
    family: Family = "gaussian",
    offset: Any = None,
    seasonality: Literal["fourier", "month"] | None = None,
    period: int = 12,
    harmonics: int = 2,
    covariates: tuple[Any, ...] | list[Any] = (),
    group: Any = None,
    treated_group: Any = None,
    cov: Literal["hac", "model"] = "hac",
    hac_lags: int | None = None,
    alpha: float = 0.05,
    gaps: Literal["raise", "time"] = "raise",
) -> InterruptedTimeSeries:
    """Fit a segmented regression (interrupted time series) to one series or a controlled pair.

    Parameters
    ----------
    data : DataFrame
        One row per period (or per period and series with ``group``), periods equally spaced.
    time : column name
        Period: numbers, datetimes, or text calendar periods (see ``gaps``); sorted inside.
    outcome : column name
        The series: any number for Gaussian, non-negative counts for Poisson.
    start : period
        First period under the policy (T0 = first period ≥ ``start``).
    family : {"gaussian", "poisson", "quasipoisson"}, default "gaussian"
    offset : column name, optional
        Population (or person-time) for count models; log(offset) enters with coefficient 1.
    seasonality : {"fourier", "month"} or None
        Fourier terms of period ``period`` with ``harmonics`` pairs, or dummies for the
        calendar month (datetime times) or for t mod ``period``.
    period : int, default 12
    harmonics : int, default 2
    covariates : list of column names
    group, treated_group : column name and label, optional
        Controlled ITS: ``group`` labels two series, ``treated_group`` the treated one.
    cov : {"hac", "model"}, default "hac"
    hac_lags : int, optional
        Newey–West lag; default :func:`newey_west_lags` of the number of periods.
    alpha : float, default 0.05
        1 − confidence level of the intervals.
    gaps : {"raise", "time"}, default "raise"
        Spacing of the periods is checked for numbers (steps that are multiples of the
        smallest), dates (daily, weekly, monthly, quarterly or yearly, inferred from the
        smallest step) and text periods (``"2019"``, ``"2019-01"``, ``"2019Q1"``,
        ``"2019-01-15"``). Missing periods raise a :class:`~dongne.errors.DataError` naming
        them (``"raise"``), or ``"time"`` uses the true elapsed time as the time index (trend,
        slope change, Fourier terms and Newey–West lags count the missing periods; they add no
        rows). ``horizon`` in :meth:`InterruptedTimeSeries.effect_at` counts observed periods.

    Returns
    -------
    InterruptedTimeSeries

    Raises
    ------
    DataError
        Missing columns or values, duplicate periods, periods that are not equally spaced
        (with ``gaps="raise"``), text periods that are not calendar periods.

    References
    ----------
    Lopez Bernal, J., Cummins, S. & Gasparrini, A. (2017). Interrupted time series regression for
    the evaluation of public health interventions: a tutorial. *International Journal of
    Epidemiology* 46(1):348–355.
    Wagner, A. K., Soumerai, S. B., Zhang, F. & Ross-Degnan, D. (2002). Segmented regression
    analysis of interrupted time series studies in medication use research. *Journal of Clinical
    Pharmacy and Therapeutics* 27(4):299–309.
    Newey, W. K. & West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity and
    autocorrelation consistent covariance matrix. *Econometrica* 55(3):703–708.
    Newey, W. K. & West, K. D. (1994). Automatic lag selection in covariance matrix estimation.
    *Review of Economic Studies* 61(4):631–653.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(24)
    >>> y = 10 + 0.5 * t + 3 * (t >= 12) + 0.25 * np.maximum(t - 12, 0) * (t >= 12)
    >>> fit = interrupted_time_series(pd.DataFrame({"t": t, "y": y}), time="t", outcome="y",
    ...                               start=12)
    >>> round(fit.level_change.estimate, 6), round(fit.slope_change.estimate, 6)
    (3.0, 0.25)
    """
    frame = _validate(
        data, time, outcome, start, family, offset, seasonality, period, harmonics, covariates,
        group, treated_group, cov, hac_lags, alpha, gaps,
    )  # fmt: skip
    start, axis = _time_axis(frame, time, start, gaps)
    times, clock, freq, period_index, t, t0 = (
        axis[k] for k in ("times", "clock", "freq", "period_index", "t", "t0")
    )
    n_t = len(times)
    names, x, is_treated, policy = _design_matrix(
        frame, t, float(clock[t0]), time, group, treated_group,
        (seasonality, period, harmonics), covariates,
    )  # fmt: skip
    y = frame[outcome].to_numpy(dtype=float)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise SpecificationError(
            f"The design matrix ({format_rows(names)}) is rank deficient: some terms are "
            "collinear (e.g. a covariate that is constant or a copy of the trend, or too many "
            "seasonal terms for the series). Drop the redundant terms."
        )
    n, p = x.shape
    off = np.log(frame[offset].to_numpy(dtype=float)) if offset is not None else np.zeros(n)
    lags = (newey_west_lags(n_t) if hac_lags is None else int(hac_lags)) if cov == "hac" else None
    elapsed = clock[period_index].astype(np.int64)  # position in time, missing periods counted
    if cov == "hac" and elapsed.max() + 1 > 2 * n:
        raise SpecificationError(
            f"The series covers {elapsed.max() + 1} periods but has only {n} rows: too many "
            "missing periods for Newey-West errors over elapsed time. Fix: pass cov='model', "
            "or fill the gaps from the source."
        )
    beta, covariance, mu, dispersion = _fit(x, y, off, family, cov, elapsed, lags)
    log_link = family != "gaussian"
    coefficients, effects, rate_ratios = _coefficient_tables(
        beta, covariance, names, policy, family, cov, n - p, alpha
    )
    policy_cols = np.array([names.index(c) for c in policy])
    x_cf = x.copy()
    x_cf[:, policy_cols] = 0.0
    cf = x_cf @ beta + (off if log_link else 0.0)
    cf = np.exp(cf) if log_link else cf
    series = _series_by_period(
        {"observed": y, "fitted": mu, "counterfactual": cf}, y, times, time, period_index,
        is_treated, controlled=group is not None,
    )  # fmt: skip
    return InterruptedTimeSeries(
        coefficients=coefficients,
        covariance=pd.DataFrame(covariance, index=names, columns=names),
        level_change=effects[0],
        slope_change=effects[1],
        rate_ratios=rate_ratios,
        observed=series["observed"],
        fitted=series["fitted"],
        counterfactual=series["counterfactual"],
        comparison=series["comparison"],
        dispersion=dispersion,
        hac_lags=lags,
        family=family,
        alpha=alpha,
        provenance=jsonable(
            {
                "method": "interrupted_time_series",
                "time": time,
                "outcome": outcome,
                "start": start,
                "family": family,
                "offset": offset,
                **_seasonal_params(seasonality, period, harmonics),
                "covariates": list(covariates),
                "group": group,
                "treated_group": treated_group,
                "cov": cov,
                "hac_lags": lags,
                "alpha": alpha,
                "n_periods": n_t,
                "gaps": gaps,
                "frequency": freq,
                "missing_periods": axis["missing_labels"],
                "dongne_version": __version__,
            }
        ),
        _x=x,
        _offset=off,
        _period=period_index,
        _is_treated=is_treated,
        _policy_cols=policy_cols,
        _t0=t0,
        _n_periods=n_t,
    )


def _validate(
    data: Any,
    time: Any,
    outcome: Any,
    start: Any,
    family: str,
    offset: Any,
    seasonality: Any,
    period: Any,
    harmonics: Any,
    covariates: Any,
    group: Any,
    treated_group: Any,
    cov: str,
    hac_lags: Any,
    alpha: Any,
    gaps: Any,
) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"'data' must be a pandas DataFrame; got {type(data).__name__}.")
    if family not in _FAMILIES:
        raise SpecificationError(f"family must be one of {', '.join(_FAMILIES)}; got {family!r}.")
    if cov not in ("hac", "model"):
        raise SpecificationError(f"cov must be 'hac' or 'model'; got {cov!r}.")
    if seasonality not in (None, "fourier", "month"):
        raise SpecificationError(
            f"seasonality must be 'fourier', 'month' or None; got {seasonality!r}."
        )
    if seasonality and (not isinstance(period, (int, np.integer)) or period < 2):
        raise SpecificationError(f"period must be an int >= 2; got {period!r}.")
    if seasonality == "fourier" and (
        not isinstance(harmonics, (int, np.integer)) or not 1 <= harmonics < period / 2
    ):
        raise SpecificationError(
            f"harmonics must be an int from 1 to below period/2 = {period / 2:g}; got "
            f"{harmonics!r}."
        )
    if hac_lags is not None and (not isinstance(hac_lags, (int, np.integer)) or hac_lags < 0):
        raise SpecificationError(f"hac_lags must be an int >= 0 or None; got {hac_lags!r}.")
    if not 0 < alpha < 1:
        raise SpecificationError(f"alpha must be in (0, 1); got {alpha!r}.")
    if offset is not None and family == "gaussian":
        raise SpecificationError(
            "An offset needs a count model: pass family='poisson' or 'quasipoisson', or divide "
            "the outcome by the population yourself for a Gaussian model of rates."
        )
    if (group is None) != (treated_group is None):
        raise SpecificationError(
            "A controlled ITS needs both group (the column naming the series) and "
            "treated_group (the label of the treated series)."
        )
    needed = [time, outcome, *covariates] + [c for c in (offset, group) if c is not None]
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise DataError(
            f"Column(s) {format_rows(absent)} are not in the data; columns are "
            f"{format_rows(data.columns)}. Pass existing column names."
        )
    frame = data[needed].copy()
    numeric = [outcome, *covariates] + ([offset] if offset is not None else [])
    for c in numeric:
        try:
            frame[c] = pd.to_numeric(frame[c])
        except (TypeError, ValueError) as err:
            raise DataError(f"Column {c!r} is not numeric ({err}). Convert it to numbers.") from err
    bad = frame.isna().any(axis=1).to_numpy()
    if bad.any():
        raise DataError(
            f"Missing values in {format_rows(frame.columns[frame.isna().any()])} at row(s) "
            f"{format_rows(frame.index[bad])}. Fill or drop them; the model needs complete, "
            "equally spaced periods."
        )
    if family != "gaussian" and (frame[outcome] < 0).any():
        raise DataError(
            f"Column {outcome!r} has negative values; a {family} model needs counts >= 0. Use "
            "family='gaussian' for other outcomes."
        )
    if offset is not None and (frame[offset] <= 0).any():
        raise DataError(
            f"Offset column {offset!r} must be > 0 (its log is taken); rows "
            f"{format_rows(frame.index[(frame[offset] <= 0).to_numpy()])} are not."
        )
    keys = [time] if group is None else [group, time]
    dup = frame.duplicated(keys)
    if dup.any():
        raise DataError(
            f"Several rows share the same {' and '.join(map(str, keys))}: rows "
            f"{format_rows(frame.index[dup.to_numpy()])}. Keep one row per period"
            + (" and series." if group is not None else ".")
        )
    if group is not None:
        levels = list(pd.unique(frame[group]))
        if len(levels) != 2 or treated_group not in levels:
            raise DataError(
                f"Column {group!r} must hold exactly two series including {treated_group!r}; it "
                f"holds {format_rows(levels)}."
            )
        sets = [set(frame.loc[frame[group] == g, time]) for g in levels]
        if sets[0] != sets[1]:
            raise DataError(
                f"The two series do not cover the same periods (differing: "
                f"{format_rows(sorted(sets[0] ^ sets[1]))}). Align them first."
            )
    if gaps not in ("raise", "time"):
        raise SpecificationError(f"gaps must be 'raise' or 'time'; got {gaps!r}.")
    return frame
