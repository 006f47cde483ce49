"""Run the Alembic migrations from code (`lifeos db upgrade`, `lifeos up`, tests)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lifeos.db.engine import create_db_engine

ROOT = Path(__file__).resolve().parents[2]
VERSION_TABLE = "lifeos_alembic_version"


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def knows_revision(revision: str) -> bool:
    """Whether `revision` is one of this version's migrations (a newer one is not)."""
    from alembic.util.exc import CommandError

    try:
        return (
            ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision)
            is not None
        )
    except (CommandError, KeyError, ValueError):
        return False


def is_up_to_date(url: str) -> bool:
    try:
        return current_revision(url) == head_revision()
    except sa.exc.OperationalError:
        return False
