"""The plugin host: finds plugins, loads, unloads and reloads them while the app runs, and holds
the registries they fill (entity kinds, tools, API routers, studio pages, Dagster definitions).

Every plugin, the built-ins too, is a Python package or module with a manifest (`manifest.py`),
found in one of two places:

- the `lifeos.plugins` entry-point group of the installed distributions (the built-ins are this
  distribution's entry points, `pyproject.toml`);
- a folder with a `plugin.toml` under `LIFEOS_HOME/plugins/` (the folder is the package).

Every registration records how it is taken back, so unloading a plugin leaves each registry as
it was before the plugin loaded. A plugin that fails (a bad manifest, an unsupported core, a
missing dependency, an error on import or in a hook, a name another plugin holds) is quarantined
with the reason and the rest loads; one that fails `SAFE_MODE_AFTER` times in a row is turned off
until it is enabled again. `strict` (LIFEOS_STRICT_PLUGINS=1) makes any failure fatal instead.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
import yaml
from pydantic import BaseModel, ValidationError

from lifeos import hookspecs
from lifeos.db.plugin_migrations import migrations_of, upgrade_plugin
from lifeos.errors import (
    BadRequest,
    ConfigError,
    LifeOSError,
    NotFound,
    PluginError,
    PluginNotFound,
    ValidationFailed,
)
from lifeos.kinds import KindRegistry, KindSpec
from lifeos.logging import get_logger
from lifeos.plugins.manifest import PluginManifest, find_manifest, read_manifest
from lifeos.plugins.state import PluginChoices
from lifeos.security.roles import Role, require

log = get_logger(__name__)

GROUP = "lifeos.plugins"
DISTRIBUTION = "lifeos-workbench"
FOLDER_PACKAGE = "lifeos_plugins"  # folder plugins import as lifeos_plugins.<name>
SAFE_MODE_AFTER = 3
REGISTER_HOOKS = {
    "kinds": "register_entity_kinds",
    "tools": "register_tools",
    "routers": "register_routers",
    "pages": "register_pages",
    "definitions": "register_definitions",
    "commands": "register_commands",
    "models": "register_models",
    "settings": "register_settings",
    "workflows": "register_workflows",
}


class Status(StrEnum):
    LOADED = "loaded"
    DISABLED = "disabled"  # turned off by the user, or by safe mode
    QUARANTINED = "quarantined"  # could not load; `reason` says why
    WAITING = "waiting"  # a plugin it builds on (`depends`) is not loaded; loads when it is


@dataclass
class Plugin:
    """One plugin found, whatever its state."""

    name: str
    origin: str  # where it was found, for people
    builtin: bool
    importer: Callable[[bool], ModuleType]  # its code, imported anew when asked (a reload)
    manifest_path: Path | None
    manifest: PluginManifest | None = None
    status: Status = Status.QUARANTINED
    reason: str | None = None
    module: ModuleType | None = None
    registered: dict[str, list[str]] = field(default_factory=dict)
    teardown: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def info(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "name": self.name,
            "version": m.version if m else None,
            "description": m.description if m else "",
            "status": self.status.value,
            "reason": self.reason,
            "builtin": self.builtin,
            "origin": self.origin,
            "core": m.core if m else None,
            "requires": m.requires if m else [],
            "depends": m.depends if m else [],
            "provides": m.provides.model_dump() if m else {},
            "registered": {k: list(v) for k, v in self.registered.items() if v},
        }


@dataclass
class Registries:
    """What the loaded plugins provide. Readers take what is there now; the host changes it
    under its lock, and says so to its listeners."""

    kinds: KindRegistry = field(default_factory=KindRegistry)
    tools: dict[str, type[Any]] = field(default_factory=dict)
    routers: dict[str, Any] = field(default_factory=dict)
    pages: dict[str, type[Any]] = field(default_factory=dict)
    definitions: dict[str, Any] = field(default_factory=dict)  # Definitions, or f(settings)
    commands: dict[str, Any] = field(default_factory=dict)  # typer.Typer groups
    models: dict[str, Any] = field(default_factory=dict)  # model aliases: AliasConfig
    settings: dict[str, type[BaseModel]] = field(default_factory=dict)  # plugin -> its model
    workflows: dict[str, Path] = field(default_factory=dict)  # workflow name -> its YAML file
    owners: dict[tuple[str, str], str] = field(default_factory=dict)  # (what, name) -> plugin

    def snapshot(self) -> dict[str, Any]:
        """Every registry's content, to compare before and after (tests, `health`)."""
        return {
            "kinds": {s.name: s for s in self.kinds},
            "tools": dict(self.tools),
            "routers": dict(self.routers),
            "pages": dict(self.pages),
            "definitions": dict(self.definitions),
            "commands": dict(self.commands),
            "models": dict(self.models),
            "settings": dict(self.settings),
            "workflows": dict(self.workflows),
            "owners": dict(self.owners),
        }


