"""Illustrated stories as a Dagster asset graph, one dynamic partition per story:
story_plan → story_scenes → story_illustrations. Each step keeps its results in the library, so
re-materializing a step (with `redo` naming scenes) does not redo the rest."""

import dagster as dg

from plugins.images.resources.generators import TEST_MODEL_NOTE, ImageGenerator
from plugins.images.tools.batches import ImageBatches
from plugins.stories.tools.stories import Stories
from resources.workbench import WorkbenchResource

story_partitions = dg.DynamicPartitionsDefinition(name="stories")
GROUP = "stories"


class RedoConfig(dg.Config):
    redo: list[int] = []  # scene numbers (from 1) to do again; empty: only what is missing
    steps: int = 20  # illustration: diffusion steps
    width: int = 512
    height: int = 512


def _stories(workbench: WorkbenchResource, router, images: ImageGenerator) -> Stories:  # noqa: ANN001
    settings = workbench.settings()
    return Stories(settings, router, ImageBatches(settings, router, images))


@dg.asset(
    partitions_def=story_partitions,
    group_name=GROUP,
    kinds={"llm"},
    description="The outline: title, premise and scenes (the story_planner tool).",
)
def story_plan(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource, images: ImageGenerator
) -> dg.MaterializeResult:
    with workbench.router() as router:
        service = _stories(workbench, router, images)
        story = service.plan(context.partition_key)
        _, scenes = service.get(context.partition_key)
    return dg.MaterializeResult(
        metadata={
            "title": story.data["title"],
            "scenes": len(scenes),
            "premise": story.data["premise"][:300],
        }
    )


@dg.asset(
    partitions_def=story_partitions,
    group_name=GROUP,
    deps=[story_plan],
    kinds={"llm"},
    description="Each scene written (the story_writer tool); only missing or `redo`.",
)
def story_scenes(
    context: dg.AssetExecutionContext,
    config: RedoConfig,
    workbench: WorkbenchResource,
    images: ImageGenerator,
) -> dg.MaterializeResult:
    with workbench.router() as router:
        scenes = _stories(workbench, router, images).write(
            context.partition_key, redo=config.redo, progress=context.log.info
        )
    failed = [s.data["order"] + 1 for s in scenes if s.data["status"] == "failed"]
    return dg.MaterializeResult(
        metadata={
            "scene_ids": dg.MetadataValue.json([s.id for s in scenes]),
            "written": sum(bool(s.data["text"]) for s in scenes),
            "failed": failed,
            "words": sum(len(s.data["text"].split()) for s in scenes),
        }
    )


@dg.asset(
    partitions_def=story_partitions,
    group_name=GROUP,
    deps=[story_scenes],
    kinds={"diffusers"},
    tags={"lifeos/heavy": "true"},
    description="One picture per scene through the image pipeline; only missing or `redo`.",
)
def story_illustrations(
    context: dg.AssetExecutionContext,
    config: RedoConfig,
    workbench: WorkbenchResource,
    images: ImageGenerator,
) -> dg.MaterializeResult:
    with workbench.router() as router:
        service = _stories(workbench, router, images)
        scenes = service.illustrate(
            context.partition_key,
            redo=config.redo,
            progress=context.log.info,
            steps=config.steps,
            size=(config.width, config.height),
        )
    metadata = {"illustrated": sum(s.data["status"] == "illustrated" for s in scenes)}
    if images.is_test_model:
        metadata["note"] = TEST_MODEL_NOTE
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(
    asset=story_scenes,
    description="The story has the scenes its plan lists, in order, each written or marked "
    "failed with its reason (none silently empty).",
)
def story_scenes_written(
    context: dg.AssetCheckExecutionContext, workbench: WorkbenchResource, images: ImageGenerator
) -> dg.AssetCheckResult:
    with workbench.router() as router:
        story, scenes = _stories(workbench, router, images).get(context.partition_key)
    planned = len(story.data["outline"])
    orders = [s.data["order"] for s in scenes]
    silent = [
        s.data["order"] + 1 for s in scenes if not s.data["text"] and s.data["status"] != "failed"
    ]
    problems = []
    if planned and len(scenes) != planned:
        problems.append(f"{len(scenes)} scenes for {planned} planned")
    if orders != list(range(len(scenes))):
        problems.append(f"scene order {orders}")
    if silent:
        problems.append(f"scenes without text and not failed: {silent}")
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"scenes": len(scenes), "problems": dg.MetadataValue.json(problems)},
    )


story_job = dg.define_asset_job("story", selection=[story_plan, story_scenes, story_illustrations])
