"""`lifeos models|tools ...` and `/api/v1/models|tools`, with the real local models."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from apps.api.app import create_app
from apps.cli import main
from lifeos.settings import Settings


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_cli(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "list", "--json")
    overview = json.loads(out)
    assert code == 0 and {a["alias"] for a in overview["aliases"]} >= {"default", "fast", "embed"}
    installed = {m["name"]: m["installed"] for m in overview["models"]}
    assert installed["local/qwen2.5-coder-0.5b"] and installed["local/all-minilm-l6-v2"]
    assert any("Ollama is not reachable" in n for n in overview["notes"])
    code, out, _ = run(capsys, "models", "test", "tiny", "--json")
    result = json.loads(out)
    assert code == 0 and result["tokens_out"] > 0 and result["tokens_per_s"] > 0
    code, out, _ = run(capsys, "models", "status", "--json")
    status = {r["alias"]: r["ok"] for r in json.loads(out)}
    assert status["fast"] and not status["vision"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "test", "smart"], "unknown model alias 'smart'"),
        (["models", "pull", "qwen2.5:3b"], "Ollama is not reachable"),
        (["models", "delete", "qwen2.5:3b", "--yes"], "Ollama is not reachable"),
        (["tools", "run", "summarizer", "--data", "{}"], "unknown tool 'summarizer'"),
        (
            ["tools", "run", "tagger", "--data", '{"kind": 1}'],
            "input.kind: Input should be a valid",
        ),
    ],
)
def test_models_cli_errors(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 1 and message in err, err


def test_tools_cli(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tools", "list", "--json")
    assert code == 0 and {t["name"] for t in json.loads(out)} == {
        "composer",
        "rules_qa",
        "tagger",
        "story_planner",
        "story_writer",
        # workflow steps that call no model
        "library_pick",
        "image_batch",
        "story_create",
        "story_plan",
        "story_write",
        "story_illustrate",
        "clothing_ideas",
    }
    code, out, _ = run(
        capsys,
        "tools",
        "run",
        "tagger",
        "--json",
        "--data",
        '{"kind": "outfit", "name": "Rainy day", "text": "yellow raincoat"}',
    )
    assert code == 0 and json.loads(out)["tags"]


def test_models_api(sqlite_url: str, lifeos_home) -> None:  # noqa: ANN001
    settings = Settings(home=lifeos_home, LIFEOS_DATABASE_URL=sqlite_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/models").json()["aliases"][0]["alias"] == "default"
        result = client.post("/api/v1/models/tiny/test").json()
        assert result["model"] == "local/smollm2-135m" and result["tokens_out"] > 0
        problem = client.post("/api/v1/models/smart/test")
        assert problem.status_code == 400
        assert problem.json()["error"]["code"] == "unknown_model"
        pulled = client.post("/api/v1/models/pull", json={"name": "qwen2.5:3b"})
        assert pulled.status_code == 503 and "not reachable" in pulled.json()["error"]["message"]
        tools = {t["name"]: t for t in client.get("/api/v1/tools").json()}
        assert tools["tagger"]["model"] == "fast" and tools["composer"]["model"] == "fast"
        bad = client.post("/api/v1/tools/tagger/run", json={"name": "x"})
        assert bad.status_code == 422
