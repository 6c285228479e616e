"""Spatial cross-validation: group, block and buffered splitters, and the optimism gap.

Random K-fold cross-validation puts neighbouring areas in the training and the test folds at
the same time; with spatially autocorrelated data the test error then measures interpolation
between neighbours, not prediction for a new place (Roberts et al. 2017). The splitters here
hold out whole groups (gu), whole spatial blocks, or a buffer around every test sample. All
are scikit-learn compatible: ``split(X, y, groups)`` yields ``(train, test)`` index arrays and
``get_n_splits`` says how many, so they work as ``cv=`` in ``cross_val_score``.

References
----------
Roberts, D. R., Bahn, V., Ciuti, S., et al. (2017). Cross-validation strategies for data with
temporal, spatial, hierarchical, or phylogenetic structure. *Ecography* 40(8):913–929.
Valavi, R., Elith, J., Lahoz-Monfort, J. J. & Guillera-Arroita, G. (2019). blockCV: an R
package for generating spatially or environmentally separated folds for k-fold
cross-validation of species distribution models. *Methods in Ecology and Evolution*
10(2):225–232.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from sklearn.base import is_classifier
from sklearn.cluster import KMeans
from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut, LeaveOneOut, cross_validate

from dongne import __version__
from dongne._deprecate import renamed
from dongne._vocab import Lang, bilingual, provenance_alias, resolve_rng
from dongne.errors import DataError, DongneError, GeometryError, SpecificationError
from dongne.io.crs import require_crs, to_metric

__all__ = [
    "BufferedCV",
    "CVComparison",
    "LeaveGroupOut",
    "SpatialBlockCV",
    "balanced_folds",
    "coordinates",
    "cv_compare",
]


def coordinates(data: Any) -> np.ndarray:
    """Planar coordinates in metres, shape (n, 2), of areas, points or an array.

    Parameters
    ----------
    data : GeoDataFrame, GeoSeries or array-like of shape (n, 2)
        Geometries with a CRS (reprojected with :func:`dongne.io.crs.to_metric` — EPSG:5179 in
        Korea — and reduced to their centroids there, one location per row), or coordinates
        already in metres.

    Raises
    ------
    GeometryError
        No CRS, empty geometries, or an array that looks like longitude/latitude degrees
        (every x in [-180, 180], every y in [-90, 90] and an extent under 20 units).
    DataError
        Not an (n, 2) array of finite numbers.

    Examples
    --------
    >>> coordinates([[0.0, 0.0], [1500.0, 250.0]]).tolist()
    [[0.0, 0.0], [1500.0, 250.0]]
    """
    if isinstance(data, gpd.GeoSeries):
        data = gpd.GeoDataFrame(geometry=data)
    if isinstance(data, gpd.GeoDataFrame):
        require_crs(data, "the areas")
        empty = data.geometry.isna() | data.geometry.is_empty
        if empty.any():
            raise GeometryError(
                f"{int(empty.sum())} rows have missing or empty geometries (first: "
                f"{data.index[empty][0]!r}). Fix: drop or repair them before cross-validation."
            )
        metric = to_metric(data, "the areas")
        return metric.geometry.centroid.get_coordinates().to_numpy(dtype=float)
    xy = np.asarray(data, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise DataError(
            f"Coordinates must have shape (n, 2) (x, y in metres); got shape {xy.shape}. Fix: "
            "pass a GeoDataFrame or an array with two columns."
        )
    if not np.isfinite(xy).all():
        raise DataError(
            "Coordinates contain NaN or infinite values in rows "
            f"{np.flatnonzero(~np.isfinite(xy).all(axis=1))[:10].tolist()}. Fix: remove them."
        )
    span = np.ptp(xy, axis=0).max() if len(xy) else 0.0
    if len(xy) and np.abs(xy[:, 0]).max() <= 180 and np.abs(xy[:, 1]).max() <= 90 and span < 20:
        raise GeometryError(
            "The coordinates look like longitude/latitude degrees (all within ±180/±90 and "
            f"spanning {span:.3g} units), but spatial cross-validation needs metres. Fix: pass "
            "the GeoDataFrame itself (it is reprojected to EPSG:5179), or reproject with "
            "gdf.to_crs(dongne.io.metric_crs(gdf)) first."
        )
    return xy


def balanced_folds(sizes: Any, n_splits: int) -> np.ndarray:
    """Assign blocks to folds so that fold sizes are balanced, deterministically.

    Blocks are taken from the largest to the smallest (ties: higher block index first) and each
    is put into the fold with the fewest samples so far (ties: lower fold index) — the rule of
    scikit-learn's ``GroupKFold`` without shuffling.

    Parameters
    ----------
    sizes : array-like of int
        Number of samples in each block.
    n_splits : int
        Number of folds.

    Returns
    -------
    ndarray of int
        Fold (0 … n_splits − 1) of each block.

    Examples
    --------
    >>> balanced_folds([5, 1, 3, 3], 2).tolist()
    [0, 0, 1, 1]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    order = np.argsort(sizes, kind="stable")[::-1]
    load = np.zeros(n_splits, dtype=np.int64)
    fold = np.empty(len(sizes), dtype=np.int64)
    for b in order:
        f = int(np.argmin(load))
        fold[b] = f
        load[f] += sizes[b]
    return fold


