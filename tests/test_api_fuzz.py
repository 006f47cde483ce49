"""The whole API fuzzed from its own OpenAPI document (schemathesis over the ASGI app, on
SQLite and on PostgreSQL): whatever a client sends, the server answers without a 5xx, and
each answer with a documented status matches its declared schema. A fixed seed and a small
example budget keep the suite's time sane; `LIFEOS_FUZZ_EXAMPLES=200` looks harder."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import ServerError
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from apps.api.app import API_PREFIX, create_app
from apps.api.deps import RATE_KEY
from lifeos.settings import Settings

EXAMPLES = int(os.environ.get("LIFEOS_FUZZ_EXAMPLES", "4"))
# 503s that say a service the workbench calls is down (Ollama off here, no BGG token): an
# honest answer about the world, not a failure of the server's.
DOWN = {"provider_unavailable", "bgg_token_missing", "unavailable"}


@schemathesis.check
def no_server_error(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """No 5xx, except a 503 problem that names a service that is down."""
    if response.status_code < 500:
        return
    if response.status_code == 503:
        try:
            if response.json()["error"]["code"] in DOWN:
                return
        except (ValueError, KeyError, TypeError):
            pass
    raise ServerError(operation=case.operation.label, status_code=response.status_code)


pytestmark = [pytest.mark.slow]


def _fuzz(operation: Any, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same examples on every run: a failure reproduces
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(
            checks=[no_server_error, response_schema_conformance, content_type_conformance]
        )

    fuzz()


def test_no_5xx_and_answers_match_their_schema(settings: Settings) -> None:
    """Every operation in turn, on this test's database (SQLite, then PostgreSQL)."""
    schema = schemathesis.openapi.from_asgi(
        f"{API_PREFIX}/openapi.json", create_app(settings, studio=False)
    )
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid one raises here
        operations += 1
        # Routes that run models or generation get invalid requests only (their validation is
        # what is fuzzed; a valid one would run a story or a batch in the test).
        heavy = operation.definition.raw.get(RATE_KEY) == "generation"
        modes = [GenerationMode.NEGATIVE] if heavy else list(GenerationMode)
        for mode in modes:
            try:
                _fuzz(operation, mode)
            except Unsatisfiable:  # no invalid request exists (no parameters, no body)
                continue
            except Exception as exc:  # noqa: BLE001 - collected: every operation is tried
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:1500]}")
    assert operations >= 80
    assert not failures, "\n\n".join(failures)
