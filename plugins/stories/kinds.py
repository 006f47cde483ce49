"""The story kinds: an illustrated story and its scenes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from lifeos.kinds import EntityData, KindSpec, ShortText, Text


class Story(EntityData):
    premise: Text = ""
    genre: ShortText = ""
    tone: ShortText = ""
    length: Literal["short", "medium", "long"] = "short"
    outline: list[Text] = Field(default_factory=list, max_length=100)
    summary: Text = ""
    status: Literal["draft", "planning", "writing", "illustrating", "done", "failed"] = "draft"
    scene_count: int = Field(4, ge=1, le=12)
    setting: ShortText = ""
    title: ShortText = ""
    error: Text = ""


class StoryScene(EntityData):
    order: int = Field(ge=0, le=10_000)
    title: ShortText = ""
    setting: ShortText = ""
    summary: Text = ""
    text: Text = ""
    characters: list[ShortText] = Field(
        default_factory=list, max_length=20, description="names of the characters in the scene"
    )
    status: Literal["planned", "written", "illustrated", "failed"] = "planned"
    error: Text = ""
    trace: list[dict[str, Any]] = Field(
        default_factory=list, max_length=20, description="each step's prompt, output and model"
    )


KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        "story",
        Story,
        "Story",
        "an illustrated story",
        links={"features": ("character",), "has_scene": ("story_scene",)},
    ),
    KindSpec(
        "story_scene",
        StoryScene,
        "Story scene",
        "one scene of a story",
        links={"features": ("character",), "illustrated_by": ("image",)},
    ),
)
