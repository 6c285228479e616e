"""Every command over a catalogue of broken inputs: one line, a fix that exists, nothing written.

For each case the command must exit with status 2, print exactly one line on standard error
(``dongne COMMAND: error: ... Fix: ...``) that names the input at fault, write no output, and
never show a traceback. Every ``--flag`` the fix names must be an option of the command that
printed it, and no Python spelling (``crs='...'``) may be left in a fix. The inputs are
made here from the bundled Seoul data (same kind of file as the originals users reported).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from dongne.cli import COMMANDS, build_parser, main, option_strings
from dongne.datasets import data_path

POLICY = Path(__file__).resolve().parents[2] / "shared" / "reference_data" / "policy"


@dataclass(frozen=True)
class Case:
    """One broken invocation: ``argv`` with ``{dir}`` for the inputs folder, and the text
    (file, column or value) that the one-line error must name."""

    id: str
    argv: tuple[str, ...]
    names: str


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Broken and good inputs of every kind the catalogue needs, in one folder."""
    d = tmp_path_factory.mktemp("catalogue")
    gu = gpd.read_file(data_path("seoul_gu_2013.geojson"))
    gu.to_file(d / "gu.geojson", driver="GeoJSON")
    shutil.copy(data_path("seoul_dong_2013.geojson"), d / "dong.geojson")
    (d / "empty.geojson").write_bytes(b"")
    (d / "truncated.geojson").write_bytes(data_path("seoul_gu_2013.geojson").read_bytes()[:4000])
    (d / "empty.csv").write_bytes(b"")
    census = pd.read_csv(
        data_path("seoul_dong_indicators_census2010.csv"), dtype={"dong_code": str}
    )
    census.iloc[:0].to_csv(d / "header_only.csv", index=False)
    census.to_csv(d / "census.csv", index=False)
    pd.concat([census, census.iloc[:3]]).to_csv(d / "duplicated.csv", index=False)
    # the same rows keyed by 10-digit MOIS-style codes: no code can match the KOSTAT areas
    census.assign(dong_code="99" + census["dong_code"] + "0").to_csv(
        d / "mois_codes.csv", index=False
    )
    shutil.copy(data_path("seoul_dong_code_crosswalk_2010_2013.csv"), d / "crosswalk.csv")
    shutil.copy(data_path("seoul_vote_2022_president_dong.csv"), d / "votes_2022.csv")
    # counts per gu: one NaN, one negative, one fractional
    counts = gu[["gu_code"]].assign(cases=np.arange(25) + 10, pop=1000 + np.arange(25) * 50)
    counts.assign(cases=counts["cases"].where(counts.index != 3)).to_csv(
        d / "nan_counts.csv", index=False
    )
    counts.assign(cases=counts["cases"].where(counts.index != 4, -3)).to_csv(
        d / "negative_counts.csv", index=False
    )
    counts.assign(cases=counts["cases"] + 0.5).to_csv(d / "fraction_counts.csv", index=False)
    # regression designs: a covariate that is twice another, and one that never varies
    counts.assign(pop2=2 * counts["pop"], flat=7.0).to_csv(d / "designs.csv", index=False)
    no_crs = gu.to_crs(5179)
    no_crs.to_file(d / "no_crs.shp")
    (d / "no_crs.prj").unlink()
    # a panel with one row dropped (unbalanced), and a table without coordinates
    panel = pd.read_csv(POLICY / "mpdta.csv")
    panel.iloc[1:].to_csv(d / "unbalanced.csv", index=False)
    panel.to_csv(d / "mpdta.csv", index=False)
    census.to_csv(d / "no_coordinates.csv", index=False)
    # a monthly series with April 2019 missing (gaps in time)
    months = pd.date_range("2019-01-01", periods=24, freq="MS").strftime("%Y-%m-%d")
    series = pd.DataFrame({"month": months, "y": np.arange(24.0)})
    series.drop(index=[3]).to_csv(d / "gap_series.csv", index=False)
    (d / "empty_run").mkdir()
    # space-time tables per gu and day: repeated rows, a negative count, days missing without
    # --freq, a day in 2099, two time zones
    days = pd.date_range("2024-03-01", periods=10, freq="D").strftime("%Y-%m-%d")
    st = pd.DataFrame(
        [(g, day, 1 + k % 3) for k, g in enumerate(gu["gu_code"]) for day in days],
        columns=["gu_code", "date", "cases"],
    )
    pd.concat([st, st.iloc[:2]]).to_csv(d / "st_duplicated.csv", index=False)
    st.drop(index=7).to_csv(d / "st_gap.csv", index=False)  # one (area, day) without a row
    st.assign(cases=st["cases"].where(st.index != 5, -2)).to_csv(d / "st_negative.csv", index=False)
    st[~st["date"].isin(days[[3, 7, 8]])].to_csv(d / "st_irregular.csv", index=False)
    st.assign(date=st["date"].where(st.index != 7, "2099-01-01")).to_csv(
        d / "st_future.csv", index=False
    )
    zoned = st.assign(date=st["date"] + "T09:00:00+09:00")
    zoned.loc[zoned.index % 50 == 0, "date"] = zoned["date"].str.replace("+09:00", "+00:00")
    zoned.to_csv(d / "st_zones.csv", index=False)
    # shelters as Seoul publishes its cold shelters: EPSG:5186 in centimetres, 사용여부 Y/N
    shelters = pd.read_csv(data_path("seoul_heat_shelters_2023.csv"), dtype=str)
    shelters = shelters.rename(columns={"in_use": "사용여부"}).drop(columns=["lon", "lat"])
    shelters["X좌표"] = shelters.pop("x_epsg5186").astype(float) * 100
    shelters["Y좌표"] = shelters.pop("y_epsg5186").astype(float) * 100
    shelters.to_csv(d / "shelters_cm.csv", index=False)
    shelters.assign(X좌표=shelters["X좌표"] / 100, Y좌표=shelters["Y좌표"] / 100).to_csv(
        d / "shelters_m.csv", index=False
    )
    # road lines without a CRS, and a table of points for the access command
    lines = gu.to_crs(5179).head(3).boundary
    gpd.GeoDataFrame(geometry=lines.to_numpy()).to_file(d / "lines_no_crs.gpkg")
    gpd.GeoDataFrame(geometry=gu.to_crs(5179).centroid.to_numpy(), crs=5179).to_file(
        d / "lines_are_points.gpkg"
    )
    return d


