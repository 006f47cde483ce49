# ruff: noqa: E501 - the YAML cases read best on one line each
"""Workflows: the language's checks (each with its line and column), real Dagster runs of each
feature (fan-out order, retries in the event log, fallback, continue-on-error read by a later
`if`, skips that are not failures, budgets), the built-in templates on the plugins' tools, and
the API and CLI over the same service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import dagster as dg
import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import BaseModel

from apps.api.app import create_app
from apps.cli import main
from lifeos.db.engine import session_scope
from lifeos.errors import BadRequest, NotFound, ProviderError, ValidationFailed
from lifeos.llm.toolkit import Tool
from lifeos.settings import Settings
from lifeos.store import EntityStore
from lifeos.workflows import Catalog, Workflow, check_text, json_schema
from lifeos.workflows.engine import WorkflowInputError, coerce_inputs
from pipelines.definitions import build_definitions
from pipelines.workflow_runs import WorkflowService, mermaid
from pipelines.workflows import compile_workflow
from resources.workbench import WorkbenchResource

CALLS: dict[str, int] = {}


class EchoIn(BaseModel):
    text: str
    fail: int = 0  # fail this many calls first
    error: str = "runtime"


class EchoOut(BaseModel):
    text: str


class Echo(Tool[EchoIn, EchoOut]):
    """Upper-cases its text; fails its first `fail` calls for that text."""

    name = "echo"
    configurable: ClassVar[bool] = False
    Input = EchoIn
    Output = EchoOut

    def run(self, inp: Any) -> EchoOut:
        req = self.parse_input(inp)
        CALLS[req.text] = CALLS.get(req.text, 0) + 1
        if CALLS[req.text] <= req.fail:
            if req.error == "provider":
                raise ProviderError(f"down for {req.text}")
            raise RuntimeError(f"flaky {req.text}")
        return EchoOut(text=req.text.upper())


class ListIn(BaseModel):
    n: int = 3


class ListOut(BaseModel):
    items: list[str]


class Lister(Tool[ListIn, ListOut]):
    name = "lister"
    configurable: ClassVar[bool] = False
    Input = ListIn
    Output = ListOut

    def run(self, inp: Any) -> ListOut:
        return ListOut(items=[f"x{i}" for i in range(self.parse_input(inp).n)])


TOOLS: dict[str, type[Tool[Any, Any]]] = {"echo": Echo, "lister": Lister}
CATALOG = Catalog(tools={k: (v.Input, v.Output) for k, v in TOOLS.items()}, kinds=["character"])


@pytest.fixture(autouse=True)
def _calls() -> Iterator[None]:
    CALLS.clear()
    yield
    CALLS.clear()


def run(settings: Settings, text: str, inputs: dict[str, Any] | None = None) -> Any:
    checked = check_text(text, CATALOG)
    assert checked.ok, checked.problems
    job = compile_workflow(checked.raise_for_problems(), tools=TOOLS)
    return job.execute_in_process(
        run_config={"ops": {"inputs": {"config": {"values": inputs or {}}}}},
        resources={
            "workbench": WorkbenchResource(
                database_url=settings.database_url, home=str(settings.home)
            )
        },
        raise_on_error=False,
    )


def events(result: Any, kind: str) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type_value == kind]


def out(result: Any, step: str) -> Any:
    return result.output_for_node(step, "result")


# ---- the language ------------------------------------------------------------------------------


def problems(text: str) -> list[str]:
    return [str(p) for p in check_text(text, CATALOG).problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "workflow: a\nsteps:\n  - id: s\n    uses: nope\n",
            "line 4, column 11 (steps.0.uses): no tool `nope`",
        ),
        (
            "workflow: a\nsteps:\n  - id: s\n    uses: echo\n    with: {text: '${{ steps.zz.output }}'}\n",
            "line 5, column 18 (steps.0.with.text): no step `zz`",
        ),
        (
            "workflow: a\nsteps:\n  - id: a\n    uses: echo\n    with: {text: '${{ steps.b.output.text }}'}\n"
            "  - id: b\n    uses: echo\n    with: {text: '${{ steps.a.output.text }}'}\n",
            "cycle: a → b → a",
        ),
        (
            "workflow: a\nsteps:\n  - id: a\n    uses: lister\n  - id: b\n    uses: echo\n"
            "    with: {text: '${{ steps.a.output.items }}'}\n",
            "`text` of `echo` takes a string, and this gives a list",
        ),
        (
            "workflow: a\nsteps:\n  - id: s\n    uses: echo\n    with: {text: '${{ inputs.x + }}'}\n",
            "bad expression",
        ),
        ("workflow: a\nsteps:\n  - id: s\n    uses: echo\n", "`echo` needs input(s) text"),
        (
            "workflow: a\nsteps:\n  - id: s\n    uses: echo\n    with: {text: x, colour: red}\n",
            "has no input `colour`",
        ),
        (
            "workflow: a\nsteps:\n  - id: s\n    uses: echo\n    with: {text: '${{ item }}'}\n",
            "only known inside a `for_each`",
        ),
        (
            "workflow: a\nsteps:\n  - id: S\n    uses: echo\n",
            "line 3, column 9 (steps.0.id): String should match",
        ),
        ("workflow: a\nsteps: [\n", "not valid YAML"),
        (
            "workflow: a\nsteps:\n  - id: a\n    uses: lister\n  - id: b\n    uses: echo\n"
            "    with: {text: '${{ steps.a.output.itemz }}'}\n",
            "the step's output has no such field",
        ),
        ("workflow: a\nsteps:\n  - id: s\n    uses: workflow:other\n", "no workflow `other`"),
    ],
)
def test_each_validation_error_names_its_line_and_column(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in p for p in found), found


def test_the_schema_is_published_and_on_is_a_key_not_a_boolean() -> None:
    schema = json_schema()
    assert "Step" in schema["$defs"] and "retry" in schema["$defs"]["Step"]["properties"]
    text = (
        "workflow: a\nsteps:\n  - id: s\n    uses: echo\n    with: {text: x}\n"
        "    retry: {max_attempts: 2, on: [RuntimeError]}\n"
    )
    assert problems(text) == []
    retry = check_text(text, CATALOG).raise_for_problems().flat_steps()[0].retry
    assert retry is not None and retry.on == ["RuntimeError"]


def test_inputs_are_typed_and_checked() -> None:
    wf = check_text(
        "workflow: a\ninputs:\n  n: {type: integer, default: 2, maximum: 5}\n"
        "  who: {type: string, required: true}\nsteps:\n  - id: s\n    uses: echo\n"
        "    with: {text: '${{ inputs.who }}'}\n",
        CATALOG,
    ).raise_for_problems()
    assert coerce_inputs(wf, {"who": "x", "n": "3"}) == {"n": 3, "who": "x"}
    with pytest.raises(WorkflowInputError, match="input `who` is required"):
        coerce_inputs(wf, {})
    with pytest.raises(WorkflowInputError, match="more than 5"):
        coerce_inputs(wf, {"who": "x", "n": 9})


# ---- real Dagster runs ----------------------------------------------------------------------


def test_fan_out_keeps_order_and_retries_inside_it_show_in_dagster(settings: Settings) -> None:
    result = run(
        settings,
        """workflow: fan
