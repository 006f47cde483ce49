"""Export/import and backup/restore: round trips, and bad files that change nothing."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from lifeos import transfer
from lifeos.db.engine import session_scope
from lifeos.demo import load_demo
from lifeos.errors import BackupError, Conflict, LifeOSError, UnknownKind, ValidationFailed
from lifeos.store import EntityStore
from tests.conftest import table_counts


def _export(url: str) -> str:
    with session_scope(url) as session:
        return transfer.dumps_export(transfer.export_library(session))


@pytest.fixture
def demo_url(db_url: str) -> str:
    with session_scope(db_url) as session:
        load_demo(session)
        store = EntityStore(session)
        aria = store.list("character", {"q": "aria"}).items[0]
        store.update("character", aria.id, {"data": {"age": "30"}})
        zed = store.list("character", {"q": "zed"}).items[0]
        store.delete("character", zed.id)
    return db_url


def _empty_copy_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A second, empty, migrated library on the same backend."""
    from lifeos.db import migrate

    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'other.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_database("_other")
    migrate.upgrade(url)
    return url


def test_export_import_export_is_identical(
    demo_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    first = _export(demo_url)
    doc = json.loads(first)
    assert len(doc["entities"]) == 48 and len(doc["links"]) == 30
    assert any(e["deleted_at"] for e in doc["entities"])
    assert max(len(e["history"]) for e in doc["entities"]) == 2  # create + update or delete
    other = _empty_copy_url(demo_url, request, tmp_path)
    with session_scope(other) as session:
        counts = transfer.import_library(session, transfer.parse_export(doc))
    assert counts == {"entities": 48, "skipped": 0, "links": 30}
    assert _export(other) == first


def test_one_kind_export(demo_url: str) -> None:
    with session_scope(demo_url) as session:
        doc = transfer.export_library(session, "outfit")
    assert {e["kind"] for e in doc["entities"]} == {"outfit"}
    assert doc["links"] == []  # links to other kinds stay out of a one-kind export


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda d: d.update(format="something-else"), BackupError),
        (lambda d: d["entities"][5].pop("name"), BackupError),
        (lambda d: d["entities"][7].update(kind="spaceship"), UnknownKind),
        (lambda d: d["entities"][9]["data"].update(bogus=1), ValidationFailed),
        (lambda d: d["links"].append({**d["links"][0], "dst_id": "missing"}), BackupError),
        (lambda d: d["entities"].append(d["entities"][0]), BackupError),
    ],
)
def test_bad_import_imports_nothing(demo_url: str, mutate, error) -> None:  # noqa: ANN001
    doc = json.loads(_export(demo_url))
    with session_scope(demo_url) as session:
        transfer.clear_library(session)
    mutate(doc)
    before = table_counts(demo_url)
    with pytest.raises(error), session_scope(demo_url) as session:
        transfer.import_library(session, transfer.parse_export(doc))
    assert table_counts(demo_url) == before == dict.fromkeys(before, 0)


def test_import_conflicts_and_skip(demo_url: str) -> None:
    doc = transfer.parse_export(json.loads(_export(demo_url)))
    before = _export(demo_url)
    with pytest.raises(Conflict), session_scope(demo_url) as session:
        transfer.import_library(session, doc)
    with session_scope(demo_url) as session:
        assert transfer.import_library(session, doc, on_conflict="skip")["skipped"] == 48
    assert _export(demo_url) == before


@pytest.mark.parametrize(
    "content", [b"", b'{"format": "lifeos-library", "vers', b"\xff\xfe", b"[1, 2, 3]"]
)
def test_malformed_import_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(BackupError):
        transfer.read_export_file(path, max_bytes=1_000_000)


def test_import_file_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text("{" + " " * 2000 + "}")
    with pytest.raises(LifeOSError, match="over the import limit"):
        transfer.read_export_file(path, max_bytes=1000)


def test_backup_restore_roundtrip(demo_url: str, tmp_path: Path) -> None:
    path = tmp_path / "library.backup"
    fmt = transfer.backup(demo_url, path)
    assert fmt == ("sqlite" if demo_url.startswith("sqlite") else "pg_dump")
    before = _export(demo_url)
    with session_scope(demo_url) as session:
        store = EntityStore(session)
        store.create("outfit", {"name": "made after the backup"})
        for e in store.list("character").items:
            store.purge("character", e.id)
    assert _export(demo_url) != before
    assert transfer.restore(demo_url, path) == fmt
    assert _export(demo_url) == before


def test_json_backup_restore_roundtrip(demo_url: str, tmp_path: Path) -> None:
    path = tmp_path / "library.json"
    with session_scope(demo_url) as session:
        path.write_text(transfer.dumps_export(transfer.export_library(session)))
    before = _export(demo_url)
    with session_scope(demo_url) as session:
        EntityStore(session).create("outfit", {"name": "extra"})
    assert transfer.restore(demo_url, path) == "json"
    assert _export(demo_url) == before


def _corrupt_copies(good: Path, tmp_path: Path) -> list[Path]:
    data = good.read_bytes()
    truncated = tmp_path / "truncated"
    truncated.write_bytes(data[: len(data) // 3])
    garbage = tmp_path / "garbage"
    garbage.write_bytes(data[:16] + b"\x00garbage" * 2000)
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a backup")
    return [truncated, garbage, text, tmp_path / "missing"]


def test_corrupt_backup_leaves_library_unchanged(demo_url: str, tmp_path: Path) -> None:
    good = tmp_path / "good.backup"
    transfer.backup(demo_url, good)
    before = _export(demo_url)
    for bad in _corrupt_copies(good, tmp_path):
        with pytest.raises(BackupError):
            transfer.restore(demo_url, bad)
        assert _export(demo_url) == before, bad.name


def test_sqlite_backup_of_another_database_is_refused(
    sqlite_template: Path, tmp_path: Path
) -> None:
    library = tmp_path / "library.db"
    shutil.copy(sqlite_template, library)
    db_url = f"sqlite:///{library}"
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x TEXT)")
    with pytest.raises(BackupError, match="not a Life-OS library"):
        transfer.restore(db_url, other)


def test_backup_across_backends_is_refused(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "fake"
    path.write_bytes(b"PGDMP" if db_url.startswith("sqlite") else b"SQLite format 3\x00")
    with pytest.raises(BackupError, match="cannot be restored"):
        transfer.restore(db_url, path)
