"""Tests of dongne.weights against libpysal, the Seoul data README and constructed fixtures."""

from __future__ import annotations

import warnings
from importlib.resources import files

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from libpysal import graph as lgraph
from libpysal import weights as lweights
from scipy import sparse
from shapely import Point, Polygon, box

from dongne import weights as W
from dongne.errors import DongneWarning, GeometryError, SpecificationError

SEOUL_DONG = files("dongne").joinpath("datasets/data/seoul_dong_2013.geojson")
KERNELS = ("triangular", "uniform", "quadratic", "quartic", "gaussian")
quiet = pytest.mark.filterwarnings("ignore::dongne.errors.DongneWarning")


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def seoul() -> gpd.GeoDataFrame:
    """The 423 Seoul dongs of 2013, as published (EPSG:4326)."""
    with SEOUL_DONG.open("rb") as f:
        return gpd.read_file(f)


@pytest.fixture(scope="module")
def seoul_m(seoul) -> gpd.GeoDataFrame:
    return seoul.to_crs(5179)


def lattice(nx: int = 3, ny: int = 3, size: float = 100.0) -> gpd.GeoDataFrame:
    """nx × ny squares in EPSG:5179, ids "r{row}c{col}", row-major from the bottom left."""
    cells = [
        box(i * size, j * size, (i + 1) * size, (j + 1) * size)
        for j in range(ny)
        for i in range(nx)
    ]
    ids = [f"r{j}c{i}" for j in range(ny) for i in range(nx)]
    return gpd.GeoDataFrame({"code": ids}, geometry=cells, crs=5179)


@pytest.fixture
def grid() -> gpd.GeoDataFrame:
    return lattice()


@pytest.fixture
def grid_island() -> gpd.GeoDataFrame:
    """The 3 × 3 lattice plus a square 1 km east of its middle right cell (an island)."""
    g = lattice()
    far = gpd.GeoDataFrame({"code": ["far"]}, geometry=[box(1300, 120, 1400, 180)], crs=5179)
    return gpd.GeoDataFrame(
        gpd.pd.concat([g, far], ignore_index=True), geometry="geometry", crs=5179
    )


@pytest.fixture
def sliver() -> gpd.GeoDataFrame:
    """Two 100 m squares separated by a 1 cm sliver gap."""
    return gpd.GeoDataFrame(
        {"code": ["west", "east"]},
        geometry=[box(0, 0, 100, 100), box(100.01, 0, 200, 100)],
        crs=5179,
    )


@pytest.fixture(scope="module")
def points() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(12345)
    xy = rng.uniform(0, 1000, size=(300, 2))
    return gpd.GeoDataFrame(
        {"pid": [f"p{i:03d}" for i in range(300)]},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=5179,
    )


def pairs(w: W.SpatialWeights) -> set[tuple[object, object]]:
    f = w.to_frame()
    return set(zip(f.focal, f.neighbour, strict=True))


def legacy_pairs(lw: lweights.W) -> set[tuple[object, object]]:
    return {(i, j) for i, nb in lw.neighbors.items() for j in nb}


def assert_same_sparse(a: sparse.sparray, b: sparse.sparray, atol: float = 0.0) -> None:
    b = sparse.csr_array(b)
    b.eliminate_zeros()
    assert a.shape == b.shape
    assert a.nnz == b.nnz
    assert abs(a - b).max() <= atol if a.nnz else True
    assert (
        abs(sparse.csr_array(a != 0).astype(int) - sparse.csr_array(b != 0).astype(int))
    ).nnz == 0


# ---------------------------------------------------------------------- Seoul (real data)
def test_seoul_queen_matches_data_readme(seoul):
    w = W.queen(seoul, ids="dong_code")
    card = w.cardinalities
    assert w.n == 423
    assert len(w.islands) == 0
    assert w.n_components == 1
    assert (card.min(), round(card.mean(), 2), card.max()) == (2, 5.86, 13)
    assert set(w.ids[card == 2]) == {"1117065", "1118059", "1124055", "1125051"}
    assert list(w.ids) == list(seoul.dong_code)


@pytest.mark.parametrize("builder, reference", [(W.queen, lweights.Queen), (W.rook, lweights.Rook)])
def test_seoul_contiguity_equals_libpysal(seoul, builder, reference):
    w = builder(seoul, ids="dong_code")
    ref = reference.from_dataframe(seoul, ids="dong_code", use_index=False)
    assert pairs(w) == legacy_pairs(ref)
    assert len(w.islands) == 0  # README: rook gives no island either


