"""`openai/...`: any OpenAI-compatible server (llama.cpp server, vLLM, LM Studio, OpenAI)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from lifeos.errors import (
    ModelNotAvailable,
    ProviderError,
    ProviderUnavailable,
    TransientProviderError,
)
from lifeos.llm.providers.base import ChatRequest, ModelInfo, ProviderReply, choice_probs


class OpenAIProvider:
    name = "openai"

    def __init__(self, *, base_url: str, api_key: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _post(self, path: str, body: dict[str, Any], timeout_s: float) -> httpx.Response:
        try:
            resp = httpx.post(
                f"{self.base_url}{path}", json=body, headers=self.headers, timeout=timeout_s
            )
        except httpx.TimeoutException:
            raise TransientProviderError(f"{self.base_url} timed out") from None
        except httpx.TransportError as exc:
            raise ProviderUnavailable(
                f"{self.base_url} is not reachable ({type(exc).__name__})"
            ) from None
        self._raise_for_status(resp, body.get("model", ""))
        return resp

    def _raise_for_status(self, resp: httpx.Response, model: str) -> None:
        if resp.status_code < 400:
            return
        detail = resp.text[:300]
        if resp.status_code == 404:
            raise ModelNotAvailable(f"{self.base_url} has no model {model!r}: {detail}")
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientProviderError(f"{self.base_url} answered {resp.status_code}: {detail}")
        raise ProviderError(f"{self.base_url} refused the request ({resp.status_code}): {detail}")

    @staticmethod
    def _messages(request: ChatRequest) -> list[dict[str, Any]]:
        messages = [dict(m) for m in request.messages]
        if request.images:
            parts: list[dict[str, Any]] = [{"type": "text", "text": messages[-1]["content"]}]
            parts += [
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64," + base64.b64encode(img).decode()},
                }
                for img in request.images
            ]
            messages[-1] = {**messages[-1], "content": parts}
        return messages

    def chat(self, request: ChatRequest) -> ProviderReply:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": self._messages(request),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        options = dict(request.options)
        json_mode = options.pop("json_mode", "json_schema")
        body.update(options)
        if request.schema is not None:
            # OpenAI and vLLM take `json_schema`; llama.cpp's server takes `json_object`+schema.
            body["response_format"] = (
                {"type": "json_object", "schema": request.schema}
                if json_mode == "json_object"
                else {
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": request.schema},
                }
            )
        if request.choices:
            return self._choose(body, request)
        if request.on_token is None:
            data = self._post("/chat/completions", body, request.timeout_s).json()
            usage = data.get("usage") or {}
            return ProviderReply(
                text=data["choices"][0]["message"].get("content") or "",
                tokens_in=int(usage.get("prompt_tokens", 0)),
                tokens_out=int(usage.get("completion_tokens", 0)),
            )
        return self._stream(body, request)

    def _choose(self, body: dict[str, Any], request: ChatRequest) -> ProviderReply:
        """One token with its top log-probabilities (servers that return none: the token)."""
        body = {**body, "max_tokens": 1, "temperature": 0.0, "logprobs": True, "top_logprobs": 20}
        data = self._post("/chat/completions", body, request.timeout_s).json()
        choice = data["choices"][0]
        text = (choice.get("message") or {}).get("content") or ""
        content = (choice.get("logprobs") or {}).get("content") or []
        candidates = (
            [(t["token"], t["logprob"]) for t in content[0].get("top_logprobs") or []]
            if content
            else []
        )
        probs, exact = choice_probs(request.choices, candidates, text)
        usage = data.get("usage") or {}
        return ProviderReply(
            text=text,
            tokens_in=int(usage.get("prompt_tokens", 0)),
            tokens_out=int(usage.get("completion_tokens", 0)),
            extra={"choice_probs": probs, "logprobs": exact},
        )

    def _stream(self, body: dict[str, Any], request: ChatRequest) -> ProviderReply:
        body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        pieces: list[str] = []
        usage: dict[str, Any] = {}
        try:
            with httpx.stream(
                "POST",
                f"{self.base_url}/chat/completions",
                json=body,
                headers=self.headers,
                timeout=request.timeout_s,
            ) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self._raise_for_status(resp, request.model)
                for line in resp.iter_lines():
                    if not line.startswith("data:") or line.strip() == "data: [DONE]":
                        continue
                    chunk = json.loads(line[5:])
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices", []):
                        delta = (choice.get("delta") or {}).get("content")
                        if delta:
                            pieces.append(delta)
                            request.on_token(delta)  # type: ignore[misc]
        except httpx.TimeoutException:
            raise TransientProviderError(f"{self.base_url} timed out") from None
        except httpx.TransportError as exc:
            raise ProviderUnavailable(
                f"{self.base_url} is not reachable ({type(exc).__name__})"
            ) from None
        return ProviderReply(
            text="".join(pieces),
            tokens_in=int(usage.get("prompt_tokens", 0)),
            tokens_out=int(usage.get("completion_tokens", 0)),
        )

    def embed(self, model: str, texts: list[str], *, timeout_s: float) -> list[list[float]]:
        data = self._post("/embeddings", {"model": model, "input": texts}, timeout_s).json()
        return [item["embedding"] for item in sorted(data["data"], key=lambda d: d["index"])]

    def rerank(
        self, model: str, query: str, documents: list[str], *, timeout_s: float
    ) -> list[float]:
        """`POST /rerank` as llama.cpp's server (`--reranking`), vLLM and Infinity serve it:
        results carry each document's index and relevance_score."""
        data = self._post(
            "/rerank", {"model": model, "query": query, "documents": documents}, timeout_s
        ).json()
        scores = [0.0] * len(documents)
        for item in data.get("results", []):
            scores[int(item["index"])] = float(item["relevance_score"])
        return scores

    def list_models(self) -> list[ModelInfo]:
        try:
            resp = httpx.get(f"{self.base_url}/models", headers=self.headers, timeout=10)
        except httpx.TransportError as exc:
            raise ProviderUnavailable(
                f"{self.base_url} is not reachable ({type(exc).__name__})"
            ) from None
        self._raise_for_status(resp, "")
        return [
            ModelInfo(name=f"openai/{m['id']}", provider="openai", installed=True)
            for m in resp.json().get("data", [])
        ]

    def status(self) -> tuple[bool, str]:
        try:
            return True, f"{self.base_url}: {len(self.list_models())} models"
        except ProviderError as exc:
            return False, exc.message
