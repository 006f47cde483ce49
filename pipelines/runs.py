"""Launching Dagster runs from the studio, the CLI and the API, in this process, against the
product's Dagster instance (LIFEOS_HOME/dagster): the runs show in the Dagster UI with their
lineage whether or not the daemon is up. Queued work (`--no-wait`) goes through the sensors."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import dagster as dg
import httpx

from lifeos import tracing
from lifeos.dagster_home import open_instance
from lifeos.logging import get_logger
from lifeos.security.roles import run_tags
from lifeos.settings import Settings


def run_partition(
    settings: Settings,
    job_name: str,
    partitions: str,
    key: str,
    *,
    source: str,
    events: Sequence[dg.AssetMaterialization] = (),
    **execute: Any,
) -> dg.ExecuteInProcessResult:
    """One partition of a partitioned job, as a run of the product's Dagster instance;
    `events`: what it reads from outside Dagster, recorded first (its external assets)."""
    from pipelines.definitions import current_definitions

    # Every event is in the run's log in the Dagster UI: echoing each at DEBUG here would bury
    # the CLI's progress bar and fill the API's log. Warnings and errors still show.
    run_config = {
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
        **execute.pop("run_config", {}),
    }
    with open_instance(settings, in_process=True) as instance:
        instance.add_dynamic_partitions(partitions, [key])
        for event in events:
            instance.report_runless_asset_event(event)
        job = current_definitions(settings).resolve_job_def(job_name)
        return job.execute_in_process(
            partition_key=key,
            instance=instance,
            raise_on_error=False,
            tags={"lifeos/source": source, **run_tags(), **tracing.run_tags()},
            run_config=run_config,
            **execute,
        )


def fail_orphaned_runs(settings: Settings) -> list[dg.DagsterRun]:
    """Runs shown as started whose process is gone: `lifeos up`, the studio or a CLI command
    killed outright, or the machine restarted. Dagster's default run launcher cannot check on
    its run workers, so such a run would show as running for ever (and, say, its rulebook as
    being ingested). Each is marked failed, and the plugins told (`run_interrupted`). A run
    whose process is alive (one still finishing after `lifeos up` stopped) is left alone.
    `lifeos up` calls this as it starts."""
    orphans = []
    with open_instance(settings) as instance:
        for run in instance.get_runs(
            filters=dg.RunsFilter(
                statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
            )
        ):
            pid = _run_pid(instance, run.run_id)
            if pid is None or _alive(pid):
                continue
            instance.report_run_failed(
                run,
                message=(f"its process ({pid}) is gone: it was stopped before the run finished"),
            )
            orphans.append(run)
    # What a run left half done is its plugin's to mend (a rulebook shown as being ingested).
    from lifeos.plugins import get_plugins

    for run in orphans:
        get_plugins().pm.hook.run_interrupted(
            settings=settings,
            job_name=run.job_name,
            partition=run.tags.get("dagster/partition"),
            run_id=run.run_id,
        )
    return orphans


def _run_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The process a run executes in: its first engine event that names one ("Started
    process for run", or "Executing steps in process" for a run in the caller's process)."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = record.dagster_event.engine_event_data if record.dagster_event else None
        pid = data.metadata.get("pid") if data else None
        if pid is not None:
            return int(str(pid.value))
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


log = get_logger(__name__)
RELOAD_WORKSPACE = "mutation { reloadWorkspace { __typename ... on PythonError { message } } }"


def reload_code_location(settings: Settings) -> bool:
    """Ask the Dagster webserver to load its code locations again (after a plugin came or
    went), so their assets, jobs and schedules show in the UI and reach the daemon. False when
    the webserver is not there or refuses; said in the log, never raised."""
    url = f"http://{settings.dagster_host}:{settings.dagster_port}/graphql"
    try:
        reply = httpx.post(url, json={"query": RELOAD_WORKSPACE}, timeout=60).json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("dagster_reload_failed", error=str(exc)[:300])
        return False
    result = (reply.get("data") or {}).get("reloadWorkspace") or {}
    if result.get("__typename") != "Workspace":
        log.warning("dagster_reload_failed", error=str(result or reply)[:300])
        return False
    return True
