"""Alembic environment: URL from lifeos settings (or the caller), metadata from the ORM models,
version table `lifeos_alembic_version` so Dagster's own `alembic_version` is never touched."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import make_url

from lifeos.db.engine import create_db_engine
from lifeos.db.models import Base, autogenerate_filter
from lifeos.settings import get_settings

VERSION_TABLE = "lifeos_alembic_version"

config = context.config
url = config.attributes.get("database_url") or get_settings().database_url

# Dagster may share this database: autogenerate only looks at the library's own tables (and at
# the indexes that belong to this backend).
include_object = autogenerate_filter(make_url(url).get_backend_name())


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        literal_binds=True,
        version_table=VERSION_TABLE,
        compare_type=True,
        include_object=include_object,
        render_as_batch=url.startswith("sqlite"),
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
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
        include_object=include_object,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
