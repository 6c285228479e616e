"""The evaluate workflow behind ``dongne evaluate``: estimates, tables, figures.

:func:`run_did`, :func:`run_scm` and :func:`run_its` take a table that has already been read
(:func:`dongne.io.read_table`), fit one estimator of :mod:`dongne.evaluate` and write into an
output folder what a council report needs: CSV tables (UTF-8 with BOM), PNG figures and a
``summary.txt`` in English and Korean, each with a ``<file>.provenance.json`` recording the
inputs, every parameter and ``dongne.__version__`` (the report builder,
:func:`dongne.report.document.build_report`, recognises a run folder by them and renders the
``evaluate`` sections of :mod:`dongne.report.sections_evaluate`).

File names identify the analysis: ``did_*`` (difference-in-differences), ``scm_*`` (synthetic
control), ``its_*`` (interrupted time series). Warnings of the estimators (few clusters,
convex hull, units left out) are repeated under "Notes" in the summary and re-issued.

:func:`dongne.demo.evaluate.run_demo_evaluation` is the worked example of ``dongne demo``: an
*illustrative* 2×2 DiD of the semi-basement household share across Seoul's 25 gu (2010 vs 2015
census), with a made-up treatment and a spillover rule over gu contiguity. It demonstrates the
method; it is not evidence of any effect.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne._deprecate import renamed
from dongne._validation import check_choice
from dongne._vocab import resolve_rng
from dongne.errors import DongneWarning, SpecificationError, format_rows
from dongne.evaluate.bacon import bacon_decomposition
from dongne.evaluate.did import did_2x2, twfe
from dongne.evaluate.its import interrupted_time_series
from dongne.evaluate.panel import Panel, panel_from_frame
from dongne.evaluate.spillover import SpilloverRule
from dongne.evaluate.staggered import att_gt
from dongne.evaluate.synth import synthetic_control
from dongne.io.atomic import atomic_write_text
from dongne.io.write import write_provenance, write_table

__all__ = [
    "DID_ESTIMATORS",
    "EvaluationOutputs",
    "run_did",
    "run_its",
    "run_scm",
]

#: Estimators of :func:`run_did`: Callaway & Sant'Anna, two-way fixed effects, the classic
#: 2×2 comparison, and the Goodman-Bacon decomposition of TWFE.
DID_ESTIMATORS = ("cs", "twfe", "2x2", "bacon")

#: Unit roles in ``did_units.csv`` and their colours in ``did_design_map.png``.
ROLE_CATEGORIES = {
    "treated": ("#d95f02", "Treated / 처치"),
    "exposed": ("#fdb863", "Exposed neighbour / 인접 노출"),
    "control": ("#4393c3", "Comparison / 비교"),
    "left out": ("#bdbdbd", "Left out / 제외"),
}


@dataclass
class EvaluationOutputs:
    """What :func:`run_did`, :func:`run_scm` or :func:`run_its` fitted and wrote.

    Attributes
    ----------
    result : object
        The fitted result (:class:`~dongne.evaluate.did.DiDResult`,
        :class:`~dongne.evaluate.staggered.StaggeredResult`,
        :class:`~dongne.evaluate.bacon.BaconDecomposition`,
        :class:`~dongne.evaluate.synth.SyntheticControl` or
        :class:`~dongne.evaluate.its.InterruptedTimeSeries`).
    files : dict of str to Path
        Written files by label (each has a ``.provenance.json`` beside it).
    summary : str
        The text of ``summary.txt``: English paragraphs, then Korean ones.
    warnings : list of str
        Messages of the :class:`~dongne.errors.DongneWarning` raised while fitting.
    """

    result: Any
    files: dict[str, Path] = field(default_factory=dict)
    summary: str = ""
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------- helpers
@contextmanager
def _recording(messages: list[str]) -> Iterator[None]:
    """Collect DongneWarning messages (once each) and re-issue every warning afterwards."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if issubclass(w.category, DongneWarning) and str(w.message) not in messages:
            messages.append(str(w.message))
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _with_inputs(frame: pd.DataFrame, inputs: dict[str, Any]) -> pd.DataFrame:
    out = frame.copy()
    out.attrs = {"dongne": inputs}
    return out


