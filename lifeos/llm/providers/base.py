"""What every provider offers, and the errors the router knows how to handle."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

Messages = list[dict[str, Any]]
TokenCallback = Callable[[str], None]


@dataclass
class ProviderReply:
    text: str
    tokens_in: int
    tokens_out: int
    load_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelInfo:
    name: str  # provider/model
    provider: str
    installed: bool
    size_bytes: int | None = None
    kind: str = "chat"  # chat | embed | rerank
    detail: str = ""


@dataclass
class ChatRequest:
    model: str  # the provider's own model name (no `provider/` prefix)
    messages: Messages
    schema: dict[str, Any] | None = None
    images: list[bytes] = field(default_factory=list)
    temperature: float = 0.2
    max_tokens: int = 512
    timeout_s: float = 120
    options: dict[str, Any] = field(default_factory=dict)
    on_token: TokenCallback | None = None
    # With choices, the reply is one of them (each a single token such as "0".."9", "yes"):
    # the provider puts {choice: probability} into `ProviderReply.extra["choice_probs"]`.
    choices: list[str] = field(default_factory=list)


def choice_probs(
    choices: list[str], candidates: Iterable[tuple[str, float]], reply: str
) -> tuple[dict[str, float], bool]:
    """{choice: probability} from (token, log-probability) pairs of the reply's first token,
    normalised over the choices, and whether it came from log-probabilities. Without any (a
    server that returns none) the choice the reply starts with gets 1.0."""
    mass = dict.fromkeys(choices, 0.0)
    for token, logprob in candidates:
        key = token.strip()
        if key in mass:
            mass[key] += math.exp(logprob)
    total = sum(mass.values())
    if total > 0:
        return {c: p / total for c, p in mass.items()}, True
    said = reply.strip()
    return {c: float(said.startswith(c)) for c in choices}, False


class Provider(Protocol):
    name: str

    def chat(self, request: ChatRequest) -> ProviderReply: ...

    def embed(self, model: str, texts: list[str], *, timeout_s: float) -> list[list[float]]: ...

    def list_models(self) -> list[ModelInfo]: ...

    def status(self) -> tuple[bool, str]:
        """(reachable, one-line detail)."""
        ...
