"""Runs on Celery workers over the real Redis: two `dagster-celery` worker processes execute
the steps of two image batches and of a rulebook ingestion launched as the daemon launches
them (reconstructed from the code location), and what they make is what an in-process run
makes: the same pictures, the same chunks and index, the same lineage."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from apps.cli.up import service_env
from lifeos.db.engine import session_scope
from lifeos.llm.router import Router, get_router
from lifeos.settings import Settings, reset_settings_cache
from lifeos.store import EntityStore
from pipelines.executors import worker_command, worker_env
from pipelines.runs import run_partition
from plugins.board_games.tools.rulebooks.retrieve import CORPUS
from plugins.board_games.tools.rulebooks.service import Rulebooks
from plugins.images.resources.generators import ImageGenerator
from plugins.images.tools.batches import ImageBatches

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "rulebooks"
REQUEST = {"count": 2, "width": 64, "height": 64, "steps": 2}

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def celery_settings(pg_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings with the Celery executor on a Redis database of this test's own."""
    settings = pg_settings
    db = random.randint(2, 15)  # noqa: S311 - not a secret
    broker = f"redis://127.0.0.1:6379/{db}"
    monkeypatch.setenv("LIFEOS_HOME", str(settings.home))
    monkeypatch.setenv("LIFEOS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LIFEOS_EXECUTOR", "celery")
    monkeypatch.setenv("LIFEOS_CELERY_BROKER_URL", broker)
    monkeypatch.setenv("LIFEOS_CELERY_BACKEND_URL", broker)
    reset_settings_cache()
    return settings.model_copy(
        update={"executor": "celery", "celery_broker_url": broker, "celery_backend_url": broker}
    )


def _env(settings: Settings) -> dict[str, str]:
    return service_env(settings) | {
        "LIFEOS_EXECUTOR": "celery",
        "LIFEOS_CELERY_BROKER_URL": settings.celery_broker_url,
        "LIFEOS_CELERY_BACKEND_URL": settings.celery_backend_url,
        "LIFEOS_PRELOAD_MODELS": "[]",
    }


def _start_workers(settings: Settings, tmp_path: Path, n: int) -> list[subprocess.Popen[bytes]]:
    env = worker_env(settings, _env(settings))
    procs = []
    for i in range(n):
        log = (tmp_path / f"worker-{i + 1}.log").open("wb")
        procs.append(
            subprocess.Popen(
                worker_command(f"test-worker-{i + 1}"),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    from celery import Celery

    app = Celery(broker=settings.celery_broker_url, backend=settings.celery_backend_url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= n:
            return procs
        assert all(p.poll() is None for p in procs), _logs(tmp_path)
    raise AssertionError(f"the workers did not answer: {_logs(tmp_path)}")


def _logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text()[-2000:] for p in sorted(tmp_path.glob("worker-*.log")))


def _pixels(path: Path) -> str:
    import hashlib

    from PIL import Image

    with Image.open(path) as img:
        return hashlib.sha256(img.tobytes()).hexdigest()


def _launch(settings: Settings, job: str, partition: str) -> subprocess.Popen[bytes]:
    """A run as the daemon's run launcher starts one: a process of its own that loads the
    code location and executes the job with its executor (here: steps sent to Celery)."""
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
            json.dumps({"dagster/partition": partition, "lifeos/test": "celery"}),
        ],
        cwd=ROOT,
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _finished(instance: dg.DagsterInstance, procs: list[subprocess.Popen[bytes]]) -> list[Any]:
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    return list(instance.get_runs(filters=dg.RunsFilter(tags={"lifeos/test": "celery"})))


def _workers_used(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    """The Celery workers the run's steps executed on (dagster-celery's engine events)."""
    hosts = set()
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = record.dagster_event.engine_event_data if record.dagster_event else None
        worker = data.metadata.get("Celery worker") if data else None
        if worker is not None:
            hosts.add(str(worker.value).split("@")[0])
    return hosts


def test_steps_on_two_celery_workers_make_what_in_process_runs_make(
    celery_settings: Settings, tmp_path: Path
) -> None:
    settings = celery_settings
    router = Router(database_url=settings.database_url)
    batches = ImageBatches(settings, router, ImageGenerator())
    # The same requests, once in process and once on the workers.
    made: dict[str, list[str]] = {}
    local = [
        batches.create({"compose": {"text": f"a harbour {i}"}, "seed": 7 + i, **REQUEST})["id"]
        for i in range(2)
    ]
    for batch_id in local:
        assert run_partition(settings, "image_batch", "image_batches", batch_id, source="test")
    remote = [
        batches.create(
            {"compose": {"text": f"a harbour {i}"}, "seed": 7 + i, **REQUEST}, status="running"
        )["id"]
        for i in range(2)
    ]
    books = Rulebooks(settings, get_router(settings.database_url))
    sha = books.add(DATA / "dev_hearts.pdf", game="Hearts")["sha256"]
    workers = _start_workers(settings, tmp_path, 2)
    try:
        from pipelines.backfills import Backfills

        with Backfills(settings)._instance() as instance:
            instance.add_dynamic_partitions("image_batches", remote)
            instance.add_dynamic_partitions("rulebooks", [sha])
            # Three runs at once: the two batches and the ingestion, their steps on the workers.
            launched = [_launch(settings, "image_batch", b) for b in remote]
            launched.append(_launch(settings, "rulebook_ingest", sha))
            finished = _finished(instance, launched)
            assert len(finished) == 3
            assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in finished), _logs(tmp_path)
            used = set().union(*(_workers_used(instance, r.run_id) for r in finished))
            assert used == {"test-worker-1", "test-worker-2"}, used
            # The lineage is the in-process runs': a materialization of each partition.
            for key, partition in [("image_batches", b) for b in remote] + [
                ("rulebook_index", sha)
            ]:
                records = instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[partition]),
                    limit=5,
                ).records
                assert len(records) == 1, (key, partition)
    finally:
        for p in workers:
            p.terminate()
        for p in workers:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    for batch_id in local + remote:
        batch = batches.get(batch_id)
        made[batch_id] = sorted(_pixels(batches.image_file(i)) for i in batch["images"].values())
    for here, there in zip(local, remote, strict=True):
        # the same pictures (their PNG text differs: it names the batch)
        assert made[here] == made[there] and len(made[here]) == 2
    with session_scope(settings.database_url) as session:
        assert len(EntityStore(session).list_all("image")) >= 4
    chunks, rows = len(books.chunks(sha)), books.vectors.count(CORPUS, sha)
    assert books.get(sha)["status"] == "ready" and rows == chunks > 0
    # Ingested again in process: the same chunks and rows, none twice.
    assert run_partition(settings, "rulebook_ingest", "rulebooks", sha, source="test")
    assert len(books.chunks(sha)) == chunks and books.vectors.count(CORPUS, sha) == rows
