"""The learn workflow behind ``dongne learn``: tables, figures, maps, summaries.

Four workflows, one per question of :mod:`dongne.learn`, each writing CSV tables with a
``.provenance.json`` beside them, PNG figures and maps, and a summary in English and Korean
into one folder (which ``dongne report`` turns into a document):

* :func:`run_learn_cv` — random K-fold against spatial cross-validation, out-of-fold errors
  mapped per area (``cv_*``);
* :func:`run_learn_shift` — shift diagnostics between a source and a target region
  (``shift_*``);
* :func:`run_learn_audit` — spatial-fairness audit of predictions over grids and
  administrative units (``audit_*``);
* :func:`run_learn_regret` — coverage lost by siting facilities on predicted need, for a naive
  and shift-robust models (``regret_*``).

:func:`dongne.demo.learn.run_demo_learning` runs all four on the Seoul north → south task for
``dongne demo``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold

from dongne import __version__
from dongne._deprecate import renamed
from dongne._optional import import_optional
from dongne._vocab import resolve_rng
from dongne.errors import DataError, SpecificationError, format_rows
from dongne.io.atomic import atomic_write_text
from dongne.io.crs import require_crs, to_metric
from dongne.io.write import write_table
from dongne.learn.cv import (
    BufferedCV,
    CVComparison,
    LeaveGroupOut,
    SpatialBlockCV,
    coordinates,
)
from dongne.learn.shift import _fold_mmd_permutations

__all__ = [
    "MODELS",
    "REGRET_METHODS",
    "LearnOutputs",
    "SpatialScheme",
    "domain_masks",
    "make_model",
    "run_learn_audit",
    "run_learn_cv",
    "run_learn_regret",
    "run_learn_shift",
]

#: Regression models known by name (see :func:`make_model`).
MODELS = ("ridge", "lightgbm", "rf")

#: Training methods compared by :func:`run_learn_regret`, with their display names.
REGRET_METHODS: dict[str, str] = {
    "naive": "naive",
    "importance_weighted": "importance-weighted",
    "group_reweighted": "group-reweighted",
    "group_dro": "group DRO",
}

_REFERENCES_NOTE = "See docs/learn.md for the methods and references."


@dataclass
class LearnOutputs:
    """What a learn workflow computed and wrote.

    Attributes
    ----------
    results : dict
        The result objects (``CVComparison``, ``ShiftDiagnostics``, ``FairnessAudit``,
        ``AllocationRegret``, ...), by name.
    files : dict
        Written files by label.
    summary : str
        Plain-language summary, English paragraphs then Korean ones (as in the summary file).
    frame : DataFrame or None
        The per-area table written (out-of-fold predictions, weights, predicted need).
    """

    results: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    summary: str = ""
    frame: pd.DataFrame | None = None


# --------------------------------------------------------------------------------------------
# Inputs


def make_model(name: str, seed: int = 0) -> Any:
    """A regression model by name, seeded.

    ``"ridge"``: standardised ridge regression (α = 1); ``"lightgbm"``: LightGBM, 200 trees,
    learning rate 0.05, 31 leaves, at least 10 rows per leaf (needs ``lightgbm``); ``"rf"``:
    random forest, 300 trees, at least 3 rows per leaf. Single-threaded, so the same ``seed``
    gives the same numbers on any machine.

    Examples
    --------
    >>> type(make_model("rf")).__name__
    'RandomForestRegressor'
    """
    if name == "ridge":
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    if name == "rf":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(
            n_estimators=300, min_samples_leaf=3, random_state=seed, n_jobs=1
        )
    if name == "lightgbm":
        lightgbm = import_optional(
            "lightgbm", None, "model='lightgbm'", alternative="or use model='ridge' or 'rf'"
        )
        return lightgbm.LGBMRegressor(
            n_estimators=200,
            learning_rate=0.05,
            num_leaves=31,
            min_child_samples=10,
            n_jobs=1,
            random_state=seed,
            verbose=-1,
        )
    raise SpecificationError(
        f"The 'model' parameter must be one of {', '.join(MODELS)}. Got {name!r} instead."
    )


def _metres(value: float | str | None, name: str) -> float | None:
    if value is None:
        return None
    from dongne.allocate.problem import parse_radius

    try:
        metres = parse_radius(value)
    except DataError as exc:
        raise SpecificationError(f"{name}: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise SpecificationError(
            f"The {name!r} parameter must be a distance such as 3000, '3km' or '500m'. "
            f"Got {value!r} instead."
        ) from exc
    if not metres > 0:
        raise SpecificationError(f"The {name!r} parameter must be positive. Got {value!r}.")
    return float(metres)


def _checked(
    areas: gpd.GeoDataFrame,
    id_column: str,
    numeric: Sequence[str],
    labels: Sequence[str] = (),
) -> gpd.GeoDataFrame:
    """Areas with a unique id, numeric complete ``numeric`` columns and complete ``labels``."""
    if not isinstance(areas, gpd.GeoDataFrame):
        raise DataError(
            f"areas must be a GeoDataFrame, got {type(areas).__name__}. Fix: read the "
            "boundaries with dongne.io.read_areas."
        )
    require_crs(areas, "the areas")
    wanted = [id_column, *numeric, *labels]
    missing = [c for c in dict.fromkeys(wanted) if c not in areas.columns]
    if missing:
        raise DataError(
            f"Column(s) {', '.join(map(repr, missing))} not found in the areas (columns: "
            f"{', '.join(map(str, areas.columns))}). Fix: check the spelling, or join the table "
            "that holds them (AREAS TABLE --id ...)."
        )
    frame = areas.reset_index(drop=True)
    ids = frame[id_column].astype(str)
    if ids.duplicated().any():
        raise DataError(
            f"Column {id_column!r} repeats the ids {format_rows(ids[ids.duplicated()].unique())}"
            "; one row per area is needed. Fix: aggregate the table first, or pick a unique id."
        )
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            raise DataError(
                f"Column {column!r} is missing, not a number or infinite for areas "
                f"{format_rows(ids[bad])} ({int(bad.sum())} of {len(frame)}). Nothing is dropped "
                "silently. Fix: fill those values, or remove those areas from the input first."
            )
        frame[column] = values.astype(float)
    for column in labels:
        bad = frame[column].isna().to_numpy()
        if bad.any():
            raise DataError(
                f"Column {column!r} has no value for areas {format_rows(ids[bad])}. Fix: give "
                "every area a label."
            )
    frame.attrs = areas.attrs
    return frame


def _features(features: Sequence[str] | str) -> list[str]:
    items = features.split(",") if isinstance(features, str) else list(features)
    items = [str(f).strip() for f in items if str(f).strip()]
    if not items:
        raise SpecificationError("Give at least one feature column, e.g. features=['density'].")
    return items


def domain_masks(
    areas: pd.DataFrame,
    *,
    query: str | None = None,
    column: str | None = None,
    source: str | Sequence[str] | None = None,
    target: str | Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of the source and the target rows.

    Either a pandas ``query`` selecting the source rows (the target is every other row), or a
    ``column`` with the ``source`` value(s) and, optionally, the ``target`` value(s) (default:
    every other value). Values may be given as a comma-separated string.

    Raises
    ------
    SpecificationError
        Neither or both ways given, or a query pandas cannot evaluate.
    DataError
        An empty source or target, or a value the column does not have.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"side": ["n", "s", "n", "e"]})
    >>> s, t = domain_masks(df, column="side", source="n", target="s")
    >>> s.tolist(), t.tolist()
    ([True, False, True, False], [False, True, False, False])
    """
    if (query is None) == (column is None):
        raise SpecificationError(
            "Say which areas are the source: either a query (e.g. \"gu_name in ['종로구', "
            "'중구']\") or a domain column with source value(s). Not both, not neither."
        )
    if query is not None:
        try:
            chosen = areas.eval(query)
        except Exception as exc:  # pandas raises many types for a bad expression
            raise SpecificationError(
                f"The source query {query!r} could not be evaluated ({exc}). Fix: write it as "
                "for DataFrame.query, e.g. \"gu_name in ['종로구', '중구']\" or 'x > 3'."
            ) from exc
        src = np.asarray(chosen, dtype=bool)
        tgt = ~src
        what = f"query {query!r}"
    else:
        if column not in areas.columns:
            raise DataError(
                f"Domain column {column!r} is not in the areas (columns: "
                f"{', '.join(map(str, areas.columns))})."
            )
        if source is None:
            raise SpecificationError(
                f"Give the source value(s) of {column!r}, e.g. source='north'."
            )
        values = areas[column].astype(str)

        def pick(spec: str | Sequence[str]) -> np.ndarray:
            wanted = [v.strip() for v in spec.split(",")] if isinstance(spec, str) else spec
            wanted = [str(v) for v in wanted]
            unknown = sorted(set(wanted) - set(values))
            if unknown:
                raise DataError(
                    f"Column {column!r} has no value {', '.join(map(repr, unknown))} (values: "
                    f"{format_rows(sorted(values.unique()))})."
                )
            return values.isin(wanted).to_numpy()

        src = pick(source)
        tgt = ~src if target is None else pick(target) & ~src
        what = f"{column} = {source}"
    for mask, name in ((src, "source"), (tgt, "target")):
        if not mask.any():
            raise DataError(
                f"The {name} is empty ({what} selects {int(src.sum())} of {len(src)} areas). "
                "Fix: check the values."
            )
    return src, tgt


