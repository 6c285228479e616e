r"""Exact p-median by the radius formulation, with reductions, Lagrangian fixing and levels
added on demand (García, Labbé & Marín 2011; Elloumi 2010).

For demand unit i let :math:`D_i^1 < D_i^2 < \dots < D_i^{G_i}` be its distinct costs to the
free candidates that are closer than its nearest fixed-open site (cost :math:`b_i`, ``inf``
for none), and :math:`z_i^k = 1` when no open site lies within :math:`D_i^k`. Then

.. math::

   \min \sum_i w_i \Big(D_i^1 + \sum_{k} (D_i^{k+1} - D_i^k)\, z_i^k\Big)
   \quad\text{s.t.}\quad z_i^k - z_i^{k-1} + \sum_{j:\, d_{ij} = D_i^k} y_j \ge 0,
   \; z_i^0 = 1, \; \sum_j y_j = p, \; y \in \{0, 1\}, \; z \ge 0,

with :math:`D_i^{G_i + 1} = b_i`. The rows in difference form (Elloumi 2010) keep the model at
one non-zero per (unit, site) pair; its LP bound is that of the radius and of the classical
formulation. Three reductions make it small:

* **sorted distances**: with at most p − 1 sites outside the m − p + 1 nearest, a unit is
  always served within the cost of its (m − p + 1)-th nearest candidate; deeper levels go;
* **Lagrangian fixing**: relaxing the assignment rows (Beasley 1993) gives a bound
  :math:`L(\lambda)` and site scores :math:`\rho_j`; a site whose forced opening (closing)
  lifts the bound above the incumbent is fixed closed (open);
* **levels on demand**: unit i keeps only its first :math:`L_i` levels, the last one
  charging :math:`D_i^{L_i+1} - D_i^{L_i}` — a relaxation, so its MIP bound is a valid lower
  bound. Where a solution serves a unit beyond :math:`D_i^{L_i+1}` the unit gets more levels
  and the MIP is solved again; where it does not, the relaxation is exact.

Every answer is certified by :func:`median_objective` on the original costs: the upper bound
is the best recomputed objective, the lower bound the best relaxation bound, and the status is
"optimal" only at a relative gap of at most 1e-9.

References
----------
García, S., Labbé, M. & Marín, A. (2011). Solving large p-median problems with a radius
formulation. INFORMS Journal on Computing 23(4):546–556.
Elloumi, S. (2010). A tighter formulation of the p-median problem. Journal of Combinatorial
Optimization 19:69–83.
Beasley, J. E. (1993). Lagrangean heuristics for location problems. European Journal of
Operational Research 65:383–399.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from dongne.allocate import heuristics as heur
from dongne.allocate._lagbb import _node_bound, branch_and_bound, sorted_costs
from dongne.allocate._model import _pow2
from dongne.allocate._solver import GAP_LIMIT, INFEASIBLE, OPTIMAL, TIME_LIMIT, solve_highs

#: Relative gap at or below which a result is called optimal.
OPTIMAL_GAP = 1e-9
#: Work ((unit, site) terms of the Lagrangian scores visited) the branch and bound may spend
#: before the search falls back to LP and MIP rounds (deterministic, unlike a clock).
BB_WORK = 2e10
#: The first tree gets BB_WORK / BB_FIRST; a restart after a tree that found a better
#: incumbent (which tightens the root fixing) four times more, a restart after one that found
#: none (the same tree again) all the work left; until BB_WORK is spent.
BB_FIRST = 256
#: Subgradient steps at the root at most, in chunks of ROOT_CHUNK; the step factor is
#: halved after ROOT_PATIENCE steps without a better bound. At 10⁴ × 10³ a step costs about
#: 2 ms, and the bound of 4,000 patient steps is 0.2 % below the optimum where 400 steps with
#: a patience of 20 left 0.34 % (few sites fixed, a much larger tree).
ROOT_STEPS = 4000
ROOT_CHUNK = 100
ROOT_PATIENCE = 50


@dataclass
class RadiusResult:
    """Outcome of :func:`solve_median_radius` (positions are columns of ``d``)."""

    chosen: np.ndarray
    status: str
    objective: float
    bound: float
    gap: float
    runtime: float
    details: dict = field(default_factory=dict)


def _rel_gap(upper: float, lower: float) -> float:
    if not (np.isfinite(upper) and np.isfinite(lower)):
        return float("inf")
    return max(upper - lower, 0.0) / max(abs(upper), 1e-9)


# ------------------------------------------------------------------------ Lagrangian
def lagrangian(
    wd: np.ndarray,
    wb: np.ndarray,
    p: int,
    upper: float,
    lam: np.ndarray,
    max_iter: int = ROOT_STEPS,
    deadline: float | None = None,
    on_choice: Callable[[np.ndarray], float] | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Best Lagrangian bound by subgradient steps, the site scores ρ and the multipliers at it.

    ``wd`` is w_i·d_ij (``inf`` where unreachable), ``wb`` w_i·b_i, ``upper`` an incumbent
    for the Polyak step, ``lam`` the starting multipliers. Every value is a valid bound; the
    steps stop after ``max_iter``, once the step factor has been halved to 1e-4 (after
    ``ROOT_PATIENCE`` steps without a better bound each time) or at ``deadline``
    (``time.perf_counter()`` seconds). The steps are those of the branch and bound's nodes
    (:func:`dongne.allocate._lagbb._node_bound`, over each unit's sorted costs), in chunks of
    ``ROOT_CHUNK`` between looks at the deadline, each chunk going on from the best
    multipliers so far. After each chunk ``on_choice`` (if given) receives the Lagrangian
    choice at the best multipliers (the p smallest ρ) and returns the incumbent's value, which
    becomes the Polyak target.
    """
    m = wd.shape[1]
    sval, sidx = sorted_costs(wd)
    free = np.arange(m, dtype=np.int64)
    best, best_rho, best_lam = -np.inf, np.zeros(m), np.asarray(lam, float)
    theta, done = 2.0, 0
    while done < max_iter:
        stop = upper - OPTIMAL_GAP * max(abs(upper), 1.0)
        chunk = min(ROOT_CHUNK, max_iter - done)
        value, rho, lam_c, _, steps, _, theta = _node_bound(
            sval, sidx, wb, free, min(p, m), best_lam, upper, stop, chunk, theta, ROOT_PATIENCE
        )
        done += chunk
        if value > best:
            best, best_rho, best_lam = value, rho, lam_c
        if on_choice is not None and 0 < p <= m:
            upper = min(upper, on_choice(np.argsort(best_rho, kind="stable")[:p]))
        if best >= stop or steps < chunk:  # reached, stalled out or exact
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
    return best, best_rho, best_lam


