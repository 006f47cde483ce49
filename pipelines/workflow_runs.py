"""The workflows service, the same for the studio, the API and the CLI: the workflows there
are (built-in YAML files of the plugins, templates saved in the library), checking and
saving them, their Dagster jobs in the code location, starting runs, and reading runs back
(per-step state, logs, outputs, analytics) from Dagster's own event log."""

from __future__ import annotations

import statistics
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa

from lifeos import tracing
from lifeos.dagster_home import open_instance
from lifeos.db.engine import session_scope
from lifeos.errors import BadRequest, LifeOSError, NotFound
from lifeos.kinds import GENERIC_RELATION
from lifeos.ledger import Ledger
from lifeos.logging import get_logger
from lifeos.plugins import PluginHost, get_plugins
from lifeos.schedules import next_runs
from lifeos.schemas import EntityOut
from lifeos.security.roles import run_tags
from lifeos.settings import Settings
from lifeos.store import EntityStore
from lifeos.workflows import Catalog, Checked, Workflow, builder, check_text
from lifeos.workflows.dsl import Parallel
from lifeos.workflows.engine import coerce_inputs
from pipelines.workflow_schedules import KIND as SCHEDULE_KIND
from pipelines.workflow_schedules import WorkflowSchedules, schedules_sensor
from pipelines.workflows import (
    READ,
    RESULT,
    STATE,
    STOPPED_TAG,
    TAG,
    asset_spec,
    compile_workflow,
    job_name,
    run_config,
    step_refs,
    value_refs,
)

log = get_logger(__name__)
KIND = "workflow"


@dataclass
class Entry:
    """One workflow there is, valid or not: where it comes from, its text and its check."""

    name: str
    source: str  # "plugin:<name>" or "library"
    text: str
    checked: Checked
    entity_id: str | None = None
    path: str | None = None

    @property
    def valid(self) -> bool:
        return self.checked.ok

    def describe(self) -> dict[str, Any]:
        wf = self.checked.workflow
        return {
            "name": self.name,
            "source": self.source,
            "valid": self.valid,
            "problems": [p.to_dict() for p in self.checked.problems],
            "description": wf.description if wf else "",
            "inputs": {k: v.model_dump(exclude_none=True) for k, v in wf.inputs.items()}
            if wf
            else {},
            "steps": [s.id for s in wf.flat_steps()] if wf else [],
            "job": job_name(self.name),
            "entity_id": self.entity_id,
        }


def catalog(
    host: PluginHost | None = None, workflows: Mapping[str, Workflow] | None = None
) -> Catalog:
    host = host or get_plugins()
    tools = {name: (cls.Input, cls.Output) for name, cls in host.tools.items()}
    return Catalog(tools=tools, workflows=dict(workflows or {}), kinds=host.kinds.names())


def entries(settings: Settings, host: PluginHost | None = None) -> dict[str, Entry]:
    """Every workflow by name: the plugins' files, then the library's templates (which take
    the place of a built-in one of the same name). Each is checked against the tools loaded
    now, so a template whose tool is gone shows as invalid with the reason; the others load."""
    host = host or get_plugins()
    texts: dict[str, tuple[str, str, str | None, str | None]] = {}
    path: Any
    for name, path in sorted(host.registries.workflows.items()):
        owner = host.registries.owners.get(("workflows", name), "?")
        try:
            texts[name] = (
                Path(path).read_text(encoding="utf-8"),
                f"plugin:{owner}",
                None,
                str(path),
            )
        except OSError as exc:
            log.warning("workflow_file_unreadable", path=str(path), error=str(exc))
    for entity_id, name, text in _library_templates(settings):
        texts[name] = (text, "library", entity_id, None)
    checks = _checks(host, {n: t[0] for n, t in texts.items()})
    return {
        name: Entry(name, source, text, checks[name], template_id, file)
        for name, (text, source, template_id, file) in texts.items()
    }


_checked: tuple[Any, dict[str, Checked]] | None = None
_checked_lock = threading.Lock()


