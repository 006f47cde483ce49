"""Image batches as Dagster assets: one dynamic partition per batch (a recipe and N seeds).
Batches are requested from the CLI, API, studio or a schedule and stored as `queued`; the sensor
turns them into runs. Each run makes only the images its batch does not have yet."""

import base64
import io
import time

import dagster as dg

from plugins.images.resources.generators import TEST_MODEL_NOTE, ImageGenerator
from plugins.images.tools.batches import ImageBatches
from resources.workbench import WorkbenchResource

image_batch_partitions = dg.DynamicPartitionsDefinition(name="image_batches")
GROUP = "images"


def _preview(path: str) -> str:
    from PIL import Image

    with Image.open(path) as img:
        img.thumbnail((256, 256))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
    return f"![first image](data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()})"


@dg.asset(
    partitions_def=image_batch_partitions,
    group_name=GROUP,
    kinds={"diffusers", "png"},
    tags={"lifeos/heavy": "true"},
    description="The images of one batch: PNGs by content hash (A1111 parameters + the "
    "recipe), image entities linked to the entities that made them.",
)
def image_batches(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource, images: ImageGenerator
) -> dg.MaterializeResult:
    batch_id = context.partition_key
    started = time.perf_counter()
    with workbench.router() as router:
        service = ImageBatches(workbench.settings(), router, images)
        before = service.get(batch_id)["done"]
        batch = service.run(
            batch_id,
            run_id=context.run.run_id,
            on_image=lambda n, e: context.log.info(f"image {n}: {e.id} (seed {e.data['seed']})"),
        )
    made = batch["done"] - before
    first = next(iter(batch["images"].values()), None)
    metadata: dict = {
        "images": batch["done"],
        "made_in_this_run": made,
        "model": batch["model"],
        "seconds_per_image": round((time.perf_counter() - started) / made, 3) if made else 0.0,
        "prompt": batch["positive"][:500],
        # the library rows it wrote: its image entities
        "image_ids": dg.MetadataValue.json(list(batch["images"].values())[:200]),
    }
    if first:
        metadata["preview"] = dg.MetadataValue.md(
            _preview(str(service.image_file(first)))
            + (f"\n\n**{TEST_MODEL_NOTE}**" if images.is_test_model else "")
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(
    asset=image_batches,
    blocking=True,  # what reads it waits for it to pass (in a run, and for automation)
    description="Every image of the batch is in the library and its PNG opens; the batch has "
    "no more images than it asked for.",
)
def image_batch_images_readable(
    context: dg.AssetCheckExecutionContext, workbench: WorkbenchResource, images: ImageGenerator
) -> dg.AssetCheckResult:
    from PIL import Image, UnidentifiedImageError

    from lifeos.errors import LifeOSError

    with workbench.router() as router:
        service = ImageBatches(workbench.settings(), router, images)
        ids = [context.partition_key] if context.has_partition_key else None
        found = [service.get(b) for b in ids] if ids else service.list(limit=200)
        problems: list[str] = []
        for batch in found:
            if batch["done"] > batch["count"]:
                problems.append(f"{batch['id']}: {batch['done']} images of {batch['count']}")
            for image_id in batch["images"].values():
                try:
                    with Image.open(service.image_file(image_id)) as img:
                        img.verify()
                except (OSError, UnidentifiedImageError, LifeOSError) as exc:
                    problems.append(f"{batch['id']}: image {image_id}: {exc}"[:300])
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"batches": len(found), "problems": dg.MetadataValue.json(problems[:50])},
    )


image_batch_job = dg.define_asset_job(
    "image_batch", selection=[image_batches], tags={"lifeos/heavy": "true"}
)


@dg.sensor(
    job=image_batch_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Queued image batches (from the CLI, API, studio, schedules) become runs.",
)
def image_batch_sensor(
    context: dg.SensorEvaluationContext, workbench: WorkbenchResource, images: ImageGenerator
) -> dg.SensorResult | dg.SkipReason:
    with workbench.router() as router:
        service = ImageBatches(workbench.settings(), router, images)
        queued = service.list(status="queued", limit=20)
        for batch in queued:
            service.claim(batch["id"])
    if not queued:
        return dg.SkipReason("no queued image batches")
    keys = [b["id"] for b in queued]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=k, partition_key=k) for k in keys],
        dynamic_partitions_requests=[image_batch_partitions.build_add_request(keys)],
    )
