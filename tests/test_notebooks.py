"""Marimo notebooks run headless against a real library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lifeos.db.engine import session_scope
from lifeos.demo import load_demo

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.slow
def test_library_explorer_runs_headless(db_url: str, lifeos_home: Path) -> None:
    with session_scope(db_url) as session:
        load_demo(session)
    proc = subprocess.run([sys.executable, str(NOTEBOOKS / "library_explorer.py")],
                          env={**os.environ, "LIFEOS_DATABASE_URL": db_url},
                          capture_output=True, text=True, timeout=300, check=False)
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
