"""Neighbourhood change: classic, spatial and LISA Markov chains, and rank mobility.

Do poor areas stay poor, and do neighbours drag each other up or down? Values per area and
period (a :class:`~dongne.spacetime.cube.SpaceTimeCube` or an ``n × t`` array) are put into
quantile classes; transitions between consecutive periods are counted and turned into a
transition probability matrix (maximum likelihood: row shares).

* :func:`spatial_markov` — the classic chain and one chain per class of the spatial lag in
  the origin period (Rey 2001), with the tests of homogeneity: χ² of each conditional chain
  against the pooled one, and Bickenbach & Bode's (2003) Q and likelihood-ratio tests;
* :func:`lisa_markov` — transitions between the four Moran scatterplot quadrants (HH, LH,
  LL, HL) and the χ² test that own and neighbours' moves are independent (Rey 2001);
* :func:`rank_mobility` — Kendall's τ between two periods' values and the spatial τ over
  neighbour pairs (Rey 2004), with a seeded permutation p-value.

Every number equals PySAL ``giddy``'s on the same inputs (tests: ``tests/test_spacetime_markov.py``,
tolerance 1e-9); the classes are mapclassify's quantiles (``fixed=True``: pooled over all
periods; ``False``: per period).

References
----------
Rey, S. J. (2001). Spatial empirics for economic growth and convergence. *Geographical
Analysis* 33(3):195–214. Bickenbach, F. & Bode, E. (2003). Evaluating the Markov property in
studies of economic convergence. *International Regional Science Review* 26(3):363–392.
Rey, S. J. (2004). Spatial dependence in the evolution of regional income distributions. In
Getis, Múgica & Mur (eds.), *Spatial Econometrics and Spatial Statistics*, 194–213.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dongne import __version__
from dongne._vocab import Lang, check_lang, in_process_only, pick_language, resolve_rng
from dongne.errors import DataError, SpecificationError
from dongne.spacetime.cube import SpaceTimeCube
from dongne.weights import SpatialWeights

__all__ = [
    "HomogeneityTest",
    "LisaMarkov",
    "RankMobility",
    "SpatialMarkov",
    "chi2_test",
    "homogeneity_test",
    "lisa_markov",
    "quantile_classes",
    "rank_mobility",
    "spatial_markov",
    "transition_counts",
]

QUADRANTS = ("HH", "LH", "LL", "HL")


# ------------------------------------------------------------------------------ pure parts
def quantile_classes(y: Any, k: int = 4, *, fixed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Quantile class (0 … k − 1) of each value of an ``n × t`` array, and the cut-offs.

    Class ``i`` holds the values in ``(q_{i-1}, q_i]`` with ``q_i`` the ``100 (i + 1) / k``-th
    percentile (linear interpolation; repeated cut-offs merged, so there may be fewer than
    ``k`` classes), as mapclassify's
    ``Quantiles``. ``fixed=True`` pools all periods; ``False`` classifies each period
    (column) on its own and returns the cut-offs of the last one.

    >>> quantile_classes([[1.0, 2.0], [3.0, 4.0]], k=2)[0].tolist()
    [[0, 0], [1, 1]]
    """
    arr = np.asarray(y, dtype=float)
    if fixed:
        cuts = _cuts(arr.ravel(), k)
        return np.searchsorted(cuts, arr, side="left").clip(0, len(cuts) - 1), cuts
    out = np.empty(arr.shape, dtype=np.int64)
    cuts = np.zeros(0)
    for j in range(arr.shape[1]):
        cuts = _cuts(arr[:, j], k)
        out[:, j] = np.searchsorted(cuts, arr[:, j], side="left").clip(0, len(cuts) - 1)
    return out, cuts


def _cuts(values: np.ndarray, k: int) -> np.ndarray:
    """Quantile cut-offs as mapclassify computes them (levels stepped by 100/k with the last
    one capped at 100, scipy's ``scoreatpercentile``), so classes match giddy's bit for bit
    even where a value sits exactly on a cut-off."""
    step = 100.0 / k
    levels = np.minimum(np.arange(step, 100.0 + step, step), 100.0)
    return np.unique([stats.scoreatpercentile(values, q) for q in levels])


