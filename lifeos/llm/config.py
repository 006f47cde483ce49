"""`configs/models.yaml` and `configs/prices.yaml`, validated with errors that name file and field.

Values may use `${VAR}` or `${VAR:-default}` to read the environment, so a host or a key never
has to be written into the file.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lifeos.errors import ConfigError, UnknownModel

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
PROVIDERS = ("local", "ollama", "openai")

M = TypeVar("M", bound=BaseModel)


def _model_ref(value: str) -> str:
    provider, sep, name = value.partition("/")
    if not sep or not name or provider not in PROVIDERS:
        raise ValueError(
            f"{value!r} is not `provider/model` with provider one of {', '.join(PROVIDERS)}"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AliasConfig(_Strict):
    model: str
    fallbacks: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict, description="provider options")

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str) -> str:
        return _model_ref(value)

    @field_validator("fallbacks")
    @classmethod
    def _check_fallbacks(cls, value: list[str]) -> list[str]:
        return [_model_ref(v) for v in value]

    @property
    def chain(self) -> list[str]:
        return [self.model, *self.fallbacks]


class LocalProviderConfig(_Strict):
    n_ctx: int = Field(4096, ge=256, le=131_072)
    n_threads: int = Field(2, ge=1, le=256)
    cache_dir: str | None = None
    rerankers: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "cross-encoder folders you have (sentence-transformers format) by name: `local/NAME` "
            "reranks with it; none ships on PyPI"
        ),
    )


class OllamaProviderConfig(_Strict):
    host: str = "http://127.0.0.1:11434"


class OpenAIProviderConfig(_Strict):
    base_url: str = "http://127.0.0.1:8080/v1"
    api_key: str = ""


class ProvidersConfig(_Strict):
    local: LocalProviderConfig = Field(default_factory=LocalProviderConfig)
    ollama: OllamaProviderConfig = Field(default_factory=OllamaProviderConfig)
    openai: OpenAIProviderConfig = Field(default_factory=OpenAIProviderConfig)


class BudgetsConfig(_Strict):
    per_day_usd: float | None = Field(None, ge=0)
    per_run_usd: float | None = Field(None, ge=0)
    per_tool_usd: dict[str, float] = Field(default_factory=dict)


class CallsConfig(_Strict):
    timeout_s: float = Field(120, gt=0)
    retries: int = Field(2, ge=0, le=10)


class ModelsConfig(_Strict):
    aliases: dict[str, AliasConfig]
    providers: ProvidersConfig = Field(default_factory=ProvidersConfig)
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    calls: CallsConfig = Field(default_factory=CallsConfig)

    def all_aliases(self) -> dict[str, AliasConfig]:
        """This file's aliases and the loaded plugins' (`register_models`); the file's win, so
        a library can point a plugin's alias at another model."""
        from lifeos.plugins import get_plugins  # the plugins import the router

        return {**get_plugins().registries.models, **self.aliases}

    def alias(self, name: str) -> AliasConfig:
        if name in self.aliases:
            return self.aliases[name]
        if (plugin_alias := self.all_aliases().get(name)) is not None:
            return plugin_alias
        if "/" in name:  # a direct `provider/model` reference works too
            return AliasConfig(model=name)
        raise UnknownModel(
            f"unknown model alias {name!r}", details={"aliases": sorted(self.all_aliases())}
        )


class Price(_Strict):
    input: float = Field(0, ge=0, description="USD per million input tokens")
    output: float = Field(0, ge=0, description="USD per million output tokens")


class PricesConfig(_Strict):
    prices: dict[str, Price] = Field(default_factory=dict)

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float:
        price = self.prices.get(model)
        if price is None:
            return 0.0
        return (tokens_in * price.input + tokens_out * price.output) / 1_000_000


def expand_env(value: Any) -> Any:
    if isinstance(value, str):
        return _ENV.sub(lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: expand_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v) for v in value]
    return value


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Read a YAML file into `model`; any problem becomes a ConfigError naming file and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    return parse_yaml_model(text, model, source=str(path))


def parse_yaml_model(text: str, model: type[M], *, source: str) -> M:
    """YAML text into `model`; errors name `source` and the field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"{source}:{where} not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    try:
        return model.model_validate(expand_env(raw if raw is not None else {}))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigError(
            f"{source}: {field}: {err['msg']}",
            details=[
                {"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False)
            ],
        ) from None


class WatchedYaml(Generic[M]):
    """A YAML-backed config that is re-read when its file changes (no restart needed)."""

    def __init__(self, path: Path, model: type[M]) -> None:
        self.path, self.model = Path(path), model
        self._stamp: tuple[int, int] | None = None
        self._value: M | None = None
        self._lock = threading.Lock()

    def get(self) -> M:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (0, 0)
        with self._lock:
            # The value is None only until the first load (after which the stamp is set too).
            if stamp != self._stamp or self._value is None:
                self._value = load_yaml_model(self.path, self.model)
                self._stamp = stamp
            return self._value