steps:
  - id: make
    uses: lister
    with: {n: 4}
  - id: shout
    uses: echo
    for_each: ${{ steps.make.output.items }}
    with: {text: "${{ item }}-${{ index }}", fail: 1}
    retry: {max_attempts: 2, delay_s: 0}
  - id: join
    uses: echo
    with: {text: "${{ steps.shout.output | map(attribute='text') | join(',') }}"}
""",
    )
    assert result.success
    assert out(result, "join")["output"]["text"] == "X0-0,X1-1,X2-2,X3-3"
    assert sorted(events(result, "STEP_UP_FOR_RETRY")) == [f"shout[{i}]" for i in range(1, 5)]


def test_retry_then_fallback_on_the_same_step(settings: Settings) -> None:
    result = run(
        settings,
        """workflow: fb
steps:
  - id: s
    uses: echo
    with: {text: a, fail: 9}
    retry: {max_attempts: 3, delay_s: 0}
    fallback: {with: {text: b}}
""",
    )
    assert result.success
    assert events(result, "STEP_UP_FOR_RETRY") == ["s", "s"]  # 3 attempts, then the fallback
    assert CALLS == {"a": 3, "b": 1}
    assert out(result, "s")["output"] == {"text": "B"} and out(result, "s")["fallback"]


def test_retry_only_on_the_errors_named(settings: Settings) -> None:
    result = run(
        settings,
        """workflow: only
