"""Point statistics: the Significant DBSCAN+ simulation study, and speed against the peers.

Run: ``python benchmarks/bench_points.py`` (all parts) or ``--part study|dbscan|ripley``;
``--quick`` runs a smaller study. ``tests/test_points_dbscan.py`` runs :func:`study` small.

**Study** (docs/points.md). In a 1 km × 1 km square, null datasets are 400 points of complete
spatial randomness (CSR); planted datasets add two irregular clusters to 400 CSR points: an
arc (half a ring of radius 250 m, 30 m wide, 40 points, about 4× the background density) and
an L (two 400 m × 50 m bars, 60 points, about 4×). Methods:

* ``significant`` — :class:`dongne.points.SignificantDBSCAN` at its default three scales
  (min_pts 10), ``replications`` Monte Carlo draws, family-wise alpha 0.05;
* ``dbscan_<scale>_adhoc`` — scikit-learn's DBSCAN at each of the three eps (min_pts 10),
  every cluster of at least 20 points reported (an ad-hoc size threshold, 2 × min_pts);
* ``dbscan_<scale>_calibrated`` — the same DBSCAN with the size threshold set, after the
  fact, to the 95th percentile of the largest cluster on the null datasets (the best a size
  threshold can do at the same false-positive rate; a user does not have it).
* ``scan_<share>`` — Kulldorff's circular scan (:class:`dongne.detect.ScanStatistic`,
  Poisson, high rates, the same replications) on the points counted in 25 m cells, expected
  counts proportional to area, windows up to ``share`` of the square (0.5, SaTScan's default,
  and 0.1); every significant cluster reported as the points in its cells.

A planted cluster counts as detected when one reported cluster has at least half of its
points and at least half of its own points are planted ones; it is *hit* (``on``) when a
reported cluster has at least half of its own points from it. The false-positive rate is the
share of null datasets on which anything is reported. Monte Carlo error: a rate p from m
datasets has standard error sqrt(p (1 − p) / m).

**dbscan**: SignificantDBSCAN on 100,000 CSR points with 999 replications, wall time and
peak memory. **ripley**: K with 999 CSR envelopes on 10,000 points, dongne against pointpats'
``k_test`` (timed on a few simulations and extrapolated linearly).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import geopandas as gpd
import numpy as np
import shapely
from sklearn.cluster import DBSCAN

SIDE = 1000.0
BACKGROUND = 400
#: The circular scan counts the points in square cells of this side (metres): 1,600 cells,
#: finer than the planted clusters' widths (30 and 50 m).
SCAN_CELL = 25.0
#: Largest scan windows, as shares of the square's area: SaTScan's default 50 %, and 10 %.
SCAN_SHARES = (0.5, 0.1)


def arc(g: np.random.Generator, n: int = 60) -> np.ndarray:
    """Half a ring: radius 250 m around the centre, 30 m wide."""
    t = g.uniform(0, np.pi, n)
    r = 250 + g.uniform(-15, 15, n)
    return np.column_stack([500 + r * np.cos(t), 420 + r * np.sin(t)])


def ell(g: np.random.Generator, n: int = 80) -> np.ndarray:
    """An L: a 400 m × 50 m bar along the bottom-left and one up the left side."""
    first = g.uniform(0, 1, n) < 0.5
    x = np.where(first, g.uniform(60, 460, n), g.uniform(60, 110, n))
    y = np.where(first, g.uniform(60, 110, n), g.uniform(110, 510, n))
    return np.column_stack([x, y])


def dataset(seed: int, planted: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """Points and the index arrays of the planted clusters (empty list for null data)."""
    g = np.random.default_rng([19, seed, int(planted)])
    xy = g.uniform(0, SIDE, (BACKGROUND, 2))
    if not planted:
        return xy, []
    a, b = arc(g), ell(g)
    n0 = len(xy)
    return np.vstack([xy, a, b]), [
        np.arange(n0, n0 + len(a)),
        np.arange(n0 + len(a), n0 + len(a) + len(b)),
    ]


def _pattern(xy: np.ndarray):
    from dongne.points import point_pattern

    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*xy.T), crs="EPSG:5179")
    area = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, SIDE, SIDE)], crs="EPSG:5179")
    return point_pattern(pts, area, cell_size=5.0)


def _detected(clusters: list[np.ndarray], planted: list[np.ndarray]) -> list[bool]:
    out = []
    for p in planted:
        ok = False
        for c in clusters:
            common = len(np.intersect1d(c, p))
            ok |= common >= 0.5 * len(p) and common >= 0.5 * len(c)
        out.append(bool(ok))
    return out


def _significant(xy: np.ndarray, replications: int, seed: int) -> tuple[list, np.ndarray]:
    from dongne.points import SignificantDBSCAN

    fit = SignificantDBSCAN(replications=replications, rng=seed).fit(_pattern(xy))
    clusters = [np.flatnonzero(fit.labels_ == k) for k in fit.clusters_["cluster"]]
    return clusters, np.asarray(fit.provenance_["eps_m"])


def _dbscan(xy: np.ndarray, eps: float) -> list[np.ndarray]:
    """Plain DBSCAN clusters (scikit-learn, min_samples 10), largest first."""
    labels = DBSCAN(eps=eps, min_samples=10).fit(xy).labels_
    clusters = [np.flatnonzero(labels == k) for k in range(labels.max() + 1)]
    return sorted(clusters, key=len, reverse=True)


def _on(clusters: list[np.ndarray], planted: list[np.ndarray]) -> list[bool]:
    """Per planted cluster: does a reported cluster lie mostly on it (at least half of the
    reported cluster's points are its points), however little of it that cluster covers?"""
    return [any(len(np.intersect1d(c, p)) >= 0.5 * len(c) for c in clusters) for p in planted]


def _scan(
    xy: np.ndarray, replications: int, seed: int, share: float, alpha: float = 0.05
) -> list[np.ndarray]:
    """Kulldorff's circular scan (:class:`dongne.detect.ScanStatistic`, Poisson, high rates)
    on the points counted in SCAN_CELL-metre cells, expected counts proportional to area; the
    significant clusters (p ≤ alpha), each as the points in its cells."""
    from dongne.detect import ScanStatistic

    k = round(SIDE / SCAN_CELL)
    ij = np.clip((xy // SCAN_CELL).astype(int), 0, k - 1)
    cell = ij[:, 1] * k + ij[:, 0]
    counts = np.bincount(cell, minlength=k * k)
    cx, cy = np.meshgrid((np.arange(k) + 0.5) * SCAN_CELL, (np.arange(k) + 0.5) * SCAN_CELL)
    fit = ScanStatistic(
        replications=replications, rng=seed, max_population_share=share, alpha=alpha
    ).fit(
        counts,
        None,
        np.column_stack([cx.ravel(), cy.ravel()]),
        expected=np.full(k * k, len(xy) / k**2),
    )
    found = fit.clusters_[fit.clusters_["p_value"] <= alpha]
    return [np.flatnonzero(np.isin(cell, np.asarray(m))) for m in found["members"]]


def study(
    n_datasets: int = 200,
    replications: int = 199,
    alpha: float = 0.05,
    scan_shares: tuple[float, ...] = SCAN_SHARES,
) -> dict:
    """Run the study on ``n_datasets`` null and ``n_datasets`` planted datasets.

    Returns, per method, the false-positive rate on null data (``fpr``), the detection rate
    of the planted clusters (``power``, over both clusters of every planted dataset) and the
    share of planted clusters with a reported cluster lying mostly on them (``on``). Plain
    DBSCAN is run at each of the three scales of the significant method; the circular scan
    with each largest window (``scan_shares``, shares of the square's area).
    """
    null, planted = [], []
    for s in range(n_datasets):
        xy, _ = dataset(s, planted=False)
        sig, eps = _significant(xy, replications, s)
        scans = [_scan(xy, replications, s, share, alpha) for share in scan_shares]
        null.append((sig, [_dbscan(xy, e) for e in eps], scans))
    for s in range(n_datasets):
        xy, truth = dataset(s, planted=True)
        sig, eps = _significant(xy, replications, 10_000 + s)
        scans = [_scan(xy, replications, 10_000 + s, share, alpha) for share in scan_shares]
        planted.append((truth, sig, [_dbscan(xy, e) for e in eps], scans))
    out = {
        "significant": {
            "fpr": float(np.mean([len(n[0]) > 0 for n in null])),
            "power": float(np.mean([_detected(p[1], p[0]) for p in planted])),
            "on": float(np.mean([_on(p[1], p[0]) for p in planted])),
        }
    }
    for j, share in enumerate(scan_shares):
        out[f"scan_{share:g}"] = {
            "fpr": float(np.mean([len(n[2][j]) > 0 for n in null])),
            "power": float(np.mean([_detected(p[3][j], p[0]) for p in planted])),
            "on": float(np.mean([_on(p[3][j], p[0]) for p in planted])),
            "cell_m": SCAN_CELL,
        }
    for i, scale in enumerate(("fine", "middle", "coarse")):
        largest = [max((len(c) for c in n[1][i]), default=0) for n in null]
        calibrated = int(np.quantile(largest, 1 - alpha)) + 1
        for name, size in (("adhoc", 20), ("calibrated", calibrated)):
            fp = [any(len(c) >= size for c in n[1][i]) for n in null]
            kept = [([c for c in p[2][i] if len(c) >= size], p[0]) for p in planted]
            out[f"dbscan_{scale}_{name}"] = {
                "fpr": float(np.mean(fp)),
                "power": float(np.mean([_detected(k, truth) for k, truth in kept])),
                "on": float(np.mean([_on(k, truth) for k, truth in kept])),
                "min_size": size,
            }
    out["settings"] = {"datasets": n_datasets, "replications": replications, "alpha": alpha}
    return out


def bench_dbscan(n: int = 100_000, replications: int = 999) -> dict:
    """Wall time and peak memory of SignificantDBSCAN on n CSR points (warm numba cache)."""
    from dongne.points import SignificantDBSCAN, point_pattern

    g = np.random.default_rng(0)
    side = 20_000.0
    xy = g.uniform(0, side, (n, 2))
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*xy.T), crs="EPSG:5179")
    area = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, side, side)], crs="EPSG:5179")
    SignificantDBSCAN(replications=2, rng=0).fit(_pattern(g.uniform(0, SIDE, (500, 2))))
    t = time.perf_counter()
    fit = SignificantDBSCAN(replications=replications, rng=1).fit(point_pattern(pts, area))
    wall = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "points": n,
        "replications": replications,
        "seconds": wall,
        "cpu_seconds_whole_process": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "clusters": len(fit.clusters_),
    }


