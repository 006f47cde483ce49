"""Rulebook ingestion through Dagster: partitions per file hash, real materializations, the
index check, re-materializing without duplicates, a broken file failing only its own
partition, and the inbox sensor with its cursor."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from lifeos.settings import Settings
from plugins.board_games.assets.rulebooks import (
    rulebook_chunks,
    rulebook_inbox_sensor,
    rulebook_index,
    rulebook_index_complete,
    rulebook_pages,
    rulebook_partitions,
)
from plugins.board_games.tools.rulebooks.retrieve import CORPUS
from plugins.board_games.tools.rulebooks.service import Rulebooks, file_sha256
from resources.workbench import WorkbenchResource

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rulebooks"
ASSETS = [rulebook_pages, rulebook_chunks, rulebook_index, rulebook_index_complete]


@pytest.fixture
def workbench(sqlite_url: str, lifeos_home: Path) -> WorkbenchResource:
    return WorkbenchResource(home=str(lifeos_home), database_url=sqlite_url)


def materialize(
    workbench: WorkbenchResource, instance: dg.DagsterInstance, sha: str, **kwargs
) -> dg.ExecuteInJobResult:  # noqa: ANN003
    return dg.materialize(
        ASSETS, partition_key=sha, instance=instance, resources={"workbench": workbench}, **kwargs
    )


def test_ingest_a_partition_then_again_without_duplicates(workbench: WorkbenchResource) -> None:
    settings = workbench.settings()
    from lifeos.llm.router import get_router

    books = Rulebooks(settings, get_router(settings.database_url))
    sha = books.add(DATA / "dev_hearts.pdf", game="Hearts")["sha256"]
    with dg.instance_for_test() as instance:
        assert rulebook_partitions.name is not None
        instance.add_dynamic_partitions(rulebook_partitions.name, [sha])
        result = materialize(workbench, instance, sha)
        assert result.success
        meta = result.asset_materializations_for_node("rulebook_pages")[0].metadata
        assert meta["pages"].value == 8 and meta["tables"].value == 4
        assert meta["extractors"].data == {"docling-native": 4, "docling-native+pdfplumber": 4}
        assert result.get_asset_check_evaluations()[0].passed
        rows = books.vectors.count(CORPUS, sha)
        index_meta = result.asset_materializations_for_node("rulebook_index")[0].metadata
        assert rows == index_meta["rows"].value and index_meta["sentences"].value > rows
        assert index_meta["lancedb_version"].value == books.vectors.version(CORPUS)
        # rows of an older version, without sentence vectors: the check says to reindex
        table = books.vectors._table(CORPUS)
        assert table is not None
        table.update(where=f"document = '{sha}'", values={"sentence_vectors": None})
        # on this instance: without one the context makes an ephemeral instance that it closes
        # when garbage-collected, which would make this test's instance Dagster's current one
        # again after the test has deleted it
        context = dg.build_asset_check_context(
            resources={"workbench": workbench}, instance=instance
        )
        evaluation = rulebook_index_complete(context)  # every ready rulebook
        assert isinstance(evaluation, dg.AssetCheckResult)
        assert not evaluation.passed
        assert "lifeos rulebook reindex" in str(evaluation.metadata["problems"].value)
        again = materialize(workbench, instance, sha)
        assert again.success and again.get_asset_check_evaluations()[0].passed
        assert books.vectors.count(CORPUS, sha) == rows
    assert books.get(sha)["status"] == "ready"


def test_a_broken_file_fails_its_own_partition(
    workbench: WorkbenchResource, tmp_path: Path
) -> None:
    settings = workbench.settings()
    from lifeos.llm.router import get_router

    books = Rulebooks(settings, get_router(settings.database_url))
    sha = books.add(DATA / "dev_hearts.pdf", game="Hearts")["sha256"]
    books.pdf_path(sha).write_bytes(b"%PDF-1.4\n" + b"\x00broken" * 200)  # damaged in storage
    with dg.instance_for_test() as instance:
        assert rulebook_partitions.name is not None
        instance.add_dynamic_partitions(rulebook_partitions.name, [sha])
        result = materialize(workbench, instance, sha, raise_on_error=False)
    assert not result.success
    doc = books.get(sha)
    assert doc["status"] == "failed" and "damaged" in doc["error"]


def test_a_step_that_fails_marks_its_rulebook_failed_until_retried(
    workbench: WorkbenchResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedder breaking in rulebook_index (or any error after extraction) fails the run
    and the rulebook says why; left "processing", asking would say "still being ingested" for
    ever. Materialized again, it is ready."""
    settings = workbench.settings()
    from lifeos.llm.router import get_router

    router = get_router(settings.database_url)
    books = Rulebooks(settings, router)
    sha = books.add(DATA / "dev_morris.pdf", game="Mill")["sha256"]

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("embedder crashed")

    with dg.instance_for_test() as instance:
        assert rulebook_partitions.name is not None
        instance.add_dynamic_partitions(rulebook_partitions.name, [sha])
        with monkeypatch.context() as patch:
            patch.setattr(router, "embed", broken)
            result = materialize(workbench, instance, sha, raise_on_error=False)
        assert not result.success
        assert [e.step_key for e in result.get_step_failure_events()] == ["rulebook_index"]
        doc = books.get(sha)
        assert (doc["status"], doc["error"]) == ("failed", "RuntimeError: embedder crashed")
        assert materialize(workbench, instance, sha).success
    assert books.get(sha)["status"] == "ready" and books.get(sha)["error"] is None


