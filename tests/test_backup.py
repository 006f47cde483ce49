"""Backup sets: backup → wipe → restore into an empty home gives the same library (rows,
blobs, vector hits, Dagster run history), on SQLite and Postgres; incremental sets of an
unchanged home cost next to nothing; a wrong key, a damaged or missing file, a newer schema
and an interrupted backup are refused clearly and change nothing; prune keeps what the
retention says and frees the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from lifeos import backup
from lifeos.backup import vault as vault_module
from lifeos.blobs import write_blob
from lifeos.dagster_home import open_instance
from lifeos.db import migrate
from lifeos.db.engine import dispose_engines, session_scope
from lifeos.db.models import ALL_TABLES
from lifeos.errors import BackupError
from lifeos.settings import Settings
from lifeos.store import EntityStore
from lifeos.vectors import VectorStore

ROOT = Path(__file__).resolve().parents[1]
DOC = "ab" * 32
QUERIES = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.2, 0.9]]


@pytest.fixture(autouse=True)
def _fresh_keys() -> None:
    vault_module._identities.clear()  # each test's vault has its own key


@pytest.fixture
def home(settings: Settings, tmp_path: Path) -> Settings:
    """A library with entities (revisions, links, tags), blobs, a LanceDB table and a
    Dagster run, backed up encrypted to a folder vault."""
    s = settings.model_copy(
        update={
            "backup_target": str(tmp_path / "vault"),
            "backup_passphrase": SecretStr("correct horse battery"),
        }
    )
    with session_scope(s.database_url) as session:
        store = EntityStore(session)
        aria = store.create("character", {"name": "Aria", "tags": ["hero"]})
        store.update("character", aria.id, {"data": {"age": "28"}})
        cloak = store.create("clothing_item", {"name": "cloak", "tags": ["wool"]})
        store.link("character", aria.id, {"relation": "wears", "target_id": cloak.id})
    for i in range(3):
        write_blob(s, f"picture {i}".encode() * 500, ".png")
    rows = [
        {"vector": v, "text": f"passage {i}", "ordinal": i}
        for i, v in enumerate([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    ]
    VectorStore(s.lancedb_dir).replace_document("rules", DOC, rows, 3)
    return s


def _dagster_run(s: Settings) -> str:
    @dg.asset
    def backed_up_asset() -> int:
        return 1

    with open_instance(s, in_process=True) as instance:
        result = dg.materialize([backed_up_asset], instance=instance)
        assert result.success
        return result.run_id


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: sorted(map(tuple, conn.execute(sa.text(f"SELECT * FROM {t}"))), key=repr)  # noqa: S608
                for t in ALL_TABLES
            }
    finally:
        engine.dispose()


def _blobs(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _hits(root: Path) -> list[list[str]]:
    store = VectorStore(root)
    return [
        [r["text"] for r in store.vector_search("rules", q, documents=None, limit=3)]
        for q in QUERIES
    ]


def _restore_target(s: Settings, request: pytest.FixtureRequest) -> str | None:
    if s.is_sqlite:
        return None
    url = request.getfixturevalue("pg_server").create_database("_restore")
    return str(url)


def test_backup_wipe_restore_gives_the_same_library(
    home: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run_id = _dagster_run(home)
    before_rows, before_blobs = _rows(home.database_url), _blobs(home.blobs_dir)
    before_hits = _hits(home.lancedb_dir)
    info = backup.run_backup(home, "full")
    assert info.complete and info.encrypted and info.files > 5

    target_url = _restore_target(home, request)
    into = tmp_path / "new-home"
    manifest = backup.restore(home, "latest", into, database_url=target_url)
    assert manifest.id == info.id
    url = target_url or f"sqlite:///{into / 'lifeos.db'}"
    assert _rows(url) == before_rows  # entities, revisions, links, tags, ledger, ...
    assert _blobs(into / "blobs") == before_blobs
    assert _hits(into / "lancedb") == before_hits
    restored = Settings(home=into, LIFEOS_DATABASE_URL=url)
    with open_instance(restored, in_process=True) as instance:
        assert instance.get_run_by_id(run_id) is not None  # Dagster's run history came too
    assert (into / "configs" / "models.yaml").is_file()
    dispose_engines()


def test_an_incremental_set_of_an_unchanged_home_costs_next_to_nothing(home: Settings) -> None:
    first = backup.run_backup(home, "incremental")
    again = backup.run_backup(home, "incremental")
    assert first.new_bytes == first.bytes
    assert again.complete and again.files >= first.files
    assert again.new_bytes < 0.01 * again.bytes  # a LanceDB tag file, not the library
    full = backup.run_backup(home, "full")
    assert full.new_bytes < 0.01 * full.bytes  # re-read and re-hashed, but nothing new to store
    assert [s.id for s in backup.list_sets(home)] == [full.id, again.id, first.id]
    assert backup.verify(home, again.id).ok


def test_a_wrong_key_fails_clearly_and_changes_nothing(home: Settings, tmp_path: Path) -> None:
    backup.run_backup(home)
    vault_module._identities.clear()
    wrong = home.model_copy(update={"backup_passphrase": SecretStr("wrong")})
    into = tmp_path / "new-home"
    with pytest.raises(BackupError, match="passphrase does not open backup key"):
        backup.restore(wrong, None, into)
    assert not into.exists()
    none = home.model_copy(update={"backup_passphrase": None})
    with pytest.raises(BackupError, match="is encrypted"):
        backup.restore(none, None, into)
    report = backup.verify(wrong)
    assert not report.ok and "passphrase" in report.checks["manifest"]


def test_damaged_or_missing_files_are_refused_and_the_home_is_untouched(
    home: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    info = backup.run_backup(home)
    target = _restore_target(home, request)
    vault = backup.sets.vault_for(home)
    manifest, _ = backup.load_manifest(home, info.id)
    blob = next(e for e in manifest.files if e.path.startswith("blobs/"))
    path = Path(vault.object_path(blob.object))
    path.write_bytes(path.read_bytes()[:-20])  # truncated
    existing = tmp_path / "existing-home"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(BackupError, match=r"cannot be restored: blobs/.*cannot be decrypted"):
        backup.restore(home, info.id, existing, database_url=target, replace=True)
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
    assert not list(tmp_path.glob(".existing-home.restoring-*"))  # the staging is gone
    path.unlink()
    with pytest.raises(BackupError, match="is missing"):
        backup.restore(home, info.id, tmp_path / "other", database_url=target)
    report = backup.verify(home, info.id)
    assert not report.ok and "blobs/" in report.checks["files"]
    assert backup.list_sets(home)[0].verified_at is None  # a failed drill is not a verification
    with pytest.raises(BackupError, match="not empty"):
        backup.restore(home, info.id, existing, database_url=target)


def test_a_set_from_a_newer_schema_or_format_is_refused(settings: Settings, tmp_path: Path) -> None:
    s = settings.model_copy(update={"backup_target": str(tmp_path / "vault")})  # plain
    info = backup.run_backup(s)
    vault = backup.sets.vault_for(s)
    manifest = json.loads(vault.read(info.id, "manifest.json") or b"")
    vault.write_set_file(
        info.id, "manifest.json", json.dumps({**manifest, "schema_revision": "f00dface"}).encode()
    )
    with pytest.raises(BackupError, match="newer than this Life-OS"):
        backup.restore(s, info.id, tmp_path / "new-home")
    vault.write_set_file(info.id, "manifest.json", json.dumps({**manifest, "format": 99}).encode())
    with pytest.raises(BackupError, match="upgrade Life-OS"):
        backup.restore(s, info.id, tmp_path / "new-home")
    assert not (tmp_path / "new-home").exists()


def test_a_backup_killed_midway_leaves_older_sets_valid(
    sqlite_url: str, lifeos_home: Path, tmp_path: Path
) -> None:
    """kill -9 during a backup: the set stays without a manifest, `list` and `verify` say it
    was interrupted, the sets before it still restore, and the next backup completes."""
    env = {
        **os.environ,
        "LIFEOS_HOME": str(lifeos_home),
        "LIFEOS_DATABASE_URL": sqlite_url,
        "LIFEOS_BACKUP_TARGET": str(tmp_path / "vault"),
        "LIFEOS_BACKUP_PASSPHRASE": "pw",
        "HF_HUB_OFFLINE": "1",
    }
    s = Settings(
        home=lifeos_home,
        LIFEOS_DATABASE_URL=sqlite_url,
        backup_target=str(tmp_path / "vault"),
        backup_passphrase=SecretStr("pw"),
    )
    good = backup.run_backup(s)
    for i in range(150):  # enough to be stopped halfway
        write_blob(s, os.urandom(400_000) + bytes([i]), ".bin")
    lifeos = str(Path(sys.executable).with_name("lifeos"))
    proc = subprocess.Popen([lifeos, "backup", "run"], env=env, cwd=ROOT)  # noqa: S603
    objects = tmp_path / "vault" / "objects"
    before = sum(1 for _ in objects.rglob("*"))
    deadline = time.monotonic() + 60
    while sum(1 for _ in objects.rglob("*")) < before + 20 and time.monotonic() < deadline:
        assert proc.poll() is None, "the backup finished before it could be interrupted"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    sets = backup.list_sets(s)
    interrupted = sets[0]
    assert not interrupted.complete and interrupted.problem
    report = backup.verify(s, interrupted.id)
    assert not report.ok and "interrupted" in report.checks["manifest"]
    assert backup.verify(s, good.id).ok
    vault_module._identities.clear()
    again = backup.run_backup(s)
    assert again.complete and backup.verify(s, again.id).ok
    assert backup.sets.resolve_set(s, None) == again.id


def test_prune_keeps_what_retention_says_and_frees_the_rest(home: Settings) -> None:
    first = backup.run_backup(home, "full")
    only = b"a picture deleted after the second backup" * 1000
    sha = write_blob(home, only, ".png")
    second = backup.run_backup(home, "full")
    home.blob_path(sha, ".png").unlink()
    third = backup.run_backup(home, "incremental")

    report = backup.prune(home, keep_full=1, keep_incremental_days=7)
    assert report.removed == [first.id] and report.kept == [third.id, second.id]
    assert backup.prune(home, keep_full=1, keep_incremental_days=1e-6).kept == [
        third.id,  # the newest set is always kept
        second.id,
    ]
    report = backup.prune(home, keep_full=0, keep_incremental_days=7)
    assert report.removed == [second.id]
    assert report.bytes_freed >= len(only)  # the deleted picture, held by no kept set
    assert backup.verify(home, third.id).ok
    tags = VectorStore(home.lancedb_dir).db.open_table("rules").tags.list()
    assert set(tags) == {backup.sets.TAG_PREFIX + third.id}  # old versions may be cleaned


def test_the_cli_runs_lists_verifies_and_restores(
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from apps.cli import app
    from lifeos.settings import reset_settings_cache

    monkeypatch.setenv("LIFEOS_BACKUP_TARGET", str(tmp_path / "vault"))
    monkeypatch.setenv("LIFEOS_BACKUP_KEY_FILE", str(tmp_path / "backup.key"))
    reset_settings_cache()

    def run(*args: str) -> tuple[int, str]:
        try:
            app(list(args), standalone_mode=False)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        except Exception as exc:  # the CLI's errors: printed by main(), here by us
            print(exc)
            code = 2
        return code, capsys.readouterr().out

    assert run("backup", "keygen", str(tmp_path / "backup.key"))[0] == 0
    code, out = run("backup", "run", "--full")
    assert code == 0 and "backed up" in out
    code, out = run("backup", "list", "--json")
    sets = json.loads(out)
    assert code == 0 and sets[0]["encrypted"] and sets[0]["kind"] == "full"
    code, out = run("backup", "verify")
    assert code == 0 and "restorable" in out
    code, out = run("backup", "restore", str(tmp_path / "restored"))
    assert code == 0 and (tmp_path / "restored" / "lifeos.db").is_file()
    assert migrate.current_revision(f"sqlite:///{tmp_path / 'restored' / 'lifeos.db'}")


def test_the_api_takes_lists_verifies_and_restores(home: Settings, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from apps.api.app import create_app

    with TestClient(create_app(home, studio=False), base_url="https://127.0.0.1") as c:
        made = c.post("/api/v1/backups", params={"kind": "full"})
        assert made.status_code == 201, made.text
        set_id = made.json()["id"]
        assert [s["id"] for s in c.get("/api/v1/backups").json()] == [set_id]
        checked = c.post(f"/api/v1/backups/{set_id}/verify").json()
        assert checked["ok"], checked
        assert c.get("/api/v1/backups").json()[0]["verified_at"]
        if home.is_sqlite:
            into = str(tmp_path / "restored")
            restored = c.post(f"/api/v1/backups/{set_id}/restore", json={"into": into})
            assert restored.status_code == 200 and restored.json()["files"] > 5
            again = c.post(f"/api/v1/backups/{set_id}/restore", json={"into": into})
            assert again.status_code == 400 and "not empty" in again.json()["error"]["message"]
            for outside in ("../elsewhere", "/etc/lifeos", ""):  # only beside the home
                refused = c.post(f"/api/v1/backups/{set_id}/restore", json={"into": outside})
                assert refused.status_code == 400, outside
            assert not (tmp_path.parent / "elsewhere").exists()
        missing = c.post("/api/v1/backups/nope/verify")
        assert missing.status_code == 404 and "no backup" in missing.json()["error"]["message"]
        scraped = c.get("/metrics").text
        assert 'lifeos_backup_last_timestamp_seconds{event="verified"}' in scraped


def test_the_restore_runbook_in_the_docs_works(
    sqlite_url: str, lifeos_home: Path, tmp_path: Path
) -> None:
    """The runbook's `lifeos backup` lines, run as written against a real backup (the
    paths swapped for this test's)."""
    text = (ROOT / "docs" / "operations" / "backups.md").read_text()
    section = text.split("## Restore runbook", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.startswith("lifeos backup")]
    assert [c.split()[2] for c in commands] == ["list", "verify", "restore"]
    target = tmp_path / "backup-disk"
    s = Settings(
        home=lifeos_home,
        LIFEOS_DATABASE_URL=sqlite_url,
        backup_target=str(target),
        backup_passphrase=SecretStr("the passphrase"),
    )
    with session_scope(sqlite_url) as session:
        EntityStore(session).create("character", {"name": "Luna"})
    backup.run_backup(s, "full")
    new_home = tmp_path / "srv" / "lifeos-home"
    env = {
        **os.environ,
        "LIFEOS_BACKUP_TARGET": str(target),
        "LIFEOS_BACKUP_PASSPHRASE": "the passphrase",
        "LIFEOS_HOME": str(tmp_path / "new-machine"),  # nothing of the old home
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("LIFEOS_DATABASE_URL", None)
    lifeos = str(Path(sys.executable).with_name("lifeos"))
    for command in commands:
        args = command.replace("/srv/lifeos-home", str(new_home)).split()[1:]
        done = subprocess.run([lifeos, *args], env=env, capture_output=True, text=True, cwd=ROOT)  # noqa: S603
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
    restored = f"sqlite:///{new_home / 'lifeos.db'}"
    with session_scope(restored) as session:
        assert [e.name for e in EntityStore(session).list("character").items] == ["Luna"]
    dispose_engines()


def test_point_in_time_restore_from_the_litestream_replica(
    sqlite_url: str, lifeos_home: Path, tmp_path: Path
) -> None:
    """Write A, note t, write B: the library restored at t has A and not B (SQLite,
    Litestream replicating as `lifeos up` runs it)."""
    from datetime import UTC, datetime

    from lifeos.backup import replica

    s = Settings(
        home=lifeos_home,
        LIFEOS_DATABASE_URL=sqlite_url,
        backup_target=str(tmp_path / "vault"),
        backup_passphrase=SecretStr("pw"),
    )
    backup.run_backup(s)  # the files and indexes a point-in-time restore starts from
    log = (tmp_path / "litestream.log").open("w")
    proc = subprocess.Popen(replica.replicate_command(s), stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        time.sleep(2)  # its first snapshot
        with session_scope(sqlite_url) as session:
            EntityStore(session).create("character", {"name": "A"})
        time.sleep(2)
        t = datetime.now(UTC)
        time.sleep(1.5)
        with session_scope(sqlite_url) as session:
            EntityStore(session).create("character", {"name": "B"})
        time.sleep(3)  # replicated within a second
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    into = tmp_path / "at-t"
    backup.restore(s, None, into, at=t)
    with session_scope(f"sqlite:///{into / 'lifeos.db'}") as session:
        names = [e.name for e in EntityStore(session).list("character").items]
    assert names == ["A"]
    latest = tmp_path / "latest"
    backup.restore(s, None, latest, at=datetime.now(UTC))
    with session_scope(f"sqlite:///{latest / 'lifeos.db'}") as session:
        assert {e.name for e in EntityStore(session).list("character").items} == {"A", "B"}
    with pytest.raises(BackupError, match="restore a set, or the library as it was"):
        backup.restore(s, "latest-but-named", tmp_path / "x", at=t)
    dispose_engines()


def test_an_s3_target(
    sqlite_url: str, lifeos_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same sets in an S3 bucket (a real S3 API: moto's server on loopback, reached the
    way any S3-compatible store is, through `AWS_ENDPOINT_URL`)."""
    import fsspec
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for key, value in {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        }.items():
            monkeypatch.setenv(key, value)
        s3 = fsspec.filesystem("s3", use_listings_cache=False, skip_instance_cache=True)
        s3.mkdir("lifeos-backups")
        s = Settings(
            home=lifeos_home,
            LIFEOS_DATABASE_URL=sqlite_url,
            backup_target="s3://lifeos-backups/home",
            backup_passphrase=SecretStr("pw"),
        )
        with session_scope(sqlite_url) as session:
            EntityStore(session).create("character", {"name": "Luna"})
        write_blob(s, b"a picture" * 1000, ".png")
        first = backup.run_backup(s, "full")
        again = backup.run_backup(s)
        assert again.new_bytes < 0.01 * again.bytes
        assert s3.find("lifeos-backups/home/keys")  # the passphrase-wrapped key is there
        assert backup.verify(s, first.id).ok
        backup.restore(s, None, tmp_path / "restored")
        with session_scope(f"sqlite:///{tmp_path / 'restored' / 'lifeos.db'}") as session:
            assert [e.name for e in EntityStore(session).list("character").items] == ["Luna"]
        assert backup.prune(s, keep_full=1).removed == []
    finally:
        server.stop()
        dispose_engines()


def test_wal_archiving_never_overwrites(home: Settings, tmp_path: Path) -> None:
    """archive_command semantics: the same WAL file again succeeds, other contents under an
    archived name fail; the archived file is encrypted in the target."""
    from lifeos.backup import wal

    segment = tmp_path / "000000010000000000000001"
    segment.write_bytes(b"wal bytes" * 1000)
    wal.archive(home, segment, segment.name)
    wal.archive(home, segment, segment.name)
    stored = tmp_path / "vault" / "wal" / segment.name
    assert b"wal bytes" not in stored.read_bytes()
    segment.write_bytes(b"other bytes")
    with pytest.raises(BackupError, match="archived already with other contents"):
        wal.archive(home, segment, segment.name)


def test_a_failed_drill_run_is_a_notification(home: Settings) -> None:
    """The weekly drill as a Dagster run, with nothing to restore: the run fails, and the
    failure sensor turns it into a studio notification."""
    from lifeos.schedules import Ticks
    from pipelines.backups import backup_drill_job, backup_failed
    from resources.workbench import WorkbenchResource

    workbench = WorkbenchResource(database_url=home.database_url, home=str(home.home))
    with dg.instance_for_test() as instance:
        result = backup_drill_job.execute_in_process(
            instance=instance, resources={"workbench": workbench}, raise_on_error=False
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = dg.build_run_status_sensor_context(
            sensor_name=backup_failed.name,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=failure,
            resources={"workbench": workbench},
        ).for_run_failure()
        backup_failed(context)
    notes = Ticks(home.database_url).notifications()
    assert notes[0]["title"] == "backup_drill_job failed"
