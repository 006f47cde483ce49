"""The images plugin's workflow steps: an image batch made and run in one step, and clothing
ideas for given themes (a model proposes; the workflow's `outputs` with `review: true` puts
them in the review queue)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from lifeos.llm.toolkit import Tool
from lifeos.settings import get_settings
from plugins.images.kinds import ClothingCategory
from plugins.images.tools.batches import BatchRequest, image_services


class BatchResult(BaseModel):
    batch_id: str
    status: str
    image_ids: list[str]
    prompt: str


class ImageBatchStep(Tool[BatchRequest, BatchResult]):
    """A batch (its recipe checked first), generated now; its images are `image` entities."""

    name = "image_batch"
    description = "generate N images from a recipe of library entities, styles and text"
    configurable: ClassVar[bool] = False
    Input = BatchRequest
    Output = BatchResult

    def run(self, inp: BatchRequest | dict[str, Any]) -> BatchResult:
        req = self.parse_input(inp)
        batches = image_services(get_settings())
        batch = batches.create(req, status="running")
        done = batches.run(batch["id"])
        return BatchResult(
            batch_id=done["id"],
            status=done["status"],
            image_ids=[done["images"][k] for k in sorted(done["images"], key=int)],
            prompt=done["positive"],
        )


class IdeasRequest(BaseModel):
    themes: list[str] = Field(min_length=1, max_length=10)
    count: int = Field(3, ge=1, le=10, description="ideas per theme")


class ClothingIdea(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    category: ClothingCategory = "other"
    description: str = Field("", max_length=600)
    theme: str = Field("", max_length=120)


class ClothingIdeas(BaseModel):
    items: list[ClothingIdea] = Field(min_length=1, max_length=50)


class ClothingIdeasTool(Tool[IdeasRequest, ClothingIdeas]):
    name = "clothing_ideas"
    description = "propose new clothing items for themes (for review, never imported as-is)"
    default_config = Path(__file__).with_name("clothing_ideas.yaml")
    Input = IdeasRequest
    Output = ClothingIdeas
