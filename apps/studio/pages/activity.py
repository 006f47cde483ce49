"""Activity: the latest model calls from the ledger (cost, tokens, latency) with links to the
Dagster runs they belong to."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd
import polars as pl

from apps.studio.base import Page, guarded
from lifeos.analytics import tool_calls_frame, usage_by

LATEST = 100


class ActivityPage(Page):
    id = "activity"
    title = "Activity"

    def layout(self) -> None:
        with gr.Row():
            self.summary = gr.Markdown(elem_id="activity-summary")
            self.refresh_btn = gr.Button(
                "↻ refresh", size="sm", scale=0, elem_id="activity-refresh"
            )
        self.by_tool = gr.Dataframe(
            label="by tool (latest calls)", interactive=False, elem_id="activity-by-tool"
        )
        self.calls = gr.Markdown(elem_id="activity-calls")

    def wire(self) -> None:
        outputs = [self.summary, self.by_tool, self.calls]
        self.refresh_btn.click(self.load, None, outputs)
        gr.on(None, self.load, None, outputs)

    @guarded
    def load(self) -> tuple[str, pd.DataFrame | None, str]:
        frame = tool_calls_frame(self.studio.settings.database_url, latest=LATEST)
        if not frame.height:
            return ("No model calls yet: ask a rules question or run a tool.", None, "")
        usage = usage_by(frame, "tool").select(
            "tool",
            "calls",
            "failed",
            "tokens_in",
            "tokens_out",
            pl.col("latency_p50_ms").round(0),
            pl.col("cost_usd").round(4),
        )
        rows = [
            "| when (UTC) | tool | model | tokens in/out | latency | cost | run |",
            "|---|---|---|---|---|---|---|",
        ]
        rows += [self._row(r) for r in frame.iter_rows(named=True)]
        total = (
            f"**{frame.height}** latest calls · {int(frame['tokens_in'].sum())} tokens in, "
            f"{int(frame['tokens_out'].sum())} out · ${frame['cost_usd'].sum():.4f} · "
            f"[Dagster runs]({self.studio.settings.dagster_ui_url}/runs)"
        )
        return total, usage.to_pandas(), "\n".join(rows)

    def _row(self, r: dict[str, Any]) -> str:
        """One call as a Markdown table row."""
        run_id = r["run_id"]
        run = f"[{run_id[:8]}]({self.studio.dagster_run_url(run_id)})" if run_id else ""
        status = "" if r["ok"] else " ⚠ " + (r["error"] or "failed")[:60]
        return (
            f"| {r['created_at']:%Y-%m-%d %H:%M:%S} | {r['tool']}{status} | "
            f"{r['model']} | {r['tokens_in']}/{r['tokens_out']} | "
            f"{r['latency_ms']:.0f} ms | ${r['cost_usd']:.4f} | {run} |"
        )
