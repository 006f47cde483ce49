"""The router: one `chat()` and one `embed()` for every tool, whatever serves the model.

For each call: resolve the alias to an ordered chain of models; check the budgets; call the
first model, retrying transient errors with backoff; on a provider failure fall back to the
next model. With a schema, the provider's constrained decoding is used, the reply is validated,
and an invalid reply gets one repair round with the validation error. Every provider call,
success or failure, is written to the ledger.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from lifeos import tracing
from lifeos.cache import CountedLRU
from lifeos.errors import (
    AllModelsFailed,
    BudgetExceeded,
    CapabilityError,
    InvalidModelOutput,
    LifeOSError,
    ProviderError,
)
from lifeos.ledger import CallRecord, Ledger, run_id_var, start_of_day
from lifeos.llm.config import ModelsConfig, PricesConfig, WatchedYaml
from lifeos.llm.providers.base import (
    ChatRequest,
    Messages,
    Provider,
    ProviderReply,
    TokenCallback,
    choice_probs,
)
from lifeos.logging import get_logger
from lifeos.metrics import BUDGET_HITS, first_token_timer

log = get_logger(__name__)
_R = TypeVar("_R")
QUERY_TEXTS = 8  # embed calls of at most this many texts go through the query cache


@dataclass
class ChatResult:
    text: str
    data: Any  # the validated object when a schema was given
    alias: str
    model: str  # provider/model that answered
    tokens_in: int
    tokens_out: int
    latency_s: float
    load_s: float
    cost_usd: float
    repaired: bool = False
    fallback: bool = False


@dataclass
class ChoiceResult:
    probs: dict[str, float]  # choice -> probability, summing to 1 over the choices
    choice: str  # the most likely one
    exact: bool  # read from log-probabilities (False: only the token replied)
    alias: str
    model: str
    tokens_in: int
    latency_s: float
    load_s: float
    cost_usd: float
    fallback: bool = False


@dataclass
class EmbedResult:
    vectors: list[list[float]]
    model: str
    dim: int


@dataclass
class RerankResult:
    scores: list[float]  # one per document, in the documents' order: higher is more relevant
    model: str


def _schema_of(schema: type[BaseModel] | dict[str, Any] | None) -> dict[str, Any] | None:
    if schema is None or isinstance(schema, dict):
        return schema
    return schema.model_json_schema()


def _validate(text: str, schema: type[BaseModel] | dict[str, Any]) -> Any:
    """Parse and validate a reply; raise ValueError with a message fit for a repair prompt."""
    cleaned = text.strip()
    if cleaned.startswith("```"):  # tolerate a fenced reply
        cleaned = cleaned.strip("`").removeprefix("json").strip()
    try:
        value = json.loads(cleaned)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise ValueError("expected a JSON object")
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            raise ValueError(f"missing required fields: {', '.join(missing)}")
        return value
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:5]
        )
        raise ValueError(problems) from None


class Router:
    def __init__(
        self,
        *,
        database_url: str,
        config_dir: Path | None = None,
        providers: dict[str, Any] | None = None,
    ) -> None:
        if config_dir is None:
            from lifeos.settings import get_settings

            config_dir = get_settings().config_dir
        self.config_dir = Path(config_dir)
        self._models = WatchedYaml(Path(config_dir) / "models.yaml", ModelsConfig)
        self._prices = WatchedYaml(Path(config_dir) / "prices.yaml", PricesConfig)
        self.ledger = Ledger(database_url)
        self._providers: dict[str, Any] = dict(providers or {})
        self._provider_lock = threading.Lock()
        # A question, a search, a context request: short texts asked again and again.
        self._query_vectors: CountedLRU[list[float]] = CountedLRU("embeddings", 512)

    @property
    def config(self) -> ModelsConfig:
        return self._models.get()

    # ---- providers ---------------------------------------------------------------------------

    def provider(self, name: str) -> Any:
        with self._provider_lock:
            if name not in self._providers:
                self._providers[name] = self._make_provider(name)
            return self._providers[name]

    def _make_provider(self, name: str) -> Any:
        cfg = self.config.providers
        if name == "local":
            from lifeos.llm.providers.local import LocalProvider

            return LocalProvider(
                n_ctx=cfg.local.n_ctx,
                n_threads=cfg.local.n_threads,
                cache_dir=Path(cfg.local.cache_dir) if cfg.local.cache_dir else None,
                rerankers=cfg.local.rerankers,
            )
        if name == "ollama":
            from lifeos.llm.providers.ollama import OllamaProvider

            return OllamaProvider(host=cfg.ollama.host)
        from lifeos.llm.providers.openai import OpenAIProvider
        from lifeos.logging import register_secret

        register_secret(cfg.openai.api_key)  # never in a log line or a traceback
        return OpenAIProvider(base_url=cfg.openai.base_url, api_key=cfg.openai.api_key)

    # ---- chat --------------------------------------------------------------------------------

    def chat(
        self,
        messages: Messages,
        alias: str = "default",
        *,
        schema: type[BaseModel] | dict[str, Any] | None = None,
        images: list[bytes] | None = None,
        stream: bool = False,
        on_token: TokenCallback | None = None,
        temperature: float = 0.2,
        max_tokens: int = 512,
        tool: str = "chat",
        decoding_schema: dict[str, Any] | None = None,
    ) -> ChatResult:
        """Answer `messages` with the alias's model. With `schema` (a pydantic model or a JSON
        schema) the reply is constrained, validated and repaired once; `decoding_schema`
        overrides the schema sent to the provider (e.g. one with tighter length limits)."""
        json_schema = decoding_schema or _schema_of(schema)

        def request(model: str, options: dict[str, Any], timeout_s: float) -> ChatRequest:
            return ChatRequest(
                model=model,
                messages=list(messages),
                schema=json_schema,
                images=images or [],
                temperature=temperature,
                max_tokens=max_tokens,
                timeout_s=timeout_s,
                options=options,
                on_token=on_token if stream else None,
            )

        return self._first_answer(
            alias,
            tool,
            request,
            lambda req, provider, fallback: self._chat_one(
                req, provider, alias, tool, schema, fallback=fallback
            ),
            estimate_tokens=(messages, max_tokens),
        )

    def choose(
        self,
        messages: Messages,
        choices: list[str],
        alias: str = "default",
        *,
        tool: str = "choose",
    ) -> ChoiceResult:
        """How likely the model is to reply with each of `choices` (single tokens such as
        "0".."9" or "yes"/"no"), read from one forward pass instead of sampled: a decision
        with a probability that a tool can threshold. Providers that return no
        log-probabilities give 1.0 to the choice they reply with (`exact` is then False); a
        reply that is none of the choices raises InvalidModelOutput."""

        def request(model: str, options: dict[str, Any], timeout_s: float) -> ChatRequest:
            return ChatRequest(
                model=model,
                messages=list(messages),
                temperature=0.0,
                max_tokens=1,
                timeout_s=timeout_s,
                options=options,
                choices=list(choices),
            )

        def one(req: ChatRequest, provider_name: str, fallback: bool) -> ChoiceResult:
            started = time.perf_counter()
            reply = self._call(req, provider_name, alias, tool)
            probs = reply.extra.get("choice_probs") or choice_probs(req.choices, [], reply.text)[0]
            ref = f"{provider_name}/{req.model}"
            if not any(probs.values()):
                raise InvalidModelOutput(
                    f"{ref} replied {reply.text[:80]!r}, not one of {', '.join(req.choices)}",
                    details={"reply": reply.text[:2000], "model": ref},
                )
            return ChoiceResult(
                probs=probs,
                choice=max(probs, key=probs.__getitem__),
                exact=bool(reply.extra.get("logprobs")),
                alias=alias,
                model=ref,
                tokens_in=reply.tokens_in,
                latency_s=time.perf_counter() - started,
                load_s=reply.load_s,
                fallback=fallback,
                cost_usd=self._prices.get().cost(ref, reply.tokens_in, reply.tokens_out),
            )

        return self._first_answer(alias, tool, request, one, estimate_tokens=(messages, 1))

    def _first_answer(
        self,
        alias: str,
        tool: str,
        request: Callable[[str, dict[str, Any], float], ChatRequest],
        attempt: Callable[[ChatRequest, str, bool], _R],
        *,
        estimate_tokens: tuple[Messages, int],
    ) -> _R:
        """Check the budgets, then try the alias's models in order until one answers."""
        config = self.config
        chain = config.alias(alias)
        self._check_budgets(tool, estimate_usd=self._estimate(chain.model, *estimate_tokens))

        def one(index: int, provider_name: str, model: str) -> _R:
            req = request(model, dict(chain.options) if index == 0 else {}, config.calls.timeout_s)
            return attempt(req, provider_name, index > 0)

        return self._down_the_chain(alias, one, failed="answered")

    def _down_the_chain(
        self, alias: str, attempt: Callable[[int, str, str], _R], *, failed: str
    ) -> _R:
        """`attempt(index, provider, model)` with the alias's models in order until one
        succeeds; a provider error moves on to the next. One span (`router ALIAS`) holds the
        attempts' model spans."""
        errors: list[str] = []
        with tracing.span(f"router {alias}", **{"lifeos.alias": alias}) as span:
            for index, ref in enumerate(self.config.alias(alias).chain):
                provider_name, _, model = ref.partition("/")
                try:
                    result = attempt(index, provider_name, model)
                    span.set_attribute("lifeos.model", ref)
                    return result
                except ProviderError as exc:
                    errors.append(f"{ref}: {exc.message}")
                    log.warning(
                        "model failed, trying the next", alias=alias, model=ref, error=exc.message
                    )
        raise AllModelsFailed(
            f"no model for alias {alias!r} {failed}: " + " | ".join(errors),
            details={"errors": errors},
        )

    def _chat_one(
        self,
        request: ChatRequest,
        provider_name: str,
        alias: str,
        tool: str,
        schema: type[BaseModel] | dict[str, Any] | None,
        *,
        fallback: bool,
    ) -> ChatResult:
        ref = f"{provider_name}/{request.model}"
        started = time.perf_counter()
        reply = self._call(request, provider_name, alias, tool)
        tokens_in, tokens_out, load_s = reply.tokens_in, reply.tokens_out, reply.load_s
        data: Any = None
        repaired = False
        if schema is not None:
            try:
                data = _validate(reply.text, schema)
            except ValueError as first:
                repaired = True
                request.messages = [
                    *request.messages,
                    {"role": "assistant", "content": reply.text},
                    {
                        "role": "user",
                        "content": f"That reply was invalid ({first}). Answer again with only "
                        "the corrected JSON.",
                    },
                ]
                reply = self._call(request, provider_name, alias, tool)
                tokens_in += reply.tokens_in
                tokens_out += reply.tokens_out
                try:
                    data = _validate(reply.text, schema)
                except ValueError as second:
                    raise InvalidModelOutput(
                        f"{ref} returned invalid output twice: {second}",
                        details={
                            "first_error": str(first),
                            "second_error": str(second),
                            "reply": reply.text[:2000],
                            "model": ref,
                            "tokens_in": tokens_in,
                            "tokens_out": tokens_out,
                            "latency_s": round(time.perf_counter() - started, 3),
                        },
                    ) from None
        cost = self._prices.get().cost(ref, tokens_in, tokens_out)
        return ChatResult(
            text=reply.text,
            data=data,
            alias=alias,
            model=ref,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_s=time.perf_counter() - started,
            load_s=load_s,
            cost_usd=cost,
            repaired=repaired,
            fallback=fallback,
        )

    def _call(
        self, request: ChatRequest, provider_name: str, alias: str, tool: str
    ) -> ProviderReply:
        """One provider call with retries on transient errors; each attempt is recorded."""
        provider: Provider = self.provider(provider_name)
        ref = f"{provider_name}/{request.model}"
        kind = "choose" if request.choices else "chat"
        retrying = Retrying(
            stop=stop_after_attempt(self.config.calls.retries + 1),
            wait=wait_exponential(multiplier=0.5, max=8),
            retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.transient),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                started = time.perf_counter()
                sent = request
                if request.on_token is not None:  # each attempt's own first token
                    timed = first_token_timer(
                        request.on_token, provider=provider_name, alias=alias, tool=tool
                    )
                    sent = replace(request, on_token=timed)
                try:
                    reply = provider.chat(sent)
                except ProviderError as exc:
                    self._record(tool, kind, alias, provider_name, ref, started, error=exc)
                    raise
                cost = self._prices.get().cost(ref, reply.tokens_in, reply.tokens_out)
                self._record(
                    tool,
                    kind,
                    alias,
                    provider_name,
                    ref,
                    started,
                    tokens_in=reply.tokens_in,
                    tokens_out=reply.tokens_out,
                    cost=cost,
                )
                return reply
        raise AssertionError("unreachable")  # pragma: no cover

    def warm(self, alias: str) -> float:
        """Load the alias's model now rather than in its first call, so that call (a timed
        one, or a player's first question) pays for the answer alone: the first model of its
        chain that loads, as a call would fall back to it. Only providers that run models
        in-process have anything to load (`load`); for servers this is a no-op. Returns the
        seconds spent loading (0 when it was loaded already)."""

        def load(_index: int, provider_name: str, model: str) -> float:
            loader = getattr(self.provider(provider_name), "load", None)
            return float(loader(model)) if loader is not None else 0.0

        return self._down_the_chain(alias, load, failed="could be loaded")

    # ---- embeddings --------------------------------------------------------------------------

    def embed(
        self, texts: list[str], alias: str = "embed", *, tool: str = "embed", batch_size: int = 64
    ) -> EmbedResult:
        """Vectors of `texts` from the alias's model. Calls of a few texts (queries) are
        answered from a cache of recent ones where they can be, and only the misses reach
        the model (and the ledger); an index's many chunks always go to the model."""
        chain = self.config.alias(alias)
        provider_name, _, model = chain.model.partition("/")
        provider: Provider = self.provider(provider_name)
        queries = len(texts) <= QUERY_TEXTS  # only these go through the cache
        vectors: list[list[float] | None] = [
            list(hit) if queries and (hit := self._query_vectors.get((chain.model, t))) else None
            for t in texts
        ]  # a hit is the caller's own copy
        todo = [i for i, v in enumerate(vectors) if v is None]
        with tracing.span(f"router {alias}", **{"lifeos.alias": alias}):
            made: list[list[float]] = []
            for start in range(0, len(todo), batch_size):
                batch = [texts[i] for i in todo[start : start + batch_size]]
                started = time.perf_counter()
                try:
                    made += provider.embed(model, batch, timeout_s=self.config.calls.timeout_s)
                except ProviderError as exc:
                    self._record(
                        tool, "embed", alias, provider_name, chain.model, started, error=exc
                    )
                    raise
                self._record(
                    tool,
                    "embed",
                    alias,
                    provider_name,
                    chain.model,
                    started,
                    tokens_in=sum(len(t.split()) for t in batch),
                )
        for i, vector in zip(todo, made, strict=True):
            vectors[i] = vector
            if queries:
                self._query_vectors.put((chain.model, texts[i]), list(vector))
        done = [v for v in vectors if v is not None]
        return EmbedResult(vectors=done, model=chain.model, dim=len(done[0]) if done else 0)

    def embedding_dim(self, alias: str = "embed") -> int:
        """The alias's vector dimension: from the model's spec where the provider knows it
        (no model loaded: an index check in a fresh process need not load the embedder),
        else from one embedding."""
        provider_name, _, model = self.config.alias(alias).model.partition("/")
        known = getattr(self.provider(provider_name), "embedding_dim", None)
        return (known(model) if known else 0) or self.embed(
            ["dimension probe"], alias, tool="embedding_dim"
        ).dim

    # ---- reranking ---------------------------------------------------------------------------

    def rerank(
        self, query: str, documents: list[str], alias: str = "rerank", *, tool: str = "rerank"
    ) -> RerankResult:
        """How relevant each document is to the query, read by a cross-encoder (query and
        document together, unlike embeddings): a local one from a folder you have
        (`providers.local.rerankers`) or a server's `/rerank` (llama.cpp, vLLM, Infinity)."""
        chain = self.config.alias(alias)
        provider_name, _, model = chain.model.partition("/")
        provider = self.provider(provider_name)
        started = time.perf_counter()
        try:
            reranker = getattr(provider, "rerank", None)
            if reranker is None:
                raise CapabilityError(
                    f"{provider_name} models cannot rerank: point `{alias}` "
                    "at a local cross-encoder or an OpenAI-compatible server"
                )
            scores = reranker(model, query, documents, timeout_s=self.config.calls.timeout_s)
        except ProviderError as exc:
            self._record(tool, "rerank", alias, provider_name, chain.model, started, error=exc)
            raise
        self._record(
            tool,
            "rerank",
            alias,
            provider_name,
            chain.model,
            started,
            tokens_in=sum(len(d.split()) for d in documents) + len(query.split()),
        )
        return RerankResult(scores=scores, model=chain.model)

    # ---- budgets and the ledger --------------------------------------------------------------

    def _estimate(self, ref: str, messages: Messages, max_tokens: int) -> float:
        tokens_in = sum(len(str(m.get("content", ""))) for m in messages) // 3
        return self._prices.get().cost(ref, tokens_in, max_tokens)

    def _check_budgets(self, tool: str, *, estimate_usd: float) -> None:
        if estimate_usd <= 0:
            return  # a free call (every local model) cannot take spending past a limit
        budgets = self.config.budgets
        checks: list[tuple[str, float | None, dict[str, Any]]] = [
            ("today", budgets.per_day_usd, {"since": start_of_day()}),
            (
                f"tool {tool!r} today",
                budgets.per_tool_usd.get(tool),
                {"since": start_of_day(), "tool": tool},
            ),
        ]
        if run_id_var.get():
            checks.append(("this run", budgets.per_run_usd, {"run_id": run_id_var.get()}))
        for label, limit, where in checks:
            if limit is None:
                continue
            spent = self.ledger.spent(**where)
            if spent + estimate_usd > limit:
                BUDGET_HITS.labels(label.split(" ")[0] if label.startswith("tool") else label).inc()
                raise BudgetExceeded(
                    f"budget for {label} is ${limit:.2f}; ${spent:.4f} spent and this call may "
                    f"cost ${estimate_usd:.4f}",
                    details={
                        "budget": label,
                        "limit_usd": limit,
                        "spent_usd": spent,
                        "estimate_usd": estimate_usd,
                    },
                )

    def _record(
        self,
        tool: str,
        kind: str,
        alias: str,
        provider: str,
        model: str,
        started: float,
        *,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost: float = 0.0,
        error: LifeOSError | None = None,
    ) -> None:
        self.ledger.record(
            CallRecord(
                tool=tool,
                kind=kind,
                alias=alias,
                provider=provider,
                model=model,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                latency_ms=(time.perf_counter() - started) * 1000,
                cost_usd=cost,
                ok=error is None,
                error=error.message if error else None,
            )
        )


_routers: dict[str, Router] = {}
_routers_lock = threading.Lock()


def get_router(database_url: str | None = None) -> Router:
    """One router per library per process (models stay loaded between calls)."""
    from lifeos.settings import get_settings

    url = database_url or get_settings().database_url
    with _routers_lock:
        if url not in _routers:
            _routers[url] = Router(database_url=url)
        return _routers[url]