def _check_n_splits(n_splits: Any, n_units: int, what: str) -> int:
    if not isinstance(n_splits, (int, np.integer)) or isinstance(n_splits, bool) or n_splits < 2:
        raise SpecificationError(f"The 'n_splits' parameter must be an int >= 2. Got {n_splits!r}.")
    if n_splits > n_units:
        raise SpecificationError(
            f"n_splits={n_splits} folds were asked for, but there are only {n_units} {what}. "
            f"Fix: use n_splits <= {n_units} or smaller blocks."
        )
    return int(n_splits)


def _check_length(X: Any, n: int, name: str) -> None:
    if X is not None and len(X) != n:
        raise DataError(
            f"X has {len(X)} rows but {name} has {n} locations. Fix: build the splitter with "
            "the coordinates of the same rows, in the same order."
        )


def _group_labels(groups: Any, n: int | None = None) -> np.ndarray:
    if groups is None:
        raise SpecificationError(
            "This splitter needs groups (e.g. the gu of every row). Fix: pass groups=... to "
            "split() or to cross_val_score(..., groups=...)."
        )
    g = pd.Series(np.asarray(groups, dtype=object).ravel())
    if n is not None and len(g) != n:
        raise DataError(f"groups has {len(g)} values for {n} rows of X.")
    if g.isna().any():
        raise DataError(
            f"groups is missing in rows {np.flatnonzero(g.isna().to_numpy())[:10].tolist()}. "
            "Fix: give every row a group."
        )
    return g.astype(str).to_numpy()


