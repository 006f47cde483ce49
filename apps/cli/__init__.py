"""The `lifeos` command line: the third interface, beside the API and the studio, over the same
services. Errors print one clear line and exit non-zero.

A command imports the service it runs (tools, Dagster's run launcher) when it runs: together they
load Dagster, torch and diffusers, which would make `lifeos --help` 2.7 s instead of 1.1 s.
"""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
import typer

from apps.cli import (
    backup,
    db,
    entity,
    library,
    models,
    pipelines,
    plugins,
    up,
    users,
    workflows,
)
from apps.cli.common import print_error, settings, want_json
from lifeos.dagster_home import keep_sigterm
from lifeos.db import migrate
from lifeos.errors import LifeOSError
from lifeos.plugins import get_plugins, serve_only
from lifeos.settings import get_settings

app = typer.Typer(
    name="lifeos",
    help="Life-OS Workbench: your entity library, AI tools and pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(backup.app, name="backup")
app.add_typer(db.app, name="db")
app.add_typer(entity.app, name="entity")
app.add_typer(models.app, name="models")
app.add_typer(models.tools_app, name="tools")
app.add_typer(plugins.app, name="plugins")
app.add_typer(pipelines.app, name="pipelines")
app.add_typer(workflows.app, name="workflows")
app.add_typer(users.app, name="users")
app.add_typer(users.tokens_app, name="tokens")
library.register(app)
up.register(app)
CLI_PARTS = (
    "kinds",
    "tools",
    "models",
    "settings",
    "commands",
    "definitions",
    "workflows",
)  # no pages, no routes
_joined: set[int] = set()


def cli() -> typer.Typer:
    """The `lifeos` command with the loaded plugins' commands (`lifeos rulebook ...` comes from
    board_games): each group joins once."""
    settings()  # logging on stderr at the configured level before the plugins load and log
    serve_only(*CLI_PARTS)
    for group in get_plugins().registries.commands.values():
        if id(group) not in _joined:
            _joined.add(id(group))
            app.add_typer(group)
    return app


def _library_needs_upgrade() -> LifeOSError | None:
    """A clear error when a database failure comes from a library not migrated yet."""

    try:
        current = migrate.current_revision(get_settings().database_url)
    except sa.exc.SQLAlchemyError:
        return None  # the database itself is the problem: its own error says more
    if current == migrate.head_revision():
        return None
    return LifeOSError(
        f"the library at {get_settings().home} is not set up for this version; "
        "run `lifeos db upgrade` (or `lifeos up`)",
        code="library_not_migrated",
    )


def main(argv: list[str] | None = None) -> int:
    keep_sigterm()
    want_json(False)  # a command with --json turns JSON errors on for itself
    try:
        result = cli()(args=argv, standalone_mode=False)
    except LifeOSError as exc:
        print_error(exc)
        return 1
    except sa.exc.SQLAlchemyError:
        unmigrated = _library_needs_upgrade()
        if unmigrated is None:
            raise
        print_error(unmigrated)
        return 1
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    code = result if isinstance(result, int) else 0
    if argv is None:
        sys.exit(code)
    return code
