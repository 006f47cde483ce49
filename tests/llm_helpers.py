"""Helpers for router tests: a copy of the real configs to edit, and a scripted provider."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from lifeos.llm.providers.base import ChatRequest, ModelInfo, ProviderReply

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def copy_configs(target: Path) -> Path:
    shutil.copytree(REPO_CONFIGS, target, dirs_exist_ok=True)
    return target


class ScriptedProvider:
    """A provider whose replies are scripted per call: a string is returned as the reply, an
    exception is raised. For the router's own logic (repair, retries), not for model quality."""

    def __init__(
        self, name: str, script: Sequence[str | Exception | Callable[[ChatRequest], str]]
    ) -> None:
        self.name = name
        self.script = list(script)
        self.requests: list[ChatRequest] = []

    def chat(self, request: ChatRequest) -> ProviderReply:
        self.requests.append(request)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        text = step(request) if callable(step) else step
        return ProviderReply(text=text, tokens_in=10, tokens_out=len(text.split()))

    def embed(self, model: str, texts: list[str], *, timeout_s: float) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    def list_models(self) -> list[ModelInfo]:
        return []

    def status(self) -> tuple[bool, str]:
        return True, "scripted"