def transition_counts(classes: Any, k: int | None = None) -> np.ndarray:
    """``k × k`` counts of moves from class ``i`` (period t) to class ``j`` (t + 1).

    >>> transition_counts([[0, 1, 1], [1, 1, 0]], 2).tolist()
    [[0.0, 1.0], [1.0, 2.0]]
    """
    c = np.asarray(classes, dtype=np.int64)
    k = int(c.max()) + 1 if k is None else k
    out = np.zeros((k, k))
    np.add.at(out, (c[:, :-1].ravel(), c[:, 1:].ravel()), 1.0)
    return out


def _row_shares(counts: np.ndarray) -> np.ndarray:
    rows = counts.sum(axis=-1, keepdims=True)
    return counts / (rows + (rows == 0))


def chi2_test(observed: Any, reference: Any) -> tuple[float, float, int]:
    """χ² test that the transitions ``observed`` follow the probabilities of ``reference``.

    Expected counts are ``E_ij = n_i · p_ij`` with ``n_i`` the row totals of ``observed`` and
    ``p_ij`` the row shares of ``reference``; degrees of freedom ``(r1 − 1)(r2 − 1)`` with
    ``r`` the non-empty rows of each (as giddy's ``chi2``). Returns (χ², p, dof).
    """
    t1 = np.asarray(observed, dtype=float)
    t2 = np.asarray(reference, dtype=float)
    dof = int(((t1.sum(axis=1) > 0).sum() - 1) * ((t2.sum(axis=1) > 0).sum() - 1))
    expected = t1.sum(axis=1)[:, None] * _row_shares(t2)
    x2 = float(((t1 - expected) ** 2 / (expected + (expected == 0))).sum())
    return x2, float(stats.chi2.sf(x2, dof)), dof


@dataclass(frozen=True)
class HomogeneityTest:
    """Bickenbach & Bode's tests that ``m`` regimes share one transition matrix.

    ``Q = Σ_m Σ_i n_im Σ_j (p_ijm − p_ij)² / p_ij`` and ``LR = 2 Σ n_ijm log(p_ijm / p_ij)``,
    both χ² with ``Σ_i (b_i − 1)(a_i − 1)`` degrees of freedom (``b_i``: regimes that leave
    class i, ``a_i``: classes reached from i in the pooled chain).
    """

    Q: float
    Q_p_value: float
    LR: float
    LR_p_value: float
    dof: int


def homogeneity_test(transitions: Any) -> HomogeneityTest:
    """Q and LR tests of homogeneity over regimes of an ``m × k × k`` array of counts."""
    m_counts = np.asarray(transitions, dtype=float)
    pooled = m_counts.sum(axis=0)
    p = _row_shares(pooled)
    den = p + (p == 0)
    n_im = m_counts.sum(axis=2)
    p_m = _row_shares(m_counts)
    q = float((n_im[:, :, None] * (p_m - p[None]) ** 2 / den[None]).sum())
    mask = (m_counts > 0) & (p[None] > 0)
    ratio = np.where(mask, p_m, 1.0) / np.where(mask, p[None], 1.0)
    lr = 2.0 * float((m_counts * np.log(ratio)).sum())
    b = (n_im > 0).sum(axis=0)
    a = (pooled > 0).sum(axis=1)
    dof = int(((b - 1) * (a - 1)).sum())
    return HomogeneityTest(q, float(stats.chi2.sf(q, dof)), lr, float(stats.chi2.sf(lr, dof)), dof)


def _steady_state(p: np.ndarray) -> np.ndarray:
    """Stationary distribution of an irreducible chain (left eigenvector for eigenvalue 1)."""
    vals, vecs = np.linalg.eig(p.T)
    v = np.real(vecs[:, np.argmin(np.abs(vals - 1.0))])
    return v / v.sum()


