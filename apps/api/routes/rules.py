"""`/api/v1/rules`: ask a rules question; `/api/v1/rulebooks`: what is ingested."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

router = APIRouter(tags=["rules"])


class AskBody(BaseModel):
    question: str = Field(min_length=3, max_length=1000)
    game: str = Field(min_length=1, max_length=200, description="board game name or id")


def _services(request: Request):  # noqa: ANN202
    from tools.rules_qa import rules_services

    return rules_services(request.app.state.settings)


@router.post("/rules/ask")
def ask(body: AskBody, request: Request) -> dict[str, Any]:
    """Answer with verified page citations, or "I don't see this in the rulebook". The answer
    is saved as a `qa` entity (its id is `qa_id`) for feedback."""
    _, qa = _services(request)
    return qa.ask(body.question, body.game).model_dump(mode="json")


@router.get("/rulebooks")
def rulebooks(request: Request) -> list[dict[str, Any]]:
    books, _ = _services(request)
    return books.list()
