"""`lifeos workflows ...`: list, validate, save, run and watch workflows (the same service as
the studio's Workflows tab and /api/v1/workflows)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from apps.cli.common import console, emit_json, read_json_arg, settings, want_json
from lifeos.errors import BadRequest

app = typer.Typer(
    help="Workflows: list, validate, save, run, runs, show, retry, proposals, schedule.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
Name = Annotated[str, typer.Argument(help="the workflow's name (`lifeos workflows list`)")]


def _service() -> Any:
    from pipelines.workflow_runs import WorkflowService

    return WorkflowService(settings())


def _read(path: Path) -> str:
    if not path.is_file():
        raise BadRequest(f"{path}: no such file")
    return path.read_text(encoding="utf-8")


@app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """Every workflow, built in or saved, and whether it is valid."""
    rows = _service().all()
    if want_json(as_json):
        emit_json(rows)
        return
    table = Table("name", "from", "valid", "steps", "description")
    for w in rows:
        problem = w["problems"][0]["msg"] if w["problems"] else ""
        table.add_row(
            w["name"],
            w["source"],
            "yes" if w["valid"] else f"no: {problem}",
            ", ".join(w["steps"]),
            w["description"][:60],
        )
    console.print(table)


@app.command()
def validate(path: Path, as_json: JsonFlag = False) -> None:
    """Check a workflow file: each problem with its line and column (exit 1 when invalid)."""
    checked = _service().validate(_read(path))
    if want_json(as_json):
        emit_json({"valid": checked.ok, "problems": [p.to_dict() for p in checked.problems]})
    else:
        for p in checked.problems:
            console.print(f"{path}:{p.line}:{p.column}: {p.message}")
        if checked.ok:
            console.print(f"{path}: valid")
    if not checked.ok:
        raise typer.Exit(1)


@app.command()
def save(path: Path, as_json: JsonFlag = False) -> None:
    """Save a workflow file as a template in the library (refused when invalid)."""
    entry = _service().save(_read(path))
    if want_json(as_json):
        emit_json(entry.describe())
    else:
        console.print(f"saved {entry.name}: its job is workflow__{entry.name}")


@app.command()
def show(name: Name, as_json: JsonFlag = False) -> None:
    """A workflow's YAML and problems."""
    entry = _service().entry(name)
    if want_json(as_json):
        emit_json({**entry.describe(), "yaml": entry.text})
        return
    console.print(f"{name} ({entry.source})", style="bold")
    console.print(entry.text, markup=False, highlight=False)
    for p in entry.checked.problems:
        console.print(f"line {p.line}, column {p.column}: {p.message}", style="red")


