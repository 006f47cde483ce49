"""The board-game Dagster definitions: rulebook ingestion (pages → chunks → index, its check,
the inbox sensor), the rules Q&A evaluation, and the weekly BoardGameGeek refresh. Merged into
the code location by `pipelines/definitions.py` while the plugin is loaded."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ..resources import bgg_from_settings
from . import games, rulebooks


def definitions(settings: Any) -> dg.Definitions:
    """This plugin's definitions, with the resource only it uses picked from `settings`."""
    return dg.Definitions(
        assets=[
            rulebooks.rulebook_pages,
            rulebooks.rulebook_chunks,
            rulebooks.rulebook_index,
            rulebooks.rules_qa_eval,
            games.bgg_catalogue,
        ],
        asset_checks=[rulebooks.rulebook_index_complete],
        jobs=[rulebooks.rulebook_ingest_job, games.bgg_catalogue_job],
        schedules=[games.bgg_catalogue_schedule],
        sensors=[rulebooks.rulebook_inbox_sensor],
        resources={"bgg": bgg_from_settings(settings)},
    )
