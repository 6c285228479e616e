"""A real OpenStreetMap road network, bundled: built, routed as networkx routes it, used by the CLI.

``tests/data/osm_hongseong/hongseong_primary_roads.osm`` holds 251 OpenStreetMap ways (primary
roads, 3,035 nodes, one connected piece) around Hongseong-gun and Yesan-gun, Chungcheongnam-do
(© OpenStreetMap contributors, ODbL; source and conversion in the folder's README). The
networkx reference graph is built here from the raw XML — OSM node ids, coordinates projected
with pyproj, consecutive ``nd`` references as edges — without any of dongne's code.
"""

from __future__ import annotations

import itertools
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely import Point, box

from dongne.access import network_costs, read_network
from dongne.cli import main

OSM_FILE = Path(__file__).parent / "data" / "osm_hongseong" / "hongseong_primary_roads.osm"


@pytest.fixture(scope="module")
def raw() -> tuple[dict[int, tuple[float, float]], list[tuple[list[int], dict[str, str]]]]:
    """Node coordinates (EPSG:5179 metres) and ways (node ids, tags) read from the XML."""
    root = ET.parse(OSM_FILE).getroot()
    to_metric = Transformer.from_crs(4326, 5179, always_xy=True)
    nodes = list(root.iter("node"))
    ids = [int(n.get("id")) for n in nodes]
    lon = np.array([float(n.get("lon")) for n in nodes])
    lat = np.array([float(n.get("lat")) for n in nodes])
    x, y = to_metric.transform(lon, lat)
    xy = {i: (float(a), float(b)) for i, a, b in zip(ids, x, y, strict=True)}
    ways = [
        ([int(r.get("ref")) for r in w.iter("nd")], {t.get("k"): t.get("v") for t in w.iter("tag")})
        for w in root.iter("way")
    ]
    return xy, ways


def _reference(raw, oneway: bool) -> nx.DiGraph:
    """networkx graph from the raw ways; ``oneway=yes`` ways one way only when asked."""
    xy, ways = raw
    g = nx.DiGraph()
    for refs, tags in ways:
        one = oneway and tags.get("oneway") == "yes"
        for a, b in itertools.pairwise(refs):
            w = float(np.hypot(xy[b][0] - xy[a][0], xy[b][1] - xy[a][1]))
            g.add_edge(a, b, w=w)
            if not one:
                g.add_edge(b, a, w=w)
    return g


def _points(raw, n: int, seed: int, jitter: float) -> tuple[gpd.GeoDataFrame, list[int]]:
    """``n`` points near random OSM nodes (within ``jitter`` metres) and the nodes' ids."""
    xy, _ = raw
    rng = np.random.default_rng(seed)
    ids = [int(i) for i in rng.choice(sorted(xy), size=n, replace=False)]
    off = rng.uniform(-jitter, jitter, size=(n, 2))
    pts = [Point(xy[i][0] + dx, xy[i][1] + dy) for i, (dx, dy) in zip(ids, off, strict=True)]
    return gpd.GeoDataFrame(geometry=pts, crs=5179), ids


def _expected(ref, raw, origins, sites, cutoff, reverse=False):
    """Reference costs: snap each point to its nearest OSM node, networkx, plus both legs."""
    xy, _ = raw
    keys = np.array(sorted(ref.nodes))
    coords = np.array([xy[k] for k in keys])

    def snap(p):
        d = np.hypot(coords[:, 0] - p.x, coords[:, 1] - p.y)
        return keys[int(np.argmin(d))], float(d.min())

    out = np.full((len(origins), len(sites)), np.inf)
    dest = [snap(q) for q in sites.geometry]
    for i, p in enumerate(origins.geometry):
        node, leg = snap(p)
        lengths = nx.single_source_dijkstra_path_length(ref, node, weight="w")
        for j, (dnode, dleg) in enumerate(dest):
            c = lengths.get(dnode, np.inf) + leg + dleg
            out[i, j] = c if c <= cutoff else np.inf
    return out


def test_bundled_osm_extract_builds_a_walking_network(tmp_path):
    net = read_network(OSM_FILE, profile="walk", unit="m", cache_dir=tmp_path)
    assert (net.n_nodes, net.n_edges) == (3035, 2 * 3055)
    assert (net.component == 0).all()
    assert net.notes["osm_ways_kept"] == 251 and net.notes["osm_ways_left_out"] == 0
    assert "OpenStreetMap contributors, ODbL" in net.notes["source_format"]
    assert net.notes["reprojected_to"] == "EPSG:5179"


def test_walking_metres_on_the_osm_network_equal_networkx(raw, tmp_path):
    net = read_network(OSM_FILE, profile="walk", unit="m", cache_dir=tmp_path)
    ref = _reference(raw, oneway=False)
    assert ref.number_of_nodes() == net.n_nodes and ref.number_of_edges() == net.n_edges
    # points on the nodes (no snapping leg) and points up to 150 m off them
    for jitter, seed in ((0.0, 1), (150.0, 2)):
        origins, _ = _points(raw, 25, seed, jitter)
        sites, _ = _points(raw, 15, seed + 10, jitter)
        costs = network_costs(net, origins, sites, cutoff=12000).to_dense()
        expected = _expected(ref, raw, origins, sites, 12000)
        np.testing.assert_array_equal(np.isinf(costs), np.isinf(expected))
        ok = np.isfinite(expected)
        assert ok.sum() > 50
        np.testing.assert_allclose(costs[ok], expected[ok], rtol=1e-9, atol=1e-9)


