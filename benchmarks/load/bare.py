"""The yardstick for the entity API: a bare Starlette + SQLAlchemy Core app that serves the
same list page and the same detail from the same database with the same two indexed queries
(count, then a deferred-join page), and no FastAPI, pydantic, middleware, auth or metrics.

`benchmarks/entities_api.py` runs it beside the real API (same uvicorn, same workers) and
prints the API's req/s as a share of this one's.

    LIFEOS_DATABASE_URL=sqlite:///... uvicorn benchmarks.load.bare:create_app --factory
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lifeos.db.models import Entity
from lifeos.store import OUT_COLUMNS as COLUMNS  # the same columns the API reads


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _row(row: sa.Row[Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in row._mapping.items()}


def create_app() -> Starlette:
    url = os.environ["LIFEOS_DATABASE_URL"]
    sqlite = url.startswith("sqlite")
    engine = sa.create_engine(
        url,
        pool_size=20,
        max_overflow=20,
        **({"connect_args": {"check_same_thread": False}} if sqlite else {}),
    )

    def list_page(request: Request) -> Response:
        kind = request.path_params["kind"]
        limit = min(int(request.query_params.get("limit", 50)), 200)
        offset = int(request.query_params.get("offset", 0))
        where = (Entity.kind == kind, Entity.deleted_at.is_(None))
        order = (Entity.updated_at.desc(), Entity.id.desc())
        page_ids = (
            sa.select(Entity.id).where(*where).order_by(*order).limit(limit).offset(offset)
        ).subquery()
        with engine.connect() as conn:
            total = conn.scalar(sa.select(sa.func.count()).select_from(Entity).where(*where))
            rows = conn.execute(
                sa.select(*COLUMNS).join(page_ids, page_ids.c.id == Entity.id).order_by(*order)
            )
            items = [_row(r) for r in rows]
        body = {"items": items, "total": total, "limit": limit, "offset": offset}
        return Response(json.dumps(body), media_type="application/json")

    def detail(request: Request) -> Response:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(*COLUMNS).where(Entity.id == request.path_params["entity_id"])
            ).first()
        if row is None or row.kind != request.path_params["kind"] or row.deleted_at is not None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(json.dumps(_row(row)), media_type="application/json")

    def ready(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/api/v1/entities/{kind}", list_page),
            Route("/api/v1/entities/{kind}/{entity_id}", detail),
            Route("/health/ready", ready),
        ]
    )
