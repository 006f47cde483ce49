"""Whole-library operations: export, import, counts."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Request

from apps.api.deps import StoreDep
from lifeos.db.engine import session_scope
from lifeos.errors import BackupError
from lifeos.transfer import export_library, import_library, parse_export

router = APIRouter(tags=["library"])


@router.get("/export")
def export(store: StoreDep, kind: str | None = None) -> dict[str, Any]:
    """The library (or one kind) as a Life-OS export document."""
    return export_library(store.session, kind)


@router.post("/import")
async def import_(request: Request, on_conflict: Literal["fail", "skip"] = "fail"
                  ) -> dict[str, int]:
    """Import an export document; all or nothing."""
    doc = parse_export(await _json(request), source="request body")
    with session_scope(request.app.state.settings.database_url) as session:
        return import_library(session, doc, on_conflict=on_conflict)


@router.get("/stats")
def stats(store: StoreDep) -> dict[str, Any]:
    counts = store.counts()
    return {"counts": counts, "total": sum(counts.values())}


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"request body is not valid JSON ({exc})") from None
