"""Backups as Dagster runs: a daily full set, an hourly incremental one (each followed by
pruning to the retention settings), and a weekly restore drill, each run's size, files and
duration in its metadata; a failed one raises a notification in the studio."""

import dagster as dg

from lifeos import backup
from lifeos.schedules import Ticks
from resources.workbench import WorkbenchResource

BACKUP_TAG = {"lifeos/backup": "true"}


def _backup(context: dg.OpExecutionContext, workbench: WorkbenchResource, kind: str) -> None:
    settings = workbench.settings()
    info = backup.run_backup(settings, "full" if kind == "full" else "incremental")
    pruned = backup.prune(settings)
    context.add_output_metadata(
        {
            "set": info.id,
            "files": info.files,
            "bytes": dg.MetadataValue.int(info.bytes),
            "new_bytes": dg.MetadataValue.int(info.new_bytes),
            "duration_s": dg.MetadataValue.float(info.duration_s),
            "encrypted": info.encrypted,
            "pruned_sets": len(pruned.removed),
            "bytes_freed": dg.MetadataValue.int(pruned.bytes_freed),
        }
    )


@dg.op(description="A full backup set (every file re-read), then pruning.")
def full_backup(context: dg.OpExecutionContext, workbench: WorkbenchResource) -> None:
    _backup(context, workbench, "full")


@dg.op(description="An incremental backup set (only changed files read), then pruning.")
def incremental_backup(context: dg.OpExecutionContext, workbench: WorkbenchResource) -> None:
    _backup(context, workbench, "incremental")


@dg.op(description="Restore the newest set into a scratch home and check it.")
def restore_drill(context: dg.OpExecutionContext, workbench: WorkbenchResource) -> None:
    report = backup.verify(workbench.settings())
    context.add_output_metadata(
        {"set": report.id, "duration_s": dg.MetadataValue.float(report.duration_s)}
        | {f"check {k}": v for k, v in report.checks.items()}
    )
    if not report.ok:
        failed = {k: v for k, v in report.checks.items() if not v.startswith("ok")}
        raise dg.Failure(f"backup {report.id} is not restorable: {failed}")


@dg.job(tags=BACKUP_TAG, description="A full backup of the home, then pruning.")
def backup_full_job() -> None:
    full_backup()


@dg.job(tags=BACKUP_TAG, description="An incremental backup of the home, then pruning.")
def backup_incremental_job() -> None:
    incremental_backup()


@dg.job(tags=BACKUP_TAG, description="The restore drill of the newest backup.")
def backup_drill_job() -> None:
    restore_drill()


@dg.run_failure_sensor(
    monitored_jobs=[backup_full_job, backup_incremental_job, backup_drill_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A backup or drill that failed is a notification in the studio.",
)
def backup_failed(context: dg.RunFailureSensorContext, workbench: WorkbenchResource) -> None:
    error = context.failure_event.message or "the run failed"
    Ticks(workbench.settings().database_url).notify(
        "error", f"{context.dagster_run.job_name} failed", error[:2000]
    )


def backup_definitions() -> dg.Definitions:
    running = dg.DefaultScheduleStatus.RUNNING
    return dg.Definitions(
        jobs=[backup_full_job, backup_incremental_job, backup_drill_job],
        schedules=[
            dg.ScheduleDefinition(
                job=backup_full_job, cron_schedule="30 2 * * *", default_status=running
            ),
            dg.ScheduleDefinition(
                job=backup_incremental_job, cron_schedule="45 * * * *", default_status=running
            ),
            dg.ScheduleDefinition(
                job=backup_drill_job, cron_schedule="0 4 * * 0", default_status=running
            ),
        ],
        sensors=[backup_failed],
    )
