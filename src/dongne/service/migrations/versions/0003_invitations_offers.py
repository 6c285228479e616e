"""Consent: invitations to workspaces and offers of datasets, each accepted by the receiver.

Revision ID: 0003_access
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_access"
down_revision = "0002"
branch_labels = None
depends_on = None


def _fk(name: str, table: str, ondelete: str, primary_key: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.Integer(),
        sa.ForeignKey(f"{table}.id", ondelete=ondelete),
        primary_key=primary_key,
    )


def upgrade() -> None:
    """Create ``invitations`` (user invited to a workspace) and ``dataset_offers``."""
    op.create_table(
        "invitations",
        _fk("workspace_id", "workspaces", "CASCADE", primary_key=True),
        _fk("user_id", "users", "CASCADE", primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
        _fk("invited_by", "users", "SET NULL"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('owner', 'editor', 'viewer')", name="ck_invitations_role"
        ),
    )
    op.create_table(
        "dataset_offers",
        _fk("dataset_id", "datasets", "CASCADE", primary_key=True),
        _fk("workspace_id", "workspaces", "CASCADE", primary_key=True),
        _fk("created_by", "users", "SET NULL"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop the two tables (pending invitations and offers are lost)."""
    op.drop_table("dataset_offers")
    op.drop_table("invitations")
