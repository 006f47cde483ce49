"""Who the load tests play: people browsing the library, people asking rules questions, people
starting image batches. Locust user classes over its gevent HTTP client (FastHttpUser: the
load generator shares two cores with the server, and requests' client costs ~4× more CPU).

The scenario files beside this one (`browse.py`, `mixed.py`, `stress.py`, `spike.py`) pick
the users and the shape; `benchmarks/load/run.py` starts them headless and reads what
`record` writes when Locust stops.

Environment: `LIFEOS_LOAD_IDS` a JSON file of `kind/id` strings to read and edit,
`LIFEOS_LOAD_OUT` where to write the results (JSON), `LIFEOS_LOAD_GAME` the game whose
rulebook is ingested.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, events, task
from locust.env import Environment

KINDS = ("character", "clothing_item", "outfit", "art_style", "composition")
WORDS = ("red", "blue", "velvet", "linen", "ranger", "knight", "forest", "winter", "storm", "ember")
QUESTIONS = (
    "How many cards does each player get with four players?",
    "Can hearts be led before they have been broken?",
    "Who leads the first trick?",
    "How do you score the queen of spades?",
    "What happens when a player takes all the penalty cards?",
    "Which cards are passed at the start of a hand?",
)


def _ids() -> list[str]:
    path = os.environ.get("LIFEOS_LOAD_IDS")
    return json.loads(Path(path).read_text()) if path else []


IDS = _ids()


class Browser(FastHttpUser):
    """Someone browsing the library: lists pages, searches, opens entities and now and then
    edits one, with about a second of thought between actions."""

    wait_time = between(0.5, 1.5)

    @task(4)
    def list_page(self) -> None:
        kind = random.choice(KINDS)
        self.client.get(
            f"/api/v1/entities/{kind}?limit=50&offset={random.randrange(0, 1900)}",
            name="list",
        )

    @task(2)
    def search(self) -> None:
        kind = random.choice(KINDS)
        self.client.get(f"/api/v1/entities/{kind}?limit=50&q={random.choice(WORDS)}", name="search")

    @task(4)
    def detail(self) -> None:
        if IDS:
            self.client.get(f"/api/v1/entities/{random.choice(IDS)}", name="detail")

    @task(1)
    def edit(self) -> None:
        if not IDS:
            return
        path = f"/api/v1/entities/{random.choice(IDS)}"
        with self.client.get(path, name="detail", catch_response=True) as got:
            if got.status_code != 200:
                got.failure(f"HTTP {got.status_code}")
                return
            revision = got.json()["revision"]
        body = {"tags": random.sample(WORDS, 2), "expected_revision": revision}
        with self.client.patch(path, json=body, name="edit", catch_response=True) as r:
            # Two people editing the same entity at once: the second is told (409), which is
            # the store doing its job, not a failure of the server.
            if r.status_code in (200, 409):
                r.success()


class RulesAsker(FastHttpUser):
    """Someone at the table asking the rulebook a question, reading the answer, asking again."""

    wait_time = between(2, 6)
    fixed_count = 20
    network_timeout = 300.0  # an answer takes seconds; queued behind 19 others, minutes

    @task
    def ask(self) -> None:
        game = os.environ.get("LIFEOS_LOAD_GAME", "Hearts")
        self.client.post(
            "/api/v1/rules/ask",
            json={"question": random.choice(QUESTIONS), "game": game},
            name="rules ask",
        )


class BatchStarter(FastHttpUser):
    """Someone making small image batches and waiting for each (a Dagster run in the API)."""

    wait_time = between(5, 15)
    fixed_count = 5
    network_timeout = 300.0

    @task
    def batch(self) -> None:
        body = {
            "count": 2,
            "width": 64,
            "height": 64,
            "steps": 2,
            "seed": random.randrange(1_000_000),
            "compose": {"text": "a quiet harbor at dawn", "polish": False},
        }
        self.client.post("/api/v1/images/batches?wait=true", json=body, name="image batch")


def summary(environment: Environment) -> dict[str, Any]:
    """Per request name and in total: requests, failures, req/s, p50/p95/p99 (ms)."""
    stats = environment.stats
    rows: dict[str, Any] = {}
    for entry in [*stats.entries.values(), stats.total]:
        if not entry.num_requests:
            continue
        rows[entry.name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": entry.total_rps,
            "p50": entry.get_response_time_percentile(0.50),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
        }
    errors = [
        {"name": e.name, "error": str(e.error)[:200], "count": e.occurrences}
        for e in stats.errors.values()
    ]
    shape = environment.shape_class
    return {
        "requests": rows,
        "errors": errors[:20],
        "steps": getattr(shape, "steps", []),
        "knee": getattr(shape, "knee", None),
        "broke": getattr(shape, "broke", None),
    }


@events.quitting.add_listener
def record(environment: Environment, **_: Any) -> None:
    out = os.environ.get("LIFEOS_LOAD_OUT")
    if out:
        Path(out).write_text(json.dumps(summary(environment), indent=1))
