"""Launching the story runs from the studio, the API and the CLI (`pipelines.runs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.runs import run_partition

if TYPE_CHECKING:
    import dagster as dg

    from lifeos.settings import Settings


def run_story(
    settings: Settings,
    story_id: str,
    *,
    source: str,
    steps: tuple[str, ...] = ("story_plan", "story_scenes", "story_illustrations"),
    redo: list[int] | None = None,
    image_steps: int = 20,
    size: tuple[int, int] = (512, 512),
) -> dg.ExecuteInProcessResult:
    """A story's steps (all three, or the ones named); `redo` names scenes to do again."""
    config = {"redo": redo or [], "steps": image_steps, "width": size[0], "height": size[1]}
    return run_partition(
        settings,
        "story",
        "stories",
        story_id,
        source=source,
        op_selection=list(steps),
        run_config={"ops": {s: {"config": config} for s in steps if s != "story_plan"}},
    )
