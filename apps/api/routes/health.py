"""Liveness and readiness."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter

from apps.api.deps import PUBLIC, SettingsDep
from lifeos.db.engine import get_engine
from lifeos.errors import ServiceUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", openapi_extra=PUBLIC)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", openapi_extra=PUBLIC)
def readyz(settings: SettingsDep) -> dict[str, str]:
    try:
        with get_engine(settings.database_url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        raise ServiceUnavailable(
            f"library database is not reachable: {type(exc).__name__}"
        ) from None
    return {"status": "ready", "database": "ok"}
