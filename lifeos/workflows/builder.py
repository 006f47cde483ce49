"""The visual builder's model: a workflow as React Flow nodes and edges, and back.

Every key of the YAML travels with the graph (each step node carries its step, the graph its
header: inputs, outputs, result, budget...), so YAML → graph → YAML loses nothing but comments
and layout. In the graph:

- a step is a node, drawn by what it is: `tool`, `workflow` (it uses another workflow),
  `agent`, `condition` (it has an `if`) or `for_each`;
- a `parallel` block is a group node holding its steps (React Flow's sub flows);
- `data` edges are what a step's expressions read (they follow the expressions, so they are
  drawn, not edited), `order` edges are its `needs` (drawn and deleted in the builder);
- the steps run top to bottom: the builder's vertical order is the YAML's order, kept
  consistent with the edges (a step never runs before one it reads or needs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from lifeos.errors import ValidationFailed
from lifeos.workflows import expressions as ex
from lifeos.workflows.dsl import Parallel, Step, Workflow

ROW, COLUMN, GROUP_PAD = 110, 230, 30
NODE_W, NODE_H = 190, 64


def dump(wf: Workflow) -> str:
    """The workflow as YAML, keys in the language's order, only those that were given."""
    data = wf.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _step_dict(step: Step) -> dict[str, Any]:
    return step.model_dump(mode="json", by_alias=True, exclude_unset=True)


def node_kind(step: Step) -> str:
    if step.for_each is not None:
        return "for_each"
    if step.if_ is not None:
        return "condition"
    if step.uses.startswith("workflow:"):
        return "workflow"
    if step.uses.startswith("agent:"):
        return "agent"
    return "tool"


def to_graph(wf: Workflow, *, tools: list[str] | None = None) -> dict[str, Any]:
    """React Flow's nodes and edges for the workflow, laid out top to bottom."""
    header = wf.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude={"steps"})
    nodes: list[dict[str, Any]] = [
        {
            "id": "inputs",
            "type": "inputs",
            "position": {"x": 0, "y": 0},
            "data": {"label": "inputs", "names": list(wf.inputs)},
            "deletable": False,
        }
    ]
    edges: list[dict[str, Any]] = []
    y = ROW
    for b, block in enumerate(wf.steps):
        steps = Workflow.block(block)
        parent = None
        if isinstance(block, Parallel):
            parent = f"parallel_{b + 1}"
            nodes.append(
                {
                    "id": parent,
                    "type": "parallel",
                    "position": {"x": -GROUP_PAD, "y": y - GROUP_PAD},
                    "data": {"label": "parallel"},
                    "style": {
                        "width": COLUMN * (len(steps) - 1) + NODE_W + 2 * GROUP_PAD,
                        "height": NODE_H + 2 * GROUP_PAD,
                    },
                }
            )
        for i, step in enumerate(steps):
            position = (
                {"x": GROUP_PAD + COLUMN * i, "y": GROUP_PAD}
                if parent
                else {"x": COLUMN * i, "y": y}
            )
            node: dict[str, Any] = {
                "id": step.id,
                "type": node_kind(step),
                "position": position,
                "data": {"label": step.id, "uses": step.uses, "step": _step_dict(step)},
            }
            if parent:
                node |= {"parentId": parent, "extent": "parent"}
            nodes.append(node)
            reads = sorted(ex.steps_read(step.expressions()))
            for ref in reads:
                edges.append(_edge(ref, step.id, "data"))
            for need in step.needs:
                edges.append(_edge(need, step.id, "order"))
            if not reads and not step.needs:
                edges.append(_edge("inputs", step.id, "data"))
        y += ROW + (2 * GROUP_PAD if parent else 0)
    for i, out in enumerate(wf.outputs):
        node_id = f"output_{i + 1}"
        nodes.append(
            {
                "id": node_id,
                "type": "output",
                "position": {"x": COLUMN * i, "y": y},
                "data": {"label": f"save {out.kind}" + (" (review)" if out.review else "")},
                "deletable": False,
            }
        )
        for ref in sorted(ex.steps_read([out.for_each, out.name, out.data, out.tags])):
            edges.append(_edge(ref, node_id, "data"))
    return {"workflow": header, "nodes": nodes, "edges": edges, "tools": sorted(tools or [])}