CASES = [
    # info
    Case("info-missing-file", ("info", "{dir}/nope.csv"), "nope.csv"),
    Case("info-empty-geojson", ("info", "{dir}/empty.geojson"), "empty.geojson"),
    Case("info-truncated-geojson", ("info", "{dir}/truncated.geojson"), "truncated.geojson"),
    Case("info-wrong-layer", ("info", "{dir}/gu.geojson", "--layer", "dong"), "gu.geojson"),
    Case("info-empty-csv", ("info", "{dir}/empty.csv"), "empty.csv"),
    # join
    Case("join-truncated-areas", ("join", "{dir}/truncated.geojson", "{dir}/census.csv",
                                  "--key", "dong_code", "--out", "{out}"), "truncated.geojson"),
    Case("join-wrong-key", ("join", "{dir}/dong.geojson", "{dir}/census.csv", "--key",
                            "dong_cod", "--out", "{out}"), "dong_cod"),
    Case("join-duplicated-codes", ("join", "{dir}/dong.geojson", "{dir}/duplicated.csv",
                                   "--key", "dong_code", "--out", "{out}"), "duplicated.csv"),
    Case("join-no-crs", ("join", "{dir}/no_crs.shp", "{dir}/census.csv", "--key", "gu_code",
                         "--out", "{out}"), "no_crs.shp"),
    Case("join-header-only-table", ("join", "{dir}/dong.geojson", "{dir}/header_only.csv",
                                    "--key", "dong_code", "--out", "{out}"), "header_only.csv"),
    Case("join-wrong-code-system", ("join", "{dir}/dong.geojson", "{dir}/mois_codes.csv",
                                    "--key", "dong_code", "--out", "{out}"), "mois_codes.csv"),
    Case("join-sums-percentages", ("join", "{dir}/dong.geojson", "{dir}/census.csv", "--key",
                                   "dong_code", "--crosswalk", "{dir}/crosswalk.csv",
                                   "--combine", "sum", "--out", "{out}"),
         "basement_household_pct"),
    Case("detect-sums-percentages", ("detect", "{dir}/dong.geojson", "{dir}/census.csv",
                                     "--id", "dong_code", "--var", "basement_household_pct",
                                     "--crosswalk", "{dir}/crosswalk.csv", "--combine", "sum",
                                     "--out", "{out}", "--quiet"), "basement_household_pct"),
    Case("join-missing-table", ("join", "{dir}/dong.geojson", "{dir}/nope.csv", "--key",
                                "dong_code", "--out", "{out}"), "nope.csv"),
    # a table on the 2022 dongs moved onto the 2013 dongs: vote counts of unknown kind
    Case("join-from-vintage-unknown-kind", ("join", "{dir}/dong.geojson",
                                            "{dir}/votes_2022.csv", "--key", "dong_code",
                                            "--from-vintage", "2022", "--out", "{out}"),
         "electors"),
    Case("join-columns-without-vintage", ("join", "{dir}/dong.geojson", "{dir}/census.csv",
                                          "--key", "dong_code", "--columns", "households",
                                          "--out", "{out}"), "--columns"),
    # points
    Case("points-missing-file", ("points", "dbscan", "{dir}/nope.csv", "--out", "{out}",
                                 "--quiet"), "nope.csv"),
    Case("points-no-coordinates", ("points", "ripley", "{dir}/no_coordinates.csv", "--out",
                                   "{out}", "--quiet"), "no_coordinates.csv"),
    Case("points-centimetres", ("points", "kde", "{dir}/shelters_cm.csv", "--crs", "EPSG:5186",
                                "--out", "{out}", "--quiet"), "shelters_cm.csv"),
    Case("points-typo-id", ("points", "dbscan", "{dir}/shelters_m.csv", "--crs", "EPSG:5186",
                            "--areas", "{dir}/dong.geojson", "--id", "dong_cod", "--out",
                            "{out}", "--quiet"), "dong_cod"),
    Case("points-negative-eps", ("points", "dbscan", "{dir}/shelters_m.csv", "--crs",
                                 "EPSG:5186", "--eps", "-5", "--out", "{out}", "--quiet"),
         "eps"),
    Case("points-ripley-scheduler", ("--scheduler", "processes", "points", "ripley",
                                     "{dir}/shelters_m.csv", "--crs", "EPSG:5186", "--out",
                                     "{out}", "--quiet"), "points ripley"),
    Case("points-typo-population", ("points", "dbscan", "{dir}/shelters_m.csv", "--crs",
                                    "EPSG:5186", "--areas", "{dir}/dong.geojson",
                                    "--background", "{dir}/dong.geojson", "--population",
                                    "household", "--out", "{out}", "--quiet"), "household"),
    # detect
    Case("detect-typo-var", ("detect", "{dir}/gu.geojson", "--id", "gu_code", "--var",
                             "area_km", "--out", "{out}", "--quiet"), "area_km"),
    Case("detect-band-too-small", ("detect", "{dir}/gu.geojson", "--id", "gu_code", "--var",
                                   "area_km2", "--weights", "band:10", "--out", "{out}"),
         "--weights band:"),
    Case("detect-typo-id", ("detect", "{dir}/gu.geojson", "--id", "gu_cod", "--var",
                            "area_km2", "--out", "{out}", "--quiet"), "gu_cod"),
    Case("detect-no-crs", ("detect", "{dir}/no_crs.shp", "--id", "gu_code", "--var",
                           "area_km2", "--out", "{out}", "--quiet"), "no_crs.shp"),
    Case("detect-empty-areas", ("detect", "{dir}/empty.geojson", "--id", "gu_code", "--var",
                                "area_km2", "--out", "{out}", "--quiet"), "empty.geojson"),
    Case("detect-missing-values", ("detect", "{dir}/gu.geojson", "{dir}/nan_counts.csv",
                                   "--id", "gu_code", "--var", "cases", "--out", "{out}",
                                   "--quiet"), "cases"),
    Case("detect-wrong-layer", ("detect", "{dir}/gu.geojson", "--layer", "dong", "--id",
                                "gu_code", "--var", "area_km2", "--out", "{out}"), "gu.geojson"),
    # scan
    Case("scan-typo-cases", ("scan", "{dir}/gu.geojson", "--id", "gu_code", "--cases", "case",
                             "--population", "area_km2", "--out", "{out}", "--quiet"), "case"),
    Case("scan-nan-counts", ("scan", "{dir}/gu.geojson", "{dir}/nan_counts.csv", "--id",
                             "gu_code", "--cases", "cases", "--population", "pop", "--out",
                             "{out}", "--quiet"), "cases"),
    Case("scan-negative-counts", ("scan", "{dir}/gu.geojson", "{dir}/negative_counts.csv",
                                  "--id", "gu_code", "--cases", "cases", "--population", "pop",
                                  "--out", "{out}", "--quiet"), "negative"),
    Case("scan-fraction-counts", ("scan", "{dir}/gu.geojson", "{dir}/fraction_counts.csv",
                                  "--id", "gu_code", "--cases", "cases", "--population", "pop",
                                  "--out", "{out}", "--quiet"), "whole numbers"),
    Case("scan-no-crs", ("scan", "{dir}/no_crs.shp", "--id", "gu_code", "--cases", "area_km2",
                         "--population", "area_km2", "--out", "{out}", "--quiet"), "no_crs.shp"),
    # spacetime
    *[
        Case(f"spacetime-{method}-{what}", ("spacetime", method, "--table",
             f"{{dir}}/st_{what}.csv", "--area", "gu_code", "--time", "date", "--value",
             "cases", "--areas", "{dir}/gu.geojson", "--out", "{out}", "--quiet"), text)
        for method, what, text in (
            ("scan", "duplicated", "st_duplicated.csv"),
            ("scan", "negative", "negative"),
            ("emerging", "irregular", "not regular"),
            ("emerging", "future", "2099"),
            ("markov", "zones", "time zones"),
            ("markov", "duplicated", "st_duplicated.csv"),
            ("markov", "gap", "--fill missing"),
        )
    ],
    Case("spacetime-no-method", ("spacetime",), "spacetime"),
    Case("spacetime-events-without-freq", ("spacetime", "scan", "--events",
                                           "{dir}/st_negative.csv", "--area", "gu_code",
                                           "--out", "{out}", "--quiet"), "--freq"),
    # allocate
    Case("allocate-missing-demand", ("allocate", "--demand", "{dir}/nope.gpkg", "--p", "2",
                                     "--radius", "500m", "--out", "{out}"), "nope.gpkg"),
    Case("allocate-no-crs", ("allocate", "--demand", "{dir}/no_crs.shp", "--p", "2", "--radius",
                             "500m", "--out", "{out}", "--quiet"), "no_crs.shp"),
    Case("allocate-bad-radius", ("allocate", "--demand", "{dir}/gu.geojson", "--p", "2",
                                 "--radius", "3 parsecs", "--out", "{out}", "--quiet"), "parsecs"),
    Case("allocate-no-crs-existing", ("allocate", "--demand", "{dir}/dong.geojson", "--p", "2",
                                      "--radius", "300m", "--existing", "{dir}/shelters_m.csv",
                                      "--out", "{out}", "--quiet"), "shelters_m.csv"),
    Case("allocate-centimetres", ("allocate", "--demand", "{dir}/dong.geojson", "--p", "2",
                                  "--radius", "300m", "--existing", "{dir}/shelters_cm.csv",
                                  "--existing-crs", "EPSG:5186", "--out", "{out}", "--quiet"),
         "centimetres"),
    Case("allocate-filter-typo", ("allocate", "--demand", "{dir}/dong.geojson", "--p", "2",
                                  "--radius", "300m", "--existing", "{dir}/shelters_m.csv",
                                  "--existing-crs", "EPSG:5186", "--existing-filter",
                                  "in_use == 'Y'", "--out", "{out}", "--quiet"), "in_use"),
    Case("allocate-points-outside", ("allocate", "--demand", "{dir}/dong.geojson", "--p", "2",
                                     "--radius", "300m", "--existing", "{dir}/shelters_m.csv",
                                     "--existing-crs", "EPSG:5186", "--outside", "raise",
                                     "--out", "{out}", "--quiet"), "shelters_m.csv"),
    Case("allocate-bad-coverage", ("allocate", "--demand", "{dir}/gu.geojson", "--model", "lscp",
                                   "--radius", "3km", "--coverage", "1.5", "--out", "{out}",
                                   "--quiet"), "1.5"),
    Case("allocate-coverage-not-lscp", ("allocate", "--demand", "{dir}/gu.geojson", "--p", "2",
                                        "--radius", "3km", "--coverage", "0.9", "--out", "{out}",
                                        "--quiet"), "mclp"),
    # access
    Case("access-demand-without-supply", ("access", "{dir}/dong.geojson", "--out", "{out}",
                                          "--quiet"), "SUPPLY"),
    Case("access-typo-capacity", ("access", "{dir}/dong.geojson", "{dir}/shelters_m.csv",
                                  "--supply-crs", "EPSG:5186", "--capacity", "capacity",
                                  "--demand-spacing", "1km", "--out", "{out}", "--quiet"),
         "capacity"),
    Case("access-bad-threshold", ("access", "{dir}/gu.geojson", "{dir}/shelters_m.csv",
                                  "--supply-crs", "EPSG:5186", "--threshold", "3 parsecs",
                                  "--out", "{out}", "--quiet"), "parsecs"),
    Case("access-network-no-crs", ("access", "{dir}/gu.geojson", "{dir}/shelters_m.csv",
                                   "--supply-crs", "EPSG:5186", "--network",
                                   "{dir}/lines_no_crs.gpkg", "--out", "{out}", "--quiet"),
         "no CRS"),
    Case("access-network-of-points", ("access", "{dir}/gu.geojson", "{dir}/shelters_m.csv",
                                      "--supply-crs", "EPSG:5186", "--network",
                                      "{dir}/lines_are_points.gpkg", "--out", "{out}",
                                      "--quiet"), "Point"),
    Case("access-step-without-steps", ("access", "{dir}/gu.geojson", "{dir}/shelters_m.csv",
                                       "--supply-crs", "EPSG:5186", "--decay", "step",
                                       "--out", "{out}", "--quiet"), "--steps"),
    Case("access-added-without-capacity", ("access", "{dir}/gu.geojson", "{dir}/shelters_m.csv",
                                           "--supply-crs", "EPSG:5186", "--capacity",
                                           "capacity_persons", "--added-sites",
                                           "{dir}/lines_are_points.gpkg", "--demand-spacing",
                                           "2km", "--out", "{out}", "--quiet"),
         "capacities"),
    Case("allocate-network-no-crs", ("allocate", "--demand", "{dir}/gu.geojson", "--p", "2",
                                     "--radius", "10min", "--network",
                                     "{dir}/lines_no_crs.gpkg", "--out", "{out}", "--quiet"),
         "no CRS"),
    # regions
    Case("regions-interpolate-unknown-kind", ("regions", "interpolate", "--source",
                                              "{dir}/dong.geojson", "--target",
                                              "{dir}/gu.geojson", "--source-id", "dong_code",
                                              "--target-id", "gu_code", "--columns",
                                              "area_km2", "--out", "{out}"), "area_km2"),
    Case("regions-interpolate-one-vintage", ("regions", "interpolate", "--source",
                                             "{dir}/dong.geojson", "--out", "{out}"),
         "--target"),
    Case("regions-maxp-floor-too-high", ("regions", "maxp", "{dir}/gu.geojson", "--id",
                                         "gu_code", "--attributes", "area_km2",
                                         "--floor-column", "area_km2", "--floor", "1e9",
                                         "--out", "{out}"), "floor"),
    Case("regions-skater-typo-attribute", ("regions", "skater", "{dir}/gu.geojson", "--id",
                                           "gu_code", "--attributes", "area_km",
                                           "--n-regions", "3", "--out", "{out}"), "area_km"),
    Case("regions-typology-typo-indicator", ("regions", "typology", "{dir}/gu.geojson", "--id",
                                             "gu_code", "--indicators", "area_km", "--out",
                                             "{out}"), "area_km"),
    # evaluate
    Case("evaluate-did-typo-outcome", ("evaluate", "did", "--panel", "{dir}/mpdta.csv", "--unit",
                                       "countyreal", "--time", "year", "--outcome", "lemq",
                                       "--first-treated", "first.treat", "--out", "{out}"),
         "lemq"),
    Case("evaluate-did-unbalanced", ("evaluate", "did", "--panel", "{dir}/unbalanced.csv",
                                     "--unit", "countyreal", "--time", "year", "--outcome",
                                     "lemp", "--first-treated", "first.treat", "--out", "{out}"),
         "8001"),
    Case("evaluate-its-missing-file", ("evaluate", "its", "--series", "{dir}/nope.csv", "--time",
                                       "t", "--outcome", "y", "--start", "3", "--out", "{out}"),
         "nope.csv"),
    Case("evaluate-its-gaps", ("evaluate", "its", "--series", "{dir}/gap_series.csv", "--time",
                               "month", "--outcome", "y", "--start", "2020-01-01", "--out",
                               "{out}"), "2019-04"),
    # learn
    Case("learn-cv-typo-target", ("learn", "cv", "{dir}/gu.geojson", "--id", "gu_code",
                                  "--target", "area_km", "--features", "area_km2", "--out",
                                  "{out}", "--quiet"), "area_km"),
    # explain
    Case("explain-typo-y", ("explain", "ols", "{dir}/gu.geojson", "--id", "gu_code", "--y",
                            "area_km", "--x", "area_km2", "--out", "{out}", "--quiet"), "area_km"),
    Case("explain-missing-values", ("explain", "ols", "{dir}/gu.geojson", "{dir}/nan_counts.csv",
                                    "--id", "gu_code", "--y", "cases", "--x", "pop", "--out",
                                    "{out}", "--quiet"), "11040"),
    Case("explain-collinear", ("explain", "lag", "{dir}/gu.geojson", "{dir}/designs.csv", "--id",
                               "gu_code", "--y", "cases", "--x", "pop,pop2", "--out", "{out}",
                               "--quiet"), "pop2"),
    Case("explain-gm-error-collinear", ("explain", "gm_error", "{dir}/gu.geojson",
                                        "{dir}/designs.csv", "--id", "gu_code", "--y", "cases",
                                        "--x", "pop,pop2", "--gm-variant", "het", "--out",
                                        "{out}", "--quiet"), "pop2"),
    Case("explain-constant", ("explain", "ols", "{dir}/gu.geojson", "{dir}/designs.csv", "--id",
                              "gu_code", "--y", "cases", "--x", "pop,flat", "--out", "{out}",
                              "--quiet"), "flat"),
    Case("explain-islands", ("explain", "ols", "{dir}/gu.geojson", "--id", "gu_code", "--y",
                             "area_km2", "--x", "gu_code", "--weights", "band:4000", "--out",
                             "{out}", "--quiet"), "island"),
    Case("explain-too-few-for-gwr", ("explain", "gwr", "{dir}/gu.geojson", "--id", "gu_code",
                                     "--y", "area_km2", "--x", "gu_code", "--out", "{out}",
                                     "--quiet"), "25 observations"),
    Case("explain-areas-without-columns", ("explain", "ols", "{dir}/gu.geojson", "--out", "{out}",
                                           "--quiet"), "--id"),
    # share
    Case("share-show-no-registry", ("share", "--registry", "{dir}/registry", "show", "nope"),
         "registry"),
    # report
    Case("report-empty-run", ("report", "{dir}/empty_run"), "empty_run"),
    Case("report-missing-run", ("report", "{dir}/no_such_run"), "no_such_run"),
    # demo and serve
    Case("demo-out-is-a-file", ("demo", "--out", "{dir}/census.csv", "--quiet"), "census.csv"),
    Case("serve-bad-database-url", ("serve", "--data-dir", "{out}", "--database-url",
                                    "nosuch://x", "--create-user", "admin"), "nosuch://x"),
    # datasets
    Case("datasets-unknown", ("datasets", "export", "no-such-data", "{out}"), "no-such-data"),
    # a global option a command does not use is refused, not ignored
    Case("scheduler-refused", ("--scheduler", "processes", "info", "{dir}/gu.geojson"),
         "--scheduler"),
]  # fmt: skip

