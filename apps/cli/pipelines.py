"""`lifeos pipelines ...`: backfills of partitioned assets (all, named or stale partitions)
and which partitions are stale, over the same service as /api/v1/pipelines."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from apps.cli.common import console, emit_json, read_json_arg, settings, want_json

app = typer.Typer(help="Pipelines: backfills and stale partitions.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
Asset = Annotated[str, typer.Argument(help="a partitioned asset (rulebook_index, image_batches…)")]
Since = Annotated[str, typer.Option(help="of all/stale: days from YYYY-MM-DD (by-day assets)")]
Until = Annotated[str, typer.Option(help="of all/stale: days until YYYY-MM-DD, inclusive")]
Where = Annotated[
    list[str] | None, typer.Option(help="of all/stale: DIMENSION=VALUE (e.g. schedule=ID)")
]


def _service() -> Any:
    from pipelines.backfills import Backfills

    return Backfills(settings())


@app.command()
def backfill(
    asset: Asset,
    partitions: Annotated[str, typer.Option(help="partition keys, comma-separated")] = "",
    all_: Annotated[bool, typer.Option("--all", help="every partition")] = False,
    stale: Annotated[bool, typer.Option(help="the missing, failed and stale partitions")] = False,
    since: Since = "",
    until: Until = "",
    where: Where = None,
    config: Annotated[str, typer.Option(help="run config: JSON, or @file.json")] = "",
    wait: Annotated[bool, typer.Option(help="wait until the backfill ends")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Start a backfill; the Dagster daemon (`lifeos up`) runs a run per partition.

    e.g. a schedule's pictures of a week made again:
    `lifeos pipelines backfill scheduled_images --all --since 2026-12-01 --until 2026-12-07
    --where schedule=ID`"""
    from pipelines.backfills import Narrow

    service = _service()
    keys = [p.strip() for p in partitions.split(",") if p.strip()]
    started = service.launch(
        asset,
        partitions=keys,
        all_partitions=all_,
        stale=stale,
        narrow=Narrow.of(since, until, where or []),
        run_config=read_json_arg(config) if config else None,
    )
    if not started["daemon_running"] and not want_json(as_json):
        console.print(
            "[yellow]the Dagster daemon is not running: the backfill waits until it is "
            "(`lifeos up`)[/yellow]"
        )
    state = service.wait(started["backfill_id"]) if wait else None
    if want_json(as_json):
        emit_json(state or started)
        return
    console.print(
        f"backfill {started['backfill_id']}: {asset}, {len(started['partitions'])} partitions"
        + (f" → {state['status']}" if state else "")
    )


@app.command("backfill-status")
def backfill_status(backfill_id: str, as_json: JsonFlag = False) -> None:
    """A backfill's status, and where each partition stands."""
    state = _service().get(backfill_id)
    if want_json(as_json):
        emit_json(state)
        return
    console.print(f"{state['backfill_id']}: {state['status']} ({state['runs']} runs)")
    table = Table("partition", "last run")
    for part, status in state["by_partition"].items():
        table.add_row(part, status)
    console.print(table)


@app.command()
def stale(
    asset: Asset,
    since: Since = "",
    until: Until = "",
    where: Where = None,
    as_json: JsonFlag = False,
) -> None:
    """The partitions of an asset to make again, and why."""
    from pipelines.backfills import Narrow

    found = _service().stale(asset, Narrow.of(since, until, where or []))
    if want_json(as_json):
        emit_json(found)
        return
    table = Table("partition", "why")
    for part, why in found.items():
        table.add_row(part, why)
    console.print(table if found else f"{asset}: every partition is up to date")
