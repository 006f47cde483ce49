"""Illustrated stories: the planner → writer → illustrator logic with scripted model replies
(a scene failing its schema twice, rerun fixing it, steps that do not redo the rest, an
interrupted run resumed), bad input, export, and the whole Dagster graph, CLI and API on the
real local 0.5B model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lifeos.db.engine import session_scope
from lifeos.errors import BadRequest, NotFound
from lifeos.llm.router import Router
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.images.resources.generators import ImageGenerator
from plugins.images.tools.batches import ImageBatches
from plugins.stories.tools.stories import Stories
from tests.llm_helpers import ScriptedProvider, copy_configs

PLAN = json.dumps(
    {
        "title": "The Lighthouse Key",
        "premise": "Two friends find a key.",
        "scenes": [
            {
                "title": "The Find",
                "setting": "a windy beach",
                "summary": "Mina finds a brass key in the sand.",
                "characters": ["Mina"],
            },
            {
                "title": "The Door",
                "setting": "an old lighthouse",
                "summary": "Bram opens the lighthouse door.",
                "characters": ["Bram", "Mina"],
            },
        ],
    }
)
SCENE = json.dumps(
    {
        "text": "The wind pulled at Mina's raincoat as she knelt in the wet sand, "
        "brushing it away from something that gleamed like a sunrise."
    }
)
SCENE_2 = json.dumps(
    {
        "text": "Bram turned the key twice; the old door sighed open and the "
        "smell of salt and oil rolled out to meet them both."
    }
)
TOO_SHORT = json.dumps({"text": "Short."})


@pytest.fixture
def env(settings: Settings, tmp_path: Path):  # noqa: ANN201
    with session_scope(settings.database_url) as session:
        store = EntityStore(session)
        mina = store.create(
            "character", {"name": "Mina", "data": {"appearance": "short black hair, round glasses"}}
        ).id
        bram = store.create(
            "character", {"name": "Bram", "data": {"appearance": "stocky tinkerer, copper beard"}}
        ).id
    scripted = ScriptedProvider("local", [])
    router = Router(
        database_url=settings.database_url,
        config_dir=copy_configs(tmp_path / "configs"),
        providers={"local": scripted},
    )
    stories = Stories(settings, router, ImageBatches(settings, router, ImageGenerator()))
    return stories, scripted, mina, bram


SMALL = {"steps": 2, "size": (64, 64)}


def test_a_failing_scene_is_marked_and_a_rerun_fixes_only_it(env) -> None:  # noqa: ANN001
    stories, scripted, mina, bram = env
    story = stories.create([mina, bram], tone="cozy", scenes=2)
    scripted.script = [PLAN, SCENE, TOO_SHORT, TOO_SHORT]
    stories.plan(story.id)
    stories.write(story.id)
    story_now, scenes = stories.get(story.id)
    assert [s.data["status"] for s in scenes] == ["written", "failed"]
    assert "invalid output twice" in scenes[1].data["error"]
    assert story_now.data["status"] == "failed" and "1 scene(s) failed" in story_now.data["error"]
    assert scenes[0].data["trace"][0]["step"] == "plan"
    assert scenes[0].data["trace"][-1]["step"] == "write"
    # Scene links: characters by name from the plan.
    with session_scope(stories.url) as session:
        links = EntityStore(session).links("story_scene", scenes[1].id)
    assert {ln.entity.name for ln in links if ln.relation == "features"} == {"Mina", "Bram"}

    stories.illustrate(story.id, **SMALL)  # the written scene gets its picture
    first_image = stories.scene_image(scenes[0].id)
    assert first_image and stories.scene_image(scenes[1].id) is None

    scripted.script = [SCENE_2]  # the rerun writes only scene 2
    stories.write(story.id)
    stories.illustrate(story.id, **SMALL)
    story_now, scenes = stories.get(story.id)
    assert [s.data["status"] for s in scenes] == ["illustrated", "illustrated"]
    assert scenes[0].data["text"] == json.loads(SCENE)["text"]
    assert stories.scene_image(scenes[0].id) == first_image  # not redrawn
    assert story_now.data["status"] == "done" and not scripted.script
    assert len(scripted.requests) == 5  # plan, 3 writes, 1 rewrite: no more

    scripted.script = [SCENE]  # redo one scene by number
    stories.write(story.id, redo=[2])
    assert stories.get(story.id)[1][1].data["text"] == json.loads(SCENE)["text"]
    stories.illustrate(story.id, redo=[1], **SMALL)
    assert stories.scene_image(scenes[0].id) != first_image


def test_a_scene_cut_off_by_the_token_limit_keeps_its_sentences(env) -> None:  # noqa: ANN001
    stories, scripted, mina, _ = env
    story = stories.create([mina], scenes=1)
    cut = SCENE[:-2] + ' Then the tide came in, and with it a \\"whis'
    scripted.script = [
        json.dumps({**json.loads(PLAN), "scenes": json.loads(PLAN)["scenes"][:1]}),
        cut,
        cut,
    ]
    stories.plan(story.id)
    stories.write(story.id)
    scene = stories.get(story.id)[1][0]
    assert scene.data["status"] == "written"
    assert scene.data["text"] == json.loads(SCENE)["text"]
    assert scene.data["trace"][-1]["model"].startswith("local/")


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        ('{"text": "One. Two \\"quoted\\" three! Four', 'One. Two "quoted" three!'),
        ('{"text": "No sentence ends here', None),
        ('{"text": "Closed.", "extra": 1', "Closed."),
        ("nonsense", None),
    ],
)
def test_complete_sentences_of_a_cut_off_reply(reply: str, kept: str | None) -> None:
    from plugins.stories.tools.stories import complete_sentences

    assert complete_sentences(reply) == kept


def test_an_interrupted_illustration_run_resumes(env) -> None:  # noqa: ANN001
    stories, scripted, mina, bram = env
    story = stories.create([mina, bram], scenes=2)
    scripted.script = [PLAN, SCENE, SCENE_2]
    stories.plan(story.id)
    stories.write(story.id)
    real = stories.images.generator.generate
    calls = {"n": 0}

    def die_on_second(params, **kw):  # noqa: ANN001, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed")
        return real(params, **kw)

    stories.images.generator.__dict__["generate"] = die_on_second
    with pytest.raises(RuntimeError):
        stories.illustrate(story.id, **SMALL)
    del stories.images.generator.__dict__["generate"]
    _, scenes = stories.get(story.id)
    assert [s.data["status"] for s in scenes] == ["illustrated", "written"]
    stories.illustrate(story.id, **SMALL)
    assert stories.get(story.id)[0].data["status"] == "done"


def test_bad_story_requests(env) -> None:  # noqa: ANN001
    stories, _, mina, _ = env
    with pytest.raises(NotFound, match="no entity"):
        stories.create(["nobody"], scenes=2)
    with pytest.raises(BadRequest, match="1 to 12 scenes"):
        stories.create([mina], scenes=0)
    with pytest.raises(BadRequest, match="1 to 12 scenes"):
        stories.create([mina], scenes=13)
    with session_scope(stories.url) as session:
        hat = EntityStore(session).create("accessory", {"name": "hat"}).id
    with pytest.raises(BadRequest, match="not characters"):
        stories.create([hat], scenes=1)
    with pytest.raises(BadRequest, match="a story needs at least one character"):
        stories.create([], scenes=1)


def test_export_markdown_and_html(env, tmp_path: Path) -> None:  # noqa: ANN001
    stories, scripted, mina, bram = env
    story = stories.create([mina, bram], scenes=2)
    scripted.script = [PLAN, SCENE, SCENE_2]
    stories.run_all(story.id, **SMALL)
    md = stories.export(story.id, "md", tmp_path / "out" / "story.md").read_text()
    assert md.startswith("# The Lighthouse Key") and "## The Door" in md
    assert md.count("](story_images/") == 2
    assert len(list((tmp_path / "out" / "story_images").glob("*.png"))) == 2
    page = stories.export(story.id, "html", tmp_path / "story.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<h2>The Find</h2>" in page
    with pytest.raises(BadRequest):
        stories.export(story.id, "pdf", tmp_path / "x.pdf")


@pytest.mark.slow
# The subject is the model, Dagster, the CLI and the API, not the database (the scripted tests
# above run on both): one backend keeps this test's minutes of real writing from doubling.
@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_story_on_the_local_model_through_dagster_cli_and_api(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fastapi.testclient import TestClient

    from apps.api.app import create_app
    from apps.cli import main
    from lifeos.llm import router as router_module
    from lifeos.settings import get_settings, reset_settings_cache

    configs = copy_configs(tmp_path / "configs")
    for tool in ("story_planner", "story_writer"):  # the 0.5B model, offline
        path = configs / "tools" / f"{tool}.yaml"
        path.write_text(path.read_text().replace("model: default", "model: fast"))
    monkeypatch.setenv("LIFEOS_CONFIG_DIR", str(configs))
    reset_settings_cache()
    monkeypatch.setattr(router_module, "_routers", {})
    with session_scope(settings.database_url) as session:
        aria = (
            EntityStore(session)
            .create(
                "character",
                {"name": "Aria", "data": {"appearance": "tall ranger with a long auburn braid"}},
            )
            .id
        )
    assert (
        main(
            [
                "story",
                "new",
                "--character",
                aria,
                "--scenes",
                "1",
                "--tone",
                "hopeful",
                "--size",
                "64x64",
                "--image-steps",
                "2",
                "--json",
            ]
        )
        == 0
    )
    made = json.loads(capsys.readouterr().out)
    assert made["scenes"], (made["story"]["data"]["status"], made["story"]["data"]["error"])
    scene = made["scenes"][0]
    assert made["story"]["data"]["status"] == "done", made
    assert scene["status"] == "illustrated" and len(scene["text"].split()) >= 8
    assert scene["image_id"] and scene["trace"][-1]["model"] == "local/qwen2.5-coder-0.5b"
    story_id = made["story"]["id"]
    assert (
        main(
            [
                "story",
                "rerun",
                story_id,
                "--scene",
                "1",
                "--illustration-only",
                "--size",
                "64x64",
                "--image-steps",
                "2",
                "--json",
            ]
        )
        == 0
    )
    again = json.loads(capsys.readouterr().out)
    assert again["scenes"][0]["text"] == scene["text"]  # not rewritten
    assert again["scenes"][0]["image_id"] != scene["image_id"]  # redrawn
    with TestClient(create_app(get_settings(), studio=False)) as api:
        got = api.get(f"/api/v1/stories/{story_id}").json()
        assert got["scenes"][0]["image_id"] == again["scenes"][0]["image_id"]
        html = api.get(f"/api/v1/stories/{story_id}/export", params={"format": "html"})
        assert html.status_code == 200 and "data:image/png;base64," in html.text
        bad = api.post("/api/v1/stories", json={"character_ids": [aria], "scenes": 0})
        assert bad.status_code == 422
