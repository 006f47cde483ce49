"""`/metrics` after real requests and a real local-model call: the counters move by exactly
what happened, the ledger and the token counters agree, random paths add no series, and
several processes add up in multiprocess mode."""

from __future__ import annotations

import os
import random
import string
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from apps.api.app import create_app
from lifeos.llm.router import Router
from lifeos.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def scrape(c: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = c.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    want = tuple(sorted(labels.items()))
    return samples.get((name, want), 0.0)


def test_requests_and_a_model_call_move_the_counters_by_what_happened(settings: Settings) -> None:
    with TestClient(create_app(settings, studio=False)) as c:
        before = scrape(c)
        for _ in range(3):
            assert c.get("/api/v1/entities/character").status_code == 200
        assert c.get("/api/v1/entities/character/nope").status_code == 404
        router = Router(database_url=settings.database_url)
        result = router.chat(
            [{"role": "user", "content": "Say hello."}], "tiny", max_tokens=8, tool="metrics_test"
        )
        after = scrape(c)
    route = {"route": "/api/v1/entities/{kind}", "method": "GET"}
    ok = "lifeos_http_requests_total"
    assert value(after, ok, **route, status="200") - value(before, ok, **route, status="200") == 3
    detail = {"route": "/api/v1/entities/{kind}/{entity_id}", "method": "GET"}
    assert value(after, ok, **detail, status="404") - value(before, ok, **detail, status="404") == 1
    count = "lifeos_http_request_duration_seconds_count"
    assert value(after, count, **route) - value(before, count, **route) == 3
    call = {"provider": "local", "alias": "tiny", "model": result.model, "tool": "metrics_test"}

    def moved(name: str, **labels: str) -> float:  # the counters are the process's
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("lifeos_llm_calls_total", **call, ok="true") == 1
    (row,) = [r for r in router.ledger.recent(10) if r.tool == "metrics_test"]
    tokens = "lifeos_llm_tokens_total"
    assert moved(tokens, **call, direction="in") == row.tokens_in == result.tokens_in
    assert moved(tokens, **call, direction="out") == row.tokens_out == result.tokens_out
    backend = "sqlite" if settings.is_sqlite else "postgresql"
    queries = "lifeos_db_query_duration_seconds_count"
    assert value(after, queries, backend=backend) > value(before, queries, backend=backend)
    assert any(name == "lifeos_dagster_runs" for name, _ in after)


def test_a_streamed_answer_records_its_time_to_first_token(settings: Settings) -> None:
    with TestClient(create_app(settings, studio=False)) as c:
        before = scrape(c)
        tokens: list[str] = []
        started = time.perf_counter()
        Router(database_url=settings.database_url).chat(
            [{"role": "user", "content": "Say hello."}],
            "tiny",
            max_tokens=8,
            stream=True,
            on_token=tokens.append,
            tool="ttft_test",
        )
        took = time.perf_counter() - started
        after = scrape(c)
    assert tokens
    labels = {"provider": "local", "alias": "tiny", "tool": "ttft_test"}
    name = "lifeos_llm_time_to_first_token_seconds"
    assert value(after, f"{name}_count", **labels) - value(before, f"{name}_count", **labels) == 1
    first = value(after, f"{name}_sum", **labels) - value(before, f"{name}_sum", **labels)
    assert 0 < first <= took


def test_sensor_lag_is_the_age_of_each_running_sensors_last_tick(settings: Settings) -> None:
    # What the daemon writes for a sensor it evaluates: its state and a tick.
    from dagster._core.remote_origin import (
        RegisteredCodeLocationOrigin,
        RemoteInstigatorOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        TickData,
        TickStatus,
    )

    from lifeos.dagster_home import open_instance

    repo = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("lifeos"), "__repository__")
    with open_instance(settings) as dagster:
        for name, status, age in (
            ("watch_inbox", InstigatorStatus.RUNNING, 90.0),
            ("stopped_one", InstigatorStatus.STOPPED, 5.0),
        ):
            state = InstigatorState(
                RemoteInstigatorOrigin(repo, name), InstigatorType.SENSOR, status
            )
            dagster.add_instigator_state(state)
            dagster.create_tick(
                TickData(
                    instigator_origin_id=state.instigator_origin_id,
                    instigator_name=name,
                    instigator_type=InstigatorType.SENSOR,
                    status=TickStatus.SKIPPED,
                    timestamp=time.time() - age,
                    selector_id=state.selector_id,
                )
            )
    with TestClient(create_app(settings, studio=False)) as c:
        samples = scrape(c)
    lag = value(samples, "lifeos_dagster_sensor_lag_seconds", sensor="watch_inbox")
    assert 90 <= lag < 120
    assert ("lifeos_dagster_sensor_lag_seconds", (("sensor", "stopped_one"),)) not in samples


def test_random_paths_and_queries_add_no_series(settings: Settings) -> None:
    rng = random.Random(7)
    with TestClient(create_app(settings, studio=False)) as c:
        c.get("/warm/up")  # the one `<unmatched>` series
        before = {k for k in scrape(c) if k[0].startswith("lifeos_http")}
        for _ in range(1000):
            path = "/" + "/".join(
                "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(1, 12)))
                for _ in range(rng.randint(1, 4))
            )
            query = {rng.choice("abcxyz"): rng.random() for _ in range(rng.randint(0, 3))}
            c.get(path, params=query)
            c.get(f"/api/v1/entities/character/{rng.getrandbits(64):x}")
        after = {k for k in scrape(c) if k[0].startswith("lifeos_http")}
    assert after - before == set()


def test_several_processes_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    bump = (
        "from lifeos import metrics; "
        "metrics.HTTP_REQUESTS.labels('/x', 'GET', '200').inc(); "
        "metrics.record_call(provider='local', alias='a', model='m', tool='t', ok=True, "
        "tokens_in=5, tokens_out=2, latency_ms=10, cost_usd=0)"
    )
    for _ in range(2):  # two API workers
        subprocess.run([sys.executable, "-c", bump], env=env, cwd=ROOT, check=True)
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from lifeos.metrics import exposition; print(exposition()[0].decode())",
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(shown)
        for s in f.samples
    }
    assert value(samples, "lifeos_http_requests_total", route="/x", method="GET", status="200") == 2
    assert (
        value(
            samples,
            "lifeos_llm_tokens_total",
            provider="local",
            alias="a",
            model="m",
            tool="t",
            direction="in",
        )
        == 10
    )


def test_ready_names_the_failing_check_and_recovers(settings: Settings) -> None:
    from lifeos.settings import Settings as S

    app = create_app(settings, studio=False)
    with TestClient(app) as c:
        ok = c.get("/health/ready")
        assert ok.status_code == 200 and ok.json()["failing"] == []
        assert set(ok.json()["checks"]) == {"database", "dagster", "lancedb", "model", "disk"}
        assert all(check["ms"] >= 0 for check in ok.json()["checks"].values())
        app.state.settings = settings.model_copy(update={"min_free_disk_mb": 10**12})
        full = c.get("/health/ready")
        assert full.status_code == 503 and full.json()["failing"] == ["disk"]
        app.state.settings = settings
        assert c.get("/health/ready").status_code == 200  # and back
    broken = S(home=settings.home, LIFEOS_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/x")
    with TestClient(create_app(broken, studio=False)) as c:
        down = c.get("/health/ready")
        assert down.status_code == 503 and "database" in down.json()["failing"]
        assert "not reachable" in down.json()["checks"]["database"]["detail"]
        assert c.get("/health/live").status_code == 200  # alive, not ready
