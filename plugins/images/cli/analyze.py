"""`lifeos analyze IMAGE|FOLDER`: pictures → suggested library entities."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import track
from rich.text import Text

from apps.cli.common import console, emit_json, settings, want_json

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


def analyze(
    path: Path,
    kinds: Annotated[
        list[str] | None,
        typer.Option("--kinds", help="analyzers (default: character_appearance = all); repeat"),
    ] = None,
    backend: Annotated[
        str | None, typer.Option(help="vision | metadata | pixels (default: the best available)")
    ] = None,
    accept: Annotated[bool, typer.Option(help="accept every suggestion")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Analyze a picture (or every picture in a folder) into suggested entities."""
    from lifeos.errors import BadRequest
    from plugins.images.tools.analyze.service import analysis_services
    from plugins.images.tools.analyze.suggestions import parse_backend

    want_json(as_json)
    try:
        chosen = parse_backend(backend)
    except BadRequest as exc:
        raise typer.BadParameter(exc.message) from None
    service = analysis_services(settings())
    files = (
        sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if path.is_dir()
        else [path]
    )
    results = []
    for file in track(files, description="analyzing", disable=as_json or len(files) < 2):
        analysis_id, analysis = service.analyze_file(file, kinds=kinds, backend=chosen)
        accepted = service.accept(analysis_id) if accept and analysis.suggestions else []
        results.append(
            {
                "id": analysis_id,
                "file": str(file),
                "accepted": accepted,
                **analysis.model_dump(mode="json"),
            }
        )
    if as_json:
        emit_json(results if path.is_dir() else results[0])
        return
    for r in results:
        console.print(
            Text.assemble(
                (Path(r["file"]).name, "bold"),
                f": {r['backend']} "
                f"{r['model']} · {len(r['suggestions'])} suggestions · "
                f"analysis {r['id']}",
            )
        )
        for s in r["suggestions"]:
            tag = " (heuristic)" if s["heuristic"] else ""
            known = f" = existing {s['existing_id']}" if s["existing_id"] else ""
            console.print(f"  {s['kind']}: {s['name']}{tag}{known}")
        for note in r["notes"]:
            console.print(f"  {note}", style="dim")
        if r["accepted"]:
            console.print(f"  accepted: {len(r['accepted'])} entities")
