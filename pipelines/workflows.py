"""A workflow as a Dagster job: each step an op, `for_each` a dynamic fan-out gathered in
order, `retry` a `RetryPolicy` with back-off, `if` an output left unsent (so what reads it is
skipped, not failed), `parallel` blocks side by side. Every run, retry, log line and timeline
is Dagster's own; what the ops do is `lifeos.workflows.engine`'s.

Each step op sends two outputs: `result` (what later steps read, left out when the step was
skipped) and `done` (always: the next block waits on it). Its `done` metadata says the step's
state (`ok`, `failed`, `skipped`, `fallback`) and the entities it read, which is what the run
views and the outputs' links are built from."""

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg

from assets.sources import LIBRARY
from lifeos.db.engine import session_scope
from lifeos.errors import BudgetExceeded, LifeOSError
from lifeos.kinds import GENERIC_RELATION
from lifeos.ledger import Ledger, run_id_var
from lifeos.store import EntityStore
from lifeos.workflows import engine
from lifeos.workflows import expressions as ex
from lifeos.workflows.dsl import OutputSpec, Parallel, Step, Workflow
from lifeos.workflows.validate import WORKFLOW_PREFIX

JOB_PREFIX = "workflow__"
TAG = "lifeos/workflow"
STOPPED_TAG = "lifeos/stopped"
# A run's own budget (a schedule's per-run and per-day limits), on top of the workflow's.
BUDGET_TAGS = {"max_cost_usd": "lifeos/max_cost_usd", "max_duration_s": "lifeos/max_duration_s"}
STATE = "lifeos/state"
READ = "lifeos/read"
RESULT = "lifeos/result"
ASSET_PREFIX = "workflows"

Tools = Mapping[str, type[Any]] | None


def job_name(workflow: str) -> str:
    return f"{JOB_PREFIX}{workflow}"


