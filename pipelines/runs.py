"""Launching Dagster runs from the studio, the CLI and the API, in this process, against the
product's Dagster instance (LIFEOS_HOME/dagster): the runs show in the Dagster UI with their
lineage whether or not the daemon is up. Queued work (`--no-wait`) goes through the sensors."""

from __future__ import annotations

from typing import Any

import dagster as dg

from lifeos.dagster_home import write_dagster_yaml
from lifeos.settings import Settings


def run_partition(settings: Settings, job_name: str, partitions: str, key: str, *,
                  source: str, **execute: Any) -> dg.ExecuteInProcessResult:
    """One partition of a partitioned job, as a run of the product's Dagster instance."""
    from pipelines.definitions import build_definitions

    write_dagster_yaml(settings)
    # Every event is in the run's log in the Dagster UI: echoing each at DEBUG here would bury
    # the CLI's progress bar and fill the API's log. Warnings and errors still show.
    run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}},
                  **execute.pop("run_config", {})}
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        instance.add_dynamic_partitions(partitions, [key])
        job = build_definitions().resolve_job_def(job_name)
        return job.execute_in_process(partition_key=key, instance=instance,
                                      raise_on_error=False, tags={"lifeos/source": source},
                                      run_config=run_config, **execute)


def ingest_rulebook(settings: Settings, sha: str, *, source: str) -> dg.ExecuteInProcessResult:
    """A rulebook's pages → chunks → index."""
    return run_partition(settings, "rulebook_ingest", "rulebooks", sha, source=source)


def generate_batch(settings: Settings, batch_id: str, *,
                   source: str) -> dg.ExecuteInProcessResult:
    """An image batch (makes the images it does not have yet)."""
    return run_partition(settings, "image_batch", "image_batches", batch_id, source=source)


def run_story(settings: Settings, story_id: str, *, source: str,
              steps: tuple[str, ...] = ("story_plan", "story_scenes", "story_illustrations"),
              redo: list[int] | None = None, image_steps: int = 20,
              size: tuple[int, int] = (512, 512)) -> dg.ExecuteInProcessResult:
    """A story's steps (all three, or the ones named); `redo` names scenes to do again."""
    config = {"redo": redo or [], "steps": image_steps, "width": size[0], "height": size[1]}
    return run_partition(settings, "story", "stories", story_id, source=source,
                         op_selection=list(steps), run_config={"ops": {
                             s: {"config": config} for s in steps if s != "story_plan"}})
