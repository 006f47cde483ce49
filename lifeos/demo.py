"""A demo library: a few dozen entities across kinds, linked the way a real library would be."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from lifeos.schemas import ListQuery
from lifeos.store import EntityStore

DEMO_TAG = "demo"
ROOT = Path(__file__).resolve().parents[1]
# Rulebooks of the demo's board games (typeset for this project: benchmarks/rulebook_sets/web),
# each named after its game so that it links to it when ingested.
DEMO_RULEBOOKS = {
    "Mill (Nine Men's Morris).pdf": "benchmarks/rulebook_sets/web/dev_morris.pdf",
    "Kalah.pdf": "benchmarks/rulebook_sets/web/dev_kalah.pdf",
    "Hearts.pdf": "benchmarks/rulebook_sets/web/dev_hearts.pdf",
}

# (key, kind, name, data, extra tags, favorite)
_ENTITIES: list[tuple[str, str, str, dict[str, Any], list[str], bool]] = [
    (
        "aria",
        "character",
        "Aria Vale",
        {
            "description": "A quiet ranger who maps forgotten forests.",
            "personality": "patient, observant, dry humour",
            "appearance": "tall woman, freckles, green eyes, weathered leather gear",
            "age": "29",
            "gender": "female",
            "pronouns": "she/her",
            "species": "human",
            "greeting": "You're off the trail. Lucky for you, I'm not.",
        },
        ["fantasy", "hero"],
        True,
    ),
    (
        "bram",
        "character",
        "Bram Copperpot",
        {
            "description": "A cheerful dwarven tinkerer with a workshop full of clockwork birds.",
            "personality": "curious, loud, generous",
            "appearance": "stocky, braided copper beard, soot-smudged apron, brass goggles",
            "age": "112",
            "species": "dwarf",
            "pronouns": "he/him",
        },
        ["fantasy", "steampunk"],
        False,
    ),
    (
        "mina",
        "character",
        "Mina Park",
        {
            "description": "A night-shift nurse who paints city skylines on her days off.",
            "personality": "warm, tired, stubborn",
            "appearance": "short black hair, round glasses, scrubs under a yellow raincoat",
            "age": "34",
            "gender": "female",
            "pronouns": "she/her",
            "species": "human",
        },
        ["modern"],
        True,
    ),
    (
        "zed",
        "character",
        "Zed-9",
        {
            "description": "A decommissioned delivery robot that adopted a stray cat.",
            "personality": "literal, loyal",
            "appearance": "boxy white chassis, one cracked lens",
            "species": "robot",
        },
        ["scifi"],
        False,
    ),
    (
        "cloak",
        "clothing_item",
        "Moss-green travel cloak",
        {
            "category": "outerwear",
            "color": "moss green",
            "color_hex": "#4a5d23",
            "material": "waxed wool",
            "style": "hooded",
            "season": "autumn",
            "prompt": "hooded moss-green waxed wool cloak",
        },
        ["fantasy"],
        False,
    ),
    (
        "boots",
        "clothing_item",
        "Leather riding boots",
        {
            "category": "footwear",
            "color": "brown",
            "material": "leather",
            "prompt": "knee-high brown leather boots",
        },
        [],
        False,
    ),
    (
        "tunic",
        "clothing_item",
        "Linen tunic",
        {
            "category": "top",
            "color": "cream",
            "material": "linen",
            "prompt": "cream linen tunic with laced collar",
        },
        [],
        False,
    ),
    (
        "apron",
        "clothing_item",
        "Soot-stained work apron",
        {
            "category": "outerwear",
            "color": "charcoal",
            "material": "canvas",
            "prompt": "charcoal canvas work apron with brass buckles",
        },
        ["steampunk"],
        False,
    ),
    (
        "raincoat",
        "clothing_item",
        "Yellow raincoat",
        {
            "category": "outerwear",
            "color": "yellow",
            "color_hex": "#f2c500",
            "material": "vinyl",
            "season": "spring",
            "prompt": "bright yellow vinyl raincoat",
        },
        ["modern"],
        True,
    ),
    (
        "scrubs",
        "clothing_item",
        "Teal scrubs",
        {"category": "top", "color": "teal", "material": "cotton", "prompt": "teal medical scrubs"},
        ["modern"],
        False,
    ),
    (
        "jeans",
        "clothing_item",
        "Dark denim jeans",
        {
            "category": "bottom",
            "color": "indigo",
            "material": "denim",
            "fit": "straight",
            "prompt": "dark indigo straight jeans",
        },
        ["modern"],
        False,
    ),
    (
        "sneakers",
        "clothing_item",
        "White sneakers",
        {"category": "footwear", "color": "white", "prompt": "clean white canvas sneakers"},
        ["modern"],
        False,
    ),
    (
        "ranger_outfit",
        "outfit",
        "Ranger travelling gear",
        {
            "occasion": "long journeys",
            "season": "autumn",
            "style": "practical fantasy",
            "prompt": "practical ranger travelling gear",
        },
        ["fantasy"],
        True,
    ),
    (
        "rainy_day",
        "outfit",
        "Rainy day off",
        {"occasion": "city walk in the rain", "season": "spring", "style": "casual"},
        ["modern"],
        False,
    ),
    (
        "workshop",
        "outfit",
        "Workshop day",
        {"occasion": "tinkering", "style": "steampunk"},
        ["steampunk"],
        False,
    ),
    (
        "braid",
        "hair_style",
        "Long side braid",
        {
            "length": "long",
            "texture": "wavy",
            "style": "side braid",
            "prompt": "long loose side braid",
        },
        [],
        False,
    ),
    (
        "bob",
        "hair_style",
        "Short bob",
        {
            "length": "chin",
            "texture": "straight",
            "style": "bob",
            "prompt": "sleek chin-length bob",
        },
        [],
        False,
    ),
    (
        "beard",
        "hair_style",
        "Braided beard",
        {"style": "braided beard", "prompt": "thick braided beard"},
        [],
        False,
    ),
    (
        "auburn",
        "hair_color",
        "Auburn",
        {"color": "auburn", "color_hex": "#7b3f26", "prompt": "auburn hair"},
        [],
        False,
    ),
    (
        "black",
        "hair_color",
        "Jet black",
        {"color": "black", "color_hex": "#111111", "prompt": "jet black hair"},
        [],
        False,
    ),
    (
        "copper",
        "hair_color",
        "Copper",
        {"color": "copper", "highlights": "bronze", "prompt": "copper hair"},
        [],
        False,
    ),
    (
        "natural",
        "makeup",
        "Natural",
        {"intensity": "natural", "prompt": "natural makeup"},
        [],
        False,
    ),
    (
        "smoky",
        "makeup",
        "Smoky eyes",
        {"eyes": "smoky grey", "intensity": "medium", "prompt": "smoky eye makeup"},
        [],
        False,
    ),
    (
        "smile",
        "expression",
        "Gentle smile",
        {"emotion": "happy", "intensity": 0.4, "prompt": "gentle smile"},
        [],
        False,
    ),
    (
        "determined",
        "expression",
        "Determined",
        {"emotion": "determined", "intensity": 0.7, "prompt": "determined expression"},
        [],
        False,
    ),
    (
        "surprised",
        "expression",
        "Surprised",
        {"emotion": "surprise", "intensity": 0.8, "prompt": "wide-eyed surprise"},
        [],
        False,
    ),
    (
        "goggles",
        "accessory",
        "Brass goggles",
        {"category": "eyewear", "material": "brass", "prompt": "brass aviator goggles"},
        ["steampunk"],
        False,
    ),
    (
        "glasses",
        "accessory",
        "Round glasses",
        {"category": "glasses", "prompt": "round wire glasses"},
        [],
        False,
    ),
    (
        "portrait",
        "composition",
        "Three-quarter portrait",
        {
            "shot": "portrait",
            "camera_angle": "eye level",
            "lighting": "soft window light",
            "aspect_ratio": "2:3",
            "prompt": "three-quarter portrait, soft window light",
        },
        [],
        True,
    ),
    (
        "fullbody",
        "composition",
        "Full body, outdoors",
        {
            "shot": "full body",
            "background": "forest path",
            "lighting": "golden hour",
            "aspect_ratio": "2:3",
            "prompt": "full body shot on a forest path, golden hour",
        },
        [],
        False,
    ),
    (
        "wide",
        "composition",
        "Wide city street",
        {
            "shot": "wide",
            "background": "rainy neon street",
            "aspect_ratio": "16:9",
            "prompt": "wide shot of a rainy neon-lit street",
        },
        [],
        False,
    ),
    (
        "cinematic",
        "visual_style",
        "Cinematic",
        {
            "prompt": "cinematic still {prompt}, shallow depth of field, film grain",
            "negative_prompt": "cartoon, drawing, low quality",
            "source": "demo pack",
        },
        [],
        True,
    ),
    (
        "storybook",
        "visual_style",
        "Storybook",
        {
            "prompt": "storybook illustration of {prompt}, soft colours",
            "negative_prompt": "photo, photorealistic",
            "source": "demo pack",
        },
        [],
        False,
    ),
    (
        "noir",
        "visual_style",
        "Noir",
        {
            "prompt": "film noir {prompt}, high contrast black and white",
            "negative_prompt": "colour",
            "source": "demo pack",
        },
        [],
        False,
    ),
    (
        "watercolor",
        "art_style",
        "Loose watercolour",
        {"medium": "watercolor", "prompt": "loose watercolour, visible paper texture"},
        [],
        True,
    ),
    (
        "ukiyoe",
        "art_style",
        "Ukiyo-e woodblock",
        {
            "medium": "woodblock print",
            "movement": "ukiyo-e",
            "prompt": "ukiyo-e woodblock print, flat colours, bold outlines",
        },
        [],
        False,
    ),
    (
        "pixel",
        "art_style",
        "Pixel art",
        {"medium": "digital", "prompt": "16-bit pixel art"},
        [],
        False,
    ),
    (
        "mill",
        "board_game",
        "Mill (Nine Men's Morris)",
        {
            "year_published": -1400,
            "min_players": 2,
            "max_players": 2,
            "playing_time": 20,
            "min_age": 6,
            "weight": 1.4,
            "mechanics": ["Pattern Building", "Grid Movement"],
            "categories": ["Abstract Strategy"],
            "description": "Place and move men to form mills of three and capture.",
        },
        ["abstract"],
        True,
    ),
    (
        "kalah",
        "board_game",
        "Kalah",
        {
            "min_players": 2,
            "max_players": 2,
            "playing_time": 15,
            "min_age": 5,
            "weight": 1.3,
            "mechanics": ["Mancala"],
            "categories": ["Abstract Strategy"],
            "description": "Sow seeds around the board and capture into your store.",
        },
        ["abstract"],
        False,
    ),
    (
        "hearts",
        "board_game",
        "Hearts",
        {
            "min_players": 3,
            "max_players": 6,
            "playing_time": 30,
            "min_age": 8,
            "weight": 1.5,
            "mechanics": ["Trick-taking"],
            "categories": ["Card Game"],
            "description": "Avoid taking hearts and the queen of spades — or shoot the moon.",
        },
        ["cards"],
        False,
    ),
    (
        "story",
        "story",
        "The Clockwork Aviary",
        {
            "premise": "Aria finds one of Bram's clockwork birds lost in the forest.",
            "genre": "cozy fantasy",
            "tone": "warm",
            "length": "short",
            "status": "draft",
            "outline": ["A brass bird in the moss", "The tinkerer's workshop"],
        },
        [],
        False,
    ),
    (
        "scene1",
        "story_scene",
        "A brass bird in the moss",
        {"order": 0, "setting": "autumn forest", "summary": "Aria finds the broken bird."},
        [],
        False,
    ),
    (
        "scene2",
        "story_scene",
        "The tinkerer's workshop",
        {"order": 1, "setting": "Bram's workshop", "summary": "Bram mends the bird."},
        [],
        False,
    ),
    (
        "qa1",
        "qa",
        "Who moves first in Mill?",
        {
            "question": "Who moves first in Mill?",
            "context_type": "rulebook",
            "answer": "The player with the light men moves first.",
            "feedback": "helpful",
        },
        [],
        False,
    ),
    (
        "morning",
        "schedule",
        "Morning portraits",
        {
            "cron": "0 7 * * *",
            "timezone": "Europe/Berlin",
            "enabled": False,
            "params": {
                "slots": [
                    {"kind": "character", "favorites_only": True},
                    {"kind": "outfit"},
                    {"kind": "art_style"},
                ],
                "text": ["in __place__"],
                "count": 4,
            },
            "per_run": {"max_images": 4},
        },
        [],
        False,
    ),
    ("owner", "user", "You", {"display_name": "You", "role": "owner"}, [], False),
    (
        "composer_cfg",
        "tool_config",
        "Composer defaults",
        {"tool": "composer", "model_alias": "fast", "temperature": 0.7, "max_tokens": 200},
        [],
        False,
    ),
    (
        "flatlay",
        "visualization_config",
        "Clothing flat-lay",
        {
            "target_kind": "clothing_item",
            "template": "flat-lay product photo of {prompt} on a neutral background",
        },
        [],
        False,
    ),
]

# (from key, relation, to key)
_LINKS = [
    ("aria", "wears", "ranger_outfit"),
    ("aria", "has_look", "braid"),
    ("aria", "has_look", "auburn"),
    ("aria", "has_look", "determined"),
    ("aria", "drawn_in", "watercolor"),
    ("bram", "wears", "workshop"),
    ("bram", "wears", "goggles"),
    ("bram", "has_look", "beard"),
    ("bram", "has_look", "copper"),
    ("bram", "has_look", "smile"),
    ("mina", "wears", "rainy_day"),
    ("mina", "wears", "glasses"),
    ("mina", "has_look", "bob"),
    ("mina", "has_look", "black"),
    ("mina", "has_look", "natural"),
    ("ranger_outfit", "contains", "cloak"),
    ("ranger_outfit", "contains", "boots"),
    ("ranger_outfit", "contains", "tunic"),
    ("rainy_day", "contains", "raincoat"),
    ("rainy_day", "contains", "jeans"),
    ("rainy_day", "contains", "sneakers"),
    ("workshop", "contains", "apron"),
    ("workshop", "contains", "goggles"),
    ("story", "features", "aria"),
    ("story", "features", "bram"),
    ("story", "has_scene", "scene1"),
    ("story", "has_scene", "scene2"),
    ("scene1", "features", "aria"),
    ("scene2", "features", "bram"),
    ("qa1", "about", "mill"),
]


def load_demo(session: Session) -> dict[str, int]:
    """Create the demo library unless it is already there. Returns what was created. The demo
    entities of a plugin that is off (their kind unknown here) are left out."""
    store = EntityStore(session)
    if store.list(None, ListQuery(tags=[DEMO_TAG], limit=1, include_deleted=True)).total:
        return {"entities": 0, "links": 0}
    ids: dict[str, tuple[str, str]] = {}
    for key, kind, name, data, tags, favorite in _ENTITIES:
        if kind not in store.registry:
            continue
        out = store.create(
            kind, {"name": name, "data": data, "tags": [DEMO_TAG, *tags], "favorite": favorite}
        )
        ids[key] = (kind, out.id)
    links = [(src, rel, dst) for src, rel, dst in _LINKS if src in ids and dst in ids]
    for src, relation, dst in links:
        kind, src_id = ids[src]
        store.link(kind, src_id, {"relation": relation, "target_id": ids[dst][1]})
    return {"entities": len(ids), "links": len(links)}


def queue_demo_rulebooks(inbox: Path) -> list[Path]:
    """Copy the demo rulebooks into the inbox, where the Dagster sensor ingests them (a run
    each, in the Dagster UI). Returns the files queued; one missing from this checkout is
    skipped."""
    inbox.mkdir(parents=True, exist_ok=True)
    queued = []
    for name, source in DEMO_RULEBOOKS.items():
        if (ROOT / source).is_file():
            queued.append(Path(shutil.copyfile(ROOT / source, inbox / name)))
    return queued
