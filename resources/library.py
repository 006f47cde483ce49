"""The library database as a Dagster resource."""

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource
from pydantic import Field

from lifeos.db.engine import session_scope
from lifeos.store import EntityStore


# Its value is the resource itself, which dagster's generic cannot say (dagster#32027).
class LibraryResource(ConfigurableResource):  # type: ignore[type-arg]
    """Transactions over the entity library; the same store the API and CLI use."""

    database_url: str = Field(description="SQLAlchemy URL of the library DB")
    exports_dir: str = Field(description="folder for Parquet snapshots and other exports")

    @contextmanager
    def store(self) -> Iterator[EntityStore]:
        with session_scope(self.database_url) as session:
            yield EntityStore(session)
