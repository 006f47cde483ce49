"""The story Dagster definitions: plan → scenes → illustrations, a partition per story. Their
`images` resource comes with the images plugin's definitions (stories depend on images)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from assets.lineage import combined, lineage, on_all, source_version
from assets.sources import LIBRARY, MODELS, TOOL_CONFIGS, config_version, model_version

from . import stories


def definitions(settings: Any) -> dg.Definitions:
    code = source_version("plugins.stories.tools.stories")
    assets = lineage(
        [stories.story_plan, stories.story_scenes, stories.story_illustrations],
        code_versions={
            "story_plan": combined(
                code, config_version(settings, "story_planner"), model_version(settings, "default")
            ),
            "story_scenes": combined(
                code, config_version(settings, "story_writer"), model_version(settings, "default")
            ),
            "story_illustrations": code,
        },
        deps={
            "story_plan": [LIBRARY, TOOL_CONFIGS, MODELS],
            # the pictures are image batches (made through the images plugin's service)
            "story_illustrations": [on_all("image_batches")],
        },
        automate=settings.automate,
    )
    return dg.Definitions(
        assets=assets, asset_checks=[stories.story_scenes_written], jobs=[stories.story_job]
    )
