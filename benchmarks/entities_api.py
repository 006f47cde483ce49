"""Entity API under load: 10,000 entities, 100 concurrent clients, a real uvicorn server on
loopback, SQLite and Postgres. Prints p50/p95/p99 and requests/s, writes docs/benchmarks.md.

    .venv/bin/python benchmarks/entities_api.py [--requests 3000] [--clients 100] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402
from lifeos.db import migrate  # noqa: E402
from lifeos.db.engine import dispose_engines, session_scope  # noqa: E402
from lifeos.store import EntityStore  # noqa: E402

WORDS = [
    "red",
    "blue",
    "green",
    "amber",
    "silver",
    "velvet",
    "linen",
    "denim",
    "wool",
    "leather",
    "silk",
    "ranger",
    "knight",
    "pilot",
    "baker",
    "dragon",
    "forest",
    "harbor",
    "winter",
    "summer",
    "storm",
    "quiet",
    "bold",
    "ancient",
    "modern",
    "tiny",
    "grand",
    "lantern",
    "compass",
    "meadow",
    "river",
    "canyon",
    "ember",
    "frost",
]
KINDS = ("character", "clothing_item", "outfit", "art_style", "composition")
TARGETS = {"list p95": 500.0, "detail p95": 300.0}  # the roadmap's, ms, closed loop
BARE = "benchmarks.load.bare:create_app"  # the yardstick: Starlette + SQLAlchemy Core only
BARE_SCENARIOS = ("list", "detail")
RATIO_GOAL = 0.70


def phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def load(url: str, n: int) -> list[str]:
    rng = random.Random(7)
    ids: list[str] = []
    for start in range(0, n, 1000):
        with session_scope(url) as session:
            store = EntityStore(session)
            for i in range(start, min(n, start + 1000)):
                kind = KINDS[i % len(KINDS)]
                data = {"description": phrase(rng, 25)}
                if kind == "character":
                    data["appearance"] = phrase(rng, 12)
                entity = store.create(
                    kind,
                    {
                        "name": f"{phrase(rng, 2)} {i}",
                        "data": data,
                        "tags": rng.sample(WORDS[:8], 2),
                        "favorite": i % 7 == 0,
                    },
                )
                ids.append(f"{kind}/{entity.id}")
    return ids


def analyze(url: str) -> None:
    """Statistics and visibility maps as a library that has lived a while would have them
    (autovacuum / `PRAGMA optimize`), not as a bulk load leaves them."""
    from lifeos.db.engine import get_engine

    engine = get_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    url: str,
    home: Path,
    workers: int,
    *,
    plugins: bool = False,
    app: str = "apps.api.app:create_app",
    log: Path | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """A real uvicorn server for `app` on a free loopback port, once it answers ready.

    Its output goes to `log` when given (a load run's would drown the report otherwise).
    """
    port = free_port()
    env = {
        **os.environ,
        "LIFEOS_HOME": str(home),
        "LIFEOS_DATABASE_URL": url,
        "LIFEOS_LOG_LEVEL": "WARNING",
        "LIFEOS_LOAD_PLUGINS": "1" if plugins else "0",
    }
    if not plugins:  # no model serves the library's routes: none loads beside the timed ones
        env["LIFEOS_PRELOAD_MODELS"] = "[]"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=log.open("ab") if log else None,
        stderr=subprocess.STDOUT if log else None,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.25)
    stop_server(proc)
    raise RuntimeError("API server did not start" + (f"; its log: {log}" if log else ""))


def stop_server(proc: subprocess.Popen[bytes], grace: float = 15) -> None:
    """Terminate, and kill what has not exited after `grace` seconds.

    A server still working on requests its clients gave up on (a rules question takes
    seconds) may not finish a graceful shutdown in time; the benchmark is over either way.
    """
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


@dataclass
class Result:
    scenario: str
    n: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    def pct(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(p / 100 * len(data)))]

    @property
    def rps(self) -> float:
        return self.n / self.seconds


async def hammer(base: str, scenario: str, paths: list[str], clients: int) -> Result:
    # aiohttp, not httpx: httpx's async pool spent ~6 ms of client CPU per request at 100
    # connections, so it measured itself instead of the server.
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                path = queue.get_nowait()
                t0 = time.perf_counter()
                async with client.get(path) as r:
                    await r.read()
                    latencies.append((time.perf_counter() - t0) * 1000)
                    errors += r.status != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        seconds = time.perf_counter() - started
    return Result(scenario, len(paths), errors, seconds, latencies)


def scenarios(ids: list[str], n: int) -> dict[str, list[str]]:
    rng = random.Random(11)
    return {
        "list": [
            f"/api/v1/entities/{rng.choice(KINDS)}?limit=50&offset={rng.randrange(0, 1900)}"
            for _ in range(n)
        ],
        "list q": [
            f"/api/v1/entities/{rng.choice(KINDS)}?limit=50&q={rng.choice(WORDS)}" for _ in range(n)
        ],
        "detail": [f"/api/v1/entities/{rng.choice(ids)}" for _ in range(n)],
    }


def run_backend(name: str, url: str, args: argparse.Namespace) -> list[Result]:
    migrate.upgrade(url)
    t0 = time.perf_counter()
    ids = load(url, args.entities)
    print(f"[{name}] loaded {len(ids)} entities in {time.perf_counter() - t0:.1f} s")
    analyze(url)
    dispose_engines()
    with tempfile.TemporaryDirectory() as home:
        api, api_base = start_server(url, Path(home) / "api", args.workers)
        bare, bare_base = start_server(url, Path(home) / "bare", args.workers, app=BARE)
        try:
            for base in (api_base, bare_base):
                asyncio.run(hammer(base, "warmup", scenarios(ids, 300)["list"], args.clients))
            results = []
            for scenario, paths in scenarios(ids, args.requests).items():
                # Side by side: the yardstick serves the same requests right after the API.
                for label, base in (("", api_base), (" bare", bare_base)):
                    if label and scenario not in BARE_SCENARIOS:
                        continue
                    r = asyncio.run(hammer(base, scenario + label, paths, args.clients))
                    print(
                        f"[{name}] {r.scenario:11s} p50 {r.pct(50):7.1f} ms  p95 {r.pct(95):7.1f}"
                        f" ms  p99 {r.pct(99):7.1f} ms  {r.rps:7.0f} req/s  errors {r.errors}"
                    )
                    results.append(r)
            return results
        finally:
            for proc in (api, bare):
                stop_server(proc)


def postgres_url() -> str | None:
    admin = os.environ.get(
        "LIFEOS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    libpq = make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"lifeos_bench_{os.getpid()}"
    try:
        with psycopg.connect(libpq, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"skipping Postgres: {exc}")
        return None
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def drop_postgres(url: str) -> None:
    dispose_engines()
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=3000, help="per scenario")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="uvicorn worker processes (`lifeos up` uses LIFEOS_API_WORKERS=2)",
    )
    args = parser.parse_args()
    os.environ["LIFEOS_LOAD_PLUGINS"] = "0"

    all_results: dict[str, list[Result]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        all_results["SQLite"] = run_backend("SQLite", f"sqlite:///{tmp}/bench.db", args)
    pg = postgres_url()
    if pg:
        try:
            all_results["Postgres"] = run_backend("Postgres", pg, args)
        finally:
            drop_postgres(pg)

    lines = [
        "## Entity API (`benchmarks/entities_api.py`)",
        "",
        f"{args.entities:,} entities in 5 kinds; {args.clients} concurrent keep-alive clients "
        f"(aiohttp) against one real uvicorn server ({args.workers} worker processes) on "
        "loopback, after `VACUUM ANALYZE` / `ANALYZE`; "
        f"{args.requests:,} requests per scenario. `list` = limit 50 at a random offset, "
        "`list q` = limit 50 with a one-word search, `detail` = one entity by id. The load "
        "generator shares the machine's cores with the server. `… bare` = the same requests, "
        "right after, against `benchmarks/load/bare.py`: Starlette and SQLAlchemy Core running "
        "the same two queries, with no FastAPI, pydantic, middleware, auth or metrics (same "
        "uvicorn, same workers). Closed loop: p95 here is queueing (≈ clients ÷ req/s); the "
        "latency goals are measured at 100 browsing users by `benchmarks/load/run.py`.",
        "",
        "| backend | scenario | p50 ms | p95 ms | p99 ms | req/s | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for backend, results in all_results.items():
        by_name = {r.scenario: r for r in results}
        for scenario in BARE_SCENARIOS:
            api, bare = by_name.get(scenario), by_name.get(f"{scenario} bare")
            if api and bare:
                verdicts.append(
                    f"{backend} {scenario}: the API serves {api.rps / bare.rps:.0%} of the bare "
                    f"Starlette + SQLAlchemy endpoint's req/s ({api.rps:.0f} vs {bare.rps:.0f}; "
                    f"goal ≥ {RATIO_GOAL:.0%})"
                )
        for r in results:
            lines.append(
                f"| {backend} | {r.scenario} | {r.pct(50):.1f} | {r.pct(95):.1f} | "
                f"{r.pct(99):.1f} | {r.rps:.0f} | {r.errors} |"
            )
            if r.scenario.endswith(" bare"):
                continue
            key = "detail p95" if r.scenario == "detail" else "list p95"
            verdicts.append(
                f"{backend} {r.scenario}: p95 {r.pct(95):.1f} ms = "
                f"{r.pct(95) / TARGETS[key]:.2f}× the roadmap target ({TARGETS[key]:.0f} ms)"
            )
    lines += ["", *[f"- {v}" for v in verdicts]]
    print("\n".join(verdicts))
    print(f"wrote {write_section('entities_api', chr(10).join(lines))}")


if __name__ == "__main__":
    main()
