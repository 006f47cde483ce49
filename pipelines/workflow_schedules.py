"""Schedules that run any workflow (`workflow_schedule` entities): at each cron time the
sensor draws the inputs (from listed values, an input's `choices`, or the library's entities
of an `entity` input's kind, favourites first), checks the day's budget, and requests a run of
the workflow's job with the per-run budget in its tags; later ticks settle the earlier ones
from their Dagster runs (status, cost from the ledger, duration)."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import sqlalchemy as sa

from lifeos.db.engine import session_scope
from lifeos.db.models import ScheduleTick
from lifeos.errors import BadRequest, LifeOSError, NotFound
from lifeos.ledger import Ledger
from lifeos.schedules import Ticks, tick_rng
from lifeos.schemas import EntityOut
from lifeos.store import EntityStore
from lifeos.workflows import Workflow
from lifeos.workflows.dsl import InputSpec
from lifeos.workflows.engine import coerce_inputs
from pipelines.workflows import BUDGET_TAGS, TAG, job_name, run_config
from resources.workbench import WorkbenchResource

KIND = "workflow_schedule"
TICK_TAG = "lifeos/tick"
SCHEDULE_TAG = "lifeos/schedule"
FAVORITE_WEIGHT = 3.0
MAX_CANDIDATES = 5_000
FINISHED = {
    dg.DagsterRunStatus.SUCCESS: "succeeded",
    dg.DagsterRunStatus.FAILURE: "failed",
    dg.DagsterRunStatus.CANCELED: "failed",
}


@dataclass
class WorkflowDue:
    """A run the sensor should request."""

    schedule_id: str
    tick_id: str
    tick_at: datetime
    workflow: str
    inputs: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)

    def run_request(self) -> dg.RunRequest:
        return dg.RunRequest(
            run_key=f"tick:{self.tick_id}",
            job_name=job_name(self.workflow),
            run_config=run_config(self.inputs),
            tags=self.tags,
        )


class WorkflowSchedules(Ticks):
    kind = KIND

    def __init__(self, url: str, workflows: Mapping[str, Workflow]) -> None:
        super().__init__(url)
        self.workflows = workflows

    # ---- checks and draws --------------------------------------------------------------------

    def _workflow(self, name: str) -> Workflow:
        if name not in self.workflows:
            raise NotFound(f"no valid workflow named {name!r}")
        return self.workflows[name]

    def _pool(self, wf: Workflow, name: str, values: list[Any] | None) -> list[Any]:
        if name not in wf.inputs:
            raise BadRequest(f"draw: `{name}` is not an input of {wf.workflow}")
        spec = wf.inputs[name]
        if values:
            return values
        if spec.choices:
            return spec.choices
        if spec.type == "entity" and spec.kind:
            return []  # drawn from the library at each tick
        raise BadRequest(
            f"draw: input `{name}` has no `choices` and no values are listed to draw from"
        )

    def check(self, data: Mapping[str, Any]) -> None:
        """What a schema cannot see: the workflow, the drawn inputs and every fixed and drawn
        value against the workflow's inputs."""
        wf = self._workflow(data["workflow"])
        draw = data.get("draw") or {}
        overlap = sorted(set(draw) & set(data.get("inputs") or {}))
        if overlap:
            raise BadRequest(f"inputs both fixed and drawn: {', '.join(overlap)}")
        sample, pools = dict(data.get("inputs") or {}), {}
        for name, values in draw.items():
            pool = self._pool(wf, name, values) or [
                e.id for e in self._entities(wf.inputs[name])[:1]
            ]
            if not pool:
                raise BadRequest(f"draw: no {wf.inputs[name].kind} in the library to draw")
            pools[name] = pool
            sample[name] = pool[0]
        coerce_inputs(wf, sample)
        for name, pool in pools.items():
            for value in pool[1:]:
                coerce_inputs(wf, {**sample, name: value})

    def _entities(self, spec: InputSpec) -> list[EntityOut]:
        with session_scope(self.url) as session:
            return EntityStore(session).list_all(
                spec.kind or "", {"sort": "name"}, at_most=MAX_CANDIDATES
            )

    def draw(self, wf: Workflow, schedule: EntityOut, rng: random.Random) -> dict[str, Any]:
        """The inputs of one tick: fixed ones as given, drawn ones at random."""
        values = dict(schedule.data.get("inputs") or {})
        for name, listed in (schedule.data.get("draw") or {}).items():
            pool = self._pool(wf, name, listed)
            if pool:
                values[name] = rng.choice(pool)
                continue
            entities = self._entities(wf.inputs[name])
            if not entities:
                raise BadRequest(f"draw: no {wf.inputs[name].kind} left in the library")
            weights = [FAVORITE_WEIGHT if e.favorite else 1.0 for e in entities]
            values[name] = rng.choices(entities, weights=weights, k=1)[0].id
        return coerce_inputs(wf, values)

    # ---- ticks -------------------------------------------------------------------------------

    def _runs_today(self, schedule: EntityOut, now: datetime) -> tuple[int, float]:
        with session_scope(self.url) as session:
            ran = sa.or_(
                ScheduleTick.status.in_(("requested", "succeeded")),
                ScheduleTick.run_id.is_not(None),
            )
            runs = self._today(session, schedule, now, sa.case((ran, 1), else_=0))
            spent = self._today(session, schedule, now, ScheduleTick.cost_usd)
        return int(runs), spent

    def start(
        self,
        schedule: EntityOut,
        tick_at: datetime,
        *,
        now: datetime,
        manual: bool = False,
        reason: str = "",
    ) -> WorkflowDue | None:
        """Skip-if-running, the day's budget and the draw for one tick; None if skipped or
        failed (recorded either way, with a notification when it failed or hit a budget)."""
        data = schedule.data
        if self.skipped_while_running(schedule, tick_at, manual=manual):
            return None
        runs, spent = self._runs_today(schedule, now)
        cap_runs, cap_cost = data.get("max_runs_per_day"), data.get("max_cost_usd_per_day")
        over = (
            f"{runs} runs today (at most {cap_runs})"
            if cap_runs is not None and runs >= cap_runs
            else f"${spent:.4f} spent today (at most ${cap_cost:.4f})"
            if cap_cost is not None and spent >= cap_cost
            else None
        )
        if over:
            self._record(
                schedule.id, tick_at, "skipped", f"daily budget reached: {over}", manual=manual
            )
            self.notify(
                "warning",
                f"{schedule.name}: daily budget reached",
                f"{over}; the tick at {tick_at:%Y-%m-%d %H:%M} was skipped",
                entity_id=schedule.id,
            )
            return None
        try:
            wf = self._workflow(data["workflow"])
            inputs = self.draw(wf, schedule, tick_rng(schedule.id, tick_at, manual))
        except LifeOSError as exc:
            self._record(schedule.id, tick_at, "failed", exc.message, manual=manual)
            self.notify(
                "error", f"{schedule.name}: tick failed", exc.message, entity_id=schedule.id
            )
            return None
        limits = {
            "max_cost_usd": [data.get("max_cost_usd")],
            "max_duration_s": [data.get("max_duration_s")],
        }
        if cap_cost is not None:
            limits["max_cost_usd"].append(max(cap_cost - spent, 1e-9))
        tick_id = self._record(
            schedule.id, tick_at, "requested", reason, manual=manual, params=inputs
        )
        tags = {
            TAG: wf.workflow,
            "lifeos/source": "manual" if manual else "schedule",
            SCHEDULE_TAG: schedule.id,
            TICK_TAG: tick_id,
            "lifeos/tick_at": tick_at.isoformat(),
        }
        for key, values in limits.items():
            given = [v for v in values if v is not None]
            if given:
                tags[BUDGET_TAGS[key]] = repr(float(min(given)))
        return WorkflowDue(schedule.id, tick_id, tick_at, wf.workflow, inputs, tags)

    def manual(self, schedule_id: str) -> WorkflowDue | None:
        """A manual tick (paused schedules too); the caller starts its run."""
        with session_scope(self.url) as session:
            schedule = EntityStore(session).get(KIND, schedule_id)
        now = datetime.now(UTC)
        return self.start(schedule, now, now=now, manual=True, reason="run now")

    # ---- outcomes ----------------------------------------------------------------------------

    def reconcile(self, instance: dg.DagsterInstance, cost: Callable[[str], float]) -> int:
        """Settle requested ticks from their finished Dagster runs: status, the reason a run
        failed or stopped, duration, and cost (`cost(run_id)`, the ledger's). Returns how many
        ticks changed."""
        ticks = self.pending()
        names = self.names({t.schedule_id for t in ticks})
        changed = 0
        for tick in ticks:
            records = instance.get_run_records(
                filters=dg.RunsFilter(tags={TICK_TAG: tick.id}), limit=1
            )
            if not records:
                continue
            record = records[0]
            run = record.dagster_run
            status = FINISHED.get(run.status)
            if status is None:
                self._settle(tick.id, run_id=run.run_id)
                continue
            seconds = (
                record.end_time - record.start_time
                if record.start_time and record.end_time
                else 0.0
            )
            stopped = run.tags.get("lifeos/stopped")
            why = stopped or (
                f"the run ended as {run.status.value}" if status == "failed" else tick.reason
            )
            spent = float(cost(run.run_id))
            self._settle(
                tick.id,
                status=status,
                reason=why,
                run_id=run.run_id,
                cost_usd=spent,
                duration_s=seconds,
            )
            name = names.get(tick.schedule_id, tick.schedule_id)
            if status == "succeeded":
                self.notify(
                    "warning" if stopped else "success",
                    f"{name}: run finished" + (" (budget hit)" if stopped else ""),
                    f"{seconds:.0f} s, ${spent:.4f}",
                    entity_id=tick.schedule_id,
                )
            else:
                self.notify("error", f"{name}: run failed", why, entity_id=tick.schedule_id)
            changed += 1
        return changed

    def history(self, schedule_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        return [self.describe(t) for t in self.ticks(schedule_id, limit=limit)]


def schedules_sensor(
    jobs: list[dg.JobDefinition], workflows: Mapping[str, Workflow]
) -> dg.SensorDefinition:
    """The one sensor behind every workflow schedule, over the jobs of the compiled workflows
    (a schedule of a workflow that is gone or invalid fails its tick, with the reason)."""

    @dg.sensor(
        name="workflow_schedules",
        jobs=jobs,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Evaluates the library's workflow schedules (cron + time zone), draws "
        "their inputs and requests their runs; settles earlier ticks from their runs.",
    )
    def workflow_schedules(
        context: dg.SensorEvaluationContext, workbench: WorkbenchResource
    ) -> dg.SensorResult:
        url = workbench.database_url
        ticks = WorkflowSchedules(url, workflows)
        settled = ticks.reconcile(context.instance, lambda run_id: Ledger(url).spent(run_id=run_id))
        due = ticks.evaluate()
        if not due:
            return dg.SensorResult(
                skip_reason=f"no workflow schedule is due ({settled} earlier ticks settled)"
            )
        return dg.SensorResult(run_requests=[d.run_request() for d in due])

    return workflow_schedules
