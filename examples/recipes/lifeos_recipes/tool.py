"""recipes_pick: which of the library's recipes to cook tonight, for a wish in plain words,
chosen by the model its config names (the local one by default)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from lifeos.llm.toolkit import Tool


class PickIn(BaseModel):
    wish: str = Field(min_length=1, max_length=500, description="what you feel like eating")
    recipes: list[str] = Field(min_length=1, max_length=50, description="name: ingredients")


class PickOut(BaseModel):
    recipe: str = Field(max_length=200, description="the name of the recipe picked")
    why: str = Field(max_length=400)


class RecipePicker(Tool[PickIn, PickOut]):
    name = "recipes_pick"
    description = "picks tonight's recipe from the library for a wish"
    default_config = Path(__file__).with_name("pick.yaml")
    Input = PickIn
    Output = PickOut
