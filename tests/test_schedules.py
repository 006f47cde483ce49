"""Scheduled generations: save-time checks, sensor evaluation with frozen time (due, not due,
missed ticks, paused, skip-if-running), weighted draws, budgets, outcomes after a daemon
restart, the Dagster sensor, CLI and API."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from lifeos.db.engine import session_scope
from lifeos.db.models import ScheduleTick, utcnow
from lifeos.errors import BadRequest, NotFound, ValidationFailed
from lifeos.llm.router import Router
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.images.kinds import ImageBatchSpace
from plugins.images.resources.generators import ImageGenerator
from plugins.images.tools.batches import ImageBatches
from plugins.images.tools.schedules import Schedules, next_runs

SMALL = {"width": 64, "height": 64, "steps": 2}
DAY = datetime(2030, 3, 4, tzinfo=UTC)  # far enough ahead of every entity's updated_at


@pytest.fixture
def env(settings: Settings):  # noqa: ANN201
    router = Router(database_url=settings.database_url)
    service = Schedules(ImageBatches(settings, router, ImageGenerator()))
    with session_scope(settings.database_url) as session:
        store = EntityStore(session)
        chars = [
            store.create("character", {"name": f"hero {i}", "favorite": i < 2, "tags": ["hero"]}).id
            for i in range(6)
        ]
    return service, chars


def make(service: Schedules, *, since: datetime | None = DAY, **data) -> str:  # noqa: ANN003
    """A schedule whose last tick was at `since` (the frozen clock's starting point)."""
    base = {
        "cron": "0 7 * * *",
        "timezone": "Europe/Berlin",
        "params": {"slots": [{"kind": "character", "tags": ["hero"]}], **SMALL, "count": 2},
    }
    with session_scope(service.url) as session:
        sid = EntityStore(session).create("schedule", {"name": "morning", "data": base | data}).id
        if since is not None:
            session.add(
                ScheduleTick(
                    id=str(uuid.uuid4()),
                    schedule_id=sid,
                    tick_at=since,
                    created_at=since,
                    updated_at=since,
                    status="succeeded",
                    reason="baseline",
                    manual=False,
                    params={},
                    images=0,
                    cost_usd=0.0,
                    duration_s=0.0,
                )
            )
    return sid


def ticks(service: Schedules, schedule_id: str) -> list[dict]:
    return service.history(schedule_id)


def test_bad_schedules_are_refused_at_save_time(env) -> None:  # noqa: ANN001
    service, _ = env
    with session_scope(service.url) as session:
        store = EntityStore(session)
        for data, message in (
            ({"cron": "every morning"}, "cron"),
            ({"cron": "0 7 * * *", "timezone": "Mars/Olympus"}, "time zone"),
            ({"cron": "0 7 * * *", "per_run": {"max_images": 0}}, "greater than 0"),
            ({"cron": "0 7 * * *", "per_day": {"max_cost_usd": -1}}, "greater than 0"),
            ({"cron": "0 7 * * *", "params": {"slots": [{"kind": "dragon"}]}}, "unknown kind"),
            ({"cron": "0 7 * * *", "params": {"width": 100}}, "multiple of 8"),
        ):
            with pytest.raises(ValidationFailed, match=message):
                store.create("schedule", {"name": "bad", "data": data})
        with pytest.raises(BadRequest, match="no character with tags villain"):
            service.check_space(
                store,
                ImageBatchSpace.model_validate(
                    {"slots": [{"kind": "character", "tags": ["villain"]}]}
                ),
            )
        with pytest.raises(NotFound, match="unknown style"):
            service.check_space(store, ImageBatchSpace.model_validate({"styles": ["nope"]}))


def test_cron_helper_gives_the_next_times_in_the_zone() -> None:
    times = next_runs("30 6 * * 1-5", "America/New_York", after=DAY, n=5)
    assert [t.weekday() for t in times] == [0, 1, 2, 3, 4] or len(times) == 5
    assert all(t.hour == 6 and t.minute == 30 for t in times)
    assert times[0].utcoffset() == timedelta(hours=-5)
    with pytest.raises(BadRequest):
        next_runs("61 * * * *", "UTC")


def test_due_not_due_missed_and_paused(env) -> None:  # noqa: ANN001
    service, _ = env
    sid = make(service)
    # 07:00 in Berlin is 06:00 UTC in March.
    assert service.evaluate(DAY + timedelta(hours=5, minutes=59)) == []  # not yet due...
    due = service.evaluate(DAY + timedelta(hours=6, minutes=1))  # ...now it is
    assert len(due) == 1 and due[0].tick_at == DAY + timedelta(hours=6)
    assert service.evaluate(DAY + timedelta(hours=6, minutes=2)) == []  # once per tick
    service.images.run(due[0].batch_id)
    assert len(service.reconcile()) == 1
    # The daemon was down for three days: one run, for the latest time, not three.
    later = service.evaluate(DAY + timedelta(days=3, hours=7))
    assert len(later) == 1 and later[0].tick_at == DAY + timedelta(days=3, hours=6)
    history = ticks(service, sid)
    assert "2 missed ticks folded into this one" in history[0]["reason"]
    assert history[-1]["reason"] == "baseline"
    assert history[1]["status"] == "succeeded" and history[1]["images"] == 2
    # Paused: nothing, however late.
    with session_scope(service.url) as session:
        EntityStore(session).update("schedule", sid, {"data": {"enabled": False}})
    assert service.evaluate(DAY + timedelta(days=9)) == []


def test_a_tick_while_the_last_run_goes_is_skipped(env) -> None:  # noqa: ANN001
    service, _ = env
    sid = make(service, cron="*/10 * * * *")
    first = service.evaluate(DAY + timedelta(minutes=11))
    assert len(first) == 1  # requested, its run not finished
    assert service.evaluate(DAY + timedelta(minutes=21)) == []
    assert [t["status"] for t in ticks(service, sid)][:2] == ["skipped", "requested"]
    assert ticks(service, sid)[0]["reason"] == "the previous run is still going"


def test_favorites_are_drawn_more_and_recent_ones_less(env) -> None:  # noqa: ANN001
    service, chars = env
    space = ImageBatchSpace.model_validate(
        {"slots": [{"kind": "character", "tags": ["hero"]}], "weights": {"favorite": 3.0}}
    )
    rng = random.Random(7)
    drawn = Counter(
        service.draw("s", space, rng, DAY)["compose"]["entity_ids"][0] for _ in range(1600)
    )
    favorite_rate = (drawn[chars[0]] + drawn[chars[1]]) / 2
    plain_rate = sum(drawn[c] for c in chars[2:]) / 4
    assert 2.3 < favorite_rate / plain_rate < 3.8  # weight 3, within sampling noise
    # Picture hero 0 today: it is drawn a quarter as often for a week.
    batch = service.images.create({"compose": {"entity_ids": [chars[0]]}, "count": 1, **SMALL})
    service.images.run(batch["id"])
    rng = random.Random(7)
    after = Counter(
        service.draw("s", space, rng, utcnow())["compose"]["entity_ids"][0] for _ in range(1600)
    )
    assert after[chars[0]] < 0.5 * drawn[chars[0]]


def test_budgets_cap_runs_and_days_and_stop_long_runs(env) -> None:  # noqa: ANN001
    service, _ = env
    sid = make(
        service,
        cron="0 * * * *",
        params={"slots": [{"kind": "character", "tags": ["hero"]}], "count": 4, **SMALL},
        per_run={"max_images": 2},
        per_day={"max_images": 3},
    )
    day = DAY + timedelta(hours=8)
    first = service.evaluate(day + timedelta(minutes=1))[0]
    assert service.images.get(first.batch_id)["count"] == 2  # per run
    service.images.run(first.batch_id)
    service.reconcile()
    second = service.evaluate(day + timedelta(hours=1, minutes=1))[0]
    assert service.images.get(second.batch_id)["count"] == 1  # 3 a day, 2 made
    service.images.run(second.batch_id)
    service.reconcile()
    assert service.evaluate(day + timedelta(hours=2, minutes=1)) == []
    assert ticks(service, sid)[0]["reason"] == "daily budget reached"
    assert any("daily budget" in n["title"] for n in service.notifications())
    # A duration budget stops a run cleanly between images and keeps what it made.
    batch = service.images.create(
        {"compose": {"text": "x"}, "count": 6, "max_duration_s": 0.1, **SMALL | {"steps": 20}}
    )
    done = service.images.run(batch["id"])
    assert done["status"] == "partial" and 1 <= done["done"] < 6
    assert "max duration" in done["error"]


def test_a_deleted_template_fails_the_tick_and_keeps_the_schedule(env) -> None:  # noqa: ANN001
    service, chars = env
    sid = make(service, params={"slots": [{"kind": "character", "ids": [chars[3]]}], **SMALL})
    with session_scope(service.url) as session:
        EntityStore(session).delete("character", chars[3])
    assert service.evaluate(DAY + timedelta(hours=7)) == []
    last = ticks(service, sid)[0]
    assert last["status"] == "failed" and chars[3] in last["reason"]
    with session_scope(service.url) as session:
        assert EntityStore(session).get("schedule", sid)
    assert service.unread() == 1 and service.mark_read() == 1 and service.unread() == 0


def test_a_run_killed_with_the_daemon_fails_its_tick_and_the_next_proceeds(env) -> None:  # noqa: ANN001
    service, _ = env
    sid = make(service, cron="*/10 * * * *")
    due = service.evaluate(DAY + timedelta(minutes=11))[0]
    assert service.reconcile() == []  # still running: nothing to settle
    assert len(service.reconcile({due.tick_id: "FAILURE"})) == 1
    last = ticks(service, sid)[0]
    assert last["status"] == "failed" and "FAILURE" in last["reason"]
    assert service.images.get(due.batch_id)["status"] == "failed"
    assert len(service.evaluate(DAY + timedelta(minutes=21))) == 1  # not skipped


def test_the_sensor_requests_runs_with_tick_tags(env, settings: Settings) -> None:  # noqa: ANN001
    from plugins.images.assets.schedules import schedules_sensor
    from resources.workbench import WorkbenchResource

    service, _ = env
    sid = make(service, cron="* * * * *", since=utcnow() - timedelta(minutes=5))
    workbench = WorkbenchResource(home=str(settings.home), database_url=settings.database_url)
    with dg.instance_for_test() as instance:
        result = schedules_sensor(
            dg.build_sensor_context(instance=instance), workbench=workbench, images=ImageGenerator()
        )
    assert isinstance(result, dg.SensorResult) and result.run_requests is not None
    (request,) = result.run_requests
    assert request.tags["lifeos/schedule"] == sid and request.tags["lifeos/tick"]
    assert ticks(service, sid)[0]["batch_id"] == request.partition_key


def test_a_day_made_again_keeps_its_draws_and_fills_the_missed_times(env) -> None:  # noqa: ANN001
    from lifeos.schedules import tick_rng

    service, _ = env
    sid = make(service, cron="0 7,19 * * *", since=DAY - timedelta(days=1))
    # 07:00 in Berlin ticked; the daemon was down at 19:00.
    (due,) = service.evaluate(DAY + timedelta(hours=6, minutes=1))
    service.images.run(due.batch_id)
    service.reconcile()
    first = service.images.get(due.batch_id)
    later = DAY + timedelta(days=2)
    settled = service.regenerate(sid, DAY.date(), now=later, run_id="run-1")
    assert [s.status for s in settled] == ["succeeded", "succeeded"]
    assert {s.day for s in settled} == {DAY.date()}
    again = [service.images.get(s.batch_id) for s in settled if s.batch_id]
    assert again[0]["id"] != first["id"] and again[0]["request"] == first["request"]
    assert all(b["done"] == 2 for b in again) and all(len(s.image_ids) == 2 for s in settled)
    # 19:00 had no tick: the draw is the one the sensor would have made then.
    evening = DAY + timedelta(hours=18)
    space = ImageBatchSpace.model_validate(
        {"slots": [{"kind": "character", "tags": ["hero"]}], **SMALL, "count": 2}
    )
    expected = service.draw(sid, space, tick_rng(sid, evening, False), evening)
    made = again[1]["request"]["compose"]
    assert {k: made[k] for k in expected["compose"]} == expected["compose"]
    assert again[1]["request"]["seed"] == expected["seed"]
    reasons = [t["reason"] for t in ticks(service, sid)[:2]]
    assert reasons == ["made later: this time had no tick", "regenerated by run run-1"]
    # A retry of the same run makes nothing twice; another run makes the day again.
    assert service.regenerate(sid, DAY.date(), now=later, run_id="run-1") == []
    assert len(service.regenerate(sid, DAY.date(), now=later, run_id="run-2")) == 2
    # Times still to come are not made; a minutely cron is refused by the day.
    assert service.regenerate(sid, DAY.date(), now=DAY, run_id="run-3") == []
    minutely = make(service, cron="* * * * *")
    with pytest.raises(BadRequest, match="more than 96 times a day"):
        service.regenerate(minutely, DAY.date(), now=later)


def test_a_schedule_s_days_are_partitions_made_by_the_sensor_and_by_backfills(
    env,  # noqa: ANN001
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipelines.backfills import Backfills, Narrow
    from pipelines.definitions import current_definitions
    from plugins.images.assets.schedules import schedules_sensor
    from resources.workbench import WorkbenchResource

    service, _ = env
    sid = make(service, cron="0 * * * *", since=utcnow() - timedelta(minutes=90))
    workbench = WorkbenchResource(home=str(settings.home), database_url=settings.database_url)
    backfills = Backfills(settings)
    with backfills._instance() as instance:
        first = schedules_sensor(
            dg.build_sensor_context(instance=instance), workbench=workbench, images=ImageGenerator()
        )
        assert isinstance(first, dg.SensorResult) and first.run_requests
        # The schedule became a partition; its tick's batch runs, and the next evaluation
        # records that day's outputs as the partition's materialization.
        added = [
            r
            for r in first.dynamic_partitions_requests or []
            if r.partitions_def_name == "image_schedules"
        ]
        assert added and sid in added[0].partition_keys
        instance.add_dynamic_partitions("image_schedules", [sid])
        service.images.run(first.run_requests[0].partition_key)
        second = schedules_sensor(
            dg.build_sensor_context(instance=instance), workbench=workbench, images=ImageGenerator()
        )
        assert isinstance(second, dg.SensorResult)
        (event,) = [
            e for e in second.asset_events if e.asset_key.to_user_string() == "scheduled_images"
        ]
        day = str(event.partition).split("|")[0]
        assert event.partition == f"{day}|{sid}" and event.metadata["images"].value == 2
        instance.report_runless_asset_event(event)  # what the daemon does with it
        # A day with no outputs is made by a run of its partition: its cron times again.
        past = "2026-06-01"
        job = current_definitions(settings).resolve_job_def("scheduled_images_job")
        result = job.execute_in_process(
            partition_key=dg.MultiPartitionKey({"date": past, "schedule": sid}),
            instance=instance,
        )
        assert result.success
        (mat,) = result.asset_materializations_for_node("scheduled_images")
        assert mat.metadata["ticks"].value == 24 and mat.metadata["images"].value == 48
    # The backfill's choice narrows to the schedule and the days asked for.
    narrow = Narrow.of("2026-05-31", "2026-06-02", [f"schedule={sid}"])
    assert backfills.partitions("scheduled_images", narrow) == [
        f"2026-05-31|{sid}",
        f"2026-06-01|{sid}",
        f"2026-06-02|{sid}",
    ]
    assert set(backfills.stale("scheduled_images", narrow)) == {
        f"2026-05-31|{sid}",
        f"2026-06-02|{sid}",
    }
    # The CLI and the API narrow the same way.
    from fastapi.testclient import TestClient

    from apps.api.app import create_app
    from apps.cli import main

    args = ["--since", "2026-05-31", "--until", "2026-06-02", "--where", f"schedule={sid}"]
    assert main(["pipelines", "stale", "scheduled_images", *args, "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {f"2026-05-31|{sid}", f"2026-06-02|{sid}"}
    with TestClient(create_app(settings)) as client:
        stale = client.get(
            "/api/v1/pipelines/assets/scheduled_images/stale",
            params={"since": "2026-06-02", "where": f"schedule={sid}", "until": "2026-06-02"},
        )
        assert stale.json() == {f"2026-06-02|{sid}": "missing"}
        made = client.post(
            "/api/v1/pipelines/backfills",
            json={
                "asset": "scheduled_images",
                "stale": True,
                "since": "2026-05-31",
                "until": "2026-06-02",
                "where": {"schedule": sid},
            },
        )
        assert made.status_code == 201, made.text
        assert made.json()["partitions"] == [f"2026-05-31|{sid}", f"2026-06-02|{sid}"]
        bad = client.get(
            "/api/v1/pipelines/assets/scheduled_images/stale", params={"where": "schedule"}
        )
        assert bad.status_code == 400 and "DIMENSION=VALUE" in bad.text
    today = Narrow.of(day, day, [f"schedule={sid}"])
    assert backfills.stale("scheduled_images", today) == {}  # the sensor's day is made
    with pytest.raises(BadRequest, match="no dimension nope"):
        backfills.partitions("scheduled_images", Narrow.of(where=["nope=1"]))
    with pytest.raises(BadRequest, match="not a date"):
        Narrow.of("June")
    with pytest.raises(BadRequest, match="not partitioned by day"):
        backfills.partitions("image_batches", Narrow.of("2026-06-01"))
    with pytest.raises(BadRequest, match="not both"):
        backfills.launch("scheduled_images", partitions=[f"2026-06-01|{sid}"], narrow=narrow)


def test_cli_and_api(
    env, settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from apps.api.app import create_app
    from apps.cli import main

    service, _ = env
    space = json.dumps({"slots": [{"kind": "character", "tags": ["hero"]}], "count": 1, **SMALL})
    assert (
        main(["schedules", "add", "nightly", "--cron", "0 2 * * *", "--params", space, "--json"])
        == 0
    )
    sid = json.loads(capsys.readouterr().out)["id"]
    assert (
        main(
            [
                "schedules",
                "add",
                "bad",
                "--cron",
                "0 2 * * *",
                "--params",
                json.dumps({"slots": [{"kind": "character", "tags": ["villain"]}]}),
            ]
        )
        == 1
    )
    assert "no character with tags villain" in capsys.readouterr().err
    assert main(["schedules", "pause", sid, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["enabled"] is False
    assert main(["schedules", "run-now", sid, "--wait", "--json"]) == 0
    tick = json.loads(capsys.readouterr().out)
    assert tick["status"] == "succeeded" and tick["images"] == 1 and tick["manual"]
    with TestClient(create_app(settings, studio=False)) as client:
        listed = client.get("/api/v1/schedules").json()
        assert listed[0]["id"] == sid and len(listed[0]["next_runs"]) == 5
        assert client.post(f"/api/v1/schedules/{sid}/resume").json()["data"]["enabled"]
        bad = client.post("/api/v1/schedules", json={"name": "x", "data": {"cron": "nope"}})
        assert bad.status_code == 422
        queued = client.post(f"/api/v1/schedules/{sid}/run-now").json()
        assert queued["status"] == "requested"
        assert service.images.get(queued["batch_id"])["status"] == "queued"
        assert len(client.get(f"/api/v1/schedules/{sid}/history").json()) == 2
        notes = client.get("/api/v1/notifications").json()
        assert notes["unread"] >= 1
    with session_scope(service.url) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ScheduleTick)) == 2
    assert len(ticks(service, sid)) == 2
