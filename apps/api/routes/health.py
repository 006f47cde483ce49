"""Liveness and readiness: `/health/live` (the process answers) and `/health/ready` (each of
what the workbench needs, with its status and latency: the library database, Dagster's
instance, LanceDB, the default model or a fallback, free disk; 503 naming what failed).
`/healthz` and `/readyz` are their older names, deprecated (the
`Deprecation`, `Sunset` and `Link` headers name the date and the successor), kept until the
sunset date as the deprecation policy says (docs/reference/api.md)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from apps.api.deps import PUBLIC, SettingsDep
from lifeos.db.engine import get_engine
from lifeos.errors import LifeOSError, ServiceUnavailable
from lifeos.settings import Settings

router = APIRouter(tags=["health"])
DEPRECATED_ON = datetime(2026, 12, 7, tzinfo=UTC)
SUNSET_ON = datetime(2027, 6, 7, tzinfo=UTC)


def deprecate(response: Response, successor: str) -> None:
    """RFC 9745 `Deprecation`, RFC 8594 `Sunset`, and the successor as a `Link`."""
    response.headers["Deprecation"] = f"@{int(DEPRECATED_ON.timestamp())}"
    response.headers["Sunset"] = SUNSET_ON.strftime("%a, %d %b %Y %H:%M:%S GMT")
    response.headers["Link"] = f'<{successor}>; rel="successor-version"'


def _ready(settings: Settings) -> dict[str, str]:
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


def _checks(settings: Settings) -> dict[str, Callable[[], str]]:
    def database() -> str:
        _ready(settings)
        return "SELECT 1 answered"

    def dagster() -> str:
        import dagster as dg

        from lifeos.dagster_home import open_instance

        with open_instance(settings) as instance:
            queued = instance.get_runs_count(
                filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED])
            )
        return f"instance opens; {queued} runs queued"

    def lancedb() -> str:
        from lifeos.vectors import VectorStore

        return f"{len(list(VectorStore(settings.lancedb_dir).db.table_names()))} tables"

    def model() -> str:
        from lifeos.llm import models
        from lifeos.llm.router import get_router

        row = next(
            r for r in models.status(get_router(settings.database_url)) if r["alias"] == "default"
        )
        if not row["ok"]:
            raise ServiceUnavailable(row["detail"])
        return str(row["detail"])

    def disk() -> str:
        free = shutil.disk_usage(settings.home.resolve()).free // 2**20
        if free < settings.min_free_disk_mb:
            raise ServiceUnavailable(f"{free} MiB free, under {settings.min_free_disk_mb} MiB")
        return f"{free} MiB free"

    return {
        "database": database,
        "dagster": dagster,
        "lancedb": lancedb,
        "model": model,
        "disk": disk,
    }


@router.get("/health/ready", openapi_extra=PUBLIC)
def ready(settings: SettingsDep) -> JSONResponse:
    """Each check with its status, detail and milliseconds; 503 when one fails, naming it
    (a readiness probe: send traffic once every check passes)."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in _checks(settings).items():
        started = time.perf_counter()
        try:
            detail, ok = check(), True
        except Exception as exc:  # noqa: BLE001 - a probe reports every failure, by name
            detail, ok = (
                (exc.message if isinstance(exc, LifeOSError) else f"{type(exc).__name__}: {exc}"),
                False,
            )
        results[name] = {
            "ok": ok,
            "detail": detail[:300],
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
    failing = [n for n, r in results.items() if not r["ok"]]
    body = {"status": "not ready" if failing else "ready", "failing": failing, "checks": results}
    return JSONResponse(body, status_code=503 if failing else 200)


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
