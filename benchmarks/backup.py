"""Backup and restore of a big home: 10,000 entities and 1 GB of blobs (pictures-sized files
of random bytes, which neither compress nor dedupe) on SQLite, encrypted, to a folder target
on the same disk. Prints and writes to docs/benchmarks.md: the full backup's time and size,
an incremental set of the unchanged home, one after a 1 % change (100 entities edited, 10 MB
of new pictures), the restore drill, and the restore into a new home (the RTO). The RPO is
the incremental schedule's interval plus an incremental's duration under that change.

    .venv/bin/python benchmarks/backup.py [--entities 10000] [--blob-mb 1024]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from benchmarks.entities_api import load  # noqa: E402
from benchmarks.report import write_section  # noqa: E402
from lifeos import backup  # noqa: E402
from lifeos.blobs import write_blob  # noqa: E402
from lifeos.db import migrate  # noqa: E402
from lifeos.db.engine import dispose_engines, session_scope  # noqa: E402
from lifeos.settings import Settings  # noqa: E402
from lifeos.store import EntityStore  # noqa: E402

T = TypeVar("T")
BLOB_MB = 5  # each picture
INTERVAL_MIN = 60  # the incremental schedule (pipelines/backups.py)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def replication_lag(s: Settings, ids: list[str], *, seconds: int) -> list[float]:
    """Litestream replicating while 10 edits a second land: every 2 s, how old the newest
    restorable point is (seconds since the replica's last transaction file, whose times have
    a resolution of one second)."""
    from lifeos.backup import replica

    proc = subprocess.Popen(  # noqa: S603
        replica.replicate_command(s), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            kind, entity_id = ids[n % len(ids)].split("/")
            with session_scope(s.database_url) as session:
                EntityStore(session).update(kind, entity_id, {"data": {"description": f"v{n}"}})
            n += 1
            time.sleep(0.1)

    writer = threading.Thread(target=write, daemon=True)
    lags: list[float] = []
    try:
        time.sleep(5)  # its first snapshot of the database
        writer.start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(2)
            points = replica.points(s)
            if points:
                lags.append(max(0.0, (datetime.now(UTC) - points[-1]).total_seconds()))
    finally:
        stop.set()
        writer.join(timeout=10)
        proc.terminate()
        proc.wait(timeout=30)
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--blob-mb", type=int, default=1024)
    parser.add_argument("--rpo-seconds", type=int, default=30, help="the steady write load")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lifeos-bench-backup-"))
    try:
        s = Settings(
            home=tmp / "home",
            backup_target=str(tmp / "vault"),
            backup_passphrase=SecretStr("benchmark passphrase"),
        )
        migrate.upgrade(s.database_url)
        ids = load(s.database_url, args.entities)
        for _ in range(args.blob_mb // BLOB_MB):
            write_blob(s, os.urandom(BLOB_MB * 1_000_000), ".png")
        home_bytes = folder_bytes(s.home)
        print(f"home: {args.entities:,} entities, {home_bytes / 1e9:.2f} GB")

        full, full_s = timed(backup.run_backup, s, "full")
        vault_after_full = folder_bytes(tmp / "vault")
        same, same_s = timed(backup.run_backup, s, "incremental")
        with session_scope(s.database_url) as session:  # a 1 % change
            store = EntityStore(session)
            for ref in ids[: args.entities // 100]:
                kind, entity_id = ref.split("/")
                store.update(kind, entity_id, {"data": {"description": "edited since"}})
        for _ in range(max(1, args.blob_mb // 100 // BLOB_MB)):
            write_blob(s, os.urandom(BLOB_MB * 1_000_000), ".png")
        changed, changed_s = timed(backup.run_backup, s, "incremental")
        vault_bytes = folder_bytes(tmp / "vault")
        report, verify_s = timed(backup.verify, s, changed.id)
        assert report.ok, report.checks
        _, restore_s = timed(backup.restore, s, changed.id, tmp / "restored")
        lags = replication_lag(s, ids, seconds=args.rpo_seconds)
        dispose_engines()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def row(what: str, seconds: float, info: backup.SetInfo | None, note: str = "") -> str:
        size = f"{info.bytes / 1e6:,.0f} MB" if info else ""
        new = f"{info.new_bytes / 1e6:,.1f} MB" if info else ""
        return f"| {what} | {seconds:.1f} | {size} | {new} | {note} |"

    rto = restore_s
    rpo_min = INTERVAL_MIN + changed_s / 60
    lines = [
        "## Backup and restore (`benchmarks/backup.py`)",
        "",
        f"A home of {args.entities:,} entities and {home_bytes / 1e9:.2f} GB (blobs of "
        f"{BLOB_MB} MB random bytes), on SQLite, encrypted (age), to a folder target on the "
        "same disk.",
        "",
        "| step | seconds | set size | written to the target | |",
        "|---|---|---|---|---|",
        row("full backup", full_s, full, f"target {vault_after_full / 1e9:.2f} GB"),
        row("incremental, nothing changed", same_s, same),
        row(
            "incremental after a 1 % change",
            changed_s,
            changed,
            f"{args.entities // 100} entities edited, "
            f"{max(1, args.blob_mb // 100 // BLOB_MB) * BLOB_MB} MB of new blobs",
        ),
        row("verify (restore drill + checks)", verify_s, None),
        row("restore into a new home", restore_s, None, "the RTO"),
        "",
        f"Target after three sets: {vault_bytes / 1e9:.2f} GB for "
        f"{(full.bytes + same.bytes + changed.bytes) / 1e9:.2f} GB of sets (each file once).",
        f"**RTO {rto:.1f} s** (goal < 300 s).",
        "",
        f"**RPO with Litestream: the newest restorable point was at most {max(lags):.1f} s "
        f"old** (median {statistics.median(lags):.1f} s; sampled every 2 s over "
        f"{args.rpo_seconds} s of 10 edits a second; the replica's times are whole seconds). "
        f"Without it the RPO is the incremental schedule's: {rpo_min:.0f} min "
        f"({INTERVAL_MIN} min + {changed_s:.0f} s for a set after a 1 % change). Goal < 1 h.",
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section("backup", "\n".join(lines))


if __name__ == "__main__":
    main()
