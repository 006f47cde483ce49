"""Image batches: a recipe and N seeds, generated image by image. Each finished image is a PNG
stored by content hash (A1111 `parameters` + our `lifeos` chunk) and an `image` entity linked to
every entity of its recipe. Running a batch again makes only the images it does not have yet."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lifeos.blobs import write_blob
from lifeos.db.engine import session_scope
from lifeos.db.models import ImageBatch, utcnow
from lifeos.errors import BadRequest, GenerationCancelled, LifeOSError, NotFound, ValidationFailed
from lifeos.kinds import get_registry
from lifeos.llm.router import Router
from lifeos.schemas import EntityOut
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.images.resources.generators import TEST_MODEL_NOTE, GenerationParams, ImageGenerator
from plugins.images.tools.composer import Composer, ComposeRequest, Composition, image_relation
from plugins.images.tools.png import ImageMeta, keep_png, png_bytes, read_meta


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compose: ComposeRequest = Field(default_factory=ComposeRequest)
    count: int = Field(4, ge=1, le=1000)
    seed: int = Field(0, ge=0, le=2**32 - 1_001, description="image i gets seed + i")
    width: int = 512
    height: int = 512
    steps: int = 20
    guidance: float = 7.0
    sampler: str = "Euler a"
    init_image_id: str | None = Field(None, description="img2img: an image entity")
    strength: float = 0.6
    max_duration_s: float | None = Field(None, gt=0, description="stop cleanly after this")
    max_cost_usd: float | None = Field(None, gt=0)


ImageCallback = Callable[[int, EntityOut], None]  # (done so far, the new image)


class ImageBatches:
    def __init__(self, settings: Settings, router: Router, generator: ImageGenerator) -> None:
        self.settings = settings
        self.url = settings.database_url
        self.router = router
        self.generator = generator
        self.composer = Composer(router, database_url=self.url, home=settings.home.resolve())

    # ---- batches -----------------------------------------------------------------------------

    def params(self, req: BatchRequest, seed: int, prompt: str, negative: str) -> GenerationParams:
        try:
            return GenerationParams(
                prompt=prompt,
                negative_prompt=negative,
                width=req.width,
                height=req.height,
                steps=req.steps,
                guidance=req.guidance,
                sampler=req.sampler,
                seed=seed,
                strength=req.strength,
            )
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc) from None

    def create(
        self, request: BatchRequest | dict[str, Any], *, status: str = "queued"
    ) -> dict[str, Any]:
        """Check everything a run will need (entities, styles, wildcards, sizes), then store
        the batch. Nothing is generated here."""
        try:
            req = (
                request
                if isinstance(request, BatchRequest)
                else BatchRequest.model_validate(request)
            )
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc) from None
        if req.count > self.settings.image_max_batch:
            raise BadRequest(
                f"{req.count} images is more than one batch may hold "
                f"({self.settings.image_max_batch}, LIFEOS_IMAGE_MAX_BATCH)"
            )
        first = self.compose(req, req.seed)
        self.params(req, req.seed, first.positive, first.negative)  # sizes, steps, sampler
        if req.init_image_id:
            self._init_image(req.init_image_id)
        now = utcnow()
        batch = ImageBatch(
            id=str(uuid.uuid4()),
            created_at=now,
            updated_at=now,
            status=status,
            request=req.model_dump(mode="json"),
            seeds=[req.seed + i for i in range(req.count)],
            images={},
            positive=first.positive,
            negative=first.negative,
            model=self.generator.model_name,
            seconds=0.0,
        )
        with session_scope(self.url) as session:
            session.add(batch)
            session.flush()
            return _describe(batch)

    def compose(self, req: BatchRequest, seed: int) -> Composition:
        """Each image's prompt, with wildcards drawn from its own seed."""
        return self.composer.run(req.compose.model_copy(update={"seed": seed}))

    def get(self, batch_id: str) -> dict[str, Any]:
        with session_scope(self.url) as session:
            batch = session.get(ImageBatch, batch_id)
            if batch is None:
                raise NotFound(f"image batch {batch_id} not found")
            return _describe(batch)

    def list(self, *, limit: int = 50, status: str | None = None) -> list[dict[str, Any]]:
        stmt = sa.select(ImageBatch).order_by(ImageBatch.created_at.desc()).limit(limit)
        if status:
            stmt = stmt.where(ImageBatch.status == status)
        with session_scope(self.url) as session:
            return [_describe(b) for b in session.scalars(stmt)]

    def claim(self, batch_id: str) -> None:
        """Mark a queued batch as taken (so the sensor does not start it a second time)."""
        self._update(batch_id, status="running")

    def _update(self, batch_id: str, **fields: Any) -> None:
        with session_scope(self.url) as session:
            batch = session.get(ImageBatch, batch_id)
            if batch is None:
                raise NotFound(f"image batch {batch_id} not found")
            for key, value in fields.items():
                setattr(batch, key, value)
            batch.updated_at = utcnow()

    def run(
        self,
        batch_id: str,
        *,
        on_image: ImageCallback | None = None,
        on_step: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Generate the images the batch does not have yet. A cancelled or failed run keeps
        the images it finished; running again makes only the rest."""
        batch = self.get(batch_id)
        req = BatchRequest.model_validate(batch["request"])
        have = {int(k): v for k, v in batch["images"].items()}
        self._update(
            batch_id, status="running", error=None, run_id=run_id, model=self.generator.model_name
        )
        init = self._init_image(req.init_image_id) if req.init_image_id else None
        seconds = batch["seconds"]
        started = time.monotonic()
        stopped = ""
        try:
            for seed in batch["seeds"]:
                if seed in have and self._exists(have[seed]):
                    continue
                stopped = self._over_budget(req, time.monotonic() - started, len(have))
                if stopped:
                    break
                composition = self.compose(req, seed)
                params = self.params(req, seed, composition.positive, composition.negative)
                made = self.generator.generate(
                    params, init_image=init[1] if init else None, on_step=on_step, cancel=cancel
                )
                image = self._store(
                    made.image,
                    params,
                    composition,
                    batch_id,
                    made.model,
                    made.is_test_model,
                    init[0] if init else None,
                )
                have[seed] = image.id
                seconds += made.seconds
                self._update(batch_id, images={str(k): v for k, v in have.items()}, seconds=seconds)
                if on_image:
                    on_image(len(have), image)
        except GenerationCancelled:
            self._update(batch_id, status="cancelled", error="cancelled by the user")
            raise
        except LifeOSError as exc:
            self._update(batch_id, status="failed", error=exc.message)
            raise
        except OSError as exc:  # disk full, permissions: the image in hand is not kept
            self._update(batch_id, status="failed", error=f"could not write the image: {exc}")
            raise BadRequest(f"could not write the image: {exc}") from exc
        except Exception as exc:
            self._update(batch_id, status="failed", error=f"{type(exc).__name__}: {exc}")
            raise
        if stopped:  # a budget ended the run: what was made is kept
            self._update(batch_id, status="partial", error=stopped)
        else:
            self._update(batch_id, status="done")
        return self.get(batch_id)

    def _over_budget(self, req: BatchRequest, elapsed: float, made: int) -> str:
        if req.max_duration_s is not None and elapsed >= req.max_duration_s:
            return f"budget: max duration {req.max_duration_s:g} s reached after {made} images"
        cost = (made + 1) * self.settings.image_cost_usd
        if req.max_cost_usd is not None and cost > req.max_cost_usd:
            return f"budget: max cost ${req.max_cost_usd:g} reached after {made} images"
        return ""

    # ---- images ------------------------------------------------------------------------------

    def _exists(self, image_id: str) -> bool:
        with session_scope(self.url) as session:
            try:
                EntityStore(session).get("image", image_id)
                return True
            except NotFound:
                return False

    def _init_image(self, image_id: str) -> tuple[str, Image.Image]:
        with session_scope(self.url) as session:
            entity = EntityStore(session).get("image", image_id)
        path = self.image_path(entity.data["sha256"])
        if not path.is_file():
            raise NotFound(f"the file of image {image_id} is missing ({path})")
        return entity.id, Image.open(path).convert("RGB")

    def image_file(self, image_id: str) -> Path:
        with session_scope(self.url) as session:
            entity = EntityStore(session).get("image", image_id)
        return self.image_path(entity.data["sha256"])

    def image_path(self, sha256: str) -> Path:
        return self.settings.blob_path(sha256, ".png")

    def _store(
        self,
        image: Image.Image,
        params: GenerationParams,
        composition: Composition,
        batch_id: str | None,
        model: str,
        test_model: bool,
        derived_from: str | None,
    ) -> EntityOut:
        recipe = composition.recipe.model_dump(mode="json")
        meta = ImageMeta(
            prompt=params.prompt,
            negative_prompt=params.negative_prompt,
            steps=params.steps,
            sampler=params.sampler,
            guidance=params.guidance,
            seed=params.seed,
            width=image.width,
            height=image.height,
            model=model,
            lifeos={
                "recipe": recipe,
                "batch_id": batch_id,
                "model": model,
                "strength": params.strength if derived_from else None,
                "derived_from": derived_from,
                "test_model": test_model,
                "params": params.model_dump(mode="json"),
            },
        )
        sha = write_blob(self.settings, png_bytes(image, meta), ".png")
        entity_ids = [p["entity_id"] for p in recipe["parts"] if p.get("entity_id")]
        registry = get_registry()
        with session_scope(self.url) as session:
            store = EntityStore(session)
            title = next((p["name"] for p in recipe["parts"] if p["kind"] == "character"), "image")
            entity = store.create(
                "image",
                {
                    "name": f"{title} · seed {params.seed}"[:200],
                    "tags": ["generated", *(["test-model"] if test_model else [])],
                    "data": {
                        "sha256": sha,
                        "mime_type": "image/png",
                        "width": image.width,
                        "height": image.height,
                        "source": "generated",
                        "caption": TEST_MODEL_NOTE if test_model else "",
                        "prompt": params.prompt[:4000],
                        "negative_prompt": params.negative_prompt[:4000],
                        "seed": params.seed,
                        "steps": params.steps,
                        "guidance": params.guidance,
                        "sampler": params.sampler,
                        "model": model[:200],
                        "parameters": meta.parameters_text()[:20_000],
                        "recipe": recipe,
                        "batch_id": batch_id or "",
                        "test_model": test_model,
                    },
                },
            )
            spec = registry.get("image")
            for other in store.get_many(list(dict.fromkeys(entity_ids))):
                relation = image_relation(other.kind)
                if spec.allows_link(relation, other.kind):
                    store.link("image", entity.id, {"relation": relation, "target_id": other.id})
            if derived_from:
                store.link(
                    "image", entity.id, {"relation": "derived_from", "target_id": derived_from}
                )
            return store.get("image", entity.id)

    def import_png(self, path: Path) -> EntityOut:
        """Keep a PNG made by AUTOMATIC1111/Forge, Fooocus, ComfyUI or us, with its settings."""
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"{path}: no such file")
        data = path.read_bytes()
        meta = read_meta(data, name=path.name)
        kept = keep_png(self.settings, data, title=path.name)
        recipe = (meta.lifeos or {}).get("recipe", {})
        with session_scope(self.url) as session:
            return EntityStore(session).create(
                "image",
                {
                    "name": (meta.prompt[:60] or path.stem)[:200],
                    "tags": ["imported", meta.source],
                    "data": {
                        **kept,
                        "prompt": meta.prompt[:4000],
                        "negative_prompt": meta.negative_prompt[:4000],
                        "seed": meta.seed,
                        "steps": meta.steps,
                        "guidance": meta.guidance,
                        "sampler": meta.sampler[:200],
                        "model": meta.model[:200],
                        "parameters": meta.parameters_text()[:20_000],
                        "recipe": recipe,
                    },
                },
            )

    def rerun(self, path: Path) -> tuple[Image.Image, GenerationParams, bool]:
        """Make the image again from its metadata; True when the pixels are identical."""
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"{path}: no such file")
        meta = read_meta(path.read_bytes(), name=path.name)
        ours = meta.lifeos or {}
        if ours.get("params"):
            params = GenerationParams.model_validate(ours["params"])
        else:
            params = self.params(
                BatchRequest(
                    width=meta.width or 512,
                    height=meta.height or 512,
                    steps=meta.steps or 20,
                    guidance=meta.guidance or 7.0,
                    sampler=meta.sampler or "Euler a",
                ),
                meta.seed or 0,
                meta.prompt,
                meta.negative_prompt,
            )
        if ours.get("model") and ours["model"] != self.generator.model_name:
            raise BadRequest(
                f"{path.name} was made with {ours['model']}; the configured model "
                f"is {self.generator.model_name}"
            )
        init = self._init_image(ours["derived_from"]) if ours.get("derived_from") else None
        made = self.generator.generate(params, init_image=init[1] if init else None)
        with Image.open(path) as original:
            identical = original.convert("RGB").tobytes() == made.image.convert("RGB").tobytes()
        return made.image, params, identical


def _describe(batch: ImageBatch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "status": batch.status,
        "request": batch.request,
        "seeds": batch.seeds,
        "images": dict(batch.images),
        "done": len(batch.images),
        "count": len(batch.seeds),
        "positive": batch.positive,
        "negative": batch.negative,
        "model": batch.model,
        "seconds": round(batch.seconds, 3),
        "error": batch.error,
        "run_id": batch.run_id,
        "created_at": batch.created_at.isoformat(),
        "updated_at": batch.updated_at.isoformat(),
    }


def image_services(settings: Settings) -> ImageBatches:
    """The batch service over one library (CLI, API, studio)."""
    from lifeos.llm.router import get_router
    from plugins.images.resources.generators import generator_from_settings

    return ImageBatches(
        settings, get_router(settings.database_url), generator_from_settings(settings)
    )
