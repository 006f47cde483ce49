"""Workflows: what the engine costs over calling the same tools directly, for a 10-step
workflow of real tool calls (the tagger on its local model; goal < 5 %), and the time
to check and compile 100 templates into Dagster jobs (and to load them as a code location).

    .venv/bin/python benchmarks/workflows.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402
from lifeos.db import migrate  # noqa: E402
from lifeos.db.engine import session_scope  # noqa: E402
from lifeos.llm.router import get_router  # noqa: E402
from lifeos.plugins import get_plugins  # noqa: E402
from lifeos.settings import Settings  # noqa: E402
from lifeos.store import EntityStore  # noqa: E402
from lifeos.workflows import check_text  # noqa: E402

STEPS = 10
ROUNDS = 3
TEMPLATES = 100


def chain(name: str, rounds: int) -> str:
    """`STEPS` tagger calls, each reading the one before (a real chain, not ten copies)."""
    lines = [f"workflow: {name}", "steps:"]
    for i in range(STEPS):
        text = f"a red wool coat, version {rounds}.{i}"
        if i:
            text += f" ${{{{ steps.s{i - 1}.output.tags | join(' ') }}}}"
        lines += [
            f"  - id: s{i}",
            "    uses: tagger",
            f"    with: {{kind: clothing_item, name: 'coat {i}', text: \"{text}\"}}",
        ]
    return "\n".join(lines) + "\n"


def template(i: int) -> str:
    """A template with fan-out, a parallel block, a condition, a retry and a fallback."""
    return f"""workflow: bench_{i}
inputs:
  n: {{type: integer, default: 2}}
steps:
  - id: pick
    uses: library_pick
    with: {{kind: character, count: "${{{{ inputs.n }}}}", missing_ok: true}}
  - parallel:
      - id: tags
        uses: tagger
        for_each: ${{{{ steps.pick.output.items }}}}
        with: {{kind: character, name: "${{{{ item.name }}}}"}}
        retry: {{max_attempts: 2, delay_s: 0}}
      - id: more
        uses: library_pick
        with: {{kind: outfit, missing_ok: true}}
        fallback: {{with: {{kind: clothing_item, missing_ok: true}}}}
  - id: last
    uses: library_pick
    if: steps.more.ok
    with: {{kind: art_style, missing_ok: true}}
outputs:
  - kind: character
    for_each: ${{{{ steps.pick.output.items }}}}
    name: "${{{{ item.name }}}} {i}"
    review: true
"""


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LIFEOS_HOME"] = tmp
        settings = Settings(home=Path(tmp))
        migrate.upgrade(settings.database_url)
        from pipelines.workflow_runs import WorkflowService, catalog
        from pipelines.workflows import compile_workflow

        service = WorkflowService(settings)
        host = get_plugins()
        router = get_router(settings.database_url)  # the one the runs use: one model load
        tagger = host.tools["tagger"](router)  # the tool itself, as a caller would use it
        tagger.run({"kind": "clothing_item", "name": "warm-up"})  # the model is loaded once

        direct, engine, in_steps = [], [], []
        for r in range(ROUNDS):
            # Direct: the same ten calls, each on the tags of the one before.
            t0 = time.perf_counter()
            tags: list[str] = []
            for i in range(STEPS):
                text = f"a red wool coat, version {r}.{i}" + (f" {' '.join(tags)}" if i else "")
                out = tagger.run({"kind": "clothing_item", "name": f"coat {i}", "text": text})
                tags = out.tags
            direct.append(time.perf_counter() - t0)
            # The engine: the workflow's Dagster run, in process, from start to its end.
            name = f"chain_{r}"
            service.save(chain(name, r + ROUNDS), reload=False)  # other texts: no cache hits
            t0 = time.perf_counter()
            run_id = service.start(name, {}, source="benchmark", wait=True)
            engine.append(time.perf_counter() - t0)
            run = service.run(run_id)
            assert run["status"] == "success", run
            in_steps.append(sum(s["seconds"] or 0 for s in run["steps"]))

        # 100 templates: checked and compiled one by one, then loaded as the code location.
        texts = [template(i) for i in range(TEMPLATES)]
        cat = catalog(host, {})
        t0 = time.perf_counter()
        checked = [check_text(t, cat).raise_for_problems() for t in texts]
        check_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for wf in checked:
            compile_workflow(wf)
        compile_s = time.perf_counter() - t0
        with session_scope(settings.database_url) as session:
            store = EntityStore(session)
            for wf, text in zip(checked, texts, strict=True):
                store.create("workflow", {"name": wf.workflow, "data": {"yaml": text}})
        from pipelines.definitions import build_definitions

        t0 = time.perf_counter()
        defs = build_definitions(host, settings)
        jobs = sum(1 for j in defs.resolve_all_job_defs() if j.name.startswith("workflow__bench_"))
        load_s = time.perf_counter() - t0

    d, e = statistics.median(direct), statistics.median(engine)
    check_ms, compile_ms = check_s * 1000, compile_s * 1000
    each = f"({check_ms / TEMPLATES:.1f} ms each)", f"({compile_ms / TEMPLATES:.1f} ms each)"
    overhead = (e - d) / d
    per_step_ms = (e - d) / STEPS * 1000
    body = f"""## Workflows (`benchmarks/workflows.py`)

| measure | result | goal |
|---|---|---|
| {STEPS} tagger calls (local model), called directly | {d:.2f} s | |
| the same {STEPS} calls as a workflow's Dagster run (in process) | {e:.2f} s | |
| engine overhead, whole run | {overhead:+.1%} ({per_step_ms:.0f} ms a step) | < 5 % |
| the tools' own time inside the run (sum of steps) | {statistics.median(in_steps):.2f} s | |
| check {TEMPLATES} templates (for_each, parallel, if, retry) | {check_ms:.0f} ms {each[0]} | |
| compile them into Dagster jobs | {compile_ms:.0f} ms {each[1]} | |
| load the code location with them saved in the library ({jobs} of its jobs) | {load_s:.2f} s | |

Medians of {ROUNDS} rounds, direct and engine alternating; each round's texts are new, so no
call is answered from a cache. The engine's cost per step is Dagster's: an op's start and end
events, its output stored, the ledger and run-tag checks of the budget.
"""
    print(body)
    write_section("workflows", body)


if __name__ == "__main__":
    main()