class LeaveGroupOut:
    """Hold out whole groups (gu, 행정동, regions): leave-one-group-out or grouped K-fold.

    ``n_splits=None`` gives one fold per group (scikit-learn ``LeaveOneGroupOut``); an int gives
    that many folds of whole groups, balanced by size (``GroupKFold``). The groups come from
    ``split(X, y, groups)`` as in scikit-learn, or from ``groups`` given here.

    Parameters
    ----------
    n_splits : int, optional
        Number of folds; ``None``: one per group.
    groups : array-like, optional
        Group of every row, used when ``split`` receives none.

    Examples
    --------
    >>> import numpy as np
    >>> cv = LeaveGroupOut()
    >>> [test.tolist() for _, test in cv.split(np.zeros((4, 1)), groups=["a", "b", "a", "c"])]
    [[0, 2], [1], [3]]
    """

    def __init__(self, n_splits: int | None = None, *, groups: Any = None) -> None:
        self.n_splits = n_splits
        self.groups = groups

    def _labels(self, X: Any, groups: Any) -> np.ndarray:
        g = groups if groups is not None else self.groups
        return _group_labels(g, None if X is None else len(X))

    def _splitter(self, labels: np.ndarray) -> LeaveOneGroupOut | GroupKFold:
        n_groups = len(np.unique(labels))
        if self.n_splits is None:
            if n_groups < 2:
                raise SpecificationError(
                    f"Leave-one-group-out needs at least 2 groups; got {n_groups}."
                )
            return LeaveOneGroupOut()
        return GroupKFold(n_splits=_check_n_splits(self.n_splits, n_groups, "groups"))

    def split(
        self, X: Any = None, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` row positions, one pair per fold."""
        labels = self._labels(X, groups)
        yield from self._splitter(labels).split(np.zeros(len(labels)), None, labels)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of folds."""
        if self.n_splits is not None:
            return int(self.n_splits)
        return len(np.unique(self._labels(X, groups)))


class SpatialBlockCV:
    """K-fold cross-validation over spatial blocks: square grid cells or k-means clusters.

    Every location is put into a block; blocks are assigned to ``n_splits`` folds by
    :func:`balanced_folds` (largest block first into the lightest fold), so each test fold is
    a set of whole blocks. Blocks should be larger than the range of spatial autocorrelation of
    the model residuals (Roberts et al. 2017; Valavi et al. 2019 estimate it from a variogram).

    Parameters
    ----------
    coords : GeoDataFrame or array-like of shape (n, 2)
        Location of each row (see :func:`coordinates`; arrays in metres).
    n_splits : int, default 5
    size : float, optional
        Side of the square grid blocks, metres (``method="grid"``). The grid starts at the
        lower-left corner of the data.
    method : {"grid", "kmeans"}, default "grid"
        ``grid``: square cells of ``size``; ``kmeans``: ``n_blocks`` k-means clusters of the
        coordinates (scikit-learn ``KMeans``, 10 starts, ``random_state=seed``).
    n_blocks : int, optional
        Number of k-means blocks (default ``5 * n_splits``).
    rng : int, numpy.random.Generator or None, default None
        Seed of k-means; the grid is deterministic (``seed`` before 0.2).
        None means seed 0; a Generator is drawn from once (:func:`dongne._vocab.resolve_rng`).

    Notes
    -----
    :meth:`block_ids` and :meth:`fold_ids` give the block and the test fold of every row, for
    maps.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[x, y] for x in range(0, 4000, 1000) for y in range(0, 4000, 1000)])
    >>> cv = SpatialBlockCV(xy, n_splits=2, size=2000)
    >>> cv.block_ids().reshape(4, 4).tolist()[0], np.bincount(cv.fold_ids()).tolist()
    ([0, 0, 1, 1], [8, 8])
    """

    @renamed(seed="rng")
    def __init__(
        self,
        coords: Any,
        *,
        n_splits: int = 5,
        size: float | None = None,
        method: str = "grid",
        n_blocks: int | None = None,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        self.coords = coords
        self.n_splits = n_splits
        self.size = size
        self.method = method
        self.n_blocks = n_blocks
        self.rng = rng

    def block_ids(self) -> np.ndarray:
        """Block of every row (0 … n_blocks − 1, numbered by first appearance in the grid)."""
        xy = coordinates(self.coords)
        if self.method == "grid":
            if self.size is None or not np.isscalar(self.size) or not self.size > 0:
                raise SpecificationError(
                    f"method='grid' needs a positive block size in metres; got size={self.size!r}."
                    " Fix: e.g. size=2000 (2 km blocks)."
                )
            cell = np.floor((xy - xy.min(axis=0)) / float(self.size)).astype(np.int64)
            _, ids = np.unique(cell, axis=0, return_inverse=True)
            return ids.ravel()
        if self.method == "kmeans":
            k = 5 * int(self.n_splits) if self.n_blocks is None else int(self.n_blocks)
            if not 2 <= k <= len(np.unique(xy, axis=0)):
                raise SpecificationError(
                    f"n_blocks={k} k-means blocks need between 2 and the number of distinct "
                    f"locations ({len(np.unique(xy, axis=0))}). Fix: lower n_blocks."
                )
            seed = resolve_rng(self.rng, bits=32)
            km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(xy)
            return km.labels_.astype(np.int64)
        raise SpecificationError(
            f"The 'method' parameter must be 'grid' or 'kmeans'. Got {self.method!r} instead."
        )

    def fold_ids(self) -> np.ndarray:
        """Test fold of every row."""
        blocks = self.block_ids()
        sizes = np.bincount(blocks)
        n_blocks = int((sizes > 0).sum())
        n_splits = _check_n_splits(self.n_splits, n_blocks, "non-empty blocks")
        return balanced_folds(sizes, n_splits)[blocks]

    def split(
        self, X: Any = None, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` row positions, one pair per fold."""
        folds = self.fold_ids()
        _check_length(X, len(folds), "coords")
        for f in range(int(self.n_splits)):
            yield np.flatnonzero(folds != f), np.flatnonzero(folds == f)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of folds."""
        return int(self.n_splits)


class BufferedCV:
    """Buffered cross-validation: drop training rows within ``buffer`` metres of the test rows.

    For each fold of ``cv`` (default leave-one-out: spatial leave-one-out, the "buffered
    LOO" of Roberts et al. 2017 and blockCV's ``cv_buffer``), every training row closer than
    ``buffer`` metres (inclusive) to any test row is removed, so that the model cannot learn a
    test location from its neighbours. :meth:`fold_table` lists how many were removed per fold.

    Parameters
    ----------
    coords : GeoDataFrame or array-like of shape (n, 2)
        Location of each row (see :func:`coordinates`).
    buffer : float
        Exclusion distance, metres (≥ 0).
    cv : splitter, optional
        Any scikit-learn splitter (``LeaveGroupOut``, ``SpatialBlockCV``, ``KFold``, ...);
        default ``LeaveOneOut()``. ``groups`` passed to :meth:`split` are forwarded to it.

    Raises
    ------
    DataError
        From :meth:`split`, when the buffer leaves a fold without training rows.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[0.0, 0], [100, 0], [1000, 0], [5000, 0]])
    >>> cv = BufferedCV(xy, buffer=500)
    >>> cv.fold_table()["n_excluded"].tolist()
    [1, 1, 0, 0]
    """

    def __init__(self, coords: Any, buffer: float, *, cv: Any = None) -> None:
        self.coords = coords
        self.buffer = buffer
        self.cv = cv

    def _base(self) -> Any:
        return LeaveOneOut() if self.cv is None else self.cv

    def _folds(self, X: Any, y: Any, groups: Any) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        if not (np.isscalar(self.buffer) and float(self.buffer) >= 0):
            raise SpecificationError(
                f"The 'buffer' parameter must be a distance >= 0 in metres. Got {self.buffer!r}."
            )
        xy = coordinates(self.coords)
        _check_length(X, len(xy), "coords")
        tree = cKDTree(xy)
        rows = np.zeros(len(xy)) if X is None else X
        for k, (train, test) in enumerate(self._base().split(rows, y, groups)):
            near = tree.query_ball_point(xy[test], r=float(self.buffer) * (1 + 1e-12))
            close = np.zeros(len(xy), dtype=bool)
            if len(near):
                close[np.concatenate([np.asarray(n, dtype=np.int64) for n in near])] = True
            keep = train[~close[train]]
            if not len(keep):
                raise DataError(
                    f"Fold {k}: every training row lies within buffer={self.buffer:g} m of the "
                    f"{len(test)} test rows, so nothing is left to train on. Fix: use a smaller "
                    "buffer or smaller test folds."
                )
            yield keep, test, len(train) - len(keep)

    def split(
        self, X: Any = None, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` row positions with the buffer removed from ``train``."""
        for train, test, _ in self._folds(X, y, groups):
            yield train, test

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of folds of the underlying splitter."""
        base = self._base()
        if X is None and isinstance(base, LeaveOneOut):
            return len(coordinates(self.coords))
        return int(base.get_n_splits(X, y, groups))

    def fold_table(self, X: Any = None, y: Any = None, groups: Any = None) -> pd.DataFrame:
        """One row per fold: training rows kept, test rows and training rows excluded."""
        rows = [
            {"fold": k, "n_train": len(tr), "n_test": len(te), "n_excluded": ex}
            for k, (tr, te, ex) in enumerate(self._folds(X, y, groups))
        ]
        return pd.DataFrame(rows)


# ------------------------------------------------------------------------- the comparison
@dataclass
class CVComparison:
    """Random K-fold against spatial cross-validation scores, fold by fold.

    Attributes
    ----------
    scores : DataFrame
        One row per scheme and fold: ``scheme`` (``"random"``/``"spatial"``), ``fold``,
        ``score``, ``n_train``, ``n_test``.
    scoring : str
        The scikit-learn scorer (higher is better; ``neg_*`` scorers are negated errors).
    spatial_cv : str
        Description of the spatial splitter.
    provenance : dict
    """

    provenance_ = provenance_alias("provenance")

    scores: pd.DataFrame
    scoring: str
    spatial_cv: str
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def random_mean(self) -> float:
        """Mean random K-fold score."""
        return float(self.scores.loc[self.scores["scheme"] == "random", "score"].mean())

    @property
    def spatial_mean(self) -> float:
        """Mean spatial CV score."""
        return float(self.scores.loc[self.scores["scheme"] == "spatial", "score"].mean())

    @property
    def optimism_gap(self) -> float:
        """Random minus spatial mean score: how much random CV flatters the model."""
        return self.random_mean - self.spatial_mean

    def to_frame(self) -> pd.DataFrame:
        """Per-scheme mean, standard deviation, minimum and number of folds, and the gap."""
        out = (
            self.scores.groupby("scheme", sort=False)["score"]
            .agg(["mean", "std", "min", "count"])
            .rename(columns={"count": "folds"})
            .reset_index()
        )
        out["scoring"] = self.scoring
        out["optimism_gap"] = self.optimism_gap
        return out

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Plain-language comparison in English (``"en"``) or Korean (``"ko"``)."""
        r, s, gap = self.random_mean, self.spatial_mean, self.optimism_gap
        k_r = int((self.scores["scheme"] == "random").sum())
        k_s = int((self.scores["scheme"] == "spatial").sum())
        sd_s = float(self.scores.loc[self.scores["scheme"] == "spatial", "score"].std())
        if lang == "ko":
            verdict = (
                "무작위 교차검증이 새로운 지역에서의 성능을 과대평가합니다"
                if gap > 0
                else "무작위 교차검증의 과대평가가 보이지 않습니다"
            )
            return (
                f"{self.scoring}: 무작위 {k_r}-겹 교차검증 평균 {r:.3f}, 공간 교차검증"
                f"({self.spatial_cv}, {k_s}겹) 평균 {s:.3f} (표준편차 {sd_s:.3f}). 차이(낙관 편향) "
                f"{gap:+.3f}: {verdict}. 공간 교차검증 점수는 '처음 보는 지역'에 대한 성능이고, "
                "무작위 점수는 이웃 지역 사이의 보간 성능입니다. 가정: 공간 블록이 잔차의 공간 "
                "자기상관 범위보다 넓어야 합니다."
            )
        verdict = (
            "random CV overstates how well the model transfers to new places"
            if gap > 0
            else "no optimism of random CV is visible"
        )
        return (
            f"{self.scoring}: random {k_r}-fold CV mean {r:.3f}; spatial CV ({self.spatial_cv}, "
            f"{k_s} folds) mean {s:.3f} (sd {sd_s:.3f}). Optimism gap {gap:+.3f}: {verdict}. "
            "The spatial score estimates performance in places the model has not seen; the "
            "random score measures interpolation between neighbours. Assumption: the blocks are "
            "wider than the range of spatial autocorrelation of the residuals."
        )

    def plot(self, ax: Any = None) -> Any:
        """Fold scores of both schemes as points with their means; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        for i, scheme in enumerate(("random", "spatial")):
            v = self.scores.loc[self.scores["scheme"] == scheme, "score"].to_numpy()
            ax.scatter(np.full(len(v), i) + np.linspace(-0.1, 0.1, len(v)), v, alpha=0.6)
            ax.hlines(v.mean(), i - 0.25, i + 0.25, color="black")
        ax.set_xticks([0, 1], ["random K-fold", f"spatial\n{self.spatial_cv}"])
        ax.set_ylabel(self.scoring)
        ax.set_title(f"Optimism gap {self.optimism_gap:+.3f}")
        return ax


def _describe(cv: Any) -> str:
    if isinstance(cv, SpatialBlockCV):
        return (
            f"{cv.method} blocks of {cv.size:g} m"
            if cv.method == "grid"
            else f"{cv.n_blocks or 5 * cv.n_splits} k-means blocks"
        )
    if isinstance(cv, LeaveGroupOut):
        return "leave-one-group-out" if cv.n_splits is None else "grouped K-fold"
    if isinstance(cv, BufferedCV):
        return f"buffer {cv.buffer:g} m"
    return type(cv).__name__


@renamed(seed="rng")
def cv_compare(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    coords: Any = None,
    groups: Any = None,
    spatial_cv: Any = None,
    n_splits: int = 5,
    scoring: str | None = None,
    rng: int | np.random.Generator | None = None,
) -> CVComparison:
    """Score ``estimator`` by random K-fold and by spatial cross-validation, side by side.

    Parameters
    ----------
    estimator : scikit-learn estimator (or LightGBM's sklearn API)
    X, y : array-like
        Features and target, one row per area.
    coords : GeoDataFrame or array-like (n, 2), optional
        Locations for the default spatial splitter (k-means blocks).
    groups : array-like, optional
        Group of each row (e.g. gu); with no ``spatial_cv`` the spatial scheme is then
        grouped K-fold over them (:class:`LeaveGroupOut` ``(n_splits)``).
    spatial_cv : splitter, optional
        The spatial scheme; default as above, or ``SpatialBlockCV(coords, method="kmeans",
        n_splits=n_splits, rng=rng)`` when only ``coords`` is given.
    n_splits : int, default 5
        Folds of the random K-fold (shuffled with ``rng``) and of the default spatial scheme.
    scoring : str, optional
        scikit-learn scorer name; default ``"r2"`` for regressors, ``"accuracy"`` for
        classifiers.
    rng : int, numpy.random.Generator or None, default None
        Seed of the random K-fold and of k-means (``seed`` before 0.2).
        None means seed 0; a Generator is drawn from once (:func:`dongne._vocab.resolve_rng`).

    Returns
    -------
    CVComparison

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import KNeighborsRegressor
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 10_000, size=(300, 2))
    >>> y = np.sin(xy[:, 0] / 1500) + np.cos(xy[:, 1] / 1500) + rng.normal(scale=0.3, size=300)
    >>> res = cv_compare(KNeighborsRegressor(5), xy, y, coords=xy)
    >>> round(res.random_mean, 2), round(res.spatial_mean, 2), round(res.optimism_gap, 2)
    (0.88, 0.58, 0.3)
    """
    seed = resolve_rng(rng, bits=32)
    if spatial_cv is None:
        if groups is not None:
            spatial_cv = LeaveGroupOut(n_splits)
        elif coords is not None:
            spatial_cv = SpatialBlockCV(coords, method="kmeans", n_splits=n_splits, rng=seed)
        else:
            raise SpecificationError(
                "cv_compare needs coords=, groups= or spatial_cv= to build the spatial folds. "
                "Fix: pass the areas (coords=gdf) or their gu (groups=gdf['gu_name'])."
            )
    if scoring is None:
        scoring = "accuracy" if is_classifier(estimator) else "r2"
    random_cv = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    frames = []
    for scheme, cv in (("random", random_cv), ("spatial", spatial_cv)):
        splits = list(cv.split(X, y, groups if scheme == "spatial" else None))
        try:
            res = cross_validate(estimator, X, y, cv=splits, scoring=scoring)
        except ValueError as exc:
            raise DongneError(f"Cross-validation ({scheme}) failed: {exc}") from exc
        frames.append(
            pd.DataFrame(
                {
                    "scheme": scheme,
                    "fold": np.arange(len(splits)),
                    "score": res["test_score"],
                    "n_train": [len(tr) for tr, _ in splits],
                    "n_test": [len(te) for _, te in splits],
                }
            )
        )
    return CVComparison(
        scores=pd.concat(frames, ignore_index=True),
        scoring=scoring,
        spatial_cv=_describe(spatial_cv),
        provenance={
            "method": "cv_compare",
            "estimator": repr(estimator),
            "n_splits": n_splits,
            "scoring": scoring,
            "spatial_cv": _describe(spatial_cv),
            "seed": seed,
            "dongne_version": __version__,
        },
    )
