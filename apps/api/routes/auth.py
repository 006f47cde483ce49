"""Signing in and out, passwords, API tokens (`/auth`) and, for admins, the accounts
(`/api/v1/users`). The same service (`lifeos.security.accounts`) answers `lifeos users` and
`lifeos tokens`.

The sign-in page is plain HTML (no script): it posts to `/auth/login`, which sets the session
and CSRF cookies and sends the browser on to where it was going."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.datastructures import Headers

from apps.api.deps import ADMIN, PUBLIC, VIEWER, SettingsDep
from apps.api.security import SESSION, cookie_names, cookie_value, is_secure, principal_of
from lifeos.errors import BadRequest, LifeOSError, Unauthorized
from lifeos.security.accounts import MAX_PASSWORD, Accounts, Signed
from lifeos.security.ratelimit import Limiter
from lifeos.security.roles import Principal, Role
from lifeos.settings import Settings

router = APIRouter(tags=["auth"])
users = APIRouter(prefix="/users", tags=["auth"])


def _accounts(settings: Settings) -> Accounts:
    return Accounts.of(settings)


def _me(request: Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise Unauthorized("sign in first")
    return principal


def _account_of(principal: Principal) -> str:
    if principal.account_id is None:
        raise BadRequest(
            "the local owner has no account: make one with `lifeos users add NAME --role admin`"
        )
    return principal.username


def _safe_next(value: str | None) -> str:
    """Only a path on this server (not `//elsewhere` or a URL)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/studio/"
    return value


# ---- signing in ------------------------------------------------------------------------------

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Life-OS Workbench</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; background: #f6f6f7; margin: 0; }}
main {{ max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem;
  border-radius: 12px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }}