def _write_figure(figure: Any, path: Path, table: pd.DataFrame, params: dict[str, Any]) -> Path:
    """Save a figure (or the figure of an Axes) as PNG atomically, with the plotted table's
    provenance beside it, and release it from pyplot."""
    import matplotlib.pyplot as plt

    from dongne.report.maps import save_png

    fig = figure.figure if hasattr(figure, "figure") and figure.figure is not None else figure
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")
    save_png(fig, path)
    plt.close(fig)
    write_provenance(path, table, **params)
    return path


def _write_summary(
    out: Path,
    english: Sequence[str],
    korean: Sequence[str],
    table: pd.DataFrame,
    params: dict[str, Any],
    *,
    caveat: tuple[str, str] | None,
    caught: Sequence[str],
) -> tuple[str, Path]:
    """summary.txt: caveat, the given paragraphs and the estimator's warnings, English first."""
    en_caveat, ko_caveat = caveat if caveat is not None else ("", "")
    notes_en, notes_ko = _notes(caught)
    english = [en_caveat, *english, notes_en]
    korean = [ko_caveat, *korean, notes_ko]
    text = "\n".join(p for p in english if p) + "\n\n" + "\n".join(p for p in korean if p)
    path = atomic_write_text(out / "summary.txt", text + "\n")
    write_provenance(path, table, **params)
    return text, path


def _notes(messages: Sequence[str]) -> tuple[str, str]:
    if not messages:
        return "", ""
    return (
        "Notes: " + " ".join(messages),
        f"참고: 추정 중 경고 {len(messages)}건 (영문 'Notes' 참조).",
    )


def _coerce_period(value: Any, periods: pd.Series | pd.Index) -> Any:
    """A period given as text (from the command line) in the type of ``periods``."""
    if pd.api.types.is_datetime64_any_dtype(periods):
        return pd.Timestamp(value)
    if pd.api.types.is_numeric_dtype(periods) and isinstance(value, str):
        try:
            number = float(value)
        except ValueError as exc:
            raise SpecificationError(
                f"The period {value!r} is not a number, but the periods are numbers "
                f"({periods.min()}–{periods.max()}). Fix: give the period as a number, e.g. "
                f"{periods.min()}."
            ) from exc
        return int(number) if number.is_integer() else number
    return value


# ------------------------------------------------------------------------------- DiD
def _unit_roles(panel: Panel, result: Any, dropped: Sequence[Hashable]) -> pd.DataFrame:
    """One row per unit: first treated period, role and (for exposed units) exposure start."""
    g = panel.first_treated.to_numpy(dtype=float)
    roles = np.where(np.isfinite(g), "treated", "control").astype(object)
    notes = np.full(len(g), "", dtype=object)
    excluded = set(getattr(result, "excluded_units", []) or [])
    exposure = getattr(result, "exposure", None)
    exposed = set(exposure.exposed) if exposure is not None else set()
    start = exposure.exposure_start if exposure is not None else pd.Series(dtype=float)
    for i, u in enumerate(panel.units):
        if u in exposed:
            roles[i] = "exposed"
            notes[i] = {
                "exclude": "neighbour of a treated unit, left out of the comparison units",
                "exposure": "neighbour of a treated unit, its own effect estimated",
                "ignore": "neighbour of a treated unit, kept as a comparison unit",
            }[exposure.rule.handling]
        elif u in excluded:
            roles[i] = "left out"
            notes[i] = "treated from the first period: no untreated period"
    frame = pd.DataFrame(
        {
            panel.unit: panel.units,
            "first_treated": np.where(np.isfinite(g), g, np.nan),
            "role": roles,
            "exposure_start": [start.get(u, np.nan) for u in panel.units],
            "note": notes,
        }
    )
    if len(dropped):
        frame = pd.concat(
            [
                frame,
                pd.DataFrame(
                    {
                        panel.unit: list(dropped),
                        "role": "left out",
                        "note": "missing periods (balance='drop')",
                    }
                ),
            ],
            ignore_index=True,
        )
    return frame


