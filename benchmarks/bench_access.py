"""Time dongne.access against networkx, pandana and PySAL access on the same inputs, in one run.

Run with ``nice python benchmarks/bench_access.py`` (a few minutes on 2 cores). Seeded
synthetic inputs (seed 20261206):

1. Network cost matrix. A jittered street grid of 225 × 225 nodes at 50 m (100,800 street
   segments = 201,600 directed edges, 11.2 km square), 10,000 origins × 1,000 destinations,
   15-minute walking cut-off (4 km/h = 1,000 m). dongne: :func:`dongne.access.network_costs`
   (snapping, Dijkstra with a cut-off from the 1,000 destinations on the reversed graph,
   pairs expanded to the points; timed after one tiny warm-up call that loads the compiled
   kernel). networkx: ``single_source_dijkstra_path_length`` with the
   same cut-off from every destination node on the reversed graph (node level only: no
   snapping or expansion, which favours networkx). pandana 0.8: contraction hierarchies,
   ``nodes_in_range`` from the destination nodes (query only; its preprocessing is printed
   separately). SciPy's ``csgraph.dijkstra`` with the limit (rows of all nodes) and igraph's
   ``distances`` (no cut-off) are timed too. All must agree on every node pair (checked).
   Peak memory of the dongne call is measured with ``tracemalloc`` (NumPy and SciPy arrays
   are traced).
2. E2SFCA. 100,000 demand points and 5,000 supply sites in a 30 km square, straight-line
   walking minutes, pairs within 30 minutes, Luo & Qi's steps {10: 1, 20: 0.68, 30: 0.22}:
   PySAL ``access`` (``enhanced_two_stage_fca``) against :func:`dongne.access.two_step_fca`
   on the same pairs; the numbers must be equal to 1e-9 (checked).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dongne.access import Costs, build_network, network_costs, step_decay, two_step_fca

SEED = 20261206


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def street_grid(side: int, spacing: float, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """One line per street segment of a jittered ``side`` × ``side`` grid (EPSG:5179)."""
    gx, gy = np.meshgrid(np.arange(side) * spacing, np.arange(side) * spacing)
    x = gx + rng.uniform(-10, 10, gx.shape) + 950_000
    y = gy + rng.uniform(-10, 10, gy.shape) + 1_950_000
    starts, ends = [], []
    for dx, dy in ((1, 0), (0, 1)):
        a = np.stack([x[: side - dy, : side - dx], y[: side - dy, : side - dx]], -1)
        b = np.stack([x[dy:, dx:], y[dy:, dx:]], -1)
        starts.append(a.reshape(-1, 2))
        ends.append(b.reshape(-1, 2))
    coords = np.stack([np.concatenate(starts), np.concatenate(ends)], axis=1)
    return gpd.GeoDataFrame(geometry=shapely.linestrings(coords), crs=5179)


def bench_network(args, rng) -> None:
    lines = street_grid(args.side, 50.0, rng)
    net, t_build = timed(lambda: build_network(lines, profile="walk"))
    x0, y0, x1, y1 = lines.total_bounds
    pts = lambda n: gpd.GeoDataFrame(  # noqa: E731
        geometry=gpd.points_from_xy(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)), crs=5179
    )
    origins, dests = pts(args.origins), pts(args.destinations)
    cutoff = 15.0
    print(f"network: {len(lines):,} street segments, {net.n_edges:,} directed edges, "
          f"{net.n_nodes:,} nodes (built in {t_build:.2f} s)")  # fmt: skip
    network_costs(net, origins.head(5), dests.head(5), cutoff=cutoff)  # compile / load cache
    costs, t_dongne = timed(lambda: network_costs(net, origins, dests, cutoff=cutoff))
    tracemalloc.start()
    network_costs(net, origins, dests, cutoff=cutoff)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"  dongne network_costs: {t_dongne:.2f} s, {costs.n_pairs:,} pairs within 15 min, "
          f"peak traced memory {peak:,.0f} MiB")  # fmt: skip

    d_nodes = np.unique(net.snap(dests)[0])
    o_nodes = np.unique(net.snap(origins)[0])
    coo = net.graph().tocoo()
    reference = _networkx(coo, d_nodes, o_nodes, cutoff, args)
    pandana_pairs = None if args.no_pandana else _pandana(net, coo, d_nodes, o_nodes, cutoff)
    ours, t_kernel = _node_level(net, d_nodes, o_nodes, cutoff)
    print(f"  dongne routing kernel alone (node level, as the peers below): {t_kernel:.2f} s")
    for name, peer in (("scipy csgraph.dijkstra (limit)", _scipy), ("igraph distances", _igraph)):
        found = peer(net, d_nodes, o_nodes, cutoff)
        if found is not None:
            pairs, elapsed = found
            ratio = elapsed / t_kernel
            print(f"  {name}: {elapsed:.2f} s; node pairs agree: {_agree(ours, pairs)}; "
                  f"RATIO {name.split()[0]} / dongne kernel = {ratio:.1f}x")  # fmt: skip
    if reference is not None:
        pairs, t_nx, scale = reference
        same = _agree(ours, pairs)
        print(f"  networkx: {t_nx:.2f} s{' (extrapolated from a sample)' if scale > 1 else ''};"
              f" node pairs agree: {same}")  # fmt: skip
        print(f"  RATIO networkx / dongne = {t_nx / t_dongne:.1f}x (target >= 5x; whole "
              f"network_costs against networkx's node level); networkx / dongne kernel = "
              f"{t_nx / t_kernel:.1f}x")  # fmt: skip
    if pandana_pairs is not None:
        pairs, t_query, t_pre = pandana_pairs
        same = _agree(ours, pairs, atol=0.05)
        print(f"  pandana: query {t_query:.2f} s (+ {t_pre:.2f} s contraction); node pairs "
              f"agree to 0.05 min: {same} (pandana rounds edge costs to 0.001)")  # fmt: skip
        print(f"  RATIO dongne / pandana query = {t_dongne / t_query:.2f} "
              f"(target <= 2); dongne kernel / pandana query = {t_kernel / t_query:.2f}; "
              f"dongne / pandana+contraction = {t_dongne / (t_query + t_pre):.3f}")  # fmt: skip
    print(f"  peak memory {peak:,.0f} MiB (target < 2048 MiB)")


def _node_level(net, d_nodes, o_nodes, cutoff) -> tuple[dict, float]:
    """dongne's node-level pairs (its routing kernel, before snapping legs), keyed (d, o),
    and the kernel's time."""
    from dongne.access.network import _node_pairs

    (a, b, c), elapsed = timed(lambda: _node_pairs(net, o_nodes, d_nodes, cutoff, None))
    return dict(zip(zip(d_nodes[b], o_nodes[a], strict=True), c, strict=True)), elapsed


