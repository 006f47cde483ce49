"""Roles and the principal of the request in hand.

- `viewer` reads; `editor` also creates, edits and runs tools (no deletes, purges, model pulls
  or plugin changes); `admin` may do everything, accounts and settings included.
- The principal is set where a request comes in (the API's middleware, the studio's event
  handling, a Dagster run from its `lifeos/user` tag) and read where the work is recorded:
  entity revisions and ledger rows carry `actor()`. Code that runs for no one in particular
  (the CLI on this machine, the daemon's own sensors) has none and is not limited here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum

from lifeos.errors import BadRequest, Forbidden

USER_TAG = "lifeos/user"  # the Dagster run tag naming who started a run


class Role(StrEnum):
    viewer = "viewer"
    editor = "editor"
    admin = "admin"

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value)
        except ValueError:
            raise BadRequest(
                f"unknown role {value!r}: one of {', '.join(r.value for r in cls)}"
            ) from None

    def allows(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    via: str  # loopback | session | token | run
    account_id: str | None = None
    session_id: str | None = None
    token_id: str | None = None


principal_var: ContextVar[Principal | None] = ContextVar("lifeos_principal", default=None)


def current() -> Principal | None:
    return principal_var.get()


def actor() -> str | None:
    """Who the work in hand is for: a username, or None (this machine's CLI, the daemon)."""
    p = principal_var.get()
    return p.username if p else None


def require(role: Role, what: str) -> None:
    """Refuse `what` unless the request's principal has `role` (or there is no principal)."""
    p = principal_var.get()
    if p is not None and not p.role.allows(role):
        raise Forbidden(f"{what} needs the {role.value} role; {p.username} is {p.role.value}")


@contextlib.contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    token = principal_var.set(principal)
    try:
        yield
    finally:
        principal_var.reset(token)


def run_tags() -> dict[str, str]:
    """The tags a Dagster run started now carries, so its ledger rows name who started it."""
    name = actor()
    return {USER_TAG: name} if name else {}
