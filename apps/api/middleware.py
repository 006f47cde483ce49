"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request)."""

from __future__ import annotations

import hmac
import json
import re
from fnmatch import fnmatch
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeos.logging import new_request_id, request_id_var

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Take a sane incoming `X-Request-ID` or make one; bind it for logs; echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _VALID_ID.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit with 413 before they are read into memory."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, overrides: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    def _limit(self, path: str) -> int:
        """An exact path's limit, else the first matching `*` pattern's, else the default."""
        if path in self.overrides:
            return self.overrides[path]
        return next(
            (v for k, v in self.overrides.items() if "*" in k and fnmatch(path, k)), self.max_bytes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(scope, send, limit)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await _too_large(scope, send, limit)


class _BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    from apps.api.errors import problem_response
    from lifeos.errors import PayloadTooLarge

    response = problem_response(
        PayloadTooLarge(f"request body is over the limit of {limit} bytes"),
        scope.get("state", {}).get("request_id"),
    )
    await response(scope, _noop_receive, send)


async def _noop_receive() -> Any:
    return {"type": "http.disconnect"}


class ApiAuthMiddleware:
    """Off loopback, the REST API asks for the studio password: `Authorization: Bearer
    <password>` or HTTP Basic (LIFEOS_STUDIO_USER / LIFEOS_STUDIO_PASSWORD). Health checks and
    the studio (which has its own login) are not covered."""

    OPEN = ("/healthz", "/readyz", "/studio")

    def __init__(self, app: ASGIApp, *, user: str, password: str) -> None:
        import base64

        self.app = app
        self.accepted = {
            f"Bearer {password}".encode(),
            b"Basic " + base64.b64encode(f"{user}:{password}".encode()),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.OPEN):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not any(hmac.compare_digest(given, ok) for ok in self.accepted):
            body = json.dumps(
                {
                    "error": {
                        "code": "unauthorized",
                        "message": (
                            "this API is reachable from other machines: send the studio "
                            "password as `Authorization: Bearer ...` or HTTP Basic"
                        ),
                        "details": None,
                        "request_id": request_id_var.get(),
                    }
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Basic realm="lifeos"'),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
