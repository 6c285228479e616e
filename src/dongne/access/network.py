"""Routable street networks from a line layer the user brings, and costs along them.

:func:`build_network` turns road centrelines (GeoPackage, Shapefile — Korean road-centreline
files come with CP949 ``.dbf`` — GeoParquet, GeoJSON; OpenStreetMap ways exported to one of
these) into a directed graph: every vertex is a node (lines that share a vertex are joined,
within ``tolerance`` metres), every pair of consecutive vertices an edge, its cost the length
in metres or the travel time in minutes at the profile's speed (or the line's speed column
for ``drive``); one-way lines (``oneway`` column) are one-way for ``bike`` and ``drive``.
:func:`read_network` reads the file and caches the built network on disk as ``.npz``, keyed
by the file's content hash and the build parameters, so the second run skips the build.

:func:`network_costs` snaps origins and destinations to their nearest node (the snapping
distance is reported and added to the cost as a straight leg at the profile's speed; points
farther than ``max_snap`` are left unreachable and named in a warning) and runs Dijkstra's
algorithm with a cut-off from the smaller side (a compiled kernel that touches only the nodes
within the cut-off, :mod:`dongne.access._dijkstra`), keeping only the pairs within the
cut-off, so that memory grows with the pairs, not with sources × nodes. Nothing is downloaded:
the service works offline once a network file is present.

References
----------
Dijkstra, E. W. (1959). A note on two problems in connexion with graphs. Numerische
Mathematik 1:269–271.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from dongne import __version__
from dongne._warnings import user_stacklevel
from dongne.access._dijkstra import bounded_dijkstra
from dongne.access.costs import Costs, _layer_ids
from dongne.errors import DataError, DongneWarning, GeometryError, SpecificationError, format_rows
from dongne.io.atomic import atomic_path
from dongne.io.crs import metric_crs, require_crs

__all__ = ["PROFILES", "Network", "build_network", "network_costs", "read_network"]

#: Travel profiles: speed (km/h) and whether one-way streets bind. Walking at 4 km/h is the
#: planning value for older pedestrians used by ``dongne allocate``.
PROFILES: dict[str, dict[str, Any]] = {
    "walk": {"speed_kmh": 4.0, "oneway": False, "speed_column": False},
    "bike": {"speed_kmh": 15.0, "oneway": True, "speed_column": False},
    "drive": {"speed_kmh": 30.0, "oneway": True, "speed_column": True},
}

_FORWARD = {"yes", "y", "true", "t", "1", "forward", "f", "정방향", "일방"}
_REVERSE = {"-1", "reverse", "backward", "역방향"}
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(mph)?")
#: Dijkstra sources per block (between progress reports).
BLOCK = 256


@dataclass(eq=False)
class Network:
    """A directed street graph in a metric CRS.

    Attributes
    ----------
    node_xy : ndarray, shape (n_nodes, 2)
        Node coordinates (metres).
    tails, heads : ndarray of int64
        Start and end node of every directed edge.
    cost : ndarray of float
        Cost of every directed edge, in ``unit``.
    unit : {"m", "min"}
    profile : str
        ``walk``, ``bike`` or ``drive``.
    speed_kmh : float
        The profile's speed (snapping legs are costed at it).
    crs : pyproj.CRS
    component : ndarray of int
        Strongly connected component of every node (0 = the largest).
    notes : dict
        Source, build parameters, lines left out, repairs: recorded in provenance.
    """

    node_xy: np.ndarray
    tails: np.ndarray
    heads: np.ndarray
    cost: np.ndarray
    unit: str
    profile: str
    speed_kmh: float
    crs: CRS
    component: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    notes: dict[str, Any] = field(default_factory=dict)
    _graphs: dict[bool, sparse.csr_array] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not len(self.component):
            self.component = _components(self._adjacency())

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.tails)

    def graph(self, reverse: bool = False) -> sparse.csr_array:
        """Sparse adjacency (tail × head; head × tail if ``reverse``), least cost of parallels.

        Built once per direction and kept (the network's edges do not change).
        """
        if reverse not in self._graphs:
            g = self._adjacency()
            self._graphs[reverse] = (g.T.tocsr() if reverse else g).sorted_indices()
        return self._graphs[reverse]

    def _adjacency(self) -> sparse.csr_array:
        n = len(self.node_xy)
        order = np.lexsort((self.cost, self.heads, self.tails))
        t, h, c = self.tails[order], self.heads[order], self.cost[order]
        first = np.ones(len(t), dtype=bool)
        first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
        # A zero-cost edge would vanish from a sparse matrix: give it the smallest positive cost.
        c = np.maximum(c[first], np.finfo(float).tiny)
        return sparse.csr_array((c, (t[first], h[first])), shape=(n, n))

    def summary(self) -> str:
        """Nodes, edges, components and profile, in English and Korean."""
        sizes = np.bincount(self.component)
        share = sizes[0] / max(self.n_nodes, 1)
        en = (
            f"Network: {self.n_nodes:,} nodes, {self.n_edges:,} directed edges, profile "
            f"{self.profile} ({self.speed_kmh:g} km/h), costs in {self.unit}; "
            f"{len(sizes)} connected component(s), the largest holds {share:.1%} of the nodes."
        )
        ko = (
            f"도로망: 노드 {self.n_nodes:,}개, 방향 간선 {self.n_edges:,}개, {self.profile} "
            f"({self.speed_kmh:g} km/h), 비용 단위 {self.unit}; 연결 요소 {len(sizes)}개, "
            f"가장 큰 요소가 노드의 {share:.1%}."
        )
        return f"{en}\n{ko}"

    def snap(self, points: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of every point and the distance to it (metres)."""
        require_crs(points, "points")
        xy = points.to_crs(self.crs).geometry.get_coordinates().to_numpy()
        if len(xy) != len(points):
            raise GeometryError(
                f"Only points can be snapped to the network; got {len(points)} rows with "
                f"{len(xy)} coordinates. Fix: use point layers (e.g. centroids, explicitly)."
            )
        dist, node = cKDTree(self.node_xy).query(xy)
        return np.asarray(node, dtype=np.int64), np.asarray(dist, dtype=float)

    # ------------------------------------------------------------------ cache
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the network as ``.npz`` (atomically)."""
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh, node_xy=self.node_xy, tails=self.tails, heads=self.heads, cost=self.cost,
                component=self.component,
                meta=json.dumps({"unit": self.unit, "profile": self.profile,
                                 "speed_kmh": self.speed_kmh, "crs": self.crs.to_wkt(),
                                 "notes": self.notes}, default=str),
            )  # fmt: skip
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Network:
        """Read a network written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(
                node_xy=data["node_xy"], tails=data["tails"], heads=data["heads"],
                cost=data["cost"], unit=meta["unit"], profile=meta["profile"],
                speed_kmh=meta["speed_kmh"], crs=CRS.from_wkt(meta["crs"]),
                component=data["component"], notes=meta["notes"],
            )  # fmt: skip


def build_network(
    lines: gpd.GeoDataFrame,
    *,
    profile: str = "walk",
    unit: str = "min",
    oneway: str | None = None,
    speed: str | None = None,
    speed_kmh: float | None = None,
    tolerance: float = 0.01,
    densify: float | None = None,
) -> Network:
    """A routable network from road centrelines.

    Parameters
    ----------
    lines : GeoDataFrame of LineStrings
        Road centrelines with a CRS (a geographic CRS is reprojected to
        :func:`dongne.io.metric_crs`); MultiLineStrings are split into their parts.
    profile : {"walk", "bike", "drive"}
        Speed and one-way rules (:data:`PROFILES`).
    unit : {"min", "m"}
        Edge costs: travel minutes at the profile's speed, or metres.
    oneway : str, optional
        Column saying which lines are one-way (``yes``/``Y``/``1``/``true`` in the drawing
        direction, ``-1``/``reverse`` against it; anything else two-way). Ignored for walking.
    speed : str, optional
        Column with speeds in km/h (``drive`` only; missing values take the profile's speed).
    speed_kmh : float, optional
        The profile's speed (default :data:`PROFILES`).
    tolerance : float
        Vertices closer than this (metres) are one node.
    densify : float, optional
        Add vertices so that no segment is longer than this (metres, ``shapely.segmentize``):
        points are snapped to the nearest vertex, so a long straight road with two vertices
        would snap far; ``densify=25`` keeps every point within 12.5 m (along the road) of a
        node. Lengths do not change.

    Returns
    -------
    Network

    Raises
    ------
    GeometryError
        No CRS; missing, empty or non-line geometries (rows named).
    DataError
        Unknown columns, non-numeric speeds (rows named).
    """
    if profile not in PROFILES:
        raise SpecificationError(
            f"The 'profile' parameter must be one of {', '.join(PROFILES)}. Got {profile!r}."
        )
    if unit not in ("min", "m"):
        raise SpecificationError(f"The 'unit' parameter must be 'min' or 'm'. Got {unit!r}.")
    rules = PROFILES[profile]
    kmh = float(speed_kmh if speed_kmh is not None else rules["speed_kmh"])
    if not (np.isfinite(kmh) and kmh > 0):
        raise SpecificationError(f"The 'speed_kmh' parameter must be positive. Got {kmh!r}.")
    metric, notes = _metric_lines(lines)
    if densify is not None:
        if not (np.isfinite(densify) and densify > 0):
            raise SpecificationError(f"The 'densify' parameter must be positive. Got {densify!r}.")
        metric = metric.set_geometry(shapely.segmentize(metric.geometry.to_numpy(), densify))
        notes["densify_m"] = densify
    parts = metric.geometry.explode(index_parts=False)
    row = parts.index.to_numpy()
    coords, which = shapely.get_coordinates(parts.to_numpy(), return_index=True)
    line_row = row[which]
    keys = np.round(coords / tolerance).astype(np.int64)
    uniq, node = np.unique(keys, axis=0, return_inverse=True)
    node = node.reshape(-1)
    same_line = which[1:] == which[:-1]
    tails, heads = node[:-1][same_line], node[1:][same_line]
    seg_row = line_row[:-1][same_line]
    length = np.hypot(*(coords[1:] - coords[:-1])[same_line].T)
    keep = tails != heads
    tails, heads, seg_row, length = tails[keep], heads[keep], seg_row[keep], length[keep]
    _warn_degenerate(metric, seg_row, tolerance, notes)
    xy = np.zeros((len(uniq), 2))
    np.add.at(xy, node, coords)
    xy /= np.bincount(node, minlength=len(uniq))[:, None]
    direction = _directions(metric, oneway, rules["oneway"], notes)[seg_row]
    kmh_row = _speeds(metric, speed if rules["speed_column"] else None, kmh, notes)[seg_row]
    cost = length if unit == "m" else length / 1000.0 / kmh_row * 60.0
    fwd, rev = direction >= 0, direction <= 0
    notes.update(profile=profile, unit=unit, speed_kmh=kmh, tolerance_m=tolerance,
                 lines=len(metric), oneway_column=oneway, speed_column=speed)  # fmt: skip
    return Network(
        node_xy=xy,
        tails=np.concatenate([tails[fwd], heads[rev]]),
        heads=np.concatenate([heads[fwd], tails[rev]]),
        cost=np.concatenate([cost[fwd], cost[rev]]),
        unit=unit,
        profile=profile,
        speed_kmh=kmh,
        crs=CRS.from_user_input(metric.crs),
        notes=notes,
    )


def read_network(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    profile: str = "walk",
    unit: str = "min",
    oneway: str | None = None,
    speed: str | None = None,
    speed_kmh: float | None = None,
    encoding: str | None = None,
    crs: Any = None,
    cache_dir: str | os.PathLike[str] | None = None,
    densify: float | None = None,
) -> Network:
    """Read a line layer and build (or load from the cache) its network.

    ``path`` is a line layer (GeoPackage, Shapefile, GeoParquet, GeoJSON) or an OpenStreetMap
    extract (``.osm.pbf`` or ``.osm``, read with GDAL's OSM driver: ways with a ``highway``
    tag the profile may use, one-way and ``maxspeed`` from their tags; ``oneway`` and
    ``speed`` are then set by the reader).

    The cache file ``<cache_dir>/network-<hash>.npz`` (default cache directory:
    ``$DONGNE_CACHE`` or ``~/.cache/dongne``) is keyed by the SHA-256 of the file's bytes and
    every build parameter; ``notes["cache"]`` says whether it was hit.
    """
    from dongne.io.areas import read_geo

    p = Path(path)
    if not p.is_file():
        raise DataError(f"Network file {p} not found. Fix: give the path of a road line layer.")
    params = [profile, unit, oneway, speed, speed_kmh, layer, str(crs), densify, __version__]
    digest = hashlib.sha256(p.read_bytes() + json.dumps(params).encode()).hexdigest()[:24]
    folder = Path(cache_dir or os.environ.get("DONGNE_CACHE") or Path.home() / ".cache/dongne")
    cached = folder / f"network-{digest}.npz"
    if cached.is_file():
        net = Network.load(cached)
        net.notes["cache"] = f"loaded from {cached}"
        return net
    osm = p.suffix.lower() in (".pbf", ".osm")
    if osm:
        lines, osm_notes = _osm_lines(p, profile)
        oneway, speed = "oneway", ("maxspeed" if profile == "drive" else None)
    else:
        lines = read_geo(p, layer=layer, encoding=encoding, crs=crs)
    net = build_network(lines, profile=profile, unit=unit, oneway=oneway, speed=speed,
                        speed_kmh=speed_kmh, densify=densify)  # fmt: skip
    if osm:
        net.notes.update(osm_notes)
    net.notes.update(source=str(p), sha256_key=digest)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        net.save(cached)
        net.notes["cache"] = f"built and saved to {cached}"
    except OSError as exc:  # a read-only home: the network still works, uncached
        net.notes["cache"] = f"not cached ({exc})"
    return net


def network_costs(
    network: Network,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    *,
    cutoff: float | None = None,
    origin_id: str | None = None,
    dest_id: str | None = None,
    max_snap: float = 500.0,
    progress: Callable[[int, int], None] | None = None,
) -> Costs:
    """Shortest-path costs along ``network`` between two point layers, within ``cutoff``.

    Parameters
    ----------
    network : Network
    origins, destinations : GeoDataFrame of points
        Demand points and supply sites (any CRS; reprojected to the network's).
    cutoff : float, optional
        Largest cost kept, in the network's unit (strongly recommended: it bounds both time
        and memory). None keeps every reachable pair.
    origin_id, dest_id : str, optional
        Id columns (default: the index).
    max_snap : float
        Points farther than this (metres) from any node are left unreachable, with a
        warning naming them.
    progress : callable, optional
        Called as ``progress(done, total)`` after each chunk of Dijkstra sources.

    Returns
    -------
    Costs
        ``notes`` holds the snapping distances (``origin_snap_m``, ``dest_snap_m``), the rows
        too far from the network and the rows on islands.

    Notes
    -----
    The cost of a pair is the shortest-path cost between the snapped nodes plus both
    snapping legs at the profile's speed; equal to networkx's ``dijkstra_path_length``
    between those nodes plus the legs (tested to 1e-9).
    """
    o_node, o_snap = network.snap(origins)
    d_node, d_snap = network.snap(destinations)
    notes = _snap_report(network, origins, destinations, o_node, o_snap, d_node, d_snap, max_snap)
    o_ok = o_snap <= max_snap
    d_ok = d_snap <= max_snap
    o_leg = _leg(network, o_snap)
    d_leg = _leg(network, d_snap)
    ou, o_inv = np.unique(o_node[o_ok], return_inverse=True)
    du, d_inv = np.unique(d_node[d_ok], return_inverse=True)
    a, b, c = _node_pairs(network, ou, du, cutoff, progress)
    rows, cols = _expand(a, b, np.flatnonzero(o_ok)[np.argsort(o_inv, kind="stable")],
                         np.bincount(o_inv, minlength=len(ou)),
                         np.flatnonzero(d_ok)[np.argsort(d_inv, kind="stable")],
                         np.bincount(d_inv, minlength=len(du)))  # fmt: skip
    values = np.repeat(c, _pair_sizes(a, b, o_inv, d_inv, len(ou), len(du)))
    values = values + o_leg[rows] + d_leg[cols]
    keep = np.ones(len(values), dtype=bool) if cutoff is None else values <= cutoff
    return Costs(
        origin_ids=_layer_ids(origins, origin_id),
        dest_ids=_layer_ids(destinations, dest_id),
        rows=rows[keep],
        cols=cols[keep],
        values=values[keep],
        unit=network.unit,
        method=f"network ({network.profile}, {network.speed_kmh:g} km/h, Dijkstra)",
        cutoff=cutoff,
        notes=notes,
    )


# --------------------------------------------------------------------------- building
#: OpenStreetMap highway classes each profile may not use (everything else with a highway
#: tag is routable); ``foot=no`` / ``bicycle=no`` / ``motor_vehicle=no`` tags also exclude.
_OSM_EXCLUDED = {
    "walk": {"motorway", "motorway_link", "trunk", "trunk_link", "construction", "proposed"},
    "bike": {"motorway", "motorway_link", "trunk", "trunk_link", "steps", "construction",
             "proposed"},
    "drive": {"footway", "path", "steps", "pedestrian", "cycleway", "bridleway", "track",
              "corridor", "elevator", "platform", "construction", "proposed"},
}  # fmt: skip
_OSM_DENY = {"walk": "foot", "bike": "bicycle", "drive": "motor_vehicle"}
_OSM_TAG = r'"{}"=>"([^"]*)"'


def _osm_lines(path: Path, profile: str) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Routable ways of an OpenStreetMap ``.pbf`` / ``.osm`` file (GDAL's OSM driver).

    Keeps the ``lines`` layer's ways with a ``highway`` tag the profile may use, and reads
    ``oneway`` and ``maxspeed`` from their ``other_tags``; the ways left out are counted.
    """
    import pyogrio

    ways = pyogrio.read_dataframe(path, layer="lines")
    tags = ways.get("other_tags", pd.Series([""] * len(ways), index=ways.index)).fillna("")
    highway = ways["highway"] if "highway" in ways else pd.Series([None] * len(ways))
    deny = tags.str.extract(_OSM_TAG.format(_OSM_DENY[profile]))[0].isin(["no", "private"])
    keep = highway.notna().to_numpy() & ~highway.isin(_OSM_EXCLUDED[profile]).to_numpy()
    keep &= ~deny.to_numpy()
    out = ways.loc[keep, ["osm_id", "highway", "geometry"]].copy()
    out["oneway"] = tags[keep].str.extract(_OSM_TAG.format("oneway"))[0].to_numpy()
    if profile == "walk":
        out["oneway"] = None
    out["maxspeed"] = tags[keep].str.extract(_OSM_TAG.format("maxspeed"))[0].to_numpy()
    notes = {
        "source_format": "OpenStreetMap (GDAL OSM driver), © OpenStreetMap contributors, ODbL",
        "osm_ways_kept": int(keep.sum()),
        "osm_ways_left_out": int((~keep).sum()),
        "osm_excluded_highways": sorted(_OSM_EXCLUDED[profile]),
    }
    if not keep.any():
        raise DataError(
            f"{path} has no way a {profile!r} profile can use (of {len(ways):,} lines). Fix: "
            "check that the extract covers streets (highway=*)."
        )
    return gpd.GeoDataFrame(out.reset_index(drop=True), crs=ways.crs), notes


def _metric_lines(lines: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Check the line layer (rows named) and return it in a metric CRS with notes."""
    if not isinstance(lines, gpd.GeoDataFrame):
        raise DataError(f"The road lines must be a GeoDataFrame, got {type(lines).__name__}.")
    if lines.crs is None:
        raise GeometryError(
            "The road lines have no CRS, so their lengths are unknown. Fix: set it when "
            "reading (on the command line --network-crs EPSG:5179)."
        )
    frame = lines.reset_index(drop=True)
    geoms = frame.geometry.array
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise GeometryError(
            f"The road lines have missing or empty geometries in rows "
            f"{format_rows(np.flatnonzero(missing))}. Fix: remove those rows."
        )
    kinds = frame.geom_type
    bad = ~kinds.isin(["LineString", "MultiLineString"])
    if bad.any():
        raise GeometryError(
            f"The road network must be lines, but rows {format_rows(np.flatnonzero(bad))} are "
            f"{', '.join(sorted(set(kinds[bad])))}. Fix: give a road-centreline layer."
        )
    notes: dict[str, Any] = {"crs_in": CRS.from_user_input(frame.crs).name}
    multi = np.flatnonzero(kinds == "MultiLineString")
    if len(multi):
        notes["multipart_rows"] = multi.tolist()[:50]
        warnings.warn(
            f"Road lines {format_rows(multi)} are multi-part: each part is a separate line "
            "(parts that do not share a vertex are not joined).",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )
    crs = CRS.from_user_input(frame.crs)
    if not (crs.is_projected and crs.axis_info[0].unit_name in ("metre", "meter")):
        frame = frame.to_crs(metric_crs(frame))
        notes["reprojected_to"] = CRS.from_user_input(frame.crs).to_string()
    return frame, notes


def _warn_degenerate(
    frame: gpd.GeoDataFrame, seg_row: np.ndarray, tolerance: float, notes: dict[str, Any]
) -> None:
    """Name the lines that give no edge (all their vertices within ``tolerance``)."""
    empty = np.setdiff1d(np.arange(len(frame)), seg_row)
    if len(empty):
        notes["zero_length_rows"] = empty.tolist()[:50]
        warnings.warn(
            f"Road lines {format_rows(empty)} have no length (all vertices within "
            f"{tolerance:g} m): they add nothing to the network. Fix: check those rows.",
            DongneWarning,
            stacklevel=user_stacklevel(),
        )


def _directions(
    frame: gpd.GeoDataFrame, column: str | None, binding: bool, notes: dict[str, Any]
) -> np.ndarray:
    """+1 one-way in drawing order, -1 against it, 0 two-way, per line."""
    if column is None:
        if binding:
            notes["oneway"] = "no one-way column: every line is two-way"
            warnings.warn(
                "No one-way column was given: every road is used in both directions. Fix: "
                "name it (on the command line --oneway COLUMN).",
                DongneWarning,
                stacklevel=user_stacklevel(),
            )
        return np.zeros(len(frame), dtype=np.int8)
    if column not in frame:
        raise DataError(
            f"The road lines have no column {column!r}. Columns: "
            f"{', '.join(c for c in map(str, frame.columns) if c != 'geometry')}."
        )
    if not binding:
        notes["oneway"] = f"{column!r} ignored: pedestrians use one-way streets both ways"
        return np.zeros(len(frame), dtype=np.int8)
    text = frame[column].astype(str).str.strip().str.lower()
    out = np.where(text.isin(_FORWARD), 1, np.where(text.isin(_REVERSE), -1, 0))
    notes["oneway"] = f"{int((out != 0).sum()):,} one-way lines ({column!r})"
    return out.astype(np.int8)


def _speeds(
    frame: gpd.GeoDataFrame, column: str | None, default: float, notes: dict[str, Any]
) -> np.ndarray:
    """Speed of every line in km/h (the column where given and valid, else the default)."""
    if column is None:
        return np.full(len(frame), default)
    if column not in frame:
        raise DataError(
            f"The road lines have no column {column!r}. Columns: "
            f"{', '.join(c for c in map(str, frame.columns) if c != 'geometry')}."
        )
    raw = frame[column]
    text = raw.astype(str).str.extract(_NUMBER)
    value = pd.to_numeric(text[0], errors="coerce").to_numpy(dtype=float)
    value = np.where(text[1].notna().to_numpy(), value * 1.609344, value)
    bad = raw.notna().to_numpy() & ~(np.isfinite(value) & (value > 0))
    if bad.any():
        raise DataError(
            f"Speed column {column!r} is not a positive number of km/h in rows "
            f"{format_rows(np.flatnonzero(bad))}. Fix: clean those values or leave them empty "
            "(the profile's speed is used)."
        )
    filled = np.where(np.isfinite(value), value, default)
    notes["speed"] = f"{int(np.isfinite(value).sum()):,} lines with a speed in {column!r}"
    return filled


def _components(graph: sparse.csr_array) -> np.ndarray:
    """Strong components, relabelled by size (0 = the largest)."""
    if graph.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    _, labels = csgraph.connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(labels)
    rank = np.empty_like(sizes)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(len(sizes))
    return rank[labels].astype(np.int64)


# --------------------------------------------------------------------------- routing
def _leg(network: Network, metres: np.ndarray) -> np.ndarray:
    return metres if network.unit == "m" else metres / 1000.0 / network.speed_kmh * 60.0


def _snap_report(network, origins, destinations, o_node, o_snap, d_node, d_snap, max_snap):
    """Snapping distances, far points and island points; warnings name their rows."""
    notes: dict[str, Any] = {
        "origin_snap_m": {"median": float(np.median(o_snap)), "max": float(o_snap.max())},
        "dest_snap_m": {"median": float(np.median(d_snap)), "max": float(d_snap.max())},
        "network": network.notes,
    }
    for name, frame, node, dist in (("origins", origins, o_node, o_snap),
                                    ("destinations", destinations, d_node, d_snap)):  # fmt: skip
        far = np.flatnonzero(dist > max_snap)
        island = np.flatnonzero((dist <= max_snap) & (network.component[node] != 0))
        notes[f"{name}_too_far"] = frame.index[far].tolist()
        notes[f"{name}_on_islands"] = frame.index[island].tolist()
        if len(far):
            warnings.warn(
                f"{len(far)} {name} lie more than {max_snap:g} m from the network (rows "
                f"{format_rows(frame.index[far])}; farthest {dist.max():,.0f} m): they are "
                "left unreachable. Fix: use a network that covers them, or raise max_snap "
                "(on the command line --max-snap).",
                DongneWarning,
                stacklevel=user_stacklevel(),
            )
        if len(island):
            warnings.warn(
                f"{len(island)} {name} snap to a part of the network cut off from its "
                f"largest component (rows {format_rows(frame.index[island])}): they reach only "
                "points on the same island. Fix: check the network's connectivity there.",
                DongneWarning,
                stacklevel=user_stacklevel(),
            )
    return notes


def _node_pairs(
    network: Network,
    sources_o: np.ndarray,
    sources_d: np.ndarray,
    cutoff: float | None,
    progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(origin node pos, destination node pos, cost) within the cut-off, for unique nodes.

    Dijkstra runs from the smaller side: from the destinations on the reversed graph when
    there are fewer destination nodes; in blocks of sources so that progress can be shown.
    """
    reverse = len(sources_d) < len(sources_o)
    graph = network.graph(reverse)
    src, tgt = (sources_d, sources_o) if reverse else (sources_o, sources_d)
    csr = (graph.indptr.astype(np.int64), graph.indices.astype(np.int64), graph.data)
    target_pos = np.full(network.n_nodes, -1, dtype=np.int64)
    target_pos[tgt] = np.arange(len(tgt))
    limit = np.inf if cutoff is None else float(cutoff)
    found_s, found_t, found_c = [], [], []
    for start in range(0, len(src), BLOCK):
        block = np.ascontiguousarray(src[start : start + BLOCK], dtype=np.int64)
        i, j, c = bounded_dijkstra(*csr, block, target_pos, limit)
        found_s.append(i + start)
        found_t.append(j)
        found_c.append(c)
        if progress is not None:
            progress(min(start + BLOCK, len(src)), len(src))
    s = np.concatenate(found_s) if found_s else np.zeros(0, dtype=np.int64)
    t = np.concatenate(found_t) if found_t else np.zeros(0, dtype=np.int64)
    c = np.concatenate(found_c) if found_c else np.zeros(0)
    # Zero-cost edges were stored as the tiniest positive cost; a path of them is still ≈ 0.
    c = np.where(c < 1e-300, 0.0, c)
    return (t, s, c) if reverse else (s, t, c)


def _pair_sizes(a, b, o_inv, d_inv, n_o, n_d) -> np.ndarray:
    return np.bincount(o_inv, minlength=n_o)[a] * np.bincount(d_inv, minlength=n_d)[b]


def _expand(
    a: np.ndarray,
    b: np.ndarray,
    o_points: np.ndarray,
    o_count: np.ndarray,
    d_points: np.ndarray,
    d_count: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Point pairs of node pairs: every origin point on node a × every site point on node b.

    ``o_points`` lists the origin rows grouped by node (``o_count`` per node), likewise
    ``d_points``.
    """
    o_start = np.concatenate([[0], np.cumsum(o_count)[:-1]]).astype(np.int64)
    d_start = np.concatenate([[0], np.cumsum(d_count)[:-1]]).astype(np.int64)
    sizes = o_count[a] * d_count[b]
    total = int(sizes.sum())
    pair = np.repeat(np.arange(len(a)), sizes)
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    local = np.arange(total, dtype=np.int64) - offset[pair]
    per = d_count[b][pair]
    rows = o_points[o_start[a][pair] + local // per]
    cols = d_points[d_start[b][pair] + local % per]
    return rows, cols
