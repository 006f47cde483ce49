"""Library steps for workflows: pick entities (at random, or the favourites first) to feed the
next steps. No model is called."""

from __future__ import annotations

import random
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from lifeos.db.engine import session_scope
from lifeos.errors import NotFound
from lifeos.llm.toolkit import Tool
from lifeos.store import EntityStore, note_read


class PickInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=64, description="the entity kind to pick from")
    count: int = Field(1, ge=1, le=50)
    tags: list[str] = Field(default_factory=list, max_length=20, description="all of these")
    favorite: bool | None = Field(None, description="only favourites (true) or only others")
    ids: list[str] = Field(default_factory=list, max_length=50, description="pick among these")
    seed: int | None = Field(None, description="the same seed picks the same entities")
    missing_ok: bool = Field(False, description="fewer (or none) found is not an error")


class Picked(BaseModel):
    id: str
    kind: str
    name: str
    tags: list[str]
    data: dict[str, Any]


class PickOutput(BaseModel):
    items: list[Picked]
    ids: list[str]
    names: list[str]


class LibraryPick(Tool[PickInput, PickOutput]):
    name = "library_pick"
    description = "pick entities of a kind from the library, at random (tags, favourites)"
    configurable: ClassVar[bool] = False
    Input = PickInput
    Output = PickOutput

    def run(self, inp: PickInput | dict[str, Any]) -> PickOutput:
        req = self.parse_input(inp)
        with session_scope(self.router.ledger.database_url) as session:
            store = EntityStore(session)
            if req.ids:
                pool = [e for e in store.get_many(req.ids) if e.kind == req.kind]
            else:
                query: dict[str, Any] = {"tags": req.tags, "limit": 200}
                if req.favorite is not None:
                    query["favorite"] = req.favorite
                pool = list(store.list(req.kind, query).items)
        if not pool and not req.missing_ok:
            which = {None: "", True: "favourite ", False: "non-favourite "}[req.favorite]
            tagged = f" tagged {', '.join(req.tags)}" if req.tags else ""
            raise NotFound(f"no {which}{req.kind}{tagged} in the library to pick from")
        chosen = random.Random(req.seed).sample(pool, min(req.count, len(pool)))  # noqa: S311  # nosec B311 - not security
        note_read(e.id for e in chosen)
        items = [
            Picked(id=e.id, kind=e.kind, name=e.name, tags=list(e.tags), data=dict(e.data))
            for e in chosen
        ]
        return PickOutput(items=items, ids=[i.id for i in items], names=[i.name for i in items])
