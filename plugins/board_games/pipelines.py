"""Launching the board-game runs from the studio, the API and the CLI (`pipelines.runs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.runs import run_partition

if TYPE_CHECKING:
    import dagster as dg

    from lifeos.settings import Settings


def ingest_rulebook(settings: Settings, sha: str, *, source: str) -> dg.ExecuteInProcessResult:
    """A rulebook's pages → chunks → index, as a run of the product's Dagster instance."""
    return run_partition(settings, "rulebook_ingest", "rulebooks", sha, source=source)