def _cs_effects(result: Any) -> pd.DataFrame:
    """The four aggregations; with a wild cluster bootstrap (two periods, few clusters) its
    p-value and interval on the ``simple`` overall row, which the summary follows."""
    parts = []
    for label, res in (("treated", result), ("exposed (spillover)", result.exposure_effect)):
        if res is None:
            continue
        for kind in ("simple", "group", "dynamic", "calendar"):
            part = res.aggregate(kind).to_frame()
            part.insert(0, "effect_on", label)
            if kind == "simple" and res.wild is not None:
                part = part.assign(
                    wild_p_value=res.wild.p_value,
                    wild_ci_low=res.wild.ci[0],
                    wild_ci_high=res.wild.ci[1],
                )
            parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _panel_ko(panel: Panel) -> str:
    g = panel.first_treated.to_numpy(dtype=float)
    return (
        f"자료: {panel.n_units}개 지역 × {panel.n_periods}개 시점, 결과변수 '{panel.outcome}', "
        f"처치 지역 {int(np.isfinite(g).sum())}개, 비처치 지역 {int(np.isinf(g).sum())}개."
    )


def _check_did_options(
    estimator: str,
    covariates: tuple[str, ...],
    spillover: SpilloverRule | None,
    areas: gpd.GeoDataFrame | None,
    area_id: str | None,
) -> None:
    """Refuse options of :func:`run_did` that its estimator cannot honour."""
    check_choice("estimator", estimator, DID_ESTIMATORS)
    if covariates and estimator in ("2x2", "bacon"):
        raise SpecificationError(
            f"The {estimator} estimator takes no covariates (got {list(covariates)}). Fix: use "
            "estimator 'cs' (covariates in the base period) or 'twfe' (time-varying ones)."
        )
    if spillover is not None and estimator == "bacon":
        raise SpecificationError(
            "The Goodman-Bacon decomposition has no spillover rule: it explains the plain TWFE "
            "estimate. Fix: drop the spillover rule, or use estimator 'cs', 'twfe' or '2x2'."
        )
    if (areas is None) != (area_id is None):
        raise SpecificationError(
            "The design map needs both areas (polygons) and area_id (their unit-id column)."
        )


def _fit_did(
    panel: Panel,
    estimator: str,
    control: str,
    method: str,
    spillover: SpilloverRule | None,
    bootstrap: int,
    bootstrap_weights: str,
    options: dict[str, Any],
) -> tuple[Any, str, float | None]:
    """(result, control, CS simple ATT) of one estimator of :func:`run_did`.

    The CS average is computed for ``bacon`` only (the estimate the decomposition is compared
    with), and ``control`` falls back to not-yet-treated units there when no unit is never
    treated.
    """
    cs_simple = None
    if estimator == "cs":
        result = att_gt(
            panel,
            control=control,  # type: ignore[arg-type]
            method=method,  # type: ignore[arg-type]
            spillover=spillover,
            bootstrap=bootstrap,
            **options,
        )
    elif estimator == "twfe":
        result = twfe(
            panel,
            spillover=spillover,
            bootstrap=bootstrap,
            bootstrap_weights=bootstrap_weights,  # type: ignore[arg-type]
            **options,
        )
    elif estimator == "2x2":
        result = did_2x2(
            panel,
            spillover=spillover,
            bootstrap=bootstrap,
            bootstrap_weights=bootstrap_weights,  # type: ignore[arg-type]
            **options,
        )
    else:
        result = bacon_decomposition(panel)
        # the CS average the decomposition is compared with; without never-treated units
        # the not-yet-treated ones are the only possible comparison
        if control == "never" and not len(panel.never_treated()):
            control = "notyet"
        cs_simple = (
            att_gt(panel, control=control, method=method, bootstrap=0, **options)  # type: ignore[arg-type]
            .aggregate("simple")
            .overall
        )
    return result, control, cs_simple


def _design_map(
    areas: gpd.GeoDataFrame,
    area_id: str,
    roles: pd.DataFrame,
    unit: str,
    name_column: str | None,
    spillover: SpilloverRule | None,
    path: Path,
) -> Path:
    """Map of the units' roles in the design (treated, exposed, comparison, left out)."""
    from dongne.report.maps import category_map

    drawn = areas.copy()
    role_of = dict(zip(roles[unit].astype(str), roles["role"], strict=True))
    drawn["role"] = drawn[area_id].astype(str).map(role_of)
    return category_map(
        drawn,
        "role",
        title="Evaluation design: treated, exposed and comparison areas\n"
        "평가 설계: 처치·노출·비교 지역",
        categories=ROLE_CATEGORIES,
        legend_title="Role / 역할",
        labels=name_column,
        missing_label="Not in the panel / 패널 밖",
        note=f"Spillover rule: {spillover.describe()}." if spillover else None,
        path=path,
    ).path


