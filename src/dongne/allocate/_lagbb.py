r"""Lagrangian branch and bound for the uncapacitated p-median over the facility variables.

Relaxing the assignment rows :math:`\sum_j x_{ij} = 1` with multipliers :math:`\lambda`
(Beasley 1993) leaves, at a node where the sites in O are open, those in C closed and k more
are to be chosen among the free ones F,

.. math::

   L(\lambda) = \sum_i \min(\lambda_i, w_i b_i)
              + \min_{S \subseteq F,\ |S| = k} \sum_{j \in S} \rho_j, \qquad
   \rho_j = \sum_i \min(0,\ w_i d_{ij} - \lambda_i),

with :math:`b_i` the cost of unit i to its nearest site in O (or its existing site). Every
:math:`\lambda` gives a valid lower bound for the node; subgradient steps (Polyak, warm
started from the parent) tighten it. At each node

* **fixing**: a free site j outside the Lagrangian choice whose forced opening lifts the bound
  by :math:`\rho_j - \rho_{(k)}` to at least the incumbent is closed for the whole subtree; a
  chosen site whose closing lifts it by :math:`\rho_{(k+1)} - \rho_j` that far is opened (it
  joins O, lowering :math:`b`), and the bound is recomputed;
* **pruning**: a node whose bound reaches the incumbent is closed; when every cost
  :math:`w_i d_{ij}` and :math:`w_i b_i` is an integer, any solution's objective is an
  integer and a bound above ``incumbent − 1`` already prunes;
* **incumbents**: each node's Lagrangian choice (O plus the k smallest :math:`\rho`) is
  evaluated exactly;
* **branching**: on the free site whose share of the Lagrangian choices over the node's
  subgradient steps is nearest one half (an estimate of its LP value);
* **node order**: best bound with diving — the "open" child is searched next (a dive, which
  finds incumbents like a depth-first search), the "closed" child waits in a heap ordered by
  its parent's bound, and a dive that ends continues from the waiting node of smallest bound,
  so the proven bound of an interrupted search rises. At most ``OPEN_FLOATS`` multipliers
  wait in the heap; past that the closed children go on a depth-first stack instead.

The proven lower bound is the smallest bound of a pruned node (capped at the incumbent), so
an interrupted search still reports a valid bound: the smallest of the pruned nodes' and the
open nodes' bounds.

References
----------
Beasley, J. E. (1993). Lagrangean heuristics for location problems. European Journal of
Operational Research 65:383–399.
Beasley, J. E. (1985). A note on solving large p-median problems. European Journal of
Operational Research 21:270–273.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

#: Multipliers (floats) the waiting nodes of the best-bound heap may hold in all: 200 MB;
#: beyond it closed children are searched depth first.
OPEN_FLOATS = 25_000_000


def sorted_costs(wd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's weighted costs in increasing order and the columns they belong to.

    The relaxation only ever looks at the sites a unit finds cheaper than its multiplier,
    which are the first few of its sorted row: the steps below stop there.
    """
    idx = np.argsort(wd, axis=1, kind="stable").astype(np.int32)
    return np.ascontiguousarray(np.take_along_axis(wd, idx, axis=1)), idx