def _is_builtin(ep: EntryPoint) -> bool:
    return ep.dist is not None and ep.dist.name.replace("_", "-").lower() == DISTRIBUTION


class PluginHost:
    def __init__(
        self,
        folders: list[Path],
        state_folder: Path,
        *,
        third_party: bool = True,
        strict: bool = False,
        settings: Any = None,
        parts: Iterable[str] | None = None,
    ) -> None:
        self.folders = folders
        self.state_folder = state_folder
        self.third_party = third_party
        self.strict = strict
        self.settings = settings
        # What this process serves: the CLI asks for no pages or routes (they import Gradio
        # and FastAPI, seconds before `lifeos --help` could answer).
        self.parts = frozenset(REGISTER_HOOKS if parts is None else parts)
        if unknown := self.parts - set(REGISTER_HOOKS):
            raise ValueError(f"no such plugin parts: {sorted(unknown)}")
        self.registries = Registries()
        self.plugins: dict[str, Plugin] = {}
        self.pm = pluggy.PluginManager("lifeos")
        self.pm.add_hookspecs(hookspecs)
        self._lock = threading.RLock()
        self._listeners: list[Callable[[str], None]] = []
        self._reloads_seen: dict[str, int] = {}
        self.generation = 0  # counts the changes: caches of what plugins provide compare it
        self.registries.kinds.explain = self._explain_kind

    # ---- reading ----------------------------------------------------------------------------

    @property
    def kinds(self) -> KindRegistry:
        return self.registries.kinds

    @property
    def tools(self) -> dict[str, type[Any]]:
        return self.registries.tools

    def get(self, name: str) -> Plugin:
        try:
            return self.plugins[name]
        except KeyError:
            raise PluginNotFound(
                f"no plugin named {name!r}", details={"plugins": sorted(self.plugins)}
            ) from None

    def overview(self) -> list[dict[str, Any]]:
        return [p.info() for p in sorted(self.plugins.values(), key=lambda p: p.name)]

    def info(self, name: str) -> dict[str, Any]:
        plugin = self.get(name)
        return {**plugin.info(), "health": self.health(name)}

    def health(self, name: str) -> str:
        """`ok`, or what is wrong: why it is off, or what its `plugin_health` hook says."""
        plugin = self.get(name)
        if plugin.status is not Status.LOADED:
            return f"{plugin.status.value}: {plugin.reason}"
        try:
            problems = [p for p in self._call(name, "plugin_health") if p]
        except Exception as exc:  # noqa: BLE001 - a failing health check is its answer
            return f"health check failed: {exc}"
        return "; ".join(map(str, problems)) or "ok"

    # ---- settings ---------------------------------------------------------------------------

    def _settings_model(self, name: str) -> type[BaseModel]:
        plugin = self.get(name)
        model = self.registries.settings.get(name)
        if model is None:
            why = "" if plugin.status is Status.LOADED else f" while it is {plugin.status.value}"
            raise NotFound(f"plugin {name!r} has no settings{why}")
        return model

    def settings_of(self, name: str) -> BaseModel:
        """The plugin's settings: what the user set, the defaults for the rest. Values the
        model no longer accepts (the plugin changed) give way to its defaults, and it is said."""
        model = self._settings_model(name)
        stored = PluginChoices.read(self.state_folder).settings.get(name, {})
        try:
            return model.model_validate(stored)
        except ValidationError as exc:
            log.warning("plugin_settings_invalid", plugin=name, error=str(exc))
            return model()

    def settings_info(self, name: str) -> dict[str, Any]:
        return {
            "plugin": name,
            "schema": self._settings_model(name).model_json_schema(),
            "values": self.settings_of(name).model_dump(mode="json"),
        }

    def set_settings(self, name: str, values: dict[str, Any]) -> dict[str, Any]:
        """Change some of the plugin's settings (validated by its model, persisted for every
        process of the server); invalid values change nothing and say which field."""
        require(Role.admin, "changing a plugin's settings")
        model = self._settings_model(name)
        with self._lock:
            choices = PluginChoices.read(self.state_folder)
            unknown = set(values) - set(model.model_fields)
            if unknown:
                raise BadRequest(
                    f"plugin {name!r} has no setting {', '.join(sorted(map(repr, unknown)))}",
                    details={"settings": sorted(model.model_fields)},
                )
            merged = {**choices.settings.get(name, {}), **values}
            try:
                checked = model.model_validate(merged)
            except ValidationError as exc:
                raise ValidationFailed.from_pydantic(exc, prefix=("settings",)) from exc
            choices.settings[name] = checked.model_dump(mode="json")
            choices.write(self.state_folder)
        return self.settings_info(name)

    def pages_of(self, name: str) -> list[type[Any]]:
        """The studio pages a plugin has, loaded or not: the studio builds a tab for each once
        as it starts, and shows it to the sessions that open while the plugin is loaded. One off
        now is asked for its pages without being loaded (nothing registered, nothing opened);
        one that cannot even be imported has none."""
        plugin = self.get(name)
        if plugin.status is Status.LOADED:
            return [self.registries.pages[p] for p in plugin.registered.get("pages", [])]
        if plugin.status is Status.QUARANTINED:
            return []
        found: list[Any] = []
        try:
            hook = getattr(plugin.importer(False), "register_pages", None)
            if callable(hook):
                hook(found.append)
        except Exception:  # noqa: BLE001 - a plugin that fails here just shows no tab
            log.warning("plugin_pages_unavailable", plugin=name)
            return []
        return [p for p in found if isinstance(getattr(p, "id", None), str)]

    def owner_of_kind(self, kind: str) -> Plugin | None:
        """The plugin, loaded or not, whose manifest or registrations name `kind`."""
        for plugin in self.plugins.values():
            if kind in plugin.registered.get("kinds", []) or (
                plugin.manifest and kind in plugin.manifest.provides.kinds
            ):
                return plugin
        return None

    def _explain_kind(self, kind: str) -> str | None:
        plugin = self.owner_of_kind(kind)
        if plugin is None or plugin.status is Status.LOADED:
            return None
        return (
            f"it belongs to the plugin {plugin.name!r}, which is {plugin.status.value} "
            f"({plugin.reason}); its entities are kept and come back when it is enabled"
        )

    def on_change(self, listener: Callable[[str], None]) -> None:
        """`listener(plugin_name)` after a plugin loads or unloads (the API re-mounts routes)."""
        self._listeners.append(listener)

    # ---- discovery --------------------------------------------------------------------------

    def discover(self) -> list[Plugin]:
        """Every plugin installed or in a plugin folder; loads nothing."""
        found: list[Plugin] = []
        for ep in sorted(entry_points(group=GROUP), key=lambda e: (not _is_builtin(e), e.name)):
            builtin = _is_builtin(ep)
            if builtin or self.third_party:
                found.append(self._from_entry_point(ep, builtin))
        if self.third_party:
            for folder in self.folders:
                if folder.is_dir():
                    found += [
                        self._from_folder(sub)
                        for sub in sorted(folder.iterdir())
                        if sub.is_dir() and find_manifest(sub)
                    ]
        return found

    def _from_entry_point(self, ep: EntryPoint, builtin: bool) -> Plugin:
        module_name = ep.module

        def importer(fresh: bool) -> ModuleType:
            if not fresh:
                return importlib.import_module(module_name)
            with _fresh_modules(module_name):
                return importlib.import_module(module_name)

        return Plugin(
            name=ep.name,
            origin=f"entry point {ep.name} = {ep.value}"
            + (f" ({ep.dist.name} {ep.dist.version})" if ep.dist else ""),
            builtin=builtin,
            importer=importer,
            manifest_path=_module_manifest(module_name),
        )

    def _from_folder(self, folder: Path) -> Plugin:
        module_name = f"{FOLDER_PACKAGE}.{folder.name}"

        def importer(fresh: bool) -> ModuleType:  # noqa: ARG001 - always anew from the folder
            init = folder / "__init__.py"
            if not init.is_file():
                raise PluginError(f"{folder} has a manifest but no __init__.py")
            sys.modules.setdefault(FOLDER_PACKAGE, _namespace(FOLDER_PACKAGE))
            with _fresh_modules(module_name):
                spec = importlib.util.spec_from_file_location(
                    module_name, init, submodule_search_locations=[str(folder)]
                )
                assert spec is not None and spec.loader is not None  # noqa: S101 - a file path
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
                return module

        return Plugin(
            name=folder.name,
            origin=f"folder {folder}",
            builtin=False,
            importer=importer,
            manifest_path=find_manifest(folder),
        )

    # ---- lifecycle --------------------------------------------------------------------------

    def load_all(self) -> PluginHost:
        """Find every plugin and load the ones not turned off."""
        with self._lock:
            choices = PluginChoices.read(self.state_folder)
            self._reloads_seen = dict(choices.reloads)
            for plugin in self.discover():
                if plugin.name in self.plugins:
                    log.warning("plugin_name_taken", plugin=plugin.name, origin=plugin.origin)
                    continue
                self.plugins[plugin.name] = plugin
                if plugin.name in choices.disabled:
                    self._read_manifest(plugin, quiet=True)
                    plugin.status, plugin.reason = Status.DISABLED, choices.disabled[plugin.name]
                else:
                    self._try_load(plugin, choices)
            self._wake_waiting(choices)
            if not any(p.builtin for p in self.plugins.values()):
                raise ConfigError(
                    f"no built-in plugins: the `{GROUP}` entry points of {DISTRIBUTION} are "
                    "missing; install the project (scripts/bootstrap.sh, or `pip install -e .`)"
                )
        return self

    def enable(self, name: str) -> dict[str, Any]:
        """Turn a plugin on (persisted) and load it now; a quarantined one is tried again."""
        require(Role.admin, "turning plugins on")
        with self._lock:
            plugin = self.get(name)
            choices = PluginChoices.read(self.state_folder)
            choices.disabled.pop(name, None)
            choices.failures.pop(name, None)
            if plugin.status is not Status.LOADED:
                self._try_load(plugin, choices)
                self._wake_waiting(choices)
            choices.write(self.state_folder)
            return self.info(name)

    def disable(self, name: str, reason: str = "turned off") -> dict[str, Any]:
        """Unload a plugin and keep it off (persisted). Its entities stay in the library."""
        require(Role.admin, "turning plugins off")
        with self._lock:
            plugin = self.get(name)
            if plugin.status is Status.LOADED:
                self._unload_dependents(plugin)
                self._unload(plugin)
            plugin.status, plugin.reason = Status.DISABLED, reason
            choices = PluginChoices.read(self.state_folder)
            choices.disabled[name] = reason
            choices.write(self.state_folder)
            return self.info(name)

    def reload(self, name: str, *, announce: bool = True) -> dict[str, Any]:
        """Load a plugin's code again. If the new version cannot be read or imported, or fails
        as it loads, the old one goes on running and the error says why. `announce`: count it
        in the choices file, so the other processes of a server reload it too."""
        if announce:  # a person asked (the watcher and the other processes do not)
            require(Role.admin, "reloading plugins")
        with self._lock:
            plugin = self.get(name)
            if plugin.status is not Status.LOADED:
                return self.enable(name)
            old_module, old_manifest = plugin.module, plugin.manifest
            try:
                manifest = read_manifest(plugin.manifest_path) if plugin.manifest_path else None
                module = plugin.importer(True)
            except Exception as exc:  # noqa: BLE001 - any error in the new code
                raise PluginError(
                    f"plugin {name!r} was not reloaded, the running version stays: "
                    f"{_describe(exc)}",
                    code="plugin_reload_failed",
                ) from exc
            self._unload(plugin)
            try:
                plugin.manifest = manifest
                self._load(plugin, module)
            except PluginError as exc:
                assert old_module is not None  # noqa: S101 - a loaded plugin has its module
                plugin.manifest = old_manifest
                self._load(plugin, old_module)
                raise PluginError(
                    f"plugin {name!r} was not reloaded, the running version stays: {exc.message}",
                    code="plugin_reload_failed",
                ) from exc
            if not announce:
                return self.info(name)
            # Other processes (API workers) reload too when they see the count go up.
            choices = PluginChoices.read(self.state_folder)
            choices.reloads[name] = self._reloads_seen[name] = choices.reloads.get(name, 0) + 1
            choices.write(self.state_folder)
            return self.info(name)

    def sync(self) -> list[str]:
        """Apply the choices another process wrote (the CLI, another API worker) and pick up
        new plugin folders. Returns the plugins whose state changed."""
        with self._lock:
            choices = PluginChoices.read(self.state_folder)
            changed = []
            for found in self.discover():
                if found.name not in self.plugins:
                    self.plugins[found.name] = found
                    found.status, found.reason = Status.DISABLED, "new"
            for plugin in self.plugins.values():
                off = plugin.name in choices.disabled
                if off and plugin.status is Status.LOADED:
                    changed += self._unload_dependents(plugin)
                    self._unload(plugin)
                    plugin.status, plugin.reason = Status.DISABLED, choices.disabled[plugin.name]
                    changed.append(plugin.name)
                elif not off and plugin.status is Status.DISABLED:
                    self._try_load(plugin, choices)
                    changed.append(plugin.name)
                elif plugin.status is Status.LOADED and (
                    asked := choices.reloads.get(plugin.name, 0)
                ) > self._reloads_seen.get(plugin.name, 0):
                    self._reloads_seen[plugin.name] = asked
                    try:
                        self.reload(plugin.name, announce=False)
                    except PluginError as exc:
                        log.error("plugin_reload_failed", plugin=plugin.name, error=exc.message)
                    changed.append(plugin.name)
            woken = self._wake_waiting(choices)
            return changed + woken

    def unload_all(self) -> None:
        with self._lock:
            for plugin in reversed(list(self.plugins.values())):
                if plugin.status is Status.LOADED:
                    self._unload(plugin)
                    plugin.status, plugin.reason = Status.DISABLED, "unloaded"

    # ---- the steps --------------------------------------------------------------------------

    def _read_manifest(self, plugin: Plugin, *, quiet: bool = False) -> PluginManifest:
        if plugin.manifest_path is None:
            raise PluginError(
                f"plugin {plugin.name!r} ({plugin.origin}) has no plugin.toml or plugin.json",
                code="plugin_manifest_missing",
            )
        try:
            plugin.manifest = read_manifest(plugin.manifest_path)
        except PluginError:
            if not quiet:
                raise
        if plugin.manifest and plugin.manifest.name != plugin.name:
            raise PluginError(
                f"{plugin.manifest_path} names the plugin {plugin.manifest.name!r}, "
                f"but it is installed as {plugin.name!r}"
            )
        return plugin.manifest  # type: ignore[return-value]  # None only when quiet

    def _missing(self, manifest: PluginManifest | None) -> list[str]:
        """The plugins `manifest` builds on (`depends`) that are not loaded now."""
        needs = manifest.depends if manifest else []
        plugins = self.plugins
        return [n for n in needs if n not in plugins or plugins[n].status is not Status.LOADED]

    def _wait(self, plugin: Plugin, missing: list[str]) -> None:
        plugin.status = Status.WAITING
        plugin.reason = "needs the plugin " + ", ".join(
            f"{n!r} ({self.plugins[n].status.value})" if n in self.plugins else f"{n!r} (not found)"
            for n in missing
        )

    def _wake_waiting(self, choices: PluginChoices) -> list[str]:
        """Load the waiting plugins whose dependencies are loaded now, until none changes."""
        woken: list[str] = []
        while waiting := [
            p
            for p in self.plugins.values()
            if p.status is Status.WAITING and not self._missing(p.manifest)
        ]:
            for plugin in waiting:
                self._try_load(plugin, choices)
                woken.append(plugin.name)
        return woken

    def _unload_dependents(self, plugin: Plugin) -> list[str]:
        """Before `plugin` unloads: unload, dependents first, the loaded plugins that build on it
        (they wait for it to come back)."""
        gone: list[str] = []
        for other in list(self.plugins.values()):
            needs = other.manifest.depends if other.manifest else []
            if other.status is Status.LOADED and plugin.name in needs:
                gone += self._unload_dependents(other)
                self._unload(other)
                other.status = Status.WAITING
                other.reason = f"needs the plugin {plugin.name!r} (turned off)"
                gone.append(other.name)
        return gone

    def _try_load(self, plugin: Plugin, choices: PluginChoices) -> None:
        """Load it, or quarantine it with the reason (safe mode after repeated failures); one
        whose dependencies are not loaded waits for them."""
        try:
            manifest = self._read_manifest(plugin)
            problems = manifest.problems()
            if problems:
                raise PluginError(
                    f"plugin {plugin.name!r} cannot load here: " + "; ".join(problems),
                    code="plugin_unsupported",
                )
            if missing := self._missing(manifest):
                self._wait(plugin, missing)
                return
            try:
                module = plugin.importer(False)
            except Exception as exc:  # noqa: BLE001 - any error on import is the plugin's
                raise PluginError(
                    f"plugin {plugin.name!r} failed to import: {_describe(exc)}",
                    code="plugin_import_failed",
                ) from exc
            self._load(plugin, module)
        except PluginError as exc:
            plugin.status, plugin.reason = Status.QUARANTINED, exc.message
            failures = choices.failures.get(plugin.name, 0) + 1
            choices.failures[plugin.name] = failures
            if failures >= SAFE_MODE_AFTER:
                plugin.status = Status.DISABLED
                plugin.reason = f"safe mode (failed {failures} times in a row): {exc.message}"
                choices.disabled[plugin.name] = plugin.reason
            choices.write(self.state_folder)
            log.error("plugin_quarantined", plugin=plugin.name, reason=plugin.reason)
            if self.strict:
                raise
        else:
            if choices.failures.pop(plugin.name, None):
                choices.write(self.state_folder)

    def _load(self, plugin: Plugin, module: ModuleType) -> None:
        """Register the module's hooks, call them, then `plugin_load`; on any error take back
        what it registered and raise a `PluginError`. Its own tables come first."""
        self._migrate(plugin, module)
        try:
            self.pm.register(module, name=plugin.name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(f"plugin {plugin.name!r} has invalid hooks: {exc}") from exc
        plugin.module, plugin.registered, plugin.teardown = module, {}, []
        try:
            for what, hook in REGISTER_HOOKS.items():
                if what not in self.parts:
                    continue
                self._call(plugin.name, hook, register=self._registrar(plugin, what))
            self._call(plugin.name, "plugin_load", settings=self.settings)
        except Exception as exc:  # noqa: BLE001 - whatever a plugin raises quarantines it
            self._take_back(plugin)
            self.pm.unregister(name=plugin.name)
            if isinstance(exc, PluginError):
                raise
            raise PluginError(
                f"plugin {plugin.name!r} failed as it loaded: {_describe(exc)}",
                code="plugin_load_failed",
            ) from exc
        plugin.status, plugin.reason = Status.LOADED, None
        log.debug("plugin_loaded", plugin=plugin.name, registered=plugin.registered)
        self._changed(plugin.name)

    def _migrate(self, plugin: Plugin, module: ModuleType) -> None:
        """Its `migrations/versions/` revisions, on the library this host serves."""
        url = getattr(self.settings, "database_url", None)
        if not url or not hasattr(module, "__path__") or not getattr(module, "__file__", None):
            return  # no library here (a bare host), or a single-module plugin
        folder = migrations_of(Path(str(module.__file__)).parent)
        if folder is None:
            return
        try:
            upgrade_plugin(url, plugin.name, folder)
        except Exception as exc:  # noqa: BLE001 - whatever its revision raises quarantines it
            raise PluginError(
                f"plugin {plugin.name!r}: its migration failed: {_describe(exc)}",
                code="plugin_migration_failed",
            ) from exc

    def _unload(self, plugin: Plugin) -> None:
        try:
            self._call(plugin.name, "plugin_unload")
        except Exception:  # noqa: BLE001 - unloading goes on: its registrations still go
            log.exception("plugin_unload_failed", plugin=plugin.name)
        self._take_back(plugin)
        if self.pm.get_plugin(plugin.name) is not None:
            self.pm.unregister(name=plugin.name)
        log.debug("plugin_unloaded", plugin=plugin.name)
        self._changed(plugin.name)

    def _take_back(self, plugin: Plugin) -> None:
        for undo in reversed(plugin.teardown):
            undo()
        plugin.teardown, plugin.registered = [], {}

    def _call(self, name: str, hook: str, **kwargs: Any) -> list[Any]:
        """Call one plugin's implementation of `hook` (pluggy calls all plugins' at once)."""
        caller = getattr(self.pm.hook, hook)
        return [
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            for impl in caller.get_hookimpls()
            if impl.plugin_name == name
        ]

    def _changed(self, name: str) -> None:
        self.generation += 1
        for listener in self._listeners:
            try:
                listener(name)
            except Exception:  # noqa: BLE001 - one listener's failure is not the plugin's
                log.exception("plugin_listener_failed", plugin=name)

    # ---- registering ------------------------------------------------------------------------

    def _registrar(self, plugin: Plugin, what: str) -> Callable[[Any], None]:
        """The `register` function a plugin's `register_<what>` hook gets."""
        reg = self.registries

        def claim(name: str) -> None:
            holder = reg.owners.get((what, name))
            if holder is not None:
                raise PluginError(
                    f"plugin {plugin.name!r} registers the {what[:-1]} {name!r}, which plugin "
                    f"{holder!r} already provides",
                    code="plugin_conflict",
                )
            reg.owners[(what, name)] = plugin.name
            plugin.registered.setdefault(what, []).append(name)
            plugin.teardown.append(functools.partial(_drop, reg.owners, (what, name)))

        def keep(table: dict[str, Any], name: str, value: Any) -> None:
            claim(name)
            table[name] = value
            plugin.teardown.append(functools.partial(_drop, table, name))

        def register(item: Any, *more: Any) -> None:
            if what == "models":  # register(alias, {"model": ..., "fallbacks": [...]})
                from lifeos.llm.config import AliasConfig

                try:
                    alias = AliasConfig.model_validate(more[0] if more else None)
                except ValidationError as exc:
                    raise PluginError(
                        f"plugin {plugin.name!r}: model alias {item!r} is invalid: "
                        + "; ".join(e["msg"] for e in exc.errors())
                    ) from None
                keep(reg.models, str(item), alias)
            elif what == "settings":  # one model per plugin, every field with a default
                if not (isinstance(item, type) and issubclass(item, BaseModel)):
                    raise PluginError(f"plugin {plugin.name!r}: {item!r} is not a Pydantic model")
                try:
                    item()
                except ValidationError as exc:
                    raise PluginError(
                        f"plugin {plugin.name!r}: its settings need a default for every field "
                        f"({exc.error_count()} without)"
                    ) from None
                keep(reg.settings, plugin.name, item)
            elif what == "kinds":
                if not isinstance(item, KindSpec):
                    raise PluginError(f"plugin {plugin.name!r}: {item!r} is not a KindSpec")
                claim(item.name)
                reg.kinds.register(item)
                plugin.teardown.append(lambda: reg.kinds.unregister(item.name))
            elif what == "routers":  # by prefix; a second router without one is `/#2`
                prefix = f"{plugin.name}:{getattr(item, 'prefix', '') or '/'}"
                taken = plugin.registered.get(what, [])
                n = sum(1 for k in taken if k == prefix or k.startswith(prefix + "#"))
                keep(reg.routers, prefix if n == 0 else f"{prefix}#{n + 1}", item)
            elif what == "workflows":  # a YAML file, by the name it declares
                path = Path(item)
                try:
                    name = yaml.safe_load(path.read_text(encoding="utf-8"))["workflow"]
                except (OSError, yaml.YAMLError, TypeError, KeyError) as exc:
                    raise PluginError(
                        f"plugin {plugin.name!r}: {path} is not a workflow file ({exc})"
                    ) from None
                keep(reg.workflows, str(name), path)
            elif what == "definitions":
                keep(reg.definitions, f"{plugin.name}:{len(plugin.registered.get(what, []))}", item)
            elif what == "commands":  # a typer.Typer: each command and group by its name
                names = [
                    c.name or getattr(c.callback, "__name__", "").replace("_", "-")
                    for c in getattr(item, "registered_commands", [])
                ] + [g.name or "" for g in getattr(item, "registered_groups", [])]
                if not names or not all(names):
                    raise PluginError(f"plugin {plugin.name!r}: {item!r} has no named commands")
                for name in names:  # the same name from two plugins is a conflict
                    keep(reg.commands, name, item)
            else:  # tools and pages: classes with a `name` (tools) or `id` (pages)
                key = getattr(item, "name" if what == "tools" else "id", None)
                if not isinstance(key, str) or not key:
                    attr = "name" if what == "tools" else "id"
                    raise PluginError(f"plugin {plugin.name!r}: {item!r} has no {attr}")
                keep(reg.tools if what == "tools" else reg.pages, key, item)

        return register


def _drop(table: dict[Any, Any], key: Any) -> None:
    table.pop(key, None)


def _module_manifest(module_name: str) -> Path | None:
    """A package's `plugin.toml`, or a single module's `<module>.plugin.toml`, found without
    importing the module."""
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin)
    if spec.submodule_search_locations:
        return find_manifest(origin.parent)
    return next(
        (
            p
            for p in (origin.with_suffix(".plugin.toml"), origin.with_suffix(".plugin.json"))
            if p.is_file()
        ),
        None,
    )


@contextmanager
def _fresh_modules(prefix: str) -> Iterator[None]:
    """Import `prefix` (and its submodules) anew; if that fails, the old modules come back."""
    old = {k: m for k, m in sys.modules.items() if k == prefix or k.startswith(prefix + ".")}
    for key in old:
        del sys.modules[key]
    importlib.invalidate_caches()
    try:
        yield
    except BaseException:
        for key in [k for k in sys.modules if k == prefix or k.startswith(prefix + ".")]:
            del sys.modules[key]
        sys.modules.update(old)
        raise


def _namespace(name: str) -> ModuleType:
    module = ModuleType(name)
    module.__path__ = []
    return module


def _describe(exc: BaseException) -> str:
    """An error in one line, with where in the plugin's code it happened."""
    if isinstance(exc, LifeOSError):
        return exc.message
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"
