"""Plugins: discovery, load / unload / reload with exact teardown, quarantine, safe mode, strict
mode, and the same operations through the API and the CLI while a server runs.

Each test writes real plugin folders (a manifest and a package) into the library's plugin
folder and loads them with a real host; nothing here is mocked."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from apps.api.app import create_app
from lifeos.errors import PluginError, UnknownKind
from lifeos.plugins import SAFE_MODE_AFTER, PluginHost, Status, host_for
from lifeos.settings import Settings, reset_settings_cache

RECIPES = """
from fastapi import APIRouter
from pydantic import BaseModel

from lifeos.hookspecs import hookimpl
from lifeos.kinds import EntityData, KindSpec
from lifeos.llm.toolkit import Tool

VERSION = "{version}"
loaded = []


class Recipe(EntityData):
    servings: int = 2
    steps: list[str] = []


class MenuIn(BaseModel):
    guests: int


class MenuOut(BaseModel):
    dishes: list[str]


class MenuPlanner(Tool[MenuIn, MenuOut]):
    name = "{prefix}menu_planner"
    Input = MenuIn
    Output = MenuOut


router = APIRouter(prefix="/{prefix}recipes")


@router.get("/version")
def version() -> dict:
    return {{"version": VERSION}}


@hookimpl
def register_entity_kinds(register):
    register(KindSpec(name="{prefix}recipe", model=Recipe, label="Recipe"))


@hookimpl
def register_tools(register):
    register(MenuPlanner)


@hookimpl
def register_routers(register):
    register(router)


@hookimpl
def plugin_load(settings):
    loaded.append(settings)


@hookimpl
def plugin_health():
    return None
