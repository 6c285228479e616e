import warnings

import pytest

from dongne import datasets
from dongne.errors import DataError


def test_seoul_dongs_with_indicators_and_published_totals():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the bundled joins are complete: no warning at all
        dongs = datasets.seoul_dongs()
    assert len(dongs) == 423 and dongs.crs.to_epsg() == 4326
    assert dongs["dong_code"].is_unique
    assert int(dongs["households"].sum()) == 3_504_297  # published 2010 Seoul total
    assert int(dongs["basement_households"].sum()) == 308_660
    assert dongs["basement_household_pct"].notna().all()
    hyehwa = dongs.set_index("dong_code").loc["1101073"]
    assert hyehwa["basement_household_pct"] == pytest.approx(100 * 656 / 7927, abs=0.005)
    assert int(dongs["heat_shelters_2023"].sum()) == 4079
    assert int(dongs["cctv_cameras_2023"].sum()) == 83_954
    reports = dongs.attrs["dongne"]["match_reports"]
    assert [r["complete"] for r in reports] == [True, True]
    assert reports[0]["crosswalk"]["translated"] == 8


def test_seoul_dongs_without_crosswalk_reports_the_gap():
    with pytest.warns(Warning, match="7 area"):
        dongs = datasets.seoul_dongs(crosswalk=False)
    assert dongs["households"].isna().sum() == 7


def test_seoul_gu_totals():
    gu = datasets.seoul_gu()
    assert len(gu) == 25
    assert int(gu["basement_households_2015"].sum()) == 228_467
    assert int(gu["basement_household_members_2015"].sum()) == 426_919
    assert int(gu["pop_total"].sum()) == 9_631_482
    assert int(gu["pop_65plus"].sum()) == 928_956
    assert set(gu["gu_code_mois"]) >= {"11110", "11140"}


def test_points():
    assert len(datasets.seoul_heat_shelters()) == 4133
    cctv = datasets.seoul_cctv()
    assert len(cctv) == 83_734 and int(cctv["n_cameras"].sum()) == 84_013


def test_attribution_and_paths():
    assert "KOSTAT" in datasets.attribution()
    with pytest.raises(
        DataError, match=r"No bundled file 'nope\.csv'. Bundled files: .*README\.md"
    ):
        datasets.data_path("nope.csv")


def test_bundled_files_identical_to_shared(seoul_shared):
    for name in [
        "seoul_dong_2013.geojson",
        "seoul_dong_indicators_census2010.csv",
        "raw/seoul_basic.csv",
        "seoul_heat_shelters_2023.csv",
    ]:
        assert datasets.data_path(name).read_bytes() == (seoul_shared / name).read_bytes()


def test_catalogue_lists_every_bundled_file_with_a_licence(tmp_path):
    from pathlib import Path

    from dongne.datasets import CATALOGUE, catalogue, data_path, export

    table = catalogue()
    assert len(table) == len(CATALOGUE) == 15
    assert table["licence"].str.len().gt(5).all() and table["source"].str.len().gt(5).all()
    assert all(Path(p).is_file() for p in table["path"])
    copied = export("seoul-dong-2013", tmp_path / "data")
    assert copied.read_bytes() == data_path("seoul_dong_2013.geojson").read_bytes()
    assert (tmp_path / "data" / "README_dongne_data.md").is_file()
    with pytest.raises(DataError, match="exists already"):
        export("seoul-dong-2013", tmp_path / "data")


def test_datasets_command_lists_and_exports(tmp_path, capsys):
    from dongne.cli import main

    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert "seoul-heat-shelters-2023" in listing and "KOGL" in listing
    assert main(["datasets", "export", "seoul-gu-2013", str(tmp_path)]) == 0
    assert (tmp_path / "seoul_gu_2013.geojson").is_file()
