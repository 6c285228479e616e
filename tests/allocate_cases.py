"""Small random location instances with groups, shared by the allocate tests."""

from __future__ import annotations

import numpy as np


def groups_instance(seed: int, n: int, m: int, n_groups: int, n_existing: int, n_twins: int = 0):
    """Demand and sites in a 100 × 100 square, groups as vertical bands; the last
    ``n_twins`` candidates stand where earlier candidates stand (tied coverage).

    Returns (cost matrix, weights, group labels, existing-site mask).
    """
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 100, (n, 2))
    sites = rng.uniform(0, 100, (m, 2))
    if n_twins:
        sites[m - n_twins :] = sites[n_existing : n_existing + n_twins]
    cost = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    weights = rng.integers(1, 20, n).astype(float)
    groups = np.array([f"g{int(x * n_groups // 100)}" for x in demand[:, 0]])
    existing = np.zeros(m, dtype=bool)
    existing[:n_existing] = True
    return cost, weights, groups, existing


def group_shares(cover, weights, groups, labels, open_sites):
    """(covered share per group in ``labels`` order, covered share of all demand)."""
    covered = cover[:, open_sites].any(axis=1)
    per_group = np.array([weights[(groups == g) & covered].sum() for g in labels])
    totals = np.array([weights[groups == g].sum() for g in labels])
    return per_group / totals, float(weights[covered].sum() / weights.sum())
