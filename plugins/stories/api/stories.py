"""`/api/v1/stories`: start, read, re-run and export illustrated stories."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from apps.api.deps import GENERATION, VIEWER

router = APIRouter(prefix="/stories", tags=["stories"])


class NewStory(BaseModel):
    character_ids: list[str] = Field(min_length=1, max_length=8)
    tone: str = Field("", max_length=200)
    setting: str = Field("", max_length=200)
    scenes: int = Field(4, ge=1, le=12)
    image_steps: int = Field(20, ge=1, le=150)
    width: int = 512
    height: int = 512


class Rerun(BaseModel):
    scenes: list[int] = Field(default_factory=list)
    illustration_only: bool = False


def _service(request: Request):  # noqa: ANN202
    from plugins.stories.tools.stories import story_services

    return story_services(request.app.state.settings)


def _describe(service, story_id: str) -> dict[str, Any]:  # noqa: ANN001
    story, scenes = service.get(story_id)
    return {
        "story": story.model_dump(mode="json"),
        "scenes": [
            {**s.model_dump(mode="json"), "image_id": service.scene_image(s.id)} for s in scenes
        ],
    }


@router.post("", openapi_extra=GENERATION, status_code=201)
def create(body: NewStory, request: Request, wait: bool = False) -> dict[str, Any]:
    """Create the story; with `wait=true` run its three steps now (a Dagster run)."""
    service = _service(request)
    story = service.create(
        body.character_ids, tone=body.tone, setting=body.setting, scenes=body.scenes
    )
    if wait:
        from plugins.stories.pipelines import run_story

        run_story(
            service.settings,
            story.id,
            source="api",
            image_steps=body.image_steps,
            size=(body.width, body.height),
        )
    return _describe(service, story.id)


@router.get("/{story_id}", openapi_extra=VIEWER)
def get(story_id: str, request: Request) -> dict[str, Any]:
    return _describe(_service(request), story_id)


@router.post("/{story_id}/rerun", openapi_extra=GENERATION)
def rerun(story_id: str, body: Rerun, request: Request) -> dict[str, Any]:
    from plugins.stories.pipelines import run_story

    service = _service(request)
    steps = (
        ("story_illustrations",)
        if body.illustration_only
        else ("story_plan", "story_scenes", "story_illustrations")
    )
    run_story(service.settings, story_id, source="api", steps=steps, redo=body.scenes)
    return _describe(service, story_id)


@router.get("/{story_id}/export", openapi_extra=VIEWER, response_class=FileResponse)
def export(story_id: str, request: Request, format: str = "html") -> FileResponse:
    """One self-contained HTML file (format=html) or the Markdown text (format=md)."""
    service = _service(request)
    target = Path(tempfile.mkdtemp(prefix="lifeos-story-")) / f"story.{format}"
    service.export(story_id, format, target)
    return FileResponse(target, media_type="text/html" if format == "html" else "text/markdown")
