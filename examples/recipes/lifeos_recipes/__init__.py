"""The recipes plugin: a `recipe` kind, `GET /api/v1/recipes/shopping-list` and a Recipes page
in the studio, both over one function (`shopping_list`)."""

from __future__ import annotations

from typing import Any

from lifeos.hookspecs import hookimpl

from .api import router
from .model import RECIPE
from .page import RecipesPage


@hookimpl
def register_entity_kinds(register: Any) -> None:
    register(RECIPE)


@hookimpl
def register_routers(register: Any) -> None:
    register(router)


@hookimpl
def register_pages(register: Any) -> None:
    register(RecipesPage)
