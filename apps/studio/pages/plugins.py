"""Plugins: every plugin found, what it provides, its health and why it is off; turn one off,
on or reload it while the studio runs (the same host the API and the CLI use)."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import pandas as pd

from apps.studio.base import Page, guarded, not_json, selected

COLUMNS = ["plugin", "version", "status", "provides", "why not loaded"]


def _provides(info: dict[str, Any]) -> str:
    provided = info["registered"] or {k: v for k, v in info["provides"].items() if v}
    return "; ".join(f"{len(v)} {k}" for k, v in provided.items())


def _details(info: dict[str, Any]) -> str:
    lines = [
        f"### {info['name']} {info['version'] or ''} · {info['status']}",
        info["description"] or "",
        f"- **health**: {info['health']}",
        f"- **from**: {info['origin']}",
        f"- **supports Life-OS** {info['core']}" if info["core"] else "",
        f"- **requires**: {', '.join(info['requires'])}" if info["requires"] else "",
        f"- **builds on**: {', '.join(info['depends'])}" if info["depends"] else "",
    ]
    for what, names in (info["registered"] or info["provides"]).items():
        if names:
            lines.append(f"- **{what}**: {', '.join(names)}")
    return "\n".join(line for line in lines if line)


class PluginsPage(Page):
    id = "plugins"
    title = "Plugins"

    def layout(self) -> None:
        self.names = gr.State([])  # plugin names on the rows shown
        self.chosen = gr.State(None)
        with gr.Row():
            self.summary = gr.Markdown(elem_id="plugins-summary")
            self.refresh_btn = gr.Button("↻ refresh", size="sm", scale=0, elem_id="plugins-refresh")
        self.table = gr.Dataframe(
            headers=COLUMNS, interactive=False, wrap=True, elem_id="plugins-table"
        )
        self.details = gr.Markdown("_Select a plugin._", elem_id="plugins-details")
        with gr.Row():
            self.enable_btn = gr.Button("Enable", elem_id="plugins-enable")
            self.disable_btn = gr.Button("Disable", variant="stop", elem_id="plugins-disable")
            self.reload_btn = gr.Button("Reload", elem_id="plugins-reload")
        self.status = gr.Markdown(elem_id="plugins-status")
        with gr.Accordion("Settings", open=True, elem_id="plugins-settings-box"):
            self.settings_help = gr.Markdown(
                "_A plugin's own settings show here when it has some._",
                elem_id="plugins-settings-help",
            )
            self.settings = gr.Code(
                language="json", lines=8, interactive=True, elem_id="plugins-settings"
            )
            self.save_btn = gr.Button("Save settings", elem_id="plugins-settings-save")

    def wire(self) -> None:
        listing = [self.table, self.summary, self.names]
        gr.on(None, self.listing, None, listing)
        self.refresh_btn.click(self.listing, None, listing)
        self.table.select(self.pick, self.names, [self.chosen, self.details]).then(
            self.show_settings, self.chosen, [self.settings, self.settings_help]
        )
        self.save_btn.click(self.save_settings, [self.chosen, self.settings], self.status)
        for button, action in (
            (self.enable_btn, "enable"),
            (self.disable_btn, "disable"),
            (self.reload_btn, "reload"),
        ):
            button.click(
                guarded(lambda name, action=action: self.act(action, name)),
                self.chosen,
                [self.details, self.status],
            ).then(self.listing, None, listing)

    @guarded
    def listing(self) -> tuple[pd.DataFrame, str, list[str]]:
        plugins = self.studio.plugins.overview()
        rows = [
            [p["name"], p["version"] or "", p["status"], _provides(p), p["reason"] or ""]
            for p in plugins
        ]
        loaded = sum(p["status"] == "loaded" for p in plugins)
        summary = f"**{len(plugins)}** plugins · {loaded} loaded"
        return pd.DataFrame(rows, columns=COLUMNS), summary, [p["name"] for p in plugins]

    def pick(self, names: list[str], evt: gr.SelectData) -> tuple[Any, Any]:
        name = selected(names, evt)
        if name is None:
            return gr.skip(), gr.skip()
        return name, _details(self.studio.plugins.info(name))

    def act(self, action: str, name: str | None) -> tuple[str, str]:
        if not name:
            raise gr.Error("Select a plugin first.")
        info = getattr(self.studio.plugins, action)(name)
        done = {"enable": "enabled", "disable": "turned off", "reload": "reloaded"}[action]
        note = "" if info["status"] == "loaded" or action == "disable" else f": {info['reason']}"
        return _details(self.studio.plugins.info(name)), f"{name} {done}{note}."

    @guarded
    def show_settings(self, name: str | None) -> tuple[Any, str]:
        if not name or name not in self.studio.plugins.registries.settings:
            return "", f"_{name or 'This plugin'} has no settings._"
        info = self.studio.plugins.settings_info(name)
        fields = info["schema"].get("properties", {})
        described = [
            f"- `{key}`: {spec.get('description', spec.get('type', ''))}"
            for key, spec in fields.items()
        ]
        text = json.dumps(info["values"], indent=2, ensure_ascii=False)
        return text, f"**{name}** settings (JSON):\n" + "\n".join(described)

    @guarded
    def save_settings(self, name: str | None, text: str) -> str:
        if not name:
            raise gr.Error("Select a plugin first.")
        try:
            values = json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise gr.Error(f"The settings are {not_json(exc)}.") from None
        if not isinstance(values, dict):
            raise gr.Error('The settings are a JSON object: {"key": value, ...}.')
        self.studio.plugins.set_settings(name, values)
        return f"{name}: settings saved."
