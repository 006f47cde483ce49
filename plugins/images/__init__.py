"""Images, as a plugin: the looks and styles a picture is composed from, the prompt composer
(styles, wildcards, token budgets), image batches (one Dagster partition each, on local
diffusers or an AUTOMATIC1111 server), image analysis into suggested entities, and schedules
that generate by themselves.

The domain in the skeleton's layers: `kinds`, `tools` (composer, batches, png, analyze,
schedules), `resources` (the generators, the CLIP vocabulary), `assets`, `pipelines`, `api`,
`studio`, `cli`. Stories build on it (`depends = ["images"]`).
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
    from .tools.composer import Composer
    from .tools.steps import ClothingIdeasTool, ImageBatchStep

    register(Composer)
    register(ImageBatchStep)
    register(ClothingIdeasTool)


@hookimpl
def register_workflows(register: Any) -> None:
    from pathlib import Path

    for path in sorted((Path(__file__).parent / "workflows").glob("*.yaml")):
        register(path)


@hookimpl
def register_routers(register: Any) -> None:
    from .api import analyze, images, schedules

    register(images.router)
    register(analyze.router)
    register(schedules.router)


@hookimpl
def register_pages(register: Any) -> None:
    from .studio.analyze import AnalyzePage
    from .studio.generate import GeneratePage
    from .studio.schedules import SchedulesPage

    register(GeneratePage)
    register(AnalyzePage)
    register(SchedulesPage)


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
