"""Settings and the router for assets that drive whole services (rulebook ingestion, ...)."""

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from lifeos.ledger import run_id_var
from lifeos.llm.router import Router, get_router
from lifeos.settings import Settings


class WorkbenchResource(ConfigurableResource):
    home: str = Field(description="LIFEOS_HOME")
    database_url: str = Field(description="library DB")
    _run_id: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._run_id = context.run.run_id if context.run else None

    def settings(self) -> Settings:
        return Settings(home=self.home, LIFEOS_DATABASE_URL=self.database_url)

    @contextmanager
    def router(self) -> Iterator[Router]:
        """The router, with model calls in the ledger tagged with this run's id."""
        token = run_id_var.set(self._run_id)
        try:
            yield get_router(self.database_url)
        finally:
            run_id_var.reset(token)
