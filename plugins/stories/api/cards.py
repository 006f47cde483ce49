"""`/api/v1/cards`: Character Card V2/V3 import (JSON or PNG upload) and export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import Response

from apps.api.deps import EDITOR, VIEWER, LibraryDep, uploaded
from lifeos.errors import BadRequest
from plugins.stories.tools.cards import (
    MAX_CARD_BYTES,
    card_png,
    character_picture,
    entity_to_card,
    import_card,
)

router = APIRouter(prefix="/cards", tags=["cards"])


@router.post("", openapi_extra=EDITOR, status_code=201)
async def import_(file: UploadFile, lib: LibraryDep, request: Request) -> dict[str, Any]:
    async with uploaded(file, max_bytes=MAX_CARD_BYTES, what="cards") as path:
        with lib.store() as store:
            character = import_card(store, path, request.app.state.settings)
            return character.model_dump(mode="json")


@router.get("/{character_id}", openapi_extra=VIEWER)
def export(character_id: str, lib: LibraryDep, request: Request, format: str = "json") -> Any:
    """The character as a card: `format=json` (the card) or `format=png` (picture + card)."""
    if format not in ("json", "png"):
        raise BadRequest("format is json or png")
    with lib.store() as store:
        character = store.get("character", character_id)
        picture = character_picture(store, character_id, request.app.state.settings)
    card = entity_to_card(character)
    if format == "json":
        return card
    return Response(
        card_png(card, picture),
        media_type="image/png",
        headers={"Content-Disposition": f'attachment; filename="{character.name[:60]}.png"'},
    )
