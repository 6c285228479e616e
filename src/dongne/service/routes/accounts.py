"""Routes of accounts and workspaces: health, you and your tokens, users, workspaces, members,
the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dongne import __version__
from dongne.service import auth
from dongne.service.cache import ME_TABLES
from dongne.service.deps import (
    IdPath,
    SessionDep,
    SettingsDep,
    UserDep,
    audit,
    cached,
    error_responses,
    not_found,
    user_name,
    workspace_for,
)
from dongne.service.models import (
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    SentInvitation,
    User,
    Workspace,
    utcnow,
)
from dongne.service.schemas import (
    AuditEventOut,
    HealthOut,
    InvitationOut,
    MemberIn,
    MemberOut,
    MeOut,
    NewTokenOut,
    NewUserOut,
    SentInvitationOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    WorkspaceIn,
    WorkspaceOut,
)

router = APIRouter()


@router.get("/health", response_model=HealthOut, tags=["service"])
def health(request: Request) -> HealthOut:
    """Liveness check (no token needed)."""
    backend = request.app.state.settings.url.get_backend_name()
    return HealthOut(status="ok", version=__version__, database=backend)


@router.get("/me", response_model=MeOut, responses=error_responses(), tags=["accounts"])
async def me(request: Request, user: UserDep) -> MeOut:
    """You and the workspaces you belong to, with your role in each."""
    sessions = request.app.state.sessions
    return await cached(request, ("me", user.id), ME_TABLES, _me, sessions, user)


def _me(sessions, user: User) -> MeOut:
    with sessions() as session:
        return MeOut(user=UserOut.model_validate(user), workspaces=_workspaces_of(session, user))


@router.post(
    "/me/tokens",
    response_model=NewTokenOut,
    status_code=201,
    responses=error_responses(),
    tags=["accounts"],
)
def new_token(body: TokenIn, session: SessionDep, user: UserDep) -> NewTokenOut:
    """Create another API token for yourself; the secret is shown only in this response."""
    record, secret = auth.issue_token(session, user, body.label)
    audit(session, user, None, "token_create", "token", record.id, label=body.label)
    session.commit()
    return NewTokenOut(id=record.id, label=record.label, created_at=record.created_at, token=secret)


@router.get(
    "/me/tokens", response_model=list[TokenOut], responses=error_responses(), tags=["accounts"]
)
def list_tokens(session: SessionDep, user: UserDep) -> list[TokenOut]:
    """Your tokens (labels and dates only; secrets are never stored)."""
    records = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id))
    return [TokenOut.model_validate(r) for r in records]


@router.delete(
    "/me/tokens/{token_id}", status_code=204, responses=error_responses(404), tags=["accounts"]
)
def revoke_token(token_id: IdPath, session: SessionDep, user: UserDep) -> Response:
    """Revoke one of your tokens (it stops working at once)."""
    record = session.get(ApiToken, token_id)
    if record is None or record.user_id != user.id:
        raise not_found(f"Token {token_id}")
    session.delete(record)
    audit(session, user, None, "token_revoke", "token", token_id)
    session.commit()
    return Response(status_code=204)


@router.post(
    "/users",
    response_model=NewUserOut,
    status_code=201,
    responses=error_responses(403, 409),
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
    audit(session, user, None, "user_create", "user", new.id, name=new.name)
    session.commit()
    return NewUserOut(user=UserOut.model_validate(new), token=secret)


@router.post(
    "/workspaces",
    response_model=WorkspaceOut,
    status_code=201,
    responses=error_responses(403, 409),
    tags=["workspaces"],
)
def create_workspace(
    body: WorkspaceIn, session: SessionDep, user: UserDep, settings: SettingsDep
) -> WorkspaceOut:
    """Create a workspace (an institution or project); you become its owner.

    Any user may when the service has open workspaces (``Settings.open_workspaces``),
    else administrators only.
    """
    if not (settings.open_workspaces or user.is_admin):
        raise HTTPException(
            403,
            "Only administrators create workspaces on this service. Fix: ask an administrator "
            "to create it and invite you, or start the service with --open-workspaces true.",
        )
    if session.scalar(select(Workspace).where(Workspace.slug == body.slug)) is not None:
        raise HTTPException(409, "This slug cannot be used. Fix: choose another slug.")
    ws = Workspace(slug=body.slug, name=body.name)
    session.add(ws)
    session.flush()
    session.add(Membership(workspace_id=ws.id, user_id=user.id, role="owner"))
    audit(session, user, ws.id, "workspace_create", "workspace", ws.id, slug=ws.slug)
    session.commit()
    return _workspace_out(ws, "owner")


@router.get(
    "/workspaces",
    response_model=list[WorkspaceOut],
    responses=error_responses(),
    tags=["workspaces"],
)
def list_workspaces(session: SessionDep, user: UserDep) -> list[WorkspaceOut]:
    """The workspaces you belong to."""
    return _workspaces_of(session, user)


@router.get(
    "/workspaces/{workspace}",
    response_model=WorkspaceOut,
    responses=error_responses(404),
    tags=["workspaces"],
)
def get_workspace(workspace: str, session: SessionDep, user: UserDep) -> WorkspaceOut:
    ws = workspace_for(session, user, workspace)
    return _workspace_out(ws, auth.membership(session, user, ws.id).role)


@router.get(
    "/workspaces/{workspace}/members",
    response_model=list[MemberOut],
    responses=error_responses(404),
    tags=["workspaces"],
)
def list_members(workspace: str, session: SessionDep, user: UserDep) -> list[MemberOut]:
    ws = workspace_for(session, user, workspace)
    rows = session.execute(
        select(User.name, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == ws.id)
        .order_by(User.name)
    )
    return [MemberOut(user=name, role=role) for name, role in rows]


@router.put(
    "/workspaces/{workspace}/members/{user_name}",
    response_model=MemberOut,
    responses={**error_responses(403, 404, 409), 202: {"model": MemberOut}},
    tags=["workspaces"],
)
def set_member(
    workspace: str,
    user_name: str,
    body: MemberIn,
    session: SessionDep,
    user: UserDep,
    response: Response,
) -> MemberOut:
    """Change a member's role (200), or invite a user who is not a member (202; owners only).

    An invited user becomes a member only by accepting (``POST
    /me/invitations/{workspace}/accept``). The 202 answer, the owners' list of sent
    invitations (``GET /workspaces/{workspace}/invitations``) and the audit event are the
    same whether or not a user of that name exists, so user names cannot be probed; an
    invitation the user can accept is stored only for an existing user.
    """
    ws = workspace_for(session, user, workspace, "owner")
    target = session.scalar(select(User).where(User.name == user_name))
    member = auth.membership(session, target, ws.id) if target is not None else None
    if member is not None:
        _keep_an_owner(session, ws, member, body.role)
        member.role = body.role
        audit(session, user, ws.id, "member_set", "user", target.id, role=body.role)
        session.commit()
        return MemberOut(user=target.name, role=body.role)
    now = utcnow()
    if target is not None:
        invitation = session.get(Invitation, (ws.id, target.id))
        if invitation is None:
            invitation = Invitation(workspace_id=ws.id, user_id=target.id)
            session.add(invitation)
        invitation.role, invitation.invited_by, invitation.created_at = body.role, user.id, now
    sent = session.get(SentInvitation, (ws.id, user_name))
    if sent is None:
        sent = SentInvitation(workspace_id=ws.id, name=user_name)
        session.add(sent)
    sent.role, sent.invited_by, sent.created_at = body.role, user.id, now
    # no user id in the event: it would tell the owners which names exist
    audit(session, user, ws.id, "member_invite", "user", None, role=body.role, name=user_name)
    session.commit()
    response.status_code = 202
    return MemberOut(user=user_name, role=body.role, status="invited")


@router.get(
    "/me/invitations",
    response_model=list[InvitationOut],
    responses=error_responses(),
    tags=["accounts"],
)
def my_invitations(session: SessionDep, user: UserDep) -> list[InvitationOut]:
    """Invitations to workspaces that wait for you to accept or decline."""
    rows = session.scalars(
        select(Invitation).where(Invitation.user_id == user.id).order_by(Invitation.created_at)
    )
    return [
        InvitationOut(
            workspace=i.workspace.slug,
            workspace_name=i.workspace.name,
            role=i.role,
            invited_by=user_name(session, i.invited_by),
            created_at=i.created_at,
        )
        for i in rows
    ]


@router.get(
    "/workspaces/{workspace}/invitations",
    response_model=list[SentInvitationOut],
    responses=error_responses(403, 404),
    tags=["workspaces"],
)
def sent_invitations(workspace: str, session: SessionDep, user: UserDep) -> list[SentInvitationOut]:
    """Invitations this workspace sent that no one accepted yet (owners).

    Every name invited is listed, whether or not it has an account and whether or not its
    user declined, so the list reveals neither.
    """
    ws = workspace_for(session, user, workspace, "owner")
    rows = session.scalars(
        select(SentInvitation)
        .where(SentInvitation.workspace_id == ws.id)
        .order_by(SentInvitation.created_at, SentInvitation.name)
    ).all()
    inviters = {r.invited_by for r in rows} - {None}
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(inviters))).all())
    return [
        SentInvitationOut(
            user=r.name, role=r.role, invited_by=names.get(r.invited_by), created_at=r.created_at
        )
        for r in rows
    ]


@router.delete(
    "/workspaces/{workspace}/invitations/{user_name}",
    status_code=204,
    responses=error_responses(403, 404),
    tags=["workspaces"],
)
def withdraw_invitation(
    workspace: str, user_name: str, session: SessionDep, user: UserDep
) -> Response:
    """Withdraw an invitation (owners): the invited user can no longer accept it."""
    ws = workspace_for(session, user, workspace, "owner")
    sent = session.get(SentInvitation, (ws.id, user_name))
    if sent is None:
        raise not_found(f"Invitation of {user_name!r} to workspace {workspace!r}")
    target = session.scalar(select(User).where(User.name == user_name))
    invitation = session.get(Invitation, (ws.id, target.id)) if target is not None else None
    if invitation is not None:
        session.delete(invitation)
    session.delete(sent)
    audit(session, user, ws.id, "member_uninvite", "user", None, name=user_name)
    session.commit()
    return Response(status_code=204)


def _invitation(session: Session, user: User, workspace: str) -> Invitation:
    invitation = session.scalar(
        select(Invitation)
        .join(Workspace, Workspace.id == Invitation.workspace_id)
        .where(Invitation.user_id == user.id, Workspace.slug == workspace)
    )
    if invitation is None:
        raise not_found(f"Invitation to workspace {workspace!r}")
    return invitation


@router.post(
    "/me/invitations/{workspace}/accept",
    response_model=WorkspaceOut,
    responses=error_responses(404),
    tags=["accounts"],
)
def accept_invitation(workspace: str, session: SessionDep, user: UserDep) -> WorkspaceOut:
    """Accept an invitation: you become a member with the role you were invited to."""
    invitation = _invitation(session, user, workspace)
    ws, role = invitation.workspace, invitation.role
    session.add(Membership(workspace_id=ws.id, user_id=user.id, role=role))
    session.delete(invitation)
    sent = session.get(SentInvitation, (ws.id, user.name))
    if sent is not None:  # the owners now see them among the members
        session.delete(sent)
    audit(session, user, ws.id, "member_join", "user", user.id, role=role)
    session.commit()
    return _workspace_out(ws, role)


@router.delete(
    "/me/invitations/{workspace}",
    status_code=204,
    responses=error_responses(404),
    tags=["accounts"],
)
def decline_invitation(workspace: str, session: SessionDep, user: UserDep) -> Response:
    """Decline an invitation (the workspace's audit log records it)."""
    invitation = _invitation(session, user, workspace)
    audit(session, user, invitation.workspace_id, "member_decline", "user", user.id)
    session.delete(invitation)
    session.commit()
    return Response(status_code=204)


@router.delete(
    "/workspaces/{workspace}/members/{user_name}",
    status_code=204,
    responses=error_responses(403, 404, 409),
    tags=["workspaces"],
)
def remove_member(workspace: str, user_name: str, session: SessionDep, user: UserDep):
    """Remove a member (owners only; the last owner stays)."""
    ws = workspace_for(session, user, workspace, "owner")
    target = session.scalar(select(User).where(User.name == user_name))
    member = auth.membership(session, target, ws.id) if target is not None else None
    if member is None:
        raise not_found(f"Member {user_name!r} of workspace {workspace!r}")
    _keep_an_owner(session, ws, member, None)
    session.delete(member)
    audit(session, user, ws.id, "member_remove", "user", target.id)
    session.commit()
    return Response(status_code=204)


@router.get(
    "/workspaces/{workspace}/audit",
    response_model=list[AuditEventOut],
    responses=error_responses(403, 404),
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
    ws = workspace_for(session, user, workspace, "owner")
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
            user=user_name(session, e.user_id) or e.detail.get("viewer"),
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
