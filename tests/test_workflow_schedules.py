"""Schedules that run any workflow: save-time checks against the workflow, drawn inputs
(listed values, an input's choices, an entity input's kind with favourites weighted), the
day's budget and the per-run budget enforced in the run, the sensor's run requests, ticks
settled from real Dagster runs, the API and CLI, and the daemon firing a schedule."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from apps.api.app import create_app
from apps.cli import main
from apps.cli.up import service_env
from lifeos.dagster_home import write_dagster_yaml
from lifeos.db.engine import session_scope
from lifeos.db.models import ScheduleTick
from lifeos.errors import BadRequest, NotFound, ValidationFailed
from lifeos.ledger import Ledger
from lifeos.schedules import tick_rng
from lifeos.settings import Settings
from lifeos.store import EntityStore
from lifeos.workflows.engine import WorkflowInputError
from pipelines.definitions import build_definitions
from pipelines.workflow_runs import WorkflowService
from pipelines.workflow_schedules import KIND, TICK_TAG, WorkflowSchedules
from pipelines.workflows import BUDGET_TAGS, STOPPED_TAG

ROOT = Path(__file__).resolve().parents[1]
DAY = datetime(2030, 3, 4, tzinfo=UTC)  # far enough ahead of every entity's updated_at
PICK = """\
workflow: sched_pick
inputs:
  who: {type: entity, kind: character, required: true}
  mood: {type: string, default: calm, choices: [calm, bold, sly]}
  count: {type: integer, default: 1, minimum: 1, maximum: 3}
steps:
  - id: pick
    uses: library_pick
    with: {kind: character, ids: ['${{ inputs.who }}']}
result:
  name: ${{ steps.pick.output.names[0] }}
  mood: ${{ inputs.mood }}
"""


@pytest.fixture
def service(settings: Settings) -> WorkflowService:
    service = WorkflowService(settings)
    service.save(PICK, reload=False)
    return service


@pytest.fixture
def heroes(settings: Settings) -> list[str]:
    with session_scope(settings.database_url) as session:
        store = EntityStore(session)
        return [
            store.create("character", {"name": f"hero {i}", "favorite": i == 0}).id
            for i in range(4)
        ]


def make(service: WorkflowService, *, since: datetime | None = DAY, **data: Any) -> str:
    """A schedule whose last tick was at `since` (the frozen clock's starting point)."""
    body = {"cron": "0 7 * * *", "timezone": "Europe/Berlin", "draw": {"who": None}} | data
    sid = service.schedule("sched_pick", body, schedule_name="morning pick").id
    if since is not None:
        with session_scope(service.settings.database_url) as session:
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
                )
            )
    return sid


def test_schedules_are_checked_against_their_workflow(
    service: WorkflowService, heroes: list[str]
) -> None:
    base = {"cron": "0 7 * * *"}
    with pytest.raises(NotFound, match="no valid workflow named 'gone'"):
        service.schedule("gone", base)
    with pytest.raises(BadRequest, match="`colour` is not an input"):
        service.schedule("sched_pick", base | {"draw": {"colour": ["red"]}})
    with pytest.raises(BadRequest, match="`count` has no `choices`"):
        service.schedule("sched_pick", base | {"draw": {"who": None, "count": None}})
    with pytest.raises(WorkflowInputError, match="input `count`"):
        service.schedule("sched_pick", base | {"draw": {"who": None, "count": [1, "many"]}})
    with pytest.raises(WorkflowInputError, match="input `who` is required"):
        service.schedule("sched_pick", base)
    with pytest.raises(BadRequest, match="both fixed and drawn: who"):
        service.schedule("sched_pick", base | {"inputs": {"who": heroes[0]}, "draw": {"who": None}})
    with pytest.raises(ValidationFailed):
        service.schedule("sched_pick", {"cron": "61 * * * *", "draw": {"who": None}})
    with pytest.raises(ValidationFailed):
        service.schedule("sched_pick", base | {"timezone": "Mars/Olympus", "draw": {"who": None}})


