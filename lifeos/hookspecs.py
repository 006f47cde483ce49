"""Plugin hooks. Built-ins in `lifeos.default_plugins` use the same hooks as third parties,
which register under the `lifeos` entry-point group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("lifeos")
hookimpl = pluggy.HookimplMarker("lifeos")


@hookspec
def register_entity_kinds(register: Callable[..., Any]) -> None:
    """Register entity kinds: call `register(KindSpec(...))` once per kind."""


@hookspec
def register_tools(register: Callable[..., Any]) -> None:
    """Register AI tools: call `register(ToolClass)` once per tool."""