def _checks(host: PluginHost, texts: Mapping[str, str]) -> dict[str, Checked]:
    """Each workflow's check, again only when a text or the plugins changed (every service
    call lists the workflows: a run's start checked them all three times)."""
    global _checked
    key = (id(host), host.generation, tuple(sorted(texts.items())))
    with _checked_lock:
        if _checked is not None and _checked[0] == key:
            return _checked[1]
    # Two rounds: what parses first, so a workflow may use another (`workflow:<name>`).
    parsed = {n: check_text(t, catalog(host)).workflow for n, t in texts.items()}
    known = {n: w for n, w in parsed.items() if w is not None}
    cat = catalog(host, known)
    out = {}
    for name, text in texts.items():
        checked = check_text(text, cat)
        if checked.workflow is not None and checked.workflow.workflow != name:
            checked.problems.insert(0, _named_problem(name, checked.workflow.workflow))
        out[name] = checked
    with _checked_lock:
        _checked = (key, out)
    return out


def _named_problem(saved: str, declared: str) -> Any:
    from lifeos.workflows import Problem

    return Problem(f"saved as `{saved}` but declares `workflow: {declared}`", ("workflow",))


def _library_templates(settings: Settings) -> list[tuple[str, str, str]]:
    """(entity id, name, yaml) of the library's workflow templates; none when the library
    cannot be read yet (a new home before its migrations)."""
    try:
        with session_scope(settings.database_url) as session:
            store = EntityStore(session)
            if KIND not in store.registry:
                return []
            return [(e.id, e.name, e.data.get("yaml", "")) for e in store.list_all(KIND)]
    except (sa.exc.SQLAlchemyError, LifeOSError) as exc:
        log.warning("workflow_templates_unreadable", error=str(exc)[:300])
        return []


def workflow_definitions(settings: Settings, host: PluginHost | None = None) -> dg.Definitions:
    """A job (and the asset of what it saves) per valid workflow."""
    jobs, assets, compiled = [], [], {}
    found = entries(settings, host)
    known = {n: e.checked.workflow for n, e in found.items() if e.valid and e.checked.workflow}
    for entry in found.values():
        if not entry.valid or entry.checked.workflow is None:
            if entry.checked.problems:
                log.warning(
                    "workflow_invalid", workflow=entry.name, problem=str(entry.checked.problems[0])
                )
            continue
        wf = entry.checked.workflow
        try:
            jobs.append(compile_workflow(wf, workflows=known))
        except (ValueError, dg.DagsterError) as exc:
            log.warning("workflow_not_compiled", workflow=entry.name, error=str(exc)[:300])
            continue
        compiled[wf.workflow] = wf
        if wf.outputs:
            assets.append(asset_spec(wf))
    sensors = [schedules_sensor(jobs, compiled)] if jobs else []
    return dg.Definitions(jobs=jobs, assets=assets, sensors=sensors)


def job_for(name: str) -> dg.JobDefinition:
    """The workflow's job with the product's resources (what a re-execution reconstructs)."""
    from lifeos.settings import get_settings

    return WorkflowService(get_settings()).job(name)


@dataclass
class StepView:
    id: str
    uses: str
    state: str = "pending"  # pending, running, ok, failed, skipped, retrying, fallback
    attempts: int = 0
    error: str | None = None
    items: int | None = None
    seconds: float | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)