"""


def write_plugin(
    folder: Path,
    name: str,
    *,
    code: str | None = None,
    manifest: str | None = None,
    version: str = "1.0.0",
    prefix: str = "",
) -> Path:
    target = folder / name
    target.mkdir(parents=True, exist_ok=True)
    (target / "plugin.toml").write_text(
        manifest
        if manifest is not None
        else f'name = "{name}"\nversion = "{version}"\ndescription = "test plugin"\n'
        f'[provides]\nkinds = ["{prefix}recipe"]\n',
        encoding="utf-8",
    )
    (target / "__init__.py").write_text(
        code if code is not None else RECIPES.format(version=version, prefix=prefix),
        encoding="utf-8",
    )
    return target


@pytest.fixture
def plugin_settings(lifeos_home: Path) -> Settings:
    return Settings(home=lifeos_home, load_plugins=True)


def new_host(settings: Settings, *, strict: bool = False) -> PluginHost:
    host = host_for(settings)
    host.third_party = True
    host.strict = strict
    return host.load_all()


def test_the_built_ins_are_plugins_with_manifests(plugin_settings: Settings) -> None:
    host = new_host(plugin_settings)
    info = {p["name"]: p for p in host.overview()}
    assert set(info) >= {"core", "images", "stories", "board_games"}
    assert all(info[n]["builtin"] and info[n]["status"] == "loaded" for n in ("core", "images"))
    assert "character" in host.kinds and "tagger" in host.tools
    # What each declares is what it registers (definitions are declared by their asset keys,
    # registered as one `Definitions` each).
    for name in ("core", "images", "stories", "board_games"):
        declared = {
            k: sorted(v) for k, v in info[name]["provides"].items() if v and k != "definitions"
        }
        registered = {
            k: sorted(v) for k, v in info[name]["registered"].items() if k != "definitions"
        }
        assert declared == registered, name
        assert host.health(name) == "ok"


def test_a_folder_plugin_loads_and_unloads_exactly(plugin_settings: Settings) -> None:
    bare = new_host(plugin_settings).registries.snapshot()
    write_plugin(plugin_settings.plugins_dir, "recipes")
    host = new_host(plugin_settings)
    plugin = host.get("recipes")
    assert plugin.status is Status.LOADED, plugin.reason
    assert "recipe" in host.kinds and "menu_planner" in host.tools
    assert plugin.registered == {
        "kinds": ["recipe"],
        "tools": ["menu_planner"],
        "routers": ["recipes:/recipes"],
    }
    assert plugin.module is not None and plugin.module.loaded == [plugin_settings]

    host.disable("recipes")
    assert _comparable(host.registries.snapshot()) == _comparable(bare)
    with pytest.raises(UnknownKind, match="plugin 'recipes', which is disabled"):
        host.kinds.get("recipe")
    # The choice is kept: a new process starts with it off, and enabling brings it back.
    again = new_host(plugin_settings)
    assert again.get("recipes").status is Status.DISABLED
    again.enable("recipes")
    assert "recipe" in again.kinds
    assert new_host(plugin_settings).get("recipes").status is Status.LOADED


def _comparable(snapshot: dict[str, dict[str, object]]) -> dict[str, set[str]]:
    # Built-in classes are the same objects in every host; compare the names each holds.
    return {k: set(map(str, v)) for k, v in snapshot.items()}


@pytest.mark.parametrize(
    ("manifest", "code", "reason"),
    [
        ('name = "broken"\nversion = "one"\n', None, "version"),
        ('name = "broken"\nversion = "1.0"\ncolour = "red"\n', None, "colour"),
        ("name = ", None, "cannot be read"),
        ('name = "other"\nversion = "1.0"\n', None, "names the plugin 'other'"),
        ('name = "broken"\nversion = "1.0"\ncore = ">=9"\n', None, "supports Life-OS >=9"),
        (
            'name = "broken"\nversion = "1.0"\nrequires = ["no-such-dist-xyz>=1"]\n',
            None,
            "needs no-such-dist-xyz>=1, which is not installed",
        ),
        ('name = "broken"\nversion = "1.0"\n', "import no_such_module_xyz\n", "failed to import"),
        ('name = "broken"\nversion = "1.0"\n', "def oops(:\n", "SyntaxError"),
        (
            'name = "broken"\nversion = "1.0"\n',
            "from lifeos.hookspecs import hookimpl\n\n@hookimpl\ndef plugin_load(settings):\n"
            "    raise RuntimeError('no database for me')\n",
            "no database for me",
        ),
        (
            'name = "broken"\nversion = "1.0"\n',
            "from lifeos.hookspecs import hookimpl\n\n@hookimpl\ndef register_models(register):\n"
            "    register('chef', {'model': 'no provider here'})\n",
            "model alias 'chef' is invalid",
        ),
    ],
    ids=[
        "bad-version",
        "unknown-field",
        "not-toml",
        "wrong-name",
        "core",
        "dependency",
        "import",
        "syntax",
        "load-raises",
        "bad-model-alias",
    ],
)
def test_a_broken_plugin_is_quarantined_and_the_rest_loads(
    plugin_settings: Settings, manifest: str, code: str | None, reason: str
) -> None:
    write_plugin(plugin_settings.plugins_dir, "broken", manifest=manifest, code=code or "")
    write_plugin(plugin_settings.plugins_dir, "recipes")
    host = new_host(plugin_settings)
    broken = host.get("broken")
    assert broken.status is Status.QUARANTINED
    assert reason in (broken.reason or "")
    assert broken.registered == {}
    assert host.get("recipes").status is Status.LOADED
    assert "character" in host.kinds
    assert host.health("broken").startswith("quarantined: ")


def test_a_failure_in_load_takes_back_what_was_registered(plugin_settings: Settings) -> None:
    bare = _comparable(new_host(plugin_settings).registries.snapshot())
    code = RECIPES.format(version="1", prefix="") + (
        "\n\n@hookimpl\ndef register_pages(register):\n    register(object())\n"
    )
    write_plugin(plugin_settings.plugins_dir, "recipes", code=code)
    host = new_host(plugin_settings)
    assert host.get("recipes").status is Status.QUARANTINED
    assert "has no id" in (host.get("recipes").reason or "")
    assert _comparable(host.registries.snapshot()) == bare


def test_two_plugins_cannot_hold_the_same_name(plugin_settings: Settings) -> None:
    write_plugin(plugin_settings.plugins_dir, "recipes")
    write_plugin(plugin_settings.plugins_dir, "recipes_copy")
    code = RECIPES.format(version="1", prefix="").replace('name="recipe"', 'name="character"')
    write_plugin(plugin_settings.plugins_dir, "thief", code=code)
    host = new_host(plugin_settings)
    assert host.get("recipes").status is Status.LOADED
    copy = host.get("recipes_copy")
    assert copy.status is Status.QUARANTINED
    assert "'recipe', which plugin 'recipes' already provides" in (copy.reason or "")
    thief = host.get("thief")
    assert "'character', which plugin 'core' already provides" in (thief.reason or "")
    assert host.kinds.get("character").label == "Character"


def test_safe_mode_turns_off_a_plugin_that_keeps_failing(plugin_settings: Settings) -> None:
    write_plugin(plugin_settings.plugins_dir, "flaky", code="raise RuntimeError('boom')\n")
    for attempt in range(1, SAFE_MODE_AFTER + 1):
        plugin = new_host(plugin_settings).get("flaky")
        expected = Status.DISABLED if attempt == SAFE_MODE_AFTER else Status.QUARANTINED
        assert plugin.status is expected, attempt
    assert "safe mode (failed 3 times in a row)" in (plugin.reason or "")
    # Off stays off (no more attempts) until enabled; then the count starts again.
    assert new_host(plugin_settings).get("flaky").status is Status.DISABLED
    write_plugin(plugin_settings.plugins_dir, "flaky", manifest=None)
    (plugin_settings.plugins_dir / "flaky" / "plugin.toml").write_text(
        'name = "flaky"\nversion = "1.0"\n', encoding="utf-8"
    )
    host = new_host(plugin_settings)
    assert host.enable("flaky")["status"] == "loaded"
    state = json.loads((plugin_settings.plugins_dir / "state.json").read_text())
    assert "flaky" not in state["disabled"] and "flaky" not in state["failures"]


def test_strict_mode_makes_a_plugin_failure_fatal(plugin_settings: Settings) -> None:
    write_plugin(plugin_settings.plugins_dir, "flaky", code="raise RuntimeError('boom')\n")
    with pytest.raises(PluginError, match="RuntimeError: boom"):
        new_host(plugin_settings, strict=True)


def test_a_reload_that_fails_keeps_the_running_version(plugin_settings: Settings) -> None:
    folder = write_plugin(plugin_settings.plugins_dir, "recipes", version="1.0.0")
    host = new_host(plugin_settings)
    first = host.kinds.get("recipe")

    (folder / "__init__.py").write_text("def broken(:\n", encoding="utf-8")
    with pytest.raises(PluginError, match="not reloaded, the running version stays") as err:
        host.reload("recipes")
    assert err.value.code == "plugin_reload_failed"
    assert host.get("recipes").status is Status.LOADED
    assert host.kinds.get("recipe") is first

    # New code that imports but fails as it registers: the old version is registered again.
    bad = RECIPES.format(version="2", prefix="") + "\n\nraise_later = 1\n"
    bad = bad.replace("register(MenuPlanner)", "register(MenuPlanner)\n    1 / 0")
    (folder / "__init__.py").write_text(bad, encoding="utf-8")
    with pytest.raises(PluginError, match="ZeroDivisionError"):
        host.reload("recipes")
    assert host.kinds.get("recipe").model is first.model and "menu_planner" in host.tools

    write_plugin(plugin_settings.plugins_dir, "recipes", version="2.0.0")
    assert host.reload("recipes")["version"] == "2.0.0"
    second = host.kinds.get("recipe")
    assert second is not first and second.model is not first.model


def test_a_tool_running_while_its_plugin_unloads_finishes(plugin_settings: Settings) -> None:
    write_plugin(plugin_settings.plugins_dir, "recipes")
    host = new_host(plugin_settings)
    planner = host.tools["menu_planner"]
    host.disable("recipes")
    assert "menu_planner" not in host.tools
    # The class a caller already holds still works: unloading takes names away, not code.
    assert planner.Input.model_validate({"guests": 4}).guests == 4


# ---- the API and the CLI, while a server runs ----------------------------------------------


def test_the_api_mounts_and_unmounts_a_plugins_routes(
    plugin_settings: Settings, sqlite_url: str
) -> None:
    write_plugin(plugin_settings.plugins_dir, "recipes", version="1.0.0")
    settings = plugin_settings.model_copy(update={"database_url_override": sqlite_url})
    host = new_host(settings)
    client = TestClient(create_app(settings, studio=False, plugins=host))

    names = {p["name"]: p["status"] for p in client.get("/api/v1/plugins").json()}
    assert names == {
        "core": "loaded",
        "images": "loaded",
        "stories": "loaded",
        "board_games": "loaded",
        "recipes": "loaded",
    }
    assert client.get("/api/v1/recipes/version").json() == {"version": "1.0.0"}
    made = client.post("/api/v1/entities/recipe", json={"name": "Soup", "data": {"servings": 4}})
    assert made.status_code == 201, made.text
    recipe_id = made.json()["id"]

    off = client.post("/api/v1/plugins/recipes/disable")
    assert off.json()["status"] == "disabled"
    assert client.get("/api/v1/recipes/version").status_code == 404
    gone = client.get(f"/api/v1/entities/recipe/{recipe_id}")
    assert gone.status_code == 404
    assert "plugin 'recipes', which is disabled" in gone.json()["error"]["message"]
    assert "/api/v1/recipes/version" not in client.get("/api/v1/openapi.json").json()["paths"]
    everything = client.get("/api/v1/search").json()
    assert [e["name"] for e in everything["items"]] == ["Soup"]  # kept, still listed

    assert client.post("/api/v1/plugins/recipes/enable").json()["status"] == "loaded"
    assert client.get(f"/api/v1/entities/recipe/{recipe_id}").json()["data"]["servings"] == 4
    write_plugin(plugin_settings.plugins_dir, "recipes", version="1.1.0")
    assert client.post("/api/v1/plugins/recipes/reload").json()["version"] == "1.1.0"
    assert client.get("/api/v1/recipes/version").json() == {"version": "1.1.0"}
    missing = client.post("/api/v1/plugins/nope/enable")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "plugin_not_found"


def test_the_cli_turns_a_plugin_off_in_a_running_server(
    plugin_settings: Settings, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.cli import main

    write_plugin(plugin_settings.plugins_dir, "recipes")
    settings = plugin_settings.model_copy(update={"database_url_override": sqlite_url})
    monkeypatch.setenv("LIFEOS_LOAD_PLUGINS", "1")
    reset_settings_cache()
    host = new_host(settings)
    with TestClient(create_app(settings, studio=False, plugins=host)) as client:  # lifespan
        assert client.get("/api/v1/recipes/version").status_code == 200
        assert main(["plugins", "disable", "recipes"]) == 0
        assert _eventually(lambda: client.get("/api/v1/recipes/version").status_code == 404)
        assert main(["plugins", "enable", "recipes"]) == 0
        assert _eventually(lambda: client.get("/api/v1/recipes/version").status_code == 200)
        write_plugin(plugin_settings.plugins_dir, "recipes", version="3.0.0")
        assert main(["plugins", "reload", "recipes"]) == 0
        assert _eventually(
            lambda: client.get("/api/v1/recipes/version").json() == {"version": "3.0.0"}
        )
    assert main(["plugins", "info", "nope"]) == 1


def _eventually(check: object, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_plugins_list_prints_every_plugin(
    plugin_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from apps.cli import main

    monkeypatch.setenv("LIFEOS_LOAD_PLUGINS", "1")
    reset_settings_cache()
    write_plugin(plugin_settings.plugins_dir, "broken", code="import no_such_module_xyz\n")
    assert main(["plugins", "list", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert listed["broken"]["status"] == "quarantined"
    assert "No module named 'no_such_module_xyz'" in listed["broken"]["reason"]
    assert textwrap.dedent(listed["core"]["origin"]).startswith("entry point core")


def test_a_plugins_dagster_assets_join_the_definitions(plugin_settings: Settings) -> None:
    import dagster as dg

    from pipelines.definitions import build_definitions
    from tests.test_up import PANTRY

    write_plugin(
        plugin_settings.plugins_dir,
        "pantry",
        code=PANTRY,
        manifest='name = "pantry"\nversion = "1"\n',
    )
    host = new_host(plugin_settings)
    defs = build_definitions(host)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"pantry_inventory", "library_snapshot"} <= keys
    assert (
        dg.materialize([defs.get_assets_def("pantry_inventory")]).output_for_node(
            "pantry_inventory"
        )
        == 3
    )
    host.disable("pantry")
    keys = {
        k.to_user_string()
        for k in build_definitions(host).resolve_asset_graph().get_all_asset_keys()
    }
    assert "pantry_inventory" not in keys and "library_snapshot" in keys


def test_plugins_new_writes_a_plugin_that_loads_and_passes_its_test(
    plugin_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess
    import sys

    from apps.cli import main

    monkeypatch.setenv("LIFEOS_LOAD_PLUGINS", "1")
    reset_settings_cache()
    assert main(["plugins", "new", "book_club"]) == 0
    folder = plugin_settings.plugins_dir / "book_club"
    assert (folder / "tests" / "test_book_club.py").is_file()
    host = new_host(plugin_settings)
    assert host.get("book_club").registered == {
        "kinds": ["book_club_note"],
        "tools": ["book_club_summary"],
        "pages": ["book_club"],
    }
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout[-2000:]
    capsys.readouterr()
    assert main(["plugins", "new", "book_club"]) == 1  # never over an existing folder
    assert "already exists" in capsys.readouterr().err
    assert main(["plugins", "new", "Book-Club"]) == 1
    assert "is not a plugin name" in capsys.readouterr().err


def test_a_plugin_whose_migration_fails_is_quarantined(
    plugin_settings: Settings, db_url: str
) -> None:
    """A plugin's own migration (its `migrations/versions/`) runs as it loads; one that fails
    quarantines the plugin with the reason and the rest loads. On PostgreSQL the failed
    revision leaves nothing behind (SQLite's driver commits DDL as it goes)."""
    settings = plugin_settings.model_copy(update={"database_url_override": db_url})
    folder = write_plugin(settings.plugins_dir, "pantry")
    versions = folder / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "0001_shelves.py").write_text(
        'revision = "p1"\ndown_revision = None\n\nfrom alembic import op\n\n\n'
        "def upgrade():\n    op.execute('CREATE TABLE pantry_shelves (id INTEGER)')\n"
        "    op.execute('INSERT INTO no_such_table VALUES (1)')\n",
        encoding="utf-8",
    )
    host = new_host(settings)
    pantry = host.get("pantry")
    assert pantry.status is Status.QUARANTINED
    reason = pantry.reason or ""
    assert "its migration failed" in reason and "no_such_table" in reason
    assert host.get("core").status is Status.LOADED and "character" in host.kinds
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    if db_url.startswith("postgresql"):
        assert "pantry_shelves" not in tables  # rolled back with the failed revision
