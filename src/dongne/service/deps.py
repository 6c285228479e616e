"""What every route of the service depends on: the database session, the signed-in user,
the settings, access checks and the audit log.

Routers (:mod:`dongne.service.routes`) and other packages that add routes to the service
(the model registry's routes in :mod:`dongne.service.routes.models`) use these and nothing else
of the application, so the application (:mod:`dongne.service.app`) only assembles routers.
Access rules are described in :mod:`dongne.service.auth`: a resource of a workspace that the
user does not belong to is answered with 404, word for word as one that does not exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dongne.service import auth
from dongne.service.cache import MISSING, TOKEN_TABLES, ReadCache
from dongne.service.models import AuditEvent, Dataset, Membership, Run, User, Workspace
from dongne.service.schemas import ErrorOut
from dongne.service.settings import Settings

__all__ = [
    "IdPath",
    "OptionalUserDep",
    "SessionDep",
    "SettingsDep",
    "UserDep",
    "audit",
    "cached",
    "changeable_dataset",
    "error_responses",
    "member_workspace_ids",
    "not_found",
    "readable_dataset",
    "run_of",
    "usable_dataset",
    "user_name",
    "workspace_for",
]

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


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route: 401 and ``codes``, each with the error body."""
    return {code: _ERRORS[code] for code in (401, *codes)}


#: Ids are 32-bit ``integer`` columns (PostgreSQL); a larger id in a URL is refused with 422
#: before it reaches the database driver (which would fail with a server error).
IdPath = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


_bearer = HTTPBearer(auto_error=False, description="API token: 'Authorization: Bearer dn_...'")


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(_session)]


async def _current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The token's user: from the read cache, else looked up in a session of its own.

    The user comes back detached, its columns loaded: the request holds no database
    connection from here until its route opens its own session (an upload streams its body
    with none). A cached answer costs no thread and no query; a revoked token is refused at
    once (:mod:`dongne.service.cache`).
    """
    if credentials is None:
        raise HTTPException(
            401,
            "Missing API token. Fix: send the header 'Authorization: Bearer <token>'; an "
            "administrator creates users and their first token with 'dongne serve "
            "--create-user NAME'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = await cached(
        request, ("token", auth.hash_token(credentials.credentials)), TOKEN_TABLES,
        _user_for_token, request.app.state.sessions, credentials.credentials,
    )  # fmt: skip
    if user is None:
        raise HTTPException(
            401,
            "Unknown or revoked API token. Fix: check the token, or ask for a new one.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def _user_for_token(sessions: sessionmaker[Session], token: str) -> User | None:
    with sessions() as session:
        return auth.user_for_token(session, token)


async def cached(
    request: Request,
    key: Hashable,
    tables: frozenset[str],
    read: Callable[..., Any],
    *args: Any,
) -> Any:
    """``read(*args)`` through the application's :class:`~dongne.service.cache.ReadCache`.

    A hit is answered on the event loop. On a miss ``read`` runs on a worker thread (it
    opens its own session) and its value is kept, unless one of ``tables`` (those ``read``
    reads) was written meanwhile; requests for the same ``key`` that arrive while it runs
    wait for that one read instead of each starting their own (after a write, hundreds of
    clients would otherwise all read the same answer at once). Exceptions (404, 403) and
    ``None`` (an unknown token) are not cached, so a token or a membership made by another
    process works at once.
    """
    cache: ReadCache = request.app.state.cache
    value = cache.get(key)
    if value is not MISSING:
        return value
    pending = cache.pending.get(key)
    if pending is not None:
        value = await asyncio.shield(pending)
        return value if value is not MISSING else await run_in_threadpool(read, *args)
    future = cache.pending[key] = asyncio.get_running_loop().create_future()
    token = cache.token(tables)
    try:
        value = await run_in_threadpool(read, *args)
    except Exception as exc:
        future.set_exception(exc)
        future.exception()  # retrieved here: nobody may be waiting
        raise
    except BaseException:  # this request was cancelled: the others read for themselves
        future.set_result(MISSING)
        raise
    finally:
        del cache.pending[key]
    future.set_result(value)
    if value is not None:
        cache.put(key, tables, token, value)
    return value


UserDep = Annotated[User, Depends(_current_user)]


def _optional_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The user of the request's token, or ``None`` without a (valid) token."""
    return None if credentials is None else auth.user_for_token(session, credentials.credentials)


