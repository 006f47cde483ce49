"""`lifeos db ...`: schema migrations."""

from __future__ import annotations

import typer

from apps.cli.common import console, settings
from lifeos.db import migrate

app = typer.Typer(help="Library database schema (Alembic).", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the library DB up (to the latest schema by default), and write Dagster's
    instance config for the services (what a deployment's one-shot setup runs)."""
    from lifeos.dagster_home import write_dagster_yaml

    s = settings()
    migrate.upgrade(s.database_url, revision)
    console.print(f"library schema at {migrate.current_revision(s.database_url)}")
    console.print(f"Dagster instance config: {write_dagster_yaml(s)}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="target revision, or 'base'")) -> None:
    """Migrate the library DB down."""
    url = settings().database_url
    migrate.downgrade(url, revision)
    console.print(f"library schema at {migrate.current_revision(url) or 'base'}")


@app.command()
def current() -> None:
    """Show the schema revision of the library DB."""
    url = settings().database_url
    rev = migrate.current_revision(url)
    head = migrate.head_revision()
    console.print(f"{rev or 'base'} (latest: {head})")
