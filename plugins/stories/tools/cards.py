"""Character Card V2 (`chara_card_v2`) import and export, from JSON and from PNG (`chara` tEXt
chunk, base64 JSON), and V3 (`chara_card_v3`, `ccv3` chunk) import where it is a superset.

Known fields map onto the character entity; everything else — unknown fields, `extensions`,
`character_book`, tags as the card spells them, V3's extra fields — is kept verbatim in
`data.extensions["chara_card"]` and written back unchanged, so export(import(card)) == card.
Edits made in the library to the mapped fields win on export.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from PIL import Image, ImageDraw, PngImagePlugin, UnidentifiedImageError
from pydantic import TypeAdapter, ValidationError

from lifeos.errors import BadRequest
from lifeos.schemas import EntityOut
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.images.tools.png import keep_png

KEPT = "chara_card"  # the key under data.extensions holding what is not mapped
# card field -> character entity field
FIELDS = {
    "description": "description",
    "personality": "personality",
    "scenario": "scenario",
    "first_mes": "greeting",
    "mes_example": "example_dialogue",
    "alternate_greetings": "alternate_greetings",
    "system_prompt": "system_prompt",
    "creator_notes": "creator_notes",
    "creator": "creator",
    "character_version": "character_version",
}
SPECS = {"chara_card_v2": "chara", "chara_card_v3": "ccv3"}
MAX_CARD_BYTES = 20_000_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TAG = re.compile(r"[^a-z0-9_\-]+")


def parse_card(raw: Any, *, source: str) -> dict[str, Any]:
    """A card dict checked for the shape V2/V3 require."""
    if not isinstance(raw, dict):
        raise BadRequest(f"{source}: a character card is a JSON object")
    spec = raw.get("spec")
    if spec not in SPECS:
        raise BadRequest(
            f"{source}: not a Character Card V2/V3 (spec is {spec!r}, expected "
            "'chara_card_v2' or 'chara_card_v3')"
        )
    data = raw.get("data")
    if not isinstance(data, dict):
        raise BadRequest(f"{source}: the card has no `data` object")
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise BadRequest(f"{source}: the card has no name")
    for key in ("alternate_greetings", "tags"):
        if key in data and not isinstance(data[key], list):
            raise BadRequest(f"{source}: `{key}` must be a list")
    return raw


def read_card_file(path: Path) -> dict[str, Any]:
    """A card from a .json file or a PNG's `ccv3` (preferred) or `chara` chunk."""
    return read_card_bytes(_card_file(path), source=Path(path).name)


def _card_file(path: Path) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise BadRequest(f"{path}: no such file")
    if path.stat().st_size > MAX_CARD_BYTES:
        raise BadRequest(f"{path.name}: larger than {MAX_CARD_BYTES // 1_000_000} MB")
    return path.read_bytes()


def read_card_bytes(data: bytes, *, source: str) -> dict[str, Any]:
    """A card from a file's bytes: a PNG's card chunk, or JSON."""
    if data[:8] == PNG_SIGNATURE:
        return read_png_card(data, source=source)
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"{source}: neither a PNG nor JSON ({exc})") from None
    return parse_card(raw, source=source)


def read_png_card(data: bytes, *, source: str) -> dict[str, Any]:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BadRequest(f"{source}: not a readable PNG ({exc})") from None
    chunks = dict(getattr(image, "text", {}) or {})
    chunk = next((k for k in ("ccv3", "chara") if k in chunks), None)
    if chunk is None:
        raise BadRequest(
            f"{source}: the PNG carries no character card (no `chara` or `ccv3` chunk)"
        )
    try:
        raw = json.loads(base64.b64decode(chunks[chunk], validate=True).decode("utf-8"))
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"{source}: the `{chunk}` chunk is not base64 JSON ({exc})") from None
    return parse_card(raw, source=source)


@cache
def _field_adapter(name: str) -> TypeAdapter[Any]:
    from plugins.core.kinds import Character

    info = Character.model_fields[name]
    # The field's type with its constraints, built at run time: a value, not a static type.
    field_type: Any = Annotated[info.annotation, *info.metadata]
    return TypeAdapter(field_type)


def _fits(ours: str, value: Any) -> bool:
    """The value can live in the entity field unchanged (no stripping, within limits)."""
    try:
        return bool(_field_adapter(ours).validate_python(value) == value)
    except ValidationError:
        return False


