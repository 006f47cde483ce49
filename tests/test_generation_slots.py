"""Generation routes wait for one of `generation_slots` on the event loop, so a crowd of
model calls never takes every worker thread: a list page still answers while they queue,
the queue shows in `/metrics`, and the waiting requests all finish once slots free up."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from apps.api.app import create_app
from lifeos.settings import Settings
from tests.test_metrics import scrape, value

WAITING, RUNNING = "lifeos_http_generation_waiting", "lifeos_http_generation_running"


def test_a_list_page_answers_while_generations_wait_for_a_slot(settings: Settings) -> None:
    # Two worker threads, one generation slot: without the slots, two generations would
    # take both threads and the list below would wait behind them.
    settings = settings.model_copy(update={"api_threads": 2, "generation_slots": 1})
    app = create_app(settings, studio=False)
    crowd = 6
    with TestClient(app, base_url="https://127.0.0.1") as c:
        slots, holder, portal = app.state.generation_slots, object(), c.portal
        assert portal is not None
        assert slots.total_tokens == 1
        base = scrape(c)
        portal.call(slots.acquire_on_behalf_of, holder)  # a generation that runs long
        answers: list[int] = []

        def generate() -> None:
            answers.append(c.post("/api/v1/models/no-such-alias/test", json={}).status_code)

        threads = [threading.Thread(target=generate) for _ in range(crowd)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while (now := scrape(c)) and value(now, WAITING) - value(base, WAITING) < crowd:
            assert time.monotonic() < deadline, "the generations never queued"
            time.sleep(0.05)
        assert value(now, RUNNING) - value(base, RUNNING) == 0  # the held slot is not a request

        listed = c.get("/api/v1/entities/character")
        assert listed.status_code == 200
        assert answers == []  # still queued behind the held slot

        portal.call(slots.release_on_behalf_of, holder)
        for t in threads:
            t.join(timeout=30)
        after = scrape(c)
    assert answers == [400] * crowd  # each got its slot in turn: its body named the alias
    assert value(after, WAITING) == value(base, WAITING)
    assert value(after, RUNNING) == value(base, RUNNING)


def test_slots_leave_one_thread_for_the_cheap_routes(settings: Settings) -> None:
    app = create_app(
        settings.model_copy(update={"api_threads": 3, "generation_slots": 8}), studio=False
    )
    assert app.state.generation_slots.total_tokens == 2
