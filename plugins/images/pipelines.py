"""Launching the image batch runs from the studio, the API and the CLI (`pipelines.runs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.runs import run_partition

if TYPE_CHECKING:
    import dagster as dg

    from lifeos.settings import Settings


def generate_batch(settings: Settings, batch_id: str, *, source: str) -> dg.ExecuteInProcessResult:
    """An image batch (makes the images it does not have yet)."""
    return run_partition(settings, "image_batch", "image_batches", batch_id, source=source)
