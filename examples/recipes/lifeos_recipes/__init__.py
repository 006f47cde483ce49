"""The recipes plugin: a `recipe` kind, the `recipes_pick` tool (tonight's recipe, on the local
model its `recipes_chef` alias names), `/api/v1/recipes/...`, a Recipes page in the studio and
the `recipes_shopping_list` Dagster asset, all over the functions in `model.py` and `tool.py`."""

from __future__ import annotations

from typing import Any

from lifeos.hookspecs import hookimpl

from .model import RECIPE, RecipesSettings
from .tool import RecipePicker


@hookimpl
def register_entity_kinds(register: Any) -> None:
    register(RECIPE)


@hookimpl
def register_tools(register: Any) -> None:
    register(RecipePicker)


@hookimpl
def register_models(register: Any) -> None:
    # The alias its tool names; a `recipes_chef` alias in the library's models.yaml wins.
    register(
        "recipes_chef", {"model": "local/qwen2.5-coder-0.5b", "fallbacks": ["local/smollm2-135m"]}
    )


@hookimpl
def register_settings(register: Any) -> None:
    register(RecipesSettings)


@hookimpl
def register_routers(register: Any) -> None:
    from .api import router

    register(router)


@hookimpl
def register_pages(register: Any) -> None:
    from .page import RecipesPage

    register(RecipesPage)


@hookimpl
def register_definitions(register: Any) -> None:
    from .assets import definitions

    register(definitions)