@dataclass(frozen=True)
class SpatialScheme:
    """How spatial cross-validation folds are formed.

    Exactly one of ``group`` (hold out whole groups: a column such as ``"gu_name"``), ``block``
    (square grid blocks of this side, metres or ``"3km"``) and ``kmeans`` (that many k-means
    clusters of the area centroids); none of them: ``5 × n_splits`` k-means blocks.
    ``buffer`` (metres or ``"1km"``) further removes training areas within that distance of
    the test areas (:class:`~dongne.learn.cv.BufferedCV`).

    Examples
    --------
    >>> SpatialScheme(block="3km", buffer="1km").describe()
    'grid blocks of 3000 m, buffer 1000 m'
    """

    group: str | None = None
    block: float | str | None = None
    kmeans: int | None = None
    buffer: float | str | None = None
    n_splits: int = 5

    def describe(self) -> str:
        """One line: the blocks and the buffer."""
        if self.group is not None:
            text = f"leave-group-out by {self.group}"
        elif self.block is not None:
            text = f"grid blocks of {_metres(self.block, 'block'):g} m"
        else:
            k = self.kmeans if self.kmeans is not None else 5 * self.n_splits
            text = f"{k} k-means blocks"
        if self.buffer is not None:
            text += f", buffer {_metres(self.buffer, 'buffer'):g} m"
        return text

    def splitter(self, areas: gpd.GeoDataFrame, seed: int = 0) -> tuple[Any, np.ndarray | None]:
        """The scikit-learn splitter for ``areas`` and the group labels it needs (or None)."""
        chosen = [k for k in ("group", "block", "kmeans") if getattr(self, k) is not None]
        if len(chosen) > 1:
            raise SpecificationError(
                f"Choose one spatial scheme: {' or '.join(chosen)} were both given. Fix: keep "
                "one of group=, block= and kmeans= (--group, --block, --kmeans)."
            )
        xy = coordinates(areas)
        groups = None
        if self.group is not None:
            groups = areas[self.group].astype(str).to_numpy()
            n_groups = len(np.unique(groups))
            if n_groups < 2:
                raise DataError(
                    f"Column {self.group!r} has {n_groups} distinct value; holding out groups "
                    "needs at least 2. Fix: use a finer grouping or block=/kmeans=."
                )
            cv: Any = LeaveGroupOut(self.n_splits if n_groups > self.n_splits else None)
        elif self.block is not None:
            cv = SpatialBlockCV(
                xy, n_splits=self.n_splits, size=_metres(self.block, "block"), method="grid"
            )
        else:
            cv = SpatialBlockCV(
                xy,
                n_splits=self.n_splits,
                method="kmeans",
                n_blocks=self.kmeans,
                rng=seed,
            )
        if self.buffer is not None:
            cv = BufferedCV(xy, _metres(self.buffer, "buffer"), cv=cv)
        return cv, groups


# --------------------------------------------------------------------------------------------
# Helpers