@njit(cache=True)
def _node_bound(
    sval, sidx, wb, free, k, lam, upper, stop, max_iter, theta, patience
):  # pragma: no cover
    """Subgradient steps at one node.

    ``sval``/``sidx`` the units' sorted weighted costs and their columns
    (:func:`sorted_costs`), ``wb`` the units' weighted cost to O (inf: none), ``free`` the free
    columns, ``k`` how many to choose, ``lam`` the starting multipliers (not changed),
    ``upper`` the incumbent (Polyak step); the steps end once the bound reaches ``stop``.
    Returns the best bound, ρ over ``free`` and the multipliers at it, each free site's share
    of the choices over the steps, the number of steps and of (unit, site) terms visited, and
    the step factor reached.
    """
    n, m = sval.shape
    f = len(free)
    lam = lam.copy()
    rho = np.zeros(m)
    picked = np.zeros(m, np.bool_)
    share = np.zeros(f)
    best = -np.inf
    best_rho = np.zeros(f)
    best_lam = lam.copy()
    g = np.zeros(n)
    stall = 0
    steps = 0
    work = 0.0
    for _ in range(max_iter):
        rho[:] = 0.0
        value = 0.0
        for i in range(n):
            li = lam[i]
            value += li if li < wb[i] else wb[i]
            t = 0
            while t < m and sval[i, t] < li:
                rho[sidx[i, t]] += sval[i, t] - li
                t += 1
            work += t + 1
        rf = rho[free]
        order = np.argsort(rf, kind="mergesort")
        for a in range(k):
            value += rf[order[a]]
        steps += 1
        picked[:] = False
        for a in range(k):
            share[order[a]] += 1.0
            picked[free[order[a]]] = True
        if value > best:
            if value > best + 1e-12 * max(abs(best), 1.0):
                stall = 0
            else:
                stall += 1
            best = value
            best_rho[:] = rf
            best_lam[:] = lam
        else:
            stall += 1
        if best >= stop:
            break
        if stall >= patience:
            theta *= 0.5
            stall = 0
            if theta < 1e-4:
                break
        norm = 0.0
        for i in range(n):
            li = lam[i]
            gi = 1.0 if li <= wb[i] else 0.0
            t = 0
            while t < m and sval[i, t] < li:
                if picked[sidx[i, t]]:
                    gi -= 1.0
                t += 1
            g[i] = gi
            norm += gi * gi
        if norm == 0.0:
            break  # the choice serves every unit once: the relaxation is exact
        step = theta * max(upper - value, 1e-9 * abs(upper)) / norm
        for i in range(n):
            lam[i] += step * g[i]
            if lam[i] > wb[i]:
                lam[i] = wb[i]
            if lam[i] < 0.0:
                lam[i] = 0.0
    return best, best_rho, best_lam, share / steps, steps, work, theta


@njit(cache=True)
def _evaluate(sval, sidx, wb, sites):  # pragma: no cover - numba
    """Σ_i min(w_i b_i, min_{j ∈ sites} w_i d_ij), from the sorted rows."""
    n, m = sval.shape
    open_ = np.zeros(m, np.bool_)
    for j in sites:
        open_[j] = True
    total = 0.0
    for i in range(n):
        v = wb[i]
        for t in range(m):
            if sval[i, t] >= v:
                break
            if open_[sidx[i, t]]:
                v = sval[i, t]
                break
        total += v
    return total


@dataclass
class BBResult:
    """Outcome of :func:`branch_and_bound`: incumbent sites, its value, the proven bound."""

    chosen: np.ndarray
    upper: float
    lower: float
    nodes: int
    complete: bool
    work: float


