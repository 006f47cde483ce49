"""Moving the library in and out: JSON export/import, and whole-database backup/restore.

Import and restore are all-or-nothing: the file is validated completely, then written in one
transaction, so a malformed, partial or corrupt file changes nothing.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from lifeos.db import migrate
from lifeos.db.engine import dispose_engines, session_scope
from lifeos.db.models import (
    ALL_TABLES,
    LIBRARY_TABLES,
    Entity,
    EntityLink,
    EntityRevision,
    EntityTag,
)
from lifeos.errors import BackupError, Conflict, LifeOSError, PayloadTooLarge, ValidationFailed
from lifeos.kinds import get_registry
from lifeos.schemas import RevisionOut
from lifeos.security.roles import Role, require
from lifeos.store import search_text

FORMAT = "lifeos-library"
FORMAT_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RevisionRecord(RevisionOut):
    """A revision as exported: the API's shape, strict about extra fields."""

    model_config = ConfigDict(extra="forbid")

    revision: int = Field(ge=1)


class EntityRecord(_Frozen):
    id: str = Field(min_length=1, max_length=36)
    kind: str
    name: str = Field(min_length=1, max_length=200)
    data: dict[str, Any]
    tags: list[str]
    favorite: bool
    revision: int = Field(ge=1)
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    history: list[RevisionRecord]


class LinkRecord(_Frozen):
    src_id: str
    relation: str
    dst_id: str
    created_at: datetime


class LibraryExport(_Frozen):
    format: Literal["lifeos-library"]
    version: Literal[1]
    entities: list[EntityRecord]
    links: list[LinkRecord]


# ---- JSON export / import --------------------------------------------------------------------


def export_library(session: Session, kind: str | None = None) -> dict[str, Any]:
    """The library (or one kind) as a JSON-ready dict; deterministic, so exports can be diffed."""
    query = sa.select(Entity).order_by(Entity.id)
    if kind is not None:
        query = query.where(Entity.kind == get_registry().get(kind).name)
    entities = list(session.scalars(query))
    ids = {e.id for e in entities}
    history: dict[str, list[RevisionRecord]] = {i: [] for i in ids}
    for rev in session.scalars(
        sa.select(EntityRevision).order_by(EntityRevision.entity_id, EntityRevision.revision)
    ):
        if rev.entity_id in ids:
            history[rev.entity_id].append(RevisionRecord.model_validate(rev, from_attributes=True))
    links = [
        LinkRecord.model_validate(link, from_attributes=True)
        for link in session.scalars(
            sa.select(EntityLink).order_by(
                EntityLink.src_id, EntityLink.relation, EntityLink.dst_id
            )
        )
        if link.src_id in ids and link.dst_id in ids
    ]
    doc = LibraryExport(
        format=FORMAT,
        version=FORMAT_VERSION,
        entities=[
            EntityRecord(
                id=e.id,
                kind=e.kind,
                name=e.name,
                data=e.data,
                tags=e.tags,
                favorite=e.favorite,
                revision=e.revision,
                created_at=e.created_at,
                updated_at=e.updated_at,
                deleted_at=e.deleted_at,
                history=history[e.id],
            )
            for e in entities
        ],
        links=links,
    )
    return doc.model_dump(mode="json")


