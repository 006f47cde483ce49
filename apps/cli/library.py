"""Whole-library commands: export, import, demo (backups: `apps/cli/backup.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from apps.cli.common import console, settings, store
from lifeos import transfer
from lifeos.db import migrate
from lifeos.db.engine import session_scope
from lifeos.demo import load_demo


def export(
    path: Path, kind: Annotated[str | None, typer.Option(help="only this kind")] = None
) -> None:
    """Write the library (or one kind) as JSON; `-` for standard output."""
    with store() as s:
        text = transfer.dumps_export(transfer.export_library(s.session, kind))
    if str(path) == "-":
        typer.echo(text, nl=False)
        return
    path.write_text(text, encoding="utf-8")
    console.print(f"exported to {path}")


def import_(
    path: Path,
    on_conflict: Annotated[
        str, typer.Option(help="fail (default) or skip entities whose id already exists")
    ] = "fail",
) -> None:
    """Import a JSON export. All or nothing: a bad file imports nothing."""
    if on_conflict not in ("fail", "skip"):
        raise typer.BadParameter("--on-conflict must be fail or skip")
    s = settings()
    doc = transfer.read_export_file(path, max_bytes=s.max_import_bytes)
    mode: Literal["fail", "skip"] = "skip" if on_conflict == "skip" else "fail"
    with session_scope(s.database_url) as session:
        counts = transfer.import_library(session, doc, on_conflict=mode)
    console.print(
        f"imported {counts['entities']} entities and {counts['links']} links"
        f" ({counts['skipped']} skipped)"
    )


def demo() -> None:
    """Load the demo library (once; does nothing when it is already there)."""
    s = settings()
    migrate.upgrade(s.database_url)
    with session_scope(s.database_url) as session:
        counts = load_demo(session)
    if counts["entities"]:
        console.print(f"demo library: {counts['entities']} entities, {counts['links']} links")
    else:
        console.print("demo library already loaded")


def register(app: typer.Typer) -> None:
    app.command()(export)
    app.command("import")(import_)
    app.command()(demo)
