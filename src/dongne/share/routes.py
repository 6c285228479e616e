"""Web-service routes for shared models: predict by reference, model card, publishing.

Included by the service's ``create_app`` (``app.include_router(router)``). The registry's
artefacts live in ``<data-dir>/models``; its database is ``Settings.models_url``: with a
PostgreSQL service, the database ``<name>_models`` on the same server, else MLflow's SQLite
file in that folder — kept apart from the service's database, whose Alembic history it must
not share. Models are registered there with ``dongne share --registry <data-dir>/models
[--database-url URL] register ... --workspace WS``.

Access follows the service's rules: a model belongs to a workspace; its members (viewer and
up) may use it, and an owner of that workspace may publish it to another workspace or to
everyone (``"*"``). Anyone else gets 404, word for word as for a model that does not exist.
The caller sends rows and gets predictions: the training data never leave the registry.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from dongne.errors import DongneError
from dongne.service.app import SessionDep, UserDep, _workspace
from dongne.service.models import Workspace
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


def _registry(request: Request) -> ModelRegistry:
    state = request.app.state
    if getattr(state, "model_registry", None) is None:
        settings = state.settings
        state.model_registry = ModelRegistry(settings.models_dir, settings.models_url)
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


def _ref(name: str, version: int | None, alias: str | None) -> str:
    if version is not None and alias is not None:
        raise HTTPException(422, "Give version or alias, not both.")
    if alias is not None:
        return f"{name}@{alias}"
    return name if version is None else f"{name}/{version}"


@router.post("/models/{name}/predict", response_model=PredictOut)
async def predict_rows(
    name: str, body: PredictIn, request: Request, session: SessionDep, user: UserDep
) -> PredictOut:
    """Predict ``rows`` with a model owned by or published to ``workspace`` (viewer+)."""
    ws = _workspace(session, user, body.workspace, "viewer")
    registry = _registry(request)
    await run_in_threadpool(_visible_model, registry, name, ws)
    table = pd.DataFrame.from_records(body.rows)
    result = await run_in_threadpool(
        predict, _ref(name, body.version, body.alias), table, registry=registry,
        extra=body.extra,
    )  # fmt: skip
    return PredictOut(
        model=result.model,
        sha256=result.parameters["sha256"],
        predictions=result.values.astype(float).tolist(),
        probabilities=None
        if result.probabilities is None
        else result.probabilities.astype(float).tolist(),
    )


@router.get("/models/{name}/card", response_class=HTMLResponse)
async def model_card(
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
    ws = _workspace(session, user, workspace, "viewer")
    registry = _registry(request)
    await run_in_threadpool(_visible_model, registry, name, ws)
    page = await run_in_threadpool(registry.card_html, _ref(name, version, alias), lang)
    return HTMLResponse(page)


@router.post("/models/{name}/publish")
async def publish(
    name: str, body: PublishIn, request: Request, session: SessionDep, user: UserDep
) -> dict[str, Any]:
    """Publish a model to another workspace or ``"*"`` (owner of the owning workspace)."""
    registry = _registry(request)
    try:
        owner = (await run_in_threadpool(registry.access, name))["owner"]
    except DongneError as err:
        raise _not_found(name) from err
    if owner is None:
        raise _not_found(name)
    try:
        _workspace(session, user, owner, "owner")  # 404 for non-members, 403 below owner
    except HTTPException as err:
        if err.status_code == 404:
            raise _not_found(name) from err
        raise
    if body.workspace != "*" and (
        session.scalar(select(Workspace).where(Workspace.slug == body.workspace)) is None
    ):
        raise HTTPException(404, f"Workspace {body.workspace!r} not found.")
    return await run_in_threadpool(registry.set_access, name, publish_to=[body.workspace])
