"""API tokens and workspace roles.

Tokens are 256 random bits from :func:`secrets.token_urlsafe`, prefixed ``dn_`` so that
secret scanners and people recognise them. The server stores only their SHA-256 digest: a
stolen database does not reveal working tokens, and because the secrets are uniformly random
(not passwords) a slow key-derivation function would add no protection. A token is shown once,
when it is created; a lost token is replaced, never recovered.

Access rules (enforced by :func:`require_role` and the dataset/run look-ups in ``app.py``):

* a user who is not a member of a workspace gets **404 Not Found** for it and for everything in
  it, exactly as for an id that does not exist, so ids cannot be probed for existence;
* a member whose role is too low for the action gets **403 Forbidden**;
* ``viewer`` reads; ``editor`` also uploads, deletes, runs and cancels; ``owner`` also
  shares datasets with other workspaces, manages members and reads the audit log.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from dongne.service.models import ROLES, ApiToken, Membership, User

__all__ = [
    "TOKEN_PREFIX",
    "hash_token",
    "issue_token",
    "membership",
    "role_at_least",
    "user_for_token",
]

TOKEN_PREFIX = "dn_"


def hash_token(token: str) -> str:
    """Hex SHA-256 digest of a token, as stored in the database.

    Examples
    --------
    >>> hash_token("dn_example")[:16]
    '767047be9e4ac3d6'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User, label: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the stored record and the secret (shown once)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(user_id=user.id, token_hash=hash_token(secret), label=label)
    session.add(record)
    session.flush()
    return record, secret


def user_for_token(session: Session, token: str) -> User | None:
    """The user owning ``token``, or ``None`` for an unknown or malformed token."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token))
    )


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether ``role`` grants what ``needed`` grants (owner > editor > viewer).

    Examples
    --------
    >>> role_at_least("editor", "viewer"), role_at_least("viewer", "editor")
    (True, False)
    >>> role_at_least(None, "viewer")
    False
    """
    return role is not None and ROLES.index(role) <= ROLES.index(needed)


def membership(session: Session, user: User, workspace_id: int) -> Membership | None:
    """The user's membership of the workspace, if any."""
    return session.get(Membership, (workspace_id, user.id))
