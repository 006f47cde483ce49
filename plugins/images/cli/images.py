"""`lifeos compose`, `lifeos generate`, `lifeos images ...`: prompts and image batches."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from apps.cli.common import console, emit_json, settings, store, want_json
from lifeos.errors import BadRequest

app = typer.Typer(help="Images: import, re-run, show; style packs.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
Entities = Annotated[
    list[str] | None,
    typer.Option("--entity", "-e", help="an entity id (character, outfit, style, ...); repeat"),
]
Styles = Annotated[list[str] | None, typer.Option("--style", "-s", help="a style name; repeat")]


def _services():  # noqa: ANN202 - heavy imports only when a command runs
    from plugins.images.tools.batches import image_services

    return image_services(settings())


def _entity_ids(entity: list[str] | None, character: str | None, outfit: str | None) -> list[str]:
    return [i for i in (character, outfit, *(entity or [])) if i]


def _size(value: str) -> tuple[int, int]:
    try:
        w, h = value.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: give the size as WIDTHxHEIGHT, e.g. 512x768"
        ) from None


def compose(
    entity: Entities = None,
    character: Annotated[str | None, typer.Option(help="character id")] = None,
    outfit: Annotated[str | None, typer.Option(help="outfit id")] = None,
    text: Annotated[str, typer.Option(help="free text (wildcards allowed)")] = "",
    style: Styles = None,
    seed: int = 0,
    visualize: Annotated[str | None, typer.Option(help="picture this one entity alone")] = None,
    polish: Annotated[bool | None, typer.Option(help="rewrite with the LLM")] = None,
    list_styles: Annotated[bool, typer.Option(help="list the styles")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Compose an image prompt from library entities, styles and wildcards."""
    want_json(as_json)
    composer = _services().composer
    if list_styles:
        styles = composer.styles.all()
        if as_json:
            emit_json([{"name": s.name, "pack": p, "prompt": s.prompt} for p, s in styles.values()])
        else:
            for pack, s in sorted(styles.values(), key=lambda x: (x[0], x[1].name)):
                console.print(Text.assemble((s.name, "bold"), f" ({pack}): {s.prompt}"))
        return
    ids = _entity_ids(entity, character, outfit)
    result = composer.run(
        {
            "entity_ids": ids + ([visualize] if visualize and visualize not in ids else []),
            "text": text,
            "styles": style or [],
            "seed": seed,
            "visualize": visualize,
            "polish": polish,
        }
    )
    if as_json:
        emit_json(result)
        return
    console.print(
        Text.assemble(("positive", "bold"), f" ({result.tokens} CLIP tokens)\n{result.positive}\n")
    )
    console.print(Text.assemble(("negative", "bold"), f"\n{result.negative}\n"))
    for part in result.recipe.parts:
        via = f" via {part.via}" if part.via else ""
        console.print(
            Text.assemble("  ", (f"{part.kind}{via}", "dim"), f" {part.name}: {part.text[:100]}")
        )
    for warning in result.warnings:
        console.print(Text.assemble(("warning:", "yellow"), f" {warning}"))


