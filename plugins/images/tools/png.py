"""PNG metadata other image tools read and write.

We write the AUTOMATIC1111 `parameters` text chunk (prompt, `Negative prompt:`, then
`Steps: …, Sampler: …, CFG scale: …, Seed: …, Size: WxH, Model: …`) so A1111, Forge, Fooocus'
and ComfyUI's metadata readers and civitai show our images' settings, plus a `lifeos` JSON chunk
with the full recipe and entity ids. We read A1111/Forge, Fooocus and ComfyUI PNGs back into
the same shape.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from lifeos.blobs import write_blob
from lifeos.errors import BadRequest
from lifeos.settings import Settings

LIFEOS_CHUNK = "lifeos"


@dataclass
class ImageMeta:
    prompt: str = ""
    negative_prompt: str = ""
    steps: int | None = None
    sampler: str = ""
    guidance: float | None = None
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    model: str = ""
    source: str = ""  # a1111 | fooocus | comfyui | lifeos
    extra: dict[str, str] = field(default_factory=dict)
    lifeos: dict[str, Any] | None = None  # our recipe, when the image is ours

    def parameters_text(self) -> str:
        """The A1111 `parameters` chunk."""
        fields = [
            ("Steps", self.steps),
            ("Sampler", self.sampler),
            ("CFG scale", self.guidance),
            ("Seed", self.seed),
            ("Size", f"{self.width}x{self.height}" if self.width else None),
            ("Model", self.model),
            *self.extra.items(),
        ]
        tail = ", ".join(f"{k}: {_quote(v)}" for k, v in fields if v not in (None, ""))
        lines = [self.prompt]
        if self.negative_prompt:
            lines.append(f"Negative prompt: {self.negative_prompt}")
        lines.append(tail)
        return "\n".join(lines)


def _quote(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return json.dumps(text) if ("," in text or ":" in text) and not text.startswith('"') else text


_PAIR = re.compile(r'\s*([\w \-/+()]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')


def parse_parameters(text: str) -> ImageMeta:
    """AUTOMATIC1111 `parameters` text → ImageMeta (the same parser logic as A1111's own)."""
    lines = text.strip().split("\n")
    last = lines[-1] if lines else ""
    pairs = _PAIR.findall(last) if len(_PAIR.findall(last)) >= 3 else []
    if pairs:
        lines = lines[:-1]
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    in_negative = False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative_lines if in_negative else prompt_lines).append(line)
    meta = ImageMeta(
        prompt="\n".join(prompt_lines).strip(),
        negative_prompt="\n".join(negative_lines).strip(),
        source="a1111",
    )
    for key, raw in pairs:
        value = raw.strip()
        if value.startswith('"'):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        key = key.strip()
        try:
            if key == "Steps":
                meta.steps = int(value)
            elif key == "Sampler":
                meta.sampler = value
            elif key == "CFG scale":
                meta.guidance = float(value)
            elif key == "Seed":
                meta.seed = int(value)
            elif key == "Size":
                w, h = value.lower().split("x")
                meta.width, meta.height = int(w), int(h)
            elif key == "Model":
                meta.model = value
            else:
                meta.extra[key] = value
        except ValueError:
            meta.extra[key] = value
    return meta


def _fooocus(raw: dict[str, Any]) -> ImageMeta:
    size = str(raw.get("resolution") or raw.get("Resolution") or "")
    w = h = None
    if m := re.search(r"(\d+)\D+(\d+)", size):
        w, h = int(m.group(1)), int(m.group(2))

    def pick(*keys: str) -> Any:
        return next((raw[k] for k in keys if raw.get(k) not in (None, "")), None)

    return ImageMeta(
        prompt=str(pick("full_prompt", "prompt", "Prompt") or ""),
        negative_prompt=str(
            pick("full_negative_prompt", "negative_prompt", "Negative Prompt") or ""
        ),
        steps=int(pick("steps", "Steps") or 0) or None,
        sampler=str(pick("sampler", "Sampler") or ""),
        guidance=float(pick("guidance_scale", "Guidance Scale") or 0) or None,
        seed=int(pick("seed", "Seed")) if pick("seed", "Seed") is not None else None,
        width=w,
        height=h,
        model=str(pick("base_model", "Base Model") or ""),
        source="fooocus",
        extra={"styles": str(pick("styles", "Styles") or "")},
    )