@pytest.mark.parametrize("builder", [W.queen, W.rook])
def test_seoul_small_snap_changes_nothing(seoul, seoul_m, builder):
    """The geometric (snap > 0) rule agrees with the vertex rule on a clean coverage."""
    assert pairs(builder(seoul_m, ids="dong_code", snap=0.01)) == pairs(
        builder(seoul, ids="dong_code")
    )


def test_seoul_snapped_queen_equals_libpysal_fuzzy(seoul_m):
    """dwithin(snap) is libpysal's fuzzy contiguity with each polygon buffered by snap / 2."""
    w = W.queen(seoul_m, ids="dong_code", snap=0.01)
    ref = lgraph.Graph.build_fuzzy_contiguity(seoul_m.set_index("dong_code"), buffer=0.005)
    assert_same_sparse(w.to_sparse(), ref.sparse)


def test_seoul_attach_islands_without_islands(seoul):
    w = W.queen(seoul, ids="dong_code")
    same = w.attach_islands(seoul)
    assert pairs(same) == pairs(w)
    assert same.params["attached_islands"] == {}


def test_seoul_knn_on_centroids_equals_libpysal(seoul_m):
    w = W.knn(seoul_m, 4, ids="dong_code")
    centroids = seoul_m.set_index("dong_code").centroid
    ref = lgraph.Graph.build_knn(centroids, k=4)
    assert_same_sparse(w.to_sparse(), ref.sparse)
    assert w.params["points"] == "centroid"
    assert "centroid" in w.summary()


@pytest.mark.parametrize(
    "build",
    [
        lambda d: W.distance_band(d, 1000.0),
        lambda d: W.knn(d, 4),
        lambda d: W.kernel(d, k=4),
    ],
)
def test_distance_builders_refuse_degrees(seoul, build):
    with pytest.raises(GeometryError, match="geographic CRS"):
        build(seoul)


def test_distance_builders_refuse_missing_crs(points):
    with pytest.raises(GeometryError, match="no coordinate reference system"):
        W.distance_band(points.set_crs(None, allow_override=True), 10.0)


# ---------------------------------------------------------------------- contiguity fixtures
def test_lattice_queen_and_rook_cardinalities(grid):
    q = W.queen(grid, ids="code")
    r = W.rook(grid, ids="code")
    corner, centre = "r0c0", "r1c1"
    assert q.cardinalities[q.ids.get_loc(corner)] == 3
    assert r.cardinalities[r.ids.get_loc(corner)] == 2
    assert q.cardinalities[q.ids.get_loc(centre)] == 8
    assert r.cardinalities[r.ids.get_loc(centre)] == 4
    assert set(r.neighbours(corner)) == {"r0c1", "r1c0"}
    for w in (q, r):
        assert (w.to_sparse() != w.to_sparse().T).nnz == 0
        assert w.kind in {"queen", "rook"} and w.transform == "binary"


@pytest.mark.parametrize("builder", [W.queen, W.rook])
def test_lattice_snap_equals_exact(grid, builder):
    assert pairs(builder(grid, ids="code", snap=0.5)) == pairs(builder(grid, ids="code"))


def test_snap_joins_sliver_gap(sliver):
    with pytest.warns(DongneWarning, match="west, east"):
        exact = W.queen(sliver, ids="code")
    assert list(exact.islands) == ["west", "east"]
    for builder in (W.queen, W.rook):
        w = builder(sliver, ids="code", snap=0.05)
        assert list(w.neighbours("west")) == ["east"]
        assert len(w.islands) == 0
        assert w.params["snap"] == 0.05
    with pytest.warns(DongneWarning):
        assert len(W.queen(sliver, ids="code", snap=0.005).islands) == 2  # gap > tolerance
    fuzzy = lgraph.Graph.build_fuzzy_contiguity(sliver.set_index("code"), buffer=0.025)
    assert_same_sparse(W.queen(sliver, ids="code", snap=0.05).to_sparse(), fuzzy.sparse)


def test_rook_snap_with_misaligned_vertices():
    """A sliver whose two sides have no vertex in common still gives a rook neighbour."""
    areas = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 70), box(100.01, 30, 200, 170)], crs=5179)
    assert list(W.rook(areas, snap=0.05).neighbours(0)) == [1]


