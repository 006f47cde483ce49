"""`/api/v1/recipes`: served while the plugin is loaded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from lifeos.llm.router import get_router

from .model import cooked, pick, shopping_list

router = APIRouter(prefix="/recipes", tags=["recipes"])


@router.get("/shopping-list")
def get_shopping_list(request: Request) -> list[dict[str, Any]]:
    with request.app.state.library.store() as store:
        recipes = store.list("recipe", {"limit": 200}).items
    return [{"item": item, "recipes": n} for item, n in shopping_list(r.data for r in recipes)]


class Wish(BaseModel):
    wish: str = Field(min_length=1, max_length=500)


@router.post("/pick")
def post_pick(body: Wish, request: Request) -> dict[str, Any]:
    """Tonight's recipe for a wish, picked on the local model by `recipes_pick`."""
    router_ = get_router(request.app.state.settings.database_url)
    with request.app.state.library.store() as store:
        return pick(router_, store, body.wish)


@router.post("/{recipe_id}/cooked")
def post_cooked(recipe_id: str, request: Request) -> dict[str, int]:
    """Cooked it tonight: how often each recipe was cooked, this one included."""
    with request.app.state.library.store() as store:
        store.get("recipe", recipe_id)  # a clear 404 for a recipe that is not there
        return cooked(store.session, recipe_id)
