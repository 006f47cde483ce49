"""Launching Dagster runs from the studio and the CLI, in this process, against the product's
Dagster instance (LIFEOS_HOME/dagster): the runs show in the Dagster UI with their lineage,
whether or not the daemon is up."""

from __future__ import annotations

import dagster as dg

from lifeos.dagster_home import write_dagster_yaml
from lifeos.settings import Settings


def ingest_rulebook(settings: Settings, sha: str, *, source: str) -> dg.ExecuteInProcessResult:
    """Materialize one rulebook's partition (pages → chunks → index) as a Dagster run."""
    from assets.rulebooks import rulebook_partitions
    from pipelines.definitions import build_definitions

    write_dagster_yaml(settings)
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        instance.add_dynamic_partitions(rulebook_partitions.name, [sha])
        job = build_definitions().resolve_job_def("rulebook_ingest")
        return job.execute_in_process(partition_key=sha, instance=instance,
                                      raise_on_error=False, tags={"lifeos/source": source})


def generate_batch(settings: Settings, batch_id: str, *,
                   source: str) -> dg.ExecuteInProcessResult:
    """Materialize one image batch's partition as a Dagster run (makes the missing images)."""
    from assets.images import image_batch_partitions
    from pipelines.definitions import build_definitions

    write_dagster_yaml(settings)
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        instance.add_dynamic_partitions(image_batch_partitions.name, [batch_id])
        job = build_definitions().resolve_job_def("image_batch")
        return job.execute_in_process(partition_key=batch_id, instance=instance,
                                      raise_on_error=False, tags={"lifeos/source": source})


def run_story(settings: Settings, story_id: str, *, source: str,
              steps: tuple[str, ...] = ("story_plan", "story_scenes", "story_illustrations"),
              redo: list[int] | None = None, image_steps: int = 20,
              size: tuple[int, int] = (512, 512)) -> dg.ExecuteInProcessResult:
    """Materialize a story's partition (all three steps, or the ones named) as a Dagster run."""
    from assets.stories import story_partitions
    from pipelines.definitions import build_definitions

    write_dagster_yaml(settings)
    config = {"redo": redo or [], "steps": image_steps, "width": size[0], "height": size[1]}
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        instance.add_dynamic_partitions(story_partitions.name, [story_id])
        job = build_definitions().resolve_job_def("story")
        ops = {s: {"config": config} for s in steps if s != "story_plan"}
        return job.execute_in_process(
            partition_key=story_id, instance=instance, raise_on_error=False,
            op_selection=list(steps), run_config={"ops": ops},
            tags={"lifeos/source": source})
