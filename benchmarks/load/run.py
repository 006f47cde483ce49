"""Load, stress and spike tests with Locust, headless, on SQLite and Postgres.

For each backend: a library of 10,000 entities plus the demo (its games), one rulebook
ingested through the API, one real API server (uvicorn, the product's default worker count)
on loopback, then four scenarios, each a Locust process of its own:

- `browse`: 100 people browsing (list, search, detail, edit; ~1 s between actions);
- `mixed`: 20 people asking rules questions and 5 making image batches, beside 20 browsing;
- `stress`: browsing users added 50 at a time until p95 > 1 s or errors > 1 % (the knee);
- `spike`: 10 browsing users, 200 within 10 s, held 40 s, back to 10.

Writes the `load` section of docs/benchmarks.md.

    .venv/bin/python benchmarks/load/run.py [--backends sqlite,postgres] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.entities_api import (  # noqa: E402
    analyze,
    drop_postgres,
    load,
    postgres_url,
    start_server,
    stop_server,
)
from benchmarks.report import write_section  # noqa: E402
from lifeos.db import migrate  # noqa: E402
from lifeos.db.engine import dispose_engines, session_scope  # noqa: E402
from lifeos.demo import DEMO_RULEBOOKS, load_demo  # noqa: E402

HERE = Path(__file__).resolve().parent
GAME = "Hearts"
GOALS = {"list": 50.0, "detail": 20.0}  # p95 ms at 100 browsing users


def scenarios(scale: float) -> dict[str, list[str]]:
    """Locust arguments per scenario; `scale` shortens the timed ones (a smoke run)."""

    def seconds(s: int) -> str:
        return f"{max(5, round(s * scale))}s"

    return {
        "browse": ["-f", str(HERE / "browse.py"), "-u", "100", "-r", "25", "-t", seconds(60)],
        "mixed": ["-f", str(HERE / "mixed.py"), "-u", "45", "-r", "15", "-t", seconds(90)],
        "stress": ["-f", str(HERE / "stress.py")],
        "spike": ["-f", str(HERE / "spike.py")],
    }


def locust(base: str, args: list[str], ids: Path, out: Path, scale: float) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LIFEOS_LOAD_IDS": str(ids),
        "LIFEOS_LOAD_OUT": str(out),
        "LIFEOS_LOAD_GAME": GAME,
        "LIFEOS_LOAD_SCALE": str(scale),
    }
    cmd = [sys.executable, "-m", "locust", "--headless", "--only-summary", "-H", base, *args]
    cmd += ["--loglevel", "WARNING", "--stop-timeout", "0"]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if not out.exists():
        raise RuntimeError(
            f"locust wrote no results:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    return json.loads(out.read_text())


def prepare(url: str, entities: int) -> list[str]:
    migrate.upgrade(url)
    t0 = time.perf_counter()
    ids = load(url, entities)
    with session_scope(url) as session:
        load_demo(session)
    print(f"  loaded {len(ids):,} entities and the demo in {time.perf_counter() - t0:.0f} s")
    analyze(url)
    dispose_engines()
    return ids


def ingest(base: str) -> None:
    pdf = ROOT / DEMO_RULEBOOKS[f"{GAME}.pdf"]
    t0 = time.perf_counter()
    with pdf.open("rb") as f:
        r = httpx.post(
            f"{base}/api/v1/games/{GAME}/rulebook",
            files={"file": (pdf.name, f, "application/pdf")},
            timeout=600,
        )
    r.raise_for_status()
    print(f"  {GAME}'s rulebook: {r.json()['status']} in {time.perf_counter() - t0:.0f} s")


def warm_up(base: str, ids: list[str], requests: int = 600) -> None:
    """Lists and details from 8 clients before the timed scenarios, so every worker process
    has its pool, its imports and the database's pages warm: a scenario measures the steady
    state, not the server's first minute."""
    from concurrent.futures import ThreadPoolExecutor

    kinds = sorted({i.partition("/")[0] for i in ids})

    def one(n: int) -> None:
        path = (
            f"/api/v1/entities/{ids[n % len(ids)]}"
            if n % 2
            else (f"/api/v1/entities/{kinds[n % len(kinds)]}?limit=50&offset={(n * 37) % 1900}")
        )
        httpx.get(base + path, timeout=30).raise_for_status()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(requests)))
    print(f"  warm-up: {requests} requests in {time.perf_counter() - t0:.0f} s")


def run_backend(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"[{name}]")
    ids = prepare(url, args.entities)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        ids_file = home / "ids.json"
        ids_file.write_text(json.dumps(ids))
        log = Path(args.log_dir) / f"server-{name.lower()}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        proc, base = start_server(url, home / "home", args.workers, plugins=True, log=log)
        print(f"  server log: {log}")
        try:
            ingest(base)
            warm_up(base, ids)
            for scenario, locust_args in scenarios(args.scale).items():
                if args.only and scenario not in args.only:
                    continue
                t0 = time.perf_counter()
                out = Path(args.log_dir) / f"{name.lower()}-{scenario}.json"
                out.unlink(missing_ok=True)
                results[scenario] = locust(base, locust_args, ids_file, out, args.scale)
                print(f"  {scenario}: {time.perf_counter() - t0:.0f} s")
                print(indent(table(results[scenario])))
        finally:
            stop_server(proc)
    return results


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def ms(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.0f}"


