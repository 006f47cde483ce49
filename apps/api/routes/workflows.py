"""`/api/v1/workflows`: the workflows there are, checking and saving templates, starting runs
and reading them back (per-step state, logs, outputs), analytics, and the review queue of
what runs proposed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field

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


@router.get("/schema")
def schema() -> dict[str, Any]:
    """The workflow language's JSON Schema (for editors)."""
    return json_schema()


@router.get("")
def list_workflows(request: Request) -> list[dict[str, Any]]:
    """Every workflow (built-in and saved), valid or not, with its problems."""
    return _service(request).all()


@router.get("/templates")
def list_templates(request: Request) -> list[dict[str, Any]]:
    """The templates saved in the library."""
    return [w for w in _service(request).all() if w["source"] == "library"]


@router.post("/templates", status_code=201)
def save_template(body: Template, request: Request) -> dict[str, Any]:
    """Save (or update) a template; 422 lists each problem with its line and column. Its job
    appears in the Dagster UI without a restart."""
    return _service(request).save(body.yaml).describe()


@router.post("/validate")
def validate(body: Template, request: Request) -> dict[str, Any]:
    """Check a workflow without saving it: its problems, and its graph when it parses."""
    checked = _service(request).validate(body.yaml)
    return {
        "valid": checked.ok,
        "problems": [p.to_dict() for p in checked.problems],
        "graph": graph(checked.workflow) if checked.workflow else None,
    }


@router.get("/runs/{run_id}")
def get_run(run_id: str, request: Request) -> dict[str, Any]:
    """A run: its status, each step's state, attempts, error and logs, and what it saved."""
    return _service(request).run(run_id)


@router.post("/runs/{run_id}/retry", status_code=201)
def retry_run(run_id: str, request: Request) -> dict[str, Any]:
    """Re-execute a failed run from its failed steps (Dagster's re-execution)."""
    service = _service(request)
    return service.run(service.retry(run_id))


@router.get("/proposals")
def proposals(request: Request, status: str = "pending") -> list[dict[str, Any]]:
    """What runs proposed (`review: true` outputs), waiting for a person."""
    return _service(request).proposals(status)


@router.post("/proposals/{proposal_id}/approve")
def approve(proposal_id: str, request: Request) -> dict[str, Any]:
    return _service(request).decide(proposal_id, approve=True)


@router.post("/proposals/{proposal_id}/reject")
def reject(proposal_id: str, request: Request) -> dict[str, Any]:
    return _service(request).decide(proposal_id, approve=False)


@router.get("/{name}")
def get_workflow(name: str, request: Request) -> dict[str, Any]:
    """One workflow with its YAML, problems and graph."""
    entry = _service(request).entry(name)
    wf = entry.checked.workflow
    return {**entry.describe(), "yaml": entry.text, "graph": graph(wf) if wf else None}


@router.delete("/{name}", status_code=204)
def delete_workflow(name: str, request: Request) -> None:
    """Delete a saved template (built-in ones stay)."""
    _service(request).delete(name)


@router.post("/{name}/runs", status_code=201)
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


@router.get("/{name}/runs")
def list_runs(name: str, request: Request, limit: int = 20) -> list[dict[str, Any]]:
    return _service(request).runs(name, min(max(limit, 1), 200))


@router.get("/{name}/analytics")
def analytics(name: str, request: Request) -> dict[str, Any]:
    """Success rate, average and p95 duration, and cost of its runs."""
    return _service(request).analytics(name)