def _save(figure: Any, path: Path) -> Path:
    """Write a matplotlib figure as PNG atomically and release it."""
    import matplotlib.pyplot as plt

    from dongne.report.maps import save_png

    save_png(figure, path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def _write_summary(path: Path, english: Sequence[str], korean: Sequence[str]) -> str:
    text = "\n\n".join([*english, *korean])
    atomic_write_text(path, text + "\n")
    return text


def _outlines(areas: gpd.GeoDataFrame, group: str | None) -> gpd.GeoDataFrame | None:
    if group is None:
        return None
    return areas[[group, areas.geometry.name]].dissolve(by=group, as_index=False)


def _fold_predictions(
    model: Any, X: np.ndarray, y: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Out-of-fold predictions, the test fold of every row and R²/RMSE per fold."""
    pred = np.full(len(y), np.nan)
    fold = np.full(len(y), -1, dtype=np.int64)
    rows = []
    for k, (train, test) in enumerate(splits):
        fitted = clone(model).fit(X[train], y[train])
        p = np.asarray(fitted.predict(X[test]), dtype=float)
        pred[test], fold[test] = p, k
        resid = y[test] - p
        sst = float(((y[test] - y[test].mean()) ** 2).sum())
        rows.append(
            {
                "fold": k,
                "n_train": len(train),
                "n_test": len(test),
                "r2": 1.0 - float((resid**2).sum()) / sst if sst > 0 else np.nan,
                "rmse": float(np.sqrt(np.mean(resid**2))),
            }
        )
    return pred, fold, pd.DataFrame(rows)


def _spatial_splits(
    areas: gpd.GeoDataFrame, scheme: SpatialScheme, seed: int
) -> tuple[list[tuple[np.ndarray, np.ndarray]], Any, np.ndarray | None]:
    """The folds of ``scheme``, checked to put every area in exactly one test fold."""
    cv, groups = scheme.splitter(areas, seed)
    splits = list(cv.split(np.zeros((len(areas), 1)), None, groups))
    covered = np.zeros(len(areas), dtype=np.int64)
    for _, test in splits:
        covered[test] += 1
    if not (covered == 1).all():
        raise DataError(
            "The spatial folds do not put every area in exactly one test fold, so out-of-fold "
            "predictions are undefined. Fix: use group=, block= or kmeans= folds."
        )
    return splits, cv, groups


# --------------------------------------------------------------------------------------------
# cv


def _cv_table(
    scores: pd.DataFrame,
    r2: CVComparison,
    rmse: CVComparison,
    random_description: str,
    spatial_description: str,
) -> pd.DataFrame:
    """``cv_comparison.csv``: one row per scheme (random, spatial) with means, sd and gaps."""
    return pd.DataFrame(
        [
            {
                "scheme": scheme_name,
                "description": random_description if i == 0 else spatial_description,
                "folds": int((scores["scheme"] == scheme_name).sum()),
                "r2_mean": r2.random_mean if i == 0 else r2.spatial_mean,
                "r2_sd": float(scores.loc[scores["scheme"] == scheme_name, "r2"].std()),
                "rmse_mean": rmse.random_mean if i == 0 else rmse.spatial_mean,
                "rmse_sd": float(scores.loc[scores["scheme"] == scheme_name, "rmse"].std()),
                "optimism_gap_r2": r2.optimism_gap,
                "optimism_gap_rmse": rmse.spatial_mean - rmse.random_mean,
            }
            for i, scheme_name in enumerate(("random", "spatial"))
        ]
    )


def _cv_maps(
    mapped: gpd.GeoDataFrame,
    target: str,
    n_folds: int,
    outline: gpd.GeoDataFrame | None,
    out: Path,
    prefix: str,
    note: str,
    description: str,
) -> dict[str, Path]:
    """The spatial test folds and the out-of-fold errors (``mapped``: ``fold``, ``error``)."""
    import matplotlib

    from dongne.report.maps import category_map, choropleth

    colours = matplotlib.colormaps["tab10"]
    files = {}
    files["cv_folds_map"] = category_map(
        mapped,
        "fold",
        title=f"Spatial CV test folds — {description}\n공간 교차검증 검증 폴드",
        categories={f"fold {k + 1}": colours(k % 10) for k in range(n_folds)},
        legend_title="test fold / 검증 폴드",
        path=out / f"{prefix}cv_folds_map.png",
        boundaries=outline,
        dpi=100,
    ).path
    files["cv_error_map"] = choropleth(
        mapped,
        "error",
        title=f"Spatial-CV error of {target} (predicted − observed)\n공간 교차검증 예측 오차",
        legend_title=f"{target}: predicted − observed / 예측 − 관측",
        path=out / f"{prefix}cv_error_map.png",
        scheme="quantiles",
        k=5,
        cmap="RdBu_r",
        boundaries=outline,
        note=note,
        dpi=100,
    ).path
    return files


@renamed(seed="rng")
def run_learn_cv(
    areas: gpd.GeoDataFrame,
    id_column: str,
    target: str,
    features: Sequence[str] | str,
    out_dir: str | os.PathLike[str],
    *,
    scheme: SpatialScheme | None = None,
    model: str = "ridge",
    rng: int | np.random.Generator | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    prefix: str = "",
    progress: Callable[[str], None] | None = None,
) -> LearnOutputs:
    """Random K-fold against spatial cross-validation of one model, with per-area errors.

    Both schemes fit the same model on the same rows; the random folds are
    ``KFold(n_splits, shuffle=True, random_state=seed)``, the spatial ones come from
    ``scheme``. Fold scores (R² and RMSE) are computed exactly as scikit-learn's ``r2`` and
    ``neg_root_mean_squared_error`` scorers on each test fold; the out-of-fold predictions
    give every area a prediction from a model that did not see it (or, with a buffer, its
    neighbours).

    Writes into ``out_dir``: ``cv_scores.csv`` (one row per scheme and fold),
    ``cv_comparison.csv`` (per scheme: mean and sd of R² and RMSE, and the optimism gap),
    ``cv_areas.csv`` (per area: test fold, target, random- and spatial-CV predictions and the
    spatial-CV error), ``cv_buffer.csv`` (with a buffer: training areas removed per fold),
    ``cv_scores.png``, ``cv_folds_map.png``, ``cv_error_map.png`` and ``cv_summary.txt``
    (English and Korean), each table with its provenance; file names start with ``prefix``.

    Parameters
    ----------
    areas : GeoDataFrame
        One row per area with ``id_column``, ``target`` and ``features`` (numeric, complete:
        a missing value raises :class:`~dongne.errors.DataError` naming the areas).
    id_column, target : str
    features : list of str or comma-separated str
    out_dir : path-like
    scheme : SpatialScheme, optional
        The spatial folds (default: 25 k-means blocks in 5 folds).
    model : {"ridge", "lightgbm", "rf"}
        See :func:`make_model`.
    rng : int, numpy.random.Generator or None, default None
        Seed of the random folds, k-means blocks and the model;
        None means seed 0; a Generator is drawn from once (a seed below 2**32).
    boundaries : GeoDataFrame, optional
        Outlines for the maps (default: the areas dissolved by the scheme's group, if any).
    prefix : str
    progress : callable, optional
        Called with a short description before each step (2 steps).

    Returns
    -------
    LearnOutputs
        ``results["r2"]`` is the :class:`~dongne.learn.cv.CVComparison` of R².
    """
    seed = resolve_rng(rng, bits=32)
    step = progress or (lambda _m: None)
    scheme = scheme or SpatialScheme()
    feats = _features(features)
    labels = [scheme.group] if scheme.group else []
    frame = _checked(areas, id_column, [target, *feats], labels)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X, y = frame[feats].to_numpy(float), frame[target].to_numpy(float)
    est = make_model(model, seed)
    step("cross-validating: random K-fold and spatial folds")
    random_splits = list(KFold(scheme.n_splits, shuffle=True, random_state=seed).split(X))
    pred_random, _, random_scores = _fold_predictions(est, X, y, random_splits)
    spatial_splits, cv, groups = _spatial_splits(frame, scheme, seed)
    pred_spatial, fold, spatial_scores = _fold_predictions(est, X, y, spatial_splits)
    scores = pd.concat(
        [random_scores.assign(scheme="random"), spatial_scores.assign(scheme="spatial")],
        ignore_index=True,
    )[["scheme", "fold", "n_train", "n_test", "r2", "rmse"]]
    description = scheme.describe()
    params = {
        "command": "dongne learn cv",
        "id_column": id_column,
        "target": target,
        "features": feats,
        "spatial_scheme": description,
        "group": scheme.group,
        "block_m": _metres(scheme.block, "block"),
        "kmeans_blocks": scheme.kmeans,
        "buffer_m": _metres(scheme.buffer, "buffer"),
        "n_splits": scheme.n_splits,
        "model": model,
        "model_spec": repr(est),
        "seed": seed,
        "n_areas": len(frame),
    }
    comparisons = {
        metric: CVComparison(
            scores=scores.rename(columns={metric: "score"})[
                ["scheme", "fold", "score", "n_train", "n_test"]
            ],
            scoring=metric,
            spatial_cv=description,
            provenance={**params, "dongne_version": __version__},
        )
        for metric in ("r2", "rmse")
    }
    r2, rmse = comparisons["r2"], comparisons["rmse"]
    result = LearnOutputs(results={"r2": r2, "rmse": rmse})
    table = _cv_table(scores, r2, rmse, f"random {scheme.n_splits}-fold", description)
    per_area = pd.DataFrame({id_column: frame[id_column].astype(str)})
    if scheme.group:
        per_area[scheme.group] = frame[scheme.group].to_numpy()
    if isinstance(getattr(cv, "cv", cv), SpatialBlockCV):
        per_area["block"] = getattr(cv, "cv", cv).block_ids()
    per_area["spatial_fold"] = fold
    per_area[target] = y
    per_area["prediction_random_cv"] = pred_random
    per_area["prediction_spatial_cv"] = pred_spatial
    per_area["error_spatial_cv"] = pred_spatial - y
    per_area.attrs = frame.attrs
    for name, data in (
        ("cv_scores", scores),
        ("cv_comparison", table),
        ("cv_areas", per_area),
    ):
        data.attrs = frame.attrs
        result.files[name] = write_table(data, out / f"{prefix}{name}.csv", **params)
    if isinstance(cv, BufferedCV):
        result.files["cv_buffer"] = write_table(
            cv.fold_table(X, y, groups), out / f"{prefix}cv_buffer.csv", **params
        )
    result.frame = per_area

    step("drawing cross-validation maps and charts")
    result.files["cv_scores_png"] = _save(r2.plot().figure, out / f"{prefix}cv_scores.png")
    outline = boundaries if boundaries is not None else _outlines(frame, scheme.group)
    mapped = frame[[id_column, frame.geometry.name]].copy()
    mapped["fold"] = [f"fold {k + 1}" for k in fold]
    mapped["error"] = pred_spatial - y
    result.files.update(
        _cv_maps(
            mapped, target, len(spatial_splits), outline, out, prefix,
            f"Model: {model}; folds: {description}; seed {seed}.", description,
        )
    )  # fmt: skip

    gap_rmse = rmse.spatial_mean - rmse.random_mean
    english = [
        f"Spatial cross-validation of {model} predicting {target} from {len(feats)} features "
        f"over {len(frame)} areas.",
        r2.summary("en"),
        f"RMSE: random {rmse.random_mean:.3g}, spatial {rmse.spatial_mean:.3g} "
        f"({gap_rmse:+.3g}; spread of {target}: sd {float(np.std(y, ddof=1)):.3g}). The map "
        "cv_error_map.png shows where the model errs on places it has not seen.",
    ]
    korean = [
        f"{model} 모형으로 {len(frame)}개 지역의 {target}를 {len(feats)}개 변수로 예측한 공간 "
        "교차검증 결과입니다.",
        r2.summary("ko"),
        f"RMSE: 무작위 {rmse.random_mean:.3g}, 공간 {rmse.spatial_mean:.3g} ({gap_rmse:+.3g}; "
        f"{target}의 표준편차 {float(np.std(y, ddof=1)):.3g}). 처음 보는 지역에서 모형이 "
        "틀리는 곳은 cv_error_map.png 지도에 있습니다.",
    ]
    result.summary = _write_summary(out / f"{prefix}cv_summary.txt", english, korean)
    result.files["cv_summary"] = out / f"{prefix}cv_summary.txt"
    return result


# --------------------------------------------------------------------------------------------
# shift


def _shift_error(
    diag: Any,
    est: Any,
    model: str,
    X: pd.DataFrame,
    y: pd.Series,
    rows_of: tuple[np.ndarray, np.ndarray],
) -> tuple[pd.DataFrame, tuple[str, str]]:
    """``shift_error.csv`` and its (English, Korean) sentence on the target error.

    The importance-weighted estimate is set against the error observed in the target by the
    model fitted on every source area.
    """
    src, tgt = rows_of
    # the rows are selected before the conversion to arrays (as since 0.1): the same memory
    # layout, so the same BLAS rounding to the last digit
    fitted = clone(est).fit(X[src].to_numpy(float), y[src].to_numpy(float))
    observed = float(
        np.sqrt(np.mean((fitted.predict(X[tgt].to_numpy(float)) - y[tgt].to_numpy(float)) ** 2))
    )
    table = pd.DataFrame(
        [
            {"quantity": "source_cv_rmse", "value": diag.source_error_},
            {
                "quantity": "target_rmse_importance_weighted_estimate",
                "value": diag.target_error_iw_,
            },
            {"quantity": "target_rmse_observed", "value": observed},
        ]
    )
    text = (
        f"Check against the known target outcome: the {model} model fitted on all source "
        f"areas reaches RMSE {observed:.3g} in the target (importance-weighted estimate "
        f"{diag.target_error_iw_:.3g}, source CV {diag.source_error_:.3g}).",
        f"대상 지역의 실제 결과와 비교: 원천 지역 전체로 적합한 {model} 모형의 대상 "
        f"지역 RMSE는 {observed:.3g}입니다(중요도 가중 추정 {diag.target_error_iw_:.3g}, "
        f"원천 교차검증 {diag.source_error_:.3g}).",
    )
    return table, text


@renamed(seed="rng", mmd_permutations=("permutations", _fold_mmd_permutations))
def run_learn_shift(
    areas: gpd.GeoDataFrame,
    id_column: str,
    features: Sequence[str] | str,
    out_dir: str | os.PathLike[str],
    *,
    source_rows: Any,
    target_rows: Any,
    target: str | None = None,
    model: str = "ridge",
    permutations: int | tuple[int, int] = (99, 999),
    correction: str = "fdr_bh",
    alpha: float = 0.05,
    rng: int | np.random.Generator | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    prefix: str = "",
    progress: Callable[[str], None] | None = None,
    scheduler: Any = None,
) -> LearnOutputs:
    """Shift diagnostics between the source and the target areas, with a map of the weights.

    Runs :class:`~dongne.learn.shift.ShiftDiagnostics` (domain-classifier AUC with a
    permutation p, per-feature KS with multiple-testing control and PSI, MMD, importance
    weights and their effective sample size). With ``target`` (the outcome column), also the
    cross-validated source RMSE of ``model``, its importance-weighted estimate for the target
    and — for comparison, since the target outcome is known here — the RMSE actually reached
    in the target by the model fitted on the whole source.

    Writes into ``out_dir``: ``shift_tests.csv`` (one row per test), ``shift_features.csv``
    (per feature: KS, adjusted p, PSI, means, standardised mean difference),
    ``shift_areas.csv`` (per area: domain and importance weight), ``shift_error.csv`` (with
    ``target``), ``shift_diagnostics.png``, ``shift_weights_map.png`` and
    ``shift_summary.txt`` (English and Korean).

    Parameters
    ----------
    areas : GeoDataFrame
    id_column : str
    features : list of str or comma-separated str
    out_dir : path-like
    source_rows, target_rows : boolean array-like
        Which areas are the source (training) and the target (deployment) region; see
        :func:`domain_masks`. Areas in neither are ignored.
    target : str, optional
        Outcome column of the source (and target) areas.
    model : {"ridge", "lightgbm", "rf"}
    permutations : int or (int, int), default (99, 999)
        Permutations of the domain-classifier test (each refits the classifier 5 times) and of
        the MMD test; one int sets the first and keeps 999 for MMD (as
        :class:`~dongne.learn.shift.ShiftDiagnostics`). ``mmd_permutations=`` is the old spelling
        of the second number (until 0.3).
    correction : {"fdr_bh", "fdr_by", "bonferroni", "none"}
    alpha : float
    rng : int, numpy.random.Generator or None, default None
        Seed of the permutations and the model;
        None means seed 0; a Generator is drawn from once (a seed below 2**32).
    boundaries : GeoDataFrame, optional
        Outlines drawn on the map.
    prefix : str
    progress : callable, optional
        Called before each step (2 steps).
    scheduler : None or "threads"
        Passed to the estimator, which runs its permutations in this process and refuses any
        other scheduler with a :class:`~dongne.errors.SpecificationError`.
    """
    from dongne.learn.shift import ShiftDiagnostics

    seed = resolve_rng(rng, bits=32)
    step = progress or (lambda _m: None)
    feats = _features(features)
    frame = _checked(areas, id_column, [*feats, *([target] if target else [])])
    src = np.asarray(source_rows, dtype=bool)
    tgt = np.asarray(target_rows, dtype=bool)
    if len(src) != len(frame) or len(tgt) != len(frame):
        raise DataError(
            f"source_rows/target_rows have {len(src)}/{len(tgt)} values for {len(frame)} areas."
        )
    if (src & tgt).any():
        raise DataError(
            f"Areas {format_rows(frame.loc[src & tgt, id_column])} are in both the source and "
            "the target. Fix: make the two selections disjoint."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X = frame[feats]
    est = make_model(model, seed) if target else None
    step("shift diagnostics: domain classifier, KS/PSI, MMD, importance weights")
    diag = ShiftDiagnostics(
        permutations=permutations,
        correction=correction,
        alpha=alpha,
        rng=seed,
        scheduler=scheduler,
    ).fit(
        X[src],
        X[tgt],
        estimator=est,
        y_source=frame.loc[src, target].to_numpy(float) if target else None,
    )
    result = LearnOutputs(results={"shift": diag})
    params = {
        "command": "dongne learn shift",
        "id_column": id_column,
        "features": feats,
        "target": target,
        "model": model if target else None,
        "n_source": int(src.sum()),
        "n_target": int(tgt.sum()),
        **{k: v for k, v in diag.provenance_.items() if k != "dongne_version"},
    }
    per_area = pd.DataFrame(
        {
            id_column: frame[id_column].astype(str),
            "domain": np.where(src, "source", np.where(tgt, "target", "neither")),
            "importance_weight": np.nan,
        }
    )
    per_area.loc[src, "importance_weight"] = diag.weights_
    error_text: tuple[str, str] | None = None
    tables = {
        "shift_tests": diag.to_frame(),
        "shift_features": diag.features_,
        "shift_areas": per_area,
    }
    if target:
        tables["shift_error"], error_text = _shift_error(
            diag, est, model, X, frame[target], (src, tgt)
        )
    for name, data in tables.items():
        data.attrs = frame.attrs
        result.files[name] = write_table(data, out / f"{prefix}{name}.csv", **params)
    result.frame = per_area

    step("drawing shift charts and the importance-weight map")
    from dongne.report.maps import choropleth

    result.files["shift_png"] = _save(diag.plot(), out / f"{prefix}shift_diagnostics.png")
    mapped = frame[[id_column, frame.geometry.name]].copy()
    mapped["weight"] = per_area["importance_weight"].to_numpy()
    result.files["shift_weights_map"] = choropleth(
        mapped,
        "weight",
        title="Importance weights of the source areas (target-likeness)\n원천 지역의 중요도 가중치",
        legend_title="weight (mean 1) / 가중치",
        path=out / f"{prefix}shift_weights_map.png",
        scheme="quantiles",
        k=5,
        cmap="Purples",
        missing_label="target or unused / 대상·미사용 지역",
        boundaries=boundaries,
        note=f"Domain-classifier AUC {diag.auc_:.3f}; effective sample size "
        f"{diag.ess_:.1f} of {diag.n_source_}.",
        dpi=100,
    ).path
    english = [diag.summary("en")] + ([error_text[0]] if error_text else [])
    korean = [diag.summary("ko")] + ([error_text[1]] if error_text else [])
    result.summary = _write_summary(out / f"{prefix}shift_summary.txt", english, korean)
    result.files["shift_summary"] = out / f"{prefix}shift_summary.txt"
    return result


# --------------------------------------------------------------------------------------------
# audit


def _partition_items(partitions: Sequence[Any] | str) -> list[Any]:
    items = partitions.split(",") if isinstance(partitions, str) else list(partitions)
    parsed: list[Any] = []
    for item in items:
        if isinstance(item, str):
            item = item.strip()
            rows, _, cols = item.partition("x")
            if rows.isdigit() and cols.isdigit():
                item = (int(rows), int(cols))
        if item != "":
            parsed.append(item)
    return parsed


def _file_part(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


@renamed(seed="rng")
def run_learn_audit(
    areas: gpd.GeoDataFrame,
    id_column: str,
    target: str,
    out_dir: str | os.PathLike[str],
    *,
    prediction: str | None = None,
    features: Sequence[str] | str | None = None,
    scheme: SpatialScheme | None = None,
    model: str = "ridge",
    metric: str = "rmse",
    partitions: Sequence[Any] | str = ("grids",),
    permutations: int = 999,
    min_cell_size: int = 10,
    rng: int | np.random.Generator | None = None,
    prefix: str = "",
    progress: Callable[[str], None] | None = None,
    scheduler: Any = None,
) -> LearnOutputs:
    """Spatial-fairness audit (SPAD, Xie et al. 2022) of predictions, with maps per cell.

    The predictions are the ``prediction`` column, or — with ``features`` instead — the
    out-of-fold predictions of ``model`` under the spatial folds of ``scheme`` (every area is
    predicted by a model that did not see it). :func:`dongne.learn.fairness.
    spatial_fairness_audit` then compares the metric in every cell of every partitioning
    (``"grids"``: the 24 regular grids up to 5 × 5; ``"RxC"``: one grid; a column name: its
    groups, e.g. gu) with the overall metric, and tests the disparity by permutation.

    Writes into ``out_dir``: ``audit_cells.csv`` (one row per cell), ``audit_partitions.csv``
    (loss, chance level and p per partitioning), ``audit_predictions.csv`` (per area:
    observed and predicted), ``audit_scores.png``, ``audit_map_<partition>.png`` (the
    partitioning whose disparity most exceeds chance, and every group partitioning) and
    ``audit_summary.txt`` (English and Korean).

    Parameters
    ----------
    areas : GeoDataFrame
    id_column, target : str
    out_dir : path-like
    prediction : str, optional
        Column with the predictions to audit.
    features : list of str or comma-separated str, optional
        Instead of ``prediction``: predict out of fold with ``model`` and ``scheme``.
    scheme : SpatialScheme, optional
    model : {"ridge", "lightgbm", "rf"}
    metric : {"rmse", "mae", "r2"}
    partitions : list or comma-separated str
        ``"grids"``, ``"RxC"`` grids and group columns, e.g. ``"grids,gu_name"``.
    permutations : int
        Permutations of the test (0 skips it).
    min_cell_size : int
        Cells with fewer areas are reported but left out of the losses.
    rng : int, numpy.random.Generator or None, default None
        Seed of the permutations and the random spatial folds;
        None means seed 0; a Generator is drawn from once (a seed below 2**32).
    prefix : str
    progress : callable, optional
        Called before each step (2 steps, 3 with out-of-fold predictions).
    scheduler : None or "threads"
        Passed to the estimator, which runs its permutations in this process and refuses any
        other scheduler with a :class:`~dongne.errors.SpecificationError`.
    """
    from dongne.learn.fairness import spatial_fairness_audit

    seed = resolve_rng(rng, bits=32)
    step = progress or (lambda _m: None)
    if (prediction is None) == (features is None):
        raise SpecificationError(
            "Give either the column of predictions to audit (prediction=, --prediction) or the "
            "features to predict it from out of fold (features=, --features), not both."
        )
    items = _partition_items(partitions)
    columns = [i for i in items if isinstance(i, str) and i != "grids"]
    feats = _features(features) if features is not None else []
    scheme = scheme or SpatialScheme()
    labels = [*columns, *([scheme.group] if scheme.group and feats else [])]
    numeric = [target, *([prediction] if prediction else feats)]
    frame = _checked(areas, id_column, numeric, labels)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    y = frame[target].to_numpy(float)
    params: dict[str, Any] = {
        "command": "dongne learn audit",
        "id_column": id_column,
        "target": target,
        "metric": metric,
        "partitions": [i if isinstance(i, str) else f"{i[0]}x{i[1]}" for i in items],
        "permutations": permutations,
        "min_cell_size": min_cell_size,
        "seed": seed,
    }
    if prediction is not None:
        pred = frame[prediction].to_numpy(float)
        params["prediction"] = prediction
    else:
        step("out-of-fold predictions under spatial folds")
        est = make_model(model, seed)
        splits, _, _ = _spatial_splits(frame, scheme, seed)
        pred, _, _ = _fold_predictions(est, frame[feats].to_numpy(float), y, splits)
        params.update(
            prediction="out-of-fold", features=feats, model=model, spatial_scheme=scheme.describe()
        )
    step("spatial fairness audit: SPAD over partitionings, permutation test")
    metric_areas = to_metric(frame, "the areas")
    audit = spatial_fairness_audit(
        y,
        pred,
        areas=metric_areas,
        partitions=items,
        metric=metric,
        min_cell_size=min_cell_size,
        permutations=permutations,
        rng=seed,
        scheduler=scheduler,
    )
    result = LearnOutputs(results={"audit": audit})
    per_area = pd.DataFrame(
        {id_column: frame[id_column].astype(str), target: y, "prediction": pred}
    )
    for name, data in (
        ("audit_cells", audit.to_frame()),
        ("audit_partitions", audit.partitions),
        ("audit_predictions", per_area),
    ):
        data = data.copy()
        data.attrs = frame.attrs
        result.files[name] = write_table(
            data, out / f"{prefix}{name}.csv", **params, spad=audit.spad, p_value=audit.p_value
        )
    result.frame = per_area
    step("drawing fairness maps")
    audit.plot_scores(path=out / f"{prefix}audit_scores.png")
    result.files["audit_scores_png"] = out / f"{prefix}audit_scores.png"
    import matplotlib.pyplot as plt

    for name in dict.fromkeys([audit.headline_partition(), *columns]):
        path = out / f"{prefix}audit_map_{_file_part(name)}.png"
        plt.close(audit.plot(name, path=path))
        result.files[f"audit_map_{name}"] = path
    result.summary = _write_summary(
        out / f"{prefix}audit_summary.txt", [audit.summary("en")], [audit.summary("ko")]
    )
    result.files["audit_summary"] = out / f"{prefix}audit_summary.txt"
    return result


# --------------------------------------------------------------------------------------------
# regret


def _fit_method(
    method: str,
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    groups: Any,
    X_target: np.ndarray,
    seed: int,
) -> Any:
    from dongne.learn.robust import GroupDRO, GroupReweighted, ImportanceWeighted

    if method == "naive":
        return clone(model).fit(X, y)
    if method == "importance_weighted":
        return ImportanceWeighted(clone(model), rng=seed).fit(X, y, X_target=X_target)
    if groups is None:
        raise SpecificationError(
            f"Method {method!r} needs groups (e.g. the gu of every area). Fix: pass group= "
            "(--group gu_name), or use methods naive and importance_weighted."
        )
    if method == "group_reweighted":
        return GroupReweighted(clone(model)).fit(X, y, groups)
    return GroupDRO(clone(model)).fit(X, y, groups)


def _regret_model_rows(
    fitted: dict[str, Any],
    predicted: dict[str, np.ndarray],
    data: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    rows_of: tuple[np.ndarray, np.ndarray],
    by_solution: pd.DataFrame,
) -> list[dict[str, Any]]:
    """``regret_models.csv``: per method, target/source errors, worst group and regret.

    ``data`` is (X, y, groups) of every area, ``rows_of`` the (source, target) masks and
    ``by_solution`` the regret results indexed by solution name.
    """
    from dongne.learn.robust import group_report

    X, y, groups = data
    src, tgt = rows_of
    rows = []
    for m, model_fit in fitted.items():
        label = REGRET_METHODS[m]
        resid = predicted[m] - y[tgt]
        sst = float(((y[tgt] - y[tgt].mean()) ** 2).sum())
        row: dict[str, Any] = {
            "method": label,
            "target_rmse": float(np.sqrt(np.mean(resid**2))),
            "target_r2": 1.0 - float((resid**2).sum()) / sst if sst > 0 else np.nan,
            "source_rmse": float(np.sqrt(np.mean((model_fit.predict(X[src]) - y[src]) ** 2))),
        }
        if groups is not None:
            rep = group_report(model_fit, X[tgt], y[tgt], groups[tgt])
            row.update(worst_group=rep.worst_group, worst_group_rmse=rep.worst)
        row.update(
            regret=float(by_solution.loc[label, "regret"]),
            relative_regret=float(by_solution.loc[label, "relative_regret"]),
            effective_sample_size=float(getattr(model_fit, "ess_", np.nan)),
        )
        rows.append(row)
    return rows


def _regret_summary(
    regret: Any, rows: list[dict[str, Any]], model: str, grouped: bool
) -> tuple[list[str], list[str]]:
    """(English, Korean) paragraphs of ``regret_summary.txt``: the regret, one line per model."""
    english, korean = [regret.summary("en")], [regret.summary("ko")]
    for row in rows:
        worst = (
            f"; worst group {row['worst_group']} RMSE {row['worst_group_rmse']:.3g}"
            if grouped
            else ""
        )
        worst_ko = (
            f", 최악 집단 {row['worst_group']} RMSE {row['worst_group_rmse']:.3g}"
            if grouped
            else ""
        )
        english.append(
            f"{row['method']} ({model}): target RMSE {row['target_rmse']:.3g} (R² "
            f"{row['target_r2']:.3f}){worst}; training (source) RMSE {row['source_rmse']:.3g}."
        )
        korean.append(
            f"{row['method']} ({model}) 모형: 대상 지역 RMSE {row['target_rmse']:.3g} (R² "
            f"{row['target_r2']:.3f}){worst_ko}, 학습(원천) 지역 RMSE {row['source_rmse']:.3g}."
        )
    return [english[0], "\n".join(english[1:])], [korean[0], "\n".join(korean[1:])]


def _add_regret_columns(
    per_area: pd.DataFrame,
    methods: Sequence[str],
    predicted: dict[str, np.ndarray],
    needs: dict[str, np.ndarray],
    covered: dict[str, Any],
) -> None:
    """Per method its prediction and need, per solution the areas it covers, as columns."""
    for m in methods:
        per_area[f"prediction_{m}"] = predicted[m]
        per_area[f"need_{m}"] = needs[REGRET_METHODS[m]]
    for name, cover in covered.items():
        per_area[f"covered_{_file_part(name)}"] = cover


@renamed(seed="rng")
def run_learn_regret(
    areas: gpd.GeoDataFrame,
    id_column: str,
    target: str,
    features: Sequence[str] | str,
    out_dir: str | os.PathLike[str],
    *,
    source_rows: Any,
    target_rows: Any,
    p: int,
    radius: float | str,
    exposure: str | None = None,
    group: str | None = None,
    methods: Sequence[str] = ("naive", "group_dro"),
    model: str = "ridge",
    rng: int | np.random.Generator | None = None,
    time_limit: float | None = None,
    prefix: str = "",
    progress: Callable[[str], None] | None = None,
) -> LearnOutputs:
    """Allocation regret under shift: site ``p`` facilities on predicted vs true need.

    Every method of ``methods`` (``naive``, ``importance_weighted``, ``group_reweighted``,
    ``group_dro``; see :mod:`dongne.learn.robust`) fits ``model`` on the source areas and
    predicts the target areas. Need = max(value, 0) × ``exposure`` (1 without it). The
    maximal covering model (exact, HiGHS) then chooses ``p`` sites among the target areas'
    centroids within ``radius`` of the demand centroids, once with the true need and once per
    method with its predicted need, and every choice is scored on the true need
    (:class:`~dongne.learn.regret.AllocationRegret`). Next to the regret, each method's RMSE
    in the target and in its worst group are reported.

    Writes into ``out_dir``: ``regret_results.csv`` (one row per solution),
    ``regret_models.csv`` (per method: target RMSE and R², worst group, regret),
    ``regret_sites.csv`` (site ids per solution), ``regret_areas.csv`` (per target area:
    true and predicted need, covered or not per solution), ``regret_map.png`` and
    ``regret_summary.txt`` (English and Korean).

    Parameters
    ----------
    areas : GeoDataFrame
    id_column, target : str
    features : list of str or comma-separated str
    out_dir : path-like
    source_rows, target_rows : boolean array-like
        Training and deployment areas (see :func:`domain_masks`).
    p : int
        Number of new sites.
    radius : float or str
        Service radius, metres or ``"1km"``.
    exposure : str, optional
        Column turning the target into a need count (e.g. households / 100 for a % share).
    group : str, optional
        Group column (e.g. gu) for group DRO, group reweighting and the worst-group RMSE.
    methods : sequence of str
    model : {"ridge", "lightgbm", "rf"}
    rng : int, numpy.random.Generator or None, default None
        Seed of the models and the reweighting;
        None means seed 0; a Generator is drawn from once (a seed below 2**32).
    time_limit : float, optional
        Seconds per MCLP solve.
    prefix : str
    progress : callable, optional
        Called before each step (3 steps).
    """
    from dongne.allocate.problem import LocationProblem, demand_points
    from dongne.learn.regret import AllocationRegret

    seed = resolve_rng(rng, bits=32)
    step = progress or (lambda _m: None)
    unknown = [m for m in methods if m not in REGRET_METHODS]
    if unknown or not methods:
        raise SpecificationError(
            f"The 'methods' parameter accepts {', '.join(REGRET_METHODS)}. Got {list(methods)!r}."
        )
    feats = _features(features)
    numeric = [target, *feats, *([exposure] if exposure else [])]
    frame = _checked(areas, id_column, numeric, [group] if group else [])
    src = np.asarray(source_rows, dtype=bool)
    tgt = np.asarray(target_rows, dtype=bool) & ~src
    if len(src) != len(frame) or not src.any() or not tgt.any():
        raise DataError(
            f"The source ({int(src.sum())} areas) and the target ({int(tgt.sum())} areas) must "
            f"both be non-empty selections of the {len(frame)} areas."
        )
    ids = frame[id_column].astype(str)
    negative = tgt & (frame[target].to_numpy(float) < 0)
    if negative.any():
        raise DataError(
            f"{target!r} is negative for target areas {format_rows(ids[negative])}; need must "
            "be >= 0. Fix: use a count or a share as the target."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X, y = frame[feats].to_numpy(float), frame[target].to_numpy(float)
    scale = frame[exposure].to_numpy(float) if exposure else np.ones(len(frame))
    groups = frame[group].astype(str).to_numpy() if group else None
    est = make_model(model, seed)

    step(f"fitting {', '.join(REGRET_METHODS[m] for m in methods)} on the source areas")
    fitted = {
        m: _fit_method(
            m, est, X[src], y[src], None if groups is None else groups[src], X[tgt], seed
        )
        for m in methods
    }
    predicted = {m: np.asarray(f.predict(X[tgt]), dtype=float) for m, f in fitted.items()}
    needs = {REGRET_METHODS[m]: np.clip(v, 0.0, None) * scale[tgt] for m, v in predicted.items()}
    truth = np.clip(y[tgt], 0.0, None) * scale[tgt]

    step(f"siting {p} facilities on true and predicted need (MCLP)")
    target_areas = frame[tgt].reset_index(drop=True)
    points = demand_points(target_areas)
    problem = LocationProblem.from_geodataframes(
        points, points, demand_id=id_column, candidate_id=id_column
    )
    regret = AllocationRegret(p, radius, method="exact", time_limit=time_limit).fit(
        problem, truth, needs, areas=target_areas
    )
    result = LearnOutputs(results={"regret": regret, "models": fitted})
    rows = _regret_model_rows(
        fitted, predicted, (X, y, groups), (src, tgt), regret.results_.set_index("solution")
    )
    models_table = pd.DataFrame(rows)
    sites = pd.DataFrame(
        [
            {"solution": name, "order": k + 1, "site_id": str(site)}
            for name, chosen in regret.sites_.items()
            for k, site in enumerate(chosen)
        ]
    )
    per_area = pd.DataFrame({id_column: ids[tgt].to_numpy()})
    if group:
        per_area[group] = frame.loc[tgt, group].to_numpy()
    per_area[target] = y[tgt]
    per_area["true_need"] = truth
    _add_regret_columns(per_area, methods, predicted, needs, regret.covered_)
    params = {
        "command": "dongne learn regret",
        "id_column": id_column,
        "target": target,
        "features": feats,
        "exposure": exposure,
        "group": group,
        "methods": list(methods),
        "model": model,
        "model_spec": repr(est),
        "seed": seed,
        "n_source": int(src.sum()),
        "n_target": int(tgt.sum()),
        **{k: v for k, v in regret.provenance_.items() if k != "dongne_version"},
    }
    for name, data in (
        ("regret_results", regret.to_frame()),
        ("regret_models", models_table),
        ("regret_sites", sites),
        ("regret_areas", per_area),
    ):
        data.attrs = frame.attrs
        result.files[name] = write_table(data, out / f"{prefix}{name}.csv", **params)
    result.frame = per_area

    step("drawing the regret maps")
    result.files["regret_map"] = _save(regret.plot(), out / f"{prefix}regret_map.png")
    english, korean = _regret_summary(regret, rows, model, groups is not None)
    result.summary = _write_summary(out / f"{prefix}regret_summary.txt", english, korean)
    result.files["regret_summary"] = out / f"{prefix}regret_summary.txt"
    return result
