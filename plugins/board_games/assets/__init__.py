"""The board-game Dagster definitions: rulebook ingestion (pages → chunks → index, its check,
the inbox sensor), the rules Q&A evaluation, and the weekly BoardGameGeek refresh. Merged into
the code location by `pipelines/definitions.py` while the plugin is loaded."""

from __future__ import annotations

from typing import Any

import dagster as dg

from assets.lineage import combined, lineage, on_all, source_version
from assets.sources import LIBRARY, MODELS, TOOL_CONFIGS, config_version, model_version

from ..resources import bgg_from_settings
from . import games, rulebooks


def definitions(settings: Any) -> dg.Definitions:
    """This plugin's definitions, with the resource only it uses picked from `settings`."""
    tools = "plugins.board_games.tools"
    embedder = model_version(settings, "embed")
    extractor = source_version(f"{tools}.rulebooks.extract", dists=["docling", "pypdfium2"])
    if settings.rulebook_layout_artifacts:
        extractor = combined(extractor, "layout-model")
    assets = lineage(
        [
            rulebooks.rulebook_pages,
            rulebooks.rulebook_chunks,
            rulebooks.rulebook_index,
            rulebooks.rules_qa_eval,
            games.bgg_catalogue,
        ],
        code_versions={
            "rulebook_pages": extractor,
            # chunks are sized by the embedder's tokenizer
            "rulebook_chunks": combined(
                source_version(f"{tools}.rulebooks.chunk", f"{tools}.rulebooks.text"), embedder
            ),
            "rulebook_index": combined(source_version(f"{tools}.rulebooks.index"), embedder),
            "rules_qa_eval": combined(
                source_version(f"{tools}.rules_qa", f"{tools}.rulebooks.retrieve"),
                config_version(settings, "rules_qa"),
                model_version(settings, "default", "embed"),
            ),
            "bgg_catalogue": source_version(f"{tools}.games"),
        },
        deps={
            "rulebook_pages": [rulebooks.RULEBOOK_FILES],
            "rules_qa_eval": [on_all("rulebook_index"), TOOL_CONFIGS, MODELS],
            "bgg_catalogue": [LIBRARY],
        },
        automate=settings.automate,
    )
    return dg.Definitions(
        assets=[rulebooks.rulebook_files, *assets, games.bgg_responses],
        asset_checks=[rulebooks.rulebook_index_complete],
        jobs=[rulebooks.rulebook_ingest_job, games.bgg_catalogue_job],
        schedules=[games.bgg_catalogue_schedule],
        sensors=[rulebooks.rulebook_inbox_sensor, games.observe_bgg],
        resources={"bgg": bgg_from_settings(settings)},
    )
