"""`GET /metrics`: every metric in Prometheus's text format (`lifeos.metrics`), with the
Dagster run queue and sensor lag read from the instance at scrape time. A scraper off
loopback signs in with a viewer's token."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response

from apps.api.deps import VIEWER
from lifeos.dagster_home import open_instance
from lifeos.metrics import Cached, exposition

router = APIRouter(tags=["health"])
RUN_STATES = ("QUEUED", "STARTING", "STARTED", "FAILURE")


def dagster_runs(settings: Any) -> dict[str, float]:
    """Runs queued, starting, in progress and failed (the last day's), from the instance."""
    from datetime import UTC, datetime, timedelta

    import dagster as dg

    with open_instance(settings) as dagster:
        counts = {}
        for state in RUN_STATES:
            filters = dg.RunsFilter(statuses=[dg.DagsterRunStatus(state)])
            if state == "FAILURE":
                filters = dg.RunsFilter(
                    statuses=[dg.DagsterRunStatus.FAILURE],
                    updated_after=datetime.now(UTC) - timedelta(days=1),
                )
            counts[state.lower()] = float(dagster.get_runs_count(filters=filters))
        return counts


def sensor_lag(settings: Any) -> dict[str, float]:
    """Seconds since each running sensor's last tick, from the ticks the daemon writes. The
    daemon evaluates a sensor every `minimum_interval_seconds` (30 by default): minutes of
    lag mean the daemon stopped or a sensor's evaluation hangs. Sensors never ticked yet
    have no value."""
    from dagster._core.scheduler.instigation import InstigatorType  # not re-exported

    with open_instance(settings) as dagster:
        now, lags = time.time(), {}
        for state in dagster.all_instigator_state(instigator_type=InstigatorType.SENSOR):
            if state.is_running and (
                ticks := dagster.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
            ):
                lags[state.instigator_name] = max(0.0, now - ticks[0].timestamp)
        return lags


def daily_budget(settings: Any) -> dict[str, float]:
    from lifeos.llm.router import get_router

    per_day = get_router(settings.database_url).config.budgets.per_day_usd
    return {} if per_day is None else {"day": float(per_day)}


def backup_times(settings: Any) -> dict[str, float]:
    """When the newest complete backup set was taken and the newest restore drill passed
    (unix seconds), read from the backup target: what the staleness alerts compare."""
    from lifeos.backup import list_sets

    sets = [s for s in list_sets(settings) if s.complete]
    out: dict[str, float] = {}
    if sets:
        out["backup"] = sets[0].created_at.timestamp()
    verified = [s.verified_at for s in sets if s.verified_at is not None]
    if verified:
        out["verified"] = max(verified).timestamp()
    return out


def collectors(request: Request) -> list[Cached]:
    state = request.app.state
    if not hasattr(state, "metric_collectors"):
        settings = state.settings
        state.metric_collectors = [
            Cached(
                "lifeos_dagster_runs",
                "Dagster runs by state (failed: in the last day)",
                "state",
                lambda: dagster_runs(settings),
            ),
            Cached(
                "lifeos_dagster_sensor_lag_seconds",
                "Seconds since each running sensor's last tick",
                "sensor",
                lambda: sensor_lag(settings),
                ttl_s=15,
            ),
            Cached(
                "lifeos_llm_budget_per_day_usd",
                "The configured daily model budget (what the cost alert compares with)",
                "budget",
                lambda: daily_budget(settings),
                ttl_s=60,
            ),
            Cached(
                "lifeos_backup_last_timestamp_seconds",
                "When the newest backup set was taken (event=backup) and the newest restore "
                "drill passed (event=verified)",
                "event",
                lambda: backup_times(settings),
                ttl_s=60,
            ),
        ]
    return list(state.metric_collectors)


@router.get("/metrics", openapi_extra=VIEWER, response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus's text format: HTTP, model calls, database, caches, Dagster runs."""
    body, content_type = exposition(collectors(request))
    return Response(body, media_type=content_type)
