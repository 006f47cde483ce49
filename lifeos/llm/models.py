"""Model management shared by the CLI, the API and the studio."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from lifeos.errors import BadRequest, LifeOSError, ProviderError
from lifeos.llm.config import ModelsConfig
from lifeos.llm.providers.local import EMBEDDING_MODELS
from lifeos.llm.router import Router
from lifeos.llm.toolkit import ToolConfigs, tool_classes
from lifeos.security.roles import Role, require

if TYPE_CHECKING:
    from lifeos.llm.providers.ollama import OllamaProvider

TEST_PROMPT = [{"role": "user", "content": "In one short sentence: what is a board game?"}]


def overview(router: Router) -> dict[str, Any]:
    config: ModelsConfig = router.config
    aliases = [
        {"alias": name, "model": a.model, "fallbacks": a.fallbacks}
        for name, a in config.all_aliases().items()
    ]
    models: list[dict[str, Any]] = []
    notes: list[str] = []
    for provider_name in ("local", "ollama"):
        try:
            models += [vars(m) for m in router.provider(provider_name).list_models()]
        except ProviderError as exc:
            notes.append(f"{provider_name}: {exc.message}")
    return {"aliases": aliases, "models": models, "notes": notes}


def status(router: Router) -> list[dict[str, Any]]:
    """Each alias: whether a call can be served, and by what. A local model is loaded,
    installed (loads on first use) or not; a server is reachable or not. An alias whose model
    is not usable says which fallback a call would get, if any."""
    known: dict[str, tuple[bool, str]] = {}

    def usable(ref: str) -> tuple[bool, str]:
        if ref not in known:
            provider_name, _, model = ref.partition("/")
            try:
                provider = router.provider(provider_name)
                check = getattr(provider, "model_status", None)  # else: the server as a whole
                known[ref] = check(model) if check is not None else provider.status()
            except LifeOSError as exc:
                known[ref] = (False, exc.message)
        return known[ref]

    rows = []
    for name, alias in router.config.all_aliases().items():
        ok, detail = usable(alias.model)
        if not ok:
            spare = next((ref for ref in alias.fallbacks if usable(ref)[0]), None)
            detail += (
                f"; falls back to {spare} ({usable(spare)[1]})"
                if spare
                else "; no fallback can serve it"
            )
            ok = spare is not None
        rows.append({"alias": name, "model": alias.model, "ok": ok, "detail": detail})
    return rows


# A reranker that works puts the first one first.
RERANK_TEST = ["The youngest player moves first.", "Shuffle the deck before each hand."]


def test_alias(router: Router, alias: str) -> dict[str, Any]:
    """A short real call: how long the load took and how fast tokens come."""
    provider, _, model = router.config.alias(alias).model.partition("/")
    if alias == "embed" or (provider == "local" and model in EMBEDDING_MODELS):
        started = time.perf_counter()
        embedded = router.embed(["a short test sentence"], alias, tool="models.test")
        return {
            "alias": alias,
            "model": embedded.model,
            "load_s": 0.0,
            "tokens_in": 4,
            "tokens_out": 0,
            "tokens_per_s": 0.0,
            "dim": embedded.dim,
            "seconds": time.perf_counter() - started,
            "text": f"{embedded.dim} dimensions",
        }
    if alias == "rerank" or (
        provider == "local" and model in getattr(router.provider("local"), "rerankers", {})
    ):
        started = time.perf_counter()
        ranked = router.rerank("Who moves first?", RERANK_TEST, alias, tool="models.test")
        best = max(range(len(RERANK_TEST)), key=lambda i: ranked.scores[i])
        return {
            "alias": alias,
            "model": ranked.model,
            "load_s": 0.0,
            "tokens_in": 0,
            "tokens_out": 0,
            "tokens_per_s": 0.0,
            "seconds": time.perf_counter() - started,
            "text": f"ranked first: {RERANK_TEST[best]!r}",
        }
    result = router.chat(TEST_PROMPT, alias, max_tokens=40, tool="models.test")
    gen_s = max(result.latency_s - result.load_s, 1e-6)
    return {
        "alias": alias,
        "model": result.model,
        "load_s": result.load_s,
        "tokens_in": result.tokens_in,
        "tokens_out": result.tokens_out,
        "tokens_per_s": result.tokens_out / gen_s,
        "seconds": result.latency_s,
        "text": result.text.strip(),
    }


def _ollama_name(name: str) -> str:
    return name.removeprefix("ollama/")


def pull(router: Router, name: str) -> str:
    require(Role.admin, "pulling models")
    ollama: OllamaProvider = router.provider("ollama")
    return ollama.pull(_ollama_name(name))


def delete(router: Router, name: str) -> None:
    require(Role.admin, "deleting models")
    ollama: OllamaProvider = router.provider("ollama")
    ollama.delete(_ollama_name(name))


def tools_overview() -> list[dict[str, Any]]:
    configs = ToolConfigs()  # LIFEOS_CONFIG_DIR/tools
    rows = []
    for name, cls in sorted(tool_classes().items()):
        rows.append(
            {
                "name": name,
                "description": cls.description,
                "model": configs.get(name).model if cls.configurable else "",
                "config": str(configs.directory / f"{name}.yaml"),
            }
        )
    return rows


def run_tool(router: Router, name: str, data: Any) -> dict[str, Any]:
    classes = tool_classes()
    if name not in classes:
        raise BadRequest(f"unknown tool {name!r}", details={"tools": sorted(classes)})
    tool = classes[name](router)
    out: BaseModel = tool.run(data)
    return out.model_dump(mode="json")
