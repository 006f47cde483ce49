"""The one Dagster entry point (`workspace.yaml`): per-area definitions merged, resources
picked once from settings."""

from __future__ import annotations

import dagster as dg

from assets import library as library_assets
from lifeos.settings import get_settings
from resources.library import LibraryResource


def build_definitions() -> dg.Definitions:
    settings = get_settings()
    library = LibraryResource(database_url=settings.database_url,
                              exports_dir=str(settings.exports_dir))
    snapshot_job = dg.define_asset_job("library_snapshot_job", selection=["library_snapshot"])
    return dg.Definitions(
        assets=[library_assets.library_snapshot],
        asset_checks=[library_assets.library_snapshot_matches_library],
        jobs=[snapshot_job],
        schedules=[dg.ScheduleDefinition(job=snapshot_job, cron_schedule="0 3 * * *",
                                         default_status=dg.DefaultScheduleStatus.RUNNING)],
        resources={"library": library},
    )


defs = build_definitions()
