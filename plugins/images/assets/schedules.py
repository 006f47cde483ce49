"""The one sensor behind every `schedule` entity: it settles earlier ticks (from their batches
and Dagster runs), then requests an image batch run for each schedule whose cron time has come.
Adding or editing a schedule is a library edit; no Dagster code changes.

`scheduled_images` are a schedule's outputs by day: one partition per (date, schedule), the
date in the schedule's time zone. The sensor records each settled tick as that partition's
materialization; materializing a partition (a backfill over a date range) makes that day's
outputs again (`Schedules.regenerate`)."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from plugins.images.assets.batches import image_batch_job, image_batch_partitions
from plugins.images.resources.generators import ImageGenerator
from plugins.images.tools.batches import ImageBatches
from plugins.images.tools.schedules import Schedules, Settled
from resources.workbench import WorkbenchResource

FINISHED = {dg.DagsterRunStatus.FAILURE: "FAILURE", dg.DagsterRunStatus.CANCELED: "CANCELED"}
SCHEDULED_IMAGES = dg.AssetKey("scheduled_images")
image_schedule_partitions = dg.DynamicPartitionsDefinition(name="image_schedules")
scheduled_image_partitions = dg.MultiPartitionsDefinition(
    {
        "date": dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=2),
        "schedule": image_schedule_partitions,
    }
)


FIRST_DAY = date(2026, 1, 1)


def _dated(day: date) -> bool:
    """Whether a day has a partition (from the first day to today, UTC, a day's slack for
    zones ahead of UTC)."""
    return FIRST_DAY <= day <= datetime.now(UTC).date() + timedelta(days=1)


def _partition(day: date, schedule_id: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": day.isoformat(), "schedule": schedule_id})


def _outputs(settled: list[Settled]) -> dict:
    made = [s for s in settled if s.status == "succeeded"]
    return {
        "ticks": len(settled),
        "succeeded": len(made),
        "images": sum(len(s.image_ids) for s in made),
        # the rows it wrote: the ticks (schedule_ticks), their batches and image entities
        "tick_ids": dg.MetadataValue.json([s.tick_id for s in settled]),
        "batch_ids": dg.MetadataValue.json([s.batch_id for s in settled if s.batch_id]),
        "image_ids": dg.MetadataValue.json([i for s in made for i in s.image_ids][:200]),
    }


@dg.asset(
    partitions_def=scheduled_image_partitions,
    group_name="images",
    kinds={"diffusers", "png"},
    tags={"lifeos/heavy": "true"},
    description="A schedule's pictures of one day (in its time zone). The sensor records "
    "each tick here; a backfill over dates makes those days' outputs again.",
)
def scheduled_images(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource, images: ImageGenerator
) -> dg.MaterializeResult:
    keys = context.partition_key.keys_by_dimension
    day, schedule_id = date.fromisoformat(keys["date"]), keys["schedule"]
    with workbench.router() as router:
        schedules = Schedules(ImageBatches(workbench.settings(), router, images))
        settled = schedules.regenerate(
            schedule_id,
            day,
            # a retried run does not make again what its first attempt made
            run_id=context.run.root_run_id or context.run.run_id,
            on_image=lambda n, e: context.log.info(f"image {n}: {e.id}"),
        )
    failed = [s for s in settled if s.status != "succeeded"]
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} of {len(settled)} ticks failed",
            metadata=_outputs(settled),
        )
    return dg.MaterializeResult(metadata={"date": day.isoformat(), **_outputs(settled)})


scheduled_images_job = dg.define_asset_job(
    "scheduled_images_job", selection=[scheduled_images], tags={"lifeos/heavy": "true"}
)


@dg.sensor(
    job=image_batch_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Evaluates the library's schedules (cron + time zone) and requests their "
    "image batches; records skipped, failed and finished ticks (finished ones as the "
    "schedule's outputs of that day).",
)
def schedules_sensor(
    context: dg.SensorEvaluationContext, workbench: WorkbenchResource, images: ImageGenerator
) -> dg.SensorResult | dg.SkipReason:
    with workbench.router() as router:
        schedules = Schedules(ImageBatches(workbench.settings(), router, images))
        run_status = {}
        for tick_id in schedules.requested():
            runs = context.instance.get_runs(
                filters=dg.RunsFilter(tags={"lifeos/tick": tick_id}), limit=1
            )
            if runs and runs[0].status in FINISHED:
                run_status[tick_id] = FINISHED[runs[0].status]
        settled = schedules.reconcile(run_status)
        ids = {s.id for s in schedules.enabled()} | {s.schedule_id for s in settled}
        due = schedules.evaluate()
    known = set(context.instance.get_dynamic_partitions(image_schedule_partitions.name or ""))
    new_schedules = sorted(ids - known)
    by_day: dict[dg.MultiPartitionKey, list[Settled]] = {}
    for s in settled:
        if s.status == "succeeded" and _dated(s.day):
            by_day.setdefault(_partition(s.day, s.schedule_id), []).append(s)
    events = [
        dg.AssetMaterialization(SCHEDULED_IMAGES, partition=key, metadata=_outputs(day))
        for key, day in by_day.items()
    ]
    if not (due or events or new_schedules):
        return dg.SkipReason(f"no schedule is due ({len(settled)} earlier ticks settled)")
    partitions = [image_batch_partitions.build_add_request([d.batch_id for d in due])]
    if new_schedules:
        partitions.append(image_schedule_partitions.build_add_request(new_schedules))
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"tick:{d.tick_id}",
                partition_key=d.batch_id,
                tags={
                    "lifeos/schedule": d.schedule_id,
                    "lifeos/tick": d.tick_id,
                    "lifeos/tick_at": d.tick_at.isoformat(),
                },
            )
            for d in due
        ],
        asset_events=events,
        dynamic_partitions_requests=partitions,
    )
