"""Setting up a service from the command line: the first user, workspace and token; serving."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from dongne.errors import SpecificationError
from dongne.service import auth
from dongne.service.db import make_engine, make_sessions, migrate
from dongne.service.models import Membership, User, Workspace
from dongne.service.settings import Settings

__all__ = ["NewUser", "create_user", "serve"]


@dataclass(frozen=True)
class NewUser:
    """A user created by :func:`create_user`, with the only copy of their token."""

    name: str
    token: str
    is_admin: bool
    workspace: str | None

    def summary(self) -> str:
        """What to tell the person: their token, once, and how to use it."""
        role = "administrator" if self.is_admin else "user"
        lines = [f"Created {role} {self.name!r}."]
        if self.workspace:
            lines.append(f"Owner of workspace {self.workspace!r}.")
        lines += [
            f"API token (shown only now; store it safely): {self.token}",
            f"Use it as: curl -H 'Authorization: Bearer {self.token}' http://HOST:PORT/me",
        ]
        return "\n".join(lines)


def create_user(
    settings: Settings,
    name: str,
    *,
    workspace: str | None = None,
    workspace_name: str | None = None,
    admin: bool | None = None,
) -> NewUser:
    """Create a user and their first API token directly in the database (no server needed).

    Parameters
    ----------
    settings : Settings
        The service's settings; the database is created or upgraded first.
    name : str
        User name (letters, digits, ``_ . @ -``).
    workspace : str, optional
        Slug of a workspace the user owns; created (named ``workspace_name``) if missing.
    workspace_name : str, optional
        Display name of a new workspace (default: the slug).
    admin : bool, optional
        Whether the user may create users. ``None`` (default): only the very first user is.

    Returns
    -------
    NewUser
        With the token, which is stored only as its SHA-256 and cannot be shown again.

    Raises
    ------
    SpecificationError
        The user exists already.
    """
    engine = make_engine(settings)
    try:
        migrate(engine)
        with make_sessions(engine).begin() as session:
            if session.scalar(select(User).where(User.name == name)) is not None:
                raise SpecificationError(
                    f"User {name!r} exists already. Fix: choose another name, or create a new "
                    "token for it with POST /me/tokens."
                )
            first = session.scalar(select(func.count()).select_from(User)) == 0
            user = User(name=name, is_admin=first if admin is None else admin)
            session.add(user)
            session.flush()
            _, token = auth.issue_token(session, user, "created on the command line")
            if workspace:
                ws = session.scalar(select(Workspace).where(Workspace.slug == workspace))
                if ws is None:
                    ws = Workspace(slug=workspace, name=workspace_name or workspace)
                    session.add(ws)
                    session.flush()
                session.add(Membership(workspace_id=ws.id, user_id=user.id, role="owner"))
            return NewUser(name=name, token=token, is_admin=user.is_admin, workspace=workspace)
    finally:
        engine.dispose()


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the web service with uvicorn until interrupted (one process; jobs run inside it)."""
    import uvicorn

    from dongne.service.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, workers=1, log_level="info")