def branch_and_bound(
    wd: np.ndarray,
    wb: np.ndarray,
    p: int,
    upper: float,
    lam: np.ndarray,
    *,
    rel_gap: float = 0.0,
    deadline: float | None = None,
    max_work: float = np.inf,
    root_iter: int = 300,
    node_iter: int = 60,
) -> BBResult:
    """Lagrangian branch and bound over the columns of ``wd`` (weighted costs, units × sites).

    ``wb`` are the weighted costs to the fixed-open sites (``inf``: none), ``upper`` the
    value of an incumbent (only better solutions are sought), ``lam`` starting multipliers.
    A node is closed once its bound is within ``rel_gap`` of the best value. The search stops
    at ``deadline`` (``time.perf_counter()`` seconds) or once the subgradient steps have
    visited ``max_work`` (unit, site) terms of ρ. Returns the best sites found (empty: none
    better than ``upper``) and a valid lower bound on every solution better than ``upper``;
    ``complete`` when the tree was searched to the end.
    """
    m = wd.shape[1]
    sval, sidx = sorted_costs(wd)
    finite = np.isfinite(wd)
    integral = bool(
        np.all(wd[finite] == np.round(wd[finite]))
        and np.all(wb[np.isfinite(wb)] == np.round(wb[np.isfinite(wb)]))
    )
    best_sites, ub = np.zeros(0, np.int64), float(upper)
    tol = 1e-10 * max(abs(ub), 1.0)  # above the rounding error of a bound's sums
    integral = integral and tol < 0.25

    def prune_at() -> float:
        # A node is closed once its bound shows that it holds nothing better than ub; with
        # integer costs a bound above ub − 1 (by more than its rounding error) does.
        return min(ub - 1.0 + 2 * tol if integral else ub - tol, ub - rel_gap * abs(ub))

    def node_lower(bound: float) -> float:
        return float(math.ceil(bound - tol)) if integral else bound

    # node: (open sites, free-site mask, multipliers, iterations, the parent's bound)
    dive = (np.zeros(0, np.int64), np.ones(m, bool), np.asarray(lam, float), root_iter, -np.inf)
    heap: list = []  # (parent's bound, order of arrival, node): waiting closed children
    stack: list = []  # closed children once the heap holds OPEN_FLOATS multipliers
    max_heap = max(OPEN_FLOATS // max(len(wb), 1), 1)
    pruned_lower = np.inf
    nodes, work = 0, 0.0
    while dive is not None or stack or heap:
        if work >= max_work or (deadline is not None and time.perf_counter() > deadline):
            break
        if dive is not None:
            node, dive = dive, None
        else:
            node = stack.pop() if stack else heapq.heappop(heap)[2]
        opened, free_mask, lam0, iters, _ = node
        nodes += 1
        wb_node = wb.copy()
        for j in opened:
            np.minimum(wb_node, wd[:, j], out=wb_node)
        while True:  # bound, fix, bound again while fixing opens sites
            k = p - len(opened)
            free = np.flatnonzero(free_mask)
            if k < 0 or len(free) < k:
                bound = np.inf  # infeasible node
                break
            if k == 0 or len(free) == k:
                sites = np.concatenate([opened, free[:k]])
                value = float(_evaluate(sval, sidx, wb, sites))
                if value < ub:
                    best_sites, ub = sites, value
                bound = value
                break
            theta = 2.0 if iters == root_iter else 1.0
            bound, rho, lam0, share, _, visited, _ = _node_bound(
                sval, sidx, wb_node, free, k, lam0, ub, prune_at(), iters, theta, 10
            )
            work += visited
            last_free = free
            order = np.argsort(rho, kind="stable")
            pick = free[order[:k]]
            sites = np.concatenate([opened, pick])
            value = float(_evaluate(sval, sidx, wb, sites))
            if value < ub:
                best_sites, ub = sites, value
            if bound >= prune_at():
                break
            srt = rho[order]
            gap = prune_at() - bound
            in_pick = np.zeros(len(free), bool)
            in_pick[order[:k]] = True
            close = ~in_pick & (rho - srt[k - 1] >= gap)
            open_ = in_pick & (srt[k] - rho >= gap) if len(free) > k else np.zeros_like(in_pick)
            free_mask = free_mask.copy()
            free_mask[free[close]] = False
            if not open_.any():
                break
            newly = free[open_]
            free_mask[newly] = False
            opened = np.concatenate([opened, newly])
            for j in newly:
                np.minimum(wb_node, wd[:, j], out=wb_node)
            iters = node_iter
        if bound >= prune_at():
            pruned_lower = min(pruned_lower, node_lower(bound))
            continue
        # branch on the free site whose choice share is nearest 1/2
        still = free_mask[last_free]
        j = int(last_free[still][np.argmin(np.abs(share[still] - 0.5))])
        closed_mask = free_mask.copy()
        closed_mask[j] = False
        lb_node = node_lower(bound)
        closed_child = (opened, closed_mask, lam0, node_iter, lb_node)
        if len(heap) < max_heap:
            heapq.heappush(heap, (lb_node, nodes, closed_child))
        else:
            stack.append(closed_child)
        dive = (np.append(opened, j), closed_mask, lam0, node_iter, lb_node)  # open: next
    waiting = stack + [entry[2] for entry in heap] + ([] if dive is None else [dive])
    complete = not waiting
    # Every solution lies in a pruned node, a waiting node (its parent's bound) or is the
    # incumbent.
    lower = min([pruned_lower, ub] + [node[4] for node in waiting])
    return BBResult(np.sort(best_sites), ub, lower, nodes, complete, work)
