"""Character Card V2/V3: real card round trips (JSON and PNG, lorebook intact, unknown fields
kept), edits exported, V3 import, malformed cards refused, CLI and API."""

from __future__ import annotations

import base64
import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from lifeos.db.engine import session_scope
from lifeos.errors import BadRequest
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.stories.tools.cards import entity_to_card, import_card, read_card_file, read_png_card

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cards"
SERAPHINA = FIXTURES / "seraphina_v2.png"

V3: dict[str, Any] = {
    "spec": "chara_card_v3",
    "spec_version": "3.0",
    "data": {
        "name": "Ilse Varga",
        "description": "A cartographer of impossible coastlines.",
        "personality": "meticulous, dry humour",
        "scenario": "",
        "first_mes": "Mind the ink.",
        "mes_example": "",
        "creator_notes": "",
        "system_prompt": "",
        "post_history_instructions": "",
        "alternate_greetings": ["Ah, a visitor."],
        "tags": ["Fantasy", "OC"],
        "creator": "lifeos",
        "character_version": "1",
        "extensions": {"depth_prompt": {"depth": 4, "prompt": "x"}},
        "character_book": {
            "name": "Coasts",
            "entries": [
                {
                    "keys": ["reef"],
                    "content": "Reefs move.",
                    "enabled": True,
                    "insertion_order": 0,
                    "use_regex": False,
                    "extensions": {},
                }
            ],
            "extensions": {},
        },
        "assets": [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}],
        "nickname": "Ilse",
        "creator_notes_multilingual": {"en": "hi"},
        "source": ["ccv3-spec"],
        "group_only_greetings": [],
        "creation_date": 1700000000,
        "modification_date": 1700000001,
    },
}


def png_with(chunks: dict[str, str]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for k, v in chunks.items():
        info.add_text(k, v)
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def test_a_real_v2_png_card_round_trips_with_its_lorebook_and_picture(
    settings: Settings,
) -> None:
    from plugins.stories.tools.cards import card_png, character_picture

    original = read_card_file(SERAPHINA)
    assert original["data"]["character_book"]["entries"]
    with session_scope(settings.database_url) as session:
        store = EntityStore(session)
        character = import_card(store, SERAPHINA, settings)
        picture = character_picture(store, character.id, settings)
        images = [ln.entity for ln in store.links("character", character.id)]
    assert character.name == "Seraphina" and character.data["greeting"]
    assert entity_to_card(character) == original
    # the avatar is kept as an image that depicts the character, the file as it came
    assert [i.kind for i in images] == ["image"] and images[0].data["source"] == "imported"
    assert picture is not None and picture.read_bytes() == SERAPHINA.read_bytes()
    with Image.open(SERAPHINA) as img:
        assert (images[0].data["width"], images[0].data["height"]) == img.size
    # exported unedited, the card PNG is the very file imported
    assert card_png(entity_to_card(character), picture) == SERAPHINA.read_bytes()


def test_an_edited_card_exports_the_same_picture_with_the_new_card(settings: Settings) -> None:
    from plugins.stories.tools.cards import card_png, character_picture

    with session_scope(settings.database_url) as session:
        store = EntityStore(session)
        character = import_card(store, SERAPHINA, settings)
        edited = store.update("character", character.id, {"data": {"greeting": "Welcome back."}})
        picture = character_picture(store, character.id, settings)
    exported = card_png(entity_to_card(edited), picture)
    again = read_png_card(exported, source="export")
    assert again["data"]["first_mes"] == "Welcome back."
    assert again["data"]["character_book"] == read_card_file(SERAPHINA)["data"]["character_book"]
    with Image.open(io.BytesIO(exported)) as out, Image.open(SERAPHINA) as src:
        assert out.size == src.size
        assert out.convert("RGBA").tobytes() == src.convert("RGBA").tobytes()


def test_a_json_card_has_no_picture(settings: Settings, tmp_path: Path) -> None:
    from plugins.stories.tools.cards import card_png, character_picture

    path = tmp_path / "ilse.json"
    path.write_text(json.dumps(V3))
    with session_scope(settings.database_url) as session:
        store = EntityStore(session)
        character = import_card(store, path, settings)
        assert store.links("character", character.id) == []
        assert character_picture(store, character.id, settings) is None
    plate = card_png(entity_to_card(character), None)
    assert read_png_card(plate, source="plate") == V3


def test_unknown_fields_survive_and_edits_win(settings: Settings, tmp_path: Path) -> None:
    card = copy.deepcopy(V3) | {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "x_top_level": {"kept": True},
    }
    card["data"]["x_unknown"] = [1, 2, 3]
    card["data"]["creator"] = "c" * 300  # longer than the entity allows: kept as is
    card["data"]["name"] = "  Spaced Name "
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card))
    with session_scope(settings.database_url) as session:
        store = EntityStore(session)
        character = import_card(store, path, settings)
        assert character.name == "Spaced Name" and character.tags == ["fantasy", "oc"]
        assert entity_to_card(character) == card
        edited = store.update("character", character.id, {"data": {"greeting": "New hello"}})
    out = entity_to_card(edited)
    assert out["data"]["first_mes"] == "New hello"
    assert out["data"]["x_unknown"] == [1, 2, 3] and out["x_top_level"] == {"kept": True}