def test_due_ticks_draw_their_inputs_the_same_way_each_time(
    service: WorkflowService, heroes: list[str]
) -> None:
    sid = make(service, draw={"who": None, "mood": None, "count": [2, 3]})
    ticks = service.ticks()
    assert ticks.evaluate(DAY + timedelta(hours=5)) == []  # 07:00 Berlin is 06:00 UTC
    (due,) = ticks.evaluate(DAY + timedelta(hours=6, minutes=1))
    assert due.schedule_id == sid and due.workflow == "sched_pick"
    assert due.inputs["who"] in heroes and due.inputs["mood"] in ("calm", "bold", "sly")
    assert due.inputs["count"] in (2, 3)
    request = due.run_request()
    assert request.job_name == "workflow__sched_pick"
    assert request.tags[TICK_TAG] == due.tick_id
    assert request.run_config["ops"]["inputs"]["config"]["values"] == due.inputs
    # The same tick draws the same inputs in whichever process evaluates it.
    schedule = _entity(service, sid)
    again = ticks.draw(service.workflow("sched_pick"), schedule, tick_rng(sid, due.tick_at, False))
    assert again == due.inputs
    # Missed days fold into one tick; the one in flight makes the next skip.
    assert ticks.evaluate(DAY + timedelta(days=3, hours=7)) == []
    history = service.schedule_history(sid)
    assert history[0]["status"] == "skipped" and "still going" in history[0]["reason"]


def test_favourites_are_drawn_more_often(service: WorkflowService, heroes: list[str]) -> None:
    sid = make(service, since=None)
    ticks, wf, schedule = service.ticks(), service.workflow("sched_pick"), _entity(service, sid)
    drawn = Counter(
        ticks.draw(wf, schedule, tick_rng(sid, DAY + timedelta(minutes=i), False))["who"]
        for i in range(600)
    )
    # Weights 3:1:1:1, so the favourite is drawn about half the time.
    assert 0.4 < drawn[heroes[0]] / 600 < 0.6
    assert all(drawn[h] > 60 for h in heroes[1:])


def test_the_day_budget_skips_ticks_and_notifies(
    service: WorkflowService, heroes: list[str]
) -> None:
    sid = make(
        service,
        since=DAY - timedelta(hours=1),
        max_runs_per_day=1,
        cron="0 * * * *",
        timezone="UTC",
    )
    ticks = service.ticks()
    (first,) = ticks.evaluate(DAY + timedelta(hours=1))
    ticks._settle(first.tick_id, status="succeeded")
    assert ticks.evaluate(DAY + timedelta(hours=2)) == []
    last = ticks.history(sid)[0]
    assert last["status"] == "skipped" and "1 runs today (at most 1)" in last["reason"]
    assert ticks.notifications()[0]["title"] == "morning pick: daily budget reached"
    # A new day in the schedule's zone: it runs again.
    assert len(ticks.evaluate(DAY + timedelta(days=1, hours=1))) == 1


def test_sensor_requests_runs_and_ticks_settle_from_the_runs(
    service: WorkflowService, heroes: list[str], settings: Settings
) -> None:
    sid = make(service, since=None, cron="* * * * *", timezone="UTC", max_cost_usd=0.25)
    _last_ticked(settings, sid, minutes_ago=3)  # due at once
    defs = build_definitions(settings=settings)
    sensor = defs.resolve_sensor_def("workflow_schedules")
    with service._instance() as instance:
        result = sensor(
            dg.build_sensor_context(instance=instance, definitions=defs),
            workbench=_workbench(settings),
        )
        assert isinstance(result, dg.SensorResult) and result.run_requests
        (request,) = result.run_requests
        assert request.tags[BUDGET_TAGS["max_cost_usd"]] == "0.25"
        job = service.job("sched_pick")
        run = job.execute_in_process(
            run_config=request.run_config, instance=instance, tags=request.tags
        )
        assert run.success
        assert ticks_settled(service, instance) == 1
    (tick, _) = service.schedule_history(sid)
    assert tick["status"] == "succeeded" and tick["run_id"] == run.run_id
    assert tick["duration_s"] >= 0 and tick["params"]["who"] in heroes
    listed = service.schedules("sched_pick")
    assert listed[0]["id"] == sid and listed[0]["valid"] and len(listed[0]["next_runs"]) == 3


def test_the_per_run_budget_stops_the_run_and_fails_the_tick(
    service: WorkflowService, heroes: list[str], settings: Settings
) -> None:
    sid = make(service, since=None, max_duration_s=1)
    due = service.ticks().manual(sid)
    assert due is not None and due.tags[BUDGET_TAGS["max_duration_s"]] == "1.0"
    due.tags[BUDGET_TAGS["max_duration_s"]] = "0.000001"  # spent before the first step ends
    run_id = service.start(due.workflow, due.inputs, source="manual", wait=True, tags=due.tags)
    run = service.run(run_id)
    assert run["status"] == "failure" and run["stopped"].startswith("budget: ran")
    tick = service.schedule_history(sid)[0]
    assert tick["status"] == "failed" and tick["reason"].startswith("budget: ran")
    assert Ledger(settings.database_url).spent(run_id=run_id) == tick["cost_usd"]


