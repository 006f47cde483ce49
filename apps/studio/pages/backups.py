"""Backups (admins): the last backup and its age, every set, a verify button (a restore drill
into a scratch home), a backup now, and a restore into a new home. The same service as
`lifeos backup ...` and /api/v1/backups (`lifeos.backup`)."""

from __future__ import annotations

from datetime import UTC, datetime

import gradio as gr
import pandas as pd

from apps.studio.base import Page, guarded
from lifeos import backup
from lifeos.backup.sets import restore_path, vault_for

COLUMNS = ["set", "kind", "taken", "files", "size", "new", "encrypted", "verified"]


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _age(at: datetime) -> str:
    seconds = (datetime.now(UTC) - at).total_seconds()
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.0f} days ago"


class BackupsPage(Page):
    id = "backups"
    title = "Backups"

    def layout(self) -> None:
        self.summary = gr.Markdown(elem_id="backups-summary")
        self.sets = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="backups-sets")
        with gr.Row():
            self.take = gr.Button("Back up now", variant="primary", elem_id="backups-take")
            self.take_full = gr.Button("Full backup", elem_id="backups-take-full")
            self.refresh = gr.Button("Refresh", size="sm", elem_id="backups-refresh")
        with gr.Row():
            self.chosen = gr.Textbox(
                label="set (empty: the newest)", elem_id="backups-set", scale=2
            )
            self.verify = gr.Button("Verify (restore drill)", elem_id="backups-verify")
        with gr.Row():
            self.into = gr.Textbox(
                label="restore into a new home folder (on this server, beside the home)",
                elem_id="backups-into",
                scale=2,
            )
            self.restore = gr.Button("Restore", elem_id="backups-restore")
        self.result = gr.Markdown(elem_id="backups-result")

    def wire(self) -> None:
        shown = [self.summary, self.sets]
        gr.on(None, self.load, None, shown)
        self.refresh.click(self.load, None, shown)
        self.take.click(self.backup, None, [self.result, *shown], concurrency_limit=1)
        self.take_full.click(self.backup_full, None, [self.result, *shown], concurrency_limit=1)
        self.verify.click(self.drill, self.chosen, [self.result, *shown], concurrency_limit=1)
        self.restore.click(
            self.restore_into, [self.chosen, self.into], self.result, concurrency_limit=1
        )

    @guarded
    def load(self) -> tuple[str, pd.DataFrame]:
        settings = self.studio.settings
        sets = backup.list_sets(settings)
        complete = [s for s in sets if s.complete]
        target = vault_for(settings).url
        if not complete:
            summary = (
                f"**No backup yet** in `{target}`. The hourly schedule takes one, or press "
                "Back up now."
            )
        else:
            last = complete[0]
            verified = [s.verified_at for s in complete if s.verified_at]
            summary = (
                f"**Last backup {_age(last.created_at)}** ({last.kind}, {_size(last.bytes)}, "
                f"{last.files} files) in `{target}` · "
                + (f"last verified {_age(max(verified))}" if verified else "**never verified**")
                + ("" if last.encrypted else " · **not encrypted** (set LIFEOS_BACKUP_PASSPHRASE)")
            )
        rows = [
            [
                s.id,
                s.kind,
                f"{s.created_at:%Y-%m-%d %H:%M}",
                s.files if s.complete else s.problem,
                _size(s.bytes),
                _size(s.new_bytes),
                "yes" if s.encrypted else "no",
                f"{s.verified_at:%Y-%m-%d %H:%M}" if s.verified_at else "",
            ]
            for s in sets
        ]
        return summary, pd.DataFrame(rows, columns=COLUMNS)

    def _taken(self, kind: str) -> tuple[str, str, pd.DataFrame]:
        info = backup.run_backup(self.studio.settings, "full" if kind == "full" else "incremental")
        note = (
            f"Backed up **{info.id}**: {info.files} files, {_size(info.bytes)} "
            f"({_size(info.new_bytes)} new) in {info.duration_s:.1f} s."
        )
        return (note, *self.load())

    @guarded
    def backup(self) -> tuple[str, str, pd.DataFrame]:
        return self._taken("incremental")

    @guarded
    def backup_full(self) -> tuple[str, str, pd.DataFrame]:
        return self._taken("full")

    @guarded
    def drill(self, set_id: str) -> tuple[str, str, pd.DataFrame]:
        report = backup.verify(self.studio.settings, set_id.strip() or None)
        lines = [
            f"- {'✅' if v.startswith('ok') else '❌'} **{k}**: {v}"
            for k, v in report.checks.items()
        ]
        head = "restorable" if report.ok else "**NOT restorable**"
        note = f"**{report.id}**: {head} ({report.duration_s:.1f} s)\n\n" + "\n".join(lines)
        return (note, *self.load())

    @guarded
    def restore_into(self, set_id: str, into: str) -> str:
        target = restore_path(self.studio.settings, into)
        manifest = backup.restore(self.studio.settings, set_id.strip() or None, target)
        return (
            f"Restored **{manifest.id}** ({len(manifest.files)} files) into `{target}`. "
            f"Run it with `LIFEOS_HOME={target} LIFEOS_CONFIG_DIR={target}/configs lifeos up`"
        )
