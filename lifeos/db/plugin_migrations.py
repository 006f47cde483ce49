"""A plugin's own tables: Alembic revisions in its `migrations/versions/` folder, with a version
table of its own (`lifeos_alembic_version_<plugin>`), so each plugin's schema moves on its own
and never touches the core's chain or Dagster's. No `env.py` to write: the revisions run here
(Alembic's EnvironmentContext, as its cookbook runs migrations from code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lifeos.db.engine import create_db_engine


def migrations_of(package_dir: Path) -> Path | None:
    """The plugin's migrations folder, if it has revisions."""
    folder = package_dir / "migrations"
    return folder if (folder / "versions").is_dir() else None


def version_table(plugin: str) -> str:
    return f"lifeos_alembic_version_{plugin}"


def upgrade_plugin(url: str, plugin: str, folder: Path) -> str | None:
    """Bring the plugin's tables to its newest revision; returns that revision. Does nothing
    when they are there already. Raises what the failing revision raised; its transaction is
    rolled back (all of it on PostgreSQL; SQLite's driver commits DDL statements as they run)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(folder))
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    table = version_table(plugin)
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn, opts={"version_table": table})
            if current.get_current_revision() == head:
                return head

            def steps(rev: Any, _context: Any) -> Any:
                return script._upgrade_revs("head", rev)  # noqa: SLF001 - Alembic's own recipe

            with EnvironmentContext(cfg, script, fn=steps, destination_rev="head") as env:
                env.configure(connection=conn, version_table=table, render_as_batch=True)
                with env.begin_transaction():
                    env.run_migrations()
            conn.commit()
    finally:
        engine.dispose()
    return head
