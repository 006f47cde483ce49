"""Checking a workflow before it is saved, with the line and column of every error: the YAML
and the schema, then what only the catalog knows (unknown tools and steps, cycles, missing
inputs, an output's type against the input it feeds, bad expressions)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from jinja2 import nodes
from pydantic import BaseModel, ValidationError

from lifeos.errors import ValidationFailed
from lifeos.workflows import expressions as ex
from lifeos.workflows.dsl import OutputSpec, Parallel, Step, Workflow

Path = tuple[str | int, ...]
WORKFLOW_PREFIX = "workflow:"


@dataclass(frozen=True)
class Problem:
    message: str
    path: Path = ()
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path)
        return (
            f"line {self.line}, column {self.column}"
            + (f" ({where})" if where else "")
            + (f": {self.message}")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "loc": list(self.path),
            "msg": self.message,
        }


@dataclass
class Catalog:
    """What a workflow may use: tools by name (their input and output models) and the other
    workflows (by name)."""

    tools: Mapping[str, tuple[type[BaseModel], type[BaseModel]]]
    workflows: Mapping[str, Workflow] = field(default_factory=dict)
    kinds: Iterable[str] | None = None


@dataclass
class Checked:
    workflow: Workflow | None
    problems: list[Problem]
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.workflow is not None and not self.problems

    def raise_for_problems(self, source: str = "workflow") -> Workflow:
        if self.workflow is None or self.problems:
            first = self.problems[0] if self.problems else Problem("invalid")
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            raise ValidationFailed(
                f"{source}: {first}{more}", details=[p.to_dict() for p in self.problems]
            )
        return self.workflow


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML 1.2 booleans: only `true` and `false` (`on:` under `retry` stays a key, as in
    GitHub Actions files). libyaml's parser when PyYAML has it (5x faster; the same marks)."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(text: str) -> Any:
    return yaml.load(text, Loader=Loader)  # noqa: S506  # nosec B506 - a SafeLoader


class _Positions:
    """Where each path of the YAML document starts (from PyYAML's node marks)."""

    def __init__(self, text: str) -> None:
        self.marks: dict[Path, tuple[int, int]] = {}
        try:
            root = yaml.compose(text, Loader=Loader)
        except yaml.YAMLError:
            return
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: Path) -> None:
        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                self.marks[sub] = (key.start_mark.line + 1, key.start_mark.column + 1)
                self._walk(value, sub)
                self.marks[(*sub, "__value__")] = (
                    value.start_mark.line + 1,
                    value.start_mark.column + 1,
                )
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*path, i))

    def at(self, path: Path, *, value: bool = False) -> tuple[int, int]:
        if value and (*path, "__value__") in self.marks:
            return self.marks[(*path, "__value__")]
        for end in range(len(path), -1, -1):
            if path[:end] in self.marks:
                return self.marks[path[:end]]
        return (1, 1)


def check_text(text: str, catalog: Catalog) -> Checked:
    """Parse and check a workflow's YAML."""
    try:
        data = load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = getattr(exc, "problem", None) or str(exc)
        return Checked(None, [Problem(f"not valid YAML: {problem}", (), line, col)], text)
    pos = _Positions(text)
    if not isinstance(data, dict):
        return Checked(
            None, [Problem("a workflow is a mapping with `workflow:` and `steps:`")], text
        )
    try:
        workflow = Workflow.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            path = _yaml_path(err["loc"])
            problems.append(Problem(err["msg"], path, *pos.at(path)))
        return Checked(None, sorted(_unique(problems), key=lambda p: (p.line, p.column)), text)
    problems = check(workflow, catalog, pos.at)
    return Checked(workflow, sorted(problems, key=lambda p: (p.line, p.column)), text)


def _yaml_path(loc: Iterable[Any]) -> Path:
    """Pydantic's error location as the document's path (the tag of a step's union dropped)."""
    path: list[str | int] = []
    for part in loc:
        tag = part in ("step", "parallel") and path and isinstance(path[-1], int)
        if not tag:
            path.append(part)
    return tuple(path)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[Path, str]] = set()
    out = []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            out.append(p)
    return out


Locate = Callable[..., tuple[int, int]]


def check(workflow: Workflow, catalog: Catalog, at: Locate | None = None) -> list[Problem]:
    return _Checker(workflow, catalog, at or (lambda path, value=False: (1, 1))).run()


