"""Stories: seconds per planned story, per written scene and per illustration, with the
default local models (the `default` alias: Qwen2.5-Coder 1.5B when installed, else its 0.5B
fallback; the built-in test image model unless LIFEOS_IMAGE_MODEL names a real one).

    .venv/bin/python benchmarks/stories.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402
from lifeos.db import migrate  # noqa: E402
from lifeos.db.engine import session_scope  # noqa: E402
from lifeos.demo import load_demo  # noqa: E402
from lifeos.settings import Settings  # noqa: E402
from lifeos.store import EntityStore  # noqa: E402

SCENES = 3


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LIFEOS_HOME"] = tmp
        settings = Settings(home=Path(tmp))
        migrate.upgrade(settings.database_url)
        with session_scope(settings.database_url) as session:
            load_demo(session)
            cast = [
                e.id
                for e in EntityStore(session).list("character", {"limit": 2, "sort": "name"}).items
            ]
        from plugins.stories.tools.stories import story_services

        service = story_services(settings)
        service.router.chat([{"role": "user", "content": "hi"}], "default", max_tokens=4)
        story = service.create(cast, tone="cozy", scenes=SCENES)
        t0 = time.perf_counter()
        service.plan(story.id)
        plan_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        scenes = service.write(story.id)
        write_s = time.perf_counter() - t0
        written = [s for s in scenes if s.data["status"] == "written"]
        per_scene = [t["seconds"] for s in written for t in s.data["trace"] if t["step"] == "write"]
        t0 = time.perf_counter()
        service.illustrate(story.id, steps=20, size=(512, 512))
        draw_s = time.perf_counter() - t0
        _, scenes = service.get(story.id)
        drawn = sum(s.data["status"] == "illustrated" for s in scenes)
        model = next((t["model"] for s in written for t in s.data["trace"]), "?")
        tokens = [t["tokens_out"] for s in written for t in s.data["trace"] if t["step"] == "write"]
    scene_s = statistics.median(per_scene) if per_scene else float("nan")
    scene_tokens = statistics.median(tokens) if tokens else 0
    failed = len(scenes) - len(written)
    body = f"""## Stories (`benchmarks/stories.py`)

One story, {len(cast)} demo characters, {SCENES} scenes asked; text by `{model}`,
pictures by `{service.images.generator.model_name}` at 512×512, 20 steps.

| step | result |
|---|---|
| plan (outline of {len(scenes)} scenes) | {plan_s:.1f} s |
| write, per scene (median of {len(per_scene)}) | {scene_s:.1f} s, {scene_tokens:.0f} tokens |
| write, all scenes | {write_s:.1f} s ({len(written)} written, {failed} failed the schema twice) |
| illustrate, per scene | {draw_s / max(drawn, 1):.1f} s ({drawn} pictures) |
"""
    print(body)
    write_section("stories", body)


if __name__ == "__main__":
    main()
