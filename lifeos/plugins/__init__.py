"""Plugins: every domain, the built-ins too, comes in as a plugin with a manifest through the same
hooks (`lifeos.hookspecs`), and can be turned off, on and reloaded while the app runs.

`get_plugins()` is the process's host, loaded once on first use from the settings; the kind
and tool registries, the API's routes and the studio's pages read it."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from pydantic import BaseModel

from lifeos.plugins.host import GROUP, SAFE_MODE_AFTER, Plugin, PluginHost, Registries, Status
from lifeos.plugins.manifest import PluginManifest, Provides, read_manifest
from lifeos.settings import Settings, get_settings

__all__ = [
    "GROUP",
    "SAFE_MODE_AFTER",
    "Plugin",
    "PluginHost",
    "PluginManifest",
    "Provides",
    "Registries",
    "Status",
    "get_plugins",
    "host_for",
    "plugin_settings",
    "read_manifest",
    "serve_only",
]

_host: PluginHost | None = None
_parts: tuple[str, ...] | None = None  # None: every part
_lock = threading.Lock()


def serve_only(*parts: str) -> None:
    """Before the first `get_plugins()`: this process uses only these registries (`kinds`,
    `tools`, `commands`, ...), so the plugins' other parts are never imported. Too late once
    the host is loaded: it already has everything."""
    global _parts
    if _host is None:
        _parts = parts


def host_for(settings: Settings, parts: Iterable[str] | None = None) -> PluginHost:
    """A new host over `settings`' plugin folder and choices; nothing loaded yet."""
    return PluginHost(
        [settings.plugins_dir],
        settings.plugins_dir,
        third_party=settings.load_plugins,
        strict=settings.strict_plugins,
        settings=settings,
        parts=parts,
    )


def plugin_settings(name: str) -> BaseModel:
    """A plugin's settings in this process (`register_settings`): what the user set, the
    defaults for the rest. Read anew each call, so a change from another process shows."""
    return get_plugins().settings_of(name)


def get_plugins() -> PluginHost:
    """The process-wide host, loaded on first use (under a lock: discovery reads every installed
    package's metadata, and concurrent first requests must not all do it)."""
    global _host
    if _host is None:
        with _lock:
            if _host is None:
                _host = host_for(get_settings(), _parts).load_all()
    return _host
