"""Errors become problem JSON once, here: `{"error": {code, message, details, request_id}}`."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lifeos.errors import (
    BadRequest,
    LifeOSError,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from lifeos.logging import get_logger

log = get_logger(__name__)


def problem_headers(exc: LifeOSError) -> dict[str, str]:
    if isinstance(exc, TooManyRequests):
        return {"retry-after": str(exc.retry_after)}
    if isinstance(exc, Unauthorized):
        return {"www-authenticate": 'Bearer realm="lifeos"'}
    return {}


def problem_response(exc: LifeOSError, request_id: str | None) -> JSONResponse:
    body = {"error": {**exc.to_dict(), "request_id": request_id}}
    return JSONResponse(body, status_code=exc.http_status, headers=problem_headers(exc))


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LifeOSError)
    async def _lifeos(request: Request, exc: LifeOSError) -> JSONResponse:
        log.info("request failed", code=exc.code, message=exc.message, path=request.url.path)
        return problem_response(exc, _rid(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        err = ValidationFailed(f"{where}: {first['msg']}", details=details)
        return problem_response(err, _rid(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        err = LifeOSError(str(exc.detail), code="not_found" if exc.status_code == 404 else "http")
        err.http_status = exc.status_code
        return problem_response(err, _rid(request))

    @app.exception_handler(sa.exc.DataError)
    async def _data(request: Request, exc: sa.exc.DataError) -> JSONResponse:
        # A value the database cannot hold (a NUL byte in PostgreSQL text, a number out of
        # range): the request's fault, said without the SQL.
        log.info("request refused by the database", path=request.url.path, error=str(exc.orig))
        first = str(exc.orig).strip().splitlines()[0][:200] if exc.orig else "invalid value"
        return problem_response(
            BadRequest(f"a value the database cannot store: {first}"), _rid(request)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        err = LifeOSError("internal error; the request id is in the server log", code="internal")
        err.http_status = 500
        return problem_response(err, _rid(request))