def run_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """A workflow run's config: its (checked) inputs, and Dagster's console quiet."""
    return {
        "ops": {"inputs": {"config": {"values": dict(values)}}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }


def _input_name(step_id: str) -> str:
    return f"s_{step_id}"


def step_refs(step: Step) -> list[str]:
    """The steps whose results this step reads (not those it only waits for)."""
    return sorted(ex.steps_read(step.expressions()))


def value_refs(value: Any) -> list[str]:
    return sorted(ex.steps_read(value))


class _Ctx:
    """What one op needs to run steps: the tools, the router (run id in the ledger) and the
    settings, from the `workbench` resource."""

    def __init__(self, context: dg.OpExecutionContext, tools: Tools) -> None:
        self.context = context
        self.workbench = context.resources.workbench
        self.tools = tools

    def run(
        self,
        uses: str,
        values: Mapping[str, Any],
        *,
        model: str | None = None,
        timeout_s: float | None = None,
    ) -> tuple[Any, list[str]]:
        with self.workbench.router() as router:
            token = run_id_var.set(self.context.run_id)
            try:
                return engine.ToolRunner(router, self.tools).run(
                    uses, values, model=model, timeout_s=timeout_s
                )
            finally:
                run_id_var.reset(token)


def _results(inputs: Mapping[str, Any]) -> dict[str, engine.StepResult]:
    return {
        name[2:]: engine.StepResult.from_dict(value)
        for name, value in inputs.items()
        if name.startswith("s_") and value is not None
    }


def budget_limits(wf: Workflow, tags: Mapping[str, str]) -> dict[str, float]:
    """The tighter of the workflow's budget and the run's own (its tags)."""
    limits = {}
    for key, tag in BUDGET_TAGS.items():
        given = [v for v in (getattr(wf.budget, key), tags.get(tag)) if v is not None]
        if given:
            limits[key] = min(float(v) for v in given)
    return limits


def _check_budget(context: dg.OpExecutionContext, wf: Workflow, database_url: str) -> None:
    """Stop the run cleanly, its reason in a run tag, once it has spent or taken too much."""
    limits = budget_limits(wf, context.run.tags)
    reason = None
    if "max_cost_usd" in limits:
        spent = Ledger(database_url).spent(run_id=context.run_id)
        if spent >= limits["max_cost_usd"]:
            reason = f"budget: spent ${spent:.4f} of ${limits['max_cost_usd']:.4f}"
    if reason is None and "max_duration_s" in limits:
        record = context.instance.get_run_record_by_id(context.run_id)
        started = record.start_time if record and record.start_time else None
        if started is not None and time.time() - started >= limits["max_duration_s"]:
            reason = f"budget: ran {time.time() - started:.1f} s of {limits['max_duration_s']:g} s"
    if reason is not None:
        context.instance.add_run_tags(context.run_id, {STOPPED_TAG: reason})
        raise dg.Failure(reason, allow_retries=False, metadata={"stopped": reason})


def _attempt(ctx: _Ctx, step: Step, scope: dict[str, Any], *, label: str) -> engine.StepResult:
    """One attempt of a step: its tool; when that fails for the last time, its fallback;
    then `continue_on_error` or a failure naming the step. A retried error is raised for
    Dagster's RetryPolicy."""
    context = ctx.context
    started = time.perf_counter()
    try:
        values = ex.evaluate(step.with_, scope)
        out, read = ctx.run(step.uses, values, timeout_s=step.timeout_s)
        return engine.StepResult(
            out, read=read, used=step.uses, seconds=time.perf_counter() - started
        )
    except BudgetExceeded:
        raise
    except Exception as exc:  # noqa: BLE001 - every tool error is the step's to handle
        error = exc
    message = _message(error)
    retries = (step.retry.max_attempts - 1) if step.retry else 0
    if engine.retried(error, step.retry) and context.retry_number < retries:
        context.log.warning(f"{label}: attempt {context.retry_number + 1} failed: {message}")
        raise error
    if step.fallback is not None:
        fb = step.fallback
        uses = fb.uses or step.uses
        context.log.warning(f"{label} failed ({message}); its fallback `{uses}` runs")
        try:
            values = ex.evaluate(fb.with_ if fb.with_ is not None else step.with_, scope)
            out, read = ctx.run(uses, values, model=fb.model, timeout_s=step.timeout_s)
            return engine.StepResult(
                out,
                read=read,
                used=uses + (f"@{fb.model}" if fb.model else ""),
                fallback=True,
                seconds=time.perf_counter() - started,
            )
        except BudgetExceeded:
            raise
        except Exception as exc:  # noqa: BLE001
            message = f"{message}; the fallback failed too: {_message(exc)}"
    if step.continue_on_error:
        context.log.error(f"{label} failed and the run goes on: {message}")
        return engine.StepResult(
            None, ok=False, error=message, used=step.uses, seconds=time.perf_counter() - started
        )
    raise dg.Failure(
        f"step `{label}` failed: {message}", allow_retries=False, metadata={"error": message}
    )


def _message(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, LifeOSError) else str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:2000]


def _condition_false(context: dg.OpExecutionContext, step: Step, scope: dict[str, Any]) -> bool:
    """Whether the step's `if` says to skip it (said in the run's log)."""
    if step.if_ is None or ex.truthy(step.if_, scope):
        return False
    context.log.info(f"{step.id}: skipped, its condition is false")
    return True


def _done(state: str, read: list[str], extra: Mapping[str, Any] | None = None) -> dg.Output[None]:
    return dg.Output(
        None, "done", metadata={STATE: state, READ: dg.MetadataValue.json(read), **(extra or {})}
    )


def _result_out(result: engine.StepResult) -> dg.Output[Any]:
    state = "ok" if result.ok else "failed"
    return dg.Output(
        result.to_dict(),
        "result",
        metadata={STATE: state, "used": result.used, "seconds": round(result.seconds, 3)},
    )


