"""The REST API: every operation through HTTP, problem JSON with the right status codes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from apps.api.app import create_app
from lifeos.settings import Settings

E = "/api/v1/entities"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def assert_problem(response, status: int, code: str) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code
    assert body["message"] and body["request_id"] == response.headers["x-request-id"]
    return body


def test_crud_roundtrip(client: TestClient) -> None:
    r = client.post(
        f"{E}/character",
        json={"name": "Aria", "tags": ["hero"], "data": {"description": "a ranger"}},
    )
    assert r.status_code == 201
    aria = r.json()
    r = client.patch(
        f"{E}/character/{aria['id']}", json={"data": {"age": "29"}, "expected_revision": 1}
    )
    assert r.status_code == 200 and r.json()["revision"] == 2
    page = client.get(f"{E}/character", params={"q": "ranger", "tag": "hero"}).json()
    assert page["total"] == 1 and page["limit"] == 50 and page["offset"] == 0
    assert client.get(f"{E}/character", params={"data.age": "29"}).json()["total"] == 1
    assert client.delete(f"{E}/character/{aria['id']}").json()["deleted_at"]
    assert client.get(f"{E}/character", params={"only_deleted": "true"}).json()["total"] == 1
    assert client.post(f"{E}/character/{aria['id']}/restore").json()["deleted_at"] is None
    history = client.get(f"{E}/character/{aria['id']}/history").json()
    assert [h["op"] for h in history] == ["restore", "delete", "update", "create"]
    reverted = client.post(f"{E}/character/{aria['id']}/revert", json={"revision": 1}).json()
    assert reverted["data"]["age"] == ""
    assert client.delete(f"{E}/character/{aria['id']}", params={"purge": "true"}).status_code == 204
    assert_problem(client.get(f"{E}/character/{aria['id']}"), 404, "not_found")


def test_links_over_http(client: TestClient) -> None:
    outfit = client.post(f"{E}/outfit", json={"name": "Ranger"}).json()
    cloak = client.post(f"{E}/clothing_item", json={"name": "Cloak"}).json()
    r = client.post(
        f"{E}/outfit/{outfit['id']}/links", json={"relation": "contains", "target_id": cloak["id"]}
    )
    assert r.status_code == 201
    back = client.get(f"{E}/clothing_item/{cloak['id']}/links").json()
    assert [(x["direction"], x["entity"]["name"]) for x in back] == [("in", "Ranger")]
    assert (
        client.delete(f"{E}/outfit/{outfit['id']}/links/contains/{cloak['id']}").status_code == 204
    )
    assert client.get(f"{E}/outfit/{outfit['id']}/links").json() == []


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("get", f"{E}/spaceship", {}, 404, "unknown_kind"),
        (
            "post",
            f"{E}/character",
            {"json": {"name": "x", "data": {"age": 5}}},
            422,
            "validation_failed",
        ),
        ("post", f"{E}/character", {"json": {"data": {}}}, 422, "validation_failed"),
        ("post", f"{E}/character", {"json": {"name": "x", "extra": 1}}, 422, "validation_failed"),
        ("post", f"{E}/character", {"json": {"name": "x" * 5000}}, 422, "validation_failed"),
        (
            "post",
            f"{E}/character",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            422,
            "validation_failed",
        ),
        ("post", f"{E}/character", {"content": b"x" * 3_000_000}, 413, "payload_too_large"),
        ("get", f"{E}/character", {"params": {"limit": 500}}, 400, "bad_request"),
        ("get", f"{E}/character", {"params": {"limit": "ten"}}, 400, "bad_request"),
        ("get", f"{E}/character", {"params": {"offset": -1}}, 400, "bad_request"),
        ("get", f"{E}/character", {"params": {"sort": "shoe_size"}}, 400, "bad_request"),
        ("get", f"{E}/character", {"params": {"colour": "red"}}, 400, "bad_request"),
        ("get", f"{E}/character", {"params": {"data.shoe": "9"}}, 400, "bad_request"),
        ("get", f"{E}/character/abc", {}, 404, "not_found"),
        ("patch", f"{E}/character/abc", {"json": {"name": "y"}}, 404, "not_found"),
        ("get", "/api/v1/nowhere", {}, 404, "not_found"),
    ],
)
def test_errors_are_problem_json(
    client: TestClient, method: str, path: str, kwargs: dict, status: int, code: str
) -> None:
    assert_problem(getattr(client, method)(path, **kwargs), status, code)


def test_conflicts(client: TestClient) -> None:
    made = client.post(f"{E}/outfit", json={"name": "A"}).json()
    client.patch(f"{E}/outfit/{made['id']}", json={"name": "B"})
    body = assert_problem(
        client.patch(f"{E}/outfit/{made['id']}", json={"name": "C", "expected_revision": 1}),
        409,
        "stale_revision",
    )
    assert body["details"] == {"current_revision": 2}
    client.delete(f"{E}/outfit/{made['id']}")
    assert_problem(client.delete(f"{E}/outfit/{made['id']}"), 409, "already_deleted")
    assert (
        client.get(f"{E}/outfit/{made['id']}", params={"include_deleted": True}).json()["name"]
        == "B"
    )


def test_injection_in_q_is_harmless(client: TestClient) -> None:
    client.post(f"{E}/outfit", json={"name": "Safe"})
    for evil in ["'; DROP TABLE entities; --", "1' OR '1'='1", "%' --", "\\"]:
        r = client.get(f"{E}/outfit", params={"q": evil})
        assert r.status_code == 200 and r.json()["total"] == 0
    assert_problem(client.get(f"{E}/outfit", params={"q": "a\x00b"}), 400, "bad_request")
    assert_problem(client.post(f"{E}/outfit", json={"name": "a\x00"}), 422, "validation_failed")
    assert_problem(
        client.post(f"{E}/outfit", json={"name": "a", "data": {"style": "\x00"}}),
        422,
        "validation_failed",
    )
    assert client.get(f"{E}/outfit").json()["total"] == 1


def test_request_id_echoed_or_made(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(made.headers["x-request-id"]) == 32


def test_health_kinds_openapi_export(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    kinds = {k["name"]: k for k in client.get("/api/v1/kinds").json()}
    assert "properties" in kinds["character"]["schema"] and len(kinds) == 23
    spec = client.get("/api/v1/openapi.json").json()
    assert f"{E}/{{kind}}" in spec["paths"]
    client.post(f"{E}/outfit", json={"name": "A"})
    doc = client.get("/api/v1/export").json()
    assert doc["format"] == "lifeos-library" and len(doc["entities"]) == 1
    assert client.get("/api/v1/stats").json()["counts"] == {"outfit": 1}


def test_import_over_http_is_all_or_nothing(client: TestClient) -> None:
    client.post(f"{E}/outfit", json={"name": "A"})
    doc = client.get("/api/v1/export").json()
    assert_problem(client.post("/api/v1/import", json=doc), 409, "conflict")
    assert (
        client.post("/api/v1/import", params={"on_conflict": "skip"}, json=doc).json()["skipped"]
        == 1
    )
    assert_problem(client.post("/api/v1/import", json={"format": "nope"}), 400, "backup_invalid")


def test_readyz_reports_a_missing_database(lifeos_home) -> None:  # noqa: ANN001
    broken = Settings(
        home=lifeos_home, LIFEOS_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    with TestClient(create_app(broken)) as c:
        assert_problem(c.get("/readyz"), 503, "unavailable")
