"""Inputs of dongne.allocate: radii, walking times, CRS discipline, and bad specifications."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point

from dongne.allocate import (
    LSCP,
    MCLP,
    LocationProblem,
    PCenter,
    PMedian,
    candidate_grid,
    demand_points,
    parse_radius,
    walking_metres,
    walking_minutes,
)
from dongne.errors import DataError, GeometryError, InfeasibleProblemError, SpecificationError


def _points(xy, crs=5179, **columns):
    return gpd.GeoDataFrame(columns, geometry=[Point(x, y) for x, y in xy], crs=crs)


X0, Y0 = 950_000.0, 1_950_000.0


@pytest.fixture
def layers():
    demand = _points(
        [(X0, Y0), (X0 + 400, Y0), (X0 + 2000, Y0), (X0 + 5000, Y0)],
        code=["d1", "d2", "d3", "d4"],
        hh=[10, 20, 30, 40],
        gu=["A", "A", "B", "B"],
    )
    candidates = _points([(X0 + 200, Y0), (X0 + 2100, Y0), (X0 + 4900, Y0)], sid=["c1", "c2", "c3"])
    existing = _points([(X0 + 1900, Y0)], sid=["e1"])
    return demand, candidates, existing


def test_parse_radius_units():
    assert parse_radius("500m") == 500.0
    assert parse_radius("1.5 km") == 1500.0
    assert parse_radius(250) == 250.0
    assert parse_radius("10min") == pytest.approx(666.6667, rel=1e-6)
    assert parse_radius("10min", speed_kmh=6) == pytest.approx(1000.0)
    assert parse_radius("10min", unit="min") == 10.0
    assert parse_radius("1km", unit="min") == pytest.approx(15.0)
    for bad in ("fast", "-3m", 0, "10 parsecs"):
        with pytest.raises(SpecificationError):
            parse_radius(bad)


def test_walking_helpers_are_inverse():
    assert walking_minutes(500) == pytest.approx(7.5)
    assert walking_metres(walking_minutes(1234.5)) == pytest.approx(1234.5)
    with pytest.raises(SpecificationError):
        walking_minutes(100, speed_kmh=0)


def test_problem_from_geodataframes(layers):
    demand, candidates, existing = layers
    pr = LocationProblem.from_geodataframes(
        demand, candidates, existing, weight="hh", group="gu", demand_id="code",
        candidate_id="sid", existing_id="sid",
    )  # fmt: skip
    assert pr.site_ids.tolist() == ["e1", "c1", "c2", "c3"]
    assert pr.existing.tolist() == [True, False, False, False]
    cover = pr.covering(300)
    assert cover.toarray().tolist() == [
        [0, 1, 0, 0],
        [0, 1, 0, 0],
        [1, 0, 1, 0],
        [0, 0, 0, 1],
    ]
    d, s = pr.nearest(pr.existing)
    assert d[2] == pytest.approx(100) and s.tolist() == [0, 0, 0, 0]


def test_geographic_crs_is_reprojected_never_used_as_distance(layers):
    demand, candidates, existing = layers
    geo = [x.to_crs(4326) for x in (demand, candidates, existing)]
    metric = LocationProblem.from_geodataframes(*layers, weight="hh")
    auto = LocationProblem.from_geodataframes(*geo, weight="hh")
    assert auto.crs.to_epsg() == 5179
    assert np.allclose(auto.distances(), metric.distances(), atol=1e-3)
    with pytest.raises(GeometryError, match="geographic"):
        LocationProblem.from_geodataframes(*geo, weight="hh", crs=None)
    with pytest.raises(GeometryError, match="geographic"):
        LocationProblem.from_geodataframes(*layers, crs=4326)
    with pytest.raises(GeometryError, match="no coordinate reference system"):
        LocationProblem.from_geodataframes(demand.set_crs(None, allow_override=True), candidates)


def test_mismatched_crs_refused_when_not_auto(layers):
    demand, candidates, _ = layers
    with pytest.raises(GeometryError, match="Fix"):
        LocationProblem.from_geodataframes(demand, candidates.to_crs(5186), crs=None)


def test_polygons_are_not_silently_replaced_by_centroids(grid_areas):
    pts = _points([(X0 + 500, Y0 + 500)])
    with pytest.raises(GeometryError, match="demand_points"):
        LocationProblem.from_geodataframes(grid_areas, pts)
    centres = demand_points(grid_areas)
    assert (centres.geom_type == "Point").all() and len(centres) == 9
    assert centres.attrs["dongne"]["demand_points"] == "centroids"


def test_population_weighted_demand_points(grid_areas):
    people = _points([(X0 + 100, Y0 + 100), (X0 + 300, Y0 + 100)], w=[1.0, 3.0])
    pts = demand_points(grid_areas, population=people, population_weight="w")
    first = pts.geometry.iloc[0]
    assert (first.x, first.y) == pytest.approx((X0 + 250, Y0 + 100))
    assert len(pts.attrs["dongne"]["centroid_fallback"]) == 8


def test_candidate_grid_inside_areas(grid_areas):
    grid = candidate_grid(grid_areas, "500m")
    assert len(grid) == 36
    assert grid["site_id"].is_unique


def test_bad_weights_and_ids(layers):
    demand, candidates, _ = layers
    bad = demand.assign(hh=[1, -2, np.nan, 4])
    with pytest.raises(DataError, match="rows 1, 2"):
        LocationProblem.from_geodataframes(bad, candidates, weight="hh")
    dup = demand.assign(code=["d1", "d1", "d3", "d4"])
    with pytest.raises(DataError, match="Duplicate"):
        LocationProblem.from_geodataframes(dup, candidates, demand_id="code")
    with pytest.raises(DataError, match="not found"):
        LocationProblem.from_geodataframes(demand, candidates, weight="people")
    with pytest.raises(DataError, match="NaN or negative"):
        LocationProblem.from_cost_matrix(np.array([[1.0, np.nan]]))


def test_lscp_names_uncoverable_demand(layers):
    pr = LocationProblem.from_geodataframes(*layers, weight="hh", demand_id="code")
    with pytest.raises(InfeasibleProblemError) as err:
        LSCP(radius=150).fit(pr)
    message = str(err.value)
    assert message.startswith("Set covering (LSCP): 2 demand unit(s) have no site")
    assert "d1 (nearest site 200 m), d2 (nearest site 200 m)" in message
    assert "d3" not in message and "raise the radius to at least 200 m" in message
    # Zero weight means no coverage needed.
    ok = LSCP(radius=150).fit(
        LocationProblem.from_geodataframes(
            layers[0].assign(hh=[0, 0, 30, 40]), *layers[1:], weight="hh"
        )
    )
    assert ok.coverage_ == 1.0


def test_p_larger_than_candidates(layers):
    pr = LocationProblem.from_geodataframes(*layers)
    for model in (MCLP(p=4, radius=300), PMedian(p=4), PCenter(p=4)):
        with pytest.raises(InfeasibleProblemError, match="only 3 candidate sites"):
            model.fit(pr)
    with pytest.raises(SpecificationError, match="'p'"):
        MCLP(p=-1, radius=300).fit(pr)


def test_capacity_shortfall_is_named(layers):
    demand, candidates, existing = layers
    pr = LocationProblem.from_geodataframes(
        demand, candidates, existing, weight="hh", capacity=20, existing_capacity=20
    )
    with pytest.raises(InfeasibleProblemError, match="shortfall 40"):
        PMedian(p=2).fit(pr)
    with pytest.raises(InfeasibleProblemError, match="shortfall 20"):
        LSCP(radius=10_000).fit(pr)
    with pytest.raises(SpecificationError, match="all sites or none"):
        LocationProblem.from_geodataframes(demand, candidates, existing, capacity=20)


def test_unreachable_group_share_is_named(layers):
    pr = LocationProblem.from_geodataframes(*layers, weight="hh", group="gu")
    with pytest.raises(InfeasibleProblemError, match=r"A \(at most 0.0% < 50.0%\)"):
        MCLP(p=1, radius=150, min_share={"A": 0.5}).fit(pr)
    with pytest.raises(SpecificationError, match="unknown groups"):
        MCLP(p=1, radius=150, min_share={"Z": 0.5}).fit(pr)
    with pytest.raises(SpecificationError, match="needs groups"):
        MCLP(p=1, radius=150, objective="maxmin").fit(LocationProblem.from_geodataframes(*layers))
    # Reachable but not with p=1: both groups need a new site.
    with pytest.raises(InfeasibleProblemError, match="p is too small"):
        MCLP(p=1, radius=300, min_share=0.9).fit(pr)


def test_parameter_validation_messages(layers):
    pr = LocationProblem.from_geodataframes(*layers)
    with pytest.raises(SpecificationError, match="'method'"):
        MCLP(p=1, radius=300, method="fast").fit(pr)
    with pytest.raises(SpecificationError, match="'objective'"):
        MCLP(p=1, radius=300, objective="most").fit(pr)
    with pytest.raises(SpecificationError, match="'mip_gap'"):
        PMedian(p=1, mip_gap=2).fit(pr)


def test_cost_matrix_dataframe_and_travel_times(layers):
    demand, candidates, existing = layers
    ids = ["e1", "c1", "c2", "c3"]
    minutes = pd.DataFrame(
        [[9, 1, 20, 50], [9, 2, 20, 50], [1, 20, 2, 30], [40, 40, 30, 3]],
        index=["d1", "d2", "d3", "d4"],
        columns=ids,
    )
    pr = LocationProblem.from_geodataframes(
        demand, candidates, existing, demand_id="code", candidate_id="sid", existing_id="sid",
        cost=minutes, cost_unit="min",
    )  # fmt: skip
    model = MCLP(p=1, radius="5min").fit(pr)
    assert model.selected_.tolist() in (["c1"], ["c3"])
    assert pr.unit == "min" and "min" in model.summary()
    with pytest.raises(DataError, match="lacks"):
        LocationProblem.from_geodataframes(
            demand, candidates, demand_id="code", candidate_id="sid", cost=minutes.iloc[:2]
        )


def test_dense_matrix_guard(layers):
    pr = LocationProblem.from_geodataframes(*layers)
    pr.max_dense = 5
    with pytest.raises(SpecificationError, match="max_dense"):
        PMedian(p=1).fit(pr)
    assert MCLP(p=1, radius=300).fit(pr).status_ == "optimal"  # sparse: no dense matrix


def test_results_frames_and_summary(layers):
    pr = LocationProblem.from_geodataframes(
        *layers, weight="hh", group="gu", demand_id="code", candidate_id="sid", existing_id="sid"
    )
    model = MCLP(p=1, radius=300).fit(pr)
    frame = model.to_frame()
    assert list(frame.index) == ["d1", "d2", "d3", "d4"]
    assert {"site", "distance", "covered", "covered_before", "newly_covered"} <= set(frame.columns)
    assert frame.loc["d3", "covered_before"] == 1.0
    new = model.new_sites()
    assert isinstance(new, gpd.GeoDataFrame) and len(new) == 1
    text = model.summary()
    assert "Coverage within 300 m" in text and "커버율" in text
    site = model.selected_[0]
    assert f"New sites: {site}" in text and f"신규 입지: {site}" in text
    ko = model.summary(lang="ko")
    assert "(가중치: hh)" in ko and "weights" not in ko
    equal = MCLP(p=1, radius=300).fit(LocationProblem.from_geodataframes(*layers))
    assert "(가중치: 동일 가중치)" in equal.summary(lang="ko")
    assert model.provenance_["model"].startswith("Maximal covering")
    assert set(model.get_params()) >= {"p", "radius", "min_share", "method"}


def test_summary_counts_demand_that_can_reach_no_site():
    """Beyond the network (inf cost) a bare "Mean access n/a" said nothing: the summary counts
    the demand that cannot reach a site and gives the mean of the demand that can."""
    inf = np.inf
    cost = np.array(
        [[100.0, 900.0], [inf, 200.0], [inf, inf], [300.0, inf]]  # demand 3 reaches nothing
    )
    pr = LocationProblem.from_cost_matrix(cost, [10, 20, 30, 40], existing=[0])
    model = MCLP(p=1, radius=500).fit(pr)
    table = model.groups_after_.loc["all"]
    assert table["unreachable"] == 30 and model.groups_before_.loc["all", "unreachable"] == 50
    # after: demand 0 at 100, 1 at 200, 3 at 300 -> (10*100 + 20*200 + 40*300) / 70
    assert table["mean_access_reachable"] == pytest.approx(17_000 / 70)
    assert np.isinf(table["mean_access"])
    text = model.summary()
    assert "Demand that can reach no site: 50 → 30 of 100 (50.0% → 30.0%)" in text
    assert f"mean access of the demand that can 260 → {17_000 / 70:,.0f} m" in text
    assert "n/a" not in text and "닿지 못하는 수요 50 → 30" in text