def test_rook_snap_keeps_corner_contacts_out():
    """Squares meeting at a corner across a sliver are queen but not rook neighbours."""
    areas = gpd.GeoDataFrame(
        geometry=[box(0, 0, 100, 100), box(100.01, 100.01, 200, 200)], crs=5179
    )
    assert list(W.queen(areas, snap=0.05).neighbours(0)) == [1]
    with pytest.warns(DongneWarning, match="islands"):
        assert len(W.rook(areas, snap=0.05).islands) == 2


def test_snap_needs_metres(seoul):
    with pytest.raises(GeometryError, match="geographic CRS"):
        W.queen(seoul, snap=0.01)


def test_contiguity_rejects_points(points):
    with pytest.raises(GeometryError, match="Contiguity needs polygons"):
        W.queen(points)


@pytest.mark.parametrize("snap", [-1.0, float("nan")])
def test_negative_snap_refused(grid, snap):
    with pytest.raises(SpecificationError, match="snap"):
        W.queen(grid, snap=snap)


# ---------------------------------------------------------------------- islands
def test_island_warned_reported_and_attached(grid_island):
    with pytest.warns(DongneWarning, match=r"islands\): far.*attach_islands"):
        w = W.queen(grid_island, ids="code")
    assert list(w.islands) == ["far"]
    assert w.n_components == 2
    labels = w.component_labels
    assert labels[w.ids.get_loc("far")] != labels[w.ids.get_loc("r0c0")]
    text = w.summary()
    assert "Islands (no neighbour): 1: far." in text
    assert "Connected components: 2 (sizes 9, 1)." in text

    attached = w.attach_islands(grid_island)
    # nearest cell by geometry distance: r1c2 (right column, same height), 1000 m away
    assert list(attached.neighbours("far")) == ["r1c2"]
    assert "far" in attached.neighbours("r1c2")
    assert len(attached.islands) == 0
    assert attached.n_components == 1
    assert attached.params["attached_islands"] == {"far": (("r1c2",), 1000.0)}
    assert "far -> r1c2 (1,000 m)" in attached.summary()
    assert attached.to_sparse().nnz == w.to_sparse().nnz + 2
    assert (attached.to_sparse() != attached.to_sparse().T).nnz == 0


def test_attach_islands_links_all_equally_near_areas():
    areas = lattice()
    areas.loc[9] = ["far", box(1300, 100, 1400, 200)]  # 1000 m from three cells
    with pytest.warns(DongneWarning):
        w = W.queen(areas, ids="code").attach_islands(areas)
    assert list(w.neighbours("far")) == ["r0c2", "r1c2", "r2c2"]


def test_attach_islands_pair_of_islands_and_geographic_input(grid_island):
    """Two islands that are each other's nearest area are linked once, from degrees too."""
    extra = gpd.GeoDataFrame({"code": ["far2"]}, geometry=[box(1300, 300, 1400, 400)], crs=5179)
    areas = gpd.GeoDataFrame(gpd.pd.concat([grid_island, extra], ignore_index=True), crs=5179)
    areas = areas.iloc[::-1].to_crs(4326)  # another order and CRS than the weights
    with pytest.warns(DongneWarning):
        w = W.queen(areas, ids="code")
    with pytest.warns(DongneWarning, match="2 disconnected groups"):
        attached = w.attach_islands(areas)
    assert list(attached.neighbours("far")) == ["far2"]
    assert attached.weights.max() == 1.0
    assert attached.n_components == 2


@quiet
def test_attach_islands_needs_binary_and_the_same_units(grid_island):
    w = W.queen(grid_island, ids="code")
    with pytest.raises(SpecificationError, match="attach first"):
        w.row_standardised().attach_islands(grid_island)
    with pytest.raises(SpecificationError, match="Missing from areas: far"):
        w.attach_islands(grid_island.iloc[:-1])


@quiet
def test_row_standardised_and_binary(grid_island):
    w = W.queen(grid_island, ids="code")
    r = w.row_standardised()
    sums = r.to_sparse().sum(axis=1)
    assert r.transform == "row"
    np.testing.assert_allclose(sums[w.ids != "far"], 1.0, rtol=0, atol=1e-12)
    assert sums[w.ids.get_loc("far")] == 0.0
    np.testing.assert_array_equal(r.indices, w.indices)
    b = r.binary()
    assert b.transform == "binary"
    assert (b.weights == 1.0).all()
    assert pairs(b) == pairs(w)
    r2 = r.row_standardised()
    np.testing.assert_allclose(r2.weights, r.weights)