def fix_sites(bound: float, rho: np.ndarray, p: int, upper: float) -> tuple[np.ndarray, np.ndarray]:
    """Sites that every solution better than ``upper`` must close / must open.

    Forcing site j open (closed) changes the Lagrangian bound by ρ_j − ρ_(p) (by
    ρ_(p+1) − ρ_j); when the new bound exceeds ``upper`` the site's value is settled.
    """
    m = len(rho)
    if p >= m or p == 0:
        return np.zeros(m, bool), np.zeros(m, bool)
    srt = np.sort(rho)
    tol = 1e-9 * max(abs(upper), 1.0)
    picked = rho <= srt[p - 1]
    close = ~picked & (bound + rho - srt[p - 1] > upper + tol)
    open_ = picked & (bound - rho + srt[p] > upper + tol)
    if np.count_nonzero(rho <= srt[p - 1]) > p:  # ties at the p-th score: settle nothing open
        open_[:] = False
    return close, open_


# ------------------------------------------------------------------------ levels
@dataclass
class _Levels:
    """Sorted costs of each unit to the free candidates, cut at its serving level."""

    order: np.ndarray  # n × m column positions by increasing cost
    value: np.ndarray  # n × m sorted costs
    level: np.ndarray  # n × m level index (0-based) of each sorted entry
    start: np.ndarray  # n × (max levels + 1): first sorted entry of each level
    n_levels: np.ndarray  # G_i: levels below the fixed-open cost
    end: np.ndarray  # E_i: levels kept at most (the last is served for sure if forced)
    forced: np.ndarray  # bool: the unit is served by level E_i (its z is 0)
    base: np.ndarray


