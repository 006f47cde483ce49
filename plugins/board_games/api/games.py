"""`/api/v1/games`: BoardGameGeek search, adding games, attaching rulebooks."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from pydantic import BaseModel, Field

from apps.api.deps import EDITOR, VIEWER, uploaded

router = APIRouter(prefix="/games", tags=["games"])


class AddBody(BaseModel):
    bgg_ids: list[int] = Field(min_length=1, max_length=100)


def _games(request: Request):  # noqa: ANN202
    from plugins.board_games.tools.games import games_service

    return games_service(request.app.state.settings)


@router.get("/search", openapi_extra=VIEWER)
def search(q: str, request: Request, exact: bool = False) -> list[dict[str, Any]]:
    return [asdict(h) for h in _games(request).search(q, exact=exact)]


@router.post("", openapi_extra=EDITOR, status_code=201)
def add(body: AddBody, request: Request) -> list[dict[str, Any]]:
    return [g.model_dump(mode="json") for g in _games(request).add(body.bgg_ids)]


@router.post("/{game}/rulebook", openapi_extra=EDITOR, status_code=202)
async def attach_rulebook(game: str, file: UploadFile, request: Request) -> dict[str, Any]:
    """Store the PDF for the game and ingest it now (a Dagster run in this process); returns
    the rulebook with its status, pages and chunks."""
    settings = request.app.state.settings
    async with uploaded(file, max_bytes=settings.rulebook_max_bytes, what="rulebooks") as path:
        doc = _games(request).attach_rulebook(game, path)
    if doc["status"] != "ready":
        from plugins.board_games.pipelines import ingest_rulebook

        ingest_rulebook(settings, doc["sha256"], source="api", filename=doc["filename"])
        from plugins.board_games.tools.rules_qa import rules_services

        doc = rules_services(settings)[0].get(doc["sha256"])
    return doc
