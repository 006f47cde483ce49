"""The tool framework: a tool declares its config name, input and output models; running it
renders the prompts of `configs/tools/<name>.yaml` (Jinja2), calls the router with the output
schema, and returns the validated output. Configs are validated at load, with errors that name
the file and the field, and re-read when the file changes."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lifeos.errors import ConfigError, ValidationFailed
from lifeos.llm.config import WatchedYaml, parse_yaml_model
from lifeos.llm.router import ChatResult, Router
from lifeos.plugins import get_plugins

# Templates write prompts for a model, never HTML: escaping would garble them.
_JINJA = jinja2.Environment(  # nosec B701 - prompts, not HTML
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # noqa: S701
    keep_trailing_newline=False,
)

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


def check_template(value: str) -> str:
    """A Jinja2 template that compiles (for config validators), or a ValueError that says
    where it does not."""
    try:
        _JINJA.parse(value)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"template error on line {exc.lineno}: {exc.message}") from None
    return value


class ToolConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field("default", description="model alias (configs/models.yaml)")
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int = Field(512, ge=1, le=32_768)
    system: str = Field("", description="Jinja2 template of the system prompt")
    user: str = Field(description="Jinja2 template of the user prompt")
    output_schema: dict[str, Any] | None = Field(
        None, description="JSON schema for constrained decoding; default: the tool's output model"
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="tool-specific settings (retrieval sizes, ...)"
    )

    _compiles = field_validator("system", "user")(check_template)


class ToolConfigs:
    """`configs/tools/*.yaml`, each loaded on first use and re-read when it changes."""

    def __init__(self, directory: Path | None = None) -> None:
        if directory is None:
            from lifeos.settings import get_settings

            directory = get_settings().config_dir / "tools"
        self.directory = Path(directory)
        self._watched: dict[str, WatchedYaml[BaseModel]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, shipped: Path | None = None) -> Any:
        """The tool's config (a `ToolConfig`, or the tool's own `config_model`): the file in
        the config folder, else the one a plugin's tool ships (`shipped`, by default its
        class's `default_config`)."""
        with self._lock:
            watched = self._watched.setdefault(
                name, WatchedYaml(self.path(name, shipped), config_model(name))
            )
        return watched.get()

    def path(self, name: str, shipped: Path | None = None) -> Path:
        own = self.directory / f"{name}.yaml"
        shipped = shipped or getattr(tool_classes().get(name), "default_config", None)
        return own if own.is_file() or shipped is None else Path(shipped)

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("*.yaml"))

    def validate_text(self, name: str, text: str) -> Any:
        """Validate YAML text before it is saved (the studio's editor uses this)."""
        return parse_yaml_model(
            text, config_model(name), source=str(self.directory / f"{name}.yaml")
        )


# Config files that belong to a family of tools rather than one tool class: file-name prefix →
# "module:Model", imported when such a file is first read.
CONFIG_FAMILIES = {"analyzer_": "plugins.images.tools.analyze.core:AnalyzerConfig"}


def config_model(name: str) -> type[BaseModel]:
    """Most tools are configured by a `ToolConfig`; a tool may declare its own model."""
    for prefix, target in CONFIG_FAMILIES.items():
        if name.startswith(prefix):
            module, _, attr = target.partition(":")
            model: type[BaseModel] = getattr(importlib.import_module(module), attr)
            return model
    return getattr(tool_classes().get(name), "config_model", ToolConfig)


def render(template: str, variables: dict[str, Any], *, where: str) -> str:
    try:
        return _JINJA.from_string(template).render(**variables).strip()
    except jinja2.UndefinedError as exc:
        raise ConfigError(
            f"{where}: the template uses a variable the tool does not give "
            f"({exc.message}); available: {', '.join(sorted(variables))}"
        ) from None


class Tool(Generic[In, Out]):
    """Base of every AI tool. Subclasses set `name`, `Input`, `Output` and may override
    `variables()` (what the templates see) or `postprocess()`."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    # The YAML config a plugin's tool ships beside its code; a file of the same name in the
    # config folder (configs/tools/) takes its place.
    default_config: ClassVar[Path | None] = None
    # False for tools that call no model (a library step): they have no config file.
    configurable: ClassVar[bool] = True
    Input: ClassVar[type[BaseModel]]
    Output: ClassVar[type[BaseModel]]

    def __init__(self, router: Router, configs: ToolConfigs | None = None) -> None:
        self.router = router
        self.configs = configs or ToolConfigs(router.config_dir / "tools")
        self.last_result: ChatResult | None = None
        # Another model alias than the config's (a workflow step's `fallback: {model: ...}`).
        self.model_alias: str | None = None

    def variables(self, inp: In) -> dict[str, Any]:
        return inp.model_dump()

    def postprocess(self, inp: In, out: Out) -> Out:
        return out

    def messages(self, inp: In) -> tuple[ToolConfig, list[dict[str, str]]]:
        cfg = self.configs.get(self.name, self.default_config)
        variables = self.variables(inp)
        where = str(self.configs.directory / f"{self.name}.yaml")
        messages = []
        if cfg.system:
            messages.append(
                {
                    "role": "system",
                    "content": render(cfg.system, variables, where=f"{where}: system"),
                }
            )
        messages.append(
            {"role": "user", "content": render(cfg.user, variables, where=f"{where}: user")}
        )
        return cfg, messages

    def parse_input(self, inp: In | dict[str, Any]) -> In:
        """The input as `Input`; invalid input is a `ValidationFailed` naming the field (a
        one-line error in the CLI, a 422 in the API), for tools that override `run` too."""
        if isinstance(inp, BaseModel):
            return inp
        try:
            return self.Input.model_validate(inp)  # type: ignore[return-value]
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc, prefix=("input",)) from exc

    def run(self, inp: In | dict[str, Any]) -> Out:
        inp = self.parse_input(inp)
        cfg, messages = self.messages(inp)
        schema: Any = self.Output
        result = self.router.chat(
            messages,
            self.model_alias or cfg.model,
            schema=schema,
            tool=self.name,
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
            decoding_schema=cfg.output_schema,
        )
        self.last_result = result
        return self.postprocess(inp, result.data)


def tool_classes() -> dict[str, type[Tool[Any, Any]]]:
    """The tools of the plugins loaded now, by name."""
    return get_plugins().tools