class _Compiler:
    """Builds the ops of one workflow; a step that uses another workflow becomes a Dagster
    graph of that workflow's ops (`ns` keeps their definitions' names apart)."""

    def __init__(
        self,
        wf: Workflow,
        tools: Tools,
        workflows: Mapping[str, Workflow] | None = None,
        *,
        ns: str = "",
        stack: tuple[str, ...] = (),
    ) -> None:
        self.wf = wf
        self.tools = tools
        self.workflows = dict(workflows or {})
        # Op names are unique in a Dagster repository: each is the workflow's name first.
        self.ns = ns or f"{wf.workflow}__"
        self.stack = (*stack, wf.workflow)

    # ---- op definitions ------------------------------------------------------------------

    def _ins(self, step_refs: list[str], *, after: bool) -> dict[str, dg.In]:
        ins = {"inputs": dg.In(dg.Any)}
        ins.update({_input_name(r): dg.In(dg.Any) for r in step_refs})
        if after:
            ins["after"] = dg.In(dg.Nothing)
        return ins

    def inputs_op(self) -> dg.OpDefinition:
        wf = self.wf

        def compute(context: dg.OpExecutionContext, _inputs: dict[str, Any]) -> Iterator[Any]:
            values = engine.coerce_inputs(wf, context.op_config["values"])
            context.log.info(f"inputs: {json.dumps(values, default=str)[:2000]}")
            yield dg.Output(values, "inputs")

        return dg.OpDefinition(
            name=f"{self.ns}inputs",
            ins={},
            outs={"inputs": dg.Out(dg.Any)},
            compute_fn=compute,
            config_schema={"values": dg.Field(dg.Permissive(), default_value={})},
            description=f"the inputs of {wf.workflow}, checked",
        )

    def step_op(self, step: Step, *, after: bool) -> dg.OpDefinition:
        wf, tools = self.wf, self.tools

        def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[Any]:
            ctx = _Ctx(context, tools)
            scope = engine.context(inputs["inputs"], _results(inputs), run_id=context.run_id)
            if _condition_false(context, step, scope):
                yield _done("skipped", [])
                return
            _check_budget(context, wf, ctx.workbench.database_url)
            result = _attempt(ctx, step, scope, label=step.id)
            _check_budget(context, wf, ctx.workbench.database_url)
            yield _result_out(result)
            state = "ok" if result.ok else "failed"
            if result.ok and result.fallback:
                state = "fallback"
            yield _done(state, result.read, {"used": result.used})

        return dg.OpDefinition(
            name=f"{self.ns}{step.id}",
            ins=self._ins(step_refs(step), after=after),
            outs={"result": dg.Out(dg.Any, is_required=False), "done": dg.Out(dg.Nothing)},
            compute_fn=compute,
            retry_policy=_retry_policy(step),
            required_resource_keys={"workbench"},
            description=step.name or f"uses {step.uses}",
            tags={"lifeos/uses": step.uses},
        )

    def fan_out_op(self, step: Step, *, after: bool) -> dg.OpDefinition:
        wf = self.wf

        def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[Any]:
            scope = engine.context(inputs["inputs"], _results(inputs), run_id=context.run_id)
            if _condition_false(context, step, scope):
                yield _done("skipped", [])
                return
            _check_budget(context, wf, context.resources.workbench.database_url)
            items = ex.evaluate(step.for_each, scope)
            if not isinstance(items, list):
                raise dg.Failure(
                    f"step `{step.id}`: `for_each` gave {type(items).__name__}, not a list",
                    allow_retries=False,
                )
            context.log.info(f"{step.id}: {len(items)} item(s)")
            # An empty list still sends one marker, so the gather runs and gives [].
            for index, item in enumerate(items):
                yield dg.DynamicOutput({"item": item, "index": index}, str(index + 1), "items")
            if not items:
                yield dg.DynamicOutput({"item": None, "index": -1}, "none", "items")

        return dg.OpDefinition(
            name=f"{self.ns}{step.id}__items",
            ins=self._ins(step_refs(step), after=after),
            outs={
                "items": dg.DynamicOut(dg.Any, is_required=False),
                "done": dg.Out(dg.Nothing, is_required=False),
            },
            compute_fn=compute,
            required_resource_keys={"workbench"},
            description=f"the items of {step.id}",
        )

    def item_op(self, step: Step) -> dg.OpDefinition:
        wf, tools = self.wf, self.tools

        def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[Any]:
            each = inputs["each"]
            if each["index"] < 0:
                yield dg.Output(None, "result")
                return
            ctx = _Ctx(context, tools)
            scope = engine.context(
                inputs["inputs"],
                _results(inputs),
                run_id=context.run_id,
                item=each["item"],
                index=each["index"],
            )
            _check_budget(context, wf, ctx.workbench.database_url)
            label = f"{step.id}[{each['index']}]"
            result = _attempt(ctx, step, scope, label=label)
            yield dg.Output(
                {"index": each["index"], **result.to_dict()},
                "result",
                metadata={STATE: "ok" if result.ok else "failed", "used": result.used},
            )

        ins = {"each": dg.In(dg.Any), **self._ins(step_refs(step), after=False)}
        return dg.OpDefinition(
            name=f"{self.ns}{step.id}",
            ins=ins,
            outs={"result": dg.Out(dg.Any)},
            compute_fn=compute,
            retry_policy=_retry_policy(step),
            required_resource_keys={"workbench"},
            description=step.name or f"uses {step.uses}, once per item",
            tags={"lifeos/uses": step.uses},
        )

    def gather_op(self, step: Step) -> dg.OpDefinition:
        def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[Any]:
            items = sorted((r for r in inputs["results"] if r), key=lambda r: r["index"])
            failed = [r for r in items if not r["ok"]]
            read = sorted({i for r in items for i in r["read"]})
            result = engine.StepResult(
                [r["output"] for r in items],
                ok=not failed,
                error="; ".join(f"item {r['index']}: {r['error']}" for r in failed) or None,
                read=read,
                used=step.uses,
                seconds=sum(r["seconds"] for r in items),
            )
            yield _result_out(result)
            yield _done("ok" if result.ok else "failed", read, {"items": len(items)})

        return dg.OpDefinition(
            name=f"{self.ns}{step.id}__gather",
            ins={"results": dg.In(dg.Any)},
            outs={"result": dg.Out(dg.Any, is_required=False), "done": dg.Out(dg.Nothing)},
            compute_fn=compute,
            description=f"the results of {step.id}, in order",
        )

    def output_op(self, index: int, spec: OutputSpec, refs: list[str]) -> dg.OpDefinition:
        wf = self.wf

        def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[Any]:
            scope = engine.context(inputs["inputs"], _results(inputs), run_id=context.run_id)
            read = _reads_so_far(context)
            ids = save_outputs(
                context.resources.workbench.database_url,
                wf,
                spec,
                scope,
                read=read,
                run_id=context.run_id,
            )
            context.log.info(
                f"saved {len(ids)} {'proposal' if spec.review else spec.kind}(s), "
                f"linked to {len(read)} entities read"
            )
            yield dg.AssetMaterialization(
                asset_key=[ASSET_PREFIX, wf.workflow],
                metadata={
                    "kind": "proposal" if spec.review else spec.kind,
                    "entity_ids": dg.MetadataValue.json(ids),
                    "read": dg.MetadataValue.json(read),
                },
            )
            yield dg.Output(ids, "result", metadata={STATE: "ok", "count": len(ids)})

        return dg.OpDefinition(
            name=f"{self.ns}output_{index + 1}",
            ins={**self._ins(refs, after=False), "after": dg.In(dg.Nothing)},
            outs={"result": dg.Out(dg.Any)},
            compute_fn=compute,
            required_resource_keys={"workbench"},
            description=f"save {spec.kind} entities" + (" for review" if spec.review else ""),
        )

    # ---- the job -------------------------------------------------------------------------

    def build(self, inputs: Any) -> tuple[dict[str, Any], list[Any]]:
        """Invoke every step's ops (inside a job's or a graph's body): each step's `result`
        handle, and every `done`."""
        results: dict[str, Any] = {}
        every_done: list[Any] = []
        for block in self.wf.steps:
            dones = []
            for step in Workflow.block(block):
                kwargs = {"inputs": inputs, **{_input_name(r): results[r] for r in step_refs(step)}}
                # Every step before this block, not only the one just before: Dagster skips
                # a step only when all it waits on were skipped.
                after = {"after": list(every_done)} if every_done else {}
                if step.uses.startswith(WORKFLOW_PREFIX):
                    call, skipped = self.call_op(step, after=bool(after)).alias(step.id)(
                        **kwargs, **after
                    )
                    handles: Any = self.sub_graph(step)(call)
                    result, sub_done = handles
                    dones.extend([sub_done, skipped])
                elif step.for_each is None:
                    result, done = self.step_op(step, after=bool(after)).alias(step.id)(
                        **kwargs, **after
                    )
                    dones.append(done)
                else:
                    items, skipped = self.fan_out_op(step, after=bool(after)).alias(
                        f"{step.id}__items"
                    )(**kwargs, **after)
                    item = self.item_op(step).alias(step.id)
                    mapped = items.map(lambda each, s=item, kw=kwargs: s(each=each, **kw))
                    result, done = self.gather_op(step).alias(f"{step.id}__gather")(
                        results=mapped.collect()
                    )
                    dones.extend([done, skipped])
                results[step.id] = result
            every_done.extend(dones)
        return results, every_done

    def call_op(self, step: Step, *, after: bool) -> dg.OpDefinition:
        """The inputs of the workflow a step uses, evaluated and checked."""
        wf, sub = self.wf, self._sub(step)

        def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[Any]:
            scope = engine.context(inputs["inputs"], _results(inputs), run_id=context.run_id)
            if _condition_false(context, step, scope):
                yield _done("skipped", [])
                return
            _check_budget(context, wf, context.resources.workbench.database_url)
            try:
                values = engine.coerce_inputs(sub, ex.evaluate(step.with_, scope))
            except LifeOSError as exc:
                raise dg.Failure(f"step `{step.id}`: {exc.message}", allow_retries=False) from exc
            yield dg.Output(values, "call")

        return dg.OpDefinition(
            name=f"{self.ns}{step.id}",
            ins=self._ins(step_refs(step), after=after),
            outs={
                "call": dg.Out(dg.Any, is_required=False),
                "done": dg.Out(dg.Nothing, is_required=False),
            },
            compute_fn=compute,
            required_resource_keys={"workbench"},
            description=f"the inputs of the workflow {sub.workflow}",
        )

    def _sub(self, step: Step) -> Workflow:
        name = step.uses[len(WORKFLOW_PREFIX) :]
        if name in self.stack:
            raise ValueError(
                f"workflows use each other in a cycle: {' → '.join((*self.stack, name))}"
            )
        if name not in self.workflows:
            raise ValueError(f"step {step.id}: no workflow {name!r}")
        return self.workflows[name]

    def sub_graph(self, step: Step) -> dg.GraphDefinition:
        sub_wf = self._sub(step)
        sub = _Compiler(
            sub_wf, self.tools, self.workflows, ns=f"{self.ns}{step.id}__", stack=self.stack
        )

        @dg.graph(
            name=f"{self.ns}{step.id}__{sub_wf.workflow}",
            description=f"the workflow {sub_wf.workflow}",
            out={"result": dg.GraphOut(), "done": dg.GraphOut()},
        )
        def uses_workflow(call: Any) -> Any:
            results, dones = sub.build(call)
            refs = value_refs(sub_wf.result)
            result, done = sub.return_op(refs).alias("result")(
                inputs=call, after=dones, **{_input_name(r): results[r] for r in refs}
            )
            return {"result": result, "done": done}

        return uses_workflow

    def return_op(self, refs: list[str]) -> dg.OpDefinition:
        """What a workflow gives the step that used it (its `result`)."""
        wf = self.wf

        def compute(context: dg.OpExecutionContext, inputs: dict[str, Any]) -> Iterator[Any]:
            scope = engine.context(inputs["inputs"], _results(inputs), run_id=context.run_id)
            result = engine.StepResult(
                ex.evaluate(wf.result, scope), used=f"workflow:{wf.workflow}"
            )
            out = _result_out(result)
            yield dg.Output(
                out.value,
                "result",
                metadata={**out.metadata, RESULT: dg.MetadataValue.json(result.output)},
            )
            yield _done("ok", [])

        return dg.OpDefinition(
            name=f"{self.ns}result",
            ins={**self._ins(refs, after=False), "after": dg.In(dg.Nothing)},
            outs={"result": dg.Out(dg.Any), "done": dg.Out(dg.Nothing)},
            compute_fn=compute,
            description=f"the result of {wf.workflow}",
        )

    # ---- the job -------------------------------------------------------------------------

    def job(self) -> dg.JobDefinition:
        wf = self.wf
        has_parallel = any(isinstance(b, Parallel) for b in wf.steps)

        @dg.job(
            name=job_name(wf.workflow),
            description=wf.description or f"the workflow {wf.workflow}",
            tags={TAG: wf.workflow},
            executor_def=dg.multiprocess_executor if has_parallel else dg.in_process_executor,
        )
        def workflow_job() -> None:
            inputs = self.inputs_op().alias("inputs")()
            results, every_done = self.build(inputs)
            for index, spec in enumerate(wf.outputs):
                refs = value_refs([spec.for_each, spec.name, spec.data, spec.tags])
                self.output_op(index, spec, refs).alias(f"output_{index + 1}")(
                    inputs=inputs,
                    after=every_done,
                    **{_input_name(r): results[r] for r in refs},
                )
            if wf.result:
                refs = value_refs(wf.result)
                self.return_op(refs).alias("result")(
                    inputs=inputs, after=every_done, **{_input_name(r): results[r] for r in refs}
                )

        return workflow_job