def _agree(ours: dict, theirs: dict, atol: float = 1e-9) -> bool:
    keys = set(ours) | set(theirs)
    a = np.array([ours.get(k, np.inf) for k in keys])
    b = np.array([theirs.get(k, np.inf) for k in keys])
    # pairs right at the cut-off may fall either side when costs are rounded (pandana)
    edge = np.isfinite(a) != np.isfinite(b)
    near = np.where(np.isfinite(a), a, b)[edge]
    both = np.isfinite(a) & np.isfinite(b)
    return bool(np.allclose(a[both], b[both], rtol=0, atol=atol) and np.all(abs(near - 15) < atol))


def _networkx(coo, d_nodes, o_nodes, cutoff, args):
    import networkx as nx

    g = nx.DiGraph()
    g.add_weighted_edges_from(
        zip(coo.col.tolist(), coo.row.tolist(), coo.data.tolist(), strict=True)
    )  # fmt: skip  (reversed graph)
    sample = d_nodes if args.networkx_sample <= 0 else d_nodes[: args.networkx_sample]
    targets = set(o_nodes.tolist())
    pairs = {}
    start = time.perf_counter()
    for s in sample.tolist():
        for t, c in nx.single_source_dijkstra_path_length(g, s, cutoff=cutoff).items():
            if t in targets:
                pairs[(s, t)] = c
    elapsed = time.perf_counter() - start
    scale = len(d_nodes) / len(sample)
    return pairs, elapsed * scale, scale


def _scipy(net, d_nodes, o_nodes, cutoff):
    """SciPy's Dijkstra from the destinations on the reversed graph, rows of all nodes."""
    from scipy.sparse import csgraph

    graph = net.graph(reverse=True)
    pairs, start = {}, time.perf_counter()
    for k in range(0, len(d_nodes), 100):
        block = d_nodes[k : k + 100]
        dist = csgraph.dijkstra(graph, indices=block, limit=cutoff)[:, o_nodes]
        i, j = np.nonzero(np.isfinite(dist))
        pairs.update(zip(zip(block[i], o_nodes[j], strict=True), dist[i, j], strict=True))
    return pairs, time.perf_counter() - start


def _igraph(net, d_nodes, o_nodes, cutoff):
    """igraph's Dijkstra (no cut-off in ``distances``), in blocks of sources."""
    try:
        import igraph
    except ImportError:
        print("  igraph not installed: skipped (pip install 'igraph==1.0.0')")
        return None
    coo = net.graph(reverse=True).tocoo()
    g = igraph.Graph(n=net.n_nodes, edges=np.column_stack([coo.row, coo.col]).tolist(),
                     directed=True)  # fmt: skip
    weights = coo.data.tolist()
    pairs, start = {}, time.perf_counter()
    for k in range(0, len(d_nodes), 50):
        block = d_nodes[k : k + 50]
        dist = np.array(g.distances(source=block.tolist(), target=o_nodes.tolist(),
                                    weights=weights, mode="out"))  # fmt: skip
        i, j = np.nonzero(dist <= cutoff)
        pairs.update(zip(zip(block[i], o_nodes[j], strict=True), dist[i, j], strict=True))
    return pairs, time.perf_counter() - start


