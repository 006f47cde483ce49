"""Read-only analytics over the library for notebooks and reports (polars + DuckDB)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import polars as pl
import sqlalchemy as sa

from lifeos.db.engine import get_engine
from lifeos.db.models import Entity, EntityRevision, EntityTag, ToolCall
from lifeos.errors import BadRequest

_TS = pl.Datetime("us", "UTC")


def _read(
    url: str,
    stmt: sa.Select[*tuple[Any, ...]],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
) -> pl.DataFrame:
    # Through the ORM columns, so SQLite and Postgres give the same types (UTC datetimes, bools).
    with get_engine(url).connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt)]
    return pl.DataFrame(rows, schema=schema, orient="row")


def entities_frame(url: str) -> pl.DataFrame:
    """One row per entity (deleted ones included, see `deleted_at`)."""
    stmt = sa.select(
        Entity.id,
        Entity.kind,
        Entity.name,
        Entity.favorite,
        Entity.revision,
        Entity.created_at,
        Entity.updated_at,
        Entity.deleted_at,
    )
    return _read(
        url,
        stmt,
        {
            "id": pl.String,
            "kind": pl.String,
            "name": pl.String,
            "favorite": pl.Boolean,
            "revision": pl.Int64,
            "created_at": _TS,
            "updated_at": _TS,
            "deleted_at": _TS,
        },
    )


def tags_frame(url: str) -> pl.DataFrame:
    stmt = (
        sa.select(EntityTag.entity_id, EntityTag.tag, Entity.kind)
        .join(Entity, Entity.id == EntityTag.entity_id)
        .where(Entity.deleted_at.is_(None))
    )
    return _read(url, stmt, {"entity_id": pl.String, "tag": pl.String, "kind": pl.String})


def revisions_frame(url: str) -> pl.DataFrame:
    stmt = sa.select(
        EntityRevision.entity_id,
        EntityRevision.revision,
        EntityRevision.op,
        EntityRevision.name,
        EntityRevision.created_at,
        Entity.kind,
    ).join(Entity, Entity.id == EntityRevision.entity_id)
    return _read(
        url,
        stmt,
        {
            "entity_id": pl.String,
            "revision": pl.Int64,
            "op": pl.String,
            "name": pl.String,
            "created_at": _TS,
            "kind": pl.String,
        },
    )


def counts_per_kind(entities: pl.DataFrame) -> pl.DataFrame:
    """Live, favorite and deleted entities per kind (DuckDB over the polars frame)."""
    conn = duckdb.connect()
    conn.register("entities", entities.to_arrow())
    # `.pl()` is typed Any (it gives a LazyFrame when asked for one, which this does not).
    frame: pl.DataFrame = conn.sql("""
        SELECT kind,
               count(*) FILTER (WHERE deleted_at IS NULL) AS live,
               count(*) FILTER (WHERE deleted_at IS NULL AND favorite) AS favorites,
               count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted
        FROM entities GROUP BY kind ORDER BY live DESC, kind
    """).pl()
    return frame


def top_tags(tags: pl.DataFrame, n: int = 20) -> pl.DataFrame:
    if not tags.height:
        return pl.DataFrame(schema={"tag": pl.String, "entities": pl.UInt32})
    return (
        tags.group_by("tag")
        .agg(pl.len().alias("entities"))
        .sort(["entities", "tag"], descending=[True, False])
        .head(n)
    )


def recent_changes(revisions: pl.DataFrame, n: int = 20) -> pl.DataFrame:
    if not revisions.height:
        return revisions
    return revisions.sort("created_at", descending=True).head(n)


def tool_calls_frame(url: str, *, latest: int | None = None) -> pl.DataFrame:
    """The ledger: one row per model call (only the `latest` N, newest first, when given)."""
    stmt = sa.select(
        ToolCall.id,
        ToolCall.created_at,
        ToolCall.tool,
        ToolCall.kind,
        ToolCall.alias,
        ToolCall.provider,
        ToolCall.model,
        ToolCall.tokens_in,
        ToolCall.tokens_out,
        ToolCall.latency_ms,
        ToolCall.cost_usd,
        ToolCall.ok,
        ToolCall.error,
        ToolCall.run_id,
        ToolCall.actor,
    )
    if latest is not None:
        stmt = stmt.order_by(ToolCall.created_at.desc(), ToolCall.id.desc()).limit(latest)
    return _read(
        url,
        stmt,
        {
            "id": pl.Int64,
            "created_at": _TS,
            "tool": pl.String,
            "kind": pl.String,
            "alias": pl.String,
            "provider": pl.String,
            "model": pl.String,
            "tokens_in": pl.Int64,
            "tokens_out": pl.Int64,
            "latency_ms": pl.Float64,
            "cost_usd": pl.Float64,
            "ok": pl.Boolean,
            "error": pl.String,
            "run_id": pl.String,
            "actor": pl.String,  # who asked (an account), for cost per user
        },
    )


def usage_by(calls: pl.DataFrame, *keys: str) -> pl.DataFrame:
    """Calls, failures, tokens, latency percentiles and cost grouped by `keys` (DuckDB).

    `day` is accepted as a key: the UTC date of the call."""
    conn = duckdb.connect()
    conn.register(
        "calls", calls.with_columns(pl.col("created_at").dt.date().alias("day")).to_arrow()
    )
    unknown = set(keys) - set(calls.columns) - {"day"}
    if unknown:
        raise BadRequest(f"cannot group model calls by {', '.join(sorted(unknown))}")
    cols = ", ".join(keys)
    # Only checked column names go into the query text.
    query = (
        f"SELECT {cols}, "  # noqa: S608  # nosec B608
        "count(*) AS calls, count(*) FILTER (WHERE NOT ok) AS failed, "
        "sum(tokens_in) AS tokens_in, sum(tokens_out) AS tokens_out, "
        "quantile_cont(latency_ms, 0.5) AS latency_p50_ms, "
        "quantile_cont(latency_ms, 0.95) AS latency_p95_ms, "
        "sum(cost_usd) AS cost_usd "
        f"FROM calls GROUP BY {cols} ORDER BY {cols}"
    )
    frame: pl.DataFrame = conn.sql(query).pl()  # typed Any, as in counts_per_kind
    return frame
