"""Suggest tags for a library entity from its name and text."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from lifeos.llm.toolkit import Tool

TagText = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=32)
]


class TagInput(BaseModel):
    kind: str = Field(max_length=64)
    name: str = Field(max_length=200)
    text: str = Field("", max_length=4000, description="the entity's descriptive text")
    existing_tags: list[str] = Field(default_factory=list, max_length=50)


class TagOutput(BaseModel):
    tags: list[TagText] = Field(max_length=8)


class TagSuggester(Tool[TagInput, TagOutput]):
    name = "tagger"
    description = "suggest up to 8 short tags for an entity"
    Input = TagInput
    Output = TagOutput

    def postprocess(self, inp: TagInput, out: TagOutput) -> TagOutput:
        seen: set[str] = set()
        tags = [t for t in out.tags if not (t in seen or seen.add(t))]  # type: ignore[func-returns-value]
        return TagOutput(tags=tags)

    def variables(self, inp: TagInput) -> dict[str, Any]:
        return {**inp.model_dump(), "existing": ", ".join(inp.existing_tags) or "none"}
