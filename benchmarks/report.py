"""Write a benchmark's results into its own section of docs/benchmarks.md.

Every section ends with the machine, the date, the code and the command that produced it; what
was measured before lives in docs/journal/. The rules Q&A evaluation has no script of its own:

    .venv/bin/python benchmarks/report.py rules-qa SET_DIR [SET_DIR ...]

runs `lifeos eval rules SET_DIR --json` for each question set, each in a new, empty library
(so sets with books of the same games do not answer from each other's rulebooks), and writes
one table of their metrics (`make bench` does this for the dev set and our three own sets).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

The current figures, written by the scripts in `benchmarks/` (`make bench` runs them all); each
owns one section, which says the machine, the date, the code and the command that produced it.
What was measured before, why the numbers are what they are, and the ideas tried and not kept
are in the [journal](journal/index.md).
"""


def cpu() -> str:
    """The CPU's name and its widest vector unit, which llama.cpp reads prompts with: two
    2-core machines of this project, both "AMD EPYC", answered in 2.3 s (AVX-512) and 10 s
    (AVX2) at the median."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = re.search(r"^model name\s*:\s*(.+)$", info, re.MULTILINE)
    listed = re.search(r"^flags\s*:\s*(.+)$", info, re.MULTILINE)
    flags = set(listed.group(1).split()) if listed else set()
    simd = next(
        (
            label
            for flag, label in (
                ("amx_tile", "AMX"),
                ("avx512f", "AVX-512"),
                ("avx2", "AVX2"),
                ("avx", "AVX"),
            )
            if flag in flags
        ),
        "no AVX",
    )
    return f"{name.group(1).strip() if name else platform.machine()} ({simd})"


def machine() -> str:
    return f"{cpu()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "code of no git checkout"
    return f"code as of {head}" + (" with uncommitted changes" if dirty else "")


def this_command() -> str:
    """The command line that runs this process, as someone at the repository root types it."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = str(script.relative_to(ROOT))
    except ValueError:
        shown = str(script)
    python = Path(sys.executable)
    exe = ".venv/bin/python" if python.parent == ROOT / ".venv" / "bin" else "python"
    return shlex.join([exe, shown, *sys.argv[1:]])


def write_section(name: str, body: str, *, command: str | None = None) -> Path:
    """Replace the section `name` of docs/benchmarks.md (or add it at the end) with `body`,
    followed by the line that says when, where and how it was measured. `command` defaults to
    the command line of the running benchmark."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else HEADER
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    measured = (
        f"_Measured {stamp} on {machine()}, {code_version()}, by `{command or this_command()}`._"
    )
    section = f"<!-- {name}:start -->\n{body.rstrip()}\n\n{measured}\n<!-- {name}:end -->"
    pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else (text.rstrip() + "\n\n" + section + "\n")
    )
    DOC.write_text(text)
    return DOC


# ---- rules Q&A: `lifeos eval rules` over question sets ---------------------------------------

RULES_QA_COLUMNS = (
    ("recall_at_1", "recall@1"),
    ("recall_at_5", "recall@5"),
    ("citation_page_accuracy", "citation page acc."),
    ("answer_correctness", "answer correctness"),
    ("abstention_precision", "abst. precision"),
    ("abstention_recall", "abst. recall"),
    ("false_abstention_rate", "false abst."),
)


# A set is named after its folder; the rulebooks we were given live in shared/data/rulebooks.
SET_NAMES = {"rulebooks": "dev"}


def _shown_path(folder: Path) -> str:
    """A set's folder as the command line names it: relative to the repository root."""
    return os.path.relpath(folder.resolve(), ROOT)


def eval_rules(folder: Path) -> tuple[dict[str, float], list[str]]:
    """`lifeos eval rules FOLDER --json` in a new library: (its metrics, the chat models it
    called, from that library's ledger: a model that failed and fell back shows its failures)."""
    lifeos = Path(sys.executable).parent / "lifeos"
    with tempfile.TemporaryDirectory(prefix="lifeos-bench-") as home:
        env = {
            **os.environ,
            "LIFEOS_HOME": home,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "DO_NOT_TRACK": "1",
        }
        env.pop("LIFEOS_DATABASE_URL", None)
        subprocess.run([str(lifeos), "db", "upgrade"], env=env, check=True, capture_output=True)
        done = subprocess.run(
            [str(lifeos), "eval", "rules", _shown_path(folder), "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"lifeos eval rules {folder} failed ({done.returncode})")
        metrics = json.loads(done.stdout.strip().splitlines()[-1])
        with closing(sqlite3.connect(Path(home) / "lifeos.db")) as db:
            calls = list(
                db.execute(
                    "SELECT model, kind, count(*), sum(NOT ok) FROM tool_calls"
                    " WHERE kind != 'embed' GROUP BY model, kind ORDER BY model, kind"
                )
            )
    models = []
    for model in sorted({row[0] for row in calls}):
        rows = [row for row in calls if row[0] == model]
        failed = sum(row[3] or 0 for row in rows)
        counts = ", ".join(f"{n} {kind}" for _, kind, n, _ in rows)
        models.append(f"{model} ({counts} calls{f', {failed} failed' if failed else ''})")
    return metrics, models


def _number(value: object) -> str:
    return "–" if value is None else f"{value}"


def rules_qa_body(results: dict[str, tuple[dict[str, float], list[str]]]) -> str:
    head = "| set | questions | " + " | ".join(label for _, label in RULES_QA_COLUMNS)
    lines = [
        "## Rules Q&A (`lifeos eval rules SET --json`)",
        "",
        textwrap.fill(
            "Each question set (rulebook PDFs + `questions.jsonl`) ingested into a new library"
            " and every question asked; models loaded before the first question. Sets: `dev`"
            " the rulebooks we were given (every setting was fitted on it), `own` our second set"
            " (never tuned on), `messy` the dev books with real-world PDF flaws, `web` the dev"
            " books printed by a browser.",
            width=96,
        ),
        "",
        head + " | p50 / p95 | command |",
        "|---|---|" + "---|" * len(RULES_QA_COLUMNS) + "---|---|",
    ]
    models: set[str] = set()
    for folder, (metrics, answered) in results.items():
        models.update(answered)
        cells = [_number(metrics.get(key)) for key, _ in RULES_QA_COLUMNS]
        p50, p95 = metrics.get("latency_p50_s"), metrics.get("latency_p95_s")
        latency = "–" if p50 is None else f"{p50} s / {_number(p95)} s"
        name = SET_NAMES.get(Path(folder).name, Path(folder).name)
        lines.append(
            f"| {name} | {_number(metrics.get('n_questions'))} | "
            + " | ".join(cells)
            + f" | {latency} | `lifeos eval rules {folder} --json` |"
        )
    lines += ["", f"Models called: {'; '.join(sorted(models)) or 'none'}."]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "rules-qa":
        print(__doc__, file=sys.stderr)
        return 2
    results = {}
    for folder in argv[1:]:
        print(f"lifeos eval rules {folder} --json …", file=sys.stderr, flush=True)
        results[_shown_path(Path(folder))] = eval_rules(Path(folder))
    print(f"wrote {write_section('rules_qa', rules_qa_body(results))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
