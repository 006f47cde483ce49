"""The generic entity store, on SQLite and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifeos.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, ValidationFailed
from lifeos.store import EntityStore
from tests.factories import entity_body


def test_create_get_update_partial(store: EntityStore) -> None:
    made = store.create(
        "character",
        {
            "name": "Aria",
            "tags": ["Hero", "hero", " ranger "],
            "data": {"description": "a ranger", "age": "29"},
        },
    )
    assert made.revision == 1 and made.tags == ["hero", "ranger"]
    assert made.data["pronouns"] == ""  # defaults filled in
    changed = store.update("character", made.id, {"data": {"age": "30"}, "favorite": True})
    assert changed.revision == 2
    assert changed.data["description"] == "a ranger" and changed.data["age"] == "30"
    assert changed.favorite and changed.updated_at >= made.updated_at
    assert store.get("character", made.id) == changed


def test_validation_errors_name_the_field(store: EntityStore) -> None:
    with pytest.raises(ValidationFailed) as err:
        store.create("character", {"name": "x", "data": {"age": 12}})
    assert err.value.details[0]["loc"] == ["data", "age"]
    with pytest.raises(ValidationFailed, match="name"):
        store.create("character", {"data": {}})
    with pytest.raises(ValidationFailed, match="Extra inputs"):
        store.create("character", {"name": "x", "colour": "red"})
    with pytest.raises(ValidationFailed, match="name"):
        store.create("character", {"name": "x" * 201})
    made = store.create("character", {"name": "ok"})
    with pytest.raises(ValidationFailed):
        store.update("character", made.id, {"data": {"bogus": 1}})
    assert store.get("character", made.id).revision == 1


def test_oversized_data_is_refused(store: EntityStore) -> None:
    big = {"alternate_greetings": ["x" * 19_000] * 20}
    with pytest.raises(PayloadTooLarge):
        store.create("character", {"name": "big", "data": big})


def test_stale_revision_is_a_conflict(store: EntityStore) -> None:
    made = store.create("outfit", entity_body("outfit"))
    store.update("outfit", made.id, {"name": "new", "expected_revision": 1})
    with pytest.raises(Conflict) as err:
        store.update("outfit", made.id, {"name": "newer", "expected_revision": 1})
    assert err.value.code == "stale_revision" and err.value.details["current_revision"] == 2
    assert store.get("outfit", made.id).name == "new"


def test_delete_restore_purge(store: EntityStore) -> None:
    made = store.create("outfit", entity_body("outfit"))
    store.delete("outfit", made.id)
    with pytest.raises(NotFound):
        store.get("outfit", made.id)
    assert store.get("outfit", made.id, include_deleted=True).deleted_at is not None
    with pytest.raises(Conflict, match="already deleted"):
        store.delete("outfit", made.id)
    assert store.list("outfit").total == 0
    assert store.list("outfit", {"only_deleted": True}).total == 1
    restored = store.restore("outfit", made.id)
    assert restored.deleted_at is None and restored.revision == 3
    with pytest.raises(Conflict, match="not deleted"):
        store.restore("outfit", made.id)
    store.purge("outfit", made.id)
    with pytest.raises(NotFound):
        store.restore("outfit", made.id)
    with pytest.raises(NotFound):
        store.history("outfit", made.id)


def test_wrong_kind_for_id_is_not_found(store: EntityStore) -> None:
    made = store.create("outfit", entity_body("outfit"))
    with pytest.raises(NotFound):
        store.get("character", made.id)
    with pytest.raises(NotFound):
        store.get("outfit", "x" * 500)


def test_history_and_revert(store: EntityStore) -> None:
    made = store.create("art_style", {"name": "v1", "tags": ["a"], "data": {"medium": "oil"}})
    store.update("art_style", made.id, {"name": "v2", "tags": ["b"], "data": {"medium": "ink"}})
    store.delete("art_style", made.id)
    store.restore("art_style", made.id)
    reverted = store.revert("art_style", made.id, 1)
    assert (reverted.name, reverted.tags, reverted.data["medium"]) == ("v1", ["a"], "oil")
    ops = [(r.revision, r.op) for r in store.history("art_style", made.id)]
    assert ops == [(5, "revert"), (4, "restore"), (3, "delete"), (2, "update"), (1, "create")]
    with pytest.raises(NotFound):
        store.revert("art_style", made.id, 99)


@pytest.fixture
def library(store: EntityStore) -> EntityStore:
    store.create(
        "clothing_item",
        {
            "name": "Red scarf",
            "tags": ["winter", "red"],
            "data": {"category": "other", "color": "red"},
        },
    )
    store.create(
        "clothing_item",
        {
            "name": "Blue jeans",
            "tags": ["denim"],
            "favorite": True,
            "data": {"category": "bottom", "color": "blue", "material": "denim 100%_cotton"},
        },
    )
    store.create(
        "clothing_item",
        {
            "name": "Wool coat",
            "tags": ["winter"],
            "data": {
                "category": "outerwear",
                "color": "grey",
                "description": "Heavy WOOL coat for snow",
            },
        },
    )
    store.create(
        "board_game", {"name": "Mill", "data": {"min_players": 2, "max_players": 2, "weight": 1.4}}
    )
    store.create("board_game", {"name": "Hearts", "data": {"min_players": 3, "max_players": 6}})
    return store


def names(page) -> list[str]:  # noqa: ANN001
    return [e.name for e in page.items]


def test_search_filters_sort(library: EntityStore) -> None:
    assert names(library.list("clothing_item", {"q": "wool"})) == ["Wool coat"]
    assert names(library.list("clothing_item", {"q": "snow heavy"})) == ["Wool coat"]
    assert library.list("clothing_item", {"q": "snow jeans"}).total == 0
    assert names(library.list("clothing_item", {"tags": ["winter"], "sort": "name"})) == [
        "Red scarf",
        "Wool coat",
    ]
    assert names(library.list("clothing_item", {"tags": ["winter", "red"]})) == ["Red scarf"]
    assert names(library.list("clothing_item", {"favorite": True})) == ["Blue jeans"]
    assert names(library.list("clothing_item", {"where": {"color": "grey"}})) == ["Wool coat"]
    assert names(library.list("clothing_item", {"where": {"category": "bottom"}})) == ["Blue jeans"]
    assert names(library.list("board_game", {"where": {"min_players": "3"}})) == ["Hearts"]
    assert names(library.list("board_game", {"where": {"weight": "1.4"}})) == ["Mill"]
    assert names(library.list("clothing_item", {"sort": "name"})) == [
        "Blue jeans",
        "Red scarf",
        "Wool coat",
    ]
    assert names(library.list("clothing_item", {"sort": "-name"})) == [
        "Wool coat",
        "Red scarf",
        "Blue jeans",
    ]
    assert names(library.list("clothing_item", {"sort": "-favorite"}))[0] == "Blue jeans"
    assert names(library.list(None, {"q": "mill"})) == ["Mill"]


def test_like_wildcards_and_injection_are_plain_text(library: EntityStore) -> None:
    assert names(library.list("clothing_item", {"q": "100%_cotton"})) == ["Blue jeans"]
    # `%` and `_` match only themselves (the one item whose text holds "100%_cotton").
    assert library.list("clothing_item", {"q": "%"}).total == 1
    assert library.list("clothing_item", {"q": "_"}).total == 1
    assert library.list("clothing_item", {"q": "0%c"}).total == 0
    for evil in ["'; DROP TABLE entities; --", '" OR 1=1 --', "') OR ('1'='1", "\\", "%%'"]:
        assert library.list("clothing_item", {"q": evil}).total == 0
        assert library.list("clothing_item", {"where": {"color": evil}}).total == 0
    assert library.list("clothing_item").total == 3


def test_paging_and_total(store: EntityStore) -> None:
    for i in range(7):
        store.create("makeup", {"name": f"look {i:02d}"})
    first = store.list("makeup", {"limit": 3, "sort": "name"})
    assert first.total == 7 and names(first) == ["look 00", "look 01", "look 02"]
    last = store.list("makeup", {"limit": 3, "offset": 6, "sort": "name"})
    assert names(last) == ["look 06"]
    assert store.list("makeup", {"offset": 100}).items == []


def test_date_ranges(library: EntityStore) -> None:
    now = datetime.now(UTC)
    assert library.list("clothing_item", {"created_after": now - timedelta(hours=1)}).total == 3
    assert library.list("clothing_item", {"created_before": now - timedelta(hours=1)}).total == 0
    assert library.list("clothing_item", {"updated_before": now + timedelta(hours=1)}).total == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": 201}, "less than or equal to 200"),
        ({"limit": 0}, "greater than or equal to 1"),
        ({"offset": -1}, "greater than or equal to 0"),
        ({"sort": "colour"}, "unknown sort field"),
        ({"where": {"nope": "1"}}, "has no field"),
        ({"where": {"min_players": "many"}}, "not a valid value"),
        ({"where": {"mechanics": "x"}}, "not a valid value|not a single value"),
        ({"q": " ".join(["w"] * 11)}, "at most 10"),
        ({"bogus": 1}, "Extra inputs"),
    ],
)
def test_bad_list_queries(store: EntityStore, query: dict, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        store.list("board_game", query)


def test_links_typed_and_listed_from_both_sides(store: EntityStore) -> None:
    outfit = store.create("outfit", {"name": "Ranger"})
    cloak = store.create("clothing_item", {"name": "Cloak"})
    game = store.create("board_game", {"name": "Mill"})
    store.link("outfit", outfit.id, {"relation": "contains", "target_id": cloak.id})
    assert [(x.direction, x.relation, x.entity.name) for x in store.links("outfit", outfit.id)] == [
        ("out", "contains", "Cloak")
    ]
    assert [(x.direction, x.entity.name) for x in store.links("clothing_item", cloak.id)] == [
        ("in", "Ranger")
    ]
    with pytest.raises(Conflict):
        store.link("outfit", outfit.id, {"relation": "contains", "target_id": cloak.id})
    with pytest.raises(BadRequest, match="cannot link"):
        store.link("outfit", outfit.id, {"relation": "contains", "target_id": game.id})
    with pytest.raises(BadRequest, match="itself"):
        store.link("outfit", outfit.id, {"relation": "related_to", "target_id": outfit.id})
    with pytest.raises(NotFound):
        store.link("outfit", outfit.id, {"relation": "contains", "target_id": "missing"})
    with pytest.raises(ValidationFailed):
        store.link("outfit", outfit.id, {"relation": "Bad Relation!", "target_id": cloak.id})
    store.link("outfit", outfit.id, {"relation": "related_to", "target_id": game.id})
    store.delete("board_game", game.id)
    assert len(store.links("outfit", outfit.id)) == 1  # deleted targets are hidden
    store.unlink("outfit", outfit.id, "contains", cloak.id)
    with pytest.raises(NotFound):
        store.unlink("outfit", outfit.id, "contains", cloak.id)
    store.purge("board_game", game.id)
    assert store.links("outfit", outfit.id, include_deleted=True) == []


def test_counts(library: EntityStore) -> None:
    assert library.counts() == {"clothing_item": 3, "board_game": 2}
