"""BoardGameGeek client against a loopback server replaying real XML API2 recordings
(tests/fixtures/bgg): parsing, the 7-day cache, retries on 202/429/5xx/timeouts, the token,
errors never cached, the rate limit shared across processes, the catalogue, CLI and API."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import dagster as dg
import pytest

from lifeos.db.engine import session_scope
from lifeos.errors import BGGError, BGGTokenMissing, NotFound, ServiceUnavailable
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.board_games.resources import BGGClient, cache_size
from plugins.board_games.tools.games import Games

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bgg"
ROOT = Path(__file__).resolve().parents[1]


class Replay(BaseHTTPRequestHandler):
    """Answers from the recordings; `script` queues special answers per endpoint."""

    script: dict[str, list[tuple[int, str, dict[str, str], float]]] = {}
    seen: list[tuple[float, str, dict[str, list[str]], str]] = []

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        query = parse_qs(url.query)
        endpoint = url.path.rsplit("/", 1)[-1]
        type(self).seen.append(
            (time.time(), endpoint, query, self.headers.get("Authorization", ""))
        )
        queued = type(self).script.get(endpoint)
        if queued:
            status, body, headers, delay = queued.pop(0)
            time.sleep(delay)
        else:
            status, headers = 200, {}
            body = self._recording(endpoint, query)
        data = body.encode()
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _recording(endpoint: str, query: dict[str, list[str]]) -> str:
        if endpoint == "search":
            name = "search_agricola.xml" if query["query"][0] == "Agricola" else "search_empty.xml"
        else:
            ids = set(query["id"][0].split(","))
            name = (
                "thing_31260_283.xml"
                if ids <= {"31260", "283"}
                else "thing_1653.xml"
                if ids == {"1653"}
                else "search_empty.xml"
            )
        return (FIXTURES / name).read_text(encoding="utf-8")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Replay.script, Replay.seen = {}, []
    yield f"http://127.0.0.1:{httpd.server_address[1]}/xmlapi2"
    httpd.shutdown()


@pytest.fixture
def client(server: str, settings: Settings) -> BGGClient:
    return BGGClient(
        base_url=server,
        token="t0ken",
        database_url=settings.database_url,
        state_dir=str(settings.home),
        min_interval_s=0.0,
        max_wait_s=2.0,
        timeout_s=2.0,
    )


def test_search_parses_the_recording_and_is_cached(client: BGGClient) -> None:
    hits = client.search("Agricola")
    assert len(hits) == 49 and (hits[0].bgg_id, hits[0].name, hits[0].year) == (
        31260,
        "Agricola",
        2007,
    )
    assert Replay.seen[0][3] == "Bearer t0ken" and Replay.seen[0][2]["type"] == ["boardgame"]
    assert client.search("Agricola") == hits and len(Replay.seen) == 1  # from the cache
    assert client.search("blablablathisgamewonteverexist") == []
    no_token = client.model_copy(update={"token": ""})
    assert no_token.search("Agricola") == hits  # cached: no token, no request
    assert len(Replay.seen) == 2


def test_thing_details_become_an_idempotent_board_game(
    client: BGGClient, settings: Settings
) -> None:
    games = Games(settings, client)
    first = games.add([31260, 283])
    agricola = first[0].data
    assert first[0].name == "Agricola" and agricola["bgg_id"] == 31260
    assert (agricola["min_players"], agricola["max_players"], agricola["year_published"]) == (
        1,
        5,
        2007,
    )
    assert agricola["weight"] == pytest.approx(3.63, abs=0.01)
    assert "Uwe Rosenberg" in agricola["designers"] and agricola["mechanics"]
    assert "\n" in agricola["description"] or "&#10;" not in agricola["description"]
    again = games.add([31260])
    assert again[0].id == first[0].id and again[0].revision == 2
    with session_scope(settings.database_url) as session:
        assert EntityStore(session).list("board_game", {"q": "agricola"}).total == 1
    with pytest.raises(NotFound, match="no game 999999"):
        games.add([999999])


def test_queued_rate_limited_and_failing_answers_are_retried(client: BGGClient) -> None:
    Replay.script["search"] = [
        (202, "", {}, 0.0),
        (429, "slow down", {"Retry-After": "1"}, 0.0),
        (503, "busy", {}, 0.0),
    ]
    started = time.monotonic()
    assert client.search("Agricola")[0].bgg_id == 31260
    assert len(Replay.seen) == 4 and time.monotonic() - started >= 1.0  # Retry-After held


def test_errors_are_clear_and_never_cached(client: BGGClient, settings: Settings) -> None:
    Replay.script["search"] = [(200, "<items><item id=", {}, 0.0)]
    with pytest.raises(BGGError, match="does not parse"):
        client.search("Agricola")
    Replay.script["search"] = [(500, "oops", {}, 0.0)] * 6
    with pytest.raises(ServiceUnavailable, match="did not answer after 6 tries"):
        client.model_copy(update={"max_wait_s": 0.05}).search("Agricola")
    Replay.script["search"] = [(200, "", {}, 3.0), (200, "", {}, 3.0)]
    with pytest.raises(ServiceUnavailable, match="timed out"):
        client.model_copy(update={"timeout_s": 0.3, "max_attempts": 2, "max_wait_s": 0.05}).search(
            "Agricola"
        )
    Replay.script["search"] = [
        (
            200,
            '<?xml version="1.0"?><errors><error><message>'
            "Rate limit exceeded.</message></error></errors>",
            {},
            0.0,
        )
    ]
    with pytest.raises(BGGError, match="Rate limit exceeded"):
        client.search("Agricola")
    assert cache_size(settings.database_url) == 0
    with pytest.raises(BGGTokenMissing, match="LIFEOS_BGG_TOKEN"):
        client.model_copy(update={"token": ""}).search("Coup")


RATE_CLIENT = """
import sys, time
from plugins.board_games.resources import BGGClient
c = BGGClient(base_url=sys.argv[1], token="t", database_url=sys.argv[2], state_dir=sys.argv[3],
              min_interval_s=0.4)
