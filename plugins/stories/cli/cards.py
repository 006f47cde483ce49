"""`lifeos cards import|export`: Character Card V2/V3, as JSON or PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from apps.cli.common import console, emit_json, settings, store, want_json

app = typer.Typer(help="Character cards (V2, V3 import) as JSON or PNG.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.command("import")
def import_(path: Path, as_json: JsonFlag = False) -> None:
    """A card (JSON, or a PNG with a `chara`/`ccv3` chunk) becomes a character."""
    from plugins.stories.tools.cards import import_card

    want_json(as_json)
    with store() as s:
        character = import_card(s, path, settings())
    if as_json:
        emit_json(character)
    else:
        console.print(f"character {character.id}: {character.name}")


@app.command()
def export(
    character_id: str,
    path: Path,
    png: Annotated[
        bool, typer.Option("--png/--json", help="PNG (with the character's picture) or JSON")
    ] = False,
) -> None:
    """Write a character as a card; what the card had beyond our fields comes back unchanged."""
    from plugins.stories.tools.cards import card_png, character_picture, entity_to_card

    with store() as s:
        character = s.get("character", character_id)
        picture = character_picture(s, character_id, settings()) if png else None
    card = entity_to_card(character)
    if png:
        path.write_bytes(card_png(card, picture))
    else:
        path.write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(f"{card['spec']} card of {character.name} written to {path}")
