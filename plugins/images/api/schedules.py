"""`/api/v1/schedules`: schedule entities plus their actions (pause, resume, run now,
history, next run times) and `/api/v1/notifications`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from apps.api.deps import EDITOR, GENERATION, VIEWER, LibraryDep
from plugins.images.kinds import ImageBatchSpace, Schedule

router = APIRouter(tags=["schedules"])


class ScheduleBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    data: Schedule
    tags: list[str] = Field(default_factory=list)


def _service(request: Request):  # noqa: ANN202
    from plugins.images.tools.schedules import schedule_services

    return schedule_services(request.app.state.settings)


def _checked(request: Request, lib: Any, body: ScheduleBody) -> dict[str, Any]:
    with lib.store() as store:
        _service(request).check_space(
            store, ImageBatchSpace.model_validate(body.data.params.model_dump())
        )
    return body.data.model_dump(mode="json")


@router.get("/schedules", openapi_extra=VIEWER)
def list_schedules(lib: LibraryDep) -> list[dict[str, Any]]:
    from plugins.images.tools.schedules import next_runs

    with lib.store() as store:
        items = store.list("schedule", {"limit": 200, "sort": "name"}).items
    return [
        {
            **e.model_dump(mode="json"),
            "next_runs": [
                t.isoformat() for t in next_runs(e.data["cron"], e.data["timezone"], n=5)
            ],
        }
        for e in items
    ]


@router.post("/schedules", openapi_extra=EDITOR, status_code=201)
def create_schedule(body: ScheduleBody, request: Request, lib: LibraryDep) -> dict[str, Any]:
    data = _checked(request, lib, body)
    with lib.store() as store:
        return store.create(
            "schedule", {"name": body.name, "data": data, "tags": body.tags}
        ).model_dump(mode="json")


@router.put("/schedules/{schedule_id}", openapi_extra=EDITOR)
def replace_schedule(
    schedule_id: str, body: ScheduleBody, request: Request, lib: LibraryDep
) -> dict[str, Any]:
    data = _checked(request, lib, body)
    with lib.store() as store:
        store.get("schedule", schedule_id)
        return store.update(
            "schedule", schedule_id, {"name": body.name, "data": data, "tags": body.tags}
        ).model_dump(mode="json")


@router.post("/schedules/{schedule_id}/pause", openapi_extra=EDITOR)
def pause(schedule_id: str, lib: LibraryDep) -> dict[str, Any]:
    with lib.store() as store:
        return store.update("schedule", schedule_id, {"data": {"enabled": False}}).model_dump(
            mode="json"
        )


@router.post("/schedules/{schedule_id}/resume", openapi_extra=EDITOR)
def resume(schedule_id: str, lib: LibraryDep) -> dict[str, Any]:
    with lib.store() as store:
        return store.update("schedule", schedule_id, {"data": {"enabled": True}}).model_dump(
            mode="json"
        )


@router.post("/schedules/{schedule_id}/run-now", openapi_extra=GENERATION, status_code=202)
def run_now(schedule_id: str, request: Request) -> dict[str, Any]:
    """A manual tick; its batch is queued for the Dagster daemon."""
    service = _service(request)
    service.run_now(schedule_id, queue=True)
    return service.history(schedule_id, limit=1)[0]


@router.get("/schedules/{schedule_id}/history", openapi_extra=VIEWER)
def history(schedule_id: str, request: Request, limit: int = 100) -> list[dict[str, Any]]:
    return _service(request).history(schedule_id, limit=min(max(limit, 1), 500))


@router.get("/notifications", openapi_extra=VIEWER)
def notifications(request: Request, unread: bool = False) -> dict[str, Any]:
    service = _service(request)
    return {"unread": service.unread(), "items": service.notifications(unread_only=unread)}


@router.post("/notifications/read", openapi_extra=EDITOR)
def mark_read(request: Request) -> dict[str, int]:
    return {"marked": _service(request).mark_read()}