_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_PYTHON_HINT = re.compile(r"\b[a-z_]+=['\"\[{\w]")


def _command(argv: list[str]) -> str:
    """The command name in ``argv`` (after any global options)."""
    return next(a for a in argv if a in COMMANDS)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_input_gives_one_line_with_a_fix_that_exists(case, inputs, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [a.format(dir=inputs, out=out) for a in case.argv]
    before = sorted(p.name for p in inputs.iterdir())
    code = main(argv)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    command = _command(argv)
    assert code == 2, captured.err
    assert len(lines) == 1, captured.err
    line = lines[0]
    assert line.startswith(f"dongne {command}: error: ")
    assert "Traceback" not in captured.err + captured.out
    assert case.names in line
    assert "Fix:" in line or case.id == "scheduler-refused", line
    assert not out.exists(), f"{out} was written although the command failed"
    assert sorted(p.name for p in inputs.iterdir()) == before
    # every fix the message suggests is an option of this command (or a global option)
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    allowed = option_strings(sub) | {"--scheduler", "--debug", "--version"}
    fix = line.partition("Fix:")[2]
    for flag in _FLAG.findall(line):
        assert flag in allowed, f"{flag} is not an option of dongne {command}: {line}"
    said_as_flags = re.sub(r"--[a-z][\w-]*(\s+[^\s-]\S*)?", "", fix)  # "--rate a=b/c" is fine
    assert not _PYTHON_HINT.search(said_as_flags), f"Python spelling left in the fix: {line}"


def test_debug_shows_the_traceback(inputs):
    with pytest.raises(Exception, match="nope.csv"):
        main(["--debug", "info", str(inputs / "nope.csv")])


def test_every_command_is_in_the_catalogue():
    covered = {_command(list(c.argv)) for c in CASES}
    assert covered >= set(COMMANDS), set(COMMANDS) - covered


def test_learn_choices_agree_with_the_workflow():
    from dongne.cli import learn as cli_learn
    from dongne.learn import workflow

    assert tuple(workflow.MODELS) == cli_learn.MODELS
    assert tuple(workflow.REGRET_METHODS) == cli_learn.REGRET_METHODS
