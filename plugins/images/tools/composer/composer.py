"""The prompt composer: library entities + free text + styles → positive and negative prompts,
with the recipe saying which entity contributed which words, in which order."""

from __future__ import annotations

import random
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lifeos.db.engine import session_scope
from lifeos.errors import BadRequest, InvalidModelOutput
from lifeos.llm.router import Router
from lifeos.llm.toolkit import Tool, ToolConfigs, render
from lifeos.schemas import EntityOut
from lifeos.store import EntityStore
from plugins.images.tools.composer.styles import StyleLibrary
from plugins.images.tools.composer.tokens import CLIP_WINDOW, count_tokens
from plugins.images.tools.composer.wildcards import Wildcards

# ---- configuration (configs/tools/composer.yaml) ---------------------------------------------


class PolishConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    model: str = "fast"
    max_tokens: int = Field(120, ge=16, le=1000)
    system: str = ""


class ComposerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order: list[str] = Field(min_length=1)
    templates: dict[str, str]
    negative: str = ""
    follow_links: dict[str, list[str]] = Field(default_factory=dict)
    visualizer: dict[str, str] = Field(default_factory=dict)
    polish: PolishConfig = Field(default_factory=PolishConfig)

    @property
    def model(self) -> str:
        return self.polish.model


# ---- requests and results ----------------------------------------------------------------------


class ComposeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity_ids: list[str] = Field(default_factory=list, max_length=50)
    text: str = Field("", max_length=4000)
    styles: list[str] = Field(default_factory=list, max_length=10)
    seed: int = Field(0, ge=0, le=2**32 - 1, description="draws wildcards and alternatives")
    follow_links: bool = True
    polish: bool | None = Field(None, description="None: as configured")
    visualize: str | None = Field(
        None, description="picture this one entity alone (the item visualizer)"
    )


class RecipePart(BaseModel):
    kind: str  # an entity kind, or "text" / "style" / "polish"
    text: str
    entity_id: str | None = None
    name: str = ""
    via: str | None = Field(None, description="the link it was reached by, when followed")


class Recipe(BaseModel):
    """Everything needed to compose the same prompt again (stored in each image's PNG)."""

    entity_ids: list[str]
    text: str = ""
    styles: list[str] = Field(default_factory=list)
    seed: int = 0
    follow_links: bool = True
    visualize: str | None = None
    parts: list[RecipePart] = Field(default_factory=list)
    polished: bool = False


class Composition(BaseModel):
    positive: str
    negative: str
    recipe: Recipe
    tokens: int
    warnings: list[str] = Field(default_factory=list)


IMAGE_RELATION = {"character": "depicts"}  # every other kind of a recipe: "uses"


