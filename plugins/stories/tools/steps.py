"""The stories plugin's workflow steps: the story pipeline's three steps (plan, write,
illustrate) on the same service as its Dagster assets, so a workflow can make a story."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from lifeos.llm.toolkit import Tool
from lifeos.settings import get_settings
from plugins.stories.tools.stories import MAX_SCENES, Stories, story_services


class NewStory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    character_ids: list[str] = Field(min_length=1, max_length=8)
    tone: str = Field("", max_length=200)
    setting: str = Field("", max_length=200)
    scenes: int = Field(3, ge=1, le=MAX_SCENES)
    name: str = Field("", max_length=200)


class StoryStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    story_id: str
    redo: list[int] = Field(default_factory=list, description="scene numbers to do again")
    image_steps: int = Field(20, ge=1, le=150, description="illustrate: diffusion steps")
    width: int = Field(512, ge=64, le=2048)
    height: int = Field(512, ge=64, le=2048)


class StoryState(BaseModel):
    story_id: str
    title: str
    status: str
    scenes: int
    written: int
    illustrated: int
    image_ids: list[str]


def _state(service: Stories, story_id: str) -> StoryState:
    story, scenes = service.get(story_id)
    images = [i for s in scenes if (i := service.scene_image(s.id))]
    return StoryState(
        story_id=story.id,
        title=story.data.get("title") or story.name,
        status=story.data["status"],
        scenes=len(scenes),
        written=sum(1 for s in scenes if s.data["text"]),
        illustrated=len(images),
        image_ids=images,
    )


class _StoryTool(Tool[Any, StoryState]):
    """A step of the story service: `apply` does it, and the tool answers with the story's
    state after it."""

    configurable: ClassVar[bool] = False
    Output = StoryState

    def run(self, inp: Any) -> StoryState:
        service = story_services(get_settings())
        return _state(service, self.apply(service, self.parse_input(inp)))

    def apply(self, service: Stories, req: Any) -> str:
        """Do the step; the story's id."""
        raise NotImplementedError


class StoryCreate(_StoryTool):
    name = "story_create"
    description = "start a story with these characters (a draft, not yet planned)"
    Input = NewStory

    def apply(self, service: Stories, req: NewStory) -> str:
        return service.create(
            req.character_ids, tone=req.tone, setting=req.setting, scenes=req.scenes, name=req.name
        ).id


class StoryPlan(_StoryTool):
    name = "story_plan"
    description = "plan a story's scenes (the planner model)"
    Input = StoryStep

    def apply(self, service: Stories, req: StoryStep) -> str:
        return service.plan(req.story_id).id


class StoryWrite(_StoryTool):
    name = "story_write"
    description = "write a planned story's scenes that have no text (or those in `redo`)"
    Input = StoryStep

    def apply(self, service: Stories, req: StoryStep) -> str:
        service.write(req.story_id, redo=req.redo)
        return req.story_id


class StoryIllustrate(_StoryTool):
    name = "story_illustrate"
    description = "draw a picture for each written scene that has none (or those in `redo`)"
    Input = StoryStep

    def apply(self, service: Stories, req: StoryStep) -> str:
        service.illustrate(
            req.story_id, redo=req.redo, steps=req.image_steps, size=(req.width, req.height)
        )
        return req.story_id
