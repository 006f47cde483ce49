"""Structured logs: JSON lines, request ids, secrets hidden."""

from __future__ import annotations

import json

import pytest

from lifeos.logging import configure_logging, get_logger, redact, request_id_var


def test_json_lines_with_request_id_and_no_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    token = request_id_var.set("req-42")
    try:
        get_logger("t").info(
            "connected",
            url="postgresql://bob:hunter2@db/lib",
            api_key="sk-123",
            password="pw",
            rows=3,
        )
    finally:
        request_id_var.reset(token)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["request_id"] == "req-42" and line["rows"] == 3
    assert line["api_key"] == "***" and line["password"] == "***"
    assert "hunter2" not in json.dumps(line) and line["url"] == "postgresql://bob:***@db/lib"


def test_redact_leaves_plain_values() -> None:
    assert redact("sqlite:///x.db") == "sqlite:///x.db"
    assert redact(5) == 5