class Composer(Tool[ComposeRequest, Composition]):
    name = "composer"
    description = "compose an image prompt from library entities, styles and wildcards"
    Input = ComposeRequest
    Output = Composition
    config_model = ComposerConfig

    def __init__(
        self,
        router: Router,
        configs: ToolConfigs | None = None,
        *,
        database_url: str | None = None,
        home: Any = None,
    ) -> None:
        super().__init__(router, configs)
        from lifeos.settings import get_settings

        settings = get_settings()
        self.database_url = database_url or router.ledger.database_url
        home = home or settings.home.resolve()
        self.styles = StyleLibrary(
            [router.config_dir / "styles", home / "styles"], user_folder=home / "styles"
        )
        self.wildcards = Wildcards([router.config_dir / "wildcards", home / "wildcards"])

    @property
    def config(self) -> ComposerConfig:
        config: ComposerConfig = self.configs.get(self.name)
        return config

    def run(self, inp: ComposeRequest | dict[str, Any]) -> Composition:
        req = self.parse_input(inp)
        cfg = self.config
        rng = random.Random(req.seed)
        styles = [self.styles.get(s) for s in req.styles]  # unknown styles fail first
        with session_scope(self.database_url) as session:
            store = EntityStore(session)
            given = store.get_many(req.entity_ids)
            parts, visual_styles = self._parts(store, cfg, given, req)
        if req.visualize:
            return self._visualize(cfg, req, parts, rng)
        by_kind: dict[str, list[RecipePart]] = {}
        for part in parts:
            by_kind.setdefault(part.kind, []).append(part)
        ordered = [p for kind in cfg.order for p in by_kind.get(kind, [])]
        ordered += [p for p in parts if p.kind not in cfg.order]  # kinds the order forgot
        if req.text.strip():
            text_part = RecipePart(kind="text", text=req.text.strip())
            if "text" in cfg.order:
                at = (
                    sum(1 for p in ordered if cfg.order.index(p.kind) < cfg.order.index("text"))
                    if all(p.kind in cfg.order for p in ordered)
                    else len(ordered)
                )
                ordered.insert(at, text_part)
            else:
                ordered.append(text_part)
        for part in ordered:
            part.text = self.wildcards.expand(part.text, rng)
        positive = ", ".join(p.text for p in ordered if p.text)
        negatives = [cfg.negative] + [
            e.data.get("negative_prompt", "") for e in given if e.kind == "art_style"
        ]
        negative = ", ".join(n for n in negatives if n)
        for entity in visual_styles:  # library visual styles wrap the prompt like a style
            template = entity.data.get("prompt") or "{prompt}"
            positive = (
                template.replace("{prompt}", positive)
                if "{prompt}" in template
                else f"{positive}, {template}"
            )
            negative = ", ".join(n for n in (negative, entity.data.get("negative_prompt")) if n)
            ordered.append(
                RecipePart(
                    kind="visual_style", entity_id=entity.id, name=entity.name, text=template
                )
            )
        for name, style in zip(req.styles, styles, strict=True):
            positive, negative = style.apply(positive, negative)
            ordered.append(RecipePart(kind="style", text=style.prompt, name=name))
        positive = self.wildcards.expand(positive, rng)  # styles may hold wildcards too
        recipe = Recipe(
            entity_ids=req.entity_ids,
            text=req.text,
            styles=req.styles,
            seed=req.seed,
            follow_links=req.follow_links,
            parts=ordered,
        )
        if req.polish if req.polish is not None else cfg.polish.enabled:
            positive = self._polish(cfg, positive, recipe)
        return self._finish(positive, negative, recipe)

    # ---- parts ---------------------------------------------------------------------------------

    def _contribution(self, cfg: ComposerConfig, entity: EntityOut) -> str:
        if entity.kind == "visual_style":
            return ""  # a visual style wraps the prompt (like a Fooocus style): below
        template = cfg.templates.get(entity.kind)
        if template is None:
            return entity.data.get("prompt") or entity.name
        return render(
            template,
            {"name": entity.name, "data": entity.data, "tags": entity.tags},
            where=f"composer.yaml: templates.{entity.kind}",
        )

    def _parts(
        self, store: EntityStore, cfg: ComposerConfig, given: list[EntityOut], req: ComposeRequest
    ) -> tuple[list[RecipePart], list[EntityOut]]:
        """Each entity's words (and those of the entities its links lead to), and the visual
        styles among them, which wrap the prompt instead of adding words."""
        seen = {e.id for e in given}
        parts = [
            RecipePart(kind=e.kind, entity_id=e.id, name=e.name, text=self._contribution(cfg, e))
            for e in given
        ]
        if req.follow_links:
            kinds_given = {e.kind for e in given}
            for entity in given:
                for relation in cfg.follow_links.get(entity.kind, []):
                    for link in store.links(entity.kind, entity.id):
                        other = link.entity
                        if (
                            link.direction != "out"
                            or link.relation != relation
                            or other.id in seen
                            or other.kind in kinds_given
                        ):
                            continue
                        seen.add(other.id)
                        parts.append(
                            RecipePart(
                                kind=other.kind,
                                entity_id=other.id,
                                name=other.name,
                                via=relation,
                                text=self._contribution(cfg, other),
                            )
                        )
                        given.append(other)
        return (
            [p for p in parts if p.kind != "visual_style"],
            [e for e in given if e.kind == "visual_style"],
        )

    def _visualize(
        self, cfg: ComposerConfig, req: ComposeRequest, parts: list[RecipePart], rng: random.Random
    ) -> Composition:
        target = next((p for p in parts if p.entity_id == req.visualize), None)
        if target is None:
            raise BadRequest("visualize must name one of the request's entity ids")
        template = cfg.visualizer.get(target.kind) or cfg.visualizer.get("default", "{prompt}")
        positive = self.wildcards.expand(template.replace("{prompt}", target.text), rng)
        recipe = Recipe(
            entity_ids=req.entity_ids,
            seed=req.seed,
            visualize=req.visualize,
            follow_links=False,
            parts=[target],
        )
        return self._finish(positive, cfg.negative, recipe)

    def _finish(self, positive: str, negative: str, recipe: Recipe) -> Composition:
        tokens = count_tokens(positive)
        warnings = []
        if tokens > CLIP_WINDOW - 2:
            warnings.append(
                f"the prompt is {tokens} CLIP tokens; the text encoder reads "
                f"{CLIP_WINDOW - 2} (plus start and end), the rest is cut or "
                "chunked depending on the generator"
            )
        return Composition(
            positive=positive, negative=negative, recipe=recipe, tokens=tokens, warnings=warnings
        )

    def _polish(self, cfg: ComposerConfig, positive: str, recipe: Recipe) -> str:
        started = time.perf_counter()
        try:
            result = self.router.chat(
                [
                    {"role": "system", "content": cfg.polish.system},
                    {"role": "user", "content": positive},
                ],
                cfg.polish.model,
                tool="composer.polish",
                max_tokens=cfg.polish.max_tokens,
                temperature=0.3,
            )
        except InvalidModelOutput:
            return positive
        polished = " ".join(result.text.strip().strip('"').split())
        if not polished:
            return positive
        recipe.polished = True
        recipe.parts.append(
            RecipePart(
                kind="polish",
                text=polished,
                name=f"{result.model} in {time.perf_counter() - started:.1f} s",
            )
        )
        return polished


def image_relation(kind: str) -> Literal["depicts", "uses"]:
    return IMAGE_RELATION.get(kind, "uses")  # type: ignore[return-value]
