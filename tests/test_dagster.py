"""Dagster: the definitions load, the snapshot asset materializes for real, the generated
dagster.yaml gives a working instance on SQLite and on Postgres (dagster-postgres)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import yaml

from assets.library import library_snapshot, library_snapshot_matches_library
from lifeos.dagster_home import write_dagster_yaml
from lifeos.db.engine import session_scope
from lifeos.demo import load_demo
from lifeos.settings import Settings
from lifeos.store import EntityStore
from pipelines.definitions import build_definitions
from resources.library import LibraryResource


def test_definitions_load(db_url: str) -> None:
    defs = build_definitions()
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("library_snapshot_job") is not None
    assert {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()} == {
        "library_snapshot",
        "entity_embeddings",
        "rulebook_pages",
        "rulebook_chunks",
        "rulebook_index",
        "rules_qa_eval",
        "image_batches",
        "scheduled_images",
        "bgg_catalogue",
        "story_plan",
        "story_scenes",
        "story_illustrations",
        "image_analyses",
        "workflows/clothing_discovery",  # what the built-in workflow saves (for review)
        # external: observed, not materialized (tests/test_lineage.py)
        "library_entities",
        "tool_configs",
        "models",
        "rulebook_files",
        "bgg_responses",
        "library_images",
        "accepted_entities",
    }
    assert defs.resolve_job_def("rulebook_ingest") is not None
    assert defs.resolve_sensor_def("rulebook_inbox_sensor") is not None
    assert defs.resolve_sensor_def("image_batch_sensor") is not None
    assert defs.resolve_sensor_def("observe_bgg") is not None


def _materialize(
    settings: Settings, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInJobResult:
    library = LibraryResource(
        database_url=settings.database_url, exports_dir=str(settings.exports_dir)
    )
    return dg.materialize(
        [library_snapshot, library_snapshot_matches_library],
        resources={"library": library},
        instance=instance,
    )


def test_snapshot_materializes_and_check_passes(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        load_demo(session)
        EntityStore(session).delete(
            "character", EntityStore(session).list("character", {"q": "zed"}).items[0].id
        )
    result = _materialize(settings)
    assert result.success
    meta = result.asset_materializations_for_node("library_snapshot")[0].metadata
    assert meta["rows"].value == 47
    assert meta["rows_per_kind"].data["character"] == 3
    check = result.get_asset_check_evaluations()[0]
    assert check.passed
    frame = pl.read_parquet(settings.exports_dir / "library_snapshot.parquet")
    assert frame.height == 47 and frame["id"].n_unique() == 47


def test_check_fails_when_snapshot_is_stale(settings: Settings) -> None:
    assert _materialize(settings).success
    with session_scope(settings.database_url) as session:
        EntityStore(session).create("outfit", {"name": "after the snapshot"})
    result = dg.materialize(
        [library_snapshot.to_source_asset(), library_snapshot_matches_library],
        resources={
            "library": LibraryResource(
                database_url=settings.database_url, exports_dir=str(settings.exports_dir)
            )
        },
        selection=dg.AssetSelection.checks(library_snapshot_matches_library),
    )
    evaluation = result.get_asset_check_evaluations()[0]
    assert not evaluation.passed
    assert evaluation.metadata["expected_per_kind"].value == {"outfit": 1}


def test_generated_dagster_yaml_runs_a_real_instance(settings: Settings) -> None:
    path = write_dagster_yaml(settings)
    config = yaml.safe_load(path.read_text())
    assert config["telemetry"] == {"enabled": False}
    if settings.is_sqlite:
        assert config["storage"]["sqlite"]["base_dir"].startswith(str(settings.dagster_home))
    else:
        assert config["storage"]["postgres"]["postgres_url"].startswith("postgresql+psycopg2://")
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        result = _materialize(settings, instance)
        assert result.success
        # The run is recorded in this instance's storage (other tests may have runs there too).
        record = instance.get_run_record_by_id(result.run_id)
        assert record is not None and record.dagster_run.is_success
        assert (
            instance.get_latest_materialization_event(dg.AssetKey("library_snapshot")) is not None
        )


def test_dagster_yaml_is_stable(settings: Settings) -> None:
    first = write_dagster_yaml(settings).stat().st_mtime_ns
    assert write_dagster_yaml(settings).stat().st_mtime_ns == first
    assert Path(settings.dagster_home, "dagster.yaml").is_file()


def test_sigterm_still_stops_subprocesses_in_a_background_job(tmp_path: Path) -> None:
    """A script's background job starts with SIGINT ignored, and Dagster maps SIGTERM to the
    SIGINT handler on every run in the main thread: without `keep_sigterm` every later
    subprocess (Dagster's own compute-log tails among them) ignores SIGTERM, so each run
    waited 30 s per tail and left the tails running."""
    script = f"""
import signal, subprocess, dagster as dg
from lifeos.dagster_home import keep_sigterm
signal.signal(signal.SIGINT, signal.SIG_IGN)   # as `lifeos up &` starts
keep_sigterm()                                 # what `lifeos` does first

@dg.asset
def one() -> int:
    return 1

with dg.DagsterInstance.local_temp({str(tmp_path)!r}) as instance:
    assert dg.materialize([one], instance=instance).success
child = subprocess.Popen(["sleep", "60"])
child.terminate()
print("exit", child.wait(timeout=10))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "exit -15" in done.stdout
