"""`/api/v1/workflows`: the workflows there are, checking and saving templates, starting runs
and reading them back (per-step state, logs, outputs), analytics, and the review queue of
what runs proposed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field

from apps.api.deps import ADMIN, EDITOR, GENERATION, VIEWER
from lifeos.workflows import json_schema
from pipelines.workflow_runs import WorkflowService, graph

router = APIRouter(prefix="/workflows", tags=["workflows"])


def _service(request: Request) -> WorkflowService:
    service: WorkflowService | None = getattr(request.app.state, "workflows", None)
    if service is None:
        service = WorkflowService(request.app.state.settings, request.app.state.plugins)
        request.app.state.workflows = service
    return service


class Template(BaseModel):
    yaml: str = Field(max_length=100_000, description="the workflow, in the workflow language")


class RunRequest(BaseModel):
    inputs: dict[str, Any] = Field(default_factory=dict)
    wait: bool = Field(False, description="answer when the run has finished")


@router.get("/schema", openapi_extra=VIEWER)
def schema() -> dict[str, Any]:
    """The workflow language's JSON Schema (for editors)."""
    return json_schema()


@router.get("", openapi_extra=VIEWER)
def list_workflows(request: Request) -> list[dict[str, Any]]:
    """Every workflow (built-in and saved), valid or not, with its problems."""
    return _service(request).all()


@router.get("/templates", openapi_extra=VIEWER)
def list_templates(request: Request) -> list[dict[str, Any]]:
    """The templates saved in the library."""
    return [w for w in _service(request).all() if w["source"] == "library"]


@router.post("/templates", openapi_extra=EDITOR, status_code=201)
def save_template(body: Template, request: Request) -> dict[str, Any]:
    """Save (or update) a template; 422 lists each problem with its line and column. Its job
    appears in the Dagster UI without a restart."""
    return _service(request).save(body.yaml).describe()


@router.post("/validate", openapi_extra=VIEWER)
def validate(body: Template, request: Request) -> dict[str, Any]:
    """Check a workflow without saving it: its problems, and its graph when it parses."""
    checked = _service(request).validate(body.yaml)
    return {
        "valid": checked.ok,
        "problems": [p.to_dict() for p in checked.problems],
        "graph": graph(checked.workflow) if checked.workflow else None,
    }


@router.get("/runs/{run_id}", openapi_extra=VIEWER)
def get_run(run_id: str, request: Request) -> dict[str, Any]:
    """A run: its status, each step's state, attempts, error and logs, and what it saved."""
    return _service(request).run(run_id)


@router.post("/runs/{run_id}/retry", openapi_extra=GENERATION, status_code=201)
def retry_run(run_id: str, request: Request) -> dict[str, Any]:
    """Re-execute a failed run from its failed steps (Dagster's re-execution)."""
    service = _service(request)
    return service.run(service.retry(run_id))


class ScheduleRequest(BaseModel):
    name: str = Field("", max_length=200, description="default: `<workflow> at <cron>`")
    cron: str = Field(max_length=100, description="five-field cron expression")
    timezone: str = "UTC"
    enabled: bool = True
    inputs: dict[str, Any] = Field(default_factory=dict, description="fixed inputs")
    draw: dict[str, list[Any] | None] = Field(
        default_factory=dict,
        description="inputs drawn at each tick: from these values, or (null) from the input's "
        "`choices` or its kind's entities",
    )
    max_cost_usd: float | None = None
    max_duration_s: int | None = None
    max_runs_per_day: int | None = None
    max_cost_usd_per_day: float | None = None
    skip_if_running: bool = True


@router.get("/schedules", openapi_extra=VIEWER)
def list_schedules(request: Request, workflow: str | None = None) -> list[dict[str, Any]]:
    """Workflow schedules with their next times and last ticks (each tick's drawn inputs,
    run, status, cost)."""
    return _service(request).schedules(workflow)


@router.post("/schedules/{schedule_id}/run", openapi_extra=GENERATION, status_code=201)
def run_schedule(schedule_id: str, request: Request) -> dict[str, Any]:
    """One tick now (paused schedules too), its inputs drawn as the sensor would."""
    return _service(request).schedule_now(schedule_id)


@router.get("/schedules/{schedule_id}/ticks", openapi_extra=VIEWER)
def schedule_ticks(schedule_id: str, request: Request, limit: int = 100) -> list[dict[str, Any]]:
    return _service(request).schedule_history(schedule_id, min(max(limit, 1), 500))


@router.get("/proposals", openapi_extra=VIEWER)
def proposals(request: Request, status: str = "pending") -> list[dict[str, Any]]:
    """What runs proposed (`review: true` outputs), waiting for a person."""
    return _service(request).proposals(status)


@router.post("/proposals/{proposal_id}/approve", openapi_extra=EDITOR)
def approve(proposal_id: str, request: Request) -> dict[str, Any]:
    return _service(request).decide(proposal_id, approve=True)


@router.post("/proposals/{proposal_id}/reject", openapi_extra=EDITOR)
def reject(proposal_id: str, request: Request) -> dict[str, Any]:
    return _service(request).decide(proposal_id, approve=False)


@router.get("/{name}", openapi_extra=VIEWER)
def get_workflow(name: str, request: Request) -> dict[str, Any]:
    """One workflow with its YAML, problems and graph."""
    entry = _service(request).entry(name)
    wf = entry.checked.workflow
    return {**entry.describe(), "yaml": entry.text, "graph": graph(wf) if wf else None}


@router.delete("/{name}", openapi_extra=ADMIN, status_code=204)
def delete_workflow(name: str, request: Request) -> None:
    """Delete a saved template (built-in ones stay)."""
    _service(request).delete(name)


@router.post("/{name}/runs", openapi_extra=GENERATION, status_code=201)
def start_run(
    name: str, request: Request, body: Annotated[RunRequest | None, Body()] = None
) -> dict[str, Any]:
    """Start a run with these inputs (checked first: 422 names a bad one)."""
    body = body or RunRequest()
    service = _service(request)
    run_id = service.start(name, body.inputs, source="api", wait=body.wait)
    if body.wait:
        return service.run(run_id)
    return {"run_id": run_id, "workflow": name, "status": "starting"}


@router.get("/{name}/runs", openapi_extra=VIEWER)
def list_runs(name: str, request: Request, limit: int = 20) -> list[dict[str, Any]]:
    return _service(request).runs(name, min(max(limit, 1), 200))


@router.post("/{name}/schedules", openapi_extra=EDITOR, status_code=201)
def add_schedule(name: str, body: ScheduleRequest, request: Request) -> dict[str, Any]:
    """Run this workflow by itself: checked against the workflow (drawn inputs, their values,
    budgets) before it is saved."""
    data = body.model_dump(exclude={"name"})
    return _service(request).schedule(name, data, schedule_name=body.name).model_dump(mode="json")


@router.get("/{name}/analytics", openapi_extra=VIEWER)
def analytics(name: str, request: Request) -> dict[str, Any]:
    """Success rate, average and p95 duration, and cost of its runs."""
    return _service(request).analytics(name)