def test_driving_respects_the_one_way_carriageways_as_networkx(raw, tmp_path):
    net = read_network(OSM_FILE, profile="drive", unit="m", cache_dir=tmp_path)
    ref = _reference(raw, oneway=True)
    assert ref.number_of_edges() == net.n_edges < 2 * 3055
    origins, _ = _points(raw, 20, 3, 0.0)
    sites, _ = _points(raw, 12, 4, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # points on one-way islands are named in a warning
        costs = network_costs(net, origins, sites, cutoff=30000).to_dense()
        back = network_costs(net, sites, origins, cutoff=30000).to_dense().T
    expected = _expected(ref, raw, origins, sites, 30000)
    np.testing.assert_array_equal(np.isinf(costs), np.isinf(expected))
    ok = np.isfinite(expected)
    assert ok.sum() > 50
    np.testing.assert_allclose(costs[ok], expected[ok], rtol=1e-9, atol=1e-9)
    both = np.isfinite(costs) & np.isfinite(back)
    assert not np.allclose(costs[both], back[both])  # dual carriageways: not symmetric


@pytest.fixture(scope="module")
def layers(raw, tmp_path_factory) -> Path:
    """Demand cells along the roads and five sites at OSM nodes, written next to each other.

    The cells (2 km squares within 500 m of a road) carry a uniform stand-in weight of 100
    households: the test is about routing on the real network, not about the population.
    """
    folder = tmp_path_factory.mktemp("osm")
    roads = gpd.read_file(OSM_FILE, layer="lines").to_crs(5179)
    x0, y0, x1, y1 = roads.total_bounds
    cells = [box(x, y, x + 2000, y + 2000) for x in np.arange(x0, x1, 2000)
             for y in np.arange(y0, y1, 2000)]  # fmt: skip
    near = roads.buffer(500).union_all()
    cells = [c for c in cells if c.intersects(near)]
    demand = gpd.GeoDataFrame({"cell": [f"c{i:03d}" for i in range(len(cells))],
                               "households": 100.0}, geometry=cells, crs=5179)  # fmt: skip
    demand.to_file(folder / "cells.gpkg")
    _, sites_ids = _points(raw, 5, 7, 0.0)
    xy, _ = raw
    sites = gpd.GeoDataFrame({"capacity": [50.0] * 5},
                             geometry=[Point(xy[i]) for i in sites_ids], crs=5179)  # fmt: skip
    sites.to_file(folder / "sites.gpkg")
    return folder


def test_access_command_runs_on_the_osm_network(layers, tmp_path, capsys):
    out = tmp_path / "a"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["access", str(layers / "cells.gpkg"), str(layers / "sites.gpkg"),
                     "--network", str(OSM_FILE), "--profile", "walk", "--id", "cell",
                     "--weight", "households", "--capacity", "capacity", "--measure", "2sfca",
                     "--threshold", "60min", "--demand-spacing", "1000m",
                     "--cache-dir", str(tmp_path / "c"), "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    assert "Network:" in capsys.readouterr().out
    areas = gpd.read_file(out / "access_areas.gpkg")
    points = gpd.read_file(out / "access_points.gpkg")
    assert len(areas) == len(gpd.read_file(layers / "cells.gpkg"))
    # 2SFCA hands out the supply of the sites that reach demand, no more
    assert float(points["demand"] @ points["access"]) <= 5 * 50 * (1 + 1e-12)
    assert (points["access"] > 0).any() and (out / "access_map.png").exists()


def test_allocate_command_runs_on_the_osm_network(layers, raw, tmp_path, capsys):
    out = tmp_path / "plan"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["allocate", "--demand", str(layers / "cells.gpkg"), "--id", "cell",
                     "--weight", "households", "--p", "3", "--radius", "60min",
                     "--network", str(OSM_FILE), "--profile", "walk",
                     "--demand-spacing", "1000m", "--grid-spacing", "3000m",
                     "--cache-dir", str(tmp_path / "c"), "--out", str(out),
                     "--quiet"])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert len(pd.read_csv(out / "new_sites.csv")) == 3
    demand = gpd.read_file(out / "demand.gpkg")
    chosen = gpd.read_file(out / "new_sites.gpkg")
    net = read_network(OSM_FILE, profile="walk", cache_dir=tmp_path / "c")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        minutes = network_costs(net, demand, chosen).to_dense().min(axis=1)
    # reported distances are walking minutes along the OSM roads; coverage follows them
    np.testing.assert_allclose(demand["distance"], minutes, rtol=1e-9)
    np.testing.assert_array_equal(demand["covered"].to_numpy() > 0, minutes <= 60 + 1e-9)
