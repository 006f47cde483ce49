"""The plugin manager. Every plugin, the built-ins too, comes in through the `lifeos` entry-point
group: the built-ins are the entry points of this distribution (`pyproject.toml`), so the core
names no module of the layers above it."""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.metadata import entry_points

import pluggy

from lifeos import hookspecs
from lifeos.errors import ConfigError

DISTRIBUTION = "lifeos-workbench"
GROUP = "lifeos"


@lru_cache
def get_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("lifeos")
    pm.add_hookspecs(hookspecs)
    # LIFEOS_LOAD_PLUGINS=0 loads only the built-ins (tests never pick up whatever is installed).
    others = os.environ.get("LIFEOS_LOAD_PLUGINS", "1") != "0"
    builtins = 0
    for ep in entry_points(group=GROUP):
        builtin = ep.dist is not None and ep.dist.name.replace("_", "-").lower() == DISTRIBUTION
        if (builtin or others) and pm.get_plugin(ep.name) is None:
            pm.register(ep.load(), name=ep.name)
            builtins += builtin
    if not builtins:
        raise ConfigError(
            f"no built-in plugins: the `{GROUP}` entry points of {DISTRIBUTION} are missing; "
            "install the project (scripts/bootstrap.sh, or `pip install -e .`)"
        )
    return pm
