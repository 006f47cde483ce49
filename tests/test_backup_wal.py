"""PostgreSQL point-in-time recovery on a real throwaway cluster: the server archives its WAL
into a spool that `wal.sync` moves into the (encrypted) target, a base backup goes there too,
and after the cluster is gone a new data directory recovers to a moment: A written before it
is there, B after it is not. Skipped where the PostgreSQL server binaries are not installed.
(The server runs as the postgres user, which cannot run this checkout's interpreter under
/root: hence the spool rather than `lifeos backup wal-archive` as the archive_command.)"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from lifeos import backup
from lifeos.backup import wal
from lifeos.db import migrate
from lifeos.db.engine import dispose_engines, session_scope
from lifeos.settings import Settings
from lifeos.store import EntityStore

ROOT = Path(__file__).resolve().parents[1]
BIN = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), "")
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not BIN or not Path(BIN, "initdb").is_file(), reason="no PostgreSQL server binaries"
    ),
    pytest.mark.skipif(
        AS_ROOT and not (shutil.which("runuser") and _has_user("postgres")),
        reason="as root, initdb needs runuser and a postgres user",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_postgres(*cmd: str) -> subprocess.CompletedProcess[str]:
    """A server command (initdb and postgres refuse root: as root, run them as postgres)."""
    full = ["runuser", "-u", "postgres", "--", *cmd] if AS_ROOT else list(cmd)
    done = subprocess.run(full, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, (cmd, done.stdout[-2000:], done.stderr[-2000:])
    return done


def chown(path: Path) -> None:
    if AS_ROOT:
        subprocess.run(["chown", "-R", "postgres", str(path)], check=True)  # noqa: S603, S607


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder the postgres user can use (pytest's tmp folders are root's only)."""
    path = Path(tempfile.mkdtemp(prefix="lifeos-pitr-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start(data: Path, port: int) -> None:
    as_postgres(
        f"{BIN}/pg_ctl",
        "-D",
        str(data),
        "-l",
        str(data.parent / f"{data.name}.log"),
        "-o",
        f"-p {port} -k {data.parent}",
        "-w",
        "-t",
        "60",
        "start",
    )


def stop(data: Path) -> None:
    as_postgres(f"{BIN}/pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")


def wait_archived(url: str, timeout: float = 90) -> None:
    """Until the segment just switched away from is in the archive."""
    with psycopg.connect(url, autocommit=True) as conn:
        segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]  # type: ignore[index]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver"
            ).fetchone()
            if row and row[0] and row[0] >= segment:
                return
            time.sleep(0.3)
    raise AssertionError(f"WAL {segment} was not archived (failed: {row[1] if row else None})")


def test_the_server_recovers_to_a_moment(place: Path) -> None:
    data, vault, home = place / "data", place / "vault", place / "home"
    for folder in (vault, home):
        folder.mkdir(mode=0o777)
        folder.chmod(0o777)
    key = place / "backup.key"
    backup.new_key_file(key)
    key.chmod(0o644)  # the server's archive_command reads it (a test key)
    data.mkdir()
    chown(data)
    as_postgres(f"{BIN}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
    spool = place / "spool"
    spool.mkdir(mode=0o777)
    spool.chmod(0o777)
    archive = f"test ! -f {spool}/%f && cp %p {spool}/%f.tmp && mv {spool}/%f.tmp {spool}/%f"
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            "listen_addresses = '127.0.0.1'\nwal_level = replica\narchive_mode = on\n"
            f"archive_command = '{archive}'\n"
        )
    port = free_port()
    start(data, port)
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE lifeos")
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/lifeos"
    s = Settings(home=home, LIFEOS_DATABASE_URL=url, backup_target=str(vault), backup_key_file=key)
    try:
        migrate.upgrade(url)
        wal.base_backup(s)
        with session_scope(url) as session:
            EntityStore(session).create("character", {"name": "A"})
        wait_archived(admin)
        assert wal.sync(s, spool) >= 1
        time.sleep(1.1)
        with psycopg.connect(admin) as conn:
            moment = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        time.sleep(1.1)
        with session_scope(url) as session:
            EntityStore(session).create("character", {"name": "B"})
        wait_archived(admin)
        wal.sync(s, spool)
        assert not list(spool.iterdir())  # every WAL file is in the target now
    finally:
        dispose_engines()
        stop(data)
    shutil.rmtree(data)  # the disk is gone

    recovered = place / "recovered"
    wal.restore_at(s, recovered, moment.astimezone(UTC))
    chown(recovered)
    chown(place / "recovered.wal")
    port = free_port()
    start(recovered, port)
    try:
        again = f"postgresql://postgres@127.0.0.1:{port}/lifeos"
        deadline = time.monotonic() + 60
        while True:
            with psycopg.connect(again, autocommit=True) as conn:
                if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # type: ignore[index]
                    names = [r[0] for r in conn.execute("SELECT name FROM entities ORDER BY name")]
                    break
            assert time.monotonic() < deadline, "the server did not finish its recovery"
            time.sleep(0.5)
        assert names == ["A"]
    finally:
        stop(recovered)
    assert datetime.now(UTC) > moment
