"""The tool framework: YAML configs validated and re-read, prompts rendered, outputs validated,
calls recorded; run through the real local model."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from lifeos.errors import ConfigError
from lifeos.llm.providers.local import LocalProvider
from lifeos.llm.router import Router
from lifeos.llm.toolkit import ToolConfigs, tool_classes
from resources.llm import LLMResource
from tests.llm_helpers import ScriptedProvider, copy_configs
from tools.tagger import TagSuggester

CLOAK = {
    "kind": "clothing_item",
    "name": "Moss-green travel cloak",
    "text": "A hooded waxed wool cloak for long autumn journeys in the forest.",
}


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return copy_configs(tmp_path / "configs")


@pytest.fixture
def configs(config_dir: Path) -> ToolConfigs:
    return ToolConfigs(config_dir / "tools")


def scripted_router(
    url: str, config_dir: Path, replies: list[str]
) -> tuple[Router, ScriptedProvider]:
    provider = ScriptedProvider("local", replies)
    return Router(database_url=url, config_dir=config_dir, providers={"local": provider}), provider


def test_builtin_tools_are_registered_through_the_hook() -> None:
    assert tool_classes()["tagger"] is TagSuggester


def test_tagger_with_the_real_fast_model(
    sqlite_url: str, config_dir: Path, configs: ToolConfigs
) -> None:
    router = Router(
        database_url=sqlite_url,
        config_dir=config_dir,
        providers={"local": LocalProvider(n_ctx=2048)},
    )
    out = TagSuggester(router, configs).run(CLOAK)
    assert 1 <= len(out.tags) <= 8 and all(t == t.lower() and len(t) <= 32 for t in out.tags)
    assert len(set(out.tags)) == len(out.tags)
    call = router.ledger.recent(1)[0]
    assert call.tool == "tagger" and call.model == "local/qwen2.5-coder-0.5b" and call.ok


def test_prompts_are_rendered_from_the_yaml(
    sqlite_url: str, config_dir: Path, configs: ToolConfigs
) -> None:
    router, provider = scripted_router(sqlite_url, config_dir, ['{"tags": ["Wool", "wool"]}'])
    out = TagSuggester(router, configs).run({**CLOAK, "existing_tags": ["autumn"]})
    assert out.tags == ["wool"]
    request = provider.requests[0]
    assert request.messages[0]["role"] == "system"
    assert "Name: Moss-green travel cloak" in request.messages[1]["content"]
    assert "Existing tags: autumn" in request.messages[1]["content"]
    assert request.schema is not None
    assert request.schema["properties"]["tags"]["maxItems"] == 8  # the YAML's output_schema
    assert request.max_tokens == 120


def test_template_with_a_missing_variable(
    sqlite_url: str, config_dir: Path, configs: ToolConfigs
) -> None:
    path = config_dir / "tools" / "tagger.yaml"
    path.write_text(path.read_text().replace("{{ name }}", "{{ title }}"))
    router, _ = scripted_router(sqlite_url, config_dir, [])
    with pytest.raises(ConfigError) as err:
        TagSuggester(router, configs).run(CLOAK)
    assert "tagger.yaml: user" in err.value.message and "'title' is undefined" in err.value.message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(user="{% if %}"), "user: Value error, template error on line 1"),
        (lambda d: d.update(temperature=7), "temperature"),
        (lambda d: d.pop("user"), "user: Field required"),
        (lambda d: d.update(prompt="x"), "prompt: Extra inputs"),
    ],
)
def test_invalid_tool_configs_name_file_and_field(
    configs: ToolConfigs, config_dir: Path, change, message: str
) -> None:  # noqa: ANN001
    path = config_dir / "tools" / "tagger.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    with pytest.raises(ConfigError) as err:
        configs.validate_text("tagger", yaml.safe_dump(data))
    assert message in err.value.message


def test_tool_config_is_reread_when_the_file_changes(
    configs: ToolConfigs, config_dir: Path
) -> None:
    assert configs.get("tagger").max_tokens == 120
    path = config_dir / "tools" / "tagger.yaml"
    path.write_text(path.read_text().replace("max_tokens: 120", "max_tokens: 99"))
    assert configs.get("tagger").max_tokens == 99


def test_calls_in_a_dagster_run_carry_the_run_id(sqlite_url: str) -> None:
    @dg.asset
    def tagged(llm: LLMResource) -> dg.MaterializeResult:
        with llm.router() as router:
            router.chat(
                [{"role": "user", "content": "Say hi."}], "tiny", max_tokens=4, tool="test_asset"
            )
        return dg.MaterializeResult()

    result = dg.materialize([tagged], resources={"llm": LLMResource(database_url=sqlite_url)})
    assert result.success
    from lifeos.llm.router import get_router

    call = get_router(sqlite_url).ledger.recent(1)[0]
    assert call.tool == "test_asset" and call.run_id == result.run_id