@renamed(seed="rng")
def run_did(
    frame: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    unit: str,
    time: str,
    outcome: str,
    first_treated: str | None = None,
    treatment: str | None = None,
    treated_units: Sequence[Hashable] | None = None,
    treatment_start: Any = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    estimator: str = "cs",
    control: str = "never",
    method: str = "dr",
    bootstrap: int = 999,
    bootstrap_weights: str = "webb",
    alpha: float = 0.05,
    rng: int | np.random.Generator | None = None,
    spillover: SpilloverRule | None = None,
    areas: gpd.GeoDataFrame | None = None,
    area_id: str | None = None,
    name_column: str | None = None,
    balance: str = "error",
    caveat: tuple[str, str] | None = None,
    command: str = "run_did",
    scheduler: Any = None,
) -> EvaluationOutputs:
    """Difference-in-differences on a long area × period table; write tables, figures, summary.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per unit and period (as read by :func:`dongne.io.read_table`; its
        ``attrs["dongne"]`` is recorded as the input).
    out_dir : path-like
        Output folder (created if needed).
    unit, time, outcome : str
        Columns of the unit id, the period (numbers) and the outcome.
    first_treated, treatment, treated_units, treatment_start
        The treatment, in exactly one way (see :func:`~dongne.evaluate.panel.panel_from_frame`):
        a first-treated-period column, a 0/1 column, or treated units with one start period.
    covariates : sequence of str
        Covariates (``cs``: values in the base period; ``twfe``: time-varying ones only).
        ``2x2`` and ``bacon`` take none.
    cluster : str, optional
        Column of the level the policy was assigned at; default the unit.
    estimator : {"cs", "twfe", "2x2", "bacon"}, default "cs"
        Callaway & Sant'Anna :func:`~dongne.evaluate.staggered.att_gt` with its four
        aggregations; :func:`~dongne.evaluate.did.twfe`; :func:`~dongne.evaluate.did.did_2x2`;
        :func:`~dongne.evaluate.bacon.bacon_decomposition` (compared with the CS average).
    control, method : str
        ``cs`` (and ``bacon``'s comparison): ``"never"``/``"notyet"`` comparison units;
        ``"dr"``/``"ipw"``/``"reg"``.
    bootstrap : int, default 999
        ``cs``: multiplier-bootstrap draws; ``twfe``/``2x2``: wild cluster bootstrap draws
        (0: none).
    bootstrap_weights : {"webb", "rademacher"}
        Wild cluster bootstrap weights (``twfe``/``2x2``).
    alpha : float, default 0.05
    rng : int, numpy.random.Generator or None, default None
        Seed of the bootstrap draws (None means seed 0; a Generator is drawn from once).
    spillover : SpilloverRule, optional
        Untreated neighbours of treated units excluded, given their own effect, or kept
        (``cs``, ``twfe``, ``2x2``).
    areas : GeoDataFrame, optional
        Area polygons; with ``area_id`` (their unit-id column) a map of treated, exposed,
        comparison and left-out units is drawn (``did_design_map.png``).
    name_column : str, optional
        Column of ``areas`` written on the design map.
    balance : {"error", "drop"}
        Unbalanced panels: raise, or drop incomplete units (listed as left out).
    caveat : tuple of str, optional
        (English, Korean) text put first in ``summary.txt`` — e.g. that the treatment is
        illustrative.
    command : str
        Recorded in the provenance as the command that made the run.
    scheduler : None or "threads"
        Passed to the estimator, which runs its bootstrap in this process and refuses any
        other scheduler with a :class:`~dongne.errors.SpecificationError`.

    Returns
    -------
    EvaluationOutputs
        Files: ``did_effects.csv`` (``cs``: simple, group, dynamic and calendar aggregations;
        ``twfe``/``2x2``: the effect with cluster-robust and wild-bootstrap intervals),
        ``did_att_gt.csv`` and ``did_event_study.png`` (``cs``), ``did_effects.png`` and
        ``did_covariates.csv`` (``twfe``/``2x2``), ``did_bacon.csv``,
        ``did_bacon_by_type.csv`` and ``did_bacon.png`` (``bacon``), ``did_units.csv`` (role
        of every unit), ``did_design_map.png`` (with ``areas``) and ``summary.txt``.

    Raises
    ------
    SpecificationError
        Unknown estimator; covariates with ``2x2``/``bacon``; a spillover rule with ``bacon``.
    DataError
        From the panel checks and the estimators (no comparison units, no pre-period, ...).

    Examples
    --------
    >>> import tempfile, warnings
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame([(u, t) for u in range(40) for t in (2019, 2020)], columns=["u", "t"])
    >>> df["y"] = 0.2 * rng.normal(size=80) + 2.0 * ((df.u < 20) & (df.t == 2020))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # few clusters: repeated under Notes
    ...     out = run_did(df, tempfile.mkdtemp(), unit="u", time="t", outcome="y",
    ...                   treated_units=range(20), treatment_start=2020, estimator="2x2",
    ...                   bootstrap=0)
    >>> round(out.result.estimate, 2)  # true effect 2
    2.12
    >>> out.summary.splitlines()[0][:30]
    '2×2 difference-in-differences:'
    """
    seed = resolve_rng(rng)
    covariates = tuple(covariates)
    _check_did_options(estimator, covariates, spillover, areas, area_id)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inputs: dict[str, Any] = {"panel": frame.attrs.get("dongne", {})}
    if areas is not None:
        inputs["areas"] = areas.attrs.get("dongne", {})
    caught: list[str] = []
    outputs = EvaluationOutputs(result=None, warnings=caught)
    files = outputs.files
    with _recording(caught):
        panel = panel_from_frame(
            frame,
            unit=unit,
            time=time,
            outcome=outcome,
            first_treated=first_treated,
            treatment=treatment,
            treated_units=treated_units,
            treatment_start=treatment_start,
            covariates=covariates,
            cluster=cluster,
            balance=balance,  # type: ignore[arg-type]
        )
        options = {"alpha": alpha, "rng": seed, "scheduler": scheduler}
        result, control, cs_simple = _fit_did(
            panel, estimator, control, method, spillover, bootstrap, bootstrap_weights, options
        )
    outputs.result = result
    params = {
        "command": command,
        **result.params,
        "estimator": estimator,
        "unit": unit,
        "time": time,
        "outcome": outcome,
        "treatment": {
            "first_treated": first_treated,
            "treatment": treatment,
            "treated_units": list(treated_units) if treated_units is not None else None,
            "treatment_start": treatment_start,
        },
        "balance": balance,
    }
    if estimator == "cs":
        params["pretest"] = result.pretest
    if estimator == "bacon":
        params |= {"twfe": result.twfe, "cs_simple_att": cs_simple, "control": control}

    def table(data: pd.DataFrame, name: str, label: str) -> pd.DataFrame:
        data = _with_inputs(data, inputs)
        files[label] = write_table(data, out / name, **params)
        return data

    if estimator == "cs":
        table(result.cells, "did_att_gt.csv", "att_gt")
        headline = table(_cs_effects(result), "did_effects.csv", "effects")
        files["event_study"] = _write_figure(
            result.plot(), out / "did_event_study.png", headline, params
        )
    elif estimator in ("twfe", "2x2"):
        headline = table(result.to_frame(), "did_effects.csv", "effects")
        if len(result.covariates):
            table(result.covariates.reset_index(), "did_covariates.csv", "covariates")
        files["effects_plot"] = _write_figure(
            result.plot(), out / "did_effects.png", headline, params
        )
    else:
        headline = table(result.to_frame(), "did_bacon.csv", "bacon")
        table(result.by_type().reset_index(), "did_bacon_by_type.csv", "bacon_by_type")
        files["bacon_plot"] = _write_figure(result.plot(), out / "did_bacon.png", headline, params)
    roles = table(_unit_roles(panel, result, panel.dropped_units), "did_units.csv", "units")
    if areas is not None:
        files["design_map"] = _design_map(
            areas, area_id, roles, unit, name_column, spillover, out / "did_design_map.png"
        )
        write_provenance(files["design_map"], roles, **params)

    if estimator == "bacon":
        en, ko = result.summary("en", cs_att=cs_simple), result.summary("ko", cs_att=cs_simple)
    else:
        en, ko = result.summary("en"), result.summary("ko")
    outputs.summary, files["summary"] = _write_summary(
        out, [en, f"Data: {panel.summary()}"], [ko, _panel_ko(panel)], headline, params,
        caveat=caveat, caught=caught,
    )  # fmt: skip
    return outputs


