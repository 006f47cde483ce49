"""Backup sets: everything a home needs to come back (the library DB, `blobs/`, the LanceDB
tables, Dagster's storage, `configs/`), taken consistently while the app runs, stored in a
vault (`lifeos.backup.vault`) once per distinct file, restored into a new home, verified by
restoring into a scratch one, and pruned by age.

- **DB**: SQLite through its online backup API; Postgres through `pg_dump` (plain SQL,
  gzipped without a timestamp, so an unchanged library dumps to the same bytes) inside the
  same REPEATABLE READ snapshot the row counts are read in (so the manifest's counts are
  exactly the dump's), restored with `psql` in one transaction. On Postgres the dump holds
  Dagster's tables too.
- **LanceDB**: every table tagged `lifeos-backup-<set>` and copied while the corpora's write
  lock is held (`VectorStore.writing`): no ingestion can interleave, so a restore never mixes
  versions. Restore returns each table to its tagged version.
- **Dagster on SQLite**: each of its databases through the online backup API, its other
  files (compute logs) as they are.
- **Incremental**: a file whose size and mtime match the last backup's is not read again,
  and an object the vault already holds is not written again; a *full* backup re-reads
  every file and checks the vault's listing. Both make a complete, self-standing set.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.engine import make_url

from lifeos.backup import replica
from lifeos.backup.vault import Sealer, Vault
from lifeos.db import migrate
from lifeos.db.engine import dispose_engines
from lifeos.errors import BackupError, NotFound
from lifeos.security.roles import Role, require
from lifeos.settings import Settings
from lifeos.transfer import sqlite_copy

FORMAT = 1  # of the manifest; a newer one is refused
TAG_PREFIX = "lifeos-backup-"
DB_FILE, PG_DUMP = "lifeos.db", "library.sql.gz"
STALE_AFTER = timedelta(hours=6)  # an unfinished set older than this was interrupted
Kind = Literal["full", "incremental"]
# Folders of the home kept as they are: content-addressed files (pictures, PDFs) and the
# rulebooks' page renders and extraction artifacts. Not kept: logs, exports, the inbox.
HOME_TREES = ("blobs", "rulebooks")


class FileEntry(BaseModel):
    path: (
        str  # in the home: lifeos.db, blobs/…, rulebooks/…, lancedb/…, dagster/storage/…, configs/…
    )
    size: int
    sha256: str
    object: str


class TableVersion(BaseModel):
    version: int
    rows: int
    tag: str


class Manifest(BaseModel):
    format: int = FORMAT
    id: str
    kind: Kind
    created_at: datetime
    finished_at: datetime
    app_version: str
    schema_revision: str | None
    backend: str
    key_id: str | None
    tables: dict[str, int]  # rows per table of the library DB (Dagster's too on Postgres)
    lancedb: dict[str, TableVersion] = Field(default_factory=dict)
    files: list[FileEntry]


class SetInfo(BaseModel):
    """What `list` shows of a set, read without the key."""

    id: str
    kind: Kind
    created_at: datetime
    complete: bool
    files: int = 0
    bytes: int = 0
    new_bytes: int = 0  # written to the vault by this backup (the rest was there already)
    duration_s: float = 0.0
    key_id: str | None = None
    encrypted: bool = False
    verified_at: datetime | None = None
    problem: str | None = None  # why an incomplete set is not restorable


class VerifyReport(BaseModel):
    id: str
    ok: bool
    checks: dict[str, str]  # check -> "ok" or what failed
    duration_s: float


def app_version() -> str:
    try:
        return version("lifeos-workbench")
    except PackageNotFoundError:  # a checkout that is not installed
        return "0+unknown"


def vault_for(settings: Settings) -> Vault:
    return Vault(settings.backup_target or str(settings.home.resolve() / "backups"))


def sealer_for(
    settings: Settings, vault: Vault, *, create: bool = False, key_id: str | None = None
) -> Sealer:
    passphrase = settings.backup_passphrase
    return vault.sealer(
        passphrase=passphrase.get_secret_value() if passphrase else None,
        key_file=settings.backup_key_file,
        create=create,
        key_id=key_id,
    )


# ---- taking a backup ---------------------------------------------------------------------


def run_backup(settings: Settings, kind: Kind = "incremental") -> SetInfo:
    """Take one backup set of the home and the library DB; returns what `list` shows."""
    require(Role.admin, "taking a backup")
    if kind not in ("full", "incremental"):
        raise BackupError(f"a backup is full or incremental, not {kind!r}")
    started = time.monotonic()
    vault = vault_for(settings)
    sealer = sealer_for(settings, vault, create=True)
    created = datetime.now(UTC)
    stamp = f"{created:%Y%m%dT%H%M%S}{created.microsecond // 1000:03d}Z"  # sorts by time
    set_id = f"{stamp}-{kind}-{secrets.token_hex(2)}"
    vault.write_set_file(
        set_id, "started.json", _json({"id": set_id, "kind": kind, "created_at": created})
    )
    writer = _Writer(settings, vault, sealer, full=kind == "full")
    settings.home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.home, prefix=".backup-") as tmp:
        staging = Path(tmp)
        tables, revision = _snapshot_db(settings, staging, writer)
        if settings.is_sqlite:
            _snapshot_dagster(settings, staging, writer)
        lancedb = _snapshot_lancedb(settings, set_id, writer)
        for tree in HOME_TREES:
            writer.add_tree(settings.home.resolve() / tree, tree, stable=True)
        writer.add_tree(settings.config_dir, "configs", stable=False)
    manifest = Manifest(
        id=set_id,
        kind=kind,
        created_at=created,
        finished_at=datetime.now(UTC),
        app_version=app_version(),
        schema_revision=revision,
        backend="sqlite" if settings.is_sqlite else "postgresql",
        key_id=sealer.key_id,
        tables=tables,
        lancedb=lancedb,
        files=writer.entries,
    )
    info = SetInfo(
        id=set_id,
        kind=kind,
        created_at=created,
        complete=True,
        files=len(writer.entries),
        bytes=sum(e.size for e in writer.entries),
        new_bytes=writer.new_bytes,
        duration_s=round(time.monotonic() - started, 2),
        key_id=sealer.key_id,
        encrypted=sealer.encrypted,
    )
    vault.write_set_file(set_id, "objects.txt", "\n".join(sorted(writer.names)).encode())
    vault.write_set_file(set_id, "summary.json", info.model_dump_json().encode())
    # the manifest last: a set is complete exactly when it has one
    body = sealer.seal(manifest.model_dump_json().encode())
    vault.write_set_file(set_id, _manifest_name(sealer.encrypted), body)
    writer.save_hashes()
    return info


def _manifest_name(encrypted: bool) -> str:
    return "manifest.age" if encrypted else "manifest.json"


class _Writer:
    """Puts files into the vault once each, remembering (size, mtime) → sha256 of stable
    files between backups so an incremental one reads only what changed."""

    def __init__(self, settings: Settings, vault: Vault, sealer: Sealer, *, full: bool) -> None:
        self.vault, self.sealer, self.full = vault, sealer, full
        self.entries: list[FileEntry] = []
        self.names: set[str] = set()
        self.new_bytes = 0
        self.home = settings.home.resolve()
        self.hash_file = self.home / ".backup-hashes.json"
        self.hashes: dict[str, list[Any]] = {}
        if not full and self.hash_file.exists():
            with suppress(ValueError, OSError):
                self.hashes = json.loads(self.hash_file.read_text())
        self.seen: dict[str, list[Any]] = {}
        # what the vault holds: its listing for a full backup (checked), else what the
        # complete sets name (trusted)
        self.present = vault.object_names() if full else _named_objects(vault)

    def add(self, logical: str, path: Path, *, stable: bool) -> None:
        st = path.stat()
        key = str(path.resolve())
        cached = self.hashes.get(key) if stable else None
        data: bytes | None = None
        if cached and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
            sha, size = cached[2], st.st_size
        else:
            data = path.read_bytes()  # hashed and stored from the same bytes
            sha, size = hashlib.sha256(data).hexdigest(), len(data)
        if stable:
            self.seen[key] = [size, st.st_mtime_ns, sha]
        name = self.sealer.name(sha)
        if name not in self.present:
            if data is None:
                data = path.read_bytes()
            self.vault.put_object(name, self.sealer.seal(data))
            self.present.add(name)
            self.new_bytes += size
        self.names.add(name)
        self.entries.append(FileEntry(path=logical, size=size, sha256=sha, object=name))

    def add_tree(self, root: Path, prefix: str, *, stable: bool) -> None:
        if not root.is_dir():
            return
        for path in sorted(root.rglob("*")):
            if path.is_file() and not _skipped(path):
                self.add(f"{prefix}/{path.relative_to(root).as_posix()}", path, stable=stable)

    def save_hashes(self) -> None:
        tmp = self.hash_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.seen))
        tmp.replace(self.hash_file)


def _skipped(path: Path) -> bool:
    """Files that are not content: temporaries of writers in progress, lock files."""
    name = path.name
    return name.endswith((".tmp", ".lock")) or ".tmp-" in name or name.startswith(".")


def _named_objects(vault: Vault) -> set[str]:
    names: set[str] = set()
    for set_id in vault.set_ids():
        raw = vault.read(set_id, "objects.txt")
        if raw is not None and _has_manifest(vault, set_id):
            names.update(n for n in raw.decode().split("\n") if n)
    return names


def _has_manifest(vault: Vault, set_id: str) -> bool:
    return any(vault.read(set_id, n) is not None for n in ("manifest.age", "manifest.json"))


def _snapshot_db(
    settings: Settings, staging: Path, writer: _Writer
) -> tuple[dict[str, int], str | None]:
    url = settings.database_url
    if settings.is_sqlite:
        copy = staging / DB_FILE
        sqlite_copy(Path(make_url(url).database or ""), copy)
        tables, revision = _sqlite_counts(copy)
        writer.add(DB_FILE, copy, stable=False)
        return tables, revision
    return _pg_dump(url, staging, writer)


def _sqlite_counts(path: Path) -> tuple[dict[str, int], str | None]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        counts = {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}  # noqa: S608  # nosec B608 - names from sqlite_master
        revision = None
        if migrate.VERSION_TABLE in names:
            row = conn.execute(f"SELECT version_num FROM {migrate.VERSION_TABLE}").fetchone()  # noqa: S608  # nosec B608 - a constant
            revision = row[0] if row else None
        return dict(sorted(counts.items())), revision
    finally:
        conn.close()


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_dump(url: str, staging: Path, writer: _Writer) -> tuple[dict[str, int], str | None]:
    """Counts and dump from one snapshot: the counting transaction exports it and stays open
    while `pg_dump --snapshot` reads it."""
    import psycopg

    if not shutil.which("pg_dump"):
        raise BackupError("pg_dump is not on PATH: install the PostgreSQL client tools")
    dump = staging / PG_DUMP
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
        names = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        counts = {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}  # type: ignore[index]  # noqa: S608  # nosec B608 - names from pg_tables
        revision = None
        if migrate.VERSION_TABLE in names:
            row = conn.execute(f"SELECT version_num FROM {migrate.VERSION_TABLE}").fetchone()  # noqa: S608  # nosec B608 - a constant
            revision = row[0] if row else None
        sql = staging / "library.sql"
        _run(
            [
                "pg_dump",
                "--format=plain",  # the same bytes for the same data: stored once
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                f"--restrict-key={_restrict_key(writer.home)}",
                f"--snapshot={snapshot[0]}",  # type: ignore[index]
                f"--file={sql}",
                _no_password(url),
            ],
            what="pg_dump",
            url=url,
        )
        with sql.open("rb") as src, gzip.GzipFile(dump, "wb", mtime=0) as out:
            shutil.copyfileobj(src, out)
        sql.unlink()
        conn.rollback()
    writer.add(PG_DUMP, dump, stable=False)
    return dict(sorted(counts.items())), revision


def _restrict_key(home: Path) -> str:
    """pg_dump's `\\restrict` key, made once per home (a new random one each dump would
    make every dump of an unchanged library new bytes)."""
    path = home / ".backup-restrict-key"
    key = path.read_text().strip() if path.exists() else ""
    if not key.isalnum():  # pg_dump takes letters and digits only
        key = secrets.token_hex(24)
        path.touch(mode=0o600)
        path.write_text(key)
    return key


def _snapshot_dagster(settings: Settings, staging: Path, writer: _Writer) -> None:
    storage = settings.dagster_home / "storage"
    if not storage.is_dir():
        return
    for path in sorted(storage.rglob("*")):
        if not path.is_file() or _skipped(path) or path.name.endswith(("-wal", "-shm")):
            continue
        logical = f"dagster/storage/{path.relative_to(storage).as_posix()}"
        if path.suffix == ".db":
            copy = staging / "dagster" / path.relative_to(storage)
            copy.parent.mkdir(parents=True, exist_ok=True)
            sqlite_copy(path, copy)
            writer.add(logical, copy, stable=False)
        else:
            writer.add(logical, path, stable=False)


def _snapshot_lancedb(settings: Settings, set_id: str, writer: _Writer) -> dict[str, TableVersion]:
    root = settings.lancedb_dir
    if not root.is_dir():
        return {}
    from lifeos.vectors import VectorStore

    store = VectorStore(root)
    tag = TAG_PREFIX + set_id
    out: dict[str, TableVersion] = {}
    with store.writing():  # no ingestion between the tags and the last copied file
        for name in store.tables():
            table = store.db.open_table(name)
            table.tags.create(tag, table.version)
            out[name] = TableVersion(version=table.version, rows=table.count_rows(), tag=tag)
        writer.add_tree(root, "lancedb", stable=True)
    return out


# ---- reading sets ------------------------------------------------------------------------


def list_sets(settings: Settings) -> list[SetInfo]:
    """Every set in the vault, newest first; unfinished ones say why they cannot be used."""
    require(Role.admin, "listing backups")
    vault = vault_for(settings)
    out: list[SetInfo] = []
    now = datetime.now(UTC)
    for set_id in vault.set_ids():
        out.append(_info(vault, set_id, now))
    return sorted(out, key=lambda s: (s.created_at, s.id), reverse=True)


def _info(vault: Vault, set_id: str, now: datetime) -> SetInfo:
    summary = vault.read_json(set_id, "summary.json")
    verified = vault.read_json(set_id, "verified.json")
    if summary is not None and _has_manifest(vault, set_id):
        info = SetInfo.model_validate(summary)
        if verified and verified.get("ok"):
            info.verified_at = datetime.fromisoformat(verified["at"])
        return info
    started = vault.read_json(set_id, "started.json") or {}
    created = _parse_time(started.get("created_at")) or now
    kind = started.get("kind") if started.get("kind") in ("full", "incremental") else "full"
    running = now - created < STALE_AFTER
    return SetInfo(
        id=set_id,
        kind=kind,
        created_at=created,
        complete=False,
        problem="in progress (no manifest yet)"
        if running
        else "interrupted: it never wrote its manifest, so it cannot be restored",
    )


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def resolve_set(settings: Settings, set_id: str | None) -> str:
    """A set's id, `latest` or None for the newest complete set."""
    sets = list_sets(settings)
    if set_id in (None, "", "latest"):
        complete = [s for s in sets if s.complete]
        if not complete:
            raise BackupError(f"no complete backup in {vault_for(settings).url}")
        return complete[0].id
    if set_id not in {s.id for s in sets}:
        raise NotFound(f"no backup {set_id!r} in {vault_for(settings).url}")
    return str(set_id)


