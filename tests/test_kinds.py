"""The kind registry: every built-in kind validates, rejects bad data, and plugins add kinds."""

from __future__ import annotations

import pluggy
import pytest

from lifeos import hookspecs
from lifeos.errors import UnknownKind, ValidationFailed
from lifeos.kinds import EntityData, KindRegistry, KindSpec, ShortText, get_registry
from tests.factories import MINIMAL_DATA, minimal

EXPECTED_KINDS = {
    "character",
    "clothing_item",
    "outfit",
    "composition",
    "visual_style",
    "art_style",
    "hair_style",
    "hair_color",
    "makeup",
    "expression",
    "accessory",
    "image",
    "story",
    "story_scene",
    "board_game",
    "qa",
    "visualization_config",
    "tool_config",
    "schedule",
    "user",
    "workflow",
    "proposal",
    "workflow_schedule",
}


def test_all_builtin_kinds_registered() -> None:
    assert set(get_registry().names()) == EXPECTED_KINDS
    assert set(MINIMAL_DATA) <= EXPECTED_KINDS


@pytest.mark.parametrize("kind", sorted(EXPECTED_KINDS))
def test_minimal_data_validates_and_unknown_fields_are_rejected(kind: str) -> None:
    spec = get_registry().get(kind)
    data = spec.validate(minimal(kind))
    assert set(data) == set(spec.field_names())
    with pytest.raises(ValidationFailed) as err:
        spec.validate({**minimal(kind), "no_such_field": 1})
    assert err.value.details[0]["loc"] == ["data", "no_such_field"]


@pytest.mark.parametrize("kind", sorted(set(MINIMAL_DATA)))
def test_required_fields_are_required(kind: str) -> None:
    with pytest.raises(ValidationFailed, match="Field required"):
        get_registry().get(kind).validate({})


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("schedule", {"cron": "every morning"}, "cron"),
        ("schedule", {"cron": "0 7 * * *", "timezone": "Mars/Olympus"}, "time zone"),
        ("board_game", {"min_players": 5, "max_players": 2}, "min_players"),
        ("expression", {"emotion": "happy", "intensity": 3}, "less than or equal"),
        ("clothing_item", {"category": "spacesuit"}, "category"),
        ("clothing_item", {"color_hex": "red"}, "color_hex"),
        ("user", {"email": "not-an-email"}, "email"),
        ("character", {"age": "x" * 201}, "at most 200"),
        ("character", {"description": "x" * 20_001}, "at most 20000"),
        ("image", {"sha256": "abc", "width": 1, "height": 1}, "sha256"),
    ],
)
def test_field_rules(kind: str, data: dict, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        get_registry().get(kind).validate(data)


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(UnknownKind) as err:
        get_registry().get("spaceship")
    assert "character" in err.value.details["known_kinds"]


class Spaceship(EntityData):
    hull: ShortText = ""


class SpaceshipPlugin:
    @hookspecs.hookimpl
    def register_entity_kinds(self, register):  # noqa: ANN001
        register(KindSpec("spaceship", Spaceship, "Spaceship"))


def test_a_plugin_adds_a_kind_through_the_hook() -> None:
    pm = pluggy.PluginManager("lifeos")
    pm.add_hookspecs(hookspecs)
    pm.register(SpaceshipPlugin())
    registry = KindRegistry()
    pm.hook.register_entity_kinds(register=registry.register)
    assert registry.get("spaceship").validate({"hull": "titanium"}) == {"hull": "titanium"}


def test_links_are_typed() -> None:
    outfit = get_registry().get("outfit")
    assert outfit.allows_link("contains", "clothing_item")
    assert not outfit.allows_link("contains", "board_game")
    assert outfit.allows_link("related_to", "board_game")