# ---------------------------------------------------------------------- points vs libpysal
def test_knn_equals_libpysal(points):
    w = W.knn(points, 5, ids="pid")
    ref = lgraph.Graph.build_knn(points.set_index("pid"), k=5)
    assert_same_sparse(w.to_sparse(), ref.sparse)
    assert (w.cardinalities == 5).all()
    assert w.params["points"] == "point"


@quiet
@pytest.mark.parametrize("binary", [True, False])
def test_distance_band_equals_libpysal(points, binary):
    w = W.distance_band(points, 80.0, ids="pid", binary=binary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lgraph.Graph.build_distance_band(points.set_index("pid"), 80.0, binary=binary)
    assert_same_sparse(w.to_sparse(), ref.sparse, atol=1e-15)
    assert w.transform == ("binary" if binary else "none")


@quiet
def test_inverse_distance_exponent(points):
    w1 = W.distance_band(points, 80.0, binary=False, alpha=-1.0).to_sparse()
    w2 = W.distance_band(points, 80.0, binary=False, alpha=-2.0).to_sparse()
    np.testing.assert_allclose(w2.data, w1.data**2)


@pytest.mark.parametrize("function", KERNELS)
@pytest.mark.parametrize("fixed", [True, False])
def test_kernel_k_equals_libpysal(points, function, fixed):
    w = W.kernel(points, k=6, function=function, fixed=fixed)
    xy = np.column_stack([points.geometry.x, points.geometry.y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lweights.Kernel(xy, k=6, function=function, fixed=fixed)
    assert_same_sparse(w.to_sparse(), ref.sparse, atol=1e-12)
    assert w.transform == "none"
    if not fixed:
        assert (np.diff(w.indptr) == 7).all()  # k neighbours plus the self-weight
        assert w.params["bandwidths"].shape == (300,)


@quiet
@pytest.mark.parametrize("function", KERNELS)
def test_kernel_bandwidth_equals_libpysal(points, function):
    w = W.kernel(points, bandwidth=90.0, function=function)
    xy = np.column_stack([points.geometry.x, points.geometry.y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lweights.Kernel(xy, bandwidth=90.0, function=function)
    assert_same_sparse(w.to_sparse(), ref.sparse, atol=1e-12)
    assert w.params["bandwidth"] == 90.0


def test_kernel_without_self(points):
    with_self = W.kernel(points, k=4)
    without = W.kernel(points, k=4, include_self=False)
    assert without.to_sparse().diagonal().sum() == 0.0
    np.testing.assert_allclose(with_self.to_sparse().diagonal(), 1.0)  # triangular K(0)
    np.testing.assert_array_equal(with_self.cardinalities, without.cardinalities)
    assert "Self-weights" in with_self.summary()


def test_adaptive_kernel_keeps_tied_neighbours():
    line = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 1, 2, 3, 4], [0] * 5), crs=5179)
    w = W.kernel(line, k=1, fixed=False)
    assert list(w.neighbours(2)) == [1, 3]  # both at the k-th distance
    assert list(w.neighbours(0)) == [1]


def test_knn_with_coincident_points():
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 0, 0, 5], [0, 0, 0, 0]), crs=5179)
    w = W.knn(pts, 1)
    assert (w.cardinalities == 1).all()
    assert w.to_sparse().diagonal().sum() == 0


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)),
        min_size=3,
        max_size=40,
        unique=True,
    ),
    st.integers(1, 2),
)
def test_knn_property_k_nearest(coords, k):
    """Every unit gets exactly k neighbours, never itself, none farther than any non-neighbour."""
    xy = np.array(coords, dtype=float)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=5179)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DongneWarning)
        w = W.knn(pts, k)
    m = w.to_sparse()
    assert (w.cardinalities == k).all()
    assert m.diagonal().sum() == 0
    for i in range(len(xy)):
        d = np.hypot(*(xy - xy[i]).T)
        d[i] = np.inf
        nb = m.indices[m.indptr[i] : m.indptr[i + 1]]
        others = np.setdiff1d(np.arange(len(xy)), np.append(nb, i))
        assert d[nb].max() <= (d[others].min() if len(others) else np.inf)


