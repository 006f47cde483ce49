"""The LLM router with the real local models (small prompts), and its error paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import BaseModel

from lifeos.errors import (
    AllModelsFailed,
    BudgetExceeded,
    ConfigError,
    InvalidModelOutput,
    ModelNotAvailable,
    TransientProviderError,
    UnknownModel,
)
from lifeos.llm.providers.base import choice_probs
from lifeos.llm.providers.local import LocalProvider
from lifeos.llm.router import Router
from tests.llm_helpers import ScriptedProvider, copy_configs


@pytest.fixture(scope="session")
def local_provider() -> LocalProvider:
    """Shared across tests: models load once per test session."""
    return LocalProvider(n_ctx=2048, n_threads=2)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return copy_configs(tmp_path / "configs")


@pytest.fixture
def router(sqlite_url: str, config_dir: Path, local_provider: LocalProvider) -> Router:
    return Router(
        database_url=sqlite_url, config_dir=config_dir, providers={"local": local_provider}
    )


def edit_yaml(path: Path, change) -> None:  # noqa: ANN001
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def ledger(router: Router) -> list[tuple[str, bool, str | None]]:
    return [(c.model, c.ok, c.error) for c in reversed(router.ledger.recent(100))]


HELLO = [{"role": "user", "content": "Reply with one word: hello."}]


class Capital(BaseModel):
    city: str
    country: str


def test_chat_with_the_local_tiny_model(router: Router) -> None:
    result = router.chat(HELLO, "tiny", max_tokens=16)
    assert result.text.strip() and result.model == "local/smollm2-135m"
    assert result.tokens_in > 5 and 0 < result.tokens_out <= 16
    assert result.cost_usd == 0
    calls = router.ledger.recent(5)
    assert len(calls) == 1 and calls[0].ok and calls[0].tool == "chat"
    assert calls[0].tokens_out == result.tokens_out and calls[0].latency_ms > 0


def test_warm_loads_a_local_model_before_its_first_call(sqlite_url: str, config_dir: Path) -> None:
    router = Router(
        database_url=sqlite_url,
        config_dir=config_dir,
        providers={"local": LocalProvider(n_ctx=512, n_threads=2)},
    )
    assert router.warm("tiny") > 0 and router.warm("embed") > 0
    assert router.warm("tiny") == 0 and router.warm("embed") == 0  # once per process
    assert router.chat(HELLO, "tiny", max_tokens=2).load_s == 0  # the call pays no load
    servers = Router(
        database_url=sqlite_url,
        config_dir=config_dir,
        providers={"local": ScriptedProvider("local", ["hello"])},
    )
    assert servers.warm("tiny") == 0  # a provider with nothing to load in-process
    # A model that cannot load gives way to the alias's next one, as in a call.
    edit_yaml(
        config_dir / "models.yaml",
        lambda d: d["aliases"].update(
            spare={"model": "local/no-such-model", "fallbacks": ["local/smollm2-135m"]},
            none={"model": "local/no-such-model"},
        ),
    )
    assert router.warm("spare") == 0  # the tiny model, loaded above
    with pytest.raises(AllModelsFailed, match="no-such-model"):
        router.warm("none")


def test_status_says_per_alias_what_would_serve_a_call(sqlite_url: str, config_dir: Path) -> None:
    from lifeos.llm import models as service

    edit_yaml(
        config_dir / "models.yaml",
        lambda d: d["aliases"].update(
            spare={"model": "local/no-such-model", "fallbacks": ["local/smollm2-135m"]},
            none={"model": "local/no-such-model"},
        ),
    )
    router = Router(
        database_url=sqlite_url,
        config_dir=config_dir,
        providers={"local": LocalProvider(n_ctx=512, n_threads=2)},
    )
    status = {r["alias"]: (r["ok"], r["detail"]) for r in service.status(router)}
    assert status["tiny"] == (True, "installed; loads on first use")
    assert status["spare"] == (
        True,
        "no local model 'no-such-model'; falls back to "
        "local/smollm2-135m (installed; loads on first use)",
    )
    assert status["none"] == (False, "no local model 'no-such-model'; no fallback can serve it")
    router.warm("tiny")
    assert {r["alias"]: r["detail"] for r in service.status(router)}["tiny"] == "loaded"


def test_json_schema_output_with_the_fast_model(router: Router) -> None:
    question = (
        "Text: 'Mina moved to Harrowgate, in Veltania, last spring.' Where does Mina "
        "live? Answer as JSON with the city and the country."
    )
    result = router.chat(
        [{"role": "user", "content": question}], "fast", schema=Capital, max_tokens=60
    )
    assert isinstance(result.data, Capital)
    assert "harrowgate" in result.data.city.lower()
    assert "veltania" in result.data.country.lower()


def test_streaming_delivers_the_same_text(router: Router) -> None:
    pieces: list[str] = []
    result = router.chat(HELLO, "tiny", max_tokens=16, stream=True, on_token=pieces.append)
    assert len(pieces) >= 1 and "".join(pieces) == result.text


CHOICE = [
    {
        "role": "user",
        "content": "Passages: [1] Cats purr. [2] Dogs bark. [3] Fish swim.\n"
        "Which passage says what dogs do? Reply with its number only.",
    }
]


def test_choose_reads_the_next_token_distribution(router: Router) -> None:
    result = router.choose(CHOICE, ["0", "1", "2", "3"], "fast", tool="pick")
    assert result.exact and result.model == "local/qwen2.5-coder-0.5b"
    assert set(result.probs) == {"0", "1", "2", "3"}
    assert abs(sum(result.probs.values()) - 1) < 1e-6
    assert result.choice == "2" and result.probs["2"] > 0.5
    assert result.tokens_in > 20
    call = router.ledger.recent(1)[0]
    assert call.ok and call.tool == "pick" and call.tokens_out == 1


def test_choices_must_start_with_different_tokens(router: Router) -> None:
    with pytest.raises(AllModelsFailed, match="different tokens"):
        router.choose(CHOICE, ["12", "13"], "fast")


def test_choose_without_logprobs_trusts_the_reply(sqlite_url: str, config_dir: Path) -> None:
    scripted = ScriptedProvider("local", [" 2"])
    router = Router(database_url=sqlite_url, config_dir=config_dir, providers={"local": scripted})
    result = router.choose(CHOICE, ["0", "1", "2"], "fast")
    assert not result.exact and result.probs == {"0": 0.0, "1": 0.0, "2": 1.0}
    assert scripted.requests[0].max_tokens == 1 and scripted.requests[0].temperature == 0
    scripted.script = ["maybe"]
    with pytest.raises(InvalidModelOutput, match="not one of 0, 1, 2"):
        router.choose(CHOICE, ["0", "1", "2"], "fast")


def test_choice_probs_from_top_logprobs() -> None:
    probs, exact = choice_probs(
        ["yes", "no"], [(" yes", -0.5), ("Yes", -3.0), ("no", -1.2), ("maybe", -0.1)], "yes"
    )
    assert exact and probs["yes"] > probs["no"] and abs(sum(probs.values()) - 1) < 1e-9
    assert choice_probs(["a", "b"], [], "b, surely") == ({"a": 0.0, "b": 1.0}, False)


@pytest.mark.slow
def test_embeddings_rank_similar_sentences_closer(router: Router) -> None:
    result = router.embed(
        [
            "The knight may jump over other pieces.",
            "A knight is allowed to leap over pieces in its way.",
            "Bake the bread for forty minutes.",
        ]
    )
    assert result.dim == 384 and result.model == "local/all-minilm-l6-v2"
    v = np.array(result.vectors)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
    assert router.ledger.recent(1)[0].kind == "embed"


def test_the_embedding_dimension_is_known_without_loading_the_model(
    sqlite_url: str, config_dir: Path
) -> None:
    local = LocalProvider()
    router = Router(database_url=sqlite_url, config_dir=config_dir, providers={"local": local})
    assert router.embedding_dim() == 384 and not local._encoders


def test_unknown_alias(router: Router) -> None:
    with pytest.raises(UnknownModel, match="unknown model alias 'smart'"):
        router.chat(HELLO, "smart")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("aliases: {default: {model: 'gpt4'}}", "aliases.default.model"),
        ("aliases: {default: {model: 'cloud/gpt4'}}", "provider one of local, ollama, openai"),
        ("aliases: {default: {model: 'local/x', colour: 1}}", "aliases.default.colour"),
        ("aliases: [1, 2", "not valid YAML"),
        ("budgets: {per_day_usd: -1}\naliases: {}", "budgets.per_day_usd"),
    ],
)
def test_malformed_models_yaml_names_file_and_field(
    router: Router, config_dir: Path, text: str, message: str
) -> None:
    (config_dir / "models.yaml").write_text(text)
    with pytest.raises(ConfigError) as err:
        router.chat(HELLO, "default")
    assert "models.yaml" in err.value.message and message in err.value.message


def test_models_yaml_is_reread_when_it_changes(router: Router, config_dir: Path) -> None:
    assert router.config.aliases["fast"].model == "local/qwen2.5-coder-0.5b"
    edit_yaml(
        config_dir / "models.yaml",
        lambda d: d["aliases"]["fast"].update(model="local/smollm2-135m"),
    )
    assert router.chat(HELLO, "fast", max_tokens=8).model == "local/smollm2-135m"


def test_invalid_json_twice_is_a_clear_error(sqlite_url: str, config_dir: Path) -> None:
    scripted = ScriptedProvider("local", ["this is not json", '{"city": "Paris"}'])
    router = Router(database_url=sqlite_url, config_dir=config_dir, providers={"local": scripted})
    with pytest.raises(InvalidModelOutput) as err:
        router.chat(HELLO, "fast", schema=Capital)
    assert "invalid output twice" in err.value.message and "country" in err.value.message
    repair = scripted.requests[1].messages[-1]["content"]
    schema = scripted.requests[0].schema
    assert schema is not None
    assert "not valid JSON" in repair and schema["required"] == [
        "city",
        "country",
    ]
    assert len(router.ledger.recent(10)) == 2


def test_one_repair_round_fixes_a_reply(sqlite_url: str, config_dir: Path) -> None:
    scripted = ScriptedProvider(
        "local", ['{"city": "Paris"}', '{"city": "Paris", "country": "France"}']
    )
    router = Router(database_url=sqlite_url, config_dir=config_dir, providers={"local": scripted})
    result = router.chat(HELLO, "fast", schema=Capital)
    assert result.repaired and result.data == Capital(city="Paris", country="France")
    assert "country: Field required" in scripted.requests[1].messages[-1]["content"]


def test_transient_errors_are_retried(sqlite_url: str, config_dir: Path) -> None:
    scripted = ScriptedProvider("local", [TransientProviderError("busy"), "hello"])
    router = Router(database_url=sqlite_url, config_dir=config_dir, providers={"local": scripted})
    assert router.chat(HELLO, "fast").text == "hello"
    assert [(ok, err) for _, ok, err in ledger(router)] == [(False, "busy"), (True, None)]


def test_provider_down_falls_back_to_the_next_model(router: Router, config_dir: Path) -> None:
    edit_yaml(
        config_dir / "models.yaml",
        lambda d: (
            d["providers"]["ollama"].update(host="http://127.0.0.1:9"),
            d["calls"].update(retries=1),
            d["aliases"].update(
                remote={"model": "ollama/qwen2.5:7b", "fallbacks": ["local/smollm2-135m"]}
            ),
        ),
    )
    result = router.chat(HELLO, "remote", max_tokens=8)
    assert result.fallback and result.model == "local/smollm2-135m"
    rows = ledger(router)
    assert [r[:2] for r in rows] == [
        ("ollama/qwen2.5:7b", False),
        ("ollama/qwen2.5:7b", False),
        ("local/smollm2-135m", True),
    ]
    error = rows[0][2]
    assert error is not None and "not reachable" in error


def test_provider_down_without_fallback(router: Router, config_dir: Path) -> None:
    edit_yaml(
        config_dir / "models.yaml",
        lambda d: (
            d["providers"]["ollama"].update(host="http://127.0.0.1:9"),
            d["calls"].update(retries=0),
        ),
    )
    with pytest.raises(AllModelsFailed, match="vision.*not reachable at http://127.0.0.1:9"):
        router.chat(HELLO, "vision")


def test_missing_local_model_falls_back(sqlite_url: str, config_dir: Path) -> None:
    # Not installed is not transient: no retry, straight to the next model of the alias.
    missing = ScriptedProvider("local", [ModelNotAvailable("not installed"), "fine"])
    router = Router(database_url=sqlite_url, config_dir=config_dir, providers={"local": missing})
    result = router.chat(HELLO, "default")
    assert result.fallback and result.model == "local/qwen2.5-coder-0.5b"
    assert [m for m, _, _ in ledger(router)] == [
        "local/qwen2.5-coder-1.5b",
        "local/qwen2.5-coder-0.5b",
    ]


def test_budget_refuses_a_call_that_would_exceed_it(router: Router, config_dir: Path) -> None:
    (config_dir / "prices.yaml").write_text(
        "prices:\n  local/smollm2-135m: {input: 1000, output: 100000}\n"
    )
    edit_yaml(
        config_dir / "models.yaml",
        lambda d: d["budgets"].update(per_day_usd=0.5, per_tool_usd={"tagger": 0.0}),
    )
    with pytest.raises(BudgetExceeded, match="budget for today is \\$0.50"):
        router.chat(HELLO, "tiny", max_tokens=10)  # may cost 10 × $0.1 = $1.00
    result = router.chat(HELLO, "tiny", max_tokens=2)  # at most ~$0.23
    assert 0 < result.cost_usd < 0.5
    with pytest.raises(BudgetExceeded, match="tool 'tagger'"):
        router.chat(HELLO, "tiny", max_tokens=2, tool="tagger")
    assert router.ledger.spent() == pytest.approx(result.cost_usd)


def test_images_need_a_vision_capable_model(router: Router, config_dir: Path) -> None:
    edit_yaml(config_dir / "models.yaml", lambda d: d["calls"].update(retries=0))
    with pytest.raises(AllModelsFailed, match="cannot read images"):
        router.chat(HELLO, "tiny", images=[b"\x89PNG"])