def load_manifest(settings: Settings, set_id: str) -> tuple[Manifest, Sealer]:
    """The set's manifest, decrypted and checked: complete, a format and schema this
    version knows, the right key."""
    vault = vault_for(settings)
    summary = vault.read_json(set_id, "summary.json") or {}
    encrypted = vault.read(set_id, "manifest.age")
    raw = encrypted if encrypted is not None else vault.read(set_id, "manifest.json")
    if raw is None:
        raise BackupError(
            f"backup {set_id} is incomplete: it was interrupted before its manifest was written"
        )
    key_id = summary.get("key_id")
    if encrypted is not None:
        sealer = sealer_for(settings, vault, key_id=key_id)
        if not sealer.encrypted:
            raise BackupError(
                f"backup {set_id} is encrypted (key {key_id}): set LIFEOS_BACKUP_PASSPHRASE "
                "or LIFEOS_BACKUP_KEY_FILE"
            )
        if key_id and sealer.key_id != key_id:
            raise BackupError(
                f"backup {set_id} was made with key {key_id}, not with yours ({sealer.key_id})"
            )
        raw = sealer.open(raw, f"the manifest of {set_id}")
    else:
        sealer = Sealer(None)
    try:
        data = json.loads(raw)
    except ValueError:
        raise BackupError(f"the manifest of {set_id} is damaged") from None
    if isinstance(data, dict) and int(data.get("format", 0)) > FORMAT:
        raise BackupError(
            f"backup {set_id} has manifest format {data['format']}; this Life-OS reads up to "
            f"{FORMAT}: upgrade Life-OS to restore it"
        )
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise BackupError(
            f"the manifest of {set_id} is damaged ({exc.error_count()} errors)"
        ) from None
    if manifest.schema_revision and not migrate.knows_revision(manifest.schema_revision):
        raise BackupError(
            f"backup {set_id} holds schema revision {manifest.schema_revision}, newer than this "
            f"Life-OS ({migrate.head_revision()}): upgrade Life-OS to restore it"
        )
    return manifest, sealer


