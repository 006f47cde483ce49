"""The Cards tab: a SillyTavern Character Card (V2 / V3, JSON or PNG) in as a character (a PNG's
picture kept as its avatar), and any character out as a card again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gradio as gr

from apps.studio.base import Page, guarded, temp_folder


class CardsPage(Page):
    id = "cards"
    title = "Cards"

    def layout(self) -> None:
        with gr.Row():
            self.upload = gr.File(
                label="card (.json or .png)", file_types=[".json", ".png"], elem_id="card-file"
            )
            self.import_btn = gr.Button("Import card", elem_id="card-import")
        self.status = gr.Markdown(elem_id="card-status")
        with gr.Row():
            self.character = gr.Dropdown(label="character", choices=[], elem_id="card-character")
            self.png_btn = gr.Button("Export as PNG", elem_id="card-export-png")
            self.json_btn = gr.Button("… as JSON", elem_id="card-export-json")
        self.download = gr.File(label="card", interactive=False, elem_id="card-download")

    def wire(self) -> None:
        self.import_btn.click(self.do_import, self.upload, [self.character, self.status])
        self.png_btn.click(self.export(as_png=True), self.character, self.download)
        self.json_btn.click(self.export(as_png=False), self.character, self.download)
        gr.on(None, self.characters, None, self.character)

    def _choices(self) -> list[tuple[str, str]]:
        with self.studio.store() as store:
            chars = store.list("character", {"limit": 200, "sort": "name"}).items
        return [(c.name, c.id) for c in chars]

    @guarded
    def characters(self) -> Any:
        return gr.Dropdown(choices=self._choices())

    @guarded
    def do_import(self, path: str | None) -> tuple[Any, str]:
        from plugins.stories.tools.cards import import_card

        if not path:
            raise gr.Error("Choose a card file first.")
        with self.studio.store() as store:
            character = import_card(store, Path(path), self.studio.settings)
        return (
            gr.Dropdown(choices=self._choices(), value=character.id),
            f"✅ Imported {character.name} from its card (in the Library as a character).",
        )

    def export(self, *, as_png: bool) -> Any:
        @guarded
        def run(character_id: str | None) -> str:
            from plugins.stories.tools.cards import card_png, character_picture, entity_to_card

            if not character_id:
                raise gr.Error("Pick a character first.")
            with self.studio.store() as store:
                character = store.get("character", character_id)
                picture = (
                    character_picture(store, character_id, self.studio.settings) if as_png else None
                )
            card = entity_to_card(character)
            safe = "".join(c if c.isalnum() else "_" for c in character.name)[:60] or "card"
            path = temp_folder("lifeos-card-") / (f"{safe}.png" if as_png else f"{safe}.json")
            if as_png:
                path.write_bytes(card_png(card, picture))
            else:
                path.write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
            return str(path)

        return run
