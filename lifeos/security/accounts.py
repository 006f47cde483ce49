"""Accounts, sign-in sessions and personal access tokens, in the library DB.

- Passwords: argon2id (argon2-cffi's defaults, RFC 9106's second profile), rehashed on sign-in
  when the parameters change. An unknown user costs the same hash as a wrong password, and
  both get the same answer.
- Sessions: a random 256-bit token in the browser's cookie; the DB keeps its sha256, the
  account, a CSRF token, the last activity (idle expiry) and an absolute end. A new session
  at every sign-in; signing out, a password change, a role change or disabling ends every
  session of the account.
- Tokens: `lifeos_` + 256 random bits, shown once; the DB keeps the sha256, a role no higher
  than the owner's, an expiry and the revocation.
"""

from __future__ import annotations

import builtins
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from lifeos.db.engine import session_scope
from lifeos.db.models import Account, ApiToken, AuthSession, utcnow
from lifeos.errors import BadRequest, Conflict, NotFound, Unauthorized
from lifeos.security.roles import Principal, Role
from lifeos.settings import Settings

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD, MAX_PASSWORD = 10, 1024
TOKEN_PREFIX = "lifeos_"  # noqa: S105 - a prefix, not a secret
TOUCH_EVERY = timedelta(minutes=1)  # a session's last activity is written at most this often
WRONG = "wrong username or password"


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """What an unknown user's password is checked against: the same work as a real one."""
    return _hasher().hash(secrets.token_urlsafe(16))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise BadRequest(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


@dataclass(frozen=True)
class Signed:
    """A new session: the cookie's value and the CSRF token (shown once each)."""

    token: str
    csrf: str
    principal: Principal


class Accounts:
    def __init__(
        self,
        url: str,
        *,
        idle: timedelta = timedelta(hours=24),
        lifetime: timedelta = timedelta(days=30),
    ) -> None:
        self.url = url
        self.idle = idle
        self.lifetime = lifetime

    @classmethod
    def of(cls, settings: Settings) -> Accounts:
        return cls(
            settings.database_url,
            idle=timedelta(hours=settings.session_idle_hours),
            lifetime=timedelta(days=settings.session_max_days),
        )

    # ---- accounts ----------------------------------------------------------------------------

    @staticmethod
    def _describe(a: Account) -> dict[str, Any]:
        return {
            "id": a.id,
            "username": a.username,
            "role": a.role,
            "disabled": a.disabled,
            "created_at": a.created_at.isoformat(),
            "updated_at": a.updated_at.isoformat(),
        }

    def _get(self, session: Session, username: str) -> Account:
        account = session.scalar(sa.select(Account).where(Account.username == username.lower()))
        if account is None:
            raise NotFound(f"no account {username!r}")
        return account

    def add(self, username: str, password: str, role: Role | str = Role.viewer) -> dict[str, Any]:
        name = username.strip().lower()
        if not USERNAME.match(name):
            raise BadRequest(
                "a username is 1-64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
            )
        role = Role.parse(str(role))
        now = utcnow()
        with session_scope(self.url) as session:
            if session.scalar(sa.select(Account.id).where(Account.username == name)):
                raise Conflict(f"there is already an account {name!r}")
            account = Account(
                id=str(uuid.uuid4()),
                username=name,
                password_hash=_hasher().hash(check_password(password)),
                role=role.value,
                disabled=False,
                created_at=now,
                updated_at=now,
            )
            session.add(account)
            session.flush()
            return self._describe(account)

    def get(self, username: str) -> dict[str, Any]:
        with session_scope(self.url) as session:
            return self._describe(self._get(session, username))

    def list(self) -> list[dict[str, Any]]:
        with session_scope(self.url) as session:
            return [
                self._describe(a)
                for a in session.scalars(sa.select(Account).order_by(Account.username))
            ]

    def admins(self) -> int:
        """Enabled admin accounts (a server off loopback needs one)."""
        with session_scope(self.url) as session:
            return int(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Account)
                    .where(Account.role == Role.admin.value, Account.disabled.is_(False))
                )
                or 0
            )

    def _last_admin(self, session: Session, account: Account) -> bool:
        others = session.scalar(
            sa.select(sa.func.count())
            .select_from(Account)
            .where(
                Account.role == Role.admin.value,
                Account.disabled.is_(False),
                Account.id != account.id,
            )
        )
        return account.role == Role.admin.value and not account.disabled and not others

    def _change(self, username: str, **fields: Any) -> dict[str, Any]:
        with session_scope(self.url) as session:
            account = self._get(session, username)
            demoted = fields.get("role", Role.admin.value) != Role.admin.value
            if (demoted or fields.get("disabled")) and self._last_admin(session, account):
                raise Conflict(f"{account.username} is the last admin: make another admin first")
            for key, value in fields.items():
                setattr(account, key, value)
            account.updated_at = utcnow()
            self._end_sessions(session, account.id)
            return self._describe(account)

    def set_password(self, username: str, password: str) -> dict[str, Any]:
        """A new password; every session of the account ends."""
        return self._change(username, password_hash=_hasher().hash(check_password(password)))

    def set_role(self, username: str, role: Role | str) -> dict[str, Any]:
        return self._change(username, role=Role.parse(str(role)).value)

    def set_disabled(self, username: str, disabled: bool = True) -> dict[str, Any]:
        """A disabled account cannot sign in; its sessions end and its tokens stop working."""
        return self._change(username, disabled=disabled)

    def authenticate(self, username: str, password: str) -> Account:
        """The account, if the password is right and it is enabled; else the same error."""
        with session_scope(self.url) as session:
            account = session.scalar(
                sa.select(Account).where(Account.username == username.strip().lower()[:64])
            )
            stored = account.password_hash if account else _dummy_hash()
            try:
                _hasher().verify(stored, password[:MAX_PASSWORD])
            except (VerificationError, InvalidHashError):
                raise Unauthorized(WRONG) from None
            if account is None or account.disabled:
                raise Unauthorized(WRONG)
            if _hasher().check_needs_rehash(account.password_hash):
                account.password_hash = _hasher().hash(password)
            session.expunge(account)
            return account

    # ---- sessions ----------------------------------------------------------------------------

    def sign_in(
        self, username: str, password: str, *, ip: str = "", user_agent: str = ""
    ) -> Signed:
        account = self.authenticate(username, password)
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), utcnow()
        with session_scope(self.url) as session:
            session.add(
                AuthSession(
                    id=digest(token),
                    account_id=account.id,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.lifetime,
                    ip=ip[:64],
                    user_agent=user_agent[:300],
                )
            )
        principal = Principal(
            account.username, Role(account.role), "session", account.id, digest(token)
        )
        return Signed(token, csrf, principal)

    def session(self, token: str) -> tuple[Principal, str] | None:
        """The principal and CSRF token of a live session (idle and absolute expiry)."""
        if not token or len(token) > 200:
            return None
        now = utcnow()
        with session_scope(self.url) as session:
            row = session.get(AuthSession, digest(token))
            if row is None:
                return None
            account = session.get(Account, row.account_id)
            if (
                account is None
                or account.disabled
                or now >= row.expires_at
                or now - row.last_seen_at >= self.idle
            ):
                session.delete(row)
                return None
            if now - row.last_seen_at >= TOUCH_EVERY:
                row.last_seen_at = now
            role = Role(account.role)
            return Principal(account.username, role, "session", account.id, row.id), row.csrf_token

    def sign_out(self, token: str) -> int:
        """End every session of the account this one belongs to (a lost phone's too); how
        many ended."""
        with session_scope(self.url) as session:
            row = session.get(AuthSession, digest(token))
            if row is None:
                return 0
            result = session.execute(
                sa.delete(AuthSession).where(AuthSession.account_id == row.account_id)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def sessions(self, username: str) -> int:
        with session_scope(self.url) as session:
            account = self._get(session, username)
            return int(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(AuthSession)
                    .where(AuthSession.account_id == account.id)
                )
                or 0
            )

    @staticmethod
    def _end_sessions(session: Session, account_id: str) -> None:
        session.execute(sa.delete(AuthSession).where(AuthSession.account_id == account_id))

    def end_sessions(self, username: str) -> None:
        with session_scope(self.url) as session:
            self._end_sessions(session, self._get(session, username).id)

    # ---- tokens ------------------------------------------------------------------------------

    @staticmethod
    def _describe_token(t: ApiToken, owner: str) -> dict[str, Any]:
        now = utcnow()
        state = (
            "revoked"
            if t.revoked_at
            else "expired"
            if t.expires_at and t.expires_at <= now
            else "active"
        )
        return {
            "id": t.id,
            "name": t.name,
            "owner": owner,
            "prefix": t.prefix,
            "role": t.role,
            "state": state,
            "created_at": t.created_at.isoformat(),
            "expires_at": t.expires_at.isoformat() if t.expires_at else None,
            "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
        }

    def create_token(
        self,
        username: str,
        name: str,
        *,
        role: Role | str | None = None,
        expires_in: timedelta | None = timedelta(days=90),
    ) -> dict[str, Any]:
        """A new token for `username`, its value in `token` (shown this once)."""
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise BadRequest("a token's name has 1 to 100 characters")
        if expires_in is not None and expires_in <= timedelta(0):
            raise BadRequest("a token's lifetime must be positive")
        with session_scope(self.url) as session:
            account = self._get(session, username)
            scope = Role.parse(str(role)) if role else Role(account.role)
            if not Role(account.role).allows(scope):
                raise BadRequest(f"{account.username} is {account.role}: a token cannot be {scope}")
            value = TOKEN_PREFIX + secrets.token_urlsafe(32)
            now = utcnow()
            row = ApiToken(
                id=str(uuid.uuid4()),
                account_id=account.id,
                name=name,
                token_hash=digest(value),
                prefix=value[: len(TOKEN_PREFIX) + 4],
                role=scope.value,
                created_at=now,
                expires_at=now + expires_in if expires_in else None,
                last_used_at=None,
                revoked_at=None,
            )
            session.add(row)
            session.flush()
            return self._describe_token(row, account.username) | {"token": value}

    def tokens(self, username: str | None = None) -> builtins.list[dict[str, Any]]:
        """Tokens of one account (or every account's), newest first; never their values."""
        stmt = (
            sa.select(ApiToken, Account.username)
            .join(Account, Account.id == ApiToken.account_id)
            .order_by(ApiToken.created_at.desc())
        )
        if username:
            stmt = stmt.where(Account.username == username.lower())
        with session_scope(self.url) as session:
            return [self._describe_token(t, owner) for t, owner in session.execute(stmt)]

    def revoke_token(self, token_id: str, *, owner: str | None = None) -> dict[str, Any]:
        """Revoke a token (only `owner`'s, when named)."""
        with session_scope(self.url) as session:
            row = session.get(ApiToken, token_id)
            account = session.get(Account, row.account_id) if row else None
            if row is None or account is None or (owner and account.username != owner):
                raise NotFound(f"no token {token_id}")
            row.revoked_at = row.revoked_at or utcnow()
            return self._describe_token(row, account.username)

    def verify_token(self, value: str) -> Principal | None:
        if not value.startswith(TOKEN_PREFIX) or len(value) > 200:
            return None
        now = utcnow()
        with session_scope(self.url) as session:
            row = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == digest(value)))
            if row is None or row.revoked_at or (row.expires_at and row.expires_at <= now):
                return None
            account = session.get(Account, row.account_id)
            if account is None or account.disabled:
                return None
            if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
                row.last_used_at = now
            # never more than the owner has now (a token outlives a demotion, not its power)
            owner = Role(account.role)
            role = Role(row.role) if owner.allows(Role(row.role)) else owner
            return Principal(account.username, role, "token", account.id, token_id=row.id)