# ---- restoring ---------------------------------------------------------------------------


def restore(
    settings: Settings,
    set_id: str | None,
    into: Path,
    *,
    database_url: str | None = None,
    replace: bool = False,
    at: datetime | None = None,
) -> Manifest:
    """Restore a set into the home `into` (a new, empty folder unless `replace`: the folder
    there is then kept beside it as `<into>.before-restore-<time>`). On Postgres the dump goes
    into `database_url`. Every file is fetched and checked before anything is moved: a
    damaged, incomplete or foreign set changes nothing.

    `at` (SQLite): the database as it was then, from the Litestream replica
    (`lifeos.backup.replica`), with the files and indexes of the last set taken before it
    and every blob of the newest set."""
    require(Role.admin, "restoring a backup")
    if at is not None:
        if set_id not in (None, "", "latest"):
            raise BackupError("restore a set, or the library as it was at a time: not both")
        set_id = _set_before(settings, at)
    set_id = resolve_set(settings, set_id)
    manifest, sealer = load_manifest(settings, set_id)
    if at is not None and manifest.backend != "sqlite":
        raise BackupError("a restore to a point in time is for SQLite libraries (Litestream)")
    into = Path(into).resolve()
    if manifest.backend == "postgresql" and not database_url:
        raise BackupError("this backup is of a Postgres library: give the database to restore into")
    if manifest.backend == "sqlite" and database_url and not database_url.startswith("sqlite"):
        raise BackupError("this backup is of a SQLite library; it restores into a home folder")
    occupied = into.exists() and any(into.iterdir())
    if occupied and not replace:
        raise BackupError(f"{into} is not empty: restore into a new folder, or replace it")
    into.parent.mkdir(parents=True, exist_ok=True)
    staging = into.parent / f".{into.name}.restoring-{secrets.token_hex(3)}"
    try:
        fetch(settings, manifest, sealer, staging)
        if at is not None:
            _newer_blobs(settings, manifest, staging)
            replica.restore_database(settings, at, staging / DB_FILE)
        if manifest.backend == "postgresql":
            _pg_restore(staging / PG_DUMP, str(database_url))
            (staging / PG_DUMP).unlink()
        if occupied:
            into.rename(
                into.parent / f"{into.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%S}"
            )
        elif into.exists():
            into.rmdir()
        staging.rename(into)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _return_tables_to(into / "lancedb", manifest)
    target_url = database_url or f"sqlite:///{into / DB_FILE}"
    dispose_engines()
    migrate.upgrade(target_url)  # a backup of an older schema comes up to this one's
    return manifest


