"""Street networks: built from real lines, routed as networkx does, bad input named by row.

The test network is real geometry: the boundary lines of the 17 dongs of Jongno-gu (KOSTAT
2013, bundled), many of which follow streets and streams — about 2,900 nodes. No
OpenStreetMap extract is bundled; the same code reads one exported to a line layer.
The networkx reference graph is built here, independently, from the line coordinates.
"""

from __future__ import annotations

import itertools
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely import LineString, MultiLineString, Point

from dongne.access import Network, build_network, network_costs, read_network
from dongne.datasets import seoul_dongs
from dongne.errors import DataError, DongneWarning, GeometryError


@pytest.fixture(scope="module")
def jongno() -> gpd.GeoDataFrame:
    dongs = seoul_dongs()
    return dongs[dongs["gu_name"] == "종로구"].reset_index(drop=True)


@pytest.fixture(scope="module")
def roads(jongno) -> gpd.GeoDataFrame:
    """Dong boundaries as lines, with a one-way flag on every third line (drive tests)."""
    lines = jongno.to_crs(5179).geometry.boundary.to_numpy()
    oneway = np.where(np.arange(len(lines)) % 3 == 0, "Y", "N")
    oneway[1] = "-1"
    return gpd.GeoDataFrame({"일방통행": oneway, "제한속도": np.arange(len(lines)) % 4 * 10 + 20},
                            geometry=lines, crs=5179)  # fmt: skip


def _reference_graph(roads, tolerance=0.01, directed=None, speed=None, unit_per_m=1.0):
    """networkx DiGraph from the raw line coordinates, written independently of dongne."""
    g = nx.DiGraph()
    seen: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for r, geom in enumerate(roads.geometry):
        parts = geom.geoms if isinstance(geom, MultiLineString) else [geom]
        flag = 0 if directed is None else {"Y": 1, "-1": -1}.get(roads[directed].iloc[r], 0)
        per_m = unit_per_m if speed is None else 60 / (roads[speed].iloc[r] * 1000)
        for part in parts:
            xy = np.asarray(part.coords)
            for x, y in xy:
                seen.setdefault((round(x / tolerance), round(y / tolerance)), []).append((x, y))
            for (x0, y0), (x1, y1) in itertools.pairwise(xy):
                a = (round(x0 / tolerance), round(y0 / tolerance))
                b = (round(x1 / tolerance), round(y1 / tolerance))
                if a == b:
                    continue
                w = float(np.hypot(x1 - x0, y1 - y0)) * per_m
                for u, v in ([(a, b)] if flag == 1 else [(b, a)] if flag == -1 else
                             [(a, b), (b, a)]):  # fmt: skip
                    if not g.has_edge(u, v) or g[u][v]["w"] > w:
                        g.add_edge(u, v, w=w)
    # a node stands at the mean of the vertices merged into it
    for key in g.nodes:
        g.nodes[key]["xy"] = np.mean(seen[key], axis=0)
    return g


def _points(jongno, n, seed):
    rng = np.random.default_rng(seed)
    pts = jongno.to_crs(5179).sample_points(size=1, rng=rng).explode().head(n)
    return gpd.GeoDataFrame(geometry=pts.to_numpy(), crs=5179).reset_index(drop=True)


def _check_against(ref, net, origins, sites, costs, per_m, cutoff):
    nodes = list(ref.nodes)
    xy = np.array([ref.nodes[k]["xy"] for k in nodes])
    dense = costs.to_dense()
    compared = 0
    for i, p in enumerate(origins.geometry):
        oi = int(np.argmin(np.hypot(xy[:, 0] - p.x, xy[:, 1] - p.y)))
        o_leg = np.hypot(*(xy[oi] - [p.x, p.y])) * per_m
        lengths = nx.single_source_dijkstra_path_length(ref, nodes[oi], weight="w")
        for j, q in enumerate(sites.geometry):
            dj = int(np.argmin(np.hypot(xy[:, 0] - q.x, xy[:, 1] - q.y)))
            d_leg = np.hypot(*(xy[dj] - [q.x, q.y])) * per_m
            expected = lengths.get(nodes[dj], np.inf) + o_leg + d_leg
            expected = expected if expected <= cutoff else np.inf
            if np.isfinite(expected):
                compared += 1
                assert dense[i, j] == pytest.approx(expected, rel=1e-9, abs=1e-9)
            else:
                assert dense[i, j] == np.inf
    return compared


def test_walking_metres_equal_networkx(roads, jongno):
    net = build_network(roads, profile="walk", unit="m")
    assert net.n_nodes > 2000 and (net.component == 0).all()
    origins, sites = _points(jongno, 17, 1), _points(jongno, 17, 2).iloc[::2]
    costs = network_costs(net, origins, sites, cutoff=2500, max_snap=5000)
    ref = _reference_graph(roads)
    assert _check_against(ref, net, origins, sites, costs, 1.0, 2500) > 30


