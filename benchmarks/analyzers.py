"""Image analyzers: seconds per image per backend, and the share of fields filled and their
accuracy on a small labelled set whose truth is known — drawn figures with known colours and
layout (pixels), and images made by our own generator whose recipes are the truth (metadata).
The vision backend needs a vision model (Ollama or an OpenAI-compatible server): none here.

    .venv/bin/python benchmarks/analyzers.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402
from lifeos.db import migrate  # noqa: E402
from lifeos.db.engine import session_scope  # noqa: E402
from lifeos.demo import load_demo  # noqa: E402
from lifeos.llm.router import get_router  # noqa: E402
from lifeos.settings import Settings  # noqa: E402
from lifeos.store import EntityStore  # noqa: E402
from plugins.images.tools.analyze.pixels import COLOURS  # noqa: E402
from plugins.images.tools.analyze.service import AnalysisService  # noqa: E402
from plugins.images.tools.batches import image_services  # noqa: E402

HAIR = ["red", "blonde", "black", "white", "brown", "pink"]
CLOTHES = ["green", "blue", "yellow", "purple", "orange", "grey"]
BACKGROUNDS = ["sky blue", "white", "navy", "beige"]


def drawn_figure(path: Path, hair: str, clothes: str, background: str, close: bool) -> str:
    img = Image.new("RGB", (512, 512), COLOURS[background])
    d = ImageDraw.Draw(img)
    if close:
        d.rectangle((90, 30, 422, 130), fill=COLOURS[hair])
        d.ellipse((110, 90, 402, 420), fill=(240, 200, 170))
        d.rectangle((60, 400, 452, 511), fill=COLOURS[clothes])
    else:
        d.rectangle((200, 120, 312, 170), fill=COLOURS[hair])
        d.ellipse((210, 150, 302, 260), fill=(240, 200, 170))
        d.rectangle((170, 260, 342, 500), fill=COLOURS[clothes])
    img.save(path)
    return "close-up" if close else "medium"


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LIFEOS_HOME"] = tmp
        settings = Settings(home=Path(tmp))
        migrate.upgrade(settings.database_url)
        with session_scope(settings.database_url) as session:
            load_demo(session)
            chars = [e.id for e in EntityStore(session).list("character", {"limit": 4}).items]
        service = AnalysisService(settings, get_router(settings.database_url))
        hits: dict[str, list[bool]] = {"hair colour": [], "clothing colour": [], "shot": []}
        pixel_times, filled = [], []
        for i in range(12):
            hair, clothes = rng.choice(HAIR), rng.choice(CLOTHES)
            bg = rng.choice([b for b in BACKGROUNDS if b not in (hair, clothes)])
            shot = drawn_figure(Path(tmp) / f"f{i}.png", hair, clothes, bg, close=i % 2 == 0)
            _, a = service.analyze_file(Path(tmp) / f"f{i}.png", backend="pixels")
            pixel_times.append(a.latency_s)
            got = {s.kind: s.data for s in a.suggestions}
            filled.append(len(got) / 10)
            hits["hair colour"].append(got.get("hair_color", {}).get("color") == hair)
            hits["clothing colour"].append(got.get("clothing_item", {}).get("color") == clothes)
            hits["shot"].append(got.get("composition", {}).get("shot") == shot)
        images = image_services(settings)
        meta_times, recovered, truth_n = [], 0, 0
        for cid in chars:
            done = images.run(
                images.create(
                    {
                        "compose": {"entity_ids": [cid]},
                        "count": 1,
                        "width": 64,
                        "height": 64,
                        "steps": 2,
                    }
                )["id"]
            )
            image_id = next(iter(done["images"].values()))
            with session_scope(settings.database_url) as session:
                links = EntityStore(session).links("image", image_id)
            truth = {ln.entity.id for ln in links if ln.relation == "uses"}
            _, a = service.analyze_file(images.image_file(image_id), backend="metadata")
            meta_times.append(a.latency_s)
            found = {s.existing_id for s in a.suggestions}
            recovered += len(truth & found)
            truth_n += len(truth)
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text(
            "parameters",
            "a woman with short silver hair, smiling, wearing a yellow "
            "raincoat, watercolor painting, close-up\nNegative prompt: lowres\n"
            "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512",
        )
        a1111 = Path(tmp) / "a1111.png"
        Image.new("RGB", (64, 64)).save(a1111, pnginfo=info)
        service.analyze_file(a1111, backend="metadata")  # model loaded
        prompt_times, prompt_found = [], []
        for _ in range(3):
            _, a = service.analyze_file(a1111, backend="metadata")
            prompt_times.append(a.latency_s)
            prompt_found.append(len(a.suggestions))
        prompt_model = a.model
    rows = "\n".join(
        f"| pixels: {k} | {sum(v)}/{len(v)} ({sum(v) / len(v):.0%}) |" for k, v in hits.items()
    )
    prompt_cell = (
        f"{statistics.median(prompt_times):.2f} ({statistics.median(prompt_found):.0f} suggestions)"
    )
    filled_cell = f"{statistics.mean(filled):.0%} (the rest are not judged from pixels)"
    body = f"""## Image analyzers (`benchmarks/analyzers.py`)

| backend | seconds per image (median) |
|---|---|
| pixels (colour statistics, layout) | {statistics.median(pixel_times):.3f} |
| metadata, our own images (recipe → entities) | {statistics.median(meta_times):.3f} |
| metadata, an AUTOMATIC1111 prompt split by `{prompt_model}` | {prompt_cell} |
| vision | needs a vision model (Ollama / OpenAI-compatible); none on this machine |

Accuracy on a labelled set:

| measure | result |
|---|---|
{rows}
| pixels: share of the 10 analyzer kinds filled | {filled_cell} |
| metadata: recipe entities recovered from our own images | {recovered}/{truth_n} |

The drawn figures are 12 random combinations of {len(HAIR)} hair, {len(CLOTHES)} clothing and
{len(BACKGROUNDS)} background colours, half as close-ups; the generated images come from the demo
characters with their linked looks.
"""
    print(body)
    write_section("analyzers", body)


if __name__ == "__main__":
    main()