steps:
  - id: s
    uses: echo
    with: {text: a, fail: 1}
    retry: {max_attempts: 3, delay_s: 0, on: [ProviderError]}
""",
    )
    assert not result.success and CALLS == {"a": 1}  # a RuntimeError is not retried
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "step `s` failed" in failure.step_failure_data.user_failure_data.description


def test_continue_on_error_is_read_by_a_later_if_and_false_conditions_skip(
    settings: Settings,
) -> None:
    result = run(
        settings,
        """workflow: coe
steps:
  - id: bad
    uses: echo
    with: {text: a, fail: 5}
    continue_on_error: true
  - id: recover
    uses: echo
    if: ${{ not steps.bad.ok }}
    with: {text: recovered}
  - id: never
    uses: echo
    if: steps.bad.ok
    with: {text: never}
  - id: reads_never
    uses: echo
    with: {text: "${{ steps.never.output.text }}"}
  - id: last
    uses: echo
    with: {text: "${{ steps.recover.output.text }}"}
""",
    )
    assert result.success  # the failed step is marked, the run goes on
    assert out(result, "bad")["ok"] is False and "flaky a" in out(result, "bad")["error"]
    assert out(result, "last")["output"]["text"] == "RECOVERED"
    assert events(result, "STEP_SKIPPED") == ["reads_never"]  # skipped, not failed
    assert "never" not in CALLS


def test_a_failing_step_fails_the_run_naming_it_and_keeps_earlier_outputs(
    settings: Settings,
) -> None:
    result = run(
        settings,
        "workflow: f\nsteps:\n  - id: first\n    uses: echo\n    with: {text: ok}\n"
        "  - id: second\n    uses: echo\n    with: {text: b, fail: 1}\n",
    )
    assert not result.success
    assert out(result, "first")["output"] == {"text": "OK"}
    assert events(result, "STEP_FAILURE") == ["second"]


def test_a_budget_stops_the_run_with_its_reason(settings: Settings) -> None:
    result = run(
        settings,
        "workflow: slow\nbudget: {max_duration_s: 0.001}\nsteps:\n  - id: s\n    uses: echo\n"
        "    with: {text: a}\n",
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "budget: ran" in failure.step_failure_data.user_failure_data.description


def test_a_timeout_is_an_error_the_retry_covers(settings: Settings) -> None:
    class Slow(Echo):
        name = "echo"

        def run(self, inp: Any) -> EchoOut:
            import time

            CALLS["slow"] = CALLS.get("slow", 0) + 1
            time.sleep(0.5 if CALLS["slow"] == 1 else 0)
            return EchoOut(text="done")

    checked = check_text(
        "workflow: t\nsteps:\n  - id: s\n    uses: echo\n    with: {text: a}\n    timeout_s: 0.1\n"
        "    retry: {max_attempts: 2, delay_s: 0, on: [timeout]}\n",
        CATALOG,
    )
    job = compile_workflow(checked.raise_for_problems(), tools={"echo": Slow})
    result = job.execute_in_process(
        resources={
            "workbench": WorkbenchResource(
                database_url=settings.database_url, home=str(settings.home)
            )
        },
        raise_on_error=False,
    )
    assert result.success and events(result, "STEP_UP_FOR_RETRY") == ["s"]


# ---- the built-in templates, the service, API and CLI ----------------------------------------


@pytest.fixture
def service(settings: Settings) -> WorkflowService:
    return WorkflowService(settings)


def test_built_in_templates_are_valid_jobs_of_the_code_location(
    service: WorkflowService, settings: Settings
) -> None:
    names = {w["name"]: w for w in service.all()}
    for name in ("image_batch", "morning_surprise", "clothing_discovery", "story", "weekly_story"):
        assert names[name]["valid"], names[name]["problems"]
    jobs = {j.name for j in build_definitions(settings=settings).resolve_all_job_defs()}
    assert {"workflow__morning_surprise", "workflow__weekly_story"} <= jobs
    assert "flowchart TD" in mermaid(service.workflow("morning_surprise"))


def test_morning_surprise_runs_on_the_real_tools(
    service: WorkflowService, settings: Settings
) -> None:
    with session_scope(settings.database_url) as session:
        store = EntityStore(session)
        mina = store.create("character", {"name": "Mina", "data": {"appearance": "black hair"}}).id
        store.create("outfit", {"name": "Raincoat"})
    run_id = service.start(
        "morning_surprise", {"count": 1, "steps": 2, "size": 64}, source="test", wait=True
    )
    run = service.run(run_id)
    assert run["status"] == "success", run
    states = {s["id"]: s["state"] for s in run["steps"]}
    assert states["characters"] == "fallback"  # no favourites: any character
    assert states["images"] == "ok"
    with session_scope(settings.database_url) as session:
        images = EntityStore(session).list("image").items
    assert len(images) == 1
    assert service.analytics("morning_surprise")["success_rate"] == 1.0
    assert mina


def test_template_saved_through_the_api_then_run_with_outputs_linked(
    settings: Settings, service: WorkflowService
) -> None:
    with session_scope(settings.database_url) as session:
        luna = EntityStore(session).create("character", {"name": "Luna"}).id
    text = (
        "workflow: luna_note\ninputs:\n  who: {type: entity, kind: character, required: true}\n"
        "steps:\n  - id: pick\n    uses: library_pick\n"
        "    with: {kind: character, ids: ['${{ inputs.who }}']}\n"
        'outputs:\n  - kind: character\n    name: "${{ steps.pick.output.names[0] }} again"\n'
        "    data: {description: 'made by a workflow'}\n"
        "  - kind: character\n    name: proposed\n    review: true\n"
    )
    with TestClient(create_app(settings)) as client:
        bad = client.post("/api/v1/workflows/templates", json={"yaml": "workflow: x\nsteps: []\n"})
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["line"] == 2
        assert client.post("/api/v1/workflows/templates", json={"yaml": text}).status_code == 201
        assert client.get("/api/v1/workflows/schema").json()["title"] == "Life-OS workflow"
        refused = client.post("/api/v1/workflows/luna_note/runs", json={"inputs": {}})
        assert refused.status_code == 422 and "who" in refused.json()["error"]["message"]
        reply = client.post(
            "/api/v1/workflows/luna_note/runs", json={"inputs": {"who": luna}, "wait": True}
        )
        assert reply.status_code == 201, reply.text
        run = reply.json()
        assert run["status"] == "success" and len(run["outputs"]) == 2
        proposals = client.get("/api/v1/workflows/proposals").json()
        assert [p["name"] for p in proposals] == ["proposed"]
        approved = client.post(f"/api/v1/workflows/proposals/{proposals[0]['id']}/approve")
        assert approved.json()["data"]["status"] == "approved"
        assert client.get("/api/v1/workflows/luna_note/runs").json()[0]["status"] == "success"
    with session_scope(settings.database_url) as session:
        store = EntityStore(session)
        again = next(e for e in store.list("character").items if e.name == "Luna again")
        assert {ln.entity.id for ln in store.links("character", again.id)} == {luna}
        assert any(e.name == "proposed" for e in store.list("character").items)


def test_a_template_whose_tool_is_gone_shows_invalid_and_others_load(
    settings: Settings, service: WorkflowService
) -> None:
    with session_scope(settings.database_url) as session:
        EntityStore(session).create(
            "workflow",
            {
                "name": "orphan",
                "data": {"yaml": "workflow: orphan\nsteps:\n  - id: s\n    uses: gone_tool\n"},
            },
        )
    rows = {w["name"]: w for w in service.all()}
    assert not rows["orphan"]["valid"] and "gone_tool" in rows["orphan"]["problems"][0]["msg"]
    assert rows["story"]["valid"]
    jobs = {j.name for j in build_definitions(settings=settings).resolve_all_job_defs()}
    assert "workflow__orphan" not in jobs and "workflow__story" in jobs


def test_cli_lists_validates_and_runs(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "workflow: cli_pick\nsteps:\n  - id: s\n    uses: library_pick\n"
        "    with: {kind: character, missing_ok: true}\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflow: b\nsteps:\n  - id: s\n    uses: nope\n")

    def cli(*args: str) -> int:
        return main(list(args))

    assert cli("workflows", "validate", str(bad)) == 1
    assert "bad.yaml:4:11" in capsys.readouterr().out
    assert cli("workflows", "save", str(good)) == 0
    assert cli("workflows", "run", "cli_pick", "--json") == 0
    run = json.loads(_last_json(capsys))
    assert run["status"] == "success"


def _last_json(capsys: pytest.CaptureFixture[str]) -> str:
    text = capsys.readouterr().out
    return text[text.index("{") :]


def test_dagster_definitions_include_asset_specs_for_outputs(settings: Settings) -> None:
    defs = build_definitions(settings=settings)
    keys = {a.key for a in defs.resolve_all_asset_specs()}
    assert dg.AssetKey(["workflows", "clothing_discovery"]) in keys


def test_a_failed_run_is_retried_from_its_failed_step(
    service: WorkflowService, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lifeos.settings import reset_settings_cache

    # The re-execution reconstructs the job from the settings of the environment.
    monkeypatch.setenv("LIFEOS_HOME", str(settings.home))
    monkeypatch.setenv("LIFEOS_DATABASE_URL", settings.database_url)
    reset_settings_cache()
    with session_scope(settings.database_url) as session:
        mina = EntityStore(session).create("character", {"name": "Mina"}).id
    service.save(
        "workflow: retry_me\nsteps:\n  - id: first\n    uses: library_pick\n"
        "    with: {kind: character}\n  - id: second\n    uses: library_pick\n"
        "    with: {kind: character, tags: [ready]}\n",
        reload=False,
    )
    failed = service.run(service.start("retry_me", {}, source="test", wait=True))
    assert failed["status"] == "failure"
    assert {s["id"]: s["state"] for s in failed["steps"]} == {"first": "ok", "second": "failed"}
    with pytest.raises(NotFound):
        service.retry("no-such-run")
    with session_scope(settings.database_url) as session:
        EntityStore(session).update("character", mina, {"tags": ["ready"]})
    again = service.run(service.retry(failed["run_id"]))
    assert again["status"] == "success"
    states = {s["id"]: (s["state"], s["attempts"]) for s in again["steps"]}
    assert states == {"first": ("kept", 0), "second": ("ok", 1)}  # only the failed step ran
    assert again["parent_run_id"] == failed["run_id"]
    with pytest.raises(BadRequest, match="is success, not failed"):
        service.retry(again["run_id"])


# ---- the visual builder's graph ---------------------------------------------------------------

RICH = """\
workflow: rich
description: every kind of node
inputs:
  n: {type: integer, default: 2, minimum: 1}
