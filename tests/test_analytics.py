"""The ledger's usage summary, grouped by the columns a caller names, and only by those."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from lifeos.analytics import usage_by
from lifeos.errors import BadRequest


def _calls() -> pl.DataFrame:
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    return pl.DataFrame(
        {
            "created_at": [at, at, at],
            "tool": ["rules_qa", "rules_qa", "tagger"],
            "tokens_in": [100, 50, 10],
            "tokens_out": [20, 10, 5],
            "latency_ms": [1000.0, 3000.0, 50.0],
            "cost_usd": [0.0, 0.0, 0.01],
            "ok": [True, False, True],
        }
    )


def test_usage_is_summed_per_group() -> None:
    usage = usage_by(_calls(), "tool").to_dicts()
    assert [row["tool"] for row in usage] == ["rules_qa", "tagger"]
    assert usage[0]["calls"] == 2 and usage[0]["failed"] == 1
    assert usage[0]["tokens_in"] == 150 and usage[0]["latency_p50_ms"] == 2000.0
    assert usage_by(_calls(), "day").to_dicts()[0]["calls"] == 3


def test_a_key_that_is_no_column_is_refused_before_any_query() -> None:
    with pytest.raises(BadRequest, match="cannot group model calls by tool; DROP"):
        usage_by(_calls(), "tool; DROP")