def test_v3_cards_import_from_json_and_png(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "ilse.png"
    path.write_bytes(png_with({"ccv3": base64.b64encode(json.dumps(V3).encode()).decode()}))
    with session_scope(settings.database_url) as session:
        character = import_card(EntityStore(session), path, settings)
    assert character.data["alternate_greetings"] == ["Ah, a visitor."]
    assert entity_to_card(character) == V3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (png_with({"chara": "%%% not base64 %%%"}), "not base64 JSON"),
        (png_with({"parameters": "a prompt"}), "carries no character card"),
        (json.dumps({"spec": "tavern_v1", "data": {"name": "x"}}).encode(), "not a Character Card"),
        (json.dumps({"spec": "chara_card_v2", "data": {"name": " "}}).encode(), "has no name"),
        (json.dumps({"spec": "chara_card_v2"}).encode(), "no `data` object"),
        (b"\x00\x01 garbage", "neither a PNG nor JSON"),
    ],
)
def test_malformed_cards_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.card"
    path.write_bytes(content)
    with pytest.raises(BadRequest, match=message):
        read_card_file(path)


def test_a_library_character_exports_as_a_complete_v2_card(db_url: str) -> None:
    with session_scope(db_url) as session:
        character = EntityStore(session).create(
            "character",
            {
                "name": "Bram",
                "tags": ["tinker"],
                "data": {"description": "A tinkerer.", "greeting": "Hello!"},
            },
        )
    card = entity_to_card(character)
    assert card["spec"] == "chara_card_v2" and card["spec_version"] == "2.0"
    assert card["data"]["first_mes"] == "Hello!" and card["data"]["tags"] == ["tinker"]
    for key in ("personality", "scenario", "mes_example", "alternate_greetings", "extensions"):
        assert key in card["data"]


def test_cli_and_api(sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fastapi.testclient import TestClient

    from apps.api.app import create_app
    from apps.cli import main
    from lifeos.settings import get_settings

    assert main(["cards", "import", str(SERAPHINA), "--json"]) == 0
    cid = json.loads(capsys.readouterr().out)["id"]
    out = tmp_path / "out.png"
    assert main(["cards", "export", cid, str(out), "--png"]) == 0
    assert out.read_bytes() == SERAPHINA.read_bytes()
    assert main(["cards", "import", str(tmp_path / "missing.json")]) == 1
    with TestClient(create_app(get_settings(), studio=False)) as api:
        r = api.post(
            "/api/v1/cards", files={"file": ("ilse.json", json.dumps(V3), "application/json")}
        )
        assert r.status_code == 201
        assert api.get(f"/api/v1/cards/{r.json()['id']}").json() == V3
        png = api.get(f"/api/v1/cards/{cid}", params={"format": "png"})
        assert png.headers["content-type"] == "image/png"
        assert read_png_card(png.content, source="api") == read_card_file(SERAPHINA)
        bad = api.post("/api/v1/cards", files={"file": ("x.json", "{}", "application/json")})
        assert bad.status_code == 400 and "not a Character Card" in bad.json()["error"]["message"]