def test_inbox_sensor_adds_partitions_once_and_rejects_bad_files(
    workbench: WorkbenchResource, lifeos_home: Path
) -> None:
    inbox = Settings(home=lifeos_home).inbox_dir
    inbox.mkdir(parents=True)
    shutil.copy(DATA / "dev_morris.pdf", inbox)
    (inbox / "notes.pdf").write_text("not a pdf at all")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"workbench": workbench})
        result = rulebook_inbox_sensor(context)
        assert isinstance(result, dg.SensorResult)
        sha = file_sha256(DATA / "dev_morris.pdf")
        assert result.run_requests is not None
        assert [r.partition_key for r in result.run_requests] == [sha]
        assert result.dynamic_partitions_requests is not None
        assert result.dynamic_partitions_requests[0].partition_keys == [sha]
        assert (
            (inbox / "rejected" / "notes.pdf.reason.txt")
            .read_text()
            .startswith("notes.pdf is not a PDF")
        )
        again = rulebook_inbox_sensor(
            dg.build_sensor_context(
                instance=instance, cursor=result.cursor, resources={"workbench": workbench}
            )
        )
        assert isinstance(again, dg.SkipReason)


def test_the_demo_rulebooks_are_queued_for_the_demo_games(
    workbench: WorkbenchResource, sqlite_url: str, lifeos_home: Path
) -> None:
    """`lifeos up` on a new library drops the demo games' rulebooks into the inbox: the sensor
    asks for a run each, and each rulebook belongs to its demo game (no new game is made)."""
    from lifeos.db.engine import session_scope
    from lifeos.demo import load_demo, queue_demo_rulebooks
    from lifeos.schemas import ListQuery
    from lifeos.store import EntityStore

    def games() -> dict[str, str]:
        with session_scope(sqlite_url) as session:
            found = EntityStore(session).list("board_game", ListQuery(limit=100))
            return {e.name: e.id for e in found.items}

    with session_scope(sqlite_url) as session:
        load_demo(session)
    demo_games = games()
    queued = queue_demo_rulebooks(Settings(home=lifeos_home).inbox_dir)
    assert len(queued) == 3
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"workbench": workbench})
        result = rulebook_inbox_sensor(context)
    assert isinstance(result, dg.SensorResult) and result.run_requests is not None
    assert len(result.run_requests) == 3
    settings = Settings(home=lifeos_home, LIFEOS_DATABASE_URL=sqlite_url)
    books = Rulebooks(settings, router=None)  # type: ignore[arg-type]  # listing needs none
    by_game = {d["filename"]: d["board_game_id"] for d in books.list()}
    assert games() == demo_games
    assert by_game == {path.name: demo_games[path.stem] for path in queued}