def _comfyui(graph: dict[str, Any]) -> ImageMeta:
    """ComfyUI's `prompt` chunk (the API graph): the sampler node's settings and the text of
    the CLIPTextEncode nodes wired to its positive and negative inputs."""
    nodes = {k: v for k, v in graph.items() if isinstance(v, dict) and "class_type" in v}
    sampler = next((n for n in nodes.values() if "KSampler" in n["class_type"]), None)
    if sampler is None:
        raise BadRequest("ComfyUI metadata has no KSampler node")
    inputs = sampler.get("inputs", {})

    def text_of(link: Any, depth: int = 0) -> str:
        if not isinstance(link, list) or depth > 10:
            return ""
        node = nodes.get(str(link[0]), {})
        node_inputs = node.get("inputs", {})
        for key in ("text", "text_g", "prompt"):
            if isinstance(text := node_inputs.get(key), str):
                return text
        return next((t for v in node_inputs.values() if (t := text_of(v, depth + 1))), "")

    latent = nodes.get(str(inputs.get("latent_image", [""])[0]), {}).get("inputs", {})
    ckpt = next(
        (
            n["inputs"].get("ckpt_name", "")
            for n in nodes.values()
            if n["class_type"].startswith("CheckpointLoader")
        ),
        "",
    )
    return ImageMeta(
        prompt=text_of(inputs.get("positive")),
        negative_prompt=text_of(inputs.get("negative")),
        steps=inputs.get("steps"),
        sampler=str(inputs.get("sampler_name", "")),
        guidance=inputs.get("cfg"),
        seed=inputs.get("seed", inputs.get("noise_seed")),
        width=latent.get("width"),
        height=latent.get("height"),
        model=ckpt,
        source="comfyui",
    )


def read_meta(data: bytes | Path, *, name: str = "image") -> ImageMeta:
    """The generation settings a PNG carries, from whichever tool made it."""
    raw = Path(data).read_bytes() if isinstance(data, Path) else data
    try:
        image = Image.open(io.BytesIO(raw))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BadRequest(f"{name}: not a readable image ({exc})") from None
    text = dict(getattr(image, "text", {}) or {})
    meta: ImageMeta | None = None
    try:
        if LIFEOS_CHUNK in text:
            ours = json.loads(text[LIFEOS_CHUNK])
            meta = (
                parse_parameters(text.get("parameters", ""))
                if "parameters" in text
                else ImageMeta()
            )
            meta.lifeos, meta.source = ours, "lifeos"
        elif "parameters" in text and text["parameters"].lstrip().startswith("{"):
            meta = _fooocus(json.loads(text["parameters"]))
        elif "parameters" in text:
            meta = parse_parameters(text["parameters"])
        elif "prompt" in text:
            meta = _comfyui(json.loads(text["prompt"]))
    except (json.JSONDecodeError, TypeError, AttributeError, ValueError) as exc:
        raise BadRequest(f"{name}: its generation metadata is corrupt ({exc})") from None
    if meta is None:
        raise BadRequest(
            f"{name}: carries no generation metadata (AUTOMATIC1111, Fooocus, ComfyUI or Life-OS)"
        )
    meta.width = meta.width or image.width
    meta.height = meta.height or image.height
    return meta


def png_bytes(image: Image.Image, meta: ImageMeta) -> bytes:
    """The image as PNG with the A1111 `parameters` chunk and our `lifeos` chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", meta.parameters_text())
    if meta.lifeos is not None:
        info.add_itxt(LIFEOS_CHUNK, json.dumps(meta.lifeos, sort_keys=True, ensure_ascii=False))
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def keep_png(settings: Settings, data: bytes, *, title: str) -> dict[str, Any]:
    """Keep a PNG file as it came (by content hash, under LIFEOS_HOME/blobs) and return the
    `image` entity data that points at it: an imported picture, whoever made it."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BadRequest(f"{title}: not a readable PNG ({exc})") from None
    return {
        "sha256": write_blob(settings, data, ".png"),
        "mime_type": "image/png",
        "width": width,
        "height": height,
        "source": "imported",
        "title": title[:200],
    }