budget: {max_cost_usd: 0.5}
tags: [demo]
steps:
  - id: first
    uses: lister
    with: {n: "${{ inputs.n }}"}
  - parallel:
      - id: each
        uses: echo
        for_each: ${{ steps.first.output.items }}
        with: {text: "${{ item }}"}
        retry: {max_attempts: 3, delay_s: 0, backoff: linear, on: [RuntimeError]}
      - id: maybe
        uses: echo
        if: steps.first.ok
        with: {text: b}
        fallback: {uses: echo, with: {text: c}}
        continue_on_error: true
        timeout_s: 5
  - id: last
    uses: echo
    needs: [maybe]
    with: {text: "${{ steps.each.output | length }}"}
outputs:
  - {kind: character, name: "${{ steps.last.output.text }}", review: true}
result: {text: "${{ steps.last.output.text }}"}
"""


def test_the_builder_graph_round_trips_every_key() -> None:
    from lifeos.workflows import builder
    from lifeos.workflows.validate import Loader

    texts = [RICH, *(p.read_text() for p in Path("plugins").glob("*/workflows/*.yaml"))]
    for text in texts:
        # The YAML 1.2 loader the checks use (safe, and `on:` stays a key).
        parsed = yaml.load(text, Loader=Loader)  # noqa: S506
        wf = check_text(text, CATALOG).workflow or Workflow.model_validate(parsed)
        graph = json.loads(json.dumps(builder.to_graph(wf, tools=list(TOOLS))))
        back = builder.from_graph(graph)
        assert back == wf and builder.dump(back) == builder.dump(wf)
    graph = builder.to_graph(check_text(RICH, CATALOG).raise_for_problems())
    kinds = {n["id"]: n["type"] for n in graph["nodes"]}
    assert kinds == {
        "inputs": "inputs",
        "first": "tool",
        "parallel_2": "parallel",
        "each": "for_each",
        "maybe": "condition",
        "last": "tool",
        "output_1": "output",
    }
    assert {e["id"] for e in graph["edges"] if e["data"]["kind"] == "order"} == {
        "order:maybe->last"
    }


def test_builder_edits_become_yaml_in_a_valid_order() -> None:
    from lifeos.workflows import builder

    graph = builder.to_graph(check_text(RICH, CATALOG).raise_for_problems())
    nodes = {n["id"]: n for n in graph["nodes"]}
    # `last` dragged to the top still runs after what it reads; a drawn edge is a `needs`;
    # a deleted order edge drops one; a dropped tool is a step.
    nodes["last"]["position"] = {"x": 0, "y": -500}
    graph["edges"] = [e for e in graph["edges"] if e["id"] != "order:maybe->last"]
    graph["edges"].append(
        {"id": "order:first->new", "source": "first", "target": "new", "data": {"kind": "order"}}
    )
    graph["nodes"].append(
        {
            "id": "new",
            "type": "tool",
            "position": {"x": 0, "y": 9999},
            "data": {"label": "new", "uses": "echo", "step": {"id": "new", "uses": "echo"}},
        }
    )
    wf = builder.from_graph(graph)
    order = [s.id for s in wf.flat_steps()]
    assert order == ["first", "each", "maybe", "last", "new"]
    steps = {s.id: s for s in wf.flat_steps()}
    assert steps["last"].needs == [] and steps["new"].needs == ["first"]
    problems = [str(p) for p in check_text(builder.dump(wf), CATALOG).problems]
    assert len(problems) == 1 and problems[0].endswith("(steps.3.with): `echo` needs input(s) text")
    with pytest.raises(ValidationFailed):
        builder.from_graph({"workflow": {"workflow": "empty"}, "nodes": [], "edges": []})