def test_driving_minutes_with_one_way_and_speeds_equal_networkx(roads, jongno):
    net = build_network(roads, profile="drive", oneway="일방통행", speed="제한속도")
    origins, sites = _points(jongno, 12, 3), _points(jongno, 9, 4)
    costs = network_costs(net, origins, sites, cutoff=8, max_snap=5000)
    ref = _reference_graph(roads, directed="일방통행", speed="제한속도")
    # snapping legs are costed at the profile's 30 km/h
    assert _check_against(ref, net, origins, sites, costs, 60 / 30000, 8) > 20
    # one-way lines make the costs asymmetric
    back = network_costs(net, sites, origins, cutoff=8, max_snap=5000).to_dense().T
    assert not np.allclose(np.nan_to_num(costs.to_dense(), posinf=0),
                           np.nan_to_num(back, posinf=0))  # fmt: skip


def test_routing_from_either_side_gives_the_same_pairs(roads, jongno):
    net = build_network(roads, profile="walk")
    few, many = _points(jongno, 5, 5), _points(jongno, 17, 6)
    a = network_costs(net, many, few, cutoff=30, max_snap=5000).to_dense()
    b = network_costs(net, few, many, cutoff=30, max_snap=5000).to_dense()
    np.testing.assert_allclose(a, b.T, rtol=1e-12)


def test_points_sharing_a_node_each_get_their_pairs(roads):
    net = build_network(roads, profile="walk", unit="m")
    x, y = net.node_xy[10]
    pts = gpd.GeoDataFrame(geometry=[Point(x, y), Point(x + 1, y), Point(x, y)], crs=5179)
    costs = network_costs(net, pts, pts.iloc[:1], cutoff=10)
    assert costs.to_dense().ravel().tolist() == [0.0, 1.0, 0.0]


