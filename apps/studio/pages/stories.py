"""Stories: start a story from selected characters, watch it being planned, written and
illustrated, read it with its pictures, regenerate a scene, export it as Markdown or HTML."""

from __future__ import annotations

import base64
import html
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from apps.studio.base import Studio, StudioPage, guarded
from resources.images import TEST_MODEL_NOTE

COLUMNS = ["created", "title", "status", "scenes", "id"]


def build(studio: Studio) -> None:
    from tools.stories import story_services

    service = story_services(studio.settings)
    current = gr.State(None)
    ids = gr.State([])

    with gr.Row():
        with gr.Column(scale=3):
            characters = gr.Dropdown(label="characters", multiselect=True, choices=[],
                                     elem_id="story-characters")
            with gr.Row():
                tone = gr.Textbox(label="tone", placeholder="cozy, eerie, heroic…",
                                  elem_id="story-tone")
                setting = gr.Textbox(label="setting", placeholder="optional",
                                     elem_id="story-setting")
                scenes = gr.Slider(1, 8, value=3, step=1, label="scenes", elem_id="story-scenes")
            with gr.Row():
                size = gr.Dropdown(["512x512", "768x512", "256x256", "64x64"], value="512x512",
                                   label="picture size", allow_custom_value=True,
                                   elem_id="story-size")
                steps = gr.Slider(1, 50, value=20, step=1, label="picture steps")
            start_btn = gr.Button("Start the story", variant="primary", elem_id="story-start")
            progress = gr.Markdown(elem_id="story-progress")
        with gr.Column(scale=2):
            past = gr.Dataframe(headers=COLUMNS, interactive=False, label="stories",
                                elem_id="story-list")
    reader = gr.HTML(elem_id="story-reader")
    with gr.Row():
        scene_no = gr.Number(value=1, precision=0, minimum=1, label="scene", scale=0,
                             min_width=100, elem_id="story-scene-no")
        rewrite_btn = gr.Button("Rewrite this scene (and its picture)", elem_id="story-rewrite")
        redraw_btn = gr.Button("Redraw its picture only", elem_id="story-redraw")
        md_btn = gr.Button("Export Markdown", elem_id="story-export-md")
        html_btn = gr.Button("Export HTML", elem_id="story-export-html")
    export_file = gr.File(label="export", interactive=False, elem_id="story-export-file")

    @guarded
    def load() -> tuple[Any, ...]:
        with studio.store() as store:
            chars = store.list("character", {"limit": 200, "sort": "name"}).items
            stories = store.list("story", {"limit": 50, "sort": "-created_at"}).items
        rows = [[s.created_at.strftime("%Y-%m-%d %H:%M"), s.data.get("title") or s.name,
                 s.data["status"], s.data["scene_count"], s.id] for s in stories]
        return (gr.Dropdown(choices=[(c.name, c.id) for c in chars]),
                pd.DataFrame(rows, columns=COLUMNS), [r[-1] for r in rows])

    def render(story_id: str | None) -> str:
        if not story_id:
            return ""
        story, parts = service.get(story_id)
        body = [f"<h2>{html.escape(story.data.get('title') or story.name)}</h2>",
                f"<p><em>{html.escape(story.data.get('premise') or '')}</em></p>"]
        if service.images.generator.is_test_model:
            body.append(f"<p><small>⚠ {html.escape(TEST_MODEL_NOTE)}</small></p>")
        for scene in parts:
            d = scene.data
            body.append(f"<h3>{d['order'] + 1}. {html.escape(d['title'] or scene.name)} "
                        f"<small>[{d['status']}]</small></h3>")
            image_id = service.scene_image(scene.id)
            if image_id:   # inline: the page needs no API access of its own
                data = base64.b64encode(service.images.image_file(image_id).read_bytes())
                body.append(f'<img src="data:image/png;base64,{data.decode()}" '
                            f'style="max-width:320px;float:right;margin:0 0 8px 12px">')
            if d["error"]:
                body.append(f"<p style='color:#b91c1c'>{html.escape(d['error'])}</p>")
            body += [f"<p>{html.escape(p)}</p>" for p in d["text"].split("\n") if p.strip()]
            body.append("<div style='clear:both'></div>")
        return "\n".join(body)

    def _run(story_id: str, **kw: Any) -> Iterator[str]:
        from pipelines.runs import run_story

        worker = threading.Thread(target=lambda: run_story(
            studio.settings, story_id, source="studio", **kw), daemon=True)
        started = time.monotonic()
        worker.start()
        while worker.is_alive():
            worker.join(timeout=0.7)
            story, parts = service.get(story_id)
            written = sum(p.data["status"] in ("written", "illustrated") for p in parts)
            drawn = sum(p.data["status"] == "illustrated" for p in parts)
            yield (f"⏳ {story.data['status']}: {written}/{story.data['scene_count']} written, "
                   f"{drawn} illustrated ({time.monotonic() - started:.0f} s)")
        story, _ = service.get(story_id)
        yield (f"{'✅' if story.data['status'] == 'done' else '⚠'} {story.data['status']} in "
               f"{time.monotonic() - started:.0f} s {story.data['error']}")

    def _size(value: str) -> tuple[int, int]:
        try:
            w, h = (int(x) for x in (value or "").lower().split("x"))
            return w, h
        except ValueError:
            raise gr.Error(f"{value!r}: give the size as WIDTHxHEIGHT") from None

    def start(chars: list[str] | None, tone_v: str, setting_v: str, n: float, size_v: str,
              steps_v: float) -> Iterator[Any]:
        if not chars:
            raise gr.Error("Pick at least one character.")
        story = service.create(chars, tone=tone_v or "", setting=setting_v or "",
                               scenes=int(n))
        for line in _run(story.id, image_steps=int(steps_v), size=_size(size_v)):
            yield story.id, line, render(story.id)

    start_btn.click(guarded(start), [characters, tone, setting, scenes, size, steps],
                    [current, progress, reader], concurrency_limit=1,
                    concurrency_id="heavy").then(load, None, [characters, past, ids])

    def redo(illustration_only: bool) -> Any:
        def handler(story_id: str | None, number: float | None, size_v: str,
                    steps_v: float) -> Iterator[Any]:
            if not story_id:
                raise gr.Error("Open or start a story first.")
            run_steps = (("story_illustrations",) if illustration_only else
                         ("story_scenes", "story_illustrations"))
            for line in _run(story_id, steps=run_steps, redo=[int(number or 1)],
                             image_steps=int(steps_v), size=_size(size_v)):
                yield line, render(story_id)
        return guarded(handler)

    rewrite_btn.click(redo(False), [current, scene_no, size, steps], [progress, reader],
                      concurrency_limit=1, concurrency_id="heavy")
    redraw_btn.click(redo(True), [current, scene_no, size, steps], [progress, reader],
                     concurrency_limit=1, concurrency_id="heavy")

    @guarded
    def pick(all_ids: list[str], evt: gr.SelectData) -> tuple[Any, str]:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        return all_ids[row], render(all_ids[row])

    past.select(pick, ids, [current, reader])

    def exporter(fmt: str) -> Any:
        @guarded
        def handler(story_id: str | None) -> str:
            if not story_id:
                raise gr.Error("Open or start a story first.")
            folder = Path(tempfile.mkdtemp(prefix="lifeos-story-"))
            out = service.export(story_id, fmt, folder / f"story.{fmt}")
            if fmt == "md":   # the Markdown and its pictures, as one zip
                import shutil

                return shutil.make_archive(str(folder / "story"), "zip", folder)
            return str(out)
        return handler

    md_btn.click(exporter("md"), current, export_file)
    html_btn.click(exporter("html"), current, export_file)
    gr.on(None, load, None, [characters, past, ids])


page = StudioPage(id="stories", title="Stories", build=build)
