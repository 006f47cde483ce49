"""Image analyzers: a picture → suggested library entities (outfit, clothing items, hair, makeup,
expression, accessories, composition, visual and art style; `character_appearance` runs them all
and assembles a character). One generic mechanism, configured per kind in
`configs/tools/analyzer_<kind>.yaml`, with three backends:

- `vision`: the router's `vision` alias, given the picture and the kind's JSON schema;
- `metadata`: the generation prompt in the PNG (A1111, ComfyUI, Fooocus, ours) — our own images
  map straight back to the entities in their recipe; other prompts are split into the kinds by the
  local text model;
- `pixels`: colour statistics and layout, no learned model; fields it cannot judge stay empty and
  everything it says is marked heuristic.
"""

from __future__ import annotations

import io
import re
import time
from typing import Any

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lifeos.db.engine import session_scope
from lifeos.errors import BadRequest, InvalidModelOutput, LifeOSError, NotFound
from lifeos.kinds import get_registry
from lifeos.llm.config import load_yaml_model
from lifeos.llm.router import Router
from lifeos.store import EntityStore
from plugins.images.tools.analyze import pixels
from plugins.images.tools.analyze.suggestions import Analysis, Backend, Suggestion
from plugins.images.tools.png import ImageMeta, read_meta

TARGET_KINDS = (
    "outfit",
    "clothing_item",
    "hair_style",
    "hair_color",
    "makeup",
    "expression",
    "accessory",
    "composition",
    "visual_style",
    "art_style",
)
ALL_ANALYZERS = (*TARGET_KINDS, "character_appearance")
MAX_PIXELS = 40_000_000  # refused before decoding (a 20000×20000 image is 400 M)


def _every_backend() -> list[Backend]:
    return ["vision", "metadata", "pixels"]


class AnalyzerConfig(BaseModel):
    """configs/tools/analyzer_<kind>.yaml"""

    model_config = ConfigDict(extra="forbid")

    kind: str
    backends: list[Backend] = Field(default_factory=_every_backend)
    vision_model: str = "vision"
    text_model: str = "fast"
    vision_prompt: str = ""
    # words that tell a prompt phrase belongs to this kind (metadata backend, as a hint to the
    # model and to check what it returns)
    cue_words: list[str] = Field(default_factory=list)
    # required text fields of the kind filled from the phrase (e.g. hair_color.color)
    phrase_fields: list[str] = Field(default_factory=list)

    @property
    def model(self) -> str:
        return self.vision_model


