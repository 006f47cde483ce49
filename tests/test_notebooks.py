"""Marimo notebooks run headless against a real library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from lifeos.db.engine import session_scope
from lifeos.demo import load_demo

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.slow
def test_library_explorer_runs_headless(db_url: str, lifeos_home: Path) -> None:
    with session_scope(db_url) as session:
        load_demo(session)
    proc = subprocess.run(
        [sys.executable, str(NOTEBOOKS / "library_explorer.py")],
        env={**os.environ, "LIFEOS_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_library_explorer_cells_compute_the_counts(db_url: str) -> None:
    from notebooks.library_explorer import app

    with session_scope(db_url) as session:
        load_demo(session)
    _, defs = app.run()
    counts = dict(zip(defs["counts"]["kind"], defs["counts"]["live"], strict=True))
    assert counts["clothing_item"] == 8 and sum(counts.values()) == 48
    assert defs["tag_counts"]["tag"][0] == "demo"
    assert defs["recent"].height == 20


def test_costs_notebook_summarises_the_ledger(sqlite_url: str) -> None:
    from lifeos.ledger import CallRecord, Ledger
    from notebooks.costs import app as costs_app

    ledger = Ledger(sqlite_url)
    for i in range(4):
        ledger.record(
            CallRecord(
                tool="tagger" if i % 2 else "rules_qa",
                kind="chat",
                alias="fast",
                provider="local",
                model="local/qwen2.5-coder-0.5b",
                tokens_in=100,
                tokens_out=10 * i,
                latency_ms=100.0 * (i + 1),
                cost_usd=0.01,
                ok=i != 3,
                error=None if i != 3 else "boom",
            )
        )
    _, defs = costs_app.run()
    by_tool = {r["tool"]: r for r in defs["by_tool"].iter_rows(named=True)}
    assert by_tool["tagger"]["calls"] == 2 and by_tool["tagger"]["failed"] == 1
    assert by_tool["rules_qa"]["tokens_out"] == 20
    assert by_tool["tagger"]["latency_p50_ms"] == pytest.approx(300.0)
    assert defs["by_day"]["cost_usd"][0] == pytest.approx(0.04)


@pytest.mark.slow
def test_costs_notebook_runs_headless_on_an_empty_ledger(sqlite_url: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(NOTEBOOKS / "costs.py")],
        env={**os.environ, "LIFEOS_DATABASE_URL": sqlite_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_qa_quality_notebook_reads_eval_runs(lifeos_home: Path, sqlite_url: str) -> None:
    import polars as pl

    from lifeos.settings import get_settings
    from notebooks.qa_quality import app as qa_app
    from plugins.board_games.tools.rulebooks.evaluate import METRICS, eval_runs_frame, save
    from plugins.board_games.tools.rules_qa import RulesQA

    metrics = dict.fromkeys(METRICS, 0.5) | {"n_questions": 2}
    rows = pl.DataFrame(
        [
            {
                "id": "q1",
                "kind": "fact",
                "answerable": True,
                "gold_pages": [3],
                "retrieved_pages": [3],
                "cited_pages": [3],
                "abstained": False,
                "supported": True,
                "mode": "generative",
                "question": "?",
                "answer": "a",
                "gold_answer": "a",
            },
            {
                "id": "q2",
                "kind": "fact",
                "answerable": True,
                "gold_pages": [4],
                "retrieved_pages": [5],
                "cited_pages": [],
                "abstained": True,
                "supported": False,
                "mode": "abstained",
                "question": "?",
                "answer": "-",
                "gold_answer": "b",
            },
        ]
    )

    class _QA:  # what save() reads off the tool: its name and config
        from lifeos.llm.toolkit import ToolConfigs

        name, configs = "rules_qa", ToolConfigs()

    eval_id, folder = save(
        sqlite_url,
        metrics,
        rows,
        get_settings().exports_dir / "evals",
        "dev",
        qa=cast(RulesQA, _QA()),  # a stand-in: save() needs no model
    )
    assert (folder / "answers.parquet").is_file()
    stored = eval_runs_frame(sqlite_url)
    assert stored["id"].to_list() == [eval_id] and stored["recall_at_1"][0] == 0.5
    _, defs = qa_app.run()
    assert defs["history"].height == 1
    assert defs["failures"]["id"].to_list() == ["q2"]
