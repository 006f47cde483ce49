"""The studio in a real browser: Debian's chromium driven by Playwright against the real app
(API + studio) started with uvicorn on a free loopback port. Screenshots of each page land in
`.test-output/studio/` (kept by CI as artifacts)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from lifeos.db import migrate
from lifeos.db.engine import session_scope
from lifeos.demo import load_demo
from tests.llm_helpers import copy_configs
from tests.services import answers, free_port, stop, wait_until

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "rulebooks"
SHOTS = ROOT / ".test-output" / "studio"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """The real app on a free port, over a demo library with the Hearts rulebook ingested."""
    home = tmp_path_factory.mktemp("studio-home")
    configs = copy_configs(home / "configs")
    # The smallest local model answers in the browser tests: the flow is under test here,
    # answer quality is measured by `lifeos eval rules`.
    qa_path = configs / "tools" / "rules_qa.yaml"
    qa = yaml.safe_load(qa_path.read_text())
    qa["model"] = "tiny"
    qa_path.write_text(yaml.safe_dump(qa, sort_keys=False))
    # Stories on the 0.5B model; a repeat penalty keeps it from looping until the token limit
    # (which it did at temperature 0.7 with one llama.cpp build).
    models_path = configs / "models.yaml"
    models = yaml.safe_load(models_path.read_text())
    models["aliases"]["story"] = {
        "model": "local/qwen2.5-coder-0.5b",
        "options": {"repeat_penalty": 1.15},
    }
    models_path.write_text(yaml.safe_dump(models, sort_keys=False))
    for tool in ("story_planner", "story_writer"):
        path = configs / "tools" / f"{tool}.yaml"
        path.write_text(path.read_text().replace("model: default", "model: story"))
    port = free_port()
    # BoardGameGeek: a loopback server replaying real XML API2 recordings (tests/test_bgg.py).
    from http.server import ThreadingHTTPServer

    from tests.test_bgg import Replay

    bgg = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    threading.Thread(target=bgg.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "LIFEOS_HOME": str(home),
        "LIFEOS_CONFIG_DIR": str(configs),
        "LIFEOS_BGG_URL": f"http://127.0.0.1:{bgg.server_address[1]}/xmlapi2",
        "LIFEOS_BGG_TOKEN": "t0ken",
        "LIFEOS_BGG_MIN_INTERVAL_S": "0",
        "LIFEOS_API_PORT": str(port),
        "LIFEOS_LOAD_PLUGINS": "1",  # third-party plugins too: the example below
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "LIFEOS_LOG_JSON": "true",
    }
    env.pop("LIFEOS_DATABASE_URL", None)
    # The example plugin, installed with pip as anyone's plugin is (on the server's path only).
    from tests.test_example_plugin import pip_install

    env["PYTHONPATH"] = str(pip_install(home / "site"))
    (configs / "tools" / "recipes_pick.yaml").write_text(
        "model: tiny\nmax_tokens: 120\nsystem: You choose one recipe from a list.\n"
        "user: \"I feel like {{ wish }}. Pick one of: {{ recipes | join('; ') }}\"\n"
    )
    url = f"sqlite:///{home / 'lifeos.db'}"
    migrate.upgrade(url)
    with session_scope(url) as session:
        load_demo(session)
    added = subprocess.run(
        [
            str(Path(sys.executable).parent / "lifeos"),
            "rulebook",
            "add",
            str(DATA / "dev_hearts.pdf"),
            "--game",
            "Hearts",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert added.returncode == 0, added.stderr[-2000:]
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "apps.api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(f"{base}/readyz"), proc, home / "server.log", what="the app")
    yield {"base": base, "home": home, "configs": configs, "api": f"{base}/api/v1"}
    stop(proc)
    log.close()
    bgg.shutdown()


@pytest.fixture
def page(browser, server):  # noqa: ANN001, ANN201
    # Wide enough for every tab: past the width, Gradio folds the last ones into a menu.
    context = browser.new_context(viewport={"width": 1920, "height": 1000})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.goto(f"{server['base']}/studio/")
    pg.wait_for_selector("#library-table")
    yield pg
    context.close()


def shot(pg, name: str) -> None:  # noqa: ANN001
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def field(pg, name: str):  # noqa: ANN001, ANN201
    return pg.locator(f"#field-{name} textarea, #field-{name} input").first


def open_row(pg, text: str) -> None:  # noqa: ANN001
    pg.locator("#library-table [role=gridcell]", has_text=text).first.click()
    pg.wait_for_selector(f"#entity-title:has-text({text!r})")
    pg.wait_for_timeout(1000)  # the editor re-renders on every selection; let it settle


def http_get(url: str, **kwargs) -> httpx.Response:  # noqa: ANN003
    """The API beside the studio, with room for a slow shared machine (httpx waits 5 s)."""
    return httpx.get(url, timeout=30, **kwargs)


def search(pg, words: str) -> None:  # noqa: ANN001
    """Type a search and wait until the table follows it (the count in its summary changes),
    or 15 s on a busy machine if the search leaves the count as it was."""
    import contextlib
    import re

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    found = re.search(r"\d+ entities", pg.inner_text("#library-summary"))
    before = found.group(0) if found else ""
    pg.locator("#library-search textarea, #library-search input").first.fill(words)
    with contextlib.suppress(PlaywrightTimeout):  # the same count: nothing visible changed
        pg.wait_for_function(
            """(prev) => {
                const m = document.querySelector('#library-summary').innerText
                    .match(/\\d+ entities/);
                return m !== null && m[0] !== prev;
            }""",
            arg=before,
            timeout=15_000,
        )
    pg.wait_for_timeout(300)


def entity(server, kind: str, name: str) -> dict:  # noqa: ANN001
    items = http_get(f"{server['api']}/entities/{kind}", params={"q": name}).json()["items"]
    return next(e for e in items if e["name"] == name)


def test_edit_with_a_validation_error_first(page, server) -> None:  # noqa: ANN001
    search(page, "kalah")
    assert "1 entities" in page.inner_text("#library-summary")
    open_row(page, "Kalah")
    assert "revision 1" in page.inner_text("#entity-title")
    field(page, "min_players").fill("-3")
    page.click("#entity-save")
    page.wait_for_selector("#error-min_players")
    assert "greater than or equal to 1" in page.inner_text("#error-min_players")
    assert field(page, "min_players").input_value() == "-3"  # what was typed is kept
    shot(page, "library-validation-error")
    assert entity(server, "board_game", "Kalah")["data"]["min_players"] == 2  # nothing saved
    field(page, "min_players").fill("1")
    page.click("#entity-save")
    page.wait_for_selector("#entity-title:has-text('revision 2')")
    assert "Saved Kalah" in page.inner_text("#entity-status")
    assert entity(server, "board_game", "Kalah")["data"]["min_players"] == 1
    shot(page, "library-editor")


def test_create_search_delete_undo_and_trash(page, server) -> None:  # noqa: ANN001
    page.locator("#library-kind input").fill("character")
    page.keyboard.press("Enter")
    page.wait_for_selector("#library-summary:has-text('of kind character')")
    page.click("#library-new")
    page.wait_for_selector("#entity-title:has-text('New Character')")
    field(page, "name").fill("Captain Wren")
    field(page, "tags").fill("pilot, browser-test")
    page.click("#entity-save")
    page.wait_for_selector("#entity-status:has-text('Saved Captain Wren')")
    created = entity(server, "character", "Captain Wren")
    assert created["tags"] == ["browser-test", "pilot"]

    search(page, "wren")
    assert "1 entities" in page.inner_text("#library-summary")
    open_row(page, "Captain Wren")
    page.click("#entity-delete")
    page.wait_for_selector("#entity-status:has-text('Moved Captain Wren to the trash')")
    assert http_get(f"{server['api']}/entities/character/{created['id']}").status_code == 404
    page.click("#entity-undo")
    page.wait_for_selector("#entity-status:has-text('Restored Captain Wren')")
    assert http_get(f"{server['api']}/entities/character/{created['id']}").status_code == 200

    page.click("#entity-delete")
    page.wait_for_selector("#entity-status:has-text('to the trash')")
    page.locator("#library-trash input").check()
    page.wait_for_selector("#library-summary:has-text('in the trash')")
    open_row(page, "Captain Wren")
    page.wait_for_selector("#entity-title:has-text('in the trash')")
    shot(page, "library-trash")
    page.click("#entity-restore")
    page.wait_for_selector("#entity-status:has-text('Restored Captain Wren')")
    assert http_get(f"{server['api']}/entities/character/{created['id']}").status_code == 200


def test_import_and_export_a_character_card(page, server) -> None:  # noqa: ANN001
    page.get_by_role("tab", name="Cards").click()
    card = Path(__file__).resolve().parent / "fixtures" / "cards" / "seraphina_v2.png"
    page.locator("#card-file input[type=file]").set_input_files(str(card))
    page.wait_for_timeout(500)
    page.click("#card-import")
    page.wait_for_selector("#card-status:has-text('Imported Seraphina')")
    from playwright.sync_api import expect

    expect(page.locator("#card-character input")).to_have_value("Seraphina")
    page.click("#card-export-png")
    page.wait_for_selector("#card-download a")
    link = page.locator("#card-download a").first.get_attribute("href")
    from plugins.stories.tools.cards import read_card_file, read_png_card

    exported = http_get(link if link.startswith("http") else server["base"] + link)
    assert read_png_card(exported.content, source="studio") == read_card_file(card)
    shot(page, "cards")


def test_upload_a_rulebook_ask_and_give_feedback(page, server) -> None:  # noqa: ANN001
    page.get_by_role("tab", name="Ask the rules").click()
    page.wait_for_selector("#ask-question")
    # A file that is not a PDF: a clear message, nothing else changes.
    bad = server["home"] / "notes.pdf"
    bad.write_text("this is not a pdf")
    page.locator("#ask-upload-box").click()
    page.locator("#ask-upload input[type=file]").set_input_files(str(bad))
    page.click("#ask-upload-run")
    page.wait_for_selector(
        ".toast-body:has-text('not a PDF'), .toast-wrap:has-text('not a PDF')", timeout=30_000
    )
    # A real rulebook: stored, ingested as a Dagster run, then selectable.
    page.reload()
    page.get_by_role("tab", name="Ask the rules").click()
    page.locator("#ask-upload-box").click()
    page.locator("#ask-upload input[type=file]").set_input_files(str(DATA / "dev_kalah.pdf"))
    page.locator("#ask-upload-game textarea, #ask-upload-game input").first.fill("Kalah")
    page.click("#ask-upload-run")
    page.wait_for_selector("#ask-upload-status:has-text('chunks in')", timeout=180_000)
    assert "Dagster run" in page.inner_text("#ask-upload-status")
    shot(page, "ask-upload")
    assert page.locator("#ask-game input").input_value() == "Kalah"

    page.locator("#ask-question textarea").fill("How many seeds go in each pit at the start?")
    page.click("#ask-run")
    page.wait_for_selector("#ask-chat :text('confidence')", timeout=180_000)
    chat = page.inner_text("#ask-chat")
    assert "p. " in chat  # a cited or closest passage, with its page
    page.locator("#ask-citations label").first.click()
    page.wait_for_selector("#ask-page img")
    page.locator("#ask-notes textarea").fill("checked against the book")
    page.click("#ask-helpful")
    page.wait_for_selector("#ask-feedback-status:has-text('saved as helpful')")
    shot(page, "ask")
    qas = http_get(f"{server['api']}/entities/qa", params={"q": "seeds pit start"}).json()["items"]
    assert qas and qas[0]["data"]["feedback"] == "helpful"
    assert qas[0]["data"]["feedback_notes"] == "checked against the book"
    assert qas[0]["data"]["citations"] or qas[0]["data"]["abstained"]


def test_find_a_game_on_boardgamegeek(page, server) -> None:  # noqa: ANN001
    page.get_by_role("tab", name="Ask the rules").click()
    page.locator("#ask-bgg-box").click()
    page.locator("#ask-bgg-query textarea").fill("Agricola")
    page.click("#ask-bgg-search")
    page.wait_for_selector("#ask-bgg-status:has-text('49 games found')")
    page.click("#ask-bgg-add")
    page.wait_for_selector("#ask-bgg-status:has-text('is in the library')")
    assert page.locator("#ask-game input").input_value() == "Agricola (no rulebook yet)"
    shot(page, "ask-bgg")
    games = http_get(f"{server['api']}/entities/board_game", params={"q": "agricola"}).json()
    assert games["items"][0]["data"]["bgg_id"] == 31260


def test_generate_a_batch_and_open_an_image(page, server) -> None:  # noqa: ANN001
    page.get_by_role("tab", name="Generate").click()
    assert "test model" in page.inner_text("#generate-test-model")  # says it is noise
    page.locator("#generate-entities input").click()
    page.keyboard.type("Bram")
    page.wait_for_timeout(500)
    page.keyboard.press("Enter")
    page.locator("#generate-text textarea").fill("in __place__")
    page.wait_for_selector("#generate-prompt:has-text('Bram Copperpot')")
    assert "__place__" not in page.inner_text("#generate-prompt")  # wildcard drawn
    page.locator("#generate-size input").fill("64x64")
    page.keyboard.press("Enter")
    page.locator("#generate-count input[type=number]").fill("2")
    page.locator("#generate-count input[type=number]").press("Enter")
    page.click("#generate-run")
    page.wait_for_selector("#generate-progress:has-text('images in')", timeout=120_000)
    assert "2 images" in page.inner_text("#generate-progress")
    page.locator("#generate-gallery img").first.click()
    page.wait_for_selector("#generate-image-info:has-text('Bram Copperpot (depicts)')")
    page.click("#generate-favorite")
    page.wait_for_selector("#generate-image-status:has-text('favorite')")
    shot(page, "generate")
    images = http_get(f"{server['api']}/entities/image", params={"favorite": True}).json()
    assert images["total"] == 1 and images["items"][0]["data"]["test_model"] is True


def test_start_a_story_read_it_and_export_it(page, server) -> None:  # noqa: ANN001
    page.get_by_role("tab", name="Stories").click()
    page.locator("#story-characters input").click()
    page.keyboard.type("Mina")
    page.wait_for_timeout(400)
    page.keyboard.press("Enter")
    page.locator("#story-tone textarea").fill("cozy")
    page.locator("#story-scenes input[type=number]").fill("1")
    page.locator("#story-scenes input[type=number]").press("Enter")
    page.locator("#story-size input").fill("64x64")
    page.keyboard.press("Enter")
    page.click("#story-start")
    page.wait_for_selector("#story-progress:has-text('done in')", timeout=240_000)
    page.wait_for_selector("#story-reader h3:has-text('illustrated')")
    assert page.locator("#story-reader img").count() == 1  # the scene's picture
    page.click("#story-export-html")
    page.wait_for_selector("#story-export-file a")
    shot(page, "stories")
    stories = http_get(f"{server['api']}/entities/story").json()["items"]
    mine = [s for s in stories if s["name"] == "A story of Mina Park"]
    assert mine and mine[0]["data"]["status"] == "done"


def test_schedule_with_cron_helper_run_now_and_history(page, server) -> None:  # noqa: ANN001
    page.get_by_role("tab", name="Schedules").click()
    page.wait_for_selector("#schedules-table [role=gridcell]:has-text('Morning portraits')")
    # "New" clears the form from the server: wait for that before typing, or its late reply
    # wipes what was typed (the name came back empty on a slow machine).
    name = page.locator("#schedule-name textarea")
    name.fill("not cleared yet")
    page.click("#schedule-new")
    page.wait_for_function("() => document.querySelector('#schedule-name textarea').value === ''")
    name.fill("Lunch sketches")
    page.locator("#schedule-cron textarea").fill("every noon")
    page.wait_for_selector("#schedule-next:has-text('not a valid')")
    page.locator("#schedule-cron textarea").fill("30 12 * * 1-5")
    page.locator("#schedule-zone textarea").fill("Europe/Paris")
    page.wait_for_selector("#schedule-next:has-text('12:30')")
    assert page.inner_text("#schedule-next").count("12:30") == 5
    editor = page.locator("#schedule-space .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    # insert_text, not type: the editor would close every bracket typed
    page.keyboard.insert_text(
        '{"slots": [{"kind": "character"}], "count": 1, "width": 64, "height": 64, "steps": 2}'
    )
    page.click("#schedule-save")
    try:
        page.wait_for_selector("#schedule-status:has-text('Saved Lunch sketches')")
    except Exception:
        shot(page, "schedules-save-failed")
        raise
    page.click("#schedule-run")
    page.wait_for_selector("#schedule-status:has-text('succeeded')", timeout=120_000)
    page.wait_for_selector("#schedule-history [role=gridcell]:has-text('succeeded')")
    page.wait_for_selector("#schedules-unread:has-text('1 unread')")
    shot(page, "schedules")
    listed = http_get(f"{server['api']}/schedules").json()
    lunch = next(s for s in listed if s["name"] == "Lunch sketches")
    assert lunch["data"]["timezone"] == "Europe/Paris" and len(lunch["next_runs"]) == 5


def _editor_yaml(pg) -> dict:  # noqa: ANN001
    return yaml.safe_load(pg.locator("#workflows-yaml .cm-content").inner_text())


def _wait_yaml(pg, predicate, what: str) -> dict:  # noqa: ANN001
    for _ in range(60):
        try:
            doc = _editor_yaml(pg)
        except yaml.YAMLError:
            doc = None
        if isinstance(doc, dict) and predicate(doc):
            return doc
        pg.wait_for_timeout(500)
    shot(pg, "workflows-failed")
    raise AssertionError(
        f"the YAML never showed {what}: {pg.locator('#workflows-yaml .cm-content').inner_text()}"
    )


def test_workflows_builder_round_trip_run_and_schedule(page, server) -> None:  # noqa: ANN001
    errors: list[str] = []
    page.on("console", lambda m: errors.extend([m.text] if m.type == "error" else []))
    page.get_by_role("tab", name="Workflows").click()
    # A built-in template: its YAML, a Mermaid drawing and the builder's nodes.
    page.locator("#workflows-pick input").click()
    page.get_by_role("option", name="morning_surprise").click()
    page.wait_for_selector("#workflows-yaml .cm-content:has-text('morning_surprise')")
    page.wait_for_selector("#workflows-problems:has-text('valid')")
    page.wait_for_selector("#workflows-graph svg")  # Mermaid rendered the graph
    page.wait_for_selector("#workflows-builder .react-flow__node-parallel")
    assert page.locator("#workflows-builder .react-flow__node-for_each").count() == 1
    assert not errors, errors  # Mermaid and the builder drew without an error
    shot(page, "workflows-template")

    # A new workflow, built in the builder: a tool dragged from the palette, an edge drawn.
    page.click("#workflows-new")
    page.wait_for_selector("#workflows-builder .react-flow__node[data-id=pick]")
    page.locator(
        "#workflows-builder .wfb-tool[data-tool=library_pick]"
    ).scroll_into_view_if_needed()
    page.locator("#workflows-builder").scroll_into_view_if_needed()
    page.drag_and_drop(
        "#workflows-builder .wfb-tool[data-tool=library_pick]", "#workflows-builder .wfb-canvas"
    )
    page.wait_for_selector("#workflows-builder .react-flow__node[data-id=library_pick_1]")
    doc = _wait_yaml(page, lambda d: len(d["steps"]) == 2, "the dropped step")
    assert doc["steps"][1] == {"id": "library_pick_1", "uses": "library_pick", "with": {}}
    page.drag_and_drop(
        "#workflows-builder .react-flow__node[data-id=pick] .react-flow__handle-bottom",
        "#workflows-builder .react-flow__node[data-id=library_pick_1] .react-flow__handle-top",
    )
    doc = _wait_yaml(page, lambda d: d["steps"][1].get("needs") == ["pick"], "the drawn edge")
    page.wait_for_selector("#workflows-problems:has-text('kind')")  # library_pick needs a kind
    # The inspector edits the step; the YAML follows, and the check passes.
    page.click("#workflows-builder .react-flow__node[data-id=library_pick_1]")
    page.fill("[data-testid=wfb-inspector] input[name=wfb-id]", "again")
    page.fill(
        "[data-testid=wfb-inspector] textarea[name=wfb-body]",
        "with: {kind: character, count: 1, missing_ok: true}\n",
    )
    page.click("[data-testid=wfb-inspector] .wfb-apply")
    doc = _wait_yaml(page, lambda d: d["steps"][1]["id"] == "again", "the inspector's edit")
    assert doc["steps"][1] == {
        "id": "again",
        "uses": "library_pick",
        "with": {"kind": "character", "count": 1, "missing_ok": True},
        "needs": ["pick"],
    }
    page.wait_for_selector("#workflows-problems:has-text('✅ valid')")
    shot(page, "workflows-builder")

    # Saved, run, watched; then scheduled with a drawn input and run from the schedule.
    page.click("#workflows-save")
    page.wait_for_selector("#workflows-saved:has-text('Saved')")
    page.click("#workflows-run")
    page.wait_for_selector("#workflows-run-status:has-text('success')", timeout=120_000)
    assert page.locator("#workflows-steps [role=gridcell]:has-text('ok')").count() == 2
    page.wait_for_selector("#workflows-analytics:has-text('success 100%')")
    page.click("#workflows-schedules-box button:has-text('Schedules'), #workflows-schedules-box")
    draw = page.locator("#workflows-draw .cm-content")
    draw.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text('{"kind": ["character", "outfit"]}')
    page.click("#workflows-schedule")
    page.wait_for_selector("#workflows-schedules:has-text('1 schedule(s)')")
    page.click("#workflows-schedule-now")
    page.wait_for_selector("#workflows-run-status:has-text('starting with')")
    page.wait_for_selector("#workflows-run-status:has-text('success')", timeout=120_000)
    page.wait_for_selector("#workflows-analytics:has-text('2 runs')")
    shot(page, "workflows-schedule")
    listed = http_get(f"{server['api']}/workflows/schedules", params={"workflow": "my_workflow"})
    (schedule,) = listed.json()
    assert schedule["data"]["draw"] == {"kind": ["character", "outfit"]}
    assert schedule["ticks"][0]["manual"] and schedule["ticks"][0]["params"]["kind"] in (
        "character",
        "outfit",
    )


def test_pipelines_page_lists_stale_partitions_and_starts_a_backfill(page, server) -> None:  # noqa: ANN001
    page.get_by_role("tab", name="Pipelines").click()
    page.locator("#pipelines-asset input").click()
    page.get_by_role("option", name="image_batches").click()
    page.wait_for_selector("#pipelines-summary:has-text('image_batches')")
    summary = page.inner_text("#pipelines-summary")
    if "up to date" in summary:  # nothing to make again: a backfill of all of them
        page.click("#pipelines-backfill-all")
    else:
        page.wait_for_selector("#pipelines-stale [role=gridcell]")
        page.click("#pipelines-backfill")
    page.wait_for_selector("#pipelines-status:has-text('Backfill')")
    shot(page, "pipelines")
    backfill_id = page.locator("#pipelines-status code").first.inner_text()
    state = http_get(f"{server['api']}/pipelines/backfills/{backfill_id}").json()
    assert state["backfill_id"] == backfill_id and state["partitions"] >= 1


def test_analyze_a_picture_and_accept_suggestions(page, server, tmp_path: Path) -> None:  # noqa: ANN001
    from tests.test_analyzers import figure

    page.get_by_role("tab", name="Analyze").click()
    page.locator("#analyze-image input[type=file]").set_input_files(
        str(figure(tmp_path / "figure.png"))
    )
    page.get_by_label("pixels").check()
    page.click("#analyze-run")
    page.wait_for_selector("#analyze-table [role=gridcell]:has-text('Red hair')")
    assert "from pixels" in page.inner_text("#analyze-summary")
    page.locator("#analyze-pick textarea").fill("1, 2")
    page.click("#analyze-accept")
    page.wait_for_selector("#analyze-accepted:has-text('2 entities in the library')")
    shot(page, "analyze")
    # Suggestions 1 and 2 are the visual style and the composition: both now in the library.
    for kind in ("visual_style", "composition"):
        found = http_get(f"{server['api']}/entities/{kind}", params={"tag": "analyzed"}).json()
        assert found["total"] == 1, kind


def test_models_page_and_tool_config_validation(page, server) -> None:  # noqa: ANN001
    page.get_by_role("tab", name="Models & tools").click()
    page.wait_for_selector("#models-aliases [role=gridcell]:has-text('embed')")
    config = server["configs"] / "tools" / "tagger.yaml"
    before = config.read_text()
    page.locator("#tools-name input").fill("tagger")
    page.keyboard.press("Enter")
    page.wait_for_selector("#tools-yaml .cm-content:has-text('model')")
    editor = page.locator("#tools-yaml .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("model: default\ntemperature: 9\n")
    page.click("#tools-save")
    page.wait_for_selector(".toast-wrap:has-text('temperature')")
    assert config.read_text() == before  # an invalid config is never written
    shot(page, "models")

    page.get_by_role("tab", name="Activity").click()
    page.click("#activity-refresh")
    page.wait_for_selector("#activity-summary:has-text('latest calls')")
    # The live panel: requests made now show up in the next sample (every 5 s).
    page.wait_for_selector("#activity-live:has-text('requests/s')")
    for _ in range(30):
        http_get(f"{server['api']}/kinds")
    page.wait_for_function(
        """() => {
            const m = document.querySelector('#activity-live').innerText
                .match(/([\\d.]+) requests\\/s/);
            return m !== null && parseFloat(m[1]) > 0;
        }""",
        timeout=30_000,
    )
    assert "today:" in page.inner_text("#activity-live")
    shot(page, "activity")


def test_backups_page_backs_up_verifies_and_restores(page, server, tmp_path) -> None:  # noqa: ANN001
    """The Backups tab over the live home (a rulebook ingested: its PDF, page renders and
    LanceDB index): back up, a restore drill, a restore into a new home."""
    page.get_by_role("tab", name="Backups").click()
    page.click("#backups-refresh")
    page.wait_for_selector("#backups-summary:has-text('No backup yet')")
    page.click("#backups-take")
    page.wait_for_selector("#backups-result:has-text('Backed up')", timeout=120_000)
    page.wait_for_selector("#backups-summary:has-text('Last backup')")
    assert "never verified" in page.inner_text("#backups-summary")
    page.click("#backups-verify")
    page.wait_for_selector("#backups-result:has-text('restorable')", timeout=120_000)
    assert "vectors" in page.inner_text("#backups-result")
    page.wait_for_selector("#backups-summary:has-text('last verified')")
    into = tmp_path / "restored-home"
    page.locator("#backups-into textarea, #backups-into input").first.fill(str(into))
    page.click("#backups-restore")
    page.wait_for_selector("#backups-result:has-text('Restored')", timeout=120_000)
    assert (into / "lifeos.db").is_file() and any((into / "lancedb").iterdir())
    assert any(p.suffix == ".pdf" for p in (into / "blobs").rglob("*"))
    page.click("#backups-restore")  # the same folder again: refused, nothing changed
    page.wait_for_selector(".toast-wrap:has-text('not empty')")
    shot(page, "backups")


def test_a_plugin_off_and_on_while_the_studio_runs(page, server) -> None:  # noqa: ANN001
    """The example plugin (examples/recipes), pip-installed for the server: its page, route, tool
    and kind while loaded; turned off from the Plugins page, they go and its recipes stay."""
    from playwright.sync_api import expect

    made = httpx.post(
        f"{server['api']}/entities/recipe",
        json={"name": "Pancakes", "data": {"ingredients": ["Flour", "eggs", "milk"]}},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    page.get_by_role("tab", name="Recipes").click()
    page.click("#recipes-refresh")
    page.wait_for_selector("#recipes-list:has-text('flour')")
    assert http_get(f"{server['api']}/recipes/shopping-list").json()[0]["recipes"] == 1
    page.locator("#recipes-wish textarea, #recipes-wish input").first.fill("pancakes")
    page.click("#recipes-pick")
    page.wait_for_selector("#recipes-picked:has-text('Tonight:')", timeout=120_000)

    page.get_by_role("tab", name="Plugins").click()
    page.locator("#plugins-table [role=gridcell]", has_text="recipes").first.click()
    page.wait_for_selector("#plugins-details:has-text('recipes 0.1.0')")
    assert "health: ok" in page.inner_text("#plugins-details")
    page.wait_for_selector("#plugins-settings-help:has-text('max_recipes')")
    editor = page.locator("#plugins-settings .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text('{"max_recipes": 0}')  # insert: the editor closes brackets
    page.click("#plugins-settings-save")
    page.wait_for_selector(".toast-wrap:has-text('max_recipes')")  # refused, nothing changed
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text('{"max_recipes": 7}')
    page.click("#plugins-settings-save")
    page.wait_for_selector("#plugins-status:has-text('recipes: settings saved')")
    saved = http_get(f"{server['api']}/plugins/recipes/settings").json()
    assert saved["values"]["max_recipes"] == 7
    page.click("#plugins-disable")
    page.wait_for_selector("#plugins-status:has-text('recipes turned off')")
    page.wait_for_selector("#plugins-table [role=gridcell]:has-text('disabled')")
    shot(page, "plugins")
    assert http_get(f"{server['api']}/recipes/shopping-list").status_code == 404
    gone = http_get(f"{server['api']}/entities/recipe/{made.json()['id']}")
    assert "plugin 'recipes', which is disabled" in gone.json()["error"]["message"]
    page.reload()
    page.wait_for_selector("#library-table")
    page.get_by_role("tab", name="Recipes").click()  # a new session: the page says why not
    page.wait_for_selector("#plugin-off-recipes:has-text('which is disabled')")
    expect(page.locator("#recipes-refresh")).to_be_hidden()

    page.get_by_role("tab", name="Plugins").click()
    page.locator("#plugins-table [role=gridcell]", has_text="recipes").first.click()
    page.click("#plugins-enable")
    page.wait_for_selector("#plugins-status:has-text('recipes enabled')")
    kept = http_get(f"{server['api']}/entities/recipe/{made.json()['id']}")
    assert kept.json()["data"]["ingredients"] == ["Flour", "eggs", "milk"]
    page.reload()
    page.wait_for_selector("#library-table")
    page.get_by_role("tab", name="Recipes").click()
    page.click("#recipes-refresh")
    page.wait_for_selector("#recipes-list:has-text('flour')")
