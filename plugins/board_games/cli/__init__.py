"""The board-game commands: `lifeos games ...`, `lifeos rulebook ...`, `lifeos eval rules`,
`lifeos ask`, merged into the `lifeos` command while the plugin is loaded."""

from __future__ import annotations

import typer

from . import games, rulebooks

commands = typer.Typer()  # no name: its commands and groups join `lifeos` itself
commands.add_typer(games.app, name="games")
commands.add_typer(rulebooks.app, name="rulebook")
commands.add_typer(rulebooks.eval_app, name="eval")
commands.command()(rulebooks.ask)