def _matrices_figure(mats: list, titles: list, labels: list, path: Any) -> Any:
    """Side-by-side heat maps of transition probability matrices, values written in."""
    from matplotlib.figure import Figure

    from dongne._fonts import korean_font

    font = korean_font()
    fig = Figure(figsize=(3.2 * len(mats), 3.4))
    axes = np.atleast_1d(fig.subplots(1, len(mats), squeeze=False)[0])
    for ax, mat, title in zip(axes, mats, titles, strict=True):
        ax.imshow(mat, cmap="Blues", vmin=0, vmax=1)
        for (i, j), v in np.ndenumerate(mat):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 else "black")  # fmt: skip
        ax.set_xticks(range(len(labels)), labels, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_title(title, fontsize=8, fontfamily=font)
        ax.set_xlabel("to / 다음", fontsize=7, fontfamily=font)
    axes[0].set_ylabel("from / 이전", fontsize=7, fontfamily=font)
    fig.tight_layout()
    if path is not None:
        from dongne.report.maps import save_png

        save_png(fig, path)
    return fig


# ------------------------------------------------------------------------------ inputs
def _values(y: Any, w: SpatialWeights | None) -> tuple[np.ndarray, pd.Index, list[str]]:
    """(n × t array, area ids, period labels), aligned to the weights' ids."""
    if isinstance(y, SpaceTimeCube):
        frame = y.to_frame()
        labels = y.step_labels()
    elif isinstance(y, pd.DataFrame):
        frame, labels = y, [str(c) for c in y.columns]
    else:
        arr = np.asarray(y, dtype=float)
        if arr.ndim != 2:
            raise DataError("y must be an n × t array (areas × periods).")
        ids = w.ids if w is not None else pd.RangeIndex(arr.shape[0])
        frame, labels = pd.DataFrame(arr, index=ids), [str(i) for i in range(arr.shape[1])]
    if w is not None:
        missing = w.ids.difference(frame.index)
        if len(missing) or len(frame) != w.n:
            raise DataError(
                "y and the weights cover different areas. Fix: build the weights on the areas "
                "of the cube (same ids)."
            )
        frame = frame.reindex(w.ids)
    arr = frame.to_numpy(dtype=float)
    if not np.isfinite(arr).all():
        raise DataError("y has missing values. Fix: fill them or drop those areas.")
    if arr.shape[1] < 2:
        raise DataError("Transitions need at least 2 periods.")
    return arr, frame.index, labels


def _lag(w: SpatialWeights, arr: np.ndarray) -> np.ndarray:
    return np.asarray(w.row_standardised().to_sparse() @ arr)


# ------------------------------------------------------------------------------ spatial Markov
@dataclass(frozen=True)
class SpatialMarkov:
    """Classic and spatially conditioned Markov chains with their tests.

    Attributes
    ----------
    classes : ndarray (n × t)
        Quantile class of each area and period; ``lag_classes`` that of the spatial lag.
    cutoffs, lag_cutoffs : ndarray
        Upper bounds of the classes (pooled quantiles).
    transitions : ndarray (k × k)
        Counts of the classic chain; ``p`` its probabilities, ``steady_state`` its limit.
    T : ndarray (m × k × k)
        Counts conditional on the lag class of the origin period; ``P`` probabilities.
    chi2 : list of (χ², p, dof)
        Each conditional chain against the classic one; ``x2``, ``x2_dof``, ``x2_pvalue``
        their sum (giddy's overall test).
    homogeneity : HomogeneityTest
        Bickenbach & Bode's Q and LR over the lag classes.
    """

    classes: np.ndarray
    lag_classes: np.ndarray
    cutoffs: np.ndarray
    lag_cutoffs: np.ndarray
    transitions: np.ndarray
    p: np.ndarray
    T: np.ndarray
    P: np.ndarray
    chi2: list
    x2: float
    x2_dof: int
    x2_pvalue: float
    homogeneity: HomogeneityTest
    ids: pd.Index
    periods: list
    provenance_: dict = field(default_factory=dict)

    @property
    def steady_state(self) -> np.ndarray:
        """Long-run share of areas in each class under the classic chain."""
        return _steady_state(self.p)

    def to_frame(self) -> pd.DataFrame:
        """Transition probabilities as a tidy table: one row per (lag class, from, to)."""
        k = self.p.shape[0]
        rows = [
            {"lag_class": "all", "from": f"Q{i + 1}", "to": f"Q{j + 1}",
             "count": self.transitions[i, j], "probability": self.p[i, j]}
            for i in range(k) for j in range(k)
        ]  # fmt: skip
        rows += [
            {"lag_class": f"lag Q{g + 1}", "from": f"Q{i + 1}", "to": f"Q{j + 1}",
             "count": self.T[g, i, j], "probability": self.P[g, i, j]}
            for g in range(self.T.shape[0]) for i in range(k) for j in range(k)
        ]  # fmt: skip
        return pd.DataFrame(rows)

    def plot(self, path: Any = None) -> Any:
        """Heat maps of the pooled and of each lag class's transition probabilities."""
        names = ["all areas / 전체"] + [f"neighbours Q{g + 1} / 이웃 {g + 1}분위"
                                        for g in range(self.P.shape[0])]  # fmt: skip
        return _matrices_figure([self.p, *self.P], names, [f"Q{i + 1}" for i in
                                range(self.p.shape[0])], path)  # fmt: skip

    def summary(self, lang: Lang = "both") -> str:
        """Plain-language reading of persistence and of the neighbours' pull."""
        check_lang(lang)
        k = self.p.shape[0]
        seen = self.transitions.sum(axis=1) > 0
        stay = np.diag(self.p)[seen]
        up_low, up_high = (_up_share(self.T[g]) for g in (0, -1))
        h = self.homogeneity
        matters = h.LR_p_value < 0.05
        en = (
            f"Markov chain of {len(self.ids)} areas over {len(self.periods)} periods "
            f"({self.periods[0]} to {self.periods[-1]}), {k} quantile classes. Areas stay in "
            f"their class from one period to the next with probability "
            f"{stay.min():.2f}–{stay.max():.2f}. An area in the lowest class moves up with "
            f"probability {up_low} when its neighbours are in the lowest class and {up_high} "
            f"when they are in the highest. Homogeneity over neighbour classes: "
            f"Q = {h.Q:.2f} (p = {h.Q_p_value:.3g}), LR = {h.LR:.2f} (p = {h.LR_p_value:.3g}), "
            f"dof {h.dof} — "
            + ("neighbours matter." if matters else "no evidence that neighbours matter.")
        )
        ko = (
            f"{len(self.ids)}개 지역, {len(self.periods)}개 시점({self.periods[0]}~"
            f"{self.periods[-1]}), {k}분위 마르코프 연쇄. 다음 시점에도 같은 분위에 머무를 "
            f"확률 {stay.min():.2f}~{stay.max():.2f}. 최하위 분위 지역이 올라갈 확률은 이웃이 "
            f"최하위일 때 {up_low}, 최상위일 때 {up_high}. 이웃 분위 간 동질성 검정: "
            f"Q = {h.Q:.2f} (p = {h.Q_p_value:.3g}), LR = {h.LR:.2f} (p = {h.LR_p_value:.3g}), "
            f"자유도 {h.dof} — "
            + ("이웃의 영향이 있습니다." if matters else "이웃의 영향은 확인되지 않습니다.")
        )
        return pick_language(lang, en, ko)


def _up_share(counts: np.ndarray) -> str:
    """Share of moves out of the lowest class upwards, as text ("n/a" without any move)."""
    total = counts[0].sum()
    return "n/a (no such area)" if total == 0 else f"{counts[0, 1:].sum() / total:.2f}"


def spatial_markov(
    y: Any, w: SpatialWeights, *, k: int = 4, m: int = 4, fixed: bool = True
) -> SpatialMarkov:
    """Classic and spatial Markov chains of quantile classes, with homogeneity tests.

    Parameters
    ----------
    y : SpaceTimeCube, DataFrame (areas × periods) or n × t array
        Values per area and period (e.g. a rate relative to the city mean).
    w : SpatialWeights
        Neighbours; the spatial lag uses their row-standardised form.
    k, m : int
        Number of quantile classes of the values and of the lag.
    fixed : bool
        Pool all periods for the quantiles (default), or classify each period on its own.

    Returns
    -------
    SpatialMarkov

    See Also
    --------
    giddy.markov.Spatial_Markov : the reference implementation (equal to 1e-9).
    """
    if not isinstance(w, SpatialWeights):
        raise SpecificationError("w must be a dongne SpatialWeights (dongne.weights.queen(...)).")
    arr, ids, periods = _values(y, w)
    classes, cuts = quantile_classes(arr, k, fixed=fixed)
    k = int(classes.max()) + 1 if fixed else k
    lag_classes, lag_cuts = quantile_classes(_lag(w, arr), m, fixed=fixed)
    m = int(lag_classes.max()) + 1 if fixed else m
    trans = transition_counts(classes, k)
    big_t = np.zeros((m, k, k))
    np.add.at(
        big_t, (lag_classes[:, :-1].ravel(), classes[:, :-1].ravel(), classes[:, 1:].ravel()), 1
    )
    tests = [chi2_test(big_t[g], trans) for g in range(m)]
    x2 = float(sum(t[0] for t in tests))
    dof = k * (k - 1) * (k - 1)
    prov = {"method": "spatial Markov (Rey 2001)", "k": k, "m": m, "fixed": fixed,
            "weights": w.kind, "dongne_version": __version__}  # fmt: skip
    return SpatialMarkov(
        classes, lag_classes, cuts, lag_cuts, trans, _row_shares(trans), big_t,
        _row_shares(big_t), tests, x2, dof, float(stats.chi2.sf(x2, dof)),
        homogeneity_test(big_t), ids, periods, prov,
    )  # fmt: skip


# ------------------------------------------------------------------------------ LISA Markov
@dataclass(frozen=True)
class LisaMarkov:
    """Transitions between Moran scatterplot quadrants (1 HH, 2 LH, 3 LL, 4 HL).

    Attributes
    ----------
    quadrants : ndarray (n × t)
        Quadrant of each area and period.
    transitions, p : ndarray (4 × 4)
        Counts and probabilities of quadrant moves.
    move_types : ndarray (n × (t − 1))
        ``4 (from − 1) + to``: 1 = HH→HH … 16 = HL→HL.
    chi2 : (χ², p, dof)
        Test that an area's own move and its neighbours' move are independent.
    expected : ndarray (4 × 4)
        Transitions expected under that independence.
    """

    quadrants: np.ndarray
    transitions: np.ndarray
    p: np.ndarray
    move_types: np.ndarray
    chi2: tuple
    expected: np.ndarray
    ids: pd.Index
    periods: list
    provenance_: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per (from, to) quadrant: count, probability, expected count."""
        return pd.DataFrame(
            [
                {"from": QUADRANTS[i], "to": QUADRANTS[j], "count": self.transitions[i, j],
                 "probability": self.p[i, j], "expected": self.expected[i, j]}
                for i in range(4) for j in range(4)
            ]
        )  # fmt: skip

    def plot(self, path: Any = None) -> Any:
        """Heat maps of the observed and the expected (independence) quadrant moves."""
        return _matrices_figure(
            [self.p, _row_shares(self.expected)],
            ["observed / 관측", "own and neighbours independent / 독립 가정"],
            list(QUADRANTS),
            path,
        )

    def summary(self, lang: Lang = "both") -> str:
        """Plain-language reading of the quadrant moves."""
        check_lang(lang)
        stay = np.diag(self.p)
        x2, pv, dof = self.chi2
        en = (
            f"LISA Markov: areas stay in their Moran quadrant with probability HH "
            f"{stay[0]:.2f}, LH {stay[1]:.2f}, LL {stay[2]:.2f}, HL {stay[3]:.2f}. Own and "
            f"neighbours' moves independent? χ² = {x2:.2f}, dof {dof}, p = {pv:.3g}."
        )
        ko = (
            f"LISA 마르코프: 모란 사분면 유지 확률 HH {stay[0]:.2f}, LH {stay[1]:.2f}, "
            f"LL {stay[2]:.2f}, HL {stay[3]:.2f}. 자신과 이웃의 이동이 독립인가? "
            f"χ² = {x2:.2f}, 자유도 {dof}, p = {pv:.3g}."
        )
        return pick_language(lang, en, ko)


def lisa_markov(y: Any, w: SpatialWeights, *, null: str = "time") -> LisaMarkov:
    """Markov chain of Moran scatterplot quadrants (Rey 2001), as giddy's ``LISA_Markov``.

    The quadrant of an area in a period compares its value and the row-standardised lag of
    the centred values with 0 (HH: both above, LH: own below and lag above, …). The χ² test
    compares the observed quadrant moves with those expected if an area's move and its
    neighbours' move were independent two-state chains (below / not below the mean).

    ``null="time"`` (default) runs those chains over time, with "the mean" the city mean of
    each period — the same split as the quadrants. ``null="giddy"`` reproduces giddy 2.3.8,
    whose code divides each area by its own mean over time and runs the two chains across
    areas in id order (rows and columns of its ``Markov`` input transposed); the quadrants,
    counts and moves are the same either way, only ``expected`` and ``chi2`` differ.
    """
    if null not in ("time", "giddy"):
        raise SpecificationError(f"null={null!r} is not one of 'time', 'giddy'.")
    arr, ids, periods = _values(y, w)
    z = arr - arr.mean(axis=0)
    lag = _lag(w, z)
    zp, lp = z > 0, lag > 0
    quad = np.where(zp & lp, 1, np.where(~zp & lp, 2, np.where(~zp & ~lp, 3, 4)))
    trans = transition_counts(quad - 1, 4)
    moves = 4 * (quad[:, :-1] - 1) + quad[:, 1:]
    expected = _independent_moves(arr, _lag(w, arr), trans, null)
    prov = {"method": "LISA Markov (Rey 2001)", "weights": w.kind, "null": null,
            "dongne_version": __version__}  # fmt: skip
    return LisaMarkov(
        quad, trans, _row_shares(trans), moves, chi2_test(trans, expected), expected, ids,
        periods, prov,
    )  # fmt: skip


def _independent_moves(arr: np.ndarray, lag: np.ndarray, trans: np.ndarray, null: str):
    """Quadrant moves expected if own and neighbours' above/below moves are independent."""
    if null == "time":
        mean = arr.mean(axis=0)
        own_low, lag_low = arr / mean < 1.0, lag / mean < 1.0
    else:  # giddy: relative to each area's mean over time, chains across areas
        mean = arr.mean(axis=1)
        own_low, lag_low = arr.T / mean < 1.0, lag.T / mean < 1.0
    own = _row_shares(transition_counts(own_low.astype(int), 2))
    nbr = _row_shares(transition_counts(lag_low.astype(int), 2))
    # Kronecker order (own, lag) = HH, HL, LH, LL; quadrant order HH, LH, LL, HL.
    a = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]])
    return np.diag(trans.sum(axis=1)) @ (a @ np.kron(own, nbr) @ a.T)


