"""The one sensor behind every `schedule` entity: it settles earlier ticks (from their batches
and Dagster runs), then requests an image batch run for each schedule whose cron time has come.
Adding or editing a schedule is a library edit; no Dagster code changes."""

import dagster as dg

from plugins.images.assets.batches import image_batch_job, image_batch_partitions
from plugins.images.resources.generators import ImageGenerator
from plugins.images.tools.batches import ImageBatches
from plugins.images.tools.schedules import Schedules
from resources.workbench import WorkbenchResource

FINISHED = {dg.DagsterRunStatus.FAILURE: "FAILURE", dg.DagsterRunStatus.CANCELED: "CANCELED"}


@dg.sensor(
    job=image_batch_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Evaluates the library's schedules (cron + time zone) and requests their "
    "image batches; records skipped, failed and finished ticks.",
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
        due = schedules.evaluate()
    if not due:
        return dg.SkipReason(f"no schedule is due ({settled} earlier ticks settled)")
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
        dynamic_partitions_requests=[
            image_batch_partitions.build_add_request([d.batch_id for d in due])
        ],
    )
