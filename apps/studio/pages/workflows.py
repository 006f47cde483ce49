"""Workflows: pick or write a workflow in YAML, checked as it is typed (each problem with its
line and column) and drawn as a graph; build it visually (React Flow: tools dragged from a
palette, edges drawn, steps edited), the YAML following each edit; save it as a template;
start a run and watch its steps (state, attempts, errors) until it ends; retry a failed run
from its failed steps; schedule it with drawn inputs; each workflow's success rate, durations
and cost; and the review queue of what runs proposed."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import pandas as pd

from apps.studio.base import HEAVY, Page, guarded, message
from lifeos.errors import BadRequest, LifeOSError
from lifeos.workflows import builder
from pipelines.workflow_runs import WorkflowService, mermaid

NEW = """workflow: my_workflow
description: What it does.
inputs:
  kind: {type: string, default: character}
steps:
  - id: pick
    uses: library_pick
    with: {kind: "${{ inputs.kind }}", count: 2, missing_ok: true}
"""
STEP_COLUMNS = ["step", "uses", "state", "attempts", "seconds", "error"]
ASSETS = "/assets/studio"
# The builder's bundle (apps/studio/builder, React Flow) mounted in the gr.HTML: the server's
# graph comes in as the component's value; an edit goes back as an `input` event.
BUILDER_HEAD = (
    f'<link rel="stylesheet" href="{ASSETS}/workflow-builder.css">'
    f'<script src="{ASSETS}/workflow-builder.js"></script>'
)
BUILDER_JS = """
const host = document.createElement('div');
host.className = 'wfb-host';
element.appendChild(host);
const api = window.LifeOSBuilder.mount(host, props.value, (json) => {
  props.value = json;
  trigger('input');
});
watch('value', () => api.update(props.value));
"""
FINISHED = ("success", "failure", "canceled")


class WorkflowsPage(Page):
    id = "workflows"
    title = "Workflows"

    @property
    def service(self) -> WorkflowService:
        if not hasattr(self, "_service"):
            self._service = WorkflowService(self.studio.settings, self.studio.plugins)
        return self._service

    def layout(self) -> None:
        with gr.Row():
            self.pick = gr.Dropdown(label="workflow", choices=[], scale=3, elem_id="workflows-pick")
            self.new_btn = gr.Button("＋ new", size="sm", scale=0, elem_id="workflows-new")
            self.refresh_btn = gr.Button("↻", size="sm", scale=0, elem_id="workflows-refresh")
        with gr.Row():
            with gr.Column(scale=3):
                self.yaml = gr.Code(
                    NEW, language="yaml", label="YAML", lines=18, elem_id="workflows-yaml"
                )
                with gr.Row():
                    self.save_btn = gr.Button("Save template", elem_id="workflows-save")
                    self.saved = gr.Markdown(elem_id="workflows-saved")
            with gr.Column(scale=2):
                self.problems = gr.Markdown(elem_id="workflows-problems")
                self.graph = gr.Markdown(elem_id="workflows-graph")
        with gr.Accordion("Visual builder", open=True, elem_id="workflows-builder-box"):
            self.builder = gr.HTML(
                "",
                html_template="<div></div>",
                js_on_load=BUILDER_JS,
                head=BUILDER_HEAD,
                elem_id="workflows-builder",
            )
        with gr.Row():
            with gr.Column(scale=2):
                self.inputs = gr.Code(
                    "{}", language="json", label="inputs", lines=5, elem_id="workflows-inputs"
                )
                with gr.Row():
                    self.run_btn = gr.Button("▶ Run", variant="primary", elem_id="workflows-run")
                    self.retry_btn = gr.Button("Retry from failure", elem_id="workflows-retry")
            with gr.Column(scale=3):
                self.run_status = gr.Markdown(elem_id="workflows-run-status")
                self.steps = gr.Dataframe(
                    headers=STEP_COLUMNS,
                    interactive=False,
                    label="steps",
                    elem_id="workflows-steps",
                )
        self.analytics = gr.Markdown(elem_id="workflows-analytics")
        with gr.Accordion("Schedules", open=False, elem_id="workflows-schedules-box"):
            with gr.Row():
                self.cron = gr.Textbox("0 7 * * *", label="cron", scale=1, elem_id="workflows-cron")
                self.timezone = gr.Textbox("UTC", label="time zone", scale=1)
                self.run_cost = gr.Number(
                    None, label="max $ per run (0: no limit)", scale=1, elem_id="workflows-run-cost"
                )
                self.day_runs = gr.Number(
                    None, label="max runs per day (0: no limit)", precision=0, scale=1
                )
            self.draw = gr.Code(
                "{}",
                language="json",
                label="drawn inputs: name → values to draw from, or null for the input's "
                "choices (or its kind's entities); the other inputs are the inputs above",
                lines=3,
                elem_id="workflows-draw",
            )
            with gr.Row():
                self.schedule_btn = gr.Button("Add schedule", elem_id="workflows-schedule")
                self.schedule_now_btn = gr.Button(
                    "Run the latest schedule now", elem_id="workflows-schedule-now"
                )
            self.schedules = gr.Markdown(elem_id="workflows-schedules")
        with gr.Accordion("Review queue", open=False, elem_id="workflows-review"):
            self.proposal = gr.Dropdown(label="proposal", choices=[], elem_id="workflows-proposal")
            with gr.Row():
                self.approve_btn = gr.Button("Approve", elem_id="workflows-approve")
                self.reject_btn = gr.Button("Reject", elem_id="workflows-reject")
            self.decided = gr.Markdown(elem_id="workflows-decided")
        self.run_id = gr.State(None)
        self.timer = gr.Timer(1.0, active=False)

    def wire(self) -> None:
        gr.on(None, self.load, None, [self.pick, self.proposal])
        self.refresh_btn.click(self.load, None, [self.pick, self.proposal])
        self.new_btn.click(lambda: (None, NEW, "{}"), None, [self.pick, self.yaml, self.inputs])
        self.pick.input(
            self.open, self.pick, [self.yaml, self.inputs, self.analytics, self.schedules]
        )
        schedule = [self.pick, self.cron, self.timezone, self.inputs, self.draw]
        self.schedule_btn.click(
            self.add_schedule, [*schedule, self.run_cost, self.day_runs], self.schedules
        )
        self.schedule_now_btn.click(
            self.schedule_now, self.pick, [self.run_id, *watched_outputs(self)]
        )
        # Checked and drawn as it is typed.
        self.yaml.change(
            self.check, self.yaml, [self.problems, self.graph, self.builder], show_progress="hidden"
        )
        self.builder.input(self.from_builder, self.builder, self.yaml, show_progress="hidden")
        self.save_btn.click(self.save, self.yaml, [self.saved, self.pick])
        watched = watched_outputs(self)
        self.run_btn.click(self.start, [self.yaml, self.pick, self.inputs], [self.run_id, *watched])
        self.retry_btn.click(self.retry, self.run_id, [self.run_id, *watched], **HEAVY)
        self.timer.tick(self.watch, self.run_id, watched, show_progress="hidden")
        self.approve_btn.click(
            lambda p: self.decide(p, True), self.proposal, [self.decided, self.proposal]
        )
        self.reject_btn.click(
            lambda p: self.decide(p, False), self.proposal, [self.decided, self.proposal]
        )

    # ---- workflows -------------------------------------------------------------------------

    @guarded
    def load(self) -> tuple[Any, Any]:
        names = [w["name"] for w in self.service.all()]
        return gr.update(choices=names), gr.update(choices=self._proposals(), value=None)

    def _proposals(self) -> list[tuple[str, str]]:
        return [
            (f"{p['data']['target_kind']}: {p['name']} ({p['data']['workflow']})", p["id"])
            for p in self.service.proposals()
        ]

    @guarded
    def open(self, name: str | None) -> tuple[str, str, str, str]:
        if not name:
            return NEW, "{}", "", ""
        entry = self.service.entry(name)
        wf = entry.checked.workflow
        defaults = {k: v.default for k, v in wf.inputs.items()} if wf else {}
        return (
            entry.text,
            json.dumps(defaults, indent=1),
            self._analytics(name),
            self._schedules(name),
        )

    @guarded
    def check(self, text: str) -> tuple[Any, ...]:
        if not text.strip():
            return "", "", gr.skip()
        checked = self.service.validate(text)
        if checked.ok:
            problems = "✅ valid"
        else:
            problems = "\n".join(
                f"- ⚠ line {p.line}, column {p.column}: {p.message}" for p in checked.problems
            )
        if checked.workflow is None:
            return problems, "", gr.skip()  # the builder keeps the last graph that parsed
        drawing = f"```mermaid\n{mermaid(checked.workflow)}\n```"
        return problems, drawing, json.dumps(self.service.builder_graph(checked.workflow))

    def from_builder(self, graph: str) -> Any:
        """An edit in the builder: its graph as YAML in the editor (which checks it)."""
        try:
            wf = builder.from_graph(json.loads(graph or "{}"))
        except (LifeOSError, ValueError) as exc:
            gr.Warning(f"the builder's graph is not a workflow yet: {message(exc)}")
            return gr.skip()
        return builder.dump(wf)

    @guarded
    def save(self, text: str) -> tuple[str, Any]:
        entry = self.service.save(text)
        names = [w["name"] for w in self.service.all()]
        return (
            f"Saved **{entry.name}**: the job `workflow__{entry.name}` is in the "
            f"[Dagster UI]({self.studio.settings.dagster_ui_url}/jobs)",
            gr.update(choices=names, value=entry.name),
        )

    # ---- runs ------------------------------------------------------------------------------

    @guarded
    def start(self, text: str, name: str | None, inputs: str) -> tuple[Any, ...]:
        """Run the picked workflow; the YAML in the editor must be saved first when changed."""
        checked = self.service.validate(text)
        wf = checked.raise_for_problems("workflow")
        entry = self.service.entry(wf.workflow) if wf.workflow in self._names() else None
        if entry is None or entry.text.strip() != text.strip():
            raise BadRequest(f"save {wf.workflow} first: the editor's YAML is not what is saved")
        values = _json_object(inputs, "inputs")
        run_id = self.service.start(wf.workflow, values, source="studio")
        return (run_id, f"Run `{run_id[:8]}` starting…", _frame([]), gr.Timer(active=True), "")

    def _names(self) -> list[str]:
        return [w["name"] for w in self.service.all()]

    @guarded
    def watch(self, run_id: str | None) -> tuple[Any, ...]:
        if not run_id:
            return gr.skip(), gr.skip(), gr.Timer(active=False), gr.skip()
        try:
            run = self.service.run(run_id)
        except Exception:  # noqa: BLE001 - not in Dagster's storage yet: the next tick
            return gr.skip(), gr.skip(), gr.Timer(active=True), gr.skip()
        done = run["status"] in FINISHED
        link = self.studio.run_link(run_id)
        stopped = f" · stopped: {run['stopped']}" if run["stopped"] else ""
        saved = f" · saved {len(run['outputs'])} entities" if run["outputs"] else ""
        status = (
            f"**{run['workflow']}** run `{run_id[:8]}`: **{run['status']}**"
            + (f" in {run['seconds']} s" if run["seconds"] is not None else "")
            + f"{stopped}{saved}{link}"
        )
        analytics = self._analytics(run["workflow"]) if done else gr.skip()
        return status, _frame(run["steps"]), gr.Timer(active=not done), analytics

    @guarded
    def retry(self, run_id: str | None) -> tuple[Any, ...]:
        if not run_id:
            raise BadRequest("no run to retry: start one first")
        new_id = self.service.retry(run_id)
        status, steps, timer, analytics = self.watch(new_id)
        return new_id, status, steps, timer, analytics

    def _analytics(self, name: str) -> str:
        a = self.service.analytics(name)
        if not a["runs"]:
            return f"**{name}**: no finished runs yet."
        return (
            f"**{name}**: {a['runs']} runs · success {a['success_rate']:.0%} · "
            f"average {a['avg_seconds']} s · p95 {a['p95_seconds']} s · ${a['cost_usd']:.4f}"
        )

    # ---- schedules --------------------------------------------------------------------------

    @guarded
    def add_schedule(
        self,
        name: str | None,
        cron: str,
        timezone: str,
        inputs: str,
        draw: str,
        run_cost: float | None,
        day_runs: float | None,
    ) -> str:
        if not name:
            raise BadRequest("pick (or save) a workflow first")
        drawn = _json_object(draw, "drawn inputs")
        fixed = {k: v for k, v in _json_object(inputs, "inputs").items() if k not in drawn}
        self.service.schedule(
            name,
            {
                "cron": (cron or "").strip(),
                "timezone": (timezone or "UTC").strip(),
                "inputs": fixed,
                "draw": drawn,
                "max_cost_usd": run_cost or None,
                "max_runs_per_day": int(day_runs) if day_runs else None,
            },
        )
        return self._schedules(name)

    @guarded
    def schedule_now(self, name: str | None) -> tuple[Any, ...]:
        found = self.service.schedules(name) if name else []
        if not found:
            raise BadRequest("this workflow has no schedule yet: add one first")
        started = self.service.schedule_now(found[-1]["id"])
        return (
            started["run_id"],
            f"Run `{started['run_id'][:8]}` starting with {json.dumps(started['inputs'])}…",
            _frame([]),
            gr.Timer(active=True),
            "",
        )

    def _schedules(self, name: str) -> str:
        rows = self.service.schedules(name)
        if not rows:
            return f"**{name}** has no schedule."
        lines = [f"**{name}**: {len(rows)} schedule(s)", ""]
        for s in rows:
            d = s["data"]
            last = s["ticks"][0] if s["ticks"] else None
            drawn = ", ".join(d["draw"]) or "nothing"
            lines.append(
                f"- `{d['cron']}` {d['timezone']} · draws {drawn} · next {s['next_runs'][0][:16]}"
                + (f" · last: {last['status']} {last['reason']}".rstrip() if last else "")
            )
        return "\n".join(lines)

    # ---- review ----------------------------------------------------------------------------

    @guarded
    def decide(self, proposal_id: str | None, approve: bool) -> tuple[str, Any]:
        if not proposal_id:
            raise BadRequest("pick a proposal first")
        out = self.service.decide(proposal_id, approve)
        verdict = "Approved" if approve else "Rejected"
        made = f": {out['data']['target_kind']} `{out['data']['entity_id']}`" if approve else ""
        return f"{verdict} **{out['name']}**{made}", gr.update(
            choices=self._proposals(), value=None
        )


def watched_outputs(page: WorkflowsPage) -> list[Any]:
    return [page.run_status, page.steps, page.timer, page.analytics]


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise BadRequest(f"{what}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(value, dict):
        raise BadRequest(f"{what}: a JSON object of input names and values")
    return value


def _frame(steps: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            [s["id"], s["uses"], s["state"], s["attempts"], s["seconds"], s["error"] or ""]
            for s in steps
        ],
        columns=STEP_COLUMNS,
    )
