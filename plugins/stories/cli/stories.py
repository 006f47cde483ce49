"""`lifeos story new|show|export|rerun`: illustrated stories (planner → writer → illustrator)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from apps.cli.common import console, emit_json, settings, want_json

app = typer.Typer(
    help="Illustrated stories, each a Dagster run over three steps.", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _stories():  # noqa: ANN202
    from plugins.stories.tools.stories import story_services

    return story_services(settings())


def _describe(service, story_id: str) -> dict:  # noqa: ANN001
    story, scenes = service.get(story_id)
    return {
        "story": story.model_dump(mode="json"),
        "scenes": [
            {
                "number": s.data["order"] + 1,
                "id": s.id,
                "title": s.data["title"],
                "status": s.data["status"],
                "error": s.data["error"],
                "text": s.data["text"],
                "image_id": service.scene_image(s.id),
                "trace": s.data["trace"],
            }
            for s in scenes
        ],
    }


def _run(service, story_id: str, quiet: bool, **kw) -> None:  # noqa: ANN001, ANN003
    from plugins.stories.pipelines import run_story

    worker = threading.Thread(
        target=lambda: run_story(service.settings, story_id, source="cli", **kw), daemon=True
    )
    worker.start()
    last = ""
    with console.status("planning…", spinner="dots") if not quiet else _Null() as status:
        while worker.is_alive():
            worker.join(timeout=0.5)
            story, scenes = service.get(story_id)
            done = sum(s.data["status"] in ("written", "illustrated") for s in scenes)
            drawn = sum(s.data["status"] == "illustrated" for s in scenes)
            line = (
                f"{story.data['status']}: {done}/{len(scenes) or story.data['scene_count']}"
                f" scenes written, {drawn} illustrated"
            )
            if status is not None and line != last:
                status.update(line)
                last = line


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@app.command()
def new(
    character: Annotated[list[str], typer.Option(help="a character id; repeat")],
    tone: str = "",
    setting: str = "",
    scenes: Annotated[int, typer.Option(help="how many scenes (1-12)")] = 4,
    wait: Annotated[bool, typer.Option(help="run it now and wait")] = True,
    image_steps: int = 20,
    size: str = "512x512",
    as_json: JsonFlag = False,
) -> None:
    """Start a story from characters: plan, write each scene, illustrate each scene."""
    want_json(as_json)
    service = _stories()
    story = service.create(character, tone=tone, setting=setting, scenes=scenes)
    if wait:
        w, h = (int(x) for x in size.lower().split("x"))
        started = time.perf_counter()
        _run(service, story.id, as_json, image_steps=image_steps, size=(w, h))
        if not as_json:
            console.print(f"{time.perf_counter() - started:.1f} s", style="dim")
    _print(service, story.id, as_json)


@app.command()
def show(story_id: str, as_json: JsonFlag = False) -> None:
    """The story with its scenes, their status, text and pictures."""
    want_json(as_json)
    _print(_stories(), story_id, as_json)


@app.command()
def rerun(
    story_id: str,
    scene: Annotated[list[int] | None, typer.Option(help="scene number; repeat")] = None,
    illustration_only: bool = False,
    image_steps: int = 20,
    size: str = "512x512",
    as_json: JsonFlag = False,
) -> None:
    """Write (and illustrate) the missing or failed scenes again, or the ones named."""
    want_json(as_json)
    service = _stories()
    w, h = (int(x) for x in size.lower().split("x"))
    steps = (
        ("story_illustrations",)
        if illustration_only
        else ("story_plan", "story_scenes", "story_illustrations")
    )
    _run(
        service,
        story_id,
        as_json,
        steps=steps,
        redo=scene or [],
        image_steps=image_steps,
        size=(w, h),
    )
    _print(service, story_id, as_json)


@app.command()
def export(
    story_id: str,
    path: Path,
    fmt: Annotated[str, typer.Option("--format", help="md or html")] = "html",
) -> None:
    """Markdown (pictures copied beside it) or one self-contained HTML file."""
    out = _stories().export(story_id, fmt, path)
    console.print(f"written to {out}")


def _print(service, story_id: str, as_json: bool) -> None:  # noqa: ANN001
    info = _describe(service, story_id)
    if as_json:
        emit_json(info)
        return
    story = info["story"]
    console.print(
        Text.assemble(
            (story["data"]["title"] or story["name"], "bold"),
            f" · {story['data']['status']} {story['data']['error']}\n",
            (story["data"]["premise"], "dim"),
        )
    )
    for s in info["scenes"]:
        picture = f" · image {s['image_id']}" if s["image_id"] else ""
        console.print(f"  {s['number']}. {s['title']} [{s['status']}]{picture} {s['error']}")
