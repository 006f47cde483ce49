"""Registers the built-in AI tools through the same hook third-party tools use."""

from __future__ import annotations

from typing import Any

from lifeos.hookspecs import hookimpl


@hookimpl
def register_tools(register: Any) -> None:
    from tools.composer import Composer
    from tools.tagger import TagSuggester

    register(TagSuggester)
    register(Composer)
