"""The one Dagster entry point (`workspace.yaml`): per-area definitions merged with those of the
loaded plugins (their `register_definitions` hook), resources picked once from settings."""

from __future__ import annotations

import threading
from typing import Any

import dagster as dg

from assets import embeddings, sources
from assets import library as library_assets
from assets.lineage import combined, lineage, source_version
from lifeos.plugins import PluginHost, get_plugins
from lifeos.settings import Settings, get_settings
from pipelines.executors import executor_for
from resources.library import LibraryResource
from resources.llm import LLMResource
from resources.workbench import WorkbenchResource


def build_definitions(
    plugins: PluginHost | None = None, settings: Settings | None = None
) -> dg.Definitions:
    """The core's definitions and every loaded plugin's, in one `Definitions`; a plugin that
    registered a function of the settings gets them here."""
    host = plugins or get_plugins()
    settings = settings or get_settings()
    from pipelines.backups import backup_definitions
    from pipelines.workflow_runs import workflow_definitions

    return dg.Definitions.merge(
        core_definitions(settings),
        backup_definitions(),
        *(d(settings) if callable(d) else d for d in host.registries.definitions.values()),
        workflow_definitions(settings, host),
    )


_built: tuple[tuple[int, str], dg.Definitions] | None = None
_lock = threading.Lock()


def current_definitions(settings: Settings) -> dg.Definitions:
    """The definitions for `settings`, built once and again only after a plugin loads or
    unloads or the settings change (their resources are picked from them): what the code
    that launches runs uses."""
    global _built
    host = get_plugins()
    key = (host.generation, settings.model_dump_json())
    with _lock:
        if _built is None or _built[0] != key:
            _built = (key, build_definitions(host, settings))
        return _built[1]


def job_named(name: str) -> dg.JobDefinition:
    """A job of the code location, for the settings of the environment (what a process that
    reconstructs a run, such as a Celery worker, loads)."""
    return current_definitions(get_settings()).resolve_job_def(name)


def core_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or get_settings()
    snapshot_job = dg.define_asset_job("library_snapshot_job", selection=["library_snapshot"])
    embeddings_job = dg.define_asset_job("entity_embeddings_job", selection=["entity_embeddings"])
    library = lineage(
        [library_assets.library_snapshot, embeddings.entity_embeddings],
        code_versions={
            "library_snapshot": source_version("assets.library"),
            "entity_embeddings": combined(
                source_version("assets.embeddings"), sources.model_version(settings, "embed")
            ),
        },
        deps={
            "library_snapshot": [sources.LIBRARY, "entity_embeddings"],
            "entity_embeddings": [sources.LIBRARY, sources.MODELS],
        },
        automate=settings.automate,
    )
    automation = (
        [
            dg.AutomationConditionSensorDefinition(
                "lifeos_automation",
                target=dg.AssetSelection.assets(*settings.automate),
                default_status=dg.DefaultSensorStatus.RUNNING,
                description="Re-materializes what `LIFEOS_AUTOMATE` names when its code "
                "version changes.",
            )
        ]
        if settings.automate
        else []
    )
    return dg.Definitions(
        assets=[*sources.SOURCES, *library],
        asset_checks=[
            library_assets.library_snapshot_matches_library,
            library_assets.library_links_resolve,
            embeddings.entity_embeddings_current,
        ],
        jobs=[snapshot_job, embeddings_job],
        schedules=[
            dg.ScheduleDefinition(
                job=snapshot_job,
                cron_schedule="0 3 * * *",
                default_status=dg.DefaultScheduleStatus.RUNNING,
            ),
            # What changed in the library, embedded again every hour (only what changed).
            dg.ScheduleDefinition(
                job=embeddings_job,
                cron_schedule="17 * * * *",
                default_status=dg.DefaultScheduleStatus.RUNNING,
            ),
        ],
        sensors=[sources.observe_sources, *automation],
        # One process per run, not one per step: each job's steps run one after another, and
        # a step in a process of its own loads its models again (a rulebook's chunker, index
        # and check each loaded the embedder; a story's plan and scenes the chat model). Runs
        # still run side by side, each in its own process. Or Celery workers (executors.py).
        executor=executor_for(settings),
        resources=core_resources(settings),
    )


def core_resources(settings: Settings) -> dict[str, Any]:
    return {
        "library": LibraryResource(
            database_url=settings.database_url, exports_dir=str(settings.exports_dir)
        ),
        "llm": LLMResource(database_url=settings.database_url),
        "workbench": WorkbenchResource(
            home=str(settings.home.resolve()), database_url=settings.database_url
        ),
    }


defs = build_definitions()
