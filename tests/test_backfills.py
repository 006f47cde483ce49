"""Backfills of partitioned assets: which partitions (named, all, stale) with clear errors, and
a real Dagster daemon running one over image batches, one of its runs killed mid-way,
the backfill resumed over what is stale, every partition made once and no image twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from apps.cli import main
from apps.cli.up import service_env
from lifeos.db.engine import session_scope
from lifeos.errors import BadRequest, NotFound
from lifeos.llm.router import Router
from lifeos.settings import Settings
from lifeos.store import EntityStore
from pipelines.backfills import Backfills
from pipelines.runs import _run_pid, fail_orphaned_runs
from plugins.images.pipelines import generate_batch
from plugins.images.resources.generators import ImageGenerator
from plugins.images.tools.batches import ImageBatches

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"width": 64, "height": 64, "steps": 2}


def _batches(settings: Settings, n: int, count: int = 2) -> list[str]:
    """`n` stored batches (not queued: the backfill runs them), each a partition."""
    service = ImageBatches(settings, Router(database_url=settings.database_url), ImageGenerator())
    ids = [
        service.create(
            {"compose": {"text": f"a lighthouse {i}"}, "count": count, "seed": 10 * i, **SMALL},
            status="running",
        )["id"]
        for i in range(n)
    ]
    with Backfills(settings)._instance() as instance:
        instance.add_dynamic_partitions("image_batches", ids)
    return ids


def _ours(stale: dict[str, str], ids: list[str]) -> dict[str, str]:
    return {k: v for k, v in stale.items() if k in ids}


def test_backfill_partitions_are_checked_and_stale_ones_found(settings: Settings) -> None:
    service = Backfills(settings)
    with pytest.raises(NotFound, match="no asset 'nope'"):
        service.launch("nope", all_partitions=True)
    with pytest.raises(BadRequest, match="not a partitioned asset"):
        service.launch("library_snapshot", all_partitions=True)
    ids = _batches(settings, 2)
    with pytest.raises(BadRequest, match="one of them"):
        service.launch("image_batches")
    with pytest.raises(BadRequest, match="no partition"):
        service.launch("image_batches", partitions=["not-a-batch"])
    assert generate_batch(settings, ids[0], source="test").success
    assert _ours(service.stale("image_batches"), ids) == {ids[1]: "missing"}
    started = service.launch("image_batches", partitions=[ids[1]])
    assert started["partitions"] == [ids[1]] and not started["daemon_running"]
    state = service.get(started["backfill_id"])
    assert state["status"] == "requested" and state["partitions"] == 1 and not state["done"]
    with pytest.raises(NotFound):
        service.get("nope")


@pytest.mark.slow
@pytest.mark.postgres
def test_the_daemon_runs_a_backfill_a_killed_run_is_resumed_and_nothing_is_made_twice(
    pg_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = pg_settings
    ids = _batches(settings, 2)
    service = Backfills(settings)
    log = tmp_path / "daemon.log"
    env = service_env(settings) | {"LIFEOS_PRELOAD_MODELS": "[]"}
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # (Dagster's storage outlives a test on Postgres: other tests' batches are there too.)
        named = ",".join(ids)
        assert (
            main(["pipelines", "backfill", "image_batches", "--partitions", named, "--json"]) == 0
        )
        text = capsys.readouterr().out
        first = json.loads(text[text.index("\n{") if "\n{" in text else text.index("{") :])
        assert sorted(first["partitions"]) == sorted(ids)
        # Kill the first run as soon as its process runs (the daemon down mid-run, say).
        killed = None
        deadline = time.monotonic() + 180
        with service._instance() as instance:
            while killed is None and time.monotonic() < deadline:
                for run in instance.get_runs(
                    filters=dg.RunsFilter(
                        tags={"dagster/backfill": first["backfill_id"]},
                        statuses=[dg.DagsterRunStatus.STARTED],
                    )
                ):
                    pid = _run_pid(instance, run.run_id)
                    if pid:
                        os.kill(pid, signal.SIGKILL)
                        killed = run.tags["dagster/partition"]
                        break
                time.sleep(0.5)
        assert killed, log.read_text()[-3000:]
        fail_orphaned_runs(settings)  # what `lifeos up` does as it starts (or run monitoring)
        state = service.wait(first["backfill_id"], timeout_s=300)
        assert state["done"] and state["by_partition"][killed] == "failure", state
        assert _ours(service.stale("image_batches"), ids) == {killed: "failed"}
        # Resumed over what is stale: only the killed partition runs again.
        again = service.launch(
            "image_batches", partitions=list(_ours(service.stale("image_batches"), ids))
        )
        assert again["partitions"] == [killed]
        final = service.wait(again["backfill_id"], timeout_s=300)
        assert final["status"] == "completed_success", (final, log.read_text()[-3000:])
    finally:
        daemon.terminate()
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
    assert _ours(service.stale("image_batches"), ids) == {}
    with service._instance() as instance:
        for batch_id in ids:
            made = instance.fetch_materializations(
                dg.AssetRecordsFilter(
                    asset_key=dg.AssetKey("image_batches"), asset_partitions=[batch_id]
                ),
                limit=10,
            ).records
            assert len(made) == 1, batch_id
    with session_scope(settings.database_url) as session:
        images = EntityStore(session).list_all("image")
    assert len(images) == 4 and len({i.data["sha256"] for i in images}) == 4


def test_each_stored_picture_becomes_an_analysis_partition_and_the_api_backfills(
    settings: Settings,
) -> None:
    from fastapi.testclient import TestClient

    from apps.api.app import create_app
    from plugins.images.assets.analyze import image_analysis_partitions_sensor
    from resources.workbench import WorkbenchResource

    (batch,) = _batches(settings, 1)
    assert generate_batch(settings, batch, source="test").success
    workbench = WorkbenchResource(database_url=settings.database_url, home=str(settings.home))
    with Backfills(settings)._instance() as instance:
        result = image_analysis_partitions_sensor(
            dg.build_sensor_context(instance=instance), workbench=workbench
        )
        assert isinstance(result, dg.SensorResult)
        (request,) = result.dynamic_partitions_requests or []
        with session_scope(settings.database_url) as session:
            shas = {i.data["sha256"] for i in EntityStore(session).list_all("image")}
        assert set(request.partition_keys or []) >= shas and len(shas) == 2
        instance.add_dynamic_partitions("image_analyses", sorted(shas))
    with TestClient(create_app(settings)) as client:
        bad = client.post("/api/v1/pipelines/backfills", json={"asset": "image_analyses"})
        assert bad.status_code == 400
        made = client.post(
            "/api/v1/pipelines/backfills",
            json={
                "asset": "image_analyses",
                "partitions": sorted(shas),
                "run_config": {"ops": {"image_analyses": {"config": {"backend": "pixels"}}}},
            },
        )
        assert made.status_code == 201, made.text
        state = client.get(f"/api/v1/pipelines/backfills/{made.json()['backfill_id']}").json()
        assert state["status"] == "requested" and state["partitions"] == 2
        stale = client.get("/api/v1/pipelines/assets/image_analyses/stale").json()
        assert {stale[s] for s in shas} == {"missing"}