# ------------------------------------------------------------------------------ rank mobility
@dataclass(frozen=True)
class RankMobility:
    """Kendall's τ between two periods and the spatial τ over neighbour pairs.

    ``tau`` is τ-b ``(C − D) / sqrt((C + D + X)(C + D + Y))`` (X: pairs tied in the second
    variable only, Y: in the first only) with giddy's normal p-value ``tau_p``;
    ``tau_spatial`` the same over neighbour pairs with ``p_sim`` from ``permutations``
    random relabellings of the areas (folded two-sided, as giddy's ``pseudop``).
    """

    tau: float
    tau_p: float
    concordant: int
    discordant: int
    extra_x: int
    extra_y: int
    tau_spatial: float
    pairs_spatial: int
    concordant_spatial: int
    discordant_spatial: int
    p_sim: float
    seed: int
    provenance_: dict = field(default_factory=dict)

    x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    y: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def to_frame(self) -> pd.DataFrame:
        """The statistics as one table (statistic, value, p-value)."""
        return pd.DataFrame(
            {
                "statistic": ["Kendall tau", "spatial tau"],
                "value": [self.tau, self.tau_spatial],
                "p_value": [self.tau_p, self.p_sim],
                "pairs": [self.concordant + self.discordant + self.extra_x + self.extra_y,
                          self.pairs_spatial],
                "concordant": [self.concordant, self.concordant_spatial],
                "discordant": [self.discordant, self.discordant_spatial],
            }
        )  # fmt: skip

    def plot(self, path: Any = None) -> Any:
        """Rank in the first period against rank in the second (1 = highest value)."""
        from matplotlib.figure import Figure

        from dongne._fonts import korean_font

        fig = Figure(figsize=(4.5, 4.5))
        ax = fig.subplots()
        rx = stats.rankdata(-self.x)
        ry = stats.rankdata(-self.y)
        ax.scatter(rx, ry, s=12, color="#2171b5")
        ax.plot([1, len(rx)], [1, len(rx)], color="#bdbdbd", lw=0.8)
        ax.set_xlabel("rank, first period / 첫 시점 순위", fontfamily=korean_font())
        ax.set_ylabel("rank, last period / 마지막 시점 순위", fontfamily=korean_font())
        ax.set_title(f"τ = {self.tau:.3f}, spatial τ = {self.tau_spatial:.3f}", fontsize=9)
        if path is not None:
            from dongne.report.maps import save_png

            save_png(fig, path)
        return fig

    def summary(self, lang: Lang = "both") -> str:
        """Plain-language reading of rank stability.

        Neighbours are said to exchange ranks less (or more) often than random pairs only when
        the permutation test of the spatial tau rejects at the 5 % level (one-sided, in the
        direction observed); otherwise the summary says the data show no difference."""
        check_lang(lang)
        tested = bool(np.isfinite(self.p_sim))
        differs = tested and self.p_sim < 0.05
        if differs and self.tau_spatial > self.tau:
            reading = ("Neighbours exchange ranks less often than random pairs.",
                       "이웃끼리는 임의의 쌍보다 순위를 덜 바꿉니다.")
        elif differs:
            reading = ("Neighbours exchange ranks more often than random pairs.",
                       "이웃끼리는 임의의 쌍보다 순위를 더 자주 바꿉니다.")
        elif tested:
            reading = ("Neighbours do not exchange ranks differently from random pairs at the 5 % "
                       "level.", "이웃 쌍의 순위 교환은 임의의 쌍과 5 % 수준에서 다르지 않습니다.")
        else:
            reading = ("The spatial tau was not tested (no permutations).",
                       "공간 타우는 검정하지 않았습니다 (순열 없음).")
        en = (
            f"Rank mobility: Kendall's tau {self.tau:.3f} (p = {self.tau_p:.3g}); among "
            f"neighbouring pairs {self.tau_spatial:.3f} (permutation p = {self.p_sim:.3g}). "
            + reading[0]
        )
        ko = (
            f"순위 이동성: 켄달 타우 {self.tau:.3f} (p = {self.tau_p:.3g}), 이웃 쌍의 공간 타우 "
            f"{self.tau_spatial:.3f} (순열 p = {self.p_sim:.3g}). " + reading[1]
        )
        return pick_language(lang, en, ko)


