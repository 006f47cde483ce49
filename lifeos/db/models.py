"""The library's tables. One generic `entities` table holds every kind; schema changes go
through Alembic (`migrations/`), never `create_all` outside tests of the migrations themselves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONType, datetime: UTCDateTime}


class Entity(Base):
    __tablename__ = "entities"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    data: Mapped[dict[str, Any]]
    # Tags live here for reading; `entity_tags` indexes them for filtering. The store keeps both.
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    favorite: Mapped[bool] = mapped_column(default=False)
    # Lower-cased name, tags and every string in `data`: what `q` searches.
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]

    tag_rows: Mapped[list[EntityTag]] = relationship(
        back_populates="entity",
        cascade="all, delete-orphan",
        lazy="select",
    )

    # Lists filter on (kind, deleted_at) and sort with `id` as tie-breaker: these indexes
    # answer the count and the page without touching the table or sorting.
    __table_args__ = (
        sa.Index("ix_entities_list_updated", "kind", "deleted_at", "updated_at", "id"),
        sa.Index("ix_entities_list_created", "kind", "deleted_at", "created_at", "id"),
        sa.Index("ix_entities_list_name", "kind", "deleted_at", "name", "id"),
        # Text search (`q` is a substring match on search_text). SQLite: a covering index lets
        # the count read the index instead of whole rows (10× faster). Postgres: a trigram GIN
        # index serves `LIKE '%term%'` (its btree entries could not hold long text anyway).
        sa.Index("ix_entities_search", "kind", "deleted_at", "search_text").ddl_if(
            dialect="sqlite"
        ),
        sa.Index(
            "ix_entities_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )
    # `revision` is the optimistic lock: an UPDATE matches only the revision it read.
    __mapper_args__ = {"version_id_col": revision, "version_id_generator": False}


class EntityTag(Base):
    __tablename__ = "entity_tags"

    entity_id: Mapped[str] = mapped_column(
        sa.ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    entity: Mapped[Entity] = relationship(back_populates="tag_rows")

    __table_args__ = (sa.Index("ix_entity_tags_tag", "tag"),)


class EntityLink(Base):
    __tablename__ = "entity_links"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    src_id: Mapped[str] = mapped_column(sa.ForeignKey("entities.id", ondelete="CASCADE"))
    relation: Mapped[str] = mapped_column(sa.String(64))
    dst_id: Mapped[str] = mapped_column(sa.ForeignKey("entities.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]

    __table_args__ = (
        sa.UniqueConstraint("src_id", "relation", "dst_id", name="uq_entity_links"),
        sa.Index("ix_entity_links_dst", "dst_id"),
    )


class EntityRevision(Base):
    """A full snapshot of an entity after each change: history, audit and revert."""

    __tablename__ = "entity_revisions"

    entity_id: Mapped[str] = mapped_column(
        sa.ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(primary_key=True)
    op: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(200))
    data: Mapped[dict[str, Any]]
    tags: Mapped[list[str]] = mapped_column(JSONType)
    favorite: Mapped[bool]
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    actor: Mapped[str | None] = mapped_column(sa.String(64))  # who: an account's username


class ToolCall(Base):
    """The ledger: one row per model call, success or failure."""

    __tablename__ = "tool_calls"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    tool: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16))  # chat | choose | embed
    alias: Mapped[str] = mapped_column(sa.String(64))
    provider: Mapped[str] = mapped_column(sa.String(32))
    model: Mapped[str] = mapped_column(sa.String(200))
    tokens_in: Mapped[int] = mapped_column(default=0)
    tokens_out: Mapped[int] = mapped_column(default=0)
    latency_ms: Mapped[float] = mapped_column(default=0.0)
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    ok: Mapped[bool]
    error: Mapped[str | None] = mapped_column(sa.Text)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    run_id: Mapped[str | None] = mapped_column(sa.String(64))
    actor: Mapped[str | None] = mapped_column(sa.String(64))  # who asked: a username

    __table_args__ = (
        sa.Index("ix_tool_calls_created", "created_at"),
        sa.Index("ix_tool_calls_tool_created", "tool", "created_at"),
        sa.Index("ix_tool_calls_run", "run_id"),
    )


class Document(Base):
    """An ingested file, by content hash (rulebook PDFs today)."""

    __tablename__ = "documents"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    filename: Mapped[str] = mapped_column(sa.String(255))
    size_bytes: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16))  # queued | processing | ready | failed
    error: Mapped[str | None] = mapped_column(sa.Text)
    pages: Mapped[int] = mapped_column(default=0)
    chunks: Mapped[int] = mapped_column(default=0)
    entity_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("entities.id", ondelete="SET NULL")
    )  # the board game it belongs to
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (sa.Index("ix_documents_entity", "entity_id"),)


class EvalRun(Base):
    """One evaluation of a tool on a question set: the metrics and every question's result.
    The same run is also written as Parquet under exports/evals/ for notebooks and sharing."""

    __tablename__ = "eval_runs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    created_at: Mapped[datetime]
    tool: Mapped[str] = mapped_column(sa.String(64))
    question_set: Mapped[str] = mapped_column(sa.String(200))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    metrics: Mapped[dict[str, Any]]
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    run_id: Mapped[str | None] = mapped_column(sa.String(64))  # the Dagster run, when any

    __table_args__ = (sa.Index("ix_eval_runs_set_created", "question_set", "created_at"),)


class ImageBatch(Base):
    """A requested batch of images: the request, the seeds, and how far it got. Each image it
    makes is an `image` entity; the batch is one Dagster partition."""

    __tablename__ = "image_batches"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(
        sa.String(16)
    )  # queued|running|done|partial|failed|cancelled
    request: Mapped[dict[str, Any]]
    seeds: Mapped[list[int]] = mapped_column(JSONType)
    images: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # seed -> image id
    positive: Mapped[str] = mapped_column(sa.Text, default="")
    negative: Mapped[str] = mapped_column(sa.Text, default="")
    model: Mapped[str] = mapped_column(sa.String(300), default="")
    seconds: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    run_id: Mapped[str | None] = mapped_column(sa.String(64))

    __table_args__ = (sa.Index("ix_image_batches_status_created", "status", "created_at"),)


class ScheduleTick(Base):
    """One tick of a schedule: requested, skipped, failed or succeeded, with what it drew."""

    __tablename__ = "schedule_ticks"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    schedule_id: Mapped[str] = mapped_column(sa.ForeignKey("entities.id", ondelete="CASCADE"))
    tick_at: Mapped[datetime]  # the cron time this tick stands for
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16))  # requested|skipped|failed|succeeded
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    manual: Mapped[bool] = mapped_column(default=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    batch_id: Mapped[str | None] = mapped_column(sa.String(36))
    run_id: Mapped[str | None] = mapped_column(sa.String(64))
    images: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    duration_s: Mapped[float] = mapped_column(default=0.0)

    __table_args__ = (
        sa.Index("ix_schedule_ticks_schedule_tick", "schedule_id", "tick_at"),
        sa.Index("ix_schedule_ticks_status", "status"),
    )


class Notification(Base):
    """An in-app notification (a run finished or failed, a budget was hit)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    level: Mapped[str] = mapped_column(sa.String(16))  # info | success | warning | error
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str] = mapped_column(sa.String(500), default="")
    entity_id: Mapped[str | None] = mapped_column(sa.String(36))
    read_at: Mapped[datetime | None]

    __table_args__ = (sa.Index("ix_notifications_read_created", "read_at", "created_at"),)


