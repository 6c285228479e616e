"""Routes of datasets: upload (streamed, read by dongne's readers), list, download, delete,
offer to another workspace (shared once its owner accepts), and the match report of a join."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dongne.service.admission import LEAVE, busy_detail
from dongne.service.cache import DATASET_TABLES
from dongne.service.deps import (
    IdPath,
    SessionDep,
    SettingsDep,
    UserDep,
    audit,
    cached,
    changeable_dataset,
    error_responses,
    member_workspace_ids,
    not_found,
    readable_dataset,
    usable_dataset,
    user_name,
    workspace_for,
)
from dongne.service.models import (
    Dataset,
    DatasetOffer,
    DatasetShare,
    User,
    Workspace,
)
from dongne.service.schemas import (
    DatasetOut,
    MatchReportOut,
    MatchRequest,
    OfferOut,
    ShareIn,
    ShareOut,
)
from dongne.service.settings import Settings
from dongne.service.storage import (
    UploadRejected,
    check_filename,
    read_dataset,
    receive_upload,
)

router = APIRouter()


@router.post(
    "/workspaces/{workspace}/datasets",
    response_model=DatasetOut,
    status_code=201,
    responses=error_responses(400, 403, 404, 413, 415),
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
    settings: SettingsDep,
    name: Annotated[str | None, Query(max_length=200)] = None,
    layer: str | None = None,
    encoding: str | None = None,
    title_lines: Annotated[str | None, Query(pattern=r"^(\d{1,3}|auto)$")] = None,
    sheet: str | None = None,
    x: str | None = None,
    y: str | None = None,
    crs: str | None = None,
    xy_scale: Annotated[float | None, Query(gt=0)] = None,
) -> DatasetOut:
    """Upload a dataset as the raw request body; it is streamed to disk and read by dongne.

    areas: GeoJSON, GeoPackage, GeoParquet or a zipped shapefile; table: CSV (UTF-8 or
    CP949, detected), XLSX or Parquet; points: a table with coordinate columns or a point
    layer (``x``, ``y``, ``crs``; ``xy_scale=0.01`` for coordinates published in
    centimetres). The response holds what the reader found (``summary``); nothing is kept
    when reading fails.
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
    options = {
        "layer": layer,
        "encoding": encoding,
        "title_lines": (int(title_lines) if title_lines and title_lines.isdigit() else title_lines),
        "sheet": sheet,
        "x": x,
        "y": y,
        "crs": crs,
        "xy_scale": xy_scale,
    }
    options = {k: v for k, v in options.items() if v is not None}
    # the body and a reader process may take seconds: wait for them without holding a place
    # of the admission limit (reads go on), counted against max_uploads instead
    request.scope.get(LEAVE, lambda: None)()
    uploads = request.app.state.uploads
    if uploads.active >= settings.max_uploads:
        detail, seconds = busy_detail(
            f"{uploads.active} uploads are being received or read",
            retry_after=5,
            setting="DONGNE_MAX_UPLOADS",
        )
        raise HTTPException(503, detail, headers={"Retry-After": str(seconds)})
    uploads.active += 1
    try:
        return await _receive_and_store(
            request, settings, sessions, user, ws_id, kind, filename, name, options
        )
    finally:
        uploads.active -= 1


