"""Generate: pick entities, see the composed prompt update with each one's contribution, choose
styles and settings, generate a batch (a Dagster run) with progress, browse results and past
batches, open an image to see its recipe, favorite it, re-run it or send it to img2img."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr
import pandas as pd

from apps.studio.base import (
    HEAVY,
    Background,
    Page,
    Studio,
    guarded,
    parse_size,
    selected,
)
from plugins.images.resources.generators import SCHEDULERS, TEST_MODEL_NOTE

PICKABLE = (
    "character",
    "outfit",
    "clothing_item",
    "hair_style",
    "hair_color",
    "makeup",
    "expression",
    "accessory",
    "composition",
    "visual_style",
    "art_style",
)
SIZES = ["512x512", "512x768", "768x512", "768x768", "1024x1024", "256x256", "64x64"]
BATCH_COLUMNS = ["created", "status", "images", "prompt", "id"]


class GeneratePage(Page):
    id = "generate"
    title = "Generate"

    def __init__(self, studio: Studio) -> None:
        from plugins.images.tools.batches import image_services

        super().__init__(studio)
        self.service = image_services(studio.settings)

    def layout(self) -> None:
        if self.service.generator.is_test_model:
            gr.Markdown(f"⚠ **{TEST_MODEL_NOTE}**", elem_id="generate-test-model")
        self.chosen_image = gr.State(None)  # the image opened in the gallery
        self.init_image = gr.State(None)  # img2img source
        self.shown_ids = gr.State([])  # image ids in the gallery, in order
        with gr.Row():
            with gr.Column(scale=3):
                self._layout_request()
            with gr.Column(scale=2):
                self.prompt_view = gr.Markdown(elem_id="generate-prompt")
        self.gallery = gr.Gallery(
            label="images", columns=4, height=360, elem_id="generate-gallery", allow_preview=True
        )
        with gr.Row():
            with gr.Column(scale=2):
                self.image_view = gr.Markdown(elem_id="generate-image-info")
            with gr.Column(scale=1):
                self.fav_btn = gr.Button("★ favorite", size="sm", elem_id="generate-favorite")
                self.rerun_btn = gr.Button(
                    "Re-run (same seed)", size="sm", elem_id="generate-rerun"
                )
                self.img2img_btn = gr.Button(
                    "Send to img2img", size="sm", elem_id="generate-img2img"
                )
                self.image_status = gr.Markdown(elem_id="generate-image-status")
        with gr.Accordion("Past batches", open=False):
            self.batches = gr.Dataframe(
                headers=BATCH_COLUMNS, interactive=False, wrap=True, elem_id="generate-batches"
            )
            self.batch_ids = gr.State([])

    def _layout_request(self) -> None:
        self.entities = gr.Dropdown(
            label="entities (type to search)",
            multiselect=True,
            choices=[],
            elem_id="generate-entities",
        )
        self.text = gr.Textbox(
            label="free text (`__wildcard__` and `{a|b}` allowed)", elem_id="generate-text"
        )
        self.styles = gr.Dropdown(
            label="styles", multiselect=True, choices=[], elem_id="generate-styles"
        )
        with gr.Row():
            self.count = gr.Slider(1, 16, value=4, step=1, label="images", elem_id="generate-count")
            self.seed = gr.Number(0, precision=0, label="seed", minimum=0, elem_id="generate-seed")
            self.steps = gr.Slider(1, 60, value=20, step=1, label="steps", elem_id="generate-steps")
        with gr.Row():
            self.size = gr.Dropdown(
                SIZES,
                value="512x512",
                label="size",
                elem_id="generate-size",
                allow_custom_value=True,
            )
            self.sampler = gr.Dropdown(list(SCHEDULERS), value="Euler a", label="sampler")
            self.guidance = gr.Slider(0, 20, value=7.0, step=0.5, label="guidance (CFG)")
        self.init_note = gr.Markdown(elem_id="generate-init")
        self.generate_btn = gr.Button("Generate", variant="primary", elem_id="generate-run")
        self.progress = gr.Markdown(elem_id="generate-progress")

    def wire(self) -> None:
        compose_inputs = [self.entities, self.text, self.styles, self.seed]
        gr.on(
            [self.entities.change, self.text.change, self.styles.change, self.seed.change],
            self.preview,
            compose_inputs,
            self.prompt_view,
            trigger_mode="always_last",
            show_progress="hidden",
        )
        settings = [self.count, self.seed, self.steps, self.size, self.sampler, self.guidance]
        self.generate_btn.click(
            self.generate,
            [*compose_inputs[:3], *settings, self.init_image],
            [self.progress, self.gallery, self.shown_ids],
            **HEAVY,
        ).then(self._batches, None, [self.batches, self.batch_ids])
        self.gallery.select(self.open_image, self.shown_ids, [self.chosen_image, self.image_view])
        self.fav_btn.click(self.favorite, self.chosen_image, self.image_status)
        self.rerun_btn.click(self.rerun, self.chosen_image, self.image_status, **HEAVY)
        self.img2img_btn.click(
            self.to_img2img, self.chosen_image, [self.init_image, self.init_note]
        )
        self.batches.select(self.open_batch, self.batch_ids, [self.gallery, self.shown_ids])
        gr.on(
            None,
            self.opened,
            None,
            [self.entities, self.styles, self.batches, self.batch_ids, self.prompt_view],
        )

    def opened(self) -> tuple[Any, ...]:
        return (*self.load_choices(), *self._batches(), self.preview([], "", [], 0))

    # ---- choices and the prompt, live ----------------------------------------------------------
    @guarded
    def load_choices(self) -> tuple[Any, Any]:
        with self.studio.store() as store:
            items = [
                e
                for kind in PICKABLE
                for e in store.list(kind, {"limit": 200, "sort": "name"}).items
            ]
        options = [(f"{e.name} ({e.kind.replace('_', ' ')})", e.id) for e in items]
        names = sorted(s.name for _, s in self.service.composer.styles.all().values())
        return gr.Dropdown(choices=options), gr.Dropdown(choices=names)

    @guarded
    def preview(
        self,
        ids: list[str] | None,
        free: str,
        style_names: list[str] | None,
        seed_v: float | None,
    ) -> str:
        if not ids and not (free or "").strip():
            return "_Pick entities or type a prompt: the composed prompt appears here._"
        c = self.service.composer.run(
            {
                "entity_ids": ids or [],
                "text": free or "",
                "styles": style_names or [],
                "seed": int(seed_v or 0),
            }
        )
        rows = "\n".join(
            f"| {p.kind.replace('_', ' ')}{' (via ' + p.via + ')' if p.via else ''}"
            f" | {p.name} | {p.text[:90]} |"
            for p in c.recipe.parts
        )
        warn = "".join(f"\n\n⚠ {w}" for w in c.warnings)
        return (
            f"**Prompt** ({c.tokens} CLIP tokens)\n\n{c.positive}\n\n**Negative**\n\n"
            f"{c.negative}{warn}\n\n| from | entity | words |\n|---|---|---|\n{rows}"
        )

    # ---- batches -------------------------------------------------------------------------------
    @guarded
    def _batches(self) -> tuple[pd.DataFrame, list[str]]:
        items = self.service.list(limit=50)
        rows = [
            [
                b["created_at"][:16].replace("T", " "),
                b["status"],
                f"{b['done']}/{b['count']}",
                b["positive"][:120],
                b["id"],
            ]
            for b in items
        ]
        return pd.DataFrame(rows, columns=BATCH_COLUMNS), [b["id"] for b in items]

    @guarded
    def open_batch(self, ids: list[str], evt: gr.SelectData) -> tuple[Any, Any]:
        batch_id = selected(ids, evt)
        if batch_id is None:
            return gr.skip(), gr.skip()
        image_ids = list(self.service.get(batch_id)["images"].values())
        return self._gallery(image_ids), image_ids

    def _gallery(self, ids: list[str]) -> list[tuple[str, str]]:
        return [(str(self.service.image_file(i)), f"#{n}") for n, i in enumerate(ids, start=1)]

    # ---- generating (a Dagster run) ------------------------------------------------------------
    @staticmethod
    def request(
        ids: list[str] | None,
        free: str,
        style_names: list[str] | None,
        n: float,
        seed_v: float | None,
        steps_v: float,
        size_v: str,
        sampler_v: str,
        cfg: float,
        init: str | None,
    ) -> dict[str, Any]:
        """The form's values → the batch the service creates."""
        w, h = parse_size(size_v)
        return {
            "compose": {"entity_ids": ids or [], "text": free or "", "styles": style_names or []},
            "count": int(n),
            "seed": int(seed_v or 0),
            "steps": int(steps_v),
            "width": w,
            "height": h,
            "sampler": sampler_v,
            "guidance": float(cfg),
            "init_image_id": init,
        }

    @guarded
    def generate(self, *values: Any) -> Iterator[Any]:
        from plugins.images.pipelines import generate_batch

        batch = self.service.create(self.request(*values), status="running")
        worker = Background(
            lambda: generate_batch(self.studio.settings, batch["id"], source="studio")
        )
        while worker.running:
            worker.wait(0.5)
            current = self.service.get(batch["id"])
            ids = list(current["images"].values())
            yield (
                f"⏳ {current['done']}/{current['count']} images ({worker.seconds:.0f} s)",
                self._gallery(ids),
                ids,
            )
        current = self.service.get(batch["id"])
        ids = list(current["images"].values())
        if current["status"] != "done":
            raise gr.Error(
                f"The batch stopped ({current['status']}): "
                f"{current['error'] or 'see its Dagster run'}"
            )
        link = self.studio.run_link(current["run_id"])
        yield (
            f"✅ {current['done']} images in {worker.seconds:.1f} s{link}",
            self._gallery(ids),
            ids,
        )

    # ---- one image -----------------------------------------------------------------------------
    @guarded
    def open_image(self, ids: list[str], evt: gr.SelectData) -> tuple[Any, str]:
        image_id = selected(ids, evt)
        if image_id is None:
            return gr.skip(), gr.skip()
        with self.studio.store() as store:
            image = store.get("image", image_id)
            links = store.links("image", image_id)
        d = image.data
        linked = ", ".join(f"{ln.entity.name} ({ln.relation})" for ln in links) or "none"
        note = f"\n\n⚠ {TEST_MODEL_NOTE}" if d.get("test_model") else ""
        return image_id, (
            f"**{image.name}** {'★' if image.favorite else ''} · {d['width']}×{d['height']} · "
            f"seed {d['seed']} · {d['steps']} steps · {d['sampler']} · CFG {d['guidance']} · "
            f"`{d['model']}`\n\n{d['prompt']}\n\n_negative:_ {d['negative_prompt']}\n\n"
            f"**linked:** {linked}{note}"
        )

    @guarded
    def favorite(self, image_id: str | None) -> str:
        image_id = _opened(image_id)
        with self.studio.store() as store:
            image = store.get("image", image_id)
            store.update("image", image_id, {"favorite": not image.favorite})
        return "★ favorite" if not image.favorite else "no longer a favorite"

    @guarded
    def rerun(self, image_id: str | None) -> str:
        _, _, identical = self.service.rerun(self.service.image_file(_opened(image_id)))
        return (
            "✅ re-made from its metadata: identical pixels"
            if identical
            else "⚠ re-made from its metadata: the pixels differ (another model or device)"
        )

    @guarded
    def to_img2img(self, image_id: str | None) -> tuple[Any, str]:
        image_id = _opened(image_id)
        return image_id, (
            f"img2img from image `{image_id}` (strength 0.6) — "
            "generate to use it; reload the page to go back to text-to-image"
        )


def _opened(image_id: str | None) -> str:
    """The image opened in the gallery, or a message to open one."""
    if not image_id:
        raise gr.Error("Open an image first.")
    return image_id