class _Checker:
    def __init__(self, workflow: Workflow, catalog: Catalog, at: Locate) -> None:
        self.wf = workflow
        self.catalog = catalog
        self.at = at
        self.problems: list[Problem] = []
        self.paths: dict[str, Path] = {}
        for b, block in enumerate(workflow.steps):
            if isinstance(block, Parallel):
                for i, step in enumerate(block.parallel):
                    self.paths.setdefault(step.id, ("steps", b, "parallel", i))
            else:
                self.paths.setdefault(block.id, ("steps", b))
        self.order = [s.id for s in workflow.flat_steps()]
        self.types: dict[str, dict[str, Any]] = {}  # step id -> output schema

    def problem(self, message: str, path: Path, *, value: bool = False) -> None:
        self.problems.append(Problem(message, path, *self.at(path, value=value)))

    def run(self) -> list[Problem]:
        seen: set[str] = set()
        for step in self.wf.flat_steps():
            if step.id in seen:
                self.problem(f"step id `{step.id}` is used twice", (*self.paths[step.id], "id"))
            seen.add(step.id)
        for spec_name, spec in self.wf.inputs.items():
            if spec.required and spec.default is not None:
                self.problem("a required input has no default", ("inputs", spec_name))
            if (
                spec.kind
                and self.catalog.kinds is not None
                and spec.kind not in set(self.catalog.kinds)
            ):
                self.problem(f"unknown entity kind `{spec.kind}`", ("inputs", spec_name, "kind"))
        deps = {s.id: self._deps(s) for s in self.wf.flat_steps()}
        self._cycles(deps)
        for step in self.wf.flat_steps():
            self._step(step)
        for i, out in enumerate(self.wf.outputs):
            self._output(i, out)
        for key, value in self.wf.result.items():
            self._values(value, ("result", key), scope=None)
        return _unique(self.problems)

    # ---- references --------------------------------------------------------------------------

    def _deps(self, step: Step) -> set[str]:
        return set(step.needs) | ex.steps_read(step.expressions())

    def _cycles(self, deps: dict[str, set[str]]) -> None:
        state: dict[str, int] = {}

        def visit(node: str, trail: list[str]) -> None:
            state[node] = 1
            for dep in sorted(deps.get(node, ())):
                if dep not in deps:
                    continue
                if state.get(dep) == 1:
                    cycle = [*trail[trail.index(dep) :], dep] if dep in trail else [node, dep]
                    self.problem(
                        "steps depend on each other in a cycle: " + " → ".join(cycle),
                        self.paths[node],
                    )
                elif state.get(dep) is None:
                    visit(dep, [*trail, dep])
            state[node] = 2

        for node in deps:
            if node not in state:
                visit(node, [node])

    # ---- steps -------------------------------------------------------------------------------

    def _step(self, step: Step) -> None:
        path = self.paths[step.id]
        scope_item: dict[str, Any] | None = None
        for need in step.needs:
            if need not in self.paths:
                self.problem(f"`needs` names no step `{need}`", (*path, "needs"))
        if step.if_ is not None and isinstance(step.if_, str):
            self._values(ex.braced(step.if_), (*path, "if"), scope=step)
        if step.for_each is not None:
            schema = self._values(step.for_each, (*path, "for_each"), scope=step)
            if schema and schema.get("type") not in (None, "array"):
                self.problem(
                    f"`for_each` needs a list, and this is {_type_name(schema)}",
                    (*path, "for_each"),
                    value=True,
                )
            scope_item = (schema or {}).get("items", {}) if schema else {}
        target = self._target(step.uses, (*path, "uses"))
        given = self._with(step, step.with_, (*path, "with"), target, scope_item)
        if target is not None:
            fields = target[0]
            required = [n for n, f in fields.items() if f.get("__required__")]
            missing = [n for n in required if n not in given]
            if missing:
                self.problem(f"`{step.uses}` needs input(s) {', '.join(missing)}", (*path, "with"))
        if step.fallback is not None:
            fb = step.fallback
            if fb.uses is None and fb.model is None and fb.with_ is None:
                self.problem(
                    "a fallback names another tool (`uses`), model or inputs (`with`)",
                    (*path, "fallback"),
                )
            if fb.uses is not None:
                fb_target = self._target(fb.uses, (*path, "fallback", "uses"))
                self._with(
                    step, fb.with_ or step.with_, (*path, "fallback", "with"), fb_target, scope_item
                )
        if step.retry is not None and step.retry.max_attempts > 1 and not step.retry.on:
            self.problem("`retry.on` names no error", (*path, "retry", "on"))
        out_schema = target[1] if target else {}
        if step.for_each is not None:
            out_schema = {"type": "array", "items": out_schema}
        self.types[step.id] = out_schema

    def _target(
        self, uses: str, path: Path
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]] | None:
        """The input fields (name → schema, `__required__` marked) and output schema of what
        a step uses, or a problem when nothing of that name is registered."""
        if uses.startswith(WORKFLOW_PREFIX):
            name = uses[len(WORKFLOW_PREFIX) :]
            other = self.catalog.workflows.get(name)
            if name == self.wf.workflow or other is None:
                why = (
                    "a workflow cannot use itself"
                    if name == self.wf.workflow
                    else (f"no workflow `{name}`")
                )
                self.problem(why, path, value=True)
                return None
            fields = {
                k: {**_input_schema(v), "__required__": v.required} for k, v in other.inputs.items()
            }
            return fields, {"type": "object"}
        tool = self.catalog.tools.get(uses)
        if tool is None:
            known = ", ".join(sorted(self.catalog.tools)) or "none"
            self.problem(f"no tool `{uses}` is registered (tools: {known})", path, value=True)
            return None
        return model_fields(tool[0]), resolved(tool[1].model_json_schema())

    def _with(
        self,
        step: Step,
        values: dict[str, Any],
        path: Path,
        target: tuple[dict[str, dict[str, Any]], dict[str, Any]] | None,
        item: dict[str, Any] | None,
    ) -> set[str]:
        for key, value in values.items():
            schema = self._values(value, (*path, key), scope=step, item=item)
            if target is None:
                continue
            fields = target[0]
            if key not in fields:
                self.problem(
                    f"`{step.uses}` has no input `{key}` (it takes {', '.join(fields) or 'none'})",
                    (*path, key),
                )
                continue
            want = fields[key]
            have = schema if schema is not None else _literal_schema(value)
            if have and not _compatible(have, want):
                self.problem(
                    f"`{key}` of `{step.uses}` takes {_type_name(want)}, "
                    f"and this gives {_type_name(have)}",
                    (*path, key),
                    value=True,
                )
        return set(values)

    def _output(self, i: int, out: OutputSpec) -> None:
        path: Path = ("outputs", i)
        if self.catalog.kinds is not None and out.kind not in set(self.catalog.kinds):
            self.problem(f"unknown entity kind `{out.kind}`", (*path, "kind"), value=True)
        item = None
        if out.for_each is not None:
            schema = self._values(out.for_each, (*path, "for_each"), scope=None)
            item = (schema or {}).get("items", {}) if schema else {}
        for key in ("name", "data", "tags"):
            self._values(getattr(out, key), (*path, key), scope=None, item=item)

    # ---- expressions -------------------------------------------------------------------------

    def _values(
        self, value: Any, path: Path, *, scope: Step | None, item: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Check each expression in `value`; the schema of the value when it is one whole
        expression that is a plain reference (None when unknown)."""
        if isinstance(value, dict):
            for k, v in value.items():
                self._values(v, (*path, k), scope=scope, item=item)
            return None
        if isinstance(value, list):
            for n, v in enumerate(value):
                self._values(v, (*path, n), scope=scope, item=item)
            return None
        schema: dict[str, Any] | None = None
        only = ex.whole(value)
        for source in ex.expressions_in(value):
            try:
                tree = ex.parse(source)
            except ex.ExpressionError as exc:
                self.problem(exc.message, path, value=True)
                continue
            for ref in ex.references(tree):
                got = self._reference(ref, path, scope, item)
                if only is not None and isinstance(
                    tree, nodes.Getattr | nodes.Getitem | nodes.Name
                ):
                    schema = got
        return schema

    def _reference(
        self, ref: tuple[str | int, ...], path: Path, scope: Step | None, item: Any
    ) -> dict[str, Any] | None:
        head = ref[0]
        if head in ex.GLOBALS:
            return None
        if head not in ex.NAMES:
            self.problem(
                f"unknown name `{head}` (expressions read {', '.join(ex.NAMES)})",
                path,
                value=True,
            )
            return None
        if head in ("item", "index"):
            if item is None:
                self.problem(f"`{head}` is only known inside a `for_each`", path, value=True)
                return None
            return {"type": "integer"} if head == "index" else _descend(item, ref[1:], ref)
        if head == "run":
            return None
        if head == "inputs":
            if len(ref) < 2:
                return {"type": "object"}
            spec = self.wf.inputs.get(str(ref[1]))
            if spec is None:
                known = ", ".join(self.wf.inputs) or "none"
                self.problem(f"no input `{ref[1]}` (inputs: {known})", path, value=True)
                return None
            found_input: dict[str, Any] | None = _descend(_input_schema(spec), ref[2:], ref) or None
            return found_input
        # steps.<id>.output|ok|error
        if len(ref) < 2:
            return {"type": "object"}
        sid = str(ref[1])
        if sid not in self.paths:
            self.problem(f"no step `{sid}`", path, value=True)
            return None
        if scope is not None and sid == scope.id:
            self.problem(f"step `{sid}` reads its own output", path, value=True)
            return None
        if scope is not None and self.order.index(sid) > self.order.index(scope.id):
            self.problem(f"step `{sid}` runs after `{scope.id}`: move it up", path, value=True)
            return None
        if len(ref) < 3:
            return {"type": "object"}
        part = ref[2]
        if part == "ok":
            return {"type": "boolean"}
        if part == "error":
            return {"type": "string"}
        if part != "output":
            self.problem(
                f"`steps.{sid}` has `output`, `ok` and `error`, not `{part}`", path, value=True
            )
            return None
        schema = self.types.get(sid)
        if schema is None:
            return None
        found = _descend(schema, ref[3:], ref)
        if found is False:
            field_path = ".".join(str(p) for p in ref)
            self.problem(f"`{field_path}`: the step's output has no such field", path, value=True)
            return None
        return found or None


def _input_schema(spec: Any) -> dict[str, Any]:
    kind = {"entity": "string"}.get(spec.type, spec.type)
    return {"type": kind}


def resolved(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its `$ref`s to `$defs` replaced by what they name (one level of
    recursion is enough for tool models)."""
    defs = schema.get("$defs", {})

    def walk(node: Any, depth: int = 0) -> Any:
        if isinstance(node, dict):
            if "$ref" in node and depth < 8:
                target = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
                return walk(target, depth + 1)
            return {k: walk(v, depth) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v, depth) for v in node]
        return node

    out: dict[str, Any] = walk(schema)
    return out


