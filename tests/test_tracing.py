"""Traces: one trace from the route through the router to the model call, with the GenAI
semantic-convention attributes (their names checked against the pinned conventions), a
Dagster run started from a request joining its trace, and an exporter that is down costing
no request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics

from apps.api.app import create_app
from lifeos import metrics, tracing
from lifeos.settings import Settings
from resources.workbench import WorkbenchResource

GENAI_NAMES = {
    getattr(gen_ai_attributes, n) for n in dir(gen_ai_attributes) if n.startswith("GEN_AI_")
}


@pytest.fixture(autouse=True)
def _tracing_off_after() -> Iterator[None]:
    yield
    tracing.configure("off")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure(span_exporter=exporter)
    yield exporter
    tracing.configure("off")


def test_one_trace_from_the_route_to_the_model_call(settings: Settings) -> None:
    app = create_app(settings, studio=False)  # sets up its own (off)
    spans = InMemorySpanExporter()
    tracing.configure(span_exporter=spans)
    with TestClient(app) as c:
        answer = c.post("/api/v1/models/tiny/test", headers={"traceparent": ""})
        assert answer.status_code == 200, answer.text
    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.name == "POST /api/v1/models/{alias}/test")
    router = next(s for s in finished if s.name == "router tiny")
    model = next(s for s in finished if s.name.startswith("chat "))
    assert {s.context.trace_id for s in (server, router, model)} == {server.context.trace_id}
    assert model.parent is not None and model.parent.span_id == router.context.span_id
    assert router.parent is not None and router.parent.span_id == server.context.span_id
    attrs: dict[str, Any] = dict(model.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.provider.name"] == "local"
    assert attrs["gen_ai.request.model"] == "smollm2-135m"
    assert attrs["gen_ai.usage.input_tokens"] > 0 and attrs["gen_ai.usage.output_tokens"] > 0
    on_server: dict[str, Any] = dict(server.attributes or {})
    assert on_server["http.route"] == "/api/v1/models/{alias}/test"
    assert on_server["http.response.status_code"] == 200
    assert on_server["lifeos.request_id"] == answer.headers["x-request-id"]


def test_reads_are_sampled_and_writes_always_traced(settings: Settings) -> None:
    """At a read share of 0 no GET is traced, every write is, and a GET that arrives with a
    sampled caller's traceparent keeps the caller's choice."""
    exporter = InMemorySpanExporter()
    app = create_app(settings, studio=False)
    tracing.configure(span_exporter=exporter, sample=0.0)
    try:
        with TestClient(app, base_url="https://127.0.0.1") as c:
            for _ in range(20):
                assert c.get("/api/v1/entities/character").status_code == 200
            created = c.post("/api/v1/entities/character", json={"name": "Aria"})
            assert created.status_code == 201
            caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            assert c.get("/api/v1/entities/character", headers={"traceparent": caller}).is_success
    finally:
        tracing.configure("off")
    names = [(s.name, s.context.trace_id) for s in exporter.get_finished_spans()]
    assert [n for n, _ in names].count("POST /api/v1/entities/{kind}") == 1
    reads = [t for n, t in names if n == "GET /api/v1/entities/{kind}"]
    assert reads == [0x0AF7651916CD43DD8448EB211C80319C]


def test_emitted_names_are_the_pinned_semantic_conventions(spans: InMemorySpanExporter) -> None:
    attrs = tracing.model_attributes(
        kind="embed", provider="local", model="local/minilm", tokens_in=3, tokens_out=0
    )
    assert set(attrs) <= GENAI_NAMES
    assert attrs[gen_ai_attributes.GEN_AI_OPERATION_NAME] == "embeddings"
    # The Prometheus GenAI metrics: the conventions' names, dots as underscores.
    assert metrics.GENAI_TOKENS._name == gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE.replace(".", "_")
    assert metrics.GENAI_DURATION._name == (
        gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION.replace(".", "_") + "_seconds"
    )
    as_labels = {n.replace(".", "_") for n in GENAI_NAMES}
    assert {*metrics.GENAI_LABELS, "gen_ai_token_type"} <= as_labels


def test_a_run_started_by_a_request_joins_its_trace(
    settings: Settings, spans: InMemorySpanExporter
) -> None:
    with tracing.tracer().start_as_current_span("POST /api/v1/something") as request:
        tags = tracing.run_tags()  # what run_partition and the backfills put on the run
    trace_id = request.get_span_context().trace_id
    assert tags[tracing.TRACE_TAG].split("-")[1] == f"{trace_id:032x}"

    @dg.asset
    def one_answer(workbench: WorkbenchResource) -> None:
        with workbench.router() as router:
            router.chat([{"role": "user", "content": "Hi"}], "tiny", max_tokens=4)

    workbench = WorkbenchResource(database_url=settings.database_url, home=str(settings.home))
    result = dg.materialize([one_answer], resources={"workbench": workbench}, tags=tags)
    assert result.success
    model = next(s for s in spans.get_finished_spans() if s.name.startswith("chat "))
    assert model.context is not None and model.context.trace_id == trace_id


def test_an_exporter_that_is_down_costs_no_request(settings: Settings) -> None:
    app = create_app(settings, studio=False)
    provider = tracing.configure("otlp", endpoint="http://127.0.0.1:1/v1/traces")
    try:
        with TestClient(app) as c:
            assert all(c.get("/api/v1/kinds").status_code == 200 for _ in range(20))
        started = time.monotonic()
        provider.shutdown()  # the bounded queue is dropped, not waited on forever
        assert time.monotonic() - started < 30
    finally:
        tracing.configure("off")