class WorkflowService:
    def __init__(self, settings: Settings, host: PluginHost | None = None) -> None:
        self.settings = settings
        self.host = host
        self._threads: list[threading.Thread] = []

    # ---- the workflows ---------------------------------------------------------------------

    def all(self) -> list[dict[str, Any]]:
        return [e.describe() for e in entries(self.settings, self.host).values()]

    def entry(self, name: str) -> Entry:
        found = entries(self.settings, self.host)
        if name not in found:
            raise NotFound(f"no workflow {name!r}", details={"workflows": sorted(found)})
        return found[name]

    def workflow(self, name: str) -> Workflow:
        return self.entry(name).checked.raise_for_problems(f"workflow {name}")

    def builder_graph(self, wf: Workflow) -> dict[str, Any]:
        """The workflow as the visual builder's nodes and edges, its palette the tools (and
        the other workflows) a step may use."""
        host = self.host or get_plugins()
        uses = [*host.tools, *(f"workflow:{n}" for n in self.valid() if n != wf.workflow)]
        return builder.to_graph(wf, tools=uses)

    def valid(self) -> dict[str, Workflow]:
        return {
            n: e.checked.workflow
            for n, e in entries(self.settings, self.host).items()
            if e.valid and e.checked.workflow
        }

    def validate(self, text: str) -> Checked:
        others = {
            n: e.checked.workflow
            for n, e in entries(self.settings, self.host).items()
            if e.checked.workflow is not None
        }
        return check_text(text, catalog(self.host, others))

    def save(self, text: str, *, reload: bool = True) -> Entry:
        """Save a template in the library (a new revision when it is there); refused with every
        problem's line and column when it is not valid. The Dagster UI gets its job at once."""
        wf = self.validate(text).raise_for_problems("workflow")
        with session_scope(self.settings.database_url) as session:
            store = EntityStore(session)
            existing = [e for e in store.list_all(KIND) if e.name == wf.workflow]
            data = {"yaml": text, "description": wf.description}
            if existing:
                store.update(KIND, existing[0].id, {"data": data, "tags": wf.tags})
            else:
                store.create(KIND, {"name": wf.workflow, "data": data, "tags": wf.tags})
        if reload:
            from pipelines.runs import reload_code_location

            reload_code_location(self.settings)
        return self.entry(wf.workflow)

    def delete(self, name: str) -> None:
        entry = self.entry(name)
        if entry.entity_id is None:
            raise BadRequest(f"{name} is built in ({entry.source}): it cannot be deleted")
        with session_scope(self.settings.database_url) as session:
            EntityStore(session).delete(KIND, entry.entity_id)

    def job(self, name: str) -> dg.JobDefinition:
        from pipelines.definitions import core_resources

        wf = self.workflow(name)
        try:
            job = compile_workflow(wf, workflows=self.valid())
        except ValueError as exc:
            raise BadRequest(f"workflow {name}: {exc}") from None
        # Step outputs on disk (the instance's storage, as the daemon's runs keep them), not
        # in memory as `execute_in_process` would: a retry from failure loads them.
        resources = {**core_resources(self.settings), "io_manager": dg.FilesystemIOManager()}
        defs = dg.Definitions(jobs=[job], resources=resources)
        return defs.resolve_job_def(job_name(name))

    # ---- runs ------------------------------------------------------------------------------

    def _instance(self) -> dg.DagsterInstance:
        return open_instance(self.settings, in_process=True)

    def start(
        self,
        name: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        source: str,
        wait: bool = False,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Start a run (its inputs checked first, so a bad one is an error here, not a failed
        run); the run id. Without `wait` it runs in a thread of this process."""
        wf = self.workflow(name)
        values = coerce_inputs(wf, inputs)
        job = self.job(name)
        run_id = str(uuid.uuid4())

        def execute() -> None:
            with self._instance() as instance:
                job.execute_in_process(
                    run_config=run_config(values),
                    instance=instance,
                    run_id=run_id,
                    raise_on_error=False,
                    tags={
                        TAG: name,
                        "lifeos/source": source,
                        **run_tags(),
                        **tracing.run_tags(),
                        **(tags or {}),
                    },
                )

        if wait:
            execute()
        else:
            thread = threading.Thread(target=execute, name=f"workflow-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return run_id

    def wait(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def retry(self, run_id: str, *, wait: bool = True) -> str:
        """Run again from the failed steps (Dagster's re-execution: what succeeded is kept)."""
        with self._instance() as instance:
            run = instance.get_run_by_id(run_id)
            if run is None or TAG not in run.tags:
                raise NotFound(f"no workflow run {run_id}")
            if run.status != dg.DagsterRunStatus.FAILURE:
                raise BadRequest(f"run {run_id} is {run.status.value.lower()}, not failed")
            name = run.tags[TAG]
            self.workflow(name)  # still there and valid
            recon = dg.build_reconstructable_job(
                "pipelines.workflow_runs", "job_for", reconstructable_args=(name,)
            )
            options = dg.ReexecutionOptions.from_failure(run_id, instance)
            result = dg.execute_job(
                recon,
                instance=instance,
                reexecution_options=options,
                tags={TAG: name, "lifeos/source": "retry", **run_tags()},
            )
            return result.run_id

    def runs(self, name: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        filters = dg.RunsFilter(tags={TAG: name} if name else {TAG: ""})
        with self._instance() as instance:
            if name is None:
                records = [
                    r
                    for r in instance.get_run_records(limit=limit * 5)
                    if TAG in r.dagster_run.tags
                ][:limit]
            else:
                records = list(instance.get_run_records(filters=filters, limit=limit))
            return [self._summary(r) for r in records]

    def _summary(self, record: Any) -> dict[str, Any]:
        run = record.dagster_run
        start, end = record.start_time, record.end_time
        return {
            "run_id": run.run_id,
            "workflow": run.tags.get(TAG),
            "status": run.status.value.lower(),
            "started_at": start,
            "seconds": round(end - start, 3) if start and end else None,
            "stopped": run.tags.get(STOPPED_TAG),
            "source": run.tags.get("lifeos/source"),
            "parent_run_id": run.parent_run_id,
            "cost_usd": Ledger(self.settings.database_url).spent(run_id=run.run_id),
        }

    def run(self, run_id: str) -> dict[str, Any]:
        """A run with each step's state, attempts, error and log lines, and what it saved."""
        with self._instance() as instance:
            record = next(iter(instance.get_run_records(dg.RunsFilter(run_ids=[run_id]))), None)
            if record is None or TAG not in record.dagster_run.tags:
                raise NotFound(f"no workflow run {run_id}")
            name = record.dagster_run.tags[TAG]
            try:
                wf: Workflow | None = self.workflow(name)
            except LifeOSError:
                wf = None
            steps = {s.id: StepView(s.id, s.uses) for s in wf.flat_steps()} if wf else {}
            saved: list[str] = []
            result: dict[str, Any] = {}
            for log_record in instance.all_logs(run_id):
                self._apply(steps, log_record, saved, result)
            summary = self._summary(record)
        if summary["parent_run_id"] and summary["status"] in ("success", "failure"):
            for view in steps.values():  # a retry from failure reused what succeeded
                if view.state == "pending":
                    view.state = "kept"
        return {
            **summary,
            "steps": [vars(s) for s in steps.values()],
            "outputs": saved,
            "result": result.get("value"),
        }

    @staticmethod
    def _apply(
        steps: dict[str, StepView], record: Any, saved: list[str], result: dict[str, Any]
    ) -> None:
        key = record.step_key
        if key is None:
            return
        event = record.dagster_event
        if key == "result" and event is not None and event.event_type_value == "STEP_OUTPUT":
            meta = event.step_output_data.metadata
            if RESULT in meta:
                result["value"] = meta[RESULT].value
        base = key.split(".", 1)[0].split("[", 1)[0].split("__", 1)[0]
        view = steps.get(base)
        kind = event.event_type_value if event else None
        if event is not None and kind == "ASSET_MATERIALIZATION":
            meta = event.event_specific_data.materialization.metadata
            ids = meta.get("entity_ids")
            saved.extend(list(ids.value) if ids is not None else [])
        if view is None:
            return
        if event is None:
            if record.user_message:
                view.logs.append({"level": record.level, "message": record.user_message[:1000]})
            return
        if kind == "STEP_START" and view.state in ("pending", "retrying"):
            view.state = "running"
            view.attempts += 1
        elif kind == "STEP_UP_FOR_RETRY":
            view.state = "retrying"
        elif kind == "STEP_FAILURE":
            view.state = "failed"
            error = event.step_failure_data.user_failure_data
            view.error = (
                error.description
                if error is not None and error.description
                else str(
                    event.step_failure_data.error.message if event.step_failure_data.error else ""
                )
            )[:2000]
        elif kind == "STEP_SKIPPED" and view.state == "pending":
            view.state = "skipped"
        elif kind == "STEP_OUTPUT" and event.step_output_data.output_name == "done":
            meta = event.step_output_data.metadata
            view.state = str(meta[STATE].value) if STATE in meta else "ok"
            if "items" in meta:
                view.items = int(meta["items"].value)
        elif kind == "STEP_OUTPUT" and event.step_output_data.output_name == "result":
            meta = event.step_output_data.metadata
            if "seconds" in meta:
                view.seconds = float(meta["seconds"].value)
        if kind in ("STEP_FAILURE", "STEP_UP_FOR_RETRY") or (
            record.level >= 30 and record.user_message
        ):
            view.logs.append({"level": record.level, "message": (record.user_message or "")[:1000]})

    def analytics(self, name: str, limit: int = 200) -> dict[str, Any]:
        """Success rate, average and p95 duration, and cost of a workflow's runs."""
        runs = [r for r in self.runs(name, limit) if r["status"] in ("success", "failure")]
        seconds = sorted(r["seconds"] for r in runs if r["seconds"] is not None)
        ok = sum(1 for r in runs if r["status"] == "success")
        return {
            "workflow": name,
            "runs": len(runs),
            "success_rate": round(ok / len(runs), 3) if runs else None,
            "avg_seconds": round(statistics.fmean(seconds), 3) if seconds else None,
            "p95_seconds": round(seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))], 3)
            if seconds
            else None,
            "cost_usd": round(sum(r["cost_usd"] for r in runs), 6),
        }

    # ---- schedules --------------------------------------------------------------------------

    def ticks(self) -> WorkflowSchedules:
        return WorkflowSchedules(self.settings.database_url, self.valid())

    def cost(self, run_id: str) -> float:
        return Ledger(self.settings.database_url).spent(run_id=run_id)

    def schedule(self, name: str, data: Mapping[str, Any], *, schedule_name: str = "") -> EntityOut:
        """Save a schedule of workflow `name` (cron, time zone, fixed and drawn inputs,
        budgets), checked against the workflow first."""
        from lifeos.kinds import get_registry

        body = get_registry().get(SCHEDULE_KIND).validate({**data, "workflow": name})
        self.ticks().check(body)
        with session_scope(self.settings.database_url) as session:
            return EntityStore(session).create(
                SCHEDULE_KIND,
                {"name": schedule_name or f"{name} at {body['cron']}", "data": body},
            )

    def schedules(self, name: str | None = None) -> list[dict[str, Any]]:
        """The workflow schedules (of one workflow), with their next times and last ticks."""
        ticks = self.ticks()
        with self._instance() as instance:
            ticks.reconcile(instance, self.cost)
        with session_scope(self.settings.database_url) as session:
            found = EntityStore(session).list_all(SCHEDULE_KIND, {"sort": "name"})
        out = []
        for e in found:
            if name is not None and e.data["workflow"] != name:
                continue
            history = ticks.history(e.id, limit=10)
            out.append(
                {
                    "id": e.id,
                    "name": e.name,
                    "data": e.data,
                    "valid": e.data["workflow"] in ticks.workflows,
                    "next_runs": [
                        t.isoformat() for t in next_runs(e.data["cron"], e.data["timezone"], n=3)
                    ],
                    "ticks": history,
                }
            )
        return out

    def schedule_now(self, schedule_id: str, *, wait: bool = False) -> dict[str, Any]:
        """Run a schedule once now (paused ones too): a manual tick, its inputs drawn as the
        sensor would."""
        ticks = self.ticks()
        due = ticks.manual(schedule_id)
        if due is None:
            tick = ticks.history(schedule_id, limit=1)[0]
            raise BadRequest(f"the tick was {tick['status']}: {tick['reason']}")
        run_id = self.start(due.workflow, due.inputs, source="manual", wait=wait, tags=due.tags)
        return {"tick_id": due.tick_id, "run_id": run_id, "inputs": due.inputs}

    def schedule_history(self, schedule_id: str, limit: int = 100) -> list[dict[str, Any]]:
        ticks = self.ticks()
        with self._instance() as instance:
            ticks.reconcile(instance, self.cost)
        return ticks.history(schedule_id, limit=limit)

    # ---- the review queue ------------------------------------------------------------------

    def proposals(self, status: str = "pending") -> list[dict[str, Any]]:
        with session_scope(self.settings.database_url) as session:
            return [
                e.model_dump(mode="json")
                for e in EntityStore(session).list_all("proposal")
                if e.data.get("status") == status
            ]

    def decide(self, proposal_id: str, approve: bool) -> dict[str, Any]:
        """Approve (the entity is made, linked to what the run read) or reject a proposal."""
        with session_scope(self.settings.database_url) as session:
            store = EntityStore(session)
            proposal = store.get("proposal", proposal_id)
            if proposal.data["status"] != "pending":
                raise BadRequest(f"proposal {proposal_id} is already {proposal.data['status']}")
            change: dict[str, Any] = {"status": "approved" if approve else "rejected"}
            if approve:
                kind = proposal.data["target_kind"]
                entity = store.create(kind, proposal.data["payload"])
                for target in proposal.data.get("read", []):
                    try:
                        store.link(
                            kind, entity.id, {"relation": GENERIC_RELATION, "target_id": target}
                        )
                    except NotFound:
                        continue  # deleted since
                change["entity_id"] = entity.id
            return store.update("proposal", proposal_id, {"data": change}).model_dump(mode="json")


