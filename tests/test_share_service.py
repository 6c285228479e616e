"""``POST /models/{name}/predict``, the model card page and publishing, through the service."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import Ridge

from dongne.service import Settings, create_app, create_user
from dongne.share import ModelCard, ModelRegistry
from dongne.share.routes import router

pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("service"))
    tokens = {
        "kim": create_user(settings, "kim", workspace="city").token,
        "lee": create_user(settings, "lee", workspace="partner").token,
        "park": create_user(settings, "park", workspace="other").token,
    }
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"density": rng.normal(10, 2, 50), "age65": rng.uniform(5, 25, 50)})
    y = 0.5 * X["density"] - 0.2 * X["age65"]
    model = Ridge(alpha=1e-6).fit(X, y)
    registry = ModelRegistry(settings.data_dir / "models")
    card = ModelCard(
        "test", ["synthetic"], ["Jongno-gu"], "2010", {"rmse": 0.0},
        group_metrics=pd.DataFrame({"gu": ["Jongno-gu", "Jung-gu"], "n": [2, 48],
                                    "rmse": [7.77, 0.1]}),
    )  # fmt: skip
    registry.register("basement", model, card, X=X)
    registry.set_alias("basement", "production", 1)
    registry.set_access("basement", owner="city")
    app = create_app(settings)
    app.include_router(router)
    with TestClient(app) as client:
        yield client, tokens, X, model


def _h(tokens, user):
    return {"Authorization": f"Bearer {tokens[user]}"}


def test_owner_workspace_predicts_and_schema_errors_are_400(world):
    client, tokens, X, model = world
    rows = X.head(3).to_dict("records")
    r = client.post("/models/basement/predict", headers=_h(tokens, "kim"),
                    json={"workspace": "city", "rows": rows, "alias": "production"})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "basement/1"
    np.testing.assert_allclose(body["predictions"], model.predict(X.head(3)), rtol=1e-12)
    bad = [{"density": 1.0}]
    r = client.post("/models/basement/predict", headers=_h(tokens, "kim"),
                    json={"workspace": "city", "rows": bad})  # fmt: skip
    assert r.status_code == 400 and "missing columns ['age65']" in r.json()["detail"]
    r = client.post("/models/basement/predict", headers=_h(tokens, "kim"),
                    json={"workspace": "city", "rows": rows, "alias": "staging"})  # fmt: skip
    assert r.status_code == 400 and "no alias 'staging'" in r.json()["detail"]


def test_other_workspaces_see_404_until_published(world):
    client, tokens, X, _ = world
    rows = X.head(2).to_dict("records")
    hidden = client.post("/models/basement/predict", headers=_h(tokens, "lee"),
                         json={"workspace": "partner", "rows": rows})  # fmt: skip
    missing = client.post("/models/nosuch/predict", headers=_h(tokens, "lee"),
                          json={"workspace": "partner", "rows": rows})  # fmt: skip
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace("basement", "X") == missing.json()["detail"].replace(
        "nosuch", "X"
    )
    # lee cannot publish kim's model (not a member of 'city'): the same 404
    r = client.post("/models/basement/publish", headers=_h(tokens, "lee"),
                    json={"workspace": "partner"})  # fmt: skip
    assert r.status_code == 404
    r = client.post("/models/basement/publish", headers=_h(tokens, "kim"),
                    json={"workspace": "partner"})  # fmt: skip
    assert r.status_code == 200 and r.json()["published_to"] == ["partner"]
    ok = client.post("/models/basement/predict", headers=_h(tokens, "lee"),
                     json={"workspace": "partner", "rows": rows})  # fmt: skip
    assert ok.status_code == 200
    # a workspace it was not published to still sees nothing
    other = client.post("/models/basement/predict", headers=_h(tokens, "park"),
                        json={"workspace": "other", "rows": rows})  # fmt: skip
    assert other.status_code == 404
    # using a workspace one is not a member of is refused as for any other resource
    r = client.post("/models/basement/predict", headers=_h(tokens, "park"),
                    json={"workspace": "partner", "rows": rows})  # fmt: skip
    assert r.status_code == 404


def test_model_card_page_suppresses_small_cells(world):
    client, tokens, _, _ = world
    r = client.get("/models/basement/card", headers=_h(tokens, "kim"),
                   params={"workspace": "city", "lang": "ko"})  # fmt: skip
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "모형 카드" in r.text and "7.77" not in r.text and "&lt;5" in r.text
    r = client.get("/models/basement/card", params={"workspace": "city"})
    assert r.status_code == 401