def _retry_policy(step: Step) -> dg.RetryPolicy | None:
    if step.retry is None or step.retry.max_attempts <= 1:
        return None
    backoff = {
        "constant": None,
        "linear": dg.Backoff.LINEAR,
        "exponential": dg.Backoff.EXPONENTIAL,
    }[step.retry.backoff]
    return dg.RetryPolicy(
        max_retries=step.retry.max_attempts - 1, delay=step.retry.delay_s, backoff=backoff
    )


def compile_workflow(
    workflow: Workflow, *, tools: Tools = None, workflows: Mapping[str, Workflow] | None = None
) -> dg.JobDefinition:
    """The workflow's Dagster job (`workflow__<name>`); `workflows` are those its steps may
    use. `tools` replaces the plugins' tools (tests and benchmarks)."""
    return _Compiler(workflow, tools, workflows).job()


def asset_spec(workflow: Workflow) -> dg.AssetSpec:
    """What the workflow saves, as an asset its runs materialize (lineage of its entities)."""
    kinds = sorted({o.kind if not o.review else "proposal" for o in workflow.outputs})
    return dg.AssetSpec(
        key=[ASSET_PREFIX, workflow.workflow],
        deps=[LIBRARY],  # what it reads of the library (its outputs link to each entity read)
        code_version=hashlib.sha256(workflow.model_dump_json().encode()).hexdigest()[:16],
        description=f"entities saved by the workflow {workflow.workflow}",
        group_name="workflows",
        kinds={"lifeos"},
        metadata={"entity kinds": ", ".join(kinds)},
    )