h1 {{ font-size: 1.3rem; margin: 0 0 1.2rem; }}
label {{ display: block; margin: .8rem 0 .3rem; font-size: .9rem; }}
input {{ width: 100%; box-sizing: border-box; padding: .55rem; font-size: 1rem; }}
button {{ margin-top: 1.2rem; width: 100%; padding: .6rem; font-size: 1rem; }}
.error {{ color: #b91c1c; font-size: .9rem; }}
</style></head>
<body><main><h1>Life-OS Workbench</h1>
<form method="post" action="/auth/login">
<input type="hidden" name="next" value="{next}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required autofocus value="{user}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<p class="error" id="login-error">{error}</p>
<button type="submit" id="login-submit">Sign in</button>
</form></main></body></html>"""


def login_page(next_: str = "/studio/", *, error: str = "", user: str = "", status: int = 200):  # noqa: ANN201
    return HTMLResponse(
        PAGE.format(next=html.escape(next_), error=html.escape(error), user=html.escape(user)),
        status_code=status,
        headers={"cache-control": "no-store"},
    )


@router.get("/login", openapi_extra=PUBLIC, response_class=HTMLResponse, include_in_schema=False)
def login_form(next: str | None = None) -> HTMLResponse:  # noqa: A002 - the query's name
    return login_page(_safe_next(next))


class Credentials(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=MAX_PASSWORD)


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def sign_in(
    settings: Settings, limiter: Limiter, username: str, password: str, ip: str, agent: str
) -> Signed:
    """Throttled per IP (every attempt) and per account (its failures)."""
    name = username.strip().lower()[:64]
    limiter.hit(settings.login_limit_ip, "login-ip", ip, what="sign-in attempts")
    limiter.check(settings.login_limit_account, "login-account", name, what="failed sign-ins")
    try:
        return _accounts(settings).sign_in(name, password, ip=ip, user_agent=agent)
    except Unauthorized:
        limiter.count(settings.login_limit_account, "login-account", name)
        raise


def set_session_cookies(
    response: Response, request: Request, signed: Signed, settings: Settings
) -> None:
    secure = is_secure(request.scope)
    session, csrf = cookie_names(secure)
    age = int(timedelta(days=settings.session_max_days).total_seconds())
    common: dict[str, Any] = {"path": "/", "secure": secure, "samesite": "lax", "max_age": age}
    response.set_cookie(session, signed.token, httponly=True, **common)
    response.set_cookie(csrf, signed.csrf, httponly=False, **common)  # the pages read it


def clear_session_cookies(response: Response, request: Request) -> None:
    secure = is_secure(request.scope)
    for name in cookie_names(secure):
        response.delete_cookie(name, path="/", secure=secure, samesite="lax")


@router.post("/auth/login", openapi_extra=PUBLIC, include_in_schema=False)
async def login(request: Request, settings: SettingsDep) -> Response:
    """A form (from /login: a redirect on success, the page again on failure) or JSON
    (`{"username", "password"}`: who signed in and the CSRF token)."""
    import anyio.to_thread

    form = "application/x-www-form-urlencoded" in request.headers.get("content-type", "")
    if form:
        data = await request.form()
        body = Credentials(
            username=str(data.get("username", ""))[:64],
            password=str(data.get("password", ""))[:MAX_PASSWORD],
        )
        next_ = _safe_next(str(data.get("next", "")))
    else:
        body = Credentials.model_validate(await request.json())
        next_ = ""
    agent = request.headers.get("user-agent", "")
    try:
        signed = await anyio.to_thread.run_sync(
            sign_in,
            settings,
            request.app.state.limiter,
            body.username,
            body.password,
            _client(request),
            agent,
        )
    except LifeOSError as exc:
        if not form:
            raise
        return login_page(next_, error=exc.message, user=body.username, status=exc.http_status)
    response: Response = (
        RedirectResponse(next_, status_code=303)
        if form
        else JSONResponse(
            {
                "username": signed.principal.username,
                "role": signed.principal.role.value,
                "csrf_token": signed.csrf,
            }
        )
    )
    set_session_cookies(response, request, signed, settings)
    return response


@router.post("/auth/logout", openapi_extra=VIEWER)
def logout(request: Request, settings: SettingsDep) -> Response:
    """Sign out: every session of the account ends (this browser's and any other's)."""
    token = cookie_value(Headers(scope=request.scope), SESSION)
    ended = _accounts(settings).sign_out(token) if token else 0
    response = JSONResponse({"signed_out": bool(token), "sessions_ended": ended})
    clear_session_cookies(response, request)
    return response


@router.get("/auth/me", openapi_extra=VIEWER)
def me(request: Request) -> dict[str, Any]:
    p = _me(request)
    return {"username": p.username, "role": p.role.value, "via": p.via}


class PasswordChange(BaseModel):
    current: str = Field(max_length=MAX_PASSWORD)
    new: str = Field(max_length=MAX_PASSWORD)


@router.post("/auth/password", openapi_extra=VIEWER)
def change_password(body: PasswordChange, request: Request, settings: SettingsDep) -> Response:
    """A new password; every session of the account ends (this one too: sign in again)."""
    name = _account_of(_me(request))
    accounts = _accounts(settings)
    accounts.authenticate(name, body.current)
    accounts.set_password(name, body.new)
    response = JSONResponse({"username": name, "signed_out": True})
    clear_session_cookies(response, request)
    return response


# ---- API tokens --------------------------------------------------------------------------------


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role | None = Field(None, description="at most your own role (default: yours)")
    expires_days: float | None = Field(90, gt=0, le=3650, description="null: never")


@router.get("/auth/tokens", openapi_extra=VIEWER)
def list_tokens(request: Request, settings: SettingsDep) -> list[dict[str, Any]]:
    """Your tokens (an admin: everyone's), never their values."""
    p = _me(request)
    return _accounts(settings).tokens(None if p.role is Role.admin else _account_of(p))


@router.post("/auth/tokens", openapi_extra=VIEWER, status_code=201)
def create_token(body: TokenRequest, request: Request, settings: SettingsDep) -> dict[str, Any]:
    """A new token: its value is in `token`, shown this once."""
    return _accounts(settings).create_token(
        _account_of(_me(request)),
        body.name,
        role=body.role,
        expires_in=timedelta(days=body.expires_days) if body.expires_days else None,
    )


@router.delete("/auth/tokens/{token_id}", openapi_extra=VIEWER)
def revoke_token(token_id: str, request: Request, settings: SettingsDep) -> dict[str, Any]:
    p = _me(request)
    owner = None if p.role is Role.admin else _account_of(p)
    return _accounts(settings).revoke_token(token_id, owner=owner)


# ---- accounts (admins) -----------------------------------------------------------------------


class NewAccount(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(max_length=MAX_PASSWORD)
    role: Role = Role.viewer


class AccountChange(BaseModel):
    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(None, max_length=MAX_PASSWORD)


@users.get("", openapi_extra=ADMIN)
def list_accounts(settings: SettingsDep) -> list[dict[str, Any]]:
    return _accounts(settings).list()


@users.post("", openapi_extra=ADMIN, status_code=201)
def add_account(body: NewAccount, settings: SettingsDep) -> dict[str, Any]:
    return _accounts(settings).add(body.username, body.password, body.role)


@users.patch("/{username}", openapi_extra=ADMIN)
def change_account(username: str, body: AccountChange, settings: SettingsDep) -> dict[str, Any]:
    """A role, enabled or not, a new password; each ends the account's sessions."""
    accounts = _accounts(settings)
    found = accounts.get(username)
    if body.password is not None:
        found = accounts.set_password(username, body.password)
    if body.role is not None:
        found = accounts.set_role(username, body.role)
    if body.disabled is not None:
        found = accounts.set_disabled(username, body.disabled)
    return found