for i in range(3):
    c.search(f"{sys.argv[4]} {i}")
"""


def test_the_rate_limit_holds_across_processes(server: str, settings: Settings) -> None:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RATE_CLIENT,
                server,
                settings.database_url,
                str(settings.home),
                name,
            ],
            cwd=ROOT,
        )
        for name in ("alpha", "beta")
    ]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    times = sorted(t for t, endpoint, _, _ in Replay.seen if endpoint == "search")
    assert len(times) == 6
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.35, gaps  # one request per 0.4 s across both processes


def test_the_catalogue_refreshes_stale_games(client: BGGClient, settings: Settings) -> None:
    from plugins.board_games.assets.games import bgg_catalogue
    from resources.workbench import WorkbenchResource

    games = Games(settings, client)
    (coup,) = games.add([1653])
    with session_scope(settings.database_url) as session:
        EntityStore(session).update(
            "board_game", coup.id, {"data": {"bgg_refreshed_at": "2020-01-01T00:00:00+00:00"}}
        )
    assert [g.id for g in games.stale(older_than=timedelta(days=7))] == [coup.id]
    result = dg.materialize(
        [bgg_catalogue],
        resources={
            "workbench": WorkbenchResource(
                home=str(settings.home), database_url=settings.database_url
            ),
            "bgg": client,
        },
    )
    assert result.success
    meta = result.asset_materializations_for_node("bgg_catalogue")[0].metadata
    assert meta["refreshed"].value == 1
    assert games.stale(older_than=timedelta(days=7)) == []


def test_cli_and_api(
    server: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fastapi.testclient import TestClient

    from apps.api.app import create_app
    from apps.cli import main
    from lifeos.settings import reset_settings_cache

    monkeypatch.setenv("LIFEOS_BGG_URL", server)
    monkeypatch.setenv("LIFEOS_BGG_TOKEN", "t0ken")
    monkeypatch.setenv("LIFEOS_BGG_MIN_INTERVAL_S", "0")
    reset_settings_cache()
    assert main(["games", "search", "Agricola", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["bgg_id"] == 31260
    assert main(["games", "add", "1653", "--json"]) == 0
    coup = json.loads(capsys.readouterr().out)[0]
    assert coup["name"] == "Coup" and coup["data"]["bgg_id"] == 1653
    pdf = ROOT.parent / "shared" / "data" / "rulebooks" / "dev_kalah.pdf"
    assert main(["games", "attach-rulebook", "Coup", str(pdf), "--no-wait", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["board_game_id"] == coup["id"] and doc["status"] == "queued"
    assert main(["games", "attach-rulebook", "Nope", str(pdf)]) == 1
    assert "no board game 'Nope'" in capsys.readouterr().err
    monkeypatch.delenv("LIFEOS_BGG_TOKEN")
    reset_settings_cache()
    assert main(["games", "search", "Twilight Struggle"]) == 1
    assert "LIFEOS_BGG_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("LIFEOS_BGG_TOKEN", "t0ken")
    reset_settings_cache()
    from lifeos.settings import get_settings

    with TestClient(create_app(get_settings(), studio=False)) as api:
        hits = api.get("/api/v1/games/search", params={"q": "Agricola"}).json()
        assert hits[0]["name"] == "Agricola"
        added = api.post("/api/v1/games", json={"bgg_ids": [31260]})
        assert added.status_code == 201 and added.json()[0]["data"]["bgg_id"] == 31260
