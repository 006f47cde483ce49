"""Schedules: create and edit scheduled generations with a cron helper (the next 5 run times),
pause, run now, history, a gallery of results, and notifications with an unread count."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import pandas as pd

from apps.studio.base import HEAVY, Page, Studio, guarded, not_json, selected
from lifeos.schemas import EntityOut

COLUMNS = ["name", "cron", "zone", "state", "next run", "id"]
TICK_COLUMNS = ["tick", "status", "images", "seconds", "reason"]
EXAMPLE_SPACE = {
    "slots": [
        {"kind": "character", "favorites_only": True},
        {"kind": "outfit"},
        {"kind": "art_style"},
    ],
    "text": ["in __place__"],
    "styles": [],
    "count": 4,
    "width": 512,
    "height": 512,
    "steps": 20,
    "weights": {"favorite": 3.0, "recent": 0.25, "recent_days": 7},
}
DEFAULT_CRON, DEFAULT_ZONE = "0 7 * * *", "UTC"
DEFAULT_PER_RUN, DEFAULT_PER_DAY = '{"max_images": 4}', "{}"
NOTE_ICONS = {"success": "✅", "warning": "⚠", "error": "❌"}


class SchedulesPage(Page):
    id = "schedules"
    title = "Schedules"

    def __init__(self, studio: Studio) -> None:
        from plugins.images.tools.schedules import schedule_services

        super().__init__(studio)
        self.service = schedule_services(studio.settings)

    def layout(self) -> None:
        self.ids = gr.State([])
        self.current = gr.State(None)
        with gr.Row():
            self.unread = gr.Markdown(elem_id="schedules-unread")
            self.read_btn = gr.Button("mark all read", size="sm", scale=0, elem_id="schedules-read")
        self.notes = gr.Markdown(elem_id="schedules-notifications")
        self.table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="schedules-table")
        with gr.Row():
            with gr.Column(scale=3):
                self._layout_form()
            with gr.Column(scale=2):
                self.helper = gr.Markdown(elem_id="schedule-next")
        with gr.Row():
            self.new_btn = gr.Button("New", size="sm", elem_id="schedule-new")
            self.save_btn = gr.Button("Save", variant="primary", elem_id="schedule-save")
            self.toggle_btn = gr.Button("Pause / resume", elem_id="schedule-toggle")
            self.run_btn = gr.Button("Run now", elem_id="schedule-run")
        self.status = gr.Markdown(elem_id="schedule-status")
        self._layout_results()

    def _layout_form(self) -> None:
        self.name = gr.Textbox(label="name", elem_id="schedule-name")
        with gr.Row():
            self.cron = gr.Textbox(
                label="cron (minute hour day month weekday)",
                value=DEFAULT_CRON,
                elem_id="schedule-cron",
            )
            self.zone = gr.Textbox(label="time zone", value=DEFAULT_ZONE, elem_id="schedule-zone")
            self.enabled = gr.Checkbox(label="enabled", value=True, elem_id="schedule-enabled")
        self.space = gr.Code(
            value=json.dumps(EXAMPLE_SPACE, indent=2),
            language="json",
            label="what each tick draws (parameter space)",
            elem_id="schedule-space",
        )
        with gr.Row():
            self.per_run = gr.Code(
                value=DEFAULT_PER_RUN,
                language="json",
                label="budget per run",
                elem_id="schedule-per-run",
            )
            self.per_day = gr.Code(
                value=DEFAULT_PER_DAY,
                language="json",
                label="budget per day",
                elem_id="schedule-per-day",
            )

    def _layout_results(self) -> None:
        from plugins.images.resources.generators import TEST_MODEL_NOTE

        self.history = gr.Dataframe(
            headers=TICK_COLUMNS, interactive=False, label="history", elem_id="schedule-history"
        )
        test_model = self.service.images.generator.is_test_model
        self.gallery = gr.Gallery(
            label="results" + (f" — {TEST_MODEL_NOTE}" if test_model else ""),
            columns=6,
            height=220,
            elem_id="schedule-gallery",
        )

    def wire(self) -> None:
        gr.on(
            [self.cron.change, self.zone.change],
            self.cron_help,
            [self.cron, self.zone],
            self.helper,
            trigger_mode="always_last",
            show_progress="hidden",
        )
        listing = [self.table, self.ids, self.unread, self.notes]
        form = [self.current, self.name, self.cron, self.zone, self.enabled, self.space]
        form += [self.per_run, self.per_day, self.history, self.gallery]
        self.table.select(self.pick, self.ids, form)
        self.new_btn.click(guarded(lambda: self.show(None)), None, form)
        self.save_btn.click(self.save, form[:8], [*form, self.status]).then(
            self.load, None, listing
        )
        self.toggle_btn.click(self.toggle, self.current, [*form, self.status]).then(
            self.load, None, listing
        )
        self.run_btn.click(self.run_now, self.current, [*form, self.status], **HEAVY).then(
            self.load, None, listing
        )
        self.read_btn.click(self.mark_read, None, None).then(self.load, None, listing)
        gr.on(
            None,
            lambda: (*self.load(), self.cron_help(DEFAULT_CRON, DEFAULT_ZONE)),
            None,
            [*listing, self.helper],
        )

    # ---- the list and the notifications --------------------------------------------------------
    @guarded
    def cron_help(self, expr: str, tz: str) -> str:
        from plugins.images.tools.schedules import next_runs

        try:
            times = next_runs((expr or "").strip(), (tz or "UTC").strip(), n=5)
        except Exception as exc:  # noqa: BLE001 - shown as the helper's message
            return f"⚠ {getattr(exc, 'message', None) or exc}"
        return "**Next 5 runs**\n\n" + "\n".join(f"- {t:%a %Y-%m-%d %H:%M %Z}" for t in times)

    @guarded
    def load(self) -> tuple[Any, ...]:
        with self.studio.store() as store:
            items = store.list("schedule", {"limit": 200, "sort": "name"}).items
        rows = [self._row(e) for e in items]
        notes_md = "\n".join(
            f"- {NOTE_ICONS.get(n['level'], '•')} {n['title']}"
            f"{' — ' + n['body'] if n['body'] else ''} "
            f"<sub>{n['created_at'][:16]}</sub>"
            f"{'' if n['read'] else ' **new**'}"
            for n in self.service.notifications(limit=8)
        )
        return (
            pd.DataFrame(rows, columns=COLUMNS),
            [r[-1] for r in rows],
            f"### Notifications: {self.service.unread()} unread",
            notes_md,
        )

    def _row(self, e: EntityOut) -> list[Any]:
        from plugins.images.tools.schedules import next_runs

        try:
            nxt = f"{next_runs(e.data['cron'], e.data['timezone'], n=1)[0]:%Y-%m-%d %H:%M %Z}"
        except Exception:  # noqa: BLE001
            nxt = "?"
        state = "enabled" if e.data["enabled"] else "paused"
        return [e.name, e.data["cron"], e.data["timezone"], state, nxt, e.id]

    @guarded
    def mark_read(self) -> None:
        self.service.mark_read()

    # ---- one schedule --------------------------------------------------------------------------
    def show(self, schedule_id: str | None) -> tuple[Any, ...]:
        """The form's values: the schedule's, or a new one's."""
        if not schedule_id:
            return (
                None,
                "",
                DEFAULT_CRON,
                DEFAULT_ZONE,
                True,
                json.dumps(EXAMPLE_SPACE, indent=2),
                DEFAULT_PER_RUN,
                DEFAULT_PER_DAY,
                pd.DataFrame(columns=TICK_COLUMNS),
                [],
            )
        with self.studio.store() as store:
            e = store.get("schedule", schedule_id)
        d = e.data
        return (
            e.id,
            e.name,
            d["cron"],
            d["timezone"],
            d["enabled"],
            json.dumps(d["params"], indent=2),
            json.dumps(d["per_run"]),
            json.dumps(d["per_day"]),
            *self._history(schedule_id),
        )

    def _history(self, schedule_id: str) -> tuple[pd.DataFrame, list[str]]:
        """The schedule's ticks, and the pictures they made (a deleted one is left out)."""
        ticks = self.service.history(schedule_id, limit=50)
        rows = [
            [
                t["tick_at"][:16].replace("T", " ") + (" (manual)" if t["manual"] else ""),
                t["status"],
                t["images"],
                t["duration_s"],
                t["reason"][:80],
            ]
            for t in ticks
        ]
        images = [i for t in ticks for i in t["image_ids"]][:48]
        pictures = []
        for image_id in images:
            try:
                pictures.append(str(self.service.images.image_file(image_id)))
            except Exception:  # noqa: BLE001, S112 - a deleted image is simply not shown
                continue
        return pd.DataFrame(rows, columns=TICK_COLUMNS), pictures

    @guarded
    def pick(self, all_ids: list[str], evt: gr.SelectData) -> tuple[Any, ...]:
        schedule_id = selected(all_ids, evt)
        if schedule_id is None:
            return tuple(gr.skip() for _ in range(10))
        return self.show(schedule_id)

    @guarded
    def save(
        self,
        schedule_id: str | None,
        name_v: str,
        cron_v: str,
        zone_v: str,
        enabled_v: bool,
        space_v: str,
        run_v: str,
        day_v: str,
    ) -> tuple[Any, ...]:
        from lifeos.kinds import get_registry
        from plugins.images.kinds import ImageBatchSpace

        if not (name_v or "").strip():
            raise gr.Error("Give the schedule a name.")
        data = (
            get_registry()
            .get("schedule")
            .validate(
                {
                    "cron": cron_v.strip(),
                    "timezone": zone_v.strip(),
                    "enabled": enabled_v,
                    "params": _json(space_v, "parameter space"),
                    "per_run": _json(run_v, "per run"),
                    "per_day": _json(day_v, "per day"),
                }
            )
        )
        with self.studio.store() as store:
            self.service.check_space(store, ImageBatchSpace.model_validate(data["params"]))
            if schedule_id:
                saved = store.update("schedule", schedule_id, {"name": name_v, "data": data})
            else:
                saved = store.create("schedule", {"name": name_v, "data": data})
        return (*self.show(saved.id), f"✅ Saved {saved.name} (revision {saved.revision}).")

    @guarded
    def toggle(self, schedule_id: str | None) -> tuple[Any, ...]:
        if not schedule_id:
            raise gr.Error("Select a schedule first.")
        with self.studio.store() as store:
            e = store.get("schedule", schedule_id)
            store.update("schedule", schedule_id, {"data": {"enabled": not e.data["enabled"]}})
        return (*self.show(schedule_id), "▶ resumed" if not e.data["enabled"] else "⏸ paused")

    @guarded
    def run_now(self, schedule_id: str | None) -> tuple[Any, ...]:
        from plugins.images.pipelines import generate_batch

        if not schedule_id:
            raise gr.Error("Select a schedule first.")
        due = self.service.run_now(schedule_id, queue=False)
        if due is not None:
            generate_batch(self.studio.settings, due.batch_id, source="schedule")
        self.service.reconcile()
        last = self.service.history(schedule_id, limit=1)[0]
        return (
            *self.show(schedule_id),
            f"Run now: {last['status']}, {last['images']} images {last['reason']}",
        )


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise gr.Error(f"{what}: {not_json(exc)}") from None
