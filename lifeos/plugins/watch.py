"""A server's eye on its plugin folder: choices written by another process (the CLI, another API
worker) take effect within a couple of seconds, and with `reload_plugins` (development) a folder
plugin is reloaded when one of its files changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import watchfiles

from lifeos.logging import get_logger
from lifeos.plugins.host import PluginHost, Status
from lifeos.settings import Settings

log = get_logger(__name__)


WATCHED_SUFFIXES = (".py", ".toml", ".json", ".yaml", ".yml")


def _relevant(_change: watchfiles.Change, path: str) -> bool:
    """The choices file and plugins' code and manifests; not caches or temporary files."""
    name = Path(path).name
    return (
        "__pycache__" not in path and not name.startswith(".") and name.endswith(WATCHED_SUFFIXES)
    )


def apply(host: PluginHost, folder: Path, changed: set[Path], *, reload_code: bool) -> None:
    """What one batch of file changes means: the choices again, then the plugins whose code
    changed (with `reload_code`)."""
    host.sync()
    if not reload_code:
        return
    touched = {p.relative_to(folder).parts[0] for p in changed if p.is_relative_to(folder)}
    for name in sorted(touched):
        plugin = host.plugins.get(name)
        if plugin is not None and plugin.status is Status.LOADED:
            try:
                host.reload(name)
                log.info("plugin_reloaded", plugin=name)
            except Exception as exc:  # noqa: BLE001 - the old version runs; said in the log
                log.error("plugin_reload_failed", plugin=name, error=str(exc))


@contextmanager
def watching(host: PluginHost, settings: Settings) -> Iterator[None]:
    """Watch `settings.plugins_dir` for as long as the block runs."""
    folder = settings.plugins_dir
    folder.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def run() -> None:
        for changes in watchfiles.watch(
            folder, watch_filter=_relevant, stop_event=stop, rust_timeout=500
        ):
            paths = {Path(p) for _, p in changes}
            try:
                apply(host, folder, paths, reload_code=settings.reload_plugins)
            except Exception:  # noqa: BLE001 - the watcher goes on
                log.exception("plugin_watch_failed")

    thread = threading.Thread(target=run, name="plugin-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
