"""Board games is a plugin like anyone's: turning it off takes away its pages, routes, commands,
tools and Dagster assets, and turning it on brings them back with the games and answers the
library kept. Real host, real API app, real Definitions; nothing mocked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from apps.api.app import create_app
from lifeos.plugins import PluginHost, Status, host_for
from lifeos.settings import Settings
from pipelines.definitions import build_definitions

ASSETS = {"rulebook_pages", "rulebook_chunks", "rulebook_index", "rules_qa_eval", "bgg_catalogue"}


@pytest.fixture
def settings(lifeos_home, sqlite_url: str) -> Settings:  # noqa: ANN001
    return Settings(home=lifeos_home, database_url_override=sqlite_url)


def _asset_keys(host: PluginHost, settings: Settings) -> set[str]:
    defs = build_definitions(host, settings)
    return {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


def test_board_games_goes_and_comes_back_whole(settings: Settings) -> None:
    host = host_for(settings).load_all()
    plugin = host.get("board_games")
    assert plugin.builtin and plugin.status is Status.LOADED, plugin.reason
    client = TestClient(create_app(settings, studio=False, plugins=host))
    game = client.post(
        "/api/v1/entities/board_game", json={"name": "Azul", "data": {"min_players": 2}}
    )
    assert game.status_code == 201, game.text
    game_id = game.json()["id"]
    assert client.get("/api/v1/rulebooks").status_code == 200
    assert {"rules_qa"} <= set(host.tools) and "ask" in host.registries.pages
    assert set(host.registries.commands) >= {"ask", "games", "rulebook", "eval"}
    assert _asset_keys(host, settings) >= ASSETS
    assert build_definitions(host, settings).resolve_job_def("rulebook_ingest")

    host.disable("board_games")
    assert client.get("/api/v1/rulebooks").status_code == 404
    assert client.post("/api/v1/rules/ask", json={"game": "Azul", "question": "?"}).status_code == (
        404
    )
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/api/v1/games", "/api/v1/rules"))]
    assert "rules_qa" not in host.tools and "ask" not in host.registries.pages
    assert not {"ask", "games", "rulebook", "eval"} & set(host.registries.commands)
    assert "story" in host.registries.commands  # the other plugins' commands stay
    keys = _asset_keys(host, settings)
    assert not ASSETS & keys and "library_snapshot" in keys
    kept = client.get(f"/api/v1/entities/board_game/{game_id}")
    assert kept.status_code == 404
    assert "plugin 'board_games', which is disabled" in kept.json()["error"]["message"]
    # The rest of the workbench goes on: other kinds, other routes.
    assert client.post("/api/v1/entities/character", json={"name": "Ada"}).status_code == 201

    host.enable("board_games")
    back = client.get(f"/api/v1/entities/board_game/{game_id}")
    assert back.status_code == 200 and back.json()["data"]["min_players"] == 2
    assert client.get("/api/v1/rulebooks").status_code == 200
    assert _asset_keys(host, settings) >= ASSETS
    assert "rules_qa" in host.tools and "ask" in host.registries.pages


def test_a_process_that_serves_no_pages_never_imports_them(settings: Settings) -> None:
    """The CLI loads kinds, tools, commands and definitions only: `lifeos --help` stays quick."""
    host = host_for(
        settings, parts=("kinds", "tools", "models", "commands", "definitions")
    ).load_all()
    assert host.get("board_games").registered.keys() == {
        "kinds",
        "tools",
        "commands",
        "definitions",
    }
    assert not host.registries.pages and not host.registries.routers
    with pytest.raises(ValueError, match="no such plugin parts"):
        host_for(settings, parts=("kinds", "widgets"))


def test_stories_wait_for_images_and_come_back_with_them(settings: Settings) -> None:
    """A plugin that builds on another (`depends`) goes when it goes and comes back with it."""
    host = host_for(settings).load_all()
    assert host.get("stories").status is Status.LOADED
    host.disable("images")
    stories = host.get("stories")
    assert stories.status is Status.WAITING and "'images'" in (stories.reason or "")
    assert "story" not in host.kinds and "stories" not in host.registries.pages
    assert "character" in host.kinds  # core stays
    # A new process starts with images off: stories waits there too, and loads with it.
    again = host_for(settings).load_all()
    assert again.get("stories").status is Status.WAITING
    again.enable("images")
    assert again.get("stories").status is Status.LOADED and "story" in again.kinds


def test_the_studio_has_the_tabs_of_a_plugin_that_is_off_and_they_wait(
    settings: Settings,
) -> None:
    """Built while board games is off, the studio still has its tab (a new session shows it
    once the plugin is on); while off, its handlers do nothing rather than fail."""
    import gradio as gr

    from apps.studio.app import build_studio
    from apps.studio.base import Studio
    from plugins.board_games.studio.ask import AskPage

    host = host_for(settings).load_all()
    host.disable("board_games")
    blocks = build_studio(settings, host)
    ids = {getattr(b, "elem_id", None) for b in blocks.blocks.values()}
    assert {"tab-ask", "plugin-off-ask", "ask-game"} <= ids
    assert "tab-generate" in ids and "tab-library" in ids

    page = AskPage(Studio(settings, host))
    page.plugin = "board_games"
    assert page.is_off() and page.games() == gr.skip()
    host.enable("board_games")
    assert not page.is_off()
    assert page.games() != gr.skip()  # it lists the library's games again
