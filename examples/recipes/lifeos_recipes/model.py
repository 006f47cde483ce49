"""The recipe kind and the one function the API and the page share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from lifeos.errors import NotFound
from lifeos.kinds import EntityData, KindSpec, ShortText, Text


class Recipe(EntityData):
    servings: int = Field(2, ge=1, le=100)
    ingredients: list[ShortText] = Field(default_factory=list, max_length=100)
    steps: Text = ""


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

    recipes = store.list_all("recipe")
    if not recipes:
        raise NotFound("no recipes in the library yet: add one (kind `recipe`)")
    listed = [f"{r.name}: {', '.join(r.data.get('ingredients', []))}" for r in recipes[:50]]
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
