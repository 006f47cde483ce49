"""Traces (OpenTelemetry SDK): a trace per request, API route → router → model call, with the
GenAI semantic conventions on model spans; Dagster runs started by a request carry its trace
context (the `lifeos/traceparent` run tag) and their model calls join the same trace.

Off by default (no exporter, no network). `LIFEOS_TRACES=otlp` with
`LIFEOS_OTLP_ENDPOINT=http://collector:4318/v1/traces` sends them over OTLP/HTTP; `console`
prints them; `file` appends JSON lines to `LIFEOS_TRACES_FILE`. Spans go through a bounded
batch queue: an exporter that is down drops spans (with the SDK's warning), never a request.

The model spans and the GenAI metrics are made where the ledger row is written
(`record_model_call`), so the ledger, the counters and the traces tell the same story. The
semantic-convention names come from the pinned `opentelemetry-semantic-conventions` package
(`tests/test_tracing.py` checks every emitted name against it)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as genai
from opentelemetry.semconv.attributes import error_attributes, http_attributes

from lifeos.metrics import genai_names

TRACE_TAG = "lifeos/traceparent"  # the Dagster run tag with the W3C trace context
SERVICE = "lifeos-workbench"
_lock = threading.Lock()
_provider: Any = None  # our TracerProvider once configured (never the process-global one)
_tracer: trace.Tracer = trace.NoOpTracer()
_read_share = 1.0  # the share of read requests traced
READS = frozenset({"GET", "HEAD"})


def configure(
    exporter: str = "off",
    *,
    endpoint: str = "",
    file: str | Path = "",
    span_exporter: Any = None,
    batch: bool = False,
    sample: float = 1.0,
) -> Any:
    """Set up where spans go (`off`, `console`, `file`, `otlp`, or a given `span_exporter`,
    as tests do: each span exported as it ends, or in batches off the request path like the
    real exporters with `batch`) and the share of read requests traced (`sample`; everything
    else always is); returns the provider (None when off)."""
    global _read_share
    _read_share = sample
    if exporter == "off" and span_exporter is None:
        _replace(None)
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": SERVICE}),
        # reads are sampled before any span is made (`traces_request`); a request that
        # arrives traced keeps its caller's choice
        sampler=ParentBased(ALWAYS_ON),
    )
    if span_exporter is not None:
        processor = BatchSpanProcessor if batch else SimpleSpanProcessor
        provider.add_span_processor(processor(span_exporter))
    elif exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "file":
        provider.add_span_processor(BatchSpanProcessor(_FileExporter(Path(file))))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=endpoint or None, timeout=5),
                max_queue_size=2048,  # bounded: past it spans are dropped, memory is not
                export_timeout_millis=5000,
            )
        )
    else:
        raise ValueError(f"unknown trace exporter {exporter!r}: off, console, file or otlp")
    _replace(provider)
    return provider


def _replace(provider: Any) -> None:
    """Make `provider` the one spans go to, and shut the one before down (its batch thread
    flushes what it holds and stops: configuring again must not leave a thread behind)."""
    global _provider, _tracer
    with _lock:
        old, _provider = _provider, provider
        _tracer = provider.get_tracer("lifeos") if provider is not None else trace.NoOpTracer()
    if old is not None and old is not provider:
        old.shutdown()


def from_settings(settings: Any) -> Any:
    return configure(
        settings.traces,
        endpoint=settings.otlp_endpoint,
        file=settings.traces_file or "",
        sample=settings.traces_sample,
    )


def tracer() -> trace.Tracer:
    return _tracer


def enabled() -> bool:
    return _provider is not None


# ---- requests and runs -------------------------------------------------------------------


def traces_request(method: str, traceparent: str | None) -> bool:
    """Whether to trace a request: a share of the reads, every other request, and whatever
    a traced caller asks for (its `traceparent`). Decided before the SDK makes a span: a
    span costs it about 55 µs and a sampled-out one still 12 µs, on reads of 1 to 2 ms that
    are nearly all of the requests; writes, model calls and runs are where traces answer
    questions, and they take milliseconds to seconds. Every request is still counted and
    timed in /metrics."""
    if _provider is None:
        return False
    if traceparent or method not in READS or _read_share >= 1.0:
        return True
    return random.random() < _read_share  # noqa: S311  # nosec B311 - sampling, not secrets


@contextmanager
def request_span(method: str, path: str, traceparent: str | None) -> Iterator[Any]:
    """A SERVER span for one HTTP request, continuing an incoming `traceparent`."""
    parent = extract({"traceparent": traceparent}) if traceparent else None
    with tracer().start_as_current_span(
        f"{method}",
        context=parent,
        kind=trace.SpanKind.SERVER,
        attributes={http_attributes.HTTP_REQUEST_METHOD: method, "url.path": path[:500]},
    ) as span:
        yield span


def finish_request(span: Any, route: str, method: str, status: int, request_id: str) -> None:
    if not span.is_recording():
        return
    span.update_name(f"{method} {route}")
    span.set_attribute(http_attributes.HTTP_ROUTE, route)
    span.set_attribute(http_attributes.HTTP_RESPONSE_STATUS_CODE, status)
    span.set_attribute("lifeos.request_id", request_id)
    if status >= 500:
        span.set_status(trace.StatusCode.ERROR)
        span.set_attribute(error_attributes.ERROR_TYPE, str(status))


def run_tags() -> dict[str, str]:
    """The current trace context as a Dagster run tag (empty when not tracing)."""
    if not enabled():
        return {}
    carrier: dict[str, str] = {}
    inject(carrier)
    return {TRACE_TAG: carrier["traceparent"]} if "traceparent" in carrier else {}


@contextmanager
def in_run(tags: Mapping[str, str], run_id: str | None) -> Iterator[None]:
    """Inside a Dagster run: its model calls join the trace of the request that started it."""
    traceparent = tags.get(TRACE_TAG)
    if not traceparent or not enabled():
        yield
        return
    token = otel_context.attach(extract({"traceparent": traceparent}))
    try:
        with tracer().start_as_current_span(
            "dagster run", attributes={"lifeos.run_id": run_id or ""}
        ):
            yield
    finally:
        otel_context.detach(token)


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """An INTERNAL span (the router choosing a model, a tool's work)."""
    with tracer().start_as_current_span(name, attributes=attributes) as s:
        yield s


# ---- model calls -------------------------------------------------------------------------


def model_attributes(
    *, kind: str, provider: str, model: str, tokens_in: int, tokens_out: int
) -> dict[str, Any]:
    """The GenAI semantic-convention attributes of one model call."""
    operation, name = genai_names(kind, model)
    return {
        genai.GEN_AI_OPERATION_NAME: operation,
        genai.GEN_AI_PROVIDER_NAME: provider,
        genai.GEN_AI_REQUEST_MODEL: name,
        genai.GEN_AI_RESPONSE_MODEL: name,
        genai.GEN_AI_USAGE_INPUT_TOKENS: tokens_in,
        genai.GEN_AI_USAGE_OUTPUT_TOKENS: tokens_out,
    }


def record_model_call(
    *,
    kind: str,
    provider: str,
    model: str,
    alias: str,
    tool: str,
    tokens_in: int,
    tokens_out: int,
    latency_ms: float,
    error: str | None,
) -> None:
    """The CLIENT span of a call that just ended (its start is `latency_ms` ago), a child of
    whatever span is current (the router's, inside the request's or the run's)."""
    if not enabled():
        return
    end = time.time_ns()
    attributes = model_attributes(
        kind=kind, provider=provider, model=model, tokens_in=tokens_in, tokens_out=tokens_out
    ) | {"lifeos.alias": alias, "lifeos.tool": tool}
    operation = attributes[genai.GEN_AI_OPERATION_NAME]
    s = tracer().start_span(
        f"{operation} {attributes[genai.GEN_AI_REQUEST_MODEL]}",
        kind=trace.SpanKind.CLIENT,
        attributes=attributes,
        start_time=end - int(latency_ms * 1_000_000),
    )
    if error:
        s.set_status(trace.StatusCode.ERROR, error[:200])
        s.set_attribute(error_attributes.ERROR_TYPE, "provider_error")
    s.end(end_time=end)


class _FileExporter(SpanExporter):
    """Spans as JSON lines in a file (local debugging)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def export(self, spans: Any) -> SpanExportResult:
        with self.path.open("a", encoding="utf-8") as f:
            for s in spans:
                f.write(json.dumps(json.loads(s.to_json())) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
