"""The core plugin: the kinds every domain builds on (characters, the people using the
workbench, the configs of its AI tools) and the tag suggester. The entity store, the API, the
studio's Library, Models, Activity and Plugins pages and the CLI's root are the skeleton's
(`lifeos/`, `apps/`); this plugin brings what the library holds."""

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
    from tools.library import LibraryPick
    from tools.tagger import TagSuggester

    register(TagSuggester)
    register(LibraryPick)
