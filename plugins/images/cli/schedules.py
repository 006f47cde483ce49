"""`lifeos schedules ...`: generations that run by themselves (cron, budgets, history)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from apps.cli.common import console, emit_json, read_json_arg, settings, store, want_json
from lifeos.kinds import get_registry
from plugins.images.kinds import ImageBatchSpace

app = typer.Typer(
    help="Scheduled generations: cron schedules run by the Dagster daemon.", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _services():  # noqa: ANN202
    from plugins.images.tools.schedules import schedule_services

    return schedule_services(settings())


def _save(name: str | None, schedule_id: str | None, fields: dict[str, Any]) -> Any:
    """Create or update through the generic store, then the checks a schema cannot make
    (tags and ids that exist); a schedule that fails them is not kept."""

    service = _services()
    with store() as s:
        if schedule_id:
            current = s.get("schedule", schedule_id)
            data = {**current.data, **{k: v for k, v in fields.items() if v is not None}}
        else:
            data = {k: v for k, v in fields.items() if v is not None}
        data = get_registry().get("schedule").validate(data)  # cron, zone, budgets, space
        service.check_space(s, ImageBatchSpace.model_validate(data["params"]))
        if schedule_id:
            return s.update(
                "schedule", schedule_id, {"data": data, **({"name": name} if name else {})}
            )
        return s.create("schedule", {"name": name, "data": data})


@app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """Schedules with their next run times."""
    from plugins.images.tools.schedules import next_runs

    want_json(as_json)
    with store() as s:
        items = s.list("schedule", {"limit": 200, "sort": "name"}).items
    rows = [
        {
            "id": e.id,
            "name": e.name,
            "cron": e.data["cron"],
            "timezone": e.data["timezone"],
            "enabled": e.data["enabled"],
            "next": [t.isoformat() for t in next_runs(e.data["cron"], e.data["timezone"], n=1)],
        }
        for e in items
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "name", "cron", "zone", "enabled", "next run")
    for r in rows:
        table.add_row(
            r["id"][:8],
            r["name"],
            r["cron"],
            r["timezone"],
            "yes" if r["enabled"] else "paused",
            r["next"][0][:16],
        )
    console.print(table)


@app.command()
def add(
    name: str,
    cron: Annotated[str, typer.Option(help="five-field cron, e.g. '0 7 * * *'")],
    params: Annotated[str, typer.Option(help="parameter space as JSON or @file.json")],
    timezone: str = "UTC",
    per_run: Annotated[str | None, typer.Option(help='budget JSON, e.g. {"max_images": 4}')] = None,
    per_day: Annotated[str | None, typer.Option(help="budget JSON")] = None,
    paused: bool = False,
    as_json: JsonFlag = False,
) -> None:
    """Add a schedule (checked: cron, time zone, kinds, tags, styles, budgets)."""
    want_json(as_json)
    entity = _save(
        name,
        None,
        {
            "cron": cron,
            "timezone": timezone,
            "enabled": not paused,
            "params": read_json_arg(params),
            "per_run": read_json_arg(per_run) if per_run else None,
            "per_day": read_json_arg(per_day) if per_day else None,
        },
    )
    _print(entity, as_json)


@app.command()
def edit(
    schedule_id: str,
    name: str | None = None,
    cron: str | None = None,
    timezone: str | None = None,
    params: str | None = None,
    per_run: str | None = None,
    per_day: str | None = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a schedule; what is not given stays."""
    want_json(as_json)
    entity = _save(
        name,
        schedule_id,
        {
            "cron": cron,
            "timezone": timezone,
            "params": read_json_arg(params) if params else None,
            "per_run": read_json_arg(per_run) if per_run else None,
            "per_day": read_json_arg(per_day) if per_day else None,
        },
    )
    _print(entity, as_json)


def _set_enabled(schedule_id: str, enabled: bool) -> Any:
    with store() as s:
        return s.update("schedule", schedule_id, {"data": {"enabled": enabled}})


@app.command()
def pause(schedule_id: str, as_json: JsonFlag = False) -> None:
    want_json(as_json)
    _print(_set_enabled(schedule_id, False), as_json)


@app.command()
def resume(schedule_id: str, as_json: JsonFlag = False) -> None:
    want_json(as_json)
    _print(_set_enabled(schedule_id, True), as_json)


@app.command("run-now")
def run_now(
    schedule_id: str,
    wait: Annotated[bool, typer.Option(help="run here and wait (else the daemon runs it)")] = False,
    as_json: JsonFlag = False,
) -> None:
    """One tick now, with the schedule's draw and budgets."""
    want_json(as_json)
    service = _services()
    due = service.run_now(schedule_id, queue=not wait)
    if due and wait:
        from plugins.images.pipelines import generate_batch

        generate_batch(service.images.settings, due.batch_id, source="schedule")
        service.reconcile()
    last = service.history(schedule_id, limit=1)[0]
    if as_json:
        emit_json(last)
    else:
        console.print(
            f"tick {last['id'][:8]}: {last['status']} {last['reason']} "
            f"(batch {last['batch_id'] or '-'}, {last['images']} images)"
        )


@app.command()
def history(schedule_id: str, limit: int = 20, as_json: JsonFlag = False) -> None:
    """Each tick: requested, skipped, failed or succeeded, with parameters and images."""
    want_json(as_json)
    ticks = _services().history(schedule_id, limit=limit)
    if as_json:
        emit_json(ticks)
        return
    table = Table("tick", "status", "images", "seconds", "reason")
    for t in ticks:
        table.add_row(
            t["tick_at"][:16] + (" (manual)" if t["manual"] else ""),
            t["status"],
            str(t["images"]),
            f"{t['duration_s']:.1f}",
            t["reason"][:60],
        )
    console.print(table)


def _print(entity: Any, as_json: bool) -> None:
    if as_json:
        emit_json(entity)
    else:
        state = "enabled" if entity.data["enabled"] else "paused"
        console.print(
            f"schedule {entity.id}: {entity.name} · {entity.data['cron']} "
            f"({entity.data['timezone']}) · {state} · revision {entity.revision}"
        )
