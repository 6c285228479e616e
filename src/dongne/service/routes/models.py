"""Web-service routes for shared models: predict by reference, model card, publishing.

Included by the service's ``create_app`` (``app.include_router(router)``); the registry and
the prediction itself are :mod:`dongne.share`'s, this module only serves them. The registry's
artefacts live in ``<data-dir>/models``; its database is ``Settings.models_url``: with a
PostgreSQL service, the database ``<name>_models`` on the same server, else MLflow's SQLite
file in that folder — kept apart from the service's database, whose Alembic history it must
not share. Models are registered there with ``dongne share --registry <data-dir>/models
[--database-url URL] register ... --workspace WS``.

Access follows the service's rules: a model belongs to a workspace; its members (viewer and
up) may use it, and an owner of that workspace may publish it to another workspace or to
everyone (``"*"``). Anyone else gets 404, word for word as for a model that does not exist.
The caller sends rows and gets predictions: the training data never leave the registry.

The routes are plain functions, run on the server's worker threads: each reads the database
and the registry, and none of that may stop the event loop that serves every other request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from dongne.errors import DongneError
from dongne.service.deps import (
    OptionalUserDep,
    SessionDep,
    UserDep,
    audit,
    workspace_for,
)
from dongne.service.models import AuditEvent, User, Workspace
from dongne.share.predict import predict
from dongne.share.registry import ModelRegistry

__all__ = ["router"]

router = APIRouter(tags=["models"])


class PredictIn(BaseModel):
    """Rows to predict, as a list of ``{column: value}`` records."""

    workspace: str = Field(description="workspace on whose behalf the model is used")
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=100_000)
    version: int | None = Field(default=None, ge=1, description="default: latest")
    alias: str | None = Field(default=None, description="e.g. production")
    extra: Literal["error", "drop"] = "error"


class PredictOut(BaseModel):
    model: str
    sha256: str
    predictions: list[float]
    probabilities: list[float] | None = None


class PublishIn(BaseModel):
    workspace: str = Field(description="workspace to publish to, or '*' for everyone")


class ModelOut(BaseModel):
    name: str
    owner: str | None
    latest_version: int
    aliases: dict[str, int]
    created_utc: str
    sha256: str
    published_to: list[str] | None = Field(
        default=None, description="shown to members of the owning workspace only"
    )


class CardLinkIn(BaseModel):
    workspace: str
    lang: Literal["en", "ko"] = "en"
    version: int | None = Field(default=None, ge=1)
    alias: str | None = None


class CardLinkOut(BaseModel):
    url: str = Field(description="relative to the API root; valid for expires_in seconds")
    expires_in: int


#: Who the audit log names for a card opened by signed link without a token.
LINK_HOLDER = "link holder"

#: Lifetime of a signed model-card link, in seconds.
CARD_LINK_SECONDS = 300

_CARD_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"


_REGISTRY_LOCK = threading.Lock()


def _registry(request: Request) -> ModelRegistry:
    """The service's model registry, opened on first use (once, whichever thread asks)."""
    state = request.app.state
    with _REGISTRY_LOCK:
        return _open_registry(state)


def _open_registry(state) -> ModelRegistry:
    if getattr(state, "model_registry", None) is None:
        settings = state.settings
        state.model_registry = ModelRegistry(
            settings.models_dir,
            settings.models_url,
            service_database_url=settings.url.render_as_string(hide_password=False),
        )
    return state.model_registry


def _not_found(name: str) -> HTTPException:
    return HTTPException(404, f"Model {name!r} not found (or you have no access to it).")


def _visible_model(registry: ModelRegistry, name: str, ws: Workspace) -> None:
    """404 unless ``name`` exists and is owned by or published to workspace ``ws``."""
    try:
        access = registry.access(name)
    except DongneError as err:  # unknown or malformed name: the same 404 as no access
        raise _not_found(name) from err
    visible = access["owner"] == ws.slug or ws.slug in access["published_to"]
    if not visible and "*" not in access["published_to"]:
        raise _not_found(name)


