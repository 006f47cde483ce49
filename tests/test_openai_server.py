"""The `openai/` provider against a real OpenAI-compatible server: llama-cpp-python's server
started on loopback over the shipped 0.5B GGUF."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, Field

from lifeos.llm.providers.local import CHAT_MODELS, default_cache_dir, materialize_gguf
from lifeos.llm.router import Router
from tests.llm_helpers import copy_configs
from tests.services import answers, free_port, stop, wait_until


@pytest.fixture(scope="module")
def openai_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    gguf = materialize_gguf(CHAT_MODELS["qwen2.5-coder-0.5b"], default_cache_dir())
    log = tmp_path_factory.mktemp("llama-server") / "server.log"  # a pipe would fill and block
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--model_alias",
            "qwen-0.5b",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until(
            lambda: answers(f"{base}/models"), proc, log, what="llama_cpp.server", timeout=60
        )
        yield base
    finally:
        stop(proc, timeout=20)


@pytest.fixture
def router(sqlite_url: str, tmp_path: Path, openai_server: str) -> Router:
    config_dir = copy_configs(tmp_path / "configs")
    path = config_dir / "models.yaml"
    data = yaml.safe_load(path.read_text())
    data["providers"]["openai"] = {"base_url": openai_server, "api_key": "not-needed"}
    # llama.cpp's server constrains output with `json_object` + schema.
    data["aliases"]["server"] = {
        "model": "openai/qwen-0.5b",
        "options": {"json_mode": "json_object"},
    }
    path.write_text(yaml.safe_dump(data))
    return Router(database_url=sqlite_url, config_dir=config_dir)


class Place(BaseModel):
    city: str = Field(max_length=40)
    country: str = Field(max_length=40)


pytestmark = pytest.mark.slow


def test_chat_and_usage(router: Router) -> None:
    result = router.chat([{"role": "user", "content": "Say hello."}], "server", max_tokens=12)
    assert result.text.strip() and result.model == "openai/qwen-0.5b"
    assert result.tokens_in > 0 and 0 < result.tokens_out <= 12
    assert router.ledger.recent(1)[0].provider == "openai"


def test_schema_constrained_output(router: Router) -> None:
    question = (
        "Text: 'Mina moved to Harrowgate, in Veltania, last spring.' Where does Mina "
        "live? Answer as JSON with the city and the country."
    )
    result = router.chat(
        [{"role": "user", "content": question}], "server", schema=Place, max_tokens=60
    )
    assert "harrowgate" in result.data.city.lower()


def test_streaming_over_sse(router: Router) -> None:
    pieces: list[str] = []
    result = router.chat(
        [{"role": "user", "content": "Count: one, two, three."}],
        "server",
        max_tokens=12,
        stream=True,
        on_token=pieces.append,
    )
    assert len(pieces) > 1 and "".join(pieces) == result.text


def test_choose_reads_the_servers_logprobs(router: Router) -> None:
    messages = [
        {
            "role": "user",
            "content": "Passages: [1] Cats purr. [2] Dogs bark.\n"
            "Which passage says what dogs do? Reply with its number only.",
        }
    ]
    result = router.choose(messages, ["1", "2"], "server")
    assert result.exact and result.choice == "2"
    assert abs(sum(result.probs.values()) - 1) < 1e-6 and result.probs["2"] > 0.5


def test_models_listed(router: Router) -> None:
    assert [m.name for m in router.provider("openai").list_models()] == ["openai/qwen-0.5b"]
