"""The board-game kinds: games with their BoardGameGeek metadata, and the questions asked about
their rules (answers with page citations, or an honest abstention)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from lifeos.kinds import EntityData, KindSpec, ShortText, Text


class BoardGame(EntityData):
    bgg_id: int | None = Field(None, ge=1)
    year_published: int | None = Field(None, ge=-5000, le=2200)
    min_players: int | None = Field(None, ge=1, le=100)
    max_players: int | None = Field(None, ge=1, le=100)
    playing_time: int | None = Field(None, ge=0, le=100_000, description="minutes")
    min_age: int | None = Field(None, ge=0, le=99)
    weight: float | None = Field(None, ge=0, le=5, description="BGG complexity 1–5")
    designers: list[ShortText] = Field(default_factory=list, max_length=50)
    publishers: list[ShortText] = Field(default_factory=list, max_length=50)
    mechanics: list[ShortText] = Field(default_factory=list, max_length=100)
    categories: list[ShortText] = Field(default_factory=list, max_length=100)
    description: Text = ""
    image_url: ShortText = ""
    rulebook_status: Literal["none", "queued", "processing", "ready", "failed"] = "none"
    bgg_refreshed_at: ShortText = Field("", description="when BGG metadata was last fetched")

    @model_validator(mode="after")
    def _players_in_order(self) -> BoardGame:
        if self.min_players and self.max_players and self.min_players > self.max_players:
            raise ValueError("min_players is greater than max_players")
        return self


class Citation(EntityData):
    page: int = Field(ge=1)
    section: ShortText = ""
    quote: Text = ""
    document_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class QA(EntityData):
    question: Text
    answer: Text = ""
    context_type: Literal["rulebook", "general", "document"] = "general"
    citations: list[Citation] = Field(default_factory=list, max_length=50)
    abstained: bool = False
    confidence: float | None = Field(None, ge=0, le=1)
    model: ShortText = ""
    latency_s: float | None = Field(None, ge=0)
    feedback: Literal["", "helpful", "not_helpful"] = ""
    feedback_notes: Text = ""


KINDS = (
    KindSpec("board_game", BoardGame, "Board game", "a game, with BoardGameGeek metadata"),
    KindSpec(
        "qa",
        QA,
        "Q&A",
        "a question with its answer and citations",
        links={"about": ("board_game", "character", "story")},
    ),
)