def _link_key(request: Request) -> bytes:
    """The service's key for signed links: ``<data-dir>/link-secret`` (created once, 0600),
    so that every worker process of one service signs and checks alike."""
    state = request.app.state
    if getattr(state, "link_key", None) is None:
        path = Path(state.settings.data_dir) / "link-secret"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # written whole under a temporary name, then linked into place: a reader never
            # sees a partial key, and of two racing processes exactly one key wins
            tmp = path.with_name(f".link-secret-{secrets.token_hex(8)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(32))
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        key = path.read_bytes()
        if len(key) != 32:
            raise HTTPException(
                500, f"The service key {path} is damaged ({len(key)} bytes, expected 32). Fix: "
                "stop the service, delete the file (open card links stop working) and restart.",
            )  # fmt: skip
        state.link_key = key
    return state.link_key


def _signature(key: bytes, fields: dict[str, Any]) -> str:
    # canonical JSON of the sorted (name, value) pairs: no separator can be forged
    message = json.dumps(sorted((k, str(v)) for k, v in fields.items()), ensure_ascii=True)
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).hexdigest()


def _ref(name: str, version: int | None, alias: str | None) -> str:
    if version is not None and alias is not None:
        raise HTTPException(422, "Give version or alias, not both.")
    if alias is not None:
        return f"{name}@{alias}"
    return name if version is None else f"{name}/{version}"


@router.get("/models", response_model=list[ModelOut])
def list_models(
    request: Request,
    session: SessionDep,
    user: UserDep,
    workspace: Annotated[str, Query(description="list what this workspace may use")],
) -> list[ModelOut]:
    """Models owned by or published to ``workspace`` (viewer+), newest version of each."""
    ws = workspace_for(session, user, workspace, "viewer")
    registry = _registry(request)
    table = registry.list()
    out = []
    for name, rows in table.groupby("name", sort=True):
        access = registry.access(name)
        published = access["published_to"]
        if access["owner"] != ws.slug and ws.slug not in published and "*" not in published:
            continue
        latest = rows.loc[rows["version"].idxmax()]
        aliases = {
            alias: int(row["version"])
            for _, row in rows.iterrows()
            for alias in filter(None, str(row["aliases"]).split(","))
        }
        out.append(
            ModelOut(
                name=str(name),
                owner=access["owner"],
                latest_version=int(latest["version"]),
                aliases=aliases,
                created_utc=str(latest["created_utc"]),
                sha256=str(latest["sha256"]),
                published_to=published if access["owner"] == ws.slug else None,
            )
        )
    return out


@router.post("/models/{name}/predict", response_model=PredictOut)
def predict_rows(
    name: str, body: PredictIn, request: Request, session: SessionDep, user: UserDep
) -> PredictOut:
    """Predict ``rows`` with a model owned by or published to ``workspace`` (viewer+)."""
    ws = workspace_for(session, user, body.workspace, "viewer")
    registry = _registry(request)
    _visible_model(registry, name, ws)
    table = pd.DataFrame.from_records(body.rows)
    result = predict(
        _ref(name, body.version, body.alias), table, registry=registry, extra=body.extra
    )
    audit(session, user, ws.id, "model_predict", "model", None, model=result.model,
           rows=len(table))  # fmt: skip
    session.commit()
    return PredictOut(
        model=result.model,
        sha256=result.parameters["sha256"],
        predictions=result.values.astype(float).tolist(),
        probabilities=None
        if result.probabilities is None
        else result.probabilities.astype(float).tolist(),
    )


