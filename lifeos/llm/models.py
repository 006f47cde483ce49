"""Model management shared by the CLI, the API and the studio."""

from __future__ import annotations

import time
from typing import Any

from lifeos.errors import BadRequest
from lifeos.llm.config import ModelsConfig
from lifeos.llm.providers.base import ProviderError
from lifeos.llm.providers.local import EMBEDDING_MODELS
from lifeos.llm.router import Router
from lifeos.llm.toolkit import ToolConfigs, tool_classes

TEST_PROMPT = [{"role": "user", "content": "In one short sentence: what is a board game?"}]


def overview(router: Router) -> dict[str, Any]:
    config: ModelsConfig = router.config
    aliases = [{"alias": name, "model": a.model, "fallbacks": a.fallbacks}
               for name, a in config.aliases.items()]
    models: list[dict[str, Any]] = []
    notes: list[str] = []
    for provider_name in ("local", "ollama"):
        try:
            models += [vars(m) for m in router.provider(provider_name).list_models()]
        except ProviderError as exc:
            notes.append(f"{provider_name}: {exc.message}")
    return {"aliases": aliases, "models": models, "notes": notes}


def status(router: Router) -> list[dict[str, Any]]:
    rows = []
    cache: dict[str, tuple[bool, str]] = {}
    for name, alias in router.config.aliases.items():
        provider = alias.model.partition("/")[0]
        if provider not in cache:
            cache[provider] = router.provider(provider).status()
        ok, detail = cache[provider]
        rows.append({"alias": name, "model": alias.model, "ok": ok, "detail": detail})
    return rows


def test_alias(router: Router, alias: str) -> dict[str, Any]:
    """A short real call: how long the load took and how fast tokens come."""
    provider, _, model = router.config.alias(alias).model.partition("/")
    if alias == "embed" or (provider == "local" and model in EMBEDDING_MODELS):
        started = time.perf_counter()
        result = router.embed(["a short test sentence"], alias, tool="models.test")
        return {"alias": alias, "model": result.model, "load_s": 0.0, "tokens_in": 4,
                "tokens_out": 0, "tokens_per_s": 0.0, "dim": result.dim,
                "seconds": time.perf_counter() - started, "text": f"{result.dim} dimensions"}
    result = router.chat(TEST_PROMPT, alias, max_tokens=40, tool="models.test")
    gen_s = max(result.latency_s - result.load_s, 1e-6)
    return {"alias": alias, "model": result.model, "load_s": result.load_s,
            "tokens_in": result.tokens_in, "tokens_out": result.tokens_out,
            "tokens_per_s": result.tokens_out / gen_s, "seconds": result.latency_s,
            "text": result.text.strip()}


def _ollama_name(name: str) -> str:
    return name.removeprefix("ollama/")


def pull(router: Router, name: str) -> str:
    return router.provider("ollama").pull(_ollama_name(name))


def delete(router: Router, name: str) -> None:
    router.provider("ollama").delete(_ollama_name(name))


def tools_overview() -> list[dict[str, Any]]:
    configs = ToolConfigs()  # LIFEOS_CONFIG_DIR/tools
    rows = []
    for name, cls in sorted(tool_classes().items()):
        rows.append({"name": name, "description": cls.description,
                     "model": configs.get(name).model,
                     "config": str(configs.directory / f"{name}.yaml")})
    return rows


def run_tool(router: Router, name: str, data: Any) -> dict[str, Any]:
    classes = tool_classes()
    if name not in classes:
        raise BadRequest(f"unknown tool {name!r}", details={"tools": sorted(classes)})
    tool = classes[name](router)
    return tool.run(data).model_dump(mode="json")
