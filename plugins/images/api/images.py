"""`/api/v1/images`: compose prompts, request and run image batches, import and fetch PNGs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import FileResponse

from apps.api.deps import EDITOR, GENERATION, VIEWER, uploaded
from plugins.images.tools.batches import BatchRequest
from plugins.images.tools.composer import ComposeRequest

router = APIRouter(prefix="/images", tags=["images"])
MAX_PNG_BYTES = 50_000_000


def _service(request: Request):  # noqa: ANN202 - heavy imports only when used
    from plugins.images.tools.batches import image_services

    return image_services(request.app.state.settings)


@router.post("/compose", openapi_extra=VIEWER)
def compose(body: ComposeRequest, request: Request) -> dict[str, Any]:
    """Positive and negative prompt, CLIP token count, warnings, and the recipe."""
    return _service(request).composer.run(body).model_dump(mode="json")


@router.get("/styles", openapi_extra=VIEWER)
def styles(request: Request) -> list[dict[str, Any]]:
    return [
        {"name": s.name, "pack": pack, "prompt": s.prompt, "negative_prompt": s.negative_prompt}
        for pack, s in _service(request).composer.styles.all().values()
    ]


@router.post("/batches", openapi_extra=GENERATION, status_code=201)
def create_batch(body: BatchRequest, request: Request, wait: bool = False) -> dict[str, Any]:
    """Queue a batch for the Dagster daemon, or with `wait=true` run it now as a Dagster run
    in this process and return it finished."""
    service = _service(request)
    batch = service.create(body, status="running" if wait else "queued")
    if wait:
        from plugins.images.pipelines import generate_batch

        generate_batch(service.settings, batch["id"], source="api")
        batch = service.get(batch["id"])
    return batch


@router.get("/batches", openapi_extra=VIEWER)
def list_batches(request: Request, limit: int = 50) -> list[dict[str, Any]]:
    return _service(request).list(limit=min(max(limit, 1), 200))


@router.get("/batches/{batch_id}", openapi_extra=VIEWER)
def get_batch(batch_id: str, request: Request) -> dict[str, Any]:
    return _service(request).get(batch_id)


@router.get("/{image_id}/file", openapi_extra=VIEWER, response_class=FileResponse)
def image_file(image_id: str, request: Request) -> FileResponse:
    """The PNG, with its A1111 `parameters` and `lifeos` chunks."""
    return FileResponse(_service(request).image_file(image_id), media_type="image/png")


@router.post("/import", openapi_extra=EDITOR, status_code=201)
async def import_png(file: UploadFile, request: Request) -> dict[str, Any]:
    """Keep a PNG made by AUTOMATIC1111/Forge, Fooocus, ComfyUI or Life-OS, with its settings."""
    async with uploaded(file, max_bytes=MAX_PNG_BYTES, what="images") as path:
        return _service(request).import_png(path).model_dump(mode="json")