@router.get("/models/{name}/card", response_class=HTMLResponse)
def model_card(
    name: str,
    request: Request,
    session: SessionDep,
    user: UserDep,
    workspace: Annotated[str, Query()],
    version: Annotated[int | None, Query(ge=1)] = None,
    alias: Annotated[str | None, Query()] = None,
    lang: Annotated[Literal["en", "ko"], Query()] = "en",
) -> HTMLResponse:
    """The model card page (HTML, English or Korean; small cells suppressed)."""
    ws = workspace_for(session, user, workspace, "viewer")
    registry = _registry(request)
    _visible_model(registry, name, ws)
    ref = _ref(name, version, alias)
    page = registry.card_html(ref, lang)
    audit(session, user, ws.id, "model_card", "model", None, model=ref)
    session.commit()
    return HTMLResponse(page, headers={"Content-Security-Policy": _CARD_PAGE_CSP})


@router.post("/models/{name}/publish")
def publish(
    name: str, body: PublishIn, request: Request, session: SessionDep, user: UserDep,
    response: Response,
) -> dict[str, Any]:
    """Publish a model to everyone (``"*"``, 200) or offer it to a workspace (202); owners
    of the owning workspace.

    An offered model becomes usable in the workspace once an owner there accepts (``POST
    /models/{name}/accept``). The 202 answer is the same whether or not the workspace exists
    (an offer is stored only for an existing one), so slugs cannot be probed.
    """  # fmt: skip
    registry = _registry(request)
    try:
        access = registry.access(name)
    except DongneError as err:
        raise _not_found(name) from err
    if access["owner"] is None:
        raise _not_found(name)
    try:
        workspace_for(session, user, access["owner"], "owner")  # 404 non-members, 403 below
    except HTTPException as err:
        if err.status_code == 404:
            raise _not_found(name) from err
        raise
    audit(session, user, None, "model_publish", "model", None, model=name, to=body.workspace)
    if body.workspace == "*":
        access = registry.set_access(name, publish_to=["*"])
        session.commit()
        return _public_access(access)
    target = session.scalar(select(Workspace).where(Workspace.slug == body.workspace))
    known = {access["owner"], *access["published_to"], *access["offered_to"]}
    if target is not None and target.slug not in known:
        registry.set_access(name, offer_to=[target.slug])
        audit(session, user, target.id, "model_offered", "model", None, model=name,
              source=access["owner"])  # fmt: skip
    session.commit()
    response.status_code = 202
    return {"model": name, "workspace": body.workspace, "status": "offered"}


def _public_access(access: dict[str, Any]) -> dict[str, Any]:
    """Owner and publication of a model, without its pending offers (which exist only for
    existing workspaces, so would tell which do)."""
    return {"owner": access["owner"], "published_to": access["published_to"]}


class OfferedModelOut(BaseModel):
    model: str
    owner: str | None


@router.get("/models/offers", response_model=list[OfferedModelOut])
def model_offers(
    request: Request,
    session: SessionDep,
    user: UserDep,
    workspace: Annotated[str, Query(description="the receiving workspace (owners)")],
) -> list[OfferedModelOut]:
    """Models offered to ``workspace`` that wait for one of its owners to accept."""
    ws = workspace_for(session, user, workspace, "owner")
    registry = _registry(request)
    table = registry.list()
    out = []
    for name in sorted(set(table["name"])):
        access = registry.access(name)
        if ws.slug in access["offered_to"]:
            out.append(OfferedModelOut(model=str(name), owner=access["owner"]))
    return out


@router.post("/models/{name}/accept")
def accept_model(
    name: str, body: PublishIn, request: Request, session: SessionDep, user: UserDep
) -> dict[str, Any]:
    """Accept a model offered to ``workspace`` (owners there): its members may use it."""
    return _answer_offer(name, body.workspace, request, session, user, accept=True)


@router.post("/models/{name}/decline", status_code=204)
def decline_model(
    name: str, body: PublishIn, request: Request, session: SessionDep, user: UserDep
) -> Response:
    """Decline a model offered to ``workspace`` (owners there)."""
    _answer_offer(name, body.workspace, request, session, user, accept=False)
    return Response(status_code=204)


