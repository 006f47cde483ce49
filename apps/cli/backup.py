"""`lifeos backup ...`: whole-home backup sets (run, list, verify, prune, restore, keygen),
the same service as /api/v1/backups and the studio's Backups panel; and the single-file
database copy (`db`, `restore-db`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from apps.cli.common import console, emit_json, settings, want_json
from lifeos import backup as backups
from lifeos import transfer

app = typer.Typer(
    help="Backups: run, list, verify, prune, restore (whole homes); db, restore-db (one file).",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
SetArg = Annotated[str, typer.Argument(help="a set's id (`lifeos backup list`) or `latest`")]


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@app.command("run")
def run_(
    full: Annotated[bool, typer.Option("--full", help="re-read every file")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Take a backup set of the home (DB, blobs, LanceDB, Dagster, configs)."""
    kind: Literal["full", "incremental"] = "full" if full else "incremental"
    info = backups.run_backup(settings(), kind)
    if want_json(as_json):
        emit_json(info)
        return
    console.print(
        f"backed up {info.files} files ({_size(info.bytes)}, {_size(info.new_bytes)} new) "
        f"as {info.id} in {info.duration_s:.1f} s"
        + ("" if info.encrypted else " (not encrypted: set LIFEOS_BACKUP_PASSPHRASE)")
    )


@app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """Every set in the backup target, newest first."""
    sets = backups.list_sets(settings())
    if want_json(as_json):
        emit_json(sets)
        return
    table = Table("set", "kind", "age", "files", "size", "new", "encrypted", "verified")
    now = datetime.now(UTC)
    for s in sets:
        age = now - s.created_at
        table.add_row(
            s.id,
            s.kind,
            f"{age.days} d"
            if age.days
            else f"{age.seconds // 3600} h {age.seconds // 60 % 60} min",
            str(s.files) if s.complete else str(s.problem),
            _size(s.bytes),
            _size(s.new_bytes),
            "yes" if s.encrypted else "no",
            f"{s.verified_at:%Y-%m-%d %H:%M}" if s.verified_at else "",
        )
    console.print(table)


@app.command()
def verify(set_id: SetArg = "latest", as_json: JsonFlag = False) -> None:
    """Restore a set into a scratch home and check it (exit 1 when a check fails)."""
    report = backups.verify(settings(), set_id)
    if want_json(as_json):
        emit_json(report)
    else:
        for check, result in report.checks.items():
            mark = "ok    " if result.startswith("ok") else "FAILED"
            console.print(f"{mark} {check}: {result}", markup=False)
        console.print(f"{report.id}: {'restorable' if report.ok else 'NOT restorable'}")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def prune(as_json: JsonFlag = False) -> None:
    """Remove sets past retention (LIFEOS_BACKUP_KEEP_*) and the files only they held."""
    report = backups.prune(settings())
    if want_json(as_json):
        emit_json(report)
        return
    console.print(
        f"removed {len(report.removed)} sets and {report.objects_removed} files "
        f"({_size(report.bytes_freed)}); {len(report.kept)} sets kept"
    )


@app.command()
def restore(
    into: Annotated[Path, typer.Argument(help="the new home folder to restore into")],
    set_id: Annotated[str, typer.Option("--set", help="a set's id, or latest")] = "latest",
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Postgres backups: the database")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="INTO exists: keep it aside and replace it")
    ] = False,
    at: Annotated[
        datetime | None,
        typer.Option(
            "--at",
            help="SQLite: the library as it was at this time (UTC unless it says), from the "
            "Litestream replica",
            formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"],
        ),
    ] = None,
) -> None:
    """Restore a set into a home folder (a new one unless --replace), or with --at the
    library as it was at a moment."""
    manifest = backups.restore(
        settings(),
        None if at else set_id,
        into,
        database_url=database_url,
        replace=replace,
        at=at,
    )
    console.print(
        f"restored {manifest.id} ({len(manifest.files)} files) into {into}; "
        f"run it with LIFEOS_HOME={into} LIFEOS_CONFIG_DIR={into / 'configs'}"
        + (f" LIFEOS_DATABASE_URL={database_url}" if database_url else "")
    )


@app.command()
def replicate() -> None:
    """Replicate the SQLite library continuously with Litestream (for `restore --at`);
    `lifeos up` runs this beside the API."""
    import subprocess

    from lifeos.backup import replica

    raise typer.Exit(subprocess.call(replica.replicate_command(settings())))  # noqa: S603


@app.command("wal-archive")
def wal_archive(
    path: Annotated[Path, typer.Argument(help="%p: the WAL file")],
    name: Annotated[str, typer.Argument(help="%f: its name")],
) -> None:
    """PostgreSQL's archive_command: one WAL file into the backup target, encrypted."""
    from lifeos.backup import wal

    wal.archive(settings(), path, name)


@app.command("wal-sync")
def wal_sync(
    spool: Annotated[Path, typer.Argument(help="where archive_command copied WAL")],
) -> None:
    """Move WAL files from a spool folder into the backup target, encrypted."""
    from lifeos.backup import wal

    console.print(f"archived {wal.sync(settings(), spool)} WAL files")


@app.command("pg-base")
def pg_base() -> None:
    """A base backup of the PostgreSQL server (pg_basebackup) into the backup target."""
    from lifeos.backup import wal

    console.print(f"base backup {wal.base_backup(settings())} taken")


@app.command("pg-restore")
def pg_restore(
    data_dir: Annotated[Path, typer.Argument(help="a new PostgreSQL data directory")],
    at: Annotated[
        datetime,
        typer.Option(
            "--at",
            help="the moment to recover to (UTC unless it says)",
            formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"],
        ),
    ],
) -> None:
    """Prepare a PostgreSQL data directory that recovers to a moment: the last base backup
    before it and the archived WAL. Start the server on it afterwards."""
    from lifeos.backup import wal

    base = wal.restore_at(settings(), data_dir, at)
    console.print(
        f"{data_dir} holds base backup {base} and replays the WAL to {at:%Y-%m-%d %H:%M:%S}: "
        f"start it with pg_ctl -D {data_dir} start"
    )


@app.command()
def keygen(path: Annotated[Path, typer.Argument(help="where to write the new key")]) -> None:
    """Make an age key for LIFEOS_BACKUP_KEY_FILE. Keep a copy off this machine."""
    recipient = backups.new_key_file(path)
    console.print(f"wrote {path} (public key {recipient}); keep a copy somewhere else")


@app.command()
def db(path: Path) -> None:
    """Copy only the library DB to one file (SQLite copy, pg_dump, or JSON)."""
    fmt = transfer.backup(settings().database_url, path)
    console.print(f"backed up to {path} ({fmt})")


@app.command("restore-db")
def restore_db(
    path: Path, yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False
) -> None:
    """Replace the library DB with a `backup db` file. A corrupt file changes nothing."""
    if not yes:
        typer.confirm("Replace the whole library with this backup?", abort=True)
    s = settings()
    fmt = transfer.restore(s.database_url, path, max_json_bytes=s.max_import_bytes)
    console.print(f"restored from {path} ({fmt})")
