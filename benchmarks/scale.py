"""Scale-out: throughput of image batches and rulebook ingestions launched as the daemon
launches runs (a process per run, all at once), their steps in each run's own process or on
1, 2 and 4 Celery workers over Redis; and the Celery executor's overhead per step (one run of
one cheap step, in process vs on a worker).

    .venv/bin/python benchmarks/scale.py [--batches 8] [--images 5] [--books 4]

Needs PostgreSQL (127.0.0.1:5432, database `postgres` to create a scratch database in) and
Redis (127.0.0.1:6379). On 2 cores, more workers cannot give more than 2x: the ratios say what
the executor costs and what a bigger machine (or more machines) would get back.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402

BOOKS = ROOT.parent / "shared" / "data" / "rulebooks"
ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _database() -> str:
    import sqlalchemy as sa

    name = f"lifeos_scale_{uuid.uuid4().hex[:8]}"
    with sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return ADMIN.rsplit("/", 1)[0] + f"/{name}"


def _drop(url: str) -> None:
    import sqlalchemy as sa

    from lifeos.db.engine import dispose_engines

    dispose_engines()
    name = url.rsplit("/", 1)[1]
    with sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _launch(env: dict[str, str], job: str, partition: str, tag: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "job",
            "execute",
            "-m",
            "pipelines.definitions",
            "-a",
            "defs",
            "-j",
            job,
            "--tags",
            json.dumps({"dagster/partition": partition, "lifeos/bench": tag}),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        _, err = proc.communicate(timeout=3600)
        if proc.returncode:
            raise RuntimeError(err.decode(errors="replace")[-2000:])


def main() -> None:  # noqa: PLR0915 - one scenario after another, read top to bottom
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--books", type=int, default=4)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    url = _database()
    home = Path(tempfile.mkdtemp(prefix="lifeos-scale-"))
    os.environ |= {"LIFEOS_HOME": str(home), "LIFEOS_DATABASE_URL": url}
    from apps.cli.up import service_env
    from lifeos.db import migrate
    from lifeos.llm.router import get_router
    from lifeos.settings import Settings, reset_settings_cache
    from pipelines.backfills import Backfills
    from pipelines.executors import worker_command, worker_env
    from plugins.board_games.tools.rulebooks.service import Rulebooks
    from plugins.images.resources.generators import ImageGenerator
    from plugins.images.tools.batches import ImageBatches

    reset_settings_cache()
    settings = Settings(home=home, LIFEOS_DATABASE_URL=url)
    migrate.upgrade(url)
    router = get_router(url)
    batches = ImageBatches(settings, router, ImageGenerator())
    books = Rulebooks(settings, router)
    pdfs = sorted(BOOKS.glob("dev_*.pdf"))[: args.books]
    results: dict[str, dict[str, float]] = {}
    step_overhead: dict[str, float] = {}
    broker = "redis://127.0.0.1:6379/9"
    try:
        for mode in ["in process", *(f"{n} workers" for n in args.workers.split(","))]:
            n = 0 if mode == "in process" else int(mode.split()[0])
            celery = n > 0
            s = settings.model_copy(
                update={
                    "executor": "celery" if celery else "in_process",
                    "celery_broker_url": broker,
                    "celery_backend_url": broker,
                }
            )
            env = service_env(s) | {
                "LIFEOS_EXECUTOR": s.executor,
                "LIFEOS_CELERY_BROKER_URL": broker,
                "LIFEOS_CELERY_BACKEND_URL": broker,
                "LIFEOS_PRELOAD_MODELS": "[]",
            }
            workers = [
                subprocess.Popen(
                    worker_command(f"bench-{i}"),
                    cwd=ROOT,
                    env=worker_env(s, env),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for i in range(n)
            ]
            try:
                if celery:
                    from celery import Celery

                    app = Celery(broker=broker, backend=broker)
                    deadline = time.monotonic() + 180
                    while len(app.control.ping(timeout=1.0) or []) < n:
                        if time.monotonic() > deadline:
                            raise RuntimeError("the workers did not answer")
                ids = [
                    batches.create(
                        {
                            "compose": {"text": f"{mode} harbour {i}"},
                            "count": args.images,
                            "width": 64,
                            "height": 64,
                            "steps": 2,
                        },
                        status="running",
                    )["id"]
                    for i in range(args.batches)
                ]
                shas = []
                for pdf in pdfs:
                    # a copy with other bytes: a new rulebook each round
                    copy = home / f"{mode.replace(' ', '_')}_{pdf.name}"
                    shutil.copy(pdf, copy)
                    with copy.open("ab") as f:
                        f.write(f"\n% {mode}\n".encode())
                    shas.append(books.add(copy)["sha256"])
                with Backfills(s)._instance() as instance:
                    instance.add_dynamic_partitions("image_batches", ids)
                    instance.add_dynamic_partitions("rulebooks", shas)
                t0 = time.perf_counter()
                _wait([_launch(env, "image_batch", b, mode) for b in ids])
                images_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                _wait([_launch(env, "rulebook_ingest", sha, mode) for sha in shas])
                books_s = time.perf_counter() - t0
                results[mode] = {"images": images_s, "books": books_s}
                # One cheap step, three times: what the executor adds to a step.
                if n <= 1:
                    small = []
                    for i in range(3):
                        (one,) = [
                            batches.create(
                                {"compose": {"text": f"one {mode} {i}"}, "count": 1,
                                 "width": 64, "height": 64, "steps": 1},
                                status="running",
                            )["id"]
                        ]  # fmt: skip
                        with Backfills(s)._instance() as instance:
                            instance.add_dynamic_partitions("image_batches", [one])
                        t0 = time.perf_counter()
                        _wait([_launch(env, "image_batch", one, f"{mode} one")])
                        small.append(time.perf_counter() - t0)
                    step_overhead[mode] = statistics.median(small)
            finally:
                for w in workers:
                    w.terminate()
                for w in workers:
                    w.wait(60)
    finally:
        _drop(url)
        shutil.rmtree(home, ignore_errors=True)
    base = results["in process"]
    images = args.batches * args.images
    rows = "\n".join(
        f"| {mode} | {r['images']:.1f} s ({images / r['images']:.2f} images/s) | "
        f"{base['images'] / r['images']:.2f}x | {r['books']:.1f} s | "
        f"{base['books'] / r['books']:.2f}x |"
        for mode, r in results.items()
    )
    per_step = step_overhead.get("1 workers", 0) - step_overhead["in process"]
    body = f"""## Scale-out (`benchmarks/scale.py`)

{args.batches} image batches of {args.images} images (64 px, 2 steps: the run and step overhead,
not the model) and {len(pdfs)} rulebook ingestions (pages → chunks → index + check), each a
run of its own launched all at once as the daemon launches them, on PostgreSQL.

| steps executed | {images} images | vs in process | {len(pdfs)} ingestions | vs in process |
|---|---|---|---|---|
{rows}

The Celery executor's cost: a run of one cheap step took
{step_overhead["in process"]:.2f} s with its step in the run's process and
{step_overhead.get("1 workers", 0):.2f} s with it on a worker ({per_step:+.2f} s): the task's
round trip through Redis, less what a warm worker saves (it imported torch, diffusers and the
code location once, where each run's own process imports them again). On 2 cores the runs'
processes and the workers share the same CPU, so more workers cannot give more than the cores
allow: the ratios are what the executor costs here, not what more machines would give.
"""
    print(body)
    write_section("scale", body)


if __name__ == "__main__":
    main()
