"""`ollama/...`: an Ollama server through the official `ollama` client (OLLAMA_HOST)."""

from __future__ import annotations

from typing import Any

import httpx

from lifeos.errors import (
    ModelNotAvailable,
    ProviderError,
    ProviderUnavailable,
    TransientProviderError,
)
from lifeos.llm.providers.base import ChatRequest, ModelInfo, ProviderReply, choice_probs


def _translate(exc: Exception, host: str, model: str = "") -> ProviderError:
    import ollama

    if isinstance(exc, ollama.ResponseError):
        if exc.status_code == 404:
            return ModelNotAvailable(
                f"Ollama at {host} has no model {model!r} (`lifeos models pull {model}`)"
            )
        if exc.status_code == 429 or exc.status_code >= 500:
            return TransientProviderError(f"Ollama answered {exc.status_code}: {exc.error}")
        return ProviderError(f"Ollama refused the request ({exc.status_code}): {exc.error}")
    if isinstance(exc, httpx.TimeoutException):
        return TransientProviderError(f"Ollama at {host} timed out")
    if isinstance(exc, (httpx.TransportError, ConnectionError)):
        return ProviderUnavailable(f"Ollama is not reachable at {host} ({type(exc).__name__})")
    return ProviderError(f"Ollama call failed: {exc}")


class OllamaProvider:
    name = "ollama"

    def __init__(self, *, host: str) -> None:
        self.host = host

    def _client(self, timeout_s: float) -> Any:
        import ollama

        return ollama.Client(host=self.host, timeout=timeout_s)

    def chat(self, request: ChatRequest) -> ProviderReply:
        messages = [dict(m) for m in request.messages]
        if request.images:
            messages[-1] = {**messages[-1], "images": list(request.images)}
        options = {
            "temperature": request.temperature,
            "num_predict": request.max_tokens,
            **request.options,
        }
        try:
            client = self._client(request.timeout_s)
            if request.choices:
                return self._choose(client, request, messages, options)
            if request.on_token is None:
                resp = client.chat(
                    model=request.model, messages=messages, format=request.schema, options=options
                )
                return ProviderReply(
                    text=resp.message.content or "",
                    tokens_in=resp.prompt_eval_count or 0,
                    tokens_out=resp.eval_count or 0,
                )
            pieces: list[str] = []
            tokens_in = tokens_out = 0
            for part in client.chat(
                model=request.model,
                messages=messages,
                format=request.schema,
                options=options,
                stream=True,
            ):
                delta = part.message.content or ""
                if delta:
                    pieces.append(delta)
                    request.on_token(delta)
                tokens_in = part.prompt_eval_count or tokens_in
                tokens_out = part.eval_count or tokens_out
            return ProviderReply(text="".join(pieces), tokens_in=tokens_in, tokens_out=tokens_out)
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - every client error becomes ours
            raise _translate(exc, self.host, request.model) from exc

    @staticmethod
    def _choose(
        client: Any, request: ChatRequest, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> ProviderReply:
        """One token with its top log-probabilities (Ollama 0.12.11 and newer return them)."""
        resp = client.chat(
            model=request.model,
            messages=messages,
            options={**options, "temperature": 0.0, "num_predict": 1},
            logprobs=True,
            top_logprobs=20,
        )
        text = resp.message.content or ""
        first = (getattr(resp, "logprobs", None) or [None])[0]
        candidates = [(t.token, t.logprob) for t in (first.top_logprobs or [])] if first else []
        probs, exact = choice_probs(request.choices, candidates, text)
        return ProviderReply(
            text=text,
            tokens_in=resp.prompt_eval_count or 0,
            tokens_out=resp.eval_count or 0,
            extra={"choice_probs": probs, "logprobs": exact},
        )

    def embed(self, model: str, texts: list[str], *, timeout_s: float) -> list[list[float]]:
        try:
            resp = self._client(timeout_s).embed(model=model, input=texts)
            return [list(v) for v in resp.embeddings]
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, self.host, model) from exc

    def list_models(self) -> list[ModelInfo]:
        try:
            listed = self._client(10).list()
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, self.host) from exc
        return [
            ModelInfo(
                name=f"ollama/{m.model}", provider="ollama", installed=True, size_bytes=m.size
            )
            for m in listed.models
        ]

    def status(self) -> tuple[bool, str]:
        try:
            return True, f"{self.host}: {len(self.list_models())} models"
        except ProviderError as exc:
            return False, exc.message

    def pull(self, model: str) -> str:
        try:
            resp = self._client(3600).pull(model)
            return resp.status or "success"
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, self.host, model) from exc

    def delete(self, model: str) -> None:
        try:
            self._client(60).delete(model)
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, self.host, model) from exc
