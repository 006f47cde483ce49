"""`lifeos users ...` (accounts, for whoever runs the server) and `lifeos tokens ...` (personal
access tokens), over the same service as /api/v1/users and /auth/tokens.

Passwords are read from a prompt (twice) or, for scripts and containers, from stdin or an
environment variable; never from the command line, where `ps` and shell history would show it.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from apps.cli.common import console, emit_json, settings, want_json
from lifeos.errors import BadRequest

app = typer.Typer(help="Accounts: who may sign in, and their role.", no_args_is_help=True)
tokens_app = typer.Typer(help="Personal access tokens for the API.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
Username = Annotated[str, typer.Argument(help="the account's username")]
Role = Annotated[str, typer.Option(help="viewer | editor | admin")]
PasswordStdin = Annotated[bool, typer.Option(help="read the password from stdin")]
PasswordEnv = Annotated[str, typer.Option(help="read the password from this variable")]


def _accounts() -> Any:
    from lifeos.security.accounts import Accounts

    return Accounts.of(settings())


def _password(stdin: bool, env: str) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    if env:
        if env not in os.environ:
            raise BadRequest(f"the variable {env} is not set")
        return os.environ[env]
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


def _show(accounts: list[dict[str, Any]], as_json: bool) -> None:
    if want_json(as_json):
        emit_json(accounts if len(accounts) != 1 else accounts[0])
        return
    table = Table("username", "role", "state", "created")
    for a in accounts:
        state = "disabled" if a["disabled"] else "active"
        table.add_row(a["username"], a["role"], state, a["created_at"][:19])
    console.print(table)


@app.command()
def add(
    username: Username,
    role: Role = "viewer",
    password_stdin: PasswordStdin = False,
    password_env: PasswordEnv = "",
    if_missing: Annotated[bool, typer.Option(help="do nothing if it exists")] = False,
    as_json: JsonFlag = False,
) -> None:
    """A new account (`--role admin` for the first, to serve off loopback)."""
    accounts = _accounts()
    if if_missing and any(a["username"] == username.lower() for a in accounts.list()):
        _show([accounts.get(username)], as_json)
        return
    _show([accounts.add(username, _password(password_stdin, password_env), role)], as_json)


@app.command()
def passwd(
    username: Username,
    password_stdin: PasswordStdin = False,
    password_env: PasswordEnv = "",
    as_json: JsonFlag = False,
) -> None:
    """A new password; every session of the account ends."""
    _show([_accounts().set_password(username, _password(password_stdin, password_env))], as_json)


@app.command("role")
def set_role(
    username: Username,
    role: Annotated[str, typer.Argument(help="viewer | editor | admin")],
    as_json: JsonFlag = False,
) -> None:
    """Change an account's role (its sessions end; its tokens never exceed it)."""
    _show([_accounts().set_role(username, role)], as_json)


@app.command()
def disable(username: Username, as_json: JsonFlag = False) -> None:
    """No more sign-ins; its sessions end and its tokens stop working."""
    _show([_accounts().set_disabled(username, True)], as_json)


@app.command()
def enable(username: Username, as_json: JsonFlag = False) -> None:
    _show([_accounts().set_disabled(username, False)], as_json)


@app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """Every account."""
    found = _accounts().list()
    if want_json(as_json):
        emit_json(found)
        return
    _show(found, False)


@tokens_app.command("create")
def create_token(
    username: Username,
    name: Annotated[str, typer.Option(help="what the token is for")],
    role: Annotated[str, typer.Option(help="at most the account's (default: its)")] = "",
    days: Annotated[float, typer.Option(help="days until it expires; 0: never")] = 90,
    as_json: JsonFlag = False,
) -> None:
    """A token for `Authorization: Bearer ...`: printed this once."""
    from datetime import timedelta

    made = _accounts().create_token(
        username, name, role=role or None, expires_in=timedelta(days=days) if days else None
    )
    if want_json(as_json):
        emit_json(made)
        return
    console.print(f"{made['token']}\n(shown once: keep it; `lifeos tokens revoke {made['id']}`)")


@tokens_app.command("list")
def list_tokens(
    username: Annotated[str, typer.Argument(help="one account's (default: all)")] = "",
    as_json: JsonFlag = False,
) -> None:
    found = _accounts().tokens(username or None)
    if want_json(as_json):
        emit_json(found)
        return
    table = Table("id", "owner", "name", "role", "state", "expires", "last used")
    for t in found:
        table.add_row(
            t["id"],
            t["owner"],
            t["name"],
            t["role"],
            t["state"],
            (t["expires_at"] or "never")[:19],
            (t["last_used_at"] or "")[:19],
        )
    console.print(table)


@tokens_app.command("revoke")
def revoke_token(token_id: str, as_json: JsonFlag = False) -> None:
    revoked = _accounts().revoke_token(token_id)
    if want_json(as_json):
        emit_json(revoked)
        return
    console.print(f"revoked {revoked['id']} ({revoked['name']}, {revoked['owner']})")