# ------------------------------------------------------------------------------- SCM
@renamed(seed="rng")
def run_scm(
    data: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    treated: Hashable,
    treatment_start: Any,
    unit: str | None = None,
    time: str | None = None,
    outcome: str | None = None,
    wide: bool = False,
    predictors: Sequence[str] | None = None,
    outcome_lags: Sequence[Any] | None = None,
    donors: Sequence[Hashable] | None = None,
    exclude_donors: Sequence[Hashable] = (),
    placebos: bool = False,
    leave_one_out: bool = False,
    max_pre_mspe_ratio: float | None = None,
    n_starts: int = 4,
    rng: int | np.random.Generator | None = None,
    caveat: tuple[str, str] | None = None,
    command: str = "run_scm",
) -> EvaluationOutputs:
    """Synthetic control for one treated unit; write the path, weights, checks and summary.

    Parameters
    ----------
    data : pandas.DataFrame
        Long table (``unit``, ``time``, ``outcome`` and any predictor columns) or, with
        ``wide=True``, one row per period and one column per unit — the period in column
        ``time`` (or in the index when ``time`` is None).
    out_dir : path-like
    treated : label
        The unit that received the policy.
    treatment_start : period
        First period under the policy (text is converted to the periods' type).
    unit, time, outcome : str, optional
    wide : bool
    predictors : sequence of str, optional
        Covariate columns averaged over the pre-period (long data).
    outcome_lags : sequence of periods, optional
        Pre-period outcomes used as predictors (e.g. 1975, 1980, 1988). Without predictors and
        lags every pre-period outcome is a predictor.
    donors, exclude_donors : optional
        Donor pool (default every other unit) and units removed from it.
    placebos : bool
        Run in-space placebos (every donor refitted as if treated; p = rank / (J + 1)).
    leave_one_out : bool
        Refit without each donor with positive weight, one at a time.
    max_pre_mspe_ratio : float, optional
        Placebos whose pre-period MSPE exceeds this multiple of the treated unit's are dropped.
    n_starts : int
        Random starts of the V search.
    rng : int, numpy.random.Generator or None, default None
        Seed of the random starts of the V search (None means seed 0).
    caveat : tuple of str, optional
        (English, Korean) text put first in ``summary.txt``.
    command : str

    Returns
    -------
    EvaluationOutputs
        Files: ``scm_path.csv`` (treated, synthetic and gap per period), ``scm_weights.csv``,
        ``scm_balance.csv``, ``scm_path.png``; with ``placebos`` ``scm_placebos.csv``,
        ``scm_placebo_gaps.csv`` and ``scm_placebos.png``; with ``leave_one_out``
        ``scm_leave_one_out.csv`` and ``scm_leave_one_out.png``; ``summary.txt``.
    """
    seed = resolve_rng(rng)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inputs = {"panel": data.attrs.get("dongne", {})}
    if wide and time is not None:
        if time not in data.columns:
            raise SpecificationError(
                f"The period column {time!r} is not in the wide table; its columns are "
                f"{format_rows(map(str, data.columns))}. Fix: name the column holding the periods."
            )
        data = data.set_index(time)
    periods = data.index if wide else data[time] if time in data.columns else pd.Index([])
    start = _coerce_period(treatment_start, periods)
    special = [(_coerce_period(p, periods), "mean") for p in outcome_lags] if outcome_lags else None
    caught: list[str] = []
    outputs = EvaluationOutputs(result=None, warnings=caught)
    files = outputs.files
    with _recording(caught):
        fit = synthetic_control(
            data,
            treated=treated,
            treatment_start=start,
            unit=unit,
            time=time,
            outcome=outcome,
            wide=wide,
            predictors=list(predictors) if predictors else None,
            special_predictors=special,
            donors=list(donors) if donors is not None else None,
            exclude_donors=list(exclude_donors),
            n_starts=n_starts,
            rng=seed,
        )
        placebo = fit.placebo_test(max_pre_mspe_ratio=max_pre_mspe_ratio) if placebos else None
        loo = fit.leave_one_out() if leave_one_out else None
    outputs.result = fit
    params: dict[str, Any] = {
        "command": command,
        **fit.provenance,
        "wide": wide,
        "pre_rmspe": fit.pre_rmspe,
        "post_rmspe": fit.post_rmspe,
        "average_post_gap": fit.average_post_gap,
    }
    if placebo is not None:
        params |= {
            "placebo_p_value": placebo.p_value,
            "placebo_rank": placebo.table["rank"].iloc[0],
            "placebos_kept": int(placebo.table["kept"].sum()),
            "max_pre_mspe_ratio": max_pre_mspe_ratio,
        }
    period_name = time or "period"

    def table(frame: pd.DataFrame, name: str, label: str) -> pd.DataFrame:
        frame = _with_inputs(frame, inputs)
        files[label] = write_table(frame, out / name, **params)
        return frame

    path = table(fit.path.rename_axis(period_name).reset_index(), "scm_path.csv", "path")
    table(
        fit.weights.rename_axis("donor").reset_index(),
        "scm_weights.csv",
        "weights",
    )
    table(
        fit.balance.rename_axis("predictor").reset_index(),
        "scm_balance.csv",
        "balance",
    )
    files["path_plot"] = _write_figure(fit.plot(), out / "scm_path.png", path, params)
    if placebo is not None:
        ranks = table(
            placebo.table.rename_axis("unit").reset_index(), "scm_placebos.csv", "placebos"
        )
        table(
            placebo.gaps.rename_axis(period_name).reset_index(),
            "scm_placebo_gaps.csv",
            "placebo_gaps",
        )
        files["placebo_plot"] = _write_figure(
            placebo.plot(), out / "scm_placebos.png", ranks, params
        )
    if loo is not None:
        spread = table(
            loo.range.rename_axis(period_name).reset_index(),
            "scm_leave_one_out.csv",
            "leave_one_out",
        )
        files["loo_plot"] = _write_figure(loo.plot(), out / "scm_leave_one_out.png", spread, params)
    outputs.summary, files["summary"] = _write_summary(
        out, [fit.summary("en")], [fit.summary("ko")], path, params,
        caveat=caveat, caught=caught,
    )  # fmt: skip
    return outputs


