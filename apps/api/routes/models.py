"""`/api/v1/models` and `/api/v1/tools`: the router's aliases, models and tools."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from apps.api.deps import ADMIN, GENERATION, VIEWER
from lifeos.llm import models as service
from lifeos.llm.router import Router, get_router

router = APIRouter(tags=["models"])


def _router(request: Request) -> Router:
    return get_router(request.app.state.settings.database_url)


class PullBody(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["qwen2.5:3b"])


@router.get("/models", openapi_extra=VIEWER)
def list_models(request: Request) -> dict[str, Any]:
    """Aliases, local models (installed or not) and Ollama's models when it is reachable."""
    return service.overview(_router(request))


@router.get("/models/status", openapi_extra=VIEWER)
def models_status(request: Request) -> list[dict[str, Any]]:
    return service.status(_router(request))


@router.post("/models/{alias}/test", openapi_extra=GENERATION)
def test_model(alias: str, request: Request) -> dict[str, Any]:
    """Run a short prompt through the alias: load time and tokens/s."""
    return service.test_alias(_router(request), alias)


@router.post("/models/pull", openapi_extra=ADMIN)
def pull_model(body: PullBody, request: Request) -> dict[str, str]:
    return {"status": service.pull(_router(request), body.name)}


@router.delete("/models/{name:path}", openapi_extra=ADMIN, status_code=204)
def delete_model(name: str, request: Request) -> None:
    service.delete(_router(request), name)


@router.get("/tools", openapi_extra=VIEWER)
def list_tools() -> list[dict[str, Any]]:
    return service.tools_overview()


@router.post("/tools/{name}/run", openapi_extra=GENERATION)
def run_tool(name: str, body: dict[str, Any], request: Request) -> dict[str, Any]:
    return service.run_tool(_router(request), name, body)
