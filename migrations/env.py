"""Alembic environment: URL from lifeos settings (or the caller), metadata from the ORM models,
version table `lifeos_alembic_version` so Dagster's own `alembic_version` is never touched."""

from __future__ import annotations

from alembic import context

from lifeos.db.engine import create_db_engine
from lifeos.db.models import Base
from lifeos.settings import get_settings

VERSION_TABLE = "lifeos_alembic_version"

config = context.config
url = config.attributes.get("database_url") or get_settings().database_url


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    # Dagster may share this database: autogenerate only looks at the library's own tables.
    return type_ != "table" or name in Base.metadata.tables


def run_migrations_offline() -> None:
    context.configure(
        url=url, target_metadata=Base.metadata, literal_binds=True, version_table=VERSION_TABLE,
        compare_type=True, include_name=include_name, render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection, target_metadata=Base.metadata, version_table=VERSION_TABLE,
        compare_type=True, include_name=include_name, render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
