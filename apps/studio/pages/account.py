"""Account: who you are signed in as, your API tokens (made, shown once, revoked), your
password, signing out; for admins, the accounts and their roles. The same service as
`/auth/...`, `/api/v1/users` and `lifeos users` / `lifeos tokens`."""

from __future__ import annotations

from datetime import timedelta

import gradio as gr
import pandas as pd

from apps.studio.base import Page, guarded
from lifeos.errors import BadRequest
from lifeos.security.accounts import Accounts
from lifeos.security.roles import Principal, Role, current, require

TOKEN_COLUMNS = ["id", "owner", "name", "role", "state", "expires", "last used"]
ACCOUNT_COLUMNS = ["username", "role", "state"]
# Signing out clears the HttpOnly cookie, so it is a call from the page (csrf.js adds the
# token), then a new page: the sign-in, or the owner's studio on loopback.
SIGN_OUT_JS = """async () => {
  await fetch("/auth/logout", {method: "POST"});
  window.location.href = "/login";
}"""


def _me() -> Principal:
    p = current()
    if p is None:  # a handler called outside a request (tests): this machine's owner
        return Principal("owner", Role.admin, "loopback")
    return p


class AccountPage(Page):
    id = "account"
    title = "Account"

    @property
    def accounts(self) -> Accounts:
        return Accounts.of(self.studio.settings)

    def layout(self) -> None:
        with gr.Row():
            self.who = gr.Markdown(elem_id="account-who")
            self.sign_out = gr.Button("Sign out", size="sm", scale=0, elem_id="account-sign-out")
        with gr.Accordion("API tokens", open=True):
            self.tokens = gr.Dataframe(
                headers=TOKEN_COLUMNS, interactive=False, elem_id="account-tokens"
            )
            with gr.Row():
                self.token_name = gr.Textbox(label="new token: what for", elem_id="token-name")
                self.token_role = gr.Dropdown(
                    ["", *[r.value for r in Role]], value="", label="role (default: yours)"
                )
                self.token_days = gr.Number(90, label="days (0: never)", precision=0)
            with gr.Row():
                self.make_token = gr.Button("Make a token", elem_id="token-make")
                self.revoke_id = gr.Textbox(label="token id to revoke", elem_id="token-revoke-id")
                self.revoke = gr.Button("Revoke", elem_id="token-revoke")
            self.made = gr.Markdown(elem_id="token-made")
        with gr.Accordion("Password", open=False):
            self.current_pw = gr.Textbox(label="current password", type="password")
            self.new_pw = gr.Textbox(label="new password (10+ characters)", type="password")
            self.change_pw = gr.Button("Change it (signs out everywhere)", elem_id="pw-change")
            self.pw_status = gr.Markdown(elem_id="pw-status")
        with gr.Accordion("Accounts (admins)", open=False):
            self.account_list = gr.Dataframe(
                headers=ACCOUNT_COLUMNS, interactive=False, elem_id="account-list"
            )
            with gr.Row():
                self.new_user = gr.Textbox(label="username", elem_id="account-new-user")
                self.new_user_pw = gr.Textbox(label="password", type="password")
                self.new_user_role = gr.Dropdown(
                    [r.value for r in Role], value="viewer", label="role"
                )
                self.add_user = gr.Button("Add / set role", elem_id="account-add")
            self.accounts_status = gr.Markdown(elem_id="account-status")

    def wire(self) -> None:
        shown = [self.who, self.tokens, self.account_list]
        gr.on(None, self.load, None, shown)
        self.sign_out.click(None, None, None, js=SIGN_OUT_JS)
        self.make_token.click(
            self.create_token,
            [self.token_name, self.token_role, self.token_days],
            [self.made, self.tokens],
        )
        self.revoke.click(self.revoke_token, self.revoke_id, [self.made, self.tokens])
        self.change_pw.click(self.password, [self.current_pw, self.new_pw], self.pw_status)
        self.add_user.click(
            self.save_account,
            [self.new_user, self.new_user_pw, self.new_user_role],
            [self.accounts_status, self.account_list],
        )

    def _tokens(self, me: Principal) -> pd.DataFrame:
        if me.account_id is None and me.role is not Role.admin:
            return pd.DataFrame(columns=TOKEN_COLUMNS)
        found = self.accounts.tokens(None if me.role is Role.admin else me.username)
        rows = [
            [
                t["id"],
                t["owner"],
                t["name"],
                t["role"],
                t["state"],
                (t["expires_at"] or "never")[:10],
                (t["last_used_at"] or "")[:16],
            ]
            for t in found
        ]
        return pd.DataFrame(rows, columns=TOKEN_COLUMNS)

    def _accounts(self, me: Principal) -> pd.DataFrame:
        if me.role is not Role.admin:
            return pd.DataFrame(columns=ACCOUNT_COLUMNS)
        rows = [
            [a["username"], a["role"], "disabled" if a["disabled"] else "active"]
            for a in self.accounts.list()
        ]
        return pd.DataFrame(rows, columns=ACCOUNT_COLUMNS)

    @guarded
    def load(self) -> tuple[str, pd.DataFrame, pd.DataFrame]:
        me = _me()
        how = {
            "loopback": "the owner of this machine (no sign-in on 127.0.0.1)",
            "session": "signed in",
            "token": "with a token",
        }.get(me.via, me.via)
        who = f"**{me.username}** · {me.role.value} · {how}"
        return who, self._tokens(me), self._accounts(me)

    def _own_account(self) -> Principal:
        me = _me()
        if me.account_id is None:
            raise BadRequest(
                "the local owner has no account: add one below (admins) or with "
                "`lifeos users add NAME --role admin`, then sign in as it"
            )
        return me

    @guarded
    def create_token(self, name: str, role: str, days: float | None) -> tuple[str, pd.DataFrame]:
        me = self._own_account()
        made = self.accounts.create_token(
            me.username,
            name,
            role=role or None,
            expires_in=timedelta(days=days) if days else None,
        )
        note = (
            f"Token **{made['name']}** ({made['role']}): `{made['token']}`\n\n"
            "Copy it now: it is shown this once. Send it as `Authorization: Bearer …`."
        )
        return note, self._tokens(me)

    @guarded
    def revoke_token(self, token_id: str) -> tuple[str, pd.DataFrame]:
        me = _me()
        owner = None if me.role is Role.admin else self._own_account().username
        revoked = self.accounts.revoke_token(token_id.strip(), owner=owner)
        return f"Revoked **{revoked['name']}** ({revoked['owner']}).", self._tokens(me)

    @guarded
    def password(self, current_pw: str, new_pw: str) -> str:
        me = self._own_account()
        self.accounts.authenticate(me.username, current_pw)
        self.accounts.set_password(me.username, new_pw)
        return "Changed: every session has ended. [Sign in again](/login)"

    @guarded
    def save_account(self, username: str, password: str, role: str) -> tuple[str, pd.DataFrame]:
        require(Role.admin, "managing accounts")
        name = username.strip().lower()
        if any(a["username"] == name for a in self.accounts.list()):
            self.accounts.set_role(name, role)
            if password:
                self.accounts.set_password(name, password)
            note = f"**{name}** is now {role}."
        else:
            self.accounts.add(name, password, role)
            note = f"Added **{name}** ({role})."
        return note, self._accounts(_me())
