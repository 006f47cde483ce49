"""Who is asking, for every request (the API, the studio, its Gradio calls), and the headers
every response carries.

- A request names its principal with `Authorization: Bearer <token>` (an API token) or a
  session cookie (a browser signed in at /login). On 127.0.0.1 with `auth=auto` a request
  with neither is the local owner (an admin); anywhere else it is refused: 401 for the API,
  a redirect to /login for a page.
- A state-changing request (not GET/HEAD/OPTIONS) from another site is refused (its `Origin`
  or `Sec-Fetch-Site`), whoever it claims to be: a page elsewhere cannot drive the owner's
  server on 127.0.0.1. One with a session cookie must also send the session's CSRF token in
  `X-CSRF-Token` (the studio's pages add it to their calls).
- What a principal may do is each route's declared role (`apps.api.deps.authorize`) and,
  in the services, `lifeos.security.roles.require`.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeos.errors import (
    BadRequest,
    Forbidden,
    LifeOSError,
    NoAdminAccount,
    TooManyRequests,
    Unauthorized,
)
from lifeos.logging import request_id_var
from lifeos.security.accounts import Accounts
from lifeos.security.ratelimit import Limiter, State
from lifeos.security.roles import Principal, Role, acting_as
from lifeos.settings import Settings

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION, CSRF = "lifeos_session", "lifeos_csrf"
CSRF_HEADER = "x-csrf-token"
OWNER = Principal("owner", Role.admin, "loopback")
# Reachable by anyone: the probes, the sign-in page and form, the studio's own static bundle.
OPEN = (
    "/health/",
    "/healthz",
    "/readyz",
    "/login",
    "/auth/login",
    "/favicon.ico",
    "/assets/studio/",
)
CSP = (
    "default-src 'self'; "
    # Gradio's page starts with inline scripts and runs components' code (`js_on_load`)
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs page loads Swagger UI from its CDN.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' https://cdn.jsdelivr.net").replace(
    "style-src 'self'", "style-src 'self' https://cdn.jsdelivr.net"
)


def cookie_names(secure: bool) -> tuple[str, str]:
    """`__Host-` cookies (Secure, whole site, this host only) where the browser allows them."""
    return (f"__Host-{SESSION}", f"__Host-{CSRF}") if secure else (SESSION, CSRF)


def is_secure(scope: Scope) -> bool:
    """HTTPS, or a loopback address (browsers keep Secure cookies for http://127.0.0.1)."""
    if scope.get("scheme") == "https":
        return True
    host = Headers(scope=scope).get("host", "").rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


def cookie_value(headers: Headers, name: str) -> str:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key in (f"__Host-{name}", name) and value:
            return value
    return ""


def check_can_serve(settings: Settings) -> None:
    """Off loopback (or with auth=required) someone must be able to sign in as an admin."""
    if settings.sign_in_required and Accounts.of(settings).admins() == 0:
        raise NoAdminAccount(
            f"the server is bound to {settings.api_host} (auth={settings.auth}): every request "
            "must sign in, and there is no admin account yet. Make one with "
            "`lifeos users add NAME --role admin`, or bind to 127.0.0.1"
        )


@dataclass
class Who:
    principal: Principal | None
    csrf: str | None = None  # the session's token, to compare with the request's
    refused: str = ""  # credentials that were given and are not valid


def identify(accounts: Accounts, settings: Settings, headers: Headers) -> Who:
    """The principal of a request's credentials (blocking: reads the DB)."""
    auth = headers.get("authorization", "")
    if auth:
        scheme, _, value = auth.partition(" ")
        principal = accounts.verify_token(value.strip()) if scheme.lower() == "bearer" else None
        if principal is None:
            return Who(None, refused="the token is not valid (unknown, expired or revoked)")
        return Who(principal)
    token = cookie_value(headers, SESSION)
    if token:
        found = accounts.session(token)
        if found is not None:
            return Who(found[0], found[1])
    if not settings.sign_in_required:
        return Who(OWNER)
    return Who(None, refused="your session has ended: sign in again" if token else "")


def same_site(headers: Headers, allowed: frozenset[str]) -> bool:
    """Whether a state-changing request comes from this server's own pages (or an allowed
    origin); requests without `Origin` and `Sec-Fetch-Site` are not from a browser page."""
    origin = headers.get("origin")
    if origin:
        return origin in allowed or urlsplit(origin).netloc == headers.get("host", "")
    return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


LIMITED = ("/api/", "/auth/")  # what the per-account and per-IP limits count (not pages)


def limiter_for(settings: Settings) -> Limiter:
    """One per app: in memory its counts are this process's own (a fresh app, fresh counts);
    in Redis every worker of the server shares one namespace."""
    shared = not settings.rate_limit_storage.startswith("memory")
    return Limiter(
        settings.rate_limit_storage, "lifeos" if shared else f"lifeos-{secrets.token_hex(4)}"
    )


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings, limiter: Limiter) -> None:
        self.app = app
        self.settings = settings
        self.accounts = Accounts.of(settings)
        self.limiter = limiter
        self.shared_limits = not settings.rate_limit_storage.startswith("memory")
        self.allowed = frozenset(o.rstrip("/") for o in settings.cors_origins)

    def _limits(self, scope: Scope, principal: Principal | None) -> list[tuple[str, State]]:
        """Count the request against the per-IP (while sign-in is required) and per-account
        limits; refused with 429 past either. The owner on loopback is not limited."""
        if not scope["path"].startswith(LIMITED):
            return []
        counted: list[tuple[str, State]] = []
        s = self.settings
        if s.sign_in_required and s.rate_limit_ip:
            ip = (scope.get("client") or ("?", 0))[0]
            counted.append(("ip", self.limiter.hit(s.rate_limit_ip, "ip", ip, what="requests")))
        if principal is not None and principal.via != "loopback" and s.rate_limit_user:
            state = self.limiter.hit(s.rate_limit_user, "user", principal.username, what="calls")
            counted.append(("user", state))
        return counted

    def _may_block(self, headers: Headers) -> bool:
        """Whether admitting the request may wait on I/O: credentials are looked up in the
        DB, shared rate-limit counts live in Redis."""
        return (
            self.shared_limits or "authorization" in headers or bool(cookie_value(headers, SESSION))
        )

    def _admit(self, scope: Scope, headers: Headers) -> tuple[Who, list[tuple[str, State]]]:
        """Who is asking, and the limits their request counts against (blocking)."""
        who = identify(self.accounts, self.settings, headers)
        return who, self._limits(scope, who.principal)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = with_security_headers(scope, send)
        path, method = scope["path"], scope["method"]
        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            await refuse(scope, send, BadRequest("NUL bytes are not allowed in a path or query"))
            return
        if path.startswith(OPEN) or path == "/":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            if self._may_block(headers):
                who, counted = await anyio.to_thread.run_sync(self._admit, scope, headers)
            else:  # the local owner, counted in memory: nothing to wait for, no thread hop
                who, counted = self._admit(scope, headers)
        except TooManyRequests as exc:
            await refuse(scope, send, exc)
            return
        if counted:
            send = with_rate_limit_headers(send, counted)
        if who.principal is None:
            if method == "GET" and "text/html" in headers.get("accept", ""):
                await redirect(send, f"/login?next={quote(path)}")
                return
            await refuse(
                scope, send, Unauthorized(who.refused or "sign in, or send a bearer token")
            )
            return
        if method not in SAFE:
            if not same_site(headers, self.allowed):
                await refuse(scope, send, Forbidden("a request from another site was refused"))
                return
            if who.principal.via == "session" and not hmac.compare_digest(
                headers.get(CSRF_HEADER, ""), who.csrf or ""
            ):
                await refuse(
                    scope, send, Forbidden("the CSRF token is missing or wrong: reload the page")
                )
                return
        scope.setdefault("state", {})["principal"] = who.principal
        with acting_as(who.principal):
            await self.app(scope, receive, send)


def with_rate_limit_headers(send: Send, counted: list[tuple[str, State]]) -> Send:
    policy = ", ".join(state.policy(name) for name, state in counted)
    now = ", ".join(state.now(name) for name, state in counted)

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [
                *message.get("headers", []),
                (b"ratelimit-policy", policy.encode()),
                (b"ratelimit", now.encode()),
            ]
        await send(message)

    return sending


def with_security_headers(scope: Scope, send: Send) -> Send:
    csp = DOCS_CSP if scope["path"] in ("/docs", "/redoc") else CSP
    extra = [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if scope.get("scheme") == "https":
        extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    names = {k for k, _ in extra}

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            message["headers"] = kept + extra
        await send(message)

    return sending


async def redirect(send: Send, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode()), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def refuse(scope: Scope, send: Send, exc: LifeOSError) -> None:
    from apps.api.errors import problem_response

    await problem_response(exc, request_id_var.get())(scope, _disconnected, send)


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}


def principal_of(scope_or_request: Any) -> Principal | None:
    state = getattr(scope_or_request, "scope", scope_or_request).get("state", {})
    return state.get("principal")
