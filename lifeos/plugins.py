"""The plugin manager: default plugins always, `lifeos` entry points unless disabled."""

from __future__ import annotations

import importlib
import os
from functools import lru_cache

import pluggy

from lifeos import hookspecs

DEFAULT_PLUGINS = ("lifeos.default_plugins.kinds", "tools.plugin")


@lru_cache
def get_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("lifeos")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    # LIFEOS_LOAD_PLUGINS=0 loads only the built-ins (tests never pick up whatever is installed).
    if os.environ.get("LIFEOS_LOAD_PLUGINS", "1") != "0":
        pm.load_setuptools_entrypoints("lifeos")
    return pm