def _answer_offer(
    name: str, workspace: str, request: Request, session, user: User, *, accept: bool
) -> dict[str, Any]:
    ws = workspace_for(session, user, workspace, "owner")
    registry = _registry(request)
    try:
        access = registry.access(name)
    except DongneError as err:
        raise _not_found(name) from err
    if ws.slug not in access["offered_to"]:
        raise _not_found(name)
    change = {"publish_to": [ws.slug]} if accept else {"unpublish": [ws.slug]}
    registry.set_access(name, **change)
    action = "model_accept" if accept else "model_decline"
    audit(session, user, ws.id, action, "model", None, model=name, source=access["owner"])
    session.commit()
    return {"model": name, "workspace": ws.slug, "status": "published" if accept else "declined"}


@router.post("/models/{name}/card-link", response_model=CardLinkOut)
def card_link(
    name: str, body: CardLinkIn, request: Request, session: SessionDep, user: UserDep
) -> CardLinkOut:
    """A signed link to the model-card page that a browser can open (viewer+).

    The dashboard cannot send its token with a plain link, so it asks for this URL: signed
    with the service's key, bound to the user, workspace, model, version/alias and language,
    valid for :data:`CARD_LINK_SECONDS`; access is checked again when it is opened.
    """
    ws = workspace_for(session, user, body.workspace, "viewer")
    registry = _registry(request)
    _visible_model(registry, name, ws)
    registry.get(_ref(name, body.version, body.alias))  # exists
    fields = {
        "name": name,
        "workspace": ws.slug,
        "lang": body.lang,
        "version": body.version or "",
        "alias": body.alias or "",
        "user": user.id,
        "expires": int(time.time()) + CARD_LINK_SECONDS,
    }
    query = {k: v for k, v in fields.items() if k != "name"}
    query["sig"] = _signature(_link_key(request), fields)
    url = f"models/{quote(name, safe='')}/card/view?{urlencode(query)}"
    return CardLinkOut(url=url, expires_in=CARD_LINK_SECONDS)


@router.get("/models/{name}/card/view", response_class=HTMLResponse, include_in_schema=False)
def card_view(
    name: str,
    request: Request,
    session: SessionDep,
    viewer: OptionalUserDep,
    workspace: Annotated[str, Query()],
    user: Annotated[int, Query()],
    expires: Annotated[int, Query()],
    sig: Annotated[str, Query()],
    lang: Annotated[Literal["en", "ko"], Query()] = "en",
    version: Annotated[str, Query()] = "",
    alias: Annotated[str, Query()] = "",
) -> HTMLResponse:
    """The model-card page behind a signed link from ``POST /models/{name}/card-link``.

    Audited as the viewer: the user of the request's token where one is sent, else
    ``"link holder"`` (a browser opening the link sends none, and anyone may hold the
    link); the link's maker is recorded in the event's ``link_by``.
    """
    fields = {"name": name, "workspace": workspace, "lang": lang, "version": version,
              "alias": alias, "user": user, "expires": expires}  # fmt: skip
    expected = _signature(_link_key(request), fields)
    valid = hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace"))
    if not valid or expires < time.time():
        raise HTTPException(
            403, "This model-card link is invalid or has expired. Fix: open the card again "
            "from the dashboard (links last 5 minutes).",
        )  # fmt: skip
    account = session.get(User, user)
    if account is None:
        raise HTTPException(403, "The account that made this link no longer exists.")
    ws = workspace_for(session, account, workspace, "viewer")  # membership may have changed
    registry = _registry(request)
    _visible_model(registry, name, ws)
    ref = _ref(name, int(version) if version else None, alias or None)
    page = registry.card_html(ref, lang)
    session.add(
        AuditEvent(
            workspace_id=ws.id,
            user_id=None if viewer is None else viewer.id,
            action="model_card",
            target_type="model",
            target_id=None,
            detail={"model": ref, "via": "card link", "link_by": account.name,
                    "viewer": LINK_HOLDER if viewer is None else viewer.name},
        )
    )  # fmt: skip
    session.commit()
    return HTMLResponse(page, headers={"Content-Security-Policy": _CARD_PAGE_CSP})
