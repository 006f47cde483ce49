"""Stories, as a plugin: an illustrated story is a Dagster run over three steps (plan, scenes,
illustrations) on the local models, and character cards (SillyTavern Character Card V2/V3, JSON
or PNG with the picture kept) come in and go out of the library.

The domain in the skeleton's layers: `kinds`, `tools` (stories, cards), `assets`, `pipelines`,
`api`, `studio`, `cli`. It builds on images (`depends`): the illustrations are image batches.
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
    from .tools.steps import StoryCreate, StoryIllustrate, StoryPlan, StoryWrite
    from .tools.stories import SceneWriter, StoryPlanner

    register(StoryPlanner)
    register(SceneWriter)
    for step in (StoryCreate, StoryPlan, StoryWrite, StoryIllustrate):
        register(step)


@hookimpl
def register_workflows(register: Any) -> None:
    from pathlib import Path

    for path in sorted((Path(__file__).parent / "workflows").glob("*.yaml")):
        register(path)


@hookimpl
def register_routers(register: Any) -> None:
    from .api import cards, stories

    register(stories.router)
    register(cards.router)


@hookimpl
def register_pages(register: Any) -> None:
    from .studio.cards import CardsPage
    from .studio.stories import StoriesPage

    register(StoriesPage)
    register(CardsPage)


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
