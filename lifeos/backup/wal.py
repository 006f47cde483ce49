"""Point-in-time recovery of a PostgreSQL server: its WAL archived into the backup target
(encrypted like every object there) and base backups taken with `pg_basebackup`; a restore
lays down the last base backup before the moment, fetches the archived WAL and tells the
server to replay it up to `recovery_target_time`.

The server's side is its configuration (Life-OS does not own the server):

    wal_level = replica
    archive_mode = on
    archive_command = 'lifeos backup wal-archive %p %f'   # with the LIFEOS_BACKUP_* settings

or, where the server's user cannot run Life-OS, a plain copy into a spool folder that
`lifeos backup wal-sync SPOOL` (cron, or a Dagster schedule) moves into the target:

    archive_command = 'test ! -f /spool/%f && cp %p /spool/%f.tmp && mv /spool/%f.tmp /spool/%f'

    wal/<segment>              each archived WAL file
    wal/base/<time>/...        each base backup (pg_basebackup's tar files) and its info.json
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from lifeos.backup.sets import sealer_for, vault_for
from lifeos.errors import BackupError
from lifeos.security.roles import Role, require
from lifeos.settings import Settings


def archive(settings: Settings, path: Path, name: str) -> None:
    """The server's `archive_command`: one WAL file into the target. Archiving the same file
    again succeeds; a different file under a name already archived fails (as PostgreSQL
    asks), so nothing archived is ever overwritten."""
    vault = vault_for(settings)
    sealer = sealer_for(settings, vault, create=True)
    data = Path(path).read_bytes()
    target = vault.path("wal", name)
    if vault.fs.exists(target):
        kept = sealer.open(bytes(vault.fs.cat_file(target)), f"WAL {name}")
        if hashlib.sha256(kept).digest() == hashlib.sha256(data).digest():
            return
        raise BackupError(f"WAL {name} is archived already with other contents")
    vault.write(target, sealer.seal(data))


def sync(settings: Settings, spool: Path) -> int:
    """Move the WAL files a plain `archive_command` copied into `spool` into the target
    (for a server whose user cannot run Life-OS): each archived, then removed from the
    spool. Returns how many."""
    moved = 0
    for path in sorted(Path(spool).iterdir()):
        if path.is_file() and not path.name.endswith(".tmp"):
            archive(settings, path, path.name)
            path.unlink()
            moved += 1
    return moved


def base_backup(settings: Settings) -> str:
    """A base backup of the library's server into the target; returns its id."""
    require(Role.admin, "taking a base backup")
    if settings.is_sqlite:
        raise BackupError("base backups are for PostgreSQL; SQLite is replicated by Litestream")
    if not shutil.which("pg_basebackup"):
        raise BackupError("pg_basebackup is not on PATH: install the PostgreSQL client tools")
    vault = vault_for(settings)
    sealer = sealer_for(settings, vault, create=True)
    started = datetime.now(UTC)
    base_id = f"{started:%Y%m%dT%H%M%S}{started.microsecond // 1000:03d}Z"
    with tempfile.TemporaryDirectory(prefix="lifeos-base-") as tmp:
        out = Path(tmp) / "base"
        _client(
            [
                "pg_basebackup",
                "--format=tar",
                "--gzip",
                "--wal-method=fetch",
                "--checkpoint=fast",
                f"--pgdata={out}",
            ],
            settings.database_url,
            what="pg_basebackup",
        )
        files = sorted(p.name for p in out.iterdir())
        for name in files:
            vault.write(
                vault.path("wal", "base", base_id, name), sealer.seal((out / name).read_bytes())
            )
    info = {
        "id": base_id,
        "started_at": started.isoformat(),
        "files": files,
        "key_id": sealer.key_id,
    }
    vault.write(vault.path("wal", "base", base_id, "info.json"), json.dumps(info).encode())
    return base_id


def base_backups(settings: Settings) -> list[dict[str, str]]:
    vault = vault_for(settings)
    root = vault.path("wal", "base")
    if not vault.fs.exists(root):
        return []
    found = []
    for folder in vault.fs.ls(root, detail=False):
        try:
            found.append(json.loads(vault.fs.cat_file(f"{folder.rstrip('/')}/info.json")))
        except (FileNotFoundError, ValueError):
            continue  # a base backup that never finished
    return sorted(found, key=lambda b: b["started_at"])


def restore_at(settings: Settings, data_dir: Path, at: datetime) -> str:
    """Lay down the last base backup taken before `at` in `data_dir` (new or empty), fetch
    the archived WAL beside it and configure the server to replay up to `at` and promote.
    Start PostgreSQL on `data_dir` afterwards. Returns the base backup's id."""
    require(Role.admin, "restoring a PostgreSQL server")
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    bases = [b for b in base_backups(settings) if datetime.fromisoformat(b["started_at"]) <= at]
    if not bases:
        raise BackupError(f"no base backup taken before {at:%Y-%m-%d %H:%M:%S}Z")
    base = bases[-1]
    data_dir = Path(data_dir).resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} is not empty: restore into a new data directory")
    vault = vault_for(settings)
    sealer = sealer_for(settings, vault, key_id=base.get("key_id"))
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)  # PostgreSQL refuses a data directory others can read
    for name in base["files"]:
        raw = sealer.open(
            bytes(vault.fs.cat_file(vault.path("wal", "base", base["id"], name))), name
        )
        if not name.endswith((".tar", ".tar.gz")):  # backup_manifest (pg_verifybackup's)
            (data_dir / name).write_bytes(raw)
            continue
        into = data_dir / "pg_wal" if name.startswith("pg_wal") else data_dir
        into.mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile(suffix=".tar.gz") as tmp:
            Path(tmp.name).write_bytes(raw)
            with tarfile.open(tmp.name) as tar:
                tar.extractall(into, filter="data")
    wal_dir = data_dir.parent / f"{data_dir.name}.wal"
    wal_dir.mkdir(exist_ok=True)
    for path in vault.fs.ls(vault.path("wal"), detail=False):
        name = path.rstrip("/").rsplit("/", 1)[-1]
        if name == "base" or ".tmp-" in name:
            continue
        (wal_dir / name).write_bytes(sealer.open(bytes(vault.fs.cat_file(path)), f"WAL {name}"))
    stamp = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    with (data_dir / "postgresql.auto.conf").open("a") as conf:
        conf.write(
            "\n# written by lifeos backup pg-restore\n"
            f'restore_command = \'cp "{wal_dir}/%f" "%p"\'\n'
            f"recovery_target_time = '{stamp}'\n"
            "recovery_target_action = 'promote'\n"
            "archive_mode = off\n"
        )
    (data_dir / "recovery.signal").touch()
    return str(base["id"])


def _client(cmd: list[str], url: str, *, what: str) -> None:
    """A PostgreSQL client on the library's server; the password in PGPASSWORD."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    args = [f"--host={u.host or '127.0.0.1'}", f"--port={u.port or 5432}"]
    if u.username:
        args.append(f"--username={u.username}")
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, check=False, env=env)  # noqa: S603  # nosec B603 - fixed programs, no shell
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {lines[-1] if lines else proc.returncode}")