@quiet
def test_large_knn_stays_sparse():
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 50_000, size=(20_000, 2))
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=5179)
    w = W.knn(pts, 8)
    m = w.to_sparse()
    assert isinstance(m, sparse.csr_array)
    assert m.nnz == w.n * 8 == w.weights.size


# ---------------------------------------------------------------------- errors and warnings
def test_duplicate_ids_named(grid):
    grid.loc[[3, 5], "code"] = "dup"
    with pytest.raises(SpecificationError, match="these repeat: dup"):
        W.queen(grid, ids="code")


def test_empty_data_refused(grid, points):
    with pytest.raises(SpecificationError, match="no rows"):
        W.queen(grid.iloc[:0])
    with pytest.raises(SpecificationError, match="no rows"):
        W.knn(points.iloc[:0], 1)


def test_missing_id_column(grid):
    with pytest.raises(SpecificationError, match="not a column"):
        W.queen(grid, ids="nope")


@pytest.mark.parametrize("bad", [None, Polygon()])
def test_missing_or_empty_geometry_named(grid, bad):
    grid.loc[4, "geometry"] = bad
    with pytest.raises(GeometryError, match="empty geometry: r1c1"):
        W.queen(grid, ids="code")
    pts = grid.copy()
    pts["geometry"] = [Point(0, i) for i in range(9)]
    pts.loc[4, "geometry"] = Point() if bad is not None else None
    with pytest.raises(GeometryError, match="r1c1"):
        W.knn(pts, 2, ids="code")


@pytest.mark.parametrize("k", [0, 300, 301, 2.0, True])
def test_knn_k_validated(points, k):
    with pytest.raises(SpecificationError, match="'k' parameter"):
        W.knn(points, k)


@pytest.mark.parametrize("threshold", [0.0, -5.0, float("inf")])
def test_threshold_validated(points, threshold):
    with pytest.raises(SpecificationError, match="'threshold' parameter"):
        W.distance_band(points, threshold)


def test_distance_band_all_islands_refused(points):
    with pytest.raises(SpecificationError, match=r"every unit would be an island.*knn") as err:
        W.distance_band(points, 0.001)
    assert "Fix: pass threshold=" in str(err.value)


def test_spec_errors_suggest_specs():
    """Through from_spec (the CLI's --weights, the service's "weights") the fixes are specs."""
    from dongne.datasets import seoul_gu

    gu = seoul_gu()
    with pytest.raises(SpecificationError) as err:
        W.from_spec(gu, "gu_code", "band:10")
    message = str(err.value)
    need = int(message.split("weights='band:")[1].split("'")[0])
    assert "weights='knn:8'" in message and "threshold=" not in message
    assert W.from_spec(gu, "gu_code", f"band:{need}").islands.size == 0


def test_distance_band_some_islands_give_threshold_hint(points):
    with pytest.warns(DongneWarning, match=r"threshold >= [\d,.]+ m would leave no island"):
        W.distance_band(points, 30.0)


def test_distance_band_too_wide_warns(points):
    with pytest.warns(DongneWarning, match="neighbours per unit on average.*knn"):
        w = W.distance_band(points, 5000.0)
    assert (w.cardinalities == 299).all()


def test_distance_band_too_many_pairs_refused(points, monkeypatch):
    monkeypatch.setattr(W, "_MAX_NNZ", 1000)
    with pytest.raises(SpecificationError, match="too many to store"):
        W.distance_band(points, 5000.0)


def test_inverse_distance_refuses_coincident_points():
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 0, 5], [0, 0, 0]), crs=5179)
    with pytest.raises(SpecificationError, match="coincident units: 0=1"):
        W.distance_band(pts, 10.0, binary=False)
    with pytest.raises(SpecificationError, match="'alpha' parameter"):
        W.distance_band(pts, 10.0, binary=False, alpha=1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "exactly one of"),
        ({"k": 3, "bandwidth": 10.0}, "exactly one of"),
        ({"bandwidth": 10.0, "fixed": False}, "needs 'k'"),
        ({"bandwidth": -1.0}, "'bandwidth' parameter"),
        ({"k": 3, "function": "epanechnikov"}, "'function' parameter"),
        ({"k": 300}, "'k' parameter"),
    ],
)
def test_kernel_arguments_validated(points, kwargs, match):
    with pytest.raises(SpecificationError, match=match):
        W.kernel(points, **kwargs)


