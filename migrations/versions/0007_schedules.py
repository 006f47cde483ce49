"""schedule_ticks and notifications

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lifeos.db.models import JSONType, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_ticks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "schedule_id",
            sa.String(36),
            sa.ForeignKey("entities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("tick_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("manual", sa.Boolean, nullable=False),
        sa.Column("params", JSONType, nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("images", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Double, nullable=False),
        sa.Column("duration_s", sa.Double, nullable=False),
    )
    op.create_index("ix_schedule_ticks_schedule_tick", "schedule_ticks", ["schedule_id", "tick_at"])
    op.create_index("ix_schedule_ticks_status", "schedule_ticks", ["status"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("entity_id", sa.String(36), nullable=True),
        sa.Column("read_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_notifications_read_created", "notifications", ["read_at", "created_at"])


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("schedule_ticks")
