"""eval_runs: evaluation metrics and per-question results

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lifeos.db.models import JSONType, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("tool", sa.String(64), nullable=False),
        sa.Column("question_set", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("metrics", JSONType, nullable=False),
        sa.Column("config", JSONType, nullable=False),
        sa.Column("results", JSONType, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_eval_runs_set_created", "eval_runs", ["question_set", "created_at"])


def downgrade() -> None:
    op.drop_table("eval_runs")
