"""The FastAPI application of ``dongne serve``: datasets, runs, sharing, members, audit log.

Create it with :func:`create_app`; the OpenAPI description is at ``/openapi.json`` and the
interactive documentation at ``/docs``. Every endpoint but ``/health`` needs an API token
(``Authorization: Bearer dn_...``). Errors are ``{"detail": "<message with the fix>"}``.
Access rules are described in :mod:`dongne.service.auth`.
"""

from __future__ import annotations

import contextlib
import functools
import mimetypes
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dongne import __version__
from dongne.errors import DongneError
from dongne.service import auth
from dongne.service.db import make_engine, make_sessions, migrate
from dongne.service.jobs import JobManager
from dongne.service.models import (
    ApiToken,
    AuditEvent,
    Dataset,
    DatasetShare,
    Membership,
    Run,
    User,
    Workspace,
)
from dongne.service.schemas import (
    AuditEventOut,
    DatasetOut,
    ErrorOut,
    HealthOut,
    MatchReportOut,
    MatchRequest,
    MemberIn,
    MemberOut,
    MeOut,
    NewTokenOut,
    NewUserOut,
    RunOut,
    RunRequest,
    ShareIn,
    ShareOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    WorkspaceIn,
    WorkspaceOut,
)
from dongne.service.settings import Settings
from dongne.service.storage import (
    UploadRejected,
    check_filename,
    read_dataset,
    receive_upload,
    store_upload,
)

__all__ = ["create_app"]

_ERRORS = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "Bad data or request; the message says what and how to fix it."),
        (401, "Missing or unknown API token."),
        (403, "Your role in the workspace does not allow this."),
        (404, "Not found, or not visible to you."),
        (409, "Conflicts with the current state."),
        (413, "Upload or unpacked zip larger than the limit."),
        (415, "Unsupported file format."),
    )
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: _ERRORS[code] for code in (401, *codes)}


_FORMATS = {
    "geojson": ("geojson", "application/geo+json"),
    "csv": ("csv", "text/csv"),
    "gpkg": ("gpkg", "application/geopackage+sqlite3"),
}

#: The dashboard's HTML, JavaScript, CSS and Korean font (a NanumGothic subset, SIL OFL 1.1).
_DASHBOARD_DIR = Path(__file__).parent / "static"
#: Content-Security-Policy of every dashboard file: the browser may load and connect to this
#: server only, so nothing (scripts, tiles, fonts, analytics) can come from elsewhere.
_DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

#: Ids are 32-bit ``integer`` columns (PostgreSQL); a larger id in a URL is refused with 422
#: before it reaches the database driver (which would fail with a server error).
_IdPath = Annotated[int, PathParam(ge=1, le=2**31 - 1)]

_bearer = HTTPBearer(auto_error=False, description="API token: 'Authorization: Bearer dn_...'")


# --------------------------------------------------------------------------- dependencies


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(_session)]