def _pair_counts(dx: np.ndarray, dy: np.ndarray) -> tuple[int, int, int, int]:
    s = np.sign(dx) * np.sign(dy)
    return (
        int((s > 0).sum()), int((s < 0).sum()),
        int(((dx != 0) & (dy == 0)).sum()), int(((dx == 0) & (dy != 0)).sum()),
    )  # fmt: skip


def _kendall(x: np.ndarray, y: np.ndarray) -> tuple[float, float, int, int, int, int]:
    n = len(x)
    conc = disc = only_x = only_y = 0
    for lo in range(0, n, 2048):
        i = np.arange(lo, min(n, lo + 2048))[:, None]
        j = np.arange(n)[None, :]
        keep = j > i
        c, d, ox, oy = _pair_counts((x[i] - x[j])[keep], (y[i] - y[j])[keep])
        conc, disc, only_x, only_y = conc + c, disc + d, only_x + ox, only_y + oy
    cd = conc + disc
    tau = (conc - disc) / np.sqrt((cd + only_y) * (cd + only_x))
    var = (4.0 * n + 10) / (9.0 * n * (n - 1))
    p = float(2 * stats.norm.sf(abs(tau) / np.sqrt(var)))
    return float(tau), p, conc, disc, only_x, only_y


def _spatial_tau(x, y, i, j) -> tuple[float, int, int]:
    dx, dy = x[i] - x[j], y[i] - y[j]
    conc, disc, _, _ = _pair_counts(dx, dy)
    n1, n2 = int((dx != 0).sum()), int((dy != 0).sum())
    return (conc - disc) / np.sqrt(n1 * n2), conc, disc


