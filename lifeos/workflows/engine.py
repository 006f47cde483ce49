"""What one step does, whoever schedules it: evaluate its inputs, run its tool (with a timeout,
on another model when asked), and say which errors its `retry` covers. The Dagster ops of a
compiled workflow (`pipelines.workflows`) call these; retries, fan-out and skips are Dagster's."""

from __future__ import annotations

import concurrent.futures
import contextvars
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from lifeos.errors import LifeOSError
from lifeos.store import reading
from lifeos.workflows.dsl import InputSpec, Retry, Workflow


class StepTimeout(LifeOSError):
    code = "timeout"


class StepFailed(LifeOSError):
    code = "step_failed"


class WorkflowInputError(LifeOSError):
    code = "validation_failed"
    http_status = 422


@dataclass
class StepResult:
    """What later steps read as `steps.<id>`: its output, whether it worked, why not, and
    the entities it read."""

    output: Any = None
    ok: bool = True
    error: str | None = None
    read: list[str] = field(default_factory=list)
    used: str = ""  # the tool (or `tool@alias`) that gave the output
    fallback: bool = False  # the step's fallback gave it
    seconds: float = 0.0

    def view(self) -> dict[str, Any]:
        return {"output": self.output, "ok": self.ok, "error": self.error}

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "ok": self.ok,
            "error": self.error,
            "read": self.read,
            "used": self.used,
            "fallback": self.fallback,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepResult:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def context(
    inputs: Mapping[str, Any],
    steps: Mapping[str, StepResult],
    *,
    run_id: str = "",
    item: Any = None,
    index: int | None = None,
) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "inputs": dict(inputs),
        "steps": {k: v.view() for k, v in steps.items()},
        "run": {"id": run_id},
    }
    if index is not None:
        ctx["item"], ctx["index"] = item, index
    return ctx


def retried(exc: BaseException, retry: Retry | None) -> bool:
    """Whether `retry` covers this error: `any`, `timeout`, its class (or a base class) by
    name, or its code."""
    if retry is None or retry.max_attempts <= 1:
        return False
    names = {c.__name__ for c in type(exc).__mro__}
    code = getattr(exc, "code", None)
    return any(
        on == "any"
        or on in names
        or on == code
        or (on == "timeout" and isinstance(exc, TimeoutError | StepTimeout))
        for on in retry.on
    )


class ToolRunner:
    """Runs a registered tool by name on a dict of inputs; the output as JSON data."""

    def __init__(self, router: Any, tools: Mapping[str, type[Any]] | None = None) -> None:
        self.router = router
        self._tools = tools

    @property
    def tools(self) -> Mapping[str, type[Any]]:
        if self._tools is not None:
            return self._tools
        from lifeos.plugins import get_plugins

        return get_plugins().tools

    def run(
        self,
        uses: str,
        values: Mapping[str, Any],
        *,
        model: str | None = None,
        timeout_s: float | None = None,
    ) -> tuple[Any, list[str]]:
        """The tool's output and the ids of the entities it read."""
        cls = self.tools.get(uses)
        if cls is None:
            raise StepFailed(f"no tool `{uses}` is registered now (was its plugin turned off?)")

        def call() -> tuple[Any, list[str]]:
            with reading() as read:
                tool = cls(self.router)
                if model:
                    tool.model_alias = model
                out = tool.run(dict(values))
            data = out.model_dump(mode="json") if isinstance(out, BaseModel) else out
            return data, sorted(read)

        if timeout_s is None:
            return call()
        pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"step-{uses}")
        future = pool.submit(contextvars.copy_context().run, call)
        try:
            return future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            raise StepTimeout(f"`{uses}` took longer than {timeout_s:g} s") from None
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def coerce_inputs(workflow: Workflow, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's inputs: defaults filled in, types checked; a clear error naming each bad
    or missing one."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(workflow.inputs))
    problems = [f"`{u}` is not an input of {workflow.workflow}" for u in unknown]
    values: dict[str, Any] = {}
    for name, spec in workflow.inputs.items():
        if name not in given:
            if spec.required:
                problems.append(f"input `{name}` is required")
            values[name] = spec.default
            continue
        try:
            values[name] = _coerce(spec, given[name])
        except ValueError as exc:
            problems.append(f"input `{name}`: {exc}")
    if problems:
        raise WorkflowInputError(
            "; ".join(problems), details=[{"loc": ["inputs"], "msg": p} for p in problems]
        )
    return values


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "entity": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _coerce(spec: InputSpec, value: Any) -> Any:
    if spec.type in ("integer", "number") and isinstance(value, str):
        try:
            value = int(value) if spec.type == "integer" else float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a {spec.type}") from None
    if spec.type == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if spec.type == "array" and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    wanted = _TYPES[spec.type]
    if not isinstance(value, wanted) or (
        spec.type in ("integer", "number") and isinstance(value, bool)
    ):
        raise ValueError(f"{value!r} is not a {spec.type}")
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"{value!r} is not one of {spec.choices}")
    if spec.minimum is not None and value < spec.minimum:  # type: ignore[operator]
        raise ValueError(f"{value} is less than {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:  # type: ignore[operator]
        raise ValueError(f"{value} is more than {spec.maximum:g}")
    return value
