"""`GET /metrics`: every metric in Prometheus's text format (`lifeos.metrics`), with the
Dagster run queue read from the instance at scrape time. A scraper off loopback signs in with
a viewer's token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from apps.api.deps import VIEWER
from lifeos.metrics import Cached, exposition

router = APIRouter(tags=["health"])
RUN_STATES = ("QUEUED", "STARTING", "STARTED", "FAILURE")


def dagster_runs(settings: Any) -> dict[str, float]:
    """Runs queued, starting, in progress and failed (the last day's), from the instance."""
    from datetime import UTC, datetime, timedelta

    import dagster as dg

    from lifeos.dagster_home import write_dagster_yaml

    write_dagster_yaml(settings)
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        counts = {}
        for state in RUN_STATES:
            filters = dg.RunsFilter(statuses=[dg.DagsterRunStatus(state)])
            if state == "FAILURE":
                filters = dg.RunsFilter(
                    statuses=[dg.DagsterRunStatus.FAILURE],
                    updated_after=datetime.now(UTC) - timedelta(days=1),
                )
            counts[state.lower()] = float(instance.get_runs_count(filters=filters))
        return counts


def daily_budget(settings: Any) -> dict[str, float]:
    from lifeos.llm.router import get_router

    per_day = get_router(settings.database_url).config.budgets.per_day_usd
    return {} if per_day is None else {"day": float(per_day)}


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
                "lifeos_llm_budget_per_day_usd",
                "The configured daily model budget (what the cost alert compares with)",
                "budget",
                lambda: daily_budget(settings),
                ttl_s=60,
            ),
        ]
    return list(state.metric_collectors)


@router.get("/metrics", openapi_extra=VIEWER, response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus's text format: HTTP, model calls, database, caches, Dagster runs."""
    body, content_type = exposition(collectors(request))
    return Response(body, media_type=content_type)
