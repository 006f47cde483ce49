"""`lifeos plugins ...`: what is installed, its health, and turning plugins off and on.

A choice made here is kept in the library's plugin folder (`state.json`); a running server sees
the file change and applies it within a couple of seconds, without a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from apps.cli.common import console, emit_json, settings, want_json
from lifeos.errors import BadRequest
from lifeos.plugins import PluginHost, host_for
from lifeos.plugins.scaffold import scaffold

app = typer.Typer(
    help="Plugins: list, inspect, enable, disable, reload, settings, new.", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
Name = Annotated[str, typer.Argument(help="the plugin's name (`lifeos plugins list`)")]


def _host() -> PluginHost:
    return host_for(settings()).load_all()


def _show(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(info)
        return
    console.print(f"{info['name']} {info['version'] or ''} · {info['status']}", style="bold")
    if info["description"]:
        console.print(info["description"])
    for label, key in (("from", "origin"), ("core", "core"), ("health", "health")):
        if info.get(key):
            console.print(f"{label}: {info[key]}")
    if info["requires"]:
        console.print("requires: " + ", ".join(info["requires"]))
    if info["depends"]:
        console.print("builds on: " + ", ".join(info["depends"]))
    for what, names in (info["registered"] or info["provides"]).items():
        if names:
            console.print(f"{what}: " + ", ".join(names))


@app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """Every plugin found (installed packages and the plugin folder), loaded or not."""
    want_json(as_json)
    plugins = _host().overview()
    if as_json:
        emit_json(plugins)
        return
    table = Table("plugin", "version", "status", "provides", "why not loaded")
    for p in plugins:
        provided = p["registered"] or {k: v for k, v in p["provides"].items() if v}
        table.add_row(
            p["name"] + (" (built-in)" if p["builtin"] else ""),
            p["version"] or "",
            p["status"],
            "; ".join(f"{len(v)} {k}" for k, v in provided.items()),
            p["reason"] or "",
        )
    console.print(table)


@app.command()
def info(name: Name, as_json: JsonFlag = False) -> None:
    """One plugin: its manifest, what it registered, its health."""
    want_json(as_json)
    _show(_host().info(name), as_json)


@app.command()
def enable(name: Name, as_json: JsonFlag = False) -> None:
    """Turn a plugin on (a quarantined one is tried again)."""
    want_json(as_json)
    _show(_host().enable(name), as_json)


@app.command()
def disable(name: Name, as_json: JsonFlag = False) -> None:
    """Turn a plugin off; its entities stay in the library and come back when it is enabled."""
    want_json(as_json)
    _show(_host().disable(name), as_json)


@app.command()
def reload(name: Name, as_json: JsonFlag = False) -> None:
    """Load a plugin's code again, here and in a running server; if the new code fails, the
    running version stays."""
    want_json(as_json)
    _show(_host().reload(name), as_json)


@app.command("settings")
def settings_(
    name: Name,
    changes: Annotated[
        list[str] | None,
        typer.Argument(help="KEY=VALUE to change (a YAML value: 7, true, a text); none: show"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a plugin's settings, or change some (validated by the plugin; kept for every
    process of a running server)."""
    want_json(as_json)
    host = _host()
    values: dict[str, Any] = {}
    for change in changes or []:
        key, sep, raw = change.partition("=")
        if not sep or not key:
            raise BadRequest(f"{change!r}: give a change as KEY=VALUE")
        values[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
    info = host.set_settings(name, values) if values else host.settings_info(name)
    if as_json:
        emit_json(info)
        return
    for key, value in info["values"].items():
        described = info["schema"]["properties"].get(key, {}).get("description", "")
        console.print(f"{key} = {value!r}" + (f"  # {described}" if described else ""))


@app.command()
def new(
    name: Name,
    folder: Annotated[
        Path | None, typer.Option(help="where to write it (default: the library's plugin folder)")
    ] = None,
) -> None:
    """Write a working plugin to start from: a kind, a tool on the local model, a studio page
    and a test."""
    target = scaffold(folder or settings().plugins_dir, name)
    console.print(f"wrote {target}")
    console.print(f"test it:   .venv/bin/python -m pytest {target / 'tests'}")
    console.print(f"load it:   lifeos plugins enable {name}  (a running server loads it by itself)")
