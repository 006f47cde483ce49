"""What every provider offers, and the errors the router knows how to handle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from lifeos.errors import LifeOSError

Messages = list[dict[str, Any]]
TokenCallback = Callable[[str], None]


class ProviderError(LifeOSError):
    """A provider could not answer. `transient` errors are retried, then fall back."""

    code = "provider_error"
    http_status = 502
    transient = False


class ProviderUnavailable(ProviderError):
    """The server is down or unreachable (connection refused, DNS, timeout)."""

    code = "provider_unavailable"
    http_status = 503
    transient = True


class TransientProviderError(ProviderError):
    """Busy or failing for now: HTTP 429 or 5xx."""

    code = "provider_busy"
    http_status = 503
    transient = True


class ModelNotAvailable(ProviderError):
    """The model is not installed / not known to the provider. Falls back, never retried."""

    code = "model_not_available"
    http_status = 404


class CapabilityError(ProviderError):
    """The model cannot do this (e.g. read images)."""

    code = "model_capability"
    http_status = 400


@dataclass
class ProviderReply:
    text: str
    tokens_in: int
    tokens_out: int
    load_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelInfo:
    name: str                 # provider/model
    provider: str
    installed: bool
    size_bytes: int | None = None
    kind: str = "chat"        # chat | embed
    detail: str = ""


@dataclass
class ChatRequest:
    model: str                # the provider's own model name (no `provider/` prefix)
    messages: Messages
    schema: dict[str, Any] | None = None
    images: list[bytes] = field(default_factory=list)
    temperature: float = 0.2
    max_tokens: int = 512
    timeout_s: float = 120
    options: dict[str, Any] = field(default_factory=dict)
    on_token: TokenCallback | None = None


class Provider(Protocol):
    name: str

    def chat(self, request: ChatRequest) -> ProviderReply: ...

    def embed(self, model: str, texts: list[str], *, timeout_s: float) -> list[list[float]]: ...

    def list_models(self) -> list[ModelInfo]: ...

    def status(self) -> tuple[bool, str]:
        """(reachable, one-line detail)."""
        ...
