"""What an analyzer says about a picture: the types every backend (vision, metadata, pixels)
returns, apart from the analyzers themselves so that a backend needs nothing else of them."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from lifeos.errors import BadRequest

Backend = Literal["vision", "metadata", "pixels"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)


def parse_backend(name: str | None) -> Backend | None:
    """The backend a person named (None: the best available per picture); an unknown name is a
    BadRequest."""
    if name is None:
        return None
    for backend in BACKENDS:
        if backend == name:
            return backend
    raise BadRequest(f"unknown backend {name!r}: {', '.join(BACKENDS[:-1])} or {BACKENDS[-1]}")


class Suggestion(BaseModel):
    kind: str
    name: str
    data: dict[str, Any]
    confidence: dict[str, float] = Field(default_factory=dict)
    evidence: dict[str, str] = Field(default_factory=dict)
    backend: Backend
    model: str = ""
    heuristic: bool = False
    existing_id: str | None = Field(None, description="an entity this suggestion already is")


class Analysis(BaseModel):
    sha256: str
    width: int
    height: int
    backend: Backend
    model: str = ""
    latency_s: float = 0.0
    suggestions: list[Suggestion] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
