"""Schedules: the sensor's evaluation time with 1,000 schedules in the library (goal < 1 s),
with none due and with 10 due, and the time to draw one parameter set (weighted slots over a
library of 2,000 characters).

    .venv/bin/python benchmarks/schedules.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402
from lifeos.db import migrate  # noqa: E402
from lifeos.db.engine import session_scope  # noqa: E402
from lifeos.db.models import ScheduleTick  # noqa: E402
from lifeos.llm.router import Router  # noqa: E402
from lifeos.settings import Settings  # noqa: E402
from lifeos.store import EntityStore  # noqa: E402
from plugins.images.kinds import ImageBatchSpace  # noqa: E402
from plugins.images.resources.generators import ImageGenerator  # noqa: E402
from plugins.images.tools.batches import ImageBatches  # noqa: E402
from plugins.images.tools.schedules import Schedules  # noqa: E402

N_SCHEDULES = 1_000
DRAW_POOL = "1,000 + 200 candidates of 2,000 characters"


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp))
        os.environ["LIFEOS_HOME"] = tmp
        migrate.upgrade(settings.database_url)
        service = Schedules(
            ImageBatches(settings, Router(database_url=settings.database_url), ImageGenerator())
        )
        now = datetime.now(UTC)
        with session_scope(settings.database_url) as session:
            store = EntityStore(session)
            for i in range(2_000):
                store.create(
                    "character",
                    {
                        "name": f"hero {i}",
                        "favorite": i % 10 == 0,
                        "tags": ["hero"] if i % 2 else [],
                    },
                )
            for i in range(N_SCHEDULES):
                sid = store.create(
                    "schedule",
                    {
                        "name": f"schedule {i}",
                        "data": {
                            "cron": f"{i % 60} * * * *",
                            "timezone": ["UTC", "Europe/Berlin", "Asia/Tokyo"][i % 3],
                            "params": {
                                "slots": [{"kind": "character", "tags": ["hero"]}],
                                "count": 1,
                                "width": 64,
                                "height": 64,
                                "steps": 1,
                            },
                        },
                    },
                ).id
                # Ten of them last ran two hours ago (due); the rest just now (not due).
                last = now - timedelta(hours=2) if i < 10 else now
                session.add(
                    ScheduleTick(
                        id=str(uuid.uuid4()),
                        schedule_id=sid,
                        tick_at=last,
                        created_at=last,
                        updated_at=last,
                        status="succeeded",
                        reason="",
                        manual=False,
                        params={},
                        images=0,
                        cost_usd=0.0,
                        duration_s=0.0,
                    )
                )
        service.images.composer.run({"text": "warm-up"})  # CLIP tokenizer loaded once
        t0 = time.perf_counter()
        due = service.evaluate(now)
        with_due = time.perf_counter() - t0
        quiet = []
        for _ in range(3):
            t0 = time.perf_counter()
            assert service.evaluate(now) == []
            quiet.append(time.perf_counter() - t0)
        space = ImageBatchSpace.model_validate(
            {
                "slots": [
                    {"kind": "character", "tags": ["hero"]},
                    {"kind": "character", "favorites_only": True},
                ]
            }
        )
        rng = random.Random(1)
        draws = []
        for _ in range(20):
            t0 = time.perf_counter()
            service.draw("bench", space, rng, now)
            draws.append(time.perf_counter() - t0)
    quiet_ms, due_ms = statistics.median(quiet) * 1000, with_due * 1000
    draw_ms = statistics.median(draws) * 1000
    body = f"""## Schedules (`benchmarks/schedules.py`)

| measure | result | goal |
|---|---|---|
| sensor evaluation, {N_SCHEDULES:,} schedules, none due | {quiet_ms:.0f} ms | < 1 s |
| sensor check, {N_SCHEDULES:,} schedules, {len(due)} due (+ draws) | {due_ms:.0f} ms | < 1 s |
| one parameter draw (2 weighted slots, {DRAW_POOL}) | {draw_ms:.1f} ms | |
"""
    print(body)
    write_section("schedules", body)


if __name__ == "__main__":
    main()
