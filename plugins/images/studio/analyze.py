"""Analyze: drop a picture, see each analyzer's suggestions with confidence and evidence, edit
them, accept them into the library; or analyze a whole folder with progress."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from apps.studio.base import HEAVY, Page, Studio, guarded, not_json
from plugins.images.tools.analyze.core import ALL_ANALYZERS
from plugins.images.tools.analyze.suggestions import Analysis, Backend

COLUMNS = ["#", "kind", "name", "confidence", "backend", "evidence", "in library"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
# The backend radio's choices → the service's backend (None: the best one available).
BACKENDS: dict[str, Backend | None] = {
    "best available": None,
    "vision": "vision",
    "metadata": "metadata",
    "pixels": "pixels",
}


class AnalyzePage(Page):
    id = "analyze"
    title = "Analyze"

    def __init__(self, studio: Studio) -> None:
        from plugins.images.tools.analyze.service import analysis_services

        super().__init__(studio)
        self.service = analysis_services(studio.settings)

    def layout(self) -> None:
        self.current = gr.State(None)
        with gr.Row():
            with gr.Column(scale=2):
                self._layout_inputs()
            with gr.Column(scale=3):
                self._layout_results()
        with gr.Accordion("A whole folder", open=False):
            with gr.Row():
                self.folder = gr.Textbox(label="folder on this machine", elem_id="analyze-folder")
                self.folder_btn = gr.Button("Analyze the folder", elem_id="analyze-folder-run")
            self.folder_log = gr.Markdown(elem_id="analyze-folder-log")

    def _layout_inputs(self) -> None:
        self.picture = gr.Image(
            type="filepath", label="picture", elem_id="analyze-image", height=320
        )
        self.kinds = gr.Dropdown(
            list(ALL_ANALYZERS),
            value=["character_appearance"],
            multiselect=True,
            label="analyzers",
            elem_id="analyze-kinds",
        )
        self.backend = gr.Radio(
            list(BACKENDS), value="best available", label="backend", elem_id="analyze-backend"
        )
        self.run_btn = gr.Button("Analyze", variant="primary", elem_id="analyze-run")

    def _layout_results(self) -> None:
        self.summary = gr.Markdown(elem_id="analyze-summary")
        self.table = gr.Dataframe(
            headers=COLUMNS, interactive=False, wrap=True, elem_id="analyze-table"
        )
        self.editor = gr.Code(
            language="json",
            label="suggestions (edit before accepting)",
            lines=14,
            elem_id="analyze-editor",
            interactive=True,
        )
        with gr.Row():
            self.pick = gr.Textbox(
                label="accept (numbers, e.g. 1,3; empty: all)", elem_id="analyze-pick", scale=2
            )
            self.accept_btn = gr.Button("Accept into the library", elem_id="analyze-accept")
        self.accepted = gr.Markdown(elem_id="analyze-accepted")

    def wire(self) -> None:
        self.run_btn.click(
            self.analyze,
            [self.picture, self.kinds, self.backend],
            [self.current, self.summary, self.table, self.editor, self.accepted],
            **HEAVY,
        )
        self.accept_btn.click(self.accept, [self.current, self.editor, self.pick], self.accepted)
        self.folder_btn.click(
            self.analyze_folder, [self.folder, self.kinds, self.backend], self.folder_log, **HEAVY
        )

    # ---- one picture ---------------------------------------------------------------------------
    @guarded
    def analyze(
        self, path: str | None, kinds_v: list[str] | None, backend_v: str
    ) -> tuple[Any, ...]:
        if not path:
            raise gr.Error("Drop a picture first.")
        analysis_id, analysis = self.service.analyze_file(
            Path(path), kinds=kinds_v or None, backend=BACKENDS[backend_v]
        )
        return self._show(analysis_id, analysis)

    def _show(self, analysis_id: str, analysis: Analysis) -> tuple[Any, ...]:
        rows = []
        for i, s in enumerate(analysis.suggestions, start=1):
            conf = sum(s.confidence.values()) / len(s.confidence) if s.confidence else 0.0
            rows.append(
                [
                    i,
                    s.kind,
                    s.name,
                    f"{conf:.2f}" + (" (heuristic)" if s.heuristic else ""),
                    s.backend,
                    "; ".join(f"{k}: {v}" for k, v in s.evidence.items())[:160],
                    "yes" if s.existing_id else "",
                ]
            )
        notes = "".join(f"\n- {n}" for n in analysis.notes)
        text = (
            f"**{len(analysis.suggestions)} suggestions** from `{analysis.backend}`"
            f"{' (' + analysis.model + ')' if analysis.model else ''} in "
            f"{analysis.latency_s:.2f} s{notes}"
        )
        return (
            analysis_id,
            text,
            pd.DataFrame(rows, columns=COLUMNS),
            json.dumps(
                [s.model_dump(mode="json") for s in analysis.suggestions],
                indent=2,
                ensure_ascii=False,
            ),
            "",
        )

    @guarded
    def accept(self, analysis_id: str | None, edited: str, picks: str) -> str:
        if not analysis_id:
            raise gr.Error("Analyze a picture first.")
        try:
            suggestions = json.loads(edited or "[]")
        except json.JSONDecodeError as exc:
            raise gr.Error(f"The suggestions are {not_json(exc)}.") from None
        wanted = (
            [int(p) - 1 for p in picks.replace(" ", "").split(",") if p]
            if picks.strip()
            else list(range(len(suggestions)))
        )
        if any(not 0 <= i < len(suggestions) for i in wanted):
            raise gr.Error(f"Pick numbers between 1 and {len(suggestions)}.")
        ids = self.service.accept(analysis_id, suggestions=[suggestions[i] for i in wanted])
        return (
            f"✅ {len(ids)} entities in the library (new or matched by name), linked to the "
            "picture."
        )

    # ---- a folder ------------------------------------------------------------------------------
    @guarded
    def analyze_folder(self, path: str, kinds_v: list[str] | None, backend_v: str) -> Iterator[str]:
        folder_path = Path((path or "").strip()).expanduser()
        if not folder_path.is_dir():
            raise gr.Error(f"{folder_path} is not a folder.")
        files = sorted(p for p in folder_path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        lines: list[str] = []
        for n, file in enumerate(files, start=1):
            try:
                analysis_id, analysis = self.service.analyze_file(
                    file, kinds=kinds_v or None, backend=BACKENDS[backend_v]
                )
                lines.append(
                    f"- {file.name}: {len(analysis.suggestions)} suggestions "
                    f"({analysis.backend}), analysis `{analysis_id}`"
                )
            except Exception as exc:  # noqa: BLE001 - one bad file does not stop the batch
                lines.append(f"- {file.name}: ⚠ {getattr(exc, 'message', exc)}")
            yield f"**{n}/{len(files)}**\n" + "\n".join(lines[-30:])
        if not files:
            yield "No PNG, JPEG or WebP pictures in that folder."