def generate(
    entity: Entities = None,
    character: Annotated[str | None, typer.Option(help="character id")] = None,
    outfit: Annotated[str | None, typer.Option(help="outfit id")] = None,
    text: str = "",
    style: Styles = None,
    n: Annotated[int, typer.Option("--n", help="images in the batch")] = 4,
    seed: int = 0,
    steps: int = 20,
    guidance: float = 7.0,
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT")] = "512x512",
    sampler: str = "Euler a",
    init_image: Annotated[str | None, typer.Option(help="img2img from an image id")] = None,
    strength: float = 0.6,
    wait: Annotated[
        bool,
        typer.Option(
            help="run the batch now (a Dagster run in this process) and wait; "
            "--no-wait queues it for the Dagster daemon"
        ),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Generate a batch of images (one Dagster partition) from entities and styles."""
    want_json(as_json)
    width, height = _size(size)
    service = _services()
    batch = service.create(
        {
            "compose": {
                "entity_ids": _entity_ids(entity, character, outfit),
                "text": text,
                "styles": style or [],
            },
            "count": n,
            "seed": seed,
            "width": width,
            "height": height,
            "steps": steps,
            "guidance": guidance,
            "sampler": sampler,
            "init_image_id": init_image,
            "strength": strength,
        },
        status="running" if wait else "queued",
    )
    if not wait:
        _print_batch(batch, as_json, note="queued: the Dagster daemon will run it")
        return
    batch = _run_with_progress(service, batch, quiet=as_json)
    _print_batch(batch, as_json)


def _run_with_progress(service, batch: dict, *, quiet: bool) -> dict:  # noqa: ANN001
    from plugins.images.pipelines import generate_batch

    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.update(
            run=generate_batch(service.settings, batch["id"], source="cli")
        ),
        daemon=True,
    )
    worker.start()
    with Progress(
        TextColumn("[bold]images"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    ) as bar:
        task = bar.add_task("images", total=batch["count"])
        while worker.is_alive():
            worker.join(timeout=0.3)
            bar.update(task, completed=service.get(batch["id"])["done"])
        bar.update(task, completed=service.get(batch["id"])["done"])
    done = service.get(batch["id"])
    if done["status"] != "done":
        raise BadRequest(f"batch {done['id']} {done['status']}: {done['error'] or 'see its run'}")
    return done


def _print_batch(batch: dict, as_json: bool, note: str = "") -> None:
    if as_json:
        emit_json(batch)
        return
    from plugins.images.resources.generators import TEST_MODEL, TEST_MODEL_NOTE

    console.print(
        f"batch {batch['id']}: {batch['status']}, {batch['done']}/{batch['count']} "
        f"images, {batch['seconds']:.1f} s, model {batch['model']} {note}"
    )
    for seed, image_id in batch["images"].items():
        console.print(f"  seed {seed}: image {image_id}")
    if batch["model"] == TEST_MODEL:
        console.print(TEST_MODEL_NOTE, style="yellow")


@app.command("import")
def import_(path: Path, as_json: JsonFlag = False) -> None:
    """Keep a PNG made by AUTOMATIC1111/Forge, Fooocus, ComfyUI or Life-OS, with its settings."""
    want_json(as_json)
    image = _services().import_png(path)
    if as_json:
        emit_json(image)
    else:
        console.print(
            f"image {image.id}: {image.data['width']}x{image.data['height']}, seed "
            f"{image.data['seed']}, {image.data['sampler']} ({', '.join(image.tags)})"
        )


@app.command()
def rerun(
    path: Path,
    out: Annotated[Path | None, typer.Option(help="write the new PNG here")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make an image again from its PNG metadata (same seed, model, device: same pixels)."""
    want_json(as_json)
    started = time.perf_counter()
    image, params, identical = _services().rerun(path)
    if out:
        image.save(out)
    if as_json:
        emit_json(
            {
                "identical": identical,
                "params": params.model_dump(),
                "seconds": round(time.perf_counter() - started, 3),
                "out": str(out) if out else None,
            }
        )
    else:
        console.print(
            Text.assemble(
                "identical pixels"
                if identical
                else Text.assemble(
                    ("different pixels", "yellow"), " (another model, device or library version)"
                ),
                f"; written to {out}" if out else "",
            )
        )


@app.command()
def show(image_id: str, as_json: JsonFlag = False) -> None:
    """An image's settings, recipe and linked entities."""

    want_json(as_json)
    with store() as s:
        image = s.get("image", image_id)
        links = s.links("image", image_id)
    path = settings().blob_path(image.data["sha256"], ".png")
    if as_json:
        emit_json(
            {
                "image": image.model_dump(mode="json"),
                "file": str(path),
                "links": [
                    {
                        "relation": ln.relation,
                        "kind": ln.entity.kind,
                        "id": ln.entity.id,
                        "name": ln.entity.name,
                    }
                    for ln in links
                ],
            }
        )
        return
    d = image.data
    console.print(
        Text.assemble(
            (image.name, "bold"),
            f" {d['width']}x{d['height']} · seed {d['seed']} · "
            f"{d['steps']} steps · {d['sampler']} · CFG {d['guidance']} · {d['model']}\n"
            f"file {path}\n\n{d['prompt']}\n",
            (f"negative: {d['negative_prompt']}", "dim"),
        )
    )
    for ln in links:
        console.print(f"  {ln.relation} {ln.entity.kind} {ln.entity.name} ({ln.entity.id})")
    if d.get("test_model"):
        from plugins.images.resources.generators import TEST_MODEL_NOTE

        console.print(TEST_MODEL_NOTE, style="yellow")


@app.command("batches")
def batches(limit: int = 20, as_json: JsonFlag = False) -> None:
    """Recent image batches and their status."""
    want_json(as_json)
    items = _services().list(limit=limit)
    if as_json:
        emit_json(items)
        return
    for b in items:
        console.print(
            f"{b['id']}  {b['status']:<9} {b['done']}/{b['count']}  "
            f"{b['created_at'][:19]}  {b['positive'][:60]}"
        )


@app.command("import-styles")
def import_styles(path: Path) -> None:
    """Add a Fooocus/SDXL style file (a JSON list of {name, prompt, negative_prompt})."""
    pack, count = _services().composer.styles.import_pack(path)
    console.print(f"style pack {pack!r}: {count} styles")