#: The signed-in user where the request carries a valid token, else ``None`` (pages that a
#: signed link opens in a browser, which sends no token).
OptionalUserDep = Annotated[User | None, Depends(_optional_user)]


async def _settings(request: Request) -> Settings:
    """The settings the application was created with (``async``: a plain function would be
    run on a worker thread, a round trip that took 20-350 ms under load)."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(_settings)]


def not_found(what: str) -> HTTPException:
    """404 for ``what``: the same answer for a thing that is missing and one not visible."""
    return HTTPException(404, f"{what} not found (or you have no access to it).")


def workspace_for(session: Session, user: User, slug: str, needed: str = "viewer") -> Workspace:
    """The workspace if ``user`` is a member with at least ``needed``; 404 for non-members."""
    ws = session.scalar(select(Workspace).where(Workspace.slug == slug))
    member = auth.membership(session, user, ws.id) if ws is not None else None
    if ws is None or member is None:
        raise not_found(f"Workspace {slug!r}")
    if not auth.role_at_least(member.role, needed):
        raise HTTPException(
            403,
            f"Your role in workspace {slug!r} is {member.role}; this needs {needed}. Fix: ask "
            "an owner of the workspace to change your role.",
        )
    return ws


def member_workspace_ids(session: Session, user: User) -> set[int]:
    """Ids of the workspaces ``user`` belongs to."""
    return set(
        session.scalars(select(Membership.workspace_id).where(Membership.user_id == user.id))
    )


def readable_dataset(session: Session, user: User, dataset_id: int) -> Dataset:
    """The dataset if it belongs to or is shared with one of ``user``'s workspaces; else 404."""
    ds = session.get(Dataset, dataset_id)
    if ds is None:
        raise not_found(f"Dataset {dataset_id}")
    mine = member_workspace_ids(session, user)
    if ds.workspace_id not in mine and not mine & {s.workspace_id for s in ds.shares}:
        raise not_found(f"Dataset {dataset_id}")
    return ds


def changeable_dataset(session: Session, user: User, dataset_id: int, needed: str) -> Dataset:
    """The dataset if ``user`` has at least role ``needed`` in its own workspace; else 403/404."""
    ds = readable_dataset(session, user, dataset_id)
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


def usable_dataset(
    session: Session, ws: Workspace, dataset_id: int, kinds: tuple[str, ...]
) -> Dataset:
    """A dataset owned by or shared with ``ws``, of one of ``kinds``."""
    ds = session.get(Dataset, dataset_id)
    if ds is None or (
        ds.workspace_id != ws.id and ws.id not in {s.workspace_id for s in ds.shares}
    ):
        raise not_found(f"Dataset {dataset_id} in workspace {ws.slug!r} (own or shared)")
    if ds.kind not in kinds:
        raise HTTPException(
            400,
            f"Dataset {dataset_id} ({ds.name}) is {ds.kind}; this input needs "
            f"{' or '.join(kinds)}. Fix: pick a dataset uploaded as {kinds[0]}.",
        )
    return ds


def run_of(session: Session, user: User, run_id: int, needed: str = "viewer") -> Run:
    """The run if ``user`` has at least role ``needed`` in its workspace; else 403/404."""
    run = session.get(Run, run_id)
    member = auth.membership(session, user, run.workspace_id) if run is not None else None
    if run is None or member is None:
        raise not_found(f"Run {run_id}")
    if not auth.role_at_least(member.role, needed):
        raise HTTPException(
            403, f"Your role in the run's workspace is {member.role}; this needs {needed}."
        )
    return run


def audit(
    session: Session,
    user: User,
    workspace_id: int | None,
    action: str,
    target_type: str,
    target_id: int | None,
    **detail: Any,
) -> None:
    """Add an event to the audit log (committed with the caller's transaction)."""
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


def user_name(session: Session, user_id: int | None) -> str | None:
    """The name of user ``user_id`` (``None`` for none or a deleted user)."""
    user = session.get(User, user_id) if user_id is not None else None
    return user.name if user is not None else None