def _reads_so_far(context: dg.OpExecutionContext) -> list[str]:
    """The entities every step of the run read (their `done` metadata)."""
    read: set[str] = set()
    for record in context.instance.all_logs(
        context.run_id, of_type=dg.DagsterEventType.STEP_OUTPUT
    ):
        event = record.dagster_event
        data = event.step_output_data if event else None
        if data is None or data.output_name != "done":
            continue
        value = data.metadata.get(READ)
        if value is not None:
            read.update(value.value or [])  # type: ignore[arg-type]
    return sorted(read)


def save_outputs(
    database_url: str,
    wf: Workflow,
    spec: OutputSpec,
    scope: dict[str, Any],
    *,
    read: list[str],
    run_id: str,
) -> list[str]:
    """The entities of one `outputs` entry (one per item with `for_each`), each linked to the
    entities the run read; with `review`, proposals to approve instead."""
    items: list[tuple[Any, int | None]] = [(None, None)]
    if spec.for_each is not None:
        found = ex.evaluate(spec.for_each, scope)
        if not isinstance(found, list):
            raise dg.Failure(f"output {spec.kind}: `for_each` is not a list")
        items = [(item, i) for i, item in enumerate(found)]
    ids = []
    with session_scope(database_url) as session:
        store = EntityStore(session)
        existing = {e.id for e in store.get_many(read)} if read else set()
        for item, index in items:
            local = {**scope, "item": item, "index": index} if index is not None else scope
            name = str(ex.evaluate(spec.name, local) or "")[:200] or wf.workflow
            data = ex.evaluate(spec.data, local) or {}
            tags = ex.evaluate(spec.tags, local) or []
            tags = [tags] if isinstance(tags, str) else [str(t) for t in tags]
            if not isinstance(data, dict):
                raise dg.Failure(
                    f"output {spec.kind}: `data` gave {type(data).__name__}, not a mapping"
                )
            payload = {"name": name, "data": data, "tags": tags}
            if spec.review:
                entity = store.create(
                    "proposal",
                    {
                        "name": name,
                        "tags": tags,
                        "data": {
                            "target_kind": spec.kind,
                            "payload": payload,
                            "workflow": wf.workflow,
                            "run_id": run_id,
                            "read": sorted(existing),
                        },
                    },
                )
            else:
                entity = store.create(spec.kind, payload)
                for target in sorted(existing):
                    store.link(
                        spec.kind, entity.id, {"relation": GENERIC_RELATION, "target_id": target}
                    )
            ids.append(entity.id)
    return ids
