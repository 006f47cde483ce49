"""Fixtures: a temp LIFEOS_HOME per test, and a freshly migrated library DB per test on SQLite
and on the real PostgreSQL server (each test run gets its own Postgres database).

With CI=true an unreachable Postgres fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

# Before anything imports lifeos: no third-party plugins, no hub, no telemetry.
os.environ["LIFEOS_LOAD_PLUGINS"] = "0"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Apps under test load models when a test needs them, not all at start (one test preloads).
os.environ.setdefault("LIFEOS_PRELOAD_MODELS", "[]")

from lifeos.dagster_home import keep_sigterm  # noqa: E402
from lifeos.db import migrate  # noqa: E402
from lifeos.db.engine import dispose_engines, session_scope  # noqa: E402
from lifeos.db.models import ALL_TABLES, LIBRARY_TABLES  # noqa: E402
from lifeos.settings import Settings, reset_settings_cache  # noqa: E402
from lifeos.store import EntityStore  # noqa: E402

# As `lifeos` does first: a suite started as a background job (SIGINT ignored) would otherwise
# have SIGTERM ignored after its first Dagster run, and Dagster's log tails then take 30 s to
# stop on every later run (test_dagster.py shows it).
keep_sigterm()

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresServer:
    """Creates and drops uniquely named databases on the test server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.run_id = f"lifeos_t{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []

    def create_database(self, suffix: str = "") -> str:
        name = f"{self.run_id}_{len(self.created)}{suffix}"
        with psycopg.connect(_libpq(self.admin_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        dispose_engines()
        with psycopg.connect(_libpq(self.admin_url), autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_reachable(url: str) -> str | None:
    try:
        with psycopg.connect(_libpq(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    url = os.environ.get("LIFEOS_TEST_POSTGRES_URL", DEFAULT_PG)
    problem = _postgres_reachable(url)
    if problem:
        message = f"PostgreSQL at {make_url(url).render_as_string()} is not reachable: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI=true: Postgres is required)", pytrace=False)
        pytest.skip(message)
    server = PostgresServer(url)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def pg_library_url(pg_server: PostgresServer) -> str:
    """One migrated Postgres database for this test run; tests empty it before use."""
    url = pg_server.create_database()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("template") / "lifeos.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    dispose_engines()
    return path


@pytest.fixture(autouse=True)
def lifeos_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("LIFEOS_HOME", str(home))
    monkeypatch.delenv("LIFEOS_DATABASE_URL", raising=False)
    reset_settings_cache()
    yield home
    reset_settings_cache()
    dispose_engines()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest,
    lifeos_home: Path,
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """A migrated, empty library DB, on each backend in turn; also set as LIFEOS_DATABASE_URL."""
    if request.param == "sqlite":
        target = lifeos_home / "lifeos.db"
        shutil.copy(sqlite_template, target)
        url = f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("pg_library_url")
        with sa.create_engine(url).begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {', '.join(ALL_TABLES)} CASCADE"))
    monkeypatch.setenv("LIFEOS_DATABASE_URL", url)
    reset_settings_cache()
    return url


@pytest.fixture
def settings(db_url: str, lifeos_home: Path) -> Settings:
    return Settings(home=lifeos_home, LIFEOS_DATABASE_URL=db_url)


@pytest.fixture
def pg_settings(
    request: pytest.FixtureRequest, lifeos_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """PostgreSQL only, for the long tests of what a scaled-out deployment runs on (the
    library and Dagster's storage on a server): worth one backend, not two."""
    url = request.getfixturevalue("pg_library_url")
    with sa.create_engine(url).begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {', '.join(ALL_TABLES)} CASCADE"))
    monkeypatch.setenv("LIFEOS_DATABASE_URL", url)
    reset_settings_cache()
    return Settings(home=lifeos_home, LIFEOS_DATABASE_URL=url)


@pytest.fixture
def store(db_url: str) -> Iterator[EntityStore]:
    """A store in one transaction that commits when the test ends."""
    with session_scope(db_url) as session:
        yield EntityStore(session)


def table_counts(url: str) -> dict[str, int]:
    with sa.create_engine(url).connect() as conn:
        return {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in LIBRARY_TABLES
        }


@pytest.fixture
def sqlite_url(lifeos_home: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite library only (for tests whose subject is not the database)."""
    target = lifeos_home / "lifeos.db"
    shutil.copy(sqlite_template, target)
    url = f"sqlite:///{target}"
    monkeypatch.setenv("LIFEOS_DATABASE_URL", url)
    reset_settings_cache()
    return url


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium under Playwright (never a browser download)."""
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Debian chromium is missing (scripts/test.sh installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()
