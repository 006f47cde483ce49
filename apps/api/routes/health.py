"""Liveness and readiness: `/health/live` (the process answers) and `/health/ready` (the
library database answers). `/healthz` and `/readyz` are their older names, deprecated (the
`Deprecation`, `Sunset` and `Link` headers name the date and the successor), kept until the
sunset date as the deprecation policy says (docs/reference/api.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import APIRouter, Response

from apps.api.deps import PUBLIC, SettingsDep
from lifeos.db.engine import get_engine
from lifeos.errors import ServiceUnavailable

router = APIRouter(tags=["health"])
DEPRECATED_ON = datetime(2026, 12, 7, tzinfo=UTC)
SUNSET_ON = datetime(2027, 6, 7, tzinfo=UTC)


def deprecate(response: Response, successor: str) -> None:
    """RFC 9745 `Deprecation`, RFC 8594 `Sunset`, and the successor as a `Link`."""
    response.headers["Deprecation"] = f"@{int(DEPRECATED_ON.timestamp())}"
    response.headers["Sunset"] = SUNSET_ON.strftime("%a, %d %b %Y %H:%M:%S GMT")
    response.headers["Link"] = f'<{successor}>; rel="successor-version"'


def _ready(settings: SettingsDep) -> dict[str, str]:
    try:
        with get_engine(settings.database_url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        raise ServiceUnavailable(
            f"library database is not reachable: {type(exc).__name__}"
        ) from None
    return {"status": "ready", "database": "ok"}


@router.get("/health/live", openapi_extra=PUBLIC)
def live() -> dict[str, str]:
    """The process answers (a liveness probe: restart it if not)."""
    return {"status": "ok"}


@router.get("/health/ready", openapi_extra=PUBLIC)
def ready(settings: SettingsDep) -> dict[str, str]:
    """The library database answers (a readiness probe: send traffic once it does)."""
    return _ready(settings)


@router.get("/healthz", openapi_extra=PUBLIC, deprecated=True)
def healthz(response: Response) -> dict[str, str]:
    """Deprecated: `/health/live`."""
    deprecate(response, "/health/live")
    return {"status": "ok"}


@router.get("/readyz", openapi_extra=PUBLIC, deprecated=True)
def readyz(settings: SettingsDep, response: Response) -> dict[str, str]:
    """Deprecated: `/health/ready`."""
    deprecate(response, "/health/ready")
    return _ready(settings)
