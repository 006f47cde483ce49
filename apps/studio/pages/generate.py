"""Generate: pick entities, see the composed prompt update with each one's contribution, choose
styles and settings, generate a batch (a Dagster run) with progress, browse results and past
batches, open an image to see its recipe, favorite it, re-run it or send it to img2img."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import gradio as gr
import pandas as pd

from apps.studio.base import Studio, StudioPage, guarded
from resources.images import SCHEDULERS, TEST_MODEL_NOTE

PICKABLE = ("character", "outfit", "clothing_item", "hair_style", "hair_color", "makeup",
            "expression", "accessory", "composition", "visual_style", "art_style")
SIZES = ["512x512", "512x768", "768x512", "768x768", "1024x1024", "256x256", "64x64"]
BATCH_COLUMNS = ["created", "status", "images", "prompt", "id"]


def build(studio: Studio) -> None:
    from tools.images.batches import image_services

    service = image_services(studio.settings)
    if service.generator.is_test_model:
        gr.Markdown(f"⚠ **{TEST_MODEL_NOTE}**", elem_id="generate-test-model")
    chosen_image = gr.State(None)     # the image opened in the gallery
    init_image = gr.State(None)       # img2img source
    shown_ids = gr.State([])          # image ids in the gallery, in order

    with gr.Row():
        with gr.Column(scale=3):
            entities = gr.Dropdown(label="entities (type to search)", multiselect=True,
                                   choices=[], elem_id="generate-entities")
            text = gr.Textbox(label="free text (`__wildcard__` and `{a|b}` allowed)",
                              elem_id="generate-text")
            styles = gr.Dropdown(label="styles", multiselect=True, choices=[],
                                 elem_id="generate-styles")
            with gr.Row():
                count = gr.Slider(1, 16, value=4, step=1, label="images", elem_id="generate-count")
                seed = gr.Number(0, precision=0, label="seed", minimum=0, elem_id="generate-seed")
                steps = gr.Slider(1, 60, value=20, step=1, label="steps", elem_id="generate-steps")
            with gr.Row():
                size = gr.Dropdown(SIZES, value="512x512", label="size", elem_id="generate-size",
                                   allow_custom_value=True)
                sampler = gr.Dropdown(list(SCHEDULERS), value="Euler a", label="sampler")
                guidance = gr.Slider(0, 20, value=7.0, step=0.5, label="guidance (CFG)")
            init_note = gr.Markdown(elem_id="generate-init")
            generate_btn = gr.Button("Generate", variant="primary", elem_id="generate-run")
            progress = gr.Markdown(elem_id="generate-progress")
        with gr.Column(scale=2):
            prompt_view = gr.Markdown(elem_id="generate-prompt")
    gallery = gr.Gallery(label="images", columns=4, height=360, elem_id="generate-gallery",
                         allow_preview=True)
    with gr.Row():
        with gr.Column(scale=2):
            image_view = gr.Markdown(elem_id="generate-image-info")
        with gr.Column(scale=1):
            fav_btn = gr.Button("★ favorite", size="sm", elem_id="generate-favorite")
            rerun_btn = gr.Button("Re-run (same seed)", size="sm", elem_id="generate-rerun")
            img2img_btn = gr.Button("Send to img2img", size="sm", elem_id="generate-img2img")
            image_status = gr.Markdown(elem_id="generate-image-status")
    with gr.Accordion("Past batches", open=False):
        batches = gr.Dataframe(headers=BATCH_COLUMNS, interactive=False, wrap=True,
                               elem_id="generate-batches")
        batch_ids = gr.State([])

    # ---- choices -------------------------------------------------------------------------------
    @guarded
    def load_choices() -> tuple[Any, Any]:
        with studio.store() as store:
            items = [e for kind in PICKABLE
                     for e in store.list(kind, {"limit": 200, "sort": "name"}).items]
        options = [(f"{e.name} ({e.kind.replace('_', ' ')})", e.id) for e in items]
        names = sorted(s.name for _, s in service.composer.styles.all().values())
        return gr.Dropdown(choices=options), gr.Dropdown(choices=names)

    # ---- the prompt, live ----------------------------------------------------------------------
    @guarded
    def preview(ids: list[str] | None, free: str, style_names: list[str] | None,
                seed_v: float | None) -> str:
        if not ids and not (free or "").strip():
            return "_Pick entities or type a prompt: the composed prompt appears here._"
        c = service.composer.run({"entity_ids": ids or [], "text": free or "",
                                  "styles": style_names or [], "seed": int(seed_v or 0)})
        rows = "\n".join(f"| {p.kind.replace('_', ' ')}{' (via ' + p.via + ')' if p.via else ''}"
                         f" | {p.name} | {p.text[:90]} |" for p in c.recipe.parts)
        warn = "".join(f"\n\n⚠ {w}" for w in c.warnings)
        return (f"**Prompt** ({c.tokens} CLIP tokens)\n\n{c.positive}\n\n**Negative**\n\n"
                f"{c.negative}{warn}\n\n| from | entity | words |\n|---|---|---|\n{rows}")

    compose_inputs = [entities, text, styles, seed]
    gr.on([entities.change, text.change, styles.change, seed.change], preview, compose_inputs,
          prompt_view, trigger_mode="always_last", show_progress="hidden")

    # ---- past batches --------------------------------------------------------------------------
    @guarded
    def _batches() -> tuple[Any, list[str]]:
        items = service.list(limit=50)
        rows = [[b["created_at"][:16].replace("T", " "), b["status"],
                 f"{b['done']}/{b['count']}", b["positive"][:120], b["id"]] for b in items]
        return pd.DataFrame(rows, columns=BATCH_COLUMNS), [b["id"] for b in items]

    # ---- generating ----------------------------------------------------------------------------
    def request(ids: list[str] | None, free: str, style_names: list[str] | None, n: float,
                seed_v: float | None, steps_v: float, size_v: str, sampler_v: str,
                cfg: float, init: str | None) -> dict[str, Any]:
        try:
            w, h = (int(x) for x in (size_v or "").lower().split("x"))
        except ValueError:
            raise gr.Error(f"{size_v!r}: give the size as WIDTHxHEIGHT") from None
        return {"compose": {"entity_ids": ids or [], "text": free or "",
                            "styles": style_names or []},
                "count": int(n), "seed": int(seed_v or 0), "steps": int(steps_v), "width": w,
                "height": h, "sampler": sampler_v, "guidance": float(cfg),
                "init_image_id": init}

    def generate(*values: Any) -> Iterator[Any]:
        from pipelines.runs import generate_batch

        batch = service.create(request(*values), status="running")
        worker = threading.Thread(target=lambda: generate_batch(
            studio.settings, batch["id"], source="studio"), daemon=True)
        started = time.monotonic()
        worker.start()
        current = batch
        while worker.is_alive():
            worker.join(timeout=0.5)
            current = service.get(batch["id"])
            ids = list(current["images"].values())
            yield (f"⏳ {current['done']}/{current['count']} images "
                   f"({time.monotonic() - started:.0f} s)", _gallery(ids), ids)
        current = service.get(batch["id"])
        ids = list(current["images"].values())
        if current["status"] != "done":
            raise gr.Error(f"The batch stopped ({current['status']}): "
                           f"{current['error'] or 'see its Dagster run'}")
        link = (f" · [Dagster run]({studio.dagster_run_url(current['run_id'])})"
                if current["run_id"] else "")
        yield (f"✅ {current['done']} images in {time.monotonic() - started:.1f} s{link}",
               _gallery(ids), ids)

    def _gallery(ids: list[str]) -> list[tuple[str, str]]:
        return [(str(service.image_file(i)), f"#{n}") for n, i in enumerate(ids, start=1)]

    generate_btn.click(guarded(generate), [*compose_inputs[:3], count, seed, steps, size,
                                           sampler, guidance, init_image],
                       [progress, gallery, shown_ids], concurrency_limit=1,
                       concurrency_id="heavy").then(_batches, None, [batches, batch_ids])

    # ---- opening an image ----------------------------------------------------------------------
    @guarded
    def open_image(ids: list[str], evt: gr.SelectData) -> tuple[Any, str]:
        if evt.index is None or evt.index >= len(ids):
            return gr.skip(), gr.skip()
        image_id = ids[evt.index]
        with studio.store() as store:
            image = store.get("image", image_id)
            links = store.links("image", image_id)
        d = image.data
        linked = ", ".join(f"{ln.entity.name} ({ln.relation})" for ln in links) or "none"
        note = f"\n\n⚠ {TEST_MODEL_NOTE}" if d.get("test_model") else ""
        return image_id, (
            f"**{image.name}** {'★' if image.favorite else ''} · {d['width']}×{d['height']} · "
            f"seed {d['seed']} · {d['steps']} steps · {d['sampler']} · CFG {d['guidance']} · "
            f"`{d['model']}`\n\n{d['prompt']}\n\n_negative:_ {d['negative_prompt']}\n\n"
            f"**linked:** {linked}{note}")

    gallery.select(open_image, shown_ids, [chosen_image, image_view])

    @guarded
    def favorite(image_id: str | None) -> str:
        if not image_id:
            raise gr.Error("Open an image first.")
        with studio.store() as store:
            image = store.get("image", image_id)
            store.update("image", image_id, {"favorite": not image.favorite})
        return "★ favorite" if not image.favorite else "no longer a favorite"

    @guarded
    def rerun(image_id: str | None) -> str:
        if not image_id:
            raise gr.Error("Open an image first.")
        _, _, identical = service.rerun(service.image_file(image_id))
        return ("✅ re-made from its metadata: identical pixels" if identical else
                "⚠ re-made from its metadata: the pixels differ (another model or device)")

    def to_img2img(image_id: str | None) -> tuple[Any, str]:
        if not image_id:
            raise gr.Error("Open an image first.")
        return image_id, (f"img2img from image `{image_id}` (strength 0.6) — "
                          "generate to use it; reload the page to go back to text-to-image")

    fav_btn.click(favorite, chosen_image, image_status)
    rerun_btn.click(rerun, chosen_image, image_status, concurrency_limit=1,
                    concurrency_id="heavy")
    img2img_btn.click(guarded(to_img2img), chosen_image, [init_image, init_note])

    @guarded
    def open_batch(ids: list[str], evt: gr.SelectData) -> tuple[Any, Any]:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        batch = service.get(ids[row])
        image_ids = list(batch["images"].values())
        return _gallery(image_ids), image_ids

    batches.select(open_batch, batch_ids, [gallery, shown_ids])

    def opened() -> tuple[Any, ...]:
        return (*load_choices(), *_batches(), preview([], "", [], 0))

    gr.on(None, opened, None, [entities, styles, batches, batch_ids, prompt_view])


page = StudioPage(id="generate", title="Generate", build=build)
