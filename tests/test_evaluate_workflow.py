"""``dongne evaluate did|scm|its`` end to end, the demo's illustrative evaluation and reports.

References: mpdta (R ``did`` printouts, published in the issue and methods notes; moderndid and
linearmodels as independent implementations), Prop 99 (the HiGHS/pysyncon-checked fit of
``tests/test_evaluate_synth.py``), a simulated count series against statsmodels, and the
published Seoul totals for the demo's panel.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dongne import __version__
from dongne.cli import main as dongne_main
from dongne.datasets import data_path
from dongne.demo.evaluate import run_demo_evaluation
from dongne.evaluate.panel import panel_from_frame
from dongne.evaluate.staggered import att_gt
from dongne.report.document import read_run, render_html

POLICY = Path(__file__).parents[2] / "shared/reference_data/policy"
MPDTA = POLICY / "mpdta.csv"
PROP99 = POLICY / "california_prop99.csv"


def main(argv: list[str]) -> int:
    """``dongne evaluate ARGV``."""
    return dongne_main(["evaluate", *argv])


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def provenance(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".provenance.json").read_text("utf-8"))


def assert_every_file_has_provenance(out: Path) -> None:
    files = [p for p in out.iterdir() if not p.name.endswith(".provenance.json")]
    assert files
    for p in files:
        record = provenance(p)
        assert record["dongne_version"] == __version__, p.name


def did_args(out: Path, *extra: str) -> list[str]:
    return [
        "did",
        "--panel",
        MPDTA,
        "--unit",
        "countyreal",
        "--time",
        "year",
        "--outcome",
        "lemp",
        "--first-treated",
        "first.treat",
        "--out",
        out,
        *extra,
    ]


@pytest.fixture(scope="module")
def cs_run(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("cs") / "mpdta-cs"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([str(a) for a in did_args(out, "--bootstrap", "99", "--seed", "1")]) == 0
    return out, (out / "summary.txt").read_text("utf-8")


@pytest.fixture(scope="module")
def scm_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scm") / "prop99"
    argv = ["scm", "--panel", PROP99, "--wide", "--treated", "California", "--start", "1989"]
    argv += ["--placebos", "--leave-one-out", "--n-starts", "0", "--out", out]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([str(a) for a in argv]) == 0
    return out


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "evaluate"
    steps: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outputs = run_demo_evaluation(out, progress=steps.append)
    return out, outputs, steps


# ----------------------------------------------------------------------------- did: mpdta
def test_did_cs_reproduces_the_published_mpdta_numbers(cs_run):
    out, summary = cs_run
    cells = pd.read_csv(out / "did_att_gt.csv", encoding="utf-8-sig")
    att = cells.set_index(["group", "time"])["att"]
    # R did::att_gt, never-treated controls, no covariates (issue 9, methods notes f2)
    for t, value in zip(
        [2004, 2005, 2006, 2007], [-0.0105, -0.0704, -0.1373, -0.1008], strict=True
    ):
        assert att[(2004, t)] == pytest.approx(value, abs=5e-5)
    effects = pd.read_csv(out / "did_effects.csv", encoding="utf-8-sig")
    overall = effects[effects["level"] == "overall"].set_index("aggregation")["estimate"]
    assert overall["simple"] == pytest.approx(-0.0400, abs=5e-5)
    assert overall["group"] == pytest.approx(-0.0310, abs=5e-5)
    assert set(effects["aggregation"]) == {"simple", "group", "dynamic", "calendar"}
    assert "-0.03995" in summary and "-0.03995입니다" in summary  # English, then Korean
    assert summary.index("Callaway & Sant'Anna") < summary.index("Callaway–Sant'Anna 추정")
    assert "chi2 = 7.79 on 5 df, p = 0.168" in summary
    units = pd.read_csv(out / "did_units.csv", encoding="utf-8-sig")
    assert units["role"].value_counts().to_dict() == {"control": 309, "treated": 191}
    assert (out / "did_event_study.png").stat().st_size > 10_000
    assert_every_file_has_provenance(out)
    params = provenance(out / "did_effects.csv")["parameters"]
    assert params["estimator"] == "cs" and params["seed"] == 1 and params["bootstrap"] == 99
    assert params["command"] == "dongne evaluate did"
    assert provenance(out / "did_effects.csv")["inputs"]["panel"]["source"] == str(MPDTA)


def test_did_cs_prints_summary_and_files(tmp_path, capsys):
    code, printed, _ = cli(capsys, *did_args(tmp_path / "r", "--bootstrap", "0"))
    assert code == 0
    assert "the average effect of the policy on 'lemp' after treatment is -0.03995" in printed
    assert "did_effects.csv" in printed and str((tmp_path / "r").resolve()) in printed


def test_did_cs_with_covariate_equals_the_api(tmp_path, capsys):
    # att_gt with lpop equals moderndid to 1e-6 (test_evaluate_staggered); here the command
    # must hand --covariates, --method and --control through unchanged.
    out = tmp_path / "cov"
    code, _, _ = cli(
        capsys,
        *did_args(out, "--covariates", "lpop", "--method", "ipw", "--control", "notyet"),
        "--bootstrap",
        "0",
    )
    assert code == 0
    panel = panel_from_frame(
        pd.read_csv(MPDTA),
        unit="countyreal",
        time="year",
        outcome="lemp",
        first_treated="first.treat",
        covariates=["lpop"],
    )
    ref = att_gt(panel, method="ipw", control="notyet", bootstrap=0)
    cells = pd.read_csv(out / "did_att_gt.csv", encoding="utf-8-sig")
    np.testing.assert_allclose(cells["att"], ref.cells["att"], rtol=1e-12, atol=1e-15)
    effects = pd.read_csv(out / "did_effects.csv", encoding="utf-8-sig")
    ours = effects.query("aggregation == 'simple'")["estimate"].iloc[0]
    assert ours == pytest.approx(ref.aggregate("simple").overall, rel=1e-12)
    params = provenance(out / "did_effects.csv")["parameters"]
    assert params["covariates"] == ["lpop"] and params["method"] == "ipw"


def test_did_twfe_with_wild_bootstrap_equals_panelols(tmp_path, capsys):
    linearmodels = pytest.importorskip("linearmodels")
    out = tmp_path / "twfe"
    code, printed, _ = cli(
        capsys, *did_args(out, "--estimator", "twfe", "--bootstrap", "199", "--seed", "3")
    )
    assert code == 0
    frame = pd.read_csv(MPDTA)
    frame["D"] = ((frame["first.treat"] > 0) & (frame["year"] >= frame["first.treat"])) * 1.0
    indexed = frame.set_index(["countyreal", "year"])
    ref = linearmodels.PanelOLS(
        indexed["lemp"], indexed[["D"]], entity_effects=True, time_effects=True
    ).fit(cov_type="clustered", cluster_entity=True)
    row = pd.read_csv(out / "did_effects.csv", encoding="utf-8-sig").iloc[0]
    assert row["estimate"] == pytest.approx(ref.params["D"], abs=1e-8)
    assert row["se"] == pytest.approx(ref.std_errors["D"], abs=1e-8)
    assert row["wild_ci_low"] < row["estimate"] < row["wild_ci_high"]
    assert 0 < row["wild_p_value"] < 0.05
    assert "wild cluster bootstrap (webb, 199 draws, seed 3)" in printed
    assert (out / "did_effects.png").exists()


def test_did_bacon_explains_twfe_against_cs(tmp_path, capsys):
    out = tmp_path / "bacon"
    code, printed, _ = cli(capsys, *did_args(out, "--estimator", "bacon"))
    assert code == 0
    by_type = pd.read_csv(out / "did_bacon_by_type.csv", encoding="utf-8-sig").set_index("type")
    # Goodman-Bacon weights on mpdta (docs/evaluate-did.md; sum of weight x estimate = TWFE)
    assert by_type["weight"].round(4).to_dict() == {
        "treated vs never treated": 0.8628,
        "earlier vs later treated": 0.0833,
        "later vs earlier treated (forbidden)": 0.0539,
    }
    comparisons = pd.read_csv(out / "did_bacon.csv", encoding="utf-8-sig")
    twfe = float((comparisons["weight"] * comparisons["estimate"]).sum())
    assert twfe == pytest.approx(-0.0365, abs=5e-5)
    assert provenance(out / "did_bacon.csv")["parameters"]["twfe"] == pytest.approx(twfe)
    assert "Callaway & Sant'Anna average effect is -0.03995" in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--estimator", "2x2", "--covariates", "lpop"), "takes no covariates"),
        (("--spillover", "exclude"), "--spillover needs the area polygons"),
        (("--ring", "2"), "add --spillover"),
        (("--estimator", "nonsense"), None),
    ],
)
def test_did_bad_options_exit_2(tmp_path, capsys, extra, message):
    if message is None:
        with pytest.raises(SystemExit) as exc:
            main([str(a) for a in did_args(tmp_path / "x", *extra)])
        assert exc.value.code == 2
        return
    code, _, err = cli(capsys, *did_args(tmp_path / "x", *extra))
    assert code == 2 and message in err and err.startswith("dongne evaluate: error:")


def test_did_treated_units_need_start_and_unknown_column_is_named(tmp_path, capsys):
    base = ["did", "--panel", MPDTA, "--unit", "countyreal", "--time", "year"]
    code, _, err = cli(
        capsys, *base, "--outcome", "lemp", "--treated-units", "8001", "--out", tmp_path
    )
    assert code == 2 and "--treated-units needs --start" in err
    code, _, err = cli(
        capsys, *base, "--outcome", "jobs", "--first-treated", "first.treat", "--out", tmp_path
    )
    assert code == 2 and "'jobs'" in err and "lemp" in err


def test_evaluate_without_method_exits_2(capsys):
    code, _, err = cli(capsys)
    assert code == 2 and "dongne evaluate did" in err


# ----------------------------------------------------------------------------- scm: Prop 99
def test_scm_prop99_weights_gap_and_placebo_p(scm_run):
    out = scm_run
    weights = pd.read_csv(out / "scm_weights.csv", encoding="utf-8-sig").set_index("donor")
    # = the HiGHS simplex least-squares optimum, within 0.025 of pysyncon (test_evaluate_synth)
    assert weights["weight"].round(4).head(6).to_dict() == {
        "Utah": 0.3939,
        "Montana": 0.2318,
        "Nevada": 0.2049,
        "Connecticut": 0.1091,
        "New Hampshire": 0.0454,
        "Colorado": 0.0148,
    }
    path = pd.read_csv(out / "scm_path.csv", encoding="utf-8-sig").set_index("Year")
    assert path.loc[2000, "gap"] == pytest.approx(-26.6, abs=0.05)  # ADH 2010: about -26
    params = provenance(out / "scm_path.csv")["parameters"]
    assert params["pre_rmspe"] == pytest.approx(1.6564, abs=1e-4)
    assert params["average_post_gap"] == pytest.approx(-19.51, abs=0.01)
    assert params["placebo_p_value"] == pytest.approx(3 / 39)
    placebos = pd.read_csv(out / "scm_placebos.csv", encoding="utf-8-sig")
    assert placebos.sort_values("rank")["unit"].head(3).tolist() == [
        "Missouri",
        "Virginia",
        "California",
    ]
    loo = pd.read_csv(out / "scm_leave_one_out.csv", encoding="utf-8-sig").set_index("Year")
    assert (loo["loo_min"] <= loo["gap"] + 1e-9).all() and (
        loo["gap"] <= loo["loo_max"] + 1e-9
    ).all()
    summary = (out / "summary.txt").read_text("utf-8")
    assert "p = 0.077" in summary and "공간 위약(placebo) 검정" in summary
    for name in ("scm_path.png", "scm_placebos.png", "scm_leave_one_out.png"):
        assert (out / name).stat().st_size > 10_000
    assert_every_file_has_provenance(out)


def test_scm_long_table_and_bad_start(tmp_path, capsys):
    wide = pd.read_csv(PROP99)
    long = wide.melt(id_vars="Year", var_name="state", value_name="packs")
    long.to_csv(tmp_path / "long.csv", index=False)
    argv = ["scm", "--panel", tmp_path / "long.csv", "--unit", "state", "--time", "Year"]
    argv += ["--outcome", "packs", "--treated", "California", "--n-starts", "0"]
    code, _, _ = cli(capsys, *argv, "--start", "1989", "--out", tmp_path / "long")
    assert code == 0
    weights = pd.read_csv(tmp_path / "long" / "scm_weights.csv", encoding="utf-8-sig")
    assert weights["weight"].iloc[0] == pytest.approx(0.3939, abs=1e-4)
    code, _, err = cli(capsys, *argv, "--start", "spring", "--out", tmp_path / "bad")
    assert code == 2 and "'spring' is not a number" in err
    code, _, err = cli(
        capsys, "scm", "--panel", PROP99, "--treated", "California", "--start", "1989"
    )
    assert code == 2 and "--wide" in err


# ----------------------------------------------------------------------------- its
def test_its_count_series_equals_statsmodels(tmp_path, capsys):
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(2017)
    month = pd.date_range("2002-01-01", "2006-12-01", freq="MS")
    t = np.arange(len(month))
    pop = np.linspace(4.9e6, 5.0e6, len(month))
    ban = month >= "2005-01-01"
    rate = np.exp(np.log(pop) - 9.9 + 0.003 * t - 0.12 * ban + 0.05 * np.sin(2 * np.pi * t / 12))
    events = rng.poisson(rate)
    series = pd.DataFrame({"month": month.strftime("%Y-%m-%d"), "events": events, "pop": pop})
    series.to_csv(tmp_path / "series.csv", index=False)
    out = tmp_path / "its"
    code, printed, _ = cli(
        capsys,
        "its",
        "--series",
        tmp_path / "series.csv",
        "--time",
        "month",
        "--outcome",
        "events",
        "--start",
        "2005-01-01",
        "--family",
        "quasipoisson",
        "--offset",
        "pop",
        "--seasonality",
        "fourier",
        "--out",
        out,
    )
    assert code == 0
    after = (t >= 36).astype(float)
    design = np.column_stack(
        [np.ones_like(t), t, after, (t - 36) * after]
        + [f(2 * np.pi * k * t / 12) for k in (1, 2) for f in (np.sin, np.cos)]
    )
    ref = sm.GLM(events, design, family=sm.families.Poisson(), offset=np.log(pop)).fit(
        cov_type="HAC", cov_kwds={"maxlags": 3}, tol=1e-14
    )
    coefficients = pd.read_csv(out / "its_coefficients.csv", encoding="utf-8-sig")
    np.testing.assert_allclose(coefficients["estimate"], ref.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(coefficients["std_error"], ref.bse, rtol=1e-7)
    effects = pd.read_csv(out / "its_effects.csv", encoding="utf-8-sig").set_index("effect")
    ratio = effects.loc["level change (rate ratio)"]
    assert ratio["estimate"] == pytest.approx(np.exp(ref.params[2]), rel=1e-8)
    assert ratio[["ci_low", "ci_high"]].to_numpy() == pytest.approx(np.exp(ref.conf_int()[2]))
    assert "relative effect at 2006-12-01" in effects.index
    served = pd.read_csv(out / "its_series.csv", encoding="utf-8-sig")
    assert served["month"].iloc[0] == "2002-01-01" and served["post"].sum() == 24
    assert "rate ratio at the start 0.913" in printed and "발생률비" in printed
    assert_every_file_has_provenance(out)


def test_controlled_its_recovers_a_known_change(tmp_path, capsys):
    t = np.arange(24)
    treated = 10 + 0.5 * t + 3 * (t >= 12) + 0.25 * np.maximum(t - 12, 0)
    comparison = 8 + 0.5 * t + np.sin(t)
    frame = pd.DataFrame(
        {
            "t": np.tile(t, 2),
            "y": np.concatenate([treated + np.sin(t), comparison]),
            "series": ["policy"] * 24 + ["other"] * 24,
        }
    )
    frame.to_csv(tmp_path / "pair.csv", index=False)
    code, _, _ = cli(
        capsys,
        "its",
        "--series",
        tmp_path / "pair.csv",
        "--time",
        "t",
        "--outcome",
        "y",
        "--start",
        "12",
        "--group",
        "series",
        "--treated-group",
        "policy",
        "--out",
        tmp_path / "cits",
    )
    assert code == 0
    effects = pd.read_csv(tmp_path / "cits" / "its_effects.csv", encoding="utf-8-sig")
    estimates = effects.set_index("effect")["estimate"]
    assert estimates["level change"] == pytest.approx(3.0, abs=1e-9)
    assert estimates["slope change per period"] == pytest.approx(0.25, abs=1e-9)
    assert "controlled ITS" in (tmp_path / "cits" / "summary.txt").read_text("utf-8")


# ----------------------------------------------------------------------------- demo
def test_demo_evaluation_is_illustrative_and_built_from_real_outcomes(demo_run):
    out, outputs, steps = demo_run
    assert len(steps) == 1
    summary = (out / "summary.txt").read_text("utf-8")
    assert summary.startswith("ILLUSTRATIVE EXAMPLE — a demonstration of the method, not evidence")
    assert "예시 분석 — 방법을 보여 주기 위한 것이며 어떤 정책 효과의 근거도 아닙니다" in summary
    panel = pd.read_csv(out / "did_panel.csv", encoding="utf-8-sig", dtype={"gu_code": str})
    totals = panel.groupby("year")[["basement_households", "households"]].sum()
    # published Seoul totals: 2010 census 308,660 of 3,504,297; 2015 census 228,467 of 3,785,433
    assert totals.loc[2010].tolist() == [308_660, 3_504_297]
    assert totals.loc[2015].tolist() == [228_467, 3_785_433]
    assert "8.81% (2010), 6.04% (2015)" in summary
    census = pd.read_csv(data_path("seoul_dong_indicators_census2010.csv"), dtype={"gu_code": str})
    jongno = census[census["gu_code"] == "11010"]
    share = 100 * jongno["basement_households"].sum() / jongno["households"].sum()
    row = panel.query("gu_code == '11010' and year == 2010")["basement_share_pct"].iloc[0]
    assert row == pytest.approx(share, rel=1e-12)
    treated = set(panel.loc[panel["first_treated"] == 2015, "gu_code"])
    assert treated == {"11010", "11170", "11080", "11020", "11100", "11200"}

    units = pd.read_csv(out / "did_units.csv", encoding="utf-8-sig", dtype={"gu_code": str})
    roles = units.set_index("gu_code")["role"]
    assert roles.value_counts().to_dict() == {"exposed": 14, "treated": 6, "control": 5}
    clean = roles.index[roles == "control"]
    assert set(clean) == {"11160", "11230", "11240", "11250", "11050"}  # 강서 강남 송파 강동 광진

    # The 2x2 estimate is the difference of mean changes (treated vs clean comparison gu)
    wide = panel.pivot(index="gu_code", columns="year", values="basement_share_pct")
    change = wide[2015] - wide[2010]
    exposed = roles.index[roles == "exposed"]
    effects = pd.read_csv(out / "did_effects.csv", encoding="utf-8-sig").set_index("effect_on")
    assert effects.loc["treated", "estimate"] == pytest.approx(
        change[sorted(treated)].mean() - change[clean].mean(), abs=1e-10
    )
    assert effects.loc["exposed (spillover)", "estimate"] == pytest.approx(
        change[exposed].mean() - change[clean].mean(), abs=1e-10
    )
    assert effects.loc["treated", "n_clusters"] == 11
    lo, hi = effects.loc["treated", ["wild_ci_low", "wild_ci_high"]]
    assert lo < effects.loc["treated", "estimate"] < hi
    params = provenance(out / "did_effects.csv")["parameters"]
    assert params["bootstrap"] == 999 and params["bootstrap_weights"] == "webb"
    assert params["spillover"]["handling"] == "exposure"
    assert (out / "did_design_map.png").stat().st_size > 50_000
    assert_every_file_has_provenance(out)
    assert outputs.summary + "\n" == summary


def test_demo_panel_through_the_cli_gives_the_same_numbers(demo_run, tmp_path, capsys):
    out, _, _ = demo_run
    argv = ["did", "--panel", out / "did_panel.csv", "--unit", "gu_code", "--time", "year"]
    argv += ["--outcome", "basement_share_pct", "--first-treated", "first_treated"]
    argv += ["--estimator", "2x2", "--bootstrap", "999", "--seed", "2026"]
    argv += ["--spillover", "exposure", "--areas", data_path("seoul_gu_2013.geojson")]
    argv += ["--id", "gu_code", "--ring", "1", "--name", "gu_name", "--out", tmp_path / "again"]
    code, _, _ = cli(capsys, *argv)
    assert code == 0
    ours = pd.read_csv(tmp_path / "again" / "did_effects.csv", encoding="utf-8-sig")
    demo = pd.read_csv(out / "did_effects.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(ours, demo, check_exact=False, rtol=1e-12)


def test_distance_rule_of_0_m_finds_the_contiguity_neighbours(demo_run, tmp_path, capsys):
    out, _, _ = demo_run
    argv = ["did", "--panel", out / "did_panel.csv", "--unit", "gu_code", "--time", "year"]
    argv += ["--outcome", "basement_share_pct", "--first-treated", "first_treated"]
    argv += ["--estimator", "2x2", "--bootstrap", "0", "--spillover", "exclude"]
    argv += ["--areas", data_path("seoul_gu_2013.geojson"), "--id", "gu_code"]
    code, printed, _ = cli(capsys, *argv, "--distance", "0", "--out", tmp_path / "d0")
    assert code == 0 and "within 0 m of a treated area, handling 'exclude'" in printed
    ours = pd.read_csv(tmp_path / "d0" / "did_units.csv", encoding="utf-8-sig", dtype=str)
    demo = pd.read_csv(out / "did_units.csv", encoding="utf-8-sig", dtype=str)
    assert ours["role"].tolist() == demo["role"].tolist()
    effects = pd.read_csv(tmp_path / "d0" / "did_effects.csv", encoding="utf-8-sig")
    assert effects["effect_on"].tolist() == ["treated"]  # excluded, no own estimate


def test_bacon_without_never_treated_compares_with_not_yet_treated(tmp_path, capsys):
    frame = pd.read_csv(MPDTA)
    frame = frame[frame["first.treat"] > 0]
    frame.to_csv(tmp_path / "treated_only.csv", index=False)
    argv = ["did", "--panel", tmp_path / "treated_only.csv", "--unit", "countyreal"]
    argv += ["--time", "year", "--outcome", "lemp", "--first-treated", "first.treat"]
    code, printed, _ = cli(capsys, *argv, "--estimator", "bacon", "--out", tmp_path / "b")
    assert "Callaway & Sant'Anna average effect" in printed
    assert code == 0
    params = provenance(tmp_path / "b" / "did_bacon.csv")["parameters"]
    assert params["control"] == "notyet"
    by_type = pd.read_csv(tmp_path / "b" / "did_bacon_by_type.csv", encoding="utf-8-sig")
    assert "treated vs never treated" not in set(by_type["type"])
    assert by_type["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    code, _, err = cli(capsys, *argv, "--out", tmp_path / "cs")
    assert code == 2 and "Fix: use --control notyet" in err  # the fix said as the flag


# ----------------------------------------------------------------------------- reports
def test_report_of_an_evaluate_run_shows_the_effects(cs_run):
    out, _ = cs_run
    run = read_run(out)
    text = render_html(out, lang="en")
    assert "Did the policy work? Difference-in-differences" in text
    assert "Group-time effects ATT(g,t)" in text
    assert "-0.0400" in text and "-0.0310" in text and "-0.1373" in text
    assert "Callaway, B. &amp; Sant&#x27;Anna" in text
    assert "Appendix" not in text  # every file of the run is claimed by the section
    assert len(run.files) == 5


def test_report_of_the_scm_run_and_the_demo(scm_run, demo_run):
    text = render_html(scm_run, lang="both")
    assert "Synthetic control: California" in text and "0.3939" in text and "0.07692" in text
    assert "In-space placebos" in text and "Appendix" not in text
    out, _, _ = demo_run
    text = render_html(out, lang="ko")
    assert "예시 분석" in text and "평가 설계" in text
    assert "Appendix" not in text and "부록" not in text


def test_run_did_cs_two_periods_writes_the_wild_bootstrap_row(tmp_path):
    from dongne.demo.evaluate import _seoul_gu_basement_panel
    from dongne.evaluate.workflow import run_did

    frame, _, _ = _seoul_gu_basement_panel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = run_did(
            frame,
            tmp_path,
            unit="gu_code",
            time="year",
            outcome="basement_share_pct",
            first_treated="first_treated",
        )
    effects = pd.read_csv(out.files["effects"])
    row = effects[(effects.aggregation == "simple") & (effects.level == "overall")].iloc[0]
    assert row.estimate == pytest.approx(0.731974, abs=1e-6)
    assert row.wild_p_value == pytest.approx(out.result.wild.p_value, abs=1e-12)
    assert f"p = {row.wild_p_value:.3g}, wild cluster bootstrap" in out.summary
    assert "The panel has two periods (2010, 2015)" in out.summary  # under Notes


def test_run_its_quarters_as_text_with_a_gap(tmp_path):
    from dongne.errors import DataError
    from dongne.evaluate.workflow import run_its

    quarters = pd.period_range("2015Q1", "2022Q4", freq="Q").astype(str)
    t = np.arange(len(quarters))
    series = pd.DataFrame({"quarter": quarters, "y": 5 + 0.2 * t + 2.0 * (t >= 20)})
    series["y"] += 0.01 * np.sin(t)
    gap = series.drop(index=[7])  # 2016Q4 missing
    with pytest.raises(DataError, match="1 quarter\\(s\\) between 2015Q1 and 2022Q4 have no row"):
        run_its(gap, tmp_path / "a", time="quarter", outcome="y", start="2020Q1")
    out = run_its(gap, tmp_path / "b", time="quarter", outcome="y", start="2020Q1", gaps="time")
    assert out.result.level_change.estimate == pytest.approx(2.0, abs=0.05)
    assert out.result.provenance["missing_periods"] == ["2016Q4"]
    assert "2016Q4" in out.files["effects"].with_name("its_effects.csv.provenance.json").read_text()
