"""Stories: start a story from selected characters, watch it being planned, written and
illustrated, read it with its pictures, regenerate a scene, export it as Markdown or HTML."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Iterator
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
    temp_folder,
)
from lifeos.schemas import EntityOut
from plugins.images.resources.generators import TEST_MODEL_NOTE

COLUMNS = ["created", "title", "status", "scenes", "id"]


class StoriesPage(Page):
    id = "stories"
    title = "Stories"

    def __init__(self, studio: Studio) -> None:
        from plugins.stories.tools.stories import story_services

        super().__init__(studio)
        self.service = story_services(studio.settings)

    def layout(self) -> None:
        self.current = gr.State(None)
        self.ids = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                self._layout_start()
            with gr.Column(scale=2):
                self.past = gr.Dataframe(
                    headers=COLUMNS, interactive=False, label="stories", elem_id="story-list"
                )
        self.reader = gr.HTML(elem_id="story-reader")
        with gr.Row():
            self.scene_no = gr.Number(
                value=1,
                precision=0,
                minimum=1,
                label="scene",
                scale=0,
                min_width=100,
                elem_id="story-scene-no",
            )
            self.rewrite_btn = gr.Button(
                "Rewrite this scene (and its picture)", elem_id="story-rewrite"
            )
            self.redraw_btn = gr.Button("Redraw its picture only", elem_id="story-redraw")
            self.md_btn = gr.Button("Export Markdown", elem_id="story-export-md")
            self.html_btn = gr.Button("Export HTML", elem_id="story-export-html")
        self.export_file = gr.File(label="export", interactive=False, elem_id="story-export-file")

    def _layout_start(self) -> None:
        self.characters = gr.Dropdown(
            label="characters", multiselect=True, choices=[], elem_id="story-characters"
        )
        with gr.Row():
            self.tone = gr.Textbox(
                label="tone", placeholder="cozy, eerie, heroic…", elem_id="story-tone"
            )
            self.setting = gr.Textbox(
                label="setting", placeholder="optional", elem_id="story-setting"
            )
            self.scenes = gr.Slider(1, 8, value=3, step=1, label="scenes", elem_id="story-scenes")
        with gr.Row():
            self.size = gr.Dropdown(
                ["512x512", "768x512", "256x256", "64x64"],
                value="512x512",
                label="picture size",
                allow_custom_value=True,
                elem_id="story-size",
            )
            self.steps = gr.Slider(1, 50, value=20, step=1, label="picture steps")
        self.start_btn = gr.Button("Start the story", variant="primary", elem_id="story-start")
        self.progress = gr.Markdown(elem_id="story-progress")

    def wire(self) -> None:
        listing = [self.characters, self.past, self.ids]
        self.start_btn.click(
            self.start,
            [self.characters, self.tone, self.setting, self.scenes, self.size, self.steps],
            [self.current, self.progress, self.reader],
            **HEAVY,
        ).then(self.load, None, listing)
        for button, illustration_only in ((self.rewrite_btn, False), (self.redraw_btn, True)):
            button.click(
                self.redo(illustration_only),
                [self.current, self.scene_no, self.size, self.steps],
                [self.progress, self.reader],
                **HEAVY,
            )
        self.past.select(self.pick, self.ids, [self.current, self.reader])
        self.md_btn.click(self.exporter("md"), self.current, self.export_file)
        self.html_btn.click(self.exporter("html"), self.current, self.export_file)
        gr.on(None, self.load, None, listing)

    # ---- the list ------------------------------------------------------------------------------
    @guarded
    def load(self) -> tuple[Any, ...]:
        with self.studio.store() as store:
            chars = store.list("character", {"limit": 200, "sort": "name"}).items
            stories = store.list("story", {"limit": 50, "sort": "-created_at"}).items
        rows = [
            [
                s.created_at.strftime("%Y-%m-%d %H:%M"),
                s.data.get("title") or s.name,
                s.data["status"],
                s.data["scene_count"],
                s.id,
            ]
            for s in stories
        ]
        return (
            gr.Dropdown(choices=[(c.name, c.id) for c in chars]),
            pd.DataFrame(rows, columns=COLUMNS),
            [r[-1] for r in rows],
        )

    @guarded
    def pick(self, all_ids: list[str], evt: gr.SelectData) -> tuple[Any, str]:
        story_id = selected(all_ids, evt)
        if story_id is None:
            return gr.skip(), gr.skip()
        return story_id, self.render(story_id)

    # ---- reading -------------------------------------------------------------------------------
    def render(self, story_id: str | None) -> str:
        if not story_id:
            return ""
        story, parts = self.service.get(story_id)
        body = [
            f"<h2>{html.escape(story.data.get('title') or story.name)}</h2>",
            f"<p><em>{html.escape(story.data.get('premise') or '')}</em></p>",
        ]
        if self.service.images.generator.is_test_model:
            body.append(f"<p><small>⚠ {html.escape(TEST_MODEL_NOTE)}</small></p>")
        for scene in parts:
            body += self._scene(scene)
        return "\n".join(body)

    def _scene(self, scene: EntityOut) -> list[str]:
        d = scene.data
        body = [
            f"<h3>{d['order'] + 1}. {html.escape(d['title'] or scene.name)} "
            f"<small>[{d['status']}]</small></h3>"
        ]
        image_id = self.service.scene_image(scene.id)
        if image_id:  # inline: the page needs no API access of its own
            data = base64.b64encode(self.service.images.image_file(image_id).read_bytes())
            body.append(
                f'<img src="data:image/png;base64,{data.decode()}" '
                f'style="max-width:320px;float:right;margin:0 0 8px 12px">'
            )
        if d["error"]:
            body.append(f"<p style='color:#b91c1c'>{html.escape(d['error'])}</p>")
        body += [f"<p>{html.escape(p)}</p>" for p in d["text"].split("\n") if p.strip()]
        body.append("<div style='clear:both'></div>")
        return body

    # ---- writing (a Dagster run) ---------------------------------------------------------------
    def _run(self, story_id: str, **kw: Any) -> Iterator[str]:
        from plugins.stories.pipelines import run_story

        worker = Background(
            lambda: run_story(self.studio.settings, story_id, source="studio", **kw)
        )
        while worker.running:
            worker.wait(0.7)
            story, parts = self.service.get(story_id)
            written = sum(p.data["status"] in ("written", "illustrated") for p in parts)
            drawn = sum(p.data["status"] == "illustrated" for p in parts)
            yield (
                f"⏳ {story.data['status']}: {written}/{story.data['scene_count']} written, "
                f"{drawn} illustrated ({worker.seconds:.0f} s)"
            )
        story, _ = self.service.get(story_id)
        yield (
            f"{'✅' if story.data['status'] == 'done' else '⚠'} {story.data['status']} in "
            f"{worker.seconds:.0f} s {story.data['error']}"
        )

    @guarded
    def start(
        self,
        chars: list[str] | None,
        tone_v: str,
        setting_v: str,
        n: float,
        size_v: str,
        steps_v: float,
    ) -> Iterator[Any]:
        if not chars:
            raise gr.Error("Pick at least one character.")
        story = self.service.create(
            chars, tone=tone_v or "", setting=setting_v or "", scenes=int(n)
        )
        for line in self._run(story.id, image_steps=int(steps_v), size=parse_size(size_v)):
            yield story.id, line, self.render(story.id)

    def redo(self, illustration_only: bool) -> Callable[..., Iterator[Any]]:
        """The handler of Rewrite (the scene and its picture) or Redraw (its picture only)."""

        @guarded
        def handler(
            story_id: str | None, number: float | None, size_v: str, steps_v: float
        ) -> Iterator[Any]:
            yield from self.rerun(story_id, number, size_v, steps_v, illustration_only)

        return handler

    def rerun(
        self,
        story_id: str | None,
        number: float | None,
        size_v: str,
        steps_v: float,
        illustration_only: bool,
    ) -> Iterator[Any]:
        if not story_id:
            raise gr.Error("Open or start a story first.")
        run_steps = (
            ("story_illustrations",)
            if illustration_only
            else ("story_scenes", "story_illustrations")
        )
        for line in self._run(
            story_id,
            steps=run_steps,
            redo=[int(number or 1)],
            image_steps=int(steps_v),
            size=parse_size(size_v),
        ):
            yield line, self.render(story_id)

    # ---- exporting -----------------------------------------------------------------------------
    def exporter(self, fmt: str) -> Callable[[str | None], str]:
        @guarded
        def handler(story_id: str | None) -> str:
            return self.export(story_id, fmt)

        return handler

    def export(self, story_id: str | None, fmt: str) -> str:
        """The story as a file to download: HTML, or its Markdown and pictures as one zip."""
        if not story_id:
            raise gr.Error("Open or start a story first.")
        folder = temp_folder("lifeos-story-")
        out = self.service.export(story_id, fmt, folder / f"story.{fmt}")
        if fmt == "md":
            import shutil

            return shutil.make_archive(str(folder / "story"), "zip", folder)
        return str(out)
