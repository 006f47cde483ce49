"""The workflow language: a YAML document of typed inputs, steps that use registered tools (or
other workflows), and outputs saved as entities. These models are the language's definition:
the JSON Schema the editor uses and the DSL reference in the docs are generated from them.

Values under `with`, `if`, `for_each` and the outputs may hold expressions, `${{ ... }}`,
evaluated by Jinja2's sandbox over `inputs.*`, `steps.<id>.output.*` (`.ok`, `.error`) and,
inside a `for_each`, `item` and `index`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

IDENTIFIER = r"^[a-z][a-z0-9_]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Strict):
    """A typed input of the workflow, given when a run starts (or drawn by a schedule)."""

    type: Literal["string", "integer", "number", "boolean", "array", "object", "entity"] = Field(
        "string", description="`entity`: the id of a library entity (of `kind`, when given)"
    )
    description: str = ""
    default: Any = Field(None, description="the value when a run does not give one")
    required: bool = Field(False, description="a run must give it (there is no default)")
    kind: str | None = Field(None, description="for `entity`: the kind it must be")
    choices: list[Any] | None = Field(
        None, description="the allowed values (a schedule draws one at random)"
    )
    minimum: float | None = None
    maximum: float | None = None


class Retry(_Strict):
    """Run the step again when it fails: Dagster's `RetryPolicy`, so each retry is in the
    run's event log and timeline."""

    max_attempts: int = Field(3, ge=1, le=20, description="attempts in all, the first included")
    delay_s: float = Field(1.0, ge=0, le=3600, description="wait before the first retry")
    backoff: Literal["constant", "linear", "exponential"] = "exponential"
    on: list[str] = Field(
        default_factory=lambda: ["any"],
        description=(
            "which errors are retried: `any`, `timeout`, or an error's class name or code "
            "(`ProviderError`, `invalid_model_output`, ...)"
        ),
    )


class Fallback(_Strict):
    """What runs when the step has failed for the last time: another tool, or the same tool
    on another model alias."""

    uses: str | None = Field(None, description="another tool; default: the step's own")
    model: str | None = Field(None, description="a model alias for the tool (configs/models.yaml)")
    with_: dict[str, Any] | None = Field(
        None, alias="with", description="its inputs; default: the step's `with`"
    )


class Budget(_Strict):
    max_cost_usd: float | None = Field(None, gt=0, description="stop the run past this spend")
    max_duration_s: float | None = Field(None, gt=0, description="stop the run past this time")


class Step(_Strict):
    id: str = Field(pattern=IDENTIFIER, description="how later steps refer to this one")
    uses: str = Field(
        description="a registered tool (`lifeos workflows tools`), or `workflow:<name>`"
    )
    name: str = Field("", description="a label for the UI")
    with_: dict[str, Any] = Field(
        default_factory=dict, alias="with", description="the tool's inputs (expressions allowed)"
    )
    if_: str | bool | None = Field(
        None, alias="if", description="run only when this expression is true; else skipped"
    )
    for_each: str | list[Any] | None = Field(
        None,
        description="run once per item of this list (`item`, `index`); outputs gathered in order",
    )
    needs: list[str] = Field(
        default_factory=list, description="steps to wait for besides those it reads"
    )
    retry: Retry | None = None
    fallback: Fallback | None = None
    continue_on_error: bool = Field(
        False, description="a failure marks the step failed and the run goes on"
    )
    timeout_s: float | None = Field(None, gt=0, le=86_400, description="per attempt")

    def expressions(self) -> list[Any]:
        """The values whose expressions it evaluates: what it reads of other steps."""
        from lifeos.workflows.expressions import braced

        values: list[Any] = [self.with_, self.for_each]
        if isinstance(self.if_, str):
            values.append(braced(self.if_))
        if self.fallback is not None and self.fallback.with_:
            values.append(self.fallback.with_)
        return values


class Parallel(_Strict):
    """Steps that run side by side (with a multiprocess executor); the step after the group
    waits for all of them."""

    parallel: list[Step] = Field(min_length=1)


def _block_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "parallel" if "parallel" in value else "step"
    return "parallel" if isinstance(value, Parallel) else "step"


Block = Annotated[
    Annotated[Step, Tag("step")] | Annotated[Parallel, Tag("parallel")],
    Discriminator(_block_kind),
]


class OutputSpec(_Strict):
    """An entity the run saves, linked to every entity the run read."""

    kind: str = Field(description="the entity kind")
    name: str = Field(description="its name (an expression, usually)")
    data: dict[str, Any] | str = Field(default_factory=dict, description="its data")
    tags: list[str] | str = Field(default_factory=list)
    for_each: str | None = Field(None, description="one entity per item of this list")
    review: bool = Field(
        False, description="put it in the review queue: nothing is saved until approved"
    )


class Workflow(_Strict):
    workflow: str = Field(pattern=IDENTIFIER, description="the workflow's name")
    description: str = ""
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    steps: list[Block] = Field(min_length=1)
    outputs: list[OutputSpec] = Field(default_factory=list)
    result: dict[str, Any] = Field(
        default_factory=dict, description="what a workflow that uses this one gets back"
    )
    budget: Budget = Field(default_factory=Budget)
    tags: list[str] = Field(default_factory=list)

    def flat_steps(self) -> list[Step]:
        return [s for block in self.steps for s in self.block(block)]

    @staticmethod
    def block(block: Step | Parallel) -> list[Step]:
        return list(block.parallel) if isinstance(block, Parallel) else [block]


def json_schema() -> dict[str, Any]:
    """The language's JSON Schema (published at /api/v1/workflows/schema)."""
    schema = Workflow.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Life-OS workflow"
    return schema
