"""Whole-library operations: export, import, counts."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from apps.api.deps import ADMIN, VIEWER, Library, LibraryDep
from lifeos.errors import BackupError
from lifeos.transfer import LibraryExport, export_library, import_library, parse_export

router = APIRouter(tags=["library"])


@router.get("/export", openapi_extra=VIEWER)
def export(lib: LibraryDep, kind: str | None = None) -> dict[str, Any]:
    """The library (or one kind) as a Life-OS export document."""
    with lib.store() as store:
        return export_library(store.session, kind)


@router.post("/import", openapi_extra=ADMIN)
async def import_(
    request: Request, lib: LibraryDep, on_conflict: Literal["fail", "skip"] = "fail"
) -> dict[str, int]:
    """Import an export document; all or nothing."""
    doc = parse_export(await _json(request), source="request body")
    return await run_in_threadpool(_import, lib, doc, on_conflict)


def _import(
    lib: Library, doc: LibraryExport, on_conflict: Literal["fail", "skip"]
) -> dict[str, int]:
    with lib.store() as store:
        return import_library(store.session, doc, on_conflict=on_conflict)


@router.get("/stats", openapi_extra=VIEWER)
def stats(lib: LibraryDep) -> dict[str, Any]:
    with lib.store() as store:
        counts = store.counts()
    return {"counts": counts, "total": sum(counts.values())}


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"request body is not valid JSON ({exc})") from None