def _pandana(net, coo, d_nodes, o_nodes, cutoff):
    try:
        import pandana
    except ImportError:
        print("  pandana not installed: skipped (pip install 'pandana==0.8')")
        return None
    # the reversed graph, queried from the destinations (the smaller side), as dongne does
    edges = pd.DataFrame({"from": coo.col, "to": coo.row, "w": coo.data})
    nodes = pd.DataFrame(net.node_xy, columns=["x", "y"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pnet, t_pre = timed(
            lambda: pandana.Network(
                nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["w"]], twoway=False
            )
        )
        found, t_query = timed(lambda: pnet.nodes_in_range(d_nodes, cutoff))
    sub = found[found.iloc[:, 1].isin(set(o_nodes.tolist()))]
    pairs = {(int(d), int(o)): float(c) for d, o, c in sub.iloc[:, :3].itertuples(index=False)}
    return pairs, t_query, t_pre


def bench_e2sfca(args, rng) -> None:
    import access

    n, m, side = args.demand, args.supply, 30_000.0
    dxy, sxy = rng.uniform(0, side, (n, 2)), rng.uniform(0, side, (m, 2))
    demand = rng.integers(1, 200, n).astype(float)
    supply = rng.integers(1, 30, m).astype(float)
    minutes = lambda metres: metres * 60 / 4000  # noqa: E731
    from scipy.spatial import cKDTree

    pairs = cKDTree(dxy).sparse_distance_matrix(cKDTree(sxy), 2000.0, output_type="ndarray")
    cost = minutes(np.hypot(*(dxy[pairs["i"]] - sxy[pairs["j"]]).T))
    table = pd.DataFrame({"origin": pairs["i"], "dest": pairs["j"], "cost": cost})
    print(f"E2SFCA: {n:,} demand points x {m:,} sites, {len(table):,} pairs within 30 min")
    ids = lambda k: np.arange(k).astype(str).astype(object)  # noqa: E731
    costs, t_costs = timed(lambda: Costs(ids(n), ids(m), pairs["i"], pairs["j"], cost, "min"))
    steps = step_decay({10: 1, 20: 0.68, 30: 0.22})
    ours, t_ours = timed(lambda: two_step_fca(costs, demand, supply, threshold=30, decay=steps))
    tracemalloc.start()
    two_step_fca(costs, demand, supply, threshold=30, decay=steps)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = access.Access(
            demand_df=pd.DataFrame({"geoid": np.arange(n), "pop": demand}), demand_index="geoid",
            demand_value="pop", supply_df=pd.DataFrame({"geoid": np.arange(m), "doc": supply}),
            supply_index="geoid", supply_value=["doc"], cost_df=table, cost_origin="origin",
            cost_dest="dest", cost_name="cost",
        )  # fmt: skip
        fn = access.weights.step_fn({10: 1, 20: 0.68, 30: 0.22})
        ref, t_ref = timed(lambda: model.enhanced_two_stage_fca(name="e", max_cost=30,
                                                                weight_fn=fn))  # fmt: skip
    r = ref["e_doc"].reindex(np.arange(n)).to_numpy(dtype=float)
    known = np.isfinite(r)
    diff = np.max(np.abs(ours[known] - r[known]) / np.maximum(np.abs(r[known]), 1e-300))
    print(f"  dongne two_step_fca: {t_ours:.2f} s (+ {t_costs:.2f} s to hold the pairs), "
          f"peak traced memory {peak:,.0f} MiB")  # fmt: skip
    print(f"  access enhanced_two_stage_fca: {t_ref:.2f} s")
    print(f"  equal numbers: max relative difference {diff:.1e} over {known.sum():,} points "
          f"(access leaves {(~known).sum():,} points without supply as NaN; dongne gives "
          f"{np.abs(ours[~known]).max() if (~known).any() else 0:g})")  # fmt: skip
    print(f"  RATIO access / dongne = {t_ref / t_ours:.1f}x (target >= 10x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=225, help="grid nodes per side")
    parser.add_argument("--origins", type=int, default=10_000)
    parser.add_argument("--destinations", type=int, default=1_000)
    parser.add_argument("--demand", type=int, default=100_000)
    parser.add_argument("--supply", type=int, default=5_000)
    parser.add_argument(
        "--networkx-sample", type=int, default=0,
        help="time networkx on this many destinations and extrapolate (0: all)",
    )  # fmt: skip
    parser.add_argument("--skip", choices=["network", "e2sfca"], help="leave one part out")
    parser.add_argument(
        "--no-pandana", action="store_true",
        help="leave pandana out (its contraction takes many minutes on a small machine)",
    )  # fmt: skip
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    if args.skip != "network":
        bench_network(args, rng)
    if args.skip != "e2sfca":
        bench_e2sfca(args, rng)


if __name__ == "__main__":
    main()
