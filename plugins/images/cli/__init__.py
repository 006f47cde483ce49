"""The image commands: `lifeos compose`, `generate`, `analyze`, `lifeos images ...` and
`lifeos schedules ...`, joined to `lifeos` while the plugin is loaded."""

from __future__ import annotations

import typer

from . import analyze, images, schedules

commands = typer.Typer()  # no name: its commands and groups join `lifeos` itself
commands.command()(images.compose)
commands.command()(images.generate)
commands.add_typer(images.app, name="images")
commands.command()(analyze.analyze)
commands.add_typer(schedules.app, name="schedules")