def restore_path(settings: Settings, into: str) -> Path:
    """Where a restore asked for over the API or the studio may go: inside the restore root
    (`LIFEOS_BACKUP_RESTORE_ROOT`, by default the folder that holds the home), a relative
    path taken from there. The CLI, run by someone on the machine, restores anywhere."""
    root = (settings.backup_restore_root or settings.home.resolve().parent).resolve()
    if not into.strip():
        raise BackupError("name a new folder to restore into")
    target = (root / into.strip()).resolve()
    if not target.is_relative_to(root) or target == root:
        raise BackupError(f"restore into a new folder inside {root}, not {into.strip()!r}")
    return target


def _set_before(settings: Settings, at: datetime) -> str:
    """The last complete set taken at or before `at` (else the first one after)."""
    complete = [s for s in list_sets(settings) if s.complete]
    if not complete:
        raise BackupError(f"no complete backup in {vault_for(settings).url}")
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    before = [s for s in complete if s.created_at <= at]
    return (before[0] if before else complete[-1]).id


def _newer_blobs(settings: Settings, base: Manifest, staging: Path) -> None:
    """The blobs of the newest set that `base` lacks: a database of a later moment than its
    set may name them (they are content-addressed: an extra one harms nothing)."""
    newest_id = resolve_set(settings, None)
    if newest_id == base.id:
        return
    newest, sealer = load_manifest(settings, newest_id)
    have = {e.path for e in base.files}
    extra = [e for e in newest.files if e.path.startswith("blobs/") and e.path not in have]
    fetch(settings, newest.model_copy(update={"files": extra}), sealer, staging)