def test_a_schedule_of_a_workflow_gone_invalid_fails_its_tick(
    service: WorkflowService, heroes: list[str], settings: Settings
) -> None:
    sid = make(service)
    service.delete("sched_pick")
    assert service.ticks().evaluate(DAY + timedelta(days=1)) == []
    tick = service.schedule_history(sid)[0]
    assert tick["status"] == "failed" and "no valid workflow named 'sched_pick'" in tick["reason"]
    assert not service.schedules()[0]["valid"]


def test_api_and_cli_schedule_and_run_now(
    service: WorkflowService,
    heroes: list[str],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        bad = client.post(
            "/api/v1/workflows/sched_pick/schedules",
            json={"cron": "0 7 * * *", "draw": {"nope": None}},
        )
        assert bad.status_code == 400 and "`nope` is not an input" in bad.text
        made = client.post(
            "/api/v1/workflows/sched_pick/schedules",
            json={"cron": "0 7 * * *", "draw": {"who": None, "mood": ["sly"]}, "enabled": False},
        )
        assert made.status_code == 201, made.text
        sid = made.json()["id"]
        now = client.post(f"/api/v1/workflows/schedules/{sid}/run")
        assert now.status_code == 201 and now.json()["inputs"]["mood"] == "sly"
        app.state.workflows.wait(60)
        run = client.get(f"/api/v1/workflows/runs/{now.json()['run_id']}").json()
        assert run["status"] == "success" and run["result"]["mood"] == "sly"
        ticks = client.get(f"/api/v1/workflows/schedules/{sid}/ticks").json()
        assert ticks[0]["status"] == "succeeded" and ticks[0]["manual"]
        assert client.get("/api/v1/workflows/schedules").json()[0]["id"] == sid
    assert (
        main(
            [
                "workflows",
                "schedule",
                "sched_pick",
                "--cron",
                "30 8 * * 1",
                "--draw",
                "who",
                "--draw",
                "mood=calm,bold",
                "--json",
            ]
        )  # fmt: skip
        == 0
    )
    text = capsys.readouterr().out
    made = json.loads(text[text.index("{") :])
    assert made["data"]["draw"] == {"who": None, "mood": ["calm", "bold"]}
    assert main(["workflows", "schedules", "sched_pick"]) == 0
    assert "30 8 * * 1" in capsys.readouterr().out


@pytest.mark.slow
def test_the_daemon_fires_a_schedule_and_its_run_settles_the_tick(
    service: WorkflowService, heroes: list[str], settings: Settings, tmp_path: Path
) -> None:
    sid = make(service, since=None, cron="* * * * *", timezone="UTC", draw={"who": None})
    _last_ticked(settings, sid, minutes_ago=2)
    write_dagster_yaml(settings)
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=ROOT,
            env=service_env(settings) | {"LIFEOS_PRELOAD_MODELS": "[]"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 240
        tick = service.schedule_history(sid)[0]
        while time.monotonic() < deadline and daemon.poll() is None:
            tick = service.schedule_history(sid)[0]  # the latest
            if tick["status"] in ("succeeded", "failed") and tick["run_id"]:
                break
            time.sleep(3)
        assert tick.get("status") == "succeeded", (tick, log.read_text()[-3000:])
    finally:
        daemon.terminate()
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
    with service._instance() as instance:
        run = instance.get_run_by_id(tick["run_id"])
        assert run is not None and run.tags["lifeos/source"] == "schedule"
        assert run.job_name == "workflow__sched_pick" and STOPPED_TAG not in run.tags
    assert tick["params"]["who"] in heroes


# ---- helpers -----------------------------------------------------------------------------------


def _last_ticked(settings: Settings, sid: str, *, minutes_ago: int) -> None:
    """The schedule's last tick, that long ago (a per-minute cron is then due at once)."""
    now = datetime.now(UTC)
    with session_scope(settings.database_url) as session:
        session.add(
            ScheduleTick(
                id=str(uuid.uuid4()),
                schedule_id=sid,
                tick_at=now - timedelta(minutes=minutes_ago),
                created_at=now,
                updated_at=now,
                status="succeeded",
                params={},
            )
        )


def _entity(service: WorkflowService, sid: str) -> Any:
    with session_scope(service.settings.database_url) as session:
        return EntityStore(session).get(KIND, sid)


def _workbench(settings: Settings) -> Any:
    from resources.workbench import WorkbenchResource

    return WorkbenchResource(database_url=settings.database_url, home=str(settings.home))


def ticks_settled(service: WorkflowService, instance: dg.DagsterInstance) -> int:
    return WorkflowSchedules(service.settings.database_url, service.valid()).reconcile(
        instance, service.cost
    )
