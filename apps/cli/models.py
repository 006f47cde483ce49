"""`lifeos models ...` and `lifeos tools ...`: what models there are, whether they answer."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table

from apps.cli.common import console, emit_json, read_json_arg, settings, want_json
from lifeos.llm import get_router
from lifeos.llm import models as service

app = typer.Typer(help="Model aliases, local and Ollama models.", no_args_is_help=True)
tools_app = typer.Typer(help="AI tools and their configs.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _router():  # noqa: ANN202

    return get_router(settings().database_url)


@app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """Aliases, the local models that ship in packages, and Ollama's models when it runs."""
    want_json(as_json)
    overview = service.overview(_router())
    if as_json:
        emit_json(overview)
        return
    table = Table("alias", "model", "fallbacks", title="aliases (configs/models.yaml)")
    for a in overview["aliases"]:
        table.add_row(a["alias"], a["model"], ", ".join(a["fallbacks"]))
    console.print(table)
    table = Table("model", "kind", "installed", "size", "detail", title="models")
    for m in overview["models"]:
        size = f"{m['size_bytes'] / 1e6:.0f} MB" if m["size_bytes"] else ""
        table.add_row(m["name"], m["kind"], "yes" if m["installed"] else "no", size, m["detail"])
    console.print(table)
    for note in overview["notes"]:
        console.print(note, style="yellow")


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Whether each alias's provider answers."""
    want_json(as_json)
    rows = service.status(_router())
    if as_json:
        emit_json(rows)
        return
    table = Table("alias", "model", "provider up", "detail")
    for r in rows:
        table.add_row(r["alias"], r["model"], "yes" if r["ok"] else "no", r["detail"])
    console.print(table)


@app.command()
def test(alias: str, as_json: JsonFlag = False) -> None:
    """Run a short prompt: load time, tokens/s."""
    want_json(as_json)
    result = service.test_alias(_router(), alias)
    if as_json:
        emit_json(result)
        return
    console.print(
        f"{result['model']}: load {result['load_s']:.2f} s, prompt {result['tokens_in']}"
        f" tokens, {result['tokens_out']} generated at {result['tokens_per_s']:.1f} "
        f"tokens/s\n  → {result['text']!r}"
    )


@app.command()
def pull(name: str) -> None:
    """Pull a model into Ollama (`lifeos models pull qwen2.5:3b`)."""
    console.print(service.pull(_router(), name))


@app.command()
def delete(name: str, yes: Annotated[bool, typer.Option("--yes")] = False) -> None:
    """Delete a model from Ollama."""
    if not yes:
        typer.confirm(f"Delete {name} from Ollama?", abort=True)  # nosec B608 - a question
    service.delete(_router(), name)
    console.print(f"deleted {name}")


@tools_app.command("list")
def tools_list(as_json: JsonFlag = False) -> None:
    """The AI tools and the model alias each one uses."""
    want_json(as_json)
    rows = service.tools_overview()
    if as_json:
        emit_json(rows)
        return
    table = Table("tool", "alias", "config", "description")
    for r in rows:
        table.add_row(r["name"], r["model"], r["config"], r["description"])
    console.print(table)


@tools_app.command("run")
def tools_run(
    name: str,
    data: Annotated[str, typer.Option(help="input JSON or @file.json")],
    as_json: JsonFlag = False,
) -> None:
    """Run a tool once on the given input."""
    want_json(as_json)
    started = time.perf_counter()
    output = service.run_tool(_router(), name, read_json_arg(data))
    if as_json:
        emit_json(output)
    else:
        console.print(json.dumps(output, indent=2, ensure_ascii=False))
        console.print(f"{time.perf_counter() - started:.1f} s", style="dim")
