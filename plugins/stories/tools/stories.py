"""Illustrated stories: planner → writer → illustrator.

A story is a `story` entity (features its characters) with ordered `story_scene` entities
(has_scene), each linked to its characters and, once illustrated, to its image. Every step keeps
its own results, so it can run again alone: writing fills only the scenes without text (or the
ones asked for), illustrating only the scenes without a picture. A scene whose reply fails the
schema twice is marked failed with the reason; the others go on.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from lifeos.db.engine import session_scope
from lifeos.errors import BadRequest, InvalidModelOutput, NotFound
from lifeos.llm.router import ChatResult, Router
from lifeos.llm.toolkit import Tool, ToolConfigs
from lifeos.schemas import EntityOut
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.images.tools.batches import ImageBatches

MAX_SCENES = 12


# ---- the tools -----------------------------------------------------------------------------


class CastMember(BaseModel):
    name: str
    description: str = ""


class PlanRequest(BaseModel):
    characters: list[CastMember] = Field(min_length=1, max_length=8)
    tone: str = ""
    setting: str = ""
    scenes: int = Field(4, ge=1, le=MAX_SCENES)


class PlannedScene(BaseModel):
    title: str = Field(min_length=1, max_length=120)
    setting: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=800)
    characters: list[str] = Field(default_factory=list, max_length=8)

    @field_validator("characters", mode="before")
    @classmethod
    def _cast_names(cls, value: Any) -> Any:
        """Small models repeat names: keep each once, at most 8."""
        if isinstance(value, list):
            return list(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))[:8]
        return value

    @field_validator("title", "setting", "summary", mode="before")
    @classmethod
    def _trim(cls, value: Any, info: Any) -> Any:
        """Over-long text is cut, not refused (the limits are for the library's fields)."""
        limit = {"title": 120, "setting": 200, "summary": 800}[info.field_name]
        return value.strip()[:limit] if isinstance(value, str) else value


class StoryPlan(BaseModel):
    title: str = Field(min_length=1, max_length=160)
    premise: str = Field(min_length=1, max_length=600)
    scenes: list[PlannedScene] = Field(min_length=1, max_length=MAX_SCENES)

    @field_validator("title", "premise", mode="before")
    @classmethod
    def _trim(cls, value: Any, info: Any) -> Any:
        limit = {"title": 160, "premise": 600}[info.field_name]
        return value.strip()[:limit] if isinstance(value, str) else value

    @field_validator("scenes", mode="before")
    @classmethod
    def _at_most(cls, value: Any) -> Any:
        return value[:MAX_SCENES] if isinstance(value, list) else value


class SceneRequest(BaseModel):
    title: str
    premise: str
    tone: str = ""
    characters: list[CastMember]
    previous: str = ""
    number: int
    total: int
    scene: PlannedScene


class SceneText(BaseModel):
    text: str = Field(min_length=40, max_length=6000)

    @field_validator("text")
    @classmethod
    def _prose(cls, value: str) -> str:
        if len(value.split()) < 8:
            raise ValueError("a scene needs at least a few sentences")
        return value.strip()


class StoryPlanner(Tool[PlanRequest, StoryPlan]):
    name = "story_planner"
    description = "plan an illustrated story: title, premise and an outline of scenes"
    Input = PlanRequest
    Output = StoryPlan


class SceneWriter(Tool[SceneRequest, SceneText]):
    name = "story_writer"
    description = "write one scene of a planned story"
    Input = SceneRequest
    Output = SceneText

    def run(self, inp: SceneRequest | dict[str, Any]) -> SceneText:
        """A scene cut off by the token limit (twice: the repair round is cut off too) keeps
        its complete sentences instead of failing the scene."""
        self.last_result = None
        try:
            return super().run(inp)
        except InvalidModelOutput as exc:
            reply = str(exc.details.get("reply", ""))
            text = complete_sentences(reply)
            if text is None:
                raise
            try:
                scene = SceneText(text=text)
            except ValueError:
                raise exc from None
            self.last_result = ChatResult(
                text=reply,
                data=scene,
                alias=self.configs.get(self.name).model,
                model=exc.details.get("model", ""),
                tokens_in=exc.details.get("tokens_in", 0),
                tokens_out=exc.details.get("tokens_out", 0),
                latency_s=exc.details.get("latency_s", 0.0),
                load_s=0.0,
                cost_usd=0.0,
                repaired=True,
            )
            return scene


CUT_OFF_TEXT = re.compile(r'\s*\{\s*"text"\s*:\s*"(?P<body>.*)', re.DOTALL)


def complete_sentences(reply: str) -> str | None:
    """The complete sentences of a `{"text": "...` reply that stops mid-string, or None."""
    found = CUT_OFF_TEXT.match(reply)
    if found is None:
        return None
    body = found.group("body")
    end = max(body.rfind(mark) for mark in (".", "!", "?"))
    if end < 0:
        return None
    try:
        return str(json.loads(f'"{body[: end + 1]}"')).strip()
    except ValueError:  # the cut fell inside an escape
        return None


# ---- the service ---------------------------------------------------------------------------

Progress = Callable[[str], None]


def _trace(tool: Tool[Any, Any], step: str) -> dict[str, Any]:
    result = tool.last_result
    return {
        "step": step,
        "model": result.model if result else "",
        "tokens_in": result.tokens_in if result else 0,
        "tokens_out": result.tokens_out if result else 0,
        "seconds": round(result.latency_s, 2) if result else 0.0,
        "output": (result.text if result else "")[:4000],
    }


class Stories:
    def __init__(
        self,
        settings: Settings,
        router: Router,
        images: ImageBatches,
        configs: ToolConfigs | None = None,
    ) -> None:
        self.settings = settings
        self.url = settings.database_url
        self.router = router
        self.images = images
        self.configs = configs or ToolConfigs(router.config_dir / "tools")

    # ---- reading -------------------------------------------------------------------------------

    def get(self, story_id: str) -> tuple[EntityOut, list[EntityOut]]:
        with session_scope(self.url) as session:
            store = EntityStore(session)
            story = store.get("story", story_id)
            scenes = [
                ln.entity
                for ln in store.links("story", story_id)
                if ln.relation == "has_scene" and ln.direction == "out"
            ]
        return story, sorted(scenes, key=lambda s: s.data["order"])

    def cast(self, story_id: str) -> list[EntityOut]:
        with session_scope(self.url) as session:
            return [
                ln.entity
                for ln in EntityStore(session).links("story", story_id)
                if ln.relation == "features" and ln.direction == "out"
            ]

    def scene_image(self, scene_id: str) -> str | None:
        with session_scope(self.url) as session:
            return next(
                (
                    ln.entity.id
                    for ln in EntityStore(session).links("story_scene", scene_id)
                    if ln.relation == "illustrated_by" and ln.direction == "out"
                ),
                None,
            )

    # ---- steps ---------------------------------------------------------------------------------

    def create(
        self,
        character_ids: list[str],
        *,
        tone: str = "",
        setting: str = "",
        scenes: int = 4,
        name: str = "",
    ) -> EntityOut:
        if not character_ids:
            raise BadRequest("a story needs at least one character")
        if not 1 <= scenes <= MAX_SCENES:
            raise BadRequest(f"a story has 1 to {MAX_SCENES} scenes, not {scenes}")
        with session_scope(self.url) as session:
            store = EntityStore(session)
            characters = store.get_many(character_ids)
            wrong = [c.id for c in characters if c.kind != "character"]
            if wrong:
                raise BadRequest(f"not characters: {', '.join(wrong)}")
            story = store.create(
                "story",
                {
                    "name": (name or f"A story of {', '.join(c.name for c in characters)}")[:200],
                    "data": {
                        "tone": tone[:200],
                        "setting": setting[:200],
                        "scene_count": scenes,
                        "status": "draft",
                    },
                },
            )
            for c in characters:
                store.link("story", story.id, {"relation": "features", "target_id": c.id})
            return story

    def _cast(self, story_id: str) -> list[CastMember]:
        return [
            CastMember(
                name=c.name,
                description=(c.data.get("appearance") or c.data.get("description") or "")[:400],
            )
            for c in self.cast(story_id)
        ]

    def _update(self, kind: str, entity_id: str, change: dict[str, Any]) -> EntityOut:
        with session_scope(self.url) as session:
            return EntityStore(session).update(kind, entity_id, change)

    def plan(self, story_id: str) -> EntityOut:
        """The outline, as scenes (once: a planned story keeps its scenes)."""
        story, scenes = self.get(story_id)
        if scenes:
            return story
        self._update("story", story_id, {"data": {"status": "planning"}})
        planner = StoryPlanner(self.router, self.configs)
        cast = self._cast(story_id)
        try:
            plan = planner.run(
                PlanRequest(
                    characters=cast,
                    tone=story.data["tone"],
                    setting=story.data["setting"],
                    scenes=story.data["scene_count"],
                )
            )
        except InvalidModelOutput as exc:
            self._update(
                "story",
                story_id,
                {"data": {"status": "failed", "error": f"planning: {exc.message}"}},
            )
            raise
        names = {c.name.lower(): c for c in self.cast(story_id)}
        wanted = plan.scenes[: story.data["scene_count"]]
        with session_scope(self.url) as session:
            store = EntityStore(session)
            for order, scene in enumerate(wanted):
                entity = store.create(
                    "story_scene",
                    {
                        "name": f"{order + 1}. {scene.title}"[:200],
                        "data": {
                            "order": order,
                            "title": scene.title[:200],
                            "setting": scene.setting[:200],
                            "summary": scene.summary,
                            "characters": [n[:200] for n in scene.characters][:20],
                            "trace": [_trace(planner, "plan")] if order == 0 else [],
                        },
                    },
                )
                store.link("story", story_id, {"relation": "has_scene", "target_id": entity.id})
                for name in scene.characters:
                    if (c := names.get(name.lower())) is not None:
                        store.link(
                            "story_scene", entity.id, {"relation": "features", "target_id": c.id}
                        )
            return store.update(
                "story",
                story_id,
                {
                    "data": {
                        "status": "writing",
                        "title": plan.title[:200],
                        "premise": plan.premise,
                        "outline": [s.summary for s in wanted],
                    }
                },
            )

    def write(
        self, story_id: str, *, redo: list[int] | None = None, progress: Progress | None = None
    ) -> list[EntityOut]:
        """Write the scenes that have no text yet (or those numbered in `redo`, from 1)."""
        story, scenes = self.get(story_id)
        if not scenes:
            raise BadRequest("plan the story first")
        redo_set = set(redo or [])
        writer = SceneWriter(self.router, self.configs)
        cast = self._cast(story_id)
        previous = ""
        for number, scene in enumerate(scenes, start=1):
            if scene.data["text"] and number not in redo_set:
                previous = scene.data["summary"]
                continue
            if progress:
                progress(f"writing scene {number}/{len(scenes)}")
            in_scene = [c for c in cast if c.name in scene.data["characters"]] or cast
            request = SceneRequest(
                title=story.data["title"] or story.name,
                premise=story.data["premise"],
                tone=story.data["tone"],
                characters=in_scene,
                previous=previous,
                number=number,
                total=len(scenes),
                scene=PlannedScene(
                    title=scene.data["title"] or "Scene",
                    setting=scene.data["setting"] or "somewhere",
                    summary=scene.data["summary"] or "…",
                ),
            )
            try:
                text = writer.run(request).text
                change = {
                    "text": text,
                    "status": "written",
                    "error": "",
                    "trace": [*scene.data["trace"], _trace(writer, "write")][-20:],
                }
            except InvalidModelOutput as exc:
                change = {"status": "failed", "error": f"writing: {exc.message}"[:2000]}
            self._update("story_scene", scene.id, {"data": change})
            previous = scene.data["summary"]
        _, scenes = self.get(story_id)
        failed = [s for s in scenes if s.data["status"] == "failed"]
        self._update(
            "story",
            story_id,
            {
                "data": {
                    "status": "illustrating" if not failed else "failed",
                    "error": f"{len(failed)} scene(s) failed; run the story again to retry them"
                    if failed
                    else "",
                }
            },
        )
        return scenes

    def illustrate(
        self,
        story_id: str,
        *,
        redo: list[int] | None = None,
        progress: Progress | None = None,
        steps: int = 20,
        size: tuple[int, int] = (512, 512),
    ) -> list[EntityOut]:
        """One picture per written scene that has none (or those numbered in `redo`), composed
        from the scene's characters (with their outfits and looks) and its setting."""
        story, scenes = self.get(story_id)
        redo_set = set(redo or [])
        cast = {c.name: c.id for c in self.cast(story_id)}
        for number, scene in enumerate(scenes, start=1):
            if scene.data["status"] == "failed" or not scene.data["text"]:
                continue
            if self.scene_image(scene.id) and number not in redo_set:
                continue
            if progress:
                progress(f"illustrating scene {number}/{len(scenes)}")
            ids = [cast[n] for n in scene.data["characters"] if n in cast] or list(cast.values())
            words = re.sub(r"\s+", " ", f"{scene.data['setting']}, {scene.data['title']}")
            batch = self.images.create(
                {
                    "compose": {"entity_ids": ids[:3], "text": words[:300]},
                    "count": 1,
                    "seed": int(hashlib.sha256(scene.id.encode()).hexdigest()[:8], 16),
                    "width": size[0],
                    "height": size[1],
                    "steps": steps,
                },
                status="running",
            )
            done = self.images.run(batch["id"])
            image_id = next(iter(done["images"].values()))
            with session_scope(self.url) as session:
                store = EntityStore(session)
                old = self.scene_image(scene.id)
                if old:
                    store.unlink("story_scene", scene.id, "illustrated_by", old)
                store.link(
                    "story_scene", scene.id, {"relation": "illustrated_by", "target_id": image_id}
                )
                store.update("story_scene", scene.id, {"data": {"status": "illustrated"}})
        _, scenes = self.get(story_id)
        if all(s.data["status"] == "illustrated" for s in scenes):
            self._update("story", story_id, {"data": {"status": "done", "error": ""}})
        return scenes

    def run_all(
        self, story_id: str, *, progress: Progress | None = None, **illustrate: Any
    ) -> EntityOut:
        self.plan(story_id)
        self.write(story_id, progress=progress)
        self.illustrate(story_id, progress=progress, **illustrate)
        return self.get(story_id)[0]

    # ---- export --------------------------------------------------------------------------------

    def export(self, story_id: str, fmt: str, target: Path) -> Path:
        """Markdown (images copied beside it) or one self-contained HTML file."""
        if fmt not in ("md", "html"):
            raise BadRequest("export format is md or html")
        story, scenes = self.get(story_id)
        title = story.data["title"] or story.name
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        parts_md = [f"# {title}\n", f"_{story.data['premise']}_\n" if story.data["premise"] else ""]
        parts_html = [
            f"<h1>{html.escape(title)}</h1>",
            f"<p><em>{html.escape(story.data['premise'])}</em></p>",
        ]
        for scene in scenes:
            image_id = self.scene_image(scene.id)
            picture = self.images.image_file(image_id) if image_id else None
            parts_md.append(f"\n## {scene.data['title'] or scene.name}\n")
            parts_html.append(f"<h2>{html.escape(scene.data['title'] or scene.name)}</h2>")
            if picture and picture.is_file():
                if fmt == "md":
                    images_dir = target.with_suffix("").with_name(target.stem + "_images")
                    images_dir.mkdir(exist_ok=True)
                    copy = images_dir / picture.name
                    copy.write_bytes(picture.read_bytes())
                    parts_md.append(f"![{scene.data['title']}]({images_dir.name}/{copy.name})\n")
                else:
                    data = base64.b64encode(picture.read_bytes()).decode()
                    parts_html.append(
                        f'<img alt="{html.escape(scene.data["title"])}" '
                        f'src="data:image/png;base64,{data}">'
                    )
            text = scene.data["text"] or f"(not written: {scene.data['error'] or 'pending'})"
            parts_md.append(text + "\n")
            parts_html += [f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p.strip()]
        if fmt == "md":
            target.write_text("\n".join(p for p in parts_md if p), encoding="utf-8")
        else:
            target.write_text(
                "<!doctype html><meta charset='utf-8'><title>"
                f"{html.escape(title)}</title><style>body{{max-width:720px;"
                "margin:2em auto;font-family:serif;line-height:1.5}img{max-width:"
                "100%}</style>" + "".join(parts_html),
                encoding="utf-8",
            )
        return target


def story_services(settings: Settings) -> Stories:
    from plugins.images.tools.batches import image_services

    images = image_services(settings)
    return Stories(settings, images.router, images)


def find_scene(scenes: list[EntityOut], number: int) -> EntityOut:
    if not 1 <= number <= len(scenes):
        raise NotFound(f"the story has scenes 1 to {len(scenes)}, not {number}")
    return scenes[number - 1]
