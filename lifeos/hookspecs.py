"""The hooks a plugin implements (each optional), marked with `hookimpl`. The built-ins use the
same hooks as anyone's plugin. Each `register_*` hook gets one `register` function; everything
registered through it is taken back, exactly, when the plugin unloads.

    from lifeos.hookspecs import hookimpl

    @hookimpl
    def register_entity_kinds(register):
        register(KindSpec(name="recipe", model=Recipe, label="Recipe"))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("lifeos")
hookimpl = pluggy.HookimplMarker("lifeos")


@hookspec
def register_entity_kinds(register: Callable[..., Any]) -> None:
    """Entity kinds: `register(KindSpec(...))` once per kind."""


@hookspec
def register_tools(register: Callable[..., Any]) -> None:
    """AI tools: `register(ToolClass)` once per `lifeos.llm.toolkit.Tool` subclass."""


@hookspec
def register_routers(register: Callable[..., Any]) -> None:
    """API routes: `register(fastapi.APIRouter(prefix="/recipes"))`, served under /api/v1."""


@hookspec
def register_pages(register: Callable[..., Any]) -> None:
    """Studio pages: `register(PageClass)`, an `apps.studio.base.Page` subclass."""


@hookspec
def register_definitions(register: Callable[..., Any]) -> None:
    """Dagster definitions: `register(dagster.Definitions(assets=[...], sensors=[...]))`, or a
    function of the `Settings` that returns them (to pick resources from the settings), merged
    with everyone's into the code location (`pipelines/definitions.py`)."""


@hookspec
def register_models(register: Callable[..., Any]) -> None:
    """Model aliases its tools name: `register("recipes_chef", {"model": "local/...",
    "fallbacks": [...]})`. An alias of the same name in the library's models.yaml wins."""


@hookspec
def register_settings(register: Callable[..., Any]) -> None:
    """Its settings: `register(SettingsModel)`, a Pydantic model whose every field has a
    default. People change them on the Plugins page, `PUT /api/v1/plugins/{name}/settings` or
    `lifeos plugins settings NAME KEY=VALUE`; the plugin reads them with
    `lifeos.plugins.plugin_settings(name)`."""


@hookspec
def register_workflows(register: Callable[..., Any]) -> None:
    """Built-in workflow templates: `register(path)`, a YAML file of the workflow language
    (`docs/workflows.md`), found by its `workflow:` name. A template saved in the library
    under the same name takes its place."""


@hookspec
def register_commands(register: Callable[..., Any]) -> None:
    """CLI commands: `register(typer.Typer())`, its commands and groups merged into `lifeos`."""


@hookspec
def run_interrupted(settings: Any, job_name: str, partition: str | None, run_id: str) -> None:
    """A Dagster run of `job_name` was found stopped before it finished (its process gone):
    mend what it left half done (a rulebook shown as being ingested)."""


@hookspec
def plugin_load(settings: Any) -> None:
    """Called after the registrations, with the product's `Settings`: open what the plugin
    needs. Raising here quarantines the plugin (its registrations are taken back)."""


@hookspec
def plugin_unload() -> None:
    """Called before the registrations are taken back: close what `plugin_load` opened."""


@hookspec
def plugin_health() -> str | None:
    """None when the plugin is well, else what is wrong (shown in the CLI, API and studio)."""
