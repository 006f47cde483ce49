"""Alembic: upgrade, downgrade, upgrade on both backends; models and migrations agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lifeos.db import migrate
from lifeos.db.models import LIBRARY_TABLES, Base, autogenerate_filter


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("pg_server").create_database("_mig")


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    assert migrate.current_revision(fresh_url) == migrate.head_revision()
    assert set(LIBRARY_TABLES) <= _tables(fresh_url)
    assert "lifeos_alembic_version" in _tables(fresh_url)
    assert "alembic_version" not in _tables(fresh_url)  # Dagster's name stays free
    migrate.downgrade(fresh_url, "base")
    assert migrate.current_revision(fresh_url) is None
    assert _tables(fresh_url) == {"lifeos_alembic_version"}
    migrate.upgrade(fresh_url)
    assert migrate.is_up_to_date(fresh_url)


def test_models_match_migrations(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    engine = sa.create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "version_table": migrate.VERSION_TABLE,
                    "include_object": autogenerate_filter(conn.dialect.name),
                },
            )
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"ORM models and migrations differ: {diff}"
