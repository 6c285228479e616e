"""Registry, model card, safe storage and predict-by-reference (dongne.share)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dongne.errors import DataError, SpecificationError
from dongne.learn.robust import GroupDRO
from dongne.share import (
    InputSchema,
    ModelCard,
    ModelIntegrityError,
    ModelRegistry,
    federate,
    parse_ref,
    predict,
)
from dongne.share.schema import Column

pytest.importorskip("mlflow")
pytest.importorskip("skops")


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> ModelRegistry:
    # one MLflow database per module: creating it runs MLflow's migrations (seconds)
    return ModelRegistry(tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"density": rng.normal(10, 2, 80), "age65": rng.uniform(5, 25, 80)},
    )
    y = 0.5 * X["density"] - 0.2 * X["age65"] + rng.normal(0, 0.3, 80)
    return X, y


def _card(**kw) -> ModelCard:
    base = dict(
        intended_use="Screening dongs for follow-up",
        data_sources=["synthetic"],
        training_regions=["Jongno-gu", "Jung-gu"],
        training_period="2010",
        metrics={"rmse": 0.3},
    )
    base.update(kw)
    return ModelCard(**base)


def test_round_trip_sklearn_pipeline_predicts_identically(registry, data):
    X, y = data
    model = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(X, y)
    version = registry.register("ridge-rt", model, _card(), X=X, units={"density": "hh/km²"})
    assert (version.name, version.version, version.format) == ("ridge-rt", 1, "skops")
    loaded = registry.load("ridge-rt/1")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert version.schema.to_dict()[0] == {"name": "density", "type": "float", "unit": "hh/km²"}
    assert registry.get("ridge-rt").card.training_regions == ["Jongno-gu", "Jung-gu"]


def test_federated_model_round_trip_is_json_and_exact(registry, data):
    X, y = data
    tables = {"A": X.assign(y=y)[:40], "B": X.assign(y=y)[40:]}
    result = federate(tables, "y", ["density", "age65"], rounds=5)
    version = registry.register("fed-rt", result.model, _card())
    assert version.format == "dongne-json"
    loaded = registry.load("fed-rt/1")
    np.testing.assert_array_equal(loaded.predict(X), result.model.predict(X))


def test_robust_wrapper_registers_its_fitted_estimator(registry, data):
    X, y = data
    groups = np.repeat(["a", "b", "c", "d"], 20)
    dro = GroupDRO("linear", n_rounds=5).fit(X, y, groups=groups)
    version = registry.register("dro", dro, _card())
    assert version.schema.names == ["density", "age65"]
    out = predict("dro/1", X, registry=registry)
    np.testing.assert_allclose(out.values.to_numpy(), dro.predict(X), rtol=0, atol=1e-12)


def test_versions_are_immutable_and_aliases_resolve(registry, data):
    X, y = data
    m1 = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(X, y)
    m2 = make_pipeline(StandardScaler(), Ridge(alpha=100.0)).fit(X, y)
    v1 = registry.register("alias-model", m1, _card())
    v2 = registry.register("alias-model", m2, _card(metrics={"rmse": 0.9}))
    assert (v1.version, v2.version) == (1, 2)
    # version 1 is unchanged by registering version 2
    assert registry.get("alias-model/1").sha256 == v1.sha256
    assert registry.get("alias-model/1").card.metrics == {"rmse": 0.3}
    # files are written read-only
    assert not (v1.path / "model.skops").stat().st_mode & 0o222
    registry.set_alias("alias-model", "production", 1)
    assert registry.get("alias-model@production").version == 1
    assert registry.get("models:/alias-model@production").aliases == ("production",)
    assert registry.get("alias-model").version == 2  # no alias: latest
    p1 = predict("alias-model@production", X, registry=registry).values.to_numpy()
    np.testing.assert_array_equal(p1, m1.predict(X))
    registry.set_alias("alias-model", "production", 2)
    p2 = predict("alias-model@production", X, registry=registry).values.to_numpy()
    np.testing.assert_array_equal(p2, m2.predict(X))
    listing = registry.list()
    assert listing.loc[listing["name"] == "alias-model", "version"].tolist() == [1, 2]


def test_unknown_alias_version_and_name_are_clear_errors(registry, data):
    X, y = data
    registry.register("known", Ridge().fit(X, y), _card())
    with pytest.raises(DataError, match=r"no alias 'staging'.*Fix"):
        registry.get("known@staging")
    with pytest.raises(DataError, match=r"no version 9.*versions: \[1\]"):
        registry.get("known/9")
    with pytest.raises(DataError, match=r"No model named 'unknown'"):
        predict("unknown@production", X, registry=registry)
    with pytest.raises(SpecificationError, match="not understood"):
        parse_ref("known@@x")
    with pytest.raises(SpecificationError, match="not allowed"):
        registry.register("bad/name", Ridge().fit(X, y), _card())


def test_tampered_model_file_is_refused_before_loading(registry, data):
    X, y = data
    version = registry.register("tamper", Ridge().fit(X, y), _card())
    path = version.path / "model.skops"
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ModelIntegrityError, match=r"SHA-256 .* was recorded at registration"):
        registry.load("tamper/1")
    with pytest.raises(ModelIntegrityError):
        predict("tamper/1", X, registry=registry)


def test_tampered_card_is_refused(registry, data):
    X, y = data
    version = registry.register("tamper-card", Ridge().fit(X, y), _card())
    path = version.path / "card.json"
    path.chmod(0o644)
    path.write_text(path.read_text("utf-8").replace("0.3", "0.01"), "utf-8")
    with pytest.raises(ModelIntegrityError, match="card.json"):
        registry.get("tamper-card/1")


def test_schema_mismatch_names_the_column(registry, data):
    X, y = data
    registry.register("schema", Ridge().fit(X, y), _card(), X=X)
    with pytest.raises(DataError, match=r"missing columns \['age65'\]"):
        predict("schema", X[["density"]], registry=registry)
    with pytest.raises(DataError, match=r"extra columns \['dong_code'\]"):
        predict("schema", X.assign(dong_code="1101053"), registry=registry)
    # extra="drop" ignores the id column and predicts
    out = predict("schema", X.assign(dong_code="1101053"), registry=registry, extra="drop")
    assert len(out.values) == len(X)
    with pytest.raises(DataError, match=r"'age65' is str, expected float"):
        predict("schema", X.assign(age65=X["age65"].astype(str)), registry=registry)
    with pytest.raises(DataError, match=r"missing values in rows 3"):
        predict("schema", X.assign(age65=X["age65"].where(X.index != 3)), registry=registry)


def test_schema_must_match_model_features(registry, data):
    X, y = data
    wrong = InputSchema([Column("age65", "float"), Column("density", "float")])
    with pytest.raises(SpecificationError, match="in training order"):
        registry.register("order", Ridge().fit(X, y), _card(), schema=wrong)
    assert "order" not in registry.list()["name"].tolist()  # nothing half-registered


def test_classifier_prediction_has_probabilities(registry, data):
    X, y = data
    label = (y > y.median()).astype(int)
    model = LogisticRegression().fit(X, label)
    registry.register("clf", model, _card())
    out = predict("clf", X, registry=registry)
    np.testing.assert_allclose(out.probabilities.to_numpy(), model.predict_proba(X)[:, 1])
    assert "predicted 80 rows" in out.summary()
    assert "80행" in out.summary("ko")


def test_model_card_suppresses_small_cells_everywhere(registry, data):
    X, y = data
    groups = pd.DataFrame(
        {"gu": ["Jongno-gu", "Jung-gu", "Yongsan-gu"], "n": [3, 40, 0], "rmse": [9.9, 0.4, 1.0]}
    )
    card = _card(group_metrics=groups, worst_group={"gu": "Jung-gu", "rmse": 0.4})
    registry.register("card", Ridge().fit(X, y), card)
    version = registry.get("card")
    published = version.card.to_dict()["group_metrics"]
    assert published[0] == {"gu": "Jongno-gu", "n": "<5", "rmse": None}
    assert published[1]["rmse"] == 0.4
    assert published[2]["n"] == "<5"
    text = version.summary("en")
    assert "9.9" not in text and "<5" in text
    page_en = registry.card_html("card", lang="en")
    page_ko = registry.card_html("card", lang="ko")
    assert "9.9" not in page_en and "Intended use" in page_en and "Jung-gu" in page_en
    assert "용도" in page_ko and 'lang="ko"' in page_ko


def test_worst_group_of_a_small_cell_is_suppressed_everywhere(registry, data):
    X, y = data
    groups = pd.DataFrame(
        {"gu": ["Jongno-gu", "Jung-gu", "Mapo-gu"], "n": [3, 40, 12], "rmse": [9.9, 0.4, 1.1]}
    )
    # n found by the label in the group table (3 rows): every field hidden, the label too
    card = _card(group_metrics=groups, worst_group={"gu": "Jongno-gu", "rmse": 9.9})
    assert card.published_worst_group() == {"gu": None, "rmse": None, "n": "<5"}
    registry.register("worst", Ridge().fit(X, y), card)
    version = registry.get("worst")
    assert version.card.to_dict()["worst_group"] == {"gu": None, "rmse": None, "n": "<5"}
    for text in (
        version.summary("en"),
        version.summary("ko"),
        registry.card_html("worst", lang="en"),
        registry.card_html("worst", lang="ko"),
    ):
        assert "9.9" not in text and "Jongno-gu = " not in text
    assert "Worst group: hidden (fewer than 5 rows)" in version.summary("en")
    assert "최악 집단: 비공개 (5행 미만)" in version.summary("ko")
    # an explicit n wins; 12 rows are published, with their count
    big = _card(group_metrics=groups, worst_group={"gu": "Mapo-gu", "rmse": 1.1, "n": 12})
    assert big.published_worst_group() == {"gu": "Mapo-gu", "rmse": 1.1, "n": 12}
    assert "Worst group: gu = Mapo-gu, rmse = 1.1, n = 12" in big.summary()
    # a worst group whose count cannot be found is refused, not published unchecked
    orphan = _card(worst_group={"group": "Jongno-gu", "rmse": 9.9})
    with pytest.raises(SpecificationError, match=r"no row count 'n'.*Fix: add \"n\""):
        orphan.to_dict()


def test_card_rounds_privacy_bounds_up_and_lists_what_left_outside_epsilon():
    privacy = {
        "epsilon": 3.3337, "delta": 1.23451e-5, "accountant": "rdp",
        "epsilon_spent": {"A": 3.3337, "B": 3.3301},
        "outside_epsilon": ["row_counts", "standardisation_sums", "participation"],
    }  # fmt: skip
    card = _card(privacy=privacy)
    text = card.summary("en")
    assert "ε ≤ 3.34 at δ = 0.0000124" in text  # upper bounds rounded up, not 3.33 / 1.23e-5
    assert "Left the institutions outside ε: each institution's row count; its sums" in text
    assert "ε ≤ 3.34" in card.summary("ko") and "ε 밖으로 나간 것: 기관별 행 수" in card.summary(
        "ko"
    )
    html = card.to_html("m", 1)
    assert "ε ≤ 3.34" in html and "which rounds it answered" in html
    # a privacy record that does not say what left outside ε says so
    legacy = _card(privacy={k: v for k, v in privacy.items() if k != "outside_epsilon"})
    assert "outside ε was not recorded" in legacy.summary()


def test_untrusted_types_are_refused(registry, data):
    X, y = data
    import operator

    from sklearn.preprocessing import FunctionTransformer

    model = make_pipeline(FunctionTransformer(operator.neg), Ridge()).fit(X, y)
    registry.register("func", model, _card())
    with pytest.raises(DataError, match=r"not trusted.*trusted=\["):
        registry.load("func/1")
    loaded = registry.load("func/1", trusted=["_operator.neg"])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_command_line_register_show_predict(registry, data, tmp_path, capsys):
    import json

    import skops.io as sio

    from dongne.cli import main as dongne_main

    def main(argv):
        return dongne_main(["share", *argv])


    X, y = data
    model = Ridge().fit(X, y)
    sio.dump(model, tmp_path / "model.skops")
    X.to_csv(tmp_path / "x.csv", index=False)
    X.assign(dong="d" + X.index.astype(str)).to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "card.json").write_text(
        json.dumps({"intended_use": "cli", "data_sources": ["s"], "training_regions": ["A"],
                    "training_period": "2010", "metrics": {"rmse": 0.3}}),
        "utf-8",
    )  # fmt: skip
    base = ["--registry", str(registry.root)]
    assert main([*base, "register", "cli-model", "--model", str(tmp_path / "model.skops"),
                 "--card", str(tmp_path / "card.json"), "--schema-from", str(tmp_path / "x.csv"),
                 "--unit", "density=hh/km2", "--alias", "production"]) == 0  # fmt: skip
    assert "Registered cli-model/1" in capsys.readouterr().out
    assert main([*base, "show", "cli-model@production", "--lang", "ko",
                 "--html", str(tmp_path / "card.html")]) == 0  # fmt: skip
    assert "density (float, hh/km2)" in capsys.readouterr().out
    assert '<html lang="ko">' in (tmp_path / "card.html").read_text("utf-8")
    out = tmp_path / "pred.csv"
    assert main([*base, "predict", "cli-model@production", str(tmp_path / "rows.csv"),
                 "--id", "dong", "--out", str(out)]) == 0  # fmt: skip
    written = pd.read_csv(out)
    np.testing.assert_allclose(written["prediction"], model.predict(X), rtol=1e-12)
    assert written["dong"].iloc[0] == "d0"
    assert main([*base, "predict", "cli-model", str(tmp_path / "x.csv"), "--out",
                 str(out)]) == 0  # fmt: skip
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(b"not a model")
    assert main([*base, "register", "p", "--model", str(pickled), "--card",
                 str(tmp_path / "card.json")]) == 2  # fmt: skip
    assert "never pickles" in capsys.readouterr().err
