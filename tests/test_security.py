"""Accounts, sessions, CSRF, tokens and roles, tried the way someone breaking in would.

The tests are named after the OWASP ASVS 5.0 requirements they prove (V3.4 browser security
headers, V3.5 origin separation / CSRF, V6 authentication, V7 session management, V8
authorization), so coverage against the standard reads off the test names."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from apps.api.app import create_app
from apps.api.deps import ROLE_KEY
from lifeos.db.engine import session_scope
from lifeos.db.models import ApiToken, AuthSession, EntityRevision, ToolCall
from lifeos.errors import BadRequest, Conflict, NoAdminAccount, Unauthorized
from lifeos.security.accounts import Accounts
from lifeos.security.roles import Principal, Role, acting_as
from lifeos.settings import Settings

PASSWORD = "correct horse battery"


@pytest.fixture
def secured(settings: Settings) -> Settings:
    """Sign-in required, with an admin, an editor and a viewer; short login windows."""
    s = settings.model_copy(
        update={
            "auth": "required",
            "login_limit_ip": "50 per 3 seconds",
            "login_limit_account": "5 per 3 seconds",
        }
    )
    accounts = Accounts.of(s)
    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer")):
        accounts.add(name, PASSWORD, role)
    return s


@pytest.fixture
def client(secured: Settings) -> Iterator[TestClient]:
    # HTTPS: the session cookie is Secure (browsers keep it for http://127.0.0.1 too; httpx
    # only sends it over HTTPS).
    with TestClient(create_app(secured, studio=False), base_url="https://127.0.0.1") as c:
        yield c


def sign_in(c: TestClient, user: str, password: str = PASSWORD) -> str:
    """Signs `c` in; returns the CSRF token."""
    made = c.post("/auth/login", json={"username": user, "password": password})
    assert made.status_code == 200, made.text
    return str(made.json()["csrf_token"])


def token(s: Settings, user: str, **kw: Any) -> str:
    return str(Accounts.of(s).create_token(user, "test", **kw)["token"])


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


# ---- V6: accounts and authentication ---------------------------------------------------------


def test_V6_accounts_hold_argon2id_hashes_and_keep_an_admin(secured: Settings) -> None:
    accounts = Accounts.of(secured)
    with session_scope(secured.database_url) as session:
        stored = session.execute(sa.text("SELECT password_hash FROM accounts")).scalars().all()
    assert stored and all(h.startswith("$argon2id$") for h in stored)
    assert all(PASSWORD not in h for h in stored)
    with pytest.raises(Conflict, match="already an account"):
        accounts.add("ADA", PASSWORD, "viewer")  # usernames are case-insensitive
    with pytest.raises(BadRequest, match="10 to 1024"):
        accounts.add("bob", "short", "viewer")
    with pytest.raises(BadRequest, match="a username is"):
        accounts.add("../bob", PASSWORD, "viewer")
    with pytest.raises(BadRequest, match="unknown role"):
        accounts.add("bob", PASSWORD, "root")
    with pytest.raises(Conflict, match="last admin"):
        accounts.set_role("ada", "editor")
    with pytest.raises(Conflict, match="last admin"):
        accounts.set_disabled("ada")


def test_V6_unknown_user_and_wrong_password_get_the_same_answer(client: TestClient) -> None:
    wrong = client.post("/auth/login", json={"username": "ada", "password": "not it at all"})
    unknown = client.post("/auth/login", json={"username": "nobody", "password": "not it at all"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


def test_V6_brute_force_is_throttled_and_the_owner_still_gets_in(
    client: TestClient, secured: Settings
) -> None:
    answers = [
        client.post("/auth/login", json={"username": "eve", "password": f"guess {i:04}"})
        for i in range(100)
    ]
    assert {a.status_code for a in answers} == {401, 429}
    assert sum(a.status_code == 401 for a in answers) <= 5 + 50  # the account's, then the IP's
    limited = next(a for a in answers if a.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    # Locked: even the right password waits for the window.
    assert (
        client.post("/auth/login", json={"username": "eve", "password": PASSWORD}).status_code
        == 429
    )
    time.sleep(3.2)
    assert sign_in(client, "eve")


def test_V6_off_loopback_the_server_needs_an_admin(settings: Settings) -> None:
    exposed = settings.model_copy(update={"api_host": "0.0.0.0"})
    with pytest.raises(NoAdminAccount, match="lifeos users add"):
        create_app(exposed, studio=False)
    Accounts.of(exposed).add("root", PASSWORD, "admin")
    with TestClient(create_app(exposed, studio=False)) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/api/v1/kinds").status_code == 401


def test_V6_on_loopback_the_owner_needs_no_sign_in(settings: Settings) -> None:
    with TestClient(create_app(settings, studio=False)) as c:
        assert c.get("/auth/me").json() == {"username": "owner", "role": "admin", "via": "loopback"}
        made = c.post("/api/v1/entities/character", json={"name": "Luna"})
        assert made.status_code == 201


# ---- V7: sessions ----------------------------------------------------------------------------


def test_V7_sessions_are_opaque_server_side_rotated_and_http_only(
    client: TestClient, secured: Settings
) -> None:
    first = client.post("/auth/login", json={"username": "vic", "password": PASSWORD})
    cookies = first.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("__Host-lifeos_session="))
    assert "HttpOnly" in session and "Secure" in session and "SameSite=lax" in session
    assert "Path=/" in session and "Domain" not in session
    value = session.split(";")[0].split("=", 1)[1]
    assert len(value) >= 43  # 256 bits, URL-safe base64
    with session_scope(secured.database_url) as db:
        ids = db.scalars(sa.select(AuthSession.id)).all()
    assert value not in ids and len(ids) == 1  # only its hash is kept
    assert client.get("/auth/me").json()["username"] == "vic"
    sign_in(client, "vic")  # a new sign-in is a new session
    with session_scope(secured.database_url) as db:
        assert len(db.scalars(sa.select(AuthSession.id)).all()) == 2
    client.cookies.clear()
    client.cookies.set("__Host-lifeos_session", value)  # the first one still works...
    assert client.get("/auth/me").status_code == 200


def test_V7_logout_and_password_change_end_every_session(
    client: TestClient, secured: Settings
) -> None:
    csrf = sign_in(client, "eve")
    other = TestClient(client.app, base_url="https://127.0.0.1")
    sign_in(other, "eve")
    changed = client.post(
        "/auth/password",
        json={"current": PASSWORD, "new": "an even better one"},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.status_code == 200, changed.text
    assert other.get("/auth/me").status_code == 401  # the other browser is signed out too
    assert client.get("/auth/me").status_code == 401
    csrf = sign_in(client, "eve", "an even better one")
    sign_in(other, "eve", "an even better one")
    out = client.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 200 and out.json()["sessions_ended"] == 2
    assert client.get("/auth/me").status_code == 401
    assert other.get("/auth/me").status_code == 401  # signing out ends them all
    assert Accounts.of(secured).sessions("eve") == 0


def test_V7_idle_and_expired_sessions_end(secured: Settings) -> None:
    accounts = Accounts(secured.database_url, idle=timedelta(seconds=1))
    signed = accounts.sign_in("vic", PASSWORD)
    assert accounts.session(signed.token) is not None
    time.sleep(1.1)
    assert accounts.session(signed.token) is None
    lasting = Accounts(secured.database_url, lifetime=timedelta(seconds=1))
    signed = lasting.sign_in("vic", PASSWORD)
    time.sleep(1.1)
    assert lasting.session(signed.token) is None
    assert accounts.session("nonsense") is None and accounts.session("x" * 500) is None


def test_V7_a_page_without_a_session_goes_to_the_sign_in(client: TestClient) -> None:
    page = client.get("/api/v1/kinds", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/api/v1/kinds"
    form = client.get("/login?next=//evil.example/")
    assert form.status_code == 200 and 'value="/studio/"' in form.text  # no open redirect
    done = client.post(
        "/auth/login",
        data={"username": "vic", "password": PASSWORD, "next": "/api/v1/kinds"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/api/v1/kinds"
    again = client.post("/auth/login", data={"username": "vic", "password": "wrong password!"})
    assert again.status_code == 401 and "wrong username or password" in again.text


# ---- V3.5: CSRF and origins ------------------------------------------------------------------


def test_V3_5_state_changes_from_a_session_need_its_csrf_token(client: TestClient) -> None:
    csrf = sign_in(client, "eve")
    body = {"name": "Luna"}
    missing = client.post("/api/v1/entities/character", json=body)
    wrong = client.post("/api/v1/entities/character", json=body, headers={"X-CSRF-Token": "x"})
    assert missing.status_code == wrong.status_code == 403
    assert "CSRF" in missing.json()["error"]["message"]
    made = client.post("/api/v1/entities/character", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert client.get("/api/v1/entities/character").status_code == 200  # reads need none


def test_V3_5_requests_from_other_sites_are_refused(client: TestClient, settings: Settings) -> None:
    csrf = sign_in(client, "eve")
    ok = {"X-CSRF-Token": csrf}
    for evil in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = client.post("/api/v1/entities/character", json={"name": "x"}, headers=ok | evil)
        assert refused.status_code == 403 and "another site" in refused.text
    same = client.post(
        "/api/v1/entities/character",
        json={"name": "y"},
        headers=ok | {"Origin": "https://127.0.0.1", "Sec-Fetch-Site": "same-origin"},
    )
    assert same.status_code == 201
    # The owner on loopback needs no sign-in, so a page elsewhere must not drive the server.
    with TestClient(create_app(settings, studio=False)) as owner:
        hostile = owner.post(
            "/api/v1/entities/character", json={"name": "z"}, headers={"Origin": "http://evil"}
        )
        assert hostile.status_code == 403


# ---- V3.4: headers ---------------------------------------------------------------------------


def test_V3_4_every_response_carries_the_security_headers(
    client: TestClient, secured: Settings
) -> None:
    with TestClient(create_app(secured, studio=False), base_url="http://127.0.0.1") as plain:
        for response in (plain.get("/healthz"), plain.get("/api/v1/kinds"), plain.get("/login")):
            h = response.headers
            assert "frame-ancestors 'none'" in h["content-security-policy"]
            assert "object-src 'none'" in h["content-security-policy"]
            assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
            assert h["referrer-policy"] == "strict-origin-when-cross-origin"
            assert "strict-transport-security" not in h  # plain HTTP
    assert "max-age=" in client.get("/healthz").headers["strict-transport-security"]


def test_V3_4_cors_is_closed_unless_allowed(secured: Settings) -> None:
    with TestClient(create_app(secured, studio=False)) as closed:
        pre = closed.options(
            "/api/v1/kinds",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in pre.headers
    allowed = secured.model_copy(update={"cors_origins": ["https://app.example"]})
    with TestClient(create_app(allowed, studio=False)) as opened:
        pre = opened.options(
            "/api/v1/kinds",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        )
        assert pre.headers["access-control-allow-origin"] == "https://app.example"


# ---- V8: tokens and roles --------------------------------------------------------------------


def test_V8_tokens_are_shown_once_scoped_expire_and_revoke(
    client: TestClient, secured: Settings
) -> None:
    accounts = Accounts.of(secured)
    made = accounts.create_token("eve", "laptop", role="viewer")
    value = made["token"]
    with session_scope(secured.database_url) as db:
        hashes = db.scalars(sa.select(ApiToken.token_hash)).all()
    assert value not in hashes and all(value not in str(t) for t in accounts.tokens())
    assert client.get("/auth/me", headers=bearer(value)).json()["role"] == "viewer"
    refused = client.post("/api/v1/entities/character", json={"name": "x"}, headers=bearer(value))
    assert refused.status_code == 403 and "needs the editor role" in refused.text
    with pytest.raises(BadRequest, match="cannot be admin"):
        accounts.create_token("eve", "more", role="admin")
    accounts.revoke_token(made["id"])
    assert client.get("/auth/me", headers=bearer(value)).status_code == 401
    short = accounts.create_token("eve", "brief", expires_in=timedelta(seconds=1))
    time.sleep(1.1)
    assert client.get("/auth/me", headers=bearer(short["token"])).status_code == 401
    # A token never has more than its owner now: demoted, the token follows.
    strong = token(secured, "ada")
    accounts.add("ann", PASSWORD, "admin")
    accounts.set_role("ada", "viewer")
    assert client.get("/auth/me", headers=bearer(strong)).json()["role"] == "viewer"
    accounts.set_disabled("eve")
    editor = accounts.tokens("eve")
    assert editor and client.get("/auth/me", headers=bearer(value)).status_code == 401


def test_V8_tokens_and_accounts_through_the_api(client: TestClient, secured: Settings) -> None:
    admin = bearer(token(secured, "ada"))
    made = client.post("/auth/tokens", json={"name": "ci", "role": "viewer"}, headers=admin)
    assert made.status_code == 201 and made.json()["token"].startswith("lifeos_")
    listed = client.get("/auth/tokens", headers=admin).json()
    assert {t["name"] for t in listed} >= {"ci", "test"} and "token" not in listed[0]
    viewer = bearer(token(secured, "vic"))
    assert client.get("/api/v1/users", headers=viewer).status_code == 403
    new = client.post(
        "/api/v1/users", json={"username": "kid", "password": PASSWORD}, headers=admin
    )
    assert new.status_code == 201 and new.json()["role"] == "viewer"
    changed = client.patch("/api/v1/users/kid", json={"role": "editor"}, headers=admin)
    assert changed.json()["role"] == "editor"
    theirs = client.get("/auth/tokens", headers=viewer).json()
    assert {t["owner"] for t in theirs} == {"vic"}  # a viewer sees only their own
    revoked = client.delete(f"/auth/tokens/{made.json()['id']}", headers=viewer)
    assert revoked.status_code == 404  # not theirs


def _concrete(path: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "x", path)


def test_V8_every_route_declares_a_role_and_the_matrix_holds(
    client: TestClient, secured: Settings
) -> None:
    """Every route × {anonymous, viewer, editor, admin, expired, revoked}: generated from the
    route table, so a route without a declared role fails here."""
    spec = client.app.openapi()  # type: ignore[attr-defined]
    accounts = Accounts.of(secured)
    who = {
        r: bearer(token(secured, name))
        for r, name in ((Role.viewer, "vic"), (Role.editor, "eve"), (Role.admin, "ada"))
    }
    gone = accounts.create_token("ada", "gone")
    accounts.revoke_token(gone["id"])
    expired = accounts.create_token("ada", "old", expires_in=timedelta(seconds=1))
    time.sleep(1.1)
    undeclared, checked = [], 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            role = op.get(ROLE_KEY)
            if role is None:
                undeclared.append(f"{method.upper()} {path}")
                continue
            if role == "public":
                continue
            url = _concrete(path)

            def call(headers: dict[str, str], url: str = url, method: str = method) -> int:
                # `{}`: the route's role is checked before its body (and a handler that does
                # run gets nothing it could act on)
                kw: dict[str, Any] = {} if method == "get" else {"content": b"{}"}
                sent = {"content-type": "application/json", **headers}
                return client.request(method.upper(), url, headers=sent, **kw).status_code

            needed = Role(role)
            assert call({}) == 401, (method, path)
            for bad in (gone["token"], expired["token"]):
                assert call(bearer(bad)) == 401, (method, path)
            for r, headers in who.items():
                status = call(headers)
                if r.allows(needed):
                    assert status not in (401, 403), (method, path, r, status)
                else:
                    assert status == 403, (method, path, r, status)
            checked += 1
    assert undeclared == []
    assert checked >= 80


# ---- who did it ----------------------------------------------------------------------------


def test_revisions_and_ledger_rows_name_who_made_them(
    client: TestClient, secured: Settings
) -> None:
    from lifeos.ledger import CallRecord, Ledger

    made = client.post(
        "/api/v1/entities/character", json={"name": "Luna"}, headers=bearer(token(secured, "eve"))
    )
    assert made.status_code == 201
    with acting_as(Principal("vic", Role.viewer, "token")):
        Ledger(secured.database_url).record(CallRecord("t", "chat", "tiny", "local", "m"))
        with pytest.raises(Exception, match="needs the editor role"):
            from lifeos.store import EntityStore

            with session_scope(secured.database_url) as db:
                EntityStore(db).create("character", {"name": "nope"})
    with session_scope(secured.database_url) as db:
        actors = db.scalars(
            sa.select(EntityRevision.actor).where(EntityRevision.entity_id == made.json()["id"])
        ).all()
        assert actors == ["eve"]
        assert db.scalars(sa.select(ToolCall.actor)).all() == ["vic"]
    # "Who changed this" in the history, cost per user in the ledger's analytics.
    from lifeos.analytics import tool_calls_frame, usage_by

    history = client.get(
        f"/api/v1/entities/character/{made.json()['id']}/history",
        headers=bearer(token(secured, "vic")),
    )
    assert [r["actor"] for r in history.json()] == ["eve"]
    per_user = usage_by(tool_calls_frame(secured.database_url), "actor")
    assert per_user["actor"].to_list() == ["vic"] and per_user["calls"].to_list() == [1]


def test_unauthorized_is_a_clear_problem(client: TestClient) -> None:
    answer = client.get("/api/v1/kinds")
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["error"]["code"] == "unauthorized"
    bad = client.get("/api/v1/kinds", headers=bearer("lifeos_nope"))
    assert bad.status_code == 401 and "not valid" in bad.json()["error"]["message"]
    with pytest.raises(Unauthorized):
        Accounts.of(client.app.state.settings).authenticate("vic", "")  # type: ignore[attr-defined]


# ---- the studio in a browser, signed in --------------------------------------------------------


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The real app (uvicorn) with sign-in required, an admin and a viewer."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from lifeos.db import migrate
    from lifeos.demo import load_demo
    from tests.services import answers, free_port, stop, wait_until

    home = tmp_path_factory.mktemp("signed-home")
    url = f"sqlite:///{home / 'lifeos.db'}"
    migrate.upgrade(url)
    with session_scope(url) as session:
        load_demo(session)
    accounts = Accounts(url)
    accounts.add("ada", PASSWORD, "admin")
    accounts.add("vic", PASSWORD, "viewer")
    port = free_port()
    env = {
        **os.environ,
        "LIFEOS_HOME": str(home),
        "LIFEOS_AUTH": "required",
        "LIFEOS_API_PORT": str(port),
        "LIFEOS_PRELOAD_MODELS": "[]",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    env.pop("LIFEOS_DATABASE_URL", None)
    log = (home / "server.log").open("w")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "apps.api.app:create_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(f"{base}/readyz"), proc, home / "server.log", what="the app")
    yield {"base": base, "home": home}
    stop(proc)
    log.close()


@pytest.mark.slow
@pytest.mark.browser
def test_V3_5_the_studio_signs_in_sends_its_csrf_token_and_signs_out(
    signed_server: dict[str, Any], browser: Any
) -> None:
    from tests.test_studio import shot

    base = signed_server["base"]
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    page.goto(f"{base}/studio/")
    page.wait_for_selector("#login-submit")  # sent to the sign-in
    page.fill("#username", "ada")
    page.fill("#password", "not the password")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:has-text('wrong username or password')")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#library-table")  # back where it was going
    # A Gradio event that changes state: it carries the CSRF token (static/csrf.js).
    page.get_by_role("tab", name="Account").click()
    page.wait_for_selector("#account-who:has-text('ada')")
    page.locator("#token-name textarea, #token-name input").first.fill("from the browser")
    page.click("#token-make")
    page.wait_for_selector("#token-made:has-text('shown this once')")
    shot(page, "account")
    value = page.locator("#token-made code").first.inner_text()
    me = httpx.get(f"{base}/auth/me", headers={"Authorization": f"Bearer {value}"})
    assert me.json()["username"] == "ada"
    # The same cookies without the token are refused.
    raw = page.request.post(f"{base}/api/v1/entities/character", data={"name": "x"})
    assert raw.status == 403 and "CSRF" in raw.text()
    page.click("#account-sign-out")
    page.wait_for_selector("#login-submit")
    page.goto(f"{base}/studio/")
    page.wait_for_selector("#login-submit")  # signed out for good
    # A viewer reads, and what needs more is refused with a clear message.
    page.fill("#username", "vic")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#library-table")
    page.get_by_role("tab", name="Account").click()
    page.wait_for_selector("#account-who:has-text('viewer')")
    page.get_by_text("Accounts (admins)").click()
    page.locator("#account-new-user textarea, #account-new-user input").first.fill("mallory")
    page.click("#account-add")
    page.wait_for_selector("text=needs the admin role")
    assert not [b for b in blocked if "script" in b.lower()], blocked
    context.close()


def test_V6_accounts_and_tokens_from_the_cli(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import json

    from apps.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "Kim", "--role", "editor", "--password-stdin", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["username"] == "kim"
    monkeypatch.setenv("NEW_PW", "short")
    assert main(["users", "passwd", "kim", "--password-env", "NEW_PW"]) == 1
    assert "10 to 1024" in capsys.readouterr().err
    assert main(["users", "role", "kim", "viewer", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["role"] == "viewer"
    assert main(["tokens", "create", "kim", "--name", "script", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["token"].startswith("lifeos_") and made["role"] == "viewer"
    assert main(["tokens", "list", "kim", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in listed] == ["script"] and "token" not in listed[0]
    assert main(["tokens", "revoke", made["id"]]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["users", "disable", "kim", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["disabled"] is True
    assert main(["users", "list", "--json"]) == 0
    assert [a["username"] for a in json.loads(capsys.readouterr().out)] == ["kim"]


# ---- rate limits -----------------------------------------------------------------------------


def test_rate_limits_per_account_per_ip_and_for_generations(secured: Settings) -> None:
    limited = secured.model_copy(
        update={
            "rate_limit_user": "3/minute",
            "rate_limit_ip": "8/minute",
            "rate_limit_generation": "1/minute",
        }
    )
    with TestClient(create_app(limited, studio=False), base_url="https://127.0.0.1") as c:
        vic = bearer(token(limited, "vic"))
        answers = [c.get("/api/v1/kinds", headers=vic) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["ratelimit-policy"] == '"ip";q=8;w=60, "user";q=3;w=60'
        assert answers[2].headers["ratelimit"].split(", ")[1].startswith('"user";r=0;t=')
        refused = answers[3]
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"]["code"] == "rate_limited"
        assert "at most 3 per minute" in refused.json()["error"]["message"]
        # A generation costs a model run: one a minute here, counted before the body is read.
        eve = bearer(token(limited, "eve"))
        first = c.post("/api/v1/tools/nope/run", json={}, headers=eve)
        second = c.post("/api/v1/tools/nope/run", json={}, headers=eve)
        assert first.status_code != 429 and second.status_code == 429
        assert "generations" in second.json()["error"]["message"]
        # The IP's limit covers everyone from it (8 a minute: 4 + 2 so far, and anonymous).
        ada = bearer(token(limited, "ada"))
        statuses = [c.get("/api/v1/kinds", headers=ada).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


def test_rate_limits_in_redis_are_shared_by_every_worker(secured: Settings) -> None:
    import uuid

    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except redis.ConnectionError as exc:  # pragma: no cover - Redis runs on these machines
        pytest.skip(f"Redis is not reachable: {exc}")
    shared = secured.model_copy(
        update={
            "rate_limit_storage": "redis://127.0.0.1:6379/15",
            "rate_limit_user": "2/minute",
            "rate_limit_ip": "",
        }
    )
    user = f"w{uuid.uuid4().hex[:8]}"  # Redis outlives the test: a name of its own
    Accounts.of(shared).add(user, PASSWORD, "viewer")
    value = bearer(token(shared, user))
    one, two = (
        TestClient(create_app(shared, studio=False), base_url="https://127.0.0.1") for _ in range(2)
    )
    with one, two:  # two API workers
        assert one.get("/api/v1/kinds", headers=value).status_code == 200
        assert two.get("/api/v1/kinds", headers=value).status_code == 200
        assert one.get("/api/v1/kinds", headers=value).status_code == 429


# ---- secrets -------------------------------------------------------------------------------


def test_secrets_never_reach_logs_tracebacks_the_database_or_exports(
    secured: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from pydantic import SecretStr

    from lifeos.db.models import ALL_TABLES
    from lifeos.logging import configure_logging, get_logger

    configure_logging("DEBUG", json=True)
    s = secured.model_copy(update={"bgg_token": SecretStr("bgg-secret-123456")})
    with TestClient(create_app(s, studio=False), base_url="https://127.0.0.1") as c:
        value = token(s, "eve")
        c.post("/auth/login", json={"username": "eve", "password": "not " + PASSWORD})
        sign_in(c, "eve")
        session = c.cookies.get("__Host-lifeos_session")
        assert session and c.get("/api/v1/kinds", headers=bearer(value)).status_code == 200
        c.get("/api/v1/kinds", headers=bearer("lifeos_" + "x" * 43))
        c.post("/api/v1/entities/character", json={"name": f"{PASSWORD}?"}, headers=bearer(value))
        exported = c.get("/api/v1/export", headers=bearer(value)).text
        log = get_logger("test")
        log.info("calling", detail=f"Authorization: Bearer {value}", cookie=session)
        log.info("db", url="postgresql://u:pw1234567@db/x", note=f"lifeos_session={session}")
        try:
            raise RuntimeError(f"failed with {value} and bgg-secret-123456")
        except RuntimeError:
            log.exception("boom")
    captured = capsys.readouterr()
    logs = captured.out + captured.err
    assert "boom" in logs and "lifeos_***" in logs  # the lines are there, masked
    with session_scope(s.database_url) as db:
        rows = [
            str(row)
            for table in ALL_TABLES
            for row in db.execute(sa.text(f"SELECT * FROM {table}")).all()  # noqa: S608
        ]
    stored = "\n".join(rows)
    for secret in (value, session, "bgg-secret-123456", "pw1234567"):
        assert secret not in logs, secret
        assert secret not in stored and secret not in exported, secret
    # A password people typed is not kept: only its hash (an entity named after it is theirs).
    assert PASSWORD not in logs
    assert all(PASSWORD not in r for r in rows if "argon2" in r)


# ---- injection -------------------------------------------------------------------------------

PAYLOADS = [
    "Robert'); DROP TABLE entities; --",
    "' OR '1'='1",
    '{"$gt": ""}',
    "../../../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "nul\x00byte",
    "<script>alert(1)</script>",
    "${jndi:ldap://example.invalid/a}",
    "%00%2e%2e%2f",
    "\u202e\ufeff\u0007",
    "😀" * 3000 + "𝕏",
]


def test_injection_strings_are_refused_or_kept_verbatim(settings: Settings, tmp_path: Any) -> None:
    """In every string field, a name, a tag, a search, a path and an upload's filename."""
    from urllib.parse import quote

    from PIL import Image

    with TestClient(create_app(settings, studio=False)) as c:
        kept = 0
        for payload in PAYLOADS:
            body = {
                "name": payload[:200],
                "tags": [payload[:40]],
                "data": {"description": payload, "greeting": payload[:500]},
            }
            made = c.post("/api/v1/entities/character", json=body)
            assert made.status_code in (201, 400, 422), (payload[:40], made.text[:300])
            if made.status_code != 201:  # refused with a clear problem
                assert made.json()["error"]["message"]
                body["tags"] = []  # tags have a grammar; the rest must still be kept
                made = c.post("/api/v1/entities/character", json=body)
            if made.status_code == 201:
                kept += 1
                got = c.get(f"/api/v1/entities/character/{made.json()['id']}").json()
                assert got["name"] == body["name"] and got["data"]["description"] == payload
            for answer in (
                c.get("/api/v1/search", params={"q": payload[:200]}),
                c.get("/api/v1/entities/character", params={"q": payload[:200]}),
                c.get("/api/v1/entities/character", params={"data.description": payload[:200]}),
                c.get(f"/api/v1/entities/{quote(payload[:100], safe='')}"),
                c.get(f"/api/v1/entities/character/{quote(payload[:100], safe='')}"),
            ):
                assert answer.status_code in (200, 400, 404, 422), (payload[:40], answer.text)
        assert kept >= len(PAYLOADS) - 2  # NUL (PostgreSQL text cannot hold it) may be refused
        names = {e["name"] for e in c.get("/api/v1/entities/character?limit=200").json()["items"]}
        assert PAYLOADS[0] in names  # stored as text, never run: the table is still there
        # Hostile upload names: the content decides, the name never leaves our folder.
        png = tmp_path / "p.png"
        Image.new("RGB", (8, 8), "red").save(png)
        outside = tmp_path.parent / "lifeos-escaped.png"
        for name in ("../../" + outside.name, "..", "a\x00b.png", "x" * 400 + ".png", ""):
            sent = c.post(
                "/api/v1/images/import", files={"file": (name, png.read_bytes(), "image/png")}
            )
            assert sent.status_code in (201, 400, 422), (name[:40], sent.text[:300])
        assert not outside.exists()
        fake = c.post(
            "/api/v1/images/import",
            files={"file": ("photo.png", b"%PDF-1.4 not a png", "image/png")},
        )
        assert fake.status_code == 400  # a name and a type that lie are caught by the content
        many = {f"data.f{i}": "x" for i in range(11)}
        assert c.get("/api/v1/entities/character", params=many).status_code == 400
