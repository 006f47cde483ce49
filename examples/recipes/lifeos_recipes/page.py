"""The Recipes tab: the recipes in the library and the shopping list for them."""

from __future__ import annotations

import gradio as gr

from apps.studio.base import Page, guarded

from .model import shopping_list


class RecipesPage(Page):
    id = "recipes"
    title = "Recipes"

    def layout(self) -> None:
        self.refresh_btn = gr.Button("↻ shopping list", size="sm", elem_id="recipes-refresh")
        self.list_view = gr.Markdown(elem_id="recipes-list")

    def wire(self) -> None:
        self.refresh_btn.click(self.shopping, None, self.list_view)

    @guarded
    def shopping(self) -> str:
        with self.studio.store() as store:
            recipes = store.list("recipe", {"limit": 200}).items
        if not recipes:
            return "No recipes yet: add one in the Library (kind `recipe`)."
        items = shopping_list(r.data for r in recipes)
        return f"**{len(recipes)}** recipes · shopping list:\n\n" + "\n".join(
            f"- {item} ×{n}" for item, n in items
        )
