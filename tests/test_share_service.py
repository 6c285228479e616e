"""``POST /models/{name}/predict``, the model card page and publishing, through the service."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import Ridge
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from test_service_storage import PG_ADMIN_URL, postgres_database

from dongne.service import Settings, create_app, create_user
from dongne.share import ModelCard, ModelRegistry

pytest.importorskip("mlflow")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    """The service with its model registry on SQLite, or both on PostgreSQL (the registry in
    the database ``<name>_models`` that the service creates on the same server)."""
    with contextlib.ExitStack() as stack:
        url = None
        if request.param == "postgresql":
            url = stack.enter_context(postgres_database())
            stack.callback(_drop_database, url + "_models")
        yield from _world(tmp_path_factory, url)


def _drop_database(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _world(tmp_path_factory, url):
    settings = Settings(data_dir=tmp_path_factory.mktemp("service"), database_url=url)
    tokens = {
        "kim": create_user(settings, "kim", workspace="city").token,
        "lee": create_user(settings, "lee", workspace="partner").token,
        "park": create_user(settings, "park", workspace="other").token,
    }
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"density": rng.normal(10, 2, 50), "age65": rng.uniform(5, 25, 50)})
    y = 0.5 * X["density"] - 0.2 * X["age65"]
    model = Ridge(alpha=1e-6).fit(X, y)
    service_db = settings.url.render_as_string(hide_password=False)
    registry = ModelRegistry(settings.models_dir, settings.models_url, service_db)
    card = ModelCard(
        "test", ["synthetic"], ["Jongno-gu"], "2010", {"rmse": 0.0},
        group_metrics=pd.DataFrame({"gu": ["Jongno-gu", "Jung-gu"], "n": [2, 48],
                                    "rmse": [7.77, 0.1]}),
    )  # fmt: skip
    registry.register("basement", model, card, X=X)
    registry.set_alias("basement", "production", 1)
    registry.set_access("basement", owner="city")
    if url is not None:  # the registry really is in PostgreSQL, not in a file
        assert settings.models_url.endswith("_models")
        assert not (settings.models_dir / "registry.sqlite3").exists()
    with TestClient(create_app(settings)) as client:
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
    assert r.status_code == 202 and r.json()["status"] == "offered"
    r = client.post("/models/basement/accept", headers=_h(tokens, "lee"),
                    json={"workspace": "partner"})  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "published"
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


def test_models_are_listed_per_workspace_and_cards_open_by_signed_link(world, monkeypatch):
    import dongne.service.routes.models as routes

    client, tokens, _, _ = world
    listed = client.get("/models", params={"workspace": "city"}, headers=_h(tokens, "kim"))
    assert listed.status_code == 200, listed.text
    (model,) = listed.json()
    assert model["name"] == "basement" and model["owner"] == "city"
    assert model["latest_version"] == 1 and model["aliases"] == {"production": 1}
    assert isinstance(model["published_to"], list)  # shown to the owner's members
    other = client.get("/models", params={"workspace": "other"}, headers=_h(tokens, "park"))
    assert other.status_code == 200 and other.json() == []
    # a link for someone who cannot see the model: the same 404 as a missing model
    r = client.post("/models/basement/card-link", headers=_h(tokens, "park"),
                    json={"workspace": "other"})  # fmt: skip
    assert r.status_code == 404
    r = client.post("/models/basement/card-link", headers=_h(tokens, "kim"),
                    json={"workspace": "city", "lang": "ko", "alias": "production"})  # fmt: skip
    assert r.status_code == 200, r.text
    link = r.json()["url"]
    assert link.startswith("models/basement/card/view?") and r.json()["expires_in"] == 300
    page = client.get("/" + link)  # no token: the signature is the credential
    assert page.status_code == 200 and "모형 카드" in page.text and "&lt;5" in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for changed in (link.replace("lang=ko", "lang=en"), link.replace("workspace=city",
                    "workspace=partner"), link[:-4] + "0000"):  # fmt: skip
        assert client.get("/" + changed).status_code == 403
    now = routes.time.time()
    monkeypatch.setattr(routes.time, "time", lambda: now + 301)
    expired = client.get("/" + link)
    assert expired.status_code == 403 and "expired" in expired.json()["detail"]


def test_card_links_with_odd_signatures_are_refused_not_errors(world):
    client, tokens, _, _ = world
    r = client.post("/models/basement/card-link", headers=_h(tokens, "kim"),
                    json={"workspace": "city"})  # fmt: skip
    link = r.json()["url"]
    odd = link.rsplit("sig=", 1)[0] + "sig=%ED%95%9C" + "0" * 60
    assert client.get("/" + odd).status_code == 403


def test_models_cannot_be_given_to_workspaces_that_do_not_exist(tmp_path, capsys):
    """Squatting: a model registered for 'inst-future' before that workspace exists would
    fall to whoever creates it. Registration (CLI) and set_access refuse a missing one."""
    import json

    import skops.io as sio

    from dongne.cli import main
    from dongne.errors import SpecificationError

    settings = Settings(data_dir=tmp_path / "data")
    create_user(settings, "kim", workspace="city")
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    sio.dump(Ridge().fit(X, [1.0, 2.0, 2.0, 4.0]), tmp_path / "m.skops")
    (tmp_path / "card.json").write_text(json.dumps({
        "intended_use": "test", "data_sources": ["synthetic"], "training_regions": ["x"],
        "training_period": "2010", "metrics": {"rmse": 0.1}}), "utf-8")  # fmt: skip
    base = ["share", "--registry", str(settings.models_dir), "register", "m", "--model",
            str(tmp_path / "m.skops"), "--card", str(tmp_path / "card.json")]  # fmt: skip
    assert main([*base, "--workspace", "inst-future"]) == 2
    err = capsys.readouterr().err
    assert "No workspace 'inst-future' in the service database" in err and "Fix:" in err
    registry = ModelRegistry(settings.models_dir)  # finds the service's SQLite file
    assert registry.list().empty  # refused before anything was registered
    assert main([*base, "--workspace", "city"]) == 0
    assert registry.access("m") == {"owner": "city", "published_to": [], "offered_to": []}
    with pytest.raises(SpecificationError, match="No workspace 'inst-future'"):
        registry.set_access("m", publish_to=["inst-future"])
    with pytest.raises(SpecificationError, match="No workspace 'inst-future'"):
        registry.set_access("m", owner="inst-future")
    assert registry.access("m") == {"owner": "city", "published_to": [], "offered_to": []}
    assert registry.set_access("m", publish_to=["*"])["published_to"] == ["*"]
    # a registry without a service database says how to attach one
    alone = ModelRegistry(tmp_path / "alone")
    alone.register("m", Ridge().fit(X, [1.0, 2.0, 2.0, 4.0]), _card_for_test())
    with pytest.raises(SpecificationError, match="--service-database-url"):
        alone.set_access("m", owner="city")


def _card_for_test() -> ModelCard:
    return ModelCard("test", ["synthetic"], ["x"], "2010", {"rmse": 0.1})


def test_card_link_views_are_audited_as_the_viewer_not_the_link_maker(world):
    client, tokens, _, _ = world
    r = client.post("/models/basement/card-link", headers=_h(tokens, "kim"),
                    json={"workspace": "city"})  # fmt: skip
    link = "/" + r.json()["url"]
    assert client.get(link).status_code == 200  # a browser: no token
    assert client.get(link, headers=_h(tokens, "park")).status_code == 200  # someone else
    log = client.get("/workspaces/city/audit", headers=_h(tokens, "kim"),
                     params={"limit": 2}).json()  # fmt: skip
    assert [(e["user"], e["action"], e["detail"]["link_by"], e["detail"]["viewer"])
            for e in log] == [("park", "model_card", "kim", "park"),
                              ("link holder", "model_card", "kim", "link holder")]  # fmt: skip


def test_models_are_offered_to_workspaces_whose_owners_accept(tmp_path_factory):
    """Publishing to a workspace is an offer: the same 202 for a missing workspace as for an
    existing one, usable only after an owner there accepts; declined offers leave nothing."""
    yield_world = _world(tmp_path_factory, None)  # a fresh SQLite world of its own
    client, tokens, X, _ = next(yield_world)
    try:
        rows = X.head(2).to_dict("records")
        kim, park = _h(tokens, "kim"), _h(tokens, "park")
        real = client.post("/models/basement/publish", headers=kim, json={"workspace": "other"})
        ghost = client.post("/models/basement/publish", headers=kim,
                            json={"workspace": "inst-future"})  # fmt: skip
        assert real.status_code == ghost.status_code == 202
        assert real.json() == {"model": "basement", "workspace": "other", "status": "offered"}
        assert ghost.json() == {"model": "basement", "workspace": "inst-future",
                                "status": "offered"}  # fmt: skip
        use = {"workspace": "other", "rows": rows}
        assert client.post("/models/basement/predict", headers=park, json=use).status_code == 404
        offers = client.get("/models/offers", params={"workspace": "other"}, headers=park)
        assert offers.json() == [{"model": "basement", "owner": "city"}]
        # only owners of the receiving workspace answer; the sender cannot accept for them
        r = client.post("/models/basement/accept", headers=kim, json={"workspace": "other"})
        assert r.status_code == 404
        r = client.post("/models/basement/decline", headers=park, json={"workspace": "other"})
        assert r.status_code == 204
        r = client.post("/models/basement/accept", headers=park, json={"workspace": "other"})
        assert r.status_code == 404 and "not found" in r.json()["detail"]
        assert client.get("/models/offers", params={"workspace": "other"},
                          headers=park).json() == []  # fmt: skip
        # publishing to everyone is immediate and does not reveal pending offers
        client.post("/models/basement/publish", headers=kim, json={"workspace": "other"})
        r = client.post("/models/basement/publish", headers=kim, json={"workspace": "*"})
        assert r.status_code == 200 and r.json() == {"owner": "city", "published_to": ["*"]}
        assert client.post("/models/basement/predict", headers=park, json=use).status_code == 200
    finally:
        yield_world.close()