def rank_mobility(
    x: Any,
    y: Any,
    w: SpatialWeights,
    *,
    permutations: int = 999,
    rng: int | np.random.Generator | None = None,
    scheduler: Any = None,
) -> RankMobility:
    """Kendall's τ and spatial τ between two periods' values of the same areas.

    ``x`` and ``y`` are values per area in the row order of ``w`` (or Series indexed by its
    ids). Neighbour pairs are the pairs ``i < j`` with a non-zero weight. The permutations
    run in this process (a ``scheduler`` other than None / "threads" is refused).
    """
    in_process_only(scheduler, "rank_mobility")
    xs = _aligned_vector(x, w, "x")
    ys = _aligned_vector(y, w, "y")
    tau, p, conc, disc, extra_x, extra_y = _kendall(xs, ys)
    coo = w.binary().to_sparse().tocoo()
    upper = coo.row < coo.col
    i, j = coo.row[upper], coo.col[upper]
    ts, cs, ds = _spatial_tau(xs, ys, i, j)
    seed = resolve_rng(rng)
    gen = np.random.default_rng(seed)
    sims = np.empty(permutations)
    for r in range(permutations):
        perm = gen.permutation(len(xs))
        sims[r] = _spatial_tau(xs[perm], ys[perm], i, j)[0]
    above = int((sims >= ts).sum())
    p_sim = (above + 1.0) / (permutations + 1.0) if permutations else np.nan
    if permutations and p_sim > 0.5:
        p_sim = (permutations - above + 1.0) / (permutations + 1.0)
    prov = {"method": "Kendall tau and spatial tau (Rey 2004)", "permutations": permutations,
            "seed": seed, "dongne_version": __version__}  # fmt: skip
    return RankMobility(
        tau, p, conc, disc, extra_x, extra_y, float(ts), len(i), cs, ds, float(p_sim), seed,
        prov, xs, ys,
    )  # fmt: skip


def _aligned_vector(v: Any, w: SpatialWeights, name: str) -> np.ndarray:
    if isinstance(v, pd.Series):
        missing = w.ids.difference(v.index)
        if len(missing):
            raise DataError(f"{name} has no value for some areas of the weights.")
        v = v.reindex(w.ids)
    arr = np.asarray(v, dtype=float)
    if arr.shape != (w.n,) or not np.isfinite(arr).all():
        raise DataError(f"{name} must hold one finite value per area of the weights ({w.n}).")
    return arr
