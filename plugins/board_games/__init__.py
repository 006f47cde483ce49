"""Board games, as a plugin: games from BoardGameGeek, their rulebooks ingested into a searchable
index, and questions about the rules answered with page citations (or an honest "I don't see
this in the rulebook").

Every part of the domain lives in this folder, in the skeleton's layers: `kinds` (board_game,
qa), `tools` (rulebooks, rules_qa, games), `resources` (BoardGameGeek), `assets` (the Dagster
assets, jobs and sensors), `api`, `studio` and `cli`. The hooks below are its only way in:
`lifeos plugins disable board_games` takes the pages, routes, commands, tools and assets away,
and the games and answers stay in the library for when it comes back.

Each hook imports what it registers when it runs, so a process that loads the plugin only
imports the parts it serves.
"""

from __future__ import annotations

from typing import Any

from lifeos.hookspecs import hookimpl


@hookimpl
def register_entity_kinds(register: Any) -> None:
    from .kinds import KINDS

    for spec in KINDS:
        register(spec)


@hookimpl
def register_tools(register: Any) -> None:
    from .tools.rules_qa import RulesQA

    register(RulesQA)


@hookimpl
def register_routers(register: Any) -> None:
    from .api import games, rules

    register(games.router)
    register(rules.router)


@hookimpl
def register_pages(register: Any) -> None:
    from .studio.ask import AskPage

    register(AskPage)


@hookimpl
def register_commands(register: Any) -> None:
    from .cli import commands

    register(commands)


@hookimpl
def register_definitions(register: Any) -> None:
    def definitions(settings: Any) -> Any:  # Dagster is imported when the definitions are built
        from .assets import definitions

        return definitions(settings)

    register(definitions)


@hookimpl
def run_interrupted(settings: Any, job_name: str, partition: str | None, run_id: str) -> None:
    from .tools.rulebooks.service import mark_interrupted

    if job_name == "rulebook_ingest" and partition:
        mark_interrupted(settings.database_url, partition, run_id)
