"""image_analyses: analyzer results awaiting acceptance

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lifeos.db.models import JSONType, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_analyses",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("latency_s", sa.Double, nullable=False),
        sa.Column("result", JSONType, nullable=False),
        sa.Column("accepted", JSONType, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_image_analyses_sha_created", "image_analyses", ["sha256", "created_at"])


def downgrade() -> None:
    op.drop_table("image_analyses")