@app.command()
def run(
    name: Name,
    inputs: Annotated[
        list[str] | None, typer.Argument(help="KEY=VALUE inputs (VALUE may be JSON)")
    ] = None,
    inputs_json: Annotated[
        str | None, typer.Option("--inputs", help="all inputs as JSON, or @file.json")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a workflow now and show each step (exit 1 when the run fails)."""
    values: dict[str, Any] = dict(read_json_arg(inputs_json)) if inputs_json else {}
    for pair in inputs or []:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise BadRequest(f"{pair!r}: inputs are KEY=VALUE")
        try:
            values[key] = read_json_arg(raw)
        except BadRequest:
            values[key] = raw
    service = _service()
    run_id = service.start(name, values, source="cli", wait=True)
    _show_run(service.run(run_id), as_json)


def _show_run(run: dict[str, Any], as_json: bool) -> None:
    if want_json(as_json):
        emit_json(run)
    else:
        console.print(
            f"run {run['run_id']} · {run['workflow']} · {run['status']}"
            + (f" · {run['seconds']} s" if run["seconds"] is not None else ""),
            style="bold",
        )
        if run["stopped"]:
            console.print(f"stopped: {run['stopped']}", style="red")
        table = Table("step", "uses", "state", "attempts", "error")
        for s in run["steps"]:
            table.add_row(
                s["id"], s["uses"], s["state"], str(s["attempts"]), (s["error"] or "")[:80]
            )
        console.print(table)
        if run["outputs"]:
            console.print("saved: " + ", ".join(run["outputs"]))
    if run["status"] != "success":
        raise typer.Exit(1)


@app.command()
def runs(
    name: Annotated[str | None, typer.Argument(help="one workflow's runs")] = None,
    limit: int = 20,
    as_json: JsonFlag = False,
) -> None:
    """The latest runs, with their status, duration and cost."""
    rows = _service().runs(name, limit)
    if want_json(as_json):
        emit_json(rows)
        return
    table = Table("run", "workflow", "status", "seconds", "cost $", "stopped")
    for r in rows:
        table.add_row(
            r["run_id"][:8],
            r["workflow"],
            r["status"],
            str(r["seconds"] or ""),
            f"{r['cost_usd']:.4f}",
            r["stopped"] or "",
        )
    console.print(table)


@app.command("run-info")
def run_info(run_id: str, as_json: JsonFlag = False) -> None:
    """One run: each step's state, attempts and error, and what it saved."""
    _show_run(_service().run(run_id), as_json)


@app.command()
def retry(run_id: str, as_json: JsonFlag = False) -> None:
    """Run a failed run again from its failed steps."""
    service = _service()
    _show_run(service.run(service.retry(run_id)), as_json)


@app.command()
def proposals(as_json: JsonFlag = False) -> None:
    """What runs proposed, waiting for review."""
    rows = _service().proposals()
    if want_json(as_json):
        emit_json(rows)
        return
    for p in rows:
        console.print(
            f"{p['id']}  {p['data']['target_kind']}: {p['name']} ({p['data']['workflow']})"
        )


@app.command()
def approve(proposal_id: str, reject: bool = False, as_json: JsonFlag = False) -> None:
    """Approve a proposal (the entity is made), or reject it with --reject."""
    out = _service().decide(proposal_id, approve=not reject)
    if want_json(as_json):
        emit_json(out)
    else:
        console.print(f"{out['data']['status']}: {out['name']} {out['data']['entity_id']}")


@app.command()
def schedule(
    name: Name,
    cron: Annotated[str, typer.Option(help="five-field cron expression")],
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "UTC",
    inputs: Annotated[str, typer.Option(help="fixed inputs: JSON, or @file.json")] = "{}",
    draw: Annotated[
        list[str] | None,
        typer.Option(
            help="an input drawn at each tick: `name` (from its choices or its kind's "
            "entities) or `name=a,b,c` (repeatable)"
        ),
    ] = None,
    max_cost_usd: Annotated[float | None, typer.Option(help="per run")] = None,
    max_runs_per_day: Annotated[int | None, typer.Option()] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a workflow by itself on a cron time, its inputs fixed or drawn at random."""
    drawn: dict[str, list[str] | None] = {}
    for spec in draw or []:
        key, _, values = spec.partition("=")
        drawn[key.strip()] = [v.strip() for v in values.split(",") if v.strip()] or None
    data = {
        "cron": cron,
        "timezone": timezone,
        "inputs": read_json_arg(inputs),
        "draw": drawn,
        "max_cost_usd": max_cost_usd,
        "max_runs_per_day": max_runs_per_day,
    }
    made = _service().schedule(name, data)
    if want_json(as_json):
        emit_json(made.model_dump(mode="json"))
        return
    console.print(f"scheduled {name} as {made.id} ({cron} {timezone})")


@app.command()
def schedules(
    name: Annotated[str | None, typer.Argument()] = None, as_json: JsonFlag = False
) -> None:
    """Workflow schedules, their next times and last ticks."""
    rows = _service().schedules(name)
    if want_json(as_json):
        emit_json(rows)
        return
    table = Table("id", "workflow", "cron", "next", "last tick")
    for s in rows:
        last = s["ticks"][0] if s["ticks"] else None
        table.add_row(
            s["id"],
            s["data"]["workflow"],
            f"{s['data']['cron']} {s['data']['timezone']}",
            s["next_runs"][0],
            f"{last['status']} {last['reason']}"[:60] if last else "",
        )
    console.print(table)
