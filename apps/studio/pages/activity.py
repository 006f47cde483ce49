"""Activity: the latest model calls from the ledger (cost, tokens, latency) with links to the
Dagster runs they belong to."""

from __future__ import annotations

import gradio as gr
import polars as pl

from apps.studio.base import Studio, StudioPage, guarded
from lifeos.analytics import tool_calls_frame, usage_by

LATEST = 100


def build(studio: Studio) -> None:
    with gr.Row():
        summary = gr.Markdown(elem_id="activity-summary")
        refresh_btn = gr.Button("↻ refresh", size="sm", scale=0, elem_id="activity-refresh")
    by_tool = gr.Dataframe(label="by tool (latest calls)", interactive=False,
                           elem_id="activity-by-tool")
    calls = gr.Markdown(elem_id="activity-calls")

    @guarded
    def load() -> tuple[str, object, str]:
        frame = tool_calls_frame(studio.settings.database_url, latest=LATEST)
        if not frame.height:
            return ("No model calls yet: ask a rules question or run a tool.", None, "")
        usage = usage_by(frame, "tool").select(
            "tool", "calls", "failed", "tokens_in", "tokens_out",
            pl.col("latency_p50_ms").round(0), pl.col("cost_usd").round(4))
        rows = ["| when (UTC) | tool | model | tokens in/out | latency | cost | run |",
                "|---|---|---|---|---|---|---|"]
        for r in frame.iter_rows(named=True):
            run = (f"[{r['run_id'][:8]}]({studio.dagster_run_url(r['run_id'])})"
                   if r["run_id"] else "")
            status = "" if r["ok"] else " ⚠ " + (r["error"] or "failed")[:60]
            rows.append(f"| {r['created_at']:%Y-%m-%d %H:%M:%S} | {r['tool']}{status} | "
                        f"{r['model']} | {r['tokens_in']}/{r['tokens_out']} | "
                        f"{r['latency_ms']:.0f} ms | ${r['cost_usd']:.4f} | {run} |")
        total = (f"**{frame.height}** latest calls · {int(frame['tokens_in'].sum())} tokens in, "
                 f"{int(frame['tokens_out'].sum())} out · ${frame['cost_usd'].sum():.4f} · "
                 f"[Dagster runs]({studio.settings.dagster_ui_url}/runs)")
        return total, usage.to_pandas(), "\n".join(rows)

    refresh_btn.click(load, None, [summary, by_tool, calls])
    gr.on(None, load, None, [summary, by_tool, calls])


page = StudioPage(id="activity", title="Activity", build=build)
