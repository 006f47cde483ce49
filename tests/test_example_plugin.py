"""The example third-party plugin (examples/recipes), installed with pip as anyone would install
a plugin, found through its entry point, used through each of its parts (kind, route, tool on
the local model, Dagster asset), turned off and on. The studio side is in test_studio.py."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient

from apps.api.app import create_app
from lifeos.plugins import PluginHost, Status, host_for
from lifeos.settings import Settings, reset_settings_cache
from pipelines.definitions import build_definitions
from tests.llm_helpers import copy_configs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "recipes"


def pip_install(target: Path) -> Path:
    """`pip install` the example into `target` (offline: no index, the venv's setuptools)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
        + ["--no-build-isolation", "--target", str(target), str(EXAMPLE)],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The installed distribution on sys.path for this module's tests only (the rest of the
    suite must not find a third-party plugin it did not ask for)."""
    site = pip_install(tmp_path_factory.mktemp("site"))
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site))
    for name in [
        m for m in sys.modules if m == "lifeos_recipes" or m.startswith("lifeos_recipes.")
    ]:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture
def settings(lifeos_home: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    configs = copy_configs(lifeos_home / "configs")
    # The smallest local model picks: the flow is under test, not the model's taste. The
    # library's models.yaml points the plugin's own alias at it (the file wins).
    models = yaml.safe_load((configs / "models.yaml").read_text())
    models["aliases"]["recipes_chef"] = {"model": "local/smollm2-135m"}
    (configs / "models.yaml").write_text(yaml.safe_dump(models), encoding="utf-8")
    monkeypatch.setenv("LIFEOS_CONFIG_DIR", str(configs))  # what the routes' router reads
    reset_settings_cache()
    return Settings(
        home=lifeos_home, database_url_override=sqlite_url, load_plugins=True, config_dir=configs
    )


def _assets(host: PluginHost, settings: Settings) -> set[str]:
    graph = build_definitions(host, settings).resolve_asset_graph()
    return {k.to_user_string() for k in graph.get_all_asset_keys()}


@pytest.mark.slow  # the tool runs on the local model
def test_the_installed_example_plugin_works_goes_and_comes_back(
    installed: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = host_for(settings).load_all()
    # This process's host, as in a server with the plugin installed: the Dagster resources
    # read the kinds from it.
    monkeypatch.setattr("lifeos.plugins._host", host)
    plugin = host.get("recipes")
    assert plugin.status is Status.LOADED, plugin.reason
    assert not plugin.builtin and "lifeos-recipes 0.1.0" in plugin.origin
    assert plugin.manifest is not None
    declared = {k: v for k, v in plugin.manifest.provides.model_dump().items() if v}
    # Definitions are declared by their asset keys, registered as one `Definitions` each.
    assert declared.pop("definitions") == ["recipes_shopping_list"]
    assert plugin.registered.pop("definitions") == ["recipes:0"]
    assert declared == plugin.registered

    assert host.registries.models["recipes_chef"].model == "local/qwen2.5-coder-0.5b"
    from lifeos.llm.router import Router

    router = Router(database_url=settings.database_url, config_dir=settings.config_dir)
    assert router.config.alias("recipes_chef").model == "local/smollm2-135m"  # the file's

    client = TestClient(create_app(settings, studio=False, plugins=host))
    listed = {a["alias"] for a in client.get("/api/v1/models").json()["aliases"]}
    assert "recipes_chef" in listed
    for name, ingredients in [("Omelette", ["eggs", "butter"]), ("Pancakes", ["flour", "eggs"])]:
        made = client.post(
            "/api/v1/entities/recipe", json={"name": name, "data": {"ingredients": ingredients}}
        )
        assert made.status_code == 201, made.text
    shopping = client.get("/api/v1/recipes/shopping-list").json()
    assert shopping[0] == {"item": "eggs", "recipes": 2}
    # Its own table, made by its own migration as it loaded (a version table of its own).
    omelette = client.get("/api/v1/search", params={"q": "Omelette"}).json()["items"][0]["id"]
    assert client.post(f"/api/v1/recipes/{omelette}/cooked").json() == {omelette: 1}
    assert client.post(f"/api/v1/recipes/{omelette}/cooked").json() == {omelette: 2}
    assert client.post("/api/v1/recipes/nope/cooked").status_code == 404
    with sa.create_engine(settings.database_url).connect() as conn:
        version = "SELECT version_num FROM lifeos_alembic_version_recipes"
        assert conn.execute(sa.text(version)).scalar_one() == "recipes_0001"

    picked = client.post("/api/v1/recipes/pick", json={"wish": "something with flour"})
    assert picked.status_code == 200, picked.text
    assert picked.json()["recipe"] and picked.json()["why"]
    assert client.post("/api/v1/recipes/pick", json={"wish": ""}).status_code == 422

    # Its settings: through the API (validated by its model), used by its asset.
    shown = client.get("/api/v1/plugins/recipes/settings").json()
    assert shown["values"] == {"max_recipes": 50, "shopping_list_file": "shopping-list.md"}
    assert "max_recipes" in shown["schema"]["properties"]
    bad = client.put("/api/v1/plugins/recipes/settings", json={"max_recipes": 0})
    assert bad.status_code == 422 and "max_recipes" in bad.text
    unknown = client.put("/api/v1/plugins/recipes/settings", json={"colour": "red"})
    assert unknown.status_code == 400 and "no setting 'colour'" in unknown.text
    assert client.get("/api/v1/plugins/core/settings").status_code == 404  # none of its own
    put = client.put("/api/v1/plugins/recipes/settings", json={"shopping_list_file": "list.md"})
    assert put.json()["values"]["shopping_list_file"] == "list.md"

    defs = build_definitions(host, settings)
    result = dg.materialize(
        [defs.get_assets_def("recipes_shopping_list")],
        resources={"library": dict(defs.resources or {})["library"]},
    )
    assert result.success
    shopping_md = (settings.exports_dir / "list.md").read_text(encoding="utf-8")
    assert shopping_md.splitlines()[0] == "- eggs ×2"

    host.disable("recipes")
    assert client.get("/api/v1/recipes/shopping-list").status_code == 404
    assert "recipes_pick" not in host.tools and "recipes" not in host.registries.pages
    assert "recipes_chef" not in host.registries.models
    assert client.get("/api/v1/plugins/recipes/settings").status_code == 404
    assert "recipes_shopping_list" not in _assets(host, settings)
    host.enable("recipes")
    assert client.get("/api/v1/recipes/shopping-list").json()[0]["recipes"] == 2
    assert "recipes_shopping_list" in _assets(host, settings)
    # The settings were kept while it was off.
    kept = client.get("/api/v1/plugins/recipes/settings").json()["values"]
    assert kept["shopping_list_file"] == "list.md"


def test_plugin_settings_from_the_cli(
    installed: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from apps.cli import main

    monkeypatch.setenv("LIFEOS_LOAD_PLUGINS", "1")
    reset_settings_cache()
    assert main(["plugins", "settings", "recipes", "max_recipes=12"]) == 0
    assert "max_recipes = 12" in capsys.readouterr().out
    assert main(["plugins", "settings", "recipes", "max_recipes=none"]) == 1
    assert "max_recipes" in capsys.readouterr().err
    assert main(["plugins", "settings", "recipes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["values"]["max_recipes"] == 12
    assert host_for(settings).load_all().settings_of("recipes").max_recipes == 12  # type: ignore[attr-defined]