def open_image(data: bytes, *, name: str = "image") -> Image.Image:
    """The picture, refusing what is not an image, truncated, or too large to decode."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise BadRequest(
            f"{name}: larger than {MAX_PIXELS // 1_000_000} megapixels; not decoded"
        ) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise BadRequest(f"{name}: not an image ({exc})") from None
    if image.width * image.height > MAX_PIXELS:
        raise BadRequest(
            f"{name}: {image.width}×{image.height} is larger than "
            f"{MAX_PIXELS // 1_000_000} megapixels; not decoded"
        )
    try:
        image.load()
    except (OSError, SyntaxError) as exc:
        raise BadRequest(f"{name}: the image is damaged or truncated ({exc})") from None
    return image


class Analyzers:
    def __init__(self, router: Router, database_url: str) -> None:
        self.router = router
        self.url = database_url
        self.folder = router.config_dir / "tools"

    def config(self, kind: str) -> AnalyzerConfig:
        if kind not in TARGET_KINDS:
            raise NotFound(f"no analyzer for {kind!r}; there are: {', '.join(ALL_ANALYZERS)}")
        config: AnalyzerConfig = load_yaml_model(
            self.folder / f"analyzer_{kind}.yaml", AnalyzerConfig
        )
        return config

    def kinds(self, asked: list[str] | None) -> list[str]:
        asked = list(asked or ["character_appearance"])
        unknown = [k for k in asked if k not in ALL_ANALYZERS]
        if unknown:
            raise NotFound(
                f"no analyzer for {', '.join(unknown)}; there are: {', '.join(ALL_ANALYZERS)}"
            )
        return list(
            dict.fromkeys(
                k for a in asked for k in (TARGET_KINDS if a == "character_appearance" else (a,))
            )
        )

    def vision_available(self) -> bool:
        try:
            provider = self.router.config.alias("vision").model.partition("/")[0]
            return bool(self.router.provider(provider).status()[0])
        except LifeOSError:
            return False

    def choose(self, meta: ImageMeta | None) -> Backend:
        if self.vision_available():
            return "vision"
        if meta is not None and (meta.prompt or meta.lifeos):
            return "metadata"
        return "pixels"

    def analyze(
        self,
        data: bytes,
        *,
        sha256: str,
        kinds: list[str] | None = None,
        backend: Backend | None = None,
        name: str = "image",
    ) -> Analysis:
        image = open_image(data, name=name)
        try:
            meta = read_meta(data, name=name)
        except BadRequest:
            meta = None
        chosen = backend or self.choose(meta)
        targets = self.kinds(kinds)
        started = time.perf_counter()
        if chosen == "metadata":
            if meta is None or not (meta.prompt or meta.lifeos):
                raise BadRequest(
                    f"{name} carries no generation prompt: use the pixels or vision backend"
                )
            suggestions, model, notes = self._metadata(meta, targets)
        elif chosen == "vision":
            suggestions, model, notes = self._vision(data, targets)
        else:
            suggestions, model, notes = (
                pixels.analyze(image, targets),
                "",
                [
                    "pixels: colour statistics and layout only; expression, hair style, makeup, "
                    "accessories and art style are not judged from pixels"
                ],
            )
        self._match_existing(suggestions)
        return Analysis(
            sha256=sha256,
            width=image.width,
            height=image.height,
            backend=chosen,
            model=model,
            latency_s=round(time.perf_counter() - started, 3),
            suggestions=suggestions,
            notes=notes,
        )

    # ---- metadata ----------------------------------------------------------------------------

    def _metadata(
        self, meta: ImageMeta, targets: list[str]
    ) -> tuple[list[Suggestion], str, list[str]]:
        recipe = (meta.lifeos or {}).get("recipe") or {}
        ids = [p["entity_id"] for p in recipe.get("parts", []) if p.get("entity_id")]
        if ids:  # our own image: its recipe names the entities that made it
            with session_scope(self.url) as session:
                found = []
                for entity_id in dict.fromkeys(ids):
                    try:
                        found += EntityStore(session).get_many([entity_id])
                    except NotFound:
                        continue
            out = [
                Suggestion(
                    kind=e.kind,
                    name=e.name,
                    data=e.data,
                    backend="metadata",
                    confidence=dict.fromkeys(e.data, 1.0),
                    existing_id=e.id,
                    evidence={
                        "recipe": next(
                            p["text"] for p in recipe["parts"] if p.get("entity_id") == e.id
                        )
                    },
                )
                for e in found
                if e.kind in targets
            ]
            return out, "", ["our own image: the entities of its recipe"]
        return self._decompose(meta.prompt, targets)

    def _decompose(
        self, prompt: str, targets: list[str]
    ) -> tuple[list[Suggestion], str, list[str]]:
        configs = {k: self.config(k) for k in targets}
        cues = "\n".join(f"- {k}: {', '.join(c.cue_words)}" for k, c in configs.items())
        properties = {
            k: {"type": "array", "items": {"type": "string"}, "maxItems": 6} for k in targets
        }
        schema = {"type": "object", "properties": properties, "required": list(targets)}
        messages = [
            {
                "role": "system",
                "content": (
                    "You split an image-generation prompt into parts. For each category, list the "
                    "exact phrases of the prompt that describe it (copy them, do not invent); use "
                    "an empty list when the prompt says nothing about it. Categories and cue "
                    f"words:\n{cues}"
                ),
            },
            {"role": "user", "content": prompt[:2000]},
        ]
        text_model = next(iter(configs.values())).text_model
        try:
            result = self.router.chat(
                messages,
                text_model,
                schema=schema,
                tool="analyzer.metadata",
                max_tokens=400,
                temperature=0.0,
            )
        except InvalidModelOutput as exc:
            raise BadRequest(f"the text model could not split the prompt: {exc.message}") from None
        plain = _norm(prompt)
        out = []
        for kind, phrases in (result.data or {}).items():
            if kind not in configs or not isinstance(phrases, list):
                continue
            for phrase in dict.fromkeys(p.strip(" ,.") for p in phrases if isinstance(p, str)):
                if not phrase or _norm(phrase) not in plain:
                    continue  # only words that are in the prompt: nothing invented
                suggestion = self._from_phrase(configs[kind], phrase, result.model)
                if suggestion:
                    out.append(suggestion)
        return out, result.model, [f"prompt split by {result.model}"]

    def _from_phrase(self, cfg: AnalyzerConfig, phrase: str, model: str) -> Suggestion | None:
        words = phrase
        for cue in cfg.cue_words:
            words = re.sub(rf"\b{re.escape(cue)}\b", "", words, flags=re.I)
        words = " ".join(words.split()) or phrase
        data: dict[str, Any] = {"prompt": phrase[:4000]} if _has(cfg.kind, "prompt") else {}
        for field in cfg.phrase_fields:
            data[field] = words[:200]
        if cfg.kind == "visual_style":
            data["prompt"] = "{prompt}, " + phrase
        try:
            data = get_registry().get(cfg.kind).validate(data)
        except LifeOSError:
            return None
        return Suggestion(
            kind=cfg.kind,
            name=phrase[:200],
            data=data,
            backend="metadata",
            model=model,
            confidence=dict.fromkeys(data, 0.6),
            evidence={"prompt": phrase},
        )

    # ---- vision ------------------------------------------------------------------------------

    def _vision(self, data: bytes, targets: list[str]) -> tuple[list[Suggestion], str, list[str]]:
        out, model, notes = [], "", []
        for kind in targets:
            cfg = self.config(kind)
            spec = get_registry().get(kind)
            schema = {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "present": {"type": "boolean"},
                    "data": spec.json_schema(),
                },
                "required": ["present", "name", "data"],
            }
            messages = [
                {
                    "role": "user",
                    "content": cfg.vision_prompt
                    or f"Describe the {spec.label.lower()} in this picture for a library "
                    "entry. If there is none, answer present=false.",
                }
            ]
            try:
                result = self.router.chat(
                    messages,
                    cfg.vision_model,
                    schema=schema,
                    images=[data],
                    tool=f"analyzer.{kind}",
                    max_tokens=400,
                )
            except InvalidModelOutput as exc:
                notes.append(f"{kind}: the vision model's answer did not fit ({exc.message})")
                continue
            model = result.model
            reply = result.data or {}
            if not reply.get("present"):
                continue
            try:
                clean = spec.validate(reply.get("data") or {})
            except LifeOSError as exc:
                notes.append(f"{kind}: {exc.message}")
                continue
            out.append(
                Suggestion(
                    kind=kind,
                    name=(reply.get("name") or spec.label)[:200],
                    data=clean,
                    backend="vision",
                    model=model,
                    confidence=dict.fromkeys(reply.get("data") or {}, 0.7),
                    evidence={"vision": model},
                )
            )
        return out, model, notes

    # ---- library -----------------------------------------------------------------------------

    def _match_existing(self, suggestions: list[Suggestion]) -> None:
        with session_scope(self.url) as session:
            store = EntityStore(session)
            for s in suggestions:
                if s.existing_id:
                    continue
                same = [
                    e
                    for e in store.list(s.kind, {"q": s.name[:100], "limit": 20}).items
                    if e.name.lower() == s.name.lower()
                ]
                if same:
                    s.existing_id = same[0].id

    def accept(self, image_id: str | None, suggestions: list[Suggestion]) -> list[str]:
        """Create (or reuse, by kind and name) each accepted suggestion's entity and link it
        with the image both ways. Returns the entity ids."""
        ids = []
        with session_scope(self.url) as session:
            store = EntityStore(session)
            for s in suggestions:
                if s.existing_id:
                    entity_id = s.existing_id
                else:
                    same = [
                        e
                        for e in store.list(s.kind, {"q": s.name[:100], "limit": 20}).items
                        if e.name.lower() == s.name.lower()
                    ]
                    entity_id = (
                        same[0].id
                        if same
                        else store.create(
                            s.kind,
                            {"name": s.name, "data": s.data, "tags": ["analyzed", s.backend]},
                        ).id
                    )
                ids.append(entity_id)
                if image_id:
                    for src_kind, src, relation, dst in (
                        (s.kind, entity_id, "derived_from", image_id),
                        (
                            "image",
                            image_id,
                            "depicts" if s.kind == "character" else "uses",
                            entity_id,
                        ),
                    ):
                        try:
                            store.link(src_kind, src, {"relation": relation, "target_id": dst})
                        except LifeOSError as exc:
                            if exc.code != "conflict" and "already links" not in exc.message:
                                raise
        return ids


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[()\[\]:0-9.]+", " ", text.lower()).split())


def _has(kind: str, field: str) -> bool:
    return field in get_registry().get(kind).model.model_fields


def validate_suggestions(raw: list[dict[str, Any]]) -> list[Suggestion]:
    """Edited suggestions (from the studio or the API) checked against their kinds."""
    out = []
    for i, item in enumerate(raw):
        try:
            s = Suggestion.model_validate(item)
        except ValidationError as exc:
            raise BadRequest(f"suggestion {i}: {exc.errors()[0]['msg']}") from None
        s.data = get_registry().get(s.kind).validate(s.data)
        out.append(s)
    return out