def _edge(source: str, target: str, kind: str) -> dict[str, Any]:
    return {
        "id": f"{kind}:{source}->{target}",
        "source": source,
        "target": target,
        "data": {"kind": kind},
        "animated": kind == "data",
        "deletable": kind == "order",
    }


def from_graph(graph: Mapping[str, Any]) -> Workflow:
    """The workflow a builder's graph stands for: its header, its step nodes in vertical
    order (kept after every step they read or need), `parallel` groups as blocks and
    `order` edges as `needs`. A graph that is not a workflow is a ValidationFailed."""
    nodes = {n["id"]: n for n in graph.get("nodes", [])}
    steps: dict[str, dict[str, Any]] = {}
    where: dict[str, tuple[float, float]] = {}
    parents: dict[str, str] = {}
    for node_id, node in nodes.items():
        if node.get("type") in ("inputs", "output", "parallel"):
            continue
        step = dict(node.get("data", {}).get("step") or {})
        step["id"] = node_id
        step.setdefault("uses", node.get("data", {}).get("uses", ""))
        step.pop("needs", None)  # the order edges are the truth
        steps[node_id] = step
        x, y = _absolute(nodes, node)
        where[node_id] = (y, x)
        if node.get("parentId") in nodes:
            parents[node_id] = node["parentId"]
    for e in graph.get("edges", []):
        kind = (e.get("data") or {}).get("kind", "order")
        if kind == "order" and e.get("target") in steps and e.get("source") in steps:
            needs = steps[e["target"]].setdefault("needs", [])
            if e["source"] not in needs:
                needs.append(e["source"])
    blocks = _blocks(steps, where, parents, nodes)
    body = {**dict(graph.get("workflow") or {}), "steps": blocks}
    try:
        return Workflow.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from exc


def _absolute(nodes: Mapping[str, Any], node: Mapping[str, Any]) -> tuple[float, float]:
    x, y = float(node["position"]["x"]), float(node["position"]["y"])
    parent = nodes.get(node.get("parentId") or "")
    if parent is not None:
        px, py = _absolute(nodes, parent)
        x, y = x + px, y + py
    return x, y


def _blocks(
    steps: dict[str, dict[str, Any]],
    where: dict[str, tuple[float, float]],
    parents: dict[str, str],
    nodes: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Steps grouped into blocks (a parallel group is one), ordered top to bottom and then
    moved after every block they depend on (a stable topological order)."""
    units: dict[str, list[str]] = {}
    for step_id in sorted(steps, key=lambda s: (where[s], s)):
        units.setdefault(parents.get(step_id, step_id), []).append(step_id)
    unit_of = {s: u for u, members in units.items() for s in members}
    depends: dict[str, set[str]] = {u: set() for u in units}
    for step_id, step in steps.items():
        try:
            read = ex.steps_read(Step.model_validate(step).expressions())
        except (ValidationError, ValueError):
            read = set()  # the check names what is wrong with it
        for ref in read | set(step.get("needs", [])):
            if ref in unit_of and unit_of[ref] != unit_of[step_id]:
                depends[unit_of[step_id]].add(unit_of[ref])
    ordered: list[str] = []
    placed: set[str] = set()
    pending = list(units)  # in vertical order
    while pending:
        ready = next((u for u in pending if depends[u] <= placed), pending[0])  # a cycle: as is
        pending.remove(ready)
        ordered.append(ready)
        placed.add(ready)
    blocks: list[dict[str, Any]] = []
    for unit in ordered:
        members = [steps[s] for s in units[unit]]
        if unit in nodes and nodes[unit].get("type") == "parallel":
            blocks.append({"parallel": sorted(members, key=lambda m: where[m["id"]][::-1])})
        else:
            blocks.extend(members)
    return blocks
