"""Launching the board-game runs from the studio, the API and the CLI (`pipelines.runs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.runs import run_partition

if TYPE_CHECKING:
    import dagster as dg

    from lifeos.settings import Settings


def ingest_rulebook(
    settings: Settings, sha: str, *, source: str, filename: str = ""
) -> dg.ExecuteInProcessResult:
    """A rulebook's pages → chunks → index, as a run of the product's Dagster instance (its
    stored file recorded first, the start of its lineage)."""
    from plugins.board_games.assets.rulebooks import rulebook_file_event

    return run_partition(
        settings,
        "rulebook_ingest",
        "rulebooks",
        sha,
        source=source,
        events=[rulebook_file_event(sha, filename)],
    )
