"""The cost ledger: every model call is written here; budgets read it back."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from lifeos import metrics, tracing
from lifeos.db.engine import session_scope
from lifeos.db.models import ToolCall, utcnow
from lifeos.logging import request_id_var
from lifeos.security.roles import actor

# Set by the Dagster resource while a run executes, so calls made in a run carry its id.
run_id_var: ContextVar[str | None] = ContextVar("lifeos_run_id", default=None)


@dataclass
class CallRecord:
    tool: str
    kind: str
    alias: str
    provider: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    ok: bool = True
    error: str | None = None


class Ledger:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def record(self, call: CallRecord) -> None:
        with session_scope(self.database_url) as session:
            session.add(
                ToolCall(
                    created_at=utcnow(),
                    request_id=request_id_var.get(),
                    run_id=run_id_var.get(),
                    actor=actor(),
                    **asdict(call),
                )
            )
        # the counters move with the row, never apart from it
        metrics.record_call(
            kind=call.kind,
            provider=call.provider,
            alias=call.alias,
            model=call.model,
            tool=call.tool,
            ok=call.ok,
            tokens_in=call.tokens_in,
            tokens_out=call.tokens_out,
            latency_ms=call.latency_ms,
            cost_usd=call.cost_usd,
        )
        tracing.record_model_call(
            kind=call.kind,
            provider=call.provider,
            model=call.model,
            alias=call.alias,
            tool=call.tool,
            tokens_in=call.tokens_in,
            tokens_out=call.tokens_out,
            latency_ms=call.latency_ms,
            error=call.error,
        )

    def spent(
        self, *, since: datetime | None = None, run_id: str | None = None, tool: str | None = None
    ) -> float:
        stmt = sa.select(sa.func.coalesce(sa.func.sum(ToolCall.cost_usd), 0.0))
        if since is not None:
            stmt = stmt.where(ToolCall.created_at >= since)
        if run_id is not None:
            stmt = stmt.where(ToolCall.run_id == run_id)
        if tool is not None:
            stmt = stmt.where(ToolCall.tool == tool)
        with session_scope(self.database_url) as session:
            return float(session.scalar(stmt) or 0.0)

    def totals(self, *, since: datetime) -> tuple[int, float]:
        """Tokens (in and out) and cost of the calls since `since`."""
        stmt = sa.select(
            sa.func.coalesce(sa.func.sum(ToolCall.tokens_in + ToolCall.tokens_out), 0),
            sa.func.coalesce(sa.func.sum(ToolCall.cost_usd), 0.0),
        ).where(ToolCall.created_at >= since)
        with session_scope(self.database_url) as session:
            tokens, cost = session.execute(stmt).one()
        return int(tokens or 0), float(cost or 0.0)

    def recent(self, limit: int = 50) -> list[ToolCall]:
        with session_scope(self.database_url) as session:
            return list(
                session.scalars(sa.select(ToolCall).order_by(ToolCall.id.desc()).limit(limit))
            )


def start_of_day(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def day_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    start = start_of_day(now)
    return start, start + timedelta(days=1)