def model_fields(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    schema = resolved(model.model_json_schema())
    required = set(schema.get("required", []))
    return {
        name: {**prop, "__required__": name in required}
        for name, prop in schema.get("properties", {}).items()
    }


def _descend(schema: dict[str, Any], rest: tuple[str | int, ...], ref: Any) -> Any:
    """The schema at `rest` inside `schema`; False when a field is not there; {} unknown."""
    for part in rest:
        schema = _plain(schema)
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            if schema.get("type") == "array":
                schema = schema.get("items", {})
                continue
            return {}
        props = schema.get("properties")
        if props is None:
            return {}
        if part not in props:
            return False
        schema = props[part]
    return _plain(schema)


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, null]` as X."""
    options = schema.get("anyOf")
    if options:
        real = [o for o in options if o.get("type") != "null"]
        if len(real) == 1:
            return {**{k: v for k, v in schema.items() if k != "anyOf"}, **real[0]}
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return set().union(*(_types(o) for o in options))
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    if kind is None:
        return {"enum"} if "enum" in schema or "const" in schema else set()
    return {kind}


def _compatible(have: dict[str, Any], want: dict[str, Any]) -> bool:
    got, needs = _types(have), _types(want)
    if not got or not needs or "enum" in needs or "enum" in got:
        return True
    if "integer" in got and "number" in needs:
        return True
    return bool(got & needs)


def _literal_schema(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        return None if "${{" in value else {"type": "string"}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, list):
        return {"type": "array"}
    if isinstance(value, dict):
        return {"type": "object"}
    return None


def _type_name(schema: dict[str, Any]) -> str:
    kinds = sorted(_types(schema)) or ["anything"]
    return " or ".join({"array": "a list", "object": "an object"}.get(k, f"a {k}") for k in kinds)
