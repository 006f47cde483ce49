"""Schedules: create and edit scheduled generations with a cron helper (the next 5 run times),
pause, run now, history, a gallery of results, and notifications with an unread count."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import pandas as pd

from apps.studio.base import Studio, StudioPage, guarded

COLUMNS = ["name", "cron", "zone", "state", "next run", "id"]
TICK_COLUMNS = ["tick", "status", "images", "seconds", "reason"]
EXAMPLE_SPACE = {
    "slots": [{"kind": "character", "favorites_only": True}, {"kind": "outfit"},
              {"kind": "art_style"}],
    "text": ["in __place__"], "styles": [], "count": 4, "width": 512, "height": 512,
    "steps": 20, "weights": {"favorite": 3.0, "recent": 0.25, "recent_days": 7}}


def build(studio: Studio) -> None:
    from tools.schedules.service import next_runs, schedule_services

    service = schedule_services(studio.settings)
    ids = gr.State([])
    current = gr.State(None)

    with gr.Row():
        unread = gr.Markdown(elem_id="schedules-unread")
        read_btn = gr.Button("mark all read", size="sm", scale=0, elem_id="schedules-read")
    notes = gr.Markdown(elem_id="schedules-notifications")
    table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="schedules-table")
    with gr.Row():
        with gr.Column(scale=3):
            name = gr.Textbox(label="name", elem_id="schedule-name")
            with gr.Row():
                cron = gr.Textbox(label="cron (minute hour day month weekday)",
                                  value="0 7 * * *", elem_id="schedule-cron")
                zone = gr.Textbox(label="time zone", value="UTC", elem_id="schedule-zone")
                enabled = gr.Checkbox(label="enabled", value=True, elem_id="schedule-enabled")
            space = gr.Code(value=json.dumps(EXAMPLE_SPACE, indent=2), language="json",
                            label="what each tick draws (parameter space)",
                            elem_id="schedule-space")
            with gr.Row():
                per_run = gr.Code(value='{"max_images": 4}', language="json",
                                  label="budget per run", elem_id="schedule-per-run")
                per_day = gr.Code(value="{}", language="json", label="budget per day",
                                  elem_id="schedule-per-day")
        with gr.Column(scale=2):
            helper = gr.Markdown(elem_id="schedule-next")
    with gr.Row():
        new_btn = gr.Button("New", size="sm", elem_id="schedule-new")
        save_btn = gr.Button("Save", variant="primary", elem_id="schedule-save")
        toggle_btn = gr.Button("Pause / resume", elem_id="schedule-toggle")
        run_btn = gr.Button("Run now", elem_id="schedule-run")
    status = gr.Markdown(elem_id="schedule-status")
    history = gr.Dataframe(headers=TICK_COLUMNS, interactive=False, label="history",
                           elem_id="schedule-history")
    from resources.images import TEST_MODEL_NOTE

    gallery = gr.Gallery(label="results" + (f" — {TEST_MODEL_NOTE}" if service.images.generator
                                            .is_test_model else ""),
                         columns=6, height=220, elem_id="schedule-gallery")

    @guarded
    def cron_help(expr: str, tz: str) -> str:
        try:
            times = next_runs((expr or "").strip(), (tz or "UTC").strip(), n=5)
        except Exception as exc:  # noqa: BLE001 - shown as the helper's message
            return f"⚠ {getattr(exc, 'message', None) or exc}"
        return "**Next 5 runs**\n\n" + "\n".join(f"- {t:%a %Y-%m-%d %H:%M %Z}" for t in times)

    gr.on([cron.change, zone.change], cron_help, [cron, zone], helper,
          trigger_mode="always_last", show_progress="hidden")

    @guarded
    def load() -> tuple[Any, ...]:
        with studio.store() as store:
            items = store.list("schedule", {"limit": 200, "sort": "name"}).items
        rows = []
        for e in items:
            try:
                nxt = f"{next_runs(e.data['cron'], e.data['timezone'], n=1)[0]:%Y-%m-%d %H:%M %Z}"
            except Exception:  # noqa: BLE001
                nxt = "?"
            rows.append([e.name, e.data["cron"], e.data["timezone"],
                         "enabled" if e.data["enabled"] else "paused", nxt, e.id])
        items_n = service.notifications(limit=8)
        count = service.unread()
        icon = {"success": "✅", "warning": "⚠", "error": "❌"}
        notes_md = "\n".join(f"- {icon.get(n['level'], '•')} {n['title']}"
                             f"{' — ' + n['body'] if n['body'] else ''} "
                             f"<sub>{n['created_at'][:16]}</sub>"
                             f"{'' if n['read'] else ' **new**'}" for n in items_n)
        return (pd.DataFrame(rows, columns=COLUMNS), [r[-1] for r in rows],
                f"### Notifications: {count} unread", notes_md)

    listing = [table, ids, unread, notes]

    def show(schedule_id: str | None) -> tuple[Any, ...]:
        if not schedule_id:
            return (None, "", "0 7 * * *", "UTC", True, json.dumps(EXAMPLE_SPACE, indent=2),
                    '{"max_images": 4}', "{}", pd.DataFrame(columns=TICK_COLUMNS), [])
        with studio.store() as store:
            e = store.get("schedule", schedule_id)
        ticks = service.history(schedule_id, limit=50)
        rows = [[t["tick_at"][:16].replace("T", " ") + (" (manual)" if t["manual"] else ""),
                 t["status"], t["images"], t["duration_s"], t["reason"][:80]] for t in ticks]
        images = [i for t in ticks for i in t["image_ids"]][:48]
        pictures = []
        for image_id in images:
            try:
                pictures.append(str(service.images.image_file(image_id)))
            except Exception:  # noqa: BLE001 - a deleted image is simply not shown
                continue
        d = e.data
        return (e.id, e.name, d["cron"], d["timezone"], d["enabled"],
                json.dumps(d["params"], indent=2), json.dumps(d["per_run"]),
                json.dumps(d["per_day"]), pd.DataFrame(rows, columns=TICK_COLUMNS), pictures)

    form = [current, name, cron, zone, enabled, space, per_run, per_day, history, gallery]

    @guarded
    def pick(all_ids: list[str], evt: gr.SelectData) -> tuple[Any, ...]:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        return show(all_ids[row])

    table.select(pick, ids, form)
    new_btn.click(guarded(lambda: show(None)), None, form)

    def _json(text: str, what: str) -> Any:
        try:
            return json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise gr.Error(f"{what}: not valid JSON ({exc.msg}, line {exc.lineno})") from None

    @guarded
    def save(schedule_id: str | None, name_v: str, cron_v: str, zone_v: str, enabled_v: bool,
             space_v: str, run_v: str, day_v: str) -> tuple[Any, ...]:
        from lifeos.default_plugins.kinds import ImageBatchSpace
        from lifeos.kinds import get_registry

        if not (name_v or "").strip():
            raise gr.Error("Give the schedule a name.")
        data = get_registry().get("schedule").validate({
            "cron": cron_v.strip(), "timezone": zone_v.strip(), "enabled": enabled_v,
            "params": _json(space_v, "parameter space"), "per_run": _json(run_v, "per run"),
            "per_day": _json(day_v, "per day")})
        with studio.store() as store:
            service.check_space(store, ImageBatchSpace.model_validate(data["params"]))
            if schedule_id:
                saved = store.update("schedule", schedule_id, {"name": name_v, "data": data})
            else:
                saved = store.create("schedule", {"name": name_v, "data": data})
        return (*show(saved.id), f"✅ Saved {saved.name} (revision {saved.revision}).")

    save_btn.click(save, form[:8], [*form, status]).then(load, None, listing)

    @guarded
    def toggle(schedule_id: str | None) -> tuple[Any, ...]:
        if not schedule_id:
            raise gr.Error("Select a schedule first.")
        with studio.store() as store:
            e = store.get("schedule", schedule_id)
            store.update("schedule", schedule_id, {"data": {"enabled": not e.data["enabled"]}})
        return (*show(schedule_id), "▶ resumed" if not e.data["enabled"] else "⏸ paused")

    toggle_btn.click(toggle, current, [*form, status]).then(load, None, listing)

    def run_now(schedule_id: str | None) -> tuple[Any, ...]:
        from pipelines.runs import generate_batch

        if not schedule_id:
            raise gr.Error("Select a schedule first.")
        due = service.run_now(schedule_id, queue=False)
        if due is not None:
            generate_batch(studio.settings, due.batch_id, source="schedule")
        service.reconcile()
        last = service.history(schedule_id, limit=1)[0]
        return (*show(schedule_id),
                f"Run now: {last['status']}, {last['images']} images {last['reason']}")

    run_btn.click(guarded(run_now), current, [*form, status], concurrency_limit=1,
                  concurrency_id="heavy").then(load, None, listing)

    @guarded
    def mark_read() -> None:
        service.mark_read()

    read_btn.click(mark_read, None, None).then(load, None, listing)
    gr.on(None, lambda: (*load(), cron_help("0 7 * * *", "UTC")), None, [*listing, helper])


page = StudioPage(id="schedules", title="Schedules", build=build)
