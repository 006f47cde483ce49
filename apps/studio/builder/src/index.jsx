// The studio's visual workflow builder: React Flow over the graph the server makes of a
// workflow's YAML (lifeos/workflows/builder.py). Every edit (a tool dropped from the palette,
// an edge drawn or deleted, a node moved or edited in the inspector) sends the whole graph
// back; the server turns it into YAML, checks it and answers with the graph of that YAML.
import React, { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  ReactFlowProvider,
  addEdge,
  applyEdgeChanges,
  applyNodeChanges,
  useReactFlow,
} from "@xyflow/react";
import yaml from "js-yaml";

const STEP_TYPES = ["tool", "workflow", "agent", "condition", "for_each"];
const BADGE = {
  tool: "tool",
  workflow: "workflow",
  agent: "agent",
  condition: "if",
  for_each: "for each",
};

function StepNode({ data, type, selected }) {
  return (
    <div className={`wfb-node wfb-${type}${selected ? " wfb-selected" : ""}`} data-node-id={data.label}>
      <Handle type="target" position={Position.Top} />
      <div className="wfb-badge">{BADGE[type]}</div>
      <div className="wfb-title">{data.label}</div>
      <div className="wfb-uses">{data.uses}</div>
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

function EndNode({ data, type }) {
  return (
    <div className={`wfb-node wfb-${type}`}>
      {type === "output" && <Handle type="target" position={Position.Top} />}
      <div className="wfb-title">{data.label}</div>
      {type === "inputs" && <div className="wfb-uses">{(data.names || []).join(", ")}</div>}
      {type === "inputs" && <Handle type="source" position={Position.Bottom} />}
    </div>
  );
}

function GroupNode({ data }) {
  return <div className="wfb-group-label">{data.label}</div>;
}

const nodeTypes = {
  ...Object.fromEntries(STEP_TYPES.map((t) => [t, StepNode])),
  inputs: EndNode,
  output: EndNode,
  parallel: GroupNode,
};

function kindOf(step) {
  if (step.for_each !== undefined && step.for_each !== null) return "for_each";
  if (step.if !== undefined && step.if !== null) return "condition";
  if ((step.uses || "").startsWith("workflow:")) return "workflow";
  if ((step.uses || "").startsWith("agent:")) return "agent";
  return "tool";
}

function freshId(base, nodes) {
  const stem = (base || "step").replace(/^workflow:|^agent:/, "").replace(/[^a-z0-9_]/g, "_");
  let i = 1;
  const taken = new Set(nodes.map((n) => n.id));
  while (taken.has(`${stem}_${i}`)) i += 1;
  return `${stem}_${i}`;
}

function absolute(node, byId) {
  let { x, y } = node.position;
  let parent = node.parentId && byId[node.parentId];
  while (parent) {
    x += parent.position.x;
    y += parent.position.y;
    parent = parent.parentId && byId[parent.parentId];
  }
  return { x, y };
}

// React Flow wants a group before the nodes inside it.
function parentsFirst(list) {
  return [...list.filter((n) => n.type === "parallel"), ...list.filter((n) => n.type !== "parallel")];
}

function Inspector({ node, nodes, tools, onApply, onClose }) {
  const step = node.data.step || {};
  const { id: _id, uses: _uses, needs: _needs, ...rest } = step;
  const [id, setId] = useState(node.id);
  const [uses, setUses] = useState(step.uses || node.data.uses || "");
  const [body, setBody] = useState(Object.keys(rest).length ? yaml.dump(rest) : "");
  const [group, setGroup] = useState(node.parentId || "");
  const [error, setError] = useState("");
  const groups = nodes.filter((n) => n.type === "parallel").map((n) => n.id);
  const apply = () => {
    let parsed = {};
    try {
      parsed = body.trim() ? yaml.load(body) : {};
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new Error("the step's keys, as a YAML mapping");
      }
    } catch (e) {
      setError(`not valid YAML: ${e.message}`);
      return;
    }
    setError("");
    onApply(node.id, { id: id.trim(), uses: uses.trim(), rest: parsed, group });
  };
  return (
    <div className="wfb-inspector" data-testid="wfb-inspector">
      <div className="wfb-inspector-head">
        <b>step</b>
        <button className="wfb-x" onClick={onClose} title="close">×</button>
      </div>
      <label>id<input value={id} onChange={(e) => setId(e.target.value)} name="wfb-id" /></label>
      <label>
        uses
        <input list="wfb-tools" value={uses} onChange={(e) => setUses(e.target.value)} name="wfb-uses" />
        <datalist id="wfb-tools">{tools.map((t) => <option key={t} value={t} />)}</datalist>
      </label>
      <label>
        parallel group
        <select value={group} onChange={(e) => setGroup(e.target.value)} name="wfb-group">
          <option value="">none</option>
          {groups.map((g) => <option key={g} value={g}>{g}</option>)}
        </select>
      </label>
      <label>
        with, if, for_each, retry, fallback… (YAML)
        <textarea rows={9} value={body} onChange={(e) => setBody(e.target.value)} name="wfb-body" />
      </label>
      {error && <div className="wfb-error">{error}</div>}
      <button className="wfb-apply" onClick={apply}>Apply</button>
    </div>
  );
}

function Builder({ initial, subscribe, emit }) {
  const [graph, setGraph] = useState(initial);
  const [nodes, setNodes] = useState(initial.nodes || []);
  const [edges, setEdges] = useState(initial.edges || []);
  const [selected, setSelected] = useState(null);
  const positions = useRef({}); // where the person put each node, kept across server answers
  const flow = useReactFlow();
  const latest = useRef({ nodes, edges, graph });
  latest.current = { nodes, edges, graph };

  // A graph from the server (the YAML was typed, or our last edit came back checked).
  useEffect(
    () =>
      subscribe((next) => {
        const placed = (next.nodes || []).map((n) => {
          const kept = positions.current[n.id];
          return kept && kept.parentId === (n.parentId || "") ? { ...n, position: kept.position } : n;
        });
        setGraph(next);
        setNodes(placed);
        setEdges(next.edges || []);
      }),
    [subscribe],
  );

  const send = useCallback(
    (nextNodes, nextEdges) => {
      const { graph: g } = latest.current;
      emit({ workflow: g.workflow || {}, nodes: nextNodes, edges: nextEdges, tools: g.tools || [] });
    },
    [emit],
  );

  const remember = (list) => {
    for (const n of list) positions.current[n.id] = { position: n.position, parentId: n.parentId || "" };
  };

  const onNodesChange = useCallback((changes) => {
    setNodes((ns) => {
      const next = applyNodeChanges(changes, ns);
      if (changes.some((c) => c.type === "remove")) {
        const ids = new Set(next.map((n) => n.id));
        const keptEdges = latest.current.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
        setEdges(keptEdges);
        send(next, keptEdges);
      }
      return next;
    });
  }, [send]);

  const onEdgesChange = useCallback((changes) => {
    setEdges((es) => {
      const next = applyEdgeChanges(changes, es);
      if (changes.some((c) => c.type === "remove")) send(latest.current.nodes, next);
      return next;
    });
  }, [send]);

  const onConnect = useCallback((params) => {
    if (params.source === "inputs" || params.source === params.target) return;
    setEdges((es) => {
      const id = `order:${params.source}->${params.target}`;
      if (es.some((e) => e.id === id)) return es;
      const next = addEdge({ ...params, id, data: { kind: "order" }, deletable: true }, es);
      send(latest.current.nodes, next);
      return next;
    });
  }, [send]);

  const onNodeDragStop = useCallback((_e, _node, dragged) => {
    remember(dragged || []);
    send(latest.current.nodes, latest.current.edges);
  }, [send]);

  const add = useCallback((what, at) => {
    const { nodes: ns, edges: es } = latest.current;
    const lowest = Math.max(0, ...ns.filter((n) => !n.parentId).map((n) => n.position.y));
    const position = at || { x: 0, y: lowest + 110 };
    let node;
    if (what === "parallel") {
      const id = freshId("parallel", ns);
      node = { id, type: "parallel", position, data: { label: "parallel" }, style: { width: 480, height: 124 } };
    } else {
      const id = freshId(what, ns);
      const step = { id, uses: what, with: {} };
      node = { id, type: kindOf(step), position, data: { label: id, uses: what, step } };
    }
    remember([node]);
    const next = [...ns, node];
    setNodes(next);
    send(next, es);
  }, [send]);

  const onDrop = useCallback((event) => {
    event.preventDefault();
    const what = event.dataTransfer.getData("application/x-lifeos-tool");
    if (!what) return;
    add(what, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
  }, [add, flow]);

  const apply = useCallback((oldId, { id, uses, rest, group }) => {
    const { nodes: ns, edges: es } = latest.current;
    const byId = Object.fromEntries(ns.map((n) => [n.id, n]));
    const step = { id, uses, ...rest };
    const next = ns.map((n) => {
      if (n.id !== oldId) return n;
      let { position } = n;
      const parentId = group || undefined;
      if ((n.parentId || "") !== (group || "")) {
        const abs = absolute(n, byId);
        const parent = parentId && byId[parentId];
        position = parent ? { x: Math.max(10, abs.x - absolute(parent, byId).x), y: 30 } : abs;
      }
      const moved = { ...n, id, type: kindOf(step), position, data: { label: id, uses, step } };
      if (parentId) Object.assign(moved, { parentId, extent: "parent" });
      else { delete moved.parentId; delete moved.extent; }
      return moved;
    });
    const renamed = es.map((e) => ({
      ...e,
      source: e.source === oldId ? id : e.source,
      target: e.target === oldId ? id : e.target,
    }));
    remember(next.filter((n) => n.id === id));
    setNodes(parentsFirst(next));
    setEdges(renamed);
    setSelected(null);
    send(parentsFirst(next), renamed);
  }, [send]);

  const tools = graph.tools || [];
  const node = selected && nodes.find((n) => n.id === selected);
  return (
    <div className="wfb-shell">
      <div className="wfb-palette" data-testid="wfb-palette">
        <div className="wfb-palette-head">drag onto the canvas (or double-click)</div>
        <div
          className="wfb-tool wfb-tool-parallel"
          draggable
          data-tool="parallel"
          onDragStart={(e) => e.dataTransfer.setData("application/x-lifeos-tool", "parallel")}
          onDoubleClick={() => add("parallel")}
        >
          ⫴ parallel group
        </div>
        {tools.map((t) => (
          <div
            key={t}
            className="wfb-tool"
            draggable
            data-tool={t}
            onDragStart={(e) => e.dataTransfer.setData("application/x-lifeos-tool", t)}
            onDoubleClick={() => add(t)}
          >
            {t}
          </div>
        ))}
      </div>
      <div className="wfb-canvas" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onConnect={onConnect}
          onNodeDragStop={onNodeDragStop}
          onNodeClick={(_e, n) => STEP_TYPES.includes(n.type) && setSelected(n.id)}
          onPaneClick={() => setSelected(null)}
          deleteKeyCode={["Delete", "Backspace"]}
          fitView
          proOptions={{ hideAttribution: false }}
        >
          <Background />
          <Controls />
          <MiniMap pannable zoomable />
        </ReactFlow>
      </div>
      {node && (
        <Inspector
          key={node.id}
          node={node}
          nodes={nodes}
          tools={tools}
          onApply={apply}
          onClose={() => setSelected(null)}
        />
      )}
    </div>
  );
}

function parse(text) {
  if (!text) return { nodes: [], edges: [], tools: [] };
  try {
    const g = typeof text === "string" ? JSON.parse(text) : text;
    return g && typeof g === "object" ? g : { nodes: [], edges: [], tools: [] };
  } catch {
    return { nodes: [], edges: [], tools: [] };
  }
}

// mount(host, initialJson, onChange) → { update(json) }: what the studio's gr.HTML calls.
function mount(host, initialJson, onChange) {
  const listeners = new Set();
  const subscribe = (fn) => {
    listeners.add(fn);
    return () => listeners.delete(fn);
  };
  const emit = (graph) => onChange(JSON.stringify(graph));
  const root = createRoot(host);
  root.render(
    <ReactFlowProvider>
      <Builder initial={parse(initialJson)} subscribe={subscribe} emit={emit} />
    </ReactFlowProvider>,
  );
  return {
    update(json) {
      const g = parse(json);
      for (const fn of listeners) fn(g);
    },
    unmount() {
      root.unmount();
    },
  };
}

window.LifeOSBuilder = { mount, kindOf };
