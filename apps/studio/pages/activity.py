"""Activity: a live panel of this server (requests/s, p95, errors from the same metrics
`/metrics` serves; tokens and cost today from the ledger), and the latest model calls from the
ledger (cost, tokens, latency) with links to the Dagster runs they belong to."""

from __future__ import annotations

import collections
import threading
from typing import Any

import gradio as gr
import pandas as pd
import polars as pl

from apps.studio.base import Page, guarded
from lifeos.analytics import tool_calls_frame, usage_by
from lifeos.ledger import Ledger, start_of_day
from lifeos.metrics import http_snapshot, quantile

LATEST = 100
LIVE_POINTS = 60  # five minutes of 5-second samples
LIVE_COLUMNS = ["time", "series", "value"]


class Live:
    """Samples of this process's HTTP metrics turned into rates: requests/s, errors/s and the
    p95 of the requests between two samples. One per studio (they are the server's numbers,
    whichever tab asks)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last: dict[str, Any] | None = None
        self.points: collections.deque[tuple[pd.Timestamp, float, float | None, float]] = (
            collections.deque(maxlen=LIVE_POINTS)
        )

    def sample(self) -> tuple[float, float | None, float]:
        now = http_snapshot()
        with self.lock:
            last, self.last = self.last, now
            if last is None or now["at"] - last["at"] < 0.5:
                return self.points[-1][1:] if self.points else (0.0, None, 0.0)
            dt = now["at"] - last["at"]
            rps = (now["requests"] - last["requests"]) / dt
            eps = (now["errors"] - last["errors"]) / dt
            delta = {le: n - last["buckets"].get(le, 0.0) for le, n in now["buckets"].items()}
            p95 = quantile(0.95, delta)
            p95_ms = None if p95 is None else p95 * 1000
            self.points.append((pd.Timestamp(now["at"], unit="s"), rps, p95_ms, eps))
            return rps, p95_ms, eps

    def frame(self) -> pd.DataFrame:
        with self.lock:
            rows = [
                row
                for at, rps, p95, eps in self.points
                for row in (
                    (at, "requests/s", rps),
                    (at, "p95 ms", p95 if p95 is not None else 0.0),
                    (at, "errors/s", eps),
                )
            ]
        return pd.DataFrame(rows, columns=LIVE_COLUMNS)


class ActivityPage(Page):
    id = "activity"
    title = "Activity"

    def layout(self) -> None:
        self.live = Live()
        self.live_numbers = gr.Markdown(elem_id="activity-live")
        self.live_plot = gr.LinePlot(
            pd.DataFrame(columns=LIVE_COLUMNS),
            x="time",
            y="value",
            color="series",
            label="this server, the last five minutes (the studio's own calls left out)",
            height=220,
            elem_id="activity-live-plot",
        )
        self.live_timer = gr.Timer(5.0)
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
        live = [self.live_numbers, self.live_plot]
        gr.on(None, self.tick, None, live)
        self.live_timer.tick(self.tick, None, live)

    @guarded
    def tick(self) -> tuple[str, pd.DataFrame]:
        rps, p95, eps = self.live.sample()
        tokens, cost = Ledger(self.studio.settings.database_url).totals(since=start_of_day())
        p95_text = f"{p95:.0f} ms" if p95 is not None else "–"
        numbers = (
            f"**live** · {rps:.1f} requests/s · p95 {p95_text} · {eps:.2f} errors/s · "
            f"today: {tokens:,} tokens, ${cost:.4f}"
        )
        return numbers, self.live.frame()

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