def table(result: dict[str, Any]) -> str:
    """Per request: count, req/s, latency percentiles, failures; then what the failures were."""
    lines = [
        "| request | n | req/s | p50 ms | p95 ms | p99 ms | failures |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in result["requests"].items():
        lines.append(
            f"| {name} | {r['requests']:,} | {r['rps']:.1f} | {ms(r['p50'])} | {ms(r['p95'])} "
            f"| {ms(r['p99'])} | {r['failures']} |"
        )
    errors = result.get("errors") or []
    if errors:
        lines += ["", "Failures:"]
        lines += [f"- {e['name']} ×{e['count']}: `{e['error']}`" for e in errors]
    return "\n".join(lines)


def steps_table(steps: list[dict[str, Any]]) -> str:
    lines = [
        "| step | users | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        lines.append(
            f"| {s['step']} | {s['users']} | {s['rps']:.0f} | {ms(s['p50'])} | {ms(s['p95'])} "
            f"| {ms(s['p99'])} | {s['error_rate']:.1%} |"
        )
    return "\n".join(lines)


def verdicts(backend: str, results: dict[str, Any]) -> list[str]:
    out = []
    browse = results.get("browse", {}).get("requests", {})
    for name, goal in GOALS.items():
        if name in browse:
            p95 = browse[name]["p95"]
            out.append(
                f"{backend}, 100 browsing users: {name} p95 {p95:.0f} ms = {p95 / goal:.2f}× "
                f"the goal ({goal:.0f} ms)"
            )
    stress = results.get("stress", {})
    knee, broke = stress.get("knee"), stress.get("broke")
    if knee:
        out.append(
            f"{backend} stress knee: {knee['users']} users at {knee['rps']:.0f} req/s "
            f"(p95 {knee['p95']:.0f} ms); "
            + (
                f"the next step ({broke['users']} users) had p95 {broke['p95']:.0f} ms, "
                f"errors {broke['error_rate']:.1%}"
                if broke
                else "no step broke before the ramp's end"
            )
        )
    spike = {s["step"]: s for s in results.get("spike", {}).get("steps", [])}
    if {"before", "spike", "after"} <= spike.keys():
        out.append(
            f"{backend} spike 10 → 200 users: p95 {spike['before']['p95']:.0f} → "
            f"{spike['spike']['p95']:.0f} → {spike['after']['p95']:.0f} ms, errors "
            f"{spike['spike']['error_rate']:.1%} during the spike"
        )
    return out


def report(all_results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "## Load, stress and spike (`benchmarks/load/run.py`, Locust)",
        "",
        f"{args.entities:,} entities plus the demo library and {GAME}'s rulebook; one real API "
        f"server ({args.workers} uvicorn workers) on loopback, warmed by 600 lists and details; "
        "Locust (FastHttpUser, one "
        "process) on the same 2 cores. `browse`: 100 users, each action followed by 0.5–1.5 s "
        "of thought (list 4 : search 2 : detail 4 : edit 1, an edit being a detail then a "
        "PATCH with its revision); `mixed`: 20 users asking rules questions (2–6 s between) "
        "and 5 making 2-image 64×64 batches with the test model (5–15 s between) beside 20 "
        "browsing; `stress`: browsing users added 50 every 20 s until a step's p95 > 1 s or "
        "errors > 1 %; `spike`: 10 users, 200 within 10 s for 40 s, then 10. Backends run one "
        "after the other on the same cores: a backend's browse run on its own "
        "(`--backends postgres --only browse`) can differ from its run here by ±30 %.",
    ]
    if args.scale != 1.0:
        lines += ["", f"**A shortened run** (`--scale {args.scale}`): not comparable."]
    summary = []
    for backend, results in all_results.items():
        for scenario in ("browse", "mixed"):
            if scenario in results:
                lines += ["", f"### {backend}: {scenario}", "", table(results[scenario])]
        for scenario in ("stress", "spike"):
            if results.get(scenario, {}).get("steps"):
                lines += [
                    "",
                    f"### {backend}: {scenario}",
                    "",
                    steps_table(results[scenario]["steps"]),
                ]
        summary += verdicts(backend, results)
    lines += ["", *[f"- {v}" for v in summary]]
    print("\n".join(summary))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--only", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="shorten the timed scenarios")
    parser.add_argument(
        "--log-dir",
        default=str(ROOT / ".bench"),
        help="server logs and each scenario's JSON go here",
    )
    parser.add_argument("--no-write", action="store_true", help="print, do not write the docs")
    args = parser.parse_args()
    backends = args.backends.split(",")

    all_results: dict[str, dict[str, Any]] = {}
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            all_results["SQLite"] = run_backend("SQLite", f"sqlite:///{tmp}/load.db", args)
    if "postgres" in backends and (pg := postgres_url()):
        try:
            all_results["Postgres"] = run_backend("Postgres", pg, args)
        finally:
            drop_postgres(pg)
    body = report(all_results, args)
    if not args.no_write:
        print(f"wrote {write_section('load', body)}")


if __name__ == "__main__":
    main()
