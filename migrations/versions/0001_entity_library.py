"""entity library: entities, tags, links, revisions

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lifeos.db.models import JSONType, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("data", JSONType, nullable=False),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("favorite", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("search_text", sa.Text, nullable=False, server_default=""),
        sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime, nullable=True),
    )
    for column in ("updated", "created", "name"):
        field = "name" if column == "name" else f"{column}_at"
        op.create_index(
            f"ix_entities_list_{column}", "entities", ["kind", "deleted_at", field, "id"]
        )

    op.create_table(
        "entity_tags",
        sa.Column(
            "entity_id",
            sa.String(36),
            sa.ForeignKey("entities.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(64), primary_key=True),
    )
    op.create_index("ix_entity_tags_tag", "entity_tags", ["tag"])

    op.create_table(
        "entity_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "src_id",
            sa.String(36),
            sa.ForeignKey("entities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("relation", sa.String(64), nullable=False),
        sa.Column(
            "dst_id",
            sa.String(36),
            sa.ForeignKey("entities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("src_id", "relation", "dst_id", name="uq_entity_links"),
    )
    op.create_index("ix_entity_links_dst", "entity_links", ["dst_id"])

    op.create_table(
        "entity_revisions",
        sa.Column(
            "entity_id",
            sa.String(36),
            sa.ForeignKey("entities.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("data", JSONType, nullable=False),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("favorite", sa.Boolean, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("entity_revisions")
    op.drop_index("ix_entity_links_dst", table_name="entity_links")
    op.drop_table("entity_links")
    op.drop_index("ix_entity_tags_tag", table_name="entity_tags")
    op.drop_table("entity_tags")
    for column in ("name", "created", "updated"):
        op.drop_index(f"ix_entities_list_{column}", table_name="entities")
    op.drop_table("entities")
