"""Pipelines: the partitioned assets, which of their partitions are stale and why, and a
backfill of the stale ones (or all) that the Dagster daemon runs — the same service as
`lifeos pipelines` and /api/v1/pipelines."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from apps.studio.base import Page, guarded
from lifeos.errors import BadRequest
from pipelines.backfills import Backfills, Narrow

COLUMNS = ["partition", "why"]


class PipelinesPage(Page):
    id = "pipelines"
    title = "Pipelines"

    @property
    def service(self) -> Backfills:
        return Backfills(self.studio.settings)

    def layout(self) -> None:
        with gr.Row():
            self.asset = gr.Dropdown(
                label="partitioned asset", choices=[], scale=3, elem_id="pipelines-asset"
            )
            self.refresh_btn = gr.Button("↻", size="sm", scale=0, elem_id="pipelines-refresh")
        with gr.Row():  # of assets partitioned by day, and of one value of a dimension
            self.since = gr.Textbox(label="since (YYYY-MM-DD)", elem_id="pipelines-since")
            self.until = gr.Textbox(label="until (YYYY-MM-DD)", elem_id="pipelines-until")
            self.where = gr.Textbox(
                label="where (DIMENSION=VALUE, e.g. schedule=ID)", elem_id="pipelines-where"
            )
        self.summary = gr.Markdown(elem_id="pipelines-summary")
        self.stale = gr.Dataframe(
            headers=COLUMNS, interactive=False, label="stale partitions", elem_id="pipelines-stale"
        )
        with gr.Row():
            self.stale_btn = gr.Button("Backfill the stale ones", elem_id="pipelines-backfill")
            self.all_btn = gr.Button("Backfill all", elem_id="pipelines-backfill-all")
        self.status = gr.Markdown(elem_id="pipelines-status")
        self.backfill_id = gr.State(None)
        self.timer = gr.Timer(3.0, active=False)

    def wire(self) -> None:
        gr.on(None, self.load, None, self.asset)
        picked = [self.asset, self.since, self.until, self.where]
        self.refresh_btn.click(self.show, picked, [self.summary, self.stale])
        self.asset.input(self.show, picked, [self.summary, self.stale])
        started = [self.backfill_id, self.status, self.timer]
        self.stale_btn.click(lambda *a: self.backfill(*a, stale=True), picked, started)
        self.all_btn.click(lambda *a: self.backfill(*a, stale=False), picked, started)
        self.timer.tick(self.watch, self.backfill_id, [self.status, self.timer])

    @guarded
    def load(self) -> Any:
        from pipelines.definitions import current_definitions

        graph = current_definitions(self.studio.settings).resolve_asset_graph()
        names = sorted(
            k.to_user_string()
            for k in graph.get_all_asset_keys()
            if graph.get(k).is_partitioned and graph.get(k).is_materializable
        )
        return gr.update(choices=names)

    @staticmethod
    def _narrow(since: str, until: str, where: str) -> Narrow:
        return Narrow.of(since, until, [w for w in where.replace(",", " ").split() if w])

    @guarded
    def show(
        self, asset: str | None, since: str = "", until: str = "", where: str = ""
    ) -> tuple[str, pd.DataFrame]:
        if not asset:
            return "", pd.DataFrame(columns=COLUMNS)
        narrow = self._narrow(since, until, where)
        stale = self.service.stale(asset, narrow)
        total = len(self.service.partitions(asset, narrow))
        summary = (
            f"**{asset}**: {len(stale)} of {total} partitions to make again"
            if stale
            else f"**{asset}**: all {total} partitions are up to date"
        )
        return summary, pd.DataFrame(sorted(stale.items()), columns=COLUMNS)

    @guarded
    def backfill(
        self, asset: str | None, since: str, until: str, where: str, *, stale: bool
    ) -> tuple[Any, ...]:
        if not asset:
            raise BadRequest("pick an asset first")
        started = self.service.launch(
            asset,
            stale=stale,
            all_partitions=not stale,
            narrow=self._narrow(since, until, where),
            source="studio",
        )
        daemon = "" if started["daemon_running"] else " — the Dagster daemon is not running yet"
        return (
            started["backfill_id"],
            f"Backfill `{started['backfill_id']}`: {len(started['partitions'])} partitions, "
            f"requested{daemon}",
            gr.Timer(active=True),
        )

    @guarded
    def watch(self, backfill_id: str | None) -> tuple[Any, ...]:
        if not backfill_id:
            return gr.skip(), gr.Timer(active=False)
        state = self.service.get(backfill_id)
        counts: dict[str, int] = {}
        for status in state["by_partition"].values():
            counts[status] = counts.get(status, 0) + 1
        runs = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no runs yet"
        link = f"[Dagster UI]({self.studio.settings.dagster_ui_url}/runs/b/{backfill_id})"
        return (
            f"Backfill `{backfill_id}`: **{state['status']}** · {runs} · {link}",
            gr.Timer(active=not state["done"]),
        )
