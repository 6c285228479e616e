"""The owners' record of the invitations they sent, kept by name for every name invited.

Revision ID: 0004_sent
Revises: 0003_access
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_sent"
down_revision = "0003_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``sent_invitations`` (workspace, invited name, role, who, when)."""
    op.create_table(
        "sent_invitations",
        sa.Column(
            "workspace_id",
            sa.Integer(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("invited_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('owner', 'editor', 'viewer')", name="ck_sent_invitations_role"
        ),
    )


def downgrade() -> None:
    """Drop ``sent_invitations`` (the owners' lists are lost; invitations stay)."""
    op.drop_table("sent_invitations")