def test_mixed_geometries_refused(points):
    mixed = points.copy()
    mixed.loc[0, "geometry"] = box(0, 0, 1, 1)
    with pytest.raises(GeometryError, match="points only or polygons only"):
        W.knn(mixed, 3)


# ---------------------------------------------------------------------- the object
def test_csr_arrays_are_canonical_and_read_only(grid):
    w = W.queen(grid)
    m = w.to_sparse()
    assert m.has_sorted_indices and m.dtype == np.float64
    assert w.indptr.dtype == w.indices.dtype == np.int32  # one dtype for compiled kernels
    np.testing.assert_array_equal(w.indptr, m.indptr)
    np.testing.assert_array_equal(w.indices, m.indices)
    np.testing.assert_array_equal(w.weights, m.data)
    with pytest.raises(ValueError, match="read-only"):
        w.weights[0] = 5.0
    m.data[:] = 7.0  # to_sparse returns a copy
    assert (w.weights == 1.0).all()


def test_from_sparse_round_trip_and_validation(grid):
    w = W.queen(grid, ids="code")
    back = W.SpatialWeights.from_sparse(
        w.to_sparse().tocoo(), w.ids, kind="queen", transform="binary"
    )
    assert pairs(back) == pairs(w)
    m = w.to_sparse()
    with pytest.raises(SpecificationError, match=r"scipy\.sparse"):
        W.SpatialWeights.from_sparse(m.toarray(), w.ids)
    with pytest.raises(SpecificationError, match="square"):
        W.SpatialWeights.from_sparse(m[:, :5], w.ids)
    with pytest.raises(SpecificationError, match="ids has 8 entries"):
        W.SpatialWeights.from_sparse(m, w.ids[:8])
    with pytest.raises(SpecificationError, match="non-negative"):
        W.SpatialWeights.from_sparse(-m, w.ids)
    with pytest.raises(SpecificationError, match="transform='binary'"):
        W.SpatialWeights.from_sparse(2 * m, w.ids, transform="binary")
    with pytest.raises(SpecificationError, match="transform='row'"):
        W.SpatialWeights.from_sparse(m, w.ids, transform="row")
    with pytest.raises(SpecificationError, match="'transform' parameter"):
        W.SpatialWeights.from_sparse(m, w.ids, transform="r")
    explicit_zero = sparse.csr_array(([0.0, 1.0], ([0, 0], [1, 2])), shape=(3, 3))
    z = W.SpatialWeights.from_sparse(explicit_zero, ["a", "b", "c"])
    assert list(z.neighbours("a")) == ["c"]


@quiet
def test_to_libpysal(grid_island):
    w = W.queen(grid_island, ids="code")
    g = w.to_libpysal()
    assert isinstance(g, lgraph.Graph)
    assert g.transformation == "B"
    assert list(g.isolates) == ["far"]
    assert_same_sparse(w.to_sparse(), g.sparse)
    r = w.row_standardised().to_libpysal()
    assert r.transformation == "R"
    assert_same_sparse(w.row_standardised().to_sparse(), r.sparse, atol=1e-15)


@quiet
def test_to_frame_and_neighbours(grid_island):
    w = W.queen(grid_island, ids="code")
    frame = w.to_frame()
    assert list(frame.columns) == ["focal", "neighbour", "weight"]
    assert len(frame) == w.weights.size
    assert "far" not in set(frame.focal)
    assert list(frame.loc[frame.focal == "r0c0", "neighbour"]) == list(w.neighbours("r0c0"))
    assert list(w.neighbours("far")) == []
    with pytest.raises(SpecificationError, match="not one of the 10 unit ids"):
        w.neighbours("nowhere")


def test_summary_text(seoul):
    text = W.queen(seoul, ids="dong_code").summary()
    assert "queen contiguity" in text and "423 units" in text
    assert "Parameters: snap=0.0." in text
    assert "mean 5.86, min 2, max 13" in text
    assert "Islands (no neighbour): 0." in text
    assert "Connected components: 1." in text
    assert "Nonzero weights: 2,478 of 178,929" in text


def test_geoseries_input_uses_index(grid):
    s = grid.set_index("code").geometry
    w = W.queen(s)
    assert list(w.ids) == list(grid.code)