def graph(workflow: Workflow) -> dict[str, Any]:
    """Nodes and edges of a workflow (the studio draws them as the YAML is typed)."""
    nodes: list[dict[str, Any]] = [{"id": "inputs", "label": "inputs", "type": "inputs"}]
    edges: list[dict[str, Any]] = []
    for b, block in enumerate(workflow.steps):
        group = f"parallel {b + 1}" if isinstance(block, Parallel) else None
        for step in Workflow.block(block):
            node_type = (
                "for_each"
                if step.for_each is not None
                else ("condition" if step.if_ is not None else "tool")
            )
            nodes.append(
                {
                    "id": step.id,
                    "label": f"{step.id}\n{step.uses}",
                    "type": node_type,
                    "group": group,
                }
            )
            refs = step_refs(step)
            for ref in refs:
                edges.append({"from": ref, "to": step.id, "type": "data"})
            for need in step.needs:
                if need not in refs:
                    edges.append({"from": need, "to": step.id, "type": "order"})
            if not refs and not step.needs:
                edges.append({"from": "inputs", "to": step.id, "type": "data"})
    for i, out in enumerate(workflow.outputs):
        node = f"output_{i + 1}"
        nodes.append({"id": node, "label": f"save {out.kind}", "type": "output"})
        for ref in value_refs([out.for_each, out.name, out.data, out.tags]) or ["inputs"]:
            edges.append({"from": ref, "to": node, "type": "data"})
    return {"nodes": nodes, "edges": edges}


def mermaid(workflow: Workflow) -> str:
    """The graph as Mermaid text."""
    shapes = {
        "inputs": ("([", "])"),
        "condition": ("{", "}"),
        "for_each": ("[[", "]]"),
        "output": ("[(", ")]"),
        "tool": ("[", "]"),
    }
    g = graph(workflow)
    lines = ["flowchart TD"]
    # Prefixed ids: a step may be called what Mermaid reserves (`style`, `end`, `class`).
    for n in g["nodes"]:
        left, right = shapes.get(n["type"], ("[", "]"))
        label = n["label"].replace('"', "'").replace("\n", "<br/>")
        lines.append(f'  n_{n["id"]}{left}"{label}"{right}')
    for e in g["edges"]:
        arrow = "-->" if e["type"] == "data" else "-.->"
        lines.append(f"  n_{e['from']} {arrow} n_{e['to']}")
    return "\n".join(lines)


__all__ = ["READ", "Entry", "WorkflowService", "catalog", "entries", "graph", "mermaid"]
