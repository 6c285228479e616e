"""Runs record a heartbeat: when the job supervisor last saw the run's worker process alive.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``runs.heartbeat_at`` (empty for existing runs)."""
    op.add_column("runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    """Remove ``runs.heartbeat_at`` (SQLite 3.35 or newer drops a column in place)."""
    op.drop_column("runs", "heartbeat_at")
