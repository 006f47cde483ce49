"""Models & tools: each alias with its status and a Test button (tokens/s); tool YAML configs
edited with validation before anything is saved."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from apps.studio.base import Studio, StudioPage, guarded
from lifeos.llm import models as service
from lifeos.llm.router import get_router
from lifeos.llm.toolkit import ToolConfigs


def build(studio: Studio) -> None:
    router = get_router(studio.settings.database_url)
    configs = ToolConfigs(router.config_dir / "tools")

    gr.Markdown("### Models")
    aliases = gr.Dataframe(headers=["alias", "model", "fallbacks", "ready", "detail"],
                           interactive=False, wrap=True, elem_id="models-aliases")
    with gr.Row():
        alias = gr.Dropdown(label="alias", choices=list(router.config.aliases), scale=2,
                            value=next(iter(router.config.aliases), None),
                            elem_id="models-alias")
        test_btn = gr.Button("Test", elem_id="models-test", scale=0)
    test_result = gr.Markdown(elem_id="models-test-result")

    @guarded
    def load_aliases() -> pd.DataFrame:
        ready = {r["alias"]: r for r in service.status(router)}
        return pd.DataFrame([[a["alias"], a["model"], ", ".join(a["fallbacks"]),
                              "✅" if ready[a["alias"]]["ok"] else "⚠",
                              ready[a["alias"]]["detail"]]
                             for a in service.overview(router)["aliases"]],
                            columns=["alias", "model", "fallbacks", "ready", "detail"])

    @guarded
    def test(name: str) -> str:
        r = service.test_alias(router, name)
        speed = (f"{r['tokens_per_s']:.1f} tokens/s, {r['tokens_out']} tokens"
                 if r["tokens_out"] else r["text"])
        return (f"**{name}** → `{r['model']}`: {speed} · load {r['load_s']:.1f} s · "
                f"total {r['seconds']:.1f} s\n\n> {r['text'][:300]}")

    test_btn.click(test, alias, test_result, concurrency_limit=1, concurrency_id="heavy")

    gr.Markdown("### Tool configs")
    with gr.Row():
        tool = gr.Dropdown(label="tool", choices=configs.names(), elem_id="tools-name",
                           value=(configs.names() or [None])[0])
        tool_info = gr.Markdown()
    editor = gr.Code(language="yaml", label="configs/tools/<tool>.yaml", lines=18,
                     elem_id="tools-yaml", interactive=True)
    with gr.Row():
        validate_btn = gr.Button("Validate", elem_id="tools-validate")
        save_btn = gr.Button("Save", variant="primary", elem_id="tools-save")
    tool_status = gr.Markdown(elem_id="tools-status")

    @guarded
    def load_tool(name: str | None) -> tuple[str, str]:
        if not name:
            return "", ""
        path = configs.directory / f"{name}.yaml"
        cfg = configs.get(name)
        return (path.read_text(encoding="utf-8"),
                f"model `{getattr(cfg, 'model', '-')}` · `{path}`")

    @guarded
    def validate(name: str, text: str) -> str:
        cfg = configs.validate_text(name, text)
        return f"✅ Valid ({type(cfg).__name__}, model `{getattr(cfg, 'model', '-')}`)."

    @guarded
    def save(name: str, text: str) -> str:
        configs.validate_text(name, text)  # raises with file, line and field: nothing written
        path = configs.directory / f"{name}.yaml"
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        return f"✅ Saved {path.name}; the tool uses it from its next call."

    tool.change(load_tool, tool, [editor, tool_info])
    validate_btn.click(validate, [tool, editor], tool_status)
    save_btn.click(save, [tool, editor], tool_status)

    gr.on(None, load_aliases, None, aliases)
    gr.on(None, lambda: load_tool(tool.value), None, [editor, tool_info])


page = StudioPage(id="models", title="Models & tools", build=build)