def test_cache_round_trip_and_cp949_shapefile(roads, tmp_path):
    path = tmp_path / "roads.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        roads.to_file(path, encoding="cp949")
    (tmp_path / "roads.cpg").unlink(missing_ok=True)
    first = read_network(path, profile="drive", oneway="일방통행", cache_dir=tmp_path / "c")
    second = read_network(path, profile="drive", oneway="일방통행", cache_dir=tmp_path / "c")
    assert first.notes["cache"].startswith("built") and second.notes["cache"].startswith("loaded")
    for name in ("node_xy", "tails", "heads", "cost", "component"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    other = read_network(path, profile="walk", cache_dir=tmp_path / "c")
    assert other.notes["cache"].startswith("built")


def test_islands_and_far_points_are_named(roads):
    island = LineString([(200_000, 600_000), (200_100, 600_000)])
    lines = gpd.GeoDataFrame(geometry=[*roads.geometry, island], crs=5179)
    net = build_network(lines, profile="walk")
    assert net.component.max() == 1
    main = np.flatnonzero(net.component == 0)
    sites = gpd.GeoDataFrame(geometry=[Point(*net.node_xy[main[0]])], crs=5179)
    demand = gpd.GeoDataFrame(geometry=[Point(200_050, 600_001), Point(0, 0),
                                        Point(*net.node_xy[main[5]])],
                              index=["on-island", "far-away", "fine"], crs=5179)  # fmt: skip
    with pytest.warns(DongneWarning) as caught:
        costs = network_costs(net, demand, sites, cutoff=10_000)
    text = " ".join(str(w.message) for w in caught)
    assert "far-away" in text and "on-island" in text
    dense = costs.to_dense().ravel()
    assert dense[:2].tolist() == [np.inf, np.inf] and np.isfinite(dense[2])
    assert costs.notes["origins_too_far"] == ["far-away"]


def test_bad_lines_are_refused_by_row(roads):
    with pytest.raises(GeometryError, match="no CRS"):
        build_network(gpd.GeoDataFrame(geometry=roads.geometry.to_numpy()))
    mixed = gpd.GeoDataFrame(geometry=[*roads.geometry[:3], Point(0, 0)], crs=5179)
    with pytest.raises(GeometryError, match="rows 3"):
        build_network(mixed)
    empty = gpd.GeoDataFrame(geometry=[roads.geometry[0], None], crs=5179)
    with pytest.raises(GeometryError, match="rows 1"):
        build_network(empty)
    with pytest.raises(DataError, match="speed"):
        build_network(roads.assign(v=["fast"] * len(roads)), profile="drive", speed="v",
                      oneway="일방통행")  # fmt: skip
    with pytest.warns(DongneWarning, match="one-way"):
        build_network(roads, profile="drive")
    stub = gpd.GeoDataFrame(geometry=[*roads.geometry[:2], LineString([(0, 0), (0, 0.001)])],
                            crs=5179)  # fmt: skip
    with pytest.warns(DongneWarning, match="Road lines 2 have no length"):
        build_network(stub)


def test_multipart_and_geographic_lines(roads):
    multi = MultiLineString([roads.geometry[0], roads.geometry[1]])
    lines = gpd.GeoDataFrame(geometry=[multi, *roads.geometry[2:]], crs=5179).to_crs(4326)
    with pytest.warns(DongneWarning, match="multi-part"):
        net = build_network(lines, unit="m")
    assert net.notes["reprojected_to"] == "EPSG:5179"
    plain = build_network(roads, unit="m")
    # the same streets (reprojected there and back): total length within 1 mm per km
    assert net.cost.sum() == pytest.approx(plain.cost.sum(), rel=1e-6)


def test_save_and_load(roads, tmp_path):
    net = build_network(roads)
    again = Network.load(net.save(tmp_path / "n.npz"))
    np.testing.assert_array_equal(again.cost, net.cost)
    assert again.crs.equals(net.crs) and again.profile == "walk"


OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="dongne-test">
<node id="1" lat="37.5700" lon="126.9800" version="1"/>
<node id="2" lat="37.5700" lon="126.9900" version="1"/>
<node id="3" lat="37.5790" lon="126.9900" version="1"/>
<node id="4" lat="37.5790" lon="126.9800" version="1"/>
<way id="10" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
<way id="11" version="1"><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/>
<tag k="oneway" v="yes"/><tag k="maxspeed" v="50"/></way>
<way id="12" version="1"><nd ref="3"/><nd ref="4"/><tag k="highway" v="motorway"/></way>
<way id="13" version="1"><nd ref="4"/><nd ref="1"/><tag k="highway" v="footway"/></way>
<way id="14" version="1"><nd ref="1"/><nd ref="3"/><tag k="waterway" v="stream"/></way>
</osm>"""


def test_openstreetmap_extract_by_profile(tmp_path):
    """An .osm file (GDAL's OSM driver): highway classes by profile, one-way and maxspeed."""
    path = tmp_path / "block.osm"
    path.write_text(OSM)
    walk = read_network(path, profile="walk", unit="m", cache_dir=tmp_path)
    drive = read_network(path, profile="drive", unit="m", cache_dir=tmp_path)
    # walking: the residential streets (both ways) and the footway; no motorway, no stream
    assert (walk.n_edges, walk.notes["osm_ways_kept"], walk.notes["osm_ways_left_out"]) == (6, 3, 2)
    assert drive.n_edges == 5  # two residential (one one-way) and the motorway
    corner = gpd.GeoDataFrame(geometry=[Point(126.99, 37.57), Point(126.99, 37.579)], crs=4326)
    there = network_costs(drive, corner.iloc[:1], corner.iloc[1:]).to_dense()[0, 0]
    back = network_costs(drive, corner.iloc[1:], corner.iloc[:1]).to_dense()[0, 0]
    metres = corner.to_crs(5179).geometry.iloc[0].distance(corner.to_crs(5179).geometry.iloc[1])
    assert there == pytest.approx(metres, rel=1e-9) and back == np.inf
    minutes = read_network(path, profile="drive", cache_dir=tmp_path)
    cost = network_costs(minutes, corner.iloc[:1], corner.iloc[1:]).to_dense()[0, 0]
    assert cost == pytest.approx(metres / 1000 / 50 * 60, rel=1e-9)  # maxspeed=50


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bounded_kernel_equals_scipy_dijkstra(seed):
    """The routing kernel against scipy.sparse.csgraph.dijkstra on random directed graphs."""
    from scipy import sparse
    from scipy.sparse import csgraph

    from dongne.access._dijkstra import bounded_dijkstra

    rng = np.random.default_rng(seed)
    n, m = 400, 2400
    graph = sparse.csr_array(
        (rng.uniform(0.5, 5.0, m), (rng.integers(0, n, m), rng.integers(0, n, m))), shape=(n, n)
    )
    graph.sum_duplicates()
    sources = rng.choice(n, 30, replace=False)
    targets = rng.choice(n, 50, replace=False)
    pos = np.full(n, -1)
    pos[targets] = np.arange(len(targets))
    for limit in (6.0, np.inf):
        s, t, c = bounded_dijkstra(graph.indptr.astype(np.int64), graph.indices.astype(np.int64),
                                   graph.data, sources, pos, limit)  # fmt: skip
        got = np.full((len(sources), len(targets)), np.inf)
        got[s, t] = c
        ref = csgraph.dijkstra(graph, indices=sources, limit=limit)[:, targets]
        np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_densify_keeps_points_near_a_node_and_lengths_equal():
    road = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1000, 0)])], crs=5179)
    plain = build_network(road, unit="m")
    dense = build_network(road, unit="m", densify=25)
    point = gpd.GeoDataFrame(geometry=[Point(490, 3)], crs=5179)
    assert plain.snap(point)[1][0] > 400
    assert dense.snap(point)[1][0] <= np.hypot(12.5, 3) + 1e-9
    assert dense.cost.sum() == pytest.approx(plain.cost.sum(), rel=1e-12)
    ends = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(1000, 0)], crs=5179)
    assert network_costs(dense, ends.iloc[:1], ends.iloc[1:]).values[0] == pytest.approx(1000)
