"""The story commands: `lifeos story ...` and `lifeos cards ...`, joined to `lifeos` while the
plugin is loaded."""

from __future__ import annotations

import typer

from . import cards, stories

commands = typer.Typer()  # no name: its commands and groups join `lifeos` itself
commands.add_typer(stories.app, name="story")
commands.add_typer(cards.app, name="cards")
