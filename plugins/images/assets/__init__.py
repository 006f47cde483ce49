"""The image Dagster definitions: image batches (a partition each) and their sensor, image
analyses, the sensor that runs the schedules and the schedules' outputs by day. Merged into
the code location while the plugin is loaded; the `images` resource (the generator) is theirs
and the stories'."""

from __future__ import annotations

from typing import Any

import dagster as dg

from assets.lineage import combined, lineage, on_all, source_version
from assets.sources import LIBRARY, MODELS, model_version

from ..resources.generators import generator_from_settings
from . import analyze, batches, schedules

LIBRARY_IMAGES = "library_images"


def definitions(settings: Any) -> dg.Definitions:
    tools = "plugins.images.tools"
    generator = combined(
        source_version(f"{tools}.batches", f"{tools}.composer", "plugins.images.resources"),
        f"{settings.image_backend}:{settings.image_model or 'test-model'}",
    )
    assets = lineage(
        [batches.image_batches, analyze.image_analyses, schedules.scheduled_images],
        code_versions={
            "image_batches": generator,
            "scheduled_images": combined(generator, source_version(f"{tools}.schedules")),
            "image_analyses": combined(
                source_version(f"{tools}.analyze"), model_version(settings, "vision")
            ),
        },
        deps={
            "image_batches": [LIBRARY],
            "scheduled_images": [LIBRARY],  # the schedules and what they draw from
            "image_analyses": [LIBRARY_IMAGES, MODELS],
        },
        automate=settings.automate,
    )
    # Every stored picture, whichever run made it (a batch, a story's illustrations); the
    # analyses read them, and what a person accepts of an analysis is in the library.
    images = dg.AssetSpec(
        LIBRARY_IMAGES,
        deps=[on_all("image_batches"), on_all("scheduled_images")],
        group_name="images",
        kinds={"png"},
        description="The library's stored pictures (blobs/ by sha256, `image` entities).",
    )
    accepted = dg.AssetSpec(
        "accepted_entities",
        deps=["image_analyses"],
        group_name="images",
        description="Entities a person accepted from image analyses (in the library, tagged "
        "`analyzed`).",
    )
    return dg.Definitions(
        assets=[*assets, images, accepted],
        asset_checks=[batches.image_batch_images_readable],
        jobs=[batches.image_batch_job, schedules.scheduled_images_job],
        sensors=[
            batches.image_batch_sensor,
            schedules.schedules_sensor,
            analyze.image_analysis_partitions_sensor,
        ],
        resources={"images": generator_from_settings(settings)},
    )
