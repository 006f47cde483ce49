"""Request-scoped dependencies, as named aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from lifeos.db.engine import session_scope
from lifeos.settings import Settings
from lifeos.store import EntityStore


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> Iterator[EntityStore]:
    settings: Settings = request.app.state.settings
    with session_scope(settings.database_url) as session:
        yield EntityStore(session, max_entity_bytes=settings.max_entity_bytes)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
StoreDep = Annotated[EntityStore, Depends(get_store)]
