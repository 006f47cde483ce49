"""`/api/v1/recipes`: served while the plugin is loaded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .model import shopping_list

router = APIRouter(prefix="/recipes", tags=["recipes"])


@router.get("/shopping-list")
def get_shopping_list(request: Request) -> list[dict[str, Any]]:
    with request.app.state.library.store() as store:
        recipes = store.list("recipe", {"limit": 200}).items
    return [{"item": item, "recipes": n} for item, n in shopping_list(r.data for r in recipes)]