@pytest.mark.slow
def test_rules_qa_eval_asset_on_a_small_set(workbench: WorkbenchResource, tmp_path: Path) -> None:
    from plugins.board_games.assets.rulebooks import question_sets, rules_qa_eval

    folder = tmp_path / "mini"
    folder.mkdir()
    shutil.copy(DATA / "dev_hearts.pdf", folder)
    lines = [
        ln for ln in (DATA / "questions.jsonl").read_text().splitlines() if '"dev_hearts.pdf"' in ln
    ][:3]
    (folder / "questions.jsonl").write_text("\n".join(lines) + "\n")
    with dg.instance_for_test() as instance:
        assert question_sets.name is not None
        instance.add_dynamic_partitions(question_sets.name, ["mini"])
        result = dg.materialize(
            [rules_qa_eval],
            partition_key="mini",
            instance=instance,
            resources={"workbench": workbench},
            run_config={"ops": {"rules_qa_eval": {"config": {"folders": {"mini": str(folder)}}}}},
        )
    assert result.success
    meta = result.asset_materializations_for_node("rules_qa_eval")[0].metadata
    recall, answers = meta["recall_at_5"].value, meta["answers"].value
    assert isinstance(recall, int | float) and isinstance(answers, str)
    assert meta["n_questions"].value == 3 and 0 <= recall <= 1
    assert Path(answers).is_file()


@pytest.mark.slow
def test_a_run_whose_process_was_killed_is_marked_failed(tmp_path: Path) -> None:
    """`kill -9` (or a power cut) mid-ingestion leaves the Dagster run "started" and the
    rulebook "processing": the default run launcher cannot tell. `lifeos up` calls
    fail_orphaned_runs as it starts: a run whose process is alive is left alone, one whose
    process is gone is marked failed, with its rulebook, once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from lifeos.db import migrate
    from pipelines.runs import fail_orphaned_runs

    home = tmp_path / "home"
    env = {**os.environ, "LIFEOS_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.pop("LIFEOS_DATABASE_URL", None)
    settings = Settings(home=home, LIFEOS_DATABASE_URL=f"sqlite:///{home / 'lifeos.db'}")
    migrate.upgrade(settings.database_url)
    from lifeos.llm.router import get_router

    books = Rulebooks(settings, get_router(settings.database_url))
    sha = books.add(DATA / "dev_hearts.pdf", game="Hearts")["sha256"]
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "lifeos"), "rulebook", "reindex", sha[:12]],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while books.get(sha)["status"] != "processing":
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        assert fail_orphaned_runs(settings) == []  # still running: left alone
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert books.get(sha)["status"] == "processing"  # nothing in the process could say
    (orphan,) = fail_orphaned_runs(settings)
    assert orphan.job_name == "rulebook_ingest" and orphan.tags["dagster/partition"] == sha
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        run = instance.get_run_by_id(orphan.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    doc = books.get(sha)
    assert doc["status"] == "failed" and doc["error"].startswith("interrupted before it finished")
    assert fail_orphaned_runs(settings) == []


def test_a_run_in_this_process_leaves_its_output_alone(
    workbench: WorkbenchResource, tmp_path: Path
) -> None:
    """A run the CLI, the API or the studio executes in its own process does not capture
    stdout and stderr into compute logs: that swaps the whole process's file descriptors while
    a step runs, so the API's log lines from other threads went into the run's logs (and the
    CLI's progress bar, no longer on a terminal, stopped). In a subprocess: pytest's own
    capture would hide it."""
    import subprocess
    import sys

    settings = workbench.settings()
    script = tmp_path / "run.py"
    script.write_text(f"""
import os, threading
from lifeos.settings import Settings
from lifeos.llm.router import get_router
from plugins.board_games.pipelines import ingest_rulebook
from plugins.board_games.tools.rulebooks.service import Rulebooks
settings = Settings(home={str(settings.home)!r}, LIFEOS_DATABASE_URL={settings.database_url!r})
sha = Rulebooks(settings, get_router(settings.database_url)).add(
    {str(DATA / "dev_morris.pdf")!r}, game="Mill")["sha256"]
stop = threading.Event()
def chatter():  # another thread, as a server's request log would be
    n = 0
    while not stop.wait(0.05):
        os.write(2, f"chatter {{n}}\\n".encode()); n += 1
thread = threading.Thread(target=chatter); thread.start()
ok = ingest_rulebook(settings, sha, source="test").success
stop.set(); thread.join()
assert ok
""")
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    said = [line for line in done.stderr.splitlines() if line.startswith("chatter ")]
    assert len(said) > 20 and said == [f"chatter {n}" for n in range(len(said))]
    logs = [p for p in settings.dagster_home.rglob("*") if p.is_file() and p.suffix != ".db"]
    assert not [p for p in logs if "chatter " in p.read_text(errors="replace")]
