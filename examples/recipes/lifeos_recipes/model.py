"""The recipe kind and the one function the API and the page share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field

from lifeos.errors import NotFound
from lifeos.kinds import EntityData, KindSpec, ShortText, Text


class Recipe(EntityData):
    servings: int = Field(2, ge=1, le=100)
    ingredients: list[ShortText] = Field(default_factory=list, max_length=100)
    steps: Text = ""


class RecipesSettings(BaseModel):
    """The plugin's settings (the Plugins page, `lifeos plugins settings recipes`)."""

    max_recipes: int = Field(
        50, ge=1, le=200, description="how many recipes the picker chooses among (newest first)"
    )
    shopping_list_file: str = Field(
        "shopping-list.md",
        pattern=r"^[\w][\w.-]{0,100}$",
        description="the shopping list's file name in the exports folder",
    )


def settings() -> RecipesSettings:
    from lifeos.plugins import plugin_settings

    return RecipesSettings.model_validate(plugin_settings("recipes").model_dump())


RECIPE = KindSpec(
    name="recipe",
    model=Recipe,
    label="Recipe",
    description="a dish: its ingredients (one per line) and how to cook it",
    links={"serves": ("character",)},
)


def shopping_list(recipes: Iterable[dict[str, Any]]) -> list[tuple[str, int]]:
    """Every ingredient of the recipes' data, with how many recipes need it, commonest first."""
    counts = Counter(
        item.strip().lower() for data in recipes for item in data.get("ingredients", [])
    )
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def pick(router: Any, store: Any, wish: str) -> dict[str, Any]:
    """Tonight's recipe for `wish`, picked by `recipes_pick` among the library's recipes."""
    from .tool import RecipePicker

    recipes = store.list("recipe", {"limit": settings().max_recipes, "sort": "-created_at"}).items
    if not recipes:
        raise NotFound("no recipes in the library yet: add one (kind `recipe`)")
    listed = [f"{r.name}: {', '.join(r.data.get('ingredients', []))}" for r in recipes]
    out = RecipePicker(router).run({"wish": wish, "recipes": listed})
    return out.model_dump()


def cooked(session: Any, recipe_id: str | None = None) -> dict[str, int]:
    """Record that `recipe_id` was cooked now (when given); how often each recipe was cooked,
    from the plugin's own table (`migrations/`)."""
    if recipe_id is not None:
        session.execute(
            sa.text("INSERT INTO recipes_cooked (recipe_id, cooked_at) VALUES (:r, :t)"),
            {"r": recipe_id, "t": datetime.now(UTC)},
        )
    rows = session.execute(
        sa.text("SELECT recipe_id, count(*) FROM recipes_cooked GROUP BY recipe_id")
    ).all()
    return {r[0]: int(r[1]) for r in rows}