def _levels(d: np.ndarray, base: np.ndarray, p: int) -> _Levels:
    n, m = d.shape
    order = np.argsort(d, axis=1, kind="stable")
    value = np.take_along_axis(d, order, axis=1)
    valid = np.isfinite(value) & (value < base[:, None])
    new = np.ones((n, m), bool)
    new[:, 1:] = value[:, 1:] != value[:, :-1]
    level = np.cumsum(new, axis=1) - 1
    n_levels = np.where(valid.any(axis=1), np.where(valid, level + 1, 0).max(axis=1), 0)
    q = m - p  # the (m − p + 1)-th nearest candidate (0-based position)
    cut = valid[:, q] if 0 < p <= m else np.zeros(n, bool)
    end = np.where(cut, level[:, q] + 1, n_levels)
    forced = cut | ~np.isfinite(base)
    start = np.full((n, int(level.max(initial=0)) + 2), m, dtype=np.int64)
    rows = np.repeat(np.arange(n), m)
    first = new.ravel()
    start[rows[first], level.ravel()[first]] = np.tile(np.arange(m), n)[first]
    return _Levels(order, value, level, start, n_levels, end, forced, base)


def _level_of(lv: _Levels, t: np.ndarray) -> np.ndarray:
    """Number of levels with cost below ``t`` per unit."""
    below = (lv.value < t[:, None]) & np.isfinite(lv.value)
    return np.where(below.any(axis=1), np.where(below, lv.level + 1, 0).max(axis=1), 0)


