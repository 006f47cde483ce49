"""Settings and the router for assets that drive whole services (rulebook ingestion, ...)."""

from pydantic import Field

from lifeos.settings import Settings
from resources.llm import LLMResource


class WorkbenchResource(LLMResource):
    """The LLM resource (router, run id in the ledger) plus the workbench's home folder."""

    home: str = Field(description="LIFEOS_HOME")

    def settings(self) -> Settings:
        return Settings(home=self.home, LIFEOS_DATABASE_URL=self.database_url)
