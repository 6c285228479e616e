"""run_allocate on the bundled Seoul data: cooling shelters for semi-basement households."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from dongne.allocate import MCLP, LocationProblem, pareto_sweep, run_allocate
from dongne.datasets import seoul_dongs, seoul_gu, seoul_heat_shelters
from dongne.errors import DongneWarning, SpecificationError


@pytest.fixture(scope="module")
def seoul():
    dongs = seoul_dongs()
    shelters = seoul_heat_shelters()
    shelters = shelters[(shelters["in_use"] == "Y") & (shelters["coord_check"] == "ok")]
    return dongs, shelters


@pytest.fixture(scope="module")
def shelter_run(seoul, tmp_path_factory):
    dongs, shelters = seoul
    out = tmp_path_factory.mktemp("allocate")
    # The old one-centroid-per-dong demand, asked for explicitly (its numbers are pinned here;
    # tests/test_allocate_demand.py covers the default grid demand).
    with pytest.warns(DongneWarning, match="423 demand areas is reduced to one point"):
        result = run_allocate(
            dongs,
            out,
            model="mclp",
            candidates="grid",
            grid_spacing="500m",
            existing=shelters,
            existing_id="facility_id",
            p=20,
            radius="300m",
            weight="basement_households",
            demand_id="dong_code",
            equity_by="gu_name",
            boundaries=seoul_gu(indicators=False),
            pareto=3,
            demand_method="centroid",
        )
    return result, out


def test_shelter_workflow_writes_everything(shelter_run):
    _, out = shelter_run
    for name in (
        "new_sites.gpkg",
        "demand.gpkg",
        "new_sites.csv",
        "assignment.csv",
        "groups.csv",
        "map_before.png",
        "map_after.png",
        "pareto.csv",
        "pareto.png",
        "summary.txt",
    ):
        assert (out / name).is_file(), name
    sites = gpd.read_file(out / "new_sites.gpkg", layer="new_sites")
    assert len(sites) == 20 and sites.crs.to_epsg() == 5179
    assert {"lon", "lat", "site_id", "demand_served"} <= set(sites.columns)
    demand = gpd.read_file(out / "demand.gpkg")
    assert len(demand) == 423
    table = pd.read_csv(out / "assignment.csv", encoding="utf-8-sig", dtype={"demand_id": str})
    assert table["demand_id"].str.len().eq(7).all()
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "Coverage within 300 m" in summary and "커버율" in summary and "파레토" in summary


def test_shelter_coverage_improves(shelter_run):
    result, _ = shelter_run
    model = result.model
    assert model.status_ == "optimal"
    assert model.coverage_ > model.coverage_before_
    assert 0.8 < model.coverage_before_ < 0.95
    assert model.objective_ == pytest.approx(
        model.coverage_ * result.problem.weights.sum(), rel=1e-9
    )
    groups = result.groups
    assert len(groups) == 26 and "coverage_before" in groups.columns
    assert (groups["coverage"] >= groups["coverage_before"] - 1e-12).all()
    areas = result.areas
    assert {"coverage_before", "coverage_after", "distance_after"} <= set(areas.columns)
    pareto = result.pareto
    assert pareto["pareto"].any()
    assert pareto["worst_group_coverage"].iloc[-1] >= pareto["worst_group_coverage"].iloc[0]
    assert pareto["coverage"].iloc[-1] <= pareto["coverage"].iloc[0] + 1e-12


def test_pmedian_with_points_and_areas(seoul, tmp_path):
    dongs, shelters = seoul
    gu = seoul_gu(indicators=False)
    sample = dongs[dongs["gu_name"].isin(["종로구", "중구"])]
    from dongne.allocate import demand_points

    pts = demand_points(sample)
    result = run_allocate(
        pts,
        tmp_path,
        model="pmedian",
        candidates=shelters[shelters["gu_name_from_address"].isin(["종로구", "중구"])].head(60),
        candidate_id="facility_id",
        p=3,
        radius="400m",
        weight="households",
        demand_id="dong_code",
        areas=gu[gu["gu_name"].isin(["종로구", "중구"])] if "gu_name" in gu else None,
    )
    assert result.model.status_ == "optimal"
    assert len(result.new_sites) == 3
    assert (tmp_path / "summary.txt").is_file()


def test_run_allocate_refuses_bad_options(seoul, tmp_path):
    dongs, _ = seoul
    with pytest.raises(SpecificationError, match="'model'"):
        run_allocate(dongs, tmp_path, model="kmeans", p=3, radius=300)
    with pytest.raises(SpecificationError, match="needs p"):
        run_allocate(dongs, tmp_path, model="mclp", radius=300)
    with pytest.raises(SpecificationError, match="needs a radius"):
        run_allocate(dongs, tmp_path, model="lscp")


def test_pareto_sweep_directly(seoul):
    dongs, shelters = seoul
    from dongne.allocate import demand_points

    problem = LocationProblem.from_geodataframes(
        demand_points(dongs),
        demand_points(dongs),
        shelters,
        weight="basement_households",
        group="gu_name",
    )
    frame = pareto_sweep(problem, p=5, radius=250, n_points=3)
    assert {"min_share", "coverage", "worst_group_coverage", "gini_access", "pareto"} <= set(
        frame.columns
    )
    best = MCLP(p=5, radius=250).fit(problem)
    assert frame["coverage"].iloc[0] == pytest.approx(best.coverage_)


def test_maps_carry_the_data_source(seoul, tmp_path, monkeypatch):
    import dongne.report
    import dongne.report.maps

    dongs, _ = seoul
    notes = []
    for module in (dongne.report, dongne.report.maps):
        real = module.choropleth

        def recording(*args, _real=real, **kwargs):
            notes.append(kwargs.get("note"))
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, "choropleth", recording)
    run_allocate(dongs, tmp_path, model="mclp", candidates="centroids", p=2, radius="300m",
                 weight="basement_households", demand_id="dong_code",
                 demand_spacing="400m", source="KOSTAT 2010 census")  # fmt: skip
    assert len(notes) == 2 and all(n.endswith("Data: KOSTAT 2010 census") for n in notes)
