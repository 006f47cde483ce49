"""The story Dagster definitions: plan → scenes → illustrations, a partition per story. Their
`images` resource comes with the images plugin's definitions (stories depend on images)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from . import stories


def definitions(settings: Any) -> dg.Definitions:  # noqa: ARG001 - the same hook for all
    return dg.Definitions(
        assets=[stories.story_plan, stories.story_scenes, stories.story_illustrations],
        jobs=[stories.story_job],
    )