# ------------------------------------------------------------------------------- ITS
def _its_effects(fit: Any) -> pd.DataFrame:
    rows = []
    for label, e in (
        ("level change", fit.level_change),
        ("slope change per period", fit.slope_change),
    ):
        rows.append(
            {
                "effect": label + (" (log rate)" if fit.family != "gaussian" else ""),
                "estimate": e.estimate,
                "std_error": e.std_error,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "p_value": e.p_value,
            }
        )
        if fit.family != "gaussian":
            rows.append(
                {
                    "effect": label + " (rate ratio)",
                    "estimate": e.ratio,
                    "ci_low": e.ratio_ci[0],
                    "ci_high": e.ratio_ci[1],
                    "p_value": e.p_value,
                }
            )
    end = fit.effect_at()
    period = end["period"]
    shown = period.date().isoformat() if isinstance(period, pd.Timestamp) else str(period)
    for kind in ("absolute", "relative"):
        rows.append(
            {
                "effect": f"{kind} effect at {shown}",
                "estimate": end[kind],
                "ci_low": end[f"{kind}_ci_low"],
                "ci_high": end[f"{kind}_ci_high"],
            }
        )
    return pd.DataFrame(rows)


def run_its(
    frame: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    time: str,
    outcome: str,
    start: Any,
    family: str = "gaussian",
    offset: str | None = None,
    seasonality: str | None = None,
    period: int = 12,
    harmonics: int = 2,
    covariates: Sequence[str] = (),
    group: str | None = None,
    treated_group: Any = None,
    cov: str = "hac",
    hac_lags: int | None = None,
    alpha: float = 0.05,
    gaps: str = "raise",
    caveat: tuple[str, str] | None = None,
    command: str = "run_its",
) -> EvaluationOutputs:
    """Interrupted time series (segmented regression); write effects, series, plot, summary.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per period (per period and series with ``group``). A ``time`` column of text
        is read as dates when it holds ISO 8601 dates (``2005-01-01``, ``2005-01``), else as
        calendar periods (``2005Q1``).
    out_dir : path-like
    time, outcome, start
        Period column, outcome column and first period under the policy (text is converted to
        the periods' type).
    family, offset, seasonality, period, harmonics, covariates, group, treated_group, cov,
    hac_lags, alpha, gaps
        As :func:`~dongne.evaluate.its.interrupted_time_series` (``gaps``: missing periods
        raise, or ``"time"`` uses the true elapsed time).
    caveat : tuple of str, optional
        (English, Korean) text put first in ``summary.txt``.
    command : str

    Returns
    -------
    EvaluationOutputs
        Files: ``its_effects.csv`` (level and slope change, rate ratios for counts, absolute
        and relative effect at the last period, with intervals), ``its_coefficients.csv``,
        ``its_series.csv`` (observed, fitted, counterfactual per period), ``its_series.png``,
        ``summary.txt``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(24)
    >>> series = pd.DataFrame({"t": t, "y": 10 + 0.5 * t + 3 * (t >= 12) + 0.1 * np.sin(t)})
    >>> out = run_its(series, tempfile.mkdtemp(), time="t", outcome="y", start=12)
    >>> round(out.result.level_change.estimate, 2)  # true level change 3
    3.05
    >>> sorted(path.name for path in out.files.values())  # doctest: +NORMALIZE_WHITESPACE
    ['its_coefficients.csv', 'its_effects.csv', 'its_series.csv', 'its_series.png',
     'summary.txt']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inputs = {"series": frame.attrs.get("dongne", {})}
    data = frame
    if time in frame.columns and not (
        pd.api.types.is_numeric_dtype(frame[time])
        or pd.api.types.is_datetime64_any_dtype(frame[time])
    ):
        # ISO dates become dates; other text (e.g. quarters "2019Q1") stays text, which
        # interrupted_time_series reads as calendar periods or refuses with the fix
        with suppress(ValueError, TypeError):
            data = frame.assign(**{time: pd.to_datetime(frame[time], format="ISO8601")})
    start = _coerce_period(start, data[time]) if time in data.columns else start
    caught: list[str] = []
    outputs = EvaluationOutputs(result=None, warnings=caught)
    files = outputs.files
    with _recording(caught):
        fit = interrupted_time_series(
            data,
            time=time,
            outcome=outcome,
            start=start,
            family=family,  # type: ignore[arg-type]
            offset=offset,
            seasonality=seasonality,  # type: ignore[arg-type]
            period=period,
            harmonics=harmonics,
            covariates=list(covariates),
            group=group,
            treated_group=treated_group,
            cov=cov,  # type: ignore[arg-type]
            hac_lags=hac_lags,
            alpha=alpha,
            gaps=gaps,  # type: ignore[arg-type]
        )
    outputs.result = fit
    params = {"command": command, **fit.provenance, "dispersion": fit.dispersion}

    def table(data: pd.DataFrame, name: str, label: str) -> pd.DataFrame:
        data = _with_inputs(data, inputs)
        files[label] = write_table(data, out / name, **params)
        return data

    effects = table(_its_effects(fit), "its_effects.csv", "effects")
    table(fit.coefficients.reset_index(), "its_coefficients.csv", "coefficients")
    series = fit.to_frame()
    if fit.comparison is not None:
        series["comparison"] = fit.comparison
    series = table(series.rename_axis(time).reset_index(), "its_series.csv", "series")
    files["series_plot"] = _write_figure(fit.plot(), out / "its_series.png", series, params)
    outputs.summary, files["summary"] = _write_summary(
        out, [fit.summary("en")], [fit.summary("ko")], effects, params,
        caveat=caveat, caught=caught,
    )  # fmt: skip
    return outputs
