"""`/api/v1/analyze`: a picture → suggested entities; `/api/v1/analyses/{id}/accept`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, UploadFile
from pydantic import BaseModel

from apps.api.deps import EDITOR, GENERATION, uploaded
from plugins.images.tools.analyze.service import MAX_FILE_BYTES, AnalysisService
from plugins.images.tools.analyze.suggestions import parse_backend

router = APIRouter(tags=["analyze"])


class AcceptBody(BaseModel):
    indices: list[int] | None = None
    suggestions: list[dict[str, Any]] | None = None  # edited suggestions


def _service(request: Request) -> AnalysisService:
    from plugins.images.tools.analyze.service import analysis_services

    return analysis_services(request.app.state.settings)


@router.post("/analyze", openapi_extra=GENERATION, status_code=201)
async def analyze(
    file: UploadFile, request: Request, kinds: str = "", backend: str | None = None
) -> dict[str, Any]:
    """Upload a picture; `kinds` is a comma-separated list of analyzers (default: all)."""
    chosen = parse_backend(backend)
    async with uploaded(file, max_bytes=MAX_FILE_BYTES, what="pictures") as path:
        analysis_id, analysis = _service(request).analyze_file(
            path, kinds=[k for k in kinds.split(",") if k] or None, backend=chosen
        )
    return {"id": analysis_id, **analysis.model_dump(mode="json")}


@router.post("/analyses/{analysis_id}/accept", openapi_extra=EDITOR)
def accept(analysis_id: str, body: AcceptBody, request: Request) -> dict[str, Any]:
    ids = _service(request).accept(analysis_id, suggestions=body.suggestions, indices=body.indices)
    return {"entity_ids": ids}
