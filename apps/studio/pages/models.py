"""Models & tools: each alias with its status and a Test button (tokens/s); tool YAML configs
edited with validation before anything is saved."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from apps.studio.base import HEAVY, Page, Studio, guarded
from lifeos.llm import models as service
from lifeos.llm.router import get_router
from lifeos.llm.toolkit import ToolConfigs

ALIAS_COLUMNS = ["alias", "model", "fallbacks", "ready", "detail"]


class ModelsPage(Page):
    id = "models"
    title = "Models & tools"

    def __init__(self, studio: Studio) -> None:
        super().__init__(studio)
        self.router = get_router(studio.settings.database_url)
        self.configs = ToolConfigs(self.router.config_dir / "tools")

    def layout(self) -> None:
        self._layout_models()
        self._layout_tools()

    def _layout_models(self) -> None:
        gr.Markdown("### Models")
        self.aliases = gr.Dataframe(
            headers=ALIAS_COLUMNS, interactive=False, wrap=True, elem_id="models-aliases"
        )
        names = list(self.router.config.aliases)
        with gr.Row():
            self.alias = gr.Dropdown(
                label="alias",
                choices=names,
                scale=2,
                value=next(iter(names), None),
                elem_id="models-alias",
            )
            self.test_btn = gr.Button("Test", elem_id="models-test", scale=0)
        self.test_result = gr.Markdown(elem_id="models-test-result")

    def _layout_tools(self) -> None:
        gr.Markdown("### Tool configs")
        names = self.configs.names()
        with gr.Row():
            self.tool = gr.Dropdown(
                label="tool", choices=names, elem_id="tools-name", value=next(iter(names), None)
            )
            self.tool_info = gr.Markdown()
        self.editor = gr.Code(
            language="yaml",
            label="configs/tools/<tool>.yaml",
            lines=18,
            elem_id="tools-yaml",
            interactive=True,
        )
        with gr.Row():
            self.validate_btn = gr.Button("Validate", elem_id="tools-validate")
            self.save_btn = gr.Button("Save", variant="primary", elem_id="tools-save")
        self.tool_status = gr.Markdown(elem_id="tools-status")

    def wire(self) -> None:
        self.test_btn.click(self.test, self.alias, self.test_result, **HEAVY)
        self.tool.change(self.load_tool, self.tool, [self.editor, self.tool_info])
        self.validate_btn.click(self.validate, [self.tool, self.editor], self.tool_status)
        self.save_btn.click(self.save, [self.tool, self.editor], self.tool_status)

        gr.on(None, self.load_aliases, None, self.aliases)
        gr.on(None, lambda: self.load_tool(self.tool.value), None, [self.editor, self.tool_info])

    # ---- models --------------------------------------------------------------------------------
    @guarded
    def load_aliases(self) -> pd.DataFrame:
        ready = {r["alias"]: r for r in service.status(self.router)}
        return pd.DataFrame(
            [
                [
                    a["alias"],
                    a["model"],
                    ", ".join(a["fallbacks"]),
                    "✅" if ready[a["alias"]]["ok"] else "⚠",
                    ready[a["alias"]]["detail"],
                ]
                for a in service.overview(self.router)["aliases"]
            ],
            columns=ALIAS_COLUMNS,
        )

    @guarded
    def test(self, name: str) -> str:
        r = service.test_alias(self.router, name)
        speed = (
            f"{r['tokens_per_s']:.1f} tokens/s, {r['tokens_out']} tokens"
            if r["tokens_out"]
            else r["text"]
        )
        return (
            f"**{name}** → `{r['model']}`: {speed} · load {r['load_s']:.1f} s · "
            f"total {r['seconds']:.1f} s\n\n> {r['text'][:300]}"
        )

    # ---- tool configs --------------------------------------------------------------------------
    @guarded
    def load_tool(self, name: str | None) -> tuple[str, str]:
        if not name:
            return "", ""
        path = self.configs.directory / f"{name}.yaml"
        cfg = self.configs.get(name)
        return (
            path.read_text(encoding="utf-8"),
            f"model `{getattr(cfg, 'model', '-')}` · `{path}`",
        )

    @guarded
    def validate(self, name: str, text: str) -> str:
        cfg = self.configs.validate_text(name, text)
        return f"✅ Valid ({type(cfg).__name__}, model `{getattr(cfg, 'model', '-')}`)."

    @guarded
    def save(self, name: str, text: str) -> str:
        self.configs.validate_text(name, text)  # raises with file, line and field: nothing written
        path = self.configs.directory / f"{name}.yaml"
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        return f"✅ Saved {path.name}; the tool uses it from its next call."