def card_to_entity(card: dict[str, Any]) -> dict[str, Any]:
    """The character entity (name, tags, data) for a card; the rest kept verbatim."""
    data = card["data"]
    mapped = {
        ours: data[theirs]
        for theirs, ours in FIELDS.items()
        if theirs in data and _fits(ours, data[theirs])
    }
    unmapped = {theirs for theirs, ours in FIELDS.items() if theirs in data and ours not in mapped}
    kept_data = {
        k: v for k, v in data.items() if (k not in FIELDS or k in unmapped) and k != "name"
    }
    name = data["name"].strip()[:200]
    kept = {
        "spec": card["spec"],
        "top": {k: v for k, v in card.items() if k not in ("spec", "data")},
        "data": kept_data,
        "present": [k for k in FIELDS if k in data and k not in unmapped],
    }
    if name != data["name"]:
        kept["name"] = data["name"]
    tags = sorted(
        {
            t
            for raw in data.get("tags") or []
            if isinstance(raw, str) and (t := _TAG.sub("-", raw.lower()).strip("-")[:64])
        }
    )
    return {
        "name": data["name"].strip()[:200],
        "tags": tags[:50],
        "data": {**mapped, "extensions": {KEPT: kept}},
    }


def entity_to_card(character: EntityOut) -> dict[str, Any]:
    """The card for a character: mapped fields from the entity, the rest as imported."""
    kept = (character.data.get("extensions") or {}).get(KEPT) or {}
    present = set(kept.get("present", FIELDS))
    original = kept.get("name")
    data: dict[str, Any] = {
        "name": original
        if original and original.strip()[:200] == character.name
        else character.name
    }
    for theirs, ours in FIELDS.items():
        value = character.data.get(ours)
        if theirs in kept.get("data", {}):
            continue  # kept verbatim: it did not fit the entity field
        if theirs in present or value not in ("", [], None):
            data[theirs] = value if value is not None else ""
    data |= kept.get("data", {})
    if not kept:  # a character that never was a card: a complete V2 card
        extensions = {k: v for k, v in (character.data.get("extensions") or {}).items()}
        data |= {
            "tags": list(character.tags),
            "extensions": extensions,
            "post_history_instructions": "",
            "character_book": None,
        }
        data = {k: v for k, v in data.items() if v is not None}
        for theirs in (
            "description",
            "personality",
            "scenario",
            "first_mes",
            "mes_example",
            "creator_notes",
            "system_prompt",
            "creator",
            "character_version",
        ):
            data.setdefault(theirs, "")
        data.setdefault("alternate_greetings", [])
    spec = kept.get("spec", "chara_card_v2")
    top = kept.get("top", {"spec_version": "2.0" if spec == "chara_card_v2" else "3.0"})
    return {"spec": spec, **top, "data": data}


def card_png(card: dict[str, Any], picture: Path | None) -> bytes:
    """The card in a PNG: the character's picture (or a plain name plate) with the card in
    `chara` (V2) or `ccv3` (V3), base64 JSON. A picture that already carries this very card
    (an imported card exported unedited) comes back byte for byte."""
    if picture is not None and picture.is_file():
        original = picture.read_bytes()
        if _carries(original, card):
            return original
        image = Image.open(io.BytesIO(original)).convert("RGBA")
    else:
        image = Image.new("RGBA", (400, 600), (46, 52, 64, 255))
        ImageDraw.Draw(image).text((24, 280), card["data"]["name"][:40], fill=(236, 239, 244, 255))
    info = PngImagePlugin.PngInfo()
    encoded = base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8")).decode()
    info.add_text(SPECS[card["spec"]], encoded)
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def _carries(png: bytes, card: dict[str, Any]) -> bool:
    try:
        return read_png_card(png, source="picture") == card
    except BadRequest:
        return False


def import_card(store: EntityStore, path: Path, settings: Settings) -> EntityOut:
    """The card as a character; a PNG card's picture (the file as it came, card chunk and
    all) is kept as an image that depicts it, so the character has its avatar and exports
    it again."""
    path = Path(path)
    raw = _card_file(path)
    card = read_card_bytes(raw, source=path.name)
    character = store.create("character", card_to_entity(card))
    if raw[:8] != PNG_SIGNATURE:
        return character
    image = store.create(
        "image",
        {
            "name": f"{character.name} (card picture)"[:200],
            "tags": ["card"],
            "data": keep_png(settings, raw, title=path.name),
        },
    )
    store.link("image", image.id, {"relation": "depicts", "target_id": character.id})
    return store.get("character", character.id)


def character_picture(store: EntityStore, character_id: str, settings: Settings) -> Path | None:
    """The character's newest picture (an image that depicts it), if it has one."""
    links = [
        ln
        for ln in store.links("character", character_id)
        if ln.direction == "in" and ln.relation == "depicts" and ln.entity.kind == "image"
    ]
    links.sort(key=lambda ln: ln.entity.created_at, reverse=True)
    for ln in links:
        mime = ln.entity.data.get("mime_type", "image/png").split("/")[-1]
        path = settings.blob_path(ln.entity.data["sha256"], f".{mime}")
        if path.is_file():
            return path
    return None
