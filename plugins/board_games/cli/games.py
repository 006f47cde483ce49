"""`lifeos games ...`: find board games on BoardGameGeek, keep them, attach rulebooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from apps.cli.common import console, emit_json, settings, want_json
from plugins.board_games.cli.rulebooks import ingest_with_progress

app = typer.Typer(
    help="Board games from BoardGameGeek (cached for 7 days, offline-first).", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _games():  # noqa: ANN202
    from plugins.board_games.tools.games import games_service

    return games_service(settings())


@app.command()
def search(name: str, exact: bool = False, as_json: JsonFlag = False) -> None:
    """Search BoardGameGeek by name."""
    want_json(as_json)
    hits = _games().search(name, exact=exact)
    if as_json:
        emit_json([vars(h) for h in hits])
        return
    table = Table("BGG id", "name", "year", title=f"{len(hits)} games")
    for h in hits:
        table.add_row(str(h.bgg_id), h.name, str(h.year or ""))
    console.print(table)


@app.command()
def add(bgg_id: list[int], as_json: JsonFlag = False) -> None:
    """Add (or update) board games by BGG id."""
    want_json(as_json)
    games = _games().add(bgg_id)
    if as_json:
        emit_json(games)
        return
    for g in games:
        d = g.data
        console.print(
            f"{g.name} ({d.get('year_published') or '?'}) · {d.get('min_players')}–"
            f"{d.get('max_players')} players · weight {d.get('weight')} · {g.id}"
        )


@app.command("attach-rulebook")
def attach_rulebook(
    game: str,
    path: Path,
    wait: Annotated[bool, typer.Option(help="ingest now (a Dagster run here)")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Hand a rulebook PDF to the rulebook pipeline for a game in the library."""
    want_json(as_json)
    doc = _games().attach_rulebook(game, path)
    if wait and doc["status"] != "ready":
        from plugins.board_games.tools.rules_qa import rules_services

        rulebooks, _ = rules_services(settings())
        ingest_with_progress(rulebooks, doc["sha256"], path.name)
        doc = rulebooks.get(doc["sha256"])
    if as_json:
        emit_json(doc)
    else:
        console.print(
            f"{path.name}: {doc['status']}, {doc['pages']} pages, {doc['chunks']} "
            f"chunks {doc['error'] or ''}"
        )
