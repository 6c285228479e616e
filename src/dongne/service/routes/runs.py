"""Routes of runs: queue an analysis as a background job, follow, cancel, and fetch its results."""

from __future__ import annotations

import mimetypes
import uuid
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from dongne.errors import SpecificationError
from dongne.service.deps import (
    IdPath,
    SessionDep,
    SettingsDep,
    UserDep,
    audit,
    error_responses,
    not_found,
    run_of,
    usable_dataset,
    user_name,
    workspace_for,
)
from dongne.service.models import (
    Dataset,
    Run,
    Workspace,
)
from dongne.service.schemas import (
    RunOut,
    RunRequest,
)
from dongne.service.settings import Settings

router = APIRouter()

_FORMATS = {
    "geojson": ("geojson", "application/geo+json"),
    "csv": ("csv", "text/csv"),
    "gpkg": ("gpkg", "application/geopackage+sqlite3"),
}


@router.post(
    "/workspaces/{workspace}/runs",
    response_model=RunOut,
    status_code=202,
    responses=error_responses(400, 403, 404),
    tags=["runs"],
)
def start_run(
    workspace: str,
    body: RunRequest,
    request: Request,
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
) -> RunOut:
    """Queue an analysis (detect: Moran/LISA/Gi*/index; scan; allocate; spacetime: space-time
    scan and emerging hot spots; points: significant DBSCAN+, kernel density, Ripley) as a
    background job.

    Input datasets must belong to or be shared with this workspace. Poll ``GET
    /runs/{id}`` for ``status`` and ``progress``.
    """
    ws = workspace_for(session, user, workspace, "editor")
    parameters = body.model_dump()
    inputs = _inputs(session, ws, parameters)
    run = Run(
        workspace_id=ws.id,
        analysis=body.analysis,
        parameters=parameters,
        status="queued",
        progress=0.0,
        message="queued",
        created_by=user.id,
    )
    session.add(run)
    session.flush()
    audit(
        session,
        user,
        ws.id,
        "run",
        "run",
        run.id,
        analysis=body.analysis,
        datasets={role: ds.id for role, ds in inputs.items()},
    )
    session.commit()
    request.app.state.jobs.submit(run.id, _spec(settings, run, inputs))
    return _run_out(session, run)


def spec_of(settings: Settings, session: Session, run: Run) -> dict[str, Any]:
    """The job spec of a stored ``queued`` run, to queue it again after a restart.

    Its inputs are checked again as when it was submitted (they may have been deleted or
    unshared meanwhile).

    Raises
    ------
    SpecificationError
        If an input can no longer be used by the run's workspace; the message says why.
    """
    ws = session.get(Workspace, run.workspace_id)
    try:
        inputs = _inputs(session, ws, run.parameters)
    except HTTPException as exc:  # deleted or unshared since it was submitted
        raise SpecificationError(
            f"{exc.detail} Fix: start the run again (POST /workspaces/{ws.slug}/runs) with "
            "datasets the workspace can use."
        ) from None
    return _spec(settings, run, inputs)


@router.get(
    "/workspaces/{workspace}/runs",
    response_model=list[RunOut],
    responses=error_responses(404),
    tags=["runs"],
)
def list_runs(workspace: str, session: SessionDep, user: UserDep) -> list[RunOut]:
    """The workspace's runs, newest first."""
    ws = workspace_for(session, user, workspace)
    runs = session.scalars(select(Run).where(Run.workspace_id == ws.id).order_by(Run.id.desc()))
    return [_run_out(session, r) for r in runs]


@router.get("/runs/{run_id}", response_model=RunOut, responses=error_responses(404), tags=["runs"])
def get_run(run_id: IdPath, session: SessionDep, user: UserDep) -> RunOut:
    """Status, progress (0–1) and message; when done, summary, layers and files."""
    return _run_out(session, run_of(session, user, run_id))


@router.post(
    "/runs/{run_id}/cancel",
    response_model=RunOut,
    status_code=202,
    responses=error_responses(403, 404, 409),
    tags=["runs"],
)
def cancel_run(run_id: IdPath, request: Request, session: SessionDep, user: UserDep) -> RunOut:
    """Stop a queued or running run; its process is terminated (editors).

    A queued run is ``cancelled`` in the answer; a running one ends ``cancelled`` within
    seconds (``failed`` if its worker had already died).
    """
    run = run_of(session, user, run_id, "editor")
    if run.status not in ("queued", "running"):
        raise HTTPException(409, f"Run {run_id} is already {run.status}.")
    run.cancel_requested = True
    audit(session, user, run.workspace_id, "cancel", "run", run.id)
    session.commit()
    request.app.state.jobs.cancel(run.id)
    session.refresh(run)
    return _run_out(session, run)


@router.get(
    "/runs/{run_id}/provenance",
    response_model=dict[str, Any],
    responses=error_responses(404, 409),
    tags=["runs"],
)
def run_provenance(run_id: IdPath, session: SessionDep, user: UserDep) -> dict[str, Any]:
    """Inputs (dataset ids, names, SHA-256), parameters, match report, dongne version."""
    run = _finished(run_of(session, user, run_id))
    return run.provenance


