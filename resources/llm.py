"""The LLM router as a Dagster resource: calls made inside a run carry the run id in the ledger
(and count against the per-run budget)."""

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from lifeos.ledger import run_id_var
from lifeos.llm.router import Router, get_router


# Its value is the resource itself, which dagster's generic cannot say (dagster#32027).
class LLMResource(ConfigurableResource):  # type: ignore[type-arg]
    database_url: str = Field(description="library DB, where the ledger lives")
    _run_id: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._run_id = context.run.run_id if context.run else None

    @contextmanager
    def router(self) -> Iterator[Router]:
        token = run_id_var.set(self._run_id)
        try:
            yield get_router(self.database_url)
        finally:
            run_id_var.reset(token)