def dumps_export(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def read_export_file(path: Path, *, max_bytes: int) -> LibraryExport:
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise PayloadTooLarge(f"{path}: {size} bytes is over the import limit of {max_bytes}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"{path}: not valid JSON ({exc})") from None
    return parse_export(raw, source=str(path))


def parse_export(raw: Any, *, source: str = "import") -> LibraryExport:
    try:
        return LibraryExport.model_validate(raw)
    except ValidationError as exc:
        err = ValidationFailed.from_pydantic(exc)
        raise BackupError(
            f"{source}: not a Life-OS library export: {err.message}", details=err.details
        ) from None


def import_library(
    session: Session, doc: LibraryExport, *, on_conflict: Literal["fail", "skip"] = "fail"
) -> dict[str, int]:
    """Write an export into the library. Validates everything before writing anything."""
    require(Role.admin, "importing a library")
    registry = get_registry()
    existing = (
        set(
            session.scalars(sa.select(Entity.id).where(Entity.id.in_([e.id for e in doc.entities])))
        )
        if doc.entities
        else set()
    )
    if existing and on_conflict == "fail":
        sample = sorted(existing)[:5]
        raise Conflict(
            f"{len(existing)} entities already exist (e.g. {', '.join(sample)}); "
            "import into an empty library or use on_conflict=skip",
            details={"existing": sample},
        )
    seen: set[str] = set()
    rows: list[Entity] = []
    for i, rec in enumerate(doc.entities):
        if rec.id in seen:
            raise BackupError(f"entity {rec.id} appears twice in the file")
        seen.add(rec.id)
        if rec.id in existing:
            continue
        spec = registry.get(rec.kind)
        try:
            data = spec.validate(rec.data)
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"entities[{i}] ({rec.kind} {rec.id}): {exc.message}", details=exc.details
            ) from None
        entity = Entity(
            id=rec.id,
            kind=rec.kind,
            name=rec.name,
            data=data,
            tags=sorted(set(rec.tags)),
            favorite=rec.favorite,
            revision=rec.revision,
            created_at=rec.created_at,
            updated_at=rec.updated_at,
            deleted_at=rec.deleted_at,
            search_text=search_text(rec.name, rec.tags, data),
        )
        entity.tag_rows = [EntityTag(tag=t) for t in entity.tags]
        rows.append(entity)
    known = seen | set(
        session.scalars(
            sa.select(Entity.id).where(
                Entity.id.in_({x for link in doc.links for x in (link.src_id, link.dst_id)} - seen)
            )
        )
    )
    for link in doc.links:
        missing = {link.src_id, link.dst_id} - known
        if missing:
            raise BackupError(
                f"link {link.src_id} -{link.relation}-> {link.dst_id} "
                f"points at unknown entities {sorted(missing)}"
            )
    session.add_all(rows)
    session.flush()
    new_ids = {e.id for e in rows}
    session.add_all(
        EntityRevision(entity_id=rec.id, **rev.model_dump())
        for rec in doc.entities
        if rec.id in new_ids
        for rev in rec.history
    )
    links = [link for link in doc.links if link.src_id in new_ids or link.dst_id in new_ids]
    session.add_all(EntityLink(**link.model_dump()) for link in links)
    session.flush()
    return {"entities": len(rows), "skipped": len(existing), "links": len(links)}


def clear_library(session: Session) -> None:
    for table in reversed(LIBRARY_TABLES):
        session.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608  # nosec B608 - fixed table names


# ---- whole-database backup / restore ---------------------------------------------------------

BackupFormat = Literal["sqlite", "pg_dump", "json"]


def backup(url: str, path: Path) -> BackupFormat:
    """Write a backup of the library DB to `path` and say which format was used."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        sqlite_copy(Path(_sqlite_path(url)), path)
        return "sqlite"
    if backend == "postgresql" and shutil.which("pg_dump"):
        tables = [f"--table={t}" for t in (*ALL_TABLES, migrate.VERSION_TABLE)]
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                *tables,
                f"--file={path}",
                _libpq_url(url),
            ],
            what="pg_dump",
        )
        return "pg_dump"
    with session_scope(url) as session:
        path.write_text(dumps_export(export_library(session)), encoding="utf-8")
    return "json"


def sqlite_copy(src: Path, dst: Path) -> None:
    """A consistent copy of a live SQLite database, through its online backup API."""
    if not src.is_file():
        raise BackupError(f"{src}: no library database to back up")
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    try:
        target = sqlite3.connect(dst)
        with target:
            source.backup(target)
        target.close()
    finally:
        source.close()


def detect_format(path: Path) -> BackupFormat:
    with Path(path).open("rb") as fh:
        head = fh.read(16)
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"PGDMP"):
        return "pg_dump"
    if head.lstrip()[:1] == b"{":
        return "json"
    raise BackupError(f"{path}: not a Life-OS backup (neither SQLite, pg_dump nor JSON export)")


def restore(url: str, path: Path, *, max_json_bytes: int = 512_000_000) -> BackupFormat:
    """Replace the library with the backup at `path`. A bad backup leaves the library as it was."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    fmt = detect_format(path)
    backend = make_url(url).get_backend_name()
    if fmt == "json":
        doc = read_export_file(path, max_bytes=max_json_bytes)
        with session_scope(url) as session:
            clear_library(session)
            import_library(session, doc)
        return fmt
    if fmt == "sqlite" and backend == "sqlite":
        _check_sqlite_backup(path)
        dispose_engines()
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(_sqlite_path(url), timeout=30)
            with dst:
                src.backup(dst)
            dst.close()
        finally:
            src.close()
        migrate.upgrade(url)
        return fmt
    if fmt == "pg_dump" and backend == "postgresql":
        if not shutil.which("pg_restore"):
            raise BackupError("pg_restore is not on PATH; restore a JSON export instead")
        _run(["pg_restore", "--list", str(path)], what="pg_restore --list", error=BackupError)
        dispose_engines()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                f"--dbname={_libpq_url(url)}",
                str(path),
            ],
            what="pg_restore",
            error=BackupError,
        )
        migrate.upgrade(url)
        return fmt
    raise BackupError(
        f"a {fmt} backup cannot be restored into a {backend} library; "
        "export/import JSON to move between databases"
    )


def _check_sqlite_backup(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{path}: the SQLite file is damaged")
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            missing = {*LIBRARY_TABLES, migrate.VERSION_TABLE} - tables
            if missing:
                raise BackupError(f"{path}: not a Life-OS library (missing {sorted(missing)})")
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a readable SQLite database ({exc})") from None


def _sqlite_path(url: str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite library cannot be backed up")
    return database


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(cmd: list[str], *, what: str, error: type[LifeOSError] = BackupError) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip().splitlines()
        raise error(f"{what} failed: {message[-1] if message else proc.returncode}")
