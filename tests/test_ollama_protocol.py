"""PROTOCOL TEST — the `ollama/` provider against a loopback HTTP server that speaks the
Ollama API endpoints the official client uses. No Ollama server binary can be installed here,
so this checks what we send and how we read the answers, not a real model."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from lifeos.errors import (
    AllModelsFailed,
    ModelNotAvailable,
    UnknownModel,  # noqa: F401 - documents the error family
)
from lifeos.llm import models as service
from lifeos.llm.router import Router
from tests.llm_helpers import copy_configs

MODELS = {"qwen2.5:3b": 1_900_000_000, "nomic-embed-text:latest": 274_000_000}


class FakeOllama(BaseHTTPRequestHandler):
    requests: list[tuple[str, str, dict[str, Any]]] = []
    models: dict[str, int] = {}

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("content-length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _send(self, status: int, payload: Any, *, ndjson: bool = False) -> None:
        raw = (
            "\n".join(json.dumps(p) for p in payload) + "\n" if ndjson else json.dumps(payload)
        ).encode()
        self.send_response(status)
        self.send_header("content-type", "application/x-ndjson" if ndjson else "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:  # noqa: N802
        self.requests.append(("GET", self.path, {}))
        if self.path == "/api/tags":
            self._send(
                200,
                {
                    "models": [
                        {
                            "name": n,
                            "model": n,
                            "size": s,
                            "digest": "sha256:" + "0" * 64,
                            "modified_at": "2026-11-01T00:00:00Z",
                            "details": {},
                        }
                        for n, s in self.models.items()
                    ]
                },
            )
        else:
            self._send(404, {"error": "not found"})

    def do_DELETE(self) -> None:  # noqa: N802
        body = self._body()
        self.requests.append(("DELETE", self.path, body))
        if self.models.pop(body.get("model", ""), None) is None:
            self._send(404, {"error": f"model '{body.get('model')}' not found"})
        else:
            self._send(200, {})

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        self.requests.append(("POST", self.path, body))
        model = body.get("model", "")
        if self.path == "/api/pull":
            self.models[model] = 1
            self._send(200, {"status": "success"})
        elif model not in self.models:
            self._send(404, {"error": f"model '{model}' not found, try pulling it first"})
        elif self.path == "/api/chat":
            content = (
                json.dumps({"city": "Harrowgate", "country": "Veltania"})
                if body.get("format")
                else "Hello from Ollama"
            )
            done = {
                "model": model,
                "created_at": "2026-11-26T00:00:00Z",
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": 12,
                "eval_count": 4,
                "message": {"role": "assistant", "content": ""},
            }
            if body.get("logprobs"):
                top = [
                    {"token": t, "logprob": lp}
                    for t, lp in (("2", -0.2), ("1", -1.9), ("The", -3.0))
                ]
                done["logprobs"] = [{"token": "2", "logprob": -0.2, "top_logprobs": top}]
                content = "2"
            if body.get("stream"):
                parts = [
                    {**done, "done": False, "message": {"role": "assistant", "content": w}}
                    for w in ("Hello ", "from ", "Ollama")
                ]
                self._send(200, [*parts, done], ndjson=True)
            else:
                self._send(200, {**done, "message": {"role": "assistant", "content": content}})
        elif self.path == "/api/embed":
            self._send(200, {"model": model, "embeddings": [[0.1, 0.2, 0.3]] * len(body["input"])})
        else:
            self._send(404, {"error": "not found"})


@pytest.fixture
def ollama_server() -> Iterator[str]:
    FakeOllama.requests = []
    FakeOllama.models = dict(MODELS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOllama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def router(sqlite_url: str, tmp_path: Path, ollama_server: str) -> Router:
    config_dir = copy_configs(tmp_path / "configs")
    path = config_dir / "models.yaml"
    data = yaml.safe_load(path.read_text())
    data["providers"]["ollama"]["host"] = ollama_server
    data["calls"]["retries"] = 0
    data["aliases"]["chat"] = {"model": "ollama/qwen2.5:3b", "options": {"num_ctx": 2048}}
    data["aliases"]["embed"] = {"model": "ollama/nomic-embed-text:latest"}
    path.write_text(yaml.safe_dump(data))
    return Router(database_url=sqlite_url, config_dir=config_dir)


class Place(BaseModel):
    city: str
    country: str


def test_chat_sends_options_and_reads_usage(router: Router) -> None:
    result = router.chat(
        [{"role": "user", "content": "hi"}], "chat", max_tokens=33, temperature=0.4
    )
    assert result.text == "Hello from Ollama" and (result.tokens_in, result.tokens_out) == (12, 4)
    _, path, body = FakeOllama.requests[-1]
    assert path == "/api/chat" and body["model"] == "qwen2.5:3b" and body["stream"] is False
    assert body["options"] == {"temperature": 0.4, "num_predict": 33, "num_ctx": 2048}


def test_choose_asks_for_logprobs_of_one_token(router: Router) -> None:
    result = router.choose([{"role": "user", "content": "1 or 2?"}], ["1", "2"], "chat")
    _, path, body = FakeOllama.requests[-1]
    assert body["logprobs"] is True and body["top_logprobs"] == 20
    assert body["options"]["num_predict"] == 1 and body["options"]["temperature"] == 0
    assert result.exact and result.choice == "2" and 0.8 < result.probs["2"] < 0.9


def test_schema_goes_as_format_and_images_as_base64(router: Router) -> None:
    result = router.chat(
        [{"role": "user", "content": "where?"}], "chat", schema=Place, images=[b"\x89PNG fake"]
    )
    assert result.data == Place(city="Harrowgate", country="Veltania")
    body = FakeOllama.requests[-1][2]
    assert body["format"]["required"] == ["city", "country"]
    assert body["messages"][-1]["images"] == ["iVBORyBmYWtl"]


def test_streaming(router: Router) -> None:
    pieces: list[str] = []
    result = router.chat(
        [{"role": "user", "content": "hi"}], "chat", stream=True, on_token=pieces.append
    )
    assert pieces == ["Hello ", "from ", "Ollama"] and result.text == "Hello from Ollama"
    assert FakeOllama.requests[-1][2]["stream"] is True


def test_embed(router: Router) -> None:
    result = router.embed(["a", "b"])
    assert result.dim == 3 and len(result.vectors) == 2


def test_unknown_model_is_reported(router: Router) -> None:
    FakeOllama.models.pop("qwen2.5:3b")
    with pytest.raises(AllModelsFailed, match="no model 'qwen2.5:3b'"):
        router.chat([{"role": "user", "content": "hi"}], "chat")


def test_list_pull_delete(router: Router) -> None:
    names = {m["name"] for m in service.overview(router)["models"] if m["provider"] == "ollama"}
    assert names == {"ollama/qwen2.5:3b", "ollama/nomic-embed-text:latest"}
    assert service.pull(router, "ollama/llama3.2:1b") == "success"
    assert "llama3.2:1b" in FakeOllama.models
    service.delete(router, "llama3.2:1b")
    assert "llama3.2:1b" not in FakeOllama.models
    with pytest.raises(ModelNotAvailable):
        service.delete(router, "llama3.2:1b")
    status = {r["alias"]: r for r in service.status(router)}
    assert status["chat"]["ok"] and "2 models" in status["chat"]["detail"]