def _build(lv: _Levels, keep: np.ndarray, w: np.ndarray, p: int, m: int):
    """The relaxed radius MIP with ``keep[i]`` levels per unit: costs, rows, constant and
    the first z column of every unit."""
    n = len(keep)
    n_z = np.where((keep >= lv.end) & lv.forced, keep - 1, keep).clip(0)
    z0 = m + np.concatenate([[0], np.cumsum(n_z)])
    row0 = np.concatenate([[0], np.cumsum(keep)])
    # y entries: the sorted entries of the kept levels, in the row of their level
    cnt = lv.start[np.arange(n), keep]
    r_y = np.repeat(np.arange(n), cnt)
    k_y = np.arange(len(r_y)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    rows_y = row0[r_y] + lv.level[r_y, k_y]
    # z entries: +z_ik in row k, −z_ik in row k + 1
    r_z = np.repeat(np.arange(n), n_z)
    k_z = np.arange(len(r_z)) - np.repeat(np.cumsum(n_z) - n_z, n_z)
    cols_z = z0[r_z] + k_z
    nxt = k_z + 1 < keep[r_z]
    n_row = int(row0[-1])
    rows = np.concatenate(
        [rows_y, row0[r_z] + k_z, row0[r_z[nxt]] + k_z[nxt] + 1, np.full(m, n_row)]
    )
    cols = np.concatenate([lv.order[r_y, k_y], cols_z, cols_z[nxt], np.arange(m)])
    vals = np.concatenate([np.ones(len(r_y) + len(r_z)), -np.ones(int(nxt.sum())), np.ones(m)])
    a = sparse.csc_array((vals, (rows, cols)), shape=(n_row + 1, int(z0[-1])))
    rl = np.zeros(n_row + 1)
    rl[row0[:-1][keep > 0]] = 1.0
    rl[-1] = p
    ru = np.full(n_row + 1, np.inf)
    ru[-1] = p
    # costs w_i (D^{k+1} − D^k), with D^{G+1} = b_i after a unit's last level
    lvl_val = np.take_along_axis(lv.value, np.minimum(lv.start[:, :-1], lv.value.shape[1] - 1), 1)
    k1 = np.minimum(k_z + 1, lvl_val.shape[1] - 1)
    upper = np.where(k_z + 1 < lv.n_levels[r_z], lvl_val[r_z, k1], lv.base[r_z])
    c = np.concatenate([np.zeros(m), w[r_z] * (upper - lvl_val[r_z, k_z])])
    constant = float(w @ np.where(lv.n_levels > 0, lvl_val[:, 0], lv.base))
    return c, a, rl, ru, constant, z0


# ------------------------------------------------------------------------ driver
def solve_median_radius(
    d: np.ndarray,
    w: np.ndarray,
    p: int,
    base: np.ndarray,
    *,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    backend: str = "auto",
) -> RadiusResult:
    """Exact p-median over the columns of ``d`` (units × candidates, ``inf``: unreachable).

    ``w`` are positive unit weights, ``base`` each unit's cost to its nearest fixed-open
    site (``inf`` for none), ``0 < p <= d.shape[1]``. Stops at relative gap ``mip_gap``
    (0: proven optimum) or after ``time_limit`` seconds with the incumbent and its proven gap.
    """
    t0 = time.perf_counter()
    scale = _weight_scale(d, w, p, base)
    s = _Search(d, w * scale, p, base, time_limit, {"mip_rel_gap": mip_gap, "threads": threads,
                                                    "backend": backend})  # fmt: skip
    stop = s.run()
    ub = heur.median_objective(d, w, s.best, base)  # recomputed from the sites alone
    s.lb /= scale
    for key in ("heuristic_objective", "lagrangian_bound", "start_objective", "lp_bound"):
        if key in s.info:
            s.info[key] /= scale
    s.info["weight_scale"] = scale
    gap = _rel_gap(ub, s.lb)
    # "optimal" only at a proven gap of 1e-9; a gap closed only to mip_gap is "gap_limit".
    status = OPTIMAL if gap <= OPTIMAL_GAP else (GAP_LIMIT if stop == OPTIMAL else stop)
    if not np.isfinite(ub):  # no p sites reach every unit, or none found in time
        status = INFEASIBLE if stop == OPTIMAL else stop
    return RadiusResult(np.sort(s.best), status, ub, s.lb, gap, time.perf_counter() - t0, s.info)


def _weight_scale(d: np.ndarray, w: np.ndarray, p: int, base: np.ndarray) -> float:
    """Power of two (exact) by which the weights are multiplied inside the search.

    Data whose every cost w·d and w·base is an integer keep their weights (scale 1): the
    branch and bound prunes at incumbent − 1 there. Otherwise an objective below 1 is lifted
    into [1e6, 2e6): HiGHS's tolerances are absolute, and with weights near 1e-7 a relaxed
    MIP's bound lay 1.2e-3 above the optimum 7.8e-5 (fuzz4). The objective's size is that of
    every unit at its nearest site or, where that is 0 (a zero cost within every unit's
    reach), of the greedy solution: with weights 1e-9 to 1e-6 and zero costs the search
    was unscaled and said "optimal" with a bound 1.1 % above the optimum (review).
    """
    finite = np.isfinite(d)
    wd, wb = (w[:, None] * d)[finite], (w * base)[np.isfinite(base)]
    if np.all(wd == np.round(wd)) and np.all(wb == np.round(wb)):
        return 1.0
    near = np.minimum(base, np.where(finite, d, np.inf).min(axis=1, initial=np.inf))
    size = float(w @ np.where(np.isfinite(near), near, 0.0))
    if size == 0.0:
        big = 2.0 * float(d[finite].max(initial=1.0)) + 1.0
        dh = np.where(finite, d, big)
        size = heur.median_objective(dh, w, heur.median_greedy(dh, w, p, base), base)
    return _pow2(size) if 0 < size < 1 else 1.0


def _unreachable_cost(d: np.ndarray, w: np.ndarray, base: np.ndarray) -> float:
    """Finite cost standing in for ``inf`` in the greedy start and the interchange polish.

    Every set of sites that reaches every unit costs at most U = Σ_i w_i·min(b_i, max_j d_ij)
    (finite d_ij); a set that leaves a unit unreachable costs at least min(w)·big there. With
    big > U / min(w) such a set costs more than every reaching set, so the heuristics prefer
    reaching sets and a polish that starts from one keeps reaching every unit. The old
    penalty, 2·max d + 1, did not: on an 8 × 5 case (weights 1–10) the polish moved the
    optimum {3, 4} (2,183.1) to {1, 2} (1,262.0 with the penalty, unreachable in truth).
    """
    finite = np.isfinite(d)
    low = 2.0 * float(d[finite].max(initial=1.0)) + 1.0
    far = np.where(finite, d, -np.inf).max(axis=1, initial=-np.inf)
    reach = np.minimum(base, np.where(np.isfinite(far), far, np.inf))
    pos = w[w > 0]
    if not len(pos):
        return low
    upper = float(w @ np.where(np.isfinite(reach), reach, 0.0))
    big = 2.0 * upper / float(pos.min()) + 1.0
    return max(big, low) if np.isfinite(big) else low


class _Search:
    """State of one exact solve: incumbent, bounds, fixings and the kept levels."""

    def __init__(self, d, w, p, base, time_limit, options) -> None:
        self.d, self.w, self.p, self.base, self.options = d, w, p, base, options
        t0 = time.perf_counter()
        self.deadline = None if time_limit is None else t0 + time_limit
        finite = np.isfinite(d)
        big = 2.0 * float(d[finite].max(initial=1.0)) + 1.0
        dh = np.where(finite, d, big)
        # The greedy start and every polish run on costs where an unreachable pair costs
        # more than any set of sites that reaches every unit (see _unreachable_cost).
        dp = np.where(finite, d, _unreachable_cost(d, w, base))
        chosen = heur.median_greedy(dp, w, p, base)
        self.rows = heur.median_sorted_rows(dp, w, base)  # reused by every interchange
        self.best = heur.median_interchange(
            dp, w, chosen, base, time_limit=self.left(), sorted_rows=self.rows
        )
        self.ub = heur.median_objective(d, w, self.best, base)
        lam = w * np.minimum(base, dh[:, self.best].min(axis=1))
        heuristic = self.ub
        t1 = time.perf_counter()
        target = self.ub if np.isfinite(self.ub) else float(w @ dh.max(axis=1))
        tried: set[bytes] = set()

        def choice(sites: np.ndarray) -> float:
            # Each new Lagrangian choice, polished, is a start (Beasley 1993).
            key = np.sort(sites).tobytes()
            if key not in tried:
                tried.add(key)
                self.offer(sites)
            return self.ub if np.isfinite(self.ub) else target

        self.lag, self.rho, self.lam = lagrangian(
            w[:, None] * d, w * base, p, target, lam, deadline=self.deadline, on_choice=choice
        )
        self.lb = min(self.lag, self.ub)
        # Each unit keeps the levels below this cost (plus one): exact where served within.
        self.reach = self.serving(self.best)
        self.lp_closed = np.zeros(d.shape[1], bool)  # settled by LP reduced costs
        self.lp_open = np.zeros(d.shape[1], bool)
        self.lp_done = False
        self.bb_spent, self.bb_trees, self.bb_found = 0.0, 0, True
        self.info = {
            "heuristic_objective": heuristic,
            "heuristic_s": t1 - t0,
            "lagrangian_bound": self.lag,
            "lagrangian_s": time.perf_counter() - t1,
            "lagrangian_starts": len(tried),
            "rounds": 0,
            "mip_s": 0.0,
            "bb_nodes": 0,
            "bb_complete": False,
            "bb_s": 0.0,
        }
        self.info["start_objective"] = self.ub

    def left(self) -> float | None:
        return None if self.deadline is None else max(self.deadline - time.perf_counter(), 0.01)

    def serving(self, sites: np.ndarray) -> np.ndarray:
        return np.minimum(self.base, self.d[:, sites].min(axis=1)) if len(sites) else self.base

    def offer(self, sites: np.ndarray) -> None:
        """Take ``sites``, or their vertex-substitution polish, whichever is better on the
        original costs, if it beats the incumbent.

        The offered sites are judged as they are before the polish: the polish works on
        costs where ``inf`` is replaced by a finite penalty and could, with a penalty too
        small (2·max + 1 before the review), swap a branch and bound's optimum for a set that
        leaves a unit unreachable; taking only the polished set then lost the optimum.
        """
        sites = np.asarray(sites, dtype=np.int64)
        obj = heur.median_objective(self.d, self.w, sites, self.base)
        if obj < self.ub:
            self.ub, self.best = obj, np.sort(sites)
        if len(sites):
            polished = heur.median_interchange(
                self.d, self.w, sites, self.base, time_limit=self.left(), sorted_rows=self.rows
            )
            obj = heur.median_objective(self.d, self.w, polished, self.base)
            if obj < self.ub:
                self.ub, self.best = obj, polished

    def closed(self) -> bool:
        return _rel_gap(self.ub, self.lb) <= max(OPTIMAL_GAP, self.options["mip_rel_gap"])

    def run(self) -> str:
        """Alternate fixing and relaxed MIPs; the status to report if the gap stays open."""
        while not self.closed():
            m = self.d.shape[1]
            none = np.zeros(m, bool)
            close, open_ = fix_sites(self.lag, self.rho, self.p, self.ub) if np.isfinite(
                self.ub) else (none, none)  # fmt: skip
            close |= self.lp_closed
            open_ |= self.lp_open & ~close
            free, fixed = np.flatnonzero(~close & ~open_), np.flatnonzero(open_)
            self.info.update(fixed_closed=int(close.sum()), fixed_open=len(fixed))
            p2 = self.p - len(fixed)
            if p2 < 0 or len(free) < p2:  # no solution better than the incumbent exists
                self.lb = self.ub
                return OPTIMAL
            if p2 == 0 or len(free) == p2:
                self.offer(np.concatenate([fixed, free[:p2]]))
                self.lb = self.ub
                return OPTIMAL
            if self.bb_spent < BB_WORK and np.isfinite(self.ub):
                stop = self.branch(free, fixed, p2)
                if stop is not None:
                    return stop
                continue
            stop = self.rounds(free, fixed, p2)
            if stop is not None:
                return stop
        return OPTIMAL

    def branch(self, free, fixed, p2) -> str | None:
        """Lagrangian branch and bound over ``free`` (:mod:`dongne.allocate._lagbb`); None
        when the tree ran out of its work before the end: the fixing is redone with the
        incumbent it may have improved, and a larger tree (or, once BB_WORK is spent, LP and
        MIP rounds) goes on."""
        t = time.perf_counter()
        # A tree that found no better incumbent leaves the fixing as it was: the next tree
        # would repeat it step for step, so it gets all the work that is left at once.
        grow = BB_WORK / BB_FIRST * 4.0**self.bb_trees if self.bb_found else np.inf
        budget = min(grow, BB_WORK - self.bb_spent)
        res = branch_and_bound(
            self.w[:, None] * self.d[:, free], self.w * self.serving(fixed), p2, self.ub,
            self.lam, rel_gap=self.options["mip_rel_gap"], deadline=self.deadline,
            max_work=budget,
        )  # fmt: skip
        self.bb_trees += 1
        self.bb_spent += max(res.work, 1.0)
        self.bb_found = len(res.chosen) > 0
        self.info.update(bb_nodes=self.info["bb_nodes"] + res.nodes, bb_complete=res.complete,
                         bb_s=self.info["bb_s"] + time.perf_counter() - t,
                         bb_trees=self.bb_trees)  # fmt: skip
        if len(res.chosen):
            self.offer(np.concatenate([fixed, free[res.chosen]]))
        # Every solution better than the incumbent lies in the tree: its bound holds for all.
        self.lb = max(self.lb, min(self.ub, res.lower))
        if self.closed() or res.complete:
            return OPTIMAL
        if self.deadline is not None and time.perf_counter() > self.deadline:
            return TIME_LIMIT
        return None

    def rounds(self, free, fixed, p2) -> str | None:
        """Relaxed LPs, then MIPs, over ``free`` until the gap closes. None: the incumbent
        improved or sites were settled, and the fixing is worth redoing; else the status."""
        base2 = self.serving(fixed)
        dd = self.d[:, free]
        lv = _levels(dd, base2, p2)
        while True:
            keep = np.minimum(_level_of(lv, self.reach) + 1, lv.end)
            model = _build(lv, keep, self.w, p2, len(free))
            if not self.lp_done and len(free) <= 4 * p2 + 20:
                self.lp_done = True  # few sites left: the MIP is small, LP rounds cost more
            if not self.lp_done:
                stop = self.lp_round(lv, keep, model, free, fixed, p2)
            else:
                stop = self.mip_round(lv, keep, model, free, fixed, dd, base2)
            if stop != "again":
                return stop

    def lp_round(self, lv, keep, model, free, fixed, p2) -> str | None:
        """One LP of the relaxed model: grow the units it undercharges; when none is left,
        settle sites by reduced costs (valid for every solution better than the incumbent)."""
        c, a, rl, ru, const, z0 = model
        res = solve_highs(c, a, rl, ru, np.zeros(len(c)), np.ones(len(c)), None,
                          time_limit=self.left(), backend=self.options["backend"])  # fmt: skip
        self.info["lp_rounds"] = self.info.get("lp_rounds", 0) + 1
        if res.x is None:
            return TIME_LIMIT if res.status != "infeasible" else self._settled()
        lower = res.objective + const
        self.lb = max(self.lb, min(self.ub, lower))
        y = res.x[: len(free)]
        before = self.ub
        self.offer(np.concatenate([fixed, free[np.argsort(-y, kind="stable")[:p2]]]))
        if self.closed():
            return OPTIMAL
        cut = keep < lv.end
        z_last = np.zeros(len(keep))
        z_last[cut] = res.x[z0[:-1][cut] + keep[cut] - 1]
        grow = cut & (z_last > 1e-9)
        if grow.any():
            new = np.minimum(4 * keep[grow], lv.end[grow])
            rows = np.flatnonzero(grow)
            self.reach[rows] = lv.value[rows, lv.start[rows, new - 1]]
            return None if self.ub < before else "again"  # a better incumbent: fix again
        self.lp_done = True
        rc = res.col_duals[: len(free)]
        tol = 1e-6 * max(abs(self.ub), 1.0)
        close = (y < 1e-9) & (lower + rc > self.ub + tol)
        open_ = (y > 1 - 1e-9) & (lower - rc > self.ub + tol)
        self.lp_closed[free[close]] = True
        self.lp_open[free[open_]] = True
        self.info.update(lp_bound=lower, lp_fixed_closed=int(close.sum()))
        return None if (close.any() or open_.any()) else "again"

    def _settled(self) -> str:
        self.lb = self.ub  # the fixings leave nothing better than the incumbent
        return OPTIMAL

    def mip_round(self, lv, keep, model, free, fixed, dd, base2) -> str | None:
        """One relaxed MIP: its bound is valid; grow the units its solution serves too far."""
        c, a, rl, ru, const, _ = model
        integer = np.arange(len(c)) < len(free)
        # Only solutions better than the incumbent matter: HiGHS prunes the rest.
        cutoff = (
            self.ub - const - 0.5 * OPTIMAL_GAP * abs(self.ub) if np.isfinite(self.ub) else None
        )
        res = solve_highs(c, a, rl, ru, np.zeros(len(c)), np.ones(len(c)), integer,
                          time_limit=self.left(), cutoff=cutoff, **self.options)  # fmt: skip
        self.info["rounds"] += 1
        self.info["mip_s"] += res.runtime
        self.info.update(mip_columns=len(c), mip_rows=a.shape[0], mip_nonzeros=a.nnz)
        if res.x is None:
            return TIME_LIMIT if res.status != "infeasible" else self._settled()
        self.lb = max(self.lb, min(self.ub, res.bound + const))
        sel = res.x[: len(free)] > 0.5
        before = self.ub
        self.offer(np.concatenate([fixed, free[sel]]))
        if self.closed():
            return OPTIMAL
        if res.status != OPTIMAL:
            return TIME_LIMIT
        t = np.minimum(base2, dd[:, sel].min(axis=1))
        grow = (_level_of(lv, t) > keep) & (keep < lv.end)
        if not grow.any():  # exact at its own optimum: only a positive mip_gap stops here
            return GAP_LIMIT
        self.reach[grow] = t[grow]
        return None if self.ub < before else "again"