def fetch(settings: Settings, manifest: Manifest, sealer: Sealer, staging: Path) -> None:
    """Every file of the set into `staging`, each checked against its size and sha256."""
    vault = vault_for(settings)
    bad: list[str] = []
    for entry in manifest.files:
        path = staging / entry.path
        if ".." in Path(entry.path).parts or Path(entry.path).is_absolute():
            raise BackupError(f"the manifest of {manifest.id} names a path outside the home")
        try:
            data = sealer.open(vault.get_object(entry.object), entry.path)
        except BackupError as exc:
            bad.append(f"{entry.path}: {exc}")
            continue
        if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
            bad.append(f"{entry.path}: its bytes do not match the manifest (damaged)")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise BackupError(f"backup {manifest.id} cannot be restored: {shown}")


def _pg_restore(dump: Path, url: str) -> None:
    """The dump into `url` in one transaction: all of it or, on any error, nothing."""
    if not shutil.which("psql"):
        raise BackupError("psql is not on PATH: install the PostgreSQL client tools")
    sql = dump.with_suffix("")
    try:
        with gzip.open(dump, "rb") as src, sql.open("wb") as out:
            shutil.copyfileobj(src, out)
    except (OSError, EOFError) as exc:
        raise BackupError(f"the database dump is damaged ({exc})") from None
    dispose_engines()
    _run(
        [
            "psql",
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={_no_password(url)}",
            f"--file={sql}",
        ],
        what="psql",
        url=url,
    )
    sql.unlink()