def _current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise HTTPException(
            401,
            "Missing API token. Fix: send the header 'Authorization: Bearer <token>'; an "
            "administrator creates users and their first token with 'dongne serve "
            "--create-user NAME'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = auth.user_for_token(session, credentials.credentials)
    if user is None:
        raise HTTPException(
            401,
            "Unknown or revoked API token. Fix: check the token, or ask for a new one.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


UserDep = Annotated[User, Depends(_current_user)]


# --------------------------------------------------------------------------- access helpers


def _not_found(what: str) -> HTTPException:
    return HTTPException(404, f"{what} not found (or you have no access to it).")


def _workspace(session: Session, user: User, slug: str, needed: str = "viewer") -> Workspace:
    """The workspace if ``user`` is a member with at least ``needed``; 404 for non-members."""
    ws = session.scalar(select(Workspace).where(Workspace.slug == slug))
    member = auth.membership(session, user, ws.id) if ws is not None else None
    if ws is None or member is None:
        raise _not_found(f"Workspace {slug!r}")
    if not auth.role_at_least(member.role, needed):
        raise HTTPException(
            403,
            f"Your role in workspace {slug!r} is {member.role}; this needs {needed}. Fix: ask "
            "an owner of the workspace to change your role.",
        )
    return ws


def _member_workspace_ids(session: Session, user: User) -> set[int]:
    return set(
        session.scalars(select(Membership.workspace_id).where(Membership.user_id == user.id))
    )


def _readable_dataset(session: Session, user: User, dataset_id: int) -> Dataset:
    ds = session.get(Dataset, dataset_id)
    if ds is None:
        raise _not_found(f"Dataset {dataset_id}")
    mine = _member_workspace_ids(session, user)
    if ds.workspace_id not in mine and not mine & {s.workspace_id for s in ds.shares}:
        raise _not_found(f"Dataset {dataset_id}")
    return ds


def _changeable_dataset(session: Session, user: User, dataset_id: int, needed: str) -> Dataset:
    ds = _readable_dataset(session, user, dataset_id)
    member = auth.membership(session, user, ds.workspace_id)
    if member is None:
        raise HTTPException(
            403,
            f"Dataset {dataset_id} is shared with you read-only. Fix: ask its owner workspace.",
        )
    if not auth.role_at_least(member.role, needed):
        raise HTTPException(
            403,
            f"Your role in the dataset's workspace is {member.role}; this needs {needed}.",
        )
    return ds


def _usable_dataset(session: Session, ws: Workspace, dataset_id: int, kinds: tuple[str, ...]):
    """A dataset owned by or shared with ``ws``, of one of ``kinds``."""
    ds = session.get(Dataset, dataset_id)
    if ds is None or (
        ds.workspace_id != ws.id and ws.id not in {s.workspace_id for s in ds.shares}
    ):
        raise _not_found(f"Dataset {dataset_id} in workspace {ws.slug!r} (own or shared)")
    if ds.kind not in kinds:
        raise HTTPException(
            400,
            f"Dataset {dataset_id} ({ds.name}) is {ds.kind}; this input needs "
            f"{' or '.join(kinds)}. Fix: pick a dataset uploaded as {kinds[0]}.",
        )
    return ds


def _run_of(session: Session, user: User, run_id: int, needed: str = "viewer") -> Run:
    run = session.get(Run, run_id)
    member = auth.membership(session, user, run.workspace_id) if run is not None else None
    if run is None or member is None:
        raise _not_found(f"Run {run_id}")
    if not auth.role_at_least(member.role, needed):
        raise HTTPException(
            403, f"Your role in the run's workspace is {member.role}; this needs {needed}."
        )
    return run


def _audit(
    session: Session,
    user: User,
    workspace_id: int | None,
    action: str,
    target_type: str,
    target_id: int | None,
    **detail: Any,
) -> None:
    session.add(
        AuditEvent(
            workspace_id=workspace_id,
            user_id=user.id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
        )
    )


def _user_name(session: Session, user_id: int | None) -> str | None:
    user = session.get(User, user_id) if user_id is not None else None
    return user.name if user is not None else None


def _dataset_out(session: Session, ds: Dataset, user: User) -> DatasetOut:
    owner_member = auth.membership(session, user, ds.workspace_id) is not None
    return DatasetOut(
        id=ds.id,
        workspace=session.get(Workspace, ds.workspace_id).slug,
        kind=ds.kind,
        name=ds.name,
        filename=ds.filename,
        size_bytes=ds.size_bytes,
        sha256=ds.sha256,
        options=ds.options,
        summary=ds.summary,
        shared=not owner_member,
        shared_with=sorted(s.workspace.slug for s in ds.shares) if owner_member else [],
        created_by=_user_name(session, ds.created_by),
        created_at=ds.created_at,
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
        created_by=_user_name(session, run.created_by),
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


def _input_spec(settings: Settings, ds: Dataset) -> dict[str, Any]:
    return {
        "dataset_id": ds.id,
        "path": str(settings.data_dir / ds.read_path),
        "kind": ds.kind,
        "options": ds.options,
        "name": ds.filename,
        "sha256": ds.sha256,
    }


def _clean_leftovers(settings: Settings) -> None:
    """Remove uploads and run folders left half-written by a server that was killed."""
    for path in settings.tmp_dir.glob("upload-*.part"):
        path.unlink(missing_ok=True)
    for folder in (settings.datasets_dir, settings.runs_dir):
        for path in folder.glob(".incoming-*"):
            shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- the app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web service for ``settings`` (default: :meth:`Settings.from_env`).

    On start-up the database is created or upgraded (Alembic), the data folders are made,
    files left half-written by a killed server are removed and runs it left unfinished are
    marked failed. On shutdown running jobs are cancelled.
    """
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        migrate(engine)
        for folder in (settings.datasets_dir, settings.runs_dir, settings.tmp_dir):
            folder.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(settings)
        app.state.sessions = make_sessions(engine)
        app.state.jobs = JobManager(settings, app.state.sessions)
        app.state.jobs.recover()
        app.state.jobs.warm_up()
        try:
            yield
        finally:
            app.state.jobs.shutdown()
            engine.dispose()

    app = FastAPI(
        title="dongne",
        version=__version__,
        summary="Share city datasets between institutions and run dongne's analyses on them.",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.exception_handler(DongneError)
    async def _dongne_error(_request: Request, exc: DongneError) -> JSONResponse:
        status = exc.status_code if isinstance(exc, UploadRejected) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    _routes_accounts(app)
    _routes_datasets(app, settings)
    _routes_runs(app, settings)
    # Imported here: dongne.share.routes imports this module's dependencies (no cycle at load).
    from dongne.share.routes import router as share_router

    app.include_router(share_router)
    _routes_dashboard(app)
    return app


class _DashboardFiles(StaticFiles):
    """Static files served with the dashboard's offline Content-Security-Policy."""

    async def get_response(self, path: str, scope: Any) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = _DASHBOARD_CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


@functools.cache
def _dashboard_palettes() -> dict[str, Any]:
    """The report maps' colours and bilingual labels, so that the dashboard draws the same."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from dongne.report.maps import HOTSPOT_CATEGORIES, LISA_CATEGORIES

    def categories(palette: Any) -> dict[str, dict[str, str]]:
        out = {}
        for key, (colour, label, *_hatch) in palette.items():
            en, _, ko = label.partition(" / ")
            out[key] = {"colour": colour, "en": en, "ko": ko or en}
        return out

    ramp = colormaps["YlOrRd"]
    return {
        "lisa": categories(LISA_CATEGORIES),
        "hotspot": categories(HOTSPOT_CATEGORIES),
        "sequential": {
            str(k): [to_hex(c) for c in ramp.resampled(k)(range(k))] for k in range(2, 8)
        },
    }


def _routes_dashboard(app: FastAPI) -> None:
    """The offline map dashboard at ``/dashboard/`` (``/`` redirects there); no token needed
    for its files, every data request it makes goes through the token-protected API."""

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("dashboard/")

    @app.get("/dashboard/palettes.json", include_in_schema=False)
    def palettes() -> JSONResponse:
        return JSONResponse(
            _dashboard_palettes(), headers={"Content-Security-Policy": _DASHBOARD_CSP}
        )

    app.mount("/dashboard", _DashboardFiles(directory=_DASHBOARD_DIR, html=True), name="dashboard")


def _routes_accounts(app: FastAPI) -> None:
    @app.get("/health", response_model=HealthOut, tags=["service"])
    def health(request: Request) -> HealthOut:
        """Liveness check (no token needed)."""
        backend = request.app.state.settings.url.get_backend_name()
        return HealthOut(status="ok", version=__version__, database=backend)

    @app.get("/me", response_model=MeOut, responses=_errors(), tags=["accounts"])
    def me(session: SessionDep, user: UserDep) -> MeOut:
        """You and the workspaces you belong to, with your role in each."""
        return MeOut(user=UserOut.model_validate(user), workspaces=_workspaces_of(session, user))

    @app.post(
        "/me/tokens",
        response_model=NewTokenOut,
        status_code=201,
        responses=_errors(),
        tags=["accounts"],
    )
    def new_token(body: TokenIn, session: SessionDep, user: UserDep) -> NewTokenOut:
        """Create another API token for yourself; the secret is shown only in this response."""
        record, secret = auth.issue_token(session, user, body.label)
        _audit(session, user, None, "token_create", "token", record.id, label=body.label)
        session.commit()
        return NewTokenOut(
            id=record.id, label=record.label, created_at=record.created_at, token=secret
        )

    @app.get("/me/tokens", response_model=list[TokenOut], responses=_errors(), tags=["accounts"])
    def list_tokens(session: SessionDep, user: UserDep) -> list[TokenOut]:
        """Your tokens (labels and dates only; secrets are never stored)."""
        records = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id))
        return [TokenOut.model_validate(r) for r in records]

    @app.delete("/me/tokens/{token_id}", status_code=204, responses=_errors(404), tags=["accounts"])
    def revoke_token(token_id: _IdPath, session: SessionDep, user: UserDep) -> Response:
        """Revoke one of your tokens (it stops working at once)."""
        record = session.get(ApiToken, token_id)
        if record is None or record.user_id != user.id:
            raise _not_found(f"Token {token_id}")
        session.delete(record)
        _audit(session, user, None, "token_revoke", "token", token_id)
        session.commit()
        return Response(status_code=204)

    @app.post(
        "/users",
        response_model=NewUserOut,
        status_code=201,
        responses=_errors(403, 409),
        tags=["accounts"],
    )
    def create_user(body: UserIn, session: SessionDep, user: UserDep) -> NewUserOut:
        """Create a user and their first token (administrators only)."""
        if not user.is_admin:
            raise HTTPException(403, "Only administrators create users.")
        if session.scalar(select(User).where(User.name == body.name)) is not None:
            raise HTTPException(409, f"User {body.name!r} exists. Fix: choose another name.")
        new = User(name=body.name, is_admin=body.admin)
        session.add(new)
        session.flush()
        _, secret = auth.issue_token(session, new, "first token")
        _audit(session, user, None, "user_create", "user", new.id, name=new.name)
        session.commit()
        return NewUserOut(user=UserOut.model_validate(new), token=secret)

    @app.post(
        "/workspaces",
        response_model=WorkspaceOut,
        status_code=201,
        responses=_errors(409),
        tags=["workspaces"],
    )
    def create_workspace(body: WorkspaceIn, session: SessionDep, user: UserDep) -> WorkspaceOut:
        """Create a workspace (an institution or project); you become its owner."""
        if session.scalar(select(Workspace).where(Workspace.slug == body.slug)) is not None:
            raise HTTPException(409, f"Workspace {body.slug!r} exists. Fix: choose another slug.")
        ws = Workspace(slug=body.slug, name=body.name)
        session.add(ws)
        session.flush()
        session.add(Membership(workspace_id=ws.id, user_id=user.id, role="owner"))
        _audit(session, user, ws.id, "workspace_create", "workspace", ws.id, slug=ws.slug)
        session.commit()
        return _workspace_out(ws, "owner")

    @app.get(
        "/workspaces", response_model=list[WorkspaceOut], responses=_errors(), tags=["workspaces"]
    )
    def list_workspaces(session: SessionDep, user: UserDep) -> list[WorkspaceOut]:
        """The workspaces you belong to."""
        return _workspaces_of(session, user)

    @app.get(
        "/workspaces/{workspace}",
        response_model=WorkspaceOut,
        responses=_errors(404),
        tags=["workspaces"],
    )
    def get_workspace(workspace: str, session: SessionDep, user: UserDep) -> WorkspaceOut:
        ws = _workspace(session, user, workspace)
        return _workspace_out(ws, auth.membership(session, user, ws.id).role)

    @app.get(
        "/workspaces/{workspace}/members",
        response_model=list[MemberOut],
        responses=_errors(404),
        tags=["workspaces"],
    )
    def list_members(workspace: str, session: SessionDep, user: UserDep) -> list[MemberOut]:
        ws = _workspace(session, user, workspace)
        rows = session.execute(
            select(User.name, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == ws.id)
            .order_by(User.name)
        )
        return [MemberOut(user=name, role=role) for name, role in rows]

    @app.put(
        "/workspaces/{workspace}/members/{user_name}",
        response_model=MemberOut,
        responses=_errors(403, 404, 409),
        tags=["workspaces"],
    )
    def set_member(
        workspace: str, user_name: str, body: MemberIn, session: SessionDep, user: UserDep
    ) -> MemberOut:
        """Add a user to the workspace or change their role (owners only)."""
        ws = _workspace(session, user, workspace, "owner")
        target = session.scalar(select(User).where(User.name == user_name))
        if target is None:
            raise HTTPException(
                404, f"No user named {user_name!r}. Fix: ask an administrator to create it."
            )
        member = auth.membership(session, target, ws.id)
        if member is None:
            member = Membership(workspace_id=ws.id, user_id=target.id, role=body.role)
            session.add(member)
        else:
            _keep_an_owner(session, ws, member, body.role)
            member.role = body.role
        _audit(session, user, ws.id, "member_set", "user", target.id, role=body.role)
        session.commit()
        return MemberOut(user=target.name, role=body.role)

    @app.delete(
        "/workspaces/{workspace}/members/{user_name}",
        status_code=204,
        responses=_errors(403, 404, 409),
        tags=["workspaces"],
    )
    def remove_member(workspace: str, user_name: str, session: SessionDep, user: UserDep):
        """Remove a member (owners only; the last owner stays)."""
        ws = _workspace(session, user, workspace, "owner")
        target = session.scalar(select(User).where(User.name == user_name))
        member = auth.membership(session, target, ws.id) if target is not None else None
        if member is None:
            raise _not_found(f"Member {user_name!r} of workspace {workspace!r}")
        _keep_an_owner(session, ws, member, None)
        session.delete(member)
        _audit(session, user, ws.id, "member_remove", "user", target.id)
        session.commit()
        return Response(status_code=204)

    @app.get(
        "/workspaces/{workspace}/audit",
        response_model=list[AuditEventOut],
        responses=_errors(403, 404),
        tags=["workspaces"],
    )
    def audit_log(
        workspace: str,
        session: SessionDep,
        user: UserDep,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[AuditEventOut]:
        """Who uploaded, ran, shared, downloaded what in this workspace, newest first (owners)."""
        ws = _workspace(session, user, workspace, "owner")
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.workspace_id == ws.id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [
            AuditEventOut(
                id=e.id,
                user=_user_name(session, e.user_id),
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                detail=e.detail,
                created_at=e.created_at,
            )
            for e in events
        ]


def _workspace_out(ws: Workspace, role: str) -> WorkspaceOut:
    return WorkspaceOut(id=ws.id, slug=ws.slug, name=ws.name, role=role, created_at=ws.created_at)


def _workspaces_of(session: Session, user: User) -> list[WorkspaceOut]:
    rows = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user.id)
        .order_by(Workspace.slug)
    )
    return [_workspace_out(ws, role) for ws, role in rows]


def _keep_an_owner(session: Session, ws: Workspace, member: Membership, new_role) -> None:
    if member.role != "owner" or new_role == "owner":
        return
    owners = session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.workspace_id == ws.id, Membership.role == "owner")
    )
    if owners <= 1:
        raise HTTPException(
            409, f"{ws.slug!r} would have no owner left. Fix: make another member owner first."
        )


def _routes_datasets(app: FastAPI, settings: Settings) -> None:
    @app.post(
        "/workspaces/{workspace}/datasets",
        response_model=DatasetOut,
        status_code=201,
        responses=_errors(400, 403, 404, 413, 415),
        tags=["datasets"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "The file's bytes, as they are (not a multipart form).",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    async def upload_dataset(
        request: Request,
        workspace: str,
        kind: Literal["areas", "table", "points"],
        filename: Annotated[str, Query(min_length=1, max_length=255)],
        user: UserDep,
        name: Annotated[str | None, Query(max_length=200)] = None,
        layer: str | None = None,
        encoding: str | None = None,
        title_lines: Annotated[str | None, Query(pattern=r"^(\d{1,3}|auto)$")] = None,
        sheet: str | None = None,
        x: str | None = None,
        y: str | None = None,
        crs: str | None = None,
    ) -> DatasetOut:
        """Upload a dataset as the raw request body; it is streamed to disk and read by dongne.

        areas: GeoJSON, GeoPackage, GeoParquet or a zipped shapefile; table: CSV (UTF-8 or
        CP949, detected), XLSX or Parquet; points: a table with coordinate columns or a point
        layer. The response holds what the reader found (``summary``); nothing is kept when
        reading fails.
        """
        sessions = request.app.state.sessions
        ws_id = await run_in_threadpool(_check_upload_access, sessions, user, workspace)
        check_filename(filename, kind)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes:
            raise UploadRejected(
                f"Upload of {int(declared) / 1024**2:.1f} MiB is larger than the limit of "
                f"{settings.max_upload_bytes / 1024**2:.1f} MiB. Fix: split the data or ask the "
                "administrator to raise DONGNE_MAX_UPLOAD_MB.",
                status_code=413,
            )
        path, size, digest = await receive_upload(
            request.stream(), settings.tmp_dir, settings.max_upload_bytes
        )
        options = {
            "layer": layer,
            "encoding": encoding,
            "title_lines": (
                int(title_lines) if title_lines and title_lines.isdigit() else title_lines
            ),
            "sheet": sheet,
            "x": x,
            "y": y,
            "crs": crs,
        }
        options = {k: v for k, v in options.items() if v is not None}
        stored = await run_in_threadpool(
            store_upload,
            path,
            size,
            digest,
            filename,
            kind,
            options,
            settings.datasets_dir,
            settings.data_dir,
            settings.max_unpacked_bytes,
        )
        return await run_in_threadpool(
            _record_dataset,
            sessions,
            user,
            ws_id,
            kind,
            name or filename,
            filename,
            options,
            stored,
        )

    def _check_upload_access(sessions, user: User, workspace: str) -> int:
        with sessions() as session:
            return _workspace(session, user, workspace, "editor").id

    def _record_dataset(sessions, user, ws_id, kind, name, filename, options, stored) -> DatasetOut:
        try:
            with sessions() as session:
                ds = Dataset(
                    workspace_id=ws_id,
                    kind=kind,
                    name=name,
                    filename=filename,
                    stored_path=stored.stored_path,
                    read_path=stored.read_path,
                    size_bytes=stored.size_bytes,
                    sha256=stored.sha256,
                    options=options,
                    summary=stored.summary,
                    created_by=user.id,
                )
                session.add(ds)
                session.flush()
                _audit(
                    session,
                    user,
                    ws_id,
                    "upload",
                    "dataset",
                    ds.id,
                    name=name,
                    filename=filename,
                    kind=kind,
                    size_bytes=stored.size_bytes,
                    sha256=stored.sha256,
                )
                session.commit()
                return _dataset_out(session, ds, user)
        except BaseException:
            shutil.rmtree(settings.data_dir / Path(stored.stored_path).parent, ignore_errors=True)
            raise

    @app.get(
        "/workspaces/{workspace}/datasets",
        response_model=list[DatasetOut],
        responses=_errors(404),
        tags=["datasets"],
    )
    def list_datasets(workspace: str, session: SessionDep, user: UserDep) -> list[DatasetOut]:
        """The workspace's own datasets and those shared with it (``shared: true``)."""
        ws = _workspace(session, user, workspace)
        shared_in = select(DatasetShare.dataset_id).where(DatasetShare.workspace_id == ws.id)
        found = session.scalars(
            select(Dataset)
            .where((Dataset.workspace_id == ws.id) | Dataset.id.in_(shared_in))
            .order_by(Dataset.id)
        )
        return [_dataset_out(session, ds, user) for ds in found]

    @app.get(
        "/datasets/{dataset_id}",
        response_model=DatasetOut,
        responses=_errors(404),
        tags=["datasets"],
    )
    def get_dataset(dataset_id: _IdPath, session: SessionDep, user: UserDep) -> DatasetOut:
        return _dataset_out(session, _readable_dataset(session, user, dataset_id), user)

    @app.delete(
        "/datasets/{dataset_id}",
        status_code=204,
        responses=_errors(403, 404),
        tags=["datasets"],
    )
    def delete_dataset(dataset_id: _IdPath, session: SessionDep, user: UserDep) -> Response:
        """Delete a dataset and its shares (editors of its workspace)."""
        ds = _changeable_dataset(session, user, dataset_id, "editor")
        folder = settings.data_dir / Path(ds.stored_path).parent
        _audit(session, user, ds.workspace_id, "delete", "dataset", ds.id, name=ds.name)
        session.delete(ds)
        session.commit()
        shutil.rmtree(folder, ignore_errors=True)
        return Response(status_code=204)

    @app.get(
        "/datasets/{dataset_id}/download",
        responses={
            **_errors(400, 404),
            200: {
                "description": "The file",
                "content": {
                    "application/octet-stream": {},
                    "application/geo+json": {},
                    "text/csv": {},
                },
            },
        },
        response_class=Response,
        tags=["datasets"],
    )
    def download_dataset(
        dataset_id: _IdPath,
        session: SessionDep,
        user: UserDep,
        format: Literal["original", "geojson", "csv"] = "original",
    ) -> Response:
        """The uploaded file as it was, or re-read as GeoJSON (EPSG:4326) or CSV."""
        ds = _readable_dataset(session, user, dataset_id)
        if format == "geojson" and ds.kind == "table":
            raise HTTPException(400, f"Dataset {ds.id} is a table; ask for format=csv.")
        _audit(session, user, ds.workspace_id, "download", "dataset", ds.id, format=format)
        session.commit()
        if format == "original":
            return FileResponse(
                settings.data_dir / ds.stored_path,
                filename=ds.filename,
                media_type="application/octet-stream",
            )
        frame = read_dataset(settings.data_dir / ds.read_path, ds.kind, ds.options, ds.filename)
        headers = {"Content-Disposition": f'attachment; filename="dataset-{ds.id}.{format}"'}
        if format == "geojson":
            text = frame.to_crs(4326).to_json(na="null", drop_id=True)
            return Response(text, media_type="application/geo+json", headers=headers)
        if hasattr(frame, "geometry"):
            frame = frame.drop(columns=frame.geometry.name)
        return Response(
            frame.to_csv(index=False), media_type="text/csv; charset=utf-8", headers=headers
        )

    @app.post(
        "/datasets/{dataset_id}/shares",
        response_model=ShareOut,
        status_code=201,
        responses=_errors(403, 404, 409),
        tags=["datasets"],
    )
    def share_dataset(
        dataset_id: _IdPath, body: ShareIn, session: SessionDep, user: UserDep
    ) -> ShareOut:
        """Let another workspace read and use this dataset (owners of its workspace)."""
        ds = _changeable_dataset(session, user, dataset_id, "owner")
        target = session.scalar(select(Workspace).where(Workspace.slug == body.workspace))
        if target is None:
            raise _not_found(f"Workspace {body.workspace!r}")
        if target.id == ds.workspace_id:
            raise HTTPException(409, "A dataset is always visible in its own workspace.")
        if session.get(DatasetShare, (ds.id, target.id)) is not None:
            raise HTTPException(409, f"Dataset {ds.id} is already shared with {target.slug!r}.")
        share = DatasetShare(dataset_id=ds.id, workspace_id=target.id, created_by=user.id)
        session.add(share)
        _audit(session, user, ds.workspace_id, "share", "dataset", ds.id, to=target.slug)
        _audit(session, user, target.id, "share_received", "dataset", ds.id, name=ds.name)
        session.commit()
        return ShareOut(
            dataset_id=ds.id,
            workspace=target.slug,
            created_by=user.name,
            created_at=share.created_at,
        )

    @app.get(
        "/datasets/{dataset_id}/shares",
        response_model=list[ShareOut],
        responses=_errors(403, 404),
        tags=["datasets"],
    )
    def list_shares(dataset_id: _IdPath, session: SessionDep, user: UserDep) -> list[ShareOut]:
        """Workspaces this dataset is shared with (members of its own workspace)."""
        ds = _changeable_dataset(session, user, dataset_id, "viewer")
        return [
            ShareOut(
                dataset_id=ds.id,
                workspace=s.workspace.slug,
                created_by=_user_name(session, s.created_by),
                created_at=s.created_at,
            )
            for s in ds.shares
        ]

    @app.delete(
        "/datasets/{dataset_id}/shares/{workspace}",
        status_code=204,
        responses=_errors(403, 404),
        tags=["datasets"],
    )
    def unshare_dataset(
        dataset_id: _IdPath, workspace: str, session: SessionDep, user: UserDep
    ) -> Response:
        """Stop sharing (owners of the dataset's workspace)."""
        ds = _changeable_dataset(session, user, dataset_id, "owner")
        share = next((s for s in ds.shares if s.workspace.slug == workspace), None)
        if share is None:
            raise _not_found(f"Share of dataset {ds.id} with {workspace!r}")
        ds.shares.remove(share)
        _audit(session, user, ds.workspace_id, "unshare", "dataset", ds.id, to=workspace)
        session.commit()
        return Response(status_code=204)

    @app.post(
        "/workspaces/{workspace}/match",
        response_model=MatchReportOut,
        responses=_errors(400, 404),
        tags=["datasets"],
    )
    def match_report(
        workspace: str, body: MatchRequest, session: SessionDep, user: UserDep
    ) -> MatchReportOut:
        """Join a table to areas by code and return the match report (nothing is stored)."""
        import warnings

        from dongne.errors import UnmatchedWarning
        from dongne.io import join_by_code

        ws = _workspace(session, user, workspace)
        areas_ds = _usable_dataset(session, ws, body.areas, ("areas",))
        table_ds = _usable_dataset(session, ws, body.table, ("table",))
        areas = read_dataset(
            settings.data_dir / areas_ds.read_path, "areas", areas_ds.options, areas_ds.filename
        )
        table = read_dataset(
            settings.data_dir / table_ds.read_path, "table", table_ds.options, table_ds.filename
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnmatchedWarning)
            _, report = join_by_code(areas, table, key=body.key, table_key=body.table_key)
        return MatchReportOut(**report.to_dict(), summary=report.summary())


def _routes_runs(app: FastAPI, settings: Settings) -> None:
    @app.post(
        "/workspaces/{workspace}/runs",
        response_model=RunOut,
        status_code=202,
        responses=_errors(400, 403, 404),
        tags=["runs"],
    )
    def start_run(
        workspace: str, body: RunRequest, request: Request, session: SessionDep, user: UserDep
    ) -> RunOut:
        """Queue an analysis (detect: Moran/LISA/Gi*/index; scan; allocate) as a background job.

        Input datasets must belong to or be shared with this workspace. Poll ``GET
        /runs/{id}`` for ``status`` and ``progress``.
        """
        ws = _workspace(session, user, workspace, "editor")
        areas_kinds = ("areas", "points") if body.analysis == "allocate" else ("areas",)
        inputs = {"areas": _usable_dataset(session, ws, body.areas, areas_kinds)}
        if body.table is not None:
            inputs["table"] = _usable_dataset(session, ws, body.table, ("table",))
        if body.analysis == "allocate":
            if isinstance(body.candidates, int):
                inputs["candidates"] = _usable_dataset(session, ws, body.candidates, ("points",))
            if body.existing is not None:
                inputs["existing"] = _usable_dataset(session, ws, body.existing, ("points",))
        parameters = body.model_dump()
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
        _audit(
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
        spec = {
            "analysis": body.analysis,
            "parameters": parameters,
            "inputs": {role: _input_spec(settings, ds) for role, ds in inputs.items()},
            "out_dir": str(settings.runs_dir / f".incoming-{uuid.uuid4().hex}"),
        }
        request.app.state.jobs.submit(run.id, spec)
        return _run_out(session, run)

    @app.get(
        "/workspaces/{workspace}/runs",
        response_model=list[RunOut],
        responses=_errors(404),
        tags=["runs"],
    )
    def list_runs(workspace: str, session: SessionDep, user: UserDep) -> list[RunOut]:
        """The workspace's runs, newest first."""
        ws = _workspace(session, user, workspace)
        runs = session.scalars(select(Run).where(Run.workspace_id == ws.id).order_by(Run.id.desc()))
        return [_run_out(session, r) for r in runs]

    @app.get("/runs/{run_id}", response_model=RunOut, responses=_errors(404), tags=["runs"])
    def get_run(run_id: _IdPath, session: SessionDep, user: UserDep) -> RunOut:
        """Status, progress (0–1) and message; when done, summary, layers and files."""
        return _run_out(session, _run_of(session, user, run_id))

    @app.post(
        "/runs/{run_id}/cancel",
        response_model=RunOut,
        status_code=202,
        responses=_errors(403, 404, 409),
        tags=["runs"],
    )
    def cancel_run(run_id: _IdPath, request: Request, session: SessionDep, user: UserDep) -> RunOut:
        """Stop a queued or running run; its process is terminated (editors)."""
        run = _run_of(session, user, run_id, "editor")
        if run.status not in ("queued", "running"):
            raise HTTPException(409, f"Run {run_id} is already {run.status}.")
        run.cancel_requested = True
        _audit(session, user, run.workspace_id, "cancel", "run", run.id)
        session.commit()
        request.app.state.jobs.cancel(run.id)
        return _run_out(session, run)

    @app.get(
        "/runs/{run_id}/provenance",
        response_model=dict[str, Any],
        responses=_errors(404, 409),
        tags=["runs"],
    )
    def run_provenance(run_id: _IdPath, session: SessionDep, user: UserDep) -> dict[str, Any]:
        """Inputs (dataset ids, names, SHA-256), parameters, match report, dongne version."""
        run = _finished(_run_of(session, user, run_id))
        return run.provenance

    @app.get(
        "/runs/{run_id}/result",
        response_class=FileResponse,
        responses={
            **_errors(404, 409),
            200: {
                "description": "The result layer",
                "content": {mt: {} for _, mt in _FORMATS.values()},
            },
        },
        tags=["runs"],
    )
    def run_result(
        run_id: _IdPath,
        session: SessionDep,
        user: UserDep,
        format: Literal["geojson", "csv", "gpkg"] = "geojson",
        layer: str = "areas",
    ) -> FileResponse:
        """A result layer as GeoJSON (EPSG:4326), CSV (UTF-8, no geometry) or GeoPackage."""
        run = _finished(_run_of(session, user, run_id))
        if layer not in run.layers:
            raise HTTPException(
                404, f"Run {run_id} has no layer {layer!r}; layers: {', '.join(run.layers)}."
            )
        ext, media_type = _FORMATS[format]
        _audit(
            session, user, run.workspace_id, "download", "run", run.id, layer=layer, format=format
        )
        session.commit()
        return FileResponse(
            settings.data_dir / run.output_dir / f"{layer}.{ext}",
            media_type=media_type,
            filename=f"run-{run.id}-{layer}.{ext}",
        )

    @app.get(
        "/runs/{run_id}/files/{name}",
        response_class=FileResponse,
        responses={**_errors(404, 409), 200: {"description": "The file"}},
        tags=["runs"],
    )
    def run_file(run_id: _IdPath, name: str, session: SessionDep, user: UserDep) -> FileResponse:
        """One output file of the run (maps as PNG, summary.txt, match_report.json, ...)."""
        run = _finished(_run_of(session, user, run_id))
        if name not in run.provenance.get("files", []):
            raise _not_found(f"File {name!r} of run {run_id}")
        _audit(session, user, run.workspace_id, "download", "run", run.id, file=name)
        session.commit()
        return FileResponse(
            settings.data_dir / run.output_dir / name,
            media_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
            filename=name,
        )


def _finished(run: Run) -> Run:
    if run.status != "done":
        raise HTTPException(
            409,
            f"Run {run.id} is {run.status}; results exist once its status is done."
            + (f" Reason: {run.message}" if run.status == "failed" else ""),
        )
    return run