class HttpCache(Base):
    """Answers of outside APIs (BoardGameGeek) that parsed, kept for their cache window."""

    __tablename__ = "http_cache"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # sha256 of the URL
    url: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    fetched_at: Mapped[datetime]


class ImageAnalysis(Base):
    """One analysis of a picture: the backend's suggestions, kept until accepted or not."""

    __tablename__ = "image_analyses"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    backend: Mapped[str] = mapped_column(sa.String(16))
    model: Mapped[str] = mapped_column(sa.String(200), default="")
    latency_s: Mapped[float] = mapped_column(default=0.0)
    result: Mapped[dict[str, Any]]
    accepted: Mapped[list[str]] = mapped_column(JSONType, default=list)  # entity ids
    run_id: Mapped[str | None] = mapped_column(sa.String(64))

    __table_args__ = (sa.Index("ix_image_analyses_sha_created", "sha256", "created_at"),)


class Account(Base):
    """Someone who may sign in: an argon2id password hash and a role (viewer, editor, admin).
    Never deleted (ledger rows and revisions name them): disabled instead."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuthSession(Base):
    """A browser's sign-in: only the sha256 of its random cookie value is kept, with the CSRF
    token the studio and forms send back."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # sha256 of the token
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute end, whatever the activity
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")

    __table_args__ = (sa.Index("ix_auth_sessions_account", "account_id"),)


class ApiToken(Base):
    """A personal access token: shown once, kept as its sha256, scoped to a role no higher
    than its owner's, with an expiry; revoked, never deleted."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))  # what lists show: lifeos_ab12…
    role: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (sa.Index("ix_api_tokens_account", "account_id"),)


LIBRARY_TABLES = ("entities", "entity_tags", "entity_links", "entity_revisions")
# Everything a backup holds: the library and the ledger.
ALL_TABLES = (
    *LIBRARY_TABLES,
    "tool_calls",
    "documents",
    "eval_runs",
    "image_batches",
    "schedule_ticks",
    "notifications",
    "http_cache",
    "image_analyses",
    "accounts",
    "auth_sessions",
    "api_tokens",
)

# Indexes that exist on one backend only (`ddl_if` above); Alembic's autogenerate ignores
# `ddl_if`, so comparisons must be told.
DIALECT_ONLY_INDEXES = {"ix_entities_search": "sqlite", "ix_entities_search_trgm": "postgresql"}


def autogenerate_filter(dialect: str) -> Any:
    """`include_object` for Alembic: the library's own tables, and indexes of this dialect."""

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ == "table":
            return name in Base.metadata.tables
        if type_ == "index" and name in DIALECT_ONLY_INDEXES:
            return DIALECT_ONLY_INDEXES[name] == dialect
        return True

    return include_object