def bench_ripley(n: int = 10_000, sims: int = 999, peer_sims: int = 5) -> dict:
    """K with CSR envelopes: dongne (all sims) vs pointpats k_test (timed, extrapolated)."""
    from pointpats.distance_statistics import k_test

    from dongne.points import envelope

    g = np.random.default_rng(1)
    xy = g.uniform(0, SIDE, (n, 2))
    support = np.linspace(0, 50, 20)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*xy.T), crs="EPSG:5179")
    from dongne.points import point_pattern

    bbox = gpd.GeoDataFrame(geometry=[shapely.box(*xy.min(0), *xy.max(0))], crs="EPSG:5179")
    pp = point_pattern(pts, bbox)
    envelope(pp, "K", support=support, replications=2, edge_correction="none")
    t = time.perf_counter()
    envelope(pp, "K", support=support, replications=sims, edge_correction="none", rng=1)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    k_test(xy, support=support, n_simulations=peer_sims, n_jobs=1)
    peer = (time.perf_counter() - t) / (peer_sims + 1) * (sims + 1)
    return {
        "points": n,
        "sims": sims,
        "dongne_s": ours,
        "pointpats_s_extrapolated": peer,
        "ratio": peer / ours,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["study", "dbscan", "ripley", "all"], default="all")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.part in ("study", "all"):
        result = study(60, 99) if args.quick else study(200, 199)
        print("study", result, flush=True)
    if args.part in ("dbscan", "all"):
        print("dbscan", bench_dbscan(20_000 if args.quick else 100_000), flush=True)
    if args.part in ("ripley", "all"):
        print("ripley", bench_ripley(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
