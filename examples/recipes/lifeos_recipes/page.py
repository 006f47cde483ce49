"""The Recipes tab: the recipes in the library and the shopping list for them."""

from __future__ import annotations

import gradio as gr

from apps.studio.base import HEAVY, Page, guarded
from lifeos.llm.router import get_router

from .model import pick, shopping_list


class RecipesPage(Page):
    id = "recipes"
    title = "Recipes"

    def layout(self) -> None:
        self.refresh_btn = gr.Button("↻ shopping list", size="sm", elem_id="recipes-refresh")
        self.list_view = gr.Markdown(elem_id="recipes-list")
        with gr.Row():
            self.wish = gr.Textbox(label="what do you feel like?", elem_id="recipes-wish", scale=4)
            self.pick_btn = gr.Button("Pick tonight's recipe", elem_id="recipes-pick", scale=1)
        self.picked = gr.Markdown(elem_id="recipes-picked")

    def wire(self) -> None:
        self.refresh_btn.click(self.shopping, None, self.list_view)
        self.pick_btn.click(self.pick, self.wish, self.picked, **HEAVY)

    @guarded
    def pick(self, wish: str) -> str:
        if not wish.strip():
            raise gr.Error("Say what you feel like first.")
        with self.studio.store() as store:
            out = pick(get_router(self.studio.settings.database_url), store, wish)
        return f"Tonight: **{out['recipe']}**: {out['why']}"

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