def _return_tables_to(root: Path, manifest: Manifest) -> None:
    """Each LanceDB table back at the version the set tagged."""
    if not manifest.lancedb:
        return
    from lifeos.vectors import VectorStore

    store = VectorStore(root)
    for name, at in manifest.lancedb.items():
        table = store.db.open_table(name)
        if table.version != at.version:
            table.checkout(at.version)
            table.restore()


def _no_password(url: str) -> str:
    return make_url(_libpq(url)).set(password=None).render_as_string(hide_password=False)


def _run(cmd: list[str], *, what: str, url: str | None = None) -> None:
    """Run a PostgreSQL client; the password goes in its environment (PGPASSWORD), not on
    the command line where every local user can read it."""
    env = dict(os.environ)
    password = make_url(url).password if url else None
    if password:
        env["PGPASSWORD"] = str(password)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)  # noqa: S603  # nosec B603 - fixed programs, no shell
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {lines[-1] if lines else proc.returncode}")


# ---- verifying ---------------------------------------------------------------------------


def verify(settings: Settings, set_id: str | None = None) -> VerifyReport:
    """A restore drill: the set restored into a scratch home (and, on Postgres, a scratch
    database), then its integrity, every table's row count against the manifest, every
    file's sha256 (checked while fetching) and one vector search per LanceDB table. The
    result is written beside the set (`verified.json`) and shown by `list` and `/metrics`."""
    require(Role.admin, "verifying a backup")
    started = time.monotonic()
    set_id = resolve_set(settings, set_id)
    checks: dict[str, str] = {}
    try:
        manifest, _ = load_manifest(settings, set_id)
    except BackupError as exc:
        checks["manifest"] = str(exc)
        return _verified(settings, set_id, checks, started)
    checks["manifest"] = "ok"
    with (
        tempfile.TemporaryDirectory(prefix="lifeos-verify-") as tmp,
        _scratch_db(settings, manifest) as scratch_url,
    ):
        home = Path(tmp) / "home"
        try:
            restore(settings, set_id, home, database_url=scratch_url)
        except BackupError as exc:
            checks["files"] = str(exc)
            return _verified(settings, set_id, checks, started)
        checks["files"] = f"ok ({len(manifest.files)} files, sha256 checked)"
        url = scratch_url or f"sqlite:///{home / DB_FILE}"
        checks.update(_check_db(url, manifest))
        checks.update(_check_vectors(home / "lancedb", manifest))
    return _verified(settings, set_id, checks, started)


