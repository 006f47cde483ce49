"""`/api/v1/rules`: ask a rules question; `/api/v1/rulebooks`: what is ingested."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from apps.api.deps import GENERATION, VIEWER
from lifeos.errors import LifeOSError

router = APIRouter(tags=["rules"])


class AskBody(BaseModel):
    question: str = Field(min_length=3, max_length=1000)
    game: str = Field(min_length=1, max_length=200, description="board game name or id")


def _services(request: Request):  # noqa: ANN202
    from plugins.board_games.tools.rules_qa import rules_services

    return rules_services(request.app.state.settings)


@router.post("/rules/ask", openapi_extra=GENERATION)
def ask(body: AskBody, request: Request) -> dict[str, Any]:
    """Answer with verified page citations, or "I don't see this in the rulebook". The answer
    is saved as a `qa` entity (its id is `qa_id`) for feedback."""
    _, qa = _services(request)
    return qa.ask(body.question, body.game).model_dump(mode="json")


@router.post(
    "/rules/ask/stream",
    openapi_extra=GENERATION,
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Server-Sent Events: `passages`, then `token`s, then `answer`",
        }
    },
)
def ask_stream(body: AskBody, request: Request) -> StreamingResponse:
    """The same answer as Server-Sent Events, for a screen to follow: `passages` (the best
    verified passages, as soon as retrieval has them, before the model is asked), `token` (the
    answer's text as the model writes it; the final answer may differ, e.g. an extractive one),
    then `answer` (what /rules/ask returns). A question that cannot be asked (no such game, no
    rulebook ready) is the usual JSON error; an error after the first event is an `error`
    event."""
    _, qa = _services(request)
    events = qa.ask_events(body.question, body.game)
    first = next(events)  # errors before any event is sent get their HTTP status

    def stream() -> Iterator[str]:
        try:
            for what, value in itertools.chain([first], events):
                yield _event(what, value)
        except LifeOSError as exc:
            yield _event("error", {"error": exc.to_dict()})  # the shape of JSON errors

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


def _event(what: str, value: Any) -> str:
    data = {"text": value} if what == "token" else jsonable_encoder(value)
    return f"event: {what}\ndata: {json.dumps(data)}\n\n"


@router.get("/rulebooks", openapi_extra=VIEWER)
def rulebooks(request: Request) -> list[dict[str, Any]]:
    books, _ = _services(request)
    return books.list()
