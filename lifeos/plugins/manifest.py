"""A plugin's manifest: `plugin.toml` (or `plugin.json`) beside its code, validated here.

name = "recipes"
version = "0.2.0"
description = "Recipes and what to cook tonight"
core = ">=0.1,<1"                 # the Life-OS versions it works with (PEP 440)
requires = ["rapidfuzz>=3"]       # Python distributions it imports
depends = ["core"]                # plugins it builds on: loaded first, or it waits for them
[provides]                        # what it registers: shown before it loads, checked after
kinds = ["recipe"]
tools = ["menu_planner"]
"""

from __future__ import annotations

import json
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from lifeos import __version__
from lifeos.errors import PluginError

PluginName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
MANIFEST_FILES = ("plugin.toml", "plugin.json")


class Provides(BaseModel):
    """What a plugin registers, by name. The host checks each registration against it."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    pages: list[str] = Field(default_factory=list)
    routers: list[str] = Field(default_factory=list)
    definitions: list[str] = Field(default_factory=list, description="Dagster asset keys, jobs")
    commands: list[str] = Field(default_factory=list, description="CLI commands and groups")
    models: list[str] = Field(default_factory=list, description="model aliases")
    settings: list[str] = Field(default_factory=list, description="its settings model (its name)")
    configs: list[str] = Field(default_factory=list, description="tool config files")
    workflows: list[str] = Field(default_factory=list, description="built-in workflow templates")


class PluginManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PluginName
    version: str
    description: str = Field("", max_length=500)
    core: str = Field(">=0", description="the Life-OS versions it supports (PEP 440)")
    requires: list[str] = Field(default_factory=list, description="Python requirements")
    depends: list[PluginName] = Field(
        default_factory=list, description="plugins it builds on: it loads after them, and waits"
    )
    provides: Provides = Field(default_factory=Provides)

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        Version(value)  # InvalidVersion is a ValueError: pydantic reports it on the field
        return value

    @field_validator("core")
    @classmethod
    def _core(cls, value: str) -> str:
        try:
            SpecifierSet(value)
        except InvalidSpecifier as exc:
            raise ValueError(f"not a version range: {exc}") from None
        return value

    @field_validator("requires")
    @classmethod
    def _requires(cls, value: list[str]) -> list[str]:
        for text in value:
            try:
                Requirement(text)
            except InvalidRequirement as exc:
                raise ValueError(f"{text!r} is not a requirement: {exc}") from None
        return value

    def problems(self, core_version: str = __version__) -> list[str]:
        """Why this plugin cannot load here: an unsupported core, missing dependencies."""
        found: list[str] = []
        if not SpecifierSet(self.core).contains(core_version, prereleases=True):
            found.append(f"supports Life-OS {self.core}, this is {core_version}")
        for text in self.requires:
            req = Requirement(text)
            try:
                installed = version(req.name)
            except PackageNotFoundError:
                found.append(f"needs {text}, which is not installed (pip install '{text}')")
                continue
            if req.specifier and not req.specifier.contains(installed, prereleases=True):
                found.append(f"needs {text}, {req.name} {installed} is installed")
        return found


def find_manifest(folder: Path) -> Path | None:
    return next((folder / n for n in MANIFEST_FILES if (folder / n).is_file()), None)


def read_manifest(path: Path) -> PluginManifest:
    """The manifest at `path`, or a `PluginError` saying what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
        raw: Any = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise PluginError(f"{path} cannot be read: {exc}", code="plugin_manifest_invalid") from exc
    try:
        return PluginManifest.model_validate(raw)
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'manifest'}: {e['msg']}" for e in exc.errors()
        )
        raise PluginError(
            f"{path} is not a valid plugin manifest: {where}",
            code="plugin_manifest_invalid",
            details=exc.errors(include_url=False, include_context=False),
        ) from exc
