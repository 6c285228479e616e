import json
import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from dongne.cli import main


def test_help_teaches(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for word in ("demo", "info", "join", "examples:", "--crosswalk"):
        assert word in out


def test_console_script_runs():
    out = subprocess.run(
        [sys.executable, "-m", "dongne.cli", "join", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--strict" in out and "match report" in out


def test_info_shows_korean_columns_without_hint(seoul_shared, capsys):
    assert main(["info", str(seoul_shared / "raw" / "seoul_basic.csv")]) == 0
    out = capsys.readouterr().out
    assert "encoding: cp949" in out
    assert "기초생활수급_노인비율" in out and "한부모가구비율" in out and "종로구" in out
    assert "rows: 25" in out


def test_info_geopackage_layers(seoul_shared, capsys):
    assert main(["info", str(seoul_shared / "seoul_boundaries_2013_epsg5174.gpkg")]) == 0
    out = capsys.readouterr().out
    assert "layer 'dong': 423 features, Polygon, CRS EPSG:5174" in out
    assert "layer 'gu': 25 features" in out


def test_info_kosis_title_lines(seoul_shared, capsys):
    main(["info", str(seoul_shared / "raw" / "kosis_census2010_population_by_gu_age.csv")])
    out = capsys.readouterr().out
    assert "title lines above the header: 2" in out and "rows: 7728" in out


def test_join_writes_geopackage_and_report(tmp_path, seoul_dong_path, census_path, capsys):
    out = tmp_path / "joined.gpkg"
    assert (
        main(
            [
                "join",
                str(seoul_dong_path),
                str(census_path),
                "--key",
                "dong_code",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "placed on an area: 416" in text and "1111075 공릉1·3동" in text
    gdf = gpd.read_file(out)
    assert len(gdf) == 423 and gdf["households"].notna().sum() == 416
    report = json.loads((tmp_path / "joined.gpkg.match.json").read_text(encoding="utf-8"))
    assert report["matched_rows"] == 416
    prov = json.loads((tmp_path / "joined.gpkg.provenance.json").read_text(encoding="utf-8"))
    assert prov["inputs"]["match_reports"][0]["matched_rows"] == 416
    assert prov["parameters"]["key"] == "dong_code"


def test_join_strict_fails_and_writes_nothing(tmp_path, seoul_dong_path, census_path, capsys):
    out = tmp_path / "joined.gpkg"
    rc = main(
        [
            "join",
            str(seoul_dong_path),
            str(census_path),
            "--key",
            "dong_code",
            "--strict",
            "--out",
            str(out),
        ]
    )
    assert rc == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "strict join failed" in err and "1102061 신당1동" in err


def test_join_with_crosswalk_strict(tmp_path, seoul_dong_path, census_path, crosswalk_path, capsys):
    out = tmp_path / "j.gpkg"
    assert (
        main(
            [
                "join",
                str(seoul_dong_path),
                str(census_path),
                "--key",
                "dong_code",
                "--crosswalk",
                str(crosswalk_path),
                "--combine",
                "households=sum,basement_households=sum",
                "--strict",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert gpd.read_file(out)["households"].sum() == 3_504_297


def test_join_crosswalk_combine_sum_needs_rate(
    tmp_path, seoul_dong_path, census_path, crosswalk_path, capsys
):
    # The README's tour line: --combine sum refuses the percentage, --rate recomputes it.
    out = tmp_path / "j.gpkg"
    args = ["join", str(seoul_dong_path), str(census_path), "--key", "dong_code"]
    args += ["--crosswalk", str(crosswalk_path), "--combine", "sum", "--strict", "--out", str(out)]
    assert main(args) == 2 and not out.exists()
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "7.19 + 10.02" in err and "--rate col=numerator/denominator*100" in err
    rate = ["--rate", "basement_household_pct=basement_households/households*100"]
    assert main(args + rate) == 0
    frame = gpd.read_file(out).set_index("dong_code")
    assert frame.loc["1101073", "basement_household_pct"] == pytest.approx(
        100 * 656 / 7927, abs=1e-12
    )  # 8.28 %, not 17.21
    assert frame["households"].sum() == 3_504_297
    prov = json.loads((tmp_path / "j.gpkg.provenance.json").read_text(encoding="utf-8"))
    assert prov["parameters"]["rates"] == [rate[1]]
    kinds = ["--column-kind", "basement_household_pct=count"]  # declared: summed as asked
    assert main(args + kinds) == 0
    assert gpd.read_file(out).set_index("dong_code").loc[
        "1101073", "basement_household_pct"
    ] == pytest.approx(17.21)
    first = ["--combine", "sum,dong_name=first", *rate]  # a bare rule for the columns not named
    assert main([*args[:-5], *first, "--strict", "--out", str(out)]) == 0
    hyehwa = gpd.read_file(out).set_index("dong_code").loc["1101073"]
    assert hyehwa["dong_name_table"] == "혜화동" and hyehwa["households"] == 7927
    assert main([*args, "--column-kind", "basement_household_pct"]) == 2
    assert "expected COL=KIND" in capsys.readouterr().err


def test_join_places_nothing_exits_2(tmp_path, seoul_dong_path, capsys):
    table = tmp_path / "mois.csv"
    table.write_text("adm_code_mois,n\n1111051500,1\n1111053000,2\n", encoding="utf-8")
    out = tmp_path / "j.gpkg"
    args = ["join", str(seoul_dong_path), str(table), "--key", "dong_code"]
    assert main([*args, "--table-key", "adm_code_mois", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no table row was placed" in err and "10-digit MOIS" in err and "--crosswalk" in err
    assert not out.exists()
    table.write_text("dong_code,n\n", encoding="utf-8")
    assert main([*args, "--out", str(out)]) == 2
    assert "but no data rows" in capsys.readouterr().err and not out.exists()


def test_join_min_match_and_name_column(tmp_path, seoul_dong_path, census_path, capsys):
    census = pd.read_csv(census_path, dtype=str)
    census = census[["dong_code", "gu_name", "dong_name", "households"]].iloc[:100]
    census.loc[:49, "dong_code"] = "9" + census.loc[:49, "dong_code"].str[1:]
    table = tmp_path / "half.csv"
    census.to_csv(table, index=False)
    out = tmp_path / "j.gpkg"
    args = ["join", str(seoul_dong_path), str(table), "--key", "dong_code", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "WARNING: only 50 of 100 table rows (50.0 %)" in printed
    assert "line 2 of half.csv: 9101053 사직동" in printed  # dong names, not 종로구
    assert "different names" not in printed
    assert main([*args, "--min-match", "0.5", "--name-column", "gu_name"]) == 0
    printed = capsys.readouterr().out
    assert "WARNING" not in printed and "line 2 of half.csv: 9101053 종로구" in printed


def test_errors_are_one_line_with_fix(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dongne info: error: File not found") and "Traceback" not in err


@pytest.mark.parametrize("flag", ["--version"])
def test_version(flag, capsys):
    with pytest.raises(SystemExit):
        main([flag])
    assert capsys.readouterr().out.startswith("dongne ")


def test_detect_command(tmp_path, seoul_dong_path, census_path, capsys):
    out = tmp_path / "det"
    rc = main(
        [
            "detect",
            str(seoul_dong_path),
            str(census_path),
            "--id",
            "dong_code",
            "--var",
            "basement_household_pct",
            "--missing",
            "label",
            "--group",
            "gu_name",
            "--method",
            "moran,lisa,gistar",
            "--permutations",
            "199",
            "--seed",
            "3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "placed on an area: 416" in printed  # the match report of the table join
    assert "Global Moran's I of basement_household_pct over 416 areas" in printed
    assert "Use at least 16639 permutations" in printed  # the permutation floor, in words
    gdf = gpd.read_file(out / "detect.gpkg", layer="areas")
    assert len(gdf) == 423
    assert (gdf.loc[gdf["households"].isna(), "lisa_label"] == "undefined").all()
    for name in (
        "lisa_map.png",
        "gistar_map.png",
        "summary.txt",
        "match_report.json",
        "global_moran.csv",
        "detect.csv",
    ):
        assert (out / name).exists()
    prov = json.loads((out / "detect.gpkg.provenance.json").read_text(encoding="utf-8"))
    assert prov["parameters"]["seed"] == 3 and prov["parameters"]["permutations"] == 199


def test_scheduler_option_gives_identical_results(tmp_path, seoul_dong_path, census_path):
    """--scheduler processes spreads the permutations over worker processes: same numbers."""
    args = [
        "detect", str(seoul_dong_path), str(census_path), "--id", "dong_code",
        "--var", "basement_household_pct", "--missing", "drop", "--method", "moran,lisa",
        "--permutations", "99", "--seed", "5", "--quiet", "--out",
    ]  # fmt: skip
    assert main([*args, str(tmp_path / "threads")]) == 0
    assert main(["--scheduler", "processes", *args, str(tmp_path / "procs")]) == 0
    threads = pd.read_csv(tmp_path / "threads" / "detect.csv")
    procs = pd.read_csv(tmp_path / "procs" / "detect.csv")
    pd.testing.assert_frame_equal(threads, procs)
    assert threads["lisa_p_value"].notna().sum() == 416


def test_detect_index_needs_indicators(tmp_path, seoul_dong_path, census_path, capsys):
    rc = main(
        [
            "detect",
            str(seoul_dong_path),
            str(census_path),
            "--id",
            "dong_code",
            "--var",
            "basement_household_pct",
            "--missing",
            "drop",
            "--method",
            "index",
            "--out",
            str(tmp_path / "x"),
            "--quiet",
        ]
    )
    assert rc == 2 and "needs indicators" in capsys.readouterr().err
    rc = main(
        [
            "detect",
            str(seoul_dong_path),
            str(census_path),
            "--id",
            "dong_code",
            "--var",
            "basement_household_pct",
            "--missing",
            "drop",
            "--method",
            "index",
            "--indicator",
            "basement_household_pct:+",
            "--indicator",
            "households:-",
            "--top-k",
            "10",
            "--out",
            str(tmp_path / "y"),
            "--quiet",
        ]
    )
    assert rc == 0
    gdf = gpd.read_file(tmp_path / "y" / "detect.gpkg")
    assert gdf["index_rank"].notna().sum() == 416 and "index_p_top_10" in gdf.columns


def test_detect_bad_weights_spec(tmp_path, seoul_dong_path, capsys):
    rc = main(
        [
            "detect",
            str(seoul_dong_path),
            "--id",
            "dong_code",
            "--var",
            "area_km2",
            "--weights",
            "hexagon",
            "--out",
            str(tmp_path / "z"),
        ]
    )
    assert rc == 2 and "knn:K" in capsys.readouterr().err


def test_info_cp949_shapefile_without_cpg(tmp_path, capsys):
    import pyogrio
    from shapely import box

    layer = gpd.GeoDataFrame({"이름": ["종로구"]}, geometry=[box(0, 0, 1, 1)], crs=5179)
    pyogrio.write_dataframe(layer, tmp_path / "a.shp", encoding="cp949")
    (tmp_path / "a.cpg").unlink()
    assert main(["info", str(tmp_path / "a.shp")]) == 0
    out = capsys.readouterr().out
    assert "encoding: cp949 (detected in a.dbf" in out and "종로구" in out and "EPSG:5179" in out


def test_scan_command(tmp_path, seoul_dong_path, census_path, capsys):
    out = tmp_path / "scan"
    rc = main(
        [
            "scan",
            str(seoul_dong_path),
            str(census_path),
            "--id",
            "dong_code",
            "--cases",
            "basement_households",
            "--population",
            "households",
            "--replications",
            "99",
            "--missing",
            "drop",
            "--seed",
            "1",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "Left out for missing counts (7)" in printed
    gdf = gpd.read_file(out / "scan.gpkg", layer="areas")
    assert len(gdf) == 423
    assert (gdf.loc[gdf["households"].isna(), "scan_label"] == "undefined").all()
    for name in ("scan_map.png", "scan_clusters.csv", "scan_summary.txt", "match_report.json"):
        assert (out / name).exists()


def test_scan_needs_a_denominator(tmp_path, seoul_dong_path, capsys):
    rc = main(
        [
            "scan",
            str(seoul_dong_path),
            "--id",
            "dong_code",
            "--cases",
            "base_year",
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert rc == 2 and "--population COL or --expected COL" in capsys.readouterr().err


def test_allocate_command(tmp_path, capsys):
    from dongne.datasets import data_path

    out = tmp_path / "al"
    rc = main(
        [
            "allocate",
            "--demand",
            str(data_path("seoul_gu_2013.geojson")),
            "--id",
            "gu_code",
            "--weight",
            "area_km2",
            "--candidates",
            "centroids",
            "--p",
            "3",
            "--radius",
            "1km",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "MCLP" in printed or "최대 커버링" in printed
    assert len(gpd.read_file(out / "new_sites.gpkg")) == 3
    assert (out / "map_after.png").exists() and (out / "summary.txt").exists()
    rc = main(
        [
            "allocate",
            "--demand",
            str(data_path("seoul_gu_2013.geojson")),
            "--p",
            "30",
            "--radius",
            "1km",
            "--candidates",
            "centroids",
            "--out",
            str(out / "x"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "dongne allocate: error: p=30 new sites" in err


def test_warnings_name_the_commands_flags(tmp_path, capsys):
    """A library warning's advice ("Pass outside='keep'") is said as the command's flag; an
    argument the command has no flag for stays as it was."""
    import warnings

    from dongne.cli import warning_hints

    options = frozenset({"--outside", "--crs"})
    assert warning_hints("2 left out. Pass outside='keep' to keep them.", options, {}) == (
        "2 left out. Pass --outside keep to keep them."
    )
    assert warning_hints("Pass ids=None to use the index.", options, {}) == (
        "Pass ids=None to use the index."
    )
    areas = tmp_path / "areas.geojson"
    gpd.GeoDataFrame(
        {"code": ["a"]}, geometry=[box(195_000, 545_000, 197_000, 547_000)], crs=5186
    ).to_file(areas)
    points = tmp_path / "points.csv"
    rows = [(195_100 + 37 * i % 1800, 545_100 + 53 * i % 1800) for i in range(60)]
    points.write_text(
        "x,y\n" + "".join(f"{x},{y}\n" for x, y in rows) + "250000,600000\n", encoding="utf-8"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["points", "kde", str(points), "--areas", str(areas), "--x", "x", "--y", "y",
                     "--crs", "EPSG:5186", "--out", str(tmp_path / "kde"), "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    said = [str(w.message) for w in caught if "outside" in str(w.message)]
    assert said and all("--outside keep" in s and "outside='" not in s for s in said), said


def test_warnings_print_as_one_line_of_the_command(tmp_path):
    """Through the console script a warning is one line "dongne CMD: warning: ...", not
    Python's "file:line: Category: ..." with a source line (a DongneWarning pointed at the
    console script's own "sys.exit(main())")."""
    areas = tmp_path / "areas.geojson"
    gpd.GeoDataFrame(
        {"code": ["a"]}, geometry=[box(195_000, 545_000, 197_000, 547_000)], crs=5186
    ).to_file(areas)
    points = tmp_path / "points.csv"
    rows = [(195_100 + 37 * i % 1800, 545_100 + 53 * i % 1800) for i in range(60)]
    points.write_text(
        "x,y\n" + "".join(f"{x},{y}\n" for x, y in rows) + "250000,600000\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "dongne.cli", "points", "kde", str(points), "--areas", str(areas),
         "--x", "x", "--y", "y", "--crs", "EPSG:5186", "--out", str(tmp_path / "kde"),
         "--quiet"],
        capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "always"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "outside" in line]
    assert lines and all(line.startswith("dongne points: warning: ") for line in lines), lines
    assert "--outside keep" in lines[0] and "sys.exit" not in done.stderr


def test_allocate_partial_coverage_command(tmp_path, capsys):
    """--coverage 0.6: the fewest sites bringing 60 % of the weight within the radius, equal to
    the partial set-covering MIP solved here by SciPy's HiGHS on the written points."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    from dongne.datasets import data_path

    out = tmp_path / "psc"
    argv = ["allocate", "--demand", str(data_path("seoul_gu_2013.geojson")), "--id", "gu_code",
            "--weight", "area_km2", "--candidates", "centroids", "--model", "lscp", "--radius",
            "4km", "--demand-method", "centroid", "--out", str(out), "--quiet"]  # fmt: skip
    with pytest.warns(UserWarning, match="one point"):
        assert main([*argv, "--coverage", "0.6"]) == 0
    assert "--coverage" not in capsys.readouterr().err
    demand = gpd.read_file(out / "demand.gpkg")
    sites = gpd.read_file(out / "new_sites.gpkg")
    w = demand["weight"].to_numpy()
    xy = np.c_[demand.geometry.x, demand.geometry.y]
    near = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)) <= 4000  # units × candidates
    n = len(w)
    # z_i <= sum_j near_ij y_j,  sum_i w_i z_i >= 0.6 sum w;  variables y (n), z (n)
    cover = LinearConstraint(np.c_[-near.astype(float), np.eye(n)], -np.inf, 0)
    share = LinearConstraint(np.r_[np.zeros(n), w][None], 0.6 * w.sum(), np.inf)
    ref = milp(np.r_[np.ones(n), np.zeros(n)], constraints=[cover, share],
               integrality=np.r_[np.ones(n), np.zeros(n)], bounds=Bounds(0, 1))  # fmt: skip
    assert ref.status == 0
    assert len(sites) == round(ref.fun) == 7
    chosen = np.isin(demand["demand_id"].astype(str), sites["site_id"].astype(str))
    covered = near[:, chosen].any(axis=1)
    assert w[covered].sum() >= 0.6 * w.sum() * (1 - 1e-12)
    assert demand["covered"].to_numpy() @ w == pytest.approx(w[covered].sum(), rel=1e-9)