@contextmanager
def _scratch_db(settings: Settings, manifest: Manifest) -> Iterator[str | None]:
    """A throwaway Postgres database beside the library's, dropped afterwards."""
    if manifest.backend != "postgresql":
        yield None
        return
    import psycopg

    name = f"lifeos_verify_{secrets.token_hex(4)}"
    admin = _libpq(make_url(settings.database_url).set(database="postgres").render_as_string(False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(settings.database_url).set(database=name).render_as_string(False)
    finally:
        dispose_engines()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _check_db(url: str, manifest: Manifest) -> dict[str, str]:
    import sqlalchemy as sa

    checks: dict[str, str] = {}
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if url.startswith("sqlite"):
                result = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
                checks["integrity"] = "ok" if result == "ok" else f"integrity_check: {result}"
            wrong = []
            for table, rows in manifest.tables.items():
                if table == migrate.VERSION_TABLE:
                    continue  # the restore brought it up to this version's head
                found = conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar()  # noqa: S608  # nosec B608 - names from the manifest's own tables
                if found != rows:
                    wrong.append(f"{table}: {found} rows, the manifest says {rows}")
            checks["rows"] = (
                f"ok ({len(manifest.tables)} tables)" if not wrong else "; ".join(wrong[:5])
            )
    except sa.exc.SQLAlchemyError as exc:
        checks["rows"] = f"the restored database cannot be read ({exc.__class__.__name__})"
    finally:
        engine.dispose()
    return checks


def _check_vectors(root: Path, manifest: Manifest) -> dict[str, str]:
    """Each table at its version with its rows, and a search for its first row's own vector
    finding that row first."""
    if not manifest.lancedb:
        return {"vectors": "ok (no tables)"}
    from lifeos.vectors import VectorStore

    store = VectorStore(root)
    wrong = []
    for name, at in manifest.lancedb.items():
        table = store.db.open_table(name)
        if table.count_rows() != at.rows:
            wrong.append(f"{name}: {table.count_rows()} rows, the manifest says {at.rows}")
            continue
        if not at.rows:
            continue
        first = table.search().limit(1).to_list()[0]
        hit = table.search(first["vector"]).limit(1).to_list()
        if not hit or hit[0].get("_distance", 1.0) > 1e-4:
            wrong.append(f"{name}: a search for a stored vector does not find it")
    return {"vectors": f"ok ({len(manifest.lancedb)} tables)" if not wrong else "; ".join(wrong)}


def _verified(
    settings: Settings, set_id: str, checks: dict[str, str], started: float
) -> VerifyReport:
    ok = all(v.startswith("ok") for v in checks.values())
    report = VerifyReport(
        id=set_id, ok=ok, checks=checks, duration_s=round(time.monotonic() - started, 2)
    )
    record = {"at": datetime.now(UTC).isoformat(), **report.model_dump()}
    with suppress(OSError):  # a read-only vault still answers the drill
        vault_for(settings).write_set_file(set_id, "verified.json", _json(record))
    return report


# ---- pruning -----------------------------------------------------------------------------


class PruneReport(BaseModel):
    removed: list[str]
    kept: list[str]
    objects_removed: int
    bytes_freed: int


def prune(
    settings: Settings,
    *,
    keep_full: int | None = None,
    keep_incremental_days: float | None = None,
    now: datetime | None = None,
) -> PruneReport:
    """Keep the newest `keep_full` full sets and the incremental sets younger than
    `keep_incremental_days` (never the newest complete set), remove interrupted sets, then
    the objects no kept set names. While a backup is in progress no object is removed."""
    require(Role.admin, "pruning backups")
    keep_full = settings.backup_keep_full if keep_full is None else keep_full
    days = (
        settings.backup_keep_incremental_days
        if keep_incremental_days is None
        else keep_incremental_days
    )
    now = now or datetime.now(UTC)
    vault = vault_for(settings)
    sets = sorted(
        (_info(vault, s, now) for s in vault.set_ids()),
        key=lambda s: (s.created_at, s.id),
        reverse=True,
    )
    complete = [s for s in sets if s.complete]
    fulls = [s for s in complete if s.kind == "full"]
    keep = {s.id for s in fulls[:keep_full]}
    keep |= {
        s.id
        for s in complete
        if s.kind == "incremental" and now - s.created_at < timedelta(days=days)
    }
    if complete:
        keep.add(complete[0].id)
    running = [
        s for s in sets if not s.complete and s.problem and s.problem.startswith("in progress")
    ]
    keep |= {s.id for s in running}
    removed = [s.id for s in sets if s.id not in keep]
    for set_id in removed:
        vault.remove_set(set_id)
    _drop_tags(settings, {TAG_PREFIX + s for s in removed})
    objects_removed = freed = 0
    if not running:
        named = _named_objects(vault)
        orphans = vault.object_names() - named
        for name in orphans:
            with suppress(FileNotFoundError):
                freed += int(vault.fs.size(vault.object_path(name)))
        vault.remove_objects(orphans)
        objects_removed = len(orphans)
    return PruneReport(
        removed=removed,
        kept=sorted(keep - set(removed), reverse=True),
        objects_removed=objects_removed,
        bytes_freed=freed,
    )


def _drop_tags(settings: Settings, tags: set[str]) -> None:
    """Let LanceDB clean up the versions only pruned sets held."""
    if not tags or not settings.lancedb_dir.is_dir():
        return
    from lifeos.vectors import VectorStore

    store = VectorStore(settings.lancedb_dir)
    with store.writing():
        for name in store.tables():
            table = store.db.open_table(name)
            for tag in set(table.tags.list()) & tags:
                table.tags.delete(tag)


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, default=str).encode()


def age_of(info: SetInfo, now: datetime | None = None) -> float:
    return ((now or datetime.now(UTC)) - info.created_at).total_seconds()
