"""Prometheus metrics (prometheus-client), served at `GET /metrics` in the text format.

- HTTP: requests by route *template* (never the raw path), method and status; latency
  histograms; errors.
- Models: calls, tokens, latency and cost by provider, alias, model and tool, counted where
  the ledger row is written (`Ledger.record`), so the ledger and the counters agree; budget
  refusals.
- Database: query latency (SQLAlchemy cursor events) and connections in use.
- Caches: hits and misses of BoardGameGeek's answers and of model loads.
- Jobs: Dagster runs queued, in progress and failed, read from the instance at scrape time
  (cached a few seconds).

With several API processes (`lifeos up`, `api_workers > 1`) `PROMETHEUS_MULTIPROC_DIR` is set
for all of them and a scrape adds up every process's numbers (prometheus-client's
multiprocess mode). Label values are bounded: routes are templates or `<unmatched>`, models
and tools are what the configs name."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# p50/p95/p99 of anything from a 2 ms page to a minute-long model call
BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
UNMATCHED = "<unmatched>"

HTTP_REQUESTS = Counter(
    "lifeos_http_requests", "HTTP requests answered", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "lifeos_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route", "method"],
    buckets=BUCKETS,
)
HTTP_ERRORS = Counter(
    "lifeos_http_errors", "HTTP answers with a 4xx or 5xx status", ["route", "kind"]
)
LLM_CALLS = Counter(
    "lifeos_llm_calls",
    "Model calls (the ledger's rows)",
    ["provider", "alias", "model", "tool", "ok"],
)
LLM_TOKENS = Counter(
    "lifeos_llm_tokens",
    "Tokens in and out of model calls",
    ["provider", "alias", "model", "tool", "direction"],
)
LLM_LATENCY = Histogram(
    "lifeos_llm_call_duration_seconds",
    "Time of a model call",
    ["provider", "alias", "tool"],
    buckets=BUCKETS,
)
LLM_FIRST_TOKEN = Histogram(
    "lifeos_llm_time_to_first_token_seconds",
    "Time from a streamed call's start to its first token (a local model's load included)",
    ["provider", "alias", "tool"],
    buckets=BUCKETS,
)
LLM_COST = Counter(
    "lifeos_llm_cost_usd", "What model calls cost", ["provider", "alias", "model", "tool"]
)
BUDGET_HITS = Counter("lifeos_llm_budget_refusals", "Calls refused by a budget", ["budget"])
DB_QUERIES = Histogram(
    "lifeos_db_query_duration_seconds", "Time of a SQL statement", ["backend"], buckets=DB_BUCKETS
)
DB_IN_USE = Gauge(
    "lifeos_db_connections_in_use",
    "Pooled connections checked out",
    ["backend"],
    multiprocess_mode="livesum",
)
GENERATION_WAITING = Gauge(
    "lifeos_http_generation_waiting",
    "Generation requests waiting for a slot (settings.generation_slots)",
    multiprocess_mode="livesum",
)
GENERATION_RUNNING = Gauge(
    "lifeos_http_generation_running",
    "Generation requests holding a slot",
    multiprocess_mode="livesum",
)
CACHE = Counter("lifeos_cache_lookups", "Cache lookups by result", ["cache", "result"])
# The OpenTelemetry GenAI client metrics, named and labelled as the semantic conventions say
# (dots become underscores in Prometheus), bounded to operation, provider, model and token type.
GENAI_LABELS = ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"]
GENAI_TOKENS = Histogram(
    "gen_ai_client_token_usage",
    "Tokens used per model call (OpenTelemetry GenAI semantic conventions)",
    [*GENAI_LABELS, "gen_ai_token_type"],
    buckets=(1, 4, 16, 64, 256, 1024, 4096, 16384, 65536),
)
GENAI_DURATION = Histogram(
    "gen_ai_client_operation_duration_seconds",
    "Duration of a model call (OpenTelemetry GenAI semantic conventions)",
    GENAI_LABELS,
    buckets=BUCKETS,
)


# What each kind of ledger row is as a GenAI operation, and a model's name without its provider
GENAI_OPERATIONS = {"chat": "chat", "choose": "chat", "embed": "embeddings"}


def genai_names(kind: str, model: str) -> tuple[str, str]:
    """(gen_ai.operation.name, gen_ai.request.model) of a ledger row's kind and model ref."""
    return GENAI_OPERATIONS.get(kind, kind), model.partition("/")[2] or model


