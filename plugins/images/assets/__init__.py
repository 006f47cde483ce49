"""The image Dagster definitions: image batches (a partition each) and their sensor, image
analyses, and the sensor that runs the schedules. Merged into the code location while the
plugin is loaded; the `images` resource (the generator) is theirs and the stories'."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ..resources.generators import generator_from_settings
from . import analyze, batches, schedules


def definitions(settings: Any) -> dg.Definitions:
    return dg.Definitions(
        assets=[batches.image_batches, analyze.image_analyses],
        jobs=[batches.image_batch_job],
        sensors=[batches.image_batch_sensor, schedules.schedules_sensor],
        resources={"images": generator_from_settings(settings)},
    )
