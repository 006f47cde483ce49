"""image_batches: requested image batches and their progress

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lifeos.db.models import JSONType, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_batches",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", JSONType, nullable=False),
        sa.Column("seeds", JSONType, nullable=False),
        sa.Column("images", JSONType, nullable=False),
        sa.Column("positive", sa.Text, nullable=False),
        sa.Column("negative", sa.Text, nullable=False),
        sa.Column("model", sa.String(300), nullable=False),
        sa.Column("seconds", sa.Double, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_image_batches_status_created", "image_batches", ["status", "created_at"])


def downgrade() -> None:
    op.drop_table("image_batches")