def record_call(
    *,
    kind: str = "chat",
    provider: str,
    alias: str,
    model: str,
    tool: str,
    ok: bool,
    tokens_in: int,
    tokens_out: int,
    latency_ms: float,
    cost_usd: float,
) -> None:
    """One model call, from the place its ledger row is written."""
    LLM_CALLS.labels(provider, alias, model, tool, str(ok).lower()).inc()
    LLM_TOKENS.labels(provider, alias, model, tool, "in").inc(tokens_in)
    LLM_TOKENS.labels(provider, alias, model, tool, "out").inc(tokens_out)
    LLM_LATENCY.labels(provider, alias, tool).observe(latency_ms / 1000)
    if cost_usd:
        LLM_COST.labels(provider, alias, model, tool).inc(cost_usd)
    operation, name = genai_names(kind, model)
    GENAI_DURATION.labels(operation, provider, name).observe(latency_ms / 1000)
    GENAI_TOKENS.labels(operation, provider, name, "input").observe(tokens_in)
    if kind != "embed":
        GENAI_TOKENS.labels(operation, provider, name, "output").observe(tokens_out)


def first_token_timer(
    on_token: Callable[[str], None], *, provider: str, alias: str, tool: str
) -> Callable[[str], None]:
    """`on_token`, observing the time to the first token it is given (from now)."""
    started, child = time.perf_counter(), LLM_FIRST_TOKEN.labels(provider, alias, tool)
    seen = False

    def timed(token: str) -> None:
        nonlocal seen
        if not seen:
            seen = True
            child.observe(time.perf_counter() - started)
        on_token(token)

    return timed


def cache_lookup(cache: str, hit: bool) -> None:
    CACHE.labels(cache, "hit" if hit else "miss").inc()


def instrument_engine(engine: Any) -> None:
    """Query latency and pool use of one SQLAlchemy engine."""
    import sqlalchemy as sa

    backend = engine.dialect.name
    queries, in_use = DB_QUERIES.labels(backend), DB_IN_USE.labels(backend)  # bound once
    clock = time.perf_counter

    def before(conn: Any, *_: Any) -> None:
        conn.info["lifeos_query_at"] = clock()

    def after(conn: Any, *_: Any) -> None:
        at = conn.info.pop("lifeos_query_at", None)
        if at is not None:
            queries.observe(clock() - at)

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    sa.event.listen(engine, "checkout", lambda *_: in_use.inc())
    sa.event.listen(engine, "checkin", lambda *_: in_use.dec())


class Cached(Collector):
    """Gauges computed at scrape time by `read` (e.g. from Dagster's instance), at most once
    every `ttl_s` seconds; a read that fails reports nothing rather than failing the scrape."""

    def __init__(
        self,
        name: str,
        doc: str,
        label: str,
        read: Callable[[], dict[str, float]],
        ttl_s: float = 5.0,
    ) -> None:
        self.name, self.doc, self.label, self.read, self.ttl_s = name, doc, label, read, ttl_s
        self._at = 0.0
        self._values: dict[str, float] = {}
        self._lock = threading.Lock()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl_s:
                try:
                    self._values = self.read()
                except Exception:  # noqa: BLE001 - a scrape must not fail on a busy instance
                    self._values = {}
                self._at = time.monotonic()
            values = dict(self._values)
        family = GaugeMetricFamily(self.name, self.doc, labels=[self.label])
        for key, value in sorted(values.items()):
            family.add_metric([key], value)
        yield family


def exposition(extra: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """The text format of every metric: this process's, or every process's in multiprocess
    mode, then the scrape-time collectors in `extra`."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    scraped = CollectorRegistry()
    for collector in extra:
        scraped.register(collector)
    return generate_latest(registry) + generate_latest(scraped), CONTENT_TYPE_LATEST


# ---- this process's numbers, for the studio's live panel ---------------------------------


def http_snapshot(skip_prefix: str = "/studio") -> dict[str, Any]:
    """Requests, errors and the latency histogram's cumulative buckets so far in this process
    (the studio's own polling left out): what two snapshots a few seconds apart turn into
    requests/s, errors/s and p95."""
    requests = errors = 0.0
    buckets: dict[float, float] = {}
    for family in HTTP_REQUESTS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and not sample.labels["route"].startswith(
                skip_prefix
            ):
                requests += sample.value
                if int(sample.labels["status"]) >= 500:
                    errors += sample.value
    for family in HTTP_LATENCY.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket") and not sample.labels["route"].startswith(
                skip_prefix
            ):
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + sample.value
    return {"at": time.time(), "requests": requests, "errors": errors, "buckets": buckets}


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """Like PromQL's histogram_quantile over cumulative bucket counts (linear in a bucket)."""
    edges = sorted(buckets)
    total = buckets.get(float("inf"), 0.0)
    if not edges or total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for le in edges:
        count = buckets[le]
        if count >= rank:
            if le == float("inf"):
                return lower
            span = count - below
            return lower + (le - lower) * ((rank - below) / span if span else 0.0)
        lower, below = le, count
    return lower