async def _receive_and_store(
    request: Request, settings: Settings, sessions, user, ws_id, kind, filename, name, options
) -> DatasetOut:
    """Stream the body to disk, read it in a reader process, record the dataset."""
    path, size, digest = await receive_upload(
        request.stream(), settings.tmp_dir, settings.max_upload_bytes
    )
    stored = await request.app.state.readers.store(
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
        settings,
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
    """The workspace's id if ``user`` may upload to it (editor and up)."""
    with sessions() as session:
        return workspace_for(session, user, workspace, "editor").id


def _record_dataset(
    settings: Settings, sessions, user, ws_id, kind, name, filename, options, stored
) -> DatasetOut:
    """The uploaded dataset's row and audit event; its files are removed if that fails."""
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
            audit(
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


@router.get(
    "/workspaces/{workspace}/datasets",
    response_model=list[DatasetOut],
    responses=error_responses(404),
    tags=["datasets"],
)
async def list_datasets(workspace: str, request: Request, user: UserDep) -> list[DatasetOut]:
    """The workspace's own datasets and those shared with it (``shared: true``)."""
    sessions = request.app.state.sessions
    key = ("datasets", user.id, workspace)
    return await cached(request, key, DATASET_TABLES, _list_datasets, sessions, user, workspace)


def _list_datasets(sessions, user: User, workspace: str) -> list[DatasetOut]:
    with sessions() as session:
        ws = workspace_for(session, user, workspace)
        shared_in = select(DatasetShare.dataset_id).where(DatasetShare.workspace_id == ws.id)
        found = session.scalars(
            select(Dataset)
            .where((Dataset.workspace_id == ws.id) | Dataset.id.in_(shared_in))
            .options(selectinload(Dataset.shares).selectinload(DatasetShare.workspace))
            .order_by(Dataset.id)
        ).all()
        return _datasets_out(session, found, user)


@router.get(
    "/datasets/{dataset_id}",
    response_model=DatasetOut,
    responses=error_responses(404),
    tags=["datasets"],
)
async def get_dataset(dataset_id: IdPath, request: Request, user: UserDep) -> DatasetOut:
    """The dataset's metadata: what the reader found, its owner workspace and shares."""
    sessions = request.app.state.sessions
    key = ("dataset", user.id, dataset_id)
    return await cached(request, key, DATASET_TABLES, _get_dataset, sessions, user, dataset_id)


def _get_dataset(sessions, user: User, dataset_id: int) -> DatasetOut:
    with sessions() as session:
        return _dataset_out(session, readable_dataset(session, user, dataset_id), user)


@router.delete(
    "/datasets/{dataset_id}",
    status_code=204,
    responses=error_responses(403, 404),
    tags=["datasets"],
)
def delete_dataset(
    dataset_id: IdPath, session: SessionDep, user: UserDep, settings: SettingsDep
) -> Response:
    """Delete a dataset and its shares (editors of its workspace)."""
    ds = changeable_dataset(session, user, dataset_id, "editor")
    folder = settings.data_dir / Path(ds.stored_path).parent
    audit(session, user, ds.workspace_id, "delete", "dataset", ds.id, name=ds.name)
    session.delete(ds)
    session.commit()
    shutil.rmtree(folder, ignore_errors=True)
    return Response(status_code=204)


@router.get(
    "/datasets/{dataset_id}/download",
    responses={
        **error_responses(400, 404),
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
async def download_dataset(
    dataset_id: IdPath,
    request: Request,
    user: UserDep,
    settings: SettingsDep,
    format: Literal["original", "geojson", "csv"] = "original",
) -> Response:
    """The uploaded file as it was, or re-read as GeoJSON (EPSG:4326) or CSV."""
    sessions = request.app.state.sessions
    answer = await run_in_threadpool(_download, settings, sessions, user, dataset_id, format)
    if isinstance(answer, Response):
        return answer
    path, stat_result, filename, content = answer
    return _DatasetFile(
        path,
        stat_result=stat_result,
        filename=filename,
        media_type="application/octet-stream",
        content=content,
    )


#: Stored files up to this size are read with the access check, on the same worker thread,
#: and sent in one piece (at most ``max_transfers`` times this in memory).
PRELOAD_BYTES = 2 * 1024**2


class _DatasetFile(FileResponse):
    """A stored file: sent from ``content`` (read already) to a plain GET, else read in
    chunks of 1 MiB. Each chunk read is a round trip to a worker thread, and under load the
    thread and then the event loop take up to tens of milliseconds to come back: with
    Starlette's 64 KiB chunks, 19 round trips for 1 MiB took 0.15-0.9 s at 500 clients.
    Headers, ``Range`` and ``HEAD`` are :class:`~starlette.responses.FileResponse`'s."""

    chunk_size = 1024**2

    def __init__(self, *args, content: bytes | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.content = content

    async def __call__(self, scope, receive, send) -> None:
        if (
            self.content is None
            or scope["method"] != "GET"
            or any(name == b"range" for name, _ in scope["headers"])
        ):
            await super().__call__(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.content})


def _download(
    settings: Settings, sessions, user: User, dataset_id: int, format: str
) -> Response | tuple[Path, os.stat_result, str, bytes | None]:
    """Check access and record the download in the audit log, in one short session; the
    stored file's path, status, name and (up to :data:`PRELOAD_BYTES`) content, or
    (another format) the answer itself."""
    with sessions() as session:
        ds = readable_dataset(session, user, dataset_id)
        if format == "geojson" and ds.kind == "table":
            raise HTTPException(400, f"Dataset {ds.id} is a table; ask for format=csv.")
        audit(session, user, ds.workspace_id, "download", "dataset", ds.id, format=format)
        session.commit()
        kind, options, filename = ds.kind, ds.options, ds.filename
        stored_path, read_path = ds.stored_path, ds.read_path
    if format == "original":
        path = settings.data_dir / stored_path
        with path.open("rb") as file:
            stat_result = os.fstat(file.fileno())
            small = stat_result.st_size <= PRELOAD_BYTES
            content = file.read() if small else None
        if content is not None and len(content) != stat_result.st_size:
            raise RuntimeError(f"Stored file {path} changed while it was read.")
        return path, stat_result, filename, content
    frame = read_dataset(settings.data_dir / read_path, kind, options, filename)
    headers = {"Content-Disposition": f'attachment; filename="dataset-{dataset_id}.{format}"'}
    if format == "geojson":
        text = frame.to_crs(4326).to_json(na="null", drop_id=True)
        return Response(text, media_type="application/geo+json", headers=headers)
    if hasattr(frame, "geometry"):
        frame = frame.drop(columns=frame.geometry.name)
    return Response(
        frame.to_csv(index=False), media_type="text/csv; charset=utf-8", headers=headers
    )


@router.post(
    "/datasets/{dataset_id}/shares",
    response_model=OfferOut,
    status_code=202,
    responses=error_responses(403, 404, 409),
    tags=["datasets"],
)
def share_dataset(
    dataset_id: IdPath, body: ShareIn, session: SessionDep, user: UserDep
) -> OfferOut:
    """Offer this dataset, read-only, to another workspace (owners of its workspace).

    It is shared once an owner of that workspace accepts (``POST
    /workspaces/{ws}/offers/{dataset_id}/accept``). The answer is the same whether or not
    the workspace exists, so slugs cannot be probed; an offer is stored only for an existing
    one, so a workspace created later under that name receives nothing.
    """
    ds = changeable_dataset(session, user, dataset_id, "owner")
    own = session.get(Workspace, ds.workspace_id)
    if body.workspace == own.slug:
        raise HTTPException(409, "A dataset is always visible in its own workspace.")
    target = session.scalar(select(Workspace).where(Workspace.slug == body.workspace))
    if target is not None and session.get(DatasetShare, (ds.id, target.id)) is not None:
        raise HTTPException(409, f"Dataset {ds.id} is already shared with {target.slug!r}.")
    if target is not None and session.get(DatasetOffer, (ds.id, target.id)) is None:
        session.add(DatasetOffer(dataset_id=ds.id, workspace_id=target.id, created_by=user.id))
        audit(session, user, target.id, "share_offered", "dataset", ds.id, name=ds.name,
              source=own.slug)  # fmt: skip
    audit(session, user, ds.workspace_id, "share_offer", "dataset", ds.id, to=body.workspace)
    session.commit()
    return OfferOut(dataset_id=ds.id, workspace=body.workspace)


@router.get(
    "/workspaces/{workspace}/offers",
    response_model=list[OfferOut],
    responses=error_responses(403, 404),
    tags=["datasets"],
)
def list_offers(workspace: str, session: SessionDep, user: UserDep) -> list[OfferOut]:
    """Datasets other workspaces offer to this one, waiting for an owner to accept."""
    ws = workspace_for(session, user, workspace, "owner")
    offers = session.scalars(
        select(DatasetOffer)
        .where(DatasetOffer.workspace_id == ws.id)
        .order_by(DatasetOffer.created_at)
    )
    return [
        OfferOut(
            dataset_id=o.dataset_id,
            workspace=ws.slug,
            name=o.dataset.name,
            kind=o.dataset.kind,
            from_workspace=session.get(Workspace, o.dataset.workspace_id).slug,
            offered_by=user_name(session, o.created_by),
            created_at=o.created_at,
        )
        for o in offers
    ]


def _offer(session: Session, user: User, workspace: str, dataset_id: int):
    ws = workspace_for(session, user, workspace, "owner")
    offer = session.get(DatasetOffer, (dataset_id, ws.id))
    if offer is None:
        raise not_found(f"Offer of dataset {dataset_id} to workspace {workspace!r}")
    return ws, offer


@router.post(
    "/workspaces/{workspace}/offers/{dataset_id}/accept",
    response_model=ShareOut,
    status_code=201,
    responses=error_responses(403, 404),
    tags=["datasets"],
)
def accept_offer(
    workspace: str, dataset_id: IdPath, session: SessionDep, user: UserDep
) -> ShareOut:
    """Accept an offered dataset: members of this workspace may now read and use it."""
    ws, offer = _offer(session, user, workspace, dataset_id)
    ds = offer.dataset
    share = DatasetShare(dataset_id=ds.id, workspace_id=ws.id, created_by=offer.created_by)
    session.delete(offer)
    session.add(share)
    audit(session, user, ds.workspace_id, "share_accepted", "dataset", ds.id, to=ws.slug)
    audit(session, user, ws.id, "share_received", "dataset", ds.id, name=ds.name)
    session.commit()
    return ShareOut(
        dataset_id=ds.id,
        workspace=ws.slug,
        created_by=user_name(session, share.created_by),
        created_at=share.created_at,
    )


@router.delete(
    "/workspaces/{workspace}/offers/{dataset_id}",
    status_code=204,
    responses=error_responses(403, 404),
    tags=["datasets"],
)
def decline_offer(
    workspace: str, dataset_id: IdPath, session: SessionDep, user: UserDep
) -> Response:
    """Decline an offered dataset (nothing is shared)."""
    ws, offer = _offer(session, user, workspace, dataset_id)
    audit(session, user, ws.id, "share_decline", "dataset", dataset_id)
    session.delete(offer)
    session.commit()
    return Response(status_code=204)


@router.get(
    "/datasets/{dataset_id}/shares",
    response_model=list[ShareOut],
    responses=error_responses(403, 404),
    tags=["datasets"],
)
def list_shares(dataset_id: IdPath, session: SessionDep, user: UserDep) -> list[ShareOut]:
    """Workspaces this dataset is shared with (members of its own workspace)."""
    ds = changeable_dataset(session, user, dataset_id, "viewer")
    return [
        ShareOut(
            dataset_id=ds.id,
            workspace=s.workspace.slug,
            created_by=user_name(session, s.created_by),
            created_at=s.created_at,
        )
        for s in ds.shares
    ]


@router.delete(
    "/datasets/{dataset_id}/shares/{workspace}",
    status_code=204,
    responses=error_responses(403, 404),
    tags=["datasets"],
)
def unshare_dataset(
    dataset_id: IdPath, workspace: str, session: SessionDep, user: UserDep
) -> Response:
    """Stop sharing (owners of the dataset's workspace)."""
    ds = changeable_dataset(session, user, dataset_id, "owner")
    share = next((s for s in ds.shares if s.workspace.slug == workspace), None)
    if share is None:
        raise not_found(f"Share of dataset {ds.id} with {workspace!r}")
    ds.shares.remove(share)
    audit(session, user, ds.workspace_id, "unshare", "dataset", ds.id, to=workspace)
    session.commit()
    return Response(status_code=204)


@router.post(
    "/workspaces/{workspace}/match",
    response_model=MatchReportOut,
    responses=error_responses(400, 404),
    tags=["datasets"],
)
def match_report(
    workspace: str, body: MatchRequest, session: SessionDep, user: UserDep, settings: SettingsDep
) -> MatchReportOut:
    """Join a table to areas by code and return the match report (nothing is stored)."""
    import warnings

    from dongne.errors import UnmatchedWarning
    from dongne.io import join_by_code

    ws = workspace_for(session, user, workspace)
    areas_ds = usable_dataset(session, ws, body.areas, ("areas",))
    table_ds = usable_dataset(session, ws, body.table, ("table",))
    areas = read_dataset(
        settings.data_dir / areas_ds.read_path, "areas", areas_ds.options, areas_ds.filename
    )
    table = read_dataset(
        settings.data_dir / table_ds.read_path, "table", table_ds.options, table_ds.filename
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedWarning)
        _, report = join_by_code(areas, table, key=body.key, table_key=body.table_key)
    return MatchReportOut(
        **report.to_dict(),
        summary=report.summary(),
        summary_en=report.summary(lang="en"),
        summary_ko=report.summary(lang="ko"),
    )


def _dataset_out(session: Session, ds: Dataset, user: User) -> DatasetOut:
    return _datasets_out(session, [ds], user)[0]


def _datasets_out(session: Session, found: list[Dataset], user: User) -> list[DatasetOut]:
    """The datasets as ``user`` sees them, in a fixed number of queries (not one per row)."""
    mine = member_workspace_ids(session, user)
    workspace_ids = {ds.workspace_id for ds in found}
    slug_rows = select(Workspace.id, Workspace.slug).where(Workspace.id.in_(workspace_ids))
    slugs = dict(session.execute(slug_rows).all())
    creators = {ds.created_by for ds in found} - {None}
    name_rows = select(User.id, User.name).where(User.id.in_(creators))
    names = dict(session.execute(name_rows).all())
    out = []
    for ds in found:
        owner_member = ds.workspace_id in mine
        out.append(
            DatasetOut(
                id=ds.id,
                workspace=slugs[ds.workspace_id],
                kind=ds.kind,
                name=ds.name,
                filename=ds.filename,
                size_bytes=ds.size_bytes,
                sha256=ds.sha256,
                options=ds.options,
                summary=ds.summary,
                shared=not owner_member,
                shared_with=sorted(s.workspace.slug for s in ds.shares) if owner_member else [],
                created_by=names.get(ds.created_by),
                created_at=ds.created_at,
            )
        )
    return out
