"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request)."""

from __future__ import annotations

import re
import time
from fnmatch import fnmatch
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeos import tracing
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


def route_label(scope: Scope, api_prefix: str) -> str:
    """The matched route's template (`/api/v1/entities/{kind}`), the mount of a sub-app
    (`/studio`), or `<unmatched>`: never the raw path, so random paths add no series."""
    from lifeos.metrics import UNMATCHED

    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not template:
        return UNMATCHED
    # an APIRouter included under the API's prefix knows its path without it
    if scope["path"].startswith(api_prefix + "/") and not template.startswith(api_prefix):
        template = api_prefix + template
    return str(template)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template, method and status, and makes
    its trace's SERVER span (when tracing is on)."""

    def __init__(self, app: ASGIApp, *, api_prefix: str) -> None:
        self.app = app
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from lifeos.metrics import HTTP_ERRORS, HTTP_LATENCY, HTTP_REQUESTS

        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method = scope["method"] if scope["method"] in _METHODS else "OTHER"

        def count() -> str:
            route = route_label(scope, self.api_prefix)
            HTTP_REQUESTS.labels(route, method, str(status)).inc()
            HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)
            if status >= 400:
                HTTP_ERRORS.labels(route, "server" if status >= 500 else "client").inc()
            return route

        traceparent = None
        if tracing.enabled():
            incoming = next((v for k, v in scope["headers"] if k == b"traceparent"), None)
            traceparent = incoming.decode("latin-1") if incoming else None
        if not tracing.traces_request(method, traceparent):  # the usual case: no span
            try:
                await self.app(scope, receive, sending)
            finally:
                count()
            return
        with tracing.request_span(method, scope["path"], traceparent) as span:
            try:
                await self.app(scope, receive, sending)
            finally:
                rid = scope.get("state", {}).get("request_id", "")
                tracing.finish_request(span, count(), method, status, rid)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