@router.get(
    "/runs/{run_id}/result",
    response_class=FileResponse,
    responses={
        **error_responses(404, 409),
        200: {
            "description": "The result layer",
            "content": {mt: {} for _, mt in _FORMATS.values()},
        },
    },
    tags=["runs"],
)
def run_result(
    run_id: IdPath,
    session: SessionDep,
    user: UserDep,
    settings: SettingsDep,
    format: Literal["geojson", "csv", "gpkg"] = "geojson",
    layer: str = "areas",
) -> FileResponse:
    """A result layer as GeoJSON (EPSG:4326), CSV (UTF-8, no geometry) or GeoPackage."""
    run = _finished(run_of(session, user, run_id))
    if layer not in run.layers:
        raise HTTPException(
            404, f"Run {run_id} has no layer {layer!r}; layers: {', '.join(run.layers)}."
        )
    ext, media_type = _FORMATS[format]
    audit(session, user, run.workspace_id, "download", "run", run.id, layer=layer, format=format)
    session.commit()
    return FileResponse(
        settings.data_dir / run.output_dir / f"{layer}.{ext}",
        media_type=media_type,
        filename=f"run-{run.id}-{layer}.{ext}",
    )


@router.get(
    "/runs/{run_id}/files/{name}",
    response_class=FileResponse,
    responses={**error_responses(404, 409), 200: {"description": "The file"}},
    tags=["runs"],
)
def run_file(
    run_id: IdPath, name: str, session: SessionDep, user: UserDep, settings: SettingsDep
) -> FileResponse:
    """One output file of the run (maps as PNG, summary.txt, match_report.json, ...)."""
    run = _finished(run_of(session, user, run_id))
    if name not in run.provenance.get("files", []):
        raise not_found(f"File {name!r} of run {run_id}")
    audit(session, user, run.workspace_id, "download", "run", run.id, file=name)
    session.commit()
    return FileResponse(
        settings.data_dir / run.output_dir / name,
        media_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        filename=name,
    )


def _run_out(session: Session, run: Run) -> RunOut:
    return RunOut(
        id=run.id,
        workspace=session.get(Workspace, run.workspace_id).slug,
        analysis=run.analysis,
        parameters=run.parameters,
        status=run.status,
        progress=run.progress,
        message=run.message,
        summary=run.summary,
        layers=run.layers,
        files=run.provenance.get("files", []),
        cancel_requested=run.cancel_requested,
        created_by=user_name(session, run.created_by),
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        heartbeat_at=run.heartbeat_at,
    )


def _inputs(session: Session, ws: Workspace, parameters: dict[str, Any]) -> dict[str, Dataset]:
    """The run's input datasets by role, each usable by ``ws`` and of the kind its role needs."""
    if parameters["analysis"] in _OWN_ROLES:
        return _role_inputs(session, ws, parameters, _OWN_ROLES[parameters["analysis"]])
    allocate = parameters["analysis"] == "allocate"
    areas_kinds = ("areas", "points") if allocate else ("areas",)
    inputs = {"areas": usable_dataset(session, ws, parameters["areas"], areas_kinds)}
    if parameters.get("table") is not None:
        inputs["table"] = usable_dataset(session, ws, parameters["table"], ("table",))
    if allocate:
        if isinstance(parameters["candidates"], int):
            inputs["candidates"] = usable_dataset(
                session, ws, parameters["candidates"], ("points",)
            )
        for role in ("existing", "demand_points"):
            if parameters.get(role) is not None:
                inputs[role] = usable_dataset(session, ws, parameters[role], ("points",))
    return inputs


#: Analyses whose inputs are listed by role: (role = request field, the kinds it takes).
_OWN_ROLES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "spacetime": (
        ("areas", ("areas", "points")),  # points: a coordinates table, as SaTScan's (scan)
        ("table", ("table",)),
        ("events", ("table",)),
        ("long_table", ("table",)),
    ),
    "regions": (("areas", ("areas",)), ("table", ("table",)), ("target", ("areas",))),
    "points": (
        ("points", ("points",)),
        ("areas", ("areas",)),
        ("table", ("table",)),
        ("background", ("areas",)),
        ("other", ("points",)),
        ("controls", ("points",)),
    ),
}


def _role_inputs(
    session: Session, ws: Workspace, parameters: dict[str, Any], roles: tuple
) -> dict[str, Dataset]:
    return {
        role: usable_dataset(session, ws, parameters[role], kinds)
        for role, kinds in roles
        if parameters.get(role) is not None
    }


def _spec(settings: Settings, run: Run, inputs: dict[str, Dataset]) -> dict[str, Any]:
    """What the worker process is given (:func:`dongne.service.worker.execute`)."""
    return {
        "analysis": run.analysis,
        "parameters": run.parameters,
        "inputs": {role: _input_spec(settings, ds) for role, ds in inputs.items()},
        "out_dir": str(settings.runs_dir / f".incoming-{uuid.uuid4().hex}"),
    }


def _input_spec(settings: Settings, ds: Dataset) -> dict[str, Any]:
    return {
        "dataset_id": ds.id,
        "path": str(settings.data_dir / ds.read_path),
        "kind": ds.kind,
        "options": ds.options,
        "name": ds.filename,
        "sha256": ds.sha256,
    }


def _finished(run: Run) -> Run:
    if run.status != "done":
        raise HTTPException(
            409,
            f"Run {run.id} is {run.status}; results exist once its status is done."
            + (f" Reason: {run.message}" if run.status == "failed" else ""),
        )
    return run
